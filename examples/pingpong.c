/*
 * pingpong.c - two threads take turns through two semaphores: every post wakes the other.
 *
 * `pingpong [ROUNDS]` (default 2000): main posts `ping` and waits on `pong`; the partner waits
 * on `ping` and posts `pong`. Each turn hands a token to a thread that is asleep, the case where
 * a waiter that watches before it sleeps only takes CPU time from the one it waits for when
 * the machine has no CPU to spare (ipcscope then has its waiters sleep at once: the snapshot's
 * `waiting` counts both).
 *     cc -pthread -o pingpong pingpong.c && ipcscope exec --headless -- ./pingpong
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>

static sem_t ping, pong;
static long rounds = 2000;

static void *partner(void *arg)
{
    long *ponged = arg;
    for (long i = 0; i < rounds; i++) {
        sem_wait(&ping);
        ++*ponged;
        sem_post(&pong);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        rounds = atol(argv[1]);
    sem_init(&ping, 0, 0);
    sem_init(&pong, 0, 0);
    long ponged = 0;
    pthread_t t;
    pthread_create(&t, NULL, partner, &ponged);
    for (long i = 0; i < rounds; i++) {
        sem_post(&ping);
        sem_wait(&pong);
    }
    pthread_join(t, NULL);
    printf("pingpong: %ld rounds, %ld ponged\n", rounds, ponged);
    return ponged == rounds ? 0 : 1;
}
