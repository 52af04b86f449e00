/*
 * lock.c - workers print lines into one shared output, with or without a Lock (chapter 7).
 *
 * Each worker writes its line one character at a time, pausing between characters (as print
 * does under load). With lock=1 it holds the process-shared mutex `lock` for the whole line,
 * so lines come out whole and the others wait; with lock=0 the characters of different
 * workers interleave. Workers are processes, or threads of one process (threads=1). The
 * output so far is pinned on screen, with how many lines came out mixed.
 *
 * On the scenario clock a character is due char_ms after the one before: stepped, the pause
 * and the character are one step, ordered among the workers by when each is due.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_ipc.h"
#include "../instr_sync.h"
#include "../scenario.h"
#include "../sclock.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

struct lock_shared {
    struct sync_team team;
    struct instr_obj *lock, *out;
    long workers, rounds, width, char_ms;
    _Atomic int use_lock, toggled;
    _Atomic long inside, max_inside, holders, max_holders, pos;
    long size;
    char *buf;
};

static struct lock_shared *S;

static const struct scenario_param params[] = {
    {"workers", "workers printing", "打印的工作者数", 1, 16, 3},
    {"rounds", "lines each worker prints", "每个工作者打印的行数", 1, 100, 2},
    {"width", "characters in a line", "每行字符数", 1, 32, 8},
    {"char_ms", "pause after each character", "每个字符后的停顿(毫秒)", 0, 1000, 10},
    {"lock", "1: hold the lock for a whole line; 0: no lock", "1:整行持锁;0:不加锁", 0, 1, 1},
    {"threads", "0: worker processes; 1: threads of one process", "0:进程;1:同一进程内的线程", 0, 1,
     0},
};

/* Write c after a pause of ms: held, one step due ms from now; free, a real pause first. */
static void put_char(char c, long ms)
{
    if (!instr_gate_timed(EV_SHM_WRITE, S->out->id, sclock_now() + (uint64_t)ms * 1000000ull, ms,
                          NULL))
        sclock_sleep(ms, 0, NULL);
    long at = atomic_fetch_add(&S->pos, 1);
    if (at < S->size)
        S->buf[at] = c;
    instr_op(S->out, EV_SHM_WRITE, c, at, 0);
}

static void print_line(long k)
{
    char c = k < 9 ? (char)('1' + k) : (char)('a' + k - 9);
    for (long i = 0; i < S->width && !ipc_stopping(); i++)
        put_char(c, i ? S->char_ms : 0);
    put_char('\n', S->char_ms);
}

static int worker(long k)
{
    ipc_set_comm("lock-worker");
    for (long r = 0; r < S->rounds && !ipc_stopping(); r++) {
        int locked = atomic_load(&S->use_lock);
        if (locked) {
            instr_mutex_lock(S->lock);
            sync_count_max(&S->holders, &S->max_holders, 1);
        }
        sync_count_max(&S->inside, &S->max_inside, 1);
        print_line(k);
        atomic_fetch_sub(&S->inside, 1);
        if (locked) {
            atomic_fetch_sub(&S->holders, 1);
            instr_mutex_unlock(S->lock);
        }
        sclock_sleep(S->char_ms, 0, "outside the lock"); /* give the others a turn */
    }
    return 0;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    return (uint32_t)(scn_param(ctx, "workers") + 8);
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    S = ctx->shared;
    S->workers = scn_param(ctx, "workers");
    S->rounds = scn_param(ctx, "rounds");
    S->width = scn_param(ctx, "width");
    S->char_ms = scn_param(ctx, "char_ms");
    atomic_store(&S->use_lock, (int)scn_param(ctx, "lock"));
    S->size = S->workers * S->rounds * (S->width + 1);
    S->buf = instr_shared_alloc((size_t)S->size + 1);
    S->lock = instr_mutex_new("lock");
    S->out = instr_obj_new("output", OK_SHM, 0, S->size);
    if (!S->buf || !S->lock || !S->out) {
        snprintf(err, n, "lock: out of shared memory or object slots");
        return -ENOMEM;
    }
    S->team = (struct sync_team){.main_name = "main",
                                 .prefix = "worker-",
                                 .n = S->workers,
                                 .threads = (int)scn_param(ctx, "threads"),
                                 .body = worker};
    return sync_team_start(&S->team, err, n);
}

static int act_toggle(struct scn_ctx *ctx, char *msg, size_t n)
{
    (void)ctx;
    int now = !atomic_load(&S->use_lock);
    atomic_store(&S->use_lock, now);
    atomic_store(&S->toggled, 1);
    snprintf(msg, n,
             now ? "workers take the lock from their next line"
                 : "workers print without the lock from their next line");
    return 0;
}

/* Lines of the output and how many of them mix characters of different workers. */
static long count_mixed(json_t *lines)
{
    long mixed = 0, len = atomic_load(&S->pos);
    long start = 0;
    for (long i = 0; i <= len && i <= S->size; i++) {
        if (i < len && i < S->size && S->buf[i] != '\n')
            continue;
        if (i > start) {
            int mix = 0;
            for (long j = start + 1; j < i; j++)
                mix |= S->buf[j] != S->buf[start];
            mixed += mix;
            if (lines)
                json_array_append_new(lines, json_stringn(S->buf + start, (size_t)(i - start)));
        }
        start = i + 1;
    }
    return mixed;
}

static int check(struct scn_ctx *ctx, const struct model *m, char *why, size_t n)
{
    (void)m;
    if (atomic_load(&S->max_holders) > 1) {
        snprintf(why, n, "%ld workers held the lock at once", atomic_load(&S->max_holders));
        return -1;
    }
    int always_locked = scn_param(ctx, "lock") && !atomic_load(&S->toggled);
    long mixed = count_mixed(NULL);
    if (always_locked && (atomic_load(&S->max_inside) > 1 || mixed)) {
        snprintf(why, n, "with the lock, %ld workers were inside at once and %ld lines mixed",
                 atomic_load(&S->max_inside), mixed);
        return -1;
    }
    if (atomic_load(&S->pos) != S->size) {
        snprintf(why, n, "%ld of %ld characters were printed", atomic_load(&S->pos), S->size);
        return -1;
    }
    return 0;
}

/* The output so far and how many lines are mixed, pinned (the lesson's point). */
static void pin_output(struct scn_ctx *ctx)
{
    long len = atomic_load(&S->pos), mixed = count_mixed(NULL);
    if (len <= 0)
        return;
    char text[160];
    size_t k = 0;
    for (long i = 0; i < len && i < S->size && k + 4 < sizeof(text); i++)
        k += (size_t)snprintf(text + k, sizeof(text) - k, "%s",
                              S->buf[i] == '\n' ? "⏎" : (char[]){S->buf[i], 0});
    snprintf(ctx->pin, sizeof(ctx->pin),
             ctx->lang == LANG_ZH ? "输出:%s(混在一起的行:%ld)" : "Output: %s (mixed lines: %ld)",
             text, mixed);
}

static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)m;
    pin_output(ctx);
    return 0;
}

static void teardown(struct scn_ctx *ctx)
{
    pin_output(ctx);
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)m;
    json_t *lines = json_array();
    long mixed = count_mixed(lines);
    json_object_set_new(out, "output", lines);
    json_object_set_new(out, "mixed_lines", json_integer(mixed));
    json_object_set_new(out, "max_inside", json_integer(atomic_load(&S->max_inside)));
    json_object_set_new(out, "max_holders", json_integer(atomic_load(&S->max_holders)));
    json_object_set_new(out, "lock_used", json_boolean(atomic_load(&S->use_lock)));
    int zh = ctx->lang == LANG_ZH;
    size_t nl = json_array_size(lines);
    /* the count first and short: an 80-column dashboard has 4 rows and 35 columns for it */
    scn_meter(out, zh ? "混杂" : "mixed", (double)mixed, nl ? (double)nl : 1,
              zh ? "%ld / %zu 行" : "%ld of %zu lines", mixed, nl);
    for (size_t i = nl > 3 ? nl - 3 : 0; i < nl; i++) /* the last lines the workers printed */
        scn_meter(out, zh ? "输出" : "printed", 0, 0, "%s",
                  json_string_value(json_array_get(lines, i)));
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    const char *who = ipc_ev_task_name(m, e);
    const struct model_obj *o = e->obj < m->nobjs ? &m->objs[e->obj] : NULL;
    int zh = lang == LANG_ZH;
    if (e->kind == EV_MUTEX_WAIT && e->aux && o) {
        const char *h = o->holder < m->ntasks ? m->tasks[o->holder].name : "another worker";
        snprintf(buf, n,
                 zh ? "%s 想进入临界区,但锁被 %s 持有:它阻塞等待,直到锁被释放。"
                    : "%s wants the critical section but %s holds the lock: it sleeps until the "
                      "lock is released.",
                 who, h);
        return 1;
    }
    if (e->kind == EV_MUTEX_ACQUIRED) {
        snprintf(buf, n,
                 zh ? "%s 获得了锁(lock.acquire()):现在只有它在临界区里,它的一整行不会被打断。"
                    : "%s acquired the lock (lock.acquire()): it is alone in the critical "
                      "section, so its whole line comes out unbroken.",
                 who);
        return 1;
    }
    if (e->kind == EV_MUTEX_RELEASE) {
        snprintf(buf, n,
                 zh ? "%s 释放了锁(lock.release());等待的工作者中有一个可以进入了。"
                    : "%s released the lock (lock.release()); one waiting worker may enter now.",
                 who);
        return 1;
    }
    if (e->kind == EV_SHM_WRITE && e->val == '\n') {
        snprintf(buf, n, zh ? "%s 打完了一行。" : "%s finished its line.", who);
        return 1;
    }
    if (e->kind == EV_SHM_WRITE && e->val > ' ' && e->val < 127) {
        snprintf(buf, n,
                 zh ? "%s 打印了 '%c'(输出的第 %lld 个字符)。"
                    : "%s printed '%c' (character %lld of the output).",
                 who, (char)e->val, (long long)e->item + 1);
        return 1;
    }
    return 0;
}

static const struct scenario_action actions[] = {
    {'l', "use the lock / print without it", "加锁 / 不加锁", act_toggle},
};

const struct scenario scenario_lock = {
    .id = "lock",
    .chapter = 7,
    .title_en = "Lock: one at a time in the critical section",
    .title_zh = "锁:临界区一次只进一个",
    .summary_en = "Workers print their lines into one shared output a character at a time. With "
                  "a Lock (lock.acquire() ... lock.release()) each line is printed whole while "
                  "the others wait, blocked on the lock: mutual exclusion. Without it "
                  "(lock=0, or the l key) the characters of different workers interleave.",
    .summary_zh = "多个工作者逐字符地把各自的一行打印到同一个共享输出里。使用锁(lock.acquire()"
                  " ... lock.release())时,每行完整输出,其他人阻塞在锁上等待:这就是互斥。"
                  "不加锁(lock=0,或按 l 键)时,不同工作者的字符会交错在一起。",
    .params = params,
    .nparams = sizeof(params) / sizeof(params[0]),
    .actions = actions,
    .nactions = sizeof(actions) / sizeof(actions[0]),
    .shared_size = sizeof(struct lock_shared),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .teardown = teardown,
    .check = check,
    .snapshot = snapshot,
    .narrate = narrate,
};
