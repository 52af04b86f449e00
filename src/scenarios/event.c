/*
 * event.c - multiprocessing.Event: waiters block until a setter sets the flag (chapter 7).
 *
 * The Event is a flag with a process-shared mutex and condition variable in shared memory
 * (instr_sync.h). In every round the waiters call e.is_set() and e.wait() and block; the
 * setter sleeps delay_ms, calls e.set(), and all the waiters are released together; once
 * they have all passed, the setter calls e.clear() for the next round. With timeout_ms the
 * waiters use e.wait(timeout) and see it return False before the set.
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

struct event_shared {
    struct sync_event *ev;
    long waiters, rounds, delay_ms, timeout_ms;
    _Atomic int round;     /* rounds the setter has finished (cleared) */
    _Atomic int passed;    /* wait() calls that returned True */
    _Atomic long early;    /* returned True before the set of their round */
    _Atomic long timeouts; /* wait(timeout) calls that returned False */
    _Atomic int set_now;   /* the s key: set without waiting for delay_ms (a futex word) */
};

static struct event_shared *S;

static const struct scenario_param params[] = {
    {"waiters", "processes calling e.wait()", "调用 e.wait() 的进程数", 1, 16, 3},
    {"rounds", "set/clear rounds", "set/clear 的轮数", 1, 20, 2},
    {"delay_ms", "the setter's pause before e.set()", "设置者调用 e.set() 之前的停顿(毫秒)", 0,
     10000, 300},
    {"timeout_ms", "waiters use e.wait(timeout) (0: no timeout)",
     "等待者使用 e.wait(timeout)(0:不设超时)", 0, 10000, 0},
};

/* Wait until *v reaches want (another task raises it and wakes us: never a step); -1 when
 * the run is stopping. */
static int await_at_least(_Atomic int *v, long want)
{
    for (int seen; (seen = atomic_load(v)) < want;)
        if (ipc_wait_word(v, seen, 100) < 0)
            return -1;
    return 0;
}

static void bump(_Atomic int *v)
{
    atomic_fetch_add(v, 1);
    ipc_wake_word(v);
}

static int waiter(void *arg)
{
    (void)arg;
    ipc_set_comm("event-waiter");
    for (long r = 0; r < S->rounds; r++) {
        if (await_at_least(&S->round, r) < 0)
            return 0;
        sync_event_is_set(S->ev);
        int rc;
        while ((rc = sync_event_wait(S->ev, S->timeout_ms)) == 0)
            atomic_fetch_add(&S->timeouts, 1); /* wait(timeout) returned False: try again */
        if (rc < 0)
            return 0;
        if (__atomic_load_n(&S->ev->gen, __ATOMIC_SEQ_CST) < (uint64_t)r + 1)
            atomic_fetch_add(&S->early, 1);
        bump(&S->passed);
    }
    return 0;
}

/* The setter's pause: delay_ms of scenario time (stepped: one step, "the setter's pause
 * ends"), cut short by the s key. */
static void pause_before_set(void)
{
    if (sclock_held() && !atomic_load(&S->set_now)) {
        /* stepped: the pause is a step of its own, at the gate as "sleep(delay_ms)" (a
         * deadline wait would leave the setter drawn blocked in a futex, yet counted at the
         * gate); a teacher who wants the set now picks the setter */
        sclock_sleep(S->delay_ms, 0, "the setter's pause ends");
        atomic_store(&S->set_now, 0);
        return;
    }
    struct sclock_wait w;
    sclock_wait_begin(&w, S->delay_ms, SCLOCK_LESSON, EV_SLEEP, EV_NO_OBJ);
    w.what = "the setter's pause ends";
    long slice;
    while (!atomic_load(&S->set_now) && (slice = sclock_wait_slice(&w, 100)) > 0)
        if (ipc_wait_word(&S->set_now, 0, slice) < 0)
            break;
    sclock_wait_end(&w);
    if (atomic_exchange(&S->set_now, 0))
        instr_note("s key: set it now");
    else
        instr_emit(EV_SLEEP, EV_NO_OBJ, S->delay_ms, 0, (int64_t)sclock_now_ms());
}

static int setter(void *arg)
{
    (void)arg;
    ipc_set_comm("event-setter");
    for (long r = 0; r < S->rounds && !ipc_stopping(); r++) {
        pause_before_set();
        sync_event_is_set(S->ev);
        sync_event_set(S->ev);
        if (await_at_least(&S->passed, S->waiters * (r + 1)) < 0)
            return 0;
        sync_event_clear(S->ev);
        bump(&S->round);
    }
    return 0;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "waiters") + 8);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->waiters = scn_param(ctx, "waiters");
    S->rounds = scn_param(ctx, "rounds");
    S->delay_ms = scn_param(ctx, "delay_ms");
    S->timeout_ms = scn_param(ctx, "timeout_ms");
    S->ev = sync_event_new("e");
    if (!S->ev) {
        snprintf(err, n, "event: out of shared memory or object slots");
        return -ENOMEM;
    }
    for (long k = 0; k < S->waiters; k++) {
        char name[32];
        snprintf(name, sizeof(name), "waiter-%ld", k + 1);
        int rc = ipc_start(name, waiter, NULL, err, n);
        if (rc < 0)
            return rc;
    }
    return ipc_start("setter", setter, NULL, err, n);
}

static int act_set(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    atomic_store(&S->set_now, 1);
    ipc_wake_word(&S->set_now);
    snprintf(msg, n, "the setter calls e.set() now");
    return 0;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    (void)m;
    if (atomic_load(&S->early)) {
        snprintf(why, n, "%ld waits returned True before their round's set",
                 atomic_load(&S->early));
        return -1;
    }
    if (atomic_load(&S->passed) != S->waiters * S->rounds) {
        snprintf(why, n, "%d of %ld waits were released", atomic_load(&S->passed),
                 S->waiters * S->rounds);
        return -1;
    }
    return 0;
}

/* The lesson's point once a set has released its waiters, pinned above the narration. */
static void pin_released(struct scn_ctx *ctx)
{
    int passed = atomic_load(&S->passed), zh = ctx->lang == LANG_ZH;
    if (passed <= 0)
        return;
    snprintf(ctx->pin, sizeof(ctx->pin),
             zh ? "每次 e.set() 一起唤醒全部 %ld 个等待者:%d / %ld 次 e.wait() 返回 True,"
                  "%ld 次在 set 之前返回。"
                : "Each e.set() released all %ld waiters together: %d of %ld e.wait() calls "
                  "returned True, %ld before their set.",
             S->waiters, passed, S->waiters * S->rounds, atomic_load(&S->early));
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    pin_released(ctx);
    return 0;
}

static void teardown(struct scn_ctx *ctx)
{
    pin_released(ctx);
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)m;
    json_object_set_new(out, "rounds_done", json_integer(atomic_load(&S->round)));
    json_object_set_new(out, "released", json_integer(atomic_load(&S->passed)));
    json_object_set_new(out, "released_early", json_integer(atomic_load(&S->early)));
    json_object_set_new(out, "timeouts", json_integer(atomic_load(&S->timeouts)));
    json_object_set_new(out, "is_set", json_boolean(S->ev->flag));
    int zh = ctx->lang == LANG_ZH;
    long total = S->waiters * S->rounds;
    scn_meter(out, zh ? "被唤醒" : "released", (double)atomic_load(&S->passed), (double)total,
              zh ? "%d / %ld 次" : "%d of %ld", atomic_load(&S->passed), total);
    if (S->timeout_ms)
        scn_meter(out, zh ? "超时" : "timeouts", 0, 0,
                  zh ? "%ld 次返回 False" : "%ld returned False", atomic_load(&S->timeouts));
}

static int narrate_wait(const struct ev *e, const char *who, int zh, char *buf, size_t n)
{
    if (e->aux)
        snprintf(buf, n,
                 zh ? "%s 调用 e.wait():标志未设置,它阻塞,直到有人调用 e.set()。"
                    : "%s calls e.wait(): the flag is clear, so it blocks until someone calls "
                      "e.set().",
                 who);
    else
        snprintf(buf, n,
                 zh ? "%s 调用 e.wait():标志已经设置,立即返回 True。"
                    : "%s calls e.wait(): the flag is already set, so it returns True at once.",
                 who);
    return 1;
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const char *who = ipc_ev_task_name(m, e);
    int zh = lang == LANG_ZH;
    switch (e->kind) {
    case EV_EVENT_WAIT:
        return narrate_wait(e, who, zh, buf, n);
    case EV_EVENT_SET:
        snprintf(buf, n,
                 zh ? "%s 调用 e.set():标志被设置,正在等待的 %lld 个进程被一起唤醒。"
                    : "%s calls e.set(): the flag is set and all %lld waiting processes are "
                      "released together.",
                 who, (long long)e->item);
        return 1;
    case EV_EVENT_CLEAR:
        snprintf(buf, n,
                 zh ? "%s 调用 e.clear():标志被清除,之后的 e.wait() 又会阻塞。"
                    : "%s calls e.clear(): the flag is clear again, so the next e.wait() blocks.",
                 who);
        return 1;
    case EV_UNBLOCK:
        snprintf(buf, n,
                 e->item ? (zh ? "%s 被唤醒:e.wait() 返回 True。"
                               : "%s is released: e.wait() returned True.")
                         : (zh ? "%s 等待超时:e.wait(timeout) 返回 False,标志仍未设置。"
                               : "%s timed out: e.wait(timeout) returned False; the flag is "
                                 "still clear."),
                 who);
        return 1;
    default:
        return 0;
    }
}

static const struct scenario_action actions[] = {
    {'s', "set the event now", "立即设置事件", act_set},
};

const struct scenario scenario_event = {
    .id = "event",
    .chapter = 7,
    .title_en = "Event: wait until someone sets the flag",
    .title_zh = "事件 Event:等待标志被设置",
    .summary_en = "multiprocessing.Event is a flag other processes can wait for. The waiters "
                  "call e.wait() and block while the flag is clear; the setter calls e.set() and "
                  "they are all released together; e.clear() makes the next wait() block again, "
                  "and e.is_set() just reads the flag. With timeout_ms, e.wait(timeout) returns "
                  "False when the time runs out.",
    .summary_zh = "multiprocessing.Event 是一个可以被其他进程等待的标志。等待者调用 e.wait(),"
                  "标志未设置时阻塞;设置者调用 e.set() 后,所有等待者被一起唤醒;e.clear() "
                  "清除标志,之后的 wait() 又会阻塞;e.is_set() 只是读取标志。设置 timeout_ms "
                  "后,e.wait(timeout) 超时返回 False。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct event_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .teardown = teardown,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
