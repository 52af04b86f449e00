/*
 * support.h - helpers shared by the Criterion suites in tests/ (linked into every test_*.c).
 *
 * Running the real binary with its output captured, reading a run's JSON snapshot and JSON
 * Lines trace, reading /proc (a process's stat, its descendants, whether it is alive), the
 * /dev/shm and /dev/mqueue leak scans, temporary directories and small clock helpers. Every
 * name is prefixed ts_. Helpers that assert do so with cr_assert, as the suites would.
 */
#ifndef IPCSCOPE_TESTS_SUPPORT_H
#define IPCSCOPE_TESTS_SUPPORT_H

#include <criterion/criterion.h>

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* An assertion that reports only when it fails: the trace checks make hundreds of thousands,
 * and under ctest (--full-stats) every passing cr_assert is a message to the runner. */
#define TS_REQUIRE(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond))                                                                               \
            cr_assert_fail(__VA_ARGS__);                                                           \
    } while (0)

/* cr_skip_test, after running the suite's or test's .fini by hand: Criterion runs no .fini
 * for a skipped test, so a skip after .init made a directory (or started a server) left it
 * behind. The cleanup must be safe to run twice. */
#define TS_SKIP_AFTER(cleanup, ...)                                                                \
    do {                                                                                           \
        cleanup();                                                                                 \
        cr_skip_test(__VA_ARGS__);                                                                 \
    } while (0)

/* ---- clocks ---- */

uint64_t ts_now_ns(void); /* CLOCK_MONOTONIC */
long ts_now_ms(void);
void ts_sleep_ms(unsigned ms); /* the whole time, even when a signal interrupts it */

/* ---- files and shell ---- */

/* The whole file as a string (malloc'd; "" when it cannot be opened). */
char *ts_slurp(const char *path);
/* Up to n-1 bytes of path into buf, NUL-terminated; 0, or -1 when nothing could be read. */
int ts_read_file(const char *path, char *buf, size_t n);
/* system() on the formatted command; its exit code, -1 when it did not exit. */
int ts_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* mkdtemp(tmpl) (tmpl ends in XXXXXX), asserting it worked. */
void ts_mkdtemp(char *tmpl);
/* rm -rf dir; the exit code of rm. */
int ts_rmtree(const char *dir);

/* ---- running a program ---- */

struct ts_result {
    int status; /* raw wait status */
    int hung;   /* killed after the timeout */
    char *out, *err;
};

struct ts_run_opts {
    int timeout_s;   /* SIGKILL after this many seconds (and hung set); 0: wait forever */
    int stdin_null;  /* stdin from /dev/null (else inherited) */
    int search_path; /* execvp instead of execv */
    const char *cwd; /* chdir here first (exit 126 when it cannot), or NULL */
    const char *env; /* one extra NAME=VALUE, or NULL */
    size_t mem_cap;  /* RLIMIT_AS of the child in bytes, or 0 */
};

/* Run argv (NULL-terminated) with stdout and stderr captured through files (no pipe can fill
 * up); opts may be NULL (no timeout, stdin inherited). */
struct ts_result ts_run(char *const argv[], const struct ts_run_opts *opts);
void ts_free_result(struct ts_result *r);

/* ---- JSON, traces and their events ---- */

/* Every line of a JSON Lines file, parsed (asserts each line parses); *n gets the count. */
json_t **ts_load_jsonl(const char *path, size_t *n);
void ts_free_jsonl(json_t **lines, size_t n);
/* o[key] as a string ("" when absent), as an integer (0 when absent). */
const char *ts_str(json_t *o, const char *key);
long long ts_int(json_t *o, const char *key);
/* 1 when event e is of kind ("ev"). */
int ts_is_ev(json_t *e, const char *kind);
/* The element of array arr whose "name" is name, or NULL. */
json_t *ts_find_named(json_t *arr, const char *name);
/* Assert that the snapshot's own check passed ("scenario check failed: WHY"). */
void ts_assert_check_ok(json_t *snap);

/* ---- /proc ---- */

struct ts_stat {
    char comm[16];
    char state;
    pid_t ppid, pgid;
    long utime, stime; /* clock ticks (fields 14, 15) */
    int nice;          /* field 19 */
    int cpu;           /* the CPU it last ran on (field 39) */
};

/* Parse a /proc/.../stat file (a process's or a thread's); 0, or -1 when it is gone. */
int ts_stat_path(const char *path, struct ts_stat *st);
/* /proc/PID/stat; 0, or -1 when it is gone. */
int ts_stat(pid_t pid, struct ts_stat *st);
/* Processes whose parent is parent, into out (up to max); the count. */
int ts_children(pid_t parent, pid_t *out, int max);
/* Every process whose chain of parents (up to 8 deep) reaches root, with its parent, into
 * pids and ppids (up to max); the count. */
size_t ts_descendants(pid_t root, pid_t *pids, pid_t *ppids, size_t max);
/* 1 when pid exists and is neither a zombie nor dead. */
int ts_pid_alive(pid_t pid);
/* Reap every child that has ended, without blocking. */
void ts_reap(void);

/* ---- IPC leak scans ---- */

/* Names in dir containing "ipcscope", as one newline-separated string (malloc'd). */
char *ts_ipc_entries(const char *dir);
/* How many names of after (from ts_ipc_entries) are not in before; each is logged. */
int ts_new_ipc_entries(const char *before, const char *after);
/* Assert that no name in dir starts with prefix ("left DIR/NAME"). */
void ts_assert_no_entry_with_prefix(const char *dir, const char *prefix);

/* ---- a scenario run, headless, with /proc or sock_diag sampled meanwhile ---- */

struct ts_scenario {
    pid_t pid;  /* the binary's */
    int status; /* its wait status */
    json_t *snap;
    json_t **trace; /* every line of the --record file */
    size_t ntrace;
};

/* Called every period_us while the binary runs: t_ms since it started. */
typedef void (*ts_sampler)(void *arg, pid_t pid, long t_ms);

/* Run `ipcscope run ID --headless --json --record F [--param P]...` as a child subreaper
 * (a params entry that starts with '-', such as "--no-bpf", is passed as it is),
 * calling sample meanwhile; asserts it ends by itself within 50 s with exit 0, and loads the
 * snapshot and the trace into out (IPCSCOPE_KEEP_TRACE set: the trace file is kept). */
void ts_run_scenario(const char *id, const char *const *params, ts_sampler sample, void *arg,
                     unsigned period_us, struct ts_scenario *out);

/* ---- a scenario driven step by step (`--headless --script -`) ---- */

struct ts_driver {
    pid_t pid;  /* the binary's */
    FILE *cmd;  /* its stdin: one command a line */
    FILE *out;  /* its stdout: one JSON snapshot a line */
    int status; /* its wait status, once ts_driver_end has run */
    char err_path[64];
};

/* Start `ipcscope run ID --headless --script - [extra...] [--param P]...` (params and extra
 * NULL-terminated, either may be NULL) with pipes on its stdin and stdout. */
void ts_driver_start(struct ts_driver *d, const char *id, const char *const *params,
                     const char *const *extra);
/* Send one command line (printf format). */
void ts_driver_cmd(struct ts_driver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Send `snapshot` and read its answer (asserts one JSON line comes within timeout_s). */
json_t *ts_driver_snapshot(struct ts_driver *d, int timeout_s);
/* Close its stdin and wait for it (SIGKILL after timeout_s); returns the exit code, or
 * 128+signal, for the caller to judge. Its stderr is printed when the code is not 0 - on
 * stderr, never as a Criterion warning or error, which would make the suite exit 1 even
 * when the caller accepts the code. */
int ts_driver_end(struct ts_driver *d, int timeout_s);

/* Step scenario id (params as ts_driver_start) until its task `name` is blocked, then let
 * pause_ms pass with the gate held (a teacher explaining) and return how many times the kernel
 * put that task to sleep meanwhile (voluntary_ctxt_switches): a task blocked in a real call
 * sleeps through the pause. Asserts the task blocked within 60 steps, is still blocked after
 * the pause, and that the run then finishes with exit 0. */
long long ts_wakeups_in_a_pause(const char *id, const char *const *params, const char *name,
                                long pause_ms);

/* Step scenario id until its task `name` waits at the gate, let pause_ms pass with the gate
 * held, and return how many times the kernel put that task to sleep meanwhile: a task at
 * the gate sleeps on its gate word until the teacher's next Space. Asserts it got there
 * within 60 steps and is still there after the pause, and that the run ends with exit 0. */
/* The same at the gate with action (the snapshot's gate_action: "note" for a wait drawn as
 * gate time, such as signals' sender waiting for the receiver's handler). */
long long ts_gate_action_wakeups_in_a_pause(const char *id, const char *const *params,
                                            const char *name, const char *action, long pause_ms);
long long ts_gate_wakeups_in_a_pause(const char *id, const char *const *params, const char *name,
                                     long pause_ms);

/* ---- the real TUI in a detached tmux session ---- */

struct ts_tui {
    char sock[64]; /* the private tmux socket (-L) */
    char dir[128]; /* where the wrapper leaves stty before/after and the exit code */
    char screen[65536];
};

/* Run `ipcscope ARGS` in a w x h pane (a shell wrapper records stty and the exit code);
 * skips the test when tmux is missing. */
void ts_tui_start(struct ts_tui *t, const char *args, int w, int h);
/* The screen now (also left in t->screen). */
const char *ts_tui_capture(struct ts_tui *t);
/* 1 when the screen shows text within ms. */
int ts_tui_wait_for(struct ts_tui *t, const char *text, int ms);
/* tmux send-keys (key names as tmux takes them: "Space", "q", "C-c"). */
void ts_tui_keys(struct ts_tui *t, const char *keys);
/* Its exit code once it ended, -1 when not within ms. */
int ts_tui_wait_exit(struct ts_tui *t, int ms);

/* One step, as a teacher's Space: press it and wait (up to ms) until the header's step count
 * has moved on, then (up to ms again) until a task is at the gate for the next one, so a look
 * at the screen after it sees that step, not the one before, and the next Space is not pressed
 * with nobody at the gate, however loaded the machine. 1 when it moved (or the run is over),
 * else 0. t->screen holds the screen after it. */
int ts_tui_step(struct ts_tui *t, int ms);
/* Kill the tmux server and remove the directory. */
void ts_tui_stop(struct ts_tui *t);
/* The end of a dashboard test: the screen now copied into screen (n bytes), then key pressed
 * ("q", "F10"), ipcscope waited for (10 s at most) and the session stopped. Returns its exit
 * code, -1 when it did not exit. */
int ts_tui_finish(struct ts_tui *t, char *screen, size_t n, const char *key);
/* Kill the tmux server on socket name sock, and remove its socket file (tmux leaves it in
 * /tmp/tmux-UID, a file per test otherwise). */
void ts_tmux_kill(const char *sock);

/* ---- reading a captured screen ---- */

/* Walks text (a captured screen) a line at a time: copies the line *pos starts into line
 * (without its newline, cut to size - 1 bytes) and moves *pos to the next line. Returns 0,
 * copying nothing, when no line is left:
 *     for (const char *p = screen; ts_next_line(&p, line, sizeof(line));) ... */
int ts_next_line(const char **pos, char *line, size_t size);
/* The first line of screen that contains text and also want (unless want is NULL), copied
 * into out (without its newline, cut to n - 1 bytes). Returns 1, or 0 when no line has both. */
int ts_line_with(const char *screen, const char *text, const char *want, char *out, size_t n);

/* ---- models built by hand ---- */

struct model;
/* Initialise m (cap: its history's and its spans' capacity) with one process started in slot
 * 1, pid and tid 10, named name: what narration tests build on. */
void ts_model_one_process(struct model *m, size_t cap, const char *name);

#endif
