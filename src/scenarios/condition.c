/*
 * condition.c - producer and consumer threads on a condition variable (chapter 9).
 *
 * threading.Condition is a lock plus a wait queue: consumers call con.acquire(), and while
 * there is nothing to take, con.wait(), which releases the lock and sleeps, then takes the
 * lock back before returning; producers put an item under the lock and con.notify(). The
 * events show the lock released at cond_wait and reacquired at cond_wake. With notify_all=1
 * every waiter wakes, and all but one find nothing and wait again.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../instr_sync.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cond_shared {
    struct instr_obj *lock, *con, *items, *join;
    long producers, consumers, total, produce_ms;
    _Atomic int notify_all;
    long produced, consumed; /* under lock */
    int done;                /* under lock: every item has been produced */
    _Atomic long wakeups, empty_wakeups;
    uint8_t *seen;
};

static struct cond_shared *S;

struct cond_thread {
    pthread_t th;
    long k;
    _Atomic int32_t tid;
};

static const struct scenario_param params[] = {
    {"producers", "producer threads", "生产者线程数", 1, 8, 1},
    {"consumers", "consumer threads", "消费者线程数", 1, 8, 2},
    {"items", "items to produce in all", "生产的物品总数", 1, 1000, 8},
    {"produce_ms", "time to make one item", "生产一个物品的毫秒数", 0, 5000, 100},
    {"notify_all", "1: con.notify_all() instead of con.notify()",
     "1:用 con.notify_all() 代替 con.notify()", 0, 1, 0},
};

/* The thread's name in the kernel too (ps -L, /proc/PID/task/TID/comm). */
static void name_thread(const char *role, long k)
{
    char name[32];
    snprintf(name, sizeof(name), "%s-%ld", role, k + 1);
    ipc_set_comm(name);
}

static void *producer(void *arg)
{
    struct cond_thread *ct = arg;
    name_thread("producer", ct->k);
    atomic_store(&ct->tid, (int32_t)gettid());
    for (long id = ct->k; id < S->total && !ipc_stopping(); id += S->producers) {
        sclock_sleep(S->produce_ms, 0, "making an item");
        instr_mutex_lock(S->lock); /* con.acquire() */
        instr_queue_put(S->items, id);
        S->done = ++S->produced == S->total;
        if (S->done || atomic_load(&S->notify_all))
            instr_cond_broadcast(S->con);
        else
            instr_cond_signal(S->con);
        instr_mutex_unlock(S->lock); /* con.release() */
    }
    return NULL;
}

/* Under the lock: wait while there is nothing to take. 0 when an item is there. */
static int wait_for_item(void)
{
    while (S->items->value == 0 && !S->done && !ipc_stopping()) {
        instr_cond_wait(S->con, S->lock);
        atomic_fetch_add(&S->wakeups, 1);
        if (S->items->value == 0 && !S->done)
            atomic_fetch_add(&S->empty_wakeups, 1);
    }
    return S->items->value > 0 ? 0 : -1;
}

static void *consumer(void *arg)
{
    struct cond_thread *ct = arg;
    name_thread("consumer", ct->k);
    atomic_store(&ct->tid, (int32_t)gettid());
    for (;;) {
        instr_mutex_lock(S->lock);
        int64_t id = -1;
        if (wait_for_item() < 0) {
            instr_mutex_unlock(S->lock);
            break;
        }
        instr_queue_get(S->items, &id);
        S->consumed++;
        if (id >= 0 && id < S->total)
            S->seen[id]++;
        instr_mutex_unlock(S->lock);
        sclock_sleep(10, 0, "using the item");
    }
    return NULL;
}

static int start(struct cond_thread *ct, const char *role, long k, void *(*fn)(void *))
{
    char name[INSTR_NAME_MAX];
    snprintf(name, sizeof(name), "%s-%ld", role, k + 1);
    ct->k = k;
    return instr_thread_spawn(&ct->th, name, fn, ct);
}

static int main_thread(void *arg)
{
    (void)arg;
    ipc_set_comm("cond-main");
    long n = S->producers + S->consumers, started = 0;
    struct cond_thread *ct = calloc((size_t)n, sizeof(*ct));
    if (!ct)
        return 1;
    for (long i = 0; i < n; i++, started++) {
        int p = i < S->producers;
        if (start(&ct[i], p ? "producer" : "consumer", p ? i : i - S->producers,
                  p ? producer : consumer) != 0)
            break;
    }
    /* the object shows how many are left to join (item 1: the first, narrated) */
    S->join->value = started;
    instr_op(S->join, EV_OBJ_SET, S->join->value, 1, 0);
    for (long i = 0; i < started; i++) {
        while (!atomic_load(&ct[i].tid))
            sched_yield();
        sync_join(S->join, ct[i].th, atomic_load(&ct[i].tid));
        instr_op(S->join, EV_OBJ_SET, S->join->value, 0, 0);
    }
    free(ct);
    return started == n ? 0 : 1;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "producers") + scn_param(ctx, "consumers") + 8);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->producers = scn_param(ctx, "producers");
    S->consumers = scn_param(ctx, "consumers");
    S->total = scn_param(ctx, "items");
    S->produce_ms = scn_param(ctx, "produce_ms");
    atomic_store(&S->notify_all, (int)scn_param(ctx, "notify_all"));
    S->seen = instr_shared_alloc((size_t)S->total);
    S->lock = instr_mutex_new("con-lock");
    S->con = instr_cond_new("con");
    S->items = instr_queue_new("items", S->total);
    S->join = instr_obj_new("join", OK_PROCESS, 0, 0);
    if (!S->seen || !S->lock || !S->con || !S->items || !S->join) {
        snprintf(err, n, "condition: out of shared memory or object slots");
        return -ENOMEM;
    }
    pid_t pid = instr_spawn("main", main_thread, NULL, 0);
    if (pid < 0) {
        snprintf(err, n, "cannot start main: %s", strerror((int)-pid));
        return (int)pid;
    }
    return 0;
}

static int act_notify(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    int all = !atomic_load(&S->notify_all);
    atomic_store(&S->notify_all, all);
    snprintf(msg, n,
             all ? "producers now call con.notify_all()" : "producers now call con.notify()");
    return 0;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    (void)m;
    for (long id = 0; id < S->total; id++)
        if (S->seen[id] != 1) {
            snprintf(why, n, "item %ld was consumed %d times", id, S->seen[id]);
            return -1;
        }
    return 0;
}

/* Once every item was taken: the lesson's result, pinned over the exit and join lines. */
static void pin_result(struct scn_ctx *ctx)
{
    long consumed = S->consumed, wakeups = atomic_load(&S->wakeups);
    long empty = atomic_load(&S->empty_wakeups);
    int zh = ctx->lang == LANG_ZH;
    if (consumed < S->total)
        return;
    if (empty)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 zh ? "%ld 个物品都被取走了。con.wait() 共返回 %ld 次,其中 %ld 次列表仍为空,"
                      "那个消费者只好再次等待。"
                    : "All %ld items were taken. con.wait() returned %ld times: %ld of them to "
                      "an empty list, so that consumer waited again.",
                 consumed, wakeups, empty);
    else
        snprintf(ctx->pin, sizeof(ctx->pin),
                 zh ? "%ld 个物品都被取走了。con.wait() 共返回 %ld 次,每次醒来的消费者"
                      "都看到了物品或生产已结束。"
                    : "All %ld items were taken. con.wait() returned %ld times, and each woken "
                      "consumer found an item or the end of production.",
                 consumed, wakeups);
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    pin_result(ctx);
    return 0;
}

static void teardown(struct scn_ctx *ctx)
{
    pin_result(ctx);
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_object_set_new(out, "produced", json_integer(S->produced));
    json_object_set_new(out, "consumed", json_integer(S->consumed));
    json_object_set_new(out, "wakeups", json_integer(atomic_load(&S->wakeups)));
    json_object_set_new(out, "empty_wakeups", json_integer(atomic_load(&S->empty_wakeups)));
    json_object_set_new(out, "notify",
                        json_string(atomic_load(&S->notify_all) ? "notify_all" : "notify"));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    const char *who = ipc_ev_task_name(m, e);
    switch (e->kind) {
    case EV_OBJ_SET: /* the count left to join: said once */
        if (e->item)
            snprintf(buf, n,
                     zh ? "%s 启动了 %lld 个线程,现在按顺序 join 它们。"
                        : "%s started %lld threads and now joins them one after another.",
                     who, (long long)e->val);
        return 1;
    case EV_COND_WAIT:
        snprintf(buf, n,
                 zh ? "%s 调用 con.wait():没有物品可取,它先释放 con-lock,再睡眠等待通知。"
                    : "%s calls con.wait(): there is nothing to take, so it releases con-lock "
                      "and sleeps until notified.",
                 who);
        return 1;
    case EV_COND_WAKE:
        snprintf(buf, n,
                 zh ? "%s 收到通知,并在 wait() 返回前重新拿到了 con-lock;它要再检查一次条件。"
                    : "%s was notified and took con-lock back before wait() returned; it checks "
                      "the condition again.",
                 who);
        return 1;
    case EV_COND_SIGNAL:
        snprintf(buf, n,
                 zh ? "%s 调用 con.notify():唤醒一个等待者(它要等锁被释放后才能继续)。"
                    : "%s calls con.notify(): one waiter wakes (it continues once it gets the "
                      "lock back).",
                 who);
        return 1;
    case EV_COND_BROADCAST:
        snprintf(
            buf, n,
            zh ? "%s 调用 con.notify_all():所有等待者都被唤醒,各自在 while 循环里重新检查条件。"
               : "%s calls con.notify_all(): every waiter wakes, and each re-checks the "
                 "condition in its while loop.",
            who);
        return 1;
    default:
        return 0;
    }
}

static const struct scenario_action actions[] = {
    {'n', "notify() / notify_all()", "notify() / notify_all()", act_notify},
};

const struct scenario scenario_condition = {
    .id = "condition",
    .chapter = 9,
    .title_en = "Condition variable: producer and consumer threads",
    .title_zh = "条件变量:生产者与消费者线程",
    .summary_en = "Producer and consumer threads share a list guarded by a Condition. A "
                  "consumer calls con.acquire(); while the list is empty it calls con.wait(), "
                  "which releases the lock and sleeps, then reacquires the lock when notified. "
                  "A producer appends under the lock and calls con.notify(). With notify_all=1 "
                  "every waiter wakes and the unlucky ones wait again.",
    .summary_zh = "生产者线程和消费者线程共享一个由条件变量保护的列表。消费者先 con.acquire();"
                  "列表为空时调用 con.wait(),它会先释放锁再睡眠,被通知后重新加锁才返回。"
                  "生产者在持锁时放入物品并调用 con.notify()。设置 notify_all=1 时所有等待者"
                  "都会醒来,没抢到的只好再次等待。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct cond_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .teardown = teardown,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
