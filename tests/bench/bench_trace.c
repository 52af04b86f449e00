/*
 * bench_trace.c - what traces cost: writing them (the conductor's share per event, bytes per
 * event, plain and zstd) and replaying a big one (load time, memory, jumps, steps).
 *
 *   bench_trace write [EVENTS]   synthetic prodcons events through the real writer
 *   bench_trace replay FILE      index FILE, jump around in it, check the end against a
 *                                replay from the start
 * Prints numbers, asserts nothing; lines starting with RESULT are for scripts/bench.
 */
#define _GNU_SOURCE
#include "../synth_trace.h"
#include "model.h"
#include "replay.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static double process_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long peak_rss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    if (f)
        fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* ---- writing ---- */

static int bench_write(uint64_t events)
{
    const char *kinds[] = {"jsonl", "jsonl.zst"};
    char dir[] = "/tmp/ipcscope-bench-trace-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    for (int k = 0; k < 2; k++) {
        char path[256], err[256];
        snprintf(path, sizeof(path), "%s/t.%s", dir, kinds[k]);
        uint64_t w0 = now_ns(), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
        double p0 = process_cpu_s();
        uint64_t n = synth_trace(path, events, 1, err, sizeof(err));
        double wall = (double)(now_ns() - w0),
               mine = (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0);
        double all = (process_cpu_s() - p0) * 1e9;
        if (!n) {
            fprintf(stderr, "bench_trace: %s\n", err);
            return 1;
        }
        struct stat st;
        stat(path, &st);
        double per = (double)st.st_size / (double)n;
        printf("write %-9s %llu events: the conductor's thread %.0f ns/event, the writer thread "
               "%.0f ns/event, %.1f B/event, %.0f ns/event wall\n",
               kinds[k], (unsigned long long)n, mine / (double)n, (all - mine) / (double)n, per,
               wall / (double)n);
        printf("RESULT write_%s_conductor_ns %.0f\nRESULT write_%s_thread_ns %.0f\n"
               "RESULT write_%s_bytes %.1f\n",
               k ? "zst" : "plain", mine / (double)n, k ? "zst" : "plain", (all - mine) / (double)n,
               k ? "zst" : "plain", per);

        json_t *h, *t;
        uint64_t r0 = now_ns();
        struct model m;
        model_init(&m, 1, 64);
        if (trace_replay(path, &m, &h, &t, err, sizeof(err)) < 0)
            fprintf(stderr, "bench_trace: %s\n", err);
        double rd = (double)(now_ns() - r0) / (double)m.total;
        printf("read+apply %-9s %.0f ns/event\nRESULT read_%s_ns %.0f\n", kinds[k], rd,
               k ? "zst" : "plain", rd);
        json_decref(h);
        json_decref(t);
        model_free(&m);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

/* ---- replaying ---- */

static uint64_t rng = 88172645463325252ull;

static size_t random_below(size_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return n ? (size_t)(rng % n) : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The final model through the checkpoints equals a replay from the start. */
static int same_end(const char *path, const struct model *m)
{
    struct model ref;
    json_t *h, *t;
    char err[256];
    model_init(&ref, 1, 64);
    int ok = trace_replay(path, &ref, &h, &t, err, sizeof(err)) == 0 && ref.total == m->total &&
             ref.ntasks == m->ntasks && ref.nobjs == m->nobjs &&
             !memcmp(ref.tasks, m->tasks, m->ntasks * sizeof(*m->tasks)) &&
             !memcmp(ref.objs, m->objs, m->nobjs * sizeof(*m->objs));
    json_decref(h);
    json_decref(t);
    model_free(&ref);
    return ok;
}

static int bench_replay(const char *path)
{
    struct stat st;
    char err[512];
    if (stat(path, &st) < 0) {
        perror(path);
        return 1;
    }
    long rss0 = rss_kib();
    uint64_t t0 = now_ns();
    struct replay *rp;
    if (replay_load(&rp, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "bench_trace: %s\n", err);
        return 1;
    }
    double load_s = (double)(now_ns() - t0) / 1e9;
    struct model m;
    model_init(&m, rp->hist_cap, rp->span_cap);
    enum { JUMPS = 30 };
    double jump[JUMPS + 2];
    for (int i = 0; i < JUMPS + 2; i++) {
        size_t k = i == 0 ? rp->n : i == 1 ? 0 : random_below(rp->n + 1);
        uint64_t j0 = now_ns();
        replay_seek(rp, &m, k);
        jump[i] = (double)(now_ns() - j0) / 1e6;
    }
    qsort(jump, JUMPS + 2, sizeof(double), cmp_double);
    size_t mid = rp->n / 2;
    replay_seek(rp, &m, mid);
    uint64_t s0 = now_ns();
    for (int i = 0; i < 100; i++)
        replay_seek(rp, &m, replay_next_step(rp, rp->cursor));
    double fwd = (double)(now_ns() - s0) / 1e6 / 100;
    s0 = now_ns();
    for (int i = 0; i < 20; i++)
        replay_seek(rp, &m, replay_prev_step(rp, rp->cursor));
    double back = (double)(now_ns() - s0) / 1e6 / 20;
    replay_seek(rp, &m, rp->n);
    long rss = rss_kib(), peak = peak_rss_kib();
    printf("replay %s: %.2f GiB, %zu events, %s\n", path, (double)st.st_size / (1 << 30), rp->n,
           rp->trailer ? "complete" : "no end line");
    printf("  load (read and index once): %.1f s\n", load_s);
    printf("  jump to any point: median %.0f ms, max %.0f ms over %d jumps (the end and the start "
           "included)\n",
           jump[(JUMPS + 2) / 2], jump[JUMPS + 1], JUMPS + 2);
    printf("  a step forward %.2f ms, a step back %.1f ms\n", fwd, back);
    printf("  memory: %ld MiB resident (%ld MiB before loading, peak %ld MiB); the replay holds "
           "%zu MiB\n",
           rss / 1024, rss0 / 1024, peak / 1024, replay_memory(rp) >> 20);
    int same = same_end(path, &m);
    printf("  the end through checkpoints equals a replay from the start: %s\n",
           same ? "yes" : "NO");
    printf(
        "RESULT replay_load_s %.1f\nRESULT replay_jump_max_ms %.0f\nRESULT replay_jump_median_ms "
        "%.0f\nRESULT replay_step_back_ms %.1f\nRESULT replay_peak_mib %ld\nRESULT "
        "replay_events %zu\nRESULT replay_same_end %s\n",
        load_s, jump[JUMPS + 1], jump[(JUMPS + 2) / 2], back, peak / 1024, rp->n,
        same ? "yes" : "NO");
    model_free(&m);
    replay_free(rp);
    return same ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "write") == 0)
        return bench_write(argc > 2 ? strtoull(argv[2], NULL, 10) : 4000000);
    if (argc == 3 && strcmp(argv[1], "replay") == 0)
        return bench_replay(argv[2]);
    fprintf(stderr, "usage: bench_trace write [EVENTS] | bench_trace replay FILE\n");
    return 2;
}
