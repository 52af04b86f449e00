/*
 * help.c - the overlays drawn on top of the dashboard: help (?), details (Enter/i) and the
 * scenario's actions menu (a).
 *
 * Help is generated from the key table and the state table, so it cannot drift from what
 * the keys do. Details explain the selected task or object in words, including whether a
 * pause is ipcscope's step gate or a real kernel block.
 */
#include "narrate.h"
#include "snapshot.h"
#include "tui.h"

#include <stdio.h>
#include <string.h>

int ui_help_lines(struct ui *u, const char **keys, const char **what, int max);

/* A centered, cleared, boxed area; returns its inside. */
static struct rect overlay_box(int h, int w, const char *title)
{
    if (w > COLS)
        w = COLS;
    if (h > LINES - 2)
        h = LINES - 2;
    struct rect r = {(LINES - h) / 2, (COLS - w) / 2, h, w};
    screen_clear_rect(r, THEME[R_NORMAL]);
    screen_box(r, title, 1);
    struct rect in = screen_inner(r);
    in.x += 1;
    in.w -= 2;
    return in;
}

static const struct {
    int state;
    const char *en, *zh;
} LEGEND[] = {
    {TS_RUNNING, "running on a CPU", "正在 CPU 上运行"},
    {TS_READY, "runnable, waiting for a CPU", "可以运行，等待 CPU"},
    {TS_BLOCKED, "asleep in the kernel on an object (e.g. sem:full)",
     "在内核中睡眠，等待某个对象（如 sem:full）"},
    {TS_ZOMBIE, "exited; the parent has not called wait() yet", "已退出，父进程还没有调用 wait()"},
    {TS_REAPED, "finished and collected by its parent", "已结束并被父进程回收"},
    {TS_GATE,
     "held by ipcscope's step gate before its next call: ipcscope's pause, not a kernel state",
     "在下一次调用前被 ipcscope 的步进闸门拦住：这是 ipcscope 的暂停，不是内核状态"},
};

static int legend_draw(struct ui *u, struct rect in)
{
    int y = 0;
    screen_put(in.y + y++, in.x, in.w, THEME[R_TITLE], TR(u, "States", "状态"));
    for (size_t i = 0; i < UI_COUNT(LEGEND) && y < in.h; i++) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s %s: %s", ui_state_glyph(LEGEND[i].state),
                 ui_state_word(u, LEGEND[i].state), TR(u, LEGEND[i].en, LEGEND[i].zh));
        struct rect r = {in.y + y, in.x, in.h - y, in.w};
        y += screen_wrap(r, 0, ui_state_attr(LEGEND[i].state), buf);
    }
    char src[400];
    snprintf(src, sizeof(src),
             TR(u,
                "Sources: instr = what workers report through ipcscope's wrappers (always on); "
                "proc = /proc sampling; bpf = kernel tracepoints%s%s.",
                "来源：instr = 工作进程通过 ipcscope 包装函数报告的动作（总是开启）；proc = /proc "
                "采样；bpf = 内核跟踪点%s%s。"),
             u->r && u->r->bpf_reason[0] ? TR(u, ", off: ", "，未开启：") : "",
             u->r ? u->r->bpf_reason : "");
    struct rect r = {in.y + y + 1, in.x, in.h - y - 1, in.w};
    if (r.h > 0)
        y += 1 + screen_wrap(r, 0, THEME[R_DIM], src);
    return y;
}

void help_draw(struct ui *u)
{
    struct rect in = overlay_box(LINES - 2, COLS >= 100 ? 96 : COLS,
                                 TR(u, " Help · Esc closes ", " 帮助 · Esc 关闭 "));
    const char *keys[32], *what[32];
    int n = ui_help_lines(u, keys, what, 32);
    int kw = in.w >= 90 ? 44 : 40;
    screen_put(in.y, in.x, kw, THEME[R_TITLE], TR(u, "Keys", "按键"));
    for (int i = 0; i < n && i + 1 < in.h; i++) {
        screen_put(in.y + 1 + i, in.x, 10, THEME[R_WARN], keys[i]);
        screen_put(in.y + 1 + i, in.x + 10, kw - 11, THEME[R_NORMAL], what[i]);
    }
    legend_draw(u, (struct rect){in.y, in.x + kw, in.h, in.w - kw});
}

/* ---- details ---- */

static int kv(int y, struct rect in, const char *k, const char *v)
{
    if (y >= in.h)
        return y;
    screen_put(in.y + y, in.x, 14, THEME[R_DIM], k);
    screen_put(in.y + y, in.x + 15, in.w - 15, THEME[R_NORMAL], v);
    return y + 1;
}

/* "run 1.50s  ready 1.52s  blocked 0.00s  gate 3.10s" */
/* The times in each state; 1 when running and ready are the kernel's schedstat totals (no
 * probes), so that the line's label can say so. */
static int times_line(struct ui *u, const struct model_task *t, char *b, size_t n)
{
    uint64_t run, ready, blocked, gate;
    char r1[16], r2[16], r3[16], r4[16];
    ui_task_times(u, t, &run, &ready, &blocked, &gate);
    ui_fmt_dur(run, r1, sizeof(r1));
    ui_fmt_dur(ready, r2, sizeof(r2));
    ui_fmt_dur(blocked, r3, sizeof(r3));
    ui_fmt_dur(gate, r4, sizeof(r4));
    snprintf(b, n,
             TR(u, "run %s  ready %s  blocked %s  gate %s", "运行 %s  就绪 %s  阻塞 %s  闸门 %s"),
             r1, r2, r3, r4);
    return !ui_kernel_view(u, t) && t->ks_at && t->slot != 0;
}

/* What the kernel says: its state, CPU, and the function it sleeps in next to the object. */
static void kernel_line(struct ui *u, const struct model_task *t, char *b, size_t n)
{
    char on[64];
    model_blocked_label(&u->r->model, t, on, sizeof(on));
    int len;
    switch (t->state) {
    case TS_ZOMBIE:
        snprintf(b, n, "%s",
                 TR(u, "Z: exited; its entry waits for the parent's wait()",
                    "Z：已退出；进程表项等待父进程 wait()"));
        return;
    case TS_REAPED:
        snprintf(b, n, "%s",
                 TR(u, "gone: reaped, no longer in /proc", "已消失：已被回收，/proc 中没有了"));
        return;
    case TS_EXITED:
        snprintf(b, n, "%s", TR(u, "gone: the thread has exited", "已消失：线程已退出"));
        return;
    case TS_GATE:
        snprintf(b, n, "%s",
                 TR(u, "S: asleep in a futex at ipcscope's step gate",
                    "S：在 ipcscope 的步进闸门处的 futex 中睡眠"));
        return;
    default:
        break;
    }
    if (t->slot == 0)
        len = snprintf(b, n, "%s",
                       TR(u, "ipcscope itself, from /proc (the probes leave the conductor out)",
                          "ipcscope 本身，来自 /proc（探针不跟踪指挥进程）"));
    else if (ui_kernel_view(u, t))
        len = snprintf(b, n, "%s", task_state_name(t->kernel_state));
    else if (t->state == TS_RUNNING || t->state == TS_READY)
        len = snprintf(b, n, "%s",
                       TR(u, "R: running or ready (/proc cannot tell which; the probes could)",
                          "R：运行或就绪（/proc 分不清；探针可以）"));
    else
        len = snprintf(b, n, "%s", TR(u, "S: asleep (from /proc)", "S：睡眠（来自 /proc）"));
    if (t->state == TS_RUNNING && t->cpu >= 0 && len > 0 && (size_t)len < n)
        len += snprintf(b + len, n - (size_t)len, TR(u, " on cpu%d", "，在 cpu%d 上"), (int)t->cpu);
    if (t->wchan[0] && t->state == TS_BLOCKED && len > 0 && (size_t)len < n)
        len +=
            snprintf(b + len, n - (size_t)len, TR(u, ", sleeping in %s", "，睡眠于 %s"), t->wchan);
    if (on[0] && t->state == TS_BLOCKED && len > 0 && (size_t)len < n)
        snprintf(b + len, n - (size_t)len, TR(u, " (on %s)", "（在 %s 上）"), on);
}

static int task_facts(struct ui *u, const struct model_task *t, struct rect in)
{
    char b[256];
    int y = 0;
    snprintf(b, sizeof(b), "%s %s", ui_state_glyph(t->state), ui_state_word(u, t->state));
    y = kv(y, in, TR(u, "model state", "模型状态"), b);
    snprintf(b, sizeof(b), "%s, pid %d, tid %d, ppid %d%s",
             t->kind == TK_THREAD ? TR(u, "thread", "线程") : TR(u, "process", "进程"), t->pid,
             t->tid, t->ppid, t->orig_ppid && t->orig_ppid != t->ppid ? " (adopted)" : "");
    y = kv(y, in, TR(u, "task", "任务"), b);
    kernel_line(u, t, b, sizeof(b));
    y = kv(y, in, TR(u, "kernel says", "内核所见"), b);
    y = kv(y, in,
           times_line(u, t, b, sizeof(b)) ? TR(u, "schedstat", "schedstat") : TR(u, "time", "时间"),
           b);
    snprintf(b, sizeof(b),
             TR(u, "%llu · %llu switches · signals sent %llu, delivered %llu",
                "%llu · 切换 %llu 次 · 信号 发出 %llu，送达 %llu"),
             (unsigned long long)t->actions, (unsigned long long)t->switches,
             (unsigned long long)t->sig_sent, (unsigned long long)t->sig_delivered);
    y = kv(y, in, TR(u, "actions", "动作数"), b);
    if (t->has_exit) {
        char z[16];
        ui_fmt_dur(ui_zombie_ns(u, t), z, sizeof(z));
        snprintf(b, sizeof(b), TR(u, "%d · zombie for %s%s", "%d · 僵尸 %s%s"), (int)t->exit_status,
                 t->kind == TK_PROCESS ? z : "-",
                 t->t_reaped ? TR(u, ", then reaped", "，随后被回收")
                             : TR(u, " so far", "（仍未回收）"));
        y = kv(y, in, TR(u, "exit status", "退出状态"), b);
    }
    return y;
}

static void task_details(struct ui *u, const struct model_task *t)
{
    char title[96];
    snprintf(title, sizeof(title), " %s · Esc ", t->name);
    char text[1024];
    unsigned kind;
    uint32_t obj;
    if (ui_task_at_gate(u, t, &kind, &obj)) {
        char call[64];
        int label = ui_gate_call(u, t, kind, obj, call, sizeof(call));
        snprintf(text, sizeof(text),
                 label ? TR(u,
                            "%s is held at ipcscope's step gate, just before its next step (%s). "
                            "This pause is ipcscope's doing (step mode), not the kernel's: press "
                            "Space or its number to let it go on.",
                            "%s 被 ipcscope 的步进闸门拦住，正要执行下一步（%s）。这个暂停是 "
                            "ipcscope（单步模式）造成的，不是内核阻塞：按空格或它的编号让它继续。")
                       : TR(u,
                            "%s is held at ipcscope's step gate, just before calling %s. This "
                            "pause is ipcscope's doing (step mode), not the kernel's: press Space "
                            "or its number to let it make the call.",
                            "%s 被 ipcscope 的步进闸门拦住，正要调用 %s。这个暂停是 ipcscope"
                            "（单步模式）造成的，不是内核阻塞：按空格或它的编号让它执行这次调用。"),
                 t->name, call);
    } else {
        narrate_task(&u->r->model, t, u->lang, text, sizeof(text));
    }
    struct rect in = overlay_box(10 + screen_wrap_count(72, text), 76, title);
    int y = task_facts(u, t, in) + 1;
    struct rect r = {in.y + y, in.x, in.h - y, in.w};
    screen_wrap(r, 0, THEME[R_NORMAL] | A_BOLD, text);
}

/* A socket as ss shows it: protocol, ends, state, queues (a listener: accept queue); a Unix
 * socket's ends as ss -x prints them (name and inode), and the run's socket at the other end. */
static int socket_facts(struct ui *u, const struct model_obj *o, struct rect in, int y)
{
    char b[2 * SNAPSHOT_END_MAX + 16], l[SNAPSHOT_END_MAX], p[SNAPSHOT_END_MAX];
    int udp = o->proto == 17, unixd = o->proto == MODEL_PROTO_UNIX;
    snapshot_socket_ends(o, l, p, SNAPSHOT_END_MAX);
    snprintf(b, sizeof(b), "%s  %s → %s", unixd ? "UNIX" : udp ? "UDP" : "TCP", l, p);
    y = kv(y, in, TR(u, "ends", "两端"), b);
    const struct model *m = &u->r->model;
    uint32_t peer = unixd ? model_socket_peer(m, (uint32_t)(o - m->objs)) : MODEL_NO_OBJ;
    if (peer != MODEL_NO_OBJ)
        y = kv(y, in, TR(u, "peer", "对端"), m->objs[peer].name);
    if (!o->in_kernel) {
        snprintf(b, sizeof(b), "%s",
                 TR(u, "not in the kernel's socket table (not bound yet, or gone)",
                    "不在内核的套接字表中（尚未绑定，或已消失）"));
        return kv(y, in, TR(u, "kernel says", "内核所见"), b);
    }
    snprintf(b, sizeof(b), "%s", snapshot_ss_state(o->proto, o->tcp_state));
    y = kv(y, in, TR(u, "state (ss)", "状态（ss）"), b);
    if (!udp && o->tcp_state == 10)
        snprintf(b, sizeof(b),
                 TR(u, "%lld finished connections wait for accept() (backlog %lld)",
                    "%lld 个已完成的连接等待 accept()（backlog %lld）"),
                 (long long)o->recv_q, (long long)o->send_q);
    else
        snprintf(b, sizeof(b),
                 TR(u, "Recv-Q %lld (bytes unread)  Send-Q %lld (%s)",
                    "Recv-Q %lld（未读字节）  Send-Q %lld（%s）"),
                 (long long)o->recv_q, (long long)o->send_q,
                 udp     ? TR(u, "bytes not yet sent", "尚未发出的字节")
                 : unixd ? TR(u, "bytes in its send buffer", "发送缓冲区中的字节")
                         : TR(u, "bytes not yet acknowledged", "尚未被确认的字节"));
    return kv(y, in, TR(u, "queues", "队列"), b);
}

static void obj_details(struct ui *u, uint32_t id)
{
    const struct model *m = &u->r->model;
    const struct model_obj *o = &m->objs[id];
    char title[96], b[256];
    snprintf(title, sizeof(title), " %s %s · Esc ", narrate_kind_word(o->kind, u->lang), o->name);
    struct rect in = overlay_box(14, 76, title);
    int y = 0;
    panel_object_line(u, id, in.y + y++, in.x, in.w, THEME[R_TITLE]);
    y++;
    if (o->kind == OK_SOCKET) {
        y = socket_facts(u, o, in, y);
    } else {
        snprintf(b, sizeof(b), "%lld (init %lld, min %lld, max %lld, capacity %lld)",
                 (long long)o->value, (long long)o->init, (long long)o->min, (long long)o->max,
                 (long long)o->capacity);
        y = kv(y, in, TR(u, "value", "值"), b);
    }
    snprintf(b, sizeof(b), "%llu%s", (unsigned long long)o->ops,
             o->seq_gaps ? TR(u, " (some arrived out of order)", "（部分乱序到达）") : "");
    y = kv(y, in, TR(u, "operations", "操作数"), b);
    if (o->kind == OK_MUTEX) {
        y = kv(y, in, TR(u, "holder", "持有者"),
               o->holder < m->ntasks ? m->tasks[o->holder].name : TR(u, "nobody", "无"));
        if (o->flags & MODEL_OBJ_SEEN_HELD)
            y = kv(y, in, "",
                   TR(u, "read from its thread's slot: recorded when it unlocks",
                      "从线程的槽位读到；解锁时才记录"));
    }
    uint32_t w[16];
    size_t n = model_waiters(m, id, w, UI_COUNT(w));
    size_t len = 0;
    b[0] = '\0';
    for (size_t i = 0; i < n && i < UI_COUNT(w) && len < sizeof(b); i++)
        len +=
            (size_t)snprintf(b + len, sizeof(b) - len, "%s%s", i ? ", " : "", m->tasks[w[i]].name);
    y = kv(y, in, TR(u, "blocked on it", "阻塞在其上"), n ? b : "—");
    y = kv(y, in, TR(u, "alive", "存在"),
           o->live ? TR(u, "yes", "是") : TR(u, "destroyed", "已销毁"));
}

void details_draw(struct ui *u)
{
    if (u->focus == P_OBJECTS) {
        uint32_t id = panel_objects_id(u, u->sel_obj);
        if (id != EV_NO_OBJ)
            obj_details(u, id);
        return;
    }
    if (u->sel_row >= 0 && u->sel_row < (int)u->nrows)
        task_details(u, &u->r->model.tasks[u->rows[u->sel_row].task]);
}

/* ---- actions ---- */

void actions_draw(struct ui *u)
{
    const struct scenario *sc = u->sc;
    struct rect in =
        overlay_box((int)sc->nactions + 4, 64,
                    TR(u, " Actions · press a key, Esc cancels ", " 动作 · 按键执行，Esc 取消 "));
    screen_put(in.y, in.x, in.w, THEME[R_DIM],
               TR(u, "What if...? Each action changes the running scenario.",
                  "如果……会怎样？每个动作都会改变正在运行的场景。"));
    for (size_t i = 0; i < sc->nactions && (int)i + 2 < in.h; i++) {
        screen_putf(in.y + 2 + (int)i, in.x, 4, THEME[R_WARN] | A_BOLD, " %c", sc->actions[i].key);
        screen_put(in.y + 2 + (int)i, in.x + 4, in.w - 4, THEME[R_NORMAL],
                   TR(u, sc->actions[i].label_en, sc->actions[i].label_zh));
    }
}
