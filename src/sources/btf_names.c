/*
 * btf_names.c - which of a few names the string section of a BTF file holds, read through
 * one small buffer.
 *
 * The probes' loader asks whether this kernel has each tracepoint it attaches to (the kernel
 * makes a typedef btf_trace_<tracepoint> for each). The kernel's string section is about
 * 2 MB; read whole into fresh memory it took ~500 page faults, which on a virtual machine
 * (~15 us each where this was measured) were most of the check's cost. Read in pieces, the
 * same few pages serve the whole section.
 */
#include "btf_names.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/btf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIECE (64u << 10)
#define MAX_STR_LEN (64u << 20)

/* Read exactly len bytes at off (a sysfs file gives at most a page per read). */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
    char *p = buf;

    while (len) {
        ssize_t got = pread(fd, p, len, off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return got < 0 ? -errno : -EINVAL; /* shorter than its header says: not BTF */
        p += got;
        len -= (size_t)got;
        off += got;
    }
    return 0;
}

/* The wanted names' lengths, which lengths below 64 they have (bit k: one is k long), and
 * which first bytes. */
struct wanted {
    const char *const *names;
    size_t *lens, n;
    uint64_t short_lens, first[4];
};

/* name (len bytes, no NUL in them) is names[i] whole. Lengths and first bytes first: of the
 * section's ~100,000 names hardly any has one of theirs, and comparing each with every wanted
 * one was ~9% of the probes' start. */
static void mark(const char *name, size_t len, const struct wanted *w, unsigned char *found)
{
    unsigned char c = (unsigned char)name[0];
    if ((len < 64 && !(w->short_lens >> len & 1)) || !(w->first[c / 64] >> c % 64 & 1))
        return;
    for (size_t i = 0; i < w->n; i++)
        if (w->lens[i] == len && !found[i] && memcmp(w->names[i], name, len) == 0)
            found[i] = 1;
}

int btf_names_find(const char *path, const char *const *names, size_t n, unsigned char *found)
{
    struct btf_header h;
    int err, fd = open(path, O_RDONLY | O_CLOEXEC);

    memset(found, 0, n);
    if (fd < 0)
        return -errno;
    char *buf = malloc(PIECE);
    size_t *lens = malloc((n ? n : 1) * sizeof(*lens));
    if (!buf || !lens) {
        free(buf);
        free(lens);
        close(fd);
        return -ENOMEM;
    }
    struct wanted w = {.names = names, .lens = lens, .n = n};
    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(names[i]);
        if (lens[i] < 64)
            w.short_lens |= 1ull << lens[i];
        unsigned char c = (unsigned char)names[i][0];
        w.first[c / 64] |= 1ull << c % 64;
    }
    err = read_at(fd, &h, sizeof(h), 0);
    if (!err && (h.magic != BTF_MAGIC || h.hdr_len < sizeof(h) || h.str_len == 0 ||
                 h.str_len > MAX_STR_LEN))
        err = -EINVAL;

    off_t off = err ? 0 : (off_t)h.hdr_len + h.str_off;
    size_t left = err ? 0 : h.str_len, have = 0;
    int skipping = 0; /* inside a name longer than the buffer: none of ours */
    while (left) {
        size_t want = PIECE - have < left ? PIECE - have : left;
        err = read_at(fd, buf + have, want, off);
        if (err)
            break;
        off += (off_t)want;
        left -= want;
        have += want;

        char *p = buf, *end = buf + have, *nul;
        while ((nul = memchr(p, '\0', (size_t)(end - p)))) {
            if (!skipping)
                mark(p, (size_t)(nul - p), &w, found);
            skipping = 0;
            p = nul + 1;
        }
        have = (size_t)(end - p);
        if (have == PIECE) { /* one name fills the buffer: drop it up to its end */
            skipping = 1;
            have = 0;
        }
        memmove(buf, p, have);
    }
    if (!err && have && !skipping) /* a last name without its NUL */
        mark(buf, have, &w, found);
    free(lens);
    free(buf);
    close(fd);
    return err;
}
