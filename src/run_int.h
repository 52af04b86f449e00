/*
 * run_int.h - what the files of one run share (run.c, run_gate.c, run_sockets.c,
 * run_stop.c, run_replay.c, run_fold.c). Private to them: everyone else uses run.h.
 *
 * run.c owns the lifecycle, draining and polling; run_gate.c the step gate and its modes;
 * run_fold.c what exec's folded mutex pairs leave in the task slots;
 * run_sockets.c the sock_diag view of socket objects; run_stop.c the guard, stopping and
 * leak counting; run_replay.c the playback of a trace.
 */
#ifndef IPCSCOPE_RUN_INT_H
#define IPCSCOPE_RUN_INT_H

#include "run.h"

#include <signal.h>

#define POLL_NS (2 * 1000 * 1000ull)         /* while events flow */
#define REPLAY_TICK_NS (10 * 1000 * 1000ull) /* a replay's playback clock, while playing */
#define POLL_MAX_NS (20 * 1000 * 1000ull)    /* ... at most, however many tasks there are */
#define POLL_IDLE_NS (100 * 1000 * 1000ull)  /* when nothing happened for a while */
#define IDLE_AFTER 25                        /* quiet polls before slowing down */
#define PROC_NS (100 * 1000 * 1000ull)       /* /proc sampling while events flow */
#define PROC_IDLE_NS (500 * 1000 * 1000ull)  /* and when the run is quiet */
/* A step waits for the last one's consequences to settle (every task at the gate or asleep)
 * at most this long: long enough for a task preempted on a loaded machine to reach its next
 * gate (so the same choices give the same sequence), short enough for one that computes;
 * work that is meant to run on (sclock_unpaced_begin) is not waited for at all. */
#define SETTLE_TIMEOUT_NS (1000 * 1000 * 1000ull)
#define STEP_GIVE_UP_NS (2500 * 1000 * 1000ull)
#define SETTLE_MAX_NS (2000 * 1000 * 1000ull) /* a step that never settles: look anyway */
#define SOCK_SETTLE_NS (300 * 1000 * 1000ull) /* ... and sockets the kernel is still moving */
#define BATCH_MAX 65536                       /* initial size of the drain buffers */
#define PEND_MAX (8u << 20) /* records held between draining and applying (512 MiB) */
#define DRAIN_ROUNDS 4      /* batches one run_drain applies at the most */
#define STOP_DEADLINE_NS (5000ull * 1000 * 1000) /* killing and reaping, at the most */

/* The worker process group and the cgroup's kill file, for the emergency kill from a signal
 * handler (0 / -1: none). */
extern volatile sig_atomic_t run_worker_pgid, run_cg_kill_fd;

/* The ring of slot, from the conductor's own copy of the region's geometry. */
static inline struct ring *run_ring(const struct run *r, uint32_t slot)
{
    return (struct ring *)((char *)r->sh + r->reg.rings_off + (size_t)slot * r->reg.ring_stride);
}

/* ---- run.c ---- */

/* Check a record taken from slot's ring, whose writer may have written anything: clamp its
 * time into [lo, hi], its task to a slot that exists, its source to instr. 0 to keep it, -1
 * when it cannot be made sense of (an unknown kind, an object id beyond the table). */
int run_check_record(struct ev *e, uint32_t slot, uint32_t max_tasks, uint64_t lo, uint64_t hi);
/* Apply one record to the model and the trace. */
void run_apply(struct run *r, struct ev *e);
/* A look at /proc or the sockets, stamped when the look began, into the pending batch, so
 * the next run_drain applies it in time order with the records written before it (a look
 * applied ahead of them told a socket's CLOSE before the LAST_ACK that led there). */
void run_queue_reading(struct run *r, const struct ev *e);
/* Object id's name (id < INSTR_MAX_OBJS), copied from the region into buf (INSTR_NAME_MAX
 * bytes) with its NUL whatever a worker wrote. */
const char *run_obj_name(const struct run *r, uint32_t id, char *buf);
/* Copy what the rings hold into the pending buffer / apply everything pending. Both return
 * the records taken. */
size_t run_pump(struct run *r);
size_t run_drain(struct run *r);
/* Collect ended children (without waiting). 1 when none is left but the guard. */
int run_reap(struct run *r);
/* Poll fast while events flow, slowly when the run is quiet. */
void run_adapt_poll(struct run *r, size_t got);
json_t *run_params_json(const struct run *r);
void run_proc_timer_cb(struct loop *lp, int id, void *arg);
void run_poll_timer_cb(struct loop *lp, int id, void *arg);
/* Note the conductor's own times (/proc/self) at the start (at_end 0) or at the stop. */
void run_self_mark(struct run *r, int at_end);

/* ---- run_gate.c ---- */

void run_serve_gate(struct run *r);
void run_release_all(struct run *r);
void run_arm_pace(struct run *r);
void run_pace_timer_cb(struct loop *lp, int id, void *arg);

/* ---- run_sockets.c ---- */

/* TCP states, the kernel's numbering */
enum {
    NET_FIN_WAIT1_STATE = 4,
    NET_FIN_WAIT2_STATE = 5,
    NET_TIME_WAIT_STATE = 6,
    NET_CLOSE_STATE = 7,
    NET_CLOSING_STATE = 11,
};

/* Read the kernel's socket tables and publish every socket object's entry that changed. */
void run_sample_sockets(struct run *r);

/* How run_sample_sockets dumps a table (sockdiag_dump_proto; a test puts a dump there that
 * misses entries, as a dump racing the kernel does). */
struct sockdiag_entry;
extern int (*run_sockets_dump)(int proto, void (*cb)(const struct sockdiag_entry *e, void *arg),
                               void *arg);
/* The Unix table's dump (sockdiag_dump_unix; tests replace it). */
extern int (*run_sockets_dump_unix)(void (*cb)(const struct sockdiag_entry *e, void *arg),
                                    void *arg);

/* The state of a socket without a file on ports lport-rport (a timewait socket: TIME_WAIT,
 * or its FIN_WAIT2 substate), or -1 when the table has none. */
int run_socket_lingering_state(uint16_t lport, uint16_t rport);

/* ---- run_stop.c ---- */

/* Make the cgroup (where permitted) and start the guard, which leads the workers' process
 * group. 0, or -1 with a message in err (no process could be forked). */
int run_guard_start(struct run *r, char *err, size_t n);
/* 1 when the conductor has no child left but the guard. */
int run_only_guard_left(const struct run *r);
/* In the conductor, right after it forked a worker / in that worker, first thing. */
void run_adopt_worker(struct run *r, pid_t pid);
void run_worker_joins(struct run *r);
/* As root, mount /dev/mqueue when nothing is mounted there (else leaked queues are
 * invisible), as scripts/lib.sh mounts tracefs. */
void run_mount_mqueue(void);
json_t *run_sources_json(const struct run *r);
json_t *run_leaks_json(const struct run *r);
/* The recording stopped: rc 1 at its limit, -1 a write failed. Tells the user (status line;
 * stderr when headless) once per kind. */
void run_trace_stopped(struct run *r, const char *why, int rc);

/* ---- run_fold.c ---- */

/* Look at every task's fold (an exec run's, now and then: it returns at once between two
 * looks): a mutex, spin lock or semaphore token held inside one past its tick is shown held,
 * and left for its thread to record. */
void run_fold_look(struct run *r);
/* The task in slot is being reaped: record what its fold held (its thread cannot). */
void run_fold_leftover(struct run *r, uint32_t slot);

/* ---- run_condvar.c ---- */

/* Look at the tasks blocked in cond_wait (a scenario's, now and then: it returns at once
 * between two looks): one that sleeps on the mutex now was woken, and is shown waiting for
 * the mutex (a cond_relock reading). */
void run_condvar_look(struct run *r);

/* ---- run_replay.c ---- */

int run_replay_start(struct run *r, struct loop *lp, char *err, size_t n);
void run_replay_to(struct run *r, size_t pos);
void run_replay_poll(struct run *r);
void run_replay_mode(struct run *r);

#endif
