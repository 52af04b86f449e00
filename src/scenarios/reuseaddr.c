/*
 * reuseaddr.c - binding a port again while its old connection is in TIME_WAIT (chapter 3,
 * "端口立即复用").
 *
 * A server on a kernel-chosen port serves one client and closes first, so its end of the
 * connection sits in TIME_WAIT. Restarting on the same port then fails with EADDRINUSE
 * unless SO_REUSEADDR is set. On Linux the TIME_WAIT socket remembers the flag of the socket
 * it came from: the restart succeeds only when the old listener had it too (the parameter
 * original_reuse=0 shows the failure).
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_net.h"
#include "../scenario.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct ra_shared {
    _Atomic long original_reuse; /* the 't' key flips it until the server has used it */
    _Atomic int port, time_wait_seen, done, decided;
    int used_reuse;            /* what the first listener really did */
    int err_without, err_with; /* 0 = bound, else errno */
};

static struct ra_shared *S;

static const struct scenario_param params[] = {
    {"original_reuse", "1: the first server also set SO_REUSEADDR",
     "1:第一个服务端也设置了 SO_REUSEADDR", 0, 1, 1},
};

/* Try to bind a new listener to port, with or without SO_REUSEADDR. 0 or errno. */
static int try_bind(uint16_t port, int reuse)
{
    struct net_sock s;
    if (net_socket(&s, reuse ? "restart-reuse" : "restart-plain", SOCK_STREAM) < 0)
        return EMFILE;
    if (reuse)
        net_setsockopt(&s, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
    int rc = net_bind(&s, port);
    if (rc == 0)
        rc = net_listen(&s, 1);
    net_close(&s);
    return -rc;
}

static int server(void *arg)
{
    (void)arg;
    struct net_sock ls, c;
    char buf[64];
    if (net_socket(&ls, "listener", SOCK_STREAM) < 0)
        return 1;
    atomic_store(&S->decided, 1);
    S->used_reuse = (int)atomic_load(&S->original_reuse);
    if (S->used_reuse)
        net_setsockopt(&ls, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
    if (net_bind(&ls, 0) < 0 || net_listen(&ls, 1) < 0)
        return 1;
    atomic_store(&S->port, ls.lport);
    if (net_accept(&ls, &c, "server-conn") < 0)
        return 1;
    net_recv(&c, buf, sizeof(buf));
    net_close(&c); /* the server closes first: TIME_WAIT is on its side */
    net_close(&ls);
    net_sleep_ms(50); /* the client answers FIN with FIN */
    atomic_store(&S->time_wait_seen, net_observe(&c, NULL) == NET_TIME_WAIT);
    S->err_without = try_bind(ls.lport, 0);
    S->err_with = try_bind(ls.lport, 1);
    atomic_store(&S->done, 1);
    return 0;
}

static int client(void *arg)
{
    (void)arg;
    struct net_sock s;
    char buf[64];
    if (!net_wait_flag(&S->port) || net_socket(&s, "client-conn", SOCK_STREAM) < 0 ||
        net_connect(&s, (uint16_t)atomic_load(&S->port)) < 0)
        return 1;
    net_send(&s, "hello\n", 6);
    while (net_recv(&s, buf, sizeof(buf)) > 0) /* until the server's FIN */
        ;
    net_close(&s);
    return 0;
}

/* The 't' action: flip SO_REUSEADDR on the first listener, before it is set up. */
static int act_toggle(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    if (atomic_load(&S->decided)) {
        snprintf(msg, n, "too late: the listener exists; run again with original_reuse=%d",
                 !S->original_reuse);
        return -EBUSY;
    }
    long now = !atomic_load(&S->original_reuse);
    atomic_store(&S->original_reuse, now);
    snprintf(msg, n, "the first listener will %s SO_REUSEADDR", now ? "set" : "not set");
    return 0;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->original_reuse = scn_param(ctx, "original_reuse");
    return net_start_server_client(server, client, err, n);
}

static const char *result(int e)
{
    return e ? strerrorname_np(e) : "ok";
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    (void)m;
    if (!atomic_load(&S->done)) {
        snprintf(why, n, "the server did not get to the restart");
        return -1;
    }
    if (S->err_without != EADDRINUSE) {
        snprintf(why, n, "bind without SO_REUSEADDR gave %s, want EADDRINUSE",
                 result(S->err_without));
        return -1;
    }
    int want = S->used_reuse ? 0 : EADDRINUSE;
    if (S->err_with != want) {
        snprintf(why, n, "bind with SO_REUSEADDR gave %s, want %s", result(S->err_with),
                 result(want));
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_object_set_new(out, "port", json_integer(atomic_load(&S->port)));
    json_object_set_new(out, "time_wait_seen", json_boolean(atomic_load(&S->time_wait_seen)));
    json_object_set_new(out, "original_had_reuseaddr", json_boolean(S->used_reuse));
    json_object_set_new(out, "bind_without_reuseaddr", json_string(result(S->err_without)));
    json_object_set_new(out, "bind_with_reuseaddr", json_string(result(S->err_with)));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    if (e->kind == EV_SOCK_BIND && e->aux == -EADDRINUSE) {
        snprintf(buf, n,
                 zh ? "bind 失败:EADDRINUSE。旧连接还在 TIME_WAIT,占着这个端口;设置 SO_REUSEADDR "
                      "才能立即复用(Linux 要求旧套接字也设置过)。"
                    : "bind failed with EADDRINUSE: the old connection is still in TIME_WAIT on "
                      "this port. SO_REUSEADDR allows reuse at once (on Linux the old socket "
                      "must have had it too).");
        return 1;
    }
    return net_narrate(m, e, lang, buf, n);
}

static const struct scenario_action actions[] = {
    {'t', "toggle SO_REUSEADDR on the first listener", "切换第一个监听套接字的 SO_REUSEADDR",
     act_toggle},
};

const struct scenario scenario_reuseaddr = {
    .id = "reuseaddr",
    .chapter = 3,
    .title_en = "SO_REUSEADDR: restarting a server during TIME_WAIT",
    .title_zh = "SO_REUSEADDR:TIME_WAIT 期间重启服务端",
    .summary_en = "The server closes its connection first, so its side is left in TIME_WAIT "
                  "for 60 s. A restarted server binding the same port gets EADDRINUSE; with "
                  "s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) the bind succeeds at once. On "
                  "Linux the old listener must have set the option too.",
    .summary_zh =
        "服务端先关闭连接,它这一端在 TIME_WAIT 中停留 60 秒。重启的服务端绑定同一端口会得到 "
        "EADDRINUSE;设置 s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) 后可以立即绑定。"
        "在 Linux 上旧的监听套接字也必须设置过这个选项。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct ra_shared),
    .setup = setup,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
