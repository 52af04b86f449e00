/*
 * udp_broadcast.c - one datagram to every receiver: SO_BROADCAST on loopback (chapter 3).
 *
 * Receivers bind 127.255.255.255 (the broadcast address of lo's 127.0.0.0/8; nothing
 * outside loopback) on one shared port with SO_REUSEADDR. The sender first tries sendto the
 * broadcast address without SO_BROADCAST (the kernel refuses: EACCES), then sets it and
 * sends each message once and waits until every receiver has it (a condition, not a timer:
 * stepped, the receivers' recvfrom steps come before the next broadcast). Should a kernel not
 * deliver broadcast on lo, the sender says so and falls back to one sendto per receiver.
 * Snapshot keys: port, address, without_so_broadcast (the errno name, or "ok"),
 * broadcast_on_lo, datagrams_sent, received and arrived (per receiver: read, and in its socket
 * whether read yet or not).
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_net.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define UB_MAX 8
#define UB_BCAST 0x7fffffffu /* 127.255.255.255 */

struct ub_shared {
    long receivers, messages;
    _Atomic int port, bound, denied_errno, fallback, sent_datagrams;
    _Atomic int total, sender_done; /* messages to broadcast (the 'm' key adds one) */
    _Atomic int progress;           /* changed (and woken) when a receiver binds or receives */
    _Atomic int got[UB_MAX];
    _Atomic int arrived[UB_MAX];    /* datagrams that reached the receiver, read or not yet */
    _Atomic uint32_t rport[UB_MAX]; /* each receiver's own unicast port (fallback) */
};

static struct ub_shared *S;

static const struct scenario_param params[] = {
    {"receivers", "receiver processes", "接收进程数", 1, UB_MAX, 3},
    {"messages", "broadcasts to send", "广播的消息数", 1, 20, 3},
    {"more", "messages the 'm' key adds at start (headless tests)", "开始时按 'm' 增加的消息数", 0,
     5, 0},
};

#define UB_DELIVERY_MS 1000 /* free run: how long a datagram may take to arrive on lo */

/* Receiver idx has everything there will be. */
static int all_received(int idx)
{
    return atomic_load(&S->sender_done) && atomic_load(&S->got[idx]) >= atomic_load(&S->total);
}

/* Wait until a datagram is queued on the broadcast socket b or the unicast fallback u, shown
 * blocked on b meanwhile. The socket to read, or NULL (everything received, the run stops, or
 * nothing came for NET_WAIT_MS in a free run; while stepping it waits as long as it takes). */
static struct net_sock *wait_datagram(struct net_sock *b, struct net_sock *u, int idx)
{
    struct sclock_wait w;
    sclock_wait_begin(&w, NET_WAIT_MS, SCLOCK_SAFETY, EV_NOTE, EV_NO_OBJ);
    struct net_sock *ready = NULL;
    int marked = 0;
    long slice = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = b->fd, .events = POLLIN}, {.fd = u->fd, .events = POLLIN}};
        if (poll(p, 2, (int)slice) > 0) {
            ready = p[0].revents ? b : u;
            break;
        }
        /* a receiver still owed a message sleeps until it comes; one that has them all
         * looks every 200 ms for the sender's end (or the 'm' key's one more) */
        int owed = atomic_load(&S->got[idx]) < atomic_load(&S->total);
        if (net_stopping() || all_received(idx) ||
            (slice = owed ? sclock_idle_slice(&w, 200) : sclock_wait_slice(&w, 200)) <= 0)
            break;
        if (!marked && b->o)
            instr_block(b->o, NET_WHY_RECV);
        marked = 1;
    }
    if (marked && b->o)
        instr_unblock(b->o);
    sclock_wait_end(&w);
    return ready;
}

static int receiver(void *arg)
{
    int idx = (int)(intptr_t)arg;
    char name[INSTR_NAME_MAX], buf[128];
    snprintf(name, sizeof(name), "rx-%d", idx + 1);
    struct net_sock s, u;
    if (net_socket(&s, name, SOCK_DGRAM) < 0)
        return 1;
    net_setsockopt(&s, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
    if (idx > 0 && !net_wait_flag(&S->port, "until receiver-1 binds"))
        return 1;
    if (net_bind_addr(&s, UB_BCAST, (uint16_t)atomic_load(&S->port)) < 0)
        return 1;
    if (idx == 0)
        net_flag_set(&S->port, s.lport); /* the first picks the port, the others share it */
    snprintf(name, sizeof(name), "rx-%d-unicast", idx + 1); /* only for the fallback */
    if (net_socket(&u, name, SOCK_DGRAM) < 0 || net_bind(&u, 0) < 0)
        return 1;
    atomic_store(&S->rport[idx], u.lport);
    atomic_fetch_add(&S->bound, 1);
    atomic_fetch_add(&S->progress, 1);
    net_wake(&S->progress);
    while (!all_received(idx)) {
        struct net_sock *from = wait_datagram(&s, &u, idx);
        if (from) /* in its socket now; recvfrom() may wait at the step gate */
            atomic_fetch_add(&S->arrived[idx], 1);
        if (!from || net_recvfrom(from, buf, sizeof(buf), NULL) < 0)
            break;
        atomic_fetch_add(&S->got[idx], 1);
        atomic_fetch_add(&S->progress, 1);
        net_wake(&S->progress);
    }
    net_close(&s);
    net_close(&u);
    return atomic_load(&S->got[idx]) == atomic_load(&S->total) ? 0 : 1;
}

static int bound_all(void *arg)
{
    (void)arg;
    return atomic_load(&S->bound) >= S->receivers;
}

/* Every receiver has received message *(int *)arg. */
static int delivered(void *arg)
{
    int k = *(int *)arg;
    for (int i = 0; i < S->receivers; i++)
        if (atomic_load(&S->got[i]) <= k)
            return 0;
    return 1;
}

/* Message k as one broadcast; when lo does not deliver it (in a free run, within
 * UB_DELIVERY_MS), say so and send it to each receiver that lacks it. */
static void send_message(struct net_sock *s, int k, uint16_t port)
{
    char msg[64];
    int len = snprintf(msg, sizeof(msg), "broadcast %d", k + 1);
    if (!atomic_load(&S->fallback)) {
        if (net_sendto(s, msg, (size_t)len, UB_BCAST, port) == len)
            atomic_fetch_add(&S->sent_datagrams, 1);
        if (net_wait_until(&S->progress, delivered, &k, UB_DELIVERY_MS, "until receivers got it") ||
            net_stopping())
            return;
        atomic_store(&S->fallback, 1);
        instr_note("no broadcast on lo: unicast");
    }
    for (int i = 0; i < S->receivers; i++)
        if (atomic_load(&S->got[i]) <= k && net_sendto(s, msg, (size_t)len, INADDR_LOOPBACK,
                                                       (uint16_t)atomic_load(&S->rport[i])) == len)
            atomic_fetch_add(&S->sent_datagrams, 1);
    net_wait_until(&S->progress, delivered, &k, NET_WAIT_MS, "until receivers got it");
}

static int sender(void *arg)
{
    (void)arg;
    struct net_sock s;
    if (!net_wait_flag(&S->port, "until receiver-1 binds") ||
        !net_wait_until(&S->progress, bound_all, NULL, NET_WAIT_MS, "until receivers bind") ||
        net_socket(&s, "sender", SOCK_DGRAM) < 0 || net_bind(&s, 0) < 0)
        return 1;
    uint16_t port = (uint16_t)atomic_load(&S->port);
    ssize_t r = net_sendto(&s, "no permission", 13, UB_BCAST, port); /* no SO_BROADCAST yet */
    atomic_store(&S->denied_errno, r < 0 ? (int)-r : 0);
    net_setsockopt(&s, SOL_SOCKET, SO_BROADCAST, 1, "SO_BROADCAST");
    for (int k = 0; k < atomic_load(&S->total) && !net_stopping(); k++)
        send_message(&s, k, port);
    atomic_store(&S->sender_done, 1);
    net_close(&s);
    return 0;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "receivers") + 16);
}

/* The 'm' action: one more broadcast, which every receiver gets. */
static int act_more(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    if (atomic_load(&S->sender_done)) {
        snprintf(msg, n, "the sender has already finished");
        return -ESRCH;
    }
    int k = atomic_fetch_add(&S->total, 1) + 1;
    snprintf(msg, n, "broadcast %d: one sendto, every receiver gets a copy", k);
    return 0;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->receivers = scn_param(ctx, "receivers");
    S->messages = scn_param(ctx, "messages");
    atomic_store(&S->total, (int)S->messages);
    for (long k = scn_param(ctx, "more"); k > 0; k--)
        act_more(ctx, err, n);
    pid_t pid = 0;
    for (long i = 0; pid >= 0 && i < S->receivers; i++) {
        char name[32];
        snprintf(name, sizeof(name), "receiver-%d", (int)i + 1);
        pid = instr_spawn(name, receiver, (void *)(intptr_t)i, 0);
    }
    if (pid >= 0)
        pid = instr_spawn("sender", sender, NULL, 0);
    if (pid < 0)
        snprintf(err, n, "cannot start a worker: %s", strerror((int)-pid));
    return pid < 0 ? (int)pid : 0;
}

static void pin_update(struct scn_ctx *ctx);

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    pin_update(ctx); /* the final numbers, also when the run ended between two polls */
    (void)m;
    for (int i = 0; i < S->receivers; i++)
        if (atomic_load(&S->got[i]) != atomic_load(&S->total)) {
            snprintf(why, n, "receiver-%d got %d of %d messages", i + 1, atomic_load(&S->got[i]),
                     atomic_load(&S->total));
            return -1;
        }
    if (atomic_load(&S->denied_errno) != EACCES) {
        snprintf(why, n, "sendto the broadcast address without SO_BROADCAST was not refused");
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    int e = atomic_load(&S->denied_errno);
    json_object_set_new(out, "port", json_integer(atomic_load(&S->port)));
    json_object_set_new(out, "address", json_string("127.255.255.255"));
    json_object_set_new(out, "without_so_broadcast", json_string(e ? strerrorname_np(e) : "ok"));
    json_object_set_new(out, "broadcast_on_lo", json_boolean(!atomic_load(&S->fallback)));
    json_object_set_new(out, "datagrams_sent", json_integer(atomic_load(&S->sent_datagrams)));
    json_t *got = json_array();
    for (int i = 0; i < S->receivers; i++)
        json_array_append_new(got, json_integer(atomic_load(&S->got[i])));
    json_object_set_new(out, "received", got);
    json_t *arrived = json_array();
    for (int i = 0; i < S->receivers; i++)
        json_array_append_new(arrived, json_integer(atomic_load(&S->arrived[i])));
    json_object_set_new(out, "arrived", arrived);
}

/* The lesson's numbers stay on top of the narration once a broadcast went out: one sendto,
 * a copy for every receiver. */
static void pin_update(struct scn_ctx *ctx)
{
    int sent = atomic_load(&S->sent_datagrams);
    if (!sent)
        return;
    char got[64] = "";
    size_t used = 0;
    for (int i = 0; i < S->receivers && used < sizeof(got); i++)
        used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%d", i ? "/" : "",
                                 atomic_load(&S->got[i]));
    int zh = ctx->lang == LANG_ZH, fb = atomic_load(&S->fallback);
    if (zh)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 "%s:共发送 %d 个数据报,%ld 个接收者收到 %s 条(共 %d 条)。",
                 fb ? "lo 不投递广播,改为逐个单播"
                    : "每条消息向 127.255.255.255 sendto 一次,每个接收者各得一份",
                 sent, S->receivers, got, atomic_load(&S->total));
    else
        snprintf(ctx->pin, sizeof(ctx->pin),
                 "%s: %d datagrams sent; the %ld receivers got %s of %d.",
                 fb ? "No broadcast on lo, one unicast per receiver instead"
                    : "One sendto to 127.255.255.255 per message, a copy for every receiver",
                 sent, S->receivers, got, atomic_load(&S->total));
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    pin_update(ctx);
    return 0;
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    if (e->kind == EV_SOCK_SEND && e->item == -EACCES) {
        snprintf(buf, n,
                 zh ? "没有设置 SO_BROADCAST 就向广播地址发送,内核拒绝:EACCES。"
                    : "Sending to a broadcast address without SO_BROADCAST: the kernel refuses "
                      "with EACCES.");
        return 1;
    }
    return net_narrate(m, e, lang, buf, n);
}

static const struct scenario_action actions[] = {
    {'m', "broadcast one more message", "再广播一条消息", act_more},
};

const struct scenario scenario_udp_broadcast = {
    .id = "udp-broadcast",
    .chapter = 3,
    .title_en = "UDP broadcast with SO_BROADCAST",
    .title_zh = "UDP 广播与 SO_BROADCAST",
    .summary_en = "s.setsockopt(SOL_SOCKET, SO_BROADCAST, 1): one sendto to the broadcast "
                  "address reaches every receiver bound to that port. On loopback the "
                  "broadcast address is 127.255.255.255, so nothing leaves the machine. "
                  "Without the option the kernel refuses the send (EACCES).",
    .summary_zh =
        "s.setsockopt(SOL_SOCKET, SO_BROADCAST, 1):向广播地址 sendto 一次,所有绑定该端口的"
        "接收者都能收到。回环网络的广播地址是 127.255.255.255,数据不会离开本机。没有设置"
        "该选项时内核拒绝发送(EACCES)。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct ub_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
