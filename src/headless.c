/*
 * headless.c - a scenario run without the TUI: the loop, the signals, the summary and the
 * exit code. Shared by `ipcscope run --headless` and `ipcscope exec --headless`.
 */
#define _GNU_SOURCE
#include "headless.h"

#include "loop.h"
#include "script.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

int headless_stdout_closed;

int headless_output_done(void)
{
    int bad = fflush(stdout) == EOF || ferror(stdout) || headless_stdout_closed;
    if (!bad)
        return 0;
    fprintf(stderr, "ipcscope: cannot write the output: %s\n",
            headless_stdout_closed ? "standard output is closed" : strerror(errno));
    return 1;
}

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

/* The string at key of o, or "?" (a replayed trace may lack anything). */
static const char *str_at(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "?";
}

void headless_print_summary(FILE *out, json_t *snap)
{
    fprintf(
        out, "scenario %s: %s in %lld ms, %lld events (%lld dropped), %lld steps\n",
        str_at(snap, "scenario"),
        json_is_true(json_object_get(snap, "completed")) ? "completed" : "stopped",
        (long long)json_integer_value(json_object_get(snap, "duration_ms")),
        (long long)json_integer_value(json_object_get(json_object_get(snap, "events"), "total")),
        (long long)json_integer_value(json_object_get(json_object_get(snap, "events"), "dropped")),
        (long long)json_integer_value(json_object_get(snap, "steps")));
    size_t i;
    json_t *t;
    fprintf(out, "\n  %-8s %-16s %-8s %-8s %-10s %s\n", "pid", "task", "kind", "state", "exit",
            "run/ready/blocked ms");
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        json_t *ex = json_object_get(t, "exit_status");
        char exs[16] = "-";
        if (ex)
            snprintf(exs, sizeof(exs), "%lld", (long long)json_integer_value(ex));
        fprintf(out, "  %-8lld %-16s %-8s %-8s %-10s %.1f/%.1f/%.1f\n",
                (long long)json_integer_value(json_object_get(t, "pid")), str_at(t, "name"),
                str_at(t, "kind"), str_at(t, "state"), exs,
                json_real_value(json_object_get(t, "run_ms")),
                json_real_value(json_object_get(t, "ready_ms")),
                json_real_value(json_object_get(t, "blocked_ms")));
    }
    fprintf(out, "\n  %-10s %-12s %s\n", "object", "name", "value (min..max)");
    json_array_foreach(json_object_get(snap, "objects"), i, t)
    {
        fprintf(out, "  %-10s %-12s %lld (%lld..%lld)\n", str_at(t, "kind"), str_at(t, "name"),
                (long long)json_integer_value(json_object_get(t, "value")),
                (long long)json_integer_value(json_object_get(t, "min")),
                (long long)json_integer_value(json_object_get(t, "max")));
    }
    json_t *src = json_object_get(snap, "sources");
    json_t *leaks = json_object_get(snap, "leaks");
    fprintf(out, "\nsources: instr on, procfs %s%s%s, bpf %s%s%s\n",
            json_is_true(json_object_get(src, "procfs")) ? "on" : "off",
            json_object_get(src, "procfs_reason") ? " - " : "",
            json_object_get(src, "procfs_reason") ? str_at(src, "procfs_reason") : "",
            json_is_true(json_object_get(src, "bpf")) ? "on" : "off",
            json_object_get(src, "bpf_reason") ? " - " : "",
            json_object_get(src, "bpf_reason") ? str_at(src, "bpf_reason") : "");
    if (leaks)
        fprintf(out, "leaks: %lld processes, %lld IPC objects\n",
                (long long)json_integer_value(json_object_get(leaks, "processes")),
                (long long)json_integer_value(json_object_get(leaks, "ipc_objects")));
    json_t *prog = json_object_get(snap, "program_output");
    if (prog) {
        json_t *line;
        fprintf(out, "program output: %s\n", str_at(prog, "path"));
        json_array_foreach(json_object_get(prog, "tail"), i, line)
        {
            const char *l = json_string_value(line);
            fprintf(out, "  | %s\n", l ? l : "");
        }
    }
    json_t *check = json_object_get(snap, "check");
    const char *why = json_string_value(json_object_get(check, "why"));
    if (check)
        fprintf(out, "check: %s%s%s\n",
                json_is_true(json_object_get(check, "ok")) ? "ok" : "FAILED",
                why && *why ? " - " : "", why ? why : "");
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
    return 0;
}

/* Run the script's commands until it ends (or a signal stops the loop). A run that ends
 * meanwhile is stopped at once (its checks done), and the script goes on: its snapshots show
 * the end. Returns 0, 2 for a bad command, 1 when output failed. */
static int drive(struct headless *h, struct loop *lp, struct script *scr)
{
    while (!loop_stopped(lp)) {
        loop_run_once(lp, 10);
        if (run_done(h->run) && !h->run->stopped)
            run_stop(h->run);
        int rc = script_tick(scr);
        if (rc)
            return rc == 1 ? 0 : rc == 2 ? 2 : 1;
    }
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

    struct script *scr = NULL;
    if (opts->script && script_open(&scr, opts->script, err, sizeof(err)) < 0) {
        fprintf(stderr, "ipcscope: %s\n", err);
        return 2;
    }
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
    int script_rc = 0;
    if (scr && script_attach(scr, lp, h.run, err, sizeof(err)) < 0) {
        fprintf(stderr, "ipcscope: %s\n", err);
        script_rc = 1;
    } else if (scr) {
        script_rc = drive(&h, lp, scr);
    } else {
        while (!loop_stopped(lp) && !run_done(h.run))
            loop_run_once(lp, 50);
    }
    run_stop(h.run);

    json_t *snap = run_snapshot(h.run);
    if (json) {
        json_dumpf(snap, stdout, scr ? JSON_COMPACT : JSON_INDENT(2)); /* a script: one line */
        putchar('\n');
    } else {
        headless_print_summary(scr ? stderr : stdout, snap); /* stdout is the script's */
    }
    int rc = script_rc ? script_rc : headless_status(sc, h.run, h.signo);
    if (headless_output_done() && rc == 0)
        rc = 1;
    json_decref(snap);
    run_close(h.run);
    script_close(scr);
    loop_free(lp);
    close(sfd);
    return rc;
}

int headless_parse_number(const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : 0;
    if (!v || !*v || *end || errno || !isfinite(d) || d < lo || d > hi)
        return -1;
    *out = d;
    return 0;
}
