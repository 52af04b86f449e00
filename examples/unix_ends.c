/*
 * unix_ends.c - the ends of Unix-domain sockets, held still so `ss -xa` can look.
 *
 * A listener bound to a path (/tmp/ipcscope-ends-PID.listening.sock, unlinked once its
 * client is connected, so a cut run leaves no file) and one bound to an abstract name
 * (@ipcscope-ends-PID), each with a client connected and its connection accepted; and a
 * stream socketpair whose first end sends 5 bytes and is closed. Then the program prints the
 * descriptor of the pair's surviving end, makes the file "ready", waits (up to 5 s) for the
 * file "seen" and HOLD seconds more. Under ipcscope (cut with --duration while it holds):
 * each socket's name and inode and its peer's inode as `ss -xa` shows them, the client and
 * the accepted socket each other's peer object, and the pair's surviving end still in the
 * kernel's table: ESTAB, Recv-Q 5, no peer.
 *     cc -o unix_ends unix_ends.c && ipcscope exec --duration 1 -- ./unix_ends
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define HOLD 3

/* A listener on a (len bytes long) and a client connected to it; the accepted end in *acc. */
static int connected(const struct sockaddr_un *a, socklen_t len, int *acc)
{
    int l = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);
    if (l < 0 || c < 0 || bind(l, (const struct sockaddr *)a, len) < 0 || listen(l, 4) < 0 ||
        connect(c, (const struct sockaddr *)a, len) < 0)
        return -1;
    *acc = accept(l, NULL, NULL);
    return *acc < 0 ? -1 : c;
}

int main(void)
{
    struct sockaddr_un path = {.sun_family = AF_UNIX}, abstract = {.sun_family = AF_UNIX};
    snprintf(path.sun_path, sizeof(path.sun_path), "/tmp/ipcscope-ends-%d.listening.sock",
             (int)getpid());
    int n = snprintf(abstract.sun_path + 1, sizeof(abstract.sun_path) - 1, "ipcscope-ends-%d",
                     (int)getpid());
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    int acc1, acc2, sv[2];
    int c1 = connected(&path, sizeof(path), &acc1);
    unlink(path.sun_path); /* the file goes, the sockets keep the name (ss shows it still) */
    if (c1 < 0 || connected(&abstract, alen, &acc2) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        perror("unix sockets");
        return 1;
    }
    send(sv[0], "hello", 5, 0);
    close(sv[0]); /* the pair lives on in sv[1], with 5 bytes to read */
    printf("pair survivor fd %d\n", sv[1]);
    fflush(stdout);
    int fd = open("ready", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0)
        close(fd);
    for (int i = 0; i < 100 && access("seen", F_OK) != 0; i++)
        usleep(50000);
    sleep(HOLD);
    char b[8];
    printf("pair survivor read %zd bytes\n", recv(sv[1], b, sizeof(b), 0));
    return 0;
}
