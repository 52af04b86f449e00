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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define MS 1000000ull

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ppid and state of pid; 0, or -1 when it is gone. */
static int stat_of(pid_t pid, pid_t *ppid, char *state)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    int pp = 0;
    if (!rp || sscanf(rp + 2, "%c %d", state, &pp) != 2)
        return -1;
    *ppid = pp;
    return 0;
}

/* Children of parent, into out (up to max). */
static int children_of(pid_t parent, pid_t *out, int max)
{
    DIR *d = opendir("/proc");
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        pid_t pid = atoi(de->d_name), pp;
        char st;
        if (pid > 0 && stat_of(pid, &pp, &st) == 0 && pp == parent && n < max)
            out[n++] = pid;
    }
    closedir(d);
    return n;
}

/* Names in dir containing "ipcscope", as one newline-separated string. */
static char *ipc_entries(const char *dir)
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

/* Every name in after that is not in before. */
static int new_entries(const char *before, const char *after)
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

static void reap_orphans(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

static void kill_and_check(int sig)
{
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    char *shm_before = ipc_entries("/dev/shm"), *mq_before = ipc_entries("/dev/mqueue");
    char out_path[] = "/tmp/ipcscope-cleanup-outXXXXXX";
    int ofd = mkstemp(out_path);
    cr_assert_geq(ofd, 0);

    pid_t pid = fork();
    if (pid < 0) /* no assertion before the branch: the child must not report to Criterion */
        cr_assert_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(ofd, 1);
        dup2(nul, 2);
        execl(IPCSCOPE_BIN, IPCSCOPE_BIN, "run", "prodcons", "--headless", "--json", "--param",
              "items=1000000", (char *)NULL);
        _exit(127);
    }
    close(ofd);

    /* the four default workers, as children of ipcscope */
    pid_t workers[MAX_WORKERS];
    int nw = 0;
    uint64_t end = now_ns() + 20000 * MS;
    while ((nw = children_of(pid, workers, MAX_WORKERS)) < 4) {
        int status;
        cr_assert_eq(waitpid(pid, &status, WNOHANG), 0, "ipcscope ended before its workers ran");
        cr_assert_lt(now_ns(), end, "ipcscope started %d of 4 workers in 20 s", nw);
        sleep_ms(5);
    }
    sleep_ms(100); /* let them get busy */

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
    end = now_ns() + 2000 * MS;
    for (;;) {
        reap_orphans();
        int alive = 0;
        for (int i = 0; i < nw; i++) {
            pid_t pp;
            char st;
            if (stat_of(workers[i], &pp, &st) == 0) {
                alive++;
                if (now_ns() >= end)
                    cr_log_error("worker %d still there: state %c, parent %d", (int)workers[i], st,
                                 (int)pp);
            }
        }
        if (!alive)
            break;
        cr_assert_lt(now_ns(), end, "%d of %d workers outlived ipcscope by 2 s (signal %d)", alive,
                     nw, sig);
        sleep_ms(10);
    }

    char *shm_after = ipc_entries("/dev/shm"), *mq_after = ipc_entries("/dev/mqueue");
    cr_expect_eq(new_entries(shm_before, shm_after), 0, "/dev/shm gained ipcscope entries");
    cr_expect_eq(new_entries(mq_before, mq_after), 0, "/dev/mqueue gained ipcscope entries");
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
    pid_t pid = fork();
    if (pid < 0) /* no assertion before the branch: the child must not report to Criterion */
        cr_assert_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        execl(IPCSCOPE_BIN, IPCSCOPE_BIN, "run", "prodcons", "--headless", "--json", "--param",
              "items=1000000", "--param", "producers=16", "--param", "consumers=16", (char *)NULL);
        _exit(127);
    }
    pid_t first[MAX_WORKERS];
    uint64_t end = now_ns() + 20000 * MS;
    while (children_of(pid, first, MAX_WORKERS) < 1) {
        cr_assert_lt(now_ns(), end, "no worker appeared in 20 s");
        sleep_ms(1);
    }
    cr_assert_eq(kill(pid, SIGKILL), 0);
    cr_assert_eq(waitpid(pid, NULL, 0), pid);

    /* whatever it had forked must be gone: nothing may stay a child of ours */
    end = now_ns() + 2000 * MS;
    pid_t left[MAX_WORKERS];
    int n;
    while (reap_orphans(), (n = children_of(getpid(), left, MAX_WORKERS)) > 0) {
        cr_assert_lt(now_ns(), end, "%d workers outlived ipcscope by 2 s (first: %d)", n,
                     (int)left[0]);
        sleep_ms(10);
    }
}
