/*
 * test_classroom_net1.c - network chapters 1-2 (layers, tcp-handshake, tcp-teardown, tcp-echo,
 * http) as a teacher runs them: stepped one action at a time with pauses longer than any of
 * their timers, and at the TUI's default pace (--delay 150).
 *
 * Each stepped run goes through the step driver (`run ID --headless --script -`), takes a
 * snapshot after every step and compares what it says with the kernel's own table (sock_diag,
 * what ss reads) at that quiescent moment; every run must end as its summary promises, with its
 * checks ok, a sensible number of steps and no worker killed by ipcscope (status 137). The
 * narration of sockets is checked on a model built by hand.
 */
#define _GNU_SOURCE
#include "support.h"

#include "instr_net.h"
#include "model.h"
#include "narrate.h"
#include "sources/sockdiag.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* More steps than this is the old polling-loop behaviour (tcp-handshake took 148). */
#define MAX_SENSIBLE_STEPS 80

/* One step, then the snapshot it settled to. */
static json_t *step(struct ts_driver *d)
{
    ts_driver_cmd(d, "step");
    return ts_driver_snapshot(d, 60);
}

static int completed(json_t *snap)
{
    return json_is_true(json_object_get(snap, "completed"));
}

/* The end of a run as its summary promises: completed, checks ok, nobody killed by ipcscope,
 * and the steps a teacher would need, not hundreds. */
static void assert_lesson_end(json_t *end, const char *id)
{
    cr_assert(completed(end), "%s did not complete", id);
    ts_assert_check_ok(end);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(end, "tasks"), i, t)
    {
        cr_assert_neq(ts_int(t, "exit_status"), 137, "%s: %s was killed (status 137)", id,
                      ts_str(t, "name"));
    }
    cr_assert_leq(ts_int(end, "steps"), MAX_SENSIBLE_STEPS, "%s took %lld steps", id,
                  ts_int(end, "steps"));
}

/* The object named name in a snapshot, or NULL. */
static json_t *object(json_t *snap, const char *name)
{
    return ts_find_named(json_object_get(snap, "objects"), name);
}

static json_t *task(json_t *snap, const char *name)
{
    return ts_find_named(json_object_get(snap, "tasks"), name);
}

/* Step id to its end with a pause of pause_ms after every few steps, calling look(snap, arg)
 * after each step; returns the final snapshot. */
static json_t *step_to_end(struct ts_driver *d, const char *id, long pause_ms,
                           void (*look)(json_t *snap, void *arg), void *arg)
{
    json_t *snap = NULL;
    for (int n = 0; n <= MAX_SENSIBLE_STEPS + 20; n++) {
        if (snap)
            json_decref(snap);
        snap = step(d);
        if (look)
            look(snap, arg);
        if (completed(snap))
            return snap;
        if (n % 4 == 3)
            ts_driver_cmd(d, "wait %ld", pause_ms); /* the teacher explains */
    }
    cr_assert_fail("%s did not end within %d steps", id, MAX_SENSIBLE_STEPS + 20);
    return snap;
}

/* ---- tcp-handshake ---- */

struct hs_seen {
    int compared;  /* steps at which the accept queue was compared with the kernel's */
    int full_seen; /* steps with all clients queued while the server waits out its delay */
    int pin_before_accept;
    int pin_one_more; /* ... and it said why 3 fit in a backlog of 2 */
};

/* At a quiescent step the accept-queue object must say what sock_diag says (Recv-Q of the
 * LISTEN socket); while the server waits out its delay at the gate, the queue fills. */
static void hs_look(json_t *snap, void *arg)
{
    struct hs_seen *s = arg;
    uint16_t port = (uint16_t)ts_int(snap, "port");
    uint32_t rq = 0;
    int st = 0;
    if (!port || sockdiag_lookup(port, 0, &st, &rq, NULL) < 0 || st != NET_LISTEN)
        return;
    json_t *q = object(snap, "accept-queue");
    cr_assert_not_null(q);
    cr_assert_eq(ts_int(q, "value"), (long long)rq,
                 "the screen shows accept-queue %lld while the kernel's Recv-Q is %u (step %lld)",
                 ts_int(q, "value"), rq, ts_int(snap, "steps"));
    s->compared++;
    json_t *server = task(snap, "server");
    if (rq == 3 && server && strcmp(ts_str(server, "gate_action"), "sleep") == 0) {
        s->full_seen++;
        s->pin_before_accept += strstr(ts_str(snap, "pinned"), "has not called accept()") != NULL;
        s->pin_one_more += strstr(ts_str(snap, "pinned"), "one more than the backlog (2)") != NULL;
    }
}

Test(classroom_net1, tcp_handshake_stepped_with_pauses_queues_before_accept, .timeout = 120)
{
    struct ts_driver d;
    ts_driver_start(&d, "tcp-handshake", NULL, NULL);
    struct hs_seen seen = {0};
    json_t *end = step_to_end(&d, "tcp-handshake", 1500, hs_look, &seen); /* > the 600 ms delay */
    assert_lesson_end(end, "tcp-handshake");
    cr_assert_eq(ts_int(end, "connected_before_accept"), 3);
    cr_assert_eq(ts_int(end, "accept_queue_max"), 3, "backlog 2 holds backlog+1 = 3 connections");
    cr_assert_gt(seen.compared, 5, "the queue was compared with the kernel at only %d steps",
                 seen.compared);
    cr_assert_gt(seen.full_seen, 0, "never saw 3 queued while the server waited to accept");
    cr_assert_eq(seen.pin_before_accept, seen.full_seen, "the point was not pinned meanwhile");
    cr_assert_eq(seen.pin_one_more, seen.full_seen,
                 "3 queued in a backlog of 2 (ss: Recv-Q 3, Send-Q 2) without saying why");
    cr_assert(strstr(ts_str(end, "pinned"), "before the server called accept()"));
    if (strcmp(ts_str(end, "capture"), "on") == 0) {
        json_t *hs = json_object_get(end, "handshake");
        cr_assert_not_null(hs, "capture on, but no handshake captured");
        cr_assert_eq((uint32_t)ts_int(hs, "synack_ack"), (uint32_t)ts_int(hs, "syn_seq") + 1);
        cr_assert_eq((uint32_t)ts_int(hs, "ack"), (uint32_t)ts_int(hs, "synack_seq") + 1);
    }
    json_decref(end);
    cr_assert_eq(ts_driver_end(&d, 30), 0);
}

/* The accept delay is one step with its label, not a polling loop. */
Test(classroom_net1, tcp_handshake_accept_delay_is_one_labelled_step, .timeout = 120)
{
    struct ts_driver d;
    ts_driver_start(&d, "tcp-handshake", NULL, NULL);
    int sleeps_at_gate = 0;
    json_t *snap = NULL;
    for (int n = 0; n < MAX_SENSIBLE_STEPS; n++) {
        if (snap)
            json_decref(snap);
        snap = step(&d);
        json_t *server = task(snap, "server");
        if (server && strcmp(ts_str(server, "gate_action"), "sleep") == 0)
            sleeps_at_gate++;
        if (completed(snap))
            break;
    }
    assert_lesson_end(snap, "tcp-handshake");
    json_decref(snap);
    /* seen at the gate with its sleep for as long as the clients connect before it is due:
     * a handful of steps, not one per 5 ms */
    cr_assert_gt(sleeps_at_gate, 0, "the server's delay never waited at the gate");
    cr_assert_lt(sleeps_at_gate, 20, "the delay took %d steps", sleeps_at_gate);
    cr_assert_eq(ts_driver_end(&d, 30), 0);
}

/* ---- tcp-teardown ---- */

struct td_seen {
    int half_closed;     /* steps: client FIN_WAIT*, server CLOSE_WAIT (between the closes) */
    int tw_client_alive; /* steps: client end in TIME_WAIT while the client has not exited */
    int tw_pinned;       /* ... with the 2·MSL sentence pinned */
};

static int alive(json_t *t)
{
    const char *s = t ? ts_str(t, "state") : "reaped";
    return strcmp(s, "reaped") != 0 && strcmp(s, "zombie") != 0 && strcmp(s, "exited") != 0;
}

static void td_look(json_t *snap, void *arg)
{
    struct td_seen *s = arg;
    uint16_t sp = (uint16_t)ts_int(snap, "server_port"), cp = (uint16_t)ts_int(snap, "client_port");
    int cst = 0, sst = 0;
    if (!sp || !cp)
        return;
    int cgone = sockdiag_lookup(cp, sp, &cst, NULL, NULL) < 0;
    int sgone = sockdiag_lookup(sp, cp, &sst, NULL, NULL) < 0;
    if (!cgone && !sgone && (cst == NET_FIN_WAIT1 || cst == NET_FIN_WAIT2) &&
        sst == NET_CLOSE_WAIT) {
        s->half_closed++;
        cr_assert(strstr(ts_str(snap, "pinned"), "CLOSE_WAIT"), "half-closed, but the pin says: %s",
                  ts_str(snap, "pinned"));
    }
    if (!cgone && cst == NET_TIME_WAIT) {
        s->tw_client_alive += alive(task(snap, "client"));
        s->tw_pinned += strstr(ts_str(snap, "pinned"), "2·MSL") != NULL;
    }
    if (strstr(ts_str(snap, "pinned"), "TIME_WAIT:"))
        cr_assert(!cgone && cst == NET_TIME_WAIT,
                  "TIME_WAIT is pinned but the kernel has the client's end in state %d", cst);
}

Test(classroom_net1, tcp_teardown_stepped_closes_one_side_at_a_time, .timeout = 120)
{
    struct ts_driver d;
    ts_driver_start(&d, "tcp-teardown", NULL, NULL);
    struct td_seen seen = {0};
    json_t *end = step_to_end(&d, "tcp-teardown", 1200, td_look, &seen); /* > hold_ms 500 */
    assert_lesson_end(end, "tcp-teardown");
    cr_assert_str_eq(ts_str(end, "time_wait_on"), "client");
    cr_assert_gt(seen.half_closed, 0, "no step between the client's close and the server's");
    cr_assert_gt(seen.tw_client_alive, 0,
                 "the client's end reached TIME_WAIT only in the step the client exited");
    cr_assert_gt(seen.tw_pinned, 0, "the 2·MSL sentence was never pinned during TIME_WAIT");
    cr_assert(strstr(ts_str(end, "pinned"), "2·MSL"), "the run ends without the 2·MSL sentence");
    if (strcmp(ts_str(end, "capture"), "on") == 0) {
        json_t *g = json_object_get(end, "goodbye");
        long long segs = ts_int(g, "segments");
        /* four, or three when the server closed within the kernel's delayed-ACK time and the
         * ACK rode on its FIN: which one depends on the pace, the snapshot says which */
        int rode = json_is_true(json_object_get(g, "ack_rode_on_fin"));
        cr_assert_eq(segs, rode ? 3 : 4, "the goodbye took %lld segments (ACK on the FIN: %d)",
                     segs, rode);
        cr_assert(json_is_integer(json_object_get(g, "fin_ack_ms")), "no ACK for the FIN seen");
    }
    json_decref(end);
    cr_assert_eq(ts_driver_end(&d, 30), 0);
}

/* Waiting for the other side (a flag another task sets and wakes), the client sleeps through
 * a teacher's 3 s pause: it used to look every 250 ms (12 switches in the pause). */
Test(classroom_net1, tcp_teardown_client_sleeps_through_a_pause, .timeout = 120)
{
    long long woke = ts_wakeups_in_a_pause("tcp-teardown", NULL, "client", 3000);
    cr_expect_leq(woke, 6, "the client woke %lld times in a 3 s pause", woke);
}

/* Workers killed from outside half way through the goodbye (the server in CLOSE_WAIT, as a
 * cgroup.kill from another run once did): the kernel still finishes the client's side into
 * TIME_WAIT, but the lesson did not run, and the run must not end "Checks: ok". */
Test(classroom_net1, tcp_teardown_with_its_workers_killed_does_not_check_ok, .timeout = 120)
{
    struct ts_driver d;
    ts_driver_start(&d, "tcp-teardown", NULL, NULL);
    json_t *snap = NULL;
    int killed = 0;
    for (int n = 0; n <= MAX_SENSIBLE_STEPS && !killed; n++) {
        if (snap)
            json_decref(snap);
        snap = step(&d);
        cr_assert(!completed(snap), "the goodbye ended before the server was in CLOSE_WAIT");
        json_t *sc = object(snap, "server-conn");
        if (!sc || strcmp(ts_str(sc, "tcp_state"), "CLOSE_WAIT") != 0)
            continue;
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(snap, "tasks"), i, t)
        {
            if (strcmp(ts_str(t, "name"), "ipcscope") != 0 && ts_pid_alive((pid_t)ts_int(t, "pid")))
                killed += kill((pid_t)ts_int(t, "pid"), SIGKILL) == 0;
        }
    }
    json_decref(snap);
    cr_assert_gt(killed, 0, "no worker to kill while the server was in CLOSE_WAIT");
    json_t *end = step_to_end(&d, "tcp-teardown", 100, NULL, NULL);
    json_t *check = json_object_get(end, "check");
    cr_assert(json_is_false(json_object_get(check, "ok")), "killed workers, yet the checks are ok");
    cr_assert(strstr(ts_str(check, "why"), "SIGKILL"), "the check does not name the kill: %s",
              ts_str(check, "why"));
    json_decref(end);
    int code = ts_driver_end(&d, 30);
    cr_assert_eq(code, 1, "the driven run did not exit 1 for its failed check (exit %d)", code);
}

Test(classroom_net1, tcp_teardown_server_first_half_close_stepped, .timeout = 120)
{
    struct ts_driver d;
    const char *params[] = {"closer=1", "half_close=1", "hold_ms=300", NULL};
    ts_driver_start(&d, "tcp-teardown", params, NULL);
    json_t *end = step_to_end(&d, "tcp-teardown", 800, NULL, NULL);
    assert_lesson_end(end, "tcp-teardown");
    cr_assert_str_eq(ts_str(end, "time_wait_on"), "server");
    cr_assert_gt(ts_int(end, "bytes_after_fin"), 0);
    cr_assert(strstr(ts_str(end, "pinned"), "the server closed first"));
    json_decref(end);
    cr_assert_eq(ts_driver_end(&d, 30), 0);
}

/* ---- layers, tcp-echo, http ---- */

Test(classroom_net1, layers_stepped_sizes_add_up, .timeout = 120)
{
    struct ts_driver d;
    ts_driver_start(&d, "layers", NULL, NULL);
    json_t *end = step_to_end(&d, "layers", 1500, NULL, NULL);
    assert_lesson_end(end, "layers");
    json_t *l = json_object_get(end, "layers");
    json_t *app = json_object_get(l, "application");
    cr_assert(json_is_true(json_object_get(app, "body_intact")));
    if (strcmp(ts_str(end, "capture"), "on") != 0) {
        json_decref(end);
        cr_assert_eq(ts_driver_end(&d, 30), 0);
        cr_skip_test("packet capture off (%s): the sizes need CAP_NET_RAW", ts_str(end, "capture"));
    }
    json_t *pkt = json_object_get(json_object_get(l, "network"), "request_packet");
    cr_assert_not_null(pkt);
    long long ip = ts_int(pkt, "ip_header"), tcp = ts_int(pkt, "tcp_header"),
              pay = ts_int(pkt, "payload"), total = ts_int(pkt, "ip_total");
    cr_assert_eq(ip + tcp + pay, total, "%lld + %lld + %lld != %lld", ip, tcp, pay, total);
    cr_assert_eq(pay, ts_int(app, "request_bytes"), "the payload is the HTTP request");
    cr_assert_eq(ip, 20);
    cr_assert_geq(tcp, 20);
    cr_assert_eq(ts_int(pkt, "tcp_options"), tcp - 20);
    cr_assert_eq(ts_int(json_object_get(l, "link"), "frame_bytes"), 14 + total);
    char sum[64];
    snprintf(sum, sizeof(sum), "%lld + %lld + %lld = %lld", ip, tcp, pay, total);
    cr_assert_str_eq(ts_str(pkt, "sum"), sum);
    char frame[64];
    snprintf(frame, sizeof(frame), "14 + %lld = %lld bytes", total, 14 + total);
    cr_assert(strstr(ts_str(end, "pinned"), frame), "the pin lacks '%s': %s", frame,
              ts_str(end, "pinned"));
    json_decref(end);
    cr_assert_eq(ts_driver_end(&d, 30), 0);
}

/* The last step explains the link layer, and the client exits in that same step: on the
 * classroom screen (100x30) the link-layer paragraph must be what the run ends on, not pushed
 * out of the narration by "client exited ...". */
static struct ts_tui g_tui;

static void tui_stop(void)
{
    ts_tui_stop(&g_tui);
}

/* The ports of the objects panel's socket rows ("  :36509→:45811") are whole or not shown:
 * at 100x30 server-conn's row ended "Send-Q 0  :", a port with no number. */
static void socket_rows_have_whole_ports(const char *screen)
{
    for (const char *l = screen; l && *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        char line[1024];
        snprintf(line, sizeof(line), "%.*s", (int)len, l);
        char *sock = strstr(line, "sock  ");
        for (char *c = sock ? strchr(sock, ':') : NULL; c; c = strchr(c + 1, ':')) {
            unsigned port;
            int digits = 0;
            cr_assert(sscanf(c + 1, "%u%n", &port, &digits) == 1 && digits >= 4,
                      "a socket row shows a cut port:\n%s\n(in)\n%s", line, screen);
        }
        l = end ? end + 1 : NULL;
    }
}

/* The packet lane draws each state of a socket once ("client-conn FIN-WAIT-2"): the probe's
 * change, the socket table's sighting of it and the stand-in of a socket freed in FIN_WAIT2
 * made three such rows, which pushed the FIN off the lane (layers at 100x30 showed
 * "server-conn FIN-WAIT-2" twice where the server's FIN should be). */
static void lane_repeats_no_state(const char *screen)
{
    static const char *const states[] = {"SYN-SENT",   "SYN-RECV",  "ESTAB",      "FIN-WAIT-1",
                                         "FIN-WAIT-2", "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK",
                                         "CLOSING",    "LISTEN",    "CLOSE"};
    char seen[32][160];
    int nseen = 0;
    for (const char *l = screen; l && *l;) {
        const char *end = strchr(l, '\n');
        size_t len = end ? (size_t)(end - l) : strlen(l);
        char line[1024], row[512], name[96], state[32], extra[8];
        snprintf(line, sizeof(line), "%.*s", (int)len, l);
        l = end ? end + 1 : NULL;
        const char *bar = strstr(line, "│");
        const char *bar2 = bar ? strstr(bar + 3, "│") : NULL;
        if (!bar2 || (size_t)(bar2 - bar - 3) >= sizeof(row))
            continue;
        snprintf(row, sizeof(row), "%.*s", (int)(bar2 - bar - 3), bar + 3);
        if (sscanf(row, "%95s %31s %7s", name, state, extra) != 2)
            continue; /* a state row is two words: the socket and its state */
        int is_state = 0;
        for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
            is_state |= strcmp(state, states[i]) == 0;
        if (!is_state)
            continue;
        char key[160];
        snprintf(key, sizeof(key), "%s %s", name, state);
        for (int i = 0; i < nseen; i++)
            cr_assert_str_neq(seen[i], key, "the lane shows '%s' twice:\n%s", key, screen);
        if (nseen < 32)
            snprintf(seen[nseen++], sizeof(seen[0]), "%s", key);
    }
}

Test(classroom_net1, layers_ends_on_screen_with_the_link_layer, .fini = tui_stop, .timeout = 120)
{
    ts_tui_start(&g_tui, "run layers --step", 100, 30);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int explained = 0;
    for (int n = 0; n < MAX_SENSIBLE_STEPS && !strstr(ts_tui_capture(&g_tui), "Checks:"); n++) {
        /* a layer's step says which layer, not "call an update of layer" */
        cr_assert(!strstr(g_tui.screen, "an update of"), "a step without its label:\n%s",
                  g_tui.screen);
        /* which layer the step explains, even where the row cuts the hint ("→ layer 5…") */
        const char *hint = strstr(g_tui.screen, "GATE    → layer ");
        if (hint) {
            int layer = 0, used = 0;
            cr_assert_eq(sscanf(hint, "GATE    → layer %d%n", &layer, &used), 1, "%s",
                         g_tui.screen);
            cr_assert(layer >= 2 && layer <= 5, "layer %d:\n%s", layer, g_tui.screen);
            cr_assert(hint[used] == ' ' || strncmp(hint + used, "…", strlen("…")) == 0,
                      "the hint dangles after its number ('→ layer 5:…'):\n%s", g_tui.screen);
            explained++;
        }
        socket_rows_have_whole_ports(g_tui.screen);
        lane_repeats_no_state(g_tui.screen);
        /* the screen after this step (beside the soak, Spaces pressed while nobody was at the
         * gate let the four layer steps through in 5 ms, none of them ever on screen) */
        ts_tui_step(&g_tui, 5000);
    }
    cr_assert_gt(explained, 0, "no step said which layer it explains:\n%s", g_tui.screen);
    cr_assert(ts_tui_wait_for(&g_tui, "Checks: ok", 5000), "the run did not end ok:\n%s",
              g_tui.screen);
    ts_sleep_ms(300);
    const char *s = ts_tui_capture(&g_tui);
    cr_assert(strstr(s, "Link layer"), "the link layer is not on the final screen:\n%s", s);
    cr_assert(strstr(s, "Ethernet frame on lo"), "the pin is not on the final screen:\n%s", s);
    /* the layer being explained is a number, not an event flag ("● set") */
    cr_assert(strstr(s, "layer    = 2") && !strstr(s, "● set"), "the layer object:\n%s", s);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* Every socket row of the objects panel that shows a receive queue also shows its send queue
 * whole ("Recv-Q 0 Send-Q 0", or "Recv 0 Send 0" when the row is short; never "Send" cut off
 * by a long name); returns the rows that had both. unread counts rows with 11 bytes unread. */
static int socket_rows_have_both_queues(const char *screen, int *unread)
{
    int rows = 0;
    char line[512];
    for (const char *l = screen; ts_next_line(&l, line, sizeof(line));) {
        char *rq = strstr(line, "sock  ") ? strstr(line, " Recv") : NULL;
        if (rq) {
            long r, q;
            cr_assert(sscanf(rq, " Recv-Q %ld Send-Q %ld", &r, &q) == 2 ||
                          sscanf(rq, " Recv %ld Send %ld", &r, &q) == 2,
                      "a socket row lost its send queue:\n%s\n(in)\n%s", line, screen);
            rows++;
            *unread += r == 11;
        }
    }
    return rows;
}

/* Step tcp-echo at w x h to its end, checking every socket row on every step. */
static void socket_rows_keep_both_queues(int w, int h)
{
    ts_tui_start(&g_tui, "run tcp-echo --step --param messages=1", w, h);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int rows = 0, unread = 0;
    for (int n = 0; n < MAX_SENSIBLE_STEPS && !strstr(ts_tui_capture(&g_tui), "Checks:"); n++) {
        ts_tui_step(&g_tui, 5000); /* each step's screen: queued Spaces go by unseen */
        rows += socket_rows_have_both_queues(ts_tui_capture(&g_tui), &unread);
    }
    cr_assert_gt(rows, 0, "no socket row with its queues was seen");
    cr_assert_gt(unread, 0, "the echoed line was never seen waiting in a receive queue");
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* At 100 columns the objects panel is 45 wide: "client-1-sock TCP ESTAB  Recv-Q 11 Send-Q 0"
 * did not fit and the Send-Q was cut. The queues are what the lesson reads against ss. */
Test(classroom_net1, tcp_echo_socket_rows_keep_both_queues_at_100_columns, .fini = tui_stop,
     .timeout = 120)
{
    socket_rows_keep_both_queues(100, 30);
}

/* At 80 columns it is 37 wide: the names shrink to 4 columns and the queues to "Recv 11 Send 0"
 * before a number goes. */
Test(classroom_net1, tcp_echo_socket_rows_keep_both_queues_at_80_columns, .fini = tui_stop,
     .timeout = 120)
{
    socket_rows_keep_both_queues(80, 24);
}

/* Segment rows of the packet lane ("client-conn :39095 ──FIN|ACK ...▶ :53705") whose left port
 * is whole: five digits (both ends bind ephemeral ports, 32768 and up). Asserts on a cut one. */
static int packet_rows_with_whole_ports(const char *screen)
{
    int rows = 0;
    char line[1024];
    for (const char *l = screen; ts_next_line(&l, line, sizeof(line));) {
        char *arrow = strstr(line, " seq ") ? strstr(line, "──") : NULL; /* a segment row */
        char *colon = arrow ? strchr(line, ':') : NULL;
        if (colon && colon < arrow) {
            unsigned port;
            int digits = 0;
            cr_assert(sscanf(colon + 1, "%u%n", &port, &digits) == 1 && digits == 5,
                      "a packet row shows a cut port:\n%s\n(in)\n%s", line, screen);
            rows++;
        }
    }
    return rows;
}

/* In projector mode the lane's end labels are 16 columns: "client-conn :39095" was drawn
 * "client-conn :390", a port that does not exist. The name gives way, never the port. */
/* The row of screen whose text has needle (from its start), or -1. */
static int row_of(const char *screen, const char *needle)
{
    const char *at = strstr(screen, needle);
    if (!at)
        return -1;
    int row = 0;
    for (const char *c = screen; c < at; c++)
        row += *c == '\n';
    return row;
}

/* The lane tells the teardown in the order it happened: the server's close() moves it to
 * LAST_ACK and sends its FIN, and the client's ACK of that FIN closes it. The segments were
 * stamped when the capture process read them, after the kernel had already handled them, and
 * the lane drew "server-conn CLOSE" above the FIN that led to it. Returns whether the rows
 * were on the screen to compare. */
static int lane_closes_after_the_fin(const char *screen)
{
    int last_ack = row_of(screen, "server-conn LAST-ACK│"),
        close = row_of(screen, "server-conn CLOSE│");
    int fin = row_of(screen, "◀──FIN|ACK");
    if (close < 0 || fin < 0)
        return 0;
    cr_assert_gt(close, fin, "the server's CLOSE is drawn before its FIN:\n%s", screen);
    if (last_ack >= 0)
        cr_assert_lt(last_ack, fin, "the server's FIN is drawn before its LAST_ACK:\n%s", screen);
    return 1;
}

Test(classroom_net1, tcp_teardown_packet_lane_keeps_whole_ports_in_projector_mode, .fini = tui_stop,
     .timeout = 120)
{
    if (geteuid() != 0)
        cr_skip_test("the packet lane needs a capture (CAP_NET_RAW)");
    ts_tui_start(&g_tui, "run tcp-teardown --step", 100, 30);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "z");
    int rows = 0, ordered = 0;
    for (int n = 0; n < MAX_SENSIBLE_STEPS && !strstr(ts_tui_capture(&g_tui), "Checks:"); n++) {
        ts_tui_keys(&g_tui, "Space");
        ts_sleep_ms(400);
        rows += packet_rows_with_whole_ports(ts_tui_capture(&g_tui));
        lane_repeats_no_state(g_tui.screen);
        ordered += lane_closes_after_the_fin(g_tui.screen);
    }
    cr_assert_gt(rows, 0, "no packet row was seen in projector mode:\n%s", g_tui.screen);
    cr_assert_gt(ordered, 0, "the server's FIN and CLOSE were never on the lane together:\n%s",
                 g_tui.screen);
    /* it ends on the lesson, TIME_WAIT, not on a process's exit ("... stays a zombie until
     * wait()", while its row said REAPED) */
    cr_assert(ts_tui_wait_for(&g_tui, "Checks: ok", 5000), "not ok:\n%s", g_tui.screen);
    ts_sleep_ms(300);
    const char *end = ts_tui_capture(&g_tui);
    cr_assert(strstr(end, "TIME_WAIT: the client closed first"), "no TIME_WAIT at the end:\n%s",
              end);
    cr_assert(!strstr(end, "stays a zombie"), "a process's exit after the lesson:\n%s", end);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

Test(classroom_net1, tcp_echo_stepped_with_pauses_echoes_every_line, .timeout = 120)
{
    struct ts_driver d;
    const char *params[] = {"clients=2", "messages=2", "gap_ms=300", NULL};
    ts_driver_start(&d, "tcp-echo", params, NULL);
    json_t *end = step_to_end(&d, "tcp-echo", 800, NULL, NULL);
    assert_lesson_end(end, "tcp-echo");
    cr_assert_eq(ts_int(end, "served"), 2);
    cr_assert_eq(ts_int(end, "echoed_ok"), 4);
    /* the summary's promise is readable without the JSON: the run ends with it pinned */
    cr_assert(strstr(ts_str(end, "pinned"), "4 of 4 lines came back intact"), "pinned: %s",
              ts_str(end, "pinned"));
    json_decref(end);
    cr_assert_eq(ts_driver_end(&d, 30), 0);
}

Test(classroom_net1, http_stepped_with_pauses_answers_200, .timeout = 120)
{
    struct ts_driver d;
    const char *params[] = {"clients=2", "requests=2", "gap_ms=200", NULL};
    ts_driver_start(&d, "http", params, NULL);
    json_t *end = step_to_end(&d, "http", 600, NULL, NULL);
    assert_lesson_end(end, "http");
    cr_assert_eq(ts_int(end, "status_200"), 4);
    cr_assert_eq(ts_int(end, "bodies_intact"), 4);
    cr_assert(strstr(ts_str(end, "pinned"), "4 answers were \"HTTP/1.0 200 OK\" and 4 bodies"),
              "pinned: %s", ts_str(end, "pinned"));
    json_decref(end);
    cr_assert_eq(ts_driver_end(&d, 30), 0);
}

/* ---- the default pace of the TUI: one action every 150 ms ---- */

static json_t *paced_run(const char *id)
{
    char *argv[] = {IPCSCOPE_BIN, "run",     (char *)id, "--headless",
                    "--json",     "--delay", "150",      NULL};
    struct ts_run_opts o = {.timeout_s = 90, .stdin_null = 1};
    struct ts_result r = ts_run(argv, &o);
    cr_assert(!r.hung && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
              "%s --delay 150 failed: %s", id, r.err);
    json_t *snap = json_loads(r.out, 0, NULL);
    cr_assert_not_null(snap, "%s: no JSON snapshot", id);
    ts_free_result(&r);
    return snap;
}

Test(classroom_net1, tcp_handshake_at_the_default_pace_queues_before_accept, .timeout = 120)
{
    json_t *s = paced_run("tcp-handshake");
    assert_lesson_end(s, "tcp-handshake");
    cr_assert_eq(ts_int(s, "connected_before_accept"), 3);
    cr_assert_eq(ts_int(s, "accept_queue_max"), 3);
    json_decref(s);
}

Test(classroom_net1, tcp_teardown_at_the_default_pace_ends_in_time_wait, .timeout = 120)
{
    json_t *s = paced_run("tcp-teardown");
    assert_lesson_end(s, "tcp-teardown");
    cr_assert_str_eq(ts_str(s, "time_wait_on"), "client");
    cr_assert(strstr(ts_str(s, "pinned"), "2·MSL"));
    json_decref(s);
}

/* ---- socket narration ---- */

static struct model M;

static void narr_setup(void)
{
    ts_model_one_process(&M, 256, "server");
}

static void narr_teardown(void)
{
    model_free(&M);
}

/* The narration of obj_create for a socket created with value init. */
static void narrate_created(uint32_t id, const char *name, int64_t init, char *buf, size_t n)
{
    struct ev e = {.t = 2 + id,
                   .kind = EV_OBJ_CREATE,
                   .src = EV_SRC_INSTR,
                   .task = 1,
                   .pid = 10,
                   .tid = 10,
                   .obj = id,
                   .val = init,
                   .aux = OK_SOCKET};
    model_apply(&M, &e, NULL, name);
    buf[0] = '\0';
    cr_assert_eq(net_narrate(&M, &e, 0, buf, n), 1, "%s: nothing narrated", name);
}

Test(classroom_net1, an_accepted_socket_is_narrated_as_tcp_made_by_accept, .init = narr_setup,
     .fini = narr_teardown)
{
    char buf[512];
    narrate_created(0, "listener", NET_CLOSE, buf, sizeof(buf));
    cr_assert(strstr(buf, "TCP") && !strstr(buf, "UDP"), "%s", buf);
    narrate_created(1, "conn-1", NET_ESTABLISHED, buf, sizeof(buf));
    cr_assert(strstr(buf, "accept()") && strstr(buf, "TCP") && !strstr(buf, "UDP"), "%s", buf);
    narrate_created(2, "server-udp", 0, buf, sizeof(buf));
    cr_assert(strstr(buf, "UDP"), "%s", buf);
}

Test(classroom_net1, a_server_side_half_open_connection_is_narrated_without_a_question_mark,
     .init = narr_setup, .fini = narr_teardown)
{
    char buf[512] = "";
    struct ev e = {.t = 5,
                   .kind = EV_TCP_STATE,
                   .src = EV_SRC_BPF,
                   .task = EV_NO_TASK,
                   .obj = EV_NO_OBJ,
                   .val = NET_SYN_RECV,
                   .item = NET_LISTEN};
    cr_assert_eq(net_narrate(&M, &e, 0, buf, sizeof(buf)), 1);
    cr_assert(strstr(buf, "SYN_RECV") && !strstr(buf, "?"), "%s", buf);
    e.item = NET_SYN_RECV;
    e.val = NET_ESTABLISHED;
    cr_assert_eq(net_narrate(&M, &e, 0, buf, sizeof(buf)), 1);
    cr_assert(strstr(buf, "accept queue") || strstr(buf, "queued"), "%s", buf);
}

/* Closed in FIN_WAIT2, the kernel frees the socket and a timewait stand-in keeps the state
 * (run.c turns the probe's CLOSE into what ss shows): not "TCP state FIN_WAIT2 → FIN_WAIT2". */
Test(classroom_net1, a_socket_freed_in_fin_wait2_is_not_narrated_as_a_change_to_itself,
     .init = narr_setup, .fini = narr_teardown)
{
    char buf[512];
    narrate_created(0, "conn-1", NET_ESTABLISHED, buf, sizeof(buf));
    struct ev e = {.t = 9,
                   .kind = EV_TCP_STATE,
                   .src = EV_SRC_BPF,
                   .task = EV_NO_TASK,
                   .obj = 0,
                   .val = NET_FIN_WAIT2,
                   .item = NET_FIN_WAIT2};
    model_apply(&M, &e, NULL, NULL);
    buf[0] = '\0';
    if (net_narrate(&M, &e, 0, buf, sizeof(buf)) != 1)
        cr_assert_eq(narrate_generic(NULL, &M, &e, 0, buf, sizeof(buf)), 1);
    cr_assert(strstr(buf, "conn-1") && !strstr(buf, "FIN_WAIT2 → FIN_WAIT2"), "%s", buf);
    cr_assert(strstr(buf, "FIN"), "%s", buf);
}

/* A state change read from the kernel's table (ss's view, no probe saw it): layers' and
 * tcp-teardown's stand-in going FIN_WAIT2 → TIME_WAIT when the peer's FIN comes said "a state
 * in between lasts too little for a look to catch", but there is none between them; with
 * --no-bpf every change is read so, ESTABLISHED → CLOSE_WAIT too. Only a change of more than
 * one step says so. */
Test(classroom_net1, a_sampled_one_step_state_change_claims_no_missed_state, .init = narr_setup,
     .fini = narr_teardown)
{
    char buf[512];
    narrate_created(0, "server-conn", NET_ESTABLISHED, buf, sizeof(buf));
    static const int one_step[][2] = {{NET_FIN_WAIT2, NET_TIME_WAIT},
                                      {NET_ESTABLISHED, NET_CLOSE_WAIT},
                                      {NET_CLOSE, NET_LISTEN},
                                      {NET_LAST_ACK, NET_CLOSE}};
    for (size_t i = 0; i < sizeof(one_step) / sizeof(one_step[0]); i++) {
        struct ev e = {.t = 9 + (int64_t)i,
                       .kind = EV_TCP_STATE,
                       .src = EV_SRC_PROCFS,
                       .task = EV_NO_TASK,
                       .obj = 0,
                       .val = one_step[i][1],
                       .item = one_step[i][0]};
        buf[0] = '\0';
        cr_assert_eq(narrate_generic(NULL, &M, &e, 0, buf, sizeof(buf)), 1);
        cr_assert(strstr(buf, "server-conn") && strstr(buf, net_state_name(one_step[i][0])) &&
                      strstr(buf, net_state_name(one_step[i][1])),
                  "%s", buf);
        cr_assert(!strstr(buf, "in between"), "a missed state claimed for a one-step change: %s",
                  buf);
    }
    struct ev skipped = {.t = 20,
                         .kind = EV_TCP_STATE,
                         .src = EV_SRC_PROCFS,
                         .task = EV_NO_TASK,
                         .obj = 0,
                         .val = NET_FIN_WAIT2,
                         .item = NET_ESTABLISHED}; /* FIN_WAIT1 was not seen */
    cr_assert_eq(narrate_generic(NULL, &M, &skipped, 0, buf, sizeof(buf)), 1);
    cr_assert(strstr(buf, "in between"), "%s", buf);
}

/* The event log's line for a kernel state change no socket object has yet (the server side
 * of a handshake before accept) names its ports and states, not a bare "tcp_state". */
Test(classroom_net1, a_half_open_state_change_is_listed_with_its_ports, .init = narr_setup,
     .fini = narr_teardown)
{
    struct ev e = {.t = 9,
                   .kind = EV_TCP_STATE,
                   .src = EV_SRC_BPF,
                   .task = EV_NO_TASK,
                   .obj = EV_NO_OBJ,
                   .val = NET_SYN_RECV,
                   .item = NET_LISTEN,
                   .aux = (int64_t)((uint64_t)34393 << 48 | (uint64_t)50881 << 32)};
    char buf[128];
    narrate_brief(&M, &e, buf, sizeof(buf));
    cr_assert_str_eq(buf, "tcp :34393→:50881 LISTEN → SYN_RECV");
}

/* 1 when only borders and spaces come before arrow on line: a gate hint on a line of its own
 * under its task's row ("│   │ → recv(conn-1)"). */
static int hint_line(const char *line, const char *arrow)
{
    for (const char *p = line; p < arrow;) {
        if (*p == ' ')
            p++;
        else if (strncmp(p, "│", strlen("│")) == 0)
            p += strlen("│");
        else
            return 0;
    }
    return 1;
}

/* The gate hints of the task rows on screen ("→ accept(listener)"), on a row or on the line
 * under it, checked whole: a call's parenthesis is closed ("→ accept()" when its argument does
 * not fit), never cut inside it ("→ accept(…", "→ bind(li…"). Returns the hints seen; *named
 * counts those that name their socket whole ("→ recv(client-1-sock)"). */
static int gate_hints_are_whole_calls(const char *screen, int *named)
{
    int hints = 0;
    char line[1024];
    for (const char *l = screen; ts_next_line(&l, line, sizeof(line));) {
        char *hint = strstr(line, "→ ");
        if (hint && !strstr(line, "GATE ") && !hint_line(line, hint))
            hint = NULL;
        if (hint) {
            char *bar = strstr(hint, "│");
            if (bar)
                *bar = '\0';
            char *open = strchr(hint, '(');
            cr_assert(!open || strchr(open, ')'), "a gate hint cut inside its call: %s\n(in)\n%s",
                      hint, screen);
            *named += strstr(hint, "-sock)") != NULL || strstr(hint, "(conn-1)") != NULL;
            hints++;
        }
    }
    return hints;
}

/* At 80x24 the tasks panel leaves the hint about 13 columns: "→ recv(client-1-sock)" was drawn
 * "→ recv(cl…", a name that does not exist, then "→ recv()". A hint that does not fit on its
 * row goes on the line under it whole when the panel has the row, else it keeps its call whole
 * without the argument ("→ recv()"). */
Test(classroom_net1, tcp_echo_gate_hints_at_80x24_are_whole_calls, .fini = tui_stop, .timeout = 120)
{
    ts_tui_start(&g_tui, "run tcp-echo --step --param messages=1", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int hints = 0, named = 0;
    for (int n = 0; n < 12 && !strstr(ts_tui_capture(&g_tui), "Checks:"); n++) {
        hints += gate_hints_are_whole_calls(g_tui.screen, &named);
        ts_tui_step(&g_tui, 5000);
    }
    cr_assert_gt(hints, 0, "no gate hint was seen:\n%s", g_tui.screen);
    cr_assert_gt(named, 0, "no call named its socket whole:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* The pid on the screen's task row of name, the row that also holds want ("│ 2 └ 15234
 * client-1 ■ BLOCK until ..."), or 0. */
static pid_t pid_on_row(const char *screen, const char *name, const char *want)
{
    char line[1024], key[64];
    if (!ts_line_with(screen, name, want, line, sizeof(line)))
        return 0;
    snprintf(key, sizeof(key), " %s ", name);
    const char *p = strstr(line, key);
    while (p && p > line && p[-1] == ' ') /* the name's column may start after more spaces */
        p--;
    const char *q = p;
    while (q && q > line && q[-1] >= '0' && q[-1] <= '9')
        q--;
    return q && q < p && q > line && q[-1] == ' ' ? (pid_t)atoi(q) : 0;
}

/* A client waiting for the server is asleep in a futex, which alone (BLOCK futex_do_wait) tells
 * a class nothing: the row says what it waits for, in the dashboard and in projector mode,
 * while /proc shows it asleep; once the server listens, the label is gone. */
Test(classroom_net1, a_client_waiting_for_the_server_says_so, .fini = tui_stop, .timeout = 120)
{
    ts_tui_start(&g_tui, "run tcp-echo --step --param messages=1", 120, 34);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    cr_assert(ts_tui_wait_for(&g_tui, "BLOCK   until the server listens", 5000),
              "the waiting client does not say what it waits for:\n%s", g_tui.screen);
    pid_t client = pid_on_row(g_tui.screen, "client-1", "until the server listens");
    char path[64], stat[512] = "", wchan[64] = "";
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)client);
    ts_read_file(path, stat, sizeof(stat));
    snprintf(path, sizeof(path), "/proc/%d/wchan", (int)client);
    ts_read_file(path, wchan, sizeof(wchan));
    const char *st = strrchr(stat, ')');
    cr_expect(client > 0 && st && st[2] == 'S' && strstr(wchan, "futex"),
              "client-1 (pid %d) is not asleep in a futex: stat %s, wchan %s", (int)client,
              st ? st : "?", wchan);
    ts_tui_keys(&g_tui, "z");
    cr_expect(ts_tui_wait_for(&g_tui, "until the server listens", 3000),
              "not in projector mode:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "z");
    int listened = 0;
    for (int n = 0; n < 12 && !listened; n++) {
        ts_tui_keys(&g_tui, "Space");
        ts_sleep_ms(400);
        listened = strstr(ts_tui_capture(&g_tui), "LISTEN") != NULL;
    }
    cr_assert(listened, "the server never listened:\n%s", g_tui.screen);
    int gone = 0;
    for (int n = 0; n < 30 && !gone; n++, ts_sleep_ms(100))
        gone = !strstr(ts_tui_capture(&g_tui), "until the server listens");
    cr_assert(gone, "still waiting for a server that listens:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* Step `run ID --step ...` (args) at 80x24 in projector mode until the screen shows text; the
 * screen a moment later. */
static const char *projector_80x24_at(const char *args, const char *text)
{
    ts_tui_start(&g_tui, args, 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "z");
    int seen = 0;
    for (int n = 0; n < MAX_SENSIBLE_STEPS && !seen; n++) {
        ts_tui_step(&g_tui, 5000);
        seen = strstr(ts_tui_capture(&g_tui), text) != NULL;
    }
    cr_assert(seen, "'%s' never showed:\n%s", text, g_tui.screen);
    ts_sleep_ms(300);
    return ts_tui_capture(&g_tui);
}

/* Whether the last line of text above the key bar ("Space step ...") ends a sentence. */
static int last_text_line_is_whole(const char *screen)
{
    char line[1024], last[1024] = "";
    for (const char *l = screen; ts_next_line(&l, line, sizeof(line));) {
        if (strstr(line, "Space step"))
            break;
        size_t n = strlen(line);
        while (n && line[n - 1] == ' ')
            line[--n] = '\0';
        if (n)
            snprintf(last, sizeof(last), "%s", line);
    }
    size_t n = strlen(last);
    return n && last[n - 1] == '.';
}

static void quit_tui(void)
{
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* At 80x24 in projector mode, once the client is in TIME_WAIT: its socket row is on screen as
 * ss shows it, and the lesson's key sentence and the latest narration are both whole. The
 * 4-line pin was drawn over 3 rows and took the narration's third ("... before these ports
 * are"), and the long narration pushed the client's TIME-WAIT row off the screen. */
Test(classroom_net1, tcp_teardown_at_80x24_in_projector_mode_keeps_time_wait_whole,
     .fini = tui_stop, .timeout = 120)
{
    const char *s = projector_80x24_at("run tcp-teardown --step --param capture=0",
                                       "TIME_WAIT: the client closed first");
    char row[512];
    cr_expect(ts_line_with(s, "sock  client-conn", "TIME-WAIT", row, sizeof(row)),
              "the client's TIME-WAIT row is not on screen:\n%s", s);
    cr_expect(strstr(s, "other side keeps") && strstr(s, "nothing."), "the pin is cut:\n%s", s);
    /* whichever sentence is the latest (the kernel's TIME_WAIT and the server's close come in
     * either order, as the FIN is handled in the close or just after it), it ends whole */
    cr_expect(strstr(s, "Checks:") || last_text_line_is_whole(s), "the narration is cut:\n%s", s);
    quit_tui();
}

/* tcp-handshake's pin for a full accept queue wraps to 5 lines at 80 columns: in projector mode
 * it was cut after 3 ("... holds more than the"), and the narration under it lost its end. */
Test(classroom_net1, tcp_handshake_at_80x24_in_projector_mode_keeps_the_full_queue_whole,
     .fini = tui_stop, .timeout = 120)
{
    const char *s = projector_80x24_at("run tcp-handshake --step --param capture=0",
                                       "That is one more than the backlog");
    cr_expect(strstr(s, "more than the") && strstr(s, "backlog.\n"), "the pin is cut:\n%s", s);
    /* the latest sentence, whichever event it tells (a later look may follow the queue's), is
     * whole: it was "Another connection waits for accept()." cut after its first line */
    cr_expect(strstr(s, "Checks:") || last_text_line_is_whole(s), "the narration is cut:\n%s", s);
    quit_tui();
}

/* The active closer's last step asks the kernel for its connection's state (sock_diag, as ss
 * does): its gate hint said "→ tcp_state(client-conn)" and "Space lets client call
 * tcp_state(client-conn)", a call that does not exist. It says what the step does, whole. */
Test(classroom_net1, tcp_teardown_says_what_its_last_look_does, .fini = tui_stop, .timeout = 120)
{
    ts_tui_start(&g_tui, "run tcp-teardown --step --param capture=0", 100, 30);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int looked = 0;
    for (int n = 0; n < MAX_SENSIBLE_STEPS && !strstr(ts_tui_capture(&g_tui), "Checks:"); n++) {
        cr_assert(!strstr(g_tui.screen, "tcp_state("), "an event's name as a call:\n%s",
                  g_tui.screen);
        /* whole in the task row at 100x30: it read "→ look up its TCP…" */
        looked += strstr(g_tui.screen, "GATE    → look up its state ") != NULL;
        ts_tui_step(&g_tui, 5000); /* a loaded machine: the screen after this step, not before */
    }
    cr_assert_gt(looked, 0, "the last look was never named:\n%s", g_tui.screen);
    cr_assert(ts_tui_wait_for(&g_tui, "Checks: ok", 5000), "not ok:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* Projector mode's narration line tells events as the dashboard does: layers ended there on
 * "client was reaped (status 0) ...", a process's life the network chapters fold, instead of
 * the link layer the last step explained. */
Test(classroom_net1, layers_in_projector_mode_ends_with_the_link_layer, .fini = tui_stop,
     .timeout = 120)
{
    ts_tui_start(&g_tui, "run layers --step", 100, 30);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "z");
    for (int n = 0; n < MAX_SENSIBLE_STEPS && !strstr(ts_tui_capture(&g_tui), "Checks:"); n++) {
        ts_tui_keys(&g_tui, "Space");
        ts_sleep_ms(400);
    }
    cr_assert(ts_tui_wait_for(&g_tui, "Checks: ok", 5000), "the run did not end ok:\n%s",
              g_tui.screen);
    ts_sleep_ms(300);
    const char *s = ts_tui_capture(&g_tui);
    cr_assert(strstr(s, "Link layer"), "the link layer is not on the final screen:\n%s", s);
    cr_assert(!strstr(s, "was reaped"), "a process's reap instead of the lesson:\n%s", s);
    /* whole: the paragraph is 4 lines at 100 columns, and 3 rows ended it mid-sentence */
    cr_assert(strstr(s, "receive path."), "the link layer's paragraph is cut:\n%s", s);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}
