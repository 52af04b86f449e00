/*
 * table.c - the scenario table: one line per scenario, in catalogue order.
 */
#include "../scenario.h"

extern const struct scenario scenario_prodcons;

const struct scenario *const scenario_table[] = {
    &scenario_prodcons,
};

const size_t scenario_count = sizeof(scenario_table) / sizeof(scenario_table[0]);
