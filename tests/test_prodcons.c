/*
 * test_prodcons.c - prodcons end to end: the real binary, headless, over several parameter sets.
 *
 * Each test runs `ipcscope run prodcons --headless --json --record FILE`, parses the snapshot
 * and the trace with jansson, and checks the lesson from the evidence alone: every item put
 * and got exactly once, semaphore values and queue depth recomputed per object in seq order
 * match every event's val and stay in range, nothing dropped or leaked, no worker process left
 * (checked in /proc), and a replay of the trace gives the same tasks and objects.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static long long jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    TS_REQUIRE(json_is_integer(v), "missing integer '%s'", key);
    return json_integer_value(v);
}

/* ---- the trace, recomputed ---- */

struct obj_ev {
    long long seq, val, item, aux;
    char ev[24];
};

struct obj_track {
    char name[32];
    char kind[16];
    long long capacity;
    struct obj_ev *evs;
    size_t n, cap;
};

static int by_seq(const void *a, const void *b)
{
    const struct obj_ev *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct trace_check {
    struct obj_track objs[16];
    size_t nobjs;
    unsigned char *put, *got; /* per item id */
    long items;
};

static void track(struct trace_check *tc, json_t *line, int lineno)
{
    json_t *id = json_object_get(line, "obj_id");
    if (!id)
        return;
    long long oid = json_integer_value(id);
    TS_REQUIRE(oid >= 0 && oid < 16, "line %d: obj_id %lld out of range", lineno, oid);
    struct obj_track *o = &tc->objs[oid];
    if ((size_t)oid >= tc->nobjs)
        tc->nobjs = (size_t)oid + 1;
    const char *ev = json_string_value(json_object_get(line, "ev"));
    TS_REQUIRE((ev) != NULL, "line %d: no ev", lineno);
    if (strcmp(ev, "obj_create") == 0) {
        snprintf(o->name, sizeof(o->name), "%s", json_string_value(json_object_get(line, "obj")));
        snprintf(o->kind, sizeof(o->kind), "%s", json_string_value(json_object_get(line, "kind")));
        o->capacity = jint(line, "capacity");
    }
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 1024;
        o->evs = realloc(o->evs, o->cap * sizeof(*o->evs));
    }
    struct obj_ev *e = &o->evs[o->n++];
    e->seq = jint(line, "seq");
    e->val = jint(line, "val");
    e->item = jint(line, "item");
    e->aux = jint(line, "aux");
    snprintf(e->ev, sizeof(e->ev), "%s", ev);

    long long item = e->item;
    if (strcmp(ev, "queue_put") == 0 || strcmp(ev, "queue_get") == 0) {
        TS_REQUIRE(item >= 0 && item < tc->items, "line %d: item %lld outside 0..%ld", lineno, item,
                   tc->items - 1);
        unsigned char *seen = ev[6] == 'p' ? tc->put : tc->got;
        TS_REQUIRE((seen[item]) == (0), "line %d: item %lld %s twice", lineno, item, ev);
        seen[item] = 1;
    }
}

/* Replay one object's operations in seq order and check every recorded val. */
static void recompute(const struct obj_track *o)
{
    TS_REQUIRE((o->n) > (0), "(o->n) > (0)");
    qsort(o->evs, o->n, sizeof(*o->evs), by_seq);
    for (size_t i = 0; i < o->n; i++)
        TS_REQUIRE((o->evs[i].seq) == ((long long)i),
                   "%s: seq %lld at position %zu (gap or repeat)", o->name, o->evs[i].seq, i);
    TS_REQUIRE(strcmp(o->evs[0].ev, "obj_create") == 0, "%s: first operation is %s", o->name,
               o->evs[0].ev);
    long long v = o->evs[0].val;
    int sem = strcmp(o->kind, "semaphore") == 0, queue = strcmp(o->kind, "queue") == 0;
    for (size_t i = 1; i < o->n; i++) {
        const struct obj_ev *e = &o->evs[i];
        if (strcmp(e->ev, "sem_wait") == 0) {
            TS_REQUIRE((e->val) == (v), "%s seq %lld: sem_wait saw %lld, value is %lld", o->name,
                       e->seq, e->val, v);
            continue;
        } else if (strcmp(e->ev, "sem_acquired") == 0) {
            v--;
        } else if (strcmp(e->ev, "sem_post") == 0 || strcmp(e->ev, "queue_put") == 0) {
            v++;
        } else if (strcmp(e->ev, "queue_get") == 0) {
            v--;
        } else {
            continue; /* mutex operations carry no value */
        }
        TS_REQUIRE((e->val) == (v), "%s seq %lld (%s): val %lld, recomputed %lld", o->name, e->seq,
                   e->ev, e->val, v);
        if (sem || queue)
            TS_REQUIRE(v >= 0 && v <= o->capacity, "%s seq %lld: value %lld outside 0..%lld",
                       o->name, e->seq, v, o->capacity);
    }
}

static void check_trace(const char *path, long items, long capacity, json_t *snap)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "no trace at %s", path);
    struct trace_check tc = {.items = items};
    tc.put = calloc((size_t)items, 1);
    tc.got = calloc((size_t)items, 1);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, have_end = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        TS_REQUIRE((o) != NULL, "trace line %d is not JSON: %s", lineno, jerr.text);
        if (lineno == 1) {
            TS_REQUIRE((jint(o, "ipcscope_trace")) == (1), "(jint(o, \"ipcscope_trace\")) == (1)");
            TS_REQUIRE(
                strcmp(json_string_value(json_object_get(o, "scenario")), "prodcons") == 0,
                "strcmp(json_string_value(json_object_get(o, \"scenario\")), \"prodcons\") == 0");
            TS_REQUIRE((jint(json_object_get(o, "params"), "items")) == (items),
                       "(jint(json_object_get(o, \"params\"), \"items\")) == (items)");
        } else if (json_object_get(o, "ipcscope_trace_end")) {
            have_end = 1;
            cr_expect_eq(jint(o, "dropped"), 0);
        } else {
            TS_REQUIRE((json_object_get(o, "t")) != NULL, "line %d: no t", lineno);
            TS_REQUIRE((json_object_get(o, "pid")) != NULL, "line %d: no pid", lineno);
            TS_REQUIRE((json_object_get(o, "task")) != NULL, "line %d: no task", lineno);
            track(&tc, o, lineno);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    cr_expect(have_end, "the trace has no end line");

    for (long id = 0; id < items; id++) {
        TS_REQUIRE(tc.put[id], "item %ld was never put", id);
        TS_REQUIRE(tc.got[id], "item %ld was never got", id);
    }
    int found = 0;
    for (size_t i = 0; i < tc.nobjs; i++) {
        struct obj_track *o = &tc.objs[i];
        if (!o->n)
            continue;
        recompute(o);
        found++;
        /* the recomputed end value is the snapshot's */
        json_t *so = ts_find_named(json_object_get(snap, "objects"), o->name);
        cr_assert_not_null(so, "object %s missing from the snapshot", o->name);
        if (strcmp(o->kind, "semaphore") == 0 || strcmp(o->kind, "queue") == 0) {
            cr_expect_eq(o->capacity, capacity, "%s capacity", o->name);
            long long v = o->evs[0].val;
            for (size_t k = 1; k < o->n; k++) {
                const char *ev = o->evs[k].ev;
                if (!strcmp(ev, "sem_acquired") || !strcmp(ev, "sem_post") ||
                    !strcmp(ev, "queue_put") || !strcmp(ev, "queue_get"))
                    v = o->evs[k].val;
            }
            cr_expect_eq(jint(so, "value"), v, "%s: snapshot %lld, trace ends at %lld", o->name,
                         jint(so, "value"), v);
        }
        free(o->evs);
    }
    cr_expect_eq(found, 4, "prodcons has empty, full, buf and buffer");
    free(tc.put);
    free(tc.got);
}

/* ---- processes ---- */

/* Processes whose parent is this test process (the binary is reaped already). */
static int children_left(void)
{
    pid_t left[256];
    return ts_children(getpid(), left, 256);
}

static void compare_replay(const char *trace, json_t *live)
{
    char *argv[] = {IPCSCOPE_BIN, "replay", (char *)trace, "--headless", "--json", NULL};
    struct ts_result r = ts_run(argv, NULL);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "replay failed: %s", r.err);
    json_error_t jerr;
    json_t *rep = json_loads(r.out, 0, &jerr);
    cr_assert_not_null(rep, "replay printed no JSON: %s", jerr.text);

    json_t *lt = json_object_get(live, "tasks"), *rt = json_object_get(rep, "tasks");
    cr_expect_eq(json_array_size(lt), json_array_size(rt), "task count: live %zu, replay %zu",
                 json_array_size(lt), json_array_size(rt));
    size_t i;
    json_t *t;
    json_array_foreach(lt, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        json_t *u = ts_find_named(rt, name);
        cr_assert_not_null(u, "task %s missing from the replay", name);
        cr_expect_str_eq(json_string_value(json_object_get(u, "state")),
                         json_string_value(json_object_get(t, "state")), "task %s state", name);
        json_t *ex = json_object_get(t, "exit_status");
        if (ex)
            cr_expect_eq(jint(u, "exit_status"), json_integer_value(ex), "task %s exit", name);
    }
    json_t *lo = json_object_get(live, "objects"), *ro = json_object_get(rep, "objects");
    cr_expect_eq(json_array_size(lo), json_array_size(ro));
    json_array_foreach(lo, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        json_t *u = ts_find_named(ro, name);
        cr_assert_not_null(u, "object %s missing from the replay", name);
        cr_expect_eq(jint(u, "value"), jint(t, "value"), "object %s value", name);
        cr_expect_eq(jint(u, "min"), jint(t, "min"), "object %s min", name);
        cr_expect_eq(jint(u, "max"), jint(t, "max"), "object %s max", name);
    }
    json_decref(rep);
    ts_free_result(&r);
}

/* ---- the test body ---- */

static void run_prodcons(long producers, long consumers, long capacity, long items)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans come back here, where we can see them */
    char trace[] = "/tmp/ipcscope-test-traceXXXXXX";
    int fd = mkstemp(trace);
    cr_assert_geq(fd, 0);
    close(fd);
    char p[4][40];
    snprintf(p[0], sizeof(p[0]), "producers=%ld", producers);
    snprintf(p[1], sizeof(p[1]), "consumers=%ld", consumers);
    snprintf(p[2], sizeof(p[2]), "capacity=%ld", capacity);
    snprintf(p[3], sizeof(p[3]), "items=%ld", items);
    char *argv[] = {IPCSCOPE_BIN, "run",     "prodcons", "--headless", "--json", "--record",
                    trace,        "--param", p[0],       "--param",    p[1],     "--param",
                    p[2],         "--param", p[3],       NULL};
    struct ts_result r = ts_run(argv, NULL);
    cr_assert(WIFEXITED(r.status), "ipcscope died by signal %d", WTERMSIG(r.status));
    cr_assert_eq(WEXITSTATUS(r.status), 0, "exit %d: %s", WEXITSTATUS(r.status), r.err);

    json_error_t jerr;
    json_t *snap = json_loads(r.out, 0, &jerr);
    cr_assert_not_null(snap, "stdout is not JSON (%s): %.200s", jerr.text, r.out);
    cr_expect_str_eq(json_string_value(json_object_get(snap, "scenario")), "prodcons");
    json_t *params = json_object_get(snap, "params");
    cr_expect_eq(jint(params, "producers"), producers);
    cr_expect_eq(jint(params, "consumers"), consumers);
    cr_expect_eq(jint(params, "capacity"), capacity);
    cr_expect_eq(jint(params, "items"), items);
    cr_expect(json_is_true(json_object_get(snap, "completed")));
    cr_expect_eq(jint(json_object_get(snap, "events"), "dropped"), 0);
    cr_expect_gt(jint(json_object_get(snap, "events"), "total"), 0);
    json_t *leaks = json_object_get(snap, "leaks");
    cr_expect_eq(jint(leaks, "processes"), 0);
    cr_expect_eq(jint(leaks, "ipc_objects"), 0);

    json_t *objs = json_object_get(snap, "objects");
    json_t *empty = ts_find_named(objs, "empty"), *full = ts_find_named(objs, "full");
    json_t *buffer = ts_find_named(objs, "buffer");
    cr_assert(empty && full && buffer, "snapshot lacks empty/full/buffer");
    cr_expect_eq(jint(empty, "value"), capacity, "empty must end at capacity");
    cr_expect_eq(jint(full, "value"), 0, "full must end at 0");
    cr_expect_geq(jint(empty, "min"), 0);
    cr_expect_geq(jint(full, "min"), 0);
    cr_expect_leq(jint(full, "max"), capacity);
    cr_expect_eq(jint(buffer, "depth"), 0);
    cr_expect_leq(jint(buffer, "max_depth"), capacity);
    cr_expect_eq(jint(snap, "consumed"), items);

    /* every worker: present, reaped with status 0, and gone from /proc */
    int workers = 0;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (strncmp(name, "producer-", 9) && strncmp(name, "consumer-", 9))
            continue;
        workers++;
        cr_expect_str_eq(json_string_value(json_object_get(t, "state")), "reaped", "%s", name);
        cr_expect_eq(jint(t, "exit_status"), 0, "%s exit status", name);
        pid_t pid = (pid_t)jint(t, "pid");
        cr_expect(!ts_pid_alive(pid), "worker %s (pid %d) is still alive", name, (int)pid);
    }
    cr_expect_eq(workers, producers + consumers);
    cr_expect_eq(children_left(), 0, "processes whose parent is the test remain");

    check_trace(trace, items, capacity, snap);
    compare_replay(trace, snap);
    json_decref(snap);
    ts_free_result(&r);
    unlink(trace);
}

Test(prodcons, defaults_consume_every_item_once, .timeout = 120)
{
    run_prodcons(2, 2, 4, 40);
}

Test(prodcons, one_producer_one_consumer_one_slot, .timeout = 120)
{
    run_prodcons(1, 1, 1, 200);
}

Test(prodcons, four_producers_three_consumers_two_slots, .timeout = 120)
{
    run_prodcons(4, 3, 2, 5000);
}

Test(prodcons, sixteen_each_side_sixty_four_slots, .timeout = 120)
{
    run_prodcons(16, 16, 64, 20000);
}

Test(prodcons, more_consumers_than_items_can_feed, .timeout = 120)
{
    run_prodcons(1, 8, 1, 300);
}

Test(prodcons, json_defaults_are_the_documented_ones, .timeout = 120)
{
    char *argv[] = {IPCSCOPE_BIN, "run", "prodcons", "--headless", "--json", NULL};
    struct ts_result r = ts_run(argv, NULL);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "%s", r.err);
    json_t *snap = json_loads(r.out, 0, NULL);
    cr_assert_not_null(snap);
    json_t *params = json_object_get(snap, "params");
    cr_expect_eq(jint(params, "producers"), 2);
    cr_expect_eq(jint(params, "consumers"), 2);
    cr_expect_eq(jint(params, "capacity"), 2);
    cr_expect_eq(jint(params, "items"), 40);
    json_t *src = json_object_get(snap, "sources");
    cr_expect(json_is_true(json_object_get(src, "instr")));
    cr_expect(json_is_boolean(json_object_get(src, "bpf")));
    if (!json_is_true(json_object_get(src, "bpf")))
        cr_expect(json_is_string(json_object_get(src, "bpf_reason")), "bpf off without reason");
    cr_expect(json_is_integer(json_object_get(snap, "duration_ms")));
    json_decref(snap);
    ts_free_result(&r);
}
