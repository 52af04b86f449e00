/*
 * trace.h - the trace file: record, replay, export (JSON Lines, see DESIGN.md section 3).
 *
 * Line 1 is a header naming the scenario and its parameters; each further line is one event
 * with its time since the start, task, kind, source and, on events that touch an object, the
 * object's name, its own operation count (seq) and the value the operation left (val). A
 * last line ({"ipcscope_trace_end": 1, ...}) carries what the events alone cannot: dropped
 * events, leaks and the sources that were on, so a replay reproduces the final snapshot.
 */
#ifndef IPCSCOPE_TRACE_H
#define IPCSCOPE_TRACE_H

#include "event.h"
#include "model.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* Open path for writing and write the header. NULL with a message in err on failure. */
FILE *trace_create(const char *path, const char *scenario, json_t *params, char *err, size_t n);

/* Write one event. t0: the run's start (ns); names may be NULL. */
void trace_write_event(FILE *f, const struct ev *e, uint64_t t0, const char *task_name,
                       const char *obj_name);

/* Write the trailer (steals the reference) and close. */
void trace_finish(FILE *f, json_t *trailer);

/*
 * Read a trace into m (initialised by the caller). On success returns 0 and sets *header and
 * *trailer (the trailer is NULL when the trace was cut short). On a malformed file returns -1
 * with a message naming the line and the problem.
 */
int trace_replay(const char *path, struct model *m, json_t **header, json_t **trailer, char *err,
                 size_t n);

/* Read a trace, calling fn for each event in file order (names may be NULL). Same results
 * and errors as trace_replay, which is trace_read applying each event to a model. */
typedef void (*trace_event_fn)(const struct ev *e, const char *task_name, const char *obj_name,
                               void *arg);
int trace_read(const char *path, trace_event_fn fn, void *arg, json_t **header, json_t **trailer,
               char *err, size_t n);

/* Convert a trace into Chrome/Perfetto JSON (trace events). 0, or -1 with err. */
int trace_export_perfetto(const char *in, const char *out, char *err, size_t n);

#endif
