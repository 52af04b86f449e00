/*
 * exec_crowd.h - telling a program under `ipcscope exec` whether the machine is crowded.
 *
 * A waiter of the program watches a semaphore or mutex for a few microseconds before it
 * sleeps (preload/sync.c, "waiting a moment"), which pays only when a CPU is free for it.
 * The conductor counts the machine's runnable threads (the kernel's nr_running, the fourth
 * field of /proc/loadavg) every CROWD_EVERY_NS, takes away itself and the program's threads
 * that may be on a CPU (live slots not inside a followed wait, or watching in one), and sets
 * the region's `crowded` while the rest - the machine's other work - has a thread for every
 * CPU; the program's waiters then sleep at once, as they would without ipcscope. The program's
 * own threads do not count: crowding CPUs with its own threads, it still gains from watching.
 */
#ifndef IPCSCOPE_EXEC_CROWD_H
#define IPCSCOPE_EXEC_CROWD_H

#include "../instr.h"

#include <jansson.h>
#include <stdint.h>

/* A new run: not crowded, nothing counted. */
void exec_crowd_reset(struct instr_shared *sh);

/* Look again when CROWD_EVERY_NS has passed since the last look (now: CLOCK_MONOTONIC ns);
 * max_tasks: the region's slots as the conductor made it (the header's copy is the program's
 * to rewrite). */
void exec_crowd_look(struct instr_shared *sh, uint32_t max_tasks, uint64_t now);

/* {"looks": n, "crowded_looks": k, "cpus": c, "others_max": o (the most runnable threads of
 * other work a look saw), "waits_watched": w, "waits_not_watched": x}
 * for the snapshot (the two wait counts are the program's own, written in the region). */
json_t *exec_crowd_json(const struct instr_shared *sh);

#endif
