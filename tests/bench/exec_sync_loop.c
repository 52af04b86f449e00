/*
 * exec_sync_loop.c - the lock-heavy program of scripts/bench: uncontended take/give-back pairs.
 *
 * `exec_sync_loop mutex [THREADS] [PAIRS]`: THREADS threads (default 4) each lock and unlock a
 * mutex of their own PAIRS times (default 200000). `exec_sync_loop sem [THREADS] [PAIRS]`:
 * THREADS threads (default 1) each take and post back a semaphore of their own (value 1) PAIRS
 * times (default 1000000). `exec_sync_loop spin [THREADS] [PAIRS]`: as mutex, with a spin lock
 * each (default 1 thread, 2000000 pairs). Nobody ever waits, so the cost measured is the cost of
 * following the calls. With a fourth argument `shared`, every thread uses the first thread's
 * lock (semaphore) and counter instead: the homework's "threads count under one lock", where
 * they do wait for each other. Prints the time the work took (CLOCK_MONOTONIC, from before the
 * first thread starts to after the last is joined).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec_work_clock.h"

#define MAX_THREADS 64

struct slot {
    _Alignas(64) union {
        pthread_mutex_t lock;
        sem_t sem;
        pthread_spinlock_t spin;
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

static void *work_spin(void *arg)
{
    struct slot *s = arg;
    for (long i = 0; i < pairs; i++) {
        pthread_spin_lock(&s->u.spin);
        s->count++;
        pthread_spin_unlock(&s->u.spin);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *const MODES[] = {"mutex", "sem", "spin"};
    static void *(*const WORK[])(void *) = {work_mutex, work_sem, work_spin};
    int mode = -1;
    for (int m = 0; argc > 1 && m < 3; m++)
        if (strcmp(argv[1], MODES[m]) == 0)
            mode = m;
    if (mode < 0) {
        if (argc < 2)
            fprintf(stderr, "exec_sync_loop: name what to loop on: `mutex`, `sem` or `spin`\n");
        else
            fprintf(stderr,
                    "exec_sync_loop: the first argument must be `mutex`, `sem` or `spin`, not "
                    "`%s`\n",
                    argv[1]);
        fprintf(stderr, "usage: exec_sync_loop mutex|sem|spin [THREADS 1..%d] [PAIRS] [shared]\n",
                MAX_THREADS);
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : mode ? 1 : 4;
    pairs = argc > 3 ? atol(argv[3]) : mode == 1 ? 1000000 : mode == 2 ? 2000000 : 200000;
    int shared = argc > 4 && strcmp(argv[4], "shared") == 0;
    if (threads < 1 || threads > MAX_THREADS || pairs < 1 || (argc > 4 && !shared)) {
        fprintf(stderr, "usage: exec_sync_loop mutex|sem|spin [THREADS 1..%d] [PAIRS] [shared]\n",
                MAX_THREADS);
        return 2;
    }
    pthread_t th[MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        if (mode == 1)
            sem_init(&slots[i].u.sem, 0, 1);
        else if (mode == 2)
            pthread_spin_init(&slots[i].u.spin, PTHREAD_PROCESS_PRIVATE);
        else
            pthread_mutex_init(&slots[i].u.lock, NULL);
    }
    double t0 = now_ms();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, WORK[mode], &slots[shared ? 0 : i]);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double t1 = now_ms();
    long total = 0;
    for (int i = 0; i < threads; i++)
        total += slots[i].count;
    printf("work_ms %.3f threads %d pairs %ld total %ld\n", t1 - t0, threads, pairs, total);
    return total == threads * pairs ? 0 : 1;
}
