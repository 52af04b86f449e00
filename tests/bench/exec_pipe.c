/*
 * exec_pipe.c - the pipe program of scripts/bench: a parent writes small messages into a pipe
 * and its forked child reads them, so nearly every call is a pipe read or write (what a
 * followed pipe call costs: its record and its fill, counted or asked of the kernel).
 *
 * `exec_pipe [MESSAGES]` (default 200000): MESSAGES writes of 64 bytes, read 64 bytes at a
 * time until end of file. Prints the time the work took, as exec_sync_loop does, and fails
 * when the child did not read every byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_work_clock.h"

#define MSG 64

/* The child: read to end of file; its exit status says whether every byte came. */
static void reader(int fd, long want)
{
    char buf[MSG];
    long got = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        got += n;
    _exit(got == want ? 0 : 1);
}

int main(int argc, char **argv)
{
    long messages = 200000;
    int fds[2], status = 1;
    if (argc > 2 || (argc == 2 && (messages = atol(argv[1])) < 1)) {
        fprintf(stderr, "usage: exec_pipe [MESSAGES >= 1]\n");
        return 2;
    }
    double t0 = now_ms();
    if (pipe(fds) < 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[1]);
        reader(fds[0], messages * MSG);
    }
    close(fds[0]);
    char msg[MSG];
    memset(msg, 'x', sizeof(msg));
    for (long i = 0; i < messages; i++)
        if (write(fds[1], msg, sizeof(msg)) != sizeof(msg))
            return 1;
    close(fds[1]);
    waitpid(pid, &status, 0);
    double t1 = now_ms();
    printf("work_ms %.3f messages %ld\n", t1 - t0, messages);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
