/*
 * exec_pingpong.c - the hand-off program of scripts/bench: two threads take turns through two
 * semaphores (the homework's "print ping, then pong"), so every call but the first blocks or
 * wakes the other thread and the time measured is how fast a token changes hands.
 *
 * `exec_pingpong [ROUNDS]` (default 20000): the main thread posts `ping` and waits on `pong`,
 * the second thread waits on `ping` and posts `pong`, ROUNDS times. Prints the time the work
 * took, as exec_sync_loop does.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "exec_work_clock.h"

static sem_t ping, pong;
static long rounds = 20000;
static long ponged;

static void *ponger(void *arg)
{
    (void)arg;
    for (long i = 0; i < rounds; i++) {
        sem_wait(&ping);
        ponged++;
        sem_post(&pong);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && (rounds = atol(argv[1])) < 1)) {
        fprintf(stderr, "usage: exec_pingpong [ROUNDS >= 1]\n");
        return 2;
    }
    sem_init(&ping, 0, 0);
    sem_init(&pong, 0, 0);
    double t0 = now_ms();
    pthread_t th;
    if (pthread_create(&th, NULL, ponger, NULL) != 0) {
        fprintf(stderr, "exec_pingpong: cannot create the second thread\n");
        return 1;
    }
    for (long i = 0; i < rounds; i++) {
        sem_post(&ping);
        sem_wait(&pong);
    }
    pthread_join(th, NULL);
    double t1 = now_ms();
    printf("work_ms %.3f rounds %ld ponged %ld\n", t1 - t0, rounds, ponged);
    return ponged == rounds ? 0 : 1;
}
