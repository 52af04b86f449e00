/*
 * bench_sockdiag.c - how often a sock_diag dump misses a socket that has just been closed.
 *
 * A dump is no snapshot: a closing socket that the kernel swaps for its timewait socket while
 * the dump walks past it is missing from that dump. Here a loopback client connects, is
 * accepted and closes, and at once the table is read: on even rounds with one dump, on odd
 * rounds with sockdiag_find, which looks a second time before it says the socket is gone.
 * Prints the misses of each. The race needs a busy machine to show: run it beside busy loops
 * (for i in 1 2 3 4; do timeout 120 sh -c 'while :; do :; done' & done).
 *
 *   bench_sockdiag [closes]    (default 4000)
 */
#define _GNU_SOURCE
#include "sources/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct wanted {
    uint16_t lport, rport;
    int found;
};

static void match(const struct sockdiag_entry *e, void *arg)
{
    struct wanted *w = arg;
    w->found |= e->sport == w->lport && e->dport == w->rport;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    return getsockname(fd, (struct sockaddr *)&a, &len) == 0 ? ntohs(a.sin_port) : 0;
}

int main(int argc, char **argv)
{
    long closes = argc > 1 ? strtol(argv[1], NULL, 10) : 4000;
    if (closes < 2 || closes > 20000) {
        fprintf(stderr, "usage: bench_sockdiag [closes, 2..20000]\n");
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 128) < 0) {
        perror("bench_sockdiag: listener");
        return 1;
    }
    a.sin_port = htons(local_port(ls));
    long one = 0, one_missed = 0, two = 0, two_missed = 0;
    for (long i = 0; i < closes; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0) {
            fprintf(stderr, "bench_sockdiag: connect: %s (ports used up? wait a minute)\n",
                    strerror(errno));
            return 1;
        }
        int s = accept(ls, NULL, NULL);
        uint16_t cport = local_port(c);
        close(c); /* FIN_WAIT1, then FIN_WAIT2 as a timewait socket once the ACK is in */
        if (i % 2 == 0) {
            struct wanted w = {.lport = cport, .rport = ntohs(a.sin_port)};
            sockdiag_dump(match, &w);
            one++;
            one_missed += !w.found;
        } else {
            struct sockdiag_entry e;
            two++;
            two_missed += sockdiag_find(cport, ntohs(a.sin_port), &e) == -ENOENT;
        }
        if (s >= 0)
            close(s);
    }
    close(ls);
    printf("right after close(): one dump missed the socket %ld of %ld times; sockdiag_find "
           "(a second dump on a miss) %ld of %ld\n",
           one_missed, one, two_missed, two);
    return 0;
}
