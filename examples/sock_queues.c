/*
 * sock_queues.c - bytes waiting in the kernel: a Unix socketpair and a bound UDP socket.
 *
 * One end of a Unix stream socketpair writes 3 bytes nobody reads yet; a UDP socket bound to
 * 127.0.0.1 (on a port the kernel picks, printed) gets DATAGRAMS datagrams from a second
 * socket, and reads none yet. Then the program holds both while something looks: it makes
 * the file "ready" and waits (up to 5 s) for the file "seen", then up to HOLD seconds more
 * before it drains the queues. Under ipcscope (cut with --duration while it holds): a
 * "unix" socket ESTAB with Recv-Q 3 and a "udp" socket UNCONN on 127.0.0.1:PORT whose
 * Recv-Q is what the kernel charges for the datagrams, as `ss -axun` shows them.
 *     cc -o sock_queues sock_queues.c && ipcscope exec --duration 1 -- ./sock_queues
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define DATAGRAMS 3
#define HOLD 3

int main(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || write(sv[0], "abc", 3) != 3) {
        perror("socketpair");
        return 1;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0), c = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (s < 0 || c < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) < 0) {
        perror("udp");
        return 1;
    }
    for (int i = 0; i < DATAGRAMS; i++)
        sendto(c, "xyz", 3, 0, (struct sockaddr *)&a, sizeof(a));
    printf("udp port %d\n", ntohs(a.sin_port));
    fflush(stdout);
    int fd = open("ready", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0)
        close(fd);
    for (int i = 0; i < 100 && access("seen", F_OK) != 0; i++)
        usleep(50000);
    sleep(HOLD);
    char b[8];
    read(sv[1], b, 3);
    for (int i = 0; i < DATAGRAMS; i++)
        recv(s, b, sizeof(b), 0);
    printf("drained\n");
    return 0;
}
