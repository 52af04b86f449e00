/*
 * clock.c - the program's sleeps and timeouts while the step gate holds the run.
 *
 * In a paced or stepped run the gate holds each action of the program until the pace or the
 * teacher's key lets it go, but the program's clock went on: mqueue.c's consumer slept its
 * 100 ms "let the queue fill" while the producer's sends waited at the gate, found the queue
 * empty, gave up on it 100 ms later, and then waited for a producer that blocked on the full
 * queue: a hang no plain run has. So, while the gate holds the run, the program's time is the
 * scenario clock (sclock.h), which stands still between steps: a sleep is a step of its own,
 * due when its time comes, and a timeout is a deadline the gate fires only when nothing due
 * earlier waits. The order of events is the free run's, whatever the pace. A timer on the
 * wall clock (alarm, a POSIX timer) is not stopped by the gate: while one is armed, the sleeps
 * and timeouts are real, so it ends them as plainly. In a free run the real calls are made,
 * untouched (a signal still ends a sleep early, as without ipcscope).
 */
#include "preload.h"
#include "sclock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>

#define NS_PER_S 1000000000ull
#define NS_PER_MS 1000000ull
#define SLICE_NS (20 * NS_PER_MS)      /* how often a held timed call looks at its deadline */
#define SLICE_MAX_NS (250 * NS_PER_MS) /* ... once it has waited a while (a teacher's pause) */

static uint64_t clock_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t program_now(void)
{
    return sclock_read(g_sh, clock_ns(CLOCK_MONOTONIC));
}

int clock_held(void)
{
    return g_sh && tl_slot > 0 && !tl_busy &&
           atomic_load_explicit(&g_sh->gate_hold, memory_order_relaxed) &&
           !atomic_load(&g_sh->tasks[tl_slot].unpaced);
}

/* ---- sleeps ---- */

static int wall_sleep(uint64_t ns, uint64_t *left)
{
    struct timespec req = {.tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S)},
                    rem = {0, 0};
    int rc = REAL(nanosleep)(&req, &rem);
    if (rc < 0 && left)
        *left = (uint64_t)rem.tv_sec * NS_PER_S + (uint64_t)rem.tv_nsec;
    return rc;
}

/* Whether a POSIX timer of this process (timer_create) is armed. The kernel lists them in
 * /proc/self/timers ("ID: n"), and timer_gettime on that id says whether it will fire; read
 * with the real calls, so nothing of this shows in the run. Unreadable: none. */
static int posix_timer_armed(void)
{
    int fd = REAL(open)("/proc/self/timers", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[4096];
    ssize_t n = REAL(read)(fd, buf, sizeof(buf) - 1);
    REAL(close)(fd);
    if (n <= 0)
        return 0;
    if (n == (ssize_t)sizeof(buf) - 1)
        return 1; /* more timers than we read: take one as armed (the sleep is then real) */
    buf[n] = '\0';
    for (char *p = buf; (p = strstr(p, "ID: ")); p += 4) {
        struct itimerspec its;
        long id = strtol(p + 4, NULL, 10);
        if (syscall(SYS_timer_gettime, id, &its) == 0 &&
            (its.it_value.tv_sec || its.it_value.tv_nsec))
            return 1;
    }
    return 0;
}

/* Whether a real timer is pending for this process: an alarm (alarm, setitimer ITIMER_REAL)
 * or an armed POSIX timer. They run on the wall clock, which the run's clock does not stop. */
static int real_timer_pending(void)
{
    struct itimerval it;
    if (getitimer(ITIMER_REAL, &it) == 0 && (it.it_value.tv_sec || it.it_value.tv_usec))
        return 1;
    return posix_timer_armed();
}

/* A sleep of ns, held: a step of its own, due ns from now, so it keeps its place among the
 * other tasks' actions (mqueue's consumer sleeps until the producer's sends are done, as in a
 * plain run). With a real timer pending (an alarm, an armed POSIX timer) it is a real sleep,
 * which the timer's signal ends as plainly (those timers run on the wall clock). A granted sleep is
 * not slept again on the wall clock: while it ran for real, the gate would fire a deadline due
 * later (timeouts.c's 2 s sem_clockwait gave up while the thread that posts slept its 200 ms). Let
 * go into a free run meanwhile: what is left is slept for real. Returns 0, or -1 with errno EINTR
 * and *left set (what is left of it on the run's clock) when a signal's handler cut it short, at
 * the gate or in that real rest. */
static int held_sleep(uint64_t ns, uint64_t *left)
{
    struct instr_task *t = &g_sh->tasks[tl_slot];
    if (real_timer_pending()) { /* alarm(1); sleep(10): the alarm ends it after 1 s, as plainly */
        int rc = wall_sleep(ns, left);
        emit(EV_SLEEP, EV_NO_OBJ, (int64_t)(ns / NS_PER_MS), 1, -1);
        return rc;
    }
    uint64_t due = program_now() + ns;
    atomic_store(&t->gate_due, due);
    atomic_store(&t->gate_val, (int64_t)(ns / NS_PER_MS));
    t->gate_what[0] = '\0';
    int cut = gate_wait_intr(EV_SLEEP, EV_NO_OBJ); /* a signal's handler ends it */
    atomic_store(&t->gate_due, 0);
    atomic_store(&t->gate_val, 0);
    uint64_t now = program_now();
    if (cut < 0) {
        if (left)
            *left = due > now ? due - now : 0;
        errno = EINTR;
        return -1;
    }
    int real = !atomic_load(&g_sh->gate_hold) && now < due;
    int rc = real ? wall_sleep(due - now, left) : 0;
    emit(EV_SLEEP, EV_NO_OBJ, (int64_t)(ns / NS_PER_MS), real, (int64_t)(due / NS_PER_MS));
    return rc;
}

static uint64_t ts_ns(const struct timespec *ts)
{
    if (ts->tv_sec < 0)
        return 0;
    return (uint64_t)ts->tv_sec * NS_PER_S + (uint64_t)ts->tv_nsec;
}

EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (!clock_held() || !req || req->tv_nsec < 0 || req->tv_nsec >= (long)NS_PER_S)
        return REAL(nanosleep)(req, rem);
    uint64_t left = 0;
    int rc = held_sleep(ts_ns(req), &left);
    if (rc < 0 && rem)
        *rem = (struct timespec){.tv_sec = (time_t)(left / NS_PER_S),
                                 .tv_nsec = (long)(left % NS_PER_S)};
    return rc;
}

EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
                           struct timespec *rem)
{
    if (!clock_held() || !req || req->tv_nsec < 0 || req->tv_nsec >= (long)NS_PER_S ||
        (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME))
        return REAL(clock_nanosleep)(clk, flags, req, rem);
    uint64_t ns = ts_ns(req), left = 0;
    if (flags & TIMER_ABSTIME) { /* until a time on clk: what is left of it now */
        uint64_t now = clock_ns(clk);
        ns = ns > now ? ns - now : 0;
    }
    int rc = held_sleep(ns, &left);
    if (rc < 0 && rem && !(flags & TIMER_ABSTIME))
        *rem = (struct timespec){.tv_sec = (time_t)(left / NS_PER_S),
                                 .tv_nsec = (long)(left % NS_PER_S)};
    return rc < 0 ? errno : 0; /* clock_nanosleep returns the error */
}

EXPORT int usleep(useconds_t us)
{
    if (!clock_held())
        return REAL(usleep)(us);
    return held_sleep((uint64_t)us * 1000, NULL);
}

EXPORT unsigned sleep(unsigned s)
{
    if (!clock_held())
        return REAL(sleep)(s);
    uint64_t left = 0;
    held_sleep((uint64_t)s * NS_PER_S, &left);
    return (unsigned)(left / NS_PER_S); /* whole seconds, as glibc's sleep */
}

/* ---- deadlines ---- */

void deadline_begin(struct deadline *d, clockid_t clk, const struct timespec *abstime, uint16_t ev,
                    uint32_t obj)
{
    memset(d, 0, sizeof(*d));
    d->clk = clk;
    if (!abstime || !clock_held() || abstime->tv_nsec < 0 || abstime->tv_nsec >= (long)NS_PER_S)
        return; /* the real call takes it as it is (and says EINVAL when it must) */
    if (real_timer_pending())
        return; /* a timer on the wall clock may end the wait first, as plainly: a real one */
    uint64_t at = ts_ns(abstime), now = clock_ns(clk);
    d->due = program_now() + (at > now ? at - now : 0);
    d->ev = ev;
    d->obj = obj;
    d->held = 1;
}

static void withdraw(struct deadline *d)
{
    if (!d->announced)
        return;
    struct instr_task *t = &g_sh->tasks[tl_slot];
    atomic_store(&t->timer_due, 0);
    atomic_store(&t->timer_fired, 0);
    d->announced = 0;
}

int deadline_slice(struct deadline *d, const struct timespec *abstime, struct timespec *slice)
{
    if (!d->held) {
        *slice = *abstime;
        return 1;
    }
    struct instr_task *t = &g_sh->tasks[tl_slot];
    uint64_t now = program_now(), left;
    if (atomic_load(&g_sh->gate_hold)) {
        if (!d->announced) { /* a timed waiter the gate lets expire in its turn */
            atomic_store(&t->timer_ev, d->ev);
            atomic_store(&t->timer_obj, d->obj);
            atomic_store(&t->timer_fired, 0);
            t->timer_what[0] = '\0';
            atomic_store(&t->gate_ticket, atomic_load(&g_sh->gate_grants));
            atomic_store(&t->timer_due, d->due ? d->due : 1);
            d->announced = 1;
            d->since = clock_ns(CLOCK_MONOTONIC);
        }
        if (atomic_load(&t->timer_fired) || now >= d->due) {
            withdraw(d);
            return 0;
        }
        /* the grant cannot wake a wait on the program's own primitive: look for it often
         * at first (a quick Space), then less as the pause goes on: a quarter of the time
         * waited so far, up to 250 ms (it looked 50 times a second through a pause) */
        left = (clock_ns(CLOCK_MONOTONIC) - d->since) / 4;
        left = left < SLICE_NS ? SLICE_NS : left > SLICE_MAX_NS ? SLICE_MAX_NS : left;
    } else { /* let go into a free run: the program's time runs with the wall clock again */
        withdraw(d);
        if (now >= d->due)
            return 0;
        left = d->due - now < SLICE_NS ? d->due - now : SLICE_NS;
    }
    uint64_t at = clock_ns(d->clk) + left;
    *slice = (struct timespec){.tv_sec = (time_t)(at / NS_PER_S), .tv_nsec = (long)(at % NS_PER_S)};
    return 1;
}

void deadline_begin_rel(struct deadline *d, struct timespec *at, int64_t ns, uint16_t ev,
                        uint32_t obj)
{
    memset(d, 0, sizeof(*d));
    if (ns < 0 || !clock_held())
        return;
    uint64_t t = clock_ns(CLOCK_MONOTONIC) + (uint64_t)ns;
    *at = (struct timespec){.tv_sec = (time_t)(t / NS_PER_S), .tv_nsec = (long)(t % NS_PER_S)};
    deadline_begin(d, CLOCK_MONOTONIC, at, ev, obj);
}

int64_t deadline_slice_ns(struct deadline *d, const struct timespec *at, int64_t unit)
{
    struct timespec slice;
    if (!deadline_slice(d, at, &slice))
        return -1;
    int64_t ns = (int64_t)ts_ns(&slice) - (int64_t)clock_ns(CLOCK_MONOTONIC);
    return ns <= 0 ? 1 : (ns + unit - 1) / unit;
}

clockid_t deadline_clock_of(const struct timespec *abstime)
{
    uint64_t at = ts_ns(abstime), real = clock_ns(CLOCK_REALTIME), mono = clock_ns(CLOCK_MONOTONIC);
    uint64_t to_real = at > real ? at - real : real - at,
             to_mono = at > mono ? at - mono : mono - at;
    return to_mono < to_real ? CLOCK_MONOTONIC : CLOCK_REALTIME;
}

void deadline_end(struct deadline *d)
{
    if (d->held)
        withdraw(d);
}
