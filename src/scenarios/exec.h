/*
 * exec.h - the "your program" scenario behind `ipcscope exec -- PROGRAM [ARGS...]`.
 *
 * Not in the scenario table: the command line configures it with the program to run and
 * hands it to the headless runner or the TUI like any other scenario. Headless, the program
 * keeps the user's standard input, output and error (and every other descriptor it was
 * given) and the terminal's foreground; in the TUI it runs on a pseudo-terminal ipcscope
 * owns (exec_pty.h).
 */
#ifndef IPCSCOPE_SCENARIO_EXEC_H
#define IPCSCOPE_SCENARIO_EXEC_H

#include "../scenario.h"

#include <limits.h>

#define EXEC_KEEP_MAX 64

struct exec_program {
    char path[PATH_MAX];     /* the program, resolved (as execv wants it) */
    char *const *argv;       /* PROGRAM ARGS... NULL-terminated; argv[0] as the user typed it */
    char preload[PATH_MAX];  /* absolute path of libipcscope_preload.so; "" = run it bare */
    int tui;                 /* run it on a pseudo-terminal of ours (the TUI shows it) */
    int keep[EXEC_KEEP_MAX]; /* descriptors above 2 the user gave ipcscope: the program's too */
    int nkeep;
};

/* What scenario_exec runs. Copies p (argv must stay valid). Call before run_open. */
void exec_scenario_set(const struct exec_program *p);

/* The program as the user typed it (argv[0]), or NULL before exec_scenario_set. */
const char *exec_scenario_program(void);

/* The program's exit code in m (its code, or 128+N when killed by signal N), or -1 while it
 * has not ended (or did not start). */
int exec_scenario_status(const struct model *m);

/* The signal that killed the program (as the conductor reaped it), 0 when it exited or has
 * not ended. */
int exec_scenario_killed_by(void);

/* Before run_stop, when ipcscope ends the run (--duration, a signal): count what cleanup is
 * about to kill (the snapshot's cleanup.killed). */
void exec_scenario_stopping(const struct model *m);

/* Add why events were dropped to the snapshot's events object (dropped_reasons: ring_full,
 * tasks_without_slot, ops_without_object; dropped_why: in words). Nothing when none was. */
void exec_scenario_dropped(json_t *events, uint64_t dropped);

/* A stall or deadlock of the program being shown ("" when it makes progress). */
const char *exec_scenario_notice(void);

/* How the run's processes were followed and what cleanup had to kill (exec_track_json). */
json_t *exec_scenario_cleanup_json(void);

/* The id of the object the program's process pid has at address addr (a mutex whose futex
 * word a task sleeps on), from the preload's map; EV_NO_OBJ when none is known. */
uint32_t exec_scenario_obj_at(int32_t pid, uint64_t addr);

/* Send sig to the program's process group (Ctrl-C reaching ipcscope instead of it). */
int exec_scenario_signal(int sig); /* 1 passed on; 0: no program yet to pass it to */

extern const struct scenario scenario_exec;

#endif
