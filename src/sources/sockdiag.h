/*
 * sockdiag.h - the unprivileged socket source: the kernel's TCP, UDP and Unix tables through
 * NETLINK_SOCK_DIAG (what `ss -tuxan` reads).
 *
 * When eBPF is off, the conductor follows the TCP state of the scenario's socket objects by
 * asking the kernel here, by ports on loopback. It also sees what the BPF tracepoint never
 * reports: TIME_WAIT sockets and the accept queue of a listener. Only loopback inet sockets
 * (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104) and those bound to the wildcard address (0.0.0.0,
 * ::) are ever reported; Unix sockets by inode.
 */
#ifndef IPCSCOPE_SOCKDIAG_H
#define IPCSCOPE_SOCKDIAG_H

#include <stdint.h>

/* Not an IP protocol: the proto of a Unix-domain socket (sockdiag_entry, instr_obj,
 * model_obj and sock_info's aux), which UNIX_DIAG reports by inode. */
#define SOCKDIAG_PROTO_UNIX 255

/* A Unix socket's name as text: a sun_path of 108 bytes, '@' for an abstract name's NUL. */
#define SOCKDIAG_NAME_MAX 109

/* One TCP socket on loopback. Ports in host order; states in the kernel's TCP_* numbering
 * (1 ESTABLISHED ... 7 CLOSE, 10 LISTEN, 12 NEW_SYN_RECV). */
struct sockdiag_entry {
    int family; /* AF_INET, AF_INET6 or AF_UNIX */
    int proto;  /* IPPROTO_TCP, IPPROTO_UDP or SOCKDIAG_PROTO_UNIX */
    int state;  /* TCP_* */
    uint16_t sport, dport;
    uint8_t saddr[16], daddr[16]; /* network order; IPv4 in the first 4 bytes */
    uint32_t rqueue; /* LISTEN: connections waiting in the accept queue; else bytes unread */
    uint32_t wqueue; /* LISTEN: the backlog; else bytes not yet acknowledged */
    uint32_t inode;  /* 0 for TIME_WAIT (no file) */
    uint32_t uid;
    uint64_t cookie;              /* the socket cookie (same key as the BPF records) */
    uint32_t peer;                /* AF_UNIX: the peer's inode (0: none) */
    char name[SOCKDIAG_NAME_MAX]; /* AF_UNIX: the bound name as ss prints it: the path, an
                                     abstract name with '@' for each NUL ("@name"), "" none */
};

/* Call cb once for every TCP socket on loopback (IPv4 and IPv6, every state including
 * TIME_WAIT). Returns the number of entries reported, or -errno (e.g. -EPROTONOSUPPORT when
 * the kernel has no inet_diag). */
int sockdiag_dump(void (*cb)(const struct sockdiag_entry *e, void *arg), void *arg);

/* The same for protocol proto (IPPROTO_TCP or IPPROTO_UDP; a UDP socket's state is 7 when
 * unconnected, 1 when connected, as ss shows UNCONN and ESTAB). */
int sockdiag_dump_proto(int proto, void (*cb)(const struct sockdiag_entry *e, void *arg),
                        void *arg);

/* Call cb once for every Unix-domain socket (UNIX_DIAG, what `ss -x` reads): family AF_UNIX,
 * proto SOCKDIAG_PROTO_UNIX, state as TCP's (1 ESTABLISHED, 7 unconnected, 10 LISTEN),
 * inode, peer (the other end's inode, 0 for none), name (the bound name, "" when unnamed),
 * and the queues (a listener: its accept queue and backlog). No ports or IP addresses.
 * Returns the number of entries or -errno (-ENOENT etc. without unix_diag). */
int sockdiag_dump_unix(void (*cb)(const struct sockdiag_entry *e, void *arg), void *arg);

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
