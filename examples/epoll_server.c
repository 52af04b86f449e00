/*
 * epoll_server.c - one process serves several TCP clients with epoll, and a poll() and a
 * select() loop wait on a pipe, the three multiplexing calls of the course.
 *
 * The server listens on loopback and forks CLIENTS clients that each connect and send one
 * line; its epoll loop accepts and reads until every client has been served. Then it waits
 * on a pipe with poll and with select while a child writes into it. It prints how many
 * times it called each and how many descriptors came back ready, to compare with what
 * ipcscope shows (interest and ready sets).
 *     cc -o epoll_server epoll_server.c && ipcscope exec -- ./epoll_server
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CLIENTS 3

static void client(int port, int i)
{
    usleep((useconds_t)(50000 * (i + 1)));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(s, (struct sockaddr *)&a, sizeof(a));
    send(s, "hello\n", 6, 0);
    close(s);
}

static int serve_epoll(int ls)
{
    int ep = epoll_create1(0), served = 0, waits = 0, ready = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    while (served < CLIENTS) {
        struct epoll_event out[8];
        int n = epoll_wait(ep, out, 8, -1);
        waits++;
        ready += n;
        for (int i = 0; i < n; i++) {
            if (out[i].data.fd == ls) {
                int c = accept(ls, NULL, NULL);
                struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                continue;
            }
            char buf[64];
            if (read(out[i].data.fd, buf, sizeof(buf)) <= 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, out[i].data.fd, NULL);
                close(out[i].data.fd);
                served++;
            }
        }
    }
    close(ep);
    printf("epoll_wait: calls %d, ready %d\n", waits, ready);
    return 0;
}

static void wait_pipe(void)
{
    int p[2];
    pipe(p);
    pid_t w = fork();
    if (w == 0) {
        usleep(100000);
        write(p[1], "x", 1);
        usleep(100000);
        write(p[1], "y", 1);
        _exit(0);
    }
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    int n = poll(&pf, 1, -1);
    char c;
    read(p[0], &c, 1);
    printf("poll: calls 1, ready %d\n", n);
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    n = select(p[0] + 1, &rs, NULL, NULL, NULL);
    read(p[0], &c, 1);
    printf("select: calls 1, ready %d\n", n);
    waitpid(w, NULL, 0);
}

int main(void)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, CLIENTS) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &len) < 0) {
        perror("bind/listen");
        return 1;
    }
    for (int i = 0; i < CLIENTS; i++)
        if (fork() == 0) {
            close(ls);
            client(ntohs(a.sin_port), i);
            return 0;
        }
    serve_epoll(ls);
    close(ls);
    while (wait(NULL) > 0)
        ;
    wait_pipe();
    return 0;
}
