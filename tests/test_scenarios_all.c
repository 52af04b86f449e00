/*
 * test_scenarios_all.c - every scenario in the table, the moment it exists.
 *
 * Parameterized over `ipcscope list --json`: each scenario must run headless with its
 * defaults to completion (exit 0, its invariants hold, nothing dropped, nothing leaked, every
 * worker reaped), and must step in the real dashboard (Space lets actions through one at a
 * time, q quits cleanly) in both languages.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"

#include <criterion/parameterized.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ID_MAX 32

struct scn_id {
    char id[ID_MAX];
};

/* argv's standard output (malloc'd; NULL when it could not run) and exit code. */
static char *stdout_of(char *const argv[], int *status)
{
    struct ts_run_opts o = {.timeout_s = 110, .stdin_null = 1, .search_path = 1};
    struct ts_result r = ts_run(argv, &o);
    char *out = r.out ? strdup(r.out) : NULL;
    if (status)
        *status = WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status);
    ts_free_result(&r);
    return out;
}

static struct criterion_test_params scenario_ids(void)
{
    char *const argv[] = {IPCSCOPE_BIN, "list", "--json", NULL};
    char *out = stdout_of(argv, NULL);
    json_t *arr = out ? json_loads(out, 0, NULL) : NULL;
    size_t n = json_array_size(arr);
    struct scn_id *ids = cr_malloc(sizeof(*ids) * (n ? n : 1));
    for (size_t i = 0; i < n; i++)
        snprintf(ids[i].id, ID_MAX, "%s",
                 json_string_value(json_object_get(json_array_get(arr, i), "id")));
    json_decref(arr);
    free(out);
    return cr_make_param_array(struct scn_id, ids, n, NULL);
}

ParameterizedTestParameters(scenarios, runs_headless_to_a_clean_end)
{
    return scenario_ids();
}

ParameterizedTest(struct scn_id *p, scenarios, runs_headless_to_a_clean_end, .timeout = 120)
{
    int status;
    char *const argv[] = {IPCSCOPE_BIN, "run", p->id, "--headless", "--json", NULL};
    char *out = stdout_of(argv, &status);
    cr_assert_not_null(out);
    json_error_t err;
    json_t *snap = json_loads(out, 0, &err);
    cr_assert_not_null(snap, "%s: the snapshot is not JSON: %s", p->id, err.text);
    cr_expect_eq(status, 0, "%s exited %d", p->id, status);
    cr_expect(json_is_true(json_object_get(snap, "completed")), "%s did not end by itself", p->id);
    json_t *check = json_object_get(snap, "check");
    cr_expect(json_is_true(json_object_get(check, "ok")), "%s: invariant failed: %s", p->id,
              json_string_value(json_object_get(check, "why")));
    json_t *leaks = json_object_get(snap, "leaks");
    cr_expect_eq(json_integer_value(json_object_get(leaks, "processes")), 0, "%s leaked processes",
                 p->id);
    cr_expect_eq(json_integer_value(json_object_get(leaks, "ipc_objects")), 0,
                 "%s leaked IPC objects", p->id);
    cr_expect_eq(json_integer_value(json_object_get(json_object_get(snap, "events"), "dropped")), 0,
                 "%s dropped events", p->id);

    /* every worker process is gone (checked in /proc, not in the snapshot) */
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        if (i == 0 || strcmp(json_string_value(json_object_get(t, "kind")), "process") != 0)
            continue;
        char path[64];
        struct stat sb;
        snprintf(path, sizeof(path), "/proc/%lld",
                 (long long)json_integer_value(json_object_get(t, "pid")));
        if (stat(path, &sb) == 0) {
            /* a pid may have been reused by an unrelated process: compare the group */
            char buf[512];
            snprintf(path, sizeof(path), "/proc/%lld/cmdline",
                     (long long)json_integer_value(json_object_get(t, "pid")));
            FILE *f = fopen(path, "r");
            size_t got = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
            if (f)
                fclose(f);
            buf[got] = '\0';
            cr_expect(strstr(buf, "ipcscope") == NULL, "%s: worker %s (pid %lld) is still alive",
                      p->id, json_string_value(json_object_get(t, "name")),
                      (long long)json_integer_value(json_object_get(t, "pid")));
        }
    }
    json_decref(snap);
    free(out);
}

/* ---- in the dashboard ---- */

static char g_sock[64];

static char *screen(void)
{
    char *const argv[] = {"tmux", "-L", g_sock, "capture-pane", "-p", "-t", "s", NULL};
    return stdout_of(argv, NULL);
}

/* The step count the header shows ("steps N" / "步数 N"), or -1. */
static long steps_shown(void)
{
    char *s = screen();
    long n = -1;
    char *p = s ? strstr(s, "steps ") : NULL;
    if (p)
        n = strtol(p + 6, NULL, 10);
    else if (s && (p = strstr(s, "步数 ")))
        n = strtol(p + strlen("步数 "), NULL, 10);
    free(s);
    return n;
}

static void stop_tmux(void)
{
    if (g_sock[0])
        ts_tmux_kill(g_sock);
    g_sock[0] = '\0';
}

ParameterizedTestParameters(scenarios, steps_in_the_dashboard)
{
    return scenario_ids();
}

ParameterizedTest(struct scn_id *p, scenarios, steps_in_the_dashboard, .timeout = 60,
                  .fini = stop_tmux)
{
    if (ts_sh("command -v tmux >/dev/null 2>&1") != 0)
        cr_skip_test("needs tmux");
    char dir[] = "/tmp/ipcscope-test-all-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    snprintf(g_sock, sizeof(g_sock), "ipcscope-all-%d", (int)getpid());
    /* Chinese for half of them, by the id's first letter: both languages get exercised */
    const char *lang = (p->id[0] % 2) ? "zh" : "en";
    cr_assert_eq(ts_sh("tmux -L %s -f /dev/null new-session -d -s s -x 120 -y 36 "
                       "\"env LANG=C.UTF-8 TERM=tmux-256color %s run %s --step --lang %s; "
                       "echo \\$? > %s/rc.tmp; mv %s/rc.tmp %s/rc; sleep 600\"",
                       g_sock, IPCSCOPE_BIN, p->id, lang, dir, dir, dir),
                 0);

    long s0 = -1;
    for (int waited = 0; waited < 8000 && s0 < 0; waited += 100, ts_sleep_ms(100))
        s0 = steps_shown();
    cr_assert_eq(s0, 0, "%s: the dashboard did not come up in step mode", p->id);

    /* a step is granted once the tasks settle; one key at a time, and see it counted */
    long now = 0;
    for (int k = 0; k < 3; k++) {
        ts_sh("tmux -L %s send-keys -t s Space", g_sock);
        for (int waited = 0; waited < 3000 && (now = steps_shown()) <= k; waited += 50)
            ts_sleep_ms(50);
        if (now <= k)
            break; /* nothing at the gate (every task blocked or ended): allowed */
        cr_expect_eq(now, k + 1, "%s: one Space let %ld actions through", p->id, now - k);
    }
    ts_sh("tmux -L %s send-keys -t s q", g_sock);
    char path[128];
    int rc = -1;
    snprintf(path, sizeof(path), "%s/rc", dir);
    for (int waited = 0; waited < 10000; waited += 100, ts_sleep_ms(100)) {
        FILE *f = fopen(path, "r");
        if (f) {
            if (fscanf(f, "%d", &rc) != 1)
                rc = -2;
            fclose(f);
            break;
        }
    }
    cr_expect_eq(rc, 0, "%s: q should quit with 0 (got %d)", p->id, rc);
    ts_rmtree(dir);
}

/* ---- in ps ---- */

/* A class compares ps with the screen: every worker process carries a name of its own in
 * /proc/PID/comm, not the conductor's (the network lessons' servers and clients were all
 * "ipcscope" in ps while the screen said server, client-1, client-2). */
ParameterizedTestParameters(scenarios, workers_have_their_own_names_in_ps)
{
    return scenario_ids();
}

/* The live worker processes of snap looked up in /proc: how many, and none called ipcscope. */
static size_t check_worker_names(const char *id, json_t *snap)
{
    size_t i, named = 0;
    json_t *t;
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        if (i == 0 || strcmp(ts_str(t, "kind"), "process") != 0 ||
            strcmp(ts_str(t, "state"), "reaped") == 0)
            continue;
        char path[64], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/%lld/comm", ts_int(t, "pid"));
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* gone meanwhile */
        if (fgets(comm, sizeof(comm), f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
        cr_expect_str_neq(comm, "ipcscope", "%s: worker %s (pid %lld) is called ipcscope in ps", id,
                          ts_str(t, "name"), ts_int(t, "pid"));
        named++;
    }
    return named;
}

ParameterizedTest(struct scn_id *p, scenarios, workers_have_their_own_names_in_ps, .timeout = 90)
{
    struct ts_driver d;
    ts_driver_start(&d, p->id, NULL, NULL);
    size_t named = 0;
    for (int k = 0; k < 6 && !named; k++) { /* a step at a time: some end after 3 */
        ts_driver_cmd(&d, "step");
        ts_driver_cmd(&d, "wait 50");
        json_t *snap = ts_driver_snapshot(&d, 60);
        named = check_worker_names(p->id, snap);
        json_decref(snap);
    }
    ts_driver_cmd(&d, "finish");
    cr_assert_eq(ts_driver_end(&d, 60), 0, "%s: the run did not end with exit 0", p->id);
    cr_assert_gt(named, 0, "%s: no live worker process to look at in 6 steps", p->id);
}

/* The server classes: the server, each client and each handler (a process, or a thread: ps -L)
 * carries its own name, as on screen ("client" three times, "handler" for every handler
 * before; the server was "fork-server" or "thread-server" while the screen said server). */
Test(scenarios, server_classes_name_each_client_and_handler_in_ps, .timeout = 120)
{
    const char *ids[] = {"forking-server", "threading-server"};
    for (int k = 0; k < 2; k++) {
        struct ts_driver d;
        ts_driver_start(&d, ids[k], NULL, NULL);
        int clients = 0, handlers = 0;
        for (int step = 0; step < 40 && !handlers; step++) {
            ts_driver_cmd(&d, "step");
            ts_driver_cmd(&d, "wait 30");
            json_t *snap = ts_driver_snapshot(&d, 60);
            size_t i;
            json_t *t;
            clients = 0;
            json_array_foreach(json_object_get(snap, "tasks"), i, t)
            {
                const char *name = ts_str(t, "name");
                int client = !strncmp(name, "client-", 7), handler = !strncmp(name, "handler-", 8);
                int server = !strcmp(name, "server"); /* it was "fork-server" in ps */
                if ((!client && !handler && !server) || !strcmp(ts_str(t, "state"), "reaped"))
                    continue;
                char path[96], comm[32] = "";
                snprintf(path, sizeof(path), "/proc/%lld/task/%lld/comm", ts_int(t, "pid"),
                         ts_int(t, "tid"));
                FILE *f = fopen(path, "r");
                if (!f)
                    continue;
                if (fgets(comm, sizeof(comm), f))
                    comm[strcspn(comm, "\n")] = '\0';
                fclose(f);
                cr_expect_str_eq(comm, name, "%s: %s is called %s in ps", ids[k], name, comm);
                clients += client;
                handlers += handler;
            }
            json_decref(snap);
        }
        ts_driver_cmd(&d, "finish");
        cr_assert_eq(ts_driver_end(&d, 60), 0, "%s: the run did not end with exit 0", ids[k]);
        cr_assert(clients > 1 && handlers > 0, "%s: saw %d clients and %d handlers alive", ids[k],
                  clients, handlers);
    }
}
