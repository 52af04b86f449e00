/*
 * threads.c - threading.Thread: start, name, is_alive, join and daemon threads (chapter 8).
 *
 * The process MainThread starts `threads` named threads (Thread-1 ...) and `daemon` daemon
 * threads, asks is_alive, and joins the named ones in order, blocking on each. Every thread
 * ticks (a sleep of the scenario clock: a step while held) for `seconds`. When the main
 * thread returns, the process exits and its daemon threads die with it, still running.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../instr_sync.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 250
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define STACK_BYTES (1024 * 1024) /* sanitizers need deeper stacks */
#else
#define STACK_BYTES (128 * 1024)
#endif

struct th_shared {
    struct instr_obj *join;
    long threads, daemons, seconds;
    _Atomic long started, finished, joined;
    _Atomic long daemons_running; /* daemon threads inside their loop */
    _Atomic long daemons_at_exit; /* ... when the main thread returned */
    _Atomic int main_returned;    /* 1 once daemons_at_exit is known */
    _Atomic long peak_threads;    /* Threads: of /proc/self/status, after starting them */
};

static struct th_shared *S;

struct th_rec {
    pthread_t th;
    long k;
    int daemon;
    _Atomic int32_t tid;
    _Atomic int slot;
};

static const struct scenario_param params[] = {
    {"threads", "threads to start and join", "要启动并 join 的线程数", 1, 1000, 4},
    {"daemon", "daemon threads (never joined)", "守护线程数(不 join)", 0, 64, 1},
    {"seconds", "how long each thread runs", "每个线程运行的秒数", 0, 60, 1},
};

/* ticks ticks of TICK_MS of scenario time (-1: until the process ends), or until the run
 * stops; each is a step while the gate is held. */
static void tick(long k, long ticks)
{
    for (long i = 1; ticks < 0 || i <= ticks; i++) {
        if (sclock_sleep(TICK_MS, 0, k < 0 ? "a daemon's tick" : "a thread's tick") < 0)
            return;
        instr_emit(EV_VAR, EV_NO_OBJ, i, k, 0); /* item: thread index, val: ticks */
    }
}

static void *thread_body(void *arg)
{
    struct th_rec *r = arg;
    char comm[16];
    snprintf(comm, sizeof(comm), "%s-%d", r->daemon ? "daemon" : "Thread", (int)(r->k + 1) % 10000);
    pthread_setname_np(pthread_self(), comm);
    atomic_store(&r->slot, instr_self());
    atomic_store(&r->tid, (int32_t)gettid());
    if (r->daemon) {
        atomic_fetch_add(&S->daemons_running, 1);
        tick(-(r->k + 1), -1); /* until the process ends */
        atomic_fetch_sub(&S->daemons_running, 1);
        return NULL;
    }
    tick(r->k, S->seconds * 1000 / TICK_MS);
    atomic_fetch_add(&S->finished, 1);
    return NULL;
}

static long proc_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long n = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "Threads:", 8) == 0)
            n = strtol(line + 8, NULL, 10);
    if (f)
        fclose(f);
    return n;
}

/* t.is_alive(): the thread's task has not ended. */
static int is_alive(struct th_rec *r)
{
    int slot = atomic_load(&r->slot);
    instr_gate_label(EV_NOTE, EV_NO_OBJ, "Thread-%ld.is_alive()", r->k + 1);
    int alive = slot >= 0 && !atomic_load(&instr_region()->tasks[slot].exited);
    instr_note("Thread-%ld.is_alive() -> %s", r->k + 1, alive ? "True" : "False");
    return alive;
}

static long start_all(struct th_rec *recs, long count)
{
    long started = 0;
    for (long i = 0; i < count; i++) {
        struct th_rec *r = &recs[i];
        char name[INSTR_NAME_MAX];
        snprintf(name, sizeof(name), "%s-%ld", r->daemon ? "daemon" : "Thread", r->k + 1);
        atomic_store(&r->slot, -1);
        instr_gate_label(EV_NOTE, EV_NO_OBJ, "%s.start()", name);
        if (instr_thread_spawn(&r->th, name, thread_body, r) != 0)
            break;
        if (!r->daemon)
            atomic_fetch_add(&S->started, 1);
        started++;
    }
    return started;
}

static void join_all(struct th_rec *recs, long count)
{
    /* the object shows how many are left to join (item 1: the first, narrated) */
    S->join->value = atomic_load(&S->started);
    instr_op(S->join, EV_OBJ_SET, S->join->value, 1, 0);
    for (long i = 0; i < count; i++) {
        struct th_rec *r = &recs[i];
        if (r->daemon)
            continue;
        while (!atomic_load(&r->tid))
            sched_yield();
        sync_join(S->join, r->th, atomic_load(&r->tid));
        instr_op(S->join, EV_OBJ_SET, S->join->value, 0, 0);
        atomic_fetch_add(&S->joined, 1);
    }
}

static int main_thread(void *arg)
{
    (void)arg;
    ipc_set_comm("MainThread");
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, STACK_BYTES); /* a thousand threads stay cheap */
    pthread_setattr_default_np(&a);
    pthread_attr_destroy(&a);

    long count = S->threads + S->daemons;
    struct th_rec *recs = calloc((size_t)count, sizeof(*recs));
    if (!recs)
        return 1;
    for (long i = 0; i < count; i++) {
        recs[i].daemon = i >= S->threads;
        recs[i].k = recs[i].daemon ? i - S->threads : i;
    }
    long started = start_all(recs, count);
    atomic_store(&S->peak_threads, proc_threads());
    for (long i = 0; i < started && i < 2 && i < S->threads; i++)
        while (atomic_load(&recs[i].slot) < 0 && !ipc_stopping())
            sched_yield();
    for (long i = 0; i < started && i < 2 && i < S->threads; i++)
        is_alive(&recs[i]);
    join_all(recs, started);
    for (long i = 0; i < started && i < 2 && i < S->threads; i++)
        is_alive(&recs[i]);
    atomic_store(&S->daemons_at_exit, atomic_load(&S->daemons_running));
    atomic_store(&S->main_returned, 1);
    instr_note("main returns: %ld daemons die", atomic_load(&S->daemons_running));
    return started == count ? 0 : 1; /* daemons are not freed: they die with us */
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "threads") + scn_param(ctx, "daemon") + 8);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->threads = scn_param(ctx, "threads");
    S->daemons = scn_param(ctx, "daemon");
    S->seconds = scn_param(ctx, "seconds");
    S->join = instr_obj_new("join", OK_PROCESS, 0, 0);
    if (!S->join) {
        snprintf(err, n, "threads: out of object slots");
        return -ENOMEM;
    }
    pid_t pid = instr_spawn("MainThread", main_thread, NULL, 0);
    if (pid < 0) {
        snprintf(err, n, "cannot start MainThread: %s", strerror((int)-pid));
        return (int)pid;
    }
    return 0;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    (void)m;
    long joined = atomic_load(&S->joined), fin = atomic_load(&S->finished);
    if (joined != S->threads || fin != S->threads) {
        snprintf(why, n, "%ld threads finished and %ld were joined, of %ld", fin, joined,
                 S->threads);
        return -1;
    }
    return 0;
}

/* Once MainThread has returned: the lesson's result (join vs daemon), pinned over the exit,
 * SIGKILL and reap lines that end the run. */
static void pin_result(struct scn_ctx *ctx)
{
    if (!atomic_load(&S->main_returned))
        return;
    int zh = ctx->lang == LANG_ZH;
    long joined = atomic_load(&S->joined), died = atomic_load(&S->daemons_at_exit);
    int len = snprintf(ctx->pin, sizeof(ctx->pin),
                       zh ? "MainThread join 了 %ld 个线程,每次 join 都阻塞到该线程结束。"
                          : "MainThread joined %ld threads, each join blocking until that thread "
                            "ended.",
                       joined);
    if (died > 0 && len > 0 && (size_t)len < sizeof(ctx->pin))
        snprintf(ctx->pin + len, sizeof(ctx->pin) - (size_t)len,
                 zh ? "它返回时仍在运行的 %ld 个守护线程从未被 join,随进程一起结束。"
                    : " %ld daemon thread%s still running when it returned, never joined, ended "
                      "with the process.",
                 died,
                 zh          ? ""
                 : died == 1 ? ""
                             : "s");
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
    size_t kinds[2] = {0, 0};
    for (size_t i = 0; i < m->ntasks; i++)
        kinds[m->tasks[i].kind == TK_THREAD]++;
    json_object_set_new(out, "threads_started", json_integer(atomic_load(&S->started)));
    json_object_set_new(out, "joined", json_integer(atomic_load(&S->joined)));
    json_object_set_new(out, "thread_tasks", json_integer((json_int_t)kinds[1]));
    json_object_set_new(out, "daemons_killed_at_exit",
                        json_integer(atomic_load(&S->daemons_at_exit)));
    json_object_set_new(out, "peak_threads_proc", json_integer(atomic_load(&S->peak_threads)));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    int zh = lang == LANG_ZH; /* ctx's parameters, not S: a replay narrates with no run */
    const char *who = ipc_ev_task_name(m, e);
    if (e->kind == EV_BLOCK) {
        uint32_t t = model_task_by_tid(m, (int32_t)e->aux);
        const char *tn = t < m->ntasks ? m->tasks[t].name : "?";
        snprintf(buf, n,
                 zh ? "%s 调用 %s.join():在该线程结束之前,主线程一直阻塞。"
                    : "%s calls %s.join(): the main thread blocks until that thread ends.",
                 who, tn);
        return 1;
    }
    if (e->kind == EV_OBJ_SET) { /* the count left to join: said once, then by each join */
        if (e->item)
            snprintf(buf, n,
                     zh ? "%s 要按顺序 join %lld 个线程(守护线程除外)。"
                        : "%s will join its %lld threads one after another (daemons are not "
                          "joined).",
                     who, (long long)e->val);
        return 1;
    }
    if (e->kind == EV_UNBLOCK) {
        snprintf(buf, n,
                 zh ? "线程已结束,join() 返回;还剩 %lld 个线程等待 join%s。"
                    : "The thread has ended and join() returns; %lld thread%s left to join.",
                 (long long)e->val,
                 zh            ? ""
                 : e->val == 1 ? " is"
                               : "s are");
        return 1;
    }
    if (e->kind == EV_VAR && e->item < 0) {
        snprintf(buf, n,
                 zh ? "%s 第 %lld 次醒来(每 %d ms 一次):守护线程一直运行,直到所属进程结束。"
                    : "%s woke for tick %lld (one every %d ms): a daemon thread runs until its "
                      "process ends.",
                 who, (long long)e->val, TICK_MS);
        return 1;
    }
    if (e->kind == EV_VAR) {
        snprintf(buf, n,
                 zh ? "%s 第 %lld 次醒来(每 %d ms 一次,共 %ld 次),然后返回。"
                    : "%s woke for tick %lld (one every %d ms, %ld in all), then returns.",
                 who, (long long)e->val, TICK_MS, scn_param(ctx, "seconds") * 1000 / TICK_MS);
        return 1;
    }
    if (e->kind == EV_TASK_EXIT && strcmp(who, "MainThread") == 0) {
        snprintf(buf, n,
                 zh ? "主线程结束,进程随之退出:仍在运行的守护线程(daemon=True)也一起结束,"
                      "不会被 join。"
                    : "The main thread is done, so the process exits: daemon threads "
                      "(daemon=True) still running end with it, never joined.");
        return 1;
    }
    return 0;
}

const struct scenario scenario_threads = {
    .id = "threads",
    .chapter = 8,
    .title_en = "Threads: start, join, daemon",
    .title_zh = "线程:start、join 与守护线程",
    .summary_en = "A process's main thread starts threads (threading.Thread(target, name), "
                  "t.start()), checks t.is_alive() and waits for each with t.join(), blocking "
                  "until it ends. Threads share the process: same pid, each its own thread id. "
                  "Daemon threads (t.daemon = True) are never joined: when the main thread "
                  "ends, the process exits and they die with it.",
    .summary_zh = "进程的主线程启动若干线程(threading.Thread(target, name),t.start()),用 "
                  "t.is_alive() 查看状态,再用 t.join() 逐个阻塞等待它们结束。线程共享所属进程:"
                  "pid 相同,各有自己的线程 id。守护线程(t.daemon = True)不会被 join:主线程结束"
                  "时进程退出,它们也随之结束。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .shared_size = sizeof(struct th_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .teardown = teardown,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
