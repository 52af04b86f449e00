/*
 * poll_timeout.c - select, poll and epoll_wait with a timeout: one that runs out, one that
 * does not.
 *
 * For each call, a child writes a byte into a pipe after a pause. First the parent waits
 * 100 ms for a child that pauses 300 ms (the call returns 0: timed out), then 200 ms for one
 * that pauses 50 ms (the byte comes in time). Under ipcscope: the ready set empty after a
 * timeout, one fd ready otherwise; in a paced or stepped run, the pauses and timeouts keep
 * this order whatever the pace.
 *     cc -o poll_timeout poll_timeout.c && ipcscope exec -- ./poll_timeout
 */
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

/* A child that writes one byte into fd after ms milliseconds. */
static pid_t late_writer(int fd, int ms)
{
    pid_t pid = fork();
    if (pid == 0) {
        usleep((useconds_t)ms * 1000);
        _exit(write(fd, "x", 1) == 1 ? 0 : 1);
    }
    return pid;
}

/* One wait of timeout_ms on the pipe's read end with call ("select", "poll", "epoll"). */
static int wait_for(const char *call, int fd, int timeout_ms)
{
    if (call[0] == 's') {
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(fd, &rs);
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        return select(fd + 1, &rs, NULL, NULL, &tv);
    }
    if (call[0] == 'p') {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        return poll(&pf, 1, timeout_ms);
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    int n = epoll_wait(ep, &out, 1, timeout_ms);
    close(ep);
    return n;
}

int main(void)
{
    const char *calls[] = {"select", "poll", "epoll"};
    const int rounds[][2] = {{100, 300}, {200, 50}}; /* timeout, the writer's pause */
    for (int c = 0; c < 3; c++) {
        for (int r = 0; r < 2; r++) {
            int p[2];
            if (pipe(p) < 0)
                return 1;
            pid_t pid = late_writer(p[1], rounds[r][1]);
            int n = wait_for(calls[c], p[0], rounds[r][0]);
            printf("%s %d ms, writer after %d ms: %s\n", calls[c], rounds[r][0], rounds[r][1],
                   n > 0    ? "ready"
                   : n == 0 ? "timed out"
                            : "failed");
            waitpid(pid, NULL, 0);
            close(p[0]);
            close(p[1]);
        }
    }
    return 0;
}
