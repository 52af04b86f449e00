/*
 * panel_tasks.c - the Tasks panel: the process/thread tree with one state per row.
 *
 * Each row shows pid, name, a state glyph + word + colour (never colour alone), and what
 * the state is about: the object it is blocked on, the call it will make when the step gate
 * lets it through, its CPU, exit status or zombie time. The state table and the tree order
 * used by the timeline and the pick keys (1-9) live here too.
 */
#include "narrate.h"
#include "tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *glyph, *en, *zh;
    int role;
} STATES[TS__COUNT + 1] = {
    [TS_NEW] = {"○", "NEW", "新建", R_NEW},
    [TS_READY] = {"◷", "READY", "就绪", R_READY},
    [TS_RUNNING] = {"▶", "RUN", "运行", R_RUN},
    [TS_BLOCKED] = {"■", "BLOCK", "阻塞", R_BLOCK},
    [TS_ZOMBIE] = {"☠", "ZOMBIE", "僵尸", R_ZOMBIE},
    [TS_EXITED] = {"✓", "EXIT", "已结束", R_EXIT},
    [TS_REAPED] = {"✓", "REAPED", "已回收", R_EXIT},
    [TS__COUNT] = {"‖", "GATE", "闸门", R_GATE}, /* held at ipcscope's step gate */
};

#define GATE_STATE TS__COUNT

const char *ui_state_glyph(int state)
{
    return state >= 0 && state <= TS__COUNT ? STATES[state].glyph : "?";
}

const char *ui_state_word(const struct ui *u, int state)
{
    if (state < 0 || state > TS__COUNT)
        return "?";
    return TR(u, STATES[state].en, STATES[state].zh);
}

attr_t ui_state_attr(int state)
{
    return state >= 0 && state <= TS__COUNT ? THEME[STATES[state].role] : THEME[R_NORMAL];
}

int ui_task_at_gate(const struct ui *u, const struct model_task *t, unsigned *kind, uint32_t *obj)
{
    if (!u->r || !u->r->sh || t->slot == EV_NO_TASK || t->slot >= u->r->sh->max_tasks)
        return 0;
    if (t->state == TS_ZOMBIE || t->state == TS_EXITED || t->state == TS_REAPED)
        return 0;
    struct instr_task *it = &u->r->sh->tasks[t->slot];
    if (atomic_load(&it->gate) != GS_WAITING)
        return 0;
    if (kind)
        *kind = atomic_load(&it->gate_kind);
    if (obj)
        *obj = atomic_load(&it->gate_obj);
    return 1;
}

/* ---- the tree ---- */

struct tid_idx {
    int32_t tid;
    uint32_t idx;
};

static int cmp_tid(const void *a, const void *b)
{
    const struct tid_idx *x = a, *y = b;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

static uint32_t find_tid(const struct tid_idx *v, size_t n, int32_t tid)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid].tid < tid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo].tid == tid ? v[lo].idx : MODEL_NO_TASK;
}

/* The tree parent of task i: a thread's process, a process's parent; none: root. */
static uint32_t parent_of(const struct model *m, const struct tid_idx *v, size_t n, uint32_t i)
{
    const struct model_task *t = &m->tasks[i];
    uint32_t p = MODEL_NO_TASK;
    if (t->kind == TK_THREAD && t->tid != t->pid)
        p = find_tid(v, n, t->pid);
    else if (t->ppid > 0)
        p = find_tid(v, n, t->ppid);
    return p == i ? MODEL_NO_TASK : p;
}

static int grow_rows(struct ui *u, size_t n)
{
    if (n <= u->rows_cap)
        return 0;
    struct tree_row *nr = realloc(u->rows, n * sizeof(*nr));
    if (!nr)
        return -1;
    u->rows = nr;
    u->rows_cap = n;
    return 0;
}

/* Push the children starting at c so that the first child is popped first. */
static void push_children(uint32_t c, const uint32_t *next, uint32_t *stack, size_t *sp, size_t n,
                          uint16_t *depth, uint16_t d)
{
    size_t base = *sp;
    for (; c != MODEL_NO_TASK && *sp < n; c = next[c]) {
        depth[c] = d;
        stack[(*sp)++] = c;
    }
    for (size_t a = base, b = *sp; a + 1 < b; a++, b--) {
        uint32_t tmp = stack[a];
        stack[a] = stack[b - 1];
        stack[b - 1] = tmp;
    }
}

/* Depth-first walk from the roots (first[n]), children in creation order. */
static void walk(struct ui *u, const uint32_t *first, const uint32_t *next, uint32_t *stack,
                 uint16_t *depth, size_t n)
{
    size_t sp = 0;
    push_children(first[n], next, stack, &sp, n, depth, 1);
    while (sp > 0 && u->nrows < n) {
        uint32_t t = stack[--sp];
        u->rows[u->nrows++] =
            (struct tree_row){.task = t, .depth = depth[t], .last = next[t] == MODEL_NO_TASK};
        push_children(first[t], next, stack, &sp, n, depth, (uint16_t)(depth[t] + 1));
    }
}

void ui_tree_build(struct ui *u)
{
    u->nrows = 0;
    if (!u->r)
        return;
    const struct model *m = &u->r->model;
    size_t n = m->ntasks;
    if (!n || grow_rows(u, n) < 0)
        return;
    struct tid_idx *v = malloc(n * sizeof(*v));
    uint32_t *first = malloc((n + 1) * sizeof(*first)), *next = malloc(n * sizeof(*next));
    uint32_t *stack = malloc(n * sizeof(*stack));
    uint16_t *depth = malloc(n * sizeof(*depth));
    if (!v || !first || !next || !stack || !depth)
        goto cleanup;
    for (size_t i = 0; i < n; i++)
        v[i] = (struct tid_idx){m->tasks[i].tid, (uint32_t)i};
    qsort(v, n, sizeof(*v), cmp_tid);
    for (size_t i = 0; i <= n; i++)
        first[i] = MODEL_NO_TASK;
    for (size_t i = n; i-- > 0;) { /* prepend in reverse: children end up in index order */
        uint32_t p = parent_of(m, v, n, (uint32_t)i);
        size_t slot = p == MODEL_NO_TASK ? n : p;
        next[i] = first[slot];
        first[slot] = (uint32_t)i;
    }
    walk(u, first, next, stack, depth, n);
    u->row_base = u->nrows && m->tasks[u->rows[0].task].tid == u->r->ctx.conductor;
cleanup:
    free(v);
    free(first);
    free(next);
    free(stack);
    free(depth);
}

int ui_row_key(const struct ui *u, int row)
{
    int k = row - u->row_base + 1;
    return k >= 1 && k <= 9 ? k : 0;
}

int ui_row_of_task(const struct ui *u, uint32_t task)
{
    for (size_t i = 0; i < u->nrows; i++)
        if (u->rows[i].task == task)
            return (int)i;
    return -1;
}

/* ---- drawing ---- */

/* The state shown for a task (GATE_STATE when held at the step gate), and its detail text. */
static int shown_state(const struct ui *u, const struct model_task *t, char *detail, size_t n)
{
    const struct model *m = &u->r->model;
    unsigned kind;
    uint32_t obj;
    detail[0] = '\0';
    if (ui_task_at_gate(u, t, &kind, &obj)) {
        char call[64];
        narrate_call(m, kind, obj, call, sizeof(call));
        snprintf(detail, n, "→ %s", call);
        return GATE_STATE;
    }
    switch (t->state) {
    case TS_BLOCKED:
        model_blocked_label(m, t, detail, n);
        if (!detail[0] && t->wchan[0])
            snprintf(detail, n, "%s", t->wchan);
        break;
    case TS_RUNNING:
        if (t->cpu >= 0)
            snprintf(detail, n, "cpu%d", (int)t->cpu);
        break;
    case TS_ZOMBIE: {
        double s = t->t_exit ? (double)(loop_now_ns() - t->t_exit) / 1e9 : 0;
        snprintf(detail, n, TR(u, "status %d, %.1fs unreaped", "状态 %d，%.1fs 未回收"),
                 (int)t->exit_status, s);
        break;
    }
    case TS_EXITED:
    case TS_REAPED:
        snprintf(detail, n, TR(u, "status %d", "状态 %d"), (int)t->exit_status);
        break;
    default:
        break;
    }
    return t->state;
}

/* Draw "glyph WORD" padded to 8 columns; returns columns used. */
static int draw_state(const struct ui *u, int y, int x, int maxw, int st)
{
    char s[48];
    snprintf(s, sizeof(s), "%s %s", ui_state_glyph(st), ui_state_word(u, st));
    screen_put(y, x, maxw, ui_state_attr(st), s);
    return 8 < maxw ? 8 : maxw;
}

static void draw_row(struct ui *u, const struct tree_row *row, int i, int y, struct rect in,
                     int name_w)
{
    const struct model_task *t = &u->r->model.tasks[row->task];
    int sel = u->focus == P_TASKS && i == u->sel_row;
    int x = in.x, end = in.x + in.w;
    char buf[128];

    screen_put(y, x, 1, THEME[R_FOCUS], sel ? "▸" : " ");
    x++;
    if (ui_row_key(u, i))
        screen_putf(y, x, 1, THEME[R_TITLE], "%d", ui_row_key(u, i));
    x += 2;
    int indent = (row->depth - 2) * 2;
    x += indent > 8 ? 8 : indent > 0 ? indent : 0;
    if (row->depth >= 2)
        x += screen_put(y, x, end - x, THEME[R_BORDER], row->last ? "└ " : "├ ");
    if (in.w >= 50) {
        snprintf(buf, sizeof(buf), "%-6d", t->kind == TK_THREAD ? (int)t->tid : (int)t->pid);
        x += screen_put(y, x, end - x, THEME[R_DIM], buf);
    }
    screen_put(y, x, end - x < name_w ? end - x : name_w, sel ? THEME[R_SEL] : THEME[R_NORMAL],
               t->name);
    x += name_w + 1;
    if (x >= end)
        return;

    char detail[96];
    int st = shown_state(u, t, detail, sizeof(detail));
    x += draw_state(u, y, x, end - x, st) + 1;
    if (in.w >= 60 && x + 7 < end) {
        screen_putf(y, x, end - x, THEME[R_DIM], "%5llu", (unsigned long long)t->actions);
        x += 6;
    }
    if (x < end)
        screen_put(y, x, end - x, st == GATE_STATE ? THEME[R_GATE] : ui_state_attr(st), detail);
}

static void keep_visible(struct ui *u, int h)
{
    if (u->sel_row >= (int)u->nrows)
        u->sel_row = u->nrows ? (int)u->nrows - 1 : 0;
    if (u->sel_row < 0)
        u->sel_row = 0;
    if (u->sel_row < u->task_top)
        u->task_top = u->sel_row;
    if (u->sel_row >= u->task_top + h)
        u->task_top = u->sel_row - h + 1;
    if (u->task_top > (int)u->nrows - h)
        u->task_top = (int)u->nrows - h;
    if (u->task_top < 0)
        u->task_top = 0;
}

void panel_tasks_draw(struct ui *u, struct rect r)
{
    char title[96];
    const struct model *m = &u->r->model;
    snprintf(title, sizeof(title), TR(u, " Tasks (%zu) ", " 任务（%zu）"), m->ntasks);
    screen_box(r, title, u->focus == P_TASKS);
    struct rect in = screen_inner(r);
    if (in.h < 1)
        return;

    int synthetic = model_task_by_tid(m, u->r->ctx.conductor) == MODEL_NO_TASK;
    if (synthetic) /* the conductor is the root of the tree even when no source reports it */
        screen_putf(in.y, in.x + 1, in.w - 1, THEME[R_DIM], "   %-6d ipcscope %s",
                    u->r->ctx.conductor, TR(u, "(conductor)", "（指挥进程）"));
    int h = in.h - synthetic;
    keep_visible(u, h);
    int name_w = 4;
    for (size_t i = 0; i < u->nrows; i++) {
        int w = screen_width(m->tasks[u->rows[i].task].name);
        name_w = w > name_w ? w : name_w;
    }
    name_w = name_w > 14 ? 14 : name_w;
    for (int k = 0; k < h && u->task_top + k < (int)u->nrows; k++) {
        int i = u->task_top + k;
        draw_row(u, &u->rows[i], i, in.y + synthetic + k, in, name_w);
    }
    if (in.w >= 60)
        screen_put(r.y, r.x + r.w - 10, 8, THEME[R_DIM], TR(u, " actions ", " 动作数 "));
}
