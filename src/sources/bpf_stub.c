/*
 * bpf_stub.c - the eBPF source when the build had no clang, bpftool, libbpf or BTF.
 *
 * Same API as bpf.c; opening always fails with a reason the UI can show, so the rest of
 * ipcscope runs on instr + /proc as usual.
 */
#include "bpf.h"

#include <errno.h>
#include <stdio.h>

#define STUB_WHY "built without bpf (clang/bpftool/libbpf missing at build time)"

int bpf_source_open(struct bpf_source **out, char *why, size_t whylen)
{
    if (out)
        *out = NULL;
    if (why && whylen)
        snprintf(why, whylen, "%s", STUB_WHY);
    return -ENOTSUP;
}

int bpf_source_track(struct bpf_source *s, int tgid)
{
    (void)s;
    (void)tgid;
    return -ENOTSUP;
}

int bpf_source_watch_port(struct bpf_source *s, uint16_t port)
{
    (void)s;
    (void)port;
    return -ENOTSUP;
}

int bpf_source_fd(const struct bpf_source *s)
{
    (void)s;
    return -ENOTSUP;
}

int bpf_source_drain(struct bpf_source *s, void (*cb)(const struct ev *e, void *arg), void *arg)
{
    (void)s;
    (void)cb;
    (void)arg;
    return -ENOTSUP;
}

uint64_t bpf_source_lost(const struct bpf_source *s)
{
    (void)s;
    return 0;
}

uint64_t bpf_source_missed(const struct bpf_source *s)
{
    (void)s;
    return 0;
}

int bpf_source_stats(const struct bpf_source *s, uint64_t *run_ns, uint64_t *run_cnt)
{
    (void)s;
    if (run_ns)
        *run_ns = 0;
    if (run_cnt)
        *run_cnt = 0;
    return -ENOTSUP;
}

int bpf_source_prog_stats(const struct bpf_source *s, const char *prog_name, uint64_t *run_ns,
                          uint64_t *run_cnt)
{
    (void)prog_name;
    return bpf_source_stats(s, run_ns, run_cnt);
}

void bpf_source_close(struct bpf_source *s)
{
    (void)s;
}
