/*
 * header.c - the dashboard's top line: where we are, the mode, the clock and the sources.
 *
 * "ipcscope · IPC › Producer/consumer   STEP  steps 5  t=12.3s  instr✓ proc✓ bpf✗ (why)".
 * The right part is drawn first and wins (shortened step by step on narrow screens: bpf's
 * reason is always there, in short at 80 columns); the title is cut to what is left, before a
 * word that does not fit. A source that is off says why, so nothing degrades silently.
 */
#include "tui.h"

#include "scenarios/exec.h"

#include <stdio.h>
#include <string.h>

static const char *mode_word(const struct ui *u)
{
    if (run_done(u->r))
        return TR(u, "DONE", "已结束");
    switch (u->r->mode) {
    case RUN_STEP:
        return TR(u, "STEP", "单步");
    case RUN_PAUSED:
        return TR(u, "PAUSED", "暂停");
    default:
        return TR(u, "RUN", "运行");
    }
}

/* A short form of why bpf is off, for narrow screens. */
static const char *short_reason(const char *why)
{
    if (strstr(why, "--no-bpf"))
        return "--no-bpf";
    if (strstr(why, "CAP_BPF") || strstr(why, "root"))
        return "needs root";
    if (strstr(why, "BTF"))
        return "no BTF";
    if (strstr(why, "built without"))
        return "not built";
    return "off";
}

/* "instr✓ proc✓ bpf✗ (needs CAP_BPF)"; level 2: the full reason, 1: a short one, 0: none. */
static void sources_text(const struct ui *u, char *buf, size_t n, int level)
{
    int bpf_on = u->r->replay ? u->r->recorded_bpf : u->r->bpf != NULL && !u->r->bpf_reason[0];
    int len =
        snprintf(buf, n, "instr✓ proc%s bpf%s", u->r->procfs_on ? "✓" : "✗", bpf_on ? "✓" : "✗");
    const char *why = u->r->bpf_reason;
    if (!bpf_on && level && why[0] && len > 0 && (size_t)len < n)
        len += snprintf(buf + len, n - (size_t)len, " (%s)", level == 2 ? why : short_reason(why));
    if (u->r->model.dropped && len > 0 && (size_t)len < n) /* never silent about losses */
        snprintf(buf + len, n - (size_t)len, TR(u, " LOST %llu", " 丢失 %llu"),
                 (unsigned long long)u->r->model.dropped);
}

/* The right part at detail level: 3 full, 2 short reason, 1 whole seconds, 0 no reason. */
static int right_text(const struct ui *u, char *right, size_t n, int level)
{
    char src[200], speed[32] = "", clock[32];
    if (u->r->mode == RUN_RUN && !run_done(u->r) && u->r->delay_ms)
        snprintf(speed, sizeof(speed), " %ums", u->r->delay_ms);
    else if (u->r->mode == RUN_RUN && !run_done(u->r)) /* --delay 0, r at full speed: no pace */
        snprintf(speed, sizeof(speed), "%s", TR(u, " free", " 全速"));
    uint64_t ms = run_elapsed_ms(u->r);
    if (level >= 2)
        snprintf(clock, sizeof(clock), "%llu.%llus", (unsigned long long)(ms / 1000),
                 (unsigned long long)(ms % 1000 / 100));
    else
        snprintf(clock, sizeof(clock), "%llus", (unsigned long long)(ms / 1000));
    sources_text(u, src, sizeof(src), level >= 3 ? 2 : level >= 1 ? 1 : 0);
    if (u->r->replay) { /* where the playback stands, in events of the trace */
        size_t shown, total;
        run_replay_position(u->r, &shown, &total);
        snprintf(right, n, "%s%s  %s %zu/%zu  t=%s  %s ", mode_word(u), speed,
                 TR(u, "replay", "回放"), shown, total, clock, src);
        return screen_width(right);
    }
    snprintf(right, n, "%s%s  %s %llu  t=%s  %s ", mode_word(u), speed, TR(u, "steps", "步数"),
             (unsigned long long)u->r->steps, clock, src);
    return screen_width(right);
}

void panel_header_draw(struct ui *u, struct rect r)
{
    char right[320];
    screen_fill(r.y, r.x, r.w, THEME[R_HEADER]);
    int level = 3, rw = right_text(u, right, sizeof(right), level);
    while (level > 0 && rw > r.w - 20)
        rw = right_text(u, right, sizeof(right), --level);
    screen_put(r.y, r.x + r.w - rw, rw, THEME[R_HEADER] | A_BOLD, right);

    const char *chapter = scenario_chapter_title(u->sc->chapter, u->lang);
    char left[256];
    const char *title = TR(u, u->sc->title_en, u->sc->title_zh);
    if (u->sc == &scenario_exec && exec_scenario_program())
        title = exec_scenario_program(); /* "Your program › ./prodcons" */
    snprintf(left, sizeof(left), " ipcscope · %s › %s", chapter ? chapter : "?", title);
    if (screen_width(left) > r.w - rw - 1)
        snprintf(left, sizeof(left), " ipcscope › %s", title);
    if (screen_width(left) > r.w - rw - 1)
        snprintf(left, sizeof(left), " %s", title);
    screen_fit_words(left, sizeof(left), r.w - rw - 1); /* "producer and…", not "and cons" */
    screen_put(r.y, r.x, r.w - rw - 1, THEME[R_HEADER], left);
}
