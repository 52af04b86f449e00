/*
 * mq.c - POSIX message queues: mq_open, mq_send and mq_receive (and their timed forms),
 * mq_close, mq_unlink.
 *
 * A queue is one object per name, whichever process opens it: its value is the depth (the
 * kernel's mq_curmsgs after each operation) and its capacity mq_maxmsg. A send to a full
 * queue or a receive from an empty one marks the caller blocked on it; a timed one that
 * gives up is an unblock with ETIMEDOUT.
 */
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

/* The queue's attributes now, or -1 in mq_curmsgs. */
static struct mq_attr attr_of(mqd_t q)
{
    struct mq_attr a;
    if (mq_getattr(q, &a) < 0)
        a.mq_curmsgs = -1;
    return a;
}

EXPORT mqd_t mq_open(const char *name, int oflag, ...)
{
    va_list ap;
    va_start(ap, oflag);
    mode_t mode = (oflag & O_CREAT) ? (mode_t)va_arg(ap, int) : 0;
    struct mq_attr *at = (oflag & O_CREAT) ? va_arg(ap, struct mq_attr *) : NULL;
    va_end(ap);
    mqd_t q = REAL(mq_open)(name, oflag, mode, at);
    if (q == (mqd_t)-1 || !active())
        return q;
    int err = errno;
    struct stat st;
    struct mq_attr a = attr_of(q);
    if (fstat((int)q, &st) == 0) { /* the queue's inode: the same object in every process */
        struct obj_spec sp = {.kind = OK_MQ,
                              .shared = 1,
                              .psize = 1,
                              .init = a.mq_curmsgs > 0 ? a.mq_curmsgs : 0,
                              .cap = a.mq_maxmsg,
                              .name = name + (name[0] == '/')};
        struct instr_obj *o = obj_at(inode_key(st.st_dev, st.st_ino), &sp);
        if (o)
            g_map->x[o->id].flags |= INSTR_OBJX_PATH;
        fd_put((int)q, o, FDK_MQ, 0);
    }
    errno = err;
    return q;
}

EXPORT int mq_close(mqd_t q)
{
    if (g_sh)
        fd_clear((int)q);
    return REAL(mq_close)(q);
}

/* mq_unlink: the queue of that name (by its inode under /dev/mqueue, where mounted) has no
 * name any more; processes that have it open keep using it. */
EXPORT int mq_unlink(const char *name)
{
    return unlink_named(REAL(mq_unlink), "/dev/mqueue/", name, OK_MQ);
}

/* Send: block mark when the queue is full (and the descriptor blocks). */
static int send_common(mqd_t q, const char *msg, size_t len, unsigned prio,
                       const struct timespec *abstime, int timed)
{
    struct instr_obj *o = fd_obj((int)q, FDK_MQ);
    if (!o)
        return timed ? REAL(mq_timedsend)(q, msg, len, prio, abstime)
                     : REAL(mq_send)(q, msg, len, prio);
    struct deadline d;
    deadline_begin(&d, CLOCK_REALTIME, timed ? abstime : NULL, EV_MQ_SEND, o->id);
    gate(EV_MQ_SEND, o->id);
    struct mq_attr a = attr_of(q);
    int blocks = a.mq_curmsgs >= a.mq_maxmsg && !(a.mq_flags & O_NONBLOCK);
    if (blocks)
        block_on(o, a.mq_curmsgs, a.mq_curmsgs);
    int rc;
    struct timespec slice;
    if (!timed)
        rc = REAL(mq_send)(q, msg, len, prio);
    else
        for (int more = 1; more;) { /* held: in slices, until the gate lets it expire */
            more = deadline_slice(&d, abstime, &slice);
            rc = more ? REAL(mq_timedsend)(q, msg, len, prio, &slice) : (errno = ETIMEDOUT, -1);
            more = more && d.held && rc < 0 && errno == ETIMEDOUT;
        }
    deadline_end(&d);
    int err = errno;
    long depth = attr_of(q).mq_curmsgs;
    if (blocks)
        unblock(o, depth, rc < 0 ? err : 0);
    if (rc == 0)
        op_tx(o, EV_MQ_SEND, depth, (int64_t)len, prio, MQ_ITEM_BYTES, T_PRECISE);
    errno = err;
    return rc;
}

EXPORT int mq_send(mqd_t q, const char *msg, size_t len, unsigned prio)
{
    if (!active())
        return REAL(mq_send)(q, msg, len, prio);
    return send_common(q, msg, len, prio, NULL, 0);
}

EXPORT int mq_timedsend(mqd_t q, const char *msg, size_t len, unsigned prio,
                        const struct timespec *abstime)
{
    if (!active())
        return REAL(mq_timedsend)(q, msg, len, prio, abstime);
    return send_common(q, msg, len, prio, abstime, 1);
}

/* Receive: block mark when the queue is empty. */
static ssize_t recv_common(mqd_t q, char *buf, size_t len, unsigned *prio,
                           const struct timespec *abstime, int timed)
{
    struct instr_obj *o = fd_obj((int)q, FDK_MQ);
    if (!o)
        return timed ? REAL(mq_timedreceive)(q, buf, len, prio, abstime)
                     : REAL(mq_receive)(q, buf, len, prio);
    struct deadline d;
    deadline_begin(&d, CLOCK_REALTIME, timed ? abstime : NULL, EV_MQ_RECV, o->id);
    gate(EV_MQ_RECV, o->id);
    struct mq_attr a = attr_of(q);
    int blocks = a.mq_curmsgs == 0 && !(a.mq_flags & O_NONBLOCK);
    if (blocks)
        block_on(o, 0, 0);
    unsigned p = 0;
    ssize_t r;
    struct timespec slice;
    if (!timed)
        r = REAL(mq_receive)(q, buf, len, &p);
    else
        for (int more = 1; more;) {
            more = deadline_slice(&d, abstime, &slice);
            r = more ? REAL(mq_timedreceive)(q, buf, len, &p, &slice) : (errno = ETIMEDOUT, -1);
            more = more && d.held && r < 0 && errno == ETIMEDOUT;
        }
    deadline_end(&d);
    int err = errno;
    long depth = attr_of(q).mq_curmsgs;
    if (blocks)
        unblock(o, depth, r < 0 ? err : 0);
    if (r >= 0)
        op_tx(o, EV_MQ_RECV, depth, r, p, MQ_ITEM_BYTES, T_PRECISE);
    if (prio)
        *prio = p;
    errno = err;
    return r;
}

EXPORT ssize_t mq_receive(mqd_t q, char *buf, size_t len, unsigned *prio)
{
    if (!active())
        return REAL(mq_receive)(q, buf, len, prio);
    return recv_common(q, buf, len, prio, NULL, 0);
}

EXPORT ssize_t mq_timedreceive(mqd_t q, char *buf, size_t len, unsigned *prio,
                               const struct timespec *abstime)
{
    if (!active())
        return REAL(mq_timedreceive)(q, buf, len, prio, abstime);
    return recv_common(q, buf, len, prio, abstime, 1);
}
