/*
 * scenario.c - finding scenarios, chapter titles, parameter parsing, and the helpers a
 * scenario's snapshot uses to say its result (meters).
 *
 * Parameters are validated here once, so every front end (command line, picker) gives the
 * same message: which key or value was wrong and what would be accepted.
 */
#define _GNU_SOURCE
#include "scenario.h"

#include "scenarios/exec.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const chapter_titles[][2] = {
    {"Your program", "你的程序"},
    {"Network layers", "网络分层"},
    {"TCP", "TCP"},
    {"UDP", "UDP"},
    {"IO multiplexing", "IO 多路复用"},
    {"Processes", "进程"},
    {"Inter-process communication", "进程间通信"},
    {"Synchronisation and mutual exclusion", "同步和互斥"},
    {"Threads", "线程"},
    {"Thread communication", "线程的通信"},
    {"Concurrency and parallelism", "并发与并行"},
    {"Server classes", "服务器类"},
};

const char *scenario_chapter_title(int chapter, int lang)
{
    int n = (int)(sizeof(chapter_titles) / sizeof(chapter_titles[0]));
    if (chapter < 0 || chapter >= n)
        return NULL;
    return chapter_titles[chapter][lang == LANG_ZH ? 1 : 0];
}

const struct scenario *scenario_find(const char *id)
{
    for (size_t i = 0; i < scenario_count; i++)
        if (strcmp(scenario_table[i]->id, id) == 0)
            return scenario_table[i];
    return NULL;
}

const struct scenario *scenario_find_recorded(const char *id)
{
    if (id && strcmp(id, scenario_exec.id) == 0)
        return &scenario_exec;
    return id ? scenario_find(id) : NULL;
}

void scenario_defaults(const struct scenario *sc, long *values)
{
    for (size_t i = 0; i < sc->nparams && i < SCN_MAX_PARAMS; i++)
        values[i] = sc->params[i].def;
}

static void list_keys(const struct scenario *sc, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sc->nparams && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s (%ld..%ld)", i ? ", " : "",
                                 sc->params[i].key, sc->params[i].min, sc->params[i].max);
    if (!sc->nparams)
        snprintf(buf, n, "none");
}

int scenario_parse_param(const struct scenario *sc, const char *kv, long *values, char *err,
                         size_t n)
{
    char keys[512];
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        list_keys(sc, keys, sizeof(keys));
        snprintf(err, n, "--param '%s': expected KEY=VALUE; %s accepts: %s", kv, sc->id, keys);
        return -1;
    }
    size_t klen = (size_t)(eq - kv);
    for (size_t i = 0; i < sc->nparams; i++) {
        const struct scenario_param *p = &sc->params[i];
        if (strlen(p->key) != klen || strncmp(p->key, kv, klen) != 0)
            continue;
        const char *v = eq + 1;
        char *end;
        errno = 0;
        long val = strtol(v, &end, 10);
        if (!*v || *end || errno) {
            snprintf(err, n, "--param %s: '%s' is not a whole number; expected %ld..%ld", p->key, v,
                     p->min, p->max);
            return -1;
        }
        if (val < p->min || val > p->max) {
            snprintf(err, n, "--param %s=%ld is out of range; expected %ld..%ld", p->key, val,
                     p->min, p->max);
            return -1;
        }
        values[i] = val;
        return 0;
    }
    list_keys(sc, keys, sizeof(keys));
    snprintf(err, n, "--param: %s has no parameter '%.*s'; it accepts: %s", sc->id, (int)klen, kv,
             keys);
    return -1;
}

long scn_param(const struct scn_ctx *ctx, const char *key)
{
    for (size_t i = 0; i < ctx->sc->nparams; i++)
        if (strcmp(ctx->sc->params[i].key, key) == 0)
            return ctx->param[i];
    return 0;
}

void scn_meter(json_t *out, const char *label, double value, double max, const char *fmt, ...)
{
    char text[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_t *arr = json_object_get(out, "meters");
    if (!arr) {
        arr = json_array();
        json_object_set_new(out, "meters", arr);
    }
    json_array_append_new(arr, json_pack("{s:s, s:f, s:f, s:s}", "label", label, "value", value,
                                         "max", max, "text", text));
}

const char *scn_signal_names(uint64_t mask, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int sig = 1; sig <= 64 && used < n; sig++) {
        if (!(mask & (1ull << (sig - 1))))
            continue;
        const char *name = sigabbrev_np(sig);
        used += (size_t)snprintf(buf + used, n - used, "%s%s", used ? " " : "", name ? name : "?");
    }
    if (!buf[0])
        snprintf(buf, n, "—");
    return buf;
}

int scn_workers_ended_well(const struct model *m, char *why, size_t n)
{
    for (size_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        if (!t->has_exit || t->exit_status == 0)
            continue;
        if (t->exit_status > 128 && t->exit_status < 128 + 65)
            snprintf(why, n, "%s was killed by SIG%s (status %d) before the lesson ended", t->name,
                     sigabbrev_np(t->exit_status - 128) ? sigabbrev_np(t->exit_status - 128) : "?",
                     (int)t->exit_status);
        else
            snprintf(why, n, "%s exited with status %d", t->name, (int)t->exit_status);
        return -1;
    }
    return 0;
}
