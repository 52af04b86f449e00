/*
 * main.c - the commands of the command line (DESIGN.md section 3), parsed by cli.c: wiring
 * and exit codes.
 *
 * Exit codes: 0 success, 1 runtime failure (message on stderr), 2 usage error (the message
 * names the bad word and what would be accepted). Headless runs and replays print the final
 * snapshot as JSON (--json) or as a readable summary; everything else goes to the TUI.
 */
#define _GNU_SOURCE
#include "cli.h"
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
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#ifdef IPCSCOPE_NO_UI
#define IPCSCOPE_EXEC_TUI NULL
#else
#define IPCSCOPE_EXEC_TUI ui_main
#endif

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
        return headless_output_done();
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
    return headless_output_done();
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
            rc = cli_usage_error("--json needs --headless");
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
    int rc = headless_output_done();
    if (!rp->trailer)
        fprintf(stderr, "ipcscope: warning: %s has no end line (the run was cut short)\n", c->file);
    json_decref(snap);
    model_free(&m);
    replay_free(rp);
    return rc;
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

/* A standard descriptor that is closed at start would be taken by the first file ipcscope
 * opens, and output meant for the terminal would land in it: hold each with /dev/null, and
 * remember that stdout was closed so that writing the output fails as it should. */
static void hold_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        int got = open("/dev/null", O_RDWR);
        if (got >= 0 && got != fd) {
            dup2(got, fd);
            close(got);
        }
        if (fd == STDOUT_FILENO)
            headless_stdout_closed = 1;
    }
}

/* run: headless, or the TUI at the scenario's dashboard. */
static int cmd_run(struct cli *c)
{
    if (c->opts.headless)
        return headless_run(c->sc, c->params, &c->opts, c->json);
    if (!c->delay_given)
        c->opts.delay_ms = 150; /* watchable by default; --delay 0 runs free */
    return start_tui(c->sc, c);
}

int main(int argc, char **argv)
{
    struct cli c = {0};
    hold_std_fds();
    c.opts.lang = headless_env_lang();
    install_crash_handlers();
    if (argc > 1 && strcmp(argv[1], "exec") == 0) /* before getopt: the program's options */
        return exec_main(argc, argv, 2, IPCSCOPE_EXEC_TUI);

    int rc = cli_parse(argc, argv, &c);
    if (rc == CLI_HELP) {
        fputs(cli_usage_text, stdout);
        return headless_output_done();
    }
    if (rc == CLI_VERSION) {
        printf("ipcscope %s\n", IPCSCOPE_VERSION);
        return headless_output_done();
    }
    if (rc)
        return rc;
    if (!c.cmd)
        return start_tui(NULL, &c);
    if (strcmp(c.cmd, "list") == 0)
        return cmd_list(c.json);
    if (strcmp(c.cmd, "run") == 0)
        return cmd_run(&c);
    if (strcmp(c.cmd, "replay") == 0)
        return cmd_replay(&c);
    return cmd_export(&c);
}
