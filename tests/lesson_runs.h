/*
 * lesson_runs.h - small parameters for a quick stepped run of every scenario, shared by
 * tests/test_code_panel.c and tests/test_predict.c (each run steps every action, so the
 * lessons are kept short; what is left is each scenario's lesson at its smallest).
 */
#ifndef IPCSCOPE_TESTS_LESSON_RUNS_H
#define IPCSCOPE_TESTS_LESSON_RUNS_H

#include <criterion/criterion.h>

#include "support.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A parameter of the tests over the scenario table (copied, as Criterion wants). */
struct lesson_scn {
    char id[32];
};

/* IPCSCOPE_TEST_ONLY=ID runs one scenario's case and skips the others (while working on it). */
static inline void lesson_only(const char *id)
{
    const char *only = getenv("IPCSCOPE_TEST_ONLY");
    if (only && strcmp(only, id) != 0)
        cr_skip_test("IPCSCOPE_TEST_ONLY=%s", only);
}

struct lesson_run_params {
    const char *id;
    const char *params[6]; /* NULL-terminated */
};

static const struct lesson_run_params LESSON_RUNS[] = {
    {"layers", {"capture=0", NULL}},
    {"tcp-echo", {"messages=2", "gap_ms=20", NULL}},
    {"tcp-handshake", {"capture=0", "accept_delay_ms=300", NULL}},
    {"tcp-teardown", {"capture=0", "hold_ms=100", NULL}},
    {"http", {"requests=1", "gap_ms=10", NULL}},
    {"udp-echo", {NULL}},
    {"reuseaddr", {NULL}},
    {"udp-broadcast", {NULL}},
    {"select-server", {NULL}},
    {"poll-server", {NULL}},
    {"epoll-server", {NULL}},
    {"epoll-et-lt", {NULL}},
    {"fork", {NULL}},
    {"orphan", {NULL}},
    {"zombie", {NULL}},
    {"states", {NULL}},
    {"nice", {NULL}},
    {"process-pool", {NULL}},
    {"prodcons", {"items=8", NULL}},
    {"pipe", {NULL}},
    {"message-queue", {NULL}},
    {"shared-memory", {"increments=3", NULL}},
    {"signals", {NULL}},
    {"semaphore", {"rounds=2", NULL}},
    {"lock", {"width=3", "rounds=1", NULL}},
    {"event", {NULL}},
    {"deadlock", {NULL}},
    {"philosophers", {NULL}},
    {"threads", {NULL}},
    {"condition", {"items=4", NULL}},
    {"concurrency", {NULL}},
    {"forking-server", {NULL}},
    {"threading-server", {NULL}},
};

#define LESSON_NRUNS (sizeof(LESSON_RUNS) / sizeof(LESSON_RUNS[0]))

static inline const struct lesson_run_params *lesson_run_params_of(const char *id)
{
    for (size_t i = 0; i < LESSON_NRUNS; i++)
        if (strcmp(LESSON_RUNS[i].id, id) == 0)
            return &LESSON_RUNS[i];
    return NULL;
}

/* ---- the dashboard in a private tmux server (skipped without tmux) ---- */

struct lesson_tmux {
    char sock[64];
    char screen[65536];
};

/* Start `ipcscope ARGS` in a W x H pane of a tmux server of our own. */
static inline void lesson_tmux_start(struct lesson_tmux *t, int w, int h, const char *args)
{
    if (ts_sh("command -v tmux >/dev/null 2>&1") != 0)
        cr_skip_test("needs tmux");
    snprintf(t->sock, sizeof(t->sock), "ipcscope-lesson-%d", (int)getpid());
    int rc = ts_sh("tmux -L %s -f /dev/null new-session -d -s s -x %d -y %d \"env LANG=C.UTF-8 "
                   "LC_ALL= TERM=tmux-256color NO_COLOR= %s %s; sleep 600\"",
                   t->sock, w, h, IPCSCOPE_BIN, args);
    cr_assert_eq(rc, 0, "tmux new-session failed");
}

static inline const char *lesson_tmux_screen(struct lesson_tmux *t)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "tmux -L %s capture-pane -p -t s 2>/dev/null", t->sock);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(t->screen, 1, sizeof(t->screen) - 1, p) : 0;
    t->screen[n] = '\0';
    if (p)
        pclose(p);
    return t->screen;
}

/* Poll the screen until it shows text: 1 when it did within ms. */
static inline int lesson_tmux_wait(struct lesson_tmux *t, const char *text, int ms)
{
    for (int waited = 0; waited <= ms; waited += 50) {
        if (strstr(lesson_tmux_screen(t), text))
            return 1;
        ts_sleep_ms(50);
    }
    return 0;
}

static inline void lesson_tmux_keys(struct lesson_tmux *t, const char *keys)
{
    ts_sh("tmux -L %s send-keys -t s %s", t->sock, keys);
}

static inline void lesson_tmux_stop(struct lesson_tmux *t)
{
    if (t->sock[0])
        ts_tmux_kill(t->sock);
    t->sock[0] = '\0';
}

#endif
