/*
 * test_classroom_net2.c - the UDP, multiplexing and socketserver lessons (chapters 3, 4, 11)
 * stepped as a teacher steps them.
 *
 * Each scenario is driven through `run --headless --script -`: a few steps, then a pause with
 * the gate held (longer than any of the scenario's own timers, and for some longer than the
 * 10 s safety bound of every socket wait), until it ends. It must end as its summary promises,
 * with its checks ok, no worker killed (status 137) and a sensible number of steps (a polling
 * loop that became steps would show up here). The epoll lesson is also run paced, as the TUI
 * runs it by default (--delay 150).
 */
#define _GNU_SOURCE
#include "support.h"

#include "model.h"
#include "narrate.h"
#include "scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* How to step a scenario: `step every`, then `wait pause_ms`; the pause after round long_at
 * (from 1) is long_ms instead. */
struct pace {
    int every, pause_ms, long_at, long_ms;
};

/* Step id (params NULL-terminated) to its end at pace p; the final snapshot. Asserts it
 * completed with its checks ok, no task killed by a signal ipcscope sends (137), and at most
 * max_steps steps. */
static json_t *step_through(const char *id, const char *const *params, struct pace p,
                            long max_steps)
{
    struct ts_driver d;
    ts_driver_start(&d, id, params, NULL);
    json_t *snap = NULL;
    for (int round = 1; round <= 400; round++) {
        ts_driver_cmd(&d, "step %d", p.every);
        ts_driver_cmd(&d, "wait %d", round == p.long_at ? p.long_ms : p.pause_ms);
        json_decref(snap);
        snap = ts_driver_snapshot(&d, 60);
        if (json_is_true(json_object_get(snap, "completed")))
            break;
    }
    cr_assert(json_is_true(json_object_get(snap, "completed")), "%s did not end", id);
    ts_assert_check_ok(snap);
    json_t *t;
    size_t i;
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        json_t *st = json_object_get(t, "exit_status");
        cr_assert(!st || json_integer_value(st) != 137, "%s: %s was killed (status 137)", id,
                  ts_str(t, "name"));
    }
    long long steps = ts_int(snap, "steps");
    cr_log_info("%s: %lld steps", id, steps);
    cr_assert(steps > 0 && steps <= max_steps, "%s took %lld steps (at most %ld expected)", id,
              steps, max_steps);
    cr_assert_eq(ts_driver_end(&d, 30), 0);
    return snap;
}

/* The snapshot's pinned sentence contains text. */
static void assert_pinned(json_t *snap, const char *text)
{
    const char *pin = ts_str(snap, "pinned");
    cr_assert(strstr(pin, text), "the pinned sentence \"%s\" lacks \"%s\"", pin, text);
}

/* ---- chapter 3 ---- */

Test(classroom_net2, udp_echo_stepped_echoes_every_datagram, .timeout = 120)
{
    const char *params[] = {"clients=2", "messages=2", "gap_ms=50", NULL};
    json_t *end = step_through("udp-echo", params, (struct pace){3, 400, 0, 0}, 40);
    cr_assert_eq(ts_int(end, "echoed_ok"), 4);
    cr_assert_eq(ts_int(end, "boundaries_kept"), 4);
    cr_assert_eq(json_array_size(json_object_get(end, "sender_ports")), 2);
    assert_pinned(end, "echoed 4 datagrams to 2 sender ports");
    json_decref(end);
}

/* The receivers once gave up after 10 s of wall clock and the sender fell back to unicast
 * after 200 ms: a teacher's pause longer than both must change nothing. */
Test(classroom_net2, udp_broadcast_stepped_with_a_long_pause_still_broadcasts, .timeout = 150)
{
    const char *params[] = {"receivers=3", "messages=2", NULL};
    json_t *end = step_through("udp-broadcast", params, (struct pace){4, 300, 3, 10500}, 50);
    cr_assert_str_eq(ts_str(end, "without_so_broadcast"), "EACCES");
    json_t *got = json_object_get(end, "received"), *g;
    size_t i;
    json_array_foreach(got, i, g) cr_assert_eq(json_integer_value(g), 2);
    if (!json_is_true(json_object_get(end, "broadcast_on_lo")))
        cr_skip_test("this kernel does not deliver broadcast on lo (fallback used)");
    cr_assert_eq(ts_int(end, "datagrams_sent"), 2, "one datagram per message reached all three");
    assert_pinned(end, "the 3 receivers got 2/2/2 of 2");
    json_decref(end);
}

Test(classroom_net2, reuseaddr_stepped_binds_against_time_wait, .timeout = 120)
{
    json_t *end = step_through("reuseaddr", NULL, (struct pace){3, 800, 0, 0}, 30);
    cr_assert(json_is_true(json_object_get(end, "time_wait_seen")));
    json_t *states = json_object_get(end, "old_state_at_binds");
    cr_assert_str_eq(ts_str(states, "without"), "TIME_WAIT", "the kernel's state at the bind");
    cr_assert_str_eq(ts_str(states, "with"), "TIME_WAIT");
    cr_assert_str_eq(ts_str(end, "bind_without_reuseaddr"), "EADDRINUSE");
    cr_assert_str_eq(ts_str(end, "bind_with_reuseaddr"), "ok");
    assert_pinned(end, "old connection in TIME_WAIT");
    json_decref(end);
}

/* ---- chapter 4 ---- */

/* The cost of each call as the snapshot records it: every call's work is what its kind of
 * call goes through (select: nfds, poll: the entries, epoll_wait: the ready events), and the
 * totals agree with the per-call records. */
static void assert_costs(json_t *end, const char *call)
{
    json_t *same = json_object_get(end, "work_same_sets"), *set;
    long long sum = 0, sum_nfds = 0, sum_interest = 0, sum_ready = 0;
    size_t i;
    json_array_foreach(json_object_get(end, "ready_sets"), i, set)
    {
        long long nfds = ts_int(set, "nfds"), interest = ts_int(set, "interest");
        long long ready = ts_int(set, "ready"), work = ts_int(set, "work");
        long long want = strcmp(call, "select") == 0 ? nfds
                         : strcmp(call, "poll") == 0 ? interest
                                                     : ready;
        cr_assert_eq(work, want, "%s call %zu: work %lld, want %lld", call, i, work, want);
        cr_assert(nfds > 0 && nfds >= interest && interest >= ready,
                  "call %zu: nfds %lld, "
                  "interest %lld, ready %lld",
                  i, nfds, interest, ready);
        sum += work;
        sum_nfds += nfds;
        sum_interest += interest;
        sum_ready += ready;
    }
    cr_assert_gt(sum, 0);
    cr_assert_eq(ts_int(end, "work_total"), sum);
    cr_assert_eq(ts_int(same, call), sum);
    cr_assert_eq(ts_int(same, "select"), sum_nfds);
    cr_assert_eq(ts_int(same, "poll"), sum_interest);
    cr_assert_eq(ts_int(same, "epoll_wait"), sum_ready);
    assert_pinned(end, "Kernel work for the same sets");
}

static void mux_stepped(const char *id, const char *call)
{
    const char *params[] = {"clients=2", "messages=2", "gap_ms=80", NULL};
    json_t *end = step_through(id, params, (struct pace){6, 300, 0, 0}, 90);
    cr_assert_eq(ts_int(end, "served"), 2);
    cr_assert_eq(ts_int(end, "echoed_ok"), 4);
    cr_assert_str_eq(ts_str(end, "call"), call);
    cr_assert_geq(ts_int(end, "max_interest"), 2, "one process watched a connection");
    assert_costs(end, call);
    json_decref(end);
}

Test(classroom_net2, select_server_stepped_records_nfds_scanned, .timeout = 120)
{
    mux_stepped("select-server", "select");
}

Test(classroom_net2, poll_server_stepped_records_entries_checked, .timeout = 120)
{
    mux_stepped("poll-server", "poll");
}

Test(classroom_net2, epoll_server_stepped_records_events_returned, .timeout = 120)
{
    mux_stepped("epoll-server", "epoll_wait");
}

/* Stepped until the server blocks in its select/poll/epoll_wait, then a teacher's 3 s pause:
 * the server stays asleep in the kernel, as a real server would (the wait used to wake every
 * 50 ms to look for the run's end: ~60 switches in the pause, and now and then a snapshot
 * caught the server READY while ps said S). */
static void mux_sleeps_through_a_pause(const char *id)
{
    long long woke = ts_wakeups_in_a_pause(id, NULL, "server", 3000);
    cr_expect_leq(woke, 6, "%s: the server woke %lld times in a 3 s pause", id, woke);
}

Test(classroom_net2, select_server_sleeps_in_select_through_a_pause, .timeout = 120)
{
    mux_sleeps_through_a_pause("select-server");
}

Test(classroom_net2, poll_server_sleeps_in_poll_through_a_pause, .timeout = 120)
{
    mux_sleeps_through_a_pause("poll-server");
}

Test(classroom_net2, epoll_server_sleeps_in_epoll_wait_through_a_pause, .timeout = 120)
{
    mux_sleeps_through_a_pause("epoll-server");
}

/* Edge-triggered goes silent with bytes unread once per quiet spell (two: after each chunk),
 * level-triggered never does, whatever the pause between steps. */
static void assert_et_lt(json_t *end, int stepped)
{
    json_t *lt = json_object_get(end, "lt"), *et = json_object_get(end, "et");
    cr_assert_eq(ts_int(lt, "bytes_read"), 128);
    cr_assert_eq(ts_int(et, "bytes_read"), 128);
    cr_assert_gt(ts_int(et, "unread_while_silent"), 0, "ET should leave bytes unread, unreported");
    cr_assert_eq(ts_int(lt, "unread_while_silent"), 0, "LT must keep reporting unread bytes");
    cr_assert_geq(ts_int(lt, "wakeups"), 8, "LT: one wakeup per 16-byte read of 2 x 64 bytes");
    cr_assert_leq(ts_int(et, "wakeups"), 3, "ET: one wakeup per arrival");
    if (stepped)
        cr_assert_eq(ts_int(end, "silent_timeouts"), 2, "one silent epoll_wait per quiet spell");
    assert_pinned(end, "ET stayed silent with 96 B unread");
}

Test(classroom_net2, epoll_et_lt_stepped_with_a_long_pause_goes_silent_with_bytes_unread,
     .timeout = 150)
{
    const char *params[] = {"read_size=16", "chunk=64", "pause_ms=500", NULL};
    json_t *end = step_through("epoll-et-lt", params, (struct pace){5, 700, 4, 10500}, 70);
    assert_et_lt(end, 1);
    json_decref(end);
}

/* The default speed of the TUI: one action every 150 ms. */
Test(classroom_net2, epoll_et_lt_at_the_default_pace_goes_silent_with_bytes_unread, .timeout = 120)
{
    char *argv[] = {IPCSCOPE_BIN, "run",     "epoll-et-lt", "--headless",
                    "--json",     "--delay", "150",         NULL};
    struct ts_run_opts o = {.timeout_s = 100, .stdin_null = 1};
    struct ts_result r = ts_run(argv, &o);
    cr_assert(!r.hung && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "paced run failed: %s",
              r.err);
    json_error_t je;
    json_t *end = json_loads(r.out, 0, &je);
    cr_assert(end, "not JSON: %s", je.text);
    cr_assert(json_is_true(json_object_get(end, "completed")));
    ts_assert_check_ok(end);
    cr_assert_gt(ts_int(end, "steps"), 0, "the run was paced through the gate");
    assert_et_lt(end, 1);
    json_decref(end);
    ts_free_result(&r);
}

/* ---- chapter 11 ---- */

/* The server once stopped waiting for its handlers after 10 s and they were killed. */
Test(classroom_net2, forking_server_stepped_with_a_long_pause_reaps_every_handler, .timeout = 150)
{
    const char *params[] = {"clients=3", "messages=2", "gap_ms=50", NULL};
    json_t *end = step_through("forking-server", params, (struct pace){5, 300, 6, 10500}, 80);
    cr_assert_eq(ts_int(end, "handled"), 3);
    cr_assert_eq(ts_int(end, "reaped"), 3);
    cr_assert_eq(ts_int(end, "handlers"), 3, "one handler process per client");
    cr_assert_str_eq(ts_str(end, "handler_kind"), "process");
    assert_pinned(end, "3 handled, 3 reaped");
    json_decref(end);
}

Test(classroom_net2, threading_server_stepped_joins_every_handler, .timeout = 120)
{
    const char *params[] = {"clients=3", "messages=2", "gap_ms=50", NULL};
    json_t *end = step_through("threading-server", params, (struct pace){5, 300, 0, 0}, 80);
    cr_assert_eq(ts_int(end, "handled"), 3);
    cr_assert_eq(ts_int(end, "handlers"), 3, "one handler thread per client");
    cr_assert_str_eq(ts_str(end, "handler_kind"), "thread");
    assert_pinned(end, "3 handled");
    json_decref(end);
}

/* ---- narration of a socket's close ---- */

/* close() of a UDP socket ends no connection: the narration must not promise a TCP goodbye
 * (udp-echo and udp-broadcast end on that sentence). */
Test(classroom_net2, closing_a_udp_socket_is_narrated_without_a_tcp_goodbye)
{
    struct model m;
    ts_model_one_process(&m, 64, "server");
    struct ev e;
    const char *names[] = {"server-udp", "listener"};
    const int protos[] = {17, 6};
    char buf[2][512];
    for (int i = 0; i < 2; i++) {
        e = (struct ev){.t = 2,
                        .kind = EV_OBJ_CREATE,
                        .src = EV_SRC_INSTR,
                        .task = 1,
                        .pid = 10,
                        .tid = 10,
                        .obj = (uint32_t)i,
                        .val = 7,
                        .item = protos[i],
                        .aux = OK_SOCKET};
        model_apply(&m, &e, NULL, names[i]);
        e = (struct ev){.t = 3,
                        .kind = EV_SOCK_CLOSE,
                        .src = EV_SRC_INSTR,
                        .task = 1,
                        .pid = 10,
                        .tid = 10,
                        .obj = (uint32_t)i};
        model_apply(&m, &e, NULL, NULL);
        cr_assert_eq(narrate_generic(NULL, &m, &e, LANG_EN, buf[i], sizeof(buf[i])), 1);
    }
    cr_assert(strstr(buf[0], "server-udp") && !strstr(buf[0], "TCP") && strstr(buf[0], "UDP"), "%s",
              buf[0]);
    cr_assert(strstr(buf[1], "listener") && strstr(buf[1], "TCP goodbye"), "%s", buf[1]);
    model_free(&m);
}

/* The server's bookkeeping note of one handler is singular, as the pinned numbers are: the
 * threading-server stepped by hand read "server: 1 handler threads not joined yet" beside
 * "1 client, 1 handler thread". */
Test(classroom_net2, socketserver_note_of_one_handler_is_singular)
{
    const char *ids[] = {"threading-server", "forking-server"};
    const unsigned kinds[] = {EV_OBJ_SET, EV_VAR};
    const char *one[] = {"1 handler thread not joined", "1 handler process not reaped"};
    const char *two[] = {"2 handler threads not joined", "2 handler processes not reaped"};
    for (int i = 0; i < 2; i++) {
        const struct scenario *sc = scenario_find(ids[i]);
        cr_assert(sc && sc->narrate, "%s has no narration", ids[i]);
        struct model m;
        ts_model_one_process(&m, 64, "server");
        struct ev e;
        e = (struct ev){.t = 2,
                        .kind = EV_OBJ_CREATE,
                        .src = EV_SRC_INSTR,
                        .task = 1,
                        .pid = 10,
                        .tid = 10,
                        .obj = 0,
                        .aux = OK_PROCESS};
        model_apply(&m, &e, NULL, i == 0 ? "join" : "handlers");
        char buf[512];
        for (int v = 1; v <= 2; v++) {
            e = (struct ev){.t = 2 + v,
                            .kind = kinds[i],
                            .src = EV_SRC_INSTR,
                            .task = 1,
                            .pid = 10,
                            .tid = 10,
                            .obj = 0,
                            .val = v};
            model_apply(&m, &e, NULL, NULL);
            buf[0] = '\0';
            cr_assert_eq(sc->narrate(NULL, &m, &e, LANG_EN, buf, sizeof(buf)), 1, "%s", ids[i]);
            cr_assert(strstr(buf, v == 1 ? one[i] : two[i]), "%s: %s", ids[i], buf);
        }
        model_free(&m);
    }
}

/* ---- on the classroom screen (100x30, tmux) ---- */

static struct ts_tui g_tui;

static void tui_stop(void)
{
    ts_tui_stop(&g_tui);
}

/* The first call's numbers are 1s: "1 poll call", "1 entry", "the 1 watched fd was", not
 * "1 poll calls ... poll checks 1 entries" (the pinned sentence, the result rows and the cost
 * sentence of the projector screen at 80x24). */
Test(classroom_net2, the_first_calls_numbers_read_in_the_singular, .fini = tui_stop, .timeout = 120)
{
    const char *ids[] = {"poll-server", "epoll-server"};
    const char *calls[] = {"1 poll call.", "1 epoll_wait call."};
    for (int k = 0; k < 2; k++) {
        char args[64];
        snprintf(args, sizeof(args), "run %s --step", ids[k]);
        ts_tui_start(&g_tui, args, 160, 48);
        cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
        int seen = 0;
        for (int n = 0; n < 40 && !seen; n++) {
            ts_tui_step(&g_tui, 5000);
            seen = strstr(g_tui.screen, calls[k]) != NULL;
            cr_assert_null(strstr(g_tui.screen, " 1 entries"), "%s:\n%s", ids[k], g_tui.screen);
            cr_assert_null(strstr(g_tui.screen, " 1 calls"), "%s:\n%s", ids[k], g_tui.screen);
            cr_assert_null(strstr(g_tui.screen, " 1 events"), "%s:\n%s", ids[k], g_tui.screen);
            cr_assert_null(strstr(g_tui.screen, "1 fds"), "%s:\n%s", ids[k], g_tui.screen);
        }
        cr_assert(seen, "%s: never '%s':\n%s", ids[k], calls[k], g_tui.screen);
        tui_stop();
    }
}

/* Press Space until the screen shows text (at most max presses); 1 when it did. */
static int step_until(const char *text, int max)
{
    for (int n = 0; n < max; n++) {
        if (strstr(ts_tui_capture(&g_tui), text))
            return 1;
        ts_tui_step(&g_tui, 5000); /* one step at a time: Spaces queued under load skip states */
    }
    return ts_tui_wait_for(&g_tui, text, 3000);
}

/* The line of the screen holding text and also want, or NULL. */
static const char *line_with_both(const char *screen, const char *text, const char *want)
{
    static char line[1024];
    return ts_line_with(screen, text, want, line, sizeof(line)) ? line : NULL;
}

/* reuseaddr has five sockets and three task rows: the restarted listener, the one the lesson
 * ends on, must be on screen while the kernel has it, not hidden behind closed ones. */
Test(classroom_net2, reuseaddr_shows_the_restarted_listener_on_screen, .fini = tui_stop,
     .timeout = 120)
{
    ts_tui_start(&g_tui, "run reuseaddr --step", 100, 30);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    cr_assert(step_until("close(restart-reus", 60), "never reached the restart's close:\n%s",
              g_tui.screen);
    const char *s = ts_tui_capture(&g_tui);
    cr_assert(line_with_both(s, "sock  restart-reuse", "LISTEN"),
              "restart-reuse LISTEN is not on screen:\n%s", s);
    cr_assert(line_with_both(s, "sock  server-conn", "TIME-WAIT"),
              "the old connection in TIME-WAIT is not on screen:\n%s", s);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* After udp-echo every socket is closed: none may still read UNCONN (a state ss shows only for
 * a socket that exists). */
Test(classroom_net2, udp_echo_ends_with_its_sockets_shown_closed, .fini = tui_stop, .timeout = 120)
{
    ts_tui_start(&g_tui, "run udp-echo --step", 100, 30);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    cr_assert(step_until("Checks: ok", 80), "the run did not end ok:\n%s", g_tui.screen);
    ts_sleep_ms(300);
    const char *s = ts_tui_capture(&g_tui);
    cr_assert(!strstr(s, "UNCONN"), "a closed UDP socket still reads UNCONN:\n%s", s);
    cr_assert(line_with_both(s, "sock  server-udp", "closed"), "server-udp not shown closed:\n%s",
              s);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* A setsockopt step is named at the gate as the call it is ("→ setsockopt(rx-1, SO_REUSEADDR)",
 * "Next: Space lets receiver-1 call setsockopt(...)"), not "→ its next step"; and a receiver
 * waiting for receiver-1's port says so. */
Test(classroom_net2, udp_broadcast_names_its_setsockopt_steps, .fini = tui_stop, .timeout = 120)
{
    ts_tui_start(&g_tui, "run udp-broadcast --step", 120, 34);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    cr_assert(step_until("setsockopt(rx-1, SO_REUSEADDR)", 8),
              "the setsockopt step was not named:\n%s", g_tui.screen);
    cr_expect(step_until(" call setsockopt(rx-", 8),
              "the Next line never said a call is made (\"go on (setsockopt(...))\"):\n%s",
              g_tui.screen);
    cr_expect(step_until("until receiver-1 binds", 8), "no receiver waits for the port:\n%s",
              g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* udp-broadcast has 4 tasks and 7 sockets: the top row grows to fit the objects too (it
 * followed the task list only, and the sender's socket, the one sending, was never on screen
 * at 100x30). */
Test(classroom_net2, udp_broadcast_shows_the_senders_socket, .fini = tui_stop, .timeout = 120)
{
    ts_tui_start(&g_tui, "run udp-broadcast --step", 100, 30);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    cr_assert(step_until("Objects (7)", 80), "the sender's socket never came:\n%s", g_tui.screen);
    ts_sleep_ms(300);
    const char *s = ts_tui_capture(&g_tui);
    cr_assert(line_with_both(s, "sock  sender", "UDP"), "the sender's socket is not on screen:\n%s",
              s);
    cr_assert(!strstr(s, "not shown"), "objects left out:\n%s", s);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* The result rows poll-server and epoll-server pin show the last call's interest and ready
 * sets. After the end those fds are closed (ss has no listener any more): the rows must say
 * so, not name fd 3 listener as if it were still watched. */
static void mux_result_rows_say_the_fds_are_closed(const char *id)
{
    struct ts_scenario sc;
    ts_run_scenario(id, NULL, NULL, NULL, 0, &sc);
    ts_assert_check_ok(sc.snap);
    int rows = 0;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(sc.snap, "meters"), i, m)
    {
        const char *label = ts_str(m, "label"), *text = ts_str(m, "text");
        if (strcmp(label, "interest set") != 0 && strcmp(label, "ready set") != 0)
            continue;
        cr_expect(strncmp(text, "last call, now closed: ", 23) == 0,
                  "%s: after the end the %s row reads '%s'", id, label, text);
        rows++;
    }
    cr_assert_eq(rows, 2, "%s: no interest and ready set rows at the end", id);
    json_decref(sc.snap);
    ts_free_jsonl(sc.trace, sc.ntrace);
}

Test(classroom_net2, poll_server_result_rows_say_the_fds_are_closed_at_the_end, .timeout = 90)
{
    mux_result_rows_say_the_fds_are_closed("poll-server");
}

Test(classroom_net2, epoll_server_result_rows_say_the_fds_are_closed_at_the_end, .timeout = 90)
{
    mux_result_rows_say_the_fds_are_closed("epoll-server");
}

/* forking-server has eight tasks; at 80x24 the top row has room for seven: the task panel
 * dropped client-3 without a word while "7 picks" it. Its title must say a task is not shown
 * whenever one is not. */
Test(classroom_net2, forking_server_at_80x24_says_when_a_task_is_not_shown, .fini = tui_stop,
     .timeout = 150)
{
    ts_tui_start(&g_tui, "run forking-server --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    cr_assert(step_until("handler-3", 120), "handler-3 never started:\n%s", g_tui.screen);
    const char *s = ts_tui_capture(&g_tui);
    cr_assert(strstr(s, "Tasks (8"), "not eight tasks:\n%s", s);
    /* client-3's task row (its socket may be on screen in the objects panel) */
    cr_assert(line_with_both(s, "└ ", " client-3 ") ||
                  line_with_both(s, "Tasks (8, 1 not shown)", "Objects"),
              "client-3 is off screen and the title does not say so:\n%s", s);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* One client: the pinned numbers read "1 client, 1 handler thread" (they said "1 clients, 1
 * handler threads"). */
Test(classroom_net2, socketserver_pin_with_one_client_is_singular, .timeout = 90)
{
    const char *ids[] = {"threading-server", "forking-server"};
    const char *want[] = {"1 client, 1 handler thread, at most 1 at once; 1 handled.",
                          "1 client, 1 handler process, at most 1 at once; 1 handled, 1 reaped."};
    for (int i = 0; i < 2; i++) {
        char *argv[] = {IPCSCOPE_BIN, "run",     (char *)ids[i], "--headless",
                        "--json",     "--param", "clients=1",    NULL};
        struct ts_run_opts o = {.timeout_s = 60, .stdin_null = 1};
        struct ts_result r = ts_run(argv, &o);
        cr_assert(!r.hung && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "%s failed: %s",
                  ids[i], r.err);
        json_error_t je;
        json_t *end = json_loads(r.out, 0, &je);
        cr_assert(end, "not JSON: %s", je.text);
        assert_pinned(end, want[i]);
        json_decref(end);
        ts_free_result(&r);
    }
}

/* At 80x24 the objects panel is 38 columns and names were cut at 12: epoll-server's two sets
 * both read "epoll_wait-…", so the class could not tell the interest set from the ready set.
 * A set's name is whole when it fits beside its count, and the server's call is whole too. */
Test(classroom_net2, epoll_server_at_80x24_names_both_sets_whole, .fini = tui_stop, .timeout = 120)
{
    ts_tui_start(&g_tui, "run epoll-server --step --param clients=1 --param messages=1", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    cr_assert(step_until("sock  listener", 20), "no listener yet:\n%s", g_tui.screen);
    const char *s = ts_tui_capture(&g_tui);
    cr_assert(strstr(s, "queue epoll_wait-interest "), "the interest set's name is cut:\n%s", s);
    cr_assert(strstr(s, "queue epoll_wait-ready "), "the ready set's name is cut:\n%s", s);
    /* the server's gate hint has about 10 columns: "→ epoll_w…" became the bare call */
    int waits = 0;
    for (int n = 0; n < 12; n++) {
        s = ts_tui_capture(&g_tui);
        cr_assert(!strstr(s, "epoll_w…") && !strstr(s, "epoll_c…"), "a call cut:\n%s", s);
        waits += strstr(s, "GATE    epoll_wait") || strstr(s, "→ epoll_wait");
        ts_tui_keys(&g_tui, "Space");
        ts_sleep_ms(300);
    }
    cr_assert_gt(waits, 0, "the server never waited at epoll_wait:\n%s", s);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* The result rows under the objects ("interest set fd 3 listener · fd 4 conn-1 · fd 5 ...")
 * were cut at the panel's border mid-item ("· f", "poll chec"): a row that reaches the border
 * ends with "…" after a whole item. Returns the result rows seen. */
static int result_rows_end_whole(const char *screen)
{
    static const char *const LABELS[] = {"│ interest set ", "│ ready set ", "│ work per call ",
                                         "│ total work "};
    int rows = 0;
    char line[1024];
    for (const char *l = screen; ts_next_line(&l, line, sizeof(line));) {
        for (size_t k = 0; k < sizeof(LABELS) / sizeof(LABELS[0]); k++) {
            char *row = strstr(line, LABELS[k]);
            char *border = row ? strstr(row + strlen("│"), "│") : NULL;
            if (!border)
                continue;
            *border = '\0';
            size_t n = strlen(row);
            int reaches = n > 0 && row[n - 1] != ' ';
            cr_assert(!reaches || (n >= strlen("…") && strcmp(row + n - strlen("…"), "…") == 0),
                      "a result row cut mid-item: %s\n(in)\n%s", row, screen);
            rows++;
        }
    }
    return rows;
}

/* With two fds in the set, the interest set's row names both before its gloss: at 160x48 it
 * read "interest set fd 3 listener …", the gloss "(kept in the kernel by epoll_ctl)" having
 * pushed conn-1 out. */
Test(classroom_net2, the_interest_set_row_names_its_fds_before_its_gloss, .fini = tui_stop,
     .timeout = 150)
{
    ts_tui_start(&g_tui, "run epoll-server --step", 160, 48);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int two = 0;
    for (int n = 0; n < 40 && !two && !strstr(g_tui.screen, "Checks:"); n++) {
        ts_tui_step(&g_tui, 5000);
        /* the row reflects the last epoll_wait: two fds once a wait has watched two */
        two = strstr(g_tui.screen, "mux_wait(epoll_wait-interest) epoll_wait 2 fds") != NULL;
    }
    cr_assert(two, "no epoll_wait watched two fds:\n%s", g_tui.screen);
    const char *row = strstr(g_tui.screen, "interest set fd 3 listener");
    cr_assert_not_null(row, "no interest set row:\n%s", g_tui.screen);
    cr_assert_eq(strncmp(row, "interest set fd 3 listener · fd ", 32), 0,
                 "the row names one fd of two:\n%s", g_tui.screen);
}

/* While the server sleeps in select() the ready set is empty: it showed the last call's
 * "1/1024" beside "BLOCK queue:select-ready". */
Test(classroom_net2, the_ready_set_is_empty_while_the_server_sleeps_on_it, .fini = tui_stop,
     .timeout = 150)
{
    ts_tui_start(&g_tui, "run select-server --step", 160, 48);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int asleep = 0, after_a_call = 0;
    for (int n = 0; n < 40 && !strstr(g_tui.screen, "Checks:"); n++) {
        ts_tui_step(&g_tui, 5000);
        const char *s = g_tui.screen;
        after_a_call += strstr(s, "1 select call") || strstr(s, "select calls");
        if (!strstr(s, "server   ■ BLOCK") || !strstr(s, "queue:select-ready"))
            continue;
        asleep++;
        const char *row = strstr(s, "queue select-ready");
        cr_assert_not_null(row, "no ready set row:\n%s", s);
        cr_assert_not_null(strstr(row, "] 0/1024"),
                           "the server sleeps on a ready set not empty:\n%s", s);
    }
    cr_assert_gt(after_a_call, 0, "no select call returned:\n%s", g_tui.screen);
    cr_assert_gt(asleep, 0, "the server never slept in select():\n%s", g_tui.screen);
}

Test(classroom_net2, poll_server_result_rows_end_whole_at_100_columns, .fini = tui_stop,
     .timeout = 150)
{
    ts_tui_start(&g_tui, "run poll-server --step", 100, 30);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int rows = 0;
    for (int n = 0; n < 40 && !strstr(ts_tui_capture(&g_tui), "Checks:"); n++) {
        rows += result_rows_end_whole(g_tui.screen);
        ts_tui_keys(&g_tui, "Space");
        ts_sleep_ms(300);
    }
    cr_assert_gt(rows, 0, "no result row was seen:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}
