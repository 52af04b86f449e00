/*
 * bench_instr.c - what the instrumentation costs: one enabled event (instr_emit, 64-byte record
 * with its timestamp) against one enabled LTTng-UST tracepoint of four integers, the drain
 * throughput of 1000 per-task rings on one conductor core, the step gate in run mode, and
 * putting a drained batch in time order (ev_sort against qsort, side by side).
 *
 * Prints numbers, asserts nothing. Lines starting with "RESULT" are for scripts/bench's
 * summary. Built by CMake without LTTng; scripts/bench builds it again with -DBENCH_LTTNG and
 * lttng_tp.c (-llttng-ust -ldl) inside an LTTng session. A ratio against LTTng is printed only
 * when the tracepoint was enabled (else it would compare with a disabled branch). The clock
 * the records carry, the kernel's clocksource and the load average are printed with the
 * numbers. The drain is measured with a live emitter that writes whether or not there is
 * room, so drops are real. `--hot N` emits N events and exits (for counting system calls with
 * strace).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "evsort.h"
#include "instr.h"
#include "ring.h"

#ifdef BENCH_LTTNG
#include "lttng_tp.h"
#endif

#define BATCH 8192
#define ROUNDS 1000 /* batches per measurement: 8.2M events */
#define REPEATS 5

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu % (int)sysconf(_SC_NPROCESSORS_ONLN), &set);
    sched_setaffinity(0, sizeof(set), &set);
}

static double best_of(double *v, int n)
{
    double b = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < b)
            b = v[i];
    return b;
}

/* ---- (1) one enabled event ---- */

static struct ev g_sink[BATCH];

/* ns per instr_emit; the ring is drained between batches, outside the timed part. */
static double instr_emit_ns(struct ring *r)
{
    double runs[REPEATS];
    for (int rep = 0; rep < REPEATS; rep++) {
        uint64_t spent = 0;
        for (int b = 0; b < ROUNDS; b++) {
            uint64_t t = now_ns();
            for (int i = 0; i < BATCH; i++)
                instr_emit(EV_SEM_POST, 1, i, b, rep);
            spent += now_ns() - t;
            while (ring_pop(r, g_sink, BATCH))
                ;
        }
        runs[rep] = (double)spent / ((double)ROUNDS * BATCH);
    }
    return best_of(runs, REPEATS);
}

/* Where the time goes: the timestamp alone, and ring_push of a prepared record alone. */
static void emit_parts(struct ring *r, double *clock_ns, double *push_ns)
{
    double c[REPEATS], p[REPEATS];
    struct ev e = {.kind = EV_SEM_POST, .obj = 1};
    for (int rep = 0; rep < REPEATS; rep++) {
        uint64_t n = (uint64_t)ROUNDS * BATCH, sum = 0, t = now_ns();
        for (uint64_t i = 0; i < n; i++) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            sum += (uint64_t)ts.tv_nsec;
        }
        c[rep] = (double)(now_ns() - t) / (double)n;
        __asm__ volatile("" : : "r"(sum));
        uint64_t spent = 0;
        for (int b = 0; b < ROUNDS; b++) {
            t = now_ns();
            for (int i = 0; i < BATCH; i++) {
                e.val = i;
                ring_push(r, &e);
            }
            spent += now_ns() - t;
            while (ring_pop(r, g_sink, BATCH))
                ;
        }
        p[rep] = (double)spent / ((double)ROUNDS * BATCH);
    }
    *clock_ns = best_of(c, REPEATS);
    *push_ns = best_of(p, REPEATS);
}

#ifdef BENCH_LTTNG
static double lttng_ns(void)
{
    double runs[REPEATS];
    for (int rep = 0; rep < REPEATS; rep++) {
        uint64_t spent = 0;
        for (int b = 0; b < ROUNDS; b++) {
            uint64_t t = now_ns();
            for (int i = 0; i < BATCH; i++)
                lttng_ust_tracepoint(ipcscope_bench, ev4, i, b, rep, 1);
            spent += now_ns() - t;
            if (b % 64 == 63)
                usleep(2000); /* let the consumer daemon catch up, as we drain our ring */
        }
        runs[rep] = (double)spent / ((double)ROUNDS * BATCH);
    }
    return best_of(runs, REPEATS);
}
#endif

/* rdtsc alone: what a TSC stamp costs on this machine. */
static double tsc_ns(void)
{
#if defined(__x86_64__)
    double runs[REPEATS];
    for (int rep = 0; rep < REPEATS; rep++) {
        uint64_t n = (uint64_t)ROUNDS * BATCH, sum = 0, t = now_ns();
        for (uint64_t i = 0; i < n; i++)
            sum += __builtin_ia32_rdtsc();
        runs[rep] = (double)(now_ns() - t) / (double)n;
        __asm__ volatile("" : : "r"(sum));
    }
    return best_of(runs, REPEATS);
#else
    return 0;
#endif
}

/* The same emit with the conductor draining concurrently on the other core. */
struct drainer {
    struct ring *r;
    _Atomic int stop;
    uint64_t popped;
};

static void *drain_thread(void *p)
{
    struct drainer *d = p;
    static struct ev buf[BATCH];
    pin_to(1);
    while (!atomic_load_explicit(&d->stop, memory_order_relaxed) || ring_pending(d->r))
        d->popped += ring_pop(d->r, buf, BATCH);
    return NULL;
}

static void instr_emit_concurrent(struct ring *r, double *ns, uint64_t *dropped)
{
    struct drainer d = {.r = r};
    uint64_t drops0 = ring_dropped(r);
    pthread_t th;
    pthread_create(&th, NULL, drain_thread, &d);
    uint64_t n = (uint64_t)ROUNDS * BATCH, t = now_ns();
    for (uint64_t i = 0; i < n; i++)
        instr_emit(EV_SEM_POST, 1, (int64_t)i, 0, 0);
    *ns = (double)(now_ns() - t) / (double)n;
    atomic_store(&d.stop, 1);
    pthread_join(th, NULL);
    *dropped = ring_dropped(r) - drops0;
}

/* ---- (2) drain throughput ---- */

#define NRINGS 1000
#define RING_CAP 1024

static struct ev *g_batch;

/* Prefilled: every ring full, then one core drains them all. Events per second. */
static double drain_prefilled(struct instr_shared *sh, uint64_t *total)
{
    double runs[REPEATS];
    struct ev e = {.kind = EV_SEM_POST, .obj = 1};
    *total = 0;
    for (int rep = 0; rep < REPEATS; rep++) {
        for (uint32_t s = 0; s < NRINGS; s++)
            for (uint32_t i = 0; i < RING_CAP; i++) {
                e.val = i;
                ring_push(instr_ring(sh, s), &e);
            }
        uint64_t n = 0, t = now_ns();
        size_t len = 0;
        for (uint32_t s = 0; s < NRINGS; s++) {
            struct ring *r = instr_ring(sh, s);
            size_t got;
            while ((got = ring_pop(r, g_batch + len, 65536 - len)) > 0) {
                len += got;
                n += got;
                if (len == 65536)
                    len = 0;
            }
        }
        runs[rep] = (double)(now_ns() - t) / (double)n;
        *total += n;
    }
    return 1e9 / best_of(runs, REPEATS);
}

struct filler {
    struct instr_shared *sh;
    _Atomic int stop;
    uint64_t pushed;
    double rate; /* events per second to emit, 0: as fast as it can */
};

/* A live emitter: 64 records into each ring in turn, at full speed, whether or not the ring
 * has room (a full ring drops and counts, as a worker's would). */
static void *fill_thread(void *p)
{
    struct filler *f = p;
    struct ev e = {.kind = EV_SEM_POST, .obj = 1};
    pin_to(1);
    uint64_t t0 = now_ns();
    while (!atomic_load_explicit(&f->stop, memory_order_relaxed)) {
        for (uint32_t s = 0; s < NRINGS; s++) {
            struct ring *r = instr_ring(f->sh, s);
            for (int i = 0; i < 64; i++) {
                e.val = (int64_t)f->pushed++;
                ring_push(r, &e);
            }
            while (f->rate > 0 && (double)f->pushed > f->rate * (double)(now_ns() - t0) / 1e9 &&
                   !atomic_load_explicit(&f->stop, memory_order_relaxed))
                ; /* ahead of the rate: wait, as a worker between its operations */
        }
    }
    return NULL;
}

/* Concurrent: an emitter core writes into the rings, the conductor core drains for 2 s. */
static double drain_concurrent(struct instr_shared *sh, double rate, uint64_t *dropped,
                               uint64_t *popped, uint64_t *pushed)
{
    struct filler f = {.sh = sh, .rate = rate};
    uint64_t drops0 = 0;
    for (uint32_t s = 0; s < NRINGS; s++)
        drops0 += ring_dropped(instr_ring(sh, s));
    pthread_t th;
    pthread_create(&th, NULL, fill_thread, &f);
    pin_to(0);
    uint64_t n = 0, t = now_ns(), end = t + 1000000000ull;
    while (now_ns() < end)
        for (uint32_t s = 0; s < NRINGS; s++)
            n += ring_pop(instr_ring(sh, s), g_batch, 65536);
    double drained = (double)n * 1e9 / (double)(now_ns() - t);
    atomic_store(&f.stop, 1);
    pthread_join(th, NULL);
    uint64_t drops = 0;
    for (uint32_t s = 0; s < NRINGS; s++) {
        drops += ring_dropped(instr_ring(sh, s));
        while (ring_pop(instr_ring(sh, s), g_batch, 65536))
            ;
    }
    *dropped = drops - drops0;
    *popped = n;
    *pushed = f.pushed;
    return drained;
}

/* ---- (3) the gate in run mode ---- */

static void gate_cost(double *with_gate, double *without)
{
    const uint64_t n = 200000000ull;
    double a[REPEATS], b[REPEATS];
    for (int rep = 0; rep < REPEATS; rep++) {
        uint64_t t = now_ns();
        for (uint64_t i = 0; i < n; i++) {
            instr_gate(EV_SEM_POST, 1);
            __asm__ volatile("" ::: "memory");
        }
        a[rep] = (double)(now_ns() - t) / (double)n;
        t = now_ns();
        for (uint64_t i = 0; i < n; i++)
            __asm__ volatile("" ::: "memory");
        b[rep] = (double)(now_ns() - t) / (double)n;
    }
    *with_gate = best_of(a, REPEATS);
    *without = best_of(b, REPEATS);
}

/* ---- main ---- */

/* ---- (4) a drained batch in time order ---- */

/* A batch as the conductor drains it: SORT_N records taken from 4 rings in turn, chunk
 * records at a time, each ring's stamps ascending. Best ns per record of ev_sort and qsort
 * over the same batch. */
#define SORT_N 65536
static void sort_cost(int chunk, double *merge_ns, double *qsort_ns)
{
    struct ev *v = malloc(SORT_N * sizeof(*v)), *w = malloc(SORT_N * sizeof(*v)),
              *tmp = malloc(SORT_N * sizeof(*v));
    uint64_t t[4] = {0, 0, 0, 0};
    srand(1);
    for (size_t k = 0; k < SORT_N;)
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < chunk && k < SORT_N; j++, k++)
                v[k].t = t[r] += 1 + (uint64_t)(rand() % 40);
    double m[REPEATS * 4], q[REPEATS * 4];
    for (int rep = 0; rep < REPEATS * 4; rep++) {
        memcpy(w, v, SORT_N * sizeof(*v));
        uint64_t t0 = now_ns();
        ev_sort(w, SORT_N, tmp);
        uint64_t t1 = now_ns();
        memcpy(w, v, SORT_N * sizeof(*v));
        uint64_t t2 = now_ns();
        qsort(w, SORT_N, sizeof(*w), ev_cmp_t);
        uint64_t t3 = now_ns();
        m[rep] = (double)(t1 - t0) / SORT_N;
        q[rep] = (double)(t3 - t2) / SORT_N;
    }
    *merge_ns = best_of(m, REPEATS * 4);
    *qsort_ns = best_of(q, REPEATS * 4);
    free(v);
    free(w);
    free(tmp);
}

/* A region of ntasks rings of cap records, with this process as its first task, stamping as
 * a run's workers do (the clock settled first). 0 or -1. */
static int bench_region(struct instr_shared **sh, uint32_t ntasks, uint32_t cap)
{
    if (instr_region_create(sh, ntasks, cap, 1 << 16) < 0)
        return -1;
    instr_clock_settle(*sh);
    return instr_task_begin("bench", 0) < 0 ? -1 : 0;
}

static int hot_only(long n)
{
    struct instr_shared *sh;
    if (bench_region(&sh, 2, 16384) < 0)
        return 1;
    struct ring *r = instr_ring(sh, 0);
    for (long i = 0; i < n; i++) {
        instr_emit(EV_SEM_POST, 1, i, 0, 0);
        if ((i & 4095) == 4095)
            while (ring_pop(r, g_sink, BATCH))
                ;
    }
    printf("emitted %ld events, dropped %llu\n", n, (unsigned long long)ring_dropped(r));
    instr_region_destroy(sh);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--hot") == 0)
        return hot_only(atol(argv[2]));
    setvbuf(stdout, NULL, _IOLBF, 0);
    pin_to(0);

    /* (1) */
    struct instr_shared *sh;
    if (bench_region(&sh, 2, 16384) < 0) {
        fprintf(stderr, "bench_instr: cannot make the shared region\n");
        return 1;
    }
    struct ring *r = instr_ring(sh, 0);
    ring_pop(r, g_sink, BATCH); /* task_start */
    struct instr_clock_info ck;
    instr_clock_info(sh, &ck);
    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    printf("clock: records carry %s; kernel clocksource %s; load average %.2f %.2f %.2f on %ld "
           "CPUs\n",
           ck.stamps, ck.kernel, load[0], load[1], load[2], sysconf(_SC_NPROCESSORS_ONLN));
    printf("RESULT clock_tsc %d\nRESULT kernel_clock %s\nRESULT load1 %.2f\n", ck.tsc, ck.kernel,
           load[0]);
    double emit = instr_emit_ns(r);
    printf("instr_emit (64-byte record + timestamp, drained between batches): %.2f ns/event\n",
           emit);
    printf("RESULT instr_emit_ns %.2f\n", emit);
    double clk, push, tsc = tsc_ns();
    emit_parts(r, &clk, &push);
    printf("  for comparison (instr_emit stamps with %s and fills the ring slot in place): "
           "clock_gettime(CLOCK_MONOTONIC) %.2f ns, rdtsc %.2f ns, ring_push of a built "
           "64-byte record %.2f ns\n",
           ck.tsc ? "the TSC" : "clock_gettime", clk, tsc, push);
    printf("RESULT clock_ns %.2f\nRESULT tsc_ns %.2f\nRESULT push_ns %.2f\n", clk, tsc, push);
    double conc;
    uint64_t cdrops;
    instr_emit_concurrent(r, &conc, &cdrops);
    printf("instr_emit with a drainer on the other core: %.2f ns/event, %llu dropped of %llu "
           "(%.1f%%: one ring of 16384, emitted at full speed)\n",
           conc, (unsigned long long)cdrops, (unsigned long long)ROUNDS * BATCH,
           100.0 * (double)cdrops / ((double)ROUNDS * BATCH));
    printf("RESULT instr_emit_concurrent_ns %.2f\nRESULT emit_concurrent_dropped_pct %.1f\n", conc,
           100.0 * (double)cdrops / ((double)ROUNDS * BATCH));
#ifdef BENCH_LTTNG
    int on = lttng_ust_tracepoint_enabled(ipcscope_bench, ev4);
    double lt = lttng_ns();
    printf("LTTng-UST tracepoint, 4 integer fields (%s): %.2f ns/event\n",
           on ? "enabled in a session" : "NOT ENABLED: no session", lt);
    printf("RESULT lttng_ns %.2f\nRESULT lttng_enabled %d\nRESULT lttng_events %llu\n", lt, on,
           (unsigned long long)REPEATS * ROUNDS * BATCH);
    if (on) {
        printf("ratio instr/LTTng: %.3fx (target <= 0.15x)\n", emit / lt);
        printf("RESULT ratio %.3f\n", emit / lt);
    } else {
        printf("ratio instr/LTTng: not shown: the tracepoint was not enabled, so it measured a "
               "disabled branch\n");
    }
#else
    printf("LTTng-UST: not built in (scripts/bench builds the LTTng variant)\n");
#endif
    instr_region_destroy(sh);

    /* (2) */
    g_batch = calloc(65536, sizeof(*g_batch));
    if (instr_region_create(&sh, NRINGS, RING_CAP, 1 << 16) < 0 || !g_batch) {
        fprintf(stderr, "bench_instr: cannot make %d rings\n", NRINGS);
        return 1;
    }
    for (uint32_t s = 0; s < NRINGS; s++) /* as each task does when it takes its slot */
        ring_prepare(instr_ring(sh, s), sh->ring_cap);
    uint64_t total, drops, popped, pushed;
    double pre = drain_prefilled(sh, &total);
    printf("drain, %d full rings of %d, one core: %.1f M events/s (%llu events)\n", NRINGS,
           RING_CAP, pre / 1e6, (unsigned long long)total);
    printf("RESULT drain_prefilled_meps %.1f\n", pre / 1e6);
    const double rates[] = {2e6, 5e6, 10e6, 0}; /* a busy prodcons run: ~0.5 M/s in all */
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        double live = drain_concurrent(sh, rates[i], &drops, &popped, &pushed);
        double pct = pushed ? 100.0 * (double)drops / (double)pushed : 0.0;
        char what[32];
        snprintf(what, sizeof(what), rates[i] > 0 ? "%.0f M/s" : "full speed", rates[i] / 1e6);
        printf("drain, %d rings written live by an emitter core at %s (a full ring drops), "
               "conductor core: %.1f M events/s drained, %llu emitted, %llu dropped (%.2f%%)\n",
               NRINGS, what, live / 1e6, (unsigned long long)pushed, (unsigned long long)drops,
               pct);
        char key[16];
        snprintf(key, sizeof(key), "%.0f", rates[i] / 1e6);
        printf("RESULT drain_live_%s_meps %.1f\nRESULT drain_live_%s_emitted_meps %.1f\nRESULT "
               "drain_live_%s_dropped_pct %.2f\n",
               key, live / 1e6, key, (double)pushed / 1e6, key, pct);
    }
    instr_region_destroy(sh);
    free(g_batch);

    /* (3) */
    if (bench_region(&sh, 2, 64) < 0)
        return 1;
    double g, nog;
    gate_cost(&g, &nog);
    printf("instr_gate in run mode: %.2f ns/call vs %.2f ns for no call (+%.2f ns)\n", g, nog,
           g - nog);
    printf("RESULT gate_ns %.2f\nRESULT nogate_ns %.2f\n", g, nog);
    instr_region_destroy(sh);

    /* (4) */
    const int chunks[] = {256, 4096};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        double m, q;
        sort_cost(chunks[i], &m, &q);
        printf("a drained batch of %d records from 4 rings in chunks of %d put in time order: "
               "ev_sort %.1f ns/record, qsort %.1f ns/record (%.2fx)\n",
               SORT_N, chunks[i], m, q, m / q);
        printf("RESULT sort_%d_ev_sort_ns %.1f\nRESULT sort_%d_qsort_ns %.1f\n", chunks[i], m,
               chunks[i], q);
    }
    return 0;
}
