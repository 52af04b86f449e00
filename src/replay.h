/*
 * replay.h - a recorded run played back (`ipcscope replay FILE`).
 *
 * The trace's events are held in memory in file order (the order the conductor applied
 * them live); the model shows the first `cursor` of them. Going forward applies more; going
 * back rebuilds the model from the start, which is cheap (a hundred thousand events apply
 * in a few milliseconds). A step is one instrumented action, with the kernel's events that
 * came before it.
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

struct replay {
    struct replay_rec *recs;
    size_t n, cap;
    size_t cursor;             /* records applied to the model */
    json_t *header, *trailer;  /* the trace's first and last lines (trailer NULL: cut short) */
    size_t hist_cap, span_cap; /* the model's sizes, to rebuild it alike */
};

/* Read the trace at path. 0, or -1 with the first bad line named in err. */
int replay_load(struct replay **out, const char *path, char *err, size_t n);
void replay_free(struct replay *rp); /* accepts NULL */

/* Make m hold exactly the first k records (k is clamped to n). Going back rebuilds m. */
void replay_seek(struct replay *rp, struct model *m, size_t k);

/* The position after the next step from position from (n when none is left), and after the
 * step before the last one applied at position from (0 at the start). */
size_t replay_next_step(const struct replay *rp, size_t from);
size_t replay_prev_step(const struct replay *rp, size_t from);

/* The position once every record up to time t (ns since the start) has played, from from. */
size_t replay_upto(const struct replay *rp, size_t from, uint64_t t);

/* The time of the last record applied at position pos (0 at the start). */
uint64_t replay_time_at(const struct replay *rp, size_t pos);

/* The final snapshot of a replayed model (the contract's keys), from the trace's header and
 * end line: what `ipcscope replay FILE --headless --json` prints. */
json_t *replay_snapshot(const json_t *header, const json_t *trailer, struct model *m);

#endif
