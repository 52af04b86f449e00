/*
 * tcp_teardown.c - the four-way goodbye, half-close and TIME_WAIT (chapter 2).
 *
 * One connection on loopback; one side closes first (the active closer, chosen by the
 * `closer` parameter or a key). It goes FIN_WAIT1 -> FIN_WAIT2 while the other side sits in
 * CLOSE_WAIT for hold_ms; when that side closes too it passes LAST_ACK and the active
 * closer ends in TIME_WAIT (2*MSL, 60 s on Linux). With half_close=1 the active side uses
 * shutdown(SHUT_WR) instead and still reads the reply sent after its FIN. Each side asks the
 * kernel (sock_diag, as ss does) for its state at its own steps; when privileged a capture
 * on lo shows the goodbye's segments, often three rather than four (an ACK riding on a FIN).
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

#define TD_MAX_SEGS 32
#define TD_NONE (-1)
#define TD_LOOK "sock_diag:" /* the note of the closer's last look at its connection */

enum { TD_CLIENT = 0, TD_SERVER = 1 };

/* What the capture showed of the goodbye: indexes into segs, TD_NONE when not seen. */
struct td_close {
    int fin_a, ack_a; /* the active closer's FIN, the segment first acknowledging it */
    int fin_p, ack_p; /* the passive side's FIN, its acknowledgement */
};

struct td_shared {
    long closer_param, half_close, hold_ms;
    _Atomic int closer; /* TD_CLIENT or TD_SERVER: who closes first */
    _Atomic int port, cport, connected, ended, after_fin_bytes;
    _Atomic int both_up, active_closed, passive_closed; /* net_flag_set / net_wait_flag */
    _Atomic int tw_pinned;
    _Atomic uint32_t seen[2]; /* states the kernel showed at the steps: [TD_CLIENT], [TD_SERVER] */
    uint32_t obj_id[2];
    int capture_fd, capture_errno;
    _Atomic int capture_ready;
    _Atomic int nsegs;
    struct net_seg segs[TD_MAX_SEGS];
};

static struct td_shared *S;

static const struct scenario_param params[] = {
    {"closer", "who closes first: 0 client, 1 server", "谁先关闭:0 客户端,1 服务端", 0, 1, 0},
    {"half_close", "1: the closer uses shutdown(SHUT_WR) and keeps reading",
     "1:先关闭方用 shutdown(SHUT_WR) 半关闭并继续读", 0, 1, 0},
    {"hold_ms", "how long the passive side stays in CLOSE_WAIT", "被动方停留在 CLOSE_WAIT 的毫秒数",
     0, 10000, 500},
    {"capture", "1: capture the segments on lo when privileged", "1:有权限时在 lo 上抓包", 0, 1, 1},
};

static const char *const WHO[] = {"client", "server"};

/* ---- the kernel's view, at the steps ---- */

/* Ask the kernel for s's state now (sock_diag by its ports, as ss does; 0 when the kernel
 * has forgotten it) and remember it for side. */
static int look(const struct net_sock *s, int side)
{
    int st = 0;
    if (sockdiag_lookup(s->lport, s->rport, &st, NULL, NULL) < 0)
        return 0;
    if (st > 0 && st < 32)
        atomic_fetch_or(&S->seen[side], 1u << st);
    return st;
}

/* ---- the two ends ---- */

/* The active closer: close (or shut down writing and read what still comes), then, once the
 * peer has closed too, look at what is left of the connection: TIME_WAIT. */
static void active_close(struct net_sock *s, int side)
{
    char buf[128];
    if (S->half_close) {
        net_shutdown(s, SHUT_WR);
        atomic_store(&S->active_closed, 1);
        look(s, side);
        ssize_t r;
        while ((r = net_recv(s, buf, sizeof(buf))) > 0)
            atomic_fetch_add(&S->after_fin_bytes, (int)r); /* data after our FIN */
        net_close(s);
    } else {
        net_close(s);
        atomic_store(&S->active_closed, 1);
        look(s, side); /* FIN_WAIT1, or FIN_WAIT2 once the peer's kernel acknowledged */
    }
    if (!net_wait_flag(&S->passive_closed, "until the other end closes"))
        return;
    /* its own step: the program looks at what is left of its connection, as ss would (no
     * call of its own: the gate hint says what the step does) */
    instr_gate_timed(EV_TCP_STATE, s->o ? s->o->id : EV_NO_OBJ, sclock_now(), 0,
                     "look up its state"); /* whole in the task row at 100x30 */
    int st = look(s, side);
    for (int i = 0; i < 50 && st != NET_TIME_WAIT; i++)
        if (sclock_poll(1) == 0) /* the kernel's softirq may still be taking the peer's FIN */
            st = look(s, side);
    instr_note("%s %s", TD_LOOK, st ? net_state_name(st) : "gone");
}

/* The passive side: read until EOF (the peer's FIN: CLOSE_WAIT), stay there hold_ms (one
 * step), answer when half-closed, close (its own step). */
static void passive_close(struct net_sock *s, int side)
{
    char buf[128];
    while (net_recv(s, buf, sizeof(buf)) > 0)
        ;
    look(s, side); /* CLOSE_WAIT */
    sclock_sleep(S->hold_ms, 0, "CLOSE_WAIT, no close() yet");
    if (S->half_close)
        net_send(s, "still here after your FIN\n", 26);
    net_close(s);
    look(s, side); /* LAST_ACK, or gone */
    net_flag_set(&S->passive_closed, 1);
}

static int endpoint(struct net_sock *s, int side)
{
    char hello[18];
    net_send(s, side == TD_SERVER ? "hello from server\n" : "hello from client\n", 18);
    for (ssize_t got = 0, r = 1; got < 18 && r > 0; got += r)
        r = net_recv(s, hello + got, (size_t)(18 - got)); /* the peer's hello */
    look(s, side);                                        /* ESTABLISHED */
    if (atomic_fetch_add(&S->connected, 1) == 1)
        net_flag_set(&S->both_up, 1);
    net_wait_flag(&S->both_up,
                  "until both ends are up"); /* both ends up: who closes first is settled */
    if (atomic_load(&S->closer) == side)
        active_close(s, side);
    else
        passive_close(s, side);
    return 0;
}

static int server_body(void)
{
    struct net_sock ls, c;
    if (net_socket(&ls, "listener", SOCK_STREAM) < 0 || net_bind(&ls, 0) < 0 ||
        net_listen(&ls, 1) < 0)
        return 1;
    net_flag_set(&S->port, ls.lport);
    int rc = net_accept(&ls, &c, "server-conn");
    net_close(&ls);
    if (rc < 0)
        return 1;
    S->obj_id[TD_SERVER] = c.o->id;
    return endpoint(&c, TD_SERVER);
}

static int server(void *arg)
{
    (void)arg;
    int rc = server_body();
    atomic_fetch_add(&S->ended, 1);
    return rc;
}

static int client_body(void)
{
    struct net_sock s;
    if (!net_wait_flag(&S->port, "until the server listens") ||
        !net_wait_flag(&S->capture_ready, "until the capture starts") ||
        net_socket(&s, "client-conn", SOCK_STREAM) < 0)
        return 1;
    S->obj_id[TD_CLIENT] = s.o->id;
    if (net_connect(&s, (uint16_t)atomic_load(&S->port)) < 0)
        return 1;
    atomic_store(&S->cport, s.lport);
    return endpoint(&s, TD_CLIENT);
}

static int client(void *arg)
{
    (void)arg;
    int rc = client_body();
    atomic_fetch_add(&S->ended, 1);
    return rc;
}

/* ---- the capture (an observer: it never acts in the lesson) ---- */

static int capture(void *arg)
{
    (void)arg;
    int fd = S->capture_fd;
    if (!net_wait_flag(&S->port, "until the server listens")) {
        close(fd);
        net_flag_set(&S->capture_ready, 1);
        return 1;
    }
    uint16_t port = (uint16_t)atomic_load(&S->port);
    net_flag_set(&S->capture_ready, 1);
    /* until both ends are done and lo has been quiet a while: held, that takes what the
     * teacher takes; the bound only guards a free run */
    struct sclock_wait w;
    sclock_wait_begin(&w, S->hold_ms + NET_WAIT_MS, SCLOCK_SAFETY, EV_NOTE, EV_NO_OBJ);
    int quiet = 0;
    while (quiet < 2 && !net_stopping() && !sclock_wait_expired(&w)) {
        struct net_seg g; /* long slices while the teacher talks, short ones at the end */
        int r = net_capture_next(fd, port, &g, atomic_load(&S->ended) == 2 ? 50 : 500);
        if (r < 0)
            break;
        if (r == 1) {
            int i = atomic_load(&S->nsegs);
            if (i < TD_MAX_SEGS) {
                S->segs[i] = g;
                atomic_store(&S->nsegs, i + 1); /* published before the event is */
            }
            net_pkt_emit(&g, NULL);
        }
        quiet = atomic_load(&S->ended) == 2 && r == 0 ? quiet + 1 : 0;
    }
    sclock_wait_end(&w);
    close(fd);
    return 0;
}

/* The goodbye as the capture saw it. */
static struct td_close close_of(void)
{
    struct td_close c = {TD_NONE, TD_NONE, TD_NONE, TD_NONE};
    int n = atomic_load(&S->nsegs), a = atomic_load(&S->closer);
    uint16_t sp = (uint16_t)atomic_load(&S->port), cp = (uint16_t)atomic_load(&S->cport);
    uint16_t act = a == TD_SERVER ? sp : cp;
    for (int i = 0; i < n; i++) {
        const struct net_seg *g = &S->segs[i];
        int from_act = g->sport == act, fin = g->flags & 1, ack = (g->flags & 16) != 0;
        if (fin && from_act && c.fin_a == TD_NONE)
            c.fin_a = i;
        else if (fin && !from_act && c.fin_p == TD_NONE)
            c.fin_p = i;
        if (c.fin_a != TD_NONE && c.ack_a == TD_NONE && !from_act && ack &&
            g->ack == S->segs[c.fin_a].seq + 1)
            c.ack_a = i;
        if (c.fin_p != TD_NONE && c.ack_p == TD_NONE && from_act && ack &&
            g->ack == S->segs[c.fin_p].seq + 1)
            c.ack_p = i;
    }
    return c;
}

/* Segments from the first FIN to the last ACK: 4, or 3 when an ACK rode on the second FIN. */
static int close_segments(const struct td_close *c)
{
    if (c->fin_a == TD_NONE || c->ack_p == TD_NONE)
        return 0;
    return c->ack_a == c->fin_p ? 3 : 4;
}

static long gap_ms(int from, int to)
{
    return (long)((S->segs[to].t_ns - S->segs[from].t_ns) / 1000000ull);
}

/* ---- setup and actions ---- */

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->closer_param = scn_param(ctx, "closer");
    S->half_close = scn_param(ctx, "half_close");
    S->hold_ms = scn_param(ctx, "hold_ms");
    atomic_store(&S->closer, (int)S->closer_param);
    int rc = net_capture_start((int)scn_param(ctx, "capture"), &S->capture_fd, &S->capture_errno,
                               &S->capture_ready, capture, err, n);
    if (rc == 0)
        rc = ipc_start("server", server, NULL, err, n);
    if (rc == 0)
        rc = ipc_start("client", client, NULL, err, n);
    return rc;
}

static int act_server_first(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    if (atomic_load(&S->connected) >= 2) {
        snprintf(msg, n, "too late: the goodbye has started");
        return -EBUSY;
    }
    atomic_store(&S->closer, TD_SERVER);
    snprintf(msg, n, "the server will close first: TIME_WAIT moves to the server");
    return 0;
}

/* ---- the key sentence of the moment ---- */

static const char *who(int side, int zh)
{
    static const char *const zh_names[] = {"客户端", "服务端"};
    return zh ? zh_names[side] : WHO[side];
}

/* (Both pins fit ctx->pin: at most ~250 bytes, checked by the classroom test.) */
static void pin_time_wait(struct scn_ctx *ctx, int a)
{
    int zh = ctx->lang == LANG_ZH;
    uint16_t sp = (uint16_t)atomic_load(&S->port), cp = (uint16_t)atomic_load(&S->cport);
    uint16_t mine = a == TD_SERVER ? sp : cp, peer = a == TD_SERVER ? cp : sp;
    snprintf(ctx->pin, sizeof(ctx->pin),
             zh ? "TIME_WAIT:%s先关闭,它这一端 127.0.0.1:%u → :%u 在内核里停留 2·MSL(Linux 上 60 "
                  "秒),进程退出也一样:丢失的最后一个 ACK 可以重发,旧报文会消失。ss -tan "
                  "可见;后关闭的一方什么也不留。"
                : "TIME_WAIT: the %s closed first, so its end 127.0.0.1:%u → :%u stays in the "
                  "kernel for 2·MSL (60 s on Linux), even after its process exits: its last ACK "
                  "can be resent, old segments die out. ss -tan shows it; the other side keeps "
                  "nothing.",
             who(a, zh), mine, peer);
}

static void pin_close_wait(struct scn_ctx *ctx, int a)
{
    int zh = ctx->lang == LANG_ZH;
    snprintf(ctx->pin, sizeof(ctx->pin),
             zh ? "半关闭:%s发出了 FIN(FIN_WAIT1,被确认后 FIN_WAIT2);%s那一端处于 CLOSE_WAIT:"
                  "recv() 读到 0,但应用还没调用 close(),仍可发送。"
                : "Half-closed: the %s sent its FIN (FIN_WAIT1, then FIN_WAIT2 once it is "
                  "acknowledged). The %s's end is in CLOSE_WAIT: its recv() returned 0, but its "
                  "application has not called close() yet, and it could still send.",
             who(a, zh), who(!a, zh));
}

/* Called at every turn of the conductor: pin what the goodbye is at (the kernel's word for
 * TIME_WAIT, asked here, so the pin appears in the step that made it). Never ends the run. */
static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    int a = atomic_load(&S->closer);
    if (atomic_load(&S->tw_pinned) || !atomic_load(&S->active_closed))
        return 0;
    if (atomic_load(&S->passive_closed)) {
        uint16_t sp = (uint16_t)atomic_load(&S->port), cp = (uint16_t)atomic_load(&S->cport);
        int st = 0;
        int rc = a == TD_SERVER ? sockdiag_lookup(sp, cp, &st, NULL, NULL)
                                : sockdiag_lookup(cp, sp, &st, NULL, NULL);
        if (rc == 0 && st == NET_TIME_WAIT) {
            pin_time_wait(ctx, a);
            atomic_store(&S->tw_pinned, 1);
            return 0;
        }
    }
    if (!ctx->pin[0])
        pin_close_wait(ctx, a);
    return 0;
}

/* ---- checks and snapshot ---- */

static uint32_t seen_of(const struct model *m, int side)
{
    return atomic_load(&S->seen[side]) | net_model_states(m, S->obj_id[side]);
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    if (scn_workers_ended_well(m, why, n) < 0)
        return -1;
    int a = atomic_load(&S->closer), p = !a;
    if (!(seen_of(m, a) & (1u << NET_TIME_WAIT))) {
        snprintf(why, n, "the active closer (%s) was never seen in TIME_WAIT", WHO[a]);
        return -1;
    }
    if (seen_of(m, p) & (1u << NET_TIME_WAIT)) {
        snprintf(why, n, "the passive side (%s) went through TIME_WAIT", WHO[p]);
        return -1;
    }
    if (!(seen_of(m, p) & (1u << NET_CLOSE_WAIT))) {
        snprintf(why, n, "the passive side (%s) was never seen in CLOSE_WAIT", WHO[p]);
        return -1;
    }
    if (S->half_close && atomic_load(&S->after_fin_bytes) <= 0) {
        snprintf(why, n, "after shutdown(SHUT_WR) the closer read nothing more");
        return -1;
    }
    return 0;
}

static const char *capture_word(void)
{
    int e = S->capture_errno;
    return !e             ? "on"
           : e == EPERM   ? "off: needs CAP_NET_RAW (run as root)"
           : e == ENOTSUP ? "off: capture=0"
                          : strerrorname_np(e);
}

static json_t *seg_json(int i)
{
    char fl[32];
    const struct net_seg *g = &S->segs[i];
    return json_pack("{s:s, s:i, s:i, s:I, s:I, s:i, s:I}", "flags",
                     net_tcp_flags(g->flags, fl, sizeof(fl)), "sport", g->sport, "dport", g->dport,
                     "seq", (json_int_t)g->seq, "ack", (json_int_t)g->ack, "len", g->payload_len,
                     "ms", (json_int_t)gap_ms(0, i));
}

/* The goodbye on the wire: its segments, and how long the first FIN waited for its ACK. */
static json_t *goodbye_json(void)
{
    struct td_close c = close_of();
    json_t *j = json_object();
    json_object_set_new(j, "segments", json_integer(close_segments(&c)));
    json_object_set_new(j, "ack_rode_on_fin",
                        json_boolean(c.ack_a != TD_NONE && c.ack_a == c.fin_p));
    json_object_set_new(j, "fin_ack_ms",
                        c.ack_a != TD_NONE ? json_integer(gap_ms(c.fin_a, c.ack_a)) : json_null());
    return j;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    int a = atomic_load(&S->closer);
    json_object_set_new(out, "active_closer", json_string(WHO[a]));
    json_object_set_new(out, "server_port", json_integer(atomic_load(&S->port)));
    json_object_set_new(out, "client_port", json_integer(atomic_load(&S->cport)));
    json_t *seen = json_object();
    json_object_set_new(seen, "client", net_states_json(seen_of(m, TD_CLIENT)));
    json_object_set_new(seen, "server", net_states_json(seen_of(m, TD_SERVER)));
    json_object_set_new(out, "tcp_states_seen", seen);
    const char *tw = (seen_of(m, TD_CLIENT) & (1u << NET_TIME_WAIT))   ? "client"
                     : (seen_of(m, TD_SERVER) & (1u << NET_TIME_WAIT)) ? "server"
                                                                       : "none";
    json_object_set_new(out, "time_wait_on", json_string(tw));
    json_object_set_new(out, "bytes_after_fin", json_integer(atomic_load(&S->after_fin_bytes)));
    json_object_set_new(out, "capture", json_string(capture_word()));
    if (S->capture_errno)
        return;
    json_t *segs = json_array();
    for (int i = 0; i < atomic_load(&S->nsegs); i++)
        json_array_append_new(segs, seg_json(i));
    json_object_set_new(out, "segments", segs);
    json_object_set_new(out, "goodbye", goodbye_json());
}

/* ---- narration ---- */

/* The passive side in CLOSE_WAIT, with what the capture saw of the ACK for the FIN (by the
 * time the sentence is drawn, which is redrawn as the run goes on). */
static int say_close_wait(int zh, char *buf, size_t n)
{
    struct td_close c = close_of();
    int p = !atomic_load(&S->closer);
    char ack[200];
    if (S->capture_errno)
        snprintf(ack, sizeof(ack), "%s",
                 zh ? "它的内核会自己确认这个 FIN(Linux 可能把 ACK 推迟最多约 40 ms;没有抓包,"
                      "看不到确切时刻)。"
                    : "Its kernel acknowledges the FIN on its own (Linux may delay that ACK by up "
                      "to ~40 ms; the capture is off, so the moment is not seen).");
    else if (c.ack_a != TD_NONE && c.ack_a == c.fin_p)
        snprintf(ack, sizeof(ack), "%s",
                 zh ? "抓包显示:这个 FIN 的 ACK 搭在它自己的 FIN 上一起发出。"
                    : "The capture shows its ACK for that FIN rode on its own FIN.");
    else if (c.ack_a != TD_NONE)
        snprintf(ack, sizeof(ack),
                 zh ? "抓包显示:它的内核在 FIN 之后 %ld ms 才发出 ACK(延迟确认),应用并没有参与。"
                    : "The capture shows its kernel sent the ACK %ld ms after the FIN (a delayed "
                      "ACK), without the application.",
                 gap_ms(c.fin_a, c.ack_a));
    else
        snprintf(ack, sizeof(ack), "%s",
                 zh ? "ACK 还没出现在抓包里:Linux 会推迟确认,希望能搭在别的报文上。"
                    : "No ACK for it in the capture yet: Linux delays ACKs, hoping to piggyback "
                      "them.");
    return snprintf(buf, n,
                    zh ? "%s那一端收到 FIN,进入 CLOSE_WAIT:recv() 会返回 0,但应用还没调用 "
                         "close()。%s"
                       : "The %s's end got the FIN and is in CLOSE_WAIT: recv() returns 0, but the "
                         "application has not called close() yet. %s",
                    who(p, zh), ack);
}

/* The segments of the goodbye, numbered as in the notes, with their real numbers. */
static int say_goodbye_pkt(const struct ev *e, int zh, char *buf, size_t n)
{
    struct td_close c = close_of();
    int nseg = atomic_load(&S->nsegs), i = TD_NONE;
    for (int k = 0; k < nseg; k++)
        if (S->segs[k].seq == (uint32_t)e->item && S->segs[k].flags == e->val &&
            S->segs[k].ack == (uint32_t)e->aux)
            i = k;
    int a = atomic_load(&S->closer), p = !a;
    if (i == TD_NONE)
        return 0;
    const struct net_seg *g = &S->segs[i];
    char fl[32];
    net_tcp_flags(g->flags, fl, sizeof(fl));
    if (i == c.fin_a)
        return snprintf(buf, n,
                        zh ? "挥手 1(lo 上):%s → %s %s,seq x=%u:%s不再发送数据,在 FIN 被确认前"
                             "处于 FIN_WAIT1。"
                           : "Goodbye 1 (on lo): %s → %s %s, seq x=%u: the %s has nothing more "
                             "to send; it is in FIN_WAIT1 until this FIN is acknowledged.",
                        who(a, zh), who(p, zh), fl, g->seq, who(a, zh));
    if (i == c.ack_a && i == c.fin_p)
        return snprintf(buf, n,
                        zh ? "挥手 2+3 合成一个报文:%s → %s FIN|ACK,seq y=%u,ack=x+1=%u。ACK 搭在 "
                             "FIN 上,所以这次“四次挥手”在线上只有三个报文段。"
                           : "Goodbye 2 and 3 in one segment: %s → %s FIN|ACK, seq y=%u, ack "
                             "x+1=%u. The ACK rode on the FIN, so this four-way close took three "
                             "segments on the wire.",
                        who(p, zh), who(a, zh), g->seq, g->ack);
    if (i == c.ack_a)
        return snprintf(buf, n,
                        zh ? "挥手 2:%s → %s %s,ack=x+1=%u,在 FIN 之后 %ld ms 发出,应用还没关闭"
                             "(内核的延迟确认)。%s进入 FIN_WAIT2。"
                           : "Goodbye 2: %s → %s %s, ack x+1=%u, sent %ld ms after the FIN while "
                             "the application has not closed (the kernel delays ACKs). The %s "
                             "moves to FIN_WAIT2.",
                        who(p, zh), who(a, zh), fl, g->ack, gap_ms(c.fin_a, i), who(a, zh));
    if (i == c.fin_p)
        return snprintf(buf, n,
                        zh ? "挥手 3:%s → %s %s,seq y=%u,ack %u:%s也关闭了,进入 LAST_ACK。"
                           : "Goodbye 3: %s → %s %s, seq y=%u, ack %u: the %s closed too and is "
                             "in LAST_ACK.",
                        who(p, zh), who(a, zh), fl, g->seq, g->ack, who(p, zh));
    if (i == c.ack_p)
        return snprintf(buf, n,
                        zh ? "挥手 4:%s → %s ACK,ack=y+1=%u。%s的套接字关闭了;%s这一端留在 "
                             "TIME_WAIT。"
                           : "Goodbye 4: %s → %s ACK, ack y+1=%u. The %s's socket is closed; the "
                             "%s's end stays in TIME_WAIT.",
                        who(a, zh), who(p, zh), g->ack, who(p, zh), who(a, zh));
    return 0;
}

/* The closer's last look at its connection (the TD_LOOK note: the state sock_diag gave). */
static int say_look(const struct ev *e, int zh, char *buf, size_t n)
{
    char text[EV_TEXT_MAX + 1];
    snprintf(text, sizeof(text), "%.*s", EV_TEXT_MAX, e->text);
    const char *st = text + strlen(TD_LOOK) + 1;
    int a = atomic_load(&S->closer);
    uint16_t sp = (uint16_t)atomic_load(&S->port), cp = (uint16_t)atomic_load(&S->cport);
    uint16_t mine = a == TD_SERVER ? sp : cp, peer = a == TD_SERVER ? cp : sp;
    if (strcmp(st, "TIME_WAIT") == 0)
        return snprintf(buf, n,
                        zh ? "%s像 ss -tan 那样向内核查询它关闭的连接:127.0.0.1:%u → :%u 处于 "
                             "TIME_WAIT。程序用完了它,即将退出;内核还要保留这一项 60 秒。"
                           : "The %s asks the kernel about its closed connection, as ss -tan "
                             "does: 127.0.0.1:%u → :%u is in TIME_WAIT. The program is done with "
                             "it and exits; the kernel keeps the entry for 60 s.",
                        who(a, zh), mine, peer);
    return snprintf(buf, n,
                    zh ? "%s向内核查询它关闭的连接:127.0.0.1:%u → :%u 的状态是 %s。"
                       : "The %s asks the kernel about its closed connection: 127.0.0.1:%u → :%u "
                         "is %s.",
                    who(a, zh), mine, peer, st);
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    if (e->kind == EV_NOTE && (e->flags & EVF_TEXT) && strncmp(e->text, TD_LOOK, 10) == 0)
        return say_look(e, zh, buf, n) > 0;
    if (e->kind == EV_TCP_STATE && e->val == NET_TIME_WAIT) {
        /* short: the pin beside it says why (both whole in projector mode at 80x24) */
        snprintf(buf, n,
                 zh ? "主动关闭方这一端现在处于 TIME_WAIT,持续 2·MSL(Linux 上 60 秒)。"
                    : "The active closer's end is now in TIME_WAIT, for 2·MSL (60 s on Linux).");
        return 1;
    }
    if (e->kind == EV_TCP_STATE && e->val == NET_CLOSE_WAIT)
        return say_close_wait(zh, buf, n) > 0;
    if (e->kind == EV_PKT && say_goodbye_pkt(e, zh, buf, n) > 0)
        return 1;
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
                  "TIME_WAIT, for 2·MSL. With half_close=1 it uses shutdown(SHUT_WR) and still "
                  "receives what the peer sends after the FIN. With CAP_NET_RAW the segments on "
                  "lo are captured: the four-way close is often three segments on the wire.",
    .summary_zh =
        "一个连接的挥手过程。先关闭的一方发送 FIN,经历 FIN_WAIT1、FIN_WAIT2;另一方处于 "
        "CLOSE_WAIT,直到它的应用也关闭(LAST_ACK)。只有先关闭的一方最后进入 TIME_WAIT,停留 "
        "2·MSL。half_close=1 时先关闭方使用 shutdown(SHUT_WR),在 FIN 之后仍能收到对方发来的数据。"
        "有 CAP_NET_RAW 时在 lo 上抓包:“四次挥手”在线上常常只有三个报文段。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct td_shared),
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
