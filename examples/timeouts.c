/*
 * timeouts.c - waits that give up, and the other ways to reap a child.
 *
 * A helper thread holds the mutex `door` for 300 ms. Meanwhile main tries
 * pthread_mutex_timedlock with a 50 ms limit (it gives up: ETIMEDOUT), then with 2 s (it
 * gets the mutex once the helper lets go). Then it waits on the semaphore `ticket` with
 * sem_clockwait: 50 ms with no ticket (ETIMEDOUT), then until the helper posts one.
 * A recursive mutex `nest` taken twice by main counts as held once, until the second unlock.
 * Last, three children exit with 3, 4 and by SIGTERM (once it says through a pipe that it
 * runs), and main reaps them with wait4, waitid and wait3.
 *
 * Under ipcscope: main blocked on each object and unblocked by the timeout, then taking
 * it; three children reaped, each with its status.
 *     cc -pthread -o timeouts timeouts.c && ipcscope exec -- ./timeouts
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t door = PTHREAD_MUTEX_INITIALIZER;
static sem_t ticket;
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER; /* main waits until door is taken */
static pthread_cond_t taken = PTHREAD_COND_INITIALIZER;
static int door_taken;
static pthread_mutex_t nest; /* recursive: taken twice, held once */

static struct timespec in_ms(clockid_t clock, long ms)
{
    struct timespec t;
    clock_gettime(clock, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static void *helper(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&door);
    pthread_mutex_lock(&held);
    door_taken = 1;
    pthread_cond_signal(&taken);
    pthread_mutex_unlock(&held);
    usleep(300 * 1000);
    pthread_mutex_unlock(&door);
    usleep(200 * 1000);
    sem_post(&ticket);
    return NULL;
}

/* A child that exits with code, or (code < 0) says it is up through ready and waits for
 * a signal. */
static pid_t child(int code, int ready)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (code < 0) {
            char up = 1;
            if (write(ready, &up, 1) != 1)
                _exit(1);
            for (;;)
                pause(); /* until SIGTERM */
        }
        _exit(code);
    }
    return pid;
}

int main(void)
{
    pthread_mutexattr_t ra;
    pthread_mutexattr_init(&ra);
    pthread_mutexattr_settype(&ra, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&nest, &ra);
    pthread_mutex_lock(&nest);
    pthread_mutex_lock(&nest); /* again: one acquisition, two levels deep */
    pthread_mutex_unlock(&nest);
    pthread_mutex_unlock(&nest);
    sem_init(&ticket, 0, 0);
    pthread_t th;
    pthread_create(&th, NULL, helper, NULL);
    pthread_mutex_lock(&held);
    while (!door_taken)
        pthread_cond_wait(&taken, &held);
    pthread_mutex_unlock(&held);

    struct timespec t = in_ms(CLOCK_REALTIME, 50);
    int rc = pthread_mutex_timedlock(&door, &t);
    printf("timedlock 50 ms: %s\n", rc == ETIMEDOUT ? "timed out" : "taken");
    t = in_ms(CLOCK_REALTIME, 2000);
    rc = pthread_mutex_timedlock(&door, &t);
    printf("timedlock 2 s: %s\n", rc == 0 ? "taken" : "failed");
    if (rc == 0)
        pthread_mutex_unlock(&door);

    t = in_ms(CLOCK_MONOTONIC, 50);
    rc = sem_clockwait(&ticket, CLOCK_MONOTONIC, &t);
    printf("clockwait 50 ms: %s\n", rc < 0 && errno == ETIMEDOUT ? "timed out" : "got one");
    t = in_ms(CLOCK_MONOTONIC, 2000);
    rc = sem_clockwait(&ticket, CLOCK_MONOTONIC, &t);
    printf("clockwait 2 s: %s\n", rc == 0 ? "got one" : "failed");
    pthread_join(th, NULL);

    int ready[2];
    if (pipe(ready) < 0)
        return 1;
    pid_t a = child(3, -1), b = child(4, -1), c = child(-1, ready[1]);
    int status;
    struct rusage ru;
    if (wait4(a, &status, 0, &ru) == a)
        printf("wait4: child exited with %d\n", WEXITSTATUS(status));
    siginfo_t si;
    if (waitid(P_PID, (id_t)b, &si, WEXITED) == 0)
        printf("waitid: child exited with %d\n", si.si_status);
    char up;
    if (read(ready[0], &up, 1) == 1) /* the child runs: it is a task of ours now */
        kill(c, SIGTERM);
    if (wait3(&status, 0, &ru) == c)
        printf("wait3: child killed by signal %d\n", WTERMSIG(status));
    sem_destroy(&ticket);
    pthread_mutex_destroy(&nest);
    return 0;
}
