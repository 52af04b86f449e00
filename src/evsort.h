/*
 * evsort.h - put a batch of event records in time order, cheaply when the batch is made of
 * a few runs that are each in order already (what the conductor takes from its rings).
 */
#ifndef IPCSCOPE_EVSORT_H
#define IPCSCOPE_EVSORT_H

#include "event.h"

#include <stddef.h>

/* Sort v[0..n) by t, stable (records with equal stamps keep their order). tmp has room for
 * n records; its contents are lost. Costs about n comparisons and n copies per halving of
 * the number of ascending runs: nothing for a sorted batch, n log n at worst. */
void ev_sort(struct ev *v, size_t n, struct ev *tmp);

/* The same order for qsort (not stable): by t. */
int ev_cmp_t(const void *a, const void *b);

#endif
