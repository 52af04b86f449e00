/*
 * guard.h - a tiny process that outlives a dying conductor and cleans up after it.
 *
 * PR_SET_PDEATHSIG kills the conductor's direct children when it dies, but not what they
 * started, and nothing restores the terminal after a SIGKILL. A guard holds one end of a
 * socket pair whose other end only the conductor holds: a clean stop sends 'q' (stand
 * down); end of file without it, or the conductor's pidfd turning readable, means the
 * conductor died, however it died. Then the guard does its
 * job: restore the terminal to the modes it was given, kill and remove the run's cgroup, and kill
 * its own process group, which the workers joined. Everything the guard acts on is in its own
 * memory, copied at fork: nothing a worker can write steers it.
 */
#ifndef IPCSCOPE_GUARD_H
#define IPCSCOPE_GUARD_H

#include <sys/types.h>
#include <termios.h>

struct guard_job {
    int lead_group;     /* lead a new process group (the workers') and kill it */
    char cg_path[600];  /* kill the cgroup here and remove it, if it exists ("": none) */
    int tty_fd;         /* restore this terminal (-1: none) ... */
    struct termios tio; /* ... to these modes ... */
    char seq[256];      /* ... after writing these bytes (leave the alternate screen, show
                           the cursor) */
    char mq_prefix[48]; /* remove the message queues whose names start so ("": none) */
    pid_t conductor;    /* set by guard_start: the process whose death the guard watches */
};

struct guard {
    pid_t pid; /* the guard (a child of ours unless detached), 0: none */
    int ctl;   /* our end of its socket pair, -1: none */
};

#define GUARD_NONE                                                                                 \
    {                                                                                              \
        .pid = 0, .ctl = -1                                                                        \
    }

/* Start a guard for job. detach 0: a child of ours (reap it after guard_release); detach 1:
 * not our child (double fork), so waitpid never sees it. 0, or -errno (no process could be
 * forked: the message names the limit). */
int guard_start(struct guard *g, const struct guard_job *job, int detach);

/* Stand the guard down: it exits without doing anything. The caller reaps a child guard. */
void guard_release(struct guard *g);

/* Leave the job to the guard now (the conductor could not finish it): it acts at once. */
void guard_hand_over(struct guard *g);

/* In a child the conductor just forked: close every guard's socket, so that only the
 * conductor holds them open (then forget them: in a child's own children the numbers may be
 * descriptors of theirs). The guard also watches the conductor's pidfd, so a child that
 * never gets here cannot keep it waiting. */
void guard_close_in_child(void);

#endif
