/*
 * panel_events.c - the event log: newest last, scrollable with PgUp/PgDn.
 *
 * Each line is the time since the run started, the task and a compact description of the
 * event (narrate_brief). Scheduler noise (state samples, switches, wakeups) is hidden unless
 * verbose (v) is on; the title says so. In a narrow panel the time and task columns are only
 * as wide as the lines shown need, and a line cut short keeps its object's name whole.
 */
#include "narrate.h"
#include "tui.h"

#include <stdio.h>
#include <string.h>

#define NARROW_W 60 /* inner width below which the columns shrink to what they show */
#define NAME_W 11   /* the task column's width (a longer name pushes the line on) */

static int is_noise(const struct ev *e)
{
    switch (e->kind) {
    case EV_STATE:
    case EV_SCHED_IN:
    case EV_SCHED_OUT:
    case EV_WAKEUP:
    case EV_WAKEUP_NEW:
        return 1;
    default:
        return 0;
    }
}

static attr_t event_attr(const struct ev *e)
{
    switch (e->kind) {
    case EV_SEM_WAIT:
    case EV_MUTEX_WAIT:
    case EV_EVENT_WAIT:
        return e->aux ? THEME[R_BLOCK] : THEME[R_NORMAL];
    case EV_BLOCK:
    case EV_COND_WAIT:
        return THEME[R_BLOCK];
    case EV_TASK_EXIT:
    case EV_TASK_REAPED:
    case EV_PROC_EXIT:
        return THEME[R_EXIT];
    case EV_ACTION:
    case EV_SIG_SEND:
    case EV_REPARENT:
        return THEME[R_WARN];
    default:
        return is_noise(e) ? THEME[R_DIM] : THEME[R_NORMAL];
    }
}

/* Where the object's name of a brief line ends: past the ")" of "kind(name)" at its start
 * ("mutex_acquired(lock) ..." -> after "(lock)"), or 0 when the line names no object. */
static size_t object_end(const char *s)
{
    const char *open = strchr(s, '('), *sp = strchr(s, ' ');
    if (!open || open == s || (sp && sp < open))
        return 0;
    const char *close = strchr(open, ')');
    return close ? (size_t)(close + 1 - s) : 0;
}

/* Cut s (n bytes) to w columns keeping "kind(name)" whole: the words after the name go first
 * ("sem_wait(empty) =0…", "obj_create(output)…"); when even "kind(name)" does not fit, the
 * kind's family ("mutex_", "sock_", "obj_") goes ("acquired(lock)", "connect(client-1-sock)");
 * only a name that cannot fit by itself is cut (screen_fit_words). */
static void fit_brief(char *s, size_t n, int w)
{
    if (w <= 0 || screen_width(s) <= w)
        return;
    size_t end = object_end(s);
    char *us = end ? memchr(s, '_', end) : NULL;
    if (end && us && strchr(s, '(') > us && screen_width(s) > w) {
        char head[160];
        snprintf(head, sizeof(head), "%.*s", (int)end, s);
        if (screen_width(head) + (s[end] ? 1 : 0) > w) { /* "acquired(lock)": the verb */
            memmove(s, us + 1, strlen(us + 1) + 1);
            end -= (size_t)(us + 1 - s);
        }
    }
    if (!end || screen_width(s) <= w) {
        screen_fit_words(s, n, w);
        return;
    }
    char whole[160];
    snprintf(whole, sizeof(whole), "%s", s);
    screen_fit_words(s, n, w);
    if (strncmp(s, whole, end) == 0 || end + strlen("…") >= n)
        return; /* the cut fell after the name */
    snprintf(s, n, "%.*s", (int)end, whole);
    if (screen_width(s) + 1 <= w) {
        snprintf(s + end, n - end, "…");
        return;
    }
    if (screen_width(s) > w) { /* the name alone is wider than the column */
        snprintf(s, n, "%s", whole);
        screen_fit_words(s, n, w);
    }
}

/* Widths of the time and task columns: what the lines shown need in a narrow panel
 * ("3.651", "worker-1"), else 8 and NAME_W. */
struct ev_cols {
    int time_w, name_w;
};

static void draw_event_line(struct ui *u, const struct ev *e, int y, int x, int w,
                            const struct ev_cols *c)
{
    const struct model *m = &u->r->model;
    char name[48], brief[160];
    narrate_task_name(m, e, name, sizeof(name));
    narrate_brief(m, e, brief, sizeof(brief));
    int used = screen_putf(y, x, w, THEME[R_DIM], "%*.3f ", c->time_w, ui_ev_time(u, e->t));
    int nw = screen_width(name);
    used += screen_put(y, x + used, w - used, THEME[R_TITLE], name);
    used += (nw < c->name_w ? c->name_w - nw : 0) + 1;
    fit_brief(brief, sizeof(brief), w - used); /* never a pid cut to its first digits */
    screen_put(y, x + used, w - used, event_attr(e), brief);
}

static void column_widths(struct ui *u, const struct ev *const *shown, int n, int w,
                          struct ev_cols *c)
{
    c->time_w = 8;
    c->name_w = NAME_W;
    if (w >= NARROW_W || n == 0)
        return;
    c->time_w = c->name_w = 1;
    for (int j = 0; j < n; j++) {
        char b[48];
        int tw = snprintf(b, sizeof(b), "%.3f", ui_ev_time(u, shown[j]->t));
        narrate_task_name(&u->r->model, shown[j], b, sizeof(b));
        int nw = screen_width(b);
        c->time_w = tw > c->time_w ? tw : c->time_w;
        c->name_w = nw > c->name_w ? nw : c->name_w;
    }
    c->name_w = c->name_w > NAME_W ? NAME_W : c->name_w;
}

void panel_events_draw(struct ui *u, struct rect r)
{
    const struct model *m = &u->r->model;
    char title[128];
    snprintf(title, sizeof(title),
             u->verbose ? TR(u, " Events (%llu) · all ", " 事件（%llu）· 全部 ")
                        : TR(u, " Events (%llu) · v: show sched ", " 事件（%llu）· v 显示调度 "),
             (unsigned long long)m->total);
    screen_box(r, title, u->focus == P_EVENTS);
    struct rect in = screen_inner(r);
    if (in.h <= 0)
        return;

    const struct ev *shown[256];
    int want = in.h < (int)UI_COUNT(shown) ? in.h : (int)UI_COUNT(shown);
    int skip = u->ev_scroll, n = 0, avail = 0;
    /* newest first; verbose merges the scheduler's records (kept apart) by time */
    size_t i = m->hist_len, k = u->verbose ? m->khist_len : 0;
    while (n < want && (i > 0 || k > 0)) {
        const struct ev *a = i ? model_hist(m, i - 1) : NULL, *b = k ? model_khist(m, k - 1) : NULL;
        const struct ev *e = a && (!b || a->t >= b->t) ? a : b;
        if (e == a)
            i--;
        else
            k--;
        if (!u->verbose && is_noise(e))
            continue;
        avail++;
        if (skip > 0) {
            skip--;
            continue;
        }
        shown[n++] = e;
    }
    if (n < want && u->ev_scroll > 0) { /* scrolled past the oldest: clamp */
        u->ev_scroll -= want - n < u->ev_scroll ? want - n : u->ev_scroll;
        (void)avail;
    }
    struct ev_cols cols;
    column_widths(u, shown, n, in.w, &cols);
    int y = in.y + in.h - n;
    for (int j = n; j-- > 0; y++)
        draw_event_line(u, shown[j], y, in.x, in.w, &cols);
    if (u->ev_scroll > 0)
        screen_putf(r.y + r.h - 1, r.x + 2, r.w - 4, THEME[R_WARN],
                    TR(u, " ↑ scrolled %d · PgDn ", " ↑ 已上翻 %d · PgDn "), u->ev_scroll);
}
