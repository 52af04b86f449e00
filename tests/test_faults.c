/*
 * test_faults.c - the conductor killed at a random moment leaves nothing behind.
 *
 * Parameterized over the scenario table (and `exec`): each scenario runs headless and gets
 * one of KILL, TERM, HUP, INT after a random delay. A signal it can catch must end it within
 * the stop deadline; then, within a few seconds, no process of the run may be alive (every
 * one carries a marker in its environment, and this test is a subreaper so strays come to
 * it), no /dev/shm or /dev/mqueue name of the run and no cgroup of it may remain, and ss may
 * show no socket of its processes. The TUI test does the same in tmux and checks that the
 * terminal is put back. The random choices are printed with each failure; IPCSCOPE_FAULT_SEED
 * repeats them. scripts/faults runs the same checks in a long loop.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define ID_MAX 32
#define MAX_PIDS 512
#define CATCH_EXIT_MS 15000 /* the stop deadline (5 s) with room for a loaded machine */
#define CLEAN_MS 8000       /* the guard's own deadline (5 s) likewise */

struct scn_id {
    char id[ID_MAX];
};

static const int SIGS[] = {SIGKILL, SIGTERM, SIGHUP, SIGINT};

/* A seed: IPCSCOPE_FAULT_SEED, else from the clock and pid. */
static unsigned fault_seed(const char *id)
{
    const char *env = getenv("IPCSCOPE_FAULT_SEED");
    unsigned s = env ? (unsigned)strtoul(env, NULL, 10) : (unsigned)(ts_now_ns() ^ getpid());
    for (const char *p = id; *p; p++)
        s = s * 31 + (unsigned char)*p;
    return s;
}

/* ---- the run's processes, by the marker in their environment ---- */

static int has_marker(pid_t pid, const char *marker)
{
    char path[64], buf[16384];
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    size_t mlen = strlen(marker);
    for (ssize_t i = 0; i + (ssize_t)mlen <= n; i++)
        if ((i == 0 || buf[i - 1] == '\0') && memcmp(buf + i, marker, mlen) == 0)
            return 1;
    return 0;
}

/* Living (not zombie) processes carrying marker, into out; the count. */
static int marked(const char *marker, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        pid_t pid = atoi(de->d_name);
        if (pid > 0 && pid != getpid() && ts_pid_alive(pid) && has_marker(pid, marker)) {
            if (n < max)
                out[n] = pid;
            n++;
        }
    }
    if (d)
        closedir(d);
    return n;
}

/* ss lines naming any of pids (sockets still held by the run's processes). */
static int sockets_of(const pid_t *pids, int n)
{
    FILE *p = popen("ss -tuanpH 2>/dev/null", "r");
    if (!p)
        return 0;
    char line[1024];
    int found = 0;
    while (fgets(line, sizeof(line), p))
        for (int i = 0; i < n; i++) {
            char key[32];
            snprintf(key, sizeof(key), "pid=%d,", (int)pids[i]);
            if (strstr(line, key)) {
                cr_log_warn("socket left: %s", line);
                found++;
            }
        }
    pclose(p);
    return found;
}

/* The directory where ipcscope makes its cgroups: next to this process's own (cgroup v2),
 * into dir; "" when there is no cgroup v2. */
static void cgroup_dir(char *dir, size_t n)
{
    char line[1024], mnt[512] = "", path[512] = "";
    FILE *f = fopen("/proc/self/mountinfo", "r");
    while (f && fgets(line, sizeof(line), f)) {
        char m[512], type[64];
        const char *dash = strstr(line, " - ");
        if (dash && sscanf(line, "%*s %*s %*s %*s %511s", m) == 1 &&
            sscanf(dash + 3, "%63s", type) == 1 && strcmp(type, "cgroup2") == 0)
            snprintf(mnt, sizeof(mnt), "%s", m);
    }
    if (f)
        fclose(f);
    f = fopen("/proc/self/cgroup", "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "0::", 3) == 0)
            sscanf(line + 3, "%511s", path);
    if (f)
        fclose(f);
    snprintf(dir, n, "%s%s", mnt, mnt[0] && strcmp(path, "/") != 0 ? path : "");
}

/* What a cgroup left behind holds, in the log: its events and each process's state, wchan
 * and name (a run's cgroup left once in 3 soak runs, after 8 s; not reproduced by hand). */
static void log_cgroup(const char *path)
{
    char file[1300], buf[512] = "";
    snprintf(file, sizeof(file), "%s/cgroup.events", path);
    ts_read_file(file, buf, sizeof(buf));
    for (char *c = buf; *c; c++)
        *c = *c == '\n' ? ' ' : *c;
    cr_log_warn("  cgroup.events: %s", buf);
    snprintf(file, sizeof(file), "%s/cgroup.procs", path);
    FILE *f = fopen(file, "r");
    int pid;
    while (f && fscanf(f, "%d", &pid) == 1) {
        char wchan[64] = "", st[600] = "";
        snprintf(file, sizeof(file), "/proc/%d/wchan", pid);
        ts_read_file(file, wchan, sizeof(wchan));
        snprintf(file, sizeof(file), "/proc/%d/stat", pid);
        ts_read_file(file, st, sizeof(st));
        cr_log_warn("  pid %d: %.120s wchan %s", pid, st, wchan);
    }
    if (f)
        fclose(f);
}

/* Names in dir starting with prefix (each logged when loud). */
static int names_in(const char *dir, const char *prefix, int loud)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0) {
            if (loud) {
                char path[1200];
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                cr_log_warn("left %s", path);
                if (strstr(dir, "cgroup"))
                    log_cgroup(path);
            }
            n++;
        }
    if (d)
        closedir(d);
    return n;
}

/* Everything a run with conductor pid and marker could leave: asserted absent, waiting up
 * to CLEAN_MS for the guard to finish. what names the case in messages. */
static void assert_nothing_left(pid_t pid, const char *marker, const pid_t *seen, int nseen,
                                const char *what)
{
    pid_t left[MAX_PIDS];
    char prefix[64], cg[1024];
    snprintf(prefix, sizeof(prefix), "ipcscope-%d-", (int)pid);
    cgroup_dir(cg, sizeof(cg));
    /* the guard removes the cgroup once it is empty: after the last worker has been reaped,
     * by init, which on a loaded machine comes a while after the worker died (a zombie is no
     * longer marked alive, but it still populates the cgroup) */
    int n = 0;
    for (int waited = 0; waited <= CLEAN_MS; waited += 20) {
        ts_reap();
        n = marked(marker, left, MAX_PIDS);
        if (!n && !names_in("/dev/shm", prefix, 0) && !names_in("/dev/mqueue", prefix, 0) &&
            !(cg[0] && names_in(cg, prefix, 0)))
            break;
        ts_sleep_ms(20);
    }
    cr_assert_eq(n, 0, "%s: %d processes of the run outlived it (first: %d)", what, n,
                 (int)left[0]);
    cr_assert_eq(names_in("/dev/shm", prefix, 1), 0, "%s: /dev/shm names left", what);
    cr_assert_eq(names_in("/dev/mqueue", prefix, 1), 0, "%s: /dev/mqueue names left", what);
    cr_assert_eq(cg[0] ? names_in(cg, prefix, 1) : 0, 0, "%s: its cgroup is left", what);
    cr_assert_eq(sockets_of(seen, nseen), 0, "%s: sockets of the run are left", what);
}

/* ---- a headless run, killed ---- */

/* Start argv with marker (NAME=VALUE) and extra (another, or NULL) in its environment. */
static pid_t spawn_marked(char *const argv[], const char *marker, const char *extra)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        putenv((char *)marker);
        if (extra)
            putenv((char *)extra);
        execv(argv[0], argv);
        _exit(127);
    }
    cr_assert_gt(pid, 0, "fork failed");
    return pid;
}

/* Wait for pid up to ms; its wait status, or -1 when it is still running. */
static int wait_ms(pid_t pid, int ms)
{
    int status;
    for (int waited = 0; waited <= ms; waited += 5) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return status;
        ts_sleep_ms(5);
    }
    return -1;
}

static void kill_at_random(char *const argv[], const char *what, unsigned seed)
{
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    srand(seed);
    int sig = SIGS[rand() % 4];
    if (strcmp(what, "exec") == 0 && (sig == SIGINT || sig == SIGQUIT))
        sig = SIGTERM; /* exec passes INT and QUIT on to the program, as a shell does: this
                          one (sh waiting for children that ignore SIGINT) outlives them */
    int delay = rand() % 2 ? rand() % 30 : rand() % 600; /* half while workers are forked */
    char marker[64], desc[160];
    snprintf(marker, sizeof(marker), "IPCSCOPE_FAULT_TAG=%u-%d", seed, (int)getpid());
    snprintf(desc, sizeof(desc), "%s, %s after %d ms (IPCSCOPE_FAULT_SEED=%s)", what,
             strsignal(sig), delay, getenv("IPCSCOPE_FAULT_SEED") ? "set" : "random");
    cr_log_info("%s, seed %u", desc, seed);

    pid_t pid = spawn_marked(argv, marker, NULL);
    ts_sleep_ms((unsigned)delay);
    pid_t seen[MAX_PIDS];
    int nseen = marked(marker + 0, seen, MAX_PIDS);
    if (nseen > MAX_PIDS)
        nseen = MAX_PIDS;
    kill(pid, sig);
    int status = wait_ms(pid, CATCH_EXIT_MS);
    if (status == -1) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        cr_assert_fail("%s: ipcscope did not exit within %d ms of the signal", desc, CATCH_EXIT_MS);
    }
    cr_assert(!WIFSIGNALED(status) || WTERMSIG(status) == sig, "%s: it died of %s", desc,
              strsignal(WTERMSIG(status)));
    assert_nothing_left(pid, marker, seen, nseen, desc);
}

static struct criterion_test_params scenario_ids(void)
{
    char *const argv[] = {IPCSCOPE_BIN, "list", "--json", NULL};
    struct ts_run_opts o = {.timeout_s = 60, .stdin_null = 1};
    struct ts_result r = ts_run(argv, &o);
    json_t *arr = r.out ? json_loads(r.out, 0, NULL) : NULL;
    size_t n = json_array_size(arr);
    struct scn_id *ids = cr_malloc(sizeof(*ids) * (n + 1));
    for (size_t i = 0; i < n; i++)
        snprintf(ids[i].id, ID_MAX, "%s",
                 json_string_value(json_object_get(json_array_get(arr, i), "id")));
    snprintf(ids[n].id, ID_MAX, "exec");
    json_decref(arr);
    ts_free_result(&r);
    return cr_make_param_array(struct scn_id, ids, n + 1, NULL);
}

ParameterizedTestParameters(faults, a_random_signal_at_a_random_moment_leaves_nothing)
{
    return scenario_ids();
}

ParameterizedTest(struct scn_id *p, faults, a_random_signal_at_a_random_moment_leaves_nothing,
                  .timeout = 60)
{
    char *run[] = {IPCSCOPE_BIN, "run", p->id, "--headless", "--no-bpf", NULL};
    char *exec[] = {IPCSCOPE_BIN, "exec",    "--headless", "--no-bpf",
                    "--",         "/bin/sh", "-c",         "sleep 300 & sleep 301 & wait",
                    NULL};
    kill_at_random(strcmp(p->id, "exec") == 0 ? exec : run, p->id, fault_seed(p->id));
}

/* A program that leaves the worker group (setsid) is still found: through the cgroup, or
 * (forced here) as a descendant of the conductor in /proc. */
Test(faults, a_program_that_leaves_the_group_is_still_stopped, .timeout = 60)
{
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    const char *modes[] = {"IPCSCOPE_NO_CGROUP=1", NULL};
    for (int m = 0; m < 2; m++) {
        const char *what = modes[m] ? "without a cgroup" : "with a cgroup where permitted";
        char marker[64];
        snprintf(marker, sizeof(marker), "IPCSCOPE_FAULT_TAG=setsid-%d-%d", (int)getpid(), m);
        char *argv[] = {
            IPCSCOPE_BIN, "exec",    "--headless", "--no-bpf",
            "--",         "/bin/sh", "-c",         "setsid sleep 300 & sleep 301 & wait",
            NULL};
        pid_t pid = spawn_marked(argv, marker, modes[m]);
        pid_t seen[MAX_PIDS];
        int n = 0;
        for (int waited = 0; waited < 10000 && n < 4; waited += 50) {
            ts_sleep_ms(50);
            n = marked(marker, seen, MAX_PIDS); /* ipcscope, guard, sh, two sleeps */
        }
        cr_assert_geq(n, 4, "the program's children never appeared (%d processes)", n);
        kill(pid, SIGTERM);
        int status = wait_ms(pid, CATCH_EXIT_MS);
        cr_assert_neq(status, -1, "%s: ipcscope did not stop", what);
        assert_nothing_left(pid, marker, seen, n, what);
    }
}

/* ---- the TUI, killed: the terminal comes back ---- */

static char g_sock[64], g_dir[128];

static void tmux_stop(void)
{
    if (g_sock[0])
        ts_tmux_kill(g_sock);
    if (g_dir[0])
        ts_rmtree(g_dir);
    g_sock[0] = g_dir[0] = '\0';
}

static int read_int(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    FILE *f = fopen(path, "r");
    int v = -1;
    if (f && fscanf(f, "%d", &v) != 1)
        v = -1;
    if (f)
        fclose(f);
    return v;
}

/* tmux's view of the pane: 1 when the alternate screen is on, the cursor hidden. */
static void pane_flags(int *alt, int *cursor)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tmux -L %s display -p -t ui '#{alternate_on} #{cursor_flag}'",
             g_sock);
    FILE *p = popen(cmd, "r");
    *alt = *cursor = -1;
    if (p && fscanf(p, "%d %d", alt, cursor) != 2)
        *alt = *cursor = -1;
    if (p)
        pclose(p);
}

Test(faults, the_tui_killed_at_a_random_moment_gives_the_terminal_back, .fini = tmux_stop,
     .timeout = 120)
{
    if (ts_sh("command -v tmux >/dev/null 2>&1") != 0)
        cr_skip_test("needs tmux");
    static const char *const ids[] = {"prodcons", "pipe",   "threads", "tcp-echo",
                                      "deadlock", "zombie", "states"};
    unsigned seed = fault_seed("tui");
    srand(seed);
    const char *id = ids[rand() % (int)(sizeof(ids) / sizeof(ids[0]))];
    int sig = SIGS[rand() % 4], delay = 300 + rand() % 2500;
    char marker[64];
    snprintf(marker, sizeof(marker), "IPCSCOPE_FAULT_TAG=tui-%u-%d", seed, (int)getpid());
    cr_log_info("TUI %s, %s after %d ms, seed %u", id, strsignal(sig), delay, seed);

    snprintf(g_sock, sizeof(g_sock), "ipcscope-fault-%d", (int)getpid());
    snprintf(g_dir, sizeof(g_dir), "/tmp/ipcscope-fault-XXXXXX");
    ts_mkdtemp(g_dir);
    /* the shell records the modes before and after; ipcscope replaces a child shell, so
     * the signal reaches ipcscope itself and the outer shell survives it */
    int rc = ts_sh("tmux -L %s -f /dev/null new-session -d -s ui -x 120 -y 40 "
                   "\"stty -g > %s/before; sh -c 'echo \\$\\$ > %s/pid; exec env %s "
                   "TERM=tmux-256color %s run %s --no-bpf'; sleep 1; stty -g > %s/after; "
                   "echo 1 > %s/done; sleep 600\"",
                   g_sock, g_dir, g_dir, marker, IPCSCOPE_BIN, id, g_dir, g_dir);
    cr_assert_eq(rc, 0, "tmux failed");
    pid_t pid = -1;
    for (int waited = 0; waited < 5000 && pid <= 0; waited += 20, ts_sleep_ms(20))
        pid = read_int("pid");
    cr_assert_gt(pid, 0, "ipcscope did not start");
    ts_sleep_ms((unsigned)delay);
    pid_t seen[MAX_PIDS];
    int nseen = marked(marker, seen, MAX_PIDS);
    kill(pid, sig);
    int done = -1;
    for (int waited = 0; waited < CATCH_EXIT_MS + 2000 && done != 1; waited += 50, ts_sleep_ms(50))
        done = read_int("done");
    cr_assert_eq(done, 1, "TUI %s, %s after %d ms (seed %u): ipcscope did not exit", id,
                 strsignal(sig), delay, seed);
    int alt, cursor;
    pane_flags(&alt, &cursor);
    cr_assert_eq(alt, 0, "TUI %s, %s (seed %u): still on the alternate screen", id, strsignal(sig),
                 seed);
    cr_assert_eq(cursor, 1, "TUI %s, %s (seed %u): the cursor is hidden", id, strsignal(sig), seed);
    cr_assert_eq(ts_sh("cmp -s %s/before %s/after", g_dir, g_dir), 0,
                 "TUI %s, %s (seed %u): the terminal's modes were not restored", id, strsignal(sig),
                 seed);
    assert_nothing_left(pid, marker, seen, nseen, id);
}

/* ---- resource limits: a clear message, quickly, never a hang ---- */

/* Run a bash command line (ulimit -q is bash's); fail on a hang (20 s) or a death by signal. */
static struct ts_result sh_run(const char *cmd)
{
    char *argv[] = {"/bin/bash", "-c", (char *)cmd, NULL};
    struct ts_run_opts o = {.timeout_s = 20, .stdin_null = 1};
    struct ts_result r = ts_run(argv, &o);
    cr_assert(!r.hung, "`%s` still ran after 20 s", cmd);
    cr_assert(WIFEXITED(r.status), "`%s` died of signal %d; stderr: %s", cmd, WTERMSIG(r.status),
              r.err);
    return r;
}

Test(faults, few_file_descriptors_never_hang, .timeout = 300)
{
    for (int n = 8; n <= 24; n++) {
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "ulimit -n %d; exec %s run prodcons --headless --no-bpf", n,
                 IPCSCOPE_BIN);
        struct ts_result r = sh_run(cmd);
        int rc = WEXITSTATUS(r.status);
        cr_expect(rc == 0 || (rc == 1 && strstr(r.err, "ulimit -n")),
                  "ulimit -n %d: exit %d without naming the limit: %s", n, rc, r.err);
        ts_free_result(&r);
    }
}

Test(faults, a_process_limit_is_named_quickly, .timeout = 120)
{
    if (geteuid() != 0)
        cr_skip_test("needs root: to run as nobody, whose process count the limit is about");
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "exec setpriv --reuid=65534 --regid=65534 --clear-groups /bin/bash -c "
             "'ulimit -u 3; exec %s run process-pool --headless --no-bpf'",
             IPCSCOPE_BIN);
    long t0 = ts_now_ms();
    struct ts_result r = sh_run(cmd);
    cr_expect_eq(WEXITSTATUS(r.status), 1, "exit %d: %s", WEXITSTATUS(r.status), r.err);
    cr_expect(strstr(r.err, "ulimit -u") != NULL, "the process limit is not named: %s", r.err);
    cr_expect_lt(ts_now_ms() - t0, 15000, "it took %ld ms to say so", ts_now_ms() - t0);
    ts_free_result(&r);
}

Test(faults, no_room_for_a_message_queue_is_named, .timeout = 60)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "ulimit -q 0; exec %s run message-queue --headless --no-bpf",
             IPCSCOPE_BIN);
    struct ts_result r = sh_run(cmd);
    cr_expect_eq(WEXITSTATUS(r.status), 1);
    cr_expect(strstr(r.err, "ulimit -q") != NULL, "the byte limit is not named: %s", r.err);
    cr_expect(strstr(r.err, "Too many open files") == NULL, "misleading message: %s", r.err);
    ts_free_result(&r);
}

Test(faults, a_pid_namespace_without_its_own_proc_finishes_and_says_why, .timeout = 60)
{
    if (geteuid() != 0 || ts_sh("unshare -p -f true >/dev/null 2>&1") != 0)
        cr_skip_test("needs root and unshare -p");
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "exec unshare -p -f %s run prodcons --headless --json --no-bpf",
             IPCSCOPE_BIN);
    struct ts_result r = sh_run(cmd);
    cr_expect_eq(WEXITSTATUS(r.status), 0, "stderr: %s", r.err);
    json_t *snap = json_loads(r.out, 0, NULL);
    cr_assert_not_null(snap, "no snapshot: %s", r.err);
    cr_expect(json_is_true(json_object_get(snap, "completed")), "prodcons did not finish");
    json_t *src = json_object_get(snap, "sources");
    cr_expect(json_is_false(json_object_get(src, "procfs")), "/proc of another namespace used");
    cr_expect(strstr(ts_str(src, "procfs_reason"), "PID namespace") != NULL, "no reason: %s",
              r.out);
    json_decref(snap);
    ts_free_result(&r);
}

/* A run under `unshare -p` sees none of our pids: the cgroups and names of a run going on
 * beside it must look alive to it, not stale (it used to kill that run's workers with
 * cgroup.kill: tcp-echo stepped in a classroom ended "FAILED" with every worker status 137). */
Test(faults, a_run_in_another_pid_namespace_leaves_a_running_one_alone, .timeout = 120)
{
    if (geteuid() != 0 || ts_sh("unshare -p -f true >/dev/null 2>&1") != 0)
        cr_skip_test("needs root and unshare -p");
    struct ts_driver d;
    ts_driver_start(&d, "tcp-echo", NULL, NULL);
    ts_driver_cmd(&d, "step"); /* the server's socket(): both workers are there, at the gate */
    json_t *snap = ts_driver_snapshot(&d, 30);
    pid_t pids[8];
    int n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        if (n < 8 && strcmp(ts_str(t, "name"), "ipcscope") != 0 && ts_int(t, "pid") > 0)
            pids[n++] = (pid_t)ts_int(t, "pid");
    }
    json_decref(snap);
    cr_assert_gt(n, 0, "tcp-echo has no workers to watch");
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "exec unshare -p -f %s run prodcons --headless --no-bpf",
             IPCSCOPE_BIN);
    struct ts_result r = sh_run(cmd);
    cr_expect_eq(WEXITSTATUS(r.status), 0, "stderr: %s", r.err);
    ts_free_result(&r);
    for (int k = 0; k < n; k++)
        cr_expect(ts_pid_alive(pids[k]), "worker %d of the run beside it was killed", pids[k]);
    for (int s = 0; s < 100; s++) {
        ts_driver_cmd(&d, "step");
        snap = ts_driver_snapshot(&d, 60);
        if (json_is_true(json_object_get(snap, "completed")))
            break;
        json_decref(snap);
        snap = NULL;
    }
    cr_assert_not_null(snap, "tcp-echo did not end");
    ts_assert_check_ok(snap);
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        cr_expect_neq(ts_int(t, "exit_status"), 137, "%s was killed", ts_str(t, "name"));
    }
    json_decref(snap);
    cr_expect_eq(ts_driver_end(&d, 20), 0);
}

/* A run that ends by itself removes its cgroup before it stands its guard down: released,
 * the guard no longer removes it, so a SIGKILL in between left an empty cgroup behind (the
 * random-signal test above failed so in 2 of 3 soak runs: "http, Killed after 100 ms", the
 * run's own length). Seen from outside: once the guard has exited and is not yet reaped (a
 * zombie, so the conductor has not gone on), the cgroup must be gone already. */
Test(faults, a_clean_end_removes_the_cgroup_before_the_guard_stands_down, .timeout = 120)
{
    char cg[1024];
    cgroup_dir(cg, sizeof(cg));
    if (!cg[0] || getenv("IPCSCOPE_NO_CGROUP"))
        cr_skip_test("no cgroup v2 here: the run has no cgroup to remove");
    char *argv[] = {IPCSCOPE_BIN, "run", "http", "--headless", "--no-bpf", NULL};
    int looked = 0;
    for (int tries = 0; tries < 40 && looked < 3; tries++) {
        char marker[64];
        snprintf(marker, sizeof(marker), "IPCSCOPE_FAULT_TAG=clean-%d-%d", (int)getpid(), tries);
        pid_t pid = spawn_marked(argv, marker, NULL);
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "ipcscope-%d-", (int)pid);
        pid_t guard = 0;
        uint64_t until = ts_now_ns() + 10ull * 1000000000ull;
        while (ts_now_ns() < until) {
            if (!guard) { /* the conductor's child called ipcscope-guard */
                pid_t kids[16];
                int n = ts_children(pid, kids, 16);
                struct ts_stat st;
                for (int i = 0; i < n; i++)
                    if (ts_stat(kids[i], &st) == 0 && !strcmp(st.comm, "ipcscope-guard"))
                        guard = kids[i];
                continue;
            }
            struct ts_stat st;
            if (ts_stat(guard, &st) != 0)
                break; /* reaped before we saw it a zombie: no verdict this time */
            if (st.state == 'Z') {
                int left = names_in(cg, prefix, 1);
                cr_expect_eq(left, 0, "the guard has exited, and the run's cgroup is still there");
                looked++;
                break;
            }
        }
        waitpid(pid, NULL, 0);
    }
    if (!looked)
        cr_skip_test("the guard was never seen between its exit and its reaping in 40 runs");
}
