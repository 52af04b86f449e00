/*
 * handlers.c - signal handlers: SIGCHLD reaps children, SIGUSR1 counts.
 *
 * A SIGCHLD handler (installed with sigaction) reaps every child that has exited, with
 * waitpid(-1, ..., WNOHANG) in a loop, so no zombie waits for main. A SIGUSR1 handler
 * (installed with signal) counts what it caught; main sends itself SIGUSR1 three times.
 * signal() hands back the handler it replaces: installing a second one returns the first.
 *
 * Under ipcscope: each handler run (sig_handle) in the task that ran it, the children
 * reaped from inside the SIGCHLD handler, never left as zombies.
 *     cc -o handlers handlers.c && ipcscope exec -- ./handlers
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t reaped, usr1;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    (void)uc;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        reaped++;
    errno = saved;
}

static void on_usr1(int sig)
{
    (void)sig;
    usr1++;
}

static void on_usr1_again(int sig)
{
    (void)sig;
    usr1 += 10;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    struct sigaction back;
    sigaction(SIGCHLD, NULL, &back);
    printf("sigaction hands back our handler: %s\n", back.sa_sigaction == on_chld ? "yes" : "no");

    signal(SIGUSR1, on_usr1);
    for (int i = 0; i < 3; i++)
        kill(getpid(), SIGUSR1);
    printf("SIGUSR1 caught %d times\n", (int)usr1);
    printf("signal hands back the first handler: %s\n",
           signal(SIGUSR1, on_usr1_again) == on_usr1 ? "yes" : "no");

    for (int i = 0; i < 2; i++)
        if (fork() == 0) {
            usleep(20000 * (i + 1));
            _exit(i + 1);
        }
    while (reaped < 2)
        pause(); /* SIGCHLD wakes it */
    printf("reaped %d children in the handler\n", (int)reaped);
    return 0;
}
