/*
 * event.c - names of event kinds, sources, task states and object kinds.
 *
 * The tables come from the X-macros in event.h, so a new kind is named in one place.
 */
#include "event.h"

#include <string.h>

static const char *const kind_names[] = {
#define EV_NAME(e, s) s,
    EV_KINDS(EV_NAME)
#undef EV_NAME
};

static const char *const src_names[] = {"instr", "bpf", "procfs"};

static const char *const state_names[] = {"new",    "ready",  "running", "blocked",
                                          "zombie", "exited", "reaped",  "gate"};

static const char *const okind_names[] = {
#define OK_NAME(e, s, p) s,
    OBJ_KINDS(OK_NAME)
#undef OK_NAME
};

static const char *const okind_prefixes[] = {
#define OK_PREFIX(e, s, p) p,
    OBJ_KINDS(OK_PREFIX)
#undef OK_PREFIX
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int index_of(const char *const *names, unsigned n, const char *name)
{
    if (!name)
        return -1;
    for (unsigned i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

const char *ev_kind_name(unsigned kind)
{
    return kind < COUNT(kind_names) ? kind_names[kind] : NULL;
}

int ev_kind_from_name(const char *name)
{
    return index_of(kind_names, COUNT(kind_names), name);
}

const char *ev_src_name(unsigned src)
{
    return src < COUNT(src_names) ? src_names[src] : NULL;
}

int ev_src_from_name(const char *name)
{
    return index_of(src_names, COUNT(src_names), name);
}

const char *task_state_name(unsigned st)
{
    return st < COUNT(state_names) ? state_names[st] : NULL;
}

int task_state_from_name(const char *name)
{
    return index_of(state_names, COUNT(state_names), name);
}

const char *obj_kind_name(unsigned kind)
{
    return kind < COUNT(okind_names) ? okind_names[kind] : NULL;
}

const char *obj_kind_prefix(unsigned kind)
{
    return kind < COUNT(okind_prefixes) ? okind_prefixes[kind] : NULL;
}

int obj_kind_from_name(const char *name)
{
    return index_of(okind_names, COUNT(okind_names), name);
}
