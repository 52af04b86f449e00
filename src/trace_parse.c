/*
 * trace_parse.c - one line of a trace as an event, or as the end line or the limit line.
 *
 * Event lines are read by a small parser for the flat objects the writer makes (about ten
 * times faster than building a jansson object per line, which matters for a 20-million-line
 * trace); anything it does not handle exactly (escapes other than the simple ones, a nested
 * value, a number that is not a small integer, an unknown event kind) goes through jansson,
 * which decides and words every error, so both paths accept and refuse the same lines.
 */
#define _GNU_SOURCE
#include "trace.h"
#include "trace_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing: the slow path (jansson) ---- */

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

static void copy_name(char *dst, const char *src, int *has)
{
    *has = src != NULL;
    snprintf(dst, TRACE_NAME_BUF, "%s", src ? src : "");
}

/* Turn one parsed line into an event. 0, or -1 with what is wrong in err. */
static int line_to_rec(json_t *o, struct trace_rec *r, char *err, size_t n)
{
    struct ev *e = &r->e;
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
    copy_name(r->task, json_string_value(json_object_get(o, "task")), &r->has_task);
    copy_name(r->obj, json_string_value(json_object_get(o, "obj")), &r->has_obj);
    return 0;
}

/* A line the fast parser left alone, read by jansson. */
static int parse_slow(const char *line, size_t len, struct trace_rec *r, json_t **kept, char *err,
                      size_t n)
{
    json_error_t jerr;
    json_t *o = json_loadb(line, len, 0, &jerr);
    int rc = -1;
    if (!o || !json_is_object(o))
        snprintf(err, n, "not a JSON object (%s)", o ? "wrong type" : jerr.text);
    else if (json_object_get(o, "ipcscope_trace_end"))
        rc = TRACE_LINE_END;
    else if (json_object_get(o, "ipcscope_trace_limit"))
        rc = TRACE_LINE_LIMIT;
    else if (line_to_rec(o, r, err, n) == 0)
        rc = TRACE_LINE_EVENT;
    if (rc == TRACE_LINE_END || rc == TRACE_LINE_LIMIT)
        *kept = json_incref(o);
    json_decref(o);
    return rc;
}

/* ---- parsing: the fast path, for the flat objects the writer makes ---- */

enum fkey {
    K_T,
    K_PID,
    K_TID,
    K_SLOT,
    K_OBJ_ID,
    K_SEQ,
    K_VAL,
    K_ITEM,
    K_AUX,
    K_EXTRA,
    K_NINT,
    K_TASK = K_NINT,
    K_EV,
    K_SRC,
    K_OBJ,
    K_TEXT,
    K_OTHER
};

#define FAST_NO 0 /* not handled here: the slow path decides (and words any error) */
_Static_assert(TRACE_LINE_EVENT != FAST_NO, "the fast path's answers are its own");

static enum fkey key_of(const char *k, size_t n)
{
#define IS(name) (memcmp(k, name, n) == 0)
    switch (n) {
    case 1:
        return k[0] == 't' ? K_T : K_OTHER;
    case 2:
        return IS("ev") ? K_EV : K_OTHER;
    case 3:
        return IS("pid")   ? K_PID
               : IS("tid") ? K_TID
               : IS("seq") ? K_SEQ
               : IS("val") ? K_VAL
               : IS("aux") ? K_AUX
               : IS("src") ? K_SRC
               : IS("obj") ? K_OBJ
                           : K_OTHER;
    case 4:
        return IS("slot")   ? K_SLOT
               : IS("item") ? K_ITEM
               : IS("task") ? K_TASK
               : IS("text") ? K_TEXT
                            : K_OTHER;
    case 5:
        return IS("extra") ? K_EXTRA : K_OTHER;
    case 6:
        return IS("obj_id") ? K_OBJ_ID : K_OTHER;
    default:
        return K_OTHER;
    }
#undef IS
}

/* Event kinds by name, hashed once. */
#define KIND_SLOTS 256
static struct {
    const char *name;
    size_t len;
    int kind;
} g_kinds[KIND_SLOTS];
static pthread_once_t g_kinds_once = PTHREAD_ONCE_INIT;

static unsigned name_hash(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void kinds_init(void)
{
    for (int k = 0; k < EV__COUNT; k++) {
        const char *name = ev_kind_name((unsigned)k);
        size_t len = strlen(name);
        unsigned h = name_hash(name, len) % KIND_SLOTS;
        while (g_kinds[h].name)
            h = (h + 1) % KIND_SLOTS;
        g_kinds[h].name = name;
        g_kinds[h].len = len;
        g_kinds[h].kind = k;
    }
}

static int kind_of(const char *s, size_t n)
{
    pthread_once(&g_kinds_once, kinds_init);
    for (unsigned h = name_hash(s, n) % KIND_SLOTS; g_kinds[h].name; h = (h + 1) % KIND_SLOTS)
        if (g_kinds[h].len == n && memcmp(g_kinds[h].name, s, n) == 0)
            return g_kinds[h].kind;
    return -1;
}

struct cursor {
    const char *p, *end;
};

static void skip_ws(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
        c->p++;
}

/* A JSON string at c->p (past its quote on return), its bytes into dst (cap bytes, cut like
 * snprintf). Returns its full length, or -1 when it needs the slow path. */
static long fast_string(struct cursor *c, char *dst, size_t cap)
{
    size_t n = 0;
    c->p++; /* the opening quote */
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        char out;
        if (ch == '"') {
            c->p++;
            if (cap)
                dst[n < cap ? n : cap - 1] = '\0';
            return (long)n;
        }
        if (ch < 0x20)
            return -1;
        if (ch >= 0x80) {
            size_t len = trace_utf8_len((const unsigned char *)c->p, (size_t)(c->end - c->p));
            if (!len)
                return -1;
            for (size_t i = 0; i < len; i++, n++)
                if (n + 1 < cap)
                    dst[n] = c->p[i];
            c->p += len;
            continue;
        }
        if (ch == '\\') {
            if (c->p + 1 >= c->end)
                return -1;
            switch (c->p[1]) {
            case '"':
                out = '"';
                break;
            case '\\':
                out = '\\';
                break;
            case '/':
                out = '/';
                break;
            case 'b':
                out = '\b';
                break;
            case 'f':
                out = '\f';
                break;
            case 'n':
                out = '\n';
                break;
            case 'r':
                out = '\r';
                break;
            case 't':
                out = '\t';
                break;
            default:
                return -1; /* \u: the slow path */
            }
            c->p += 2;
        } else {
            out = (char)ch;
            c->p++;
        }
        if (n + 1 < cap)
            dst[n] = out;
        n++;
    }
    return -1;
}

/* A JSON integer of at most 18 digits. 0, or -1 for anything else (the slow path). */
static int fast_int(struct cursor *c, int64_t *out)
{
    const char *p = c->p;
    int neg = p < c->end && *p == '-';
    p += neg;
    const char *digits = p;
    int64_t v = 0;
    while (p < c->end && *p >= '0' && *p <= '9' && p - digits < 18) /* 18: cannot overflow */
        v = v * 10 + (*p++ - '0');
    size_t nd = (size_t)(p - digits);
    if (!nd || nd > 18 || (nd > 1 && *digits == '0'))
        return -1;
    if (p < c->end && (*p == '.' || *p == 'e' || *p == 'E' || (*p >= '0' && *p <= '9')))
        return -1;
    *out = neg ? -v : v;
    c->p = p;
    return 0;
}

struct fields {
    int64_t num[K_NINT];
    unsigned have; /* bit per enum fkey */
    char ev[24], src[16];
    long ev_len, src_len;
};

/* One "key": value pair into f. 0, or -1 for the slow path. */
static int fast_pair(struct cursor *c, struct fields *f, struct trace_rec *r)
{
    if (c->p >= c->end || *c->p != '"')
        return -1;
    const char *k = ++c->p;
    while (c->p < c->end && *c->p != '"' && *c->p != '\\')
        c->p++;
    if (c->p >= c->end || *c->p != '"')
        return -1;
    enum fkey key = key_of(k, (size_t)(c->p - k));
    if (key == K_OTHER && c->p - k >= 14 && memcmp(k, "ipcscope_trace", 14) == 0)
        return -1; /* an end or limit line */
    c->p++;
    skip_ws(c);
    if (c->p >= c->end || *c->p != ':')
        return -1;
    c->p++;
    skip_ws(c);
    if (c->p >= c->end)
        return -1;
    f->have |= 1u << key;
    if (*c->p != '"') {
        int64_t v;
        if (key >= K_NINT && key != K_OTHER)
            return -1;
        if (fast_int(c, &v) < 0)
            return -1;
        if (key < K_NINT)
            f->num[key] = v;
        return 0;
    }
    char scratch[TRACE_NAME_BUF];
    long len;
    switch (key) {
    case K_TASK:
        len = fast_string(c, r->task, sizeof(r->task));
        break;
    case K_OBJ:
        len = fast_string(c, r->obj, sizeof(r->obj));
        break;
    case K_TEXT:
        len = fast_string(c, r->e.text, sizeof(r->e.text));
        break;
    case K_EV:
        len = f->ev_len = fast_string(c, f->ev, sizeof(f->ev));
        break;
    case K_SRC:
        len = f->src_len = fast_string(c, f->src, sizeof(f->src));
        break;
    case K_OTHER:
        len = fast_string(c, scratch, sizeof(scratch));
        break;
    default:
        return -1; /* a string where a number belongs */
    }
    return len < 0 ? -1 : 0;
}

#define HAVE(f, k) ((f)->have & (1u << (k)))

/* The parsed fields as an event, as line_to_rec would make it: TRACE_LINE_EVENT or FAST_NO. */
static int fields_to_rec(const struct fields *f, struct trace_rec *r)
{
    struct ev *e = &r->e;
    if (!HAVE(f, K_T) || !HAVE(f, K_PID) || !HAVE(f, K_TID) || !HAVE(f, K_EV) || f->num[K_T] < 0 ||
        f->ev_len >= (long)sizeof(f->ev) || f->src_len >= (long)sizeof(f->src))
        return FAST_NO;
    int kind = kind_of(f->ev, (size_t)f->ev_len);
    int src = HAVE(f, K_SRC) ? ev_src_from_name(f->src) : EV_SRC_INSTR;
    if (kind < 0 || src < 0)
        return FAST_NO;
    if ((HAVE(f, K_OBJ_ID) && (f->num[K_OBJ_ID] < 0 || f->num[K_OBJ_ID] >= 1 << 20)) ||
        (HAVE(f, K_SLOT) && (f->num[K_SLOT] < 0 || f->num[K_SLOT] >= 1 << 20)))
        return FAST_NO;
    char text[EV_TEXT_MAX];
    memcpy(text, e->text, sizeof(text));
    memset(e, 0, sizeof(*e));
    e->kind = (uint16_t)kind;
    e->src = (uint8_t)src;
    e->t = (uint64_t)f->num[K_T];
    e->pid = (int32_t)f->num[K_PID];
    e->tid = (int32_t)f->num[K_TID];
    e->task = HAVE(f, K_SLOT) ? (uint32_t)f->num[K_SLOT] : EV_NO_TASK;
    e->obj = HAVE(f, K_OBJ_ID) ? (uint32_t)f->num[K_OBJ_ID] : EV_NO_OBJ;
    e->seq = (uint32_t)f->num[K_SEQ];
    if (HAVE(f, K_TEXT)) {
        e->flags |= EVF_TEXT;
        memcpy(e->text, text, sizeof(text));
    } else {
        e->val = f->num[K_VAL];
        e->item = f->num[K_ITEM];
        e->aux = f->num[K_AUX];
        e->extra = f->num[K_EXTRA];
    }
    r->has_task = HAVE(f, K_TASK) != 0;
    r->has_obj = HAVE(f, K_OBJ) != 0;
    return TRACE_LINE_EVENT;
}

/* An event line in the writer's shape: TRACE_LINE_EVENT with the event in r, or FAST_NO. */
static int parse_fast(const char *line, size_t len, struct trace_rec *r)
{
    struct cursor c = {line, line + len};
    struct fields f;
    f.have = 0;
    f.ev_len = f.src_len = 0;
    memset(f.num, 0, sizeof(f.num));
    r->task[0] = r->obj[0] = r->e.text[0] = '\0';
    skip_ws(&c);
    if (c.p >= c.end || *c.p++ != '{')
        return FAST_NO;
    for (;;) {
        skip_ws(&c);
        if (fast_pair(&c, &f, r) < 0)
            return FAST_NO;
        skip_ws(&c);
        if (c.p < c.end && *c.p == ',') {
            c.p++;
            continue;
        }
        if (c.p < c.end && *c.p == '}')
            break;
        return FAST_NO;
    }
    c.p++;
    skip_ws(&c);
    return c.p == c.end ? fields_to_rec(&f, r) : FAST_NO;
}

int trace_parse_line(const char *line, size_t len, struct trace_rec *r, json_t **kept, char *err,
                     size_t n)
{
    *kept = NULL;
    int rc = parse_fast(line, len, r);
    return rc == FAST_NO ? parse_slow(line, len, r, kept, err, n) : rc;
}
