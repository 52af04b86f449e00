/*
 * panel_meters.c - the lesson's result, as numbers with what they mean: lost updates out of
 * the expected total, CPU shares beside the kernel's weights, the overlap of parallel work,
 * the text the workers printed.
 *
 * A scenario says what its result is in its own snapshot keys, as a "meters" array of
 * {label, value, max, text} (max 0: no bar; text: the value as a sentence). The dashboard
 * draws them under the objects, projector mode in block digits. A replay has no live
 * scenario to ask and shows none.
 */
#include "tui.h"

#include <stdio.h>
#include <string.h>

/* The scenario's meters now, into out (up to n). Returns how many. */
int panel_meters_collect(struct ui *u, struct ui_meter *out, int n)
{
    const struct run *r = u->r;
    if (!r || r->replay || !r->sc->snapshot || !r->ctx.shared)
        return 0;
    json_t *snap = json_object();
    r->sc->snapshot((struct scn_ctx *)&r->ctx, &r->model, snap);
    json_t *arr = json_object_get(snap, "meters"), *m;
    size_t i;
    int k = 0;
    json_array_foreach(arr, i, m)
    {
        if (k == n)
            break;
        struct ui_meter *o = &out[k++];
        const char *label = json_string_value(json_object_get(m, "label"));
        const char *text = json_string_value(json_object_get(m, "text"));
        snprintf(o->label, sizeof(o->label), "%s", label ? label : "");
        snprintf(o->text, sizeof(o->text), "%s", text ? text : "");
        o->value = json_number_value(json_object_get(m, "value"));
        o->max = json_number_value(json_object_get(m, "max"));
    }
    json_decref(snap);
    return k;
}

/* A result text cut to w columns: its closing remark in parentheses first, then at its last
 * " · " that fits, with "…" saying there is more ("fd 3 listener · fd 4 conn-1 …", never
 * "· f": poll-server's interest set at 100x30), else before a word (screen_fit_words: "75%,
 * weights…", never "(the weig"). */
static void fit_text(char *t, size_t n, int w)
{
    if (w <= 0 || screen_width(t) <= w)
        return;
    /* a closing remark in parentheses goes before any item: the interest set's fds are the
     * fact, "(kept in the kernel by epoll_ctl)" the gloss (the row read "fd 3 listener …" with
     * room for "fd 3 listener · fd 5 conn-1 …") */
    size_t tl = strlen(t);
    char *gloss = tl && t[tl - 1] == ')' ? strstr(t, " (") : NULL;
    while (gloss && strstr(gloss + 2, " ("))
        gloss = strstr(gloss + 2, " (");
    if (gloss && gloss > t) {
        *gloss = '\0';
        if (screen_width(t) + 2 <= w) {
            snprintf(gloss, n - (size_t)(gloss - t), " …");
            return;
        }
    }
    const char *sep = " · ";
    for (char *cut = t + strlen(t); cut > t; cut--) {
        if (strncmp(cut, sep, strlen(sep)) != 0)
            continue;
        char keep = *cut;
        *cut = '\0';
        if (screen_width(t) + 2 <= w) {
            size_t len = strlen(t);
            snprintf(t + len, n - len, " …");
            return;
        }
        *cut = keep;
    }
    screen_fit_words(t, n, w);
}

/* "lost updates [████░░░░] 3102 of 8000 increments lost" on one line; when the bar would
 * leave the text too little room, the text goes first and the bar is left out. */
static void meter_line(const struct ui_meter *m, int y, int x, int w)
{
    int used = screen_putf(y, x, w, THEME[R_TITLE], "%s ", m->label);
    int tw = screen_width(m->text), bar_w = 13; /* "[" ten cells "] " */
    if (m->max > 0 && w - used > 16 && (w - used - bar_w >= tw || w - used < tw)) {
        int cells = 10, filled = (int)(m->value / m->max * cells + 0.5);
        filled = filled < 0 ? 0 : filled > cells ? cells : filled;
        used += screen_put(y, x + used, w - used, THEME[R_BORDER], "[");
        for (int c = 0; c < cells; c++)
            used += screen_put(y, x + used, w - used, c < filled ? THEME[R_TOKEN] : THEME[R_EMPTY],
                               c < filled ? "█" : "░");
        used += screen_put(y, x + used, w - used, THEME[R_BORDER], "] ");
    }
    char text[sizeof(m->text)];
    snprintf(text, sizeof(text), "%s", m->text);
    fit_text(text, sizeof(text), w - used);
    screen_put(y, x + used, w - used, THEME[R_NORMAL] | A_BOLD, text);
}

int panel_meters_draw(struct ui *u, int y, int x, int w, int h)
{
    struct ui_meter m[UI_METERS_MAX];
    int n = panel_meters_collect(u, m, UI_METERS_MAX);
    if (!n || h < 2)
        return 0;
    screen_put(y, x, w, THEME[R_DIM], TR(u, "── result ──", "── 结果 ──"));
    int k = 0;
    for (; k < n && k + 1 < h; k++)
        meter_line(&m[k], y + 1 + k, x, w);
    return k + 1;
}
