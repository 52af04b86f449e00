/*
 * philosophers.c - the dining philosophers: N tasks, N forks as mutexes (chapter 7).
 *
 * Philosopher k thinks, then needs fork k (left) and fork k+1 (right) to eat. Taking the left
 * fork first, pausing, then the right one lets every philosopher hold one fork and wait for
 * the next: a cycle of N in the wait-for graph, found as in `deadlock`. With a teacher at the
 * keys the table then freezes with the cycle drawn until the teacher kills a philosopher (k:
 * its fork passes on and the others finish), restarts (R) or picks the fix for the restart
 * (o); headless, the run ends at detection. fix=1 takes the lower-numbered fork first (lock
 * ordering breaks the cycle); fix=2 adds a waiter, a semaphore of N-1 seats, so at most N-1
 * philosophers reach for forks at once.
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

#define MAX_PHIL 16
#define CONFIRM_MS 300

enum { FIX_NONE = 0, FIX_ORDER = 1, FIX_WAITER = 2 };

struct phil_shared {
    struct sync_team team;
    struct instr_obj *fork[MAX_PHIL], *waiter;
    long n, meals, think_ms, eat_ms, pause_ms;
    _Atomic int fix, toggled;
    _Atomic long held[MAX_PHIL], max_held;
    _Atomic long eaten[MAX_PHIL];
    _Atomic int seated; /* philosophers at the table (a futex word): they start together */
};

static struct phil_shared *S;
static struct sync_deadlock D; /* conductor side */

static const struct scenario_param params[] = {
    {"philosophers", "philosophers (and forks)", "哲学家(和叉子)的数量", 2, MAX_PHIL, 5},
    {"meals", "meals each philosopher wants", "每位哲学家要吃的次数", 1, 100, 3},
    {"think_ms", "thinking between meals", "两餐之间思考的毫秒数", 0, 5000, 20},
    {"eat_ms", "time eating", "吃饭的毫秒数", 0, 5000, 50},
    {"pause_ms", "pause between the first fork and the second", "拿起第一把叉子后的停顿(毫秒)", 0,
     5000, 100},
    {"fix", "0: none (deadlock-prone); 1: lock ordering; 2: a waiter with N-1 seats",
     "0:不修复(会死锁);1:按序拿叉子;2:服务员(N-1 个座位)", 0, 2, 0},
    {"threads", "0: processes; 1: threads of one process", "0:进程;1:同一进程的线程", 0, 1, 0},
};

static void take(int f)
{
    sync_lock_counted(S->fork[f], &S->held[f], &S->max_held);
}

static void put(int f)
{
    sync_unlock_counted(S->fork[f], &S->held[f]);
}

static void eat(long k)
{
    long meals = atomic_fetch_add(&S->eaten[k], 1) + 1;
    instr_gate_label(EV_VAR, EV_NO_OBJ, "eat (meal %ld)", meals);
    instr_emit(EV_VAR, EV_NO_OBJ, meals, k, 0); /* item: philosopher, val: meals so far */
    sclock_sleep(S->eat_ms, 0, "eating");
}

/* Reach for the forks and eat. fix is read here, after the thinking step: a fix picked before
 * it applies to this meal. */
static void dine_once(long k)
{
    int fix = atomic_load(&S->fix);
    int a = (int)k, b = (int)((k + 1) % S->n);
    if (fix == FIX_ORDER && a > b) {
        int t = a;
        a = b;
        b = t;
    }
    if (fix == FIX_WAITER)
        instr_sem_wait(S->waiter);
    take(a);
    sclock_sleep(S->pause_ms, 0, "between the forks");
    take(b);
    eat(k);
    put(b);
    put(a);
    if (fix == FIX_WAITER)
        instr_sem_post(S->waiter);
}

/* Sit down with the others: in a free run the meal starts once all N are at the table (at
 * most 2 s), so they reach for their first fork together however long the machine took to
 * start each one. Under load one started so late that its neighbours had eaten and no cycle
 * formed. Stepped or paced, the step gate orders them already: nobody waits here. */
static void sit_down(void)
{
    int now = atomic_fetch_add(&S->seated, 1) + 1;
    ipc_wake_word(&S->seated);
    if (sclock_held())
        return;
    for (int slice = 0; now < S->n && slice < 40 && !ipc_stopping(); slice++) {
        if (ipc_wait_word(&S->seated, now, 50) < 0)
            break;
        now = atomic_load(&S->seated);
    }
}

static int body(long k)
{
    ipc_set_comm("philosopher");
    sit_down();
    for (long i = 0; i < S->meals && !ipc_stopping(); i++) {
        sclock_sleep(S->think_ms, 0, "thinking");
        dine_once(k);
    }
    return 0;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "philosophers") + 8);
}

static int make_objects(struct scn_ctx *ctx, char *err, size_t n)
{
    for (long f = 0; f < S->n; f++) {
        char name[32];
        snprintf(name, sizeof(name), "fork-%ld", f + 1);
        if (!(S->fork[f] = instr_mutex_new(name)))
            break;
    }
    if (scn_param(ctx, "fix") == FIX_WAITER)
        S->waiter = instr_sem_new("waiter", (unsigned)(S->n - 1), S->n - 1);
    if (!S->fork[S->n - 1] || (scn_param(ctx, "fix") == FIX_WAITER && !S->waiter)) {
        snprintf(err, n, "philosophers: out of object slots");
        return -ENOMEM;
    }
    return 0;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    memset(&D, 0, sizeof(D));
    S->n = scn_param(ctx, "philosophers");
    S->meals = scn_param(ctx, "meals");
    S->think_ms = scn_param(ctx, "think_ms");
    S->eat_ms = scn_param(ctx, "eat_ms");
    S->pause_ms = scn_param(ctx, "pause_ms");
    atomic_store(&S->fix, (int)scn_param(ctx, "fix"));
    atomic_store(&S->seated, 0);
    int rc = make_objects(ctx, err, n);
    if (rc < 0)
        return rc;
    S->team = (struct sync_team){.main_name = "main",
                                 .prefix = "phil-",
                                 .n = S->n,
                                 .threads = (int)scn_param(ctx, "threads"),
                                 .body = body};
    return sync_team_start(&S->team, err, n);
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    return sync_deadlock_finished(&D, ctx, m, CONFIRM_MS,
                                  "Keys: a k kills %s · R restarts · a o picks fix=1 for R",
                                  "按键:a k 杀死 %s · R 重新开始 · a o 为重新开始选择 fix=1");
}

static int act_kill(struct scn_ctx *ctx, char *msg, size_t n)
{
    return sync_deadlock_kill(&D, ctx, msg, n);
}

static int act_order(struct scn_ctx *ctx, char *msg, size_t n)
{
    int none = FIX_NONE;
    atomic_compare_exchange_strong(&S->fix, &none, FIX_ORDER);
    atomic_store(&S->toggled, 1);
    if (D.cycle.n && !D.killed[0]) {
        for (size_t i = 0; i < ctx->sc->nparams; i++)
            if (strcmp(ctx->sc->params[i].key, "fix") == 0 && ctx->param[i] == FIX_NONE)
                ctx->param[i] = FIX_ORDER; /* what R restarts with */
        snprintf(msg, n,
                 "too late for this table (a cycle cannot be undone): R restarts with "
                 "fix=1 (lower-numbered fork first)");
    } else {
        snprintf(msg, n, "from their next meal, everyone takes the lower fork first");
    }
    return 0;
}

static const char *phil_name(long k)
{
    static char name[32];
    snprintf(name, sizeof(name), "phil-%ld", k + 1);
    return name;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)m;
    if (atomic_load(&S->max_held) > 1) {
        snprintf(why, n, "a fork was held by %ld philosophers at once", atomic_load(&S->max_held));
        return -1;
    }
    if (D.cycle.n && scn_param(ctx, "fix") != FIX_NONE && !atomic_load(&S->toggled)) {
        snprintf(why, n, "deadlock despite fix=%ld: %s", scn_param(ctx, "fix"), D.desc);
        return -1;
    }
    /* no deadlock: everyone ate; a philosopher killed by the teacher: the others all ate */
    for (long k = 0; k < S->n && (!D.cycle.n || (D.killed[0] && !D.thread)); k++)
        if (atomic_load(&S->eaten[k]) < S->meals && strcmp(D.killed, phil_name(k)) != 0) {
            snprintf(why, n, "%s, yet phil-%ld ate %ld of %ld meals",
                     D.killed[0] ? "the cycle was broken" : "no deadlock", k + 1,
                     atomic_load(&S->eaten[k]), S->meals);
            return -1;
        }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    static const char *const fixes[] = {"none", "ordering", "waiter"};
    json_t *meals = json_object();
    for (long k = 0; k < S->n; k++) {
        char name[32];
        snprintf(name, sizeof(name), "phil-%ld", k + 1);
        json_object_set_new(meals, name, json_integer(atomic_load(&S->eaten[k])));
    }
    json_object_set_new(out, "deadlock", sync_deadlock_json(&D));
    json_object_set_new(out, "meals", meals);
    json_object_set_new(out, "fix", json_string(fixes[atomic_load(&S->fix) % 3]));
}

static int narrate_fork(const struct model *m, const struct ev *e, int zh, char *buf, size_t n)
{
    uint32_t idx = model_task_by_slot(m, e->task);
    if (idx >= m->ntasks || e->obj >= m->nobjs)
        return 0;
    const char *who = m->tasks[idx].name, *fk = m->objs[e->obj].name;
    if (e->kind == EV_MUTEX_ACQUIRED) {
        snprintf(buf, n, zh ? "%s 拿起了 %s。" : "%s picked up %s.", who, fk);
        return 1;
    }
    uint32_t h = m->objs[e->obj].holder;
    snprintf(buf, n,
             zh ? "%s 伸手去拿 %s,但 %s 正在用它:%s 拿着手里的叉子等待。"
                : "%s reaches for %s, but %s is using it: %s waits, keeping the fork it holds.",
             who, fk, h < m->ntasks ? m->tasks[h].name : "?", who);
    return 1;
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    int zh = lang == LANG_ZH;
    if (sync_deadlock_narrate(&D, ctx, e, lang, buf, n))
        return 1;
    if (e->kind == EV_MUTEX_ACQUIRED || (e->kind == EV_MUTEX_WAIT && e->aux))
        return narrate_fork(m, e, zh, buf, n);
    if (e->kind == EV_VAR) {
        snprintf(buf, n,
                 zh ? "%s 拿到两把叉子,开始吃第 %lld 顿饭。"
                    : "%s has both forks and eats (meal %lld).",
                 ipc_ev_task_name(m, e), (long long)e->val);
        return 1;
    }
    if (e->kind == EV_SEM_WAIT && e->aux) {
        snprintf(buf, n,
                 zh ? "%s 向服务员要座位,但 N-1 个座位都满了:它等待,这样总有人能拿到两把叉子。"
                    : "%s asks the waiter for a seat, but all N-1 are taken: it waits, so "
                      "someone at the table can always get both forks.",
                 ipc_ev_task_name(m, e));
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'o', "fix: take the lower-numbered fork first", "修复:先拿编号小的叉子", act_order},
    {'k', "deadlocked: kill the first philosopher of the cycle", "死锁时:杀死环上第一位哲学家",
     act_kill},
};

const struct scenario scenario_philosophers = {
    .id = "philosophers",
    .chapter = 7,
    .title_en = "Dining philosophers",
    .title_zh = "哲学家就餐问题",
    .summary_en = "N philosophers sit around a table with one fork between each pair; to eat, "
                  "one needs both neighbouring forks (mutexes). If everyone picks up the left "
                  "fork first, each holds one and waits for the next: a cycle of N in the "
                  "wait-for graph, a deadlock: the table freezes with the cycle drawn until you "
                  "kill a philosopher (a k), restart (R) or pick the fix for the restart (a o); "
                  "headless, the run ends there. fix=1 takes the lower-numbered fork first (lock "
                  "ordering); fix=2 adds a waiter that seats at most N-1 at once.",
    .summary_zh = "N 位哲学家围坐在桌旁,每两人之间有一把叉子;吃饭需要拿到左右两把叉子(互斥锁)。"
                  "如果每个人都先拿左边的叉子,就会每人拿着一把、等着下一把:等待图中出现长度为 N "
                  "的环,即死锁:餐桌停在这里并画出这个环,直到你杀死一位哲学家(a k)、重新开始"
                  "(R)或为重新开始选择修复(a o);无界面运行在此结束。fix=1 先拿编号小的叉子"
                  "(按序加锁);fix=2 增加一位服务员,"
                  "同时最多只让 N-1 人入座。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct phil_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
