/*
 * fd.c - the descriptors a program uses for IPC: this process's table of which descriptor
 * stands for which object, the wrappers that make, copy and close descriptors, and the
 * dispatch of read, write and close to pipes and sockets.
 *
 * read and write on a descriptor that is not a followed object cost one array load; a
 * table is per process (threads share it, fork copies it) and is rebuilt from
 * /proc/self/fd after an exec. Pipes, FIFOs and sockets are keyed by their inode, so
 * every process finds the same object for the same kernel object.
 */
#include "preload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Atomic uint64_t g_fds[FD_MAX];

void fd_put(int fd, const struct instr_obj *o, int kind, int flags)
{
    if (fd < 0 || fd >= FD_MAX)
        return;
    uint64_t v = (uint64_t)(o ? o->id + 1 : 0) | (uint64_t)(uint8_t)kind << 32 |
                 (uint64_t)(uint8_t)flags << 40;
    atomic_store_explicit(&g_fds[fd], v, memory_order_relaxed);
}

void fd_clear(int fd)
{
    if (fd >= 0 && fd < FD_MAX)
        atomic_store_explicit(&g_fds[fd], 0, memory_order_relaxed);
}

/* fd's entry is copied to nfd (dup, dup2, F_DUPFD); what nfd was is closed first. */
static void fd_copy(int fd, int nfd)
{
    if (nfd < 0 || nfd >= FD_MAX)
        return;
    uint64_t v = fd >= 0 && fd < FD_MAX ? atomic_load(&g_fds[fd]) : 0;
    atomic_store_explicit(&g_fds[nfd], v, memory_order_relaxed);
    if (nfd <= STDERR_FILENO)
        pipe_unseen_io(nfd); /* stdio's */
}

/* ---- after an exec: the table from /proc/self/fd ---- */

static void rescan_one(int fd)
{
    struct stat st;
    if (fd >= FD_MAX || fstat(fd, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
        return;
    int kind = S_ISFIFO(st.st_mode) ? OK_PIPE : OK_SOCKET;
    struct instr_obj *o = obj_find(inode_key(st.st_dev, st.st_ino), kind, 1);
    if (!o)
        return;
    int fl = REAL(fcntl)(fd, F_GETFL);
    int flags = kind == OK_PIPE && fl >= 0 && (fl & O_ACCMODE) == O_WRONLY ? FDF_WRITE : 0;
    fd_put(fd, o, kind == OK_PIPE ? FDK_PIPE : FDK_SOCK, flags);
    if (fd <= STDERR_FILENO)
        pipe_unseen_io(fd); /* the new program's stdio */
}

void fd_rescan(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && fd != dirfd(d))
            rescan_one(fd);
    }
    closedir(d);
}

/* ---- read, write, close ---- */

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    struct fd_ent e = fd_get(fd);
    if (!e.kind || !g_sh)
        return REAL(read)(fd, buf, n);
    if (e.kind == FDK_PIPE && e.id1 && !active())
        return pipe_read_unseen(&g_sh->objs[e.id1 - 1], fd, buf, n);
    if (!active())
        return REAL(read)(fd, buf, n);
    if (e.kind == FDK_PIPE && e.id1)
        return pipe_read(&g_sh->objs[e.id1 - 1], fd, buf, n);
    if (e.kind == FDK_SOCK)
        return sock_recv(fd, buf, n, 0, NULL, NULL);
    return REAL(read)(fd, buf, n);
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen)
        abort();
    return read(fd, buf, n);
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    struct fd_ent e = fd_get(fd);
    if (!e.kind || !g_sh)
        return REAL(write)(fd, buf, n);
    if (e.kind == FDK_PIPE && e.id1 && !active())
        return pipe_write_unseen(&g_sh->objs[e.id1 - 1], fd, buf, n);
    if (!active())
        return REAL(write)(fd, buf, n);
    if (e.kind == FDK_PIPE && e.id1)
        return pipe_write(&g_sh->objs[e.id1 - 1], fd, buf, n);
    if (e.kind == FDK_SOCK)
        return sock_send(fd, buf, n, 0, NULL, 0);
    return REAL(write)(fd, buf, n);
}

/* Record the close of fd's object (the entry is cleared either way). */
static void closing(int fd)
{
    struct fd_ent e = fd_get(fd);
    if (!e.kind)
        return;
    if (active() && e.id1 && e.kind == FDK_PIPE)
        pipe_closing(&g_sh->objs[e.id1 - 1], fd, e.flags & FDF_WRITE);
    else if (active() && e.id1 && e.kind == FDK_SOCK)
        sock_closing(&g_sh->objs[e.id1 - 1], fd);
    else if (e.kind == FDK_SHM)
        shm_forget_fd(fd);
    fd_clear(fd);
}

EXPORT int close(int fd)
{
    if (g_sh)
        closing(fd);
    return REAL(close)(fd);
}

/* fclose closes inside glibc, past close(): forget the descriptor first. */
EXPORT int fclose(FILE *f)
{
    if (g_sh && f)
        closing(fileno(f));
    return REAL(fclose)(f);
}

/* A stream on a pipe end reads and writes it inside glibc, where the run cannot count. */
EXPORT FILE *fdopen(int fd, const char *mode)
{
    FILE *f = REAL(fdopen)(fd, mode);
    if (f)
        pipe_unseen_io(fd);
    return f;
}

/* ---- copies ---- */

EXPORT int dup(int fd)
{
    int nfd = REAL(dup)(fd);
    if (g_sh && nfd >= 0)
        fd_copy(fd, nfd);
    return nfd;
}

EXPORT int dup2(int fd, int nfd)
{
    if (g_sh && fd != nfd && fd_get(fd).kind + fd_get(nfd).kind && fcntl(fd, F_GETFD) >= 0)
        closing(nfd); /* dup2 closes nfd first, when fd is valid */
    int rc = REAL(dup2)(fd, nfd);
    if (g_sh && rc >= 0 && fd != nfd)
        fd_copy(fd, rc);
    return rc;
}

EXPORT int dup3(int fd, int nfd, int flags)
{
    if (g_sh && fd != nfd && fd_get(fd).kind + fd_get(nfd).kind && fcntl(fd, F_GETFD) >= 0)
        closing(nfd);
    int rc = REAL(dup3)(fd, nfd, flags);
    if (g_sh && rc >= 0)
        fd_copy(fd, rc);
    return rc;
}

/* fcntl's third argument is an int or a pointer; F_DUPFD* make copies. */
static int fcntl_common(int fd, int cmd, va_list ap, int is64)
{
    void *arg = va_arg(ap, void *);
    int rc = is64 ? REAL(fcntl64)(fd, cmd, arg) : REAL(fcntl)(fd, cmd, arg);
    if (g_sh && rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
        fd_copy(fd, rc);
    return rc;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int rc = fcntl_common(fd, cmd, ap, 0);
    va_end(ap);
    return rc;
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int rc = fcntl_common(fd, cmd, ap, 1);
    va_end(ap);
    return rc;
}

/* ---- open: FIFOs ---- */

/* open, open64, openat, openat64: the mode is there only with O_CREAT or O_TMPFILE. */
static int open_common(int dirfd, const char *path, int flags, mode_t mode, int which)
{
    struct instr_obj *fifo = active() ? fifo_before_open(path, flags) : NULL;
    int fd;
    switch (which) {
    case 0:
        fd = REAL(open)(path, flags, mode);
        break;
    case 1:
        fd = REAL(open64)(path, flags, mode);
        break;
    case 2:
        fd = REAL(openat)(dirfd, path, flags, mode);
        break;
    default:
        fd = REAL(openat64)(dirfd, path, flags, mode);
        break;
    }
    if (g_sh && fd >= 0)
        fd_clear(fd); /* a new descriptor: whatever was known under this number is gone */
    if (active() && (fifo || (fd >= 0 && !(flags & (O_CREAT | O_DIRECTORY | O_PATH)))))
        fifo_after_open(fifo, fd, path, flags);
    return fd;
}

#define OPEN_MODE(flags, ap)                                                                       \
    (((flags) & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : (mode_t)0)

EXPORT int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = OPEN_MODE(flags, ap);
    va_end(ap);
    return open_common(AT_FDCWD, path, flags, mode, 0);
}

EXPORT int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = OPEN_MODE(flags, ap);
    va_end(ap);
    return open_common(AT_FDCWD, path, flags, mode, 1);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = OPEN_MODE(flags, ap);
    va_end(ap);
    return open_common(dirfd, path, flags, mode, 2);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = OPEN_MODE(flags, ap);
    va_end(ap);
    return open_common(dirfd, path, flags, mode, 3);
}
