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

/* A count worth a card: its label and its number, and the columns the card takes. */
struct card {
    uint32_t obj;
    int w;
    char num[48], label[64];
};

#define CARDS_MAX 32

/* The cards of the counted objects, in the model's order (w: the columns there are). */
static size_t collect_cards(struct ui *u, int w, struct card *out, size_t max)
{
    const struct model *m = &u->r->model;
    size_t n = 0;
    for (size_t i = 0; i < m->nobjs && n < max; i++) {
        const struct model_obj *o = &m->objs[i];
        if (!is_counted(o))
            continue;
        struct card *c = &out[n++];
        c->obj = (uint32_t)i;
        count_text(o, c->num, sizeof(c->num));
        if (ui_predict_masks(u, (uint32_t)i))
            snprintf(c->num, sizeof(c->num), "-"); /* asked about: hidden until answered */
        snprintf(c->label, sizeof(c->label), "%s %s", obj_kind_prefix(o->kind), o->name);
        if ((int)strlen(c->num) * 8 + 3 > w && strchr(c->num, '/')) {
            /* "13312/16384" in block digits is wider than 80 columns: the count big, the
             * capacity beside the name */
            snprintf(c->num, sizeof(c->num), "%lld", (long long)o->value);
            snprintf(c->label, sizeof(c->label), TR(u, "%s %s (of %lld)", "%s %s（共 %lld）"),
                     obj_kind_prefix(o->kind), o->name, (long long)o->capacity);
        }
        int digits = (int)strlen(c->num) * 8 - 2; /* 6 columns a glyph, 2 between */
        int lw = screen_width(c->label);
        c->w = (digits > lw ? digits : lw) + 3;
    }
    return n;
}

/* Lay the cards out left to right, wrapping, in at most rows rows of width w: how many fit
 * (the rest are said in a line each under the tasks). */
static size_t cards_fitting(const struct card *c, size_t n, int w, int rows)
{
    int x = 0, row = 0;
    size_t k = 0;
    for (; k < n; k++) {
        if (x + c[k].w > w && x > 0) {
            x = 0;
            row++;
        }
        if (row >= rows)
            break;
        x += c[k].w;
    }
    return k;
}

/* Draw the first n cards in r (cards_fitting said they fit); returns the rows used. */
static int draw_cards(struct ui *u, const struct card *c, size_t n, struct rect r)
{
    const struct model *m = &u->r->model;
    int x = r.x, y = r.y;
    for (size_t k = 0; k < n; k++) {
        if (x + c[k].w > r.x + r.w && x > r.x) {
            x = r.x;
            y += CARD_H;
        }
        const struct model_obj *o = &m->objs[c[k].obj];
        screen_put(y, x, c[k].w, THEME[R_TITLE], c[k].label);
        big_text(y + 1, x, c[k].w, o->value > 0 ? THEME[R_BIG] : THEME[R_BLOCK], c[k].num);
        x += c[k].w;
    }
    return n ? y - r.y + CARD_H : 0; /* no card: the tasks get the rows */
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
        if (!detail[0]) /* asleep on no object: what for, else the kernel's word (a sleep) */
            ui_waits_for(u, t, detail, sizeof(detail));
        if (!detail[0])
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

static int is_lock_line(const struct model_obj *o)
{ /* locks and sockets: their state is a word, not a count */
    return o->name[0] && (o->kind == OK_MUTEX || o->kind == OK_CONDVAR || o->kind == OK_SOCKET);
}

static int lock_lines(const struct model *m)
{
    int n = 0;
    for (size_t i = 0; i < m->nobjs; i++)
        n += is_lock_line(&m->objs[i]);
    return n;
}

static void draw_locks(struct ui *u, int *y, struct rect r)
{
    const struct model *m = &u->r->model;
    for (size_t i = 0; i < m->nobjs && *y < r.y + r.h; i++)
        if (is_lock_line(&m->objs[i]))
            panel_object_line(u, (uint32_t)i, (*y)++, r.x + 3, r.w - 3, THEME[R_TITLE] | A_BOLD);
}

/* The cards that found no room, a line each: "sem slots  3/4". */
static void draw_spilled(const struct card *c, size_t n, int *y, struct rect r)
{
    for (size_t k = 0; k < n && *y < r.y + r.h; k++, (*y)++) {
        screen_put(*y, r.x + 3, r.w - 3, THEME[R_TITLE] | A_BOLD, c[k].label);
        int lw = screen_width(c[k].label);
        screen_put(*y, r.x + 5 + lw, r.w - 5 - lw, THEME[R_BIG] | A_BOLD, c[k].num);
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
    char text[512] = "";
    for (size_t i = m->hist_len; i-- > 0;)
        if (model_hist(m, i) && ui_narration_of(u, model_hist(m, i), text, sizeof(text)))
            break; /* as the dashboard tells it: layers ended on "client was reaped" here */
    /* the lesson's key sentence, as in the dashboard, and the latest narration, each whole
     * (layers' link-layer paragraph is 4 lines at 100 columns; 3 rows lost its end; at 80
     * columns tcp-teardown's TIME_WAIT pin is 4 lines and tcp-handshake's full accept queue
     * 5, and drawn over 3 rows each took the narration's rows: "... before these ports are") */
    int pin_h =
        u->r->ctx.pin[0] ? clamp_rows(screen_wrap_count(body.w - 2, u->r->ctx.pin), 2, 5) : 0;
    int narr_h = pin_h + clamp_rows(screen_wrap_count(body.w - 2, text), 3, 5);

    /* Who waits for what is the lesson: the tasks (and the locks' lines, or a deadlock's
     * cycle) get their rows before the counts get big cards. Two rows of cards when there is
     * room, else one, else none until the run is over (then its counts are the result);
     * a card that does not fit is a line under the tasks. */
    struct card cards_all[CARDS_MAX];
    size_t ncards = collect_cards(u, body.w - 2, cards_all, CARDS_MAX);
    struct ui_meter meter_list[UI_METERS_MAX];
    int nmeters = panel_meters_collect(u, meter_list, UI_METERS_MAX);
    int meters_h = nmeters ? (nmeters < 5 ? nmeters : 5) + 1 : 0;
    int graph_h = panel_waitfor_rows(u);
    int ntasks = (int)u->nrows - u->row_base;
    int out_h = panel_output_tail_rows(u, 4); /* exec: what the program printed */
    int need = ntasks + (graph_h ? graph_h : lock_lines(m)) + out_h;
    int free_rows = body.h - narr_h - 2 - meters_h;
    int card_rows = 2, min_rows = run_done(u->r) && ncards ? 1 : 0;
    size_t shown_cards = cards_fitting(cards_all, ncards, body.w - 2, card_rows);
    while (card_rows > min_rows &&
           card_rows * CARD_H + need + (int)(ncards - shown_cards) > free_rows) {
        card_rows--;
        shown_cards = cards_fitting(cards_all, ncards, body.w - 2, card_rows);
    }
    int cards = draw_cards(u, cards_all, shown_cards,
                           (struct rect){body.y + 1, body.x + 2, card_rows * CARD_H, body.w - 2});
    cards += panel_meters_draw(u, body.y + 1 + cards, body.x + 3, body.w - 4, 6); /* the result */
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
    int graph = graph_h; /* a deadlock's cycle takes the locks' place */
    int extra = (graph ? 0 : lock_lines(m) + (int)(ncards - shown_cards)) + out_h;
    int lines_h = tasks.h - graph;
    int spacing = ntasks * 2 + extra <= lines_h ? 2 : 1;
    int all_fit = ntasks <= lines_h; /* else the last row says how many more */
    int y = tasks.y, shown = 0;
    for (size_t i = (size_t)u->row_base; i < u->nrows && y < tasks.y + lines_h - (all_fit ? 0 : 1);
         i++, shown++, y += spacing)
        draw_task_line(u, &u->rows[i], (int)i, y, tasks);
    /* no room for any task beside a deadlock's cycle: the cycle names them all */
    if (tasks.h > 0 && (size_t)shown + (size_t)u->row_base < u->nrows && (shown || !graph))
        screen_putf(y++, tasks.x + 3, tasks.w - 3, THEME[R_DIM],
                    TR(u, "… and %zu more", "……还有 %zu 个"),
                    u->nrows - (size_t)shown - (size_t)u->row_base);
    if (graph)
        y += panel_waitfor_lines(
            u, (struct rect){y + 1, tasks.x + 1, tasks.y + tasks.h - y - 1, tasks.w - 2});
    else {
        draw_locks(u, &y, tasks);
        draw_spilled(cards_all + shown_cards, ncards - shown_cards, &y, tasks);
    }
    int left = tasks.y + tasks.h - y, gap = left > out_h; /* a blank line above when it fits */
    if (out_h && left - gap >= 2)
        y += gap + panel_output_tail_draw(u, (struct rect){y + gap, tasks.x + 3,
                                                           left - gap < out_h ? left - gap : out_h,
                                                           tasks.w - 3});
    if (!graph && u->flow_view && tasks.y + tasks.h - y >= 5) /* a TCP lesson: its segments */
        panel_flow_draw(u, (struct rect){y, tasks.x, tasks.y + tasks.h - y, tasks.w});

    struct rect nr = {body.y + body.h - narr_h, body.x + 1, narr_h, body.w - 2};
    struct rect pin_r = {nr.y, nr.x, pin_h, nr.w};
    int top = pin_h ? screen_wrap(pin_r, 0, THEME[R_WARN] | A_BOLD, u->r->ctx.pin) : 0;
    top = top < pin_h ? top : pin_h; /* the lines it wraps to, of which pin_h are drawn */
    struct rect below = {nr.y + top, nr.x, nr.h - top, nr.w};
    screen_wrap(below, 0, THEME[R_NORMAL] | A_BOLD, text);
}
