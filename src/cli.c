/*
 * cli.c - parsing and checking ipcscope's command line (see cli.h): getopt_long over the
 * whole argv, then the words, then --param against the scenario they name, then the rules
 * that tie options to commands.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "trace.h"

#include "headless.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

FILE *cli_err;

static const char *const themes[] = {"dark", "light", "high-contrast", "monochrome", "colorblind"};

const char cli_usage_text[] =
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
    "      --record FILE       write the trace (JSON Lines) to FILE; FILE.zst: zstd-compressed\n"
    "      --record-limit SIZE stop recording at SIZE on disk (e.g. 500M, 2G); the run goes on\n"
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
    "  ipcscope exec [--record FILE] [--headless [--json FILE | --json-fd N]]\n"
    "                [--duration S] [--no-bpf] -- PROGRAM [ARGS...]\n"
    "                                        watch your own program (LD_PRELOAD); headless it\n"
    "                                        keeps your terminal and stdio, the snapshot goes\n"
    "                                        to FILE (- = stdout, after the program) or fd N,\n"
    "                                        and ipcscope exits with the program's status\n"
    "  ipcscope --help | --version\n"
    "\n"
    "Exit codes: 0 success, 1 runtime failure, 2 usage error.\n"
    "Examples:\n"
    "  ipcscope run prodcons --step\n"
    "  ipcscope run prodcons --headless --json --param producers=3 --record run.jsonl\n"
    "  ipcscope replay run.jsonl --step\n"
    "  printf 'step 3\\nsnapshot\\n' | ipcscope run tcp-handshake --headless --script -\n";

int cli_usage_error(const char *fmt, ...)
{
    FILE *f = cli_err ? cli_err : stderr;
    const char *form = fmt ? fmt : "?"; /* never NULL; says so to gcc's UBSan build */
    va_list ap;
    va_start(ap, fmt);
    fputs("ipcscope: ", f);
    vfprintf(f, form, ap);
    va_end(ap);
    fputs("\nTry 'ipcscope --help'.\n", f);
    return EXIT_USAGE;
}

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
    OPT_RECORD_LIMIT,
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
    {"record-limit", required_argument, NULL, OPT_RECORD_LIMIT},
    {"predict", no_argument, NULL, OPT_PREDICT},
    {0, 0, 0, 0},
};

static int parse_number(const char *opt, const char *v, double lo, double hi, double *out)
{
    if (headless_parse_number(v, lo, hi, out) < 0)
        return cli_usage_error("%s '%s': expected a number from %g to %g", opt, v, lo, hi);
    return 0;
}

static int parse_theme(struct cli *c, const char *arg)
{
    for (size_t i = 0; i < sizeof(themes) / sizeof(themes[0]); i++)
        if (strcmp(arg, themes[i]) == 0) {
            c->theme = arg;
            return 0;
        }
    return cli_usage_error("--theme '%s': expected dark, light, high-contrast, monochrome or "
                           "colorblind",
                           arg);
}

static int parse_option(struct cli *c, int o, const char *arg)
{
    double d;
    switch (o) {
    case OPT_PARAM:
        if (c->nparam == CLI_PARAMS_MAX)
            return cli_usage_error("--param: at most %d of them", CLI_PARAMS_MAX);
        c->param_args[c->nparam++] = arg;
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
            return cli_usage_error("--lang '%s': expected en or zh", arg);
        c->opts.lang = strcmp(arg, "zh") == 0 ? LANG_ZH : LANG_EN;
        return 0;
    case OPT_THEME:
        return parse_theme(c, arg);
    case OPT_NO_BPF:
        c->opts.no_bpf = 1;
        return 0;
    case OPT_PERFETTO:
        c->perfetto = arg;
        return 0;
    case OPT_RECORD_LIMIT:
        if (trace_parse_size(arg, &c->opts.record_limit) < 0)
            return cli_usage_error("--record-limit '%s': expected a size of at least 1M, such as "
                                   "500M or 2G (K, M, G: KiB, MiB, GiB)",
                                   arg);
        return 0;
    case OPT_SCRIPT:
        c->opts.script = arg;
        c->opts.step = 1; /* the script's steps drive the gate */
        return 0;
    case OPT_PREDICT:
        c->opts.predict = 1;
        return 0;
    default:
        return cli_usage_error("unknown option");
    }
}

/* Options anywhere in argv, then the words in order: command, then its argument. */
static int parse_words(int argc, char **argv, struct cli *c)
{
    opterr = 0;
    optind = 0; /* 0: getopt re-initialises (GNU), so cli_parse may be called again */
    int o;
    while ((o = getopt_long(argc, argv, ":hV", long_opts, NULL)) != -1) {
        if (o == 'h' || o == OPT_HELP)
            return CLI_HELP;
        if (o == 'V' || o == OPT_VERSION)
            return CLI_VERSION;
        if (o == '?')
            return cli_usage_error("unknown option '%s'", argv[optind - 1]);
        if (o == ':')
            return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        int rc = parse_option(c, o, optarg);
        if (rc)
            return rc;
    }
    for (; optind < argc; optind++) {
        if (!c->cmd)
            c->cmd = argv[optind];
        else if (!c->file)
            c->file = argv[optind];
        else
            return cli_usage_error("unexpected word '%s'", argv[optind]);
    }
    return CLI_GO;
}

static int unknown_scenario(const char *id)
{
    FILE *f = cli_err ? cli_err : stderr;
    fprintf(f, "ipcscope: unknown scenario '%s'. Known scenarios:", id);
    for (size_t i = 0; i < scenario_count; i++)
        fprintf(f, " %s", scenario_table[i]->id);
    fputs("\nTry 'ipcscope list'.\n", f);
    return EXIT_USAGE;
}

/* run: the scenario, its --param values, and the options that go with them. */
static int check_run(struct cli *c)
{
    char err[512];
    if (!c->file)
        return cli_usage_error("run needs a scenario id; see 'ipcscope list'");
    c->sc = scenario_find(c->file);
    if (!c->sc)
        return unknown_scenario(c->file);
    scenario_defaults(c->sc, c->params);
    for (int i = 0; i < c->nparam; i++)
        if (scenario_parse_param(c->sc, c->param_args[i], c->params, err, sizeof(err)) < 0)
            return cli_usage_error("%s", err);
    if (c->json && !c->opts.headless)
        return cli_usage_error("--json needs --headless");
    if (c->opts.record_limit && !c->opts.record)
        return cli_usage_error("--record-limit needs --record FILE");
    if (c->opts.script && !c->opts.headless)
        return cli_usage_error("--script drives a headless run: add --headless (in the TUI, the "
                               "keys drive it)");
    if (c->opts.predict && c->opts.headless && !c->opts.script)
        return cli_usage_error("--predict with --headless needs --script: the questions wait for "
                               "answers (answer A-D); in the TUI the keys A-D answer");
    if (c->opts.headless && c->opts.step && c->opts.duration_s <= 0 && !c->opts.script)
        return cli_usage_error("--step with --headless would wait for keypresses that never "
                               "come; drop --headless (step in the TUI), drop --step, or add "
                               "--duration SECONDS");
    return CLI_GO;
}

static int check_replay(const struct cli *c)
{
    if (!c->file)
        return cli_usage_error(
            "replay needs a trace file: ipcscope replay FILE [--headless --json]");
    if (c->opts.record)
        return cli_usage_error("--record is for run and exec; a replay plays a trace that is "
                               "already recorded");
    if (c->opts.duration_s > 0)
        return cli_usage_error("--duration is for run and exec; a replay lasts as long as its "
                               "trace (q ends it)");
    return CLI_GO;
}

/* The words and options together. */
static int check_command(struct cli *c)
{
    if (c->nparam && (!c->cmd || strcmp(c->cmd, "run") != 0))
        return cli_usage_error("--param needs a scenario: ipcscope run ID --param KEY=VALUE");
    if (!c->cmd)
        return CLI_GO;
    if (strcmp(c->cmd, "list") == 0)
        return c->file ? cli_usage_error("list takes no argument ('%s')", c->file) : CLI_GO;
    if (strcmp(c->cmd, "run") == 0)
        return check_run(c);
    if (strcmp(c->cmd, "replay") == 0)
        return check_replay(c);
    if (strcmp(c->cmd, "export") == 0)
        return !c->file || !c->perfetto
                   ? cli_usage_error("export needs a trace and --perfetto OUT.json")
                   : CLI_GO;
    return cli_usage_error("unknown command '%s'; expected list, run, replay, export or exec",
                           c->cmd);
}

int cli_parse(int argc, char **argv, struct cli *c)
{
    int rc = parse_words(argc, argv, c);
    return rc != CLI_GO ? rc : check_command(c);
}
