/*
 * spin.c - two threads share a counter under a spin lock.
 *
 * A spin lock is like a mutex, but a thread that finds it taken keeps trying on its CPU
 * instead of sleeping: fine for very short critical sections. Each thread adds ROUNDS to
 * the counter. Under ipcscope: the lock's holder and the one spinning for it.
 *     cc -pthread -o spin spin.c && ipcscope exec -- ./spin
 *
 * With the argument `alone`, one thread locks and unlocks the lock ALONE times with nobody
 * else wanting it, then keeps it for 300 ms of computing (no call ipcscope follows). Under
 * ipcscope those pairs are counted, not recorded one by one (a mutex_pairs record stands for
 * the pairs of one clock tick), and the lock shows held while the thread computes.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ROUNDS 1000
#define ALONE 300000

static pthread_spinlock_t guard;
static long counter;

static void *add(void *arg)
{
    long rounds = *(const long *)arg;
    for (long i = 0; i < rounds; i++) {
        pthread_spin_lock(&guard);
        counter++;
        pthread_spin_unlock(&guard);
    }
    return NULL;
}

/* ALONE pairs, then the lock kept while computing for 300 ms. */
static void alone(void)
{
    long rounds = ALONE;
    add(&rounds);
    struct timespec t0, t;
    pthread_spin_lock(&guard);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    volatile unsigned long sum = 0;
    do {
        for (int i = 0; i < 10000; i++)
            sum += (unsigned long)i;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 300);
    pthread_spin_unlock(&guard);
    printf("counter = %ld alone, then held 300 ms\n", counter);
}

int main(int argc, char **argv)
{
    pthread_spin_init(&guard, PTHREAD_PROCESS_PRIVATE);
    if (argc > 1 && strcmp(argv[1], "alone") == 0) {
        alone();
        pthread_spin_destroy(&guard);
        return counter == ALONE ? 0 : 1;
    }
    long rounds = ROUNDS;
    pthread_t a, b;
    pthread_create(&a, NULL, add, &rounds);
    pthread_create(&b, NULL, add, &rounds);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_spin_destroy(&guard);
    printf("counter = %ld (expected %d)\n", counter, 2 * ROUNDS);
    return counter == 2 * ROUNDS ? 0 : 1;
}
