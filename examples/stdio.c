/*
 * stdio.c - a program whose output depends on where it goes, to check that ipcscope leaves
 * stdin, stdout and stderr to the program.
 *
 * It echoes a line read from stdin, says whether stdout is a terminal, and prints a line
 * before fork: into a pipe or a file stdout is fully buffered, so that line comes out twice
 * (the child flushes its copy of the buffer too); on a terminal, once. Exits 5.
 *     cc -o stdio stdio.c && echo hi | ipcscope exec --headless -- ./stdio
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    char line[128];
    if (fgets(line, sizeof(line), stdin))
        printf("read: %s", line);
    printf("stdout is a terminal: %s\n", isatty(STDOUT_FILENO) ? "yes" : "no");
    printf("before fork\n");
    pid_t pid = fork();
    if (pid == 0) {
        printf("child\n");
        return 0;
    }
    waitpid(pid, NULL, 0);
    fprintf(stderr, "to stderr\n");
    printf("parent done\n");
    return 5;
}
