/*
 * ch5_proc.c - the lessons of chapter 5 (processes): fork, orphan, zombie, states, nice,
 * process-pool.
 *
 * Listings follow src/scenarios/fork.c, orphan.c, zombie.c, states.c, nice.c and
 * process_pool.c; a child's listing starts where fork() returns in the child. Questions ask
 * what the kernel makes of a process: its parent after the parent exits, zombie or gone, its
 * state while it sleeps, the CPU share its nice value buys.
 */
#include "../lesson.h"
#include "../run.h"

#include <limits.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fork ---- */

static const struct lesson_line fk_parent[] = {
    LA("x = 10;", EV_VAR, NULL),
    LFOR("for (i = 0; i < children; i++) {"),
    LA("    pid = fork();  /* the child's pid */", EV_FORK_RET, NULL),
    LEND("}"),
    LA("x = x + 1;          /* only this copy */", EV_VAR, NULL),
    {.text = "sleep(linger_ms);", .ev = EV_SLEEP, .opt = 1, .again = 1},
    LA("while (wait(&status) > 0);  /* reap */", EV_TASK_REAPED, NULL),
};

static const struct lesson_line fk_child[] = {
    LA("pid = fork();      /* 0 in the child */", EV_FORK_RET, NULL),
    LN("printf(\"%d %d\", getpid(), getppid());"),
    LA("x = x + 100 * k;   /* its own copy */", EV_VAR, NULL),
    LO("sleep(linger_ms / 2);", EV_SLEEP, NULL),
    LN("exit(0);"),
};

static const struct lesson_role fk_roles[] = {
    {"parent", "C", fk_parent, COUNT(fk_parent)},
    {"child", "C", fk_child, COUNT(fk_child)},
};

static int parent_x_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    long n = scn_param(&c->r->ctx, "children"), all = 11;
    for (long k = 1; k <= n; k++)
        all += 100 * k;
    out[0] = (struct lesson_range){11, 11};
    out[1] = (struct lesson_range){111, 111};
    out[2] = (struct lesson_range){all, all};
    return all == 111 ? 2 : 3;
}

static const struct lesson_q fk_qs[] = {
    {.id = "getppid",
     .kind = LQ_PPID,
     .role = "child",
     .ev = EV_FORK_RET,
     .q_en = "fork() has returned 0 in {task}. What will getppid() say there?",
     .q_zh = "fork() 在 {task} 中返回了 0。它调用 getppid() 会得到什么？",
     .why_en = {"{answer}: the child's parent is the process that called fork().", NULL},
     .why_zh = {"{answer}：子进程的父进程就是调用 fork() 的那个进程。", NULL}},
    {.id = "parent-x",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "child",
     .ev = EV_VAR,
     .target = "copies.0.x",
     .ranges = parent_x_ranges,
     .q_en = "x was 10 when the parent forked. {task} now adds 100 * k to x, and the parent "
             "adds 1. What will the parent's x be?",
     .q_zh =
         "父进程 fork 时 x 是 10。{task} 现在给 x 加 100 * k，父进程加 1。父进程的 x 最后是多少？",
     .why_en = {"{answer}: after fork() each process has its own copy of memory; the children's "
                "changes never reach the parent.",
                NULL},
     .why_zh = {"{answer}：fork() 之后每个进程都有自己的一份内存；子进程的修改永远到不了父进程。",
                NULL}},
    {.id = "child-exits",
     .kind = LQ_STATE,
     .role = "child",
     .ev = EV_SLEEP,
     .choices = "alive,zombie,gone",
     .q_en = "{task} finishes its last sleep and returns, while the parent has not called "
             "wait() yet. What will {task} be right after?",
     .q_zh = "{task} 结束最后一次睡眠并返回，而父进程还没调用 wait()。紧接着 {task} 会怎样？",
     .why_en = {"{answer}: an exited child stays in the process table as a zombie, keeping its "
                "exit status, until its parent calls wait().",
                NULL},
     .why_zh = {"{answer}：退出的子进程作为僵尸留在进程表中保存退出状态，直到父进程调用 wait()。",
                NULL}},
};

const struct lesson lesson_fork = {"fork", fk_roles, COUNT(fk_roles), fk_qs, COUNT(fk_qs)};

/* ---- orphan ---- */

static const struct lesson_line or_parent[] = {
    LA("pid = fork();", EV_FORK_RET, NULL),
    {.text = "sleep(parent_ms);", .ev = EV_SLEEP, .opt = 1, .again = 1},
    LA("exit(0);    /* without wait()ing */", EV_TASK_EXIT, NULL),
};

static const struct lesson_line or_child[] = {
    LN("before = getppid();"),
    LN("while (getppid() == before);  /* adopted? */"),
    LA("printf(\"adopted by %d\", getppid());", EV_REPARENT, NULL),
    LO("sleep(child_ms);", EV_SLEEP, NULL),
    LN("exit(0);"),
};

static const struct lesson_role or_roles[] = {
    {"parent", "C", or_parent, COUNT(or_parent)},
    {"child", "C", or_child, COUNT(or_child)},
};

static const struct lesson_q or_qs[] = {
    {.id = "new-parent",
     .kind = LQ_PPID,
     .resolve = LR_UNTIL,
     .role = "parent",
     .ev = EV_SLEEP,
     .target = "child",
     .q_en = "The parent forks a child and will exit without waiting for it. Who will be the "
             "child's parent then?",
     .q_zh = "父进程 fork 出一个子进程，之后不等它就退出。到那时子进程的父进程是谁？",
     .why_en = {"{answer}: an orphan is adopted by the nearest subreaper (ipcscope made itself "
                "one), else by init (pid 1).",
                NULL},
     .why_zh = {"{answer}：孤儿进程被最近的“子进程收割者”收养（ipcscope 把自己设成了一个），否则由 "
                "init（pid 1）收养。",
                NULL}},
    {.id = "orphan-lives",
     .kind = LQ_STATE,
     .role = "parent",
     .ev = EV_TASK_EXIT,
     .target = "child",
     .choices = "alive,zombie,gone",
     .q_en = "The parent exits now. What happens to its child?",
     .q_zh = "父进程现在退出。它的子进程会怎样？",
     .why_en = {"{answer}: a child does not die with its parent; it goes on, an orphan.", NULL},
     .why_zh = {"{answer}：子进程不会随父进程一起死去；它继续运行，成为孤儿。", NULL}},
    {.id = "parent-gone",
     .kind = LQ_STATE,
     .role = "child",
     .ev = EV_REPARENT,
     .target = "parent",
     .choices = "alive,zombie,gone",
     .q_en = "The child sees a new parent. What has become of its old parent?",
     .q_zh = "子进程看到了新的父进程。它原来的父进程怎样了？",
     .why_en = {"{answer}: the parent exited and its own parent (ipcscope) reaped it at once.",
                NULL},
     .why_zh = {"{answer}：父进程已退出，并被它自己的父进程（ipcscope）立刻回收。", NULL}},
};

const struct lesson lesson_orphan = {"orphan", or_roles, COUNT(or_roles), or_qs, COUNT(or_qs)};

/* ---- zombie ---- */

static const struct lesson_line zb_parent[] = {
    LFOR("for (i = 0; i < children; i++) {"),
    LA("    if (fork() == 0) child(i);", EV_FORK_RET, NULL),
    LEND("}"),
    {.text = "sleep(hold_ms);  /* ignores its children */", .ev = EV_SLEEP, .opt = 1, .again = 1},
    LN("switch (remedy) {"),
    {.text = "case WAIT: while (wait(&st) > 0) sleep(..);",
     .ev = EV_TASK_REAPED,
     .opt = 1,
     .again = 1},
    LO("case WAITPID: while (waitpid(WNOHANG) > 0);", EV_TASK_REAPED, NULL),
    LN("case HANDLER: SIGCHLD handler waitpid()s;"),
    LN("case IGNORE:  signal(SIGCHLD, SIG_IGN);"),
    LN("case DOUBLE_FORK: a child forks, exits;"),
    {.text = "    for (..) fork();  /* a 2nd batch */", .ev = EV_FORK_RET, .opt = 1, .again = 1},
    LN("case NONE: return 0;  /* zombies left */"),
    LN("}"),
    {.text = "sleep(after_ms);", .ev = EV_SLEEP, .opt = 1, .again = 1},
};

static const struct lesson_line zb_child[] = {
    LO("sleep(50 * (i + 1));", EV_SLEEP, NULL),
    LA("exit(i + 1);", EV_TASK_EXIT, NULL),
};

static const struct lesson_role zb_roles[] = {
    {"parent", "C", zb_parent, COUNT(zb_parent)},
    {"child", "C", zb_child, COUNT(zb_child)},
    {"grandchild", "C", zb_child, COUNT(zb_child)},
};

static int zombie_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    return lesson_ranges_none_some_all(scn_param(&c->r->ctx, "children"), out);
}

static const struct lesson_q zb_qs[] = {
    {.id = "exit-zombie",
     .kind = LQ_STATE,
     .role = "child",
     .ev = EV_TASK_EXIT,
     .choices = "alive,zombie,gone",
     .q_en = "{task} exits; its parent is busy and does not call wait(). What is {task} right "
             "after?",
     .q_zh = "{task} 退出了；它的父进程在忙，没有调用 wait()。紧接着 {task} 是什么？",
     .why_en = {"{answer}: its memory is freed, but its entry (pid, exit status) stays until the "
                "parent waits for it: state Z in ps.",
                NULL},
     .why_zh = {"{answer}：它的内存被释放了，但进程表项（pid、退出状态）一直保留到父进程等待它：ps "
                "中的状态 Z。",
                NULL}},
    {.id = "zombies-max",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "parent",
     .ev = EV_SLEEP,
     .target = "zombies_max",
     .ranges = zombie_ranges,
     .q_en = "The parent ignores its children while they exit one by one. How many zombies will "
             "it have at the same time, at most?",
     .q_zh = "子进程一个个退出，父进程却不理它们。它最多会同时有几个僵尸子进程？",
     .why_en = {"{answer}: every child that exits before its parent waits stays a zombie; they "
                "pile up until wait() or the parent's own end.",
                NULL},
     .why_zh = {"{answer}：每个在父进程等待之前退出的子进程都会成为僵尸；它们堆积起来，直到 wait() "
                "或父进程自己结束。",
                NULL}},
    {.id = "zombies-end",
     .kind = LQ_STATE,
     .resolve = LR_END,
     .role = "parent",
     .ev = EV_SLEEP,
     .skip = 1,
     .target = "child",
     .choices = "zombie,gone",
     .q_en = "Suppose the parent never waits. When the run is over, what will child-1 be?",
     .q_zh = "假设父进程始终不等待。运行结束时，child-1 会是什么？",
     .why_en = {"{answer}: when a parent exits, its zombies are adopted by a subreaper (here "
                "ipcscope) or init, which reaps them.",
                NULL},
     .why_zh = {"{answer}：父进程退出后，它的僵尸子进程被子进程收割者（这里是 ipcscope）或 init "
                "收养并回收。",
                NULL}},
};

const struct lesson lesson_zombie = {"zombie", zb_roles, COUNT(zb_roles), zb_qs, COUNT(zb_qs)};

/* ---- states ---- */

static const struct lesson_line st_cpu[] = {
    LFOR("for (i = 0; i < rounds; i++) {"),
    LA("    printf(\"burst %ld\", i);  /* a turn */", EV_NOTE, NULL),
    LN("    spin 500 ms;  /* running or ready */"),
    LEND("}"),
};

static const struct lesson_line st_io[] = {
    LFOR("for (;;) {"),
    LAB("    n = read(disk, rec, 64); /* 0: EOF */", EV_PIPE_READ, "disk"),
    LN("    work on it a little;"),
    LEND("}"),
    LA("close(disk);", EV_PIPE_CLOSE, "disk"),
};

static const struct lesson_line st_sleeper[] = {
    LFOR("for (i = 0; i < rounds; i++) {"),
    LO("    printf(\"nanosleep 250 ms\");", EV_NOTE, NULL),
    LO("    nanosleep(250 ms);  /* sleeping */", EV_SLEEP, NULL),
    LEND("}"),
};

static const struct lesson_line st_device[] = {
    LFOR("for (i = 0; i < rounds; i++) {"),
    LO("    sleep(100 ms);  /* the delay */", EV_SLEEP, NULL),
    LAR("    write(disk, rec, 64);  /* per reader */", EV_PIPE_WRITE, "disk"),
    LEND("}"),
    LA("close(disk);", EV_PIPE_CLOSE, "disk"),
};

static const struct lesson_role st_roles[] = {
    {"cpu", "C", st_cpu, COUNT(st_cpu)},
    {"io", "C", st_io, COUNT(st_io)},
    {"sleeper", "C", st_sleeper, COUNT(st_sleeper)},
    {"device", "C", st_device, COUNT(st_device)},
};

static const struct lesson_q st_qs[] = {
    {.id = "sleeping",
     .kind = LQ_STATE,
     .role = "sleeper",
     .ev = LESSON_NO_EV,
     .choices = "alive,blocked",
     .q_en = "{task} goes to sleep for 250 ms. What state will ps show for it meanwhile?",
     .q_zh = "{task} 要睡眠 250 毫秒。在此期间 ps 显示它处于什么状态？",
     .why_en = {"{answer}: a sleeping process is blocked (S, asleep in the kernel), not ready: "
                "it wants no CPU until its timer fires.",
                NULL},
     .why_zh =
         {"{answer}：睡眠中的进程是阻塞的（S，在内核中睡眠），而不是就绪：定时器到期之前它不需要 "
          "CPU。",
          NULL}},
    {.id = "read-blocks",
     .kind = LQ_BLOCKS,
     .role = "io",
     .ev = EV_PIPE_READ,
     .when = lesson_when_zero,
     .q_en = "The device has written nothing new. {task} calls read() on the disk pipe. What "
             "happens?",
     .q_zh = "设备还没有写入新数据。{task} 对 disk 管道调用 read()。会发生什么？",
     .why_en = {"It blocks: waiting for IO, it leaves the CPU to the others.",
                "A record was there after all: read() returned it."},
     .why_zh = {"它阻塞了：等待 IO 时它把 CPU 让给别人。", "其实有一条记录：read() 返回了它。"}},
    {.id = "device-wakes",
     .kind = LQ_WAKES,
     .role = "device",
     .ev = EV_PIPE_WRITE,
     .obj = "disk",
     .when = lesson_when_waiters,
     .q_en = "Asleep in read() on the empty disk pipe: {waiters}. The device writes a record. "
             "Who gets through?",
     .q_zh = "{waiters} 睡在空的 disk 管道的 read() 中。设备写入一条记录。谁能继续？",
     .why_en = {"{answer}: the write wakes the reader blocked on the pipe; from blocked it "
                "becomes ready, then running.",
                "Nobody woke."},
     .why_zh = {"{answer}：写入唤醒了阻塞在管道上的读者；它从阻塞变为就绪，再到运行。",
                "没有任务被唤醒。"}},
};

const struct lesson lesson_states = {"states", st_roles, COUNT(st_roles), st_qs, COUNT(st_qs)};

/* ---- nice ---- */

static const struct lesson_line ni_worker[] = {
    LA("setpriority(PRIO_PROCESS, 0, nice);", EV_NOTE, NULL),
    LO("printf(\"nice %d: spin\", nice);", EV_NOTE, NULL),
    LO("wait until all have started;", EV_NOTE, NULL),
    LFOR("while (now < end) {"),
    LN("    spin 100000 times;"),
    LO("    report the CPU time used;", EV_VAR, NULL),
    LEND("}"),
};

static const struct lesson_role ni_roles[] = {
    {"nice", "C", ni_worker, COUNT(ni_worker)},
};

static int share_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    long n = scn_param(&c->r->ctx, "workers"), fair = 100 / (n > 0 ? n : 1);
    long lo = fair * 8 / 10, hi = fair * 12 / 10;
    out[0] = (struct lesson_range){0, lo - 1};
    out[1] = (struct lesson_range){lo, hi};
    out[2] = (struct lesson_range){hi + 1, 100};
    return 3;
}

static const struct lesson_q ni_qs[] = {
    {.id = "share-nice0",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "nice+0",
     .ev = LESSON_NO_EV,
     .target = "cpu_share.0.share",
     .field = "percent",
     .ranges = share_ranges,
     .q_en = "nice+0 and nice+5 spin on one CPU. What share of that CPU (percent) will nice+0 "
             "get?",
     .q_zh = "nice+0 和 nice+5 在同一个 CPU 上空转。nice+0 会得到这个 CPU 的百分之多少？",
     .why_en = {"{answer}: the scheduler shares the CPU by weight, and each nice step changes "
                "the weight by about 25%: nice 0 weighs about three times nice 5.",
                NULL},
     .why_zh = {"{answer}：调度器按权重分配 CPU，nice 每差一级权重约差 25%：nice 0 的权重约是 nice "
                "5 的三倍。",
                NULL}},
    {.id = "share-nice5",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "nice+5",
     .ev = LESSON_NO_EV,
     .target = "cpu_share.1.share",
     .field = "percent",
     .ranges = share_ranges,
     .q_en = "And nice+5: what share of the CPU (percent) will it get?",
     .q_zh = "那么 nice+5 会得到百分之多少的 CPU？",
     .why_en = {"{answer}: a higher nice value means a lower weight: a smaller share, never "
                "nothing.",
                NULL},
     .why_zh = {"{answer}：nice 值越高权重越低：份额更小，但不会是零。", NULL}},
    {.id = "runs-at-all",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "nice+0",
     .ev = LESSON_NO_EV,
     .skip = 1,
     .target = "cpu_share.1.cpu_ms",
     .ranges = lesson_ranges_none_any,
     .q_en = "nice+0 would use the whole CPU if it could. Will nice+5 run at all (ms of CPU)?",
     .q_zh = "nice+0 如果可以会占满整个 CPU。nice+5 还能运行吗（CPU 毫秒数）？",
     .why_en = {"{answer}: the fair scheduler gives every runnable task some of the CPU in "
                "proportion to its weight; a low priority is never starved.",
                NULL},
     .why_zh = {"{answer}：公平调度器按权重给每个可运行任务分一些 CPU；低优先级不会被饿死。",
                NULL}},
};

const struct lesson lesson_nice = {"nice", ni_roles, COUNT(ni_roles), ni_qs, COUNT(ni_qs)};

/* ---- process-pool ---- */

static const struct lesson_line pl_owner[] = {
    LFOR("for (;;) {  /* apply_async, map; close */"),
    LFOR("    for (each item to put) {"),
    LA("        sem_wait(&slots);   /* room */", EV_SEM_WAIT, "slots"),
    LA("        pthread_mutex_lock(&queue_lock);", EV_MUTEX_WAIT, "queue-lock"),
    LA("        put(tasks, id);     /* or STOP */", EV_QUEUE_PUT, "tasks"),
    LA("        pthread_mutex_unlock(&queue_lock);", EV_MUTEX_RELEASE, "queue-lock"),
    LA("        sem_post(&items);", EV_SEM_POST, "items"),
    LEND("    }"),
    LBRK("    if (closed) break;"),
    LFOR("    while (results < submitted) {"),
    LA("        sem_wait(&done);  /* results */", EV_SEM_WAIT, "done"),
    LEND("    }"),
    LN("    pool.close();  /* STOP per worker */"),
    LEND("}"),
    LA("pool.join();   /* waitpid each worker */", EV_TASK_REAPED, NULL),
};

static const struct lesson_line pl_worker[] = {
    LFOR("for (;;) {"),
    LA("    sem_wait(&items);", EV_SEM_WAIT, "items"),
    LA("    pthread_mutex_lock(&queue_lock);", EV_MUTEX_WAIT, "queue-lock"),
    LA("    id = get(tasks);", EV_QUEUE_GET, "tasks"),
    LA("    pthread_mutex_unlock(&queue_lock);", EV_MUTEX_RELEASE, "queue-lock"),
    LA("    sem_post(&slots);", EV_SEM_POST, "slots"),
    LBRK("    if (id == STOP) break;"),
    LO("    sleep(work_ms);  /* the work */", EV_SLEEP, NULL),
    LA("    results[id] = id * id;", EV_SHM_WRITE, "results"),
    LA("    sem_post(&done);", EV_SEM_POST, "done"),
    LEND("}"),
};

static const struct lesson_role pl_roles[] = {
    {"pool-worker", "C", pl_worker, COUNT(pl_worker)},
    {"pool", "C", pl_owner, COUNT(pl_owner)},
};

static int busy_ranges(const struct lesson_ctx *c, struct lesson_range *out)
{
    return lesson_ranges_one_some_all(scn_param(&c->r->ctx, "workers"), out);
}

static const struct lesson_q pl_qs[] = {
    {.id = "idle-worker",
     .kind = LQ_BLOCKS,
     .role = "pool-worker",
     .ev = EV_SEM_WAIT,
     .obj = "items",
     .when = lesson_when_zero,
     .q_en = "No task is queued yet (items is 0). {task} calls {call}. What happens?",
     .q_zh = "还没有任务排队（items 为 0）。{task} 调用 {call}。会发生什么？",
     .why_en = {"An idle pool worker sleeps on items until the pool puts a task in: it costs no "
                "CPU while it waits.",
                "A task had just been queued: it took it at once."},
     .why_zh = {"空闲的池进程睡在 items 上，直到进程池放入任务：等待时不占 CPU。",
                "刚好有任务入队：它立刻取走了。"}},
    {.id = "queue-full",
     .kind = LQ_BLOCKS,
     .role = "pool",
     .ev = EV_SEM_WAIT,
     .obj = "slots",
     .when = lesson_when_zero,
     .q_en = "The task queue is full (slots is 0). The pool submits one more. What happens?",
     .q_zh = "任务队列满了（slots 为 0）。进程池再提交一个。会发生什么？",
     .why_en = {"apply_async/map has to wait for room: the submitting process sleeps on slots "
                "until a worker takes a task.",
                "A worker had just made room."},
     .why_zh = {"apply_async/map 必须等待空间：提交的进程睡在 slots 上，直到某个工作进程取走任务。",
                "某个工作进程刚好腾出了空间。"}},
    {.id = "max-busy",
     .kind = LQ_KEY,
     .resolve = LR_END,
     .role = "pool",
     .ev = EV_SEM_WAIT,
     .target = "max_busy",
     .ranges = busy_ranges,
     .q_en = "The pool's workers take tasks from the queue. At most how many will be working at "
             "the same time?",
     .q_zh = "池中的工作进程从队列取任务。最多会有几个同时在工作？",
     .why_en = {"{answer}: each worker runs one task at a time, so the pool's size bounds the "
                "work done at once.",
                NULL},
     .why_zh = {"{answer}：每个工作进程一次只做一个任务，所以池的大小限制了同时进行的工作量。",
                NULL}},
    {.id = "join",
     .kind = LQ_STATE,
     .resolve = LR_END, /* after join(): the first reap may be another worker's */
     .role = "pool",
     .ev = EV_TASK_REAPED,
     .target = "pool-worker", /* the first not yet reaped when asked */
     .choices = "alive,zombie,gone",
     .q_en = "pool.close() has sent a STOP to every worker; pool.join() waits for them. What "
             "will {target} be after it?",
     .q_zh = "pool.close() 给每个工作进程发了 STOP；pool.join() 等待它们。之后 {target} 会怎样？",
     .why_en = {"{answer}: each worker left its loop at STOP and exited; join() waited for "
                "(reaped) every one.",
                NULL},
     .why_zh = {"{answer}：每个工作进程在 STOP 处退出循环并结束；join() 等待（回收）了每一个。",
                NULL}},
};

const struct lesson lesson_process_pool = {"process-pool", pl_roles, COUNT(pl_roles), pl_qs,
                                           COUNT(pl_qs)};
