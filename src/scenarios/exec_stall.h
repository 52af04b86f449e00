/*
 * exec_stall.h - noticing that a program under `ipcscope exec` stopped making progress.
 *
 * A stall: every live task of the program is blocked on one of its objects and nothing has
 * happened for a second. A deadlock: a cycle in the wait-for graph (waitfor.h: a task waits
 * for a lock whose holder waits for another ... back to the first). Each episode is kept
 * (the run goes on: the program would hang just the same without ipcscope), said once on
 * stderr when headless, shown in the TUI's status line and listed in the snapshot.
 */
#ifndef IPCSCOPE_EXEC_STALL_H
#define IPCSCOPE_EXEC_STALL_H

#include "../model.h"

#include <jansson.h>
#include <stdint.h>

/* Forget every episode (a new run started at t0, model clock). */
void exec_stall_reset(uint64_t t0);

/* Look at m at time now (ns, model clock); say = 1 to print a new episode on stderr. */
void exec_stall_look(const struct model *m, uint64_t now, int say);

/* The latest episode in words ("" when the program is making progress). */
const char *exec_stall_notice(void);

/* [{"at_ms": t, "kind": "stall"|"deadlock", "blocked": [{"task", "on"}...], "cycle": "a
 * -(m1)-> b -(m2)-> a"}] for the snapshot. */
json_t *exec_stall_json(void);

#endif
