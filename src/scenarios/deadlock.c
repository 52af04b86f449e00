/*
 * deadlock.c - two tasks take two locks in opposite order and deadlock (chapter 7).
 *
 * t1 takes A then B, t2 takes B then A, each pausing hold_ms in between: both end up holding
 * one lock and blocked on the other, for real, in the kernel. The conductor finds the cycle
 * in the model's wait-for graph (waitfor.h) and confirms it lasts and that /proc shows both
 * asleep. With a teacher at the keys the lesson then freezes: both stay blocked, the cycle is
 * drawn and pinned, until the teacher kills one (k: the robust lock passes to the other, which
 * finishes), restarts (R) or picks lock ordering for the restart (o). Headless, the run ends
 * at detection with the cycle in the snapshot. With order=1 (or o before the first lock) both
 * take A before B, and every round completes.
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

#define CONFIRM_MS 300

struct dl_shared {
    struct sync_team team;
    struct instr_obj *lock[2];
    long rounds, hold_ms;
    _Atomic int order, toggled;
    _Atomic long held[2], max_held;
    _Atomic long done[2]; /* rounds completed by t1, t2 */
};

static struct dl_shared *S;
static struct sync_deadlock D; /* conductor side */

static const struct scenario_param params[] = {
    {"rounds", "rounds each task tries", "每个任务尝试的轮数", 1, 100, 3},
    {"hold_ms", "pause between the first lock and the second", "拿到第一把锁后的停顿(毫秒)", 0,
     5000, 200},
    {"order", "1: both take A before B (lock ordering)", "1:都先拿 A 再拿 B(按序加锁)", 0, 1, 0},
    {"threads", "0: two processes; 1: two threads of one process",
     "0:两个进程;1:同一进程的两个线程", 0, 1, 0},
};

static void take(int i)
{
    sync_lock_counted(S->lock[i], &S->held[i], &S->max_held);
}

static void drop(int i)
{
    sync_unlock_counted(S->lock[i], &S->held[i]);
}

static int body(long k)
{
    ipc_set_comm(k ? "dl-t2" : "dl-t1");
    for (long r = 0; r < S->rounds && !ipc_stopping(); r++) {
        sclock_sleep(10, 0, "work before the locks");
        /* the order is read after that step: a remedy picked before it applies to this round */
        int first = atomic_load(&S->order) ? 0 : (int)k, second = !first;
        take(first);
        sclock_sleep(S->hold_ms, 0, "holding the first lock");
        take(second);
        sclock_sleep(20, 0, "using both locks");
        drop(second);
        drop(first);
        atomic_fetch_add(&S->done[k], 1);
    }
    return 0;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    memset(&D, 0, sizeof(D));
    S->rounds = scn_param(ctx, "rounds");
    S->hold_ms = scn_param(ctx, "hold_ms");
    atomic_store(&S->order, (int)scn_param(ctx, "order"));
    S->lock[0] = instr_mutex_new("A");
    S->lock[1] = instr_mutex_new("B");
    if (!S->lock[0] || !S->lock[1]) {
        snprintf(err, n, "deadlock: out of object slots");
        return -ENOMEM;
    }
    S->team = (struct sync_team){.main_name = "main",
                                 .prefix = "t",
                                 .n = 2,
                                 .threads = (int)scn_param(ctx, "threads"),
                                 .body = body};
    return sync_team_start(&S->team, err, n);
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    return sync_deadlock_finished(&D, ctx, m, CONFIRM_MS,
                                  "Keys: a k kills %s · R restarts · a o picks lock ordering for R",
                                  "按键:a k 杀死 %s · R 重新开始 · a o 为重新开始选择按序加锁");
}

static int act_kill(struct scn_ctx *ctx, char *msg, size_t n)
{
    return sync_deadlock_kill(&D, ctx, msg, n);
}

/* Set parameter key of this run to v, so that R restarts with it. */
static void set_param(struct scn_ctx *ctx, const char *key, long v)
{
    for (size_t i = 0; i < ctx->sc->nparams; i++)
        if (strcmp(ctx->sc->params[i].key, key) == 0)
            ctx->param[i] = v;
}

static int act_order(struct scn_ctx *ctx, char *msg, size_t n)
{
    atomic_store(&S->order, 1);
    atomic_store(&S->toggled, 1);
    if (D.cycle.n && !D.killed[0]) {
        set_param(ctx, "order", 1);
        snprintf(msg, n,
                 "too late for these two (a cycle cannot be undone): R restarts with "
                 "lock ordering (order=1)");
    } else {
        snprintf(msg, n, "from their next round both take A before B");
    }
    return 0;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)m;
    if (atomic_load(&S->max_held) > 1) {
        snprintf(why, n, "a lock had %ld holders at once", atomic_load(&S->max_held));
        return -1;
    }
    if (D.cycle.n && scn_param(ctx, "order") && !atomic_load(&S->toggled)) {
        snprintf(why, n, "deadlock despite lock ordering: %s", D.desc);
        return -1;
    }
    /* the teacher killed t1 (processes): the lock passed to t2, which had to finish */
    if (D.killed[0] && !D.thread && atomic_load(&S->done[1]) < S->rounds) {
        snprintf(why, n, "%s was killed, yet t2 completed only %ld of %ld rounds", D.killed,
                 atomic_load(&S->done[1]), S->rounds);
        return -1;
    }
    if (!D.cycle.n &&
        (atomic_load(&S->done[0]) < S->rounds || atomic_load(&S->done[1]) < S->rounds)) {
        snprintf(why, n, "no deadlock, yet only %ld and %ld of %ld rounds completed",
                 atomic_load(&S->done[0]), atomic_load(&S->done[1]), S->rounds);
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_object_set_new(out, "deadlock", sync_deadlock_json(&D));
    json_object_set_new(out, "rounds_done",
                        json_pack("{s:I, s:I}", "t1", (json_int_t)atomic_load(&S->done[0]), "t2",
                                  (json_int_t)atomic_load(&S->done[1])));
    json_object_set_new(out, "lock_order", json_boolean(atomic_load(&S->order)));
}

/* The name of a lock (other than except) that task idx holds, or NULL. */
static const char *held_by(const struct model *m, uint32_t idx, uint32_t except)
{
    for (size_t i = 0; i < m->nobjs; i++)
        if (i != except && m->objs[i].kind == OK_MUTEX && m->objs[i].holder == idx)
            return m->objs[i].name;
    return NULL;
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    int zh = lang == LANG_ZH;
    if (sync_deadlock_narrate(&D, ctx, e, lang, buf, n))
        return 1;
    uint32_t idx = model_task_by_slot(m, e->task);
    if (idx >= m->ntasks || e->obj >= m->nobjs)
        return 0;
    const char *who = m->tasks[idx].name, *lk = m->objs[e->obj].name;
    const char *other = held_by(m, idx, e->obj);
    if (e->kind == EV_MUTEX_ACQUIRED) {
        snprintf(buf, n,
                 other ? (zh ? "%s 拿到了锁 %s,现在同时持有两把锁(另一把是 %s)。"
                             : "%s took lock %s and now holds both (the other is %s).")
                       : (zh ? "%s 拿到了锁 %s%s。" : "%s took lock %s%s."),
                 who, lk,
                 other ? other : (zh ? ",接着要去拿另一把" : " and reaches for the other"));
        return 1;
    }
    if (e->kind == EV_MUTEX_WAIT && e->aux) {
        uint32_t h = m->objs[e->obj].holder;
        const char *hn = h < m->ntasks ? m->tasks[h].name : "?";
        snprintf(buf, n,
                 zh ? "%s 想要锁 %s,但它被 %s 持有:%s 阻塞。它自己还拿着 %s。"
                    : "%s wants lock %s, which %s holds, so %s blocks, still holding %s.",
                 who, lk, hn, who, other ? other : (zh ? "(无)" : "nothing"));
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'o', "lock ordering: both take A first", "按序加锁:都先拿 A", act_order},
    {'k', "deadlocked: kill t1 (its lock passes to t2)", "死锁时:杀死 t1(它的锁交给 t2)", act_kill},
};

const struct scenario scenario_deadlock = {
    .id = "deadlock",
    .chapter = 7,
    .title_en = "Deadlock: two locks taken in opposite order",
    .title_zh = "死锁:以相反顺序获取两把锁",
    .summary_en = "t1 takes lock A then B; t2 takes B then A. Each gets its first lock, then "
                  "blocks forever on the one the other holds: a cycle in the wait-for graph "
                  "(t1 waits for t2, t2 waits for t1). ipcscope finds the cycle and the lesson "
                  "freezes there with the cycle drawn: nothing moves until you kill one (a k: "
                  "its lock passes to the other, which finishes) or restart (R). Headless, the "
                  "run ends at the deadlock. With order=1 (or a o before the first lock) both "
                  "take A first, so no cycle can form.",
    .summary_zh = "t1 先拿锁 A 再拿 B;t2 先拿 B 再拿 A。各自拿到第一把锁后,都永远阻塞在对方"
                  "持有的那把锁上:等待图中出现环(t1 等 t2,t2 等 t1)。ipcscope 找到这个环,"
                  "课程就停在这里并画出这个环:直到你杀死其中一个(a k:它的锁交给另一个,后者"
                  "完成)或重新开始(R),什么都不会动。无界面运行在死锁处结束。设置 order=1"
                  "(或在第一次加锁前按 a o)后两者都先拿 A,环就不可能形成。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct dl_shared),
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
