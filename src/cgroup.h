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

/* Choose the path of a cgroup for this process's next run, next to the cgroup this process
 * is in, named ipcscope-PID-N (nothing is created yet: the guard is told the path first, so
 * that no moment exists where a cgroup is there and nobody would remove it). Stale ones (of
 * a conductor that died with its guard) are removed. 0, or -errno (no cgroup v2): cg empty. */
int cg_plan(struct cg *cg);

/* Create the cgroup planned in cg and open its files. 0, or -errno (no permission, no
 * cgroup.kill in this kernel): cg is then empty. */
int cg_make(struct cg *cg);

/* With only a path (the guard, after the conductor died): kill every process in the cgroup
 * at path, wait up to wait_ms for it to empty, remove it. Nothing when it does not exist. */
void cg_end_path(const char *path, int wait_ms);

/* Move pid (0: the caller) into the cgroup. Async-signal-safe. 0 or -errno. */
int cg_add(const struct cg *cg, pid_t pid);

/* Kill every process in the cgroup (cgroup.kill). Async-signal-safe. 0 or -errno. */
int cg_kill(const struct cg *cg);

/* 1 while any process is in the cgroup, 0 when it is empty, -errno when unknown. */
int cg_populated(const struct cg *cg);

/* Processes in the cgroup and the cgroups below it (cgroup.procs lists no zombie). */
int cg_count(const struct cg *cg);
/* Close the descriptors and remove the cgroup (and those below it) when it is empty (else leave it:
 * the guard or the next run's sweep removes it). Accepts an empty cg. */
void cg_destroy(struct cg *cg);

/* Close only the descriptors (in a child that must not keep them). */
void cg_close_fds(struct cg *cg);

#endif
