/*
 * lesson.h - each scenario's lesson: the code of its roles and the questions of predict mode.
 *
 * A lesson is a table entry keyed by scenario id (lesson_find), written beside the scenarios
 * in src/lessons/ (one file per chapter group): per role (tasks whose names start with a prefix) a
 * short listing whose lines name the action they perform (an event kind and an object name), and
 * the questions predict mode asks before the scenario's key moments. A walk over a listing follows
 * a task's actions line by line (loops go back to their first line), which places the code panel's
 * marker and lets a test check that the listing follows the worker code.
 */
#ifndef IPCSCOPE_LESSON_H
#define IPCSCOPE_LESSON_H

#include "model.h"

#include <stddef.h>
#include <stdint.h>

#define LESSON_NO_EV 0xffffu
#define LESSON_MAX_CHOICES 4

/* One line of a listing. */
struct lesson_line {
    const char *text; /* the code as shown (at most ~56 columns) */
    uint16_t ev;      /* the action this line performs (enum ev_kind), or LESSON_NO_EV */
    const char *obj;  /* its object's name, or a prefix ending in '*'; NULL: any (or none) */
    uint8_t open;     /* the first line of a loop ("for (...) {") */
    uint8_t close;    /* the line that closes the innermost open loop ("}") */
    uint8_t opt;      /* an action a run may skip (a branch not taken, a variant's call) */
    uint8_t brk;      /* may leave the innermost loop after it ("if (n <= 0) break;") */
    uint8_t again;    /* may be done again at once (a loop of one line: "while (recv(..) > 0);") */
};

/* Line-making shorthands for the lesson tables. */
#define LN(s)                                                                                      \
    {                                                                                              \
        .text = (s), .ev = LESSON_NO_EV                                                            \
    }
#define LA(s, kind, o)                                                                             \
    {                                                                                              \
        .text = (s), .ev = (kind), .obj = (o)                                                      \
    }
#define LO(s, kind, o)                                                                             \
    {                                                                                              \
        .text = (s), .ev = (kind), .obj = (o), .opt = 1                                            \
    }
#define LFOR(s)                                                                                    \
    {                                                                                              \
        .text = (s), .ev = LESSON_NO_EV, .open = 1                                                 \
    }
#define LEND(s)                                                                                    \
    {                                                                                              \
        .text = (s), .ev = LESSON_NO_EV, .close = 1                                                \
    }
#define LBRK(s)                                                                                    \
    {                                                                                              \
        .text = (s), .ev = LESSON_NO_EV, .brk = 1                                                  \
    }
#define LAB(s, kind, o)                                                                            \
    {                                                                                              \
        .text = (s), .ev = (kind), .obj = (o), .brk = 1                                            \
    }
#define LAR(s, kind, o)                                                                            \
    {                                                                                              \
        .text = (s), .ev = (kind), .obj = (o), .again = 1                                          \
    }

/* A role: the listing shown for tasks whose names start with prefix. */
struct lesson_role {
    const char *prefix; /* "producer", "t" ... ("" matches every task) */
    const char *lang;   /* "C" or "Python": what the listing is written in */
    const struct lesson_line *lines;
    size_t n;
};

/* What a question asks. */
enum lesson_qkind {
    LQ_BLOCKS,   /* will the task block in its call? */
    LQ_VALUE,    /* the object's value after the action */
    LQ_WAKES,    /* which task blocked on the object gets through after the action */
    LQ_HOLDER,   /* who holds the mutex after the action */
    LQ_WAITING,  /* how many tasks are still blocked on the object after the action */
    LQ_STATE,    /* what state a task is in after the action */
    LQ_SOCK,     /* what state a socket is in after the action (ss's words) */
    LQ_TIMEWAIT, /* which socket ends in TIME-WAIT */
    LQ_PPID,     /* who a task's parent is after the action */
    LQ_KEY,      /* a number the scenario reports at the end of the run */
};

/* When the answer is known. */
enum lesson_resolve {
    LR_NEXT = 0, /* once the action asked about has settled */
    LR_UNTIL,    /* after the first settled step that shows it */
    LR_END,      /* when the run has ended */
};

struct run;
struct run_waiter;

/* What a question's callbacks see: the run and the action about to happen. */
struct lesson_ctx {
    const struct run *r;
    const struct model *m;
    const struct run_waiter *w; /* the waiter about to be let through */
    const struct model_task *t; /* its task */
    const struct model_obj *o;  /* its object, or NULL */
};

/* A range of numbers one choice stands for (LQ_KEY). */
struct lesson_range {
    long lo, hi;
};

struct lesson_q {
    const char *id; /* unique within the lesson ("empty-blocks") */
    enum lesson_qkind kind;
    enum lesson_resolve resolve;
    /* when: the action about to be let through */
    const char *role; /* its task's name prefix (NULL: any task) */
    uint16_t ev;      /* its kind (LESSON_NO_EV: any) */
    const char *obj;  /* its object: a name or a prefix ending in '*' (NULL: any) */
    int (*when)(const struct lesson_ctx *c); /* a further condition (NULL: none) */
    int times;                               /* asked at most this often in a run (0: once) */
    int skip; /* let this many matching moments pass first (the 3rd kill(): skip 2) */
    /* the question: {task} {call} {obj} {value} {waiters} {target} are filled in */
    const char *q_en, *q_zh;
    /* the explanation, with {answer} too; [1] when the other outcome happened (LQ_BLOCKS:
     * it did not block; LQ_WAKES, LQ_HOLDER, LQ_TIMEWAIT: nobody, neither; others: the answer
     * was not the first choice), NULL: use [0] */
    const char *why_en[2], *why_zh[2];
    /* per kind: LQ_STATE/LQ_PPID the task asked about (a name prefix, NULL: the actor);
     * LQ_VALUE/LQ_SOCK/LQ_WAITING/LQ_HOLDER/LQ_WAKES/LQ_BLOCKS the object (a name or pattern,
     * NULL: the action's; LQ_BLOCKS: what the call sleeps on when that is another object);
     * LQ_TIMEWAIT the sockets (comma-separated patterns);
     * LQ_KEY the scenario's snapshot key */
    const char *target;
    /* LQ_VALUE: which number of the object: NULL its value, "accept_queue" (a listener's
     * connections waiting for accept), "recv_q" or "send_q" (bytes queued); LQ_KEY:
     * "percent" counts a fraction in percent */
    const char *field;
    /* LQ_STATE: the states offered ("alive,blocked,zombie,gone"); LQ_SOCK: ss states
     * ("FIN-WAIT-2,TIME-WAIT,CLOSE"); LQ_VALUE: changes offered around the value now
     * ("-1,0,1", the default) */
    const char *choices;
    /* LQ_KEY: up to four ranges of the number, filled from the live run; returns how many */
    int (*ranges)(const struct lesson_ctx *c, struct lesson_range *out);
};

struct lesson {
    const char *id; /* the scenario's id */
    const struct lesson_role *roles;
    size_t nroles;
    const struct lesson_q *qs;
    size_t nqs;
};

extern const struct lesson *const lesson_table[];
extern const size_t lesson_count;

/* Ranges for the common LQ_KEY counts, each returning how many it filled. None, some, all:
 * 0 | 1..n-1 | n and more (n < 2: 0 | 1 and more). One, some, all: 1 | 2..n-1 | n and more
 * (n < 3: 1 | 2 and more). None or any: 0 | 1 and more (a ranges callback itself). */
int lesson_ranges_none_some_all(long n, struct lesson_range *out);
int lesson_ranges_one_some_all(long n, struct lesson_range *out);
int lesson_ranges_none_any(const struct lesson_ctx *c, struct lesson_range *out);

/* The lesson of scenario id, or NULL. */
const struct lesson *lesson_find(const char *id);

/* The role of a task named name (the first whose prefix it starts with), or NULL. */
const struct lesson_role *lesson_role_of(const struct lesson *l, const char *name);

/* 1 when name matches pattern: equal, or, when pattern has a '*', starting with what comes
 * before it and ending with what follows it ("conn-*", "*-udp", "rx-*-unicast"); a NULL
 * pattern matches everything. */
int lesson_name_matches(const char *pattern, const char *name);

/* 1 when line performs action kind on an object named obj (NULL or "" : none). */
int lesson_line_matches(const struct lesson_line *line, unsigned kind, const char *obj);

/*
 * The walk: the line a task's next action is on, given the line of its previous action
 * (from: -1 before the first). Lines are taken in order, an optional line may be skipped, and
 * a loop's closing line leads back to its first line; the innermost loop is continued before
 * it is left. strict: 1 requires every non-optional action line passed over to have been
 * done (a test of the listing), 0 allows skipping any line (placing a marker). Returns the
 * line, or -1 when no line the walk can reach performs the action.
 */
int lesson_walk(const struct lesson_role *role, int from, unsigned kind, const char *obj,
                int strict);

/* ---- helpers for the lesson tables' conditions ---- */

int lesson_when_zero(const struct lesson_ctx *c);     /* the object's value is 0 */
int lesson_when_positive(const struct lesson_ctx *c); /* ... greater than 0 */
int lesson_when_waiters(const struct lesson_ctx *c);  /* 1 to 3 tasks blocked on the object */
int lesson_when_no_waiters(const struct lesson_ctx *c);
int lesson_when_full(const struct lesson_ctx *c); /* value has reached the capacity */

#endif
