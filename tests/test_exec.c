/*
 * test_exec.c - `ipcscope exec -- PROGRAM`: an unmodified program under ipcscope.
 *
 * The example programs in examples/ are compiled with cc into a temporary directory and run
 * through the real binary headless: their threads and processes appear as tasks, their
 * semaphores' recorded values recompute exactly from the trace in seq order, mutex holders
 * and pipe bytes add up, the child is reaped by its parent, bad usage exits 2, and nothing
 * is left behind (processes, /dev/shm, /dev/mqueue).
 */
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

static char g_dir[] = "/tmp/ipcscope-exec-testXXXXXX";

/* Run argv (NULL-terminated) in g_dir with stdin /dev/null; stdout and stderr captured.
 * env: an extra NAME=VALUE for the child, or NULL. */
static struct ts_result run_argv(char *const argv[], const char *env)
{
    struct ts_run_opts o = {
        .timeout_s = HANG_LIMIT_S, .stdin_null = 1, .search_path = 1, .cwd = g_dir, .env = env};
    return ts_run(argv, &o);
}

static void expect_exit(const struct ts_result *r, int code)
{
    cr_assert(!r->hung, "hung after %d s (stderr: %s)", HANG_LIMIT_S, r->err);
    cr_assert(WIFEXITED(r->status), "killed by signal %d (stderr: %s)",
              WIFSIGNALED(r->status) ? WTERMSIG(r->status) : 0, r->err);
    cr_assert_eq(WEXITSTATUS(r->status), code, "exit %d, expected %d; stderr: %s",
                 WEXITSTATUS(r->status), code, r->err);
}

/* Compile examples/<name>.c (extra: more cc flags, or NULL) into g_dir/<name>. */
static int compile(const char *name, const char *extra)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cc -pthread %s -o %s/%s %s/examples/%s.c 2>&1", extra ? extra : "",
             g_dir, name, IPCSCOPE_SOURCE_DIR, name);
    return system(cmd);
}

static void setup_dir(void)
{
    ts_mkdtemp(g_dir);
}

static void teardown_dir(void)
{
    if (ts_rmtree(g_dir) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
}

/* `ipcscope exec --headless --json --record trace.jsonl -- ./name`: the snapshot. */
static json_t *exec_example_with(const char *name, const char *opt)
{
    cr_assert_eq(compile(name, NULL), 0, "cc %s failed", name);
    char prog[64];
    snprintf(prog, sizeof(prog), "./%s", name);
    char *argv[] = {IPCSCOPE_BIN,  "exec", "--headless", "--json", "--record",
                    "trace.jsonl", "--",   prog,         NULL,     NULL};
    if (opt) { /* before the "--" */
        argv[6] = (char *)opt;
        argv[7] = "--";
        argv[8] = prog;
    }
    struct ts_result r = run_argv(argv, NULL);
    expect_exit(&r, 0);
    json_error_t je;
    json_t *snap = json_loads(r.out, 0, &je);
    cr_assert(snap, "stdout is not JSON (%s): %s", je.text, r.out);
    ts_free_result(&r);
    return snap;
}

static json_t *exec_example(const char *name)
{
    return exec_example_with(name, NULL);
}

/* The trace's events (line 1, the header, and the end line skipped). */
static json_t *load_trace(void)
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

static int by_seq(const void *a, const void *b)
{
    long long x = ts_int(*(json_t *const *)a, "seq"), y = ts_int(*(json_t *const *)b, "seq");
    return x < y ? -1 : x > y;
}

/* The instr events on object name, in seq order; *n gets the count. Caller frees. */
static json_t **object_events(json_t *evs, const char *name, size_t *n)
{
    json_t **out = calloc(json_array_size(evs) + 1, sizeof(*out));
    size_t i, k = 0;
    json_t *e;
    json_array_foreach(evs, i, e)
    {
        if (strcmp(ts_str(e, "obj"), name) == 0 && strcmp(ts_str(e, "src"), "instr") == 0)
            out[k++] = e;
    }
    qsort(out, k, sizeof(*out), by_seq);
    *n = k;
    return out;
}

/* Replay a semaphore's operations in seq order: every recorded value follows from the one
 * before. Returns the final value. */
static long long recompute_semaphore(json_t *evs, const char *name)
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
        cr_assert_geq(v, 0, "%s went negative at seq %lld", name, seq);
    }
    free(ops);
    return v;
}

/* A mutex's acquired/release alternate in seq order; returns the number of acquisitions. */
static long long check_mutex(json_t *evs, const char *name)
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
        }
    }
    cr_assert_eq(held, 0, "%s still held at the end", name);
    free(ops);
    return taken;
}

static size_t count_tasks(json_t *snap, const char *kind, const char *prefix)
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

static int tail_has(json_t *snap, const char *text)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(json_object_get(snap, "program_output"), "tail"), i, l)
    {
        if (strstr(json_string_value(l), text))
            return 1;
    }
    return 0;
}

/* Every task of the program is gone, and nothing of this run's conductor (named
 * ipcscope-<its pid>-*) is left in /dev/shm or /dev/mqueue. */
static void expect_nothing_left(json_t *snap)
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
        cr_expect(kill(pid, 0) < 0 && errno == ESRCH, "task %s (pid %d) still exists",
                  ts_str(t, "name"), (int)pid);
    }
    json_t *leaks = json_object_get(snap, "leaks");
    cr_expect_eq(ts_int(leaks, "processes"), 0);
    cr_expect_eq(ts_int(leaks, "ipc_objects"), 0);
    const char *dirs[] = {"/dev/shm", "/dev/mqueue"};
    for (size_t d = 0; d < 2; d++) {
        DIR *dp = opendir(dirs[d]);
        struct dirent *de;
        while (dp && (de = readdir(dp)))
            cr_expect(!strstr(de->d_name, prefix), "left behind: %s/%s", dirs[d], de->d_name);
        if (dp)
            closedir(dp);
    }
    unlink(json_string_value(json_object_get(json_object_get(snap, "program_output"), "path")));
}

TestSuite(exec, .init = setup_dir, .fini = teardown_dir);

Test(exec, prodcons_shows_threads_semaphores_and_mutex_holder, .timeout = 60)
{
    json_t *snap = exec_example("prodcons");
    cr_expect_str_eq(ts_str(snap, "scenario"), "exec");
    cr_expect(json_is_true(json_object_get(snap, "completed")));
    cr_expect_eq(count_tasks(snap, "process", "prodcons"), 1);
    cr_expect_eq(count_tasks(snap, "thread", "prodcons-t"), 4, "two producers, two consumers");

    json_t *objs = json_object_get(snap, "objects");
    json_t *empty = ts_find_named(objs, "empty"), *full = ts_find_named(objs, "full"),
           *lock = ts_find_named(objs, "lock");
    cr_assert(empty && full && lock, "objects named after the variables: %s", json_dumps(objs, 0));
    cr_expect_str_eq(ts_str(empty, "kind"), "semaphore");
    cr_expect_eq(ts_int(empty, "initial"), 4);
    cr_expect_eq(ts_int(empty, "min"), 0, "the producers filled the buffer");
    cr_expect_str_eq(ts_str(lock, "kind"), "mutex");
    cr_expect(json_is_null(json_object_get(lock, "holder")), "lock is free at the end");

    json_t *evs = load_trace();
    cr_expect_eq(recompute_semaphore(evs, "empty"), ts_int(empty, "value"));
    cr_expect_eq(recompute_semaphore(evs, "full"), ts_int(full, "value"));
    cr_expect_eq(ts_int(empty, "value"), 4);
    cr_expect_eq(ts_int(full, "value"), 0);
    cr_expect_eq(check_mutex(evs, "lock"), 48, "every item locked once by each side");

    json_t *ex = json_object_get(snap, "program_exit");
    cr_expect_eq(ts_int(ex, "status"), 0);
    cr_expect(tail_has(snap, "all 24 items produced and consumed"));
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec, fork_pipe_shows_two_processes_the_reap_and_pipe_bytes, .timeout = 60)
{
    json_t *snap = exec_example("fork_pipe");
    json_t *tasks = json_object_get(snap, "tasks");
    json_t *parent = ts_find_named(tasks, "fork_pipe"),
           *child = ts_find_named(tasks, "fork_pipe-child1");
    cr_assert(parent && child, "tasks: %s", json_dumps(tasks, 0));
    cr_expect_str_eq(ts_str(child, "kind"), "process");
    cr_expect_eq(ts_int(child, "ppid"), ts_int(parent, "pid"));
    cr_expect_str_eq(ts_str(child, "state"), "reaped");
    cr_expect_str_eq(ts_str(parent, "state"), "reaped");

    json_t *pipe = ts_find_named(json_object_get(snap, "objects"), "pipe@1");
    cr_assert(pipe, "no pipe object");
    cr_expect_gt(ts_int(pipe, "capacity"), 0);
    cr_expect_eq(ts_int(pipe, "bytes"), 0, "drained at the end");

    json_t *evs = load_trace();
    size_t i;
    json_t *e;
    long long written = 0, read = 0, reaped_by = 0;
    json_array_foreach(evs, i, e)
    {
        const char *ev = ts_str(e, "ev");
        if (strcmp(ev, "pipe_write") == 0)
            written += ts_int(e, "item");
        else if (strcmp(ev, "pipe_read") == 0)
            read += ts_int(e, "item");
        else if (strcmp(ev, "task_reaped") == 0 && strcmp(ts_str(e, "src"), "instr") == 0 &&
                 ts_int(e, "pid") == ts_int(child, "pid"))
            reaped_by = ts_int(e, "aux");
    }
    /* five lines "message N from child PID\n": 22 bytes plus the digits of the pid */
    long long line = 22 + snprintf(NULL, 0, "%lld", ts_int(child, "pid"));
    cr_expect_eq(written, 5 * line, "bytes written through the pipe");
    cr_expect_eq(read, written, "everything written was read");
    cr_expect_eq(reaped_by, ts_int(parent, "pid"), "the parent reaped the child");
    cr_expect(tail_has(snap, "child exited with 0"));
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec, counter_threads_take_turns_at_the_mutex, .timeout = 60)
{
    json_t *snap = exec_example("counter");
    cr_expect_eq(count_tasks(snap, "thread", "counter-t"), 2);
    json_t *lock = ts_find_named(json_object_get(snap, "objects"), "lock");
    cr_assert(lock);
    json_t *evs = load_trace();
    cr_expect_eq(check_mutex(evs, "lock"), 4000);
    cr_expect(tail_has(snap, "counter = 4000 (expected 4000)"));
    cr_expect_eq(ts_int(json_object_get(snap, "program_exit"), "status"), 0);
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec, program_arguments_and_exit_status_pass_through, .timeout = 60)
{
    char *const argv[] = {IPCSCOPE_BIN, "exec", "--headless", "--json",
                          "--",         "sh",   "-c",         "echo --headless $0; exit 3",
                          "--json",     NULL};
    struct ts_result r = run_argv(argv, NULL);
    expect_exit(&r, 0);
    json_t *snap = json_loads(r.out, 0, NULL);
    cr_assert(snap, "stdout is not JSON: %s", r.out);
    cr_expect_eq(ts_int(json_object_get(snap, "program_exit"), "status"), 3);
    cr_expect(tail_has(snap, "--headless --json"), "args after -- belong to the program");
    expect_nothing_left(snap);
    json_decref(snap);
    ts_free_result(&r);
}

static void expect_usage(const char *needle, ...)
{
    char *argv[16] = {IPCSCOPE_BIN, "exec"};
    int argc = 2;
    va_list ap;
    va_start(ap, needle);
    for (char *w = va_arg(ap, char *); w && argc < 15; w = va_arg(ap, char *))
        argv[argc++] = w;
    va_end(ap);
    argv[argc] = NULL;
    struct ts_result r = run_argv(argv, NULL);
    expect_exit(&r, 2);
    cr_expect(strstr(r.err, needle), "stderr lacks \"%s\": %s", needle, r.err);
    cr_expect_eq(r.out[0], '\0', "a usage error printed on stdout: %s", r.out);
    ts_free_result(&r);
}

Test(exec, bad_usage_exits_2_naming_the_problem, .timeout = 60)
{
    char plain[256];
    snprintf(plain, sizeof(plain), "%s/plain-file", g_dir);
    FILE *f = fopen(plain, "w");
    cr_assert(f);
    fclose(f);
    expect_usage("missing '--'", "--headless", NULL);
    expect_usage("'./prog' before '--'", "--headless", "./prog", NULL);
    expect_usage("no PROGRAM", "--headless", "--", NULL);
    expect_usage("unknown option '--bogus'", "--bogus", "--", "true", NULL);
    expect_usage("--json needs --headless", "--json", "--", "true", NULL);
    expect_usage("'--duration' needs a value", "--duration", NULL);
    expect_usage("'./no-such-program'", "--headless", "--", "./no-such-program", NULL);
    expect_usage("'no-such-program-in-path'", "--headless", "--", "no-such-program-in-path", NULL);
    expect_usage("not an executable", "--headless", "--", plain, NULL);
}

Test(exec, static_program_runs_with_a_warning, .timeout = 60)
{
    if (compile("counter", "-static") != 0)
        cr_skip_test("cc -static does not work here (no static libc)");
    char *const argv[] = {IPCSCOPE_BIN, "exec", "--headless", "--json", "--", "./counter", NULL};
    struct ts_result r = run_argv(argv, NULL);
    expect_exit(&r, 0);
    cr_expect(strstr(r.err, "statically linked; only /proc (and bpf) can observe it"), "%s", r.err);
    json_t *snap = json_loads(r.out, 0, NULL);
    cr_assert(snap);
    cr_expect(json_is_false(json_object_get(json_object_get(snap, "program"), "instrumented")));
    cr_expect_eq(ts_int(json_object_get(snap, "program_exit"), "status"), 0);
    cr_expect(tail_has(snap, "counter = 4000"));
    expect_nothing_left(snap);
    json_decref(snap);
    ts_free_result(&r);
}

Test(exec, preload_without_ipcscope_is_a_pass_through, .timeout = 60)
{
    cr_assert_eq(compile("fork_pipe", NULL), 0);
    char lib[4096], env[4200];
    snprintf(lib, sizeof(lib), "%s", IPCSCOPE_BIN);
    *strrchr(lib, '/') = '\0';
    snprintf(env, sizeof(env), "LD_PRELOAD=%s/libipcscope_preload.so", lib);
    char *const argv[] = {"./fork_pipe", NULL};
    struct ts_result r = run_argv(argv, env);
    expect_exit(&r, 0);
    cr_expect(strstr(r.out, "parent read") && strstr(r.out, "child exited with 0"), "%s", r.out);
    cr_expect_eq(r.err[0], '\0', "%s", r.err);
    ts_free_result(&r);
}

Test(exec, named_semaphore_is_one_object_in_both_processes, .timeout = 60)
{
    json_t *snap = exec_example("named_sem");
    cr_expect_eq(count_tasks(snap, "process", "named_sem"), 2);
    json_t *objs = json_object_get(snap, "objects");
    size_t i, sems = 0;
    json_t *o, *printer = NULL;
    json_array_foreach(objs, i, o)
    {
        if (strcmp(ts_str(o, "kind"), "semaphore") == 0) {
            sems++;
            printer = o;
        }
    }
    cr_assert_eq(sems, 1, "one named semaphore, not one per process: %s", json_dumps(objs, 0));
    cr_expect(strncmp(ts_str(printer, "name"), "printer-", 8) == 0, "named by sem_open's name");
    cr_expect_eq(ts_int(printer, "min"), 0);
    cr_expect_eq(ts_int(printer, "value"), 1);
    json_t *evs = load_trace();
    cr_expect_eq(recompute_semaphore(evs, ts_str(printer, "name")), 1);
    cr_expect(ts_find_named(objs, "job_ready"), "the condition variable");
    size_t n;
    json_t **ops = object_events(evs, "job_ready", &n);
    int waited = 0, signalled = 0;
    for (size_t k = 0; k < n; k++) {
        waited |= strcmp(ts_str(ops[k], "ev"), "cond_wait") == 0;
        signalled |= strcmp(ts_str(ops[k], "ev"), "cond_signal") == 0;
    }
    free(ops);
    cr_expect(signalled, "cond_signal recorded");
    /* main, the job thread, and main again on waking if it had to wait */
    cr_expect_eq(check_mutex(evs, "job_lock"), 2 + waited);
    cr_expect_eq(ts_int(json_object_get(snap, "program_exit"), "status"), 0);
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* The instr task_reaped of the task named name: its exit code, and who reaped it (aux). */
static int reaped_as(json_t *evs, const char *name, long long *code, long long *by)
{
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
    {
        if (strcmp(ts_str(e, "ev"), "task_reaped") == 0 && strcmp(ts_str(e, "src"), "instr") == 0 &&
            strcmp(ts_str(e, "task"), name) == 0) {
            *code = ts_int(e, "val");
            *by = ts_int(e, "aux");
            return 1;
        }
    }
    return 0;
}

/* The give-up of a wait by task on obj with error err (an unblock event), then the take. */
static void expect_gave_up_then_took(json_t *evs, const char *obj, const char *took)
{
    size_t n;
    json_t **ops = object_events(evs, obj, &n);
    size_t gave_up = n, taken = n;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ts_str(ops[i], "task"), "timeouts") != 0)
            continue;
        if (gave_up == n && strcmp(ts_str(ops[i], "ev"), "unblock") == 0)
            gave_up = i;
        else if (gave_up < n && taken == n && strcmp(ts_str(ops[i], "ev"), took) == 0)
            taken = i;
    }
    cr_assert_lt(gave_up, n, "%s: main never gave up waiting", obj);
    cr_expect_eq(ts_int(ops[gave_up], "aux"), ETIMEDOUT, "%s: gave up with %lld, not ETIMEDOUT",
                 obj, ts_int(ops[gave_up], "aux"));
    cr_expect_lt(taken, n, "%s: main never took it after the timeout", obj);
    free(ops);
}

Test(exec, timed_waits_give_up_and_every_wait_call_reaps, .timeout = 60)
{
    json_t *snap = exec_example("timeouts");
    cr_expect(tail_has(snap, "timedlock 50 ms: timed out"));
    cr_expect(tail_has(snap, "clockwait 2 s: got one"));
    json_t *evs = load_trace();

    /* pthread_mutex_timedlock and sem_clockwait: blocked, timed out, then taken */
    expect_gave_up_then_took(evs, "door", "mutex_acquired");
    expect_gave_up_then_took(evs, "ticket", "sem_acquired");
    cr_expect_eq(check_mutex(evs, "door"), 2, "the helper, then main");
    cr_expect_eq(recompute_semaphore(evs, "ticket"), 0);
    cr_expect_eq(check_mutex(evs, "nest"), 1, "a recursive mutex locked twice is taken once");

    /* wait4, waitid and wait3 each reaped their child, with its status */
    json_t *main_task = ts_find_named(json_object_get(snap, "tasks"), "timeouts");
    cr_assert(main_task);
    const char *names[] = {"timeouts-child1", "timeouts-child2", "timeouts-child3"};
    long long codes[] = {3, 4, 128 + SIGTERM};
    for (int k = 0; k < 3; k++) {
        long long code = -1, by = -1;
        cr_assert(reaped_as(evs, names[k], &code, &by), "%s: no instr task_reaped", names[k]);
        cr_expect_eq(code, codes[k], "%s exit %lld", names[k], code);
        cr_expect_eq(by, ts_int(main_task, "pid"), "%s reaped by %lld", names[k], by);
    }
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* Without the kernel probes only the program's side says who reaped what: glibc waits for
 * the shells of system() and popen() inside those calls, and they must still end reaped,
 * not as zombies forever. */
Test(exec, system_and_popen_shells_end_reaped_without_the_probes, .timeout = 60)
{
    json_t *snap = exec_example_with("shell", "--no-bpf");
    cr_expect(tail_has(snap, "system: the shell exited with 3"));
    cr_expect(tail_has(snap, "popen read: a line from the shell"));
    json_t *tasks = json_object_get(snap, "tasks");
    json_t *prog = ts_find_named(tasks, "shell");
    cr_assert(prog, "tasks: %s", json_dumps(tasks, 0));
    json_t *evs = load_trace();
    size_t i, shells = 0;
    json_t *t;
    json_array_foreach(tasks, i, t)
    {
        if (strcmp(ts_str(t, "name"), "sh") != 0)
            continue;
        shells++;
        cr_expect_str_eq(ts_str(t, "state"), "reaped", "sh %lld", ts_int(t, "pid"));
        cr_expect_eq(ts_int(t, "ppid"), ts_int(prog, "pid"));
        cr_expect(ts_int(t, "exit_status") == (shells == 1 ? 3 : 0), "sh %zu exit %lld", shells,
                  ts_int(t, "exit_status"));
    }
    cr_expect_eq(shells, 2, "system() and popen() each start one sh");
    json_t *sleep_task = ts_find_named(tasks, "sleep");
    cr_assert(sleep_task, "the shell's own child is missing");
    cr_expect_str_eq(ts_str(sleep_task, "state"), "reaped");
    long long reaps = 0;
    json_array_foreach(evs, i, t)
    {
        if (strcmp(ts_str(t, "ev"), "task_reaped") == 0 && strcmp(ts_str(t, "src"), "instr") == 0 &&
            strcmp(ts_str(t, "task"), "sh") == 0 && ts_int(t, "aux") == ts_int(prog, "pid"))
            reaps++;
    }
    cr_expect_eq(reaps, 2, "each sh reaped once, by the program");
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* Handlers installed with sigaction and signal: each run is a sig_handle event of the task
 * that ran it, the program still gets its own handlers back, and children reaped inside
 * the SIGCHLD handler are reaped by the program. */
Test(exec, signal_handlers_show_each_run_and_stay_the_programs, .timeout = 60)
{
    json_t *snap = exec_example("handlers");
    cr_expect(tail_has(snap, "sigaction hands back our handler: yes"));
    cr_expect(tail_has(snap, "signal hands back the first handler: yes"));
    cr_expect(tail_has(snap, "SIGUSR1 caught 3 times"));
    cr_expect(tail_has(snap, "reaped 2 children in the handler"));
    json_t *main_task = ts_find_named(json_object_get(snap, "tasks"), "handlers");
    cr_assert(main_task);
    json_t *evs = load_trace();
    size_t i;
    json_t *e;
    int usr1 = 0, chld = 0;
    json_array_foreach(evs, i, e)
    {
        if (strcmp(ts_str(e, "ev"), "sig_handle") != 0 || strcmp(ts_str(e, "src"), "instr") != 0)
            continue;
        cr_expect_str_eq(ts_str(e, "task"), "handlers", "a handler ran in %s", ts_str(e, "task"));
        usr1 += ts_int(e, "val") == SIGUSR1;
        chld += ts_int(e, "val") == SIGCHLD;
    }
    cr_expect_eq(usr1, 3, "SIGUSR1 handler runs");
    cr_expect_geq(chld, 1, "no SIGCHLD handler run");
    cr_expect_leq(chld, 2);
    for (int k = 1; k <= 2; k++) {
        char name[32];
        snprintf(name, sizeof(name), "handlers-child%d", k);
        long long code = -1, by = -1;
        cr_assert(reaped_as(evs, name, &code, &by), "%s: no instr task_reaped", name);
        cr_expect_eq(code, k);
        cr_expect_eq(by, ts_int(main_task, "pid"));
    }
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}
