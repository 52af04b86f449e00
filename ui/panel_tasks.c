/*
 * panel_tasks.c - the Tasks panel: the process/thread tree with one state per row.
 *
 * Each row shows pid, name, a state glyph + word + colour (never colour alone), and what
 * the state is about: the object it is blocked on, the call it will make when the step gate
 * lets it through (next to the kernel function it sleeps in), its CPU, exit status or zombie
 * time; when the panel is wide, columns of actions, time running / ready / blocked, context
 * switches and signals sent/delivered. A gate hint with no room on its row (80x24) goes whole
 * on the line under it when the panel has a row to spare. The state table and the tree order
 * used by the timeline and the pick keys (1-9) live here too.
 */
#include "narrate.h"
#include "phrase_zh.h"
#include "scenarios/exec.h"
#include "tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PID_MIN_W 36 /* inner width from which the pid column shows (80 columns have it) */
#define NARROW_W 50  /* below it (80x24: 40) the row gives its gate hint every column it can */

static const struct {
    const char *glyph, *en, *zh;
    int role;
} STATES[UI_RUNNABLE + 1] = {
    [TS_NEW] = {"○", "NEW", "新建", R_NEW},
    [TS_READY] = {"◷", "READY", "就绪", R_READY},
    [TS_RUNNING] = {"▶", "RUN", "运行", R_RUN},
    [TS_BLOCKED] = {"■", "BLOCK", "阻塞", R_BLOCK},
    [TS_ZOMBIE] = {"☠", "ZOMBIE", "僵尸", R_ZOMBIE},
    [TS_EXITED] = {"✓", "EXIT", "已结束", R_EXIT},
    [TS_REAPED] = {"✓", "REAPED", "已回收", R_EXIT},
    [TS_GATE] = {"‖", "GATE", "闸门", R_GATE}, /* held at ipcscope's step gate */
    /* no kernel probes: /proc's R says running or ready, and cannot tell which */
    [UI_RUNNABLE] = {"▷", "R", "R", R_READY},
};

const char *ui_state_glyph(int state)
{
    return state >= 0 && state <= UI_RUNNABLE ? STATES[state].glyph : "?";
}

const char *ui_state_word(const struct ui *u, int state)
{
    if (state < 0 || state > UI_RUNNABLE)
        return "?";
    return TR(u, STATES[state].en, STATES[state].zh);
}

attr_t ui_state_attr(int state)
{
    return state >= 0 && state <= UI_RUNNABLE ? THEME[STATES[state].role] : THEME[R_NORMAL];
}

int ui_task_at_gate(const struct ui *u, const struct model_task *t, unsigned *kind, uint32_t *obj)
{
    (void)u;
    if (t->state != TS_GATE)
        return 0;
    if (kind)
        *kind = t->gate_kind;
    if (obj)
        *obj = t->gate_obj;
    return 1;
}

/* Kinds whose gate stands for a step rather than a call: their label says what it is; and a
 * blocking call the scenario names ("Thread-1.join()" rather than "a blocking call on join"). */
static int labelled_kind(unsigned kind)
{
    return kind == EV_NOTE || kind == EV_VAR || kind == EV_FORK_RET || kind == EV_BLOCK ||
           kind == EV_TCP_STATE;
}

int ui_gate_call(const struct ui *u, const struct model_task *t, unsigned kind, uint32_t obj,
                 char *buf, size_t n)
{
    if (labelled_kind(kind) && run_gate_label(u->r, t->slot, kind, buf, n)) {
        char zh[160];
        const char *said = phrase_in(buf, u->lang == LANG_ZH, zh, sizeof(zh));
        if (said != buf)
            snprintf(buf, n, "%s", said);
        return 1;
    }
    narrate_call(&u->r->model, kind, obj, t->gate_val, buf, n);
    char zh[160];
    const char *said = phrase_in(buf, u->lang == LANG_ZH, zh, sizeof(zh));
    if (said != buf)
        snprintf(buf, n, "%s", said);
    return 0;
}

int ui_kernel_view(const struct ui *u, const struct model_task *t)
{
    int probes = u->r->replay ? u->r->recorded_bpf : u->r->bpf != NULL;
    return probes && t->kernel_state != TS__COUNT;
}

/* "name(...)": a label that is a call ("setsockopt(rx-1, SO_REUSEADDR)"), not what a step
 * does ("set its x to 11", "eat (meal 2)"). */
static int is_call(const char *s)
{
    size_t len = strlen(s), name = strcspn(s, "( ");
    return name > 0 && s[name] == '(' && len > name + 1 && s[len - 1] == ')';
}

void ui_waiter_call(const struct ui *u, const struct run_waiter *w, char *buf, size_t n)
{
    const struct model *m = &u->r->model;
    uint32_t idx = model_task_by_slot(m, (uint32_t)w->slot);
    const char *who = idx < m->ntasks ? m->tasks[idx].name : "?";
    char call[64], zh[160];
    const char *what = phrase_in(w->what, u->lang == LANG_ZH, zh, sizeof(zh));
    if (w->timer && what[0]) {
        snprintf(buf, n, TR(u, "lets %s reach its deadline (%s)", "让 %s 到达期限（%s）"), who,
                 what);
    } else if (w->timer) {
        narrate_call(m, w->kind, w->obj, 0, call, sizeof(call));
        snprintf(buf, n, TR(u, "lets %s's %s time out", "让 %s 的 %s 超时"), who, call);
    } else if (w->kind == EV_SLEEP) {
        snprintf(buf, n,
                 TR(u, "lets %1$lld ms pass for %5$s%2$s%3$s%4$s",
                    "让 %5$s 的 %1$lld 毫秒过去%2$s%3$s%4$s"),
                 (long long)w->val, what[0] ? TR(u, " (", "（") : "", what,
                 what[0] ? TR(u, ")", "）") : "", who);
    } else if ((w->kind == EV_BLOCK || (labelled_kind(w->kind) && is_call(what))) && what[0]) {
        /* a call the scenario named: "setsockopt(rx-1, SO_REUSEADDR)" */
        snprintf(buf, n, TR(u, "lets %s call %s", "让 %s 调用 %s"), who, what);
    } else if (labelled_kind(w->kind) && what[0]) {
        /* a step with no call of its own: the scenario's label says what it is */
        snprintf(buf, n, TR(u, "lets %s go on (%s)", "让 %s 继续（%s）"), who, what);
    } else {
        narrate_call(m, w->kind, w->obj, w->val, call, sizeof(call));
        if (strchr(call, '(')) /* a call: "sem_wait(empty)" */
            snprintf(buf, n, TR(u, "lets %s call %s", "让 %s 调用 %s"), who, call);
        else /* what it does: "a store to array" */
            snprintf(buf, n, TR(u, "lets %s make %s", "让 %s %s"), who,
                     phrase_in(call, u->lang == LANG_ZH, zh, sizeof(zh)));
    }
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

static const struct model *g_order_model;

/* Spawn order: the instr slot (the order the scenario started its tasks), then the tid for
 * tasks only the kernel reported. The model's own index depends on which source saw a task
 * first, so it would make the pick keys 1-9 change between runs. */
static int cmp_spawn(const void *a, const void *b)
{
    const struct model_task *x = &g_order_model->tasks[*(const uint32_t *)a];
    const struct model_task *y = &g_order_model->tasks[*(const uint32_t *)b];
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    return (x->tid > y->tid) - (x->tid < y->tid);
}

static void sibling_order(const struct model *m, uint32_t *order, size_t n)
{
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    g_order_model = m;
    qsort(order, n, sizeof(*order), cmp_spawn);
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
    sibling_order(m, stack, n);    /* stack doubles as the order until the walk */
    for (size_t k = n; k-- > 0;) { /* prepend in reverse: children end up in spawn order */
        uint32_t i = stack[k], p = parent_of(m, v, n, i);
        size_t slot = p == MODEL_NO_TASK ? n : p;
        next[i] = first[slot];
        first[slot] = i;
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

/* ---- times and columns ---- */

void ui_task_times(const struct ui *u, const struct model_task *t, uint64_t *run, uint64_t *ready,
                   uint64_t *blocked, uint64_t *gate)
{
    uint64_t v[4];
    model_task_times(t, run_now_ns(u->r), v);
    *run = v[0];
    *ready = v[1];
    *blocked = v[2];
    if (gate)
        *gate = v[3];
}

uint64_t ui_zombie_ns(const struct ui *u, const struct model_task *t)
{
    if (!t->t_exit || t->kind != TK_PROCESS)
        return 0;
    uint64_t end = t->t_reaped ? t->t_reaped : run_now_ns(u->r);
    return end > t->t_exit ? end - t->t_exit : 0;
}

/* A duration in at most 6 columns: "0.25s", "12.3s", "512s", "95m". */
void ui_fmt_dur(uint64_t ns, char *buf, size_t n)
{
    double s = (double)ns / 1e9;
    if (s < 9.995)
        snprintf(buf, n, "%.2fs", s);
    else if (s < 99.95)
        snprintf(buf, n, "%.1fs", s);
    else if (s < 9999.5)
        snprintf(buf, n, "%.0fs", s);
    else
        snprintf(buf, n, "%.0fm", s / 60);
}

static void col_actions(const struct ui *u, const struct model_task *t, char *b, size_t n)
{
    (void)u;
    snprintf(b, n, "%llu", (unsigned long long)t->actions);
}

static void col_time(const struct ui *u, const struct model_task *t, char *b, size_t n, int which)
{
    uint64_t v[3];
    ui_task_times(u, t, &v[0], &v[1], &v[2], NULL);
    if (t->state == TS_NEW && !v[0] && !v[1] && !v[2])
        snprintf(b, n, "-");
    else
        ui_fmt_dur(v[which], b, n);
}

static void col_run(const struct ui *u, const struct model_task *t, char *b, size_t n)
{
    col_time(u, t, b, n, 0);
}

static void col_ready(const struct ui *u, const struct model_task *t, char *b, size_t n)
{
    col_time(u, t, b, n, 1);
}

static void col_blocked(const struct ui *u, const struct model_task *t, char *b, size_t n)
{
    col_time(u, t, b, n, 2);
}

static void col_switches(const struct ui *u, const struct model_task *t, char *b, size_t n)
{
    (void)u;
    snprintf(b, n, "%llu", (unsigned long long)t->switches);
}

static void col_signals(const struct ui *u, const struct model_task *t, char *b, size_t n)
{
    (void)u;
    snprintf(b, n, "%llu/%llu", (unsigned long long)t->sig_sent,
             (unsigned long long)t->sig_delivered);
}

static int any_signals(const struct ui *u)
{
    const struct model *m = &u->r->model;
    for (size_t i = 0; i < m->ntasks; i++)
        if (m->tasks[i].sig_sent || m->tasks[i].sig_delivered)
            return 1;
    return 0;
}

static int any_switches(const struct ui *u)
{
    /* the probes' switch events, or without them schedstat's count of times run */
    const struct model *m = &u->r->model;
    for (size_t i = 0; i < m->ntasks; i++)
        if (m->tasks[i].switches)
            return 1;
    return 0;
}

/* The numeric columns, right-aligned, each shown from a panel width on (and when it has
 * something to say). Their labels sit on the panel's top border. */
static const struct task_col {
    const char *en, *zh;
    int w;     /* including the leading space */
    int min_w; /* inner panel width from which it is shown */
    void (*fmt)(const struct ui *u, const struct model_task *t, char *b, size_t n);
    int (*relevant)(const struct ui *u); /* NULL: always */
} COLS_TABLE[] = {
    {"actions", "动作数", 8, 60, col_actions, NULL},
    {"run", "运行", 7, 80, col_run, NULL},
    {"ready", "就绪", 7, 80, col_ready, NULL},
    {"blocked", "阻塞", 8, 80, col_blocked, NULL},
    {"sw", "切换", 6, 86, col_switches, any_switches},
    {"sig s/d", "信号", 8, 96, col_signals, any_signals},
};

static int col_shown(const struct ui *u, size_t c, int inner_w)
{
    return inner_w >= COLS_TABLE[c].min_w && (!COLS_TABLE[c].relevant || COLS_TABLE[c].relevant(u));
}

/* ---- drawing ---- */

/* How a thread that is gone ended: joined (with what it returned), or with its process. */
static void thread_end_detail(const struct ui *u, const struct model_task *t, char *detail,
                              size_t n)
{
    if (t->reap_how == REAP_JOIN)
        snprintf(detail, n, TR(u, "joined, returned %d", "已 join，返回 %d"), (int)t->exit_status);
    else if (t->has_exit)
        snprintf(detail, n, TR(u, "returned %d, never joined", "返回 %d，从未 join"),
                 (int)t->exit_status);
    else
        snprintf(detail, n, "%s", TR(u, "ended with its process", "随进程结束"));
}

int ui_waits_for(const struct ui *u, const struct model_task *t, char *buf, size_t n)
{
    char what[INSTR_NAME_MAX], zh[160];
    if (!n)
        return 0;
    buf[0] = '\0';
    if (u->sc == &scenario_exec || t->state != TS_BLOCKED || !u->r ||
        !run_waits_for(u->r, t->slot, what, sizeof(what)))
        return 0; /* a program under exec never says: it could say anything */
    snprintf(buf, n, "%s", phrase_in(what, u->lang == LANG_ZH, zh, sizeof(zh)));
    return 1;
}

/* "pipe:disk · anon_pipe_read": the object it is blocked on and the kernel function; a task
 * asleep on no object of the lesson, what the scenario says it waits for. */
static void blocked_detail(const struct ui *u, const struct model_task *t, char *detail, size_t n)
{
    char on[96];
    model_blocked_label(&u->r->model, t, on, sizeof(on));
    if (!on[0])
        ui_waits_for(u, t, on, sizeof(on));
    if (on[0] && t->wchan[0])
        snprintf(detail, n, "%s · %s", on, t->wchan);
    else
        snprintf(detail, n, "%s", on[0] ? on : t->wchan);
}

/* The state shown for a task, and its detail text (at the gate: the call it will make). */
static int shown_state(const struct ui *u, const struct model_task *t, char *detail, size_t n)
{
    unsigned kind;
    uint32_t obj;
    detail[0] = '\0';
    if (ui_task_at_gate(u, t, &kind, &obj)) {
        char call[64];
        ui_gate_call(u, t, kind, obj, call, sizeof(call));
        snprintf(detail, n, "→ %s", call);
        return TS_GATE;
    }
    if ((t->state == TS_RUNNING || t->state == TS_READY) && !ui_kernel_view(u, t)) {
        snprintf(detail, n, "%s", TR(u, "running or ready (/proc)", "运行或就绪（/proc）"));
        return UI_RUNNABLE;
    }
    switch (t->state) {
    case TS_BLOCKED:
        blocked_detail(u, t, detail, n);
        break;
    case TS_RUNNING:
        if (t->cpu >= 0)
            snprintf(detail, n, "cpu%d", (int)t->cpu);
        break;
    case TS_ZOMBIE: {
        char z[16];
        ui_fmt_dur(ui_zombie_ns(u, t), z, sizeof(z));
        snprintf(detail, n, TR(u, "%s, status %d", "%s，状态 %d"), z, (int)t->exit_status);
        break;
    }
    case TS_EXITED:
    case TS_REAPED:
        if (t->kind == TK_THREAD && t->state == TS_REAPED) {
            thread_end_detail(u, t, detail, n);
            break;
        }
        if (t->kind == TK_PROCESS && t->t_reaped) { /* the zombie time first: the lesson */
            uint64_t z = ui_zombie_ns(u, t);
            char d[16];
            if (z < 1000000000ull)
                snprintf(d, sizeof(d), "%.1fms", (double)z / 1e6);
            else
                ui_fmt_dur(z, d, sizeof(d));
            snprintf(detail, n, TR(u, "zombie %s, status %d", "僵尸 %s，状态 %d"), d,
                     (int)t->exit_status);
        } else {
            snprintf(detail, n, TR(u, "status %d", "状态 %d"), (int)t->exit_status);
        }
        break;
    default:
        break;
    }
    return t->state;
}

/* Draw "glyph WORD"; returns the columns it takes: 8 (a column the rows share), or only its
 * own width when the panel is narrow, so that a detail there starts one column after the word
 * ("‖ GATE → lock(fork-2)"). */
static int draw_state(const struct ui *u, int y, int x, int maxw, int st, int narrow)
{
    char s[48];
    snprintf(s, sizeof(s), "%s %s", ui_state_glyph(st), ui_state_word(u, st));
    int w = screen_put(y, x, maxw, ui_state_attr(st), s);
    return narrow || 8 > maxw ? w : 8;
}

/* Where the columns of a row start, the same for every row. */
struct row_geom {
    int pid_w; /* with its trailing space; 0: no pid column */
    int state_x;
};

static int tree_width(const struct tree_row *row)
{
    int indent = (row->depth - 2) * 2;
    indent = indent > 8 ? 8 : indent > 0 ? indent : 0;
    return indent + (row->depth >= 2 ? 2 : 0);
}

static int draw_columns(struct ui *u, const struct model_task *t, int y, int x, int end, int w)
{
    char buf[32];
    for (size_t c = 0; c < UI_COUNT(COLS_TABLE); c++) {
        if (!col_shown(u, c, w))
            continue;
        if (x + COLS_TABLE[c].w > end)
            break;
        COLS_TABLE[c].fmt(u, t, buf, sizeof(buf));
        screen_putf(y, x, end - x, THEME[R_DIM], "%*s", COLS_TABLE[c].w, buf);
        x += COLS_TABLE[c].w;
    }
    return x;
}

/* Whether d, cut at cut, keeps a word that says something: beyond a leading "→ ", not ending
 * in a number (its unit would be lost: "sleep(250…"), no "(" left open ("eat (meal…"). */
static int cut_keeps_words(const char *d, const char *cut)
{
    const char *arrow = "→ ", *b = d;
    if (strncmp(b, arrow, strlen(arrow)) == 0)
        b += strlen(arrow);
    while (cut > b && cut[-1] == ' ')
        cut--;
    if (cut <= b || (cut[-1] >= '0' && cut[-1] <= '9'))
        return 0;
    int open = 0;
    for (const char *p = b; p < cut; p++)
        open += *p == '(' ? 1 : *p == ')' ? -1 : 0;
    return open == 0;
}

/* A place between two words: a space, "(", or "." / ":" before a letter ("Thread-1.start()",
 * "child:join"), never inside a number ("3.9ms"). */
static int word_boundary(const char *c)
{
    if (*c == ' ' || *c == '(')
        return 1;
    return (*c == '.' || *c == ':') &&
           ((c[1] >= 'a' && c[1] <= 'z') || (c[1] >= 'A' && c[1] <= 'Z'));
}

/* Cut a detail that does not fit at its last separator (" · ", ", ") that does, so a value
 * never loses its unit ("zombie 3.9ms", never "zombie 3.9m"); else keep the words that fit and
 * end with "…" ("→ lock…", never "→ lock(fo…"), or nothing when no word fits (the Next line
 * and the task's details, Enter, say it whole). d holds n bytes. */
static void fit_detail(char *d, size_t n, int w)
{
    if (w <= 0 || screen_width(d) <= w)
        return;
    for (char *cut = d + strlen(d); cut > d; cut--) {
        if (strncmp(cut, " · ", strlen(" · ")) != 0 && strncmp(cut, ", ", 2) != 0 &&
            strncmp(cut, "，", strlen("，")) != 0)
            continue;
        char keep = *cut;
        *cut = '\0';
        if (screen_width(d) <= w)
            return;
        *cut = keep;
    }
    for (char *cut = d + strlen(d) - 1; cut > d; cut--) {
        if (!word_boundary(cut) || !cut_keeps_words(d, cut))
            continue;
        char *end = cut;
        while (end > d && end[-1] == ' ')
            end--;
        char keep = *end;
        *end = '\0';
        if (screen_width(d) + 1 <= w && (size_t)(end - d) + strlen("…") < n) {
            strcat(d, "…");
            return;
        }
        *end = keep;
    }
    /* not even one word fits: a single name (a kernel function as /proc's wchan says it,
     * "hrtimer_nanosleep") is cut with "…" when its start still says something */
    size_t len = strlen(d);
    if (strchr(d, ' ') || w < 7 || len + strlen("…") >= n) {
        d[0] = '\0';
        return;
    }
    while (len > 0 && screen_width(d) + 1 > w) {
        do
            len--;
        while (len > 0 && ((unsigned char)d[len] & 0xc0) == 0x80); /* a whole UTF-8 char */
        d[len] = '\0';
    }
    strcat(d, "…");
}

/* A gate hint that does not fit in w columns ("→ accept(listener)" in a 10-20 column gap at
 * 80x24): the call without its argument ("→ accept()"), then its bare name ("→ epoll_wait",
 * "epoll_wait"), else whole words and "…"; never a word cut in the middle ("→ accept(…",
 * "→ bind(li…", "→ epoll_w…"). */
static void fit_gate_hint(char *d, size_t n, int w)
{
    if (w <= 0 || screen_width(d) <= w)
        return;
    /* "→ fork() returns 0" ("返回 0"): "→ fork() = 0", as the event log writes a call's result
     * (cut to its first word it read "→ fork()…", a call about to be made) */
    static const char *const RETURNS[] = {"() returns ", "() 返回 "};
    for (size_t k = 0; k < sizeof(RETURNS) / sizeof(RETURNS[0]); k++) {
        char *ret = strstr(d, RETURNS[k]);
        if (!ret || strchr(ret + strlen(RETURNS[k]), ' '))
            continue;
        char val[32];
        snprintf(val, sizeof(val), "%s", ret + strlen(RETURNS[k]));
        snprintf(ret, n - (size_t)(ret - d), "() = %s", val);
        if (screen_width(d) <= w)
            return;
        break;
    }
    char *open = strchr(d, '('), *close = strrchr(d, ')');
    if (open && open > d && open[-1] != ' ' && close > open && close[1] == '\0') {
        open[1] = ')';
        open[2] = '\0';
        if (screen_width(d) <= w)
            return;
        open[0] = '\0'; /* "→ epoll_wait", then "epoll_wait" (the state says GATE) */
        if (screen_width(d) <= w)
            return;
        const char *arrow = "→ ";
        if (strncmp(d, arrow, strlen(arrow)) == 0 && screen_width(d + strlen(arrow)) <= w) {
            memmove(d, d + strlen(arrow), strlen(d + strlen(arrow)) + 1);
            return;
        }
    }
    char words[128];
    snprintf(words, sizeof(words), "%.*s", (int)sizeof(words) - 1, d);
    for (char *sp = strrchr(words, ' '); sp && strchr(words, ' ') < sp; sp = strrchr(words, ' ')) {
        *sp = '\0'; /* "→ set its x to 11": "→ set its x…" */
        if (screen_width(words) + 1 <= w) {
            if (n > sizeof(words) + 3)
                snprintf(d, n, "%s…", words);
            else
                fit_detail(d, n, w);
            return;
        }
    }
    fit_detail(d, n, w);
}

/* The id a row shows: a thread's tid, a process's pid. */
static int task_id(const struct model_task *t)
{
    return t->kind == TK_THREAD ? (int)t->tid : (int)t->pid;
}

/* 1 when the panel is narrow (80x24), where a gate hint needs every column it can get. */
static int narrow_panel(int inner_w)
{
    return inner_w < NARROW_W;
}

/* Draw row i; returns 1 when it is a task at the gate whose hint was shortened to fit (its
 * whole hint, "→ fork() returns 0", is then left in hint, hint_n bytes), else 0. With
 * hint_line set the row shows no hint: the line under it says it whole. */
static int draw_row(struct ui *u, const struct tree_row *row, int i, int y, struct rect in,
                    const struct row_geom *g, int hint_line, char *hint, size_t hint_n)
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
    int tw = tree_width(row);
    x += tw - (row->depth >= 2 ? 2 : 0);
    if (row->depth >= 2)
        x += screen_put(y, x, end - x, THEME[R_BORDER], row->last ? "└ " : "├ ");
    if (g->pid_w) {
        snprintf(buf, sizeof(buf), "%-*d", g->pid_w, task_id(t));
        x += screen_put(y, x, end - x, THEME[R_DIM], buf);
    }
    int name_w = g->state_x - 1 - x;
    screen_put(y, x, end - x < name_w ? end - x : name_w, sel ? THEME[R_SEL] : THEME[R_NORMAL],
               t->name);
    x = g->state_x;
    if (x >= end)
        return 0;

    char detail[192];
    int st = shown_state(u, t, detail, sizeof(detail));
    x += draw_state(u, y, x, end - x, st, narrow_panel(in.w)) + 1;
    x = draw_columns(u, t, y, x, end, in.w) + !narrow_panel(in.w); /* narrow: no numbers */
    int cut = st == TS_GATE && detail[0] && (x >= end || screen_width(detail) > end - x);
    if (cut)
        snprintf(hint, hint_n, "%s", detail);
    if (x < end && !(cut && hint_line)) {
        if (st == TS_GATE)
            fit_gate_hint(detail, sizeof(detail), end - x);
        else
            fit_detail(detail, sizeof(detail), end - x);
        screen_put(y, x, end - x, st == TS_GATE ? THEME[R_GATE] : ui_state_attr(st), detail);
    }
    return cut;
}

/* The whole gate hint of row on the line under it, from where the row's pid starts; a branch
 * with siblings below keeps its "│" so the tree stays joined. */
static void draw_hint_line(const struct tree_row *row, int y, struct rect in, char *hint, size_t n)
{
    int x = in.x + 3 + tree_width(row), end = in.x + in.w;
    if (row->depth >= 2 && !row->last)
        screen_put(y, x - 2, 1, THEME[R_BORDER], "│");
    if (x >= end)
        return;
    fit_gate_hint(hint, n, end - x);
    screen_put(y, x, end - x, THEME[R_GATE], hint);
}

static void keep_visible(struct ui *u, int h)
{
    if (u->sel_auto) /* not moved by the teacher yet: the first worker, once there is one */
        u->sel_row = (int)u->nrows > u->row_base ? u->row_base : 0;
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

static void row_geometry(const struct ui *u, struct rect in, int h, struct row_geom *g)
{
    const struct model *m = &u->r->model;
    int cap = narrow_panel(in.w) ? 10 : 14; /* narrow: short names, but the pid stays */
    int tree_w = 0, name_w = 4, lead = 4, digits = 1;
    for (int k = 0; k < h && u->task_top + k < (int)u->nrows; k++) {
        const struct tree_row *row = &u->rows[u->task_top + k];
        int w = screen_width(m->tasks[row->task].name), tw = tree_width(row);
        w = w > cap ? cap : w;
        name_w = w > name_w ? w : name_w;
        tree_w = tw > tree_w ? tw : tree_w;
        lead = tw + w > lead ? tw + w : lead;
        char id[16];
        int d = snprintf(id, sizeof(id), "%d", task_id(&m->tasks[row->task]));
        digits = d > digits ? d : digits;
    }
    /* A narrow panel gives the hints what it can: pids as wide as those shown, and the state
     * column right after the longest indent + name of one row (the conductor's "ipcscope"
     * has no indent); else 6-column pids and the widest indent + the widest name. */
    int narrow = narrow_panel(in.w);
    g->pid_w = in.w < PID_MIN_W ? 0 : narrow ? digits + 1 : 6;
    g->state_x = in.x + 3 + g->pid_w + (narrow ? lead : tree_w + name_w) + 1;
}

/* Column labels on the top border, right-aligned over their columns. */
static void draw_col_labels(struct ui *u, struct rect r, struct rect in, const struct row_geom *g)
{
    int x = g->state_x + 9, end = in.x + in.w;
    for (size_t c = 0; c < UI_COUNT(COLS_TABLE); c++) {
        if (!col_shown(u, c, in.w))
            continue;
        if (x + COLS_TABLE[c].w > end)
            break;
        const char *label = TR(u, COLS_TABLE[c].en, COLS_TABLE[c].zh);
        int lw = screen_width(label);
        screen_put(r.y, x + COLS_TABLE[c].w - lw, lw, THEME[R_DIM], label);
        x += COLS_TABLE[c].w;
    }
}

void panel_tasks_draw(struct ui *u, struct rect r)
{
    char title[96];
    const struct model *m = &u->r->model;
    struct rect in = screen_inner(r);
    int synthetic = model_task_by_tid(m, u->r->ctx.conductor) == MODEL_NO_TASK;
    int h = in.h - synthetic;
    if (h > 0)
        keep_visible(u, h);
    /* rows the panel has no room for are counted in the title (Tab to it scrolls to them) */
    int shown = h <= 0 ? 0 : (int)u->nrows - u->task_top < h ? (int)u->nrows - u->task_top : h;
    int hidden = (int)u->nrows - shown;
    if (hidden > 0)
        snprintf(title, sizeof(title),
                 TR(u, " Tasks (%zu, %d not shown) ", " 任务（%zu，%d 个未显示）"), m->ntasks,
                 hidden);
    else
        snprintf(title, sizeof(title), TR(u, " Tasks (%zu) ", " 任务（%zu）"), m->ntasks);
    screen_box(r, title, u->focus == P_TASKS);
    if (in.h < 1 || h < 1)
        return;

    if (synthetic) /* the conductor is the root of the tree even when no source reports it */
        screen_putf(in.y, in.x + 1, in.w - 1, THEME[R_DIM], "   %-6d ipcscope %s",
                    u->r->ctx.conductor, TR(u, "(conductor)", "（指挥进程）"));
    struct row_geom g;
    row_geometry(u, in, h, &g);
    /* rows the tasks leave free: a gate hint shortened on its row gets one, top down */
    int spare = h - shown, y = in.y + synthetic;
    u->task_hint_rows = 0;
    for (int k = 0; k < shown; k++, y++) {
        int i = u->task_top + k;
        char hint[192];
        if (!draw_row(u, &u->rows[i], i, y, in, &g, spare > 0, hint, sizeof(hint)))
            continue;
        u->task_hint_rows++; /* the next layout makes room if it can */
        if (spare > 0) {
            draw_hint_line(&u->rows[i], ++y, in, hint, sizeof(hint));
            spare--;
        }
    }
    draw_col_labels(u, r, in, &g);
}
