/*
 * test_ui.c - the dashboard, driven for real: the ipcscope binary in a detached tmux session.
 *
 * Each test starts its own tmux server on a private socket, runs ipcscope in a pane wrapped
 * by a shell that records `stty -a` before and after and the exit code, sends keys and reads
 * the screen with capture-pane. Skipped when tmux is not installed.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef IPCSCOPE_BIN
#define IPCSCOPE_BIN "ipcscope"
#endif

#define W 160
#define H 48
#define SCREEN_MAX 65536

static char g_sock[64];
static char g_dir[128];
static char g_screen[SCREEN_MAX];

static const char *capture(void)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tmux -L %s capture-pane -p -t ui 2>/dev/null", g_sock);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(g_screen, 1, SCREEN_MAX - 1, p) : 0;
    g_screen[n] = '\0';
    if (p)
        pclose(p);
    return g_screen;
}

/* Poll the screen until it shows text; 1 when it did within ms. */
static int wait_for(const char *text, int ms)
{
    for (int waited = 0; waited <= ms; waited += 50) {
        if (strstr(capture(), text))
            return 1;
        ts_sleep_ms(50);
    }
    return 0;
}

static void keys(const char *k)
{
    ts_sh("tmux -L %s send-keys -t ui %s", g_sock, k);
}

static int read_file_int(const char *name, int *out)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", g_dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fscanf(f, "%d", out) == 1;
    fclose(f);
    return ok;
}

/* Wait for the wrapped ipcscope to exit; its exit code, or -1 on timeout. */
static int wait_exit(int ms)
{
    int rc;
    for (int waited = 0; waited <= ms; waited += 50) {
        if (read_file_int("rc", &rc))
            return rc;
        ts_sleep_ms(50);
    }
    return -1;
}

/* Start ipcscope ARGS in a W x H pane, wrapped to record stty and the exit code. */
static void start(const char *args)
{
    if (ts_sh("command -v tmux >/dev/null 2>&1") != 0)
        cr_skip_test("needs tmux");
    snprintf(g_sock, sizeof(g_sock), "ipcscope-test-%d", (int)getpid());
    snprintf(g_dir, sizeof(g_dir), "/tmp/ipcscope-test-ui-XXXXXX");
    ts_mkdtemp(g_dir);
    int rc =
        ts_sh("tmux -L %s -f /dev/null new-session -d -s ui -x %d -y %d "
              "\"stty -a > %s/before; env LANG=C.UTF-8 LC_ALL= TERM=tmux-256color NO_COLOR= %s "
              "%s; echo \\$? > %s/rc.tmp; stty -a > %s/after; mv %s/rc.tmp %s/rc; sleep 600\"",
              g_sock, W, H, g_dir, IPCSCOPE_BIN, args, g_dir, g_dir, g_dir, g_dir);
    cr_assert_eq(rc, 0, "tmux new-session failed");
}

static void stop(void)
{
    if (g_sock[0])
        ts_tmux_kill(g_sock);
    if (g_dir[0])
        ts_rmtree(g_dir);
    g_sock[0] = g_dir[0] = '\0';
}

/* The number after label in the header ("steps 5", "replay 12/154"), -1 when absent. */
static long header_number(const char *label)
{
    const char *p = strstr(capture(), label);
    return p ? strtol(p + strlen(label), NULL, 10) : -1;
}

/* Poll until the number after label is want; 1 when it was within ms. */
static int wait_header_number(const char *label, long want, int ms)
{
    for (int waited = 0; waited <= ms; waited += 50) {
        if (header_number(label) == want)
            return 1;
        ts_sleep_ms(50);
    }
    return 0;
}

static long steps_on_screen(void)
{
    return header_number("steps ");
}

static int wait_steps(long want, int ms)
{
    return wait_header_number("steps ", want, ms);
}

/* ---- processes ---- */

static int pane_pid(void)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tmux -L %s display -p -t ui '#{pane_pid}'", g_sock);
    FILE *p = popen(cmd, "r");
    int pid = -1;
    if (p && fscanf(p, "%d", &pid) != 1)
        pid = -1;
    if (p)
        pclose(p);
    return pid;
}

/* The ipcscope process and its workers (not the wrapping shell). */
static int ipcscope_tree(int *out, int n)
{
    return (int)ts_descendants(pane_pid(), out, NULL, (size_t)n);
}

static int still_alive(const int *pids, int n)
{
    int alive = 0;
    for (int i = 0; i < n; i++) {
        struct ts_stat st;
        if (ts_stat(pids[i], &st) == 0 && strcmp(st.comm, "sleep") != 0)
            alive++;
    }
    return alive;
}

static void assert_terminal_sane(void)
{
    cr_assert_eq(ts_sh("cmp -s %s/before %s/after", g_dir, g_dir), 0,
                 "stty -a differs after ipcscope exited");
}

/* ---- tests ---- */

Test(ui, picker_starts_prodcons, .fini = stop, .timeout = 60)
{
    start("");
    cr_assert(wait_for("choose a scenario", 5000), "no picker:\n%s", g_screen);
    cr_assert(strstr(g_screen, "Producer/consumer"), "prodcons not listed:\n%s", g_screen);
    keys("/ p r o d c Enter");
    cr_assert(wait_for("filter: prodc", 2000), "filter not shown:\n%s", g_screen);
    keys("Enter");
    cr_assert(wait_for("Tasks (", 5000), "dashboard did not open:\n%s", g_screen);
    cr_assert(wait_for("producer-1", 5000), "no producer:\n%s", g_screen);
    keys("q");
    cr_assert_eq(wait_exit(10000), 0);
    assert_terminal_sane();
}

/* Worker actions in a trace: the events a gated call makes first (its acquired/woken
 * follow-ups are not counted), from workers (slot > 0). */
static long gated_actions(const char *trace)
{
    static const char *const kinds[] = {"sem_wait",      "sem_post",  "mutex_wait",
                                        "mutex_release", "queue_put", "queue_get"};
    size_t n;
    json_t **lines = ts_load_jsonl(trace, &n);
    long count = 0;
    for (size_t i = 0; i < n; i++) {
        if (!json_object_get(lines[i], "ev") || strcmp(ts_str(lines[i], "src"), "instr") != 0 ||
            ts_int(lines[i], "slot") <= 0)
            continue;
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
            count += strcmp(ts_str(lines[i], "ev"), kinds[k]) == 0;
    }
    ts_free_jsonl(lines, n);
    return count;
}

Test(ui, five_steps_are_five_actions, .fini = stop, .timeout = 60)
{
    char trace[] = "/tmp/ipcscope-test-fiveXXXXXX", args[128];
    int fd = mkstemp(trace);
    cr_assert_geq(fd, 0);
    close(fd);
    snprintf(args, sizeof(args), "run prodcons --step --record %s", trace);
    start(args);
    cr_assert(wait_for("4 at the gate", 20000), "workers never reached the gate:\n%s", g_screen);
    long before = steps_on_screen();
    cr_assert_geq(before, 0, "no step count on screen:\n%s", g_screen);
    for (int i = 0; i < 5; i++) {
        keys("Space");
        ts_sleep_ms(150);
    }
    cr_assert(wait_steps(before + 5, 20000), "steps %ld -> %ld, wanted +5:\n%s", before,
              steps_on_screen(), g_screen);
    ts_sleep_ms(1500); /* nothing more may move by itself */
    cr_assert_eq(steps_on_screen(), before + 5, "moved without a key:\n%s", g_screen);
    keys("q");
    cr_assert_eq(wait_exit(10000), 0);
    /* counted independently of the header: the workers' own records of what they did */
    long actions = gated_actions(trace);
    cr_expect_eq(actions, before + 5, "the trace holds %ld worker actions", actions);
    unlink(trace);
}

Test(ui, picked_task_moves_next, .fini = stop, .timeout = 60)
{
    start("run prodcons --step");
    cr_assert(wait_for("4 at the gate", 20000), "workers never reached the gate:\n%s", g_screen);
    cr_assert_null(strstr(g_screen, "producer-2  sem_wait(empty)"));
    long before = steps_on_screen();
    keys("2"); /* producer-2, not the oldest waiter */
    cr_assert(wait_steps(before + 1, 20000), "no step:\n%s", g_screen);
    cr_assert(wait_for("producer-2  sem_wait(empty)", 3000), "producer-2 did not move:\n%s",
              g_screen);
    cr_assert_null(strstr(g_screen, "producer-1  sem_wait(empty)"), "producer-1 moved:\n%s",
                   g_screen);
    keys("q");
    cr_assert_eq(wait_exit(10000), 0);
}

Test(ui, too_small_screen_and_back, .fini = stop, .timeout = 60)
{
    start("run prodcons --step");
    cr_assert(wait_for("Tasks (", 20000));
    ts_sh("tmux -L %s resize-window -t ui -x 60 -y 20", g_sock);
    cr_assert(wait_for("enlarge the terminal (now 60x20, needs 80x24)", 5000),
              "no too-small screen:\n%s", g_screen);
    ts_sh("tmux -L %s resize-window -t ui -x %d -y %d", g_sock, W, H);
    cr_assert(wait_for("Tasks (", 5000), "dashboard did not come back:\n%s", g_screen);
    cr_assert_null(strstr(g_screen, "enlarge the terminal"));
    keys("q");
    cr_assert_eq(wait_exit(10000), 0);
}

Test(ui, every_theme, .fini = stop, .timeout = 60)
{
    static const char *const names[] = {"light", "high-contrast", "monochrome", "colorblind",
                                        "dark"};
    start("run prodcons --step");
    cr_assert(wait_for("Tasks (", 20000));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char want[64];
        snprintf(want, sizeof(want), "Theme: %s", names[i]);
        keys("t");
        cr_assert(wait_for(want, 3000), "no '%s':\n%s", want, g_screen);
        cr_assert(strstr(g_screen, "Tasks ("), "dashboard gone under %s", names[i]);
    }
    keys("q");
    cr_assert_eq(wait_exit(10000), 0);
}

Test(ui, quit_with_q_leaves_nothing, .fini = stop, .timeout = 60)
{
    start("run prodcons --step");
    cr_assert(wait_for("4 at the gate", 20000));
    int pids[256], n = ipcscope_tree(pids, 256);
    cr_assert_geq(n, 5, "expected ipcscope and 4 workers, found %d", n);
    keys("q");
    cr_assert_eq(wait_exit(10000), 0);
    ts_sleep_ms(200);
    cr_assert_eq(still_alive(pids, n), 0, "processes left behind");
    assert_terminal_sane();
}

Test(ui, ctrl_c_leaves_nothing, .fini = stop, .timeout = 60)
{
    start("run prodcons");
    cr_assert(wait_for("producer-1", 20000));
    int pids[256], n = ipcscope_tree(pids, 256);
    cr_assert_geq(n, 2);
    keys("C-c");
    cr_assert_eq(wait_exit(10000), 130);
    ts_sleep_ms(200);
    cr_assert_eq(still_alive(pids, n), 0, "processes left behind");
    assert_terminal_sane();
}

Test(ui, task_details_show_run_ready_and_blocked_times, .fini = stop, .timeout = 60)
{
    start("run states --param seconds=5");
    cr_assert(wait_for("cpu-1", 20000), "no cpu-1 row:\n%s", g_screen);
    ts_sleep_ms(1000); /* let it run, wait and block for a while */
    /* select cpu-1, the first worker (row 1): a frame drawn before any worker existed (a
     * loaded machine) has already clamped the selection to the conductor's row 0 */
    keys("Up");
    keys("Down");
    keys("i");
    cr_assert(wait_for("cpu-1 · Esc", 3000), "no details overlay:\n%s", g_screen);
    /* the overlay's title can be on screen before its lines are (a capture mid-draw: 1 in
     * ~800 on an idle machine): wait for the times line itself */
    wait_for("s  ready ", 3000);
    double run = 0, ready = 0, blocked = 0, gate = 0;
    int found = 0;
    for (const char *p = strstr(g_screen, "run "); p && !found; p = strstr(p + 1, "run "))
        found = sscanf(p, "run %lfs  ready %lfs  blocked %lfs  gate %lfs", &run, &ready, &blocked,
                       &gate) == 4;
    cr_assert(found, "times not shown as 'run Xs  ready Ys  blocked Zs  gate Ws':\n%s", g_screen);
    /* held between bursts at the default pace, a CPU worker's time is partly gate time */
    cr_assert_gt(run + ready + blocked + gate, 0.5, "no time accounted after a second:\n%s",
                 g_screen);
    cr_assert(strstr(g_screen, "switches"), "no context switches:\n%s", g_screen);
    keys("Escape");
    keys("q");
    cr_assert_eq(wait_exit(10000), 0);
}

Test(ui, wide_task_panel_has_time_columns_and_the_bpf_state, .fini = stop, .timeout = 60)
{
    start("run states --no-bpf --param seconds=2");
    cr_assert(wait_for("cpu-1", 20000), "no cpu-1 row:\n%s", g_screen);
    cr_assert(wait_for("bpf✗ (turned off (--no-bpf))", 3000), "no bpf reason:\n%s", g_screen);
    cr_assert(strstr(g_screen, "ready") && strstr(g_screen, "blocked"), "no time columns:\n%s",
              g_screen);
    /* /proc's R is running or ready: the timeline says so, and the times are the kernel's */
    cr_assert(strstr(g_screen, "run or ready (/proc)"), "the timeline legend:\n%s", g_screen);
    ts_sleep_ms(1000); /* a few /proc looks */
    keys("Up");
    keys("Down");
    keys("i");
    cr_assert(wait_for("cpu-1 · Esc", 3000), "no details overlay:\n%s", g_screen);
    cr_assert(wait_for("schedstat ", 3000), "times not from schedstat:\n%s", g_screen);
    double run = 0, ready = 0;
    const char *p = strstr(g_screen, "schedstat ");
    cr_assert(p && sscanf(p, "schedstat run %lfs ready %lfs", &run, &ready) == 2,
              "no run and ready after 'schedstat':\n%s", g_screen);
    cr_assert_gt(run, 0.0, "a CPU worker ran 0 s by schedstat:\n%s", g_screen);
    cr_assert(!strstr(g_screen, " 0 switches"), "no times run counted:\n%s", g_screen);
    keys("Escape");
    keys("q");
    cr_assert_eq(wait_exit(10000), 0);
}

/* A terminal that cannot draw the dashboard gets one clear sentence and exit 1, never a
 * screen of garbage or curses' own exit. */
Test(ui, unusable_terminal_types_get_a_clear_message, .fini = stop, .timeout = 60)
{
    const char *terms[] = {"dumb", "no-such-terminal"};
    const char *expect[] = {"cannot move the cursor", "unknown to terminfo"};
    if (ts_sh("command -v tmux >/dev/null 2>&1") != 0)
        cr_skip_test("needs tmux");
    for (int i = 0; i < 2; i++) {
        snprintf(g_sock, sizeof(g_sock), "ipcscope-test-%d", (int)getpid());
        snprintf(g_dir, sizeof(g_dir), "/tmp/ipcscope-test-ui-XXXXXX");
        ts_mkdtemp(g_dir);
        cr_assert_eq(ts_sh("tmux -L %s -f /dev/null new-session -d -s ui -x 100 -y 30 "
                           "\"env TERM=%s %s run prodcons 2> %s/err; echo \\$? > %s/rc.tmp; "
                           "mv %s/rc.tmp %s/rc; sleep 600\"",
                           g_sock, terms[i], IPCSCOPE_BIN, g_dir, g_dir, g_dir, g_dir),
                     0);
        cr_assert_eq(wait_exit(10000), 1, "TERM=%s: expected exit 1", terms[i]);
        char cmd[512];
        snprintf(cmd, sizeof(cmd), "grep -q '%s' %s/err", expect[i], g_dir);
        cr_assert_eq(ts_sh("%s", cmd), 0, "TERM=%s: the message should say '%s'", terms[i],
                     expect[i]);
        stop();
    }
}

/* "replay N/T" in the header: N, or -1 when absent. */
static long replay_pos(void)
{
    return header_number("replay ");
}

static int wait_replay_pos(long want, int ms)
{
    return wait_header_number("replay ", want, ms);
}

/* The position after the k-th instrumented event of a trace (events counted from 1). */
static long after_kth_action(const char *trace, int k)
{
    size_t n;
    json_t **lines = ts_load_jsonl(trace, &n);
    long pos = -1, events = 0;
    for (size_t i = 0; i < n && pos < 0; i++) {
        if (!json_object_get(lines[i], "ev"))
            continue; /* the header and the end line */
        events++;
        if (strcmp(ts_str(lines[i], "src"), "instr") == 0 && --k == 0)
            pos = events;
    }
    ts_free_jsonl(lines, n);
    return pos;
}

/* The semaphore rows of the Objects panel: from " sem   " to the end of each such line. */
static void semaphore_rows(char *out, size_t n)
{
    static char screen[SCREEN_MAX];
    snprintf(screen, sizeof(screen), "%s", capture());
    out[0] = '\0';
    char *save = NULL;
    for (char *line = strtok_r(screen, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        const char *sem = strstr(line, " sem   ");
        size_t used = strlen(out);
        if (sem && used < n)
            snprintf(out + used, n - used, "%s\n", sem);
    }
}

Test(ui, replay_steps_forward_and_back, .fini = stop, .timeout = 90)
{
    char trace[] = "/tmp/ipcscope-test-replayXXXXXX";
    int fd = mkstemp(trace);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(ts_sh("%s run prodcons --headless --param items=6 --record %s >/dev/null",
                       IPCSCOPE_BIN, trace),
                 0, "recording failed");
    char args[256];
    snprintf(args, sizeof(args), "replay %s --step", trace);
    start(args);
    cr_assert(wait_for("replay 0/", 5000), "no replay header:\n%s", g_screen);

    /* five Spaces: the first five recorded actions, with the kernel's events before them */
    for (int i = 0; i < 5; i++)
        keys("Space");
    long five = after_kth_action(trace, 5);
    cr_assert(wait_replay_pos(five, 5000), "at %ld after 5 steps, expected %ld:\n%s", replay_pos(),
              five, g_screen);
    char before[1024], after[1024];
    semaphore_rows(before, sizeof(before));
    cr_assert(strstr(before, "empty"), "no semaphores shown:\n%s", g_screen);

    /* one more, then back: the same position and the same objects as before */
    keys("Space");
    cr_assert(wait_replay_pos(after_kth_action(trace, 6), 5000), "sixth step:\n%s", g_screen);
    keys("b");
    cr_assert(wait_replay_pos(five, 5000), "b did not go back to %ld:\n%s", five, g_screen);
    semaphore_rows(after, sizeof(after));
    cr_expect_str_eq(after, before, "semaphores differ after a step forward and back");

    /* R rewinds to the start; r plays (one action per 150 ms), + up to the recorded pace */
    keys("R");
    cr_assert(wait_replay_pos(0, 5000), "R did not rewind:\n%s", g_screen);
    keys("r");
    cr_assert(wait_for("RUN 150ms", 3000), "not playing at 150 ms an action:\n%s", g_screen);
    keys("+ + + + + + + +");
    cr_assert(wait_for("DONE", 10000), "the replay never reached its end:\n%s", g_screen);
    keys("q");
    cr_assert_eq(wait_exit(10000), 0);
    assert_terminal_sane();
    unlink(trace);
}

/* The position of the first event of kind ev on obj in a trace (events counted from 1). */
static long position_of(const char *trace, const char *ev, const char *obj)
{
    size_t n;
    json_t **lines = ts_load_jsonl(trace, &n);
    long pos = -1, events = 0;
    for (size_t i = 0; i < n && pos < 0; i++) {
        if (!json_object_get(lines[i], "ev"))
            continue;
        events++;
        if (strcmp(ts_str(lines[i], "ev"), ev) == 0 && strcmp(ts_str(lines[i], "obj"), obj) == 0)
            pos = events;
    }
    ts_free_jsonl(lines, n);
    return pos;
}

/* A step that makes an object (an accepted connection) shows its row in that step's frame.
 * The Objects panel's height came from the frame before, so the new row was cut off until
 * something else redrew the screen: while stepping a replay nothing else does, and the class
 * saw "accept() returns a new socket, conn-1" with no conn-1 on screen. */
Test(ui, a_step_that_makes_an_object_shows_its_row_at_once, .fini = stop, .timeout = 90)
{
    char trace[] = "/tmp/ipcscope-test-replayXXXXXX";
    int fd = mkstemp(trace);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(ts_sh("%s run poll-server --headless --record %s >/dev/null", IPCSCOPE_BIN, trace),
                 0, "recording failed");
    long made = position_of(trace, "obj_create", "conn-1");
    cr_assert_gt(made, 0, "the trace has no obj_create of conn-1");
    char args[256];
    snprintf(args, sizeof(args), "replay %s --step", trace);
    start(args);
    cr_assert(wait_for("replay 0/", 5000), "no replay header:\n%s", g_screen);
    for (int i = 0; i < 200 && replay_pos() < made; i++) {
        long at = replay_pos();
        keys("Space");
        for (int k = 0; k < 50 && replay_pos() == at; k++)
            usleep(20000);
    }
    cr_assert_geq(replay_pos(), made, "never stepped past conn-1's creation:\n%s", g_screen);
    usleep(300000); /* no other frame comes while stepping a replay: this one must show it */
    capture();
    /* 160x48 has room for every object of the run (the top row may take 45% of the body) */
    cr_assert(strstr(g_screen, "sock  conn-1 "), "conn-1 is made but not shown:\n%s", g_screen);
    cr_assert_null(strstr(g_screen, "not shown"), "an object is left out:\n%s", g_screen);
    unlink(trace);
}

Test(ui, replay_refuses_a_bad_trace_before_the_screen_changes, .timeout = 30)
{
    char bad[] = "/tmp/ipcscope-test-badtraceXXXXXX";
    int fd = mkstemp(bad);
    cr_assert_geq(fd, 0);
    dprintf(fd, "{\"ipcscope_trace\":1,\"scenario\":\"prodcons\",\"params\":{}}\n{\"t\":\n");
    close(fd);
    char *argv[] = {IPCSCOPE_BIN, "replay", bad, NULL};
    struct ts_result r = ts_run(argv, NULL);
    cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1, "exit %d", r.status);
    cr_expect(strstr(r.err, "line 2"), "the bad line is not named: %s", r.err);
    ts_free_result(&r);
    unlink(bad);
}

Test(ui, replay_of_a_cut_short_trace_says_so_and_plays, .fini = stop, .timeout = 60)
{
    char trace[] = "/tmp/ipcscope-test-cutXXXXXX";
    int fd = mkstemp(trace);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(ts_sh("%s run prodcons --headless --param items=4 --record %s >/dev/null && "
                       "sed -i '$d' %s",
                       IPCSCOPE_BIN, trace, trace),
                 0, "recording failed");
    char args[256];
    snprintf(args, sizeof(args), "replay %s --step", trace);
    start(args);
    cr_assert(wait_for("no end line", 5000), "no word of the missing end line:\n%s", g_screen);
    keys("Space");
    cr_assert(wait_replay_pos(after_kth_action(trace, 1), 5000), "did not step:\n%s", g_screen);
    keys("q");
    cr_assert_eq(wait_exit(10000), 0);
    unlink(trace);
}

Test(ui, replay_jumps_ten_steps_and_to_either_end, .fini = stop, .timeout = 60)
{
    char trace[] = "/tmp/ipcscope-test-jumpXXXXXX";
    int fd = mkstemp(trace);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(ts_sh("%s run prodcons --headless --param items=6 --record %s >/dev/null",
                       IPCSCOPE_BIN, trace),
                 0, "recording failed");
    size_t n;
    json_t **lines = ts_load_jsonl(trace, &n);
    long total = 0;
    for (size_t i = 0; i < n; i++)
        total += json_object_get(lines[i], "ev") != NULL;
    ts_free_jsonl(lines, n);

    char args[256];
    snprintf(args, sizeof(args), "replay %s --step", trace);
    start(args);
    cr_assert(wait_for("replay 0/", 5000), "no replay header:\n%s", g_screen);
    keys("]");
    cr_assert(wait_replay_pos(after_kth_action(trace, 10), 5000), "] is not ten steps:\n%s",
              g_screen);
    keys("] [");
    cr_assert(wait_replay_pos(after_kth_action(trace, 10), 5000), "] [ did not come back:\n%s",
              g_screen);
    keys("End");
    cr_assert(wait_replay_pos(total, 5000), "End is not the last of %ld events:\n%s", total,
              g_screen);
    keys("Home");
    cr_assert(wait_replay_pos(0, 5000), "Home is not the start:\n%s", g_screen);
    keys("q");
    cr_assert_eq(wait_exit(10000), 0);
    unlink(trace);
}
