/*
 * sockdiag.c - TCP and UDP sockets on loopback and Unix sockets from NETLINK_SOCK_DIAG
 * (inet_diag_req_v2, unix_diag_req).
 *
 * One dump request per address family asks for every TCP state; the answers are filtered
 * to loopback addresses here, so nothing about other interfaces ever leaves this file.
 * Unix sockets come with their name, peer and queues. Needs no privileges: any user may
 * read the socket table, as `ss` does.
 */
#define _GNU_SOURCE
#include "sockdiag.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCKDIAG_BUF 32768
/* The TCP states ss shows (-a): ESTABLISHED (1) to NEW_SYN_RECV (12) but CLOSE (7), which
 * here would be a socket bound and never listening or connected ("bound inactive"): not in
 * ss's table, so not in ours. */
#define TCP_STATES_AS_SS (0x1ffeu & ~(1u << 7))

static const char *const STATE_NAMES[] = {
    "?",     "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",    "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV",
};

const char *sockdiag_state_name(int state)
{
    if (state < 0 || (size_t)state >= sizeof(STATE_NAMES) / sizeof(STATE_NAMES[0]))
        return "?";
    return STATE_NAMES[state];
}

/* 127.0.0.0/8, ::1, or ::ffff:127.x.y.z; or the wildcard address (0.0.0.0, ::), which
 * loopback reaches too: a textbook server binds INADDR_ANY, and its listener is in ss. */
static int is_local(int family, const uint8_t *a)
{
    static const uint8_t v6_lo[16] = {[15] = 1}, v6_any[16] = {0};
    static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (family == AF_INET)
        return a[0] == 127 || (a[0] | a[1] | a[2] | a[3]) == 0;
    if (memcmp(a, v6_lo, 16) == 0 || memcmp(a, v6_any, 16) == 0)
        return 1;
    return memcmp(a, v4_mapped, 12) == 0 && a[12] == 127;
}

static void to_entry(const struct inet_diag_msg *m, int proto, struct sockdiag_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->proto = proto;
    e->family = m->idiag_family;
    e->state = m->idiag_state;
    e->sport = ntohs(m->id.idiag_sport);
    e->dport = ntohs(m->id.idiag_dport);
    memcpy(e->saddr, m->id.idiag_src, 16);
    memcpy(e->daddr, m->id.idiag_dst, 16);
    e->rqueue = m->idiag_rqueue;
    e->wqueue = m->idiag_wqueue;
    e->inode = m->idiag_inode;
    e->uid = m->idiag_uid;
    e->cookie = (uint64_t)m->id.idiag_cookie[0] | (uint64_t)m->id.idiag_cookie[1] << 32;
}

/* What one dump request asks for, and what is done with each answer: each turns an answer
 * into an entry (0 when it is no entry for cb) and cb gets it. */
struct dump_job {
    int (*each)(const struct nlmsghdr *h, int proto, struct sockdiag_entry *e);
    int proto;
    void (*cb)(const struct sockdiag_entry *e, void *arg);
    void *arg;
};

/* Read answers until NLMSG_DONE, passing each entry to the job's cb. Returns entries
 * reported or -errno. */
static int read_answers(int fd, const struct dump_job *job)
{
    static __thread char buf[SOCKDIAG_BUF] __attribute__((aligned(8)));
    int count = 0;
    for (;;) {
        ssize_t len = recv(fd, buf, sizeof(buf), 0);
        if (len < 0 && errno == EINTR)
            continue;
        if (len <= 0)
            return len < 0 ? -errno : -EIO;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_type == NLMSG_DONE)
                return count;
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *err = NLMSG_DATA(h);
                return err->error ? err->error : -EIO;
            }
            struct sockdiag_entry e;
            if (!job->each(h, job->proto, &e))
                continue;
            job->cb(&e, job->arg);
            count++;
        }
    }
}

/* Send one SOCK_DIAG_BY_FAMILY dump request (req, len bytes: the family's request after the
 * netlink header) on a socket of its own and read its answers (read_answers). Returns the
 * entries reported or -errno. */
static int dump(const void *req, size_t len, const struct dump_job *job)
{
    struct {
        struct nlmsghdr nh;
        union {
            struct inet_diag_req_v2 inet;
            struct unix_diag_req unixd;
        } req;
    } msg = {.nh = {.nlmsg_len = (uint32_t)NLMSG_LENGTH(len),
                    .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                    .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
                    .nlmsg_seq = 1}};
    if (len > sizeof(msg.req))
        return -EINVAL;
    memcpy(&msg.req, req, len);
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -errno;
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
    int rc = 0;
    if (sendto(fd, &msg, msg.nh.nlmsg_len, 0, (struct sockaddr *)&nl, sizeof(nl)) < 0)
        rc = -errno;
    if (rc == 0)
        rc = read_answers(fd, job);
    close(fd);
    return rc;
}

/* An inet answer into e: 1 when it is a socket on loopback or the wildcard address. */
static int inet_answer(const struct nlmsghdr *h, int proto, struct sockdiag_entry *e)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
        return 0;
    to_entry(NLMSG_DATA(h), proto, e);
    return is_local(e->family, e->saddr);
}

static int dump_family(int family, int proto, void (*cb)(const struct sockdiag_entry *, void *),
                       void *arg)
{
    struct inet_diag_req_v2 req = {.sdiag_family = (uint8_t)family,
                                   .sdiag_protocol = (uint8_t)proto,
                                   .idiag_states = proto == IPPROTO_TCP ? TCP_STATES_AS_SS : ~0u};
    struct dump_job job = {.each = inet_answer, .proto = proto, .cb = cb, .arg = arg};
    return dump(&req, sizeof(req), &job);
}

int sockdiag_dump_proto(int proto, void (*cb)(const struct sockdiag_entry *e, void *arg), void *arg)
{
    int n4 = dump_family(AF_INET, proto, cb, arg);
    if (n4 < 0)
        return n4;
    int n6 = dump_family(AF_INET6, proto, cb, arg);
    if (n6 == -EAFNOSUPPORT || n6 == -ENOENT) /* no IPv6 in this kernel */
        n6 = 0;
    return n6 < 0 ? n6 : n4 + n6;
}

/* A UNIX_DIAG_NAME attribute (a sun_path, len bytes) into name as ss prints it: an abstract
 * name's leading NUL, and any other, as '@'. */
static void unix_name(const char *path, size_t len, char name[SOCKDIAG_NAME_MAX])
{
    if (len >= SOCKDIAG_NAME_MAX)
        len = SOCKDIAG_NAME_MAX - 1;
    memcpy(name, path, len);
    name[len] = '\0';
    if (len && name[0] == '\0')
        for (size_t i = 0; i < len; i++)
            if (name[i] == '\0')
                name[i] = '@';
}

/* One Unix socket's answer into e: the fixed part, then the RQLEN, PEER and NAME
 * attributes. Always 1 (every Unix socket is reported). */
static int unix_answer(const struct nlmsghdr *h, int proto, struct sockdiag_entry *e)
{
    const struct unix_diag_msg *m = NLMSG_DATA(h);
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
        return 0;
    memset(e, 0, sizeof(*e));
    e->family = AF_UNIX;
    e->proto = proto;
    e->state = m->udiag_state;
    e->inode = m->udiag_ino;
    e->cookie = (uint64_t)m->udiag_cookie[0] | (uint64_t)m->udiag_cookie[1] << 32;
    int alen = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
    for (const struct rtattr *a = (const struct rtattr *)(const void *)(m + 1); RTA_OK(a, alen);
         a = RTA_NEXT(a, alen)) {
        if (a->rta_type == UNIX_DIAG_RQLEN && RTA_PAYLOAD(a) >= sizeof(struct unix_diag_rqlen)) {
            const struct unix_diag_rqlen *q = RTA_DATA(a);
            e->rqueue = q->udiag_rqueue;
            e->wqueue = q->udiag_wqueue;
        } else if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
            memcpy(&e->peer, RTA_DATA(a), sizeof(uint32_t));
        } else if (a->rta_type == UNIX_DIAG_NAME) {
            unix_name(RTA_DATA(a), RTA_PAYLOAD(a), e->name);
        }
    }
    return 1;
}

int sockdiag_dump_unix(void (*cb)(const struct sockdiag_entry *e, void *arg), void *arg)
{
    struct unix_diag_req req = {.sdiag_family = AF_UNIX,
                                .udiag_states = ~0u,
                                .udiag_show = UDIAG_SHOW_RQLEN | UDIAG_SHOW_PEER | UDIAG_SHOW_NAME};
    struct dump_job job = {.each = unix_answer, .proto = SOCKDIAG_PROTO_UNIX, .cb = cb, .arg = arg};
    return dump(&req, sizeof(req), &job);
}

int sockdiag_dump(void (*cb)(const struct sockdiag_entry *e, void *arg), void *arg)
{
    return sockdiag_dump_proto(IPPROTO_TCP, cb, arg);
}

struct find_ctx {
    uint16_t lport, rport;
    int found;
    struct sockdiag_entry best;
};

static void find_cb(const struct sockdiag_entry *e, void *arg)
{
    struct find_ctx *f = arg;
    if (e->sport != f->lport || e->dport != f->rport)
        return;
    /* a live socket wins over a TIME_WAIT leftover with the same ports */
    if (!f->found || (f->best.state == 6 && e->state != 6)) {
        f->best = *e;
        f->found = 1;
    }
}

int sockdiag_find(uint16_t lport, uint16_t rport, struct sockdiag_entry *out)
{
    struct find_ctx f = {.lport = lport, .rport = rport};
    int rc = sockdiag_dump(find_cb, &f);
    if (rc >= 0 && !f.found) /* a dump may miss a socket the kernel moves meanwhile */
        rc = sockdiag_dump(find_cb, &f);
    if (rc < 0)
        return rc;
    if (!f.found)
        return -ENOENT;
    if (out)
        *out = f.best;
    return 0;
}

int sockdiag_lookup(uint16_t lport, uint16_t rport, int *state, uint32_t *rqueue, uint32_t *wqueue)
{
    struct sockdiag_entry e;
    int rc = sockdiag_find(lport, rport, &e);
    if (rc < 0)
        return rc;
    if (state)
        *state = e.state;
    if (rqueue)
        *rqueue = e.rqueue;
    if (wqueue)
        *wqueue = e.wqueue;
    return 0;
}
