/*
 * instr_net.c - instrumented loopback sockets, multiplexing, packet capture on lo, and the
 * echo client/handler the server scenarios share.
 *
 * Sockets are non-blocking underneath: a "blocking" call waits in poll() in short slices
 * (so a stopping run or a lost peer can never hang a worker) while the task is shown
 * blocked on the socket object, then performs the real call. Until the event vocabulary
 * has socket kinds, calls are recorded as notes ("accept lsn :40312"), blocking as
 * block/unblock on the object, and set sizes as var events.
 */
#define _GNU_SOURCE
#include "instr_net.h"
#include "sources/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SLICE_MS 50
#define LOOPBACK_NET 0x7f000000u
#define LOOPBACK_BCAST 0x7fffffffu

enum { WHY_ACCEPT = 1, WHY_CONNECT, WHY_RECV, WHY_SEND, WHY_MUX };

static const char *const STATE_NAMES[] = {
    "?",     "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",    "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV",
};

const char *net_state_name(int state)
{
    if (state < 0 || (size_t)state >= sizeof(STATE_NAMES) / sizeof(STATE_NAMES[0]))
        return "?";
    return STATE_NAMES[state];
}

/* ---- time and stopping ---- */

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int net_stopping(void)
{
    struct instr_shared *sh = instr_region();
    return sh && atomic_load(&sh->stop);
}

int net_sleep_ms(long ms)
{
    while (ms > 0 && !net_stopping()) {
        long slice = ms < 20 ? ms : 20;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = slice * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        ms -= slice;
    }
    return net_stopping() ? -1 : 0;
}

int net_wait_flag(_Atomic int *flag)
{
    long end = now_ms() + NET_WAIT_MS;
    while (!atomic_load(flag) && now_ms() < end && !net_stopping())
        net_sleep_ms(2);
    return atomic_load(flag);
}

/* poll one fd for events, at most timeout_ms (in slices). >0 ready, 0 timeout,
 * -ECANCELED when the run stops. */
static int wait_fd(int fd, short events, long timeout_ms)
{
    long end = now_ms() + timeout_ms;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        long left = end - now_ms();
        int r = poll(&p, 1, (int)(left < SLICE_MS ? (left > 0 ? left : 0) : SLICE_MS));
        if (r > 0)
            return r;
        if (r < 0 && errno != EINTR)
            return -errno;
        if (net_stopping())
            return -ECANCELED;
        if (now_ms() >= end)
            return 0;
    }
}

/* Wait for events on s; when not ready at once, show the task blocked on s meanwhile. */
static int wait_marked(struct net_sock *s, short events, int why)
{
    if (wait_fd(s->fd, events, 0) > 0)
        return 0;
    if (s->o)
        instr_block(s->o, why);
    int r = wait_fd(s->fd, events, NET_WAIT_MS);
    if (s->o)
        instr_unblock(s->o);
    return r > 0 ? 0 : (r == 0 ? -ETIMEDOUT : r);
}

static void gate(struct net_sock *s)
{
    instr_gate(EV_NOTE, s && s->o ? s->o->id : EV_NO_OBJ);
}

static const char *oname(const struct net_sock *s)
{
    return s->o ? s->o->name : "?";
}

/* ---- calls ---- */

int net_socket(struct net_sock *s, const char *name, int type)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->type = type;
    instr_gate(EV_NOTE, EV_NO_OBJ);
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    s->fd = fd;
    if (type == SOCK_STREAM)
        s->o = instr_socket_new(name, 0, 0, NET_CLOSE);
    else
        s->o = instr_obj_new(name, OK_SOCKET, 0, 0);
    instr_note("socket(%s) %s fd %d", type == SOCK_STREAM ? "TCP" : "UDP", name, fd);
    return 0;
}

int net_setsockopt(struct net_sock *s, int level, int opt, int val, const char *label)
{
    gate(s);
    int rc = setsockopt(s->fd, level, opt, &val, sizeof(val)) < 0 ? -errno : 0;
    instr_note("setsockopt %s=%d%s", label, val, rc ? " fail" : "");
    return rc;
}

static void learn_ports(struct net_sock *s)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    if (getsockname(s->fd, (struct sockaddr *)&a, &len) == 0)
        s->lport = ntohs(a.sin_port);
    len = sizeof(a);
    if (getpeername(s->fd, (struct sockaddr *)&a, &len) == 0)
        s->rport = ntohs(a.sin_port);
    if (s->o && s->type == SOCK_STREAM)
        instr_socket_ports(s->o, s->lport, s->rport);
}

static int loopback_ok(uint32_t addr)
{
    return (addr & 0xff000000u) == LOOPBACK_NET;
}

int net_bind_addr(struct net_sock *s, uint32_t addr, uint16_t port)
{
    if (!loopback_ok(addr))
        return -EADDRNOTAVAIL; /* loopback only, always */
    gate(s);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(addr)};
    int rc = bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
    if (rc == 0)
        learn_ports(s);
    if (rc)
        instr_note("bind :%u %s", port, strerrorname_np(-rc)); /* fits the note */
    else
        instr_note("bind %s :%u", oname(s), s->lport);
    return rc;
}

int net_bind(struct net_sock *s, uint16_t port)
{
    return net_bind_addr(s, INADDR_LOOPBACK, port);
}

int net_listen(struct net_sock *s, int backlog)
{
    gate(s);
    int rc = listen(s->fd, backlog) < 0 ? -errno : 0;
    instr_note("listen %s backlog %d", oname(s), backlog);
    return rc;
}

int net_accept(struct net_sock *ls, struct net_sock *out, const char *name)
{
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    out->type = SOCK_STREAM;
    gate(ls);
    for (;;) {
        int rc = wait_marked(ls, POLLIN, WHY_ACCEPT);
        if (rc < 0)
            return rc;
        int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            out->fd = fd;
            break;
        }
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            return -errno;
    }
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    getsockname(out->fd, (struct sockaddr *)&a, &len);
    out->lport = ntohs(a.sin_port);
    len = sizeof(a);
    getpeername(out->fd, (struct sockaddr *)&a, &len);
    out->rport = ntohs(a.sin_port);
    out->o = instr_socket_new(name, out->lport, out->rport, NET_ESTABLISHED);
    instr_note("accept %s <- :%u", name, out->rport);
    return 0;
}

int net_connect(struct net_sock *s, uint16_t port)
{
    int rc = s->lport ? 0 : net_bind(s, 0); /* learn our port before the SYN leaves */
    if (rc < 0)
        return rc;
    if (s->o && s->type == SOCK_STREAM)
        instr_socket_ports(s->o, s->lport, port);
    gate(s);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    rc = connect(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
    if (rc == -EINPROGRESS) {
        rc = wait_marked(s, POLLOUT, WHY_CONNECT);
        int err = 0;
        socklen_t len = sizeof(err);
        if (rc == 0 && getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err)
            rc = -err;
    }
    s->rport = port;
    instr_note("connect %s -> :%u%s", oname(s), port, rc ? " failed" : "");
    return rc;
}

ssize_t net_send(struct net_sock *s, const void *buf, size_t n)
{
    gate(s);
    size_t done = 0;
    while (done < n) {
        ssize_t w = send(s->fd, (const char *)buf + done, n - done, MSG_NOSIGNAL);
        if (w > 0) {
            done += (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_marked(s, POLLOUT, WHY_SEND);
        if (rc < 0)
            return rc;
    }
    instr_note("send %s %zuB", oname(s), n);
    return (ssize_t)n;
}

static ssize_t recv_once(struct net_sock *s, void *buf, size_t n, int block)
{
    for (;;) {
        ssize_t r = recv(s->fd, buf, n, 0);
        if (r >= 0) {
            if (r)
                instr_note("recv %s %zdB", oname(s), r);
            else
                instr_note("recv %s EOF", oname(s));
            return r;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN || !block)
            return -errno;
        int rc = wait_marked(s, POLLIN, WHY_RECV);
        if (rc < 0)
            return rc;
    }
}

ssize_t net_recv(struct net_sock *s, void *buf, size_t n)
{
    gate(s);
    return recv_once(s, buf, n, 1);
}

ssize_t net_recv_nowait(struct net_sock *s, void *buf, size_t n)
{
    gate(s);
    return recv_once(s, buf, n, 0);
}

ssize_t net_sendto(struct net_sock *s, const void *buf, size_t n, uint32_t addr, uint16_t port)
{
    if (!loopback_ok(addr))
        return -EADDRNOTAVAIL;
    gate(s);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(addr)};
    ssize_t w = sendto(s->fd, buf, n, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a));
    int err = errno;
    if (w < 0)
        instr_note("sendto %s :%u %s", oname(s), port, strerrorname_np(err));
    else
        instr_note("sendto %s :%u %zdB", oname(s), port, w);
    return w < 0 ? -err : w;
}

ssize_t net_recvfrom(struct net_sock *s, void *buf, size_t n, uint16_t *from_port)
{
    gate(s);
    for (;;) {
        struct sockaddr_in a;
        socklen_t len = sizeof(a);
        ssize_t r = recvfrom(s->fd, buf, n, 0, (struct sockaddr *)&a, &len);
        if (r >= 0) {
            if (from_port)
                *from_port = ntohs(a.sin_port);
            instr_note("recvfrom %s %zdB :%u", oname(s), r, ntohs(a.sin_port));
            return r;
        }
        if (errno != EAGAIN && errno != EINTR)
            return -errno;
        int rc = wait_marked(s, POLLIN, WHY_RECV);
        if (rc < 0)
            return rc;
    }
}

int net_shutdown(struct net_sock *s, int how)
{
    gate(s);
    int rc = shutdown(s->fd, how) < 0 ? -errno : 0;
    instr_note("shutdown %s %s", oname(s),
               how == SHUT_WR   ? "SHUT_WR"
               : how == SHUT_RD ? "SHUT_RD"
                                : "SHUT_RDWR");
    return rc;
}

void net_close(struct net_sock *s)
{
    if (s->fd < 0)
        return;
    gate(s);
    close(s->fd);
    s->fd = -1;
    instr_note("close %s", oname(s));
}

/* ---- the kernel's view ---- */

int net_observe(struct net_sock *s, uint32_t *rq)
{
    if (!s->o || s->type != SOCK_STREAM || !s->lport)
        return -ENOENT;
    int state = 0;
    int rc = sockdiag_lookup(s->lport, s->rport, &state, rq, NULL);
    if (rc < 0)
        return rc;
    struct instr_obj *o = s->o;
    /* The BPF tracepoint reports every other change (FIN_WAIT2 -> CLOSE, never TIME_WAIT:
     * that is a separate timewait socket), so only TIME_WAIT is added here. */
    if (state == NET_TIME_WAIT && state != o->value) {
        struct ev e = {.kind = EV_TCP_STATE,
                       .src = EV_SRC_PROCFS,
                       .task = (uint32_t)instr_self(),
                       .pid = getpid(),
                       .tid = gettid(),
                       .obj = o->id,
                       .seq = atomic_fetch_add(&o->seq, 1),
                       .val = state,
                       .item = o->value};
        instr_emit_ev(&e);
        o->u.sock.state = state; /* so a conductor-side sampler does not report it again */
    }
    o->value = state;
    return state;
}

/* ---- multiplexing ---- */

int net_mux_new(struct net_mux *m, const char *prefix)
{
    char name[INSTR_NAME_MAX];
    memset(m, 0, sizeof(*m));
    snprintf(name, sizeof(name), "%s-interest", prefix);
    m->interest = instr_obj_new(name, OK_QUEUE, 0, FD_SETSIZE);
    snprintf(name, sizeof(name), "%s-ready", prefix);
    m->ready = instr_obj_new(name, OK_QUEUE, 0, FD_SETSIZE);
    return m->interest && m->ready ? 0 : -ENOMEM;
}

static void mux_interest(struct net_mux *m, int count, uint64_t mask)
{
    m->interest->value = count;
    instr_op(m->interest, EV_VAR, count, 0, (int64_t)mask);
}

static void mux_ready(struct net_mux *m, const char *call, int count, uint64_t mask)
{
    m->last_ready = count;
    m->ready_mask = mask;
    m->ready->value = count;
    instr_op(m->ready, EV_VAR, count, 1, (int64_t)mask);
    instr_note("%s -> %d ready", call, count);
}

static uint64_t fd_bit(int fd)
{
    return fd >= 0 && fd < 64 ? 1ull << fd : 0;
}

/* Call once(arg, slice_ms) in slices until it reports something, the time is up or the run
 * stops; marked blocked on the ready object when the first, immediate try found nothing. */
static int mux_wait(struct net_mux *m, int (*once)(void *arg, int ms), void *arg, int timeout_ms)
{
    int r = once(arg, 0);
    if (r != 0)
        return r < 0 ? -errno : r;
    long limit = timeout_ms < 0 || timeout_ms > NET_WAIT_MS ? NET_WAIT_MS : timeout_ms;
    long end = now_ms() + limit;
    instr_block(m->ready, WHY_MUX);
    while (r == 0 && now_ms() < end && !net_stopping()) {
        long left = end - now_ms();
        r = once(arg, (int)(left < SLICE_MS ? left : SLICE_MS));
        if (r < 0 && errno == EINTR)
            r = 0;
    }
    instr_unblock(m->ready);
    return r < 0 ? -errno : r;
}

struct select_args {
    int nfds;
    fd_set *set, copy;
};

static int select_once(void *arg, int ms)
{
    struct select_args *a = arg;
    *a->set = a->copy;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    return select(a->nfds, a->set, NULL, NULL, &tv);
}

int net_select(struct net_mux *m, int nfds, fd_set *readfds, int timeout_ms)
{
    instr_gate(EV_NOTE, m->ready->id);
    int count = 0;
    uint64_t mask = 0;
    for (int fd = 0; fd < nfds; fd++)
        if (FD_ISSET(fd, readfds)) {
            count++;
            mask |= fd_bit(fd);
        }
    mux_interest(m, count, mask);

    struct select_args a = {.nfds = nfds, .set = readfds, .copy = *readfds};
    int r = mux_wait(m, select_once, &a, timeout_ms);
    if (r <= 0)
        FD_ZERO(readfds);
    mask = 0;
    for (int fd = 0; r > 0 && fd < nfds; fd++)
        if (FD_ISSET(fd, readfds))
            mask |= fd_bit(fd);
    mux_ready(m, "select", r > 0 ? r : 0, mask);
    return r;
}

struct poll_args {
    struct pollfd *fds;
    nfds_t n;
};

static int poll_once(void *arg, int ms)
{
    struct poll_args *a = arg;
    return poll(a->fds, a->n, ms);
}

int net_poll(struct net_mux *m, struct pollfd *fds, nfds_t n, int timeout_ms)
{
    instr_gate(EV_NOTE, m->ready->id);
    uint64_t mask = 0;
    int count = 0;
    for (nfds_t i = 0; i < n; i++)
        if (fds[i].fd >= 0) {
            count++;
            mask |= fd_bit(fds[i].fd);
        }
    mux_interest(m, count, mask);

    struct poll_args a = {.fds = fds, .n = n};
    int r = mux_wait(m, poll_once, &a, timeout_ms);
    mask = 0;
    for (nfds_t i = 0; r > 0 && i < n; i++)
        if (fds[i].revents)
            mask |= fd_bit(fds[i].fd);
    mux_ready(m, "poll", r > 0 ? r : 0, mask);
    return r;
}

struct epoll_args {
    int epfd, max;
    struct epoll_event *evs;
};

static int epoll_once(void *arg, int ms)
{
    struct epoll_args *a = arg;
    return epoll_wait(a->epfd, a->evs, a->max, ms);
}

int net_epoll_wait(struct net_mux *m, int epfd, struct epoll_event *evs, int max, int timeout_ms,
                   int interest, uint64_t interest_mask)
{
    instr_gate(EV_NOTE, m->ready->id);
    mux_interest(m, interest, interest_mask);
    struct epoll_args a = {.epfd = epfd, .max = max, .evs = evs};
    int r = mux_wait(m, epoll_once, &a, timeout_ms);
    uint64_t mask = 0;
    for (int i = 0; i < r; i++)
        mask |= fd_bit(evs[i].data.fd);
    mux_ready(m, "epoll_wait", r > 0 ? r : 0, mask);
    return r;
}

int net_epoll_ctl(int epfd, int op, int fd, uint32_t events)
{
    instr_gate(EV_NOTE, EV_NO_OBJ);
    struct epoll_event ev = {.events = events, .data.fd = fd};
    int rc = epoll_ctl(epfd, op, fd, &ev) < 0 ? -errno : 0;
    instr_note("epoll_ctl %s fd %d%s",
               op == EPOLL_CTL_ADD   ? "ADD"
               : op == EPOLL_CTL_DEL ? "DEL"
                                     : "MOD",
               fd, (events & EPOLLET) ? " ET" : "");
    return rc;
}

/* ---- packet capture ---- */

int net_capture_open(void)
{
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0)
        return -errno;
    struct sockaddr_ll ll = {.sll_family = AF_PACKET,
                             .sll_protocol = htons(ETH_P_ALL),
                             .sll_ifindex = (int)if_nametoindex("lo")};
    if (!ll.sll_ifindex || bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
        int err = errno ? errno : ENODEV;
        close(fd);
        return -err;
    }
    return fd;
}

/* Decode an Ethernet+IPv4+TCP frame; 1 when it is TCP to or from port. */
static int decode(const uint8_t *f, size_t len, uint16_t port, struct net_seg *s)
{
    if (len < 14 + 20 + 20 || ((f[12] << 8) | f[13]) != ETH_P_IP)
        return 0;
    const uint8_t *ip = f + 14, *tcp;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ip[9] != IPPROTO_TCP || len < 14 + ihl + 20)
        return 0;
    tcp = ip + ihl;
    memset(s, 0, sizeof(*s));
    s->eth_proto = ETH_P_IP;
    s->ihl = (uint8_t)ihl;
    s->ip_len = (uint16_t)((ip[2] << 8) | ip[3]);
    s->ttl = ip[8];
    s->saddr = ntohl(*(const uint32_t *)(const void *)(ip + 12));
    s->daddr = ntohl(*(const uint32_t *)(const void *)(ip + 16));
    s->sport = (uint16_t)((tcp[0] << 8) | tcp[1]);
    s->dport = (uint16_t)((tcp[2] << 8) | tcp[3]);
    if (s->sport != port && s->dport != port)
        return 0;
    s->seq = ntohl(*(const uint32_t *)(const void *)(tcp + 4));
    s->ack = ntohl(*(const uint32_t *)(const void *)(tcp + 8));
    s->flags = tcp[13];
    s->win = (uint16_t)((tcp[14] << 8) | tcp[15]);
    size_t thl = (size_t)(tcp[12] >> 4) * 4, hdrs = 14 + ihl + thl;
    size_t end = 14 + (size_t)s->ip_len < len ? 14 + (size_t)s->ip_len : len;
    s->payload_len = end > hdrs ? (uint16_t)(end - hdrs) : 0;
    size_t copy = s->payload_len < sizeof(s->payload) - 1 ? s->payload_len : sizeof(s->payload) - 1;
    memcpy(s->payload, f + hdrs, copy);
    return 1;
}

int net_capture_next(int fd, uint16_t port, struct net_seg *seg, int timeout_ms)
{
    static __thread uint8_t frame[2048];
    long end = now_ms() + timeout_ms;
    for (;;) {
        long left = end - now_ms();
        int r = wait_fd(fd, POLLIN, left > 0 ? left : 0);
        if (r <= 0)
            return r == -ECANCELED ? 0 : r;
        struct sockaddr_ll from;
        socklen_t flen = sizeof(from);
        ssize_t n =
            recvfrom(fd, frame, sizeof(frame), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING)
            continue;
        if (decode(frame, (size_t)n, port, seg)) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            seg->t_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
            return 1;
        }
    }
}

const char *net_tcp_flags(uint8_t flags, char *buf, size_t n)
{
    static const char *const names[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG"};
    static const int order[] = {1, 0, 2, 3, 5, 4}; /* SYN FIN RST PSH URG ACK */
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < 6 && used < n; i++)
        if (flags & (1u << order[i]))
            used +=
                (size_t)snprintf(buf + used, n - used, "%s%s", used ? "|" : "", names[order[i]]);
    return buf;
}

/* ---- the echo client and handler ---- */

static int read_exact(struct net_sock *s, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = net_recv(s, buf + got, n - got);
        if (r <= 0)
            return r < 0 ? (int)r : -ECONNRESET;
        got += (size_t)r;
    }
    return 0;
}

int net_echo_client(uint16_t port, const char *tag, int msgs, long gap_ms)
{
    struct net_sock s;
    char name[INSTR_NAME_MAX], line[64], back[64];
    snprintf(name, sizeof(name), "%s-sock", tag);
    int rc = net_socket(&s, name, SOCK_STREAM);
    if (rc == 0)
        rc = net_connect(&s, port);
    int ok = 0;
    for (int i = 0; rc == 0 && i < msgs; i++) {
        int len = snprintf(line, sizeof(line), "%s-%d\n", tag, i + 1);
        if (net_send(&s, line, (size_t)len) < 0 || read_exact(&s, back, (size_t)len) < 0)
            break;
        ok += memcmp(line, back, (size_t)len) == 0;
        if (i + 1 < msgs && net_sleep_ms(gap_ms) < 0)
            break;
    }
    if (s.fd >= 0)
        net_close(&s);
    return rc < 0 ? rc : ok;
}

long net_echo_handle(struct net_sock *c)
{
    char buf[512];
    long total = 0;
    for (;;) {
        ssize_t r = net_recv(c, buf, sizeof(buf));
        if (r <= 0)
            return r < 0 ? (long)r : total;
        if (net_send(c, buf, (size_t)r) < 0)
            return total;
        total += r;
    }
}

/* ---- conductor side ---- */

struct call_text {
    const char *prefix, *en, *zh;
};

static const struct call_text CALLS[] = {
    {"socket(", "%s: socket() asks the kernel for a new endpoint: %s.",
     "%s:socket() 向内核申请一个新的通信端点:%s。"},
    {"setsockopt", "%s: setsockopt changes a socket option: %s.",
     "%s:setsockopt 修改套接字选项:%s。"},
    {"bind", "%s: bind gives the socket its address on loopback: %s.",
     "%s:bind 把套接字绑定到回环地址:%s。"},
    {"listen",
     "%s: %s. The socket now only accepts: the kernel completes handshakes for it and queues "
     "them until accept() takes one.",
     "%s:%s。该套接字成为监听套接字:内核替它完成三次握手,把连接排进队列,等 accept() 取走。"},
    {"accept",
     "%s: %s. accept() took a finished connection from the queue: a new socket for "
     "this one client.",
     "%s:%s。accept() 从队列中取出一个已完成握手的连接,得到专门服务这个客户端的新套接字。"},
    {"connect", "%s: %s. connect() sent SYN and returned once SYN-ACK came back and it ACKed.",
     "%s:%s。connect() 发出 SYN,收到 SYN-ACK 并回复 ACK 后返回。"},
    {"send", "%s: %s, copied into the kernel's send buffer; TCP delivers them in order.",
     "%s:%s,数据被复制进内核发送缓冲区,由 TCP 按序送达。"},
    {"recv", "%s: %s. recv() returns what has arrived; 0 bytes (EOF) means the peer sent FIN.",
     "%s:%s。recv() 返回已到达的数据;返回 0(EOF)表示对方发送了 FIN。"},
    {"sendto", "%s: %s: one datagram, no connection, no handshake.",
     "%s:%s:一个数据报,无连接,无握手。"},
    {"recvfrom", "%s: %s: one whole datagram and who sent it.",
     "%s:%s:一个完整的数据报及其发送方。"},
    {"shutdown", "%s: %s: a half-close. FIN goes out, but this side can still read.",
     "%s:%s:半关闭。发出 FIN,但本端仍然可以读。"},
    {"close", "%s: %s. The descriptor is gone; the kernel finishes the TCP goodbye on its own.",
     "%s:%s。文件描述符已释放,内核自己完成 TCP 的挥手。"},
    {"select", "%s: %s. select() returned the subset of the watched sockets that can be read.",
     "%s:%s。select() 返回被监视的套接字中可读的那一部分。"},
    {"poll", "%s: %s. poll() filled revents for the ready entries of its array.",
     "%s:%s。poll() 为数组中就绪的项填写了 revents。"},
    {"epoll_wait", "%s: %s. epoll_wait() returned only the ready fds, not the whole set.",
     "%s:%s。epoll_wait() 只返回就绪的 fd,而不是整个集合。"},
    {"epoll_ctl", "%s: %s: the interest set lives in the kernel, changed only by epoll_ctl.",
     "%s:%s:关注集合保存在内核中,只通过 epoll_ctl 修改。"},
};

static const char *task_of(const struct model *m, const struct ev *e)
{
    uint32_t idx = model_task_by_slot(m, e->task);
    return idx != MODEL_NO_TASK ? m->tasks[idx].name : "?";
}

static int narrate_note(const struct model *m, const struct ev *e, int zh, char *buf, size_t n)
{
    char text[EV_TEXT_MAX + 1];
    snprintf(text, sizeof(text), "%.*s", EV_TEXT_MAX, e->text);
    const struct call_text *best = NULL;
    for (size_t i = 0; i < sizeof(CALLS) / sizeof(CALLS[0]); i++) {
        size_t len = strlen(CALLS[i].prefix);
        if (strncmp(text, CALLS[i].prefix, len) == 0 && (!best || len > strlen(best->prefix)))
            best = &CALLS[i];
    }
    if (!best)
        return 0;
    snprintf(buf, n, zh ? best->zh : best->en, task_of(m, e), text);
    return 1;
}

int net_narrate(const struct model *m, const struct ev *e, int lang, char *buf, size_t n)
{
    int zh = lang == 1;
    if (e->kind == EV_NOTE && (e->flags & EVF_TEXT))
        return narrate_note(m, e, zh, buf, n);
    const struct model_obj *o = e->obj < m->nobjs ? &m->objs[e->obj] : NULL;
    if (!o)
        return 0;
    if (e->kind == EV_BLOCK && o->kind == OK_SOCKET) {
        static const char *const what_en[] = {
            "", "accept: no connection is queued", "connect: the handshake is under way",
            "recv: nothing has arrived", "send: the buffer is full"};
        static const char *const what_zh[] = {"", "accept:队列中没有连接", "connect:握手进行中",
                                              "recv:还没有数据到达", "send:发送缓冲区已满"};
        int w = e->aux > 0 && e->aux < 5 ? (int)e->aux : 0;
        snprintf(buf, n,
                 zh ? "%s 在 %s 上阻塞(%s),睡眠在内核中,不占用 CPU。"
                    : "%s blocks on %s (%s); it sleeps in the kernel and uses no CPU.",
                 task_of(m, e), o->name, zh ? what_zh[w] : what_en[w]);
        return 1;
    }
    if (e->kind == EV_VAR && e->item == 1) {
        snprintf(buf, n,
                 zh ? "%s:就绪集合有 %lld 个 fd(位图 0x%llx),只有它们会被处理。"
                    : "%s: the ready set holds %lld fds (mask 0x%llx); only these are served.",
                 task_of(m, e), (long long)e->val, (unsigned long long)e->aux);
        return 1;
    }
    return 0;
}

uint32_t net_model_states(const struct model *m, uint32_t obj_id)
{
    uint32_t mask = 0;
    for (size_t i = 0; i < m->hist_len; i++) {
        const struct ev *e = model_hist(m, i);
        if (!e || e->kind != EV_TCP_STATE || e->obj != obj_id)
            continue;
        if (e->val > 0 && e->val < 32)
            mask |= 1u << e->val;
        if (e->item > 0 && e->item < 32)
            mask |= 1u << e->item;
    }
    return mask;
}

json_t *net_states_json(uint32_t mask)
{
    json_t *a = json_array();
    for (int s = 1; s < 13; s++)
        if (mask & (1u << s))
            json_array_append_new(a, json_string(net_state_name(s)));
    return a;
}
