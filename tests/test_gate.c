/*
 * test_gate.c - the step gate, through the real runtime (run_open/run_start on prodcons).
 *
 * Workers are real forked processes. Between steps the test waits until every worker is
 * either waiting at the gate, asleep in a real blocking call or gone, then drains the rings
 * and counts the actions that appeared: exactly one per step, by the task that was named (or
 * the oldest waiter), none while paused, and the same sequence for the same choices.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "run.h"
#include "scenario.h"
#include "sources/procfs.h"

#define SETTLE_LIMIT_NS (10ull * 1000 * 1000 * 1000)

struct action {
    char task[INSTR_NAME_MAX];
    uint32_t slot;
    uint16_t kind;
    uint32_t obj;
};

struct harness {
    struct loop *lp;
    struct run *r;
    size_t hist_seen; /* history events already counted */
};

static void sleep_us(unsigned us)
{
    struct timespec ts = {0, (long)us * 1000};
    nanosleep(&ts, NULL);
}

/* The event kinds with which a gated action begins (one per action). */
static int starts_action(uint16_t kind)
{
    switch (kind) {
    case EV_SEM_WAIT:
    case EV_SEM_POST:
    case EV_MUTEX_WAIT:
    case EV_MUTEX_RELEASE:
    case EV_QUEUE_PUT:
    case EV_QUEUE_GET:
    case EV_COND_WAIT:
    case EV_COND_SIGNAL:
    case EV_COND_BROADCAST:
        return 1;
    default:
        return 0;
    }
}

static void open_run(struct harness *h, const char *params[], enum run_mode mode)
{
    const struct scenario *sc = scenario_find("prodcons");
    cr_assert_not_null(sc, "prodcons is not in the scenario table");
    long values[SCN_MAX_PARAMS];
    char err[512];
    scenario_defaults(sc, values);
    for (size_t i = 0; params && params[i]; i++)
        cr_assert_eq(scenario_parse_param(sc, params[i], values, err, sizeof(err)), 0, "%s", err);

    struct run_opts opts = {.headless = 1, .step = mode != RUN_RUN, .no_bpf = 1};
    h->lp = loop_new();
    cr_assert_not_null(h->lp);
    cr_assert_eq(run_open(&h->r, sc, values, &opts, err, sizeof(err)), 0, "run_open: %s", err);
    if (mode == RUN_PAUSED)
        run_set_mode(h->r, RUN_PAUSED);
    cr_assert_eq(run_start(h->r, h->lp, err, sizeof(err)), 0, "run_start: %s", err);
    if (mode == RUN_PAUSED)
        run_set_mode(h->r, RUN_PAUSED); /* run_start applies opts.step; pause on top */
    h->hist_seen = 0;
}

static void close_run(struct harness *h)
{
    run_close(h->r);
    loop_free(h->lp);
    h->r = NULL;
    h->lp = NULL;
}

/* Worker slots that are still running toward the gate (not waiting, not asleep, not gone). */
static int moving_workers(struct run *r)
{
    struct instr_shared *sh = r->sh;
    uint32_t n = atomic_load(&sh->ntasks);
    int moving = 0;
    for (uint32_t s = 1; s < n && s < sh->max_tasks; s++) {
        struct instr_task *t = &sh->tasks[s];
        if (atomic_load(&t->exited))
            continue;
        if (!atomic_load(&t->used)) {
            moving++; /* reserved by its creator before fork, not begun yet (under load: long) */
            continue;
        }
        uint32_t g = atomic_load(&t->gate);
        if (g == GS_WAITING)
            continue;
        if (g == GS_GRANTED) {
            moving++;
            continue;
        }
        struct procfs_stat st;
        if (procfs_read_stat(t->pid, t->tid, &st) < 0 || st.state == 'Z' || st.state == 'X')
            continue;
        if (st.state == 'R' || atomic_load(&t->blocked_obj) == 0)
            moving++; /* running, or asleep somewhere that is not an instrumented wait */
    }
    return moving;
}

/* Wait until nothing moves (seen still several times in a row), then drain. */
static void settle(struct harness *h, int expected_workers)
{
    uint64_t end = ts_now_ns() + SETTLE_LIMIT_NS;
    int still = 0;
    while (still < 5) {
        cr_assert_lt(ts_now_ns(), end, "workers did not settle within 10 s");
        uint32_t started = atomic_load(&h->r->sh->ntasks);
        if ((int)started - 1 < expected_workers || moving_workers(h->r))
            still = 0;
        else
            still++;
        sleep_us(2000);
    }
    run_poll(h->r);
}

/* Actions that appeared in the model since the last call. */
static size_t new_actions(struct harness *h, struct action *out, size_t max)
{
    struct model *m = &h->r->model;
    cr_assert_lt(m->total, m->hist_cap, "history wrapped: make the test shorter");
    size_t n = 0;
    for (; h->hist_seen < m->hist_len; h->hist_seen++) {
        const struct ev *e = model_hist(m, h->hist_seen);
        if (e->src != EV_SRC_INSTR || !starts_action(e->kind))
            continue;
        if (n < max) {
            out[n].slot = e->task;
            out[n].kind = e->kind;
            out[n].obj = e->obj;
            snprintf(out[n].task, sizeof(out[n].task), "%s", h->r->sh->tasks[e->task].name);
        }
        n++;
    }
    return n;
}

/* Ask for one step (slot -1: the oldest waiter) and wait for the grant. */
static void step_once(struct harness *h, int slot)
{
    uint64_t before = h->r->steps;
    run_step(h->r, slot);
    uint64_t end = ts_now_ns() + SETTLE_LIMIT_NS;
    while (h->r->steps == before) {
        cr_assert_lt(ts_now_ns(), end, "the step was not granted within 10 s (%s)", h->r->status);
        run_poll(h->r);
        sleep_us(1000);
    }
    cr_assert_eq(h->r->steps, before + 1, "one request granted more than one action");
}

static int workers_of(const char *params[])
{
    int p = 2, c = 2;
    for (size_t i = 0; params && params[i]; i++) {
        sscanf(params[i], "producers=%d", &p);
        sscanf(params[i], "consumers=%d", &c);
    }
    return p + c;
}

/* Step n times with the given picker; record the actions (one per step, checked). */
static size_t stepped_actions(const char *params[], size_t n, int (*pick)(struct harness *, size_t),
                              struct action *seq)
{
    struct harness h;
    int workers = workers_of(params);
    open_run(&h, params, RUN_STEP);
    settle(&h, workers);
    struct action got[16];
    cr_assert_eq(new_actions(&h, got, 16), 0, "an action passed the gate before any step");

    size_t done = 0;
    for (; done < n; done++) {
        int waiters[256];
        size_t nw = run_gate_waiters(h.r, waiters, 256);
        if (nw == 0)
            break; /* the run is over */
        int want = pick ? pick(&h, done) : -1;
        int expect = want >= 0 ? want : waiters[0];
        step_once(&h, want);
        settle(&h, workers);
        size_t k = new_actions(&h, got, 16);
        cr_assert_eq(k, 1, "step %zu let %zu actions through", done + 1, k);
        cr_assert_eq((int)got[0].slot, expect, "step %zu: slot %u moved, expected slot %d (%s)",
                     done + 1, got[0].slot, expect, h.r->sh->tasks[expect].name);
        seq[done] = got[0];
    }
    close_run(&h);
    return done;
}

Test(gate, step_mode_lets_exactly_one_action_through_per_step, .timeout = 120)
{
    struct action seq[60];
    size_t n = stepped_actions(NULL, 60, NULL, seq);
    cr_expect_eq(n, 60, "the run ended after %zu steps", n);
}

/* Pick the newest waiter (the one the default policy would take last). */
static int pick_newest(struct harness *h, size_t i)
{
    (void)i;
    int waiters[256];
    size_t nw = run_gate_waiters(h->r, waiters, 256);
    cr_assert_gt(nw, 0);
    return waiters[(nw < 256 ? nw : 256) - 1];
}

Test(gate, naming_a_task_moves_that_task, .timeout = 120)
{
    struct action seq[50];
    size_t n = stepped_actions(NULL, 50, pick_newest, seq);
    cr_expect_eq(n, 50);
}

/* Always pick consumers when one waits: they must block on full, and say so. */
static int pick_a_consumer(struct harness *h, size_t i)
{
    (void)i;
    int waiters[256];
    size_t nw = run_gate_waiters(h->r, waiters, 256);
    for (size_t k = 0; k < nw && k < 256; k++)
        if (strncmp(h->r->sh->tasks[waiters[k]].name, "consumer", 8) == 0)
            return waiters[k];
    return waiters[0];
}

Test(gate, consumers_stepped_first_block_on_full, .timeout = 120)
{
    struct action seq[2];
    const char *params[] = {"producers=1", "consumers=2", NULL};
    size_t n = stepped_actions(params, 2, pick_a_consumer, seq);
    cr_assert_eq(n, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_expect_eq(strncmp(seq[i].task, "consumer", 8), 0);
        cr_expect_eq(seq[i].kind, EV_SEM_WAIT);
    }
}

Test(gate, pause_lets_nothing_through_and_run_releases_everyone, .timeout = 120)
{
    struct harness h;
    const char *params[] = {"items=200", NULL};
    open_run(&h, params, RUN_PAUSED);
    settle(&h, 4);
    uint64_t end = ts_now_ns() + 300ull * 1000 * 1000;
    while (ts_now_ns() < end) {
        run_poll(h.r);
        sleep_us(5000);
    }
    struct action got[4];
    cr_expect_eq(new_actions(&h, got, 4), 0, "an action passed a paused gate");
    cr_expect_eq(h.r->steps, 0);
    cr_expect_eq(run_gate_waiters(h.r, NULL, 0), 4, "all four workers wait at the gate");

    run_set_mode(h.r, RUN_RUN);
    end = ts_now_ns() + 60ull * 1000 * 1000 * 1000;
    while (!run_done(h.r)) {
        cr_assert_lt(ts_now_ns(), end, "the run did not finish after leaving pause");
        run_poll(h.r);
        sleep_us(2000);
    }
    run_stop(h.r);
    cr_expect_eq(h.r->check_rc, 0, "prodcons check: %s", h.r->check_why);
    cr_expect_eq(h.r->leaked_procs, 0);
    close_run(&h);
}

static void expect_same(const struct action *a, size_t na, const struct action *b, size_t nb,
                        const char *what)
{
    cr_assert_eq(na, nb, "%s: %zu actions vs %zu", what, na, nb);
    for (size_t i = 0; i < na; i++) {
        cr_assert(strcmp(a[i].task, b[i].task) == 0 && a[i].kind == b[i].kind &&
                      a[i].obj == b[i].obj,
                  "%s: action %zu differs: %s %s(obj %u) vs %s %s(obj %u)", what, i, a[i].task,
                  ev_kind_name(a[i].kind), a[i].obj, b[i].task, ev_kind_name(b[i].kind), b[i].obj);
    }
}

Test(gate, same_params_and_choices_give_the_same_sequence, .timeout = 300)
{
    enum { N = 40, RUNS = 4 };
    const char *params[] = {"producers=3", "consumers=2", "capacity=2", NULL};
    struct action first[N], again[N];
    size_t n1 = stepped_actions(params, N, NULL, first);
    cr_assert_eq(n1, N);
    for (int run = 1; run < RUNS; run++) {
        size_t n2 = stepped_actions(params, N, NULL, again);
        char what[32];
        snprintf(what, sizeof(what), "run %d vs run 1", run + 1);
        expect_same(first, n1, again, n2, what);
    }
}

/* Picking by name: "producer-2, then consumer-1, ..." must replay identically too. */
static int pick_by_turn(struct harness *h, size_t i)
{
    int waiters[256];
    size_t nw = run_gate_waiters(h->r, waiters, 256);
    cr_assert_gt(nw, 0);
    /* a fixed choice by task name, independent of slot numbering */
    const char *order[] = {"producer-2", "consumer-1", "producer-1", "consumer-2"};
    const char *want = order[i % 4];
    for (size_t k = 0; k < nw && k < 256; k++)
        if (strcmp(h->r->sh->tasks[waiters[k]].name, want) == 0)
            return waiters[k];
    /* not at the gate: take the alphabetically first waiter, again slot-independent */
    int best = waiters[0];
    for (size_t k = 1; k < nw && k < 256; k++)
        if (strcmp(h->r->sh->tasks[waiters[k]].name, h->r->sh->tasks[best].name) < 0)
            best = waiters[k];
    return best;
}

Test(gate, same_named_choices_give_the_same_sequence, .timeout = 300)
{
    enum { N = 40 };
    struct action first[N], again[N];
    size_t n1 = stepped_actions(NULL, N, pick_by_turn, first);
    size_t n2 = stepped_actions(NULL, N, pick_by_turn, again);
    expect_same(first, n1, again, n2, "second run");
}

/* The instr API directly: a held gate stops a worker before its real call. */
Test(gate, held_gate_stops_the_worker_before_the_real_call, .timeout = 60)
{
    struct instr_shared *sh;
    cr_assert_eq(instr_region_create(&sh, 4, 64, 1 << 16), 0);
    cr_assert_geq(instr_task_begin("conductor", TK_PROCESS), 0);
    struct instr_obj *s = instr_sem_new("s", 0, 1);
    cr_assert_not_null(s);
    atomic_store(&sh->gate_hold, 1);

    pid_t pid = fork();
    if (pid < 0) /* no assertion before the branch: the child must not report to Criterion */
        cr_assert_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        instr_task_begin("poster", TK_PROCESS);
        instr_sem_post(s);
        instr_task_end(0);
        _exit(0);
    }
    uint64_t end = ts_now_ns() + SETTLE_LIMIT_NS;
    while (atomic_load(&sh->ntasks) < 2 || atomic_load(&sh->tasks[1].gate) != GS_WAITING) {
        cr_assert_lt(ts_now_ns(), end, "the worker never reached the gate");
        sleep_us(1000);
    }
    sleep_us(50000);
    cr_expect_eq(instr_sem_value(s), 0, "the post happened while the gate was held");
    cr_expect_eq(atomic_load(&sh->tasks[1].gate_kind), EV_SEM_POST);
    cr_expect_eq(atomic_load(&sh->tasks[1].gate_obj), s->id);

    uint32_t expect = GS_WAITING;
    cr_assert(atomic_compare_exchange_strong(&sh->tasks[1].gate, &expect, GS_GRANTED));
    atomic_fetch_add(&sh->gate_grants, 1);
    syscall(SYS_futex, (uint32_t *)&sh->tasks[1].gate, 1 /* FUTEX_WAKE */, 1, NULL, NULL, 0);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_expect_eq(instr_sem_value(s), 1);
    instr_region_destroy(sh);
}
