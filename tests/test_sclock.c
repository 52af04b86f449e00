/*
 * test_sclock.c - the scenario clock and the gate as their own state.
 *
 * Scenario code waits only through the scenario clock (a source scan), time spent at the
 * gate is counted as gate time and never as blocked time, and a timed wait is a step due
 * when it ends: a teacher who stops to talk between steps changes nothing in the lesson.
 */
#define _GNU_SOURCE
#include "support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Calls and clocks that wait on (or measure against) the wall clock. A line may use one
 * when it says why, with "sclock-ok:" in a comment (a measurement, not a wait). */
static const char *const FORBIDDEN[] = {
    "nanosleep(",
    "usleep(",
    "clock_nanosleep(",
    "alarm(",
    "setitimer(",
    "timer_settime(",
    "pthread_cond_timedwait(",
    "sem_timedwait(",
    "CLOCK_MONOTONIC",
    "CLOCK_REALTIME",
    "time(NULL)",
    "timerfd_settime(",
};

/* 1 when p (in line) is inside a string literal: an odd number of quotes before it. */
static int in_string(const char *line, const char *p)
{
    int quotes = 0;
    for (const char *q = line; q < p; q++)
        if (*q == '"' && (q == line || q[-1] != '\\'))
            quotes++;
    return quotes % 2;
}

/* The forbidden call line (code, not a comment or a string) uses without saying why. */
static const char *offence(const char *line)
{
    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (p[0] == '*' || (p[0] == '/' && (p[1] == '*' || p[1] == '/')))
        return NULL; /* a comment line */
    if (strstr(line, "sclock-ok:"))
        return NULL;
    for (size_t i = 0; i < sizeof(FORBIDDEN) / sizeof(FORBIDDEN[0]); i++) {
        const char *hit = strstr(line, FORBIDDEN[i]);
        if (!hit || in_string(line, hit))
            continue;
        const char *c = strstr(line, "/*"); /* after a trailing comment's start: text */
        if (c && c < hit)
            continue;
        return FORBIDDEN[i];
    }
    /* a bare sleep(): not ipc_sleep_ms, sclock_sleep, net_sleep_ms ... */
    for (const char *s = strstr(line, "sleep("); s; s = strstr(s + 1, "sleep(")) {
        char before = s == line ? ' ' : s[-1];
        if ((before == ' ' || before == '\t' || before == '(' || before == '!') &&
            !in_string(line, s))
            return "sleep(";
    }
    return NULL;
}

static int scan_file(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert(f, "cannot open %s", path);
    char line[1024];
    int bad = 0, n = 0;
    while (fgets(line, sizeof(line), f)) {
        n++;
        const char *what = offence(line);
        if (what) {
            cr_log_error("%s:%d: %s outside the scenario clock: %s", path, n, what, line);
            bad++;
        }
    }
    fclose(f);
    return bad;
}

Test(sclock, scenario_code_has_no_wall_clock_wait)
{
    int bad = 0, files = 0;
    const char *dir = IPCSCOPE_SOURCE_DIR "/src/scenarios";
    DIR *d = opendir(dir);
    cr_assert(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 3 || strcmp(de->d_name + len - 2, ".c") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        bad += scan_file(path);
        files++;
    }
    closedir(d);
    const char *helpers[] = {"instr_ipc.c", "instr_net.c", "instr_sync.c"};
    for (size_t i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/src/%s", IPCSCOPE_SOURCE_DIR, helpers[i]);
        bad += scan_file(path);
        files++;
    }
    cr_assert(files > 30, "only %d files scanned", files);
    cr_assert_eq(bad, 0, "%d wall-clock waits outside the scenario clock (see the log)", bad);
}

/* The task of snap in state "gate" with the most gate time, or NULL. */
static json_t *longest_at_gate(json_t *snap)
{
    json_t *best = NULL, *t;
    size_t i;
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        if (strcmp(ts_str(t, "state"), "gate") != 0)
            continue;
        if (!best || json_real_value(json_object_get(t, "gate_ms")) >
                         json_real_value(json_object_get(best, "gate_ms")))
            best = t;
    }
    return best;
}

Test(sclock, five_seconds_at_the_gate_are_gate_time_not_blocked_time, .timeout = 90)
{
    struct ts_driver d;
    const char *params[] = {"items=8", NULL};
    ts_driver_start(&d, "prodcons", params, NULL);
    ts_driver_cmd(&d, "step 2");
    json_t *before = ts_driver_snapshot(&d, 30);
    json_t *t0 = longest_at_gate(before);
    cr_assert(t0, "no task waits at the gate after two steps");
    char name[64];
    snprintf(name, sizeof(name), "%s", ts_str(t0, "name"));
    double gate0 = json_real_value(json_object_get(t0, "gate_ms"));
    double blocked0 = json_real_value(json_object_get(t0, "blocked_ms"));
    json_decref(before);

    ts_driver_cmd(&d, "wait 5000");
    json_t *after = ts_driver_snapshot(&d, 30);
    json_t *t = ts_find_named(json_object_get(after, "tasks"), name);
    cr_assert(t);
    cr_assert_str_eq(ts_str(t, "state"), "gate");
    double gate = json_real_value(json_object_get(t, "gate_ms"));
    double blocked = json_real_value(json_object_get(t, "blocked_ms"));
    cr_assert_geq(gate - gate0, 5000.0, "%s: gate_ms grew by %.1f over 5 s at the gate", name,
                  gate - gate0);
    cr_assert_lt(blocked - blocked0, 1.0, "%s: 5 s at the gate counted %.1f ms as blocked", name,
                 blocked - blocked0);
    json_decref(after);
    ts_driver_cmd(&d, "finish");
    json_t *end = ts_driver_snapshot(&d, 60);
    cr_assert(json_is_true(json_object_get(end, "completed")));
    ts_assert_check_ok(end);
    json_decref(end);
    cr_assert_eq(ts_driver_end(&d, 30), 0);
}

/* tcp-handshake's server waits accept_delay_ms before accept(): stepped with a long pause
 * between steps, the delay is one step due after the clients connect, so the accept queue
 * fills whatever the teacher's pace. */
Test(sclock, a_pause_between_steps_does_not_run_out_a_delay, .timeout = 120)
{
    struct ts_driver d;
    ts_driver_start(&d, "tcp-handshake", NULL, NULL);
    ts_driver_cmd(&d, "step 4");
    ts_driver_cmd(&d, "wait 2000"); /* longer than the 600 ms delay */
    ts_driver_cmd(&d, "step 4");
    ts_driver_cmd(&d, "wait 2000");
    ts_driver_cmd(&d, "finish");
    json_t *end = ts_driver_snapshot(&d, 90);
    cr_assert(json_is_true(json_object_get(end, "completed")));
    ts_assert_check_ok(end);
    cr_assert_eq(ts_int(end, "connected_before_accept"), 3);
    cr_assert_geq(ts_int(end, "accept_queue_max"), 1);
    json_decref(end);
    cr_assert_eq(ts_driver_end(&d, 30), 0);
}
