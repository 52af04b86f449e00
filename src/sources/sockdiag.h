/*
 * sockdiag.h - the unprivileged socket source: the kernel's TCP and UDP tables through
 * NETLINK_SOCK_DIAG (what `ss -tuan` reads).
 *
 * When eBPF is off, the conductor follows the TCP state of the scenario's socket objects by
 * asking the kernel here, by ports on loopback. It also sees what the BPF tracepoint never
 * reports: TIME_WAIT sockets and the accept queue of a listener. Only loopback sockets
 * (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104) are ever reported.
 */
#ifndef IPCSCOPE_SOCKDIAG_H
#define IPCSCOPE_SOCKDIAG_H

#include <stdint.h>

/* One TCP socket on loopback. Ports in host order; states in the kernel's TCP_* numbering
 * (1 ESTABLISHED ... 7 CLOSE, 10 LISTEN, 12 NEW_SYN_RECV). */
struct sockdiag_entry {
    int family; /* AF_INET or AF_INET6 */
    int proto;  /* IPPROTO_TCP or IPPROTO_UDP */
    int state;  /* TCP_* */
    uint16_t sport, dport;
    uint8_t saddr[16], daddr[16]; /* network order; IPv4 in the first 4 bytes */
    uint32_t rqueue; /* LISTEN: connections waiting in the accept queue; else bytes unread */
    uint32_t wqueue; /* LISTEN: the backlog; else bytes not yet acknowledged */
    uint32_t inode;  /* 0 for TIME_WAIT (no file) */
    uint32_t uid;
    uint64_t cookie; /* the socket cookie (same key as the BPF records) */
};

/* Call cb once for every TCP socket on loopback (IPv4 and IPv6, every state including
 * TIME_WAIT). Returns the number of entries reported, or -errno (e.g. -EPROTONOSUPPORT when
 * the kernel has no inet_diag). */
int sockdiag_dump(void (*cb)(const struct sockdiag_entry *e, void *arg), void *arg);

/* The same for protocol proto (IPPROTO_TCP or IPPROTO_UDP; a UDP socket's state is 7 when
 * unconnected, 1 when connected, as ss shows UNCONN and ESTAB). */
int sockdiag_dump_proto(int proto, void (*cb)(const struct sockdiag_entry *e, void *arg),
                        void *arg);

/* The TCP socket on loopback with local port lport and remote port rport (rport 0: a
 * listener or an unconnected socket). When several match, a live one wins over TIME_WAIT.
 * Fills the non-NULL outputs (for a LISTEN socket rqueue = accept-queue length, wqueue =
 * backlog). 0 when found, -ENOENT when not, -errno on failure. A dump is no snapshot: a
 * closing socket swapped for its timewait socket as the dump walks past is missing from it,
 * so -ENOENT means two dumps in a row missed it. */
int sockdiag_lookup(uint16_t lport, uint16_t rport, int *state, uint32_t *rqueue, uint32_t *wqueue);

/* The same, returning the whole entry. */
int sockdiag_find(uint16_t lport, uint16_t rport, struct sockdiag_entry *out);

/* The TCP state's name as ss prints it in capitals ("ESTABLISHED", "TIME_WAIT"), or "?". */
const char *sockdiag_state_name(int state);

#endif
