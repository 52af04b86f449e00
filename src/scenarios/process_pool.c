/*
 * process_pool.c - a pool of worker processes taking tasks from a queue (chapter 5).
 *
 * The pool's owner starts N workers, submits single tasks (apply_async) and then a map over
 * a list, waits for the results, closes the pool (one stop marker per worker) and joins
 * (waits for) every worker. Tasks travel through a bounded queue in shared memory guarded
 * by a mutex, with semaphores counting its items and free slots; idle workers are blocked on
 * `items`, busy ones are computing. Results land in a shared array.
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
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define POOL_MAX_WORKERS 16
#define POOL_MAX_TASKS 128
#define POOL_STOP (-1)

struct pool_shared {
    long workers, tasks, singles, capacity, work_ms;
    struct instr_obj *queue, *items, *slots, *lock, *done, *results_obj;
    int64_t results[POOL_MAX_TASKS];
    _Atomic long submitted, completed, busy, max_busy, more;
    _Atomic long per_worker[POOL_MAX_WORKERS];
    _Atomic int closed, joined;
    long started;    /* workers the owner could fork */
    int fork_err;    /* errno of the fork that failed (0: none) */
    long fork_nproc; /* the process limit then (ulimit -u), -1: none */
};

static struct pool_shared *S;

static const struct scenario_param params[] = {
    {"workers", "processes in the pool", "进程池中的进程数", 1, POOL_MAX_WORKERS, 3},
    {"tasks", "length of the list given to map", "map 处理的列表长度", 0, 96, 8},
    {"singles", "apply_async submissions before the map", "map 之前的 apply_async 提交数", 0, 16,
     2},
    {"capacity", "task queue capacity", "任务队列容量", 1, 16, 4},
    {"work_ms", "time one task takes", "每个任务耗时(毫秒)", 0, 10000, 60},
};

/* ---- worker side ---- */

static int64_t take(void)
{
    int64_t id = POOL_STOP;
    instr_sem_wait(S->items);
    instr_mutex_lock(S->lock);
    instr_queue_get(S->queue, &id);
    instr_mutex_unlock(S->lock);
    instr_sem_post(S->slots);
    return id;
}

static void run_task(long k, int64_t id)
{
    sync_count_max(&S->busy, &S->max_busy, 1);
    instr_note("busy: task %lld", (long long)id);
    sclock_sleep(S->work_ms, 0, "working on the task");
    instr_gate(EV_SHM_WRITE, S->results_obj->id);
    S->results[id] = id * id;
    instr_op(S->results_obj, EV_SHM_WRITE, id * id, id, 0);
    atomic_fetch_sub(&S->busy, 1);
    atomic_fetch_add(&S->per_worker[k], 1);
    atomic_fetch_add(&S->completed, 1);
    instr_sem_post(S->done);
}

static int pool_worker(void *arg)
{
    long k = (long)(intptr_t)arg;
    ipc_set_comm("pool-worker");
    for (;;) {
        int64_t id = take();
        if (id < 0 || id >= POOL_MAX_TASKS)
            break; /* the pool was closed */
        run_task(k, id);
    }
    return 0;
}

/* ---- the pool's owner ---- */

static void put(int64_t id)
{
    instr_sem_wait(S->slots);
    instr_mutex_lock(S->lock);
    instr_queue_put(S->queue, id);
    instr_mutex_unlock(S->lock);
    instr_sem_post(S->items);
}

static void submit(void)
{
    long id = atomic_load(&S->submitted);
    if (id >= POOL_MAX_TASKS)
        return;
    put(id);
    atomic_store(&S->submitted, id + 1);
}

/* Wait until every submitted task has a result (what map's return, or get(), waits for). */
static void wait_results(long *waited)
{
    while (*waited < atomic_load(&S->submitted) && !ipc_stopping()) {
        instr_sem_wait(S->done);
        (*waited)++;
    }
}

static void close_and_join(pid_t *pids)
{
    instr_note("pool.close()");
    atomic_store(&S->closed, 1);
    for (long k = 0; k < S->started; k++)
        put(POOL_STOP);
    instr_note("pool.join()");
    instr_gate(EV_TASK_REAPED, EV_NO_OBJ);
    for (long k = 0; k < S->started; k++) {
        int status;
        if (pids[k] > 0 && waitpid(pids[k], &status, 0) > 0)
            ipc_emit_reaped(pids[k], status, getpid());
    }
    atomic_store(&S->joined, 1);
}

static int owner(void *arg)
{
    (void)arg;
    pid_t pids[POOL_MAX_WORKERS] = {0};
    long waited = 0;
    ipc_set_comm("pool-main");
    for (long k = 0; k < S->workers; k++) {
        char name[32];
        snprintf(name, sizeof(name), "pool-worker-%ld", k + 1);
        pids[k] = instr_spawn(name, pool_worker, (void *)(intptr_t)k, 0);
        if (pids[k] < 0) { /* no process left to fork (ulimit -u): close what started */
            struct rlimit rl;
            S->fork_err = (int)-pids[k];
            S->fork_nproc = getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                                ? (long)rl.rlim_cur
                                : -1;
            instr_note("fork failed: %s", strerror(S->fork_err));
            close_and_join(pids);
            return 1;
        }
        S->started = k + 1;
    }
    instr_note("apply_async x%ld", S->singles);
    for (long i = 0; i < S->singles; i++)
        submit();
    instr_note("map over %ld items", S->tasks);
    for (long i = 0; i < S->tasks; i++)
        submit();
    wait_results(&waited);
    while (atomic_load(&S->more) > 0) { /* 's' presses: one more apply_async each */
        atomic_fetch_sub(&S->more, 1);
        submit();
        wait_results(&waited);
    }
    close_and_join(pids);
    return 0;
}

/* ---- conductor side ---- */

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "workers") + 8);
}

static int make_objects(void)
{
    S->queue = instr_queue_new("tasks", S->capacity);
    S->items = instr_sem_new("items", 0, S->capacity);
    S->slots = instr_sem_new("slots", (unsigned)S->capacity, S->capacity);
    S->lock = instr_mutex_new("queue-lock");
    S->done = instr_sem_new("done", 0, 0);
    S->results_obj = instr_obj_new("results", OK_SHM, 0, POOL_MAX_TASKS);
    return S->queue && S->items && S->slots && S->lock && S->done && S->results_obj ? 0 : -ENOMEM;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->workers = scn_param(ctx, "workers");
    S->tasks = scn_param(ctx, "tasks");
    S->singles = scn_param(ctx, "singles");
    S->capacity = scn_param(ctx, "capacity");
    S->work_ms = scn_param(ctx, "work_ms");
    if (make_objects() < 0) {
        snprintf(err, n, "process-pool: out of shared memory or object slots");
        return -ENOMEM;
    }
    pid_t pid = instr_spawn("pool", owner, NULL, 0);
    if (pid < 0) {
        char why[200];
        snprintf(err, n, "cannot fork the pool owner: %s",
                 ipc_errno_why((int)-pid, why, sizeof(why)));
        return (int)pid;
    }
    return 0;
}

static int act_submit(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    if (atomic_load(&S->closed)) {
        snprintf(msg, n, "the pool is closed: no more submissions");
        return -EPIPE;
    }
    atomic_fetch_add(&S->more, 1);
    snprintf(msg, n, "one more apply_async submission");
    return 0;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    (void)m;
    if (S->fork_err) {
        char limit[96] = "";
        if (S->fork_nproc >= 0)
            snprintf(limit, sizeof(limit), " (this user may have %ld processes: ulimit -u)",
                     S->fork_nproc);
        snprintf(why, n, "the pool could fork only %ld of %ld workers: %s%s", S->started,
                 S->workers, strerror(S->fork_err), limit);
        return -1;
    }
    long sub = atomic_load(&S->submitted);
    for (long i = 0; i < sub; i++) {
        if (S->results[i] != i * i) {
            snprintf(why, n, "task %ld: result %lld, expected %ld", i, (long long)S->results[i],
                     i * i);
            return -1;
        }
    }
    if (atomic_load(&S->completed) != sub || !atomic_load(&S->joined)) {
        snprintf(why, n, "%ld of %ld tasks completed; joined: %d", atomic_load(&S->completed), sub,
                 atomic_load(&S->joined));
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_t *per = json_array();
    for (long k = 0; k < S->workers; k++)
        json_array_append_new(per, json_integer(atomic_load(&S->per_worker[k])));
    json_object_set_new(out, "submitted", json_integer(atomic_load(&S->submitted)));
    json_object_set_new(out, "tasks_completed", json_integer(atomic_load(&S->completed)));
    json_object_set_new(out, "max_busy", json_integer(atomic_load(&S->max_busy)));
    json_object_set_new(out, "tasks_per_worker", per);
    json_object_set_new(out, "closed", json_boolean(atomic_load(&S->closed)));
    json_object_set_new(out, "joined", json_boolean(atomic_load(&S->joined)));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const char *who = ipc_ev_task_name(m, e);
    int zh = lang == LANG_ZH;
    if (e->kind == EV_QUEUE_PUT && e->item == POOL_STOP) {
        snprintf(buf, n,
                 zh ? "pool.close():%s 放入一个停止标记,每个工作进程取到一个就退出。"
                    : "pool.close(): %s queues a stop marker; each worker that takes "
                      "one exits.",
                 who);
        return 1;
    }
    if (e->kind == EV_QUEUE_PUT || e->kind == EV_QUEUE_GET) {
        int put_ = e->kind == EV_QUEUE_PUT;
        snprintf(buf, n,
                 zh ? (put_ ? "%s 提交任务 #%lld;队列里有 %lld 个任务。"
                            : "%s 取出任务 #%lld,开始工作;队列里还有 %lld 个。")
                    : (put_ ? "%s submitted task #%lld; %lld tasks are queued."
                            : "%s took task #%lld and gets busy; %lld still queued."),
                 who, (long long)e->item, (long long)e->val);
        return 1;
    }
    if (e->kind == EV_SEM_WAIT && e->aux) {
        snprintf(buf, n, zh ? "%s 空闲:没有任务,它在等待。" : "%s is idle: no task, it waits.",
                 who);
        return 1;
    }
    if (e->kind == EV_TASK_REAPED) {
        /* the reaped task and its reaper by tid: a reap the kernel reported has no slot; only
         * the pool's own reaps are pool.join() (ipcscope reaps the pool itself) */
        uint32_t dead = model_task_by_tid(m, e->tid), by = model_task_by_tid(m, (int32_t)e->aux);
        if (dead >= m->ntasks || by >= m->ntasks || strcmp(m->tasks[by].name, "pool") != 0)
            return 0;
        snprintf(buf, n, zh ? "pool.join():%s 已被回收。" : "pool.join(): %s has been reaped.",
                 m->tasks[dead].name);
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'s', "submit one more task (apply_async)", "再提交一个任务 (apply_async)", act_submit},
};

const struct scenario scenario_process_pool = {
    .id = "process-pool",
    .chapter = 5,
    .title_en = "Process pool: apply_async, map, close, join",
    .title_zh = "进程池:apply_async、map、close、join",
    .summary_en = "A pool of worker processes takes tasks from a bounded queue. The owner "
                  "submits single tasks (apply_async) and a map over a list, waits for the "
                  "results, then closes the pool (no more tasks: one stop marker per worker) and "
                  "joins it (waits for every worker to exit). Watch the queue depth and which "
                  "workers are busy or idle.",
    .summary_zh = "进程池中的工作进程从有界队列中取任务。池的所有者提交单个任务(apply_async)和"
                  "对列表的 map,等待结果,然后关闭进程池(close:不再接受任务,每个工作进程一个"
                  "停止标记)并等待回收(join)。观察队列深度以及哪些进程忙、哪些空闲。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct pool_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
