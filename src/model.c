/*
 * model.c - folds events into tasks, objects and bounded history.
 *
 * Precedence between sources: the scheduling state of a task (running / ready / blocked)
 * comes from the kernel (bpf) when it reports on that task, else from the instrumentation,
 * else from /proc; the object a task is blocked on always comes from the instrumentation;
 * zombie, exited and reaped are accepted from any source. Time in each state accumulates
 * on every change, so run + ready + blocked covers a task's life.
 */
#include "model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int model_init(struct model *m, size_t hist_cap, size_t spans_cap)
{
    memset(m, 0, sizeof(*m));
    m->hist_cap = hist_cap ? hist_cap : 1;
    m->spans_cap = spans_cap ? spans_cap : 1;
    m->khist_cap = m->hist_cap;
    m->hist = calloc(m->hist_cap, sizeof(*m->hist));
    m->khist = calloc(m->khist_cap, sizeof(*m->khist));
    m->spans = calloc(m->spans_cap, sizeof(*m->spans));
    if (!m->hist || !m->khist || !m->spans) {
        model_free(m);
        return -ENOMEM;
    }
    return 0;
}

void model_free(struct model *m)
{
    free(m->tasks);
    free(m->objs);
    free(m->slot_map);
    free(m->tid_cache);
    free(m->hist);
    free(m->khist);
    free(m->spans);
    memset(m, 0, sizeof(*m));
}

struct model_task *model_task(struct model *m, uint32_t idx)
{
    return idx < m->ntasks ? &m->tasks[idx] : NULL;
}

uint32_t model_task_by_slot(const struct model *m, uint32_t slot)
{
    if (slot >= m->slot_map_cap)
        return MODEL_NO_TASK;
    return m->slot_map[slot];
}

static size_t tid_hash(const struct model *m, int32_t tid)
{
    return ((uint32_t)tid * 2654435761u) & (m->tid_cache_cap - 1);
}

/* Remember that tid belongs to task idx. The cache grows with the task table; a collision
 * just replaces the older entry (a lookup that misses scans the table). */
static void cache_tid(struct model *m, int32_t tid, uint32_t idx)
{
    if (m->tid_cache_cap < 2 * m->ntasks) {
        size_t cap = m->tid_cache_cap ? m->tid_cache_cap : 256;
        while (cap < 2 * m->ntasks)
            cap *= 2;
        uint32_t *c = calloc(cap, sizeof(*c));
        if (!c)
            return;
        free(m->tid_cache);
        m->tid_cache = c;
        m->tid_cache_cap = cap;
        for (size_t i = 0; i < m->ntasks; i++)
            if (m->tasks[i].state != TS_REAPED)
                m->tid_cache[tid_hash(m, m->tasks[i].tid)] = (uint32_t)i + 1;
    }
    m->tid_cache[tid_hash(m, tid)] = idx + 1;
}

uint32_t model_task_by_tid(const struct model *m, int32_t tid)
{
    /* a live task holds a tid alone: the cached one is the answer when it is live */
    if (m->tid_cache_cap) {
        uint32_t c = m->tid_cache[tid_hash(m, tid)];
        if (c && c <= m->ntasks && m->tasks[c - 1].tid == tid && m->tasks[c - 1].state != TS_REAPED)
            return c - 1;
    }
    uint32_t found = MODEL_NO_TASK;
    for (size_t i = 0; i < m->ntasks; i++) {
        if (m->tasks[i].tid != tid)
            continue;
        found = (uint32_t)i;
        if (m->tasks[i].state != TS_REAPED)
            break; /* prefer the live owner of a reused tid */
    }
    if (found != MODEL_NO_TASK && m->tasks[found].state != TS_REAPED && m->tid_cache_cap)
        m->tid_cache[tid_hash(m, tid)] = found + 1;
    return found;
}

struct model_obj *model_obj(struct model *m, uint32_t id)
{
    return id < m->nobjs && m->objs[id].live ? &m->objs[id] : NULL;
}

uint32_t model_obj_by_name(const struct model *m, const char *name)
{
    for (size_t i = 0; i < m->nobjs; i++)
        if (m->objs[i].live && strcmp(m->objs[i].name, name) == 0)
            return (uint32_t)i;
    return EV_NO_OBJ;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return -ENOMEM;
    memset((char *)p + *cap * elem, 0, (ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return 0;
}

static void push_span(struct model *m, uint32_t task, uint8_t state, uint64_t t)
{
    size_t pos = (m->spans_head + m->spans_len) % m->spans_cap;
    m->spans[pos] = (struct model_span){.t = t, .task = task, .state = state};
    if (m->spans_len < m->spans_cap)
        m->spans_len++;
    else
        m->spans_head = (m->spans_head + 1) % m->spans_cap;
}

static void account(struct model_task *t, uint64_t now)
{
    if (!t->t_state || now <= t->t_state)
        return;
    uint64_t d = now - t->t_state;
    if (t->state == TS_RUNNING)
        t->run_ns += d;
    else if (t->state == TS_READY)
        t->ready_ns += d;
    else if (t->state == TS_BLOCKED)
        t->blocked_ns += d;
    else if (t->state == TS_GATE)
        t->gate_ns += d;
    t->t_state = now;
}

static void set_state(struct model *m, uint32_t idx, uint8_t st, uint64_t now)
{
    struct model_task *t = &m->tasks[idx];
    if (t->state == TS_REAPED)
        return; /* terminal */
    if (now < t->t_state)
        now = t->t_state; /* a record that arrived late: keep the task's intervals in order */
    account(t, now);
    t->t_state = now;
    if (t->state == st)
        return;
    t->state = st;
    push_span(m, idx, st, now);
}

void model_settle_times(struct model *m, uint64_t now)
{
    for (size_t i = 0; i < m->ntasks; i++)
        account(&m->tasks[i], now);
}

static uint32_t new_task(struct model *m, int32_t pid, int32_t tid, uint64_t now)
{
    if (grow((void **)&m->tasks, &m->tasks_cap, m->ntasks + 1, sizeof(*m->tasks)) < 0)
        return MODEL_NO_TASK;
    uint32_t idx = (uint32_t)m->ntasks++;
    struct model_task *t = &m->tasks[idx];
    memset(t, 0, sizeof(*t));
    t->slot = EV_NO_TASK;
    t->pid = pid;
    t->tid = tid;
    t->kind = pid == tid ? TK_PROCESS : TK_THREAD;
    t->state = TS_NEW;
    t->kernel_state = TS__COUNT;
    t->blocked_on = EV_NO_OBJ;
    t->cond_mutex = EV_NO_OBJ;
    t->cpu = -1;
    t->t_start = now;
    t->t_state = now;
    snprintf(t->name, sizeof(t->name), "%d", (int)tid);
    push_span(m, idx, TS_NEW, now);
    cache_tid(m, tid, idx);
    return idx;
}

static void bind_slot(struct model *m, uint32_t slot, uint32_t idx)
{
    size_t old = m->slot_map_cap;
    if (grow((void **)&m->slot_map, &m->slot_map_cap, (size_t)slot + 1, sizeof(uint32_t)) < 0)
        return;
    for (size_t i = old; i < m->slot_map_cap; i++)
        m->slot_map[i] = MODEL_NO_TASK;
    m->slot_map[slot] = idx;
}

/* A task_start on a slot whose task has ended and was another thread: the slot was
 * recycled (exec hands the slots of ended tasks to new ones). */
static int slot_reused(const struct model *m, uint32_t idx, const struct ev *e)
{
    const struct model_task *t = &m->tasks[idx];
    return e->kind == EV_TASK_START && t->tid != e->tid &&
           (t->state == TS_EXITED || t->state == TS_REAPED || t->state == TS_ZOMBIE);
}

/* Find the task an event is about; kernel sources may create it. */
static uint32_t resolve_task(struct model *m, const struct ev *e)
{
    if (e->task != EV_NO_TASK) {
        uint32_t idx = model_task_by_slot(m, e->task);
        if (idx != MODEL_NO_TASK && idx < m->ntasks && !slot_reused(m, idx, e))
            return idx;
        if (idx != MODEL_NO_TASK && idx < m->ntasks)
            m->tasks[idx].slot = EV_NO_TASK; /* it ended; a new task has its slot now */
        if (e->kind != EV_TASK_START)
            return MODEL_NO_TASK;
        /* a kernel source may already know this tid */
        idx = model_task_by_tid(m, e->tid);
        if (idx == MODEL_NO_TASK || m->tasks[idx].slot != EV_NO_TASK ||
            m->tasks[idx].state == TS_REAPED)
            idx = new_task(m, e->pid, e->tid, e->t);
        if (idx != MODEL_NO_TASK) {
            m->tasks[idx].slot = e->task;
            bind_slot(m, e->task, idx);
        }
        return idx;
    }
    if (e->tid <= 0)
        return MODEL_NO_TASK;
    uint32_t idx = model_task_by_tid(m, e->tid);
    if (idx != MODEL_NO_TASK && m->tasks[idx].state != TS_REAPED)
        return idx;
    if (e->src == EV_SRC_BPF && (e->kind == EV_PROC_FORK || e->kind == EV_WAKEUP_NEW))
        return new_task(m, e->pid, e->tid, e->t);
    return idx;
}

/* Count an operation on its object. Returns the object when this operation is the newest
 * seen (so its value is the object's value now), NULL for a stale or unknown one. */
static struct model_obj *touch_obj(struct model *m, const struct ev *e)
{
    struct model_obj *o = model_obj(m, e->obj);
    if (!o)
        return NULL;
    o->ops++;
    if (e->seq != o->last_seq + 1)
        o->seq_gaps++;
    if ((int32_t)(e->seq - o->last_seq) <= 0)
        return NULL; /* older than what we already applied */
    o->last_seq = e->seq;
    return o;
}

int model_event_is_reading(const struct ev *e)
{
    return e->src == EV_SRC_PROCFS && (e->kind == EV_SOCK_INFO || e->kind == EV_SOCK_NAME ||
                                       e->kind == EV_TCP_STATE || e->kind == EV_COND_RELOCK);
}

/* A reading of the kernel's socket table: applied in time order by the conductor, so never
 * stale, and outside the operations' seq order (it takes no number from it). */
static struct model_obj *read_obj(struct model *m, const struct ev *e)
{
    struct model_obj *o = model_obj(m, e->obj);
    if (o)
        o->ops++;
    return o;
}

static void set_value(struct model_obj *o, int64_t v)
{
    o->value = v;
    if (v < o->min)
        o->min = v;
    if (v > o->max)
        o->max = v;
}

static void create_obj(struct model *m, const struct ev *e, const char *name)
{
    if (e->obj == EV_NO_OBJ)
        return;
    if (grow((void **)&m->objs, &m->objs_cap, (size_t)e->obj + 1, sizeof(*m->objs)) < 0)
        return;
    if (m->nobjs <= e->obj)
        m->nobjs = (size_t)e->obj + 1;
    struct model_obj *o = &m->objs[e->obj];
    memset(o, 0, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "%s", name ? name : "?");
    o->kind = (uint8_t)e->aux;
    o->live = 1;
    o->value = o->init = o->min = o->max = e->val;
    o->capacity = e->item;
    o->holder = MODEL_NO_TASK;
    o->last_seq = e->seq;
    o->ops = 1;
    o->flags = (uint8_t)(e->extra & OBJF_SYSV);
    if (o->kind == OK_SOCKET) {
        /* the protocol is the item; older traces: TCP sockets started in CLOSE (7), UDP at 0 */
        o->proto = e->item ? (uint8_t)e->item : e->val ? 6 : 17;
        o->capacity = 0;
        o->tcp_state = (int32_t)e->val;
    }
}

/* The kernel's entry for a socket (sock_info): state, queues, addresses. */
static void sock_info(struct model_obj *o, const struct ev *e)
{
    o->in_kernel = e->val != 0;
    o->recv_q = (int64_t)((uint64_t)e->item & 0xffffffffu);
    o->send_q = (int64_t)((uint64_t)e->item >> 32);
    uint8_t proto = (uint8_t)(((uint64_t)e->aux >> 32) & 0xff);
    if (proto)
        o->proto = proto;
    if (!e->val)
        return; /* gone from the table: its ends are still what they were */
    o->tcp_state = (int32_t)e->val;
    o->lport = (uint16_t)((uint64_t)e->aux & 0xffff);
    o->rport = (uint16_t)(((uint64_t)e->aux >> 16) & 0xffff);
    uint32_t lo = (uint32_t)((uint64_t)e->extra & 0xffffffffu),
             hi = (uint32_t)((uint64_t)e->extra >> 32);
    if (o->proto == MODEL_PROTO_UNIX) { /* no addresses: the inodes, as ss shows them */
        o->linode = lo;
        o->rinode = hi;
    } else {
        o->laddr = lo;
        o->raddr = hi;
    }
    if (o->proto == 6)
        set_value(o, e->val);
}

/* A piece of a Unix socket's name (sock_name): the first replaces the name, one after a
 * full piece continues it. */
static void sock_name(struct model_obj *o, const struct ev *e)
{
    if (!(e->flags & EVF_TEXT))
        return;
    size_t n = strnlen(e->text, SOCK_NAME_PIECE);
    size_t have = o->lname_more ? strnlen(o->lname, sizeof(o->lname)) : 0;
    if (have + n >= sizeof(o->lname))
        n = sizeof(o->lname) - 1 - have;
    memcpy(o->lname + have, e->text, n);
    o->lname[have + n] = '\0';
    o->lname_more = strnlen(e->text, SOCK_NAME_PIECE) == SOCK_NAME_PIECE;
}

uint32_t model_socket_peer(const struct model *m, uint32_t id)
{
    const struct model_obj *o = id < m->nobjs ? &m->objs[id] : NULL;
    if (!o || o->kind != OK_SOCKET || o->proto != MODEL_PROTO_UNIX || !o->rinode)
        return MODEL_NO_OBJ;
    uint32_t found = MODEL_NO_OBJ;
    for (size_t i = 0; i < m->nobjs; i++) {
        const struct model_obj *p = &m->objs[i];
        if (i == id || !p->live || p->kind != OK_SOCKET || p->linode != o->rinode)
            continue;
        if (found == MODEL_NO_OBJ || (p->in_kernel && !m->objs[found].in_kernel))
            found = (uint32_t)i; /* the one the kernel still shows, if two had the inode */
    }
    return found;
}

/* Instrumented tasks are running whenever they act, unless a kernel source says otherwise. */
static void instr_state(struct model *m, uint32_t idx, uint8_t st, uint64_t now)
{
    struct model_task *t = &m->tasks[idx];
    /* with the kernel probes on, the kernel's word wins for running/ready: an operation seen
     * before its task's first sched record must not open a RUNNING interval the kernel never
     * had (the conductor, which the probes leave out, keeps its /proc-derived state) */
    if ((m->src_seen & (1u << EV_SRC_BPF)) && st != TS_BLOCKED && t->slot != 0)
        return;
    set_state(m, idx, st, now);
}

static void block_on(struct model *m, uint32_t idx, uint32_t obj, uint64_t now)
{
    m->tasks[idx].blocked_on = obj;
    set_state(m, idx, TS_BLOCKED, now);
}

static void unblock(struct model *m, uint32_t idx, uint64_t now)
{
    m->tasks[idx].blocked_on = EV_NO_OBJ;
    instr_state(m, idx, TS_RUNNING, now);
}

static void task_exited(struct model *m, uint32_t idx, int64_t status, uint64_t now)
{
    struct model_task *t = &m->tasks[idx];
    if (t->state == TS_REAPED)
        return;
    if (!t->has_exit) {
        t->has_exit = 1;
        t->exit_status = (int32_t)status;
        t->t_exit = now;
    }
    t->blocked_on = EV_NO_OBJ;
    t->at_gate = 0;
    t->cpu = -1;
    set_state(m, idx, t->kind == TK_PROCESS ? TS_ZOMBIE : TS_EXITED, now);
}

static void task_reaped(struct model *m, uint32_t idx, const struct ev *e)
{
    struct model_task *t = &m->tasks[idx];
    if (t->state == TS_REAPED)
        return; /* once: a joined thread is not reaped again with its process */
    t->reap_how = (uint8_t)e->extra;
    if (e->extra == REAP_WITH_PROCESS && e->val < 0)
        t->has_exit = 0; /* a thread that never returned: what the kernel saw is its process's */
    else if (!t->has_exit) {
        t->has_exit = 1;
        t->exit_status = (int32_t)e->val;
        t->t_exit = e->t;
    }
    t->blocked_on = EV_NO_OBJ;
    t->at_gate = 0;
    t->reap_src |= (uint8_t)(1u << (e->src & 7));
    t->t_reaped = e->t;
    set_state(m, idx, TS_REAPED, e->t);
}

/* Arriving at the step gate (val 1) and being let through (val 0). The wait there is
 * ipcscope's pause: its own state, whatever the kernel says of the futex under it. */
static void gate_event(struct model *m, uint32_t idx, const struct ev *e)
{
    struct model_task *t = &m->tasks[idx];
    if (t->state == TS_ZOMBIE || t->state == TS_EXITED || t->state == TS_REAPED)
        return;
    if (e->val) {
        t->at_gate = 1;
        t->gate_kind = (uint16_t)e->item;
        t->gate_obj = e->aux < 0 ? EV_NO_OBJ : (uint32_t)e->aux;
        t->gate_val = e->extra;
        set_state(m, idx, TS_GATE, e->t);
    } else if (t->at_gate) {
        t->at_gate = 0;
        set_state(m, idx, TS_RUNNING, e->t); /* it recorded this: it is on a CPU */
    }
}

/* EV_JOINED (exec's preload library): the joiner collected the thread in slot e->item, which
 * is reaped by the join (ended "joined"). Only the thread the join names: one of the joiner's
 * process that has exited or carries the thread object's name (its slot may have gone to a
 * new task since). */
static void joined_thread(struct model *m, uint32_t idx, const struct model_obj *o,
                          const struct ev *e)
{
    if (e->item < 0 || e->item >= (int64_t)UINT32_MAX)
        return;
    uint32_t j = model_task_by_slot(m, (uint32_t)e->item);
    if (j == MODEL_NO_TASK || j == idx || j >= m->ntasks)
        return;
    const struct model_task *t = &m->tasks[j];
    if (t->kind != TK_THREAD || t->pid != e->pid || t->state == TS_REAPED)
        return;
    if (t->state != TS_EXITED && !(o && !strcmp(o->name, t->name)))
        return;
    struct ev r = *e;
    r.kind = EV_TASK_REAPED;
    r.extra = REAP_JOIN;
    r.aux = e->tid;
    task_reaped(m, j, &r);
}

/* /proc no longer has the task and no source told how it ended: a thread has exited, a
 * process was reaped; its status stays unknown unless a source reported it. */
static void task_gone(struct model *m, uint32_t idx, uint64_t now)
{
    struct model_task *t = &m->tasks[idx];
    if (t->state == TS_REAPED)
        return;
    t->blocked_on = EV_NO_OBJ;
    t->at_gate = 0;
    t->cpu = -1;
    if (!t->t_exit)
        t->t_exit = now;
    if (t->kind == TK_THREAD) {
        set_state(m, idx, TS_EXITED, now);
        return;
    }
    t->t_reaped = now;
    t->reap_src |= (uint8_t)(1u << EV_SRC_PROCFS);
    set_state(m, idx, TS_REAPED, now);
}

/* The task said it exited (task_exit): a later /proc look at it on its way out (flushing
 * its output, say) must not make it running or blocked again. */
static int exit_recorded(const struct model_task *t)
{
    return t->has_exit && (t->state == TS_ZOMBIE || t->state == TS_EXITED);
}

/* exec: the task now runs another program and takes its name (the preload library says so
 * with the full name; the kernel's 15-byte comm names only tasks the library cannot see). */
static void exec_rename(struct model_task *t, const struct ev *e)
{
    if (!(e->flags & EVF_TEXT) || !e->text[0] || (e->src != EV_SRC_INSTR && t->slot != EV_NO_TASK))
        return;
    snprintf(t->name, sizeof(t->name), "%.*s", EV_TEXT_MAX, e->text);
}

/* 1 for the kernel's and /proc's running / ready / blocked reports. */
static int is_sched_report(unsigned kind)
{
    return kind == EV_STATE || kind == EV_SCHED_IN || kind == EV_SCHED_OUT || kind == EV_WAKEUP ||
           kind == EV_WAKEUP_NEW;
}

static void apply_task_event(struct model *m, uint32_t idx, const struct ev *e, const char *name)
{
    struct model_task *t = &m->tasks[idx];
    if (is_sched_report(e->kind) && exit_recorded(t) &&
        !(e->kind == EV_STATE && e->val == TS_ZOMBIE))
        return;
    switch (e->kind) {
    case EV_TASK_START:
        if (name && *name)
            snprintf(t->name, sizeof(t->name), "%s", name);
        t->pid = e->pid;
        t->tid = e->tid;
        cache_tid(m, e->tid, idx);
        t->kind = (uint8_t)e->item;
        t->ppid = (int32_t)e->aux;
        if (!t->orig_ppid)
            t->orig_ppid = t->ppid;
        if (t->state == TS_NEW)
            set_state(m, idx, TS_RUNNING, e->t);
        break;
    case EV_TASK_EXIT:
    case EV_PROC_EXIT:
        task_exited(m, idx, e->val, e->t);
        break;
    case EV_TASK_REAPED:
        task_reaped(m, idx, e);
        break;
    case EV_PROC_FORK:
        t->ppid = (int32_t)e->aux;
        if (!t->orig_ppid)
            t->orig_ppid = t->ppid;
        t->kind = e->item ? TK_THREAD : TK_PROCESS;
        break;
    case EV_STATE:
        if (e->extra == 1 && (e->val == TS_EXITED || e->val == TS_REAPED)) {
            task_gone(m, idx, e->t); /* a settled look: /proc no longer has it */
            break;
        }
        if (e->val == TS_ZOMBIE) {
            task_exited(m, idx, t->has_exit ? t->exit_status : 0, e->t);
            break;
        }
        if (e->val <= TS_NEW || e->val >= TS_ZOMBIE)
            break; /* a recorded state is ready, running or blocked (a trace may say -1) */
        if (e->src == EV_SRC_PROCFS && (m->src_seen & (1u << EV_SRC_BPF)) &&
            t->kernel_state != TS__COUNT && e->extra != 1)
            break; /* bpf is more precise (but a settled look between steps is the truth) */
        if (e->extra == 1 && t->kernel_state != TS__COUNT)
            t->kernel_state = (uint8_t)e->val;
        if (e->aux >= 0)
            t->cpu = (int32_t)e->aux;
        if (t->at_gate)
            break; /* asleep at ipcscope's gate: its own state, not the kernel's */
        /* runnable while still in its call: a waiter woken and on its way out. It stays in
         * the call (blocked_on) and is shown READY, as the probes' wakeup shows it: under
         * load the way out can wait for a CPU for longer than a step (/proc said R for
         * 0.5 s while the screen said blocked) */
        if (t->blocked_on != EV_NO_OBJ && e->val == TS_RUNNING) {
            set_state(m, idx, TS_READY, e->t);
            break;
        }
        set_state(m, idx, (uint8_t)e->val, e->t);
        break;
    case EV_SCHED_IN:
        t->kernel_state = TS_RUNNING;
        t->cpu = (int32_t)e->aux;
        t->switches++;
        if (!t->at_gate)
            set_state(m, idx, TS_RUNNING, e->t);
        break;
    case EV_SCHED_OUT:
        t->kernel_state = e->val ? TS_READY : TS_BLOCKED;
        if (!t->at_gate)
            set_state(m, idx, t->kernel_state, e->t);
        break;
    case EV_WAKEUP:
    case EV_WAKEUP_NEW:
        if (t->state != TS_RUNNING) {
            t->kernel_state = TS_READY;
            if (!t->at_gate)
                set_state(m, idx, TS_READY, e->t);
        }
        break;
    case EV_GATE:
        gate_event(m, idx, e);
        break;
    case EV_SIG_DELIVER:
        t->sig_delivered++;
        break;
    case EV_REPARENT:
        t->ppid = (int32_t)e->val;
        break;
    case EV_PROC_EXEC:
        exec_rename(t, e);
        break;
    case EV_SCHED_TIMES:
        if (e->val >= 0 && e->item >= 0 && e->t >= t->ks_at) {
            uint64_t d = t->t_state && e->t > t->t_state ? e->t - t->t_state : 0;
            t->ks_run_ns = (uint64_t)e->val;
            t->ks_wait_ns = (uint64_t)e->item;
            t->ks_at = e->t;
            t->ks_r_ns =
                t->run_ns + t->ready_ns + (t->state == TS_RUNNING || t->state == TS_READY ? d : 0);
            if (t->kernel_state == TS__COUNT && e->aux > 0)
                t->switches = (uint64_t)e->aux; /* times it was run on a CPU, by the kernel */
        }
        break;
    default:
        break;
    }
}

/* The kinds `ipcscope exec` adds: shared memory mappings, names removed, values set,
 * reader-writer locks, barriers and joins. o is NULL for an operation older than the last
 * applied (its value is stale, the task's state is not). */
static void apply_exec_obj_event(struct model *m, uint32_t idx, struct model_obj *o,
                                 const struct ev *e)
{
    int task = idx != MODEL_NO_TASK;
    switch (e->kind) {
    case EV_SHM_MAP:
    case EV_SHM_UNMAP:
        if (o) {
            o->users = (int32_t)e->val;
            o->flags |= MODEL_OBJ_SIZED;
        }
        break;
    case EV_OBJ_UNLINK:
        if (o)
            o->flags |= MODEL_OBJ_UNLINKED;
        break;
    case EV_OBJ_SIZE:
    case EV_OBJ_SET:
        if (o)
            set_value(o, e->val);
        if (o && e->kind == EV_OBJ_SIZE)
            o->flags |= MODEL_OBJ_SIZED;
        break;
    case EV_RW_WAIT:
    case EV_BARRIER_WAIT:
    case EV_JOIN:
        if (o && e->kind == EV_BARRIER_WAIT)
            set_value(o, e->val);
        if (task && e->aux)
            block_on(m, idx, e->obj, e->t);
        break;
    case EV_RW_ACQUIRED:
    case EV_RW_RELEASE:
        if (o) {
            set_value(o, e->val);
            if (e->item == 1)
                o->holder = e->kind == EV_RW_ACQUIRED ? idx : MODEL_NO_TASK;
        }
        if (task && e->kind == EV_RW_ACQUIRED)
            unblock(m, idx, e->t);
        break;
    case EV_BARRIER_PASS:
    case EV_JOINED:
        if (o && e->kind == EV_BARRIER_PASS)
            set_value(o, e->val);
        if (task)
            unblock(m, idx, e->t);
        if (e->kind == EV_JOINED)
            joined_thread(m, idx, o, e);
        break;
    default:
        break;
    }
}

/* exec's folded pairs (mutex_pairs, sem_pairs): counted as the operations they were; a
 * mutex's holder is left to the acquired and release records (another task's may come before
 * the fold's in seq order). */
static void apply_pairs(struct model *m, uint32_t idx, const struct ev *e)
{
    uint64_t ops = e->item > 0 && e->item < (1ll << 40) ? 2 * (uint64_t)e->item - 1 : 0;
    struct model_obj *any = model_obj(m, e->obj); /* stale in seq order or not, they happened */
    if (any)
        any->ops += ops;
    if (idx != MODEL_NO_TASK)
        m->tasks[idx].actions += ops;
}

/* The conductor read a mutex held (mutex_seen_held) or a semaphore's token kept
 * (sem_seen_taken) inside an exec fold: shown until the task's own records say otherwise. A
 * reading, not an operation: no count grows. */
static void apply_seen(struct model *m, uint32_t idx, const struct ev *e)
{
    struct model_obj *o = touch_obj(m, e);
    struct model_obj *any = model_obj(m, e->obj);
    if (any)
        any->ops--; /* touch_obj counted it */
    if (o && e->kind == EV_SEM_SEEN_TAKEN && o->kind == OK_SEMAPHORE)
        set_value(o, e->val);
    if (o && e->kind == EV_MUTEX_SEEN_HELD && (o->kind == OK_MUTEX || o->kind == OK_SPINLOCK) &&
        idx != MODEL_NO_TASK && o->holder == MODEL_NO_TASK) {
        o->holder = idx;
        o->flags |= MODEL_OBJ_SEEN_HELD;
    }
}

/* The conductor read that a task blocked in cond_wait on obj sleeps on the mutex now
 * (cond_relock): woken, it waits to take the mutex back, and is shown waiting for the mutex
 * until its cond_wake. A reading of the task's state, not an operation: nothing is counted. */
static void apply_relock(struct model *m, uint32_t idx, const struct ev *e)
{
    if (idx == MODEL_NO_TASK || !model_obj(m, (uint32_t)e->item))
        return;
    struct model_task *t = &m->tasks[idx];
    if (t->state == TS_BLOCKED && t->blocked_on == e->obj && t->cond_mutex == (uint32_t)e->item)
        t->blocked_on = (uint32_t)e->item; /* still blocked, since the same moment */
}

static void apply_obj_event(struct model *m, uint32_t idx, const struct ev *e)
{
    if (e->kind == EV_MUTEX_SEEN_HELD || e->kind == EV_SEM_SEEN_TAKEN) {
        apply_seen(m, idx, e);
        return;
    }
    if (e->kind == EV_COND_RELOCK) {
        apply_relock(m, idx, e);
        return;
    }
    struct model_obj *o = model_event_is_reading(e) ? read_obj(m, e) : touch_obj(m, e);
    if (idx != MODEL_NO_TASK)
        m->tasks[idx].actions++;
    if (o && (e->kind == EV_MUTEX_ACQUIRED || e->kind == EV_MUTEX_RELEASE))
        o->flags &= (uint8_t)~MODEL_OBJ_SEEN_HELD; /* recorded: no longer read from a slot */
    switch (e->kind) {
    case EV_SEM_WAIT:
    case EV_MUTEX_WAIT:
    case EV_EVENT_WAIT:
        if (o && e->kind != EV_MUTEX_WAIT)
            set_value(o, e->val);
        if (idx != MODEL_NO_TASK && e->aux)
            block_on(m, idx, e->obj, e->t);
        break;
    case EV_SEM_ACQUIRED:
    case EV_MUTEX_ACQUIRED:
    case EV_UNBLOCK:
        if (o && e->kind == EV_SEM_ACQUIRED)
            set_value(o, e->val);
        if (o && e->kind == EV_MUTEX_ACQUIRED)
            o->holder = idx;
        if (idx != MODEL_NO_TASK)
            unblock(m, idx, e->t);
        break;
    case EV_MUTEX_RELEASE:
        if (o)
            o->holder = MODEL_NO_TASK;
        break;
    case EV_MUTEX_PAIRS:
        apply_pairs(m, idx, e);
        break;
    case EV_SEM_PAIRS: /* net nothing: the value they leave is the value they found */
        apply_pairs(m, idx, e);
        if (o)
            set_value(o, e->val);
        break;
    case EV_COND_WAIT: {
        struct model_obj *mx = model_obj(m, (uint32_t)e->item);
        if (mx)
            mx->holder = MODEL_NO_TASK;
        if (idx != MODEL_NO_TASK) {
            block_on(m, idx, e->obj, e->t);
            m->tasks[idx].cond_mutex = mx ? (uint32_t)e->item : EV_NO_OBJ;
        }
        break;
    }
    case EV_COND_WAKE: {
        struct model_obj *mx = model_obj(m, (uint32_t)e->item);
        if (mx)
            mx->holder = idx;
        if (idx != MODEL_NO_TASK) {
            unblock(m, idx, e->t);
            m->tasks[idx].cond_mutex = EV_NO_OBJ;
        }
        break;
    }
    case EV_BLOCK:
        if (idx != MODEL_NO_TASK)
            block_on(m, idx, e->obj, e->t);
        break;
    case EV_QUEUE_PUT:
    case EV_QUEUE_GET:
    case EV_MQ_SEND:
    case EV_MQ_RECV:
    case EV_PIPE_WRITE:
    case EV_PIPE_READ:
        if (o) {
            set_value(o, e->val);
            o->last_item = e->item;
        }
        break;
    case EV_SEM_POST:
    case EV_EVENT_SET:
    case EV_EVENT_CLEAR:
    case EV_SHM_WRITE:
    case EV_VAR:
    case EV_MUX_WAIT:
    case EV_MUX_READY:
        if (o)
            set_value(o, e->val);
        break;
    case EV_TCP_STATE:
        if (o) {
            o->tcp_state = (int32_t)e->val;
            set_value(o, e->val);
        }
        break;
    case EV_SOCK_INFO:
        if (o)
            sock_info(o, e);
        break;
    case EV_SOCK_NAME:
        if (o)
            sock_name(o, e);
        break;
    default:
        apply_exec_obj_event(m, idx, o, e);
        break;
    }
}

int model_is_sched(unsigned kind)
{
    return kind == EV_STATE || kind == EV_GATE || kind == EV_SCHED_IN || kind == EV_SCHED_OUT ||
           kind == EV_WAKEUP || kind == EV_WAKEUP_NEW || kind == EV_SCHED_TIMES;
}

void model_task_times(const struct model_task *t, uint64_t now, uint64_t out[4])
{
    uint64_t d = t->t_state && now > t->t_state ? now - t->t_state : 0;
    out[0] = t->run_ns + (t->state == TS_RUNNING ? d : 0);
    out[1] = t->ready_ns + (t->state == TS_READY ? d : 0);
    out[2] = t->blocked_ns + (t->state == TS_BLOCKED ? d : 0);
    out[3] = t->gate_ns + (t->state == TS_GATE ? d : 0);
    if (t->kernel_state != TS__COUNT || !t->ks_at)
        return; /* the kernel's switches split running from ready; or no schedstat read */
    uint64_t life = out[0] + out[1] + out[2];
    /* R time since the last read: split as the kernel's totals were */
    uint64_t tail = out[0] + out[1] > t->ks_r_ns ? out[0] + out[1] - t->ks_r_ns : 0;
    uint64_t seen = t->ks_run_ns + t->ks_wait_ns;
    uint64_t tail_run =
        seen ? (uint64_t)((double)tail * (double)t->ks_run_ns / (double)seen) : tail;
    uint64_t run = t->ks_run_ns + tail_run;
    uint64_t ready = t->ks_wait_ns + (tail - tail_run);
    if (run > life)
        run = life;
    if (ready > life - run)
        ready = life - run;
    out[0] = run;
    out[1] = ready;
    out[2] = life - run - ready;
}

static void ring_keep(struct ev *ring, size_t cap, size_t *len, size_t *head, const struct ev *e)
{
    size_t pos = (*head + *len) % cap;
    ring[pos] = *e;
    if (*len < cap)
        (*len)++;
    else
        *head = (*head + 1) % cap;
}

static void remember(struct model *m, const struct ev *e)
{
    if (model_is_sched(e->kind)) {
        ring_keep(m->khist, m->khist_cap, &m->khist_len, &m->khist_head, e);
        return;
    }
    ring_keep(m->hist, m->hist_cap, &m->hist_len, &m->hist_head, e);
    m->hist_total++;
}

int model_event_touches_object(unsigned kind)
{
    switch (kind) {
    case EV_TASK_START:
    case EV_TASK_EXIT:
    case EV_TASK_REAPED:
    case EV_STATE:
    case EV_NOTE:
    case EV_SCHED_IN:
    case EV_SCHED_OUT:
    case EV_WAKEUP:
    case EV_WAKEUP_NEW:
    case EV_PROC_FORK:
    case EV_PROC_EXEC:
    case EV_PROC_EXIT:
    case EV_SIG_GENERATE:
    case EV_SIG_DELIVER:
    case EV_SIG_SEND:
    case EV_SIG_HANDLE:
    case EV_FORK_RET:
    case EV_REPARENT:
    case EV_ACTION:
    case EV_GATE:
    case EV_SLEEP:
    case EV_TIMEOUT:
    case EV_DEADLOCK:
    case EV_SCHED_TIMES:
        return 0;
    default:
        return 1;
    }
}

uint32_t model_apply(struct model *m, const struct ev *e, const char *task_name,
                     const char *obj_name)
{
    if (e->kind >= EV__COUNT)
        return MODEL_NO_TASK;
    if (!m->total || e->t < m->t_first)
        m->t_first = e->t;
    if (e->t > m->t_last)
        m->t_last = e->t;
    m->total++;
    m->src_seen |= 1u << (e->src & 7);
    remember(m, e);

    if (e->kind == EV_OBJ_CREATE) {
        create_obj(m, e, obj_name);
        return MODEL_NO_TASK;
    }
    if (e->kind == EV_OBJ_DESTROY) {
        struct model_obj *o = model_obj(m, e->obj);
        if (o)
            o->live = 0;
        return MODEL_NO_TASK;
    }

    uint32_t idx = resolve_task(m, e);
    if (e->kind == EV_SIG_GENERATE) {
        uint32_t sender = model_task_by_tid(m, (int32_t)e->aux);
        if (sender != MODEL_NO_TASK)
            m->tasks[sender].sig_sent++;
        return idx;
    }
    if (model_event_touches_object(e->kind) && e->obj != EV_NO_OBJ) {
        if (idx != MODEL_NO_TASK && m->tasks[idx].blocked_on == EV_NO_OBJ &&
            m->tasks[idx].state != TS_ZOMBIE && m->tasks[idx].state != TS_EXITED &&
            e->src == EV_SRC_INSTR)
            instr_state(m, idx, TS_RUNNING, e->t);
        apply_obj_event(m, idx, e);
        return idx;
    }
    if (idx != MODEL_NO_TASK)
        apply_task_event(m, idx, e, task_name);
    return idx;
}

const struct ev *model_hist(const struct model *m, size_t i)
{
    if (i >= m->hist_len)
        return NULL;
    return &m->hist[(m->hist_head + i) % m->hist_cap];
}

const struct ev *model_khist(const struct model *m, size_t i)
{
    if (i >= m->khist_len)
        return NULL;
    return &m->khist[(m->khist_head + i) % m->khist_cap];
}

const struct model_span *model_span_at(const struct model *m, size_t i)
{
    if (i >= m->spans_len)
        return NULL;
    return &m->spans[(m->spans_head + i) % m->spans_cap];
}

size_t model_waiters(const struct model *m, uint32_t obj, uint32_t *out, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        if (t->state != TS_BLOCKED || t->blocked_on != obj)
            continue;
        if (count < n)
            out[count] = (uint32_t)i;
        count++;
    }
    return count;
}

void model_blocked_label(const struct model *m, const struct model_task *t, char *buf, size_t n)
{
    buf[0] = '\0';
    if (t->blocked_on == EV_NO_OBJ || t->blocked_on >= m->nobjs)
        return;
    const struct model_obj *o = &m->objs[t->blocked_on];
    snprintf(buf, n, "%s:%s", obj_kind_prefix(o->kind), o->name);
}

int model_reap_seen(struct model *m, const struct ev *e)
{
    if (e->kind != EV_TASK_REAPED)
        return 0;
    uint32_t idx = MODEL_NO_TASK;
    if (e->task != EV_NO_TASK)
        idx = model_task_by_slot(m, e->task);
    if (idx == MODEL_NO_TASK && e->tid > 0)
        idx = model_task_by_tid(m, e->tid);
    if (idx == MODEL_NO_TASK || idx >= m->ntasks)
        return 0;
    struct model_task *t = &m->tasks[idx];
    if (t->state != TS_REAPED || t->pid != e->pid)
        return 0;
    t->reap_src |= (uint8_t)(1u << (e->src & 7));
    return 1;
}

/* ==== model_copy: a deep copy (replay checkpoints; added with the traces work) ====
 * Copies every field generically (a struct copy), then gives the copy its own arrays. If a
 * field that owns memory is added to struct model, copy it here too: the assertion below
 * fails until this function is looked at again. */

#if UINTPTR_MAX == UINT64_MAX
_Static_assert(sizeof(struct model) == 224, "struct model changed: check model_copy");
#endif

static void *dup_array(const void *src, size_t n, size_t elem)
{
    if (!n)
        return NULL;
    void *p = malloc(n * elem);
    if (p)
        memcpy(p, src, n * elem);
    return p;
}

int model_copy(struct model *dst, const struct model *src, size_t hist_cap, size_t spans_cap)
{
    struct model rings;
    if (model_init(&rings, hist_cap, spans_cap) < 0)
        return -ENOMEM;
    *dst = *src;
    dst->tasks = dup_array(src->tasks, src->ntasks, sizeof(*src->tasks));
    dst->tasks_cap = src->ntasks;
    dst->objs = dup_array(src->objs, src->nobjs, sizeof(*src->objs));
    dst->objs_cap = src->nobjs;
    dst->slot_map = dup_array(src->slot_map, src->slot_map_cap, sizeof(*src->slot_map));
    dst->tid_cache = dup_array(src->tid_cache, src->tid_cache_cap, sizeof(*src->tid_cache));
    dst->hist = rings.hist;
    dst->hist_cap = rings.hist_cap;
    dst->khist = rings.khist;
    dst->khist_cap = rings.khist_cap;
    dst->spans = rings.spans;
    dst->spans_cap = rings.spans_cap;
    dst->hist_len = dst->hist_head = dst->spans_len = dst->spans_head = 0;
    dst->khist_len = dst->khist_head = 0;
    if ((src->ntasks && !dst->tasks) || (src->nobjs && !dst->objs) ||
        (src->slot_map_cap && !dst->slot_map) || (src->tid_cache_cap && !dst->tid_cache)) {
        model_free(dst);
        return -ENOMEM;
    }
    size_t h = src->hist_len < dst->hist_cap ? src->hist_len : dst->hist_cap;
    for (size_t i = src->hist_len - h; i < src->hist_len; i++)
        dst->hist[dst->hist_len++] = *model_hist(src, i);
    size_t k = src->khist_len < dst->khist_cap ? src->khist_len : dst->khist_cap;
    for (size_t i = src->khist_len - k; i < src->khist_len; i++)
        dst->khist[dst->khist_len++] = *model_khist(src, i);
    size_t s = src->spans_len < dst->spans_cap ? src->spans_len : dst->spans_cap;
    for (size_t i = src->spans_len - s; i < src->spans_len; i++)
        dst->spans[dst->spans_len++] = *model_span_at(src, i);
    return 0;
}

size_t model_bytes(const struct model *m)
{
    return sizeof(*m) + m->tasks_cap * sizeof(*m->tasks) + m->objs_cap * sizeof(*m->objs) +
           m->slot_map_cap * sizeof(*m->slot_map) + m->tid_cache_cap * sizeof(*m->tid_cache) +
           m->hist_cap * sizeof(*m->hist) + m->khist_cap * sizeof(*m->khist) +
           m->spans_cap * sizeof(*m->spans);
}
