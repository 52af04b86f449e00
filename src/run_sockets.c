/*
 * run_sockets.c - socket objects as the kernel's table shows them (sock_diag, what ss reads).
 *
 * Every socket object is looked up in one dump of the TCP, UDP and Unix tables: by its inode
 * while it has a file (a socketpair's object: its first end's, then its second's), else by
 * its ports (a closed TCP socket lingering in FIN_WAIT or TIME_WAIT). When its entry changed,
 * a sock_info event carries the state, queues and addresses (a Unix socket: its inode and its
 * peer's) into the model and the trace, a tcp_state event the transition, and a sock_name
 * event a Unix socket's new name. The conductor looks after each socket call, after each
 * settled step and on the /proc timer, so between two steps the screen shows what ss shows;
 * TIME_WAIT, which the probes never report, is seen here. A look's events are readings: they
 * join the pending batch and are applied in time order with the records written before the
 * look (a tcp_state the model has by then is dropped, see run_apply), never as stale by the
 * operations' seq.
 *
 * One dump is not a snapshot: a socket the kernel moves while the dump walks past it (a
 * closing socket swapped for its small timewait socket, FIN_WAIT1 -> FIN_WAIT2) can be
 * missing from it (under 4 busy loops, 1-2 of 9,000 looks right after a close()). So a socket
 * that was in the table and is missing from a dump is only called gone when a second dump,
 * taken at once, misses it too.
 */
#define _GNU_SOURCE
#include "run.h"
#include "run_int.h"

#include "sources/sockdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SOCKDIAG_MAX 65536

/* The entries that may be the run's: on a local port of one of its sockets, or with an inode
 * one of them has (by its low 16 bits). The table of a busy machine holds thousands of other
 * loopback sockets, which are not kept. */
struct sock_filter {
    uint8_t port[65536 / 8], inode[65536 / 8];
};

/* The entries of one dump that pass keep. */
struct sock_table {
    struct sockdiag_entry *e;
    size_t n, cap;
    uint64_t t; /* when the dump began: the stamp of what it shows (a state it reads may have
                 * changed after, never before, so a transition the probes stamp later is
                 * applied after the reading that missed it) */
    const struct sock_filter *keep;
};

static int has_bit(const uint8_t *set, uint32_t k)
{
    return set[(k & 0xffff) >> 3] >> (k & 7) & 1;
}

static void set_bit(uint8_t *set, uint32_t k)
{
    set[(k & 0xffff) >> 3] |= (uint8_t)(1u << (k & 7));
}

static void collect_socket(const struct sockdiag_entry *e, void *arg)
{
    struct sock_table *t = arg;
    int by_port = e->family != AF_UNIX && e->sport && has_bit(t->keep->port, e->sport);
    int by_peer = e->family == AF_UNIX && e->peer && has_bit(t->keep->inode, e->peer);
    if (!by_port && !by_peer && !(e->inode && has_bit(t->keep->inode, e->inode)))
        return; /* (by peer: the other end of a socketpair, whose queue is the pair's too) */
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        if (cap > SOCKDIAG_MAX)
            return;
        struct sockdiag_entry *p = realloc(t->e, cap * sizeof(*p));
        if (!p)
            return;
        t->e = p;
        t->cap = cap;
    }
    t->e[t->n++] = *e;
}

/* The entry in t of the socket with inode ino and protocol proto, or NULL. */
static const struct sockdiag_entry *by_inode(const struct sock_table *t, uint32_t ino, int proto)
{
    for (size_t i = 0; ino && i < t->n; i++)
        if (t->e[i].inode == ino && t->e[i].proto == proto)
            return &t->e[i];
    return NULL;
}

/* The kernel's entry for socket object o, or NULL when the table has none. A socketpair's
 * object is its first end while that is open, then its second (the object lives on in it). */
static const struct sockdiag_entry *find_entry(const struct sock_table *t,
                                               const struct instr_obj *o)
{
    const struct sockdiag_entry *found = NULL;
    int proto = o->u.sock.proto ? o->u.sock.proto : IPPROTO_TCP;
    const struct sockdiag_entry *exact = by_inode(t, o->u.sock.inode, proto);
    if (!exact && o->u.sock.pair)
        exact = by_inode(t, o->u.sock.inode2, proto);
    if (exact) /* while it has a file: its inode is exact */
        return exact;
    if (!o->u.sock.lport || proto == SOCKDIAG_PROTO_UNIX)
        return NULL;
    for (size_t i = 0; i < t->n; i++) {
        const struct sockdiag_entry *e = &t->e[i];
        if (e->proto != proto || e->sport != o->u.sock.lport || e->dport != o->u.sock.rport)
            continue;
        if (e->inode && o->u.sock.inode && e->inode != o->u.sock.inode)
            continue; /* another live socket on the same ports (SO_REUSEADDR) */
        if (!found || (found->state == NET_TIME_WAIT_STATE && e->state != NET_TIME_WAIT_STATE))
            found = e;
    }
    return found;
}

static uint32_t ipv4_of(const struct sockdiag_entry *e, const uint8_t *a)
{
    if (e->family == AF_INET)
        return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    return (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
}

/* The receive queue of a socketpair's other end (its entry's peer), 0 when not in t. */
static uint32_t peer_rqueue(const struct sock_table *t, const struct sockdiag_entry *e)
{
    for (size_t i = 0; e->peer && i < t->n; i++)
        if (t->e[i].proto == SOCKDIAG_PROTO_UNIX && t->e[i].inode == e->peer)
            return t->e[i].rqueue;
    return 0;
}

/* The sock_info record for o from entry e (NULL: not in the table). */
static struct ev info_event(uint32_t id, const struct instr_obj *o, const struct sockdiag_entry *e,
                            uint64_t t)
{
    struct ev ev = {
        .t = t, .kind = EV_SOCK_INFO, .src = EV_SRC_PROCFS, .task = EV_NO_TASK, .obj = id};
    uint64_t proto = o->u.sock.proto ? o->u.sock.proto : IPPROTO_TCP;
    if (!e) {
        ev.aux =
            (int64_t)((uint64_t)o->u.sock.lport | (uint64_t)o->u.sock.rport << 16 | proto << 32);
        return ev;
    }
    ev.val = e->state;
    ev.item = (int64_t)((uint64_t)e->rqueue | (uint64_t)e->wqueue << 32);
    ev.aux = (int64_t)((uint64_t)e->sport | (uint64_t)e->dport << 16 | proto << 32);
    if (e->family == AF_UNIX) /* no addresses: its inode and its peer's, as ss shows them */
        ev.extra = (int64_t)((uint64_t)e->inode | (uint64_t)e->peer << 32);
    else
        ev.extra = (int64_t)((uint64_t)ipv4_of(e, e->saddr) | (uint64_t)ipv4_of(e, e->daddr) << 32);
    return ev;
}

/* The transition to state, stamped t: the look's own stamp, so it stays ahead of the
 * sock_info queued after it (which sets the state too) when the batch is put in order. The
 * object's state follows when it is applied (run_apply), after the records before it. */
static void emit_tcp_state(struct run *r, uint32_t id, const struct instr_obj *o, int state,
                           uint64_t t)
{
    struct ev e = {.t = t,
                   .kind = EV_TCP_STATE,
                   .src = EV_SRC_PROCFS,
                   .task = EV_NO_TASK,
                   .obj = id,    /* the table index: the id field is a worker's to write */
                   .val = state, /* a reading: no number of the operations' seq */
                   .item = o->u.sock.state};
    run_queue_reading(r, &e);
}

/* Tell the model Unix socket id's name (sock_name records, stamped t as the look): pieces of
 * SOCK_NAME_PIECE bytes, the last one shorter (empty when the name fills the one before). */
static void publish_name(struct run *r, uint32_t id, const char *name, uint64_t t)
{
    size_t len = strnlen(name, SOCKDIAG_NAME_MAX - 1), off = 0, n;
    do {
        struct ev ev = {.t = t,
                        .kind = EV_SOCK_NAME,
                        .src = EV_SRC_PROCFS,
                        .flags = EVF_TEXT,
                        .task = EV_NO_TASK,
                        .obj = id};
        n = len - off < SOCK_NAME_PIECE ? len - off : SOCK_NAME_PIECE;
        memcpy(ev.text, name + off, n);
        off += n;
        run_queue_reading(r, &ev);
    } while (n == SOCK_NAME_PIECE);
}

/* Publish object id's entry when it differs from what the model was last told (id: the
 * table index, trusted; the object's own id field is a worker's to write). */
static void publish(struct run *r, uint32_t id, struct instr_obj *o, const struct sockdiag_entry *e,
                    uint64_t t)
{
    struct ev info = info_event(id, o, e, t);
    struct ev *last = &r->sock_last[id];
    r->sock_ino[id] = e ? e->inode : 0;
    const struct model_obj *mo = model_obj(&r->model, id);
    int model_agrees = mo && (!e || mo->tcp_state == e->state); /* the probes may have moved it */
    int renamed = e && e->family == AF_UNIX && mo && strcmp(mo->lname, e->name) != 0;
    if (last->kind == EV_SOCK_INFO && last->val == info.val && last->item == info.item &&
        last->aux == info.aux && last->extra == info.extra && model_agrees && !renamed)
        return;
    int tcp = !o->u.sock.proto || o->u.sock.proto == IPPROTO_TCP;
    int closed = !e && tcp && o->u.sock.state != NET_CLOSE_STATE && o->u.sock.seen;
    if (!e && last->kind != EV_SOCK_INFO && !closed)
        return; /* never in the table yet (not bound): nothing to say */
    /* the transition, for the narration and history */
    if (e && tcp && (e->state != o->u.sock.state || !model_agrees))
        emit_tcp_state(r, id, o, e->state, info.t);
    if (closed) /* gone from the table (or came and went between two looks): closed */
        emit_tcp_state(r, id, o, NET_CLOSE_STATE, info.t);
    if (e)
        o->u.sock.seen = 1;
    if (renamed)
        publish_name(r, id, e->name, info.t);
    *last = info;
    run_queue_reading(r, &info);
}

int (*run_sockets_dump)(int proto, void (*cb)(const struct sockdiag_entry *e, void *arg),
                        void *arg) = sockdiag_dump_proto;

int (*run_sockets_dump_unix)(void (*cb)(const struct sockdiag_entry *e, void *arg),
                             void *arg) = sockdiag_dump_unix;

/* One look at the kernel's TCP, UDP and (when the run has Unix sockets) Unix tables into t;
 * 0, or -errno when TCP's failed. */
static int take_table(struct sock_table *t, int unixd)
{
    t->n = 0;
    t->t = loop_now_ns();
    int rc = run_sockets_dump(IPPROTO_TCP, collect_socket, t);
    if (rc < 0)
        return rc;
    run_sockets_dump(IPPROTO_UDP, collect_socket, t); /* no UDP diag: TCP only */
    if (unixd)
        run_sockets_dump_unix(collect_socket, t); /* no unix_diag: not in the table */
    return 0;
}

/* Whether the model was last told that socket id is in the kernel's table. */
static int was_in_table(const struct run *r, uint32_t id)
{
    return r->sock_last[id].kind == EV_SOCK_INFO && r->sock_last[id].val != 0;
}

void run_sample_sockets(struct run *r)
{
    uint32_t nobjs = atomic_load(&r->sh->nobjs);
    int any = 0;
    for (uint32_t i = 0; i < nobjs && i < INSTR_MAX_OBJS && !any; i++)
        any = r->sh->objs[i].kind == OK_SOCKET;
    if (!any)
        return;
    static struct sock_filter keep;
    static struct sock_table t = {.keep = &keep}, again = {.keep = &keep};
    int looked_again = 0, unixd = 0;
    memset(&keep, 0, sizeof(keep));
    for (uint32_t i = 0; i < nobjs && i < INSTR_MAX_OBJS; i++) {
        const struct instr_obj *o = &r->sh->objs[i];
        if (o->kind != OK_SOCKET)
            continue;
        if (o->u.sock.lport)
            set_bit(keep.port, o->u.sock.lport);
        unixd |= o->u.sock.proto == SOCKDIAG_PROTO_UNIX;
        if (o->u.sock.inode)
            set_bit(keep.inode, o->u.sock.inode);
        if (o->u.sock.inode2)
            set_bit(keep.inode, o->u.sock.inode2);
    }
    if (take_table(&t, unixd) < 0)
        return;
    r->look_end_ns = loop_now_ns(); /* a reading is of some moment since t.t, up to this */
    for (uint32_t i = 0; i < nobjs && i < INSTR_MAX_OBJS; i++) {
        struct instr_obj *o = &r->sh->objs[i];
        if (o->kind != OK_SOCKET)
            continue;
        const struct sockdiag_entry *e = find_entry(&t, o);
        uint64_t stamp = t.t;
        if (!e && (was_in_table(r, i) || o->u.sock.seen)) { /* gone, or was it moving? */
            if (!looked_again && take_table(&again, unixd) < 0)
                again.n = 0; /* no second look: gone, as the first said */
            looked_again = 1;
            e = find_entry(&again, o);
            stamp = again.t;
            r->look_end_ns = loop_now_ns();
        }
        struct sockdiag_entry both;
        if (e && o->u.sock.pair) { /* one object for both ends: what either end may read */
            both = *e;
            both.rqueue +=
                peer_rqueue(looked_again && e >= again.e && e < again.e + again.n ? &again : &t, e);
            e = &both;
        }
        publish(r, i, o, e, stamp);
    }
}

int run_socket_lingering_state(uint16_t lport, uint16_t rport)
{
    struct sockdiag_entry e;
    if (sockdiag_find(lport, rport, &e) < 0 || e.inode)
        return -1;
    return e.state;
}
