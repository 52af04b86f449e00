/*
 * screen.c - curses setup and teardown, the theme table, and width-correct draw helpers.
 *
 * Every colour on screen is a role (R_RUN, R_BLOCK, ...) looked up in THEME[], which
 * screen_theme_apply fills from one table of five themes. Text is measured with wcwidth so
 * Chinese (two columns per character) is clipped and wrapped correctly.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tui.h"

#include "privs.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <unistd.h>
#include <wchar.h>

attr_t THEME[R__COUNT];

/* One role in one theme: fg/bg for 8 colours, fg256/bg256 for 256 (-2: same as 8), attrs. */
struct tcolor {
    short fg, bg, fg256, bg256;
    attr_t a;
};

#define D (-1) /* terminal default */
#define S (-2) /* same as the 8-colour value */
#define B A_BOLD
#define BK COLOR_BLACK
#define RE COLOR_RED
#define GR COLOR_GREEN
#define YE COLOR_YELLOW
#define BL COLOR_BLUE
#define MA COLOR_MAGENTA
#define CY COLOR_CYAN
#define WH COLOR_WHITE

static const struct {
    const char *name;
    const char *alias;
    int color;
    struct tcolor c[R__COUNT];
} THEMES[TH__COUNT] = {
    [TH_DARK] = {"dark",
                 "default",
                 1,
                 {
                     [R_NORMAL] = {D, D, S, S, 0},        [R_DIM] = {WH, D, 244, S, A_DIM},
                     [R_TITLE] = {CY, D, 117, S, B},      [R_BORDER] = {BL, D, 67, S, 0},
                     [R_FOCUS] = {CY, D, 117, S, B},      [R_HEADER] = {BK, CY, 16, 110, 0},
                     [R_KEYBAR] = {WH, BL, 252, 237, 0},  [R_KEY] = {YE, BL, 221, 237, B},
                     [R_STATUS] = {YE, D, 222, S, 0},     [R_WARN] = {YE, D, 221, S, B},
                     [R_GOOD] = {GR, D, 114, S, 0},       [R_BAD] = {RE, D, 203, S, B},
                     [R_SEL] = {D, D, S, 238, A_REVERSE}, [R_NEW] = {WH, D, 250, S, 0},
                     [R_READY] = {YE, D, 221, S, 0},      [R_RUN] = {GR, D, 114, S, B},
                     [R_BLOCK] = {RE, D, 203, S, B},      [R_ZOMBIE] = {MA, D, 177, S, B},
                     [R_EXIT] = {WH, D, 245, S, A_DIM},   [R_GATE] = {CY, D, 81, S, B},
                     [R_TOKEN] = {GR, D, 114, S, B},      [R_EMPTY] = {WH, D, 240, S, A_DIM},
                     [R_BIG] = {YE, D, 229, S, B},
                 }},
    [TH_LIGHT] = {"light",
                  NULL,
                  1,
                  {
                      [R_NORMAL] = {BK, WH, 235, 255, 0}, [R_DIM] = {BK, WH, 244, 255, 0},
                      [R_TITLE] = {BL, WH, 25, 255, B},   [R_BORDER] = {BL, WH, 110, 255, 0},
                      [R_FOCUS] = {BL, WH, 25, 255, B},   [R_HEADER] = {WH, BL, 255, 25, B},
                      [R_KEYBAR] = {BK, CY, 235, 252, 0}, [R_KEY] = {BL, CY, 25, 252, B},
                      [R_STATUS] = {MA, WH, 130, 255, 0}, [R_WARN] = {RE, WH, 130, 255, B},
                      [R_GOOD] = {GR, WH, 28, 255, 0},    [R_BAD] = {RE, WH, 160, 255, B},
                      [R_SEL] = {BK, CY, 235, 153, 0},    [R_NEW] = {BK, WH, 240, 255, 0},
                      [R_READY] = {YE, WH, 130, 255, B},  [R_RUN] = {GR, WH, 28, 255, B},
                      [R_BLOCK] = {RE, WH, 160, 255, B},  [R_ZOMBIE] = {MA, WH, 90, 255, B},
                      [R_EXIT] = {BK, WH, 244, 255, 0},   [R_GATE] = {BL, WH, 25, 255, B},
                      [R_TOKEN] = {GR, WH, 28, 255, B},   [R_EMPTY] = {BK, WH, 250, 255, 0},
                      [R_BIG] = {BL, WH, 18, 255, B},
                  }},
    [TH_CONTRAST] =
        {"high-contrast",
         "contrast",
         1,
         {
             [R_NORMAL] = {WH, BK, 231, 16, B}, [R_DIM] = {WH, BK, 250, 16, 0},
             [R_TITLE] = {YE, BK, 226, 16, B},  [R_BORDER] = {WH, BK, 231, 16, B},
             [R_FOCUS] = {YE, BK, 226, 16, B},  [R_HEADER] = {BK, WH, 16, 231, B},
             [R_KEYBAR] = {BK, YE, 16, 226, 0}, [R_KEY] = {BK, YE, 16, 226, B | A_UNDERLINE},
             [R_STATUS] = {YE, BK, 226, 16, B}, [R_WARN] = {YE, BK, 226, 16, B},
             [R_GOOD] = {GR, BK, 46, 16, B},    [R_BAD] = {WH, RE, 231, 160, B},
             [R_SEL] = {BK, WH, 16, 231, B},    [R_NEW] = {WH, BK, 231, 16, B},
             [R_READY] = {YE, BK, 226, 16, B},  [R_RUN] = {GR, BK, 46, 16, B},
             [R_BLOCK] = {WH, RE, 231, 160, B}, [R_ZOMBIE] = {BK, MA, 16, 201, B},
             [R_EXIT] = {WH, BK, 250, 16, 0},   [R_GATE] = {BK, CY, 16, 51, B},
             [R_TOKEN] = {GR, BK, 46, 16, B},   [R_EMPTY] = {WH, BK, 250, 16, 0},
             [R_BIG] = {YE, BK, 226, 16, B},
         }},
    [TH_MONO] = {"monochrome",
                 "mono",
                 0,
                 {
                     [R_DIM] = {D, D, S, S, A_DIM},
                     [R_TITLE] = {D, D, S, S, B},
                     [R_FOCUS] = {D, D, S, S, B},
                     [R_HEADER] = {D, D, S, S, A_REVERSE},
                     [R_KEYBAR] = {D, D, S, S, A_REVERSE},
                     [R_KEY] = {D, D, S, S, A_REVERSE | B},
                     [R_STATUS] = {D, D, S, S, B},
                     [R_WARN] = {D, D, S, S, B},
                     [R_BAD] = {D, D, S, S, B},
                     [R_SEL] = {D, D, S, S, A_REVERSE},
                     [R_RUN] = {D, D, S, S, B},
                     [R_BLOCK] = {D, D, S, S, B | A_UNDERLINE},
                     [R_ZOMBIE] = {D, D, S, S, A_UNDERLINE},
                     [R_EXIT] = {D, D, S, S, A_DIM},
                     [R_GATE] = {D, D, S, S, B},
                     [R_TOKEN] = {D, D, S, S, B},
                     [R_EMPTY] = {D, D, S, S, A_DIM},
                     [R_BIG] = {D, D, S, S, B},
                 }},
    /* Okabe-Ito palette: blue / orange / sky / vermillion / purple, no red-green pairs. */
    [TH_CBSAFE] =
        {"colorblind",
         "colour-blind-safe",
         1,
         {
             [R_NORMAL] = {D, D, S, S, 0},        [R_DIM] = {WH, D, 244, S, A_DIM},
             [R_TITLE] = {CY, D, 117, S, B},      [R_BORDER] = {BL, D, 32, S, 0},
             [R_FOCUS] = {CY, D, 117, S, B},      [R_HEADER] = {BK, CY, 16, 117, 0},
             [R_KEYBAR] = {WH, BL, 231, 25, 0},   [R_KEY] = {YE, BL, 220, 25, B},
             [R_STATUS] = {YE, D, 220, S, 0},     [R_WARN] = {YE, D, 214, S, B},
             [R_GOOD] = {BL, D, 39, S, B},        [R_BAD] = {YE, D, 208, S, B},
             [R_SEL] = {D, D, S, 238, A_REVERSE}, [R_NEW] = {WH, D, 250, S, 0},
             [R_READY] = {WH, D, 230, S, 0},      [R_RUN] = {BL, D, 39, S, B},
             [R_BLOCK] = {YE, D, 208, S, B},      [R_ZOMBIE] = {MA, D, 175, S, B},
             [R_EXIT] = {WH, D, 245, S, A_DIM},   [R_GATE] = {CY, D, 117, S, B | A_UNDERLINE},
             [R_TOKEN] = {BL, D, 39, S, B},       [R_EMPTY] = {WH, D, 240, S, A_DIM},
             [R_BIG] = {YE, D, 220, S, B},
         }},
};

static int g_colors_ok;

/* Can this terminal type draw a dashboard? initscr would print its own message and exit on
 * an unknown type, so ask terminfo first and say what would work instead. */
static int terminal_usable(char *why, size_t n)
{
    const char *term = getenv("TERM");
    int err = 0;
    if (!term || !*term) {
        snprintf(why, n,
                 "TERM is not set; set it to your terminal type (e.g. TERM=xterm-256color)");
        return 0;
    }
    if (setupterm(NULL, STDOUT_FILENO, &err) != OK) {
        snprintf(why, n,
                 "terminal type '%s' (TERM) is unknown to terminfo; try TERM=xterm-256color, or "
                 "run with --headless",
                 term);
        return 0;
    }
    char cup[] = "cup";
    const char *cap = tigetstr(cup);
    int ok = cap && cap != (char *)-1;
    del_curterm(cur_term);
    if (!ok)
        snprintf(why, n,
                 "terminal type '%s' cannot move the cursor, which the dashboard needs; try "
                 "TERM=xterm-256color, or run with --headless",
                 term);
    return ok;
}

int screen_init(char *why, size_t n)
{
    /* with raised privileges, no user-chosen terminal description is parsed */
    privs_sanitize_env();
    setlocale(LC_ALL, "");
    privs_hide_home(1);
    int usable = terminal_usable(why, n);
    if (usable && !getenv("ESCDELAY"))
        set_escdelay(25);
    WINDOW *w = usable ? initscr() : NULL;
    privs_hide_home(0);
    if (!usable)
        return -1;
    if (!w) {
        snprintf(why, n, "cannot initialise the terminal");
        return -1;
    }
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    g_colors_ok = has_colors() && start_color() == OK;
    if (g_colors_ok)
        use_default_colors();
    return 0;
}

/* Append terminfo capability cap (when the terminal has it) to buf. */
static void add_cap(char *buf, size_t n, const char *cap)
{
    char name[8];
    snprintf(name, sizeof(name), "%s", cap);
    const char *s = tigetstr(name);
    size_t used = strlen(buf);
    if (s && s != (char *)-1 && used + strlen(s) < n)
        memcpy(buf + used, s, strlen(s) + 1);
}

void screen_restore_seq(char *buf, size_t n)
{
    buf[0] = '\0';
    add_cap(buf, n, "sgr0");
    add_cap(buf, n, "cnorm");
    add_cap(buf, n, "rmkx");
    add_cap(buf, n, "rmcup");
}

void screen_end(void)
{
    if (!isendwin()) {
        curs_set(1);
        endwin();
    }
}

int screen_default_theme(void)
{
    const char *nc = getenv("NO_COLOR");
    return (nc && *nc) ? TH_MONO : TH_DARK;
}

int screen_theme_by_name(const char *name)
{
    for (int i = 0; i < TH__COUNT; i++)
        if (strcmp(name, THEMES[i].name) == 0 ||
            (THEMES[i].alias && strcmp(name, THEMES[i].alias) == 0))
            return i;
    if (strcmp(name, "color-blind") == 0 || strcmp(name, "colour-blind") == 0 ||
        strcmp(name, "cb") == 0)
        return TH_CBSAFE;
    return -1;
}

const char *screen_theme_name(int theme)
{
    return theme >= 0 && theme < TH__COUNT ? THEMES[theme].name : "?";
}

const char *screen_theme_names(void)
{
    return "dark, light, high-contrast, monochrome, colorblind";
}

void screen_theme_apply(int theme)
{
    int color = g_colors_ok && THEMES[theme].color;
    int c256 = color && COLORS >= 256;
    for (int r = 0; r < R__COUNT; r++) {
        const struct tcolor *c = &THEMES[theme].c[r];
        THEME[r] = c->a;
        if (theme == TH_MONO && r == R_NORMAL)
            THEME[r] = A_NORMAL;
        if (!color)
            continue;
        short fg = (c256 && c->fg256 != S) ? c->fg256 : c->fg;
        short bg = (c256 && c->bg256 != S) ? c->bg256 : c->bg;
        init_pair((short)(r + 1), fg, bg);
        THEME[r] |= COLOR_PAIR(r + 1);
    }
    bkgdset(' ' | THEME[R_NORMAL]);
    clearok(curscr, TRUE);
}

/* Decode s into w (at most cap-1 wide chars); replace what cannot be shown. */
static size_t to_wide(const char *s, wchar_t *w, size_t cap)
{
    mbstate_t st;
    memset(&st, 0, sizeof(st));
    size_t n = 0;
    while (*s && n + 1 < cap) {
        wchar_t c;
        size_t k = mbrtowc(&c, s, MB_CUR_MAX, &st);
        if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
            memset(&st, 0, sizeof(st));
            c = L'?';
            k = 1;
        }
        if (c == L'\t' || c == L'\n' || c == L'\r')
            c = L' ';
        w[n++] = c;
        s += k;
    }
    w[n] = 0;
    return n;
}

static int wc_width(wchar_t c)
{
    int w = wcwidth(c);
    return w < 0 ? 1 : w;
}

int screen_width(const char *s)
{
    wchar_t w[1024];
    size_t n = to_wide(s, w, UI_COUNT(w));
    int cols = 0;
    for (size_t i = 0; i < n; i++)
        cols += wc_width(w[i]);
    return cols;
}

/* Whether s[0..len) leaves no "(" open. */
static int parens_closed(const char *s, size_t len)
{
    int open = 0;
    for (size_t i = 0; i < len; i++)
        open += s[i] == '(' ? 1 : s[i] == ')' ? -1 : 0;
    return open <= 0;
}

/* The code point of the UTF-8 character starting at s[i] (0 for a continuation byte). */
static unsigned utf8_at(const char *s, size_t i)
{
    const unsigned char *u = (const unsigned char *)s + i;
    if (u[0] < 0x80)
        return u[0];
    if ((u[0] & 0xe0) == 0xc0 && u[1])
        return (unsigned)(u[0] & 0x1f) << 6 | (u[1] & 0x3f);
    if ((u[0] & 0xf0) == 0xe0 && u[1] && u[2])
        return (unsigned)(u[0] & 0x0f) << 12 | (unsigned)(u[1] & 0x3f) << 6 | (u[2] & 0x3f);
    return 0; /* a continuation byte, or beyond the BMP (no CJK break there) */
}

/* Chinese (and Japanese, Korean) text has no spaces: a line may break before or after any of
 * its characters. 1 when the character at s[i] is one. */
static int cjk_at(const char *s, size_t i)
{
    unsigned c = utf8_at(s, i);
    return (c >= 0x2e80 && c <= 0x9fff) || (c >= 0xac00 && c <= 0xd7a3) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) ||
           (c >= 0xff00 && c <= 0xff60);
}

/* 1 when a cut may go at byte i (before s[i]): a space, a call's "(", or next to a CJK
 * character. */
static int may_cut_at(const char *s, size_t i)
{
    if (s[i] == ' ' || (s[i] == '(' && i > 0 && s[i - 1] != ' '))
        return 1;
    if (i == 0 || ((unsigned char)s[i] & 0xc0) == 0x80)
        return 0;
    size_t prev = i - 1;
    while (prev > 0 && ((unsigned char)s[prev] & 0xc0) == 0x80)
        prev--;
    return cjk_at(s, i) || cjk_at(s, prev);
}

/* The end of s[0..end) without the separators a cut leaves dangling: spaces, ':' ';' ',' and
 * their full-width forms ("：" "；" "，" "、" "。"). */
static size_t trim_separators(const char *s, size_t end)
{
    static const char *const wide[] = {"：", "；", "，", "、", "。"};
    for (;;) {
        if (end > 0 && strchr(" :;,", s[end - 1])) {
            end--;
            continue;
        }
        size_t k = 0;
        for (; k < sizeof(wide) / sizeof(wide[0]); k++) {
            size_t l = strlen(wide[k]);
            if (end >= l && memcmp(s + end - l, wide[k], l) == 0) {
                end -= l;
                break;
            }
        }
        if (k == sizeof(wide) / sizeof(wide[0]))
            return end;
    }
}

void screen_fit_words(char *s, size_t n, int w)
{
    if (w <= 0 || screen_width(s) <= w)
        return;
    /* the longest prefix that ends before a space or a call's "(" (or next to a Chinese
     * character), leaves no "(" open and room for the ellipsis ("→ read…"); a prefix of one
     * narrow symbol ("→") says nothing, so it does not count as a word */
    size_t len = strlen(s);
    for (size_t cut = len; cut-- > 0;) {
        if (!may_cut_at(s, cut))
            continue;
        /* "a, b …" and "child: …" read as "a, b…" and "child…" */
        size_t end = trim_separators(s, cut);
        if (!parens_closed(s, end) || end + strlen("…") >= n)
            continue;
        char keep = s[end];
        s[end] = '\0';
        int pw = screen_width(s);
        if (pw + 1 <= w && pw > 2) {
            snprintf(s + end, n - end, "…");
            return;
        }
        s[end] = keep;
    }
    /* not even one word fits: as many characters as fit, then an ellipsis */
    while (len > 0 && screen_width(s) > w - 1) {
        do
            len--;
        while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80);
        s[len] = '\0';
    }
    snprintf(s + len, n - len, "…");
}

/* Draw n wide chars at (y, x) clipped to maxw columns; returns the columns used. */
static int put_wide(int y, int x, int maxw, attr_t a, const wchar_t *w, size_t n)
{
    int cols = 0;
    size_t k = 0;
    for (; k < n; k++) {
        int cw = wc_width(w[k]);
        if (cols + cw > maxw)
            break;
        cols += cw;
    }
    if (k == 0 || y < 0 || x < 0)
        return 0;
    attrset(a);
    mvaddnwstr(y, x, w, (int)k);
    attrset(A_NORMAL);
    return cols;
}

int screen_put(int y, int x, int maxw, attr_t a, const char *s)
{
    if (maxw <= 0 || !s)
        return 0;
    wchar_t w[1024];
    size_t n = to_wide(s, w, UI_COUNT(w));
    return put_wide(y, x, maxw, a, w, n);
}

int screen_putf(int y, int x, int maxw, attr_t a, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return screen_put(y, x, maxw, a, buf);
}

void screen_fill(int y, int x, int w, attr_t a)
{
    if (w <= 0)
        return;
    attrset(a);
    mvhline(y, x, ' ', w);
    attrset(A_NORMAL);
}

void screen_clear_rect(struct rect r, attr_t a)
{
    for (int i = 0; i < r.h; i++)
        screen_fill(r.y + i, r.x, r.w, a);
}

struct rect screen_inner(struct rect r)
{
    return (struct rect){r.y + 1, r.x + 1, r.h - 2, r.w - 2};
}

/* A horizontal run of n copies of a (multi-byte) glyph. */
static void hrun(int y, int x, int n, attr_t a, const char *glyph)
{
    char buf[1024];
    size_t gl = strlen(glyph), len = 0;
    for (int i = 0; i < n && len + gl < sizeof(buf); i++, len += gl)
        memcpy(buf + len, glyph, gl);
    buf[len] = '\0';
    screen_put(y, x, n, a, buf);
}

void screen_box(struct rect r, const char *title, int focused)
{
    if (r.w < 4 || r.h < 2)
        return;
    attr_t a = focused ? THEME[R_FOCUS] : THEME[R_BORDER];
    screen_put(r.y, r.x, 1, a, "┌");
    hrun(r.y, r.x + 1, r.w - 2, a, "─");
    screen_put(r.y, r.x + r.w - 1, 1, a, "┐");
    for (int i = 1; i < r.h - 1; i++) {
        screen_put(r.y + i, r.x, 1, a, "│");
        screen_put(r.y + i, r.x + r.w - 1, 1, a, "│");
    }
    screen_put(r.y + r.h - 1, r.x, 1, a, "└");
    hrun(r.y + r.h - 1, r.x + 1, r.w - 2, a, "─");
    screen_put(r.y + r.h - 1, r.x + r.w - 1, 1, a, "┘");
    if (title && *title) {
        int used =
            screen_put(r.y, r.x + 2, r.w - 4, focused ? THEME[R_FOCUS] : THEME[R_TITLE], title);
        (void)used;
    }
}

typedef void (*line_cb)(const wchar_t *w, size_t n, int line, void *arg);

/* Punctuation that must not start a line (Chinese line breaking, and the ASCII ones). */
static int no_line_start(wchar_t c)
{
    static const wchar_t P[] = L"。，、：；！？）」』》〉】…—.,;:!?)]}%";
    for (const wchar_t *p = P; *p; p++)
        if (*p == c)
            return 1;
    return 0;
}

/* Greedy wrap: break after spaces, around wide (CJK) characters, or anywhere if needed; a
 * break never leaves closing punctuation at the start of the next line. */
static int wrap_lines(const char *text, int width, line_cb cb, void *arg)
{
    static wchar_t w[4096];
    size_t n = to_wide(text, w, UI_COUNT(w));
    int line = 0;
    size_t i = 0;
    while (i < n && width > 0) {
        while (i < n && w[i] == L' ')
            i++;
        size_t start = i, brk = 0;
        int cols = 0;
        while (i < n) {
            int cw = wc_width(w[i]);
            if (cols + cw > width)
                break;
            cols += cw;
            i++;
            if ((w[i - 1] == L' ' || cw == 2 || (i < n && wc_width(w[i]) == 2)) &&
                !(i < n && no_line_start(w[i])))
                brk = i;
        }
        if (i < n && brk > start && w[i] != L' ')
            i = brk;
        size_t end = i;
        while (end > start && w[end - 1] == L' ')
            end--;
        if (cb)
            cb(w + start, end - start, line, arg);
        line++;
        if (i == start)
            i++; /* a character wider than the line: skip it rather than loop */
    }
    return line;
}

struct wrap_draw {
    struct rect r;
    int line0;
    attr_t a;
};

static void draw_line(const wchar_t *w, size_t n, int line, void *arg)
{
    struct wrap_draw *d = arg;
    int y = d->line0 + line;
    if (y >= 0 && y < d->r.h)
        put_wide(d->r.y + y, d->r.x, d->r.w, d->a, w, n);
}

int screen_wrap(struct rect r, int line0, attr_t a, const char *text)
{
    struct wrap_draw d = {r, line0, a};
    return wrap_lines(text, r.w, draw_line, &d);
}

int screen_wrap_count(int w, const char *text)
{
    return wrap_lines(text, w, NULL, NULL);
}
