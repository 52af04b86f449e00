/*
 * leftovers.c - a program that forgets to clean up: it makes a POSIX shared memory object,
 * a POSIX message queue, a POSIX named semaphore and a System V semaphore set and exits
 * without removing them.
 *
 * They outlive the program (that is the lesson: the kernel keeps named IPC objects until
 * someone removes them). ipcscope lists them in the snapshot as the program's leftovers,
 * apart from its own leaks; remove them with rm /dev/shm/NAME, rm /dev/mqueue/NAME,
 * rm /dev/shm/sem.NAME and ipcrm -s ID.
 *     cc -pthread -o leftovers leftovers.c -lrt && ipcscope exec --headless -- ./leftovers
 */
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <unistd.h>

int main(void)
{
    char name[64];
    snprintf(name, sizeof(name), "/ipcscope-example-%d-left", (int)getpid());
    int fd = shm_open(name, O_CREAT | O_RDWR, 0600);
    if (fd < 0 || ftruncate(fd, 1024) < 0) {
        perror("shm_open");
        return 1;
    }
    mqd_t q = mq_open(name, O_CREAT | O_RDWR, 0600, NULL);
    sem_t *named = sem_open(name, O_CREAT, 0600, 1);
    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (q == (mqd_t)-1 || named == SEM_FAILED || sem < 0) {
        perror("mq_open/sem_open/semget");
        return 1;
    }
    sem_close(named);
    printf("left /dev/shm%s, /dev/mqueue%s, /dev/shm/sem.%s and semaphore set %d behind\n", name,
           name, name + 1, sem);
    return 0;
}
