/*
 * message_queue.c - senders and receivers on a POSIX message queue (chapter 6).
 *
 * The queue holds at most maxmsg messages; its depth comes from mq_getattr. Receivers start
 * late, so senders fill the queue and block in mq_send; later receivers block in mq_receive
 * while it is empty. The queue has a unique name (/ipcscope-<pid>-queue) that is unlinked as
 * soon as every worker holds it open (descriptors are inherited over fork), so nothing can
 * leak; the last sender tells each receiver to stop.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MQ_MSGSIZE 64
#define MQ_STOP (-1)

struct mq_shared {
    long senders, receivers, msgs, maxmsg, recv_delay_ms, recv_ms, pause_ms;
    mqd_t q;
    char path[64];
    struct instr_obj *obj;
    _Atomic int senders_done;
    _Atomic long sent, received, max_depth, full_blocks, empty_blocks;
    _Atomic int unlinked;
};

static struct mq_shared *S;

static const struct scenario_param params[] = {
    {"senders", "sender processes", "发送进程数", 1, 8, 2},
    {"receivers", "receiver processes", "接收进程数", 1, 8, 1},
    {"msgs", "messages per sender", "每个发送者的消息数", 1, 10000, 6},
    {"maxmsg", "queue capacity (mq_maxmsg)", "队列容量 (mq_maxmsg)", 1, 10, 3},
    {"recv_delay_ms", "how late the receivers start", "接收者延迟开始的毫秒数", 0, 60000, 400},
    {"recv_ms", "receiver's pause between messages", "接收者每条消息之间的停顿毫秒数", 0, 10000,
     30},
    {"pause_ms", "senders' pause halfway (the queue runs empty)",
     "发送者中途停顿的毫秒数(队列会变空)", 0, 60000, 400},
};

static void track_depth(void)
{
    long d = ipc_mq_depth(S->q);
    if (d > atomic_load(&S->max_depth))
        atomic_store(&S->max_depth, d);
}

static int send_one(long id)
{
    char msg[MQ_MSGSIZE];
    long was_full = -1;
    int len = snprintf(msg, sizeof(msg), "%ld", id);
    int rc = ipc_mq_send(S->obj, S->q, msg, (size_t)len + 1, id, &was_full);
    if (was_full >= 0)
        atomic_fetch_add(&S->full_blocks, 1);
    track_depth();
    return rc;
}

static int sender(void *arg)
{
    long k = (long)(intptr_t)arg;
    ipc_set_comm("mq-sender");
    for (long i = 0; i < S->msgs && !ipc_stopping(); i++) {
        if (i == S->msgs / 2)
            sclock_sleep(S->pause_ms, 0, "the senders' pause"); /* receivers empty it */
        if (send_one(k * 100000 + i + 1) < 0)
            return 1;
        atomic_fetch_add(&S->sent, 1);
    }
    if (atomic_fetch_add(&S->senders_done, 1) + 1 == S->senders)
        for (long r = 0; r < S->receivers; r++)
            send_one(MQ_STOP); /* the last sender tells every receiver to stop */
    return 0;
}

static int receiver(void *arg)
{
    (void)arg;
    char buf[MQ_MSGSIZE + 1];
    ipc_set_comm("mq-receiver");
    sclock_sleep(S->recv_delay_ms, 0, "receivers start late");
    for (;;) {
        int64_t id = 0;
        if (ipc_mq_depth(S->q) == 0)
            atomic_fetch_add(&S->empty_blocks, 1);
        if (ipc_mq_recv(S->obj, S->q, buf, sizeof(buf), &id) < 0 || id == MQ_STOP)
            break;
        atomic_fetch_add(&S->received, 1);
        if (sclock_sleep(S->recv_ms, 0, "between messages") < 0)
            break;
    }
    return 0;
}

static int spawn_all(char *err, size_t n)
{
    int rc = ipc_fork_n("sender", S->senders, sender, err, n);
    return rc < 0 ? rc : ipc_fork_n("receiver", S->receivers, receiver, err, n);
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "senders") + scn_param(ctx, "receivers") + 8);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->senders = scn_param(ctx, "senders");
    S->receivers = scn_param(ctx, "receivers");
    S->msgs = scn_param(ctx, "msgs");
    S->maxmsg = scn_param(ctx, "maxmsg");
    S->recv_delay_ms = scn_param(ctx, "recv_delay_ms");
    S->recv_ms = scn_param(ctx, "recv_ms");
    S->pause_ms = scn_param(ctx, "pause_ms");
    S->q = ipc_mq_create("queue", S->maxmsg, MQ_MSGSIZE, S->path, sizeof(S->path));
    if (S->q == (mqd_t)-1) {
        int e = errno;
        char why[256];
        snprintf(err, n, "cannot create the message queue: %s",
                 ipc_mq_why(e, S->maxmsg, MQ_MSGSIZE, why, sizeof(why)));
        return -e;
    }
    S->obj = ipc_mq_obj("queue", S->maxmsg);
    int rc = S->obj ? spawn_all(err, n) : -ENOMEM;
    /* every worker now holds the queue open: the name is no longer needed */
    if (mq_unlink(S->path) == 0)
        atomic_store(&S->unlinked, 1);
    mq_close(S->q); /* the conductor's own descriptor */
    return rc;
}

static int act_slow(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    S->recv_ms = 1000;
    snprintf(msg, n, "receivers now take one message a second: the queue fills");
    return 0;
}

static int act_fast(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    S->recv_ms = 0;
    snprintf(msg, n, "receivers take messages as fast as they can: the queue drains");
    return 0;
}

/* The lesson's result, pinned at the end over the exit lines. */
static void pin_result(struct scn_ctx *ctx)
{
    int zh = ctx->lang == LANG_ZH;
    long full = atomic_load(&S->full_blocks), empty = atomic_load(&S->empty_blocks);
    if (zh)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 "队列最多容纳 %ld 条消息:队列满时发送者在 mq_send 中阻塞了 %ld 次,队列空时接收者"
                 "在 mq_receive 中阻塞了 %ld 次;收到 %ld 条,发出 %ld 条。",
                 S->maxmsg, full, empty, atomic_load(&S->received), atomic_load(&S->sent));
    else
        snprintf(ctx->pin, sizeof(ctx->pin),
                 "The queue holds at most %ld messages: senders blocked in mq_send %ld time%s "
                 "while it was full, receivers in mq_receive %ld time%s while it was empty; %ld "
                 "of %ld messages received.",
                 S->maxmsg, full, full == 1 ? "" : "s", empty, empty == 1 ? "" : "s",
                 atomic_load(&S->received), atomic_load(&S->sent));
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)m;
    pin_result(ctx);
    if (atomic_load(&S->received) != S->senders * S->msgs) {
        snprintf(why, n, "%ld of %ld messages received", atomic_load(&S->received),
                 S->senders * S->msgs);
        return -1;
    }
    if (atomic_load(&S->max_depth) > S->maxmsg) {
        snprintf(why, n, "depth %ld exceeded maxmsg %ld", atomic_load(&S->max_depth), S->maxmsg);
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    json_object_set_new(out, "mq_name", json_string(S->path));
    json_object_set_new(out, "maxmsg", json_integer(S->maxmsg));
    json_object_set_new(out, "sent", json_integer(atomic_load(&S->sent)));
    json_object_set_new(out, "received", json_integer(atomic_load(&S->received)));
    json_object_set_new(out, "max_depth", json_integer(atomic_load(&S->max_depth)));
    json_object_set_new(out, "sender_blocks_full", json_integer(atomic_load(&S->full_blocks)));
    json_object_set_new(out, "receiver_blocks_empty", json_integer(atomic_load(&S->empty_blocks)));
    json_object_set_new(out, "unlinked", json_boolean(atomic_load(&S->unlinked)));
    long depth = 0;
    for (size_t i = 0; i < m->nobjs; i++)
        if (m->objs[i].live && m->objs[i].kind == OK_MQ)
            depth = (long)m->objs[i].value;
    int zh = ctx->lang == LANG_ZH;
    /* short texts: a meter is one line under the objects (35 columns at 80x24) */
    const char *state = depth >= S->maxmsg ? (zh ? "满" : "full")
                        : depth == 0       ? (zh ? "空" : "empty")
                                           : "";
    scn_meter(out, zh ? "队列长度" : "qsize", (double)depth, (double)S->maxmsg,
              zh ? "%ld / %ld 条%s%s" : "%ld of %ld%s%s", depth, S->maxmsg,
              !*state ? ""
              : zh    ? "，"
                      : ", ",
              state);
    long sent = atomic_load(&S->sent), received = atomic_load(&S->received);
    scn_meter(out, zh ? "已接收" : "received", (double)received, sent ? (double)sent : 1,
              zh ? "%ld / 已发送 %ld" : "%ld of %ld sent", received, sent);
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const char *who = ipc_ev_task_name(m, e);
    int zh = lang == LANG_ZH;
    if (e->kind == EV_BLOCK && e->aux > 0) { /* aux: the depth mq_getattr showed */
        snprintf(buf, n,
                 zh ? "队列已满(%lld 条消息,mq_getattr):%s 在 mq_send 中阻塞,直到有人取走一条。"
                    : "The queue is full (%lld messages, says mq_getattr): %s blocks in mq_send "
                      "until someone takes one.",
                 (long long)e->aux, who);
        return 1;
    }
    if (e->kind == EV_BLOCK) {
        snprintf(buf, n,
                 zh ? "队列是空的:%s 在 mq_receive 中阻塞,直到有消息到来。"
                    : "The queue is empty: %s blocks in mq_receive until a message arrives.",
                 who);
        return 1;
    }
    if (e->kind == EV_MQ_SEND || e->kind == EV_MQ_RECV) {
        int send = e->kind == EV_MQ_SEND;
        if (e->item == MQ_STOP)
            snprintf(buf, n,
                     zh ? "%s %s停止消息;队列深度 %lld。" : "%s %s a stop message; depth %lld.",
                     who, zh ? (send ? "发送" : "收到") : (send ? "sent" : "received"),
                     (long long)e->val);
        else
            snprintf(buf, n,
                     zh ? "%s %s消息 #%lld;队列深度现在是 %lld。"
                        : "%s %s message #%lld; the queue depth is now %lld.",
                     who, zh ? (send ? "发送了" : "收到了") : (send ? "sent" : "received"),
                     (long long)e->item, (long long)e->val);
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'s', "slow receivers (1 message/s)", "接收者变慢(每秒一条)", act_slow},
    {'f', "fast receivers", "接收者全速", act_fast},
};

const struct scenario scenario_message_queue = {
    .id = "message-queue",
    .chapter = 6,
    .title_en = "POSIX message queue",
    .title_zh = "POSIX 消息队列",
    .summary_en = "Sender and receiver processes share a POSIX message queue that holds at most "
                  "maxmsg messages; its depth is read with mq_getattr. Receivers start late, so "
                  "senders fill the queue and block in mq_send; later the receivers block in "
                  "mq_receive while it is empty. The queue's name is unlinked as soon as every "
                  "process has it open, so it cannot outlive the run.",
    .summary_zh = "发送进程和接收进程共享一个 POSIX 消息队列,最多容纳 maxmsg 条消息,深度由 "
                  "mq_getattr 读出。接收者晚些开始,发送者把队列塞满后在 mq_send 中阻塞;之后队列"
                  "为空时接收者在 mq_receive 中阻塞。所有进程打开队列后立即删除它的名字"
                  "(mq_unlink),所以它不会在运行结束后残留。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct mq_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
