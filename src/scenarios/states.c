/*
 * states.c - the five-state process model: new, ready, running, blocked, terminated (ch. 5).
 *
 * CPU-bound workers spin in bursts, IO-bound workers read a pipe that a slow "device" feeds,
 * sleepers nanosleep; with pin=1 all of them share one CPU, so runnable tasks queue in READY.
 * With bpf on, the kernel's sched_switch/wakeup say exactly when each task moves between the
 * states and the narration explains every transition; /proc alone cannot tell ready from
 * running (both are "R"). Stepping: the IO workers pass the step gate before each read, the
 * sleepers' and the device's sleeps are steps of the scenario clock that then really sleep
 * (SCLOCK_REAL: the task is seen asleep in nanosleep); a CPU worker passes the gate once per
 * burst and spins free inside it (a burst is BURST_MS of wall-clock time). While the gate is
 * held, the CPU workers start each burst together, so pinned spinners preempt each other at
 * any pace; the wait for the last of them is shown as gate time, never as blocked.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../instr_sync.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ST_MAX 8
#define BURST_MS 500                 /* a CPU worker's burst between two gate passes */
#define DEVICE_MS 250                /* the device delivers one record per IO worker this often */
#define SLEEP_MS 200                 /* one nanosleep of a sleeper */
#define RECORD 64                    /* bytes per record on the disk pipe */
#define WORK_US 500                  /* CPU an IO worker spends on a record */
#define NARR_WINDOW_NS 1000000000ull /* at most one narration per task and transition */

enum st_role { ROLE_CPU, ROLE_IO, ROLE_SLEEP, ROLE_DEVICE, ROLE__COUNT };

struct st_worker {
    _Atomic int32_t pid;
    _Atomic long rounds;    /* bursts, records or sleeps done */
    _Atomic int64_t cpu_ns; /* its CPU clock at the end */
};

struct st_shared {
    long n[ROLE__COUNT]; /* workers per role (the device: 0 or 1) */
    long seconds, pin;
    int cpu; /* the CPU everyone is pinned to, -1 when not pinned */
    int fds[2];
    struct instr_obj *disk;
    _Atomic long written, read;
    _Atomic int burst_arrivals; /* CPU workers that reached the start of a burst, all rounds */
    struct st_worker w[ROLE__COUNT][ST_MAX];
};

static struct st_shared *S;

static const char *const ROLE_NAME[ROLE__COUNT] = {"cpu", "io", "sleeper", "device"};

static const struct scenario_param params[] = {
    {"cpu_workers", "CPU-bound workers (spin)", "CPU 密集型进程数(空转计算)", 0, ST_MAX, 2},
    {"io_workers", "IO-bound workers (read a slow pipe)", "IO 密集型进程数(读慢速管道)", 0, ST_MAX,
     1},
    {"sleepers", "workers that mostly sleep", "大部分时间在睡眠的进程数", 0, ST_MAX, 1},
    {"pin", "1: pin every worker to one CPU", "1:把所有进程绑定到同一个 CPU", 0, 1, 1},
    {"seconds", "how long the workers run", "进程运行的秒数", 1, 30, 3},
};

/* ---- worker side ---- */

static uint64_t clock_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Name the process, pin it, close the pipe ends it does not use. */
static struct st_worker *begin(int role, long k, int keep_fd)
{
    char comm[16];
    snprintf(comm, sizeof(comm), role == ROLE_DEVICE ? "%s" : "%s-%ld", ROLE_NAME[role], k + 1);
    ipc_set_comm(comm);
    if (S->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(S->cpu, &set);
        sched_setaffinity(0, sizeof(set), &set);
    }
    if (S->disk)
        for (int i = 0; i < 2; i++)
            if (S->fds[i] != keep_fd)
                close(S->fds[i]);
    struct st_worker *w = &S->w[role][k];
    atomic_store(&w->pid, getpid());
    return w;
}

/* Spin until clk reads end_ns: the burst's length is the measured lesson, not a wait. */
static void spin_until(uint64_t end_ns, clockid_t clk)
{
    volatile uint64_t x = 0;
    while (clock_ns(clk) < end_ns && !ipc_stopping())
        for (int i = 0; i < 20000; i++)
            x++;
}

static long rounds_of(long period_ms)
{
    return S->seconds * 1000 / period_ms;
}

static int cpu_worker(void *arg)
{
    struct st_worker *w = begin(ROLE_CPU, (intptr_t)arg, -1);
    uint64_t t0 = sclock_now();
    for (long i = 0; i < rounds_of(BURST_MS) && !ipc_stopping(); i++) {
        /* one gate pass per burst, due when the burst starts on the scenario clock: burst i
         * at i * BURST_MS, so stepped bursts take turns with the sleeps as in a free run */
        instr_gate_timed(EV_NOTE, EV_NO_OBJ, t0 + (uint64_t)i * BURST_MS * 1000000ull, 0,
                         "the next burst");
        sync_start_together(&S->burst_arrivals,
                            (int)((i + 1) * S->n[ROLE_CPU])); /* held: compete */
        instr_note("burst %ld/%ld, %d ms", i + 1, rounds_of(BURST_MS), BURST_MS);
        uint64_t end = clock_ns(CLOCK_MONOTONIC) /* sclock-ok: a burst is wall time */
                       + BURST_MS * 1000000ull;
        spin_until(end, CLOCK_MONOTONIC); /* sclock-ok: measured, the spinning is the lesson */
        atomic_store(&w->rounds, i + 1);
    }
    atomic_store(&w->cpu_ns, (int64_t)clock_ns(CLOCK_PROCESS_CPUTIME_ID));
    return 0;
}

static int io_worker(void *arg)
{
    struct st_worker *w = begin(ROLE_IO, (intptr_t)arg, S->fds[0]);
    char buf[RECORD];
    for (;;) {
        ssize_t r = ipc_pipe_read(S->disk, S->fds[0], buf, sizeof(buf));
        if (r <= 0)
            break; /* EOF: the device is done */
        atomic_fetch_add(&S->read, r);
        atomic_fetch_add(&w->rounds, 1);
        spin_until(clock_ns(CLOCK_THREAD_CPUTIME_ID) + WORK_US * 1000ull, CLOCK_THREAD_CPUTIME_ID);
    }
    ipc_pipe_close(S->disk, S->fds[0], 0);
    atomic_store(&w->cpu_ns, (int64_t)clock_ns(CLOCK_PROCESS_CPUTIME_ID));
    return 0;
}

static int sleeper(void *arg)
{
    struct st_worker *w = begin(ROLE_SLEEP, (intptr_t)arg, -1);
    for (long i = 0; i < rounds_of(SLEEP_MS); i++) {
        if (sclock_sleep(SLEEP_MS, SCLOCK_REAL, "asleep in nanosleep") < 0)
            break;
        atomic_store(&w->rounds, i + 1);
    }
    atomic_store(&w->cpu_ns, (int64_t)clock_ns(CLOCK_PROCESS_CPUTIME_ID));
    return 0;
}

/* The slow device: every DEVICE_MS one record per IO worker into the pipe, then EOF. */
static int device(void *arg)
{
    (void)arg;
    struct st_worker *w = begin(ROLE_DEVICE, 0, S->fds[1]);
    char rec[RECORD];
    memset(rec, 'd', sizeof(rec));
    for (long i = 0; i < rounds_of(DEVICE_MS); i++) {
        if (sclock_sleep(DEVICE_MS, SCLOCK_REAL, "the device's delay") < 0)
            break;
        for (long k = 0; k < S->n[ROLE_IO]; k++)
            if (ipc_pipe_write(S->disk, S->fds[1], rec, sizeof(rec), NULL) == RECORD)
                atomic_fetch_add(&S->written, RECORD);
        atomic_store(&w->rounds, i + 1);
    }
    ipc_pipe_close(S->disk, S->fds[1], 1);
    atomic_store(&w->cpu_ns, (int64_t)clock_ns(CLOCK_PROCESS_CPUTIME_ID));
    return 0;
}

/* ---- conductor side ---- */

static int last_cpu(void)
{
    cpu_set_t set;
    int cpu = 0;
    if (sched_getaffinity(0, sizeof(set), &set) < 0)
        return 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            cpu = c;
    return cpu;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "cpu_workers") + scn_param(ctx, "io_workers") +
                      scn_param(ctx, "sleepers") + 8);
}

static int (*const BODY[ROLE__COUNT])(void *) = {cpu_worker, io_worker, sleeper, device};

static int spawn_role(int role, char *err, size_t n)
{
    for (long k = 0; k < S->n[role]; k++) {
        char name[32];
        snprintf(name, sizeof(name), role == ROLE_DEVICE ? "%s" : "%s-%ld", ROLE_NAME[role], k + 1);
        pid_t pid = instr_spawn(name, BODY[role], (void *)(intptr_t)k, 0);
        if (pid < 0) {
            snprintf(err, n, "cannot fork %s: %s", name, strerror((int)-pid));
            return (int)pid;
        }
    }
    return 0;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->n[ROLE_CPU] = scn_param(ctx, "cpu_workers");
    S->n[ROLE_IO] = scn_param(ctx, "io_workers");
    S->n[ROLE_SLEEP] = scn_param(ctx, "sleepers");
    S->n[ROLE_DEVICE] = S->n[ROLE_IO] > 0;
    S->seconds = scn_param(ctx, "seconds");
    S->pin = scn_param(ctx, "pin");
    S->cpu = S->pin ? last_cpu() : -1;
    S->fds[0] = S->fds[1] = -1;
    if (S->n[ROLE_IO] && (pipe(S->fds) < 0 || !(S->disk = ipc_pipe_obj("disk", S->fds[1])))) {
        snprintf(err, n, "cannot make the disk pipe: %s", strerror(errno));
        return -EIO;
    }
    int rc = 0;
    for (int role = 0; role < ROLE__COUNT && rc == 0; role++)
        rc = spawn_role(role, err, n);
    for (int i = 0; i < 2; i++) /* only the workers hold the pipe: EOF when the device ends */
        if (S->fds[i] >= 0)
            close(S->fds[i]);
    return rc;
}

static const struct model_task *task_named(const struct model *m, const char *name)
{
    for (size_t i = 0; i < m->ntasks; i++)
        if (strcmp(m->tasks[i].name, name) == 0)
            return &m->tasks[i];
    return NULL;
}

static int role_of_name(const char *name)
{
    for (int role = 0; role < ROLE__COUNT; role++)
        if (strncmp(name, ROLE_NAME[role], strlen(ROLE_NAME[role])) == 0)
            return role;
    return -1;
}

/* The work each role was given was all done. */
static int check_rounds(char *why, size_t n)
{
    static const long period[ROLE__COUNT] = {BURST_MS, 0, SLEEP_MS, DEVICE_MS};
    for (int role = 0; role < ROLE__COUNT; role++) {
        for (long k = 0; k < S->n[role] && period[role]; k++) {
            long got = atomic_load(&S->w[role][k].rounds), want = rounds_of(period[role]);
            if (got != want) {
                snprintf(why, n, "%s-%ld did %ld of its %ld rounds", ROLE_NAME[role], k + 1, got,
                         want);
                return -1;
            }
        }
    }
    long wr = atomic_load(&S->written), rd = atomic_load(&S->read);
    if (wr != rd || wr != rounds_of(DEVICE_MS) * S->n[ROLE_IO] * RECORD) {
        snprintf(why, n, "the device wrote %ld bytes, the IO workers read %ld", wr, rd);
        return -1;
    }
    return 0;
}

/* With the kernel's word: pinned spinners queue (ready > 0), sleepers mostly sleep. */
static int check_kernel(const struct model *m, char *why, size_t n)
{
    if (!(m->src_seen & (1u << EV_SRC_BPF)))
        return 0;
    for (size_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        int role = t->slot == EV_NO_TASK ? -1 : role_of_name(t->name);
        if (role == ROLE_CPU && S->pin && S->n[ROLE_CPU] >= 2 && (!t->ready_ns || !t->run_ns)) {
            snprintf(why, n, "%s shared a CPU but was never both ready and running", t->name);
            return -1;
        }
        if (role == ROLE_SLEEP && t->blocked_ns < t->run_ns) {
            snprintf(why, n, "%s ran more than it slept", t->name);
            return -1;
        }
    }
    return 0;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    for (int role = 0; role < ROLE__COUNT; role++) {
        for (long k = 0; k < S->n[role]; k++) {
            char name[32];
            snprintf(name, sizeof(name), role == ROLE_DEVICE ? "%s" : "%s-%ld", ROLE_NAME[role],
                     k + 1);
            const struct model_task *t = task_named(m, name);
            if (!t || !t->has_exit || t->exit_status != 0) {
                snprintf(why, n, "%s did not terminate with status 0", name);
                return -1;
            }
        }
    }
    if (check_rounds(why, n) < 0)
        return -1;
    return check_kernel(m, why, n);
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_t *arr = json_array();
    for (int role = 0; role < ROLE__COUNT; role++) {
        for (long k = 0; k < S->n[role]; k++) {
            const struct st_worker *w = &S->w[role][k];
            json_array_append_new(arr, json_pack("{s:s, s:i, s:I, s:f}", "role", ROLE_NAME[role],
                                                 "pid", atomic_load(&w->pid), "rounds",
                                                 (json_int_t)atomic_load(&w->rounds), "cpu_ms",
                                                 atomic_load(&w->cpu_ns) / 1e6));
        }
    }
    json_object_set_new(out, "workers", arr);
    json_object_set_new(out, "pinned_cpu", json_integer(S->cpu));
    json_object_set_new(out, "bytes_written", json_integer(atomic_load(&S->written)));
    json_object_set_new(out, "bytes_read", json_integer(atomic_load(&S->read)));
}

/* ---- narration ---- */

/* What a narration is about: a transition, a /proc sample or one of the task's own actions. */
enum transition {
    TR_NEW,
    TR_READY,
    TR_RUN,
    TR_PREEMPT,
    TR_BLOCK,
    TR_WAKE,
    TR_PROC,
    TR_ACT,
    TR__COUNT
};

/* At most one narration per task and transition per NARR_WINDOW_NS, or the kernel's thousands
 * of switches a second would scroll past unread. The panel asks for the newest events first
 * on every frame, so what it shows is the newest chosen event of each kind for each task. */
static int narr_pick(const struct scn_ctx *ctx, uint32_t task, int tr, uint64_t t)
{
    static uint64_t chosen[256][TR__COUNT];
    static const void *of;
    if (of != ctx->shared) {
        memset(chosen, 0, sizeof(chosen));
        of = ctx->shared;
    }
    if (task >= 256)
        return 1;
    uint64_t *c = &chosen[task][tr];
    if (t == *c)
        return 1;
    if (t < *c + NARR_WINDOW_NS)
        return 0;
    *c = t;
    return 1;
}

/* Why a task of this role leaves the CPU without being preempted. */
static const char *block_reason(int role, int zh)
{
    switch (role) {
    case ROLE_IO:
        return zh ? "等待管道 disk 里的数据(I/O)" : "waiting for data in the disk pipe (I/O)";
    case ROLE_SLEEP:
        return zh ? "在 nanosleep 里等定时器" : "waiting in nanosleep for its timer";
    case ROLE_DEVICE:
        return zh ? "等它自己的定时器(它扮演慢速设备)"
                  : "waiting for its own timer (it plays the slow device)";
    case ROLE_CPU:
        return zh ? "CPU 密集型进程只会在 ipcscope 的步进闸门(两段计算之间,等其他 CPU 进程一起"
                    "开始)或退出时这样做"
                  : "a CPU-bound worker only does that at ipcscope's step gate (between bursts, "
                    "waiting for the other CPU workers to start the next one with it) or when it "
                    "exits";
    default:
        return zh ? "等待某件事" : "waiting for something";
    }
}

/* 1 when t waits at ipcscope's step gate right now (read from the shared region). */
static int at_gate(const struct model_task *t)
{
    struct instr_shared *sh = instr_region();
    return sh && t->slot < sh->max_tasks && atomic_load(&sh->tasks[t->slot].gate) == GS_WAITING;
}

static int narr_sched(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int zh,
                      char *buf, size_t n)
{
    uint32_t idx = model_task_by_tid(m, e->tid);
    if (idx == MODEL_NO_TASK)
        return 0;
    const struct model_task *t = &m->tasks[idx];
    int role = role_of_name(t->name), tr;
    switch (e->kind) {
    case EV_WAKEUP_NEW:
        tr = TR_READY;
        break;
    case EV_SCHED_IN:
        tr = TR_RUN;
        break;
    case EV_SCHED_OUT:
        tr = e->val ? TR_PREEMPT : TR_BLOCK;
        break;
    default:
        tr = TR_WAKE;
        break;
    }
    if (!narr_pick(ctx, idx, tr, e->t))
        return 0;
    int gate = at_gate(t);
    const char *why = gate ? (zh ? "在 ipcscope 的步进闸门前等轮到它(一个 futex)"
                                 : "waiting at ipcscope's step gate (a futex) for its turn")
                           : block_reason(role, zh);
    const char *w = !gate && t->state == TS_BLOCKED && t->wchan[0] ? t->wchan : "?";
    switch (tr) {
    case TR_READY:
        return snprintf(
            buf, n,
            zh ? "新建 → 就绪:内核建好了 %s,把它放进 CPU%lld 的运行队列;它可以运行,"
                 "但要等调度器选中它。"
               : "new → ready: the kernel finished creating %s and put it on CPU "
                 "%lld's run queue; it can run, but waits until the scheduler picks it.",
            t->name, (long long)e->aux);
    case TR_RUN:
        return snprintf(buf, n,
                        zh ? "就绪 → 执行:调度器选中了 %s,它现在在 CPU%lld 上运行(到目前为止上 "
                             "CPU %llu 次)。"
                           : "ready → running: the scheduler picked %s; it now runs on CPU%lld "
                             "(switched in %llu times so far).",
                        t->name, (long long)e->aux, (unsigned long long)t->switches);
    case TR_PREEMPT:
        return snprintf(buf, n,
                        zh ? "执行 → 就绪:%s 被抢占(时间片用完,或别的任务该运行了)。它仍然可以运行,"
                             "只是回到运行队列里排队——它不在等任何东西,只在等 CPU。"
                           : "running → ready: %s was preempted (its time slice ran out, or "
                             "another task deserved the CPU). It can still run and queues again: "
                             "it waits for nothing but a CPU.",
                        t->name);
    case TR_BLOCK: {
        char in[96] = "";
        if (w[0] != '?')
            snprintf(in, sizeof(in), zh ? "(内核函数 %s)" : " (kernel function %s)", w);
        return snprintf(buf, n,
                        zh ? "执行 → 阻塞:%s 主动让出 CPU,%s;它在内核里睡眠%s,离开运行队列,"
                             "被唤醒之前不会再被调度。"
                           : "running → blocked: %s gave up the CPU itself, %s; it sleeps in the "
                             "kernel%s, off the run queue, and is not scheduled until woken.",
                        t->name, why, in);
    }
    default:
        return snprintf(buf, n,
                        zh ? "阻塞 → 就绪:%s 等的事情发生了,内核唤醒它;它又可以运行了,但还得排队等 "
                             "CPU%lld。"
                           : "blocked → ready: what %s waited for happened and the kernel woke "
                             "it; it can run again but must queue for CPU%lld.",
                        t->name, (long long)e->aux);
    }
}

/* /proc alone: "R" covers both running and ready. */
static int narr_procfs(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int zh,
                       char *buf, size_t n)
{
    uint32_t idx = model_task_by_tid(m, e->tid);
    if (idx == MODEL_NO_TASK || e->val != TS_RUNNING || !narr_pick(ctx, idx, TR_PROC, e->t))
        return 0;
    return snprintf(buf, n,
                    zh ? "/proc 显示 %s 的状态是 R:可能正在运行,也可能在就绪队列里等 CPU——/proc "
                         "区分不了执行和就绪。以 root 运行(开启 bpf)才能看到内核的调度事件。"
                       : "/proc shows %s as R: running or ready, /proc cannot tell which. Run "
                         "as root (bpf on) to see the kernel's own scheduling events.",
                    m->tasks[idx].name);
}

static int narr_life(const struct model *m, const struct ev *e, int zh, char *buf, size_t n)
{
    const char *who = ipc_ev_task_name(m, e);
    int bpf = (m->src_seen & (1u << EV_SRC_BPF)) != 0;
    switch (e->kind) {
    case EV_TASK_START:
        return snprintf(buf, n,
                        zh ? "%s 诞生了(新建 → 就绪 → 执行):它正在运行自己的第一行代码。%s"
                           : "%s is born (new → ready → running): it is running its first line of "
                             "code.%s",
                        who,
                        bpf ? ""
                            : (zh ? " 没有 bpf 时只能看 /proc,而 /proc 区分不了就绪和执行。"
                                  : " Without bpf only /proc is watched, and /proc cannot tell "
                                    "ready from running."));
    case EV_TASK_EXIT:
        return snprintf(buf, n,
                        zh ? "执行 → 终止:%s 调用了 exit(%lld)。在父进程 wait() 之前它是僵尸进程。"
                           : "running → terminated: %s called exit(%lld). Until its parent calls "
                             "wait() it is a zombie.",
                        who, (long long)e->val);
    case EV_TASK_REAPED: {
        /* a reap the kernel reported has no slot: the reaped task by its tid */
        uint32_t dead = model_task_by_tid(m, e->tid);
        if (dead < m->ntasks)
            who = m->tasks[dead].name;
        return snprintf(buf, n,
                        zh ? "终止:父进程用 wait() 收走了 %s 的退出状态,它的进程表项消失了。"
                           : "terminated: the parent collected %s's exit status with wait(); its "
                             "process entry is gone.",
                        who);
    }
    default:
        return 0;
    }
}

static int narr_action(const struct model *m, const struct ev *e, int zh, char *buf, size_t n)
{
    const char *who = ipc_ev_task_name(m, e);
    switch (e->kind) {
    case EV_NOTE:
        if (role_of_name(who) == ROLE_CPU)
            return snprintf(
                buf, n,
                zh ? "%s 开始计算(%.*s):纯计算,从不阻塞,只有抢占才能让它离开 CPU。%s"
                   : "%s starts computing (%.*s): pure computation never blocks, so "
                     "only preemption takes the CPU away from it.%s",
                who, EV_TEXT_MAX, e->text,
                m->src_seen & (1u << EV_SRC_BPF)
                    ? ""
                    : (zh ? " 没有 bpf:/proc 不论它在运行还是在就绪队列里等 CPU,都显示 R,"
                            "区分不了就绪和执行。"
                          : " Without bpf, /proc shows R whether it runs or waits "
                            "for the CPU: it cannot tell ready from running."));
        return 0;
    case EV_SLEEP:
        if (role_of_name(who) == ROLE_DEVICE)
            return snprintf(buf, n,
                            zh ? "设备(device)花 %lld ms 准备下一条记录(一个定时器);这段时间里 IO "
                                 "进程阻塞在 read() 里,不占 CPU。"
                               : "The device takes %lld ms to produce the next record (a timer); "
                                 "meanwhile the IO workers are blocked in read(), using no CPU.",
                            (long long)e->val);
        return snprintf(buf, n,
                        zh ? "%s 调用 nanosleep(%lld ms):它在内核里阻塞,不在任何运行队列里;"
                             "定时器到期后才回到就绪状态。"
                           : "%s calls nanosleep(%lld ms): it blocks in the kernel, on no run "
                             "queue, and becomes ready again only when the timer fires.",
                        who, (long long)e->val);
    case EV_PIPE_READ:
        return snprintf(buf, n,
                        zh ? "%s 从管道 disk 读到 %lld 字节:它等的 I/O 到了;它算一小会儿,又去读,"
                             "大部分时间都阻塞着。"
                           : "%s read %lld bytes from the disk pipe: the I/O it waited for "
                             "arrived; it computes briefly and reads again, blocked most of the "
                             "time.",
                        who, (long long)e->item);
    default:
        return 0;
    }
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    int zh = lang == LANG_ZH;
    switch (e->kind) {
    case EV_WAKEUP:
    case EV_WAKEUP_NEW:
    case EV_SCHED_IN:
    case EV_SCHED_OUT:
        return narr_sched(ctx, m, e, zh, buf, n) > 0;
    case EV_STATE:
        return e->src == EV_SRC_PROCFS && !(m->src_seen & (1u << EV_SRC_BPF)) &&
               narr_procfs(ctx, m, e, zh, buf, n) > 0;
    case EV_TASK_START:
    case EV_TASK_EXIT:
    case EV_TASK_REAPED:
        return narr_life(m, e, zh, buf, n) > 0;
    default: {
        /* the task's own actions are rate-limited like its transitions; a silenced one is an
         * empty narration, so that the generic text does not speak for it either */
        const struct model_task *t = ipc_ev_task(m, e);
        if (t && !narr_pick(ctx, (uint32_t)(t - m->tasks), TR_ACT, e->t)) {
            buf[0] = '\0';
            return 1;
        }
        return narr_action(m, e, zh, buf, n) > 0;
    }
    }
}

const struct scenario scenario_states = {
    .id = "states",
    .chapter = 5,
    .title_en = "Process states: new, ready, running, blocked, terminated",
    .title_zh = "进程状态:新建、就绪、执行、阻塞、终止",
    .summary_en = "The five-state model with real processes: CPU-bound workers spin, IO-bound "
                  "workers read a pipe a slow device feeds, sleepers sleep; pinned to one CPU, "
                  "runnable tasks queue in READY while one runs. With bpf (root) the kernel's "
                  "scheduler events show every transition (new → ready → running → blocked → "
                  "ready … → terminated) with times and context switches; /proc alone cannot "
                  "tell ready from running. CPU workers pass the step gate once per 500 ms "
                  "burst and run free inside it.",
    .summary_zh = "用真实进程演示五状态模型:CPU 密集型进程空转计算,IO 密集型进程读一个由慢速"
                  "设备供数据的管道,睡眠进程睡觉;绑定到同一个 CPU 时,一个在运行,其余可运行的"
                  "进程在就绪队列里排队。开启 bpf(root)后,内核调度事件展示每一次状态转换"
                  "(新建 → 就绪 → 执行 → 阻塞 → 就绪 … → 终止)及各状态时间和上下文切换次数;"
                  "只看 /proc 区分不了就绪和执行。CPU 进程每 500 ms 的计算段经过一次步进闸门,"
                  "段内自由运行。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .shared_size = sizeof(struct st_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
