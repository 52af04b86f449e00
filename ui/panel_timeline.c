/*
 * panel_timeline.c - one lane per task over the last seconds: running / ready / blocked.
 *
 * The lanes follow the Tasks panel's order and scroll position. Each column is a slice of
 * time; it is filled from the model's span history (state changes), so the picture is what
 * the sources reported, glyph and colour both telling the state.
 */
#include "tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TL_WINDOW_NS (10ull * 1000000000ull)
#define CELL_NONE 0xff

static const char *const CELL_GLYPH[TS__COUNT] = {
    [TS_NEW] = " ",    [TS_READY] = "▒",  [TS_RUNNING] = "█", [TS_BLOCKED] = "·",
    [TS_ZOMBIE] = "☠", [TS_EXITED] = " ", [TS_REAPED] = " ",  [TS_GATE] = "╌",
};

struct lanes {
    int n, cols;
    uint8_t *cell;  /* n * cols */
    uint8_t *state; /* current state per lane */
    int *col;       /* column the current state started in, -1: none yet */
};

static void lane_fill(struct lanes *l, int lane, int upto)
{
    uint8_t *row = l->cell + (size_t)lane * (size_t)l->cols;
    int from = l->col[lane];
    if (from < 0)
        return;
    for (int c = from; c < upto && c < l->cols; c++)
        row[c] = l->state[lane];
    if (upto == from && from < l->cols && l->state[lane] == TS_RUNNING)
        row[from] = TS_RUNNING; /* a run shorter than a column still shows */
}

/* The first span at or after t (spans are kept in time order). */
static size_t first_span_at(const struct model *m, uint64_t t)
{
    size_t lo = 0, hi = m->spans_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (model_span_at(m, mid)->t < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The column of a time d ns after the window's left edge. */
static int col_of(const struct lanes *l, uint64_t d)
{
    return (int)(d * (uint64_t)l->cols / TL_WINDOW_NS);
}

#define LOOK_BACK 65536 /* spans searched before the window for each lane's opening state */

/* Fold the span history into the lanes' cells. lane_of maps a task index to a lane or -1.
 * Only the window is walked (plus a bounded look back for the state each lane opens with),
 * so a long history costs nothing per frame. */
static void fold_spans(const struct model *m, struct lanes *l, const int *lane_of, uint64_t now)
{
    uint64_t t0 = now > TL_WINDOW_NS ? now - TL_WINDOW_NS : 0;
    size_t start = first_span_at(m, t0);
    /* now is always the right edge, also in the first seconds of a replay (times from 0) */
    int64_t left = (int64_t)now - (int64_t)TL_WINDOW_NS;
    for (size_t i = start, back = 0; i-- > 0 && back < LOOK_BACK; back++) {
        const struct model_span *s = model_span_at(m, i);
        if (s->task >= m->ntasks || lane_of[s->task] < 0 || l->col[lane_of[s->task]] >= 0)
            continue;
        l->col[lane_of[s->task]] = 0;
        l->state[lane_of[s->task]] = s->state;
    }
    for (size_t i = start; i < m->spans_len; i++) {
        const struct model_span *s = model_span_at(m, i);
        if (s->task >= m->ntasks || lane_of[s->task] < 0)
            continue;
        int lane = lane_of[s->task];
        int c = (int64_t)s->t <= left ? 0 : col_of(l, (uint64_t)((int64_t)s->t - left));
        if (c > l->cols)
            c = l->cols;
        lane_fill(l, lane, c);
        l->col[lane] = c;
        l->state[lane] = s->state;
    }
    for (int k = 0; k < l->n; k++)
        lane_fill(l, k, l->cols);
}

static void draw_lane(const struct ui *u, const struct lanes *l, int k, int y, int x)
{
    const uint8_t *row = l->cell + (size_t)k * (size_t)l->cols;
    for (int c = 0; c < l->cols; c++) {
        uint8_t st = row[c];
        if (st == CELL_NONE || st >= TS__COUNT)
            continue;
        screen_put(y, x + c, 1, ui_state_attr(st), CELL_GLYPH[st]);
    }
    (void)u;
}

static uint64_t timeline_now(const struct ui *u)
{
    if ((u->r->finished || u->r->stopped) && u->r->t_end_ns)
        return u->r->t_end_ns;
    return run_now_ns(u->r);
}

/* The title: the legend, and the lanes there is no room for (the Tasks panel says it too),
 * in place of "last 10s" so that the legend stays whole at 80 columns. Without the kernel's
 * switch events a lane's solid block is /proc's R, which cannot tell running from ready.
 * zombie: a lane shows one (☠, as in the Tasks panel); its key takes the place of "last 10s"
 * when no lane is hidden, and only where the title still fits in w columns. */
static void timeline_title(const struct ui *u, int hidden, int zombie, int w, char *buf, size_t n)
{
    int probes = u->r->replay ? u->r->recorded_bpf : u->r->bpf != NULL;
    if (zombie && !hidden) {
        snprintf(
            buf, n, "%s",
            probes
                ? TR(u, " Timeline · █ run  ▒ ready  · blocked  ☠ zombie  ╌ at the step gate ",
                     " 时间线 · █ 运行  ▒ 就绪  · 阻塞  ☠ 僵尸  ╌ 在步进闸门前 ")
                : TR(u,
                     " Timeline · █ run or ready (/proc)  · blocked  ☠ zombie  ╌ at the step gate ",
                     " 时间线 · █ 运行或就绪（/proc）  · 阻塞  ☠ 僵尸  ╌ 在步进闸门前 "));
        if (screen_width(buf) <= w)
            return;
    }
    if (hidden > 0 && probes)
        snprintf(buf, n,
                 TR(u, " Timeline (%d not shown) · █ run  ▒ ready  · blocked  ╌ at the step gate ",
                    " 时间线（%d 个未显示） · █ 运行  ▒ 就绪  · 阻塞  ╌ 在步进闸门前 "),
                 hidden);
    else if (hidden > 0)
        snprintf(buf, n,
                 TR(u,
                    " Timeline (%d not shown) · █ run or ready (/proc)  · blocked  ╌ at the gate ",
                    " 时间线（%d 个未显示） · █ 运行或就绪（/proc）  · 阻塞  ╌ 在闸门前 "),
                 hidden);
    else if (probes)
        snprintf(buf, n, "%s",
                 TR(u, " Timeline · last 10s · █ run  ▒ ready  · blocked  ╌ at the step gate ",
                    " 时间线 · 最近 10 秒 · █ 运行  ▒ 就绪  · 阻塞  ╌ 在步进闸门前 "));
    else
        snprintf(buf, n, "%s",
                 TR(u, " Timeline · 10s · █ run or ready (/proc)  · blocked  ╌ at the step gate ",
                    " 时间线 · 10 秒 · █ 运行或就绪（/proc）  · 阻塞  ╌ 在步进闸门前 "));
}

void panel_timeline_draw(struct ui *u, struct rect r)
{
    struct rect in = screen_inner(r);
    const struct model *m = &u->r->model;
    int label_w = 13;
    struct lanes l = {.cols = in.w - label_w - 2};
    int first = u->task_top > u->row_base ? u->task_top : u->row_base; /* no conductor lane */
    l.n = (int)u->nrows - first;
    char title[200];
    int shown = l.n < in.h ? l.n : in.h, all = (int)u->nrows - u->row_base;
    int hidden = in.h > 0 && all > shown ? all - shown : 0, title_w = r.w - 4;
    if (l.n > in.h)
        l.n = in.h;
    if (l.n <= 0 || l.cols <= 0 || !m->ntasks) {
        timeline_title(u, hidden, 0, title_w, title, sizeof(title));
        screen_box(r, title, u->focus == P_TIMELINE);
        return;
    }

    int *lane_of = malloc(m->ntasks * sizeof(*lane_of));
    l.cell = malloc((size_t)l.n * (size_t)l.cols);
    l.state = calloc((size_t)l.n, 1);
    l.col = malloc((size_t)l.n * sizeof(*l.col));
    if (!lane_of || !l.cell || !l.state || !l.col) {
        timeline_title(u, hidden, 0, title_w, title, sizeof(title));
        screen_box(r, title, u->focus == P_TIMELINE);
        goto cleanup;
    }
    memset(l.cell, CELL_NONE, (size_t)l.n * (size_t)l.cols);
    for (size_t i = 0; i < m->ntasks; i++)
        lane_of[i] = -1;
    for (int k = 0; k < l.n; k++) {
        lane_of[u->rows[first + k].task] = k;
        l.col[k] = -1;
    }
    uint64_t now = timeline_now(u);
    fold_spans(m, &l, lane_of, now);
    int zombie = memchr(l.cell, TS_ZOMBIE, (size_t)l.n * (size_t)l.cols) != NULL;
    timeline_title(u, hidden, zombie, title_w, title, sizeof(title));
    screen_box(r, title, u->focus == P_TIMELINE);
    for (int k = 0; k < l.n; k++) {
        const struct model_task *t = &m->tasks[u->rows[first + k].task];
        int gate = t->state == TS_GATE;
        screen_put(in.y + k, in.x, 1, THEME[R_GATE], gate ? "‖" : " ");
        screen_put(in.y + k, in.x + 1, label_w, THEME[R_NORMAL], t->name);
        draw_lane(u, &l, k, in.y + k, in.x + label_w + 2);
    }
cleanup:
    free(lane_of);
    free(l.cell);
    free(l.state);
    free(l.col);
}
