/*
 * fuzz_trace.c - libFuzzer harness: any bytes as a trace file, read the way `ipcscope replay
 * FILE --headless` reads one: loaded, played to its end, its snapshot built and printed.
 * None of it may crash, leak or hang. (fuzz_export does `ipcscope export`.)
 */
#include "fuzz_util.h"

#include "model.h"
#include "replay.h"

#include <jansson.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    char err[512];
    struct replay *rp;
    if (!path || replay_load(&rp, path, err, sizeof(err)) < 0)
        return 0;
    struct model m;
    if (model_init(&m, rp->hist_cap, 4096) == 0) {
        replay_seek(rp, &m, rp->n);
        json_t *snap = replay_snapshot(rp->header, rp->trailer, &m);
        json_dumpf(snap, fuzz_sink(), JSON_INDENT(2));
        json_decref(snap);
        model_free(&m);
    }
    replay_free(rp);
    return 0;
}
