/*
 * test_sockdiag.c - the sock_diag source against real loopback sockets made here.
 *
 * A listener with a known backlog and clients that connect before anyone accepts: the
 * kernel must report LISTEN with the accept queue and backlog, ESTABLISHED on both ends, and
 * TIME_WAIT on the side that closed first; a Unix socketpair ESTABLISHED with its peer and
 * its unread bytes, and bound Unix sockets with the names /proc/net/unix lists (UNIX_DIAG).
 * No privileges are needed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "sources/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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

/* The name /proc/net/unix gives the socket with inode ino (its Path column: the path, or
 * '@' and the abstract name), "" when it has none; -1 when it is not listed. */
static int proc_net_unix_name(uint32_t ino, char *name, size_t n)
{
    FILE *f = fopen("/proc/net/unix", "r");
    char line[512];
    int found = -1;
    while (f && found < 0 && fgets(line, sizeof(line), f)) {
        unsigned long inode;
        int at = 0;
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %n", &inode, &at) < 1 || inode != ino)
            continue;
        line[strcspn(line, "\n")] = '\0';
        snprintf(name, n, "%s", at ? line + at : "");
        found = 0;
    }
    if (f)
        fclose(f);
    return found;
}

/* A listener bound to a path and one bound to an abstract name, each with a client and its
 * accepted connection: UNIX_DIAG gives each socket the name /proc/net/unix lists (the path;
 * "@name"; the accepted socket shares its listener's, the client has none) and each
 * connected end its peer's inode. */
Test(sockdiag, unix_sockets_report_their_names_and_peers, .timeout = 10)
{
    struct sockaddr_un path = {.sun_family = AF_UNIX}, abstract = {.sun_family = AF_UNIX};
    snprintf(path.sun_path, sizeof(path.sun_path), "/tmp/ipcscope-sockdiag-%d.sock", (int)getpid());
    int an = snprintf(abstract.sun_path + 1, sizeof(abstract.sun_path) - 1, "ipcscope-sockdiag-%d",
                      (int)getpid());
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)an);
    const struct sockaddr_un *addr[2] = {&path, &abstract};
    socklen_t len[2] = {sizeof(path), alen};
    unlink(path.sun_path);
    int fds[6];
    for (int k = 0; k < 2; k++) {
        int *l = &fds[3 * k];
        l[0] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        l[1] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        cr_assert_eq(bind(l[0], (const struct sockaddr *)addr[k], len[k]), 0, "bind: %s",
                     strerror(errno));
        cr_assert_eq(listen(l[0], 4), 0);
        cr_assert_eq(connect(l[1], (const struct sockaddr *)addr[k], len[k]), 0);
        l[2] = accept4(l[0], NULL, NULL, SOCK_CLOEXEC);
        cr_assert_geq(l[2], 0);
    }
    struct unix_find f[6];
    for (int i = 0; i < 6; i++) {
        struct stat st;
        cr_assert_eq(fstat(fds[i], &st), 0);
        f[i] = (struct unix_find){.inode = (uint32_t)st.st_ino};
        int n = sockdiag_dump_unix(unix_cb, &f[i]);
        if (n == -ENOENT || n == -EPROTONOSUPPORT || n == -EOPNOTSUPP)
            cr_skip_test("no unix_diag in this kernel");
        cr_assert(f[i].found, "socket %d (inode %u) in UNIX_DIAG", i, f[i].inode);
    }
    for (int i = 0; i < 6; i++) {
        char want[SOCKDIAG_NAME_MAX + 8];
        cr_assert_eq(proc_net_unix_name(f[i].inode, want, sizeof(want)), 0,
                     "inode %u not in /proc/net/unix", f[i].inode);
        cr_expect_str_eq(f[i].e.name, want, "socket %d: name as /proc/net/unix", i);
    }
    cr_expect_str_eq(f[0].e.name, path.sun_path, "the listener's path");
    cr_expect_eq(f[1].e.name[0], '\0', "an unbound client has no name");
    cr_expect_str_eq(f[2].e.name, path.sun_path, "the accepted socket shares its listener's");
    cr_expect_eq(f[3].e.name[0], '@', "an abstract name: %s", f[3].e.name);
    cr_expect_str_eq(f[3].e.name + 1, abstract.sun_path + 1);
    for (int k = 0; k < 2; k++) {
        cr_expect_eq(f[3 * k].e.peer, 0, "a listener has no peer");
        cr_expect_eq(f[3 * k + 1].e.peer, f[3 * k + 2].inode, "client -> accepted");
        cr_expect_eq(f[3 * k + 2].e.peer, f[3 * k + 1].inode, "accepted -> client");
    }
    for (int i = 0; i < 6; i++)
        close(fds[i]);
    unlink(path.sun_path);
}
