/*
 * fork.c - what fork() returns in each copy, and why a variable changed after fork stays
 * different in each (chapter 5).
 *
 * A parent process sets x = 10 and forks children. fork returns the child's pid in the
 * parent and 0 in the child; each copy reports getpid/getppid and changes its own x, and
 * the trace shows the copies diverging. The parent then waits for (reaps) every child.
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
#include <sys/wait.h>
#include <unistd.h>

#define FORK_MAX 16

struct fork_copy {
    int32_t pid, ppid, fork_ret;
    int64_t x;
    int used;
};

struct fork_shared {
    long children, linger_ms;
    _Atomic int more;    /* 'f' presses not yet served */
    _Atomic int nforked; /* children forked so far */
    int32_t parent_fork_ret[FORK_MAX];
    struct fork_copy copies[FORK_MAX + 1]; /* [0] the parent, [1+i] child i */
};

static struct fork_shared *S;
static int64_t g_x; /* each process's own copy of x */

static const struct scenario_param params[] = {
    {"children", "children to fork", "创建的子进程数", 1, 8, 2},
    {"linger_ms", "how long the parent stays before waiting", "父进程等待回收前停留的毫秒数", 0,
     60000, 600},
};

static void set_x(int64_t v)
{
    instr_gate_label(EV_VAR, EV_NO_OBJ, "set its x to %lld", (long long)v);
    g_x = v;
    instr_emit(EV_VAR, EV_NO_OBJ, g_x, 0, 0);
}

static void record(int idx, int32_t fork_ret)
{
    struct fork_copy *c = &S->copies[idx];
    c->pid = getpid();
    c->ppid = getppid();
    c->fork_ret = fork_ret;
    c->x = g_x;
    c->used = 1;
}

static int child(void *arg)
{
    int i = (int)(intptr_t)arg;
    char name[32];
    snprintf(name, sizeof(name), "fork-child-%d", i + 1);
    ipc_set_comm(name);
    instr_gate_label(EV_FORK_RET, EV_NO_OBJ, "fork() returns 0");
    instr_emit(EV_FORK_RET, EV_NO_OBJ, 0, 0, 0); /* fork returned 0 in this copy */
    instr_note("getpid=%d getppid=%d", (int)getpid(), (int)getppid());
    set_x(g_x + 100 * (i + 1));
    record(i + 1, 0);
    sclock_sleep(S->linger_ms / 2, 0, "the child lingers");
    return 0;
}

/* Fork child number i from the parent; 0 or -errno. */
static int fork_one(int i)
{
    char name[32];
    snprintf(name, sizeof(name), "child-%d", i + 1);
    instr_gate(EV_FORK_RET, EV_NO_OBJ);
    pid_t pid = instr_spawn(name, child, (void *)(intptr_t)i, 0);
    if (pid < 0)
        return (int)pid;
    S->parent_fork_ret[i] = pid;
    instr_emit(EV_FORK_RET, EV_NO_OBJ, pid, i + 1, 0); /* item: which child */
    return 0;
}

static void serve_more(void)
{
    while (atomic_load(&S->more) > 0 && atomic_load(&S->nforked) < FORK_MAX) {
        atomic_fetch_sub(&S->more, 1);
        if (fork_one(atomic_load(&S->nforked)) == 0)
            atomic_fetch_add(&S->nforked, 1);
    }
}

static void reap_children(void)
{
    int status;
    pid_t pid;
    instr_gate(EV_TASK_REAPED, EV_NO_OBJ);
    while ((pid = waitpid(-1, &status, 0)) > 0 || errno == EINTR)
        if (pid > 0)
            ipc_emit_reaped(pid, status, getpid());
}

static int parent(void *arg)
{
    (void)arg;
    ipc_set_comm("fork-parent");
    instr_note("getpid=%d getppid=%d", (int)getpid(), (int)getppid());
    set_x(10);
    for (int i = 0; i < S->children; i++)
        if (fork_one(i) == 0)
            atomic_fetch_add(&S->nforked, 1);
    set_x(g_x + 1); /* only the parent's copy changes */
    for (long t = 0, dt = 0; t < S->linger_ms; t += dt) {
        serve_more();
        if ((dt = ipc_pass_ms(S->linger_ms - t, "the parent lingers")) < 0)
            break;
    }
    serve_more();
    record(0, -1);
    reap_children();
    return 0;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    (void)ctx;
    return FORK_MAX + 8;
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->children = scn_param(ctx, "children");
    S->linger_ms = scn_param(ctx, "linger_ms");
    pid_t pid = instr_spawn("parent", parent, NULL, 0);
    if (pid < 0) {
        snprintf(err, n, "cannot fork the parent: %s", strerror((int)-pid));
        return (int)pid;
    }
    return 0;
}

static int act_fork(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    atomic_fetch_add(&S->more, 1);
    snprintf(msg, n, "the parent will fork one more child");
    return 0;
}

/* The lesson's result, pinned at the end: what fork returned in each copy and the x each
 * copy ended with ("23837 23911", "110 210"). */
static void pin_result(struct scn_ctx *ctx, int forked)
{
    char rets[160] = "", xs[160] = "";
    size_t lr = 0, lx = 0;
    for (int i = 0; i < forked && i < FORK_MAX; i++) {
        if (lr < sizeof(rets))
            lr += (size_t)snprintf(rets + lr, sizeof(rets) - lr, "%s%d", i ? ", " : "",
                                   (int)S->parent_fork_ret[i]);
        if (lx < sizeof(xs))
            lx += (size_t)snprintf(xs + lx, sizeof(xs) - lx, "%s%lld", i ? ", " : "",
                                   (long long)S->copies[i + 1].x);
    }
    int zh = ctx->lang == LANG_ZH;
    snprintf(ctx->pin, sizeof(ctx->pin),
             zh ? "fork() 在父进程中返回 %s(子进程的 PID),在每个子进程中返回 0。x 最后在父进程中是 "
                  "%lld,在子进程中是 %s:每个进程改的是自己那份内存。"
                : "fork() returned %s in the parent (the children's PIDs) and 0 in each child. "
                  "x ended as %lld in the parent and %s in the children: each process changed "
                  "its own copy.",
             rets, (long long)S->copies[0].x, xs);
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)m;
    int forked = atomic_load(&S->nforked);
    pin_result(ctx, forked);
    for (int i = 0; i < forked; i++) {
        const struct fork_copy *c = &S->copies[i + 1];
        if (!c->used || c->fork_ret != 0 || S->parent_fork_ret[i] != c->pid) {
            snprintf(why, n, "child %d: fork returned %d there and %d in the parent", i + 1,
                     c->fork_ret, S->parent_fork_ret[i]);
            return -1;
        }
        if (c->ppid != S->copies[0].pid || c->x == S->copies[0].x) {
            snprintf(why, n, "child %d does not look like a separate copy", i + 1);
            return -1;
        }
    }
    return 0;
}

static json_t *copy_json(int idx)
{
    const struct fork_copy *c = &S->copies[idx];
    json_t *o = json_pack("{s:s, s:i, s:i, s:I}", "role", idx ? "child" : "parent", "pid", c->pid,
                          "ppid", c->ppid, "x", (json_int_t)c->x);
    if (idx) {
        json_object_set_new(o, "fork_ret", json_integer(c->fork_ret));
        return o;
    }
    json_t *rets = json_array(); /* what fork returned in the parent, once per child */
    for (int i = 0; i < atomic_load(&S->nforked) && i < FORK_MAX; i++)
        json_array_append_new(rets, json_integer(S->parent_fork_ret[i]));
    json_object_set_new(o, "fork_ret", rets);
    return o;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_t *arr = json_array();
    int forked = atomic_load(&S->nforked);
    for (int i = 0; i <= forked && i <= FORK_MAX; i++)
        if (S->copies[i].used)
            json_array_append_new(arr, copy_json(i));
    json_object_set_new(out, "copies", arr);
    json_object_set_new(out, "forked", json_integer(forked));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const char *who = ipc_ev_task_name(m, e);
    int zh = lang == LANG_ZH;
    if (e->kind == EV_FORK_RET && e->val == 0) {
        snprintf(buf, n,
                 zh ? "在 %s 中 fork() 返回 0:这是子进程那一份拷贝,getppid() 是它的父进程。"
                    : "In %s fork() returned 0: this is the child's copy; getppid() names its "
                      "parent.",
                 who);
        return 1;
    }
    if (e->kind == EV_FORK_RET) {
        snprintf(buf, n,
                 zh ? "在 %s 中 fork() 返回 %lld:父进程拿到的是新子进程的 PID。"
                    : "In %s fork() returned %lld: the parent gets the new child's PID.",
                 who, (long long)e->val);
        return 1;
    }
    if (e->kind == EV_VAR) {
        snprintf(buf, n,
                 zh ? "%s 把自己那份 x 改成 %lld;其他进程的 x 不受影响(fork 复制了内存)。"
                    : "%s set its own x to %lld; the other copies keep theirs (fork copied the "
                      "memory).",
                 who, (long long)e->val);
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'f', "fork one more child", "再 fork 一个子进程", act_fork},
};

const struct scenario scenario_fork = {
    .id = "fork",
    .chapter = 5,
    .title_en = "fork: one call, two returns",
    .title_zh = "fork:一次调用,两次返回",
    .summary_en = "A parent sets x = 10 and calls fork(). fork returns the child's PID in the "
                  "parent and 0 in the child; each copy prints getpid() and getppid() and then "
                  "changes x, and the changes stay separate because each process has its own "
                  "copy of memory. Finally the parent waits for its children.",
    .summary_zh = "父进程设置 x = 10 后调用 fork()。fork 在父进程中返回子进程的 PID,在子进程中返回 "
                  "0;每份拷贝打印 getpid() 和 getppid(),然后修改 x。因为每个进程都有自己的内存"
                  "拷贝,修改互不影响。最后父进程等待回收子进程。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct fork_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
