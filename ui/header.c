/*
 * header.c - the dashboard's top line: where we are, the mode, the clock and the sources.
 *
 * "ipcscope · IPC › Producer/consumer   STEP  steps 5  t=12.3s  instr✓ proc✓ bpf✗ (why)".
 * The right part is drawn first and wins; the title is cut to what is left. A source that
 * is off says why, so nothing degrades silently.
 */
#include "tui.h"

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

/* "instr✓ proc✓ bpf✗ (needs CAP_BPF)"; the reason only when wide enough. */
static void sources_text(const struct ui *u, char *buf, size_t n, int with_reason)
{
    int bpf_on = u->r->bpf != NULL && !u->r->bpf_reason[0];
    int len =
        snprintf(buf, n, "instr✓ proc%s bpf%s", u->r->procfs_on ? "✓" : "✗", bpf_on ? "✓" : "✗");
    if (!bpf_on && with_reason && u->r->bpf_reason[0] && len > 0 && (size_t)len < n)
        snprintf(buf + len, n - (size_t)len, " (%s)", u->r->bpf_reason);
}

void panel_header_draw(struct ui *u, struct rect r)
{
    char right[320], src[200], speed[32] = "";
    screen_fill(r.y, r.x, r.w, THEME[R_HEADER]);
    if (u->r->mode == RUN_RUN && !run_done(u->r))
        snprintf(speed, sizeof(speed), " %ums", u->r->delay_ms);
    uint64_t ms = run_elapsed_ms(u->r);

    sources_text(u, src, sizeof(src), r.w >= 120);
    snprintf(right, sizeof(right), "%s%s  %s %llu  t=%llu.%llus  %s ", mode_word(u), speed,
             TR(u, "steps", "步数"), (unsigned long long)u->r->steps,
             (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000 / 100), src);
    int rw = screen_width(right);
    if (rw > r.w - 20) {
        sources_text(u, src, sizeof(src), 0);
        snprintf(right, sizeof(right), "%s%s  %s %llu  t=%llus  %s ", mode_word(u), speed,
                 TR(u, "steps", "步数"), (unsigned long long)u->r->steps,
                 (unsigned long long)(ms / 1000), src);
        rw = screen_width(right);
    }
    screen_put(r.y, r.x + r.w - rw, rw, THEME[R_HEADER] | A_BOLD, right);

    const char *chapter = scenario_chapter_title(u->sc->chapter, u->lang);
    char left[256];
    const char *title = TR(u, u->sc->title_en, u->sc->title_zh);
    snprintf(left, sizeof(left), " ipcscope · %s › %s", chapter ? chapter : "?", title);
    if (screen_width(left) > r.w - rw - 1)
        snprintf(left, sizeof(left), " ipcscope › %s", title);
    if (screen_width(left) > r.w - rw - 1)
        snprintf(left, sizeof(left), " %s", title);
    screen_put(r.y, r.x, r.w - rw - 1, THEME[R_HEADER], left);
}
