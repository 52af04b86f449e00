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
#include "instr_ipc.h"
#include "sclock.h"

#include <errno.h>
#include <signal.h>
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
        long slice = sclock_idle_slice(w, WAIT_SLICE_MS);
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
    instr_gate_label(EV_NOTE, e->obj->id, "%s.is_set()", e->obj->name);
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

void sync_start_together(_Atomic int *arrived, int want)
{
    int now = atomic_fetch_add(arrived, 1) + 1;
    ipc_wake_word(arrived); /* the others look again: one more has arrived */
    if (now >= want || !sclock_held())
        return;
    instr_gate_mark(1, "wait for others");
    sclock_sleeps_on(arrived); /* a release into a free run wakes it there */
    /* asleep in a futex on the count, as at the step gate: ps shows the wait ipcscope draws */
    while ((now = atomic_load(arrived)) < want && sclock_held())
        if (ipc_wait_word(arrived, now, SCLOCK_IDLE_SLICE_MS) < 0)
            break;
    sclock_sleeps_on(NULL);
    instr_gate_mark(0, NULL);
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
    int slot = slot_of_tid(tid);
    struct instr_shared *sh = instr_region();
    if (slot > 0 && sh && sh->tasks[slot].name[0]) /* the hint says whom: "Thread-1.join()" */
        instr_gate_label(EV_BLOCK, join->id, "%.20s.join()", sh->tasks[slot].name);
    else
        instr_gate(EV_BLOCK, join->id);
    instr_block(join, tid);
    void *ret = NULL;
    pthread_join(th, &ret);
    join->value--;
    instr_unblock(join);
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
    if (instr_mutex_lock(mu) == 1)
        atomic_store(held, 0); /* its holder died holding it (killed): it no longer counts */
    sync_count_max(held, max_held, 1);
}

void sync_unlock_counted(struct instr_obj *mu, _Atomic long *held)
{
    atomic_fetch_sub(held, 1);
    instr_mutex_unlock(mu);
}

/* ---- deadlocks ---- */

/* The /proc state letter of thread tid of pid (0: gone), and its wchan into wchan. */
static char tid_state(int32_t pid, int32_t tid, char *wchan, size_t n)
{
    char path[96], buf[512];
    if (wchan && n) {
        wchan[0] = '\0';
        snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
        FILE *w = fopen(path, "r");
        if (w) {
            size_t got = fread(wchan, 1, n - 1, w);
            wchan[got] = '\0';
            fclose(w);
            if (strcmp(wchan, "0") == 0)
                wchan[0] = '\0';
        }
    }
    snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t got = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[got] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p[2] : 0;
}

int sync_tid_asleep(int32_t pid, int32_t tid)
{
    char st = tid_state(pid, tid, NULL, 0);
    return st == 'S' || st == 'D';
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
    d->thread = 1;
    for (size_t i = 0; i < d->cycle.n; i++) {
        const struct model_task *t = &m->tasks[d->cycle.task[i]];
        uint32_t o = d->cycle.obj[i], h = d->cycle.obj[(i + d->cycle.n - 1) % d->cycle.n];
        snprintf(d->names[i], sizeof(d->names[i]), "%s", t->name);
        snprintf(d->objs[i], sizeof(d->objs[i]), "%s", o < m->nobjs ? m->objs[o].name : "?");
        snprintf(d->held[i], sizeof(d->held[i]), "%s", h < m->nobjs ? m->objs[h].name : "?");
        d->pid[i] = t->pid;
        d->tid[i] = t->tid;
        d->state[i] = tid_state(t->pid, t->tid, d->wchan[i], sizeof(d->wchan[i]));
        d->thread &= t->kind == TK_THREAD;
    }
    waitfor_describe(m, &d->cycle, d->desc, sizeof(d->desc));
    struct instr_shared *sh = instr_region();
    uint64_t t0 = sh ? sh->t0 : m->t_first;
    d->found_ms = t0 && now > t0 ? (now - t0) / 1000000ull : 0;
    instr_emit(EV_DEADLOCK, d->cycle.obj[0], (int64_t)d->cycle.n, 0, 0);
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

/* "t1 holds A, waits for B (held by t2); t2 holds B, ..." or, when that is limit bytes or
 * more, "t1 → t2 → t1, each holding one lock and waiting for the next one's". */
static void pin_cycle(const struct sync_deadlock *d, int zh, char *buf, size_t n, size_t limit)
{
    size_t len = 0;
    for (size_t i = 0; i < d->cycle.n && len < n; i++) {
        int w = snprintf(buf + len, n - len,
                         zh ? "%s%s 持有 %s、等待 %s(被 %s 持有)"
                            : "%s%s holds %s, waits for %s (held by %s)",
                         i ? (zh ? ";" : "; ") : "", d->names[i], d->held[i], d->objs[i],
                         d->names[(i + 1) % d->cycle.n]);
        len += w > 0 ? (size_t)w : 0;
    }
    if (len < limit && len < n)
        return;
    len = 0;
    for (size_t i = 0; i <= d->cycle.n && len < n; i++) {
        int w = snprintf(buf + len, n - len, "%s%s", i ? " → " : "", d->names[i % d->cycle.n]);
        len += w > 0 ? (size_t)w : 0;
    }
    if (len < n)
        snprintf(buf + len, n - len, "%s",
                 zh ? ",每个都持有一把锁并等待下一个持有的锁"
                    : ", each holding one lock and waiting for the next one's");
}

int sync_deadlock_finished(struct sync_deadlock *d, struct scn_ctx *ctx, const struct model *m,
                           long confirm_ms, const char *keys_en, const char *keys_zh)
{
    if (!sync_deadlock_poll(d, m, confirm_ms))
        return 0;
    if (!ctx->interactive)
        return 1;
    if (d->killed[0])
        return 0; /* the teacher broke the cycle: the survivors go on */
    int zh = ctx->lang == LANG_ZH;
    char cyc[256], keys[128];
    snprintf(keys, sizeof(keys), zh ? keys_zh : keys_en, d->names[0]);
    size_t room = sizeof(ctx->pin) - strlen(keys) - 40; /* "Deadlock: ... None can ever move. " */
    pin_cycle(d, zh, cyc, sizeof(cyc), room);
    snprintf(ctx->pin, sizeof(ctx->pin),
             zh ? "死锁:%s。谁也无法前进。%s" : "Deadlock: %s. None can ever move. %s", cyc, keys);
    return 0;
}

int sync_deadlock_kill(struct sync_deadlock *d, struct scn_ctx *ctx, char *msg, size_t n)
{
    int zh = ctx->lang == LANG_ZH;
    if (!d->cycle.n || d->killed[0]) {
        snprintf(msg, n, "%s",
                 d->killed[0] ? (zh ? "已经杀死过一个任务了" : "a task was already killed")
                              : (zh ? "没有死锁:没有要杀的任务" : "no deadlock: nothing to kill"));
        return -EAGAIN;
    }
    if (kill(d->pid[0], SIGKILL) < 0) {
        int err = errno;
        snprintf(msg, n, "kill(%d, SIGKILL): %s", (int)d->pid[0], strerror(err));
        return -err;
    }
    snprintf(d->killed, sizeof(d->killed), "%s", d->names[0]);
    ctx->pin[0] = '\0';
    if (d->thread)
        snprintf(msg, n,
                 zh ? "kill(%d, SIGKILL):线程不能单独被杀死,%s 所在的整个进程都结束了"
                    : "kill(%d, SIGKILL): a thread cannot be killed alone; %s's whole process ends",
                 (int)d->pid[0], d->names[0]);
    else
        snprintf(msg, n, /* short: the status line of an 80-column dashboard */
                 zh ? "kill(%d, SIGKILL):%s 死了,它持有的 %s 是健壮锁,内核把它交给等待者 %s"
                    : "kill(%d, SIGKILL): %s died; its robust lock %s passes to %s (EOWNERDEAD)",
                 (int)d->pid[0], d->names[0], d->held[0], d->names[d->cycle.n - 1]);
    return 0;
}

json_t *sync_deadlock_json(const struct sync_deadlock *d)
{
    json_t *cycle = json_array(), *edges = json_array();
    for (size_t i = 0; i < d->cycle.n; i++) {
        char st[2] = {d->state[i], 0};
        json_array_append_new(cycle, json_string(d->names[i]));
        json_array_append_new(
            edges, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "task", d->names[i], "holds",
                             d->held[i], "waits_on", d->objs[i], "held_by",
                             d->names[(i + 1) % d->cycle.n], "state", st, "wchan", d->wchan[i]));
    }
    json_t *j =
        json_pack("{s:b, s:o, s:o}", "detected", d->cycle.n > 0, "cycle", cycle, "edges", edges);
    if (d->cycle.n) {
        json_object_set_new(j, "description", json_string(d->desc));
        json_object_set_new(j, "found_ms", json_integer((json_int_t)d->found_ms));
    }
    if (d->killed[0])
        json_object_set_new(j, "killed", json_string(d->killed));
    return j;
}

/* The "LOCK: owner died" note of a task that got a robust lock from a killed holder. */
static int narrate_owner_died(const struct sync_deadlock *d, const struct ev *e, int lang,
                              char *buf, size_t n)
{
    const char *tail = ": owner died";
    size_t len = strnlen(e->text, sizeof(e->text)), tl = strlen(tail);
    if (e->kind != EV_NOTE || !(e->flags & EVF_TEXT) || len <= tl ||
        strcmp(e->text + len - tl, tail) != 0)
        return 0;
    const char *who = d->killed[0] ? d->killed : (lang == LANG_ZH ? "持有者" : "its holder");
    snprintf(buf, n,
             lang == LANG_ZH ? "%s 死时还拿着锁 %.*s:这是健壮锁,内核把它交给下一个等待者"
                               "(EOWNERDEAD),等待者把它恢复一致后继续。"
                             : "%s died holding lock %.*s: it is a robust lock, so the kernel "
                               "hands it to the next waiter (EOWNERDEAD), which makes it "
                               "consistent and goes on.",
             who, (int)(len - tl), e->text);
    return 1;
}

int sync_deadlock_narrate(const struct sync_deadlock *d, const struct scn_ctx *ctx,
                          const struct ev *e, int lang, char *buf, size_t n)
{
    if (narrate_owner_died(d, e, lang, buf, n))
        return 1;
    if (e->kind != EV_DEADLOCK || !d->cycle.n)
        return 0;
    if (lang == LANG_ZH)
        snprintf(buf, n,
                 "死锁!等待图中出现环:%s。环上每个任务都在等下一个任务持有的锁,谁也无法前进"
                 "(/proc 显示它们都在内核中睡眠%s%s)。%s",
                 d->desc, d->wchan[0][0] ? ",于 " : "", d->wchan[0],
                 ctx->interactive ? "它们会一直阻塞,直到你按键处理。"
                                  : "无界面运行到此结束,随后清理工作任务。");
    else
        snprintf(buf, n,
                 "Deadlock! The wait-for graph has a cycle: %s. Each task waits for a lock the "
                 "next one holds, so none can ever move (/proc shows them all asleep in the "
                 "kernel%s%s). %s",
                 d->desc, d->wchan[0][0] ? ", in " : "", d->wchan[0],
                 ctx->interactive ? "They stay blocked until you press a key."
                                  : "A headless run ends here, then the workers are cleaned up.");
    return 1;
}
