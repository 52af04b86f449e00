/*
 * ch6_ipc.c - the lessons of chapter 6 (inter-process communication): prodcons, pipe,
 * message-queue, shared-memory, signals, semaphore.
 *
 * Each lesson gives its roles' code, written from the worker code in src/scenarios/ (every
 * line that performs an action names its event kind and object, and tests/test_code_panel.c
 * checks that a recorded run walks the lines in order), and the questions predict mode asks.
 */
#include "../lesson.h"
#include "../run.h"

#include <limits.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- prodcons ---- */

static const struct lesson_line pc_producer[] = {
    LN("void producer(long k)"),
    LN("{"),
    LFOR("    for (id = k; id < items; id += P) {"),
    LA("        sem_wait(&empty);  /* a free slot */", EV_SEM_WAIT, "empty"),
    LA("        pthread_mutex_lock(&buf);", EV_MUTEX_WAIT, "buf"),
    LA("        put(buffer, id);", EV_QUEUE_PUT, "buffer"),
    LA("        pthread_mutex_unlock(&buf);", EV_MUTEX_RELEASE, "buf"),
    LA("        sem_post(&full);   /* an item more */", EV_SEM_POST, "full"),
    LEND("    }"),
    LN("}"),
};

static const struct lesson_line pc_consumer[] = {
    LN("void consumer(void)"),
    LN("{"),
    LFOR("    while (claims++ < items) {"),
    LA("        sem_wait(&full);   /* an item */", EV_SEM_WAIT, "full"),
    LA("        pthread_mutex_lock(&buf);", EV_MUTEX_WAIT, "buf"),
    LA("        id = get(buffer);", EV_QUEUE_GET, "buffer"),
    LA("        pthread_mutex_unlock(&buf);", EV_MUTEX_RELEASE, "buf"),
    LA("        sem_post(&empty);  /* a free slot */", EV_SEM_POST, "empty"),
    LN("        seen[id]++;"),
    LEND("    }"),
    LN("}"),
};

static const struct lesson_role pc_roles[] = {
    {"producer", "C", pc_producer, COUNT(pc_producer)},
    {"consumer", "C", pc_consumer, COUNT(pc_consumer)},
};

static const struct lesson_q pc_qs[] = {
    {.id = "full-blocks",
     .kind = LQ_BLOCKS,
     .role = "consumer",
     .ev = EV_SEM_WAIT,
     .obj = "full",
     .q_en = "{task} is about to call {call}. full counts the items in the buffer and is "
             "{value} now. What happens?",
     .q_zh = "{task} 即将调用 {call}。full 记录缓冲区中的物品数，现在是 {value}。会发生什么？",
     .why_en = {"full was 0: there is nothing to take, so sem_wait puts {task} to sleep until a "
                "producer posts full.",
                "full was {value}: sem_wait takes one item's token and {task} goes on at once."},
     .why_zh = {"full 为 0：没有物品可取，sem_wait 让 {task} 睡眠，直到生产者对 full 执行 post。",
                "full 为 {value}：sem_wait 拿走一个令牌，{task} 立刻继续。"}},
    {.id = "post-wakes",
     .kind = LQ_WAKES,
     .role = "producer",
     .ev = EV_SEM_POST,
     .obj = "full",
     .when = lesson_when_waiters,
     .q_en = "{task} is about to call {call}; asleep on full: {waiters}. Who gets through?",
     .q_zh = "{task} 即将调用 {call}；{waiters} 正睡在 full 上。谁能继续？",
     .why_en = {"sem_post wakes one sleeper on full, and it takes the new token: {answer}.",
                "Nobody woke: the token stayed on full."},
     .why_zh = {"sem_post 唤醒一个在 full 上睡眠的任务，它拿走新令牌：{answer}。",
                "没有任务被唤醒：令牌留在 full 上。"}},
    {.id = "post-value",
     .kind = LQ_VALUE,
     .role = "producer",
     .ev = EV_SEM_POST,
     .obj = "full",
     .when = lesson_when_waiters,
     .q_en = "full is {value}; asleep on it: {waiters}. {task} calls {call}. What is full right "
             "after?",
     .q_zh = "full 现在是 {value}，{waiters} 正睡在它上面。{task} 调用 {call}。之后 full 是多少？",
     .why_en = {"{answer}: the post adds one, but a sleeper wakes and takes that token at once, so "
                "the value a waiter finds is used up before anyone else sees it.",
                NULL},
     .why_zh = {"{answer}：post 加一，但一个睡眠者立刻醒来拿走这个令牌，所以值马上又被用掉。",
                NULL}},
    {.id = "buf-holder",
     .kind = LQ_HOLDER,
     .ev = EV_MUTEX_RELEASE,
     .obj = "buf",
     .when = lesson_when_waiters,
     .q_en =
         "{task} holds buf; waiting for it: {waiters}. {task} calls {call}. Who holds buf next?",
     .q_zh = "{task} 持有 buf，{waiters} 在等它。{task} 调用 {call}。接下来谁持有 buf？",
     .why_en = {"Unlocking hands buf to a waiter, which returns from pthread_mutex_lock: {answer}.",
                "Nobody took it yet: {answer}."},
     .why_zh = {"解锁把 buf 交给一个等待者，它从 pthread_mutex_lock 返回：{answer}。",
                "还没有人拿到：{answer}。"}},
    {.id = "empty-blocks",
     .kind = LQ_BLOCKS,
     .role = "producer",
     .ev = EV_SEM_WAIT,
     .obj = "empty",
     .when = lesson_when_zero,
     .q_en = "The buffer is full: empty is {value}. {task} calls {call}. What happens?",
     .q_zh = "缓冲区满了：empty 是 {value}。{task} 调用 {call}。会发生什么？",
     .why_en = {"empty counts free slots and was 0: {task} sleeps until a consumer posts empty.",
                "empty was {value}: a slot was free and {task} took it."},
     .why_zh = {"empty 记录空槽位，为 0：{task} 睡眠，直到消费者对 empty 执行 post。",
                "empty 为 {value}：有空槽位，{task} 拿走了它。"}},
};

const struct lesson lesson_prodcons = {"prodcons", pc_roles, COUNT(pc_roles), pc_qs, COUNT(pc_qs)};

/* ---- pipe ---- */

static const struct lesson_line pp_writer[] = {
    LN("close(fds[0]);"),
    LFOR("for (done = 0; done < total; done += n)  {"),
    LA("    write(fds[1], buf, chunk);  /* full: waits */", EV_PIPE_WRITE, "pipe"),
    LEND("}"),
    LO("sleep(pause_ms);  /* the reader drains it */", EV_SLEEP, NULL),
    LA("write(fds[1], \"bye\\n\", 4);", EV_PIPE_WRITE, "pipe"),
    LA("close(fds[1]);    /* the reader: EOF */", EV_PIPE_CLOSE, "pipe"),
};

static const struct lesson_line pp_reader[] = {
    LN("close(fds[1]);"),
    LO("sleep(reader_delay_ms);  /* starts late */", EV_SLEEP, NULL),
    LFOR("for (;;) {"),
    LAB("    n = read(fds[0], buf, size);  /* 0: EOF */", EV_PIPE_READ, "pipe"),
    LO("    sleep(read_ms);", EV_SLEEP, NULL),
    LEND("}"),
    LA("close(fds[0]);", EV_PIPE_CLOSE, "pipe"),
};

static const struct lesson_line pp_end_a[] = {
    LFOR("for (i = 0; i < rounds; i++) {"),
    LA("    send(fd, \"ping i\\n\");", EV_PIPE_WRITE, "a->b"),
    LA("    recv(fd, reply, 64);", EV_PIPE_READ, "b->a"),
    LO("    sleep(read_ms);", EV_SLEEP, NULL),
    LEND("}"),
    LA("shutdown(fd, SHUT_WR);  /* half-close */", EV_PIPE_CLOSE, "a->b"),
    LAR("while (recv(fd, reply, 64) > 0);", EV_PIPE_READ, "b->a"),
    LN("close(fd);"),
};

static const struct lesson_line pp_end_b[] = {
    LFOR("for (;;) {"),
    LAB("    n = recv(fd, msg, 64);  /* 0: EOF */", EV_PIPE_READ, "a->b"),
    LA("    send(fd, \"pong i\\n\");", EV_PIPE_WRITE, "b->a"),
    LEND("}"),
    LA("close(fd);", EV_PIPE_CLOSE, "b->a"),
};

static const struct lesson_role pp_roles[] = {
    {"writer", "C", pp_writer, COUNT(pp_writer)},
    {"reader", "C", pp_reader, COUNT(pp_reader)},
    {"end-a", "C", pp_end_a, COUNT(pp_end_a)},
    {"end-b", "C", pp_end_b, COUNT(pp_end_b)},
};

/* The pipe holds too much for another chunk: the writer would wait. */
static int when_pipe_full(const struct lesson_ctx *c)
{
    return c->o && c->o->capacity > 0 && c->o->value + 1024 > c->o->capacity;
}

/* The pipe is empty. */
static int when_pipe_empty(const struct lesson_ctx *c)
{
    return c->o && c->o->value == 0;
}

static int pipe_fill_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    long cap = c->o && c->o->capacity > 1 ? (long)c->o->capacity : 65536;
    out[0] = (struct lesson_range){0, 0};
    out[1] = (struct lesson_range){1, cap - 1};
    out[2] = (struct lesson_range){cap, cap};
    return 3;
}

static const struct lesson_q pp_qs[] = {
    {.id = "fill-at-first-read",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "writer",
     .ev = EV_PIPE_WRITE,
     .target = "fill_at_first_read",
     .ranges = pipe_fill_ranges,
     .q_en = "The writer starts writing chunks into the pipe, whose capacity the kernel fixes "
             "(F_GETPIPE_SZ); the reader starts late. How many bytes will the pipe hold when the "
             "reader first reads?",
     .q_zh = "写端开始向管道写入数据块，读端启动得晚。读端第一次读取时，管道里会有多少字节？",
     .why_en = {"{answer}: the kernel keeps a bounded buffer; the writer filled it and then "
                "slept in write() until the reader made room.",
                NULL},
     .why_zh =
         {"{answer}：内核的缓冲区是有界的；写端把它写满，然后在 write() 中睡眠，直到读端腾出空间。",
          NULL}},
    {.id = "write-blocks",
     .kind = LQ_BLOCKS,
     .role = "writer",
     .ev = EV_PIPE_WRITE,
     .when = when_pipe_full,
     .q_en = "The pipe holds {value} bytes and nobody reads yet. {task} writes another chunk. "
             "What happens?",
     .q_zh = "管道里有 {value} 字节，还没人读。{task} 再写一块。会发生什么？",
     .why_en = {"The pipe was full: write() sleeps (state S, in pipe_write) until the reader "
                "takes bytes out.",
                "There was still room: write() copied the chunk into the pipe and returned."},
     .why_zh = {"管道满了：write() 睡眠（状态 S，在 pipe_write 中），直到读端取走字节。",
                "还有空间：write() 把数据块拷进管道后返回。"}},
    {.id = "read-blocks",
     .kind = LQ_BLOCKS,
     .role = "reader",
     .ev = EV_PIPE_READ,
     .when = when_pipe_empty,
     .q_en = "The pipe is empty and the writer still holds its end open. {task} calls read(). "
             "What happens?",
     .q_zh = "管道是空的，写端还没关闭。{task} 调用 read()。会发生什么？",
     .why_en = {"An empty pipe with a writer still there: read() sleeps until bytes come (or "
                "the write end is closed).",
                "read() returned at once: the write end was already closed, so it gets end of "
                "file (0)."},
     .why_zh = {"管道空而写端还在：read() 睡眠，直到有字节到来（或写端关闭）。",
                "read() 立刻返回：写端已经关闭，它读到文件结束（0）。"}},
    {.id = "eof",
     .kind = LQ_BLOCKS,
     .role = "reader",
     .ev = EV_PIPE_READ,
     .when = when_pipe_empty,
     .skip = 1,
     .times = 2,
     .q_en = "The pipe is empty again. {task} calls read(). What happens this time?",
     .q_zh = "管道又空了。{task} 调用 read()。这次会发生什么？",
     .why_en = {"The writer still has its end open: read() sleeps until the next bytes.",
                "The writer has closed its end: read() returns 0, end of file, without waiting."},
     .why_zh = {"写端还开着：read() 睡眠，等待下一批字节。",
                "写端已关闭：read() 不等待，直接返回 0，即文件结束。"}},
};

const struct lesson lesson_pipe = {"pipe", pp_roles, COUNT(pp_roles), pp_qs, COUNT(pp_qs)};

/* ---- message-queue ---- */

static const struct lesson_line mq_sender[] = {
    LFOR("for (i = 0; i < msgs; i++) {"),
    LO("    if (i == msgs / 2) sleep(pause_ms);", EV_SLEEP, NULL),
    LA("    mq_send(q, msg, len, 0);  /* full: waits */", EV_MQ_SEND, "queue"),
    LEND("}"),
    LN("if (last sender to finish)"),
    {.text = "    for (r..) mq_send(q, STOP, ..);",
     .ev = EV_MQ_SEND,
     .obj = "queue",
     .opt = 1,
     .again = 1},
};

static const struct lesson_line mq_receiver[] = {
    LO("sleep(recv_delay_ms);  /* starts late */", EV_SLEEP, NULL),
    LFOR("for (;;) {"),
    LAB("    mq_receive(q, buf, 64, &prio);  /* waits */", EV_MQ_RECV, "queue"),
    LN("    if (id == STOP) break;"),
    LO("    sleep(recv_ms);", EV_SLEEP, NULL),
    LEND("}"),
};

static const struct lesson_role mq_roles[] = {
    {"sender", "C", mq_sender, COUNT(mq_sender)},
    {"receiver", "C", mq_receiver, COUNT(mq_receiver)},
};

static const struct lesson_q mq_qs[] = {
    {.id = "send-blocks",
     .kind = LQ_BLOCKS,
     .role = "sender",
     .ev = EV_MQ_SEND,
     .when = lesson_when_full,
     .q_en = "The queue holds {value} messages, its mq_maxmsg. {task} calls mq_send(). What "
             "happens?",
     .q_zh = "队列里有 {value} 条消息，已达 mq_maxmsg。{task} 调用 mq_send()。会发生什么？",
     .why_en = {"The queue was full: mq_send() sleeps until a receiver takes a message out.",
                "A receiver had made room just in time: mq_send() went through."},
     .why_zh = {"队列满了：mq_send() 睡眠，直到接收者取走一条消息。",
                "接收者刚好腾出了空间：mq_send() 成功返回。"}},
    {.id = "refill",
     .kind = LQ_VALUE,
     .role = "receiver",
     .ev = EV_MQ_RECV,
     .when = lesson_when_waiters,
     .choices = "-1,0,1",
     .q_en = "The queue is full ({value}); asleep in mq_send(): {waiters}. {task} receives one "
             "message. How many messages are in the queue once that has settled?",
     .q_zh = "队列满了（{value}），{waiters} 正睡在 mq_send() 中。{task} "
             "取走一条消息。稳定之后队列里有几条消息？",
     .why_en = {"{answer}: taking one out made room, and the sleeping sender woke and put its "
                "message in at once.",
                NULL},
     .why_zh = {"{answer}：取走一条腾出了空间，睡着的发送者被唤醒，立刻放入了它的消息。", NULL}},
    {.id = "receive-blocks",
     .kind = LQ_BLOCKS,
     .role = "receiver",
     .ev = EV_MQ_RECV,
     .when = lesson_when_zero,
     .q_en = "The queue is empty. {task} calls mq_receive(). What happens?",
     .q_zh = "队列是空的。{task} 调用 mq_receive()。会发生什么？",
     .why_en = {"An empty queue: mq_receive() sleeps until a sender puts a message in.",
                "A message arrived just in time: mq_receive() returned it."},
     .why_zh = {"队列为空：mq_receive() 睡眠，直到发送者放入一条消息。",
                "恰好有消息到达：mq_receive() 返回了它。"}},
    {.id = "handover",
     .kind = LQ_VALUE,
     .role = "sender",
     .ev = EV_MQ_SEND,
     .when = lesson_when_waiters,
     .choices = "0,1",
     .q_en = "The queue is empty; asleep in mq_receive(): {waiters}. {task} sends a message. "
             "How many messages are in the queue once that has settled?",
     .q_zh = "队列为空，{waiters} 正睡在 mq_receive() 中。{task} "
             "发送一条消息。稳定之后队列里有几条消息？",
     .why_en = {"{answer}: the sleeping receiver woke and took the message at once.", NULL},
     .why_zh = {"{answer}：睡着的接收者被唤醒，立刻取走了这条消息。", NULL}},
};

const struct lesson lesson_message_queue = {"message-queue", mq_roles, COUNT(mq_roles), mq_qs,
                                            COUNT(mq_qs)};

/* ---- shared-memory ---- */

static const struct lesson_line sm_worker[] = {
    LFOR("for (j = 0; j < 4; j++) {  /* the Array */"),
    LA("    array[k * 4 + j] = (k + 1) * 100 + j;", EV_SHM_WRITE, "array"),
    LEND("}"),
    LFOR("for (i = 0; i < increments; i++) {"),
    LO("    if (i == stepped) wait for the others;", EV_NOTE, NULL),
    LO("    if (lock) pthread_mutex_lock(&lock);", EV_MUTEX_WAIT, "lock"),
    LA("    v = counter;            /* read */", EV_SHM_READ, "counter"),
    LN("    sched_yield();          /* a race */"),
    LA("    counter = v + 1;        /* write */", EV_SHM_WRITE, "counter"),
    LO("    if (lock) pthread_mutex_unlock(&lock);", EV_MUTEX_RELEASE, "lock"),
    LEND("}"),
};

static const struct lesson_role sm_roles[] = {
    {"worker", "C", sm_worker, COUNT(sm_worker)},
};

/* The value this task read from the object last (its shm_read), or -1. */
static long last_read(const struct lesson_ctx *c)
{
    for (size_t i = c->m->hist_len; i-- > 0;) {
        const struct ev *e = model_hist(c->m, i);
        if (e->kind == EV_SHM_READ && c->o && e->obj == (uint32_t)(c->o - c->m->objs) &&
            e->task == c->t->slot)
            return (long)e->val;
    }
    return -1;
}

/* Another task wrote the counter since this one read it: its write loses an update. */
static int when_stale(const struct lesson_ctx *c)
{
    long v = last_read(c);
    return v >= 0 && c->o && v != c->o->value;
}

static int when_fresh(const struct lesson_ctx *c)
{
    long v = last_read(c);
    return v >= 0 && c->o && v == c->o->value;
}

static int shm_lost_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    long n = scn_param(&c->r->ctx, "procs") * scn_param(&c->r->ctx, "increments");
    out[0] = (struct lesson_range){0, 0};
    if (n < 3)
        return (out[1] = (struct lesson_range){1, n > 1 ? n - 1 : 1}), 2;
    out[1] = (struct lesson_range){1, n / 4 > 1 ? n / 4 : 1};
    out[2] = (struct lesson_range){out[1].hi + 1, n - 1};
    return 3;
}

static const struct lesson_q sm_qs[] = {
    {.id = "stale-write",
     .kind = LQ_VALUE,
     .role = "worker",
     .ev = EV_SHM_WRITE,
     .obj = "counter",
     .when = when_stale,
     .choices = "-1,0,1",
     .q_en = "counter is {value} now, but {task} read it before another worker wrote it. {task} "
             "now writes v + 1. What is counter after?",
     .q_zh = "counter 现在是 {value}，但 {task} 是在另一个进程写入之前读到它的。{task} 现在写入 v "
             "+ 1。之后 counter 是多少？",
     .why_en = {"{answer}: {task} wrote back one more than the old value it had read, over the "
                "other worker's update: that increment is lost.",
                NULL},
     .why_zh =
         {"{answer}：{task} 写回的是它读到的旧值加一，覆盖了另一个进程的更新：那次加一丢失了。",
          NULL}},
    {.id = "lost-updates",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "worker",
     .ev = EV_SHM_READ,
     .obj = "counter",
     .target = "lost_updates",
     .ranges = shm_lost_ranges,
     .q_en = "Every worker now adds 1 to counter, increments times, without a lock "
             "(read, then write back). How many updates will be lost by the end?",
     .q_zh = "每个进程都要给 counter 加一，共 increments "
             "次，不加锁（先读再写回）。到最后会丢失多少次更新？",
     .why_en = {"{answer}: whenever two workers read the same value, one of the two increments "
                "is written over; a lock around read-modify-write (lock=1) prevents it.",
                NULL},
     .why_zh = {"{answer}：两个进程读到同一个值时，两次加一中有一次被覆盖；用锁保护读-改-写（lock="
                "1）可以避免。",
                NULL}},
    {.id = "fresh-write",
     .kind = LQ_VALUE,
     .role = "worker",
     .ev = EV_SHM_WRITE,
     .obj = "counter",
     .when = when_fresh,
     .choices = "0,1,2",
     .q_en = "counter is {value}, and nobody wrote it since {task} read it. {task} writes v + 1. "
             "What is counter after?",
     .q_zh = "counter 是 {value}，{task} 读取之后没有别人写过。{task} 写入 v + 1。之后 counter "
             "是多少？",
     .why_en = {"{answer}: nothing came between the read and the write, so this increment "
                "counts.",
                NULL},
     .why_zh = {"{answer}：读和写之间没有别的写入，这次加一有效。", NULL}},
};

const struct lesson lesson_shared_memory = {"shared-memory", sm_roles, COUNT(sm_roles), sm_qs,
                                            COUNT(sm_qs)};

/* ---- signals ---- */

static const struct lesson_line sg_receiver[] = {
    LA("sigaction(USR1, HUP, ALRM: on_signal);", EV_NOTE, NULL),
    LN("signal(SIGUSR2, SIG_IGN);  /* ignored */"),
    LN("sigprocmask(SIG_BLOCK, {SIGHUP});"),
    LN("pthread_create(alarm_timer);"),
    LN("alarm(alarm_s);"),
    LFOR("for (;;) {"),
    LN("    pause();  /* until a handler has run */"),
    LN("    if (SIGALRM rang && !unblocked)"),
    LO("        sigprocmask(SIG_UNBLOCK, {SIGHUP});", EV_NOTE, NULL),
    LN("    if (SIGALRM rang) alarm(alarm_s);"),
    LEND("}"),
};

static const struct lesson_line sg_sender[] = {
    LO("wait until the receiver is ready;", EV_NOTE, NULL),
    LAR("sleep(step_ms);", EV_SLEEP, NULL),
    LA("kill(receiver, SIGUSR1);   /* caught */", EV_SIG_SEND, NULL),
    LAR("sleep(step_ms);", EV_SLEEP, NULL),
    LA("kill(receiver, SIGUSR2);   /* ignored */", EV_SIG_SEND, NULL),
    LAR("sleep(step_ms);", EV_SLEEP, NULL),
    LA("kill(receiver, SIGHUP);    /* blocked */", EV_SIG_SEND, NULL),
    LO("wait until SIGHUP was handled;", EV_NOTE, NULL),
    LAR("sleep(step_ms);", EV_SLEEP, NULL),
    LA("kill(receiver, SIGTERM);   /* default */", EV_SIG_SEND, NULL),
    {.text = "sleep(20);", .ev = EV_SLEEP, .opt = 1, .again = 1},
};

static const struct lesson_line sg_timer[] = {
    LFOR("for (;;) {  /* the alarm-timer thread */"),
    LN("    wait for alarm(); its due time;"),
    LA("    setitimer(due);  /* SIGALRM: kernel */", EV_SIG_GENERATE, NULL),
    LEND("}"),
};

static const struct lesson_role sg_roles[] = {
    {"receiver", "C", sg_receiver, COUNT(sg_receiver)},
    {"sender", "C", sg_sender, COUNT(sg_sender)},
    {"alarm-timer", "C", sg_timer, COUNT(sg_timer)},
};

static const struct lesson_q sg_qs[] = {
    {.id = "usr1-caught",
     .kind = LQ_KEY,
     .role = "sender",
     .ev = EV_SIG_SEND,
     .target = "handled.USR1",
     .ranges = lesson_ranges_none_any,
     .q_en = "{task} calls kill(receiver, SIGUSR1); the receiver installed a handler for it and "
             "sleeps in pause(). How many times will the handler have run for SIGUSR1 once this "
             "step has settled?",
     .q_zh = "{task} 调用 kill(receiver, SIGUSR1)；接收者为它安装了处理函数，正睡在 pause() 中。"
             "这一步稳定之后，SIGUSR1 的处理函数运行了几次？",
     .why_en = {"{answer}: a caught signal interrupts pause(); the kernel runs the handler, then "
                "pause() returns.",
                NULL},
     .why_zh = {"{answer}：被捕获的信号打断 pause()；内核运行处理函数，然后 pause() 返回。", NULL}},
    {.id = "usr2-ignored",
     .kind = LQ_KEY,
     .role = "sender",
     .ev = EV_SIG_SEND,
     .skip = 1,
     .target = "handled.USR2",
     .ranges = lesson_ranges_none_any,
     .q_en = "Now kill(receiver, SIGUSR2): the receiver set it to SIG_IGN. How many times will "
             "a handler have run for SIGUSR2?",
     .q_zh = "现在 kill(receiver, SIGUSR2)：接收者把它设为 SIG_IGN。SIGUSR2 的处理函数会运行几次？",
     .why_en = {"{answer}: an ignored signal is discarded by the kernel when it is sent; the "
                "receiver never notices.",
                NULL},
     .why_zh = {"{answer}：被忽略的信号在发送时就被内核丢弃；接收者完全察觉不到。", NULL}},
    {.id = "hup-pending",
     .kind = LQ_KEY,
     .role = "sender",
     .ev = EV_SIG_SEND,
     .skip = 2,
     .target = "handled.HUP",
     .ranges = lesson_ranges_none_any,
     .q_en = "Now kill(receiver, SIGHUP): the receiver has a handler but blocked SIGHUP with "
             "sigprocmask. How many times will the handler have run right after?",
     .q_zh = "现在 kill(receiver, SIGHUP)：接收者有处理函数，但用 sigprocmask 阻塞了 SIGHUP。"
             "紧接着处理函数运行了几次？",
     .why_en = {"{answer}: a blocked signal stays pending (SigPnd in /proc) until it is unblocked; "
                "only then does the handler run.",
                NULL},
     .why_zh =
         {"{answer}：被阻塞的信号保持未决（/proc 中的 SigPnd），直到解除阻塞才会运行处理函数。",
          NULL}},
    {.id = "term-default",
     .kind = LQ_STATE,
     .role = "sender",
     .ev = EV_SIG_SEND,
     .skip = 3,
     .target = "receiver",
     .choices = "alive,blocked,gone",
     .q_en = "Last, kill(receiver, SIGTERM): the receiver left SIGTERM at its default action. "
             "What is the receiver after it?",
     .q_zh = "最后，kill(receiver, SIGTERM)：接收者对 SIGTERM 保持默认动作。之后接收者怎样了？",
     .why_en = {"{answer}: SIGTERM's default action ends the process; it died of the signal and "
                "was reaped.",
                NULL},
     .why_zh = {"{answer}：SIGTERM 的默认动作是终止进程；它因信号死亡并被回收。", NULL}},
};

const struct lesson lesson_signals = {"signals", sg_roles, COUNT(sg_roles), sg_qs, COUNT(sg_qs)};

/* ---- semaphore ---- */

static const struct lesson_line se_worker[] = {
    LFOR("for (i = 0; i < rounds; i++) {"),
    LA("    sem_wait(&permits);     /* one of k */", EV_SEM_WAIT, "permits"),
    LA("    inside++;", EV_VAR, NULL),
    LO("    sleep(work_ms);         /* inside */", EV_SLEEP, NULL),
    LN("    inside--;"),
    LA("    sem_post(&permits);", EV_SEM_POST, "permits"),
    {.text = "    if (k == 0) while (extra--) sem_post();",
     .ev = EV_SEM_POST,
     .obj = "permits",
     .opt = 1,
     .again = 1},
    LEND("}"),
    {.text = "if (k == 0) while (extra--) sem_post();",
     .ev = EV_SEM_POST,
     .obj = "permits",
     .opt = 1,
     .again = 1},
};

static const struct lesson_role se_roles[] = {
    {"worker", "C", se_worker, COUNT(se_worker)},
};

static const struct lesson_q se_qs[] = {
    {.id = "wait-blocks",
     .kind = LQ_BLOCKS,
     .role = "worker",
     .ev = EV_SEM_WAIT,
     .obj = "permits",
     .when = lesson_when_zero,
     .q_en = "permits is {value}: every permit is taken. {task} calls {call}. What happens?",
     .q_zh = "permits 是 {value}：许可全被拿走了。{task} 调用 {call}。会发生什么？",
     .why_en = {"At 0 sem_wait() sleeps until someone inside calls sem_post(): never more than "
                "k workers inside.",
                "A permit had come back just before: sem_wait() took it."},
     .why_zh =
         {"值为 0 时 sem_wait() 睡眠，直到里面的某个进程调用 sem_post()：里面永远不超过 k 个。",
          "刚好有许可被还回：sem_wait() 拿到了它。"}},
    {.id = "post-wakes",
     .kind = LQ_WAKES,
     .role = "worker",
     .ev = EV_SEM_POST,
     .obj = "permits",
     .when = lesson_when_waiters,
     .q_en = "{task} leaves and calls {call}; asleep on permits: {waiters}. Who gets in?",
     .q_zh = "{task} 离开并调用 {call}；{waiters} 正睡在 permits 上。谁能进去？",
     .why_en = {"sem_post() wakes one sleeper, which takes the permit: {answer}.",
                "Nobody woke: the permit stayed on the semaphore."},
     .why_zh = {"sem_post() 唤醒一个睡眠者，它拿走许可：{answer}。",
                "没有任务被唤醒：许可留在信号量上。"}},
    {.id = "post-value",
     .kind = LQ_VALUE,
     .role = "worker",
     .ev = EV_SEM_POST,
     .obj = "permits",
     .when = lesson_when_waiters,
     .choices = "0,1",
     .q_en = "permits is {value}; asleep on it: {waiters}. {task} calls {call}. What is permits "
             "once that has settled?",
     .q_zh =
         "permits 是 {value}，{waiters} 睡在它上面。{task} 调用 {call}。稳定之后 permits 是多少？",
     .why_en = {"{answer}: the post adds one and the woken worker takes it at once.", NULL},
     .why_zh = {"{answer}：post 加一，被唤醒的进程立刻把它拿走。", NULL}},
    {.id = "wait-passes",
     .kind = LQ_BLOCKS,
     .role = "worker",
     .ev = EV_SEM_WAIT,
     .obj = "permits",
     .when = lesson_when_positive,
     .q_en = "permits is {value}. {task} calls {call}. What happens?",
     .q_zh = "permits 是 {value}。{task} 调用 {call}。会发生什么？",
     .why_en = {"It blocked: another worker took the last permit first.",
                "A permit was free: sem_wait() took it (permits minus one) and {task} went in."},
     .why_zh = {"它阻塞了：另一个进程先拿走了最后一个许可。",
                "有空闲许可：sem_wait() 拿走一个（permits 减一），{task} 进入。"}},
};

const struct lesson lesson_semaphore = {"semaphore", se_roles, COUNT(se_roles), se_qs,
                                        COUNT(se_qs)};
