/*
 * lttng_tp.h - the LTTng-UST tracepoint the instrumentation benchmark compares against.
 *
 * One event, ipcscope_bench:ev4, of four 64-bit integer fields (the payload of our own
 * record). Built only by scripts/bench, with -llttng-ust -ldl, when lttng/tracepoint.h exists.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER ipcscope_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "lttng_tp.h"

#if !defined(IPCSCOPE_LTTNG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define IPCSCOPE_LTTNG_TP_H

#include <lttng/tracepoint.h>
#include <stdint.h>

LTTNG_UST_TRACEPOINT_EVENT(ipcscope_bench, ev4,
                           LTTNG_UST_TP_ARGS(int64_t, a, int64_t, b, int64_t, c, int64_t, d),
                           LTTNG_UST_TP_FIELDS(lttng_ust_field_integer(int64_t, a, a)
                                                   lttng_ust_field_integer(int64_t, b, b)
                                                       lttng_ust_field_integer(int64_t, c, c)
                                                           lttng_ust_field_integer(int64_t, d, d)))

#endif

#include <lttng/tracepoint-event.h>
