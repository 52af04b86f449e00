/*
 * test_trace.c - the Perfetto export of a recorded run.
 *
 * A prodcons trace converts into Chrome/Perfetto trace events: a name for every task, its
 * state intervals (never negative), and the semaphores' values as counters that stay within
 * their bounds and end where the run ended. Bad input is refused with the usual exit codes.
 * The writer keeps every line valid JSON whatever the names hold (quotes, control bytes, a
 * UTF-8 character cut in half), and replay reads back what it wrote.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "event.h"
#include "instr.h"
#include "model.h"
#include "support.h"
#include "trace.h"
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

/* Write the events of one task and one semaphore whose names hold what JSON must escape,
 * read every line back as JSON, then replay the file into a model. */
Test(trace, writer_escapes_names_and_replay_reads_them_back, .timeout = 30)
{
    char path[] = "/tmp/ipcscope-test-writerXXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    char err[256];
    struct trace_writer *f = trace_create(path, "prodcons", NULL, 0, err, sizeof(err));
    cr_assert_not_null(f, "%s", err);

    /* "世" is e4 b8 96: the name ends after its first two bytes, as a cut name would */
    const char task[] = "a\"b\\c\td\x01\xe4\xb8";
    const char obj[] = "\xe4\xb8\x96\xff";
    struct ev start = {.t = 1000,
                       .kind = EV_TASK_START,
                       .src = EV_SRC_INSTR,
                       .task = 1,
                       .pid = 42,
                       .tid = 42,
                       .obj = EV_NO_OBJ,
                       .item = TK_PROCESS,
                       .aux = 1};
    struct ev create = {.t = 2000,
                        .kind = EV_OBJ_CREATE,
                        .src = EV_SRC_INSTR,
                        .task = 1,
                        .pid = 42,
                        .tid = 42,
                        .obj = 0,
                        .seq = 0,
                        .val = 3,
                        .item = 3,
                        .aux = OK_SEMAPHORE};
    struct ev post = create;
    post.t = 3000, post.kind = EV_SEM_POST, post.seq = 1, post.val = -123456789012LL;
    post.item = 0, post.aux = 0;
    struct ev note = {.t = 4000,
                      .kind = EV_NOTE,
                      .src = EV_SRC_INSTR,
                      .task = 1,
                      .pid = 42,
                      .tid = 42,
                      .obj = EV_NO_OBJ,
                      .flags = EVF_TEXT};
    memcpy(note.text, "\"quoted\"\n\xe4\xb8\x96 full text fills 32!", EV_TEXT_MAX);
    trace_write_event(f, &start, 0, task, NULL);
    trace_write_event(f, &create, 0, task, obj);
    trace_write_event(f, &post, 0, task, obj);
    trace_write_event(f, &note, 0, task, NULL);
    cr_assert_eq(trace_finish(f, json_pack("{s:i}", "dropped", 0), err, sizeof(err)), 0, "%s", err);

    FILE *in = fopen(path, "r");
    cr_assert_not_null(in);
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0;
    while (getline(&line, &cap, in) >= 0) {
        lineno++;
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        cr_assert_not_null(o, "line %d is not JSON (%s): %s", lineno, jerr.text, line);
        if (lineno >= 2 && lineno <= 5)
            cr_expect_str_eq(json_string_value(json_object_get(o, "task")),
                             "a\"b\\c\td\x01\xef\xbf\xbd\xef\xbf\xbd",
                             "line %d: cut bytes become U+FFFD", lineno);
        if (lineno == 3 || lineno == 4)
            cr_expect_str_eq(json_string_value(json_object_get(o, "obj")),
                             "\xe4\xb8\x96\xef\xbf\xbd");
        if (lineno == 4)
            cr_expect_eq(json_integer_value(json_object_get(o, "val")), -123456789012LL);
        if (lineno == 5)
            cr_expect_str_eq(json_string_value(json_object_get(o, "text")),
                             "\"quoted\"\n\xe4\xb8\x96 full text fills 32!");
        json_decref(o);
    }
    free(line);
    fclose(in);
    cr_expect_eq(lineno, 6, "header, four events, trailer");

    struct model m;
    cr_assert_eq(model_init(&m, 64, 64), 0);
    json_t *hdr = NULL, *trl = NULL;
    cr_assert_eq(trace_replay(path, &m, &hdr, &trl, err, sizeof(err)), 0, "%s", err);
    struct model_obj *o = model_obj(&m, 0);
    cr_assert_not_null(o);
    cr_expect_eq(o->value, -123456789012LL);
    cr_expect_eq(o->capacity, 3);
    cr_expect_eq(m.total, 4);
    json_decref(hdr);
    json_decref(trl);
    model_free(&m);
    unlink(path);
}
