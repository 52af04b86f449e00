/*
 * fuzz_export.c - libFuzzer harness: any bytes as a trace file, converted the way `ipcscope
 * export FILE --perfetto OUT.json` converts one (the output goes to /dev/null). Slower than
 * the others: the exporter sizes its model for the largest traces.
 */
#include "fuzz_util.h"

#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    char err[512];
    struct trace_export_stats st;
    if (path)
        trace_export_perfetto(path, "/dev/null", &st, err, sizeof(err));
    return 0;
}
