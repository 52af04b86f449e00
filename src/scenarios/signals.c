/*
 * signals.c - kill, alarm, pause, handlers, SIG_IGN and SIG_DFL (chapter 6).
 *
 * A receiver catches SIGUSR1, SIGHUP and SIGALRM with handlers, ignores SIGUSR2 (SIG_IGN),
 * leaves SIGTERM at its default action (SIG_DFL), blocks SIGHUP for a while, sets an alarm
 * and sleeps in pause(). A sender (or the keys) sends signals with kill(): the handled ones
 * wake pause(), the ignored one vanishes, the blocked one waits as pending until it is
 * unblocked, and SIGTERM ends the receiver by default. Its pending, blocked, ignored and
 * caught masks are read from /proc at each step.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../scenario.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIG_STEPS_MAX 24

struct sig_masks {
    char when[32];
    uint64_t pnd, shdpnd, blk, ign, cgt;
};

struct sig_shared {
    long script, step_ms, alarm_s, timeout_ms;
    _Atomic int32_t receiver;
    _Atomic int ready;
    _Atomic int handled[NSIG];
    _Atomic int nsteps;
    struct sig_masks steps[SIG_STEPS_MAX];
};

static struct sig_shared *S;
static volatile sig_atomic_t g_got[NSIG]; /* receiver: caught by the handler, not yet reported */

static const struct scenario_param params[] = {
    {"script", "1: a sender process runs the lesson; 0: only the keys send",
     "1:由发送进程按脚本发送信号;0:只用按键发送", 0, 1, 1},
    {"step_ms", "sender's pause between signals", "发送进程每个信号之间的停顿毫秒数", 10, 10000,
     250},
    {"alarm_s", "alarm() seconds", "alarm() 的秒数", 1, 60, 1},
    {"timeout_ms", "the receiver gives up after this long", "接收进程最长等待的毫秒数", 1000,
     600000, 20000},
};

/* Record pid's masks (from /proc) under label when. */
static void record_masks(pid_t pid, const char *when)
{
    int i = atomic_fetch_add(&S->nsteps, 1);
    if (i >= SIG_STEPS_MAX)
        return;
    struct sig_masks *m = &S->steps[i];
    snprintf(m->when, sizeof(m->when), "%s", when);
    m->pnd = ipc_proc_sigmask(pid, "SigPnd");
    m->shdpnd = ipc_proc_sigmask(pid, "ShdPnd");
    m->blk = ipc_proc_sigmask(pid, "SigBlk");
    m->ign = ipc_proc_sigmask(pid, "SigIgn");
    m->cgt = ipc_proc_sigmask(pid, "SigCgt");
}

/* ---- the receiver ---- */

static void on_signal(int sig)
{
    g_got[sig]++;
}

static void install(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGUSR2, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL); /* SIGHUP will wait as pending */
}

static void unblock_hup(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    instr_gate(EV_NOTE, EV_NO_OBJ);
    instr_note("unblocking SIGHUP");
    sigprocmask(SIG_UNBLOCK, &set, NULL); /* the pending SIGHUP is delivered now */
}

/* Report what the handler caught. Returns 1 if SIGALRM was among it. */
static int report(void)
{
    int alarm_rang = 0;
    for (int sig = 1; sig < NSIG; sig++) {
        while (g_got[sig] > 0) {
            g_got[sig]--;
            atomic_fetch_add(&S->handled[sig], 1);
            instr_emit(EV_SIG_HANDLE, EV_NO_OBJ, sig, 0, 0);
            alarm_rang |= sig == SIGALRM;
        }
    }
    return alarm_rang;
}

static int receiver(void *arg)
{
    (void)arg;
    ipc_set_comm("sig-receiver");
    instr_gate(EV_NOTE, EV_NO_OBJ);
    install();
    record_masks(getpid(), "handlers installed");
    instr_note("alarm(%ld)", S->alarm_s);
    alarm((unsigned)S->alarm_s);
    atomic_store(&S->ready, 1);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int unblocked = 0;
    while (!ipc_stopping()) {
        pause(); /* until a handled signal arrives */
        int rang = report();
        record_masks(getpid(), rang ? "after SIGALRM" : "after a handler");
        if (rang && !unblocked) {
            unblock_hup();
            unblocked = 1;
            report();
            record_masks(getpid(), "SIGHUP unblocked");
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 > S->timeout_ms)
            break;
        if (rang)
            alarm((unsigned)S->alarm_s); /* a heartbeat so the timeout is noticed */
    }
    return 0;
}

/* ---- the sender ---- */

static void send_step(pid_t to, int sig, const char *label)
{
    ipc_sleep_ms(S->step_ms);
    ipc_kill(to, sig);
    ipc_sleep_ms(20);
    record_masks(to, label);
}

static int sender(void *arg)
{
    (void)arg;
    ipc_set_comm("sig-sender");
    while (!atomic_load(&S->ready) && !ipc_stopping())
        ipc_sleep_ms(5);
    pid_t to = atomic_load(&S->receiver);
    send_step(to, SIGUSR1, "sent SIGUSR1 (caught)");
    send_step(to, SIGUSR2, "sent SIGUSR2 (ignored)");
    send_step(to, SIGHUP, "sent SIGHUP (blocked)");
    /* wait for the alarm to ring and SIGHUP to be unblocked */
    while (atomic_load(&S->handled[SIGHUP]) == 0 && !ipc_stopping())
        ipc_sleep_ms(10);
    send_step(to, SIGTERM, "sent SIGTERM (default)");
    return 0;
}

/* ---- conductor side ---- */

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->script = scn_param(ctx, "script");
    S->step_ms = scn_param(ctx, "step_ms");
    S->alarm_s = scn_param(ctx, "alarm_s");
    S->timeout_ms = scn_param(ctx, "timeout_ms");
    pid_t r = instr_spawn("receiver", receiver, NULL, 0);
    if (r < 0) {
        snprintf(err, n, "cannot fork the receiver: %s", strerror((int)-r));
        return (int)r;
    }
    atomic_store(&S->receiver, r);
    if (!S->script)
        return 0;
    pid_t s = instr_spawn("sender", sender, NULL, 0);
    if (s < 0) {
        snprintf(err, n, "cannot fork the sender: %s", strerror((int)-s));
        return (int)s;
    }
    return 0;
}

static int send_key(int sig, char *msg, size_t n)
{
    pid_t r = atomic_load(&S->receiver);
    if (r <= 0 || kill(r, sig) < 0) {
        snprintf(msg, n, "the receiver is gone");
        return -ESRCH;
    }
    snprintf(msg, n, "kill(%d, %s)", (int)r, sigabbrev_np(sig));
    return 0;
}

static int act_usr1(struct scn_ctx *c, char *m, size_t n)
{
    (void)c;
    return send_key(SIGUSR1, m, n);
}
static int act_usr2(struct scn_ctx *c, char *m, size_t n)
{
    (void)c;
    return send_key(SIGUSR2, m, n);
}
static int act_hup(struct scn_ctx *c, char *m, size_t n)
{
    (void)c;
    return send_key(SIGHUP, m, n);
}
static int act_term(struct scn_ctx *c, char *m, size_t n)
{
    (void)c;
    return send_key(SIGTERM, m, n);
}
static int act_kill(struct scn_ctx *c, char *m, size_t n)
{
    (void)c;
    return send_key(SIGKILL, m, n);
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)ctx;
    (void)m;
    if (atomic_load(&S->handled[SIGUSR2])) {
        snprintf(why, n, "the ignored SIGUSR2 reached a handler");
        return -1;
    }
    if (S->script && (!atomic_load(&S->handled[SIGUSR1]) || !atomic_load(&S->handled[SIGHUP]))) {
        snprintf(why, n, "SIGUSR1 or the pending SIGHUP was never handled");
        return -1;
    }
    return 0;
}

static json_t *mask_json(const struct sig_masks *m)
{
    char b[5][24];
    snprintf(b[0], 24, "%016llx", (unsigned long long)m->pnd);
    snprintf(b[1], 24, "%016llx", (unsigned long long)m->shdpnd);
    snprintf(b[2], 24, "%016llx", (unsigned long long)m->blk);
    snprintf(b[3], 24, "%016llx", (unsigned long long)m->ign);
    snprintf(b[4], 24, "%016llx", (unsigned long long)m->cgt);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "when", m->when, "pending", b[0],
                     "shared_pending", b[1], "blocked", b[2], "ignored", b[3], "caught", b[4]);
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    (void)m;
    json_t *arr = json_array(), *h = json_object();
    int ns = atomic_load(&S->nsteps);
    for (int i = 0; i < ns && i < SIG_STEPS_MAX; i++)
        json_array_append_new(arr, mask_json(&S->steps[i]));
    const int sigs[] = {SIGUSR1, SIGUSR2, SIGHUP, SIGALRM, SIGTERM};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        json_object_set_new(h, sigabbrev_np(sigs[i]),
                            json_integer(atomic_load(&S->handled[sigs[i]])));
    json_object_set_new(out, "masks", arr);
    json_object_set_new(out, "handled", h);
    json_object_set_new(out, "receiver_pid", json_integer(atomic_load(&S->receiver)));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const char *who = ipc_ev_task_name(m, e);
    int zh = lang == LANG_ZH;
    int sig = (int)e->val;
    if (e->kind == EV_SIG_SEND) {
        const char *what_en = sig == SIGUSR2   ? "it is ignored (SIG_IGN): nothing happens"
                              : sig == SIGHUP  ? "it is blocked: it stays pending"
                              : sig == SIGTERM ? "its default action (SIG_DFL) ends the process"
                                               : "a handler will run";
        const char *what_zh = sig == SIGUSR2   ? "它被忽略(SIG_IGN),什么也不会发生"
                              : sig == SIGHUP  ? "它被屏蔽,会一直处于未决状态"
                              : sig == SIGTERM ? "默认动作(SIG_DFL)会终止进程"
                                               : "处理函数将会运行";
        snprintf(buf, n, zh ? "%s 调用 kill() 发送 SIG%s:%s。" : "%s sends SIG%s with kill(): %s.",
                 who, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?", zh ? what_zh : what_en);
        return 1;
    }
    if (e->kind == EV_SIG_HANDLE) {
        snprintf(buf, n,
                 zh ? "%s 的 SIG%s 处理函数运行了;pause() 随之返回。"
                    : "%s's handler for SIG%s ran, and pause() returned.",
                 who, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'1', "send SIGUSR1 (caught)", "发送 SIGUSR1(被捕获)", act_usr1},
    {'2', "send SIGUSR2 (ignored)", "发送 SIGUSR2(被忽略)", act_usr2},
    {'h', "send SIGHUP (blocked, then caught)", "发送 SIGHUP(先屏蔽后捕获)", act_hup},
    {'t', "send SIGTERM (default: terminate)", "发送 SIGTERM(默认:终止)", act_term},
    {'k', "send SIGKILL (cannot be caught)", "发送 SIGKILL(无法捕获)", act_kill},
};

const struct scenario scenario_signals = {
    .id = "signals",
    .chapter = 6,
    .title_en = "Signals: kill, alarm, pause, handlers",
    .title_zh = "信号:kill、alarm、pause 与处理函数",
    .summary_en = "A receiver installs handlers for SIGUSR1, SIGHUP and SIGALRM, ignores SIGUSR2 "
                  "(SIG_IGN), keeps SIGTERM's default action (SIG_DFL), blocks SIGHUP, calls "
                  "alarm() and waits in pause(). Signals sent with kill() wake it when caught, "
                  "vanish when ignored, wait as pending while blocked, and SIGTERM ends it. Its "
                  "pending, blocked, ignored and caught masks come live from /proc.",
    .summary_zh = "接收进程为 SIGUSR1、SIGHUP、SIGALRM 安装处理函数,忽略 SIGUSR2(SIG_IGN),"
                  "SIGTERM 保持默认动作(SIG_DFL),屏蔽 SIGHUP,调用 alarm() 后在 pause() 中等待。"
                  "用 kill() 发送的信号:被捕获的会唤醒它,被忽略的直接消失,被屏蔽的处于未决状态,"
                  "SIGTERM 则终止它。它的未决、屏蔽、忽略、捕获信号集实时来自 /proc。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct sig_shared),
    .setup = setup,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
