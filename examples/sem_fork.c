/*
 * sem_fork.c - a parent and the child it forks count through one named semaphore.
 *
 * The parent opens "/ipcscope-example-<pid>-tokens" with sem_open before the fork, so the
 * child finds it mapped where its parent had it without opening it: the child posts five
 * tokens, the parent waits for five, then closes and unlinks the semaphore. Under ipcscope:
 * one semaphore for both processes (the child's posts and the parent's waits on it), its
 * final value 0, and unlinked.
 *     cc -pthread -o sem_fork sem_fork.c && ipcscope exec -- ./sem_fork
 */
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define TOKENS 5

int main(void)
{
    char name[64];
    snprintf(name, sizeof(name), "/ipcscope-example-%d-tokens", (int)getpid());
    sem_t *tokens = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    if (tokens == SEM_FAILED) {
        perror("sem_open");
        return 1;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        sem_unlink(name);
        return 1;
    }
    if (child == 0) {
        for (int i = 0; i < TOKENS; i++) {
            usleep(2000);
            sem_post(tokens);
        }
        _exit(0);
    }
    for (int i = 0; i < TOKENS; i++)
        sem_wait(tokens);
    waitpid(child, NULL, 0);
    int value = -1;
    sem_getvalue(tokens, &value);
    printf("took %d tokens, final value %d\n", TOKENS, value);
    sem_close(tokens);
    sem_unlink(name);
    return value == 0 ? 0 : 1;
}
