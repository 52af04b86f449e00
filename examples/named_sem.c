/*
 * named_sem.c - two processes share a printer through a named semaphore.
 *
 * Parent and child each open the semaphore "/printer-<pid>" with sem_open after the fork,
 * so each maps it at its own address, and take turns holding it for a few milliseconds. A
 * condition variable hands a "job ready" signal from a thread to the main thread first.
 * Under ipcscope: one semaphore seen by both processes, its value 1 -> 0 -> 1, and the
 * condition variable's wait and signal.
 *     cc -pthread -o named_sem named_sem.c && ipcscope exec -- ./named_sem
 */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define TURNS 3

static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_ready = PTHREAD_COND_INITIALIZER;
static int jobs;

static void *make_job(void *arg)
{
    (void)arg;
    usleep(10000);
    pthread_mutex_lock(&job_lock);
    jobs++;
    pthread_cond_signal(&job_ready);
    pthread_mutex_unlock(&job_lock);
    return NULL;
}

static void print_turns(const char *name, const char *who)
{
    sem_t *printer = sem_open(name, O_CREAT, 0600, 1);
    if (printer == SEM_FAILED) {
        perror("sem_open");
        return;
    }
    for (int i = 0; i < TURNS; i++) {
        sem_wait(printer);
        printf("%s prints page %d\n", who, i + 1);
        fflush(stdout);
        usleep(3000);
        sem_post(printer);
        usleep(1000);
    }
    sem_close(printer);
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, make_job, NULL);
    pthread_mutex_lock(&job_lock);
    while (jobs == 0)
        pthread_cond_wait(&job_ready, &job_lock);
    pthread_mutex_unlock(&job_lock);
    pthread_join(t, NULL);

    char name[64];
    snprintf(name, sizeof(name), "/printer-%d", (int)getpid());
    pid_t pid = fork();
    if (pid == 0) {
        print_turns(name, "child");
        return 0;
    }
    print_turns(name, "parent");
    waitpid(pid, NULL, 0);
    sem_unlink(name);
    return 0;
}
