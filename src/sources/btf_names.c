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

/* name (len bytes, no NUL in them) is names[i] whole (lens[i] long). The lengths first: of
 * the section's ~100,000 names hardly any has one of theirs, and comparing each with every
 * name was ~9% of the probes' start. */
static void mark(const char *name, size_t len, const char *const *names, const size_t *lens,
                 size_t n, unsigned char *found)
{
    for (size_t i = 0; i < n; i++)
        if (lens[i] == len && !found[i] && memcmp(names[i], name, len) == 0)
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
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(names[i]);
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
                mark(p, (size_t)(nul - p), names, lens, n, found);
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
        mark(buf, have, names, lens, n, found);
    free(lens);
    free(buf);
    close(fd);
    return err;
}
