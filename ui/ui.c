/*
 * ui.c - ui_main: the TUI's event loop, signals and frame pacing.
 *
 * One single-threaded loop serves stdin, a signalfd (INT/TERM/HUP/QUIT end the program,
 * WINCH re-lays out, CHLD polls the run), the run's own timers and one frame timer. A frame
 * is drawn only when something it shows has changed (or once a second for the clock), at
 * most 30 times a second. The dashboard's keys are in keys.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ui.h"
#include "exec_cmd.h"
#include "guard.h"
#include "narrate.h"
#include "privs.h"
#include "tui.h"

#include "scenarios/exec.h"

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
static volatile sig_atomic_t g_screen_on; /* curses owns the terminal */
static struct guard g_tty_guard = GUARD_NONE;
static uint64_t g_msg_ns;

const unsigned DELAYS_MS[] = {0, 5, 20, 50, 100, 250, 500, 1000, 2000};
const size_t NDELAYS = sizeof(DELAYS_MS) / sizeof(DELAYS_MS[0]);

void ui_emergency_restore(void)
{
    static const char seq[] = "\033[0m\033[?25h\033[?1l\033>\033[?1049l\r\n";
    if (!g_screen_on)
        return; /* headless, or already restored: stdout is not ours to write escapes to */
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
    for (int i = 0; i < (int)NDELAYS; i++)
        if (DELAYS_MS[i] <= ms)
            best = i;
    return best;
}

int ui_start_run(struct ui *u)
{
    char err[256] = "";
    struct run *r = NULL;
    panel_output_presize(u);
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
    u->sel_auto = 1;
    u->task_top = u->sel_obj = u->obj_top = u->ev_scroll = u->obj_rows = u->task_hint_rows = 0;
    u->delay_idx = delay_index(r->delay_ms);
    u->flow_view =
        u->sc->chapter >= 1 && u->sc->chapter <= 2; /* TCP lessons: their packets (exec is 0) */
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

/* ---- status line ---- */

void status_draw(struct ui *u, struct rect r)
{
    uint64_t now = loop_now_ns();
    const char *text = "";
    char buf[512];
    attr_t a = THEME[R_STATUS];
    int done = run_done(u->r);
    if (done && !u->was_done)
        u->msg[0] = '\0'; /* "Running." said before the end must not hide how it ended */
    u->was_done = done;
    if (u->msg[0] && now - g_msg_ns < MSG_SHOW_NS) {
        text = u->msg;
    } else if (done) {
        snprintf(buf, sizeof(buf),
                 TR(u,
                    "Finished. Checks: %s%s · leaks: %d processes, %d IPC objects · R restarts, q "
                    "quits.",
                    "已结束。检查：%s%s · 泄漏：%d 个进程，%d 个 IPC 对象 · R 重新开始，q 退出。"),
                 u->r->check_rc ? TR(u, "FAILED ", "失败 ") : "ok",
                 u->r->check_rc ? u->r->check_why : "", u->r->leaked_procs, u->r->leaked_ipc);
        text = buf;
        a = u->r->check_rc ? THEME[R_BAD] : THEME[R_GOOD];
    } else if (u->sc == &scenario_exec && exec_scenario_notice()[0]) {
        text = exec_scenario_notice(); /* a stall, or a deadlock's cycle */
        a = THEME[R_BAD];
    } else if (u->r->status[0]) {
        text = u->r->status;
    }
    if (text != buf)
        snprintf(buf, sizeof(buf), "%s", text);
    screen_fit_words(buf, sizeof(buf), r.w - 1); /* a message cut short keeps whole words */
    screen_put(r.y, r.x + 1, r.w - 1, a, buf);
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
        if (l->code.h) /* the lesson: code panel (c), question box (predict mode) */
            panel_code_draw(u, l->code);
        else if (!panel_waitfor_draw(u, l->panel[P_TIMELINE])) { /* a deadlock takes its place */
            if (u->flow_view)
                panel_flow_draw(u, l->panel[P_TIMELINE]);
            else
                panel_timeline_draw(u, l->panel[P_TIMELINE]);
        }
        if (!l->code.h && !l->predict.h)
            panel_events_draw(u, l->panel[P_EVENTS]);
        struct rect narr = l->panel[P_NARR], out;
        panel_output_split(u, &narr, &out); /* exec: the program's terminal below */
        panel_narration_draw(u, narr);
        panel_output_draw(u, out);
        if (l->predict.h)
            predict_draw(u, l->predict);
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
    return model_is_sched(kind);
}

/* Events the log would show, counted incrementally over what arrived since the last call. */
static uint64_t shown_events(struct ui *u)
{
    const struct model *m = &u->r->model;
    return u->verbose ? m->total : m->hist_total; /* the scheduler's records are kept apart */
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
    uint32_t n = run_ntasks(r);
    for (uint32_t i = 0; i < n; i++)
        if (atomic_load(&r->sh->tasks[i].gate) == GS_WAITING)
            h = h * 31 + i + 1 + atomic_load(&r->sh->tasks[i].gate_kind) * 977u;
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
    if (m->hist_total < g_lat.seen)
        g_lat.seen = 0;
    uint64_t fresh = m->hist_total - g_lat.seen; /* the lesson's history only (not khist) */
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
    g_lat.seen = m->hist_total;
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
    int hint_rows = u->task_hint_rows, obj_rows = u->obj_rows;
    layout_compute(u);
    erase();
    if (u->lay.too_small) {
        layout_draw_too_small(u);
    } else if (u->in_dash && u->r) {
        draw_dashboard(u);
        /* a gate hint wants a line of its own, a new object (an accepted connection) its
         * row: now, not a frame later (a step may be the last change for minutes) */
        if (u->task_hint_rows != hint_rows || u->obj_rows != obj_rows) {
            layout_compute(u);
            erase();
            draw_dashboard(u);
        }
    } else {
        picker_draw(u);
    }
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
    ui_feed_steps(u);
    panel_output_tty_mode(u);
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
    if (u->r && u->r->bpf_pending) { /* the first frame is out: now the probes' load time */
        run_load_bpf(u->r);
        u->dirty = 1;
    }
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
        ui_overlay_key(u, ch);
        return;
    }
    if (panel_output_key(u, ch))
        return; /* typed into the program's terminal */
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
            if (si.ssi_code == SI_KERNEL && panel_output_signal(u, (int)si.ssi_signo))
                break; /* Ctrl-C typed into the program's terminal */
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
    /* q on `ipcscope exec`: the program's status, as headless (124 while it still ran) */
    if (u->r && u->quit && u->exit_code == 0 && u->sc == &scenario_exec && !u->r->replay) {
        run_stop(u->r);
        u->exit_code = exec_exit_code(u->r, 0, u->exit_why, sizeof(u->exit_why));
    }
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
    u->opts.bpf_later = 1; /* a gated run shows its first frame before the probes load */
    u->sc = sc;
    if (sc && params)
        memcpy(u->params, params, sizeof(long) * sc->nparams);
    else if (sc)
        scenario_defaults(sc, u->params);
    u->from_picker = sc == NULL;
    if (u->from_picker && !u->opts.delay_ms && !u->opts.step)
        u->opts.delay_ms = 150;                          /* watchable; as `ipcscope run` does */
    g_lat.path = privs_getenv("IPCSCOPE_BENCH_LATENCY"); /* benchmarks only */
    const char *fps = getenv("IPCSCOPE_FPS");            /* benchmarks only */
    long f = fps ? strtol(fps, NULL, 10) : 30;
    u->frame_ns = 1000000000ull / (uint64_t)(f > 0 && f <= 30 ? f : 30);
    return 0;
}

/* A guard that puts the terminal back if this process dies without doing it (SIGKILL):
 * the modes from before curses, and terminfo's way out of the dashboard. Not our child, so
 * the run's reaping never sees it. Without it the terminal is only at risk, never wrong. */
static void start_tty_guard(void)
{
    struct guard_job job = {.tty_fd = isatty(STDOUT_FILENO) ? STDOUT_FILENO : STDIN_FILENO,
                            .tio = g_saved_tio};
    screen_restore_seq(job.seq, sizeof(job.seq) - 2);
    strcat(job.seq, "\r\n");
    if (g_saved_ok && isatty(job.tty_fd))
        guard_start(&g_tty_guard, &job, 1);
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
    g_screen_on = 1;
    start_tty_guard();

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
    g_screen_on = 0;
    latency_report(u);
    if (g_saved_ok)
        tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_tio);
    guard_release(&g_tty_guard);
    close(u->sigfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        fprintf(stderr, "ipcscope: %s\n", u->msg[0] ? u->msg : "failed");
        return rc;
    }
    free(u->rows);
    if (u->exit_why[0])
        fprintf(stderr, "ipcscope: exec: %s\n", u->exit_why);
    return u->exit_code;
}
