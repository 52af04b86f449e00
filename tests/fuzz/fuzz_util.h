/*
 * fuzz_util.h - what the libFuzzer harnesses in tests/fuzz share: the input as a file a
 * reader can open by path (a memfd, no disk), and a sink for messages nobody reads.
 */
#ifndef IPCSCOPE_FUZZ_UTIL_H
#define IPCSCOPE_FUZZ_UTIL_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* The input as a file: "/proc/self/fd/N" of a memfd rewritten on every call. */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz-input", 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        return NULL;
    return path;
}

/* A FILE that swallows everything (usage messages, summaries). */
static inline FILE *fuzz_sink(void)
{
    static FILE *f;
    if (!f)
        f = fopen("/dev/null", "w");
    return f;
}

#endif
