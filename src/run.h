/*
 * run.h - one running scenario, seen from the conductor.
 *
 * A run owns the shared region, the workers, the model and the sources. It spawns the
 * workers through the scenario's setup, drains the rings into the model (and the trace),
 * samples /proc, reaps children, serves the step gate (run / step / pause, "you are the
 * scheduler"), and on stop kills and reaps every worker and checks nothing leaked. Both the
 * headless mode and the TUI drive a run through this API; neither touches the sources.
 */
#ifndef IPCSCOPE_RUN_H
#define IPCSCOPE_RUN_H

#include "cgroup.h"
#include "guard.h"
#include "instr.h"
#include "loop.h"
#include "model.h"
#include "scenario.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

enum run_mode { RUN_RUN = 0, RUN_STEP = 1, RUN_PAUSED = 2 };

struct run_opts {
    int headless;
    double duration_s;     /* 0: until the scenario ends */
    int step;              /* start in step mode */
    const char *record;    /* trace file path, or NULL */
    uint64_t record_limit; /* the most bytes the trace may take (0: no limit) */
    int bpf_later;         /* a gated run (step, or a delay) loads the probes only when
                              run_load_bpf is called (the TUI: after its first frame) */
    int no_bpf;
    int lang;
    unsigned delay_ms;     /* run mode: conductor-paced delay per action (0: free running) */
    const char *script;    /* headless: commands for the step driver (script.h), "-": stdin */
    struct replay *replay; /* play this loaded trace back instead of running workers; the
                              caller keeps it (and frees it after the run is closed) */
    int predict;           /* start in predict mode (lesson_run.h) */
};

struct bpf_source;
struct replay;
struct trace_writer;

/* The shared region's geometry as the conductor made it. The region holds the same numbers,
 * but a worker (or a program under `ipcscope exec`) can overwrite them: the conductor uses
 * only these copies. */
struct run_region {
    size_t size, rings_off, ring_stride;
    uint32_t max_tasks, ring_cap;
};
struct lesson_run;

struct run {
    const struct scenario *sc;
    struct scn_ctx ctx;
    struct run_opts opts;
    struct instr_shared *sh;
    struct model model;
    struct loop *loop;
    int poll_timer, proc_timer, pace_timer;
    unsigned quiet_polls;  /* polls in a row that found nothing */
    uint64_t poll_fast_ns; /* the poll period while events flow (grows with the tasks) */

    enum run_mode mode;
    unsigned delay_ms;
    int step_pending;            /* a step was asked for and not yet granted */
    int step_pick;               /* slot the teacher picked, or -1: the oldest waiter */
    uint64_t step_asked_ns;      /* when, for the settle timeout */
    uint64_t steps;              /* actions granted */
    int settle_pending;          /* a step was granted: refresh /proc once it has settled */
    int sock_dirty;              /* a socket call was applied: read the kernel's table again */
    uint64_t look_end_ns;        /* when the last look at the table ended (run_drain.c) */
    uint64_t self0[3], self1[3]; /* the conductor's run, run-queue ns and switches at start /
                                    at stop (/proc/self) */
    struct ev sock_last[INSTR_MAX_OBJS]; /* the sock_info last published per socket object */
    uint32_t sock_ino[INSTR_MAX_OBJS];   /* the inode of its kernel entry (0: none, timewait) */
    uint64_t settle_since;               /* when the conductor started waiting for that */
    /* the scenario clock (sclock.h): vc_base ns of scenario time at wall vc_wall, running
     * with the wall clock from there when vc_free; published into the region */
    uint64_t vc_base, vc_wall;
    int vc_free;
    char status[160]; /* the last thing the runtime wants the user to read */

    uint64_t t_start_ns, t_end_ns;
    int started, finished, stopped;
    int leaked_procs, leaked_ipc;
    int check_rc;
    char check_why[256];

    struct trace_writer *trace;
    int trace_rc;     /* 1: the recording stopped at its limit; -1: a write failed */
    struct ev *batch; /* records being applied */
    size_t batch_cap;
    struct ev *sort_tmp; /* room to put a batch in time order (ev_sort) */
    size_t sort_tmp_cap;
    struct ev *pend; /* records taken from the rings, not yet applied */
    size_t pend_cap, npend;
    uint64_t pend_lost; /* kernel records refused because pend was at its limit */

    /* private to the conductor: nothing here is read back from shared memory */
    struct run_region reg;
    struct guard guard; /* kills the workers if the conductor dies without stopping them */
    pid_t pgid;         /* the workers' process group: the guard leads it (0: none) */
    struct cg cg;       /* the run's cgroup, where the system permits one */
    int cg_missed;      /* a worker could not be put in it: /proc is searched too */
    int proc_ours;      /* /proc shows this PID namespace (else no pid from it is used) */
    int as_user;        /* under sudo: workers run as the invoking user ... */
    uid_t user_uid;     /* ... this one */
    gid_t user_gid;
    uint64_t t_open_ns;      /* when the region was made: no record is older */
    uint64_t fold_look_ns;   /* run_fold.c: its last look at the task slots */
    uint64_t relock_look_ns; /* run_condvar.c: its last look at cond_wait's waiters */
    uint64_t bad_records;    /* records a worker wrote that made no sense (dropped) */
    int procfs_on;
    struct bpf_source *bpf;
    int bpf_pending; /* opts.bpf_later: the probes wait for run_load_bpf */
    char bpf_reason[128];
    char procfs_reason[96]; /* why /proc is off, "" when on */
    /* a replay: no workers, no region (sh is NULL); the model is the trace played so far */
    struct replay *replay;            /* borrowed from opts */
    uint64_t replay_now;              /* trace time shown (ns since the recorded start) */
    uint64_t play_wall0, play_trace0; /* run mode: the wall clock and trace time at (re)start */
    int recorded_bpf;                 /* the recorded run had the probes (procfs_on: /proc) */
    /* the scenario's code and predict mode (lesson_run.h), or NULL */
    struct lesson_run *lesson;
};

/* Prepare a run of sc with params (NULL: defaults). Makes the shared region; spawns nothing.
 * 0, or -1 with a message in err. */
int run_open(struct run **out, const struct scenario *sc, const long *params,
             const struct run_opts *opts, char *err, size_t n);

/* Prepare the playback of opts->replay (from replay_load), from its start: its scenario and
 * parameters come from the header. 0, or -1 with a message in err (unknown scenario). */
int run_open_replay(struct run **out, const struct run_opts *opts, char *err, size_t n);

/* Start: open the sources, run the scenario's setup (which spawns the workers), and register
 * the run's descriptors and timers on lp. 0, or -1 with a message in err. */
int run_start(struct run *r, struct loop *lp, char *err, size_t n);

/* Drain every ring into the model and the trace, reap children, serve the gate. Called by
 * the run's own timer; callable any time (the UI calls it before drawing). */
void run_poll(struct run *r);

/* Look again now: drain, reap, and read /proc and the sockets for every task (not the
 * sampler's share of them). What a snapshot taken right after shows is the kernel's now. */
void run_refresh(struct run *r);

/* 1 while a granted step has not settled yet (its consequences still moving). */
static inline int run_step_busy(const struct run *r)
{
    return r->step_pending || r->settle_pending;
}

/* Load the probes of a run started with opts.bpf_later (no-op otherwise), and follow every
 * process that registered meanwhile. Blocks while the kernel verifies them. */
void run_load_bpf(struct run *r);

/* 1 once the scenario has ended (all workers reaped, the scenario says so, or --duration). */
int run_done(const struct run *r);

/* Mode changes. RUN with delay_ms 0 lets workers run free; with a delay the conductor lets
 * one action through per delay (the same path as a step). */
void run_set_mode(struct run *r, enum run_mode mode);
void run_set_delay(struct run *r, unsigned delay_ms);

/* A replay only: go back one step (to before the last action shown). 0, or -1 (a live run,
 * or already at the start). */
int run_back(struct run *r);

/* A replay only: move steps forward (< 0: back); LONG_MAX / LONG_MIN go to the end / the
 * start. 0, or -1 (a live run, or nowhere to go). */
int run_replay_jump(struct run *r, long steps);

/* The time the view stands at: now for a live run, its end once stopped, the playback's
 * position in a replay. Same clock as the model's event times. */
uint64_t run_now_ns(const struct run *r);

/* Replay position: records shown and total (0/0 for a live run). */
void run_replay_position(const struct run *r, size_t *shown, size_t *total);

/* Ask for one action. slot: the task the teacher picked, or -1 for the oldest waiter. The
 * grant happens at the next poll once the tasks have settled. */
void run_step(struct run *r, int slot);

/* The task slots in use: the region's count, bounded by the number of slots the conductor
 * made (the count itself is in shared memory, where a worker can write anything). 0 for a
 * replay. */
uint32_t run_ntasks(const struct run *r);

/* The shared header of slot, or NULL when slot is out of range (or in a replay). Its fields
 * are a worker's to write: read them as untrusted values. */
struct instr_task *run_slot(const struct run *r, uint32_t slot);

/* The name of slot, copied into buf (INSTR_NAME_MAX bytes) and NUL-terminated whatever the
 * region holds; "" for a slot out of range. Returns buf. */
const char *run_slot_name(const struct run *r, uint32_t slot, char *buf);

/* One task a step could let through: waiting at the gate, or blocked with a lesson deadline
 * (timer) that a step would let expire. */
struct run_waiter {
    int slot;
    int timer;       /* 1: a deadline (the wait times out), 0: an action at the gate */
    uint64_t due;    /* scenario ns it is due at */
    uint64_t ticket; /* arrival order */
    uint16_t kind;   /* the action (enum ev_kind; EV_SLEEP for a sleep) */
    uint32_t obj;
    int64_t val; /* a sleep's ms */
    char what[32];
};

/* The label the task in slot gave the gate it came to last (what it will do, for a step with
 * no call of its own: "set its x to 11"; or what it waits for at the teacher's pace), copied
 * into buf (n bytes, NUL-terminated). Returns 1 when that gate was for kind and labelled, 0
 * otherwise (buf ""; also in a replay, which records no labels). Ask only about a task the
 * model shows at the gate. */
int run_gate_label(const struct run *r, uint32_t slot, unsigned kind, char *buf, size_t n);
/* What the task in slot says it waits for while asleep on no object of the lesson ("until the
 * server listens": sclock_waits_for), into buf; 1 when it says so, else 0 (and "").
 * A live run only (the label is not in the trace). */
int run_waits_for(const struct run *r, uint32_t slot, char *buf, size_t n);

/* The waiters, in the order steps would take them (due first, then oldest, then slot),
 * into out (up to n). Returns the count (may exceed n). */
size_t run_waiters(const struct run *r, struct run_waiter *out, size_t n);

/* Slots of the same waiters, in the same order. Returns the count (may exceed n). */
size_t run_gate_waiters(const struct run *r, int *slots, size_t n);

/* 1 when every live task is at the gate, asleep in the kernel or done (nothing moves). */
int run_settled(const struct run *r);

/* Live tasks doing unpaced work right now (sclock_unpaced_begin): not at the gate, yet they
 * will come back to it. */
int run_unpaced_tasks(const struct run *r);

/* Scenario time now (ns since the start; sclock.h); a replay's position in a replay. */
uint64_t run_scenario_ns(const struct run *r);

/* Run the scenario's action bound to key. 0, -ENOENT (no such action) or the action's error;
 * a message for the user goes to r->status. */
int run_action(struct run *r, int key);

/* Stop: kill and reap every worker, drain the last events, run the checks, count leaks.
 * Idempotent. */
void run_stop(struct run *r);

/* Restart the same scenario with the same parameters (the UI's R). 0 or -1 with err. */
int run_restart(struct run **rp, char *err, size_t n);

/* The final (or current) snapshot, per the contract in DESIGN.md. Caller owns the result. */
json_t *run_snapshot(struct run *r);
/* How the run's records were stamped, as the trace's end line says it (`clock`): the kernel's
 * clocksource, the clock and why, and the drift found by refining the rate once more. */
json_t *run_clock_json(struct run *r);

/* Milliseconds since the run started (or its total once stopped). */
uint64_t run_elapsed_ms(const struct run *r);

/* Release everything (stops first if needed). Accepts NULL. */
void run_close(struct run *r);

/* Emergency cleanup from a fatal signal handler: kill the worker group. Async-signal-safe. */
void run_emergency_kill(void);

#endif
