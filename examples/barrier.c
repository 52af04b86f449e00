/*
 * barrier.c - threads that wait for each other at a barrier, round after round.
 *
 * WORKERS threads do ROUNDS rounds of work of different lengths; at the end of each round
 * they wait at a pthread barrier for all WORKERS, and exactly one of them (the "serial
 * thread") reports the round. Under ipcscope: how many have arrived (of how many needed),
 * who waits, and all of them going on together.
 *     cc -pthread -o barrier barrier.c && ipcscope exec -- ./barrier
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define WORKERS 3
#define ROUNDS 4

static pthread_barrier_t round_end;
static int serial_runs;

static void *worker(void *arg)
{
    long id = (long)arg;
    for (int r = 0; r < ROUNDS; r++) {
        usleep((useconds_t)(1000 * (id + 1) * 5)); /* work of different lengths */
        if (pthread_barrier_wait(&round_end) == PTHREAD_BARRIER_SERIAL_THREAD)
            serial_runs++;
    }
    return NULL;
}

int main(void)
{
    pthread_barrier_init(&round_end, NULL, WORKERS);
    pthread_t t[WORKERS];
    for (long i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&round_end);
    printf("%d rounds of %d workers; serial thread ran %d times\n", ROUNDS, WORKERS, serial_runs);
    return 0;
}
