/*
 * concurrency.c - the same CPU-bound workers on one CPU and on two (chapter 10).
 *
 * Each worker burns work_ms of CPU time. With cpus=1 they are all pinned to one CPU, so
 * they take turns (concurrency: interleaved time slices); with cpus=2 they are pinned to two
 * CPUs in turn and run at once (parallelism), and the same work ends in about half the time. The
 * lesson is the overlap of RUNNING intervals: the time at least two workers ran at once, measured
 * from the kernel's scheduler events when bpf is on, and always by the workers' own clocks: a
 * CPU-bound loop that reads the time every few microseconds sees each gap when it was off its
 * CPU, so it knows its running intervals to within a gap (SPAN_GAP_NS). A sampler also reads
 * every worker's CPU time from /proc (schedstat, else utime+stime), for the snapshot only: a
 * running task's /proc time lags by a tick, and by a whole pause when the hypervisor holds its
 * virtual CPU, so that estimate can count overlap on one CPU (it once said 26 ms).
 * Stepping: each worker's start is a step; once all have started (held, they start together)
 * the work runs unpaced, at machine speed, so a stepped or paced run overlaps as a free one
 * does. The sampler only observes (wall-clock windows). The result is pinned on screen.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../instr_sync.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 8
#define CHUNK_NS (50 * 1000000ull) /* CPU time between two progress events */
/* /proc CPU times lag by up to a scheduler tick (HZ >= 100): excess CPU time within a window
 * up to this much may be that lag, not parallel running, and is not counted. */
#define LAG_NS (10 * 1000000ll)
#define WINDOW_MS 100
/* A worker's loop reads the clock every few microseconds: a longer gap between two reads is
 * time it was off its CPU, and ends one of its running intervals. */
#define SPAN_GAP_NS (50 * 1000ull)
#define MAX_SPANS 16384 /* running intervals a worker keeps (on one CPU: one per time slice) */

struct run_span {
    uint64_t a, b; /* first and last clock read of one stretch on a CPU */
};

struct conc_shared {
    struct sync_team team;
    long workers, work_ms;
    _Atomic int cpus, toggled;
    int cpu_id[2], ncpu; /* the CPUs we may use, from our affinity mask */
    _Atomic int32_t pid[MAX_WORKERS], tid[MAX_WORKERS];
    _Atomic uint64_t t_start[MAX_WORKERS], t_end[MAX_WORKERS];
    _Atomic uint32_t cpus_seen[MAX_WORKERS]; /* bit per CPU the worker ran on */
    _Atomic long done;
    _Atomic int started;         /* workers at the start (a futex word: sync_start_together) */
    long pinned;                 /* conductor: the stage the pinned line was written for */
    _Atomic uint64_t overlap_ns; /* from /proc sampling */
    _Atomic long samples;
    _Atomic int schedstat; /* 1: sampled from schedstat (ns); 0: utime+stime (ticks) */
    /* each worker's running intervals by its own clock: nspans[k] published (release), the
     * one it is in now from open_a[k] to open_b[k]; spans_full when one ran out of room */
    _Atomic uint32_t nspans[MAX_WORKERS];
    _Atomic uint64_t open_a[MAX_WORKERS], open_b[MAX_WORKERS];
    _Atomic int spans_full;
    _Atomic int32_t last_on[2]; /* per CPU we pin to: the worker (k + 1) that read there last */
    struct run_span spans[MAX_WORKERS][MAX_SPANS];
};

static struct conc_shared *S;

static const struct scenario_param params[] = {
    {"workers", "CPU-bound workers", "CPU 密集型工作者数", 1, MAX_WORKERS, 2},
    {"cpus", "CPUs the workers may use (1: concurrency, 2: parallelism)",
     "工作者可用的 CPU 数(1:并发,2:并行)", 1, 2, 1},
    {"work_ms", "CPU time each worker needs", "每个工作者需要的 CPU 时间(毫秒)", 10, 10000, 500},
    {"threads", "0: processes; 1: threads of one process", "0:进程;1:同一进程的线程", 0, 1, 0},
};

static uint64_t clock_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wall time (ns), for measuring the work: never for waiting. */
static uint64_t wall_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC); /* sclock-ok: a measurement, not a wait */
}

/* Pin worker k: to our first CPU (cpus=1), or to our first two in turn (cpus=2), so that on
 * two CPUs neighbours never share one even when other load would have the balancer pack
 * them together. */
static void pin(long k, int cpus)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(S->cpu_id[cpus == 1 ? 0 : k % S->ncpu], &set);
    sched_setaffinity(0, sizeof(set), &set);
}

/* The CPU slot worker k is pinned to (cpu_id's index), with cpus CPUs: last_on's index. */
static int slot_of(long k, int cpus)
{
    return cpus == 1 || S->ncpu < 2 ? 0 : (int)(k % S->ncpu);
}

/* Worker k, on CPU slot, reads the clock: a gap since its last read, or another worker's read
 * on the same CPU in between (last_on, looked at before and after the clock), closes its
 * running interval. Without the second, two workers taking turns on one CPU faster than
 * SPAN_GAP_NS (a turn cut short by wakeups, under load) each bridged the other's turn and
 * were counted as running at once. Order for a reader (self_overlap_ns): the closed interval
 * is written, the open one moved (a, then b), and only then the count published, so no
 * stretch is ever counted twice. */
static void seen_running(long k, int slot)
{
    int32_t me = (int32_t)k + 1;
    int32_t before = atomic_exchange_explicit(&S->last_on[slot], me, memory_order_relaxed);
    uint64_t now = wall_ns();
    int turn = before != me || atomic_load_explicit(&S->last_on[slot], memory_order_relaxed) != me;
    uint64_t last = atomic_load_explicit(&S->open_b[k], memory_order_relaxed);
    if (last && !turn && now - last <= SPAN_GAP_NS) {
        atomic_store_explicit(&S->open_b[k], now, memory_order_release);
        return;
    }
    uint32_t n = atomic_load_explicit(&S->nspans[k], memory_order_relaxed);
    int closing = last && n < MAX_SPANS;
    if (closing)
        S->spans[k][n] = (struct run_span){atomic_load(&S->open_a[k]), last};
    else if (last)
        atomic_store(&S->spans_full, 1);
    atomic_store_explicit(&S->open_a[k], now, memory_order_relaxed);
    atomic_store_explicit(&S->open_b[k], now, memory_order_release);
    if (closing)
        atomic_store_explicit(&S->nspans[k], n + 1, memory_order_release);
}

/* Worker k's work is done: its interval in progress is its last. */
static void close_running(long k)
{
    uint64_t a = atomic_load(&S->open_a[k]), b = atomic_load(&S->open_b[k]);
    uint32_t n = atomic_load_explicit(&S->nspans[k], memory_order_relaxed);
    if (b && n < MAX_SPANS)
        S->spans[k][n] = (struct run_span){a, b};
    else if (b)
        atomic_store(&S->spans_full, 1);
    atomic_store_explicit(&S->open_b[k], 0, memory_order_release);
    if (b && n < MAX_SPANS)
        atomic_store_explicit(&S->nspans[k], n + 1, memory_order_release);
}

/* Burn CPU until this thread has used until_ns of it (or the run stops), reading the clock
 * every few microseconds (seen_running) and the CPU time every 16 reads. */
static void burn(long k, int slot, uint64_t until_ns)
{
    volatile uint64_t x = 0;
    for (unsigned round = 0;; round++) {
        seen_running(k, slot);
        if (round % 16 == 0 && (clock_ns(CLOCK_THREAD_CPUTIME_ID) >= until_ns || ipc_stopping()))
            break;
        for (int i = 0; i < 1000; i++)
            x += (uint64_t)i * 2654435761u;
    }
    (void)x; /* clang: set but not used */
}

/* The work: burn work_ms of CPU in chunks, reporting progress after each. Not the lesson's
 * action but its substance, so it runs unpaced. */
static void work(long k, int cpus)
{
    uint64_t base = clock_ns(CLOCK_THREAD_CPUTIME_ID), total = (uint64_t)S->work_ms * 1000000ull;
    sclock_unpaced_begin();
    for (uint64_t used = 0; used < total && !ipc_stopping();) {
        if (atomic_load(&S->cpus) != cpus)
            pin(k, cpus = atomic_load(&S->cpus));
        used += used + CHUNK_NS < total ? CHUNK_NS : total - used;
        burn(k, slot_of(k, cpus), base + used);
        int cpu = sched_getcpu();
        if (cpu >= 0 && cpu < 32)
            atomic_fetch_or(&S->cpus_seen[k], 1u << cpu);
        instr_emit(EV_VAR, EV_NO_OBJ, (int64_t)(used / 1000000ull), k, cpu);
    }
    sclock_unpaced_end();
}

static int body(long k)
{
    ipc_set_comm("cpu-worker");
    int cpus = atomic_load(&S->cpus);
    pin(k, cpus);
    atomic_store(&S->pid[k], getpid());
    atomic_store(&S->tid[k], (int32_t)gettid());
    instr_gate_label(EV_NOTE, EV_NO_OBJ, "start %ld ms of CPU work", S->work_ms);
    instr_note("start: %ld ms of CPU work", S->work_ms);
    sync_start_together(&S->started, (int)S->workers);
    atomic_store(&S->t_start[k], wall_ns()); /* measured from here on */
    work(k, cpus);
    close_running(k);
    atomic_store(&S->t_end[k], wall_ns());
    atomic_fetch_add(&S->done, 1);
    return 0;
}

/* ---- overlap: the time two or more workers ran at once ---- */

struct edge {
    uint64_t t;
    int d; /* +1 a worker starts running, -1 it stops */
};

static int cmp_edge(const void *a, const void *b)
{
    const struct edge *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->d - y->d; /* stops before starts at the same instant */
}

/* Sweep sorted start/stop edges: the time with two or more running. */
static int64_t overlap_of(struct edge *e, size_t n)
{
    qsort(e, n, sizeof(*e), cmp_edge);
    int64_t overlap = 0;
    int running = 0;
    for (size_t i = 0; i < n; i++) {
        if (running >= 2 && i > 0)
            overlap += (int64_t)(e[i].t - e[i - 1].t);
        running += e[i].d;
    }
    return overlap;
}

/* Overlap (ns) of the running intervals the workers timed themselves (the one each is in now
 * up to its last clock read), or -1 when one ran out of room for them. */
static int64_t self_overlap_ns(void)
{
    if (atomic_load(&S->spans_full))
        return -1;
    size_t cap = 0;
    uint32_t n[MAX_WORKERS];
    for (long k = 0; k < S->workers; k++) {
        n[k] = atomic_load_explicit(&S->nspans[k], memory_order_acquire);
        if (n[k] > MAX_SPANS)
            n[k] = MAX_SPANS;
        cap += 2 * ((size_t)n[k] + 1);
    }
    struct edge *e = malloc((cap ? cap : 1) * sizeof(*e));
    if (!e)
        return -1;
    size_t m = 0;
    for (long k = 0; k < S->workers; k++) {
        for (uint32_t i = 0; i < n[k]; i++) {
            e[m++] = (struct edge){S->spans[k][i].a, 1};
            e[m++] = (struct edge){S->spans[k][i].b, -1};
        }
        /* the count was read first, then b, then a (a worker moves a, then b, then counts):
         * an a newer than b is caught (a > b) and skipped; at worst a live reading misses
         * the stretch just closed, and never counts one twice or across a gap */
        uint64_t b = atomic_load_explicit(&S->open_b[k], memory_order_acquire);
        uint64_t a = atomic_load_explicit(&S->open_a[k], memory_order_relaxed);
        if (b && a && a <= b) {
            e[m++] = (struct edge){a, 1};
            e[m++] = (struct edge){b, -1};
        }
    }
    int64_t overlap = overlap_of(e, m);
    free(e);
    return overlap;
}

/* ---- the /proc sampler ---- */

/* CPU time of worker k in ns from /proc, or -1 when it is gone. */
static int64_t worker_cpu_ns(long k)
{
    char path[96], buf[1024];
    int32_t pid = atomic_load(&S->pid[k]), tid = atomic_load(&S->tid[k]);
    snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", (int)pid, (int)tid,
             atomic_load(&S->schedstat) ? "schedstat" : "stat");
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t got = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[got] = '\0';
    if (atomic_load(&S->schedstat))
        return strtoll(buf, NULL, 10);
    char *p = strrchr(buf, ')');
    long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st) != 2)
        return -1;
    return (ut + st) * (1000000000ll / sysconf(_SC_CLK_TCK));
}

/* One sampling round: every worker's CPU time, between two clock reads. */
static int sample(int64_t *cpu, uint64_t *t_before, uint64_t *t_after)
{
    *t_before = wall_ns();
    int alive = 0;
    for (long k = 0; k < S->workers; k++) {
        int64_t v = worker_cpu_ns(k);
        if (v >= 0) {
            cpu[k] = v;
            alive++;
        }
    }
    *t_after = wall_ns();
    return alive;
}

/* Workers ran more CPU time in [prev_before, now_after] than that span is long: at least the
 * excess (less the tick lag of /proc) was spent with two or more of them running at once. */
static void account(const int64_t *prev, const int64_t *now, uint64_t span)
{
    int64_t sum = 0;
    for (long k = 0; k < S->workers; k++)
        sum += now[k] - prev[k];
    long width = (S->workers < S->ncpu ? S->workers : S->ncpu) - 1;
    if (width >= 1 && sum > (int64_t)span + LAG_NS)
        atomic_fetch_add(&S->overlap_ns,
                         (uint64_t)(sum - (int64_t)span - LAG_NS) / (uint64_t)width);
    atomic_fetch_add(&S->samples, 1);
}

static int sampler(void *arg)
{
    (void)arg;
    ipc_set_comm("cpu-sampler");
    for (long k = 0; k < S->workers; k++)
        while (!atomic_load(&S->tid[k]))
            if (sclock_poll(1) < 0)
                return 0;
    int64_t prev[MAX_WORKERS] = {0}, now[MAX_WORKERS] = {0};
    uint64_t pb, pa, nb, na;
    sample(prev, &pb, &pa);
    /* an observer: its windows are wall time whatever the pace, never steps */
    while (atomic_load(&S->done) < S->workers && sclock_observer_sleep(WINDOW_MS) == 0) {
        memcpy(now, prev, sizeof(now));
        sample(now, &nb, &na);
        account(prev, now, na - pb);
        memcpy(prev, now, sizeof(prev));
        pb = nb;
    }
    instr_gate_label(EV_VAR, EV_NO_OBJ, "report the overlap");
    int64_t self = self_overlap_ns();
    instr_emit(EV_VAR, EV_NO_OBJ, self < 0 ? -1 : self / 1000000, -1,
               (int64_t)(atomic_load(&S->overlap_ns) / 1000000ull));
    return 0;
}

/* ---- conductor side ---- */

static void find_cpus(void)
{
    cpu_set_t set;
    S->ncpu = 0;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        for (int c = 0; c < CPU_SETSIZE && S->ncpu < 2; c++)
            if (CPU_ISSET(c, &set))
                S->cpu_id[S->ncpu++] = c;
    if (!S->ncpu)
        S->cpu_id[S->ncpu++] = 0;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "workers") + 8);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->workers = scn_param(ctx, "workers");
    S->work_ms = scn_param(ctx, "work_ms");
    atomic_store(&S->cpus, (int)scn_param(ctx, "cpus"));
    find_cpus();
    atomic_store(&S->schedstat, access("/proc/self/schedstat", R_OK) == 0);
    S->team = (struct sync_team){.main_name = "main",
                                 .prefix = "worker-",
                                 .n = S->workers,
                                 .threads = (int)scn_param(ctx, "threads"),
                                 .body = body};
    int rc = sync_team_start(&S->team, err, n);
    if (rc < 0)
        return rc;
    pid_t pid = instr_spawn("sampler", sampler, NULL, 0);
    if (pid < 0) {
        snprintf(err, n, "cannot start the sampler: %s", strerror((int)-pid));
        return (int)pid;
    }
    return 0;
}

/* ---- overlap from the kernel's scheduler events (the model's timeline) ---- */

/* Mark the model's worker tasks with k + 1 (0: not a worker); returns how many of them the
 * kernel reported on. */
static int mark_workers(const struct model *m, uint8_t *worker)
{
    int seen = 0;
    for (size_t i = 0; i < m->ntasks; i++) {
        int k = 0;
        worker[i] = 0;
        if (m->tasks[i].slot == EV_NO_TASK || sscanf(m->tasks[i].name, "worker-%d", &k) != 1 ||
            k < 1 || k > S->workers)
            continue;
        worker[i] = (uint8_t)k;
        seen += m->tasks[i].switches > 0;
    }
    return seen;
}

/* Add the part of [a, b] that falls in worker k's measured window (pinned .. done). */
static size_t add_interval(struct edge *out, size_t n, int k, uint64_t a, uint64_t b)
{
    uint64_t lo = atomic_load(&S->t_start[k]), hi = atomic_load(&S->t_end[k]);
    if (!lo)
        return n;
    if (a < lo)
        a = lo;
    if (hi && b > hi)
        b = hi;
    if (b <= a)
        return n;
    out[n++] = (struct edge){a, 1};
    out[n++] = (struct edge){b, -1};
    return n;
}

/* RUNNING intervals of the workers as start/stop edges, from the timeline spans. */
static size_t running_edges(const struct model *m, const uint8_t *worker, uint64_t *since,
                            struct edge *out)
{
    size_t n = 0;
    const struct model_span *sp;
    for (size_t i = 0; (sp = model_span_at(m, i)); i++) {
        if (sp->task >= m->ntasks || !worker[sp->task])
            continue;
        if (sp->state == TS_RUNNING && !since[sp->task]) {
            since[sp->task] = sp->t ? sp->t : 1;
        } else if (sp->state != TS_RUNNING && since[sp->task]) {
            n = add_interval(out, n, worker[sp->task] - 1, since[sp->task], sp->t);
            since[sp->task] = 0;
        }
    }
    for (size_t t = 0; t < m->ntasks; t++)
        if (since[t])
            n = add_interval(out, n, worker[t] - 1, since[t], m->t_last);
    return n;
}

/* Time (ns) with two or more workers RUNNING at once by the kernel's sched events, or -1
 * when bpf did not report on the workers. */
static int64_t bpf_overlap_ns(const struct model *m)
{
    if (!(m->src_seen & (1u << EV_SRC_BPF)) || !m->ntasks)
        return -1;
    uint8_t *worker = calloc(m->ntasks, 1);
    uint64_t *since = calloc(m->ntasks, sizeof(*since));
    struct edge *e = malloc((2 * m->spans_len + 2 * m->ntasks) * sizeof(*e));
    int64_t overlap = -1;
    if (!worker || !since || !e || mark_workers(m, worker) == 0)
        goto cleanup;
    overlap = overlap_of(e, running_edges(m, worker, since, e));
cleanup:
    free(worker);
    free(since);
    free(e);
    return overlap;
}

/* From the first worker's start to the last one's end, or to now while one is still at its
 * work (the "took" meter grows with the run, not in jumps as workers finish). */
static uint64_t elapsed_ns(void)
{
    uint64_t first = 0, last = 0;
    int running = 0;
    for (long k = 0; k < S->workers; k++) {
        uint64_t a = atomic_load(&S->t_start[k]), b = atomic_load(&S->t_end[k]);
        if (a && (!first || a < first))
            first = a;
        if (b > last)
            last = b;
        running |= a && !b;
    }
    if (running) /* so far: a worker still at its work counts up to now */
        last = wall_ns();
    return last > first ? last - first : 0;
}

/* Of the time the workers could run (running or ready, by the kernel's scheduler events, or
 * without them by its schedstat totals), the smallest share one of them got a CPU: below 1
 * when other programs used the CPUs. -1 when the kernel said neither. */
static double min_got_cpu(const struct model *m)
{
    double least = -1;
    for (size_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        int k = 0;
        uint64_t v[4];
        if (t->slot == EV_NO_TASK || sscanf(t->name, "worker-%d", &k) != 1 ||
            (t->kernel_state == TS__COUNT && !t->ks_at))
            continue;
        model_task_times(t, m->t_last, v);
        if (!v[0])
            continue;
        double got = (double)v[0] / (double)(v[0] + v[1]);
        least = least < 0 || got < least ? got : least;
    }
    return least;
}

enum ov_source { OV_BPF, OV_SELF, OV_PROCFS };
static const char *const ov_source_name[] = {"bpf", "self", "procfs"};

/* Overlap (ns) by the best source: the kernel's events, else the workers' own clocks, else
 * (when a worker ran out of room for its intervals) the /proc estimate. */
static uint64_t overlap_ns(const struct model *m, enum ov_source *src)
{
    int64_t bpf = bpf_overlap_ns(m), self = bpf >= 0 ? -1 : self_overlap_ns();
    *src = bpf >= 0 ? OV_BPF : self >= 0 ? OV_SELF : OV_PROCFS;
    return bpf >= 0 ? (uint64_t)bpf : self >= 0 ? (uint64_t)self : atomic_load(&S->overlap_ns);
}

/* What the result means, for the pinned line (it holds 255 bytes: short sentences). */
static void result_text(const struct model *m, int zh, char *buf, size_t n)
{
    enum ov_source src;
    long ov = (long)(overlap_ns(m, &src) / 1000000ull), pct = ov * 100 / S->work_ms;
    double el = (double)elapsed_ns() / 1e9, sum = (double)(S->workers * S->work_ms) / 1e3;
    int len;
    if (ov < 1 && !atomic_load(&S->toggled) && atomic_load(&S->cpus) == 1)
        len = snprintf(buf, n,
                       zh ? "并发:在一个 CPU 上工作者从未同时运行(重叠 0 ms):它们轮流运行,"
                            "%ld × %ld ms 的工作用了 %.1f s。"
                          : "Concurrent: on one CPU the workers never ran at the same time (0 ms "
                            "overlap): they took turns, so %ld × %ld ms of work took %.1f s.",
                       S->workers, S->work_ms, el);
    else
        len = snprintf(buf, n,
                       zh ? "并行:工作者同时运行了 %ld ms,即各自 %ld ms 工作的 %ld%%;共用 %.1f s"
                            "(一个 CPU 约需 %.1f s)。"
                          : "Parallel: the workers ran at the same time for %ld ms, %ld%% of "
                            "each one's %ld ms of work; it all took %.1f s (one CPU: ~%.1f s).",
                       ov, zh ? S->work_ms : pct, zh ? pct : S->work_ms, el, sum);
    /* each worker's fair share of the time it could run: all of it when there is a CPU each,
     * else the CPUs' share (on one CPU two workers are each ready half the time because of
     * the other: that is the lesson, not other programs) */
    long cpus = atomic_load(&S->cpus);
    double fair = cpus >= S->workers ? 1.0 : (double)cpus / (double)S->workers;
    double got = min_got_cpu(m);
    if (got >= 0 && got < 0.9 * fair && !atomic_load(&S->toggled) && len > 0 && (size_t)len < n)
        snprintf(buf + len, n - (size_t)len,
                 zh ? " 其他程序也在用 CPU:工作者就绪时只有 %.0f%% 的时间在运行。"
                    : " Other programs shared the CPUs: a worker ran only %.0f%% of the time it "
                      "was ready.",
                 got * 100);
}

/* The pinned line: what to watch while the workers run, the result once they are done. */
static void update_pin(struct scn_ctx *ctx, const struct model *m)
{
    int zh = ctx->lang == LANG_ZH, cpus = atomic_load(&S->cpus);
    if (atomic_load(&S->done) == S->workers)
        result_text(m, zh, ctx->pin, sizeof(ctx->pin));
    else if (atomic_load(&S->started))
        snprintf(ctx->pin, sizeof(ctx->pin),
                 cpus == 1 ? (zh ? "%ld 个工作者共用一个 CPU:看它们的运行(RUNNING)区间——任一时刻"
                                   "只有一个在运行,其余在就绪队列里等(并发)。"
                                 : "%ld workers share one CPU: watch their RUNNING lanes - only "
                                   "one runs at any moment, the others wait ready (concurrency).")
                           : (zh ? "%ld 个工作者分在两个 CPU 上:看它们的运行(RUNNING)区间同时"
                                   "出现(并行)。"
                                 : "%ld workers on two CPUs: watch their RUNNING lanes overlap "
                                   "(parallelism)."),
                 S->workers);
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    /* the pin changes twice: at the first start, and when all are done */
    long state = atomic_load(&S->done) == S->workers ? 2 : atomic_load(&S->started) ? 1 : 0;
    if (state != S->pinned) {
        update_pin(ctx, m);
        S->pinned = state;
    }
    return 0;
}

static int act_cpus(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    int now = atomic_load(&S->cpus) == 1 ? 2 : 1;
    atomic_store(&S->cpus, now);
    atomic_store(&S->toggled, 1);
    snprintf(msg, n, "the workers move to %d CPU%s", now, now == 1 ? "" : "s");
    return 0;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    update_pin(ctx, m); /* the final numbers */
    if (atomic_load(&S->done) != S->workers) {
        snprintf(why, n, "%ld of %ld workers finished their work", atomic_load(&S->done),
                 S->workers);
        return -1;
    }
    /* what the screen says: the kernel's sched events when the probes ran, else the
     * workers' own clocks (two workers on one CPU never both run, so either is 0 there) */
    enum ov_source src;
    uint64_t ov = overlap_ns(m, &src);
    if (scn_param(ctx, "cpus") == 1 && !atomic_load(&S->toggled) && ov >= 1000000ull) {
        snprintf(why, n, "on one CPU the workers still overlapped for %llu ms (by %s)",
                 (unsigned long long)(ov / 1000000ull),
                 src == OV_BPF    ? "the kernel's sched events"
                 : src == OV_SELF ? "the workers' own clocks"
                                  : "/proc sampling");
        return -1;
    }
    if (scn_param(ctx, "cpus") == 2 && !atomic_load(&S->toggled) && S->workers >= 2 &&
        S->ncpu >= 2 && bpf_overlap_ns(m) == 0) {
        snprintf(why, n, "on two CPUs the kernel never ran two workers at the same time");
        return -1;
    }
    return 0;
}

static json_t *cpus_seen_json(void)
{
    json_t *all = json_array();
    for (long k = 0; k < S->workers; k++) {
        json_t *one = json_array();
        uint32_t mask = atomic_load(&S->cpus_seen[k]);
        for (int c = 0; c < 32; c++)
            if (mask & (1u << c))
                json_array_append_new(one, json_integer(c));
        json_array_append_new(all, one);
    }
    return all;
}

/* The result on screen (meters): the overlap out of each worker's work, and the wall time
 * beside the sum of the work (what one CPU would need). */
static json_t *meters_json(const struct model *m, int zh)
{
    enum ov_source src;
    double ov = (double)(overlap_ns(m, &src) / 1000000ull), el = (double)elapsed_ns() / 1e6;
    double sum = (double)(S->workers * S->work_ms);
    char t1[96], t2[96]; /* short: an 80-column dashboard leaves them 35 columns in all */
    snprintf(t1, sizeof(t1), zh ? "%.0f / %ld 毫秒" : "%.0f of %ld ms", ov, S->work_ms);
    snprintf(t2, sizeof(t2), zh ? "%.1f 秒做 %.1f 秒" : "%.1f s for %.1f s", el / 1e3, sum / 1e3);
    return json_pack("[{s:s, s:f, s:f, s:s}, {s:s, s:f, s:f, s:s}]", "label",
                     zh ? "重叠" : "overlap", "value", ov, "max", (double)S->work_ms, "text", t1,
                     "label", zh ? "用时" : "took", "value", el, "max", sum, "text", t2);
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    enum ov_source src;
    json_int_t chosen = (json_int_t)(overlap_ns(m, &src) / 1000000ull);
    int64_t bpf = bpf_overlap_ns(m), self = self_overlap_ns();
    json_object_set_new(out, "overlap_ms", json_integer(chosen));
    json_object_set_new(out, "overlap_pct_of_work", json_integer(chosen * 100 / S->work_ms));
    double got = min_got_cpu(m);
    if (got >= 0)
        json_object_set_new(out, "min_got_cpu_pct", json_integer((json_int_t)(got * 100 + 0.5)));
    json_object_set_new(out, "overlap_source", json_string(ov_source_name[src]));
    if (self >= 0)
        json_object_set_new(out, "overlap_self_ms", json_integer((json_int_t)(self / 1000000)));
    json_object_set_new(out, "overlap_procfs_ms",
                        json_integer((json_int_t)(atomic_load(&S->overlap_ns) / 1000000ull)));
    if (bpf >= 0)
        json_object_set_new(out, "overlap_bpf_ms", json_integer((json_int_t)(bpf / 1000000)));
    json_object_set_new(out, "procfs_clock",
                        json_string(atomic_load(&S->schedstat) ? "schedstat" : "utime+stime"));
    json_object_set_new(out, "cpus_used", json_integer(atomic_load(&S->cpus)));
    json_object_set_new(out, "cpus_seen", cpus_seen_json());
    json_object_set_new(out, "elapsed_ms", json_integer((json_int_t)(elapsed_ns() / 1000000ull)));
    json_object_set_new(out, "cpu_ms_each", json_integer(S->work_ms));
    json_object_set_new(out, "samples", json_integer(atomic_load(&S->samples)));
    json_object_set_new(out, "meters", meters_json(m, ctx->lang == LANG_ZH));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    if (e->kind != EV_VAR)
        return 0;
    const char *who = ipc_ev_task_name(m, e);
    if (e->item < 0 && e->val < 0) { /* a worker ran out of room for its intervals */
        snprintf(buf, n,
                 zh ? "采样器:工作者同时运行的时间约有 %lld 毫秒(由 /proc 中的 CPU 时间推算)。"
                    : "sampler: the workers ran at the same time for about %lld ms (from their "
                      "CPU times in /proc).",
                 (long long)e->aux);
        return 1;
    }
    if (e->item < 0) {
        snprintf(buf, n,
                 zh ? "采样器:按工作者自己的时钟,它们同时运行了 %lld 毫秒(/proc 中的 CPU "
                      "时间会滞后一个时钟节拍或更多,据此推算为 %lld 毫秒)。"
                    : "sampler: by their own clocks the workers ran at the same time for %lld ms "
                      "(their CPU times in /proc, which lag by a tick or more, give %lld ms).",
                 (long long)e->val, (long long)e->aux);
        return 1;
    }
    snprintf(buf, n,
             zh ? "%s 已用掉 %lld 毫秒 CPU 时间,现在在 CPU %lld 上。"
                : "%s has used %lld ms of CPU time, now on CPU %lld.",
             who, (long long)e->val, (long long)e->aux);
    return 1;
}

static const struct scenario_action actions[] = {
    {'c', "one CPU / two CPUs", "一个 CPU / 两个 CPU", act_cpus},
};

const struct scenario scenario_concurrency = {
    .id = "concurrency",
    .chapter = 10,
    .title_en = "Concurrency vs parallelism: one CPU or two",
    .title_zh = "并发与并行:一个 CPU 还是两个",
    .summary_en = "The same CPU-bound workers run pinned to one CPU (cpus=1) or spread over two "
                  "(cpus=2). On one CPU they are concurrent: the kernel gives each a time slice "
                  "in turn, so at any instant only one runs and the work takes the sum of their "
                  "times. On two CPUs they run in parallel: their RUNNING intervals overlap on the "
                  "timeline and the same work ends in about half the time.",
    .summary_zh = "同样的 CPU 密集型工作者,要么被绑定在一个 CPU 上(cpus=1),要么可以使用两个 "
                  "CPU(cpus=2)。在一个 CPU 上是并发:内核轮流给每个工作者分配时间片,任一时刻只有"
                  "一个在运行,总耗时是各自时间之和。在两个 CPU 上是并行:时间线上它们的运行区间"
                  "相互重叠,同样的工作大约只需一半时间。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct conc_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
