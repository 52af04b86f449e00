/*
 * cgroup.h - a cgroup (v2) holding every process of one run, where the system permits it.
 *
 * Every worker joins it as it is forked, and whatever it starts is born inside, even a
 * process that leaves the worker group (setsid) or is re-parented elsewhere. cgroup.kill
 * then ends them all at once, and cgroup.events says when the last one is gone. Without a
 * writable cgroup v2 (no permission, no unified hierarchy, a kernel before 5.14) the run
 * falls back to its process group and /proc; nothing else changes.
 */
#ifndef IPCSCOPE_CGROUP_H
#define IPCSCOPE_CGROUP_H

#include <sys/types.h>

struct cg {
    char path[600]; /* the cgroup's directory, "" when there is none */
    int procs_fd;   /* cgroup.procs, for joining (-1: none) */
    int kill_fd;    /* cgroup.kill (-1: none) */
    int events_fd;  /* cgroup.events (-1: none) */
};

#define CG_NONE                                                                                    \
    {                                                                                              \
        .path = "", .procs_fd = -1, .kill_fd = -1, .events_fd = -1                                 \
    }

/* Make a cgroup for this process's run, next to the cgroup this process is in, named
 * ipcscope-PID-N. Stale ones (of a conductor that died with its guard) are removed first.
 * 0, or -errno (no permission, no cgroup v2 with cgroup.kill): cg stays empty. */
int cg_create(struct cg *cg);

/* Move pid (0: the caller) into the cgroup. Async-signal-safe. 0 or -errno. */
int cg_add(const struct cg *cg, pid_t pid);

/* Kill every process in the cgroup (cgroup.kill). Async-signal-safe. 0 or -errno. */
int cg_kill(const struct cg *cg);

/* 1 while any process is in the cgroup, 0 when it is empty, -errno when unknown. */
int cg_populated(const struct cg *cg);

/* Close the descriptors and remove the cgroup when it is empty (else leave it: the guard or
 * the next run's sweep removes it). Accepts an empty cg. */
void cg_destroy(struct cg *cg);

/* Close only the descriptors (in a child that must not keep them). */
void cg_close_fds(struct cg *cg);

#endif
