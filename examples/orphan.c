/*
 * orphan.c - a child outlives its parent and is adopted.
 *
 * The parent forks and exits at once; the child waits until getppid() changes and prints
 * who adopted it: init (1) or the nearest "child subreaper" above it (a service manager, a
 * container's init) - never ipcscope, which follows the run without adopting anyone.
 *     cc -o orphan orphan.c && ipcscope exec -- ./orphan
 */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) {
        printf("parent %d exits, leaving child %d\n", (int)parent, (int)pid);
        return 0;
    }
    for (int i = 0; i < 500 && getppid() == parent; i++)
        usleep(10000); /* at most 5 s */
    printf("adopted by %d\n", (int)getppid());
    usleep(500000);
    printf("child done\n");
    return 0;
}
