/*
 * hot_lock.c - mutexes locked and unlocked as fast as a loop can, then one held while its
 * thread computes.
 *
 * Two threads each lock and unlock a mutex of their own PAIRS times (nobody else ever wants
 * it), then main locks `big` 1,000 times and holds it for 300 ms of computing, making no
 * call ipcscope follows. With the argument `hold`, main skips the threads and keeps `big`,
 * computing, until it is killed. With `exit`, a third thread makes its pairs on `c` and then
 * computes for ever, making no call; main returns (exit) once it is done: the thread ends
 * with the process, in the middle of what ipcscope was counting. With `paced`, main makes 200
 * pairs on `c`, one a millisecond (computing in between), and nothing else. With `fork`, main
 * makes PAIRS pairs on `c`, forks a child that makes PAIRS on its own copy of `c`, reaps it and
 * makes PAIRS more: two objects, one a process.
 *     cc -pthread -o hot_lock hot_lock.c && ipcscope exec -- ./hot_lock
 *
 * Under ipcscope: pairs nobody else takes part in are counted, not recorded one by one (a
 * mutex_pairs record stands for all the pairs of one clock tick), so the program runs at
 * close to its own speed and every pair is still in the trace; the mutex held while main
 * computes shows held the whole time.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAIRS 300000

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t big = PTHREAD_MUTEX_INITIALIZER, c = PTHREAD_MUTEX_INITIALIZER;
static long done_a, done_b, done_c;

static void *spin(void *arg)
{
    pthread_mutex_t *m = arg;
    long *done = m == &a ? &done_a : m == &b ? &done_b : &done_c;
    for (int i = 0; i < PAIRS; i++) {
        pthread_mutex_lock(m);
        ++*done;
        pthread_mutex_unlock(m);
    }
    if (m == &c) /* compute for ever: the process ends around it */
        for (volatile unsigned long spin = 0;; spin++)
            __atomic_store_n(&done_c, PAIRS + 1, __ATOMIC_RELEASE);
    return NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    int hold = argc > 1 && strcmp(argv[1], "hold") == 0;
    if (argc > 1 && strcmp(argv[1], "paced") == 0) {
        for (int i = 0; i < 200; i++) {
            pthread_mutex_lock(&c);
            done_c++;
            pthread_mutex_unlock(&c);
            for (double t = now_ms(); now_ms() - t < 1;) /* computing for a millisecond */
                ;
        }
        printf("pairs: c %ld paced\n", done_c);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "fork") == 0) {
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < PAIRS; i++) {
                pthread_mutex_lock(&c);
                done_c++;
                pthread_mutex_unlock(&c);
            }
            if (round > 0)
                break;
            fflush(stdout);
            pid_t child = fork();
            if (child == 0) { /* the child's copy of c, locked at the same address */
                for (int i = 0; i < PAIRS; i++) {
                    pthread_mutex_lock(&c);
                    pthread_mutex_unlock(&c);
                }
                _exit(0);
            }
            waitpid(child, NULL, 0);
        }
        printf("pairs: c %ld in main, %d in its child\n", done_c, PAIRS);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "exit") == 0) {
        pthread_t tc;
        pthread_create(&tc, NULL, spin, &c);
        while (__atomic_load_n(&done_c, __ATOMIC_ACQUIRE) <= PAIRS)
            ; /* until its pairs are made */
        printf("pairs: c %d, then main exits\n", PAIRS);
        return 0;
    }
    if (!hold) {
        pthread_t ta, tb;
        pthread_create(&ta, NULL, spin, &a);
        pthread_create(&tb, NULL, spin, &b);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
    }
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&big);
        pthread_mutex_unlock(&big);
    }
    pthread_mutex_lock(&big);
    double t0 = now_ms();
    volatile unsigned long sum = 0;
    while (hold || now_ms() - t0 < 300) /* computing, the lock held */
        for (int i = 0; i < 10000; i++)
            sum += (unsigned long)i;
    pthread_mutex_unlock(&big);
    printf("pairs: a %ld, b %ld, big 1001 (held %.0f ms)\n", done_a, done_b, now_ms() - t0);
    return 0;
}
