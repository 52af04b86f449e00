/*
 * orphan.c - a parent exits before its child; the orphan is adopted (chapter 5).
 *
 * The parent forks a child and then exits (or is killed). The kernel hands the orphan to
 * the nearest subreaper, which here is ipcscope itself (normally it would be init or a
 * systemd user manager), so its PPID changes on screen. The child notices the change with
 * getppid(), reports it, lives on for a while and is finally reaped by its new parent.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct orphan_shared {
    long parent_ms, child_ms, kill_parent;
    _Atomic int32_t parent_pid, child_pid;
    _Atomic int32_t ppid_before, ppid_after;
    _Atomic int parent_gone;
    int32_t conductor;
};

static struct orphan_shared *S;

static const struct scenario_param params[] = {
    {"parent_ms", "how long the parent lives after forking", "父进程 fork 后存活的毫秒数", 0, 60000,
     400},
    {"child_ms", "how long the child lives after adoption", "子进程被收养后继续运行的毫秒数", 0,
     60000, 500},
    {"kill_parent", "1: the parent is killed (SIGKILL) instead of exiting",
     "1:父进程被 SIGKILL 杀死而不是正常退出", 0, 1, 0},
};

/* Poll getppid() until it changes (or the run stops): the parent's end is another task's
 * step, so the polling is not one. Returns the new parent. */
static pid_t wait_for_adoption(pid_t before)
{
    pid_t now;
    while ((now = getppid()) == before && sclock_poll(20) == 0)
        ;
    return now;
}

static int child(void *arg)
{
    (void)arg;
    ipc_set_comm("orphan-child");
    pid_t before = getppid();
    atomic_store(&S->ppid_before, before);
    instr_note("my parent is %d", (int)before);

    pid_t after = wait_for_adoption(before);
    instr_rearm_deathsig(); /* the old parent's death signal died with it */
    atomic_store(&S->ppid_after, after);
    instr_gate(EV_REPARENT, EV_NO_OBJ);
    instr_emit(EV_REPARENT, EV_NO_OBJ, after, 0, before);
    instr_note("adopted by %d", (int)after); /* a note holds 31 bytes */
    sclock_sleep(S->child_ms, 0, "the orphan lives on");
    return 0;
}

static int parent(void *arg)
{
    (void)arg;
    ipc_set_comm("orphan-parent");
    atomic_store(&S->parent_pid, getpid());
    instr_gate(EV_FORK_RET, EV_NO_OBJ);
    pid_t pid = instr_spawn("child", child, NULL, INSTR_SPAWN_ORPHANABLE);
    if (pid < 0)
        return 1;
    atomic_store(&S->child_pid, pid);
    instr_emit(EV_FORK_RET, EV_NO_OBJ, pid, 1, 0);
    while (!atomic_load(&S->ppid_before)) /* the child has seen its first parent */
        if (sclock_poll(1) < 0)
            return 0;

    for (long t = 0, dt = 0; t < S->parent_ms && !atomic_load(&S->parent_gone); t += dt)
        if ((dt = ipc_pass_ms(S->parent_ms - t, "the parent lives on")) < 0)
            break;
    instr_gate(EV_TASK_EXIT, EV_NO_OBJ);
    if (S->kill_parent) {
        instr_note("killing myself with SIGKILL");
        instr_task_end(128 + SIGKILL);
        raise(SIGKILL);
    }
    instr_note("exiting, not waiting for child");
    return 0;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->parent_ms = scn_param(ctx, "parent_ms");
    S->child_ms = scn_param(ctx, "child_ms");
    S->kill_parent = scn_param(ctx, "kill_parent");
    S->conductor = ctx->conductor;
    pid_t pid = instr_spawn("parent", parent, NULL, 0);
    if (pid < 0) {
        snprintf(err, n, "cannot fork the parent: %s", strerror((int)-pid));
        return (int)pid;
    }
    return 0;
}

static int act_end_parent(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    atomic_store(&S->parent_gone, 1);
    snprintf(msg, n, "the parent ends now");
    return 0;
}

static int act_kill_parent(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    pid_t pid = atomic_load(&S->parent_pid);
    if (pid <= 0 || kill(pid, SIGKILL) < 0) {
        snprintf(msg, n, "the parent is not running");
        return -ESRCH;
    }
    snprintf(msg, n, "sent SIGKILL to the parent (pid %d)", (int)pid);
    return 0;
}

/* The pinned line, once the child has seen its new parent: who adopted it, and (at the end)
 * that the new parent reaped it. */
static void update_pin(struct scn_ctx *ctx, int end)
{
    pid_t before = atomic_load(&S->ppid_before), after = atomic_load(&S->ppid_after);
    if (!after) {
        ctx->pin[0] = '\0';
        return;
    }
    int zh = ctx->lang == LANG_ZH;
    snprintf(ctx->pin, sizeof(ctx->pin),
             zh ? "孤儿:父进程 %d 先结束了,子进程被 %d(ipcscope,子进程收割者;平时是 init)收养,"
                  "getppid() 现在返回 %d。%s"
                : "Orphan: its parent %d ended first, so %d (ipcscope, the subreaper; normally "
                  "init) adopted the child and getppid() now returns %d.%s",
             (int)before, (int)after, (int)after,
             !end ? ""
             : zh ? "新的父进程回收了它,所以它不会一直是僵尸。"
                  : " Its new parent reaped it, so it never stays a zombie.");
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    update_pin(ctx, 0);
    return 0;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)m;
    update_pin(ctx, 1);
    pid_t before = atomic_load(&S->ppid_before), after = atomic_load(&S->ppid_after);
    if (before != atomic_load(&S->parent_pid)) {
        snprintf(why, n, "the child's first parent was %d, not the parent", (int)before);
        return -1;
    }
    if (after != ctx->conductor) {
        snprintf(why, n, "the orphan was adopted by %d, not by ipcscope (%d)", (int)after,
                 (int)ctx->conductor);
        return -1;
    }
    return 0;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)m;
    pid_t after = atomic_load(&S->ppid_after);
    json_object_set_new(out, "parent_pid", json_integer(atomic_load(&S->parent_pid)));
    json_object_set_new(out, "child_pid", json_integer(atomic_load(&S->child_pid)));
    json_object_set_new(out, "child_ppid_before", json_integer(atomic_load(&S->ppid_before)));
    json_object_set_new(out, "child_ppid_after", json_integer(after));
    json_object_set_new(out, "adopted_by_subreaper", json_boolean(after == ctx->conductor));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const char *who = ipc_ev_task_name(m, e);
    int zh = lang == LANG_ZH;
    if (e->kind == EV_REPARENT && e->src == EV_SRC_INSTR) {
        snprintf(buf, n,
                 zh ? "%s 调用 getppid():现在返回 %lld,不再是 %lld——它发现自己被收养了。"
                    : "%s calls getppid(): it now returns %lld, no longer %lld - the child sees "
                      "it was adopted.",
                 who, (long long)e->val, (long long)e->aux);
        return 1;
    }
    if (e->kind == EV_REPARENT) {
        snprintf(buf, n,
                 zh ? "%s 的父进程 %lld 已经结束,它成了孤儿进程,被 %lld(ipcscope,子进程收割者)"
                      "收养;平时收养孤儿的是 init(PID 1)。"
                    : "%s lost its parent %lld and became an orphan; %lld (ipcscope, the "
                      "subreaper) adopted it. Normally init (PID 1) would.",
                 who, (long long)e->aux, (long long)e->val);
        return 1;
    }
    if (e->kind == EV_TASK_EXIT && strcmp(who, "parent") == 0) {
        snprintf(buf, n,
                 zh ? "父进程先退出了,没有等待它的子进程。"
                    : "The parent exits first, without waiting for its child.");
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'e', "let the parent exit now", "让父进程现在退出", act_end_parent},
    {'k', "kill the parent (SIGKILL)", "杀死父进程 (SIGKILL)", act_kill_parent},
};

const struct scenario scenario_orphan = {
    .id = "orphan",
    .chapter = 5,
    .title_en = "Orphan process: the parent exits first",
    .title_zh = "孤儿进程:父进程先退出",
    .summary_en = "The parent forks a child and exits (or is killed) while the child still "
                  "runs. The orphan is adopted: its PPID changes to the nearest subreaper, here "
                  "ipcscope itself (normally init). The new parent is the one that finally reaps "
                  "it, so an orphan never stays a zombie.",
    .summary_zh = "父进程 fork 出子进程后,在子进程还在运行时先退出(或被杀死)。孤儿进程会被收养:"
                  "它的 PPID 变成最近的子进程收割者,这里就是 ipcscope 本身(通常是 init)。"
                  "新的父进程最终回收它,所以孤儿进程不会一直是僵尸。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct orphan_shared),
    .setup = setup,
    .finished = finished,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
