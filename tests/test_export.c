/*
 * test_export.c - the Perfetto export at scale.
 *
 * A trace of more than 2^22 events (made through the real writer, zstd-compressed, see
 * synth_trace.h) is exported through a pipe; every event must come out exactly once as an
 * instant carrying its index, the output must be the JSON document it claims to be, and the
 * exporter's peak memory must stay within the 64 MiB the design promises whatever the
 * trace's length. Kept out of the sanitizer pass (it is long); tests/test_trace.c has the
 * small cases.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"
#include "synth_trace.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define HEAD "{\"displayTimeUnit\":\"ns\",\"traceEvents\":["

struct tally {
    uint64_t n;          /* events in the trace */
    unsigned char *seen; /* a bit per event index */
    uint64_t instants, dups, out_of_range, lines, bad_json;
    int head_ok, tail_ok;
};

static void tally_line(struct tally *t, char *line, size_t len)
{
    while (len && (line[len - 1] == '\n' || line[len - 1] == ','))
        line[--len] = '\0';
    t->lines++;
    if (t->lines == 1) {
        t->head_ok = strcmp(line, HEAD) == 0;
        return;
    }
    t->tail_ok = strcmp(line, "]}") == 0;
    if (t->tail_ok)
        return;
    if (t->lines % 4096 == 0 || strstr(line, "\"ph\":\"M\"")) { /* a sample, parsed in full */
        json_t *o = json_loads(line, 0, NULL);
        t->bad_json += !json_is_object(o);
        json_decref(o);
    }
    if (!strstr(line, "\"ph\":\"i\""))
        return;
    const char *a = strstr(line, "\"args\":{\"n\":");
    if (!a) {
        t->bad_json++;
        return;
    }
    uint64_t i = strtoull(a + 12, NULL, 10);
    t->instants++;
    if (i >= t->n) {
        t->out_of_range++;
        return;
    }
    t->dups += (t->seen[i / 8] >> (i % 8)) & 1;
    t->seen[i / 8] |= (unsigned char)(1u << (i % 8));
}

static pid_t spawn_export(const char *trace, const char *errpath, int out_fd)
{
    pid_t pid = fork();
    if (pid == 0) {
        int e = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(out_fd, 1);
        dup2(e, 2);
        execl(IPCSCOPE_BIN, IPCSCOPE_BIN, "export", trace, "--perfetto", "/dev/stdout",
              (char *)NULL);
        _exit(127);
    }
    return pid;
}

Test(export, every_event_of_a_trace_over_4m_events_comes_out_once_in_bounded_memory, .timeout = 900)
{
    char dir[] = "/tmp/ipcscope-test-export-XXXXXX", trace[256], errpath[256], err[256];
    ts_mkdtemp(dir);
    snprintf(trace, sizeof(trace), "%s/big.jsonl.zst", dir);
    snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
    struct tally t = {.n = synth_trace(trace, (1u << 22) + 4096, 1, err, sizeof(err))};
    cr_assert_gt(t.n, 1u << 22, "the synthetic trace was not written: %s", err);
    t.seen = calloc(t.n / 8 + 1, 1);
    cr_assert_not_null(t.seen);

    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = spawn_export(trace, errpath, p[1]);
    cr_assert_gt(pid, 0);
    close(p[1]);
    FILE *in = fdopen(p[0], "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, in)) >= 0)
        tally_line(&t, line, (size_t)len);
    free(line);
    fclose(in);
    int status;
    struct rusage ru;
    cr_assert_eq(wait4(pid, &status, 0, &ru), pid);

    char *msg = ts_slurp(errpath);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "export failed: %s", msg);
    uint64_t missing = 0;
    for (uint64_t i = 0; i < t.n; i++)
        missing += !((t.seen[i / 8] >> (i % 8)) & 1);
    cr_expect(t.head_ok, "the output does not open with %s", HEAD);
    cr_expect(t.tail_ok, "the output does not end with ]}");
    cr_expect_eq(t.bad_json, 0, "%llu sampled lines are not JSON objects",
                 (unsigned long long)t.bad_json);
    cr_expect_eq(t.instants, t.n, "%llu instants for %llu events", (unsigned long long)t.instants,
                 (unsigned long long)t.n);
    cr_expect_eq(missing, 0, "%llu events never exported", (unsigned long long)missing);
    cr_expect_eq(t.dups, 0, "%llu events exported twice", (unsigned long long)t.dups);
    cr_expect_eq(t.out_of_range, 0);
    char said[64];
    snprintf(said, sizeof(said), "all %llu events", (unsigned long long)t.n);
    cr_expect(strstr(msg, said) != NULL, "the exporter does not say '%s': %s", said, msg);
    cr_expect_leq(ru.ru_maxrss, 64 * 1024, "the exporter peaked at %ld KiB (limit 64 MiB)",
                  ru.ru_maxrss);
    free(msg);
    free(t.seen);
    cr_assert_eq(ts_rmtree(dir), 0);
}
