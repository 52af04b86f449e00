/*
 * panel_output.c - the Output panel of `ipcscope exec` in the TUI: what the program printed
 * on its terminal (a pseudo-terminal ipcscope owns), and the keys typed into it.
 *
 * It takes the lower part of the narration's place. While it has the focus (Tab), keys go
 * to the program as a terminal would send them: letters, Enter, Backspace, arrows, Ctrl-C,
 * Ctrl-\ and Ctrl-Z (the program's terminal turns them into SIGINT, SIGQUIT and SIGTSTP) and
 * Ctrl-D (end of input); Tab moves on and F10 quits ipcscope. For that ipcscope's own terminal
 * is raw while the panel has the focus: its signal keys are bytes, not ipcscope's signals.
 */
#include "scenarios/exec.h"
#include "scenarios/exec_pty.h"
#include "tui.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int panel_output_shown(const struct ui *u)
{
    return u->sc == &scenario_exec && u->r && !u->r->replay &&
           (exec_pty_is_open() || exec_pty_nlines() > 0);
}

/* The program's terminal is sized before it starts, then only when ipcscope's own terminal
 * is resized (for these COLS x LINES), as a window is: not as the dashboard's layout moves
 * with the tasks (each new size is a SIGWINCH to the program). */
static int g_sized_cols, g_sized_lines;

static struct rect output_rect(struct rect *narr)
{
    int h = narr->h / 2; /* not larger with the focus: that, too, would be a SIGWINCH */
    struct rect out = {narr->y + narr->h - h, narr->x, h, narr->w};
    narr->h -= h;
    return out;
}

void panel_output_presize(struct ui *u)
{
    if (u->sc != &scenario_exec || u->opts.replay)
        return;
    layout_compute(u);
    struct rect narr = u->lay.panel[P_NARR];
    if (u->lay.too_small || narr.h < 8) {
        exec_pty_resize(24, 80); /* drawn later, if ever: a terminal's usual size meanwhile */
        return;
    }
    struct rect in = screen_inner(output_rect(&narr));
    exec_pty_resize(in.h, in.w);
    g_sized_cols = COLS;
    g_sized_lines = LINES;
}

void panel_output_split(const struct ui *u, struct rect *narr, struct rect *out)
{
    *out = (struct rect){0, 0, 0, 0};
    if (!panel_output_shown(u) || narr->h < 8)
        return;
    *out = output_rect(narr);
}

void panel_output_draw(struct ui *u, struct rect r)
{
    if (r.h <= 0)
        return;
    int focused = u->focus == P_OUTPUT;
    char title[96];
    snprintf(title, sizeof(title), "%s",
             !exec_pty_is_open() ? TR(u, " Output (the program has ended) ", " 输出（程序已结束） ")
             : focused           ? TR(u, " Output · typing goes to the program (Tab leaves) ",
                                      " 输出 · 键入的内容发给程序（Tab 离开） ")
                       : TR(u, " Output (Tab here to type) ", " 输出（Tab 到这里可输入） "));
    screen_box(r, title, focused);
    struct rect in = screen_inner(r);
    if (in.h <= 0 || in.w <= 0)
        return;
    if (g_sized_cols != COLS || g_sized_lines != LINES) { /* ipcscope's terminal resized */
        exec_pty_resize(in.h, in.w);
        g_sized_cols = COLS;
        g_sized_lines = LINES;
    }
    size_t n = exec_pty_nlines();
    size_t first = n > (size_t)in.h ? n - (size_t)in.h : 0;
    for (size_t i = first; i < n; i++)
        screen_put(in.y + (int)(i - first), in.x, in.w, THEME[R_NORMAL], exec_pty_line(i));
    if (!n)
        screen_put(in.y, in.x, in.w, THEME[R_DIM],
                   TR(u, "(nothing printed yet)", "（还没有输出）"));
}

/* The program's printed lines, without the empty one after its last newline. */
static size_t printed_lines(void)
{
    size_t n = exec_pty_nlines();
    return n && !exec_pty_line(n - 1)[0] ? n - 1 : n;
}

int panel_output_tail_rows(const struct ui *u, int max)
{
    size_t n = panel_output_shown(u) ? printed_lines() : 0;
    if (!n || max < 2)
        return 0;
    return 1 + (n < (size_t)max - 1 ? (int)n : max - 1);
}

int panel_output_tail_draw(struct ui *u, struct rect r)
{
    int rows = panel_output_tail_rows(u, r.h);
    if (!rows)
        return 0;
    size_t n = printed_lines(), first = n - (size_t)(rows - 1);
    screen_put(r.y, r.x, r.w, THEME[R_TITLE],
               !exec_pty_is_open()
                   ? TR(u, "Output (the program has ended):", "输出（程序已结束）：")
                   : TR(u, "Output:", "输出："));
    for (size_t i = first; i < n; i++)
        screen_put(r.y + 1 + (int)(i - first), r.x + 2, r.w - 2, THEME[R_NORMAL] | A_BOLD,
                   exec_pty_line(i));
    return rows;
}

/* The bytes a terminal sends for key ch, into buf. Their count, 0 for none. */
static size_t key_bytes(int ch, char *buf)
{
    static const struct {
        int key;
        const char *seq;
    } SEQ[] = {{KEY_UP, "\033[A"},   {KEY_DOWN, "\033[B"},   {KEY_RIGHT, "\033[C"},
               {KEY_LEFT, "\033[D"}, {KEY_HOME, "\033[H"},   {KEY_END, "\033[F"},
               {KEY_DC, "\033[3~"},  {KEY_PPAGE, "\033[5~"}, {KEY_NPAGE, "\033[6~"}};
    if (ch == '\n' || ch == KEY_ENTER)
        ch = '\r'; /* the terminal's own line discipline makes it '\n' */
    if (ch == KEY_BACKSPACE || ch == 8)
        ch = 0x7f;
    if (ch >= 0 && ch < 256) {
        buf[0] = (char)ch;
        return 1;
    }
    for (size_t i = 0; i < UI_COUNT(SEQ); i++)
        if (SEQ[i].key == ch) {
            size_t len = strlen(SEQ[i].seq);
            memcpy(buf, SEQ[i].seq, len);
            return len;
        }
    return 0;
}

int panel_output_key(struct ui *u, int ch)
{
    if (u->focus != P_OUTPUT || !panel_output_shown(u) || !exec_pty_is_open() || ch == '\t' ||
        ch == KEY_BTAB || ch == KEY_F(10) || ch == KEY_RESIZE)
        return 0; /* once the run has closed the terminal, keys are ipcscope's again (q) */
    char buf[8];
    size_t n = key_bytes(ch, buf);
    if (!n)
        return 1;
    if (exec_pty_write(buf, n) < 0)
        ui_message(u, "%s",
                   TR(u, "The program has ended: nothing reads its terminal any more.",
                      "程序已结束：已经没有人读取它的终端。"));
    return 1;
}

/* Raw mode (panel_output_tty_mode) makes Ctrl-C a byte while the panel has the focus; this
 * covers the frame between a focus change and the mode following it. */
int panel_output_signal(struct ui *u, int sig)
{
    if (u->focus != P_OUTPUT || !panel_output_shown(u) || !exec_pty_is_open())
        return 0;
    char c = sig == SIGINT ? 0x03 : sig == SIGQUIT ? 0x1c : 0;
    return c && exec_pty_write(&c, 1) == 0;
}

void panel_output_tty_mode(const struct ui *u)
{
    static int is_raw;
    int want = u->focus == P_OUTPUT && panel_output_shown(u) && exec_pty_is_open();
    if (want == is_raw)
        return;
    is_raw = want;
    if (want)
        raw();
    else {
        noraw();
        cbreak();
    }
}
