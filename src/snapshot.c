/*
 * snapshot.c - tasks and objects as JSON.
 *
 * Every object kind adds the fields that describe it (queue: depth, capacity, max_depth;
 * pipe: bytes, capacity; socket: its ends and state as ss shows them), per the snapshot
 * contract.
 */
#include "snapshot.h"

#include "sources/sockdiag.h"

#include <stdio.h>

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

json_t *snapshot_task(const struct model *m, const struct model_task *t, uint64_t now)
{
    json_t *o =
        json_pack("{s:s, s:i, s:i, s:i, s:s, s:s}", "name", t->name, "pid", t->pid, "tid", t->tid,
                  "ppid", t->ppid, "kind", t->kind == TK_THREAD ? "thread" : "process", "state",
                  task_state_name(t->state));
    if (t->has_exit)
        json_object_set_new(o, "exit_status", json_integer(t->exit_status));
    if (t->kind == TK_THREAD && t->state == TS_REAPED)
        json_object_set_new(o, "ended",
                            json_string(t->reap_how == REAP_JOIN ? "joined" : "with_process"));
    char label[80];
    model_blocked_label(m, t, label, sizeof(label));
    if (t->state == TS_BLOCKED && label[0])
        json_object_set_new(o, "blocked_on", json_string(label));
    if (t->orig_ppid && t->orig_ppid != t->ppid)
        json_object_set_new(o, "orig_ppid", json_integer(t->orig_ppid));

    /* time in each state, including the interval still open */
    uint64_t times[4];
    model_task_times(t, now, times);
    uint64_t run = times[0], ready = times[1], blocked = times[2], gate = times[3];
    json_object_set_new(o, "run_ms", json_real(ms(run)));
    json_object_set_new(o, "ready_ms", json_real(ms(ready)));
    json_object_set_new(o, "blocked_ms", json_real(ms(blocked)));
    json_object_set_new(o, "gate_ms", json_real(ms(gate)));
    if (t->kernel_state == TS__COUNT && t->ks_at) /* no switch events: the kernel's totals */
        json_object_set_new(o, "times_from", json_string("schedstat"));
    if (t->state == TS_GATE) {
        const char *k = ev_kind_name(t->gate_kind);
        const struct model_obj *go = t->gate_obj < m->nobjs ? &m->objs[t->gate_obj] : NULL;
        char what[96];
        snprintf(what, sizeof(what), "%s%s%s", k ? k : "?", go ? ":" : "", go ? go->name : "");
        json_object_set_new(o, "gate_action", json_string(what));
    }
    json_object_set_new(o, "switches", json_integer((json_int_t)t->switches));
    json_object_set_new(o, "actions", json_integer((json_int_t)t->actions));
    if (t->t_exit && t->kind == TK_PROCESS) {
        uint64_t end = t->t_reaped ? t->t_reaped : now;
        json_object_set_new(o, "zombie_ms", json_real(ms(end > t->t_exit ? end - t->t_exit : 0)));
    }
    if (t->wchan[0])
        json_object_set_new(o, "wchan", json_string(t->wchan));
    if (t->state == TS_REAPED && t->reap_src) {
        json_t *by = json_array();
        for (unsigned s = 0; s < 3; s++)
            if (t->reap_src & (1u << s))
                json_array_append_new(by, json_string(ev_src_name(s)));
        json_object_set_new(o, "reap_seen_by", by);
    }
    if (t->sig_sent || t->sig_delivered) {
        json_object_set_new(o, "signals_sent", json_integer((json_int_t)t->sig_sent));
        json_object_set_new(o, "signals_delivered", json_integer((json_int_t)t->sig_delivered));
    }
    return o;
}

/* "127.0.0.1:5000" (port 0: "*" as ss prints an unbound or unconnected end) */
static void addr_port(uint32_t addr, uint16_t port, char *buf, size_t n)
{
    if (!port) {
        snprintf(buf, n, "*");
        return;
    }
    snprintf(buf, n, "%u.%u.%u.%u:%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
             addr & 0xff, port);
}

/* A Unix socket's end as ss -x prints it: its name ("*" unnamed) and inode, "/tmp/s.sock
 * 5610210", "* 5610211"; "*" alone when there is no inode (never in the table; no peer). */
static void unix_end(const char *name, uint32_t inode, char *buf, size_t n)
{
    if (!inode)
        snprintf(buf, n, "*");
    else
        snprintf(buf, n, "%s %u", name[0] ? name : "*", inode);
}

void snapshot_socket_ends(const struct model_obj *o, char *local, char *peer, size_t n)
{
    if (o->proto == SOCKDIAG_PROTO_UNIX) {
        unix_end(o->lname, o->linode, local, n);
        unix_end("", o->rinode, peer, n);
    } else {
        addr_port(o->laddr, o->lport, local, n);
        addr_port(o->raddr, o->rport, peer, n);
    }
}

/* ss's word for a socket's state: ESTAB, TIME-WAIT, LISTEN, UNCONN ... */
const char *snapshot_ss_state(int proto, int state)
{
    static const char *const W[] = {
        "?",      "ESTAB",      "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",  "TIME-WAIT",
        "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN",   "CLOSING",    "NEW-SYN-RECV"};
    if (proto == 6 && state == 7)
        return "CLOSE";
    return state >= 0 && state < (int)(sizeof(W) / sizeof(W[0])) ? W[state] : "?";
}

static const char *tcp_state_word(int state)
{
    static const char *const W[] = {
        "?",     "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",    "TIME_WAIT",
        "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV",
    };
    return state >= 0 && state < (int)(sizeof(W) / sizeof(W[0])) ? W[state] : "?";
}

/* A socket as ss shows it: protocol, ends, state, queues (a listener: its accept queue and
 * backlog). in_kernel is false while the kernel's table has no entry (not bound yet, or
 * gone after close). A Unix socket's ends are ss -x's (name and inode), and peer_object
 * names the run's socket at the other end. */
static void snapshot_socket(const struct model *m, const struct model_obj *o, json_t *j)
{
    char local[SNAPSHOT_END_MAX], peer[SNAPSHOT_END_MAX];
    int udp = o->proto == 17, unixd = o->proto == SOCKDIAG_PROTO_UNIX;
    snapshot_socket_ends(o, local, peer, SNAPSHOT_END_MAX);
    json_object_set_new(j, "proto", json_string(unixd ? "unix" : udp ? "udp" : "tcp"));
    json_object_set_new(j, "in_kernel", json_boolean(o->in_kernel));
    json_object_set_new(j, "local", json_string(local));
    json_object_set_new(j, "peer", json_string(peer));
    uint32_t other = unixd ? model_socket_peer(m, (uint32_t)(o - m->objs)) : MODEL_NO_OBJ;
    if (other != MODEL_NO_OBJ)
        json_object_set_new(j, "peer_object", json_string(m->objs[other].name));
    json_object_set_new(j, "state",
                        json_string(o->in_kernel   ? snapshot_ss_state(o->proto, o->tcp_state)
                                    : udp || unixd ? "UNCONN"
                                                   : "CLOSE"));
    if (!udp && !unixd)
        json_object_set_new(j, "tcp_state", json_string(tcp_state_word(o->tcp_state)));
    json_object_set_new(j, "recv_q", json_integer(o->recv_q));
    json_object_set_new(j, "send_q", json_integer(o->send_q));
    if (!udp && o->tcp_state == 10 && o->in_kernel) { /* TCP or Unix: ss's Recv-Q, Send-Q */
        json_object_set_new(j, "accept_queue", json_integer(o->recv_q));
        json_object_set_new(j, "backlog", json_integer(o->send_q));
    }
}

/* The fields of the kinds `ipcscope exec` adds, and its flags. */
static void exec_object_fields(json_t *j, const struct model *m, const struct model_obj *o)
{
    json_t *holder = o->holder < m->ntasks ? json_string(m->tasks[o->holder].name) : json_null();
    switch (o->kind) {
    case OK_RWLOCK:
        json_object_set_new(j, "readers", json_integer(o->value));
        json_object_set_new(j, "writer", holder);
        holder = NULL;
        break;
    case OK_BARRIER:
        json_object_set_new(j, "arrived", json_integer(o->value));
        json_object_set_new(j, "needed", json_integer(o->capacity));
        break;
    case OK_SPINLOCK:
        json_object_set_new(j, "holder", holder);
        holder = NULL;
        break;
    case OK_SHM:
        if (!(o->flags & MODEL_OBJ_SIZED))
            break; /* a scenario's shared variable: its value is the value */
        json_object_set_new(j, "size", json_integer(o->value));
        json_object_set_new(j, "mappings", json_integer(o->users));
        break;
    default:
        break;
    }
    json_decref(holder);
    if (o->flags & OBJF_SYSV)
        json_object_set_new(j, "sysv", json_true());
    if (o->flags & MODEL_OBJ_UNLINKED)
        json_object_set_new(j, "unlinked", json_true());
}

json_t *snapshot_object(const struct model *m, const struct model_obj *o)
{
    json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "kind", obj_kind_name(o->kind), "name",
                          o->name, "value", (json_int_t)o->value, "min", (json_int_t)o->min, "max",
                          (json_int_t)o->max, "ops", (json_int_t)o->ops);
    switch (o->kind) {
    case OK_SEMAPHORE:
        json_object_set_new(j, "initial", json_integer(o->init));
        if (o->capacity)
            json_object_set_new(j, "bound", json_integer(o->capacity));
        break;
    case OK_QUEUE:
    case OK_MQ:
        json_object_set_new(j, "depth", json_integer(o->value));
        json_object_set_new(j, "capacity", json_integer(o->capacity));
        json_object_set_new(j, "max_depth", json_integer(o->max));
        break;
    case OK_PIPE:
        json_object_set_new(j, "bytes", json_integer(o->value));
        json_object_set_new(j, "capacity", json_integer(o->capacity));
        json_object_set_new(j, "max_bytes", json_integer(o->max));
        break;
    case OK_MUTEX:
        json_object_set_new(j, "holder",
                            o->holder < m->ntasks ? json_string(m->tasks[o->holder].name)
                                                  : json_null());
        break;
    case OK_SOCKET:
        snapshot_socket(m, o, j);
        break;
    default:
        if (o->capacity)
            json_object_set_new(j, "capacity", json_integer(o->capacity));
        break;
    }
    exec_object_fields(j, m, o);
    uint32_t w[64];
    size_t nw = model_waiters(m, (uint32_t)(o - m->objs), w, 64);
    json_t *waiting = json_array();
    for (size_t i = 0; i < nw && i < 64; i++)
        json_array_append_new(waiting, json_string(m->tasks[w[i]].name));
    json_object_set_new(j, "waiting", waiting);
    if (o->seq_gaps)
        json_object_set_new(j, "seq_gaps", json_integer((json_int_t)o->seq_gaps));
    return j;
}

void snapshot_fill(json_t *out, const struct model *m, uint64_t now)
{
    json_object_set_new(
        out, "events",
        json_pack("{s:I, s:I}", "total", (json_int_t)m->total, "dropped", (json_int_t)m->dropped));
    json_t *tasks = json_array();
    for (size_t i = 0; i < m->ntasks; i++)
        json_array_append_new(tasks, snapshot_task(m, &m->tasks[i], now));
    json_object_set_new(out, "tasks", tasks);
    json_t *objs = json_array();
    for (size_t i = 0; i < m->nobjs; i++)
        if (m->objs[i].live)
            json_array_append_new(objs, snapshot_object(m, &m->objs[i]));
    json_object_set_new(out, "objects", objs);
}
