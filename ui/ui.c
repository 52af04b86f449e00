/*
 * ui.c - ui_main: the TUI's event loop, signals, frame pacing and the dashboard's keys.
 *
 * One single-threaded loop serves stdin, a signalfd (INT/TERM/HUP/QUIT end the program,
 * WINCH re-lays out, CHLD polls the run), the run's own timers and one frame timer. A frame
 * is drawn only when something it shows has changed (or once a second for the clock), at
 * most 30 times a second. Every key of the dashboard is one line of the KEYS table, which
 * also feeds the key bar and the help screen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ui.h"
#include "narrate.h"
#include "tui.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#define NS_PER_MS 1000000ull
#define CLOCK_TICK_NS (1000ull * NS_PER_MS)
#define MSG_SHOW_NS (8000ull * NS_PER_MS)
#define COALESCE_NS (4ull * NS_PER_MS) /* a change waits this long for the rest of its burst */
#define HOT_NS (250ull * NS_PER_MS)    /* frame-rate polling lasts this long after a change */

static struct termios g_saved_tio;
static volatile sig_atomic_t g_saved_ok;
static uint64_t g_msg_ns;

static const unsigned DELAYS_MS[] = {0, 5, 20, 50, 100, 250, 500, 1000, 2000};

void ui_emergency_restore(void)
{
    static const char seq[] = "\033[0m\033[?25h\033[?1l\033>\033[?1049l\r\n";
    if (g_saved_ok)
        tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_tio);
    ssize_t rc = write(STDOUT_FILENO, seq, sizeof(seq) - 1);
    (void)rc;
}

/* ---- small services for the panels ---- */

static uint64_t run_t0(const struct ui *u)
{
    if (u->r && u->r->replay)
        return 0; /* trace times count from the recorded start */
    if (u->r && u->r->t_start_ns)
        return u->r->t_start_ns;
    return u->r ? u->r->model.t_first : 0;
}

uint64_t ui_now_ms(const struct ui *u)
{
    return u->r ? run_elapsed_ms(u->r) : 0;
}

double ui_ev_time(const struct ui *u, uint64_t t_ns)
{
    uint64_t t0 = run_t0(u);
    return t_ns >= t0 ? (double)(t_ns - t0) / 1e9 : -(double)(t0 - t_ns) / 1e9;
}

void ui_message(struct ui *u, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->msg, sizeof(u->msg), fmt, ap);
    va_end(ap);
    g_msg_ns = loop_now_ns();
    u->dirty = 1;
}

static int delay_index(unsigned ms)
{
    int best = 0;
    for (int i = 0; i < (int)UI_COUNT(DELAYS_MS); i++)
        if (DELAYS_MS[i] <= ms)
            best = i;
    return best;
}

int ui_start_run(struct ui *u)
{
    char err[256] = "";
    struct run *r = NULL;
    int opened = u->opts.replay ? run_open_replay(&r, &u->opts, err, sizeof(err))
                                : run_open(&r, u->sc, u->params, &u->opts, err, sizeof(err));
    if (opened < 0 || run_start(r, u->lp, err, sizeof(err)) < 0) {
        run_close(r);
        ui_message(u, "%s: %s", u->sc->id, err[0] ? err : "failed to start");
        snprintf(u->pk.msg, sizeof(u->pk.msg), "%s", u->msg);
        return -1;
    }
    run_set_mode(r, r->mode); /* arms the pace timer, which run_start creates after the mode */
    u->r = r;
    u->in_dash = 1;
    u->focus = P_TASKS;
    u->overlay = OV_NONE;
    u->sel_row = 1; /* the first worker: row 0 is normally the conductor */
    u->task_top = u->sel_obj = u->obj_top = u->ev_scroll = 0;
    u->delay_idx = delay_index(r->delay_ms);
    u->msg[0] = '\0';
    u->dirty = 1;
    return 0;
}

void ui_stop_run(struct ui *u)
{
    if (!u->r)
        return;
    run_stop(u->r);
    run_close(u->r);
    u->r = NULL;
    u->in_dash = 0;
}

void ui_step(struct ui *u, int slot)
{
    if (u->r->mode == RUN_RUN)
        run_set_mode(u->r, RUN_STEP);
    run_step(u->r, slot);
    u->dirty = 1;
}

/* ---- the dashboard's keys ---- */

static void key_step(struct ui *u, int ch)
{
    (void)ch;
    if (run_done(u->r)) {
        ui_message(
            u, "%s",
            TR(u, "The scenario has finished: R restarts it.", "场景已结束：按 R 重新开始。"));
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
static void feed_steps(struct ui *u)
{
    if (!u->r || !u->step_queue || u->r->step_pending || u->r->mode == RUN_RUN || run_done(u->r))
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
    pick_row(u, ch - '1' + u->row_base);
}

static void key_run_pause(struct ui *u, int ch)
{
    (void)ch;
    int run = u->r->mode != RUN_RUN;
    run_set_mode(u->r, run ? RUN_RUN : RUN_PAUSED);
    ui_message(u, "%s", run ? TR(u, "Running.", "运行中。") : TR(u, "Paused.", "已暂停。"));
}

static void key_speed(struct ui *u, int ch)
{
    int faster = ch == '+' || ch == '=';
    int i = u->delay_idx + (faster ? -1 : 1);
    if (i < 0 || i >= (int)UI_COUNT(DELAYS_MS))
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
    static const int order[] = {P_TASKS, P_OBJECTS, P_EVENTS};
    int k = 0;
    for (int i = 0; i < (int)UI_COUNT(order); i++)
        if (order[i] == u->focus)
            k = i;
    k = (k + (ch == KEY_BTAB ? (int)UI_COUNT(order) - 1 : 1)) % (int)UI_COUNT(order);
    u->focus = order[k];
}

static void key_move(struct ui *u, int ch)
{
    int page = u->lay.panel[u->focus].h > 3 ? u->lay.panel[u->focus].h - 3 : 1;
    int d = ch == KEY_UP ? -1 : ch == KEY_DOWN ? 1 : ch == KEY_PPAGE ? -page : page;
    if (u->focus == P_TASKS)
        u->sel_row += d;
    else if (u->focus == P_OBJECTS)
        u->sel_obj = u->sel_obj + d < 0 ? 0 : u->sel_obj + d;
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
    {'v', 0, key_verbose, "v", "sched", "调度", 0, "show scheduler events", "显示调度事件"},
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

static void overlay_key(struct ui *u, int ch)
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

/* ---- status line ---- */

void status_draw(struct ui *u, struct rect r)
{
    uint64_t now = loop_now_ns();
    const char *text = "";
    char buf[512];
    attr_t a = THEME[R_STATUS];
    if (u->msg[0] && now - g_msg_ns < MSG_SHOW_NS) {
        text = u->msg;
    } else if (run_done(u->r)) {
        snprintf(buf, sizeof(buf),
                 TR(u,
                    "Finished. Checks: %s%s · leaks: %d processes, %d IPC objects · R restarts, q "
                    "quits.",
                    "已结束。检查：%s%s · 泄漏：%d 个进程，%d 个 IPC 对象 · R 重新开始，q 退出。"),
                 u->r->check_rc ? TR(u, "FAILED ", "失败 ") : "ok",
                 u->r->check_rc ? u->r->check_why : "", u->r->leaked_procs, u->r->leaked_ipc);
        text = buf;
        a = u->r->check_rc ? THEME[R_BAD] : THEME[R_GOOD];
    } else if (u->r->status[0]) {
        text = u->r->status;
    }
    screen_put(r.y, r.x + 1, r.w - 1, a, text);
}

/* ---- drawing ---- */

static void draw_dashboard(struct ui *u)
{
    struct layout *l = &u->lay;
    panel_header_draw(u, l->header);
    if (u->projector) {
        projector_draw(u);
    } else {
        panel_tasks_draw(u, l->panel[P_TASKS]);
        panel_objects_draw(u, l->panel[P_OBJECTS]);
        panel_timeline_draw(u, l->panel[P_TIMELINE]);
        panel_events_draw(u, l->panel[P_EVENTS]);
        panel_narration_draw(u, l->panel[P_NARR]);
    }
    status_draw(u, l->status);
    keybar_draw(u, l->keys);
    if (u->overlay == OV_HELP)
        help_draw(u);
    else if (u->overlay == OV_DETAILS)
        details_draw(u);
    else if (u->overlay == OV_ACTIONS)
        actions_draw(u);
}

/* 1 for the scheduler's own events (switches, wakeups, state samples): hidden in the log
 * unless verbose, and what they change is redrawn by the task-state hash or the clock. */
int ui_event_is_sched(unsigned kind)
{
    return kind == EV_STATE || (kind >= EV_SCHED_IN && kind <= EV_WAKEUP_NEW);
}

/* Events the log would show, counted incrementally over what arrived since the last call. */
static uint64_t shown_events(struct ui *u)
{
    const struct model *m = &u->r->model;
    if (m->total < u->seen_total)
        u->seen_total = u->shown_total = 0; /* a new run */
    uint64_t fresh = m->total - u->seen_total;
    size_t from = fresh < m->hist_len ? m->hist_len - (size_t)fresh : 0;
    for (size_t i = from; i < m->hist_len; i++)
        u->shown_total += u->verbose || !ui_event_is_sched(model_hist(m, i)->kind);
    u->seen_total = m->total;
    return u->shown_total;
}

/* What the task rows show, without the times (those follow the once-a-second clock). */
static uint64_t tasks_hash(const struct model *m)
{
    uint64_t h = m->ntasks;
    for (size_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        h = h * 1099511628211ull ^ (t->state | (uint64_t)t->blocked_on << 8 |
                                    (uint64_t)(t->state == TS_RUNNING ? t->cpu : 0) << 40);
    }
    return h;
}

/* Everything a frame shows that can change without a key: hashed. Scheduler events alone
 * (a task at the step gate waking up to check it, say) do not count: only the states they
 * leave behind. */
static uint64_t signature(struct ui *u)
{
    if (!u->r)
        return 0;
    const struct run *r = u->r;
    uint64_t h = shown_events(u) * 1000003u ^ r->steps * 7919u ^ (uint64_t)r->mode << 56 ^
                 (uint64_t)r->delay_ms << 40 ^ (uint64_t)r->finished << 62 ^
                 (uint64_t)r->stopped << 61 ^ tasks_hash(&r->model);
    if (r->sh) {
        uint32_t n = atomic_load(&r->sh->ntasks);
        for (uint32_t i = 0; i < n && i < r->sh->max_tasks; i++)
            if (atomic_load(&r->sh->tasks[i].gate) == GS_WAITING)
                h = h * 31 + i + 1 + atomic_load(&r->sh->tasks[i].gate_kind) * 977u;
    }
    for (const char *p = r->status; *p; p++)
        h = h * 131 + (unsigned char)*p;
    return h;
}

/* ---- benchmark probe: event -> frame latency ---- */

/* With IPCSCOPE_BENCH_LATENCY=FILE, each frame notes how long ago every instrumented event it
 * shows for the first time was written by its worker; at exit FILE gets the median and p90.
 * Off (one branch per frame) otherwise. */
static struct {
    const char *path;
    uint64_t seen;
    uint32_t *us;
    size_t n, cap;
} g_lat;

static void latency_note(const struct ui *u, uint64_t now)
{
    if (!g_lat.path || !u->r)
        return;
    const struct model *m = &u->r->model;
    if (m->total < g_lat.seen)
        g_lat.seen = 0;
    uint64_t fresh = m->total - g_lat.seen;
    size_t from = fresh < m->hist_len ? m->hist_len - (size_t)fresh : 0;
    for (size_t i = from; i < m->hist_len; i++) {
        const struct ev *e = model_hist(m, i);
        if (e->src != EV_SRC_INSTR || e->t > now || ui_event_is_sched(e->kind))
            continue;
        if (g_lat.n == g_lat.cap) {
            size_t cap = g_lat.cap ? g_lat.cap * 2 : 4096;
            uint32_t *v = realloc(g_lat.us, cap * sizeof(*v));
            if (!v)
                return;
            g_lat.us = v;
            g_lat.cap = cap;
        }
        uint64_t us = (now - e->t) / 1000;
        g_lat.us[g_lat.n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    }
    g_lat.seen = m->total;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void latency_report(const struct ui *u)
{
    FILE *f = g_lat.path ? fopen(g_lat.path, "w") : NULL;
    if (!f)
        return;
    qsort(g_lat.us, g_lat.n, sizeof(*g_lat.us), cmp_u32);
    fprintf(f, "events %zu frames %llu frame_ms %.1f median_ms %.2f p90_ms %.2f\n", g_lat.n,
            (unsigned long long)u->frames, (double)u->frame_ns / 1e6,
            g_lat.n ? g_lat.us[g_lat.n / 2] / 1e3 : 0.0,
            g_lat.n ? g_lat.us[g_lat.n * 9 / 10] / 1e3 : 0.0);
    fclose(f);
    free(g_lat.us);
    memset(&g_lat, 0, sizeof(g_lat));
}

static void draw_frame(struct ui *u)
{
    if (u->r) {
        run_poll(u->r);
        ui_tree_build(u);
    }
    layout_compute(u);
    erase();
    if (u->lay.too_small)
        layout_draw_too_small(u);
    else if (u->in_dash && u->r)
        draw_dashboard(u);
    else
        picker_draw(u);
    refresh();
    latency_note(u, loop_now_ns());
    u->frames++;
    u->sig = signature(u);
    u->dirty = 0;
    u->last_frame_ns = loop_now_ns();
}

static void arm_timer(struct ui *u, uint64_t period)
{
    if (period == u->timer_period)
        return;
    loop_set_timer(u->lp, u->frame_timer, period);
    u->timer_period = period;
}

/* The scenario ended: finish the run; with --duration the TUI ends too. */
static void check_done(struct ui *u)
{
    if (!u->r || !run_done(u->r) || u->r->stopped)
        return;
    run_stop(u->r);
    u->dirty = 1;
    if (u->opts.duration_s > 0) {
        u->quit = 1;
        u->exit_code = 0;
        loop_stop(u->lp);
    }
}

/* How long to sleep when no frame is due: a frame while the picture keeps changing (so an
 * event waits at most one frame to be seen, whatever the run's own poll rate), the clock's
 * second when live but quiet, forever when nothing can change by itself. */
static uint64_t idle_period(const struct ui *u, uint64_t now, int live)
{
    if (live && now - u->last_change_ns < HOT_NS)
        return u->frame_ns;
    return live || u->msg[0] ? CLOCK_TICK_NS : 0;
}

static void before_sleep(struct loop *lp, void *arg)
{
    struct ui *u = arg;
    check_done(u);
    feed_steps(u);
    if (loop_stopped(lp))
        return;
    uint64_t now = loop_now_ns(), since = now - u->last_frame_ns;
    int live = u->r && !u->r->stopped;
    /* a change already waits for its frame: no need to hash the screen again */
    int changed = u->dirty || u->pending_since_ns || signature(u) != u->sig;
    if (changed) {
        if (!u->pending_since_ns)
            u->pending_since_ns = now; /* the first change not yet on screen */
        u->last_change_ns = now;
    }
    if (!changed && !(live && since >= CLOCK_TICK_NS)) {
        arm_timer(u, idle_period(u, now, live));
        return;
    }
    /* wait out the frame period, and let a burst that has just begun (a step granted, then
     * the action it let through a few ms later) land in one frame instead of two */
    uint64_t coalesce = u->dirty ? 0 : COALESCE_NS, pending = now - u->pending_since_ns;
    if (since < u->frame_ns || (changed && pending < coalesce)) {
        uint64_t wait = since < u->frame_ns ? u->frame_ns - since : 0;
        if (changed && pending < coalesce && coalesce - pending > wait)
            wait = coalesce - pending;
        arm_timer(u, wait);
        return;
    }
    u->pending_since_ns = 0;
    draw_frame(u);
    arm_timer(u, idle_period(u, now, live));
}

static void on_frame_timer(struct loop *lp, int id, void *arg)
{
    struct ui *u = arg;
    (void)lp;
    (void)id;
    if (u->r)
        run_poll(u->r);
    if (u->msg[0] && loop_now_ns() - g_msg_ns >= MSG_SHOW_NS) {
        u->msg[0] = '\0';
        u->dirty = 1;
    }
}

/* ---- input and signals ---- */

static void handle_key(struct ui *u, int ch)
{
    u->dirty = 1;
    if (ch == KEY_RESIZE)
        return;
    if (u->lay.too_small && (ch == 'q' || ch == KEY_F(10))) {
        u->quit = 1;
        loop_stop(u->lp);
        return;
    }
    if (!u->in_dash) {
        if (picker_key(u, ch) == 1) {
            u->want_start = 1;
            loop_stop(u->lp); /* the outer loop starts the scenario */
        }
        return;
    }
    if (u->overlay != OV_NONE) {
        overlay_key(u, ch);
        return;
    }
    ui_key_dashboard(u, ch);
}

static void on_stdin(struct loop *lp, int fd, uint32_t events, void *arg)
{
    struct ui *u = arg;
    (void)fd;
    if (events & (EPOLLHUP | EPOLLERR)) {
        u->quit = 1;
        u->exit_code = 129;
        loop_stop(lp);
        return;
    }
    int ch;
    while (!loop_stopped(lp) && (ch = getch()) != ERR)
        handle_key(u, ch);
}

static void resize_from_tty(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        resizeterm(ws.ws_row, ws.ws_col);
}

static void on_signal(struct loop *lp, int fd, uint32_t events, void *arg)
{
    struct ui *u = arg;
    struct signalfd_siginfo si;
    (void)events;
    while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGWINCH:
            resize_from_tty();
            u->dirty = 1;
            break;
        case SIGCHLD:
            if (u->r)
                run_poll(u->r);
            break;
        default: /* INT, TERM, HUP, QUIT */
            u->quit = 1;
            u->exit_code = 128 + (int)si.ssi_signo;
            loop_stop(lp);
            break;
        }
    }
}

/* ---- sessions ---- */

static int session_open(struct ui *u)
{
    u->lp = loop_new();
    if (!u->lp)
        return -1;
    if (loop_add_fd(u->lp, STDIN_FILENO, EPOLLIN, on_stdin, u) < 0 ||
        loop_add_fd(u->lp, u->sigfd, EPOLLIN, on_signal, u) < 0)
        return -1;
    u->frame_timer = loop_add_timer(u->lp, 0, on_frame_timer, u);
    if (u->frame_timer < 0)
        return -1;
    u->timer_period = 0;
    loop_set_before_sleep(u->lp, before_sleep, u);
    u->dirty = 1;
    return 0;
}

static void session_close(struct ui *u)
{
    ui_stop_run(u);
    loop_free(u->lp);
    u->lp = NULL;
}

/* Run the picker or a scenario until the user leaves it. 0, or -1 when a directly started
 * scenario failed (message in u->msg). */
static int session(struct ui *u, int start)
{
    if (session_open(u) < 0) {
        snprintf(u->msg, sizeof(u->msg), "event loop: %s", strerror(errno));
        session_close(u);
        return -1;
    }
    u->want_start = 0;
    if (start && ui_start_run(u) < 0 && !u->from_picker) {
        session_close(u);
        return -1;
    }
    u->want_picker = 0;
    int rc = loop_run(u->lp);
    session_close(u);
    if (rc < 0 && !u->quit) {
        snprintf(u->msg, sizeof(u->msg), "event loop: %s", strerror(-rc));
        return -1;
    }
    return 0;
}

static int detect_lang(const struct run_opts *opts)
{
    if (opts)
        return opts->lang;
    const char *v = getenv("LC_ALL");
    if (!v || !*v)
        v = getenv("LC_MESSAGES");
    if (!v || !*v)
        v = getenv("LANG");
    return v && strncmp(v, "zh", 2) == 0 ? LANG_ZH : LANG_EN;
}

static int block_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGCHLD, SIGQUIT};
    for (size_t i = 0; i < UI_COUNT(sigs); i++)
        sigaddset(&set, sigs[i]);
    if (sigprocmask(SIG_BLOCK, &set, old) < 0)
        return -1;
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int ui_setup(struct ui *u, const struct scenario *sc, const long *params,
                    const struct run_opts *opts, const char *theme)
{
    u->theme = theme ? screen_theme_by_name(theme) : screen_default_theme();
    if (u->theme < 0) {
        fprintf(stderr, "ipcscope: unknown theme '%s' (accepted: %s)\n", theme,
                screen_theme_names());
        return 2;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "ipcscope: the dashboard needs a terminal (use --headless)\n");
        return 1;
    }
    u->lang = detect_lang(opts);
    if (opts)
        u->opts = *opts;
    u->opts.lang = u->lang;
    u->sc = sc;
    if (sc && params)
        memcpy(u->params, params, sizeof(long) * sc->nparams);
    else if (sc)
        scenario_defaults(sc, u->params);
    u->from_picker = sc == NULL;
    if (u->from_picker && !u->opts.delay_ms && !u->opts.step)
        u->opts.delay_ms = 150;                    /* watchable; as `ipcscope run` does */
    g_lat.path = getenv("IPCSCOPE_BENCH_LATENCY"); /* benchmarks only */
    const char *fps = getenv("IPCSCOPE_FPS");      /* benchmarks only */
    long f = fps ? strtol(fps, NULL, 10) : 30;
    u->frame_ns = 1000000000ull / (uint64_t)(f > 0 && f <= 30 ? f : 30);
    return 0;
}

int ui_main(const struct scenario *sc, const long *params, const struct run_opts *opts,
            const char *theme)
{
    static struct ui ui;
    struct ui *u = &ui;
    memset(u, 0, sizeof(*u));
    int rc = ui_setup(u, sc, params, opts, theme);
    if (rc)
        return rc;

    sigset_t old;
    g_saved_ok = tcgetattr(STDIN_FILENO, &g_saved_tio) == 0;
    u->sigfd = block_signals(&old);
    char why[256] = "";
    if (u->sigfd < 0 || screen_init(why, sizeof(why)) < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        fprintf(stderr, "ipcscope: %s\n", why[0] ? why : strerror(errno));
        return 1;
    }
    screen_theme_apply(u->theme);

    int start = sc != NULL;
    while (!u->quit) {
        if (session(u, start) < 0) {
            rc = 1;
            break;
        }
        start = u->want_start && !u->quit;
        if (!u->from_picker)
            break;
    }
    screen_end();
    latency_report(u);
    if (g_saved_ok)
        tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_tio);
    close(u->sigfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        fprintf(stderr, "ipcscope: %s\n", u->msg[0] ? u->msg : "failed");
        return rc;
    }
    free(u->rows);
    return u->exit_code;
}
