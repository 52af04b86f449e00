/*
 * lesson_run.h - a lesson during a run: where each task stands in its role's code, and
 * predict mode (a question before each key moment, checked against what the run then did).
 *
 * The run owns one (run->lesson) when its scenario has a lesson. The code side follows every
 * task's arrivals at the step gate through its role's listing (lesson_walk), so the code
 * panel can mark the line each task is at. The predict side is asked by the gate before each
 * grant: when an action about to be let through is a key moment of the lesson, it opens a
 * question (choices computed from the live run) and holds the step until the class has
 * answered; once the action has settled (or the run has ended, for a question about its
 * result) it finds the right choice in the model, and says why. Questions, answers and
 * reveals are trace events, JSON lines for the step driver, and the snapshot's "predict".
 */
#ifndef IPCSCOPE_LESSON_RUN_H
#define IPCSCOPE_LESSON_RUN_H

#include "lesson.h"

#include <jansson.h>
#include <stdint.h>

struct run;
struct run_waiter;
struct scenario;
struct lesson_run;

/* ---- lifetime and the run's hooks (called by run*.c) ---- */

/* A lesson run for scenario sc (NULL when it has no lesson or memory ran out); predict: 1
 * starts with predict mode on. */
struct lesson_run *lesson_run_new(const struct scenario *sc, int predict);
void lesson_run_free(struct lesson_run *lr); /* accepts NULL */

/* Every event the run applies (after the model has it): follows gate arrivals. */
void lesson_run_event(struct lesson_run *lr, const struct model *m, const struct ev *e);

/* Before the gate lets waiter w through. 1: hold this step (a question waits for the class,
 * or the last question's action has not settled yet); the caller drops the step request. */
int lesson_run_before_grant(struct run *r, const struct run_waiter *w);

/* A granted step has settled: the questions it answers are revealed. */
void lesson_run_settled(struct run *r);

/* The run is stopping (workers done, checks made): questions about its result are revealed,
 * the others voided. 1 when it emitted events (the caller drains them into the trace). */
int lesson_run_end(struct run *r);

/* Add "code" (each live task's role and line) and, in predict mode, "predict" (the tally
 * and every question) to a snapshot. */
void lesson_run_snapshot(struct run *r, json_t *snap);

/* ---- the code panel ---- */

/* Where task idx of the model stands: its role (NULL: none) and the 0-based line of its
 * pending action or of the call it is in (-1: not on the listing yet). */
const struct lesson_role *lesson_run_marker(const struct lesson_run *lr, const struct model *m,
                                            uint32_t idx, int *line);

/* The lesson (NULL when lr is NULL). */
const struct lesson *lesson_run_lesson(const struct lesson_run *lr);

/* ---- predict mode (the TUI's keys, the script's commands) ---- */

enum predict_state {
    PS_ASKING,  /* waits for the class: the step is held */
    PS_WAITING, /* answered; the action (or the run) has yet to show the answer */
    PS_RIGHT,   /* revealed: the class was right */
    PS_WRONG,   /* revealed: the class was wrong */
    PS_NONE,    /* revealed, but the class gave no answer */
    PS_VOID,    /* cannot be answered (another task moved first, the run was cut short) */
};

/* One question asked in this run. Texts are expanded at the moment they are asked (the
 * premise) and revealed (the answer), in both languages. */
struct predict_item {
    int n; /* 1, 2, ... in the order asked */
    const struct lesson_q *q;
    enum predict_state state;
    int nchoices;
    char choice[LESSON_MAX_CHOICES][2][96]; /* [i][lang] */
    long value[LESSON_MAX_CHOICES];         /* what each choice stands for (per kind) */
    struct lesson_range range[LESSON_MAX_CHOICES];
    char text[2][400]; /* [lang] the question */
    char why[2][400];  /* [lang] the explanation, once revealed */
    int answer;        /* the class's choice, -1 none */
    int votes[LESSON_MAX_CHOICES], voted;
    int correct;   /* the right choice once revealed, -1 before */
    int slot;      /* the waiter the question stopped */
    unsigned kind; /* its action (enum ev_kind) */
    int64_t val;   /* and the gate's value (a sleep's ms) */
    uint64_t ask_steps, grant_steps;
    int granted;
    uint32_t task, obj, target; /* model task index, object id, target task (or none) */
    char task_name[32], obj_name[32], target_name[32];
    char call_label[96]; /* the call as the task's gate named it ("Thread-1.join()"), or "" */
    json_t *facts;       /* what the snapshot shows, once revealed (owned) */
};

int predict_on(const struct run *r);
/* Turn predict mode on or off (off voids a question still asking). 0, or -1: no lesson. */
int predict_set(struct run *r, int on);

/* The question that waits for the class, or NULL. */
const struct predict_item *predict_asking(const struct run *r);
/* The last question revealed (or voided), or NULL. */
const struct predict_item *predict_last(const struct run *r);
/* Questions answered but not yet revealed. */
int predict_open_count(const struct run *r);
/* The tally: right, wrong, asked (so far). */
void predict_tally(const struct run *r, int *right, int *wrong, int *asked);

/* The class's answer to the asking question: choice 0..3. 0, or -1 (no question, no such
 * choice). */
int predict_answer(struct run *r, int choice);
/* A show of hands: count votes for choice (the answer is then the choice with most votes).
 * 0 or -1. */
int predict_vote(struct run *r, int choice, int count);
/* Close the asking question and let its action through: the slot to step (the caller
 * steps it), or -1 when no question was asking. */
int predict_reveal(struct run *r);
/* 1 while the last question's action has not settled (the next step waits for it). */
int predict_busy(const struct run *r);

/* The next line for the step driver (a question asked or revealed), or NULL. Caller owns. */
json_t *predict_take_output(struct run *r);
/* 1 when such lines wait to be taken. */
int predict_has_output(const struct run *r);

#endif
