/*
 * waitfor.h - the wait-for graph of a run and the deadlock cycles in it.
 *
 * Pure C over struct model: a task blocked on a mutex waits for the task that holds it. Each
 * task waits for at most one other, so the graph is a set of chains, and a deadlock is a
 * chain that closes on itself. Used by the deadlock scenarios (to end the run and report the
 * cycle) and by the UI (to highlight it).
 */
#ifndef IPCSCOPE_WAITFOR_H
#define IPCSCOPE_WAITFOR_H

#include "model.h"

#include <stddef.h>
#include <stdint.h>

#define WAITFOR_MAX 64

/* A cycle: task[i] waits on obj[i], which task[(i + 1) % n] holds. Rotated so that the task
 * started first (lowest instr slot) comes first, so the same cycle always compares equal. */
struct waitfor_cycle {
    size_t n;
    uint32_t task[WAITFOR_MAX]; /* model task indexes */
    uint32_t obj[WAITFOR_MAX];  /* object ids */
};

/* The task t waits for (the holder of the mutex t is blocked on), or MODEL_NO_TASK. A task
 * that has ended waits for nobody. */
uint32_t waitfor_edge(const struct model *m, uint32_t t);

/* Find a cycle in the wait-for graph. Fills *out and returns its length, 0 when there is
 * none (out->n is then 0). Cycles longer than WAITFOR_MAX are not reported. */
size_t waitfor_find_cycle(const struct model *m, struct waitfor_cycle *out);

/* 1 when a and b are the same cycle (same tasks on the same objects). */
int waitfor_same(const struct waitfor_cycle *a, const struct waitfor_cycle *b);

/* 1 when task index t is in cycle c. */
int waitfor_contains(const struct waitfor_cycle *c, uint32_t t);

/* Describe c as "t1 -(B)-> t2 -(A)-> t1" (t1 waits for B, which t2 holds ...) into buf.
 * Returns buf. */
char *waitfor_describe(const struct model *m, const struct waitfor_cycle *c, char *buf, size_t n);

#endif
