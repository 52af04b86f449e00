/*
 * test_sockdiag.c - the sock_diag source against real loopback sockets made here.
 *
 * A listener with a known backlog and clients that connect before anyone accepts: the
 * kernel must report LISTEN with the accept queue and backlog, ESTABLISHED on both ends, and
 * TIME_WAIT on the side that closed first; a Unix socketpair ESTABLISHED with its peer and
 * its unread bytes (UNIX_DIAG). No privileges are needed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "sources/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static uint16_t port_of(int fd, int peer)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int rc = peer ? getpeername(fd, (struct sockaddr *)&a, &len)
                  : getsockname(fd, (struct sockaddr *)&a, &len);
    cr_assert_eq(rc, 0);
    return ntohs(a.sin_port);
}

static int listener(int backlog)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, backlog), 0);
    return fd;
}

static int client(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s", strerror(errno));
    return fd;
}

Test(sockdiag, a_listener_reports_its_accept_queue_and_backlog, .timeout = 10)
{
    int l = listener(3);
    uint16_t port = port_of(l, 0);
    int c1 = client(port), c2 = client(port);
    int state = 0;
    uint32_t rq = 99, wq = 0;
    cr_assert_eq(sockdiag_lookup(port, 0, &state, &rq, &wq), 0);
    cr_assert_eq(state, 10, "listener state %d, want LISTEN (10)", state);
    cr_assert_eq(rq, 2, "accept queue %u, want 2 (nobody accepted yet)", rq);
    cr_assert_eq(wq, 3, "backlog %u, want 3", wq);

    cr_assert_eq(sockdiag_lookup(port_of(c1, 0), port, &state, NULL, NULL), 0);
    cr_assert_eq(state, 1, "client state %d, want ESTABLISHED", state);
    close(c1);
    close(c2);
    close(l);
}

Test(sockdiag, the_active_closer_gets_time_wait, .timeout = 10)
{
    int l = listener(1);
    uint16_t port = port_of(l, 0);
    int c = client(port);
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0);
    uint16_t cport = port_of(c, 0);
    close(c); /* the client closes first: FIN_WAIT1/2, then TIME_WAIT after the server's FIN */
    int state = 0;
    cr_assert_eq(sockdiag_lookup(port, cport, &state, NULL, NULL), 0);
    cr_assert_eq(state, 8, "server side %s, want CLOSE_WAIT", sockdiag_state_name(state));
    close(s);
    for (int i = 0; i < 100 && state != 6; i++) {
        usleep(2000);
        cr_assert_eq(sockdiag_lookup(cport, port, &state, NULL, NULL), 0);
    }
    cr_assert_str_eq(sockdiag_state_name(state), "TIME_WAIT");
    cr_assert_eq(sockdiag_lookup(port, cport, &state, NULL, NULL), -ENOENT,
                 "the passive closer keeps no TIME_WAIT");
    close(l);
}

struct count {
    int local_only, n;
};

static void count_cb(const struct sockdiag_entry *e, void *arg)
{
    struct count *c = arg;
    c->n++;
    if (e->family == AF_INET && e->saddr[0] != 127 &&
        (e->saddr[0] | e->saddr[1] | e->saddr[2] | e->saddr[3]) != 0)
        c->local_only = 0;
}

/* Loopback sockets, and those bound to the wildcard address (a textbook server's listener on
 * INADDR_ANY, which ss -tln shows as 0.0.0.0:port); none on another address. */
Test(sockdiag, a_dump_reports_loopback_and_wildcard_sockets_only, .timeout = 10)
{
    int l = listener(1);
    int any = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    cr_assert_eq(bind(any, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(any, 3), 0);
    struct count c = {.local_only = 1};
    int n = sockdiag_dump(count_cb, &c);
    cr_assert_gt(n, 0, "dump failed: %d", n);
    cr_assert_eq(n, c.n);
    cr_assert(c.local_only, "a socket on another address was reported");
    int state = 0;
    uint32_t backlog = 0;
    cr_assert_eq(sockdiag_lookup(port_of(any, 0), 0, &state, NULL, &backlog), 0,
                 "the listener on 0.0.0.0 is not reported");
    cr_expect_eq(state, 10, "state %s, want LISTEN", sockdiag_state_name(state));
    cr_expect_eq(backlog, 3);
    cr_assert_eq(sockdiag_lookup(1, 0, NULL, NULL, NULL), -ENOENT);
    close(any);
    close(l);
}

struct unix_find {
    uint32_t inode;
    int found;
    struct sockdiag_entry e;
};

static void unix_cb(const struct sockdiag_entry *e, void *arg)
{
    struct unix_find *f = arg;
    if (e->inode == f->inode) {
        f->e = *e;
        f->found = 1;
    }
}

/* A Unix stream socketpair, 3 bytes written on one end: UNIX_DIAG shows both ends
 * ESTABLISHED, each the other's peer, and the 3 bytes in the reading end's queue. */
Test(sockdiag, unix_socketpair_state_peer_and_queue, .timeout = 10)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    cr_assert_eq(write(sv[0], "abc", 3), 3);
    struct stat a, b;
    cr_assert_eq(fstat(sv[0], &a), 0);
    cr_assert_eq(fstat(sv[1], &b), 0);
    struct unix_find w = {.inode = (uint32_t)a.st_ino}, r = {.inode = (uint32_t)b.st_ino};
    int n = sockdiag_dump_unix(unix_cb, &w);
    if (n == -ENOENT || n == -EPROTONOSUPPORT || n == -EOPNOTSUPP)
        cr_skip_test("no unix_diag in this kernel");
    cr_assert_geq(n, 2, "the dump: %d", n);
    cr_assert_geq(sockdiag_dump_unix(unix_cb, &r), 2);
    cr_assert(w.found && r.found, "both ends in UNIX_DIAG");
    cr_expect_eq(w.e.family, AF_UNIX);
    cr_expect_eq(w.e.proto, SOCKDIAG_PROTO_UNIX);
    cr_expect_eq(w.e.state, 1, "ESTABLISHED");
    cr_expect_eq(r.e.state, 1, "ESTABLISHED");
    cr_expect_eq(w.e.peer, r.inode);
    cr_expect_eq(r.e.peer, w.inode);
    cr_expect_eq(r.e.rqueue, 3, "the unread bytes wait at the reading end");
    cr_expect_eq(w.e.rqueue, 0);
    close(sv[0]);
    close(sv[1]);
}
