/*
 * fifo.c - a named pipe between two processes that are not parent and child of each other's
 * making: both just open the same path.
 *
 * mkfifo makes /tmp/...-fifo; the child opens it for writing (and waits until a reader
 * opens it), writes MESSAGES lines; the parent opens it for reading and reads until end of
 * file, then removes the name. Under ipcscope: one pipe object named after the FIFO, the
 * opens blocked until the other end came, the bytes in the pipe.
 *     cc -o fifo fifo.c && ipcscope exec -- ./fifo
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MESSAGES 5

int main(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/tmp/ipcscope-example-%d-fifo", (int)getpid());
    if (mkfifo(path, 0600) < 0) {
        perror("mkfifo");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_WRONLY); /* waits for the reader */
        for (int i = 0; i < MESSAGES; i++) {
            char line[32];
            int n = snprintf(line, sizeof(line), "message %d\n", i);
            write(fd, line, (size_t)n);
            usleep(20000);
        }
        close(fd);
        return 0;
    }
    usleep(100000); /* the writer waits in open meanwhile */
    int fd = open(path, O_RDONLY);
    char buf[256];
    long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        total += n;
    close(fd);
    waitpid(pid, NULL, 0);
    unlink(path);
    printf("read %ld bytes through the FIFO\n", total);
    return 0;
}
