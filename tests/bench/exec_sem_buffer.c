/*
 * exec_sem_buffer.c - the course's bounded buffer in scripts/bench: producers and consumers
 * on SLOTS slots guarded by three semaphores (empty, full and a binary one as the mutex), as
 * the semaphore chapter writes it.
 *
 * `exec_sem_buffer [ITEMS]`: 2 producers and 2 consumers; each producer puts ITEMS items
 * (default 50000), each consumer takes as many. Threads wait for each other all the time.
 * Prints the time the work took, as exec_prodcons does, and the sum of the items taken.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "exec_work_clock.h"

#define PAIRS 2 /* producers, and as many consumers */
#define SLOTS 8

static long items = 50000;
static long buf[SLOTS];
static int in, out;
static long consumed_sum;
static sem_t empty, full, mutex;

static void *producer(void *arg)
{
    (void)arg;
    for (long i = 0; i < items; i++) {
        sem_wait(&empty);
        sem_wait(&mutex);
        buf[in] = i;
        in = (in + 1) % SLOTS;
        sem_post(&mutex);
        sem_post(&full);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    for (long i = 0; i < items; i++) {
        sem_wait(&full);
        sem_wait(&mutex);
        consumed_sum += buf[out];
        out = (out + 1) % SLOTS;
        sem_post(&mutex);
        sem_post(&empty);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && (items = atol(argv[1])) < 1)) {
        fprintf(stderr, "usage: exec_sem_buffer [ITEMS >= 1]\n");
        return 2;
    }
    sem_init(&empty, 0, SLOTS);
    sem_init(&full, 0, 0);
    sem_init(&mutex, 0, 1);
    pthread_t th[2 * PAIRS];
    double t0 = now_ms();
    for (int i = 0; i < PAIRS; i++) {
        pthread_create(&th[2 * i], NULL, producer, NULL);
        pthread_create(&th[2 * i + 1], NULL, consumer, NULL);
    }
    for (int i = 0; i < 2 * PAIRS; i++)
        pthread_join(th[i], NULL);
    double t1 = now_ms();
    long want = PAIRS * (items * (items - 1) / 2);
    printf("work_ms %.3f items %ld sum %ld\n", t1 - t0, PAIRS * items, consumed_sum);
    return consumed_sum == want ? 0 : 1;
}
