/*
 * counter.c - two threads add to one counter, with a mutex so no update is lost.
 *
 * Each thread adds 1 to `counter` ROUNDS times inside pthread_mutex_lock/unlock on `lock`.
 * The total is always 2 * ROUNDS; remove the lock to see lost updates. Under ipcscope: two
 * threads taking turns at the mutex, who holds it, who waits.
 *     cc -pthread -o counter counter.c && ipcscope exec -- ./counter
 */
#include <pthread.h>
#include <stdio.h>

#define ROUNDS 2000

static long counter;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *add(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, add, NULL);
    pthread_create(&b, NULL, add, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("counter = %ld (expected %d)\n", counter, 2 * ROUNDS);
    return counter == 2 * ROUNDS ? 0 : 1;
}
