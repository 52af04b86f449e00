/*
 * test_privileges.c - started through sudo, ipcscope keeps root for its probes but runs the
 * workers as the user who invoked it (SUDO_UID/SUDO_GID).
 *
 * Checked from /proc while the run is going: the conductor's real uid and every worker's.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The real uid of pid (its /proc status "Uid:" line), or -1 when it is gone. */
static long uid_of(pid_t pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (ts_read_file(path, buf, sizeof(buf)) < 0)
        return -1;
    const char *line = strstr(buf, "\nUid:");
    return line ? strtol(line + 5, NULL, 10) : -1;
}

/* The workers: children of pid, without the conductor's own guard (it must stay root to be
 * able to kill them). */
static int workers_of(pid_t pid, pid_t *out, int n)
{
    pid_t kids[64];
    int count = 0, nk = ts_children(pid, kids, 64);
    for (int i = 0; i < nk && count < n; i++) {
        struct ts_stat st;
        if (ts_stat(kids[i], &st) == 0 && strcmp(st.comm, "ipcscope-guard") != 0)
            out[count++] = kids[i];
    }
    return count;
}

Test(privileges, workers_run_as_the_sudo_user, .timeout = 60)
{
    if (geteuid() != 0)
        cr_skip_test("needs root: the test plays sudo's part (SUDO_UID/SUDO_GID)");
    pid_t pid = fork();
    if (pid < 0)
        cr_assert_fail("fork failed");
    if (pid == 0) {
        setenv("SUDO_UID", "65534", 1);
        setenv("SUDO_GID", "65534", 1);
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(IPCSCOPE_BIN, IPCSCOPE_BIN, "run", "prodcons", "--headless", "--param",
              "items=1000000", "--duration", "20", (char *)NULL);
        _exit(127);
    }

    pid_t kids[64];
    int n = 0;
    for (int waited = 0; waited < 10000 && n < 4; waited += 50) {
        ts_sleep_ms(50);
        n = workers_of(pid, kids, 64);
    }
    /* a worker forked a moment ago is still the conductor's copy (root) until its first
     * instructions drop to the sudo user: look at workers that have started */
    ts_sleep_ms(300);
    n = workers_of(pid, kids, 64);
    long conductor = uid_of(pid);
    long worker_uids[64];
    for (int i = 0; i < n; i++)
        worker_uids[i] = uid_of(kids[i]);
    kill(pid, SIGTERM);
    int status;
    waitpid(pid, &status, 0);

    cr_assert_geq(n, 4, "expected 4 workers, saw %d", n);
    cr_expect_eq(conductor, 0, "the conductor keeps root for its probes (uid %ld)", conductor);
    for (int i = 0; i < n; i++)
        cr_expect_eq(worker_uids[i], 65534, "worker pid %d runs as uid %ld, not the sudo user",
                     (int)kids[i], worker_uids[i]);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM,
              "SIGTERM should end the run with 143");
}
