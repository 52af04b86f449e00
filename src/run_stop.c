/*
 * run_stop.c - ending a run: the guard and the run's cgroup, finding and killing every
 * process of the run with a deadline, the lesson's checks, and counting what leaked.
 *
 * Every worker is put in the workers' process group (the guard leads it) and the run's
 * cgroup by the conductor before fork returns to the scenario, and by itself first thing,
 * so nothing the run starts escapes both. A stop kills the cgroup (and the cgroups below it,
 * such as exec's program's) until it is empty; without one (or when a worker could not be
 * put in it), every process of the group and every descendant of the conductor /proc shows,
 * again and again until none is left. For STOP_DEADLINE_NS at the most: what still lives
 * then is counted as leaked and left to the guard. Nothing here trusts the shared region:
 * pids, the group and the sizes are the conductor's own.
 */
#define _GNU_SOURCE
#include "run.h"
#include "run_int.h"

#include "instr_ipc.h"
#include "lesson_run.h"
#include "privs.h"
#include "sources/procfs.h"
#include "trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MQUEUE_MAGIC 0x19800202

volatile sig_atomic_t run_worker_pgid, run_cg_kill_fd = -1;

/* ---- the guard and the cgroup ---- */

static int count_children(void);

int run_guard_start(struct run *r, char *err, size_t n)
{
    count_children(); /* opens the children file while a descriptor is free */
    if (!privs_getenv("IPCSCOPE_NO_CGROUP"))
        cg_plan(&r->cg); /* where permitted; else the group and /proc suffice */
    struct guard_job job = {.lead_group = 1, .tty_fd = -1};
    snprintf(job.cg_path, sizeof(job.cg_path), "%s", r->cg.path);
    snprintf(job.mq_prefix, sizeof(job.mq_prefix), IPC_MQ_PREFIX, (int)getpid());
    int rc = guard_start(&r->guard, &job, 0);
    if (rc < 0) {
        char why[200];
        snprintf(err, n, "cannot start the guard process: %s",
                 ipc_errno_why(-rc, why, sizeof(why)));
        r->cg = (struct cg)CG_NONE; /* only planned: nothing to remove */
        return -1;
    }
    cg_make(&r->cg); /* after the guard: it removes the cgroup if we die from here on */
    r->pgid = r->guard.pid;
    run_worker_pgid = r->pgid;
    run_cg_kill_fd = r->cg.kill_fd;
    return 0;
}

void run_adopt_worker(struct run *r, pid_t pid)
{
    if (r->pgid > 0)
        setpgid(pid, r->pgid); /* EACCES once it has exec'd: it joined by itself then */
    if (r->cg.path[0] && cg_add(&r->cg, pid) < 0 && errno != ESRCH)
        r->cg_missed = 1;
}

/* In the worker, before anything else: the run's group and cgroup, then the user's
 * credentials (sudo) or no capabilities (setcap). The guard's socket is the conductor's
 * alone. */
void run_worker_joins(struct run *r)
{
    if (getuid() != 0 && privs_drop_caps() < 0)
        _exit(126);         /* setcap: at once, not after the cgroup's (slow) move; it needs none */
    guard_close_in_child(); /* even if the conductor is gone already (only its children have them)
                             */
    if (r->pgid > 0)
        setpgid(0, r->pgid);
    cg_add(&r->cg, 0);
    cg_close_fds(&r->cg);
    if (r->as_user && getuid() == 0 &&
        (setgroups(0, NULL) < 0 || setresgid(r->user_gid, r->user_gid, r->user_gid) < 0 ||
         setresuid(r->user_uid, r->user_uid, r->user_uid) < 0))
        _exit(126);
    if (privs_drop_caps() < 0)
        _exit(126);
}

/* The children file of the conductor's thread: how many children it has (-1: unreadable).
 * It works in a PID namespace whose /proc is not its own, as the count needs no pid. The
 * file stays open (a read from offset 0 lists them anew), so the count does not depend on a
 * free descriptor. */
static int count_children(void)
{
    static int fd = -1;
    static pid_t opened_by;
    char buf[8192];
    if (fd >= 0 && opened_by != getpid()) /* inherited across a fork: not ours */
        fd = -1;
    if (fd < 0) {
        fd = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
        opened_by = getpid();
    }
    if (fd < 0)
        return -1;
    ssize_t got = pread(fd, buf, sizeof(buf) - 1, 0);
    if (got < 0)
        return -1;
    if ((size_t)got == sizeof(buf) - 1)
        return 1000; /* many */
    buf[got] = '\0';
    int count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
        count++;
    return count;
}

int run_only_guard_left(const struct run *r)
{
    int n = count_children();
    return n >= 0 && n <= (r->guard.pid > 0 ? 1 : 0);
}

/* ---- finding the run's processes in /proc ---- */

struct proc_ent {
    pid_t pid, ppid, pgid;
    char state;
};

static int cmp_pid(const void *a, const void *b)
{
    const struct proc_ent *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Every process /proc shows, sorted by pid, into *out (the caller frees). -1 when /proc
 * cannot be read. */
static ssize_t scan_proc(struct proc_ent **out)
{
    DIR *d = opendir("/proc");
    if (!d)
        return -1;
    struct proc_ent *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        pid_t pid = atoi(de->d_name);
        struct procfs_stat st;
        if (pid <= 0 || procfs_read_stat(pid, 0, &st) < 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 512;
            struct proc_ent *p = realloc(v, ncap * sizeof(*p));
            if (!p)
                break;
            v = p;
            cap = ncap;
        }
        v[n++] = (struct proc_ent){pid, st.ppid, st.pgid, st.state};
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof(*v), cmp_pid);
    *out = v;
    return (ssize_t)n;
}

static const struct proc_ent *find_pid(const struct proc_ent *v, size_t n, pid_t pid)
{
    struct proc_ent key = {.pid = pid};
    return bsearch(&key, v, n, sizeof(*v), cmp_pid);
}

/* 1 when e is a process of the run: in the workers' group, or a descendant of ours. */
static int of_run(const struct run *r, const struct proc_ent *v, size_t n, const struct proc_ent *e)
{
    pid_t me = getpid();
    if (e->pid == me || e->pid == r->guard.pid)
        return 0;
    if (r->pgid > 0 && e->pgid == r->pgid)
        return 1;
    pid_t p = e->ppid;
    for (size_t depth = 0; depth <= n && p > 1; depth++) {
        if (p == me)
            return 1;
        const struct proc_ent *up = find_pid(v, n, p);
        p = up ? up->ppid : 0;
    }
    return 0;
}

/* SIGKILL pid if it is still the process that was seen (its pid not reused meanwhile): a
 * pidfd pins the process, /proc confirms it is still in the group or under the same
 * parent. */
static void kill_seen(const struct proc_ent *e)
{
    int fd = (int)syscall(SYS_pidfd_open, e->pid, 0);
    if (fd < 0) {
        if (errno != ESRCH)
            kill(e->pid, SIGKILL); /* no pidfds (old kernel, no descriptor left) */
        return;
    }
    struct procfs_stat st;
    if (procfs_read_stat(e->pid, 0, &st) == 0 && (st.pgid == e->pgid || st.ppid == e->ppid))
        syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
    close(fd);
}

/* The cgroup alone finds every process of the run: it holds them all (each worker was put
 * in it before fork returned, and what they start is born inside), and says when they are
 * gone without a walk of /proc. */
static int cg_sure(const struct run *r)
{
    return r->cg.path[0] && r->cg.kill_fd >= 0 && r->cg.events_fd >= 0 && !r->cg_missed;
}

/* Kill every process of the run once. Returns how many were alive (zombies aside), or -1
 * when /proc could not say (then the whole group, guard included, got SIGKILL). */
static int kill_round(struct run *r)
{
    if (r->cg.path[0])
        cg_kill(&r->cg);
    if (cg_sure(r)) {
        int populated = cg_populated(&r->cg);
        if (populated >= 0)
            return populated;
    }
    struct proc_ent *v = NULL;
    ssize_t n = r->proc_ours ? scan_proc(&v) : -1;
    if (n < 0) {
        if (r->pgid > 0 && kill(-r->pgid, SIGKILL) == 0)
            r->pgid = 0; /* the group is gone with the guard: never signal it again */
        free(v);
        return -1;
    }
    int alive = 0;
    for (ssize_t i = 0; i < n; i++) {
        if (v[i].state == 'Z' || v[i].state == 'X' || !of_run(r, v, (size_t)n, &v[i]))
            continue;
        kill_seen(&v[i]);
        alive++;
    }
    free(v);
    return alive;
}

static void nap_us(long us)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000L};
    nanosleep(&ts, NULL);
}

/* Kill and reap every process of the run, within STOP_DEADLINE_NS. 1 when none is left. */
static int stop_workers(struct run *r)
{
    atomic_store(&r->sh->stop, 1);
    uint64_t deadline = loop_now_ns() + STOP_DEADLINE_NS;
    long nap = 200;
    for (int round = 0;; round++) {
        int alive = kill_round(r);
        if (round == 0) /* after the kill: a released process must not act first; threads of
                           ours, which no kill reaches, leave the gate and see stop */
            run_release_all(r);
        int gone = run_reap(r);
        int in_cg = r->cg.path[0] ? cg_populated(&r->cg) : 0;
        if (gone && alive <= 0 && in_cg != 1)
            return 1;
        if (loop_now_ns() > deadline)
            return 0;
        nap_us(nap);
        nap = nap < 10000 ? nap * 2 : 10000;
    }
}

/* Stand the guard down (everything is gone) and reap it, or hand the job over to it. */
static void finish_guard(struct run *r, int clean)
{
    run_worker_pgid = 0;
    run_cg_kill_fd = -1;
    if (!clean) {
        guard_hand_over(&r->guard); /* it kills the group and the cgroup, and removes it */
        cg_close_fds(&r->cg);
        r->cg.path[0] = '\0';
        return;
    }
    /* the empty cgroup goes first: released, the guard no longer removes it, and a SIGKILL
     * while we waited for the guard to exit left it behind (faults, soak: 2 runs in 3) */
    cg_destroy(&r->cg);
    guard_release(&r->guard);
    int pfd = r->guard.pid > 0 ? (int)syscall(SYS_pidfd_open, r->guard.pid, 0) : -1;
    if (pfd >= 0) { /* readable when it has exited: no nap to oversleep */
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        while (poll(&p, 1, 1000) < 0 && errno == EINTR)
            ;
        close(pfd);
    }
    for (int waited = 0; r->guard.pid > 0 && waited < 1000; waited++) {
        pid_t got = waitpid(r->guard.pid, NULL, WNOHANG);
        if (got == r->guard.pid || (got < 0 && errno == ECHILD))
            r->guard.pid = 0;
        else
            nap_us(1000);
    }
}

/* ---- leaks ---- */

/* Living processes of the run (with /proc); else children of ours but the guard. */
static int count_leaked_processes(struct run *r)
{
    if (cg_sure(r) && cg_populated(&r->cg) == 0)
        return 0;
    struct proc_ent *v = NULL;
    ssize_t n = r->proc_ours ? scan_proc(&v) : -1;
    int count = 0;
    if (n < 0) {
        int kids = count_children();
        count = kids > 0 ? kids - (r->guard.pid > 0) : 0;
    }
    for (ssize_t i = 0; i < n; i++)
        if (v[i].state != 'Z' && v[i].state != 'X' && of_run(r, v, (size_t)n, &v[i]))
            count++;
    free(v);
    if (!count && r->cg.path[0] && cg_populated(&r->cg) == 1)
        count = cg_count(&r->cg) > 0 ? cg_count(&r->cg) : 1;
    return count;
}

static int count_in_dir(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            count++;
    closedir(d);
    return count;
}

static int mqueue_mounted(void)
{
    struct statfs fs;
    return statfs("/dev/mqueue", &fs) == 0 && fs.f_type == MQUEUE_MAGIC;
}

static int count_leaked_ipc(void)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "ipcscope-%d-", (int)getpid());
    int mq = mqueue_mounted() ? count_in_dir("/dev/mqueue", prefix) : ipc_mq_left();
    return count_in_dir("/dev/shm", prefix) + mq;
}

void run_mount_mqueue(void)
{
    if (geteuid() != 0 || mqueue_mounted())
        return;
    mkdir("/dev/mqueue", 01777);
    mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* ---- stopping ---- */

static void finish_checks(struct run *r)
{
    r->check_rc = 0;
    r->check_why[0] = '\0';
    if (r->finished != 1) {
        snprintf(r->check_why, sizeof(r->check_why), "not checked: the run was cut short");
        return;
    }
    if (r->sc->check)
        r->check_rc = r->sc->check(&r->ctx, &r->model, r->check_why, sizeof(r->check_why));
}

json_t *run_sources_json(const struct run *r)
{
    json_t *s =
        json_pack("{s:b, s:b, s:b}", "instr", 1, "procfs", r->procfs_on, "bpf", r->bpf != NULL);
    if (!r->bpf)
        json_object_set_new(s, "bpf_reason", json_string(r->bpf_reason));
    if (!r->procfs_on && r->procfs_reason[0])
        json_object_set_new(s, "procfs_reason", json_string(r->procfs_reason));
    return s;
}

json_t *run_leaks_json(const struct run *r)
{
    return json_pack("{s:i, s:i}", "processes", r->leaked_procs, "ipc_objects", r->leaked_ipc);
}

void run_trace_stopped(struct run *r, const char *why, int rc)
{
    if (r->trace_rc == rc || r->trace_rc < 0)
        return; /* told already */
    r->trace_rc = rc;
    snprintf(r->status, sizeof(r->status), "%.*s", (int)sizeof(r->status) - 1, why);
    if (r->opts.headless)
        fprintf(stderr, "ipcscope: %s\n", why);
}

json_t *run_clock_json(struct run *r)
{
    struct instr_clock_info ck;
    instr_clock_info(r->sh, &ck); /* the drift check, at the end of the run */
    return json_pack("{s:s, s:s, s:b, s:I}", "kernel", ck.kernel, "stamps", ck.stamps, "tsc",
                     ck.tsc, "drift_ns", (json_int_t)ck.drift_ns);
}

/* The end line: what a replay needs to give the final snapshot, and how the run was stamped. */
static void write_trailer(struct run *r)
{
    if (!r->trace)
        return;
    json_t *trl = json_pack("{s:I, s:I, s:o, s:o, s:{s:b, s:s}}", "duration_ms",
                            (json_int_t)run_elapsed_ms(r), "dropped", (json_int_t)r->model.dropped,
                            "sources", run_sources_json(r), "leaks", run_leaks_json(r), "check",
                            "ok", r->check_rc == 0, "why", r->check_why);
    json_object_set_new(trl, "clock", run_clock_json(r));
    char why[400];
    int rc = trace_finish(r->trace, trl, why, sizeof(why));
    r->trace = NULL;
    if (rc)
        run_trace_stopped(r, why, rc);
}

void run_stop(struct run *r)
{
    if (r && r->replay && !r->stopped) {
        if (!r->finished)
            r->finished = 2;
        r->stopped = 1;
        r->t_end_ns = r->replay_now;
        return;
    }
    if (!r || r->stopped || !r->sh)
        return;
    if (!r->finished)
        r->finished = 2;
    int clean = 1;
    if (r->started) {
        run_drain(r);
        clean = stop_workers(r);
        run_drain(r);
    }
    r->stopped = 1;
    r->t_end_ns = loop_now_ns();
    run_self_mark(r, 1);
    model_settle_times(&r->model, r->t_end_ns);
    finish_checks(r);
    if (r->lesson && lesson_run_end(r))
        run_drain(r); /* the reveals of questions about the run's result, into the trace */
    if (r->sc->teardown)
        r->sc->teardown(&r->ctx);
    r->leaked_procs = count_leaked_processes(r);
    r->leaked_ipc = count_leaked_ipc();
    finish_guard(r, clean && !r->leaked_procs);
    write_trailer(r);
}

void run_emergency_kill(void)
{
    int fd = run_cg_kill_fd;
    if (fd >= 0 && write(fd, "1", 1) < 0) {
        /* no cgroup.kill: the group below still goes */
    }
    pid_t pgid = run_worker_pgid;
    if (pgid > 0)
        kill(-pgid, SIGKILL);
}
