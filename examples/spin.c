/*
 * spin.c - two threads share a counter under a spin lock.
 *
 * A spin lock is like a mutex, but a thread that finds it taken keeps trying on its CPU
 * instead of sleeping: fine for very short critical sections. Each thread adds ROUNDS to
 * the counter. Under ipcscope: the lock's holder and the one spinning for it.
 *     cc -pthread -o spin spin.c && ipcscope exec -- ./spin
 */
#include <pthread.h>
#include <stdio.h>

#define ROUNDS 1000

static pthread_spinlock_t guard;
static long counter;

static void *add(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_spin_lock(&guard);
        counter++;
        pthread_spin_unlock(&guard);
    }
    return NULL;
}

int main(void)
{
    pthread_spin_init(&guard, PTHREAD_PROCESS_PRIVATE);
    pthread_t a, b;
    pthread_create(&a, NULL, add, NULL);
    pthread_create(&b, NULL, add, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_spin_destroy(&guard);
    printf("counter = %ld (expected %d)\n", counter, 2 * ROUNDS);
    return counter == 2 * ROUNDS ? 0 : 1;
}
