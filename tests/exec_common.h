/*
 * exec_common.h - helpers shared by the `ipcscope exec` suites (test_exec*.c): compile an
 * example from examples/ into a temporary directory, run it under the real binary headless
 * with --json FILE and --record, read the snapshot, the trace and the program's own output,
 * and check the ground truth gathered independently (strace -f counts, /proc, ss).
 *
 * Header-only (static helpers, each suite uses some): include it once per suite.
 */
#ifndef IPCSCOPE_TEST_EXEC_COMMON_H
#define IPCSCOPE_TEST_EXEC_COMMON_H

#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define HANG_LIMIT_S 40
#define UNUSED __attribute__((unused))

static char g_dir[] = "/tmp/ipcscope-exec-testXXXXXX";
static char *g_out; /* what the last program run printed on stdout */
static char *g_err; /* and on stderr */

/* Run argv (NULL-terminated) in g_dir with stdin /dev/null; stdout and stderr captured.
 * env: an extra NAME=VALUE for the child, or NULL. */
static UNUSED struct ts_result run_argv(char *const argv[], const char *env)
{
    struct ts_run_opts o = {
        .timeout_s = HANG_LIMIT_S, .stdin_null = 1, .search_path = 1, .cwd = g_dir, .env = env};
    return ts_run(argv, &o);
}

/* ipcscope ended by signal sig, as the program did (the shell's $? is 128+sig). */
static UNUSED void expect_killed(const struct ts_result *r, int sig)
{
    cr_assert(!r->hung, "hung after %d s (stderr: %s)", HANG_LIMIT_S, r->err);
    cr_assert(WIFSIGNALED(r->status) && WTERMSIG(r->status) == sig,
              "not killed by signal %d: %s %d (stderr: %s)", sig,
              WIFSIGNALED(r->status) ? "signal" : "exit",
              WIFSIGNALED(r->status) ? WTERMSIG(r->status) : WEXITSTATUS(r->status), r->err);
}

static UNUSED void expect_exit(const struct ts_result *r, int code)
{
    cr_assert(!r->hung, "hung after %d s (stderr: %s)", HANG_LIMIT_S, r->err);
    cr_assert(WIFEXITED(r->status), "killed by signal %d (stderr: %s)",
              WIFSIGNALED(r->status) ? WTERMSIG(r->status) : 0, r->err);
    cr_assert_eq(WEXITSTATUS(r->status), code, "exit %d, expected %d; stderr: %s",
                 WEXITSTATUS(r->status), code, r->err);
}

/* Compile examples/<name>.c (extra: more cc flags, or NULL) into g_dir/<name>. */
static UNUSED int compile(const char *name, const char *extra)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cc -pthread %s -o %s/%s %s/examples/%s.c -lrt 2>&1",
             extra ? extra : "", g_dir, name, IPCSCOPE_SOURCE_DIR, name);
    return system(cmd);
}

/* Compile examples/<name>.c, run it plainly (it must exit 0) and return what it printed
 * (free it): the ground truth a run under ipcscope is compared with. */
static UNUSED char *plain_output(const char *name)
{
    cr_assert_eq(compile(name, NULL), 0, "cc %s failed", name);
    char prog[64];
    snprintf(prog, sizeof(prog), "./%s", name);
    char *const argv[] = {prog, NULL};
    struct ts_result r = run_argv(argv, NULL);
    expect_exit(&r, 0);
    char *out = strdup(r.out);
    ts_free_result(&r);
    return out;
}

/* Write source, a whole C program the test carries, to g_dir/<name>.c and compile it into
 * g_dir/<name> (-pthread). */
static UNUSED void compile_source(const char *name, const char *source)
{
    char src[256];
    snprintf(src, sizeof(src), "%s/%s.c", g_dir, name);
    FILE *f = fopen(src, "w");
    cr_assert_not_null(f, "cannot write %s", src);
    fputs(source, f);
    fclose(f);
    cr_assert_eq(ts_sh("cc -pthread -o %s/%s %s 2>&1", g_dir, name, src), 0, "cc %s failed", src);
}

static UNUSED void setup_dir(void)
{
    ts_mkdtemp(g_dir);
}

static UNUSED void teardown_dir(void)
{
    free(g_out);
    free(g_err);
    g_out = g_err = NULL;
    if (g_dir[0] && ts_rmtree(g_dir) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    g_dir[0] = '\0';
}

/* The file g_dir/name parsed as JSON (asserts it is). */
static UNUSED json_t *load_json(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert(j, "%s is not JSON: %s (line %d)", name, je.text, je.line);
    return j;
}

/* `ipcscope exec --headless --json snap.json --record trace.jsonl OPTS... -- ./name [arg]`
 * (opts: NULL-terminated, may be empty), expecting exit code `code`: the snapshot. The
 * program's output is kept in g_out/g_err. */
static UNUSED json_t *exec_run_opts(const char *name, char *const opts[], const char *arg, int code)
{
    char prog[64];
    snprintf(prog, sizeof(prog), "./%s", name);
    char *argv[16] = {IPCSCOPE_BIN, "exec",     "--headless",  "--json",
                      "snap.json",  "--record", "trace.jsonl", NULL};
    int n = 7;
    for (int i = 0; opts[i] && n < 12; i++)
        argv[n++] = opts[i];
    argv[n++] = "--";
    argv[n++] = prog;
    if (arg)
        argv[n++] = (char *)arg;
    argv[n] = NULL;
    struct ts_result r = run_argv(argv, NULL);
    expect_exit(&r, code);
    free(g_out);
    free(g_err);
    g_out = strdup(r.out);
    g_err = strdup(r.err);
    ts_free_result(&r);
    return load_json("snap.json");
}

/* exec_run_opts with one option opt (or none when NULL). */
static UNUSED json_t *exec_run(const char *name, const char *opt, const char *arg, int code)
{
    char *const opts[] = {(char *)opt, NULL};
    return exec_run_opts(name, opts, arg, code);
}

/* `ipcscope replay trace.jsonl --headless --json` (exit 0 expected): the replay's snapshot
 * (asserts it is JSON). Caller decrefs. */
static UNUSED json_t *replay_trace(void)
{
    char *const argv[] = {IPCSCOPE_BIN, "replay", "trace.jsonl", "--headless", "--json", NULL};
    struct ts_result r = run_argv(argv, NULL);
    expect_exit(&r, 0);
    json_error_t je;
    json_t *again = json_loads(r.out, 0, &je);
    cr_assert(again, "replay --json: %s", je.text);
    ts_free_result(&r);
    return again;
}

/* Compile examples/<name>.c, run it under ipcscope with --duration secs so the run is cut
 * (exit 124 expected), then replay the trace it recorded: the cut run's snapshot, and the
 * replay's in *replayed. Caller decrefs both. */
static UNUSED json_t *exec_cut_and_replay(const char *name, const char *arg, const char *secs,
                                          json_t **replayed)
{
    cr_assert_eq(compile(name, NULL), 0, "cc %s failed", name);
    char *const opts[] = {"--duration", (char *)secs, NULL};
    json_t *snap = exec_run_opts(name, opts, arg, 124);
    *replayed = replay_trace();
    return snap;
}

/* Compile examples/<name>.c and run it under ipcscope (exit 0 expected). */
static UNUSED json_t *exec_example_with(const char *name, const char *opt)
{
    cr_assert_eq(compile(name, NULL), 0, "cc %s failed", name);
    return exec_run(name, opt, NULL, 0);
}

static UNUSED json_t *exec_example(const char *name)
{
    return exec_example_with(name, NULL);
}

/* 1 when the program printed text on stdout. */
static UNUSED int printed(const char *text)
{
    return g_out && strstr(g_out, text) != NULL;
}

/* The trace's events (line 1, the header, and the end line skipped). */
static UNUSED json_t *load_trace(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/trace.jsonl", g_dir);
    size_t n;
    json_t **lines = ts_load_jsonl(path, &n);
    json_t *evs = json_array();
    for (size_t i = 0; i < n; i++)
        if (json_object_get(lines[i], "ev"))
            json_array_append(evs, lines[i]);
    ts_free_jsonl(lines, n);
    return evs;
}

static UNUSED int by_seq(const void *a, const void *b)
{
    long long x = ts_int(*(json_t *const *)a, "seq"), y = ts_int(*(json_t *const *)b, "seq");
    return x < y ? -1 : x > y;
}

/* The instr events on object name, in seq order (with the conductor's readings of a fold,
 * mutex_seen_held and sem_seen_taken, which take their seq too); *n gets the count. Caller
 * frees. */
static UNUSED json_t **object_events(json_t *evs, const char *name, size_t *n)
{
    json_t **out = calloc(json_array_size(evs) + 1, sizeof(*out));
    size_t i, k = 0;
    json_t *e;
    json_array_foreach(evs, i, e)
    {
        const char *ev = ts_str(e, "ev");
        if (strcmp(ts_str(e, "obj"), name) == 0 &&
            (strcmp(ts_str(e, "src"), "instr") == 0 || strcmp(ev, "mutex_seen_held") == 0 ||
             strcmp(ev, "sem_seen_taken") == 0))
            out[k++] = e;
    }
    qsort(out, k, sizeof(*out), by_seq);
    *n = k;
    return out;
}

/* Events of kind ev (from instr) on object name, or on any object when name is NULL. */
static UNUSED long long count_events(json_t *evs, const char *ev, const char *name)
{
    size_t i;
    json_t *e;
    long long n = 0;
    json_array_foreach(evs, i, e)
    {
        n += strcmp(ts_str(e, "ev"), ev) == 0 && strcmp(ts_str(e, "src"), "instr") == 0 &&
             (!name || strcmp(ts_str(e, "obj"), name) == 0);
    }
    return n;
}

/* The sum of field key over those events. */
static UNUSED long long sum_events(json_t *evs, const char *ev, const char *name, const char *key)
{
    size_t i;
    json_t *e;
    long long n = 0;
    json_array_foreach(evs, i, e)
    {
        if (strcmp(ts_str(e, "ev"), ev) == 0 && strcmp(ts_str(e, "src"), "instr") == 0 &&
            (!name || strcmp(ts_str(e, "obj"), name) == 0))
            n += ts_int(e, key);
    }
    return n;
}

/* Replay a semaphore's operations in seq order: every recorded value follows from the one
 * before. Returns the final value. */
static UNUSED long long recompute_semaphore(json_t *evs, const char *name)
{
    size_t n;
    json_t **ops = object_events(evs, name, &n);
    cr_assert(n > 0 && strcmp(ts_str(ops[0], "ev"), "obj_create") == 0, "%s: no obj_create", name);
    long long v = ts_int(ops[0], "val");
    for (size_t i = 1; i < n; i++) {
        const char *ev = ts_str(ops[i], "ev");
        long long val = ts_int(ops[i], "val"), seq = ts_int(ops[i], "seq");
        cr_assert_eq(seq, (long long)i, "%s: seq %lld at position %zu (gap)", name, seq, i);
        if (strcmp(ev, "sem_wait") == 0)
            cr_assert_eq(val, v, "%s seq %lld: sem_wait saw %lld, value was %lld", name, seq, val,
                         v);
        else if (strcmp(ev, "sem_acquired") == 0)
            cr_assert_eq(val, --v, "%s seq %lld: acquired left %lld, expected %lld", name, seq, val,
                         v);
        else if (strcmp(ev, "sem_post") == 0)
            cr_assert_eq(val, ++v, "%s seq %lld: post left %lld, expected %lld", name, seq, val, v);
        else if (strcmp(ev, "sem_pairs") == 0) /* folded take/post pairs: net nothing */
            cr_assert_eq(val, v, "%s seq %lld: pairs left %lld, expected %lld", name, seq, val, v);
        /* sem_seen_taken: the conductor's reading of a token kept, recorded later: no change */
        cr_assert_geq(v, 0, "%s went negative at seq %lld", name, seq);
    }
    free(ops);
    return v;
}

/* A mutex's acquired/release alternate in seq order; returns the number of acquisitions
 * (those folded into mutex_pairs records included). */
static UNUSED long long check_mutex(json_t *evs, const char *name)
{
    size_t n;
    json_t **ops = object_events(evs, name, &n);
    long long held = 0, taken = 0;
    for (size_t i = 0; i < n; i++) {
        const char *ev = ts_str(ops[i], "ev");
        if (strcmp(ev, "mutex_acquired") == 0) {
            cr_assert_eq(held, 0, "%s acquired twice without a release (seq %lld)", name,
                         ts_int(ops[i], "seq"));
            held = 1;
            taken++;
        } else if (strcmp(ev, "mutex_release") == 0) {
            cr_assert_eq(held, 1, "%s released while free (seq %lld)", name, ts_int(ops[i], "seq"));
            held = 0;
        } else if (strcmp(ev, "mutex_pairs") == 0) {
            /* folded pairs: complete, and free before and after in the task's own order
             * (another task's lock may come before the record in seq order) */
            cr_assert_gt(ts_int(ops[i], "item"), 0, "%s: an empty fold (seq %lld)", name,
                         ts_int(ops[i], "seq"));
            cr_assert_eq(ts_int(ops[i], "val"), 0, "%s: free after a fold", name);
            taken += ts_int(ops[i], "item");
        }
    }
    cr_assert_eq(held, 0, "%s still held at the end", name);
    free(ops);
    return taken;
}

static UNUSED size_t count_tasks(json_t *snap, const char *kind, const char *prefix)
{
    size_t i, n = 0;
    json_t *t;
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        if (strcmp(ts_str(t, "kind"), kind) == 0 &&
            strncmp(ts_str(t, "name"), prefix, strlen(prefix)) == 0)
            n++;
    }
    return n;
}

/* The object of kind named name in the snapshot (asserts it is there). */
static UNUSED json_t *find_object(json_t *snap, const char *kind, const char *name)
{
    json_t *objs = json_object_get(snap, "objects"), *o = ts_find_named(objs, name);
    char *dump = json_dumps(objs, JSON_COMPACT);
    cr_assert(o, "no object %s in %s", name, dump);
    free(dump);
    cr_assert_str_eq(ts_str(o, "kind"), kind, "%s: kind %s, expected %s", name, ts_str(o, "kind"),
                     kind);
    return o;
}

/* A process that is a zombie of some other parent (init may take its time reaping an
 * orphan): it has exited; its reaping is not ipcscope's. */
static UNUSED int zombie_of_another(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p && p[2] == 'Z';
}

/* Every task of the program is gone, nothing leaked, and nothing of this run's conductor
 * (named ipcscope-<its pid>-*) is left in /dev/shm or /dev/mqueue. */
static UNUSED void expect_nothing_left(json_t *snap)
{
    size_t i;
    json_t *t;
    char prefix[64] = "ipcscope-?-";
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        if (strcmp(ts_str(t, "name"), "ipcscope") == 0) {
            snprintf(prefix, sizeof(prefix), "ipcscope-%lld-", ts_int(t, "pid"));
            continue;
        }
        pid_t pid = (pid_t)ts_int(t, "pid");
        cr_expect((kill(pid, 0) < 0 && errno == ESRCH) || zombie_of_another(pid),
                  "task %s (pid %d) still exists", ts_str(t, "name"), (int)pid);
    }
    json_t *leaks = json_object_get(snap, "leaks");
    cr_expect_eq(ts_int(leaks, "processes"), 0);
    cr_expect_eq(ts_int(leaks, "ipc_objects"), 0);
    cr_expect_eq(ts_int(json_object_get(snap, "cleanup"), "left"), 0);
    const char *dirs[] = {"/dev/shm", "/dev/mqueue"};
    for (size_t d = 0; d < 2; d++) {
        DIR *dp = opendir(dirs[d]);
        struct dirent *de;
        while (dp && (de = readdir(dp)))
            cr_expect(!strstr(de->d_name, prefix), "left behind: %s/%s", dirs[d], de->d_name);
        if (dp)
            closedir(dp);
    }
}

/* 1 when the snapshot task t's reap_seen_by names source src (instr, bpf, procfs). */
static UNUSED int reap_seen_by(json_t *t, const char *src)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(t, "reap_seen_by"), i, s)
    {
        if (json_is_string(s) && strcmp(json_string_value(s), src) == 0)
            return 1;
    }
    return 0;
}

/* The reap of the snapshot's task named name, which the program's own wait call saw: one
 * reap is one task_reaped event in the trace, whichever source saw it first, and the
 * snapshot's reap_seen_by lists every source that saw it, instr among them. Its exit code
 * into *code and who reaped it (aux, the reaper's pid) into *by. Asserts that the task is
 * reaped, that its reap is exactly one event, made by a source reap_seen_by names, and that
 * instr saw it. */
static UNUSED void reaped_as(json_t *snap, json_t *evs, const char *name, long long *code,
                             long long *by)
{
    json_t *t = ts_find_named(json_object_get(snap, "tasks"), name);
    cr_assert(t, "no task %s", name);
    cr_assert_str_eq(ts_str(t, "state"), "reaped", "%s", name);
    size_t i, n = 0;
    json_t *e, *reap = NULL;
    json_array_foreach(evs, i, e)
    {
        if (strcmp(ts_str(e, "ev"), "task_reaped") == 0 && ts_int(e, "tid") == ts_int(t, "tid") &&
            strcmp(ts_str(e, "task"), name) == 0) {
            n++;
            reap = e;
        }
    }
    cr_assert_eq(n, 1, "%s: %zu task_reaped events, one reap is one event", name, n);
    cr_expect(reap_seen_by(t, ts_str(reap, "src")), "%s: reaped by the trace's %s, not in %s", name,
              ts_str(reap, "src"), json_dumps(json_object_get(t, "reap_seen_by"), 0));
    cr_assert(reap_seen_by(t, "instr"), "%s: the program's wait call did not see it (seen by %s)",
              name, json_dumps(json_object_get(t, "reap_seen_by"), 0));
    *code = ts_int(reap, "val");
    *by = ts_int(reap, "aux");
}

/* ---- ground truth from strace ---- */

/* Run ./name [arg] under `strace -ff -qq -e trace=EXPR -o strace` (without ipcscope: one
 * file per process, so no call is split across lines) and count the lines that contain
 * needle and ok ("!x": that do not contain x; NULL: any result). Skips the test when
 * strace is missing. */
static UNUSED long long strace_count(const char *name, const char *arg, const char *expr,
                                     const char *needle, const char *ok)
{
    if (system("command -v strace >/dev/null 2>&1") != 0)
        cr_skip_test("strace is not installed (apt-get install strace)");
    char prog[64], trace[256], cmd[512];
    snprintf(prog, sizeof(prog), "./%s", name);
    snprintf(trace, sizeof(trace), "trace=%s", expr);
    snprintf(cmd, sizeof(cmd), "rm -f %s/strace.*", g_dir);
    if (system(cmd) != 0)
        return -1;
    char *argv[] = {"strace", "-ff", "-qq", "-e", trace, "-o", "strace", prog, (char *)arg, NULL};
    struct ts_result r = run_argv(argv, NULL);
    expect_exit(&r, 0);
    ts_free_result(&r);
    snprintf(cmd, sizeof(cmd), "cat %s/strace.*", g_dir);
    FILE *f = popen(cmd, "r");
    cr_assert(f, "strace wrote no output");
    char line[4096];
    long long n = 0;
    while (fgets(line, sizeof(line), f)) {
        if (!strstr(line, needle))
            continue;
        if (ok && ok[0] == '!')
            n += strstr(line, ok + 1) == NULL;
        else
            n += !ok || strstr(line, ok) != NULL;
    }
    pclose(f);
    return n;
}

#endif
