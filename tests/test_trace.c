/*
 * test_trace.c - recording, reading back, replaying and exporting traces.
 *
 * A prodcons trace converts into Chrome/Perfetto trace events: a name for every task, its
 * state intervals (never negative), and the semaphores' values as counters that stay within
 * their bounds and end where the run ended. The writer keeps every line valid JSON whatever
 * the names hold; a .zst recording is a zstd stream the zstd tool reads and replays like the
 * run; --record-limit stops the recording (not the run) and the file says where; a write
 * that fails is reported and the run exits 1. Replay jumps anywhere through checkpoints and
 * must show exactly what a replay from the start shows. Bad input gets the usual exit codes.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "event.h"
#include "instr.h"
#include "model.h"
#include "replay.h"
#include "support.h"
#include "synth_trace.h"
#include "trace.h"
#include "trace_int.h"
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

Test(trace, perfetto_export_names_tasks_spans_and_counters, .timeout = 60)
{
    char dir[] = "/tmp/ipcscope-test-trace-XXXXXX";
    ts_mkdtemp(dir);
    char rec[256], out[256];
    snprintf(rec, sizeof(rec), "%s/run.jsonl", dir);
    snprintf(out, sizeof(out), "%s/perfetto.json", dir);
    cr_assert_eq(ts_sh("%s run prodcons --headless --param items=300 --param capacity=4 --record "
                       "%s >/dev/null",
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

/* ---- compressed recordings, limits, failed writes ---- */

static struct ts_result run_cmd(const char *fmt, const char *a, const char *b)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), fmt, IPCSCOPE_BIN, a, b);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    struct ts_run_opts o = {.timeout_s = 120, .stdin_null = 1};
    return ts_run(argv, &o);
}

static int exit_code(const struct ts_result *r)
{
    return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* The tasks' states and the objects' values of two snapshots are the same. */
static void expect_same_state(json_t *live, json_t *rep)
{
    json_t *lt = json_object_get(live, "tasks"), *rt = json_object_get(rep, "tasks");
    cr_expect_eq(json_array_size(lt), json_array_size(rt));
    size_t i;
    json_t *t;
    json_array_foreach(lt, i, t)
    {
        json_t *u = ts_find_named(rt, ts_str(t, "name"));
        cr_assert_not_null(u, "task %s missing from the replay", ts_str(t, "name"));
        cr_expect_str_eq(ts_str(u, "state"), ts_str(t, "state"));
    }
    json_t *lo = json_object_get(live, "objects"), *ro = json_object_get(rep, "objects");
    cr_expect_eq(json_array_size(lo), json_array_size(ro));
    json_array_foreach(lo, i, t)
    {
        json_t *u = ts_find_named(ro, ts_str(t, "name"));
        cr_assert_not_null(u, "object %s missing from the replay", ts_str(t, "name"));
        cr_expect_eq(ts_int(u, "value"), ts_int(t, "value"), "object %s", ts_str(t, "name"));
        cr_expect_eq(ts_int(u, "max"), ts_int(t, "max"), "object %s", ts_str(t, "name"));
    }
}

Test(trace, zst_recording_is_a_zstd_stream_of_json_lines_and_replays_like_the_run, .timeout = 120)
{
    char dir[] = "/tmp/ipcscope-test-zst-XXXXXX", rec[256];
    ts_mkdtemp(dir);
    snprintf(rec, sizeof(rec), "%s/run.jsonl.zst", dir);
    struct ts_result live = run_cmd("%s run prodcons --headless --json --param items=3000 "
                                    "--record %s%s",
                                    rec, "");
    cr_assert_eq(exit_code(&live), 0, "%s", live.err);
    unsigned char magic[4] = {0};
    FILE *f = fopen(rec, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fread(magic, 1, 4, f), 4);
    fclose(f);
    cr_expect(magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd,
              "not a zstd frame");

    if (ts_sh("command -v zstd >/dev/null") == 0) { /* the standard tool reads it */
        char plain[300];
        snprintf(plain, sizeof(plain), "%s/run.jsonl", dir);
        cr_assert_eq(ts_sh("zstd -q -d -c %s > %s", rec, plain), 0, "zstd cannot read it");
        size_t n;
        json_t **lines = ts_load_jsonl(plain, &n); /* asserts each line is JSON */
        cr_expect_gt(n, 3000);
        cr_expect_eq(ts_int(lines[0], "ipcscope_trace"), 1);
        cr_expect_eq(ts_int(lines[n - 1], "ipcscope_trace_end"), 1);
        cr_expect_eq(ts_int(lines[n - 1], "events"), (long long)n - 2,
                     "the end line counts the events");
        ts_free_jsonl(lines, n);
    }

    struct ts_result rep = run_cmd("%s replay %s --headless --json%s", rec, "");
    cr_assert_eq(exit_code(&rep), 0, "%s", rep.err);
    json_t *a = json_loads(live.out, 0, NULL), *b = json_loads(rep.out, 0, NULL);
    cr_assert(a && b);
    expect_same_state(a, b);
    cr_expect(json_is_true(json_object_get(b, "complete_trace")));
    json_decref(a);
    json_decref(b);
    ts_free_result(&live);
    ts_free_result(&rep);
    cr_assert_eq(ts_rmtree(dir), 0);
}

Test(trace, record_to_dev_full_says_so_and_exits_1, .timeout = 60)
{
    struct ts_result r = run_cmd("%s run prodcons --headless --record /dev/full%s%s", "", "");
    cr_expect_eq(exit_code(&r), 1, "exit %d: %s", exit_code(&r), r.err);
    cr_expect(strstr(r.err, "/dev/full") && strstr(r.err, "No space left"), "stderr: %s", r.err);
    ts_free_result(&r);
    r = run_cmd("%s run prodcons --headless --record /nonexistent/dir/run.jsonl.zst%s%s", "", "");
    cr_expect_eq(exit_code(&r), 1, "a trace that cannot be created: %s", r.err);
    cr_expect(strstr(r.err, "/nonexistent/dir/run.jsonl.zst"), "stderr: %s", r.err);
    ts_free_result(&r);
}

/* Limit, then what the file says: the limit line, the end line with what was left out. */
static void check_limited(const char *rec, long long limit, const char *plain)
{
    cr_expect_leq(file_size(rec), limit, "the trace takes %lld bytes, over its limit %lld",
                  file_size(rec), limit);
    cr_expect_geq(file_size(rec), limit - limit / 8,
                  "the recording left room unused (%lld of %lld)", file_size(rec), limit);
    size_t n;
    json_t **lines = ts_load_jsonl(plain, &n);
    cr_assert_geq(n, 3);
    json_t *end = lines[n - 1], *lim = lines[n - 2];
    cr_expect_eq(ts_int(end, "ipcscope_trace_end"), 1, "the end line is written");
    cr_expect_eq(ts_int(lim, "ipcscope_trace_limit"), 1, "the limit line comes before it");
    json_t *rl = json_object_get(end, "record_limit");
    cr_assert_not_null(rl, "the end line has no record_limit");
    cr_expect_eq(ts_int(rl, "limit"), limit);
    cr_expect_eq(ts_int(rl, "events"), (long long)n - 3, "events written: the lines between");
    cr_expect_gt(ts_int(rl, "events"), 1000, "the recording stopped before it used its room");
    cr_expect_gt(ts_int(lim, "t"), 0);
    cr_expect_gt(ts_int(rl, "events_not_recorded"), 0);
    cr_expect_eq(ts_int(lim, "events"), ts_int(rl, "events"));
    ts_free_jsonl(lines, n);
}

Test(trace, record_limit_stops_the_recording_not_the_run, .timeout = 180)
{
    char dir[] = "/tmp/ipcscope-test-limit-XXXXXX", rec[256], zst[256], plain[300];
    ts_mkdtemp(dir);
    snprintf(rec, sizeof(rec), "%s/run.jsonl", dir);
    snprintf(zst, sizeof(zst), "%s/run.jsonl.zst", dir);
    struct ts_result r = run_cmd("%s run prodcons --headless --json --param items=20000 "
                                 "--record %s --record-limit 1M%s",
                                 rec, "");
    cr_expect_eq(exit_code(&r), 0, "the run goes on: %s", r.err);
    cr_expect(strstr(r.err, "--record-limit") && strstr(r.err, "the run goes on"), "stderr: %s",
              r.err);
    json_t *snap = json_loads(r.out, 0, NULL);
    cr_expect_eq(ts_int(json_object_get(snap, "events"), "dropped"), 0);
    json_decref(snap);
    ts_free_result(&r);
    check_limited(rec, 1 << 20, rec);

    r = run_cmd("%s replay %s --headless --json%s", rec, "");
    cr_expect_eq(exit_code(&r), 0, "%s", r.err);
    cr_expect(strstr(r.err, "--record-limit"), "replay does not warn: %s", r.err);
    snap = json_loads(r.out, 0, NULL);
    cr_expect_not_null(json_object_get(snap, "record_limit"));
    json_decref(snap);
    ts_free_result(&r);

    r = run_cmd("%s run prodcons --headless --param items=60000 --record %s --record-limit 1M%s",
                zst, "");
    cr_expect_eq(exit_code(&r), 0, "%s", r.err);
    ts_free_result(&r);
    snprintf(plain, sizeof(plain), "%s/unpacked.jsonl", dir);
    if (ts_sh("command -v zstd >/dev/null") == 0) {
        cr_assert_eq(ts_sh("zstd -q -d -c %s > %s", zst, plain), 0);
        check_limited(zst, 1 << 20, plain);
    }
    cr_assert_eq(ts_rmtree(dir), 0);
}

Test(trace, a_write_that_fails_mid_run_is_reported_and_the_run_exits_1, .timeout = 180)
{
    if (ts_sh("unshare -m true 2>/dev/null") != 0)
        cr_skip_test("needs a private mount namespace (root) for a 1 MiB tmpfs");
    char dir[] = "/tmp/ipcscope-test-enospc-XXXXXX", rec[256];
    ts_mkdtemp(dir);
    snprintf(rec, sizeof(rec), "%s/run.jsonl", dir);
    /* the trace goes to a 1 MiB tmpfs seen only by this command; what it holds is copied out */
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "mkdir %s/mnt && unshare -m sh -c 'mount -t tmpfs -o size=1m ipcscope-test %s/mnt "
             "&& { %%s run prodcons --headless --param items=20000 --record %s/mnt/run.jsonl; "
             "rc=$?; cp %s/mnt/run.jsonl %%s; exit $rc; }'",
             dir, dir, dir, dir);
    struct ts_result r = run_cmd(cmd, rec, "");
    cr_expect_eq(exit_code(&r), 1, "exit %d: %s", exit_code(&r), r.err);
    cr_expect(strstr(r.err, "cannot write the trace") && strstr(r.err, "No space left"),
              "stderr: %s", r.err);
    cr_expect_gt(file_size(rec), 0);
    ts_free_result(&r);
    r = run_cmd("%s replay %s --headless --json%s", rec, ""); /* what was written is whole */
    cr_expect_eq(exit_code(&r), 0, "the trace up to the failure does not replay: %s", r.err);
    cr_expect(strstr(r.err, "cut short"), "stderr: %s", r.err);
    ts_free_result(&r);
    cr_assert_eq(ts_rmtree(dir), 0);
}

Test(trace, record_limit_needs_a_size_and_a_recording, .timeout = 30)
{
    const char *bad[] = {"10", "1K", "lots", "0", "-5M", "2X"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ts_result r = run_cmd(
            "%s run prodcons --headless --record /tmp/x.jsonl --record-limit '%s'%s", bad[i], "");
        cr_expect_eq(exit_code(&r), 2, "--record-limit %s: exit %d", bad[i], exit_code(&r));
        cr_expect(strstr(r.err, bad[i]) != NULL, "the bad size is not named: %s", r.err);
        ts_free_result(&r);
    }
    struct ts_result r = run_cmd("%s run prodcons --headless --record-limit 5M%s%s", "", "");
    cr_expect_eq(exit_code(&r), 2);
    cr_expect(strstr(r.err, "--record"), "%s", r.err);
    ts_free_result(&r);
}

/* ---- export failures ---- */

Test(trace, export_names_a_bad_line_and_leaves_no_output, .timeout = 30)
{
    char dir[] = "/tmp/ipcscope-test-badexp-XXXXXX", in[256], out[256];
    ts_mkdtemp(dir);
    snprintf(in, sizeof(in), "%s/t.jsonl", dir);
    snprintf(out, sizeof(out), "%s/out.json", dir);
    char err[256];
    cr_assert_gt(synth_trace(in, 1000, 1, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(ts_sh("sed -i '500s/.*/{\"t\":1,\"pid\":2,\"tid\":2,\"ev\":\"warp\"}/' %s", in),
                 0);
    struct ts_result r = run_cmd("%s export %s --perfetto %s", in, out);
    cr_expect_eq(exit_code(&r), 1);
    cr_expect(strstr(r.err, "line 500") && strstr(r.err, "warp"), "stderr: %s", r.err);
    cr_expect_eq(file_size(out), -1, "a half-written export is left behind");
    ts_free_result(&r);
    r = run_cmd("%s export %s --perfetto %s", in, in);
    cr_expect_eq(exit_code(&r), 1, "exporting over the trace itself");
    cr_expect(strstr(r.err, "trace itself"), "%s", r.err);
    ts_free_result(&r);
    cr_assert_eq(ts_rmtree(dir), 0);
}

Test(trace, export_to_a_full_disk_says_so_and_exits_1, .timeout = 30)
{
    char in[] = "/tmp/ipcscope-test-fullXXXXXX", err[256];
    close(mkstemp(in));
    cr_assert_gt(synth_trace(in, 50000, 1, err, sizeof(err)), 0, "%s", err);
    struct ts_result r = run_cmd("%s export %s --perfetto %s", in, "/dev/full");
    cr_expect_eq(exit_code(&r), 1);
    cr_expect(strstr(r.err, "No space left"), "stderr: %s", r.err);
    ts_free_result(&r);
    unlink(in);
}

/* ---- replay through checkpoints ---- */

/* A model holding the first k events, applied one by one from the start. */
static void reference_model(const char *path, size_t k, struct model *m)
{
    struct trace_reader *rd;
    char err[256];
    cr_assert_eq(trace_reader_open(&rd, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(model_init(m, 8192, 1u << 18), 0);
    static struct trace_rec t;
    for (size_t i = 0; i < k; i++) {
        cr_assert_eq(trace_reader_next(rd, &t, err, sizeof(err)), 1, "%s", err);
        model_apply(m, &t.e, t.has_task ? t.task : NULL, t.has_obj ? t.obj : NULL);
    }
    trace_reader_close(rd);
}

static void expect_same_model(const struct model *a, const struct model *b, size_t k)
{
    TS_REQUIRE(a->total == b->total, "at %zu: %llu events vs %llu", k, (unsigned long long)a->total,
               (unsigned long long)b->total);
    TS_REQUIRE(a->ntasks == b->ntasks && a->nobjs == b->nobjs, "at %zu: tasks or objects", k);
    TS_REQUIRE(!a->ntasks || memcmp(a->tasks, b->tasks, a->ntasks * sizeof(*a->tasks)) == 0,
               "at %zu: the tasks differ", k);
    TS_REQUIRE(!a->nobjs || memcmp(a->objs, b->objs, a->nobjs * sizeof(*a->objs)) == 0,
               "at %zu: the objects differ", k);
    TS_REQUIRE(a->t_first == b->t_first && a->t_last == b->t_last, "at %zu: times", k);
    TS_REQUIRE(a->hist_len == b->hist_len, "at %zu: history %zu vs %zu", k, a->hist_len,
               b->hist_len);
    for (size_t i = 0; i < a->hist_len; i++)
        TS_REQUIRE(memcmp(model_hist(a, i), model_hist(b, i), sizeof(struct ev)) == 0,
                   "at %zu: history event %zu differs", k, i);
    size_t s = a->spans_len < 256 ? a->spans_len : 256; /* the newest spans, for the timeline */
    TS_REQUIRE(b->spans_len >= s, "at %zu: %zu spans vs %zu", k, b->spans_len, s);
    for (size_t i = 1; i <= s; i++)
        TS_REQUIRE(memcmp(model_span_at(a, a->spans_len - i), model_span_at(b, b->spans_len - i),
                          sizeof(struct model_span)) == 0,
                   "at %zu: span -%zu differs", k, i);
}

static void seek_everywhere(const char *path)
{
    struct replay *rp;
    char err[256];
    cr_assert_eq(replay_load(&rp, path, err, sizeof(err)), 0, "%s", err);
    size_t n = rp->n;
    /* forward, far ahead, back a little, back a lot, the ends, next to checkpoints */
    size_t at[] = {1,         n / 2,     n / 2 + 7, n / 2 - 3,    n,    n - 1,  0,
                   n / 3,     65536,     65535,     65536 + 8192, 8191, 131073, n / 5,
                   3 * n / 4, n / 4 + 1, n - 9000,  n / 2 + 50000};
    struct model m;
    cr_assert_eq(model_init(&m, rp->hist_cap, rp->span_cap), 0);
    for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
        struct model ref;
        replay_seek(rp, &m, at[i]);
        cr_assert_eq(rp->cursor, at[i], "the seek to %zu stopped at %zu (%s)", at[i], rp->cursor,
                     replay_error(rp));
        reference_model(path, at[i], &ref);
        expect_same_model(&ref, &m, at[i]);
        model_free(&ref);
    }
    model_free(&m);
    replay_free(rp);
}

Test(trace, replay_seeks_anywhere_and_shows_what_a_replay_from_the_start_shows, .timeout = 300)
{
    char dir[] = "/tmp/ipcscope-test-seek-XXXXXX", plain[256], zst[256], err[256];
    ts_mkdtemp(dir);
    snprintf(plain, sizeof(plain), "%s/t.jsonl", dir);
    snprintf(zst, sizeof(zst), "%s/t.jsonl.zst", dir);
    cr_assert_gt(synth_trace(plain, 300000, 1, err, sizeof(err)), 0, "%s", err);
    cr_assert_gt(synth_trace(zst, 300000, 1, err, sizeof(err)), 0, "%s", err);
    seek_everywhere(plain);
    seek_everywhere(zst);
    cr_assert_eq(ts_rmtree(dir), 0);
}

Test(trace, replay_steps_and_times_follow_the_events, .timeout = 120)
{
    char path[] = "/tmp/ipcscope-test-stepsXXXXXX", err[256];
    close(mkstemp(path));
    cr_assert_gt(synth_trace(path, 20000, 0, err, sizeof(err)), 0, "%s", err);
    struct replay *rp;
    cr_assert_eq(replay_load(&rp, path, err, sizeof(err)), 0, "%s", err);
    cr_expect_null(rp->trailer, "written without an end line");
    cr_expect_eq(rp->conductor, 5000, "slot 0's pid");
    size_t n = rp->n;
    struct ev *evs = malloc(n * sizeof(*evs));
    for (size_t i = 0; i < n; i++) {
        const struct replay_rec *r = replay_rec_at(rp, (i * 7919) % n); /* out of order */
        cr_assert_not_null(r);
        evs[(i * 7919) % n] = r->e;
    }
    for (size_t from = 0; from <= n; from += 97) {
        size_t next = from, prev = from >= 2 ? from - 1 : 0;
        while (next < n && evs[next].src != EV_SRC_INSTR)
            next++;
        next = next < n ? next + 1 : n;
        while (prev > 0 && evs[prev - 1].src != EV_SRC_INSTR)
            prev--;
        TS_REQUIRE(replay_next_step(rp, from) == next, "next step from %zu", from);
        TS_REQUIRE(replay_prev_step(rp, from) == prev, "previous step from %zu", from);
        TS_REQUIRE(replay_time_at(rp, from) == (from ? evs[from - 1].t : 0), "time at %zu", from);
        size_t upto = from;
        uint64_t t = from < n ? evs[from].t + 5500 : 0;
        while (upto < n && evs[upto].t <= t)
            upto++;
        TS_REQUIRE(replay_upto(rp, from, t) == upto, "up to t from %zu", from);
    }
    free(evs);
    replay_free(rp);
    unlink(path);
}

/* ---- the line parser ---- */

/* A name of random pieces: plain letters, what JSON must escape, multi-byte characters and
 * bytes that are not UTF-8 (a character cut in half). */
static void random_name(char *buf, size_t cap, unsigned *seed)
{
    static const char *const pieces[] = {"a",
                                         "Z",
                                         "-",
                                         "/",
                                         "\"",
                                         "\\",
                                         "\n",
                                         "\t",
                                         "\x01",
                                         "\x7f",
                                         "\xc3\xa9",
                                         "\xe4\xb8\x96",
                                         "\xf0\x9f\x98\x80",
                                         "\xe4\xb8",
                                         "\xff",
                                         " "};
    size_t n = 0, want = (size_t)(rand_r(seed) % 40);
    buf[0] = '\0';
    for (size_t i = 0; i < want; i++) {
        const char *p = pieces[rand_r(seed) % (sizeof(pieces) / sizeof(pieces[0]))];
        if (n + strlen(p) + 1 >= cap)
            break;
        memcpy(buf + n, p, strlen(p) + 1);
        n += strlen(p);
    }
}

static void expect_rec_is_json(const struct trace_rec *r, json_t *o, size_t line)
{
    const struct ev *e = &r->e;
    TS_REQUIRE((long long)e->t == ts_int(o, "t") && e->pid == ts_int(o, "pid") &&
                   e->tid == ts_int(o, "tid"),
               "line %zu: t, pid or tid", line);
    TS_REQUIRE(strcmp(ev_kind_name(e->kind), ts_str(o, "ev")) == 0, "line %zu: ev", line);
    TS_REQUIRE(strcmp(ev_src_name(e->src), ts_str(o, "src")) == 0, "line %zu: src", line);
    char want[TRACE_NAME_BUF];
    snprintf(want, sizeof(want), "%s", ts_str(o, "task"));
    TS_REQUIRE(strcmp(r->task, want) == 0, "line %zu: task '%s' vs '%s'", line, r->task, want);
    snprintf(want, sizeof(want), "%s", ts_str(o, "obj"));
    TS_REQUIRE(strcmp(r->obj, want) == 0 && r->has_obj == (json_object_get(o, "obj") != NULL),
               "line %zu: obj", line);
    if (e->flags & EVF_TEXT) {
        char text[EV_TEXT_MAX];
        snprintf(text, sizeof(text), "%s", ts_str(o, "text"));
        TS_REQUIRE(strcmp(e->text, text) == 0, "line %zu: text", line);
    } else {
        TS_REQUIRE(e->val == ts_int(o, "val") && e->item == ts_int(o, "item") &&
                       e->aux == ts_int(o, "aux") && e->extra == ts_int(o, "extra"),
                   "line %zu: val, item, aux or extra", line);
    }
    TS_REQUIRE(e->obj == (json_object_get(o, "obj_id") ? (uint32_t)ts_int(o, "obj_id") : EV_NO_OBJ),
               "line %zu: obj_id", line);
}

/* Events with every kind of name go through the writer; the reader's fast parser must read
 * each line as jansson reads it. */
Test(trace, the_fast_parser_reads_each_line_as_jansson_does, .timeout = 60)
{
    char path[] = "/tmp/ipcscope-test-parseXXXXXX", err[256];
    close(mkstemp(path));
    struct trace_writer *w = trace_create(path, "prodcons", NULL, 0, err, sizeof(err));
    cr_assert_not_null(w, "%s", err);
    unsigned seed = 12345;
    for (int i = 0; i < 20000; i++) {
        char task[48], obj[48];
        random_name(task, sizeof(task), &seed);
        random_name(obj, sizeof(obj), &seed);
        struct ev e = {.t = (uint64_t)i * 977,
                       .kind = (uint16_t)(rand_r(&seed) % EV__COUNT),
                       .src = (uint8_t)(rand_r(&seed) % 3),
                       .task = rand_r(&seed) % 4 ? (uint32_t)(rand_r(&seed) % 1000) : EV_NO_TASK,
                       .pid = rand_r(&seed) - RAND_MAX / 2,
                       .tid = rand_r(&seed),
                       .obj = rand_r(&seed) % 3 ? (uint32_t)(rand_r(&seed) % 5000) : EV_NO_OBJ,
                       .seq = (uint32_t)rand_r(&seed)};
        if (i % 7 == 0) {
            e.flags = EVF_TEXT;
            random_name(e.text, sizeof(e.text), &seed);
        } else {
            e.val = (int64_t)rand_r(&seed) * (rand_r(&seed) % 2 ? -1000003 : 1);
            e.item = i % 3 ? 0 : (int64_t)rand_r(&seed) << 20;
            e.aux = -(int64_t)(i % 5);
            e.extra = i % 11 ? 0 : 123456789012345LL;
        }
        trace_write_event(w, &e, 0, task, obj);
    }
    cr_assert_eq(trace_finish(w, NULL, err, sizeof(err)), 0, "%s", err);

    struct trace_reader *rd;
    cr_assert_eq(trace_reader_open(&rd, path, err, sizeof(err)), 0, "%s", err);
    size_t n;
    json_t **lines = ts_load_jsonl(path, &n);
    static struct trace_rec r;
    for (size_t i = 1; i < n; i++) {
        cr_assert_eq(trace_reader_next(rd, &r, err, sizeof(err)), 1, "line %zu: %s", i + 1, err);
        expect_rec_is_json(&r, lines[i], i + 1);
    }
    cr_expect_eq(trace_reader_next(rd, &r, err, sizeof(err)), 0);
    ts_free_jsonl(lines, n);
    trace_reader_close(rd);
    unlink(path);
}

/* Lines no writer of ours makes, read the way jansson reads them (or refused alike). */
Test(trace, lines_from_other_tools_are_read_or_refused_as_json_says, .timeout = 30)
{
    static const struct {
        const char *line;
        int ok;
        long long t, val;
        const char *task;
    } cases[] = {
        {"{ \"t\" : 5 , \"pid\":1,\"tid\":1,\"ev\":\"note\" , \"text\":\"x\" }", 1, 5, 0, ""},
        {"{\"t\":5,\"pid\":1,\"tid\":1,\"ev\":\"sem_post\",\"task\":\"a\\u00e9b\",\"val\":3}", 1, 5,
         3,
         "a\xc3\xa9"
         "b"},
        {"{\"t\":1,\"t\":2,\"pid\":1,\"tid\":1,\"ev\":\"sem_post\",\"val\":-0}", 1, 2, 0, ""},
        {"{\"t\":1,\"pid\":1,\"tid\":1,\"ev\":\"sem_post\",\"x\":{\"a\":[1,2,null]},\"val\":7}", 1,
         1, 7, ""},
        {"{\"t\":1,\"pid\":1,\"tid\":1,\"ev\":\"sem_post\",\"ok\":true,\"val\":1e2}", 0, 0, 0, ""},
        {"{\"t\":1.5,\"pid\":1,\"tid\":1,\"ev\":\"sem_post\"}", 0, 0, 0, ""},
        {"{\"t\":1,\"pid\":1,\"tid\":1,\"ev\":\"sem_post\",\"val\":01}", 0, 0, 0, ""},
        {"{\"t\":1,\"pid\":1,\"tid\":1,\"ev\":\"sem_post\",\"val\":12345678901234567890}", 0, 0, 0,
         ""},
        {"{\"t\":1,\"pid\":1,\"tid\":1,\"ev\":\"sem_post\"} x", 0, 0, 0, ""},
        {"{\"t\":1,\"pid\":1,\"ev\":\"sem_post\"}", 0, 0, 0, ""},
        {"{\"t\":-1,\"pid\":1,\"tid\":1,\"ev\":\"sem_post\"}", 0, 0, 0, ""},
        {"{\"t\":1,\"pid\":1,\"tid\":1,\"ev\":\"sem_post\",\"task\":\"a\x01\"}", 0, 0, 0, ""},
        {"{\"t\":1,\"pid\":1,\"tid\":1,\"ev\":\"sem_post\",\"task\":\"\\u0000\"}", 0, 0, 0, ""},
        {"{\"t\":1,\"pid\":1,\"tid\":1,\"ev\":\"sem_post\",\"obj_id\":2000000}", 0, 0, 0, ""},
        {"{\"t\":1,\"pid\":1,\"tid\":1,\"ev\":7}", 0, 0, 0, ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct trace_rec r;
        json_t *kept = NULL;
        char err[256] = "";
        int rc =
            trace_parse_line(cases[i].line, strlen(cases[i].line), &r, &kept, err, sizeof(err));
        json_t *o = json_loads(cases[i].line, 0, NULL);
        cr_expect_eq(rc == TRACE_LINE_EVENT, cases[i].ok, "case %zu (%s): %d %s", i, cases[i].line,
                     rc, err);
        if (rc < 0)
            cr_expect_gt(strlen(err), 0, "case %zu refused without a word", i);
        if (rc == TRACE_LINE_EVENT && o) {
            cr_expect_eq((long long)r.e.t, cases[i].t, "case %zu: t", i);
            if (!(r.e.flags & EVF_TEXT))
                cr_expect_eq(r.e.val, cases[i].val, "case %zu: val", i);
            cr_expect_str_eq(r.task, cases[i].task, "case %zu: task", i);
        }
        json_decref(o);
        json_decref(kept);
    }
}
