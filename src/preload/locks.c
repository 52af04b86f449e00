/*
 * locks.c - reader-writer locks, barriers and spin locks.
 *
 * A reader-writer lock's value is the number of readers inside and its holder the writer;
 * a barrier's value is how many have arrived and its capacity how many it needs; a spin
 * lock is followed like a mutex (holder, waiters - a waiter spins rather than sleeps). As
 * for mutexes, an operation nobody else takes part in is one cheap record, a contended one
 * the whole story.
 */
#include "preload.h"

#include <errno.h>

/* ---- reader-writer locks ---- */

static int rw_shared(const pthread_rwlock_t *l)
{
    return l->__data.__shared != 0;
}

static struct instr_obj *rw_obj(pthread_rwlock_t *l, int fresh)
{
    int shared = rw_shared(l);
    struct instr_obj *o = fresh ? NULL : obj_find(l, OK_RWLOCK, shared);
    if (o)
        return o;
    struct obj_spec sp = {.kind = OK_RWLOCK, .shared = shared, .psize = sizeof(*l), .fresh = fresh};
    return obj_at(l, &sp);
}

EXPORT int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *a)
{
    int rc = REAL(pthread_rwlock_init)(l, a);
    if (rc == 0 && active())
        rw_obj(l, 1);
    return rc;
}

EXPORT int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
    if (active())
        obj_forget(l, OK_RWLOCK, rw_shared(l));
    return REAL(pthread_rwlock_destroy)(l);
}

/* The caller is now inside o: as a reader (readers + 1) or as the writer. */
static void rw_entered(struct instr_obj *o, int write, int precise)
{
    obj_lock(o);
    if (write)
        g_map->x[o->id].holder = tl_tid;
    else
        o->value++;
    op_t(o, EV_RW_ACQUIRED, o->value, write, 0, precise);
    obj_unlock(o);
}

enum { RW_PLAIN, RW_TIMED };

static int rw_block(pthread_rwlock_t *l, int write, int how, const struct timespec *abstime)
{
    if (how == RW_TIMED)
        return write ? REAL(pthread_rwlock_timedwrlock)(l, abstime)
                     : REAL(pthread_rwlock_timedrdlock)(l, abstime);
    return write ? REAL(pthread_rwlock_wrlock)(l) : REAL(pthread_rwlock_rdlock)(l);
}

static int rw_lock_common(pthread_rwlock_t *l, int write, int how, const struct timespec *abstime)
{
    struct instr_obj *o = rw_obj(l, 0);
    if (!o)
        return rw_block(l, write, how, abstime);
    gate(EV_RW_WAIT, o->id);
    int rc = write ? REAL(pthread_rwlock_trywrlock)(l) : REAL(pthread_rwlock_tryrdlock)(l);
    if (rc == 0) {
        rw_entered(o, write, T_COARSE);
        return 0;
    }
    if (rc != EBUSY)
        return rc;
    op(o, EV_RW_WAIT, o->value, write, 1);
    mark_blocked(o);
    rc = rw_block(l, write, how, abstime);
    mark_blocked(NULL);
    if (rc == 0)
        rw_entered(o, write, T_PRECISE);
    else
        op(o, EV_UNBLOCK, o->value, 0, rc);
    return rc;
}

EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    if (!active())
        return REAL(pthread_rwlock_rdlock)(l);
    return rw_lock_common(l, 0, RW_PLAIN, NULL);
}

EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    if (!active())
        return REAL(pthread_rwlock_wrlock)(l);
    return rw_lock_common(l, 1, RW_PLAIN, NULL);
}

EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *abstime)
{
    if (!active())
        return REAL(pthread_rwlock_timedrdlock)(l, abstime);
    return rw_lock_common(l, 0, RW_TIMED, abstime);
}

EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *abstime)
{
    if (!active())
        return REAL(pthread_rwlock_timedwrlock)(l, abstime);
    return rw_lock_common(l, 1, RW_TIMED, abstime);
}

/* tryrdlock, trywrlock: taken, or a try that did not wait. */
static int rw_try(pthread_rwlock_t *l, int write)
{
    struct instr_obj *o = rw_obj(l, 0);
    int rc = write ? REAL(pthread_rwlock_trywrlock)(l) : REAL(pthread_rwlock_tryrdlock)(l);
    if (o && rc == 0)
        rw_entered(o, write, T_COARSE);
    else if (o && rc == EBUSY)
        op_fast(o, EV_RW_WAIT, o->value, write, 0);
    return rc;
}

EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
    if (!active())
        return REAL(pthread_rwlock_tryrdlock)(l);
    return rw_try(l, 0);
}

EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
    if (!active())
        return REAL(pthread_rwlock_trywrlock)(l);
    return rw_try(l, 1);
}

EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
    struct instr_obj *o = active() ? rw_obj(l, 0) : NULL;
    if (!o)
        return REAL(pthread_rwlock_unlock)(l);
    gate(EV_RW_RELEASE, o->id);
    obj_lock(o); /* recorded before the real unlock: the next one in comes after in seq */
    struct instr_attach_objx *x = &g_map->x[o->id];
    int write = x->holder == tl_tid;
    if (write)
        x->holder = 0;
    else if (o->value > 0)
        o->value--;
    op_t(o, EV_RW_RELEASE, o->value, write, 0, write ? T_PRECISE : T_COARSE);
    obj_unlock(o);
    return REAL(pthread_rwlock_unlock)(l);
}

/* ---- barriers ---- */

/* glibc's barrier: {unsigned in, current_round, count; int shared; unsigned out}. */
struct glibc_barrier {
    unsigned in, current_round, count;
    int shared;
    unsigned out;
};

static struct instr_obj *barrier_obj(pthread_barrier_t *b, unsigned count, int fresh)
{
    const struct glibc_barrier *g = (const struct glibc_barrier *)(const void *)b;
    int shared = g->shared != 0;
    struct instr_obj *o = fresh ? NULL : obj_find(b, OK_BARRIER, shared);
    if (o)
        return o;
    struct obj_spec sp = {.kind = OK_BARRIER,
                          .shared = shared,
                          .psize = sizeof(*b),
                          .cap = count ? count : g->count,
                          .fresh = fresh};
    return obj_at(b, &sp);
}

EXPORT int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *a,
                                unsigned count)
{
    int rc = REAL(pthread_barrier_init)(b, a, count);
    if (rc == 0 && active())
        barrier_obj(b, count, 1);
    return rc;
}

EXPORT int pthread_barrier_destroy(pthread_barrier_t *b)
{
    if (active())
        obj_forget(b, OK_BARRIER, ((const struct glibc_barrier *)(const void *)b)->shared != 0);
    return REAL(pthread_barrier_destroy)(b);
}

EXPORT int pthread_barrier_wait(pthread_barrier_t *b)
{
    struct instr_obj *o = active() ? barrier_obj(b, 0, 0) : NULL;
    if (!o)
        return REAL(pthread_barrier_wait)(b);
    gate(EV_BARRIER_WAIT, o->id);
    obj_lock(o);
    o->value++;
    int last = o->value >= o->capacity;
    op(o, EV_BARRIER_WAIT, o->value, 0, !last);
    if (last)
        o->value = 0; /* it opens: a new round begins empty */
    obj_unlock(o);
    if (!last)
        mark_blocked(o);
    int rc = REAL(pthread_barrier_wait)(b);
    if (!last)
        mark_blocked(NULL);
    op(o, EV_BARRIER_PASS, o->value, 0, rc == PTHREAD_BARRIER_SERIAL_THREAD);
    return rc;
}

/* ---- spin locks: followed as mutexes ----
 * An uncontended pair folds as a mutex's does (preload.h, "folding"). A spin lock has no
 * waiter bit, so a task about to spin says so in the object's tail (how many spin for it
 * now): the holder's unlock then records its release instead of folding it. */

static struct instr_obj *spin_lookup(pthread_spinlock_t *s, int fresh, uint32_t remaps)
{
    struct instr_obj *o = fresh ? NULL : obj_find((const void *)s, OK_SPINLOCK, 1);
    if (!o) {
        struct obj_spec sp = {
            .kind = OK_SPINLOCK, .shared = 1, .psize = sizeof(*s), .fresh = fresh};
        o = obj_at((const void *)s, &sp);
    }
    obj_cache_put(&tl_cache.spin, (const void *)s, o, remaps);
    return o;
}

static inline __attribute__((always_inline)) struct instr_obj *spin_obj(pthread_spinlock_t *s,
                                                                        int fresh)
{
    uint32_t remaps;
    struct instr_obj *o = obj_cache_get(&tl_cache.spin, (const void *)s, &remaps);
    return o && !fresh ? o : spin_lookup(s, fresh, remaps);
}

EXPORT int pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
    int rc = REAL(pthread_spin_init)(s, pshared);
    if (rc == 0 && active())
        spin_obj(s, 1);
    return rc;
}

EXPORT int pthread_spin_destroy(pthread_spinlock_t *s)
{
    if (active())
        obj_forget((const void *)s, OK_SPINLOCK, 1);
    return REAL(pthread_spin_destroy)(s);
}

/* The caller holds o: recorded, or joined to its fold (uncontended, precise 0). */
static inline __attribute__((always_inline)) void spin_taken(struct instr_obj *o, int precise)
{
    g_map->x[o->id].holder = tl_tid;
    if (precise == T_COARSE && fold_lock(o))
        return;
    op_t(o, EV_MUTEX_ACQUIRED, 1, 0, 0, precise);
}

/* A loop's folded pairs, the short way (as mutexes, sync.c): an uncontended lock that joins
 * the fold, and the unlock completing the pair with nobody spinning. Each returns 0 before
 * changing anything when a check fails; the general path then does it all. */
static inline __attribute__((always_inline)) int spin_lock_folded(pthread_spinlock_t *s)
{
    struct instr_obj *o = folded_obj(&tl_cache.spin, (const void *)s);
    if (!o)
        return 0;
    struct instr_fold *f = tl_fold;
    busy_enter();
    int ok = atomic_load_explicit(&f->held, FOLD_RELAXED) == FOLD_FREE && fold_in_tick(f) &&
             REAL(pthread_spin_trylock)(s) == 0;
    if (ok) {
        g_map->x[o->id].holder = tl_tid;
        atomic_store_explicit(&f->held, FOLD_HELD, FOLD_RELAXED);
    }
    busy_leave();
    return ok;
}

static inline __attribute__((always_inline)) int spin_unlock_folded(pthread_spinlock_t *s, int *rc)
{
    struct instr_obj *o = folded_obj(&tl_cache.spin, (const void *)s);
    struct instr_fold *f = tl_fold;
    if (!o || atomic_load_explicit(&f->held, FOLD_RELAXED) != FOLD_HELD ||
        __atomic_load_n(&o->tail, __ATOMIC_SEQ_CST) > 0)
        return 0;
    busy_enter();
    g_map->x[o->id].holder = 0;
    atomic_store_explicit(&f->pairs, atomic_load_explicit(&f->pairs, FOLD_RELAXED) + 1,
                          FOLD_RELAXED);
    atomic_store_explicit(&f->held, FOLD_FREE, FOLD_RELAXED);
    busy_leave();
    *rc = REAL(pthread_spin_unlock)(s);
    return 1;
}

EXPORT int pthread_spin_lock(pthread_spinlock_t *s)
{
    if (spin_lock_folded(s))
        return 0;
    struct instr_obj *o = active() ? spin_obj(s, 0) : NULL;
    if (!o)
        return REAL(pthread_spin_lock)(s);
    gate(EV_MUTEX_WAIT, o->id);
    if (REAL(pthread_spin_trylock)(s) == 0) {
        spin_taken(o, T_COARSE);
        return 0;
    }
    __atomic_add_fetch(&o->tail, 1, __ATOMIC_SEQ_CST);
    op(o, EV_MUTEX_WAIT, 1, 0, 1); /* spins: running, but waiting on the lock */
    mark_blocked(o);
    int rc = REAL(pthread_spin_lock)(s);
    __atomic_sub_fetch(&o->tail, 1, __ATOMIC_SEQ_CST);
    mark_blocked(NULL);
    spin_taken(o, T_PRECISE);
    return rc;
}

EXPORT int pthread_spin_trylock(pthread_spinlock_t *s)
{
    struct instr_obj *o = active() ? spin_obj(s, 0) : NULL;
    int rc = REAL(pthread_spin_trylock)(s);
    if (o && rc == 0)
        spin_taken(o, T_COARSE);
    else if (o)
        op_fast(o, EV_MUTEX_WAIT, 1, 0, 0);
    return rc;
}

EXPORT int pthread_spin_unlock(pthread_spinlock_t *s)
{
    int rc;
    if (spin_unlock_folded(s, &rc))
        return rc;
    struct instr_obj *o = active() ? spin_obj(s, 0) : NULL;
    if (o) {
        gate(EV_MUTEX_RELEASE, o->id);
        g_map->x[o->id].holder = 0;
        int waiters = __atomic_load_n(&o->tail, __ATOMIC_SEQ_CST) > 0;
        if (!fold_unlock(o, waiters)) {
            op_t(o, EV_MUTEX_RELEASE, 0, 0, 0, waiters ? T_PRECISE : T_COARSE);
            if (!waiters)
                fold_open(o);
        }
    }
    return REAL(pthread_spin_unlock)(s);
}
