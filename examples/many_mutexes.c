/*
 * many_mutexes.c - a thousand mutexes and a hundred threads: nothing may go missing.
 *
 * THREADS threads each lock and unlock every one of MUTEXES mutexes (an array) in turn,
 * PASSES times over. Under ipcscope every mutex is an object ("locks[517]") and every
 * acquisition is in the trace; the counts must add up, or the snapshot must say what was
 * dropped and why.
 *     cc -pthread -o many_mutexes many_mutexes.c && ipcscope exec -- ./many_mutexes
 */
#include <pthread.h>
#include <stdio.h>

#define MUTEXES 1000
#define THREADS 100
#define PASSES 2

static pthread_mutex_t locks[MUTEXES];
static long hits[MUTEXES];

static void *work(void *arg)
{
    (void)arg;
    for (int p = 0; p < PASSES; p++)
        for (int i = 0; i < MUTEXES; i++) {
            pthread_mutex_lock(&locks[i]);
            hits[i]++;
            pthread_mutex_unlock(&locks[i]);
        }
    return NULL;
}

int main(void)
{
    for (int i = 0; i < MUTEXES; i++)
        pthread_mutex_init(&locks[i], NULL);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    long total = 0;
    for (int i = 0; i < MUTEXES; i++)
        total += hits[i];
    printf("%ld acquisitions of %d mutexes by %d threads\n", total, MUTEXES, THREADS);
    return total == (long)MUTEXES * THREADS * PASSES ? 0 : 1;
}
