/*
 * exec_work_clock.h - the clock the programs of bench_exec.sh time their own work with: each
 * prints `work_ms` (CLOCK_MONOTONIC, from before its first thread starts to after the last is
 * joined), so start-up and ipcscope's own start and end are left out of it.
 */
#ifndef EXEC_WORK_CLOCK_H
#define EXEC_WORK_CLOCK_H

#include <time.h>

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

#endif
