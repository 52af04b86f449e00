/*
 * lesson.c - the lesson table (one entry per scenario, from src/lessons/) and the walk that
 * follows a task's actions through its role's listing.
 *
 * The walk is a shortest-path search over the listing's lines: each line leads to the next, a
 * loop's closing line back to its first line, a loop's first line past the loop (its
 * condition false at once), a break out of it. Leaving a loop costs more than going round it,
 * so a loop is continued while it has a line for the action, and the nearest such line wins.
 */
#include "lesson.h"

#include "run.h"

#include <limits.h>
#include <string.h>

#define WALK_MAX 64 /* lines a listing may have for the walk (listings keep to ~20) */

extern const struct lesson lesson_layers, lesson_tcp_echo, lesson_tcp_handshake,
    lesson_tcp_teardown, lesson_http;
extern const struct lesson lesson_udp_echo, lesson_reuseaddr, lesson_udp_broadcast,
    lesson_select_server, lesson_poll_server, lesson_epoll_server, lesson_epoll_et_lt;
extern const struct lesson lesson_fork, lesson_orphan, lesson_zombie, lesson_states, lesson_nice,
    lesson_process_pool;
extern const struct lesson lesson_prodcons, lesson_pipe, lesson_message_queue, lesson_shared_memory,
    lesson_signals, lesson_semaphore;
extern const struct lesson lesson_lock, lesson_event, lesson_deadlock, lesson_philosophers;
extern const struct lesson lesson_threads, lesson_condition, lesson_concurrency,
    lesson_forking_server, lesson_threading_server;

const struct lesson *const lesson_table[] = {
    &lesson_layers,        &lesson_tcp_echo,       &lesson_tcp_handshake,
    &lesson_tcp_teardown,  &lesson_http,           &lesson_udp_echo,
    &lesson_reuseaddr,     &lesson_udp_broadcast,  &lesson_select_server,
    &lesson_poll_server,   &lesson_epoll_server,   &lesson_epoll_et_lt,
    &lesson_fork,          &lesson_orphan,         &lesson_zombie,
    &lesson_states,        &lesson_nice,           &lesson_process_pool,
    &lesson_prodcons,      &lesson_pipe,           &lesson_message_queue,
    &lesson_shared_memory, &lesson_signals,        &lesson_semaphore,
    &lesson_lock,          &lesson_event,          &lesson_deadlock,
    &lesson_philosophers,  &lesson_threads,        &lesson_condition,
    &lesson_concurrency,   &lesson_forking_server, &lesson_threading_server,
};

const size_t lesson_count = sizeof(lesson_table) / sizeof(lesson_table[0]);

const struct lesson *lesson_find(const char *id)
{
    for (size_t i = 0; id && i < lesson_count; i++)
        if (strcmp(lesson_table[i]->id, id) == 0)
            return lesson_table[i];
    return NULL;
}

int lesson_ranges_none_some_all(long n, struct lesson_range *out)
{
    out[0] = (struct lesson_range){0, 0};
    if (n < 2) {
        out[1] = (struct lesson_range){1, LONG_MAX};
        return 2;
    }
    out[1] = (struct lesson_range){1, n - 1};
    out[2] = (struct lesson_range){n, LONG_MAX};
    return 3;
}

int lesson_ranges_one_some_all(long n, struct lesson_range *out)
{
    out[0] = (struct lesson_range){1, 1};
    if (n < 3) {
        out[1] = (struct lesson_range){2, LONG_MAX};
        return 2;
    }
    out[1] = (struct lesson_range){2, n - 1};
    out[2] = (struct lesson_range){n, LONG_MAX};
    return 3;
}

int lesson_ranges_none_any(const struct lesson_ctx *c, struct lesson_range *out)
{
    (void)c;
    return lesson_ranges_none_some_all(1, out);
}

const struct lesson_role *lesson_role_of(const struct lesson *l, const char *name)
{
    for (size_t i = 0; l && name && i < l->nroles; i++)
        if (strncmp(name, l->roles[i].prefix, strlen(l->roles[i].prefix)) == 0)
            return &l->roles[i];
    return NULL;
}

int lesson_name_matches(const char *pattern, const char *name)
{
    if (!pattern)
        return 1;
    if (!name)
        return 0;
    const char *star = strchr(pattern, '*');
    if (!star)
        return strcmp(pattern, name) == 0;
    size_t pre = (size_t)(star - pattern), post = strlen(star + 1), n = strlen(name);
    return n >= pre + post && strncmp(pattern, name, pre) == 0 &&
           strcmp(name + n - post, star + 1) == 0;
}

int lesson_line_matches(const struct lesson_line *line, unsigned kind, const char *obj)
{
    if (line->ev == LESSON_NO_EV || line->ev != kind)
        return 0;
    if (!line->obj)
        return 1;
    return obj && *obj && lesson_name_matches(line->obj, obj);
}

/* ---- the walk ---- */

/* Where each loop's closing line goes back to, and where each opening line's loop ends.
 * -1 where none; 0, or -1 when the listing's loops do not pair up. */
static int loop_pairs(const struct lesson_role *role, int *head, int *end)
{
    int stack[WALK_MAX], sp = 0;
    for (size_t i = 0; i < role->n; i++) {
        head[i] = end[i] = -1;
        if (role->lines[i].close) {
            if (!sp)
                return -1;
            head[i] = stack[--sp];
            end[head[i]] = (int)i;
        }
        if (role->lines[i].open)
            stack[sp++] = (int)i;
    }
    return sp ? -1 : 0;
}

/* The closing line of the innermost loop around line i, or -1. */
static int loop_around(const int *end, int i)
{
    int best = -1;
    for (int o = 0; o <= i; o++)
        if (end[o] >= i && (best < 0 || end[o] < best))
            best = end[o];
    return best;
}

#define STEP 1    /* to the next line, round a loop, a call done again */
#define LEAVE 100 /* out of a loop: only when the loop has no line for the action */

/* The lines line i leads to and what each costs; their count (at most 5). */
static int successors(const struct lesson_role *role, const int *head, const int *end, int i,
                      int *out, int *cost)
{
    int k = 0, n = (int)role->n;
    if (i < 0) {
        out[0] = 0;
        cost[0] = STEP;
        return n > 0;
    }
    if (role->lines[i].again) {
        out[k] = i; /* the same call once more */
        cost[k++] = STEP;
    }
    if (head[i] >= 0) {
        out[k] = head[i]; /* round the loop again */
        cost[k++] = STEP;
    }
    if (i + 1 < n) {
        out[k] = i + 1; /* the next line (past a closing line: out of its loop) */
        cost[k++] = head[i] >= 0 ? LEAVE : STEP;
    }
    if (end[i] >= 0 && end[i] + 1 < n) {
        out[k] = end[i] + 1; /* the loop's condition is false at once */
        cost[k++] = LEAVE;
    }
    int out_of = role->lines[i].brk ? loop_around(end, i) : -1;
    if (out_of >= 0 && out_of + 1 < n) {
        out[k] = out_of + 1; /* break */
        cost[k++] = LEAVE;
    }
    return k;
}

/* Relax the edges out of line i (at distance d; -1: the start). */
static void relax(const struct lesson_role *role, const int *head, const int *end, int i, int d,
                  int *dist)
{
    int next[5], cost[5];
    int k = successors(role, head, end, i, next, cost);
    for (int j = 0; j < k; j++)
        if (dist[next[j]] < 0 || d + cost[j] < dist[next[j]])
            dist[next[j]] = d + cost[j];
}

int lesson_walk(const struct lesson_role *role, int from, unsigned kind, const char *obj,
                int strict)
{
    int head[WALK_MAX], end[WALK_MAX], dist[WALK_MAX], done[WALK_MAX] = {0};
    if (!role || role->n == 0 || role->n > WALK_MAX || from >= (int)role->n ||
        loop_pairs(role, head, end) < 0)
        return -1;
    int n = (int)role->n;
    for (int i = 0; i < n; i++)
        dist[i] = -1;
    relax(role, head, end, from, 0, dist);
    for (;;) { /* the nearest line not done yet: the earliest of equals */
        int j = -1;
        for (int i = 0; i < n; i++)
            if (!done[i] && dist[i] >= 0 && (j < 0 || dist[i] < dist[j]))
                j = i;
        if (j < 0)
            return -1;
        done[j] = 1;
        const struct lesson_line *line = &role->lines[j];
        if (lesson_line_matches(line, kind, obj))
            return j;
        if (strict && line->ev != LESSON_NO_EV && !line->opt)
            continue; /* an action that must happen first */
        relax(role, head, end, j, dist[j], dist);
    }
}

/* ---- conditions ---- */

int lesson_when_zero(const struct lesson_ctx *c)
{
    return c->o && c->o->value == 0;
}

int lesson_when_positive(const struct lesson_ctx *c)
{
    return c->o && c->o->value > 0;
}

int lesson_when_waiters(const struct lesson_ctx *c)
{
    if (!c->o)
        return 0;
    size_t n = model_waiters(c->m, (uint32_t)(c->o - c->m->objs), NULL, 0);
    return n >= 1 && n <= 3;
}

int lesson_when_no_waiters(const struct lesson_ctx *c)
{
    return c->o && model_waiters(c->m, (uint32_t)(c->o - c->m->objs), NULL, 0) == 0;
}

int lesson_when_full(const struct lesson_ctx *c)
{
    return c->o && c->o->capacity > 0 && c->o->value >= c->o->capacity;
}
