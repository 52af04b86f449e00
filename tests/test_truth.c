/*
 * test_truth.c - between two steps, the snapshot says what the kernel says.
 *
 * Every scenario is stepped to its end through the step driver (--script). After each step,
 * while nothing moves, /proc and ss are read here, independently of ipcscope, and compared
 * with the snapshot taken at that moment: each task's state family (R, S/D, Z, gone), its
 * parent, the function a blocked task sleeps in, and each socket's protocol, state and queue
 * lengths (a listener's accept queue). Once with the kernel probes (as root) and once without.
 */
#define _GNU_SOURCE
#include "support.h"

#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_STEPS 150
#define SS_MAX 256

/* Plain arrays: Criterion copies the parameters into another process, where pointers into
 * this one would mean nothing. */
struct truth_case {
    char id[24];
    char params[6][32];
};

/* Every scenario, with parameters small enough to step through. */
static struct truth_case CASES[] = {
    {"prodcons", {"items=6"}},
    {"fork", {"children=2"}},
    {"orphan", {""}},
    {"zombie", {"children=2"}},
    {"states", {"seconds=1"}},
    {"nice", {"duration_ms=300"}},
    {"process-pool", {"workers=2", "tasks=4", "singles=1"}},
    {"pipe", {"total=4096", "rounds=2"}},
    {"message-queue", {"msgs=4"}},
    {"shared-memory", {"procs=2", "increments=20"}},
    {"signals", {""}},
    {"semaphore", {"workers=3", "rounds=1"}},
    {"lock", {"workers=2", "rounds=1", "width=3"}},
    {"tcp-echo", {"messages=2"}},
    {"event", {"waiters=2", "rounds=1"}},
    {"deadlock", {"rounds=1"}},
    {"philosophers", {"philosophers=3", "meals=1"}},
    {"tcp-handshake", {""}},
    {"tcp-teardown", {""}},
    {"threads", {"threads=2"}},
    {"condition", {"items=3"}},
    {"udp-echo", {"clients=1", "messages=2"}},
    {"select-server", {"clients=2", "messages=1"}},
    {"poll-server", {"clients=2", "messages=1"}},
    {"epoll-server", {"clients=2", "messages=1"}},
    {"forking-server", {"clients=2", "messages=1"}},
    {"threading-server", {"clients=2", "messages=1"}},
    {"concurrency", {"work_ms=100"}},
    {"reuseaddr", {""}},
    {"epoll-et-lt", {""}},
    {"udp-broadcast", {"receivers=2", "messages=1"}},
    {"layers", {""}},
    {"http", {"clients=1", "requests=1"}},
};

/* ---- what the kernel says ---- */

struct ss_line {
    char proto[4];
    char state[16];
    long recv_q, send_q;
    char local[48], peer[48];
    long inode; /* ss -e's ino: (0 for a timewait socket, which has no file) */
};

struct ss_table {
    struct ss_line l[SS_MAX];
    int n;
};

/* `ss -Htan` and `ss -Huan`, loopback only. */
static void read_ss(struct ss_table *t)
{
    t->n = 0;
    const char *cmds[2][2] = {{"ss -Htane", "tcp"}, {"ss -Huane", "udp"}};
    for (int c = 0; c < 2; c++) {
        FILE *p = popen(cmds[c][0], "r");
        cr_assert(p, "cannot run %s", cmds[c][0]);
        char buf[512];
        while (fgets(buf, sizeof(buf), p) && t->n < SS_MAX) {
            struct ss_line *l = &t->l[t->n];
            if (sscanf(buf, "%15s %ld %ld %47s %47s", l->state, &l->recv_q, &l->send_q, l->local,
                       l->peer) != 5 ||
                strncmp(l->local, "127.", 4) != 0)
                continue;
            snprintf(l->proto, sizeof(l->proto), "%s", cmds[c][1]);
            const char *ino = strstr(buf, "ino:");
            l->inode = ino ? atol(ino + 4) : 0;
            t->n++;
        }
        pclose(p);
    }
}

static int same_ss(const struct ss_table *a, const struct ss_table *b)
{
    return a->n == b->n && memcmp(a->l, b->l, sizeof(a->l[0]) * (size_t)a->n) == 0;
}

/* ss prints an unconnected peer as "0.0.0.0:*" or "*:*"; the snapshot as "*". */
static int same_end(const char *ss, const char *snap)
{
    if (strcmp(snap, "*") == 0)
        return strchr(ss, '*') != NULL;
    return strcmp(ss, snap) == 0;
}

/* The ss line of a socket: by its inode when the snapshot gives one, else by its ends. */
static const struct ss_line *ss_find(const struct ss_table *t, const char *proto, const char *local,
                                     const char *peer, long inode)
{
    for (int i = 0; i < t->n; i++) {
        if (strcmp(t->l[i].proto, proto) != 0)
            continue;
        if (inode > 0 ? t->l[i].inode == inode
                      : same_end(t->l[i].local, local) && same_end(t->l[i].peer, peer))
            return &t->l[i];
    }
    return NULL;
}

/* 1 when a socket of the snapshot that the kernel has is the one on this ss line. */
static int claimed(json_t *snap, const struct ss_line *l)
{
    json_t *o;
    size_t i;
    json_array_foreach(json_object_get(snap, "objects"), i, o)
    {
        if (strcmp(ts_str(o, "kind"), "socket") || !json_is_true(json_object_get(o, "in_kernel")))
            continue;
        long ino = (long)ts_int(o, "inode");
        if (ino > 0
                ? ino == l->inode
                : same_end(l->local, ts_str(o, "local")) && same_end(l->peer, ts_str(o, "peer")))
            return 1;
    }
    return 0;
}

/* The state letter and parent of a task from /proc (letter 0: gone). */
static char proc_letter(pid_t pid, pid_t tid, pid_t *ppid)
{
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    struct ts_stat st;
    if (ts_stat_path(path, &st) < 0)
        return 0;
    *ppid = st.ppid;
    return st.state;
}

/* The snapshot's state word is consistent with the letter /proc shows. */
static int family_ok(const char *state, char letter)
{
    if (!strcmp(state, "running") || !strcmp(state, "ready"))
        return letter == 'R';
    if (!strcmp(state, "blocked") || !strcmp(state, "gate"))
        return letter == 'S' || letter == 'D';
    if (!strcmp(state, "zombie"))
        return letter == 'Z';
    if (!strcmp(state, "reaped") || !strcmp(state, "exited"))
        return letter == 0 || letter == 'X';
    return 1; /* new: anything */
}

/* ---- one comparison ---- */

struct verdict {
    char why[1024];
    int bad;
};

static void note(struct verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct verdict *v, const char *fmt, ...)
{
    size_t len = strlen(v->why);
    va_list ap;
    va_start(ap, fmt);
    if (len < sizeof(v->why) - 2)
        vsnprintf(v->why + len, sizeof(v->why) - len, fmt, ap);
    va_end(ap);
    v->bad++;
}

static void check_tasks(json_t *snap, pid_t conductor, struct verdict *v)
{
    json_t *t;
    size_t i;
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        pid_t pid = (pid_t)ts_int(t, "pid"), tid = (pid_t)ts_int(t, "tid"), ppid = 0;
        if (pid == conductor || pid <= 0)
            continue; /* the observer: busy answering while /proc is read */
        const char *state = ts_str(t, "state");
        char letter = proc_letter(pid, tid, &ppid);
        if (!family_ok(state, letter))
            note(v, "%s (%d/%d) is %s but /proc says %c; ", ts_str(t, "name"), pid, tid, state,
                 letter ? letter : '-');
        int live = letter && letter != 'Z' && letter != 'X';
        if (live && !strcmp(ts_str(t, "kind"), "process") && ppid != (pid_t)ts_int(t, "ppid"))
            note(v, "%s has ppid %lld but /proc says %d; ", ts_str(t, "name"), ts_int(t, "ppid"),
                 ppid);
        json_t *wchan = json_object_get(t, "wchan");
        if (wchan && !strcmp(state, "blocked") && (letter == 'S' || letter == 'D')) {
            char path[96], w[64] = "";
            snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
            ts_read_file(path, w, sizeof(w));
            if (w[0] && strcmp(w, json_string_value(wchan)) != 0)
                note(v, "%s sleeps in %s but /proc says %s; ", ts_str(t, "name"),
                     json_string_value(wchan), w);
        }
    }
}

static void check_sockets(json_t *snap, const struct ss_table *ss, struct verdict *v)
{
    json_t *o;
    size_t i;
    json_array_foreach(json_object_get(snap, "objects"), i, o)
    {
        if (strcmp(ts_str(o, "kind"), "socket") != 0)
            continue;
        const char *proto = ts_str(o, "proto"), *local = ts_str(o, "local"),
                   *peer = ts_str(o, "peer");
        if (!strcmp(local, "*") || strstr(local, ":0") == local + strlen(local) - 2)
            continue; /* never bound: nothing in the table to compare with */
        const struct ss_line *l = ss_find(ss, proto, local, peer, (long)ts_int(o, "inode"));
        if (!json_is_true(json_object_get(o, "in_kernel"))) {
            if (l && strcmp(l->state, "UNCONN") != 0 && !claimed(snap, l))
                note(v, "%s (%s %s) shown gone but ss has it %s; ", ts_str(o, "name"), local, peer,
                     l->state);
            continue;
        }
        if (!l) {
            note(v, "%s %s %s %s is not in ss; ", ts_str(o, "name"), proto, local, peer);
            continue;
        }
        if (strcmp(l->state, ts_str(o, "state")) != 0)
            note(v, "%s is %s but ss says %s; ", ts_str(o, "name"), ts_str(o, "state"), l->state);
        if (l->recv_q != ts_int(o, "recv_q") || l->send_q != ts_int(o, "send_q"))
            note(v, "%s has Recv-Q %lld Send-Q %lld but ss says %ld %ld; ", ts_str(o, "name"),
                 ts_int(o, "recv_q"), ts_int(o, "send_q"), l->recv_q, l->send_q);
    }
}

/* A snapshot taken while ss stayed the same, compared with /proc and ss; retried a few times
 * when something still moved. Returns the snapshot (caller frees). */
static json_t *compare_step(struct ts_driver *d, const char *id, int step, struct verdict *v)
{
    static struct ss_table before, after;
    json_t *snap = NULL;
    for (int attempt = 0; attempt < 4; attempt++) {
        json_decref(snap);
        memset(v, 0, sizeof(*v));
        read_ss(&before);
        snap = ts_driver_snapshot(d, 60);
        check_tasks(snap, d->pid, v);
        read_ss(&after);
        if (!same_ss(&before, &after)) {
            ts_sleep_ms(50); /* the kernel still moved (a timer): look again */
            continue;
        }
        check_sockets(snap, &after, v);
        if (!v->bad)
            break;
        ts_sleep_ms(100);
    }
    if (v->bad)
        cr_log_error("%s step %d: %s", id, step, v->why);
    return snap;
}

static void step_through(const struct truth_case *c, int no_bpf)
{
    const char *extra[] = {no_bpf ? "--no-bpf" : NULL, NULL};
    const char *params[7] = {NULL};
    for (int i = 0; i < 6 && c->params[i][0]; i++)
        params[i] = c->params[i];
    struct ts_driver d;
    ts_driver_start(&d, c->id, params, extra);
    int bad_steps = 0, step = 0, done = 0;
    long long granted = -1;
    for (; step < MAX_STEPS && !done; step++) {
        ts_driver_cmd(&d, "step");
        struct verdict v;
        json_t *snap = compare_step(&d, c->id, step, &v);
        bad_steps += v.bad != 0;
        long long now = ts_int(snap, "steps");
        /* the end, or nothing could move (every task blocked, or the run stopped itself) */
        done = json_is_true(json_object_get(snap, "completed")) || now == granted;
        granted = now;
        json_decref(snap);
    }
    ts_driver_cmd(&d, "finish");
    json_t *end = ts_driver_snapshot(&d, 90);
    json_decref(end);
    int code = ts_driver_end(&d, 60);
    cr_expect_eq(code, 0, "%s (%s): the run exited %d (its stderr is in the log)", c->id,
                 no_bpf ? "no bpf" : "bpf", code);
    cr_assert_eq(bad_steps, 0, "%s (%s): %d of %d steps disagreed with /proc or ss (see the log)",
                 c->id, no_bpf ? "no bpf" : "bpf", bad_steps, step);
}

ParameterizedTestParameters(truth, with_probes)
{
    return cr_make_param_array(struct truth_case, CASES, sizeof(CASES) / sizeof(CASES[0]));
}

ParameterizedTest(struct truth_case *c, truth, with_probes, .timeout = 240)
{
    if (geteuid() != 0)
        cr_skip_test("the probes need root (CAP_BPF and CAP_PERFMON); the no-probe pass runs");
    step_through(c, 0);
}

ParameterizedTestParameters(truth, without_probes)
{
    return cr_make_param_array(struct truth_case, CASES, sizeof(CASES) / sizeof(CASES[0]));
}

ParameterizedTest(struct truth_case *c, truth, without_probes, .timeout = 240)
{
    step_through(c, 1);
}
