/*
 * test_exec.c - `ipcscope exec -- PROGRAM` behaves as the program would without ipcscope.
 *
 * The same program's output and exit status plainly and under ipcscope are compared byte for
 * byte; its stdin, stdout, stderr and other descriptors are its own; orphans are adopted by
 * whoever adopts them without ipcscope; nothing is left behind (no files in /tmp, no
 * processes, no cgroup); a --duration stop is snapshotted before cleanup kills anything;
 * bad usage exits 2 naming the problem. The IPC kinds are in test_exec_*.c.
 */
#include "exec_common.h"

#include <fcntl.h>
#include <glob.h>
#include <pthread.h>
#include <sys/prctl.h>

TestSuite(exec, .init = setup_dir, .fini = teardown_dir);

/* Run `sh -c script` in g_dir (so redirections can be set up around ipcscope). */
static struct ts_result run_sh(const char *script)
{
    char *argv[] = {"sh", "-c", (char *)script, NULL};
    return run_argv(argv, NULL);
}

static size_t count_glob(const char *pattern)
{
    glob_t g;
    size_t n = glob(pattern, 0, NULL, &g) == 0 ? g.gl_pathc : 0;
    globfree(&g);
    return n;
}

Test(exec, output_and_status_are_the_same_as_without_ipcscope, .timeout = 60)
{
    cr_assert_eq(compile("stdio", NULL), 0);
    /* printf before fork with a pipe for stdout: fully buffered, printed twice, plainly too */
    struct ts_result plain = run_sh("echo 'a line of input' | ./stdio 2>err.plain");
    char script[512];
    snprintf(script, sizeof(script),
             "echo 'a line of input' | %s exec --headless --json snap.json -- ./stdio "
             "2>err.exec",
             IPCSCOPE_BIN);
    struct ts_result ex = run_sh(script);
    cr_assert(WIFEXITED(plain.status) && WIFEXITED(ex.status));
    cr_expect_eq(WEXITSTATUS(ex.status), WEXITSTATUS(plain.status), "exit %d, plainly %d",
                 WEXITSTATUS(ex.status), WEXITSTATUS(plain.status));
    cr_expect_eq(WEXITSTATUS(plain.status), 5, "the example exits 5");
    cr_expect_str_eq(ex.out, plain.out, "stdout differs");
    cr_expect(strstr(plain.out, "read: a line of input"), "%s", plain.out);
    json_t *snap = load_json("snap.json");
    cr_expect_str_eq(ts_str(json_object_get(snap, "program"), "terminal"), "inherited");
    cr_expect_eq(ts_int(json_object_get(snap, "program_exit"), "status"), 5);
    cr_expect(!json_object_get(snap, "program_output"), "headless output is not captured");
    expect_nothing_left(snap);
    json_decref(snap);
    ts_free_result(&plain);
    ts_free_result(&ex);

    /* stderr: the program's lines, then ipcscope's summary after them */
    char path[256];
    snprintf(path, sizeof(path), "%s/err.exec", g_dir);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *prog = strstr(buf, "to stderr"), *sum = strstr(buf, "ipcscope: ./stdio exited with 5");
    cr_expect(prog && sum && prog < sum, "stderr: %s", buf);
}

Test(exec, exit_status_is_the_programs_and_128_plus_a_killing_signal, .timeout = 60)
{
    char *const argv[] = {
        IPCSCOPE_BIN, "exec", "--headless", "--", "sh", "-c", "echo --headless $0; exit 3",
        "--json",     NULL};
    struct ts_result r = run_argv(argv, NULL);
    expect_exit(&r, 3);
    cr_expect_str_eq(r.out, "--headless --json\n", "args after -- belong to the program");
    ts_free_result(&r);

    char *const segv[] = {IPCSCOPE_BIN, "exec", "--headless", "--json",        "snap.json",
                          "--",         "sh",   "-c",         "kill -SEGV $$", NULL};
    r = run_argv(segv, NULL);
    expect_killed(&r, SIGSEGV); /* as the program: the shell says "Segmentation fault" */
    cr_expect(strstr(r.err, "was killed by SIGSEGV (status 139)"), "%s", r.err);
    ts_free_result(&r);
    json_t *snap = load_json("snap.json");
    cr_expect_eq(ts_int(json_object_get(snap, "program_exit"), "status"), 128 + SIGSEGV);
    json_decref(snap);
}

/* The descriptors `sh -c` lists without ipcscope and under it (+ one above 900: the run's
 * shared memory, which the program's own children need to be followed). */
static void expect_same_fds(const char *plain, const char *exec)
{
    char want[512];
    snprintf(want, sizeof(want), "%s", plain);
    const char *extra = strstr(exec, " 9");
    while (extra && atoi(extra + 1) < 900)
        extra = strstr(extra + 1, " 9");
    cr_assert(extra, "no descriptor of ipcscope's: %s", exec);
    char got[512];
    snprintf(got, sizeof(got), "%.*s", (int)(extra - exec), exec);
    const char *rest = strchr(extra + 1, ' ');
    strncat(got, rest ? rest : "", sizeof(got) - strlen(got) - 1);
    cr_expect_str_eq(got, want, "plainly: %s; under ipcscope: %s", plain, exec);
}

/* The program's descriptors, listed by the program itself (sh execs ls: the same table, no
 * pipe of the shell's own open meanwhile; `ls /proc/$$/fd | ...` raced with the shell
 * closing its pipe ends) and sorted on one line by the caller's pipeline. */
#define LS_FDS "exec ls /proc/self/fd"
#define ONE_LINE " | sort -n | tr \"\\n\" \" \""

/* Run script, in which a plain `sh -c LS_FDS`, then `echo`, then the same list under
 * ipcscope print the program's descriptors: both from one shell, so they inherit the same
 * (two runs of the test's would not: what the test process holds open changes between them).
 * plain and exec get the two lines. */
static void two_listings(const char *script, char *plain, char *exec, size_t n)
{
    struct ts_result r = run_sh(script);
    expect_exit(&r, 0);
    const char *nl = strchr(r.out, '\n');
    cr_assert(nl, "one listing only: %s (stderr %s)", r.out, r.err);
    snprintf(plain, n, "%.*s", (int)(nl - r.out), r.out);
    snprintf(exec, n, "%s", nl + 1);
    ts_free_result(&r);
}

Test(exec, stdin_and_inherited_descriptors_are_the_programs, .timeout = 60)
{
    /* fd 5 opened by the shell reaches the program, as without ipcscope */
    char script[768], plain[512], exec[512];
    snprintf(script, sizeof(script),
             "exec 5>five.txt; sh -c '" LS_FDS "'" ONE_LINE "; echo; printf 'typed\\n' | %s exec "
             "--headless -- sh -c 'read x; echo \"$x to five\" >&5; " LS_FDS "'" ONE_LINE,
             IPCSCOPE_BIN);
    two_listings(script, plain, exec, sizeof(plain));
    cr_expect(strstr(plain, " 5 "), "%s", plain);
    expect_same_fds(plain, exec);
    char path[256], buf[64] = "";
    snprintf(path, sizeof(path), "%s/five.txt", g_dir);
    FILE *f = fopen(path, "r");
    cr_assert(f);
    cr_expect(fgets(buf, sizeof(buf), f) && !strcmp(buf, "typed to five\n"), "%s", buf);
    fclose(f);
}

Test(exec, the_snapshot_goes_where_json_says, .timeout = 60)
{
    /* --json -: on stdout, after everything the program printed */
    char *const dash[] = {IPCSCOPE_BIN, "exec", "--headless", "--json", "-",
                          "--",         "echo", "hello",      NULL};
    struct ts_result r = run_argv(dash, NULL);
    expect_exit(&r, 0);
    cr_expect(!strncmp(r.out, "hello\n{", 7), "%.40s", r.out);
    json_t *snap = json_loads(r.out + 6, 0, NULL);
    cr_expect(snap, "the rest of stdout is the snapshot");
    json_decref(snap);
    ts_free_result(&r);

    /* --json-fd N: a descriptor the caller opened; the program does not get it */
    char script[768], plain[512], exec[512];
    snprintf(script, sizeof(script),
             "sh -c '" LS_FDS "'" ONE_LINE
             "; echo; %s exec --headless --json-fd 7 -- sh -c '" LS_FDS "' 7>fd7.json" ONE_LINE,
             IPCSCOPE_BIN);
    two_listings(script, plain, exec, sizeof(plain));
    cr_expect(!strstr(exec, " 7 "), "%s", exec);
    expect_same_fds(plain, exec);
    snap = load_json("fd7.json");
    cr_expect_str_eq(ts_str(snap, "scenario"), "exec");
    json_decref(snap);
}

Test(exec, nothing_is_left_in_tmp_or_the_cgroups, .timeout = 60)
{
    size_t before = count_glob("/tmp/ipcscope-exec-*.out");
    cr_assert_eq(compile("counter", NULL), 0);
    json_t *snap = exec_run("counter", NULL, NULL, 0);
    cr_expect_eq(count_glob("/tmp/ipcscope-exec-*.out"), before, "an output file was left");
    json_t *cl = json_object_get(snap, "cleanup");
    const char *method = ts_str(cl, "method");
    cr_expect(!strcmp(method, "cgroup") || !strcmp(method, "process group"), "%s", method);
    if (!strcmp(method, "cgroup")) {
        struct stat st;
        cr_expect(stat(ts_str(cl, "cgroup"), &st) < 0, "the cgroup %s is still there",
                  ts_str(cl, "cgroup"));
        /* the run's own cgroup (ipcscope-PID-N-NS): the run's kill and its guard reach the
         * program's processes, with no watcher of its own */
        char run_cg[64];
        snprintf(run_cg, sizeof(run_cg), "/ipcscope-%lld-",
                 ts_int(ts_find_named(json_object_get(snap, "tasks"), "ipcscope"), "pid"));
        cr_expect(strstr(ts_str(cl, "cgroup"), run_cg), "%s is not %s...", ts_str(cl, "cgroup"),
                  run_cg);
    } else {
        cr_expect(strlen(ts_str(cl, "why")) > 0, "the fallback says why");
    }
    expect_nothing_left(snap);
    json_decref(snap);
}

/* The trace's end line says how its events were stamped, as a scenario's does: the kernel's
 * clocksource, and, with the TSC, the largest error a refinement of its rate found. The rate's
 * first estimate is taken over 0.2 ms; refined on every drain, it keeps events within a
 * microsecond of CLOCK_MONOTONIC. */
Test(exec, the_trace_ends_saying_how_its_events_were_stamped, .timeout = 60)
{
    cr_assert_eq(compile("counter", NULL), 0);
    json_t *snap = exec_run("counter", "--no-bpf", NULL, 0);
    json_decref(snap);
    char path[256];
    snprintf(path, sizeof(path), "%s/trace.jsonl", g_dir);
    size_t n;
    json_t **lines = ts_load_jsonl(path, &n);
    cr_assert_gt(n, 2);
    json_t *clock = json_object_get(lines[n - 1], "clock");
    cr_assert(json_is_object(clock), "the end line has no clock");
    char *kernel = ts_slurp("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    kernel[strcspn(kernel, "\n")] = '\0';
    cr_expect_str_eq(ts_str(clock, "kernel"), kernel);
    cr_expect(strlen(ts_str(clock, "stamps")) > 0, "the clock does not say why");
    if (json_is_true(json_object_get(clock, "tsc")))
        cr_expect_leq(llabs(ts_int(clock, "drift_ns")), 1000, "drift %lld ns",
                      ts_int(clock, "drift_ns"));
    free(kernel);
    ts_free_jsonl(lines, n);
}

Test(exec, orphans_are_adopted_as_without_ipcscope, .timeout = 60)
{
    cr_assert_eq(compile("orphan", NULL), 0);
    json_t *snap = exec_run("orphan", NULL, NULL, 0);
    json_t *tasks = json_object_get(snap, "tasks");
    json_t *parent = ts_find_named(tasks, "orphan"), *child = ts_find_named(tasks, "orphan-child1");
    cr_assert(parent && child, "tasks: %s", json_dumps(tasks, 0));
    /* the child reports its parent after the adoption; ipcscope must not be it */
    long long adopter = -1;
    const char *p = strstr(g_out, "adopted by ");
    cr_assert(p, "%s", g_out);
    adopter = atoll(p + strlen("adopted by "));
    json_t *me = ts_find_named(tasks, "ipcscope");
    cr_expect_neq(adopter, ts_int(me, "pid"), "ipcscope adopted the orphan");
    cr_expect_eq(ts_int(child, "ppid"), adopter, "the snapshot's parent is the adopter");
    cr_expect_eq(ts_int(child, "orig_ppid"), ts_int(parent, "pid"));
    cr_expect(!strcmp(ts_str(child, "state"), "reaped") ||
                  !strcmp(ts_str(child, "state"), "zombie"),
              "%s", ts_str(child, "state"));
    cr_expect(printed("child done"), "the run waited for the orphan: %s", g_out);
    expect_nothing_left(snap);
    json_decref(snap);
}

/* The test process is the orphan's adopter (a subreaper outside the run), as a slow init
 * would be: reap_after_ms after the orphan became its zombie it reaps it (< 0: never, the test
 * reaps it after the run). */
static int g_reap_after_ms;
static volatile int g_reaper_stop;
static pid_t g_orphan_pid;

static void *slow_adopter(void *arg)
{
    (void)arg;
    while (!g_reaper_stop) {
        siginfo_t si = {0};
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid > 0) {
            char path[64], comm[32] = "";
            snprintf(path, sizeof(path), "/proc/%d/comm", (int)si.si_pid);
            FILE *f = fopen(path, "r");
            if (f) {
                if (!fgets(comm, sizeof(comm), f))
                    comm[0] = '\0';
                fclose(f);
            }
            if (!strcmp(comm, "orphan\n") && !g_orphan_pid) {
                g_orphan_pid = si.si_pid;
                if (g_reap_after_ms < 0)
                    return NULL;
                usleep((useconds_t)g_reap_after_ms * 1000);
                waitpid(si.si_pid, NULL, 0);
                return NULL;
            }
        }
        usleep(2000);
    }
    return NULL;
}

/* Run the orphan example adopted by this process: the orphan's snapshot state. */
static char *orphan_adopted_by_us(int reap_after_ms)
{
    cr_assert_eq(compile("orphan", NULL), 0);
    cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    g_reap_after_ms = reap_after_ms;
    g_reaper_stop = 0;
    g_orphan_pid = 0;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, slow_adopter, NULL), 0);
    json_t *snap = exec_run("orphan", NULL, NULL, 0);
    g_reaper_stop = 1;
    pthread_join(th, NULL);
    json_t *child = ts_find_named(json_object_get(snap, "tasks"), "orphan-child1");
    cr_assert(child, "%s", json_dumps(snap, 0));
    cr_expect_eq(ts_int(child, "ppid"), getpid(), "adopted by the test (the subreaper)");
    char *state = strdup(ts_str(child, "state"));
    if (!strcmp(state, "reaped"))
        cr_expect(json_array_size(json_object_get(child, "reap_seen_by")) > 0);
    json_decref(snap);
    return state;
}

Test(exec, an_orphan_its_outside_adopter_reaps_late_is_shown_reaped, .timeout = 60)
{
    char *state = orphan_adopted_by_us(400); /* after the program's end, as a slow init */
    cr_expect_str_eq(state, "reaped", "gone from /proc, as ps says");
    free(state);
}

Test(exec, an_orphan_its_outside_adopter_never_reaps_stays_a_zombie, .timeout = 60)
{
    char *state = orphan_adopted_by_us(-1);
    pid_t pid = g_orphan_pid;
    cr_expect(pid > 0, "the orphan became the test's zombie");
    if (pid > 0)
        waitpid(pid, NULL, 0);
    cr_expect_str_eq(state, "zombie", "still in /proc when the run ended");
    free(state);
}

Test(exec, a_duration_stop_is_snapshotted_before_cleanup_kills, .timeout = 60)
{
    json_t *replayed = NULL;
    json_t *snap = exec_cut_and_replay("stuck", NULL, "1.5", &replayed);
    cr_expect(json_is_false(json_object_get(snap, "completed")));
    json_t *tasks = json_object_get(snap, "tasks");
    json_t *waiter = ts_find_named(tasks, "stuck-t1"),
           *child = ts_find_named(tasks, "stuck-child1");
    cr_assert(waiter && child, "%s", json_dumps(tasks, 0));
    cr_expect_str_eq(ts_str(waiter, "state"), "blocked");
    cr_expect_str_eq(ts_str(waiter, "blocked_on"), "sem:never");
    cr_expect_neq(strcmp(ts_str(child, "state"), "reaped"), 0, "killed only after the snapshot");
    json_t *cl = json_object_get(snap, "cleanup");
    cr_expect_geq(ts_int(cl, "killed"), 2, "cleanup killed the program and its child");
    expect_nothing_left(snap);
    json_decref(snap);

    /* the trace stops where the snapshot was taken: a replay agrees with it */
    json_t *w2 = ts_find_named(json_object_get(replayed, "tasks"), "stuck-t1");
    cr_expect_str_eq(ts_str(w2, "state"), "blocked");
    json_decref(replayed);
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
    expect_usage("--json and --json-fd need --headless", "--json", "x.json", "--", "true", NULL);
    expect_usage("'--json' needs a value: FILE", "--headless", "--json", "--", "true", NULL);
    expect_usage("descriptor 987 is not open", "--headless", "--json-fd", "987", "--", "true",
                 NULL);
    expect_usage("expected a descriptor number from 3", "--headless", "--json-fd", "1", "--",
                 "true", NULL);
    expect_usage("'--duration' needs a value", "--duration", NULL);
    expect_usage("'./no-such-program'", "--headless", "--", "./no-such-program", NULL);
    expect_usage("'no-such-program-in-path'", "--headless", "--", "no-such-program-in-path", NULL);
    expect_usage("not an executable", "--headless", "--", plain, NULL);
}

Test(exec, static_program_runs_with_a_warning, .timeout = 60)
{
    if (compile("counter", "-static") != 0)
        TS_SKIP_AFTER(teardown_dir, "cc -static does not work here (no static libc)");
    char *const argv[] = {IPCSCOPE_BIN, "exec", "--headless", "--json",
                          "snap.json",  "--",   "./counter",  NULL};
    struct ts_result r = run_argv(argv, NULL);
    expect_exit(&r, 0);
    cr_expect(strstr(r.err, "statically linked; only /proc (and bpf) can observe it"), "%s", r.err);
    cr_expect(strstr(r.out, "counter = 4000"), "%s", r.out);
    ts_free_result(&r);
    json_t *snap = load_json("snap.json");
    cr_expect(json_is_false(json_object_get(json_object_get(snap, "program"), "instrumented")));
    cr_expect_eq(ts_int(json_object_get(snap, "program_exit"), "status"), 0);
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        if (strcmp(ts_str(t, "name"), "ipcscope"))
            cr_expect_str_eq(ts_str(t, "state"), "reaped", "%s (pid %lld tid %lld) is %s",
                             ts_str(t, "name"), ts_int(t, "pid"), ts_int(t, "tid"),
                             ts_str(t, "state"));
    }
    expect_nothing_left(snap);
    json_decref(snap);
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

Test(exec, a_deadlock_is_reported_with_its_cycle, .timeout = 60)
{
    cr_assert_eq(compile("deadlock", NULL), 0);
    char *const argv[] = {IPCSCOPE_BIN, "exec", "--headless", "--json",     "snap.json",
                          "--duration", "2",    "--",         "./deadlock", NULL};
    struct ts_result r = run_argv(argv, NULL);
    expect_exit(&r, 124);
    cr_expect(strstr(r.err, "DEADLOCK: deadlock-t"), "said on stderr: %s", r.err);
    ts_free_result(&r);
    json_t *snap = load_json("snap.json");
    json_t *stalls = json_object_get(snap, "stalls");
    cr_assert_geq(json_array_size(stalls), 1, "no stall recorded");
    json_t *d = json_array_get(stalls, 0);
    cr_expect_str_eq(ts_str(d, "kind"), "deadlock");
    const char *cycle = ts_str(d, "cycle");
    cr_expect(strstr(cycle, "fork_a") && strstr(cycle, "fork_b") && strstr(cycle, "deadlock-t1") &&
                  strstr(cycle, "deadlock-t2"),
              "cycle: %s", cycle);
    /* the snapshot was taken before cleanup: both still wait on each other's lock */
    json_t *tasks = json_object_get(snap, "tasks");
    cr_expect_str_eq(ts_str(ts_find_named(tasks, "deadlock-t1"), "blocked_on"), "mutex:fork_b");
    cr_expect_str_eq(ts_str(ts_find_named(tasks, "deadlock-t2"), "blocked_on"), "mutex:fork_a");
    expect_nothing_left(snap);
    json_decref(snap);
}

Test(exec, a_stall_is_reported_when_every_task_waits, .timeout = 60)
{
    cr_assert_eq(compile("stuck", NULL), 0);
    char *const argv[] = {IPCSCOPE_BIN, "exec", "--headless", "--json",  "snap.json",
                          "--duration", "2.5",  "--",         "./stuck", NULL};
    struct ts_result r = run_argv(argv, NULL);
    expect_exit(&r, 124);
    cr_expect(strstr(r.err, "STALL"), "said on stderr: %s", r.err);
    ts_free_result(&r);
    json_t *snap = load_json("snap.json");
    json_t *s = json_array_get(json_object_get(snap, "stalls"), 0);
    cr_assert(s, "no stall recorded");
    cr_expect_str_eq(ts_str(s, "kind"), "stall");
    json_t *blocked = json_object_get(s, "blocked");
    size_t i;
    json_t *b;
    int on_sem = 0;
    json_array_foreach(blocked, i, b)
    {
        on_sem |= !strcmp(ts_str(b, "on"), "sem:never");
    }
    cr_expect(on_sem, "the waiter on sem:never: %s", json_dumps(blocked, 0));
    json_decref(snap);
}

/* More tasks at once than there are slots: never silent - the snapshot, stderr and the
 * exit status say what could not be followed. */
Test(exec, a_limit_reached_is_said_everywhere, .timeout = 90)
{
    cr_assert_eq(compile("crowd", NULL), 0);
    json_t *snap = exec_run("crowd", NULL, NULL, 1);
    cr_expect(printed("300 threads took the lock"), "%s", g_out);
    json_t *ev = json_object_get(snap, "events");
    json_t *why = json_object_get(ev, "dropped_reasons");
    cr_assert(why, "no dropped_reasons: %s", json_dumps(ev, 0));
    /* 255 slots: the main thread and 254 others; all 300 are alive at the barrier */
    cr_expect_eq(ts_int(why, "tasks_without_slot"), 300 - 254);
    cr_expect_geq(ts_int(ev, "dropped"), 300 - 254);
    cr_expect(strstr(ts_str(ev, "dropped_why"), "more tasks at once than the slots"));
    cr_expect(strstr(g_err, "DROPPED") && strstr(g_err, "events were lost"), "%s", g_err);
    cr_expect_eq(ts_int(json_object_get(snap, "program_exit"), "status"), 0);
    json_decref(snap);
}

/* In the TUI a program with no socket opens on the timeline (who ran, who waited), not on
 * an empty TCP panel: exec is no TCP lesson. */
Test(exec, the_tui_opens_on_the_timeline_for_a_program_without_sockets, .timeout = 60)
{
    cr_assert_eq(compile("counter", NULL), 0, "cc counter failed");
    struct ts_tui t;
    char args[256];
    snprintf(args, sizeof(args), "exec -- %s/counter", g_dir);
    ts_tui_start(&t, args, 100, 30);
    int ended = ts_tui_wait_for(&t, "counter-t2", 20000); /* paced: it runs for minutes */
    const char *s = ts_tui_capture(&t);
    int timeline = strstr(s, "Timeline") != NULL, tcp = strstr(s, "TCP states") != NULL;
    char screen[sizeof(t.screen)];
    snprintf(screen, sizeof(screen), "%s", s);
    ts_tui_keys(&t, "q");
    int rc = ts_tui_wait_exit(&t, 10000);
    ts_tui_stop(&t);
    cr_assert(ended, "the threads never showed:\n%s", screen);
    cr_assert(timeline && !tcp, "not on the timeline:\n%s", screen);
    cr_assert_eq(rc, 124, "q cut the program short: 124, as --duration");
    cr_assert_eq(ts_sh("pgrep -f '^%s/counter' >/dev/null", g_dir), 1, "counter outlived q");
}

/* The SIGHUP the kernel raises when the pty's session leader (ipcscope-pty) ends is explained
 * with the terminal hanging up, not only as "a timer, a fault, or a child's end". */
Test(exec, the_sighup_at_the_end_names_the_terminal_hanging_up, .timeout = 60)
{
    struct ts_tui t;
    ts_tui_start(&t, "exec --delay 0 -- /bin/sleep 1", 100,
                 30); /* free: long enough for the probes */
    int ended = ts_tui_wait_for(&t, "Checks:", 20000);
    char screen[sizeof(t.screen)];
    ts_tui_finish(&t, screen, sizeof(screen), "q");
    cr_assert(ended, "the run did not finish:\n%s", screen);
    if (!strstr(screen, "raised SIGHUP"))
        TS_SKIP_AFTER(teardown_dir, "no kernel SIGHUP on screen (needs the probes)");
    cr_assert(strstr(screen, "terminal"), "the SIGHUP is not explained by the terminal:\n%s",
              screen);
}
