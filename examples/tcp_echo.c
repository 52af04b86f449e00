/*
 * tcp_echo.c - a TCP echo server and its client, on loopback.
 *
 * The server binds any address (as textbooks do) on a port the kernel picks, listens and
 * forks the client, which connects to 127.0.0.1 and sends ROUNDS lines; the server echoes
 * each back and closes the connection when the client has closed it, then stops listening
 * once the client has exited. The client closed first, so its socket waits in TIME_WAIT; it
 * lingers a second so that can be seen, and the listener with it. Under ipcscope: the listening
 * socket, the accepted one and the client's, their TCP states from the kernel, the bytes
 * sent and queued, accept and recv blocking.
 *     cc -o tcp_echo tcp_echo.c && ipcscope exec -- ./tcp_echo
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 3

static int client(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("connect");
        return 1;
    }
    char buf[64];
    for (int i = 0; i < ROUNDS; i++) {
        int n = snprintf(buf, sizeof(buf), "line %d\n", i);
        send(s, buf, (size_t)n, 0);
        recv(s, buf, sizeof(buf), 0);
    }
    close(s); /* the client closes first: its socket goes to TIME_WAIT */
    sleep(1);
    return 0;
}

int main(void)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof(a);
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 4) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &len) < 0) {
        perror("bind/listen");
        return 1;
    }
    int port = ntohs(a.sin_port);
    pid_t pid = fork();
    if (pid == 0) {
        close(ls);
        return client(port);
    }
    int c = accept(ls, NULL, NULL);
    char buf[64];
    ssize_t n;
    long echoed = 0;
    while ((n = recv(c, buf, sizeof(buf), 0)) > 0) {
        send(c, buf, (size_t)n, 0);
        echoed += n;
    }
    close(c);
    waitpid(pid, NULL, 0);
    close(ls); /* listening until the client is gone, as a server does until it is stopped */
    printf("echoed %ld bytes on port %d\n", echoed, port);
    return 0;
}
