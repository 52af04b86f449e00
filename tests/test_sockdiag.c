/*
 * test_sockdiag.c - the sock_diag source against real loopback sockets made here.
 *
 * A listener with a known backlog and clients that connect before anyone accepts: the
 * kernel must report LISTEN with the accept queue and backlog, ESTABLISHED on both ends, and
 * TIME_WAIT on the side that closed first. No privileges are needed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "sources/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
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
    int loopback_only, n;
};

static void count_cb(const struct sockdiag_entry *e, void *arg)
{
    struct count *c = arg;
    c->n++;
    if (e->family == AF_INET && e->saddr[0] != 127)
        c->loopback_only = 0;
}

Test(sockdiag, a_dump_reports_only_loopback_sockets, .timeout = 10)
{
    int l = listener(1);
    struct count c = {.loopback_only = 1};
    int n = sockdiag_dump(count_cb, &c);
    cr_assert_gt(n, 0, "dump failed: %d", n);
    cr_assert_eq(n, c.n);
    cr_assert(c.loopback_only);
    cr_assert_eq(sockdiag_lookup(1, 0, NULL, NULL, NULL), -ENOENT);
    close(l);
}
