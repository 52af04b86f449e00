/*
 * instr_sync.c - the instrumented Event, worker teams (processes or threads) and deadlock
 * confirmation for the synchronisation scenarios.
 *
 * Event operations emit their record while holding the Event's own mutex, so the object's
 * seq order is the real order of wait, set and clear. Waiters sleep in bounded slices so
 * that a stopping run never leaves one behind.
 */
#define _GNU_SOURCE
#include "instr_sync.h"
#include "sclock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WAIT_SLICE_MS 100

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* sclock-ok: the wall-clock end of a wait slice */
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int stopping(void)
{
    struct instr_shared *sh = instr_region();
    return sh && atomic_load(&sh->stop);
}

#define mark_blocked instr_mark_blocked

/* ---- Event ---- */

static void ev_lock(struct sync_event *e)
{
    if (pthread_mutex_lock(&e->mu) == EOWNERDEAD)
        pthread_mutex_consistent(&e->mu);
}

static int init_shared_pair(pthread_mutex_t *mu, pthread_cond_t *cv)
{
    pthread_mutexattr_t ma;
    pthread_condattr_t ca;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    pthread_condattr_init(&ca);
    pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* sclock-ok: slices, not deadlines */
    int rc = pthread_mutex_init(mu, &ma);
    if (rc == 0)
        rc = pthread_cond_init(cv, &ca);
    pthread_mutexattr_destroy(&ma);
    pthread_condattr_destroy(&ca);
    return rc;
}

struct sync_event *sync_event_new(const char *name)
{
    struct sync_event *e = instr_shared_alloc(sizeof(*e));
    if (!e || init_shared_pair(&e->mu, &e->cv) != 0)
        return NULL;
    e->obj = instr_obj_new(name, OK_EVENT, 0, 0);
    return e->obj ? e : NULL;
}

/* The absolute CLOCK_MONOTONIC time slice_ms from now. */
static struct timespec slice_end(long slice_ms)
{
    uint64_t t = mono_ns() + (uint64_t)slice_ms * 1000000ull;
    return (struct timespec){.tv_sec = (time_t)(t / 1000000000ull),
                             .tv_nsec = (long)(t % 1000000000ull)};
}

/* Under e->mu: sleep until a set after gen0, the deadline w or the run stopping. The
 * deadline is on the scenario clock: while the gate is held, its expiry is a step. */
static int wait_locked(struct sync_event *e, uint64_t gen0, struct sclock_wait *w)
{
    for (;;) {
        if (e->flag || e->gen != gen0)
            return 1;
        if (stopping())
            return -1;
        long slice = sclock_wait_slice(w, WAIT_SLICE_MS);
        if (slice == 0)
            return 0;
        struct timespec ts = slice_end(slice);
        int rc = pthread_cond_timedwait(&e->cv, &e->mu, &ts); /* sclock-ok: a slice of w */
        if (rc == EOWNERDEAD)
            pthread_mutex_consistent(&e->mu);
    }
}

int sync_event_wait(struct sync_event *e, long timeout_ms)
{
    instr_gate(EV_EVENT_WAIT, e->obj->id);
    ev_lock(e);
    if (e->flag) {
        instr_op(e->obj, EV_EVENT_WAIT, 1, timeout_ms, 0);
        pthread_mutex_unlock(&e->mu);
        return 1;
    }
    instr_op(e->obj, EV_EVENT_WAIT, 0, timeout_ms, 1);
    mark_blocked(e->obj);
    e->waiting++;
    struct sclock_wait w;
    sclock_wait_begin(&w, timeout_ms > 0 ? timeout_ms : -1, SCLOCK_LESSON, EV_EVENT_WAIT,
                      e->obj->id);
    int rc = wait_locked(e, e->gen, &w);
    sclock_wait_end(&w);
    e->waiting--;
    mark_blocked(NULL);
    if (rc == 0)
        instr_emit(EV_TIMEOUT, e->obj->id, timeout_ms, EV_EVENT_WAIT, 0);
    instr_op(e->obj, EV_UNBLOCK, e->flag, rc == 1, 0);
    pthread_mutex_unlock(&e->mu);
    return rc;
}

void sync_event_set(struct sync_event *e)
{
    instr_gate(EV_EVENT_SET, e->obj->id);
    ev_lock(e);
    e->flag = 1;
    e->gen++;
    e->obj->value = 1;
    instr_op(e->obj, EV_EVENT_SET, 1, e->waiting, 0);
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

void sync_event_clear(struct sync_event *e)
{
    instr_gate(EV_EVENT_CLEAR, e->obj->id);
    ev_lock(e);
    e->flag = 0;
    e->obj->value = 0;
    instr_op(e->obj, EV_EVENT_CLEAR, 0, e->waiting, 0);
    pthread_mutex_unlock(&e->mu);
}

int sync_event_is_set(struct sync_event *e)
{
    instr_gate(EV_NOTE, e->obj->id);
    ev_lock(e);
    int v = e->flag;
    pthread_mutex_unlock(&e->mu);
    instr_note("%s.is_set() -> %s", e->obj->name, v ? "True" : "False");
    return v;
}

/* ---- teams ---- */

struct team_thread {
    struct sync_team *team;
    long k;
    pthread_t th;
    _Atomic int32_t tid;
};

static void *team_thread_main(void *arg)
{
    struct team_thread *tt = arg;
    atomic_store(&tt->tid, (int32_t)gettid());
    return (void *)(intptr_t)tt->team->body(tt->k);
}

void sync_ring_room(void)
{
    struct instr_shared *sh = instr_region();
    int slot = instr_self();
    if (!sh || slot < 0)
        return;
    struct ring *r = instr_ring(sh, (uint32_t)slot);
    for (int i = 0; i < 500 && ring_pending(r) > r->cap / 2 && !stopping(); i++)
        sclock_observer_sleep(1); /* flow control for the conductor, not the lesson's time */
}

void sync_start_together(_Atomic long *arrived, long want)
{
    if (atomic_fetch_add(arrived, 1) + 1 >= want || !sclock_held())
        return;
    instr_emit(EV_GATE, EV_NO_OBJ, 1, EV_NOTE, -1);
    while (atomic_load(arrived) < want && sclock_held())
        if (sclock_poll(1) < 0)
            break;
    instr_emit(EV_GATE, EV_NO_OBJ, 0, EV_NOTE, -1);
}

/* The slot of the thread task with kernel id tid, or -1. */
static int slot_of_tid(int32_t tid)
{
    struct instr_shared *sh = instr_region();
    uint32_t n = sh ? atomic_load(&sh->ntasks) : 0;
    for (uint32_t s = 1; s < n && s < sh->max_tasks; s++)
        if (atomic_load(&sh->tasks[s].used) && sh->tasks[s].tid == tid)
            return (int)s;
    return -1;
}

void sync_join(struct instr_obj *join, pthread_t th, int32_t tid)
{
    sync_ring_room();
    instr_gate(EV_BLOCK, join->id);
    instr_block(join, tid);
    void *ret = NULL;
    pthread_join(th, &ret);
    join->value--;
    instr_unblock(join);
    int slot = slot_of_tid(tid);
    if (slot > 0) {
        struct ev e = {.kind = EV_TASK_REAPED,
                       .src = EV_SRC_INSTR,
                       .task = (uint32_t)slot,
                       .pid = getpid(),
                       .tid = tid,
                       .obj = EV_NO_OBJ,
                       .val = (int64_t)(intptr_t)ret,
                       .aux = gettid(),
                       .extra = REAP_JOIN};
        instr_emit_ev(&e);
    }
}

/* The team's process when it runs threads: start them all, then join them in order. */
static int team_main(void *arg)
{
    struct sync_team *t = arg;
    struct team_thread *tt = calloc((size_t)t->n, sizeof(*tt));
    if (!tt)
        return 1;
    long started = 0;
    for (long k = 0; k < t->n; k++) {
        char name[INSTR_NAME_MAX];
        snprintf(name, sizeof(name), "%s%ld", t->prefix, k + 1);
        tt[k].team = t;
        tt[k].k = k;
        if (instr_thread_spawn(&tt[k].th, name, team_thread_main, &tt[k]) != 0)
            break;
        started++;
    }
    t->join->value = started;
    for (long k = 0; k < started; k++) {
        while (!atomic_load(&tt[k].tid))
            sched_yield();
        sync_join(t->join, tt[k].th, atomic_load(&tt[k].tid));
    }
    free(tt);
    return started == t->n ? 0 : 1;
}

struct team_arg {
    struct sync_team *t;
    long k;
};

static int team_proc(void *arg)
{
    struct team_arg *a = arg;
    return a->t->body(a->k);
}

int sync_team_start(struct sync_team *t, char *err, size_t n)
{
    if (t->threads) {
        t->join = instr_obj_new("join", OK_PROCESS, 0, 0);
        pid_t pid = t->join ? instr_spawn(t->main_name, team_main, t, 0) : -ENOMEM;
        if (pid < 0)
            snprintf(err, n, "cannot start %s: %s", t->main_name, strerror((int)-pid));
        return pid < 0 ? (int)pid : 0;
    }
    for (long k = 0; k < t->n; k++) {
        char name[INSTR_NAME_MAX];
        snprintf(name, sizeof(name), "%s%ld", t->prefix, k + 1);
        struct team_arg a = {t, k}; /* the child reads its copy at once */
        pid_t pid = instr_spawn(name, team_proc, &a, 0);
        if (pid < 0) {
            snprintf(err, n, "cannot start %s: %s", name, strerror((int)-pid));
            return (int)pid;
        }
    }
    return 0;
}

/* ---- counting who is inside ---- */

long sync_count_max(_Atomic long *count, _Atomic long *max, long d)
{
    long now = atomic_fetch_add(count, d) + d, m = atomic_load(max);
    while (now > m && !atomic_compare_exchange_weak(max, &m, now))
        ;
    return now;
}

void sync_lock_counted(struct instr_obj *mu, _Atomic long *held, _Atomic long *max_held)
{
    instr_mutex_lock(mu);
    sync_count_max(held, max_held, 1);
}

void sync_unlock_counted(struct instr_obj *mu, _Atomic long *held)
{
    atomic_fetch_sub(held, 1);
    instr_mutex_unlock(mu);
}

/* ---- deadlocks ---- */

int sync_tid_asleep(int32_t pid, int32_t tid)
{
    char path[96], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t got = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[got] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' && (p[2] == 'S' || p[2] == 'D');
}

static int cycle_asleep(const struct model *m, const struct waitfor_cycle *c)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct model_task *t = &m->tasks[c->task[i]];
        if (!sync_tid_asleep(t->pid, t->tid))
            return 0;
    }
    return 1;
}

static void confirm(struct sync_deadlock *d, const struct model *m, uint64_t now)
{
    d->cycle = d->seen;
    for (size_t i = 0; i < d->cycle.n; i++) {
        snprintf(d->names[i], sizeof(d->names[i]), "%s", m->tasks[d->cycle.task[i]].name);
        uint32_t o = d->cycle.obj[i];
        snprintf(d->objs[i], sizeof(d->objs[i]), "%s", o < m->nobjs ? m->objs[o].name : "?");
    }
    waitfor_describe(m, &d->cycle, d->desc, sizeof(d->desc));
    struct instr_shared *sh = instr_region();
    uint64_t t0 = sh ? sh->t0 : m->t_first;
    d->found_ms = t0 && now > t0 ? (now - t0) / 1000000ull : 0;
    instr_note("deadlock: cycle of %zu tasks", d->cycle.n);
}

int sync_deadlock_poll(struct sync_deadlock *d, const struct model *m, long confirm_ms)
{
    if (d->cycle.n)
        return 1;
    struct waitfor_cycle c;
    uint64_t now = mono_ns();
    if (!waitfor_find_cycle(m, &c)) {
        d->seen.n = 0;
        return 0;
    }
    if (!waitfor_same(&c, &d->seen)) {
        d->seen = c;
        d->seen_ns = now;
        return 0;
    }
    if (now - d->seen_ns < (uint64_t)confirm_ms * 1000000ull || !cycle_asleep(m, &c))
        return 0;
    confirm(d, m, now);
    return 1;
}

json_t *sync_deadlock_json(const struct sync_deadlock *d)
{
    json_t *cycle = json_array(), *edges = json_array();
    for (size_t i = 0; i < d->cycle.n; i++) {
        json_array_append_new(cycle, json_string(d->names[i]));
        json_array_append_new(edges,
                              json_pack("{s:s, s:s, s:s}", "task", d->names[i], "waits_on",
                                        d->objs[i], "held_by", d->names[(i + 1) % d->cycle.n]));
    }
    json_t *j =
        json_pack("{s:b, s:o, s:o}", "detected", d->cycle.n > 0, "cycle", cycle, "edges", edges);
    if (d->cycle.n) {
        json_object_set_new(j, "description", json_string(d->desc));
        json_object_set_new(j, "found_ms", json_integer((json_int_t)d->found_ms));
    }
    return j;
}

int sync_deadlock_narrate(const struct sync_deadlock *d, const struct ev *e, int lang, char *buf,
                          size_t n)
{
    if (e->kind != EV_NOTE || !(e->flags & EVF_TEXT) || strncmp(e->text, "deadlock:", 9) != 0 ||
        !d->cycle.n)
        return 0;
    if (lang == 1)
        snprintf(buf, n,
                 "死锁!等待图中出现环:%s。环上每个任务都在等下一个任务持有的锁,谁也无法前进"
                 "(/proc 显示它们都在内核中睡眠)。ipcscope 因此结束本次运行并杀死所有工作任务。",
                 d->desc);
    else
        snprintf(buf, n,
                 "Deadlock! The wait-for graph has a cycle: %s. Each task waits for a lock the "
                 "next one holds, so none can ever move (/proc shows them all asleep in the "
                 "kernel). ipcscope ends the run here and kills the workers.",
                 d->desc);
    return 1;
}
