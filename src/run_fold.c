/*
 * run_fold.c - the conductor's side of folding (src/preload/preload.h): a program's
 * uncontended lock/unlock pairs on one mutex (take/post pairs on one semaphore), counted in
 * its task slot's instr_fold and recorded as one mutex_pairs (sem_pairs) record.
 *
 * Two things are in the slot only, never in a record, and the conductor reads them there:
 * a lock (a token) taken inside a fold that is still held past the fold's clock tick (the thread
 * makes no other followed call: it computes, or sleeps), shown as held at once and handed back to
 * the thread to record at its unlock; and what a task that ended inside a fold (a thread gone
 * with its process, a process killed) had folded, recorded when it is reaped. The slot is the
 * program's to write: every value is bounded before use.
 */
#include "run.h"
#include "run_int.h"

#include "loop.h"
#include "scenarios/exec.h"

#define FOLD_LOOK_NS (10 * 1000 * 1000ull) /* between two looks at every slot */
#define FOLD_PAIRS_MAX (1ull << 40)        /* more than a thread makes in a run */

/* The mutex, spin lock or semaphore a fold names, or NULL (no fold, or not one the model
 * knows). */
static struct model_obj *fold_obj(struct run *r, uint32_t id1)
{
    if (id1 == 0 || id1 > INSTR_MAX_OBJS)
        return NULL;
    struct model_obj *o = model_obj(&r->model, id1 - 1);
    return o && (o->kind == OK_MUTEX || o->kind == OK_SPINLOCK || o->kind == OK_SEMAPHORE) ? o
                                                                                           : NULL;
}

/* A semaphore's value as the program's processes keep it (under their lock: read once). */
static int64_t shared_value(struct run *r, uint32_t obj)
{
    return __atomic_load_n(&r->sh->objs[obj].value, __ATOMIC_RELAXED);
}

/* Apply a record about the task in slot that it did not write itself (its seq taken from
 * the object, like the task's own): what its fold holds. */
static void apply_for(struct run *r, uint32_t slot, uint16_t kind, uint32_t obj, int64_t val,
                      int64_t item, uint64_t t, uint8_t src)
{
    struct instr_task *task = &r->sh->tasks[slot];
    struct ev e = {.t = t,
                   .kind = kind,
                   .src = src,
                   .task = slot,
                   .pid = task->pid,
                   .tid = task->tid,
                   .obj = obj,
                   .seq = atomic_fetch_add_explicit(&r->sh->objs[obj].seq, 1, memory_order_relaxed),
                   .val = val,
                   .item = item};
    run_apply(r, &e);
}

void run_fold_look(struct run *r)
{
    if (r->sc != &scenario_exec)
        return; /* only a program under exec folds */
    uint64_t now = loop_clock_ns(CLOCK_MONOTONIC_COARSE);
    if (now - r->fold_look_ns < FOLD_LOOK_NS)
        return;
    r->fold_look_ns = now;
    uint32_t n = run_ntasks(r);
    for (uint32_t s = 1; s < n; s++) {
        struct instr_fold *f = &r->sh->tasks[s].fold;
        uint32_t id1 = atomic_load_explicit(&f->obj1, memory_order_relaxed);
        struct model_obj *o = fold_obj(r, id1);
        if (!o || atomic_load_explicit(&f->tick, memory_order_relaxed) >= now)
            continue;
        /* held past its tick: the thread records it at its unlock (post); until then, say so */
        uint32_t want = FOLD_HELD;
        if (!atomic_compare_exchange_strong(&f->held, &want, FOLD_HELD_LONG) ||
            model_task_by_slot(&r->model, s) == MODEL_NO_TASK)
            continue;
        if (o->kind != OK_SEMAPHORE)
            apply_for(r, s, EV_MUTEX_SEEN_HELD, id1 - 1, 1, 0, loop_now_ns(), EV_SRC_PROCFS);
        else
            apply_for(r, s, EV_SEM_SEEN_TAKEN, id1 - 1, shared_value(r, id1 - 1), 0, loop_now_ns(),
                      EV_SRC_PROCFS);
    }
}

void run_fold_leftover(struct run *r, uint32_t slot)
{
    if (slot == 0 || slot >= run_ntasks(r))
        return;
    uint32_t idx = model_task_by_slot(&r->model, slot);
    if (idx == MODEL_NO_TASK || r->model.tasks[idx].state == TS_REAPED)
        return; /* reaped already: the slot may be a new task's */
    struct instr_fold *f = &r->sh->tasks[slot].fold;
    uint32_t id1 = atomic_exchange(&f->obj1, 0); /* claimed: a live task can no longer close it */
    uint64_t pairs = atomic_exchange(&f->pairs, 0);
    uint32_t held = atomic_exchange(&f->held, FOLD_FREE);
    uint64_t t = atomic_load(&f->tick);
    struct model_obj *o = fold_obj(r, id1);
    if (!o)
        return;
    uint64_t now = loop_now_ns();
    t = t < r->t_open_ns ? r->t_open_ns : t > now ? now : t;
    int64_t n = (int64_t)(pairs < FOLD_PAIRS_MAX ? pairs : FOLD_PAIRS_MAX);
    int sem = o->kind == OK_SEMAPHORE, kept = held != FOLD_FREE;
    int64_t v = sem ? shared_value(r, id1 - 1) : 0; /* a semaphore: with the kept token out */
    if (n)
        apply_for(r, slot, sem ? EV_SEM_PAIRS : EV_MUTEX_PAIRS, id1 - 1, sem ? v + kept : 0, n, t,
                  EV_SRC_INSTR);
    if (kept)
        apply_for(r, slot, sem ? EV_SEM_ACQUIRED : EV_MUTEX_ACQUIRED, id1 - 1, sem ? v : 1, 0, t,
                  EV_SRC_INSTR);
}
