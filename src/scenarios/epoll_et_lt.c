/*
 * epoll_et_lt.c - level-triggered versus edge-triggered epoll, side by side (chapter 4).
 *
 * One epoll instance watches two connections from the same client: "lt" registered with
 * EPOLLIN, "et" with EPOLLIN|EPOLLET. The client sends a chunk on each, the server reads
 * only read_size bytes per wakeup. Level-triggered keeps reporting "lt" until it is drained;
 * edge-triggered reports "et" once per arrival, so epoll_wait goes silent while bytes are
 * still unread there, until the client's next chunk makes a new edge. Snapshot keys: lt and
 * et each {wakeups, bytes_read, unread (FIONREAD after the last epoll_wait or read; 0 once
 * drained), unread_while_silent (most bytes unread when a wait timed out)}, silent_timeouts,
 * timeout_ms (epoll_wait's, half the client's pause), partial_bytes.
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
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define EL_MAX_ITER 200

enum { LT = 0, ET = 1 };

/* The server's EV_VAR tally, emitted after every epoll_wait: item = what it reported (bit 0
 * lt-conn, bit 1 et-conn; 0: it timed out silent), val = bytes unread on lt-conn, aux = on
 * et-conn (FIONREAD at that moment), extra = LT wakeups << 32 | ET wakeups so far. */
enum { EL_TALLY_SILENT = 0, EL_TALLY_LT = 1, EL_TALLY_ET = 2 };

struct el_shared {
    long read_size, chunk, pause_ms, timeout_ms;
    _Atomic int port, client_done;
    _Atomic int wakeups[2], eof[2], silences;
    _Atomic long bytes[2], unread[2];
    _Atomic long silent_unread[2]; /* most bytes left unread while epoll_wait said nothing */
    _Atomic int pending;           /* partial sends asked for (the 'p' key), not yet made */
    _Atomic long extra_bytes;      /* bytes those sends added to each connection */
};

static struct el_shared *S;

static const struct scenario_param params[] = {
    {"read_size", "bytes the server reads per wakeup", "服务端每次被唤醒读取的字节数", 1, 256, 16},
    {"chunk", "bytes the client sends each time", "客户端每次发送的字节数", 1, 1024, 64},
    {"pause_ms", "client's pause after each chunk (the server's epoll_wait timeout is half of it)",
     "客户端每次发送后的停顿毫秒数(服务端 epoll_wait 的超时是它的一半)", 50, 5000, 500},
    {"partial", "partial sends the 'p' key adds at start (headless tests)",
     "开始时按 'p' 增加的部分发送次数", 0, 5, 0},
};

static long unread(const struct net_sock *c)
{
    int n = 0;
    return c->fd >= 0 && ioctl(c->fd, FIONREAD, &n) == 0 ? n : 0;
}

/* Measure the bytes waiting unread on each connection and record them with the wakeup counts
 * (an EV_VAR the narration reads: the numbers are the kernel's at that moment). */
static void tally(struct net_sock *c, int kind)
{
    for (int k = 0; k < 2; k++)
        atomic_store(&S->unread[k], unread(&c[k]));
    struct ev e = {.kind = EV_VAR,
                   .src = EV_SRC_INSTR,
                   .task = (uint32_t)instr_self(),
                   .pid = getpid(),
                   .tid = gettid(),
                   .obj = EV_NO_OBJ,
                   .item = kind,
                   .val = atomic_load(&S->unread[LT]),
                   .aux = atomic_load(&S->unread[ET]),
                   .extra = (int64_t)atomic_load(&S->wakeups[LT]) << 32 |
                            (uint32_t)atomic_load(&S->wakeups[ET])};
    instr_emit_ev(&e);
}

/* After a silent epoll_wait: remember how much was left unread on each connection. before:
 * what was unread just before the wait began. Only the server reads, so those bytes were
 * there all through the wait: evidence free of any race with a send that lands after the wait
 * returned (the tally shows the kernel's count now). */
static void note_silence(struct net_sock *c, const long before[2])
{
    tally(c, EL_TALLY_SILENT);
    atomic_fetch_add(&S->silences, 1);
    for (int k = 0; k < 2; k++)
        if (before[k] > atomic_load(&S->silent_unread[k]))
            atomic_store(&S->silent_unread[k], before[k]);
}

static void serve(struct net_sock *c, int k, struct net_mux *m, int epfd)
{
    char buf[256];
    ssize_t r = net_recv_nowait(&c[k], buf, (size_t)S->read_size); /* on purpose: partial */
    if (r > 0)
        atomic_fetch_add(&S->bytes[k], r);
    atomic_store(&S->unread[k], unread(&c[k])); /* what the pinned sentence shows now */
    if (r == 0) {
        atomic_store(&S->eof[k], 1);
        net_epoll_ctl(m, epfd, EPOLL_CTL_DEL, c[k].fd, 0);
        net_close(&c[k]);
    }
}

/* Once the client is done: read what is left (the edge-triggered side never asks). */
static void drain(struct net_sock *c, struct net_mux *m, int epfd)
{
    char buf[256];
    for (int k = 0; k < 2; k++)
        while (c[k].fd >= 0) {
            ssize_t r = net_recv(&c[k], buf, sizeof(buf));
            if (r <= 0) {
                net_epoll_ctl(m, epfd, EPOLL_CTL_DEL, c[k].fd, 0);
                net_close(&c[k]);
                break;
            }
            atomic_fetch_add(&S->bytes[k], r);
            atomic_store(&S->unread[k], unread(&c[k]));
        }
    for (int k = 0; k < 2; k++)
        atomic_store(&S->unread[k], 0); /* read to the end: nothing is left */
}

/* The event loop. epoll_wait times out after timeout_ms (a lesson deadline: while stepping,
 * its expiry is a step of its own, after everything due earlier); after one silent timeout
 * the server waits without a timeout until something new arrives, so each quiet spell is
 * one observation, whatever the pace. */
static void event_loop(struct net_sock *c, int epfd, struct net_mux *m)
{
    int quiet = 0;
    for (int it = 0; it < EL_MAX_ITER && !atomic_load(&S->client_done); it++) {
        struct epoll_event evs[2];
        long before[2] = {unread(&c[LT]), unread(&c[ET])};
        int r = net_epoll_wait(m, epfd, evs, 2, quiet ? -1 : (int)S->timeout_ms);
        if (r < 0 || (r == 0 && quiet))
            break; /* the run stops, or nothing came for NET_WAIT_MS in a free run */
        if (r == 0) {
            note_silence(c, before);
            quiet = 1;
            continue;
        }
        quiet = 0;
        int ks[2], reported = 0;
        for (int i = 0; i < r; i++) {
            ks[i] = evs[i].data.fd == c[LT].fd ? LT : ET;
            atomic_fetch_add(&S->wakeups[ks[i]], 1);
            reported |= ks[i] == LT ? EL_TALLY_LT : EL_TALLY_ET;
        }
        tally(c, reported);
        for (int i = 0; i < r; i++)
            serve(c, ks[i], m, epfd);
    }
}

static int server(void *arg)
{
    (void)arg;
    struct net_sock ls, c[2];
    struct net_mux m;
    const char *names[] = {"lt-conn", "et-conn"};
    if (net_mux_new(&m, "epoll") < 0 || net_socket(&ls, "listener", SOCK_STREAM) < 0 ||
        net_bind(&ls, 0) < 0 || net_listen(&ls, 2) < 0)
        return 1;
    net_flag_set(&S->port, ls.lport);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    for (int k = 0; k < 2; k++) {
        if (net_accept(&ls, &c[k], names[k]) < 0 ||
            net_epoll_ctl(&m, epfd, EPOLL_CTL_ADD, c[k].fd, EPOLLIN | (k == ET ? EPOLLET : 0)) < 0)
            return 1;
    }
    net_close(&ls);
    event_loop(c, epfd, &m);
    drain(c, &m, epfd);
    net_epoll_close(&m, epfd);
    return 0;
}

/* Send n bytes on both connections. */
static void send_both(struct net_sock *s, const char *data, size_t n)
{
    for (int k = 0; k < 2; k++)
        net_send(&s[k], data, n);
}

/* Make the partial sends asked for: half a chunk on each connection, a new edge for ET. */
static void send_partials(struct net_sock *s, const char *data)
{
    size_t half = (size_t)(S->chunk + 1) / 2;
    while (atomic_load(&S->pending) > 0) {
        atomic_fetch_sub(&S->pending, 1);
        send_both(s, data, half);
        atomic_fetch_add(&S->extra_bytes, (long)half);
    }
}

static int client(void *arg)
{
    (void)arg;
    struct net_sock s[2];
    const char *names[] = {"lt-client", "et-client"};
    char data[1024];
    memset(data, 'x', sizeof(data));
    if (!net_wait_flag(&S->port, "until the server listens"))
        return 1;
    for (int k = 0; k < 2; k++) /* the accept queue is FIFO: lt is accepted first, et second */
        if (net_socket(&s[k], names[k], SOCK_STREAM) < 0 ||
            net_connect(&s[k], (uint16_t)S->port) < 0)
            return 1;
    for (int round = 0; round < 2; round++) {
        send_both(s, data, (size_t)S->chunk);
        if (sclock_sleep(S->pause_ms, 0, "the client's pause") < 0)
            return 1;
        send_partials(s, data);
    }
    atomic_store(&S->client_done, 1);
    for (int k = 0; k < 2; k++)
        net_close(&s[k]);
    return 0;
}

/* The 'p' action: the client sends half a chunk more on each connection. */
static int act_partial(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    if (atomic_load(&S->client_done)) {
        snprintf(msg, n, "the client has already finished");
        return -ESRCH;
    }
    atomic_fetch_add(&S->pending, 1);
    snprintf(msg, n,
             "after its pause the client sends %ld more bytes on each connection: a new edge "
             "for ET",
             (S->chunk + 1) / 2);
    return 0;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->read_size = scn_param(ctx, "read_size");
    S->chunk = scn_param(ctx, "chunk");
    S->pause_ms = scn_param(ctx, "pause_ms");
    S->timeout_ms = S->pause_ms / 2; /* a quiet spell is seen before the next chunk comes */
    for (long k = scn_param(ctx, "partial"); k > 0; k--)
        act_partial(ctx, err, n);
    err[0] = '\0';
    return net_start_server_client(server, client, err, n);
}

static void pin_update(struct scn_ctx *ctx);

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    pin_update(ctx); /* the final numbers, also when the run ended between two polls */
    (void)m;
    long want = 2 * S->chunk + atomic_load(&S->extra_bytes);
    for (int k = 0; k < 2; k++)
        if (atomic_load(&S->bytes[k]) != want) {
            snprintf(why, n, "%s: %ld of %ld bytes read", k ? "et" : "lt",
                     atomic_load(&S->bytes[k]), want);
            return -1;
        }
    if (S->read_size < S->chunk && atomic_load(&S->silent_unread[ET]) <= 0) {
        snprintf(why, n, "edge-triggered epoll never went silent with bytes unread");
        return -1;
    }
    if (atomic_load(&S->silent_unread[LT]) > 0) {
        snprintf(why, n, "level-triggered epoll went silent with %ld bytes unread",
                 atomic_load(&S->silent_unread[LT]));
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    const char *k[] = {"lt", "et"};
    for (int i = 0; i < 2; i++) {
        json_t *j = json_object();
        json_object_set_new(j, "wakeups", json_integer(atomic_load(&S->wakeups[i])));
        json_object_set_new(j, "bytes_read", json_integer(atomic_load(&S->bytes[i])));
        json_object_set_new(j, "unread_while_silent",
                            json_integer(atomic_load(&S->silent_unread[i])));
        json_object_set_new(j, "unread", json_integer(atomic_load(&S->unread[i])));
        json_object_set_new(out, k[i], j);
    }
    json_object_set_new(out, "partial_bytes", json_integer(atomic_load(&S->extra_bytes)));
    json_object_set_new(out, "silent_timeouts", json_integer(atomic_load(&S->silences)));
    json_object_set_new(out, "timeout_ms", json_integer(S->timeout_ms));
}

/* The lesson's numbers stay on top of the narration once the server has been woken. */
static void pin_update(struct scn_ctx *ctx)
{
    int wl = atomic_load(&S->wakeups[LT]), we = atomic_load(&S->wakeups[ET]);
    if (wl + we == 0)
        return;
    long ul = atomic_load(&S->unread[LT]), ue = atomic_load(&S->unread[ET]);
    long sl = atomic_load(&S->silent_unread[ET]);
    int zh = ctx->lang == LANG_ZH;
    char silent[96] = "";
    if (sl)
        snprintf(silent, sizeof(silent),
                 zh ? "ET 曾在还有 %ld 字节未读时保持沉默。"
                    : " ET stayed silent with %ld B unread.",
                 sl);
    snprintf(ctx->pin, sizeof(ctx->pin),
             zh ? "唤醒次数:LT %d,ET %d。现在未读:lt-conn %ld 字节,et-conn %ld 字节。%s"
                : "Wakeups: LT %d, ET %d. Unread now: lt-conn %ld B, et-conn %ld B.%s",
             wl, we, ul, ue, silent);
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    pin_update(ctx);
    return 0;
}

/* The tally after an epoll_wait that reported something. */
static void narrate_wake(const struct ev *e, int zh, char *buf, size_t n)
{
    int wl = (int)((uint64_t)e->extra >> 32), we = (int)(uint32_t)e->extra;
    const char *who = e->item == (EL_TALLY_LT | EL_TALLY_ET)
                          ? (zh ? "两个连接" : "both connections")
                      : e->item == EL_TALLY_LT ? "lt-conn (LT)"
                                               : "et-conn (ET)";
    snprintf(buf, n,
             zh ? "epoll_wait 报告了 %s。至今唤醒:LT %d 次,ET %d 次。此刻未读:lt-conn %lld "
                  "字节,et-conn %lld 字节。"
                : "epoll_wait reported %s. Wakeups so far: LT %d, ET %d. Unread right now: "
                  "lt-conn %lld B, et-conn %lld B.",
             who, wl, we, (long long)e->val, (long long)e->aux);
}

/* The tally after an epoll_wait that timed out: the lesson. */
static void narrate_silent(const struct ev *e, int zh, char *buf, size_t n)
{
    int wl = (int)((uint64_t)e->extra >> 32), we = (int)(uint32_t)e->extra;
    if (e->aux > 0)
        snprintf(buf, n,
                 zh ? "epoll_wait 超时,什么也没报告,可是 et-conn 上还有 %lld 字节未读(lt-conn "
                      "%lld 字节)。边缘触发只在新数据到达(一个“边沿”)时通知一次:没有新数据就"
                      "不再通知。水平触发只要有数据就一直通知。唤醒:LT %d 次,ET %d 次。"
                    : "epoll_wait timed out and reported nothing, yet et-conn still holds %lld "
                      "unread bytes (lt-conn %lld). Edge-triggered reports an arrival once (an "
                      "edge): no new data, no report. Level-triggered reports as long as data "
                      "is there. Wakeups: LT %d, ET %d.",
                 (long long)e->aux, (long long)e->val, wl, we);
    else
        snprintf(buf, n,
                 zh ? "epoll_wait 超时:两个连接上都没有未读数据(lt-conn %lld 字节,et-conn %lld "
                      "字节),两种模式都不通知。唤醒:LT %d 次,ET %d 次。"
                    : "epoll_wait timed out: nothing is unread (lt-conn %lld B, et-conn %lld B), "
                      "so neither mode reports. Wakeups: LT %d, ET %d.",
                 (long long)e->val, (long long)e->aux, wl, we);
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    if (e->kind == EV_VAR && e->obj == EV_NO_OBJ) {
        if (e->item == EL_TALLY_SILENT)
            narrate_silent(e, zh, buf, n);
        else
            narrate_wake(e, zh, buf, n);
        return 1;
    }
    if (e->kind == EV_MUX_READY && e->val == 0 && e->extra != MUX_READY_NONE_YET) {
        buf[0] = '\0'; /* the tally that follows says it, with the numbers */
        return 1;
    }
    return net_narrate(m, e, lang, buf, n);
}

static const struct scenario_action actions[] = {
    {'p', "send half a chunk more (after the pause)", "(停顿之后)再发送半块数据", act_partial},
};

const struct scenario scenario_epoll_et_lt = {
    .id = "epoll-et-lt",
    .chapter = 4,
    .title_en = "epoll: level-triggered vs edge-triggered",
    .title_zh = "epoll:水平触发与边缘触发",
    .summary_en = "Two connections in one epoll set, one level-triggered (EPOLLIN) and one "
                  "edge-triggered (EPOLLIN|EPOLLET); the server reads only a few bytes per "
                  "wakeup. Level-triggered wakes it again and again until the data is gone. "
                  "Edge-triggered wakes it once per arrival: the rest stays unread, unnoticed, "
                  "until new data arrives. With ET, read until EAGAIN.",
    .summary_zh =
        "同一个 epoll 集合中有两个连接,一个水平触发(EPOLLIN),一个边缘触发(EPOLLIN|EPOLLET);"
        "服务端每次被唤醒只读几个字节。水平触发会反复唤醒,直到数据读完;边缘触发每次数据到达"
        "只唤醒一次,剩下的数据无人理会,直到新数据到来。使用 ET 时要一直读到 EAGAIN。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct el_shared),
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
