/*
 * test_code_panel.c - the code panel: every role's listing follows its worker code, and the
 * marker stands on the line of each task's pending action.
 *
 * The walk (src/lesson.c) is checked on a listing made up here. Then every scenario is run
 * stepped to its end with a trace, and each task's arrivals at the step gate (the actions it
 * performed, in order) must walk its role's listing strictly: in order, loops going back,
 * only optional lines skipped. Finally prodcons, deadlock and tcp-echo are stepped one action
 * at a time and after every step the snapshot's marker ("code") is compared with the line
 * the trace's gate arrivals lead to.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "lesson.h"
#include "lesson_runs.h"
#include "scenario.h"
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the walk, on a listing made up here ---- */

static const struct lesson_line WALK[] = {
    LA("a = socket();", EV_OBJ_CREATE, NULL),        /* 0 */
    LFOR("for (;;) {"),                              /* 1 */
    LAB("    n = recv(c);", EV_SOCK_RECV, "c"),      /* 2: may break */
    LO("    sleep(1);", EV_SLEEP, NULL),             /* 3 */
    LA("    send(c);", EV_SOCK_SEND, "c"),           /* 4 */
    LEND("}"),                                       /* 5 */
    LAR("while (recv(d) > 0);", EV_SOCK_RECV, "d*"), /* 6 */
    LA("close(c);", EV_SOCK_CLOSE, "c"),             /* 7 */
};
static const struct lesson_role WALK_ROLE = {"t", "C", WALK, sizeof(WALK) / sizeof(WALK[0])};

Test(code_panel, the_walk_follows_lines_in_order_and_round_loops)
{
    cr_assert_eq(lesson_walk(&WALK_ROLE, -1, EV_OBJ_CREATE, NULL, 1), 0);
    cr_assert_eq(lesson_walk(&WALK_ROLE, 0, EV_SOCK_RECV, "c", 1), 2);
    cr_assert_eq(lesson_walk(&WALK_ROLE, 2, EV_SOCK_SEND, "c", 1), 4, "the sleep is optional");
    cr_assert_eq(lesson_walk(&WALK_ROLE, 4, EV_SOCK_RECV, "c", 1), 2, "round the loop");
    cr_assert_eq(lesson_walk(&WALK_ROLE, 2, EV_SOCK_RECV, "d1", 1), 6, "a break leaves the loop");
    cr_assert_eq(lesson_walk(&WALK_ROLE, 6, EV_SOCK_RECV, "d1", 1), 6, "a line done again");
    cr_assert_eq(lesson_walk(&WALK_ROLE, 6, EV_SOCK_CLOSE, "c", 1), 7);
}

Test(code_panel, the_strict_walk_refuses_what_the_listing_does_not_say)
{
    cr_assert_eq(lesson_walk(&WALK_ROLE, -1, EV_SOCK_RECV, "c", 1), -1, "socket() must come first");
    cr_assert_eq(lesson_walk(&WALK_ROLE, 0, EV_SOCK_SEND, "c", 1), -1, "recv() must come first");
    cr_assert_eq(lesson_walk(&WALK_ROLE, 0, EV_SOCK_RECV, "e", 1), -1, "another object");
    cr_assert_eq(lesson_walk(&WALK_ROLE, 7, EV_SOCK_RECV, "c", 1), -1, "nothing after the end");
    cr_assert_eq(lesson_walk(&WALK_ROLE, 0, EV_SOCK_SEND, "c", 0), 4,
                 "placing a marker may skip lines");
}

/* ---- every lesson, statically ---- */

Test(code_panel, every_scenario_has_a_lesson_with_short_listings)
{
    for (size_t i = 0; i < scenario_count; i++) {
        const struct lesson *l = lesson_find(scenario_table[i]->id);
        cr_assert_not_null(l, "%s has no lesson", scenario_table[i]->id);
        cr_assert_gt(l->nroles, 0, "%s: no role", l->id);
        for (size_t r = 0; r < l->nroles; r++) {
            const struct lesson_role *role = &l->roles[r];
            cr_assert(role->n > 0 && role->n <= 20, "%s/%s: %zu lines (1 to 20)", l->id,
                      role->prefix, role->n);
            int depth = 0, actions = 0;
            for (size_t k = 0; k < role->n; k++) {
                depth += role->lines[k].open;
                depth -= role->lines[k].close;
                cr_assert_geq(depth, 0, "%s/%s line %zu closes a loop never opened", l->id,
                              role->prefix, k + 1);
                actions += role->lines[k].ev != LESSON_NO_EV;
            }
            cr_assert_eq(depth, 0, "%s/%s: a loop is never closed", l->id, role->prefix);
            cr_assert_gt(actions, 0, "%s/%s: no line performs an action", l->id, role->prefix);
        }
        cr_assert_geq(l->nqs, 3, "%s: %zu questions (at least 3)", l->id, l->nqs);
    }
}

/* ---- a stepped run's actions walk the listings ---- */

/* The trace of a run of id stepped to its end. */
static json_t **stepped_trace(const char *id, size_t *n)
{
    char rec[] = "/tmp/ipcscope-code-XXXXXX";
    int fd = mkstemp(rec);
    cr_assert(fd >= 0);
    close(fd);
    const struct lesson_run_params *p = lesson_run_params_of(id);
    const char *extra[] = {"--record", rec, "--no-bpf", NULL};
    struct ts_driver d;
    ts_driver_start(&d, id, p ? p->params : NULL, extra);
    ts_driver_cmd(&d, "finish 3000");
    json_t *snap = ts_driver_snapshot(&d, 240);
    json_decref(snap);
    int code = ts_driver_end(&d, 60);
    /* a scenario's own invariant (exit 1) is its suite's business; the trace is what counts */
    cr_assert(code == 0 || code == 1, "%s: the stepped run failed (exit %d)", id, code);
    json_t **lines = ts_load_jsonl(rec, n);
    unlink(rec);
    return lines;
}

/* The name of object id as obj_create named it in the trace (NULL: none). */
static const char *obj_name(json_t **lines, size_t n, long long id)
{
    for (size_t i = 0; id >= 0 && i < n; i++)
        if (ts_is_ev(lines[i], "obj_create") && ts_int(lines[i], "obj_id") == id)
            return ts_str(lines[i], "obj");
    return NULL;
}

#define MAX_TASKS 128

struct walker {
    char name[32];
    int line;
    int actions;
};

/* Walk every task's gate arrivals in lines[0..upto) through its listing (strict); each
 * walker's line is where its last arrival stands. Asserts every arrival is on the listing. */
static size_t walk_trace(const struct lesson *l, json_t **lines, size_t upto, size_t n,
                         struct walker *w)
{
    size_t nw = 0;
    for (size_t i = 0; i < upto; i++) {
        json_t *e = lines[i];
        if (!ts_is_ev(e, "gate") || ts_int(e, "val") != 1)
            continue;
        const char *task = ts_str(e, "task");
        size_t k = 0;
        while (k < nw && strcmp(w[k].name, task) != 0)
            k++;
        if (k == nw && nw < MAX_TASKS) {
            snprintf(w[nw].name, sizeof(w[nw].name), "%s", task);
            w[nw].line = -1;
            w[nw++].actions = 0;
        }
        const struct lesson_role *role = lesson_role_of(l, task);
        unsigned kind = (unsigned)ts_int(e, "item");
        const char *obj = obj_name(lines, n, ts_int(e, "aux"));
        cr_assert_not_null(role, "%s: task %s acts (%s) but no listing is its", l->id, task,
                           ev_kind_name(kind));
        int line = lesson_walk(role, w[k].line, kind, obj, 1);
        cr_assert_geq(
            line, 0, "%s: %s's action %d, %s(%s), is not where its listing goes after line %d",
            l->id, task, w[k].actions + 1, ev_kind_name(kind), obj ? obj : "", w[k].line + 1);
        w[k].line = line;
        w[k].actions++;
    }
    return nw;
}

static void check_listing(const char *id)
{
    const struct lesson *l = lesson_find(id);
    cr_assert_not_null(l, "%s has no lesson", id);
    size_t n;
    json_t **lines = stepped_trace(id, &n);
    struct walker w[MAX_TASKS];
    size_t nw = walk_trace(l, lines, n, n, w);
    cr_assert_gt(nw, 0, "%s: no task arrived at the gate", id);
    ts_free_jsonl(lines, n);
}

/* Every scenario of the table (a new one is tested the moment it exists). */
ParameterizedTestParameters(code_panel, every_listing_follows_its_worker_code)
{
    struct lesson_scn *ids = cr_malloc(sizeof(*ids) * scenario_count);
    for (size_t i = 0; i < scenario_count; i++)
        snprintf(ids[i].id, sizeof(ids[i].id), "%s", scenario_table[i]->id);
    return cr_make_param_array(struct lesson_scn, ids, scenario_count, NULL);
}

ParameterizedTest(struct lesson_scn *p, code_panel, every_listing_follows_its_worker_code,
                  .timeout = 300)
{
    lesson_only(p->id);
    check_listing(p->id);
}

/* ---- the marker, step by step ---- */

/* Index just past the n-th event line of the trace (line 0 is the header). */
static size_t after_events(json_t **lines, size_t nlines, long long n)
{
    size_t i = 0;
    for (long long seen = 0; i < nlines && seen < n; i++)
        seen += json_object_get(lines[i], "ev") != NULL;
    return i;
}

/* The marker of snapshot snap for every task is the line its gate arrivals so far (the first
 * events.total of the trace) lead to, and a task at the gate stands on a line that performs
 * its pending action (the snapshot's gate_action "kind:object"). */
static void check_snapshot_markers(const struct lesson *l, json_t *snap, json_t **lines,
                                   size_t nlines, int step)
{
    long long total = ts_int(json_object_get(snap, "events"), "total");
    struct walker w[MAX_TASKS];
    size_t nw = walk_trace(l, lines, after_events(lines, nlines, total), nlines, w);
    json_t *code = json_object_get(snap, "code");
    cr_assert_not_null(code, "%s step %d: no code key in the snapshot", l->id, step);
    for (size_t k = 0; k < nw; k++) {
        json_t *c = json_object_get(code, w[k].name),
               *t = ts_find_named(json_object_get(snap, "tasks"), w[k].name);
        if (!c || !t)
            continue; /* ended: no marker */
        cr_assert_eq(ts_int(c, "line"), w[k].line + 1,
                     "%s step %d: %s's marker is on line %lld, its actions lead to line %d", l->id,
                     step, w[k].name, ts_int(c, "line"), w[k].line + 1);
        const char *pending = ts_str(t, "gate_action");
        if (strcmp(ts_str(t, "state"), "gate") || !*pending)
            continue;
        const struct lesson_role *role = lesson_role_of(l, w[k].name);
        const struct lesson_line *line = &role->lines[w[k].line];
        char kind[48], obj[48] = "";
        sscanf(pending, "%47[^:]:%47s", kind, obj);
        cr_assert(lesson_line_matches(line, (unsigned)ev_kind_from_name(kind), obj),
                  "%s step %d: %s waits to do %s, its marker is on \"%s\"", l->id, step, w[k].name,
                  pending, line->text);
    }
}

static void check_markers(const char *id)
{
    const struct lesson *l = lesson_find(id);
    char rec[] = "/tmp/ipcscope-marker-XXXXXX";
    int fd = mkstemp(rec);
    cr_assert(fd >= 0);
    close(fd);
    const struct lesson_run_params *p = lesson_run_params_of(id);
    const char *extra[] = {"--record", rec, "--no-bpf", NULL};
    struct ts_driver d;
    ts_driver_start(&d, id, p ? p->params : NULL, extra);
    static json_t *snaps[1000];
    int ns = 0;
    for (; ns < 1000; ns++) {
        ts_driver_cmd(&d, "step");
        snaps[ns] = ts_driver_snapshot(&d, 60);
        if (json_is_true(json_object_get(snaps[ns], "completed"))) {
            ns++;
            break;
        }
    }
    int code = ts_driver_end(&d, 60);
    cr_assert(code == 0 || code == 1, "%s: the stepped run failed (exit %d)", id, code);
    size_t n;
    json_t **lines = ts_load_jsonl(rec, &n);
    unlink(rec);
    cr_assert_gt(ns, 3, "%s: only %d steps", id, ns);
    for (int i = 0; i < ns; i++) {
        check_snapshot_markers(l, snaps[i], lines, n, i + 1);
        json_decref(snaps[i]);
    }
    ts_free_jsonl(lines, n);
}

Test(code_panel, the_marker_follows_every_step_of_prodcons, .timeout = 300)
{
    check_markers("prodcons");
}

Test(code_panel, the_marker_follows_every_step_of_deadlock, .timeout = 300)
{
    check_markers("deadlock");
}

Test(code_panel, the_marker_follows_every_step_of_tcp_echo, .timeout = 300)
{
    check_markers("tcp-echo");
}

/* ---- the dashboard ---- */

static struct lesson_tmux g_tmux;

static void tmux_stop(void)
{
    lesson_tmux_stop(&g_tmux);
}

Test(code_panel, help_names_its_key_and_c_shows_each_role, .fini = tmux_stop, .timeout = 60)
{
    lesson_tmux_start(&g_tmux, 140, 40, "run prodcons --step --no-bpf --param items=8");
    cr_assert(lesson_tmux_wait(&g_tmux, "Tasks", 10000), "the dashboard never came:\n%s",
              g_tmux.screen);
    lesson_tmux_keys(&g_tmux, "'?'");
    cr_assert(lesson_tmux_wait(&g_tmux, "code panel", 5000),
              "help does not name the code "
              "panel:\n%s",
              g_tmux.screen);
    const char *line = strstr(g_tmux.screen, "code panel");
    while (line > g_tmux.screen && line[-1] != '\n')
        line--;
    cr_assert(strncmp(line + strspn(line, "│ "), "c ", 2) == 0,
              "the code panel's key is not c:\n%.120s", line);
    lesson_tmux_keys(&g_tmux, "Escape c Space");
    cr_assert(lesson_tmux_wait(&g_tmux, "sem_wait(&empty);", 5000), "no producer listing:\n%s",
              g_tmux.screen);
    cr_assert(strstr(g_tmux.screen, "sem_wait(&full);"), "no consumer listing:\n%s", g_tmux.screen);
    cr_assert(lesson_tmux_wait(&g_tmux, "1▶", 5000), "no marker for task 1:\n%s", g_tmux.screen);
}
