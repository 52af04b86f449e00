/*
 * socketserver.c - a handler per client, as Python's ForkingTCPServer and ThreadingTCPServer
 * do (chapter 11).
 *
 * Two scenarios share this file: forking-server (the server forks a handler process per
 * accepted connection; the child closes the listener, the parent closes its copy of the
 * connection and reaps finished handlers) and threading-server (a handler thread per
 * connection, joined at the end). Clients overlap, so several handlers run at once; the
 * number of clients is bounded by a parameter. At the end the server waits for its handlers
 * (waitpid or join): a condition, never a timer. Snapshot keys: port, handler_kind, handlers
 * (distinct pids or tids), handled, echoed_ok, max_concurrent_handlers, reaped, handler_ids.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../instr_net.h"
#include "../instr_sync.h"
#include "../scenario.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SS_MAX 16

struct ss_shared {
    int threads; /* 0 forking, 1 threading */
    long clients, messages, gap_ms;
    _Atomic int port, accepted, handled, echoed_ok, active, max_active, reaped;
    struct net_clients cl; /* the clients to accept (the 'c' key adds one) */
    _Atomic int32_t handler_pids[SS_MAX], handler_tids[SS_MAX];
};

static struct ss_shared *S;

static const struct scenario_param params[] = {
    {"clients", "clients (one handler each)", "客户端数(每个一个处理者)", 1, SS_MAX, 3},
    {"messages", "lines each client sends", "每个客户端发送的行数", 1, 20, 3},
    {"gap_ms", "pause between a client's lines", "客户端每行之间的停顿毫秒数", 0, 5000, 100},
    {"extra", "clients the 'c' key adds at start (headless tests)", "开始时按 'c' 增加的客户端数",
     0, 4, 0},
};

struct ss_job {
    struct net_sock conn, listener;
    int k;
};

/* The handler: StreamRequestHandler.handle() - echo until the client closes. */
static void handle(struct ss_job *j)
{
    int now = atomic_fetch_add(&S->active, 1) + 1;
    for (int m = atomic_load(&S->max_active); now > m;)
        if (atomic_compare_exchange_weak(&S->max_active, &m, now))
            break;
    atomic_store(&S->handler_pids[j->k], getpid());
    atomic_store(&S->handler_tids[j->k], gettid());
    if (net_echo_handle(&j->conn) >= 0)
        atomic_fetch_add(&S->handled, 1);
    net_close(&j->conn);
    atomic_fetch_sub(&S->active, 1);
}

static int handler_process(void *arg)
{
    struct ss_job *j = arg;
    close(j->listener.fd); /* the child needs only its connection */
    handle(j);
    return 0;
}

static void *handler_thread(void *arg)
{
    handle(arg);
    return NULL;
}

/* The handlers not reaped yet, as the value of the server's "handlers" object. */
static void count_handlers(struct instr_obj *kids, int alive)
{
    if (kids)
        instr_op(kids, EV_VAR, alive, 0, 0);
}

static void reaped_one(struct instr_obj *kids, pid_t pid, int status, int *alive)
{
    ipc_emit_reaped(pid, status, getpid());
    atomic_fetch_add(&S->reaped, 1);
    count_handlers(kids, --*alive);
}

/* After each accept, as ForkingTCPServer.collect_children does: reap the handlers that have
 * finished, without waiting for the others. */
static void reap_finished(struct instr_obj *kids, int *alive)
{
    int status;
    pid_t pid;
    while (*alive > 0 && (pid = waitpid(-1, &status, WNOHANG)) > 0)
        reaped_one(kids, pid, status, alive);
}

/* At the end: wait for every handler still running (blocked on "handlers" in waitpid until
 * one exits: a condition, never a timer), one step per reap. */
static void reap_all(struct instr_obj *kids, int *alive)
{
    while (*alive > 0) {
        /* the call by its name: "a blocking call on handlers" said nothing of waitpid */
        instr_gate_label(EV_BLOCK, kids ? kids->id : EV_NO_OBJ, "waitpid(-1)");
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid == 0) {
            if (kids)
                instr_block(kids, 0);
            while ((pid = waitpid(-1, &status, 0)) < 0 && errno == EINTR)
                ;
            if (kids)
                instr_unblock(kids);
        }
        if (pid <= 0)
            return; /* ECHILD: nobody left to wait for */
        reaped_one(kids, pid, status, alive);
    }
}

/* Start the handler for jobs[k]: a thread, or a process (then the parent closes its copy of
 * the connection). 0 or -1. */
static int start_handler(struct ss_job *j, pthread_t *th, struct instr_obj *kids, int *alive)
{
    char name[INSTR_NAME_MAX];
    snprintf(name, sizeof(name), "handler-%d", j->k + 1);
    if (S->threads)
        return instr_thread_spawn(th, name, handler_thread, j) == 0 ? 0 : -1;
    if (instr_spawn(name, handler_process, j, 0) < 0)
        return -1;
    count_handlers(kids, ++*alive);
    close(j->conn.fd); /* the parent's copy: the child serves it */
    j->conn.fd = -1;
    instr_note("parent closes its conn-%d", j->k + 1);
    reap_finished(kids, alive);
    return 0;
}

/* The handler threads not joined yet, as the value of the server's "join" object. */
static void count_unjoined(struct instr_obj *kids, int64_t left)
{
    if (!kids)
        return;
    kids->value = left;
    instr_op(kids, EV_OBJ_SET, left, 0, 0);
}

static int server(void *arg)
{
    (void)arg;
    ipc_set_comm("server"); /* as the task is named on screen, so ps -o comm agrees */
    static struct ss_job jobs[SS_MAX];
    pthread_t th[SS_MAX];
    struct net_sock ls;
    struct instr_obj *kids = S->threads ? instr_obj_new("join", OK_PROCESS, 0, 0)
                                        : instr_obj_new("handlers", OK_PROCESS, 0, 0);
    if (net_socket(&ls, "listener", SOCK_STREAM) < 0 || net_bind(&ls, 0) < 0 ||
        net_listen(&ls, 5) < 0)
        return 1;
    net_flag_set(&S->port, ls.lport);
    int k = 0, alive = 0;
    for (; k < atomic_load(&S->cl.target) && k < SS_MAX; k++) {
        char name[INSTR_NAME_MAX];
        snprintf(name, sizeof(name), "conn-%d", k + 1);
        if (net_accept(&ls, &jobs[k].conn, name) < 0)
            break;
        atomic_fetch_add(&S->accepted, 1);
        jobs[k].listener = ls;
        jobs[k].k = k;
        if (start_handler(&jobs[k], &th[k], kids, &alive) < 0)
            break;
        if (S->threads)
            count_unjoined(kids, k + 1);
    }
    net_close(&ls);
    for (int i = 0; S->threads && i < k; i++) {
        if (kids) {
            sync_join(kids, th[i], atomic_load(&S->handler_tids[i]));
            count_unjoined(kids, kids->value);
        } else
            pthread_join(th[i], NULL);
    }
    if (!S->threads)
        reap_all(kids, &alive);
    return 0;
}

static int client(void *arg)
{
    int idx = (int)(intptr_t)arg;
    return net_echo_client_run(&S->port, idx, 20 * idx, S->messages, S->gap_ms, &S->echoed_ok);
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    (void)ctx;
    return (uint32_t)(2 * SS_MAX + 16);
}

/* The 'c' action: one more client, so one more handler. */
static int act_add_client(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    if (atomic_load(&S->accepted) >= atomic_load(&S->cl.target)) {
        snprintf(msg, n, "the server has stopped accepting");
        return -ESRCH;
    }
    int rc = net_client_spawn(&S->cl, 0, msg, n);
    if (rc == 0)
        snprintf(msg, n, "client-%d connects: the server starts one more handler for it",
                 atomic_load(&S->cl.started));
    return rc;
}

static int setup_kind(struct scn_ctx *ctx, int threads, char *err, size_t n)
{
    S = ctx->shared;
    S->threads = threads;
    S->clients = scn_param(ctx, "clients");
    S->messages = scn_param(ctx, "messages");
    S->gap_ms = scn_param(ctx, "gap_ms");
    long all = S->clients + scn_param(ctx, "extra");
    if (all > SS_MAX) {
        snprintf(err, n, "clients + extra: at most %d", SS_MAX);
        return -EINVAL;
    }
    S->cl.max = SS_MAX;
    S->cl.fn = client;
    return net_server_start(&S->cl, server, all, err, n);
}

static int setup_forking(struct scn_ctx *c, char *e, size_t n)
{
    return setup_kind(c, 0, e, n);
}

static int setup_threading(struct scn_ctx *c, char *e, size_t n)
{
    return setup_kind(c, 1, e, n);
}

static int distinct_handlers(void)
{
    int d = 0;
    for (int i = 0; i < atomic_load(&S->cl.target) && i < SS_MAX; i++) {
        int32_t id =
            S->threads ? atomic_load(&S->handler_tids[i]) : atomic_load(&S->handler_pids[i]);
        int dup = id == 0;
        for (int j = 0; j < i && !dup; j++)
            dup = id == (S->threads ? atomic_load(&S->handler_tids[j])
                                    : atomic_load(&S->handler_pids[j]));
        d += !dup;
    }
    return d;
}

static void pin_update(struct scn_ctx *ctx);

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    pin_update(ctx); /* the final numbers, also when the run ended between two polls */
    if (scn_workers_ended_well(m, why, n) < 0)
        return -1;
    int want = atomic_load(&S->cl.target);
    if (atomic_load(&S->handled) != want) {
        snprintf(why, n, "%d of %d clients were handled", atomic_load(&S->handled), want);
        return -1;
    }
    if (atomic_load(&S->echoed_ok) != want * S->messages) {
        snprintf(why, n, "%d of %ld lines came back", atomic_load(&S->echoed_ok),
                 want * S->messages);
        return -1;
    }
    if (distinct_handlers() != want) {
        snprintf(why, n, "%d distinct handlers for %d clients", distinct_handlers(), want);
        return -1;
    }
    if (!S->threads && atomic_load(&S->reaped) != want) {
        snprintf(why, n, "the server reaped %d of %d handlers", atomic_load(&S->reaped), want);
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_object_set_new(out, "port", json_integer(atomic_load(&S->port)));
    json_object_set_new(out, "handler_kind", json_string(S->threads ? "thread" : "process"));
    json_object_set_new(out, "handlers", json_integer(distinct_handlers()));
    json_object_set_new(out, "handled", json_integer(atomic_load(&S->handled)));
    json_object_set_new(out, "echoed_ok", json_integer(atomic_load(&S->echoed_ok)));
    json_object_set_new(out, "max_concurrent_handlers", json_integer(atomic_load(&S->max_active)));
    json_object_set_new(out, "reaped", json_integer(atomic_load(&S->reaped)));
    json_t *ids = json_array();
    for (int i = 0; i < atomic_load(&S->cl.target) && i < SS_MAX; i++)
        json_array_append_new(ids, json_integer(S->threads ? atomic_load(&S->handler_tids[i])
                                                           : atomic_load(&S->handler_pids[i])));
    json_object_set_new(out, "handler_ids", ids);
}

static const char *task_name(const struct model *m, uint32_t idx)
{
    return idx != MODEL_NO_TASK ? m->tasks[idx].name : "?";
}

/* The server's handler bookkeeping: how many handler processes are not reaped yet, and what
 * it waits for at the end (waitpid for a handler process, join for a handler thread). */
static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    const struct model_obj *o = e->obj < m->nobjs ? &m->objs[e->obj] : NULL;
    if (!o || o->kind != OK_PROCESS)
        return net_narrate(m, e, lang, buf, n);
    const char *who = task_name(m, model_task_by_slot(m, e->task));
    if (e->kind == EV_VAR) {
        snprintf(buf, n,
                 zh ? "%s:还有 %lld 个处理进程没有被回收(正在服务,或已结束等待 wait)。"
                    : "%s: %lld handler %s not reaped yet (serving, or finished and "
                      "waiting to be collected).",
                 who, (long long)e->val, e->val == 1 ? "process" : "processes");
        return 1;
    }
    if (e->kind == EV_OBJ_SET) {
        snprintf(buf, n,
                 zh ? "%s:还有 %lld 个处理线程没有被 join(正在服务,或已结束等待 join)。"
                    : "%s: %lld handler %s not joined yet (serving, or finished and "
                      "waiting for join).",
                 who, (long long)e->val, e->val == 1 ? "thread" : "threads");
        return 1;
    }
    if (e->kind == EV_BLOCK && strcmp(o->name, "join") == 0) {
        snprintf(buf, n,
                 zh ? "%s 调用 join() 等待 %s:直到该线程的 handle() 返回才继续。"
                    : "%s calls join() on %s: it waits until that thread's handle() returns.",
                 who, task_name(m, model_task_by_tid(m, (int32_t)e->aux)));
        return 1;
    }
    if (e->kind == EV_BLOCK) {
        snprintf(buf, n,
                 zh ? "%s 在 waitpid() 中等待某个处理进程退出,以便回收它,不留下僵尸。"
                    : "%s waits in waitpid() for a handler process to exit, so that it can reap "
                      "it and leave no zombie.",
                 who);
        return 1;
    }
    return net_narrate(m, e, lang, buf, n);
}

/* The lesson's numbers stay on top of the narration once a handler has started. */
static void pin_update(struct scn_ctx *ctx)
{
    int started = distinct_handlers();
    if (!started)
        return;
    int zh = ctx->lang == LANG_ZH;
    int one = started == 1; /* "1 client, 1 handler thread", never "1 clients" */
    const char *kind = S->threads ? (zh    ? "线程"
                                     : one ? "thread"
                                           : "threads")
                                  : (zh    ? "进程"
                                     : one ? "process"
                                           : "processes");
    const char *clients = atomic_load(&S->accepted) == 1 ? "client" : "clients";
    if (zh && S->threads)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 "%d 个客户端,%d 个处理%s,最多 %d 个同时运行;已处理完 %d 个。",
                 atomic_load(&S->accepted), started, kind, atomic_load(&S->max_active),
                 atomic_load(&S->handled));
    else if (zh)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 "%d 个客户端,%d 个处理%s,最多 %d 个同时运行;已处理完 %d 个,已回收 %d 个。",
                 atomic_load(&S->accepted), started, kind, atomic_load(&S->max_active),
                 atomic_load(&S->handled), atomic_load(&S->reaped));
    else if (S->threads)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 "%d %s, %d handler %s, at most %d at once; %d handled.", atomic_load(&S->accepted),
                 clients, started, kind, atomic_load(&S->max_active), atomic_load(&S->handled));
    else
        snprintf(ctx->pin, sizeof(ctx->pin),
                 "%d %s, %d handler %s, at most %d at once; %d handled, %d reaped.",
                 atomic_load(&S->accepted), clients, started, kind, atomic_load(&S->max_active),
                 atomic_load(&S->handled), atomic_load(&S->reaped));
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    pin_update(ctx);
    return 0;
}

static const struct scenario_action actions[] = {
    {'c', "connect another client", "再连接一个客户端", act_add_client},
};

#define SS_COMMON                                                                                  \
    .chapter = 11, .params = params, .nparams = sizeof(params) / sizeof(params[0]),                \
    .shared_size = sizeof(struct ss_shared), .max_tasks = max_tasks, .check = check,               \
    .snapshot = snapshot, .narrate = narrate, .finished = finished, .actions = actions,            \
    .nactions = sizeof(actions) / sizeof(actions[0])

const struct scenario scenario_forking_server = {
    .id = "forking-server",
    .title_en = "ForkingTCPServer: a process per client",
    .title_zh = "ForkingTCPServer:每个客户端一个进程",
    .summary_en = "The server only accepts; for each connection it forks a handler process "
                  "that runs handle() (echo until the client closes) and exits. The child "
                  "closes its copy of the listener, the parent closes its copy of the "
                  "connection and reaps finished handlers so no zombie is left, as "
                  "socketserver.ForkingTCPServer does.",
    .summary_zh =
        "服务端只负责 accept;每个连接 fork 一个处理进程执行 handle()(回显直到客户端关闭)后"
        "退出。子进程关闭它那份监听套接字,父进程关闭它那份连接套接字并回收结束的子进程,"
        "不留僵尸,与 socketserver.ForkingTCPServer 相同。",
    .setup = setup_forking,
    SS_COMMON,
};

const struct scenario scenario_threading_server = {
    .id = "threading-server",
    .title_en = "ThreadingTCPServer: a thread per client",
    .title_zh = "ThreadingTCPServer:每个客户端一个线程",
    .summary_en = "The same server with a handler thread per connection: the threads share the "
                  "server's memory and descriptors, are cheaper to start than processes, and "
                  "are joined at the end, as socketserver.ThreadingTCPServer does.",
    .summary_zh = "同样的服务端,但每个连接一个处理线程:线程共享服务端的内存和文件描述符,比进程"
                  "启动开销小,最后被 join,与 socketserver.ThreadingTCPServer 相同。",
    .setup = setup_threading,
    SS_COMMON,
};
