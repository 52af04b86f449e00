/*
 * run_replay.c - a recorded trace played back through the run API: stepping forward and
 * back, jumps, paced play at the recorded speed, and the replay's position.
 */
#define _GNU_SOURCE
#include "run.h"
#include "run_int.h"

#include "replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- replay ---- */

/* The header's parameters over the scenario's defaults (unknown ones, and values outside the
 * parameter's limits, which the scenario's code was never meant to see, are ignored). */
static void replay_params(struct run *r, json_t *params)
{
    scenario_defaults(r->sc, r->ctx.param);
    for (size_t i = 0; i < r->sc->nparams && i < SCN_MAX_PARAMS; i++) {
        json_t *v = json_object_get(params, r->sc->params[i].key);
        json_int_t x = json_integer_value(v);
        if (json_is_integer(v) && x >= r->sc->params[i].min && x <= r->sc->params[i].max)
            r->ctx.param[i] = (long)x; /* a value out of range stays the default */
    }
}

int run_open_replay(struct run **out, const struct run_opts *opts, char *err, size_t n)
{
    struct run *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    r->opts = *opts;
    r->opts.record = NULL;
    r->poll_timer = r->proc_timer = r->pace_timer = -1;
    r->step_pick = -1;
    r->guard = (struct guard)GUARD_NONE; /* a replay has no workers: no guard, no cgroup */
    r->cg = (struct cg)CG_NONE;
    struct replay *rp = r->replay = opts->replay;
    const char *id = json_string_value(json_object_get(rp->header, "scenario"));
    r->sc = scenario_find_recorded(id);
    if (!r->sc) {
        snprintf(err, n,
                 "the trace was recorded from scenario '%s', which this ipcscope does "
                 "not have",
                 id);
        goto fail;
    }
    r->ctx.sc = r->sc;
    r->ctx.lang = opts->lang;
    replay_params(r, json_object_get(rp->header, "params"));
    for (size_t i = 0; i < rp->n; i++) /* the recorded conductor: slot 0's task */
        if (rp->recs[i].e.kind == EV_TASK_START && rp->recs[i].e.task == 0) {
            r->ctx.conductor = rp->recs[i].e.pid;
            break;
        }
    json_t *trl = rp->trailer, *src = json_object_get(trl, "sources");
    r->procfs_on = json_is_true(json_object_get(src, "procfs"));
    r->recorded_bpf = json_is_true(json_object_get(src, "bpf"));
    snprintf(r->bpf_reason, sizeof(r->bpf_reason), "%s",
             r->recorded_bpf ? "" : "off when recorded");
    json_t *leaks = json_object_get(trl, "leaks"), *check = json_object_get(trl, "check");
    r->leaked_procs = (int)json_integer_value(json_object_get(leaks, "processes"));
    r->leaked_ipc = (int)json_integer_value(json_object_get(leaks, "ipc_objects"));
    r->check_rc = check && !json_is_true(json_object_get(check, "ok")) ? -1 : 0;
    const char *why = json_string_value(json_object_get(check, "why"));
    snprintf(r->check_why, sizeof(r->check_why), "%s", why ? why : "");
    r->delay_ms = opts->delay_ms;
    r->mode = opts->step ? RUN_STEP : RUN_RUN;
    if (model_init(&r->model, rp->hist_cap, rp->span_cap) < 0) {
        snprintf(err, n, "out of memory");
        goto fail;
    }
    rp->cursor = 0; /* the model is empty: nothing of the trace shown yet */
    r->model.dropped = (uint64_t)json_integer_value(json_object_get(trl, "dropped"));
    if (!trl)
        snprintf(r->status, sizeof(r->status), "%s",
                 r->ctx.lang ? "这个轨迹没有结束行（录制被中断）：回放到它结束的地方。"
                             : "This trace has no end line (the recording was cut short): it "
                               "plays up to where it stops.");
    else
        snprintf(r->status, sizeof(r->status), "%s",
                 r->ctx.lang ? "回放：空格前进一步，b 后退一步，r 播放/暂停，R 回到开头。"
                             : "Replay: Space steps, b steps back, r plays / pauses, R goes "
                               "back to the start.");
    *out = r;
    return 0;
fail:
    run_close(r);
    return -1;
}

int run_replay_start(struct run *r, struct loop *lp, char *err, size_t n)
{
    r->loop = lp;
    r->poll_timer = loop_add_timer(lp, REPLAY_TICK_NS, run_poll_timer_cb, r);
    if (r->poll_timer < 0) {
        snprintf(err, n, "cannot create timers");
        return -1;
    }
    r->started = 1;
    run_set_mode(r, r->mode);
    return 0;
}

static long replay_advance(struct run *r, long steps);

/* The mode changed: playing resumes from where the view stands. */
void run_replay_mode(struct run *r)
{
    r->play_wall0 = loop_now_ns();
    r->play_trace0 = r->replay_now;
    r->step_pending = 0;
    if (r->loop && r->poll_timer >= 0) /* stepping needs no timer: idle costs nothing */
        loop_set_timer(r->loop, r->poll_timer,
                       r->mode == RUN_RUN && r->replay->cursor < r->replay->n ? REPLAY_TICK_NS : 0);
}

/* Show the first pos records. Going back also undoes the end of the run. */
void run_replay_to(struct run *r, size_t pos)
{
    struct replay *rp = r->replay;
    replay_seek(rp, &r->model, pos);
    r->replay_now = replay_time_at(rp, rp->cursor);
    if (rp->cursor < rp->n) {
        r->finished = r->stopped = 0;
        r->t_end_ns = 0;
    }
}

void run_replay_poll(struct run *r)
{
    struct replay *rp = r->replay;
    uint64_t now = loop_now_ns();
    if (r->mode == RUN_RUN && r->delay_ms == 0) {
        /* at the recorded pace */
        uint64_t t = r->play_trace0 + (now - r->play_wall0);
        run_replay_to(r, replay_upto(rp, rp->cursor, t));
        uint64_t last = replay_time_at(rp, rp->n);
        r->replay_now = t < last ? t : last;
    } else if (r->mode == RUN_RUN && now - r->play_wall0 >= (uint64_t)r->delay_ms * 1000000ull) {
        /* one action per delay, as a paced live run */
        r->play_wall0 = now;
        replay_advance(r, 1);
    }
    if (rp->cursor >= rp->n && !r->finished) {
        r->finished = 1;
        loop_set_timer(r->loop, r->poll_timer, 0); /* R or b starts it again */
    }
}

/* Move the view steps forward (< 0: back), stopping at either end. Returns the steps moved. */
static long replay_advance(struct run *r, long steps)
{
    struct replay *rp = r->replay;
    size_t pos = rp->cursor;
    long moved = 0;
    while (steps > 0 && moved < steps && pos < rp->n) {
        pos = replay_next_step(rp, pos);
        moved++;
    }
    while (steps < 0 && moved > steps && pos > 0) {
        pos = replay_prev_step(rp, pos);
        moved--;
    }
    if (moved) {
        run_replay_to(r, pos);
        r->steps = moved < 0 && (uint64_t)-moved > r->steps ? 0 : r->steps + (uint64_t)moved;
    }
    return moved;
}

int run_replay_jump(struct run *r, long steps)
{
    if (!r->replay)
        return -1;
    if (r->mode == RUN_RUN)
        run_set_mode(r, RUN_STEP);
    return replay_advance(r, steps) ? 0 : -1;
}

int run_back(struct run *r)
{
    return run_replay_jump(r, -1);
}

void run_replay_position(const struct run *r, size_t *shown, size_t *total)
{
    *shown = r->replay ? r->replay->cursor : 0;
    *total = r->replay ? r->replay->n : 0;
}
