/*
 * zombie.c - children that exit while their parent does not wait become zombies, and the
 * five ways of getting rid of them (chapter 5).
 *
 * The parent forks a batch of short-lived children and then ignores them: each one that
 * exits stays a zombie (state Z in /proc) until someone waits for it. A remedy, chosen by a
 * key or by the `remedy` parameter, then clears them the way the course notes describe:
 * wait() one at a time, a waitpid(WNOHANG) loop, a SIGCHLD handler, SIGCHLD set to SIG_IGN,
 * or the double-fork pattern. With no remedy the parent exits first and ipcscope (the
 * subreaper) adopts and reaps them. Zombie counts come from /proc, before and after.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../narrate.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define ZB_MAX 8
#define HOLD_STEP_MS 1000 /* stepped, the parent's waits pass a second a step */

enum { R_NONE, R_WAIT, R_WAITPID, R_HANDLER, R_IGNORE, R_DOUBLE_FORK, R__COUNT };

static const char *const remedy_names[R__COUNT] = {"none (the parent exits first)",
                                                   "wait()",
                                                   "waitpid(WNOHANG) loop",
                                                   "SIGCHLD handler",
                                                   "SIGCHLD = SIG_IGN",
                                                   "double fork"};

struct zombie_shared {
    long children, hold_ms, after_ms, param_remedy;
    _Atomic int remedy_req;   /* a key asked for this remedy (0: none yet) */
    _Atomic int wait_presses; /* 'w' presses not yet served */
    _Atomic int remedy;       /* the remedy applied */
    _Atomic int zombies_before, zombies_after, zombies_max;
    _Atomic int batch2_zombies; /* zombies among the children started after the remedy */
    int32_t batch1[ZB_MAX], batch2[ZB_MAX];
};

static struct zombie_shared *S;

static const struct scenario_param params[] = {
    {"children", "children per batch", "每批子进程数", 1, ZB_MAX, 3},
    {"hold_ms", "how long the parent ignores its dead children", "父进程忽略已退出子进程的毫秒数",
     100, 120000, 3000},
    {"after_ms", "how long the parent lives on after the remedy", "补救之后父进程继续运行的毫秒数",
     100, 60000, 1000},
    {"remedy", "0 none, 1 wait, 2 waitpid WNOHANG, 3 SIGCHLD handler, 4 SIG_IGN, 5 double fork",
     "0 无, 1 wait, 2 waitpid WNOHANG, 3 SIGCHLD 处理函数, 4 SIG_IGN, 5 二级子进程", 0, 5, 0},
};

/* ---- children ---- */

static int child(void *arg)
{
    long i = (long)(intptr_t)arg;
    ipc_set_comm("zombie-child");
    ipc_sleep_ms(50 * (i + 1));
    instr_gate(EV_TASK_EXIT, EV_NO_OBJ);
    return (int)i + 1;
}

static pid_t g_middle; /* in a grandchild: the middle child that forked it */

/* Double fork, the grandchild: waits to be adopted, does the work, exits. */
static int grandchild(void *arg)
{
    pid_t first = g_middle;
    while (getppid() == first) /* the middle child's exit: not a step */
        if (sclock_poll(2) < 0)
            return 0;
    instr_rearm_deathsig(); /* adopted by the conductor: now its child, it dies with it */
    instr_emit(EV_REPARENT, EV_NO_OBJ, getppid(), 0, first);
    return child(arg);
}

/* Double fork, the middle child: starts the grandchild and exits at once. */
static int middle(void *arg)
{
    char name[32];
    snprintf(name, sizeof(name), "grandchild-%ld", (long)(intptr_t)arg + 1);
    g_middle = getpid();
    pid_t pid = instr_spawn(name, grandchild, arg, INSTR_SPAWN_ORPHANABLE);
    return pid < 0 ? 1 : 0;
}

static void spawn_batch(int32_t *pids, int double_fork)
{
    for (long i = 0; i < S->children; i++) {
        char name[32];
        snprintf(name, sizeof(name), "%s-%ld", double_fork ? "middle" : "child", i + 1);
        instr_gate(EV_FORK_RET, EV_NO_OBJ);
        pid_t pid = instr_spawn(name, double_fork ? middle : child, (void *)(intptr_t)i, 0);
        pids[i] = pid > 0 ? pid : 0;
        instr_emit(EV_FORK_RET, EV_NO_OBJ, pid, i + 1, 0);
    }
}

/* ---- the parent ---- */

/* Own children of batch pids now in state Z (from /proc). */
static int count_zombies(const int32_t *pids)
{
    int z = 0;
    for (long i = 0; i < S->children; i++)
        if (pids[i] > 0 && ipc_proc_state(pids[i]) == 'Z' && ipc_proc_ppid(pids[i]) == getpid())
            z++;
    return z;
}

static int reap_one(int options)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, options)) < 0 && errno == EINTR)
        ;
    if (pid > 0)
        ipc_emit_reaped(pid, status, getpid());
    return pid;
}

static void sweep(void)
{
    instr_gate(EV_TASK_REAPED, EV_NO_OBJ);
    while (reap_one(WNOHANG) > 0)
        ;
}

/* SIGCHLD handler: reap everyone who has exited; the main loop reports them. */
static struct {
    pid_t pid;
    int status;
} g_reaped[2 * ZB_MAX + 8];
static _Atomic int g_nreaped;
static int g_reported;

static void on_sigchld(int sig)
{
    (void)sig;
    int saved = errno, status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        int i = atomic_load(&g_nreaped);
        if (i < (int)(sizeof(g_reaped) / sizeof(g_reaped[0]))) {
            g_reaped[i].pid = pid;
            g_reaped[i].status = status;
            atomic_store(&g_nreaped, i + 1);
        }
    }
    errno = saved;
}

static void report_handled(void)
{
    while (g_reported < atomic_load(&g_nreaped)) {
        instr_emit(EV_SIG_HANDLE, EV_NO_OBJ, SIGCHLD, 0, 0);
        ipc_emit_reaped(g_reaped[g_reported].pid, g_reaped[g_reported].status, getpid());
        g_reported++;
    }
}

/* Children of batch 2 that vanished without a wait (SIG_IGN): the kernel reaped them. */
static void report_autoreaped(void)
{
    for (long i = 0; i < S->children; i++) {
        if (S->batch2[i] > 0 && ipc_proc_state(S->batch2[i]) == 0) {
            ipc_emit_reaped(S->batch2[i], 0, 0);
            S->batch2[i] = -S->batch2[i];
        }
    }
}

/* Serve 'w' presses during the hold: one wait() each. */
static void serve_wait_presses(void)
{
    while (atomic_load(&S->wait_presses) > 0) {
        atomic_fetch_sub(&S->wait_presses, 1);
        instr_gate(EV_TASK_REAPED, EV_NO_OBJ);
        reap_one(0);
    }
}

static void note_zombies(void)
{
    int z = count_zombies(S->batch1);
    if (z > atomic_load(&S->zombies_max))
        atomic_store(&S->zombies_max, z);
}

/* The parent ignores its children for hold_ms of scenario time (stepped: a step a second),
 * serving 'w' presses meanwhile; returns the remedy to apply, or -1 when the run stops. */
static int hold(void)
{
    for (long t = 0, dt; t < S->hold_ms; t += dt) {
        int req = atomic_load(&S->remedy_req);
        if (req > R_WAIT)
            return req;
        serve_wait_presses();
        note_zombies();
        long left = S->hold_ms - t;
        if ((dt = ipc_pass_ms(left < HOLD_STEP_MS ? left : HOLD_STEP_MS,
                              "the parent ignores them")) < 0)
            return -1;
    }
    serve_wait_presses(); /* pressed during the last step */
    note_zombies();
    int req = atomic_load(&S->remedy_req);
    return req ? req : (int)S->param_remedy;
}

static void apply_remedy(int r)
{
    struct sigaction sa = {.sa_flags = SA_RESTART | SA_NOCLDSTOP};
    instr_note("remedy: %s", remedy_names[r]);
    switch (r) {
    case R_WAIT:
        for (;;) { /* one wait() at a time, until no child is left */
            instr_gate(EV_TASK_REAPED, EV_NO_OBJ);
            if (reap_one(0) < 0 || sclock_sleep(150, 0, "before the next wait()") < 0)
                break;
        }
        break;
    case R_WAITPID:
        sweep();
        break;
    case R_HANDLER:
        sa.sa_handler = on_sigchld;
        sigaction(SIGCHLD, &sa, NULL);
        spawn_batch(S->batch2, 0);
        break;
    case R_IGNORE:
        signal(SIGCHLD, SIG_IGN);
        spawn_batch(S->batch2, 0);
        sweep(); /* Linux does not reap the ones that were already zombies */
        break;
    case R_DOUBLE_FORK:
        spawn_batch(S->batch2, 1);
        for (long i = 0; i < S->children; i++) {
            int status;
            if (S->batch2[i] > 0 && waitpid(S->batch2[i], &status, 0) > 0)
                ipc_emit_reaped(S->batch2[i], status, getpid());
        }
        sweep(); /* the old zombies of batch 1 */
        break;
    default:
        break;
    }
}

/* After the remedy: watch for zombies of the parent (there should be none). */
static void after(int r)
{
    int b2 = 0;
    for (long t = 0, dt; t < S->after_ms; t += dt) {
        if (r == R_HANDLER)
            report_handled();
        if (r == R_IGNORE)
            report_autoreaped();
        int z2 = count_zombies(S->batch2);
        b2 = z2 > b2 ? z2 : b2;
        long left = S->after_ms - t;
        if ((dt = ipc_pass_ms(left < HOLD_STEP_MS ? left : HOLD_STEP_MS, "the parent lives on")) <
            0)
            break;
    }
    if (r == R_IGNORE)
        report_autoreaped();
    if (r == R_HANDLER)
        report_handled();
    atomic_store(&S->zombies_after, count_zombies(S->batch1) + count_zombies(S->batch2));
    atomic_store(&S->batch2_zombies, b2);
}

static int parent(void *arg)
{
    (void)arg;
    ipc_set_comm("zombie-parent");
    spawn_batch(S->batch1, 0);
    int r = hold();
    if (r < 0)
        return 0;
    atomic_store(&S->zombies_before, count_zombies(S->batch1));
    atomic_store(&S->remedy, r);
    if (r == R_NONE) {
        instr_note("exiting with %d zombie children", atomic_load(&S->zombies_before));
        atomic_store(&S->zombies_after, -1);
        return 0; /* the subreaper adopts and reaps them */
    }
    apply_remedy(r);
    after(r);
    return 0;
}

/* ---- conductor side ---- */

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(4 * scn_param(ctx, "children") + 8);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->children = scn_param(ctx, "children");
    S->hold_ms = scn_param(ctx, "hold_ms");
    S->after_ms = scn_param(ctx, "after_ms");
    S->param_remedy = scn_param(ctx, "remedy");
    pid_t pid = instr_spawn("parent", parent, NULL, 0);
    if (pid < 0) {
        snprintf(err, n, "cannot fork the parent: %s", strerror((int)-pid));
        return (int)pid;
    }
    return 0;
}

static int request(int r, char *msg, size_t n)
{
    int expect = 0;
    if (r == R_WAIT) {
        atomic_fetch_add(&S->wait_presses, 1);
        snprintf(msg, n, "the parent calls wait() once");
        return 0;
    }
    if (!atomic_compare_exchange_strong(&S->remedy_req, &expect, r)) {
        snprintf(msg, n, "a remedy was already chosen");
        return -EALREADY;
    }
    snprintf(msg, n, "remedy: %s", remedy_names[r]);
    return 0;
}

static int act_wait(struct scn_ctx *c, char *m, size_t n)
{
    (void)c;
    return request(R_WAIT, m, n);
}
static int act_waitpid(struct scn_ctx *c, char *m, size_t n)
{
    (void)c;
    return request(R_WAITPID, m, n);
}
static int act_handler(struct scn_ctx *c, char *m, size_t n)
{
    (void)c;
    return request(R_HANDLER, m, n);
}
static int act_ignore(struct scn_ctx *c, char *m, size_t n)
{
    (void)c;
    return request(R_IGNORE, m, n);
}
static int act_double(struct scn_ctx *c, char *m, size_t n)
{
    (void)c;
    return request(R_DOUBLE_FORK, m, n);
}

/* Tasks the model holds as zombies now. */
static int zombies_in(const struct model *m)
{
    int z = 0;
    for (size_t i = 0; i < m->ntasks; i++)
        z += m->tasks[i].state == TS_ZOMBIE;
    return z;
}

/* The pinned line: the zombies while they wait for a remedy, then how it ended. */
static void update_pin(struct scn_ctx *ctx, const struct model *m, int end)
{
    int zh = ctx->lang == LANG_ZH, z = zombies_in(m), r = atomic_load(&S->remedy);
    if (end && r == R_NONE)
        snprintf(ctx->pin, sizeof(ctx->pin), "%s",
                 zh ? "没有补救:父进程先退出,它的僵尸子进程被 ipcscope(子进程收割者)收养并回收。"
                    : "No remedy: the parent exited first; its zombie children were adopted by "
                      "ipcscope (the subreaper), which reaped them.");
    else if (end)
        snprintf(ctx->pin, sizeof(ctx->pin),
                 zh ? "补救 %s:之前有 %d 个僵尸,之后剩 %d 个。"
                    : "Remedy %s: %d zombies before it, %d left after it.",
                 remedy_names[r], atomic_load(&S->zombies_before),
                 atomic_load(&S->zombies_after) < 0 ? 0 : atomic_load(&S->zombies_after));
    else if (z > 0 && !atomic_load(&S->zombies_before))
        snprintf(ctx->pin, sizeof(ctx->pin),
                 zh ? "%d 个僵尸%s:子进程已退出,但父进程没有调用 wait(),所以每个都以 Z 状态留在"
                      "进程表里,保存着退出码。按 a 选一种补救方法。"
                    : "%d zombie%s: the children exited but their parent has not called wait(), "
                      "so each stays in the process table (Z) with its exit code. Press a for a "
                      "remedy.",
                 z, zh || z == 1 ? "" : "s");
    else
        ctx->pin[0] = '\0';
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    update_pin(ctx, m, 0);
    return 0;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    update_pin(ctx, m, 1);
    int r = atomic_load(&S->remedy);
    if (atomic_load(&S->zombies_max) == 0) {
        snprintf(why, n, "no zombie was ever seen before the remedy");
        return -1;
    }
    if (r != R_NONE && atomic_load(&S->zombies_after) != 0) {
        snprintf(why, n, "%d zombies left after %s", atomic_load(&S->zombies_after),
                 remedy_names[r]);
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    int zombies_now = 0; /* tasks the model holds as zombies at the end */
    for (size_t i = 0; i < m->ntasks; i++)
        zombies_now += m->tasks[i].state == TS_ZOMBIE;
    int r = atomic_load(&S->remedy);
    json_object_set_new(out, "remedy", json_integer(r));
    json_object_set_new(out, "remedy_name", json_string(remedy_names[r]));
    json_object_set_new(out, "zombies_max", json_integer(atomic_load(&S->zombies_max)));
    json_object_set_new(out, "zombies_before", json_integer(atomic_load(&S->zombies_before)));
    json_object_set_new(out, "zombies_after", json_integer(atomic_load(&S->zombies_after)));
    json_object_set_new(out, "batch2_zombies", json_integer(atomic_load(&S->batch2_zombies)));
    json_object_set_new(out, "zombies_in_model", json_integer(zombies_now));
}

static int narrate_reaped(const struct model *m, const struct ev *e, int zh, char *buf, size_t n)
{
    char name[64];
    const char *who = narrate_task_name(m, e, name, sizeof(name)); /* the kernel's: by tid */
    if (e->aux == 0)
        snprintf(buf, n,
                 zh ? "%s 退出时父进程忽略了 SIGCHLD(SIG_IGN),内核直接回收了它,没有留下僵尸。"
                    : "%s exited while its parent ignores SIGCHLD (SIG_IGN): the kernel reaped "
                      "it at once, no zombie.",
                 who);
    else
        snprintf(buf, n,
                 zh ? "%s 被进程 %lld 回收(wait),僵尸消失,它的退出码是 %lld。"
                    : "%s was reaped by %lld (a wait): the zombie is gone; its exit code was "
                      "%lld.",
                 who, (long long)e->aux, (long long)e->val);
    return 1;
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    int zh = lang == LANG_ZH;
    const struct model_task *t = ipc_ev_task(m, e);
    if (e->kind == EV_TASK_REAPED)
        return narrate_reaped(m, e, zh, buf, n);
    if (e->kind == EV_TASK_EXIT && t && strncmp(t->name, "child", 5) == 0) {
        snprintf(buf, n,
                 zh ? "%s 退出了,但父进程没有 wait 它:它成了僵尸(Z),只剩进程表里的一项和退出码。"
                    : "%s exited but its parent has not waited for it: it is a zombie (Z), just "
                      "a process-table entry holding its exit code.",
                 t->name);
        return 1;
    }
    if (e->kind == EV_SIG_HANDLE) {
        snprintf(buf, n,
                 zh ? "SIGCHLD 处理函数运行:它循环调用 waitpid(WNOHANG) 回收所有已退出的子进程。"
                    : "The SIGCHLD handler runs: it loops on waitpid(WNOHANG) and reaps every "
                      "child that has exited.");
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'w', "wait() for one child", "wait() 回收一个子进程", act_wait},
    {'n', "waitpid(-1, WNOHANG) loop", "waitpid(-1, WNOHANG) 循环", act_waitpid},
    {'h', "install a SIGCHLD handler", "安装 SIGCHLD 处理函数", act_handler},
    {'i', "set SIGCHLD to SIG_IGN", "把 SIGCHLD 设为 SIG_IGN", act_ignore},
    {'d', "switch to the double-fork pattern", "改用二级子进程(两次 fork)", act_double},
};

const struct scenario scenario_zombie = {
    .id = "zombie",
    .chapter = 5,
    .title_en = "Zombie processes and how to avoid them",
    .title_zh = "僵尸进程及其处理方法",
    .summary_en = "Children exit while their parent does not wait for them: each stays a zombie "
                  "(state Z) holding its exit status, with a growing zombie time. Pick a remedy: "
                  "wait() one at a time, a waitpid(WNOHANG) loop, a SIGCHLD handler that reaps, "
                  "SIGCHLD set to SIG_IGN so the kernel reaps new children, or the double fork, "
                  "where the grandchild is adopted by a reaper. With no remedy the parent exits "
                  "first and the orphaned zombies are adopted and reaped.",
    .summary_zh = "子进程退出了而父进程没有等待它们:每个子进程都成了僵尸(状态 Z),保留着退出状态,"
                  "僵尸时间不断增长。选择一种处理方法:wait() 逐个回收、waitpid(WNOHANG) 循环、"
                  "SIGCHLD 信号处理函数回收、把 SIGCHLD 设为 SIG_IGN 让内核回收新子进程,或者"
                  "创建二级子进程让孙进程被收养。如果什么都不做,父进程先退出,僵尸被收养并回收。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct zombie_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
