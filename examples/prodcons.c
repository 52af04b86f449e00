/*
 * prodcons.c - a bounded buffer between threads, the way a student writes it.
 *
 * Two producer threads and two consumer threads share a ring of SLOTS ints. The semaphore
 * `empty` counts free slots, `full` counts filled ones, and the mutex `lock` guards the
 * indices. Run it under ipcscope to watch the counts move and the threads block:
 *     cc -pthread -o prodcons prodcons.c && ipcscope exec -- ./prodcons
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <unistd.h>

#define SLOTS 4
#define ITEMS 12 /* per producer */

static int buffer[SLOTS];
static int in, out;
static sem_t empty, full;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *producer(void *arg)
{
    int id = (int)(long)arg;
    for (int i = 0; i < ITEMS; i++) {
        sem_wait(&empty);
        pthread_mutex_lock(&lock);
        buffer[in] = id * 100 + i;
        in = (in + 1) % SLOTS;
        pthread_mutex_unlock(&lock);
        sem_post(&full);
        usleep(1000);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    long sum = 0;
    (void)arg;
    for (int i = 0; i < ITEMS; i++) {
        sem_wait(&full);
        pthread_mutex_lock(&lock);
        sum += buffer[out];
        out = (out + 1) % SLOTS;
        pthread_mutex_unlock(&lock);
        sem_post(&empty);
        usleep(3000); /* slower than the producers: the buffer fills up */
    }
    printf("consumer done, sum %ld\n", sum);
    return NULL;
}

int main(void)
{
    pthread_t p[2], c[2];
    sem_init(&empty, 0, SLOTS);
    sem_init(&full, 0, 0);
    for (long i = 0; i < 2; i++) {
        pthread_create(&p[i], NULL, producer, (void *)(i + 1));
        pthread_create(&c[i], NULL, consumer, NULL);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(p[i], NULL);
        pthread_join(c[i], NULL);
    }
    sem_destroy(&empty);
    sem_destroy(&full);
    printf("all %d items produced and consumed\n", 2 * ITEMS);
    return 0;
}
