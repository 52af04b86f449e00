/*
 * test_ring.c - the single-producer, single-consumer event ring (src/ring.[ch]).
 *
 * Wrap-around keeps every record intact and in order; a producer thread or a forked producer
 * process pushing millions of numbered records through a small shared ring loses none that
 * it was not told about (popped + dropped == pushed, popped ids strictly increasing), and a
 * consumer that never reads makes drops that are counted exactly.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring.h"

#define STRESS_RECORDS 5000000ull

/* A record whose every field is derived from id, so a torn or stale copy shows. */
static struct ev numbered(uint64_t id)
{
    struct ev e = {.t = id,
                   .kind = (uint16_t)(id % EV__COUNT),
                   .src = (uint8_t)(id % 3),
                   .task = (uint32_t)(id * 7),
                   .pid = (int32_t)(id & 0x7fffffff),
                   .tid = (int32_t)(~id & 0x7fffffff),
                   .obj = (uint32_t)(id >> 3),
                   .seq = (uint32_t)(id * 13),
                   .val = (int64_t)id,
                   .item = (int64_t)(id * 3),
                   .aux = -(int64_t)id,
                   .extra = (int64_t)(id ^ 0x5a5a5a5a5a5a5a5aull)};
    return e;
}

static int intact(const struct ev *e)
{
    struct ev want = numbered(e->t);
    return memcmp(e, &want, sizeof(want)) == 0;
}

static struct ring *shared_ring(uint32_t cap)
{
    void *p =
        mmap(NULL, ring_bytes(cap), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED, "mmap of %zu bytes failed", ring_bytes(cap));
    ring_init(p, cap);
    return p;
}

static void free_ring(struct ring *r)
{
    munmap(r, ring_bytes(r->cap));
}

Test(ring, capacity_is_rounded_up_to_a_power_of_two)
{
    struct ring *r = shared_ring(100);
    cr_expect_eq(r->cap, 128);
    cr_expect_eq(r->mask, 127);
    cr_expect_eq(ring_pending(r), 0);
    cr_expect_eq(ring_dropped(r), 0);
    cr_expect_geq(ring_bytes(100), sizeof(struct ring) + 128 * sizeof(struct ev));
    free_ring(r);
}

Test(ring, wrap_around_keeps_records_intact_and_in_order)
{
    struct ring *r = shared_ring(8);
    struct ev out[16];
    uint64_t next_push = 0, next_pop = 0;

    /* batches of every size 1..8, many times round: head and tail cross the end often */
    for (int round = 0; round < 2000; round++) {
        unsigned batch = 1 + (unsigned)round % 8;
        for (unsigned i = 0; i < batch; i++) {
            struct ev e = numbered(next_push++);
            TS_REQUIRE((ring_push(r, &e)) == (0), "push %llu refused", (unsigned long long)e.t);
        }
        TS_REQUIRE((ring_pending(r)) == (batch), "(ring_pending(r)) == (batch)");
        size_t got = ring_pop(r, out, 16);
        TS_REQUIRE((got) == (batch), "round %d: popped %zu of %u", round, got, batch);
        for (size_t i = 0; i < got; i++) {
            TS_REQUIRE((out[i].t) == (next_pop), "out of order: got %llu, want %llu",
                       (unsigned long long)out[i].t, (unsigned long long)next_pop);
            TS_REQUIRE(intact(&out[i]), "record %llu damaged", (unsigned long long)out[i].t);
            next_pop++;
        }
    }
    cr_expect_geq(next_push, 8 * 100, "the ring must have wrapped many times");
    cr_expect_eq(ring_dropped(r), 0);
    cr_expect_eq(ring_pending(r), 0);
    free_ring(r);
}

Test(ring, partial_pops_across_the_end_keep_order)
{
    struct ring *r = shared_ring(8);
    struct ev out[3];
    uint64_t pushed = 0, popped = 0;

    /* keep the ring nearly full and pop at most 3 at a time */
    for (int i = 0; i < 5000; i++) {
        while (ring_pending(r) < r->cap) {
            struct ev e = numbered(pushed++);
            TS_REQUIRE((ring_push(r, &e)) == (0), "(ring_push(r, &e)) == (0)");
        }
        size_t got = ring_pop(r, out, 1 + (size_t)i % 3);
        for (size_t k = 0; k < got; k++) {
            TS_REQUIRE((out[k].t) == (popped), "(out[k].t) == (popped)");
            TS_REQUIRE(intact(&out[k]), "intact(&out[k])");
            popped++;
        }
    }
    cr_expect_eq(ring_dropped(r), 0);
    cr_expect_eq(pushed - popped, ring_pending(r));
    free_ring(r);
}

Test(ring, drops_are_counted_exactly_when_nobody_reads)
{
    struct ring *r = shared_ring(64);
    int refused = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        struct ev e = numbered(i);
        if (ring_push(r, &e) < 0)
            refused++;
    }
    cr_expect_eq(refused, 936);
    cr_expect_eq(ring_dropped(r), 936);
    cr_expect_eq(ring_pending(r), 64);

    struct ev out[128];
    size_t got = ring_pop(r, out, 128);
    cr_assert_eq(got, 64);
    for (size_t i = 0; i < got; i++) {
        cr_expect_eq(out[i].t, i, "the first 64 records are the ones kept");
        cr_expect(intact(&out[i]));
    }

    /* room again: pushes succeed and the drop count stays where it was */
    struct ev e = numbered(5000);
    cr_expect_eq(ring_push(r, &e), 0);
    cr_expect_eq(ring_dropped(r), 936);
    cr_expect_eq(ring_pop(r, out, 128), 1);
    cr_expect_eq(out[0].t, 5000);
    free_ring(r);
}

/* ---- concurrent stress ---- */

struct stress {
    struct ring *r;
    uint64_t n;
    int lossless; /* wait for room instead of letting the ring drop */
    uint64_t refused;
};

static void produce(struct stress *s)
{
    for (uint64_t i = 0; i < s->n; i++) {
        struct ev e = numbered(i);
        if (s->lossless) {
            /* single producer: room seen here cannot shrink before the push */
            while (ring_pending(s->r) >= s->r->cap)
                sched_yield();
        }
        if (ring_push(s->r, &e) < 0)
            s->refused++;
    }
}

static void *producer_thread(void *arg)
{
    produce(arg);
    return NULL;
}

struct consumed {
    uint64_t popped;
    uint64_t last;
    int have_last;
};

/* Pop whatever is there; check order and integrity. Returns records popped. */
static size_t consume(struct ring *r, struct consumed *c, struct ev *buf, size_t max)
{
    size_t got = ring_pop(r, buf, max);
    for (size_t i = 0; i < got; i++) {
        if (!intact(&buf[i]))
            cr_assert_fail("record with id %llu is damaged", (unsigned long long)buf[i].t);
        if (c->have_last && buf[i].t <= c->last)
            cr_assert_fail("ids not increasing: %llu after %llu", (unsigned long long)buf[i].t,
                           (unsigned long long)c->last);
        c->last = buf[i].t;
        c->have_last = 1;
    }
    c->popped += got;
    return got;
}

/* Consume until the producer is done (done() true) and the ring is empty. */
static void consume_all(struct ring *r, struct consumed *c, int (*done)(void *), void *arg)
{
    struct ev buf[256];
    for (;;) {
        int finished = done(arg);
        if (consume(r, c, buf, 256) == 0) {
            if (finished && ring_pending(r) == 0)
                break;
            sched_yield();
        }
    }
}

struct thread_done {
    _Atomic int flag;
};

static int thread_is_done(void *arg)
{
    return atomic_load(&((struct thread_done *)arg)->flag);
}

struct stress_thread_arg {
    struct stress *s;
    struct thread_done *d;
};

static void *producer_thread_flag(void *arg)
{
    struct stress_thread_arg *a = arg;
    producer_thread(a->s);
    atomic_store(&a->d->flag, 1);
    return NULL;
}

static void run_thread_stress(uint32_t cap, int lossless, struct stress *s, struct consumed *c)
{
    struct thread_done d = {0};
    *s = (struct stress){.r = shared_ring(cap), .n = STRESS_RECORDS, .lossless = lossless};
    *c = (struct consumed){0};
    struct stress_thread_arg a = {s, &d};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, producer_thread_flag, &a), 0);
    consume_all(s->r, c, thread_is_done, &d);
    pthread_join(th, NULL);
}

Test(ring, threads_lossy_every_record_popped_or_counted_as_dropped, .timeout = 120)
{
    struct stress s;
    struct consumed c;
    run_thread_stress(64, 0, &s, &c);
    uint64_t dropped = ring_dropped(s.r);
    cr_expect_eq(c.popped + dropped, STRESS_RECORDS, "popped %llu + dropped %llu != pushed %llu",
                 (unsigned long long)c.popped, (unsigned long long)dropped, STRESS_RECORDS);
    cr_expect_eq(dropped, s.refused, "the ring's drop count must equal the refused pushes");
    cr_expect_gt(c.popped, 0);
    cr_log_info("lossy threads: %llu popped, %llu dropped", (unsigned long long)c.popped,
                (unsigned long long)dropped);
    free_ring(s.r);
}

Test(ring, threads_lossless_delivers_millions_with_zero_drops, .timeout = 120)
{
    struct stress s;
    struct consumed c;
    run_thread_stress(64, 1, &s, &c);
    cr_expect_eq(ring_dropped(s.r), 0);
    cr_expect_eq(c.popped, STRESS_RECORDS);
    cr_expect_eq(c.last, STRESS_RECORDS - 1);
    free_ring(s.r);
}

/* The real arrangement: producer and consumer in different processes, MAP_SHARED ring. */
struct proc_flag {
    _Atomic int done;
    _Atomic uint64_t refused;
};

static int proc_is_done(void *arg)
{
    return atomic_load(&((struct proc_flag *)arg)->done);
}

static void run_process_stress(uint32_t cap, int lossless)
{
    struct ring *r = shared_ring(cap);
    struct proc_flag *f =
        mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(f, MAP_FAILED);
    atomic_store(&f->done, 0);

    pid_t pid = fork();
    if (pid < 0) /* no assertion before the branch: the child must not report to Criterion */
        cr_assert_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        struct stress s = {.r = r, .n = STRESS_RECORDS, .lossless = lossless};
        produce(&s);
        atomic_store(&f->refused, s.refused);
        atomic_store(&f->done, 1);
        _exit(0);
    }
    struct consumed c = {0};
    consume_all(r, &c, proc_is_done, f);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "producer process failed");

    uint64_t dropped = ring_dropped(r);
    cr_expect_eq(c.popped + dropped, STRESS_RECORDS, "popped %llu + dropped %llu != %llu",
                 (unsigned long long)c.popped, (unsigned long long)dropped, STRESS_RECORDS);
    cr_expect_eq(dropped, atomic_load(&f->refused));
    if (lossless) {
        cr_expect_eq(dropped, 0);
        cr_expect_eq(c.popped, STRESS_RECORDS);
        cr_expect_eq(c.last, STRESS_RECORDS - 1);
    }
    cr_log_info("processes (%s): %llu popped, %llu dropped", lossless ? "lossless" : "lossy",
                (unsigned long long)c.popped, (unsigned long long)dropped);
    munmap(f, sizeof(*f));
    free_ring(r);
}

Test(ring, processes_lossy_every_record_popped_or_counted_as_dropped, .timeout = 120)
{
    run_process_stress(64, 0);
}

Test(ring, processes_lossless_delivers_millions_with_zero_drops, .timeout = 120)
{
    run_process_stress(256, 1);
}
