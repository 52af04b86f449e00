/*
 * exec_crowd.c - is the machine crowded? (see exec_crowd.h)
 */
#define _GNU_SOURCE
#include "exec_crowd.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define CROWD_EVERY_NS (10 * 1000 * 1000ull)

static uint64_t g_looked; /* when, 0: not yet */
static unsigned g_looks, g_crowded_looks;

void exec_crowd_reset(struct instr_shared *sh)
{
    g_looked = 0;
    g_looks = g_crowded_looks = 0;
    if (sh)
        atomic_store_explicit(&sh->crowded, 0, memory_order_relaxed);
}

/* The machine's runnable threads now, this one included, or -1. */
static int runnable_now(void)
{
    int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    int running;
    return sscanf(buf, "%*s %*s %*s %d/", &running) == 1 ? running : -1;
}

void exec_crowd_look(struct instr_shared *sh, uint64_t now)
{
    if (!sh || (g_looked && now - g_looked < CROWD_EVERY_NS))
        return;
    g_looked = now;
    int running = runnable_now();
    if (running < 1)
        return;
    /* the conductor, reading, is one of them */
    int crowded = running - 1 > get_nprocs();
    g_looks++;
    g_crowded_looks += (unsigned)crowded;
    atomic_store_explicit(&sh->crowded, (uint32_t)crowded, memory_order_relaxed);
}

json_t *exec_crowd_json(const struct instr_shared *sh)
{
    uint64_t watched = sh ? atomic_load_explicit(&sh->waits_watched, memory_order_relaxed) : 0;
    uint64_t not_watched = sh ? atomic_load_explicit(&sh->waits_crowded, memory_order_relaxed) : 0;
    return json_pack("{s:i, s:i, s:i, s:I, s:I}", "looks", (int)g_looks, "crowded_looks",
                     (int)g_crowded_looks, "cpus", get_nprocs(), "waits_watched",
                     (json_int_t)watched, "waits_not_watched", (json_int_t)not_watched);
}
