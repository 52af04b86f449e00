/*
 * picker.c - the scenario picker: the catalogue grouped by chapter, a description pane,
 * a parameter editor (e) that keeps values within their limits, and a filter (/).
 *
 * Enter starts the selected scenario with the edited parameters; the pane also shows the
 * equivalent command line, so a run can be repeated from a shell.
 */
#define _GNU_SOURCE
#include "tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHAPTER 11
#define VALUE_MAX 1000000000L

struct entry {
    int heading; /* chapter number for a heading row, 0 for a scenario row */
    int sc;      /* index into scenario_table */
};

static int matches(const struct picker *pk, const struct scenario *sc)
{
    if (!pk->filter[0])
        return 1;
    return strcasestr(sc->id, pk->filter) || strcasestr(sc->title_en, pk->filter) ||
           strstr(sc->title_zh, pk->filter) || strcasestr(sc->summary_en, pk->filter);
}

/* The visible rows: chapter headings and the scenarios that pass the filter. */
static int build_entries(const struct picker *pk, struct entry *out, int cap)
{
    int n = 0;
    for (int ch = 0; ch <= MAX_CHAPTER + 1; ch++) {
        int head = 0;
        for (size_t i = 0; i < scenario_count && n < cap; i++) {
            const struct scenario *sc = scenario_table[i];
            int c = sc->chapter >= 1 && sc->chapter <= MAX_CHAPTER ? sc->chapter : MAX_CHAPTER + 1;
            if (c != ch || !matches(pk, sc))
                continue;
            if (!head && n < cap) {
                out[n++] = (struct entry){.heading = ch ? ch : -1, .sc = (int)i};
                head = 1;
            }
            if (n < cap)
                out[n++] = (struct entry){.heading = 0, .sc = (int)i};
        }
    }
    return n;
}

static void ensure_values(struct picker *pk, const struct scenario *sc)
{
    if (pk->values_of == sc)
        return;
    scenario_defaults(sc, pk->values);
    pk->values_of = sc;
    pk->edit_sel = 0;
}

void picker_select(struct ui *u, const struct scenario *sc)
{
    for (size_t i = 0; i < scenario_count; i++)
        if (scenario_table[i] == sc)
            u->pk.sel = (int)i;
}

/* Keep the selection on a visible scenario; move it by d visible scenarios. */
static void move_sel(struct picker *pk, int d)
{
    struct entry e[256];
    int n = build_entries(pk, e, 256), cur = -1;
    for (int i = 0; i < n; i++)
        if (!e[i].heading && e[i].sc == pk->sel)
            cur = i;
    if (cur < 0) {
        for (int i = 0; i < n; i++)
            if (!e[i].heading) {
                pk->sel = e[i].sc;
                return;
            }
        return;
    }
    int step = d < 0 ? -1 : 1, left = abs(d);
    for (int i = cur + step; i >= 0 && i < n && left > 0; i += step) {
        if (e[i].heading)
            continue;
        pk->sel = e[i].sc;
        left--;
    }
}

/* ---- drawing ---- */

static void draw_list(struct ui *u, struct rect r)
{
    struct picker *pk = &u->pk;
    struct entry e[256];
    int n = build_entries(pk, e, 256), cur = 0;
    for (int i = 0; i < n; i++)
        if (!e[i].heading && e[i].sc == pk->sel)
            cur = i;
    if (cur - 1 < pk->top)
        pk->top = cur > 0 ? cur - 1 : 0;
    if (cur >= pk->top + r.h)
        pk->top = cur - r.h + 1;
    for (int k = 0; k < r.h && pk->top + k < n; k++) {
        const struct entry *en = &e[pk->top + k];
        const struct scenario *sc = scenario_table[en->sc];
        int y = r.y + k;
        if (en->heading) {
            const char *t = en->heading > 0 ? scenario_chapter_title(en->heading, u->lang) : NULL;
            screen_putf(y, r.x, r.w, THEME[R_TITLE], "%d · %s", en->heading > 0 ? en->heading : 0,
                        t ? t : "?");
            continue;
        }
        int sel = en->sc == pk->sel;
        if (sel)
            screen_fill(y, r.x, r.w, THEME[R_SEL]);
        attr_t a = sel ? THEME[R_SEL] : THEME[R_NORMAL];
        int used = screen_putf(y, r.x, r.w, a, "%s %-15s ", sel ? "▸" : " ", sc->id);
        screen_put(y, r.x + used, r.w - used, sel ? THEME[R_SEL] : THEME[R_DIM],
                   TR(u, sc->title_en, sc->title_zh));
    }
    if (!n)
        screen_put(r.y, r.x, r.w, THEME[R_WARN],
                   scenario_count ? TR(u, "nothing matches the filter", "没有匹配的场景")
                                  : TR(u, "no scenarios are built in", "没有内置场景"));
}

static int draw_params(struct ui *u, const struct scenario *sc, struct rect r, int y)
{
    struct picker *pk = &u->pk;
    screen_put(r.y + y++, r.x, r.w, THEME[R_TITLE],
               pk->editing ? TR(u, "Parameters: ↑↓ choose, ←→ or digits change, Enter done",
                                "参数：↑↓ 选择，←→ 或数字修改，Enter 完成")
                           : TR(u, "Parameters (e edits)", "参数（按 e 编辑）"));
    for (size_t i = 0; i < sc->nparams && y < r.h; i++) {
        const struct scenario_param *p = &sc->params[i];
        int sel = pk->editing && (int)i == pk->edit_sel;
        int bad = pk->values[i] < p->min || pk->values[i] > p->max;
        int used = screen_putf(r.y + y, r.x, r.w, sel ? THEME[R_SEL] : THEME[R_NORMAL],
                               "%s%-12s = %-6ld", sel ? "▸" : " ", p->key, pk->values[i]);
        used += screen_putf(r.y + y, r.x + used, r.w - used, bad ? THEME[R_BAD] : THEME[R_DIM],
                            TR(u, " (%ld..%ld, default %ld) ", "（%ld..%ld，默认 %ld）"), p->min,
                            p->max, p->def);
        screen_put(r.y + y, r.x + used, r.w - used, THEME[R_DIM], TR(u, p->help_en, p->help_zh));
        y++;
    }
    if (!sc->nparams)
        screen_put(r.y + y++, r.x, r.w, THEME[R_DIM], TR(u, " none", " 无"));
    return y;
}

static void draw_command(struct ui *u, const struct scenario *sc, struct rect r, int y)
{
    char cmd[512];
    size_t len = (size_t)snprintf(cmd, sizeof(cmd), "$ ipcscope run %s", sc->id);
    for (size_t i = 0; i < sc->nparams && len < sizeof(cmd); i++)
        if (u->pk.values[i] != sc->params[i].def)
            len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " --param %s=%ld",
                                    sc->params[i].key, u->pk.values[i]);
    struct rect c = {r.y + y + 1, r.x, r.h - y - 1, r.w};
    if (c.h > 0)
        screen_wrap(c, 0, THEME[R_DIM], cmd);
}

static void draw_description(struct ui *u, struct rect r)
{
    if (u->pk.sel < 0 || (size_t)u->pk.sel >= scenario_count)
        return;
    const struct scenario *sc = scenario_table[u->pk.sel];
    ensure_values(&u->pk, sc);
    int y = 0;
    screen_put(r.y + y++, r.x, r.w, THEME[R_TITLE] | A_BOLD, TR(u, sc->title_en, sc->title_zh));
    const char *ct = scenario_chapter_title(sc->chapter, u->lang);
    screen_putf(r.y + y++, r.x, r.w, THEME[R_DIM],
                TR(u, "chapter %d · %s · id %s", "第 %d 章 · %s · id %s"), sc->chapter,
                ct ? ct : "?", sc->id);
    y++;
    struct rect s = {r.y + y, r.x, r.h - y, r.w};
    y += screen_wrap(s, 0, THEME[R_NORMAL], TR(u, sc->summary_en, sc->summary_zh)) + 1;
    if (y < r.h)
        y = draw_params(u, sc, r, y);
    if (y < r.h)
        draw_command(u, sc, r, y);
}

static void draw_bars(struct ui *u)
{
    struct picker *pk = &u->pk;
    char left[128];
    screen_fill(0, 0, COLS, THEME[R_HEADER]);
    snprintf(left, sizeof(left),
             TR(u, " ipcscope · choose a scenario (%zu)", " ipcscope · 选择场景（%zu）"),
             scenario_count);
    screen_put(0, 0, COLS, THEME[R_HEADER] | A_BOLD, left);
    if (pk->filtering || pk->filter[0])
        screen_putf(LINES - 2, 1, COLS - 1, THEME[R_WARN], TR(u, "/ filter: %s%s", "/ 筛选：%s%s"),
                    pk->filter,
                    pk->filtering ? "▏"
                                  : TR(u, "   (/ to change, Esc in filter clears)",
                                       "（/ 修改，筛选中 Esc 清除）"));
    else
        screen_put(LINES - 2, 1, COLS - 1, THEME[R_STATUS], pk->msg[0] ? pk->msg : u->msg);

    static const struct {
        const char *key, *en, *zh;
    } bar[] = {
        {"↑↓", "choose", "选择"}, {"Enter", "start", "开始"}, {"e", "parameters", "参数"},
        {"/", "filter", "筛选"},  {"t", "theme", "主题"},     {"L", "中文/English", "English/中文"},
        {"q", "quit", "退出"},
    };
    screen_fill(LINES - 1, 0, COLS, THEME[R_KEYBAR]);
    int x = 1;
    for (size_t i = 0; i < UI_COUNT(bar) && x < COLS; i++) {
        x += screen_put(LINES - 1, x, COLS - x, THEME[R_KEY], bar[i].key);
        x += screen_putf(LINES - 1, x, COLS - x, THEME[R_KEYBAR], " %s  ",
                         TR(u, bar[i].en, bar[i].zh));
    }
}

void picker_draw(struct ui *u)
{
    int lw = COLS * 42 / 100;
    struct rect list = {1, 0, LINES - 3, lw};
    struct rect desc = {1, lw, LINES - 3, COLS - lw};
    move_sel(&u->pk, 0);
    screen_box(list, TR(u, " Scenarios ", " 场景 "), !u->pk.editing);
    screen_box(desc, TR(u, " About ", " 说明 "), u->pk.editing);
    draw_list(u, screen_inner(list));
    struct rect in = screen_inner(desc);
    in.x += 1;
    in.w -= 2;
    draw_description(u, in);
    draw_bars(u);
}

/* ---- keys ---- */

static void filter_key(struct picker *pk, int ch)
{
    size_t len = strlen(pk->filter);
    if (ch == '\r' || ch == '\n' || ch == KEY_ENTER) {
        pk->filtering = 0;
    } else if (ch == 27) {
        pk->filter[0] = '\0';
        pk->filtering = 0;
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (len)
            pk->filter[len - 1] = '\0';
    } else if (ch >= ' ' && ch < 127 && len + 1 < sizeof(pk->filter)) {
        pk->filter[len] = (char)ch;
        pk->filter[len + 1] = '\0';
    }
    move_sel(pk, 0);
}

/* Close the editor, pulling values back within their limits. */
static void edit_done(struct ui *u, const struct scenario *sc)
{
    struct picker *pk = &u->pk;
    pk->editing = 0;
    pk->msg[0] = '\0';
    for (size_t i = 0; i < sc->nparams; i++) {
        const struct scenario_param *p = &sc->params[i];
        long v = pk->values[i] < p->min ? p->min : pk->values[i] > p->max ? p->max : pk->values[i];
        if (v != pk->values[i])
            snprintf(pk->msg, sizeof(pk->msg),
                     TR(u, "%s must be within %ld..%ld: set to %ld",
                        "%s 必须在 %ld..%ld 之间：已设为 %ld"),
                     p->key, p->min, p->max, v);
        pk->values[i] = v;
    }
}

static void edit_key(struct ui *u, int ch)
{
    struct picker *pk = &u->pk;
    const struct scenario *sc = scenario_table[pk->sel];
    long *v = &pk->values[pk->edit_sel];
    const struct scenario_param *p = &sc->params[pk->edit_sel];
    if (ch == KEY_UP || ch == KEY_DOWN) {
        int n = (int)sc->nparams;
        pk->edit_sel = (pk->edit_sel + (ch == KEY_UP ? n - 1 : 1)) % n;
        pk->typed = 0;
    } else if (ch == KEY_LEFT || ch == '-') {
        *v = *v > p->min ? *v - 1 : p->min;
        pk->typed = 0;
    } else if (ch == KEY_RIGHT || ch == '+') {
        *v = *v < p->max ? *v + 1 : p->max;
        pk->typed = 0;
    } else if (ch >= '0' && ch <= '9') {
        *v = pk->typed && *v < VALUE_MAX / 10 ? *v * 10 + (ch - '0') : ch - '0';
        pk->typed = 1;
    } else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        *v /= 10;
        pk->typed = 1;
    } else if (ch == '\r' || ch == '\n' || ch == KEY_ENTER || ch == 27 || ch == 'e') {
        edit_done(u, sc);
    }
}

static int start_selected(struct ui *u)
{
    struct picker *pk = &u->pk;
    if (pk->sel < 0 || (size_t)pk->sel >= scenario_count)
        return 0;
    const struct scenario *sc = scenario_table[pk->sel];
    ensure_values(pk, sc);
    u->sc = sc;
    memcpy(u->params, pk->values, sizeof(u->params));
    pk->msg[0] = '\0';
    return 1;
}

int picker_key(struct ui *u, int ch)
{
    struct picker *pk = &u->pk;
    if (pk->filtering) {
        filter_key(pk, ch);
        return 0;
    }
    if (pk->editing) {
        edit_key(u, ch);
        return 0;
    }
    switch (ch) {
    case KEY_UP:
    case 'k':
        move_sel(pk, -1);
        break;
    case KEY_DOWN:
    case 'j':
        move_sel(pk, 1);
        break;
    case KEY_PPAGE:
        move_sel(pk, -10);
        break;
    case KEY_NPAGE:
        move_sel(pk, 10);
        break;
    case '\r':
    case '\n':
    case KEY_ENTER:
        return start_selected(u);
    case 'e':
        if (scenario_count && scenario_table[pk->sel]->nparams)
            pk->editing = 1, pk->typed = 0;
        break;
    case '/':
        pk->filtering = 1;
        break;
    case 't':
        u->theme = (u->theme + 1) % TH__COUNT;
        screen_theme_apply(u->theme);
        snprintf(pk->msg, sizeof(pk->msg), TR(u, "Theme: %s", "主题：%s"),
                 screen_theme_name(u->theme));
        break;
    case 'L':
        u->lang = u->lang == LANG_ZH ? LANG_EN : LANG_ZH;
        u->opts.lang = u->lang;
        break;
    case 'q':
    case KEY_F(10):
        u->quit = 1;
        loop_stop(u->lp);
        break;
    default:
        break;
    }
    return 0;
}
