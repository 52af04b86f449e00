/*
 * ui.h - the terminal dashboard's entry points, as the rest of ipcscope sees them.
 *
 * ui_main runs the whole TUI (picker, dashboard, overlays) on its own event loop and
 * always gives the terminal back; ui_emergency_restore is for the crash handler.
 */
#ifndef IPCSCOPE_UI_H
#define IPCSCOPE_UI_H

#include "run.h"
#include "scenario.h"

/* Run the TUI. sc NULL: start at the scenario picker; else start that scenario with params
   (NULL: defaults) and opts. theme NULL: default (dark, or monochrome when NO_COLOR is set).
   Returns the process exit code (0 ok, 1 runtime failure, 2 unknown theme name, 128+signal
   when ended by SIGINT/SIGTERM/SIGHUP/SIGQUIT). Restores the terminal on every path. */
int ui_main(const struct scenario *sc, const long *params, const struct run_opts *opts,
            const char *theme);

/* Async-signal-safe terminal restore for the crash handler (write reset sequences, no malloc). */
void ui_emergency_restore(void);

#endif
