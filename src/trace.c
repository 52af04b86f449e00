/*
 * trace.c - writing, replaying and exporting trace files (JSON Lines, via jansson).
 *
 * Writing and reading share one field list, so what record writes replay reads. Replay
 * checks every line and names the first bad one; it never trusts the file.
 */
#include "trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

FILE *trace_create(const char *path, const char *scenario, json_t *params, char *err, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, n, "cannot write trace %s: %s", path, strerror(errno));
        return NULL;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);

    json_t *hdr = json_pack("{s:i, s:s, s:O, s:s}", "ipcscope_trace", 1, "scenario", scenario,
                            "params", params ? params : json_object(), "started", when);
    json_dumpf(hdr, f, JSON_COMPACT);
    fputc('\n', f);
    json_decref(hdr);
    return f;
}

void trace_write_event(FILE *f, const struct ev *e, uint64_t t0, const char *task_name,
                       const char *obj_name)
{
    json_t *o = json_object();
    json_object_set_new(o, "t", json_integer((json_int_t)(e->t >= t0 ? e->t - t0 : 0)));
    json_object_set_new(o, "pid", json_integer(e->pid));
    json_object_set_new(o, "tid", json_integer(e->tid));
    json_object_set_new(o, "task", json_string(task_name ? task_name : ""));
    if (e->task != EV_NO_TASK)
        json_object_set_new(o, "slot", json_integer(e->task));
    json_object_set_new(o, "ev", json_string(ev_kind_name(e->kind)));
    json_object_set_new(o, "src", json_string(ev_src_name(e->src)));
    if (e->obj != EV_NO_OBJ) {
        json_object_set_new(o, "obj", json_string(obj_name ? obj_name : ""));
        json_object_set_new(o, "obj_id", json_integer(e->obj));
        json_object_set_new(o, "seq", json_integer(e->seq));
    }
    if (e->flags & EVF_TEXT) {
        json_object_set_new(o, "text",
                            json_stringn_nocheck(e->text, strnlen(e->text, EV_TEXT_MAX)));
    } else {
        json_object_set_new(o, "val", json_integer(e->val));
        json_object_set_new(o, "item", json_integer(e->item));
        json_object_set_new(o, "aux", json_integer(e->aux));
        if (e->extra)
            json_object_set_new(o, "extra", json_integer(e->extra));
    }
    if (e->kind == EV_OBJ_CREATE) {
        const char *kn = obj_kind_name((unsigned)e->aux);
        json_object_set_new(o, "kind", json_string(kn ? kn : "?"));
        json_object_set_new(o, "capacity", json_integer(e->item));
    } else if (e->kind == EV_TASK_START) {
        json_object_set_new(o, "kind", json_string(e->item == TK_THREAD ? "thread" : "process"));
        json_object_set_new(o, "ppid", json_integer(e->aux));
    }
    json_dumpf(o, f, JSON_COMPACT);
    fputc('\n', f);
    json_decref(o);
}

void trace_finish(FILE *f, json_t *trailer)
{
    if (!f)
        return;
    if (trailer) {
        json_object_set_new(trailer, "ipcscope_trace_end", json_integer(1));
        json_dumpf(trailer, f, JSON_COMPACT);
        fputc('\n', f);
        json_decref(trailer);
    }
    fclose(f);
}

/* ---- replay ---- */

static int get_int(json_t *o, const char *key, json_int_t *out, int required)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        *out = 0;
        return required ? -1 : 0;
    }
    if (!json_is_integer(v))
        return -1;
    *out = json_integer_value(v);
    return 0;
}

/* Turn one parsed line into an event. 0, or -1 with what is wrong in err. */
static int line_to_ev(json_t *o, struct ev *e, const char **task_name, const char **obj_name,
                      char *err, size_t n)
{
    memset(e, 0, sizeof(*e));
    const char *kind = json_string_value(json_object_get(o, "ev"));
    int k = ev_kind_from_name(kind);
    if (k < 0) {
        snprintf(err, n, "unknown event kind '%s'", kind ? kind : "(missing)");
        return -1;
    }
    e->kind = (uint16_t)k;
    const char *src = json_string_value(json_object_get(o, "src"));
    int s = src ? ev_src_from_name(src) : EV_SRC_INSTR;
    if (s < 0) {
        snprintf(err, n, "unknown source '%s'", src);
        return -1;
    }
    e->src = (uint8_t)s;

    json_int_t t, pid, tid, slot, obj, seq, val, item, aux, extra;
    if (get_int(o, "t", &t, 1) || get_int(o, "pid", &pid, 1) || get_int(o, "tid", &tid, 1) ||
        get_int(o, "slot", &slot, 0) || get_int(o, "obj_id", &obj, 0) ||
        get_int(o, "seq", &seq, 0) || get_int(o, "val", &val, 0) || get_int(o, "item", &item, 0) ||
        get_int(o, "aux", &aux, 0) || get_int(o, "extra", &extra, 0) || t < 0) {
        snprintf(err, n, "missing or non-integer field (t, pid, tid, slot, obj_id, seq, val ...)");
        return -1;
    }
    e->t = (uint64_t)t;
    e->pid = (int32_t)pid;
    e->tid = (int32_t)tid;
    e->task = json_object_get(o, "slot") ? (uint32_t)slot : EV_NO_TASK;
    e->obj = json_object_get(o, "obj_id") ? (uint32_t)obj : EV_NO_OBJ;
    if (e->obj != EV_NO_OBJ && (obj < 0 || obj >= 1 << 20)) {
        snprintf(err, n, "obj_id %lld is out of range", (long long)obj);
        return -1;
    }
    if (e->task != EV_NO_TASK && (slot < 0 || slot >= 1 << 20)) {
        snprintf(err, n, "slot %lld is out of range", (long long)slot);
        return -1;
    }
    e->seq = (uint32_t)seq;
    const char *text = json_string_value(json_object_get(o, "text"));
    if (text) {
        e->flags |= EVF_TEXT;
        snprintf(e->text, sizeof(e->text), "%s", text);
    } else {
        e->val = val;
        e->item = item;
        e->aux = aux;
        e->extra = extra;
    }
    *task_name = json_string_value(json_object_get(o, "task"));
    *obj_name = json_string_value(json_object_get(o, "obj"));
    return 0;
}

static int replay_line(const char *line, size_t lineno, struct model *m, json_t **header,
                       json_t **trailer, char *err, size_t n)
{
    json_error_t jerr;
    json_t *o = json_loads(line, 0, &jerr);
    char why[200];
    int rc = -1;
    if (!o || !json_is_object(o)) {
        snprintf(err, n, "line %zu: not a JSON object (%s)", lineno, o ? "wrong type" : jerr.text);
        goto cleanup;
    }
    if (lineno == 1) {
        if (!json_is_integer(json_object_get(o, "ipcscope_trace")) ||
            !json_is_string(json_object_get(o, "scenario"))) {
            snprintf(err, n,
                     "line 1: not an ipcscope trace header (needs ipcscope_trace and "
                     "scenario)");
            goto cleanup;
        }
        *header = json_incref(o);
        rc = 0;
        goto cleanup;
    }
    if (json_object_get(o, "ipcscope_trace_end")) {
        *trailer = json_incref(o);
        rc = 0;
        goto cleanup;
    }
    struct ev e;
    const char *tn, *on;
    if (line_to_ev(o, &e, &tn, &on, why, sizeof(why)) < 0) {
        snprintf(err, n, "line %zu: %s", lineno, why);
        goto cleanup;
    }
    model_apply(m, &e, tn, on);
    rc = 0;
cleanup:
    json_decref(o);
    return rc;
}

int trace_replay(const char *path, struct model *m, json_t **header, json_t **trailer, char *err,
                 size_t n)
{
    *header = *trailer = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, n, "cannot read trace %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len <= 1 && lineno > 1)
            continue;
        rc = replay_line(line, lineno, m, header, trailer, err, n);
    }
    if (rc == 0 && !*header) {
        snprintf(err, n, "%s is empty: an ipcscope trace starts with a header line", path);
        rc = -1;
    }
    free(line);
    fclose(f);
    if (rc < 0) {
        json_decref(*header);
        json_decref(*trailer);
        *header = *trailer = NULL;
    }
    return rc;
}

/* ---- export ---- */

static void span_event(json_t *out, const struct model_task *t, const struct model_span *s,
                       uint64_t end)
{
    if (s->state == TS_REAPED)
        return;
    json_array_append_new(
        out, json_pack("{s:s, s:s, s:f, s:f, s:i, s:i}", "name", task_state_name(s->state), "ph",
                       "X", "ts", (double)s->t / 1000.0, "dur", (double)(end - s->t) / 1000.0,
                       "pid", t->pid, "tid", t->tid));
}

/* Each task's state intervals as complete ("X") events: one pass, closing a task's open
 * interval when its next one starts. */
static void perfetto_spans(const struct model *m, json_t *out)
{
    const struct model_span **open = calloc(m->ntasks ? m->ntasks : 1, sizeof(*open));
    if (!open)
        return;
    for (size_t i = 0; i < m->spans_len; i++) {
        const struct model_span *s = model_span_at(m, i);
        if (s->task >= m->ntasks)
            continue;
        if (open[s->task])
            span_event(out, &m->tasks[s->task], open[s->task], s->t);
        open[s->task] = s;
    }
    for (size_t k = 0; k < m->ntasks; k++)
        if (open[k])
            span_event(out, &m->tasks[k], open[k], m->t_last);
    free(open);
}

static void perfetto_names(const struct model *m, json_t *out)
{
    for (size_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        json_array_append_new(out, json_pack("{s:s, s:s, s:i, s:i, s:{s:s}}", "name", "thread_name",
                                             "ph", "M", "pid", t->pid, "tid", t->tid, "args",
                                             "name", t->name));
    }
}

/* Object values as counters and operations as instants, from the history kept in m. */
static void perfetto_ops(const struct model *m, json_t *out)
{
    for (size_t i = 0; i < m->hist_len; i++) {
        const struct ev *e = model_hist(m, i);
        if (e->obj == EV_NO_OBJ || e->obj >= m->nobjs || !model_event_touches_object(e->kind))
            continue;
        const char *obj = m->objs[e->obj].name;
        double ts = (double)e->t / 1000.0;
        char name[80];
        snprintf(name, sizeof(name), "%s(%s)", ev_kind_name(e->kind), obj);
        json_array_append_new(out,
                              json_pack("{s:s, s:s, s:f, s:i, s:i, s:s}", "name", name, "ph", "i",
                                        "ts", ts, "pid", e->pid, "tid", e->tid, "s", "t"));
        json_array_append_new(out, json_pack("{s:s, s:s, s:f, s:i, s:{s:I}}", "name", obj, "ph",
                                             "C", "ts", ts, "pid", e->pid, "args", "value",
                                             (json_int_t)e->val));
    }
}

int trace_export_perfetto(const char *in, const char *out, char *err, size_t n)
{
    struct model m;
    json_t *hdr = NULL, *trl = NULL;
    int rc = -1;
    if (model_init(&m, 1u << 22, 1u << 22) < 0) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    if (trace_replay(in, &m, &hdr, &trl, err, n) < 0)
        goto cleanup;

    json_t *events = json_array();
    perfetto_names(&m, events);
    perfetto_spans(&m, events);
    perfetto_ops(&m, events);
    json_t *doc = json_pack("{s:o, s:s}", "traceEvents", events, "displayTimeUnit", "ns");
    if (json_dump_file(doc, out, JSON_COMPACT) < 0)
        snprintf(err, n, "cannot write %s: %s", out, strerror(errno));
    else
        rc = 0;
    json_decref(doc);
cleanup:
    json_decref(hdr);
    json_decref(trl);
    model_free(&m);
    return rc;
}
