/*
 * exec_crowd.c - is the machine crowded? (see exec_crowd.h)
 */
#define _GNU_SOURCE
#include "exec_crowd.h"

#include "../sources/procfs.h"

#include <sys/sysinfo.h>

#define CROWD_EVERY_NS (10 * 1000 * 1000ull)

static uint64_t g_looked; /* when, 0: not yet */
static unsigned g_looks, g_crowded_looks;
static int g_others_max;

void exec_crowd_reset(struct instr_shared *sh)
{
    g_looked = 0;
    g_looks = g_crowded_looks = 0;
    g_others_max = 0;
    if (sh)
        atomic_store_explicit(&sh->crowded, 0, memory_order_relaxed);
}

/* The program's threads that may be on a CPU: live, and not inside a followed wait unless
 * watching in it. Read from slots the program writes: only ever a count. */
static int program_running(const struct instr_shared *sh, uint32_t max_tasks)
{
    int n = 0;
    for (uint32_t i = 0; i < max_tasks; i++) {
        const struct instr_task *t = &sh->tasks[i];
        if (!atomic_load_explicit(&t->used, memory_order_relaxed) ||
            atomic_load_explicit(&t->exited, memory_order_relaxed))
            continue;
        n += !atomic_load_explicit(&t->blocked_obj, memory_order_relaxed) ||
             atomic_load_explicit(&t->watching, memory_order_relaxed);
    }
    return n;
}

void exec_crowd_look(struct instr_shared *sh, uint32_t max_tasks, uint64_t now)
{
    if (!sh || (g_looked && now - g_looked < CROWD_EVERY_NS))
        return;
    g_looked = now;
    int running = procfs_runnable_now();
    if (running < 1)
        return;
    /* the conductor, reading, is one of them */
    int others = running - 1 - program_running(sh, max_tasks);
    int crowded = others >= get_nprocs();
    if (others > g_others_max)
        g_others_max = others;
    g_looks++;
    g_crowded_looks += (unsigned)crowded;
    atomic_store_explicit(&sh->crowded, (uint32_t)crowded, memory_order_relaxed);
}

json_t *exec_crowd_json(const struct instr_shared *sh)
{
    uint64_t watched = sh ? atomic_load_explicit(&sh->waits_watched, memory_order_relaxed) : 0;
    uint64_t not_watched = sh ? atomic_load_explicit(&sh->waits_crowded, memory_order_relaxed) : 0;
    return json_pack("{s:i, s:i, s:i, s:i, s:I, s:I}", "looks", (int)g_looks, "crowded_looks",
                     (int)g_crowded_looks, "cpus", get_nprocs(), "others_max", g_others_max,
                     "waits_watched", (json_int_t)watched, "waits_not_watched",
                     (json_int_t)not_watched);
}
