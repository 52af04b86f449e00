/*
 * exec_cmd.c - `ipcscope exec -- PROGRAM [ARGS...]`: options, checks, and the headless run.
 *
 * Finds PROGRAM (as execvp would) and the preload library (next to the ipcscope binary, or
 * IPCSCOPE_PRELOAD), says so when the program is statically linked (then only /proc and bpf
 * can see it), configures the exec scenario and runs it headless or in the TUI.
 */
#define _GNU_SOURCE
#include "exec_cmd.h"
#include "headless.h"

#include "loop.h"
#include "scenarios/exec.h"
#include "trace.h"

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
    "usage: ipcscope exec [--record FILE [--record-limit SIZE]] [--headless [--json]]\n"
    "                     [--duration S] [--no-bpf] [--step] [--delay MS] [--lang en|zh]\n"
    "                     -- PROGRAM [ARGS...]\n";

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

/* ---- options ---- */

static int number_arg(const char *opt, const char *v, double lo, double hi, double *out)
{
    if (headless_parse_number(v, lo, hi, out) < 0)
        return exec_usage_error("%s '%s': expected a number from %g to %g", opt, v ? v : "", lo,
                                hi);
    return 0;
}

/* An option with a value (--record, --duration, --delay, --lang). 0 or EXIT_USAGE. */
static int parse_valued(struct exec_cli *c, const char *o, const char *v)
{
    double d;
    if (!strcmp(o, "--record")) {
        c->opts.record = v;
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
        !strcmp(o, "--delay") || !strcmp(o, "--lang")) {
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

int exec_main(int argc, char **argv, int first_arg, exec_tui_fn tui)
{
    struct exec_cli c = {.opts = {.lang = headless_env_lang()}};
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
        return headless_run(&scenario_exec, NULL, &c.opts, c.json);
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
