/*
 * panel_waitfor.c - a deadlock drawn: the wait-for graph's cycle, edge by edge.
 *
 * When the model's wait-for graph has a cycle (waitfor.h), every task on it holds a lock and
 * waits for the lock the next one holds: "t1 ──holds A, wants B──▶ t2", closing back on the
 * first task. The dashboard draws it in place of the timeline (frozen anyway while the tasks
 * are stuck) and projector mode under the tasks. It reads the model only, so a replay of a
 * deadlocked run shows the same picture.
 */
#include "tui.h"
#include "waitfor.h"

#include <stdio.h>
#include <string.h>

/* The lock task c->task[i] holds that the previous task of the cycle waits for. */
static const char *held_lock(const struct model *m, const struct waitfor_cycle *c, size_t i)
{
    uint32_t o = c->obj[(i + c->n - 1) % c->n];
    return o < m->nobjs ? m->objs[o].name : "?";
}

static const char *wanted_lock(const struct model *m, const struct waitfor_cycle *c, size_t i)
{
    return c->obj[i] < m->nobjs ? m->objs[c->obj[i]].name : "?";
}

static const char *task_name(const struct model *m, const struct waitfor_cycle *c, size_t i)
{
    return m->tasks[c->task[i % c->n]].name;
}

/* Draw edge i on row y: "t1 ──holds A, wants B──▶ t2", names padded to namew. */
static void draw_edge(const struct ui *u, const struct waitfor_cycle *c, size_t i, int y, int x,
                      int w, int namew)
{
    const struct model *m = &u->r->model;
    char label[128];
    snprintf(label, sizeof(label), TR(u, "──holds %s, wants %s──▶ ", "──持有 %s，等待 %s──▶ "),
             held_lock(m, c, i), wanted_lock(m, c, i));
    int at = x;
    at += screen_putf(y, at, x + w - at, THEME[R_NORMAL] | A_BOLD, "%-*s ", namew,
                      task_name(m, c, i));
    at += screen_put(y, at, x + w - at, THEME[R_BLOCK] | A_BOLD, label);
    at += screen_put(y, at, x + w - at, THEME[R_NORMAL] | A_BOLD, task_name(m, c, i + 1));
    if (i + 1 != c->n)
        return;
    /* the last edge closes the cycle: said whole, shorter when the row is short ("a cycl") */
    const char *tails[] = {TR(u, "  ↺ back to the first: a cycle", "  ↺ 回到第一个：成环"),
                           TR(u, "  ↺ a cycle", "  ↺ 成环"), "  ↺"};
    for (size_t k = 0; k < sizeof(tails) / sizeof(tails[0]); k++)
        if (screen_width(tails[k]) <= x + w - at) {
            screen_put(y, at, x + w - at, THEME[R_BLOCK] | A_BOLD, tails[k]);
            return;
        }
}

/* The whole cycle on one (wrapped) line: "t1 ─(B)─▶ t2 ─(A)─▶ t1". */
static int draw_chain(const struct ui *u, const struct waitfor_cycle *c, struct rect r)
{
    const struct model *m = &u->r->model;
    char text[1024];
    size_t len = 0;
    for (size_t i = 0; i <= c->n && len < sizeof(text); i++) {
        int k = snprintf(text + len, sizeof(text) - len, i ? " ─(%s)─▶ %s" : "%s",
                         i ? wanted_lock(m, c, i - 1) : task_name(m, c, 0), task_name(m, c, i));
        len += k > 0 ? (size_t)k : 0;
    }
    return screen_wrap(r, 0, THEME[R_BLOCK] | A_BOLD, text);
}

/* Draw the cycle in r (no box); returns the rows used. */
static int draw_cycle(const struct ui *u, const struct waitfor_cycle *c, struct rect r)
{
    if (r.h <= 0 || r.w <= 0)
        return 0;
    if ((int)c->n > r.h)
        return draw_chain(u, c, r);
    int namew = 0;
    for (size_t i = 0; i < c->n; i++) {
        int w = screen_width(task_name(&u->r->model, c, i));
        namew = w > namew ? w : namew;
    }
    int y = r.y;
    if ((int)c->n < r.h)
        screen_put(y++, r.x, r.w, THEME[R_BAD] | A_BOLD,
                   TR(u, "Nobody can move: each task waits for a lock the next one holds.",
                      "谁也无法前进：每个任务都在等下一个任务持有的锁。"));
    for (size_t i = 0; i < c->n; i++)
        draw_edge(u, c, i, y++, r.x, r.w, namew);
    return y - r.y;
}

int panel_waitfor_draw(struct ui *u, struct rect r)
{
    struct waitfor_cycle c;
    if (!u->r || !waitfor_find_cycle(&u->r->model, &c))
        return 0;
    screen_box(r, TR(u, " Deadlock · wait-for graph ", " 死锁 · 等待图 "), 0);
    struct rect in = screen_inner(r);
    draw_cycle(u, &c, (struct rect){in.y, in.x + 1, in.h, in.w - 1});
    return 1;
}

int panel_waitfor_rows(struct ui *u)
{
    struct waitfor_cycle c;
    if (!u->r || !waitfor_find_cycle(&u->r->model, &c))
        return 0;
    return (int)c.n + 3; /* a blank line, the title, the sentence, one line an edge */
}

int panel_waitfor_lines(struct ui *u, struct rect r)
{
    struct waitfor_cycle c;
    if (!u->r || r.h < 2 || !waitfor_find_cycle(&u->r->model, &c))
        return 0;
    screen_put(r.y, r.x, r.w, THEME[R_BAD] | A_BOLD,
               TR(u, "DEADLOCK · wait-for graph:", "死锁 · 等待图："));
    return 1 + draw_cycle(u, &c, (struct rect){r.y + 1, r.x + 2, r.h - 1, r.w - 2});
}
