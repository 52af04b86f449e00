/*
 * run_gate.c - the conductor's side of the step gate: who waits, when the run has settled,
 * which waiter a step grants, and the run / step / pause modes with their pacing.
 *
 * Workers stop at the gate (instr_gate) while it is held; the conductor grants one action
 * per step (the teacher's pick, else the waiter due first on the scenario clock, then the
 * oldest), or releases everyone in free run. Timed waits are waiters too: a sleep waits at the
 * gate due when it ends, a blocked task's lesson deadline is listed due when it expires, and
 * granting either moves scenario time (sclock.h) to that moment.
 */
#define _GNU_SOURCE
#include "run.h"
#include "run_int.h"

#include "lesson_run.h"

#include "sclock.h"
#include "sources/procfs.h"

#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- the scenario clock ---- */

uint64_t run_scenario_ns(const struct run *r)
{
    if (!r->sh)
        return r->replay_now;
    uint64_t wall = r->stopped ? r->t_end_ns : loop_now_ns();
    return r->vc_free && wall > r->vc_wall ? r->vc_base + (wall - r->vc_wall) : r->vc_base;
}

/* Set scenario time to base from now on, running with the wall clock when free_run. The
 * conductor's own copy is the truth; the region only gets a published copy. */
static void clock_set(struct run *r, uint64_t base, int free_run)
{
    r->vc_base = base;
    r->vc_wall = loop_now_ns();
    r->vc_free = free_run;
    sclock_publish(r->sh, base, r->vc_wall, free_run);
}

/* ---- the gate ---- */

static void wake_slot(struct instr_task *t)
{
    syscall(SYS_futex, (uint32_t *)&t->gate, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Wake every timed waiter on the word it sleeps on (sclock_wait.word): a grant sets its
 * timer_fired or moves scenario time, a release ends the hold; either may end its wait. The
 * offset is the worker's word: checked against the conductor's own size of the region. */
static void wake_timed_waiters(const struct run *r)
{
    uint32_t ntasks = run_ntasks(r);
    for (uint32_t s = 1; s < ntasks; s++) {
        uint64_t off = atomic_load(&r->sh->tasks[s].timer_word);
        if (!off || (off - 1) % sizeof(int) || off - 1 + sizeof(int) > r->reg.size)
            continue;
        syscall(SYS_futex, (int *)((char *)r->sh + off - 1), FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    }
}

/* Waiter a before b: due first (scenario time), then arrival (grant count), then slot. */
static int waiter_before(const struct run_waiter *a, const struct run_waiter *b)
{
    if (a->due != b->due)
        return a->due < b->due;
    if (a->ticket != b->ticket)
        return a->ticket < b->ticket;
    return a->slot < b->slot;
}

/* Fill w from slot s when it waits: at the gate, or blocked with a lesson deadline. */
static int waiter_of(const struct run *r, uint32_t s, struct run_waiter *w)
{
    struct instr_task *t = &r->sh->tasks[s];
    if (atomic_load(&t->exited))
        return 0;
    memset(w, 0, sizeof(*w));
    w->slot = (int)s;
    w->ticket = atomic_load(&t->gate_ticket);
    if (atomic_load(&t->gate) == GS_WAITING) {
        w->due = atomic_load(&t->gate_due);
        w->kind = (uint16_t)atomic_load(&t->gate_kind);
        w->obj = atomic_load(&t->gate_obj);
        w->val = atomic_load(&t->gate_val);
        memcpy(w->what, t->gate_what, sizeof(w->what));
        w->what[sizeof(w->what) - 1] = '\0';
        return 1;
    }
    uint64_t due = atomic_load(&t->timer_due);
    if (due && !atomic_load(&t->timer_fired)) {
        w->timer = 1;
        w->due = due;
        w->kind = (uint16_t)atomic_load(&t->timer_ev);
        w->obj = atomic_load(&t->timer_obj);
        memcpy(w->what, t->timer_what, sizeof(w->what));
        w->what[sizeof(w->what) - 1] = '\0';
        return 1;
    }
    return 0;
}

int run_gate_label(const struct run *r, uint32_t slot, unsigned kind, char *buf, size_t n)
{
    if (!n)
        return 0;
    buf[0] = '\0';
    /* the last gate the task came to: the one the model shows, or (for a moment) its next */
    struct instr_task *t = slot ? run_slot(r, slot) : NULL;
    if (!t || atomic_load(&t->exited) || atomic_load(&t->gate_kind) != kind)
        return 0;
    char what[sizeof(t->gate_what)];
    memcpy(what, t->gate_what, sizeof(what));
    what[sizeof(what) - 1] = '\0';
    if (!what[0])
        return 0;
    snprintf(buf, n, "%s", what);
    return 1;
}

int run_waits_for(const struct run *r, uint32_t slot, char *buf, size_t n)
{
    if (!n)
        return 0;
    buf[0] = '\0';
    struct instr_task *t = slot && r->sh ? run_slot(r, slot) : NULL;
    if (!t || atomic_load(&t->exited) || !atomic_load(&t->waits_for_set))
        return 0;
    char what[sizeof(t->waits_for)];
    memcpy(what, t->waits_for, sizeof(what));
    what[sizeof(what) - 1] = '\0';
    if (!atomic_load(&t->waits_for_set) || !what[0]) /* changed while copied: the wait is over */
        return 0;
    snprintf(buf, n, "%s", what);
    return 1;
}

size_t run_waiters(const struct run *r, struct run_waiter *out, size_t n)
{
    size_t count = 0;
    if (!r->sh)
        return 0; /* a replay: nobody waits */
    uint32_t ntasks = run_ntasks(r);
    for (uint32_t s = 1; s < ntasks; s++) {
        struct run_waiter w;
        if (!waiter_of(r, s, &w))
            continue;
        /* insertion into the first n, in order; the count goes on past n */
        size_t j = count < n ? count : n;
        while (j > 0 && waiter_before(&w, &out[j - 1])) {
            if (j < n)
                out[j] = out[j - 1];
            j--;
        }
        if (j < n)
            out[j] = w;
        count++;
    }
    return count;
}

size_t run_gate_waiters(const struct run *r, int *slots, size_t n)
{
    struct run_waiter w[256];
    size_t count = run_waiters(r, w, 256);
    for (size_t i = 0; i < count && i < n && i < 256; i++)
        slots[i] = w[i].slot;
    return count;
}

/* A task that said it ended has finished ending: gone, or a zombie its own parent (not
 * the conductor, which reaps at once) has yet to wait for. */
static int exit_settled(const struct run *r, const struct instr_task *t)
{
    struct procfs_stat st;
    if (procfs_read_stat(t->pid, t->kind == TK_THREAD ? t->tid : 0, &st) < 0)
        return 1;
    if (t->kind == TK_THREAD)
        return 0; /* still on its way out */
    return st.state == 'Z' && st.ppid != r->ctx.conductor;
}

/* Every live task is at the gate, asleep in the kernel, or done; and every deadline the
 * conductor fired has been noticed. A task spawned but not started yet (its slot reserved,
 * its task_begin not run) is on its way to its first action: not settled. */
static int settled(const struct run *r)
{
    uint32_t ntasks = run_ntasks(r);
    if (!r->proc_ours)
        return 0; /* /proc shows other pids: settle by the timeout */
    for (uint32_t s = 1; s < ntasks; s++) {
        struct instr_task *t = &r->sh->tasks[s];
        if (atomic_load(&t->exited)) {
            if (!exit_settled(r, t))
                return 0;
            continue;
        }
        if (!atomic_load(&t->used))
            return 0;
        if (atomic_load(&t->timer_fired))
            return 0;
        if (atomic_load(&t->gate) == GS_WAITING || atomic_load(&t->unpaced))
            continue;
        struct procfs_stat st;
        if (procfs_read_stat(t->pid, t->tid, &st) < 0)
            continue;
        if (st.state == 'R')
            return 0;
    }
    return 1;
}

int run_settled(const struct run *r)
{
    return r->sh ? settled(r) : 1;
}

/* Let waiter w through: scenario time moves to when it is due (if later). */
static void grant(struct run *r, const struct run_waiter *w)
{
    struct instr_task *t = &r->sh->tasks[w->slot];
    if (w->timer) {
        if (w->due > r->vc_base)
            clock_set(r, w->due, 0);
        atomic_store(&t->timer_fired, 1);
        r->steps++;
        wake_timed_waiters(r);
        return;
    }
    uint32_t expect = GS_WAITING;
    if (!atomic_compare_exchange_strong(&t->gate, &expect, GS_GRANTED))
        return;
    if (w->due > r->vc_base && !r->vc_free)
        clock_set(r, w->due, 0);
    atomic_fetch_add(&r->sh->gate_grants, 1);
    r->steps++;
    wake_slot(t);
    wake_timed_waiters(r); /* scenario time moved: a deadline may have passed */
}

int run_unpaced_tasks(const struct run *r)
{
    int busy = 0;
    uint32_t ntasks = run_ntasks(r); /* the region's count, bounded by the conductor's */
    for (uint32_t s = 1; s < ntasks; s++)
        busy += !atomic_load(&r->sh->tasks[s].exited) && atomic_load(&r->sh->tasks[s].unpaced);
    return busy;
}

void run_serve_gate(struct run *r)
{
    if (!r->step_pending)
        return;
    uint64_t waited = loop_now_ns() - r->step_asked_ns;
    if (waited < SETTLE_TIMEOUT_NS && !settled(r))
        return;

    struct run_waiter w[256];
    size_t n = run_waiters(r, w, 256);
    if (n == 0) {
        if (waited > STEP_GIVE_UP_NS) {
            r->step_pending = 0;
            int busy = run_unpaced_tasks(r);
            if (busy)
                snprintf(r->status, sizeof(r->status),
                         r->ctx.lang ? "没有任务在闸门前等待：%d 个任务正全速工作（不受步进控制）。"
                                     : "Nobody waits at the gate: %d task%s work%s at full speed "
                                       "(unpaced).",
                         busy, r->ctx.lang || busy == 1 ? "" : "s", busy == 1 ? "s" : "");
            else if (r->mode != RUN_RUN) /* a paced run's tick: nothing for the teacher to do */
                snprintf(r->status, sizeof(r->status), "%s",
                         r->ctx.lang ? "没有任务能前进：没有任务在闸门前等待（都已阻塞或结束）。"
                                     : "Nothing can move: no task is waiting at the gate (all "
                                       "blocked or ended).");
        }
        return;
    }
    size_t pick = 0;
    for (size_t i = 0; i < n && i < 256; i++)
        if (w[i].slot == r->step_pick)
            pick = i;
    char want[INSTR_NAME_MAX], moved[INSTR_NAME_MAX];
    if (r->step_pick >= 0 && w[pick].slot != r->step_pick)
        snprintf(r->status, sizeof(r->status), "%s is not at the gate; moved %s instead",
                 run_slot_name(r, (uint32_t)r->step_pick, want),
                 run_slot_name(r, (uint32_t)w[pick].slot, moved));
    if (r->lesson && lesson_run_before_grant(r, &w[pick])) {
        r->step_pending = 0; /* predict mode holds this step (a question is asked) */
        return;
    }
    grant(r, &w[pick]);
    r->step_pending = 0;
    r->step_pick = -1;
    r->settle_pending = 1;
    r->settle_since = 0;
}

void run_step(struct run *r, int slot)
{
    if (r->replay) {
        run_replay_jump(r, 1);
        return;
    }
    if (r->mode == RUN_RUN && r->delay_ms == 0)
        run_set_mode(r, RUN_STEP);
    r->step_pending = 1;
    r->step_pick = slot;
    r->step_asked_ns = loop_now_ns();
    r->status[0] = '\0';
    run_adapt_poll(r, 1);
}

void run_release_all(struct run *r)
{
    atomic_store(&r->sh->gate_hold, 0);
    uint32_t ntasks = run_ntasks(r);
    for (uint32_t s = 1; s < ntasks; s++) {
        /* change the futex word itself, so a worker between its check and its futex_wait
         * cannot miss this release */
        uint32_t expect = GS_WAITING;
        if (atomic_compare_exchange_strong(&r->sh->tasks[s].gate, &expect, GS_GRANTED))
            wake_slot(&r->sh->tasks[s]);
    }
    wake_timed_waiters(r);
}

void run_arm_pace(struct run *r)
{
    if (!r->loop || r->pace_timer < 0)
        return;
    uint64_t period = r->mode == RUN_RUN ? (uint64_t)r->delay_ms * 1000000ull : 0;
    loop_set_timer(r->loop, r->pace_timer, period);
}

void run_set_mode(struct run *r, enum run_mode mode)
{
    r->mode = mode;
    if (r->replay) {
        run_replay_mode(r);
        return;
    }
    uint64_t now_v = run_scenario_ns(r);
    if (mode == RUN_RUN && r->delay_ms == 0) {
        r->step_pending = 0;
        clock_set(r, now_v, 1); /* scenario time runs with the wall clock again ... */
        run_release_all(r);     /* ... before anyone is let go */
    } else {
        atomic_store(&r->sh->gate_hold, 1); /* held first: nobody sleeps on a stopped clock */
        clock_set(r, now_v, 0);
    }
    if (mode == RUN_PAUSED)
        r->step_pending = 0;
    run_arm_pace(r);
}

void run_set_delay(struct run *r, unsigned delay_ms)
{
    r->delay_ms = delay_ms;
    run_set_mode(r, r->mode);
}

void run_pace_timer_cb(struct loop *lp, int id, void *arg)
{
    (void)lp;
    (void)id;
    struct run *r = arg;
    if (r->mode == RUN_RUN && r->delay_ms && !r->step_pending) {
        r->step_pending = 1;
        r->step_pick = -1;
        r->step_asked_ns = loop_now_ns();
        run_adapt_poll(r, 1); /* serve it at the fast rate */
        run_serve_gate(r);
    }
}
