/*
 * exec_cmd.c - `ipcscope exec -- PROGRAM [ARGS...]`: options, checks, and the headless run.
 *
 * Finds PROGRAM (as execvp would) and the preload library (next to the ipcscope binary, or
 * IPCSCOPE_PRELOAD), says so when the program is statically linked (then only /proc and bpf
 * can see it), configures the exec scenario and runs it headless or in the TUI.
 */
#define _GNU_SOURCE
#include "exec_cmd.h"

#include "loop.h"
#include "scenarios/exec.h"

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
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define PRELOAD_NAME "libipcscope_preload.so"

static const char exec_usage[] =
    "usage: ipcscope exec [--record FILE] [--headless [--json]] [--duration S] [--no-bpf]\n"
    "                     [--step] [--delay MS] [--lang en|zh] -- PROGRAM [ARGS...]\n";

struct exec_cli {
    struct run_opts opts;
    int json;
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

static int env_lang(void)
{
    const char *vars[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strncmp(v, "zh", 2) == 0 ? LANG_ZH : LANG_EN;
    }
    return LANG_EN;
}

/* ---- options ---- */

static int number_arg(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : 0;
    if (!v || !*v || *end || errno || d < lo || d > hi)
        return exec_usage_error("%s '%s': expected a number from %g to %g", opt, v ? v : "", lo,
                                hi);
    *out = d;
    return 0;
}

/* An option with a value (--record, --duration, --delay, --lang). 0 or EXIT_USAGE. */
static int parse_valued(struct exec_cli *c, const char *o, const char *v)
{
    double d;
    if (!strcmp(o, "--record")) {
        c->opts.record = v;
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
    if (!strcmp(o, "--record") || !strcmp(o, "--duration") || !strcmp(o, "--delay") ||
        !strcmp(o, "--lang")) {
        if (!v || !strcmp(v, "--"))
            return exec_usage_error("option '%s' needs a value", o);
        ++*i;
        return parse_valued(c, o, v);
    }
    if (!strcmp(o, "--headless"))
        c->opts.headless = 1;
    else if (!strcmp(o, "--json"))
        c->json = 1;
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
    if (c->json && !c->opts.headless)
        return exec_usage_error("--json needs --headless");
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

struct exec_headless {
    struct run *run;
    int signo;
};

static void on_signal(struct loop *lp, int fd, uint32_t events, void *arg)
{
    (void)events;
    struct exec_headless *h = arg;
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGCHLD) {
            run_poll(h->run);
        } else {
            h->signo = (int)si.ssi_signo;
            loop_stop(lp);
        }
    }
}

static void print_text(json_t *snap)
{
    size_t i;
    json_t *t;
    printf("%-8s %-20s %-8s %-8s %s\n", "pid", "task", "kind", "state", "exit");
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        json_t *ex = json_object_get(t, "exit_status");
        char exs[24] = "-";
        if (ex)
            snprintf(exs, sizeof(exs), "%lld", (long long)json_integer_value(ex));
        printf("%-8lld %-20s %-8s %-8s %s\n",
               (long long)json_integer_value(json_object_get(t, "pid")),
               json_string_value(json_object_get(t, "name")),
               json_string_value(json_object_get(t, "kind")),
               json_string_value(json_object_get(t, "state")), exs);
    }
    printf("\n%-10s %-20s %s\n", "object", "name", "value (min..max)");
    json_array_foreach(json_object_get(snap, "objects"), i, t)
    {
        printf("%-10s %-20s %lld (%lld..%lld)\n", json_string_value(json_object_get(t, "kind")),
               json_string_value(json_object_get(t, "name")),
               (long long)json_integer_value(json_object_get(t, "value")),
               (long long)json_integer_value(json_object_get(t, "min")),
               (long long)json_integer_value(json_object_get(t, "max")));
    }
    json_t *out = json_object_get(snap, "program_output");
    printf("\nprogram output: %s\n", json_string_value(json_object_get(out, "path")));
    json_array_foreach(json_object_get(out, "tail"), i, t) printf("  | %s\n", json_string_value(t));
}

/* Run to the end (or --duration), print the snapshot, return the exit code. */
static int exec_headless(const struct exec_cli *c)
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
    struct exec_headless h = {0};
    if (!lp || sfd < 0 || run_open(&h.run, &scenario_exec, NULL, &c->opts, err, sizeof(err)) < 0) {
        fprintf(stderr, "ipcscope: exec: %s\n", lp && sfd >= 0 ? err : strerror(errno));
        goto fail;
    }
    loop_add_fd(lp, sfd, EPOLLIN, on_signal, &h);
    if (run_start(h.run, lp, err, sizeof(err)) < 0) {
        fprintf(stderr, "ipcscope: exec: %s\n", err);
        goto fail;
    }
    while (!loop_stopped(lp) && !run_done(h.run))
        loop_run_once(lp, 50);
    run_stop(h.run);

    json_t *snap = run_snapshot(h.run);
    if (c->json) {
        json_dumpf(snap, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        print_text(snap);
    }
    json_decref(snap);
    int rc = 0;
    if (h.signo) {
        fprintf(stderr, "ipcscope: stopped by %s\n", strsignal(h.signo));
        rc = 128 + h.signo;
    } else if (h.run->leaked_procs || h.run->leaked_ipc) {
        fprintf(stderr, "ipcscope: leaked %d processes and %d IPC objects\n", h.run->leaked_procs,
                h.run->leaked_ipc);
        rc = 1;
    }
    run_close(h.run);
    loop_free(lp);
    close(sfd);
    return rc;
fail:
    run_close(h.run);
    loop_free(lp);
    if (sfd >= 0)
        close(sfd);
    return 1;
}

int exec_main(int argc, char **argv, int first_arg, exec_tui_fn tui)
{
    struct exec_cli c = {.opts = {.lang = env_lang()}};
    int rc = parse_exec_args(&c, argc, argv, first_arg);
    if (rc)
        return rc;

    struct exec_program p = {.argv = c.prog_argv};
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
    exec_scenario_set(&p);

    if (c.opts.headless)
        return exec_headless(&c);
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
    return tui(&scenario_exec, NULL, &c.opts, NULL);
}
