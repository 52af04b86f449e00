/*
 * mux.c - I/O multiplexing: select, pselect, poll, ppoll and epoll (epoll_create, epoll_ctl,
 * epoll_wait, epoll_pwait).
 *
 * Like the multiplexing scenarios, each waiter has two objects: an interest set (value: the
 * fds watched, aux of mux_wait: their bitmask below 64) and a ready set (value: the fds
 * ready after the call). select and poll get one pair per calling task ("poll@1",
 * "poll@1.ready"), an epoll instance one pair of its own ("epoll@1"), its interest set kept
 * by epoll_ctl. A call that finds nothing ready at once (it is first made with a zero
 * timeout) marks the caller blocked on the ready set until it returns.
 */
#include "preload.h"

#include <errno.h>
#include <string.h>

struct mux_pair {
    struct instr_obj *interest, *ready;
};

static TLS struct mux_pair tl_mux[2]; /* this task's select and poll pairs */

/* A new pair named prefix@N and prefix@N.ready. */
static struct mux_pair mux_new(const char *prefix, const void *key)
{
    struct mux_pair p = {NULL, NULL};
    char name[INSTR_NAME_MAX], rname[INSTR_NAME_MAX];
    map_lock();
    unsigned k = ++g_map->named[OK_QUEUE];
    map_unlock();
    snprintf(name, sizeof(name), "%s@%u", prefix, k);
    snprintf(rname, sizeof(rname), "%s@%u.ready", prefix, k);
    struct obj_spec sp = {.kind = OK_QUEUE, .shared = 0, .psize = 1, .name = name, .fresh = 1};
    p.interest = obj_at(key, &sp);
    sp.name = rname;
    p.ready = obj_at((const char *)key + 1, &sp);
    if (p.interest && p.ready)
        g_map->x[p.interest->id].partner1 = p.ready->id + 1;
    return p;
}

/* This task's pair for select or poll. */
static struct mux_pair *task_pair(int call)
{
    struct mux_pair *p = &tl_mux[call == MUX_POLL];
    if (!p->interest || !p->ready)
        *p = mux_new(call == MUX_POLL ? "poll" : "select", &tl_mux[call == MUX_POLL]);
    return p->interest && p->ready ? p : NULL;
}

static uint64_t bit(int fd)
{
    return fd >= 0 && fd < 64 ? 1ull << fd : 0;
}

/* Before the call: the interest set. */
static void mux_before(struct mux_pair *p, int call, int count, uint64_t mask)
{
    gate(EV_MUX_WAIT, p->interest->id);
    p->interest->value = count;
    op(p->interest, EV_MUX_WAIT, count, call, (int64_t)mask);
}

/* Nothing was ready at the call's first look: the ready set is empty while the caller sleeps. */
static void mux_none_yet(struct instr_obj *ready, int call)
{
    ready->value = 0;
    op_tx(ready, EV_MUX_READY, 0, call, 0, MUX_READY_NONE_YET, T_PRECISE);
}

static void mux_after(struct mux_pair *p, int call, int count, uint64_t mask, int blocked, int err)
{
    if (blocked)
        unblock(p->ready, count > 0 ? count : 0, count < 0 ? err : 0);
    if (count >= 0) {
        p->ready->value = count;
        op(p->ready, EV_MUX_READY, count, call, (int64_t)mask);
    }
}

static int64_t tv_ns(const struct timeval *tv)
{
    return tv ? (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000 : -1;
}

static int64_t ts_ns(const struct timespec *ts)
{
    return ts ? (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec : -1;
}

/* ---- select ---- */

static void fdset_info(int nfds, const fd_set *r, const fd_set *w, const fd_set *x, int *count,
                       uint64_t *mask)
{
    *count = 0;
    *mask = 0;
    for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
        int in = (r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (x && FD_ISSET(fd, x));
        *count += in;
        *mask |= in ? bit(fd) : 0;
    }
}

static int select_common(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv,
                         const struct timespec *ts, const sigset_t *sig, int is_p)
{
    struct mux_pair *p = task_pair(MUX_SELECT);
#define REAL_SELECT(t1, t2)                                                                        \
    (is_p ? REAL(pselect)(nfds, r, w, x, t2, sig) : REAL(select)(nfds, r, w, x, t1))
    if (!p)
        return REAL_SELECT(tv, ts);
    int count;
    uint64_t mask;
    fdset_info(nfds, r, w, x, &count, &mask);
    struct deadline d;
    struct timespec at;
    deadline_begin_rel(&d, &at, is_p ? ts_ns(ts) : tv_ns(tv), EV_MUX_WAIT, p->ready->id);
    mux_before(p, MUX_SELECT, count, mask);
    fd_set r0, w0, x0; /* the sets before the zero-timeout look, which clears them */
    if (r)
        r0 = *r;
    if (w)
        w0 = *w;
    if (x)
        x0 = *x;
    struct timeval zero_tv = {0, 0};
    struct timespec zero_ts = {0, 0};
    int n = REAL_SELECT(&zero_tv, &zero_ts), blocked = 0;
    int zero_wait = is_p ? ts && !ts->tv_sec && !ts->tv_nsec : tv && !tv->tv_sec && !tv->tv_usec;
    if (n == 0 && !zero_wait) {
        blocked = 1;
        mux_none_yet(p->ready, MUX_SELECT);
        block_on(p->ready, 0, 0);
        for (int ms = d.held ? (int)deadline_slice_ns(&d, &at, 1000000) : 0;;) {
            if (r)
                *r = r0;
            if (w)
                *w = w0;
            if (x)
                *x = x0;
            if (!d.held) {
                n = REAL_SELECT(tv, ts);
                break;
            }
            if (ms < 0) { /* the gate let it time out: nothing ready, as select says */
                if (r)
                    FD_ZERO(r);
                if (w)
                    FD_ZERO(w);
                if (x)
                    FD_ZERO(x);
                n = 0;
                break;
            }
            struct timeval stv = {ms / 1000, (ms % 1000) * 1000};
            struct timespec sts = {ms / 1000, (ms % 1000) * 1000000L};
            n = REAL_SELECT(&stv, &sts);
            if (n != 0)
                break;
            ms = (int)deadline_slice_ns(&d, &at, 1000000);
        }
        deadline_end(&d);
    }
#undef REAL_SELECT
    int err = errno;
    if (n >= 0)
        fdset_info(nfds, r, w, x, &count, &mask);
    mux_after(p, MUX_SELECT, n, n > 0 ? mask : 0, blocked, err);
    errno = err;
    return n;
}

EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
    if (!active())
        return REAL(select)(nfds, r, w, x, tv);
    return select_common(nfds, r, w, x, tv, NULL, NULL, 0);
}

EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts,
                   const sigset_t *sig)
{
    if (!active())
        return REAL(pselect)(nfds, r, w, x, ts, sig);
    return select_common(nfds, r, w, x, NULL, ts, sig, 1);
}

/* ---- poll ---- */

static int poll_common(struct pollfd *fds, nfds_t n, int ms, const struct timespec *ts,
                       const sigset_t *sig, int is_p)
{
    struct mux_pair *p = task_pair(MUX_POLL);
    if (!p)
        return is_p ? REAL(ppoll)(fds, n, ts, sig) : REAL(poll)(fds, n, ms);
    uint64_t mask = 0;
    int count = 0;
    for (nfds_t i = 0; i < n; i++) {
        count += fds[i].fd >= 0;
        mask |= bit(fds[i].fd);
    }
    struct deadline d;
    struct timespec at;
    deadline_begin_rel(&d, &at,
                       is_p     ? ts_ns(ts)
                       : ms < 0 ? -1
                                : (int64_t)ms * 1000000,
                       EV_MUX_WAIT, p->ready->id);
    mux_before(p, MUX_POLL, count, mask);
    int k = REAL(poll)(fds, n, 0), blocked = 0;
    int zero_wait = is_p ? ts && !ts->tv_sec && !ts->tv_nsec : ms == 0;
    if (k == 0 && !zero_wait) {
        blocked = 1;
        mux_none_yet(p->ready, MUX_POLL);
        block_on(p->ready, 0, 0);
        if (!d.held)
            k = is_p ? REAL(ppoll)(fds, n, ts, sig) : REAL(poll)(fds, n, ms);
        else /* in slices, until the gate lets the timeout expire (k stays 0) */
            for (int s = (int)deadline_slice_ns(&d, &at, 1000000); s >= 0 && k == 0;
                 s = k ? s : (int)deadline_slice_ns(&d, &at, 1000000)) {
                struct timespec sts = {s / 1000, (s % 1000) * 1000000L};
                k = is_p ? REAL(ppoll)(fds, n, &sts, sig) : REAL(poll)(fds, n, s);
            }
        deadline_end(&d);
    }
    int err = errno;
    mask = 0;
    for (nfds_t i = 0; k > 0 && i < n; i++)
        mask |= fds[i].revents ? bit(fds[i].fd) : 0;
    mux_after(p, MUX_POLL, k, mask, blocked, err);
    errno = err;
    return k;
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int ms)
{
    if (!active())
        return REAL(poll)(fds, n, ms);
    return poll_common(fds, n, ms, NULL, NULL, 0);
}

EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *sig)
{
    if (!active())
        return REAL(ppoll)(fds, n, ts, sig);
    return poll_common(fds, n, 0, ts, sig, 1);
}

/* ---- epoll ---- */

/* The epoll instance's pair: the interest object behind its descriptor and its partner. */
static struct mux_pair epoll_pair(int epfd)
{
    struct mux_pair p = {fd_obj(epfd, FDK_EPOLL), NULL};
    uint32_t r = p.interest ? g_map->x[p.interest->id].partner1 : 0;
    if (r && r <= atomic_load(&g_sh->nobjs))
        p.ready = &g_sh->objs[r - 1];
    return p;
}

static int epoll_made(int fd)
{
    if (fd < 0 || !active())
        return fd;
    int err = errno;
    struct mux_pair p = mux_new("epoll", (const void *)(uintptr_t)(fd * 2 + 2));
    fd_put(fd, p.interest, FDK_EPOLL, 0);
    errno = err;
    return fd;
}

EXPORT int epoll_create(int size)
{
    return epoll_made(REAL(epoll_create)(size));
}

EXPORT int epoll_create1(int flags)
{
    return epoll_made(REAL(epoll_create1)(flags));
}

/* The interest set's size and mask are kept in the interest object (value, capacity used
 * as the mask of fds below 64). */
EXPORT int epoll_ctl(int epfd, int opc, int fd, struct epoll_event *ev)
{
    int rc = REAL(epoll_ctl)(epfd, opc, fd, ev);
    struct mux_pair p = rc == 0 && active() ? epoll_pair(epfd) : (struct mux_pair){0};
    if (!p.interest)
        return rc;
    int err = errno;
    obj_lock(p.interest);
    if (opc == EPOLL_CTL_ADD) {
        p.interest->value++;
        p.interest->head |= (int64_t)bit(fd);
    } else if (opc == EPOLL_CTL_DEL) {
        p.interest->value--;
        p.interest->head &= ~(int64_t)bit(fd);
    }
    op_tx(p.interest, EV_MUX_WAIT, p.interest->value, MUX_EPOLL_CTL, p.interest->head,
          MUX_CTL_EXTRA(fd, opc, ev && (ev->events & EPOLLET)), T_PRECISE);
    obj_unlock(p.interest);
    errno = err;
    return rc;
}

static int epoll_common(int epfd, struct epoll_event *evs, int max, int ms, const sigset_t *sig,
                        int is_p)
{
    struct mux_pair p = epoll_pair(epfd);
    if (!p.interest || !p.ready)
        return is_p ? REAL(epoll_pwait)(epfd, evs, max, ms, sig)
                    : REAL(epoll_wait)(epfd, evs, max, ms);
    struct deadline d;
    struct timespec at;
    deadline_begin_rel(&d, &at, ms < 0 ? -1 : (int64_t)ms * 1000000, EV_MUX_WAIT, p.ready->id);
    gate(EV_MUX_WAIT, p.interest->id);
    int k = REAL(epoll_wait)(epfd, evs, max, 0), blocked = 0;
    if (k == 0 && ms != 0) {
        blocked = 1;
        mux_none_yet(p.ready, MUX_EPOLL);
        block_on(p.ready, 0, 0);
        if (!d.held)
            k = is_p ? REAL(epoll_pwait)(epfd, evs, max, ms, sig)
                     : REAL(epoll_wait)(epfd, evs, max, ms);
        else /* in slices, until the gate lets the timeout expire (k stays 0) */
            for (int s = (int)deadline_slice_ns(&d, &at, 1000000); s >= 0 && k == 0;
                 s = k ? s : (int)deadline_slice_ns(&d, &at, 1000000))
                k = is_p ? REAL(epoll_pwait)(epfd, evs, max, s, sig)
                         : REAL(epoll_wait)(epfd, evs, max, s);
        deadline_end(&d);
    }
    int err = errno;
    uint64_t mask = 0;
    for (int i = 0; i < k; i++)
        mask |= bit(evs[i].data.fd); /* the common use: data.fd */
    mux_after(&p, MUX_EPOLL, k, mask, blocked, err);
    errno = err;
    return k;
}

EXPORT int epoll_wait(int epfd, struct epoll_event *evs, int max, int ms)
{
    if (!active())
        return REAL(epoll_wait)(epfd, evs, max, ms);
    return epoll_common(epfd, evs, max, ms, NULL, 0);
}

EXPORT int epoll_pwait(int epfd, struct epoll_event *evs, int max, int ms, const sigset_t *sig)
{
    if (!active())
        return REAL(epoll_pwait)(epfd, evs, max, ms, sig);
    return epoll_common(epfd, evs, max, ms, sig, 1);
}
