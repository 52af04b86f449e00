/*
 * test_ui_narrow.c - the dashboard at 80x24, where every column counts: what a task at the
 * step gate will do next is readable whole in the Tasks panel, and the event log keeps the
 * names of the objects its lines are about.
 *
 * Each test drives `ipcscope run ... --step` in a tmux pane of 80x24 and reads the screen as
 * a student would: the Tasks panel's rows, the Events panel's lines.
 */
#define _GNU_SOURCE
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct ts_tui g_tui;

static void stop(void)
{
    ts_tui_stop(&g_tui);
}

/* Line k (0-based) of screen into out, or 0 past the last line. */
static int screen_line(const char *screen, int k, char *out, size_t n)
{
    const char *l = screen;
    for (; k > 0 && l; k--)
        l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL;
    if (!l || !*l)
        return 0;
    const char *e = strchr(l, '\n');
    size_t len = e ? (size_t)(e - l) : strlen(l);
    snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), l);
    return 1;
}

/* The left panel's text of a line that holds two panels side by side ("│...││...│"): what is
 * between its first "│" and the "││" where the panels meet, trailing spaces dropped; "" when
 * the line is not such a line. */
static void left_panel(const char *line, char *out, size_t n)
{
    out[0] = '\0';
    const char *b = strncmp(line, "│", strlen("│")) == 0 ? line + strlen("│") : NULL;
    const char *meet = b ? strstr(b, "││") : NULL;
    if (!meet)
        return;
    size_t len = (size_t)(meet - b);
    while (len > 0 && b[len - 1] == ' ')
        len--;
    snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), b);
}

/* What the Tasks panel says task name will do at the gate: the text after "‖ GATE" on its
 * row, or, when the row has none, the line under it (where a hint with no room on its row
 * goes). Copied into out; 0 when the task is not on screen at the gate. */
static int gate_hint_of(const char *screen, const char *name, char *out, size_t n)
{
    char line[1024], panel[1024], key[64];
    snprintf(key, sizeof(key), " %s ", name);
    for (int k = 0; screen_line(screen, k, line, sizeof(line)); k++) {
        left_panel(line, panel, sizeof(panel));
        char *at = strstr(panel, key), *gate = at ? strstr(at, "‖ GATE") : NULL;
        if (!gate)
            continue;
        char *hint = gate + strlen("‖ GATE");
        while (*hint == ' ')
            hint++;
        if (!*hint && screen_line(screen, k + 1, line, sizeof(line))) {
            left_panel(line, panel, sizeof(panel));
            hint = panel;
            hint += strspn(hint, " "); /* the indent, and a branch that goes on below */
            if (strncmp(hint, "│", strlen("│")) == 0)
                hint += strlen("│");
            hint += strspn(hint, " ");
        }
        snprintf(out, n, "%s", hint);
        return 1;
    }
    return 0;
}

/* Step `run ID --step` at 80x24 until task name is at the gate with a hint that starts like
 * want; asserts that the Tasks panel then shows want whole. */
static void hint_is_whole(const char *id, const char *name, const char *want, int max_steps)
{
    char args[128], prefix[32], hint[512] = "";
    snprintf(args, sizeof(args), "run %s --step", id);
    snprintf(prefix, sizeof(prefix), "%.7s", want); /* "→ a st", "→ set " */
    ts_tui_start(&g_tui, args, 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int seen = 0;
    for (int i = 0; i < max_steps && !seen; i++) {
        ts_tui_keys(&g_tui, "Space");
        ts_sleep_ms(500);
        /* the Next line names the step first; the panel is the same frame */
        const char *s = ts_tui_capture(&g_tui);
        seen =
            gate_hint_of(s, name, hint, sizeof(hint)) && strncmp(hint, prefix, strlen(prefix)) == 0;
    }
    cr_assert(seen, "%s never waited at the gate to do '%s' (its hint: '%s'):\n%s", name, want,
              hint, g_tui.screen);
    cr_assert_str_eq(hint, want, "%s's gate hint is not whole:\n%s", name, g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* lock: worker-1, holding the lock, writes its line into shared memory; its row had 11
 * columns and read "→ a store…". */
Test(ui_narrow, lock_the_holders_store_is_said_whole, .fini = stop, .timeout = 90)
{
    hint_is_whole("lock", "worker-1", "→ a store to output", 6);
}

/* fork: after its two forks the parent sets its own copy of x; its row read "→ set…" (the
 * Next line named another task's step meanwhile). */
Test(ui_narrow, fork_the_parents_store_is_said_whole, .fini = stop, .timeout = 90)
{
    hint_is_whole("fork", "parent", "→ set its x to 11", 8);
}

/* fork: the children at the gate after fork returned 0 in them; with no line to spare their
 * rows read "→ fork()…", a call about to be made. Now they say the result as the event log
 * does ("→ fork() = 0"), or the whole "fork() returns 0" on a line of its own. */
Test(ui_narrow, fork_a_childs_return_is_a_result_not_a_call, .fini = stop, .timeout = 90)
{
    ts_tui_start(&g_tui, "run fork --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int short_form = 0;
    for (int i = 0; i < 8 && !short_form; i++) {
        ts_tui_keys(&g_tui, "Space");
        ts_sleep_ms(500);
        const char *s = ts_tui_capture(&g_tui);
        char hint[512];
        for (int c = 1; c <= 2; c++) {
            char name[16];
            snprintf(name, sizeof(name), "child-%d", c);
            if (!gate_hint_of(s, name, hint, sizeof(hint)) || strncmp(hint, "→ fork()", 10) != 0)
                continue;
            cr_assert(strcmp(hint, "→ fork() = 0") == 0 || strcmp(hint, "→ fork() returns 0") == 0,
                      "%s's hint reads '%s':\n%s", name, hint, s);
            short_form |= strcmp(hint, "→ fork() = 0") == 0;
        }
    }
    cr_assert(short_form, "never saw a child's row say '→ fork() = 0':\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* philosophers: the row had 10 columns and read "→ lock()": which fork? The conductor's row
 * has no indent, so the state column need not be as far right as its name plus a worker's
 * indent, and the fork is named on the row. */
Test(ui_narrow, philosophers_rows_name_the_fork, .fini = stop, .timeout = 90)
{
    hint_is_whole("philosophers", "phil-2", "→ lock(fork-2)", 8);
}

/* The brief lines of the Events panel (the left panel below the timeline): each line's text
 * after its time and task, one per line, into out. */
static void event_briefs(const char *screen, char *out, size_t n)
{
    char line[1024], panel[1024];
    size_t used = 0;
    int in = 0;
    out[0] = '\0';
    for (int k = 0; screen_line(screen, k, line, sizeof(line)); k++) {
        if (strstr(line, "┌─ Events")) {
            in = 1;
            continue;
        }
        if (!in)
            continue;
        left_panel(line, panel, sizeof(panel));
        if (!panel[0])
            break; /* the panel's bottom border */
        char *p = panel + strspn(panel, " ");
        p += strcspn(p, " "); /* the time */
        p += strspn(p, " ");
        p += strcspn(p, " "); /* the task */
        p += strspn(p, " ");
        used += (size_t)snprintf(out + used, n - used, "%s\n", p);
        if (used >= n)
            return;
    }
}

/* At 80x24 an event line had 17 columns for "sem_acquired(empty) → 1" and read
 * "sem_acquired…": which semaphore? The line keeps the object's name whole and cuts what
 * follows it. Every line about an object names it. */
Test(ui_narrow, event_lines_keep_their_objects_names, .fini = stop, .timeout = 90)
{
    static const char *const KINDS[] = {"sem_wait",   "sem_acquired",   "sem_post",
                                        "mutex_wait", "mutex_acquired", "mutex_release",
                                        "queue_put",  "queue_get",      "obj_create"};
    ts_tui_start(&g_tui, "run prodcons --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int named = 0, acquired = 0;
    for (int i = 0; i < 8; i++) {
        ts_tui_keys(&g_tui, "Space");
        ts_sleep_ms(500);
        static char briefs[8192];
        event_briefs(ts_tui_capture(&g_tui), briefs, sizeof(briefs));
        for (const char *l = briefs; *l; l = strchr(l, '\n') + 1) {
            size_t len = strcspn(l, "\n");
            for (size_t k = 0; k < sizeof(KINDS) / sizeof(KINDS[0]); k++) {
                size_t kl = strlen(KINDS[k]);
                if (len < kl || strncmp(l, KINDS[k], kl) != 0)
                    continue;
                cr_assert(l[kl] == '(' && memchr(l + kl, ')', len - kl),
                          "an event line lost its object's name: '%.*s'\n%s", (int)len, l,
                          g_tui.screen);
                named++;
                acquired += strncmp(l, "sem_acquired(empty)", strlen("sem_acquired(empty)")) == 0;
            }
        }
    }
    cr_assert_gt(named, 0, "no event line about an object was seen:\n%s", g_tui.screen);
    cr_assert_gt(acquired, 0, "no producer was seen taking a slot of 'empty':\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* tcp-echo's client socket is "client-1-sock": "obj_create(client-1-sock) =0" does not fit
 * beside "client-1" even without its value, and read "obj_create…". The kind's family goes
 * ("create(client-1-sock)"), the name stays. */
Test(ui_narrow, a_long_object_name_stays_whole_in_the_event_log, .fini = stop, .timeout = 120)
{
    ts_tui_start(&g_tui, "run tcp-echo --step --param messages=1", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int seen = 0;
    for (int i = 0; i < 12 && !seen; i++) {
        ts_tui_keys(&g_tui, "Space");
        ts_sleep_ms(500);
        static char briefs[8192];
        event_briefs(ts_tui_capture(&g_tui), briefs, sizeof(briefs));
        seen = strstr(briefs, "(client-1-sock)") != NULL;
    }
    cr_assert(seen, "no event line named client-1-sock whole:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* forking-server at its default pace: the client sockets' rows in TIME-WAIT keep the number
 * that tells them apart. Their queues ("Recv 0 Send 0", always 0 in TIME-WAIT) left their
 * names 4 columns, and two rows read "clie… TIME-WAIT Recv 0 Send 0". */
Test(ui_narrow, sockets_in_time_wait_keep_their_numbers, .fini = stop, .timeout = 120)
{
    ts_tui_start(&g_tui, "run forking-server", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "TIME-WAIT", 60000), "no socket in TIME-WAIT:\n%s",
              g_tui.screen);
    ts_sleep_ms(1500); /* the other clients' sockets follow */
    const char *s = ts_tui_capture(&g_tui);
    char line[1024];
    int rows = 0;
    for (int k = 0; screen_line(s, k, line, sizeof(line)); k++) {
        char *tw = strstr(line, "TIME-WAIT"), *meet = strstr(line, "││");
        if (!tw || !meet || tw < meet)
            continue;
        rows++;
        int numbered = 0;
        for (char *p = meet; p + 1 < tw; p++)
            numbered |= p[0] == '-' && p[1] >= '0' && p[1] <= '9';
        cr_expect(numbered, "a TIME-WAIT row without its socket's number: %s", line);
    }
    cr_assert_geq(rows, 1, "no TIME-WAIT row in the Objects panel:\n%s", s);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}
