/*
 * exec_mutex.c - the mutex-heavy program of scripts/bench: uncontended lock/unlock pairs.
 *
 * THREADS threads (argv[1], default 4) each lock and unlock a mutex of their own PAIRS times
 * (argv[2], default 200000), so no lock is ever contended: the cost measured is the cost of
 * following the calls, not of waiting. Prints the time the work took (CLOCK_MONOTONIC, from
 * before the first thread starts to after the last is joined).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_THREADS 64

struct slot {
    _Alignas(64) pthread_mutex_t lock;
    long count;
    char pad[64];
};

static struct slot slots[MAX_THREADS];
static long pairs = 200000;

static void *work(void *arg)
{
    struct slot *s = arg;
    for (long i = 0; i < pairs; i++) {
        pthread_mutex_lock(&s->lock);
        s->count++;
        pthread_mutex_unlock(&s->lock);
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
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2)
        pairs = atol(argv[2]);
    if (threads < 1 || threads > MAX_THREADS || pairs < 1) {
        fprintf(stderr, "usage: exec_mutex [THREADS 1..%d] [PAIRS]\n", MAX_THREADS);
        return 2;
    }
    pthread_t th[MAX_THREADS];
    for (int i = 0; i < threads; i++)
        pthread_mutex_init(&slots[i].lock, NULL);
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
