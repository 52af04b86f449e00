/*
 * test_exec_net.c - `ipcscope exec` on the examples' sockets (TCP, UDP, Unix) and I/O
 * multiplexing (epoll, poll, select), compared with ground truth from strace -f, ss and
 * the programs' own counts.
 *
 * Socket objects are named after their addresses; the number of sends and receives
 * recorded equals the sendto/recvfrom calls strace sees; the client's last TCP state is
 * the TIME_WAIT that `ss` still shows after the run; interest and ready sets add up to what
 * the program counted itself.
 */
#include "exec_common.h"

TestSuite(exec_net, .init = setup_dir, .fini = teardown_dir);

/* The socket objects of the snapshot whose name starts with prefix, into out (up to n). */
static size_t sockets(json_t *snap, const char *prefix, json_t **out, size_t n)
{
    size_t i, k = 0;
    json_t *o;
    json_array_foreach(json_object_get(snap, "objects"), i, o)
    {
        if (!strcmp(ts_str(o, "kind"), "socket") &&
            !strncmp(ts_str(o, "name"), prefix, strlen(prefix)) && k < n)
            out[k++] = o;
    }
    return k;
}

static int blocked_on(json_t *evs, const char *obj)
{
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
    {
        if (!strcmp(ts_str(e, "ev"), "block") && !strcmp(ts_str(e, "obj"), obj))
            return 1;
    }
    return 0;
}

Test(exec_net, tcp_sockets_their_states_and_bytes, .timeout = 90)
{
    json_t *snap = exec_example("tcp_echo");
    const char *p = strstr(g_out, "on port ");
    cr_assert(p, "%s", g_out);
    int port = atoi(p + 8);
    char lname[32];
    snprintf(lname, sizeof(lname), "tcp:%d", port);
    json_t *l = find_object(snap, "socket", lname);
    json_t *s[4];
    size_t n = sockets(snap, "tcp:", s, 4);
    cr_assert_eq(n, 3, "listener, accepted, client");
    json_t *client = NULL, *accepted = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strchr(ts_str(s[i], "name"), '>'))
            client = s[i];
        if (strchr(ts_str(s[i], "name"), '<'))
            accepted = s[i];
    }
    cr_assert(client && accepted, "names: client tcp:C>%d, accepted tcp:%d<C", port, port);
    int cport = atoi(ts_str(client, "name") + 4);
    json_t *evs = load_trace();
    /* the listener was seen listening (state 10) */
    size_t k, listens = 0;
    json_t **ops = object_events(evs, lname, &k);
    for (size_t i = 0; i < k; i++)
        listens += !strcmp(ts_str(ops[i], "ev"), "tcp_state") && ts_int(ops[i], "val") == 10;
    free(ops);
    cr_expect_geq(listens, 1, "LISTEN recorded");
    cr_expect(blocked_on(evs, lname) || blocked_on(evs, ts_str(accepted, "name")),
              "the server waited in accept or recv");
    /* ss, after the run: the client closed first, its socket waits in TIME_WAIT */
    if (system("command -v ss >/dev/null 2>&1") != 0)
        TS_SKIP_AFTER(teardown_dir, "ss is not installed (apt-get install iproute2)");
    char cmd[256], line[512] = "";
    snprintf(cmd, sizeof(cmd), "ss -Htan state time-wait '( sport = :%d )' 2>/dev/null", cport);
    FILE *f = popen(cmd, "r");
    int in_ss = f && fgets(line, sizeof(line), f) != NULL;
    if (f)
        pclose(f);
    cr_expect(in_ss, "ss shows no TIME_WAIT for port %d", cport);
    /* the snapshot says what ss says: tcp_state by name, state in ss's words, the same ends */
    cr_expect_str_eq(ts_str(client, "tcp_state"), "TIME_WAIT", "the client's last state");
    cr_expect_str_eq(ts_str(client, "state"), "TIME-WAIT", "the client's state in ss's words");
    cr_expect(json_is_true(json_object_get(client, "in_kernel")), "the timewait entry is kernel's");
    char local[32], peer[32];
    snprintf(local, sizeof(local), "127.0.0.1:%d", cport);
    snprintf(peer, sizeof(peer), "127.0.0.1:%d", port);
    cr_expect_str_eq(ts_str(client, "local"), local);
    cr_expect_str_eq(ts_str(client, "peer"), peer);
    cr_expect(in_ss && strstr(line, local) && strstr(line, peer), "ss's line '%s' is not %s > %s",
              line, local, peer);
    (void)l;
    /* strace: send() is sendto, recv() recvfrom */
    long long sends = strace_count("tcp_echo", NULL, "sendto", "sendto(", NULL);
    long long recvs = strace_count("tcp_echo", NULL, "recvfrom", "recvfrom(", NULL);
    cr_expect_eq(count_events(evs, "sock_send", NULL), sends, "sends: strace saw %lld", sends);
    cr_expect_eq(count_events(evs, "sock_recv", NULL), recvs, "receives: strace saw %lld", recvs);
    cr_expect_eq(sum_events(evs, "sock_send", NULL, "item"), 42, "21 bytes each way");
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec_net, udp_datagrams_match_strace, .timeout = 90)
{
    json_t *snap = exec_example("udp");
    json_t *s[4];
    cr_assert_eq(sockets(snap, "udp:", s, 4), 2, "the receiver's and the sender's");
    cr_expect_null(json_object_get(s[0], "tcp_state"), "no TCP state for UDP");
    json_t *evs = load_trace();
    size_t i;
    json_t *e;
    long long datagrams = 0, bytes = 0;
    json_array_foreach(evs, i, e)
    {
        if (!strcmp(ts_str(e, "ev"), "sock_send") && ts_int(e, "extra") == 1) {
            datagrams++;
            bytes += ts_int(e, "item");
        }
    }
    long long sendtos = strace_count("udp", NULL, "sendto", "sendto(", NULL);
    long long recvfroms = strace_count("udp", NULL, "recvfrom", "recvfrom(", NULL);
    cr_expect_eq(datagrams, sendtos, "datagrams: strace saw %lld sendto", sendtos);
    cr_expect_eq(count_events(evs, "sock_recv", NULL), recvfroms);
    cr_expect_eq(bytes, 10 + 20 + 30 + 40 + 2);
    cr_expect(printed("received 4 datagrams, 100 bytes"));
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec_net, unix_socket_server_and_client, .timeout = 90)
{
    json_t *snap = exec_example("unix_sock");
    json_t *s[4];
    cr_assert_eq(sockets(snap, "unix", s, 4), 3, "listener, client, accepted");
    json_t *evs = load_trace();
    cr_expect_eq(sum_events(evs, "sock_send", NULL, "item"), 16 + 8);
    cr_expect_eq(sum_events(evs, "sock_recv", NULL, "item"), 16 + 8);
    cr_expect(blocked_on(evs, ts_str(s[0], "name")), "the server waited in accept");
    cr_expect(printed("client got 8 bytes: tea time"));
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* "NAME: calls C, ready R" as the program printed it. */
static void counts(const char *name, long long *calls, long long *ready)
{
    char key[32];
    snprintf(key, sizeof(key), "%s: ", name);
    const char *p = strstr(g_out, key);
    cr_assert(p, "the program did not print %s: %s", key, g_out);
    cr_assert_eq(sscanf(p + strlen(key), "calls %lld, ready %lld", calls, ready), 2);
}

Test(exec_net, epoll_poll_and_select_interest_and_ready_sets, .timeout = 90)
{
    json_t *snap = exec_example("epoll_server");
    json_t *evs = load_trace();
    const char *names[] = {"epoll", "poll", "select"};
    const char *objs[] = {"epoll@1.ready", NULL, NULL};
    char pname[32], sname[32];
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(snap, "objects"), i, o)
    {
        const char *n = ts_str(o, "name");
        if (!strncmp(n, "poll@", 5) && strstr(n, ".ready"))
            snprintf(pname, sizeof(pname), "%s", n), objs[1] = pname;
        if (!strncmp(n, "select@", 7) && strstr(n, ".ready"))
            snprintf(sname, sizeof(sname), "%s", n), objs[2] = sname;
    }
    cr_assert(objs[1] && objs[2], "poll and select ready sets");
    for (int k = 0; k < 3; k++) {
        long long calls, ready;
        counts(k == 0 ? "epoll_wait" : names[k], &calls, &ready);
        cr_expect_eq(count_events(evs, "mux_ready", objs[k]), calls, "%s calls", names[k]);
        cr_expect_eq(sum_events(evs, "mux_ready", objs[k], "val"), ready, "%s ready", names[k]);
    }
    /* the interest set: one mux_wait per epoll_ctl (strace), last value = what is left */
    long long ctls = strace_count("epoll_server", NULL, "epoll_ctl", "epoll_ctl(", NULL);
    cr_expect_eq(count_events(evs, "mux_wait", "epoll@1"), ctls, "epoll_ctl: strace saw %lld",
                 ctls);
    cr_expect(blocked_on(evs, "epoll@1.ready"), "the server slept in epoll_wait");
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}
