/*
 * reuseaddr.c - binding a port again while its old connection is in TIME_WAIT (chapter 3,
 * "端口立即复用").
 *
 * A server on a kernel-chosen port serves one client and closes first, so its end of the
 * connection sits in TIME_WAIT. Restarting on the same port then fails with EADDRINUSE
 * unless SO_REUSEADDR is set. On Linux the TIME_WAIT socket remembers the flag of the socket
 * it came from: the restart succeeds only when the old listener had it too (the parameter
 * original_reuse=0 shows the failure). The server waits for TIME_WAIT as a condition (the
 * kernel's answer through sock_diag), and before each restart it asks the kernel again: the
 * narration says the state the kernel showed at that moment. Snapshot keys: port,
 * time_wait_seen, original_had_reuseaddr, bind_without_reuseaddr, bind_with_reuseaddr (errno
 * names or "ok"), old_state_at_binds {without, with} (the old connection's state then).
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_net.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* The server's EV_VAR before each restart attempt: item RA_OBSERVED, val = the old
 * connection's TCP state as the kernel reports it (sock_diag, what ss shows; 0: gone),
 * aux = the port. The narration of the bind that follows says that state. */
enum { RA_OBSERVED = 0 };

/* The reason of the server's block on its old connection while it waits for TIME_WAIT. */
enum { RA_WHY_TIME_WAIT = 100 };

struct ra_shared {
    _Atomic long original_reuse; /* the 't' key flips it until the server has used it */
    _Atomic int port, time_wait_seen, done, decided;
    _Atomic int client_closed;     /* set (and woken) once the client has closed its end */
    int used_reuse;                /* what the first listener really did */
    int err_without, err_with;     /* 0 = bound, else errno */
    int state_without, state_with; /* the old connection's state at each attempt */
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

/* Ask the kernel for the old connection's TCP state and record it (see RA_OBSERVED). */
static int observe(struct net_sock *old)
{
    int state = net_observe(old, NULL);
    if (state < 0)
        state = 0;
    instr_emit(EV_VAR, EV_NO_OBJ, state, RA_OBSERVED, old->lport);
    return state;
}

static int client_closed(void *arg)
{
    (void)arg;
    return atomic_load(&S->client_closed);
}

/* After the server's close: wait until the client has closed too (stepped, the client's recv
 * and close come first), then until the kernel shows the server's end in TIME_WAIT (the
 * client's FIN is processed in the kernel's own time, a few ms at most). Shown blocked on the
 * old connection meanwhile; never a step; the first wait is bounded in a free run only. */
static int wait_time_wait(struct net_sock *old)
{
    if (old->o)
        instr_block(old->o, RA_WHY_TIME_WAIT);
    int seen = 0;
    if (net_wait_until(&S->client_closed, client_closed, NULL, NET_WAIT_MS,
                       "until the client closes"))
        for (int i = 0; i < 1000 && !(seen = net_observe(old, NULL) == NET_TIME_WAIT); i++)
            if (sclock_poll(1) < 0)
                break;
    if (old->o)
        instr_unblock(old->o);
    return seen;
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
    net_flag_set(&S->port, ls.lport);
    if (net_accept(&ls, &c, "server-conn") < 0)
        return 1;
    net_recv(&c, buf, sizeof(buf));
    net_close(&c); /* the server closes first: TIME_WAIT is on its side */
    net_close(&ls);
    atomic_store(&S->time_wait_seen, wait_time_wait(&c));
    S->state_without = observe(&c);
    S->err_without = try_bind(ls.lport, 0);
    S->state_with = observe(&c);
    S->err_with = try_bind(ls.lport, 1);
    atomic_store(&S->done, 1);
    return 0;
}

static int client(void *arg)
{
    (void)arg;
    struct net_sock s;
    char buf[64];
    if (!net_wait_flag(&S->port, "until the server listens") ||
        net_socket(&s, "client-conn", SOCK_STREAM) < 0 ||
        net_connect(&s, (uint16_t)atomic_load(&S->port)) < 0)
        return 1;
    net_send(&s, "hello\n", 6);
    while (net_recv(&s, buf, sizeof(buf)) > 0) /* until the server's FIN */
        ;
    net_close(&s);
    atomic_store(&S->client_closed, 1);
    net_wake(&S->client_closed);
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

/* A state as the snapshot names it; "gone" when the kernel no longer had the socket. */
static const char *state_name(int state)
{
    return state > 0 ? net_state_name(state) : "gone";
}

static const char *result(int e)
{
    return e ? strerrorname_np(e) : "ok";
}

static void pin_update(struct scn_ctx *ctx);

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    pin_update(ctx); /* the final numbers, also when the run ended between two polls */
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
    json_object_set_new(out, "old_state_at_binds",
                        json_pack("{s:s, s:s}", "without", state_name(S->state_without), "with",
                                  state_name(S->state_with)));
}

/* The old connection's state the server saw last before event e (0: not seen). */
static int observed_before(const struct model *m, const struct ev *e)
{
    int state = 0;
    for (size_t i = 0; i < m->hist_len; i++) {
        const struct ev *h = model_hist(m, i);
        if (!h || h->t > e->t)
            break;
        if (h->kind == EV_VAR && h->obj == EV_NO_OBJ && h->item == RA_OBSERVED)
            state = (int)h->val;
    }
    return state;
}

/* What the kernel's answer means for the port. */
static const char *state_meaning(int state, int zh)
{
    switch (state) {
    case NET_TIME_WAIT:
        return zh ? "它先关闭,所以这一端要等待 2·MSL(Linux 上 60 秒)才释放端口"
                  : "it closed first, so its end waits 2·MSL (60 s on Linux) before the port is "
                    "free";
    case NET_FIN_WAIT2:
        return zh ? "它的 FIN 已被确认,客户端还没有关闭"
                  : "its FIN was acknowledged; the client has not closed yet";
    case 0:
        return zh ? "内核已经没有这个套接字了" : "the kernel no longer has it";
    default:
        return zh ? "连接还没有结束" : "the connection is not over yet";
    }
}

static int narrate_bind(const struct model *m, const struct ev *e, int zh, char *buf, size_t n)
{
    const struct model_obj *o = e->obj < m->nobjs ? &m->objs[e->obj] : NULL;
    int reuse = o && strcmp(o->name, "restart-reuse") == 0;
    const char *st = state_name(observed_before(m, e));
    if (e->aux == -EADDRINUSE && !reuse)
        snprintf(
            buf, n,
            zh ? "bind 失败:EADDRINUSE。端口 %lld 仍被旧连接占用,内核显示它处于 %s。设置 "
                 "SO_REUSEADDR 才能立即复用(Linux 要求旧套接字也设置过)。"
               : "bind failed with EADDRINUSE: port %lld is still taken by the old connection, "
                 "which the kernel shows in %s. SO_REUSEADDR allows reuse at once (on Linux "
                 "only when the old socket had it too).",
            (long long)e->item, st);
    else if (e->aux == -EADDRINUSE)
        snprintf(buf, n,
                 zh ? "即使设置了 SO_REUSEADDR,bind 仍然失败:EADDRINUSE。旧连接处于 %s,而在 Linux "
                      "上它保留着原来套接字的选项:旧的监听套接字没有设置 SO_REUSEADDR。"
                    : "bind failed with EADDRINUSE even with SO_REUSEADDR: the old connection is "
                      "in %s, and on Linux it keeps the option of the socket it came from; the "
                      "old listener did not set SO_REUSEADDR.",
                 st);
    else if (e->aux == 0 && reuse)
        snprintf(buf, n,
                 zh ? "设置了 SO_REUSEADDR,bind 立即成功,端口 %lld,尽管内核仍显示旧连接处于 %s。"
                    : "With SO_REUSEADDR the bind to port %lld succeeds at once, although the "
                      "kernel still shows the old connection in %s.",
                 (long long)e->val, st);
    else
        return 0;
    return 1;
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    if (e->kind == EV_VAR && e->obj == EV_NO_OBJ && e->item == RA_OBSERVED) {
        snprintf(buf, n,
                 zh ? "内核(sock_diag,即 ss -tan 所见)显示旧连接 127.0.0.1:%lld 处于 %s:%s。"
                    : "The kernel (sock_diag, what ss -tan shows) has the old connection "
                      "127.0.0.1:%lld in %s: %s.",
                 (long long)e->aux, state_name((int)e->val), state_meaning((int)e->val, zh));
        return 1;
    }
    if (e->kind == EV_SOCK_BIND && narrate_bind(m, e, zh, buf, n))
        return 1;
    if (e->kind == EV_BLOCK && e->aux == RA_WHY_TIME_WAIT) {
        snprintf(buf, n,
                 zh ? "服务端等待客户端的 FIN:收到后它这一端进入 TIME_WAIT(它先关闭)。"
                    : "The server waits for the client's FIN: then its end of the connection "
                      "enters TIME_WAIT (it closed first).");
        return 1;
    }
    return net_narrate(m, e, lang, buf, n);
}

/* The lesson's result stays on top of the narration once both restarts were tried. */
static void pin_update(struct scn_ctx *ctx)
{
    if (!atomic_load(&S->done))
        return;
    snprintf(ctx->pin, sizeof(ctx->pin),
             ctx->lang == LANG_ZH
                 ? "端口 %d,旧连接处于 %s:不设 SO_REUSEADDR 的 bind → %s;设置后 → %s。"
                 : "Port %d, old connection in %s: bind without SO_REUSEADDR → %s; with it → %s.",
             atomic_load(&S->port), state_name(S->state_with), result(S->err_without),
             result(S->err_with));
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    pin_update(ctx);
    return 0;
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
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
