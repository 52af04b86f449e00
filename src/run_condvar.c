/*
 * run_condvar.c - whom a condition variable's waiter really waits for. pthread_cond_wait
 * returns only once it holds the mutex again, so a waiter that a signal or a broadcast woke
 * sleeps in the kernel on the mutex until the holder lets it go, and its own records cannot
 * say so: it writes cond_wake when it returns. The conductor reads the futex word each task
 * blocked in cond_wait sleeps on (/proc/PID/task/TID/syscall) and, once it is the mutex's,
 * records the reading cond_relock: the task is shown waiting for the mutex (con.notify()
 * wakes one waiter, which then queues for con-lock; notify_all() moves them all there).
 *
 * Scenarios only: their objects live in the run's shared region, mapped at the same address
 * in the conductor and in every worker. A program under exec keeps its own mutexes, at
 * addresses the conductor does not map.
 */
#include "run.h"
#include "run_int.h"

#include "loop.h"
#include "scenarios/exec.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RELOCK_LOOK_NS (10 * 1000 * 1000ull) /* between two looks */

/* The futex word task pid/tid sleeps on: 1 and *word when it is in futex(2), else 0 (another
 * call, running, gone, or /proc not readable). */
static int futex_word(int32_t pid, int32_t tid, uintptr_t *word)
{
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long nr = strtol(buf, &end, 10); /* "202 0x7f3a5c0010a0 0x80 ..." ("running" when not in one) */
    if (end == buf || nr != SYS_futex)
        return 0;
    char *arg = end;
    unsigned long long w = strtoull(arg, &end, 16);
    if (end == arg)
        return 0;
    *word = (uintptr_t)w;
    return 1;
}

void run_condvar_look(struct run *r)
{
    if (r->sc == &scenario_exec || !r->procfs_on || !r->sh)
        return;
    uint64_t now = loop_clock_ns(CLOCK_MONOTONIC_COARSE);
    if (now - r->relock_look_ns < RELOCK_LOOK_NS)
        return;
    r->relock_look_ns = now;
    struct model *m = &r->model;
    for (uint32_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        if (t->state != TS_BLOCKED || t->cond_mutex == EV_NO_OBJ || t->blocked_on == EV_NO_OBJ ||
            t->blocked_on == t->cond_mutex || t->cond_mutex >= INSTR_MAX_OBJS ||
            t->blocked_on >= INSTR_MAX_OBJS || t->slot >= run_ntasks(r))
            continue;
        const struct model_obj *c = model_obj(m, t->blocked_on);
        uintptr_t w;
        if (!c || c->kind != OK_CONDVAR || !futex_word(t->pid, t->tid, &w))
            continue;
        const pthread_mutex_t *mx = &r->sh->objs[t->cond_mutex].u.mutex;
        if (w < (uintptr_t)mx || w >= (uintptr_t)(mx + 1))
            continue; /* still on the condition (or elsewhere) */
        struct ev e = {.t = loop_now_ns(),
                       .kind = EV_COND_RELOCK,
                       .src = EV_SRC_PROCFS,
                       .task = t->slot,
                       .pid = t->pid,
                       .tid = t->tid,
                       .obj = t->blocked_on,
                       .item = t->cond_mutex};
        run_apply(r, &e);
    }
}
