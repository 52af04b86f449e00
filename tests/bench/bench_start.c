/*
 * bench_start.c - what `ipcscope exec` adds to starting and ending a program that does
 * nothing: PROGRAM (default /bin/true) plainly, under `ipcscope exec --headless --no-bpf`
 * and under `ipcscope exec --headless` with the probes, side by side.
 *
 * The variants alternate within each round (the first of a round rotates), so a change in
 * the machine's load reaches all of them alike; each run is timed (CLOCK_MONOTONIC) from
 * just before posix_spawn to waitpid's return. Prints medians, the difference and ratio to
 * the plain run, and the median of the per-round differences, with the clock source and the
 * load average. The probes' column is shown only when a first run says they loaded (else
 * why not). RESULT lines for scripts; asserts nothing.
 * Usage: bench_start [RUNS [PROGRAM [ARGS...]]]   (IPCSCOPE=path overrides the binary)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS 1000
#define WARMUP 3
#define MAX_ARGS 32

extern char **environ;

enum { PLAIN, NO_BPF, PROBES, NVARIANTS };

static const char *const variant_name[NVARIANTS] = {"plain", "ipcscope exec --no-bpf",
                                                    "ipcscope exec (probes)"};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Run argv with stdin, stdout and stderr on /dev/null; its wall time in ms, or -1 when it
 * could not start or did not exit 0. */
static double run_once(char *const *argv)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    for (int fd = 0; fd <= 2; fd++)
        posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd ? O_WRONLY : O_RDONLY, 0);
    pid_t pid;
    int status;
    uint64_t t0 = now_ns();
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    if (rc == 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    uint64_t t1 = now_ns();
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return (double)(t1 - t0) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (0..1) of v[0..n), sorted in a copy. */
static double quantile(const double *v, int n, double q)
{
    double s[MAX_RUNS];
    memcpy(s, v, sizeof(double) * (size_t)n);
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    double at = q * (n - 1);
    int lo = (int)at;
    return lo + 1 < n ? s[lo] + (at - lo) * (s[lo + 1] - s[lo]) : s[lo];
}

/* Whether the probes load here: one run with the snapshot in a file, its "sources". 1 with
 * them, 0 without (the reason in why), -1 when the run itself failed. */
static int probes_load(const char *ipcscope, char *const *prog, char *why, size_t n)
{
    char path[] = "/tmp/ipcscope-bench-start.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    char *argv[MAX_ARGS + 8] = {(char *)ipcscope, "exec", "--headless", "--json", path, "--"};
    int k = 6;
    for (int i = 0; prog[i] && k < MAX_ARGS + 7; i++)
        argv[k++] = prog[i];
    argv[k] = NULL;
    double ms = run_once(argv);
    static char buf[1 << 16];
    FILE *f = fopen(path, "r");
    size_t got = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    unlink(path);
    buf[got] = '\0';
    if (ms < 0 || !got)
        return -1;
    if (strstr(buf, "\"bpf\": true"))
        return 1;
    const char *r = strstr(buf, "\"bpf_reason\": \"");
    snprintf(why, n, "%s", r ? r + 15 : "no reason given");
    why[strcspn(why, "\"")] = '\0';
    return 0;
}

static void load3(char *out, size_t n)
{
    snprintf(out, n, "?");
    FILE *f = fopen("/proc/loadavg", "r");
    double a, b, c;
    if (f && fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
        snprintf(out, n, "%.2f %.2f %.2f", a, b, c);
    if (f)
        fclose(f);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 40;
    if (runs < 3 || runs > MAX_RUNS) {
        fprintf(stderr, "usage: bench_start [RUNS (3..%d) [PROGRAM [ARGS...]]]\n", MAX_RUNS);
        return 2;
    }
    char *deflt[] = {"/bin/true", NULL};
    char **prog = argc > 2 ? argv + 2 : deflt;
    const char *ipcscope = getenv("IPCSCOPE") ? getenv("IPCSCOPE") : IPCSCOPE_BIN;

    char *cmd[NVARIANTS][MAX_ARGS + 8];
    const char *pre[NVARIANTS][5] = {{NULL},
                                     {ipcscope, "exec", "--headless", "--no-bpf", "--"},
                                     {ipcscope, "exec", "--headless", "--", NULL}};
    for (int v = 0; v < NVARIANTS; v++) {
        int k = 0;
        for (int i = 0; i < 5 && pre[v][i]; i++)
            cmd[v][k++] = (char *)pre[v][i];
        for (int i = 0; prog[i] && i < MAX_ARGS; i++)
            cmd[v][k++] = prog[i];
        cmd[v][k] = NULL;
    }

    char why[256] = "", clk[64] = "?", la0[64], la1[64];
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (f && fgets(clk, sizeof(clk), f))
        clk[strcspn(clk, "\n")] = '\0';
    if (f)
        fclose(f);
    int probes = probes_load(ipcscope, prog, why, sizeof(why));
    if (probes < 0) {
        printf("start: %s under ipcscope exec did not run (exit status not 0); nothing measured\n",
               prog[0]);
        return 0;
    }
    int nv = probes ? NVARIANTS : PROBES;

    static double t[NVARIANTS][MAX_RUNS];
    int failed[NVARIANTS] = {0};
    load3(la0, sizeof(la0));
    for (int round = -WARMUP; round < runs; round++) {
        for (int j = 0; j < nv; j++) {
            int v = (j + (round < 0 ? 0 : round)) % nv; /* rotate who goes first */
            double ms = run_once(cmd[v]);
            if (round < 0)
                continue;
            if (ms < 0)
                failed[v]++;
            t[v][round] = ms < 0 ? 0 : ms;
        }
    }
    load3(la1, sizeof(la1));

    printf("start: %s, %d rounds alternating (%d warm-up), clocksource %s, %ld CPUs, load "
           "average %s before, %s after\n",
           prog[0], runs, WARMUP, clk, sysconf(_SC_NPROCESSORS_ONLN), la0, la1);
    printf("  %-26s %9s %9s %9s %12s %8s %14s\n", "", "median", "p25", "p75", "+ vs plain", "ratio",
           "median(diff)");
    double plain = quantile(t[PLAIN], runs, 0.5);
    for (int v = 0; v < NVARIANTS; v++) {
        if (v >= nv) {
            printf("  %-26s not run: the probes do not load here (%s)\n", variant_name[v], why);
            continue;
        }
        double med = quantile(t[v], runs, 0.5), d[MAX_RUNS];
        for (int i = 0; i < runs; i++)
            d[i] = t[v][i] - t[PLAIN][i];
        printf("  %-26s %6.2f ms %6.2f ms %6.2f ms", variant_name[v], med,
               quantile(t[v], runs, 0.25), quantile(t[v], runs, 0.75));
        if (v == PLAIN)
            printf("\n");
        else
            printf(" %+9.2f ms %7.2fx %11.2f ms\n", med - plain, plain > 0 ? med / plain : 0,
                   quantile(d, runs, 0.5));
        if (failed[v])
            printf("    (%d runs did not exit 0; counted as 0 ms)\n", failed[v]);
    }
    printf("RESULT start_plain_ms %.2f\n", plain);
    for (int v = NO_BPF; v < nv; v++) {
        const char *k = v == NO_BPF ? "nobpf" : "probes";
        double med = quantile(t[v], runs, 0.5);
        printf("RESULT start_%s_ms %.2f\n", k, med);
        printf("RESULT start_%s_added_ms %.2f\n", k, med - plain);
        printf("RESULT start_%s_ratio %.2f\n", k, plain > 0 ? med / plain : 0);
    }
    return 0;
}
