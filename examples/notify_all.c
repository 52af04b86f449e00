/*
 * notify_all.c - a broadcast wakes every waiter, but none of them runs yet.
 *
 * Two threads wait on a condition variable. main takes the mutex, sets the flag, broadcasts,
 * and keeps the mutex a moment longer. pthread_cond_wait returns only with the mutex held
 * again, so each woken waiter now waits for the mutex main holds, then they take it one after
 * the other. Under ipcscope: both wait on "ready_cv", then both on "lock" (the woken ones,
 * read from /proc), then each takes "lock" in turn.
 *     cc -pthread -o notify_all notify_all.c && ipcscope exec -- ./notify_all
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cv = PTHREAD_COND_INITIALIZER;
static int ready, waiting, ran;

static void *waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    waiting++;
    while (!ready)
        pthread_cond_wait(&ready_cv, &lock);
    ran++;
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, waiter, NULL);
    for (;;) { /* both inside pthread_cond_wait: it gave the mutex back for us to take */
        pthread_mutex_lock(&lock);
        if (waiting == 2)
            break;
        pthread_mutex_unlock(&lock);
        usleep(10000);
    }
    ready = 1;
    pthread_cond_broadcast(&ready_cv);
    usleep(500000); /* still holding lock: the woken ones wait for it */
    int ran_while_held = ran;
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("woken: 2; ran while main held the lock: %d; ran after: %d\n", ran_while_held, ran);
    return ran == 2 && ran_while_held == 0 ? 0 : 1;
}
