/*
 * run_gate.c - the conductor's side of the step gate: who waits, when the run has settled,
 * which waiter a step grants, and the run / step / pause modes with their pacing.
 *
 * Workers stop at the gate (instr_gate) while it is held; the conductor grants one action
 * per step (the teacher's pick, else the oldest waiter), or releases everyone in free run.
 */
#define _GNU_SOURCE
#include "run.h"
#include "run_int.h"

#include "sources/procfs.h"

#include <linux/futex.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- the gate ---- */

static void wake_slot(struct instr_task *t)
{
    syscall(SYS_futex, (uint32_t *)&t->gate, FUTEX_WAKE, 1, NULL, NULL, 0);
}

size_t run_gate_waiters(const struct run *r, int *slots, size_t n)
{
    size_t count = 0;
    if (!r->sh)
        return 0; /* a replay: nobody waits */
    uint32_t ntasks = run_ntasks(r);
    int tmp[1024];
    for (uint32_t s = 1; s < ntasks && count < 1024; s++)
        if (atomic_load(&r->sh->tasks[s].gate) == GS_WAITING)
            tmp[count++] = (int)s;
    /* oldest first: by the grant count at arrival, then by slot */
    for (size_t i = 1; i < count; i++) {
        int v = tmp[i];
        uint64_t tv = atomic_load(&r->sh->tasks[v].gate_ticket);
        size_t j = i;
        while (j > 0 && atomic_load(&r->sh->tasks[tmp[j - 1]].gate_ticket) > tv)
            tmp[j] = tmp[j - 1], j--;
        tmp[j] = v;
    }
    for (size_t i = 0; i < count && i < n; i++)
        slots[i] = tmp[i];
    return count;
}

/* Every live task is either waiting at the gate or asleep in the kernel. */
static int settled(const struct run *r)
{
    uint32_t ntasks = run_ntasks(r);
    if (!r->proc_ours)
        return 0; /* /proc shows other pids: settle by the timeout */
    for (uint32_t s = 1; s < ntasks; s++) {
        struct instr_task *t = &r->sh->tasks[s];
        if (atomic_load(&t->exited) || atomic_load(&t->gate) == GS_WAITING)
            continue;
        struct procfs_stat st;
        if (procfs_read_stat(t->pid, t->tid, &st) < 0)
            continue;
        if (st.state == 'R')
            return 0;
    }
    return 1;
}

static void grant(struct run *r, int slot)
{
    struct instr_task *t = &r->sh->tasks[slot];
    uint32_t expect = GS_WAITING;
    if (!atomic_compare_exchange_strong(&t->gate, &expect, GS_GRANTED))
        return;
    atomic_fetch_add(&r->sh->gate_grants, 1);
    r->steps++;
    wake_slot(t);
}

void run_serve_gate(struct run *r)
{
    if (!r->step_pending)
        return;
    uint64_t waited = loop_now_ns() - r->step_asked_ns;
    if (waited < SETTLE_TIMEOUT_NS && !settled(r))
        return;

    int slots[256];
    size_t n = run_gate_waiters(r, slots, 256);
    if (n == 0) {
        if (waited > STEP_GIVE_UP_NS) {
            r->step_pending = 0;
            snprintf(r->status, sizeof(r->status),
                     "nothing can move: no task is waiting at the gate (all blocked or ended)");
        }
        return;
    }
    int pick = slots[0];
    for (size_t i = 0; i < n && i < 256; i++)
        if (slots[i] == r->step_pick)
            pick = slots[i];
    char want[INSTR_NAME_MAX], moved[INSTR_NAME_MAX];
    if (r->step_pick >= 0 && pick != r->step_pick)
        snprintf(r->status, sizeof(r->status), "%s is not at the gate; moved %s instead",
                 run_slot_name(r, (uint32_t)r->step_pick, want),
                 run_slot_name(r, (uint32_t)pick, moved));
    grant(r, pick);
    r->step_pending = 0;
    r->step_pick = -1;
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
    if (mode == RUN_RUN && r->delay_ms == 0) {
        r->step_pending = 0;
        run_release_all(r);
    } else {
        atomic_store(&r->sh->gate_hold, 1);
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
