/*
 * sync.c - the program's synchronisation primitives: semaphores (unnamed and named),
 * pthread mutexes (plain, recursive, robust, timed) and condition variables.
 *
 * Semaphore values are recorded under the object's spin lock so that, in seq order, the
 * trace gives exactly the values the operations produced; a mutex's holder is recorded once
 * per outermost lock; a wait that gives up (ETIMEDOUT) is an unblock with the error.
 */
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>

/* ---- semaphores ---- */

/* glibc's sem_t: {uint64 data; int private;} with private 0 when process-shared. */
static int sem_shared(sem_t *s)
{
    return ((const int *)(const void *)s)[2] == 0;
}

static struct instr_obj *sem_obj(sem_t *s)
{
    int v = 0;
    sem_getvalue(s, &v);
    struct obj_spec sp = {
        .kind = OK_SEMAPHORE, .shared = sem_shared(s), .psize = sizeof(sem_t), .init = v};
    return obj_at(s, &sp);
}

EXPORT int sem_init(sem_t *s, int pshared, unsigned value)
{
    int rc = REAL(sem_init)(s, pshared, value);
    if (rc == 0 && active()) {
        struct obj_spec sp = {.kind = OK_SEMAPHORE,
                              .shared = pshared != 0,
                              .psize = sizeof(sem_t),
                              .init = value,
                              .fresh = 1};
        obj_at(s, &sp);
    }
    return rc;
}

EXPORT int sem_destroy(sem_t *s)
{
    if (active())
        obj_forget(s, OK_SEMAPHORE);
    return REAL(sem_destroy)(s);
}

EXPORT sem_t *sem_open(const char *name, int oflag, ...)
{
    va_list ap;
    va_start(ap, oflag);
    mode_t mode = (oflag & O_CREAT) ? va_arg(ap, mode_t) : 0;
    unsigned value = (oflag & O_CREAT) ? va_arg(ap, unsigned) : 0;
    va_end(ap);
    sem_t *s = REAL(sem_open)(name, oflag, mode, value);
    if (s != SEM_FAILED && active()) {
        int v = 0;
        sem_getvalue(s, &v);
        struct obj_spec sp = {.kind = OK_SEMAPHORE,
                              .psize = sizeof(sem_t),
                              .init = v,
                              .name = name + (name[0] == '/'),
                              .by_name = 1};
        obj_at(s, &sp);
    }
    return s;
}

/* Under the object lock: take a token if there is one, recording sem_wait (with "will
 * block" when there is none) and sem_acquired. 1 when taken. */
static int sem_take_locked(struct instr_obj *o, sem_t *s)
{
    obj_lock(o);
    int ok = REAL(sem_trywait)(s) == 0;
    if (ok) {
        o->value--;
        op(o, EV_SEM_WAIT, o->value + 1, 0, 0);
        op(o, EV_SEM_ACQUIRED, o->value, 0, 0);
    } else {
        op(o, EV_SEM_WAIT, o->value, 0, 1);
    }
    obj_unlock(o);
    return ok;
}

/* After a blocking wait returned rc: record the token taken, or the give-up (unblock). */
static int sem_after_block(struct instr_obj *o, int rc)
{
    int err = errno;
    mark_blocked(NULL);
    obj_lock(o);
    if (rc == 0) {
        o->value--;
        op(o, EV_SEM_ACQUIRED, o->value, 0, 0);
    } else {
        op(o, EV_UNBLOCK, o->value, 0, err);
    }
    obj_unlock(o);
    errno = err;
    return rc;
}

EXPORT int sem_wait(sem_t *s)
{
    struct instr_obj *o = active() ? sem_obj(s) : NULL;
    if (!o)
        return REAL(sem_wait)(s);
    gate(EV_SEM_WAIT, o->id);
    if (sem_take_locked(o, s))
        return 0;
    mark_blocked(o);
    return sem_after_block(o, REAL(sem_wait)(s));
}

EXPORT int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
    struct instr_obj *o = active() ? sem_obj(s) : NULL;
    if (!o)
        return REAL(sem_timedwait)(s, abstime);
    gate(EV_SEM_WAIT, o->id);
    if (sem_take_locked(o, s))
        return 0;
    mark_blocked(o);
    return sem_after_block(o, REAL(sem_timedwait)(s, abstime));
}

EXPORT int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abstime)
{
    struct instr_obj *o = active() ? sem_obj(s) : NULL;
    if (!o)
        return REAL(sem_clockwait)(s, clock, abstime);
    gate(EV_SEM_WAIT, o->id);
    if (sem_take_locked(o, s))
        return 0;
    mark_blocked(o);
    return sem_after_block(o, REAL(sem_clockwait)(s, clock, abstime));
}

EXPORT int sem_trywait(sem_t *s)
{
    struct instr_obj *o = active() ? sem_obj(s) : NULL;
    if (!o)
        return REAL(sem_trywait)(s);
    gate(EV_SEM_WAIT, o->id);
    obj_lock(o);
    int rc = REAL(sem_trywait)(s);
    int err = errno;
    if (rc == 0)
        o->value--;
    op(o, EV_SEM_WAIT, rc == 0 ? o->value + 1 : o->value, 0, 0);
    if (rc == 0)
        op(o, EV_SEM_ACQUIRED, o->value, 0, 0);
    obj_unlock(o);
    errno = err;
    return rc;
}

EXPORT int sem_post(sem_t *s)
{
    struct instr_obj *o = active() ? sem_obj(s) : NULL;
    if (!o)
        return REAL(sem_post)(s);
    gate(EV_SEM_POST, o->id);
    obj_lock(o);
    int rc = REAL(sem_post)(s);
    int err = errno;
    if (rc == 0) {
        o->value++;
        op(o, EV_SEM_POST, o->value, 0, 0);
    }
    obj_unlock(o);
    errno = err;
    return rc;
}

/* ---- mutexes ---- */

static struct instr_obj *mutex_obj(pthread_mutex_t *m, int fresh)
{
    int shared = (m->__data.__kind & 128) != 0; /* glibc PTHREAD_MUTEX_PSHARED_BIT */
    struct obj_spec sp = {.kind = OK_MUTEX, .shared = shared, .psize = sizeof(*m), .fresh = fresh};
    return obj_at(m, &sp);
}

/* The caller now holds o (rc 0 or EOWNERDEAD): acquired, once per outermost lock. */
static void mutex_acquired(struct instr_obj *o, int rc)
{
    struct instr_attach_objx *x = &g_map->x[o->id];
    if (rc == EOWNERDEAD)
        x->depth = 0;
    if (x->depth++ == 0) {
        x->holder = tl_tid;
        op(o, EV_MUTEX_ACQUIRED, 1, 0, 0);
    }
}

EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
    int rc = REAL(pthread_mutex_init)(m, a);
    if (rc == 0 && active())
        mutex_obj(m, 1);
    return rc;
}

EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
    if (active())
        obj_forget(m, OK_MUTEX);
    return REAL(pthread_mutex_destroy)(m);
}

/* A lock that may block: try first, so a free mutex is taken without a blocked state; else
 * block in lock_fn (lock, timedlock or clocklock), which may give up (ETIMEDOUT). */
static int mutex_lock_common(pthread_mutex_t *m, struct instr_obj *o, clockid_t clock,
                             const struct timespec *abstime, int timed)
{
    gate(EV_MUTEX_WAIT, o->id);
    int rc = REAL(pthread_mutex_trylock)(m);
    if (rc == EBUSY) {
        op(o, EV_MUTEX_WAIT, 1, 0, 1);
        mark_blocked(o);
        if (timed == 2)
            rc = REAL(pthread_mutex_clocklock)(m, clock, abstime);
        else if (timed)
            rc = REAL(pthread_mutex_timedlock)(m, abstime);
        else
            rc = REAL(pthread_mutex_lock)(m);
        mark_blocked(NULL);
        if (rc && rc != EOWNERDEAD)
            op(o, EV_UNBLOCK, 1, 0, rc); /* ETIMEDOUT, EDEADLK and friends: not taken */
    } else if (rc == 0 || rc == EOWNERDEAD) {
        op(o, EV_MUTEX_WAIT, 0, 0, 0);
    }
    if (rc == 0 || rc == EOWNERDEAD)
        mutex_acquired(o, rc);
    return rc;
}

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    struct instr_obj *o = active() ? mutex_obj(m, 0) : NULL;
    if (!o)
        return REAL(pthread_mutex_lock)(m);
    return mutex_lock_common(m, o, CLOCK_REALTIME, NULL, 0);
}

EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
    struct instr_obj *o = active() ? mutex_obj(m, 0) : NULL;
    if (!o)
        return REAL(pthread_mutex_timedlock)(m, abstime);
    return mutex_lock_common(m, o, CLOCK_REALTIME, abstime, 1);
}

EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
                                   const struct timespec *abstime)
{
    struct instr_obj *o = active() ? mutex_obj(m, 0) : NULL;
    if (!o)
        return REAL(pthread_mutex_clocklock)(m, clock, abstime);
    return mutex_lock_common(m, o, clock, abstime, 2);
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    struct instr_obj *o = active() ? mutex_obj(m, 0) : NULL;
    if (!o)
        return REAL(pthread_mutex_trylock)(m);
    gate(EV_MUTEX_WAIT, o->id);
    int rc = REAL(pthread_mutex_trylock)(m);
    op(o, EV_MUTEX_WAIT, rc == EBUSY, 0, 0);
    if (rc == 0 || rc == EOWNERDEAD)
        mutex_acquired(o, rc);
    return rc;
}

/* Before unlocking o: 1 when this unlock really releases it (recorded before the real
 * unlock, so the next holder's acquired comes after it in seq order). */
static int mutex_releasing(struct instr_obj *o)
{
    struct instr_attach_objx *x = &g_map->x[o->id];
    if (x->holder != tl_tid || x->depth <= 0)
        return 0;
    if (--x->depth == 0) {
        x->holder = 0;
        op(o, EV_MUTEX_RELEASE, 0, 0, 0);
    }
    return 1;
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    struct instr_obj *o = active() ? mutex_obj(m, 0) : NULL;
    if (!o)
        return REAL(pthread_mutex_unlock)(m);
    gate(EV_MUTEX_RELEASE, o->id);
    int mine = mutex_releasing(o);
    int rc = REAL(pthread_mutex_unlock)(m);
    if (!mine && rc == 0) /* unlocked by a thread that does not hold it */
        op(o, EV_MUTEX_RELEASE, 0, 0, 1);
    return rc;
}

/* ---- condition variables ---- */

static struct instr_obj *cond_obj(pthread_cond_t *c)
{
    int shared = c->__data.__wrefs & 1; /* glibc: bit 0 = process-shared */
    struct obj_spec sp = {.kind = OK_CONDVAR, .shared = shared, .psize = sizeof(*c)};
    return obj_at(c, &sp);
}

/* Around the real wait: release m, wait on c; then woken, m held again. */
static int cond_wait_common(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime)
{
    struct instr_obj *oc = cond_obj(c), *om = oc ? mutex_obj(m, 0) : NULL;
    if (!om)
        return abstime ? REAL(pthread_cond_timedwait)(c, m, abstime)
                       : REAL(pthread_cond_wait)(c, m);
    gate(EV_COND_WAIT, oc->id);
    struct instr_attach_objx *x = &g_map->x[om->id];
    int depth = x->holder == tl_tid ? x->depth : 1;
    x->holder = 0;
    x->depth = 0;
    op(om, EV_MUTEX_RELEASE, 0, 0, 0);
    op(oc, EV_COND_WAIT, 0, om->id, 1);
    mark_blocked(oc);
    int rc = abstime ? REAL(pthread_cond_timedwait)(c, m, abstime) : REAL(pthread_cond_wait)(c, m);
    mark_blocked(NULL);
    x->holder = tl_tid;
    x->depth = depth > 0 ? depth : 1;
    op(oc, EV_COND_WAKE, 0, om->id, rc);
    op(om, EV_MUTEX_ACQUIRED, 1, 0, 0);
    return rc;
}

EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    if (!active())
        return REAL(pthread_cond_wait)(c, m);
    return cond_wait_common(c, m, NULL);
}

EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                  const struct timespec *abstime)
{
    if (!active())
        return REAL(pthread_cond_timedwait)(c, m, abstime);
    return cond_wait_common(c, m, abstime);
}

EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
    struct instr_obj *o = active() ? cond_obj(c) : NULL;
    if (o) {
        gate(EV_COND_SIGNAL, o->id);
        op(o, EV_COND_SIGNAL, 0, 0, 0);
    }
    return REAL(pthread_cond_signal)(c);
}

EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
    struct instr_obj *o = active() ? cond_obj(c) : NULL;
    if (o) {
        gate(EV_COND_BROADCAST, o->id);
        op(o, EV_COND_BROADCAST, 0, 0, 0);
    }
    return REAL(pthread_cond_broadcast)(c);
}
