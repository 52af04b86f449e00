/*
 * deadlock.c - two threads take two locks in opposite orders and wait for each other
 * forever.
 *
 * Thread 1 locks `fork_a` then `fork_b`, thread 2 `fork_b` then `fork_a`; a barrier between
 * the two makes sure both hold their first lock when they ask for the second (a pause there
 * only makes it likely: on a busy machine one thread can take both before the other
 * starts). Under
 * ipcscope the wait-for cycle is reported (and the run keeps going, as the program would
 * hang without ipcscope: stop it with Ctrl-C or --duration).
 *     cc -pthread -o deadlock deadlock.c && ipcscope exec --headless --duration 3 -- ./deadlock
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t fork_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t fork_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold_one;

static void *one(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fork_a);
    pthread_barrier_wait(&both_hold_one);
    pthread_mutex_lock(&fork_b); /* held by two, who waits for fork_a */
    pthread_mutex_unlock(&fork_b);
    pthread_mutex_unlock(&fork_a);
    return NULL;
}

static void *two(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fork_b);
    pthread_barrier_wait(&both_hold_one);
    pthread_mutex_lock(&fork_a);
    pthread_mutex_unlock(&fork_a);
    pthread_mutex_unlock(&fork_b);
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_barrier_init(&both_hold_one, NULL, 2);
    pthread_create(&a, NULL, one, NULL);
    pthread_create(&b, NULL, two, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    puts("no deadlock this time");
    return 0;
}
