/*
 * replay.c - a recorded run played back into a model, in bounded memory.
 *
 * Loading reads the trace once, applying every event to a model; every BLOCK events it notes
 * where the block starts in the file, and every few blocks it keeps a checkpoint: a copy of
 * that model without its history. Going to event k restores the last checkpoint at least
 * hist_cap events before k and applies the events from there, so the model and the history
 * the panels show are what a replay from the start would give. Blocks are read back from
 * the file on demand; a few stay cached. Checkpoints are thinned (every other one dropped)
 * to stay within a count and a byte budget, so memory does not grow with the trace.
 */
#include "replay.h"

#include "snapshot.h"
#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define BLOCK 4096
#define NCACHE 24               /* blocks cached: a checkpoint interval and the history before it */
#define CKPT_MAX 256            /* checkpoints at most; one more halves them */
#define CKPT_BUDGET (96u << 20) /* bytes of checkpoints at most */
#define CKPT_SPANS 4096         /* newest spans a checkpoint keeps, for the timeline */
#define CKPT_FIRST_EVERY 16     /* blocks between checkpoints at first: 65536 events */

struct block {
    struct trace_pos pos; /* where its first event's line starts */
    size_t lineno;
    size_t hist_before, khist_before; /* events before it in the model's two history rings */
};

struct ckpt {
    size_t at; /* the model holds the first `at` events */
    struct model m;
};

struct cached {
    size_t block;
    uint64_t used; /* for least-recently-used replacement */
    size_t n;
    struct replay_rec *recs; /* BLOCK records, NULL: slot unused */
};

struct replay_index {
    struct trace_reader *rd;
    size_t next_event; /* index of the event the reader returns next, SIZE_MAX: unknown */
    struct block *blocks;
    size_t nblocks, blocks_cap;
    struct ckpt *ckpts; /* in order of at */
    size_t nckpts;
    size_t every;                   /* blocks between checkpoints */
    size_t hist_count, khist_count; /* while loading: events for each history ring so far */
    size_t ckpt_bytes;
    struct cached cache[NCACHE];
    uint64_t clock;
    char error[300];
};

/* src cut to fit dst (as snprintf would, without its warning). */
static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void to_rec(const struct trace_rec *t, struct replay_rec *r)
{
    r->e = t->e;
    copy_name(r->task, sizeof(r->task), t->task);
    copy_name(r->obj, sizeof(r->obj), t->obj);
}

static void apply_rec(struct model *m, const struct replay_rec *r)
{
    model_apply(m, &r->e, r->task[0] ? r->task : NULL, r->obj[0] ? r->obj : NULL);
}

/* ---- checkpoints ---- */

/* Every task's state opens the kept span history, so the timeline can draw each lane from
 * the oldest kept span on even when the task's last change is older. */
static int open_lanes(struct model *ck)
{
    size_t extra = 0, len = ck->spans_len;
    uint64_t t0 = len ? ck->spans[0].t : ck->t_last;
    unsigned char *seen = calloc(ck->ntasks ? ck->ntasks : 1, 1);
    if (!seen)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (ck->spans[i].task < ck->ntasks)
            seen[ck->spans[i].task] = 1;
    for (size_t k = 0; k < ck->ntasks; k++)
        extra += !seen[k];
    struct model_span *s = malloc((len + extra + 1) * sizeof(*s));
    if (!s) {
        free(seen);
        return -1;
    }
    size_t j = 0;
    for (size_t k = 0; k < ck->ntasks; k++)
        if (!seen[k])
            s[j++] = (struct model_span){.t = t0, .task = (uint32_t)k, .state = ck->tasks[k].state};
    memcpy(s + j, ck->spans, len * sizeof(*s));
    free(ck->spans);
    free(seen);
    ck->spans = s;
    ck->spans_len = ck->spans_cap = len + extra;
    ck->spans_head = 0;
    if (!ck->spans_cap)
        ck->spans_cap = 1;
    return 0;
}

/* Keep every other checkpoint when there are too many or they take too much memory. */
static void thin(struct replay_index *ix)
{
    while (ix->nckpts > CKPT_MAX || ix->ckpt_bytes > CKPT_BUDGET) {
        size_t j = 0;
        ix->every *= 2;
        ix->ckpt_bytes = 0;
        for (size_t i = 0; i < ix->nckpts; i++) {
            struct ckpt *c = &ix->ckpts[i];
            if ((c->at / BLOCK) % ix->every) {
                model_free(&c->m);
                continue;
            }
            ix->ckpt_bytes += model_bytes(&c->m);
            ix->ckpts[j++] = *c;
        }
        ix->nckpts = j;
    }
}

static int checkpoint(struct replay_index *ix, const struct model *m, size_t at)
{
    struct ckpt *p = realloc(ix->ckpts, (ix->nckpts + 1) * sizeof(*p));
    if (!p)
        return -1;
    ix->ckpts = p;
    struct ckpt *c = &p[ix->nckpts];
    c->at = at;
    if (model_copy(&c->m, m, 1, CKPT_SPANS) < 0)
        return -1;
    if (open_lanes(&c->m) < 0) {
        model_free(&c->m);
        return -1;
    }
    ix->nckpts++;
    ix->ckpt_bytes += model_bytes(&c->m);
    thin(ix);
    return 0;
}

/* Events for each history ring before block boundary `at` (at: a multiple of BLOCK). */
static void ring_counts(const struct replay_index *ix, size_t at, size_t *hist, size_t *khist)
{
    size_t b = at / BLOCK;
    if (b < ix->nblocks) {
        *hist = ix->blocks[b].hist_before;
        *khist = ix->blocks[b].khist_before;
    } else {
        *hist = ix->hist_count;
        *khist = ix->khist_count;
    }
}

/* The latest checkpoint from which replaying up to k fills both history rings as a replay
 * from the start would (each ring sees at least cap of its events), NULL: the start. */
static const struct ckpt *ckpt_for(const struct replay_index *ix, size_t k, size_t cap)
{
    size_t h_k, kh_k;
    ring_counts(ix, k - k % BLOCK, &h_k, &kh_k); /* a lower bound at k */
    for (size_t i = ix->nckpts; i-- > 0;) {
        const struct ckpt *c = &ix->ckpts[i];
        if (c->at > k)
            continue;
        size_t h_c, kh_c;
        ring_counts(ix, c->at, &h_c, &kh_c);
        if (h_k - h_c >= cap && kh_k - kh_c >= cap)
            return c;
    }
    return NULL;
}

/* ---- loading ---- */

static int add_block(struct replay_index *ix, const struct trace_rec *r)
{
    if (ix->nblocks == ix->blocks_cap) {
        size_t cap = ix->blocks_cap ? ix->blocks_cap * 2 : 256;
        struct block *b = realloc(ix->blocks, cap * sizeof(*b));
        if (!b)
            return -1;
        ix->blocks = b;
        ix->blocks_cap = cap;
    }
    ix->blocks[ix->nblocks++] = (struct block){.pos = r->pos,
                                               .lineno = r->lineno,
                                               .hist_before = ix->hist_count,
                                               .khist_before = ix->khist_count};
    return 0;
}

/* One event of the loading pass: index it, checkpoint before it when due, apply it. */
static int load_one(struct replay *rp, struct model *m, const struct trace_rec *t)
{
    struct replay_index *ix = rp->ix;
    if (rp->n % BLOCK == 0) {
        if (add_block(ix, t) < 0)
            return -1;
        size_t b = rp->n / BLOCK;
        if (b && b % ix->every == 0 && checkpoint(ix, m, rp->n) < 0)
            return -1;
    }
    if (!rp->conductor && t->e.kind == EV_TASK_START && t->e.task == 0)
        rp->conductor = t->e.pid;
    struct replay_rec r;
    to_rec(t, &r);
    apply_rec(m, &r);
    if (model_is_sched(t->e.kind))
        ix->khist_count++;
    else
        ix->hist_count++;
    rp->n++;
    return 0;
}

static int load_all(struct replay *rp, replay_progress_fn progress, void *arg, char *err, size_t n)
{
    struct replay_index *ix = rp->ix;
    struct model m;
    struct trace_rec *t = malloc(sizeof(*t));
    if (!t || model_init(&m, 1, CKPT_SPANS) < 0) {
        free(t);
        snprintf(err, n, "out of memory");
        return -1;
    }
    int rc;
    uint64_t size = trace_reader_size(ix->rd);
    while ((rc = trace_reader_next(ix->rd, t, err, n)) == 1) {
        if (load_one(rp, &m, t) < 0) {
            snprintf(err, n, "out of memory after %zu events", rp->n);
            rc = -1;
            break;
        }
        if (progress && size && rp->n % (1u << 20) == 0)
            progress((double)trace_reader_offset(ix->rd) / (double)size, arg);
    }
    model_free(&m);
    free(t);
    ix->next_event = SIZE_MAX;
    return rc;
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
    return replay_load_progress(out, path, NULL, NULL, err, n);
}

int replay_load_progress(struct replay **out, const char *path, replay_progress_fn progress,
                         void *arg, char *err, size_t n)
{
    if (readable_kind(path, err, n) < 0)
        return -1;
    struct replay *rp = calloc(1, sizeof(*rp));
    struct replay_index *ix = calloc(1, sizeof(*ix));
    if (!rp || !ix) {
        free(rp);
        free(ix);
        snprintf(err, n, "out of memory");
        return -1;
    }
    rp->ix = ix;
    rp->hist_cap = 8192;
    rp->span_cap = 1u << 18;
    ix->every = CKPT_FIRST_EVERY;
    if (trace_reader_open(&ix->rd, path, err, n) < 0 || load_all(rp, progress, arg, err, n) < 0) {
        replay_free(rp);
        return -1;
    }
    rp->header = json_incref(trace_reader_header(ix->rd));
    rp->trailer = json_incref(trace_reader_trailer(ix->rd));
    rp->limit = json_incref(trace_reader_limit(ix->rd));
    rp->cut = trace_reader_cut(ix->rd);
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
    struct replay_index *ix = rp->ix;
    if (ix) {
        trace_reader_close(ix->rd);
        for (size_t i = 0; i < ix->nckpts; i++)
            model_free(&ix->ckpts[i].m);
        free(ix->ckpts);
        free(ix->blocks);
        for (int i = 0; i < NCACHE; i++)
            free(ix->cache[i].recs);
        free(ix);
    }
    json_decref(rp->header);
    json_decref(rp->trailer);
    json_decref(rp->limit);
    free(rp);
}

/* ---- blocks read back ---- */

static int read_block(struct replay *rp, struct cached *c, size_t b)
{
    struct replay_index *ix = rp->ix;
    size_t first = b * BLOCK, count = rp->n - first < BLOCK ? rp->n - first : BLOCK;
    char err[256] = "";
    struct trace_rec t;
    if (ix->next_event != first &&
        trace_reader_seek(ix->rd, ix->blocks[b].pos, ix->blocks[b].lineno, err, sizeof(err)) < 0)
        goto fail;
    ix->next_event = SIZE_MAX;
    for (size_t i = 0; i < count; i++) {
        int rc = trace_reader_next(ix->rd, &t, err, sizeof(err));
        if (rc != 1)
            goto fail;
        to_rec(&t, &c->recs[i]);
    }
    ix->next_event = first + count;
    c->block = b;
    c->n = count;
    return 0;
fail:
    snprintf(ix->error, sizeof(ix->error),
             "the trace cannot be read back (it changed after it was "
             "loaded?): %s",
             err[0] ? err : "it ends early");
    return -1;
}

static struct cached *block_get(struct replay *rp, size_t b)
{
    struct replay_index *ix = rp->ix;
    struct cached *lru = &ix->cache[0];
    for (int i = 0; i < NCACHE; i++) {
        struct cached *c = &ix->cache[i];
        if (c->recs && c->block == b) {
            c->used = ++ix->clock;
            return c;
        }
        if (!c->recs || (lru->recs && c->used < lru->used))
            lru = c;
    }
    if (ix->error[0] || b >= ix->nblocks)
        return NULL;
    if (!lru->recs && !(lru->recs = malloc(BLOCK * sizeof(*lru->recs)))) {
        snprintf(ix->error, sizeof(ix->error), "out of memory");
        return NULL;
    }
    if (read_block(rp, lru, b) < 0) {
        free(lru->recs);
        lru->recs = NULL;
        return NULL;
    }
    lru->used = ++ix->clock;
    return lru;
}

const struct replay_rec *replay_rec_at(struct replay *rp, size_t i)
{
    if (i >= rp->n)
        return NULL;
    struct cached *c = block_get(rp, i / BLOCK);
    return c && i % BLOCK < c->n ? &c->recs[i % BLOCK] : NULL;
}

/* ---- moving ---- */

/* Apply events from the cursor up to k. */
static void apply_upto(struct replay *rp, struct model *m, size_t k)
{
    while (rp->cursor < k) {
        size_t b = rp->cursor / BLOCK;
        struct cached *c = block_get(rp, b);
        if (!c)
            return;
        size_t i = rp->cursor - b * BLOCK, end = k - b * BLOCK < c->n ? k - b * BLOCK : c->n;
        if (i >= end)
            return;
        for (; i < end; i++)
            apply_rec(m, &c->recs[i]);
        rp->cursor = b * BLOCK + end;
    }
}

/* Put the model back to checkpoint c (NULL: the start). */
static void restore(struct replay *rp, struct model *m, const struct ckpt *c)
{
    uint64_t dropped = m->dropped;
    model_free(m);
    int rc = c ? model_copy(m, &c->m, rp->hist_cap, rp->span_cap) : -1;
    if (rc < 0 && model_init(m, rp->hist_cap, rp->span_cap) < 0) {
        rp->cursor = 0;
        return; /* an empty model: the next seek tries again */
    }
    m->dropped = dropped;
    rp->cursor = rc == 0 ? c->at : 0;
}

void replay_seek(struct replay *rp, struct model *m, size_t k)
{
    struct replay_index *ix = rp->ix;
    if (k > rp->n)
        k = rp->n;
    if (k < rp->cursor || k - rp->cursor > ix->every * BLOCK + rp->hist_cap) {
        const struct ckpt *c = ckpt_for(ix, k, rp->hist_cap);
        size_t at = c ? c->at : 0;
        if (k < rp->cursor || at > rp->cursor)
            restore(rp, m, c);
    }
    apply_upto(rp, m, k);
}

static int is_step(const struct replay_rec *r)
{
    return r->e.src == EV_SRC_INSTR && r->e.kind != EV_GATE; /* arriving at the gate is no action */
}

size_t replay_next_step(struct replay *rp, size_t from)
{
    for (size_t i = from; i < rp->n; i++) {
        const struct replay_rec *r = replay_rec_at(rp, i);
        if (!r || is_step(r))
            return i + 1;
    }
    return rp->n;
}

size_t replay_prev_step(struct replay *rp, size_t from)
{
    if (from > rp->n)
        from = rp->n;
    for (size_t i = from >= 2 ? from - 1 : 0; i-- > 0;) {
        const struct replay_rec *r = replay_rec_at(rp, i);
        if (!r || is_step(r))
            return i + 1;
    }
    return 0;
}

size_t replay_upto(struct replay *rp, size_t from, uint64_t t)
{
    size_t i = from;
    const struct replay_rec *r;
    while (i < rp->n && (r = replay_rec_at(rp, i)) && r->e.t <= t)
        i++;
    return i;
}

uint64_t replay_time_at(struct replay *rp, size_t pos)
{
    const struct replay_rec *r = pos && pos <= rp->n ? replay_rec_at(rp, pos - 1) : NULL;
    return r ? r->e.t : 0;
}

const char *replay_error(const struct replay *rp)
{
    return rp->ix->error;
}

size_t replay_memory(const struct replay *rp)
{
    const struct replay_index *ix = rp->ix;
    size_t bytes = sizeof(*rp) + sizeof(*ix) + ix->ckpt_bytes +
                   ix->blocks_cap * sizeof(*ix->blocks) + ix->nckpts * sizeof(*ix->ckpts);
    for (int i = 0; i < NCACHE; i++)
        bytes += ix->cache[i].recs ? BLOCK * sizeof(struct replay_rec) : 0;
    return bytes;
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
    if (json_object_get(trl, "record_limit"))
        json_object_set(snap, "record_limit", json_object_get(trl, "record_limit"));
    return snap;
}
