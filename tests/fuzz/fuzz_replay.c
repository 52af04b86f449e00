/*
 * fuzz_replay.c - libFuzzer harness: a trace played back the way the TUI plays it. The first
 * bytes of the input are a script of moves (step, back, ten either way, to either end,
 * rewind), the rest is the trace; after each move the view is narrated as the dashboard
 * narrates it (the scenario's own narration first) and the snapshot rebuilt.
 */
#include "fuzz_util.h"

#include "loop.h"
#include "narrate.h"
#include "replay.h"
#include "run.h"

#include <limits.h>
#include <string.h>

#define MOVES 16

static void narrate_view(struct run *r)
{
    char buf[512];
    const struct model *m = &r->model;
    for (size_t i = m->hist_len > 8 ? m->hist_len - 8 : 0; i < m->hist_len; i++) {
        const struct ev *e = model_hist(m, i);
        narrate_event(&r->ctx, m, e, (int)(i & 1), buf, sizeof(buf));
        narrate_brief(m, e, buf, sizeof(buf));
    }
    for (size_t t = 0; t < m->ntasks; t++)
        narrate_task(m, &m->tasks[t], LANG_EN, buf, sizeof(buf));
}

static void play(struct run *r, const uint8_t *moves, size_t n)
{
    static const long jumps[] = {1, -1, 10, -10, LONG_MAX, LONG_MIN};
    for (size_t i = 0; i < n; i++) {
        if (moves[i] % 7 == 6) {
            char err[128];
            run_restart(&r, err, sizeof(err)); /* R: back to the start */
        } else {
            run_replay_jump(r, jumps[moves[i] % 7]);
        }
        narrate_view(r);
    }
    json_t *snap = run_snapshot(r);
    json_decref(snap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t nmoves = size < MOVES ? size : MOVES;
    const char *path = fuzz_file(data + nmoves, size - nmoves);
    char err[512];
    struct replay *rp;
    if (!path || replay_load(&rp, path, err, sizeof(err)) < 0)
        return 0;
    struct loop *lp = loop_new();
    struct run_opts opts = {.replay = rp, .step = 1};
    struct run *r = NULL;
    if (lp && run_open_replay(&r, &opts, err, sizeof(err)) == 0 &&
        run_start(r, lp, err, sizeof(err)) == 0)
        play(r, data, nmoves);
    run_close(r);
    loop_free(lp);
    replay_free(rp);
    return 0;
}
