#include "../lesson.h"
const struct lesson lesson_fork = {"fork", 0, 0, 0, 0};
const struct lesson lesson_orphan = {"orphan", 0, 0, 0, 0};
const struct lesson lesson_zombie = {"zombie", 0, 0, 0, 0};
const struct lesson lesson_states = {"states", 0, 0, 0, 0};
const struct lesson lesson_nice = {"nice", 0, 0, 0, 0};
const struct lesson lesson_process_pool = {"process-pool", 0, 0, 0, 0};
const struct lesson lesson_threads = {"threads", 0, 0, 0, 0};
const struct lesson lesson_condition = {"condition", 0, 0, 0, 0};
const struct lesson lesson_concurrency = {"concurrency", 0, 0, 0, 0};
const struct lesson lesson_forking_server = {"forking-server", 0, 0, 0, 0};
const struct lesson lesson_threading_server = {"threading-server", 0, 0, 0, 0};
