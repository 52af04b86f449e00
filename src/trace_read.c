/*
 * trace_read.c - reading a trace back, plain or zstd, line by line, in bounded memory.
 *
 * The reader keeps one buffer of text (decompressed when the file starts with the zstd
 * magic, whatever its name) and cuts lines from it; each line remembers where it started,
 * so replay can seek back to it (for zstd: the frame it is in and how far into that frame).
 * Event lines are parsed by a small parser for the flat objects the writer makes; anything
 * else (the header, the end line, a line from another tool) goes through jansson, which also
 * words every error. It never trusts the file: the first bad line is named.
 */
#define _GNU_SOURCE
#include "trace.h"
#include "trace_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define TEXT_START (1u << 20)
#define LINE_LIMIT (16u << 20) /* a longer line is not from an ipcscope trace */
#define IN_BYTES (128u << 10)

/* Where the text at buffer offset boff starts in the file (zstd: a frame and an offset). */
struct mark {
    size_t boff;
    uint64_t frame, upos;
};

struct trace_reader {
    int fd;
    char *path;
    uint64_t size;
    ZSTD_DCtx *dz; /* NULL: plain text */
    unsigned char *in;
    size_t in_len, in_pos;
    uint64_t in_off; /* file offset of in[0] */
    int in_eof;
    size_t zret; /* the last ZSTD_decompressStream result: 0 between frames */

    char *buf; /* text: buf[pos..len) not yet cut into lines */
    size_t len, pos, cap;
    struct mark *marks; /* zstd: sorted by boff, marks[0].boff == 0 */
    size_t nmarks, marks_cap;
    uint64_t base_off; /* plain: file offset of buf[0] */
    int eof;           /* no more text will come */
    int cut;           /* the file ended inside a line or a frame */
    size_t lineno;

    json_t *header, *trailer, *limit;
};

/* ---- text from the file ---- */

static int add_mark(struct trace_reader *rd, size_t boff, uint64_t frame, uint64_t upos)
{
    if (rd->nmarks == rd->marks_cap) {
        size_t cap = rd->marks_cap ? rd->marks_cap * 2 : 16;
        struct mark *m = realloc(rd->marks, cap * sizeof(*m));
        if (!m)
            return -1;
        rd->marks = m;
        rd->marks_cap = cap;
    }
    rd->marks[rd->nmarks++] = (struct mark){.boff = boff, .frame = frame, .upos = upos};
    return 0;
}

/* Drop the text before pos (already cut into lines) and make room for more. */
static int compact(struct trace_reader *rd, char *err, size_t n)
{
    size_t d = rd->pos;
    if (d) {
        memmove(rd->buf, rd->buf + d, rd->len - d);
        rd->len -= d;
        rd->pos = 0;
        rd->base_off += d;
        size_t keep = 0; /* the last mark at or before d, and every one after */
        for (size_t i = 0; i < rd->nmarks; i++)
            if (rd->marks[i].boff <= d)
                keep = i;
        struct mark *m = rd->marks;
        if (rd->nmarks) {
            m[keep].upos += d - m[keep].boff;
            m[keep].boff = d;
            for (size_t i = keep; i < rd->nmarks; i++)
                m[i - keep] = (struct mark){m[i].boff - d, m[i].frame, m[i].upos};
            rd->nmarks -= keep;
        }
    }
    if (rd->len < rd->cap)
        return 0;
    if (rd->cap >= LINE_LIMIT) {
        snprintf(err, n, "line %zu is longer than %u MiB: not an ipcscope trace", rd->lineno + 1,
                 LINE_LIMIT >> 20);
        return -1;
    }
    char *p = realloc(rd->buf, rd->cap * 2);
    if (!p) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    rd->buf = p;
    rd->cap *= 2;
    return 0;
}

static ssize_t read_some(int fd, void *p, size_t n)
{
    ssize_t k;
    do
        k = read(fd, p, n);
    while (k < 0 && errno == EINTR);
    return k;
}

static int fill_plain(struct trace_reader *rd, char *err, size_t n)
{
    ssize_t k = read_some(rd->fd, rd->buf + rd->len, rd->cap - rd->len);
    if (k < 0) {
        snprintf(err, n, "cannot read %s: %s", rd->path, strerror(errno));
        return -1;
    }
    if (k == 0)
        rd->eof = 1;
    rd->len += (size_t)k;
    return 0;
}

static int fill_zstd(struct trace_reader *rd, char *err, size_t n)
{
    if (rd->in_pos == rd->in_len && !rd->in_eof) {
        rd->in_off += rd->in_len;
        ssize_t k = read_some(rd->fd, rd->in, IN_BYTES);
        if (k < 0) {
            snprintf(err, n, "cannot read %s: %s", rd->path, strerror(errno));
            return -1;
        }
        rd->in_len = (size_t)k;
        rd->in_pos = 0;
        rd->in_eof = k == 0;
    }
    if (rd->in_pos == rd->in_len && rd->in_eof) {
        rd->eof = 1;
        rd->cut |= rd->zret != 0; /* the last frame is incomplete */
        return 0;
    }
    ZSTD_outBuffer out = {rd->buf, rd->cap, rd->len};
    ZSTD_inBuffer in = {rd->in, rd->in_len, rd->in_pos};
    size_t ret = ZSTD_decompressStream(rd->dz, &out, &in);
    if (ZSTD_isError(ret)) {
        snprintf(err, n, "%s: bad zstd data near byte %llu (%s)", rd->path,
                 (unsigned long long)(rd->in_off + rd->in_pos), ZSTD_getErrorName(ret));
        return -1;
    }
    rd->len = out.pos;
    rd->in_pos = in.pos;
    rd->zret = ret;
    if (ret == 0 && add_mark(rd, rd->len, rd->in_off + rd->in_pos, 0) < 0) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    return 0;
}

/* More text into the buffer (sets eof at the end of the file). 0 or -1 with err. */
static int fill(struct trace_reader *rd, char *err, size_t n)
{
    if ((rd->pos > rd->cap / 2 || rd->len == rd->cap) && compact(rd, err, n) < 0)
        return -1;
    return rd->dz ? fill_zstd(rd, err, n) : fill_plain(rd, err, n);
}

/* The next line (without its newline): 1, 0 at the end, -1 with err. *partial: it had no
 * newline (the file ended inside it; a last line that is whole JSON is still read). */
static int next_line(struct trace_reader *rd, const char **line, size_t *llen, size_t *start,
                     int *partial, char *err, size_t n)
{
    for (;;) {
        char *p = rd->buf + rd->pos;
        char *nl = memchr(p, '\n', rd->len - rd->pos);
        if (nl || (rd->eof && rd->pos < rd->len)) {
            *line = p;
            *llen = nl ? (size_t)(nl - p) : rd->len - rd->pos;
            *start = rd->pos;
            *partial = !nl;
            rd->pos += *llen + (nl != NULL);
            return 1;
        }
        if (rd->eof)
            return 0;
        if (fill(rd, err, n) < 0)
            return -1;
    }
}

static struct trace_pos pos_of(const struct trace_reader *rd, size_t boff)
{
    if (!rd->dz)
        return (struct trace_pos){.frame = rd->base_off + boff, .off = 0};
    size_t i = rd->nmarks;
    while (i > 1 && rd->marks[i - 1].boff > boff)
        i--;
    const struct mark *m = &rd->marks[i - 1];
    return (struct trace_pos){.frame = m->frame, .off = m->upos + (boff - m->boff)};
}

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

/* A line the fast parser left alone: 1 an event in r, 0 the end or limit line (kept), -1 err. */
static int parse_slow(struct trace_reader *rd, const char *line, size_t len, struct trace_rec *r,
                      char *err, size_t n)
{
    json_error_t jerr;
    json_t *o = json_loadb(line, len, 0, &jerr);
    char why[200];
    int rc = -1;
    if (!o || !json_is_object(o)) {
        snprintf(err, n, "line %zu: not a JSON object (%s)", rd->lineno,
                 o ? "wrong type" : jerr.text);
    } else if (json_object_get(o, "ipcscope_trace_end")) {
        json_decref(rd->trailer);
        rd->trailer = json_incref(o);
        rc = 0;
    } else if (json_object_get(o, "ipcscope_trace_limit")) {
        json_decref(rd->limit);
        rd->limit = json_incref(o);
        rc = 0;
    } else if (line_to_rec(o, r, why, sizeof(why)) < 0) {
        snprintf(err, n, "line %zu: %s", rd->lineno, why);
    } else {
        rc = 1;
    }
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
    while (p < c->end && *p >= '0' && *p <= '9' && p - digits < 19)
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

/* The parsed fields as an event, as line_to_rec would make it. 1, or FAST_NO. */
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
    return 1;
}

/* An event line in the writer's shape: 1 with the event in r, or FAST_NO. */
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

/* ---- the reader ---- */

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

int trace_reader_next(struct trace_reader *rd, struct trace_rec *rec, char *err, size_t n)
{
    for (;;) {
        const char *line;
        size_t len, start;
        int partial;
        int rc = next_line(rd, &line, &len, &start, &partial, err, n);
        if (rc <= 0)
            return rc;
        rd->lineno++;
        if (blank(line, len))
            continue;
        rc = parse_fast(line, len, rec);
        if (rc == FAST_NO)
            rc = parse_slow(rd, line, len, rec, err, n);
        if (rc < 0 && partial)
            rd->cut = 1; /* the file ends inside this line: still an error, named */
        if (rc < 0)
            return -1;
        if (rc == 0)
            continue;
        rec->pos = pos_of(rd, start);
        rec->lineno = rd->lineno;
        return 1;
    }
}

static int read_header(struct trace_reader *rd, char *err, size_t n)
{
    const char *line;
    size_t len, start;
    int partial;
    int rc = next_line(rd, &line, &len, &start, &partial, err, n);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        snprintf(err, n, "%s is empty: an ipcscope trace starts with a header line", rd->path);
        return -1;
    }
    rd->lineno = 1;
    json_error_t jerr;
    json_t *o = json_loadb(line, len, 0, &jerr);
    if (!o || !json_is_object(o)) {
        snprintf(err, n, "line 1: not a JSON object (%s)", o ? "wrong type" : jerr.text);
        json_decref(o);
        return -1;
    }
    if (!json_is_integer(json_object_get(o, "ipcscope_trace")) ||
        !json_is_string(json_object_get(o, "scenario"))) {
        snprintf(err, n,
                 "line 1: not an ipcscope trace header (needs ipcscope_trace and scenario)");
        json_decref(o);
        return -1;
    }
    rd->header = o;
    return 0;
}

/* zstd when the file starts with its magic number. */
static int detect(struct trace_reader *rd, char *err, size_t n)
{
    unsigned char magic[4];
    ssize_t k = pread(rd->fd, magic, 4, 0);
    if (k < 0 && errno == ESPIPE) {
        snprintf(err, n, "cannot read trace %s: it is a pipe; save the trace to a file first",
                 rd->path);
        return -1;
    }
    if (k < 0) {
        snprintf(err, n, "cannot read trace %s: %s", rd->path, strerror(errno));
        return -1;
    }
    uint32_t m = (uint32_t)magic[0] | (uint32_t)magic[1] << 8 | (uint32_t)magic[2] << 16 |
                 (uint32_t)magic[3] << 24;
    if (k < 4 || m != TRACE_ZSTD_MAGIC)
        return 0;
    rd->dz = ZSTD_createDCtx();
    rd->in = malloc(IN_BYTES);
    if (!rd->dz || !rd->in || add_mark(rd, 0, 0, 0) < 0) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    return 0;
}

int trace_reader_open(struct trace_reader **out, const char *path, char *err, size_t n)
{
    struct trace_reader *rd = calloc(1, sizeof(*rd));
    if (!rd) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    rd->path = strdup(path);
    rd->cap = TEXT_START;
    rd->buf = malloc(rd->cap);
    rd->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (rd->fd < 0) {
        snprintf(err, n, "cannot read trace %s: %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (!rd->path || !rd->buf || fstat(rd->fd, &st) < 0) {
        snprintf(err, n, "cannot read trace %s: %s", path, strerror(errno ? errno : ENOMEM));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, n, "cannot read trace %s: it is a directory", path);
        goto fail;
    }
    rd->size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    if (detect(rd, err, n) < 0 || read_header(rd, err, n) < 0)
        goto fail;
    *out = rd;
    return 0;
fail:
    trace_reader_close(rd);
    return -1;
}

void trace_reader_close(struct trace_reader *rd)
{
    if (!rd)
        return;
    if (rd->fd >= 0)
        close(rd->fd);
    ZSTD_freeDCtx(rd->dz);
    free(rd->in);
    free(rd->buf);
    free(rd->marks);
    free(rd->path);
    json_decref(rd->header);
    json_decref(rd->trailer);
    json_decref(rd->limit);
    free(rd);
}

int trace_reader_seek(struct trace_reader *rd, struct trace_pos pos, size_t lineno, char *err,
                      size_t n)
{
    off_t to = (off_t)(rd->dz ? pos.frame : pos.frame + pos.off);
    if (lseek(rd->fd, to, SEEK_SET) < 0) {
        snprintf(err, n, "cannot seek in %s: %s", rd->path, strerror(errno));
        return -1;
    }
    rd->len = rd->pos = 0;
    rd->base_off = (uint64_t)to;
    rd->eof = rd->cut = 0;
    rd->lineno = lineno ? lineno - 1 : 0;
    if (!rd->dz)
        return 0;
    ZSTD_DCtx_reset(rd->dz, ZSTD_reset_session_only);
    rd->in_len = rd->in_pos = 0;
    rd->in_off = pos.frame;
    rd->in_eof = 0;
    rd->zret = 0;
    rd->nmarks = 0;
    add_mark(rd, 0, pos.frame, 0);
    for (uint64_t skip = pos.off; skip;) { /* the text of the frame before the line */
        if (rd->pos == rd->len && rd->eof) {
            snprintf(err, n, "cannot seek in %s: it is shorter than it was", rd->path);
            return -1;
        }
        if (rd->pos == rd->len && fill(rd, err, n) < 0)
            return -1;
        size_t take = rd->len - rd->pos < skip ? rd->len - rd->pos : (size_t)skip;
        rd->pos += take;
        skip -= take;
    }
    return 0;
}

json_t *trace_reader_header(const struct trace_reader *rd)
{
    return rd->header;
}

json_t *trace_reader_trailer(const struct trace_reader *rd)
{
    return rd->trailer;
}

json_t *trace_reader_limit(const struct trace_reader *rd)
{
    return rd->limit;
}

int trace_reader_cut(const struct trace_reader *rd)
{
    return rd->cut;
}

int trace_reader_compressed(const struct trace_reader *rd)
{
    return rd->dz != NULL;
}

uint64_t trace_reader_size(const struct trace_reader *rd)
{
    return rd->size;
}

uint64_t trace_reader_offset(const struct trace_reader *rd)
{
    return rd->dz ? rd->in_off + rd->in_pos : rd->base_off + rd->pos;
}

/* ---- whole files ---- */

int trace_read(const char *path, trace_event_fn fn, void *arg, json_t **header, json_t **trailer,
               char *err, size_t n)
{
    *header = *trailer = NULL;
    struct trace_reader *rd;
    if (trace_reader_open(&rd, path, err, n) < 0)
        return -1;
    struct trace_rec *rec = malloc(sizeof(*rec));
    int rc = rec ? 1 : -1;
    if (!rec)
        snprintf(err, n, "out of memory");
    while (rc == 1 && (rc = trace_reader_next(rd, rec, err, n)) == 1)
        fn(&rec->e, rec->has_task ? rec->task : NULL, rec->has_obj ? rec->obj : NULL, arg);
    if (rc == 0) {
        *header = json_incref(rd->header);
        *trailer = json_incref(rd->trailer);
    }
    free(rec);
    trace_reader_close(rd);
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
