/*
 * script.h - the step driver: `ipcscope run ID --headless --script FILE|-`.
 *
 * One command a line drives the same gate the keys drive: `step [N]` (N steps, each returning
 * once the granted action and its consequences have settled), `pick TASK` (the task the next
 * step lets through, by name or slot), `action KEY` (a scenario action), `run MS` (run free
 * for MS ms, then hold the gate again), `wait MS` (let wall time pass with the gate held, as a
 * teacher explaining would), `finish [MAX]` (step until the run ends), `snapshot` (one JSON
 * snapshot on one flushed line of stdout), and `#` comments. Commands are read as they
 * arrive, so another program can drive a run interactively through a pipe.
 */
#ifndef IPCSCOPE_SCRIPT_H
#define IPCSCOPE_SCRIPT_H

#include "loop.h"
#include "run.h"

#include <stddef.h>

struct script;

/* Open the script at path ("-": standard input). 0, or -1 with a message in err. */
int script_open(struct script **out, const char *path, char *err, size_t n);

/* Start reading commands for run r on loop lp. 0 or -1 with a message in err. */
int script_attach(struct script *s, struct loop *lp, struct run *r, char *err, size_t n);

/* Advance the script: finish the command in progress when it is done, start the next ones.
 * Call after every turn of the loop. Returns 0 while the script goes on, 1 once it has ended
 * (end of input), 2 on a bad command (the message, naming the line, is on stderr). */
int script_tick(struct script *s);

/* Release everything. Accepts NULL. */
void script_close(struct script *s);

#endif
