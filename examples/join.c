/*
 * join.c - pthread_join waits for a thread to finish and collects what it returned.
 *
 * main starts a slow and a fast thread, joins the slow one first (and waits), then the fast
 * one (already finished: no wait), and adds up what they returned. Under ipcscope: main
 * blocked on the thread it joins, and each thread's result.
 *     cc -pthread -o join join.c && ipcscope exec -- ./join
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

static void *slow(void *arg)
{
    (void)arg;
    usleep(300000);
    return (void *)(intptr_t)7;
}

static void *fast(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)5;
}

int main(void)
{
    pthread_t s, f;
    void *rs, *rf;
    pthread_create(&s, NULL, slow, NULL);
    pthread_create(&f, NULL, fast, NULL);
    pthread_join(s, &rs); /* waits about 300 ms */
    pthread_join(f, &rf); /* finished long ago */
    printf("slow returned %d, fast returned %d\n", (int)(intptr_t)rs, (int)(intptr_t)rf);
    return 0;
}
