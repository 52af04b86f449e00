/*
 * lesson_int.h - what lesson_run.c (the code markers) and predict.c (the questions) share:
 * the state of one lesson during a run. Private to them: everyone else uses lesson_run.h.
 */
#ifndef IPCSCOPE_LESSON_INT_H
#define IPCSCOPE_LESSON_INT_H

#include "lesson_run.h"

#include <stddef.h>

#define PREDICT_MAX_ITEMS 64 /* questions asked in one run, at most */

struct lesson_run {
    const struct lesson *l;
    /* the code markers, per model task index */
    int *cursor; /* the line of the task's last gate arrival (-1: none yet) */
    int *marker; /* the line shown (-1: its last action is not on the listing) */
    size_t ntasks;
    /* predict mode */
    int predict;
    struct predict_item *items;
    size_t nitems;
    int asking;        /* index of the question waiting for the class, -1 */
    int await;         /* index of the question whose action was let through and has not settled */
    int last;          /* index of the last question revealed or voided, -1 */
    int *times;        /* per lesson question: times asked */
    int *seen;         /* per lesson question: matching moments seen (for skip) */
    uint64_t *seen_at; /* ... and the last one counted (its waiter's ticket and slot) */
    int right, wrong;
    json_t **out; /* lines for the step driver, oldest first */
    size_t nout, outcap;
};

/* predict.c: release what the questions hold. */
void predict_free_items(struct lesson_run *lr);

#endif
