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
 * argv[first_arg]. Returns the process exit code: 0 when the program ran under ipcscope (its
 * own status is in the snapshot's program_exit), 1 on a runtime failure, 2 on bad usage
 * (missing "--" or PROGRAM, an unknown option, PROGRAM not found or not executable), 128+N
 * when stopped by signal N. */
int exec_main(int argc, char **argv, int first_arg, exec_tui_fn tui);

#endif
