/*
 * run_sockets.c - socket objects followed through sock_diag: TCP states without privileges,
 * and TIME_WAIT, which the probes never report.
 */
#define _GNU_SOURCE
#include "run.h"
#include "run_int.h"

#include "sources/sockdiag.h"

#include <stdio.h>

/* ---- sock_diag: TCP states without privileges (and TIME_WAIT, which bpf never reports) ---- */

#define SOCKDIAG_MAX 512
#define TCP_CLOSE_STATE 7

struct sock_table {
    struct sockdiag_entry e[SOCKDIAG_MAX];
    size_t n;
};

static void collect_socket(const struct sockdiag_entry *e, void *arg)
{
    struct sock_table *t = arg;
    if (t->n < SOCKDIAG_MAX)
        t->e[t->n++] = *e;
}

static const struct sockdiag_entry *find_socket(const struct sock_table *t, uint16_t lport,
                                                uint16_t rport)
{
    const struct sockdiag_entry *found = NULL;
    for (size_t i = 0; i < t->n; i++) {
        const struct sockdiag_entry *e = &t->e[i];
        if (e->sport != lport || e->dport != rport)
            continue;
        if (!found || found->state == 6 /* TIME_WAIT: a live one wins */)
            found = e;
    }
    return found;
}

static void emit_tcp_state(struct run *r, uint32_t id, struct instr_obj *o, int state)
{
    struct ev e = {.t = loop_now_ns(),
                   .kind = EV_TCP_STATE,
                   .src = EV_SRC_PROCFS,
                   .task = EV_NO_TASK,
                   .obj = id, /* the table index: the id field is a worker's to write */
                   .seq = atomic_fetch_add(&o->seq, 1),
                   .val = state,
                   .item = o->u.sock.state};
    o->u.sock.state = state;
    run_apply(r, &e);
}

void run_sample_sockets(struct run *r)
{
    uint32_t nobjs = atomic_load(&r->sh->nobjs);
    int any = 0;
    for (uint32_t i = 0; i < nobjs && i < INSTR_MAX_OBJS && !any; i++)
        any = r->sh->objs[i].kind == OK_SOCKET && r->sh->objs[i].u.sock.lport;
    if (!any)
        return;
    static struct sock_table table;
    table.n = 0;
    if (sockdiag_dump(collect_socket, &table) < 0)
        return;
    for (uint32_t i = 0; i < nobjs && i < INSTR_MAX_OBJS; i++) {
        struct instr_obj *o = &r->sh->objs[i];
        if (o->kind != OK_SOCKET || !o->u.sock.lport)
            continue;
        const struct sockdiag_entry *e = find_socket(&table, o->u.sock.lport, o->u.sock.rport);
        int state = e ? e->state : (o->u.sock.seen ? TCP_CLOSE_STATE : -1);
        if (e)
            o->u.sock.seen = 1;
        if (state >= 0 && state != o->u.sock.state)
            emit_tcp_state(r, i, o, state);
    }
}
