/*
 * test_evsort.c - the conductor's time order for a drained batch (src/evsort.c): the same
 * order as a sort by stamp, stable, for batches made of ascending runs (as rings give) and
 * for batches in no order at all.
 */
#include <criterion/criterion.h>

#include "evsort.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 20000

static struct ev v[N], tmp[N];

/* Records numbered in item by their place in the batch. */
static void number(size_t n)
{
    for (size_t i = 0; i < n; i++)
        v[i].item = (int64_t)i;
}

/* v[0..n) is ordered by t, and by item among equal stamps (stable). */
static void expect_sorted(size_t n, const char *what)
{
    for (size_t i = 1; i < n; i++) {
        cr_assert(v[i - 1].t <= v[i].t, "%s: record %zu (t %llu) before %zu (t %llu)", what, i - 1,
                  (unsigned long long)v[i - 1].t, i, (unsigned long long)v[i].t);
        if (v[i - 1].t == v[i].t)
            cr_assert_lt(v[i - 1].item, v[i].item, "%s: equal stamps swapped at %zu", what, i);
    }
}

/* The sum of the stamps and items: nothing lost or duplicated. */
static uint64_t checksum(size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i].t * 31 + (uint64_t)v[i].item;
    return s;
}

Test(evsort, runs_from_several_rings_merge_in_time_order_and_stably)
{
    srand(7);
    for (int rings = 1; rings <= 64; rings *= 2) {
        size_t n = 0;
        for (int k = 0; k < rings; k++) { /* each ring's records ascend, with equal stamps */
            uint64_t t = (uint64_t)(rand() % 1000);
            for (size_t j = 0; j < N / (size_t)rings; j++, n++)
                v[n].t = t += (uint64_t)(rand() % 3);
        }
        number(n);
        uint64_t before = checksum(n);
        ev_sort(v, n, tmp);
        char what[32];
        snprintf(what, sizeof(what), "%d rings", rings);
        expect_sorted(n, what);
        cr_expect_eq(checksum(n), before, "%s: records lost or duplicated", what);
    }
}

Test(evsort, a_batch_in_no_order_is_sorted_too)
{
    srand(11);
    for (size_t n = 0; n < 300; n++) { /* every small size, including 0 and 1 */
        for (size_t i = 0; i < n; i++)
            v[i].t = (uint64_t)(rand() % 50);
        number(n);
        uint64_t before = checksum(n);
        ev_sort(v, n, tmp);
        expect_sorted(n, "random");
        cr_expect_eq(checksum(n), before);
    }
    for (size_t i = 0; i < N; i++) /* descending: one run per record */
        v[i].t = N - i;
    number(N);
    ev_sort(v, N, tmp);
    expect_sorted(N, "descending");
}
