/*
 * net.c - sockets: TCP, UDP and Unix-domain, from socket() to close.
 *
 * A socket becomes an object once it has an address: at bind, listen, connect or accept
 * (or the first datagram sent from an unbound UDP socket), named after it ("tcp:8080",
 * "tcp:54321>8080" for a client, "tcp:8080<54321" for an accepted connection, "udp:9000",
 * "unix:srv.sock"). A TCP object carries its ports, so the conductor follows its kernel
 * state (bpf, or sock_diag like `ss`). Sends and receives record the bytes and what the
 * kernel still queues; accept and recv with nothing to take mark the caller blocked.
 */
#include "preload.h"
#include "sources/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum { TCP_ESTABLISHED_ = 1, TCP_CLOSE_ = 7, TCP_LISTEN_ = 10 };

/* The port of an inet address (host order), 0 for anything else. */
static uint16_t port_of(const struct sockaddr *sa)
{
    if (!sa)
        return 0;
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
    return 0;
}

/* 127.0.0.0/8, ::1, ::ffff:127.x.y.z or the wildcard (0.0.0.0, ::): the addresses whose
 * sockets the conductor's sock_diag look keeps (sockdiag.c) */
static int is_local(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr);
        return a >> 24 == 127 || a == INADDR_ANY;
    }
    if (sa->sa_family != AF_INET6)
        return 0;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) ||
           (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* A Unix socket's name: the last part of its path, "@name" when abstract, "" unnamed. */
static void unix_name(const struct sockaddr_storage *ss, socklen_t len, char *buf, size_t n)
{
    const struct sockaddr_un *un = (const struct sockaddr_un *)(const void *)ss;
    size_t plen = len > offsetof(struct sockaddr_un, sun_path)
                      ? len - offsetof(struct sockaddr_un, sun_path)
                      : 0;
    buf[0] = '\0';
    if (!plen)
        return;
    if (un->sun_path[0] == '\0') {
        snprintf(buf, n, "@%.*s", (int)(plen - 1 < 22 ? plen - 1 : 22), un->sun_path + 1);
        return;
    }
    const char *slash = strrchr(un->sun_path, '/');
    snprintf(buf, n, "%.23s", slash ? slash + 1 : un->sun_path);
}

struct sock_info {
    int unixd, dgram;
    int lo; /* bound to loopback or the wildcard: the conductor's sock_diag look sees it */
    uint16_t lport, rport;
    char lname[24], rname[24]; /* Unix names */
};

static void sock_info(int fd, struct sock_info *si)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int type = 0;
    socklen_t tl = sizeof(type);
    memset(si, 0, sizeof(*si));
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
    si->dgram = type == SOCK_DGRAM;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        si->unixd = ss.ss_family == AF_UNIX;
        si->lport = port_of((struct sockaddr *)&ss);
        si->lo = is_local((struct sockaddr *)&ss);
        if (si->unixd)
            unix_name(&ss, len, si->lname, sizeof(si->lname));
    }
    len = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
        si->rport = port_of((struct sockaddr *)&ss);
        if (si->unixd)
            unix_name(&ss, len, si->rname, sizeof(si->rname));
    }
}

/* The object's name; role: 'b' bound/listening, 'c' connected client, 'a' accepted. */
static void sock_name(const struct sock_info *si, int role, char *buf, size_t n)
{
    const char *proto = si->unixd ? "unix" : si->dgram ? "udp" : "tcp";
    unsigned k = 0;
    if (si->unixd) {
        map_lock();
        k = ++g_map->named[OK_SOCKET];
        map_unlock();
    }
    if (si->unixd && role == 'b')
        snprintf(buf, n, "unix:%s", si->lname[0] ? si->lname : "?");
    else if (si->unixd && role == 'c')
        snprintf(buf, n, "unix>%s@%u", si->rname[0] ? si->rname : "?", k);
    else if (si->unixd)
        snprintf(buf, n, "unix:%s<%u", si->lname[0] ? si->lname : "?", k);
    else if (role == 'b' || !si->rport)
        snprintf(buf, n, "%s:%u", proto, si->lport);
    else if (role == 'c')
        snprintf(buf, n, "%s:%u>%u", proto, si->lport, si->rport);
    else
        snprintf(buf, n, "%s:%u<%u", proto, si->lport, si->rport);
}

/* What a call's success says about a TCP socket's state (listen: LISTEN, connect and
 * accept: ESTABLISHED): recorded at once, as the kernel's later changes are by the
 * conductor (a short-lived listener may come and go between two of its looks). */
static void tcp_fact(struct instr_obj *o, int state)
{
    if (!o || !o->u.sock.lport || o->u.sock.state == state)
        return;
    int old = o->u.sock.state;
    o->u.sock.state = state;
    if (g_map->x[o->id].flags & INSTR_OBJX_LOOPBACK)
        o->u.sock.seen = 1; /* gone from the kernel's table later: closed */
    op(o, EV_TCP_STATE, state, old, 0);
}

/* Follow fd from now on as an object (role as sock_name), in TCP state state. */
static struct instr_obj *sock_follow(int fd, int role, int state)
{
    struct stat st;
    struct sock_info si;
    if (fstat(fd, &st) < 0)
        return NULL;
    struct instr_obj *o = obj_find(inode_key(st.st_dev, st.st_ino), OK_SOCKET, 1);
    sock_info(fd, &si);
    if (!o) {
        char name[INSTR_NAME_MAX];
        sock_name(&si, role, name, sizeof(name));
        int tcp = !si.unixd && !si.dgram;
        int proto = si.unixd ? SOCKDIAG_PROTO_UNIX : si.dgram ? IPPROTO_UDP : IPPROTO_TCP;
        struct obj_spec sp = {.kind = OK_SOCKET,
                              .shared = 1,
                              .psize = 1,
                              .init = tcp ? state : 0,
                              .cap = proto, /* obj_create's item: the model's proto */
                              .name = name};
        o = obj_at(inode_key(st.st_dev, st.st_ino), &sp);
        if (o && si.lo)
            g_map->x[o->id].flags |= INSTR_OBJX_LOOPBACK;
        if (o) { /* the conductor finds it in the kernel's table by inode, else by ports */
            o->u.sock.proto = (uint8_t)proto;
            o->u.sock.inode = (uint32_t)st.st_ino;
        }
        if (o && !si.unixd) {
            o->u.sock.lport = si.lport;
            o->u.sock.rport = role == 'b' ? 0 : si.rport;
        }
        if (o && tcp) { /* the conductor follows its kernel state by its ports */
            o->u.sock.state = 0;
            tcp_fact(o, state);
        }
    }
    int flags =
        (si.dgram ? FDF_DGRAM : 0) | (si.unixd ? FDF_UNIX : 0) | (fd_get(fd).flags & FDF_LISTEN);
    fd_put(fd, o, FDK_SOCK, flags);
    return o;
}

static struct instr_obj *sock_obj(int fd)
{
    struct fd_ent e = fd_get(fd);
    return e.kind == FDK_SOCK && e.id1 ? &g_sh->objs[e.id1 - 1] : NULL;
}

/* 1 when a call waiting for events on fd would block now (fd blocking, nothing ready). */
static int would_block(int fd, short events, int flags)
{
    if (flags & MSG_DONTWAIT)
        return 0;
    int fl = REAL(fcntl)(fd, F_GETFL);
    if (fl < 0 || (fl & O_NONBLOCK))
        return 0;
    struct pollfd p = {.fd = fd, .events = events};
    return REAL(poll)(&p, 1, 0) == 0;
}

static int queued(int fd, unsigned long req)
{
    int n = 0;
    return ioctl(fd, req, &n) < 0 ? 0 : n;
}

/* ---- making sockets ---- */

EXPORT int socket(int domain, int type, int proto)
{
    int fd = REAL(socket)(domain, type, proto);
    int base = type & 0xf;
    if (fd >= 0 && g_sh && (domain == AF_INET || domain == AF_INET6 || domain == AF_UNIX) &&
        (base == SOCK_STREAM || base == SOCK_DGRAM || base == SOCK_SEQPACKET))
        fd_put(fd, NULL, FDK_SOCK,
               (base == SOCK_DGRAM ? FDF_DGRAM : 0) | (domain == AF_UNIX ? FDF_UNIX : 0));
    return fd;
}

EXPORT int socketpair(int domain, int type, int proto, int sv[2])
{
    int rc = REAL(socketpair)(domain, type, proto, sv);
    struct stat a, b;
    if (rc < 0 || !active() || fstat(sv[0], &a) < 0 || fstat(sv[1], &b) < 0)
        return rc;
    int err = errno;
    char name[INSTR_NAME_MAX];
    map_lock();
    snprintf(name, sizeof(name), "sockpair@%u", ++g_map->named[OK_SOCKET]);
    map_unlock();
    int unixd = domain == AF_UNIX;
    struct obj_spec sp = {.kind = OK_SOCKET,
                          .shared = 1,
                          .psize = 1,
                          .cap = unixd ? SOCKDIAG_PROTO_UNIX : 0, /* the model's proto */
                          .name = name};
    struct instr_obj *o = obj_at(inode_key(a.st_dev, a.st_ino), &sp);
    if (o && unixd) { /* the conductor finds sv[0] in UNIX_DIAG, sv[1] as its peer, and sv[1]
                         alone once sv[0] is closed */
        o->u.sock.proto = SOCKDIAG_PROTO_UNIX;
        o->u.sock.inode = (uint32_t)a.st_ino;
        o->u.sock.inode2 = (uint32_t)b.st_ino;
        o->u.sock.pair = 1;
    }
    if (o) { /* one object for both ends, like a pipe */
        obj_alias(inode_key(b.st_dev, b.st_ino), 1, o);
        int fl = FDF_UNIX | ((type & 0xf) == SOCK_DGRAM ? FDF_DGRAM : 0);
        fd_put(sv[0], o, FDK_SOCK, fl);
        fd_put(sv[1], o, FDK_SOCK, fl);
    }
    errno = err;
    return rc;
}

EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    int rc = REAL(bind)(fd, addr, len);
    if (!active() || fd_get(fd).kind != FDK_SOCK)
        return rc;
    int err = errno;
    struct instr_obj *o = rc == 0 ? sock_follow(fd, 'b', TCP_CLOSE_) : sock_obj(fd);
    if (o)
        op(o, EV_SOCK_BIND, rc == 0 ? o->u.sock.lport : 0, port_of(addr), rc == 0 ? 0 : -err);
    errno = err;
    return rc;
}

EXPORT int listen(int fd, int backlog)
{
    int rc = REAL(listen)(fd, backlog);
    struct fd_ent e = fd_get(fd);
    if (rc < 0 || !active() || e.kind != FDK_SOCK)
        return rc;
    int err = errno;
    struct instr_obj *o = sock_follow(fd, 'b', TCP_LISTEN_);
    if (o) {
        fd_put(fd, o, FDK_SOCK, fd_get(fd).flags | FDF_LISTEN);
        op(o, EV_SOCK_LISTEN, backlog, 0, 0);
        tcp_fact(o, TCP_LISTEN_);
    }
    errno = err;
    return rc;
}

static int accept_common(int fd, struct sockaddr *addr, socklen_t *len, int flags, int is4)
{
    struct instr_obj *l = sock_obj(fd);
    if (!l)
        return is4 ? REAL(accept4)(fd, addr, len, flags) : REAL(accept)(fd, addr, len);
    gate(EV_SOCK_ACCEPT, l->id);
    int blocks = would_block(fd, POLLIN, 0);
    if (blocks)
        block_on(l, l->value, 0);
    int nfd = is4 ? REAL(accept4)(fd, addr, len, flags) : REAL(accept)(fd, addr, len);
    int err = errno;
    if (blocks)
        unblock(l, l->value, nfd < 0 ? err : 0);
    if (nfd >= 0) {
        struct instr_obj *c = sock_follow(nfd, 'a', TCP_ESTABLISHED_);
        op(l, EV_SOCK_ACCEPT, c ? c->u.sock.rport : 0, c ? (int64_t)c->id : -1, 0);
    }
    errno = err;
    return nfd;
}

EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!active())
        return REAL(accept)(fd, addr, len);
    return accept_common(fd, addr, len, 0, 0);
}

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (!active())
        return REAL(accept4)(fd, addr, len, flags);
    return accept_common(fd, addr, len, flags, 1);
}

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    int rc = REAL(connect)(fd, addr, len);
    if (!active() || fd_get(fd).kind != FDK_SOCK)
        return rc;
    int err = errno;
    struct instr_obj *o = sock_obj(fd);
    if (rc == 0 || err == EINPROGRESS)
        o = o ? o : sock_follow(fd, 'c', rc == 0 ? TCP_ESTABLISHED_ : 2 /* SYN_SENT */);
    if (o && !o->u.sock.rport && port_of(addr) && !(fd_get(fd).flags & FDF_DGRAM))
        o->u.sock.rport = port_of(addr); /* a bound socket that connects */
    if (o)
        op(o, EV_SOCK_CONNECT, port_of(addr), 0, rc == 0 ? 0 : -err);
    if (o && rc == 0 && !(fd_get(fd).flags & FDF_DGRAM))
        tcp_fact(o, TCP_ESTABLISHED_);
    errno = err;
    return rc;
}

/* ---- data ---- */

ssize_t sock_send(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
                  socklen_t len)
{
    struct fd_ent e = fd_get(fd);
    struct instr_obj *o = sock_obj(fd);
    int dgram = e.flags & FDF_DGRAM;
    if (o)
        gate(EV_SOCK_SEND, o->id);
    int blocks = o && !dgram && would_block(fd, POLLOUT, flags);
    if (blocks)
        block_on(o, o->value, 0);
    ssize_t w = to ? REAL(sendto)(fd, buf, n, flags, to, len) : REAL(send)(fd, buf, n, flags);
    int err = errno;
    if (blocks)
        unblock(o, o->value, w < 0 ? err : 0);
    if (!o && w >= 0) /* an unbound datagram socket got its address just now */
        o = sock_follow(fd, 'b', 0);
    if (o) {
        int peer = to ? port_of(to) : o->u.sock.rport;
        op_tx(o, EV_SOCK_SEND, dgram ? 0 : queued(fd, SIOCOUTQ), w < 0 ? -err : w, peer, dgram != 0,
              T_PRECISE);
    }
    errno = err;
    return w;
}

ssize_t sock_recv(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *len)
{
    struct fd_ent e = fd_get(fd);
    struct instr_obj *o = sock_obj(fd);
    int dgram = e.flags & FDF_DGRAM;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (o)
        gate(EV_SOCK_RECV, o->id);
    int blocks = o && would_block(fd, POLLIN, flags);
    if (blocks)
        block_on(o, o->value, 0);
    ssize_t r =
        REAL(recvfrom)(fd, buf, n, flags, from ? from : (struct sockaddr *)&ss, from ? len : &sl);
    int err = errno;
    if (blocks)
        unblock(o, o->value, r < 0 ? err : 0);
    if (o && r >= 0) {
        int peer = dgram ? port_of(from ? from : (struct sockaddr *)&ss) : o->u.sock.rport;
        op_tx(o, EV_SOCK_RECV, queued(fd, FIONREAD), r, peer, dgram != 0, T_PRECISE);
    }
    errno = err;
    return r;
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    if (!active() || fd_get(fd).kind != FDK_SOCK)
        return REAL(send)(fd, buf, n, flags);
    return sock_send(fd, buf, n, flags, NULL, 0);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to,
                      socklen_t len)
{
    if (!active() || fd_get(fd).kind != FDK_SOCK)
        return REAL(sendto)(fd, buf, n, flags, to, len);
    return sock_send(fd, buf, n, flags, to, len);
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    if (!active() || fd_get(fd).kind != FDK_SOCK)
        return REAL(recv)(fd, buf, n, flags);
    return sock_recv(fd, buf, n, flags, NULL, NULL);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
                        socklen_t *len)
{
    if (!active() || fd_get(fd).kind != FDK_SOCK)
        return REAL(recvfrom)(fd, buf, n, flags, from, len);
    return sock_recv(fd, buf, n, flags, from, len);
}

/* sendmsg and recvmsg: the bytes of all the buffers, the peer from msg_name. */
EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    struct instr_obj *o = active() ? sock_obj(fd) : NULL;
    if (!o)
        return REAL(sendmsg)(fd, msg, flags);
    gate(EV_SOCK_SEND, o->id);
    ssize_t w = REAL(sendmsg)(fd, msg, flags);
    int err = errno, dgram = fd_get(fd).flags & FDF_DGRAM;
    op_tx(o, EV_SOCK_SEND, dgram ? 0 : queued(fd, SIOCOUTQ), w < 0 ? -err : w,
          msg->msg_name ? port_of(msg->msg_name) : o->u.sock.rport, dgram != 0, T_PRECISE);
    errno = err;
    return w;
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    struct instr_obj *o = active() ? sock_obj(fd) : NULL;
    if (!o)
        return REAL(recvmsg)(fd, msg, flags);
    gate(EV_SOCK_RECV, o->id);
    int blocks = would_block(fd, POLLIN, flags);
    if (blocks)
        block_on(o, o->value, 0);
    ssize_t r = REAL(recvmsg)(fd, msg, flags);
    int err = errno, dgram = fd_get(fd).flags & FDF_DGRAM;
    if (blocks)
        unblock(o, o->value, r < 0 ? err : 0);
    if (r >= 0)
        op_tx(o, EV_SOCK_RECV, queued(fd, FIONREAD), r,
              msg->msg_name ? port_of(msg->msg_name) : o->u.sock.rport, dgram != 0, T_PRECISE);
    errno = err;
    return r;
}

EXPORT int shutdown(int fd, int how)
{
    int rc = REAL(shutdown)(fd, how);
    struct instr_obj *o = active() ? sock_obj(fd) : NULL;
    if (o && rc == 0) {
        int err = errno;
        op(o, EV_SOCK_SHUTDOWN, how, 0, 0);
        errno = err;
    }
    return rc;
}

void sock_closing(struct instr_obj *o, int fd)
{
    (void)fd;
    op(o, EV_SOCK_CLOSE, o->value, 0, 0);
}
