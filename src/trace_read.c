/*
 * trace_read.c - reading a trace back, plain or zstd, line by line, in bounded memory.
 *
 * The reader keeps one buffer of text (decompressed when the file starts with the zstd
 * magic, whatever its name) and cuts lines from it; each line remembers where it started,
 * so replay can seek back to it (for zstd: the frame it is in and how far into that frame).
 * Lines are parsed by trace_parse.c. It never trusts the file: the first bad line is named.
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
        json_t *kept = NULL;
        char why[256];
        rc = trace_parse_line(line, len, rec, &kept, why, sizeof(why));
        if (rc < 0) {
            rd->cut |= partial; /* the file ends inside this line: still an error, named */
            snprintf(err, n, "line %zu: %s%s", rd->lineno, why,
                     partial ? " (the file ends inside this line: it was cut short; without its "
                               "last line the rest reads)"
                             : "");
            return -1;
        }
        if (rc == TRACE_LINE_END || rc == TRACE_LINE_LIMIT) {
            json_t **slot = rc == TRACE_LINE_END ? &rd->trailer : &rd->limit;
            json_decref(*slot);
            *slot = kept;
            continue;
        }
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
