/*
 * btf_names.h - does a BTF file name these things? (the probes' check for tracepoints)
 */
#ifndef IPCSCOPE_SOURCES_BTF_NAMES_H
#define IPCSCOPE_SOURCES_BTF_NAMES_H

#include <stddef.h>

/* Sets found[i] to 1 when the string section of the BTF file at path holds names[i] as a
 * whole name (not as the end of a longer one), 0 otherwise. Reads the section in 64 KB
 * pieces. 0, -EINVAL when the file is not BTF (bad magic or header, or shorter than its
 * header says), or -errno. */
int btf_names_find(const char *path, const char *const *names, size_t n, unsigned char *found);

#endif
