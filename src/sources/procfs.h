/*
 * procfs.h - the /proc sampler: the source that needs no privileges.
 *
 * For every live task in the model it reads /proc/PID/task/TID/{stat,wchan,status} and
 * reports what changed: the state letter (R, S, D, Z ...) as an EV_STATE event, an adoption
 * (a new parent) as EV_REPARENT, and the wchan and signal masks straight into the model.
 * This is how a zombie shows as a zombie even when no instrumentation says so.
 */
#ifndef IPCSCOPE_PROCFS_H
#define IPCSCOPE_PROCFS_H

#include "../model.h"

#include <stdint.h>
#include <sys/types.h>

/* What one read of /proc/PID/task/TID/stat says. */
struct procfs_stat {
    char state; /* the letter */
    pid_t ppid;
    pid_t pgid;
    int cpu;
    uint64_t utime, stime; /* clock ticks */
};

/* Read /proc/PID/task/TID/stat (tid 0: /proc/PID/stat). 0, or -errno (gone). */
int procfs_read_stat(pid_t pid, pid_t tid, struct procfs_stat *out);

/* The futex word task pid/tid sleeps on, from /proc/PID/task/TID/syscall: 1 and *word when it
 * is in futex(2), else 0 (another call, running, gone, or not readable). */
int procfs_futex_word(pid_t pid, pid_t tid, uintptr_t *word);

/* The machine's runnable threads now, the caller included (the kernel's nr_running: the
 * fourth field of /proc/loadavg), or -errno. */
int procfs_runnable_now(void);

/* 1 when /proc is mounted and shows this process's PID namespace (in a namespace without its
 * own /proc, the pids there are someone else's: read nothing by pid then). */
int procfs_ours(void);

/* The model state a letter stands for (TS__COUNT for letters that say nothing). */
int procfs_state_of(char letter);

typedef void (*procfs_emit_fn)(const struct ev *e, void *arg);

/* Sample every live task of m at time now; emit events for changes through emit. The
 * sampler remembers the last letter and parent per task in cache (grown as needed). */
struct procfs_cache {
    char *letter;
    int32_t *ppid;
    uint64_t (*ks)[2]; /* schedstat run and wait ns last reported, per task */
    size_t cap;
    uint64_t tick;                    /* samples taken */
    uint32_t cursor;                  /* where the next sample starts, for runs with many tasks */
    uint64_t self_run_ns, self_at_ns; /* the sampler's own CPU time at its last look */
    int settled;                      /* this look is between two steps: nothing moves */
};
void procfs_sample(struct model *m, struct procfs_cache *cache, uint64_t now, procfs_emit_fn emit,
                   void *arg);
/* The same for every live task at once, signal masks included: the view between two steps,
 * when nothing moves and the screen must equal /proc. */
void procfs_sample_all(struct model *m, struct procfs_cache *cache, uint64_t now,
                       procfs_emit_fn emit, void *arg);
void procfs_cache_free(struct procfs_cache *cache);

#endif
