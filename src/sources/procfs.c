/*
 * procfs.c - sampling task state, parent, wchan and signal masks from /proc.
 *
 * Reads are cheap single-shot file reads; the sampler emits an event only when something
 * changed, so an idle run costs little. /proc's state cannot tell ready from running (both
 * are R): a task in R is reported running, and the UI says the source. Without the probes
 * the kernel's own totals are read too (schedstat: time on a CPU and time waiting on a run
 * queue), so the times in each state still split running from ready.
 */
#define _GNU_SOURCE
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SAMPLE_MAX 128  /* tasks read per call */
#define SIGMASK_EVERY 3 /* signal masks every third call */

static ssize_t read_small(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t got = read(fd, buf, n - 1);
    int err = errno;
    close(fd);
    if (got < 0)
        return -err;
    buf[got] = '\0';
    return got;
}

int procfs_runnable_now(void)
{
    char buf[128];
    ssize_t got = read_small("/proc/loadavg", buf, sizeof(buf));
    if (got < 0)
        return (int)got;
    int running;
    return sscanf(buf, "%*s %*s %*s %d/", &running) == 1 ? running : -EINVAL;
}

int procfs_futex_word(pid_t pid, pid_t tid, uintptr_t *word)
{
    char path[64], buf[256], *end;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
    if (read_small(path, buf, sizeof(buf)) <= 0)
        return 0;
    long nr = strtol(buf, &end, 10); /* "202 0x7f3a5c0010a0 0x80 ..." ("running" when not in one) */
    if (end == buf || nr != SYS_futex)
        return 0;
    char *arg = end;
    unsigned long long w = strtoull(arg, &end, 16);
    if (end == arg)
        return 0;
    *word = (uintptr_t)w;
    return 1;
}

int procfs_read_stat(pid_t pid, pid_t tid, struct procfs_stat *out)
{
    char path[64], buf[1024];
    if (tid > 0)
        snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    else
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    ssize_t got = read_small(path, buf, sizeof(buf));
    if (got < 0)
        return (int)got;

    /* the command may hold spaces and parentheses: parse after the last ')' */
    char *p = strrchr(buf, ')');
    if (!p || p[1] == '\0')
        return -EINVAL;
    p += 2;
    memset(out, 0, sizeof(*out));
    out->state = *p;

    /* fields from 3 (state) on; utime is 14, stime 15, processor 39 */
    char *save = NULL;
    int field = 3;
    for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
        if (field == 4)
            out->ppid = atoi(tok);
        else if (field == 5)
            out->pgid = atoi(tok);
        else if (field == 14)
            out->utime = strtoull(tok, NULL, 10);
        else if (field == 15)
            out->stime = strtoull(tok, NULL, 10);
        else if (field == 39) {
            out->cpu = atoi(tok);
            break;
        }
    }
    return 0;
}

int procfs_ours(void)
{
    char buf[32];
    ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return atoi(buf) == (int)getpid();
}

int procfs_state_of(char letter)
{
    switch (letter) {
    case 'R':
        return TS_RUNNING;
    case 'S':
    case 'D':
    case 'T':
    case 't':
    case 'I':
    case 'P':
        return TS_BLOCKED;
    case 'Z':
        return TS_ZOMBIE;
    default:
        return TS__COUNT;
    }
}

static void read_wchan(struct model_task *t)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)t->pid, (int)t->tid);
    if (read_small(path, t->wchan, sizeof(t->wchan)) < 0 || strcmp(t->wchan, "0") == 0)
        t->wchan[0] = '\0';
}

static uint64_t hex_field(const char *status, const char *key)
{
    const char *p = strstr(status, key);
    return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

static void read_sigmasks(struct model_task *t)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)t->pid, (int)t->tid);
    if (read_small(path, buf, sizeof(buf)) < 0)
        return;
    t->sigpnd = hex_field(buf, "\nSigPnd:\t") | hex_field(buf, "\nShdPnd:\t");
    t->sigblk = hex_field(buf, "\nSigBlk:\t");
    t->sigign = hex_field(buf, "\nSigIgn:\t");
    t->sigcgt = hex_field(buf, "\nSigCgt:\t");
}

static int grow_cache(struct procfs_cache *c, size_t need)
{
    if (need <= c->cap)
        return 0;
    size_t ncap = c->cap ? c->cap * 2 : 64;
    while (ncap < need)
        ncap *= 2;
    char *l = realloc(c->letter, ncap);
    if (!l)
        return -ENOMEM;
    c->letter = l;
    int32_t *pp = realloc(c->ppid, ncap * sizeof(*pp));
    if (!pp)
        return -ENOMEM;
    c->ppid = pp;
    uint64_t(*ks)[2] = realloc(c->ks, ncap * sizeof(*ks));
    if (!ks)
        return -ENOMEM;
    c->ks = ks;
    memset(c->letter + c->cap, 0, ncap - c->cap);
    memset(c->ppid + c->cap, 0, (ncap - c->cap) * sizeof(*pp));
    memset(c->ks + c->cap, 0, (ncap - c->cap) * sizeof(*ks));
    c->cap = ncap;
    return 0;
}

/* The sampler reading its own stat always sees itself running. For its own task, judge by
 * the share of CPU time it used since the last look instead (schedstat: ns on a CPU). */
static void self_state(struct procfs_cache *c, uint64_t now, struct procfs_stat *st)
{
    char buf[128];
    uint64_t run_ns = 0;
    if (read_small("/proc/thread-self/schedstat", buf, sizeof(buf)) > 0)
        run_ns = strtoull(buf, NULL, 10);
    int busy =
        c->self_at_ns && now > c->self_at_ns && (run_ns - c->self_run_ns) * 2 > now - c->self_at_ns;
    st->state = busy ? 'R' : 'S';
    c->self_run_ns = run_ns;
    c->self_at_ns = now;
}

/* Without the probes: the kernel's run and run-queue totals for the task (schedstat), reported
 * when they moved by a millisecond or more, or at a settled look when they moved at all. */
static void sched_times(const struct model_task *t, struct procfs_cache *c, uint32_t i,
                        const struct ev *base, procfs_emit_fn emit, void *arg)
{
    char path[64], buf[128];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)t->pid, (int)t->tid);
    unsigned long long run, wait, slices;
    if (read_small(path, buf, sizeof(buf)) <= 0 ||
        sscanf(buf, "%llu %llu %llu", &run, &wait, &slices) != 3)
        return;
    uint64_t moved = (run - c->ks[i][0]) + (wait - c->ks[i][1]);
    if (run < c->ks[i][0] || wait < c->ks[i][1] || moved == 0 || (moved < 1000000 && !c->settled))
        return;
    c->ks[i][0] = run;
    c->ks[i][1] = wait;
    struct ev e = *base;
    e.kind = EV_SCHED_TIMES;
    e.val = (int64_t)run;
    e.item = (int64_t)wait;
    e.aux = (int64_t)slices;
    e.extra = 0;
    emit(&e, arg);
}

/* Between two steps, a task /proc no longer has is gone: a thread has exited, a process was
 * reaped (by a parent that told nobody: no other source saw it). */
static void report_gone(const struct model_task *t, uint64_t now, procfs_emit_fn emit, void *arg)
{
    if (t->state == TS_ZOMBIE || t->state == TS_EXITED || t->state == TS_REAPED)
        return;
    struct ev e = {.t = now,
                   .kind = EV_STATE,
                   .src = EV_SRC_PROCFS,
                   .task = t->slot,
                   .pid = t->pid,
                   .tid = t->tid,
                   .obj = EV_NO_OBJ,
                   .val = t->kind == TK_THREAD ? TS_EXITED : TS_REAPED,
                   .aux = -1,
                   .extra = 1};
    emit(&e, arg);
}

static void sample_task(struct model *m, struct procfs_cache *c, uint32_t i, uint64_t now,
                        procfs_emit_fn emit, void *arg)
{
    struct model_task *t = &m->tasks[i];
    struct procfs_stat st;
    if (procfs_read_stat(t->pid, t->tid, &st) < 0) {
        if (c->settled)
            report_gone(t, now, emit, arg);
        return;
    }
    int self = t->tid == (int32_t)gettid();
    if (self)
        self_state(c, now, &st);

    struct ev e = {.t = now,
                   .src = EV_SRC_PROCFS,
                   .task = t->slot,
                   .pid = t->pid,
                   .tid = t->tid,
                   .obj = EV_NO_OBJ};
    int s = procfs_state_of(st.state);
    /* report a new letter, and also a state the model lost track of (a task that keeps
     * acting is marked running by its operations; /proc sees it asleep between them) */
    int drifted = s == TS_BLOCKED && t->state == TS_RUNNING && t->blocked_on == EV_NO_OBJ;
    /* a runnable task the model shows asleep (not at ipcscope's gate, where R is its way out) */
    drifted |= s == TS_RUNNING && (t->state == TS_BLOCKED || t->state == TS_NEW) &&
               t->blocked_on == EV_NO_OBJ;
    /* a settled look (between two steps) is the truth even over the probes, which can miss a
     * switch (a task's first ones, before it was followed) */
    int settled_disagrees =
        c->settled && s != TS__COUNT && t->state != TS_GATE &&
        ((s == TS_BLOCKED && (t->state == TS_RUNNING || t->state == TS_READY)) ||
         (s == TS_RUNNING && t->blocked_on == EV_NO_OBJ &&
          (t->state == TS_BLOCKED || t->state == TS_NEW)));
    if (st.state != c->letter[i] || drifted || settled_disagrees) {
        c->letter[i] = st.state;
        if (s != TS__COUNT) {
            e.kind = EV_STATE;
            e.val = s;
            e.aux = s == TS_RUNNING ? st.cpu : -1;
            e.extra = settled_disagrees; /* the model takes it over the probes' word */
            emit(&e, arg);
        }
    }
    if (t->kind == TK_PROCESS && st.state != 'Z') {
        if (!c->ppid[i])
            c->ppid[i] = t->ppid; /* adopted before the first look: still an adoption */
        if (c->ppid[i] && st.ppid != c->ppid[i]) {
            e.kind = EV_REPARENT;
            e.val = st.ppid;
            e.aux = c->ppid[i];
            emit(&e, arg);
        }
        c->ppid[i] = st.ppid;
    }
    if (self) /* running while it looks: its wchan cannot be read, so none is shown (it said
                 "ep_poll", a name not read from /proc: ps said do_epoll_wait) */
        t->wchan[0] = '\0';
    else if (s == TS_BLOCKED)
        read_wchan(t); /* only a sleeping task has a wchan worth showing */
    else
        t->wchan[0] = '\0';
    if (c->tick % SIGMASK_EVERY == 0)
        read_sigmasks(t);
    if (!self && !(m->src_seen & (1u << EV_SRC_BPF)) && st.state != 'Z')
        sched_times(t, c, i, &e, emit, arg);
}

static void sample_some(struct model *m, struct procfs_cache *cache, uint64_t now,
                        procfs_emit_fn emit, void *arg, uint32_t max)
{
    if (grow_cache(cache, m->ntasks) < 0 || m->ntasks == 0)
        return;
    uint32_t n = (uint32_t)m->ntasks, done = 0, i = cache->cursor % n;
    for (uint32_t k = 0; k < n && done < max; k++, i = (i + 1) % n) {
        const struct model_task *t = &m->tasks[i];
        if (t->pid <= 0 || t->state == TS_REAPED || t->state == TS_EXITED)
            continue;
        sample_task(m, cache, i, now, emit, arg);
        done++;
    }
    cache->cursor = i;
    cache->tick++;
}

void procfs_sample(struct model *m, struct procfs_cache *cache, uint64_t now, procfs_emit_fn emit,
                   void *arg)
{
    /* at most SAMPLE_MAX live tasks per call, round robin: a run of a thousand threads is
     * sampled over several ticks instead of in one burst of system calls */
    /* with the kernel probes on, /proc only adds wchan, parents and signal masks: fewer reads
     * (every task each time up to 32 of them, then 16 a time, a thousand in six seconds) */
    uint32_t max = SAMPLE_MAX;
    if (m->src_seen & (1u << EV_SRC_BPF))
        max = m->ntasks <= 32 ? 32 : 16;
    sample_some(m, cache, now, emit, arg, max);
}

void procfs_sample_all(struct model *m, struct procfs_cache *cache, uint64_t now,
                       procfs_emit_fn emit, void *arg)
{
    cache->tick = 0; /* signal masks too */
    cache->settled = 1;
    sample_some(m, cache, now, emit, arg, UINT32_MAX);
    cache->settled = 0;
}

void procfs_cache_free(struct procfs_cache *cache)
{
    free(cache->letter);
    free(cache->ppid);
    free(cache->ks);
    memset(cache, 0, sizeof(*cache));
}
