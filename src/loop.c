/*
 * loop.c - epoll event loop with timerfd timers and a before-sleep hook.
 *
 * Kept small on purpose, in the manner of redis' ae.c: a table of watched descriptors, a
 * table of timers (each its own timerfd, so a timer is just another descriptor), and one
 * call that waits and dispatches.
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_WATCH 64
#define LOOP_MAX_TIMERS 16

struct watch {
    int fd; /* -1: free */
    loop_fd_cb cb;
    void *arg;
    int timer; /* timer id when this watch is a timer's fd, else -1 */
};

struct timer {
    int fd; /* -1: free */
    loop_timer_cb cb;
    void *arg;
};

struct loop {
    int epfd;
    int stop;
    struct watch watch[LOOP_MAX_WATCH];
    struct timer timer[LOOP_MAX_TIMERS];
    loop_hook_cb before_sleep;
    void *before_sleep_arg;
};

uint64_t loop_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t loop_now_ns(void)
{
    return loop_clock_ns(CLOCK_MONOTONIC);
}

struct loop *loop_new(void)
{
    struct loop *lp = calloc(1, sizeof(*lp));
    if (!lp)
        return NULL;
    lp->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (lp->epfd < 0) {
        free(lp);
        return NULL;
    }
    for (int i = 0; i < LOOP_MAX_WATCH; i++)
        lp->watch[i].fd = -1;
    for (int i = 0; i < LOOP_MAX_TIMERS; i++)
        lp->timer[i].fd = -1;
    return lp;
}

void loop_free(struct loop *lp)
{
    if (!lp)
        return;
    for (int i = 0; i < LOOP_MAX_TIMERS; i++)
        if (lp->timer[i].fd >= 0)
            close(lp->timer[i].fd);
    close(lp->epfd);
    free(lp);
}

static int add_watch(struct loop *lp, int fd, uint32_t events, loop_fd_cb cb, void *arg, int timer)
{
    int slot = -1;
    for (int i = 0; i < LOOP_MAX_WATCH; i++) {
        if (lp->watch[i].fd == fd)
            return -EEXIST;
        if (slot < 0 && lp->watch[i].fd < 0)
            slot = i;
    }
    if (slot < 0)
        return -ENOSPC;

    struct epoll_event ee = {.events = events, .data.u32 = (uint32_t)slot};
    if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ee) < 0)
        return -errno;
    lp->watch[slot] = (struct watch){.fd = fd, .cb = cb, .arg = arg, .timer = timer};
    return 0;
}

int loop_add_fd(struct loop *lp, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
    return add_watch(lp, fd, events, cb, arg, -1);
}

int loop_del_fd(struct loop *lp, int fd)
{
    for (int i = 0; i < LOOP_MAX_WATCH; i++) {
        if (lp->watch[i].fd == fd) {
            epoll_ctl(lp->epfd, EPOLL_CTL_DEL, fd, NULL);
            lp->watch[i].fd = -1;
            return 0;
        }
    }
    return -ENOENT;
}

int loop_set_timer(struct loop *lp, int id, uint64_t period_ns)
{
    if (id < 0 || id >= LOOP_MAX_TIMERS || lp->timer[id].fd < 0)
        return -EINVAL;
    struct itimerspec its = {0};
    its.it_interval.tv_sec = (time_t)(period_ns / 1000000000ull);
    its.it_interval.tv_nsec = (long)(period_ns % 1000000000ull);
    its.it_value = its.it_interval;
    if (timerfd_settime(lp->timer[id].fd, 0, &its, NULL) < 0)
        return -errno;
    return 0;
}

int loop_set_period(struct loop *lp, int id, uint64_t period_ns)
{
    if (id < 0 || id >= LOOP_MAX_TIMERS || lp->timer[id].fd < 0 || period_ns == 0)
        return -EINVAL;
    struct itimerspec cur, its = {0};
    if (timerfd_gettime(lp->timer[id].fd, &cur) < 0)
        return -errno;
    uint64_t left = (uint64_t)cur.it_value.tv_sec * 1000000000ull + (uint64_t)cur.it_value.tv_nsec;
    uint64_t first = left && left < period_ns ? left : period_ns;
    its.it_interval.tv_sec = (time_t)(period_ns / 1000000000ull);
    its.it_interval.tv_nsec = (long)(period_ns % 1000000000ull);
    its.it_value.tv_sec = (time_t)(first / 1000000000ull);
    its.it_value.tv_nsec = (long)(first % 1000000000ull);
    if (timerfd_settime(lp->timer[id].fd, 0, &its, NULL) < 0)
        return -errno;
    return 0;
}

static void timer_ready(struct loop *lp, int fd, uint32_t events, void *arg)
{
    (void)events;
    int id = (int)(intptr_t)arg;
    uint64_t expirations;
    if (read(fd, &expirations, sizeof(expirations)) != sizeof(expirations))
        return;
    lp->timer[id].cb(lp, id, lp->timer[id].arg);
}

int loop_add_timer(struct loop *lp, uint64_t period_ns, loop_timer_cb cb, void *arg)
{
    int id = -1;
    for (int i = 0; i < LOOP_MAX_TIMERS && id < 0; i++)
        if (lp->timer[i].fd < 0)
            id = i;
    if (id < 0)
        return -ENOSPC;

    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    lp->timer[id] = (struct timer){.fd = fd, .cb = cb, .arg = arg};
    int rc = add_watch(lp, fd, EPOLLIN, timer_ready, (void *)(intptr_t)id, id);
    if (rc == 0 && period_ns)
        rc = loop_set_timer(lp, id, period_ns);
    if (rc < 0) {
        loop_del_fd(lp, fd);
        close(fd);
        lp->timer[id].fd = -1;
        return rc;
    }
    return id;
}

int loop_del_timer(struct loop *lp, int id)
{
    if (id < 0 || id >= LOOP_MAX_TIMERS || lp->timer[id].fd < 0)
        return -EINVAL;
    loop_del_fd(lp, lp->timer[id].fd);
    close(lp->timer[id].fd);
    lp->timer[id].fd = -1;
    return 0;
}

void loop_set_before_sleep(struct loop *lp, loop_hook_cb hook, void *arg)
{
    lp->before_sleep = hook;
    lp->before_sleep_arg = arg;
}

int loop_run_once(struct loop *lp, int timeout_ms)
{
    if (lp->before_sleep)
        lp->before_sleep(lp, lp->before_sleep_arg);
    if (lp->stop)
        return 0;

    struct epoll_event ev[LOOP_MAX_WATCH];
    int n = epoll_wait(lp->epfd, ev, LOOP_MAX_WATCH, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n && !lp->stop; i++) {
        struct watch *w = &lp->watch[ev[i].data.u32];
        if (w->fd >= 0)
            w->cb(lp, w->fd, ev[i].events, w->arg);
    }
    return n;
}

int loop_run(struct loop *lp)
{
    while (!lp->stop) {
        int n = loop_run_once(lp, -1);
        if (n < 0)
            return n;
    }
    return 0;
}

void loop_stop(struct loop *lp)
{
    lp->stop = 1;
}

int loop_stopped(const struct loop *lp)
{
    return lp->stop;
}
