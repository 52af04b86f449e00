/*
 * pipe.c - pipes and FIFOs: made with pipe/pipe2 or mkfifo and open, then followed through
 * read, write and close (fd.c dispatches them here) in every process holding an end.
 *
 * A pipe or FIFO is known by its inode, so its ends are recognised after fork, dup2 and
 * exec. Each operation records the bytes in the pipe after it (FIONREAD: the kernel's
 * count); a read of an empty pipe or a write to a full one marks the caller blocked on it,
 * and so does opening a FIFO until its other end is opened.
 */
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

static int pipe_fill(int fd)
{
    int bytes = 0;
    return ioctl(fd, FIONREAD, &bytes) < 0 ? -1 : bytes;
}

/* The pipe object for the inode of st (registered under name when new). */
static struct instr_obj *pipe_object(const struct stat *st, int fd, const char *name, int fresh)
{
    int cap = REAL(fcntl)(fd, F_GETPIPE_SZ);
    struct obj_spec sp = {
        .kind = OK_PIPE, .shared = 1, .psize = 1, .cap = cap > 0 ? cap : 65536, .fresh = fresh};
    char auto_name[INSTR_NAME_MAX];
    if (!name) {
        struct instr_obj *o =
            fresh ? NULL : obj_find(inode_key(st->st_dev, st->st_ino), OK_PIPE, 1);
        if (o)
            return o;
        map_lock();
        snprintf(auto_name, sizeof(auto_name), "pipe@%u", ++g_map->named[OK_PIPE]);
        map_unlock();
        name = auto_name;
    }
    sp.name = name;
    struct instr_obj *o = obj_at(inode_key(st->st_dev, st->st_ino), &sp);
    if (o)
        atomic_fetch_add(&g_map->npipes, 1);
    return o;
}

static void pipe_register(const int fds[2])
{
    struct stat st;
    if (fstat(fds[0], &st) < 0)
        return;
    struct instr_obj *o = pipe_object(&st, fds[0], NULL, 1);
    fd_put(fds[0], o, FDK_PIPE, 0);
    fd_put(fds[1], o, FDK_PIPE, FDF_WRITE);
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
    int fl = REAL(fcntl)(fd, F_GETFL);
    return fl >= 0 && !(fl & O_NONBLOCK);
}

ssize_t pipe_read(struct instr_obj *o, int fd, void *buf, size_t n)
{
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

ssize_t pipe_write(struct instr_obj *o, int fd, const void *buf, size_t n)
{
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

void pipe_closing(struct instr_obj *o, int fd, int write_end)
{
    int fill = pipe_fill(fd);
    op(o, EV_PIPE_CLOSE, fill < 0 ? 0 : fill, 0, write_end != 0);
}

/* ---- FIFOs: named pipes ---- */

/* The name a FIFO goes by: the last part of its path. */
static void fifo_name(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    snprintf(buf, n, "%s", slash && slash[1] ? slash + 1 : path);
}

static void remember_fifo(const char *name)
{
    map_lock();
    uint32_t n = atomic_load(&g_map->nfifos);
    int known = 0;
    for (uint32_t i = 0; i < n && !known; i++)
        known = strcmp(g_map->fifos[i], name) == 0;
    if (!known && n < INSTR_ATTACH_FIFOS) {
        snprintf(g_map->fifos[n], INSTR_NAME_MAX, "%s", name);
        atomic_store(&g_map->nfifos, n + 1);
    }
    map_unlock();
}

static int fifo_known(const char *name)
{
    uint32_t n = atomic_load(&g_map->nfifos);
    for (uint32_t i = 0; i < n && i < INSTR_ATTACH_FIFOS; i++)
        if (strcmp(g_map->fifos[i], name) == 0)
            return 1;
    return 0;
}

EXPORT int mkfifo(const char *path, mode_t mode)
{
    int rc = REAL(mkfifo)(path, mode);
    if (rc == 0 && active()) {
        char name[INSTR_NAME_MAX];
        fifo_name(path, name, sizeof(name));
        remember_fifo(name);
    }
    return rc;
}

EXPORT int mkfifoat(int dirfd, const char *path, mode_t mode)
{
    int rc = REAL(mkfifoat)(dirfd, path, mode);
    if (rc == 0 && active()) {
        char name[INSTR_NAME_MAX];
        fifo_name(path, name, sizeof(name));
        remember_fifo(name);
    }
    return rc;
}

struct instr_obj *fifo_before_open(const char *path, int flags)
{
    char name[INSTR_NAME_MAX];
    struct stat st;
    if (!path || !atomic_load(&g_map->nfifos))
        return NULL;
    fifo_name(path, name, sizeof(name));
    if (!fifo_known(name) || stat(path, &st) < 0 || !S_ISFIFO(st.st_mode))
        return NULL;
    struct obj_spec sp = {.kind = OK_PIPE, .shared = 1, .psize = 1, .cap = 65536, .name = name};
    struct instr_obj *o = obj_at(inode_key(st.st_dev, st.st_ino), &sp);
    /* a blocking open of one end waits until the other end is opened */
    if (o && !(flags & O_NONBLOCK) && (flags & O_ACCMODE) != O_RDWR) {
        gate(EV_BLOCK, o->id);
        block_on(o, o->value, 0);
    }
    return o;
}

void fifo_after_open(struct instr_obj *o, int fd, const char *path, int flags)
{
    int err = errno;
    if (o && !(flags & O_NONBLOCK) && (flags & O_ACCMODE) != O_RDWR)
        unblock(o, o->value, fd < 0 ? err : 0);
    struct stat st;
    if (fd >= 0 && !o && (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)))
        return; /* not a FIFO: an ordinary file */
    if (fd >= 0 && !o) {
        char name[INSTR_NAME_MAX];
        fifo_name(path, name, sizeof(name));
        o = pipe_object(&st, fd, name, 0);
        remember_fifo(name);
    }
    if (fd >= 0 && o) {
        if (o->capacity <= 0 || o->capacity == 65536) {
            int cap = REAL(fcntl)(fd, F_GETPIPE_SZ);
            if (cap > 0)
                o->capacity = cap;
        }
        fd_put(fd, o, FDK_PIPE, (flags & O_ACCMODE) == O_WRONLY ? FDF_WRITE : 0);
    }
    errno = err;
}

/* unlink of a FIFO the run follows: its name is gone (open ends keep working). */
EXPORT int unlink(const char *path)
{
    struct stat st;
    struct instr_obj *o = NULL;
    if (active() && atomic_load(&g_map->nfifos) && lstat(path, &st) == 0 && S_ISFIFO(st.st_mode))
        o = obj_find(inode_key(st.st_dev, st.st_ino), OK_PIPE, 1);
    int rc = REAL(unlink)(path);
    if (rc == 0 && o)
        op(o, EV_OBJ_UNLINK, o->value, 0, 0);
    return rc;
}
