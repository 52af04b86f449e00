/*
 * stuck.c - a program that never finishes: a thread waits on a semaphore nobody posts, a
 * child process sleeps, and main joins the thread.
 *
 * For `ipcscope exec --duration S`: the snapshot is taken before ipcscope's cleanup kills
 * anything, so it shows who waited on what ("blocked_on": "sem:never").
 *     cc -pthread -o stuck stuck.c && ipcscope exec --headless --duration 2 -- ./stuck
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

static sem_t never;

static void *waiter(void *arg)
{
    (void)arg;
    sem_wait(&never);
    return NULL;
}

int main(void)
{
    sem_init(&never, 0, 0);
    if (fork() == 0) {
        pause();
        return 0;
    }
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    printf("waiting forever\n");
    fflush(stdout);
    pthread_join(t, NULL);
    return 0;
}
