/*
 * table.c - the scenario table: one line per scenario, in catalogue order.
 */
#include "../scenario.h"

extern const struct scenario scenario_prodcons;
extern const struct scenario scenario_zombie; /* ch5 */
extern const struct scenario scenario_orphan; /* ch5 */
extern const struct scenario scenario_fork; /* ch5 */
extern const struct scenario scenario_signals; /* ch6 */
extern const struct scenario scenario_process_pool; /* ch5 */
extern const struct scenario scenario_nice; /* ch5 */
extern const struct scenario scenario_semaphore; /* ch6 */
extern const struct scenario scenario_shared_memory; /* ch6 */
extern const struct scenario scenario_message_queue; /* ch6 */
extern const struct scenario scenario_pipe; /* ch6 */

const struct scenario *const scenario_table[] = {
    &scenario_prodcons,
    &scenario_fork,
    &scenario_orphan,
    &scenario_zombie,
    &scenario_nice,
    &scenario_process_pool,
    &scenario_pipe,
    &scenario_message_queue,
    &scenario_shared_memory,
    &scenario_signals,
    &scenario_semaphore,
};

const size_t scenario_count = sizeof(scenario_table) / sizeof(scenario_table[0]);
