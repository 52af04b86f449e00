/*
 * instr_obj.c - the instrumented primitives of the scenarios: semaphores, mutexes, condition
 * variables, queues and sockets as objects in the run's shared region. Each operation makes
 * the real call and records it (instr_op); a semaphore's tiny spin lock keeps (operation,
 * value, seq) together, so the values the trace shows in seq order are exactly the ones the
 * operations produced.
 */
#define _GNU_SOURCE
#include "instr.h"

#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct instr_obj *instr_obj_new(const char *name, int kind, int64_t init, int64_t capacity)
{
    struct instr_shared *sh = instr_region();
    if (!sh)
        return NULL;
    uint32_t id = atomic_fetch_add(&sh->nobjs, 1);
    if (id >= INSTR_MAX_OBJS) {
        atomic_fetch_sub(&sh->nobjs, 1);
        return NULL;
    }
    struct instr_obj *o = &sh->objs[id];
    snprintf(o->name, sizeof(o->name), "%s", name);
    o->id = id;
    o->kind = (uint32_t)kind;
    o->value = init;
    o->capacity = capacity;
    instr_op(o, EV_OBJ_CREATE, init, capacity, kind);
    return o;
}

static void obj_lock(struct instr_obj *o)
{
    while (atomic_exchange_explicit(&o->lock, 1, memory_order_acquire))
        sched_yield();
}

static void obj_unlock(struct instr_obj *o)
{
    atomic_store_explicit(&o->lock, 0, memory_order_release);
}

void instr_mark_blocked(struct instr_obj *o)
{
    struct instr_shared *sh = instr_region();
    int slot = instr_self();
    if (slot >= 0 && sh)
        atomic_store(&sh->tasks[slot].blocked_obj, o ? o->id + 1 : 0);
}

#define mark_blocked instr_mark_blocked

struct instr_obj *instr_sem_new(const char *name, unsigned init, int64_t bound)
{
    struct instr_obj *o = instr_obj_new(name, OK_SEMAPHORE, init, bound);
    if (o && sem_init(&o->u.sem, 1, init) < 0)
        return NULL;
    return o;
}

/* Under the object lock: take a token if there is one, recording the outcome. */
static int sem_try_locked(struct instr_obj *s, int announce)
{
    obj_lock(s);
    int ok = sem_trywait(&s->u.sem) == 0;
    if (ok) {
        s->value--;
        if (announce)
            instr_op(s, EV_SEM_WAIT, s->value + 1, 0, 0);
        instr_op(s, EV_SEM_ACQUIRED, s->value, 0, 0);
    } else if (announce) {
        instr_op(s, EV_SEM_WAIT, s->value, 0, 1);
    }
    obj_unlock(s);
    return ok;
}

int instr_sem_wait(struct instr_obj *s)
{
    instr_gate(EV_SEM_WAIT, s->id);
    if (sem_try_locked(s, 1))
        return 0;

    mark_blocked(s);
    while (sem_wait(&s->u.sem) < 0 && errno == EINTR)
        ;
    obj_lock(s);
    s->value--;
    instr_op(s, EV_SEM_ACQUIRED, s->value, 0, 0);
    obj_unlock(s);
    mark_blocked(NULL);
    return 0;
}

int instr_sem_trywait(struct instr_obj *s)
{
    instr_gate(EV_SEM_WAIT, s->id);
    obj_lock(s);
    int ok = sem_trywait(&s->u.sem) == 0;
    if (ok)
        s->value--;
    instr_op(s, EV_SEM_WAIT, ok ? s->value + 1 : s->value, 0, 0);
    if (ok)
        instr_op(s, EV_SEM_ACQUIRED, s->value, 0, 0);
    obj_unlock(s);
    return ok ? 0 : -EAGAIN;
}

int instr_sem_post(struct instr_obj *s)
{
    instr_gate(EV_SEM_POST, s->id);
    obj_lock(s);
    int rc = sem_post(&s->u.sem);
    if (rc == 0) {
        s->value++;
        instr_op(s, EV_SEM_POST, s->value, 0, 0);
    }
    obj_unlock(s);
    return rc < 0 ? -errno : 0;
}

int64_t instr_sem_value(struct instr_obj *s)
{
    obj_lock(s);
    int64_t v = s->value;
    obj_unlock(s);
    return v;
}

struct instr_obj *instr_mutex_new(const char *name)
{
    struct instr_obj *o = instr_obj_new(name, OK_MUTEX, 0, 0);
    if (!o)
        return NULL;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(&o->u.mutex, &a);
    pthread_mutexattr_destroy(&a);
    return rc ? NULL : o;
}

/* 0 when taken, -1 when taken from an owner that died holding it (made consistent), else
 * the error number (EBUSY: held, when not blocking). */
static int mutex_take(struct instr_obj *m, int blocking)
{
    int rc = blocking ? pthread_mutex_lock(&m->u.mutex) : pthread_mutex_trylock(&m->u.mutex);
    if (rc == EOWNERDEAD) {
        instr_note("%s: owner died", m->name);
        pthread_mutex_consistent(&m->u.mutex);
        rc = -1;
    }
    return rc;
}

int instr_mutex_lock(struct instr_obj *m)
{
    instr_gate(EV_MUTEX_WAIT, m->id);
    int rc = mutex_take(m, 0);
    if (rc <= 0) {
        instr_op(m, EV_MUTEX_WAIT, 0, 0, 0);
    } else {
        instr_op(m, EV_MUTEX_WAIT, 1, 0, 1);
        mark_blocked(m);
        rc = mutex_take(m, 1);
        mark_blocked(NULL);
        if (rc > 0)
            return -rc;
    }
    instr_op(m, EV_MUTEX_ACQUIRED, 1, 0, 0);
    return rc < 0 ? 1 : 0;
}

int instr_mutex_unlock(struct instr_obj *m)
{
    instr_gate(EV_MUTEX_RELEASE, m->id);
    instr_op(m, EV_MUTEX_RELEASE, 0, 0, 0);
    return -pthread_mutex_unlock(&m->u.mutex);
}

struct instr_obj *instr_cond_new(const char *name)
{
    struct instr_obj *o = instr_obj_new(name, OK_CONDVAR, 0, 0);
    if (!o)
        return NULL;
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    int rc = pthread_cond_init(&o->u.cond, &a);
    pthread_condattr_destroy(&a);
    return rc ? NULL : o;
}

int instr_cond_wait(struct instr_obj *c, struct instr_obj *m)
{
    instr_gate(EV_COND_WAIT, c->id);
    instr_op(m, EV_MUTEX_RELEASE, 0, 0, 0);
    instr_op(c, EV_COND_WAIT, 0, m->id, 1);
    mark_blocked(c);
    int rc = pthread_cond_wait(&c->u.cond, &m->u.mutex);
    if (rc == EOWNERDEAD) {
        pthread_mutex_consistent(&m->u.mutex);
        rc = 0;
    }
    mark_blocked(NULL);
    instr_op(c, EV_COND_WAKE, 0, m->id, 0);
    instr_op(m, EV_MUTEX_ACQUIRED, 1, 0, 0);
    return -rc;
}

int instr_cond_signal(struct instr_obj *c)
{
    instr_gate(EV_COND_SIGNAL, c->id);
    instr_op(c, EV_COND_SIGNAL, 0, 0, 0);
    return -pthread_cond_signal(&c->u.cond);
}

int instr_cond_broadcast(struct instr_obj *c)
{
    instr_gate(EV_COND_BROADCAST, c->id);
    instr_op(c, EV_COND_BROADCAST, 0, 0, 0);
    return -pthread_cond_broadcast(&c->u.cond);
}

struct instr_obj *instr_queue_new(const char *name, int64_t capacity)
{
    int64_t *items = instr_shared_alloc((size_t)capacity * sizeof(int64_t));
    if (!items)
        return NULL;
    struct instr_obj *o = instr_obj_new(name, OK_QUEUE, 0, capacity);
    if (o)
        o->items = items;
    return o;
}

int instr_queue_put(struct instr_obj *q, int64_t item)
{
    instr_gate(EV_QUEUE_PUT, q->id);
    if (q->value >= q->capacity)
        return -ENOSPC;
    q->items[q->head] = item;
    q->head = (q->head + 1) % q->capacity;
    q->value++;
    instr_op(q, EV_QUEUE_PUT, q->value, item, 0);
    return 0;
}

int instr_queue_get(struct instr_obj *q, int64_t *item)
{
    instr_gate(EV_QUEUE_GET, q->id);
    if (q->value <= 0)
        return -EAGAIN;
    *item = q->items[q->tail];
    q->tail = (q->tail + 1) % q->capacity;
    q->value--;
    instr_op(q, EV_QUEUE_GET, q->value, *item, 0);
    return 0;
}

void instr_block(struct instr_obj *o, int64_t reason)
{
    instr_op(o, EV_BLOCK, o->value, 0, reason);
    mark_blocked(o);
}

void instr_unblock(struct instr_obj *o)
{
    mark_blocked(NULL);
    instr_op(o, EV_UNBLOCK, o->value, 0, 0);
}

struct instr_obj *instr_socket_new(const char *name, uint16_t lport, uint16_t rport, int state)
{
    struct instr_obj *o = instr_obj_new(name, OK_SOCKET, state, IPPROTO_TCP);
    if (o) {
        o->u.sock.proto = IPPROTO_TCP;
        instr_socket_ports(o, lport, rport);
    }
    return o;
}

void instr_socket_fd(struct instr_obj *o, int fd)
{
    struct stat st;
    if (o && fd >= 0 && fstat(fd, &st) == 0)
        o->u.sock.inode = (uint32_t)st.st_ino;
}

struct instr_obj *instr_socket_open(const char *name, int proto, int fd, int state)
{
    struct instr_obj *o = instr_obj_new(name, OK_SOCKET, state, proto);
    if (!o)
        return NULL;
    o->u.sock.proto = (uint8_t)proto;
    o->u.sock.state = state;
    instr_socket_fd(o, fd);
    return o;
}

void instr_socket_ports(struct instr_obj *o, uint16_t lport, uint16_t rport)
{
    o->u.sock.lport = lport;
    o->u.sock.rport = rport;
    o->u.sock.state = (int32_t)o->value;
}
