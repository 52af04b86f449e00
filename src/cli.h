/*
 * cli.h - the command line of `ipcscope` (DESIGN.md section 3), parsed and checked without
 * doing anything: main.c runs what it describes, the fuzzer feeds it any words.
 *
 * Options may come before or after the command's words (`run --dur 1 --headless prodcons`);
 * long options may be abbreviated as getopt_long allows. Every problem is a usage error that
 * names the bad word and what would be accepted.
 */
#ifndef IPCSCOPE_CLI_H
#define IPCSCOPE_CLI_H

#include "run.h"
#include "scenario.h"

#include <stdio.h>

#define EXIT_USAGE 2
#define CLI_PARAMS_MAX 64

/* What cli_parse asks main to do besides a command. */
enum { CLI_GO = 0, CLI_HELP = -1, CLI_VERSION = -2 };

struct cli {
    const char *cmd;           /* list, run, replay, export; NULL: the picker */
    const char *file;          /* the scenario id (run) or the trace (replay, export) */
    const struct scenario *sc; /* run: the scenario named */
    long params[SCN_MAX_PARAMS];
    const char *param_args[CLI_PARAMS_MAX]; /* the --param values, checked once sc is known */
    int nparam;
    struct run_opts opts;
    int json;
    int delay_given;
    const char *theme;
    const char *perfetto;
};

/* Where usage errors are written (stderr unless a caller, the fuzzer, changes it). */
extern FILE *cli_err;

/* The --help text. */
extern const char cli_usage_text[];

/* Parse argv (argv[0] is the program) into c (zeroed by the caller) and check that the words
 * make sense together. Returns CLI_GO, CLI_HELP or CLI_VERSION, or EXIT_USAGE after printing
 * the reason to cli_err. Uses getopt: resets optind itself. */
int cli_parse(int argc, char **argv, struct cli *c);

/* Print a usage error (ipcscope: ...) and return EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
