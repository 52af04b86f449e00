/*
 * test_exec_tui.c - `ipcscope exec` in the dashboard: the program runs on a pseudo-terminal
 * ipcscope owns, as it would in a terminal window. A session leader of ours (ipcscope-pty)
 * holds the terminal as a shell does, the program is its foreground job, keys typed into the
 * Output panel reach it (Ctrl-C included), and what it leaves behind when it exits is not
 * hung up. Driven through tmux; the facts are read from /proc, not from the screen alone.
 */
#include "exec_common.h"

#include <sys/types.h>

TestSuite(exec_tui, .init = setup_dir, .fini = teardown_dir);

/* Fields 4-8 of /proc/PID/stat: ppid, process group, session, terminal's foreground group. */
struct stat_ids {
    int ppid, pgrp, session, tpgid;
};

static int read_ids(pid_t pid, struct stat_ids *s)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (ts_read_file(path, buf, sizeof(buf)) != 0)
        return -1;
    const char *p = strrchr(buf, ')');
    int tty;
    return p && sscanf(p + 2, "%*c %d %d %d %d %d", &s->ppid, &s->pgrp, &s->session, &tty,
                       &s->tpgid) == 5
               ? 0
               : -1;
}

/* The pid of the one process whose command line starts with DIR/name, or 0. */
static pid_t find_program(const char *name)
{
    char cmd[512], out[64] = "";
    snprintf(cmd, sizeof(cmd), "pgrep -f '^%s/%s' | head -1", g_dir, name);
    FILE *f = popen(cmd, "r");
    if (f) {
        if (!fgets(out, sizeof(out), f))
            out[0] = '\0';
        pclose(f);
    }
    return (pid_t)atoi(out);
}

static void comm_of(pid_t pid, char *buf, size_t n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    if (ts_read_file(path, buf, n) != 0)
        buf[0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

/* Start the dashboard on `exec -- DIR/name [args]` in a w x h pane. from: a system program to
 * copy to DIR/name first (a name of its own for pgrep and the screen), or NULL for one
 * compile() built. */
static void start_program(struct ts_tui *t, const char *from, const char *name, const char *args,
                          int w, int h)
{
    if (from)
        cr_assert_eq(ts_sh("cp %s %s/%s", from, g_dir, name), 0);
    char line[512];
    snprintf(line, sizeof(line), "exec -- %s/%s%s%s", g_dir, name, args ? " " : "",
             args ? args : "");
    ts_tui_start(t, line, w, h);
}

/* The program is the foreground job of a session ipcscope-pty leads, as under a shell; Ctrl-C
 * typed into the Output panel interrupts it through its terminal, and ipcscope stays. */
Test(exec_tui, the_program_is_the_terminals_foreground_job_and_ctrl_c_reaches_it, .timeout = 60)
{
    struct ts_tui t;
    start_program(&t, "/bin/cat", "napper", NULL, 120, 40); /* reads its terminal */
    int shown = ts_tui_wait_for(&t, "napper", 20000);
    pid_t prog = 0;
    for (int i = 0; i < 100 && !(prog = find_program("napper")); i++)
        usleep(50000);
    struct stat_ids ids = {0}, lead = {0};
    char leader[32] = "";
    int got = prog > 0 && read_ids(prog, &ids) == 0;
    if (got) {
        comm_of(ids.ppid, leader, sizeof(leader));
        got = read_ids(ids.ppid, &lead) == 0;
    }
    ts_tui_keys(&t, "BTab"); /* the focus on the Output panel */
    ts_tui_wait_for(&t, "typing goes to the program", 5000);
    ts_tui_keys(&t, "C-c");
    int ended = ts_tui_wait_for(&t, "Checks:", 10000);
    char screen[sizeof(t.screen)];
    snprintf(screen, sizeof(screen), "%s", ts_tui_capture(&t));
    int rc_early = ts_tui_wait_exit(&t, 0);
    ts_tui_keys(&t, "q");
    int rc = ts_tui_wait_exit(&t, 10000);
    ts_tui_stop(&t);

    cr_assert(shown && got, "the program was not found running (pid %d):\n%s", (int)prog, screen);
    cr_expect_str_eq(leader, "ipcscope-pty", "the program's parent is %s", leader);
    cr_expect_eq(ids.pgrp, prog, "a process group of its own");
    cr_expect_eq(ids.session, ids.ppid, "in the session its parent leads");
    cr_expect_eq(lead.session, ids.ppid, "the parent leads that session");
    cr_expect_eq(ids.tpgid, prog, "the terminal's foreground group is the program's");
    cr_assert(ended, "Ctrl-C did not end the program:\n%s", screen);
    cr_expect_eq(rc_early, -1, "Ctrl-C in the Output panel stopped ipcscope itself");
    cr_expect(strstr(screen, "SIGINT"), "no SIGINT on screen:\n%s", screen);
    /* the probes saw the kernel raise it: told as the terminal's key, not as "a timer, a
     * fault, a child's end, or its terminal hanging up" */
    cr_expect(!strstr(screen, "raised SIGINT") || strstr(screen, "a terminal's driver"),
              "the Ctrl-C is not told as a key typed on the terminal:\n%s", screen);
    cr_expect_eq(rc, 128 + SIGINT, "q exits with the program's status, killed by SIGINT");
}

/* Without the probes (no root, or --no-bpf) Ctrl-Z and a Ctrl-C that ends the program are still
 * told: the program's reap came only from /proc ("task_reaped status -1", no word of a signal)
 * and its stop nowhere; the pty leader's wait() sees both, and the narration says which signal
 * stopped it and which killed it. */
Test(exec_tui, without_the_probes_ctrl_z_and_ctrl_c_are_told_by_their_signals, .timeout = 60)
{
    cr_assert_eq(ts_sh("cp /bin/cat %s/napper", g_dir), 0);
    struct ts_tui t;
    char args[512];
    snprintf(args, sizeof(args), "exec --no-bpf -- %s/napper", g_dir);
    ts_tui_start(&t, args, 120, 40);
    int shown = ts_tui_wait_for(&t, "napper", 20000);
    for (int i = 0; i < 100 && !find_program("napper"); i++)
        usleep(50000);
    ts_tui_keys(&t, "BTab"); /* the focus on the Output panel */
    ts_tui_wait_for(&t, "typing goes to the program", 5000);
    ts_tui_keys(&t, "C-z"); /* stopped, and continued at once by the leader */
    int stop_told = ts_tui_wait_for(&t, "napper was stopped by SIGTSTP", 10000);
    ts_tui_keys(&t, "C-c");
    int told = ts_tui_wait_for(&t, "napper was killed by SIGINT (status 130", 10000);
    int ended = ts_tui_wait_for(&t, "Checks:", 10000);
    char dash[sizeof(t.screen)];
    snprintf(dash, sizeof(dash), "%s", t.screen);
    /* projector mode's one narration line ends on the program, not on the leader's zombie */
    ts_tui_keys(&t, "BTab");
    ts_tui_keys(&t, "z");
    int projected = ts_tui_wait_for(&t, "Output (the program has ended):", 5000);
    char projector[sizeof(t.screen)];
    snprintf(projector, sizeof(projector), "%s", t.screen);
    char screen[sizeof(t.screen)];
    int rc = ts_tui_finish(&t, screen, sizeof(screen), "q");
    cr_assert(shown, "the program never showed:\n%s", screen);
    cr_expect(projected && strstr(projector, "killed by SIGINT") &&
                  !strstr(projector, "stays a zombie"),
              "the projector does not end on the program's death:\n%s", projector);
    cr_expect(stop_told, "Ctrl-Z's stop is not told:\n%s", screen);
    cr_expect(told, "the signal that ended the program is not told:\n%s", screen);
    cr_expect(strstr(dash, "task_reaped status 130") && !strstr(dash, "status -1"),
              "the program's reap without its status:\n%s", dash);
    cr_expect(ended, "the run did not end:\n%s", dash);
    cr_expect_eq(rc, 128 + SIGINT, "q exits with the program's status, killed by SIGINT");
}

/* The orphan lesson in the dashboard: the parent exits, the child it leaves in its group is
 * adopted (not ipcscope) and finishes; the session's end does not hang it up. */
Test(exec_tui, an_orphan_outlives_its_parent_and_is_not_hung_up, .timeout = 60)
{
    cr_assert_eq(compile("orphan", NULL), 0);
    struct ts_tui t;
    start_program(&t, NULL, "orphan", NULL, 160, 48);
    int done = ts_tui_wait_for(&t, "child done", 20000);
    int ended = done && ts_tui_wait_for(&t, "Checks:", 10000);
    char screen[sizeof(t.screen)];
    int rc = ts_tui_finish(&t, screen, sizeof(screen), "q");
    cr_assert(done, "the orphan never finished (hung up when its parent ended?):\n%s", screen);
    cr_expect(ended, "the run did not end after the orphan:\n%s", screen);
    cr_expect(strstr(screen, "adopted by") && !strstr(screen, "status 129"), "%s", screen);
    cr_expect(!strstr(screen, "SIGHUP to orphan") && !strstr(screen, "SIGHUP for orphan"),
              "the orphan got SIGHUP:\n%s", screen);
    cr_expect_eq(rc, 0);
}

/* Typing into the Output panel is the program's stdin on a terminal: the line is read, stdout
 * is a terminal (line-buffered, so the line before fork comes out once), the status shows. */
Test(exec_tui, keys_typed_into_the_output_panel_are_the_programs_stdin, .timeout = 60)
{
    cr_assert_eq(compile("stdio", NULL), 0);
    struct ts_tui t;
    start_program(&t, NULL, "stdio", NULL, 160, 48);
    ts_tui_wait_for(&t, "stdio", 20000);
    ts_tui_keys(&t, "BTab");
    ts_tui_wait_for(&t, "typing goes to the program", 5000);
    ts_tui_keys(&t, "hello Enter");
    int done = ts_tui_wait_for(&t, "parent done", 10000);
    int ended = done && ts_tui_wait_for(&t, "Checks:", 10000);
    char screen[sizeof(t.screen)];
    int rc = ts_tui_finish(&t, screen, sizeof(screen), "F10");
    cr_assert(done, "the program did not finish:\n%s", screen);
    cr_expect(strstr(screen, "read: hello"), "%s", screen);
    cr_expect(strstr(screen, "stdout is a terminal: yes"), "%s", screen);
    const char *first = strstr(screen, "before fork");
    cr_expect(first && !strstr(first + 1, "before fork"), "printed once on a terminal:\n%s",
              screen);
    cr_expect(ended, "the run did not end:\n%s", screen);
    cr_expect_eq(rc, 5, "exit %d, not the program's 5", rc);
}

/* q once the program has ended: ipcscope exits with the program's status, as headless (and
 * as without ipcscope); q while it still runs ends it and says so with 124, as --duration. */
Test(exec_tui, q_exits_with_the_programs_status, .timeout = 90)
{
    const struct {
        const char *args;
        int rc;
    } runs[] = {{"exec -- /bin/sh -c 'exit 3'", 3},
                {"exec -- /bin/sh SEGV", 128 + SIGSEGV},
                {"exec --delay 0 -- /bin/sleep 60", 124}}; /* a free run: sleeps for real */
    char script[256], args[320];
    snprintf(script, sizeof(script), "%s/segv.sh", g_dir); /* $$ in tmux's command line
                                                            * would be its shell's */
    cr_assert_eq(ts_sh("printf 'kill -SEGV $$\\n' > %s", script), 0);
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        struct ts_tui t;
        const char *segv = strstr(runs[i].args, "SEGV");
        snprintf(args, sizeof(args), "%.*s%s", segv ? (int)(segv - runs[i].args) : 255,
                 runs[i].args, segv ? script : "");
        ts_tui_start(&t, args, 120, 40);
        int ready = runs[i].rc == 124 ? ts_tui_wait_for(&t, "sleep", 20000)
                                      : ts_tui_wait_for(&t, "Checks:", 20000);
        char screen[sizeof(t.screen)];
        int rc = ts_tui_finish(&t, screen, sizeof(screen), "q");
        cr_assert(ready, "%s: not shown:\n%s", runs[i].args, screen);
        cr_expect_eq(rc, runs[i].rc, "%s: exit %d, want %d", runs[i].args, rc, runs[i].rc);
    }
}

/* Ctrl-Z typed into the Output panel stops the program through its terminal, not ipcscope
 * (whose own terminal is raw while the panel has the focus); with no shell to resume the job,
 * ipcscope-pty continues it at once, and it goes on reading its input. */
Test(exec_tui, ctrl_z_in_the_output_panel_stops_the_program_not_ipcscope, .timeout = 60)
{
    struct ts_tui t;
    start_program(&t, "/bin/cat", "kitty", NULL, 160, 48);
    int shown = ts_tui_wait_for(&t, "kitty", 20000);
    ts_tui_keys(&t, "BTab");
    int focused = ts_tui_wait_for(&t, "typing goes to the program", 5000);
    ts_tui_keys(&t, "C-z");
    /* the probes' record of it, or without them the leader's wait() told */
    int stopped = ts_tui_wait_for(&t, "SIGTSTP", 10000) &&
                  (ts_tui_wait_for(&t, "sig_deliver SIGTSTP", 1000) ||
                   ts_tui_wait_for(&t, "kitty was stopped by SIGTSTP", 1000));
    int conted = stopped && ts_tui_wait_for(&t, "SIGCONT", 5000);
    /* ipcscope itself is not stopped: it still draws, and takes the line for the program */
    ts_tui_keys(&t, "meow Enter");
    ts_tui_wait_for(&t, "meow", 5000);
    ts_tui_keys(&t, "C-d");
    int ended = ts_tui_wait_for(&t, "Checks:", 10000);
    char screen[sizeof(t.screen)];
    int rc = ts_tui_finish(&t, screen, sizeof(screen), "q");
    cr_assert(shown && focused, "no Output panel with the focus:\n%s", screen);
    cr_assert(stopped, "Ctrl-Z did not reach the program as SIGTSTP:\n%s", screen);
    cr_expect(conted, "the stop was not undone:\n%s", screen);
    const char *first = strstr(screen, "meow");
    cr_expect(first && strstr(first + 1, "meow"),
              "the line typed after Ctrl-Z was not echoed and then printed by the program:\n%s",
              screen);
    cr_assert(ended, "the program did not go on to read its end of input:\n%s", screen);
    cr_expect_eq(rc, 0, "exit %d", rc);
}

/* Moving the focus into the Output panel and out again does not resize the program's
 * terminal: no SIGWINCH reaches it (a window sends one only when it is resized). */
Test(exec_tui, moving_the_focus_sends_the_program_no_sigwinch, .timeout = 60)
{
    compile_source("winch", "#include <signal.h>\n#include <stdio.h>\n#include <unistd.h>\n"
                            "static volatile sig_atomic_t n;\n"
                            "static void on_winch(int s) { (void)s; n++; }\n"
                            "int main(void) { signal(SIGWINCH, on_winch); char c;\n"
                            "  while (read(0, &c, 1) == 1 && c != 'x') {}\n"
                            "  printf(\"winches: %d\\n\", (int)n); return 0; }\n");
    struct ts_tui t;
    start_program(&t, NULL, "winch", NULL, 160, 48);
    int shown = ts_tui_wait_for(&t, "Output", 20000);
    for (int i = 0; i < 3; i++) {
        ts_tui_keys(&t, "BTab");
        ts_tui_wait_for(&t, "typing goes to the program", 5000);
        ts_tui_keys(&t, "Tab");
        ts_sleep_ms(300);
    }
    ts_tui_keys(&t, "BTab");
    ts_tui_wait_for(&t, "typing goes to the program", 5000);
    ts_tui_keys(&t, "x Enter");
    int done = ts_tui_wait_for(&t, "winches:", 10000);
    char screen[sizeof(t.screen)];
    ts_tui_finish(&t, screen, sizeof(screen), "F10");
    cr_assert(shown && done, "the program did not finish:\n%s", screen);
    cr_expect(strstr(screen, "winches: 0"), "focus changes resized its terminal:\n%s", screen);
}

/* A sleeping program's kernel function (/proc's wchan) is on its row even when the column is
 * narrower than the name: cut with "…", not left out (it was blank, with ps saying
 * hrtimer_nanosleep). */
Test(exec_tui, a_long_wchan_is_cut_not_left_out, .timeout = 60)
{
    struct ts_tui t;
    ts_tui_start(&t, "exec --delay 0 -- /bin/sleep 5", 160, 48); /* free: a real sleep */
    int shown = ts_tui_wait_for(&t, "hrtimer_nano", 8000);
    char screen[sizeof(t.screen)];
    ts_tui_finish(&t, screen, sizeof(screen), "q");
    cr_assert(shown, "no wchan on the sleeping program's row:\n%s", screen);
    cr_expect(strstr(screen, "RUN free"), "a free run says so, not \"RUN 0ms\":\n%s", screen);
}

/* In projector mode the program's output is on screen too, and the pty leader's SIGHUP at its
 * session's end (seen with the probes) is told as what it is, not as the kernel's guess list. */
Test(exec_tui, the_projector_shows_the_programs_output_and_reads_the_leaders_sighup, .timeout = 60)
{
    cr_assert_eq(compile("notify_all", NULL), 0);
    struct ts_tui t;
    start_program(&t, NULL, "notify_all", NULL, 80, 24);
    ts_tui_wait_for(&t, "notify_all", 20000);
    ts_tui_keys(&t, "z");
    int ended = ts_tui_wait_for(&t, "Checks:", 20000);
    char screen[sizeof(t.screen)];
    int rc = ts_tui_finish(&t, screen, sizeof(screen), "q");
    cr_assert(ended, "the run did not end:\n%s", screen);
    cr_expect(strstr(screen, "Output (the program has ended):") &&
                  strstr(screen, "woken: 2; ran while main held the lock: 0"),
              "no output in projector mode:\n%s", screen);
    cr_expect(!strstr(screen, "raised SIGHUP for ipcscope-pty"),
              "the leader's SIGHUP read as the kernel's guess list:\n%s", screen);
    if (strstr(screen, "bpf✓"))
        cr_expect(strstr(screen, "session leader of the program's"), "%s", screen);
    cr_expect_eq(rc, 0);
}
