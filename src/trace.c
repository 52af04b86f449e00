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

/* ---- writing ----
 * A recorded run writes hundreds of thousands of lines, so events are formatted straight
 * into a line buffer (a jansson object per line cost several microseconds each and made the
 * conductor fall behind busy workers). The output is the compact JSON jansson would print,
 * in the same key order; replay reads it back with jansson. */

enum { NAME_MAX_BYTES = 64 }; /* task and object names are shorter (INSTR_NAME_MAX) */

struct line {
    char buf[2048]; /* longest line: four 64-byte strings escaped 6x, plus numbers */
    size_t n;
};

static void put_raw(struct line *l, const char *s, size_t n)
{
    if (n > sizeof(l->buf) - l->n)
        n = sizeof(l->buf) - l->n;
    memcpy(l->buf + l->n, s, n);
    l->n += n;
}

static void put_int(struct line *l, long long v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    put_raw(l, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80             ? 1
                 : (s[0] & 0xe0) == 0xc0 ? 2
                 : (s[0] & 0xf0) == 0xe0 ? 3
                 : (s[0] & 0xf8) == 0xf0 ? 4
                                         : 0;
    if (!len || len > n || (len == 2 && s[0] < 0xc2) || (len == 4 && s[0] > 0xf4))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (len == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
        (len == 4 && s[0] == 0xf0 && s[1] < 0x90) || (len == 4 && s[0] == 0xf4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate, beyond U+10FFFF */
    return len;
}

/* A JSON string of at most max bytes of s: escaped, and any byte that is not valid UTF-8
 * (a name cut mid-character, say) written as U+FFFD so the line stays valid JSON. */
static void put_str(struct line *l, const char *s, size_t max)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strnlen(s, max);
    put_raw(l, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        size_t len = utf8_len(u + i, n - i);
        if (!len) {
            put_raw(l, "\\ufffd", 6);
            i++;
        } else if (len > 1) {
            put_raw(l, s + i, len);
            i += len;
        } else {
            i++;
            if (c == '"' || c == '\\') {
                char esc[2] = {'\\', (char)c};
                put_raw(l, esc, 2);
            } else if (c == '\n') {
                put_raw(l, "\\n", 2);
            } else if (c == '\t') {
                put_raw(l, "\\t", 2);
            } else if (c == '\r') {
                put_raw(l, "\\r", 2);
            } else if (c < 0x20 || c == 0x7f) {
                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                put_raw(l, esc, 6);
            } else {
                put_raw(l, (const char *)&c, 1);
            }
        }
    }
    put_raw(l, "\"", 1);
}

static const char *or_unknown(const char *s)
{
    return s ? s : "?";
}

#define PUT_KEY(l, k)                                                                              \
    put_raw(l,                                                                                     \
            ","                                                                                    \
            "\"" k "\":",                                                                          \
            sizeof(k) + 3)

void trace_write_event(FILE *f, const struct ev *e, uint64_t t0, const char *task_name,
                       const char *obj_name)
{
    struct line l = {.n = 0};
    put_raw(&l, "{\"t\":", 5);
    put_int(&l, (long long)(e->t >= t0 ? e->t - t0 : 0));
    PUT_KEY(&l, "pid");
    put_int(&l, e->pid);
    PUT_KEY(&l, "tid");
    put_int(&l, e->tid);
    PUT_KEY(&l, "task");
    put_str(&l, task_name ? task_name : "", NAME_MAX_BYTES);
    if (e->task != EV_NO_TASK) {
        PUT_KEY(&l, "slot");
        put_int(&l, e->task);
    }
    PUT_KEY(&l, "ev");
    put_str(&l, or_unknown(ev_kind_name(e->kind)), NAME_MAX_BYTES);
    PUT_KEY(&l, "src");
    put_str(&l, or_unknown(ev_src_name(e->src)), NAME_MAX_BYTES);
    if (e->obj != EV_NO_OBJ) {
        PUT_KEY(&l, "obj");
        put_str(&l, obj_name ? obj_name : "", NAME_MAX_BYTES);
        PUT_KEY(&l, "obj_id");
        put_int(&l, e->obj);
        PUT_KEY(&l, "seq");
        put_int(&l, (long long)e->seq);
    }
    if (e->flags & EVF_TEXT) {
        PUT_KEY(&l, "text");
        put_str(&l, e->text, EV_TEXT_MAX);
    } else {
        PUT_KEY(&l, "val");
        put_int(&l, e->val);
        PUT_KEY(&l, "item");
        put_int(&l, e->item);
        PUT_KEY(&l, "aux");
        put_int(&l, e->aux);
        if (e->extra) {
            PUT_KEY(&l, "extra");
            put_int(&l, e->extra);
        }
    }
    if (e->kind == EV_OBJ_CREATE) {
        const char *kn = obj_kind_name((unsigned)e->aux);
        PUT_KEY(&l, "kind");
        put_str(&l, or_unknown(kn), NAME_MAX_BYTES);
        PUT_KEY(&l, "capacity");
        put_int(&l, e->item);
    } else if (e->kind == EV_TASK_START) {
        PUT_KEY(&l, "kind");
        put_str(&l, e->item == TK_THREAD ? "thread" : "process", NAME_MAX_BYTES);
        PUT_KEY(&l, "ppid");
        put_int(&l, e->aux);
    }
    put_raw(&l, "}\n", 2);
    fwrite(l.buf, 1, l.n, f);
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

static int read_line(const char *line, size_t lineno, trace_event_fn fn, void *arg, json_t **header,
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
        json_decref(*trailer); /* a repeated end line: the last one counts, none leaks */
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
    fn(&e, tn, on, arg);
    rc = 0;
cleanup:
    json_decref(o);
    return rc;
}

int trace_read(const char *path, trace_event_fn fn, void *arg, json_t **header, json_t **trailer,
               char *err, size_t n)
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
        rc = read_line(line, lineno, fn, arg, header, trailer, err, n);
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

static void apply_to_model(const struct ev *e, const char *task_name, const char *obj_name,
                           void *arg)
{
    model_apply(arg, e, task_name, obj_name);
}

int trace_replay(const char *path, struct model *m, json_t **header, json_t **trailer, char *err,
                 size_t n)
{
    return trace_read(path, apply_to_model, m, header, trailer, err, n);
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
