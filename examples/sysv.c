/*
 * sysv.c - System V IPC: a semaphore set, a shared memory segment and a message queue.
 *
 * The parent makes a segment, a set of two semaphores (0: "data ready", 1: "data taken",
 * both 0) and a queue. For ROUNDS rounds the child writes a number into the segment and
 * signals "ready" (semop +1), the parent waits for it (semop -1), reads the number, sends it
 * back on the queue and signals "taken". At the end the child reads every reply with
 * msgrcv; the parent removes the three with IPC_RMID. Under ipcscope: three objects marked
 * "sysv", the semaphores' values, the segment's attaches, the queue's depth.
 *     cc -o sysv sysv.c && ipcscope exec -- ./sysv
 */
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 5

struct reply {
    long mtype;
    int value;
};

static void sem_change(int id, unsigned short num, short by)
{
    struct sembuf op = {.sem_num = num, .sem_op = by, .sem_flg = 0};
    semop(id, &op, 1);
}

int main(void)
{
    int shm = shmget(IPC_PRIVATE, sizeof(int), IPC_CREAT | 0600);
    int sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    int msg = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (shm < 0 || sem < 0 || msg < 0) {
        perror("System V IPC");
        return 1;
    }
    semctl(sem, 0, SETVAL, 0);
    semctl(sem, 1, SETVAL, 0);
    pid_t pid = fork();
    if (pid == 0) {
        int *box = shmat(shm, NULL, 0);
        for (int i = 1; i <= ROUNDS; i++) {
            *box = i * 10;
            sem_change(sem, 0, +1); /* ready */
            sem_change(sem, 1, -1); /* wait until taken */
        }
        shmdt(box);
        int sum = 0;
        for (int i = 0; i < ROUNDS; i++) {
            struct reply r;
            msgrcv(msg, &r, sizeof(r.value), 0, 0);
            sum += r.value;
        }
        printf("child: replies add up to %d\n", sum);
        return 0;
    }
    int *box = shmat(shm, NULL, SHM_RDONLY);
    for (int i = 1; i <= ROUNDS; i++) {
        sem_change(sem, 0, -1); /* wait until ready */
        struct reply r = {.mtype = 1, .value = *box};
        msgsnd(msg, &r, sizeof(r.value), 0);
        sem_change(sem, 1, +1); /* taken */
    }
    struct shmid_ds ds;
    shmctl(shm, IPC_STAT, &ds);
    printf("parent: the segment has %lu attaches\n", (unsigned long)ds.shm_nattch);
    shmdt(box);
    waitpid(pid, NULL, 0);
    shmctl(shm, IPC_RMID, NULL);
    semctl(sem, 0, IPC_RMID);
    msgctl(msg, IPC_RMID, NULL);
    return 0;
}
