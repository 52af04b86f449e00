/*
 * posix_shm.c - POSIX shared memory between two processes.
 *
 * The parent creates /ipcscope-example-PID-shm with shm_open, sizes it with ftruncate and
 * forks; the child opens and maps it too and writes a message; the parent waits, maps it,
 * reads the message, unmaps it and removes the name. Under ipcscope: one shm object with
 * its size and the mappings of both processes.
 *     cc -o posix_shm posix_shm.c -lrt && ipcscope exec -- ./posix_shm
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 4096

int main(void)
{
    char name[64];
    snprintf(name, sizeof(name), "/ipcscope-example-%d-shm", (int)getpid());
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0 || ftruncate(fd, SIZE) < 0) {
        perror("shm_open");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int cfd = shm_open(name, O_RDWR, 0);
        char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
        close(cfd);
        snprintf(p, SIZE, "hello from child %d", (int)getpid());
        usleep(100000); /* both map it for a moment */
        munmap(p, SIZE);
        return 0;
    }
    char *p = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    waitpid(pid, NULL, 0);
    printf("parent read: %s\n", p);
    munmap(p, SIZE);
    shm_unlink(name);
    return 0;
}
