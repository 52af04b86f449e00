/*
 * test_model.c - the model (src/model.[ch]) fed with event sequences built by hand.
 *
 * Each test plays the records a source would produce (instr, bpf or procfs) and checks the
 * task states, the object a task is blocked on, object values, lock holders, queue depths,
 * the seq merge rule, the bounded history and the per-state time accounting.
 */
#include <criterion/criterion.h>

#include "support.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "narrate.h"

#define PID0 4000

static struct model M;

static void setup(void)
{
    cr_assert_eq(model_init(&M, 4096, 4096), 0);
}

static void teardown(void)
{
    model_free(&M);
}

static uint64_t clock_ns = 1000;

/* An instr event from slot on obj (EV_NO_OBJ for none). */
static struct ev iev(uint16_t kind, uint32_t slot, uint32_t obj, uint32_t seq, int64_t val,
                     int64_t item, int64_t aux)
{
    clock_ns += 10;
    struct ev e = {.t = clock_ns,
                   .kind = kind,
                   .src = EV_SRC_INSTR,
                   .task = slot,
                   .pid = PID0 + (int32_t)slot,
                   .tid = PID0 + (int32_t)slot,
                   .obj = obj,
                   .seq = seq,
                   .val = val,
                   .item = item,
                   .aux = aux};
    return e;
}

/* An event from /proc about the task of slot 1, 100 ns after the last one. */
static struct ev procfs_ev(uint16_t kind, int64_t val, int64_t aux)
{
    struct ev e = {.t = clock_ns + 100,
                   .kind = kind,
                   .src = EV_SRC_PROCFS,
                   .task = EV_NO_TASK,
                   .pid = PID0 + 1,
                   .tid = PID0 + 1,
                   .obj = EV_NO_OBJ,
                   .val = val,
                   .aux = aux};
    return e;
}

static uint32_t start_task(uint32_t slot, const char *name, int kind)
{
    struct ev e = iev(EV_TASK_START, slot, EV_NO_OBJ, 0, 0, kind, PID0);
    if (kind == TK_THREAD)
        e.pid = PID0;
    uint32_t idx = model_apply(&M, &e, name, NULL);
    cr_assert_neq(idx, MODEL_NO_TASK, "task_start for %s gave no task", name);
    cr_assert_str_eq(M.tasks[idx].name, name);
    return idx;
}

static void create(uint32_t id, const char *name, int kind, int64_t init, int64_t cap)
{
    struct ev e = iev(EV_OBJ_CREATE, 0, id, 0, init, cap, kind);
    model_apply(&M, &e, NULL, name);
    cr_assert_not_null(model_obj(&M, id), "object %s not created", name);
}

/* Apply an operation on obj with its next seq (kept per object here, as instr_op does). */
static uint32_t seqs[16];

static uint32_t op(uint16_t kind, uint32_t slot, uint32_t obj, int64_t val, int64_t item,
                   int64_t aux)
{
    struct ev e = iev(kind, slot, obj, ++seqs[obj], val, item, aux);
    return model_apply(&M, &e, NULL, NULL);
}

static const char *state_of(uint32_t idx)
{
    return task_state_name(M.tasks[idx].state);
}

TestSuite(model, .init = setup, .fini = teardown);

Test(model, task_start_makes_a_running_task_with_its_parent)
{
    uint32_t p = start_task(1, "producer-1", TK_PROCESS);
    struct model_task *t = model_task(&M, p);
    cr_assert_not_null(t);
    cr_expect_str_eq(state_of(p), "running");
    cr_expect_eq(t->ppid, PID0);
    cr_expect_eq(t->pid, PID0 + 1);
    cr_expect_eq(t->kind, TK_PROCESS);
    cr_expect_eq(model_task_by_slot(&M, 1), p);
    cr_expect_eq(model_task_by_tid(&M, PID0 + 1), p);
    cr_expect_eq(model_task_by_slot(&M, 7), MODEL_NO_TASK);
}

Test(model, blocked_on_the_right_object_then_running_when_acquired)
{
    uint32_t p = start_task(1, "producer-1", TK_PROCESS);
    start_task(2, "consumer-1", TK_PROCESS);
    create(0, "empty", OK_SEMAPHORE, 0, 4);
    create(1, "full", OK_SEMAPHORE, 4, 4);

    op(EV_SEM_WAIT, 1, 0, 0, 0, 1); /* value 0 seen, will block */
    cr_expect_str_eq(state_of(p), "blocked");
    cr_expect_eq(M.tasks[p].blocked_on, 0);
    char label[64];
    model_blocked_label(&M, &M.tasks[p], label, sizeof(label));
    cr_expect_str_eq(label, "sem:empty");
    uint32_t w[4];
    cr_expect_eq(model_waiters(&M, 0, w, 4), 1);
    cr_expect_eq(w[0], p);
    cr_expect_eq(model_waiters(&M, 1, w, 4), 0, "nobody waits on full");

    op(EV_SEM_POST, 2, 0, 1, 0, 0); /* a consumer frees a slot */
    cr_expect_str_eq(state_of(p), "blocked", "still blocked until it takes the token");
    op(EV_SEM_ACQUIRED, 1, 0, 0, 0, 0);
    cr_expect_str_eq(state_of(p), "running");
    cr_expect_eq(M.tasks[p].blocked_on, EV_NO_OBJ);
    model_blocked_label(&M, &M.tasks[p], label, sizeof(label));
    cr_expect_str_eq(label, "");
    cr_expect_eq(model_waiters(&M, 0, w, 4), 0);
    cr_expect_eq(model_obj(&M, 0)->value, 0);
}

Test(model, a_non_blocking_wait_does_not_block)
{
    uint32_t p = start_task(1, "producer-1", TK_PROCESS);
    create(0, "empty", OK_SEMAPHORE, 4, 4);
    op(EV_SEM_WAIT, 1, 0, 4, 0, 0);
    cr_expect_str_eq(state_of(p), "running");
    op(EV_SEM_ACQUIRED, 1, 0, 3, 0, 0);
    cr_expect_eq(model_obj(&M, 0)->value, 3);
    cr_expect_eq(M.tasks[p].actions, 2);
}

Test(model, process_exit_is_zombie_then_reaped_with_status)
{
    uint32_t p = start_task(1, "producer-1", TK_PROCESS);
    struct ev e = iev(EV_TASK_EXIT, 1, EV_NO_OBJ, 0, 3, 0, 0);
    model_apply(&M, &e, NULL, NULL);
    cr_expect_str_eq(state_of(p), "zombie");
    cr_expect(M.tasks[p].has_exit);
    cr_expect_eq(M.tasks[p].exit_status, 3);

    e = iev(EV_TASK_REAPED, 1, EV_NO_OBJ, 0, 3, 0, PID0);
    model_apply(&M, &e, NULL, NULL);
    cr_expect_str_eq(state_of(p), "reaped");
    cr_expect_eq(M.tasks[p].exit_status, 3);
    cr_expect_gt(M.tasks[p].t_reaped, 0);

    /* reaped is terminal: a late kernel report does not revive it */
    e = iev(EV_STATE, EV_NO_TASK, EV_NO_OBJ, 0, TS_RUNNING, 0, 0);
    e.src = EV_SRC_PROCFS;
    e.pid = e.tid = PID0 + 1;
    model_apply(&M, &e, NULL, NULL);
    cr_expect_str_eq(state_of(p), "reaped");
}

Test(model, reaped_without_exit_event_takes_the_status_from_the_reaper)
{
    uint32_t p = start_task(1, "consumer-1", TK_PROCESS);
    struct ev e = iev(EV_TASK_REAPED, 1, EV_NO_OBJ, 0, 128 + 9, 0, PID0);
    model_apply(&M, &e, NULL, NULL);
    cr_expect_str_eq(state_of(p), "reaped");
    cr_expect_eq(M.tasks[p].exit_status, 137);
}

Test(model, thread_exit_is_exited_not_zombie)
{
    start_task(0, "main", TK_PROCESS);
    uint32_t t = start_task(1, "worker", TK_THREAD);
    struct ev e = iev(EV_TASK_EXIT, 1, EV_NO_OBJ, 0, 0, 0, 0);
    e.pid = PID0;
    model_apply(&M, &e, NULL, NULL);
    cr_expect_str_eq(state_of(t), "exited");
}

/* A deterministic prodcons-like interleaving, played as instr would record it. */
struct sim_task {
    int producer;
    int pc; /* position in its loop */
    int blocked;
};

Test(model, semaphore_follows_val_and_never_goes_below_zero)
{
    enum { P = 3, C = 2, CAP = 3, STEPS = 4000 };
    const uint32_t EMPTY = 0, FULL = 1, BUF = 2, Q = 3;
    create(EMPTY, "empty", OK_SEMAPHORE, CAP, CAP);
    create(FULL, "full", OK_SEMAPHORE, 0, CAP);
    create(BUF, "buf", OK_MUTEX, 0, 0);
    create(Q, "buffer", OK_QUEUE, 0, CAP);
    struct sim_task tasks[P + C];
    for (int i = 0; i < P + C; i++) {
        start_task((uint32_t)i + 1, i < P ? "producer" : "consumer", TK_PROCESS);
        tasks[i] = (struct sim_task){.producer = i < P};
    }
    int64_t sem[2] = {CAP, 0}, depth = 0, item = 0;
    int holder = -1;
    unsigned rnd = 12345;

    for (int step = 0; step < STEPS; step++) {
        rnd = rnd * 1103515245u + 12345u;
        int i = (int)((rnd >> 16) % (P + C));
        struct sim_task *t = &tasks[i];
        uint32_t slot = (uint32_t)i + 1;
        uint32_t down = t->producer ? EMPTY : FULL, up = t->producer ? FULL : EMPTY;
        switch (t->pc) {
        case 0: /* sem_wait(down) */
            if (t->blocked) {
                if (sem[down] == 0)
                    continue;
                sem[down]--;
                op(EV_SEM_ACQUIRED, slot, down, sem[down], 0, 0);
                t->blocked = 0;
            } else if (sem[down] == 0) {
                op(EV_SEM_WAIT, slot, down, 0, 0, 1);
                t->blocked = 1;
                TS_REQUIRE(strcmp(state_of((uint32_t)i), "blocked") == 0,
                           "strcmp(state_of((uint32_t)i), \"blocked\") == 0");
                continue;
            } else {
                op(EV_SEM_WAIT, slot, down, sem[down], 0, 0);
                sem[down]--;
                op(EV_SEM_ACQUIRED, slot, down, sem[down], 0, 0);
            }
            break;
        case 1: /* lock */
            if (holder >= 0)
                continue;
            op(EV_MUTEX_WAIT, slot, BUF, 0, 0, 0);
            op(EV_MUTEX_ACQUIRED, slot, BUF, 1, 0, 0);
            holder = i;
            TS_REQUIRE((model_obj(&M, BUF)->holder) == ((uint32_t)i),
                       "(model_obj(&M, BUF)->holder) == ((uint32_t)i)");
            break;
        case 2: /* put / get */
            depth += t->producer ? 1 : -1;
            op(t->producer ? EV_QUEUE_PUT : EV_QUEUE_GET, slot, Q, depth, item++, 0);
            break;
        case 3: /* unlock */
            op(EV_MUTEX_RELEASE, slot, BUF, 0, 0, 0);
            holder = -1;
            TS_REQUIRE((model_obj(&M, BUF)->holder) == (MODEL_NO_TASK),
                       "(model_obj(&M, BUF)->holder) == (MODEL_NO_TASK)");
            break;
        case 4: /* post(up) */
            sem[up]++;
            op(EV_SEM_POST, slot, up, sem[up], 0, 0);
            break;
        }
        t->pc = (t->pc + 1) % 5;
        TS_REQUIRE(strcmp(state_of((uint32_t)i), "running") == 0,
                   "strcmp(state_of((uint32_t)i), \"running\") == 0");
        for (uint32_t s = 0; s < 2; s++) {
            struct model_obj *o = model_obj(&M, s);
            TS_REQUIRE((o->value) == (sem[s]), "step %d: %s is %lld, expected %lld", step, o->name,
                       (long long)o->value, (long long)sem[s]);
            TS_REQUIRE((o->value) >= (0), "(o->value) >= (0)");
            TS_REQUIRE((o->value) <= (CAP), "(o->value) <= (CAP)");
        }
        TS_REQUIRE((model_obj(&M, Q)->value) == (depth), "(model_obj(&M, Q)->value) == (depth)");
    }
    for (uint32_t s = 0; s < 4; s++) {
        struct model_obj *o = model_obj(&M, s);
        cr_expect_geq(o->min, 0, "%s went below zero", o->name);
        cr_expect_leq(o->max, CAP, "%s went above its bound", o->name);
        cr_expect_eq(o->seq_gaps, 0);
    }
    cr_expect_eq(model_obj(&M, Q)->max, CAP, "the buffer filled up at some point");
    cr_expect_eq(model_obj(&M, EMPTY)->min, 0);
}

Test(model, mutex_holder_is_set_and_cleared_and_waiters_block_on_it)
{
    uint32_t a = start_task(1, "a", TK_PROCESS);
    uint32_t b = start_task(2, "b", TK_PROCESS);
    create(0, "buf", OK_MUTEX, 0, 0);
    cr_expect_eq(model_obj(&M, 0)->holder, MODEL_NO_TASK);

    op(EV_MUTEX_WAIT, 1, 0, 0, 0, 0);
    op(EV_MUTEX_ACQUIRED, 1, 0, 1, 0, 0);
    cr_expect_eq(model_obj(&M, 0)->holder, a);

    op(EV_MUTEX_WAIT, 2, 0, 1, 0, 1); /* contended */
    cr_expect_str_eq(state_of(b), "blocked");
    char label[64];
    model_blocked_label(&M, &M.tasks[b], label, sizeof(label));
    cr_expect_str_eq(label, "mutex:buf");
    cr_expect_eq(model_obj(&M, 0)->holder, a, "a waiter does not take the lock");

    op(EV_MUTEX_RELEASE, 1, 0, 0, 0, 0);
    cr_expect_eq(model_obj(&M, 0)->holder, MODEL_NO_TASK);
    op(EV_MUTEX_ACQUIRED, 2, 0, 1, 0, 0);
    cr_expect_eq(model_obj(&M, 0)->holder, b);
    cr_expect_str_eq(state_of(b), "running");
}

/* exec's folding: a mutex_pairs record counts as the lock/unlock pairs it stands for and
 * leaves the holder to the acquired/release records (another task's may come first in seq
 * order); a hold the conductor read in a slot shows until the task's own record. */
Test(model, folded_pairs_count_as_their_operations_and_a_seen_hold_shows)
{
    uint32_t a = start_task(1, "a", TK_THREAD);
    uint32_t b = start_task(2, "b", TK_THREAD);
    create(0, "m", OK_MUTEX, 0, 0);
    op(EV_MUTEX_ACQUIRED, 1, 0, 1, 0, 0);
    op(EV_MUTEX_RELEASE, 1, 0, 0, 0, 0);
    uint64_t acts = M.tasks[a].actions;
    op(EV_MUTEX_ACQUIRED, 2, 0, 1, 0, 0); /* b came in while a's pairs were folded */
    op(EV_MUTEX_PAIRS, 1, 0, 0, 1000, 0);
    cr_expect_eq(model_obj(&M, 0)->ops, 1 + 2 + 1 + 2000, "create, a pair, b's lock, 1000 pairs");
    cr_expect_eq(M.tasks[a].actions, acts + 2000);
    cr_expect_eq(model_obj(&M, 0)->holder, b, "the pairs do not take b's lock away");
    op(EV_MUTEX_RELEASE, 2, 0, 0, 0, 0);

    uint64_t ops = model_obj(&M, 0)->ops;
    op(EV_MUTEX_SEEN_HELD, 1, 0, 1, 0, 0);
    cr_expect_eq(model_obj(&M, 0)->holder, a, "held, as read in a's slot");
    cr_expect_eq(model_obj(&M, 0)->ops, ops, "a reading is not an operation");
    cr_expect(model_obj(&M, 0)->flags & MODEL_OBJ_SEEN_HELD);
    op(EV_MUTEX_PAIRS, 1, 0, 0, 3, 0); /* the pairs before that lock: still held */
    cr_expect_eq(model_obj(&M, 0)->holder, a);
    op(EV_MUTEX_ACQUIRED, 1, 0, 1, 0, 0); /* the lock's own record */
    cr_expect_eq(model_obj(&M, 0)->holder, a);
    cr_expect_not(model_obj(&M, 0)->flags & MODEL_OBJ_SEEN_HELD, "recorded now");
    op(EV_MUTEX_RELEASE, 1, 0, 0, 0, 0);
    cr_expect_eq(model_obj(&M, 0)->holder, MODEL_NO_TASK);

    op(EV_MUTEX_ACQUIRED, 2, 0, 1, 0, 0);
    op(EV_MUTEX_SEEN_HELD, 1, 0, 1, 0, 0); /* a stale read never takes a held lock */
    cr_expect_eq(model_obj(&M, 0)->holder, b);
}

Test(model, condvar_wait_releases_the_mutex_and_wake_takes_it_back)
{
    uint32_t a = start_task(1, "a", TK_THREAD);
    create(0, "lock", OK_MUTEX, 0, 0);
    create(1, "nonempty", OK_CONDVAR, 0, 0);
    op(EV_MUTEX_WAIT, 1, 0, 0, 0, 0);
    op(EV_MUTEX_ACQUIRED, 1, 0, 1, 0, 0);
    op(EV_MUTEX_RELEASE, 1, 0, 0, 0, 0);
    op(EV_COND_WAIT, 1, 1, 0, 0, 1);
    cr_expect_str_eq(state_of(a), "blocked");
    char label[64];
    model_blocked_label(&M, &M.tasks[a], label, sizeof(label));
    cr_expect_str_eq(label, "cond:nonempty");
    cr_expect_eq(model_obj(&M, 0)->holder, MODEL_NO_TASK);
    op(EV_COND_WAKE, 1, 1, 0, 0, 0);
    cr_expect_str_eq(state_of(a), "running");
    cr_expect_eq(model_obj(&M, 0)->holder, a);
}

Test(model, queue_depth_max_and_last_item)
{
    start_task(1, "p", TK_PROCESS);
    create(0, "buffer", OK_QUEUE, 0, 4);
    struct model_obj *q = model_obj(&M, 0);
    cr_expect_eq(q->capacity, 4);
    for (int i = 0; i < 4; i++)
        op(EV_QUEUE_PUT, 1, 0, i + 1, 100 + i, 0);
    cr_expect_eq(q->value, 4);
    cr_expect_eq(q->max, 4);
    cr_expect_eq(q->last_item, 103);
    op(EV_QUEUE_GET, 1, 0, 3, 100, 0);
    op(EV_QUEUE_GET, 1, 0, 2, 101, 0);
    cr_expect_eq(q->value, 2);
    cr_expect_eq(q->max, 4);
    cr_expect_eq(q->min, 0);
    cr_expect_eq(q->last_item, 101);
    cr_expect_eq(q->ops, 7, "create + 6 operations");
}

Test(model, an_older_seq_does_not_overwrite_a_newer_value)
{
    start_task(1, "p", TK_PROCESS);
    start_task(2, "c", TK_PROCESS);
    create(0, "full", OK_SEMAPHORE, 0, 4);
    /* seq 2 (value 2) arrives before seq 1 (value 1): merged rings, skewed clocks */
    struct ev late = iev(EV_SEM_POST, 2, 0, 2, 2, 0, 0);
    struct ev early = iev(EV_SEM_POST, 1, 0, 1, 1, 0, 0);
    model_apply(&M, &late, NULL, NULL);
    model_apply(&M, &early, NULL, NULL);
    struct model_obj *o = model_obj(&M, 0);
    cr_expect_eq(o->value, 2, "the stale operation must not win");
    cr_expect_eq(o->last_seq, 2);
    cr_expect_geq(o->seq_gaps, 1, "the out-of-order arrival is counted");
    cr_expect_eq(o->ops, 3);
    cr_expect_eq(o->max, 2);

    struct ev next = iev(EV_SEM_POST, 1, 0, 3, 3, 0, 0);
    model_apply(&M, &next, NULL, NULL);
    cr_expect_eq(o->value, 3);
}

/* The conductor's records of a Unix socket (obj): its name in sock_name pieces, then its
 * sock_info (state, inode, peer's inode). */
static void unix_seen(uint32_t obj, const char *name, int state, uint32_t ino, uint32_t peer)
{
    size_t len = strlen(name), off = 0, n;
    do {
        struct ev e = iev(EV_SOCK_NAME, 0, obj, ++seqs[obj], 0, 0, 0);
        e.src = EV_SRC_PROCFS;
        e.task = EV_NO_TASK;
        e.flags = EVF_TEXT;
        memset(e.text, 0, sizeof(e.text));
        n = len - off < SOCK_NAME_PIECE ? len - off : SOCK_NAME_PIECE;
        memcpy(e.text, name + off, n);
        off += n;
        model_apply(&M, &e, NULL, NULL);
    } while (n == SOCK_NAME_PIECE);
    struct ev e = iev(EV_SOCK_INFO, 0, obj, ++seqs[obj], state, 0, (int64_t)255 << 32);
    e.src = EV_SRC_PROCFS;
    e.task = EV_NO_TASK;
    e.extra = (int64_t)((uint64_t)ino | (uint64_t)peer << 32);
    model_apply(&M, &e, NULL, NULL);
}

/* Names of any length (one piece, several, a last piece left empty) come out whole; the
 * inodes are the socket's and its peer's, and the peer is the object with that inode. */
Test(model, a_unix_socket_has_its_name_inode_and_peer_object)
{
    char longest[MODEL_SOCK_NAME_MAX], exact[2 * SOCK_NAME_PIECE + 1];
    memset(longest, 'x', sizeof(longest) - 1);
    longest[0] = '/';
    longest[sizeof(longest) - 1] = '\0';
    memset(exact, 'y', sizeof(exact) - 1);
    exact[0] = '@';
    exact[sizeof(exact) - 1] = '\0';
    const char *names[] = {"/tmp/s.sock", "/tmp/ipcscope-exec-testAbCdEf/a-longer-name.sock",
                           longest, exact, ""};
    for (uint32_t i = 0; i < 5; i++) {
        create(i, "sock", OK_SOCKET, 0, 255);
        unix_seen(i, names[i], 1, 100 + i, i < 2 ? 101 - i : 0);
        cr_expect_str_eq(model_obj(&M, i)->lname, names[i]);
        cr_expect_eq(model_obj(&M, i)->linode, 100 + i);
    }
    cr_expect_eq(model_socket_peer(&M, 0), 1, "100's peer is 101");
    cr_expect_eq(model_socket_peer(&M, 1), 0, "and 101's is 100");
    cr_expect_eq(model_socket_peer(&M, 2), MODEL_NO_OBJ, "no peer");
    unix_seen(3, "@renamed", 10, 103, 0); /* a later name replaces the one before */
    cr_expect_str_eq(model_obj(&M, 3)->lname, "@renamed");
}

Test(model, history_keeps_only_the_last_n_events)
{
    model_free(&M);
    cr_assert_eq(model_init(&M, 4, 3), 0);
    start_task(1, "p", TK_PROCESS);
    create(0, "v", OK_SEMAPHORE, 0, 0);
    for (int i = 1; i <= 10; i++)
        op(EV_SEM_POST, 1, 0, i, 0, 0);
    cr_expect_eq(M.total, 12);
    cr_expect_eq(M.hist_len, 4);
    for (size_t i = 0; i < 4; i++) {
        const struct ev *e = model_hist(&M, i);
        cr_assert_not_null(e);
        cr_expect_eq(e->val, 7 + (int64_t)i, "hist[%zu] should be the post of %zu", i, 7 + i);
    }
    cr_expect_null(model_hist(&M, 4));
    cr_expect_leq(M.spans_len, 3);
    cr_expect_eq(model_obj(&M, 0)->value, 10, "history limits do not limit the state");
}

Test(model, run_ready_blocked_times_add_up_from_sched_events)
{
    uint32_t p = start_task(1, "p", TK_PROCESS);
    uint64_t t0 = M.tasks[p].t_state;
    struct ev e = {
        .src = EV_SRC_BPF, .task = EV_NO_TASK, .pid = PID0 + 1, .tid = PID0 + 1, .obj = EV_NO_OBJ};
    struct {
        uint16_t kind;
        uint64_t dt;
        int64_t val;
    } seq[] = {
        {EV_SCHED_OUT, 1000, 1}, /* preempted: ready for 1500 */
        {EV_SCHED_IN, 2500, 0},  /* running 500 */
        {EV_SCHED_OUT, 3000, 0}, /* blocked 2000 */
        {EV_WAKEUP, 5000, 0},    /* ready 500 */
        {EV_SCHED_IN, 5500, 0},  /* running until settle */
    };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        e.kind = seq[i].kind;
        e.t = t0 + seq[i].dt;
        e.val = seq[i].val;
        e.aux = 1;
        cr_assert_eq(model_apply(&M, &e, NULL, NULL), p);
    }
    cr_expect_str_eq(state_of(p), "running");
    cr_expect_eq(M.tasks[p].cpu, 1);
    cr_expect_eq(M.tasks[p].switches, 2);
    model_settle_times(&M, t0 + 9000);
    struct model_task *t = &M.tasks[p];
    cr_expect_eq(t->run_ns, 1000 + 500 + 3500);
    cr_expect_eq(t->ready_ns, 1500 + 500);
    cr_expect_eq(t->blocked_ns, 2000);
    cr_expect_eq(t->run_ns + t->ready_ns + t->blocked_ns, 9000);
}

Test(model, procfs_zombie_state_marks_a_task_zombie)
{
    uint32_t p = start_task(1, "child", TK_PROCESS);
    struct ev e = procfs_ev(EV_STATE, TS_ZOMBIE, -1);
    cr_assert_eq(model_apply(&M, &e, NULL, NULL), p);
    cr_expect_str_eq(state_of(p), "zombie");
    cr_expect(M.tasks[p].has_exit);
}

/* A trace may say anything: a state of -1 (found by fuzz_export: it became state 255, and the
 * export wrote a span named NULL) changes nothing. */
Test(model, a_state_out_of_range_changes_nothing)
{
    uint32_t p = start_task(1, "c", TK_PROCESS);
    for (int64_t bad = -1; bad >= -300; bad -= 299) {
        struct ev e = procfs_ev(EV_STATE, bad, 0);
        model_apply(&M, &e, NULL, NULL);
        cr_expect_str_eq(state_of(p), "running", "state %lld", (long long)bad);
    }
    struct ev e = procfs_ev(EV_STATE, TS__COUNT + 5, 0);
    model_apply(&M, &e, NULL, NULL);
    cr_expect_str_eq(state_of(p), "running");
}

/* /proc's R for a task still in its call (woken, on its way out): READY, still in the call;
 * /proc's S again: blocked on the same object. */
Test(model, procfs_running_shows_an_instr_blocked_task_ready_still_in_its_call)
{
    uint32_t p = start_task(1, "c", TK_PROCESS);
    create(0, "full", OK_SEMAPHORE, 0, 4);
    op(EV_SEM_WAIT, 1, 0, 0, 0, 1);
    struct ev e = procfs_ev(EV_STATE, TS_RUNNING, 0);
    model_apply(&M, &e, NULL, NULL);
    cr_expect_str_eq(state_of(p), "ready");
    cr_expect_eq(M.tasks[p].blocked_on, 0);
    e = procfs_ev(EV_STATE, TS_BLOCKED, -1);
    model_apply(&M, &e, NULL, NULL);
    cr_expect_str_eq(state_of(p), "blocked");
    cr_expect_eq(M.tasks[p].blocked_on, 0);
}

Test(model, reparent_changes_ppid_and_keeps_the_original)
{
    uint32_t p = start_task(1, "orphan", TK_PROCESS);
    cr_expect_eq(M.tasks[p].ppid, PID0);
    struct ev e = procfs_ev(EV_REPARENT, 1, PID0);
    model_apply(&M, &e, NULL, NULL);
    cr_expect_eq(M.tasks[p].ppid, 1);
    cr_expect_eq(M.tasks[p].orig_ppid, PID0);
}

Test(model, bpf_fork_creates_an_unknown_task)
{
    struct ev e = {.t = 5000,
                   .kind = EV_PROC_FORK,
                   .src = EV_SRC_BPF,
                   .task = EV_NO_TASK,
                   .pid = 9001,
                   .tid = 9001,
                   .obj = EV_NO_OBJ,
                   .aux = 9000,
                   .item = 0};
    uint32_t idx = model_apply(&M, &e, NULL, NULL);
    cr_assert_neq(idx, MODEL_NO_TASK);
    cr_expect_eq(M.tasks[idx].ppid, 9000);
    cr_expect_eq(M.tasks[idx].kind, TK_PROCESS);
    cr_expect_eq(model_task_by_tid(&M, 9001), idx);
}

Test(model, unknown_event_kinds_are_ignored)
{
    struct ev e = {.t = 5000, .kind = EV__COUNT + 3, .task = 1, .obj = EV_NO_OBJ};
    cr_expect_eq(model_apply(&M, &e, NULL, NULL), MODEL_NO_TASK);
    cr_expect_eq(M.total, 0);
    cr_expect_eq(M.ntasks, 0);
}

/* A program's ring can hold any value: a socket call's result of INT64_MIN (not an errno,
 * and not negatable) is narrated as an unknown error. Found by fuzz_records under UBSan. */
Test(model, an_error_out_of_range_is_narrated_as_unknown)
{
    start_task(1, "c", TK_PROCESS);
    create(0, "s", OK_SOCKET, 0, 0);
    char buf[256];
    const int64_t bad[] = {INT64_MIN, -5000, -EAGAIN};
    const char *want[] = {" ?", " ?", " EAGAIN"};
    for (size_t i = 0; i < 3; i++) {
        struct ev e = iev(EV_SOCK_SEND, 1, 0, ++seqs[0], 0, bad[i], 0);
        cr_assert_geq(narrate_brief(&M, &e, buf, sizeof(buf)), 0);
        cr_expect(strstr(buf, want[i]) != NULL, "%lld: %s", (long long)bad[i], buf);
        e = iev(EV_SOCK_CONNECT, 1, 0, ++seqs[0], 80, 0, bad[i]);
        narrate_brief(&M, &e, buf, sizeof(buf));
        cr_expect(strstr(buf, want[i]) != NULL, "connect %lld: %s", (long long)bad[i], buf);
    }
}

/* A Unix socket's calls are told in its own words, not TCP's ("TCP delivers them in order",
 * "from port 0", "the peer sent FIN"); a TCP socket's keep theirs. English and Chinese. */
Test(model, a_unix_sockets_calls_are_narrated_without_tcp_words)
{
    start_task(1, "c", TK_PROCESS);
    create(0, "unix:s", OK_SOCKET, 0, 255);
    create(1, "tcp:80", OK_SOCKET, 0, 6);
    char buf[512];
    const struct {
        uint16_t kind;
        int64_t val, item, aux;
        const char *unix_says, *tcp_says;
    } calls[] = {
        {EV_SOCK_SEND, 0, 8, 0, "peer's receive queue", "TCP delivers"},
        {EV_SOCK_RECV, 0, 0, 0, "peer closed its end", "peer sent FIN"},
        {EV_SOCK_CONNECT, 0, 0, 0, "no handshake on a wire", "SYN-ACK"},
        {EV_SOCK_BIND, 0, 0, 0, "bound unix:s to a name", "127.0.0.1"},
        {EV_SOCK_CLOSE, 0, 0, 0, "reads end-of-file", "TCP goodbye"},
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
        for (uint32_t obj = 0; obj < 2; obj++) {
            struct ev e =
                iev(calls[i].kind, 1, obj, ++seqs[obj], calls[i].val, calls[i].item, calls[i].aux);
            cr_assert_eq(narrate_event(NULL, &M, &e, 0, buf, sizeof(buf)), 1);
            const char *want = obj == 0 ? calls[i].unix_says : calls[i].tcp_says;
            cr_expect(strstr(buf, want), "%s: %s", obj == 0 ? "unix" : "tcp", buf);
            if (obj == 0)
                cr_expect(!strstr(buf, "TCP") && !strstr(buf, "port"), "unix: %s", buf);
            cr_assert_eq(narrate_event(NULL, &M, &e, 1, buf, sizeof(buf)), 1, "zh");
            if (obj == 0)
                cr_expect(!strstr(buf, "TCP") && !strstr(buf, "端口"), "unix, zh: %s", buf);
        }
    }
}

/* A program's message under exec has no id: its mq_send's item is its length (extra 1), told
 * as such ("a message of 7 bytes"), where a scenario's message has its number. */
Test(model, a_programs_message_is_told_by_its_length)
{
    start_task(1, "c", TK_PROCESS);
    create(0, "q", OK_MQ, 0, 4);
    char buf[512];
    struct ev e = iev(EV_MQ_SEND, 1, 0, ++seqs[0], 1, 7, 0);
    e.extra = MQ_ITEM_BYTES;
    cr_assert_eq(narrate_event(NULL, &M, &e, 0, buf, sizeof(buf)), 1);
    cr_expect(strstr(buf, "a message of 7 bytes"), "%s", buf);
    narrate_brief(&M, &e, buf, sizeof(buf));
    cr_expect(strstr(buf, "7B") && !strstr(buf, "#7"), "%s", buf);
    e = iev(EV_MQ_SEND, 1, 0, ++seqs[0], 2, 7, 0);
    cr_assert_eq(narrate_event(NULL, &M, &e, 0, buf, sizeof(buf)), 1);
    cr_expect(strstr(buf, "sent message 7"), "a scenario's message keeps its number: %s", buf);
    e = iev(EV_SLEEP, 1, EV_NO_OBJ, 0, 10, 0, 0); /* and a sleep says how long in the log */
    narrate_brief(&M, &e, buf, sizeof(buf));
    cr_expect(strstr(buf, "sleep 10 ms"), "%s", buf);
}

/* A signal without a name (glibc keeps 32 and 33: its SIGEV_THREAD timers use 32) is told by
 * its number, never "SIG?". */
Test(model, a_signal_without_a_name_is_told_by_its_number)
{
    start_task(1, "timers", TK_PROCESS);
    char buf[512];
    struct ev e = iev(EV_SIG_DELIVER, 1, EV_NO_OBJ, 0, 32, 0, 0);
    cr_assert_eq(narrate_event(NULL, &M, &e, 0, buf, sizeof(buf)), 1);
    cr_expect(strstr(buf, "signal 32") && !strstr(buf, "SIG?"), "%s", buf);
    narrate_brief(&M, &e, buf, sizeof(buf));
    cr_expect(strstr(buf, "signal 32") && !strstr(buf, "SIG?"), "%s", buf);
    e = iev(EV_SIG_DELIVER, 1, EV_NO_OBJ, 0, SIGUSR1, 0, 0);
    narrate_brief(&M, &e, buf, sizeof(buf));
    cr_expect(strstr(buf, "SIGUSR1"), "a named one keeps its name: %s", buf);
}
