/*
 * preload.h - what the files of libipcscope_preload.so share. Private to src/preload/.
 *
 * core.c owns the state (the attached region, the calling thread's slot), the events, the
 * step gate, task slots and the address -> object map; names.c names objects after the
 * program's variables; sync.c, proc.c and pipe.c interpose the program's calls. The real
 * functions are one table (REAL_FNS) resolved once, in the constructor.
 */
#ifndef IPCSCOPE_PRELOAD_H
#define IPCSCOPE_PRELOAD_H

#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_attach.h"

#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))

/* X(return type, name, (parameter types)): every function the library interposes or calls
 * past itself. */
#define REAL_FNS(X)                                                                                \
    X(int, sem_init, (sem_t *, int, unsigned))                                                     \
    X(int, sem_destroy, (sem_t *))                                                                 \
    X(sem_t *, sem_open, (const char *, int, ...))                                                 \
    X(int, sem_close, (sem_t *))                                                                   \
    X(int, sem_unlink, (const char *))                                                             \
    X(int, sem_wait, (sem_t *))                                                                    \
    X(int, sem_trywait, (sem_t *))                                                                 \
    X(int, sem_timedwait, (sem_t *, const struct timespec *))                                      \
    X(int, sem_clockwait, (sem_t *, clockid_t, const struct timespec *))                           \
    X(int, sem_post, (sem_t *))                                                                    \
    X(int, pthread_mutex_init, (pthread_mutex_t *, const pthread_mutexattr_t *))                   \
    X(int, pthread_mutex_destroy, (pthread_mutex_t *))                                             \
    X(int, pthread_mutex_lock, (pthread_mutex_t *))                                                \
    X(int, pthread_mutex_trylock, (pthread_mutex_t *))                                             \
    X(int, pthread_mutex_timedlock, (pthread_mutex_t *, const struct timespec *))                  \
    X(int, pthread_mutex_clocklock, (pthread_mutex_t *, clockid_t, const struct timespec *))       \
    X(int, pthread_mutex_unlock, (pthread_mutex_t *))                                              \
    X(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *))                               \
    X(int, pthread_cond_timedwait, (pthread_cond_t *, pthread_mutex_t *, const struct timespec *)) \
    X(int, pthread_cond_signal, (pthread_cond_t *))                                                \
    X(int, pthread_cond_broadcast, (pthread_cond_t *))                                             \
    X(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))       \
    X(void, pthread_exit, (void *))                                                                \
    X(pid_t, fork, (void))                                                                         \
    X(pid_t, waitpid, (pid_t, int *, int))                                                         \
    X(pid_t, wait4, (pid_t, int *, int, struct rusage *))                                          \
    X(int, waitid, (idtype_t, id_t, siginfo_t *, int))                                             \
    X(int, kill, (pid_t, int))                                                                     \
    X(int, system, (const char *))                                                                 \
    X(int, sigaction, (int, const struct sigaction *, struct sigaction *))                         \
    X(FILE *, popen, (const char *, const char *))                                                 \
    X(int, pclose, (FILE *))                                                                       \
    X(void, exit, (int))                                                                           \
    X(void, _exit, (int))                                                                          \
    X(void, _Exit, (int))                                                                          \
    X(int, pipe, (int[2]))                                                                         \
    X(int, pipe2, (int[2], int))                                                                   \
    X(ssize_t, read, (int, void *, size_t))                                                        \
    X(ssize_t, write, (int, const void *, size_t))                                                 \
    X(int, close, (int))                                                                           \
    X(int, open, (const char *, int, ...))                                                         \
    X(int, open64, (const char *, int, ...))                                                       \
    X(int, openat, (int, const char *, int, ...))                                                  \
    X(int, openat64, (int, const char *, int, ...))                                                \
    X(int, mkfifo, (const char *, mode_t))                                                         \
    X(int, mkfifoat, (int, const char *, mode_t))                                                  \
    X(int, unlink, (const char *))                                                                 \
    X(int, dup, (int))                                                                             \
    X(int, dup2, (int, int))                                                                       \
    X(int, dup3, (int, int, int))                                                                  \
    X(int, fcntl, (int, int, ...))                                                                 \
    X(int, fcntl64, (int, int, ...))                                                               \
    X(int, fclose, (FILE *))                                                                       \
    X(FILE *, fdopen, (int, const char *))                                                         \
    X(mqd_t, mq_open, (const char *, int, ...))                                                    \
    X(int, mq_close, (mqd_t))                                                                      \
    X(int, mq_unlink, (const char *))                                                              \
    X(int, nanosleep, (const struct timespec *, struct timespec *))                                \
    X(int, clock_nanosleep, (clockid_t, int, const struct timespec *, struct timespec *))          \
    X(int, usleep, (useconds_t))                                                                   \
    X(unsigned, sleep, (unsigned))                                                                 \
    X(int, mq_send, (mqd_t, const char *, size_t, unsigned))                                       \
    X(int, mq_timedsend, (mqd_t, const char *, size_t, unsigned, const struct timespec *))         \
    X(ssize_t, mq_receive, (mqd_t, char *, size_t, unsigned *))                                    \
    X(ssize_t, mq_timedreceive, (mqd_t, char *, size_t, unsigned *, const struct timespec *))      \
    X(int, shm_open, (const char *, int, mode_t))                                                  \
    X(int, shm_unlink, (const char *))                                                             \
    X(int, ftruncate, (int, off_t))                                                                \
    X(int, ftruncate64, (int, off_t))                                                              \
    X(void *, mmap, (void *, size_t, int, int, int, off_t))                                        \
    X(void *, mmap64, (void *, size_t, int, int, int, off_t))                                      \
    X(int, munmap, (void *, size_t))                                                               \
    X(int, semget, (key_t, int, int))                                                              \
    X(int, semop, (int, struct sembuf *, size_t))                                                  \
    X(int, semtimedop, (int, struct sembuf *, size_t, const struct timespec *))                    \
    X(int, semctl, (int, int, int, ...))                                                           \
    X(int, shmget, (key_t, size_t, int))                                                           \
    X(void *, shmat, (int, const void *, int))                                                     \
    X(int, shmdt, (const void *))                                                                  \
    X(int, shmctl, (int, int, struct shmid_ds *))                                                  \
    X(int, msgget, (key_t, int))                                                                   \
    X(int, msgsnd, (int, const void *, size_t, int))                                               \
    X(ssize_t, msgrcv, (int, void *, size_t, long, int))                                           \
    X(int, msgctl, (int, int, struct msqid_ds *))                                                  \
    X(int, socket, (int, int, int))                                                                \
    X(int, socketpair, (int, int, int, int[2]))                                                    \
    X(int, bind, (int, const struct sockaddr *, socklen_t))                                        \
    X(int, listen, (int, int))                                                                     \
    X(int, accept, (int, struct sockaddr *, socklen_t *))                                          \
    X(int, accept4, (int, struct sockaddr *, socklen_t *, int))                                    \
    X(int, connect, (int, const struct sockaddr *, socklen_t))                                     \
    X(ssize_t, send, (int, const void *, size_t, int))                                             \
    X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t))       \
    X(ssize_t, sendmsg, (int, const struct msghdr *, int))                                         \
    X(ssize_t, recv, (int, void *, size_t, int))                                                   \
    X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *))               \
    X(ssize_t, recvmsg, (int, struct msghdr *, int))                                               \
    X(int, shutdown, (int, int))                                                                   \
    X(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *))                          \
    X(int, pselect,                                                                                \
      (int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *))              \
    X(int, poll, (struct pollfd *, nfds_t, int))                                                   \
    X(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *))            \
    X(int, epoll_create, (int))                                                                    \
    X(int, epoll_create1, (int))                                                                   \
    X(int, epoll_ctl, (int, int, int, struct epoll_event *))                                       \
    X(int, epoll_wait, (int, struct epoll_event *, int, int))                                      \
    X(int, epoll_pwait, (int, struct epoll_event *, int, int, const sigset_t *))                   \
    X(int, pthread_rwlock_init, (pthread_rwlock_t *, const pthread_rwlockattr_t *))                \
    X(int, pthread_rwlock_destroy, (pthread_rwlock_t *))                                           \
    X(int, pthread_rwlock_rdlock, (pthread_rwlock_t *))                                            \
    X(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t *))                                         \
    X(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t *, const struct timespec *))              \
    X(int, pthread_rwlock_wrlock, (pthread_rwlock_t *))                                            \
    X(int, pthread_rwlock_trywrlock, (pthread_rwlock_t *))                                         \
    X(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t *, const struct timespec *))              \
    X(int, pthread_rwlock_unlock, (pthread_rwlock_t *))                                            \
    X(int, pthread_barrier_init, (pthread_barrier_t *, const pthread_barrierattr_t *, unsigned))   \
    X(int, pthread_barrier_destroy, (pthread_barrier_t *))                                         \
    X(int, pthread_barrier_wait, (pthread_barrier_t *))                                            \
    X(int, pthread_spin_init, (pthread_spinlock_t *, int))                                         \
    X(int, pthread_spin_destroy, (pthread_spinlock_t *))                                           \
    X(int, pthread_spin_lock, (pthread_spinlock_t *))                                              \
    X(int, pthread_spin_trylock, (pthread_spinlock_t *))                                           \
    X(int, pthread_spin_unlock, (pthread_spinlock_t *))                                            \
    X(int, pthread_join, (pthread_t, void **))                                                     \
    X(int, pthread_tryjoin_np, (pthread_t, void **))                                               \
    X(int, pthread_timedjoin_np, (pthread_t, void **, const struct timespec *))                    \
    X(int, sigqueue, (pid_t, int, const union sigval))                                             \
    X(int, __libc_start_main,                                                                      \
      (int (*)(int, char **, char **), int, char **, void (*)(void), void (*)(void),               \
       void (*)(void), void *))

#define REAL_DECL(ret, name, args) extern ret(*real_##name) args;
REAL_FNS(REAL_DECL)
#undef REAL_DECL

/* The next definition of name after this library (condition variables by their current
 * version: a plain dlsym may hand out the pre-2.3.2 compatibility one). */
void *preload_resolve(const char *name);

/* The real fn: resolved in the constructor, or here when a call comes before it. */
#define REAL(fn)                                                                                   \
    (__extension__({                                                                               \
        if (!real_##fn)                                                                            \
            real_##fn = (__typeof__(real_##fn))preload_resolve(#fn);                               \
        real_##fn;                                                                                 \
    }))

/* ---- state (core.c) ---- */

extern struct instr_shared *g_sh; /* NULL: not under ipcscope, pass everything through */
extern struct instr_attach_map *g_map;
extern char g_prog[16];          /* the program's short name */
extern int g_proc_slot;          /* this process's own task (its main thread) */
extern int g_exit_done;          /* task_exit already recorded for this process */
extern pid_t g_pid;              /* getpid(), cached: refreshed in every fork child */
extern TLS int tl_slot;          /* the calling thread's task slot, -1: none */
extern TLS struct ring *tl_ring; /* and its ring */
extern TLS int tl_busy;          /* inside our own bookkeeping: a signal handler passes through */
extern TLS int tl_ended;         /* task_exit recorded for the calling thread */
extern TLS int32_t tl_pid, tl_tid;
extern TLS uint64_t tl_last_t;         /* stamp of the calling task's last record */
extern TLS uint64_t tl_ready;          /* ring records up to here have their pages mapped */
extern TLS struct instr_fold *tl_fold; /* the calling task's fold (its slot's), or NULL */
extern TLS uint32_t tl_fold_every, tl_fold_since; /* fold_in_tick's reading schedule */

/* Enter / leave our bookkeeping. The fences keep the compiler from moving ring writes out of
 * the busy window, so a handler that interrupts them sees tl_busy set and stays out. */
static inline void busy_enter(void)
{
    tl_busy++;
    atomic_signal_fence(memory_order_seq_cst);
}

static inline void busy_leave(void)
{
    atomic_signal_fence(memory_order_seq_cst);
    tl_busy--;
}

/* A thread the program did not start through pthread_create (glibc's own: the one that runs a
 * SIGEV_THREAD timer's function) becomes a task at its first followed call (core.c): else
 * its posts and unlocks went unseen, and a semaphore it posted showed -1 once taken. 1 when
 * it now is one. */
int adopt_thread(void);
extern TLS int tl_adopt_tried;

/* 1 when the calling thread is followed and not inside our own bookkeeping. */
static inline int active(void)
{
    if (__builtin_expect(g_sh && tl_slot >= 0 && !tl_busy, 1))
        return 1;
    return g_sh && tl_slot < 0 && !tl_busy && !tl_ended && !tl_adopt_tried && adopt_thread();
}

/* ---- events (core.c) ----
 * Stamps. A precise clock read (CLOCK_MONOTONIC) costs ~40 ns in a VM, as much as the budget
 * of a whole followed call, so an operation nobody else takes part in (an uncontended lock,
 * a post nobody waits for) is stamped with the coarse clock (~5 ns, one tick behind at
 * most), and every stamp is raised above the calling task's previous one and above the
 * object's previous operation: a hybrid logical clock. Events of one task and events of one
 * object stay in order, and an event that depends on another (an acquire after a release,
 * a take after a post) is never stamped before it. Anything that blocks, wakes someone or
 * makes a system call anyway is stamped precisely. */

enum { T_COARSE = 0, T_PRECISE = 1 };

static inline uint64_t clock_read(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A stamp after the calling task's last one and after floor. */
static inline uint64_t stamp(uint64_t floor, int precise)
{
    uint64_t t = clock_read(precise ? CLOCK_MONOTONIC : CLOCK_MONOTONIC_COARSE);
    if (t <= tl_last_t)
        t = tl_last_t + 1;
    if (t <= floor)
        t = floor + 1;
    tl_last_t = t;
    return t;
}

/* Map the pages of the calling task's ring from record head on, ahead of use. */
void ring_prefault(uint64_t head);

/* Fill the calling task's next ring record in place (the drop is counted when full). */
static inline void put_rec(uint64_t t, uint16_t kind, uint32_t task, int32_t pid, int32_t tid,
                           uint32_t obj, uint32_t seq, int64_t val, int64_t item, int64_t aux,
                           int64_t extra)
{
    if (__builtin_expect(atomic_load_explicit(&tl_ring->head, memory_order_relaxed) >= tl_ready, 0))
        ring_prefault(atomic_load_explicit(&tl_ring->head, memory_order_relaxed));
    struct ev *e = ring_reserve(tl_ring);
    if (!e)
        return;
    e->t = t;
    e->kind = kind;
    e->src = EV_SRC_INSTR;
    e->flags = 0;
    e->task = task;
    e->pid = pid;
    e->tid = tid;
    e->obj = obj;
    e->seq = seq;
    e->val = val;
    e->item = item;
    e->aux = aux;
    e->extra = extra;
    ring_commit(tl_ring);
}

/* ---- folding (sync.c) ----
 * A thread that locks and unlocks a mutex nobody else wants, millions of times a second, would
 * cost two records a pair: more than the pair itself, and more than the conductor can drain.
 * So after an uncontended unlock the thread opens a fold on that mutex (its slot's
 * instr_fold, in the shared region): further lock/unlock pairs of the same mutex that fall in
 * the same tick of the coarse clock (a few ms), with nobody waiting, are only counted. The
 * fold is recorded as one mutex_pairs record (and, when its last lock is still held, that
 * lock's mutex_acquired) before any other record of the thread, when a pair leaves the tick
 * or meets a waiter, and when the thread ends. The trace keeps every acquisition, the order of
 * each task's events and who held the mutex when; what it gives up is a stamp for each pair
 * inside one tick (and a fold's record can come after another task's lock of the same tick in
 * seq order: mutex_pairs changes no holder). A lock taken inside a fold and then held while
 * the thread makes no other followed call is in shared memory only: the conductor reads it
 * there (run_fold.c). Semaphores fold the same way (sync.c, "semaphore folds"). */

/* Record the calling thread's fold, if one is open (before any other record of it). */
void fold_flush_now(void);
static inline void fold_flush(void)
{
    if (__builtin_expect(tl_fold && atomic_load_explicit(&tl_fold->obj1, memory_order_relaxed), 0))
        fold_flush_now();
}

/* Mutexes and spin locks fold alike: fold_lock for an uncontended outermost lock, fold_unlock
 * for the outermost unlock (waiters: someone may be waiting for it), fold_open after an
 * uncontended unlock that was recorded. */
#define FOLD_RELAXED memory_order_relaxed

/* Largest gap, in folded operations, between two readings of the clock by fold_in_tick. */
#define FOLD_READ_EVERY_MAX 64

/* 1 while the caller's fold f is still in the tick of the coarse clock it began in. A reading
 * costs ~7 ns in a VM, as much as the rest of a folded pair, so the clock is read only every
 * tl_fold_every-th time: the gap doubles (up to FOLD_READ_EVERY_MAX) each time a reading still
 * finds the fold's tick, and is 1 again in the next fold. A tight loop reads it once in 64
 * pairs, a slow one at every pair; a fold outlives its tick by at most the time since its last
 * reading (so it spans two ticks at the most). */
int fold_read_tick(const struct instr_fold *f);

static inline int fold_in_tick(const struct instr_fold *f)
{
    if (++tl_fold_since < tl_fold_every)
        return 1;
    return fold_read_tick(f);
}

/* A fold of the caller's begins: fold_in_tick reads the clock at its next operation. */
static inline void fold_began(void)
{
    tl_fold_every = 1;
    tl_fold_since = 0;
}

/* An uncontended outermost lock of o: 1 when it joins the fold open on o (no record): it is
 * still in the tick the fold began in. */
static inline int fold_lock(struct instr_obj *o)
{
    struct instr_fold *f = tl_fold;
    if (!f || atomic_load_explicit(&f->obj1, FOLD_RELAXED) != o->id + 1)
        return 0;
    busy_enter();
    int in = atomic_load_explicit(&f->held, FOLD_RELAXED) == FOLD_FREE && fold_in_tick(f);
    if (in)
        atomic_store_explicit(&f->held, FOLD_HELD, FOLD_RELAXED);
    busy_leave();
    return in;
}

/* The outermost unlock of o: 1 when it completes a folded pair (no record). A waiter, or the
 * conductor having seen the lock held past its tick (FOLD_HELD_LONG), closes the fold: the
 * caller's record is preceded by it. (No clock read here: a hold that crosses a tick between
 * two looks of the conductor stays in the fold, its end off by less than a look. The held
 * word is loaded and stored, not exchanged: a look that marks it in between is lost, and its
 * mutex_seen_held shows the holder until the thread's next recorded release of o.) */
static inline int fold_unlock(struct instr_obj *o, int waiters)
{
    struct instr_fold *f = tl_fold;
    if (!f || atomic_load_explicit(&f->obj1, FOLD_RELAXED) != o->id + 1)
        return 0;
    busy_enter();
    int in = !waiters && atomic_load_explicit(&f->held, FOLD_RELAXED) == FOLD_HELD;
    if (in) {
        atomic_store_explicit(&f->pairs, atomic_load_explicit(&f->pairs, FOLD_RELAXED) + 1,
                              FOLD_RELAXED);
        atomic_store_explicit(&f->held, FOLD_FREE, FOLD_RELAXED);
    }
    busy_leave();
    return in;
}

/* After an uncontended unlock of o (recorded): fold what follows on o in this tick. */
void fold_open(struct instr_obj *o);

/* The object at an address a loop uses over and over (its mutex, its spin lock), one entry
 * per thread and kind: good while no entry of the map has changed since (remaps) and in the
 * same process (a fork child's private locks are objects of their own). */
struct obj_cache {
    const void *addr;
    struct instr_obj *o;
    struct instr_attach_objx *x; /* o's entry in the map */
    uint32_t remaps;
    uint32_t id1; /* o->id + 1, as a fold open on o has it */
};

/* The calling thread's caches, one per kind (core.c): forgotten in a fork child, whose
 * private locks are objects of their own, so an entry is always this process's. */
struct obj_caches {
    struct obj_cache mutex, sem, spin;
};
extern TLS struct obj_caches tl_cache;

/* The cached object for addr, or NULL; *remaps: the map's count now, for obj_cache_put. */
static inline struct instr_obj *obj_cache_get(const struct obj_cache *c, const void *addr,
                                              uint32_t *remaps)
{
    *remaps = atomic_load_explicit(&g_map->remaps, memory_order_acquire);
    return addr == c->addr && *remaps == c->remaps ? c->o : NULL;
}

/* For the short paths of a loop's folded pairs (sync.c, locks.c): the calling thread's object
 * for addr when addr is the one cache c holds, the cache is good, the thread is followed (it
 * has a fold only while it has a slot) and not inside our bookkeeping, its fold is open on
 * that object and the step gate is up; else NULL (the general path then does everything). */
static inline struct instr_obj *folded_obj(const struct obj_cache *c, const void *addr)
{
    struct instr_fold *f = tl_fold;
    if (!f || tl_busy || c->addr != addr ||
        atomic_load_explicit(&g_map->remaps, memory_order_acquire) != c->remaps ||
        atomic_load_explicit(&f->obj1, memory_order_relaxed) != c->id1 ||
        atomic_load_explicit(&g_sh->gate_hold, memory_order_relaxed))
        return NULL;
    return c->o;
}

static inline void obj_cache_put(struct obj_cache *c, const void *addr, struct instr_obj *o,
                                 uint32_t remaps)
{
    if (o)
        *c = (struct obj_cache){
            .addr = addr, .o = o, .x = &g_map->x[o->id], .remaps = remaps, .id1 = o->id + 1};
}

/* An operation on o by the calling task at clock reading t (stamped after the task's and the
 * object's previous ones), numbered by the object's own seq. Inside busy_enter. */
static inline void op_at(struct instr_obj *o, uint16_t kind, int64_t val, int64_t item, int64_t aux,
                         int64_t extra, uint64_t t)
{
    struct instr_attach_objx *x = &g_map->x[o->id];
    uint32_t seq = atomic_fetch_add_explicit(&o->seq, 1, memory_order_relaxed);
    uint64_t floor = atomic_load_explicit(&x->last_t, memory_order_relaxed);
    if (t <= tl_last_t)
        t = tl_last_t + 1;
    if (t <= floor)
        t = floor + 1;
    tl_last_t = t;
    atomic_store_explicit(&x->last_t, t, memory_order_relaxed);
    put_rec(t, kind, (uint32_t)tl_slot, tl_pid, tl_tid, o->id, seq, val, item, aux, extra);
}

/* An operation on o by the calling task, numbered by the object's own seq (extra: see
 * event.h, e.g. 1 for a datagram). */
static inline void op_tx(struct instr_obj *o, uint16_t kind, int64_t val, int64_t item, int64_t aux,
                         int64_t extra, int precise)
{
    fold_flush();
    busy_enter();
    op_at(o, kind, val, item, aux, extra,
          clock_read(precise ? CLOCK_MONOTONIC : CLOCK_MONOTONIC_COARSE));
    busy_leave();
}

static inline void op_t(struct instr_obj *o, uint16_t kind, int64_t val, int64_t item, int64_t aux,
                        int precise)
{
    op_tx(o, kind, val, item, aux, 0, precise);
}

/* The usual operation: stamped precisely. op_fast: one nobody else takes part in. */
#define op(o, kind, val, item, aux) op_t(o, kind, val, item, aux, T_PRECISE)
#define op_fast(o, kind, val, item, aux) op_t(o, kind, val, item, aux, T_COARSE)

/* A record of the calling task (no object). */
void emit(uint16_t kind, uint32_t obj, int64_t val, int64_t item, int64_t aux);
/* A record about another task (its slot), written into our own ring. */
void emit_for(uint32_t slot, uint16_t kind, int64_t val, int64_t aux);
/* The calling task is (o) / is no longer (NULL) inside a blocking call on o. */
void mark_blocked(struct instr_obj *o);
/* block + mark, and unblock + mark, as events on o. */
void block_on(struct instr_obj *o, int64_t val, int64_t reason);
void unblock(struct instr_obj *o, int64_t val, int64_t err);

/* The step gate, as instr_gate: wait for the conductor's grant while the gate is held (one
 * relaxed load in run mode). */
void gate_wait(uint16_t kind, uint32_t obj);
/* The same for a wait a signal ends as it ends a sleep: -1 (errno EINTR) when a handler ran
 * before the grant came. */
int gate_wait_intr(uint16_t kind, uint32_t obj);
static inline void gate(uint16_t kind, uint32_t obj)
{
    if (__builtin_expect(atomic_load_explicit(&g_sh->gate_hold, memory_order_relaxed), 0))
        gate_wait(kind, obj);
}

/* ---- the program's time under the gate (clock.c) ----
 * While the gate holds the run (paced, stepped), the program's sleeps and timeouts are on the
 * scenario clock (sclock.h): a sleep is a step of its own, a timeout expires as a step when
 * nothing due earlier waits. In a free run the real calls run untouched. */

/* 1 while the gate holds the calling task. */
int clock_held(void);

/* A timed call's deadline (abstime on clock clk), seen at the call. */
struct deadline {
    uint64_t due; /* scenario ns */
    clockid_t clk;
    uint16_t ev;
    uint32_t obj;
    int held, announced;
    uint64_t since; /* CLOCK_MONOTONIC ns when the gate took it as a timed waiter */
};
/* Take the program's deadline at the call (before the gate holds it there): while held, the
 * time left until abstime is program time from now. ev and obj name the wait. */
void deadline_begin(struct deadline *d, clockid_t clk, const struct timespec *abstime, uint16_t ev,
                    uint32_t obj);
/* The deadline for the real call's next try into *slice: abstime itself in a free run; held,
 * a short slice while the gate has not let the deadline expire. 0 when it has expired: the
 * call then times out (ETIMEDOUT). Loop while the real call times out. */
int deadline_slice(struct deadline *d, const struct timespec *abstime, struct timespec *slice);
void deadline_end(struct deadline *d);
/* A relative timeout (ns, < 0: none; select's, poll's, semtimedop's) taken at the call: held,
 * as a deadline at *at on CLOCK_MONOTONIC. */
void deadline_begin_rel(struct deadline *d, struct timespec *at, int64_t ns, uint16_t ev,
                        uint32_t obj);
/* Its next try's timeout, relative, in units of unit ns (>= 1), or -1 once expired. */
int64_t deadline_slice_ns(struct deadline *d, const struct timespec *at, int64_t unit);
/* The clock an absolute time abstime is on, when the call does not say (a condition
 * variable's, set in its attributes): CLOCK_REALTIME or CLOCK_MONOTONIC, whichever is nearer. */
clockid_t deadline_clock_of(const struct timespec *abstime);

/* Something the program did that could not be followed: counted in the calling task's ring
 * (events.dropped) and in the map's reasons. */
void lost_op(void);

/* ---- tasks (core.c) ---- */

/* The next free slot, reserved by the creator (before fork or pthread_create), or -1 (the
 * loss is counted). */
int reserve_slot(void);
/* Make the calling thread the task in slot (reserved) and announce it. Returns slot. */
int task_begin_in(int slot, const char *name, int kind, int32_t ppid);
/* "prog-child2" / "prog-t3": names in order of creation across the whole run. */
void next_task_name(char *buf, size_t n, int thread);
/* task_exit for the calling thread (ret: its return value). */
void thread_end(void *ret);
/* The process ends with status: task_exit for the process (and the calling thread). */
void proc_exit(int status);
/* Record the reaping of pid (every task of that process) by us. */
void reaped(pid_t pid, int status);
/* Around fork: the child's slot and name are chosen before it (fork_prepare), and the child
 * binds to them (in the atfork child handler, also for a fork glibc makes internally). */
void fork_prepare(void);
void fork_done(void);

/* ---- objects (core.c) ---- */

/* The key of a primitive known by its inode (pipes, FIFOs): never a user address. */
static inline const void *inode_key(uint64_t dev, uint64_t ino)
{
    return (const void *)(uintptr_t)((1ull << 63) | ((dev << 40) ^ ino));
}

/* The object registered for the primitive at addr (of kind; shared: process-shared), or
 * NULL. Lock-free: a few loads. */
static inline struct instr_obj *obj_find(const void *addr, int kind, int shared)
{
    uint64_t a = (uint64_t)(uintptr_t)addr;
    int32_t pid = shared ? 0 : g_pid;
    for (uint32_t i = instr_attach_hash(a, pid), n = 0; n < INSTR_ATTACH_HASH;
         i = (i + 1) & (INSTR_ATTACH_HASH - 1), n++) {
        struct instr_attach_ent *e = &g_map->ent[i];
        uint64_t k = atomic_load_explicit(&e->addr, memory_order_acquire);
        if (!k)
            return NULL;
        if (k != a || atomic_load_explicit(&e->pid, memory_order_relaxed) != pid)
            continue;
        uint32_t id1 = atomic_load_explicit(&e->id1, memory_order_acquire);
        struct instr_obj *o = id1 ? &g_sh->objs[id1 - 1] : NULL;
        return o && o->kind == (uint32_t)kind ? o : NULL;
    }
    return NULL;
}

struct obj_spec {
    int kind;
    int shared;   /* usable from several processes at the same address */
    size_t psize; /* sizeof the primitive, for array names */
    int64_t init, cap;
    const char *name; /* NULL: from the symbol table, else "sem@N" */
    int fresh;        /* an init call: forget what was at this address before */
    int flags;        /* obj_create's extra: OBJF_SYSV */
};

/* The object for the primitive at addr, registered on first sight (obj_create). NULL when a
 * table is full (the primitive then runs unobserved, and the loss is counted). */
struct instr_obj *obj_at(const void *addr, const struct obj_spec *sp);
/* Make the key addr (process-shared, or this process's own) stand for o too: the two ends
 * of a socketpair, a named semaphore's address in this process. Replaces what the key stood
 * for before. */
void obj_alias(const void *addr, int shared, struct instr_obj *o);
/* Forget the primitive at addr (destroyed). */
void obj_forget(const void *addr, int kind, int shared);
/* The name is gone (an unlink, IPC_RMID): the object is flagged and an obj_unlink recorded.
 * errno is kept. */
void obj_unlinked(struct instr_obj *o);
/* The *_unlink wrappers of names that are files under dir ("/dev/shm/", "/dev/mqueue/",
 * "/dev/shm/sem."): the object of kind the name stands for (by the file's inode) is found
 * before real(name) removes it, and marked obj_unlinked when it succeeds. */
int unlink_named(int (*real)(const char *), const char *dir, const char *name, int kind);
/* The per-object spin lock that orders (operation, value, seq): one exchange when it is free
 * (obj_lock_slow waits, yielding, when it is not). Inside busy_enter while held. */
void obj_lock_slow(struct instr_obj *o);
/* A spinning CPU's hint that it waits (x86 PAUSE, arm YIELD): kinder to a sibling thread. */
static inline void cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ volatile("yield");
#endif
}

/* How many pauses obj_lock_slow waits (some 10-30 us) before it yields the CPU instead. */
#define OBJ_LOCK_SPINS 1000

static inline void obj_lock(struct instr_obj *o)
{
    busy_enter();
    if (__builtin_expect(atomic_exchange_explicit(&o->lock, 1, memory_order_acquire), 0))
        obj_lock_slow(o);
}

static inline void obj_unlock(struct instr_obj *o)
{
    atomic_store_explicit(&o->lock, 0, memory_order_release);
    busy_leave();
}
/* Lock / unlock the map (inserting entries, counters shared by every process). */
void map_lock(void);
void map_unlock(void);

/* ---- descriptors (fd.c) ----
 * Every descriptor that stands for a followed object (a pipe or FIFO end, a socket, a message
 * queue, a shared memory object, an epoll instance) has an entry in this process's table, so
 * read, write and close find their object with one load and no system call. The table is
 * kept by the wrappers that make, copy and close descriptors, copied by fork, and rebuilt
 * from /proc/self/fd after an exec. */

#define FD_MAX 65536

enum fd_kind { FDK_NONE = 0, FDK_PIPE, FDK_SOCK, FDK_MQ, FDK_SHM, FDK_EPOLL };

/* Flags of an entry. */
#define FDF_WRITE 0x01  /* a pipe's or FIFO's write end */
#define FDF_DGRAM 0x02  /* a datagram socket */
#define FDF_UNIX 0x04   /* a Unix-domain socket */
#define FDF_LISTEN 0x08 /* a listening socket */

struct fd_ent {
    uint32_t id1; /* object id + 1; 0: a socket not followed yet (no address so far) */
    uint8_t kind; /* enum fd_kind */
    uint8_t flags;
};

extern _Atomic uint64_t g_fds[FD_MAX];

static inline struct fd_ent fd_get(int fd)
{
    struct fd_ent e = {0};
    if (fd < 0 || fd >= FD_MAX)
        return e;
    uint64_t v = atomic_load_explicit(&g_fds[fd], memory_order_relaxed);
    e.id1 = (uint32_t)v;
    e.kind = (uint8_t)(v >> 32);
    e.flags = (uint8_t)(v >> 40);
    return e;
}

/* The object behind fd if it is of kind, else NULL. */
static inline struct instr_obj *fd_obj(int fd, int kind)
{
    struct fd_ent e = fd_get(fd);
    return e.kind == kind && e.id1 ? &g_sh->objs[e.id1 - 1] : NULL;
}

/* Set / clear fd's entry. */
void fd_put(int fd, const struct instr_obj *o, int kind, int flags);
void fd_clear(int fd);
/* Rebuild the table from /proc/self/fd (after an exec). */
void fd_rescan(void);
/* The fd's object when it is an end of a followed pipe or FIFO (pipe.c); the dispatch of
 * read, write and close by kind is in fd.c. */
ssize_t pipe_read(struct instr_obj *o, int fd, void *buf, size_t n);
ssize_t pipe_write(struct instr_obj *o, int fd, const void *buf, size_t n);
void pipe_closing(struct instr_obj *o, int fd, int write_end);
/* fd, a pipe end, is read or written where the run cannot count its bytes (stdio, which
 * calls read and write inside glibc: fdopen, or an end made stdin, stdout or stderr): the
 * pipe's fill is the kernel's from now on (pipe.c, "the fill"). */
void pipe_unseen_io(int fd);
/* read and write on a pipe end by a thread not followed now (no task slot, or a signal
 * handler inside our bookkeeping): no record, but the bytes count towards the pipe's fill. */
ssize_t pipe_read_unseen(struct instr_obj *o, int fd, void *buf, size_t n);
ssize_t pipe_write_unseen(struct instr_obj *o, int fd, const void *buf, size_t n);
/* Sockets (net.c): read and write on a socket are recv and send. */
ssize_t sock_recv(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *len);
ssize_t sock_send(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
                  socklen_t len);
void sock_closing(struct instr_obj *o, int fd);
/* open of path (pipe.c): before it, the object of a FIFO this run knows by name, marked
 * blocked while a blocking open waits for the other end (or NULL); after it, follow fd if it
 * turned out to be a FIFO. */
struct instr_obj *fifo_before_open(const char *path, int flags);
void fifo_after_open(struct instr_obj *o, int fd, const char *path, int flags);
/* shm.c: a shared memory descriptor is being closed; this process was just forked (its
 * mappings are the child's too) / ends (its mappings go). */
void shm_forget_fd(int fd);
void shm_after_fork(void);
void shm_at_exit(void);
/* sysv.c: the map / unmap records of System V segments (shm.c keeps the table). */
void shm_track(void *addr, size_t len, struct instr_obj *o, int sysv);
struct instr_obj *shm_untrack(const void *addr, size_t *len, int *sysv);

/* ---- names (names.c) ---- */

/* Keep the program's .symtab (if not stripped) to name objects after their variables. */
void elf_load(void);
/* The variable at addr ("empty", "forks[2]", "shared+40") into buf; 0 when unknown. */
int elf_name(const void *addr, size_t psize, char *buf, size_t n);

#endif
