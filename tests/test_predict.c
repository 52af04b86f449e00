/*
 * test_predict.c - predict mode, driven end to end through `--predict --script -`.
 *
 * The command line (--predict in --help, its usage errors, the script's answer and hands
 * commands). Then every scenario of the table is run as a lesson: each question printed is
 * answered, and each reveal's facts (what the run then did: a task's state, an object's value
 * or holder, a socket's state, a number the scenario reports) must be what the snapshot
 * taken right after says; at least three questions are asked in every scenario. For a few
 * scenarios the lesson is run twice: the first run learns the right answers, the second gives
 * them and must score 100% (the gate makes a stepped run repeat itself).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "lesson_runs.h"
#include "scenario.h"
#include "support.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the command line ---- */

static struct ts_result run_cli(char *const argv[], const char *input)
{
    char path[] = "/tmp/ipcscope-predict-inXXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    if (input && write(fd, input, strlen(input)) != (ssize_t)strlen(input))
        cr_assert_fail("cannot write the script");
    close(fd);
    char *args[24];
    int n = 0;
    for (; argv[n] && n < 20; n++)
        args[n] = strcmp(argv[n], "SCRIPT") == 0 ? path : argv[n];
    args[n] = NULL;
    struct ts_run_opts o = {.timeout_s = 60, .stdin_null = 1};
    struct ts_result r = ts_run(args, &o);
    unlink(path);
    return r;
}

static int exit_code(const struct ts_result *r)
{
    return WIFEXITED(r->status) ? WEXITSTATUS(r->status) : 128 + WTERMSIG(r->status);
}

Test(predict, help_lists_predict, .timeout = 30)
{
    char *const argv[] = {IPCSCOPE_BIN, "--help", NULL};
    struct ts_result r = run_cli(argv, NULL);
    cr_assert_eq(exit_code(&r), 0);
    cr_assert(strstr(r.out, "--predict"), "--help does not name --predict:\n%s", r.out);
    cr_assert(strstr(r.out, "answer A-D"), "--help does not say how a script answers");
    ts_free_result(&r);
}

Test(predict, headless_predict_needs_a_script, .timeout = 30)
{
    char *const argv[] = {IPCSCOPE_BIN, "run", "prodcons", "--headless", "--predict", NULL};
    struct ts_result r = run_cli(argv, NULL);
    cr_assert_eq(exit_code(&r), 2);
    cr_assert(strstr(r.err, "--predict") && strstr(r.err, "--script"), "%s", r.err);
    ts_free_result(&r);
}

Test(predict, answer_without_predict_mode_is_a_usage_error, .timeout = 60)
{
    char *const argv[] = {IPCSCOPE_BIN, "run",      "prodcons", "--headless",
                          "--no-bpf",   "--script", "SCRIPT",   NULL};
    struct ts_result r = run_cli(argv, "step\nanswer A\n");
    cr_assert_eq(exit_code(&r), 2, "exit %d: %s", exit_code(&r), r.err);
    cr_assert(strstr(r.err, "line 2") && strstr(r.err, "--predict"), "%s", r.err);
    ts_free_result(&r);
}

Test(predict, a_bad_answer_names_the_letters, .timeout = 60)
{
    char *const argv[] = {IPCSCOPE_BIN, "run",      "prodcons", "--headless", "--no-bpf",
                          "--predict",  "--script", "SCRIPT",   NULL};
    struct ts_result r = run_cli(argv, "finish\nanswer Z\n");
    cr_assert_eq(exit_code(&r), 2, "exit %d: %s", exit_code(&r), r.err);
    cr_assert(strstr(r.err, "answer 'Z'") && strstr(r.err, "A, B, C or D"), "%s", r.err);
    struct ts_result h = run_cli(argv, "finish\nhands 3,x\n");
    cr_assert_eq(exit_code(&h), 2, "exit %d: %s", exit_code(&h), h.err);
    cr_assert(strstr(h.err, "hands"), "%s", h.err);
    ts_free_result(&r);
    ts_free_result(&h);
}

/* ---- a lesson, driven ---- */

#define MAX_Q 64

struct lesson_log {
    int asked, revealed, voided, right, wrong;
    char id[MAX_Q][96];     /* by question number - 1 */
    char text[MAX_Q][400];  /* the question, as asked */
    int unknown;            /* questions the answers given did not know */
    char correct[MAX_Q];    /* the right letter, once revealed ('?': void) */
    char why[MAX_Q][400];   /* the reveal's explanation */
    int blocked[MAX_Q];     /* the reveal's blocked_on fact: 1 a label, 0 null, -1 none */
    json_t *choices[MAX_Q]; /* as asked */
    json_t *last;           /* the last snapshot */
};

static void log_free(struct lesson_log *g)
{
    for (int i = 0; i < MAX_Q; i++)
        json_decref(g->choices[i]);
    json_decref(g->last);
}

/* One line of the driven run's output (NULL at its end or after timeout_s). */
static json_t *read_json_line(struct ts_driver *d, int timeout_s)
{
    static char line[1 << 20];
    struct pollfd p = {.fd = fileno(d->out), .events = POLLIN};
    if (poll(&p, 1, timeout_s * 1000) <= 0 || !fgets(line, sizeof(line), d->out))
        return NULL;
    json_error_t je;
    json_t *j = json_loads(line, 0, &je);
    cr_assert_not_null(j, "not JSON: %s (%.200s)", je.text, line);
    return j;
}

/* The snapshot's element of array key whose name is name. */
static json_t *named(json_t *snap, const char *key, const char *name)
{
    return ts_find_named(json_object_get(snap, key), name);
}

/* The value at a dotted path of the snapshot ("handled.SIGHUP", "copies.0.x"). */
static json_t *at_path(json_t *v, const char *path)
{
    char buf[96];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_is_array(v) ? json_array_get(v, (size_t)atol(k)) : json_object_get(v, k);
    return v;
}

/* Fact f of a reveal is what the snapshot shows. */
static void check_fact(const char *id, json_t *f, json_t *snap)
{
    const char *key = ts_str(f, "key");
    json_t *want = json_object_get(f, "value"), *in = json_object_get(f, "in"), *got = NULL;
    if (json_object_get(f, "task")) {
        json_t *t = named(snap, "tasks", ts_str(f, "task"));
        cr_assert_not_null(t, "%s: no task %s in the snapshot", id, ts_str(f, "task"));
        got = json_object_get(t, key);
    } else if (json_object_get(f, "object")) {
        json_t *o = named(snap, "objects", ts_str(f, "object"));
        cr_assert_not_null(o, "%s: no object %s in the snapshot", id, ts_str(f, "object"));
        if (strcmp(key, "waiting_count") == 0) {
            cr_assert_eq((long long)json_array_size(json_object_get(o, "waiting")),
                         (long long)json_integer_value(want), "%s: %s waiting", id,
                         ts_str(f, "object"));
            return;
        }
        got = json_object_get(o, key);
    } else {
        got = at_path(snap, key);
        if (json_object_get(f, "sum")) {
            json_int_t sum = 0;
            size_t i;
            json_t *x;
            json_array_foreach(got, i, x) sum += json_integer_value(x);
            cr_assert_eq(sum, json_integer_value(json_object_get(f, "sum")), "%s: sum of %s", id,
                         key);
            return;
        }
        if (json_is_real(got)) {
            long long scale = json_integer_value(json_object_get(f, "scale"));
            long long x = (long long)(json_real_value(got) * (double)scale + (scale > 1 ? 0.5 : 0));
            cr_assert_eq(x, json_integer_value(want), "%s: %s", id, key);
            return;
        }
    }
    if (in) {
        size_t i;
        json_t *s;
        int found = 0;
        json_array_foreach(in, i, s) found |= json_equal(s, got);
        char *a = json_dumps(in, JSON_COMPACT), *b = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
        cr_assert(found, "%s: the reveal says %s %s in %s, the snapshot shows %s", id,
                  ts_str(f, "task"), key, a, b ? b : "nothing");
        free(a);
        free(b);
        return;
    }
    int same = json_is_null(want) ? !got || json_is_null(got) : got && json_equal(want, got);
    char *a = json_dumps(want, JSON_ENCODE_ANY), *b = got ? json_dumps(got, JSON_ENCODE_ANY) : NULL;
    cr_assert(same, "%s: the reveal says %s = %s, the snapshot shows %s", id, key, a,
              b ? b : "nothing");
    free(a);
    free(b);
}

/* Take the lines up to the next snapshot: record questions, check reveals against the
 * snapshot. Returns the question number asked (0: none). */
static int take(struct ts_driver *d, const char *sid, struct lesson_log *g, json_t **reveals)
{
    int asked = 0, nrev = 0;
    for (;;) {
        json_t *j = read_json_line(d, 240);
        cr_assert_not_null(j, "%s: the driven run went silent", sid);
        const char *kind = ts_str(j, "predict");
        if (!*kind && json_object_get(j, "scenario")) {
            for (int i = 0; i < nrev; i++) {
                json_t *f;
                size_t k;
                json_array_foreach(json_object_get(reveals[i], "facts"), k, f)
                    check_fact(g->id[ts_int(reveals[i], "n") - 1], f, j);
                json_decref(reveals[i]);
            }
            json_decref(g->last);
            g->last = j;
            return asked;
        }
        int n = (int)ts_int(j, "n");
        cr_assert(n >= 1 && n <= MAX_Q, "%s: question number %d", sid, n);
        if (strcmp(kind, "question") == 0) {
            g->asked++;
            asked = n;
            snprintf(g->id[n - 1], sizeof(g->id[0]), "%s", ts_str(j, "id"));
            snprintf(g->text[n - 1], sizeof(g->text[0]), "%s", ts_str(j, "text"));
            json_decref(g->choices[n - 1]);
            g->choices[n - 1] = json_incref(json_object_get(j, "choices"));
            cr_assert_geq(json_array_size(g->choices[n - 1]), 2, "%s: fewer than 2 choices",
                          g->id[n - 1]);
            json_decref(j);
        } else if (strcmp(kind, "reveal") == 0) {
            g->revealed++;
            g->correct[n - 1] = ts_str(j, "correct")[0];
            snprintf(g->why[n - 1], sizeof(g->why[0]), "%s", ts_str(j, "why"));
            g->blocked[n - 1] = -1;
            size_t fi;
            json_t *f;
            json_array_foreach(json_object_get(j, "facts"), fi,
                               f) if (strcmp(ts_str(f, "key"), "blocked_on") == 0)
                g->blocked[n - 1] = !json_is_null(json_object_get(f, "value"));
            g->right += json_is_true(json_object_get(j, "right"));
            g->wrong += json_is_false(json_object_get(j, "right"));
            cr_assert(nrev < MAX_Q);
            reveals[nrev++] = j;
        } else {
            cr_assert_str_eq(kind, "void", "%s: an unknown line", sid);
            g->voided++;
            g->correct[n - 1] = '?';
            /* stderr, not cr_log_warn: a warning fails the suite (exit 1) though the test passes */
            fprintf(stderr, "note: %s: not scored: %s\n", ts_str(j, "id"), ts_str(j, "why"));
            json_decref(j);
        }
    }
}

struct known;
static char known_answer(const struct known *k, const struct lesson_log *g, int i);

/* Run scenario sid as a lesson. Each question gets the answer k knows for it (k may be
 * NULL), else A. */
static void drive_lesson(const char *sid, const struct known *k, struct lesson_log *g)
{
    memset(g, 0, sizeof(*g));
    const struct lesson_run_params *p = lesson_run_params_of(sid);
    const char *extra[] = {"--predict", "--no-bpf", NULL};
    struct ts_driver d;
    ts_driver_start(&d, sid, p ? p->params : NULL, extra);
    setvbuf(d.out, NULL, _IONBF, 0); /* lines come in bursts: poll() must see what is unread */
    json_t *reveals[MAX_Q];
    for (int round = 0; round < 200; round++) {
        ts_driver_cmd(&d, "finish 5000");
        ts_driver_cmd(&d, "snapshot");
        int n = take(&d, sid, g, reveals);
        if (n) {
            char a = k ? known_answer(k, g, n - 1) : 0;
            g->unknown += !a;
            ts_driver_cmd(&d, "answer %c", a ? a : 'A');
        } else if (!json_is_false(json_object_get(g->last, "completed"))) {
            break; /* the run has ended (its last reveals came with it) */
        }
    }
    int code = ts_driver_end(&d, 60);
    cr_assert(code == 0 || code == 1, "%s: the lesson's run failed (exit %d)", sid, code);
}

ParameterizedTestParameters(predict, every_lesson_asks_and_reveals_the_truth)
{
    struct lesson_scn *ids = cr_malloc(sizeof(*ids) * scenario_count);
    for (size_t i = 0; i < scenario_count; i++)
        snprintf(ids[i].id, sizeof(ids[i].id), "%s", scenario_table[i]->id);
    return cr_make_param_array(struct lesson_scn, ids, scenario_count, NULL);
}

ParameterizedTest(struct lesson_scn *p, predict, every_lesson_asks_and_reveals_the_truth,
                  .timeout = 400)
{
    lesson_only(p->id);
    struct lesson_log g;
    drive_lesson(p->id, NULL, &g);
    json_t *pr = json_object_get(g.last, "predict");
    cr_assert_not_null(pr, "%s: the snapshot has no predict key", p->id);
    cr_assert_geq(g.asked, 3, "%s: %d questions asked (at least 3)", p->id, g.asked);
    cr_assert_eq(ts_int(pr, "asked"), g.asked, "%s: the snapshot counts %lld asked, %d printed",
                 p->id, ts_int(pr, "asked"), g.asked);
    cr_assert_eq(ts_int(pr, "right"), g.right, "%s: right", p->id);
    cr_assert_eq(ts_int(pr, "wrong"), g.wrong, "%s: wrong", p->id);
    cr_assert_eq(ts_int(pr, "open"), 0, "%s: questions left open at the end", p->id);
    cr_assert_geq(g.revealed, 3, "%s: %d answers revealed (%d not scored)", p->id, g.revealed,
                  g.voided);
    log_free(&g);
}

/* Reveals that once contradicted the run or themselves (found by docs/make-classroom.py):
 * the answer named is what the run showed, and its explanation is the one for that answer. */
struct told {
    char sid[32], qid[48];
    char choice[48];  /* the right choice's text (after "X: "; alternatives split by '|'; one
                         that starts with '*' is the text's end), or "" to skip */
    char not_why[48]; /* the explanation must not say this, or "" */
    int blocks_agree; /* the right choice says "blocks" exactly when the fact says blocked */
};

ParameterizedTestParameters(predict, reveals_tell_what_the_run_showed)
{
    static const struct told t[] = {
        /* join() is over at the end: the first reap may be another worker's */
        {"process-pool", "join", "*is gone (exited and reaped)", "", 0},
        /* "neither"'s explanation only when neither */
        {"reuseaddr", "who-time-waits", "server-conn", "No socket", 0},
        /* in the receivers' sockets at once; recvfrom() is a later step */
        {"udp-broadcast", "one-to-all", "3", "", 0},
        /* the call sleeps on the ready set, not on the interest set it was asked about */
        {"select-server", "first-wait", "", "", 1},
        {"poll-server", "first-wait", "", "", 1},
        {"epoll-server", "first-wait", "", "", 1},
        {"select-server", "again-wait", "", "", 1},
        /* what the run measures exactly (wake-ups that found no item: 0 unless a consumer that
         * was not waiting took the item first), not "2 still blocked on con" */
        {"condition", "notify-one", "0|1 to 2|3 or more", "", 0},
        {"condition", "notify-all", "*is gone (exited and reaped)", "", 0},
    };
    size_t n = sizeof(t) / sizeof(t[0]);
    struct told *p = cr_malloc(sizeof(t));
    memcpy(p, t, sizeof(t));
    return cr_make_param_array(struct told, p, n, NULL);
}

ParameterizedTest(struct told *t, predict, reveals_tell_what_the_run_showed, .timeout = 300)
{
    lesson_only(t->sid);
    struct lesson_log g;
    drive_lesson(t->sid, NULL, &g);
    char id[96];
    snprintf(id, sizeof(id), "%s/%s", t->sid, t->qid);
    int i = 0;
    while (i < g.asked && strcmp(g.id[i], id) != 0)
        i++;
    cr_assert_lt(i, g.asked, "%s was not asked", id);
    cr_assert(g.correct[i] >= 'A' && g.correct[i] <= 'D', "%s: not scored: %s", id, g.why[i]);
    const char *right = json_string_value(json_array_get(g.choices[i], g.correct[i] - 'A'));
    cr_assert_not_null(right);
    right += strlen("A: ");
    int fits = 0;
    char alts[sizeof(t->choice)];
    snprintf(alts, sizeof(alts), "%s", t->choice);
    for (char *save = NULL, *a = strtok_r(alts, "|", &save); a; a = strtok_r(NULL, "|", &save))
        fits |= a[0] == '*' ? strlen(right) >= strlen(a + 1) &&
                                  strcmp(right + strlen(right) - strlen(a + 1), a + 1) == 0
                            : strcmp(right, a) == 0;
    if (t->choice[0])
        cr_expect(fits,
                  "%s: the answer given (%s) is not what the run "
                  "showed; why: %s",
                  id, right, g.why[i]);
    if (t->not_why[0])
        cr_expect(!strstr(g.why[i], t->not_why), "%s: answer %s explained as: %s", id, right,
                  g.why[i]);
    if (t->blocks_agree) {
        cr_assert_neq(g.blocked[i], -1, "%s: no blocked_on fact", id);
        cr_expect_eq(strstr(right, " blocks in ") != NULL, g.blocked[i] == 1,
                     "%s: answer '%s', but the run showed it %s; why: %s", id, right,
                     g.blocked[i] ? "blocked" : "not blocked", g.why[i]);
    }
    log_free(&g);
}

/* A deadlock's last question is about the task whose request closes the cycle: deadlock
 * asked "now t2 asks for A ... What will t1 be?", of a t1 that had been blocked since the
 * question before (and philosophers "phil-5 now reaches for fork-1. What will phil-1 be?"),
 * so the class learnt nothing from it. */
struct closing {
    char sid[32], qid[48];
};

ParameterizedTestParameters(predict, a_cycles_last_question_asks_about_the_task_that_closes_it)
{
    static const struct closing c[] = {{"deadlock", "deadlock/cycle"},
                                       {"philosophers", "philosophers/all-wait"}};
    struct closing *p = cr_malloc(sizeof(c));
    memcpy(p, c, sizeof(c));
    return cr_make_param_array(struct closing, p, sizeof(c) / sizeof(c[0]), NULL);
}

ParameterizedTest(struct closing *c, predict,
                  a_cycles_last_question_asks_about_the_task_that_closes_it, .timeout = 300)
{
    lesson_only(c->sid);
    struct lesson_log g;
    drive_lesson(c->sid, NULL, &g);
    int i = 0;
    while (i < g.asked && strcmp(g.id[i], c->qid) != 0)
        i++;
    cr_assert_lt(i, g.asked, "%s was not asked", c->qid);
    /* "now t2 asks for A", "phil-5 now reaches for fork-1" */
    const char *now = strstr(g.text[i], "now ");
    cr_assert_not_null(now, "question: %s", g.text[i]);
    char asker[32] = "", about[64];
    if (strncmp(c->sid, "deadlock", 8) == 0)
        sscanf(now, "now %31s asks", asker);
    else {
        const char *p = now;
        while (p > g.text[i] && p[-1] == ' ')
            p--;
        const char *w = p;
        while (w > g.text[i] && w[-1] != ' ')
            w--;
        snprintf(asker, sizeof(asker), "%.*s", (int)(p - w), w);
    }
    snprintf(about, sizeof(about), "What will %s be", asker);
    cr_expect(strstr(g.text[i], about), "the question is not about %s: %s", asker, g.text[i]);
    cr_assert(g.correct[i] >= 'A' && g.correct[i] <= 'D', "not scored: %s", g.why[i]);
    const char *right = json_string_value(json_array_get(g.choices[i], g.correct[i] - 'A'));
    char want[64];
    snprintf(want, sizeof(want), "%s is blocked", asker);
    cr_expect(right && strstr(right, want), "the answer is %s, not that %s blocks", right, asker);
    log_free(&g);
}

/* What a question is: its id, its text (the premise, from the live run) and its choices,
 * with pids and ports (three digits or more) left out: they change from run to run. */
static void question_key(const struct lesson_log *g, int i, char *buf, size_t n)
{
    char *c = json_dumps(g->choices[i], JSON_COMPACT), raw[640];
    snprintf(raw, sizeof(raw), "%s|%s|%s", g->id[i], g->text[i], c ? c : "");
    free(c);
    size_t o = 0;
    for (const char *p = raw; *p && o + 1 < n;) {
        size_t d = strspn(p, "0123456789");
        if (o + (d ? d : 1) >= n)
            break;
        if (d >= 3) {
            buf[o++] = '#';
            p += d;
        } else {
            memcpy(buf + o, p, d ? d : 1);
            o += d ? d : 1;
            p += d ? d : 1;
        }
    }
    buf[o < n ? o : n - 1] = '\0';
}

#define MAX_KNOWN 256

struct known {
    char key[MAX_KNOWN][640];
    char letter[MAX_KNOWN];
    int n;
};

static char known_answer(const struct known *k, const struct lesson_log *g, int i)
{
    char key[640];
    question_key(g, i, key, sizeof(key));
    for (int j = 0; j < k->n; j++)
        if (strcmp(k->key[j], key) == 0)
            return k->letter[j];
    return 0;
}

static void learn(struct known *k, const struct lesson_log *g)
{
    for (int i = 0; i < g->asked && k->n < MAX_KNOWN; i++) {
        if (g->correct[i] < 'A' || g->correct[i] > 'D')
            continue; /* not scored: nothing to learn */
        char key[640];
        question_key(g, i, key, sizeof(key));
        int j = 0;
        while (j < k->n && strcmp(k->key[j], key) != 0)
            j++;
        if (j == k->n) {
            snprintf(k->key[k->n], sizeof(k->key[0]), "%s", key);
            k->letter[k->n++] = g->correct[i];
        }
    }
}

/* The right answers are learnt from the runs so far (a question is known by its id, its
 * premise and its choices, all from the live run) and given in the next one; a run in which
 * every question was known must score 100%. Stepped runs mostly repeat themselves, but two
 * equal tasks may reach the gate in either order, so a few runs may be needed. */
static void scores_full_marks(const char *sid)
{
    static struct known k;
    memset(&k, 0, sizeof(k));
    for (int attempt = 0; attempt < 8; attempt++) {
        struct lesson_log g;
        drive_lesson(sid, &k, &g);
        int unknown = g.unknown;
        learn(&k, &g);
        if (attempt > 0 && !unknown) {
            json_t *pr = json_object_get(g.last, "predict");
            cr_assert_gt(g.right, 0, "%s: nothing scored", sid);
            cr_assert_eq(g.wrong, 0, "%s: %d wrong though every answer was the right one", sid,
                         g.wrong);
            cr_assert_eq(ts_int(pr, "score_pct"), 100, "%s: score %lld%%", sid,
                         ts_int(pr, "score_pct"));
            log_free(&g);
            return;
        }
        log_free(&g);
    }
    cr_assert_fail("%s: eight runs, and each asked something new", sid);
}

Test(predict, right_answers_score_full_marks_prodcons, .timeout = 300)
{
    scores_full_marks("prodcons");
}

Test(predict, right_answers_score_full_marks_deadlock, .timeout = 300)
{
    scores_full_marks("deadlock");
}

Test(predict, right_answers_score_full_marks_fork, .timeout = 300)
{
    scores_full_marks("fork");
}

Test(predict, right_answers_score_full_marks_tcp_teardown, .timeout = 300)
{
    scores_full_marks("tcp-teardown");
}

/* ---- the dashboard ---- */

static struct lesson_tmux g_tmux;

static void tmux_stop(void)
{
    lesson_tmux_stop(&g_tmux);
}

/* Wait until the screen shows the verdict of a reveal, in English or Chinese (the status bar
 * has its own check marks: the reveal's are looked for only once it has come). */
static int wait_verdict(struct lesson_tmux *t, int ms)
{
    static const char *const verdicts[] = {"Right!", "Not this time", "Not scored",
                                           "答对了", "这次没答对",    "不计分"};
    for (int waited = 0; waited < ms; waited += 200)
        for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++)
            if (lesson_tmux_wait(t, verdicts[i], 50))
                return 1;
    return 0;
}

/* Press Space until the screen shows text (a question comes before some step). */
static int step_until(struct lesson_tmux *t, const char *text)
{
    for (int i = 0; i < 20; i++) {
        lesson_tmux_keys(t, "Space");
        if (lesson_tmux_wait(t, text, 1500))
            return 1;
    }
    return 0;
}

Test(predict, the_dashboard_asks_hides_the_next_line_and_reveals, .fini = tmux_stop, .timeout = 90)
{
    lesson_tmux_start(&g_tmux, 140, 40, "run prodcons --step --predict --no-bpf --param items=8");
    cr_assert(lesson_tmux_wait(&g_tmux, "Predict", 10000), "no predict box:\n%s", g_tmux.screen);
    cr_assert(step_until(&g_tmux, "Q1."), "no question:\n%s", g_tmux.screen);
    cr_assert_null(strstr(g_tmux.screen, "Next:"), "the Next line gives it away:\n%s",
                   g_tmux.screen);
    lesson_tmux_keys(&g_tmux, "B 1 2");
    cr_assert(lesson_tmux_wait(&g_tmux, "(12 hands)", 5000), "no show of hands:\n%s",
              g_tmux.screen);
    lesson_tmux_keys(&g_tmux, "Space");
    cr_assert(wait_verdict(&g_tmux, 10000), "no reveal:\n%s", g_tmux.screen);
    cr_assert(strstr(g_tmux.screen, "│ ✓ "), "the right choice is not marked:\n%s", g_tmux.screen);
    const char *s = g_tmux.screen;
    int right = strstr(s, "Right!") != NULL, wrong = strstr(s, "Not this time") != NULL;
    cr_assert(right != wrong, "right and wrong at once, or neither:\n%s", s);
    cr_assert(strstr(s, right ? "1 right · 0 wrong" : "0 right · 1 wrong"),
              "the tally does not say it:\n%s", s);
}

Test(predict, the_dashboard_asks_in_chinese, .fini = tmux_stop, .timeout = 90)
{
    lesson_tmux_start(&g_tmux, 140, 40,
                      "run prodcons --step --predict --no-bpf --lang zh --param items=8");
    cr_assert(lesson_tmux_wait(&g_tmux, "预测", 10000), "no predict box:\n%s", g_tmux.screen);
    cr_assert(step_until(&g_tmux, "第 1 题"), "no question:\n%s", g_tmux.screen);
    lesson_tmux_keys(&g_tmux, "A Space");
    cr_assert(wait_verdict(&g_tmux, 10000), "no reveal:\n%s", g_tmux.screen);
    cr_assert(strstr(g_tmux.screen, "答对了") || strstr(g_tmux.screen, "这次没答对"),
              "the verdict is not in Chinese:\n%s", g_tmux.screen);
}
