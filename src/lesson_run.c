/*
 * lesson_run.c - a lesson during a run: its lifetime, the code markers (each task's line in
 * its role's listing, followed from the gate arrivals the run applies) and the snapshot's
 * "code" and "predict" keys. The questions themselves are predict.c.
 */
#include "lesson_int.h"

#include "run.h"

#include <stdlib.h>
#include <string.h>

struct lesson_run *lesson_run_new(const struct scenario *sc, int predict)
{
    const struct lesson *l = sc ? lesson_find(sc->id) : NULL;
    if (!l)
        return NULL;
    struct lesson_run *lr = calloc(1, sizeof(*lr));
    if (!lr)
        return NULL;
    lr->l = l;
    lr->predict = predict;
    lr->asking = lr->await = lr->last = -1;
    lr->times = calloc(l->nqs ? l->nqs : 1, sizeof(*lr->times));
    lr->seen = calloc(l->nqs ? l->nqs : 1, sizeof(*lr->seen));
    lr->seen_at = calloc(l->nqs ? l->nqs : 1, sizeof(*lr->seen_at));
    lr->items = calloc(PREDICT_MAX_ITEMS, sizeof(*lr->items));
    if (!lr->times || !lr->seen || !lr->seen_at || !lr->items) {
        lesson_run_free(lr);
        return NULL;
    }
    return lr;
}

void lesson_run_free(struct lesson_run *lr)
{
    if (!lr)
        return;
    predict_free_items(lr);
    for (size_t i = 0; i < lr->nout; i++)
        json_decref(lr->out[i]);
    free(lr->out);
    free(lr->items);
    free(lr->times);
    free(lr->seen);
    free(lr->seen_at);
    free(lr->cursor);
    free(lr->marker);
    free(lr);
}

const struct lesson *lesson_run_lesson(const struct lesson_run *lr)
{
    return lr ? lr->l : NULL;
}

/* ---- the code markers ---- */

/* Room for task index idx; 0 or -1. */
static int grow(struct lesson_run *lr, size_t idx)
{
    if (idx < lr->ntasks)
        return 0;
    size_t n = lr->ntasks ? lr->ntasks : 16;
    while (n <= idx)
        n *= 2;
    int *c = realloc(lr->cursor, n * sizeof(*c));
    if (!c)
        return -1;
    lr->cursor = c;
    int *mk = realloc(lr->marker, n * sizeof(*mk));
    if (!mk)
        return -1;
    lr->marker = mk;
    for (size_t i = lr->ntasks; i < n; i++)
        lr->cursor[i] = lr->marker[i] = -1;
    lr->ntasks = n;
    return 0;
}

void lesson_run_event(struct lesson_run *lr, const struct model *m, const struct ev *e)
{
    if (!lr || e->kind != EV_GATE || e->val != 1 || e->src != EV_SRC_INSTR)
        return;
    uint32_t idx = model_task_by_slot(m, e->task);
    if (idx == MODEL_NO_TASK || grow(lr, idx) < 0)
        return;
    const struct lesson_role *role = lesson_role_of(lr->l, m->tasks[idx].name);
    if (!role)
        return;
    const char *obj = e->aux >= 0 && (size_t)e->aux < m->nobjs ? m->objs[e->aux].name : NULL;
    int line = lesson_walk(role, lr->cursor[idx], (unsigned)e->item, obj, 1);
    if (line < 0)
        line = lesson_walk(role, lr->cursor[idx], (unsigned)e->item, obj, 0);
    lr->marker[idx] = line;
    if (line >= 0)
        lr->cursor[idx] = line;
}

const struct lesson_role *lesson_run_marker(const struct lesson_run *lr, const struct model *m,
                                            uint32_t idx, int *line)
{
    *line = -1;
    if (!lr || idx >= m->ntasks)
        return NULL;
    const struct lesson_role *role = lesson_role_of(lr->l, m->tasks[idx].name);
    if (role && idx < lr->ntasks)
        *line = lr->marker[idx];
    return role;
}

/* ---- the snapshot ---- */

static json_t *code_json(const struct lesson_run *lr, const struct model *m)
{
    json_t *code = json_object();
    for (uint32_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        int line;
        const struct lesson_role *role = lesson_run_marker(lr, m, i, &line);
        if (!role || t->state == TS_REAPED || t->state == TS_EXITED || t->state == TS_ZOMBIE)
            continue;
        json_t *o = json_pack("{s:s}", "role", role->prefix);
        json_object_set_new(o, "line", line >= 0 ? json_integer(line + 1) : json_null());
        if (line >= 0)
            json_object_set_new(o, "code", json_string(role->lines[line].text));
        json_object_set_new(code, t->name, o);
    }
    return code;
}

json_t *predict_json(const struct run *r); /* predict.c */

void lesson_run_snapshot(struct run *r, json_t *snap)
{
    if (!r->lesson)
        return;
    json_object_set_new(snap, "code", code_json(r->lesson, &r->model));
    if (r->lesson->predict || r->lesson->nitems)
        json_object_set_new(snap, "predict", predict_json(r));
}
