/*
 * fuzz_records.c - libFuzzer harness: what a hostile worker can write into its ring. The
 * input is a run of 64-byte event records (as a program under `ipcscope exec` may write
 * them, any bytes at all), each checked as the conductor checks records from the rings
 * (run_check_record) and applied to the model with a task and object name taken from the
 * input (unterminated, as in shared memory); the model is then narrated and snapshotted.
 */
#include "fuzz_util.h"

#include "instr.h"
#include "model.h"
#include "narrate.h"
#include "run_int.h"
#include "snapshot.h"

#include <string.h>

#define MAX_TASKS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct model m;
    if (model_init(&m, 256, 1024) < 0)
        return 0;
    char buf[512];
    for (size_t off = 0; off + sizeof(struct ev) <= size; off += sizeof(struct ev)) {
        struct ev e;
        memcpy(&e, data + off, sizeof(e));
        uint32_t slot = data[off] % MAX_TASKS;
        if (run_check_record(&e, slot, MAX_TASKS, 1000, 1u << 30) < 0)
            continue;
        char tname[INSTR_NAME_MAX], oname[INSTR_NAME_MAX];
        memcpy(tname, data + off + 8, sizeof(tname) - 1); /* as the conductor copies them */
        memcpy(oname, data + off + 24, sizeof(oname) - 1);
        tname[sizeof(tname) - 1] = oname[sizeof(oname) - 1] = '\0';
        model_apply(&m, &e, tname, e.obj != EV_NO_OBJ ? oname : NULL);
        narrate_event(NULL, &m, &e, (int)(off & 1), buf, sizeof(buf));
        narrate_brief(&m, &e, buf, sizeof(buf));
        narrate_call(&m, e.kind, e.obj, e.val, buf, sizeof(buf));
    }
    for (size_t t = 0; t < m.ntasks; t++)
        narrate_task(&m, &m.tasks[t], LANG_ZH, buf, sizeof(buf));
    json_t *snap = json_object();
    snapshot_fill(snap, &m, m.t_last);
    json_decref(snap);
    model_free(&m);
    return 0;
}
