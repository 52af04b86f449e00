/*
 * nice.c - CPU-bound processes with different nice values sharing one CPU (chapter 5).
 *
 * Every worker is pinned to the same CPU and spins for the same wall-clock time; worker k
 * runs at nice base + k*step. The scheduler gives each a CPU share by its weight, so the
 * lower nice value (higher priority, -20..19 in the notes) gets more of the CPU. Shares come
 * from each process's CPU clock, as the kernel accounts it. Negative nice values need
 * privileges (CAP_SYS_NICE); without them the worker says so and keeps its nice value.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../scenario.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define NICE_MAX 8

struct nice_worker {
    _Atomic int32_t pid;
    int32_t nice_wanted, nice_got, nice_errno;
    _Atomic int64_t cpu_ns;
};

struct nice_shared {
    long workers, step, negative, duration_ms;
    int cpu;
    struct nice_worker w[NICE_MAX];
};

static struct nice_shared *S;

static const struct scenario_param params[] = {
    {"workers", "CPU-bound processes", "CPU 密集型进程数", 1, NICE_MAX, 2},
    {"step", "nice difference between neighbours", "相邻进程的 nice 差值", 0, 19, 5},
    {"negative", "1: use negative nice values (needs privileges)", "1:使用负的 nice 值(需要特权)",
     0, 1, 0},
    {"duration_ms", "how long they compete", "竞争持续的毫秒数", 100, 60000, 1500},
};

static uint64_t mono_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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
    w->nice_got = getpriority(PRIO_PROCESS, 0);
}

static int worker(void *arg)
{
    struct nice_worker *w = &S->w[(intptr_t)arg];
    char comm[16];
    snprintf(comm, sizeof(comm), "nice-%ld", (long)(intptr_t)arg);
    ipc_set_comm(comm);
    atomic_store(&w->pid, getpid());
    pin_and_renice(w);
    uint64_t end = mono_ns(CLOCK_MONOTONIC) + (uint64_t)S->duration_ms * 1000000ull;
    uint64_t next = 0;
    volatile uint64_t spin = 0;
    while (!ipc_stopping()) {
        uint64_t now = mono_ns(CLOCK_MONOTONIC);
        if (now >= end)
            break;
        if (now >= next) { /* report the CPU time used so far, every 100 ms */
            atomic_store(&w->cpu_ns, (int64_t)mono_ns(CLOCK_PROCESS_CPUTIME_ID));
            instr_gate(EV_VAR, EV_NO_OBJ);
            instr_emit(EV_VAR, EV_NO_OBJ, atomic_load(&w->cpu_ns) / 1000000, (intptr_t)arg, 0);
            next = now + 100000000ull;
        }
        for (int i = 0; i < 100000; i++)
            spin++;
    }
    atomic_store(&w->cpu_ns, (int64_t)mono_ns(CLOCK_PROCESS_CPUTIME_ID));
    instr_emit(EV_VAR, EV_NO_OBJ, atomic_load(&w->cpu_ns) / 1000000, (intptr_t)arg, 0);
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
    S->w[0].nice_got = 19;
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

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    (void)m;
    const struct nice_worker *lo = &S->w[0], *hi = &S->w[S->workers - 1];
    if (S->workers < 2 || lo->nice_got >= hi->nice_got)
        return 0;
    if (atomic_load(&lo->cpu_ns) <= atomic_load(&hi->cpu_ns)) {
        snprintf(why, n, "nice %d got no more CPU than nice %d", lo->nice_got, hi->nice_got);
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_t *arr = json_array();
    int64_t sum = total_cpu();
    int refused = 0;
    for (long k = 0; k < S->workers; k++) {
        const struct nice_worker *w = &S->w[k];
        int64_t cpu = atomic_load(&w->cpu_ns);
        refused |= w->nice_errno != 0;
        json_array_append_new(arr, json_pack("{s:i, s:i, s:i, s:f, s:f}", "pid",
                                             atomic_load(&w->pid), "nice_wanted", w->nice_wanted,
                                             "nice", w->nice_got, "cpu_ms", cpu / 1e6, "share",
                                             sum ? (double)cpu / (double)sum : 0.0));
    }
    json_object_set_new(out, "cpu", json_integer(S->cpu));
    json_object_set_new(out, "cpu_share", arr);
    json_object_set_new(out, "nice_refused", json_boolean(refused));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const char *who = ipc_ev_task_name(m, e);
    int zh = lang == LANG_ZH;
    if (e->kind != EV_VAR)
        return 0;
    snprintf(buf, n,
             zh ? "%s 到目前为止用了 %lld ms CPU。nice 值越小(优先级越高),分到的 CPU 越多。"
                : "%s has used %lld ms of CPU so far. The lower the nice value (the higher the "
                  "priority), the bigger its share.",
             who, (long long)e->val);
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
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
