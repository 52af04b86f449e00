/*
 * test_privileges.c - started through sudo, ipcscope keeps root for its probes but runs the
 * workers as the user who invoked it (SUDO_UID/SUDO_GID).
 *
 * Checked from /proc while the run is going: the conductor's real uid and every worker's.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int proc_field(pid_t pid, const char *key, char *out, size_t n)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int found = -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0) {
            snprintf(out, n, "%s", line + strlen(key));
            found = 0;
            break;
        }
    fclose(f);
    return found;
}

static long uid_of(pid_t pid)
{
    char v[128];
    return proc_field(pid, "Uid:", v, sizeof(v)) == 0 ? strtol(v, NULL, 10) : -1;
}

/* Children of pid, from /proc. */
static int children_of(pid_t pid, pid_t *out, int n)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int count = 0;
    while (d && (de = readdir(d)) && count < n) {
        pid_t p = atoi(de->d_name);
        char v[64], name[64];
        if (p <= 0 || proc_field(p, "PPid:", v, sizeof(v)) != 0 || atoi(v) != pid)
            continue;
        /* the guard is the conductor's own helper (it must be able to kill the workers) */
        if (proc_field(p, "Name:", name, sizeof(name)) == 0 && strstr(name, "ipcscope-guard"))
            continue;
        out[count++] = p;
    }
    if (d)
        closedir(d);
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
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        n = children_of(pid, kids, 64);
    }
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
