/*
 * test_cleanup.c - no worker and no IPC object outlives ipcscope, however it ends.
 *
 * Each test starts the real binary headless on a long prodcons run, waits until its worker
 * processes exist (found in /proc as children of it), then kills it with a signal. The test
 * process is a child subreaper, so orphaned workers come back to it and are reaped here; every
 * recorded worker pid must be gone from /proc within 2 s, and /dev/shm and /dev/mqueue must
 * hold no new "ipcscope" entry. Catchable signals must still give exit 128+sig and the JSON.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "guard.h"
#include "instr_ipc.h"
#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define MS 1000000ull

/* Start argv in the background: stdin and stderr /dev/null, stdout to out_fd (-1: /dev/null). */
static pid_t spawn(char *const argv[], int out_fd)
{
    pid_t pid = fork();
    if (pid < 0) /* no assertion before the branch: the child must not report to Criterion */
        cr_assert_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(out_fd >= 0 ? out_fd : nul, 1);
        dup2(nul, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void kill_and_check(int sig)
{
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char *shm_before = ts_ipc_entries("/dev/shm"), *mq_before = ts_ipc_entries("/dev/mqueue");
    char out_path[] = "/tmp/ipcscope-cleanup-outXXXXXX";
    int ofd = mkstemp(out_path);
    cr_assert_geq(ofd, 0);

    char *const argv[] = {IPCSCOPE_BIN, "run",     "prodcons",      "--headless",
                          "--json",     "--param", "items=1000000", NULL};
    pid_t pid = spawn(argv, ofd);
    close(ofd);

    /* the four default workers, as children of ipcscope */
    pid_t workers[MAX_WORKERS];
    int nw = 0;
    uint64_t end = ts_now_ns() + 20000 * MS;
    while ((nw = ts_children(pid, workers, MAX_WORKERS)) < 4) {
        int status;
        cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "ipcscope ended before its workers ran");
        cr_assert_lt(ts_now_ns(), end, "ipcscope started %d of 4 workers in 20 s", nw);
        ts_sleep_ms(5);
    }
    ts_sleep_ms(100); /* let them get busy */

    cr_assert_eq(kill(pid, sig), 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    if (sig == SIGKILL) {
        cr_expect(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    } else {
        cr_assert(WIFEXITED(status), "ipcscope died of signal %d instead of exiting",
                  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        cr_expect_eq(WEXITSTATUS(status), 128 + sig, "exit %d after signal %d", WEXITSTATUS(status),
                     sig);
        char *out = NULL;
        FILE *f = fopen(out_path, "r");
        cr_assert_not_null(f);
        json_error_t jerr;
        json_t *snap = json_loadf(f, 0, &jerr);
        fclose(f);
        cr_assert_not_null(snap, "no JSON after signal %d: %s", sig, jerr.text);
        cr_expect(json_is_false(json_object_get(snap, "completed")), "a cut run is not complete");
        json_t *leaks = json_object_get(snap, "leaks");
        cr_expect_eq(json_integer_value(json_object_get(leaks, "processes")), 0);
        cr_expect_eq(json_integer_value(json_object_get(leaks, "ipc_objects")), 0);
        json_decref(snap);
        free(out);
    }

    /* every worker gone within 2 s (orphans are reaped here, being their subreaper) */
    end = ts_now_ns() + 2000 * MS;
    for (;;) {
        ts_reap();
        int alive = 0;
        for (int i = 0; i < nw; i++) {
            struct ts_stat st;
            if (ts_stat(workers[i], &st) == 0) {
                alive++;
                if (ts_now_ns() >= end)
                    cr_log_error("worker %d still there: state %c, parent %d", (int)workers[i],
                                 st.state, (int)st.ppid);
            }
        }
        if (!alive)
            break;
        cr_assert_lt(ts_now_ns(), end, "%d of %d workers outlived ipcscope by 2 s (signal %d)",
                     alive, nw, sig);
        ts_sleep_ms(10);
    }

    char *shm_after = ts_ipc_entries("/dev/shm"), *mq_after = ts_ipc_entries("/dev/mqueue");
    cr_expect_eq(ts_new_ipc_entries(shm_before, shm_after), 0, "/dev/shm gained ipcscope entries");
    cr_expect_eq(ts_new_ipc_entries(mq_before, mq_after), 0, "/dev/mqueue gained ipcscope entries");
    free(shm_before);
    free(shm_after);
    free(mq_before);
    free(mq_after);
    unlink(out_path);
}

Test(cleanup, sigkill_leaves_no_workers_and_no_ipc_objects, .timeout = 60)
{
    kill_and_check(SIGKILL);
}

Test(cleanup, sigint_exits_130_with_json_and_no_workers, .timeout = 60)
{
    kill_and_check(SIGINT);
}

Test(cleanup, sigterm_exits_143_with_json_and_no_workers, .timeout = 60)
{
    kill_and_check(SIGTERM);
}

Test(cleanup, sighup_exits_129_with_json_and_no_workers, .timeout = 60)
{
    kill_and_check(SIGHUP);
}

Test(cleanup, sigkill_right_after_start_leaves_no_workers, .timeout = 60)
{
    /* kill as soon as the first worker exists: the others may still be forking */
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char *const argv[] = {IPCSCOPE_BIN,   "run",     "prodcons",      "--headless",
                          "--json",       "--param", "items=1000000", "--param",
                          "producers=16", "--param", "consumers=16",  NULL};
    pid_t pid = spawn(argv, -1);
    pid_t first[MAX_WORKERS];
    uint64_t end = ts_now_ns() + 20000 * MS;
    while (ts_children(pid, first, MAX_WORKERS) < 1) {
        cr_assert_lt(ts_now_ns(), end, "no worker appeared in 20 s");
        ts_sleep_ms(1);
    }
    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);

    /* whatever it had forked must be gone: nothing may stay a child of ours */
    end = ts_now_ns() + 2000 * MS;
    pid_t left[MAX_WORKERS];
    int n;
    while (ts_reap(), (n = ts_children(getpid(), left, MAX_WORKERS)) > 0) {
        cr_assert_lt(ts_now_ns(), end, "%d workers outlived ipcscope by 2 s (first: %d)", n,
                     (int)left[0]);
        ts_sleep_ms(10);
    }
}

/* The processes a program under `ipcscope exec` starts are not ipcscope's children, so no
 * death signal covers them: the guard must kill them when ipcscope is killed. */
/* ipcscope exec killed with SIGKILL: the program's children go with it, even one in a session
 * of its own (setsid: out of the program's group). With a cgroup, the program's is below the
 * run's and the run's guard kills both; without (IPCSCOPE_NO_CGROUP), the group and a watcher
 * do. */
static void sigkill_during_exec(const char *env)
{
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    if (env)
        putenv((char *)env);
    char *const argv[] = {IPCSCOPE_BIN,
                          "exec",
                          "--headless",
                          "--",
                          "/bin/sh",
                          "-c",
                          "setsid sleep 300 & sleep 301 & wait",
                          NULL};
    pid_t pid = spawn(argv, -1);

    /* ipcscope -> sh (the program) -> two sleeps */
    pid_t prog = 0, kids[16];
    int n = 0;
    for (int waited = 0; waited < 10000 && n < 2; waited += 50) {
        ts_sleep_ms(50);
        pid_t c[16];
        int nc = ts_children(pid, c, 16);
        for (int i = 0; i < nc; i++) {
            struct ts_stat st;
            if (ts_stat(c[i], &st) == 0 && strcmp(st.comm, "sh") == 0)
                prog = c[i];
        }
        n = prog ? ts_children(prog, kids, 16) : 0;
    }
    cr_assert_eq(n, 2, "the program's two children never appeared (%s)", env ? env : "cgroup");

    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    int alive = 2;
    for (int waited = 0; waited < 2000 && alive; waited += 50) {
        ts_sleep_ms(50);
        while (waitpid(-1, NULL, WNOHANG) > 0) /* orphans come to us: reap them */
            ;
        alive = 0;
        for (int i = 0; i < n; i++)
            alive += ts_pid_alive(kids[i]);
    }
    cr_assert_eq(alive, 0, "%d of the program's children outlived ipcscope (%s)", alive,
                 env ? env : "cgroup");
}

Test(cleanup, sigkill_during_exec_kills_the_programs_own_children, .timeout = 60)
{
    sigkill_during_exec(NULL);
}

Test(cleanup, sigkill_during_exec_without_a_cgroup_kills_them_too, .timeout = 60)
{
    sigkill_during_exec("IPCSCOPE_NO_CGROUP=1");
}

/* A scenario's queue is named from its creation until every worker holds it open (then
 * unlinked); a conductor killed in between leaves the name unless its guard removes it. The
 * window is a few ms of setup, so the test makes it last: a queue named as that conductor's
 * would be, made before the conductor starts (the child stops before exec, so its pid is
 * known), must be gone once ipcscope is killed. */
Test(cleanup, sigkill_removes_the_conductors_named_queues, .timeout = 60)
{
    if (access("/dev/mqueue", W_OK) != 0)
        cr_skip_test("/dev/mqueue is not mounted writable: the guard cannot list queues");
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        raise(SIGSTOP);
        char *const argv[] = {IPCSCOPE_BIN, "run",           "prodcons", "--headless",
                              "--param",    "items=1000000", NULL};
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    cr_assert_eq(waitpid(pid, &st, WUNTRACED), pid);
    char name[96], path[128];
    snprintf(name, sizeof(name), "/" IPC_MQ_PREFIX "queue-test", (int)pid);
    snprintf(path, sizeof(path), "/dev/mqueue%s", name);
    struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 8};
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    cr_assert_neq(q, (mqd_t)-1, "mq_open %s: %s", name, strerror(errno));
    mq_close(q);
    kill(pid, SIGCONT);

    pid_t kids[MAX_WORKERS];
    uint64_t end = ts_now_ns() + 20000 * MS;
    while (ts_children(pid, kids, MAX_WORKERS) < 4) {
        cr_assert_lt(ts_now_ns(), end, "the workers never appeared");
        ts_sleep_ms(5);
    }
    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);
    int gone = 0;
    for (int waited = 0; waited < 1000 && !gone; waited += 20) { /* the guard acts at once */
        gone = access(path, F_OK) != 0;
        ts_sleep_ms(20);
    }
    if (!gone)
        mq_unlink(name);
    cr_expect(gone, "%s outlived the conductor", path);
    while (ts_reap(), ts_children(getpid(), kids, MAX_WORKERS) > 0 && ts_now_ns() < end)
        ts_sleep_ms(10);
}

/* Wait up to ms for our child pid to end (reaped here). 1 when it did. */
static int reaped_within(pid_t pid, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return 1;
        ts_sleep_ms(20);
    }
    return 0;
}

/* A child that inherited the guard's socket from the conductor and never closed it (stuck
 * before its first instructions, say) must not keep the guard waiting once the conductor is
 * gone: the guard watches the conductor itself, and kills its group, that child with it. */
Test(cleanup, the_guard_acts_though_a_child_holds_its_socket, .timeout = 30)
{
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t c = fork();
    cr_assert_geq(c, 0);
    if (c == 0) { /* the conductor: a guard leading a group, a child in it keeping the socket */
        close(p[0]);
        struct guard g = GUARD_NONE;
        struct guard_job job = {.lead_group = 1, .tty_fd = -1};
        if (guard_start(&g, &job, 0) < 0)
            _exit(1);
        pid_t d = fork();
        if (d == 0) {
            setpgid(0, g.pid);
            for (;;)
                pause();
        }
        setpgid(d, g.pid);
        pid_t pids[2] = {g.pid, d};
        if (d < 0 || write(p[1], pids, sizeof(pids)) != (ssize_t)sizeof(pids))
            _exit(1);
        for (;;)
            pause();
    }
    close(p[1]);
    pid_t pids[2] = {0, 0};
    cr_assert_eq(read(p[0], pids, sizeof(pids)), (ssize_t)sizeof(pids), "no guard started");
    close(p[0]);
    cr_assert_eq(kill(c, SIGKILL), 0);
    cr_assert_eq(waitpid(c, NULL, 0), c);
    int gone = reaped_within(pids[1], 5000); /* it acts at once; 5 s is the guard's own bound */
    if (!gone)
        kill(pids[1], SIGKILL);
    kill(pids[0], SIGKILL);
    reaped_within(pids[1], 2000);
    reaped_within(pids[0], 2000);
    cr_expect(gone, "a child holding the guard's socket outlived its conductor by 5 s");
}
