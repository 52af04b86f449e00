/*
 * shared_memory.c - processes incrementing a shared counter, with and without a lock
 * (chapter 6).
 *
 * N processes each add 1 to a counter in shared memory (multiprocessing.Value) `increments`
 * times, by reading it, yielding the CPU and writing back the value plus one, and fill their
 * own part of a shared array (multiprocessing.Array). Without a lock, read-yield-write
 * sequences interleave and updates are lost: the final value is below the expected one.
 * With the lock (a key toggles it) no update is lost.
 *
 * Stepped or paced, each process makes its first `stepped` increments one action at a time
 * (read, write: the teacher can interleave them and lose an update by hand); once all have,
 * they run the rest together at the machine's speed (unpaced), so the lost updates of a real
 * race show in the counts, which the narration pins: expected, counter, lost.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define SHM_PROCS_MAX 16
#define SHM_ARRAY_PER 4

struct shm_shared {
    long procs, increments, stepped;
    _Atomic int ready;   /* processes done with their stepped increments (a futex word) */
    _Atomic int lock_on; /* read at every increment: the key toggles it live */
    _Atomic int lock_toggled;
    struct instr_obj *counter_obj, *array_obj, *lock;
    volatile int64_t counter; /* the Value */
    volatile int64_t array[SHM_PROCS_MAX * SHM_ARRAY_PER];
    _Atomic long done; /* increments completed (the expected value) */
};

static struct shm_shared *S;

static const struct scenario_param params[] = {
    {"procs", "processes", "进程数", 1, SHM_PROCS_MAX, 4},
    {"increments", "increments per process", "每个进程的加一次数", 1, 1000000, 2000},
    {"lock", "1: hold a lock around each read-modify-write", "1:每次读-改-写都加锁", 0, 1, 0},
    {"stepped",
     "increments each process makes one step at a time before the rest run at full "
     "speed (step mode and paced runs)",
     "每个进程先逐步执行的加一次数,之后其余的全速运行(单步与限速运行时)", 0, 1000000, 2},
};

/* One increment: read, yield (to invite a race), write back; under the lock when on. */
static void increment(void)
{
    int locked = atomic_load(&S->lock_on);
    if (locked)
        instr_mutex_lock(S->lock);
    instr_gate(EV_SHM_READ, S->counter_obj->id);
    int64_t v = S->counter;
    instr_op(S->counter_obj, EV_SHM_READ, v, 0, 0);
    sched_yield();
    instr_gate(EV_SHM_WRITE, S->counter_obj->id);
    S->counter = v + 1;
    instr_op(S->counter_obj, EV_SHM_WRITE, v + 1, 0, 0);
    if (locked)
        instr_mutex_unlock(S->lock);
    atomic_fetch_add(&S->done, 1);
}

static void fill_array(long k)
{
    for (int j = 0; j < SHM_ARRAY_PER; j++) {
        long idx = k * SHM_ARRAY_PER + j;
        instr_gate(EV_SHM_WRITE, S->array_obj->id);
        S->array[idx] = (k + 1) * 100 + j;
        instr_op(S->array_obj, EV_SHM_WRITE, S->array[idx], idx, 0);
    }
}

/* Wait until every process has made its stepped increments, then leave the gate's pace.
 * While the gate holds, the wait is for the teacher to step the others: gate time (as at
 * the gate itself), not blocked on an object of the lesson. */
static void go_unpaced(void)
{
    atomic_fetch_add(&S->ready, 1);
    ipc_wake_word(&S->ready);
    int gate = sclock_held() && atomic_load(&S->ready) < S->procs;
    if (gate)
        instr_gate_mark(1, "wait for others");
    int stop = 0; /* each arrival wakes it (the count changes): it need not look every 100 ms */
    for (int seen; !stop && (seen = atomic_load(&S->ready)) < S->procs;)
        stop = ipc_wait_word(&S->ready, seen, SCLOCK_IDLE_SLICE_MS) < 0;
    if (gate)
        instr_gate_mark(0, NULL);
    if (!stop)
        sclock_unpaced_begin();
}

static int worker(void *arg)
{
    long k = (long)(intptr_t)arg;
    ipc_set_comm("shm-worker");
    fill_array(k);
    long i = 0;
    for (; i < S->increments && i < S->stepped && !ipc_stopping(); i++)
        increment();
    if (i < S->increments) {
        instr_note("%ld more at full speed", S->increments - i);
        go_unpaced();
    }
    for (; i < S->increments && !ipc_stopping(); i++)
        increment();
    sclock_unpaced_end();
    return 0;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "procs") + 8);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->procs = scn_param(ctx, "procs");
    S->increments = scn_param(ctx, "increments");
    S->stepped = scn_param(ctx, "stepped");
    atomic_store(&S->lock_on, (int)scn_param(ctx, "lock"));
    S->counter_obj = instr_obj_new("counter", OK_SHM, 0, 0);
    S->array_obj = instr_obj_new("array", OK_SHM, 0, S->procs * SHM_ARRAY_PER);
    S->lock = instr_mutex_new("lock");
    if (!S->counter_obj || !S->array_obj || !S->lock) {
        snprintf(err, n, "shared-memory: out of object slots");
        return -ENOMEM;
    }
    return ipc_fork_n("worker", S->procs, worker, err, n);
}

static int act_toggle_lock(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    int now = !atomic_load(&S->lock_on);
    atomic_store(&S->lock_on, now);
    atomic_store(&S->lock_toggled, 1);
    snprintf(msg, n, "the lock is now %s", now ? "on" : "off");
    return 0;
}

static long lost_updates(void)
{
    return atomic_load(&S->done) - S->counter;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    (void)m;
    long done = atomic_load(&S->done), want = S->procs * S->increments;
    if (done < want) { /* a worker that ended early: the counts say nothing about the race */
        snprintf(why, n, "%ld of %ld increments done", done, want);
        return -1;
    }
    for (long i = 0; i < S->procs * SHM_ARRAY_PER; i++) {
        if (S->array[i] != (i / SHM_ARRAY_PER + 1) * 100 + i % SHM_ARRAY_PER) {
            snprintf(why, n, "array[%ld] = %lld", i, (long long)S->array[i]);
            return -1;
        }
    }
    if (atomic_load(&S->lock_on) && !atomic_load(&S->lock_toggled) && lost_updates() != 0) {
        snprintf(why, n, "%ld updates lost even with the lock", lost_updates());
        return -1;
    }
    return 0;
}

/* The lesson's numbers, pinned: expected, counter, lost. */
static void pin_counts(struct scn_ctx *ctx)
{
    long done = atomic_load(&S->done), lost = lost_updates();
    if (!done)
        return;
    snprintf(ctx->pin, sizeof(ctx->pin),
             ctx->lang == LANG_ZH ? "期望 %ld(完成的加一次数),计数器 = %lld:丢失了 %ld 次更新%s。"
                                  : "Expected %ld (increments done), the counter says %lld: %ld "
                                    "updates lost%s.",
             done, (long long)S->counter, lost,
             lost ? (ctx->lang == LANG_ZH ? "(两个进程读到同一个值,各自写回)"
                                          : " (two processes read the same value and both wrote "
                                            "it back plus one)")
                  : "");
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    pin_counts(ctx);
    return 0;
}

static void teardown(struct scn_ctx *ctx)
{
    pin_counts(ctx); /* the final counts, once every worker is gone */
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)m;
    json_t *arr = json_array();
    for (long i = 0; i < S->procs * SHM_ARRAY_PER; i++)
        json_array_append_new(arr, json_integer(S->array[i]));
    json_object_set_new(out, "lock", json_boolean(atomic_load(&S->lock_on)));
    json_object_set_new(out, "lock_toggled", json_boolean(atomic_load(&S->lock_toggled)));
    json_object_set_new(out, "expected", json_integer(atomic_load(&S->done)));
    json_object_set_new(out, "actual", json_integer(S->counter));
    json_object_set_new(out, "lost_updates", json_integer(lost_updates()));
    json_object_set_new(out, "array", arr);
    long expected = atomic_load(&S->done), lost = lost_updates();
    int zh = ctx->lang == LANG_ZH;
    /* short texts: a meter is one line under the objects (35 columns at 80x24); the pinned
     * narration says the rest */
    scn_meter(out, zh ? "计数器" : "counter", (double)S->counter, (double)expected,
              zh ? "%lld，应为 %ld" : "%lld of %ld", (long long)S->counter, expected);
    scn_meter(out, zh ? "丢失的更新" : "lost updates", (double)lost, (double)expected,
              zh ? "%ld%s" : "%ld%s", lost,
              atomic_load(&S->lock_on) ? (zh ? "（有锁）" : ", locked") : "");
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const struct model_obj *o = e->obj < m->nobjs ? &m->objs[e->obj] : NULL;
    const char *who = ipc_ev_task_name(m, e);
    int zh = lang == LANG_ZH;
    if (!o || strcmp(o->name, "counter") != 0)
        return 0;
    if (e->kind == EV_SHM_READ) {
        snprintf(
            buf, n,
            zh ? "%s 读到 counter = %lld,然后让出 CPU;如果没有锁,别人可能在它写回前也读到同一个值。"
               : "%s read counter = %lld and yields the CPU; without a lock another process "
                 "may read the same value before it writes back.",
            who, (long long)e->val);
        return 1;
    }
    if (e->kind == EV_SHM_WRITE) {
        snprintf(buf, n,
                 zh ? "%s 写回 counter = %lld。若别人在此期间也写过,那次加一就丢失了。"
                    : "%s wrote counter = %lld. If someone else wrote in between, their "
                      "increment is lost.",
                 who, (long long)e->val);
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'l', "toggle the lock", "切换是否加锁", act_toggle_lock},
};

const struct scenario scenario_shared_memory = {
    .id = "shared-memory",
    .chapter = 6,
    .title_en = "Shared memory: lost updates without a lock",
    .title_zh = "共享内存:不加锁时更新会丢失",
    .summary_en = "Several processes add 1 to a counter in shared memory (like "
                  "multiprocessing.Value) many times, and fill a shared array (like "
                  "multiprocessing.Array). Each increment reads the counter, yields the CPU and "
                  "writes back; without a lock two processes read the same value and one "
                  "increment is lost. Compare the expected and actual counts, then turn the lock "
                  "on.",
    .summary_zh = "多个进程对共享内存中的计数器(类似 multiprocessing.Value)反复加一,并填写共享数组"
                  "(类似 multiprocessing.Array)。每次加一先读计数器、让出 CPU、再写回;不加锁时"
                  "两个进程可能读到同一个值,其中一次加一就丢失了。比较期望值与实际值,然后打开锁。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct shm_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .teardown = teardown,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
