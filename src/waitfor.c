/*
 * waitfor.c - deadlock cycles in the wait-for graph of the model.
 *
 * An edge goes from a live task blocked on a mutex, a spin lock or a reader-writer lock
 * (model blocked_on) to its holder (the writer, for a reader-writer lock).
 * With at most one edge out of every task, a cycle is found by walking from each unvisited
 * task and stopping at the first task seen twice on the current walk.
 */
#include "waitfor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int task_alive(const struct model_task *t)
{
    return t->state != TS_ZOMBIE && t->state != TS_EXITED && t->state != TS_REAPED;
}

uint32_t waitfor_edge(const struct model *m, uint32_t t)
{
    if (t >= m->ntasks || !task_alive(&m->tasks[t]))
        return MODEL_NO_TASK;
    uint32_t obj = m->tasks[t].blocked_on;
    if (obj == EV_NO_OBJ || obj >= m->nobjs)
        return MODEL_NO_TASK;
    const struct model_obj *o = &m->objs[obj];
    int owned = o->kind == OK_MUTEX || o->kind == OK_SPINLOCK || o->kind == OK_RWLOCK;
    if (!o->live || !owned || o->holder >= m->ntasks)
        return MODEL_NO_TASK;
    return o->holder;
}

/* Rotate c so that the task started first (lowest instr slot, then model index) comes first:
 * t1 before t2, phil-1 before phil-2, whatever order the model learnt of them in. */
static void normalise(const struct model *m, struct waitfor_cycle *c)
{
    size_t lo = 0;
    for (size_t i = 1; i < c->n; i++) {
        uint32_t si = m->tasks[c->task[i]].slot, sl = m->tasks[c->task[lo]].slot;
        if (si < sl || (si == sl && c->task[i] < c->task[lo]))
            lo = i;
    }
    struct waitfor_cycle tmp = *c;
    for (size_t i = 0; i < c->n; i++) {
        c->task[i] = tmp.task[(lo + i) % c->n];
        c->obj[i] = tmp.obj[(lo + i) % c->n];
    }
}

/* Copy the cycle that starts at task start (on the walk) into out. */
static size_t take_cycle(const struct model *m, uint32_t start, struct waitfor_cycle *out)
{
    uint32_t t = start;
    out->n = 0;
    do {
        if (out->n == WAITFOR_MAX) {
            out->n = 0;
            return 0;
        }
        out->task[out->n] = t;
        out->obj[out->n] = m->tasks[t].blocked_on;
        out->n++;
        t = waitfor_edge(m, t);
    } while (t != start && t != MODEL_NO_TASK);
    if (t != start) {
        out->n = 0;
        return 0;
    }
    normalise(m, out);
    return out->n;
}

size_t waitfor_find_cycle(const struct model *m, struct waitfor_cycle *out)
{
    out->n = 0;
    uint32_t *mark = calloc(m->ntasks ? m->ntasks : 1, sizeof(*mark)); /* walk number + 1 */
    if (!mark)
        return 0;
    for (uint32_t s = 0; s < m->ntasks && !out->n; s++) {
        uint32_t t = s;
        while (t != MODEL_NO_TASK && !mark[t]) {
            mark[t] = s + 1;
            t = waitfor_edge(m, t);
        }
        if (t != MODEL_NO_TASK && mark[t] == s + 1)
            take_cycle(m, t, out); /* came back to a task of this same walk */
    }
    free(mark);
    return out->n;
}

int waitfor_same(const struct waitfor_cycle *a, const struct waitfor_cycle *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->task[i] != b->task[i] || a->obj[i] != b->obj[i])
            return 0;
    return 1;
}

int waitfor_contains(const struct waitfor_cycle *c, uint32_t t)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->task[i] == t)
            return 1;
    return 0;
}

char *waitfor_describe(const struct model *m, const struct waitfor_cycle *c, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < c->n && len < n; i++) {
        const char *obj = c->obj[i] < m->nobjs ? m->objs[c->obj[i]].name : "?";
        int w = snprintf(buf + len, n - len, "%s -(%s)-> ", m->tasks[c->task[i]].name, obj);
        len += w > 0 ? (size_t)w : 0;
    }
    if (c->n && len < n)
        snprintf(buf + len, n - len, "%s", m->tasks[c->task[0]].name);
    return buf;
}
