/*
 * exec.h - the "your program" scenario behind `ipcscope exec -- PROGRAM [ARGS...]`.
 *
 * Not in the scenario table: the command line configures it with the program to run and
 * hands it to the headless runner or the TUI like any other scenario.
 */
#ifndef IPCSCOPE_SCENARIO_EXEC_H
#define IPCSCOPE_SCENARIO_EXEC_H

#include "../scenario.h"

#include <limits.h>

struct exec_program {
    char path[PATH_MAX];    /* the program, resolved (as execv wants it) */
    char *const *argv;      /* PROGRAM ARGS... NULL-terminated; argv[0] as the user typed it */
    char preload[PATH_MAX]; /* absolute path of libipcscope_preload.so; "" = run it bare */
};

/* What scenario_exec runs. Copies p (argv must stay valid). Call before run_open. */
void exec_scenario_set(const struct exec_program *p);

/* The program as the user typed it (argv[0]), or NULL before exec_scenario_set. */
const char *exec_scenario_program(void);

extern const struct scenario scenario_exec;

#endif
