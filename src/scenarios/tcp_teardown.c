/*
 * tcp_teardown.c - the four-way goodbye, half-close and TIME_WAIT (chapter 2).
 *
 * One connection on loopback; one side closes first (the active closer, chosen by the
 * `closer` parameter or a key). It goes FIN_WAIT1 -> FIN_WAIT2 while the other side sits in
 * CLOSE_WAIT for hold_ms; when that side closes too it passes LAST_ACK and the active
 * closer ends in TIME_WAIT (2*MSL, 60 s on Linux). With half_close=1 the active side uses
 * shutdown(SHUT_WR) instead and still reads the reply sent after its FIN. A watcher process
 * samples sock_diag every millisecond, so the states are kernel evidence even without eBPF.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_net.h"
#include "../scenario.h"
#include "../sources/sockdiag.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct td_shared {
    long closer_param, half_close, hold_ms;
    _Atomic int closer; /* 0 client, 1 server: who closes first */
    _Atomic int port, cport, connected, done, after_fin_bytes;
    _Atomic uint32_t seen[2]; /* states sock_diag showed: [0] client end, [1] server end */
    uint32_t obj_id[2];
};

static struct td_shared *S;

static const struct scenario_param params[] = {
    {"closer", "who closes first: 0 client, 1 server", "谁先关闭:0 客户端,1 服务端", 0, 1, 0},
    {"half_close", "1: the closer uses shutdown(SHUT_WR) and keeps reading",
     "1:先关闭方用 shutdown(SHUT_WR) 半关闭并继续读", 0, 1, 0},
    {"hold_ms", "how long the passive side stays in CLOSE_WAIT", "被动方停留在 CLOSE_WAIT 的毫秒数",
     0, 10000, 500},
};

/* The active closer: close (or shut down writing and read what still comes), then look. */
static void active_close(struct net_sock *s)
{
    char buf[128];
    if (S->half_close) {
        net_shutdown(s, SHUT_WR);
        ssize_t r;
        while ((r = net_recv(s, buf, sizeof(buf))) > 0)
            atomic_fetch_add(&S->after_fin_bytes, (int)r); /* data after our FIN */
    } else {
        net_recv_nowait(s, buf, sizeof(buf));
    }
    net_close(s);
    net_sleep_ms(S->half_close ? 20 : S->hold_ms + 50); /* the peer closes; FIN arrives */
    net_observe(s, NULL);                               /* TIME_WAIT, from the kernel */
}

/* The passive side: read until EOF (the peer's FIN: CLOSE_WAIT), wait, answer, close. */
static void passive_close(struct net_sock *s)
{
    char buf[128];
    while (net_recv(s, buf, sizeof(buf)) > 0)
        ;
    net_sleep_ms(S->hold_ms);
    if (S->half_close)
        net_send(s, "still here after your FIN\n", 26);
    net_close(s);
}

static int endpoint(struct net_sock *s, int is_server)
{
    char hello[18];
    net_send(s, is_server ? "hello from server\n" : "hello from client\n", 18);
    for (ssize_t got = 0, r = 1; got < 18 && r > 0; got += r)
        r = net_recv(s, hello + got, (size_t)(18 - got)); /* the peer's hello */
    atomic_fetch_add(&S->connected, 1);
    while (atomic_load(&S->connected) < 2 && !net_stopping())
        net_sleep_ms(2);
    net_sleep_ms(100);
    if (atomic_load(&S->closer) == is_server)
        active_close(s);
    else
        passive_close(s);
    atomic_fetch_add(&S->done, 1);
    return 0;
}

static int server(void *arg)
{
    (void)arg;
    struct net_sock ls, c;
    if (net_socket(&ls, "listener", SOCK_STREAM) < 0 || net_bind(&ls, 0) < 0 ||
        net_listen(&ls, 1) < 0)
        return 1;
    atomic_store(&S->port, ls.lport);
    int rc = net_accept(&ls, &c, "server-conn");
    net_close(&ls);
    if (rc < 0)
        return 1;
    S->obj_id[1] = c.o->id;
    return endpoint(&c, 1);
}

static int client(void *arg)
{
    (void)arg;
    struct net_sock s;
    if (!net_wait_flag(&S->port) || net_socket(&s, "client-conn", SOCK_STREAM) < 0)
        return 1;
    S->obj_id[0] = s.o->id;
    if (net_connect(&s, (uint16_t)atomic_load(&S->port)) < 0)
        return 1;
    atomic_store(&S->cport, s.lport);
    return endpoint(&s, 0);
}

/* Sample both ends in the kernel's table every millisecond until both are done and the
 * closer's end has settled. */
static int watcher(void *arg)
{
    (void)arg;
    if (!net_wait_flag(&S->cport))
        return 1;
    uint16_t sp = (uint16_t)atomic_load(&S->port), cp = (uint16_t)atomic_load(&S->cport);
    for (int i = 0; i < 20000 && !net_stopping(); i++) {
        int st;
        if (sockdiag_lookup(cp, sp, &st, NULL, NULL) == 0)
            atomic_fetch_or(&S->seen[0], 1u << st);
        if (sockdiag_lookup(sp, cp, &st, NULL, NULL) == 0)
            atomic_fetch_or(&S->seen[1], 1u << st);
        int closer = atomic_load(&S->closer);
        if (atomic_load(&S->done) == 2 && (atomic_load(&S->seen[closer]) & (1u << NET_TIME_WAIT)))
            break;
        net_sleep_ms(1);
    }
    return 0;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->closer_param = scn_param(ctx, "closer");
    S->half_close = scn_param(ctx, "half_close");
    S->hold_ms = scn_param(ctx, "hold_ms");
    atomic_store(&S->closer, (int)S->closer_param);
    const char *names[] = {"server", "client", "watcher"};
    int (*fns[])(void *) = {server, client, watcher};
    for (int i = 0; i < 3; i++) {
        pid_t pid = instr_spawn(names[i], fns[i], NULL, 0);
        if (pid < 0) {
            snprintf(err, n, "cannot start %s: %s", names[i], strerror((int)-pid));
            return (int)pid;
        }
    }
    return 0;
}

static int act_server_first(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    if (atomic_load(&S->connected) >= 2) {
        snprintf(msg, n, "too late: the goodbye has started");
        return -EBUSY;
    }
    atomic_store(&S->closer, 1);
    snprintf(msg, n, "the server will close first: TIME_WAIT moves to the server");
    return 0;
}

static uint32_t seen_of(const struct model *m, int side)
{
    return atomic_load(&S->seen[side]) | net_model_states(m, S->obj_id[side]);
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    int a = atomic_load(&S->closer), p = !a;
    const char *who[] = {"client", "server"};
    if (!(seen_of(m, a) & (1u << NET_TIME_WAIT))) {
        snprintf(why, n, "the active closer (%s) was never seen in TIME_WAIT", who[a]);
        return -1;
    }
    if (seen_of(m, p) & (1u << NET_TIME_WAIT)) {
        snprintf(why, n, "the passive side (%s) went through TIME_WAIT", who[p]);
        return -1;
    }
    if (!(seen_of(m, p) & (1u << NET_CLOSE_WAIT))) {
        snprintf(why, n, "the passive side (%s) was never seen in CLOSE_WAIT", who[p]);
        return -1;
    }
    if (S->half_close && atomic_load(&S->after_fin_bytes) <= 0) {
        snprintf(why, n, "after shutdown(SHUT_WR) the closer read nothing more");
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    int a = atomic_load(&S->closer);
    const char *who[] = {"client", "server"};
    json_object_set_new(out, "active_closer", json_string(who[a]));
    json_object_set_new(out, "server_port", json_integer(atomic_load(&S->port)));
    json_object_set_new(out, "client_port", json_integer(atomic_load(&S->cport)));
    json_t *seen = json_object();
    json_object_set_new(seen, "client", net_states_json(seen_of(m, 0)));
    json_object_set_new(seen, "server", net_states_json(seen_of(m, 1)));
    json_object_set_new(out, "tcp_states_seen", seen);
    const char *tw = (seen_of(m, 0) & (1u << NET_TIME_WAIT))   ? "client"
                     : (seen_of(m, 1) & (1u << NET_TIME_WAIT)) ? "server"
                                                               : "none";
    json_object_set_new(out, "time_wait_on", json_string(tw));
    json_object_set_new(out, "bytes_after_fin", json_integer(atomic_load(&S->after_fin_bytes)));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    if (e->kind == EV_TCP_STATE && e->val == NET_TIME_WAIT) {
        snprintf(buf, n,
                 zh ? "主动关闭方进入 TIME_WAIT:它要等 2MSL(Linux 上 60 秒),确保最后一个 ACK "
                      "送达、旧报文消失,之后这对地址端口才能重用。"
                    : "The active closer is in TIME_WAIT: it waits 2*MSL (60 s on Linux) so its "
                      "last ACK can be resent and old segments die out before these ports are "
                      "reused.");
        return 1;
    }
    if (e->kind == EV_TCP_STATE && e->val == NET_CLOSE_WAIT) {
        snprintf(buf, n,
                 zh ? "被动方收到 FIN,进入 CLOSE_WAIT:内核已回 ACK,但应用还没调用 close()。"
                    : "The passive side got the FIN and is in CLOSE_WAIT: the kernel ACKed it, "
                      "but the application has not called close() yet.");
        return 1;
    }
    return net_narrate(m, e, lang, buf, n);
}

static const struct scenario_action actions[] = {
    {'s', "let the server close first", "让服务端先关闭", act_server_first},
};

const struct scenario scenario_tcp_teardown = {
    .id = "tcp-teardown",
    .chapter = 2,
    .title_en = "TCP teardown: FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT",
    .title_zh = "TCP 四次挥手:FIN_WAIT、CLOSE_WAIT、LAST_ACK、TIME_WAIT",
    .summary_en = "One connection says goodbye. The side that closes first sends FIN and goes "
                  "FIN_WAIT1 then FIN_WAIT2; the other side is in CLOSE_WAIT until its "
                  "application closes too (LAST_ACK). Only the side that closed first ends in "
                  "TIME_WAIT. With half_close=1 it uses shutdown(SHUT_WR) and still receives "
                  "what the peer sends after the FIN.",
    .summary_zh =
        "一个连接的挥手过程。先关闭的一方发送 FIN,经历 FIN_WAIT1、FIN_WAIT2;另一方处于 "
        "CLOSE_WAIT,直到它的应用也关闭(LAST_ACK)。只有先关闭的一方最后进入 TIME_WAIT。"
        "half_close=1 时先关闭方使用 shutdown(SHUT_WR),在 FIN 之后仍能收到对方发来的数据。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct td_shared),
    .setup = setup,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
