/*
 * hot_sem.c - semaphores used as locks, taken and posted back as fast as a loop can, then
 * one token kept while its thread computes.
 *
 * Two threads each take and post back a semaphore of their own (value 1) PAIRS times; two
 * more share one semaphore, SHARED_PAIRS times each (now and then one waits for the other);
 * then main takes `big` 1,000 times and keeps its token for 300 ms of computing, making no
 * call ipcscope follows. With the argument `hold`, main keeps the token until it is killed.
 *     cc -pthread -o hot_sem hot_sem.c && ipcscope exec -- ./hot_sem
 *
 * Under ipcscope: take/post pairs nobody waits for are counted, not recorded one by one (a
 * sem_pairs record stands for the pairs of one clock tick), every value in the trace still
 * follows from the one before, and the token main keeps shows taken (big at 0) throughout.
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PAIRS 300000
#define SHARED_PAIRS 50000

static sem_t sa, sb, shared, big;
static long done_sa, done_sb, done_shared;
static pthread_barrier_t start; /* the four loops begin together, so the sharers overlap */

struct job {
    sem_t *s;
    long n, *done;
};

static void *loop(void *arg)
{
    struct job *j = arg;
    pthread_barrier_wait(&start);
    for (long i = 0; i < j->n; i++) {
        sem_wait(j->s);
        ++*j->done;
        sem_post(j->s);
    }
    return NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    int hold = argc > 1 && strcmp(argv[1], "hold") == 0;
    sem_init(&sa, 0, 1);
    sem_init(&sb, 0, 1);
    sem_init(&shared, 0, 1);
    sem_init(&big, 0, 1);
    if (!hold) {
        struct job jobs[] = {{&sa, PAIRS, &done_sa},
                             {&sb, PAIRS, &done_sb},
                             {&shared, SHARED_PAIRS, &done_shared},
                             {&shared, SHARED_PAIRS, &done_shared}};
        pthread_t t[4];
        pthread_barrier_init(&start, NULL, 4);
        for (int i = 0; i < 4; i++)
            pthread_create(&t[i], NULL, loop, &jobs[i]);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    }
    for (int i = 0; i < 1000; i++) {
        sem_wait(&big);
        sem_post(&big);
    }
    sem_wait(&big);
    double t0 = now_ms();
    volatile unsigned long sum = 0;
    while (hold || now_ms() - t0 < 300) /* computing, the token kept */
        for (int i = 0; i < 10000; i++)
            sum += (unsigned long)i;
    sem_post(&big);
    printf("pairs: sa %ld, sb %ld, shared %ld, big 1001 (kept %.0f ms)\n", done_sa, done_sb,
           done_shared, now_ms() - t0);
    return 0;
}
