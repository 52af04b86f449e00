/*
 * shell.c - system() and popen(): a shell as a child process.
 *
 * system() starts /bin/sh, waits for it and returns its status; here the shell runs `sleep`
 * (a grandchild) and exits with 3. popen() starts a shell whose output comes back through
 * a pipe, and pclose() waits for it. glibc does the waiting inside these calls.
 *
 * Under ipcscope: two `sh` children of this program and the `sleep` started by the first,
 * each reaped (with status 3 and 0), even though the program never calls wait() itself.
 *     cc -o shell shell.c && ipcscope exec -- ./shell
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

int main(void)
{
    int rc = system("sleep 0.1; exit 3");
    if (rc != -1 && WIFEXITED(rc))
        printf("system: the shell exited with %d\n", WEXITSTATUS(rc));
    FILE *p = popen("echo a line from the shell", "r");
    if (!p) {
        perror("popen");
        return 1;
    }
    char line[128];
    if (fgets(line, sizeof(line), p))
        printf("popen read: %s", line);
    rc = pclose(p);
    if (rc != -1 && WIFEXITED(rc))
        printf("pclose: the shell exited with %d\n", WEXITSTATUS(rc));
    return 0;
}
