/*
 * test_scenarios_net.c - the network scenarios (chapters 1-4 and 11) end to end.
 *
 * Each test runs the real binary `ipcscope run ID --headless --json --record FILE` while
 * sampling the kernel's TCP table through sock_diag every few milliseconds (what `ss -tan`
 * shows). The lesson is asserted from that kernel evidence, from the trace and from the
 * snapshot; every run must end by itself, pass its own check and leave no process behind.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"

#include "sources/sockdiag.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SEEN 4096

struct seen {
    uint16_t sport, dport;
    int state;
};

struct run {
    struct ts_scenario sc; /* the binary's pid and wait status, snapshot and trace */
    struct seen seen[MAX_SEEN];
    size_t nseen;
};

static void seen_cb(const struct sockdiag_entry *e, void *arg)
{
    struct run *r = arg;
    for (size_t i = 0; i < r->nseen; i++)
        if (r->seen[i].sport == e->sport && r->seen[i].dport == e->dport &&
            r->seen[i].state == e->state)
            return;
    if (r->nseen < MAX_SEEN)
        r->seen[r->nseen++] = (struct seen){e->sport, e->dport, e->state};
}

/* 1 when the kernel showed a socket sport->dport (dport 0: any) in state. */
static int kernel_saw(const struct run *r, uint16_t sport, uint16_t dport, int state)
{
    for (size_t i = 0; i < r->nseen; i++)
        if (r->seen[i].sport == sport && (!dport || r->seen[i].dport == dport) &&
            r->seen[i].state == state)
            return 1;
    return 0;
}

static void assert_clean_end(const struct run *r, const char *id)
{
    int status;
    pid_t left = waitpid(-1, &status, WNOHANG); /* we are a subreaper: strays come to us */
    cr_assert(left < 0 && errno == ECHILD, "%s: a process outlived the run (pid %d)", id,
              (int)left);
    json_t *leaks = json_object_get(r->sc.snap, "leaks");
    cr_assert_eq(ts_int(leaks, "processes"), 0, "%s leaked processes", id);
    json_t *chk = json_object_get(r->sc.snap, "check");
    cr_assert(json_is_true(json_object_get(chk, "ok")), "%s check failed: %s", id,
              ts_str(chk, "why"));
    cr_assert(json_is_true(json_object_get(r->sc.snap, "completed")), "%s did not complete", id);
}

static void sample_sockets(void *arg, pid_t pid, long t_ms)
{
    (void)pid;
    (void)t_ms;
    sockdiag_dump(seen_cb, arg);
}

/* Run the scenario with params (NULL-terminated), sampling sock_diag meanwhile. */
static struct run *run_scenario(const char *id, const char *const *params)
{
    struct run *r = calloc(1, sizeof(*r));
    ts_run_scenario(id, params, sample_sockets, r, 2000, &r->sc);
    assert_clean_end(r, id);
    return r;
}

/* Events of kind ev (and text prefix, may be NULL) in the trace. */
static int count_ev(const struct run *r, const char *ev, const char *prefix)
{
    int n = 0;
    for (size_t i = 0; i < r->sc.ntrace; i++)
        n += strcmp(ts_str(r->sc.trace[i], "ev"), ev) == 0 &&
             (!prefix || strncmp(ts_str(r->sc.trace[i], "text"), prefix, strlen(prefix)) == 0);
    return n;
}

/* Events of kind ev on objects whose name starts with prefix (NULL: any); failed: only
 * those whose aux (-errno) is non-zero. */
static int count_obj_ev(const struct run *r, const char *ev, const char *prefix, int failed)
{
    int n = 0;
    for (size_t i = 0; i < r->sc.ntrace; i++)
        n += strcmp(ts_str(r->sc.trace[i], "ev"), ev) == 0 &&
             (!prefix || strncmp(ts_str(r->sc.trace[i], "obj"), prefix, strlen(prefix)) == 0) &&
             (!failed || ts_int(r->sc.trace[i], "aux") != 0);
    return n;
}

static int has_state(json_t *arr, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (strcmp(json_string_value(v), name) == 0) return 1;
    return 0;
}

/* ---- chapter 2 ---- */

Test(scenario_net, tcp_echo_serves_every_line_and_the_listener_listens, .timeout = 60)
{
    const char *p[] = {"clients=2", "messages=4", "gap_ms=30", NULL};
    struct run *r = run_scenario("tcp-echo", p);
    uint16_t port = (uint16_t)ts_int(r->sc.snap, "port");
    cr_assert(kernel_saw(r, port, 0, 10), "the kernel never showed :%u in LISTEN", port);
    cr_assert_eq(ts_int(r->sc.snap, "served"), 2);
    cr_assert_eq(ts_int(r->sc.snap, "echoed_ok"), 8);
    cr_assert_geq(count_obj_ev(r, "sock_accept", "listener", 0), 2);
    cr_assert_geq(count_obj_ev(r, "sock_listen", "listener", 0), 1);
    cr_assert_eq(count_ev(r, "note", NULL), 0, "socket calls are recorded as their own kinds");
    cr_assert_geq(count_ev(r, "block", NULL), 1, "nobody ever blocked in accept or recv");
}

Test(scenario_net, tcp_handshake_queues_connections_before_accept, .timeout = 60)
{
    const char *p[] = {"backlog=2", "clients=3", "accept_delay_ms=500", NULL};
    struct run *r = run_scenario("tcp-handshake", p);
    cr_assert_eq(ts_int(r->sc.snap, "accepted"), 3);
    cr_assert_eq(ts_int(r->sc.snap, "connected_before_accept"), 3,
                 "connect() must return before accept() is called");
    cr_assert_geq(ts_int(r->sc.snap, "accept_queue_max"), 2);
    cr_assert_leq(ts_int(r->sc.snap, "accept_queue_max"), 3, "the queue holds at most backlog+1");
    if (strcmp(ts_str(r->sc.snap, "capture"), "on") != 0)
        cr_skip_test("packet capture off (%s): needs CAP_NET_RAW", ts_str(r->sc.snap, "capture"));
    json_t *hs = json_object_get(r->sc.snap, "handshake");
    cr_assert_not_null(hs, "no handshake captured");
    uint32_t x = (uint32_t)ts_int(hs, "syn_seq"), y = (uint32_t)ts_int(hs, "synack_seq");
    cr_assert_eq((uint32_t)ts_int(hs, "synack_ack"), x + 1, "SYN-ACK must acknowledge x+1");
    cr_assert_eq((uint32_t)ts_int(hs, "ack"), y + 1, "the last ACK must acknowledge y+1");
    cr_assert_eq((uint32_t)ts_int(hs, "ack_seq"), x + 1);
}

static void assert_time_wait_on(const char *closer, const char *half)
{
    const char *p[] = {closer, half, "hold_ms=300", NULL};
    struct run *r = run_scenario("tcp-teardown", p);
    uint16_t sp = (uint16_t)ts_int(r->sc.snap, "server_port"),
             cp = (uint16_t)ts_int(r->sc.snap, "client_port");
    int server_first = strcmp(closer, "closer=1") == 0;
    uint16_t act = server_first ? sp : cp, pas = server_first ? cp : sp;
    cr_assert(kernel_saw(r, act, pas, 6), "the kernel never showed the active closer in TIME_WAIT");
    cr_assert(!kernel_saw(r, pas, act, 6), "the passive side went through TIME_WAIT");
    cr_assert(kernel_saw(r, pas, act, 8), "the kernel never showed the passive side in CLOSE_WAIT");
    cr_assert(kernel_saw(r, act, pas, 5), "the kernel never showed the closer in FIN_WAIT2");
    cr_assert_str_eq(ts_str(r->sc.snap, "time_wait_on"), server_first ? "server" : "client");
    json_t *seen = json_object_get(r->sc.snap, "tcp_states_seen");
    cr_assert(has_state(json_object_get(seen, server_first ? "server" : "client"), "TIME_WAIT"));
    cr_assert(has_state(json_object_get(seen, server_first ? "client" : "server"), "CLOSE_WAIT"));
    if (strcmp(half, "half_close=1") == 0)
        cr_assert_gt(ts_int(r->sc.snap, "bytes_after_fin"), 0,
                     "nothing read after shutdown(SHUT_WR)");
}

Test(scenario_net, tcp_teardown_time_wait_is_on_the_client_that_closed_first, .timeout = 60)
{
    assert_time_wait_on("closer=0", "half_close=0");
}

Test(scenario_net, tcp_teardown_time_wait_moves_to_the_server_when_it_closes_first, .timeout = 60)
{
    assert_time_wait_on("closer=1", "half_close=0");
}

Test(scenario_net, tcp_teardown_half_close_still_reads_after_its_fin, .timeout = 60)
{
    assert_time_wait_on("closer=0", "half_close=1");
}

/* ---- chapter 3 ---- */

Test(scenario_net, udp_echo_keeps_datagram_boundaries_without_connections, .timeout = 60)
{
    const char *p[] = {"clients=3", "messages=4", "gap_ms=10", NULL};
    struct run *r = run_scenario("udp-echo", p);
    cr_assert_eq(ts_int(r->sc.snap, "echoed_ok"), 12);
    cr_assert_eq(ts_int(r->sc.snap, "boundaries_kept"), 12);
    cr_assert_eq(json_array_size(json_object_get(r->sc.snap, "sender_ports")), 3);
    cr_assert_eq(count_ev(r, "sock_accept", NULL), 0);
    cr_assert_eq(count_ev(r, "sock_listen", NULL), 0);
    cr_assert_eq(count_obj_ev(r, "sock_send", "client-", 0), 12);
    cr_assert_eq(count_ev(r, "tcp_state", NULL), 0, "UDP has no TCP states");
}

/* ---- chapter 4 ---- */

static void assert_mux(const char *id, const char *call)
{
    /* gap_ms: the sessions overlap for ~300 ms, so a sampler starved by a loaded machine still
     * sees two connections at once */
    const char *p[] = {"clients=4", "messages=3", "gap_ms=150", "stagger_ms=10", NULL};
    struct run *r = run_scenario(id, p);
    cr_assert_str_eq(ts_str(r->sc.snap, "call"), call);
    cr_assert_eq(ts_int(r->sc.snap, "served"), 4);
    cr_assert_eq(ts_int(r->sc.snap, "echoed_ok"), 12);
    cr_assert_eq(ts_int(r->sc.snap, "max_interest"), 5, "listener + 4 clients watched at once");
    json_t *sets = json_object_get(r->sc.snap, "ready_sets"), *s;
    size_t i;
    cr_assert_gt(json_array_size(sets), 4);
    json_array_foreach(sets, i, s)
    {
        cr_assert_leq(ts_int(s, "ready"), ts_int(s, "interest"),
                      "ready set larger than interest set");
        cr_assert_eq(__builtin_popcountll((unsigned long long)ts_int(s, "ready_mask")),
                     ts_int(s, "ready"));
    }
    int servers = 0; /* one process did it all */
    for (size_t k = 0; k < r->sc.ntrace; k++)
        servers += strcmp(ts_str(r->sc.trace[k], "ev"), "task_start") == 0 &&
                   strcmp(ts_str(r->sc.trace[k], "task"), "server") == 0;
    cr_assert_eq(servers, 1);
    uint16_t port = (uint16_t)ts_int(r->sc.snap, "port");
    int conns = 0;
    for (size_t k = 0; k < r->nseen; k++)
        conns += r->seen[k].sport == port && r->seen[k].state == 1;
    cr_assert_geq(conns, 2, "the kernel never showed two connections to the server at once");
}

Test(scenario_net, select_server_serves_all_clients_from_one_process, .timeout = 60)
{
    assert_mux("select-server", "select");
}

Test(scenario_net, poll_server_serves_all_clients_from_one_process, .timeout = 60)
{
    assert_mux("poll-server", "poll");
}

Test(scenario_net, epoll_server_serves_all_clients_from_one_process, .timeout = 60)
{
    assert_mux("epoll-server", "epoll_wait");
}

/* ---- chapter 11 ---- */

static void assert_handler_per_client(const char *id, const char *kind)
{
    const char *p[] = {"clients=4", "messages=3", "gap_ms=80", NULL};
    struct run *r = run_scenario(id, p);
    cr_assert_str_eq(ts_str(r->sc.snap, "handler_kind"), kind);
    cr_assert_eq(ts_int(r->sc.snap, "handled"), 4);
    cr_assert_eq(ts_int(r->sc.snap, "handlers"), 4);
    cr_assert_geq(ts_int(r->sc.snap, "max_concurrent_handlers"), 2, "handlers never overlapped");
    json_t *tasks = json_object_get(r->sc.snap, "tasks"), *t;
    size_t i;
    int handlers = 0;
    json_array_foreach(tasks, i, t)
    {
        if (strncmp(ts_str(t, "name"), "handler-", 8) != 0)
            continue;
        handlers++;
        cr_assert_str_eq(ts_str(t, "kind"), kind);
        cr_assert_str_eq(ts_str(t, "state"), "reaped", "%s is %s", ts_str(t, "name"),
                         ts_str(t, "state"));
    }
    cr_assert_eq(handlers, 4);
}

Test(scenario_net, forking_server_forks_and_reaps_a_handler_per_client, .timeout = 60)
{
    assert_handler_per_client("forking-server", "process");
}

Test(scenario_net, threading_server_starts_a_handler_thread_per_client, .timeout = 60)
{
    assert_handler_per_client("threading-server", "thread");
}

/* ---- more of chapters 3 and 4 ---- */

Test(scenario_net, reuseaddr_bind_fails_in_time_wait_without_so_reuseaddr, .timeout = 60)
{
    struct run *r = run_scenario("reuseaddr", NULL);
    uint16_t port = (uint16_t)ts_int(r->sc.snap, "port");
    cr_assert(kernel_saw(r, port, 0, 6), "the kernel never showed :%u in TIME_WAIT", port);
    cr_assert_str_eq(ts_str(r->sc.snap, "bind_without_reuseaddr"), "EADDRINUSE");
    cr_assert_str_eq(ts_str(r->sc.snap, "bind_with_reuseaddr"), "ok");
    cr_assert_eq(count_obj_ev(r, "sock_bind", NULL, 1), 1, "one failed bind in the trace");
}

Test(scenario_net, reuseaddr_on_linux_the_old_socket_needs_the_flag_too, .timeout = 60)
{
    const char *p[] = {"original_reuse=0", NULL};
    struct run *r = run_scenario("reuseaddr", p);
    cr_assert_str_eq(ts_str(r->sc.snap, "bind_without_reuseaddr"), "EADDRINUSE");
    cr_assert_str_eq(ts_str(r->sc.snap, "bind_with_reuseaddr"), "EADDRINUSE");
}

Test(scenario_net, udp_broadcast_reaches_every_receiver_only_with_so_broadcast, .timeout = 60)
{
    const char *p[] = {"receivers=3", "messages=4", NULL};
    struct run *r = run_scenario("udp-broadcast", p);
    cr_assert_str_eq(ts_str(r->sc.snap, "without_so_broadcast"), "EACCES");
    json_t *got = json_object_get(r->sc.snap, "received"), *g;
    size_t i;
    json_array_foreach(got, i, g) cr_assert_eq(json_integer_value(g), 4);
    cr_assert_eq(count_obj_ev(r, "sock_recv", "rx-", 0), 12);
    if (!json_is_true(json_object_get(r->sc.snap, "broadcast_on_lo")))
        cr_skip_test("this kernel does not deliver broadcast on lo (fallback used)");
    cr_assert_eq(ts_int(r->sc.snap, "datagrams_sent"), 4, "one datagram per message reached all");
}

Test(scenario_net, epoll_edge_triggered_goes_silent_with_bytes_unread, .timeout = 60)
{
    const char *p[] = {"read_size=16", "chunk=64", "pause_ms=400", NULL};
    struct run *r = run_scenario("epoll-et-lt", p);
    json_t *lt = json_object_get(r->sc.snap, "lt"), *et = json_object_get(r->sc.snap, "et");
    cr_assert_gt(ts_int(et, "unread_while_silent"), 0, "ET should leave bytes unread, unreported");
    cr_assert_eq(ts_int(lt, "unread_while_silent"), 0, "LT must keep reporting unread bytes");
    cr_assert_geq(ts_int(lt, "wakeups"), 8, "LT: one wakeup per 16-byte read of 2 x 64 bytes");
    cr_assert_leq(ts_int(et, "wakeups"), 3, "ET: one wakeup per arrival");
    cr_assert_eq(ts_int(lt, "bytes_read"), 128);
    cr_assert_eq(ts_int(et, "bytes_read"), 128);
    /* the interest set is the kernel's, changed by epoll_ctl alone: each change is recorded
     * when it is made (an ADD of each connection, ET on the second; a DEL of each at its end),
     * and every epoll_wait finds the set the changes before it left */
    int count = 0, adds = 0, dels = 0, edge = 0, waits = 0;
    int64_t mask = 0;
    for (size_t i = 0; i < r->sc.ntrace; i++) {
        json_t *e = r->sc.trace[i];
        if (strcmp(ts_str(e, "ev"), "mux_wait") != 0 || strcmp(ts_str(e, "obj"), "epoll-interest"))
            continue;
        if (ts_int(e, "item") == 2) {
            cr_expect_eq(ts_int(e, "val"), count, "epoll_wait %d saw %lld fds, not %d", waits,
                         (long long)ts_int(e, "val"), count);
            cr_expect_eq(ts_int(e, "aux"), mask, "epoll_wait %d: mask", waits);
            waits++;
            continue;
        }
        cr_assert_eq(ts_int(e, "item"), 3, "a mux_wait on the interest set is a wait or a ctl");
        int64_t x = ts_int(e, "extra");
        int fd = (int)(uint32_t)x, op = (int)((uint64_t)x >> 32 & 0xff);
        cr_assert(op == EPOLL_CTL_ADD || op == EPOLL_CTL_DEL, "op %d", op);
        count += op == EPOLL_CTL_ADD ? 1 : -1;
        mask = op == EPOLL_CTL_ADD ? mask | 1ll << fd : mask & ~(1ll << fd);
        adds += op == EPOLL_CTL_ADD;
        dels += op == EPOLL_CTL_DEL;
        edge += op == EPOLL_CTL_ADD && ((uint64_t)x >> 40 & 1);
        cr_expect_eq(ts_int(e, "val"), count, "epoll_ctl of fd %d: %lld fds", fd,
                     (long long)ts_int(e, "val"));
        cr_expect_eq(ts_int(e, "aux"), mask, "epoll_ctl of fd %d: mask", fd);
    }
    cr_assert_eq(adds, 2, "one ADD per connection");
    cr_assert_eq(edge, 1, "et-conn is added edge-triggered, lt-conn not");
    cr_assert_eq(dels, 2, "each connection is taken out at its end");
    cr_assert_geq(waits, 3);
    cr_assert_eq(count_ev(r, "note", "epoll_ctl"), 0, "epoll_ctl is a mux_wait, not a note");
}

/* ---- chapter 1 and HTTP ---- */

Test(scenario_net, http_answers_every_request_200_with_its_body, .timeout = 60)
{
    /* gaps long enough that the listener lives a few hundred ms: the kernel sampler (every
     * 2 ms, on a loaded machine maybe much less often) must get to see it listening */
    const char *p[] = {"clients=3", "requests=3", "gap_ms=80", NULL};
    struct run *r = run_scenario("http", p);
    cr_assert_eq(ts_int(r->sc.snap, "requests"), 9, "the server parsed every request line");
    cr_assert_eq(ts_int(r->sc.snap, "responses"), 9);
    cr_assert_eq(ts_int(r->sc.snap, "status_200"), 9, "every response must be 200");
    cr_assert_eq(ts_int(r->sc.snap, "bodies_intact"), 9, "every body must arrive intact");
    json_t *bytes = json_object_get(r->sc.snap, "bytes");
    cr_assert_gt(ts_int(bytes, "sent"), 0);
    cr_assert_eq(ts_int(bytes, "sent"), ts_int(bytes, "received"), "bytes lost on the way");
    cr_assert_str_eq(ts_str(r->sc.snap, "status_line"), "HTTP/1.0 200 OK");
    cr_assert_eq(strncmp(ts_str(r->sc.snap, "request_line"), "GET /client-", 12), 0);
    cr_assert_eq(count_obj_ev(r, "sock_accept", "http-listen", 0), 9, "one connection a request");
    uint16_t port = (uint16_t)ts_int(r->sc.snap, "port");
    cr_assert(kernel_saw(r, port, 0, 10), "the kernel never showed :%u in LISTEN", port);
}

/* The segment of the capture with these flags, or NULL. */
static json_t *seg_with(json_t *segs, const char *flags)
{
    size_t i;
    json_t *s;
    json_array_foreach(segs, i, s) if (strcmp(ts_str(s, "flags"), flags) == 0) return s;
    return NULL;
}

Test(scenario_net, layers_shows_each_layer_of_one_http_request, .timeout = 60)
{
    struct run *r = run_scenario("layers", NULL);
    json_t *l = json_object_get(r->sc.snap, "layers");
    json_t *app = json_object_get(l, "application"), *tr = json_object_get(l, "transport");
    json_t *net = json_object_get(l, "network"), *link = json_object_get(l, "link");
    cr_assert_not_null(app);
    cr_assert_str_eq(ts_str(app, "request_line"), "GET /index.html HTTP/1.0");
    cr_assert_str_eq(ts_str(app, "status_line"), "HTTP/1.0 200 OK");
    cr_assert(json_is_true(json_object_get(app, "body_intact")));
    cr_assert_str_eq(ts_str(link, "interface"), "lo");
    cr_assert_str_eq(ts_str(link, "ethertype"), "0x0800");
    cr_assert_str_eq(ts_str(net, "src"), "127.0.0.1");
    cr_assert_str_eq(ts_str(net, "dst"), "127.0.0.1");
    cr_assert_eq(count_ev(r, "var", NULL), 4, "one step per layer: application to link");
    if (geteuid() != 0)
        cr_skip_test("packet capture needs root (CAP_NET_RAW); capture is %s",
                     ts_str(r->sc.snap, "capture"));
    cr_assert_str_eq(ts_str(r->sc.snap, "capture"), "on");
    cr_assert_str_eq(ts_str(tr, "source"), "capture");
    long long cport = ts_int(tr, "client_port"), sport = ts_int(tr, "server_port");
    json_t *segs = json_object_get(tr, "segments");
    json_t *syn = seg_with(segs, "SYN"), *synack = seg_with(segs, "SYN|ACK");
    cr_assert(syn && synack, "the capture lacks the handshake");
    cr_assert_eq(ts_int(syn, "sport"), cport);
    cr_assert_eq(ts_int(syn, "dport"), sport);
    cr_assert_eq(ts_int(synack, "sport"), sport);
    cr_assert_eq(ts_int(synack, "dport"), cport);
    cr_assert_eq(ts_int(synack, "ack"), (ts_int(syn, "seq") + 1) & 0xffffffffLL,
                 "SYN-ACK acks x+1");
    long long iplen = ts_int(net, "total_length"), req = ts_int(app, "request_bytes");
    cr_assert(iplen >= 20 + 20 + req && iplen <= 20 + 60 + req,
              "IP total length %lld = IP header + TCP header + the %lld-byte request", iplen, req);
    cr_assert_eq(ts_int(net, "ttl"), 64);
    cr_assert_eq(count_ev(r, "pkt", NULL), (int)json_array_size(segs));
    cr_assert_str_eq(ts_str(link, "dst_mac"), "00:00:00:00:00:00");
}

Test(scenario_net, layers_without_capture_uses_tcp_info_and_says_why, .timeout = 60)
{
    const char *p[] = {"capture=0", "ttl=9", NULL};
    struct run *r = run_scenario("layers", p);
    json_t *l = json_object_get(r->sc.snap, "layers");
    json_t *tr = json_object_get(l, "transport");
    cr_assert_str_eq(ts_str(r->sc.snap, "capture"), "off: capture=0");
    cr_assert_str_eq(ts_str(tr, "source"), "tcp_info");
    cr_assert_gt(ts_int(json_object_get(tr, "tcp_info"), "segs_out"), 2, "handshake + request");
    cr_assert_eq(ts_int(json_object_get(l, "network"), "ttl"), 9);
    cr_assert_eq(count_ev(r, "pkt", NULL), 0);
}

/* ---- keypress actions, through their parameters ---- */

Test(scenario_net, udp_echo_extra_senders_get_their_datagrams_back, .timeout = 60)
{
    const char *p[] = {"clients=2", "messages=2", "extra=2", NULL};
    struct run *r = run_scenario("udp-echo", p);
    cr_assert_eq(ts_int(r->sc.snap, "echoed_ok"), 6);
    cr_assert_eq(json_array_size(json_object_get(r->sc.snap, "sender_ports")), 4);
}

Test(scenario_net, udp_broadcast_more_messages_reach_every_receiver, .timeout = 60)
{
    const char *p[] = {"receivers=2", "messages=2", "more=2", NULL};
    struct run *r = run_scenario("udp-broadcast", p);
    json_t *got = json_object_get(r->sc.snap, "received"), *g;
    size_t i;
    json_array_foreach(got, i, g) cr_assert_eq(json_integer_value(g), 4);
}

Test(scenario_net, epoll_server_serves_a_client_that_joins_late, .timeout = 60)
{
    const char *p[] = {"clients=2", "messages=2", "extra=2", NULL};
    struct run *r = run_scenario("epoll-server", p);
    cr_assert_eq(ts_int(r->sc.snap, "served"), 4);
    cr_assert_eq(ts_int(r->sc.snap, "echoed_ok"), 8);
}

Test(scenario_net, threading_server_starts_a_handler_for_an_added_client, .timeout = 60)
{
    const char *p[] = {"clients=2", "messages=2", "gap_ms=50", "extra=1", NULL};
    struct run *r = run_scenario("threading-server", p);
    cr_assert_eq(ts_int(r->sc.snap, "handled"), 3);
    cr_assert_eq(ts_int(r->sc.snap, "handlers"), 3);
}

Test(scenario_net, epoll_partial_sends_are_all_read_in_both_modes, .timeout = 60)
{
    const char *p[] = {"read_size=16", "chunk=64", "pause_ms=300", "partial=2", NULL};
    struct run *r = run_scenario("epoll-et-lt", p);
    long long want = 128 + ts_int(r->sc.snap, "partial_bytes");
    cr_assert_eq(ts_int(r->sc.snap, "partial_bytes"), 64);
    cr_assert_eq(ts_int(json_object_get(r->sc.snap, "lt"), "bytes_read"), want);
    cr_assert_eq(ts_int(json_object_get(r->sc.snap, "et"), "bytes_read"), want);
}
