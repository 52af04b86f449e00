/*
 * projector.c - projector mode (z): big and simple, for the back row of a classroom.
 *
 * Secondary panels are hidden. Counts (semaphore values, queue depths, pipe bytes) are drawn
 * in 3x5 block digits on cards, every task gets one bold line with its state glyph and word,
 * and the latest narration sits at the bottom.
 */
#include "narrate.h"
#include "tui.h"

#include <stdio.h>
#include <string.h>

#define BIG_H 5
#define CARD_H (BIG_H + 2)

/* 3x5 block font for "0123456789/-". */
static const char *const FONT[12][BIG_H] = {
    {"███", "█ █", "█ █", "█ █", "███"}, {" █ ", "██ ", " █ ", " █ ", "███"},
    {"███", "  █", "███", "█  ", "███"}, {"███", "  █", "███", "  █", "███"},
    {"█ █", "█ █", "███", "  █", "  █"}, {"███", "█  ", "███", "  █", "███"},
    {"███", "█  ", "███", "█ █", "███"}, {"███", "  █", "  █", "  █", "  █"},
    {"███", "█ █", "███", "█ █", "███"}, {"███", "█ █", "███", "  █", "███"},
    {"  █", "  █", " █ ", "█  ", "█  "}, {"   ", "   ", "███", "   ", "   "},
};

static int glyph_index(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return c == '/' ? 10 : 11;
}

/* Draw s in block digits at (y, x); returns the width used. */
static int big_text(int y, int x, int maxw, attr_t a, const char *s)
{
    int used = 0;
    for (const char *p = s; *p && used + 6 <= maxw; p++, used += 8)
        for (int row = 0; row < BIG_H; row++) {
            char wide[32] = "";
            for (const char *q = FONT[glyph_index(*p)][row]; *q;) {
                int block = (unsigned char)*q == 0xe2; /* "█" is 3 bytes; doubled */
                strcat(wide, block ? "██" : "  ");
                q += block ? 3 : 1;
            }
            screen_put(y + row, x + used, 6, a, wide);
        }
    return used;
}

/* Objects whose value is a count worth a card. Shared memory only as a shared variable (the
 * counter): a buffer's value is the last element written (lock's output: a character code). */
static int is_counted(const struct model_obj *o)
{
    return o->name[0] &&
           (o->kind == OK_SEMAPHORE || o->kind == OK_QUEUE || o->kind == OK_MQ ||
            o->kind == OK_PIPE || o->kind == OK_EVENT || (o->kind == OK_SHM && o->capacity <= 0));
}

static void count_text(const struct model_obj *o, char *buf, size_t n)
{
    if (o->capacity > 0 && o->kind != OK_SHM)
        snprintf(buf, n, "%lld/%lld", (long long)o->value, (long long)o->capacity);
    else
        snprintf(buf, n, "%lld", (long long)o->value);
}

/* Cards left to right, wrapping; returns the rows used (0 when there is no card). */
static int draw_cards(struct ui *u, struct rect r)
{
    const struct model *m = &u->r->model;
    int x = r.x, y = r.y, drawn = 0;
    for (size_t i = 0; i < m->nobjs; i++) {
        const struct model_obj *o = &m->objs[i];
        if (!is_counted(o))
            continue;
        char num[48], label[64];
        count_text(o, num, sizeof(num));
        if (ui_predict_masks(u, (uint32_t)i))
            snprintf(num, sizeof(num), "-"); /* asked about: hidden until the class answers */
        snprintf(label, sizeof(label), "%s %s", obj_kind_prefix(o->kind), o->name);
        if ((int)strlen(num) * 8 + 3 > r.w && strchr(num, '/')) {
            /* "13312/16384" in block digits is wider than 80 columns: the count big, the
             * capacity beside the name */
            snprintf(num, sizeof(num), "%lld", (long long)o->value);
            snprintf(label, sizeof(label), TR(u, "%s %s (of %lld)", "%s %s（共 %lld）"),
                     obj_kind_prefix(o->kind), o->name, (long long)o->capacity);
        }
        int w = (int)strlen(num) * 8;
        int lw = screen_width(label);
        w = (w > lw ? w : lw) + 3;
        if (x + w > r.x + r.w) {
            x = r.x;
            y += CARD_H;
        }
        if (y + CARD_H > r.y + r.h)
            break;
        screen_put(y, x, w, THEME[R_TITLE], label);
        big_text(y + 1, x, w, o->value > 0 ? THEME[R_BIG] : THEME[R_BLOCK], num);
        x += w;
        drawn++;
    }
    return drawn ? y - r.y + CARD_H : 0; /* no card: the tasks get the rows */
}

static void draw_task_line(struct ui *u, const struct tree_row *row, int i, int y, struct rect r)
{
    const struct model *m = &u->r->model;
    const struct model_task *t = &m->tasks[row->task];
    unsigned kind;
    uint32_t obj;
    char detail[128] = "", word[64];
    int st = t->state;
    if (ui_task_at_gate(u, t, &kind, &obj)) {
        char call[64];
        ui_gate_call(u, t, kind, obj, call, sizeof(call));
        snprintf(detail, sizeof(detail), "%s%s", TR(u, "next: ", "下一步："), call);
        st = TS_GATE;
    } else if (t->state == TS_BLOCKED) {
        model_blocked_label(m, t, detail, sizeof(detail));
        if (!detail[0]) /* asleep on no object (a sleep, a wait for a child): the kernel's word */
            snprintf(detail, sizeof(detail), "%s", t->wchan);
    } else if ((st == TS_RUNNING || st == TS_READY) && !ui_kernel_view(u, t)) {
        st = UI_RUNNABLE;
        snprintf(detail, sizeof(detail), "%s", TR(u, "running or ready", "运行或就绪"));
    }
    snprintf(word, sizeof(word), "%s %s", ui_state_glyph(st), ui_state_word(u, st));
    int x = r.x;
    if (ui_row_key(u, i))
        screen_putf(y, x, 3, THEME[R_TITLE] | A_BOLD, "%d", ui_row_key(u, i));
    x += 3;
    screen_put(y, x, 11, ui_state_attr(st) | A_BOLD, word);
    x += 11;
    screen_put(y, x, 18, THEME[R_NORMAL] | A_BOLD, t->name);
    x += 18;
    screen_put(y, x, r.x + r.w - x, ui_state_attr(st) | A_BOLD, detail);
}

static void draw_locks(struct ui *u, int *y, struct rect r)
{
    const struct model *m = &u->r->model;
    for (size_t i = 0; i < m->nobjs && *y < r.y + r.h; i++) {
        const struct model_obj *o = &m->objs[i];
        if (!o->name[0] || (o->kind != OK_MUTEX && o->kind != OK_CONDVAR && o->kind != OK_SOCKET))
            continue; /* locks and sockets: their state is a word, not a count */
        panel_object_line(u, (uint32_t)i, (*y)++, r.x + 3, r.w - 3, THEME[R_TITLE] | A_BOLD);
    }
}

static int clamp_rows(int n, int lo, int hi)
{
    return n < lo ? lo : n > hi ? hi : n;
}

void projector_draw(struct ui *u)
{
    struct rect body = {1, 1, LINES - 3, COLS - 2};
    const struct model *m = &u->r->model;
    int cards = draw_cards(u, (struct rect){body.y + 1, body.x + 2, 2 * CARD_H, body.w - 2});
    cards += panel_meters_draw(u, body.y + 1 + cards, body.x + 3, body.w - 4, 6); /* the result */
    char text[512] = "";
    for (size_t i = m->hist_len; i-- > 0;)
        if (model_hist(m, i) && ui_narration_of(u, model_hist(m, i), text, sizeof(text)))
            break; /* as the dashboard tells it: layers ended on "client was reaped" here */
    /* the lesson's key sentence, as in the dashboard, and the latest narration, each whole
     * (layers' link-layer paragraph is 4 lines at 100 columns; 3 rows lost its end) */
    int pin_h =
        u->r->ctx.pin[0] ? clamp_rows(screen_wrap_count(body.w - 2, u->r->ctx.pin), 2, 3) : 0;
    int narr_h = pin_h + clamp_rows(screen_wrap_count(body.w - 2, text), 3, 5);
    int ph = ui_predict_height(u, body.w);  /* the question box, above the narration: while */
    int room = body.h - cards - narr_h - 2; /* a question asks it may cover the cards */
    if (ph > room - 3 && !ui_predict_hides_next(u))
        ph = room - 3 > 3 ? room - 3 : 0;
    if (ph > body.h - narr_h - 1)
        ph = body.h - narr_h - 1;
    struct rect tasks = {body.y + 1 + cards, body.x, room - ph, body.w};
    if (u->show_code) { /* the selected task's code beside the tasks */
        int cw = tasks.w * 48 / 100;
        tasks.w -= cw;
        panel_code_projector(u, (struct rect){tasks.y, tasks.x + tasks.w, tasks.h + 1, cw});
    }
    if (ph)
        predict_draw(u, (struct rect){body.y + body.h - narr_h - ph, body.x, ph, body.w});
    int graph = panel_waitfor_rows(u); /* a deadlock's cycle takes the locks' place */
    int lines_h = tasks.h - graph;
    int spacing = (int)u->nrows * 2 <= lines_h ? 2 : 1;
    int y = tasks.y, shown = 0;
    for (size_t i = (size_t)u->row_base; i < u->nrows && y < tasks.y + lines_h - 1;
         i++, shown++, y += spacing)
        draw_task_line(u, &u->rows[i], (int)i, y, tasks);
    if (tasks.h > 0 && (size_t)shown + (size_t)u->row_base < u->nrows)
        screen_putf(y++, tasks.x + 3, tasks.w - 3, THEME[R_DIM],
                    TR(u, "… and %zu more", "……还有 %zu 个"),
                    u->nrows - (size_t)shown - (size_t)u->row_base);
    if (graph)
        y += panel_waitfor_lines(
            u, (struct rect){y + 1, tasks.x + 1, tasks.y + tasks.h - y - 1, tasks.w - 2});
    else
        draw_locks(u, &y, tasks);
    if (!graph && u->flow_view && tasks.y + tasks.h - y >= 5) /* a TCP lesson: its segments */
        panel_flow_draw(u, (struct rect){y, tasks.x, tasks.y + tasks.h - y, tasks.w});

    struct rect nr = {body.y + body.h - narr_h, body.x + 1, narr_h, body.w - 2};
    int top = pin_h ? screen_wrap(nr, 0, THEME[R_WARN] | A_BOLD, u->r->ctx.pin) : 0;
    struct rect below = {nr.y + top, nr.x, nr.h - top, nr.w};
    screen_wrap(below, 0, THEME[R_NORMAL] | A_BOLD, text);
}
