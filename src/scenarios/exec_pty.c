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

#include "../event.h"
#include "../instr.h"
#include "../instr_ipc.h"
#include "../model.h"
#include "../narrate.h"
#include "../scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define TAIL_LINES 10

enum esc_state { ESC_NONE, ESC_START, ESC_CSI, ESC_OSC };

static struct {
    int master;
    char slave[64]; /* its name, for the session leader to open */
    int status_fd;  /* where the leader writes the program's wait status */
    char lines[EXEC_PTY_LINES][EXEC_PTY_COLS];
    size_t first, count; /* ring of lines; count >= 1 once output began */
    size_t col;          /* cursor column in the last line */
    uint64_t total;
    enum esc_state esc;
    struct winsize ws;
} g_pty = {.master = -1, .status_fd = -1}; /* sized by the UI before it opens (presize) */

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
    if (ptsname_r(fd, g_pty.slave, sizeof(g_pty.slave)) != 0)
        g_pty.slave[0] = '\0';
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    ioctl(fd, TIOCSWINSZ, &g_pty.ws);
    g_pty.master = fd;
    return 0;
}

/* The leader's note when the program stopped (its wait() saw it): "stopped by signal N". */
#define STOP_NOTE "stopped by signal "

/* The leader, once the program runs: wait for it as a shell waits for its foreground job,
 * take the terminal back when it has ended (so the processes it leaves in its group are not
 * hung up when the session's leader exits), write its wait status for the conductor and
 * exit 0 (its own status, as a shell's would be).
 * A stop typed on the terminal (Ctrl-Z) is undone at once, as it was when the program led
 * the session (a stop of an orphaned group is discarded): no shell here to resume it. */
static void lead(int tty, pid_t prog)
{
    prctl(PR_SET_NAME, EXEC_PTY_LEADER);
    int out = g_pty.status_fd;
    if (out >= 0 && out < 3)
        out = fcntl(out, F_DUPFD, 3);
    for (int i = 0; i < 3; i++)
        dup2(tty, i);
    if (out > 3)
        out = dup2(out, 3);
    syscall(SYS_close_range, out == 3 ? 4 : 3, ~0u, 0); /* the conductor's, the region's */
    int st = 0;
    for (;;) {
        pid_t w = waitpid(prog, &st, WUNTRACED);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            _exit(125);
        if (!WIFSTOPPED(st))
            break;
        if (WSTOPSIG(st) == SIGTSTP) {
            instr_note(STOP_NOTE "%d", WSTOPSIG(st)); /* told by exec_pty_narrate */
            kill(-prog, SIGCONT);
        }
    }
    /* its reap as this wait() saw it, status and signal: without the probes /proc alone said
     * "status -1" (not followed, no slot: the probes or /proc tell it) */
    ipc_emit_reaped(prog, st, getpid());
    sigset_t tt;
    sigemptyset(&tt);
    sigaddset(&tt, SIGTTOU);
    sigprocmask(SIG_BLOCK, &tt, NULL);
    tcsetpgrp(0, getpgrp());
    if (out == 3 && write(3, &st, sizeof(st)) != (ssize_t)sizeof(st))
        _exit(125);
    instr_task_end(0);
    _exit(0);
}

void exec_pty_lead(void)
{
    setsid();
    int fd = g_pty.slave[0] ? open(g_pty.slave, O_RDWR) : -1; /* the leader's first tty */
    if (fd >= 0)
        ioctl(fd, TIOCSCTTY, 0);
    pid_t pid = fd >= 0 ? fork() : -1;
    if (pid > 0) {
        setpgid(pid, pid); /* both sides, as a shell does: whichever runs first */
        lead(fd, pid);
    }
    if (pid == 0) { /* the program: a group of its own, the terminal's foreground */
        setpgid(0, 0);
        sigset_t tt, old;
        sigemptyset(&tt);
        sigaddset(&tt, SIGTTOU);
        sigprocmask(SIG_BLOCK, &tt, &old);
        tcsetpgrp(fd, getpid());
        sigprocmask(SIG_SETMASK, &old, NULL);
    } /* else (no terminal, or no fork): the program leads the session itself */
    if (fd >= 0) {
        for (int i = 0; i < 3; i++)
            dup2(fd, i);
        if (fd > 2)
            close(fd);
    }
}

void exec_pty_status_to(int fd)
{
    g_pty.status_fd = fd;
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

/* The leader's record of the program killed by a signal (ipc_emit_reaped): who killed it is the
 * lesson, not only the status. 1 when it wrote buf. */
static int narrate_killed(const struct model *m, const struct ev *e, int lang, char *buf, size_t n)
{
    uint32_t by = model_task_by_tid(m, (int32_t)e->aux);
    uint32_t t = model_task_by_slot(m, e->task);
    if (by >= m->ntasks || t >= m->ntasks || strcmp(m->tasks[by].name, EXEC_PTY_LEADER) != 0)
        return 0;
    int sig = (int)e->item;
    char name[32];
    narrate_signal_name(sig, name, sizeof(name));
    if (lang == LANG_ZH)
        snprintf(buf, n,
                 "%s 被 %s 杀死（状态 %lld，即 128 + %d）。" EXEC_PTY_LEADER
                 "（它的终端的会话首进程）用 wait() 回收了它，就像 shell 回收它的前台作业。",
                 m->tasks[t].name, name, (long long)e->val, sig);
    else
        snprintf(buf, n,
                 "%s was killed by %s (status %lld: 128 + %d). " EXEC_PTY_LEADER
                 ", its terminal's session leader, collected it with wait(), as a shell "
                 "collects its foreground job.",
                 m->tasks[t].name, name, (long long)e->val, sig);
    return 1;
}

/* The leader's STOP_NOTE: the program stopped by a terminal's key, and continued at once. 1
 * when it wrote buf. */
static int narrate_stopped(const struct model *m, const struct ev *e, int lang, char *buf, size_t n)
{
    char text[EV_TEXT_MAX + 1]; /* a full note has no NUL */
    snprintf(text, sizeof(text), "%.*s", EV_TEXT_MAX, e->text);
    uint32_t by = model_task_by_slot(m, e->task);
    if (by >= m->ntasks || strcmp(m->tasks[by].name, EXEC_PTY_LEADER) != 0 ||
        strncmp(text, STOP_NOTE, strlen(STOP_NOTE)) != 0)
        return 0;
    const char *prog = "the program";
    for (size_t i = 0; i < m->ntasks; i++) /* the leader's one child */
        if (m->tasks[i].ppid == m->tasks[by].pid && m->tasks[i].kind == TK_PROCESS)
            prog = m->tasks[i].name;
    char name[32];
    narrate_signal_name(atoi(text + strlen(STOP_NOTE)), name, sizeof(name));
    if (lang == LANG_ZH)
        snprintf(buf, n,
                 "%s 被 %s（终端在按下 Ctrl-Z 时发出的信号）停止。这里没有 shell 来恢复这个作业，"
                 "所以 " EXEC_PTY_LEADER " 立刻用 SIGCONT 让它继续。",
                 prog, name);
    else
        snprintf(buf, n,
                 "%s was stopped by %s (the signal a terminal sends for Ctrl-Z). No shell is here "
                 "to resume the job, so " EXEC_PTY_LEADER " continues it at once with SIGCONT.",
                 prog, name);
    return 1;
}

/* Whether e is about the leader itself: a record of its slot, or a probe's of its tid. */
static int of_the_leader(const struct model *m, const struct ev *e)
{
    uint32_t t =
        e->task != EV_NO_TASK ? model_task_by_slot(m, e->task) : model_task_by_tid(m, e->tid);
    return t < m->ntasks && strcmp(m->tasks[t].name, EXEC_PTY_LEADER) == 0;
}

int exec_pty_narrate(const struct model *m, const struct ev *e, int lang, char *buf, size_t n)
{
    if (e->kind == EV_TASK_REAPED && e->src == EV_SRC_INSTR && e->item > 0)
        return narrate_killed(m, e, lang, buf, n);
    /* the leader's own end is ipcscope's, not the program's: its "stays a zombie until
     * wait()" was the last sentence, in projector mode the only one, after the program's */
    if ((e->kind == EV_TASK_EXIT || e->kind == EV_PROC_EXIT || e->kind == EV_TASK_REAPED) &&
        of_the_leader(m, e)) {
        buf[0] = '\0';
        return 1;
    }
    if (e->kind == EV_NOTE && (e->flags & EVF_TEXT))
        return narrate_stopped(m, e, lang, buf, n);
    if (e->kind != EV_SIG_GENERATE || e->val != SIGHUP || e->aux != 0)
        return 0;
    uint32_t t = model_task_by_tid(m, e->tid); /* a probe's event: no slot, a tid */
    if (t >= m->ntasks || strcmp(m->tasks[t].name, EXEC_PTY_LEADER) != 0)
        return 0;
    snprintf(buf, n, "%s",
             lang == LANG_ZH
                 ? EXEC_PTY_LEADER "（程序终端的会话首进程，如同 shell）退出：内核用 SIGHUP "
                                   "挂断终端的前台进程组，也就是它自己的组。"
                 : EXEC_PTY_LEADER ", the session leader of the program's terminal (as "
                                   "a shell is), exits: the kernel hangs up the "
                                   "terminal's foreground group, its own, with SIGHUP.");
    return 1;
}
