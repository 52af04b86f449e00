/*
 * exec_pty.c - the program's pseudo-terminal in the TUI: the master side, a scrollback of
 * what the program printed, and the keys typed back into it.
 *
 * The scrollback is a ring of EXEC_PTY_LINES lines interpreted like a plain terminal: '\n'
 * ends a line, '\r' returns to its start (the next bytes overwrite it), backspace steps
 * back, tabs go to the next multiple of 8; CSI and OSC escape sequences (colours, cursor
 * moves) are skipped rather than drawn as garbage.
 */
#define _GNU_SOURCE
#include "exec_pty.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define TAIL_LINES 10

enum esc_state { ESC_NONE, ESC_START, ESC_CSI, ESC_OSC };

static struct {
    int master;
    char lines[EXEC_PTY_LINES][EXEC_PTY_COLS];
    size_t first, count; /* ring of lines; count >= 1 once output began */
    size_t col;          /* cursor column in the last line */
    uint64_t total;
    enum esc_state esc;
    struct winsize ws;
} g_pty = {.master = -1, .ws = {.ws_row = 24, .ws_col = 80}};

static char *cur_line(void)
{
    return g_pty.lines[(g_pty.first + g_pty.count - 1) % EXEC_PTY_LINES];
}

static void new_line(void)
{
    if (g_pty.count < EXEC_PTY_LINES)
        g_pty.count++;
    else
        g_pty.first = (g_pty.first + 1) % EXEC_PTY_LINES;
    cur_line()[0] = '\0';
    g_pty.col = 0;
}

static void put_char(char c)
{
    char *l = cur_line();
    size_t len = strlen(l);
    if (g_pty.col >= EXEC_PTY_COLS - 1)
        return;
    while (len < g_pty.col) /* after a tab or a carriage return: pad */
        l[len++] = ' ';
    l[g_pty.col++] = c;
    if (g_pty.col > len)
        l[g_pty.col] = '\0';
}

/* Skip escape sequences: ESC [ ... final byte, ESC ] ... BEL or ESC \, ESC + one byte. */
static int in_escape(unsigned char c)
{
    switch (g_pty.esc) {
    case ESC_START:
        g_pty.esc = c == '[' ? ESC_CSI : c == ']' ? ESC_OSC : ESC_NONE;
        return 1;
    case ESC_CSI:
        if (c >= 0x40 && c <= 0x7e)
            g_pty.esc = ESC_NONE;
        return 1;
    case ESC_OSC:
        if (c == 0x07 || c == '\\')
            g_pty.esc = ESC_NONE;
        return 1;
    default:
        if (c != 0x1b)
            return 0;
        g_pty.esc = ESC_START;
        return 1;
    }
}

static void feed(const char *buf, size_t n)
{
    if (!g_pty.count)
        new_line();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (in_escape(c))
            continue;
        if (c == '\n')
            new_line();
        else if (c == '\r')
            g_pty.col = 0;
        else if (c == '\b')
            g_pty.col -= g_pty.col > 0;
        else if (c == '\t')
            g_pty.col = (g_pty.col / 8 + 1) * 8;
        else if (c >= 0x20 && c != 0x7f)
            put_char((char)c);
    }
    g_pty.total += n;
}

int exec_pty_open(char *err, size_t n)
{
    exec_pty_close();
    g_pty.first = g_pty.count = g_pty.col = 0;
    g_pty.total = 0;
    g_pty.esc = ESC_NONE;
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0) {
        int e = errno;
        snprintf(err, n, "cannot open a pseudo-terminal for the program: %s", strerror(e));
        if (fd >= 0)
            close(fd);
        return -e;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    ioctl(fd, TIOCSWINSZ, &g_pty.ws);
    g_pty.master = fd;
    return 0;
}

pid_t exec_pty_child(void)
{
    const char *name = g_pty.master >= 0 ? ptsname(g_pty.master) : NULL;
    setsid();
    int fd = name ? open(name, O_RDWR) : -1; /* a session leader's first tty: its terminal */
    if (fd >= 0) {
        ioctl(fd, TIOCSCTTY, 0);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    return getpid();
}

size_t exec_pty_pump(void)
{
    size_t got = 0;
    char buf[4096];
    ssize_t r;
    while (g_pty.master >= 0 && (r = read(g_pty.master, buf, sizeof(buf))) > 0) {
        feed(buf, (size_t)r);
        got += (size_t)r;
    }
    return got;
}

int exec_pty_write(const char *buf, size_t n)
{
    if (g_pty.master < 0)
        return -EPIPE;
    ssize_t w = write(g_pty.master, buf, n);
    return w < 0 ? -errno : 0;
}

void exec_pty_resize(int rows, int cols)
{
    if (rows < 1 || cols < 1 || (rows == g_pty.ws.ws_row && cols == g_pty.ws.ws_col))
        return;
    g_pty.ws.ws_row = (unsigned short)rows;
    g_pty.ws.ws_col = (unsigned short)cols;
    if (g_pty.master >= 0)
        ioctl(g_pty.master, TIOCSWINSZ, &g_pty.ws);
}

void exec_pty_close(void)
{
    if (g_pty.master < 0)
        return;
    exec_pty_pump();
    close(g_pty.master);
    g_pty.master = -1;
}

int exec_pty_is_open(void)
{
    return g_pty.master >= 0;
}

size_t exec_pty_nlines(void)
{
    return g_pty.count;
}

const char *exec_pty_line(size_t i)
{
    return i < g_pty.count ? g_pty.lines[(g_pty.first + i) % EXEC_PTY_LINES] : NULL;
}

uint64_t exec_pty_total(void)
{
    return g_pty.total;
}

json_t *exec_pty_json_string(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    if (j)
        return j;
    char *copy = malloc(len + 1);
    if (!copy)
        return json_string("");
    for (size_t i = 0; i < len; i++)
        copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    j = json_stringn(copy, len);
    free(copy);
    return j;
}

json_t *exec_pty_output_json(void)
{
    json_t *tail = json_array();
    size_t n = g_pty.count;
    if (n && !exec_pty_line(n - 1)[0]) /* the empty line after the last newline */
        n--;
    for (size_t i = n > TAIL_LINES ? n - TAIL_LINES : 0; i < n; i++)
        json_array_append_new(tail,
                              exec_pty_json_string(exec_pty_line(i), strlen(exec_pty_line(i))));
    return json_pack("{s:I, s:I, s:o}", "bytes", (json_int_t)g_pty.total, "lines", (json_int_t)n,
                     "tail", tail);
}
