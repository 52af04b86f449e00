/*
 * loop.h - the conductor's single-threaded event loop (epoll).
 *
 * File descriptors (stdin, signalfd, the BPF ring buffer), periodic timers (timerfd) and a
 * before-sleep hook (where the UI redraws) are all served from one epoll_wait. Nothing here
 * knows about scenarios or curses.
 */
#ifndef IPCSCOPE_LOOP_H
#define IPCSCOPE_LOOP_H

#include <stdint.h>
#include <time.h>

struct loop;

typedef void (*loop_fd_cb)(struct loop *lp, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_cb)(struct loop *lp, int id, void *arg);
typedef void (*loop_hook_cb)(struct loop *lp, void *arg);

/* Create a loop; NULL on failure (errno set). loop_free accepts NULL. */
struct loop *loop_new(void);
void loop_free(struct loop *lp);

/* Watch fd for EPOLLIN/EPOLLOUT (events); cb runs from loop_run. 0 or -errno. */
int loop_add_fd(struct loop *lp, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_del_fd(struct loop *lp, int fd);

/* A periodic timer of period_ns (0 = disarmed). Returns a timer id >= 0, or -errno. */
int loop_add_timer(struct loop *lp, uint64_t period_ns, loop_timer_cb cb, void *arg);
/* Re-arm (period_ns > 0) or disarm (0) timer id. 0 or -errno. */
int loop_set_timer(struct loop *lp, int id, uint64_t period_ns);
/* Change timer id's period (> 0) without postponing it: it next fires at the sooner of its
 * current deadline and period_ns from now, then every period_ns. A timer whose period is
 * switched back and forth more often than it fires (re-armed from now each time) would
 * never fire. 0 or -errno. */
int loop_set_period(struct loop *lp, int id, uint64_t period_ns);

/* Remove timer id. 0 or -errno. */
int loop_del_timer(struct loop *lp, int id);

/* Run hook before every sleep in epoll_wait (the redraw point). */
void loop_set_before_sleep(struct loop *lp, loop_hook_cb hook, void *arg);

/* Serve events until loop_stop. Returns 0, or -errno when epoll fails. */
int loop_run(struct loop *lp);
/* Serve what is ready, waiting at most timeout_ms (-1: forever). Returns the number served. */
int loop_run_once(struct loop *lp, int timeout_ms);
void loop_stop(struct loop *lp);
int loop_stopped(const struct loop *lp);

/* Monotonic time in ns. */
uint64_t loop_now_ns(void);
/* The time of clock id in ns (CLOCK_MONOTONIC_COARSE: the clock exec's folds are stamped by). */
uint64_t loop_clock_ns(clockid_t id);

#endif
