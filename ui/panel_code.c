/*
 * panel_code.c - the Code panel (c): each role's listing with a marker on the line each task
 * is at, its pending action at the step gate or the call it is blocked in.
 *
 * The selected task's role comes first and its line is highlighted; other roles follow side
 * by side while they fit. Markers name tasks by their pick key (1-9) and take the colour of
 * the task's state. In projector mode only the selected task's listing is drawn, large.
 */
#include "lesson_run.h"
#include "tui.h"

#include <stdio.h>
#include <string.h>

#define GUTTER 7   /* "1,2 ▶ " before the code */
#define COL_MIN 36 /* a listing narrower than this is not drawn beside another */
#define MAX_ROLES 8

/* The model index of the task whose code to show: the selected one, or when it has no
 * listing (ipcscope's own row), the one the next step lets through, else the first with a
 * listing. MODEL_NO_TASK when none has. */
static uint32_t selected_task(const struct ui *u)
{
    const struct model *m = &u->r->model;
    const struct lesson *l = lesson_find(u->sc->id);
    if (u->sel_row >= 0 && u->sel_row < (int)u->nrows) {
        uint32_t t = u->rows[u->sel_row].task;
        if (lesson_role_of(l, m->tasks[t].name))
            return t;
    }
    struct run_waiter w[1];
    if (run_waiters(u->r, w, 1) > 0) {
        uint32_t t = model_task_by_slot(m, (uint32_t)w[0].slot);
        if (t != MODEL_NO_TASK && lesson_role_of(l, m->tasks[t].name))
            return t;
    }
    for (size_t row = 0; row < u->nrows; row++)
        if (lesson_role_of(l, m->tasks[u->rows[row].task].name))
            return u->rows[row].task;
    return MODEL_NO_TASK;
}

/* The marker text of line i of role for every task on it ("1,3 ▶"), its colour, and 1 when
 * the selected task is on it. */
static int markers(struct ui *u, const struct lesson_role *role, int i, char *buf, size_t n,
                   attr_t *a)
{
    const struct model *m = &u->r->model;
    uint32_t sel = selected_task(u);
    size_t len = 0;
    int here = 0, any = 0;
    buf[0] = '\0';
    *a = THEME[R_DIM];
    for (size_t row = (size_t)u->row_base; row < u->nrows; row++) {
        uint32_t idx = u->rows[row].task;
        const struct model_task *t = &m->tasks[idx];
        int line;
        if (lesson_run_marker(u->r->lesson, m, idx, &line) != role || line != i ||
            t->state == TS_REAPED || t->state == TS_EXITED || t->state == TS_ZOMBIE)
            continue;
        int key = ui_row_key(u, (int)row);
        if (len < n)
            len += (size_t)(key ? snprintf(buf + len, n - len, "%s%d", any ? "," : "", key)
                                : snprintf(buf + len, n - len, "%s•", any ? "," : ""));
        if (!any || idx == sel)
            *a = ui_state_attr(t->state) | A_BOLD;
        any = 1;
        here |= idx == sel;
    }
    if (any && len < n)
        snprintf(buf + len, n - len, "▶");
    return here;
}

/* The first line to draw so that line `keep` is visible in h rows. */
static int first_line(const struct lesson_role *role, int keep, int h)
{
    if ((int)role->n <= h || keep < 0)
        return 0;
    int top = keep - h / 2;
    if (top < 0)
        top = 0;
    if (top > (int)role->n - h)
        top = (int)role->n - h;
    return top;
}

/* One listing in r: a title line, then the code with its markers. */
static void draw_listing(struct ui *u, const struct lesson_role *role, struct rect r, int big)
{
    char title[96];
    snprintf(title, sizeof(title), "%s* · %s", role->prefix, role->lang);
    screen_put(r.y, r.x, r.w, THEME[R_TITLE] | A_BOLD, title);
    int h = r.h - 1, keep = -1;
    uint32_t sel = selected_task(u);
    if (sel != MODEL_NO_TASK)
        lesson_run_marker(u->r->lesson, &u->r->model, sel, &keep);
    int top = first_line(role, keep, h);
    for (int k = 0; k < h && top + k < (int)role->n; k++) {
        int i = top + k, y = r.y + 1 + k;
        char mk[32];
        attr_t ma;
        int here = markers(u, role, i, mk, sizeof(mk), &ma);
        int w = screen_width(mk);
        screen_put(y, r.x + (GUTTER - 1 - w > 0 ? GUTTER - 1 - w : 0), GUTTER - 1, ma, mk);
        attr_t a = role->lines[i].ev != LESSON_NO_EV ? THEME[R_NORMAL] : THEME[R_DIM];
        if (big)
            a |= A_BOLD;
        if (here) {
            a = THEME[R_SEL] | A_BOLD;
            screen_fill(y, r.x + GUTTER, r.w - GUTTER, a);
        }
        screen_put(y, r.x + GUTTER, r.w - GUTTER, a, role->lines[i].text);
    }
}

/* The roles to show: the selected task's first, then the others with a task, in order. */
static int roles_shown(struct ui *u, const struct lesson *l, const struct lesson_role **out)
{
    const struct model *m = &u->r->model;
    int k = 0;
    uint32_t sel = selected_task(u);
    const struct lesson_role *first =
        sel != MODEL_NO_TASK ? lesson_role_of(l, m->tasks[sel].name) : NULL;
    if (first)
        out[k++] = first;
    for (size_t i = 0; i < l->nroles && k < MAX_ROLES; i++) {
        const struct lesson_role *role = &l->roles[i];
        if (role == first)
            continue;
        for (size_t t = 0; t < m->ntasks; t++)
            if (lesson_role_of(l, m->tasks[t].name) == role) {
                out[k++] = role;
                break;
            }
    }
    return k;
}

void panel_code_draw(struct ui *u, struct rect r)
{
    const struct lesson *l = lesson_find(u->sc->id);
    screen_box(r, TR(u, " Code (c) ", " 代码（c）"), 0);
    struct rect in = screen_inner(r);
    if (!l || in.h < 2 || in.w < 10)
        return;
    const struct lesson_role *roles[MAX_ROLES];
    int n = roles_shown(u, l, roles);
    if (!n) {
        screen_put(in.y, in.x, in.w, THEME[R_DIM],
                   TR(u, "No task has started yet.", "还没有任务启动。"));
        return;
    }
    int cols = in.w / COL_MIN < n ? in.w / COL_MIN : n;
    if (cols < 1)
        cols = 1;
    int cw = in.w / cols;
    for (int c = 0; c < cols; c++)
        draw_listing(u, roles[c], (struct rect){in.y, in.x + c * cw, in.h, cw - 1}, 0);
    if (!u->r->lesson)
        screen_put(in.y + in.h - 1, in.x, in.w, THEME[R_DIM],
                   TR(u, "(a replay: no markers)", "（回放：没有位置标记）"));
}

void panel_code_projector(struct ui *u, struct rect r)
{
    const struct lesson *l = lesson_find(u->sc->id);
    uint32_t sel = selected_task(u);
    if (!l || sel == MODEL_NO_TASK || r.h < 3 || r.w < 20)
        return;
    const struct lesson_role *role = lesson_role_of(l, u->r->model.tasks[sel].name);
    if (!role)
        return;
    screen_clear_rect(r, THEME[R_NORMAL]);
    draw_listing(u, role, r, 1);
}
