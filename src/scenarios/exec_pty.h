/*
 * exec_pty.h - the pseudo-terminal a program runs on under `ipcscope exec` in the TUI.
 *
 * The conductor holds the master side: what the program writes is read on every poll into
 * a scrollback of lines (a small terminal: newlines, carriage returns, backspaces and tabs;
 * escape sequences are dropped), which the Output panel draws; keys typed into that panel
 * are written back, so the program's stdin works as on a terminal (echo, line editing,
 * Ctrl-C and Ctrl-D by the pty's own line discipline). No curses here.
 */
#ifndef IPCSCOPE_EXEC_PTY_H
#define IPCSCOPE_EXEC_PTY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define EXEC_PTY_LINES 1000 /* scrollback kept */
#define EXEC_PTY_COLS 512   /* bytes kept of one line */

/* Conductor, before the program starts: open a new pty (master kept here) and forget the
 * previous output. 0, or -errno with a message in err. */
int exec_pty_open(char *err, size_t n);

/* In the spawned process (instr_spawn_led's leader): lead a new session with the pty as its
 * controlling terminal, as a terminal window's shell does, and fork the program's process
 * into a process group of its own in the terminal's foreground, with the pty as its stdin,
 * stdout and stderr; returns in that process only. The leader waits for it, takes the
 * terminal back when it ends, writes its wait status (an int) to the descriptor given to
 * exec_pty_status_to and exits 0. So when the leader exits, the processes the program left
 * behind are not sent SIGHUP (a session leader's exit hangs up the terminal's foreground
 * group). Without a terminal or a fork it returns in itself, the program leading the
 * session. */
void exec_pty_lead(void);
/* Conductor, before spawning the leader: where it writes the program's status (-1: none). */
void exec_pty_status_to(int fd);
#define EXEC_PTY_LEADER "ipcscope-pty" /* its name, as a task and in ps */

/* Conductor: read everything the program has written so far (never blocks). Returns the
 * bytes read. */
size_t exec_pty_pump(void);

/* Conductor: type n bytes into the program's terminal. 0 or -errno (-EPIPE once closed). */
int exec_pty_write(const char *buf, size_t n);

/* Conductor: the terminal's size (the Output panel's inside). */
void exec_pty_resize(int rows, int cols);

/* Conductor: read what is left and close the master; the output stays readable. */
void exec_pty_close(void);

/* The output as lines: how many there are (the last may be incomplete), and line i from
 * the oldest kept (NUL-terminated), or NULL. total: bytes the program wrote. */
size_t exec_pty_nlines(void);
const char *exec_pty_line(size_t i);
uint64_t exec_pty_total(void);

/* 1 while the program's terminal is open (keys can be typed). */
int exec_pty_is_open(void);

/* The narration of the leader's own end (1, text in buf) or 0: as a session's leader exits,
 * the kernel hangs up the terminal's foreground group with SIGHUP (the leader's own group:
 * it took the terminal back), which is plumbing a class should read as such. */
struct model;
struct ev;
int exec_pty_narrate(const struct model *m, const struct ev *e, int lang, char *buf, size_t n);

/* {"bytes": total, "lines": n, "tail": [the last 10 lines]} for the snapshot. */
json_t *exec_pty_output_json(void);

/* A JSON string of s (len bytes), invalid UTF-8 bytes shown as '?'. */
json_t *exec_pty_json_string(const char *s, size_t len);

#endif
