/*
 * prodcons.c - producer and consumer processes sharing a bounded buffer (chapter 6).
 *
 * The buffer lives in shared memory; POSIX semaphores count its free slots (`empty`) and its
 * items (`full`), and a process-shared mutex (`buf`) guards it. Producer k makes item ids
 * k, k+P, k+2P, ... below `items`; consumers claim items one at a time until all are taken,
 * so every id is produced once and consumed once, and nobody is left waiting at the end.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../scenario.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

struct pc_shared {
    struct instr_obj *empty, *full, *buf, *queue;
    long producers, consumers, capacity, items;
    _Atomic long claims;   /* items consumers have claimed */
    _Atomic long consumed; /* items actually taken */
    _Atomic int consumer_seq;
    _Atomic int32_t consumer_pids[64];
    uint8_t *seen; /* seen[id]: times item id was consumed */
};

static struct pc_shared *S;

static const struct scenario_param params[] = {
    {"producers", "producer processes", "生产者进程数", 1, 16, 2},
    {"consumers", "consumer processes", "消费者进程数", 1, 16, 2},
    {"capacity", "slots in the buffer", "缓冲区槽位数", 1, 64, 2},
    {"items", "items to produce in all", "生产的物品总数", 1, 1000000, 40},
};

static int producer(void *arg)
{
    long k = (long)(intptr_t)arg;
    ipc_set_comm("producer"); /* what ps shows */
    for (long id = k; id < S->items; id += S->producers) {
        instr_sem_wait(S->empty);
        instr_mutex_lock(S->buf);
        instr_queue_put(S->queue, id);
        instr_mutex_unlock(S->buf);
        instr_sem_post(S->full);
    }
    return 0;
}

static int consumer(void *arg)
{
    int idx = (int)(intptr_t)arg;
    ipc_set_comm("consumer");
    if (idx < 64)
        atomic_store(&S->consumer_pids[idx], getpid());
    while (atomic_fetch_add(&S->claims, 1) < S->items) {
        int64_t id = -1;
        instr_sem_wait(S->full);
        instr_mutex_lock(S->buf);
        instr_queue_get(S->queue, &id);
        instr_mutex_unlock(S->buf);
        instr_sem_post(S->empty);
        if (id >= 0 && id < S->items)
            S->seen[id]++;
        atomic_fetch_add(&S->consumed, 1);
    }
    return 0;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "producers") + scn_param(ctx, "consumers") + 32);
}

static int spawn_consumer(char *err, size_t n)
{
    int idx = atomic_fetch_add(&S->consumer_seq, 1);
    char name[32];
    snprintf(name, sizeof(name), "consumer-%d", idx + 1);
    return ipc_start(name, consumer, (void *)(intptr_t)idx, err, n);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->producers = scn_param(ctx, "producers");
    S->consumers = scn_param(ctx, "consumers");
    S->capacity = scn_param(ctx, "capacity");
    S->items = scn_param(ctx, "items");
    S->seen = instr_shared_alloc((size_t)S->items);
    S->empty = instr_sem_new("empty", (unsigned)S->capacity, S->capacity);
    S->full = instr_sem_new("full", 0, S->capacity);
    S->buf = instr_mutex_new("buf");
    S->queue = instr_queue_new("buffer", S->capacity);
    if (!S->seen || !S->empty || !S->full || !S->buf || !S->queue) {
        snprintf(err, n, "prodcons: out of shared memory or object slots");
        return -ENOMEM;
    }

    int rc = ipc_start_n("producer", S->producers, producer, err, n);
    if (rc < 0)
        return rc;
    for (long k = 0; k < S->consumers; k++) {
        rc = spawn_consumer(err, n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int act_add_consumer(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    int rc = spawn_consumer(msg, n);
    if (rc == 0)
        snprintf(msg, n, "started consumer-%d", atomic_load(&S->consumer_seq));
    return rc;
}

static int act_kill_consumer(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    int count = atomic_load(&S->consumer_seq);
    for (int i = (count < 64 ? count : 64) - 1; i >= 0; i--) {
        pid_t pid = atomic_load(&S->consumer_pids[i]);
        if (pid > 0 && kill(pid, 0) == 0) {
            kill(pid, SIGKILL);
            snprintf(msg, n, "sent SIGKILL to consumer-%d (pid %d)", i + 1, (int)pid);
            return 0;
        }
    }
    snprintf(msg, n, "no consumer is alive");
    return -ESRCH;
}

/* The lesson's result, pinned at the end over the exit lines. */
static void pin_result(struct scn_ctx *ctx, const struct model *m, long once)
{
    int64_t most = 0;
    if (S->queue->id < m->nobjs)
        most = m->objs[S->queue->id].max;
    int zh = ctx->lang == LANG_ZH, filled = most >= S->capacity;
    const char *hint = filled ? ""
                       : zh ? "(这次缓冲区没有满过:用 1-9 让生产者先走,或用 --param consumers=1。)"
                            : " (It never filled this time: pick the producers with 1-9, or run "
                              "with --param consumers=1.)";
    snprintf(
        ctx->pin, sizeof(ctx->pin),
        zh ? "%ld 个物品中有 %ld 个各被消费了一次。缓冲区最多装了 %lld/%ld 个:满时 empty 为 0,"
             "生产者在 sem_wait(empty) 中阻塞;空时 full 为 0,消费者在 sem_wait(full) 中阻塞。%s"
           : "%ld of %ld items were consumed exactly once. The buffer held at most %lld of "
             "%ld: when full, empty is 0 and a producer blocks in sem_wait(empty); when "
             "empty, full is 0 and a consumer blocks in sem_wait(full).%s",
        once, S->items, (long long)most, S->capacity, hint);
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    long once = 0;
    for (long id = 0; id < S->items; id++)
        once += S->seen[id] == 1;
    pin_result(ctx, m, once);
    once = 0;
    for (long id = 0; id < S->items; id++) {
        if (S->seen[id] > 1) {
            snprintf(why, n, "item %ld was consumed %d times", id, S->seen[id]);
            return -1;
        }
        once += S->seen[id];
    }
    if (once != S->items) {
        snprintf(why, n, "%ld of %ld items were consumed", once, S->items);
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_object_set_new(out, "produced_target", json_integer(S->items));
    json_object_set_new(out, "consumed", json_integer(atomic_load(&S->consumed)));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const struct model_task *t = model_task_by_slot(m, e->task) != MODEL_NO_TASK
                                     ? &m->tasks[model_task_by_slot(m, e->task)]
                                     : NULL;
    const struct model_obj *o = e->obj < m->nobjs ? &m->objs[e->obj] : NULL;
    if (!t || !o)
        return 0;
    int zh = lang == LANG_ZH;
    int is_empty = strcmp(o->name, "empty") == 0;
    if (e->kind == EV_SEM_WAIT && e->aux) {
        snprintf(buf, n,
                 zh ? (is_empty
                           ? "%s 没有空槽位(empty=0),它在 empty 上阻塞,直到消费者取走一个物品。"
                           : "%s 发现缓冲区是空的(full=0),它在 full 上阻塞,直到生产者放入物品。")
                    : (is_empty ? "%s found no free slot (empty=0) and sleeps on empty until a "
                                  "consumer takes an item out."
                                : "%s found the buffer empty (full=0) and sleeps on full until a "
                                  "producer puts an item in."),
                 t->name);
        return 1;
    }
    if (e->kind == EV_QUEUE_PUT || e->kind == EV_QUEUE_GET) {
        int put = e->kind == EV_QUEUE_PUT;
        snprintf(buf, n,
                 zh ? (put ? "%s 在持有 buf 锁时放入物品 #%lld;缓冲区现在有 %lld/%lld。"
                           : "%s 在持有 buf 锁时取出物品 #%lld;缓冲区现在有 %lld/%lld。")
                    : (put ? "%s put item #%lld in while holding the buf lock; the buffer now "
                             "holds %lld of %lld."
                           : "%s took item #%lld out while holding the buf lock; the buffer now "
                             "holds %lld of %lld."),
                 t->name, (long long)e->item, (long long)e->val, (long long)o->capacity);
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'c', "add a consumer", "增加一个消费者", act_add_consumer},
    {'k', "kill a consumer (SIGKILL)", "杀死一个消费者 (SIGKILL)", act_kill_consumer},
};

const struct scenario scenario_prodcons = {
    .id = "prodcons",
    .chapter = 6,
    .title_en = "Producer/consumer (bounded buffer)",
    .title_zh = "生产者/消费者(有界缓冲区)",
    .summary_en = "Producer and consumer processes share a bounded buffer in shared memory. "
                  "The semaphore empty counts free slots, full counts items, and the "
                  "process-shared mutex buf lets one process at a time touch the buffer. Watch "
                  "producers block on empty when the buffer is full and consumers block on full "
                  "when it is empty.",
    .summary_zh = "生产者进程和消费者进程通过共享内存中的有界缓冲区协作。信号量 empty 记录空槽位,"
                  "full 记录物品数,进程间共享的互斥锁 buf 保证同一时刻只有一个进程操作缓冲区。"
                  "缓冲区满时生产者在 empty 上阻塞,缓冲区空时消费者在 full 上阻塞。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct pc_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
