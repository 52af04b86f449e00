# The scenario sources: one line per scenario (plus helpers they share).
set(SCENARIO_SOURCES
    src/scenarios/table.c
    src/scenarios/prodcons.c
)
