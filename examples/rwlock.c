/*
 * rwlock.c - readers share, a writer is alone: a pthread reader-writer lock.
 *
 * READERS threads read a table under the read lock (they are inside together: the
 * program counts the most it ever saw at once) while a writer thread updates it under the
 * write lock, ROUNDS times each. Under ipcscope: the lock's readers count and its writer,
 * and who waits for whom.
 *     cc -pthread -o rwlock rwlock.c && ipcscope exec -- ./rwlock
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define READERS 3
#define ROUNDS 20

static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static int table[8], inside, most;

static void *reader(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_rwlock_rdlock(&table_lock);
        pthread_mutex_lock(&count_lock);
        if (++inside > most)
            most = inside;
        pthread_mutex_unlock(&count_lock);
        int sum = 0;
        for (int k = 0; k < 8; k++)
            sum += table[k];
        (void)sum;
        usleep(2000);
        pthread_mutex_lock(&count_lock);
        inside--;
        pthread_mutex_unlock(&count_lock);
        pthread_rwlock_unlock(&table_lock);
    }
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        pthread_rwlock_wrlock(&table_lock);
        table[i % 8]++;
        pthread_rwlock_unlock(&table_lock);
        usleep(3000);
    }
    return NULL;
}

int main(void)
{
    pthread_t r[READERS], w;
    for (int i = 0; i < READERS; i++)
        pthread_create(&r[i], NULL, reader, NULL);
    pthread_create(&w, NULL, writer, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);
    pthread_join(w, NULL);
    printf("reads %d, writes %d, most readers at once %d\n", READERS * ROUNDS, ROUNDS, most);
    return 0;
}
