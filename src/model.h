/*
 * model.h - what ipcscope knows about a run: tasks, objects and bounded history.
 *
 * Pure data: no curses, no I/O. Sources turn evidence into `struct ev`; model_apply folds
 * each event into task states (new/ready/running/blocked/zombie/exited/reaped), object
 * values (semaphore counts, lock holders, queue depths) and a bounded history used by the
 * event log, the timeline and the trace. Everything the UI and the snapshot show comes from
 * here.
 */
#ifndef IPCSCOPE_MODEL_H
#define IPCSCOPE_MODEL_H

#include "event.h"

#include <stddef.h>
#include <stdint.h>

#define MODEL_NAME_MAX 32
#define MODEL_NO_TASK UINT32_MAX
#define MODEL_NO_OBJ UINT32_MAX
#define MODEL_SOCK_NAME_MAX 109 /* a Unix socket's name as text (sun_path: 108 bytes) */
#define MODEL_PROTO_UNIX 255    /* a Unix socket's proto (SOCKDIAG_PROTO_UNIX) */

struct model_task {
    char name[MODEL_NAME_MAX];
    uint32_t slot; /* instr slot, or EV_NO_TASK when only a kernel source knows it */
    int32_t pid, tid, ppid;
    int32_t orig_ppid;    /* the parent at start: differs from ppid after an adoption */
    uint8_t kind;         /* enum task_kind */
    uint8_t state;        /* enum task_state */
    uint8_t kernel_state; /* last state a kernel source (bpf/procfs) reported, TS__COUNT: none */
    uint32_t blocked_on;  /* object id while blocked on an instrumented object, else EV_NO_OBJ */
    uint32_t cond_mutex;  /* in cond_wait: the mutex it gives back and retakes, else EV_NO_OBJ */
    int32_t cpu;          /* CPU while running (bpf/procfs), -1 unknown */
    int32_t exit_status;  /* valid when has_exit */
    uint8_t has_exit;
    uint8_t reap_how; /* enum reap_how of its task_reaped (threads: joined, or with the process) */
    char wchan[64];   /* kernel function it sleeps in (procfs) */
    uint64_t t_start, t_state, t_exit, t_reaped; /* ns; 0 = not yet */
    uint64_t run_ns, ready_ns, blocked_ns;       /* time in each state (closed intervals) */
    uint64_t gate_ns;                            /* ... and held at the step gate */
    uint8_t at_gate;                             /* between its gate arrival and its grant */
    uint16_t gate_kind;                          /* the action waiting at the gate */
    uint32_t gate_obj;                           /* and its object (EV_NO_OBJ: none) */
    int64_t gate_val;                            /* and its value (a sleep's ms ...) */
    uint64_t switches; /* times switched in (bpf; without it: schedstat's count) */
    /* without the probes, the kernel's own totals (schedstat, read by the /proc sampler and
     * by the task as it ends): ns on a CPU and ns ready on a run queue, as of ks_at (0: never
     * read), and the time the task had spent in R (running or ready) by its states then */
    uint64_t ks_run_ns, ks_wait_ns, ks_at, ks_r_ns;
    uint64_t actions; /* instrumented operations */
    uint64_t sig_sent, sig_delivered;
    uint8_t reap_src; /* bit per enum ev_src that saw its reap (one fact, several witnesses) */
    uint64_t sigpnd, sigblk, sigign, sigcgt; /* signal masks (procfs) */
};

struct model_obj {
    char name[MODEL_NAME_MAX];
    uint8_t kind; /* enum obj_kind */
    uint8_t live;
    int64_t value;     /* semaphore value / event flag / pipe bytes / queue depth */
    int64_t init;      /* value at creation */
    int64_t min, max;  /* extremes of value seen */
    int64_t capacity;  /* queue/pipe/mq capacity, semaphore bound (0 = none) */
    uint32_t holder;   /* mutex: model task index, MODEL_NO_TASK when free */
    uint64_t ops;      /* operations applied */
    uint32_t last_seq; /* seq of the last operation applied */
    uint64_t seq_gaps; /* operations that arrived out of seq order (merge check) */
    int64_t last_item; /* item of the last put/get */
    int32_t tcp_state; /* sockets: the kernel's state (TCP numbering) */
    /* sockets, as the kernel's table shows them (sock_info) */
    uint8_t proto;     /* IPPROTO_TCP (6), IPPROTO_UDP (17), Unix 255 (SOCKDIAG_PROTO_UNIX) */
    uint8_t in_kernel; /* the kernel's table has it (bound, or lingering after close) */
    uint16_t lport, rport;
    uint32_t laddr, raddr;  /* IPv4, host order */
    int64_t recv_q, send_q; /* a listener: accept queue, backlog */
    uint8_t flags;          /* OBJF_SYSV (from obj_create's extra), MODEL_OBJ_UNLINKED */
    int32_t users;          /* shm: mappings now (shm_map / shm_unmap) */
    /* Unix sockets, as the kernel's table shows them (sock_info, sock_name) */
    uint32_t linode, rinode;         /* its inode and its peer's (0: none) */
    char lname[MODEL_SOCK_NAME_MAX]; /* its bound name as ss prints it: "/path", "@abstract",
                                        "" unnamed */
    uint8_t lname_more;              /* the last sock_name piece was full: the next continues */
};

#define MODEL_OBJ_UNLINKED 0x80 /* obj_unlink: its name is gone, the object lives on */
#define MODEL_OBJ_SIZED 0x40    /* shm: its value is a size in bytes (shm_map, obj_size: exec) */
#define MODEL_OBJ_SEEN_HELD                                                                        \
    0x20 /* a mutex held inside an exec fold: its holder was read from                             \
            the task's slot, its record comes at the unlock */

/* One recorded state interval start, for the timeline. */
struct model_span {
    uint64_t t;
    uint32_t task;
    uint8_t state;
};

struct model {
    struct model_task *tasks;
    size_t ntasks, tasks_cap;
    struct model_obj *objs; /* indexed by object id */
    size_t nobjs, objs_cap;
    uint32_t *slot_map; /* instr slot -> task index */
    size_t slot_map_cap;
    uint32_t *tid_cache;  /* hash of tid -> task index + 1 (0: none); a hint, checked on use */
    size_t tid_cache_cap; /* a power of two */

    struct ev *hist; /* last hist_cap events, oldest first from hist_head */
    size_t hist_cap, hist_len, hist_head;
    uint64_t hist_total; /* events ever kept there */
    /* The scheduler's records (switches, wakeups, state samples, gate arrivals) are kept in a
     * ring of their own, so a task waking every few ms while the teacher talks never pushes
     * the lesson's events out of the history. */
    struct ev *khist;
    size_t khist_cap, khist_len, khist_head;

    struct model_span *spans; /* last spans_cap state changes */
    size_t spans_cap, spans_len, spans_head;

    uint64_t total;   /* events applied */
    uint64_t dropped; /* events lost before reaching the model (set by the conductor) */
    uint64_t t_first, t_last;
    unsigned src_seen; /* bit per enum ev_src */
};

/* Initialise with room for hist_cap history events and spans_cap timeline spans. 0 or -ENOMEM. */
int model_init(struct model *m, size_t hist_cap, size_t spans_cap);
void model_free(struct model *m); /* accepts a zeroed model */

/*
 * Apply one event. task_name names the task on EV_TASK_START (else may be NULL); obj_name
 * names the object on EV_OBJ_CREATE. Events for unknown tasks from kernel sources create
 * the task. Returns the index of the task the event concerned, or MODEL_NO_TASK.
 */
uint32_t model_apply(struct model *m, const struct ev *e, const char *task_name,
                     const char *obj_name);

/* Lookups. NULL / MODEL_NO_TASK when absent. */
struct model_task *model_task(struct model *m, uint32_t idx);
uint32_t model_task_by_slot(const struct model *m, uint32_t slot);
uint32_t model_task_by_tid(const struct model *m, int32_t tid);
struct model_obj *model_obj(struct model *m, uint32_t id);
uint32_t model_obj_by_name(const struct model *m, const char *name);

/* The socket object at the other end of Unix socket object id: the live socket whose inode
 * is id's peer inode, as a TCP end is found by its port. MODEL_NO_OBJ when the peer is none
 * of the run's sockets, or is id itself (a socketpair's object is both its ends). */
uint32_t model_socket_peer(const struct model *m, uint32_t id);

/* History access: i = 0 is the oldest kept event. NULL past the end. model_khist is the
 * scheduler's records (model_is_sched), kept apart. */
const struct ev *model_hist(const struct model *m, size_t i);
const struct ev *model_khist(const struct model *m, size_t i);

/* Time a task spent in each state up to now, the open interval included: out[0] running,
 * [1] ready, [2] blocked, [3] at the step gate. With the kernel's switch events on the task
 * these are exact. Without them /proc's R cannot tell running from ready; where the kernel's
 * schedstat totals were read, running and ready are those (the R time since that read split
 * in the same proportion) and blocked is the rest of the task's life off the gate. */
void model_task_times(const struct model_task *t, uint64_t now, uint64_t out[4]);

/* 1 for the scheduler's records: switches, wakeups, state samples, gate arrivals. */
int model_is_sched(unsigned kind);
const struct model_span *model_span_at(const struct model *m, size_t i);

/* Close every task's open state interval at time now (for totals that include the present). */
void model_settle_times(struct model *m, uint64_t now);

/* Tasks blocked on object id, written into out (up to n); returns how many there are. */
size_t model_waiters(const struct model *m, uint32_t obj, uint32_t *out, size_t n);

/* 1 when e reports a reap the model already has (another source saw the same fact): the
 * source is added to the task's witnesses, and e should be dropped. */
int model_reap_seen(struct model *m, const struct ev *e);

/* "sem:empty" for a task blocked on an object; "" when not blocked on one. */
void model_blocked_label(const struct model *m, const struct model_task *t, char *buf, size_t n);

/* The value an operation event leaves its object with, as the trace records it. */
int model_event_touches_object(unsigned kind);

/* 1 for a reading of the kernel's socket table (sock_info, sock_name, a sampled tcp_state):
 * applied as it comes, never stale by seq order. */
int model_event_is_reading(const struct ev *e);

/* A deep copy of src into dst (not initialised; free it with model_free): the same tasks,
 * objects, maps and counters, with history rings of hist_cap events and spans_cap spans
 * holding the newest of src's. Applying the same events to src and dst keeps them equal
 * (but for how much history each keeps). 0 or -ENOMEM. */
int model_copy(struct model *dst, const struct model *src, size_t hist_cap, size_t spans_cap);

/* Bytes of memory m holds. */
size_t model_bytes(const struct model *m);

#endif
