/*
 * run_condvar.c - whom a condition variable's waiter really waits for. pthread_cond_wait
 * returns only once it holds the mutex again, so a waiter that a signal or a broadcast woke
 * sleeps in the kernel on the mutex until the holder lets it go, and its own records cannot
 * say so: it writes cond_wake when it returns. The conductor reads the futex word each task
 * blocked in cond_wait sleeps on (/proc/PID/task/TID/syscall) and, once it is the mutex's,
 * records the reading cond_relock: the task is shown waiting for the mutex (con.notify()
 * wakes one waiter, which then queues for con-lock; notify_all() moves them all there).
 *
 * A scenario's mutexes live in the run's shared region, mapped at the same address in the
 * conductor and in every worker: the word is the mutex's when it lies inside it. A program
 * under exec keeps its own, at addresses only its process knows; the preload's map of
 * addresses to objects says which object the word belongs to (glibc's lock word is the
 * mutex's first member, at its address).
 */
#include "run.h"
#include "run_int.h"

#include "loop.h"
#include "scenarios/exec.h"
#include "sources/procfs.h"

#define RELOCK_LOOK_NS (10 * 1000 * 1000ull) /* between two looks */

/* Is the futex word w that task t sleeps on its condition's mutex's? */
static int sleeps_on_mutex(const struct run *r, const struct model_task *t, uintptr_t w)
{
    if (r->sc == &scenario_exec)
        return exec_scenario_obj_at(t->pid, w) == t->cond_mutex;
    const pthread_mutex_t *mx = &r->sh->objs[t->cond_mutex].u.mutex;
    return w >= (uintptr_t)mx && w < (uintptr_t)(mx + 1);
}

void run_condvar_look(struct run *r)
{
    if (!r->procfs_on || !r->sh)
        return;
    uint64_t now = loop_clock_ns(CLOCK_MONOTONIC_COARSE);
    if (now - r->relock_look_ns < RELOCK_LOOK_NS)
        return;
    r->relock_look_ns = now;
    struct model *m = &r->model;
    for (uint32_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        if (t->state != TS_BLOCKED || t->cond_mutex == EV_NO_OBJ || t->blocked_on == EV_NO_OBJ ||
            t->blocked_on == t->cond_mutex || t->cond_mutex >= INSTR_MAX_OBJS ||
            t->blocked_on >= INSTR_MAX_OBJS || t->slot >= run_ntasks(r))
            continue;
        const struct model_obj *c = model_obj(m, t->blocked_on);
        uintptr_t w;
        if (!c || c->kind != OK_CONDVAR || !procfs_futex_word(t->pid, t->tid, &w))
            continue;
        if (!sleeps_on_mutex(r, t, w))
            continue; /* still on the condition (or elsewhere) */
        struct ev e = {.t = loop_now_ns(),
                       .kind = EV_COND_RELOCK,
                       .src = EV_SRC_PROCFS,
                       .task = t->slot,
                       .pid = t->pid,
                       .tid = t->tid,
                       .obj = t->blocked_on,
                       .item = t->cond_mutex};
        run_apply(r, &e);
    }
}
