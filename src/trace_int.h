/*
 * trace_int.h - what the trace files (trace_write.c, trace_read.c, trace_export.c) share and
 * nobody else uses: JSON text formatted straight into a caller's buffer, and the size limits.
 *
 * The formatter writes the compact JSON jansson would print (same escapes, key order chosen
 * by the caller) about ten times faster, since a busy run records half a million events a
 * second. A name that is not valid UTF-8 is written with U+FFFD so every line stays JSON.
 */
#ifndef IPCSCOPE_TRACE_INT_H
#define IPCSCOPE_TRACE_INT_H

#include "trace.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TRACE_NAME_BYTES (TRACE_NAME_BUF - 1) /* names are written up to this many bytes */
#define TRACE_LINE_MAX 2048                   /* the longest event line the writer makes */
#define TRACE_CHUNK (1u << 20)                /* text per zstd frame / per write */
#define TRACE_ZSTD_MAGIC 0xFD2FB528u /* the first four bytes of a zstd frame, little endian */

/* Text being formatted: p[0..n) written, cap bytes in all. Writes past cap are cut. */
struct tbuf {
    char *p;
    size_t n, cap;
};

/* Append n bytes (inline: most calls copy a constant key of known length). */
static inline void tbuf_raw(struct tbuf *b, const char *s, size_t n)
{
    if (__builtin_expect(n <= b->cap - b->n, 1)) { /* n stays a constant: a few moves */
        memcpy(b->p + b->n, s, n);
        b->n += n;
        return;
    }
    memcpy(b->p + b->n, s, b->cap - b->n);
    b->n = b->cap;
}

extern const char trace_digits2[201]; /* "00" "01" ... "99" */

/* A decimal integer, two digits at a time (a line has about ten numbers). */
static inline void tbuf_int(struct tbuf *b, long long v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    while (u >= 100) {
        p -= 2;
        memcpy(p, trace_digits2 + 2 * (u % 100), 2);
        u /= 100;
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, trace_digits2 + 2 * u, 2);
    } else {
        *--p = (char)('0' + u);
    }
    if (v < 0)
        *--p = '-';
    tbuf_raw(b, p, (size_t)(tmp + sizeof(tmp) - p));
}
/* A JSON string of at most max bytes of s (escaped; invalid UTF-8 becomes U+FFFD). */
void tbuf_str(struct tbuf *b, const char *s, size_t max);
/* A time in ns as microseconds with three decimals ("12.345"), as trace viewers want it. */
void tbuf_us(struct tbuf *b, uint64_t ns);

/* Length of the valid UTF-8 sequence at s (at most n bytes, n >= 1), 0 when invalid. */
size_t trace_utf8_len(const unsigned char *s, size_t n);

/* Write all n bytes (retrying short writes and EINTR). 0 or -errno. */
int trace_write_all(int fd, const char *p, size_t n);

/* What trace_parse_line found. */
enum { TRACE_LINE_EVENT = 1, TRACE_LINE_END = 2, TRACE_LINE_LIMIT = 3 };

/* One line (without its newline): TRACE_LINE_EVENT with the event in r; TRACE_LINE_END or
 * TRACE_LINE_LIMIT with the line in *kept (a new reference); -1 with what is wrong in err. */
int trace_parse_line(const char *line, size_t len, struct trace_rec *r, json_t **kept, char *err,
                     size_t n);

#define TBUF_LIT(b, s) tbuf_raw(b, s, sizeof(s) - 1)
/* ,"key": */
#define TBUF_KEY(b, k) tbuf_raw(b, ",\"" k "\":", sizeof(k) + 3)

#endif
