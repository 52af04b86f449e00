/*
 * main.c - the command line: arguments, wiring, exit codes (DESIGN.md section 3).
 *
 * Exit codes: 0 success, 1 runtime failure (message on stderr), 2 usage error (the message
 * names the bad word and what would be accepted). Headless runs and replays print the final
 * snapshot as JSON (--json) or as a readable summary; everything else goes to the TUI.
 */
#define _GNU_SOURCE
#include "exec_cmd.h"
#include "headless.h"
#include "loop.h"
#include "model.h"
#include "replay.h"
#include "run.h"
#include "scenario.h"
#include "snapshot.h"
#include "trace.h"

#ifndef IPCSCOPE_NO_UI
#include "ui.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define EXIT_USAGE 2

#ifdef IPCSCOPE_NO_UI
#define IPCSCOPE_EXEC_TUI NULL
#else
#define IPCSCOPE_EXEC_TUI ui_main
#endif

static const char *const themes[] = {"dark", "light", "high-contrast", "monochrome", "colorblind"};

static const char usage_text[] =
    "Usage:\n"
    "  ipcscope                              the TUI, starting at the scenario picker\n"
    "  ipcscope list [--json]                the scenarios: id, chapter, title\n"
    "  ipcscope run ID [options]             one scenario, in the TUI unless --headless\n"
    "      --param KEY=VALUE   scenario parameter (repeatable; see `ipcscope list`)\n"
    "      --headless          no TUI: run to completion (or --duration) and exit\n"
    "      --json              with --headless: print the final snapshot as JSON\n"
    "      --duration SECONDS  stop after this long\n"
    "      --step              start in step mode (one action per keypress)\n"
    "      --delay MS          in run mode, let one action through every MS milliseconds\n"
    "      --record FILE       write the trace (JSON Lines) to FILE\n"
    "      --lang en|zh        narration language (default: from the locale)\n"
    "      --theme NAME        dark, light, high-contrast, monochrome, colorblind\n"
    "      --no-bpf            do not load the eBPF probes\n"
    "      --script FILE|-     with --headless: drive the step gate from commands, one a\n"
    "                          line: step [N], pick TASK, action KEY, run MS, wait MS,\n"
    "                          finish [MAX], snapshot (prints one JSON line)\n"
    "      --predict           predict mode: before each key moment a question, answered by\n"
    "                          the class (keys A-D; with --script: answer A-D, questions and\n"
    "                          reveals are JSON lines), then checked against the run\n"
    "  ipcscope replay FILE [--step] [--delay MS]   play a recorded run back in the TUI\n"
    "                                        (Space steps, b steps back, R rewinds)\n"
    "  ipcscope replay FILE --headless [--json]     print a recorded run's final state\n"
    "  ipcscope export FILE --perfetto OUT.json     convert a trace for ui.perfetto.dev\n"
    "  ipcscope exec [--record FILE] [--headless [--json]] [--duration S] [--no-bpf]\n"
    "                -- PROGRAM [ARGS...]     watch your own program (LD_PRELOAD)\n"
    "  ipcscope --help | --version\n"
    "\n"
    "Exit codes: 0 success, 1 runtime failure, 2 usage error.\n"
    "Examples:\n"
    "  ipcscope run prodcons --step\n"
    "  ipcscope run prodcons --headless --json --param producers=3 --record run.jsonl\n"
    "  ipcscope replay run.jsonl --step\n"
    "  printf 'step 3\\nsnapshot\\n' | ipcscope run tcp-handshake --headless --script -\n";

struct cli {
    const char *cmd;
    const char *id;
    long params[SCN_MAX_PARAMS];
    int have_scenario;
    struct run_opts opts;
    int json;
    int delay_given;
    const char *theme;
    const char *perfetto;
    const char *file;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ipcscope: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'ipcscope --help'.\n", stderr);
    return EXIT_USAGE;
}

/* ---- list ---- */

static int cmd_list(int json)
{
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < scenario_count; i++) {
            const struct scenario *sc = scenario_table[i];
            json_t *params = json_array();
            for (size_t p = 0; p < sc->nparams; p++)
                json_array_append_new(params, json_pack("{s:s, s:I, s:I, s:I, s:s}", "key",
                                                        sc->params[p].key, "min",
                                                        (json_int_t)sc->params[p].min, "max",
                                                        (json_int_t)sc->params[p].max, "default",
                                                        (json_int_t)sc->params[p].def, "help",
                                                        sc->params[p].help_en));
            json_array_append_new(arr, json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:o}", "id",
                                                 sc->id, "chapter", sc->chapter, "chapter_title",
                                                 scenario_chapter_title(sc->chapter, 0), "title",
                                                 sc->title_en, "title_zh", sc->title_zh, "summary",
                                                 sc->summary_en, "params", params));
        }
        json_dumpf(arr, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(arr);
        return 0;
    }
    for (int ch = 1; ch <= 11; ch++) {
        int shown = 0;
        for (size_t i = 0; i < scenario_count; i++) {
            const struct scenario *sc = scenario_table[i];
            if (sc->chapter != ch)
                continue;
            if (!shown++)
                printf("%d. %s\n", ch, scenario_chapter_title(ch, LANG_EN));
            printf("   %-16s %s\n", sc->id, sc->title_en);
        }
    }
    return 0;
}

/* ---- headless ---- */

static void crash_handler(int sig)
{
    run_emergency_kill();
#ifndef IPCSCOPE_NO_UI
    ui_emergency_restore();
#endif
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_crash_handlers(void)
{
    int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], crash_handler);
}

/* ---- replay / export ---- */

static int start_tui(const struct scenario *sc, struct cli *c);

/* Headless: rebuild the final state and print it. In the TUI: play the trace back, after
 * checking it whole here, so a bad file is refused before the screen changes. */
static int cmd_replay(struct cli *c)
{
    char err[512];
    struct replay *rp;
    if (replay_load(&rp, c->file, err, sizeof(err)) < 0) {
        fprintf(stderr, "ipcscope: %s\n", err);
        return 1;
    }
    const char *id = json_string_value(json_object_get(rp->header, "scenario"));
    const struct scenario *sc = scenario_find_recorded(id);
    if (!c->opts.headless) {
        int rc = 1;
        if (!sc)
            fprintf(stderr,
                    "ipcscope: %s was recorded from scenario '%s', which this ipcscope does not "
                    "have; 'ipcscope replay %s --headless' still shows its final state\n",
                    c->file, id, c->file);
        else if (c->json)
            rc = usage_error("--json needs --headless");
        else {
            c->opts.replay = rp; /* the run borrows it: the file is read once */
            if (!c->delay_given)
                c->opts.delay_ms = 150; /* as `run` in the TUI; + up to the recorded pace */
            rc = start_tui(sc, c);
        }
        replay_free(rp);
        return rc;
    }
    struct model m;
    if (model_init(&m, rp->hist_cap, rp->span_cap) < 0) {
        replay_free(rp);
        return 1;
    }
    replay_seek(rp, &m, rp->n);
    json_t *snap = replay_snapshot(rp->header, rp->trailer, &m);
    if (c->json) {
        json_dumpf(snap, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        headless_print_summary(stdout, snap);
    }
    if (!rp->trailer)
        fprintf(stderr, "ipcscope: warning: %s has no end line (the run was cut short)\n", c->file);
    json_decref(snap);
    model_free(&m);
    replay_free(rp);
    return 0;
}

static int cmd_export(struct cli *c)
{
    char err[512];
    if (trace_export_perfetto(c->file, c->perfetto, err, sizeof(err)) < 0) {
        fprintf(stderr, "ipcscope: %s\n", err);
        return 1;
    }
    fprintf(stderr, "ipcscope: wrote %s (open it in ui.perfetto.dev or chrome://tracing)\n",
            c->perfetto);
    return 0;
}

/* ---- argument parsing ---- */

enum {
    OPT_PARAM = 256,
    OPT_HEADLESS,
    OPT_JSON,
    OPT_DURATION,
    OPT_STEP,
    OPT_RECORD,
    OPT_LANG,
    OPT_THEME,
    OPT_NO_BPF,
    OPT_PERFETTO,
    OPT_DELAY,
    OPT_HELP,
    OPT_VERSION,
    OPT_SCRIPT,
    OPT_PREDICT
};

static const struct option long_opts[] = {
    {"param", required_argument, NULL, OPT_PARAM},
    {"headless", no_argument, NULL, OPT_HEADLESS},
    {"json", no_argument, NULL, OPT_JSON},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"step", no_argument, NULL, OPT_STEP},
    {"record", required_argument, NULL, OPT_RECORD},
    {"lang", required_argument, NULL, OPT_LANG},
    {"theme", required_argument, NULL, OPT_THEME},
    {"no-bpf", no_argument, NULL, OPT_NO_BPF},
    {"perfetto", required_argument, NULL, OPT_PERFETTO},
    {"delay", required_argument, NULL, OPT_DELAY},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"script", required_argument, NULL, OPT_SCRIPT},
    {"predict", no_argument, NULL, OPT_PREDICT},
    {0, 0, 0, 0},
};

static int parse_number(const char *opt, const char *v, double lo, double hi, double *out)
{
    if (headless_parse_number(v, lo, hi, out) < 0)
        return usage_error("%s '%s': expected a number from %g to %g", opt, v, lo, hi);
    return 0;
}

static int parse_option(struct cli *c, int o, const char *arg, const struct scenario *sc)
{
    char err[512];
    double d;
    switch (o) {
    case OPT_PARAM:
        if (!sc)
            return usage_error("--param needs a scenario: ipcscope run ID --param KEY=VALUE");
        if (scenario_parse_param(sc, arg, c->params, err, sizeof(err)) < 0)
            return usage_error("%s", err);
        return 0;
    case OPT_HEADLESS:
        c->opts.headless = 1;
        return 0;
    case OPT_JSON:
        c->json = 1;
        return 0;
    case OPT_DURATION:
        if (parse_number("--duration", arg, 0.001, 86400, &d))
            return EXIT_USAGE;
        c->opts.duration_s = d;
        return 0;
    case OPT_DELAY:
        if (parse_number("--delay", arg, 0, 60000, &d))
            return EXIT_USAGE;
        c->opts.delay_ms = (unsigned)d;
        c->delay_given = 1;
        return 0;
    case OPT_STEP:
        c->opts.step = 1;
        return 0;
    case OPT_RECORD:
        c->opts.record = arg;
        return 0;
    case OPT_LANG:
        if (strcmp(arg, "en") && strcmp(arg, "zh"))
            return usage_error("--lang '%s': expected en or zh", arg);
        c->opts.lang = strcmp(arg, "zh") == 0 ? LANG_ZH : LANG_EN;
        return 0;
    case OPT_THEME:
        for (size_t i = 0; i < sizeof(themes) / sizeof(themes[0]); i++)
            if (strcmp(arg, themes[i]) == 0) {
                c->theme = arg;
                return 0;
            }
        return usage_error("--theme '%s': expected dark, light, high-contrast, monochrome or "
                           "colorblind",
                           arg);
    case OPT_NO_BPF:
        c->opts.no_bpf = 1;
        return 0;
    case OPT_PERFETTO:
        c->perfetto = arg;
        return 0;
    case OPT_SCRIPT:
        c->opts.script = arg;
        c->opts.step = 1; /* the script's steps drive the gate */
        return 0;
    case OPT_PREDICT:
        c->opts.predict = 1;
        return 0;
    default:
        return usage_error("unknown option");
    }
}

/* The scenario named in argv (for run), so --param can be checked against it. */
/* 1 when argv word w is a long option that takes a value (as long_opts says). */
static int takes_value(const char *w)
{
    for (const struct option *o = long_opts; o->name; o++)
        if (strncmp(w, "--", 2) == 0 && strcmp(w + 2, o->name) == 0)
            return o->has_arg == required_argument;
    return 0;
}

/* The scenario named in argv (for run), so --param can be checked against it while the
 * options are parsed. NULL when there is none or it is unknown (reported later). */
static const struct scenario *scenario_arg(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "run") != 0)
        return NULL;
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '-') {
            i += takes_value(argv[i]);
            continue;
        }
        return scenario_find(argv[i]);
    }
    return NULL;
}

static int parse_args(int argc, char **argv, struct cli *c, const struct scenario **scp)
{
    const struct scenario *sc = scenario_arg(argc, argv);
    if (sc)
        scenario_defaults(sc, c->params);
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, ":hV", long_opts, NULL)) != -1) {
        if (o == 'h' || o == OPT_HELP) {
            fputs(usage_text, stdout);
            exit(0);
        }
        if (o == 'V' || o == OPT_VERSION) {
            printf("ipcscope %s\n", IPCSCOPE_VERSION);
            exit(0);
        }
        if (o == '?')
            return usage_error("unknown option '%s'", argv[optind - 1]);
        if (o == ':')
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        int rc = parse_option(c, o, optarg, sc);
        if (rc)
            return rc;
    }
    for (; optind < argc; optind++) {
        if (!c->cmd)
            c->cmd = argv[optind];
        else if (!c->file)
            c->file = argv[optind];
        else
            return usage_error("unexpected word '%s'", argv[optind]);
    }
    *scp = sc;
    return 0;
}

static int unknown_scenario(const char *id)
{
    fprintf(stderr, "ipcscope: unknown scenario '%s'. Known scenarios:", id);
    for (size_t i = 0; i < scenario_count; i++)
        fprintf(stderr, " %s", scenario_table[i]->id);
    fputs("\nTry 'ipcscope list'.\n", stderr);
    return EXIT_USAGE;
}

static int start_tui(const struct scenario *sc, struct cli *c)
{
#ifdef IPCSCOPE_NO_UI
    (void)sc;
    (void)c;
    fputs("ipcscope: this build has no TUI; use --headless\n", stderr);
    return 1;
#else
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr,
                "ipcscope: the TUI needs a terminal; use 'ipcscope %s --headless' to %s without "
                "one\n",
                c->opts.replay ? "replay FILE" : "run ID", c->opts.replay ? "replay" : "run");
        return EXIT_USAGE;
    }
    return ui_main(sc, sc ? c->params : NULL, &c->opts, c->theme);
#endif
}

int main(int argc, char **argv)
{
    struct cli c = {0};
    const struct scenario *sc = NULL;
    c.opts.lang = headless_env_lang();
    install_crash_handlers();
    if (argc > 1 && strcmp(argv[1], "exec") == 0) /* before getopt: the program's options */
        return exec_main(argc, argv, 2, IPCSCOPE_EXEC_TUI);

    int rc = parse_args(argc, argv, &c, &sc);
    if (rc)
        return rc;
    if (!c.cmd)
        return start_tui(NULL, &c);

    if (strcmp(c.cmd, "list") == 0)
        return c.file ? usage_error("list takes no argument ('%s')", c.file) : cmd_list(c.json);
    if (strcmp(c.cmd, "run") == 0) {
        if (!c.file)
            return usage_error("run needs a scenario id; see 'ipcscope list'");
        if (!sc)
            return unknown_scenario(c.file);
        if (c.json && !c.opts.headless)
            return usage_error("--json needs --headless");
        if (c.opts.script && !c.opts.headless)
            return usage_error("--script drives a headless run: add --headless (in the TUI, "
                               "the keys drive it)");
        if (c.opts.predict && c.opts.headless && !c.opts.script)
            return usage_error("--predict with --headless needs --script: the questions wait "
                               "for answers (answer A-D); in the TUI the keys A-D answer");
        if (c.opts.headless && c.opts.step && c.opts.duration_s <= 0 && !c.opts.script)
            return usage_error("--step with --headless would wait for keypresses that never "
                               "come; drop --headless (step in the TUI), drop --step, or add "
                               "--duration SECONDS");
        if (c.opts.headless)
            return headless_run(sc, c.params, &c.opts, c.json);
        if (!c.delay_given)
            c.opts.delay_ms = 150; /* watchable by default; --delay 0 runs free */
        return start_tui(sc, &c);
    }
    if (strcmp(c.cmd, "replay") == 0) {
        if (!c.file)
            return usage_error(
                "replay needs a trace file: ipcscope replay FILE [--headless --json]");
        if (c.opts.record)
            return usage_error("--record is for run and exec; a replay plays a trace that is "
                               "already recorded");
        if (c.opts.duration_s > 0)
            return usage_error("--duration is for run and exec; a replay lasts as long as its "
                               "trace (q ends it)");
        return cmd_replay(&c);
    }
    if (strcmp(c.cmd, "export") == 0) {
        if (!c.file || !c.perfetto)
            return usage_error("export needs a trace and --perfetto OUT.json");
        return cmd_export(&c);
    }
    return usage_error("unknown command '%s'; expected list, run, replay, export or exec", c.cmd);
}
