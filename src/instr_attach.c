/*
 * instr_attach.c - map a region made by another process (the conductor) into this one.
 *
 * Used by the exec preload library, which cannot inherit the region's address the way forked
 * workers do: it receives the memfd, maps it wherever the kernel likes, and from then on uses
 * offsets only. Kept apart from instr.c so the preload library needs nothing else of it.
 */
#define _GNU_SOURCE
#include "instr_attach.h"

#include <errno.h>
#include <sys/mman.h>

int instr_region_attach(int fd, size_t size, struct instr_shared **out)
{
    if (fd < 0 || size < sizeof(struct instr_shared))
        return -EINVAL;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;

    struct instr_shared *sh = p;
    if (sh->magic != INSTR_MAGIC || sh->size != size || sh->rings_off >= size ||
        sh->rings_off + (size_t)sh->max_tasks * sh->ring_stride > size) {
        munmap(p, size);
        return -EINVAL;
    }
    *out = sh;
    return 0;
}

void instr_region_detach(struct instr_shared *sh)
{
    if (sh)
        munmap(sh, sh->size);
}

struct instr_attach_map *instr_attach_map_at(struct instr_shared *sh, size_t off)
{
    if (!sh || off < sh->arena_off || off + sizeof(struct instr_attach_map) > sh->size)
        return NULL;
    struct instr_attach_map *m = (struct instr_attach_map *)((char *)sh + off);
    return m->magic == INSTR_ATTACH_MAGIC ? m : NULL;
}

struct ring *instr_attach_ring(struct instr_shared *sh, uint32_t slot)
{
    return (struct ring *)((char *)sh + sh->rings_off + (size_t)slot * sh->ring_stride);
}
