/*
 * tcp_echo.c - the TCP server and client steps of the course notes, one call at a time
 * (chapter 2).
 *
 * The server process does socket, bind (127.0.0.1, port chosen by the kernel), listen,
 * then accept, recv/send until EOF, close, once per client; client processes do socket,
 * connect, send/recv each line, close. Stepped, every call waits for a keypress; the socket
 * objects follow their kernel TCP states (LISTEN, ESTABLISHED, FIN_WAIT2, CLOSE_WAIT ...).
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

#define TE_MAX_CLIENTS 16

struct te_shared {
    long clients, messages, gap_ms;
    struct net_clients cl;
    _Atomic int port, served, echoed_ok, failures;
    _Atomic uint32_t server_states, client_states, listener_states;
    uint32_t listener_id;
};

static struct te_shared *S;

static const struct scenario_param params[] = {
    {"clients", "clients, served one after another", "客户端数量(依次服务)", 1, 8, 1},
    {"messages", "lines each client sends", "每个客户端发送的行数", 1, 20, 3},
    {"gap_ms", "pause between a client's lines", "客户端每行之间的停顿毫秒数", 0, 5000, 100},
    {"extra", "clients the 'c' key adds at start (headless tests)", "开始时按 'c' 增加的客户端数",
     0, 4, 0},
};

/* The bit of TCP state st in a set of states; none when the look failed (st < 0). */
static unsigned state_bit(int st)
{
    return st > 0 && st < 32 ? 1u << st : 0;
}

static int server(void *arg)
{
    (void)arg;
    struct net_sock ls, c;
    if (net_socket(&ls, "listener", SOCK_STREAM) < 0 || net_bind(&ls, 0) < 0 ||
        net_listen(&ls, 5) < 0)
        return 1;
    S->listener_id = ls.o->id;
    atomic_fetch_or(&S->listener_states, state_bit(net_observe(&ls, NULL)));
    net_flag_set(&S->port, ls.lport);
    for (int k = 0; atomic_load(&S->served) < atomic_load(&S->cl.target); k++) {
        char name[INSTR_NAME_MAX];
        snprintf(name, sizeof(name), "conn-%d", k + 1);
        if (net_accept(&ls, &c, name) < 0)
            break;
        atomic_fetch_or(&S->server_states, state_bit(net_observe(&c, NULL)));
        net_echo_handle(&c); /* until the client's FIN: now CLOSE_WAIT */
        atomic_fetch_or(&S->server_states, state_bit(net_observe(&c, NULL)));
        net_close(&c);
        atomic_fetch_add(&S->served, 1);
    }
    net_close(&ls);
    return 0;
}

static int client(void *arg)
{
    int idx = (int)(intptr_t)arg;
    char tag[24];
    snprintf(tag, sizeof(tag), "client-%d", idx + 1);
    if (!net_wait_flag(&S->port, "until the server listens"))
        return 1;
    int ok = net_echo_client((uint16_t)atomic_load(&S->port), tag, (int)S->messages, S->gap_ms);
    if (ok < 0)
        atomic_fetch_add(&S->failures, 1);
    else
        atomic_fetch_add(&S->echoed_ok, ok);
    return ok == S->messages ? 0 : 1;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "clients") + 16);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->clients = scn_param(ctx, "clients");
    S->messages = scn_param(ctx, "messages");
    S->gap_ms = scn_param(ctx, "gap_ms");
    S->cl.max = TE_MAX_CLIENTS;
    S->cl.fn = client;
    return net_server_start(&S->cl, server, S->clients + scn_param(ctx, "extra"), err, n);
}

static int act_add_client(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    if (atomic_load(&S->served) >= atomic_load(&S->cl.target)) {
        snprintf(msg, n, "the server has already finished");
        return -ESRCH;
    }
    int rc = net_client_spawn(&S->cl, 0, msg, n);
    if (rc == 0)
        snprintf(msg, n, "client-%d queues up: the server is iterative, one client at a time",
                 atomic_load(&S->cl.started));
    return rc;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    if (scn_workers_ended_well(m, why, n) < 0)
        return -1;
    int want = atomic_load(&S->cl.target);
    if (atomic_load(&S->served) != want) {
        snprintf(why, n, "the server served %d of %d clients", atomic_load(&S->served), want);
        return -1;
    }
    if (atomic_load(&S->echoed_ok) != want * S->messages) {
        snprintf(why, n, "%d of %ld lines came back intact", atomic_load(&S->echoed_ok),
                 want * S->messages);
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    json_object_set_new(out, "port", json_integer(atomic_load(&S->port)));
    json_object_set_new(out, "clients", json_integer(atomic_load(&S->cl.target)));
    json_object_set_new(out, "served", json_integer(atomic_load(&S->served)));
    json_object_set_new(out, "echoed_ok", json_integer(atomic_load(&S->echoed_ok)));
    json_t *seen = json_object();
    json_object_set_new(
        seen, "listener",
        net_states_json(atomic_load(&S->listener_states) | net_model_states(m, S->listener_id)));
    json_object_set_new(seen, "server_conn", net_states_json(atomic_load(&S->server_states)));
    json_object_set_new(out, "tcp_states_seen", seen);
}

/* Called at every turn of the conductor: once every client has been served, pin what the
 * summary promises (each line came back), with this run's counts. Never ends the run. */
static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    int served = atomic_load(&S->served), want = atomic_load(&S->cl.target);
    if (!want || served < want)
        return 0;
    int zh = ctx->lang == LANG_ZH;
    snprintf(ctx->pin, sizeof(ctx->pin),
             zh ? "服务端依次服务了 %d 个客户端,%d/%ld 行原样回显。accept() 在无人连接时阻塞,"
                  "recv() 在没有数据时阻塞;客户端的 FIN 让 recv() 返回 0,服务端随即关闭连接。"
                : "The server served %d client(s), one after another: %d of %ld lines came back "
                  "intact. accept() blocked while nobody connected, recv() while nothing had "
                  "arrived; the client's FIN made recv() return 0, and the server closed.",
             served, atomic_load(&S->echoed_ok), want * S->messages);
    return 0;
}

static const struct scenario_action actions[] = {
    {'c', "add a client (it waits its turn)", "增加一个客户端(排队等候)", act_add_client},
};

const struct scenario scenario_tcp_echo = {
    .id = "tcp-echo",
    .chapter = 2,
    .title_en = "TCP echo: socket, bind, listen, accept, recv, send, close",
    .title_zh = "TCP 回显:socket、bind、listen、accept、recv、send、close",
    .summary_en = "The server and client steps of the notes, one real call at a time on "
                  "127.0.0.1. The server binds a port the kernel picks, listens, and for each "
                  "client accepts a new connected socket, echoes every line until recv returns "
                  "0 (the client's FIN), and closes it. Step it and watch which call blocks: "
                  "accept while nobody connects, recv while nothing has arrived.",
    .summary_zh =
        "按笔记中的服务端和客户端步骤,在 127.0.0.1 上一次执行一个真实调用。服务端绑定内核"
        "选择的端口并监听,对每个客户端 accept 得到一个新的连接套接字,回显每一行,直到 recv "
        "返回 0(客户端发来 FIN)后关闭。单步执行,观察哪个调用会阻塞:无人连接时的 accept,"
        "无数据时的 recv。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct te_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = net_scn_narrate,
};
