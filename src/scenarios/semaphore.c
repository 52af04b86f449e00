/*
 * semaphore.c - N workers share a semaphore of k permits (chapter 6).
 *
 * Each worker acquires a permit (sem_wait: value minus one, or block at zero), spends a while
 * inside, and releases it (sem_post). The value and the waiters are live on screen, and at
 * no moment are more than k workers inside. A key (or the `extra` parameter) posts extra
 * permits, the "what if the semaphore were bigger" of the lesson.
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
#include <string.h>

struct sem_shared {
    long workers, permits, rounds, work_ms, extra;
    struct instr_obj *sem;
    _Atomic long inside, max_inside, bound; /* bound: permits + extra posted so far */
    _Atomic int extra_req;
};

static struct sem_shared *S;

static const struct scenario_param params[] = {
    {"workers", "worker processes", "工作进程数", 1, 32, 5},
    {"permits", "k, the semaphore's initial value", "k,信号量初值", 1, 16, 2},
    {"rounds", "times each worker enters", "每个工作进程进入的次数", 1, 1000, 3},
    {"work_ms", "time spent inside", "在临界区内停留的毫秒数", 0, 10000, 60},
    {"extra", "permits posted later by worker 1", "稍后由 worker-1 额外释放的许可数", 0, 8, 0},
};

static void enter(void)
{
    long now = sync_count_max(&S->inside, &S->max_inside, 1);
    instr_gate_label(EV_VAR, EV_NO_OBJ, "count itself inside");
    instr_emit(EV_VAR, EV_NO_OBJ, now, 0, 1); /* item 0: workers inside; aux 1: one entered */
}

static void leave(void)
{
    long now = atomic_fetch_sub(&S->inside, 1) - 1;
    instr_emit(EV_VAR, EV_NO_OBJ, now, 0, 0);
}

/* Worker 1 posts the extra permits asked for, once per request. */
static void post_extra(long k)
{
    if (k != 0)
        return;
    while (atomic_load(&S->extra_req) > 0) {
        atomic_fetch_sub(&S->extra_req, 1);
        atomic_fetch_add(&S->bound, 1);
        instr_note("posting an extra permit");
        instr_sem_post(S->sem);
    }
}

static int worker(void *arg)
{
    long k = (long)(intptr_t)arg;
    ipc_set_comm("sem-worker");
    for (long i = 0; i < S->rounds && !ipc_stopping(); i++) {
        instr_sem_wait(S->sem);
        enter();
        sclock_sleep(S->work_ms, 0, "working inside");
        leave();
        instr_sem_post(S->sem);
        post_extra(k);
    }
    post_extra(k);
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
    S->permits = scn_param(ctx, "permits");
    S->rounds = scn_param(ctx, "rounds");
    S->work_ms = scn_param(ctx, "work_ms");
    S->extra = scn_param(ctx, "extra");
    atomic_store(&S->bound, S->permits);
    atomic_store(&S->extra_req, (int)S->extra);
    S->sem = instr_sem_new("permits", (unsigned)S->permits, S->permits);
    if (!S->sem) {
        snprintf(err, n, "semaphore: out of object slots");
        return -ENOMEM;
    }
    return ipc_fork_n("worker", S->workers, worker, err, n);
}

static int act_extra(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    atomic_fetch_add(&S->extra_req, 1);
    snprintf(msg, n, "worker-1 will post one extra permit");
    return 0;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)m;
    long most = atomic_load(&S->max_inside), bound = atomic_load(&S->bound);
    int zh = ctx->lang == LANG_ZH; /* the lesson's result, pinned over the exits */
    snprintf(ctx->pin, sizeof(ctx->pin),
             zh ? "同一时刻最多有 %ld 个进程在里面:信号量一共只有 %ld 个许可,没有许可的进程在 "
                  "sem_wait 中阻塞。"
                : "At most %ld workers were inside at once: the semaphore had %ld permits, and "
                  "a worker that found none blocked in sem_wait.",
             most, bound);
    if (atomic_load(&S->max_inside) > atomic_load(&S->bound)) {
        snprintf(why, n, "%ld workers were inside a semaphore of %ld permits",
                 atomic_load(&S->max_inside), atomic_load(&S->bound));
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_object_set_new(out, "permits", json_integer(S->permits));
    json_object_set_new(out, "permits_total", json_integer(atomic_load(&S->bound)));
    json_object_set_new(out, "max_inside", json_integer(atomic_load(&S->max_inside)));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const char *who = ipc_ev_task_name(m, e);
    int zh = lang == LANG_ZH;
    if (e->kind == EV_SEM_WAIT && e->aux) {
        snprintf(buf, n,
                 zh ? "许可用完了(值为 0):%s 在 sem_wait 中阻塞,等别人 sem_post 释放一个。"
                    : "No permit left (value 0): %s blocks in sem_wait until someone releases "
                      "one with sem_post.",
                 who);
        return 1;
    }
    if (e->kind == EV_SEM_ACQUIRED) {
        snprintf(buf, n,
                 zh ? "%s 拿到一个许可(acquire,减一),剩余 %lld 个。"
                    : "%s took a permit (acquire: minus one); %lld left.",
                 who, (long long)e->val);
        return 1;
    }
    if (e->kind == EV_SEM_POST) {
        snprintf(buf, n,
                 zh ? "%s 归还许可(release,加一),现在有 %lld 个;若有人在等,它会被唤醒。"
                    : "%s returned its permit (release: plus one), now %lld; a waiter, if any, "
                      "wakes up.",
                 who, (long long)e->val);
        return 1;
    }
    if (e->kind == EV_VAR) {
        const struct model_obj *sem = NULL;
        for (size_t i = 0; i < m->nobjs && !sem; i++)
            if (m->objs[i].kind == OK_SEMAPHORE)
                sem = &m->objs[i];
        long long k = sem ? (long long)sem->capacity : 0;
        if (zh)
            snprintf(buf, n, "%s%s:现在有 %lld 个进程在里面(最多 %lld 个)。", who,
                     e->aux ? "进入了" : "离开了", (long long)e->val, k);
        else
            snprintf(buf, n, "%s %s: %lld of at most %lld inside now.", who,
                     e->aux ? "went in" : "left", (long long)e->val, k);
        return 1;
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'p', "post one extra permit", "额外释放一个许可", act_extra},
};

const struct scenario scenario_semaphore = {
    .id = "semaphore",
    .chapter = 6,
    .title_en = "Semaphore: at most k inside",
    .title_zh = "信号量:最多 k 个同时进入",
    .summary_en = "Several worker processes share one semaphore created with k permits "
                  "(multiprocessing.Semaphore(k)). acquire takes a permit, subtracting one, and "
                  "blocks at zero; release gives it back, adding one and waking a waiter. Watch "
                  "the value and the waiters: never more than k workers are inside.",
    .summary_zh = "多个工作进程共享一个初值为 k 的信号量(multiprocessing.Semaphore(k))。acquire "
                  "取走一个许可(减一),为 0 时阻塞;release 归还许可(加一)并唤醒一个等待者。"
                  "观察信号量的值和等待者:任何时刻在里面的进程都不超过 k 个。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct sem_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
