/*
 * timers.c - POSIX timers (timer_create): a periodic one whose signal wakes pause(), a
 * one-shot that cuts a sleep short, and one that runs a function in a thread of its own,
 * which posts a semaphore the main thread waits for with a timeout.
 *
 * The timers run on the wall clock. Under ipcscope, paced or stepped, the program's sleeps
 * and timeouts are steps on the run's clock, except while a timer of the program is armed:
 * then they are real, so the timer ends them (or not) as it does plainly. The output is the
 * same as without ipcscope: 5 ticks, 4 s left of the sleep, the semaphore posted in time.
 *     cc -o timers timers.c -lrt && ipcscope exec -- ./timers
 */
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;
static sem_t fired;

static void on_tick(int sig)
{
    (void)sig;
    ticks++;
}

static void on_expiry(union sigval v)
{
    (void)v;
    sem_post(&fired);
}

static void arm(timer_t t, long first_ms, long every_ms)
{
    struct itimerspec its = {
        .it_value = {first_ms / 1000, first_ms % 1000 * 1000000},
        .it_interval = {every_ms / 1000, every_ms % 1000 * 1000000},
    };
    timer_settime(t, 0, &its, NULL);
}

int main(void)
{
    struct sigaction sa = {.sa_handler = on_tick};
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent by_signal = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    timer_t t;
    if (timer_create(CLOCK_MONOTONIC, &by_signal, &t) != 0) {
        perror("timer_create");
        return 1;
    }

    arm(t, 100, 100); /* every 100 ms */
    while (ticks < 5)
        pause();
    arm(t, 0, 0); /* disarmed */
    printf("periodic timer: %d ticks\n", (int)ticks);

    arm(t, 300, 0); /* once, in 300 ms, while we sleep 5 s */
    unsigned left = sleep(5);
    printf("one-shot timer cut a 5 s sleep short: %u s left\n", left);
    timer_delete(t);

    sem_init(&fired, 0, 0);
    struct sigevent by_thread = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_expiry};
    timer_t t2;
    if (timer_create(CLOCK_MONOTONIC, &by_thread, &t2) != 0) {
        perror("timer_create");
        return 1;
    }
    arm(t2, 200, 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2; /* the timer fires long before */
    int rc;
    while ((rc = sem_timedwait(&fired, &until)) != 0 && errno == EINTR)
        ;
    printf("thread timer: %s\n", rc == 0 ? "posted the semaphore in time" : "timed out");
    timer_delete(t2);
    return rc == 0 ? 0 : 1;
}
