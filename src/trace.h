/*
 * trace.h - the trace file: record, read back, export (JSON Lines, see DESIGN.md section 3
 * and README.md "Trace files").
 *
 * Line 1 is a header naming the scenario and its parameters; each further line is one event
 * with its time since the start, task, kind, source and, on events that touch an object, the
 * object's name, its own operation count (seq) and the value the operation left (val). A
 * last line ({"ipcscope_trace_end": 1, ...}) carries what the events alone cannot: dropped
 * events, leaks, the sources that were on and how many events were written. A recording that
 * reached its size limit says so in a line {"ipcscope_trace_limit": 1, ...} and in the end
 * line. A file named *.zst is the same text compressed with zstd, one frame per MiB of text
 * (zstdcat reads it; so does every reader here, whatever the name).
 */
#ifndef IPCSCOPE_TRACE_H
#define IPCSCOPE_TRACE_H

#include "event.h"
#include "model.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#define TRACE_NAME_BUF 64 /* names read back: up to 63 bytes (ipcscope's are shorter) */

/* ---- writing ---- */

struct trace_writer;

/* Create path (zstd-compressed when it ends in ".zst") and write the header. limit: the most
 * bytes the file may take on disk (0: no limit; at least TRACE_LIMIT_MIN). NULL with a
 * message in err when the file cannot be created or the header cannot be written. */
#define TRACE_LIMIT_MIN (1u << 20)
struct trace_writer *trace_create(const char *path, const char *scenario, json_t *params,
                                  uint64_t limit, char *err, size_t n);

/* A size for --record-limit: bytes, or a number with K, M or G (KiB, MiB, GiB), at least
 * TRACE_LIMIT_MIN. 0, or -1 when it is not one. */
int trace_parse_size(const char *s, uint64_t *out);

/* Write one event. t0: the run's start (ns); names may be NULL. Returns 0, or 1 exactly once:
 * when the recording has just stopped (its limit was reached or a write failed); then
 * trace_writer_problem says what happened and later events are counted, not written. */
int trace_write_event(struct trace_writer *w, const struct ev *e, uint64_t t0,
                      const char *task_name, const char *obj_name);

/* The writer thread's nice value. It starts with its creator's: a conductor boosted above
 * its workers would otherwise compress at the boost and preempt them. Takes effect before
 * the thread's next chunk. */
void trace_writer_set_nice(struct trace_writer *w, int nice);

/* The file descriptor the writer writes to (-1: none), e.g. to give the file to a sudo user. */
int trace_writer_fd(const struct trace_writer *w);

/* Why the recording stopped ("" while it goes on), and whether a write failed (1) rather
 * than the limit being reached (0). */
const char *trace_writer_problem(const struct trace_writer *w);
int trace_writer_failed(const struct trace_writer *w);

/* Events written to the file so far, and events given but not written. */
void trace_writer_counts(const struct trace_writer *w, uint64_t *written, uint64_t *skipped);

/* Write the trailer (steals the reference; NULL writes none), close and free. 0; 1 when the
 * recording had stopped at its limit (the message is in err); -1 with a message in err when
 * a write failed (the trace is incomplete). Accepts NULL (returns 0). */
int trace_finish(struct trace_writer *w, json_t *trailer, char *err, size_t n);

/* ---- reading ---- */

struct trace_reader;

/* Where a line starts: for a plain file its byte offset (frame); for zstd the offset of the
 * frame it is in and how far into that frame's text (off). */
struct trace_pos {
    uint64_t frame, off;
};

/* One event line read back. Names are "" with has_task / has_obj 0 when the line had none. */
struct trace_rec {
    struct ev e;
    char task[TRACE_NAME_BUF], obj[TRACE_NAME_BUF];
    int has_task, has_obj;
    struct trace_pos pos; /* where its line starts */
    size_t lineno;
};

/* Open a trace (plain or zstd) and read its header. 0, or -1 with a message in err (missing
 * file, empty file, not an ipcscope trace). */
int trace_reader_open(struct trace_reader **out, const char *path, char *err, size_t n);
void trace_reader_close(struct trace_reader *rd); /* accepts NULL */

/* The next event: 1 (in *rec), 0 at the end of the file, -1 with "line N: what is wrong" in
 * err. The end line and the limit line are kept, not returned. */
int trace_reader_next(struct trace_reader *rd, struct trace_rec *rec, char *err, size_t n);

/* Go back (or forward) to a line read before: the next event is the one at pos, whose line
 * number was lineno. 0, or -1 with err. */
int trace_reader_seek(struct trace_reader *rd, struct trace_pos pos, size_t lineno, char *err,
                      size_t n);

/* What the reader has seen: the header (always), the end line and the limit line (NULL when
 * not met yet / absent). Borrowed: valid until trace_reader_close. */
json_t *trace_reader_header(const struct trace_reader *rd);
json_t *trace_reader_trailer(const struct trace_reader *rd);
json_t *trace_reader_limit(const struct trace_reader *rd);

/* 1 when the file ended inside a line or a zstd frame (the recording was cut short). */
int trace_reader_cut(const struct trace_reader *rd);

/* 1 for a zstd file; the file's size in bytes; the bytes read from it so far. */
int trace_reader_compressed(const struct trace_reader *rd);
uint64_t trace_reader_size(const struct trace_reader *rd);
uint64_t trace_reader_offset(const struct trace_reader *rd);

/* Read a trace, calling fn for each event in file order (names may be NULL). 0, or -1 with
 * the first bad line named in err. *header and *trailer are new references (the trailer is
 * NULL when the trace was cut short). */
typedef void (*trace_event_fn)(const struct ev *e, const char *task_name, const char *obj_name,
                               void *arg);
int trace_read(const char *path, trace_event_fn fn, void *arg, json_t **header, json_t **trailer,
               char *err, size_t n);

/* trace_read applying every event to m (initialised by the caller). */
int trace_replay(const char *path, struct model *m, json_t **header, json_t **trailer, char *err,
                 size_t n);

/* ---- export ---- */

struct trace_export_stats {
    uint64_t events;   /* events of the trace, each exported as an instant */
    uint64_t spans;    /* state intervals */
    uint64_t counters; /* object values */
    int complete;      /* the trace had its end line */
    int limited;       /* the recording had stopped at its size limit */
    int cut;           /* the file ended inside a line or frame */
};

/* Convert a trace into Chrome/Perfetto JSON (trace events), streaming: memory does not grow
 * with the trace (only with the tasks and objects it names). Every event becomes an instant
 * whose args carry its index n in the trace. out may be a pipe. 0, or -1 with err (then a
 * regular output file is removed). */
int trace_export_perfetto(const char *in, const char *out, struct trace_export_stats *st, char *err,
                          size_t n);

#endif
