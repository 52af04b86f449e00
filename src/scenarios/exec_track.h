/*
 * exec_track.h - following the processes of `ipcscope exec` without being their reaper.
 *
 * The conductor is not a child subreaper for an exec run: orphans go to init (or the user's
 * own subreaper) as they would without ipcscope. To know when the program and everything it
 * started have ended, and to leave nothing behind, the run's processes are kept in a cgroup
 * of their own (cgroup v2, killed with cgroup.kill) where that is permitted; elsewhere in a
 * process group (or session), completed by a /proc scan for the descendants of every
 * process the run has shown. The snapshot says which was used.
 */
#ifndef IPCSCOPE_EXEC_TRACK_H
#define IPCSCOPE_EXEC_TRACK_H

#include "../model.h"

#include <jansson.h>
#include <limits.h>
#include <sys/types.h>

enum exec_track_method { TRACK_GROUP = 0, TRACK_CGROUP = 1 };

struct exec_track {
    int method;
    char cgroup[PATH_MAX]; /* the cgroup's directory (TRACK_CGROUP) */
    char why[160];         /* why the cgroup could not be used, "" when it is */
    int shared;     /* the cgroup is the run's own (its guard kills it, the run removes it) */
    pid_t pgid;     /* the program's process group (its session in the TUI) */
    pid_t main_pid; /* the program itself (the conductor's child) */
    uid_t main_uid; /* its user, and when it started (clock ticks after boot): a */
    unsigned long long main_start; /* process the model names counts only if it has both */
    int killed;                    /* processes still running at the end that cleanup killed */
    int left;                      /* and those that could not be killed */
    int watch_fd;                  /* the conductor's end of the watcher's pipe, -1: none */
};

/* Conductor, before the program starts: follow the program in the run's cgroup run_cgroup
 * ("" or NULL: none; the program is the run's only worker, put there as it is forked), else
 * in a cgroup made under the conductor's own one in the cgroup v2 hierarchy (TRACK_CGROUP),
 * or fall back to the process group with the reason in why. Never fails. */
void exec_track_prepare(struct exec_track *t, const char *run_cgroup);

/* Conductor, with a cgroup not the run's: start the watcher, a process of its own
 * session (not the conductor's child) that kills the cgroup if the conductor dies without
 * cleaning up. */
void exec_track_watch(struct exec_track *t);

/* In the program's process, before it execs: move into the cgroup (nothing to do in the
 * run's). 0 or -errno (the caller reports it; the conductor then falls back to the process
 * group). */
int exec_track_join(const struct exec_track *t);

/* Conductor, once the program has reported (before it execs): remember it as the run's
 * first process, with its user and start time. */
void exec_track_main(struct exec_track *t, pid_t pid);

/* 1 when live process pid could be one the program started (its user, started no earlier):
 * a pid the model has from the program's records is only a claim. */
int exec_track_could_be_ours(const struct exec_track *t, pid_t pid);

/* Conductor: the number of the run's processes still running (zombies excepted). Uses the
 * cgroup, else the process group, the session and the live processes of m (with their
 * descendants, from /proc). */
int exec_track_alive(const struct exec_track *t, const struct model *m);

/* Conductor, at the end: kill whatever of the run still runs, wait (up to 2 s) until it is
 * gone, remove the cgroup. Counts into killed and left. Idempotent. */
void exec_track_cleanup(struct exec_track *t, const struct model *m);

/* {"method": "cgroup"|"process group", "cgroup": path | "why": reason, "killed": n,
 * "left": n} for the snapshot. */
json_t *exec_track_json(const struct exec_track *t);

#endif
