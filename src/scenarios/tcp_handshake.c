/*
 * tcp_handshake.c - the three-way handshake and the accept queue (chapter 2).
 *
 * A server listens with a small backlog and waits before calling accept; clients connect
 * meanwhile. connect() returns as soon as the kernel finished SYN, SYN-ACK, ACK: the
 * connections wait, complete, in the accept queue, whose length sock_diag reports
 * (rqueue of the LISTEN socket). When privileged, a capture on lo (AF_PACKET) decodes the
 * real segments, so ACK = x+1 and ACK = y+1 of the notes can be checked on real numbers.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../instr_net.h"
#include "../scenario.h"
#include "../sclock.h"
#include "../sources/sockdiag.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HS_MAX_SEGS 48

struct hs_shared {
    long backlog, clients, accept_delay_ms, capture_param;
    _Atomic int port, capture_ready, capture_errno, accepting, accepted, connected_early;
    _Atomic int queue_max, queue_seen, handshakes, accept_now, server_done;
    struct instr_obj *queue;
    uint32_t syn_seq, synack_seq, synack_ack, ack_seq, ack_ack;
    int nsegs;
    struct net_seg segs[HS_MAX_SEGS];
};

static struct hs_shared *S;

static const struct scenario_param params[] = {
    {"backlog", "listen() backlog", "listen() 的 backlog", 1, 16, 2},
    {"clients", "clients that connect before accept", "在 accept 之前连接的客户端数", 1, 8, 3},
    {"accept_delay_ms", "how long the server waits before accept",
     "服务端调用 accept 前等待的毫秒数", 0, 10000, 600},
    {"capture", "1: capture the segments on lo when privileged", "1:有权限时在 lo 上抓包", 0, 1, 1},
};

/* ---- the capture ---- */

static void keep_seg(const struct net_seg *g)
{
    if (S->nsegs < HS_MAX_SEGS)
        S->segs[S->nsegs++] = *g;
    net_pkt_emit(g, NULL);
}

/* Follow the first connection's handshake; count the others. */
static void track_handshake(const struct net_seg *g, uint16_t port, uint16_t *cport)
{
    const uint8_t SYN = 2, ACK = 16;
    if (g->flags == SYN && g->dport == port && !*cport) {
        *cport = g->sport;
        S->syn_seq = g->seq;
    } else if (g->flags == (SYN | ACK) && g->dport == *cport) {
        S->synack_seq = g->seq;
        S->synack_ack = g->ack;
    } else if (g->flags == ACK && g->sport == *cport && S->synack_seq && !S->ack_ack) {
        S->ack_seq = g->seq;
        S->ack_ack = g->ack;
    }
    if (g->flags == (SYN | ACK))
        atomic_fetch_add(&S->handshakes, 1);
}

/* The capture has what it came for: every handshake with its final ACK (grace frames after
 * the last SYN-ACK), or the server is done and nothing more will come. */
static int capture_done(int *grace)
{
    if (atomic_load(&S->server_done))
        return 1;
    return atomic_load(&S->handshakes) >= S->clients && (*grace)-- <= 0;
}

static int capture(void *arg)
{
    (void)arg;
    int fd = S->capture_param ? net_capture_open() : -ENOTSUP;
    if (!net_wait_flag(&S->port, "until the server listens") || fd < 0) {
        atomic_store(&S->capture_errno, fd < 0 ? -fd : ETIMEDOUT);
        net_flag_set(&S->capture_ready, 1);
        instr_note("capture off: %s", fd < 0 ? strerrorname_np(-fd) : "no port");
        if (fd >= 0)
            close(fd);
        return 0;
    }
    net_flag_set(&S->capture_ready, 1);
    uint16_t port = (uint16_t)atomic_load(&S->port), cport = 0;
    /* ends on what it sees; the bound only guards a free run against a lost handshake (held,
     * the teacher may talk for minutes: it never expires) */
    struct sclock_wait w;
    sclock_wait_begin(&w, S->accept_delay_ms + 3000, SCLOCK_SAFETY, EV_NOTE, EV_NO_OBJ);
    int grace = 3; /* frames (or quiet 50 ms slices) after the last SYN-ACK: its ACK */
    while (!capture_done(&grace) && !sclock_wait_expired(&w)) {
        struct net_seg g; /* long slices while the teacher talks, short ones at the end */
        int last = atomic_load(&S->handshakes) >= S->clients;
        int r = net_capture_next(fd, port, &g, last ? 50 : 500);
        if (r < 0 || net_stopping())
            break;
        if (r == 1) {
            keep_seg(&g);
            track_handshake(&g, port, &cport);
        }
    }
    sclock_wait_end(&w);
    close(fd);
    return 0;
}

/* ---- server and clients ---- */

/* The listener's accept queue as the kernel reports it (sock_diag: Recv-Q of the LISTEN
 * socket), recorded on the queue object when it changed since the last look. Any task may
 * look: the clients look right after connect() returned, the server after each accept(). */
static void look_at_queue(void)
{
    uint32_t rq = 0;
    int st = 0;
    if (sockdiag_lookup((uint16_t)atomic_load(&S->port), 0, &st, &rq, NULL) < 0 || st != NET_LISTEN)
        return;
    if (atomic_exchange(&S->queue_seen, (int)rq) == (int)rq)
        return;
    S->queue->value = rq;
    instr_op(S->queue, EV_VAR, rq, 0, 0);
    int max = atomic_load(&S->queue_max);
    while ((int)rq > max && !atomic_compare_exchange_weak(&S->queue_max, &max, (int)rq))
        ;
}

/* A client whose connect() returned: wait (a few ms at most, on the wall clock: the kernel's
 * softirq may still be taking the final ACK) until the server's side of the connection
 * exists, then look at the queue it now waits in. */
static void look_after_connect(uint16_t cport)
{
    int st = 0;
    for (int i = 0; i < 100; i++) {
        if (sockdiag_lookup((uint16_t)atomic_load(&S->port), cport, &st, NULL, NULL) == 0 &&
            st == NET_ESTABLISHED)
            break;
        if (sclock_poll(1) < 0)
            return;
    }
    look_at_queue();
}

/* The server does not call accept() for accept_delay_ms. Held (step mode, the paced default)
 * the delay is one step, due after the clients' connects, so the queue fills whatever the
 * teacher's pace. Free, the server sleeps in short slices so the 'a' key can cut it short. */
static void accept_delay(void)
{
    uint64_t due = sclock_now_ms() + (uint64_t)S->accept_delay_ms;
    while (!atomic_load(&S->accept_now) && !net_stopping()) {
        uint64_t now = sclock_now_ms();
        if (now >= due)
            return;
        long left = (long)(due - now);
        if (sclock_held()) {
            sclock_sleep(left, 0, "the accept delay");
            return;
        }
        if (sclock_poll(left < 20 ? left : 20) < 0)
            return;
    }
}

static int server_body(void)
{
    struct net_sock ls, c[8];
    if (net_socket(&ls, "listener", SOCK_STREAM) < 0 || net_bind(&ls, 0) < 0 ||
        net_listen(&ls, (int)S->backlog) < 0)
        return 1;
    net_flag_set(&S->port, ls.lport);
    net_wait_flag(&S->capture_ready, "until the capture starts");
    accept_delay(); /* the clients connect meanwhile */
    look_at_queue();
    atomic_store(&S->accepting, 1);
    int n = 0;
    for (; n < S->clients; n++) {
        char name[INSTR_NAME_MAX];
        snprintf(name, sizeof(name), "conn-%d", n + 1);
        if (net_accept(&ls, &c[n], name) < 0)
            break;
        atomic_fetch_add(&S->accepted, 1);
        look_at_queue();
    }
    for (int i = 0; i < n; i++)
        net_close(&c[i]); /* the clients read EOF and close too */
    net_close(&ls);
    return n == S->clients ? 0 : 1;
}

static int server(void *arg)
{
    (void)arg;
    int rc = server_body();
    atomic_store(&S->server_done, 1); /* the capture may end: nothing more will come */
    return rc;
}

static int client(void *arg)
{
    char tag[24], buf[16];
    snprintf(tag, sizeof(tag), "client-%d", (int)(intptr_t)arg + 1);
    if (!net_wait_flag(&S->port, "until the server listens") ||
        !net_wait_flag(&S->capture_ready, "until the capture starts"))
        return 1;
    if (sclock_sleep(20 * (long)(intptr_t)arg, 0, "its turn to connect") < 0)
        return 1; /* one after another */
    struct net_sock s;
    char name[INSTR_NAME_MAX];
    snprintf(name, sizeof(name), "%s-sock", tag);
    if (net_socket(&s, name, SOCK_STREAM) < 0 || net_connect(&s, (uint16_t)S->port) < 0)
        return 1;
    if (!atomic_load(&S->accepting))
        atomic_fetch_add(&S->connected_early, 1); /* ESTABLISHED before any accept() */
    look_after_connect(s.lport);
    while (net_recv(&s, buf, sizeof(buf)) > 0)
        ;
    net_close(&s);
    return 0;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "clients") + 16);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->backlog = scn_param(ctx, "backlog");
    S->clients = scn_param(ctx, "clients");
    S->accept_delay_ms = scn_param(ctx, "accept_delay_ms");
    S->capture_param = scn_param(ctx, "capture");
    S->queue = instr_obj_new("accept-queue", OK_QUEUE, 0, S->backlog + 1);
    if (!S->queue) {
        snprintf(err, n, "tcp-handshake: no object slot left");
        return -ENOMEM;
    }
    int rc = ipc_start("capture", capture, NULL, err, n);
    if (rc == 0)
        rc = ipc_start("server", server, NULL, err, n);
    if (rc == 0)
        rc = ipc_start_n("client", S->clients, client, err, n);
    return rc;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    (void)m;
    if (atomic_load(&S->accepted) != S->clients) {
        snprintf(why, n, "accepted %d of %ld clients", atomic_load(&S->accepted), S->clients);
        return -1;
    }
    if (S->accept_delay_ms >= 200 && atomic_load(&S->queue_max) < 1) {
        snprintf(why, n, "the accept queue was never seen holding a connection");
        return -1;
    }
    if (!atomic_load(&S->capture_errno) && S->syn_seq &&
        (S->synack_ack != S->syn_seq + 1 || S->ack_ack != S->synack_seq + 1)) {
        snprintf(why, n, "captured handshake breaks ack = seq + 1");
        return -1;
    }
    return 0;
}

static json_t *seg_json(const struct net_seg *g)
{
    char fl[32];
    return json_pack("{s:s, s:i, s:i, s:I, s:I, s:i}", "flags",
                     net_tcp_flags(g->flags, fl, sizeof(fl)), "sport", g->sport, "dport", g->dport,
                     "seq", (json_int_t)g->seq, "ack", (json_int_t)g->ack, "len", g->payload_len);
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    int cerr = atomic_load(&S->capture_errno);
    json_object_set_new(out, "port", json_integer(atomic_load(&S->port)));
    json_object_set_new(out, "backlog", json_integer(S->backlog));
    json_object_set_new(out, "accept_queue_max", json_integer(atomic_load(&S->queue_max)));
    json_object_set_new(out, "connected_before_accept",
                        json_integer(atomic_load(&S->connected_early)));
    json_object_set_new(out, "accepted", json_integer(atomic_load(&S->accepted)));
    json_object_set_new(out, "capture",
                        json_string(!cerr             ? "on"
                                    : cerr == EPERM   ? "off: needs CAP_NET_RAW"
                                    : cerr == ENOTSUP ? "off: capture=0"
                                                      : strerrorname_np(cerr)));
    if (!cerr && S->syn_seq)
        json_object_set_new(
            out, "handshake",
            json_pack("{s:I, s:I, s:I, s:I, s:I}", "syn_seq", (json_int_t)S->syn_seq, "synack_seq",
                      (json_int_t)S->synack_seq, "synack_ack", (json_int_t)S->synack_ack, "ack_seq",
                      (json_int_t)S->ack_seq, "ack", (json_int_t)S->ack_ack));
    json_t *segs = json_array();
    for (int i = 0; i < S->nsegs; i++)
        json_array_append_new(segs, seg_json(&S->segs[i]));
    json_object_set_new(out, "segments", segs);
}

/* Called at every turn of the conductor: pin the lesson's point as the run reaches it (from
 * what the workers recorded in the step that made it true). Never ends the run. */
static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    int zh = ctx->lang == LANG_ZH, q = atomic_load(&S->queue_seen);
    int early = atomic_load(&S->connected_early);
    if (!atomic_load(&S->accepting) && q > 0)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 zh ? "已有 %d 个客户端的 connect() 返回,服务端却还没调用 accept():握手是内核"
                      "自己完成的,%d 个已建立的连接在全连接队列里等待(ss -tln 的 Recv-Q = %d)。"
                    : "connect() has returned for %d client(s), yet the server has not called "
                      "accept(): the kernel did the handshakes and holds %d finished "
                      "connection(s) in the accept queue (ss -tln: Recv-Q %d).",
                 early, q, q);
    if (!atomic_load(&S->accepting) && q > S->backlog) { /* Linux: full only past the backlog */
        size_t used = strlen(ctx->pin);
        snprintf(ctx->pin + used, sizeof(ctx->pin) - used,
                 zh ? "这比 backlog(%ld)多一个:Linux 只在队列超过 backlog 时才拒绝新连接。"
                    : " That is one more than the backlog (%ld): Linux refuses a connection only "
                      "once the queue holds more than the backlog.",
                 S->backlog);
    } else if (atomic_load(&S->accepting) && early > 0)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 zh ? "accept() 只是从队列里取走内核早已建好的连接:%d 个客户端在服务端调用 "
                      "accept() 之前就已经是 ESTABLISHED。"
                    : "accept() only takes connections the kernel has already finished: %d "
                      "client(s) were ESTABLISHED before the server called accept().",
                 early);
    return 0;
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    const struct model_obj *o = e->obj < m->nobjs ? &m->objs[e->obj] : NULL;
    if (e->kind == EV_VAR && o && o->kind == OK_QUEUE && S && e->val > S->backlog) {
        /* Linux refuses only when the queue holds more than the backlog (sk_acceptq_is_full):
         * the pin says so beside it, so this stays short (both whole in projector mode) */
        snprintf(buf, n,
                 zh ? "全连接队列里有 %lld 个连接,比 backlog(%ld)多一个:ss 显示 Recv-Q %lld、"
                      "Send-Q %ld。再来的连接要等 accept() 腾出位置。"
                    : "The accept queue holds %lld, one more than the backlog (%ld): ss shows "
                      "Recv-Q %lld over Send-Q %ld. Another connection waits for accept().",
                 (long long)e->val, S->backlog, (long long)e->val, S->backlog);
        return 1;
    }
    if (e->kind == EV_VAR && o && o->kind == OK_QUEUE) {
        snprintf(
            buf, n,
            zh ? "监听套接字的全连接队列里有 %lld 个已完成握手、等待 accept() 的连接(backlog=%ld)。"
               : "The listener's accept queue now holds %lld finished connection(s) waiting for "
                 "accept() (backlog %ld): the kernel did the handshake without the server.",
            (long long)e->val, S ? S->backlog : 0L);
        return 1;
    }
    if (e->kind == EV_PKT && e->val == 0x10 && S && e->aux == (int64_t)S->synack_seq + 1) {
        snprintf(buf, n,
                 zh ? "第三次握手:客户端回复 ACK=y+1(ack %lld),连接建立。"
                    : "Handshake 3: the client answers ACK = y+1 (ack %lld): established.",
                 (long long)e->aux);
        return 1;
    }
    return net_narrate(m, e, lang, buf, n);
}

static int act_accept_now(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    atomic_store(&S->accept_now, 1);
    snprintf(msg, n,
             "the server stops waiting and calls accept() at its next step (stepping: "
             "press its number to move it now)");
    return 0;
}

static const struct scenario_action actions[] = {
    {'a', "call accept() now", "立即调用 accept()", act_accept_now},
};

const struct scenario scenario_tcp_handshake = {
    .id = "tcp-handshake",
    .chapter = 2,
    .title_en = "TCP three-way handshake and the accept queue",
    .title_zh = "TCP 三次握手与全连接队列",
    .summary_en = "Clients connect while the server has not called accept yet. The kernel "
                  "completes SYN, SYN-ACK, ACK on its own and parks each finished connection "
                  "in the listener's accept queue (its length is what ss shows as Recv-Q), so "
                  "connect() returns and the client is ESTABLISHED before accept(). When run "
                  "with CAP_NET_RAW the real segments on lo are captured: ack = x+1, then "
                  "ack = y+1.",
    .summary_zh = "服务端尚未调用 accept 时,客户端就发起连接。内核自己完成 SYN、SYN-ACK、ACK,"
                  "把每个已完成的连接放进监听套接字的全连接队列(ss 中的 Recv-Q),所以 connect() "
                  "在 accept() 之前就返回,客户端已经是 ESTABLISHED。有 CAP_NET_RAW 权限时会在 lo "
                  "上抓取真实报文:ack = x+1,然后 ack = y+1。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct hs_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
