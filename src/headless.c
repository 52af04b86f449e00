/*
 * headless.c - a scenario run without the TUI: the loop, the signals, the summary and the
 * exit code. Shared by `ipcscope run --headless` and `ipcscope exec --headless`.
 */
#define _GNU_SOURCE
#include "headless.h"

#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

int headless_env_lang(void)
{
    const char *vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strncmp(v, "zh", 2) == 0 ? LANG_ZH : LANG_EN;
    }
    return LANG_EN;
}

struct headless {
    struct run *run;
    int signo;
};

static void on_signal(struct loop *lp, int fd, uint32_t events, void *arg)
{
    (void)events;
    struct headless *h = arg;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            run_poll(h->run);
        else {
            h->signo = (int)si.ssi_signo;
            loop_stop(lp);
        }
    }
}

void headless_print_summary(json_t *snap)
{
    printf(
        "scenario %s: %s in %lld ms, %lld events (%lld dropped), %lld steps\n",
        json_string_value(json_object_get(snap, "scenario")),
        json_is_true(json_object_get(snap, "completed")) ? "completed" : "stopped",
        (long long)json_integer_value(json_object_get(snap, "duration_ms")),
        (long long)json_integer_value(json_object_get(json_object_get(snap, "events"), "total")),
        (long long)json_integer_value(json_object_get(json_object_get(snap, "events"), "dropped")),
        (long long)json_integer_value(json_object_get(snap, "steps")));
    size_t i;
    json_t *t;
    printf("\n  %-8s %-16s %-8s %-8s %-10s %s\n", "pid", "task", "kind", "state", "exit",
           "run/ready/blocked ms");
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        json_t *ex = json_object_get(t, "exit_status");
        char exs[16] = "-";
        if (ex)
            snprintf(exs, sizeof(exs), "%lld", (long long)json_integer_value(ex));
        printf("  %-8lld %-16s %-8s %-8s %-10s %.1f/%.1f/%.1f\n",
               (long long)json_integer_value(json_object_get(t, "pid")),
               json_string_value(json_object_get(t, "name")),
               json_string_value(json_object_get(t, "kind")),
               json_string_value(json_object_get(t, "state")), exs,
               json_real_value(json_object_get(t, "run_ms")),
               json_real_value(json_object_get(t, "ready_ms")),
               json_real_value(json_object_get(t, "blocked_ms")));
    }
    printf("\n  %-10s %-12s %s\n", "object", "name", "value (min..max)");
    json_array_foreach(json_object_get(snap, "objects"), i, t)
    {
        printf("  %-10s %-12s %lld (%lld..%lld)\n", json_string_value(json_object_get(t, "kind")),
               json_string_value(json_object_get(t, "name")),
               (long long)json_integer_value(json_object_get(t, "value")),
               (long long)json_integer_value(json_object_get(t, "min")),
               (long long)json_integer_value(json_object_get(t, "max")));
    }
    json_t *src = json_object_get(snap, "sources");
    json_t *leaks = json_object_get(snap, "leaks");
    printf("\nsources: instr on, procfs %s, bpf %s%s%s\n",
           json_is_true(json_object_get(src, "procfs")) ? "on" : "off",
           json_is_true(json_object_get(src, "bpf")) ? "on" : "off",
           json_object_get(src, "bpf_reason") ? " - " : "",
           json_object_get(src, "bpf_reason")
               ? json_string_value(json_object_get(src, "bpf_reason"))
               : "");
    if (leaks)
        printf("leaks: %lld processes, %lld IPC objects\n",
               (long long)json_integer_value(json_object_get(leaks, "processes")),
               (long long)json_integer_value(json_object_get(leaks, "ipc_objects")));
    json_t *out = json_object_get(snap, "program_output");
    if (out) {
        json_t *line;
        printf("program output: %s\n", json_string_value(json_object_get(out, "path")));
        json_array_foreach(json_object_get(out, "tail"), i, line)
            printf("  | %s\n", json_string_value(line));
    }
    json_t *check = json_object_get(snap, "check");
    if (check)
        printf("check: %s%s%s\n", json_is_true(json_object_get(check, "ok")) ? "ok" : "FAILED",
               *json_string_value(json_object_get(check, "why")) ? " - " : "",
               json_string_value(json_object_get(check, "why")));
}

/* Exit status of a headless run, with the reason on stderr. */
static int headless_status(const struct scenario *sc, const struct run *r, int signo)
{
    if (r->model.dropped)
        fprintf(stderr,
                "ipcscope: warning: %llu events were dropped (a ring was full): object values "
                "may be off; the conductor could not keep up\n",
                (unsigned long long)r->model.dropped);
    if (signo) {
        fprintf(stderr, "ipcscope: stopped by %s\n", strsignal(signo));
        return 128 + signo;
    }
    if (r->check_rc != 0) {
        fprintf(stderr, "ipcscope: %s: invariant failed: %s\n", sc->id, r->check_why);
        return 1;
    }
    if (r->leaked_procs || r->leaked_ipc) {
        fprintf(stderr, "ipcscope: leaked %d processes and %d IPC objects\n", r->leaked_procs,
                r->leaked_ipc);
        return 1;
    }
    if (r->trace_rc < 0)
        return 1; /* the trace is incomplete: said when the write failed */
    return 0;
}

int headless_run(const struct scenario *sc, const long *params, const struct run_opts *opts,
                 int json)
{
    char err[512];
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

    struct loop *lp = loop_new();
    struct headless h = {0};
    if (!lp || sfd < 0 || run_open(&h.run, sc, params, opts, err, sizeof(err)) < 0) {
        fprintf(stderr, "ipcscope: %s\n", lp && sfd >= 0 ? err : strerror(errno));
        loop_free(lp);
        return 1;
    }
    loop_add_fd(lp, sfd, EPOLLIN, on_signal, &h);
    if (run_start(h.run, lp, err, sizeof(err)) < 0) {
        fprintf(stderr, "ipcscope: %s\n", err);
        run_close(h.run);
        loop_free(lp);
        return 1;
    }
    while (!loop_stopped(lp) && !run_done(h.run))
        loop_run_once(lp, 50);
    run_stop(h.run);

    json_t *snap = run_snapshot(h.run);
    if (json) {
        json_dumpf(snap, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        headless_print_summary(snap);
    }
    int rc = headless_status(sc, h.run, h.signo);
    json_decref(snap);
    run_close(h.run);
    loop_free(lp);
    close(sfd);
    return rc;
}

int headless_parse_number(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : 0;
    if (!v || !*v || *end || errno || d < lo || d > hi)
        return -1;
    *out = d;
    return 0;
}
