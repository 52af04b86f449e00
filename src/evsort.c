/*
 * evsort.c - time order for a batch of records by merging its runs.
 *
 * A drained batch is what each ring held, ring after ring, then the kernel's records, and
 * again as the conductor takes more while it applies: every ring is in time order (a task
 * stamps its records in order), so the batch is a few ascending runs. Merging neighbouring
 * runs, pass after pass, needs as many passes as halvings of the runs, with the comparison
 * inline; a general sort pays n log n calls through a function pointer instead.
 */
#include "evsort.h"

#include <string.h>

/* The end of the ascending run that starts at i. */
static size_t run_end(const struct ev *v, size_t i, size_t n)
{
    while (++i < n && v[i].t >= v[i - 1].t)
        ;
    return i;
}

/* Merge a[0..na) and b[0..nb) into out; on equal stamps a's record comes first. */
static void merge(const struct ev *a, size_t na, const struct ev *b, size_t nb, struct ev *out)
{
    size_t i = 0, j = 0;
    while (i < na && j < nb)
        *out++ = b[j].t < a[i].t ? b[j++] : a[i++];
    memcpy(out, a + i, (na - i) * sizeof(*a));
    memcpy(out + (na - i), b + j, (nb - j) * sizeof(*b));
}

void ev_sort(struct ev *v, size_t n, struct ev *tmp)
{
    if (n < 2 || run_end(v, 0, n) == n)
        return;
    struct ev *src = v, *dst = tmp;
    size_t merges;
    do {
        merges = 0;
        for (size_t i = 0; i < n; merges++) {
            size_t a = run_end(src, i, n);
            size_t b = a < n ? run_end(src, a, n) : n;
            merge(src + i, a - i, src + a, b - a, dst + i);
            i = b;
        }
        struct ev *t = src;
        src = dst;
        dst = t;
    } while (merges > 1);
    if (src != v)
        memcpy(v, src, n * sizeof(*v));
}

int ev_cmp_t(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}
