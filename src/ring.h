/*
 * ring.h - single-producer, single-consumer ring of event records in shared memory.
 *
 * Each task (process or thread) owns one ring and is its only producer; the conductor is
 * its only consumer. A full ring never blocks the producer: the record is dropped and the
 * drop is counted, so losses are exact and visible. The ring is self-contained (records
 * follow the header), so it works at any address the shared region is mapped at.
 */
#ifndef IPCSCOPE_RING_H
#define IPCSCOPE_RING_H

#include "event.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct ring {
    _Alignas(64) _Atomic uint64_t head; /* next record to write; producer only */
    _Atomic uint64_t dropped;           /* records refused because the ring was full */
    uint64_t tail_seen;                 /* producer's last look at tail: saves a shared read */
    _Alignas(64) _Atomic uint64_t tail; /* next record to read; consumer only */
    _Alignas(64) uint32_t cap;          /* records, a power of two */
    uint32_t mask;
    _Alignas(64) struct ev recs[];
};

/* Bytes a ring of cap records needs (cap rounded up to a power of two). */
size_t ring_bytes(uint32_t cap);

/* Initialise memory of ring_bytes(cap) bytes as an empty ring. */
void ring_init(struct ring *r, uint32_t cap);

/* The producer of a ring in memory that was all zeros (a region made afresh) sets its size
 * before the first record: cap a power of two. A ring with a size already is left as it is
 * (a slot used before). Head, tail and drops are zero already. */
static inline void ring_prepare(struct ring *r, uint32_t cap)
{
    if (!r->cap) {
        r->mask = cap - 1;
        r->cap = cap;
    }
}

/* Producer: append e. Returns 0, or -1 when full (the drop is counted). Never blocks. */
static inline struct ev *ring_reserve(struct ring *r);
static inline void ring_commit(struct ring *r);

static inline int ring_push(struct ring *r, const struct ev *e)
{
    struct ev *slot = ring_reserve(r);
    if (!slot)
        return -1;
    *slot = *e;
    ring_commit(r);
    return 0;
}

/* Producer, zero-copy: the slot for the next record, or NULL when full (the drop is counted).
 * Fill it, then ring_commit. Never blocks. */
static inline struct ev *ring_reserve(struct ring *r)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (head - r->tail_seen >= r->cap) {
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head - r->tail_seen >= r->cap) {
            uint64_t d = atomic_load_explicit(&r->dropped, memory_order_relaxed);
            atomic_store_explicit(&r->dropped, d + 1, memory_order_release);
            return NULL;
        }
    }
    return &r->recs[head & r->mask];
}

/* Producer: publish the record filled in the slot ring_reserve gave. */
static inline void ring_commit(struct ring *r)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

/* Consumer: copy up to max records into out, oldest first. Returns how many. */
size_t ring_pop(struct ring *r, struct ev *out, size_t max);

/* Consumer, when the producer is not trusted (it shares the ring's memory and may write any
 * head, cap or mask): as ring_pop, with cap (a power of two) the consumer's own record of
 * the ring's size. Reads stay inside the ring whatever the header says; a head more than cap
 * records ahead (which no producer can reach) skips the ring to it, reading nothing. */
size_t ring_pop_cap(struct ring *r, uint32_t cap, struct ev *out, size_t max);

/* Records waiting to be read, and records dropped so far. */
uint64_t ring_pending(const struct ring *r);
uint64_t ring_dropped(const struct ring *r);

#endif
