/*
 * crowd.c - three hundred threads alive at once, more than ipcscope has task slots for.
 *
 * Every thread waits at a barrier until all 300 exist, then takes a lock once. ipcscope
 * follows 255 tasks at a time (the slots of ended ones are reused); the others cannot be
 * followed, and it says so: the snapshot's events.dropped_reasons.tasks_without_slot, the
 * header's LOST, a line on stderr and exit status 1 although the program succeeded.
 *     cc -pthread -o crowd crowd.c && ipcscope exec --headless -- ./crowd
 */
#include <pthread.h>
#include <stdio.h>

#define THREADS 300

static pthread_barrier_t all_here;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int count;

static void *member(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&all_here);
    pthread_mutex_lock(&lock);
    count++;
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    pthread_barrier_init(&all_here, NULL, THREADS);
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, member, NULL);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("%d threads took the lock\n", count);
    return count == THREADS ? 0 : 1;
}
