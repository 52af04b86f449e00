/*
 * pipe.c - pipes: created with pipe/pipe2, then followed through read, write and close in
 * every process that holds an end.
 *
 * A pipe is known by its inode, so its ends are recognised after fork, dup2 and exec. Each
 * operation records the bytes in the pipe after it (FIONREAD: the kernel's count), and a
 * read of an empty pipe or a write to a full one marks the caller blocked on it.
 */
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

/* ---- pipes ---- */

static int pipe_fill(int fd)
{
    int bytes = 0;
    return ioctl(fd, FIONREAD, &bytes) < 0 ? -1 : bytes;
}

static void pipe_register(const int fds[2])
{
    struct stat st;
    int cap = fcntl(fds[0], F_GETPIPE_SZ);
    if (cap < 0 || fstat(fds[0], &st) < 0)
        return;
    struct obj_spec sp = {.kind = OK_PIPE, .shared = 1, .psize = 1, .cap = cap, .fresh = 1};
    char name[INSTR_NAME_MAX];
    map_lock();
    snprintf(name, sizeof(name), "pipe@%u", ++g_map->named[OK_PIPE]);
    map_unlock();
    sp.name = name;
    /* keyed by inode: the ends are known in every process, after fork, dup2 and exec */
    struct instr_obj *o = obj_at(inode_key(st.st_dev, st.st_ino), &sp);
    if (!o)
        return;
    g_map->x[o->id].ino = st.st_ino;
    g_map->x[o->id].dev = st.st_dev;
    atomic_fetch_add(&g_map->npipes, 1);
}

/* The pipe object fd is an end of, or NULL (not a pipe this program made). */
static struct instr_obj *pipe_obj(int fd)
{
    struct stat st;
    if (!atomic_load(&g_map->npipes) || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
        return NULL;
    uint32_t n = atomic_load(&g_sh->nobjs);
    for (uint32_t i = n < INSTR_MAX_OBJS ? n : INSTR_MAX_OBJS; i-- > 0;) /* newest first */
        if (g_sh->objs[i].kind == OK_PIPE && g_map->x[i].ino == st.st_ino &&
            g_map->x[i].dev == st.st_dev)
            return &g_sh->objs[i];
    return NULL;
}

EXPORT int pipe(int fds[2])
{
    int rc = REAL(pipe)(fds);
    if (rc == 0 && active())
        pipe_register(fds);
    return rc;
}

EXPORT int pipe2(int fds[2], int flags)
{
    int rc = REAL(pipe2)(fds, flags);
    if (rc == 0 && active())
        pipe_register(fds);
    return rc;
}

static int blocking_fd(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && !(fl & O_NONBLOCK);
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    struct instr_obj *o = active() ? pipe_obj(fd) : NULL;
    if (!o)
        return REAL(read)(fd, buf, n);
    gate(EV_PIPE_READ, o->id);
    int blocks = n > 0 && pipe_fill(fd) == 0 && blocking_fd(fd);
    if (blocks)
        block_on(o, 0, 0);
    ssize_t r = REAL(read)(fd, buf, n);
    int err = errno;
    int after = pipe_fill(fd);
    if (blocks)
        unblock(o, after, r < 0 ? err : 0);
    if (r >= 0)
        op(o, EV_PIPE_READ, after < 0 ? 0 : after, r, 0);
    errno = err;
    return r;
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen)
        abort();
    return read(fd, buf, n);
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    struct instr_obj *o = active() ? pipe_obj(fd) : NULL;
    if (!o)
        return REAL(write)(fd, buf, n);
    gate(EV_PIPE_WRITE, o->id);
    int fill = pipe_fill(fd);
    int blocks = fill >= 0 && (int64_t)fill + (int64_t)n > o->capacity && blocking_fd(fd);
    if (blocks)
        block_on(o, fill, fill);
    ssize_t w = REAL(write)(fd, buf, n);
    int err = errno;
    int after = pipe_fill(fd);
    if (blocks)
        unblock(o, after, w < 0 ? err : 0);
    if (w >= 0)
        op(o, EV_PIPE_WRITE, after < 0 ? 0 : after, w, 0);
    errno = err;
    return w;
}

EXPORT int close(int fd)
{
    struct instr_obj *o = active() ? pipe_obj(fd) : NULL;
    if (o) {
        int fl = fcntl(fd, F_GETFL);
        int fill = pipe_fill(fd);
        op(o, EV_PIPE_CLOSE, fill < 0 ? 0 : fill, 0, fl >= 0 && (fl & O_ACCMODE) == O_WRONLY);
    }
    return REAL(close)(fd);
}
