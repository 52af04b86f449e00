# The scenario sources: one line per scenario (plus helpers they share).
set(SCENARIO_SOURCES
    src/scenarios/table.c
    src/scenarios/prodcons.c
    src/scenarios/fork.c
    src/scenarios/orphan.c
    src/scenarios/zombie.c
    src/scenarios/pipe.c
    src/scenarios/message_queue.c
    src/scenarios/shared_memory.c
    src/scenarios/semaphore.c
    src/scenarios/nice.c
    src/scenarios/process_pool.c
    src/scenarios/signals.c
)
