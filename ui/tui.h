/*
 * tui.h - what the files of ui/ share: the UI state, geometry, theme roles and draw helpers.
 *
 * One `struct ui` holds everything the screens need; each panel is a draw function taking it
 * and the rectangle the layout gave it. Colours are named by meaning (THEME[R_BLOCK]) and
 * resolved from the theme table in screen.c. Private to ui/.
 */
#ifndef IPCSCOPE_TUI_H
#define IPCSCOPE_TUI_H

#include "run.h"
#include "scenario.h"

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <stddef.h>
#include <stdint.h>

#define TR(u, en, zh) ((u)->lang == LANG_ZH ? (zh) : (en))
#define UI_MIN_W 80
#define UI_MIN_H 24
#define UI_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- theme roles: what a colour means ---- */
enum role {
    R_NORMAL,
    R_DIM,
    R_TITLE,
    R_BORDER,
    R_FOCUS,
    R_HEADER,
    R_KEYBAR,
    R_KEY,
    R_STATUS,
    R_WARN,
    R_GOOD,
    R_BAD,
    R_SEL,
    R_NEW,
    R_READY,
    R_RUN,
    R_BLOCK,
    R_ZOMBIE,
    R_EXIT,
    R_GATE,
    R_TOKEN,
    R_EMPTY,
    R_BIG,
    R__COUNT
};

enum theme_id { TH_DARK, TH_LIGHT, TH_CONTRAST, TH_MONO, TH_CBSAFE, TH__COUNT };

extern attr_t THEME[R__COUNT];

/* ---- geometry ---- */
struct rect {
    int y, x, h, w;
};

enum panel { P_TASKS, P_OBJECTS, P_TIMELINE, P_EVENTS, P_NARR, P_OUTPUT, P__COUNT };
enum overlay { OV_NONE, OV_HELP, OV_DETAILS, OV_ACTIONS };

struct layout {
    int too_small;
    int cols, lines;
    struct rect header, status, keys;
    struct rect panel[P__COUNT];
    struct rect code, predict; /* the code panel and the question box, when shown (h 0: not) */
};

/* One number of the lesson's result (a scenario's snapshot "meters"). */
#define UI_METERS_MAX 8
struct ui_meter {
    char label[48];
    char text[160];
    double value, max; /* max 0: no bar */
};

/* One row of the task tree, in display order. */
struct tree_row {
    uint32_t task;
    uint16_t depth;
    uint8_t last; /* last child of its parent */
};

/* The scenario picker's state. */
struct picker {
    int sel;     /* index into scenario_table */
    int top;     /* first visible list row */
    int editing; /* parameter editor open */
    int edit_sel;
    int filtering;
    char filter[32];
    int typed; /* digits typed into the edited value since it was selected */
    long values[SCN_MAX_PARAMS];
    const struct scenario *values_of; /* the scenario values belongs to */
    char msg[256];
};

struct ui {
    struct loop *lp;
    struct run *r;
    const struct scenario *sc;
    long params[SCN_MAX_PARAMS];
    struct run_opts opts;
    int lang, theme;
    int from_picker; /* the dashboard returns to the picker instead of quitting */
    int in_dash;
    int want_picker;
    int want_start; /* the picker asked to start u->sc */
    int quit, exit_code;
    char exit_why[256]; /* exec: why the exit code is 1 though the program succeeded */

    int sigfd, frame_timer;
    uint64_t frame_ns;         /* minimum time between frames */
    uint64_t last_frame_ns;    /* when the last frame was drawn */
    uint64_t last_change_ns;   /* when the picture last changed */
    uint64_t pending_since_ns; /* first change not yet drawn, 0: none */
    uint64_t timer_period;     /* what the frame timer is armed to */
    uint64_t sig;              /* signature of what the last frame showed */
    int dirty;                 /* input or a resize asks for a frame */
    uint64_t frames;

    struct layout lay;
    int focus, overlay;
    int projector, verbose;
    int delay_idx;
    int step_queue; /* Space presses not yet handed to the run (it takes one at a time) */

    struct tree_row *rows;
    size_t nrows, rows_cap;
    int row_base; /* 1 when rows[0] is the conductor, which has no pick key */
    int sel_row, task_top;
    int sel_auto; /* the selection follows the first worker until a key moves it */
    int sel_obj, obj_top;
    int obj_rows;       /* rows the objects panel wanted at its last draw (objects and result) */
    int task_hint_rows; /* gate hints the Tasks panel had to shorten at its last draw: each
                         * gets a line of its own under its task when the layout has a row */
    int ev_scroll;
    int narr_scroll;   /* narrations hidden below the panel (0: the newest is shown) */
    int flow_view;     /* the packet flow graph instead of the timeline (f) */
    int flow_absolute; /* its seq/ack numbers absolute, not relative (n) */
    char msg[256];
    int was_done; /* the run had ended at the last status line (its verdict replaces a message) */

    struct picker pk;

    /* the lesson (ui/panel_code.c, ui/predict.c) */
    int show_code;                 /* c: the code panel in place of the timeline and the log */
    int hands_choice, hands_count; /* the choice (1-4, 0: none) whose hands digits count */
};

/* ---- screen.c ---- */
int screen_init(char *why, size_t n); /* 0, or -1 with why the terminal cannot be used */
void screen_end(void);
/* The bytes that put this terminal back as a shell expects it (attributes off, cursor shown,
 * keypad and alternate screen left), from terminfo, into buf. After screen_init. */
void screen_restore_seq(char *buf, size_t n);
void screen_theme_apply(int theme);
int screen_theme_by_name(const char *name); /* -1 when unknown */
const char *screen_theme_name(int theme);
const char *screen_theme_names(void); /* "dark, light, ..." for messages */
int screen_default_theme(void);
int screen_width(const char *s);
/* Fit s (a buffer of n bytes) into w columns: whole when it fits, else cut before a space or
 * a call's "(" (no ":", ";" or "," left dangling, no "(" left open), so that no word or number
 * is cut short ("pid 29042 ppid 2" for ppid 29029), and ended with "…"; only a first word
 * wider than w is cut inside, with the ellipsis. */
void screen_fit_words(char *s, size_t n, int w);
int screen_put(int y, int x, int maxw, attr_t a, const char *s);
int screen_putf(int y, int x, int maxw, attr_t a, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void screen_fill(int y, int x, int w, attr_t a);
void screen_clear_rect(struct rect r, attr_t a);
void screen_box(struct rect r, const char *title, int focused);
int screen_wrap(struct rect r, int line0, attr_t a, const char *text);
int screen_wrap_count(int w, const char *text);
struct rect screen_inner(struct rect r);

/* ---- layout.c ---- */
void layout_compute(struct ui *u);
void layout_draw_too_small(const struct ui *u);

/* ---- glyphs (panel_tasks.c) ---- */
/* A display-only state: /proc says R, which is running or ready (no kernel probes). */
#define UI_RUNNABLE TS__COUNT
/* 1 when the kernel's probes report on t: running and ready are told apart. */
int ui_kernel_view(const struct ui *u, const struct model_task *t);
/* "until the server listens": a live task blocked on no object of the lesson, when its
 * scenario says what it waits for (another task's progress). 0 and "" otherwise. */
int ui_waits_for(const struct ui *u, const struct model_task *t, char *buf, size_t n);
const char *ui_state_glyph(int state);
const char *ui_state_word(const struct ui *u, int state);
attr_t ui_state_attr(int state);
int ui_task_at_gate(const struct ui *u, const struct model_task *t, unsigned *kind, uint32_t *obj);
/* What t, at the gate for an action of kind on obj, will do when let through, into buf:
 * the call ("sem_wait(empty)", "sleep(600 ms)"), or for a step with no call of its own (a
 * note, a variable, fork() returning in a child) the label the task gave it ("set x to 11").
 * Returns 1 for a label, 0 for a call. */
int ui_gate_call(const struct ui *u, const struct model_task *t, unsigned kind, uint32_t obj,
                 char *buf, size_t n);
/* What letting waiter w through does: "lets producer-1 call sem_wait(empty)", "lets 600 ms
 * pass for server (the accept delay)", "lets client-1's epoll_wait() time out". */
void ui_waiter_call(const struct ui *u, const struct run_waiter *w, char *buf, size_t n);
void ui_tree_build(struct ui *u);
int ui_row_of_task(const struct ui *u, uint32_t task);
int ui_row_key(const struct ui *u, int row); /* its pick key 1..9, or 0 */
/* Time running / ready / blocked / at the step gate (gate may be NULL) so far, the open
 * interval included. */
void ui_task_times(const struct ui *u, const struct model_task *t, uint64_t *run, uint64_t *ready,
                   uint64_t *blocked, uint64_t *gate);
uint64_t ui_zombie_ns(const struct ui *u, const struct model_task *t); /* exit..reap (or now) */
void ui_fmt_dur(uint64_t ns, char *buf, size_t n);                     /* "0.25s", at most 6 */

/* ---- panels ---- */
void panel_header_draw(struct ui *u, struct rect r);
void panel_tasks_draw(struct ui *u, struct rect r);
void panel_objects_draw(struct ui *u, struct rect r);
void panel_timeline_draw(struct ui *u, struct rect r);
void panel_events_draw(struct ui *u, struct rect r);
void panel_narration_draw(struct ui *u, struct rect r);
/* The narration of e as the dashboard tells it, into buf: 1, or 0 when there is nothing to say
 * (scheduler noise, a process's life folded in the network chapters, a sentence the scenario
 * silenced). Projector mode tells its latest line the same way. */
int ui_narration_of(struct ui *u, const struct ev *e, char *buf, size_t n);
/* ---- panel_output.c: the program's terminal (exec in the TUI) ---- */
/* 1 when the run has a program terminal to show. */
int panel_output_shown(const struct ui *u);
/* Take the Output panel's rectangle from the lower part of narr (empty when not shown). */
void panel_output_split(const struct ui *u, struct rect *narr, struct rect *out);
void panel_output_draw(struct ui *u, struct rect r);
/* Projector mode: the program's last lines under a title, in at most max rows (the rows it
 * takes, 0 with nothing printed), and drawing them in r (the rows used). */
int panel_output_tail_rows(const struct ui *u, int max);
int panel_output_tail_draw(struct ui *u, struct rect r);
/* exec: size the program's terminal as its Output panel will be, before the program starts. */
void panel_output_presize(struct ui *u);
/* A key while the Output panel has the focus: 1 when it went to the program. */
int panel_output_key(struct ui *u, int ch);
/* A SIGINT or SIGQUIT the keyboard raised (Ctrl-C, Ctrl-\) while the panel has the focus: the
 * key's byte is typed into the program's terminal instead, whose line discipline signals the
 * program's foreground group. 1 when it was (the signal is not ipcscope's to act on). */
int panel_output_signal(struct ui *u, int sig);
/* Before each wait for input: the terminal raw while the panel has the focus and the program's
 * terminal is open (Ctrl-C, Ctrl-Z, Ctrl-\, Ctrl-S reach ipcscope as bytes, to type on to the
 * program), in cbreak mode (ipcscope's own signal keys) otherwise. */
void panel_output_tty_mode(const struct ui *u);
void panel_object_line(struct ui *u, uint32_t id, int y, int x, int w, attr_t base);
int panel_objects_count(const struct ui *u);
uint32_t panel_objects_id(const struct ui *u, int i);
void projector_draw(struct ui *u);
void panel_flow_draw(struct ui *u, struct rect r);
/* The scenario's meters now (none in a replay); their count. */
int panel_meters_collect(struct ui *u, struct ui_meter *out, int n);
/* Draw them from (y, x) in at most h rows; returns the rows used. */
int panel_meters_draw(struct ui *u, int y, int x, int w, int h);
int panel_flow_has_packets(const struct ui *u);
/* A deadlock: when the model's wait-for graph has a cycle, draw it boxed in r (returns 1), else
 * draw nothing (0). panel_waitfor_lines draws it unboxed (projector) and returns the rows. */
int panel_waitfor_draw(struct ui *u, struct rect r);
int panel_waitfor_lines(struct ui *u, struct rect r);
int panel_waitfor_rows(struct ui *u); /* rows panel_waitfor_lines wants (and one above), or 0 */
void help_draw(struct ui *u);
void details_draw(struct ui *u);
void actions_draw(struct ui *u);
void keybar_draw(struct ui *u, struct rect r);
void status_draw(struct ui *u, struct rect r);
int ui_key_dashboard(struct ui *u, int ch);

/* ---- picker.c ---- */
void picker_draw(struct ui *u);
int picker_key(struct ui *u, int ch); /* 1: start the selected scenario */
void picker_select(struct ui *u, const struct scenario *sc);

/* ---- ui.c ---- */
uint64_t ui_now_ms(const struct ui *u); /* ms since the run started */
int ui_event_is_sched(unsigned kind);   /* switches, wakeups, state samples */
double ui_ev_time(const struct ui *u, uint64_t t_ns);
void ui_message(struct ui *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ui_start_run(struct ui *u);
void ui_stop_run(struct ui *u);
void ui_step(struct ui *u, int slot);
extern const unsigned DELAYS_MS[]; /* the speeds + and - move through */
extern const size_t NDELAYS;

/* ---- panel_code.c and predict.c: the lesson ---- */
void panel_code_draw(struct ui *u, struct rect r);
void panel_code_projector(struct ui *u, struct rect r); /* the selected task's listing */
int ui_predict_visible(const struct ui *u);             /* the question box is on screen */
int ui_predict_height(const struct ui *u, int w);       /* its height at width w (0: hidden) */
void predict_draw(struct ui *u, struct rect r);
int ui_predict_key(struct ui *u, int ch); /* Space, A-D, digits while a question asks: 1 */
int ui_predict_masks(const struct ui *u, uint32_t obj); /* hide obj's value (asked about) */
int ui_predict_hides_next(const struct ui *u);          /* hide the Next line */
void ui_key_answer(struct ui *u, int ch);               /* A-D */
void ui_key_predict(struct ui *u, int ch);              /* p */
void ui_key_code(struct ui *u, int ch);                 /* c */

/* ---- keys.c ---- */
void ui_feed_steps(struct ui *u);          /* hand queued Space presses to the run */
void ui_overlay_key(struct ui *u, int ch); /* a key while an overlay is open */

#endif
