/*
 * script.c - the step driver (see script.h): commands from a file or a pipe drive a
 * headless run's gate, and `snapshot` answers with one JSON line.
 *
 * A regular file is read whole at once; a pipe or terminal is read as its bytes arrive,
 * through the run's own event loop, so the run keeps draining and reaping while the driver
 * thinks. Commands run one at a time: a command that takes time (step, run, wait, finish)
 * holds back the next until it is done.
 */
#define _GNU_SOURCE
#include "script.h"

#include "lesson_run.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS_PER_MS 1000000ull
#define LINE_MAX_BYTES 4096
#define FINISH_DEFAULT 100000

enum cmd { CMD_NONE, CMD_STEP, CMD_FINISH, CMD_RUN, CMD_WAIT };

struct script {
    int fd, owned, watched, eof;
    char *buf;
    size_t len, cap;
    long line;
    struct loop *lp;
    struct run *r;
    enum cmd cur;
    long left;        /* steps still to take */
    uint64_t until;   /* run / wait: wall ns */
    int pick;         /* slot the next step lets through, -1: the gate's choice */
    int stepping;     /* a step was asked for and is not finished */
    uint64_t steps0;  /* steps granted before it */
    int settle_after; /* run: wait for the run to settle after holding the gate again */
    int fresh;        /* step/finish: not one step asked for yet (a question it reveals) */
    int shown;        /* predict lines were printed since the last step was asked for */
};

/* ---- input ---- */

static int append(struct script *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            return -1;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return 0;
}

/* Read what is there without blocking; sets eof at the end of input. */
static void read_more(struct script *s)
{
    char tmp[4096];
    for (;;) {
        ssize_t got = read(s->fd, tmp, sizeof(tmp));
        if (got > 0) {
            if (append(s, tmp, (size_t)got) < 0) {
                s->eof = 1;
                return;
            }
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && errno == EAGAIN)
            return;
        s->eof = 1; /* 0: end of input; an error ends it too */
        if (s->watched) {
            loop_del_fd(s->lp, s->fd);
            s->watched = 0;
        }
        return;
    }
}

static void on_input(struct loop *lp, int fd, uint32_t events, void *arg)
{
    (void)lp;
    (void)fd;
    (void)events;
    read_more(arg);
}

int script_open(struct script **out, const char *path, char *err, size_t n)
{
    struct script *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    s->pick = -1;
    if (strcmp(path, "-") == 0) {
        s->fd = STDIN_FILENO;
    } else {
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        s->owned = 1;
        if (s->fd < 0) {
            snprintf(err, n, "--script %s: %s", path, strerror(errno));
            free(s);
            return -1;
        }
    }
    struct stat st;
    if (fstat(s->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, n, "--script %s: is a directory; expected a file of commands or -", path);
        script_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

int script_attach(struct script *s, struct loop *lp, struct run *r, char *err, size_t n)
{
    s->lp = lp;
    s->r = r;
    struct stat st;
    if (fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode)) {
        read_more(s); /* a file: all of it now (epoll cannot watch files) */
        s->eof = 1;
        return 0;
    }
    int fl = fcntl(s->fd, F_GETFL);
    if (fl < 0 || fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        loop_add_fd(lp, s->fd, EPOLLIN, on_input, s) < 0) {
        snprintf(err, n, "--script: cannot watch the input: %s", strerror(errno));
        return -1;
    }
    s->watched = 1;
    read_more(s);
    return 0;
}

void script_close(struct script *s)
{
    if (!s)
        return;
    if (s->watched)
        loop_del_fd(s->lp, s->fd);
    if (s->owned && s->fd >= 0)
        close(s->fd);
    free(s->buf);
    free(s);
}

/* The next complete line (the last one may lack its newline at the end of input), copied
 * into line; 0 when none is there yet. */
static int next_line(struct script *s, char *line, size_t n)
{
    char *nl = s->buf ? memchr(s->buf, '\n', s->len) : NULL;
    size_t take;
    if (nl)
        take = (size_t)(nl - s->buf) + 1;
    else if (s->eof && s->len)
        take = s->len;
    else
        return 0;
    size_t copy = take < n ? take : n - 1;
    memcpy(line, s->buf, copy);
    line[copy] = '\0';
    memmove(s->buf, s->buf + take, s->len - take);
    s->len -= take;
    s->line++;
    return 1;
}

/* ---- commands ---- */

static int bad(struct script *s, const char *fmt, const char *word)
{
    fprintf(stderr, "ipcscope: --script line %ld: ", s->line);
    fprintf(stderr, fmt, word);
    fputs("\n  commands: step [N], pick TASK, action KEY, run MS, wait MS, finish [MAX], "
          "snapshot, answer A-D, hands N,N,... (# starts a comment)\n",
          stderr);
    return 2;
}

/* A whole non-negative number, or -1. */
static long number(const char *w, long max)
{
    char *end;
    errno = 0;
    long v = w ? strtol(w, &end, 10) : -1;
    if (!w || !*w || *end || errno || v < 0 || v > max)
        return -1;
    return v;
}

static int print_snapshot(struct script *s)
{
    run_refresh(s->r);
    json_t *snap = run_snapshot(s->r);
    int rc =
        json_dumpf(snap, stdout, JSON_COMPACT) == 0 && putchar('\n') != EOF && fflush(stdout) == 0
            ? 0
            : -1;
    json_decref(snap);
    if (rc < 0) {
        fprintf(stderr, "ipcscope: --script: cannot write the snapshot: %s\n", strerror(errno));
        return 3;
    }
    return 0;
}

/* The slot of the task named (or numbered) w, or -1. */
static int task_slot(const struct run *r, const char *w)
{
    uint32_t n = run_ntasks(r);
    long k = number(w, 1L << 20);
    if (k > 0 && (uint32_t)k < n)
        return (int)k;
    char name[INSTR_NAME_MAX];
    for (uint32_t i = 1; i < n; i++)
        if (strcmp(run_slot_name(r, i, name), w) == 0)
            return (int)i;
    return -1;
}

static int cmd_pick(struct script *s, const char *w)
{
    if (!w)
        return bad(s, "pick needs a task name or slot%s", "");
    int slot = task_slot(s->r, w);
    if (slot < 0)
        return bad(s, "pick '%s': no such task (a name from the snapshot's tasks, or a slot)", w);
    s->pick = slot;
    return 0;
}

static int cmd_action(struct script *s, const char *w)
{
    if (!w || strlen(w) != 1)
        return bad(s, "action needs one key, e.g. 'action k'%s", "");
    int rc = run_action(s->r, (unsigned char)w[0]);
    if (rc == -ENOENT)
        return bad(s, "action '%s': this scenario has no such key (see the actions menu)", w);
    if (rc < 0)
        fprintf(stderr, "ipcscope: --script line %ld: action %s: %s\n", s->line, w,
                s->r->status[0] ? s->r->status : strerror(-rc));
    return 0;
}

/* ---- predict mode (lesson_run.h) ---- */

/* Print the questions asked and revealed since the last look, one JSON line each. */
static int flush_predict(struct script *s)
{
    json_t *line;
    while ((line = predict_take_output(s->r))) {
        s->shown = 1;
        int rc = json_dumpf(line, stdout, JSON_COMPACT) == 0 && putchar('\n') != EOF &&
                         fflush(stdout) == 0
                     ? 0
                     : -1;
        json_decref(line);
        if (rc < 0) {
            fprintf(stderr, "ipcscope: --script: cannot write: %s\n", strerror(errno));
            return 3;
        }
    }
    return 0;
}

/* answer X: the class's answer (A-D) to the question asked; hands N,N,...: a show of hands
 * per choice. Either applies when the next step or finish reveals the question. */
static int cmd_answer(struct script *s, const char *cmd, const char *w)
{
    if (!predict_on(s->r))
        return bad(s, "'%s' needs predict mode: add --predict", cmd);
    if (cmd[0] == 'a') {
        int c = w && strlen(w) == 1 ? toupper((unsigned char)w[0]) - 'A' : -1;
        if (c < 0 || c > 3)
            return bad(s, "answer '%s': expected a choice letter A, B, C or D", w ? w : "");
        if (predict_answer(s->r, c) < 0)
            fprintf(stderr, "ipcscope: --script line %ld: answer %s: %s\n", s->line, w,
                    predict_asking(s->r) ? "the question has no such choice"
                                         : "no question is waiting for an answer");
        return 0;
    }
    int k = 0;
    for (const char *p = w; p && *p && k < 4; k++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 100000 || (*end && *end != ','))
            return bad(s, "hands '%s': expected counts per choice, e.g. 'hands 12,5,0'", w);
        if (predict_vote(s->r, k, (int)v) < 0 && predict_asking(s->r) && v)
            fprintf(stderr, "ipcscope: --script line %ld: hands: the question has no choice %c\n",
                    s->line, 'A' + k);
        p = *end ? end + 1 : end;
    }
    if (!k)
        return bad(s, "hands needs counts per choice, e.g. 'hands 12,5,0'%s", "");
    return 0;
}

static int start(struct script *s, char *line)
{
    char *save = NULL, *cmd = strtok_r(line, " \t\r\n", &save);
    if (!cmd || cmd[0] == '#')
        return 0;
    char *a1 = strtok_r(NULL, " \t\r\n", &save), *a2 = strtok_r(NULL, " \t\r\n", &save);
    if (a2 && a2[0] != '#')
        return bad(s, "'%s' takes at most one argument", cmd);
    if (a1 && a1[0] == '#')
        a1 = NULL;
    uint64_t now = loop_now_ns();
    if (strcmp(cmd, "step") == 0 || strcmp(cmd, "finish") == 0) {
        int fin = cmd[0] == 'f';
        long k = a1 ? number(a1, 1000000) : (fin ? FINISH_DEFAULT : 1);
        if (k < 0)
            return bad(s, "'%s': expected a count from 0 to 1000000", a1);
        s->cur = fin ? CMD_FINISH : CMD_STEP;
        s->left = k;
        s->stepping = 0;
        s->fresh = 1;
        return 0;
    }
    if (strcmp(cmd, "run") == 0 || strcmp(cmd, "wait") == 0) {
        long ms = number(a1, 86400000);
        if (ms < 0)
            return bad(s, "'%s' needs milliseconds, e.g. 'run 500'", cmd);
        s->until = now + (uint64_t)ms * NS_PER_MS;
        s->cur = cmd[0] == 'r' ? CMD_RUN : CMD_WAIT;
        s->settle_after = 0;
        if (s->cur == CMD_RUN && !run_done(s->r))
            run_set_mode(s->r, RUN_RUN);
        return 0;
    }
    if (strcmp(cmd, "pick") == 0)
        return cmd_pick(s, a1);
    if (strcmp(cmd, "answer") == 0 || strcmp(cmd, "hands") == 0)
        return cmd_answer(s, cmd, a1);
    if (strcmp(cmd, "action") == 0)
        return cmd_action(s, a1);
    if (strcmp(cmd, "snapshot") == 0)
        return a1 ? bad(s, "snapshot takes no argument ('%s')", a1) : print_snapshot(s);
    return bad(s, "unknown command '%s'", cmd);
}

/* Step command: 1 when done. */
static int advance_steps(struct script *s)
{
    struct run *r = s->r;
    if (s->fresh) { /* a question asked before this command: the class has answered */
        s->fresh = 0;
        if (predict_asking(r))
            s->pick = predict_reveal(r);
    }
    if (s->stepping) {
        if (run_step_busy(r) && !run_done(r))
            return 0;
        s->stepping = 0;
        if (predict_asking(r) || s->shown || predict_has_output(r))
            return 1; /* a question holds the step (it waits for an answer), or an answer was
                         revealed: the driver looks at the run as it is now */
        if (r->steps == s->steps0 && !run_done(r) && (run_unpaced_tasks(r) || !run_settled(r)))
            return 0; /* nobody at the gate, but tasks still work or end: ask again */
        s->left--;
        if (s->cur == CMD_FINISH && r->steps == s->steps0 && !run_done(r)) {
            fprintf(stderr, "ipcscope: --script line %ld: finish: nothing can move (%s)\n", s->line,
                    r->status[0] ? r->status : "every task blocked or ended");
            return 1;
        }
    }
    if (s->left <= 0 || run_done(r))
        return 1;
    s->steps0 = r->steps;
    s->shown = 0;
    run_step(r, s->pick);
    s->pick = -1;
    s->stepping = 1;
    return 0;
}

/* 1 when the command in progress is done. */
static int advance(struct script *s)
{
    uint64_t now = loop_now_ns();
    switch (s->cur) {
    case CMD_STEP:
    case CMD_FINISH:
        return advance_steps(s);
    case CMD_RUN:
        if (s->settle_after)
            return !run_step_busy(s->r) || run_done(s->r);
        if (now < s->until && !run_done(s->r))
            return 0;
        if (run_done(s->r))
            return 1;
        run_set_mode(s->r, RUN_STEP); /* hold the gate again, then let what runs settle */
        s->r->settle_pending = 1;
        s->r->settle_since = 0;
        s->settle_after = 1;
        return 0;
    case CMD_WAIT:
        return now >= s->until;
    default:
        return 1;
    }
}

int script_tick(struct script *s)
{
    int out = flush_predict(s);
    if (out)
        return out;
    for (;;) {
        if (s->cur != CMD_NONE) {
            if (!advance(s))
                return 0;
            s->cur = CMD_NONE;
        }
        char line[LINE_MAX_BYTES];
        if (!next_line(s, line, sizeof(line)))
            return s->eof && !s->len ? 1 : 0;
        int rc = start(s, line);
        if (rc)
            return rc;
    }
}
