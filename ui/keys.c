/*
 * keys.c - the dashboard's keys: one line of the KEYS table per binding, which also feeds
 * the key bar and the help screen, and the keys of the overlays (actions menu).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "lesson_run.h"
#include "narrate.h"
#include "tui.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ---- the dashboard's keys ---- */

static void key_step(struct ui *u, int ch)
{
    if (ui_predict_key(u, ch))
        return; /* a question asked: Space lets its action through */
    if (run_done(u->r)) {
        /* the status line says it has finished, how the checks went, and that R restarts: a
         * message here hid that verdict for 8 s from a teacher (or a test) pressing on */
        u->msg[0] = '\0';
        return;
    }
    if (u->r->mode == RUN_RUN) {
        run_set_mode(u->r, RUN_STEP);
        ui_message(u, "%s",
                   TR(u, "Step mode: each Space lets one action through.",
                      "单步模式：每按一次空格放行一个动作。"));
        return;
    }
    if (u->r->step_pending) {
        if (u->step_queue < 16)
            u->step_queue++;
        return;
    }
    ui_step(u, -1);
}

/* Hand queued Space presses to the run, one per grant. */
void ui_feed_steps(struct ui *u)
{
    if (!u->r || !u->step_queue || u->r->step_pending || u->r->mode == RUN_RUN || run_done(u->r) ||
        predict_busy(u->r) || predict_asking(u->r))
        return;
    u->step_queue--;
    ui_step(u, -1);
}

/* Move task row k next, or say why it cannot move. */
static void pick_row(struct ui *u, int k)
{
    if (k < 0 || k >= (int)u->nrows) {
        ui_message(u, TR(u, "There is no task %d.", "没有第 %d 个任务。"), k + 1 - u->row_base);
        return;
    }
    u->sel_row = k;
    u->sel_auto = 0;
    u->focus = P_TASKS;
    u->step_queue = 0;
    const struct model_task *t = &u->r->model.tasks[u->rows[k].task];
    if (ui_task_at_gate(u, t, NULL, NULL) ||
        (t->slot != EV_NO_TASK && (t->state == TS_RUNNING || t->state == TS_READY))) {
        ui_step(u, (int)t->slot);
        ui_message(
            u, TR(u, "You are the scheduler: %s moves next.", "你来当调度器：下一步由 %s 执行。"),
            t->name);
        return;
    }
    char on[64];
    model_blocked_label(&u->r->model, t, on, sizeof(on));
    if (t->state == TS_BLOCKED)
        ui_message(u,
                   TR(u, "%s cannot move: blocked on %s until another task wakes it",
                      "%s 无法前进：阻塞在 %s 上，直到别的任务唤醒它"),
                   t->name, on[0] ? on : "?");
    else
        ui_message(u, TR(u, "%s cannot move: it is %s.", "%s 无法前进：它%s。"), t->name,
                   ui_state_word(u, t->state));
}

static void key_pick(struct ui *u, int ch)
{
    if (ui_predict_key(u, ch))
        return; /* a question asked: digits count hands */
    pick_row(u, ch - '1' + u->row_base);
}

/* 0 is no task's key: while a question asks it counts hands. */
static void key_zero(struct ui *u, int ch)
{
    ui_predict_key(u, ch);
}

static void key_run_pause(struct ui *u, int ch)
{
    (void)ch;
    if (run_done(u->r)) { /* nothing left to run: keep the verdict, as Space does */
        u->msg[0] = '\0';
        return;
    }
    int run = u->r->mode != RUN_RUN;
    run_set_mode(u->r, run ? RUN_RUN : RUN_PAUSED);
    ui_message(u, "%s", run ? TR(u, "Running.", "运行中。") : TR(u, "Paused.", "已暂停。"));
}

static void key_speed(struct ui *u, int ch)
{
    int faster = ch == '+' || ch == '=';
    int i = u->delay_idx + (faster ? -1 : 1);
    if (i < 0 || i >= (int)NDELAYS)
        return;
    u->delay_idx = i;
    run_set_delay(u->r, DELAYS_MS[i]);
    if (DELAYS_MS[i])
        ui_message(u, TR(u, "Run speed: one action every %u ms.", "运行速度：每 %u 毫秒一个动作。"),
                   DELAYS_MS[i]);
    else
        ui_message(u, "%s", TR(u, "Run speed: free running.", "运行速度：不限速。"));
}

static void key_focus(struct ui *u, int ch)
{
    static const int order[] = {P_TASKS, P_OBJECTS, P_EVENTS, P_NARR, P_OUTPUT};
    int n = (int)UI_COUNT(order) - !panel_output_shown(u), k = 0;
    for (int i = 0; i < n; i++)
        if (order[i] == u->focus)
            k = i;
    k = (k + (ch == KEY_BTAB ? n - 1 : 1)) % n;
    u->focus = order[k];
}

static void key_move(struct ui *u, int ch)
{
    int page = u->lay.panel[u->focus].h > 3 ? u->lay.panel[u->focus].h - 3 : 1;
    int d = ch == KEY_UP ? -1 : ch == KEY_DOWN ? 1 : ch == KEY_PPAGE ? -page : page;
    if (u->focus == P_TASKS) {
        u->sel_row += d;
        u->sel_auto = 0;
    } else if (u->focus == P_OBJECTS)
        u->sel_obj = u->sel_obj + d < 0 ? 0 : u->sel_obj + d;
    else if (u->focus == P_NARR)
        u->narr_scroll = u->narr_scroll - d < 0 ? 0 : u->narr_scroll - d;
    else
        u->ev_scroll = u->ev_scroll - d < 0 ? 0 : u->ev_scroll - d;
}

static void key_enter(struct ui *u, int ch)
{
    (void)ch;
    if (u->focus == P_TASKS && u->sel_row < (int)u->nrows && u->r->mode != RUN_RUN) {
        const struct model_task *t = &u->r->model.tasks[u->rows[u->sel_row].task];
        if (ui_task_at_gate(u, t, NULL, NULL)) {
            pick_row(u, u->sel_row);
            return;
        }
    }
    u->overlay = OV_DETAILS;
}

static void key_details(struct ui *u, int ch)
{
    (void)ch;
    u->overlay = OV_DETAILS;
}

static void key_actions(struct ui *u, int ch)
{
    (void)ch;
    if (!u->sc->nactions)
        ui_message(u, "%s", TR(u, "This scenario has no actions.", "这个场景没有可用的动作。"));
    else
        u->overlay = OV_ACTIONS;
}

static void key_theme(struct ui *u, int ch)
{
    (void)ch;
    u->theme = (u->theme + 1) % TH__COUNT;
    screen_theme_apply(u->theme);
    ui_message(u, TR(u, "Theme: %s", "主题：%s"), screen_theme_name(u->theme));
}

static void key_projector(struct ui *u, int ch)
{
    (void)ch;
    u->projector = !u->projector;
}

static void key_verbose(struct ui *u, int ch)
{
    (void)ch;
    u->verbose = !u->verbose;
}

static void key_flow(struct ui *u, int ch)
{
    if (ch == 'n') {
        u->flow_absolute = !u->flow_absolute;
        return;
    }
    u->flow_view = !u->flow_view;
    ui_message(
        u, "%s",
        u->flow_view
            ? TR(u, "Packet flow graph (f: back to the timeline).", "报文流图（f：回到时间线）。")
            : TR(u, "Timeline (f: the packet flow graph).", "时间线（f：报文流图）。"));
}

static void key_lang(struct ui *u, int ch)
{
    (void)ch;
    u->lang = u->lang == LANG_ZH ? LANG_EN : LANG_ZH;
    if (u->r)
        u->r->ctx.lang = u->lang;
}

static void key_restart(struct ui *u, int ch)
{
    (void)ch;
    char err[256] = "";
    if (run_restart(&u->r, err, sizeof(err)) < 0) {
        ui_message(u, TR(u, "Restart failed: %s", "重新开始失败：%s"), err);
        return;
    }
    run_set_mode(u->r, u->r->mode);
    u->sel_row = u->task_top = u->sel_obj = u->obj_top = u->ev_scroll = 0;
    if (u->r->replay)
        ui_message(u, "%s", TR(u, "Back to the start of the trace.", "回到轨迹的开头。"));
    else
        ui_message(u, "%s", TR(u, "Restarted with the same parameters.", "已用相同参数重新开始。"));
}

static void key_step_back(struct ui *u, int ch)
{
    (void)ch;
    if (!u->r->replay) {
        ui_message(u, "%s",
                   TR(u,
                      "Stepping back needs a recording: run with --record FILE, then "
                      "ipcscope replay FILE.",
                      "后退需要录制：用 --record FILE 运行，再用 ipcscope replay FILE 回放。"));
        return;
    }
    if (run_back(u->r) < 0)
        ui_message(u, "%s", TR(u, "At the start of the trace.", "已在轨迹开头。"));
    u->dirty = 1;
}

/* A replay: [ ] ten steps back / forward, Home End the start / the end. */
static void key_jump(struct ui *u, int ch)
{
    if (!u->r->replay) {
        key_step_back(u, ch); /* says what a replay is */
        return;
    }
    long steps = ch == '[' ? -10 : ch == ']' ? 10 : ch == KEY_HOME ? LONG_MIN : LONG_MAX;
    if (run_replay_jump(u->r, steps) < 0)
        ui_message(u, "%s",
                   steps < 0 ? TR(u, "At the start of the trace.", "已在轨迹开头。")
                             : TR(u, "At the end of the trace.", "已在轨迹结尾。"));
    u->dirty = 1;
}

static void key_help(struct ui *u, int ch)
{
    (void)ch;
    u->overlay = OV_HELP;
}

static void key_back(struct ui *u, int ch)
{
    (void)ch;
    if (u->from_picker) {
        u->want_picker = 1;
        loop_stop(u->lp);
    }
}

static void key_quit(struct ui *u, int ch)
{
    (void)ch;
    u->quit = 1;
    u->exit_code = 0;
    loop_stop(u->lp);
}

struct key_binding {
    int k1, k2;
    void (*fn)(struct ui *u, int ch);
    const char *name, *en, *zh;
    int bar; /* shown in the key bar: 1 always, 2-3 when there is room, 0 never */
    const char *help_en, *help_zh;
};

const struct key_binding KEYS[] = {
    {' ', 0, key_step, "Space", "step", "单步", 1, "let one action through", "放行一个动作"},
    {'b', KEY_LEFT, key_step_back, "b ←", "back", "后退", 0, "a replay: one step back",
     "回放：后退一步"},
    {'[', ']', key_jump, "[ ]", "10 steps", "10 步", 0, "a replay: ten steps back / forward",
     "回放：后退 / 前进十步"},
    {KEY_HOME, KEY_END, key_jump, "Home End", "ends", "首尾", 0, "a replay: the start / the end",
     "回放：开头 / 结尾"},
    {'r', 0, key_run_pause, "r", "run", "运行/暂停", 2, "run / pause", "运行 / 暂停"},
    {'+', '=', key_speed, "+/-", "speed", "速度", 3, "faster / slower", "加快 / 减慢"},
    {'-', '_', key_speed, NULL, NULL, NULL, 0, NULL, NULL},
    {'1', '9', key_pick, "1-9", "pick", "选任务", 1, "this task moves next", "让该任务走下一步"},
    {'0', 0, key_zero, NULL, NULL, NULL, 0, NULL, NULL},
    {KEY_UP, KEY_DOWN, key_move, "↑ ↓", "select", "选择", 0, "select in the panel", "在面板中选择"},
    {KEY_PPAGE, KEY_NPAGE, key_move, "PgUp PgDn", "scroll", "翻页", 0, "scroll the panel", "翻页"},
    {'\n', KEY_ENTER, key_enter, "Enter", "move", "前进", 0, "move selected task / details",
     "让选中任务前进 / 详情"},
    {'i', 0, key_details, "i", "details", "详情", 0, "why is it in this state?",
     "为什么处于这个状态？"},
    {'\t', KEY_BTAB, key_focus, "Tab", "panel", "面板", 0, "next panel", "下一个面板"},
    {'a', 0, key_actions, "a", "actions", "动作", 2, "what if...? actions", "“如果……”动作"},
    {'t', 0, key_theme, "t", "theme", "主题", 3, "next colour theme", "切换配色主题"},
    {'z', 0, key_projector, "z", "projector", "投影", 2, "projector mode", "投影模式"},
    {'c', 0, ui_key_code, "c", "code", "代码", 2, "code panel: each role's code, a marker per task",
     "代码面板：各角色的代码，标出每个任务所在行"},
    {'p', 0, ui_key_predict, "p", "predict", "预测", 2, "predict mode: ask before key moments",
     "预测模式：关键时刻前提问"},
    {'A', 'D', ui_key_answer, "A-D", "answer", "作答", 0, "the class's answer; digits: hands up",
     "全班的答案；数字：举手人数"},
    {'v', 0, key_verbose, "v", "sched", "调度", 0, "show scheduler events", "显示调度事件"},
    {'f', 0, key_flow, "f", "packets", "报文", 0, "packet flow graph / timeline",
     "报文流图 / 时间线"},
    {'n', 0, key_flow, "n", "seq", "序号", 0, "flow graph: absolute / relative seq numbers",
     "流图：绝对 / 相对序号"},
    {'L', 0, key_lang, "L", "中文", "English", 0, "English / 中文", "English / 中文"},
    {'R', 0, key_restart, "R", "restart", "重新开始", 0, "restart the scenario", "重新开始场景"},
    {27, 0, key_back, "Esc", "back", "返回", 0, "close / back to the list", "关闭 / 返回列表"},
    {'?', KEY_F(1), key_help, "?", "help", "帮助", 1, "this help", "本帮助"},
    {'q', KEY_F(10), key_quit, "q", "quit", "退出", 1, "quit (F10 too)", "退出（或 F10）"},
};
const size_t NKEYS = UI_COUNT(KEYS);

static int key_matches(const struct key_binding *k, int ch)
{
    if (k->k1 == '1')
        return ch >= '1' && ch <= '9';
    if (k->k1 == 'A')
        return ch >= 'A' && ch <= 'D';
    return ch == k->k1 || (k->k2 && ch == k->k2);
}

int ui_key_dashboard(struct ui *u, int ch)
{
    if (ch == '\r')
        ch = '\n';
    for (size_t i = 0; i < NKEYS; i++) {
        if (key_matches(&KEYS[i], ch)) {
            KEYS[i].fn(u, ch);
            return 1;
        }
    }
    return 0;
}

/* When key i shows in the key bar (0: never, else the detail level it needs). A replay
 * shows "b back" and hides what it cannot do (pick a task, take an action). */
static int bar_level(const struct ui *u, size_t i)
{
    if (u->r && u->r->replay) {
        if (KEYS[i].fn == key_step_back)
            return 1;
        if (KEYS[i].fn == key_pick || KEYS[i].fn == key_actions)
            return 0;
    }
    return KEYS[i].bar;
}

static int keybar_width(const struct ui *u, int level)
{
    int w = 1;
    for (size_t i = 0; i < NKEYS; i++)
        if (bar_level(u, i) && bar_level(u, i) <= level)
            w += screen_width(KEYS[i].name) + screen_width(TR(u, KEYS[i].en, KEYS[i].zh)) + 3;
    return w;
}

void keybar_draw(struct ui *u, struct rect r)
{
    screen_fill(r.y, r.x, r.w, THEME[R_KEYBAR]);
    int level = 3;
    while (level > 1 && keybar_width(u, level) > r.w)
        level--;
    int x = r.x + 1;
    for (size_t i = 0; i < NKEYS && x < r.w; i++) {
        if (!bar_level(u, i) || bar_level(u, i) > level)
            continue;
        x += screen_put(r.y, x, r.w - x, THEME[R_KEY], KEYS[i].name);
        x += screen_putf(r.y, x, r.w - x, THEME[R_KEYBAR], " %s  ", TR(u, KEYS[i].en, KEYS[i].zh));
    }
}

/* Help lists every binding of the table: key names and what they do. */
int ui_help_lines(struct ui *u, const char **keys, const char **what, int max)
{
    int n = 0;
    for (size_t i = 0; i < NKEYS && n < max; i++) {
        if (!KEYS[i].name)
            continue;
        keys[n] = KEYS[i].name;
        what[n++] = TR(u, KEYS[i].help_en, KEYS[i].help_zh);
    }
    return n;
}

/* ---- overlays' keys ---- */

void ui_overlay_key(struct ui *u, int ch)
{
    if (u->overlay == OV_ACTIONS) {
        for (size_t i = 0; i < u->sc->nactions; i++) {
            if (u->sc->actions[i].key == ch) {
                int rc = run_action(u->r, ch);
                ui_message(u, "%s%s", u->r->status[0] ? u->r->status : "",
                           rc < 0 && !u->r->status[0] ? strerror(-rc) : "");
                break;
            }
        }
    }
    u->overlay = OV_NONE;
}
