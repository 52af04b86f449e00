/*
 * test_ui_views.c - the lesson's views, on the real screen (tmux): the packet flow graph,
 * the narration panel's scroll, the task list at 80x24, a socket's details.
 *
 * Each test drives `ipcscope run ... --step` in a pane of its own size and asserts on what
 * the screen says, as a student would read it.
 */
#define _GNU_SOURCE
#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ts_tui g_tui;

static void stop(void)
{
    ts_tui_stop(&g_tui);
}

/* Take n steps, each as a teacher's Space that waits for its step to show (ts_tui_step): Spaces
 * pressed a fixed time apart queue up on a loaded machine and then go by back to back, and a
 * screen looked at between them shows a step too early or skips one. */
static void steps(int n)
{
    for (int i = 0; i < n; i++)
        ts_tui_step(&g_tui, 5000);
}

/* Step until the screen shows text, at most max steps: 1 when it does. */
static int step_until(const char *text, int max)
{
    for (int i = 0; i < max; i++) {
        if (strstr(ts_tui_capture(&g_tui), text))
            return 1;
        steps(1);
    }
    return strstr(ts_tui_capture(&g_tui), text) != NULL;
}

Test(ui_views, handshake_flow_graph_lists_syn_synack_ack_in_order_with_relative_numbers,
     .fini = stop, .timeout = 90)
{
    if (geteuid() != 0)
        cr_skip_test("the capture on lo needs CAP_NET_RAW (run as root)");
    ts_tui_start(&g_tui, "run tcp-handshake --step --param clients=1", 140, 40);
    cr_assert(ts_tui_wait_for(&g_tui, "f: timeline", 20000), "no flow graph:\n%s", g_tui.screen);
    step_until("ACK seq 1 ack 1", 40);
    const char *s = ts_tui_capture(&g_tui);
    const char *syn = strstr(s, "──SYN seq 0──"), *synack = strstr(s, "◀──SYN|ACK seq 0 ack 1"),
               *ack = strstr(s, "──ACK seq 1 ack 1──");
    cr_assert(syn && synack && ack, "SYN, SYN-ACK, ACK not all drawn with relative numbers:\n%s",
              s);
    cr_assert(syn < synack && synack < ack, "not in order SYN, SYN-ACK, ACK:\n%s", s);
    char line[512];
    cr_assert(ts_line_with(s, "──SYN seq 0──", NULL, line, sizeof(line)) && strstr(line, "▶"),
              "the SYN does not go from client to server: %s", line);
    ts_tui_keys(&g_tui, "n"); /* absolute numbers: the SYN's seq is no longer 0 */
    cr_assert(ts_tui_wait_for(&g_tui, "SYN|ACK seq", 3000));
    ts_sleep_ms(300);
    cr_assert_null(strstr(ts_tui_capture(&g_tui), "──SYN seq 0──"),
                   "n did not switch to absolute numbers:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* 1 when the screen has a row for each of phil-1 .. phil-5. */
static int all_rows(const char *screen)
{
    char name[16], line[512];
    for (int k = 1; k <= 5; k++) {
        snprintf(name, sizeof(name), "phil-%d ", k);
        if (!ts_line_with(screen, name, NULL, line, sizeof(line)))
            return 0;
    }
    return 1;
}

Test(ui_views, at_80x24_the_pid_column_and_every_philosopher_stay_visible, .fini = stop,
     .timeout = 60)
{
    ts_tui_start(&g_tui, "run philosophers --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "phil-5", 20000), "phil-5 not on screen:\n%s", g_tui.screen);
    /* the rows come as the philosophers start: "phil-5" may be in the event log first */
    const char *s = g_tui.screen;
    for (int i = 0; i < 50 && !all_rows(s = ts_tui_capture(&g_tui)); i++)
        ts_sleep_ms(100);
    for (int k = 1; k <= 5; k++) {
        char name[16], line[512];
        snprintf(name, sizeof(name), "phil-%d ", k);
        cr_assert(ts_line_with(s, name, NULL, line, sizeof(line)), "%s missing:\n%s", name, s);
        /* "│ 1 ├ 12345 phil-1": a pid before the name */
        const char *at = strstr(line, name);
        const char *p = at;
        while (p > line && p[-1] == ' ')
            p--;
        while (p > line && p[-1] >= '0' && p[-1] <= '9')
            p--;
        cr_assert(p < at && atoi(p) > 1, "no pid before %s: %s", name, line);
    }
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* Narrations in the panel, newest last: the text after the "What happened" title. */
static void narration_lines(const char *screen, char *out, size_t n)
{
    out[0] = '\0';
    size_t used = 0;
    for (const char *l = screen; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        const char *bar = strstr(l, "││"); /* the two bottom panels meet here */
        const char *nl = strchr(l, '\n');
        if (bar && (!nl || bar < nl)) {
            size_t len = nl ? (size_t)(nl - bar) : strlen(bar);
            used += (size_t)snprintf(out + used, n - used, "%.*s\n", (int)len, bar);
            if (used >= n)
                return;
        }
    }
}

Test(ui_views, narration_panel_scrolls_back_and_forth, .fini = stop, .timeout = 90)
{
    ts_tui_start(&g_tui, "run prodcons --step --param items=6", 120, 30);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    steps(12);
    ts_sleep_ms(500);
    static char now[8192], back[8192], again[8192];
    narration_lines(ts_tui_capture(&g_tui), now, sizeof(now));
    ts_tui_keys(&g_tui, "Tab");
    ts_tui_keys(&g_tui, "Tab");
    ts_tui_keys(&g_tui, "Tab"); /* tasks -> objects -> events -> narration */
    ts_tui_keys(&g_tui, "PageUp");
    ts_sleep_ms(400);
    narration_lines(ts_tui_capture(&g_tui), back, sizeof(back));
    cr_assert_str_neq(now, back, "PgUp did not scroll the narration:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "PageDown");
    ts_sleep_ms(400);
    narration_lines(ts_tui_capture(&g_tui), again, sizeof(again));
    cr_assert_str_eq(now, again, "PgDn did not come back to the newest:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

Test(ui_views, socket_details_show_ends_state_and_queues, .fini = stop, .timeout = 90)
{
    ts_tui_start(&g_tui, "run tcp-echo --step --param messages=1", 140, 40);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    step_until("LISTEN", 40);
    ts_tui_keys(&g_tui, "Tab"); /* the objects panel: the listener is its first line */
    ts_tui_keys(&g_tui, "i");
    cr_assert(ts_tui_wait_for(&g_tui, "state (ss)", 3000), "no socket details:\n%s", g_tui.screen);
    const char *s = ts_tui_capture(&g_tui);
    cr_assert(strstr(s, "TCP  127.0.0.1:"), "no local address:port:\n%s", s);
    cr_assert(strstr(s, "LISTEN"), "no state:\n%s", s);
    cr_assert(strstr(s, "wait for accept()") && strstr(s, "backlog"),
              "no accept queue and backlog:\n%s", s);
    ts_tui_keys(&g_tui, "Escape");
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* At 80x24 the objects panel is 38 columns: "held by worker-1" leaves no room for
 * "waiting: 2 tasks", which was cut to " wa" at the border. Whatever fits is whole: the row of
 * a held lock that others wait for ends with its holder, or with whole words about its
 * waiters. */
Test(ui_views, at_80x24_a_held_locks_row_has_no_word_cut_short, .fini = stop, .timeout = 90)
{
    ts_tui_start(&g_tui, "run lock --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    for (int i = 0; i < 40; i++) { /* until the lock is held and others wait for it */
        const char *s = ts_tui_capture(&g_tui);
        if (strstr(s, "held by") && strstr(s, "BLOCK") && strstr(s, "mutex:lock"))
            break;
        steps(1);
    }
    char line[512];
    cr_assert(ts_line_with(ts_tui_capture(&g_tui), "held by", NULL, line, sizeof(line)),
              "the lock was never held:\n%s", g_tui.screen);
    const char *after = strstr(line, "held by ") + strlen("held by ");
    after += strcspn(after, " │"); /* past the holder's name */
    while (*after == ' ')
        after++;
    int whole = strncmp(after, "│", strlen("│")) == 0 || strncmp(after, "waiting: ", 9) == 0 ||
                strstr(after, " waiting") != NULL;
    cr_assert(whole, "the row of the held lock ends in a word cut short: %s", line);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* The task rows of a screen whose state is GATE: each row's text after the state word, into
 * out (one per line); the count. */
static int gate_hints(const char *screen, char out[][256], int max)
{
    int n = 0;
    for (const char *p = strstr(screen, "‖ GATE"); p && n < max; p = strstr(p + 1, "‖ GATE")) {
        p += strlen("‖ GATE");
        while (*p == ' ')
            p++;
        const char *bar = strstr(p, "│"), *nl = strchr(p, '\n');
        size_t len = bar && (!nl || bar < nl) ? (size_t)(bar - p)
                     : nl                     ? (size_t)(nl - p)
                                              : strlen(p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        snprintf(out[n++], 256, "%.*s", (int)len, p);
    }
    return n;
}

/* At 80x24 a task row has about ten columns for what a task at the gate will do: a hint that
 * does not fit keeps its whole words or its call without the argument ("→ lock…", "→ lock()"),
 * never "→ lock(fo…" (which fork?) or "→ sle…"; the Next line says the next one whole. */
Test(ui_views, at_80x24_gate_hints_keep_whole_words, .fini = stop, .timeout = 90)
{
    ts_tui_start(&g_tui, "run philosophers --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int locks = 0;
    for (int i = 0; i < 8; i++) { /* the thinking steps, then everyone reaches for a fork */
        char hints[16][256];
        int n = gate_hints(ts_tui_capture(&g_tui), hints, 16);
        for (int k = 0; k < n; k++) {
            const char *h = hints[k];
            int open = 0;
            for (const char *c = h; *c; c++)
                open += *c == '(' ? 1 : *c == ')' ? -1 : 0;
            cr_assert_eq(open, 0, "a hint cut inside its parentheses: '%s'\n%s", h, g_tui.screen);
            const char *dots = strstr(h, "…");
            if (dots) /* the cut is after a whole word: "lock", "sleep", "eat" */
                cr_assert(dots - h >= (long)strlen("→ eat") && dots[-1] >= 'a' && dots[-1] <= 'z' &&
                              (!strncmp(dots - 4, "lock", 4) || !strncmp(dots - 5, "sleep", 5) ||
                               !strncmp(dots - 3, "eat", 3)),
                          "a hint cut mid-word: '%s'\n%s", h, g_tui.screen);
            locks += strncmp(h, "→ lock", strlen("→ lock")) == 0; /* (fork-2), () or … */
        }
        steps(1);
    }
    cr_assert_gt(locks, 0, "no philosopher was shown about to lock a fork:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* At 80x24 a held fork's row keeps the fork's name whole before its holder ("mutex fork-1
 * held by phil-1"): the waiters' words give way first (the task list shows who waits), not
 * the name ("mutex for… held by phil-1" said which philosopher, not which fork). */
Test(ui_views, at_80x24_a_held_locks_row_keeps_the_locks_name, .fini = stop, .timeout = 90)
{
    ts_tui_start(&g_tui, "run philosophers --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    step_until("held by", 20);
    char line[512];
    cr_assert(ts_line_with(ts_tui_capture(&g_tui), "held by", NULL, line, sizeof(line)),
              "no fork was ever held:\n%s", g_tui.screen);
    const char *at = strstr(line, "mutex ");
    cr_assert(at, "no mutex on the line: %s", line);
    int k = 0;
    cr_assert(sscanf(at, "mutex fork-%d", &k) == 1 && k >= 1 && k <= 5,
              "the held fork's name is cut: %s", line);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* At 80 columns the header's title is cut after a whole word ("Condition variable: producer
 * and…"), never inside one ("producer and cons"). */
Test(ui_views, at_80x24_the_title_is_cut_after_a_whole_word, .fini = stop, .timeout = 60)
{
    const char *title = "Condition variable: producer and consumer threads";
    ts_tui_start(&g_tui, "run condition --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no dashboard:\n%s", g_tui.screen);
    char line[512];
    cr_assert(ts_line_with(ts_tui_capture(&g_tui), "Condition", NULL, line, sizeof(line)),
              "no title:\n%s", g_tui.screen);
    const char *t = strstr(line, "Condition");
    const char *mode = strstr(t, "STEP");
    cr_assert(mode, "no mode on the header: %s", line);
    size_t len = (size_t)(mode - t);
    while (len > 0 && t[len - 1] == ' ')
        len--;
    size_t dots = strlen("…");
    if (len >= dots && strncmp(t + len - dots, "…", dots) == 0)
        len -= dots;
    cr_assert(len > 0 && strncmp(t, title, len) == 0, "not the title: %s", line);
    cr_assert(title[len] == '\0' || title[len] == ' ' || title[len] == ':',
              "the title is cut inside a word: '%.*s'", (int)len, t);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* Chinese has no spaces: at 80 columns the title is cut after a character, not before the
 * first space ("TCP…" was all that was left of "TCP 回显：socket、bind、listen…"), and a
 * separator is not left before the ellipsis. */
Test(ui_views, at_80x24_a_chinese_title_keeps_what_fits, .fini = stop, .timeout = 60)
{
    ts_tui_start(&g_tui, "run tcp-echo --step --lang zh", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "单步", 20000), "no dashboard:\n%s", g_tui.screen);
    const char *screen = ts_tui_capture(&g_tui);
    cr_assert(strstr(screen, "TCP 回显"), "the title lost its Chinese words:\n%s", screen);
    cr_assert(!strstr(screen, "、…"), "a separator before the ellipsis:\n%s", screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* In Chinese a step that is not a call is said in Chinese on the row, the Next line and the
 * projector ("写入 array", not "a store to array"); in English the Next line says "make". */
Test(ui_views, a_step_that_is_not_a_call_is_said_in_the_narrations_language, .fini = stop,
     .timeout = 90)
{
    ts_tui_start(&g_tui, "run shared-memory --step --lang zh", 100, 30);
    cr_assert(ts_tui_wait_for(&g_tui, "写入 array（闸门前", 20000), "no Next line in Chinese:\n%s",
              g_tui.screen);
    cr_expect(strstr(g_tui.screen, "→ 写入 array"), "the row:\n%s", g_tui.screen);
    cr_expect(!strstr(g_tui.screen, "a store to"), "English left:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "z");
    cr_expect(ts_tui_wait_for(&g_tui, "下一步：写入 array", 5000), "the projector:\n%s",
              g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
    ts_tui_stop(&g_tui);
    ts_tui_start(&g_tui, "run shared-memory --step --lang en", 100, 30);
    cr_expect(ts_tui_wait_for(&g_tui, "make a store to array", 20000), "the English Next line:\n%s",
              g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* A projector card whose count and capacity in block digits would be wider than the screen
 * ("13312/16384": 88 columns) shows the count big and the capacity beside the name. */
Test(ui_views, at_80x24_a_projector_card_too_wide_puts_its_capacity_by_the_name, .fini = stop,
     .timeout = 90)
{
    ts_tui_start(&g_tui, "run pipe --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "z"); /* then step until the pipe holds a five-digit count */
    int seen = step_until("pipe pipe (of 16384)", 30);
    cr_expect(seen, "the card never moved its capacity by the name:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* At 80x24 the objects panel tells udp-echo's sockets apart: a cut name keeps what differs
 * ("cl…1-udp", "cl…2-udp"; it read "cli…" twice), and an unconnected UDP socket's facts give
 * the word UDP up before its name is cut (UNCONN says it). */
Test(ui_views, at_80x24_cut_object_names_stay_apart, .fini = stop, .timeout = 60)
{
    ts_tui_start(&g_tui, "run udp-echo --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    int apart = 0;
    for (int i = 0; i < 12 && !apart; i++) {
        steps(1);
        const char *s = ts_tui_capture(&g_tui);
        apart = strstr(s, "1-udp UNCONN") && strstr(s, "2-udp UNCONN");
    }
    cr_expect(apart, "the two client sockets are not told apart:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* In projector mode at 80x24 the frozen table's last edge says it closes the cycle in whole
 * words ("↺ a cycle"), never "↺ back to the first: a cycl". */
Test(ui_views, at_80x24_the_projectors_cycle_ends_in_whole_words, .fini = stop, .timeout = 150)
{
    ts_tui_start(&g_tui, "run philosophers --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    /* on a busy machine 60 presses made fewer steps than the deadlock needs: up to a minute */
    step_until("Deadlock", 240);
    cr_assert(ts_tui_wait_for(&g_tui, "Deadlock", 5000), "no deadlock:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "z");
    cr_assert(ts_tui_wait_for(&g_tui, "wait-for graph:", 5000), "no graph:\n%s", g_tui.screen);
    char line[512];
    cr_assert(ts_line_with(g_tui.screen, "↺", NULL, line, sizeof(line)), "no closing edge:\n%s",
              g_tui.screen);
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == ' ')
        line[--len] = '\0';
    const char *end = strstr(line, "↺");
    cr_assert(!strcmp(end, "↺") || !strcmp(end, "↺ a cycle") ||
                  !strcmp(end, "↺ back to the first: a cycle"),
              "the closing edge is cut: %s", line);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* At 80x24 the status line says whom a killed philosopher's fork passes to (it read "...a
 * robust lock: the kernel han", cut before the name). */
Test(ui_views, at_80x24_the_kill_message_says_who_gets_the_lock, .fini = stop, .timeout = 150)
{
    ts_tui_start(&g_tui, "run philosophers --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    step_until("Deadlock", 240);
    cr_assert(ts_tui_wait_for(&g_tui, "Deadlock", 5000), "no deadlock:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "a");
    ts_sleep_ms(300);
    ts_tui_keys(&g_tui, "k");
    cr_assert(ts_tui_wait_for(&g_tui, "kill(", 5000), "no kill message:\n%s", g_tui.screen);
    char line[512];
    cr_assert(ts_line_with(g_tui.screen, "kill(", NULL, line, sizeof(line)));
    cr_assert(strstr(line, "passes to phil-"), "whom the fork passes to is cut off: %s", line);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* At 80x24 the timeline has fewer rows than the five philosophers: its title says how many
 * lanes it leaves out, as the Tasks panel does, instead of dropping phil-5 without a word. */
Test(ui_views, at_80x24_the_timeline_says_which_lanes_it_leaves_out, .fini = stop, .timeout = 60)
{
    ts_tui_start(&g_tui, "run philosophers --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "phil-5", 20000), "no philosophers:\n%s", g_tui.screen);
    ts_sleep_ms(500);
    const char *s = ts_tui_capture(&g_tui);
    const char *tl = strstr(s, "Timeline"), *ev = strstr(s, "Events");
    cr_assert(tl && ev && tl < ev, "no timeline:\n%s", s);
    int lanes = 0;
    for (const char *p = strstr(tl, "phil-"); p && p < ev; p = strstr(p + 1, "phil-"))
        lanes++;
    int hidden = 0;
    sscanf(tl, "Timeline (%d not shown)", &hidden);
    cr_assert_eq(lanes + hidden, 5, "%d lanes drawn and %d said not shown, of 5:\n%s", lanes,
                 hidden, s);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* The pid drawn before name in its task row (the first line holding " name "), or 0. */
static long row_pid(const char *screen, const char *name)
{
    char line[512], key[64];
    snprintf(key, sizeof(key), " %s ", name);
    if (!ts_line_with(screen, key, NULL, line, sizeof(line)))
        return 0;
    const char *p = strstr(line, key);
    while (p > line && p[-1] == ' ')
        p--;
    while (p > line && p[-1] >= '0' && p[-1] <= '9')
        p--;
    return atol(p);
}

/* The first line of screen where task's name is followed by what (spaces between), into out;
 * 0 when there is none. */
static int event_line_of(const char *screen, const char *task, const char *what, char *out,
                         size_t n)
{
    for (const char *p = strstr(screen, task); p; p = strstr(p + 1, task)) {
        const char *q = p + strlen(task);
        if (*q != ' ')
            continue;
        q += strspn(q, " ");
        if (strncmp(q, what, strlen(what)) != 0)
            continue;
        const char *b = p, *e = strchr(p, '\n');
        while (b > screen && b[-1] != '\n')
            b--;
        size_t len = e ? (size_t)(e - b) : strlen(b);
        snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), b);
        return 1;
    }
    return 0;
}

/* At 80x24 an event line has 17 columns for "task_start pid 29061 ppid 29042": it read
 * "task_start pid 2", a pid that is not the task's. A number is shown whole or not at all. */
Test(ui_views, at_80x24_an_event_line_never_cuts_a_pid_short, .fini = stop, .timeout = 60)
{
    ts_tui_start(&g_tui, "run fork --step", 80, 24);
    char line[512] = "";
    for (int i = 0; i < 200 && !line[0]; i++) { /* the event log's columns fit what it shows */
        if (!event_line_of(ts_tui_capture(&g_tui), "parent", "task_start", line, sizeof(line)))
            ts_sleep_ms(100);
    }
    cr_assert(line[0], "no task_start:\n%s", g_tui.screen);
    const char *s = g_tui.screen;
    long pid = row_pid(s, "parent");
    cr_assert_gt(pid, 1, "no pid in the parent's row:\n%s", s);
    const char *num = strstr(line, "task_start pid ");
    if (num) { /* the pid is there: all of it */
        num += strlen("task_start pid ");
        cr_assert(*num == '\xe2' /* "…" */ || atol(num) == pid,
                  "the event line shows pid %ld for parent %ld: %s", atol(num), pid, line);
    }
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* The row of the task row holding text, followed by the line under it when that line is the
 * row's gate hint on a line of its own ("│     → wait for SIGHUP": only borders and spaces
 * before the arrow), into out; 0 when no line holds text. */
static int row_with_hint(const char *screen, const char *text, char *out, size_t n)
{
    if (!ts_line_with(screen, text, NULL, out, n))
        return 0;
    const char *nl = strchr(strstr(screen, text), '\n');
    const char *p = nl ? nl + 1 : NULL;
    while (p && (*p == ' ' || strncmp(p, "│", strlen("│")) == 0))
        p += *p == ' ' ? 1 : strlen("│");
    if (p && strncmp(p, "→ ", strlen("→ ")) == 0) {
        size_t used = strlen(out), len = strcspn(p, "\n");
        snprintf(out + used, n - used, "\n%.*s", (int)len, p);
    }
    return 1;
}

/* At 100x30 signals' sender row has 15 columns for "→ wait for SIGHUP": it read "→ wait for
 * SIGH…". A gate hint that does not fit ends before the word that does not, or goes whole on
 * the line under its row. */
Test(ui_views, a_gate_hint_that_does_not_fit_is_cut_before_a_word, .fini = stop, .timeout = 90)
{
    ts_tui_start(&g_tui, "run signals --step", 100, 30);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    char line[1024] = "";
    for (int i = 0; i < 20; i++, steps(1)) { /* past "→ wait for receiver" */
        if (row_with_hint(ts_tui_capture(&g_tui), " sender ", line, sizeof(line)) &&
            strstr(line, "→ wait for") && !strstr(line, "receiver"))
            break;
        line[0] = '\0';
    }
    cr_assert(strstr(line, "sender"), "the sender never waited for SIGHUP:\n%s", g_tui.screen);
    cr_assert(strstr(line, "→ wait for SIGHUP") || strstr(line, "→ wait for…"),
              "the sender's gate hint is cut inside a word: %s", line);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* At 80x24 the header has about 35 columns for the title: threading-server's read
 * "ThreadingTCPServer: a thread per cl". What is left of the title ends with whole words. */
Test(ui_views, at_80x24_the_title_is_cut_before_a_word, .fini = stop, .timeout = 60)
{
    const char *title = "ThreadingTCPServer: a thread per client";
    ts_tui_start(&g_tui, "run threading-server --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "STEP", 20000), "no header:\n%s", g_tui.screen);
    char line[512];
    cr_assert(ts_line_with(ts_tui_capture(&g_tui), "ThreadingTCPServer", NULL, line, sizeof(line)),
              "no title:\n%s", g_tui.screen);
    const char *at = strstr(line, "ThreadingTCPServer");
    size_t k = 0;
    while (title[k] && at[k] == title[k])
        k++;
    cr_assert(title[k] == '\0' || (title[k] == ' ' && strncmp(at + k, "…", strlen("…")) == 0),
              "the title is cut inside a word: %s", line);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* At 80x24 states' io-1 row has 9 columns for "→ read(disk)": it read "→ read(d…". A call that
 * does not fit whole keeps its name: "→ read…". */
Test(ui_views, at_80x24_a_call_that_does_not_fit_keeps_its_name, .fini = stop, .timeout = 90)
{
    ts_tui_start(&g_tui, "run states --step --param seconds=1", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    char line[512] = "";
    for (int i = 0; i < 30; i++, steps(1)) {
        if (ts_line_with(ts_tui_capture(&g_tui), " io-1 ", NULL, line, sizeof(line)) &&
            strstr(line, "→ read"))
            break;
        line[0] = '\0';
    }
    cr_assert(line[0], "io-1 never waited to read:\n%s", g_tui.screen);
    cr_assert(strstr(line, "→ read(disk)") || strstr(line, "→ read()") || strstr(line, "→ read…"),
              "io-1's gate hint is cut inside a word: %s", line);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* The zombie lesson: a child that has exited and not been waited for shows ☠ in its timeline
 * lane, as in the Tasks panel (it was "zzz", which reads as asleep), and the timeline's key
 * says what ☠ is while a lane shows one. */
Test(ui_views, at_80x24_a_zombies_lane_shows_a_skull_and_the_key_says_so, .fini = stop,
     .timeout = 90)
{
    ts_tui_start(&g_tui, "run zombie --step", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "GATE", 20000), "nobody at the gate:\n%s", g_tui.screen);
    const char *s = ts_tui_capture(&g_tui);
    char title[512];
    /* The usual key: "last 10s" with the probes, "10s" while they load or without them. */
    cr_assert(ts_line_with(s, "Timeline", NULL, title, sizeof(title)), "no timeline:\n%s", s);
    cr_assert(strstr(title, "10s") && !strstr(title, "☠"), "before any zombie, the usual key:\n%s",
              s);
    cr_assert(step_until("ZOMBIE", 60), "no zombie after 60 steps:\n%s", g_tui.screen);
    ts_sleep_ms(400);
    s = ts_tui_capture(&g_tui);
    const char *tl = strstr(s, "Timeline"), *ev = strstr(s, "Events");
    cr_assert(tl && ev && tl < ev, "no timeline:\n%s", s);
    cr_assert(ts_line_with(tl, "Timeline", NULL, title, sizeof(title)));
    cr_assert(strstr(title, "☠ zombie"), "the key does not say what ☠ is: %s\n%s", title, s);
    int skull_lane = 0;
    for (const char *p = strstr(tl, "child-"); p && p < ev; p = strstr(p + 1, "child-")) {
        const char *e = strchr(p, '\n');
        const char *k = strstr(p, "☠");
        if (k && e && k < e)
            skull_lane = 1;
    }
    cr_assert(skull_lane, "no child's lane shows ☠:\n%s", s);
    cr_assert(!strstr(tl, "zzz"), "a lane still says zzz:\n%s", s);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* Projector mode says what a task blocked on no object sleeps in, as the Tasks panel does
 * (orphan's child asleep in nanosleep showed "■ BLOCK child" and nothing more); the verdict
 * shows as the run ends, not 8 s later behind "Running."; and once the run is done, r keeps
 * it (it said "Running." under DONE). */
Test(ui_views, the_projector_names_a_sleep_and_r_after_the_end_keeps_the_verdict, .fini = stop,
     .timeout = 90)
{
    ts_tui_start(&g_tui, "run orphan --step", 100, 30);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "z");
    int asleep = step_until("child             hrtimer_nanosleep", 4);
    cr_expect(asleep, "the projector's child row does not say where it sleeps:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "r"); /* "Running." until the end, and no longer: the verdict shows */
    cr_assert(ts_tui_wait_for(&g_tui, "DONE", 20000), "no end:\n%s", g_tui.screen);
    cr_expect(ts_tui_wait_for(&g_tui, "Finished. Checks", 1500),
              "the verdict hidden at the end by what r said before:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "r");
    ts_sleep_ms(500);
    const char *s = ts_tui_capture(&g_tui);
    cr_expect(strstr(s, "Finished. Checks") && !strstr(s, "Running."),
              "r after the end replaced the verdict:\n%s", s);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}

/* At 80x24 the projector keeps every task of a lesson on screen: prodcons' three cards took
 * two rows (14 lines) and left one task row ("producer-1 ... and 3 more") while the narration
 * talked about consumer-1. Cards are as wide as their digits (three fit in 80 columns), and
 * a card with no room left is a line under the tasks (process-pool's fourth, "sem done"). */
Test(ui_views, at_80x24_the_projector_shows_every_task_before_big_cards, .fini = stop,
     .timeout = 120)
{
    const char *lessons[][3] = {{"prodcons", "12", "queue buffer"},
                                {"process-pool", "15", "sem done"}};
    for (size_t k = 0; k < 2; k++) {
        char args[64];
        snprintf(args, sizeof(args), "run %s --step", lessons[k][0]);
        ts_tui_start(&g_tui, args, 80, 24);
        cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
        ts_tui_keys(&g_tui, "z");
        steps(atoi(lessons[k][1]));
        ts_sleep_ms(300);
        const char *s = ts_tui_capture(&g_tui);
        const char *names[][4] = {{"producer-1", "producer-2", "consumer-1", "consumer-2"},
                                  {"pool ", "pool-worker-1", "pool-worker-2", "pool-worker-3"}};
        for (int i = 0; i < 4; i++)
            cr_expect(strstr(s, names[k][i]), "%s: %s is not on the projector:\n%s", lessons[k][0],
                      names[k][i], s);
        cr_expect(!strstr(s, "… and"), "%s: tasks left out:\n%s", lessons[k][0], s);
        cr_expect(strstr(s, lessons[k][2]), "%s: the count %s is missing:\n%s", lessons[k][0],
                  lessons[k][2], s);
        ts_tui_keys(&g_tui, "q");
        cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
        ts_tui_stop(&g_tui);
    }
}

/* Seven philosophers at 80x24: the cycle takes every row the tasks had, and names them all;
 * no "… and 7 more" above it for tasks that are all in it. */
Test(ui_views, at_80x24_a_projectors_cycle_of_seven_stands_alone, .fini = stop, .timeout = 150)
{
    ts_tui_start(&g_tui, "run philosophers --step --param philosophers=7", 80, 24);
    cr_assert(ts_tui_wait_for(&g_tui, "Next: Space", 20000), "no gate:\n%s", g_tui.screen);
    step_until("Deadlock", 240);
    cr_assert(ts_tui_wait_for(&g_tui, "Deadlock", 5000), "no deadlock:\n%s", g_tui.screen);
    ts_tui_keys(&g_tui, "z");
    /* once the lesson's verdict is pinned above the narration, the tasks have no row left */
    cr_assert(ts_tui_wait_for(&g_tui, "None can ever", 5000), "no verdict:\n%s", g_tui.screen);
    const char *s = ts_tui_capture(&g_tui);
    cr_expect(strstr(s, "phil-7 ──holds fork-7"), "the cycle lost a philosopher:\n%s", s);
    cr_expect(strstr(s, "phil-1 ──holds fork-1"), "the cycle lost a philosopher:\n%s", s);
    cr_expect(!strstr(s, "… and") || strstr(s, " 1  ■ BLOCK"),
              "a count of tasks, none of them shown, that the cycle already names:\n%s", s);
    ts_tui_keys(&g_tui, "q");
    cr_assert_eq(ts_tui_wait_exit(&g_tui, 10000), 0);
}
