/*
 * sclock.h - the scenario clock: every wall-clock wait of scenario code goes through it.
 *
 * Scenario time runs with the wall clock while the run runs free (run mode without a delay).
 * While the step gate is held (step mode, a paced run, pause) it stands still between steps
 * and moves only when the gate grants a timed wait: a sleep is then one step of its own,
 * ordered among the waiters by the scenario time it is due at, and a timeout that is part of
 * the lesson (epoll_wait giving up, e.wait(timeout) returning False) is a step too, granted
 * only when nothing due earlier is waiting. So no deadline fires while the screen waits for a
 * key, and a stepped run keeps the order of events a free run has, whatever the teacher's pace.
 *
 * Workers call the functions below; the conductor publishes the clock (sclock_publish) and
 * advances it when it grants (run_gate.c).
 */
#ifndef IPCSCOPE_SCLOCK_H
#define IPCSCOPE_SCLOCK_H

#include "instr.h"

#include <stdint.h>

/* Scenario time now: ns (ms) since the run started. */
uint64_t sclock_now(void);
uint64_t sclock_now_ms(void);

/* 1 while the gate is held: scenario time stands still between steps. */
int sclock_held(void);

/* Flags of sclock_sleep. */
enum {
    SCLOCK_REAL = 1, /* held: after the grant, also sleep ms on the wall clock (the sleep
                        itself is the lesson: a task shown asleep in nanosleep) */
};

/* Sleep ms of scenario time. Free: a real sleep. Held: a step of its own ("sleep ms"), due
 * ms after now; returns once granted. what (may be NULL) names the wait for the narration
 * (at most 31 bytes: "the accept delay"). 0, or -1 when the run is stopping. */
int sclock_sleep(long ms, unsigned flags, const char *what);

/* Kinds of sclock_wait deadlines. */
enum {
    SCLOCK_SAFETY = 0, /* a bound against hangs: expires on the wall clock in a free run only */
    SCLOCK_LESSON = 1, /* part of the lesson: held, its expiry is a step of the gate */
};

/* A deadline for a wait on a condition (a flag, an fd, a condition variable). */
struct sclock_wait {
    uint64_t due; /* scenario ns; UINT64_MAX: none */
    unsigned kind;
    uint16_t ev;       /* the event kind that narrates the expiry (e.g. EV_MUX_WAIT) */
    uint32_t obj;      /* and its object */
    int announced;     /* held: registered with the gate as a timed waiter */
    const char *what;  /* set after sclock_wait_begin (may stay NULL): what the expiry is, for
                          the "Next:" line of a lesson deadline ("the alarm fires", <= 31 bytes) */
    _Atomic int *word; /* set after sclock_wait_begin (may stay NULL): a futex word in the
                          region the waiter sleeps on; held, every step's grant wakes it, so
                          sclock_wait_slice lets it sleep SCLOCK_IDLE_SLICE_MS */
};

/* Start waiting: timeout_ms < 0 means no deadline. */
void sclock_wait_begin(struct sclock_wait *w, long timeout_ms, unsigned kind, uint16_t ev,
                       uint32_t obj);

/* How long (wall ms, <= slice_ms) to sleep in the kernel before looking again; 0 when the
 * deadline has passed. Held, a lesson deadline registers with the gate here. */
long sclock_wait_slice(struct sclock_wait *w, long slice_ms);

/* The same for a wait that its own wake-up ends (a futex wake, its fd): slice_ms only while
 * a deadline can pass. With none (no deadline, or a safety bound while the gate is held) it
 * sleeps SCLOCK_IDLE_SLICE_MS: what is left to notice is the run's stop, and that kills. A
 * waiter that looks every 50 ms is a task the screen now and then draws READY, and whose
 * context switches climb, while it should sleep through the teacher's pause. */
long sclock_idle_slice(struct sclock_wait *w, long slice_ms);
#define SCLOCK_IDLE_SLICE_MS 1000

/* A task about to sleep on word (in the region: scenario state) while it waits at the teacher's
 * pace (a wait drawn as gate time, instr_gate_mark) says so: every grant and every release
 * wakes it there, so it may sleep SCLOCK_IDLE_SLICE_MS at a time rather than look every
 * 50-100 ms for the gate's release. NULL once the wait is over. */
void sclock_sleeps_on(_Atomic int *word);

/* A task about to wait for another's progress (a flag, a condition: no object of the lesson)
 * says what for, as the screen shows it after BLOCK ("until the server listens", at most 31
 * bytes); NULL once the wait is over. ps shows such a task asleep in futex_do_wait,
 * which alone tells a class nothing. */
void sclock_waits_for(const char *what);

/* 1 once the deadline has passed (free: on the wall clock; held: its step was granted, or
 * another grant moved scenario time past it). */
int sclock_wait_expired(struct sclock_wait *w);

/* Done waiting (the condition came, or the deadline passed): withdraw from the gate. */
void sclock_wait_end(struct sclock_wait *w);

/* One slice (ms) of a wait for a condition another task or the kernel makes true (a flag,
 * a parent's exit): on the wall clock, never a step, so polling costs the teacher no keys.
 * Bound such a wait with an sclock_wait (SCLOCK_SAFETY) when the condition may never come.
 * Returns -1 when the run stops. */
int sclock_poll(long ms);

/* Wait until *flag is non-zero (the run stopping, or the bound w expiring, end it too; w may
 * be NULL: no bound). The task sleeps in the kernel (a futex on the flag) and is woken by
 * sclock_flag_set; a setter that only stores is still seen within a slice. Returns the
 * flag's value (0: it never came). */
int sclock_flag_wait(_Atomic int *flag, struct sclock_wait *w);

/* Set *flag to v and wake every task waiting for it (sclock_flag_wait). */
void sclock_flag_set(_Atomic int *flag, int v);

/* Sleep ms on the wall clock, outside scenario time. Only for observers that measure the
 * lesson (a sampler reading /proc) and never act in it; returns -1 when the run stops. */
int sclock_observer_sleep(long ms);

/* Work that is not the lesson's action (a CPU burst, filling a buffer, counting): while
 * inside, the gate lets the task through in a paced run and in step mode alike, so the work
 * runs at the machine's speed; the step that began it is the visible one. Nests. */
void sclock_unpaced_begin(void);
void sclock_unpaced_end(void);

/* ---- conductor side ---- */

/* Publish scenario time: base ns at wall ns (CLOCK_MONOTONIC), running with the wall clock
 * from there when free. */
void sclock_publish(struct instr_shared *sh, uint64_t base, uint64_t wall, int free);

/* Scenario time as published, at wall time wall (inline: the preload reads it too). */
static inline uint64_t sclock_read(const struct instr_shared *csh, uint64_t wall)
{
    struct instr_shared *sh = (struct instr_shared *)csh;
    for (;;) {
        uint32_t s1 = atomic_load_explicit(&sh->vc_seq, memory_order_acquire);
        if (s1 & 1)
            continue; /* the conductor is writing: a few ns */
        /* acquire loads keep the second look at vc_seq after them (a fence would do the
         * same, but TSan does not take fences: -Wtsan) */
        uint64_t base = atomic_load_explicit(&sh->vc_base, memory_order_acquire);
        uint64_t w0 = atomic_load_explicit(&sh->vc_wall, memory_order_acquire);
        uint32_t free_run = atomic_load_explicit(&sh->vc_free, memory_order_acquire);
        if (atomic_load_explicit(&sh->vc_seq, memory_order_relaxed) != s1)
            continue;
        return free_run && wall > w0 ? base + (wall - w0) : base;
    }
}

#endif
