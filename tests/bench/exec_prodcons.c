/*
 * exec_prodcons.c - the contended program of scripts/bench: producers and consumers on one
 * bounded buffer guarded by a mutex and two condition variables.
 *
 * PRODUCERS and CONSUMERS threads (2 each) pass ITEMS items per producer (argv[1], default
 * 50000) through SLOTS slots, so threads wait for each other all the time: most calls block
 * or wake someone. Prints the time the work took, as exec_mutex does.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "exec_work_clock.h"

#define PRODUCERS 2
#define CONSUMERS 2
#define SLOTS 8

static long items = 50000;
static long buf[SLOTS];
static int head, tail, count;
static long consumed_sum;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;

static void *producer(void *arg)
{
    long id = (long)arg;
    for (long i = 0; i < items; i++) {
        pthread_mutex_lock(&lock);
        while (count == SLOTS)
            pthread_cond_wait(&not_full, &lock);
        buf[head] = id * items + i;
        head = (head + 1) % SLOTS;
        count++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long n = (long)arg, sum = 0;
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&lock);
        while (count == 0)
            pthread_cond_wait(&not_empty, &lock);
        sum += buf[tail];
        tail = (tail + 1) % SLOTS;
        count--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    consumed_sum += sum;
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        items = atol(argv[1]);
    if (items < 1) {
        fprintf(stderr, "usage: exec_prodcons [ITEMS per producer]\n");
        return 2;
    }
    pthread_t th[PRODUCERS + CONSUMERS];
    long total = items * PRODUCERS;
    double t0 = now_ms();
    for (long i = 0; i < PRODUCERS; i++)
        pthread_create(&th[i], NULL, producer, (void *)i);
    for (long i = 0; i < CONSUMERS; i++) /* the first consumer takes the odd item */
        pthread_create(&th[PRODUCERS + i], NULL, consumer,
                       (void *)(total / CONSUMERS + (i == 0 ? total % CONSUMERS : 0)));
    for (int i = 0; i < PRODUCERS + CONSUMERS; i++)
        pthread_join(th[i], NULL);
    double t1 = now_ms();
    long expect = (total - 1) * total / 2;
    printf("work_ms %.3f items %ld sum %ld\n", t1 - t0, total, consumed_sum);
    return consumed_sum == expect ? 0 : 1;
}
