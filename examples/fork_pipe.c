/*
 * fork_pipe.c - a parent and a child talking through a pipe.
 *
 * The parent makes a pipe and forks. The child closes the read end, writes a few messages
 * and exits; the parent closes the write end, reads until end-of-file and then waits for
 * (reaps) the child. Under ipcscope: two processes, the pipe's fill level, the reap.
 *     cc -o fork_pipe fork_pipe.c && ipcscope exec -- ./fork_pipe
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MESSAGES 5

static void child(int wfd)
{
    char msg[64];
    for (int i = 1; i <= MESSAGES; i++) {
        int len = snprintf(msg, sizeof(msg), "message %d from child %d\n", i, (int)getpid());
        if (write(wfd, msg, (size_t)len) != len)
            _exit(1);
        usleep(5000);
    }
    close(wfd);
    _exit(0);
}

int main(void)
{
    int fd[2];
    if (pipe(fd) < 0) {
        perror("pipe");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        close(fd[0]);
        child(fd[1]);
    }
    close(fd[1]);
    char buf[128];
    ssize_t n;
    size_t total = 0;
    while ((n = read(fd[0], buf, sizeof(buf))) > 0)
        total += (size_t)n;
    close(fd[0]);
    int status;
    waitpid(pid, &status, 0);
    printf("parent read %zu bytes; child exited with %d\n", total, WEXITSTATUS(status));
    return 0;
}
