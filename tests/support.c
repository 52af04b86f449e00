/*
 * support.c - helpers shared by the Criterion suites in tests/ (see support.h).
 *
 * Built once as the ipcscope_test_support library and linked into every test executable;
 * IPCSCOPE_BIN (the real binary) is defined for it as for the suites.
 */
#define _GNU_SOURCE
#include "support.h"

#include "model.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- clocks ---- */

uint64_t ts_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

long ts_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ts_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- files and shell ---- */

char *ts_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    fclose(f);
    return buf;
}

int ts_read_file(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t got = read(fd, buf, n - 1);
    close(fd);
    buf[got > 0 ? got : 0] = '\0';
    return got > 0 ? 0 : -1;
}

int ts_sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void ts_mkdtemp(char *tmpl)
{
    cr_assert_not_null(mkdtemp(tmpl), "mkdtemp %s: %s", tmpl, strerror(errno));
}

int ts_rmtree(const char *dir)
{
    return ts_sh("rm -rf %s", dir);
}

/* ---- running a program ---- */

/* In a child about to exec ipcscope for a test: a SIGTERM when the test process ends, so a
 * test Criterion kills at its timeout does not leave the run going (ipcscope stops cleanly
 * on SIGTERM). */
static void ts_die_with_test(void)
{
    pid_t test = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != test)
        _exit(125);
}

struct ts_result ts_run(char *const argv[], const struct ts_run_opts *opts)
{
    static const struct ts_run_opts none;
    const struct ts_run_opts *o = opts ? opts : &none;
    char out_path[] = "/tmp/ipcscope-test-outXXXXXX", err_path[] = "/tmp/ipcscope-test-errXXXXXX";
    int ofd = mkstemp(out_path), efd = mkstemp(err_path);
    cr_assert(ofd >= 0 && efd >= 0);
    pid_t pid = fork();
    if (pid < 0) /* no assertion before the branch: the child must not report to Criterion */
        cr_assert_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        ts_die_with_test();
        if (o->stdin_null) {
            int nul = open("/dev/null", O_RDONLY);
            dup2(nul, 0);
        }
        dup2(ofd, 1);
        dup2(efd, 2);
        if (o->cwd && chdir(o->cwd) < 0)
            _exit(126);
        if (o->env)
            putenv((char *)o->env);
        if (o->mem_cap) {
            struct rlimit rl = {o->mem_cap, o->mem_cap};
            setrlimit(RLIMIT_AS, &rl);
        }
        if (o->search_path)
            execvp(argv[0], argv);
        else
            execv(argv[0], argv);
        _exit(127);
    }
    struct ts_result r = {0};
    if (o->timeout_s > 0) {
        struct timespec tick = {0, 10 * 1000 * 1000};
        for (int waited = 0; waitpid(pid, &r.status, WNOHANG) != pid; waited++) {
            if (waited == o->timeout_s * 100) {
                r.hung = 1;
                kill(pid, SIGKILL);
            }
            nanosleep(&tick, NULL);
        }
    } else {
        while (waitpid(pid, &r.status, 0) < 0 && errno == EINTR)
            ;
    }
    close(ofd);
    close(efd);
    r.out = ts_slurp(out_path);
    r.err = ts_slurp(err_path);
    unlink(out_path);
    unlink(err_path);
    return r;
}

void ts_free_result(struct ts_result *r)
{
    free(r->out);
    free(r->err);
}

/* ---- JSON, traces and their events ---- */

json_t **ts_load_jsonl(const char *path, size_t *n)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "no trace written");
    json_t **lines = NULL;
    size_t cap = 0, len = 0;
    char *line = NULL;
    *n = 0;
    while (getline(&line, &len, f) > 0) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 4096;
            lines = realloc(lines, cap * sizeof(*lines));
        }
        json_t *j = json_loads(line, 0, NULL);
        cr_assert_not_null(j, "bad trace line: %s", line);
        lines[(*n)++] = j;
    }
    free(line);
    fclose(f);
    return lines;
}

void ts_free_jsonl(json_t **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(lines[i]);
    free(lines);
}

const char *ts_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

long long ts_int(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

int ts_is_ev(json_t *e, const char *kind)
{
    return strcmp(ts_str(e, "ev"), kind) == 0;
}

json_t *ts_find_named(json_t *arr, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *n = json_string_value(json_object_get(v, "name"));
        if (n && strcmp(n, name) == 0)
            return v;
    }
    return NULL;
}

void ts_assert_check_ok(json_t *snap)
{
    json_t *chk = json_object_get(snap, "check");
    cr_assert(json_is_true(json_object_get(chk, "ok")), "scenario check failed: %s",
              ts_str(chk, "why"));
}

/* ---- /proc ---- */

int ts_stat_path(const char *path, struct ts_stat *st)
{
    char buf[1024];
    if (ts_read_file(path, buf, sizeof(buf)) < 0)
        return -1;
    char *open_ = strchr(buf, '('), *close_ = strrchr(buf, ')');
    if (!open_ || !close_ || close_[1] != ' ' || !close_[2])
        return -1;
    snprintf(st->comm, sizeof(st->comm), "%.*s", (int)(close_ - open_ - 1), open_ + 1);
    st->state = close_[2];
    char *p = close_ + 3;
    long f[36] = {0};
    for (int i = 0; i < 36 && *p; i++) /* fields 4..39 */
        f[i] = strtol(p, &p, 10);
    st->ppid = (pid_t)f[0];
    st->pgid = (pid_t)f[1];
    st->utime = f[10];
    st->stime = f[11];
    st->nice = (int)f[15];
    st->cpu = (int)f[35];
    return 0;
}

int ts_stat(pid_t pid, struct ts_stat *st)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    return ts_stat_path(path, st);
}

int ts_children(pid_t parent, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        pid_t pid = atoi(de->d_name);
        struct ts_stat st;
        if (pid > 0 && ts_stat(pid, &st) == 0 && st.ppid == parent && n < max)
            out[n++] = pid;
    }
    closedir(d);
    return n;
}

size_t ts_descendants(pid_t root, pid_t *pids, pid_t *ppids, size_t max)
{
    enum { MAXP = 4096 };
    static pid_t all[MAXP], parent[MAXP];
    size_t n = 0, k = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d)) && n < MAXP) {
        pid_t pid = atoi(de->d_name);
        struct ts_stat st;
        if (pid > 0 && ts_stat(pid, &st) == 0) {
            all[n] = pid;
            parent[n++] = st.ppid;
        }
    }
    if (d)
        closedir(d);
    for (size_t i = 0; i < n && k < max; i++) {
        pid_t p = parent[i];
        for (int depth = 0; depth < 8 && p > 1 && p != root; depth++) {
            size_t j = 0;
            while (j < n && all[j] != p)
                j++;
            p = j < n ? parent[j] : 0;
        }
        if (p == root) {
            pids[k] = all[i];
            if (ppids)
                ppids[k] = parent[i];
            k++;
        }
    }
    return k;
}

int ts_pid_alive(pid_t pid)
{
    struct ts_stat st;
    return ts_stat(pid, &st) == 0 && st.state != 'Z' && st.state != 'X';
}

void ts_reap(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

/* ---- IPC leak scans ---- */

char *ts_ipc_entries(const char *dir)
{
    size_t cap = 4096, len = 0;
    char *s = calloc(1, cap);
    DIR *d = opendir(dir);
    if (!d)
        return s;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, "ipcscope"))
            continue;
        size_t k = strlen(de->d_name);
        if (len + k + 2 > cap) {
            cap = (len + k + 2) * 2;
            s = realloc(s, cap);
        }
        memcpy(s + len, de->d_name, k);
        len += k;
        s[len++] = '\n';
        s[len] = '\0';
    }
    closedir(d);
    return s;
}

int ts_new_ipc_entries(const char *before, const char *after)
{
    int count = 0;
    const char *p = after;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t k = (size_t)(nl - p);
        char name[300];
        snprintf(name, sizeof(name), "\n%.*s\n", (int)k, p);
        char *wrapped;
        if (asprintf(&wrapped, "\n%s", before) < 0)
            cr_assert_fail("out of memory");
        if (!strstr(wrapped, name)) {
            cr_log_error("new IPC entry left behind: %.*s", (int)k, p);
            count++;
        }
        free(wrapped);
        p = nl + 1;
    }
    return count;
}

void ts_assert_no_entry_with_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        cr_assert(strncmp(de->d_name, prefix, strlen(prefix)) != 0, "left %s/%s", dir, de->d_name);
    if (d)
        closedir(d);
}

/* ---- a scenario run ---- */

void ts_run_scenario(const char *id, const char *const *params, ts_sampler sample, void *arg,
                     unsigned period_us, struct ts_scenario *out)
{
    char outp[] = "/tmp/ipcscope-scn-outXXXXXX", rec[] = "/tmp/ipcscope-scn-recXXXXXX";
    int ofd = mkstemp(outp), rfd = mkstemp(rec);
    cr_assert(ofd >= 0 && rfd >= 0);
    close(rfd);
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    char *argv[64] = {IPCSCOPE_BIN, "run", (char *)id, "--headless", "--json", "--record", rec};
    int argc = 7;
    for (size_t i = 0; params && params[i] && argc < 60; i++) {
        if (params[i][0] != '-')
            argv[argc++] = "--param";
        argv[argc++] = (char *)params[i];
    }
    memset(out, 0, sizeof(*out));
    long t0 = ts_now_ms();
    out->pid = fork();
    if (out->pid < 0) /* no assertion before the branch: the child must not report */
        cr_assert_fail("fork: %s", strerror(errno));
    if (out->pid == 0) {
        ts_die_with_test();
        dup2(ofd, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    /* the sampler must not starve on a loaded machine: a state a scenario holds for a few
     * hundred milliseconds (a deadlock before the runtime ends it) would go unseen. Ten nice
     * levels above ipcscope's workers when permitted (root); the child forked above keeps
     * ours. */
    errno = 0;
    int nice0 = getpriority(PRIO_PROCESS, 0);
    if (nice0 == -1 && errno)
        nice0 = 0;
    setpriority(PRIO_PROCESS, 0, nice0 - 10 < -20 ? -20 : nice0 - 10);
    while (waitpid(out->pid, &out->status, WNOHANG) == 0) {
        cr_assert_lt(ts_now_ms() - t0, 50000, "%s did not end by itself", id);
        if (sample)
            sample(arg, out->pid, ts_now_ms() - t0);
        usleep(period_us);
    }
    setpriority(PRIO_PROCESS, 0, nice0);
    close(ofd);
    cr_assert(WIFEXITED(out->status) && WEXITSTATUS(out->status) == 0, "%s exited with status %d",
              id, out->status);
    out->snap = json_load_file(outp, 0, NULL);
    cr_assert_not_null(out->snap, "no JSON snapshot from %s", id);
    out->trace = ts_load_jsonl(rec, &out->ntrace);
    unlink(outp);
    if (getenv("IPCSCOPE_KEEP_TRACE")) /* debugging: keep the trace and say where */
        fprintf(stderr, "%s: trace kept in %s\n", id, rec);
    else
        unlink(rec);
}

/* ---- a scenario driven step by step ---- */

void ts_driver_start(struct ts_driver *d, const char *id, const char *const *params,
                     const char *const *extra)
{
    memset(d, 0, sizeof(*d));
    int in[2], out[2];
    cr_assert(pipe2(in, O_CLOEXEC) == 0 && pipe2(out, O_CLOEXEC) == 0);
    snprintf(d->err_path, sizeof(d->err_path), "/tmp/ipcscope-test-drvXXXXXX");
    int efd = mkstemp(d->err_path);
    cr_assert(efd >= 0);
    const char *argv[64] = {IPCSCOPE_BIN, "run", id, "--headless", "--script", "-"};
    int argc = 6;
    for (size_t i = 0; extra && extra[i] && argc < 40; i++)
        argv[argc++] = extra[i];
    for (size_t i = 0; params && params[i] && argc < 60; i++) {
        argv[argc++] = "--param";
        argv[argc++] = params[i];
    }
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        cr_assert_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        ts_die_with_test();
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(efd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(efd);
    d->pid = pid;
    d->cmd = fdopen(in[1], "w");
    d->out = fdopen(out[0], "r");
    cr_assert(d->cmd && d->out);
}

void ts_driver_cmd(struct ts_driver *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->cmd, fmt, ap);
    va_end(ap);
    fputc('\n', d->cmd);
    fflush(d->cmd);
}

/* The parent pid in /proc/<pid>/stat, or -1. */
static pid_t proc_ppid(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *close = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    int ppid = -1;
    return close && sscanf(close + 1, " %*c %d", &ppid) == 1 ? (pid_t)ppid : -1;
}

/* Log what root and every process under it are doing, thread by thread (state, the kernel
 * function it sleeps in), and the conductor's kernel stack: what a hung driven run was
 * waiting for. */
static void log_run_tree(pid_t root)
{
    enum { MAXP = 512 };
    pid_t tree[MAXP];
    size_t n = 1;
    tree[0] = root;
    for (size_t grew = 1; grew && n < MAXP;) { /* until a pass finds nobody new */
        grew = 0;
        DIR *dir = opendir("/proc");
        for (struct dirent *e; dir && (e = readdir(dir)) && n < MAXP;) {
            pid_t pid = (pid_t)atoi(e->d_name), ppid = pid > 0 ? proc_ppid(pid) : -1;
            int known = 0, under = 0;
            for (size_t i = 0; i < n; i++) {
                known |= tree[i] == pid;
                under |= tree[i] == ppid;
            }
            if (pid > 0 && under && !known) {
                tree[n++] = pid;
                grew = 1;
            }
        }
        if (dir)
            closedir(dir);
    }
    char cmd[256 + MAXP * 8];
    int len = snprintf(cmd, sizeof(cmd), "for p in");
    for (size_t i = 0; i < n && len < (int)sizeof(cmd) - 16; i++)
        len += snprintf(cmd + len, sizeof(cmd) - (size_t)len, " %d", (int)tree[i]);
    char path[64];
    snprintf(path, sizeof(path), "/tmp/ipcscope-test-tree-%d", (int)getpid());
    ts_sh("%s; do for t in /proc/$p/task/*; do echo \"$p ${t##*/} $(cut -d' ' -f3 $t/stat) "
          "$(cat $t/wchan) $(cat $t/comm)\"; done; done > %s 2>&1; echo 'conductor stack:' >> %s; "
          "cat /proc/%d/stack >> %s 2>&1",
          cmd, path, path, (int)root, path);
    char *tree_text = ts_slurp(path);
    unlink(path);
    cr_log_error("the driven run's processes (pid tid state wchan name):\n%s",
                 tree_text ? tree_text : "(none)");
    free(tree_text);
}

json_t *ts_driver_snapshot(struct ts_driver *d, int timeout_s)
{
    ts_driver_cmd(d, "snapshot");
    struct pollfd p = {.fd = fileno(d->out), .events = POLLIN};
    static char line[1 << 20];
    if (poll(&p, 1, timeout_s * 1000) <= 0 || !fgets(line, sizeof(line), d->out)) {
        char *err = ts_slurp(d->err_path);
        cr_log_error("stderr of the driven run:\n%s", err);
        free(err);
        log_run_tree(d->pid);
        cr_assert_fail("no snapshot within %d s", timeout_s);
    }
    json_error_t je;
    json_t *snap = json_loads(line, 0, &je);
    cr_assert(snap, "snapshot is not JSON: %s (%.200s)", je.text, line);
    return snap;
}

int ts_driver_end(struct ts_driver *d, int timeout_s)
{
    if (d->cmd)
        fclose(d->cmd);
    d->cmd = NULL;
    int waited = 0;
    while (waitpid(d->pid, &d->status, WNOHANG) != d->pid) {
        if (waited++ == timeout_s * 100)
            kill(d->pid, SIGKILL);
        ts_sleep_ms(10);
    }
    if (d->out)
        fclose(d->out);
    d->out = NULL;
    int code = WIFEXITED(d->status) ? WEXITSTATUS(d->status) : 128 + WTERMSIG(d->status);
    if (code != 0) { /* said on stderr, not as a Criterion warning: a warning makes the whole
                      * suite exit 1 even when every test passed, and some callers accept 1 */
        char *err = ts_slurp(d->err_path);
        fprintf(stderr, "note: driven run ended with %d; stderr:\n%s", code, err ? err : "");
        free(err);
    }
    unlink(d->err_path);
    return code;
}

/* The kernel's count of times a thread gave up its CPU (voluntary_ctxt_switches), or -1. */
static long long voluntary_switches(long long pid, long long tid)
{
    char path[64], line[128];
    snprintf(path, sizeof(path), "/proc/%lld/task/%lld/status", pid, tid);
    FILE *f = fopen(path, "r");
    long long n = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "voluntary_ctxt_switches: %lld", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

static int is_blocked(json_t *task)
{
    return task && strcmp(ts_str(task, "state"), "blocked") == 0;
}

/* Step id's run (driver d) until its task `name` satisfies is(task), within 60 steps; the
 * task, and its snapshot in *snap (the caller's to free). */
static json_t *step_until_task(struct ts_driver *d, const char *name, int (*is)(json_t *),
                               json_t **snap)
{
    json_t *task = NULL;
    for (int i = 0; i < 60 && !is(task); i++) {
        json_decref(*snap);
        ts_driver_cmd(d, "step");
        ts_driver_cmd(d, "wait 100");
        *snap = ts_driver_snapshot(d, 60);
        task = ts_find_named(json_object_get(*snap, "tasks"), name);
    }
    return task;
}

/* Let pause_ms pass with the gate held: how many times the kernel put task to sleep
 * meanwhile; the snapshot after the pause in *after (the caller's to free). */
static long long switches_in_pause(struct ts_driver *d, const char *id, const char *name,
                                   json_t *task, long pause_ms, json_t **after)
{
    long long pid = ts_int(task, "pid"), tid = ts_int(task, "tid");
    long long before = voluntary_switches(pid, tid);
    ts_driver_cmd(d, "wait %ld", pause_ms);
    *after = ts_driver_snapshot(d, 60);
    long long woke = voluntary_switches(pid, tid) - before;
    cr_assert(before >= 0 && woke >= 0, "%s: no switch count for %s", id, name);
    return woke;
}

/* The rest of the run at full speed: it must end with exit 0. */
static void finish_run(struct ts_driver *d, const char *id)
{
    ts_driver_cmd(d, "finish");
    cr_assert_eq(ts_driver_end(d, 60), 0, "%s: the run did not end with exit 0", id);
}

long long ts_wakeups_in_a_pause(const char *id, const char *const *params, const char *name,
                                long pause_ms)
{
    struct ts_driver d;
    ts_driver_start(&d, id, params, NULL);
    json_t *snap = NULL, *after = NULL;
    json_t *task = step_until_task(&d, name, is_blocked, &snap);
    cr_assert(is_blocked(task), "%s: %s never blocked within 60 steps", id, name);
    long long woke = switches_in_pause(&d, id, name, task, pause_ms, &after);
    /* still blocked: it may be awake for a moment of its own (a timer's check, at most a few
     * ms in a busy machine's run queue), so a few looks 20 ms apart, not one instant */
    int blocked = is_blocked(ts_find_named(json_object_get(after, "tasks"), name));
    for (int look = 0; look < 5 && !blocked; look++) {
        json_decref(after);
        ts_driver_cmd(&d, "wait 20");
        after = ts_driver_snapshot(&d, 60);
        blocked = is_blocked(ts_find_named(json_object_get(after, "tasks"), name));
    }
    cr_expect(blocked, "%s: %s is no longer blocked after the pause (in 5 looks 20 ms apart)", id,
              name);
    json_decref(after);
    json_decref(snap);
    finish_run(&d, id);
    return woke;
}

static const char *g_gate_action; /* at_gate: this action only (NULL: any) */

static int at_gate(json_t *task)
{
    json_t *a = task ? json_object_get(task, "gate_action") : NULL;
    return a && (!g_gate_action ||
                 strcmp(json_string_value(a) ? json_string_value(a) : "", g_gate_action) == 0);
}

long long ts_gate_wakeups_in_a_pause(const char *id, const char *const *params, const char *name,
                                     long pause_ms)
{
    return ts_gate_action_wakeups_in_a_pause(id, params, name, NULL, pause_ms);
}

long long ts_gate_action_wakeups_in_a_pause(const char *id, const char *const *params,
                                            const char *name, const char *action, long pause_ms)
{
    struct ts_driver d;
    ts_driver_start(&d, id, params, NULL);
    json_t *snap = NULL, *after = NULL;
    g_gate_action = action;
    json_t *task = step_until_task(&d, name, at_gate, &snap);
    cr_assert(at_gate(task), "%s: %s never waited at the gate (%s) within 60 steps", id, name,
              action ? action : "any action");
    /* count from once it sleeps there: on a loaded machine it may still be on its way into
     * the futex wait when the snapshot says it arrived (the record comes first) */
    char path[96];
    snprintf(path, sizeof(path), "/proc/%lld/task/%lld/stat", ts_int(task, "pid"),
             ts_int(task, "tid"));
    struct ts_stat st = {.state = '?'};
    for (int i = 0; i < 200 && (ts_stat_path(path, &st) != 0 || st.state != 'S'); i++)
        ts_sleep_ms(10);
    cr_assert_eq(st.state, 'S', "%s: %s at the gate is not asleep (%c) after 2 s", id, name,
                 st.state);
    long long woke = switches_in_pause(&d, id, name, task, pause_ms, &after);
    cr_expect(at_gate(ts_find_named(json_object_get(after, "tasks"), name)),
              "%s: %s left the gate during the pause", id, name);
    g_gate_action = NULL;
    json_decref(after);
    json_decref(snap);
    finish_run(&d, id);
    return woke;
}

/* ---- the real TUI in a detached tmux session ---- */

/* The session a test started and has not stopped: ended when the test process exits, also
 * after a failed assertion (Criterion's worker exits through exit), so a test that fails
 * half-way leaves no tmux server and no ipcscope waiting at its gate for ten minutes. */
static struct ts_tui g_tui_live; /* a copy of its names: the test's own may be gone by then */

static void tui_at_exit(void)
{
    ts_tui_stop(&g_tui_live);
}

void ts_tui_start(struct ts_tui *t, const char *args, int w, int h)
{
    static int registered;
    if (ts_sh("command -v tmux >/dev/null 2>&1") != 0)
        cr_skip_test("needs tmux");
    if (!registered++)
        atexit(tui_at_exit);
    memset(t, 0, sizeof(*t));
    snprintf(t->sock, sizeof(t->sock), "ipcscope-tui-%d", (int)getpid());
    snprintf(t->dir, sizeof(t->dir), "/tmp/ipcscope-test-tui-XXXXXX");
    ts_mkdtemp(t->dir);
    int rc = ts_sh("tmux -L %s -f /dev/null new-session -d -s ui -x %d -y %d "
                   "\"stty -a > %s/before; env LANG=C.UTF-8 LC_ALL= TERM=tmux-256color NO_COLOR= "
                   "%s %s; echo \\$? > %s/rc.tmp; stty -a > %s/after; mv %s/rc.tmp %s/rc; "
                   "sleep 600\"",
                   t->sock, w, h, t->dir, IPCSCOPE_BIN, args, t->dir, t->dir, t->dir, t->dir);
    snprintf(g_tui_live.sock, sizeof(g_tui_live.sock), "%s", t->sock);
    snprintf(g_tui_live.dir, sizeof(g_tui_live.dir), "%s", t->dir);
    cr_assert_eq(rc, 0, "tmux new-session failed");
}

/* The number after "steps " in the header, -1 when absent. */
static long tui_steps(struct ts_tui *t)
{
    const char *p = strstr(ts_tui_capture(t), "steps ");
    return p ? strtol(p + 6, NULL, 10) : -1;
}

/* Every task row at the step gate, each with its hint ("" when nobody is there). */
static void tui_gate_rows(const char *screen, char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    char line[1024];
    for (const char *l = screen; used + 1 < n && ts_next_line(&l, line, sizeof(line));) {
        if (!strstr(line, "‖ GATE"))
            continue;
        int k = snprintf(out + used, n - used, "%s\n", line);
        used = k < 0 || (size_t)k >= n - used ? n - 1 : used + (size_t)k;
    }
}

/* Who the screen says Space lets go next: the dashboard's "Next: Space lets ..." line ("" while
 * it shows none: a step being granted, or nobody at the gate), or in projector mode, which has
 * no Next line, every task row at the gate. */
static void tui_next_hint(const char *screen, char *out, size_t n)
{
    const char *p = strstr(screen, "Next: Space");
    if (p) {
        size_t len = strcspn(p, "│\n");
        snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), p);
        return;
    }
    out[0] = '\0';
    if (!strstr(screen, " What happened ") && !strstr(screen, " 发生了什么 "))
        tui_gate_rows(screen, out, n);
}

int ts_tui_step(struct ts_tui *t, int ms)
{
    char rows[2048], now_rows[2048], now_hint[1024];
    long before = tui_steps(t);
    tui_gate_rows(t->screen, rows, sizeof(rows));
    ts_tui_keys(t, "Space");
    int waited = 0;
    for (; waited <= ms; waited += 50, ts_sleep_ms(50)) {
        long now = tui_steps(t);
        if (strstr(t->screen, "Checks:"))
            return 1;
        if (before >= 0 && now > before)
            break;
    }
    if (waited > ms)
        return 0;
    /* asked: the screen shows the grant once a row at the gate has left it or changed (a second
     * at most: the same call twice looks the same). Until then the row of the task let go still
     * reads GATE (soak: tcp-teardown's server, at "close(server-conn)" after its Space) */
    for (int w = 0; w <= ms && w <= 1000; w += 50, ts_sleep_ms(50)) {
        tui_gate_rows(ts_tui_capture(t), now_rows, sizeof(now_rows));
        if (strstr(t->screen, "Checks:") || strcmp(now_rows, rows) != 0)
            break;
    }
    /* then as a teacher waits for the Next line before the next Space: a Space pressed while
     * nobody is at the gate lets the next task to arrive through at once, and no screen ever
     * shows it waiting there (soak: tcp-teardown's last look); and for the others to settle: a
     * task still running or ready may reach the gate ahead of the one the Next line names and
     * be the one the next Space lets go, unseen. A task that never stops (a busy loop) is
     * waited for a second at most; nobody at the gate, for ms. */
    int gated_at = -1;
    for (int w = 0; w <= ms; w += 50, ts_sleep_ms(50)) {
        tui_next_hint(ts_tui_capture(t), now_hint, sizeof(now_hint));
        if (strstr(t->screen, "Checks:"))
            break;
        if (gated_at < 0 && now_hint[0])
            gated_at = w;
        if (gated_at >= 0 && ((!strstr(t->screen, "▶ RUN") && !strstr(t->screen, "◷ READY")) ||
                              w >= gated_at + 1000))
            break;
    }
    ts_sleep_ms(100);
    ts_tui_capture(t);
    return 1;
}

const char *ts_tui_capture(struct ts_tui *t)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tmux -L %s capture-pane -p -t ui 2>/dev/null", t->sock);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(t->screen, 1, sizeof(t->screen) - 1, p) : 0;
    t->screen[n] = '\0';
    if (p)
        pclose(p);
    const char *log = getenv("TS_TUI_LOG"); /* a flaky TUI test's screens, for its diagnosis */
    FILE *f = log ? fopen(log, "a") : NULL;
    if (f) {
        fprintf(f, "==== %ld ms\n%s", ts_now_ms(), t->screen);
        fclose(f);
    }
    return t->screen;
}

int ts_tui_wait_for(struct ts_tui *t, const char *text, int ms)
{
    long end = ts_now_ms() + ms;
    do {
        if (strstr(ts_tui_capture(t), text))
            return 1;
        ts_sleep_ms(50);
    } while (ts_now_ms() < end);
    return 0;
}

void ts_tui_keys(struct ts_tui *t, const char *keys)
{
    const char *log = getenv("TS_TUI_LOG");
    FILE *f = log ? fopen(log, "a") : NULL;
    if (f) {
        fprintf(f, "==== %ld ms keys %s\n", ts_now_ms(), keys);
        fclose(f);
    }
    ts_sh("tmux -L %s send-keys -t ui %s", t->sock, keys);
}

int ts_tui_wait_exit(struct ts_tui *t, int ms)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/rc", t->dir);
    for (int waited = 0; waited <= ms; waited += 50) {
        char buf[32];
        if (ts_read_file(path, buf, sizeof(buf)) == 0 && buf[0])
            return atoi(buf);
        ts_sleep_ms(50);
    }
    return -1;
}

void ts_tmux_kill(const char *sock)
{
    ts_sh("tmux -L %s kill-server >/dev/null 2>&1; rm -f \"${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/%s\"",
          sock, sock);
}

void ts_tui_stop(struct ts_tui *t)
{
    if (t != &g_tui_live && strcmp(t->sock, g_tui_live.sock) == 0)
        g_tui_live.sock[0] = g_tui_live.dir[0] = '\0'; /* stopped: nothing left for the exit */
    if (t->sock[0])
        ts_tmux_kill(t->sock);
    if (t->dir[0])
        ts_rmtree(t->dir);
    t->sock[0] = t->dir[0] = '\0';
}

int ts_tui_finish(struct ts_tui *t, char *screen, size_t n, const char *key)
{
    snprintf(screen, n, "%s", ts_tui_capture(t));
    ts_tui_keys(t, key);
    int rc = ts_tui_wait_exit(t, 10000);
    ts_tui_stop(t);
    return rc;
}

int ts_next_line(const char **pos, char *line, size_t size)
{
    const char *l = *pos;
    if (!l || !*l)
        return 0;
    const char *end = strchr(l, '\n');
    size_t len = end ? (size_t)(end - l) : strlen(l);
    snprintf(line, size, "%.*s", (int)(len < size ? len : size - 1), l);
    *pos = end ? end + 1 : NULL;
    return 1;
}

int ts_line_with(const char *screen, const char *text, const char *want, char *out, size_t n)
{
    for (const char *l = screen; l && *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        if (memmem(l, len, text, strlen(text)) && (!want || memmem(l, len, want, strlen(want)))) {
            snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), l);
            return 1;
        }
        l = end ? end + 1 : NULL;
    }
    return 0;
}

void ts_model_one_process(struct model *m, size_t cap, const char *name)
{
    cr_assert_eq(model_init(m, cap, cap), 0);
    struct ev e = {.t = 1,
                   .kind = EV_TASK_START,
                   .src = EV_SRC_INSTR,
                   .task = 1,
                   .pid = 10,
                   .tid = 10,
                   .obj = EV_NO_OBJ,
                   .item = TK_PROCESS};
    model_apply(m, &e, name, NULL);
}
