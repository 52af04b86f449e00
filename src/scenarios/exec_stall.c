/*
 * exec_stall.c - stalls and deadlocks of a program under `ipcscope exec`, noticed from the
 * model on the conductor's poll.
 *
 * Progress is the instrumentation's events: when none came for STALL_NS while every live
 * task of the program is blocked on an object, that is a stall; a cycle of lock holders
 * (waitfor.c) is a deadlock at once. An episode ends when an event comes again (or the
 * cycle breaks); a new one is recorded, up to EPISODES_MAX.
 */
#include "exec_stall.h"

#include "../waitfor.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define STALL_NS (1000 * 1000 * 1000ull)
#define EPISODES_MAX 8
#define BLOCKED_MAX 16

struct episode {
    uint64_t at;
    int deadlock;
    size_t n;
    char task[BLOCKED_MAX][MODEL_NAME_MAX];
    char on[BLOCKED_MAX][80];
    char cycle[512];
};

static struct {
    uint64_t t0, last_total, last_change;
    int in_episode;
    struct waitfor_cycle cycle; /* the deadlock being shown, n 0: none */
    struct episode ep[EPISODES_MAX];
    size_t nep;
    char notice[600];
} g;

void exec_stall_reset(uint64_t t0)
{
    memset(&g, 0, sizeof(g));
    g.t0 = t0;
    g.last_change = t0;
}

static int alive(const struct model_task *t)
{
    return t->state != TS_ZOMBIE && t->state != TS_EXITED && t->state != TS_REAPED &&
           t->state != TS_NEW;
}

/* 1 when every live task but the conductor (pid me) is blocked - on one of its objects, or
 * in the kernel other than in a timed sleep (which ends by itself) - and one at least on an
 * object. */
static int all_blocked(const struct model *m)
{
    pid_t me = getpid();
    size_t on_objects = 0;
    for (size_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        if (t->pid == me || !alive(t))
            continue;
        if (t->state != TS_BLOCKED || strstr(t->wchan, "nanosleep") || strstr(t->wchan, "sleep"))
            return 0;
        on_objects += t->blocked_on != EV_NO_OBJ;
    }
    return on_objects > 0;
}

static void record(const struct model *m, uint64_t now, const struct waitfor_cycle *c, int say)
{
    if (g.nep >= EPISODES_MAX)
        return;
    struct episode *e = &g.ep[g.nep++];
    memset(e, 0, sizeof(*e));
    e->at = now;
    e->deadlock = c != NULL;
    pid_t me = getpid();
    for (size_t i = 0; i < m->ntasks && e->n < BLOCKED_MAX; i++) {
        const struct model_task *t = &m->tasks[i];
        if (t->pid == me || !alive(t) || t->state != TS_BLOCKED)
            continue;
        snprintf(e->task[e->n], MODEL_NAME_MAX, "%s", t->name);
        model_blocked_label(m, t, e->on[e->n], sizeof(e->on[e->n]));
        if (!e->on[e->n][0]) /* asleep in the kernel: where */
            snprintf(e->on[e->n], sizeof(e->on[e->n]), "%s", t->wchan[0] ? t->wchan : "kernel");
        e->n++;
    }
    if (c)
        waitfor_describe(m, c, e->cycle, sizeof(e->cycle));
    size_t len = (size_t)snprintf(g.notice, sizeof(g.notice),
                                  "%s: ", c ? "DEADLOCK" : "STALL (every task waits)");
    if (c)
        snprintf(g.notice + len, sizeof(g.notice) - len, "%s", e->cycle);
    for (size_t i = 0; !c && i < e->n && len < sizeof(g.notice); i++)
        len += (size_t)snprintf(g.notice + len, sizeof(g.notice) - len, "%s%s on %s", i ? ", " : "",
                                e->task[i], e->on[i][0] ? e->on[i] : "?");
    if (say)
        fprintf(stderr, "ipcscope: %.1f s: %s\n", (double)(now - g.t0) / 1e9, g.notice);
}

void exec_stall_look(const struct model *m, uint64_t now, int say)
{
    struct waitfor_cycle c;
    if (waitfor_find_cycle(m, &c)) {
        if (!waitfor_same(&c, &g.cycle)) {
            g.cycle = c;
            record(m, now, &c, say);
        }
        g.in_episode = 1;
        return;
    }
    g.cycle.n = 0;
    if (m->total != g.last_total) { /* something happened: progress */
        g.last_total = m->total;
        g.last_change = now;
        g.in_episode = 0;
        g.notice[0] = '\0';
        return;
    }
    if (!g.in_episode && now - g.last_change >= STALL_NS && all_blocked(m)) {
        g.in_episode = 1;
        record(m, now, NULL, say);
    }
}

const char *exec_stall_notice(void)
{
    return g.notice;
}

json_t *exec_stall_json(void)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < g.nep; i++) {
        const struct episode *e = &g.ep[i];
        json_t *blocked = json_array();
        for (size_t k = 0; k < e->n; k++)
            json_array_append_new(blocked,
                                  json_pack("{s:s, s:s}", "task", e->task[k], "on", e->on[k]));
        json_t *j = json_pack("{s:I, s:s, s:o}", "at_ms", (json_int_t)((e->at - g.t0) / 1000000),
                              "kind", e->deadlock ? "deadlock" : "stall", "blocked", blocked);
        if (e->deadlock)
            json_object_set_new(j, "cycle", json_string(e->cycle));
        json_array_append_new(arr, j);
    }
    return arr;
}
