/*
 * exec_sync_loop.c - the lock-heavy program of scripts/bench: uncontended take/give-back pairs.
 *
 * `exec_sync_loop mutex [THREADS] [PAIRS]`: THREADS threads (default 4) each lock and unlock a
 * mutex of their own PAIRS times (default 200000). `exec_sync_loop sem [THREADS] [PAIRS]`:
 * THREADS threads (default 1) each take and post back a semaphore of their own (value 1) PAIRS
 * times (default 1000000). Nobody ever waits, so the cost measured is the cost of following
 * the calls. Prints the time the work took (CLOCK_MONOTONIC, from before the first thread
 * starts to after the last is joined).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 64

struct slot {
    _Alignas(64) union {
        pthread_mutex_t lock;
        sem_t sem;
    } u;
    long count;
    char pad[64];
};

static struct slot slots[MAX_THREADS];
static long pairs;

static void *work_mutex(void *arg)
{
    struct slot *s = arg;
    for (long i = 0; i < pairs; i++) {
        pthread_mutex_lock(&s->u.lock);
        s->count++;
        pthread_mutex_unlock(&s->u.lock);
    }
    return NULL;
}

static void *work_sem(void *arg)
{
    struct slot *s = arg;
    for (long i = 0; i < pairs; i++) {
        sem_wait(&s->u.sem);
        s->count++;
        sem_post(&s->u.sem);
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
    int sem = argc > 1 && strcmp(argv[1], "sem") == 0;
    if (argc < 2 || (!sem && strcmp(argv[1], "mutex") != 0)) {
        if (argc < 2)
            fprintf(stderr, "exec_sync_loop: name what to loop on: `mutex` or `sem`\n");
        else
            fprintf(stderr,
                    "exec_sync_loop: the first argument must be `mutex` or `sem`, not `%s`\n",
                    argv[1]);
        fprintf(stderr, "usage: exec_sync_loop mutex|sem [THREADS 1..%d] [PAIRS]\n", MAX_THREADS);
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : sem ? 1 : 4;
    pairs = argc > 3 ? atol(argv[3]) : sem ? 1000000 : 200000;
    if (threads < 1 || threads > MAX_THREADS || pairs < 1) {
        fprintf(stderr, "usage: exec_sync_loop mutex|sem [THREADS 1..%d] [PAIRS]\n", MAX_THREADS);
        return 2;
    }
    pthread_t th[MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        if (sem)
            sem_init(&slots[i].u.sem, 0, 1);
        else
            pthread_mutex_init(&slots[i].u.lock, NULL);
    }
    double t0 = now_ms();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, sem ? work_sem : work_mutex, &slots[i]);
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += slots[i].count;
    }
    double t1 = now_ms();
    printf("work_ms %.3f threads %d pairs %ld total %ld\n", t1 - t0, threads, pairs, total);
    return total == threads * pairs ? 0 : 1;
}
