/*
 * mux_servers.c - one process serves many clients with select, poll or epoll (chapter 4).
 *
 * Three scenarios share this engine: select-server, poll-server and epoll-server. Each
 * iteration the server hands the kernel its interest set (the listener plus every open
 * connection), sleeps until some are readable, and serves only the ready set: accept on
 * the listener, recv and echo on a connection, close on EOF. Both sets are objects on
 * screen (their values are the set sizes, their events carry the fd bitmasks) and every
 * iteration is kept for the snapshot's `ready_sets`.
 *
 * The cost of each call is recorded so the three can be compared side by side: after every
 * call the server emits a var event (item: 0 select, 1 poll, 2 epoll_wait; val: the work of
 * this call; aux: fds ready; extra: nfds << 16 | fds watched). The work is what the call
 * makes the kernel go through: select scans descriptors 0..nfds-1, poll checks every pollfd
 * entry passed, epoll_wait only hands back the ready events. Snapshot keys: `work_unit`,
 * `work_total`, `work_max` (this call's work, summed and at most), `work_same_sets` (for
 * the same interest and ready sets: the descriptors select would scan, the entries poll
 * would check, the events epoll_wait would return, summed over the calls), and per entry of
 * `ready_sets` also `nfds` and `work`.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_net.h"
#include "../scenario.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MX_MAX_CONNS 16
#define MX_MAX_SETS 256
#define MX_MAX_ITER 10000

enum { MX_SELECT = 0, MX_POLL, MX_EPOLL };
static const char *const MX_CALL[] = {"select", "poll", "epoll_wait"};

struct mx_set {
    int16_t interest, ready, nfds, work;
    uint64_t ready_mask;
};

struct mx_shared {
    int mode;
    long clients, messages, gap_ms, stagger_ms;
    _Atomic int port, accepted, closed, echoed_ok, iterations, max_ready, max_interest;
    _Atomic int ended; /* the server closed its sockets: the last call's sets are history */
    _Atomic long work_total, work_max;              /* the calls' work (see the header) */
    _Atomic long sum_nfds, sum_interest, sum_ready; /* the same sets, as each call sees them */
    struct net_clients cl; /* the clients to serve (the 'c' key adds one) */
    int nsets;
    struct mx_set sets[MX_MAX_SETS];
    /* the last call as the screen shows it: each watched fd, its owner, ready or not (poll:
     * its revents), and the call's work beside what the other two calls would do */
    struct {
        int n, nfds, work, ready;
        int fd[MX_MAX_CONNS + 1];
        char owner[MX_MAX_CONNS + 1][INSTR_NAME_MAX];
        uint8_t is_ready[MX_MAX_CONNS + 1];
        short revents[MX_MAX_CONNS + 1];
    } view;
};

static struct mx_shared *S;

static const struct scenario_param params[] = {
    {"clients", "clients served at once", "同时服务的客户端数", 1, 12, 3},
    {"messages", "lines each client sends", "每个客户端发送的行数", 1, 20, 3},
    {"gap_ms", "pause between a client's lines", "客户端每行之间的停顿毫秒数", 0, 5000, 80},
    {"stagger_ms", "delay between client starts", "客户端相继启动的间隔毫秒数", 0, 5000, 30},
    {"extra", "clients the 'c' key adds at start (headless tests)", "开始时按 'c' 增加的客户端数",
     0, 4, 0},
};

/* The server's connections, by slot. */
struct mx_conns {
    struct net_sock ls, c[MX_MAX_CONNS];
    int open[MX_MAX_CONNS];
    int epfd;
    struct net_mux *mux; /* epoll: the interest set net_epoll_ctl keeps */
};

/* The English word for n of a thing: "1 entry", "2 entries". */
static const char *en_n(long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* What one call made the kernel go through: descriptors scanned (select), entries checked
 * (poll), events handed back (epoll_wait). */
static int call_work(int nfds, int interest, int ready)
{
    return S->mode == MX_SELECT ? nfds : S->mode == MX_POLL ? interest : ready;
}

/* Record the call just made (its sets and its cost) for the snapshot and as a var event. */
static void keep_set(const struct net_mux *m, int nfds)
{
    int interest = (int)m->interest->value, ready = m->last_ready;
    int work = call_work(nfds, interest, ready);
    atomic_fetch_add(&S->iterations, 1);
    if (ready > atomic_load(&S->max_ready))
        atomic_store(&S->max_ready, ready);
    if (interest > atomic_load(&S->max_interest))
        atomic_store(&S->max_interest, interest);
    atomic_fetch_add(&S->work_total, work);
    atomic_fetch_add(&S->sum_nfds, nfds);
    atomic_fetch_add(&S->sum_interest, interest);
    atomic_fetch_add(&S->sum_ready, ready);
    if (work > atomic_load(&S->work_max))
        atomic_store(&S->work_max, work);
    if (S->nsets < MX_MAX_SETS)
        S->sets[S->nsets++] = (struct mx_set){(int16_t)interest, (int16_t)ready, (int16_t)nfds,
                                              (int16_t)work, m->ready_mask};
    struct ev e = {.kind = EV_VAR,
                   .src = EV_SRC_INSTR,
                   .task = (uint32_t)instr_self(),
                   .pid = getpid(),
                   .tid = gettid(),
                   .obj = EV_NO_OBJ,
                   .val = work,
                   .item = S->mode,
                   .aux = ready,
                   .extra = (int64_t)nfds << 16 | interest};
    instr_emit_ev(&e);
}

/* Keep the last call's sets for the screen: who owns each watched fd, which are ready (and,
 * for poll, the revents the kernel wrote). p: poll's array (NULL for the others). */
static void keep_view(const struct mx_conns *k, uint64_t ready_mask, const struct pollfd *p,
                      nfds_t np, int nfds)
{
    int n = 0;
    const struct net_sock *socks[MX_MAX_CONNS + 1] = {&k->ls};
    for (int i = 0; i < MX_MAX_CONNS; i++)
        if (k->open[i])
            socks[++n] = &k->c[i];
    n++;
    for (int i = 0; i < n; i++) {
        int fd = socks[i]->fd;
        S->view.fd[i] = fd;
        snprintf(S->view.owner[i], sizeof(S->view.owner[i]), "%s",
                 socks[i]->o ? socks[i]->o->name : "?");
        S->view.is_ready[i] = fd >= 0 && fd < 64 && (ready_mask >> fd & 1);
        S->view.revents[i] = 0;
        for (nfds_t j = 0; p && j < np; j++)
            if (p[j].fd == fd)
                S->view.revents[i] = p[j].revents;
    }
    S->view.n = n;
    S->view.nfds = nfds;
}

/* The highest descriptor watched, plus one (select's nfds). */
static int nfds_of(const struct mx_conns *k)
{
    int maxfd = k->ls.fd;
    for (int i = 0; i < MX_MAX_CONNS; i++)
        if (k->open[i] && k->c[i].fd > maxfd)
            maxfd = k->c[i].fd;
    return maxfd + 1;
}

static void accept_one(struct mx_conns *k)
{
    for (int i = 0; i < MX_MAX_CONNS; i++) {
        if (k->open[i])
            continue;
        char name[INSTR_NAME_MAX];
        snprintf(name, sizeof(name), "conn-%d", atomic_load(&S->accepted) + 1);
        if (net_accept(&k->ls, &k->c[i], name) < 0)
            return;
        k->open[i] = 1;
        atomic_fetch_add(&S->accepted, 1);
        if (S->mode == MX_EPOLL)
            net_epoll_ctl(k->mux, k->epfd, EPOLL_CTL_ADD, k->c[i].fd, EPOLLIN);
        return;
    }
}

/* Serve connection slot i, which the kernel said is readable. */
static void serve_one(struct mx_conns *k, int i)
{
    char buf[512];
    ssize_t r = net_recv(&k->c[i], buf, sizeof(buf));
    if (r > 0) {
        net_send(&k->c[i], buf, (size_t)r);
        return;
    }
    if (S->mode == MX_EPOLL)
        net_epoll_ctl(k->mux, k->epfd, EPOLL_CTL_DEL, k->c[i].fd, 0);
    net_close(&k->c[i]);
    k->open[i] = 0;
    atomic_fetch_add(&S->closed, 1);
}

static int slot_of_fd(const struct mx_conns *k, int fd)
{
    for (int i = 0; i < MX_MAX_CONNS; i++)
        if (k->open[i] && k->c[i].fd == fd)
            return i;
    return -1;
}

static void serve_fd(struct mx_conns *k, int fd)
{
    if (fd == k->ls.fd) {
        accept_one(k);
        return;
    }
    int i = slot_of_fd(k, fd);
    if (i >= 0)
        serve_one(k, i);
}

static int iterate_select(struct mx_conns *k, struct net_mux *m)
{
    fd_set set;
    FD_ZERO(&set);
    FD_SET(k->ls.fd, &set);
    int maxfd = k->ls.fd;
    for (int i = 0; i < MX_MAX_CONNS; i++)
        if (k->open[i]) {
            FD_SET(k->c[i].fd, &set);
            maxfd = k->c[i].fd > maxfd ? k->c[i].fd : maxfd;
        }
    int r = net_select(m, maxfd + 1, &set, -1);
    keep_view(k, m->ready_mask, NULL, 0, maxfd + 1);
    keep_set(m, maxfd + 1);
    for (int fd = 0; r > 0 && fd <= maxfd; fd++)
        if (FD_ISSET(fd, &set))
            serve_fd(k, fd);
    return r;
}

static int iterate_poll(struct mx_conns *k, struct net_mux *m)
{
    struct pollfd p[MX_MAX_CONNS + 1];
    nfds_t n = 0;
    p[n++] = (struct pollfd){.fd = k->ls.fd, .events = POLLIN};
    for (int i = 0; i < MX_MAX_CONNS; i++)
        if (k->open[i])
            p[n++] = (struct pollfd){.fd = k->c[i].fd, .events = POLLIN};
    int nfds = nfds_of(k);
    int r = net_poll(m, p, n, -1);
    keep_view(k, m->ready_mask, p, n, nfds);
    keep_set(m, nfds);
    for (nfds_t i = 0; r > 0 && i < n; i++)
        if (p[i].revents)
            serve_fd(k, p[i].fd);
    return r;
}

static int iterate_epoll(struct mx_conns *k, struct net_mux *m)
{
    struct epoll_event evs[MX_MAX_CONNS + 1];
    int nfds = nfds_of(k);
    int r = net_epoll_wait(m, k->epfd, evs, MX_MAX_CONNS + 1, -1);
    keep_view(k, m->ready_mask, NULL, 0, nfds);
    keep_set(m, nfds);
    for (int i = 0; i < r; i++)
        serve_fd(k, evs[i].data.fd);
    return r;
}

static int server(void *arg)
{
    (void)arg;
    static struct mx_conns k;
    struct net_mux m;
    if (net_mux_new(&m, MX_CALL[S->mode]) < 0 || net_socket(&k.ls, "listener", SOCK_STREAM) < 0 ||
        net_bind(&k.ls, 0) < 0 || net_listen(&k.ls, 16) < 0)
        return 1;
    k.epfd = -1;
    k.mux = &m;
    if (S->mode == MX_EPOLL) {
        k.epfd = epoll_create1(EPOLL_CLOEXEC);
        if (k.epfd < 0 || net_epoll_ctl(&m, k.epfd, EPOLL_CTL_ADD, k.ls.fd, EPOLLIN) < 0)
            return 1;
    }
    net_flag_set(&S->port, k.ls.lport);
    int (*iterate[])(struct mx_conns *, struct net_mux *) = {iterate_select, iterate_poll,
                                                             iterate_epoll};
    for (int it = 0; it < MX_MAX_ITER && atomic_load(&S->closed) < atomic_load(&S->cl.target); it++)
        if (iterate[S->mode](&k, &m) <= 0)
            break; /* nothing for NET_WAIT_MS, or the run stops */
    for (int i = 0; i < MX_MAX_CONNS; i++)
        if (k.open[i])
            net_close(&k.c[i]);
    if (k.epfd >= 0)
        net_epoll_close(&m, k.epfd);
    net_close(&k.ls);
    atomic_store(&S->ended, 1);
    return atomic_load(&S->closed) == atomic_load(&S->cl.target) ? 0 : 1;
}

static int client(void *arg)
{
    int idx = (int)(intptr_t)arg;
    return net_echo_client_run(&S->port, idx, S->stagger_ms * idx, S->messages, S->gap_ms,
                               &S->echoed_ok);
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    (void)ctx;
    return (uint32_t)(MX_MAX_CONNS + 16);
}

/* The 'c' action: one more client joins while the others are being served. */
static int act_add_client(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    if (atomic_load(&S->closed) >= atomic_load(&S->cl.target)) {
        snprintf(msg, n, "the server has already finished");
        return -ESRCH;
    }
    int rc = net_client_spawn(&S->cl, 0, msg, n);
    if (rc == 0)
        snprintf(msg, n, "client-%d connects: its socket joins the interest set on the next call",
                 atomic_load(&S->cl.started));
    return rc;
}

static int setup_mode(struct scn_ctx *ctx, int mode, char *err, size_t n)
{
    S = ctx->shared;
    S->mode = mode;
    S->clients = scn_param(ctx, "clients");
    S->messages = scn_param(ctx, "messages");
    S->gap_ms = scn_param(ctx, "gap_ms");
    S->stagger_ms = scn_param(ctx, "stagger_ms");
    long all = S->clients + scn_param(ctx, "extra");
    S->cl.max = MX_MAX_CONNS;
    S->cl.fn = client;
    return net_server_start(&S->cl, server, all, err, n);
}

static int setup_select(struct scn_ctx *c, char *e, size_t n)
{
    return setup_mode(c, MX_SELECT, e, n);
}

static int setup_poll(struct scn_ctx *c, char *e, size_t n)
{
    return setup_mode(c, MX_POLL, e, n);
}

static int setup_epoll(struct scn_ctx *c, char *e, size_t n)
{
    return setup_mode(c, MX_EPOLL, e, n);
}

static void pin_update(struct scn_ctx *ctx);

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)m;
    pin_update(ctx); /* the final numbers, also when the run ended between two polls */
    int want = atomic_load(&S->cl.target);
    if (atomic_load(&S->closed) != want || atomic_load(&S->accepted) != want) {
        snprintf(why, n, "served %d of %d clients", atomic_load(&S->closed), want);
        return -1;
    }
    if (atomic_load(&S->echoed_ok) != want * S->messages) {
        snprintf(why, n, "%d of %ld lines came back", atomic_load(&S->echoed_ok),
                 want * S->messages);
        return -1;
    }
    /* Only when the clients' sessions must overlap: the first is still talking when the
     * second starts. */
    int overlap = want > 1 && (S->messages - 1) * S->gap_ms > 2 * S->stagger_ms;
    if (overlap && atomic_load(&S->max_interest) < 3) {
        snprintf(why, n, "one process never watched two connections at once");
        return -1;
    }
    return 0;
}

static const char *const MX_UNIT[] = {"descriptors scanned (nfds)", "pollfd entries checked",
                                      "events returned"};

/* poll's revents as words: "POLLIN|POLLHUP". */
static const char *revents_text(short r, char *buf, size_t n)
{
    static const struct {
        short bit;
        const char *name;
    } F[] = {{POLLIN, "POLLIN"},   {POLLOUT, "POLLOUT"},   {POLLHUP, "POLLHUP"},
             {POLLERR, "POLLERR"}, {POLLNVAL, "POLLNVAL"}, {POLLPRI, "POLLPRI"}};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(F) / sizeof(F[0]) && used < n; i++)
        if (r & F[i].bit)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? "|" : "", F[i].name);
    return buf;
}

/* The last call's sets as lists of fds and owners, and its work beside the other calls'. */
static void view_meters(const struct scn_ctx *ctx, json_t *out)
{
    int zh = ctx->lang == LANG_ZH;
    char all[512] = "", ready[512] = "";
    size_t ua = 0, ur = 0;
    int nready = 0;
    for (int i = 0; i < S->view.n; i++) {
        ua += (size_t)snprintf(all + ua, sizeof(all) - ua, "%sfd %d %s", i ? " · " : "",
                               S->view.fd[i], S->view.owner[i]);
        if (!S->view.is_ready[i] && !S->view.revents[i])
            continue;
        char rv[64] = "";
        if (S->mode == MX_POLL)
            revents_text(S->view.revents[i], rv, sizeof(rv));
        ur += (size_t)snprintf(ready + ur, sizeof(ready) - ur, "%sfd %d %s%s%s%s",
                               nready ? " · " : "", S->view.fd[i], S->view.owner[i],
                               rv[0] ? " (" : "", rv, rv[0] ? ")" : "");
        nready++;
    }
    if (!S->view.n)
        return;
    const char *how_en[] = {"rebuilt and copied in on every call", "an array passed on every call",
                            "kept in the kernel by epoll_ctl"};
    const char *how_zh[] = {"每次调用都重建并拷入", "每次调用都传入数组",
                            "由 epoll_ctl 保存在内核中"};
    /* after the end these fds are closed: the rows say first that they were the last call's */
    const char *was = !atomic_load(&S->ended) ? ""
                      : zh                    ? "最后一次调用（现已关闭）："
                                              : "last call, now closed: ";
    scn_meter(out, zh ? "关注集合" : "interest set", 0, 0, "%s%s (%s)", was, all,
              zh ? how_zh[S->mode] : how_en[S->mode]);
    scn_meter(out, zh ? "就绪集合" : "ready set", 0, 0, "%s%s", was, nready ? ready : "—");
    long calls = atomic_load(&S->iterations);
    scn_meter(out, zh ? "每次调用的工作量" : "work per call", 0, 0,
              zh ? "select 扫描 %d 个 fd%s · poll 检查 %d 项%s · epoll_wait 返回 %d 个"
                 : "select scans %d %s · poll checks %d %s · epoll_wait returns %d",
              S->view.nfds, zh ? "" : en_n(S->view.nfds, "fd", "fds"), (int)S->view.n,
              zh ? "" : en_n((long)S->view.n, "entry", "entries"), nready);
    scn_meter(out, zh ? "总工作量" : "total work", 0, 0,
              zh ? "%ld 次调用%s：select %ld · poll %ld · epoll_wait %ld"
                 : "over %ld %s: select %ld · poll %ld · epoll_wait %ld",
              calls, zh ? "" : en_n(calls, "call", "calls"), (long)atomic_load(&S->sum_nfds),
              (long)atomic_load(&S->sum_interest), (long)atomic_load(&S->sum_ready));
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)m;
    json_object_set_new(out, "call", json_string(MX_CALL[S->mode]));
    json_object_set_new(out, "port", json_integer(atomic_load(&S->port)));
    json_object_set_new(out, "served", json_integer(atomic_load(&S->closed)));
    json_object_set_new(out, "echoed_ok", json_integer(atomic_load(&S->echoed_ok)));
    json_object_set_new(out, "iterations", json_integer(atomic_load(&S->iterations)));
    json_object_set_new(out, "max_interest", json_integer(atomic_load(&S->max_interest)));
    json_object_set_new(out, "max_ready", json_integer(atomic_load(&S->max_ready)));
    json_object_set_new(out, "work_unit", json_string(MX_UNIT[S->mode]));
    json_object_set_new(out, "work_total", json_integer(atomic_load(&S->work_total)));
    json_object_set_new(out, "work_max", json_integer(atomic_load(&S->work_max)));
    json_object_set_new(out, "work_same_sets",
                        json_pack("{s:I, s:I, s:I}", "select",
                                  (json_int_t)atomic_load(&S->sum_nfds), "poll",
                                  (json_int_t)atomic_load(&S->sum_interest), "epoll_wait",
                                  (json_int_t)atomic_load(&S->sum_ready)));
    json_t *sets = json_array();
    for (int i = 0; i < S->nsets; i++)
        json_array_append_new(sets, json_pack("{s:i, s:i, s:I, s:i, s:i}", "interest",
                                              S->sets[i].interest, "ready", S->sets[i].ready,
                                              "ready_mask", (json_int_t)S->sets[i].ready_mask,
                                              "nfds", S->sets[i].nfds, "work", S->sets[i].work));
    json_object_set_new(out, "ready_sets", sets);
    view_meters(ctx, out);
}

/* The cost sentence of one call (its var event). */
static int narrate_cost(const struct ev *e, int zh, char *buf, size_t n)
{
    int nfds = (int)(e->extra >> 16), interest = (int)(e->extra & 0xffff), ready = (int)e->aux;
    const char *entries = en_n(interest, "entry", "entries"), *fds = en_n(interest, "fd", "fds");
    switch (e->item) {
    case MX_SELECT:
        if (zh)
            return snprintf(buf, n,
                            "这次 select 的代价:内核逐个扫描了描述符 0..%d(nfds=%d),在 %d 个关注的 "
                            "fd 中找到 %d 个就绪;集合每次都要重建、拷入再拷出。同样的集合,poll "
                            "要检查 %d 项,epoll_wait 只返回 %d 个事件。",
                            nfds - 1, nfds, interest, ready, interest, ready);
        return snprintf(buf, n,
                        "This select cost: the kernel scanned descriptors 0..%d (nfds=%d) to "
                        "find %d ready among the %d watched, and the set is rebuilt and "
                        "copied in and out on every call. For the same sets poll checks %d "
                        "%s and epoll_wait returns only the ready ones (%d).",
                        nfds - 1, nfds, ready, interest, interest, entries, ready);
    case MX_POLL:
        if (zh)
            return snprintf(buf, n,
                            "这次 poll 的代价:内核检查了传入的全部 %d 个 pollfd 项,找到 %d 个就绪;"
                            "数组每次都要拷入再拷出。同样的集合,select 要扫描 %d 个描述符,"
                            "epoll_wait 只返回 %d 个事件。",
                            interest, ready, nfds, ready);
        return snprintf(buf, n,
                        "This poll cost: the kernel checked %s %d pollfd %s passed to "
                        "find %d ready, and the array is copied in and out on every call. "
                        "For the same sets select scans %d %s and epoll_wait returns "
                        "only the ready ones (%d).",
                        interest == 1 ? "the" : "all", interest, entries, ready, nfds,
                        en_n(nfds, "descriptor", "descriptors"), ready);
    default:
        if (zh)
            return snprintf(buf, n,
                            "这次 epoll_wait 的代价:只返回了 %d 个就绪事件;%d 个关注的 fd 早已由 "
                            "epoll_ctl 登记在内核中,不用拷贝也不用扫描。同样的集合,select 要扫描 "
                            "%d 个描述符,poll 要检查 %d 项。",
                            ready, interest, nfds, interest);
        return snprintf(buf, n,
                        "This epoll_wait cost: it returned only the ready fds (%d); the %d "
                        "watched %s %s registered in the kernel by epoll_ctl, so nothing "
                        "is copied in or scanned. For the same sets select scans %d "
                        "%s, poll checks %d %s.",
                        ready, interest, fds, interest == 1 ? "was" : "were", nfds,
                        en_n(nfds, "descriptor", "descriptors"), interest, entries);
    }
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    if (e->kind == EV_VAR && e->obj == EV_NO_OBJ && e->item >= MX_SELECT && e->item <= MX_EPOLL) {
        narrate_cost(e, lang == LANG_ZH, buf, n);
        return 1;
    }
    return net_narrate(m, e, lang, buf, n);
}

/* The running totals stay on top of the narration: the cost difference, side by side. */
static void pin_update(struct scn_ctx *ctx)
{
    int calls = atomic_load(&S->iterations);
    if (!calls)
        return;
    long sel = atomic_load(&S->sum_nfds), pol = atomic_load(&S->sum_interest);
    long epo = atomic_load(&S->sum_ready);
    if (ctx->lang == LANG_ZH)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 "%s 调用了 %d 次。同样的集合,内核的工作量:select 扫描 %ld 个描述符,poll 检查 %ld "
                 "项,epoll_wait 返回 %ld 个事件。",
                 MX_CALL[S->mode], calls, sel, pol, epo);
    else
        snprintf(ctx->pin, sizeof(ctx->pin),
                 "%d %s %s. Kernel work for the same sets: select scans %ld %s, poll checks %ld "
                 "%s, epoll_wait returns %ld %s.",
                 calls, MX_CALL[S->mode], en_n(calls, "call", "calls"), sel,
                 en_n(sel, "descriptor", "descriptors"), pol, en_n(pol, "entry", "entries"), epo,
                 en_n(epo, "event", "events"));
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    pin_update(ctx);
    return 0;
}

static const struct scenario_action actions[] = {
    {'c', "connect another client", "再连接一个客户端", act_add_client},
};

#define MX_COMMON                                                                                  \
    .chapter = 4, .params = params, .nparams = sizeof(params) / sizeof(params[0]),                 \
    .shared_size = sizeof(struct mx_shared), .max_tasks = max_tasks, .check = check,               \
    .snapshot = snapshot, .narrate = narrate, .finished = finished, .actions = actions,            \
    .nactions = sizeof(actions) / sizeof(actions[0])

const struct scenario scenario_select_server = {
    .id = "select-server",
    .title_en = "select(): one process, many clients",
    .title_zh = "select():一个进程服务多个客户端",
    .summary_en = "r, w, x = select(rlist, wlist, xlist): the server passes the listener and "
                  "every connection in an fd_set, sleeps until some are readable, and the "
                  "kernel overwrites the set with the ready ones. The set must be rebuilt on "
                  "every call and is scanned fd by fd, which is why select gets slow with many "
                  "clients.",
    .summary_zh = "r, w, x = select(rlist, wlist, xlist):服务端把监听套接字和所有连接放进 fd_set,"
                  "睡眠直到其中有可读的,内核把集合改写为就绪的那些。每次调用都要重建集合并逐个扫描,"
                  "所以客户端很多时 select 会变慢。",
    .setup = setup_select,
    MX_COMMON,
};

const struct scenario scenario_poll_server = {
    .id = "poll-server",
    .title_en = "poll(): register, poll, handle the events",
    .title_zh = "poll():注册、监控、处理 IO 事件",
    .summary_en = "p.register(s), events = p.poll(): the interest set is an array of pollfd "
                  "(fd plus POLLIN), with no FD_SETSIZE limit; the kernel fills revents "
                  "(POLLIN, POLLHUP, POLLERR) for the ready entries, and the server handles "
                  "only those.",
    .summary_zh =
        "p.register(s),events = p.poll():关注集合是 pollfd 数组(fd 加 POLLIN),没有 "
        "FD_SETSIZE 限制;内核为就绪项填写 revents(POLLIN、POLLHUP、POLLERR),服务端只处理这些。",
    .setup = setup_poll,
    MX_COMMON,
};

const struct scenario scenario_epoll_server = {
    .id = "epoll-server",
    .title_en = "epoll: the interest set lives in the kernel",
    .title_zh = "epoll:关注集合保存在内核中",
    .summary_en = "epoll_ctl adds or removes one fd at a time from an interest set the kernel "
                  "keeps; epoll_wait returns only the ready fds. Unlike select and poll nothing "
                  "is copied or scanned per call, so the cost follows the ready set, not the "
                  "number of clients.",
    .summary_zh =
        "epoll_ctl 每次向内核保存的关注集合中加入或删除一个 fd;epoll_wait 只返回就绪的 fd。"
        "与 select、poll 不同,每次调用不复制也不扫描整个集合,开销取决于就绪集合而不是客户端数。",
    .setup = setup_epoll,
    MX_COMMON,
};
