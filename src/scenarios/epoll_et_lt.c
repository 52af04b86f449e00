/*
 * epoll_et_lt.c - level-triggered versus edge-triggered epoll, side by side (chapter 4).
 *
 * One epoll instance watches two connections from the same client: "lt" registered with
 * EPOLLIN, "et" with EPOLLIN|EPOLLET. The client sends a chunk on each, the server reads
 * only read_size bytes per wakeup. Level-triggered keeps reporting "lt" until it is drained;
 * edge-triggered reports "et" once per arrival, so epoll_wait goes silent while bytes are
 * still unread there, until the client's next chunk makes a new edge.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_net.h"
#include "../scenario.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EL_MAX_ITER 200

enum { LT = 0, ET = 1 };

struct el_shared {
    long read_size, chunk, pause_ms;
    _Atomic int port, client_done;
    _Atomic long last_send_ms; /* silence right after a send is a race, not a lesson */
    _Atomic int wakeups[2], eof[2];
    _Atomic long bytes[2];
    _Atomic long silent_unread[2]; /* most bytes left unread while epoll_wait said nothing */
    _Atomic int pending;           /* partial sends asked for (the 'p' key), not yet made */
    _Atomic long extra_bytes;      /* bytes those sends added to each connection */
};

static struct el_shared *S;

static const struct scenario_param params[] = {
    {"read_size", "bytes the server reads per wakeup", "服务端每次被唤醒读取的字节数", 1, 256, 16},
    {"chunk", "bytes the client sends each time", "客户端每次发送的字节数", 1, 1024, 64},
    {"pause_ms", "client's pause between its two chunks", "客户端两次发送之间的停顿毫秒数", 50,
     5000, 500},
    {"partial", "partial sends the 'p' key adds at start (headless tests)",
     "开始时按 'p' 增加的部分发送次数", 0, 5, 0},
};

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long unread(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : 0;
}

/* After a silent epoll_wait: how much is still waiting unread on each connection. */
static void note_silence(struct net_sock *c)
{
    if (mono_ms() - atomic_load(&S->last_send_ms) < 30)
        return;
    for (int k = 0; k < 2; k++) {
        long u = c[k].fd >= 0 ? unread(c[k].fd) : 0;
        if (u > atomic_load(&S->silent_unread[k]))
            atomic_store(&S->silent_unread[k], u);
    }
}

static void serve(struct net_sock *c, int k, int epfd)
{
    char buf[256];
    atomic_fetch_add(&S->wakeups[k], 1);
    ssize_t r = net_recv_nowait(&c[k], buf, (size_t)S->read_size); /* on purpose: partial */
    if (r > 0)
        atomic_fetch_add(&S->bytes[k], r);
    if (r == 0) {
        atomic_store(&S->eof[k], 1);
        net_epoll_ctl(epfd, EPOLL_CTL_DEL, c[k].fd, 0);
        net_close(&c[k]);
    }
}

/* Once the client is done: read what is left (the edge-triggered side never asks). */
static void drain(struct net_sock *c)
{
    char buf[256];
    for (int k = 0; k < 2; k++)
        while (c[k].fd >= 0) {
            ssize_t r = net_recv(&c[k], buf, sizeof(buf));
            if (r <= 0) {
                net_close(&c[k]);
                break;
            }
            atomic_fetch_add(&S->bytes[k], r);
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
    atomic_store(&S->port, ls.lport);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    for (int k = 0; k < 2; k++)
        if (net_accept(&ls, &c[k], names[k]) < 0 ||
            net_epoll_ctl(epfd, EPOLL_CTL_ADD, c[k].fd, EPOLLIN | (k == ET ? EPOLLET : 0)) < 0)
            return 1;
    net_close(&ls);
    for (int it = 0; it < EL_MAX_ITER && !atomic_load(&S->client_done); it++) {
        struct epoll_event evs[2];
        uint64_t mask = 0;
        int interest = 0;
        for (int k = 0; k < 2; k++)
            if (c[k].fd >= 0) {
                interest++;
                mask |= c[k].fd < 64 ? 1ull << c[k].fd : 0;
            }
        int r = net_epoll_wait(&m, epfd, evs, 2, 100, interest, mask);
        if (r == 0)
            note_silence(c);
        for (int i = 0; i < r; i++)
            serve(c, evs[i].data.fd == c[LT].fd ? LT : ET, epfd);
    }
    drain(c);
    close(epfd);
    return 0;
}

/* Make the partial sends asked for: half a chunk on each connection, a new edge for ET. */
static void send_partials(struct net_sock *s, const char *data)
{
    size_t half = (size_t)(S->chunk + 1) / 2;
    while (atomic_load(&S->pending) > 0) {
        atomic_fetch_sub(&S->pending, 1);
        for (int k = 0; k < 2; k++)
            net_send(&s[k], data, half);
        atomic_fetch_add(&S->extra_bytes, (long)half);
        atomic_store(&S->last_send_ms, mono_ms());
    }
}

/* The client's pause between chunks, making partial sends as they are asked for. */
static void pause_and_send(struct net_sock *s, const char *data)
{
    for (long left = S->pause_ms; left > 0 && !net_stopping(); left -= 10) {
        send_partials(s, data);
        net_sleep_ms(left < 10 ? left : 10);
    }
}

static int client(void *arg)
{
    (void)arg;
    struct net_sock s[2];
    const char *names[] = {"lt-client", "et-client"};
    char data[1024];
    memset(data, 'x', sizeof(data));
    if (!net_wait_flag(&S->port))
        return 1;
    for (int k = 0; k < 2; k++) /* accepted in this order: lt first, et second */
        if (net_socket(&s[k], names[k], SOCK_STREAM) < 0 ||
            net_connect(&s[k], (uint16_t)S->port) < 0 || net_sleep_ms(20) < 0)
            return 1;
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 2; k++)
            net_send(&s[k], data, (size_t)S->chunk);
        atomic_store(&S->last_send_ms, mono_ms());
        pause_and_send(s, data);
    }
    send_partials(s, data);
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
    snprintf(msg, n, "the client sends %ld more bytes on each connection: a new edge for ET",
             (S->chunk + 1) / 2);
    return 0;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->read_size = scn_param(ctx, "read_size");
    S->chunk = scn_param(ctx, "chunk");
    S->pause_ms = scn_param(ctx, "pause_ms");
    for (long k = scn_param(ctx, "partial"); k > 0; k--)
        act_partial(ctx, err, n);
    err[0] = '\0';
    return net_start_server_client(server, client, err, n);
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
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
        json_object_set_new(out, k[i], j);
    }
    json_object_set_new(out, "partial_bytes", json_integer(atomic_load(&S->extra_bytes)));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    if (e->kind == EV_MUX_READY && e->val == 0) {
        snprintf(buf, n,
                 zh ? "epoll_wait 超时返回 0:边缘触发的连接上仍有未读数据,但没有新的“边沿”,"
                      "所以不会再通知;水平触发只要还有数据就会一直通知。"
                    : "epoll_wait timed out with nothing: the edge-triggered connection still "
                      "holds unread bytes, but no new data means no new edge, so no report. "
                      "Level-triggered reports as long as data is there.");
        return 1;
    }
    return net_narrate(m, e, lang, buf, n);
}

static const struct scenario_action actions[] = {
    {'p', "send a partial message now", "现在发送一段不完整的消息", act_partial},
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
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
