/*
 * pipe.c - pipes and FIFOs: made with pipe/pipe2 or mkfifo and open, then followed through
 * read, write and close (fd.c dispatches them here) in every process holding an end.
 *
 * A pipe or FIFO is known by its inode, so its ends are recognised after fork, dup2 and
 * exec. Each operation records the bytes in the pipe after it ("the fill", below); a read of
 * an empty pipe or a write to a full one marks the caller blocked on it, and so does opening
 * a FIFO until its other end is opened.
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

/* ---- the fill ----
 * A pipe the run made is empty at first and, while every byte into and out of it passes
 * through pipe_write and pipe_read, its fill is the bytes written minus the bytes read: counts
 * in its map entry, kept with atomics, no system call (two FIONREADs a call cost a program of
 * small messages more than its own work). Calls under way are counted too (pipe_writing,
 * pipe_reading), which bounds what the kernel can hold whatever order it did them in; a fill
 * outside the bounds (a short read of more than was counted, more than the capacity, a
 * FIONREAD that disagrees) means someone the run does not see reads or writes it (stdio
 * inside glibc, writev, splice, a process without the library). The counts are then given
 * up for good, and the pipe's fill is the kernel's (FIONREAD) at every call, as a FIFO's
 * always is (anyone may open one, and it empties when its last end closes). */

/* How many counted calls of a process between two FIONREADs that check the counts. */
#define FILL_CHECK_EVERY 256

static TLS uint32_t tl_fill_calls;

static int counted(const struct instr_attach_objx *x)
{
    return !atomic_load_explicit(&x->pipe_kernel, memory_order_relaxed);
}

/* The counted fill now, within [0, cap]. */
static int64_t counted_fill(struct instr_attach_objx *x, int64_t cap)
{
    int64_t f = atomic_load(&x->pipe_in) - atomic_load(&x->pipe_out);
    return f < 0 ? 0 : f > cap ? cap : f;
}

/* The kernel's fill at some moment is within [in_before - reading - out, writing + in -
 * out_before], where in_before and out_before were read before that moment and the rest
 * after it (a call's bytes are counted after the kernel made them, and are asked of it
 * before). Outside: the counts are given up. */
static void check_fill(struct instr_attach_objx *x, int64_t fill, int64_t in_before,
                       int64_t out_before)
{
    int64_t writing = atomic_load(&x->pipe_writing), reading = atomic_load(&x->pipe_reading);
    int64_t in = atomic_load(&x->pipe_in), out = atomic_load(&x->pipe_out);
    if (fill < in_before - reading - out || fill > writing + in - out_before)
        atomic_store(&x->pipe_kernel, 1);
}

/* FIONREAD, and in counted mode a check of the counts against it. */
static int kernel_fill(int fd, struct instr_attach_objx *x)
{
    int64_t in = atomic_load(&x->pipe_in), out = atomic_load(&x->pipe_out);
    int fill = pipe_fill(fd);
    if (fill >= 0 && counted(x))
        check_fill(x, fill, in, out);
    return fill;
}

/* The fill before a read (write: n bytes) that might wait on it: the counts' when they say
 * it cannot, else the kernel's (-1: unknown). Every FILL_CHECK_EVERY-th counted call asks
 * the kernel too, and every call while the gate holds the run: stepped or paced, a reader the
 * run cannot see (readv, a process without the library) is found at the next call, not up to
 * 256 calls later, and a FIONREAD costs nothing beside the pace. */
static int64_t fill_before(int fd, struct instr_attach_objx *x, int64_t cap, int write, size_t n)
{
    if (counted(x) && !atomic_load_explicit(&g_sh->gate_hold, memory_order_relaxed) &&
        ++tl_fill_calls % FILL_CHECK_EVERY) {
        int64_t f = counted_fill(x, cap);
        if (write ? f + (int64_t)n <= cap : f > 0)
            return f;
    }
    return kernel_fill(fd, x);
}

/* Count a read of r bytes (n asked; in_before, out_before: the counts before it). A short
 * read left the pipe empty, an end of file too: checked against the counts. */
static void count_read(struct instr_attach_objx *x, size_t n, ssize_t r, int64_t in_before,
                       int64_t out_before)
{
    if (r > 0)
        atomic_fetch_add(&x->pipe_out, r);
    atomic_fetch_sub(&x->pipe_reading, (int64_t)n);
    if (r >= 0 && (size_t)r < n)
        check_fill(x, 0, in_before, out_before);
    /* it read bytes nobody was counted writing */
    int64_t writing = atomic_load(&x->pipe_writing);
    if (atomic_load(&x->pipe_out) > writing + atomic_load(&x->pipe_in))
        atomic_store(&x->pipe_kernel, 1);
}

/* Count a write of w bytes (n asked). More than the capacity: a reader is not counted. */
static void count_write(struct instr_attach_objx *x, size_t n, ssize_t w, int64_t cap)
{
    if (w > 0)
        atomic_fetch_add(&x->pipe_in, w);
    atomic_fetch_sub(&x->pipe_writing, (int64_t)n);
    int64_t reading = atomic_load(&x->pipe_reading);
    if (atomic_load(&x->pipe_in) - reading - atomic_load(&x->pipe_out) > cap)
        atomic_store(&x->pipe_kernel, 1);
}

void pipe_unseen_io(int fd)
{
    struct fd_ent e = fd_get(fd);
    if (g_sh && e.kind == FDK_PIPE && e.id1)
        atomic_store(&g_map->x[e.id1 - 1].pipe_kernel, 1);
}

/* The fill after a call: the counts' or the kernel's. */
static int64_t fill_after(int fd, struct instr_attach_objx *x, int64_t cap)
{
    if (counted(x))
        return counted_fill(x, cap);
    int fill = pipe_fill(fd);
    return fill < 0 ? 0 : fill;
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
    if (fds[0] <= STDERR_FILENO || fds[1] <= STDERR_FILENO)
        pipe_unseen_io(fds[0]); /* stdio's too */
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
    struct instr_attach_objx *x = &g_map->x[o->id];
    int blocks = n > 0 && fill_before(fd, x, o->capacity, 0, n) == 0 && blocking_fd(fd);
    if (blocks)
        block_on(o, 0, 0);
    int64_t in = atomic_load(&x->pipe_in), out = atomic_load(&x->pipe_out);
    atomic_fetch_add(&x->pipe_reading, (int64_t)n);
    ssize_t r = REAL(read)(fd, buf, n);
    int err = errno;
    count_read(x, n, r, in, out);
    int64_t after = fill_after(fd, x, o->capacity);
    if (blocks)
        unblock(o, after, r < 0 ? err : 0);
    if (r >= 0)
        op(o, EV_PIPE_READ, after, r, 0);
    errno = err;
    return r;
}

ssize_t pipe_write(struct instr_obj *o, int fd, const void *buf, size_t n)
{
    gate(EV_PIPE_WRITE, o->id);
    struct instr_attach_objx *x = &g_map->x[o->id];
    int64_t fill = fill_before(fd, x, o->capacity, 1, n);
    int blocks = fill >= 0 && fill + (int64_t)n > o->capacity && blocking_fd(fd);
    if (blocks)
        block_on(o, fill, fill);
    atomic_fetch_add(&x->pipe_writing, (int64_t)n);
    ssize_t w = REAL(write)(fd, buf, n);
    int err = errno;
    count_write(x, n, w, o->capacity);
    int64_t after = fill_after(fd, x, o->capacity);
    if (blocks)
        unblock(o, after, w < 0 ? err : 0);
    if (w >= 0)
        op(o, EV_PIPE_WRITE, after, w, 0);
    errno = err;
    return w;
}

ssize_t pipe_read_unseen(struct instr_obj *o, int fd, void *buf, size_t n)
{
    struct instr_attach_objx *x = &g_map->x[o->id];
    int64_t in = atomic_load(&x->pipe_in), out = atomic_load(&x->pipe_out);
    atomic_fetch_add(&x->pipe_reading, (int64_t)n);
    ssize_t r = REAL(read)(fd, buf, n);
    int err = errno;
    count_read(x, n, r, in, out);
    errno = err;
    return r;
}

ssize_t pipe_write_unseen(struct instr_obj *o, int fd, const void *buf, size_t n)
{
    struct instr_attach_objx *x = &g_map->x[o->id];
    atomic_fetch_add(&x->pipe_writing, (int64_t)n);
    ssize_t w = REAL(write)(fd, buf, n);
    int err = errno;
    count_write(x, n, w, o->capacity);
    errno = err;
    return w;
}

void pipe_closing(struct instr_obj *o, int fd, int write_end)
{
    op(o, EV_PIPE_CLOSE, fill_after(fd, &g_map->x[o->id], o->capacity), 0, write_end != 0);
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
    if (o)
        atomic_store(&g_map->x[o->id].pipe_kernel, 1); /* its fill: the kernel's */
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
        if (o)
            atomic_store(&g_map->x[o->id].pipe_kernel, 1);
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
