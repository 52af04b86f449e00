/*
 * guard.c - the guard process: started with a job, it waits on its socket and, if the
 * conductor dies instead of standing it down, restores the terminal, kills the run's cgroup
 * and its own process group. It ignores every signal it can, so that the terminal's Ctrl-C,
 * a hangup or a worker signalling its group cannot take it away before its job is done.
 */
#define _GNU_SOURCE
#include "guard.h"

#include "cgroup.h"
#include "privs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GUARD_MAX 4
#define CG_WAIT_MS                                                                                 \
    20000 /* a killed worker that takes long to exit (a loaded machine) still gets its cgroup      \
             removed */

static int g_ctl_fds[GUARD_MAX] = {-1, -1, -1, -1};

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Close every descriptor but 0-2 and the n in keep, without opening any (the descriptor
 * limit may be reached). */
static void close_all_but(int *keep, int n)
{
    qsort(keep, (size_t)n, sizeof(*keep), cmp_int);
    unsigned from = 3;
    for (int i = 0; i < n; i++) {
        if (keep[i] < (int)from)
            continue;
        if ((unsigned)keep[i] > from)
            syscall(SYS_close_range, from, (unsigned)keep[i] - 1, 0);
        from = (unsigned)keep[i] + 1;
    }
    syscall(SYS_close_range, from, ~0u, 0);
}

static void ignore_signals(void)
{
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigemptyset(&sa.sa_mask);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void restore_terminal(const struct guard_job *job)
{
    if (job->tty_fd < 0)
        return;
    tcsetattr(job->tty_fd, TCSANOW, &job->tio);
    size_t len = strnlen(job->seq, sizeof(job->seq));
    if (len && write(job->tty_fd, job->seq, len) < 0) {
        /* a hung-up terminal: nothing left to restore */
    }
}

/* Remove the conductor's message queues: it unlinks each as soon as its workers hold it
 * open, so a queue is named only for the moments of a scenario's setup, but a conductor
 * killed then leaves the name behind. Needs /dev/mqueue mounted (scripts mount it). */
static void unlink_queues(const char *prefix)
{
    size_t len = strlen(prefix);
    DIR *d = len ? opendir("/dev/mqueue") : NULL;
    if (!d)
        return;
    char path[300];
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, prefix, len) == 0) {
            snprintf(path, sizeof(path), "/%s", de->d_name);
            mq_unlink(path);
        }
    closedir(d);
}

/* Wait until the conductor stands us down ('q', returned) or dies (0): its end of the socket
 * closes, or, should a descendant have inherited that end and not let go of it, the
 * conductor's pidfd says it has exited. A broken socket counts as standing down. */
static int wait_for_word(pid_t conductor, int rfd)
{
    int pfd = (int)syscall(SYS_pidfd_open, conductor, 0);
    if (pfd < 0 && errno == ESRCH)
        return 0; /* gone before we looked */
    struct pollfd fds[2] = {{.fd = rfd, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
    for (;;) {
        if (poll(fds, pfd >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 'q';
        }
        if (fds[1].revents)
            return 0;
        if (!fds[0].revents)
            continue;
        char c = 0;
        ssize_t n = read(rfd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 1 && c == 'q')
            return 'q';
        return n < 0 && errno != ECONNRESET ? 'q' : 0;
    }
}

static void __attribute__((noreturn)) guard_main(const struct guard_job *job, int rfd)
{
    syscall(SYS_prctl, PR_SET_NAME, "ipcscope-guard", 0, 0, 0); /* as ipc_set_comm */
    ignore_signals();
    if (job->lead_group)
        setpgid(0, 0);
    int keep[2] = {rfd, job->tty_fd};
    close_all_but(keep, 2);
    privs_drop_caps();

    if (wait_for_word(job->conductor, rfd) == 'q')
        _exit(0); /* a clean stop (or a broken guard): nothing to do */
    restore_terminal(job);
    cg_end_path(job->cg_path, CG_WAIT_MS);
    unlink_queues(job->mq_prefix);
    if (job->lead_group)
        kill(-getpid(), SIGKILL); /* the workers' group, ourselves last */
    _exit(0);
}

static void remember_ctl(int fd, int add)
{
    for (int i = 0; i < GUARD_MAX; i++) {
        if (add && g_ctl_fds[i] < 0) {
            g_ctl_fds[i] = fd;
            return;
        }
        if (!add && g_ctl_fds[i] == fd)
            g_ctl_fds[i] = -1;
    }
}

/* Fork the guard itself (in the caller, or in the middle process of a double fork). */
static pid_t fork_guard(const struct guard_job *job, int p[2])
{
    pid_t pid = fork();
    if (pid == 0) {
        close(p[1]);
        guard_main(job, p[0]);
    }
    if (pid > 0 && job->lead_group)
        setpgid(pid, pid); /* as the child does: the group exists when fork returns here */
    return pid < 0 ? -errno : pid;
}

/* Fork a middle process that forks the guard and exits, so the guard is not our child.
 * Our subreaper flag is cleared meanwhile, or the guard would come back to us. */
static pid_t fork_detached(const struct guard_job *job, int p[2])
{
    int was = 0;
    prctl(PR_GET_CHILD_SUBREAPER, &was);
    if (was)
        prctl(PR_SET_CHILD_SUBREAPER, 0);
    pid_t mid = fork();
    if (mid == 0) {
        pid_t g = fork_guard(job, p);
        _exit(g > 0 ? 0 : 1);
    }
    int st = 0, rc = mid < 0 ? -errno : 0;
    while (mid > 0 && waitpid(mid, &st, 0) < 0 && errno == EINTR)
        ;
    if (was)
        prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (rc == 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
        rc = -EAGAIN;
    return rc < 0 ? rc : 1;
}

int guard_start(struct guard *g, const struct guard_job *job_in, int detach)
{
    struct guard_job job_copy = *job_in;
    const struct guard_job *job = &job_copy;
    job_copy.conductor = getpid();
    int p[2];
    g->pid = 0;
    g->ctl = -1;
    /* a socket pair rather than a pipe: standing down a guard that was killed must not
     * raise SIGPIPE in the conductor (send with MSG_NOSIGNAL) */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
        return -errno;
    pid_t pid = detach ? fork_detached(job, p) : fork_guard(job, p);
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return (int)pid;
    }
    g->pid = detach ? 0 : pid;
    g->ctl = p[1];
    remember_ctl(p[1], 1);
    return 0;
}

void guard_release(struct guard *g)
{
    if (g->ctl < 0)
        return;
    ssize_t w = send(g->ctl, "q", 1, MSG_NOSIGNAL);
    (void)w;
    remember_ctl(g->ctl, 0);
    close(g->ctl);
    g->ctl = -1;
}

void guard_hand_over(struct guard *g)
{
    if (g->ctl < 0)
        return;
    remember_ctl(g->ctl, 0);
    close(g->ctl);
    g->ctl = -1;
}

void guard_close_in_child(void)
{
    for (int i = 0; i < GUARD_MAX; i++)
        if (g_ctl_fds[i] >= 0) {
            close(g_ctl_fds[i]);
            g_ctl_fds[i] = -1; /* the numbers may be the child's own descriptors later */
        }
}
