/*
 * fuzz_cli.c - libFuzzer harness: any words on ipcscope's command line (the input split at
 * NUL bytes into at most 24 arguments) go through the parser and its checks, which must
 * answer with a command or a usage error, never a crash.
 */
#include "fuzz_util.h"

#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define WORDS 24

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *argv[WORDS + 2] = {"ipcscope"};
    int argc = 1;
    for (size_t i = 0; i <= size && argc <= WORDS;) {
        argv[argc++] = copy + i;
        i += strlen(copy + i) + 1;
    }
    argv[argc] = NULL;
    cli_err = fuzz_sink();
    struct cli c;
    memset(&c, 0, sizeof(c));
    cli_parse(argc, argv, &c);
    free(copy);
    return 0;
}
