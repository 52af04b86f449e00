/*
 * trace_export.c - a trace as Chrome/Perfetto trace events (JSON), streamed in one pass.
 *
 * Every event of the trace becomes an instant on its thread (args.n is its index in the
 * trace), each operation on an object also a counter value on the "objects" process, and
 * each task's state changes become complete ("X") intervals, closed when the next one
 * starts. Events are applied to a model as they are read and written out at once, so memory
 * stays the same whatever the trace's length: only the tasks and objects it names are kept.
 * The output has one trace event per line, so it can also be read as a stream.
 */
#define _GNU_SOURCE
#include "trace.h"
#include "trace_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_BYTES (1u << 20)
#define EVENT_BYTES 2048 /* more than the longest trace event written (names escaped 6x) */
#define OBJECTS_PID 0    /* the pseudo process that holds the object counters */

struct out {
    int fd;
    char *buf;
    size_t len;
    int err; /* errno of the first failed write */
    int first;
};

struct open_span {
    uint64_t t;
    uint8_t state, open;
};

struct exporter {
    struct out out;
    struct model m;
    struct open_span *open; /* per model task */
    size_t open_cap;
    uint64_t *counter_t; /* per object: the stamp of its last counter value */
    size_t counter_cap;
    struct trace_export_stats *st;
};

static void out_flush(struct out *o)
{
    if (o->len && !o->err) {
        int rc = trace_write_all(o->fd, o->buf, o->len);
        if (rc)
            o->err = -rc;
    }
    o->len = 0;
}

/* Room for one trace event, after the comma that separates it from the last one. */
static struct tbuf begin(struct out *o)
{
    if (o->len + EVENT_BYTES > OUT_BYTES)
        out_flush(o);
    struct tbuf b = {.p = o->buf + o->len, .cap = EVENT_BYTES};
    if (!o->first)
        TBUF_LIT(&b, ",\n");
    o->first = 0;
    return b;
}

static void end(struct out *o, const struct tbuf *b)
{
    o->len += b->n;
}

/* ---- the trace events ---- */

static void span_event(struct exporter *x, uint32_t task, uint64_t until)
{
    const struct open_span *s = &x->open[task];
    const struct model_task *t = &x->m.tasks[task];
    if (!s->open || s->state == TS_REAPED)
        return;
    struct tbuf b = begin(&x->out);
    TBUF_LIT(&b, "{\"name\":");
    const char *state = task_state_name(s->state);
    tbuf_str(&b, state ? state : "?", TRACE_NAME_BYTES);
    TBUF_LIT(&b, ",\"ph\":\"X\",\"ts\":");
    tbuf_us(&b, s->t);
    TBUF_KEY(&b, "dur");
    tbuf_us(&b, until > s->t ? until - s->t : 0);
    TBUF_KEY(&b, "pid");
    tbuf_int(&b, t->pid);
    TBUF_KEY(&b, "tid");
    tbuf_int(&b, t->tid);
    TBUF_LIT(&b, "}");
    end(&x->out, &b);
    x->st->spans++;
}

static int grow_open(struct exporter *x, size_t need)
{
    if (need <= x->open_cap)
        return 0;
    size_t cap = x->open_cap ? x->open_cap * 2 : 64;
    while (cap < need)
        cap *= 2;
    struct open_span *p = realloc(x->open, cap * sizeof(*p));
    if (!p)
        return -1;
    memset(p + x->open_cap, 0, (cap - x->open_cap) * sizeof(*p));
    x->open = p;
    x->open_cap = cap;
    return 0;
}

/* The state changes the last event added to the model's span ring (from ring position from):
 * each closes its task's open interval and opens the next. */
static int new_spans(struct exporter *x, size_t from)
{
    struct model *m = &x->m;
    size_t to = (m->spans_head + m->spans_len) % m->spans_cap;
    if (grow_open(x, m->ntasks) < 0)
        return -1;
    for (size_t i = from; i != to; i = (i + 1) % m->spans_cap) {
        const struct model_span *s = &m->spans[i];
        if (s->task >= m->ntasks)
            continue;
        span_event(x, s->task, s->t);
        x->open[s->task] = (struct open_span){.t = s->t, .state = s->state, .open = 1};
    }
    return 0;
}

static const char *obj_name(const struct exporter *x, const struct trace_rec *r)
{
    if (r->e.obj < x->m.nobjs && x->m.objs[r->e.obj].name[0])
        return x->m.objs[r->e.obj].name;
    return r->has_obj ? r->obj : "?";
}

static void instant(struct exporter *x, const struct trace_rec *r)
{
    const struct ev *e = &r->e;
    struct tbuf b = begin(&x->out);
    char name[TRACE_NAME_BUF * 2];
    if (e->obj != EV_NO_OBJ)
        snprintf(name, sizeof(name), "%s(%s)", ev_kind_name(e->kind), obj_name(x, r));
    else
        snprintf(name, sizeof(name), "%s", ev_kind_name(e->kind));
    TBUF_LIT(&b, "{\"name\":");
    tbuf_str(&b, name, sizeof(name));
    TBUF_LIT(&b, ",\"cat\":");
    tbuf_str(&b, ev_src_name(e->src), TRACE_NAME_BYTES);
    TBUF_LIT(&b, ",\"ph\":\"i\",\"s\":\"t\",\"ts\":");
    tbuf_us(&b, e->t);
    TBUF_KEY(&b, "pid");
    tbuf_int(&b, e->pid);
    TBUF_KEY(&b, "tid");
    tbuf_int(&b, e->tid);
    TBUF_LIT(&b, ",\"args\":{\"n\":");
    tbuf_int(&b, (long long)x->st->events);
    if (e->obj != EV_NO_OBJ) {
        TBUF_KEY(&b, "seq");
        tbuf_int(&b, e->seq);
    }
    if (e->flags & EVF_TEXT) {
        TBUF_KEY(&b, "text");
        tbuf_str(&b, e->text, EV_TEXT_MAX);
    } else {
        TBUF_KEY(&b, "val");
        tbuf_int(&b, e->val);
        TBUF_KEY(&b, "item");
        tbuf_int(&b, e->item);
        TBUF_KEY(&b, "aux");
        tbuf_int(&b, e->aux);
    }
    TBUF_LIT(&b, "}}");
    end(&x->out, &b);
    x->st->events++;
}

/* The stamp for a counter value of object id at t: never before its previous one (a counter
 * track goes forward; two CPUs' clocks may disagree by a microsecond or two). */
static uint64_t counter_stamp(struct exporter *x, uint32_t id, uint64_t t)
{
    if (id >= x->counter_cap) {
        size_t cap = x->counter_cap ? x->counter_cap : 64;
        while (cap <= id)
            cap *= 2;
        uint64_t *p = realloc(x->counter_t, cap * sizeof(*p));
        if (!p)
            return t;
        memset(p + x->counter_cap, 0, (cap - x->counter_cap) * sizeof(*p));
        x->counter_t = p;
        x->counter_cap = cap;
    }
    if (t < x->counter_t[id])
        t = x->counter_t[id];
    return x->counter_t[id] = t;
}

/* The value an operation left its object with, on the objects' process; none for an
 * operation the model found older than one it had applied (seq order, see model.c): its
 * value is stale, and drawn after the newer one it would end the track wrong. */
static void counter(struct exporter *x, const struct trace_rec *r)
{
    const struct ev *e = &r->e;
    if (e->obj == EV_NO_OBJ || (e->flags & EVF_TEXT) ||
        (!model_event_touches_object(e->kind) && e->kind != EV_OBJ_CREATE))
        return;
    const struct model_obj *o = model_obj(&x->m, e->obj);
    if (o && e->kind != EV_OBJ_CREATE && !model_event_is_reading(e) && o->last_seq != e->seq)
        return;
    struct tbuf b = begin(&x->out);
    TBUF_LIT(&b, "{\"name\":");
    tbuf_str(&b, obj_name(x, r), TRACE_NAME_BYTES);
    TBUF_LIT(&b, ",\"ph\":\"C\",\"ts\":");
    tbuf_us(&b, counter_stamp(x, e->obj, e->t));
    TBUF_KEY(&b, "pid");
    tbuf_int(&b, OBJECTS_PID);
    TBUF_LIT(&b, ",\"args\":{\"value\":");
    tbuf_int(&b, e->val);
    TBUF_LIT(&b, "}}");
    end(&x->out, &b);
    x->st->counters++;
}

static void metadata(struct exporter *x, const char *what, int pid, int tid, const char *name)
{
    struct tbuf b = begin(&x->out);
    TBUF_LIT(&b, "{\"name\":");
    tbuf_str(&b, what, TRACE_NAME_BYTES);
    TBUF_LIT(&b, ",\"ph\":\"M\",\"pid\":");
    tbuf_int(&b, pid);
    TBUF_KEY(&b, "tid");
    tbuf_int(&b, tid);
    TBUF_LIT(&b, ",\"args\":{\"name\":");
    tbuf_str(&b, name, TRACE_NAME_BYTES);
    TBUF_LIT(&b, "}}");
    end(&x->out, &b);
}

/* After the last event: close every open interval, name every thread. */
static void finish_events(struct exporter *x)
{
    for (size_t k = 0; k < x->m.ntasks && k < x->open_cap; k++)
        span_event(x, (uint32_t)k, x->m.t_last);
    for (size_t k = 0; k < x->m.ntasks; k++) {
        const struct model_task *t = &x->m.tasks[k];
        metadata(x, "thread_name", t->pid, t->tid, t->name);
    }
    metadata(x, "process_name", OBJECTS_PID, OBJECTS_PID, "objects (ipcscope)");
}

/* ---- the pass ---- */

static int export_events(struct exporter *x, struct trace_reader *rd, char *err, size_t n)
{
    struct trace_rec *r = malloc(sizeof(*r));
    int rc;
    if (!r) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    while ((rc = trace_reader_next(rd, r, err, n)) == 1 && !x->out.err) {
        struct model *m = &x->m;
        size_t from = (m->spans_head + m->spans_len) % m->spans_cap;
        model_apply(m, &r->e, r->has_task ? r->task : NULL, r->has_obj ? r->obj : NULL);
        if (new_spans(x, from) < 0) {
            snprintf(err, n, "out of memory after %llu events", (unsigned long long)x->st->events);
            rc = -1;
            break;
        }
        instant(x, r);
        counter(x, r);
    }
    free(r);
    return rc;
}

/* Open the output, refusing the trace itself. *regular: it is a regular file (removed on
 * failure). */
static int open_out(const char *in, const char *out, int *regular, char *err, size_t n)
{
    struct stat si, so;
    if (stat(in, &si) == 0 && stat(out, &so) == 0 && si.st_dev == so.st_dev &&
        si.st_ino == so.st_ino) {
        snprintf(err, n, "%s is the trace itself: name another file for --perfetto", out);
        return -1;
    }
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(err, n, "cannot write %s: %s", out, strerror(errno));
        return -1;
    }
    *regular = fstat(fd, &so) == 0 && S_ISREG(so.st_mode);
    return fd;
}

int trace_export_perfetto(const char *in, const char *out, struct trace_export_stats *st, char *err,
                          size_t n)
{
    struct exporter x = {.out = {.fd = -1, .first = 1}, .st = st};
    struct trace_reader *rd = NULL;
    int regular = 0, rc = -1;
    memset(st, 0, sizeof(*st));
    if (trace_reader_open(&rd, in, err, n) < 0)
        return -1;
    x.out.buf = malloc(OUT_BYTES);
    if (!x.out.buf || model_init(&x.m, 1, 64) < 0) {
        snprintf(err, n, "out of memory");
        goto cleanup;
    }
    if ((x.out.fd = open_out(in, out, &regular, err, n)) < 0)
        goto cleanup;
    static const char head[] = "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
    memcpy(x.out.buf, head, sizeof(head) - 1);
    x.out.len = sizeof(head) - 1;
    if (export_events(&x, rd, err, n) < 0)
        goto cleanup;
    finish_events(&x);
    static const char tail[] = "\n]}\n";
    if (x.out.len + sizeof(tail) > OUT_BYTES)
        out_flush(&x.out);
    memcpy(x.out.buf + x.out.len, tail, sizeof(tail) - 1);
    x.out.len += sizeof(tail) - 1;
    out_flush(&x.out);
    if (close(x.out.fd) < 0 && !x.out.err)
        x.out.err = errno;
    x.out.fd = -1;
    if (x.out.err) {
        snprintf(err, n, "cannot write %s: %s", out, strerror(x.out.err));
        goto cleanup;
    }
    st->complete = trace_reader_trailer(rd) != NULL;
    st->limited = trace_reader_limit(rd) != NULL;
    st->cut = trace_reader_cut(rd);
    rc = 0;
cleanup:
    if (x.out.fd >= 0)
        close(x.out.fd);
    if (rc < 0 && regular)
        unlink(out);
    free(x.out.buf);
    free(x.open);
    free(x.counter_t);
    model_free(&x.m);
    trace_reader_close(rd);
    return rc;
}
