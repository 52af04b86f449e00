/*
 * scenario.h - the scenario descriptor and the scenario table.
 *
 * A scenario is one file under src/scenarios/ holding a `const struct scenario` filled with
 * designated initialisers, plus one line in scenario_table (src/scenarios/table.c) and one
 * line in src/scenarios/list.cmake. Its setup runs in the conductor, creates the instrumented
 * objects in shared memory and spawns the workers; everything else is driven by the runtime.
 */
#ifndef IPCSCOPE_SCENARIO_H
#define IPCSCOPE_SCENARIO_H

#include "model.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SCN_MAX_PARAMS 8

enum lang { LANG_EN = 0, LANG_ZH = 1 };

struct scenario_param {
    const char *key;
    const char *help_en;
    const char *help_zh;
    long min, max, def;
};

struct scn_ctx;

/* A keypress action: the "what if" of the lesson. Runs in the conductor. */
struct scenario_action {
    int key; /* the key in the actions menu, e.g. 'w' */
    const char *label_en;
    const char *label_zh;
    /* Do it. Return 0, or -errno; msg (may be left empty) is shown to the user. */
    int (*fn)(struct scn_ctx *ctx, char *msg, size_t n);
};

/* What a running scenario can reach from the conductor. */
struct scn_ctx {
    const struct scenario *sc;
    long param[SCN_MAX_PARAMS]; /* in the order of sc->params */
    void *shared;               /* sc->shared_size zeroed bytes of shared memory */
    pid_t conductor;
    int lang;
    const char *cgroup; /* the run's cgroup directory ("": none); a scenario may make cgroups
                           below it, which the run's kill and its guard reach too */
    int interactive;    /* 1: a teacher at the keys (the TUI): a deadlock freezes on screen and
                           waits for a key instead of ending the run */
    char pin[512];      /* the lesson's key sentence for this moment ("Deadlock: ..."), set by
                           the scenario (conductor side); the narration keeps it on top until the
                           scenario clears it ("" : none). In the snapshot as "pinned". */
};

struct scenario {
    const char *id;
    int chapter; /* the chapter of the course notes, 1..11 */
    const char *title_en, *title_zh;
    const char *summary_en, *summary_zh; /* one paragraph each */
    const struct scenario_param *params;
    size_t nparams;
    const struct scenario_action *actions;
    size_t nactions;
    size_t shared_size; /* bytes of shared memory for the scenario's own state */
    /* Task slots the run needs (all processes and threads ever started); NULL: 64. */
    uint32_t (*max_tasks)(const struct scn_ctx *ctx);
    /* Conductor side, before anything runs: create objects, spawn the workers. 0 or -errno,
     * with a message in err. */
    int (*setup)(struct scn_ctx *ctx, char *err, size_t n);
    /* Optional: 1 when the scenario is over even though workers remain (default: when every
     * worker has been reaped). */
    int (*finished)(struct scn_ctx *ctx, const struct model *m);
    /* Optional: after the workers are gone. */
    void (*teardown)(struct scn_ctx *ctx);
    /* Optional: the lesson's invariants at the end. 0 when they hold, else -1 and why. */
    int (*check)(struct scn_ctx *ctx, const struct model *m, char *why, size_t n);
    /* Optional: add scenario-specific keys to the final snapshot. */
    void (*snapshot)(struct scn_ctx *ctx, const struct model *m, json_t *out);
    /* Optional: narrate event e in lang into buf. 1 when it wrote something, 0 to let the
     * generic narration speak. */
    int (*narrate)(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n);
    /* Optional: called on every poll of a live run, after draining and reaping (exec follows
     * what only the kernel knows there: orphans reaped by init, its cgroup, the pty). */
    void (*poll)(struct scn_ctx *ctx, const struct model *m);
    /* Optional: the conductor has collected its child pid with waitpid's status: the
     * kernel's word, whatever the task slots in the shared region say. */
    void (*reaped)(struct scn_ctx *ctx, pid_t pid, int status);
    /* 1: the run does not end merely because the conductor has no child left (orphans that
     * init adopted may still run); finished alone decides. */
    int wait_descendants;
};

extern const struct scenario *const scenario_table[];
extern const size_t scenario_count;

/* The scenario named id, or NULL. */
const struct scenario *scenario_find(const char *id);

/* The same, also knowing `exec` (not in the table: it runs your program): for traces. */
const struct scenario *scenario_find_recorded(const char *id);

/* The chapter's title ("Processes" / "进程"), or NULL for an unknown chapter. */
const char *scenario_chapter_title(int chapter, int lang);

/* Fill values with the defaults of sc. */
void scenario_defaults(const struct scenario *sc, long *values);

/* Parse "key=value" into values. 0, or -1 with a message naming the problem and the accepted
 * keys or range (a usage error: exit 2). */
int scenario_parse_param(const struct scenario *sc, const char *kv, long *values, char *err,
                         size_t n);

/* The value of parameter key in ctx (its default when unknown). */
long scn_param(const struct scn_ctx *ctx, const char *key);

/* Add one number of the lesson's result to a snapshot's "meters" (drawn under the objects and
 * in projector mode): label, value and max (0: no bar), and the value told as text (printf
 * format). Call from a scenario's snapshot hook, in ctx->lang. */
void scn_meter(json_t *out, const char *label, double value, double max, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The names of the signals in mask (bit n-1 = signal n), "HUP USR1", or "—" when none. */
const char *scn_signal_names(uint64_t mask, char *buf, size_t n);

/* For checks of lessons whose workers all end by themselves with status 0: -1 with why naming
 * the first that did not (killed by a signal, or a failure status), else 0. A worker killed
 * from outside must not leave a half-run lesson reading "Checks: ok". */
int scn_workers_ended_well(const struct model *m, char *why, size_t n);

#endif
