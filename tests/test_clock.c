/*
 * test_clock.c - the records' timestamps.
 *
 * Whatever clock stamps them (the TSC when it is invariant, also under kvm-clock; else
 * CLOCK_MONOTONIC), a record converted by the conductor must land between the
 * CLOCK_MONOTONIC readings taken just before and after it was emitted, on every CPU, within
 * the drift the clock reports. The clock says which it is and why, and IPCSCOPE_NO_TSC
 * turns the TSC off.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "instr.h"
#include "ring.h"
#include "support.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOLERANCE_NS 50000 /* far above the drift of a rate refined on every drain */

static int cpu_has(const char *flag)
{
    char *info = ts_slurp("/proc/cpuinfo");
    int yes = strstr(info, flag) != NULL;
    free(info);
    return yes;
}

/* Emit n records on the CPU we are on, each bracketed by CLOCK_MONOTONIC; count the ones
 * whose converted time falls outside the bracket (by more than the tolerance). */
static int stamps_outside(struct instr_shared *sh, struct ring *r, int n)
{
    int bad = 0;
    for (int i = 0; i < n; i++) {
        struct ev e;
        uint64_t before = ts_now_ns();
        instr_emit(EV_SEM_POST, 1, i, 0, 0);
        uint64_t after = ts_now_ns();
        cr_assert_eq(ring_pop(r, &e, 1), 1);
        instr_clock_convert(sh, &e);
        cr_assert_eq(e.flags & EVF_TSC, 0, "a converted record still carries TSC ticks");
        if (e.t + TOLERANCE_NS < before || e.t > after + TOLERANCE_NS)
            bad++;
        if (i % 64 == 0) {
            usleep(2000); /* let time pass, and the rate be refined, as drains do */
            instr_clock_refine(sh);
        }
    }
    return bad;
}

Test(clock, converted_stamps_fall_within_clock_monotonic_on_every_cpu, .timeout = 60)
{
    struct instr_shared *sh;
    cr_assert_eq(instr_region_create(&sh, 2, 4096, 1 << 16), 0);
    instr_clock_settle(sh); /* the TSC from the first record on, where it is usable */
    cr_assert_geq(instr_task_begin("clock", TK_PROCESS), 0);
    struct ring *r = instr_ring(sh, 0);
    struct ev start;
    cr_assert_eq(ring_pop(r, &start, 1), 1); /* task_start */
    cpu_set_t all, one;
    cr_assert_eq(sched_getaffinity(0, sizeof(all), &all), 0);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &all))
            continue;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
        int bad = stamps_outside(sh, r, 400);
        cr_expect_eq(bad, 0, "cpu %d: %d of 400 stamps off CLOCK_MONOTONIC by more than %d ns", cpu,
                     bad, TOLERANCE_NS);
    }
    struct instr_clock_info ck;
    instr_clock_info(sh, &ck);
    cr_expect_leq(llabs(ck.drift_ns), TOLERANCE_NS, "drift %lld ns", (long long)ck.drift_ns);
    instr_region_destroy(sh);
}

Test(clock, says_which_clock_stamps_and_why, .timeout = 30)
{
    struct instr_shared *sh;
    cr_assert_eq(instr_region_create(&sh, 2, 64, 1 << 16), 0);
    struct instr_clock_info ck;
    instr_clock_info(sh, &ck);
    char kernel[64] = "";
    ts_read_file("/sys/devices/system/clocksource/clocksource0/current_clocksource", kernel,
                 sizeof(kernel));
    kernel[strcspn(kernel, "\n")] = '\0';
    cr_expect_str_eq(ck.kernel, kernel);
    cr_expect_gt(strlen(ck.stamps), 0);
#if defined(__x86_64__)
    if (cpu_has(" constant_tsc") && cpu_has(" nonstop_tsc"))
        cr_expect(ck.tsc || strstr(ck.stamps, "differs between CPUs"),
                  "an invariant TSC is not used: %s", ck.stamps);
#endif
    cr_expect_eq(ck.tsc, strncmp(ck.stamps, "TSC", 3) == 0, "%s", ck.stamps);
    instr_region_destroy(sh);

    setenv("IPCSCOPE_NO_TSC", "1", 1);
    cr_assert_eq(instr_region_create(&sh, 2, 64, 1 << 16), 0);
    instr_clock_info(sh, &ck);
    cr_expect_eq(ck.tsc, 0);
    cr_expect(strstr(ck.stamps, "CLOCK_MONOTONIC") && strstr(ck.stamps, "IPCSCOPE_NO_TSC"), "%s",
              ck.stamps);
    instr_region_destroy(sh);
}
