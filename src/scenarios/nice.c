/*
 * nice.c - CPU-bound processes with different nice values sharing one CPU (chapter 5).
 *
 * Every worker is pinned to the same CPU and spins for the same wall-clock window; worker k
 * runs at nice base + k*step. The scheduler gives each a CPU share by its weight (the
 * kernel's table, nice 0 = 1024, each step about 1.25 times), so the lower nice value (higher
 * priority, -20..19 in the notes) gets more of the CPU. Shares come from each process's CPU
 * clock over the window, as the kernel accounts it, and are set beside the shares the weights
 * predict. Stepping: each worker's start is a step; they start the window together and
 * compete unpaced, so any pace shows the kernel's shares. Negative nice values need
 * privileges (CAP_SYS_NICE); without them the worker says so and keeps its nice value.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../instr_sync.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define NICE_MAX 8

#define REPORT_NS 100000000ull /* a progress report per worker this often */

struct nice_worker {
    _Atomic int32_t pid;
    _Atomic int32_t nice_got;
    int32_t nice_wanted, nice_errno;
    _Atomic int64_t cpu_ns; /* CPU time used in the window so far */
};

struct nice_shared {
    long workers, step, negative, duration_ms;
    int cpu;
    _Atomic int started;  /* workers at the start of the window (a futex word) */
    _Atomic uint64_t end; /* the window's end (wall ns), set by the first to start it */
    _Atomic long done;    /* workers past the end of the window */
    long pinned;          /* conductor: the stage the pinned line was written for */
    struct nice_worker w[NICE_MAX];
};

/* The kernel's weight of each nice value (sched_prio_to_weight, -20..19): the CPU share of
 * a task is its weight over the sum of the weights of the tasks it competes with. */
static const int32_t NICE_WEIGHT[40] = {
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906,  3121,  2501,  1991,  1586,  1277,  1024,  820,   655,   526,   423,  335,  272,  215,
    172,   137,   110,   87,    70,    56,    45,    36,    29,    23,    18,   15};

static struct nice_shared *S;

static const struct scenario_param params[] = {
    {"workers", "CPU-bound processes", "CPU 密集型进程数", 1, NICE_MAX, 2},
    {"step", "nice difference between neighbours", "相邻进程的 nice 差值", 0, 19, 5},
    {"negative", "1: use negative nice values (needs privileges)", "1:使用负的 nice 值(需要特权)",
     0, 1, 0},
    {"duration_ms", "how long they compete", "竞争持续的毫秒数", 100, 60000, 1500},
};

static uint64_t clock_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wall time (ns): the competition's window is measured on it, never waited on. */
static uint64_t wall_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC); /* sclock-ok: a measurement, not a wait */
}

static int32_t weight_of(int nice)
{
    return NICE_WEIGHT[(nice < -20 ? -20 : nice > 19 ? 19 : nice) + 20];
}

/* The share the weights predict for worker k, given every worker's nice value now. */
static double expected_share(long k)
{
    double sum = 0;
    for (long i = 0; i < S->workers; i++)
        sum += weight_of(atomic_load(&S->w[i].nice_got));
    return sum > 0 ? weight_of(atomic_load(&S->w[k].nice_got)) / sum : 0;
}

static void pin_and_renice(struct nice_worker *w)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(S->cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
    if (setpriority(PRIO_PROCESS, 0, w->nice_wanted) < 0) {
        w->nice_errno = errno;
        instr_note("nice %d refused: needs CAP_SYS_NICE", w->nice_wanted);
    }
    errno = 0;
    atomic_store(&w->nice_got, getpriority(PRIO_PROCESS, 0));
}

/* Wait for every worker, then (the first one) fix the window's end; returns the end. */
static uint64_t start_window(void)
{
    sync_start_together(&S->started, (int)S->workers); /* held: all are let through first */
    int seen;
    while ((seen = atomic_load(&S->started)) < S->workers) /* free: the last fork is near */
        if (ipc_wait_word(&S->started, seen, 50) < 0)
            return 0;
    uint64_t expect = 0, end = wall_ns() + (uint64_t)S->duration_ms * 1000000ull;
    if (!atomic_compare_exchange_strong(&S->end, &expect, end))
        end = expect;
    return end;
}

/* This worker's share (per mille) of the CPU time all the workers have had in the window. */
static int64_t share_permille(const struct nice_worker *w)
{
    int64_t sum = 0;
    for (long k = 0; k < S->workers; k++)
        sum += atomic_load(&S->w[k].cpu_ns);
    return sum > 0 ? atomic_load(&w->cpu_ns) * 1000 / sum : 0;
}

/* Report: val = CPU ms had in the window, item = worker, aux = its share (per mille). */
static void report(const struct nice_worker *w, long k)
{
    instr_emit(EV_VAR, EV_NO_OBJ, atomic_load(&w->cpu_ns) / 1000000, k, share_permille(w));
}

/* Spin until the window ends, reporting after each REPORT_NS of wall time. The competition
 * is the lesson's substance: unpaced. */
static void compete(struct nice_worker *w, long k, uint64_t end)
{
    uint64_t t0 = wall_ns(), cpu0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), next = t0 + REPORT_NS;
    volatile uint64_t spin = 0;
    sclock_unpaced_begin();
    for (uint64_t now = t0; now < end && !ipc_stopping(); now = wall_ns()) {
        for (int i = 0; i < 100000; i++)
            spin++;
        atomic_store(&w->cpu_ns, (int64_t)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0));
        if (now >= next) {
            report(w, k);
            next += REPORT_NS;
        }
    }
    sclock_unpaced_end();
    atomic_store(&w->cpu_ns, (int64_t)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0));
    report(w, k);
}

static int worker(void *arg)
{
    struct nice_worker *w = &S->w[(intptr_t)arg];
    char comm[16]; /* as its task is named: ps shows "nice+5" beside NI 5, never "nice-1" */
    snprintf(comm, sizeof(comm), "nice%+d", w->nice_wanted);
    ipc_set_comm(comm);
    atomic_store(&w->pid, getpid());
    /* a step of its own: the class sees each worker take its nice value before any spins */
    instr_gate_timed(EV_NOTE, EV_NO_OBJ, sclock_now(), w->nice_wanted, "setpriority(nice)");
    pin_and_renice(w);
    instr_gate_timed(EV_NOTE, EV_NO_OBJ, sclock_now(), 0, "start spinning"); /* competes */
    instr_note("nice %d: spin on CPU %d", atomic_load(&w->nice_got), S->cpu);
    uint64_t end = start_window();
    if (end)
        compete(w, (intptr_t)arg, end);
    atomic_fetch_add(&S->done, 1);
    return 0;
}

static int first_cpu(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            return c;
    return 0;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "workers") + 8);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->workers = scn_param(ctx, "workers");
    S->step = scn_param(ctx, "step");
    S->negative = scn_param(ctx, "negative");
    S->duration_ms = scn_param(ctx, "duration_ms");
    S->cpu = first_cpu();
    long base = S->negative ? -S->step * (S->workers - 1) : 0;
    for (long k = 0; k < S->workers; k++) {
        long v = base + k * S->step;
        S->w[k].nice_wanted = (int32_t)(v < -20 ? -20 : v > 19 ? 19 : v);
    }
    for (long k = 0; k < S->workers; k++) {
        char name[32];
        snprintf(name, sizeof(name), "nice%+d", S->w[k].nice_wanted);
        pid_t pid = instr_spawn(name, worker, (void *)(intptr_t)k, 0);
        if (pid < 0) {
            snprintf(err, n, "cannot fork %s: %s", name, strerror((int)-pid));
            return (int)pid;
        }
    }
    return 0;
}

static int act_renice(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    pid_t pid = atomic_load(&S->w[0].pid);
    if (pid <= 0 || setpriority(PRIO_PROCESS, (id_t)pid, 19) < 0) {
        snprintf(msg, n, "cannot renice the first worker: %s", strerror(errno));
        return -errno;
    }
    atomic_store(&S->w[0].nice_got, 19);
    snprintf(msg, n, "the first worker now runs at nice 19");
    return 0;
}

static int64_t total_cpu(void)
{
    int64_t sum = 0;
    for (long k = 0; k < S->workers; k++)
        sum += atomic_load(&S->w[k].cpu_ns);
    return sum;
}

/* "nice 0 76% (75%), nice 5 24% (25%)": measured shares, and in brackets the weights'. With
 * measured 0 only the weights' ("nice 0 75%, nice 5 25%"). */
static int shares_text(int measured, char *buf, size_t n)
{
    int64_t sum = total_cpu();
    size_t len = 0;
    buf[0] = '\0';
    for (long k = 0; k < S->workers && len < n; k++) {
        int want = (int)(expected_share(k) * 100 + 0.5);
        int got = sum ? (int)((double)atomic_load(&S->w[k].cpu_ns) * 100 / (double)sum + 0.5) : 0;
        int nice = atomic_load(&S->w[k].nice_got);
        len += (size_t)(measured ? snprintf(buf + len, n - len, "%snice %d %d%% (%d%%)",
                                            k ? ", " : "", nice, got, want)
                                 : snprintf(buf + len, n - len, "%snice %d %d%%", k ? ", " : "",
                                            nice, want));
    }
    return (int)len;
}

/* The pinned line: what the weights predict while they compete, then what they got. */
static void update_pin(struct scn_ctx *ctx)
{
    int zh = ctx->lang == LANG_ZH, done = atomic_load(&S->done) == S->workers;
    char list[200];
    shares_text(done, list, sizeof(list));
    if (done)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 zh ? "CPU%d 的份额(括号里是按内核权重的预期):%s。nice 值每低 1,权重约高 "
                      "1.25 倍。"
                    : "Shares of CPU %d (the kernel's weights predict the bracket): %s. Each "
                      "nice step lower weighs about 1.25 times more.",
                 S->cpu, list);
    else
        snprintf(ctx->pin, sizeof(ctx->pin),
                 zh ? "它们在 CPU%d 上竞争 %ld ms;按内核的权重(nice 0 = 1024),预期份额:%s。"
                    : "They compete for CPU %d for %ld ms; by the kernel's weights (nice 0 = "
                      "1024) the shares should be: %s.",
                 S->cpu, S->duration_ms, list);
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    long stage = atomic_load(&S->done) == S->workers ? 2 : atomic_load(&S->started) ? 1 : 0;
    if (stage != S->pinned) { /* the pin changes twice: at the first start, at the end */
        update_pin(ctx);
        S->pinned = stage;
    }
    return 0;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)m;
    update_pin(ctx); /* the final shares */
    const struct nice_worker *lo = &S->w[0], *hi = &S->w[S->workers - 1];
    if (atomic_load(&S->done) != S->workers) {
        snprintf(why, n, "%ld of %ld workers finished competing", atomic_load(&S->done),
                 S->workers);
        return -1;
    }
    if (S->workers < 2 || atomic_load(&lo->nice_got) >= atomic_load(&hi->nice_got))
        return 0;
    if (atomic_load(&lo->cpu_ns) <= atomic_load(&hi->cpu_ns)) {
        snprintf(why, n, "nice %d got no more CPU than nice %d", atomic_load(&lo->nice_got),
                 atomic_load(&hi->nice_got));
        return -1;
    }
    return 0;
}

/* The result on screen: each worker's share of the CPU beside the weights' (meters). */
static json_t *meters_json(int zh)
{
    json_t *arr = json_array();
    int64_t sum = total_cpu();
    for (long k = 0; k < S->workers; k++) {
        double got = sum ? (double)atomic_load(&S->w[k].cpu_ns) * 100 / (double)sum : 0;
        char label[32], text[96];
        snprintf(label, sizeof(label), "nice %d", atomic_load(&S->w[k].nice_got));
        snprintf(text, sizeof(text),
                 zh ? "%.0f%%,权重预期 %.0f%%" : "%.0f%%, weights %.0f%%", /* fits 80x24 */
                 got, expected_share(k) * 100);
        json_array_append_new(arr, json_pack("{s:s, s:f, s:f, s:s}", "label", label, "value", got,
                                             "max", 100.0, "text", text));
    }
    return arr;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)m;
    json_t *arr = json_array();
    int64_t sum = total_cpu();
    int refused = 0;
    for (long k = 0; k < S->workers; k++) {
        const struct nice_worker *w = &S->w[k];
        int64_t cpu = atomic_load(&w->cpu_ns);
        int nice = atomic_load(&w->nice_got);
        refused |= w->nice_errno != 0;
        json_array_append_new(
            arr, json_pack("{s:i, s:i, s:i, s:i, s:f, s:f, s:f}", "pid", atomic_load(&w->pid),
                           "nice_wanted", w->nice_wanted, "nice", nice, "weight", weight_of(nice),
                           "cpu_ms", cpu / 1e6, "share", sum ? (double)cpu / (double)sum : 0.0,
                           "expected_share", expected_share(k)));
    }
    json_object_set_new(out, "cpu", json_integer(S->cpu));
    json_object_set_new(out, "window_ms", json_integer(S->duration_ms));
    json_object_set_new(out, "meters", meters_json(ctx->lang == LANG_ZH));
    json_object_set_new(out, "cpu_share", arr);
    json_object_set_new(out, "nice_refused", json_boolean(refused));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const char *who = ipc_ev_task_name(m, e);
    int zh = lang == LANG_ZH;
    if (!S || e->kind != EV_VAR || e->item < 0 || e->item >= S->workers)
        return 0; /* !S: a replay, with no run's weights to compare with */
    int want = (int)(expected_share(e->item) * 100 + 0.5);
    snprintf(buf, n,
             zh ? "%s 到目前为止得到 %lld ms CPU,占所有工作者所得的 %lld%%;按权重预期 %d%%。"
                  "nice 值越小,分到的 CPU 越多。"
                : "%s has had %lld ms of CPU so far, %lld%% of what the workers got together; its "
                  "weight predicts %d%%. The lower the nice value, the bigger its share.",
             who, (long long)e->val, (long long)(e->aux + 5) / 10, want);
    return 1;
}

static const struct scenario_action actions[] = {
    {'r', "renice the first worker to 19", "把第一个进程的 nice 改为 19", act_renice},
};

const struct scenario scenario_nice = {
    .id = "nice",
    .chapter = 5,
    .title_en = "nice: priorities and CPU share",
    .title_zh = "nice:优先级与 CPU 份额",
    .summary_en = "CPU-bound processes with different nice values compete for one CPU (all are "
                  "pinned to the same one). Priorities run from -20 (highest) to 19 (lowest); "
                  "the scheduler weighs each process by its nice value, so the bars of CPU share "
                  "favour the lower nice. Negative values need privileges (CAP_SYS_NICE); "
                  "without them the worker says so.",
    .summary_zh = "几个 nice 值不同的 CPU 密集型进程争用同一个 CPU(都绑定在同一个 CPU 上)。"
                  "优先级从 -20(最高)到 19(最低);调度器按 nice 值给进程加权,所以 nice 值小的"
                  "进程分到的 CPU 份额更大。负的 nice 值需要特权(CAP_SYS_NICE),没有时会说明。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct nice_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
