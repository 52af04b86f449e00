/*
 * test_phrase.c - the Chinese of the phrases scenarios give their steps (src/phrase_zh.c):
 * whole phrases, patterns with words, words translated inside them, calls left alone, and
 * every sleep reason and deadline a scenario writes has its Chinese (a new one without it
 * would show English in a Chinese class).
 */
#include <criterion/criterion.h>

#include "phrase_zh.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *zh(const char *en)
{
    static char buf[256];
    return phrase_zh(en, buf, sizeof(buf));
}

Test(phrase, whole_phrases_and_patterns_have_their_chinese)
{
    cr_expect_str_eq(zh("the child lingers"), "子进程再停留一会儿");
    cr_expect_str_eq(zh("set its x to 11"), "把自己的 x 设为 11");
    cr_expect_str_eq(zh("eat (meal 2)"), "吃饭（第 2 顿）");
    cr_expect_str_eq(zh("start 300 ms of CPU work"), "开始 300 毫秒的 CPU 工作");
    cr_expect_str_eq(zh("a store to array"), "写入 array");
    cr_expect_str_eq(zh("its next step"), "它的下一步");
}

Test(phrase, words_inside_a_pattern_are_translated_too)
{
    cr_expect_str_eq(zh("layer 3 network"), "第 3 层：网络层");
    cr_expect_str_eq(zh("layer 1 link"), "第 1 层：链路层");
}

Test(phrase, calls_names_and_unknown_phrases_stay_as_they_are)
{
    const char *same[] = {
        "Thread-1.join()", "epoll_ctl(ep, fd 5)", "setpriority(nice)", "something new", "",
        "set its x to "};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        cr_expect_str_eq(zh(same[i]), same[i]);
    char buf[64];
    cr_expect_str_eq(phrase_in("the child lingers", 0, buf, sizeof(buf)), "the child lingers");
}

Test(phrase, a_small_buffer_is_cut_not_overrun)
{
    char buf[8];
    const char *s = phrase_zh("the pause between datagrams", buf, sizeof(buf));
    cr_expect(s == buf);
    cr_expect_lt(strlen(buf), sizeof(buf));
}

/* The string literal after `call(` on one line of C source, into out; 0 if none. */
static int literal_after(const char *line, const char *call, char *out, size_t n)
{
    const char *p = strstr(line, call);
    if (!p || !(p = strchr(p, '"')))
        return 0;
    const char *end = strchr(p + 1, '"');
    if (!end || (size_t)(end - p) > n)
        return 0;
    snprintf(out, n, "%.*s", (int)(end - p - 1), p + 1);
    return 1;
}

/* Every reason a scenario gives sclock_sleep, a deadline's what, a gate mark, and what a task
 * waits for, in Chinese. */
Test(phrase, every_sleep_reason_and_deadline_of_the_scenarios_has_its_chinese)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/src/scenarios", IPCSCOPE_SOURCE_DIR);
    DIR *d = opendir(dir);
    cr_assert(d, "no %s", dir);
    struct dirent *e;
    int seen = 0;
    const char *calls[] = {"sclock_sleep(",    "w.what = ",      "instr_gate_mark(1, ",
                           "await_receiver(",  "net_wait_flag(", "net_wait_until(",
                           "sclock_waits_for("};
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 3 || strcmp(e->d_name + len - 2, ".c") != 0)
            continue;
        char path[1024], line[512], lit[256];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        cr_assert(f, "cannot read %s", path);
        while (fgets(line, sizeof(line), f))
            for (size_t k = 0; k < sizeof(calls) / sizeof(calls[0]); k++)
                if (literal_after(line, calls[k], lit, sizeof(lit)) && lit[0]) {
                    seen++;
                    cr_expect_str_neq(zh(lit), lit, "%s: '%s' has no Chinese", e->d_name, lit);
                }
        fclose(f);
    }
    closedir(d);
    cr_expect_geq(seen, 30, "only %d phrases found: the scan is broken", seen);
}
