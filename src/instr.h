/*
 * instr.h - the worker-side instrumentation API, the shared region and the step gate.
 *
 * Scenario code calls instr_* instead of the raw primitives. Each wrapper first passes the
 * step gate (which may hold it until the teacher presses a key), then performs the real call
 * (sem_wait, pthread_mutex_lock, ...) and writes fixed-size records into the calling task's
 * own ring in shared memory. The region is made before forking, so every worker process and
 * thread sees it at the same address, and nothing in it has a name that could leak.
 */
#ifndef IPCSCOPE_INSTR_H
#define IPCSCOPE_INSTR_H

#include "event.h"
#include "ring.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define INSTR_NAME_MAX 32
#define INSTR_MAX_OBJS 65536    /* untouched entries cost no memory (the region is sparse) */
#define INSTR_MAGIC 0x69706373u /* "ipcs" */

/* Slot states at the gate. */
enum { GS_FREE = 0, GS_WAITING = 1, GS_GRANTED = 2 };

/* `ipcscope exec` only: the uncontended lock/unlock pairs a task has made on one mutex and not
 * yet recorded (src/preload/preload.h, "folding"). Written by its task with relaxed stores; the
 * conductor reads it to show a mutex taken inside a fold whose holder has gone quiet, and to
 * record what a task that died inside a fold left. On a line of its own: the task writes it
 * on every folded operation. */
struct instr_fold {
    _Alignas(64) _Atomic uint32_t obj1; /* the mutex's id + 1, 0: no fold open */
    _Atomic uint32_t held;              /* FOLD_*: is the fold's last lock still held */
    _Atomic uint64_t tick;              /* the coarse clock (ns) every folded operation read */
    _Atomic uint64_t pairs;             /* pairs folded and not yet recorded */
    _Atomic uint32_t lockfree;          /* semaphore: its short path takes no object lock */
    _Atomic uint32_t in_op;             /* ... and the task is inside it now */
};

enum {
    FOLD_FREE = 0,     /* every folded lock was unlocked again */
    FOLD_HELD = 1,     /* the last folded lock is held (by the task, in the fold's tick) */
    FOLD_HELD_LONG = 2 /* ... and the conductor saw it held past that tick: its unlock records */
};

/* Per-task header (one per slot). Written by its task, read by the conductor. */
struct instr_task {
    _Atomic uint32_t used;
    char name[INSTR_NAME_MAX];
    int32_t pid, tid, ppid;
    uint32_t kind;
    _Atomic uint32_t gate;        /* GS_* */
    _Atomic uint64_t gate_ticket; /* grants counter when it arrived: orders waiters */
    _Atomic uint32_t gate_kind;   /* the action waiting at the gate (enum ev_kind) */
    _Atomic uint32_t gate_obj;    /* and its object */
    _Atomic uint32_t blocked_obj; /* object id + 1 while inside a blocking call, else 0 */
    _Atomic uint32_t watching;    /* exec: 1 while it watches a lock before it sleeps (on a CPU) */
    _Atomic uint32_t exited;
    _Atomic uint32_t followed; /* the creator has done its after-fork work (spawn hook) */
    /* the scenario clock (sclock.h): when the waiting action is due, in scenario ns since the
     * start, and its value (a sleep: ms); a label for a timed wait ("the accept delay") */
    _Atomic uint64_t gate_due;
    _Atomic int64_t gate_val;
    char gate_what[INSTR_NAME_MAX];
    /* a lesson deadline the task waits for while blocked (scenario ns, 0: none): the gate
     * lists it as a timed waiter; a grant sets timer_fired, the task clears it on noticing */
    _Atomic uint64_t timer_due;
    _Atomic uint32_t timer_ev, timer_obj;
    _Atomic uint32_t timer_fired;
    char timer_what[INSTR_NAME_MAX]; /* a label for the deadline ("the alarm fires"), or "" */
    /* the futex word the timed waiter sleeps on, as its offset in the region + 1 (0: none):
     * the conductor wakes it when it grants a step, so the waiter need not look for its grant
     * every 100 ms through a teacher's pause */
    _Atomic uint64_t timer_word;
    _Atomic uint32_t unpaced; /* inside work the gate does not pace (depth) */
    /* asleep until another task makes progress (sclock_waits_for): what for, while set */
    _Atomic uint32_t waits_for_set;
    char waits_for[INSTR_NAME_MAX];
    struct instr_fold fold;
};

/* An instrumented object. The real primitive lives inside it, in shared memory. */
struct instr_obj {
    char name[INSTR_NAME_MAX];
    uint32_t id;
    uint32_t kind;         /* enum obj_kind */
    _Atomic uint32_t lock; /* orders (operation, value, seq) for semaphores */
    _Atomic uint32_t seq;  /* operations so far */
    int64_t value;         /* the value every completed operation leaves (under lock) */
    int64_t capacity;
    int64_t head, tail; /* queue indices (under the guarding mutex); a pipe: the readers and
                           the writers asleep on it; an exec spin lock: tail counts the tasks
                           spinning for it (atomic builtins) */
    int64_t *items;     /* queue storage, in the shared arena */
    union {
        sem_t sem;
        pthread_mutex_t mutex;
        pthread_cond_t cond;
        struct {
            uint16_t lport, rport; /* host order; 0 = any (a listener has rport 0) */
            int32_t state;         /* last TCP state the conductor saw (TCP_* numbering) */
            uint64_t cookie;       /* kernel socket cookie once known (bpf), else 0 */
            uint8_t seen;          /* the kernel has shown this socket at least once */
            uint8_t proto;         /* IPPROTO_TCP, IPPROTO_UDP or 255 (Unix-domain,
                                      SOCKDIAG_PROTO_UNIX); 0: TCP */
            uint8_t pair;          /* a socketpair: one object for both ends (Unix) */
            uint32_t inode;        /* the socket's inode (fstat), 0 unknown: finds it in
                                      sock_diag while it has a file; by ports after close */
            uint32_t inode2;       /* a socketpair: its second end's inode, the end the
                                      kernel still shows once the first is closed */
        } sock;
    } u;
};

struct instr_shared {
    uint32_t magic;
    uint32_t max_tasks;
    uint32_t ring_cap;
    int32_t conductor_pid;
    size_t size;
    size_t ring_stride;
    size_t rings_off;
    size_t arena_off, arena_size;
    _Atomic size_t arena_used;
    _Atomic uint32_t ntasks;
    _Atomic uint32_t nobjs;
    _Atomic uint32_t gate_hold;   /* 1: workers stop at the gate until granted */
    _Atomic uint64_t gate_grants; /* actions granted so far */
    _Atomic uint32_t stop;        /* scenario bodies should wind down */
    _Atomic int32_t worker_pgid;  /* process group of the workers, 0 until the first */
    uint32_t drop_uid, drop_gid;  /* when non-zero: workers run as this user (sudo) */
    int32_t worker_nice;          /* nice value workers run at (the conductor's may be lower) */
    _Atomic uint32_t guard_off;   /* set by a clean stop: the guard has nothing left to kill */
    uint64_t private_fds[16];     /* the conductor's own descriptors (< 1024: epoll, signalfd, the
                                     probes, the trace): closed in the workers it starts */
    uint64_t t0;
    /* The scenario clock (sclock.h), written by the conductor under the seqlock vc_seq:
     * scenario time was vc_base ns at CLOCK_MONOTONIC vc_wall, running with the wall clock
     * from there when vc_free. */
    _Atomic uint32_t vc_seq;
    _Atomic uint64_t vc_base, vc_wall;
    _Atomic uint32_t vc_free;
    /* Timestamps: when the TSC is invariant and agrees across CPUs, workers stamp records
     * with rdtsc (a few ns, no vDSO call) and the conductor converts them with the pair
     * (tsc0, mono0) and ns_per_tick, calibrated against CLOCK_MONOTONIC on every drain. */
    uint32_t use_tsc;
    uint64_t tsc0, mono0;
    _Atomic uint64_t ns_per_tick_q32; /* ns per TSC tick, fixed point 32.32 */
    /* exec: the conductor sets crowded while the machine's other work alone has a runnable
     * thread for every CPU (a program's waiter then sleeps at once instead of watching:
     * preload/sync.c); the program counts its waits that watched and those that did not. */
    _Atomic uint32_t crowded;
    _Alignas(64) _Atomic uint64_t waits_watched;
    _Atomic uint64_t waits_crowded;
    struct instr_obj objs[INSTR_MAX_OBJS];
    struct instr_task tasks[]; /* max_tasks */
};

/* ---- the region (conductor side) ---- */

/* Create and map the region: max_tasks slots with rings of ring_cap records, plus arena bytes
 * for scenario data. Sets it as this process's region. 0 or -errno. */
/* Conductor: measure the TSC's rate against CLOCK_MONOTONIC (at least 0.2 ms after the
 * region was made; refined on every drain) and choose the clock records carry. Done by
 * the first instr_spawn and by instr_clock_refine/instr_clock_info; until then records carry
 * CLOCK_MONOTONIC. A caller that stamps records itself first calls it. Idempotent. */
void instr_clock_settle(struct instr_shared *sh);

int instr_region_create(struct instr_shared **out, uint32_t max_tasks, uint32_t ring_cap,
                        size_t arena);
void instr_region_destroy(struct instr_shared *sh); /* accepts NULL */
struct instr_shared *instr_region(void);
/* The memfd behind this process's region (close-on-exec; do not close it), or -1. */
int instr_region_fd(void);
/* Make sh (mapped by this process, e.g. attached from an inherited memfd) this process's
 * region. */
void instr_region_use(struct instr_shared *sh);
struct ring *instr_ring(struct instr_shared *sh, uint32_t slot);

/* Conductor: refine the TSC rate (call on every drain) and turn a record's raw TSC stamp into
 * CLOCK_MONOTONIC ns (no-op for records stamped in ns). */
void instr_clock_refine(struct instr_shared *sh);
void instr_clock_convert(const struct instr_shared *sh, struct ev *e);

/* Conductor: mark every descriptor open now as its own (but 0-2, the region's memfd and what
 * the process was started with: the user's), so the workers it starts close them (keep 1:
 * add to the marks). Returns how many. */
int instr_mark_private_fds(struct instr_shared *sh, int keep);
/* How the region's records are stamped, for the trace's end line and the benchmarks. */
struct instr_clock_info {
    int tsc;          /* 1: the TSC, converted by the conductor; 0: CLOCK_MONOTONIC */
    char kernel[32];  /* the kernel's clocksource (tsc, kvm-clock, hpet ...) */
    char stamps[192]; /* in words: which clock and why */
    int64_t drift_ns; /* the largest conversion error a refinement found (0: none yet) */
    double calib_ms;  /* how long the rate has been calibrated over */
};
/* Conductor: refine once more and describe the clock (the drift check at a run's end). */
void instr_clock_info(struct instr_shared *sh, struct instr_clock_info *out);

/* Bump-allocate zeroed, 64-byte aligned shared memory from the arena (before forking). */
void *instr_shared_alloc(size_t n);

/* ---- tasks ---- */

/* Register the calling thread as a task named name (enum task_kind) and emit task_start.
 * Returns its slot, or -1 when no slot is left. */
int instr_task_begin(const char *name, int kind);
/* Emit task_exit with status; the task's ring stays readable. */
void instr_task_end(int status);
/* The calling thread's slot, or -1. */
int instr_self(void);

enum {
    INSTR_SPAWN_ORPHANABLE = 1, /* may outlive its parent (every worker's child may now: only the
                                   conductor's children carry a death signal); kept for
                                   callers that say so */
    INSTR_SPAWN_OWN_GROUP = 2,  /* joins no worker group: fn makes its own process group or
                                   session and stores it in worker_pgid (exec) */
};

/* fork a worker process named name that runs fn(arg) and exits with its return value.
 * In the child: its own process group (shared by all workers), the sudo user, task_begin/
 * task_end, and a death signal when its parent is the conductor (a worker's own children
 * outlive it, as orphans or zombies would). Returns the child's pid in the parent, -errno on
 * failure. */
pid_t instr_spawn(const char *name, int (*fn)(void *arg), void *arg, unsigned flags);

/* instr_spawn with INSTR_SPAWN_OWN_GROUP, but the task is a child of the spawned process,
 * itself a task named leader_name: leader() runs in it once it is set up (in the run's
 * cgroup, privileges dropped) and forks; it returns only in the child, which carries the
 * task (its slot, fn(arg)), or in itself when it could not fork (exec's session leader for
 * the program's terminal, exec_pty.h). Returns the spawned (leading) process's pid, -errno
 * on failure. */
pid_t instr_spawn_led(const char *name, const char *leader_name, void (*leader)(void),
                      int (*fn)(void *arg), void *arg);

/* Called in the parent right after each instr_spawn fork (the conductor uses it to have the
 * kernel probes follow the new worker from its first instruction). */
extern void (*instr_spawn_hook)(pid_t pid);

/* Called first thing in every child instr_spawn forks (when set, instead of the child making
 * or joining the worker group itself in the region's worker_pgid). */
extern void (*instr_child_hook)(void);

/* For an INSTR_SPAWN_ORPHANABLE child after its parent died: arm the death signal on the new
 * parent (the conductor) and exit if even that one is gone. */
void instr_rearm_deathsig(void);

/* Start a thread task named name running fn(arg). 0 or an error number (pthread_create). */
int instr_thread_spawn(pthread_t *th, const char *name, void *(*fn)(void *arg), void *arg);

/* ---- events ---- */

/* Emit a record from the calling task (t, src, task, pid, tid are filled in). */
void instr_emit(uint16_t kind, uint32_t obj, int64_t val, int64_t item, int64_t aux);
/* Emit a fully prepared record (t filled when 0) into the calling task's ring. */
void instr_emit_ev(struct ev *e);
/* Emit an operation on obj with the object's next seq. */
void instr_op(struct instr_obj *o, uint16_t kind, int64_t val, int64_t item, int64_t aux);
/* instr_op with the record's extra word too (see event.h for the kinds that use it). */
void instr_op_x(struct instr_obj *o, uint16_t kind, int64_t val, int64_t item, int64_t aux,
                int64_t extra);
/* A free-text note (truncated to 31 bytes). */
void instr_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the step gate (worker side) ---- */

/* Wait here, when the gate is held, until the conductor grants this task one action
 * (kind on obj). Returns at once in run mode. While held, arriving and leaving are gate
 * events, so the time spent here is its own state (never "blocked"). */
void instr_gate(uint16_t kind, uint32_t obj);

/* The same for an action due at scenario time due (ns; a timed wait), carrying val and a
 * label (may be NULL). Returns 1 when it waited (the gate was held), 0 when it passed. */
int instr_gate_timed(uint16_t kind, uint32_t obj, uint64_t due, int64_t val, const char *what);

/* instr_gate for a step with no call of its own (a note, a variable, fork() returning in a
 * child), labelled with what the task will do (printf format, at most 31 bytes): the
 * dashboard shows "→ set x to 11" rather than "→ its next step". */
void instr_gate_label(uint16_t kind, uint32_t obj, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Mark the calling task at the gate (on 1) or no longer (0) while it waits for the others at
 * the teacher's pace: not an action of its own that a step grants (no waiter), yet gate time
 * on screen, with what (at most 31 bytes; may be NULL when on is 0) as its label. */
void instr_gate_mark(int on, const char *what);

/* ---- objects ---- */

/* Register an object (emits obj_create with the initial value and capacity). NULL when the
 * table is full. */
struct instr_obj *instr_obj_new(const char *name, int kind, int64_t init, int64_t capacity);

struct instr_obj *instr_sem_new(const char *name, unsigned init, int64_t bound);
int instr_sem_wait(struct instr_obj *s);
int instr_sem_trywait(struct instr_obj *s); /* 0, or -EAGAIN */
int instr_sem_post(struct instr_obj *s);
int64_t instr_sem_value(struct instr_obj *s);

/* A process-shared, robust mutex. lock: gate, then take it (blocking, marked blocked, when
 * another task holds it). 0; 1 when its owner died holding it (the kernel handed it over with
 * EOWNERDEAD; it is made consistent and now held by the caller); or -errno. */
struct instr_obj *instr_mutex_new(const char *name);
int instr_mutex_lock(struct instr_obj *m);
int instr_mutex_unlock(struct instr_obj *m);

struct instr_obj *instr_cond_new(const char *name);
int instr_cond_wait(struct instr_obj *c, struct instr_obj *m);
int instr_cond_signal(struct instr_obj *c);
int instr_cond_broadcast(struct instr_obj *c);

/* A bounded FIFO of item ids in shared memory. Not itself blocking or locked: guard it with a
 * mutex and count slots with semaphores (the prodcons lesson). put: 0 or -ENOSPC; get: 0 or
 * -EAGAIN. */
struct instr_obj *instr_queue_new(const char *name, int64_t capacity);
int instr_queue_put(struct instr_obj *q, int64_t item);
int instr_queue_get(struct instr_obj *q, int64_t *item);

/* A TCP socket object: the conductor follows its kernel state (bpf inet_sock_set_state, or
 * sock_diag when bpf is off) by its ports on loopback. Call after bind/connect, with the
 * local and remote ports (rport 0 for a listener). */
struct instr_obj *instr_socket_new(const char *name, uint16_t lport, uint16_t rport, int state);
void instr_socket_ports(struct instr_obj *o, uint16_t lport, uint16_t rport);

/* A socket object of protocol proto (IPPROTO_TCP or IPPROTO_UDP) for descriptor fd (its
 * inode lets the conductor find it in the kernel's table; -1: unknown), in state state (TCP
 * numbering; a UDP socket 7, unconnected). obj_create carries the protocol as its item. */
struct instr_obj *instr_socket_open(const char *name, int proto, int fd, int state);
/* Learn fd's inode for socket object o (after accept, say). */
void instr_socket_fd(struct instr_obj *o, int fd);

/* Generic: mark the calling task blocked on obj around a real blocking call of the scenario's
 * own (read on a pipe, mq_send ...). reason is free (shown as aux). */
void instr_block(struct instr_obj *o, int64_t reason);
/* Only the conductor-visible mark (no event): the calling task is inside a blocking call on
 * o (NULL: no longer). The step gate uses it to know who is asleep in the kernel. */
void instr_mark_blocked(struct instr_obj *o);
void instr_unblock(struct instr_obj *o);

#endif
