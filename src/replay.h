/*
 * replay.h - a recorded run played back (`ipcscope replay FILE`), in bounded memory.
 *
 * Loading reads the trace once, keeping an index (where every block of 4096 events starts in
 * the file) and checkpoints (copies of the model every few blocks), never the events
 * themselves. The model shows the first `cursor` events: going forward applies more; going
 * back or far ahead restores the nearest checkpoint and applies the rest, which is as fast
 * at the end of a 20-million-event trace as at its start. A step is one instrumented action,
 * with the kernel's events that came before it.
 */
#ifndef IPCSCOPE_REPLAY_H
#define IPCSCOPE_REPLAY_H

#include "event.h"
#include "model.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct replay_rec {
    struct ev e;
    char task[MODEL_NAME_MAX]; /* "" when the line had none */
    char obj[MODEL_NAME_MAX];
};

struct replay_index;

struct replay {
    size_t n;                  /* events in the trace */
    size_t cursor;             /* events applied to the model */
    json_t *header, *trailer;  /* the trace's first and last lines (trailer NULL: cut short) */
    json_t *limit;             /* the line saying the recording reached its limit, or NULL */
    int cut;                   /* the file ended inside a line or a compressed frame */
    int32_t conductor;         /* pid of the recorded conductor (slot 0), 0 when unknown */
    size_t hist_cap, span_cap; /* the model's sizes, to rebuild it alike */
    struct replay_index *ix;   /* private: the file, its index, checkpoints and cached blocks */
};

/* Read the trace at path (plain or zstd) and index it. 0, or -1 with the first bad line
 * named in err. */
int replay_load(struct replay **out, const char *path, char *err, size_t n);

/* The same, calling progress (when not NULL) now and then with the share of the file read
 * (0..1), for traces that take seconds to index. */
typedef void (*replay_progress_fn)(double done, void *arg);
int replay_load_progress(struct replay **out, const char *path, replay_progress_fn progress,
                         void *arg, char *err, size_t n);
void replay_free(struct replay *rp); /* accepts NULL */

/* Make m hold exactly the first k events (k is clamped to n): what a replay from the start
 * would show, history included. */
void replay_seek(struct replay *rp, struct model *m, size_t k);

/* Event i (0-based), read back from the file; NULL past the end or when the file can no
 * longer be read (replay_error says why). Valid until the next replay call. */
const struct replay_rec *replay_rec_at(struct replay *rp, size_t i);

/* The position after the next step from position from (n when none is left), and after the
 * step before the last one applied at position from (0 at the start). */
size_t replay_next_step(struct replay *rp, size_t from);
size_t replay_prev_step(struct replay *rp, size_t from);

/* The position once every event up to time t (ns since the start) has played, from from. */
size_t replay_upto(struct replay *rp, size_t from, uint64_t t);

/* The time of the last event applied at position pos (0 at the start). */
uint64_t replay_time_at(struct replay *rp, size_t pos);

/* "" or why the trace could not be read back (it changed or vanished after loading). */
const char *replay_error(const struct replay *rp);

/* Bytes the replay holds (index, checkpoints, cached blocks, buffers): for the benchmark. */
size_t replay_memory(const struct replay *rp);

/* The final snapshot of a replayed model (the contract's keys), from the trace's header and
 * end line: what `ipcscope replay FILE --headless --json` prints. */
json_t *replay_snapshot(const json_t *header, const json_t *trailer, struct model *m);

#endif
