/*
 * shm.c - POSIX shared memory: shm_open, ftruncate, mmap, munmap, shm_unlink; and the
 * mappings of System V segments (sysv.c records shmat and shmdt here).
 *
 * A shared memory object is one object per name (keyed by its inode under /dev/shm): its
 * value is its size, and its mappings count how many mappings of it the run's processes
 * hold, from map and unmap, a fork (the child inherits them) and an exit (they go). This
 * process's own mappings are a small table, so munmap of ordinary memory costs one check.
 */
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAPS_MAX 256

static struct {
    uintptr_t addr;
    size_t len;
    uint32_t id1; /* object id + 1; 0: a free entry */
    int sysv;
} g_maps[MAPS_MAX];
static _Atomic int g_nmaps; /* entries in use (0: munmap passes straight through) */
static _Atomic uint32_t g_maps_lock;

static void maps_lock(void)
{
    busy_enter();
    while (atomic_exchange_explicit(&g_maps_lock, 1, memory_order_acquire))
        sched_yield();
}

static void maps_unlock(void)
{
    atomic_store_explicit(&g_maps_lock, 0, memory_order_release);
    busy_leave();
}

/* The mapping count of o changes by delta: recorded. */
static void mappings(struct instr_obj *o, int delta, size_t len, int sysv, int32_t pid)
{
    (void)sysv;
    int users = atomic_fetch_add((_Atomic int32_t *)&g_map->x[o->id].users, delta) + delta;
    op(o, delta > 0 ? EV_SHM_MAP : EV_SHM_UNMAP, users, (int64_t)len, pid);
}

void shm_track(void *addr, size_t len, struct instr_obj *o, int sysv)
{
    maps_lock();
    for (int i = 0; i < MAPS_MAX; i++) {
        if (g_maps[i].id1)
            continue;
        g_maps[i].addr = (uintptr_t)addr;
        g_maps[i].len = len;
        g_maps[i].id1 = o->id + 1;
        g_maps[i].sysv = sysv;
        atomic_fetch_add(&g_nmaps, 1);
        break;
    }
    maps_unlock();
    mappings(o, 1, len, sysv, g_pid);
}

struct instr_obj *shm_untrack(const void *addr, size_t *len, int *sysv)
{
    struct instr_obj *o = NULL;
    maps_lock();
    for (int i = 0; i < MAPS_MAX && !o; i++) {
        if (!g_maps[i].id1 || g_maps[i].addr != (uintptr_t)addr)
            continue;
        o = &g_sh->objs[g_maps[i].id1 - 1];
        *len = g_maps[i].len;
        *sysv = g_maps[i].sysv;
        g_maps[i].id1 = 0;
        atomic_fetch_sub(&g_nmaps, 1);
    }
    maps_unlock();
    if (o)
        mappings(o, -1, *len, *sysv, g_pid);
    return o;
}

void shm_after_fork(void)
{
    for (int i = 0; i < MAPS_MAX && atomic_load(&g_nmaps); i++)
        if (g_maps[i].id1)
            mappings(&g_sh->objs[g_maps[i].id1 - 1], 1, g_maps[i].len, g_maps[i].sysv, g_pid);
}

void shm_at_exit(void)
{
    for (int i = 0; i < MAPS_MAX && atomic_load(&g_nmaps); i++) {
        if (!g_maps[i].id1)
            continue;
        mappings(&g_sh->objs[g_maps[i].id1 - 1], -1, g_maps[i].len, g_maps[i].sysv, g_pid);
        g_maps[i].id1 = 0;
        atomic_fetch_sub(&g_nmaps, 1);
    }
}

void shm_forget_fd(int fd)
{
    (void)fd; /* the mappings outlive the descriptor: nothing to do */
}

/* ---- shm_open, ftruncate, shm_unlink ---- */

EXPORT int shm_open(const char *name, int oflag, mode_t mode)
{
    int fd = REAL(shm_open)(name, oflag, mode);
    if (fd < 0 || !active())
        return fd;
    int err = errno;
    struct stat st;
    if (fstat(fd, &st) == 0) {
        struct obj_spec sp = {.kind = OK_SHM,
                              .shared = 1,
                              .psize = 1,
                              .init = st.st_size,
                              .name = name + (name[0] == '/')};
        struct instr_obj *o = obj_at(inode_key(st.st_dev, st.st_ino), &sp);
        if (o)
            g_map->x[o->id].flags |= INSTR_OBJX_PATH;
        fd_put(fd, o, FDK_SHM, 0);
    }
    errno = err;
    return fd;
}

static int truncate_common(int fd, off_t len, int is64)
{
    struct instr_obj *o = active() ? fd_obj(fd, FDK_SHM) : NULL;
    struct stat st;
    off_t before = o && fstat(fd, &st) == 0 ? st.st_size : 0;
    int rc = is64 ? REAL(ftruncate64)(fd, len) : REAL(ftruncate)(fd, len);
    if (rc == 0 && o) {
        int err = errno;
        op(o, EV_OBJ_SIZE, len, before, 0);
        errno = err;
    }
    return rc;
}

EXPORT int ftruncate(int fd, off_t len)
{
    return truncate_common(fd, len, 0);
}

EXPORT int ftruncate64(int fd, off_t len)
{
    return truncate_common(fd, len, 1);
}

EXPORT int shm_unlink(const char *name)
{
    return unlink_named(REAL(shm_unlink), "/dev/shm/", name, OK_SHM);
}

/* ---- mmap, munmap ---- */

static void *mmap_common(void *addr, size_t len, int prot, int flags, int fd, off_t off, int is64)
{
    struct instr_obj *o = active() && fd >= 0 ? fd_obj(fd, FDK_SHM) : NULL;
    void *p = is64 ? REAL(mmap64)(addr, len, prot, flags, fd, off)
                   : REAL(mmap)(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED && o) {
        int err = errno;
        shm_track(p, len, o, 0);
        errno = err;
    }
    return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap_common(addr, len, prot, flags, fd, off, 0);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap_common(addr, len, prot, flags, fd, off, 1);
}

EXPORT int munmap(void *addr, size_t len)
{
    int rc = REAL(munmap)(addr, len);
    if (rc == 0 && active() && atomic_load_explicit(&g_nmaps, memory_order_relaxed)) {
        int err = errno, sysv = 0;
        size_t mapped = len;
        struct instr_obj *o = shm_untrack(addr, &mapped, &sysv);
        (void)o;
        errno = err;
    }
    return rc;
}
