/*
 * unix_sock.c - a Unix-domain stream socket between two processes.
 *
 * The server binds /tmp/ipcscope-example-PID.sock, listens and forks the client, which
 * connects, sends a request and reads the answer; the server removes the socket file at
 * the end. Under ipcscope: the listening socket "unix:...", the client's and the accepted
 * one, the bytes each way, the server blocked in accept until the client connects.
 *     cc -o unix_sock unix_sock.c && ipcscope exec -- ./unix_sock
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof(a.sun_path), "/tmp/ipcscope-example-%d.sock", (int)getpid());
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 1) < 0) {
        perror("bind/listen");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        usleep(100000); /* the server waits in accept meanwhile */
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(s, (struct sockaddr *)&a, sizeof(a));
        send(s, "what time is it?", 16, 0);
        char buf[64] = "";
        ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
        printf("client got %zd bytes: %s\n", n, buf);
        close(s);
        return 0;
    }
    int c = accept(ls, NULL, NULL);
    char buf[64];
    recv(c, buf, sizeof(buf), 0);
    send(c, "tea time", 8, 0);
    close(c);
    close(ls);
    waitpid(pid, NULL, 0);
    unlink(a.sun_path);
    return 0;
}
