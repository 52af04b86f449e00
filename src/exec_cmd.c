/*
 * exec_cmd.c - `ipcscope exec -- PROGRAM [ARGS...]`: options, checks, and the headless run.
 *
 * Finds PROGRAM (as execvp would) and the preload library (next to the ipcscope binary, or
 * IPCSCOPE_PRELOAD), says so when the program is statically linked (then only /proc and bpf
 * can see it), configures the exec scenario and runs it headless or in the TUI. Headless,
 * the program has the user's terminal and descriptors to itself: the snapshot goes to the
 * file or descriptor --json names, a short summary to stderr once the program has ended,
 * and ipcscope exits with the program's status. With --duration, a watchdog bounds the
 * whole run even if the conductor itself gets stuck: the guard then ends the run.
 */
#define _GNU_SOURCE
#include "exec_cmd.h"
#include "headless.h"

#include "loop.h"
#include "scenarios/exec.h"
#include "trace.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define PRELOAD_NAME "libipcscope_preload.so"

#define EXIT_CUT_SHORT 124  /* --duration ended the program, as timeout(1) says */
#define WATCHDOG_GRACE_S 15 /* past --duration: the stop (5 s at most), the snapshot, and room */

static const char exec_usage[] =
    "usage: ipcscope exec [--record FILE [--record-limit SIZE]] [--headless [--json FILE |\n"
    "                     --json-fd N]] [--duration S] [--no-bpf] [--step] [--delay MS]\n"
    "                     [--lang en|zh] -- PROGRAM [ARGS...]\n"
    "  headless, PROGRAM keeps your terminal, stdin, stdout and stderr; the snapshot goes to\n"
    "  FILE (- for stdout, after the program) or to descriptor N; ipcscope exits with the\n"
    "  program's status (124 when --duration or q stopped it)\n";

struct exec_cli {
    struct run_opts opts;
    const char *json_path; /* --json FILE ("-": stdout) */
    int json_fd;           /* --json-fd N, -1: none */
    int delay_given;
    char **prog_argv; /* after "--" */
};

static int exec_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int exec_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ipcscope: exec: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fputs(exec_usage, stderr);
    return EXIT_USAGE;
}

/* ---- options ---- */

static int number_arg(const char *opt, const char *v, double lo, double hi, double *out)
{
    if (headless_parse_number(v, lo, hi, out) < 0)
        return exec_usage_error("%s '%s': expected a number from %g to %g", opt, v ? v : "", lo,
                                hi);
    return 0;
}

/* --json-fd N: an open descriptor above 2 (the program keeps 0, 1 and 2). */
static int parse_json_fd(struct exec_cli *c, const char *v)
{
    double d;
    if (headless_parse_number(v, 3, 65535, &d) < 0 || d != (int)d)
        return exec_usage_error("--json-fd '%s': expected a descriptor number from 3 (0-2 "
                                "belong to the program; use --json - for stdout)",
                                v);
    if (fcntl((int)d, F_GETFD) < 0)
        return exec_usage_error("--json-fd %d: descriptor %d is not open", (int)d, (int)d);
    c->json_fd = (int)d;
    return 0;
}

/* An option with a value (--record, --json, --json-fd, --duration, --delay, --lang). 0 or
 * EXIT_USAGE. */
static int parse_valued(struct exec_cli *c, const char *o, const char *v)
{
    double d;
    if (!strcmp(o, "--record")) {
        c->opts.record = v;
    } else if (!strcmp(o, "--json")) {
        c->json_path = v;
    } else if (!strcmp(o, "--json-fd")) {
        return parse_json_fd(c, v);
    } else if (!strcmp(o, "--record-limit")) {
        if (trace_parse_size(v, &c->opts.record_limit) < 0)
            return exec_usage_error("--record-limit '%s': expected a size of at least 1M, such "
                                    "as 500M or 2G",
                                    v);
    } else if (!strcmp(o, "--duration")) {
        if (number_arg(o, v, 0.001, 86400, &d))
            return EXIT_USAGE;
        c->opts.duration_s = d;
    } else if (!strcmp(o, "--delay")) {
        if (number_arg(o, v, 0, 60000, &d))
            return EXIT_USAGE;
        c->opts.delay_ms = (unsigned)d;
        c->delay_given = 1;
    } else if (!strcmp(v, "en") || !strcmp(v, "zh")) {
        c->opts.lang = !strcmp(v, "zh") ? LANG_ZH : LANG_EN;
    } else {
        return exec_usage_error("--lang '%s': expected en or zh", v);
    }
    return 0;
}

/* One option at argv[*i] (advancing *i past its value). 0 or EXIT_USAGE. */
static int parse_one(struct exec_cli *c, int argc, char **argv, int *i)
{
    const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!strcmp(o, "--record") || !strcmp(o, "--record-limit") || !strcmp(o, "--duration") ||
        !strcmp(o, "--delay") || !strcmp(o, "--lang") || !strcmp(o, "--json") ||
        !strcmp(o, "--json-fd")) {
        if (!v || !strcmp(v, "--"))
            return exec_usage_error(!strcmp(o, "--json")
                                        ? "option '--json' needs a value: FILE for the "
                                          "snapshot (- for stdout, after the program's output)"
                                        : "option '%s' needs a value",
                                    o);
        ++*i;
        return parse_valued(c, o, v);
    }
    if (!strcmp(o, "--headless"))
        c->opts.headless = 1;
    else if (!strcmp(o, "--no-bpf"))
        c->opts.no_bpf = 1;
    else if (!strcmp(o, "--step"))
        c->opts.step = 1;
    else if (o[0] == '-')
        return exec_usage_error("unknown option '%s'", o);
    else
        return exec_usage_error("'%s' before '--': put the program after '--'", o);
    return 0;
}

static int parse_exec_args(struct exec_cli *c, int argc, char **argv, int first)
{
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(exec_usage, stdout);
            exit(0);
        }
        if (!strcmp(argv[i], "--")) {
            if (i + 1 >= argc || !argv[i + 1][0])
                return exec_usage_error("no PROGRAM after '--'");
            c->prog_argv = argv + i + 1;
            break;
        }
        int rc = parse_one(c, argc, argv, &i);
        if (rc)
            return rc;
    }
    if (!c->prog_argv)
        return exec_usage_error("missing '--' before the program");
    if ((c->json_path || c->json_fd >= 0) && !c->opts.headless)
        return exec_usage_error("--json and --json-fd need --headless");
    if (c->json_path && c->json_fd >= 0)
        return exec_usage_error("--json and --json-fd both name where the snapshot goes; "
                                "give one");
    if (c->opts.record_limit && !c->opts.record)
        return exec_usage_error("--record-limit needs --record FILE");
    if (c->opts.headless && c->opts.step && c->opts.duration_s <= 0)
        return exec_usage_error("--step with --headless would wait for keypresses that never "
                                "come; drop --headless, drop --step, or add --duration S");
    return 0;
}

/* ---- finding things ---- */

static int executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* PROGRAM as execvp would find it, into out. 0, or EXIT_USAGE with a message. */
static int find_program(const char *name, char *out, size_t n)
{
    if (strchr(name, '/')) {
        snprintf(out, n, "%s", name);
        if (executable_file(out))
            return 0;
        return exec_usage_error("PROGRAM '%s': %s", name,
                                access(name, F_OK) ? "no such file" : "not an executable file");
    }
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof(dirs), "%s", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, n, "%s/%s", *d ? d : ".", name);
        if (executable_file(out))
            return 0;
    }
    return exec_usage_error("PROGRAM '%s': not found in PATH (use ./%s for a file here)", name,
                            name);
}

/* The preload library: $IPCSCOPE_PRELOAD, else next to this binary or in ../lib[/ipcscope]. */
static int find_preload(char *out, size_t n)
{
    const char *env = getenv("IPCSCOPE_PRELOAD");
    if (env && *env)
        return realpath(env, out) && access(out, R_OK) == 0 ? 0 : -1;
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (len <= 0)
        return -1;
    self[len] = '\0';
    const char *dir = dirname(self);
    const char *where[] = {"", "/../lib/ipcscope", "/../lib"};
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
        char cand[2 * PATH_MAX];
        snprintf(cand, sizeof(cand), "%s%s/%s", dir, where[i], PRELOAD_NAME);
        if (access(cand, R_OK) == 0 && realpath(cand, out))
            return 0;
    }
    (void)n;
    return -1;
}

/* 1 when path is an ELF program without an interpreter (statically linked): the preload
 * library cannot reach it. Scripts and anything unreadable count as dynamic. */
static int statically_linked(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    Elf64_Ehdr eh;
    int is_static = 0;
    if (fd < 0)
        return 0;
    if (pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) &&
        !memcmp(eh.e_ident, ELFMAG, SELFMAG) && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
        eh.e_phentsize == sizeof(Elf64_Phdr)) {
        is_static = 1;
        for (unsigned i = 0; i < eh.e_phnum && is_static; i++) {
            Elf64_Phdr ph;
            off_t at = (off_t)(eh.e_phoff + (Elf64_Off)i * sizeof(ph));
            if (pread(fd, &ph, sizeof(ph), at) != (ssize_t)sizeof(ph) || ph.p_type == PT_INTERP)
                is_static = 0;
        }
    }
    close(fd);
    return is_static;
}

/* ---- the headless run ---- */

/* The descriptors above 2 ipcscope was given (before it opens any of its own): the
 * program's too, as without ipcscope. */
static void user_fds(struct exec_program *p, int except)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) && p->nkeep < EXEC_KEEP_MAX) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] < '0' || de->d_name[0] > '9' || fd < 3 || fd == dirfd(d) || fd == except)
            continue;
        p->keep[p->nkeep++] = fd;
    }
    closedir(d);
}

struct exec_headless {
    struct run *run;
    int stop_sig; /* SIGTERM or SIGHUP stopped ipcscope */
};

/* SIGINT and SIGQUIT are the program's (they reach ipcscope when the terminal's foreground
 * is not the program's): passed on. SIGTERM and SIGHUP stop the run. */
static void on_signal(struct loop *lp, int fd, uint32_t events, void *arg)
{
    (void)events;
    struct exec_headless *h = arg;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            run_poll(h->run);
        } else if ((si.ssi_signo == SIGINT || si.ssi_signo == SIGQUIT) &&
                   exec_scenario_signal((int)si.ssi_signo)) {
            continue; /* the program's: passed on */
        } else {      /* SIGTERM, SIGHUP, or an interrupt before the program has started */
            h->stop_sig = (int)si.ssi_signo;
            loop_stop(lp);
        }
    }
}

/* ---- the watchdog ---- */

static volatile sig_atomic_t g_beats, g_beats_seen, g_strikes;

/* Past --duration and the grace, every second: a loop that has not turned for two of them
 * is stuck (a bug, or something a program did that nothing foresaw). Say so and die of
 * the signal: the guard sees the conductor gone and ends the run (group and cgroup). One
 * alarm still pending after a job-control stop is one strike, forgiven at the next turn. */
static void on_watchdog(int sig)
{
    if (g_beats != g_beats_seen) {
        g_beats_seen = g_beats;
        g_strikes = 0;
        return;
    }
    if (++g_strikes < 2)
        return;
    static const char msg[] = "ipcscope: exec: the conductor is stuck past --duration; "
                              "the guard ends the run\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Arm the watchdog (on: duration_s > 0), or disarm it (on: 0). */
static void watchdog(double duration_s, int on)
{
    struct itimerval it = {0};
    if (on && duration_s > 0) {
        struct sigaction sa = {.sa_handler = on_watchdog, .sa_flags = SA_RESTART};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        double first = duration_s + WATCHDOG_GRACE_S;
        it.it_value.tv_sec = first < 1e6 ? (time_t)first : (time_t)1e6;
        it.it_interval.tv_sec = 1;
    }
    setitimer(ITIMER_REAL, &it, NULL);
}

/* The trace's last line, as run_stop writes it, from the snapshot taken before cleanup. */
static int finish_trace(struct trace_writer *trace, json_t *snap, struct run *r)
{
    if (!trace)
        return 0;
    json_t *trl = json_pack(
        "{s:O, s:I, s:O, s:O, s:O}", "duration_ms", json_object_get(snap, "duration_ms"), "dropped",
        (json_int_t)r->model.dropped, "sources", json_object_get(snap, "sources"), "leaks",
        json_object_get(snap, "leaks"), "check", json_object_get(snap, "check"));
    json_object_set_new(trl, "clock", run_clock_json(r)); /* as write_trailer: NULL-safe */
    char why[400];
    if (trace_finish(trace, trl, why, sizeof(why)) == 0)
        return 0;
    fprintf(stderr, "ipcscope: %s\n", why);
    return 1;
}

/* The snapshot where --json / --json-fd say. 0, or 1 with a message. */
static int write_snapshot(const struct exec_cli *c, json_t *snap)
{
    FILE *f = NULL;
    if (c->json_path && !strcmp(c->json_path, "-"))
        f = stdout;
    else if (c->json_path)
        f = fopen(c->json_path, "we");
    else if (c->json_fd >= 0)
        f = fdopen(dup(c->json_fd), "w");
    if (!f) {
        fprintf(stderr, "ipcscope: exec: cannot write the snapshot to %s: %s\n",
                c->json_path ? c->json_path : "--json-fd", strerror(errno));
        return 1;
    }
    int rc = json_dumpf(snap, f, JSON_INDENT(2)) < 0 || fputc('\n', f) == EOF;
    rc |= f == stdout ? fflush(f) != 0 : fclose(f) != 0;
    if (rc)
        fprintf(stderr, "ipcscope: exec: writing the snapshot failed: %s\n", strerror(errno));
    return rc;
}

/* A few lines on stderr once the program has ended. */
/* cut: the run was stopped before the program ended, by signal stop_sig to ipcscope or (0)
 * by --duration. */
static void print_summary(const struct exec_cli *c, json_t *snap, int status, int cut, int stop_sig)
{
    json_t *ev = json_object_get(snap, "events");
    long long dropped = json_integer_value(json_object_get(ev, "dropped"));
    fprintf(stderr, "ipcscope: %s ", c->prog_argv[0]);
    if (cut && stop_sig)
        fprintf(stderr, "was stopped (ipcscope got SIG%s)",
                sigabbrev_np(stop_sig) ? sigabbrev_np(stop_sig) : "NAL");
    else if (cut)
        fputs("was stopped (--duration)", stderr);
    else if (status >= 0 && exec_scenario_killed_by() && status == 128 + exec_scenario_killed_by())
        fprintf(stderr, "was killed by SIG%s (status %d)",
                sigabbrev_np(status - 128) ? sigabbrev_np(status - 128) : "NAL", status);
    else if (status >= 0)
        fprintf(stderr, "exited with %d", status);
    else
        fputs("did not finish", stderr);
    fprintf(stderr, " after %lld ms: %zu tasks, %zu objects, %lld events",
            (long long)json_integer_value(json_object_get(snap, "duration_ms")),
            json_array_size(json_object_get(snap, "tasks")),
            json_array_size(json_object_get(snap, "objects")),
            (long long)json_integer_value(json_object_get(ev, "total")));
    if (dropped)
        fprintf(stderr, " (%lld DROPPED: %s)", dropped,
                json_string_value(json_object_get(ev, "dropped_why"))
                    ? json_string_value(json_object_get(ev, "dropped_why"))
                    : "see the snapshot");
    fputc('\n', stderr);
}

int exec_exit_code(const struct run *r, int stop_sig, char *why, size_t n)
{
    int status = exec_scenario_status(&r->model);
    why[0] = '\0';
    if (stop_sig)
        return 128 + stop_sig;
    if (r->finished != 1)
        return EXIT_CUT_SHORT; /* --duration, or q in the TUI while it ran */
    if (status > 0)
        return status;
    if (status < 0) {
        snprintf(why, n, "the program's exit status is unknown");
        return 1;
    }
    if (r->model.dropped) {
        snprintf(why, n, "%llu events were lost (the program itself succeeded)",
                 (unsigned long long)r->model.dropped);
        return 1;
    }
    if (r->leaked_procs || r->leaked_ipc) {
        snprintf(why, n,
                 "%d processes and %d IPC objects of ipcscope's were left (the program itself "
                 "succeeded)",
                 r->leaked_procs, r->leaked_ipc);
        return 1;
    }
    return 0;
}

static int exec_headless(const struct exec_cli *c)
{
    char err[512];
    sigset_t mask;
    sigemptyset(&mask);
    int sigs[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaddset(&mask, sigs[i]);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    struct loop *lp = loop_new();
    struct exec_headless h = {0};
    if (!lp || sfd < 0 || run_open(&h.run, &scenario_exec, NULL, &c->opts, err, sizeof(err)) < 0) {
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
    watchdog(c->opts.duration_s, 1);
    while (!loop_stopped(lp) && !run_done(h.run)) {
        loop_run_once(lp, 50);
        g_beats++;
    }

    run_poll(h.run);
    run_refresh(h.run); /* /proc and the sockets afresh: a connection closed since the last
                         * look is in TIME_WAIT now, as ss says (a fast program closes
                         * between two looks) */
    json_t *snap = run_snapshot(h.run); /* before any cleanup kills: who waited on what */
    exec_scenario_stopping(&h.run->model);
    struct trace_writer *trace = h.run->trace; /* the trace ends here too, so a replay agrees */
    h.run->trace = NULL;
    run_stop(h.run);
    watchdog(0, 0); /* nothing of the run is left to end: the rest is ours alone */
    json_object_set_new(snap, "leaks",
                        json_pack("{s:i, s:i}", "processes", h.run->leaked_procs, "ipc_objects",
                                  h.run->leaked_ipc));
    json_object_set_new(snap, "cleanup", exec_scenario_cleanup_json());
    exec_scenario_dropped(json_object_get(snap, "events"), h.run->model.dropped);
    int trace_bad = finish_trace(trace, snap, h.run);

    int status = exec_scenario_status(&h.run->model);
    int rc = (c->json_path || c->json_fd >= 0) ? write_snapshot(c, snap) : 0;
    print_summary(c, snap, status, h.run->finished == 2 || h.stop_sig, h.stop_sig);
    char why[256];
    int code = exec_exit_code(h.run, h.stop_sig, why, sizeof(why));
    if (why[0])
        fprintf(stderr, "ipcscope: exec: %s\n", why);
    json_decref(snap);
    run_close(h.run);
    loop_free(lp);
    close(sfd);
    return code ? code : rc ? rc : trace_bad;
}

/* When a signal killed the program and code is its 128+N, ipcscope ends by the same signal,
 * everything of the run already cleaned up, as strace does: the shell then sees the program's
 * death and acts as without ipcscope (bash says "Segmentation fault"; a Ctrl-C ends the whole
 * command line, not only this command). Its status is still 128+N in $?. Without a core dump
 * of ipcscope's own. Returns code when the signal does not end it. */
static int die_as_the_program(int code)
{
    int sig = exec_scenario_killed_by();
    if (!sig || code != 128 + sig)
        return code;
    fflush(NULL);
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigaction(sig, &dfl, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    return code;
}

int exec_main(int argc, char **argv, int first_arg, exec_tui_fn tui)
{
    struct exec_cli c = {.opts = {.lang = headless_env_lang()}, .json_fd = -1};
    int rc = parse_exec_args(&c, argc, argv, first_arg);
    if (rc)
        return rc;

    struct exec_program p = {.argv = c.prog_argv, .tui = !c.opts.headless};
    if ((rc = find_program(c.prog_argv[0], p.path, sizeof(p.path))))
        return rc;
    if (statically_linked(p.path)) {
        fprintf(stderr,
                "ipcscope: exec: %s is statically linked; only /proc (and bpf) can "
                "observe it\n",
                c.prog_argv[0]);
    } else if (find_preload(p.preload, sizeof(p.preload)) < 0) {
        fprintf(stderr,
                "ipcscope: exec: cannot find %s next to ipcscope (set "
                "IPCSCOPE_PRELOAD to its path)\n",
                PRELOAD_NAME);
        return 1;
    }
    if (c.opts.headless)
        user_fds(&p, c.json_fd);
    exec_scenario_set(&p);

    if (c.opts.headless)
        return die_as_the_program(exec_headless(&c));
    if (!tui) {
        fputs("ipcscope: this build has no TUI; use --headless\n", stderr);
        return 1;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fputs("ipcscope: the TUI needs a terminal; use 'ipcscope exec --headless -- PROGRAM'\n",
              stderr);
        return EXIT_USAGE;
    }
    if (!c.delay_given)
        c.opts.delay_ms = 150; /* watchable by default, as `run`; --delay 0 runs free */
    return die_as_the_program(tui(&scenario_exec, NULL, &c.opts, NULL));
}
