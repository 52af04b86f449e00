/*
 * panel_narration.c - "What happened": the last actions told in plain language.
 *
 * The scenario's pinned sentence (the key point of the moment: "Deadlock: ...") stays on top;
 * in step or pause mode the next line says who waits at the step gate and what Space would
 * let through next. Below it, the newest narrations (narrate_event, English or Chinese) fill
 * the panel from the bottom up, the newest in bold. Scheduler events are narrated only when
 * the scenario's hook explains them (the states lesson); the generic text skips them.
 */
#include "narrate.h"
#include "replay.h"
#include "tui.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#define NARR_SCAN 20000 /* events looked at, newest first */
#define NARR_MAX 16

/* "Next: Space lets producer-1 do sem_wait(empty) · 1-9 pick another" or "". */
static void gate_hint(struct ui *u, char *buf, size_t n)
{
    buf[0] = '\0';
    if (u->r->mode == RUN_RUN || run_done(u->r) || ui_predict_hides_next(u))
        return; /* (predict mode hides who moves next while the class thinks) */
    if (u->r->replay) {
        size_t shown, total;
        run_replay_position(u->r, &shown, &total);
        struct replay *rp = u->r->replay;
        size_t next = replay_next_step(rp, shown);
        char call[96] = "";
        const struct replay_rec *rec = next > shown ? replay_rec_at(rp, next - 1) : NULL;
        if (rec) {
            char brief[64];
            narrate_brief(&u->r->model, &rec->e, brief, sizeof(brief));
            snprintf(call, sizeof(call), "%s %s", rec->task, brief);
        }
        if (call[0])
            snprintf(buf, n,
                     TR(u, "Replay, event %zu of %zu. Next (Space): %s · b goes back.",
                        "回放，第 %zu / %zu 个事件。下一步（空格）：%s · b 后退。"),
                     shown, total, call);
        else
            snprintf(buf, n,
                     TR(u, "Replay, event %zu of %zu: the end. b goes back, R to the start.",
                        "回放，第 %zu / %zu 个事件：已到结尾。b 后退，R 回到开头。"),
                     shown, total);
        return;
    }
    struct run_waiter w[64];
    size_t nw = run_waiters(u->r, w, UI_COUNT(w)), k = 0;
    const struct model *m = &u->r->model;
    /* only tasks the rows show at the gate: the keys 1-9 count those. The slots are read
     * live, the rows from the model: a task whose arrival at the gate the model has not yet
     * applied is left out, and when that is the first waiter (the one Space lets go) the line
     * waits a frame, so it never names a step its task's row does not show yet. */
    for (size_t i = 0; i < nw; i++) {
        uint32_t idx = model_task_by_slot(m, (uint32_t)w[i].slot);
        const struct model_task *t = idx != MODEL_NO_TASK ? &m->tasks[idx] : NULL;
        /* at this gate, not still at its last one (MainThread's row said "→ is_alive()"
         * while its slot had moved on to the join) */
        if (t && t->state == TS_GATE &&
            (w[i].timer || (t->gate_kind == w[i].kind && t->gate_obj == w[i].obj)))
            w[k++] = w[i];
        else if (i == 0)
            return;
    }
    if (!k && nw)
        return;
    if (!k) {
        snprintf(buf, n, "%s",
                 TR(u, "Nobody waits at the step gate: every live task is blocked or busy.",
                    "没有任务在步进闸门前等待：所有活着的任务都阻塞着或正在忙。"));
        return;
    }
    uint32_t idx = model_task_by_slot(m, (uint32_t)w[0].slot);
    if (idx == MODEL_NO_TASK)
        return;
    char what[160];
    ui_waiter_call(u, &w[0], what, sizeof(what));
    snprintf(buf, n,
             TR(u, "Next: Space %s (%zu at the gate; 1-9 picks).",
                "下一步：按空格%s（闸门前有 %zu 个任务；1-9 可另选）。"),
             what, k);
}

/* Whether e is about a process (not a thread) of the run. */
static int of_a_process(const struct model *m, const struct ev *e)
{
    uint32_t idx = e->task != EV_NO_TASK ? model_task_by_slot(m, e->task) : MODEL_NO_TASK;
    return idx != MODEL_NO_TASK && m->tasks[idx].kind == TK_PROCESS;
}

/* Chapters where the lesson is the network or threads: the life of processes (a reap, a
 * SIGCHLD, the kernel's fork and exit records, a sleep, ipcscope's own conductor) is noise
 * there, folded unless v asks for everything. In the network chapters (1-4) a process's exit
 * is too: its "stays a zombie until wait()" came after the lesson's last sentence (tcp-
 * teardown ended on the server's exit, not on TIME_WAIT) while its row already said REAPED. */
static int folded(const struct ui *u, const struct ev *e)
{
    int ch = u->sc->chapter;
    if (u->verbose || !(ch <= 4 || ch == 8 || ch == 9 || ch == 11))
        return 0;
    if (e->task == 0 && e->src == EV_SRC_INSTR)
        return 1; /* the conductor */
    switch (e->kind) {
    case EV_TASK_EXIT:
        return ch >= 1 && ch <= 4 && of_a_process(&u->r->model, e);
    case EV_TASK_REAPED:
    case EV_PROC_EXIT:
    case EV_PROC_FORK:
    case EV_SLEEP:
        return 1;
    case EV_SIG_GENERATE:
    case EV_SIG_DELIVER:
        return e->val == SIGCHLD;
    default:
        return 0;
    }
}

/* The narration of e in buf: 1, or 0 when there is nothing to say (noise, folded, or a
 * sentence the scenario silenced). The scenario's own hook speaks first, even when the
 * generic text would be folded. */
int ui_narration_of(struct ui *u, const struct ev *e, char *buf, size_t n)
{
    const struct model *m = &u->r->model;
    if (ui_event_is_sched(e->kind) && !u->sc->narrate)
        return 0; /* scheduler noise, unless the scenario explains it (states) */
    buf[0] = '\0';
    if (u->sc->narrate && u->sc->narrate(&u->r->ctx, m, e, u->lang, buf, n) == 1)
        return buf[0] != '\0';
    if (folded(u, e))
        return 0;
    return narrate_generic(&u->r->ctx, m, e, u->lang, buf, n) && buf[0];
}

void panel_narration_draw(struct ui *u, struct rect r)
{
    screen_box(r, TR(u, " What happened ", " 发生了什么 "), u->focus == P_NARR);
    struct rect in = screen_inner(r);
    if (in.h <= 0 || in.w <= 0)
        return;

    char hint[256];
    gate_hint(u, hint, sizeof(hint));
    int top = 0;
    if (u->r->ctx.pin[0]) /* the lesson's key sentence stays on top until the scenario moves on */
        top = screen_wrap(in, 0, THEME[R_WARN] | A_BOLD, u->r->ctx.pin);
    if (hint[0] && top < in.h) {
        struct rect below = {in.y + top, in.x, in.h - top, in.w};
        top += screen_wrap(below, 0, THEME[R_GATE], hint);
    }

    const struct model *m = &u->r->model;
    static char text[NARR_MAX][512];
    int off = top ? top + (in.h - top >= 6) : 0; /* a blank line after the hint if roomy */
    struct rect clip = {in.y + off, in.x, in.h - off, in.w};
    int count = 0, lines = 0, skip = u->narr_scroll;
    for (size_t i = m->hist_len, seen = 0; i-- > 0 && seen < NARR_SCAN && count < NARR_MAX;
         seen++) {
        const struct ev *e = model_hist(m, i);
        if (!ui_narration_of(u, e, text[count], sizeof(text[0])))
            continue;
        if (count && strcmp(text[count], text[count - 1]) == 0)
            continue;   /* the same fact seen by two sources */
        if (skip > 0) { /* scrolled back: older narrations first */
            skip--;
            continue;
        }
        lines += screen_wrap_count(in.w, text[count]);
        count++;
        if (lines >= clip.h)
            break;
    }
    if (u->narr_scroll > 0 && count == 0)
        u->narr_scroll--; /* scrolled past the oldest */
    int y = clip.h;       /* newest at the bottom, older ones above it */
    for (int k = 0; k < count && y > 0; k++) {
        y -= screen_wrap_count(in.w, text[k]);
        if (y < 0 && k > 0)
            break; /* an older paragraph that does not fit whole is left out */
        y = y < 0 ? 0 : y;
        screen_wrap(clip, y, k == 0 ? THEME[R_NORMAL] | A_BOLD : THEME[R_DIM], text[k]);
    }
    if (!count && !hint[0])
        screen_put(in.y, in.x, in.w, THEME[R_DIM],
                   TR(u, "Nothing yet: press Space to step or r to run.",
                      "还没有发生什么：按空格单步，或按 r 运行。"));
}
