/*
 * exec_track.c - the processes of an exec run, followed and cleaned up without being their
 * reaper: a cgroup v2 of the run's own (cgroup.procs, cgroup.kill) where permitted, else
 * the process group plus a /proc scan for descendants.
 *
 * The cgroup is the run's own (see cgroup.h) when the run has one: the program is the run's
 * only worker, the conductor puts it there before it drops to the user's credentials (sudo),
 * and the run's guard kills it if the conductor dies. Else one is made next to the
 * conductor's, and a watcher process, started apart from the conductor
 * (its own session, not its child), holds a pipe only the conductor writes to: if the
 * conductor dies without cleaning up, the pipe reads end-of-file and the watcher kills the
 * cgroup, as the run's guard does for the process group.
 */
#define _GNU_SOURCE
#include "exec_track.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SCAN_MAX 4096     /* processes looked at in one /proc scan */
#define GONE_WAIT_MS 2000 /* how long cleanup waits for killed processes to go */

/* ---- small file helpers ---- */

static int read_file(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t got = read(fd, buf, n - 1);
    int err = errno;
    close(fd);
    if (got < 0)
        return -err;
    buf[got] = '\0';
    return (int)got;
}

static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t w = write(fd, s, strlen(s));
    int err = errno;
    close(fd);
    return w < 0 ? -err : 0;
}

/* ---- the cgroup ---- */

/* The cgroup v2 mount point (from /proc/self/mountinfo) into out. 0 or -ENOENT. */
static int cgroup2_mount(char *out, size_t n)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return -errno;
    char line[1024];
    int rc = -ENOENT;
    while (rc && fgets(line, sizeof(line), f)) {
        char mnt[512], fstype[64];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(dash, " - %63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
            continue;
        if (sscanf(line, "%*s %*s %*s %*s %511s", mnt) == 1) {
            snprintf(out, n, "%s", mnt);
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

/* The conductor's own cgroup v2 path ("/..." from the "0::" line of /proc/self/cgroup). */
static int own_cgroup(char *out, size_t n)
{
    char buf[4096];
    if (read_file("/proc/self/cgroup", buf, sizeof(buf)) < 0)
        return -ENOENT;
    for (char *save, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (strncmp(l, "0::", 3) == 0) {
            snprintf(out, n, "%s", strcmp(l + 3, "/") ? l + 3 : "");
            return 0;
        }
    }
    return -ENOENT;
}

/* Make dir a cgroup with cgroup.kill; on failure the reason in t->why (dir is removed). */
static int make_cgroup(struct exec_track *t, const char *dir, const char *where)
{
    char kill_file[PATH_MAX + 16];
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(t->why, sizeof(t->why), "cannot create a cgroup in %.120s: %s", where,
                 strerror(errno));
        return -1;
    }
    snprintf(kill_file, sizeof(kill_file), "%s/cgroup.kill", dir);
    if (access(kill_file, W_OK) < 0) {
        snprintf(t->why, sizeof(t->why), "the kernel has no cgroup.kill (Linux 5.14+)");
        rmdir(dir);
        return -1;
    }
    return 0;
}

void exec_track_prepare(struct exec_track *t, const char *run_cgroup)
{
    char mnt[1024], own[1024], where[2048];
    char *dir = t->cgroup;
    t->method = TRACK_GROUP;
    t->shared = 0;
    t->why[0] = '\0';
    if (run_cgroup && run_cgroup[0]) { /* the run's own: it holds the program alone */
        snprintf(dir, sizeof(t->cgroup), "%s", run_cgroup);
        t->method = TRACK_CGROUP;
        t->shared = 1;
        return;
    }
    if (cgroup2_mount(mnt, sizeof(mnt)) < 0) {
        snprintf(t->why, sizeof(t->why), "no cgroup v2 hierarchy is mounted");
        return;
    }
    if (own_cgroup(own, sizeof(own)) < 0) {
        snprintf(t->why, sizeof(t->why), "not in a cgroup v2 group");
        return;
    }
    snprintf(dir, sizeof(t->cgroup), "%s%s/ipcscope-exec-%d", mnt, own, (int)getpid());
    snprintf(where, sizeof(where), "%s%s", mnt, own);
    if (make_cgroup(t, dir, where) == 0)
        t->method = TRACK_CGROUP;
}

int exec_track_join(const struct exec_track *t)
{
    if (t->method != TRACK_CGROUP || t->shared) /* the run put it in its cgroup already */
        return 0;
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/cgroup.procs", t->cgroup);
    return write_file(path, "0");
}

/* Processes in the cgroup (cgroup.procs lists no zombie), or -errno. */
static int cgroup_count(const char *dir)
{
    char path[PATH_MAX + 32], buf[65536];
    snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
    int got = read_file(path, buf, sizeof(buf));
    if (got < 0)
        return got;
    int n = 0;
    for (int i = 0; i < got; i++)
        n += buf[i] == '\n';
    return n;
}

/* ---- the process group and /proc ---- */

struct proc_row {
    pid_t pid, ppid, pgid, sid;
    char state;
    unsigned long long start; /* clock ticks after boot */
};

static int read_row(pid_t pid, struct proc_row *r)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (read_file(path, buf, sizeof(buf)) < 0)
        return -1;
    const char *p = strrchr(buf, ')');
    /* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
     * cutime cstime priority nice num_threads itrealvalue starttime */
    if (!p || sscanf(p + 2,
                     "%c %d %d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d "
                     "%llu",
                     &r->state, &r->ppid, &r->pgid, &r->sid, &r->start) != 5)
        return -1;
    r->pid = pid;
    return 0;
}

/* Every process on the system (up to SCAN_MAX) into rows. Returns the count. */
static size_t scan_proc(struct proc_row *rows, size_t max)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while (n < max && (de = readdir(d))) {
        pid_t pid = atoi(de->d_name);
        if (pid > 0 && read_row(pid, &rows[n]) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static int model_has_live_process(const struct model *m, pid_t pid)
{
    for (size_t i = 0; m && i < m->ntasks; i++)
        if (m->tasks[i].pid == pid && m->tasks[i].tid == pid && m->tasks[i].state != TS_REAPED)
            return 1;
    return 0;
}

/* A process the model names is the run's only if the program could have started it: the
 * program's user, started no earlier than the program. The model's pids come from records
 * the program writes, and whatever is marked here is killed at the end (a forged pid made
 * the conductor wait for, and would have made it kill, a process outside the run). */
static int model_claim_ok(const struct exec_track *t, const struct proc_row *row)
{
    char path[32];
    struct stat st;
    snprintf(path, sizeof(path), "/proc/%d", (int)row->pid);
    return t->main_start && row->start >= t->main_start && stat(path, &st) == 0 &&
           st.st_uid == t->main_uid;
}

int exec_track_could_be_ours(const struct exec_track *t, pid_t pid)
{
    struct proc_row row;
    return read_row(pid, &row) == 0 && model_claim_ok(t, &row);
}

void exec_track_main(struct exec_track *t, pid_t pid)
{
    struct proc_row row;
    char path[32];
    struct stat st;
    snprintf(path, sizeof(path), "/proc/%d", (int)pid);
    t->main_pid = pid;
    if (read_row(pid, &row) == 0 && stat(path, &st) == 0) {
        t->main_start = row.start;
        t->main_uid = st.st_uid;
    }
}

static int by_pid(const void *a, const void *b)
{
    const struct proc_row *x = a, *y = b;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* in[i] = 1 for the run's processes: its group or session, a live process the model knows,
 * and the descendants of those. rows is sorted by pid here. */
static void mark_run(const struct exec_track *t, const struct model *m, struct proc_row *rows,
                     size_t n, unsigned char *in)
{
    pid_t me = getpid();
    qsort(rows, n, sizeof(*rows), by_pid);
    for (size_t i = 0; i < n; i++)
        in[i] = rows[i].pid != me &&
                ((t->pgid > 0 && (rows[i].pgid == t->pgid || rows[i].sid == t->pgid)) ||
                 rows[i].pid == t->main_pid ||
                 (model_has_live_process(m, rows[i].pid) && model_claim_ok(t, &rows[i])));
    for (int changed = 1; changed;) { /* descendants, to a fixed point */
        changed = 0;
        for (size_t i = 0; i < n; i++) {
            if (in[i] || rows[i].pid == me)
                continue;
            struct proc_row key = {.pid = rows[i].ppid};
            struct proc_row *parent = bsearch(&key, rows, n, sizeof(*rows), by_pid);
            if (parent && in[parent - rows])
                in[i] = changed = 1;
        }
    }
}

/* The run's live (not zombie) processes, from /proc; kill them first when sig. */
static int scan_run(const struct exec_track *t, const struct model *m, int sig)
{
    struct proc_row *rows = calloc(SCAN_MAX, sizeof(*rows));
    unsigned char *in = calloc(SCAN_MAX, 1);
    int count = 0;
    if (!rows || !in)
        goto cleanup;
    size_t n = scan_proc(rows, SCAN_MAX);
    mark_run(t, m, rows, n, in);
    for (size_t i = 0; i < n; i++) {
        if (!in[i] || rows[i].state == 'Z' || rows[i].state == 'X')
            continue;
        count++;
        if (sig)
            kill(rows[i].pid, sig);
    }
cleanup:
    free(rows);
    free(in);
    return count;
}

int exec_track_alive(const struct exec_track *t, const struct model *m)
{
    if (t->method == TRACK_CGROUP) {
        int n = cgroup_count(t->cgroup);
        if (n >= 0)
            return n;
    }
    return scan_run(t, m, 0);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* sclock-ok: the user's program runs in real time */
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL); /* sclock-ok: cleanup of the user's program, not a lesson's wait */
}

/* Kill the cgroup and wait until it is empty; then remove it (unless it is the run's). */
static void cgroup_cleanup(struct exec_track *t)
{
    char path[PATH_MAX + 32];
    int n = cgroup_count(t->cgroup);
    if (n < 0)
        return; /* already gone */
    if (n > t->killed)
        t->killed = n;
    snprintf(path, sizeof(path), "%s/cgroup.kill", t->cgroup);
    if (n > 0)
        write_file(path, "1");
    uint64_t until = mono_ms() + GONE_WAIT_MS;
    while ((n = cgroup_count(t->cgroup)) > 0 && mono_ms() < until)
        sleep_ms(2);
    t->left = n > 0 ? n : 0;
    if (n <= 0 && !t->shared) /* the run removes its own */
        rmdir(t->cgroup);
}

/* The watcher: wait for end-of-file on rfd (the conductor is gone, or done), then make
 * sure nothing of the run is left in the cgroup. */
static void watch_loop(struct exec_track *t, int rfd)
{
    prctl(PR_SET_NAME, "ipcscope-watch");
    if (dup2(rfd, 3) == 3)
        rfd = 3;
    syscall(SYS_close_range, 4, ~0u, 0);
    char c;
    while (read(rfd, &c, 1) < 0 && errno == EINTR)
        ;
    cgroup_cleanup(t);
    _exit(0);
}

void exec_track_watch(struct exec_track *t)
{
    int p[2];
    t->watch_fd = -1;
    if (t->method != TRACK_CGROUP || t->shared || pipe2(p, O_CLOEXEC) < 0)
        return; /* shared: the run's guard kills the run's cgroup */
    pid_t pid = fork();
    if (pid == 0) { /* a grandchild in a session of its own: not ours to reap */
        if (fork() != 0)
            _exit(0);
        setsid();
        close(p[1]);
        watch_loop(t, p[0]);
    }
    close(p[0]);
    if (pid > 0) {
        waitpid(pid, NULL, 0);
        t->watch_fd = p[1];
    } else {
        close(p[1]);
    }
}

void exec_track_cleanup(struct exec_track *t, const struct model *m)
{
    if (t->method == TRACK_CGROUP) {
        cgroup_cleanup(t);
        if (t->watch_fd >= 0)
            close(t->watch_fd); /* the watcher finds nothing left and exits */
        t->watch_fd = -1;
        return;
    }
    int n = scan_run(t, m, SIGKILL);
    if (n > t->killed)
        t->killed = n;
    uint64_t until = mono_ms() + GONE_WAIT_MS;
    while (n > 0 && mono_ms() < until) {
        sleep_ms(2);
        n = scan_run(t, m, SIGKILL);
    }
    t->left = n;
}

json_t *exec_track_json(const struct exec_track *t)
{
    json_t *j = json_pack("{s:s, s:i, s:i}", "method",
                          t->method == TRACK_CGROUP ? "cgroup" : "process group", "killed",
                          t->killed, "left", t->left);
    if (t->method == TRACK_CGROUP)
        json_object_set_new(j, "cgroup", json_string(t->cgroup));
    else
        json_object_set_new(j, "why", json_string(t->why));
    return j;
}
