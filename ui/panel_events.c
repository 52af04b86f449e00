/*
 * panel_events.c - the event log: newest last, scrollable with PgUp/PgDn.
 *
 * Each line is the time since the run started, the task and a compact description of the
 * event (narrate_brief). Scheduler noise (state samples, switches, wakeups) is hidden unless
 * verbose (v) is on; the title says so.
 */
#include "narrate.h"
#include "tui.h"

#include <stdio.h>

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

static void draw_event_line(struct ui *u, const struct ev *e, int y, int x, int w)
{
    const struct model *m = &u->r->model;
    char name[48], brief[160];
    narrate_task_name(m, e, name, sizeof(name));
    narrate_brief(m, e, brief, sizeof(brief));
    int used = screen_putf(y, x, w, THEME[R_DIM], "%8.3f ", ui_ev_time(u, e->t));
    used += screen_putf(y, x + used, w - used, THEME[R_TITLE], "%-11s ", name);
    screen_fit_words(brief, sizeof(brief), w - used); /* never a pid cut to its first digits */
    screen_put(y, x + used, w - used, event_attr(e), brief);
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
    int y = in.y + in.h - n;
    for (int j = n; j-- > 0; y++)
        draw_event_line(u, shown[j], y, in.x, in.w);
    if (u->ev_scroll > 0)
        screen_putf(r.y + r.h - 1, r.x + 2, r.w - 4, THEME[R_WARN],
                    TR(u, " ↑ scrolled %d · PgDn ", " ↑ 已上翻 %d · PgDn "), u->ev_scroll);
}
