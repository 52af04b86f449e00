/*
 * instr_net.h - instrumented sockets for the network chapters (1-4, 11).
 *
 * Each wrapper passes the step gate, performs the real call on a loopback socket, marks the
 * caller blocked on the socket object while the call sleeps in the kernel (accept with an
 * empty queue, recv with nothing to read, select/poll/epoll_wait with nothing ready) and
 * records what happened. Every address is checked to be on loopback (127.0.0.0/8) and every
 * wait is bounded in time, so a scenario can neither reach the network nor hang. Also here:
 * a packet capture on lo (AF_PACKET, when privileged) and the echo client the server
 * scenarios share.
 */
#ifndef IPCSCOPE_INSTR_NET_H
#define IPCSCOPE_INSTR_NET_H

#include "instr.h"
#include "model.h"

#include <jansson.h>

#include <poll.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/types.h>

/* How long any single wait may last before the call gives up with -ETIMEDOUT. */
#define NET_WAIT_MS 10000

/* TCP states (the kernel's numbering, as in the trace's tcp_state events). */
enum {
    NET_ESTABLISHED = 1,
    NET_SYN_SENT,
    NET_SYN_RECV,
    NET_FIN_WAIT1,
    NET_FIN_WAIT2,
    NET_TIME_WAIT,
    NET_CLOSE,
    NET_CLOSE_WAIT,
    NET_LAST_ACK,
    NET_LISTEN,
    NET_CLOSING,
    NET_NEW_SYN_RECV,
};

/* Why a task is blocked on a socket (the reason of its block event, narrated by
 * net_narrate): for scenarios that wait on sockets themselves (poll on several). */
enum {
    NET_WHY_ACCEPT = 1, /* no connection is queued */
    NET_WHY_CONNECT,    /* the handshake is under way */
    NET_WHY_RECV,       /* nothing has arrived */
    NET_WHY_SEND,       /* the send buffer is full */
    NET_WHY_MUX,        /* select/poll/epoll_wait: nothing is ready */
};

/* A socket and its instrumented object. For TCP the object's value is the TCP state the
 * conductor (or net_observe) last saw; the object follows the socket by its ports. */
struct net_sock {
    int fd;
    int type;              /* SOCK_STREAM or SOCK_DGRAM */
    uint16_t lport, rport; /* host order, 0 = not yet */
    struct instr_obj *o;
};

/* ---- calls ---- */

/* socket(AF_INET, type): creates the object named name (TCP: in state CLOSE). 0 or -errno. */
int net_socket(struct net_sock *s, const char *name, int type);

/* setsockopt(level, opt, val) with label in the note ("SO_REUSEADDR"). 0 or -errno. */
int net_setsockopt(struct net_sock *s, int level, int opt, int val, const char *label);

/* bind to 127.0.0.1:port (0: the kernel picks; s->lport gets the real port). 0 or -errno. */
int net_bind(struct net_sock *s, uint16_t port);

/* bind to addr:port, addr in host order; refused (-EADDRNOTAVAIL) outside 127.0.0.0/8. */
int net_bind_addr(struct net_sock *s, uint32_t addr, uint16_t port);

/* listen(backlog). 0 or -errno. */
int net_listen(struct net_sock *s, int backlog);

/* accept on listener ls into out (its object named name, ESTABLISHED). Blocks (marked) while
 * the accept queue is empty, at most NET_WAIT_MS. 0, -ETIMEDOUT, -ECANCELED (run stopping) or
 * -errno. */
int net_accept(struct net_sock *ls, struct net_sock *out, const char *name);

/* connect to 127.0.0.1:port. Binds 127.0.0.1:0 first, so the object knows its ports before
 * the SYN leaves. Blocks (marked) until the handshake completes. 0 or -errno. */
int net_connect(struct net_sock *s, uint16_t port);

/* Send all n bytes (MSG_NOSIGNAL). n or -errno. Records sock_send (item bytes or -errno,
 * val bytes still in the send queue, aux peer port, extra 1 on a datagram socket); recv and
 * recvfrom record sock_recv likewise (val bytes still unread, aux the peer's port). */
ssize_t net_send(struct net_sock *s, const void *buf, size_t n);

/* Receive up to n bytes; blocks (marked) while nothing is queued. The count, 0 at EOF, or
 * -errno. */
ssize_t net_recv(struct net_sock *s, void *buf, size_t n);

/* Like net_recv, but never blocks: -EAGAIN when nothing is queued. */
ssize_t net_recv_nowait(struct net_sock *s, void *buf, size_t n);

/* UDP: send to addr:port (addr host order, loopback or 127.255.255.255 only). n or -errno. */
ssize_t net_sendto(struct net_sock *s, const void *buf, size_t n, uint32_t addr, uint16_t port);

/* UDP: receive one datagram (blocks, marked); *from_port (may be NULL) gets the sender's
 * port. The count or -errno. */
ssize_t net_recvfrom(struct net_sock *s, void *buf, size_t n, uint16_t *from_port);

/* shutdown(how). 0 or -errno. */
int net_shutdown(struct net_sock *s, int how);

/* close; the object stays (its ports let the conductor follow FIN_WAIT/TIME_WAIT). */
void net_close(struct net_sock *s);

/* ---- the kernel's view (sock_diag; no privileges needed) ---- */

/* Ask the kernel for s's TCP state (by its ports, also after close: TIME_WAIT). Only a look:
 * the conductor records the kernel's view of every socket. Returns the state, or -ENOENT when
 * the kernel has forgotten the socket. *rq (may be NULL): the accept-queue length of a
 * listener, else unread bytes. */
int net_observe(struct net_sock *s, uint32_t *rq);

/* ---- multiplexing: the interest set and the ready set as objects ---- */

/* Two queue objects: interest (value = fds watched) and ready (value = fds ready after the
 * last call). Each call records mux_wait on interest and mux_ready on ready, carrying the
 * sets themselves as fd bitmasks in aux (fds < 64) and the call in item (0 select, 1 poll,
 * 2 epoll_wait). */
struct net_mux {
    struct instr_obj *interest, *ready;
    int last_ready;
    uint64_t ready_mask;
    uint64_t interest_mask; /* epoll: the fds below 64 the kernel's interest set holds */
};

/* The two objects named "<prefix>-interest" and "<prefix>-ready"; a prefix "select" gives
 * them select's capacity (FD_SETSIZE), any other (poll, epoll) none. 0 or -ENOMEM. */
int net_mux_new(struct net_mux *m, const char *prefix);

/* select() on readfds (nfds as select's). Records the interest set, blocks (marked on the
 * ready object) when nothing is ready at once, records the ready set. The ready count,
 * 0 on timeout, or -errno. */
int net_select(struct net_mux *m, int nfds, fd_set *readfds, int timeout_ms);

/* poll() likewise. */
int net_poll(struct net_mux *m, struct pollfd *fds, nfds_t n, int timeout_ms);

/* epoll_wait() likewise; the interest set recorded is the one net_epoll_ctl has kept. */
int net_epoll_wait(struct net_mux *m, int epfd, struct epoll_event *evs, int max, int timeout_ms);

/* epoll_ctl(op, fd, events) on m's epoll instance epfd: a step of its own, and when it succeeds
 * a mux_wait record (item MUX_EPOLL_CTL) of the interest set as the kernel now keeps it, which
 * changes only here (close the fd after its DEL, or the set shown keeps it). 0 or -errno. */
int net_epoll_ctl(struct net_mux *m, int epfd, int op, int fd, uint32_t events);

/* close(epfd): the interest set goes with the instance; recorded (op 0 in MUX_CTL_EXTRA) when
 * it still held descriptors. */
void net_epoll_close(struct net_mux *m, int epfd);

/* ---- packet capture on lo (CAP_NET_RAW) ---- */

/* One TCP/IPv4 frame seen on lo, decoded layer by layer. */
struct net_seg {
    uint64_t t_ns;
    uint8_t eth_dst[6], eth_src[6]; /* link: MAC addresses (all zero on lo) */
    uint16_t eth_proto;             /* link: EtherType (0x0800) */
    uint32_t saddr, daddr;          /* IP: host order */
    uint8_t ttl, ihl;               /* IP header length in bytes */
    uint16_t ip_len;                /* IP total length */
    uint16_t sport, dport;          /* TCP */
    uint32_t seq, ack;
    uint8_t thl;   /* TCP header length in bytes (20 + options) */
    uint8_t flags; /* TCP flags: FIN 1 SYN 2 RST 4 PSH 8 ACK 16 */
    uint16_t win, payload_len;
    char payload[48]; /* the first application bytes */
};

/* An AF_PACKET socket on lo (outgoing copies skipped, so each frame is seen once). fd or
 * -errno (-EPERM without CAP_NET_RAW). */
int net_capture_open(void);

/* Start the "capture" task of a scenario that shows its packets, when want: the socket is
 * opened here, while the conductor may still hold CAP_NET_RAW (its workers may not, under
 * sudo), and only the task keeps it (*fd). Without it *err_no says why and *ready is set at
 * once, so nobody waits for a capture that will not come. 0, or -errno from ipc_start. */
int net_capture_start(int want, int *fd, int *err_no, _Atomic int *ready, int (*task)(void *),
                      char *err, size_t n);

/* The next TCP frame to or from port, waiting at most timeout_ms. 1, 0 on timeout, -errno. */
int net_capture_next(int fd, uint16_t port, struct net_seg *seg, int timeout_ms);

/* Record seg as a pkt event (val flags, item seq, aux ack, extra sport<<16|dport) on o
 * (may be NULL: no object), from the calling task. */
void net_pkt_emit(const struct net_seg *seg, struct instr_obj *o);

/* "SYN", "SYN|ACK", "FIN|ACK", "PSH|ACK" ... into buf. */
const char *net_tcp_flags(uint8_t flags, char *buf, size_t n);

/* ---- shared by the server scenarios ---- */

/* 1 when the run is winding down. */
int net_stopping(void);

/* Sleep ms of scenario time (sclock_sleep: a step of its own while the gate is held); -1
 * early when the run is stopping. */
int net_sleep_ms(long ms);

/* Wait (bounded by NET_WAIT_MS in a free run) until *flag is non-zero, asleep on it (no step,
 * few wake-ups). Returns it, or 0 on timeout or when the run stops. what: what the task waits
 * for, for the screen (sclock_waits_for: "until the server listens"). */
int net_wait_flag(_Atomic int *flag, const char *what);

/* Store value in *flag and wake the tasks waiting for it in net_wait_flag at once. */
void net_flag_set(_Atomic int *flag, int value);

/* Wait, asleep in the kernel (a futex on *word, which may be in shared memory), until
 * cond(arg) holds: a condition other tasks make true, each changing *word and calling
 * net_wake(word) when they do. Never a step, and bounded by bound_ms only in a free run (a
 * safety bound: while stepping it never expires). Returns cond(arg) at the end. */
int net_wait_until(_Atomic int *word, int (*cond)(void *arg), void *arg, long bound_ms,
                   const char *what);

/* Wake every task waiting on word in net_wait_until (after changing *word). */
void net_wake(_Atomic int *word);

/* An echo client: connect to port, send msgs lines "tag-i\n" (gap_ms apart), read each
 * echo back and compare, close. Returns the number of lines echoed correctly, or -errno
 * when the connection failed. */
int net_echo_client(uint16_t port, const char *tag, int msgs, long gap_ms);

/* Read from s into buf (at most cap-1 bytes, NUL-terminated) until end (e.g. "\r\n\r\n")
 * has arrived, EOF, or cap-1 bytes; end NULL: until EOF. The bytes read, or -errno. */
ssize_t net_recv_until(struct net_sock *s, char *buf, size_t cap, const char *end);

/* Echo what arrives on c until EOF (the per-client handler of the iterative, forking and
 * threading servers). Returns the number of bytes echoed, or -errno. */
long net_echo_handle(struct net_sock *c);

/* The clients of an echo-server scenario (in its shared memory): target counts the clients
 * the server is to serve (the 'c' key adds one), started those spawned so far, at most max.
 * Client k (from 0) is the task "client-<k+1>" running fn((void *)k). */
struct net_clients {
    _Atomic int target, started;
    int max;
    int (*fn)(void *arg);
};

/* Start the next client, counted in target unless the caller already counted it. 0, or
 * -errno with the reason in err. */
int net_client_spawn(struct net_clients *c, int counted, char *err, size_t n);

/* Set target to all (before the server looks at it), start the task "server" running
 * server(NULL), then all clients. 0, or -errno with the reason in err. */
int net_server_start(struct net_clients *c, int (*server)(void *arg), long all, char *err,
                     size_t n);

/* Start the task "server" running server(NULL), then the task "client" running client(NULL).
 * 0, or -errno with "cannot start a worker: <reason>" in err. */
int net_start_server_client(int (*server)(void *arg), int (*client)(void *arg), char *err,
                            size_t n);

/* Start the task "server" running server(NULL), then clients tasks "client-1" ... running
 * client((void *)k), k from 0. 0, or -errno with "cannot start a worker: <reason>" in err. */
int net_start_workers(int (*server)(void *arg), int (*client)(void *arg), long clients, char *err,
                      size_t n);

/* The body of client idx: wait for the server's *port, pause delay_ms, run net_echo_client
 * as "client-<idx+1>" and add the lines echoed to *echoed_ok. 0 when all msgs came back,
 * else 1 (also when the run stops first). */
int net_echo_client_run(_Atomic int *port, int idx, long delay_ms, long msgs, long gap_ms,
                        _Atomic int *echoed_ok);

/* The snapshot name of a TCP state ("TIME_WAIT"). */
const char *net_state_name(int state);

#endif

/* ---- conductor side: narration and snapshots ---- */

/* Explain what the generic narration cannot: a socket's creation (TCP or UDP), why a task
 * blocks on a socket, and the notes left for setsockopt and epoll_ctl. The socket and mux
 * event kinds themselves are narrated by narrate.c. 1 when it wrote something, else 0. */
int net_narrate(const struct model *m, const struct ev *e, int lang, char *buf, size_t n);

/* net_narrate as a scenario's narrate hook, for scenarios with nothing of their own to add. */
struct scn_ctx;
int net_scn_narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                    char *buf, size_t n);

/* The TCP states (bitmask of 1 << state) the model saw for object id, both as old and new
 * states of its tcp_state events (bpf or sock_diag). */
uint32_t net_model_states(const struct model *m, uint32_t obj_id);

/* A JSON array of state names for a bitmask of 1 << state. */
json_t *net_states_json(uint32_t mask);
