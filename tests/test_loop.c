/*
 * test_loop.c - the event loop's timers (src/loop.c).
 */
#include "loop.h"
#include "support.h"

#include <criterion/criterion.h>
#include <errno.h>

static void count_tick(struct loop *lp, int id, void *arg)
{
    (void)lp;
    (void)id;
    (*(int *)arg)++;
}

/* A run whose events come every few tens of milliseconds flips its /proc timer between the
 * busy period and the quiet one more often than either elapses. Re-armed from now each time,
 * the timer never fired and /proc was never sampled; a period change must not postpone. */
Test(loop, a_period_change_never_postpones_the_next_tick, .timeout = 10)
{
    struct loop *lp = loop_new();
    cr_assert_not_null(lp);
    int ticks = 0;
    int id = loop_add_timer(lp, 100 * 1000000ull, count_tick, &ticks);
    cr_assert_geq(id, 0);
    long t0 = ts_now_ms();
    for (int flip = 0; ts_now_ms() - t0 < 700; flip++) {
        cr_assert_eq(loop_set_period(lp, id, flip % 2 ? 100 * 1000000ull : 500 * 1000000ull), 0);
        loop_run_once(lp, 30);
    }
    cr_assert_geq(ticks, 2, "a 100 ms timer ticked %d times in 700 ms of period changes", ticks);
    cr_assert_eq(loop_set_period(lp, id, 0), -EINVAL, "a period of 0 is not a period");
    loop_free(lp);
}
