/*
 * bench_ttff.c - time to first frame of a terminal program, measured on a pseudo-terminal.
 *
 * Starts the program on a 160x48 pty and times (CLOCK_MONOTONIC) from just before the fork
 * until a word its first full frame draws (the marker: "Timeline" for ipcscope's dashboard,
 * "Load average" for htop) has come out, then ends it. The same method for every program, so
 * the numbers compare. Prints "RESULT ttff_ms <median> <min> <max>" over the runs, asserts
 * nothing. Usage: bench_ttff RUNS MARKER -- PROGRAM [ARGS...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 10000

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Read from fd until marker appears; 0 when seen, -1 on timeout or end of output. */
static int wait_marker(int fd, const char *marker, uint64_t deadline)
{
    char buf[1 << 16];
    size_t keep = strlen(marker) - 1, len = 0;
    static char win[(1 << 16) + 256];
    while (now_ns() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k <= 0)
            return -1;
        memcpy(win + len, buf, (size_t)k); /* the tail of what came before, and this */
        len += (size_t)k;
        if (memmem(win, len, marker, keep + 1))
            return 0;
        if (len > keep) {
            memmove(win, win + len - keep, keep);
            len = keep;
        }
    }
    return -1;
}

/* Drain the pty until the child is gone (a curses program restores the terminal first). */
static void end_child(pid_t pid, int fd)
{
    char buf[4096];
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 20) > 0 && read(fd, buf, sizeof(buf)) <= 0)
            break;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static double one_run(const char *marker, char **argv)
{
    struct winsize ws = {.ws_row = 48, .ws_col = 160};
    int fd;
    uint64_t t0 = now_ns();
    pid_t pid = forkpty(&fd, NULL, NULL, &ws);
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setenv("TERM", "xterm-256color", 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    int rc = wait_marker(fd, marker, t0 + TIMEOUT_MS * 1000000ull);
    double ms = (double)(now_ns() - t0) / 1e6;
    end_child(pid, fd);
    close(fd);
    return rc == 0 ? ms : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: bench_ttff RUNS MARKER -- PROGRAM [ARGS...]\n");
        return 2;
    }
    int runs = atoi(argv[1]);
    double *ms = calloc((size_t)(runs > 0 ? runs : 1), sizeof(*ms));
    int ok = 0;
    for (int i = 0; i < runs; i++) {
        double v = one_run(argv[2], argv + 4);
        if (v >= 0)
            ms[ok++] = v;
        usleep(200000); /* let the last one's exit settle */
    }
    if (!ok) {
        printf("RESULT ttff_ms n/a (\"%s\" never appeared within %d ms)\n", argv[2], TIMEOUT_MS);
        return 1;
    }
    qsort(ms, (size_t)ok, sizeof(*ms), cmp_double);
    printf("RESULT ttff_ms %.1f %.1f %.1f (median min max of %d runs)\n", ms[ok / 2], ms[0],
           ms[ok - 1], ok);
    free(ms);
    return 0;
}
