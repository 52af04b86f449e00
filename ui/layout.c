/*
 * layout.c - the one place where screen geometry is decided.
 *
 * layout_compute turns LINES x COLS (and how many tasks there are) into the rectangles of
 * the header, the five panels, the status line and the key bar. Below 80x24 it sets
 * too_small and the caller draws the "enlarge the terminal" screen instead.
 */
#include "tui.h"

static void layout_lesson(struct ui *u, int top, int below);

static int clamp(int v, int lo, int hi)
{
    if (v > hi)
        v = hi;
    return v < lo ? lo : v;
}

/* Heights of the three body rows: tasks/objects, timeline, events/narration. */
static void split_rows(const struct ui *u, int body, int *top, int *tl, int *bottom)
{
    /* as tall as the task list or the objects and their result need, within the bound */
    int task_rows = (int)u->nrows + 2 + !u->row_base, want_rows = task_rows;
    if (u->obj_rows + 2 > want_rows)
        want_rows = u->obj_rows + 2;
    *top = clamp(want_rows, 6, body * 45 / 100);
    *tl = clamp((int)u->nrows - u->row_base + 2, 4, body * 35 / 100);
    *bottom = body - *top - *tl;
    /* short of room: the timeline gives first (its lanes follow the task list's scroll), so
     * every task row stays visible as long as possible */
    while (*bottom < 7 && *tl > 4) {
        (*tl)--;
        (*bottom)++;
    }
    while (*bottom < 7 && *top > 6) {
        (*top)--;
        (*bottom)++;
    }
    /* a gate hint the Tasks panel had to shorten gets a line of its own from the rows the
     * event log and the narration can spare: they keep 7 lines (the Next line and the newest
     * narration), and the timeline keeps every lane it had */
    int extra = task_rows + u->task_hint_rows - *top;
    while (extra-- > 0 && *bottom > 9 && *top < body * 45 / 100) {
        (*top)++;
        (*bottom)--;
    }
    /* a TCP lesson's lane is its segments and states, not one row per task: five rows hold
     * a handshake (SYN_SENT, SYN, SYN-ACK, ESTAB, ACK) or a close, where its three rows lost
     * the SYN or the FIN once the states sat between the segments they follow; the
     * narration keeps ten rows (80x24 keeps its layout) */
    while (u->flow_view && *tl < 7 && *bottom > 12) {
        (*tl)++;
        (*bottom)--;
    }
}

void layout_compute(struct ui *u)
{
    struct layout *l = &u->lay;
    l->cols = COLS;
    l->lines = LINES;
    l->too_small = COLS < UI_MIN_W || LINES < UI_MIN_H;
    l->header = (struct rect){0, 0, 1, COLS};
    l->status = (struct rect){LINES - 2, 0, 1, COLS};
    l->keys = (struct rect){LINES - 1, 0, 1, COLS};
    if (l->too_small)
        return;

    int body = LINES - 3, top, tl, bottom;
    split_rows(u, body, &top, &tl, &bottom);
    /* wide screens give the tasks their time columns; narrower ones favour the objects */
    int left = COLS >= 150 ? COLS * 58 / 100 : COLS >= 120 ? COLS * 48 / 100 : COLS * 53 / 100;
    int ev_w = COLS * 50 / 100;
    l->panel[P_TASKS] = (struct rect){1, 0, top, left};
    l->panel[P_OBJECTS] = (struct rect){1, left, top, COLS - left};
    l->panel[P_TIMELINE] = (struct rect){1 + top, 0, tl, COLS};
    l->panel[P_EVENTS] = (struct rect){1 + top + tl, 0, bottom, ev_w};
    l->panel[P_NARR] = (struct rect){1 + top + tl, ev_w, bottom, COLS - ev_w};
    layout_lesson(u, top, tl + bottom);
}

/* The lesson's panels. The code panel (c) takes the timeline's and the event log's place;
 * the question box of predict mode sits on top of the narration column, or in the event
 * log's place when the code panel is off. */
static void layout_lesson(struct ui *u, int top, int below)
{
    struct layout *l = &u->lay;
    l->code = l->predict = (struct rect){0, 0, 0, 0};
    if (u->show_code) {
        int code_w = COLS * 56 / 100;
        l->code = (struct rect){1 + top, 0, below, code_w};
        l->panel[P_NARR] = (struct rect){1 + top, code_w, below, COLS - code_w};
    }
    int ph = ui_predict_height(u, u->show_code ? l->panel[P_NARR].w : l->panel[P_EVENTS].w);
    if (!ph)
        return;
    if (!u->show_code) {
        l->predict = l->panel[P_EVENTS];
        return;
    }
    struct rect *n = &l->panel[P_NARR];
    if (ph > n->h - 4)
        ph = n->h - 4 > 5 ? n->h - 4 : n->h;
    l->predict = (struct rect){n->y, n->x, ph, n->w};
    n->y += ph;
    n->h -= ph;
}

void layout_draw_too_small(const struct ui *u)
{
    char line[160];
    erase();
    snprintf(line, sizeof(line),
             TR(u, "enlarge the terminal (now %dx%d, needs %dx%d)",
                "请放大终端（当前 %dx%d，需要 %dx%d）"),
             COLS, LINES, UI_MIN_W, UI_MIN_H);
    int w = screen_width(line);
    int y = LINES / 2 - 1, x = (COLS - w) / 2;
    screen_put(y < 0 ? 0 : y, x < 0 ? 0 : x, COLS, THEME[R_WARN], line);
    const char *q = TR(u, "q quits", "按 q 退出");
    int qw = screen_width(q);
    if (LINES > 2)
        screen_put(y + 2, (COLS - qw) / 2 < 0 ? 0 : (COLS - qw) / 2, COLS, THEME[R_DIM], q);
}
