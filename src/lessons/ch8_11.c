/*
 * ch8_11.c - the lessons of chapters 8 to 11: threads, condition, concurrency,
 * forking-server, threading-server.
 *
 * Listings follow src/scenarios/threads.c, condition.c (in the course's Python:
 * threading.Condition), concurrency.c and socketserver.c; questions ask whether join()
 * waits, what con.wait() does with the lock, how long two CPU-bound workers overlap, what a
 * finished handler is before it is reaped or joined.
 */
#include "../lesson.h"
#include "../run.h"

#include <limits.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- threads ---- */

static const struct lesson_line th_main[] = {
    LFOR("for (i = 0; i < threads + daemons; i++) {"),
    LA("    pthread_create(&t[i], tick, ..);", EV_NOTE, NULL),
    LEND("}"),
    LFOR("for (i = 0; i < 2; i++) {"),
    LA("    is_alive(t[i]);      /* True */", EV_NOTE, NULL),
    LEND("}"),
    LFOR("for (i = 0; i < threads; i++) { /* no daemons */"),
    LA("    pthread_join(t[i], NULL);", EV_BLOCK, "join"),
    LEND("}"),
    LFOR("for (i = 0; i < 2; i++) {"),
    LA("    is_alive(t[i]);      /* False */", EV_NOTE, NULL),
    LEND("}"),
    LN("return 0;  /* daemons die with the process */"),
};

static const struct lesson_line th_thread[] = {
    LFOR("for (i = 1; i <= ticks; i++) {"),
    LO("    sleep(tick_ms);", EV_SLEEP, NULL),
    LO("    ticked = i;", EV_VAR, NULL),
    LEND("}"),
    LN("return NULL;"),
};

static const struct lesson_line th_daemon[] = {
    LFOR("for (i = 1; ; i++) {  /* a daemon: forever */"),
    LO("    sleep(tick_ms);", EV_SLEEP, NULL),
    LO("    ticked = i;", EV_VAR, NULL),
    LEND("}"),
};

static const struct lesson_role th_roles[] = {
    {"MainThread", "C", th_main, COUNT(th_main)},
    {"Thread", "C", th_thread, COUNT(th_thread)},
    {"daemon", "C", th_daemon, COUNT(th_daemon)},
};

static int daemons_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    long d = scn_param(&c->r->ctx, "daemon");
    out[0] = (struct lesson_range){0, 0};
    out[1] = (struct lesson_range){1, LONG_MAX};
    return d > 0 ? 2 : 1;
}

static const struct lesson_q th_qs[] = {
    {.id = "join-waits",
     .kind = LQ_BLOCKS,
     .role = "MainThread",
     .ev = EV_BLOCK,
     .obj = "join",
     .q_en = "Thread-1 is still ticking. MainThread calls join() on it. What happens?",
     .q_zh = "Thread-1 还在计时。MainThread 对它调用 join()。会发生什么？",
     .why_en = {"join() waits until the thread has returned from its function.",
                "The thread had already finished: join() returned at once."},
     .why_zh = {"join() 一直等到线程从它的函数返回。", "线程已经结束了：join() 立刻返回。"}},
    {.id = "thread-ends",
     .kind = LQ_STATE,
     .role = "Thread-1",
     .ev = LESSON_NO_EV,
     .skip = 1,
     .target = "Thread-1",
     .choices = "alive,blocked,gone",
     .q_en = "Thread-1 goes on ticking. What will it be once this step has settled?",
     .q_zh = "Thread-1 继续计时。这一步稳定之后它会怎样？",
     .why_en = {"{answer}: it goes on with its loop, running between its ticks and sleeping in "
                "them (blocked in the kernel; at the step gate while stepping); only when its "
                "function returns is it gone.",
                "{answer}: it goes on with its loop and sleeps through each tick (blocked in the "
                "kernel); only when its function returns is it gone."},
     .why_zh =
         {"{answer}"
          "：它继续循环，两次计时之间运行、计时时睡眠（在内核中阻塞；单步时停在步进闸门前）；"
          "只有函数返回后它才消失。",
          "{answer}：它继续循环，每次计时都在睡眠（在内核中阻塞）；只有函数返回后它才消失。"}},
    {.id = "daemons-die",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "MainThread",
     .ev = EV_BLOCK,
     .target = "daemons_killed_at_exit",
     .ranges = daemons_ranges,
     .q_en = "MainThread joins only the non-daemon threads, then returns. How many daemon "
             "threads will still be running at that moment (and die with the process)?",
     .q_zh = "MainThread 只 join "
             "非守护线程，然后返回。那一刻还会有几个守护线程在运行（并随进程一起结束）？",
     .why_en = {"{answer}: nobody waits for a daemon thread; it ends when its process ends.", NULL},
     .why_zh = {"{answer}：没有人等待守护线程；进程结束时它也就结束了。", NULL}},
};

const struct lesson lesson_threads = {"threads", th_roles, COUNT(th_roles), th_qs, COUNT(th_qs)};

/* ---- condition ---- */

static const struct lesson_line cv_producer[] = {
    LFOR("for id in range(k, items, producers):"),
    LO("    sleep(produce_ms)       # making it", EV_SLEEP, NULL),
    LA("    con.acquire()", EV_MUTEX_WAIT, "con-lock"),
    LA("    items.put(id)", EV_QUEUE_PUT, "items"),
    LO("    con.notify()            # one waiter", EV_COND_SIGNAL, "con"),
    LO("    con.notify_all()        # the last one", EV_COND_BROADCAST, "con"),
    LA("    con.release()", EV_MUTEX_RELEASE, "con-lock"),
    LEND(""),
};

static const struct lesson_line cv_consumer[] = {
    LFOR("while True:"),
    LA("    con.acquire()", EV_MUTEX_WAIT, "con-lock"),
    LFOR("    while items.empty() and not done:"),
    LA("        con.wait()  # unlock, sleep, relock", EV_COND_WAIT, "con"),
    LEND(""),
    {.text = "    if items.empty(): con.release(); break",
     .ev = EV_MUTEX_RELEASE,
     .obj = "con-lock",
     .opt = 1,
     .brk = 1},
    LA("    id = items.get()", EV_QUEUE_GET, "items"),
    LA("    con.release()", EV_MUTEX_RELEASE, "con-lock"),
    LO("    sleep(10)               # using it", EV_SLEEP, NULL),
    LEND(""),
};

static const struct lesson_line cv_main[] = {
    LN("threads = producers + consumers, started"),
    LFOR("for t in threads:"),
    LA("    t.join()", EV_BLOCK, "join"),
    LEND(""),
};

static const struct lesson_role cv_roles[] = {
    {"producer", "Python", cv_producer, COUNT(cv_producer)},
    {"consumer", "Python", cv_consumer, COUNT(cv_consumer)},
    {"main", "Python", cv_main, COUNT(cv_main)},
};

/* empty_wakeups: none, a few, many. */
static int empty_wakeup_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    (void)c;
    out[0] = (struct lesson_range){0, 0};
    out[1] = (struct lesson_range){1, 2};
    out[2] = (struct lesson_range){3, LONG_MAX};
    return 3;
}

static const struct lesson_q cv_qs[] = {
    {.id = "wait-releases",
     .kind = LQ_HOLDER,
     .role = "consumer",
     .ev = EV_COND_WAIT,
     .target = "con-lock",
     .q_en = "{task} holds con-lock, finds no item and calls con.wait(). Who holds con-lock "
             "right after?",
     .q_zh = "{task} 持有 con-lock，发现没有物品，调用 con.wait()。紧接着谁持有 con-lock？",
     .why_en = {"{answer}: con.wait() releases the lock while it sleeps (so a producer can get "
                "in) and takes it back before it returns.",
                "{answer}: con.wait() releases the lock while it sleeps (so a producer can get "
                "in) and takes it back before it returns."},
     .why_zh = {"{answer}：con.wait() 睡眠时释放锁（让生产者能进来），返回前再重新拿回。",
                "{answer}：con.wait() 睡眠时释放锁（让生产者能进来），返回前再重新拿回。"}},
    {.id = "notify-one",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "producer",
     .ev = EV_COND_SIGNAL,
     .when = lesson_when_waiters,
     .target = "empty_wakeups",
     .ranges = empty_wakeup_ranges,
     .q_en =
         "Waiting in con.wait(): {waiters}. {task} puts one item in and calls con.notify(). Over "
         "the whole run, how often will a consumer wake from con.wait() to find no item (and "
         "wait again)?",
     .q_zh =
         "{waiters} 在 con.wait() 中等待。{task} 放入一个物品并调用 con.notify()。整个运行过程中，"
         "消费者从 con.wait() 醒来却发现没有物品（只好再等）会有几次？",
     .why_en = {"{answer}: notify() wakes one waiter per item, so every wake finds something to "
                "take; notify_all() (notify_all=1) wakes them all, and the unlucky ones find the "
                "list empty and wait again.",
                "{answer}: a woken consumer found the item already taken by another, so it waited "
                "again: that is why con.wait() sits in a while loop."},
     .why_zh =
         {"{answer}：notify() 每个物品只唤醒一个等待者，所以每次醒来都有东西可取；notify_all()"
          "（notify_all=1）唤醒全部，不走运的发现列表是空的，只好再等。",
          "{answer}：被唤醒的消费者发现物品已被别人取走，只好再等：这就是 con.wait() "
          "要放在 while 循环里的原因。"}},
    {.id = "put-blocks",
     .kind = LQ_BLOCKS,
     .role = "producer",
     .ev = EV_MUTEX_WAIT,
     .obj = "con-lock",
     .q_en = "{task} has made an item and calls con.acquire(). Will it wait?",
     .q_zh = "{task} 做好了一个物品，调用 con.acquire()。它会等待吗？",
     .why_en = {"A consumer held con-lock: the producer waits its turn.",
                "con-lock was free: waiting consumers released it in con.wait()."},
     .why_zh = {"某个消费者持有 con-lock：生产者等待轮到自己。",
                "con-lock 空闲：等待的消费者在 con.wait() 中释放了它。"}},
    {.id = "notify-all",
     .kind = LQ_STATE,
     .resolve = LR_END,
     .role = "producer",
     .ev = EV_COND_BROADCAST,
     .when = lesson_when_waiters,
     .target = "consumer",
     .choices = "blocked,gone",
     .q_en =
         "Waiting in con.wait(): {waiters}. {task} calls con.notify_all(). When the run is over, "
         "what will {target} be?",
     .q_zh = "{waiters} 在 con.wait() 中等待。{task} 调用 con.notify_all()。运行结束时，{target} "
             "会是什么？",
     .why_en = {"{answer}: a consumer nobody notifies sleeps in con.wait() for ever.",
                "{answer}: notify_all() woke every waiter; each took the lock back in turn, saw "
                "the work done (or took an item) and, at the end, left its loop. With notify() "
                "for the last item, a consumer could sleep for ever."},
     .why_zh = {"{answer}：没人通知的消费者会永远睡在 con.wait() 中。",
                "{answer}：notify_all() "
                "唤醒了每个等待者；它们依次重新拿到锁，看到工作已完成（或取走物品），"
                "最后离开循环。如果最后一个物品只用 notify()，可能有消费者永远睡下去。"}},
};

const struct lesson lesson_condition = {"condition", cv_roles, COUNT(cv_roles), cv_qs,
                                        COUNT(cv_qs)};

/* ---- concurrency ---- */

static const struct lesson_line cc_worker[] = {
    LO("printf(\"start: %ld ms of CPU work\");", EV_NOTE, NULL),
    LO("wait until all have started;", EV_NOTE, NULL),
    LFOR("for (used = 0; used < work; used += 10) {"),
    LO("    burn 10 ms of CPU;", EV_VAR, NULL),
    LEND("}"),
};

static const struct lesson_line cc_sampler[] = {
    LFOR("while (workers still working) {"),
    LO("    sleep(window);  /* an observer */", EV_SLEEP, NULL),
    LN("    read their CPU times (/proc, probes);"),
    LEND("}"),
    LA("report the overlap;", EV_VAR, NULL),
};

static const struct lesson_role cc_roles[] = {
    {"worker", "C", cc_worker, COUNT(cc_worker)},
    {"sampler", "C", cc_sampler, COUNT(cc_sampler)},
};

static int overlap_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    long w = scn_param(&c->r->ctx, "work_ms");
    out[0] = (struct lesson_range){0, w / 10};
    out[1] = (struct lesson_range){w / 10 + 1, w * 7 / 10};
    out[2] = (struct lesson_range){w * 7 / 10 + 1, LONG_MAX};
    return 3;
}

static int elapsed_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    long w = scn_param(&c->r->ctx, "work_ms"), n = scn_param(&c->r->ctx, "workers");
    out[0] = (struct lesson_range){0, w * 14 / 10};
    out[1] = (struct lesson_range){w * 14 / 10 + 1, w * n * 14 / 10};
    out[2] = (struct lesson_range){w * n * 14 / 10 + 1, LONG_MAX};
    return n > 1 ? 3 : 2;
}

static const struct lesson_q cc_qs[] = {
    {.id = "overlap",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "worker-1",
     .ev = LESSON_NO_EV,
     .target = "overlap_ms",
     .ranges = overlap_ranges,
     .q_en = "Each worker needs work_ms of CPU; they may use cpus CPU(s). For how long (ms) "
             "will two of them run at the very same time?",
     .q_zh = "每个工作者需要 work_ms 毫秒的 CPU；它们可以用 cpus 个 "
             "CPU。会有多长时间（毫秒）两个同时在运行？",
     .why_en = {"{answer}: on one CPU they take turns (concurrency: never at the same instant); "
                "on two they run side by side (parallelism).",
                NULL},
     .why_zh = {"{answer}：一个 CPU 上它们轮流运行（并发：从不在同一瞬间）；两个 CPU "
                "上它们并排运行（并行）。",
                NULL}},
    {.id = "elapsed",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "worker-2",
     .ev = LESSON_NO_EV,
     .target = "elapsed_ms",
     .ranges = elapsed_ranges,
     .q_en = "How long (ms of wall time) will it take until every worker has done its work_ms "
             "of CPU?",
     .q_zh = "直到每个工作者都做完 work_ms 毫秒的 CPU 工作，一共要多长时间（墙钟毫秒）？",
     .why_en = {"{answer}: on one CPU the work adds up (about workers x work_ms); in parallel it "
                "takes about one worker's time.",
                NULL},
     .why_zh =
         {"{answer}：一个 CPU 上工作量相加（约 workers × work_ms）；并行时约为一个工作者的时间。",
          NULL}},
    {.id = "not-blocked",
     .kind = LQ_BLOCKS,
     .role = "worker-2",
     .ev = LESSON_NO_EV,
     .q_en = "worker-1 has CPU work to do. {task} starts (or goes on with) its own. Will {task} "
             "be blocked until worker-1 is done?",
     .q_zh = "worker-1 有 CPU 工作要做。{task} 开始（或继续）它自己的工作。{task} 会阻塞到 "
             "worker-1 完成吗？",
     .why_en = {"It waited on an object.",
                "No: a CPU-bound task is never blocked; when the CPU is taken it is ready, and "
                "the scheduler gives each a turn (time slices)."},
     .why_zh = {"它在等待某个对象。", "不会：CPU 密集型任务从不阻塞；CPU "
                                      "被占用时它处于就绪状态，调度器轮流给每个一段时间片。"}},
};

const struct lesson lesson_concurrency = {"concurrency", cc_roles, COUNT(cc_roles), cc_qs,
                                          COUNT(cc_qs)};

/* ---- forking-server, threading-server ---- */

#define ECHO_CLIENT_LATE_N 10
#define ECHO_HANDLER_N 5
extern const struct lesson_line lesson_echo_client_late[ECHO_CLIENT_LATE_N];
extern const struct lesson_line lesson_echo_handler[ECHO_HANDLER_N];

static const struct lesson_line fs_server[] = {
    LA("ls = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(ls, 127.0.0.1:0);", EV_SOCK_BIND, "listener"),
    LA("listen(ls, 5);", EV_SOCK_LISTEN, "listener"),
    LFOR("for (k = 0; k < clients; k++) {"),
    LA("    c = accept(ls);", EV_SOCK_ACCEPT, "listener"),
    LN("    if (fork() == 0) { handle(c); exit(0); }"),
    LN("    close(c);   /* the child serves it */"),
    LN("    waitpid(-1, &st, WNOHANG);  /* ended */"),
    LEND("}"),
    LA("close(ls);", EV_SOCK_CLOSE, "listener"),
    LFOR("while (handlers left) {"),
    LO("    waitpid(-1, &st, 0);   /* reap */", EV_BLOCK, "handlers"),
    LO("    sleep(10);", EV_SLEEP, NULL),
    LEND("}"),
};

static const struct lesson_line ts_server[] = {
    LA("ls = socket(AF_INET, SOCK_STREAM, 0);", EV_OBJ_CREATE, NULL),
    LA("bind(ls, 127.0.0.1:0);", EV_SOCK_BIND, "listener"),
    LA("listen(ls, 5);", EV_SOCK_LISTEN, "listener"),
    LFOR("for (k = 0; k < clients; k++) {"),
    LA("    c = accept(ls);", EV_SOCK_ACCEPT, "listener"),
    LN("    pthread_create(&t[k], handle, c);"),
    LEND("}"),
    LA("close(ls);", EV_SOCK_CLOSE, "listener"),
    LFOR("for (i = 0; i < k; i++) {"),
    LO("    pthread_join(t[i], NULL);", EV_BLOCK, "join"),
    LEND("}"),
};

static const struct lesson_role fs_roles[] = {
    {"server", "C", fs_server, COUNT(fs_server)},
    {"handler", "C", lesson_echo_handler, ECHO_HANDLER_N},
    {"client", "C", lesson_echo_client_late, ECHO_CLIENT_LATE_N},
};

static const struct lesson_role ts_roles[] = {
    {"server", "C", ts_server, COUNT(ts_server)},
    {"handler", "C", lesson_echo_handler, ECHO_HANDLER_N},
    {"client", "C", lesson_echo_client_late, ECHO_CLIENT_LATE_N},
};

static int concurrent_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    return lesson_ranges_one_some_all(scn_param(&c->r->ctx, "clients"), out);
}

#define SS_QS(unit_en, unit_zh, end_choices, end_en, end_zh)                                       \
    {.id = "accept-blocks",                                                                        \
     .kind = LQ_BLOCKS,                                                                            \
     .role = "server",                                                                             \
     .ev = EV_SOCK_ACCEPT,                                                                         \
     .q_en = "{task} calls {call}. Will it wait?",                                                 \
     .q_zh = "{task} 调用 {call}。它会等待吗？",                                                   \
     .why_en = {"No client had connected yet: accept() sleeps.",                                   \
                "A client was already in the accept queue: accept() returned it, and a new "       \
                "handler " unit_en " serves it."},                                                 \
     .why_zh = {"还没有客户端连上：accept() 睡眠。",                                               \
                "已有客户端在全连接队列里：accept() 返回了它，一个新的处理" unit_zh                \
                "为它服务。"}},                                                                    \
        {.id = "concurrent",                                                                       \
         .kind = LQ_KEY,                                                                           \
         .resolve = LR_END,                                                                        \
         .role = "server",                                                                         \
         .ev = EV_SOCK_LISTEN,                                                                     \
         .target = "max_concurrent_handlers",                                                      \
         .ranges = concurrent_ranges,                                                              \
         .q_en = "One handler " unit_en " per client. At most how many handlers will serve at "    \
                 "the same time?",                                                                 \
         .q_zh = "每个客户端一个处理" unit_zh "。最多会有几个处理者同时在服务？",                  \
         .why_en = {"{answer}: each connection gets its own handler, so clients that overlap in "  \
                    "time are served at the same time.",                                           \
                    NULL},                                                                         \
         .why_zh = {"{answer}：每个连接都有自己的处理者，时间上重叠的客户端就同时被服务。",        \
                    NULL}},                                                                        \
    {                                                                                              \
        .id = "handler-ends", .kind = LQ_STATE, .role = "handler", .ev = EV_SOCK_CLOSE,            \
        .choices = end_choices, .q_en = end_en, .q_zh = end_zh,                                    \
        .why_en = {"{answer}: a handler " unit_en " that returns ends; the server reaps (or "      \
                   "joins) it when it sees it end, and until then a process stays a zombie.",      \
                   NULL},                                                                          \
        .why_zh = {                                                                                \
            "{answer}：处理" unit_zh                                                               \
            "返回后就结束了；服务端看到它结束时回收（或 join）它，在此之前进程一直是僵尸。",       \
            NULL                                                                                   \
        }                                                                                          \
    }

static const struct lesson_q fs_qs[] = {
    SS_QS("process", "进程", "alive,zombie,gone",
          "{task} has echoed its client's last line and closes the connection; then it returns "
          "(exit). What will {task} be right after?",
          "{task} 回显了客户端的最后一行，关闭连接，然后返回（exit）。紧接着 {task} 会怎样？")};

static const struct lesson_q ts_qs[] = {
    SS_QS("thread", "线程", "alive,zombie,gone",
          "{task} has echoed its client's last line and closes the connection; then its "
          "function returns. What will the thread {task} be right after?",
          "{task} 回显了客户端的最后一行，关闭连接，然后函数返回。紧接着线程 {task} 会怎样？")};

const struct lesson lesson_forking_server = {"forking-server", fs_roles, COUNT(fs_roles), fs_qs,
                                             COUNT(fs_qs)};
const struct lesson lesson_threading_server = {"threading-server", ts_roles, COUNT(ts_roles), ts_qs,
                                               COUNT(ts_qs)};
