/*
 * timed_wait.c - a wait that gives up: sem_timedwait on a semaphore nobody posts.
 *
 * main waits at most 2 s for a ticket that never comes, and the call returns ETIMEDOUT. Under
 * ipcscope: main blocked on `ticket`, then unblocked by the timeout, the semaphore still 0. In
 * a stepped run the timeout is one step of its own: main sleeps through the teacher's pause
 * and gives up only when Space lets its 2 s pass.
 *     cc -pthread -o timed_wait timed_wait.c && ipcscope exec -- ./timed_wait
 */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static sem_t ticket;

int main(void)
{
    sem_init(&ticket, 0, 0);
    struct timespec at;
    clock_gettime(CLOCK_REALTIME, &at);
    at.tv_sec += 2;
    int r = sem_timedwait(&ticket, &at);
    int e = r < 0 ? errno : 0;
    printf("sem_timedwait: %s\n", r == 0 ? "got a ticket" : strerror(e));
    return r < 0 && e == ETIMEDOUT ? 0 : 1;
}
