/*
 * trace_write.c - recording a run: events as JSON Lines, plain or zstd-compressed, within an
 * optional size limit, with every write checked.
 *
 * The conductor formats each event straight into a 1 MiB chunk of text. Full chunks go to a
 * writer thread that compresses them (one zstd frame per chunk, so readers can seek frame by
 * frame) and writes them, so the conductor waits for the disk only when 16 chunks are in
 * flight. A chunk that would take the file past its limit is not written: the writer writes
 * a line saying where the recording stopped instead, and the end line counts what was left
 * out. A failed write stops the recording and is reported, never ignored.
 */
#define _GNU_SOURCE
#include "trace.h"
#include "trace_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define NCHUNKS 16                /* 16 MiB of text in flight: a quarter second of a busy run */
#define LIMIT_RESERVE (64u << 10) /* kept under the limit for the limit line and the end line */
#define ZSTD_LEVEL                                                                                 \
    1 /* about 12x on traces at ~900 MB/s on one core; a 128 KiB window and a                      \
         4096-entry hash table stay in cache (10-15% faster, the same ratio) */

/* ---- formatting ---- */

const char trace_digits2[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

void tbuf_us(struct tbuf *b, uint64_t ns)
{
    char frac[4] = {'.', (char)('0' + ns / 100 % 10), (char)('0' + ns / 10 % 10),
                    (char)('0' + ns % 10)};
    tbuf_int(b, (long long)(ns / 1000));
    tbuf_raw(b, frac, 4);
}

size_t trace_utf8_len(const unsigned char *s, size_t n)
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

static void put_escaped(struct tbuf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    if (c == '"' || c == '\\') {
        char esc[2] = {'\\', (char)c};
        tbuf_raw(b, esc, 2);
    } else if (c == '\n') {
        TBUF_LIT(b, "\\n");
    } else if (c == '\t') {
        TBUF_LIT(b, "\\t");
    } else if (c == '\r') {
        TBUF_LIT(b, "\\r");
    } else if (c < 0x20 || c == 0x7f) {
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        tbuf_raw(b, esc, 6);
    } else {
        tbuf_raw(b, (const char *)&c, 1);
    }
}

static int plain_char(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

void tbuf_str(struct tbuf *b, const char *s, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = 0;
    while (n < max && plain_char(u[n]))
        n++;
    if ((n == max || !u[n]) && b->cap - b->n >= n + 2) { /* plain ASCII: no escapes */
        b->p[b->n] = '"';
        memcpy(b->p + b->n + 1, s, n);
        b->p[b->n + 1 + n] = '"';
        b->n += n + 2;
        return;
    }
    n = strnlen(s, max);
    tbuf_raw(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        size_t len = trace_utf8_len(u + i, n - i);
        if (!len) {
            TBUF_LIT(b, "\\ufffd");
            i++;
        } else if (len > 1) {
            tbuf_raw(b, s + i, len);
            i += len;
        } else {
            put_escaped(b, u[i++]);
        }
    }
    tbuf_raw(b, "\"", 1);
}

static const char *or_unknown(const char *s)
{
    return s ? s : "?";
}

/* Event kinds and sources as JSON strings, quoted once. */
struct quoted {
    char s[40];
    size_t n;
};
static struct quoted g_kind_q[EV__COUNT + 1], g_src_q[4];
static pthread_once_t g_quoted_once = PTHREAD_ONCE_INIT;

static void quote(struct quoted *q, const char *name)
{
    struct tbuf b = {.p = q->s, .cap = sizeof(q->s)};
    tbuf_str(&b, or_unknown(name), TRACE_NAME_BYTES);
    q->n = b.n;
}

static void quoted_init(void)
{
    for (unsigned k = 0; k <= EV__COUNT; k++)
        quote(&g_kind_q[k], ev_kind_name(k));
    for (unsigned s = 0; s < 4; s++)
        quote(&g_src_q[s], ev_src_name(s));
}

/* A name as a JSON string, from a small cache: the same task and object names come back on
 * almost every line. An entry is used only when the name still reads the same. */
#define NAME_CACHE 64
struct name_cache {
    struct {
        const char *ptr;
        char raw[TRACE_NAME_BUF];
        size_t rawlen, esclen;
        char esc[TRACE_NAME_BYTES * 6 + 2];
    } e[NAME_CACHE];
};

static void put_name(struct tbuf *b, struct name_cache *nc, const char *s)
{
    size_t len = strnlen(s, TRACE_NAME_BYTES);
    if (!nc) {
        tbuf_str(b, s, TRACE_NAME_BYTES);
        return;
    }
    unsigned h = (unsigned)(((uintptr_t)s >> 4) ^ len) % NAME_CACHE;
    typeof(nc->e[0]) *c = &nc->e[h];
    if (c->ptr != s || c->rawlen != len || memcmp(c->raw, s, len) != 0) {
        struct tbuf eb = {.p = c->esc, .cap = sizeof(c->esc)};
        tbuf_str(&eb, s, TRACE_NAME_BYTES);
        memcpy(c->raw, s, len);
        c->rawlen = len;
        c->esclen = eb.n;
        c->ptr = s;
    }
    tbuf_raw(b, c->esc, c->esclen);
}

/* One event as a line of compact JSON, in the key order jansson would keep. */
static void format_event(struct tbuf *b, struct name_cache *nc, const struct ev *e, uint64_t t,
                         const char *task_name, const char *obj_name)
{
    pthread_once(&g_quoted_once, quoted_init);
    const struct quoted *kind = &g_kind_q[e->kind < EV__COUNT ? e->kind : EV__COUNT];
    const struct quoted *src = &g_src_q[e->src < 3 ? e->src : 3];
    TBUF_LIT(b, "{\"t\":");
    tbuf_int(b, (long long)t);
    TBUF_KEY(b, "pid");
    tbuf_int(b, e->pid);
    TBUF_KEY(b, "tid");
    tbuf_int(b, e->tid);
    TBUF_KEY(b, "task");
    put_name(b, nc, task_name ? task_name : "");
    if (e->task != EV_NO_TASK) {
        TBUF_KEY(b, "slot");
        tbuf_int(b, e->task);
    }
    TBUF_KEY(b, "ev");
    tbuf_raw(b, kind->s, kind->n);
    TBUF_KEY(b, "src");
    tbuf_raw(b, src->s, src->n);
    if (e->obj != EV_NO_OBJ) {
        TBUF_KEY(b, "obj");
        put_name(b, nc, obj_name ? obj_name : "");
        TBUF_KEY(b, "obj_id");
        tbuf_int(b, e->obj);
        TBUF_KEY(b, "seq");
        tbuf_int(b, (long long)e->seq);
    }
    if (e->flags & EVF_TEXT) {
        TBUF_KEY(b, "text");
        tbuf_str(b, e->text, EV_TEXT_MAX);
    } else {
        TBUF_KEY(b, "val");
        tbuf_int(b, e->val);
        TBUF_KEY(b, "item");
        tbuf_int(b, e->item);
        TBUF_KEY(b, "aux");
        tbuf_int(b, e->aux);
        if (e->extra) {
            TBUF_KEY(b, "extra");
            tbuf_int(b, e->extra);
        }
    }
    if (e->kind == EV_OBJ_CREATE) {
        TBUF_KEY(b, "kind");
        tbuf_str(b, or_unknown(obj_kind_name((unsigned)e->aux)), TRACE_NAME_BYTES);
        TBUF_KEY(b, "capacity");
        tbuf_int(b, e->item);
    } else if (e->kind == EV_TASK_START) {
        TBUF_KEY(b, "kind");
        tbuf_str(b, e->item == TK_THREAD ? "thread" : "process", TRACE_NAME_BYTES);
        TBUF_KEY(b, "ppid");
        tbuf_int(b, e->aux);
    }
    TBUF_LIT(b, "}\n");
}

int trace_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = s && *s ? strtod(s, &end) : -1;
    if (!s || !*s || errno || !(v > 0)) /* !(v > 0): NaN too */
        return -1;
    double mult = 1;
    if (*end == 'K' || *end == 'k')
        mult = 1024.0;
    else if (*end == 'M' || *end == 'm')
        mult = 1024.0 * 1024;
    else if (*end == 'G' || *end == 'g')
        mult = 1024.0 * 1024 * 1024;
    else if (*end)
        return -1;
    if (*end && end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB"))
        return -1;
    v *= mult;
    if (!(v >= TRACE_LIMIT_MIN && v <= 1e18)) /* NaN and infinities fail too */
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* ---- the writer ---- */

struct chunk {
    char *buf; /* TRACE_CHUNK bytes */
    size_t len;
    uint64_t events; /* events in it */
    uint64_t t_last; /* time of its last event, ns since the start */
};

struct trace_writer {
    int fd;
    char *path;
    ZSTD_CCtx *zc; /* NULL: plain text */
    char *zbuf;
    size_t zcap;
    uint64_t limit; /* bytes, 0: none */

    /* the conductor's side */
    struct name_cache *names; /* NULL: names are escaped every time */
    struct chunk chunk[NCHUNKS];
    uint64_t given; /* events given to trace_write_event */
    int stopped;    /* the conductor knows the recording stopped */
    char problem[400];

    /* shared with the writer thread */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int have_thread;
    int nice, set_nice; /* the writer thread's nice value, to take before its next chunk */
    uint64_t filled;    /* chunks handed over; chunk[filled % NCHUNKS] is being filled */
    uint64_t written;   /* chunks the writer thread is done with */
    int quit;
    uint64_t bytes;      /* in the file */
    uint64_t events_out; /* events in the file */
    uint64_t t_out;      /* time of the last of them */
    int werr;            /* errno of the first failed write (or compression), 0 */
    int limit_hit;
};

int trace_write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? -errno : -EIO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Compress text (as one zstd frame) when the file is compressed. Points *out at the bytes to
 * write. 0 or -errno. */
static int encode(struct trace_writer *w, const char *text, size_t len, const char **out,
                  size_t *olen)
{
    if (!w->zc) {
        *out = text;
        *olen = len;
        return 0;
    }
    size_t z = ZSTD_compress2(w->zc, w->zbuf, w->zcap, text, len);
    if (ZSTD_isError(z))
        return -ENOMEM;
    *out = w->zbuf;
    *olen = z;
    return 0;
}

/* Write a line of our own (header, limit line, end line): no limit check, they fit in the
 * reserve. Only while no chunk is being written. 0 or -errno. */
static int write_line(struct trace_writer *w, const char *line, size_t len)
{
    const char *data;
    size_t dlen;
    int rc = encode(w, line, len, &data, &dlen);
    if (rc == 0)
        rc = trace_write_all(w->fd, data, dlen);
    if (rc == 0)
        w->bytes += dlen;
    return rc;
}

static int write_json_line(struct trace_writer *w, json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (!s)
        return -ENOMEM;
    size_t len = strlen(s);
    char *line = realloc(s, len + 2);
    if (!line) {
        free(s);
        return -ENOMEM;
    }
    memcpy(line + len, "\n", 2);
    int rc = write_line(w, line, len + 1);
    free(line);
    return rc;
}

/* The recording reached its limit: say where it stopped, in the file itself. */
static void write_limit_line(struct trace_writer *w)
{
    json_t *o =
        json_pack("{s:i, s:I, s:I, s:I}", "ipcscope_trace_limit", 1, "limit", (json_int_t)w->limit,
                  "t", (json_int_t)w->t_out, "events", (json_int_t)w->events_out);
    int rc = write_json_line(w, o);
    json_decref(o);
    pthread_mutex_lock(&w->mu);
    w->limit_hit = 1;
    if (rc)
        w->werr = -rc;
    pthread_mutex_unlock(&w->mu);
}

/* Write encoded text that holds events lines ending at time t_last; on failure cut the file
 * back to its last whole piece. 0 or -errno (then the recording stops). */
static int put_out(struct trace_writer *w, const char *data, size_t len, uint64_t events,
                   uint64_t t_last)
{
    int rc = trace_write_all(w->fd, data, len);
    if (rc && ftruncate(w->fd, (off_t)w->bytes) == 0)
        lseek(w->fd, (off_t)w->bytes, SEEK_SET); /* no partial piece: the file reads to here */
    pthread_mutex_lock(&w->mu);
    if (rc) {
        w->werr = -rc;
    } else {
        w->bytes += len;
        w->events_out += events;
        w->t_out = t_last;
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* The time of the last line in text[0..len) (each line starts {"t":N). */
static uint64_t last_time(const char *text, size_t len)
{
    size_t i = len >= 2 ? len - 2 : 0;
    while (i > 0 && text[i - 1] != '\n')
        i--;
    return strtoull(text + i + 5, NULL, 10);
}

static uint64_t count_lines(const char *text, size_t len)
{
    uint64_t n = 0;
    for (const char *p = text; (p = memchr(p, '\n', (size_t)(text + len - p))); p++)
        n++;
    return n;
}

/* Near the limit: the chunk in pieces of about a sixteenth (whole lines, each compressed on
 * its own), written while they fit; then the line that says the recording stopped. */
static void write_pieces(struct trace_writer *w, const struct chunk *c)
{
    for (size_t start = 0; start < c->len;) {
        size_t end = start + c->len / 16;
        const char *nl = end < c->len ? memchr(c->buf + end, '\n', c->len - end) : NULL;
        end = nl ? (size_t)(nl - c->buf) + 1 : c->len;
        const char *data;
        size_t len;
        int rc = encode(w, c->buf + start, end - start, &data, &len);
        if (rc == 0 && w->bytes + len + LIMIT_RESERVE > w->limit)
            break;
        if (rc == 0)
            rc = put_out(w, data, len, count_lines(c->buf + start, end - start),
                         last_time(c->buf + start, end - start));
        if (rc) {
            pthread_mutex_lock(&w->mu);
            w->werr = -rc;
            pthread_mutex_unlock(&w->mu);
            return;
        }
        start = end;
    }
    write_limit_line(w);
}

/* Writer thread: one chunk out, or as much of it as the limit leaves room for. */
static void write_chunk(struct trace_writer *w, const struct chunk *c)
{
    const char *data;
    size_t len;
    int rc = encode(w, c->buf, c->len, &data, &len);
    if (rc == 0 && w->limit && w->bytes + len + LIMIT_RESERVE > w->limit) {
        write_pieces(w, c);
        return;
    }
    if (rc == 0)
        put_out(w, data, len, c->events, c->t_last);
    else {
        pthread_mutex_lock(&w->mu);
        w->werr = -rc;
        pthread_mutex_unlock(&w->mu);
    }
}

static void *writer_main(void *arg)
{
    struct trace_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->written == w->filled && !w->quit)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->written == w->filled)
            break;
        const struct chunk *c = &w->chunk[w->written % NCHUNKS];
        int skip = w->werr || w->limit_hit, nice = w->set_nice ? w->nice : INT_MIN;
        w->set_nice = 0;
        pthread_mutex_unlock(&w->mu);
        if (nice != INT_MIN) /* nice is per thread on Linux */
            (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice);
        if (!skip)
            write_chunk(w, c);
        pthread_mutex_lock(&w->mu);
        w->written++;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Start the writer thread with every signal blocked (signals belong to the conductor's
 * signalfd and handlers; a write to a closed pipe then fails with EPIPE). Without a thread
 * chunks are written inline. */
static void start_thread(struct trace_writer *w)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    w->have_thread = pthread_create(&w->thread, NULL, writer_main, w) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void writer_free(struct trace_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    for (int i = 0; i < NCHUNKS; i++)
        free(w->chunk[i].buf);
    ZSTD_freeCCtx(w->zc);
    free(w->zbuf);
    free(w->names);
    free(w->path);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int writer_alloc(struct trace_writer *w, const char *path)
{
    w->path = strdup(path);
    w->names = calloc(1, sizeof(*w->names)); /* optional: without it names are escaped anew */
    for (int i = 0; i < NCHUNKS; i++)
        if (!(w->chunk[i].buf = malloc(TRACE_CHUNK)))
            return -1;
    if (ends_with(path, ".zst")) {
        w->zc = ZSTD_createCCtx();
        w->zcap = ZSTD_compressBound(TRACE_CHUNK);
        w->zbuf = malloc(w->zcap);
        if (!w->zc || !w->zbuf ||
            ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, ZSTD_LEVEL)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_windowLog, 17)) ||
            ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_hashLog, 12)))
            return -1;
    }
    return w->path ? 0 : -1;
}

static int write_header(struct trace_writer *w, const char *scenario, json_t *params)
{
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *p = params ? json_incref(params) : json_object();
    json_t *hdr = json_pack("{s:i, s:s, s:o, s:s}", "ipcscope_trace", 1, "scenario", scenario,
                            "params", p, "started", when);
    int rc = hdr ? write_json_line(w, hdr) : -ENOMEM;
    json_decref(hdr);
    return rc;
}

struct trace_writer *trace_create(const char *path, const char *scenario, json_t *params,
                                  uint64_t limit, char *err, size_t n)
{
    struct trace_writer *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    w->fd = -1;
    w->limit = limit;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (writer_alloc(w, path) < 0) {
        snprintf(err, n, "out of memory");
        goto fail;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (w->fd < 0) {
        snprintf(err, n, "cannot write trace %s: %s", path, strerror(errno));
        goto fail;
    }
    int rc = write_header(w, scenario, params);
    if (rc) {
        snprintf(err, n, "cannot write trace %s: %s", path, strerror(-rc));
        goto fail;
    }
    start_thread(w);
    return w;
fail:
    writer_free(w);
    return NULL;
}

/* The recording stopped: say why, once. */
static void stopped_now(struct trace_writer *w)
{
    w->stopped = 1;
    pthread_mutex_lock(&w->mu);
    int werr = w->werr, limit = w->limit_hit;
    double t = (double)w->t_out / 1e9;
    unsigned long long events = w->events_out;
    pthread_mutex_unlock(&w->mu);
    if (werr)
        snprintf(w->problem, sizeof(w->problem),
                 "cannot write the trace %s: %s; the recording stopped at t=%.3f s after %llu "
                 "events",
                 w->path, strerror(werr), t, events);
    else if (limit)
        snprintf(w->problem, sizeof(w->problem),
                 "the trace %s reached its limit (--record-limit %llu bytes) at t=%.3f s after "
                 "%llu events: the run goes on, later events are not recorded",
                 w->path, (unsigned long long)w->limit, t, events);
}

/* Hand the filled chunk to the writer and take the next one. 1 when the recording stopped. */
static int submit(struct trace_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->filled++;
    if (w->have_thread) {
        pthread_cond_broadcast(&w->cv);
        while (w->filled - w->written >= NCHUNKS && !w->werr && !w->limit_hit)
            pthread_cond_wait(&w->cv, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    if (!w->have_thread) {
        const struct chunk *c = &w->chunk[(w->filled - 1) % NCHUNKS];
        if (!w->werr && !w->limit_hit)
            write_chunk(w, c);
        w->written++;
    }
    pthread_mutex_lock(&w->mu);
    int stop = w->werr || w->limit_hit;
    pthread_mutex_unlock(&w->mu);
    if (stop) {
        stopped_now(w);
        return 1;
    }
    struct chunk *next = &w->chunk[w->filled % NCHUNKS];
    next->len = 0;
    next->events = 0;
    return 0;
}

int trace_write_event(struct trace_writer *w, const struct ev *e, uint64_t t0,
                      const char *task_name, const char *obj_name)
{
    w->given++;
    if (w->stopped)
        return 0;
    struct chunk *c = &w->chunk[w->filled % NCHUNKS];
    uint64_t t = e->t >= t0 ? e->t - t0 : 0;
    struct tbuf b = {.p = c->buf + c->len, .cap = TRACE_LINE_MAX};
    format_event(&b, w->names, e, t, task_name, obj_name);
    c->len += b.n;
    c->events++;
    c->t_last = t;
    if (c->len + TRACE_LINE_MAX > TRACE_CHUNK)
        return submit(w);
    return 0;
}

void trace_writer_set_nice(struct trace_writer *w, int nice)
{
    pthread_mutex_lock(&w->mu);
    w->nice = nice;
    w->set_nice = 1;
    pthread_mutex_unlock(&w->mu);
}

const char *trace_writer_problem(const struct trace_writer *w)
{
    return w ? w->problem : "";
}

int trace_writer_failed(const struct trace_writer *w)
{
    pthread_mutex_lock((pthread_mutex_t *)&w->mu);
    int failed = w->werr != 0;
    pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
    return failed;
}

void trace_writer_counts(const struct trace_writer *w, uint64_t *written, uint64_t *skipped)
{
    pthread_mutex_lock((pthread_mutex_t *)&w->mu);
    *written = w->events_out;
    pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
    *skipped = w->given - *written;
}

/* Flush what the conductor holds and stop the writer thread. */
static void drain(struct trace_writer *w)
{
    if (!w->stopped && w->chunk[w->filled % NCHUNKS].len)
        submit(w);
    if (!w->have_thread)
        return;
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    w->have_thread = 0;
}

/* The end line: the caller's fields plus how many events the file holds, and what the limit
 * left out. */
static int write_trailer(struct trace_writer *w, json_t *trailer)
{
    json_object_set_new(trailer, "ipcscope_trace_end", json_integer(1));
    json_object_set_new(trailer, "events", json_integer((json_int_t)w->events_out));
    if (w->limit_hit)
        json_object_set_new(trailer, "record_limit",
                            json_pack("{s:I, s:I, s:I, s:I}", "limit", (json_int_t)w->limit, "t",
                                      (json_int_t)w->t_out, "events", (json_int_t)w->events_out,
                                      "events_not_recorded",
                                      (json_int_t)(w->given - w->events_out)));
    return write_json_line(w, trailer);
}

int trace_finish(struct trace_writer *w, json_t *trailer, char *err, size_t n)
{
    if (!w) {
        json_decref(trailer);
        return 0;
    }
    drain(w);
    int rc = 0;
    if (trailer && !w->werr)
        rc = write_trailer(w, trailer);
    json_decref(trailer);
    if (rc)
        w->werr = -rc;
    if (close(w->fd) < 0 && !w->werr)
        w->werr = errno;
    w->fd = -1;
    if (!w->stopped && (w->werr || w->limit_hit))
        stopped_now(w);
    rc = w->werr ? -1 : w->limit_hit ? 1 : 0;
    snprintf(err, n, "%s", w->problem);
    writer_free(w);
    return rc;
}

int trace_writer_fd(const struct trace_writer *w)
{
    return w ? w->fd : -1;
}
