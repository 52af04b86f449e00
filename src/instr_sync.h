/*
 * instr_sync.h - synchronisation helpers for the chapter 7-10 scenarios: an instrumented
 * Event, teams of workers run as processes or as threads, and deadlock confirmation.
 *
 * The Event is multiprocessing.Event / threading.Event made of a flag, a process-shared
 * mutex and a condition variable in shared memory; it emits event_wait / event_set /
 * event_clear (and unblock when a waiter is released). A team runs the same body as n
 * processes, or as n threads of one process that joins them, so a lesson can show both.
 * The deadlock part runs in the conductor: it watches the model's wait-for graph, calls a
 * deadlock only when the same cycle lasts and /proc shows its tasks asleep in the kernel, and
 * then either ends a headless run or freezes the lesson on screen until the teacher acts.
 */
#ifndef IPCSCOPE_INSTR_SYNC_H
#define IPCSCOPE_INSTR_SYNC_H

#include "instr.h"
#include "model.h"
#include "scenario.h"
#include "waitfor.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Event ---- */

struct sync_event {
    struct instr_obj *obj; /* kind event; its value is the flag */
    pthread_mutex_t mu;    /* process-shared, robust */
    pthread_cond_t cv;     /* process-shared, on CLOCK_MONOTONIC */
    int flag;
    int waiting;  /* tasks inside wait() now */
    uint64_t gen; /* sets so far: a waiter released by a set returns 1 even if cleared at once */
};

/* Make an Event named name in shared memory (before forking). NULL when out of space. */
struct sync_event *sync_event_new(const char *name);

/* e.wait([timeout]): gate, then return at once when the flag is set, else block (event_wait
 * with aux=1) until a set, the timeout (timeout_ms > 0) or the run stopping. Emits unblock
 * with item 1 (released by a set) or 0 (timed out). Returns 1 when set, 0 on timeout, -1
 * when the run is stopping. */
int sync_event_wait(struct sync_event *e, long timeout_ms);

/* e.set(): gate, set the flag and wake every waiter together (event_set, item = waiters). */
void sync_event_set(struct sync_event *e);

/* e.clear(): gate, clear the flag (event_clear). */
void sync_event_clear(struct sync_event *e);

/* e.is_set(): gate, read the flag, note what was read. */
int sync_event_is_set(struct sync_event *e);

/* ---- teams: the same body as processes or as threads ---- */

struct sync_team {
    const char *main_name; /* the process that starts and joins the threads */
    const char *prefix;    /* worker k is named prefix followed by k + 1 */
    long n;
    int threads;            /* 0: n processes; 1: n threads of one process */
    int (*body)(long k);    /* the worker's work; its return value is its exit status */
    struct instr_obj *join; /* threads: the object join() blocks on ("join") */
};

/* Start the team (conductor side, from setup). t must live in shared memory or static
 * storage. 0, or -errno with a message in err. */
int sync_team_start(struct sync_team *t, char *err, size_t n);

/* t.join() of a thread task with kernel id tid: gate, block on join (aux = tid), join,
 * unblock, and the thread's task_reaped (extra REAP_JOIN, aux = the joiner's tid): joined,
 * it is gone. join's value counts the threads not joined yet. */
void sync_join(struct instr_obj *join, pthread_t th, int32_t tid);

/* Before a burst of events: wait (up to ~0.5 s) while the calling task's ring is more than
 * half full, so that the conductor drains it instead of records being dropped. */
void sync_ring_room(void);

/* Work that must start at the same moment in every task of a group (CPU workers that
 * compete for a CPU), whatever the teacher's pace: count the caller into *arrived; while the
 * gate is held, wait until it reaches want. The wait is the stepping's, not the lesson's: it
 * is recorded as gate time, and the task sleeps in a futex on *arrived (woken by each
 * arrival), as it does at the step gate. Returns at once in a free run. */
void sync_start_together(_Atomic int *arrived, int want);

/* ---- counting who is inside (shared between tasks) ---- */

/* Add d to *count and raise the high-water mark *max to the new count when above it.
 * Returns the new count. */
long sync_count_max(_Atomic long *count, _Atomic long *max, long d);

/* Lock instrumented mutex mu, then count the caller among its holders (*held, whose
 * high-water mark over every lock is *max_held: above 1, mutual exclusion failed). */
void sync_lock_counted(struct instr_obj *mu, _Atomic long *held, _Atomic long *max_held);

/* Leave the holders (*held) of mu, then unlock it. */
void sync_unlock_counted(struct instr_obj *mu, _Atomic long *held);

/* ---- deadlocks (conductor side) ---- */

struct sync_deadlock {
    struct waitfor_cycle cycle;              /* the confirmed cycle; n == 0 while there is none */
    struct waitfor_cycle seen;               /* the candidate being watched */
    uint64_t seen_ns;                        /* when the candidate first appeared */
    uint64_t found_ms;                       /* ms into the run when it was confirmed */
    char names[WAITFOR_MAX][MODEL_NAME_MAX]; /* of the cycle's tasks, ... */
    char objs[WAITFOR_MAX][MODEL_NAME_MAX];  /* the locks each waits on, ... */
    char held[WAITFOR_MAX][MODEL_NAME_MAX];  /* and the lock each holds (the previous one's) */
    int32_t pid[WAITFOR_MAX], tid[WAITFOR_MAX];
    char state[WAITFOR_MAX];                 /* /proc state letter of each at detection */
    char wchan[WAITFOR_MAX][MODEL_NAME_MAX]; /* and the kernel function it sleeps in */
    int thread;                              /* the cycle's tasks are threads of one process */
    char desc[512];                          /* "t1 -(B)-> t2 -(A)-> t1" */
    char killed[MODEL_NAME_MAX];             /* the task the teacher killed to break it, or "" */
};

/* Watch m for a deadlock. Returns 1 (and keeps returning 1) once the same cycle has lasted
 * confirm_ms and /proc shows every task in it asleep; it then emits EV_DEADLOCK (val: the
 * tasks in the cycle) from the conductor, which sync_deadlock_narrate explains. */
int sync_deadlock_poll(struct sync_deadlock *d, const struct model *m, long confirm_ms);

/* The scenario's finished hook for a lesson that can deadlock. Headless (ctx->interactive 0):
 * 1 once a deadlock is confirmed, so the run ends with the cycle in the snapshot (the runtime
 * then cleans up). With a teacher at the keys: always 0 while the workers live, so the tasks
 * stay blocked and the cycle stays drawn; ctx->pin holds "Deadlock: ..." and what the keys
 * do (keys_en / keys_zh: a format with one %s, the task sync_deadlock_kill would kill) until
 * the teacher breaks the cycle. */
int sync_deadlock_finished(struct sync_deadlock *d, struct scn_ctx *ctx, const struct model *m,
                           long confirm_ms, const char *keys_en, const char *keys_zh);

/* The teacher's "kill one task" action: SIGKILL the first task of the confirmed cycle (a
 * thread takes its whole process with it: a thread cannot be killed alone). The lock it held
 * is robust, so the kernel hands it to its next waiter (EOWNERDEAD) and the cycle is broken.
 * Unpins the deadlock sentence. 0, -EAGAIN when there is no deadlock, or -errno; a message
 * for the teacher in msg. */
int sync_deadlock_kill(struct sync_deadlock *d, struct scn_ctx *ctx, char *msg, size_t n);

/* The snapshot's "deadlock" value: {"detected", "cycle": [names], "edges": [{task, holds,
 * waits_on, held_by, state, wchan}], "description", "found_ms", "killed"}. */
json_t *sync_deadlock_json(const struct sync_deadlock *d);

/* Narrate the conductor's deadlock event e (1), or 0 when e is something else. */
int sync_deadlock_narrate(const struct sync_deadlock *d, const struct scn_ctx *ctx,
                          const struct ev *e, int lang, char *buf, size_t n);

/* 1 when kernel thread tid of process pid is asleep (/proc state S or D). */
int sync_tid_asleep(int32_t pid, int32_t tid);

#endif
