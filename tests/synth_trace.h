/*
 * synth_trace.h - a long prodcons-shaped trace made quickly, through the real trace writer.
 *
 * Producers and consumers pass items through a bounded buffer guarded by two semaphores and
 * a mutex, with the kernel's sched_in / sched_out between their actions, exactly as a
 * recorded run lays them out (slots, object ids, per-object seq, values after each
 * operation), so the trace tests can export and replay millions of events without running
 * millions of real operations. Header-only: the suites that use it include it.
 */
#ifndef IPCSCOPE_TESTS_SYNTH_TRACE_H
#define IPCSCOPE_TESTS_SYNTH_TRACE_H

#include "event.h"
#include "trace.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

struct synth {
    struct trace_writer *w;
    uint64_t t, events;
    uint32_t seq[4]; /* per object: empty, full, buf, buffer */
    int64_t empty, full, depth;
};

enum { SY_EMPTY, SY_FULL, SY_BUF, SY_QUEUE, SY_CAP = 4, SY_PROD = 4, SY_CONS = 4 };

static const char *const sy_obj_names[] = {"empty", "full", "buf", "buffer"};

static void sy_emit(struct synth *s, uint32_t slot, uint16_t kind, uint32_t obj, int64_t val,
                    int64_t item, int64_t aux, const char *task)
{
    struct ev e = {.t = s->t += 1000,
                   .kind = kind,
                   .src = EV_SRC_INSTR,
                   .task = slot,
                   .pid = 5000 + (int32_t)slot,
                   .tid = 5000 + (int32_t)slot,
                   .obj = obj,
                   .val = val,
                   .item = item,
                   .aux = aux};
    if (obj != EV_NO_OBJ)
        e.seq = s->seq[obj]++;
    trace_write_event(s->w, &e, 0, task, obj != EV_NO_OBJ ? sy_obj_names[obj] : NULL);
    s->events++;
}

static void sy_sched(struct synth *s, uint32_t slot, uint16_t kind, int64_t val)
{
    struct ev e = {.t = s->t += 1000,
                   .kind = kind,
                   .src = EV_SRC_BPF,
                   .task = EV_NO_TASK,
                   .pid = 5000 + (int32_t)slot,
                   .tid = 5000 + (int32_t)slot,
                   .obj = EV_NO_OBJ,
                   .val = val,
                   .aux = 1};
    trace_write_event(s->w, &e, 0, NULL, NULL);
    s->events++;
}

static void sy_name(char *buf, size_t n, uint32_t slot)
{
    if (slot == 0)
        snprintf(buf, n, "ipcscope");
    else if (slot <= SY_PROD)
        snprintf(buf, n, "producer-%u", slot);
    else
        snprintf(buf, n, "consumer-%u", slot - SY_PROD);
}

/* One item through the buffer: a producer puts it, a consumer gets it. */
static void sy_item(struct synth *s, long item)
{
    char name[32];
    uint32_t p = 1 + (uint32_t)(item % SY_PROD), c = 1 + SY_PROD + (uint32_t)(item % SY_CONS);
    sy_name(name, sizeof(name), p);
    sy_sched(s, p, EV_SCHED_IN, 0);
    sy_emit(s, p, EV_SEM_WAIT, SY_EMPTY, s->empty, 0, s->empty == 0, name);
    sy_emit(s, p, EV_SEM_ACQUIRED, SY_EMPTY, --s->empty, 0, 0, name);
    sy_emit(s, p, EV_MUTEX_WAIT, SY_BUF, 0, 0, 0, name);
    sy_emit(s, p, EV_MUTEX_ACQUIRED, SY_BUF, 1, 0, 0, name);
    sy_emit(s, p, EV_QUEUE_PUT, SY_QUEUE, ++s->depth, item, 0, name);
    sy_emit(s, p, EV_MUTEX_RELEASE, SY_BUF, 0, 0, 0, name);
    sy_emit(s, p, EV_SEM_POST, SY_FULL, ++s->full, 0, 0, name);
    sy_sched(s, p, EV_SCHED_OUT, 1);
    sy_name(name, sizeof(name), c);
    sy_sched(s, c, EV_SCHED_IN, 0);
    sy_emit(s, c, EV_SEM_WAIT, SY_FULL, s->full, 0, 0, name);
    sy_emit(s, c, EV_SEM_ACQUIRED, SY_FULL, --s->full, 0, 0, name);
    sy_emit(s, c, EV_MUTEX_WAIT, SY_BUF, 0, 0, 0, name);
    sy_emit(s, c, EV_MUTEX_ACQUIRED, SY_BUF, 1, 0, 0, name);
    sy_emit(s, c, EV_QUEUE_GET, SY_QUEUE, --s->depth, item, 0, name);
    sy_emit(s, c, EV_MUTEX_RELEASE, SY_BUF, 0, 0, 0, name);
    sy_emit(s, c, EV_SEM_POST, SY_EMPTY, ++s->empty, 0, 0, name);
    sy_sched(s, c, EV_SCHED_OUT, 0);
}

/*
 * Write a trace of at least min_events events to path (.zst: compressed) and return how
 * many it holds, or 0 with err when the writer failed. With end = 0 no end line is written.
 */
static uint64_t synth_trace(const char *path, uint64_t min_events, int end, char *err, size_t n)
{
    struct synth s = {.empty = SY_CAP};
    json_t *params = json_pack("{s:i, s:i}", "producers", SY_PROD, "consumers", SY_CONS);
    s.w = trace_create(path, "prodcons", params, 0, err, n);
    json_decref(params);
    if (!s.w)
        return 0;
    char name[32];
    for (uint32_t slot = 0; slot <= SY_PROD + SY_CONS; slot++) {
        sy_name(name, sizeof(name), slot);
        sy_emit(&s, slot, EV_TASK_START, EV_NO_OBJ, 0, TK_PROCESS, 5000, name);
        if (slot == 0) {
            const int64_t init[] = {SY_CAP, 0, 0, 0}, cap[] = {SY_CAP, SY_CAP, 0, SY_CAP};
            const int64_t kind[] = {OK_SEMAPHORE, OK_SEMAPHORE, OK_MUTEX, OK_QUEUE};
            for (uint32_t o = 0; o < 4; o++)
                sy_emit(&s, 0, EV_OBJ_CREATE, o, init[o], cap[o], kind[o], name);
        }
    }
    long item = 0;
    while (s.events + 2 * (SY_PROD + SY_CONS) < min_events)
        sy_item(&s, item++);
    for (uint32_t slot = 1; slot <= SY_PROD + SY_CONS; slot++) {
        sy_name(name, sizeof(name), slot);
        sy_emit(&s, slot, EV_TASK_EXIT, EV_NO_OBJ, 0, 0, 0, name);
        sy_emit(&s, slot, EV_TASK_REAPED, EV_NO_OBJ, 0, 0, 5000, name);
    }
    json_t *trl = end ? json_pack("{s:I, s:i, s:{s:b}, s:{s:i, s:i}}", "duration_ms",
                                  (json_int_t)(s.t / 1000000), "dropped", 0, "sources", "instr", 1,
                                  "leaks", "processes", 0, "ipc_objects", 0)
                      : NULL;
    if (trace_finish(s.w, trl, err, n) != 0)
        return 0;
    return s.events;
}

#endif
