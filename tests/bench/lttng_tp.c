/*
 * lttng_tp.c - instantiates the ipcscope_bench:ev4 tracepoint provider (see lttng_tp.h).
 *
 * Compiled only by scripts/bench into the LTTng variant of bench_instr; the CMake build never
 * sees it (its glob takes bench_*.c only).
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "lttng_tp.h"
