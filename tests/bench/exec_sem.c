/*
 * exec_sem.c - the semaphore-heavy program of scripts/bench: a semaphore used as a lock.
 *
 * THREADS threads (argv[1], default 1) each take and post back a semaphore of their own
 * (value 1) PAIRS times (argv[2], default 1000000): nobody ever waits, so the cost measured is
 * the cost of following the calls. Prints the time the work took (CLOCK_MONOTONIC).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_THREADS 64

struct slot {
    _Alignas(64) sem_t sem;
    long count;
    char pad[64];
};

static struct slot slots[MAX_THREADS];
static long pairs = 1000000;

static void *work(void *arg)
{
    struct slot *s = arg;
    for (long i = 0; i < pairs; i++) {
        sem_wait(&s->sem);
        s->count++;
        sem_post(&s->sem);
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
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    if (argc > 2)
        pairs = atol(argv[2]);
    if (threads < 1 || threads > MAX_THREADS || pairs < 1) {
        fprintf(stderr, "usage: exec_sem [THREADS 1..%d] [PAIRS]\n", MAX_THREADS);
        return 2;
    }
    pthread_t th[MAX_THREADS];
    for (int i = 0; i < threads; i++)
        sem_init(&slots[i].sem, 0, 1);
    double t0 = now_ms();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, work, &slots[i]);
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += slots[i].count;
    }
    double t1 = now_ms();
    printf("work_ms %.3f threads %d pairs %ld total %ld\n", t1 - t0, threads, pairs, total);
    return total == threads * pairs ? 0 : 1;
}
