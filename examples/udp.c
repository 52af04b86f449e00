/*
 * udp.c - UDP datagrams between two processes, on loopback.
 *
 * The receiver binds 127.0.0.1 on a port the kernel picks and forks the sender, which sends
 * DATAGRAMS datagrams of different sizes with sendto; the receiver takes them with recvfrom
 * (each one whole, with the sender's port) and answers the last. Under ipcscope: two
 * socket objects, every datagram and its size, no connection and no TCP state.
 *     cc -o udp udp.c && ipcscope exec -- ./udp
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define DATAGRAMS 4

int main(void)
{
    int r = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(r, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(r, (struct sockaddr *)&a, &len) < 0) {
        perror("bind");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        char buf[64];
        for (int i = 1; i <= DATAGRAMS; i++) {
            memset(buf, 'a' + i, sizeof(buf));
            sendto(s, buf, (size_t)(i * 10), 0, (struct sockaddr *)&a, sizeof(a));
        }
        ssize_t n = recvfrom(s, buf, sizeof(buf), 0, NULL, NULL);
        printf("sender got an answer of %zd bytes\n", n);
        return 0;
    }
    char buf[64];
    long total = 0;
    struct sockaddr_in from;
    for (int i = 0; i < DATAGRAMS; i++) {
        socklen_t fl = sizeof(from);
        total += recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
    }
    sendto(r, "ok", 2, 0, (struct sockaddr *)&from, sizeof(from));
    waitpid(pid, NULL, 0);
    printf("received %d datagrams, %ld bytes\n", DATAGRAMS, total);
    return 0;
}
