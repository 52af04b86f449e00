/*
 * udp_echo.c - a UDP echo server and clients on loopback (chapter 3).
 *
 * No listen, no accept, no connection: the server binds one datagram socket and answers
 * each recvfrom with a sendto back to the address it came from; each client binds its own
 * port and sends lines one datagram at a time. Every recvfrom returns one whole datagram,
 * and the sender's port tells the server whom to answer. Snapshot keys: port,
 * datagrams_echoed, echoed_ok, boundaries_kept (replies as long as the datagram sent),
 * sender_ports.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../instr_net.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

struct ue_shared {
    long clients, messages, gap_ms;
    _Atomic int port, served, echoed_ok, senders_seen, boundaries_kept;
    _Atomic int target, extras; /* datagrams the server answers; extra senders started */
    _Atomic uint32_t sender_ports[16];
};

static struct ue_shared *S;

static const struct scenario_param params[] = {
    {"clients", "client processes", "客户端进程数", 1, 8, 2},
    {"messages", "datagrams each client sends", "每个客户端发送的数据报数", 1, 50, 3},
    {"gap_ms", "pause between a client's datagrams", "客户端每个数据报之间的停顿毫秒数", 0, 5000,
     50},
    {"extra", "one-datagram senders the 'd' key adds at start (headless tests)",
     "开始时按 'd' 增加的单个数据报发送者数", 0, 4, 0},
};

#define UE_MAX_EXTRA 8

static void note_sender(uint16_t port)
{
    int n = atomic_load(&S->senders_seen);
    for (int i = 0; i < n && i < 16; i++)
        if (atomic_load(&S->sender_ports[i]) == port)
            return;
    if (n < 16) {
        atomic_store(&S->sender_ports[n], port);
        atomic_fetch_add(&S->senders_seen, 1);
    }
}

static int server(void *arg)
{
    (void)arg;
    struct net_sock s;
    char buf[512];
    if (net_socket(&s, "server-udp", SOCK_DGRAM) < 0 || net_bind(&s, 0) < 0)
        return 1;
    net_flag_set(&S->port, s.lport);
    while (atomic_load(&S->served) < atomic_load(&S->target)) {
        uint16_t from = 0;
        ssize_t r = net_recvfrom(&s, buf, sizeof(buf), &from);
        if (r < 0)
            break;
        note_sender(from);
        if (net_sendto(&s, buf, (size_t)r, INADDR_LOOPBACK, from) == r)
            atomic_fetch_add(&S->served, 1);
    }
    net_close(&s);
    return atomic_load(&S->served) == atomic_load(&S->target) ? 0 : 1;
}

static int client(void *arg)
{
    int idx = (int)(intptr_t)arg;
    char name[INSTR_NAME_MAX], line[64], back[128];
    snprintf(name, sizeof(name), "client-%d-udp", idx + 1);
    struct net_sock s;
    if (!net_wait_flag(&S->port, "until the server binds") ||
        net_socket(&s, name, SOCK_DGRAM) < 0 || net_bind(&s, 0) < 0)
        return 1;
    for (int i = 0; i < S->messages; i++) {
        int len = snprintf(line, sizeof(line), "client-%d datagram %d", idx + 1, i + 1);
        if (net_sendto(&s, line, (size_t)len, INADDR_LOOPBACK, (uint16_t)S->port) < 0)
            break;
        ssize_t r = net_recvfrom(&s, back, sizeof(back), NULL);
        if (r < 0)
            break;
        if (r == len) /* one datagram in, one datagram out: the boundary is kept */
            atomic_fetch_add(&S->boundaries_kept, 1);
        if (r == len && memcmp(line, back, (size_t)len) == 0)
            atomic_fetch_add(&S->echoed_ok, 1);
        if (i + 1 < S->messages && sclock_sleep(S->gap_ms, 0, "the pause between datagrams") < 0)
            break;
    }
    net_close(&s);
    return 0;
}

/* A one-shot sender: a new socket, one datagram, its echo, close. No connection to set up. */
static int extra_sender(void *arg)
{
    int idx = (int)(intptr_t)arg;
    char name[INSTR_NAME_MAX], line[64], back[128];
    snprintf(name, sizeof(name), "extra-%d-udp", idx + 1);
    struct net_sock s;
    if (!net_wait_flag(&S->port, "until the server binds") ||
        net_socket(&s, name, SOCK_DGRAM) < 0 || net_bind(&s, 0) < 0)
        return 1;
    int len = snprintf(line, sizeof(line), "extra-%d one more datagram", idx + 1);
    ssize_t r = -1;
    if (net_sendto(&s, line, (size_t)len, INADDR_LOOPBACK, (uint16_t)S->port) == len)
        r = net_recvfrom(&s, back, sizeof(back), NULL);
    if (r == len && memcmp(line, back, (size_t)len) == 0)
        atomic_fetch_add(&S->echoed_ok, 1);
    if (r == len)
        atomic_fetch_add(&S->boundaries_kept, 1);
    net_close(&s);
    return 0;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "clients") + UE_MAX_EXTRA + 16);
}

/* The 'd' action (and the extra parameter): one more sender, one more datagram. */
static int act_datagram(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    if (atomic_load(&S->served) >= atomic_load(&S->target) && atomic_load(&S->port)) {
        snprintf(msg, n, "the server has already finished");
        return -ESRCH;
    }
    int idx = atomic_fetch_add(&S->extras, 1);
    if (idx >= UE_MAX_EXTRA) {
        atomic_fetch_sub(&S->extras, 1);
        snprintf(msg, n, "at most %d extra senders", UE_MAX_EXTRA);
        return -ENOSPC;
    }
    atomic_fetch_add(&S->target, 1);
    char name[32];
    snprintf(name, sizeof(name), "extra-%d", idx + 1);
    int rc = ipc_start(name, extra_sender, (void *)(intptr_t)idx, msg, n);
    if (rc < 0) {
        atomic_fetch_sub(&S->target, 1);
        return rc;
    }
    snprintf(msg, n, "%s sends one datagram: no connect, no accept, the server just answers", name);
    return 0;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->clients = scn_param(ctx, "clients");
    S->messages = scn_param(ctx, "messages");
    S->gap_ms = scn_param(ctx, "gap_ms");
    atomic_store(&S->target, (int)(S->clients * S->messages));
    int rc = net_start_workers(server, client, S->clients, err, n);
    if (rc < 0)
        return rc;
    for (long k = scn_param(ctx, "extra"); k > 0; k--) {
        rc = act_datagram(ctx, err, n);
        if (rc < 0)
            return rc;
    }
    err[0] = '\0';
    return 0;
}

static void pin_update(struct scn_ctx *ctx);

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    pin_update(ctx); /* the final numbers, also when the run ended between two polls */
    (void)m;
    int want = atomic_load(&S->target);
    if (atomic_load(&S->echoed_ok) != want) {
        snprintf(why, n, "%d of %d datagrams came back intact", atomic_load(&S->echoed_ok), want);
        return -1;
    }
    if (atomic_load(&S->senders_seen) != S->clients + atomic_load(&S->extras)) {
        snprintf(why, n, "the server saw %d sender ports, want %ld", atomic_load(&S->senders_seen),
                 S->clients + atomic_load(&S->extras));
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_object_set_new(out, "port", json_integer(atomic_load(&S->port)));
    json_object_set_new(out, "datagrams_echoed", json_integer(atomic_load(&S->served)));
    json_object_set_new(out, "echoed_ok", json_integer(atomic_load(&S->echoed_ok)));
    json_object_set_new(out, "boundaries_kept", json_integer(atomic_load(&S->boundaries_kept)));
    json_t *ports = json_array();
    for (int i = 0; i < atomic_load(&S->senders_seen) && i < 16; i++)
        json_array_append_new(ports, json_integer(atomic_load(&S->sender_ports[i])));
    json_object_set_new(out, "sender_ports", ports);
}

/* The lesson's numbers stay on top of the narration once the server has answered. */
static void pin_update(struct scn_ctx *ctx)
{
    int served = atomic_load(&S->served);
    if (!served)
        return;
    snprintf(ctx->pin, sizeof(ctx->pin),
             ctx->lang == LANG_ZH
                 ? "没有连接:服务端回显了 %d 个数据报,来自 %d 个发送端口;%d 次 recvfrom "
                   "各返回一个完整的数据报。"
                 : "No connection: the server echoed %d datagrams to %d sender ports; %d recvfrom "
                   "calls each returned one whole datagram.",
             served, atomic_load(&S->senders_seen), atomic_load(&S->boundaries_kept));
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    pin_update(ctx);
    return 0;
}

static const struct scenario_action actions[] = {
    {'d', "send one more datagram (a new sender)", "再发送一个数据报(新的发送者)", act_datagram},
};

const struct scenario scenario_udp_echo = {
    .id = "udp-echo",
    .chapter = 3,
    .title_en = "UDP echo: recvfrom and sendto",
    .title_zh = "UDP 回显:recvfrom 与 sendto",
    .summary_en = "A datagram server needs no listen and no accept: it binds one socket and "
                  "answers every recvfrom with a sendto to the address the datagram came "
                  "from. Each client binds its own port. There is no connection, so there are "
                  "no TCP states and no handshake; every recvfrom returns exactly one datagram.",
    .summary_zh = "数据报服务端不需要 listen 和 accept:绑定一个套接字,对每次 recvfrom 收到的数据报,"
                  "用 sendto 发回它的来源地址。每个客户端绑定自己的端口。没有连接,所以没有 TCP "
                  "状态、没有握手;每次 recvfrom 恰好返回一个数据报。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct ue_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = net_scn_narrate,
};
