/*
 * names.c - objects named after the program's own variables.
 *
 * When the program is not stripped, its .symtab says which variable lives at an address: a
 * semaphore at &empty becomes "empty", the third of `forks[5]` becomes "forks[2]". The
 * table is mapped read-only once, in the constructor.
 */
#include "preload.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

static struct {
    const Elf64_Sym *sym;
    size_t nsym;
    const char *str;
    size_t strsz;
    uintptr_t bias;
} g_elf;

static int find_bias(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(uintptr_t *)arg = info->dlpi_addr; /* the first object is the program */
    return 1;
}

void elf_load(void)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(Elf64_Ehdr)) {
        if (fd >= 0)
            REAL(close)(fd);
        return;
    }
    size_t size = (size_t)st.st_size;
    const char *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    REAL(close)(fd);
    if (p == MAP_FAILED)
        return;
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)p;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > size)
        return;
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(p + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const Elf64_Shdr *str = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > size || str->sh_offset + str->sh_size > size)
            return;
        g_elf.sym = (const Elf64_Sym *)(p + sh[i].sh_offset);
        g_elf.nsym = sh[i].sh_size / sizeof(Elf64_Sym);
        g_elf.str = p + str->sh_offset;
        g_elf.strsz = str->sh_size;
    }
    dl_iterate_phdr(find_bias, &g_elf.bias);
}

int elf_name(const void *addr, size_t psize, char *buf, size_t n)
{
    uintptr_t a = (uintptr_t)addr - g_elf.bias;
    for (size_t i = 0; i < g_elf.nsym; i++) {
        const Elf64_Sym *s = &g_elf.sym[i];
        if (ELF64_ST_TYPE(s->st_info) != STT_OBJECT || !s->st_size || a < s->st_value ||
            a >= s->st_value + s->st_size || s->st_name >= g_elf.strsz)
            continue;
        const char *name = g_elf.str + s->st_name;
        size_t off = a - s->st_value;
        if (s->st_size == psize || (off == 0 && s->st_size % psize))
            snprintf(buf, n, "%s", name);
        else if (s->st_size % psize == 0 && off % psize == 0)
            snprintf(buf, n, "%s[%zu]", name, off / psize);
        else
            snprintf(buf, n, "%s+%zu", name, off);
        return 1;
    }
    return 0;
}
