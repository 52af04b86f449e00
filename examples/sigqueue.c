/*
 * sigqueue.c - a signal that carries a value: sigqueue and SA_SIGINFO.
 *
 * The parent installs a SIGUSR1 handler with SA_SIGINFO and forks; the child sends SIGUSR1
 * three times with sigqueue, each carrying a value, then execs `echo` (the process keeps
 * its pid and becomes the new program). The parent's handler adds up the values it
 * received. Under ipcscope: each sig_send with its value, each run of the handler, and the
 * child's task taking the name echo.
 *     cc -o sigqueue sigqueue.c && ipcscope exec -- ./sigqueue
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t received, sum;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    received++;
    sum += si->si_value.sival_int;
}

int main(void)
{
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 1; i <= 3; i++) {
            union sigval v = {.sival_int = i * 100};
            sigqueue(parent, SIGUSR1, v);
            usleep(20000);
        }
        execlp("echo", "echo", "the child is now echo", (char *)NULL);
        return 127;
    }
    while (received < 3)
        pause();
    waitpid(pid, NULL, 0);
    printf("received %d signals, values add up to %d\n", (int)received, (int)sum);
    return 0;
}
