/*
 * test_btf_names.c - the probes' tracepoint check reads a BTF file's string section in 64 KB
 * pieces: names across a piece's edge, longer than a piece, or ending another name.
 *
 * The files are made here: a BTF header, no types, and a string section laid out so that the
 * names under test fall where the pieces meet. One test reads the kernel's own BTF.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <linux/btf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sources/btf_names.h"

#define PIECE (64u << 10)

struct strsec {
    char *s;
    size_t len, cap;
};

static void add_name(struct strsec *t, const char *name)
{
    size_t n = strlen(name) + 1;
    if (t->len + n > t->cap) {
        t->cap = (t->len + n) * 2;
        cr_assert_not_null(t->s = realloc(t->s, t->cap));
    }
    memcpy(t->s + t->len, name, n);
    t->len += n;
}

/* A filler name that makes the section reach `at` bytes (so the next name starts there). */
static void pad_to(struct strsec *t, size_t at)
{
    cr_assert_geq(at, t->len + 2, "the layout overlaps itself");
    size_t n = at - t->len - 1;
    char *fill = malloc(n + 1);
    cr_assert_not_null(fill);
    memset(fill, 'f', n);
    fill[n] = '\0';
    add_name(t, fill);
    free(fill);
}

/* Write a BTF file whose string section is t (str_len = len, or the given one when lying). */
static void write_btf(char *path, const struct strsec *t, uint32_t str_len, size_t keep)
{
    struct btf_header h = {.magic = BTF_MAGIC,
                           .version = 1,
                           .hdr_len = sizeof(h),
                           .type_off = 0,
                           .type_len = 0,
                           .str_off = 0,
                           .str_len = str_len};
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
    cr_assert_eq(write(fd, t->s, keep), (ssize_t)keep);
    close(fd);
}

Test(btf_names, finds_whole_names_across_the_pieces_edges, .timeout = 10)
{
    static const char *const want[] = {
        "btf_trace_across_first_edge", "btf_trace_at_second_edge", "btf_trace_after_long",
        "btf_trace_last_without_nul",  "btf_trace_ends_another",   "btf_trace_never_there",
        "btf_trace_at_start",
    };
    enum { N = sizeof(want) / sizeof(want[0]) };
    struct strsec t = {0};
    char path[] = "/tmp/ipcscope-test-btf-XXXXXX";
    unsigned char found[N];

    add_name(&t, ""); /* a BTF string section starts with the empty name */
    add_name(&t, "btf_trace_at_start");
    add_name(&t, "xbtf_trace_ends_another"); /* holds a wanted name only as its end */
    add_name(&t, "btf_trace_never");         /* only the start of a wanted name */
    pad_to(&t, PIECE - 10);
    add_name(&t, "btf_trace_across_first_edge"); /* starts 10 bytes before the first edge */
    pad_to(&t, 2 * PIECE - 20);                  /* (the carried part moves the next edge) */
    add_name(&t, "btf_trace_at_second_edge");
    char *long_name = malloc(PIECE + 100); /* longer than a piece, ends in a wanted name */
    cr_assert_not_null(long_name);
    memset(long_name, 'l', PIECE + 100);
    strcpy(long_name + PIECE + 100 - sizeof("btf_trace_after_long"), "btf_trace_after_long");
    add_name(&t, long_name);
    free(long_name);
    add_name(&t, "btf_trace_after_long"); /* and the same name right after it, whole */
    add_name(&t, "btf_trace_last_without_nul");
    t.len--; /* drop the section's last NUL */
    write_btf(path, &t, (uint32_t)t.len, t.len);

    int err = btf_names_find(path, want, N, found);
    unlink(path);
    free(t.s);
    cr_assert_eq(err, 0, "btf_names_find: %s", strerror(-err));
    for (size_t i = 0; i < N; i++) {
        int expect = strcmp(want[i], "btf_trace_never_there") != 0 &&
                     strcmp(want[i], "btf_trace_ends_another") != 0;
        cr_expect_eq(found[i], expect, "%s: found %d, expected %d", want[i], found[i], expect);
    }
}

Test(btf_names, a_long_name_is_not_taken_for_the_one_after_it, .timeout = 10)
{
    static const char *const want[] = {"btf_trace_x"};
    struct strsec t = {0};
    char path[] = "/tmp/ipcscope-test-btf-XXXXXX";
    unsigned char found[1];

    add_name(&t, "");
    /* a piece's worth of it (the 64 KB the reader drops) and then exactly the wanted name */
    char *long_name = malloc(PIECE + sizeof("btf_trace_x"));
    cr_assert_not_null(long_name);
    memset(long_name, 'l', PIECE);
    strcpy(long_name + PIECE, "btf_trace_x");
    add_name(&t, long_name);
    free(long_name);
    write_btf(path, &t, (uint32_t)t.len, t.len);
    int err = btf_names_find(path, want, 1, found);
    unlink(path);
    free(t.s);
    cr_assert_eq(err, 0);
    cr_assert_eq(found[0], 0, "btf_trace_x found inside a longer name");
}

Test(btf_names, says_when_a_file_is_not_btf_or_shorter_than_its_header_says, .timeout = 10)
{
    static const char *const want[] = {"btf_trace_a"};
    struct strsec t = {0};
    char path[] = "/tmp/ipcscope-test-btf-XXXXXX";
    unsigned char found[1] = {1};

    add_name(&t, "");
    add_name(&t, "btf_trace_a");
    write_btf(path, &t, (uint32_t)t.len + 100, t.len); /* 100 bytes short */
    cr_assert_eq(btf_names_find(path, want, 1, found), -EINVAL);
    unlink(path);

    char other[] = "/tmp/ipcscope-test-btf-XXXXXX";
    int fd = mkstemp(other);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "not BTF at all, but long enough for a header\n", 45), 45);
    close(fd);
    cr_assert_eq(btf_names_find(other, want, 1, found), -EINVAL);
    unlink(other);
    cr_assert_eq(btf_names_find("/nonexistent/btf", want, 1, found), -ENOENT);
    cr_assert_eq(found[0], 0);
    free(t.s);
}

Test(btf_names, the_kernels_btf_names_its_scheduler_tracepoints, .timeout = 10)
{
    static const char *const want[] = {"btf_trace_sched_switch", "btf_trace_sched_process_fork",
                                       "btf_trace_no_such_tracepoint_here"};
    unsigned char found[3];

    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
        cr_skip_test("no kernel BTF: /sys/kernel/btf/vmlinux: %s", strerror(errno));
    cr_assert_eq(btf_names_find("/sys/kernel/btf/vmlinux", want, 3, found), 0);
    cr_assert_eq(found[0], 1);
    cr_assert_eq(found[1], 1);
    cr_assert_eq(found[2], 0);
}

/* Names are first told apart by their lengths (a bit per length below 64); a wanted name of
 * 64 or more is compared whole, and one of the same length but other letters is not it. */
Test(btf_names, names_of_any_length_are_compared_whole, .timeout = 10)
{
    char long_want[80], same_len[80];
    memset(long_want, 'a', 70);
    memcpy(long_want, "btf_trace_", 10);
    long_want[70] = '\0';
    memcpy(same_len, long_want, 71);
    same_len[69] = 'b';
    const char *const want[] = {long_want, "btf_trace_63_", "btf_trace_y"};
    struct strsec t = {0};
    char path[] = "/tmp/ipcscope-test-btf-XXXXXX";
    unsigned char found[3];

    add_name(&t, "");
    add_name(&t, same_len);       /* 70 long, differs in its last letter */
    add_name(&t, "btf_trace_y_"); /* one longer than a wanted name */
    add_name(&t, "btf_trace_63_");
    write_btf(path, &t, (uint32_t)t.len, t.len);
    int err = btf_names_find(path, want, 3, found);
    cr_assert_eq(err, 0);
    cr_expect_eq(found[0], 0, "a 70-byte name matched another of its length");
    cr_expect_eq(found[1], 1, "btf_trace_63_ not found");
    cr_expect_eq(found[2], 0, "btf_trace_y matched btf_trace_y_");

    unlink(path);

    add_name(&t, long_want); /* now the long one itself, too */
    char again[] = "/tmp/ipcscope-test-btf-XXXXXX";
    write_btf(again, &t, (uint32_t)t.len, t.len);
    cr_assert_eq(btf_names_find(again, want, 3, found), 0);
    unlink(again);
    free(t.s);
    cr_expect_eq(found[0], 1, "the 70-byte name itself was not found");
}
