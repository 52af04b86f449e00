/*
 * instr_net.c - instrumented loopback sockets, multiplexing, packet capture on lo, and the
 * echo client/handler the server scenarios share.
 *
 * Sockets are non-blocking underneath: a "blocking" call waits in poll() in short slices
 * (so a stopping run or a lost peer can never hang a worker) while the task is shown
 * blocked on the socket object, then performs the real call. Each call is recorded as its
 * socket event kind (sock_bind, sock_accept, sock_send ...; see event.h) on the socket's
 * object, blocking as block/unblock on it, select/poll/epoll_wait as mux_wait on the
 * interest set and mux_ready on the ready set, epoll_ctl as mux_wait (MUX_EPOLL_CTL) on the
 * interest set it changes. Options, which have no kind of their own, stay notes.
 */
#define _GNU_SOURCE
#include "instr_net.h"
#include "instr_ipc.h"
#include "sclock.h"
#include "sources/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SLICE_MS 50 /* a wait with a deadline looks again this often (sclock_idle_slice) */
#define LOOPBACK_NET 0x7f000000u
#define LOOPBACK_BCAST 0x7fffffffu

enum {
    WHY_ACCEPT = NET_WHY_ACCEPT,
    WHY_CONNECT = NET_WHY_CONNECT,
    WHY_RECV = NET_WHY_RECV,
    WHY_SEND = NET_WHY_SEND,
    WHY_MUX = NET_WHY_MUX,
};

const char *net_state_name(int state)
{
    return sockdiag_state_name(state); /* the kernel's numbering, as NET_* */
}

/* ---- time and stopping ---- */

int net_stopping(void)
{
    struct instr_shared *sh = instr_region();
    return sh && atomic_load(&sh->stop);
}

int net_sleep_ms(long ms)
{
    return sclock_sleep(ms, 0, NULL);
}

void net_flag_set(_Atomic int *flag, int value)
{
    sclock_flag_set(flag, value);
}

int net_wait_flag(_Atomic int *flag, const char *what)
{
    struct sclock_wait w;
    sclock_wait_begin(&w, NET_WAIT_MS, SCLOCK_SAFETY, EV_NOTE, EV_NO_OBJ);
    if (!atomic_load(flag))
        sclock_waits_for(what);
    int v = sclock_flag_wait(flag, &w);
    sclock_waits_for(NULL);
    sclock_wait_end(&w);
    return v;
}

int net_wait_until(_Atomic int *word, int (*cond)(void *arg), void *arg, long bound_ms,
                   const char *what)
{
    struct sclock_wait w;
    sclock_wait_begin(&w, bound_ms, SCLOCK_SAFETY, EV_NOTE, EV_NO_OBJ);
    sclock_waits_for(what);
    long slice;
    for (;;) {
        int seen = atomic_load(word); /* before looking: a change after it ends the wait */
        if (cond(arg) || net_stopping() || (slice = sclock_idle_slice(&w, 200)) <= 0)
            break;
        struct timespec ts = {.tv_sec = slice / 1000, .tv_nsec = (slice % 1000) * 1000000L};
        syscall(SYS_futex, (int *)word, FUTEX_WAIT, seen, &ts, NULL, 0); /* a slice, then look */
    }
    sclock_waits_for(NULL);
    sclock_wait_end(&w);
    return cond(arg);
}

void net_wake(_Atomic int *word)
{
    syscall(SYS_futex, (int *)word, FUTEX_WAKE, 1 << 30, NULL, NULL, 0);
}

/* poll one fd for events until the deadline w (in slices). >0 ready, 0 timeout,
 * -ECANCELED when the run stops. */
static int wait_fd_until(int fd, short events, struct sclock_wait *w)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        long slice = sclock_idle_slice(w, SLICE_MS);
        int r = poll(&p, 1, (int)slice);
        if (r > 0)
            return r;
        if (r < 0 && errno != EINTR)
            return -errno;
        if (net_stopping())
            return -ECANCELED;
        if (slice == 0 || sclock_wait_expired(w))
            return 0;
    }
}

/* The same with a timeout: 0 looks once; a safety bound (never expires while the gate is
 * held: the run's stop ends a wait that nothing will end). */
static int wait_fd(int fd, short events, long timeout_ms)
{
    struct sclock_wait w;
    sclock_wait_begin(&w, timeout_ms, SCLOCK_SAFETY, EV_NOTE, EV_NO_OBJ);
    if (timeout_ms == 0) {
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, 0);
        return r < 0 ? -errno : r;
    }
    int r = wait_fd_until(fd, events, &w);
    sclock_wait_end(&w);
    return r;
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

static void gate(struct net_sock *s, uint16_t kind)
{
    instr_gate(kind, s && s->o ? s->o->id : EV_NO_OBJ);
}

/* Record a socket call on s's object (or unattached when s has none). */
static void sock_op(struct net_sock *s, uint16_t kind, int64_t val, int64_t item, int64_t aux)
{
    if (s->o)
        instr_op(s->o, kind, val, item, aux);
    else
        instr_emit(kind, EV_NO_OBJ, val, item, aux);
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* sclock-ok: a record's timestamp, not a wait */
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* send/recv carry extra=1 on a datagram socket, so narration can tell UDP from TCP. t: when
 * the data left (a send is stamped before the syscall, so the peer's recv never precedes
 * it in the merged trace), 0 for now. */
static void sock_io(struct net_sock *s, uint16_t kind, int64_t val, int64_t item, int64_t aux,
                    uint64_t t)
{
    struct ev e = {.t = t,
                   .kind = kind,
                   .src = EV_SRC_INSTR,
                   .task = (uint32_t)instr_self(),
                   .pid = getpid(),
                   .tid = gettid(),
                   .obj = s->o ? s->o->id : EV_NO_OBJ,
                   .seq = s->o ? atomic_fetch_add(&s->o->seq, 1) : 0,
                   .val = val,
                   .item = item,
                   .aux = aux,
                   .extra = s->type == SOCK_DGRAM};
    instr_emit_ev(&e);
}

/* Bytes in one of the socket's kernel queues (SIOCINQ: unread, SIOCOUTQ: not yet acked). */
static int64_t queued(const struct net_sock *s, unsigned long req)
{
    int v = 0;
    return s->fd >= 0 && ioctl(s->fd, req, &v) == 0 ? v : 0;
}

/* ---- calls ---- */

int net_socket(struct net_sock *s, const char *name, int type)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->type = type;
    instr_gate(EV_OBJ_CREATE, EV_NO_OBJ);
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    s->fd = fd;
    /* obj_create: state 7 (CLOSE; for UDP: unconnected), item the protocol */
    s->o = instr_socket_open(name, type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP, fd, NET_CLOSE);
    return 0;
}

int net_setsockopt(struct net_sock *s, int level, int opt, int val, const char *label)
{
    /* the gate's hint names the call, whole: "setsockopt(rx-1, SO_REUSEADDR)", or without the
     * socket when that does not fit a label; not "its next step" */
    const char *name = s->o ? s->o->name : "";
    if (name[0] && strlen(name) + strlen(label) + 14 < INSTR_NAME_MAX)
        instr_gate_label(EV_NOTE, s->o->id, "setsockopt(%s, %s)", name, label);
    else
        instr_gate_label(EV_NOTE, s->o ? s->o->id : EV_NO_OBJ, "setsockopt(%s)", label);
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
    gate(s, EV_SOCK_BIND);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(addr)};
    int rc = bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
    if (rc == 0)
        learn_ports(s);
    sock_op(s, EV_SOCK_BIND, rc ? 0 : s->lport, port, rc);
    return rc;
}

int net_bind(struct net_sock *s, uint16_t port)
{
    return net_bind_addr(s, INADDR_LOOPBACK, port);
}

int net_listen(struct net_sock *s, int backlog)
{
    gate(s, EV_SOCK_LISTEN);
    int rc = listen(s->fd, backlog) < 0 ? -errno : 0;
    sock_op(s, EV_SOCK_LISTEN, backlog, 0, rc);
    return rc;
}

/* Wait for and take one connection from ls's accept queue into out->fd. 0 or -errno. */
static int accept_fd(struct net_sock *ls, struct net_sock *out)
{
    for (;;) {
        int rc = wait_marked(ls, POLLIN, WHY_ACCEPT);
        if (rc < 0)
            return rc;
        int fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            out->fd = fd;
            return 0;
        }
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            return -errno;
    }
}

int net_accept(struct net_sock *ls, struct net_sock *out, const char *name)
{
    memset(out, 0, sizeof(*out));
    out->fd = -1;
    out->type = SOCK_STREAM;
    gate(ls, EV_SOCK_ACCEPT);
    int rc = accept_fd(ls, out);
    if (rc < 0)
        return rc;
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    getsockname(out->fd, (struct sockaddr *)&a, &len);
    out->lport = ntohs(a.sin_port);
    len = sizeof(a);
    getpeername(out->fd, (struct sockaddr *)&a, &len);
    out->rport = ntohs(a.sin_port);
    out->o = instr_socket_new(name, out->lport, out->rport, NET_ESTABLISHED);
    instr_socket_fd(out->o, out->fd);
    sock_op(ls, EV_SOCK_ACCEPT, out->rport, out->o ? out->o->id : EV_NO_OBJ, 0);
    return 0;
}

int net_connect(struct net_sock *s, uint16_t port)
{
    int rc = s->lport ? 0 : net_bind(s, 0); /* learn our port before the SYN leaves */
    if (rc < 0)
        return rc;
    if (s->o && s->type == SOCK_STREAM)
        instr_socket_ports(s->o, s->lport, port);
    gate(s, EV_SOCK_CONNECT);
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
    sock_op(s, EV_SOCK_CONNECT, port, 0, rc);
    return rc;
}

ssize_t net_send(struct net_sock *s, const void *buf, size_t n)
{
    gate(s, EV_SOCK_SEND);
    size_t done = 0;
    uint64_t t = 0;
    while (done < n) {
        uint64_t before = mono_ns();
        ssize_t w = send(s->fd, (const char *)buf + done, n - done, MSG_NOSIGNAL);
        if (w > 0) {
            t = t ? t : before;
            done += (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            int err = errno;
            sock_io(s, EV_SOCK_SEND, queued(s, SIOCOUTQ), -err, s->rport, 0);
            return -err;
        }
        int rc = wait_marked(s, POLLOUT, WHY_SEND);
        if (rc < 0)
            return rc;
    }
    sock_io(s, EV_SOCK_SEND, queued(s, SIOCOUTQ), (int64_t)n, s->rport, t);
    return (ssize_t)n;
}

static ssize_t recv_once(struct net_sock *s, void *buf, size_t n, int block)
{
    for (;;) {
        ssize_t r = recv(s->fd, buf, n, 0);
        if (r >= 0) {
            sock_io(s, EV_SOCK_RECV, queued(s, SIOCINQ), r, s->rport, 0);
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
    gate(s, EV_SOCK_RECV);
    return recv_once(s, buf, n, 1);
}

ssize_t net_recv_nowait(struct net_sock *s, void *buf, size_t n)
{
    gate(s, EV_SOCK_RECV);
    return recv_once(s, buf, n, 0);
}

ssize_t net_sendto(struct net_sock *s, const void *buf, size_t n, uint32_t addr, uint16_t port)
{
    if (!loopback_ok(addr))
        return -EADDRNOTAVAIL;
    gate(s, EV_SOCK_SEND);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(addr)};
    uint64_t t = mono_ns();
    ssize_t w = sendto(s->fd, buf, n, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof(a));
    int err = errno;
    sock_io(s, EV_SOCK_SEND, queued(s, SIOCOUTQ), w < 0 ? -err : w, port, t);
    return w < 0 ? -err : w;
}

ssize_t net_recvfrom(struct net_sock *s, void *buf, size_t n, uint16_t *from_port)
{
    gate(s, EV_SOCK_RECV);
    for (;;) {
        struct sockaddr_in a;
        socklen_t len = sizeof(a);
        ssize_t r = recvfrom(s->fd, buf, n, 0, (struct sockaddr *)&a, &len);
        if (r >= 0) {
            if (from_port)
                *from_port = ntohs(a.sin_port);
            sock_io(s, EV_SOCK_RECV, queued(s, SIOCINQ), r, ntohs(a.sin_port), 0);
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
    gate(s, EV_SOCK_SHUTDOWN);
    int rc = shutdown(s->fd, how) < 0 ? -errno : 0;
    sock_op(s, EV_SOCK_SHUTDOWN, how, 0, rc);
    return rc;
}

void net_close(struct net_sock *s)
{
    if (s->fd < 0)
        return;
    gate(s, EV_SOCK_CLOSE);
    close(s->fd);
    s->fd = -1;
    sock_op(s, EV_SOCK_CLOSE, 0, 0, 0);
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
    /* only a look: the conductor records what the kernel's table says of every socket (one
     * fact, one event), TIME_WAIT included */
    struct instr_obj *o = s->o;
    o->value = state;
    return state;
}

/* ---- multiplexing ---- */

int net_mux_new(struct net_mux *m, const char *prefix)
{
    char name[INSTR_NAME_MAX];
    memset(m, 0, sizeof(*m));
    snprintf(name, sizeof(name), "%s-interest", prefix);
    /* only select has a fixed capacity (FD_SETSIZE); poll and epoll sets have none */
    int64_t cap = strcmp(prefix, "select") == 0 ? FD_SETSIZE : 0;
    m->interest = instr_obj_new(name, OK_QUEUE, 0, cap);
    snprintf(name, sizeof(name), "%s-ready", prefix);
    m->ready = instr_obj_new(name, OK_QUEUE, 0, cap);
    return m->interest && m->ready ? 0 : -ENOMEM;
}

static void mux_interest(struct net_mux *m, int call, int count, uint64_t mask)
{
    m->interest->value = count;
    instr_op(m->interest, EV_MUX_WAIT, count, call, (int64_t)mask);
}

static void mux_ready(struct net_mux *m, int call, int count, uint64_t mask)
{
    m->last_ready = count;
    m->ready_mask = mask;
    m->ready->value = count;
    instr_op(m->ready, EV_MUX_READY, count, call, (int64_t)mask);
}

static uint64_t fd_bit(int fd)
{
    return fd >= 0 && fd < 64 ? 1ull << fd : 0;
}

/* Call once(arg, slice_ms) in slices until it reports something, the time is up or the run
 * stops; marked blocked on the ready object when the first, immediate try found nothing. */
static int mux_wait(struct net_mux *m, int call, int (*once)(void *arg, int ms), void *arg,
                    int timeout_ms)
{
    int r = once(arg, 0);
    if (r != 0 || timeout_ms == 0)
        return r < 0 ? -errno : r;
    /* the caller's timeout is the lesson's (epoll_wait giving up is a step while the gate is
     * held); without one, NET_WAIT_MS only guards against a hang */
    struct sclock_wait w;
    if (timeout_ms > 0)
        sclock_wait_begin(&w, timeout_ms, SCLOCK_LESSON, EV_MUX_WAIT, m->interest->id);
    else
        sclock_wait_begin(&w, NET_WAIT_MS, SCLOCK_SAFETY, EV_MUX_WAIT, m->interest->id);
    /* nothing is ready: the ready set is empty while the caller sleeps on it */
    m->ready->value = 0;
    instr_op_x(m->ready, EV_MUX_READY, 0, call, 0, MUX_READY_NONE_YET);
    instr_block(m->ready, WHY_MUX);
    long slice;
    while (r == 0 && !net_stopping() && (slice = sclock_idle_slice(&w, SLICE_MS)) > 0) {
        r = once(arg, (int)slice);
        if (r < 0 && errno == EINTR)
            r = 0;
    }
    int expired = r == 0 && sclock_wait_expired(&w);
    sclock_wait_end(&w);
    instr_unblock(m->ready);
    if (expired && timeout_ms > 0)
        instr_emit(EV_TIMEOUT, m->interest->id, timeout_ms, EV_MUX_WAIT, 0);
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
    instr_gate_timed(EV_MUX_WAIT, m->interest->id, sclock_now(), MUX_SELECT, NULL);
    int count = 0;
    uint64_t mask = 0;
    for (int fd = 0; fd < nfds; fd++)
        if (FD_ISSET(fd, readfds)) {
            count++;
            mask |= fd_bit(fd);
        }
    mux_interest(m, MUX_SELECT, count, mask);

    struct select_args a = {.nfds = nfds, .set = readfds, .copy = *readfds};
    int r = mux_wait(m, MUX_SELECT, select_once, &a, timeout_ms);
    if (r <= 0)
        FD_ZERO(readfds);
    mask = 0;
    for (int fd = 0; r > 0 && fd < nfds; fd++)
        if (FD_ISSET(fd, readfds))
            mask |= fd_bit(fd);
    mux_ready(m, MUX_SELECT, r > 0 ? r : 0, mask);
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
    instr_gate_timed(EV_MUX_WAIT, m->interest->id, sclock_now(), MUX_POLL, NULL);
    uint64_t mask = 0;
    int count = 0;
    for (nfds_t i = 0; i < n; i++)
        if (fds[i].fd >= 0) {
            count++;
            mask |= fd_bit(fds[i].fd);
        }
    mux_interest(m, MUX_POLL, count, mask);

    struct poll_args a = {.fds = fds, .n = n};
    int r = mux_wait(m, MUX_POLL, poll_once, &a, timeout_ms);
    mask = 0;
    for (nfds_t i = 0; r > 0 && i < n; i++)
        if (fds[i].revents)
            mask |= fd_bit(fds[i].fd);
    mux_ready(m, MUX_POLL, r > 0 ? r : 0, mask);
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

int net_epoll_wait(struct net_mux *m, int epfd, struct epoll_event *evs, int max, int timeout_ms)
{
    instr_gate_timed(EV_MUX_WAIT, m->interest->id, sclock_now(), MUX_EPOLL, NULL);
    mux_interest(m, MUX_EPOLL, (int)m->interest->value, m->interest_mask);
    struct epoll_args a = {.epfd = epfd, .max = max, .evs = evs};
    int r = mux_wait(m, MUX_EPOLL, epoll_once, &a, timeout_ms);
    uint64_t mask = 0;
    for (int i = 0; i < r; i++)
        mask |= fd_bit(evs[i].data.fd);
    mux_ready(m, MUX_EPOLL, r > 0 ? r : 0, mask);
    return r;
}

int net_epoll_ctl(struct net_mux *m, int epfd, int op, int fd, uint32_t events)
{
    instr_gate_label(EV_NOTE, EV_NO_OBJ, "epoll_ctl(%s, fd %d)",
                     op == EPOLL_CTL_ADD   ? "ADD"
                     : op == EPOLL_CTL_DEL ? "DEL"
                                           : "MOD",
                     fd);
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(epfd, op, fd, &ev) < 0)
        return -errno;
    /* the set the kernel keeps changed: its size and mask now, and which change it was */
    if (op == EPOLL_CTL_ADD) {
        m->interest->value++;
        m->interest_mask |= fd_bit(fd);
    } else if (op == EPOLL_CTL_DEL) {
        m->interest->value--;
        m->interest_mask &= ~fd_bit(fd);
    }
    instr_op_x(m->interest, EV_MUX_WAIT, m->interest->value, MUX_EPOLL_CTL,
               (int64_t)m->interest_mask, MUX_CTL_EXTRA(fd, op, events & EPOLLET));
    return 0;
}

void net_epoll_close(struct net_mux *m, int epfd)
{
    close(epfd);
    if (m->interest->value == 0 && !m->interest_mask)
        return;
    m->interest->value = 0;
    m->interest_mask = 0;
    instr_op_x(m->interest, EV_MUX_WAIT, 0, MUX_EPOLL_CTL, 0, MUX_CTL_EXTRA(epfd, 0, 0));
}

/* ---- packet capture ---- */

int net_capture_start(int want, int *fd, int *err_no, _Atomic int *ready, int (*task)(void *),
                      char *err, size_t n)
{
    *fd = want ? net_capture_open() : -ENOTSUP;
    *err_no = *fd < 0 ? -*fd : 0;
    if (*fd < 0) {
        net_flag_set(ready, 1);
        return 0;
    }
    int rc = ipc_start("capture", task, NULL, err, n);
    close(*fd); /* the conductor's copy */
    return rc;
}

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
    /* the kernel's receive time of each frame (best effort: without it, when it was read) */
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &(int){1}, sizeof(int));
    return fd;
}

/* When the kernel took frame msg in, on the clock of the probes' records (CLOCK_MONOTONIC),
 * from its SCM_TIMESTAMPNS (CLOCK_REALTIME); 0 when it has none. The frame on lo is stamped
 * as it enters the receive path, before TCP handles it: the state change it causes comes
 * after it, and the one that sent it before. When the capture process reads it is later, and
 * sorted by that the lane drew a socket's LAST_ACK and CLOSE before the FIN and the ACK. */
static uint64_t kernel_rx_ns(struct msghdr *msg)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
            continue;
        struct timespec rx, real, mono;
        memcpy(&rx, CMSG_DATA(c), sizeof(rx));
        clock_gettime(CLOCK_REALTIME, &real);  /* sclock-ok: the offset between the clocks */
        clock_gettime(CLOCK_MONOTONIC, &mono); /* sclock-ok: the offset between the clocks */
        int64_t ago = ((int64_t)real.tv_sec - rx.tv_sec) * 1000000000ll +
                      (real.tv_nsec - rx.tv_nsec); /* how long ago the kernel took it in */
        int64_t now = (int64_t)mono.tv_sec * 1000000000ll + mono.tv_nsec;
        if (rx.tv_sec == 0 || ago < 0 || ago > now)
            return 0; /* no stamp, or the wall clock stepped */
        return (uint64_t)(now - ago);
    }
    return 0;
}

/* A big-endian 32-bit field at p, which may sit at any alignment in the frame. */
static uint32_t be32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return ntohl(v);
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
    memcpy(s->eth_dst, f, 6);
    memcpy(s->eth_src, f + 6, 6);
    s->eth_proto = ETH_P_IP;
    s->ihl = (uint8_t)ihl;
    s->ip_len = (uint16_t)((ip[2] << 8) | ip[3]);
    s->ttl = ip[8];
    s->saddr = be32_at(ip + 12);
    s->daddr = be32_at(ip + 16);
    s->sport = (uint16_t)((tcp[0] << 8) | tcp[1]);
    s->dport = (uint16_t)((tcp[2] << 8) | tcp[3]);
    if (s->sport != port && s->dport != port)
        return 0;
    s->seq = be32_at(tcp + 4);
    s->ack = be32_at(tcp + 8);
    s->flags = tcp[13];
    s->win = (uint16_t)((tcp[14] << 8) | tcp[15]);
    size_t thl = (size_t)(tcp[12] >> 4) * 4, hdrs = 14 + ihl + thl;
    s->thl = (uint8_t)thl;
    size_t end = 14 + (size_t)s->ip_len < len ? 14 + (size_t)s->ip_len : len;
    s->payload_len = end > hdrs ? (uint16_t)(end - hdrs) : 0;
    size_t copy = s->payload_len < sizeof(s->payload) - 1 ? s->payload_len : sizeof(s->payload) - 1;
    memcpy(s->payload, f + hdrs, copy);
    return 1;
}

int net_capture_next(int fd, uint16_t port, struct net_seg *seg, int timeout_ms)
{
    static __thread uint8_t frame[2048];
    /* the capture observes the lesson and never acts in it: its waits are on the wall clock
     * (timeout_ms in all, however many other frames lo carries meanwhile: on a busy machine a
     * poll of its own for each lost the end of the lesson's traffic), outside scenario time */
    uint64_t until = mono_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000ull;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint64_t now = mono_ns();
        int left = now < until ? (int)((until - now + 999999) / 1000000) : 0;
        sclock_waits_for("until a packet on lo"); /* its socket is no object of the lesson */
        int r = poll(&p, 1, left);
        sclock_waits_for(NULL);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r <= 0 || net_stopping())
            return 0;
        struct sockaddr_ll from;
        union {
            char buf[CMSG_SPACE(sizeof(struct timespec))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {.iov_base = frame, .iov_len = sizeof(frame)};
        struct msghdr msg = {.msg_name = &from,
                             .msg_namelen = sizeof(from),
                             .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf)};
        ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING)
            continue;
        if (decode(frame, (size_t)n, port, seg)) {
            seg->t_ns = kernel_rx_ns(&msg);
            if (!seg->t_ns) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts); /* sclock-ok: when the frame was seen */
                seg->t_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
            }
            return 1;
        }
    }
}

void net_pkt_emit(const struct net_seg *g, struct instr_obj *o)
{
    struct ev e = {.t = g->t_ns, /* when the kernel took it in, not when it was recorded */
                   .kind = EV_PKT,
                   .src = EV_SRC_INSTR,
                   .task = (uint32_t)instr_self(),
                   .pid = getpid(),
                   .tid = gettid(),
                   .obj = o ? o->id : EV_NO_OBJ,
                   .seq = o ? atomic_fetch_add(&o->seq, 1) : 0,
                   .val = g->flags,
                   .item = g->seq,
                   .aux = g->ack,
                   .extra = (int64_t)g->sport << 16 | g->dport};
    instr_emit_ev(&e);
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
        if (i + 1 < msgs && sclock_sleep(gap_ms, 0, "the pause between lines") < 0)
            break;
    }
    if (s.fd >= 0)
        net_close(&s);
    return rc < 0 ? rc : ok;
}

ssize_t net_recv_until(struct net_sock *s, char *buf, size_t cap, const char *end)
{
    size_t got = 0;
    buf[0] = '\0';
    while (got + 1 < cap && !(end && strstr(buf, end))) {
        ssize_t r = net_recv(s, buf + got, cap - 1 - got);
        if (r < 0)
            return r;
        if (r == 0)
            break;
        got += (size_t)r;
        buf[got] = '\0';
    }
    return (ssize_t)got;
}

int net_client_spawn(struct net_clients *c, int counted, char *err, size_t n)
{
    int idx = atomic_fetch_add(&c->started, 1);
    if (idx >= c->max) {
        atomic_fetch_sub(&c->started, 1);
        snprintf(err, n, "at most %d clients", c->max);
        return -ENOSPC;
    }
    if (!counted)
        atomic_fetch_add(&c->target, 1);
    char name[32];
    snprintf(name, sizeof(name), "client-%d", idx + 1);
    int rc = ipc_start(name, c->fn, (void *)(intptr_t)idx, err, n);
    if (rc < 0 && !counted)
        atomic_fetch_sub(&c->target, 1);
    return rc;
}

int net_server_start(struct net_clients *c, int (*server)(void *), long all, char *err, size_t n)
{
    atomic_store(&c->target, (int)all); /* before the server looks at it */
    pid_t pid = instr_spawn("server", server, NULL, 0);
    if (pid < 0) {
        snprintf(err, n, "cannot start the server: %s", strerror((int)-pid));
        return (int)pid;
    }
    for (long i = 0; i < all; i++) {
        int rc = net_client_spawn(c, 1, err, n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int worker_failed(pid_t pid, char *err, size_t n)
{
    if (pid < 0)
        snprintf(err, n, "cannot start a worker: %s", strerror((int)-pid));
    return pid < 0 ? (int)pid : 0;
}

int net_start_server_client(int (*server)(void *), int (*client)(void *), char *err, size_t n)
{
    pid_t pid = instr_spawn("server", server, NULL, 0);
    if (pid >= 0)
        pid = instr_spawn("client", client, NULL, 0);
    return worker_failed(pid, err, n);
}

int net_start_workers(int (*server)(void *), int (*client)(void *), long clients, char *err,
                      size_t n)
{
    pid_t pid = instr_spawn("server", server, NULL, 0);
    for (long k = 0; pid >= 0 && k < clients; k++) {
        char name[32];
        snprintf(name, sizeof(name), "client-%d", (int)k + 1);
        pid = instr_spawn(name, client, (void *)(intptr_t)k, 0);
    }
    return worker_failed(pid, err, n);
}

int net_echo_client_run(_Atomic int *port, int idx, long delay_ms, long msgs, long gap_ms,
                        _Atomic int *echoed_ok)
{
    char tag[24];
    snprintf(tag, sizeof(tag), "client-%d", idx + 1);
    if (!net_wait_flag(port, "until the server listens") ||
        sclock_sleep(delay_ms, 0, "the client's start delay") < 0)
        return 1;
    int ok = net_echo_client((uint16_t)atomic_load(port), tag, (int)msgs, gap_ms);
    if (ok > 0)
        atomic_fetch_add(echoed_ok, ok);
    return ok == msgs ? 0 : 1;
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

/* Notes the wrappers write (calls without an event kind of their own); epoll_ctl's is read
 * from traces recorded before it became a mux_wait. */
struct note_text {
    const char *prefix, *en, *zh;
};

static const struct note_text NOTES[] = {
    {"setsockopt", "%s: setsockopt changes a socket option: %s.",
     "%s:setsockopt 修改套接字选项:%s。"},
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
    for (size_t i = 0; i < sizeof(NOTES) / sizeof(NOTES[0]); i++)
        if (strncmp(text, NOTES[i].prefix, strlen(NOTES[i].prefix)) == 0) {
            snprintf(buf, n, zh ? NOTES[i].zh : NOTES[i].en, task_of(m, e), text);
            return 1;
        }
    return 0;
}

/* Why a task blocks on a socket (aux of the block event: WHY_*). */
static int narrate_sock_block(const struct model *m, const struct ev *e, const struct model_obj *o,
                              int zh, char *buf, size_t n)
{
    static const char *const what_en[] = {"", "accept: no connection is queued",
                                          "connect: the handshake is under way",
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

/* A TCP state change of a socket no object stands for yet: on a listening port these are the
 * connections the kernel makes before accept() returns them. */
static int narrate_server_side(const struct ev *e, int zh, char *buf, size_t n)
{
    if (e->item == NET_LISTEN && e->val == NET_SYN_RECV)
        snprintf(buf, n, "%s",
                 zh ? "服务端的内核收到 SYN,自己回了 SYN-ACK:一个半连接(SYN_RECV),服务端程序"
                      "没有参与。"
                    : "The server's kernel got a SYN and answered SYN-ACK by itself: a half-open "
                      "connection (SYN_RECV), without the server program.");
    else if (e->item == NET_SYN_RECV && e->val == NET_ESTABLISHED)
        snprintf(buf, n, "%s",
                 zh ? "最后的 ACK 到了:内核建好连接(ESTABLISHED),放进监听套接字的全连接队列,"
                      "等 accept() 取走。"
                    : "The final ACK arrived: the kernel finished the connection (ESTABLISHED) "
                      "and queued it on the listener until accept() takes it.");
    else
        return 0;
    return 1;
}

int net_narrate(const struct model *m, const struct ev *e, int lang, char *buf, size_t n)
{
    int zh = lang == 1;
    if (e->kind == EV_NOTE && (e->flags & EVF_TEXT))
        return narrate_note(m, e, zh, buf, n);
    const struct model_obj *o = e->obj < m->nobjs ? &m->objs[e->obj] : NULL;
    if (!o && e->kind == EV_TCP_STATE)
        return narrate_server_side(e, zh, buf, n);
    if (!o || o->kind != OK_SOCKET)
        return 0; /* the socket and mux kinds: the generic narration (narrate.c) */
    if (e->kind == EV_BLOCK)
        return narrate_sock_block(m, e, o, zh, buf, n);
    if (e->kind == EV_OBJ_CREATE && e->val == NET_ESTABLISHED) { /* made by accept() */
        snprintf(buf, n,
                 zh ? "%s:accept() 从全连接队列取出一个已建立的连接,得到新的套接字 %s(TCP,"
                      "ESTABLISHED),专门用于这一个连接;监听套接字继续监听。"
                    : "%s: accept() takes a finished connection off the accept queue and returns "
                      "a new socket, %s (TCP, ESTABLISHED), for this one connection; the listener "
                      "goes on listening.",
                 task_of(m, e), o->name);
        return 1;
    }
    if (e->kind == EV_OBJ_CREATE) {
        int tcp = o->proto != IPPROTO_UDP;
        snprintf(buf, n,
                 zh ? "%s:socket() 向内核申请一个新的通信端点 %s(%s)。"
                    : "%s: socket() asks the kernel for a new endpoint, %s (%s).",
                 task_of(m, e), o->name,
                 tcp ? (zh ? "TCP 流式套接字" : "TCP, a byte stream")
                     : (zh ? "UDP 数据报套接字" : "UDP, datagrams"));
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

int net_scn_narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                    char *buf, size_t n)
{
    (void)ctx;
    return net_narrate(m, e, lang, buf, n);
}
