/*
 * run_drain.c - records into the model and the trace, in time order.
 *
 * The kernel probes' ring and every task's ring are copied into a pending buffer (run_pump),
 * which run_drain puts in time order batch by batch and applies (run_apply: the model, the
 * lesson, the trace). A look at /proc or at the kernel's socket table joins the same buffer
 * (run_queue_reading), so it lands after every record written before it: applied ahead of
 * them, a look told a socket's CLOSE before the LAST_ACK that led there.
 */
#define _GNU_SOURCE
#include "run.h"
#include "run_int.h"

#include "evsort.h"
#include "lesson_run.h"
#include "sources/bpf.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>

static const char *task_name_of(const struct run *r, const struct ev *e, char *buf)
{
    if (e->task != EV_NO_TASK && e->task < r->reg.max_tasks)
        return run_slot_name(r, e->task, buf);
    uint32_t idx = model_task_by_tid(&r->model, e->tid);
    return idx != MODEL_NO_TASK ? r->model.tasks[idx].name : NULL;
}

static const char *obj_name_of(const struct run *r, const struct ev *e, char *buf)
{
    if (e->obj < INSTR_MAX_OBJS)
        return run_obj_name(r, e->obj, buf);
    if (e->obj < r->model.nobjs)
        return r->model.objs[e->obj].name;
    return NULL;
}

/* The scenario's socket object a kernel TCP state change belongs to: by cookie, else by
 * ports among the sockets that have no cookie yet (resolve_socket then binds it). NULL when
 * none. */
static struct instr_obj *socket_of(struct run *r, const struct ev *e)
{
    uint16_t sport = (uint16_t)((uint64_t)e->aux >> 48), dport = (uint16_t)((uint64_t)e->aux >> 32);
    uint32_t nobjs = atomic_load(&r->sh->nobjs);
    for (uint32_t i = 0; i < nobjs && i < INSTR_MAX_OBJS; i++) {
        struct instr_obj *o = &r->sh->objs[i];
        if (o->kind == OK_SOCKET && o->u.sock.cookie && o->u.sock.cookie == (uint64_t)e->extra)
            return o;
    }
    for (uint32_t i = 0; i < nobjs && i < INSTR_MAX_OBJS; i++) {
        struct instr_obj *o = &r->sh->objs[i];
        if (o->kind != OK_SOCKET || o->u.sock.cookie || !o->u.sock.lport)
            continue;
        if (o->u.sock.lport == sport && (!o->u.sock.rport || o->u.sock.rport == dport))
            return o;
    }
    return NULL;
}

/* A kernel TCP state change names a socket by cookie and ports; find the scenario's socket
 * object it belongs to (first by cookie, then by ports, binding the cookie). */
static int resolve_socket(struct run *r, struct ev *e)
{
    uint16_t sport = (uint16_t)((uint64_t)e->aux >> 48), dport = (uint16_t)((uint64_t)e->aux >> 32);
    struct instr_obj *match = socket_of(r, e);
    if (!match)
        return 0;
    match->u.sock.cookie = (uint64_t)e->extra;
    /* Closed in FIN_WAIT or CLOSING, the kernel frees the socket (the probe says CLOSE) and
     * keeps a small timewait socket in its place, which ss shows as TIME-WAIT (or, its
     * substate, FIN-WAIT-2): say what ss says, at once. */
    if (e->val == NET_CLOSE_STATE &&
        (e->item == NET_FIN_WAIT1_STATE || e->item == NET_FIN_WAIT2_STATE ||
         e->item == NET_CLOSING_STATE)) {
        /* the object's own ports: at that moment the kernel may have released the local port
         * already, and the probe reads 0 for it */
        int lingering =
            run_socket_lingering_state(match->u.sock.lport ? match->u.sock.lport : sport,
                                       match->u.sock.rport ? match->u.sock.rport : dport);
        if (lingering > 0)
            e->val = lingering;
    }
    e->obj = (uint32_t)(match - r->sh->objs); /* its index: the id field is a worker's */
    e->seq = atomic_fetch_add(&match->seq, 1);
    match->u.sock.state = (int32_t)e->val;
    r->sock_dirty = 1;
    return 1;
}

/* A TCP state read from the kernel's table, applied in time order after the records written
 * before the look: news only when the model does not have it yet; its from-state (e->item)
 * is then the model's, what the screen showed. */
static int reading_is_news(struct run *r, struct ev *e)
{
    const struct model_obj *mo = model_obj(&r->model, e->obj);
    if (!mo)
        return 1;
    if (mo->tcp_state == e->val)
        return 0;
    e->item = mo->tcp_state;
    return 1;
}

void run_apply(struct run *r, struct ev *e)
{
    if (model_reap_seen(&r->model, e))
        return; /* a reap another source reported already: one fact, one event */
    if (e->kind == EV_TCP_STATE && e->obj == EV_NO_OBJ)
        resolve_socket(r, e);
    else if (e->kind == EV_TCP_STATE && e->src == EV_SRC_PROCFS) {
        /* the object's state follows the records in time order, the look's too, news or not */
        if (e->obj < INSTR_MAX_OBJS && r->sh->objs[e->obj].kind == OK_SOCKET)
            r->sh->objs[e->obj].u.sock.state = (int32_t)e->val;
        if (!reading_is_news(r, e))
            return; /* the records before this look said it already */
    }
    if (e->src == EV_SRC_INSTR && e->obj < INSTR_MAX_OBJS && e->kind != EV_OBJ_CREATE &&
        r->sh->objs[e->obj].kind == OK_SOCKET)
        r->sock_dirty = 1; /* a socket call: look at the kernel's table after this batch */
    if (e->kind == EV_TASK_REAPED && e->src == EV_SRC_INSTR)
        run_fold_leftover(r, e->task); /* before the task is gone from the model */
    char tbuf[INSTR_NAME_MAX], obuf[INSTR_NAME_MAX];
    const char *tn = task_name_of(r, e, tbuf);
    const char *on = e->obj != EV_NO_OBJ ? obj_name_of(r, e, obuf) : NULL;
    model_apply(&r->model, e, tn, on);
    lesson_run_event(r->lesson, &r->model, e);
    if (r->trace && trace_write_event(r->trace, e, r->t_start_ns, task_name_of(r, e, tbuf), on))
        run_trace_stopped(r, trace_writer_problem(r->trace),
                          trace_writer_failed(r->trace) ? -1 : 1);
    /* follow new worker processes in the kernel probes */
    if (r->bpf && e->kind == EV_TASK_START && e->item == TK_PROCESS && e->task != 0)
        bpf_source_track(r->bpf, e->pid);
}

/* Make room for want more pending records (the buffer grows up to PEND_MAX). Returns the
 * room there is, possibly less than want, 0 when full. */
static size_t pend_room(struct run *r, size_t want)
{
    if (r->npend + want > r->pend_cap && r->pend_cap < PEND_MAX) {
        size_t ncap = r->pend_cap * 2;
        while (ncap < r->npend + want && ncap < PEND_MAX)
            ncap *= 2;
        if (ncap > PEND_MAX)
            ncap = PEND_MAX;
        struct ev *p = realloc(r->pend, ncap * sizeof(*p));
        if (p) {
            r->pend = p;
            r->pend_cap = ncap;
        }
    }
    return r->pend_cap - r->npend;
}

void run_queue_reading(struct run *r, const struct ev *e)
{
    if (pend_room(r, 1)) {
        r->pend[r->npend++] = *e;
        return;
    }
    struct ev copy = *e; /* no room: at once, as before */
    run_apply(r, &copy);
}

static void pend_bpf(const struct ev *e, void *arg)
{
    struct run *r = arg;
    if (pend_room(r, 1))
        r->pend[r->npend++] = *e;
    else
        r->pend_lost++;
}

/* Copy whatever the rings (and the bpf ring) hold into the pending buffer. Copying is cheap,
 * so calling this often keeps the rings from filling while the model and the trace catch up.
 * Returns the records taken. */
size_t run_pump(struct run *r)
{
    size_t total = 0;
    uint64_t dropped = r->pend_lost, now = loop_now_ns();
    /* the kernel's records first: a task records into its ring before it sleeps (a gate, a
     * wait), so every ring record older than a sched_out taken here is in its ring by the
     * time the rings are read, and the two land in one batch (the other way round, a task
     * that recorded and slept between the two reads showed blocked on nothing for a poll) */
    if (r->bpf) {
        size_t before = r->npend;
        bpf_source_drain(r->bpf, pend_bpf, r);
        total += r->npend - before;
        dropped += bpf_source_lost(r->bpf);
    }
    uint32_t ntasks = run_ntasks(r);
    for (uint32_t s = 0; s < ntasks; s++) {
        struct ring *ring = run_ring(r, s);
        if (s + 1 < ntasks) /* rings are a page apart or more: start the next miss early */
            __builtin_prefetch(&run_ring(r, s + 1)->head);
        size_t room, got;
        do {
            room = pend_room(r, 4096);
            got = ring_pop_cap(ring, r->reg.ring_cap, r->pend + r->npend, room);
            size_t kept = r->npend;
            for (size_t i = r->npend; i < r->npend + got; i++) {
                struct ev *e = &r->pend[i];
                instr_clock_convert(r->sh, e);
                if (run_check_record(e, s, r->reg.max_tasks, r->t_open_ns, now) < 0)
                    r->bad_records++;
                else
                    r->pend[kept++] = *e;
            }
            total += kept - r->npend;
            r->npend = kept;
        } while (room && got == room);
        dropped += ring_dropped(ring);
    }
    r->model.dropped = dropped;
    return total;
}

/* Put the n records of the batch in time order (ev_sort; qsort when no room could be had). */
static void sort_batch(struct run *r, size_t n)
{
    if (n > r->sort_tmp_cap) {
        struct ev *p = realloc(r->sort_tmp, r->batch_cap * sizeof(*p));
        if (p) {
            r->sort_tmp = p;
            r->sort_tmp_cap = r->batch_cap;
        }
    }
    if (n <= r->sort_tmp_cap)
        ev_sort(r->batch, n, r->sort_tmp);
    else
        qsort(r->batch, n, sizeof(*r->batch), ev_cmp_t);
}

/* Whether batch[i] is a TCP state a look read while the probes recorded a change of that
 * socket (a record of it stamped between the look's start and the last look's end). The look
 * may have read the state before the change or after it, though it is stamped before:
 * applied, it told the story out of order ("ESTABLISHED -> TIME_WAIT, read from the table",
 * then the probes' FIN_WAIT1, FIN_WAIT2, TIME_WAIT) or went back ("TIME_WAIT ->
 * FIN_WAIT1"). The probes' records tell it exactly. (The look's sock_info is applied: the
 * model ends in the table's state even if they missed a change.) */
static int probes_tell_it(struct run *r, size_t i, size_t n)
{
    const struct ev *look = &r->batch[i];
    if (look->kind != EV_TCP_STATE || look->src != EV_SRC_PROCFS || look->obj >= INSTR_MAX_OBJS)
        return 0;
    for (size_t j = i + 1; j < n && r->batch[j].t <= r->look_end_ns; j++) {
        const struct ev *e = &r->batch[j];
        if (e->kind != EV_TCP_STATE || e->src != EV_SRC_BPF || e->obj != EV_NO_OBJ)
            continue;
        const struct instr_obj *o = socket_of(r, e);
        if (o && (uint32_t)(o - r->sh->objs) == look->obj)
            return 1;
    }
    return 0;
}

/* Move pending records into the model and the trace, in time order within each batch
 * (per-object order is kept by seq, see model.c): what was pending, and what came while it
 * was applied, up to DRAIN_ROUNDS batches. Returns the records taken from the rings. */
size_t run_drain(struct run *r)
{
    instr_clock_refine(r->sh);
    size_t total = run_pump(r);
    /* a few batches a call: producers faster than the model (or a program writing its ring
     * without end) must not keep the conductor here; the rest waits in pend */
    for (int round = 0; r->npend && round < DRAIN_ROUNDS; round++) {
        struct ev *work = r->pend;
        size_t n = r->npend, cap = r->pend_cap;
        r->pend = r->batch;
        r->pend_cap = r->batch_cap;
        r->npend = 0;
        r->batch = work;
        r->batch_cap = cap;

        sort_batch(r, n);
        for (size_t i = 0; i < n; i++) {
            if (probes_tell_it(r, i, n))
                continue;
            run_apply(r, &r->batch[i]);
            if ((i & 1023) == 1023) /* keep the rings from filling meanwhile */
                total += run_pump(r);
        }
    }
    return total;
}
