/*
 * run_stop.c - ending a run: the guard that outlives a dying conductor, killing and reaping
 * every worker, the lesson's checks, and counting what leaked.
 */
#define _GNU_SOURCE
#include "run.h"
#include "run_int.h"

#include "lesson_run.h"

#include "sources/procfs.h"
#include "trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

volatile sig_atomic_t run_worker_pgid;

/* ---- the guard ----
 * PR_SET_PDEATHSIG kills the conductor's direct children when it dies, but not what they
 * started (the children of a program under `ipcscope exec`, say). The guard is a tiny child
 * in a session of its own, holding the read end of a pipe whose only writer is the
 * conductor: when the conductor dies, however it dies, the pipe reads end-of-file and the
 * guard kills the whole worker process group. A clean stop tells it there is nothing to do
 * and reaps it like any child. */
static void guard_loop(struct instr_shared *sh, int rfd)
{
    prctl(PR_SET_NAME, "ipcscope-guard");
    if (dup2(rfd, 3) == 3)
        rfd = 3;
    syscall(SYS_close_range, 4, ~0u, 0);
    char c;
    while (read(rfd, &c, 1) < 0 && errno == EINTR)
        ;
    pid_t pgid = atomic_load(&sh->worker_pgid);
    if (!atomic_load(&sh->guard_off) && pgid > 0)
        kill(-pgid, SIGKILL);
    _exit(0);
}

void run_guard_start(struct run *r)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return; /* no guard: the death signals still cover the direct workers */
    pid_t pid = fork();
    if (pid == 0) {
        setsid(); /* away from the terminal's Ctrl-C */
        close(p[1]);
        guard_loop(r->sh, p[0]);
    }
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return;
    }
    r->guard_pid = pid;
    r->sh->guard_fd = p[1];
}

void run_guard_stop(struct run *r)
{
    if (r->sh->guard_fd < 0)
        return;
    atomic_store(&r->sh->guard_off, 1);
    close(r->sh->guard_fd);
    r->sh->guard_fd = -1;
}

/* 1 when the conductor has no child left but the guard (from /proc: the guard is alive for
 * the whole run, so waitpid alone would never say "no child"). */
int run_only_guard_left(const struct run *r)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)gettid());
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
        if (atoi(tok) != r->guard_pid)
            return 0;
    return 1;
}

/* ---- stopping ---- */

static void kill_workers(struct run *r)
{
    atomic_store(&r->sh->stop, 1);
    pid_t pgid = atomic_load(&r->sh->worker_pgid);
    if (pgid > 0)
        kill(-pgid, SIGKILL);
    uint32_t ntasks = atomic_load(&r->sh->ntasks);
    for (uint32_t s = 1; s < ntasks && s < r->sh->max_tasks; s++) {
        struct instr_task *t = &r->sh->tasks[s];
        if (t->kind == TK_PROCESS && t->pid > 0 && t->pid != getpid())
            kill(t->pid, SIGKILL);
    }
    run_release_all(r);
}

/* Living processes that belong to this run: in the worker group or children of ours. */
static int count_leaked_processes(const struct run *r)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t me = getpid(), pgid = atomic_load(&r->sh->worker_pgid);
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        pid_t pid = atoi(de->d_name);
        struct procfs_stat st;
        if (pid <= 0 || pid == me || procfs_read_stat(pid, 0, &st) < 0)
            continue;
        if ((pgid > 0 && st.pgid == pgid) || st.ppid == me)
            count++;
    }
    closedir(d);
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

static int count_leaked_ipc(void)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "ipcscope-%d-", (int)getpid());
    return count_in_dir("/dev/shm", prefix) + count_in_dir("/dev/mqueue", prefix);
}

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
    return s;
}

json_t *run_leaks_json(const struct run *r)
{
    return json_pack("{s:i, s:i}", "processes", r->leaked_procs, "ipc_objects", r->leaked_ipc);
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
    if (r->started) {
        run_drain(r);
        kill_workers(r);
        run_guard_stop(r); /* it exits, and is reaped below with the workers */
        run_reap(r, 1);
        run_drain(r);
    }
    run_guard_stop(r);
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
    run_worker_pgid = 0;
    if (r->trace) {
        json_t *trl = json_pack(
            "{s:I, s:I, s:o, s:o, s:{s:b, s:s}}", "duration_ms", (json_int_t)run_elapsed_ms(r),
            "dropped", (json_int_t)r->model.dropped, "sources", run_sources_json(r), "leaks",
            run_leaks_json(r), "check", "ok", r->check_rc == 0, "why", r->check_why);
        trace_finish(r->trace, trl);
        r->trace = NULL;
    }
}

void run_emergency_kill(void)
{
    pid_t pgid = run_worker_pgid;
    if (pgid > 0)
        kill(-pgid, SIGKILL);
}
