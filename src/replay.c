/*
 * replay.c - a recorded run held in memory and played back into a model.
 */
#include "replay.h"

#include "snapshot.h"
#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct loading {
    struct replay *rp;
    int oom;
};

static void keep(const struct ev *e, const char *task_name, const char *obj_name, void *arg)
{
    struct loading *ld = arg;
    struct replay *rp = ld->rp;
    if (ld->oom)
        return;
    if (rp->n == rp->cap) {
        size_t ncap = rp->cap ? rp->cap * 2 : 4096;
        struct replay_rec *p = realloc(rp->recs, ncap * sizeof(*p));
        if (!p) {
            ld->oom = 1;
            return;
        }
        rp->recs = p;
        rp->cap = ncap;
    }
    struct replay_rec *r = &rp->recs[rp->n++];
    r->e = *e;
    snprintf(r->task, sizeof(r->task), "%s", task_name ? task_name : "");
    snprintf(r->obj, sizeof(r->obj), "%s", obj_name ? obj_name : "");
}

/* A trace is a file or a pipe: not a directory, not a device (/dev/zero never ends a line). */
static int readable_kind(const char *path, char *err, size_t n)
{
    struct stat st;
    if (stat(path, &st) < 0 || S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode))
        return 0; /* a missing file is reported by the reader */
    snprintf(err, n, "%s is a %s, not a trace file (ipcscope run ID --record FILE makes one)", path,
             S_ISDIR(st.st_mode) ? "directory" : "device or socket");
    return -1;
}

/* The header must say which scenario with which parameters, or nothing can be shown. */
static int header_usable(const struct replay *rp, const char *path, char *err, size_t n)
{
    if (json_is_object(json_object_get(rp->header, "params")))
        return 0;
    snprintf(err, n,
             "%s: line 1 has no \"params\" object; an ipcscope trace header names its "
             "scenario and parameters",
             path);
    return -1;
}

int replay_load(struct replay **out, const char *path, char *err, size_t n)
{
    if (readable_kind(path, err, n) < 0)
        return -1;
    struct replay *rp = calloc(1, sizeof(*rp));
    if (!rp) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    rp->hist_cap = 8192;
    rp->span_cap = 1u << 18;
    struct loading ld = {.rp = rp};
    if (trace_read(path, keep, &ld, &rp->header, &rp->trailer, err, n) < 0) {
        replay_free(rp);
        return -1;
    }
    if (ld.oom) {
        snprintf(err, n, "out of memory reading %s (%zu events)", path, rp->n);
        replay_free(rp);
        return -1;
    }
    if (header_usable(rp, path, err, n) < 0) {
        replay_free(rp);
        return -1;
    }
    *out = rp;
    return 0;
}

void replay_free(struct replay *rp)
{
    if (!rp)
        return;
    free(rp->recs);
    json_decref(rp->header);
    json_decref(rp->trailer);
    free(rp);
}

static void apply_rec(struct model *m, const struct replay_rec *r)
{
    model_apply(m, &r->e, r->task[0] ? r->task : NULL, r->obj[0] ? r->obj : NULL);
}

void replay_seek(struct replay *rp, struct model *m, size_t k)
{
    if (k > rp->n)
        k = rp->n;
    if (k < rp->cursor) {
        uint64_t dropped = m->dropped;
        model_free(m);
        if (model_init(m, rp->hist_cap, rp->span_cap) < 0) {
            rp->cursor = 0;
            return; /* an empty model: the next seek tries again */
        }
        m->dropped = dropped;
        rp->cursor = 0;
    }
    for (; rp->cursor < k; rp->cursor++)
        apply_rec(m, &rp->recs[rp->cursor]);
}

static int is_step(const struct replay_rec *r)
{
    return r->e.src == EV_SRC_INSTR && r->e.kind != EV_GATE; /* arriving at the gate is no action */
}

size_t replay_next_step(const struct replay *rp, size_t from)
{
    for (size_t i = from; i < rp->n; i++)
        if (is_step(&rp->recs[i]))
            return i + 1;
    return rp->n;
}

size_t replay_prev_step(const struct replay *rp, size_t from)
{
    if (from > rp->n)
        from = rp->n;
    for (size_t i = from >= 2 ? from - 1 : 0; i-- > 0;)
        if (is_step(&rp->recs[i]))
            return i + 1;
    return 0;
}

size_t replay_upto(const struct replay *rp, size_t from, uint64_t t)
{
    size_t i = from;
    while (i < rp->n && rp->recs[i].e.t <= t)
        i++;
    return i;
}

uint64_t replay_time_at(const struct replay *rp, size_t pos)
{
    return pos && pos <= rp->n ? rp->recs[pos - 1].e.t : 0;
}

json_t *replay_snapshot(const json_t *header, const json_t *trailer, struct model *m)
{
    json_t *trl = (json_t *)trailer, *hdr = (json_t *)header;
    m->dropped = trl ? (uint64_t)json_integer_value(json_object_get(trl, "dropped")) : 0;
    uint64_t dur_ms = trl ? (uint64_t)json_integer_value(json_object_get(trl, "duration_ms"))
                          : (m->t_last - m->t_first) / 1000000ull;
    json_t *snap =
        json_pack("{s:O, s:O, s:I}", "scenario", json_object_get(hdr, "scenario"), "params",
                  json_object_get(hdr, "params"), "duration_ms", (json_int_t)dur_ms);
    json_object_set_new(snap, "sources",
                        trl ? json_incref(json_object_get(trl, "sources"))
                            : json_pack("{s:b}", "instr", 1));
    snapshot_fill(snap, m, m->t_last);
    if (trl)
        json_object_set(snap, "leaks", json_object_get(trl, "leaks"));
    json_object_set_new(snap, "complete_trace", json_boolean(trl != NULL));
    return snap;
}
