/*
 * sclock.c - the scenario clock (see sclock.h): timed waits of scenario code, on the wall
 * clock in a free run and as steps of the gate while it is held.
 *
 * The conductor publishes scenario time as (base, wall, free) under a seqlock in the shared
 * region; a worker reads it without a system call beyond the vDSO clock. A held sleep waits
 * at the gate as a timed action; a held lesson deadline is announced in the task's slot, and
 * the conductor lists it among the waiters and fires it when it is granted.
 */
#define _GNU_SOURCE
#include "sclock.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_MS 1000000ull
#define SLEEP_SLICE_MS 20

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int stopping(void)
{
    struct instr_shared *sh = instr_region();
    return sh && atomic_load(&sh->stop);
}

/* This task's slot header, or NULL (no region, or the conductor, whose actions never wait). */
static struct instr_task *self_task(void)
{
    struct instr_shared *sh = instr_region();
    int slot = instr_self();
    if (!sh || slot <= 0 || (uint32_t)slot >= sh->max_tasks)
        return NULL;
    return &sh->tasks[slot];
}

/* ---- reading and publishing ---- */

void sclock_publish(struct instr_shared *sh, uint64_t base, uint64_t wall, int free_run)
{
    uint32_t s = atomic_load_explicit(&sh->vc_seq, memory_order_relaxed);
    atomic_store_explicit(&sh->vc_seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&sh->vc_base, base, memory_order_relaxed);
    atomic_store_explicit(&sh->vc_wall, wall, memory_order_relaxed);
    atomic_store_explicit(&sh->vc_free, (uint32_t)free_run, memory_order_relaxed);
    atomic_store_explicit(&sh->vc_seq, s + 2, memory_order_release);
}

uint64_t sclock_now(void)
{
    struct instr_shared *sh = instr_region();
    uint64_t wall = mono_ns();
    if (!sh)
        return wall;
    return sclock_read(sh, wall);
}

uint64_t sclock_now_ms(void)
{
    return sclock_now() / NS_PER_MS;
}

int sclock_held(void)
{
    struct instr_shared *sh = instr_region();
    struct instr_task *t = self_task();
    return sh && t && atomic_load(&sh->gate_hold) && !atomic_load(&t->unpaced);
}

/* ---- sleeping ---- */

static int wall_sleep(long ms)
{
    while (ms > 0 && !stopping()) {
        long slice = ms < SLEEP_SLICE_MS ? ms : SLEEP_SLICE_MS;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = slice * (long)NS_PER_MS};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
        ms -= slice;
    }
    return stopping() ? -1 : 0;
}

int sclock_observer_sleep(long ms)
{
    return wall_sleep(ms);
}

int sclock_poll(long ms)
{
    return wall_sleep(ms);
}

static void emit_slept(long ms, int real, uint64_t due)
{
    instr_emit(EV_SLEEP, EV_NO_OBJ, ms, real, (int64_t)(due / NS_PER_MS));
}

int sclock_sleep(long ms, unsigned flags, const char *what)
{
    if (ms <= 0)
        return stopping() ? -1 : 0;
    uint64_t due = sclock_now() + (uint64_t)ms * NS_PER_MS;
    for (;;) {
        if (stopping())
            return -1;
        if (sclock_held()) {
            instr_gate_timed(EV_SLEEP, EV_NO_OBJ, due, ms, what);
            if (!sclock_held() && sclock_now() < due)
                continue; /* released into a free run: sleep what is left for real */
            emit_slept(ms, (flags & SCLOCK_REAL) != 0, due);
            return (flags & SCLOCK_REAL) ? wall_sleep(ms) : (stopping() ? -1 : 0);
        }
        struct instr_shared *sh = instr_region();
        if (sh && !atomic_load(&sh->vc_free)) { /* unpaced work while the clock stands */
            int rc = wall_sleep(ms);
            emit_slept(ms, 1, due);
            return rc;
        }
        uint64_t now = sclock_now();
        if (now >= due) {
            emit_slept(ms, 1, due);
            return 0;
        }
        uint64_t left = (due - now + NS_PER_MS - 1) / NS_PER_MS;
        wall_sleep(left < SLEEP_SLICE_MS ? (long)left : SLEEP_SLICE_MS);
    }
}

/* ---- deadlines ---- */

void sclock_wait_begin(struct sclock_wait *w, long timeout_ms, unsigned kind, uint16_t ev,
                       uint32_t obj)
{
    memset(w, 0, sizeof(*w));
    w->due = timeout_ms < 0 ? UINT64_MAX : sclock_now() + (uint64_t)timeout_ms * NS_PER_MS;
    w->kind = kind;
    w->ev = ev;
    w->obj = obj;
}

void sclock_sleeps_on(_Atomic int *word)
{
    struct instr_task *t = self_task();
    struct instr_shared *sh = instr_region();
    if (!t)
        return;
    uintptr_t base = (uintptr_t)sh, at = (uintptr_t)word;
    atomic_store(&t->timer_word, word && at >= base && at + sizeof(int) <= base + sh->size
                                     ? (uint64_t)(at - base) + 1
                                     : 0);
}

static void announce(struct sclock_wait *w)
{
    struct instr_task *t = self_task();
    struct instr_shared *sh = instr_region();
    if (!t || w->announced)
        return;
    atomic_store(&t->timer_ev, w->ev);
    atomic_store(&t->timer_obj, w->obj);
    atomic_store(&t->timer_fired, 0);
    snprintf(t->timer_what, sizeof(t->timer_what), "%s", w->what ? w->what : "");
    sclock_sleeps_on(w->word); /* the word a grant wakes, or none */
    atomic_store(&t->gate_ticket, atomic_load(&sh->gate_grants));
    atomic_store(&t->timer_due, w->due ? w->due : 1);
    w->announced = 1;
}

static void withdraw(struct sclock_wait *w)
{
    struct instr_task *t = self_task();
    if (!t || !w->announced)
        return;
    atomic_store(&t->timer_due, 0);
    atomic_store(&t->timer_word, 0);
    atomic_store(&t->timer_fired, 0);
    w->announced = 0;
}

int sclock_wait_expired(struct sclock_wait *w)
{
    if (w->due == UINT64_MAX)
        return 0;
    if (sclock_held()) {
        if (w->kind == SCLOCK_SAFETY)
            return 0;
        announce(w);
        struct instr_task *t = self_task();
        if (t && atomic_load(&t->timer_fired))
            return 1;
        return sclock_now() >= w->due;
    }
    return sclock_now() >= w->due;
}

long sclock_wait_slice(struct sclock_wait *w, long slice_ms)
{
    if (sclock_wait_expired(w))
        return 0;
    if (w->due == UINT64_MAX || sclock_held()) /* a grant wakes a waiter on its word */
        return w->word && w->announced && slice_ms < SCLOCK_IDLE_SLICE_MS ? SCLOCK_IDLE_SLICE_MS
                                                                          : slice_ms;
    uint64_t now = sclock_now();
    uint64_t left = w->due > now ? (w->due - now + NS_PER_MS - 1) / NS_PER_MS : 0;
    return left < (uint64_t)slice_ms ? (long)left : slice_ms;
}

long sclock_idle_slice(struct sclock_wait *w, long slice_ms)
{
    int endless = w->due == UINT64_MAX || (w->kind == SCLOCK_SAFETY && sclock_held());
    return sclock_wait_slice(w, endless && slice_ms < SCLOCK_IDLE_SLICE_MS ? SCLOCK_IDLE_SLICE_MS
                                                                           : slice_ms);
}

void sclock_wait_end(struct sclock_wait *w)
{
    withdraw(w);
}

void sclock_waits_for(const char *what)
{
    struct instr_task *t = self_task();
    if (!t)
        return;
    atomic_store(&t->waits_for_set, 0);
    if (!what)
        return;
    snprintf(t->waits_for, sizeof(t->waits_for), "%s", what);
    atomic_store(&t->waits_for_set, 1);
}

/* ---- flags ---- */

#define FLAG_SLICE_MS 250

int sclock_flag_wait(_Atomic int *flag, struct sclock_wait *w)
{
    int v;
    while (!(v = atomic_load(flag)) && !stopping()) {
        long slice = w ? sclock_idle_slice(w, FLAG_SLICE_MS) : FLAG_SLICE_MS;
        if (slice <= 0)
            break;
        struct timespec ts = {.tv_sec = slice / 1000, .tv_nsec = (slice % 1000) * (long)NS_PER_MS};
        syscall(SYS_futex, (int *)flag, FUTEX_WAIT, 0, &ts, NULL, 0);
    }
    return atomic_load(flag);
}

void sclock_flag_set(_Atomic int *flag, int v)
{
    atomic_store(flag, v);
    syscall(SYS_futex, (int *)flag, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* ---- unpaced work ---- */

void sclock_unpaced_begin(void)
{
    struct instr_task *t = self_task();
    if (t)
        atomic_fetch_add(&t->unpaced, 1);
}

void sclock_unpaced_end(void)
{
    struct instr_task *t = self_task();
    if (t && atomic_load(&t->unpaced))
        atomic_fetch_sub(&t->unpaced, 1);
}
