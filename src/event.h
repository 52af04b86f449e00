/*
 * event.h - the one event record every source produces and the model consumes.
 *
 * Workers (src/instr), the eBPF probes (probes/) and the /proc sampler all turn what they
 * see into `struct ev`, a fixed 64-byte record. Event kinds are a stable, documented
 * vocabulary (their names appear in trace files), defined once in the EV_KINDS table below.
 */
#ifndef IPCSCOPE_EVENT_H
#define IPCSCOPE_EVENT_H

#include <stddef.h>
#include <stdint.h>

/* X(enum, "trace name"): the event vocabulary. Append only: the names are a contract. */
#define EV_KINDS(X)                                                                                \
    X(EV_TASK_START, "task_start")   /* pid/tid; item=kind (task_kind); aux=ppid */                \
    X(EV_TASK_EXIT, "task_exit")     /* val=exit status (or 128+signal) */                         \
    X(EV_TASK_REAPED, "task_reaped") /* val=status; aux=pid of the reaper; extra=enum reap_how */  \
    X(EV_STATE, "state") /* val=task_state seen; aux=cpu or -1 (procfs/bpf); extra=1 a settled     \
                            look between steps, the truth over the probes */                       \
    X(EV_NOTE, "note")   /* text */                                                                \
    X(EV_OBJ_CREATE, "obj_create") /* obj; val=initial value; item=capacity; aux=obj_kind */       \
    X(EV_OBJ_DESTROY, "obj_destroy")                                                               \
    X(EV_SEM_WAIT, "sem_wait")         /* val=value seen; aux=1 if the caller will block */        \
    X(EV_SEM_ACQUIRED, "sem_acquired") /* val=value after */                                       \
    X(EV_SEM_POST, "sem_post")         /* val=value after */                                       \
    X(EV_MUTEX_WAIT, "mutex_wait")     /* aux=1 if contended (the caller will block) */            \
    X(EV_MUTEX_ACQUIRED, "mutex_acquired")                                                         \
    X(EV_MUTEX_RELEASE, "mutex_release")                                                           \
    X(EV_COND_WAIT, "cond_wait") /* item=obj id of the mutex released while waiting */             \
    X(EV_COND_WAKE, "cond_wake") /* woken, mutex (item) held again */                              \
    X(EV_COND_SIGNAL, "cond_signal")                                                               \
    X(EV_COND_BROADCAST, "cond_broadcast")                                                         \
    X(EV_QUEUE_PUT, "queue_put") /* item=item id; val=depth after */                               \
    X(EV_QUEUE_GET, "queue_get") /* item=item id; val=depth after */                               \
    X(EV_BLOCK, "block")         /* generic: blocked on obj; aux=reason (see instr.h) */           \
    X(EV_UNBLOCK, "unblock")                                                                       \
    X(EV_PIPE_WRITE, "pipe_write") /* item=bytes written; val=bytes in pipe after */               \
    X(EV_PIPE_READ, "pipe_read")   /* item=bytes read (0 = EOF); val=bytes in pipe after */        \
    X(EV_PIPE_CLOSE, "pipe_close") /* aux=0 read end, 1 write end */                               \
    X(EV_MQ_SEND, "mq_send")       /* item=message id; val=depth after; extra=MQ_ITEM_BYTES:       \
                                      item is the message's length (a program's, under exec) */    \
    X(EV_MQ_RECV, "mq_recv")       /* item=message id (or length, as mq_send); val=depth after */  \
    X(EV_SHM_WRITE, "shm_write")   /* item=index; val=value written */                             \
    X(EV_SHM_READ, "shm_read")     /* item=index; val=value read */                                \
    X(EV_SIG_SEND, "sig_send")     /* val=signal; aux=target pid */                                \
    X(EV_SIG_HANDLE, "sig_handle") /* val=signal; in the handler */                                \
    X(EV_EVENT_WAIT, "event_wait")                                                                 \
    X(EV_EVENT_SET, "event_set")       /* val=1 */                                                 \
    X(EV_EVENT_CLEAR, "event_clear")   /* val=0 */                                                 \
    X(EV_SCHED_IN, "sched_in")         /* bpf: on a CPU; aux=cpu */                                \
    X(EV_SCHED_OUT, "sched_out")       /* bpf: off a CPU; val=1 preempted (ready), 0 blocked */    \
    X(EV_WAKEUP, "wakeup")             /* bpf: made runnable; aux=cpu */                           \
    X(EV_WAKEUP_NEW, "wakeup_new")     /* bpf: a new task made runnable */                         \
    X(EV_PROC_FORK, "proc_fork")       /* bpf: pid/tid=child; aux=parent pid; item=1 thread */     \
    X(EV_PROC_EXEC, "proc_exec")       /* bpf: text=new comm */                                    \
    X(EV_PROC_EXIT, "proc_exit")       /* bpf: val=exit code */                                    \
    X(EV_SIG_GENERATE, "sig_generate") /* bpf: val=signal; aux=sender pid (0: the kernel;          \
                                          SIGCHLD: the child); pid/tid=target */                   \
    X(EV_SIG_DELIVER, "sig_deliver")   /* bpf: val=signal; extra=1 fatal by its default action */  \
    X(EV_TCP_STATE, "tcp_state")       /* bpf/sockdiag: val=new state; item=old state */           \
    X(EV_FORK_RET, "fork_ret")         /* val=fork's return value in this copy */                  \
    X(EV_VAR, "var")                   /* item=variable index; val=its value now */                \
    X(EV_REPARENT, "reparent")         /* val=new ppid; aux=old ppid (an orphan adopted) */        \
    X(EV_ACTION, "action")             /* a keypress action of the scenario; item=key */           \
    X(EV_SOCK_BIND, "sock_bind") /* val=local port (0 on failure); item=asked port; aux=-errno */  \
    X(EV_SOCK_LISTEN, "sock_listen")   /* val=backlog; aux=-errno */                               \
    X(EV_SOCK_ACCEPT, "sock_accept")   /* obj=listener; item=new socket obj; val=peer port */      \
    X(EV_SOCK_CONNECT, "sock_connect") /* val=remote port; aux=-errno (0 ok) */                    \
    X(EV_SOCK_SEND, "sock_send")       /* item=bytes (-errno on failure); val=bytes queued after;  \
                                          aux=peer port; extra=1 UDP */                            \
    X(EV_SOCK_RECV,                                                                                \
      "sock_recv") /* item=bytes (0=EOF); val=bytes still queued; aux=peer port; extra=1 UDP */    \
    X(EV_SOCK_SHUTDOWN, "sock_shutdown") /* val=how (SHUT_RD/WR/RDWR) */                           \
    X(EV_SOCK_CLOSE, "sock_close")                                                                 \
    X(EV_MUX_WAIT,                                                                                 \
      "mux_wait") /* obj=interest set; val=fds; aux=fd bitmask; item=mux_call; epoll_ctl: extra */ \
    X(EV_MUX_READY,                                                                                \
      "mux_ready") /* obj=ready set; val=fds ready; aux=fd bitmask; item as mux_wait; extra */     \
                   /* MUX_READY_NONE_YET: nothing was ready at the call, which now sleeps */       \
    X(EV_PKT,                                                                                      \
      "pkt") /* capture: val=tcp flags; item=seq; aux=ack; extra=sport<<16|dport; obj optional */  \
    /* the step gate and the scenario clock */                                                     \
    X(EV_GATE, "gate")       /* val=1 arrived at the gate, 0 let through; item=the action's kind;  \
                                aux=its object (or -1); extra=its value (a sleep's ms;             \
                                mux_wait: 0 select, 1 poll, 2 epoll_wait) */                       \
    X(EV_SLEEP, "sleep")     /* a timed wait on the scenario clock: val=ms; item=1 when it also    \
                                slept on the wall clock; aux=scenario ms it was due at */          \
    X(EV_TIMEOUT, "timeout") /* a lesson deadline expired: obj=what was waited on; val=ms          \
                                waited; item=the call's event kind */                              \
    X(EV_DEADLOCK, "deadlock")   /* the conductor found a wait-for cycle: val=tasks in it */       \
    X(EV_SOCK_INFO, "sock_info") /* the kernel's entry for a socket object (sock_diag), when       \
                                    it changed: val=state (TCP numbering; UDP 7 unconnected,       \
                                    1 connected; 0: not in the kernel's table); item=recv_q |      \
                                    send_q << 32 (a listener: accept queue | backlog << 32);       \
                                    aux=lport | rport << 16 | proto << 32; extra=laddr |           \
                                    raddr << 32 (IPv4, host order); a Unix socket: extra=inode |   \
                                    the peer's inode << 32 (0: no peer) */                         \
    /* ---- appended for `ipcscope exec` (the preload library), one block ---- */                  \
    X(EV_SHM_MAP, "shm_map")       /* val=mappings after; item=bytes mapped; aux=pid */            \
    X(EV_SHM_UNMAP, "shm_unmap")   /* val=mappings after; item=bytes unmapped; aux=pid */          \
    X(EV_OBJ_SIZE, "obj_size")     /* val=size in bytes now (ftruncate, shmget); item=before */    \
    X(EV_OBJ_UNLINK, "obj_unlink") /* its name is gone (shm_unlink, mq_unlink, IPC_RMID ...) */    \
    X(EV_OBJ_SET, "obj_set")       /* val=value set (semctl SETVAL, SETALL) */                     \
    X(EV_RW_WAIT, "rwlock_wait")   /* item=0 read, 1 write; aux=1 will block */                    \
    X(EV_RW_ACQUIRED, "rwlock_acquired") /* item=0 read, 1 write; val=readers after */             \
    X(EV_RW_RELEASE, "rwlock_release")   /* item=0 read, 1 write; val=readers after */             \
    X(EV_BARRIER_WAIT, "barrier_wait")   /* val=arrived after; aux=1 will block */                 \
    X(EV_BARRIER_PASS, "barrier_pass")   /* val=arrived now (0: opened); aux=1 serial thread */    \
    X(EV_JOIN, "join")     /* obj=the thread joined; aux=1 will block (it still runs) */           \
    X(EV_JOINED, "joined") /* obj=the thread joined; val=its return value (-1: cancelled) */       \
    /* predict mode (lesson_run.h): the conductor's record of the class's predictions */           \
    X(EV_PREDICT_ASK, "predict_ask")       /* item=question number; val=choices; aux=the           \
                                              lesson's question index */                           \
    X(EV_PREDICT_ANSWER, "predict_answer") /* item=question number; val=the class's choice         \
                                              (0=A; -1 none); aux=hands counted */                 \
    X(EV_PREDICT_REVEAL, "predict_reveal") /* item=question number; val=the right choice (-1:      \
                                              void); aux=1 right, 0 wrong, -1 no answer */         \
    /* exec: uncontended lock/unlock pairs of one task on one mutex, within one tick of the        \
     * coarse clock, folded into one record (src/preload/preload.h, "folding") */                  \
    X(EV_MUTEX_PAIRS, "mutex_pairs") /* item=pairs (locked and unlocked again, nobody waiting);    \
                                        val=0: the mutex is free after them */                     \
    X(EV_MUTEX_SEEN_HELD, "mutex_seen_held") /* the conductor read in the task's slot that it      \
                                                holds obj, locked inside a fold and held past      \
                                                its tick; its mutex_acquired follows later */      \
    X(EV_SEM_PAIRS, "sem_pairs") /* item=pairs (a token taken and posted back, nobody waiting);    \
                                    val=the value after them (as before them) */                   \
    X(EV_SEM_SEEN_TAKEN, "sem_seen_taken") /* the conductor read in the task's slot that it holds  \
                                              a token of obj, taken inside a fold and kept past    \
                                              its tick; val=the value now; its sem_acquired        \
                                              follows later */                                     \
    X(EV_SCHED_TIMES, "sched_times") /* procfs, without the probes: the kernel's totals for the    \
                                        task from /proc/PID/task/TID/schedstat; val=ns on a CPU,   \
                                        item=ns waiting on a run queue (ready),                    \
                                        aux=time slices */                                         \
    X(EV_SOCK_NAME, "sock_name")     /* sock_diag: a Unix socket's bound name as ss                \
                                        prints it ("/path", "@abstract"; "" none) in               \
                                        text, in pieces: a piece of SOCK_NAME_PIECE                \
                                        bytes is continued by the next; sent before                \
                                        the sock_info, when the name changed */                    \
    X(EV_COND_RELOCK, "cond_relock") /* procfs: the task, blocked in cond_wait on obj, was         \
                                        woken and now sleeps in the kernel on the mutex            \
                                        item (the futex word /proc/PID/task/TID/syscall            \
                                        shows): pthread_cond_wait returns only with the            \
                                        mutex held, and its cond_wake follows then */

enum ev_kind {
#define EV_ENUM(e, s) e,
    EV_KINDS(EV_ENUM)
#undef EV_ENUM
        EV__COUNT
};

/* Who saw the event. */
enum ev_src { EV_SRC_INSTR = 0, EV_SRC_BPF = 1, EV_SRC_PROCFS = 2 };

/* mq_send / mq_recv's extra when its item is the message's length in bytes, not an id: a
 * program's queue under exec numbers no messages. */
#define MQ_ITEM_BYTES 1

/* Model task states (the snapshot's "state" words). */
enum task_state {
    TS_NEW = 0,
    TS_READY,
    TS_RUNNING,
    TS_BLOCKED,
    TS_ZOMBIE,
    TS_EXITED,
    TS_REAPED,
    TS_GATE, /* held at ipcscope's step gate: ipcscope's pause, not a kernel wait */
    TS__COUNT
};

enum task_kind { TK_PROCESS = 0, TK_THREAD = 1 };

/* How a task_reaped came about (its extra). */
enum reap_how {
    REAP_WAIT = 0,         /* a process collected by wait() (aux: the reaper's pid) */
    REAP_JOIN = 1,         /* a thread collected by pthread_join (aux: the joiner's tid) */
    REAP_WITH_PROCESS = 2, /* a thread never joined, gone with its process (aux: the pid that
                              reaped the process); one that never returned has no status */
};

/* Which call a mux_wait / mux_ready is (its item). MUX_EPOLL_CTL: an epoll_ctl that changed the
 * interest set the kernel keeps (no wait); its extra is MUX_CTL_EXTRA. */
enum mux_call { MUX_SELECT = 0, MUX_POLL = 1, MUX_EPOLL = 2, MUX_EPOLL_CTL = 3 };
#define MUX_CTL_EXTRA(fd, op, edge)                                                                \
    ((int64_t)(uint32_t)(fd) | (int64_t)((op)&0xff) << 32 | (int64_t)((edge) ? 1 : 0) << 40)
#define MUX_CTL_FD(extra) ((int)(uint32_t)(extra))
/* EPOLL_CTL_ADD, _DEL, _MOD; 0: the epoll instance was closed, its set gone with it */
#define MUX_CTL_OP(extra) ((int)((uint64_t)(extra) >> 32 & 0xff))
/* A mux_ready's extra when the call found nothing ready and sleeps: the set is empty until it
 * returns (its value stayed the last call's while the task slept on it). */
#define MUX_READY_NONE_YET 1
#define MUX_CTL_EDGE(extra) ((int)((uint64_t)(extra) >> 40 & 1)) /* EPOLLET */

/* X(enum, "snapshot name", "short prefix used in blocked_on") */
#define OBJ_KINDS(X)                                                                               \
    X(OK_SEMAPHORE, "semaphore", "sem")                                                            \
    X(OK_MUTEX, "mutex", "mutex")                                                                  \
    X(OK_CONDVAR, "condvar", "cond")                                                               \
    X(OK_EVENT, "event", "event")                                                                  \
    X(OK_QUEUE, "queue", "queue")                                                                  \
    X(OK_PIPE, "pipe", "pipe")                                                                     \
    X(OK_MQ, "mq", "mq")                                                                           \
    X(OK_SHM, "shm", "shm")                                                                        \
    X(OK_SOCKET, "socket", "sock")                                                                 \
    X(OK_PROCESS, "process", "child")                                                              \
    X(OK_SIGNAL, "signal", "signal")                                                               \
    /* ---- appended for `ipcscope exec` (the preload library), one block ---- */                  \
    X(OK_RWLOCK, "rwlock", "rwlock")                                                               \
    X(OK_BARRIER, "barrier", "barrier")                                                            \
    X(OK_SPINLOCK, "spinlock", "spin")                                                             \
    X(OK_THREAD, "thread", "thread")

enum obj_kind {
#define OK_ENUM(e, s, p) e,
    OBJ_KINDS(OK_ENUM)
#undef OK_ENUM
        OK__COUNT
};

#define EV_NO_TASK UINT32_MAX
#define EV_NO_OBJ UINT32_MAX
#define EV_TEXT_MAX 32
#define SOCK_NAME_PIECE (EV_TEXT_MAX - 1) /* sock_name: the bytes of a piece of a longer name */

/* The record. 64 bytes, one cache line. */
struct ev {
    uint64_t t;    /* ns, CLOCK_MONOTONIC */
    uint16_t kind; /* enum ev_kind */
    uint8_t src;   /* enum ev_src */
    uint8_t flags;
    uint32_t task; /* task slot (instr), or EV_NO_TASK (bpf/procfs: use tid) */
    int32_t pid;
    int32_t tid;
    uint32_t obj; /* object id, or EV_NO_OBJ */
    uint32_t seq; /* the object's own operation count (0-based), when obj is set */
    union {
        struct {
            int64_t val;
            int64_t item;
            int64_t aux;
            int64_t extra;
        };
        char text[EV_TEXT_MAX]; /* EV_NOTE, EV_PROC_EXEC: NUL-terminated unless full */
    };
};

_Static_assert(sizeof(struct ev) == 64, "struct ev must stay 64 bytes");

/* Flags */
#define EVF_TEXT 0x01 /* the payload is text, not val/item/aux/extra */
#define EVF_TSC 0x02  /* t is a raw TSC reading; the conductor converts it to ns on drain */

/* obj_create's extra: what kind of name the object has (exec) */
#define OBJF_SYSV 0x01 /* a System V object (semget, shmget, msgget): "sysv": true */

/* Names for the trace and the UI. Return NULL for an unknown value. */
const char *ev_kind_name(unsigned kind);
int ev_kind_from_name(const char *name); /* -1 when unknown */
const char *ev_src_name(unsigned src);
int ev_src_from_name(const char *name);
const char *task_state_name(unsigned st);
int task_state_from_name(const char *name);
const char *obj_kind_name(unsigned kind);
const char *obj_kind_prefix(unsigned kind);
int obj_kind_from_name(const char *name);

#endif
