/*
 * mqueue.c - a POSIX message queue between a producer and a consumer process.
 *
 * The queue holds at most CAPACITY messages; the producer sends ITEMS of them faster than
 * the consumer takes them, so it blocks on a full queue; the consumer's last receive uses
 * mq_timedreceive and gives up after 100 ms on the empty queue. Under ipcscope: the queue's
 * depth going up to its capacity and down, who waits for whom, and the timeout.
 *     cc -o mqueue mqueue.c -lrt && ipcscope exec -- ./mqueue
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CAPACITY 4
#define ITEMS 10

int main(void)
{
    char name[64];
    snprintf(name, sizeof(name), "/ipcscope-example-%d-mq", (int)getpid());
    struct mq_attr a = {.mq_maxmsg = CAPACITY, .mq_msgsize = 64};
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &a);
    if (q == (mqd_t)-1) {
        perror("mq_open");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < ITEMS; i++) {
            char msg[64];
            int n = snprintf(msg, sizeof(msg), "item %d", i);
            mq_send(q, msg, (size_t)n + 1, 0); /* blocks while the queue is full */
        }
        return 0;
    }
    usleep(100000); /* let the queue fill */
    char buf[64];
    int got = 0;
    for (;;) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_nsec += 100 * 1000 * 1000;
        if (dl.tv_nsec >= 1000000000) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000;
        }
        if (mq_timedreceive(q, buf, sizeof(buf), NULL, &dl) < 0) {
            printf("receive gave up: %s\n", errno == ETIMEDOUT ? "timed out" : strerror(errno));
            break;
        }
        got++;
        usleep(10000);
    }
    waitpid(pid, NULL, 0);
    mq_close(q);
    mq_unlink(name);
    printf("received %d messages\n", got);
    return got == ITEMS ? 0 : 1;
}
