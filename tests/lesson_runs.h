/*
 * lesson_runs.h - small parameters for a quick stepped run of every scenario, shared by
 * tests/test_code_panel.c and tests/test_predict.c (each run steps every action, so the
 * lessons are kept short; what is left is each scenario's lesson at its smallest).
 */
#ifndef IPCSCOPE_TESTS_LESSON_RUNS_H
#define IPCSCOPE_TESTS_LESSON_RUNS_H

#include <criterion/criterion.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

#endif
