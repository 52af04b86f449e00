/*
 * test_run_sockets.c - a socket missing from one dump of the kernel's table is not called
 * closed.
 *
 * A sock_diag dump is no snapshot: a closing socket that the kernel swaps for its timewait
 * socket while the dump walks past it is missing from that dump (seen on a loaded machine
 * about once in three thousand closes; the predict test then revealed CLOSE where ss showed
 * FIN-WAIT-2). Here the real tcp-echo runs through the real runtime, with a dump that hides
 * every orphaned closing socket (FIN_WAIT1, FIN_WAIT2, TIME_WAIT) from every other TCP dump:
 * the model must never say such a socket closed and then see it come back, and must end with
 * what the kernel says. And a machine with thousands of other loopback sockets (a dump once
 * kept the first 1,024 entries only) must not hide the run's own. A look stalled while the
 * workers go on must land after the records written before it, and must not tell a
 * transition ahead of the probes' records of it.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "run.h"
#include "run_int.h"
#include "scenario.h"
#include "sources/sockdiag.h"

static int g_tcp_dumps, g_hidden;
static void (*g_cb)(const struct sockdiag_entry *e, void *arg);
static void *g_arg;

static void hide_closing(const struct sockdiag_entry *e, void *arg)
{
    (void)arg;
    if (e->inode == 0 && e->state >= 4 && e->state <= 6) { /* FIN_WAIT1, FIN_WAIT2, TIME_WAIT */
        g_hidden++;
        return;
    }
    g_cb(e, g_arg);
}

/* Every other TCP dump misses the sockets that have no file and are closing. */
static int dump_that_misses(int proto, void (*cb)(const struct sockdiag_entry *e, void *arg),
                            void *arg)
{
    if (proto != IPPROTO_TCP || ++g_tcp_dumps % 2 == 0)
        return sockdiag_dump_proto(proto, cb, arg);
    g_cb = cb;
    g_arg = arg;
    return sockdiag_dump_proto(proto, hide_closing, NULL);
}

/* A busy machine: thousands of other loopback sockets come first in every TCP dump. */
static int dump_of_a_busy_machine(int proto, void (*cb)(const struct sockdiag_entry *e, void *arg),
                                  void *arg)
{
    if (proto != IPPROTO_TCP)
        return sockdiag_dump_proto(proto, cb, arg);
    for (int i = 0; i < 5000; i++) {
        struct sockdiag_entry e = {.family = AF_INET,
                                   .proto = IPPROTO_TCP,
                                   .state = 6,
                                   .sport = (uint16_t)(1024 + i % 2000),
                                   .dport = (uint16_t)(40000 + i)};
        e.saddr[0] = e.daddr[0] = 127;
        e.saddr[3] = e.daddr[3] = 1;
        cb(&e, arg);
    }
    return sockdiag_dump_proto(proto, cb, arg);
}

/* A conductor kept off the CPU in the middle of a look: 30 ms before each TCP dump, while
 * the workers go on writing records older than the look. */
static int dump_after_a_stall(int proto, void (*cb)(const struct sockdiag_entry *e, void *arg),
                              void *arg)
{
    if (proto == IPPROTO_TCP)
        ts_sleep_ms(30);
    return sockdiag_dump_proto(proto, cb, arg);
}

typedef int dump_fn(int, void (*)(const struct sockdiag_entry *, void *), void *);

/* Run tcp-echo (one client, two messages) to its end through the runtime, with dump, with
 * the kernel probes or without them. */
static struct run *run_tcp_echo_with(struct loop *lp, dump_fn *dump, int no_bpf)
{
    const struct scenario *sc = scenario_find("tcp-echo");
    cr_assert_not_null(sc);
    long values[SCN_MAX_PARAMS];
    char err[512];
    scenario_defaults(sc, values);
    const char *params[] = {"messages=2", "gap_ms=20"};
    for (size_t i = 0; i < 2; i++)
        cr_assert_eq(scenario_parse_param(sc, params[i], values, err, sizeof(err)), 0, "%s", err);
    run_sockets_dump = dump;

    struct run_opts opts = {.headless = 1, .no_bpf = no_bpf};
    struct run *r = NULL;
    cr_assert_eq(run_open(&r, sc, values, &opts, err, sizeof(err)), 0, "run_open: %s", err);
    cr_assert_eq(run_start(r, lp, err, sizeof(err)), 0, "run_start: %s", err);
    uint64_t end = ts_now_ns() + 30ull * 1000 * 1000 * 1000;
    while (!r->finished) {
        cr_assert_lt(ts_now_ns(), end, "tcp-echo did not end within 30 s (%s)", r->status);
        loop_run_once(lp, 5);
        run_refresh(r); /* a look at the table each turn, as the /proc timer does */
    }
    run_refresh(r);
    return r;
}

static struct run *run_tcp_echo(struct loop *lp, dump_fn *dump)
{
    return run_tcp_echo_with(lp, dump, 1);
}

/* The client's socket ends in TIME-WAIT (it closed first), as ss shows it. */
static void assert_client_in_time_wait(const struct model *m)
{
    int sockets = 0;
    for (size_t i = 0; i < m->nobjs; i++) {
        const struct model_obj *o = &m->objs[i];
        if (o->kind != OK_SOCKET || strncmp(o->name, "client", 6) != 0)
            continue;
        sockets++;
        cr_assert(o->in_kernel && o->tcp_state == NET_TIME_WAIT_STATE,
                  "%s ends %s in state %d, ss shows TIME-WAIT", o->name,
                  o->in_kernel ? "in the table" : "out of the table", (int)o->tcp_state);
    }
    cr_assert_gt(sockets, 0, "no client socket in the model");
}

Test(run_sockets, a_socket_missing_from_one_dump_is_not_called_closed, .timeout = 60)
{
    struct loop *lp = loop_new();
    cr_assert_not_null(lp);
    struct run *r = run_tcp_echo(lp, dump_that_misses);
    cr_assert_gt(g_hidden, 0, "the dump never hid a closing socket: nothing was tested");

    const struct model *m = &r->model;
    cr_assert_lt(m->total, m->hist_cap, "history wrapped: make the run shorter");
    static int closed[INSTR_MAX_OBJS];
    for (size_t i = 0; i < m->hist_len; i++) {
        const struct ev *e = model_hist(m, i);
        if (e->kind != EV_TCP_STATE || e->obj >= INSTR_MAX_OBJS)
            continue;
        cr_assert(!closed[e->obj] || e->val == NET_CLOSE_STATE,
                  "%s was called closed, then the kernel showed it in state %lld",
                  m->objs[e->obj].name, (long long)e->val);
        closed[e->obj] |= e->val == NET_CLOSE_STATE;
    }
    assert_client_in_time_wait(m);
    run_close(r);
    loop_free(lp);
}

Test(run_sockets, thousands_of_other_sockets_hide_none_of_the_runs, .timeout = 60)
{
    struct loop *lp = loop_new();
    cr_assert_not_null(lp);
    struct run *r = run_tcp_echo(lp, dump_of_a_busy_machine);
    assert_client_in_time_wait(&r->model); /* only sock_diag tells TIME-WAIT */
    run_close(r);
    loop_free(lp);
}

/* A look at the table is applied after the records written before it, whatever kept the
 * conductor between the two: applied ahead of them, a look told a socket's CLOSE before the
 * LAST_ACK that led there (tcp-teardown at the default pace, under load). */
Test(run_sockets, a_look_is_applied_after_the_records_written_before_it, .timeout = 60)
{
    struct loop *lp = loop_new();
    cr_assert_not_null(lp);
    struct run *r = run_tcp_echo(lp, dump_after_a_stall);
    const struct model *m = &r->model;
    cr_assert_lt(m->total, m->hist_cap, "history wrapped: make the run shorter");
    const uint64_t slack = 10ull * 1000 * 1000; /* a writer preempted between stamp and ring */
    size_t readings = 0, late = 0;
    const struct ev *newest = NULL;
    for (size_t i = 0; i < m->hist_len; i++) {
        const struct ev *e = model_hist(m, i);
        if (newest && e->t + slack < newest->t && late++ < 3)
            cr_log_error("%s (t %.4f s) applied after a reading of t %.4f s", ev_kind_name(e->kind),
                         (double)e->t / 1e9, (double)newest->t / 1e9);
        if (model_event_is_reading(e) && (!newest || e->t > newest->t)) {
            newest = e;
            readings++;
        }
    }
    cr_assert_gt(readings, 0, "no look at the table was applied: nothing was tested");
    cr_expect_eq(late, 0, "%zu records applied after a look newer than them", late);
    assert_client_in_time_wait(m);
    run_close(r);
    loop_free(lp);
}

/* A look that overlaps a transition reads the new state but is stamped when it began, before
 * the probes' records of that transition. Applied first, it told the story out of order:
 * "ESTABLISHED -> TIME_WAIT (read from the table)", then the probes' ESTABLISHED ->
 * FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT (or one transition twice, seen in 2 of 8 tcp-teardown
 * runs under load). Every transition told must start from the state told before it. */
Test(run_sockets, a_look_overlapping_the_probes_records_does_not_tell_ahead_of_them, .timeout = 60)
{
    if (geteuid() != 0)
        cr_skip_test("needs root for the kernel probes (this is uid %d)", (int)geteuid());
    struct loop *lp = loop_new();
    cr_assert_not_null(lp);
    struct run *r = run_tcp_echo_with(lp, dump_after_a_stall, 0);
    if (!r->bpf) {
        char why[sizeof(r->bpf_reason)];
        snprintf(why, sizeof(why), "%s", r->bpf_reason);
        run_close(r);
        loop_free(lp);
        cr_skip_test("the kernel probes did not load: %s", why);
    }
    const struct model *m = &r->model;
    cr_assert_lt(m->total, m->hist_cap, "history wrapped: make the run shorter");
    static int32_t state[INSTR_MAX_OBJS];
    static uint8_t seen[INSTR_MAX_OBJS];
    size_t looks = 0, probes = 0, broken = 0;
    for (size_t i = 0; i < m->hist_len; i++) {
        const struct ev *e = model_hist(m, i);
        if (e->kind != EV_TCP_STATE || e->obj >= INSTR_MAX_OBJS)
            continue;
        looks += e->src == EV_SRC_PROCFS;
        probes += e->src == EV_SRC_BPF;
        int stand_in = e->src == EV_SRC_BPF && e->item == e->val; /* freed, state kept */
        int again = state[e->obj] == e->val && !stand_in, jump = state[e->obj] != e->item;
        if (seen[e->obj] && (again || jump) && broken++ < 3)
            cr_log_error("%s: %lld -> %lld told by %s at %.4f s after %lld was told",
                         m->objs[e->obj].name, (long long)e->item, (long long)e->val,
                         e->src == EV_SRC_BPF ? "the probes" : "a look", (double)e->t / 1e9,
                         (long long)state[e->obj]);
        seen[e->obj] = 1;
        state[e->obj] = (int32_t)e->val;
    }
    cr_assert_gt(probes, 0, "the probes told no TCP state: nothing was tested");
    cr_log_info("%zu transitions from the probes, %zu from looks", probes, looks);
    cr_expect_eq(broken, 0, "%zu transitions did not follow the state told before them", broken);
    assert_client_in_time_wait(m);
    run_close(r);
    loop_free(lp);
}
