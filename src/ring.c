/*
 * ring.c - the consumer side of the event rings (the producer side is inline in ring.h).
 */
#include "ring.h"

#include <string.h>

static uint32_t pow2_at_least(uint32_t n)
{
    uint32_t p = 1;
    while (p < n && p < (1u << 30))
        p <<= 1;
    return p;
}

size_t ring_bytes(uint32_t cap)
{
    return sizeof(struct ring) + (size_t)pow2_at_least(cap) * sizeof(struct ev);
}

void ring_init(struct ring *r, uint32_t cap)
{
    cap = pow2_at_least(cap);
    memset(r, 0, sizeof(*r));
    atomic_store(&r->head, 0);
    atomic_store(&r->tail, 0);
    atomic_store(&r->dropped, 0);
    r->cap = cap;
    r->mask = cap - 1;
}

size_t ring_pop(struct ring *r, struct ev *out, size_t max)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t n = (size_t)(head - tail);
    if (n > max)
        n = max;
    if (!n)
        return 0; /* leave tail's cache line alone: the producer reads it */
    for (size_t i = 0; i < n; i++)
        out[i] = r->recs[(tail + i) & r->mask];
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    return n;
}

size_t ring_pop_cap(struct ring *r, uint32_t cap, struct ev *out, size_t max)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t avail = head - tail;
    if (avail > cap) { /* no producer can get this far ahead: the header was overwritten */
        atomic_store_explicit(&r->tail, head, memory_order_release);
        return 0;
    }
    size_t n = (size_t)avail;
    if (n > max)
        n = max;
    if (!n)
        return 0;
    uint64_t mask = cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = r->recs[(tail + i) & mask];
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    return n;
}

uint64_t ring_pending(const struct ring *r)
{
    return atomic_load_explicit(&r->head, memory_order_acquire) -
           atomic_load_explicit(&r->tail, memory_order_acquire);
}

uint64_t ring_dropped(const struct ring *r)
{
    return atomic_load_explicit(&r->dropped, memory_order_acquire);
}
