/*
 * headless.h - running a scenario without the TUI, for `ipcscope run --headless` and
 * `ipcscope exec --headless`.
 *
 * Runs to the end (or --duration), stops cleanly on SIGINT/SIGTERM/SIGHUP, prints the final
 * snapshot as JSON or as a readable summary, and turns what happened into the exit code.
 */
#ifndef IPCSCOPE_HEADLESS_H
#define IPCSCOPE_HEADLESS_H

#include "run.h"
#include "scenario.h"

#include <jansson.h>
#include <stdio.h>

/* Run sc with params (NULL: defaults) and opts; print the snapshot (JSON when json). Returns
 * 0, 1 (runtime failure, failed invariant, leak) or 128+signal when a signal stopped it. */
int headless_run(const struct scenario *sc, const long *params, const struct run_opts *opts,
                 int json);

/* 1 when standard output was closed when ipcscope started (main.c then holds its descriptor
 * with /dev/null): writing the output must fail. */
extern int headless_stdout_closed;

/* Flush standard output and check that everything written reached it: 0, or 1 after saying
 * why on stderr (a full disk, a closed pipe, stdout closed). Every command that prints its
 * result returns through this. */
int headless_output_done(void);

/* The snapshot as a few readable lines on out. */
void headless_print_summary(FILE *out, json_t *snap);

/* Parse v as a number in lo..hi into *out. 0, or -1 (not a number, or out of range): the
 * caller names the option in its usage message. */
int headless_parse_number(const char *v, double lo, double hi, double *out);

/* The narration language the environment asks for (LC_ALL, LC_MESSAGES, LANG: zh* or en). */
int headless_env_lang(void);

#endif
