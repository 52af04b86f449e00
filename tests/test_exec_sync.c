/*
 * test_exec_sync.c - `ipcscope exec` on the examples' threads, processes and their
 * synchronisation: semaphores (unnamed and named), mutexes, condition variables, pipes,
 * fork/wait, system/popen and signal handlers.
 *
 * Each example is compiled and run through the real binary headless; its semaphores'
 * recorded values recompute exactly from the trace in seq order, mutex holders and pipe bytes
 * add up, children are reaped by their parent, and nothing is left behind.
 */
#include "exec_common.h"

#include <signal.h>
#include <sys/prctl.h>

TestSuite(exec_sync, .init = setup_dir, .fini = teardown_dir);

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

Test(exec_sync, prodcons_shows_threads_semaphores_and_mutex_holder, .timeout = 60)
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
    cr_expect(printed("all 24 items produced and consumed"));
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec_sync, fork_pipe_shows_two_processes_the_reap_and_pipe_bytes, .timeout = 60)
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
    long long written = 0, read = 0, code = -1, reaped_by = 0;
    json_array_foreach(evs, i, e)
    {
        const char *ev = ts_str(e, "ev");
        if (strcmp(ev, "pipe_write") == 0)
            written += ts_int(e, "item");
        else if (strcmp(ev, "pipe_read") == 0)
            read += ts_int(e, "item");
    }
    reaped_as(snap, evs, "fork_pipe-child1", &code, &reaped_by);
    /* five lines "message N from child PID\n": 22 bytes plus the digits of the pid */
    long long line = 22 + snprintf(NULL, 0, "%lld", ts_int(child, "pid"));
    cr_expect_eq(written, 5 * line, "bytes written through the pipe");
    cr_expect_eq(read, written, "everything written was read");
    cr_expect_eq(reaped_by, ts_int(parent, "pid"), "the parent reaped the child");
    cr_expect_eq(code, 0, "the child's exit code");
    cr_expect(printed("child exited with 0"));
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* pipe_fill.c: a program that prints the kernel's fill (FIONREAD, which ipcscope does not
 * interpose) after each of its reads and writes of pipe@1: first alone (ipcscope counts the
 * bytes), then with a child that reads the pipe through stdio on its stdin (glibc's own read,
 * which ipcscope cannot count: the fill is the kernel's from its dup2 on). pipe@2 and pipe@3
 * take turns, so every fill printed is the one at the call. */
static const char PIPE_FILL_C[] =
    "#include <stdio.h>\n#include <string.h>\n#include <sys/ioctl.h>\n#include <unistd.h>\n"
    "#include <sys/wait.h>\n"
    "static int p[2], go[2], ok[2];\n"
    "static void fill(void) { int n = -1; ioctl(p[1], FIONREAD, &n); printf(\"fill %d\\n\", n); }\n"
    "int main(void) {\n"
    "  char b[512]; memset(b, 'x', sizeof b); setvbuf(stdout, NULL, _IOLBF, 0);\n"
    "  pipe(p); pipe(go); pipe(ok);\n"
    "  for (int i = 0; i < 3; i++) { write(p[1], b, 100); fill(); }\n"
    "  read(p[0], b, 50); fill(); read(p[0], b, 500); fill();\n"
    "  if (fork() == 0) {\n"
    "    dup2(p[0], 0); close(p[0]); close(p[1]);\n"
    "    read(go[0], b, 1); fread(b, 1, 40, stdin); write(ok[1], \"k\", 1);\n"
    "    read(go[0], b, 1); _exit(0);\n"
    "  }\n"
    "  write(p[1], b, 40); fill(); write(go[1], \"g\", 1); read(ok[0], b, 1);\n"
    "  write(p[1], b, 7); fill(); write(go[1], \"g\", 1); wait(NULL);\n"
    "  return 0;\n"
    "}\n";

/* Each read and write of a pipe records the bytes in it after the call: counted from the
 * bytes the run wrote and read while it sees them all, the kernel's once a stdio stream reads
 * it (without that, the last write would say 47: the 40 the child read unseen, and its 7). */
Test(exec_sync, pipe_fill_after_each_call_is_the_kernels, .timeout = 60)
{
    char path[PATH_MAX], cmd[PATH_MAX * 2 + 64];
    snprintf(path, sizeof(path), "%s/pipe_fill.c", g_dir);
    FILE *f = fopen(path, "w");
    cr_assert(f);
    fputs(PIPE_FILL_C, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "cc -o %s/pipe_fill %s", g_dir, path);
    cr_assert_eq(system(cmd), 0, "cc pipe_fill failed");
    json_t *snap = exec_run("pipe_fill", NULL, NULL, 0);
    json_t *evs = load_trace();
    size_t n, k = 0;
    json_t **ops = object_events(evs, "pipe@1", &n);
    const char *line = g_out;
    for (size_t i = 0; i < n; i++) {
        const char *ev = ts_str(ops[i], "ev");
        if (strcmp(ev, "pipe_read") != 0 && strcmp(ev, "pipe_write") != 0)
            continue;
        long long printed_fill = -2;
        line = line ? strstr(line, "fill ") : NULL;
        if (line)
            printed_fill = strtoll(line += 5, NULL, 10);
        cr_expect_eq(ts_int(ops[i], "val"), printed_fill,
                     "%s #%zu (item %lld): the kernel had %lld", ev, k, ts_int(ops[i], "item"),
                     printed_fill);
        k++;
    }
    free(ops);
    cr_expect_eq(k, 7, "seven reads and writes of pipe@1 by the program: %s", g_out);
    cr_expect_eq(ts_int(ts_find_named(json_object_get(snap, "objects"), "pipe@1"), "bytes"), 7);
    json_decref(evs);
    json_decref(snap);
}

Test(exec_sync, counter_threads_take_turns_at_the_mutex, .timeout = 60)
{
    json_t *snap = exec_example("counter");
    cr_expect_eq(count_tasks(snap, "thread", "counter-t"), 2);
    json_t *lock = ts_find_named(json_object_get(snap, "objects"), "lock");
    cr_assert(lock);
    json_t *evs = load_trace();
    cr_expect_eq(check_mutex(evs, "lock"), 4000);
    cr_expect(printed("counter = 4000 (expected 4000)"));
    cr_expect_eq(ts_int(json_object_get(snap, "program_exit"), "status"), 0);
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* Stepped in the TUI, a thread waiting for the teacher's Space is at the gate ("‖ GATE →
 * lock(lock)"), as in the scenarios; not "BLOCK futex_do_wait", which is the gate's own futex
 * seen from /proc. */
Test(exec_sync, stepped_threads_wait_at_the_gate_not_blocked_in_a_futex, .timeout = 60)
{
    cr_assert_eq(compile("counter", NULL), 0, "cc counter failed");
    struct ts_tui t;
    char args[256];
    snprintf(args, sizeof(args), "exec -- %s/counter", g_dir);
    ts_tui_start(&t, args, 100, 30);
    int shown = ts_tui_wait_for(&t, "counter-t2", 20000);
    ts_tui_keys(&t, "Space"); /* into step mode */
    int gate = shown && ts_tui_wait_for(&t, "GATE    → ", 10000);
    char screen[sizeof(t.screen)];
    snprintf(screen, sizeof(screen), "%s", t.screen);
    ts_tui_keys(&t, "q");
    int rc = ts_tui_wait_exit(&t, 10000);
    ts_tui_stop(&t);
    cr_assert(shown, "the threads never showed:\n%s", screen);
    cr_assert(gate, "no task drawn at the gate in step mode:\n%s", screen);
    cr_assert_eq(rc, 124, "q cut the program short: 124, as --duration");
}

/* Call fn(stat path, status path, arg) for every thread of every process running exe. */
static void for_each_thread_of(const char *exe,
                               void (*fn)(const char *stat, const char *status, void *arg),
                               void *arg)
{
    DIR *proc = opendir("/proc");
    struct dirent *p;
    while (proc && (p = readdir(proc))) {
        char path[300], target[PATH_MAX];
        snprintf(path, sizeof(path), "/proc/%s/exe", p->d_name);
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n <= 0 || (target[n] = '\0', strcmp(target, exe) != 0))
            continue;
        snprintf(path, sizeof(path), "/proc/%s/task", p->d_name);
        DIR *tasks = opendir(path);
        struct dirent *t;
        while (tasks && (t = readdir(tasks))) {
            if (t->d_name[0] == '.')
                continue;
            char stat[600], status[600];
            snprintf(stat, sizeof(stat), "/proc/%s/task/%s/stat", p->d_name, t->d_name);
            snprintf(status, sizeof(status), "/proc/%s/task/%s/status", p->d_name, t->d_name);
            fn(stat, status, arg);
        }
        if (tasks)
            closedir(tasks);
    }
    if (proc)
        closedir(proc);
}

static void add_switches(const char *stat, const char *status, void *arg)
{
    (void)stat;
    char line[128];
    long long v;
    FILE *f = fopen(status, "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "voluntary_ctxt_switches: %lld", &v) == 1)
            *(long long *)arg += v;
    if (f)
        fclose(f);
}

/* Voluntary context switches of every thread of every process running exe, added up. */
static long long switches_of_exe(const char *exe)
{
    long long sum = 0;
    for_each_thread_of(exe, add_switches, &sum);
    return sum;
}

static void count_asleep(const char *stat, const char *status, void *arg)
{
    (void)status;
    int *c = arg; /* seen, awake */
    struct ts_stat st;
    if (ts_stat_path(stat, &st) == 0) {
        c[0]++;
        c[1] += st.state != 'S';
    }
}

/* Every thread of every process running exe is asleep (S); 0 also when there is none. */
static int all_asleep(const char *exe)
{
    int c[2] = {0, 0};
    for_each_thread_of(exe, count_asleep, c);
    return c[0] > 0 && !c[1];
}

/* Compile examples/name.c and start `exec [opts] -- DIR/name` in the TUI (100x30); its path
 * in exe (n bytes). */
static void start_stepped(struct ts_tui *t, const char *name, const char *opts, char *exe, size_t n)
{
    cr_assert_eq(compile(name, NULL), 0, "cc %s failed", name);
    char args[512];
    snprintf(exe, n, "%s/%s", g_dir, name);
    snprintf(args, sizeof(args), "exec %s -- %s", opts, exe);
    ts_tui_start(t, args, 100, 30);
}

/* How many times the program's threads went to sleep in ms of pause, counted from once all
 * of them are asleep (on a loaded machine one may still be on its way: at most 2 s). */
static long long switches_in_pause(const char *exe, long ms)
{
    for (int i = 0; i < 200 && !all_asleep(exe); i++)
        usleep(10 * 1000);
    long long before = switches_of_exe(exe);
    usleep((useconds_t)ms * 1000);
    return switches_of_exe(exe) - before;
}

/* A program stepped in the TUI sleeps at the gate until the next Space: its threads woke once
 * a second to look again (the gate's safety net), each wake a moment of R in ps while the
 * screen said GATE. */
Test(exec_sync, stepped_threads_sleep_at_the_gate_through_a_pause, .timeout = 60)
{
    struct ts_tui t;
    char exe[300];
    start_stepped(&t, "counter", "", exe, sizeof(exe));
    int shown = ts_tui_wait_for(&t, "counter-t2", 20000);
    ts_tui_keys(&t, "Space"); /* into step mode */
    int gate = shown && ts_tui_wait_for(&t, "GATE    → ", 10000);
    long long woke = switches_in_pause(exe, 3500);
    char screen[sizeof(t.screen)];
    ts_tui_finish(&t, screen, sizeof(screen), "q");
    cr_assert(gate, "no task drawn at the gate in step mode:\n%s", screen);
    cr_expect_eq(woke, 0, "the program's threads woke %lld times in a 3.5 s pause", woke);
}

/* A stepped program in a timed wait (sem_timedwait) cannot be woken by the gate's grant (it
 * sleeps on its own semaphore), so it looks for the grant: often at first, for a quick Space,
 * then a few times a second. It looked 50 times a second through a teacher's pause. */
Test(exec_sync, a_stepped_timed_wait_looks_for_its_step_a_few_times_a_second, .timeout = 60)
{
    struct ts_tui t;
    char exe[300];
    start_stepped(&t, "timed_wait", "--step", exe, sizeof(exe));
    int gate = ts_tui_wait_for(&t, "→ sem_wait(ticket)", 20000);
    ts_tui_keys(&t, "Space"); /* sem_timedwait(ticket): it blocks, its timeout a step to come */
    int blocked = gate && ts_tui_wait_for(&t, "sem:ticket", 10000);
    long long woke = switches_in_pause(exe, 3000);
    ts_tui_keys(&t, "Space"); /* the 2 s pass: it gives up */
    int gave_up = ts_tui_wait_for(&t, "Connection timed out", 10000);
    int ended = gave_up && ts_tui_wait_for(&t, "Checks:", 10000); /* reaped: q keeps its 0 */
    char screen[sizeof(t.screen)];
    int rc = ts_tui_finish(&t, screen, sizeof(screen), "q");
    cr_assert(blocked, "the program never blocked on its semaphore:\n%s", screen);
    cr_expect_leq(woke, 40, "the timed wait woke %lld times in a 3 s pause", woke);
    cr_expect(gave_up, "the step did not let the timeout pass:\n%s", screen);
    cr_expect(ended, "the run did not end after the program:\n%s", screen);
    cr_expect_eq(rc, 0, "exit %d", rc);
}

/* A stepped program's sleep at the gate says how long it sleeps ("→ sleep(1 ms)"): the gate's
 * record carried no value, and the row said "→ sleep()". */
Test(exec_sync, a_stepped_sleep_at_the_gate_says_how_long, .timeout = 60)
{
    struct ts_tui t;
    char exe[300];
    start_stepped(&t, "prodcons", "--step", exe, sizeof(exe));
    ts_tui_wait_for(&t, "Next: Space", 20000);
    int seen = 0;
    for (int n = 0; n < 30 && !seen; n++) {
        ts_tui_step(&t, 5000);
        seen = strstr(t.screen, "→ sleep(") != NULL;
    }
    char screen[sizeof(t.screen)];
    ts_tui_finish(&t, screen, sizeof(screen), "q");
    cr_assert(seen, "no sleep was ever at the gate:\n%s", screen);
    cr_expect(!strstr(screen, "→ sleep()") &&
                  (strstr(screen, "→ sleep(1 ms)") || strstr(screen, "→ sleep(3 ms)")),
              "a sleep at the gate does not say how long:\n%s", screen);
}

/* How many of objs are of kind; *last: the last of them (left alone when none is). */
static size_t objects_of_kind(json_t *objs, const char *kind, json_t **last)
{
    size_t i, n = 0;
    json_t *o;
    json_array_foreach(objs, i, o)
    {
        if (strcmp(ts_str(o, "kind"), kind) == 0) {
            n++;
            *last = o;
        }
    }
    return n;
}

Test(exec_sync, named_semaphore_is_one_object_in_both_processes, .timeout = 60)
{
    json_t *snap = exec_example("named_sem");
    cr_expect_eq(count_tasks(snap, "process", "named_sem"), 2);
    json_t *objs = json_object_get(snap, "objects");
    json_t *printer = NULL;
    size_t sems = objects_of_kind(objs, "semaphore", &printer);
    cr_assert_eq(sems, 1, "one named semaphore, not one per process: %s", json_dumps(objs, 0));
    cr_expect(strncmp(ts_str(printer, "name"), "printer-", 8) == 0, "named by sem_open's name");
    cr_expect_eq(ts_int(printer, "min"), 0);
    cr_expect_eq(ts_int(printer, "value"), 1);
    json_t *evs = load_trace();
    cr_expect_eq(recompute_semaphore(evs, ts_str(printer, "name")), 1);
    cr_expect(json_is_true(json_object_get(printer, "unlinked")), "sem_unlink recorded");
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

Test(exec_sync, named_semaphore_opened_before_fork_is_one_object, .timeout = 60)
{
    json_t *snap = exec_example("sem_fork");
    cr_expect(printed("final value 0"), "the program's own count: %s", g_out);
    cr_expect_eq(count_tasks(snap, "process", "sem_fork"), 2);
    json_t *objs = json_object_get(snap, "objects");
    json_t *tokens = NULL;
    size_t sems = objects_of_kind(objs, "semaphore", &tokens);
    cr_assert_eq(sems, 1, "one named semaphore for parent and child: %s", json_dumps(objs, 0));
    cr_expect(strstr(ts_str(tokens, "name"), "-tokens"), "named by sem_open's name: %s",
              ts_str(tokens, "name"));
    cr_expect_eq(ts_int(tokens, "value"), 0);
    cr_expect_eq(ts_int(tokens, "min"), 0);
    cr_expect(json_is_true(json_object_get(tokens, "unlinked")), "sem_unlink recorded");
    json_t *evs = load_trace();
    const char *name = ts_str(tokens, "name");
    cr_expect_eq(recompute_semaphore(evs, name), 0);
    size_t n, child_posts = 0, parent_takes = 0;
    json_t **ops = object_events(evs, name, &n);
    for (size_t k = 0; k < n; k++) {
        const char *ev = ts_str(ops[k], "ev"), *task = ts_str(ops[k], "task");
        child_posts += strcmp(ev, "sem_post") == 0 && strcmp(task, "sem_fork-child1") == 0;
        parent_takes += strcmp(ev, "sem_acquired") == 0 && strcmp(task, "sem_fork") == 0;
    }
    free(ops);
    cr_expect_eq(child_posts, 5, "the child's posts are on the same object");
    cr_expect_eq(parent_takes, 5, "the parent's takes");
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec_sync, timed_waits_give_up_and_every_wait_call_reaps, .timeout = 60)
{
    json_t *snap = exec_example("timeouts");
    cr_expect(printed("timedlock 50 ms: timed out"));
    cr_expect(printed("clockwait 2 s: got one"));
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
        reaped_as(snap, evs, names[k], &code, &by);
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
Test(exec_sync, system_and_popen_shells_end_reaped_without_the_probes, .timeout = 60)
{
    json_t *snap = exec_example_with("shell", "--no-bpf");
    cr_expect(printed("system: the shell exited with 3"));
    cr_expect(printed("popen read: a line from the shell"));
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
Test(exec_sync, signal_handlers_show_each_run_and_stay_the_programs, .timeout = 60)
{
    json_t *snap = exec_example("handlers");
    cr_expect(printed("sigaction hands back our handler: yes"));
    cr_expect(printed("signal hands back the first handler: yes"));
    cr_expect(printed("SIGUSR1 caught 3 times"));
    cr_expect(printed("reaped 2 children in the handler"));
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
        reaped_as(snap, evs, name, &code, &by);
        cr_expect_eq(code, k);
        cr_expect_eq(by, ts_int(main_task, "pid"));
    }
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* rwlock: readers are counted in and out, the writer is alone, and the counts match what
 * the program counted itself. */
/* After pthread_cond_broadcast, with main still holding the mutex, each woken waiter sleeps
 * in the kernel on the mutex's futex word; the conductor reads that from /proc and records
 * cond_relock (cond = the condition, item = the mutex) before the waiter's own cond_wake. */
Test(exec_sync, woken_waiters_are_shown_waiting_for_the_lock_held_by_the_broadcaster, .timeout = 60)
{
    json_t *snap = exec_example("notify_all");
    cr_expect(printed("woken: 2; ran while main held the lock: 0; ran after: 2"), "%s", g_out);
    json_t *evs = load_trace();
    size_t i, n = json_array_size(evs);
    json_t *e;
    int relocked = 0, waiters_seen = 0;
    json_array_foreach(evs, i, e)
    {
        if (!ts_is_ev(e, "cond_relock"))
            continue;
        relocked++;
        cr_expect_str_eq(ts_str(e, "src"), "procfs", "cond_relock is a reading");
        cr_expect_str_eq(ts_str(e, "obj"), "ready_cv");
        const char *who = ts_str(e, "task");
        const char *next = NULL;
        for (size_t j = i + 1; j < n && !next; j++) {
            json_t *f = json_array_get(evs, j);
            if (!strcmp(ts_str(f, "task"), who) &&
                (ts_is_ev(f, "cond_wake") || ts_is_ev(f, "cond_wait")))
                next = ts_str(f, "ev");
        }
        cr_expect(next && !strcmp(next, "cond_wake"),
                  "%s was read woken (cond_relock) but its next call was %s", who,
                  next ? next : "none");
        waiters_seen += strncmp(who, "notify_all-t", 12) == 0;
    }
    /* the broadcaster keeps the lock 500 ms and the conductor looks every 10 ms: both are read */
    cr_expect_eq(relocked, 2, "cond_relock readings: %d, expected one per woken waiter", relocked);
    cr_expect_eq(waiters_seen, 2, "the readings were not the two waiter threads'");
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec_sync, rwlock_readers_and_writer, .timeout = 60)
{
    json_t *snap = exec_example("rwlock");
    json_t *l = find_object(snap, "rwlock", "table_lock");
    cr_expect_eq(ts_int(l, "readers"), 0);
    cr_expect(json_is_null(json_object_get(l, "writer")));
    int most = 0;
    const char *p = strstr(g_out, "most readers at once ");
    cr_assert(p, "%s", g_out);
    most = atoi(p + strlen("most readers at once "));
    json_t *evs = load_trace();
    size_t n;
    json_t **ops = object_events(evs, "table_lock", &n);
    long long readers = 0, writer = 0, reads = 0, writes = 0, max_readers = 0;
    for (size_t i = 0; i < n; i++) {
        const char *ev = ts_str(ops[i], "ev");
        int w = ts_int(ops[i], "item") == 1;
        if (!strcmp(ev, "rwlock_acquired")) {
            cr_expect(w ? readers == 0 && !writer : !writer, "seq %lld: a writer is alone",
                      ts_int(ops[i], "seq"));
            if (w) {
                writer = 1;
                writes++;
            } else {
                readers++;
                reads++;
            }
        } else if (!strcmp(ev, "rwlock_release")) {
            if (w)
                writer = 0;
            else
                readers--;
        }
        if (!strcmp(ev, "rwlock_acquired") || !strcmp(ev, "rwlock_release"))
            cr_expect_eq(ts_int(ops[i], "val"), readers, "seq %lld", ts_int(ops[i], "seq"));
        if (readers > max_readers)
            max_readers = readers;
    }
    free(ops);
    cr_expect_eq(reads, 60);
    cr_expect_eq(writes, 20);
    cr_expect_eq(readers, 0);
    cr_expect_geq(max_readers, most, "the program saw %d readers at once", most);
    cr_expect_eq(ts_int(l, "max"), max_readers);
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec_sync, barrier_arrivals_and_rounds, .timeout = 60)
{
    json_t *snap = exec_example("barrier");
    json_t *b = find_object(snap, "barrier", "round_end");
    cr_expect_eq(ts_int(b, "needed"), 3);
    cr_expect_eq(ts_int(b, "arrived"), 0);
    cr_expect_eq(ts_int(b, "max"), 3, "all three arrived each round");
    json_t *evs = load_trace();
    cr_expect_eq(count_events(evs, "barrier_wait", "round_end"), 12, "3 workers x 4 rounds");
    cr_expect_eq(count_events(evs, "barrier_pass", "round_end"), 12);
    cr_expect_eq(sum_events(evs, "barrier_pass", "round_end", "aux"), 4, "one serial a round");
    size_t n, waited = 0;
    json_t **ops = object_events(evs, "round_end", &n);
    for (size_t i = 0; i < n; i++)
        waited += !strcmp(ts_str(ops[i], "ev"), "barrier_wait") && ts_int(ops[i], "aux") == 1;
    free(ops);
    cr_expect_eq(waited, 8, "two of three wait each round");
    cr_expect(printed("serial thread ran 4 times"));
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec_sync, spin_lock_holder_and_turns, .timeout = 60)
{
    json_t *snap = exec_example("spin");
    json_t *s = find_object(snap, "spinlock", "guard");
    cr_expect(json_is_null(json_object_get(s, "holder")));
    json_t *evs = load_trace();
    cr_expect_eq(check_mutex(evs, "guard"), 2000, "every acquisition, each released");
    cr_expect(printed("counter = 2000"));
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

Test(exec_sync, join_blocks_on_the_thread_it_joins, .timeout = 60)
{
    json_t *snap = exec_example("join");
    json_t *evs = load_trace();
    size_t i;
    json_t *e;
    int waited_slow = 0, waited_fast = 0;
    long long slow_ret = -1, fast_ret = -1;
    json_array_foreach(evs, i, e)
    {
        const char *ev = ts_str(e, "ev"), *obj = ts_str(e, "obj");
        int slow = !strcmp(obj, "join-t1"), fast = !strcmp(obj, "join-t2");
        if (!strcmp(ev, "join") && ts_int(e, "aux") == 1) {
            waited_slow |= slow;
            waited_fast |= fast;
        }
        if (!strcmp(ev, "joined")) {
            if (slow)
                slow_ret = ts_int(e, "val");
            if (fast)
                fast_ret = ts_int(e, "val");
        }
        if (!strcmp(ev, "join"))
            cr_expect_str_eq(ts_str(e, "task"), "join", "main joins");
    }
    cr_expect(waited_slow, "main blocked on thread:join-t1 (the slow one)");
    cr_expect(!waited_fast, "the fast one had finished: no wait");
    cr_expect_eq(slow_ret, 7);
    cr_expect_eq(fast_ret, 5);
    cr_expect(printed("slow returned 7, fast returned 5"));
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* README: a thread pthread_join collected says "ended":"joined" (not "with_process"), in the
 * run's snapshot and in its replay's. */
Test(exec_sync, joined_threads_end_joined_in_the_snapshot, .timeout = 60)
{
    json_t *snap = exec_example("join");
    json_t *again = replay_trace();
    json_t *snaps[] = {snap, again};
    for (int k = 0; k < 2; k++) {
        json_t *tasks = json_object_get(snaps[k], "tasks");
        const char *names[] = {"join-t1", "join-t2"};
        for (int n = 0; n < 2; n++) {
            json_t *t = ts_find_named(tasks, names[n]);
            cr_assert(t, "%s: %s", names[n], json_dumps(tasks, 0));
            cr_expect_str_eq(ts_str(t, "state"), "reaped", "%s %s", k ? "replay" : "run", names[n]);
            cr_expect_str_eq(ts_str(t, "ended"), "joined", "%s %s", k ? "replay" : "run", names[n]);
        }
    }
    json_decref(again);
    json_decref(snap);
}

Test(exec_sync, sigqueue_values_and_exec_renames_the_task, .timeout = 60)
{
    json_t *snap = exec_example("sigqueue");
    json_t *tasks = json_object_get(snap, "tasks");
    json_t *child = ts_find_named(tasks, "echo");
    cr_assert(child, "the child took the name of the program it execs: %s", json_dumps(tasks, 0));
    cr_expect(!ts_find_named(tasks, "sigqueue-child1"));
    json_t *evs = load_trace();
    size_t i;
    json_t *e;
    long long values = 0, sends = 0;
    json_array_foreach(evs, i, e)
    {
        if (!strcmp(ts_str(e, "ev"), "sig_send") && ts_int(e, "val") == SIGUSR1) {
            sends++;
            values += ts_int(e, "item");
        }
    }
    cr_expect_eq(sends, 3);
    cr_expect_eq(values, 600, "each signal's value");
    cr_expect(printed("values add up to 600"));
    long long queued = strace_count("sigqueue", NULL, "rt_sigqueueinfo", "rt_sigqueueinfo(", "= 0");
    cr_expect_eq(sends, queued, "strace saw %lld rt_sigqueueinfo", queued);
    long long execs = strace_count("sigqueue", NULL, "execve", "execve(", "= 0");
    cr_expect_eq(count_events(evs, "proc_exec", NULL) + 1, execs, "the child's exec (strace: %lld)",
                 execs);
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* A thousand mutexes and a hundred threads: every object, every acquisition, nothing
 * dropped - or the snapshot would have to say so. */
Test(exec_sync, a_thousand_mutexes_lose_nothing, .timeout = 120)
{
    json_t *snap = exec_example("many_mutexes");
    json_t *ev = json_object_get(snap, "events");
    size_t i, mutexes = 0;
    long long ops = 0;
    json_t *o;
    json_array_foreach(json_object_get(snap, "objects"), i, o)
    {
        if (!strcmp(ts_str(o, "kind"), "mutex")) {
            mutexes++;
            ops += ts_int(o, "ops");
        }
    }
    cr_expect_eq(mutexes, 1000);
    json_t *evs = load_trace();
    long long acquired =
        count_events(evs, "mutex_acquired", NULL) + sum_events(evs, "mutex_pairs", NULL, "item");
    json_decref(evs);
    if (ts_int(ev, "dropped") == 0) {
        cr_expect_eq(acquired, 200000, "every acquisition is in the trace");
        cr_expect_geq(ops, 1000 + 2 * 200000, "obj_create, acquired and release at least");
    } else {
        cr_expect(json_object_get(ev, "dropped_why"), "drops without a reason");
    }
    cr_expect_eq(count_tasks(snap, "thread", "many_mutexes-t"), 100);
    json_decref(snap);
}

/* The last event on object name of kind ev (NULL: none). */
static json_t *last_event(json_t *evs, const char *ev, const char *name)
{
    json_t *found = NULL, *e;
    size_t i;
    json_array_foreach(evs, i, e)
    {
        if (strcmp(ts_str(e, "ev"), ev) == 0 && strcmp(ts_str(e, "obj"), name) == 0)
            found = e;
    }
    return found;
}

/* The records of a lock-like object: a mutex (acquired, release) or a semaphore used as a
 * lock (a token taken, posted back), and its folded pairs. */
struct lock_records {
    const char *kind, *take, *give, *pairs;
};
static const struct lock_records MUTEX_RECORDS = {"mutex", "mutex_acquired", "mutex_release",
                                                  "mutex_pairs"};
static const struct lock_records SEM_RECORDS = {"semaphore", "sem_acquired", "sem_post",
                                                "sem_pairs"};

/* name's pairs (pairs of them) were folded: at least one fold record, far fewer records than
 * operations, and the snapshot still counts each operation (and the creation). */
static void expect_pairs_folded(json_t *snap, json_t *evs, const struct lock_records *k,
                                const char *name, long long pairs)
{
    long long folds = count_events(evs, k->pairs, name);
    long long records = count_events(evs, k->take, name) + count_events(evs, k->give, name) + folds;
    cr_expect_geq(folds, 1, "%s's pairs were folded", name);
    cr_expect_lt(records, 30000, "%lld records for %lld operations: not folded", records,
                 2 * pairs);
    long long ops = ts_int(find_object(snap, k->kind, name), "ops");
    cr_expect_eq(ops, 1 + 2 * pairs,
                 "the snapshot counts each take and give back (and the "
                 "creation): %lld",
                 ops);
}

/* The last take of name and its give-back are in the trace at least min_ms apart (the
 * program held it for 300 ms, computing, with no followed call). */
static void expect_long_hold(json_t *evs, const struct lock_records *k, const char *name,
                             long long min_ms)
{
    json_t *took = last_event(evs, k->take, name);
    json_t *gave = last_event(evs, k->give, name);
    cr_assert(took && gave, "the long hold of %s is recorded", name);
    long long held_ms = (ts_int(gave, "t") - ts_int(took, "t")) / 1000000;
    cr_expect_geq(held_ms, min_ms, "%s was held %lld ms by the trace; 300 by the program", name,
                  held_ms);
}

/* Folding: pairs nobody else takes part in are counted in mutex_pairs records - every one
 * of them, in a few records, nothing dropped - and a lock held while its thread computes
 * (no followed call) is recorded at the time it was taken and released. */
Test(exec_sync, uncontended_pairs_fold_and_every_one_is_counted, .timeout = 120)
{
    json_t *snap = exec_example("hot_lock");
    cr_expect(printed("pairs: a 300000, b 300000, big 1001"), "the program's own count: %s", g_out);
    json_t *ev = json_object_get(snap, "events");
    cr_expect_eq(ts_int(ev, "dropped"), 0, "nothing dropped: %s", ts_str(ev, "dropped_why"));
    json_t *evs = load_trace();
    cr_expect_eq(check_mutex(evs, "a"), 300000, "every pair of a");
    cr_expect_eq(check_mutex(evs, "b"), 300000, "every pair of b");
    cr_expect_eq(check_mutex(evs, "big"), 1001);
    expect_pairs_folded(snap, evs, &MUTEX_RECORDS, "a", 300000);
    expect_long_hold(evs, &MUTEX_RECORDS, "big", 290);
    json_decref(evs);
    json_decref(snap);
}

/* A spin lock nobody else wants folds as a mutex does: 300,000 pairs in a few records, every
 * one counted, and the lock then kept 300 ms while computing is recorded as a 300 ms hold.
 * Without folding each pair is two records (600,000, and the ring drops most of them). */
Test(exec_sync, uncontended_spin_pairs_fold_and_every_one_is_counted, .timeout = 120)
{
    cr_assert_eq(compile("spin", NULL), 0, "cc spin failed");
    json_t *snap = exec_run("spin", NULL, "alone", 0);
    cr_expect(printed("counter = 300000 alone"), "the program's own count: %s", g_out);
    json_t *ev = json_object_get(snap, "events");
    cr_expect_eq(ts_int(ev, "dropped"), 0, "nothing dropped: %s", ts_str(ev, "dropped_why"));
    json_t *evs = load_trace();
    cr_expect_eq(check_mutex(evs, "guard"), 300001, "every pair, and the long hold");
    static const struct lock_records spin = {"spinlock", "mutex_acquired", "mutex_release",
                                             "mutex_pairs"};
    expect_pairs_folded(snap, evs, &spin, "guard", 300001);
    expect_long_hold(evs, &spin, "guard", 290);
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* hot_lock run with mode: it said says, and every one of its pairs_c pairs on `c` is in the
 * trace (*evs). Returns the snapshot. */
static json_t *hot_lock_c(const char *mode, const char *says, long long pairs_c, json_t **evs)
{
    cr_assert_eq(compile("hot_lock", NULL), 0, "cc hot_lock failed");
    json_t *snap = exec_run("hot_lock", NULL, mode, 0);
    cr_expect(printed(says), "%s", g_out);
    *evs = load_trace();
    cr_expect_eq(check_mutex(*evs, "c"), pairs_c, "every pair of c, those of the last fold too");
    return snap;
}

/* Folds end with their clock tick: pairs a millisecond apart are folded a few at a time (a
 * fold reads the clock ever less often while it still finds its tick, but outlives it by
 * two ticks at the most), never into one record for the whole run. */
Test(exec_sync, a_fold_ends_with_its_clock_tick, .timeout = 60)
{
    json_t *evs;
    json_t *snap = hot_lock_c("paced", "pairs: c 200 paced", 200, &evs);
    size_t i, folds = 0;
    json_t *e;
    long long most = 0;
    json_array_foreach(evs, i, e)
    {
        if (strcmp(ts_str(e, "ev"), "mutex_pairs") != 0 || strcmp(ts_str(e, "obj"), "c") != 0)
            continue;
        folds++;
        most = ts_int(e, "item") > most ? ts_int(e, "item") : most;
    }
    /* a tick is 4 ms at HZ=250, 10 ms at HZ=100: two of them hold 20 pairs at the most */
    cr_expect_leq(most, 24, "a fold kept %lld pairs made 1 ms apart: it outlived its tick", most);
    cr_expect_geq(folds, 200 / 24, "only %zu folds for 200 ms of pairs", folds);
    json_decref(evs);
    json_decref(snap);
}

/* A fork child's copy of a mutex its parent was folding pairs on (the same address, the
 * thread's cached object) is an object of its own: each of the two objects named c has the
 * pairs of one process only, every one counted. Without the fork child forgetting its
 * parent's thread's caches, the child's pairs go to the parent's object. */
Test(exec_sync, a_fork_childs_copy_of_a_folded_mutex_is_its_own_object, .timeout = 60)
{
    cr_assert_eq(compile("hot_lock", NULL), 0, "cc hot_lock failed");
    json_t *snap = exec_run("hot_lock", NULL, "fork", 0);
    cr_expect(printed("pairs: c 600000 in main, 300000 in its child"), "%s", g_out);
    json_t *evs = load_trace();
    long long pid_of[2] = {0, 0}, pairs_of[2] = {0, 0}, id_of[2] = {-1, -1};
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
    {
        const char *ev = ts_str(e, "ev");
        if (strcmp(ts_str(e, "obj"), "c") != 0 || strcmp(ts_str(e, "src"), "instr") != 0)
            continue;
        long long id = ts_int(e, "obj_id");
        int k = id_of[0] == id ? 0 : id_of[1] == id ? 1 : id_of[0] < 0 ? 0 : 1;
        cr_assert(id_of[k] < 0 || id_of[k] == id, "a third object named c (id %lld)", id);
        if (id_of[k] < 0) {
            id_of[k] = id;
            pid_of[k] = ts_int(e, "pid");
        }
        cr_expect_eq(ts_int(e, "pid"), pid_of[k], "c #%lld: %s by pid %lld, made by pid %lld", id,
                     ev, ts_int(e, "pid"), pid_of[k]);
        if (strcmp(ev, "mutex_acquired") == 0)
            pairs_of[k]++;
        else if (strcmp(ev, "mutex_pairs") == 0)
            pairs_of[k] += ts_int(e, "item");
    }
    cr_assert(id_of[1] >= 0, "two objects named c, one a process");
    cr_expect_neq(pid_of[0], pid_of[1]);
    cr_expect_eq(pairs_of[0], 600000, "every pair of main's c");
    cr_expect_eq(pairs_of[1], 300000, "every pair of the child's c");
    json_decref(evs);
    json_decref(snap);
}

/* A lock taken inside a fold and held while its thread computes forever: shown held (read
 * from the thread's slot: mutex_seen_held) in the final snapshot, and a replay of the trace
 * agrees. Without the conductor's look the mutex would show free. */
Test(exec_sync, a_lock_held_inside_a_fold_shows_held_and_replays_so, .timeout = 60)
{
    json_t *again = NULL;
    json_t *snap = exec_cut_and_replay("hot_lock", "hold", "1.5", &again);
    json_t *big = find_object(snap, "mutex", "big");
    cr_expect_str_eq(ts_str(big, "holder"), "hot_lock", "big is held by main, computing");
    json_t *evs = load_trace();
    long long recorded =
        count_events(evs, "mutex_acquired", "big") + sum_events(evs, "mutex_pairs", "big", "item");
    cr_expect_leq(recorded, 1000, "the held lock is not recorded by its thread (%lld)", recorded);
    size_t i;
    json_t *e, *seen = NULL;
    json_array_foreach(evs, i, e)
    {
        if (strcmp(ts_str(e, "ev"), "mutex_seen_held") == 0)
            seen = e;
    }
    cr_assert(seen, "the hold was read in the slot and recorded as such");
    cr_expect_str_eq(ts_str(seen, "task"), "hot_lock");
    cr_expect_str_eq(ts_str(seen, "src"), "procfs", "the conductor's reading, not the thread's");
    json_decref(evs);

    json_t *rbig = find_object(again, "mutex", "big");
    cr_expect_str_eq(ts_str(rbig, "holder"), "hot_lock", "the replay shows the same holder");
    cr_expect_eq(ts_int(rbig, "ops"), ts_int(big, "ops"));
    json_decref(again);
    json_decref(snap);
}

/* A thread still counting pairs when its process exits (it computes, making no followed
 * call, so it never records them itself): the conductor records them from its slot when the
 * process is reaped. Every pair is in the trace and the snapshot. */
Test(exec_sync, a_thread_ended_inside_a_fold_has_its_pairs_recorded_at_its_reap, .timeout = 60)
{
    json_t *evs;
    json_t *snap = hot_lock_c("exit", "pairs: c 300000, then main exits", 300000, &evs);
    long long ops = ts_int(find_object(snap, "mutex", "c"), "ops");
    cr_expect_eq(ops, 1 + 2 * 300000, "the snapshot counts every operation: %lld", ops);
    json_decref(evs);
    json_decref(snap);
}

/* Tokens taken from o: sem_acquired records and folded pairs. */
static long long sem_takes(json_t *evs, const char *name)
{
    return count_events(evs, "sem_acquired", name) + sum_events(evs, "sem_pairs", name, "item");
}

/* Semaphores used as locks: take/post pairs nobody waits for are folded, and every value in
 * the trace still follows from the one before in seq order - also on a semaphore two threads
 * share, where one records the other's fold before its own operation. */
Test(exec_sync, semaphore_pairs_fold_and_every_value_follows, .timeout = 120)
{
    json_t *snap = exec_example("hot_sem");
    cr_expect(printed("pairs: sa 300000, sb 300000, shared 100000, big 1001"), "%s", g_out);
    json_t *ev = json_object_get(snap, "events");
    cr_expect_eq(ts_int(ev, "dropped"), 0, "nothing dropped: %s", ts_str(ev, "dropped_why"));
    json_t *evs = load_trace();
    const char *names[] = {"sa", "sb", "shared", "big"};
    long long takes[] = {300000, 300000, 100000, 1001};
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(recompute_semaphore(evs, names[i]), 1, "%s ends at 1", names[i]);
        cr_expect_eq(sem_takes(evs, names[i]), takes[i], "every take of %s", names[i]);
    }
    expect_pairs_folded(snap, evs, &SEM_RECORDS, "sa", 300000);
    expect_long_hold(evs, &SEM_RECORDS, "big", 290);
    json_decref(evs);
    json_decref(snap);
}

/* hot_sem steal MODE under `strace -f --seccomp-bpf -e trace=membarrier`, around ipcscope:
 * every semaphore's values recompute from the trace and every take is in it, and strace saw
 * the barriers (fence: "MEMBARRIER_CMD_PRIVATE_EXPEDITED" within a process,
 * "..._GLOBAL_EXPEDITED" from another) that closing a lock-free fold from outside takes. */
static void expect_folds_broken_into(const char *mode, const char *fence)
{
    if (system("command -v strace >/dev/null 2>&1") != 0)
        TS_SKIP_AFTER(teardown_dir, "strace is not installed (apt-get install strace)");
    cr_assert_eq(compile("hot_sem", NULL), 0, "cc hot_sem failed");
    char *argv[] = {"strace",           "-f",       "-qq",        "--seccomp-bpf", "-e",
                    "trace=membarrier", "-o",       "strace.txt", IPCSCOPE_BIN,    "exec",
                    "--headless",       "--no-bpf", "--json",     "snap.json",     "--record",
                    "trace.jsonl",      "--",       "./hot_sem",  (char *)mode,    NULL};
    /* in a sanitizer build: LeakSanitizer cannot run under ptrace, and strace is a tracer */
    struct ts_result r = run_argv(argv, "ASAN_OPTIONS=detect_leaks=0");
    expect_exit(&r, 0);
    long long owner = 0, stealer = 0;
    cr_assert_eq(sscanf(r.out, "steal: 64 rounds, owner %lld, stealer %lld, every value 1: yes",
                        &owner, &stealer),
                 2, "%s", r.out);
    cr_expect_geq(owner, 64 * 20000);
    cr_expect_eq(stealer, 64 * 5);
    cr_expect(strstr(r.out, "every value 1: yes"), "sem_getvalue: %s", r.out);
    ts_free_result(&r);

    json_t *snap = load_json("snap.json");
    json_t *ev = json_object_get(snap, "events");
    cr_expect_eq(ts_int(ev, "dropped"), 0, "nothing dropped: %s", ts_str(ev, "dropped_why"));
    json_t *evs = load_trace();
    json_t *objs = json_object_get(snap, "objects"), *o;
    size_t i, sems = 0;
    long long takes = 0;
    json_array_foreach(objs, i, o)
    {
        if (strcmp(ts_str(o, "kind"), "semaphore") != 0)
            continue;
        const char *name = ts_str(o, "name");
        sems++;
        cr_expect_eq(recompute_semaphore(evs, name), 1, "%s ends at 1", name);
        takes += sem_takes(evs, name);
    }
    cr_expect_eq(sems, 64, "one semaphore a round");
    cr_expect_eq(takes, owner + stealer, "every take is in the trace");

    char path[256], line[512];
    snprintf(path, sizeof(path), "%s/strace.txt", g_dir);
    FILE *f = fopen(path, "r");
    cr_assert(f, "strace wrote nothing");
    long long fences = 0;
    while (fgets(line, sizeof(line), f))
        fences += strstr(line, fence) != NULL;
    fclose(f);
    cr_expect_geq(fences, 32, "most rounds closed a lock-free fold from outside: %lld %s", fences,
                  fence);
    json_decref(evs);
    json_decref(snap);
}

/* A fold on a semaphore runs without the object's lock until another task touches it: that
 * task closes the fold after a barrier and a wait for the owner's call in flight (preload
 * sync.c, "lock-free folds"). 64 times a thread breaks into another's loop: no value in the
 * trace goes wrong and no take is lost. */
Test(exec_sync, a_lock_free_fold_broken_into_by_another_thread_loses_nothing, .timeout = 120)
{
    expect_folds_broken_into("steal", "(MEMBARRIER_CMD_PRIVATE_EXPEDITED");
}

/* The same with process-shared semaphores and a child process breaking in. */
Test(exec_sync, a_lock_free_fold_broken_into_by_another_process_loses_nothing, .timeout = 120)
{
    expect_folds_broken_into("steal-fork", "(MEMBARRIER_CMD_GLOBAL_EXPEDITED");
}

/* A token taken inside a fold and kept while its thread computes forever: the semaphore
 * shows 0 in the final snapshot (sem_seen_taken, read from the slot), and so does a replay. */
Test(exec_sync, a_token_kept_inside_a_fold_shows_taken_and_replays_so, .timeout = 60)
{
    json_t *again = NULL;
    json_t *snap = exec_cut_and_replay("hot_sem", "hold", "1.5", &again);
    json_t *big = find_object(snap, "semaphore", "big");
    cr_expect_eq(ts_int(big, "value"), 0, "main keeps big's only token");
    json_t *evs = load_trace();
    json_t *seen = last_event(evs, "sem_seen_taken", "big");
    cr_assert(seen, "the token kept was read in the slot and recorded as such");
    cr_expect_eq(ts_int(seen, "val"), 0);
    cr_expect_str_eq(ts_str(seen, "src"), "procfs", "the conductor's reading, not the thread's");
    json_decref(evs);

    cr_expect_eq(ts_int(find_object(again, "semaphore", "big"), "value"), 0,
                 "the replay shows the same value");
    json_decref(again);
    json_decref(snap);
}

/* Unnamed semaphores made process-shared (sem_init's pshared 1) in a MAP_SHARED mapping that
 * fork hands to a child: each is one object used by both processes, its values recompute from
 * the trace and end where sem_getvalue says. (Read as process-private, each became an object
 * per process: nine semaphores, "empty" at -40.) */
Test(exec_sync, process_shared_semaphores_are_one_object_in_both_processes, .timeout = 60)
{
    json_t *snap = exec_example("fork_buffer");
    cr_expect(printed("produced 40, consumed sum 820; empty 4 full 0 mutex 1"), "%s", g_out);
    json_t *objs = json_object_get(snap, "objects");
    size_t i, sems = 0;
    json_t *o;
    json_array_foreach(objs, i, o) sems += strcmp(ts_str(o, "kind"), "semaphore") == 0;
    cr_assert_eq(sems, 3, "empty, full and mutex, one object each: %s", json_dumps(objs, 0));
    json_t *evs = load_trace();
    /* sem_init's order: empty, full, mutex */
    const char *names[] = {"sem@1", "sem@2", "sem@3"};
    long long ends[] = {4, 0, 1}, takes[] = {40, 40, 80};
    for (int k = 0; k < 3; k++) {
        cr_expect_eq(ts_int(find_object(snap, "semaphore", names[k]), "value"), ends[k], "%s",
                     names[k]);
        cr_expect_eq(recompute_semaphore(evs, names[k]), ends[k], "%s from the trace", names[k]);
        cr_expect_eq(sem_takes(evs, names[k]), takes[k], "every take of %s", names[k]);
        size_t n;
        json_t **ops = object_events(evs, names[k], &n);
        long long first = 0;
        int other = 0;
        for (size_t e = 0; e < n; e++) {
            long long pid = ts_int(ops[e], "pid");
            if (!first)
                first = pid;
            other |= pid != first;
        }
        free(ops);
        cr_expect(other, "%s is used by both processes", names[k]);
    }
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}

/* Busy loops, one more than the CPUs, so the machine has more runnable threads than CPUs;
 * each dies with the test. Returns how many were started (pids in hogs). */
static int start_hogs(pid_t *hogs, int max)
{
    int n = (int)sysconf(_SC_NPROCESSORS_ONLN) + 1;
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++) {
        hogs[i] = fork();
        cr_assert_geq(hogs[i], 0, "fork: %s", strerror(errno));
        if (hogs[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (volatile unsigned long k = 0;; k++)
                ;
        }
    }
    return n;
}

static void stop_hogs(const pid_t *hogs, int n)
{
    for (int i = 0; i < n; i++)
        kill(hogs[i], SIGKILL);
    for (int i = 0; i < n; i++)
        waitpid(hogs[i], NULL, 0);
}

/* On a crowded machine (its other work alone keeps every CPU busy) the program's waiters sleep at
 * once instead of watching the semaphore first (preload sync.c, "waiting a moment"): the conductor
 * saw the crowd, the waits say they did not watch, and every turn of the ping-pong is still in
 * the trace in an order whose values recompute (a post that wakes is recorded before the real
 * post, outside the object's lock: no take shows before the post that allowed it). */
Test(exec_sync, a_crowded_machine_has_waiters_sleep_at_once, .timeout = 90)
{
    cr_assert_eq(compile("pingpong", NULL), 0, "cc pingpong failed");
    pid_t hogs[64];
    int nhogs = start_hogs(hogs, 64);
    json_t *snap = exec_run("pingpong", "--no-bpf", "10000", 0);
    stop_hogs(hogs, nhogs);
    cr_expect(printed("pingpong: 10000 rounds, 10000 ponged"), "%s", g_out);
    json_t *w = json_object_get(snap, "waiting");
    cr_assert(json_is_object(w), "snapshot has no waiting: %s", json_dumps(snap, 0));
    cr_expect_eq(ts_int(w, "cpus"), sysconf(_SC_NPROCESSORS_ONLN));
    cr_expect_geq(ts_int(w, "crowded_looks"), 1, "%d busy loops on %lld CPUs: never crowded: %s",
                  nhogs, ts_int(w, "cpus"), json_dumps(w, 0));
    cr_expect_leq(ts_int(w, "crowded_looks"), ts_int(w, "looks"));
    cr_expect_geq(ts_int(w, "others_max"), ts_int(w, "cpus"), "the busy loops fill every CPU: %s",
                  json_dumps(w, 0));
    cr_expect_geq(ts_int(w, "waits_not_watched"), 1, "no wait slept at once: %s", json_dumps(w, 0));
    json_t *evs = load_trace();
    cr_expect_eq(recompute_semaphore(evs, "ping"), 0, "ping from the trace");
    cr_expect_eq(recompute_semaphore(evs, "pong"), 0, "pong from the trace");
    cr_expect_eq(sem_takes(evs, "ping"), 10000, "every turn of ping");
    cr_expect_eq(sem_takes(evs, "pong"), 10000, "every turn of pong");
    expect_nothing_left(snap);
    json_decref(evs);
    json_decref(snap);
}
