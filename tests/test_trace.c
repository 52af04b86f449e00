/*
 * test_trace.c - the Perfetto export of a recorded run.
 *
 * A prodcons trace converts into Chrome/Perfetto trace events: a name for every task, its
 * state intervals (never negative), and the semaphores' values as counters that stay within
 * their bounds and end where the run ended. Bad input is refused with the usual exit codes.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

Test(trace, perfetto_export_names_tasks_spans_and_counters, .timeout = 60)
{
    char dir[] = "/tmp/ipcscope-test-trace-XXXXXX";
    ts_mkdtemp(dir);
    char rec[256], out[256];
    snprintf(rec, sizeof(rec), "%s/run.jsonl", dir);
    snprintf(out, sizeof(out), "%s/perfetto.json", dir);
    cr_assert_eq(ts_sh("%s run prodcons --headless --param items=300 --record %s >/dev/null",
                       IPCSCOPE_BIN, rec),
                 0);
    cr_assert_eq(ts_sh("%s export %s --perfetto %s 2>/dev/null", IPCSCOPE_BIN, rec, out), 0);

    json_error_t err;
    json_t *doc = json_load_file(out, 0, &err);
    cr_assert_not_null(doc, "export is not JSON: %s", err.text);
    json_t *evs = json_object_get(doc, "traceEvents");
    cr_assert(json_is_array(evs) && json_array_size(evs) > 0);

    int names = 0, spans = 0, counters = 0, negative = 0, out_of_bounds = 0;
    long long last_empty = -1, last_full = -1;
    double last_empty_ts = -1, last_full_ts = -1;
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e)
    {
        const char *ph = json_string_value(json_object_get(e, "ph"));
        const char *name = json_string_value(json_object_get(e, "name"));
        cr_assert_not_null(ph);
        if (strcmp(ph, "M") == 0)
            names++;
        if (strcmp(ph, "X") == 0) {
            spans++;
            negative += json_number_value(json_object_get(e, "dur")) < 0;
        }
        if (strcmp(ph, "C") == 0 && name) {
            counters++;
            long long v = json_integer_value(json_object_get(json_object_get(e, "args"), "value"));
            double ts = json_number_value(json_object_get(e, "ts"));
            int is_empty = strcmp(name, "empty") == 0, is_full = strcmp(name, "full") == 0;
            if ((is_empty || is_full) && (v < 0 || v > 4))
                out_of_bounds++;
            if (is_empty && ts >= last_empty_ts)
                last_empty = v, last_empty_ts = ts;
            if (is_full && ts >= last_full_ts)
                last_full = v, last_full_ts = ts;
        }
    }
    cr_expect_geq(names, 5, "a thread name for ipcscope and each of the 4 workers (%d)", names);
    cr_expect_gt(spans, 0);
    cr_expect_eq(negative, 0, "%d state intervals have a negative duration", negative);
    cr_expect_gt(counters, 0);
    cr_expect_eq(out_of_bounds, 0, "%d semaphore counter values outside 0..4", out_of_bounds);
    cr_expect_eq(last_empty, 4, "empty ends at the capacity (got %lld)", last_empty);
    cr_expect_eq(last_full, 0, "full ends at 0 (got %lld)", last_full);
    json_decref(doc);

    cr_assert_eq(ts_rmtree(dir), 0);
}

Test(trace, export_refuses_bad_input, .timeout = 30)
{
    cr_expect_eq(ts_sh("%s export %s --perfetto %s 2>/dev/null", IPCSCOPE_BIN,
                       "/nonexistent/trace.jsonl", "/tmp/ipcscope-test-never.json"),
                 1, "a missing trace is a runtime failure (1)");
    cr_expect_eq(ts_sh("%s export %s 2>/dev/null", IPCSCOPE_BIN, "/tmp/whatever.jsonl"), 2,
                 "export without --perfetto is a usage error (2)");
}
