/*
 * predict.c - predict mode: before a key moment of the lesson the gate holds the step and a
 * question is asked, with choices made from the live run; once the action has settled (or
 * the run has ended) the right choice is read from the model, never fixed in advance.
 *
 * Asking: lesson_run_before_grant matches the waiter about to be let through against the
 * lesson's questions. Revealing: lesson_run_settled after the asked action's step, or after
 * any step for a question that waits for something to happen (LR_UNTIL), and lesson_run_end
 * for a question about the run's result. Each question, answer and reveal is a trace event
 * (predict_ask, predict_answer, predict_reveal) and a JSON line for the step driver.
 */
#define _GNU_SOURCE
#include "lesson_int.h"

#include "instr.h"
#include "narrate.h"
#include "phrase_zh.h"
#include "run.h"
#include "snapshot.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EN = 0, ZH = 1 };

/* ---- small helpers ---- */

static void push_out(struct lesson_run *lr, json_t *line)
{
    if (lr->nout == lr->outcap) {
        size_t cap = lr->outcap ? lr->outcap * 2 : 8;
        json_t **o = realloc(lr->out, cap * sizeof(*o));
        if (!o) {
            json_decref(line);
            return;
        }
        lr->out = o;
        lr->outcap = cap;
    }
    lr->out[lr->nout++] = line;
}

int predict_has_output(const struct run *r)
{
    return r->lesson && r->lesson->nout > 0;
}

json_t *predict_take_output(struct run *r)
{
    struct lesson_run *lr = r->lesson;
    if (!lr || !lr->nout)
        return NULL;
    json_t *first = lr->out[0];
    memmove(lr->out, lr->out + 1, (lr->nout - 1) * sizeof(*lr->out));
    lr->nout--;
    return first;
}

static const char *obj_name(const struct model *m, uint32_t id)
{
    return id < m->nobjs ? m->objs[id].name : "";
}

/* The tasks blocked on obj in name order (a stable order for the choices: a run that lets
 * equal tasks through in another order asks the same question); their count (may exceed n). */
static size_t waiters_sorted(const struct model *m, uint32_t obj, uint32_t *w, size_t n)
{
    size_t k = obj < m->nobjs ? model_waiters(m, obj, w, n) : 0;
    for (size_t i = 1; i < k && i < n; i++)
        for (size_t j = i; j > 0 && strcmp(m->tasks[w[j - 1]].name, m->tasks[w[j]].name) > 0; j--) {
            uint32_t t = w[j];
            w[j] = w[j - 1];
            w[j - 1] = t;
        }
    return k;
}

/* The names of the tasks blocked on obj, "a, b" (or "nobody"/"没有任务"). */
static void waiters_text(const struct model *m, uint32_t obj, int lang, char *buf, size_t n)
{
    uint32_t w[8];
    size_t k = waiters_sorted(m, obj, w, 8);
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < k && i < 8 && len < n; i++)
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? ", " : "", m->tasks[w[i]].name);
    if (!k)
        snprintf(buf, n, "%s", lang == ZH ? "没有任务" : "nobody");
}

/* ss's word for socket o now, as the snapshot says it. */
static const char *sock_word(const struct model_obj *o)
{
    if (!o->in_kernel)
        return o->proto == 17 ? "UNCONN" : "CLOSE";
    return snapshot_ss_state(o->proto, o->tcp_state);
}

/* The placeholders of an item's texts. */
struct subst {
    const char *task, *call, *obj, *target, *answer, *klass;
    char value[32], waiters[160];
};

/* Expand {task} {call} {obj} {value} {waiters} {target} {answer} {class} of tmpl into buf. */
static void expand(const struct subst *s, const char *tmpl, char *buf, size_t n)
{
    static const char *const keys[] = {"task",    "call",   "obj",    "value",
                                       "waiters", "target", "answer", "class"};
    const char *vals[] = {s->task,    s->call,   s->obj,    s->value,
                          s->waiters, s->target, s->answer, s->klass};
    size_t len = 0;
    buf[0] = '\0';
    for (const char *p = tmpl ? tmpl : ""; *p && len + 1 < n;) {
        size_t i = 0;
        if (*p == '{')
            for (; i < sizeof(keys) / sizeof(keys[0]); i++) {
                size_t kl = strlen(keys[i]);
                if (strncmp(p + 1, keys[i], kl) == 0 && p[1 + kl] == '}')
                    break;
            }
        if (*p == '{' && i < sizeof(keys) / sizeof(keys[0])) {
            len += (size_t)snprintf(buf + len, n - len, "%s", vals[i] ? vals[i] : "?");
            p += strlen(keys[i]) + 2;
            continue;
        }
        buf[len++] = *p++;
        buf[len] = '\0';
    }
    if (len >= n)
        buf[n - 1] = '\0';
}

/* ---- the state categories of LQ_STATE ---- */

static const struct {
    const char *name, *en, *zh;
} CATS[] = {
    {"alive", "{target} is alive (running, ready or at the gate)",
     "{target} 仍然活着（运行、就绪或在闸门前）"},
    {"blocked", "{target} is blocked (asleep in the kernel)", "{target} 阻塞（在内核中睡眠）"},
    {"zombie", "{target} is a zombie (exited, not yet reaped)",
     "{target} 成了僵尸（已退出，未回收）"},
    {"gone", "{target} is gone (exited and reaped)", "{target} 已消失（退出并被回收）"},
};

static int state_cat(const struct model_task *t)
{
    switch (t->state) {
    case TS_BLOCKED:
        return 1;
    case TS_ZOMBIE:
        return 2;
    case TS_REAPED:
    case TS_EXITED:
        return 3;
    default:
        return 0;
    }
}

static int cat_index(const char *name, size_t len)
{
    for (int i = 0; i < 4; i++)
        if (strlen(CATS[i].name) == len && strncmp(CATS[i].name, name, len) == 0)
            return i;
    return -1;
}

/* The snapshot's state words of category c. */
static json_t *cat_states(int c)
{
    static const char *const W[4][4] = {
        {"running", "ready", "gate", "new"}, {"blocked"}, {"zombie"}, {"reaped", "exited"}};
    json_t *a = json_array();
    for (int i = 0; i < 4 && W[c][i]; i++)
        json_array_append_new(a, json_string(W[c][i]));
    return a;
}

/* ---- finding the subject of a question ---- */

static uint32_t task_named(const struct model *m, const char *prefix, uint32_t actor)
{
    if (!prefix)
        return actor;
    uint32_t fallback = MODEL_NO_TASK;
    for (uint32_t i = 0; i < m->ntasks; i++) {
        if (!lesson_name_matches(prefix, m->tasks[i].name) &&
            strncmp(m->tasks[i].name, prefix, strlen(prefix)) != 0)
            continue;
        if (m->tasks[i].state != TS_REAPED && m->tasks[i].state != TS_EXITED)
            return i;
        if (fallback == MODEL_NO_TASK)
            fallback = i;
    }
    return fallback;
}

/* Object ids of the objects (sockets only when sockets is 1) matching the comma-separated
 * patterns, up to max. */
static int objects_named(const struct model *m, const char *patterns, int sockets, uint32_t *out,
                         int max)
{
    int k = 0;
    for (uint32_t i = 0; i < m->nobjs && k < max; i++) {
        const struct model_obj *o = &m->objs[i];
        if ((sockets && o->kind != OK_SOCKET) || !o->name[0])
            continue;
        for (const char *p = patterns; p && *p && k < max;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            char pat[40];
            snprintf(pat, sizeof(pat), "%.*s", (int)len, p);
            if (lesson_name_matches(pat, o->name)) {
                out[k++] = i;
                break;
            }
            p = comma ? comma + 1 : p + len;
        }
    }
    return k;
}

/* ---- building the choices ---- */

static void set_choice(struct predict_item *it, int i, long value, const struct subst *s,
                       const char *en, const char *zh)
{
    expand(s, en, it->choice[i][EN], sizeof(it->choice[i][EN]));
    expand(s, zh, it->choice[i][ZH], sizeof(it->choice[i][ZH]));
    it->value[i] = value;
}

/* The number of o a LQ_VALUE question asks about (field: NULL the value). */
static long obj_number(const struct model_obj *o, const char *field)
{
    if (field && (strcmp(field, "accept_queue") == 0 || strcmp(field, "recv_q") == 0))
        return (long)o->recv_q;
    if (field && strcmp(field, "send_q") == 0)
        return (long)o->send_q;
    return (long)o->value;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int choices_value(struct predict_item *it, const struct model_obj *o)
{
    long v[LESSON_MAX_CHOICES];
    int k = 0;
    const char *d = it->q->choices ? it->q->choices : "-1,0,1";
    for (char *end; *d && k < LESSON_MAX_CHOICES; d = *end ? end + 1 : end) {
        int absolute = *d == '='; /* "=2": the number itself, not a change */
        long x = strtol(d + absolute, &end, 10);
        if (end == d + absolute)
            break;
        if (!absolute)
            x += obj_number(o, it->q->field);
        int dup = 0;
        for (int i = 0; i < k; i++)
            dup |= v[i] == x;
        int bounded = o->capacity > 0 && o->kind != OK_SHM && !it->q->field;
        if (x >= 0 && (!bounded || x <= o->capacity) && !dup)
            v[k++] = x;
    }
    qsort(v, (size_t)k, sizeof(long), cmp_long);
    for (int i = 0; i < k; i++) {
        snprintf(it->choice[i][EN], sizeof(it->choice[i][EN]), "%s = %ld", o->name, v[i]);
        snprintf(it->choice[i][ZH], sizeof(it->choice[i][ZH]), "%s = %ld", o->name, v[i]);
        it->value[i] = v[i];
    }
    return k;
}

/* Waiters on the object as choices (value: task index), then "nobody" (-1). */
static int choices_waiters(struct predict_item *it, const struct model *m, struct subst *s,
                           const char *en, const char *zh, const char *none_en, const char *none_zh)
{
    uint32_t w[LESSON_MAX_CHOICES];
    size_t n = waiters_sorted(m, it->obj, w, LESSON_MAX_CHOICES);
    if (n < 1 || n > LESSON_MAX_CHOICES - 1)
        return 0;
    int k = 0;
    const char *keep = s->target;
    for (size_t i = 0; i < n; i++, k++) {
        s->target = m->tasks[w[i]].name;
        set_choice(it, k, (long)w[i], s, en, zh);
    }
    s->target = keep;
    set_choice(it, k++, -1, s, none_en, none_zh);
    return k;
}

/* LQ_HOLDER: the actor, the tasks blocked on the mutex, and nobody. */
static int choices_holder(struct predict_item *it, const struct model *m, struct subst *s)
{
    uint32_t w[LESSON_MAX_CHOICES];
    size_t n = waiters_sorted(m, it->obj, w, LESSON_MAX_CHOICES);
    if (it->obj >= m->nobjs || n > LESSON_MAX_CHOICES - 2)
        return 0;
    int k = 0;
    const char *keep = s->target;
    s->target = m->tasks[it->task].name;
    set_choice(it, k++, (long)it->task, s, "{target} holds {obj}", "{target} 持有 {obj}");
    for (size_t i = 0; i < n; i++) {
        s->target = m->tasks[w[i]].name;
        set_choice(it, k++, (long)w[i], s, "{target} holds {obj}", "{target} 持有 {obj}");
    }
    s->target = keep;
    set_choice(it, k++, -1, s, "nobody: {obj} is free", "没有人：{obj} 空闲");
    return k;
}

static int choices_waiting(struct predict_item *it, const struct model *m)
{
    long n = (long)model_waiters(m, it->obj, NULL, 0);
    if (n < 1)
        return 0;
    long v[3] = {0, n / 2, n};
    int k = 0;
    for (int i = 0; i < 3; i++) {
        if (k && v[i] == it->value[k - 1])
            continue;
        snprintf(it->choice[k][EN], sizeof(it->choice[k][EN]), "%ld still blocked on %s", v[i],
                 it->obj_name);
        snprintf(it->choice[k][ZH], sizeof(it->choice[k][ZH]), "仍有 %ld 个阻塞在 %s 上", v[i],
                 it->obj_name);
        it->value[k++] = v[i];
    }
    return k;
}

static int choices_state(struct predict_item *it, struct subst *s)
{
    int k = 0;
    for (const char *p = it->q->choices ? it->q->choices : "alive,blocked,zombie,gone";
         *p && k < LESSON_MAX_CHOICES;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int c = cat_index(p, len);
        if (c >= 0) {
            set_choice(it, k, c, s, CATS[c].en, CATS[c].zh);
            k++;
        }
        p = comma ? comma + 1 : p + len;
    }
    return k;
}

static int choices_sock(struct predict_item *it)
{
    int k = 0;
    for (const char *p = it->q->choices ? it->q->choices : "TIME-WAIT,CLOSE-WAIT,CLOSE";
         *p && k < LESSON_MAX_CHOICES;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        snprintf(it->choice[k][EN], sizeof(it->choice[k][EN]), "%.*s", (int)len, p);
        snprintf(it->choice[k][ZH], sizeof(it->choice[k][ZH]), "%.*s", (int)len, p);
        it->value[k] = k;
        k++;
        p = comma ? comma + 1 : p + len;
    }
    return k;
}

static int choices_timewait(struct predict_item *it, const struct model *m)
{
    uint32_t ids[LESSON_MAX_CHOICES - 1];
    int n = objects_named(m, it->q->target, 1, ids, LESSON_MAX_CHOICES - 1);
    if (n < 2)
        return 0;
    for (int i = 0; i < n; i++) {
        snprintf(it->choice[i][EN], sizeof(it->choice[i][EN]), "%s", m->objs[ids[i]].name);
        snprintf(it->choice[i][ZH], sizeof(it->choice[i][ZH]), "%s", m->objs[ids[i]].name);
        it->value[i] = ids[i];
    }
    snprintf(it->choice[n][EN], sizeof(it->choice[n][EN]), "neither");
    snprintf(it->choice[n][ZH], sizeof(it->choice[n][ZH]), "都不会");
    it->value[n] = -1;
    return n + 1;
}

static int choices_ppid(struct predict_item *it, const struct run *r)
{
    const struct model *m = &r->model;
    const struct model_task *t = &m->tasks[it->target];
    long v[3] = {t->ppid, r->ctx.conductor, 1};
    const char *en[3] = {"the same parent (pid %ld)", "ipcscope, the subreaper (pid %ld)",
                         "init (pid %ld)"};
    const char *zh[3] = {"仍是原来的父进程（pid %ld）", "ipcscope，子进程收割者（pid %ld）",
                         "init（pid %ld）"};
    int k = 0;
    for (int i = 0; i < 3; i++) {
        int dup = 0;
        for (int j = 0; j < k; j++)
            dup |= it->value[j] == v[i];
        if (dup)
            continue;
        snprintf(it->choice[k][EN], sizeof(it->choice[k][EN]), en[i], v[i]);
        snprintf(it->choice[k][ZH], sizeof(it->choice[k][ZH]), zh[i], v[i]);
        it->value[k++] = v[i];
    }
    return k;
}

static int choices_key(struct predict_item *it, const struct lesson_ctx *c)
{
    if (!it->q->ranges && it->q->choices) /* words the key may say */
        return choices_sock(it);
    struct lesson_range rg[LESSON_MAX_CHOICES];
    int k = it->q->ranges ? it->q->ranges(c, rg) : 0;
    if (k > LESSON_MAX_CHOICES)
        k = LESSON_MAX_CHOICES;
    for (int i = 0; i < k; i++) {
        it->range[i] = rg[i];
        it->value[i] = i;
        if (rg[i].lo == rg[i].hi) {
            snprintf(it->choice[i][EN], sizeof(it->choice[i][EN]), "%ld", rg[i].lo);
            snprintf(it->choice[i][ZH], sizeof(it->choice[i][ZH]), "%ld", rg[i].lo);
        } else if (rg[i].hi == LONG_MAX) {
            snprintf(it->choice[i][EN], sizeof(it->choice[i][EN]), "%ld or more", rg[i].lo);
            snprintf(it->choice[i][ZH], sizeof(it->choice[i][ZH]), "%ld 或更多", rg[i].lo);
        } else {
            snprintf(it->choice[i][EN], sizeof(it->choice[i][EN]), "%ld to %ld", rg[i].lo,
                     rg[i].hi);
            snprintf(it->choice[i][ZH], sizeof(it->choice[i][ZH]), "%ld 到 %ld", rg[i].lo,
                     rg[i].hi);
        }
    }
    return k;
}

/* Fill the item's choices from the live run. The count (fewer than 2: do not ask). */
static int make_choices(struct predict_item *it, const struct run *r, const struct lesson_ctx *c,
                        struct subst *s)
{
    const struct model *m = &r->model;
    const struct model_obj *o = it->obj < m->nobjs ? &m->objs[it->obj] : NULL;
    switch (it->q->kind) {
    case LQ_BLOCKS:
        set_choice(it, 0, 1, s, "{task} blocks in {call}", "{task} 在 {call} 中阻塞");
        set_choice(it, 1, 0, s, "{task} goes on without waiting", "{task} 不用等待，继续执行");
        return 2;
    case LQ_VALUE:
        return o ? choices_value(it, o) : 0;
    case LQ_WAKES:
        return choices_waiters(it, m, s, "{target} gets through", "{target} 得以继续",
                               "nobody: all stay blocked", "没有：全都继续阻塞");
    case LQ_HOLDER:
        return choices_holder(it, m, s);
    case LQ_WAITING:
        return choices_waiting(it, m);
    case LQ_STATE:
        return it->target != MODEL_NO_TASK ? choices_state(it, s) : 0;
    case LQ_SOCK:
        return o && o->kind == OK_SOCKET ? choices_sock(it) : 0;
    case LQ_TIMEWAIT:
        return choices_timewait(it, m);
    case LQ_PPID:
        return it->target != MODEL_NO_TASK ? choices_ppid(it, r) : 0;
    case LQ_KEY:
        return choices_key(it, c);
    }
    return 0;
}

/* ---- asking ---- */

static void reveal(struct run *r, int i, int correct, const char *void_why);

static const char *const LETTERS = "ABCD";

static void fill_subst(struct subst *s, const struct run *r, const struct predict_item *it,
                       int lang, char *call, size_t calln)
{
    const struct model *m = &r->model;
    memset(s, 0, sizeof(*s));
    s->task = it->task_name;
    s->obj = it->obj_name;
    s->target = it->target_name;
    const char *zh = NULL;
    char zh_buf[160];
    if (it->call_label[0] && lang == ZH)
        zh = phrase_in(it->call_label, 1, zh_buf, sizeof(zh_buf));
    if (it->call_label[0])
        snprintf(call, calln, "%s", zh ? zh : it->call_label);
    else
        narrate_call(m, it->kind, it->obj, it->val, call, calln);
    s->call = call;
    if (it->obj < m->nobjs)
        snprintf(s->value, sizeof(s->value), "%ld", obj_number(&m->objs[it->obj], it->q->field));
    waiters_text(m, it->obj, lang, s->waiters, sizeof(s->waiters));
}

static json_t *choices_json(const struct predict_item *it, int lang)
{
    json_t *a = json_array();
    for (int i = 0; i < it->nchoices; i++) {
        char b[128];
        snprintf(b, sizeof(b), "%c: %s", LETTERS[i], it->choice[i][lang]);
        json_array_append_new(a, json_string(b));
    }
    return a;
}

static json_t *letter(int i)
{
    char b[2] = {i >= 0 && i < 4 ? LETTERS[i] : '?', 0};
    return i >= 0 ? json_string(b) : json_null();
}

static void emit(unsigned kind, int64_t val, int64_t item, int64_t aux)
{
    instr_emit((uint16_t)kind, EV_NO_OBJ, val, item, aux);
}

/* Does question q apply to the action about to be let through? */
static int applies(const struct lesson_q *q, const struct lesson_ctx *c)
{
    if (q->role && !(c->t && strncmp(c->t->name, q->role, strlen(q->role)) == 0))
        return 0;
    if (q->ev != LESSON_NO_EV && q->ev != c->w->kind)
        return 0;
    if (q->obj && !(c->o && lesson_name_matches(q->obj, c->o->name)))
        return 0;
    return !q->when || q->when(c);
}

/* Make item it for question q about waiter w; 0 when it can be asked, -1 when not. */
static int prepare(struct predict_item *it, const struct lesson_q *q, const struct run *r,
                   const struct lesson_ctx *c)
{
    const struct model *m = &r->model;
    memset(it, 0, sizeof(*it));
    it->q = q;
    it->answer = it->correct = -1;
    it->slot = c->w->slot;
    it->kind = c->w->kind;
    it->val = c->w->val;
    it->task = (uint32_t)(c->t - m->tasks);
    it->obj = c->o ? (uint32_t)(c->o - m->objs) : EV_NO_OBJ;
    it->target = MODEL_NO_TASK;
    if (q->kind == LQ_STATE || q->kind == LQ_PPID)
        it->target = task_named(m, q->target, it->task);
    if (q->target && (q->kind == LQ_VALUE || q->kind == LQ_SOCK || q->kind == LQ_WAITING ||
                      q->kind == LQ_HOLDER || q->kind == LQ_WAKES || q->kind == LQ_BLOCKS)) {
        uint32_t id;
        it->obj = objects_named(m, q->target, q->kind == LQ_SOCK, &id, 1) ? id : EV_NO_OBJ;
    }
    if (it->kind == EV_BLOCK) /* a blocking call the scenario names: "Thread-1.join()" */
        run_gate_label(r, (uint32_t)it->slot, it->kind, it->call_label, sizeof(it->call_label));
    snprintf(it->task_name, sizeof(it->task_name), "%s", c->t->name);
    snprintf(it->obj_name, sizeof(it->obj_name), "%s", obj_name(m, it->obj));
    if (it->target != MODEL_NO_TASK)
        snprintf(it->target_name, sizeof(it->target_name), "%s", m->tasks[it->target].name);
    struct subst s;
    char call[96];
    fill_subst(&s, r, it, EN, call, sizeof(call));
    it->nchoices = make_choices(it, r, c, &s);
    if (it->nchoices < 2)
        return -1;
    for (int lang = EN; lang <= ZH; lang++) {
        fill_subst(&s, r, it, lang, call, sizeof(call));
        expand(&s, lang == EN ? q->q_en : q->q_zh, it->text[lang], sizeof(it->text[lang]));
    }
    return 0;
}

/* Ask question q about the waiter in c: the item opens, the step is held. */
static void ask(struct run *r, const struct lesson_q *q, const struct lesson_ctx *c)
{
    struct lesson_run *lr = r->lesson;
    struct predict_item *it = &lr->items[lr->nitems];
    if (prepare(it, q, r, c) < 0)
        return;
    it->n = (int)lr->nitems + 1;
    it->state = PS_ASKING;
    it->ask_steps = r->steps;
    lr->times[q - lr->l->qs]++;
    lr->asking = (int)lr->nitems++;
    emit(EV_PREDICT_ASK, it->nchoices, it->n, q - lr->l->qs);
    int lang = r->ctx.lang == LANG_ZH ? ZH : EN;
    char id[96];
    snprintf(id, sizeof(id), "%s/%s", lr->l->id, q->id);
    push_out(lr, json_pack("{s:s, s:i, s:s, s:s, s:s, s:o}", "predict", "question", "n", it->n,
                           "id", id, "task", it->task_name, "text", it->text[lang], "choices",
                           choices_json(it, lang)));
}

/* Ask the first question of the lesson that applies to waiter w (in c); 1 when one did. */
static int ask_first(struct run *r, const struct run_waiter *w)
{
    struct lesson_run *lr = r->lesson;
    if (!lr->predict || lr->nitems >= PREDICT_MAX_ITEMS || w->slot <= 0)
        return 0;
    const struct model *m = &r->model;
    uint32_t idx = model_task_by_slot(m, (uint32_t)w->slot);
    if (idx == MODEL_NO_TASK)
        return 0;
    struct lesson_ctx c = {r, m, w, &m->tasks[idx], w->obj < m->nobjs ? &m->objs[w->obj] : NULL};
    uint64_t at = w->ticket << 16 | (uint64_t)(w->slot & 0xffff);
    int first = -1;
    for (size_t i = 0; i < lr->l->nqs; i++) { /* every question counts the moment... */
        const struct lesson_q *q = &lr->l->qs[i];
        if (lr->times[i] >= (q->times ? q->times : 1) || !applies(q, &c))
            continue;
        if (lr->seen_at[i] != at) { /* once, however often it is looked at */
            lr->seen_at[i] = at;
            lr->seen[i]++;
        }
        if (lr->seen[i] > q->skip && first < 0)
            first = (int)i;
    }
    if (first >= 0) /* ... and the first one due is asked */
        ask(r, &lr->l->qs[first], &c);
    return lr->asking >= 0;
}

/* Stepping by hand: once a step has settled, a question about the action the next step would
 * let through is asked at once, so the class sees it before anything gives the answer away. */
static void peek(struct run *r)
{
    struct run_waiter w[1];
    if (r->mode == RUN_RUN || r->lesson->asking >= 0 || r->lesson->await >= 0 ||
        run_waiters(r, w, 1) == 0)
        return;
    ask_first(r, &w[0]);
}

int lesson_run_before_grant(struct run *r, const struct run_waiter *w)
{
    struct lesson_run *lr = r->lesson;
    if (!lr)
        return 0;
    if (lr->asking >= 0)
        return 1; /* the class has not answered */
    if (lr->await >= 0) {
        struct predict_item *it = &lr->items[lr->await];
        if (it->granted)
            return 1; /* its action has not settled: what it shows comes first */
        if (w->slot == it->slot) {
            it->granted = 1;
            it->grant_steps = r->steps + 1;
            return 0;
        }
        reveal(r, lr->await, -1, "Another task moved first: the question no longer applies.");
    }
    return ask_first(r, w);
}

/* ---- revealing ---- */

static json_t *fact_task(const struct model *m, uint32_t idx, const char *key, json_t *value)
{
    return json_pack("{s:s, s:s, s:o}", "task", m->tasks[idx].name, "key", key, "value", value);
}

static json_t *fact_obj(const struct model *m, uint32_t id, const char *key, json_t *value)
{
    return json_pack("{s:s, s:s, s:o}", "object", m->objs[id].name, "key", key, "value", value);
}

static int find_value(const struct predict_item *it, long v)
{
    for (int i = 0; i < it->nchoices; i++)
        if (it->value[i] == v)
            return i;
    return -1;
}

/* LQ_WAKES: the first listed waiter no longer blocked on the object ("nobody" if none). */
static int eval_wakes(struct predict_item *it, const struct model *m)
{
    int nobody = -1;
    for (int i = 0; i < it->nchoices; i++) {
        if (it->value[i] < 0) {
            nobody = i;
            continue;
        }
        const struct model_task *t = &m->tasks[it->value[i]];
        if (t->state != TS_BLOCKED || t->blocked_on != it->obj) {
            json_array_append_new(it->facts,
                                  fact_task(m, (uint32_t)it->value[i], "blocked_on", json_null()));
            return i;
        }
    }
    for (int i = 0; i < it->nchoices; i++)
        if (it->value[i] >= 0) {
            char label[80];
            model_blocked_label(m, &m->tasks[it->value[i]], label, sizeof(label));
            json_array_append_new(
                it->facts, fact_task(m, (uint32_t)it->value[i], "blocked_on", json_string(label)));
        }
    return nobody;
}

static int eval_state(struct predict_item *it, const struct model *m)
{
    const struct model_task *t = &m->tasks[it->target];
    int cat = state_cat(t), c = find_value(it, cat);
    json_t *in = cat_states(cat);
    if (c < 0 && cat == 1 && (c = find_value(it, 0)) >= 0) { /* asleep: alive, when that is */
        json_t *alive = cat_states(0);                       /* all the choices ask */
        json_array_extend(in, alive);
        json_decref(alive);
    }
    json_array_append_new(it->facts,
                          json_pack("{s:s, s:s, s:o}", "task", t->name, "key", "state", "in", in));
    return c;
}

static int eval_sock(struct predict_item *it, const struct model *m)
{
    const char *word = sock_word(&m->objs[it->obj]);
    json_array_append_new(it->facts, fact_obj(m, it->obj, "state", json_string(word)));
    for (int i = 0; i < it->nchoices; i++)
        if (strcmp(it->choice[i][EN], word) == 0)
            return i;
    return -1;
}

/* LQ_TIMEWAIT: -2 while no listed socket is in TIME-WAIT (and the run goes on). */
static int eval_timewait(struct predict_item *it, const struct model *m, int at_end)
{
    for (int i = 0; i < it->nchoices; i++) {
        if (it->value[i] < 0)
            continue;
        const struct model_obj *o = &m->objs[it->value[i]];
        if (o->in_kernel && o->tcp_state == 6) {
            json_array_append_new(
                it->facts, fact_obj(m, (uint32_t)it->value[i], "state", json_string("TIME-WAIT")));
            return i;
        }
    }
    return at_end ? find_value(it, -1) : -2;
}

/* The choice whose range holds x, or -1. */
static int range_of(const struct predict_item *it, long x)
{
    for (int i = 0; i < it->nchoices; i++)
        if (x >= it->range[i].lo && x <= it->range[i].hi)
            return i;
    return -1;
}

/* LQ_KEY: what the scenario's snapshot says under the key (a dotted path, "handled.SIGHUP"):
 * a number (the choice whose range holds it; a real is cut to a whole number, or counted in
 * percent when the question's field is "percent"), a word (the choice
 * that says it), or an array of numbers (their sum). A number in the path indexes an array. */
static int eval_key(struct predict_item *it, struct run *r)
{
    json_t *extra = json_object(), *v = extra;
    if (r->sc->snapshot)
        r->sc->snapshot(&r->ctx, &r->model, extra);
    char path[64];
    snprintf(path, sizeof(path), "%s", it->q->target);
    for (char *save = NULL, *k = strtok_r(path, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_is_array(v) ? json_array_get(v, (size_t)atol(k)) : json_object_get(v, k);
    int found = -1;
    const char *key = it->q->target;
    if (json_is_string(v)) {
        for (int i = 0; i < it->nchoices && found < 0; i++)
            if (strcmp(it->choice[i][EN], json_string_value(v)) == 0)
                found = i;
        json_array_append_new(it->facts,
                              json_pack("{s:s, s:s}", "key", key, "value", json_string_value(v)));
    } else if (json_is_array(v)) {
        json_int_t sum = 0;
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) sum += json_integer_value(x);
        found = range_of(it, (long)sum);
        json_array_append_new(it->facts, json_pack("{s:s, s:I}", "key", key, "sum", sum));
    } else if (json_is_real(v)) { /* a fraction in percent (field "percent"), else whole */
        int pct = it->q->field && strcmp(it->q->field, "percent") == 0;
        json_int_t x = (json_int_t)(json_real_value(v) * (pct ? 100 : 1) + (pct ? 0.5 : 0));
        found = range_of(it, (long)x);
        json_array_append_new(it->facts, json_pack("{s:s, s:I, s:i}", "key", key, "value", x,
                                                   "scale", pct ? 100 : 1));
    } else if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        found = range_of(it, (long)x);
        json_array_append_new(it->facts, json_pack("{s:s, s:I}", "key", key, "value", x));
    }
    json_decref(extra);
    return found;
}

/* The right choice now, -1 when none fits, -2 when it cannot be told yet. */
static int evaluate(struct predict_item *it, struct run *r, int at_end)
{
    const struct model *m = &r->model;
    const struct model_task *t = &m->tasks[it->task];
    switch (it->q->kind) {
    case LQ_BLOCKS: {
        int blocked = t->state == TS_BLOCKED && t->blocked_on == it->obj;
        char label[80];
        model_blocked_label(m, t, label, sizeof(label));
        json_array_append_new(
            it->facts,
            fact_task(m, it->task, "blocked_on",
                      t->state == TS_BLOCKED && label[0] ? json_string(label) : json_null()));
        return find_value(it, blocked);
    }
    case LQ_VALUE: {
        long v = obj_number(&m->objs[it->obj], it->q->field);
        json_array_append_new(it->facts, fact_obj(m, it->obj, it->q->field ? it->q->field : "value",
                                                  json_integer(v)));
        return find_value(it, v);
    }
    case LQ_WAKES:
        return eval_wakes(it, m);
    case LQ_HOLDER: {
        uint32_t h = m->objs[it->obj].holder;
        int held = h < m->ntasks;
        json_array_append_new(
            it->facts,
            fact_obj(m, it->obj, "holder", held ? json_string(m->tasks[h].name) : json_null()));
        return find_value(it, held ? (long)h : -1);
    }
    case LQ_WAITING: {
        long n = (long)model_waiters(m, it->obj, NULL, 0);
        json_array_append_new(it->facts,
                              json_pack("{s:s, s:s, s:I}", "object", m->objs[it->obj].name, "key",
                                        "waiting_count", "value", (json_int_t)n));
        return find_value(it, n);
    }
    case LQ_STATE:
        return eval_state(it, m);
    case LQ_SOCK:
        return eval_sock(it, m);
    case LQ_TIMEWAIT:
        return eval_timewait(it, m, at_end);
    case LQ_PPID:
        if (it->q->resolve == LR_UNTIL && !at_end && m->tasks[it->target].ppid == it->value[0])
            return -2; /* the parent it had when asked: the change has not come yet */
        json_array_append_new(
            it->facts, fact_task(m, it->target, "ppid", json_integer(m->tasks[it->target].ppid)));
        return find_value(it, m->tasks[it->target].ppid);
    case LQ_KEY:
        return at_end || it->q->resolve != LR_END ? eval_key(it, r) : -2;
    }
    return -1;
}

static void write_why(struct predict_item *it, const struct run *r)
{
    /* the other text: "nobody" / "neither" for the kinds that offer it, else any choice but
     * the first */
    int none_kind =
        it->q->kind == LQ_WAKES || it->q->kind == LQ_HOLDER || it->q->kind == LQ_TIMEWAIT;
    int alt = none_kind ? it->value[it->correct] < 0 : it->correct != 0;
    for (int lang = EN; lang <= ZH; lang++) {
        const char *const *why = lang == EN ? it->q->why_en : it->q->why_zh;
        const char *tmpl = alt && why[1] ? why[1] : why[0];
        struct subst s;
        char call[96];
        fill_subst(&s, r, it, lang, call, sizeof(call));
        s.answer = it->choice[it->correct][lang];
        s.klass = it->answer >= 0 ? it->choice[it->answer][lang] : "-";
        expand(&s, tmpl, it->why[lang], sizeof(it->why[lang]));
    }
}

/* The outcome of item i is known (correct: the right choice, -1: none fits: void). */
static void reveal(struct run *r, int i, int correct, const char *void_why)
{
    struct lesson_run *lr = r->lesson;
    struct predict_item *it = &lr->items[i];
    if (lr->await == i)
        lr->await = -1;
    lr->last = i;
    it->correct = correct;
    if (correct < 0) {
        it->state = PS_VOID;
        for (int lang = EN; lang <= ZH; lang++)
            snprintf(it->why[lang], sizeof(it->why[lang]), "%s", void_why);
    } else {
        it->state = it->answer < 0 ? PS_NONE : it->answer == correct ? PS_RIGHT : PS_WRONG;
        lr->right += it->state == PS_RIGHT;
        lr->wrong += it->state == PS_WRONG;
        write_why(it, r);
    }
    emit(EV_PREDICT_REVEAL, correct, it->n,
         it->state == PS_RIGHT   ? 1
         : it->state == PS_WRONG ? 0
                                 : -1);
    int lang = r->ctx.lang == LANG_ZH ? ZH : EN;
    json_t *line = json_pack("{s:s, s:i, s:o, s:o, s:s}", "predict",
                             correct < 0 ? "void" : "reveal", "n", it->n, "answer",
                             letter(it->answer), "correct", letter(correct), "why", it->why[lang]);
    char id[96];
    snprintf(id, sizeof(id), "%s/%s", lr->l->id, it->q->id);
    json_object_set_new(line, "id", json_string(id));
    if (correct >= 0) {
        json_object_set_new(line, "right", json_boolean(it->state == PS_RIGHT));
        json_object_set_new(line, "facts", json_incref(it->facts));
    }
    push_out(lr, line);
}

/* Try to reveal item i; at_end: the run is over. */
static void try_reveal(struct run *r, int i, int at_end)
{
    struct predict_item *it = &r->lesson->items[i];
    json_decref(it->facts);
    it->facts = json_array();
    int c = evaluate(it, r, at_end);
    if (c == -2 && !at_end)
        return;
    reveal(r, i, c < 0 ? -1 : c,
           c == -2 ? "The run ended before it could show the answer."
                   : "What happened is none of the choices.");
}

void lesson_run_settled(struct run *r)
{
    struct lesson_run *lr = r->lesson;
    if (!lr)
        return;
    int last = lr->last;
    for (size_t i = 0; i < lr->nitems; i++) {
        struct predict_item *it = &lr->items[i];
        if (it->state != PS_WAITING)
            continue;
        if (it->q->resolve == LR_NEXT && it->granted && r->steps >= it->grant_steps)
            try_reveal(r, (int)i, 0);
        else if (it->q->resolve == LR_UNTIL && it->granted)
            try_reveal(r, (int)i, 0);
    }
    if (lr->last == last) /* an answer just shown stays until the next step is asked for */
        peek(r);
}

int lesson_run_end(struct run *r)
{
    struct lesson_run *lr = r->lesson;
    if (!lr)
        return 0;
    int emitted = 0;
    for (size_t i = 0; i < lr->nitems; i++) {
        struct predict_item *it = &lr->items[i];
        if (it->state == PS_ASKING || (it->state == PS_WAITING && !it->granted)) {
            reveal(r, (int)i, -1, "The run ended before its action happened.");
        } else if (it->state == PS_WAITING && r->finished != 1) {
            reveal(r, (int)i, -1, "The run was cut short before it could show the answer.");
        } else if (it->state == PS_WAITING) {
            try_reveal(r, (int)i, 1);
        } else {
            continue;
        }
        emitted = 1;
    }
    lr->asking = lr->await = -1;
    return emitted;
}

/* ---- the keys and commands ---- */

int predict_on(const struct run *r)
{
    return r->lesson && r->lesson->predict;
}

int predict_set(struct run *r, int on)
{
    struct lesson_run *lr = r->lesson;
    if (!lr)
        return -1;
    lr->predict = on;
    if (!on && lr->asking >= 0) {
        int i = lr->asking;
        lr->asking = -1;
        reveal(r, i, -1, "Predict mode was turned off.");
    }
    return 0;
}

const struct predict_item *predict_asking(const struct run *r)
{
    return r->lesson && r->lesson->asking >= 0 ? &r->lesson->items[r->lesson->asking] : NULL;
}

const struct predict_item *predict_last(const struct run *r)
{
    return r->lesson && r->lesson->last >= 0 ? &r->lesson->items[r->lesson->last] : NULL;
}

int predict_open_count(const struct run *r)
{
    int n = 0;
    for (size_t i = 0; r->lesson && i < r->lesson->nitems; i++)
        n += r->lesson->items[i].state == PS_WAITING;
    return n;
}

void predict_tally(const struct run *r, int *right, int *wrong, int *asked)
{
    const struct lesson_run *lr = r->lesson;
    *right = lr ? lr->right : 0;
    *wrong = lr ? lr->wrong : 0;
    *asked = lr ? (int)lr->nitems : 0;
}

int predict_answer(struct run *r, int choice)
{
    struct lesson_run *lr = r->lesson;
    if (!lr || lr->asking < 0)
        return -1;
    struct predict_item *it = &lr->items[lr->asking];
    if (choice < 0 || choice >= it->nchoices)
        return -1;
    it->answer = choice;
    return 0;
}

int predict_vote(struct run *r, int choice, int count)
{
    struct lesson_run *lr = r->lesson;
    if (!lr || lr->asking < 0 || count < 0)
        return -1;
    struct predict_item *it = &lr->items[lr->asking];
    if (choice < 0 || choice >= it->nchoices)
        return -1;
    it->votes[choice] = count;
    it->voted = 1;
    int best = -1;
    for (int i = 0; i < it->nchoices; i++)
        if (it->votes[i] > 0 && (best < 0 || it->votes[i] > it->votes[best]))
            best = i;
    it->answer = best;
    return 0;
}

int predict_reveal(struct run *r)
{
    struct lesson_run *lr = r->lesson;
    if (!lr || lr->asking < 0)
        return -1;
    int i = lr->asking;
    struct predict_item *it = &lr->items[i];
    lr->asking = -1;
    it->state = PS_WAITING;
    int votes = 0;
    for (int k = 0; k < it->nchoices; k++)
        votes += it->votes[k];
    emit(EV_PREDICT_ANSWER, it->answer, it->n, votes);
    if (it->q->resolve == LR_NEXT)
        lr->await = i; /* revealed once its action has settled */
    else
        it->granted = 1; /* revealed when it shows, or at the end */
    return it->slot;
}

int predict_busy(const struct run *r)
{
    const struct lesson_run *lr = r->lesson;
    return lr && lr->await >= 0 && lr->items[lr->await].granted;
}

void predict_free_items(struct lesson_run *lr)
{
    for (size_t i = 0; i < lr->nitems; i++)
        json_decref(lr->items[i].facts);
}

/* ---- the snapshot's "predict" ---- */

static const char *state_word(enum predict_state s)
{
    static const char *const W[] = {"asking", "waiting", "right", "wrong", "unanswered", "void"};
    return W[s];
}

json_t *predict_json(const struct run *r)
{
    const struct lesson_run *lr = r->lesson;
    int lang = r->ctx.lang == LANG_ZH ? ZH : EN;
    json_t *qs = json_array();
    int counts[6] = {0};
    for (size_t i = 0; i < lr->nitems; i++) {
        const struct predict_item *it = &lr->items[i];
        counts[it->state]++;
        char id[96];
        snprintf(id, sizeof(id), "%s/%s", lr->l->id, it->q->id);
        json_t *votes = json_array();
        for (int k = 0; k < it->nchoices; k++)
            json_array_append_new(votes, json_integer(it->votes[k]));
        json_t *q = json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:s}", "n", it->n, "id", id,
                              "text", it->text[lang], "choices", choices_json(it, lang), "answer",
                              letter(it->answer), "votes", votes, "correct", letter(it->correct),
                              "state", state_word(it->state));
        if (it->correct >= 0 || it->state == PS_VOID)
            json_object_set_new(q, "why", json_string(it->why[lang]));
        json_array_append_new(qs, q);
    }
    int scored = lr->right + lr->wrong;
    json_t *o = json_pack("{s:b, s:i, s:i, s:i, s:i, s:i, s:i}", "on", lr->predict, "asked",
                          (int)lr->nitems, "right", lr->right, "wrong", lr->wrong, "unanswered",
                          counts[PS_NONE], "void", counts[PS_VOID], "open",
                          counts[PS_ASKING] + counts[PS_WAITING]);
    json_object_set_new(o, "score_pct",
                        scored ? json_integer(lr->right * 100 / scored) : json_null());
    json_object_set_new(o, "questions", qs);
    return o;
}
