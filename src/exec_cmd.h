/*
 * exec_cmd.h - the `ipcscope exec` command line (DESIGN.md section 3).
 *
 * main.c hands over argv when the first word is "exec", before its own option parsing: the
 * program's arguments after "--" belong to the program, never to ipcscope.
 */
#ifndef IPCSCOPE_EXEC_CMD_H
#define IPCSCOPE_EXEC_CMD_H

#include "run.h"
#include "scenario.h"

/* How the TUI is started (ui_main's signature), or NULL in a build without a TUI. */
typedef int (*exec_tui_fn)(const struct scenario *sc, const long *params,
                           const struct run_opts *opts, const char *theme);

/* Run `ipcscope exec [--record FILE] [--headless] [--json] [--duration S] [--no-bpf]
 * [--step] [--delay MS] [--lang en|zh] -- PROGRAM [ARGS...]`, the options starting at
 * argv[first_arg]. Returns the process exit code (exec_exit_code once the program ran), 1 on
 * a runtime failure, 2 on bad usage (missing "--" or PROGRAM, an unknown option, PROGRAM not
 * found or not executable). */
int exec_main(int argc, char **argv, int first_arg, exec_tui_fn tui);

/* ipcscope's exit code for the stopped exec run r, headless or in the TUI: the program's
 * status (128+N when signal N killed it; exec_main then ends by signal N itself); 128+stop_sig when
 * a signal stopped ipcscope; 124 when ipcscope cut the program short (--duration, or q in the TUI
 * before it ended); 1 when the program succeeded but events were lost or ipcscope left something
 * behind, or its status is unknown: then why (n bytes) says so in words, else it is "". Call after
 * run_stop. */
int exec_exit_code(const struct run *r, int stop_sig, char *why, size_t n);

#endif
