/*
 * bpf.c - loader for the eBPF probes (probes/ipcscope.bpf.c) through the generated skeleton.
 *
 * Opens the object, turns off programs whose tracepoint this kernel lacks, sets rodata,
 * loads, attaches and wraps the ring buffer. Every failure ends in one cleanup path with a
 * short human reason; records are converted into `struct ev` on drain.
 */
#include "bpf.h"

#include "../privs.h"
#include "btf_names.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "../../probes/ipcscope.h"
#include "ipcscope.skel.h"

#define DEFAULT_BTF_PATH "/sys/kernel/btf/vmlinux"
#define TRACEFS_PATH "/sys/kernel/tracing"
#define TRACEFS_MAGIC_NR 0x74726163

#define LAST_SIGNALS 64

struct bpf_source {
    struct ipcscope_bpf *skel;
    struct ring_buffer *rb;
    void (*cb)(const struct ev *e, void *arg);
    void *arg;
    struct {
        int32_t tgid, sig;
    } last_sig[LAST_SIGNALS]; /* the last signal generated for a process (see fatal_signal) */
};

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    (void)level;
    (void)fmt;
    (void)ap;
    return 0;
}

static int libbpf_verbose(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    (void)level;
    return vfprintf(stderr, fmt, ap);
}

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (!why || !whylen)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* Best effort: the tp_btf probes need only BTF, but other tools expect tracefs mounted. */
static void mount_tracefs(void)
{
    struct statfs st;

    if (geteuid() != 0)
        return;
    if (statfs(TRACEFS_PATH, &st) == 0 && st.f_type == TRACEFS_MAGIC_NR)
        return;
    (void)mount("nodev", TRACEFS_PATH, "tracefs", 0, NULL);
}

/* The reason for a failed load or attach, from its error. */
static void explain(int err, const char *step, char *why, size_t whylen)
{
    if (err == -EPERM || err == -EACCES)
        set_why(why, whylen, "needs CAP_BPF and CAP_PERFMON (or root)");
    else if (err == -ENOENT || err == -ESRCH)
        set_why(why, whylen, "%s: kernel lacks a tracepoint or BTF type", step);
    else
        set_why(why, whylen, "%s failed: %s", step, strerror(-err));
}

/* Turn off programs whose tp_btf tracepoint this kernel does not have (its BTF names no
 * btf_trace_<tracepoint>, the typedef the kernel makes for each). The names are looked up in
 * the file's string section only: libbpf parses the whole file again to load. Returns how
 * many programs remain on, or -errno (-EINVAL: not a BTF file). */
static int disable_missing(struct bpf_object *obj, const char *btf_path)
{
    enum { MAX_PROGS = 32 };
    struct bpf_program *prog, *progs[MAX_PROGS];
    char names[MAX_PROGS][64];
    const char *want[MAX_PROGS];
    unsigned char found[MAX_PROGS];
    size_t n = 0;
    int on = 0;

    bpf_object__for_each_program(prog, obj)
    {
        const char *sec = bpf_program__section_name(prog);

        if (strncmp(sec, "tp_btf/", 7) != 0) {
            on++;
            continue;
        }
        int len =
            n < MAX_PROGS ? snprintf(names[n], sizeof(names[n]), "btf_trace_%s", sec + 7) : -1;
        if (len < 0 || (size_t)len >= sizeof(names[n])) {
            bpf_program__set_autoload(prog, false); /* cannot be checked: leave it off */
            continue;
        }
        progs[n] = prog;
        want[n] = names[n];
        n++;
    }
    int err = btf_names_find(btf_path, want, n, found);
    if (err)
        return err;
    for (size_t i = 0; i < n; i++) {
        if (found[i])
            on++;
        else
            bpf_program__set_autoload(progs[i], false);
    }
    return on;
}

static int check_btf(const char *path, char *why, size_t whylen)
{
    if (access(path, R_OK) != 0) {
        int err = -errno;

        if (err == -EACCES)
            set_why(why, whylen, "cannot read BTF at %s (permission)", path);
        else
            set_why(why, whylen, "no BTF at %s", path);
        return err;
    }
    return 0;
}

/* Open the skeleton, drop missing programs, set rodata. */
static int open_skel(struct bpf_source *s, const char *btf_path, char *why, size_t whylen)
{
    LIBBPF_OPTS(bpf_object_open_opts, opts);

    if (strcmp(btf_path, DEFAULT_BTF_PATH) != 0)
        opts.btf_custom_path = btf_path;
    s->skel = ipcscope_bpf__open_opts(&opts);
    if (!s->skel) {
        int err = -errno;
        set_why(why, whylen, "cannot open the BPF object: %s", strerror(-err));
        return err;
    }

    int on = disable_missing(s->skel->obj, btf_path);
    if (on < 0) {
        set_why(why, whylen, "cannot read BTF at %s: %s", btf_path,
                on == -EINVAL ? "not a BTF file" : strerror(-on));
        return on;
    }
    if (on == 0) {
        set_why(why, whylen, "kernel has none of the tracepoints");
        return -ENOENT;
    }

    s->skel->rodata->self_tgid = (__u32)getpid();
    s->skel->rodata->wakeup_bytes = IPCS_RINGBUF_BYTES / 2;
    s->skel->rodata->wake_always = privs_getenv("IPCSCOPE_BPF_WAKE_ALWAYS") != NULL;
    return 0;
}

/* Loading, libbpf (1.1) reads the kernel's BTF, ~5 MB, into fresh memory twice and indexes
 * it: ~2,800 page faults. Where a fault is dear (on a virtual machine: ~15 us each where this
 * was measured, 45 of the load's 65 ms) the load is much faster on heap memory that 2 MB pages
 * back. So for the load, blocks up to BTF_HEAP come from the heap (not each from its own
 * mmap), and the heap's next BTF_HEAP bytes are asked for huge pages (MADV_HUGEPAGE: a
 * hint; without transparent huge pages nothing changes but where the blocks come from).
 * After it, the memory libbpf freed is given back; the thresholds stay where glibc's own
 * moving ones would be after freeing such a block. 1 when the heap was prepared. */
#define BTF_HEAP (16u << 20)
#define HUGE_PAGE ((uintptr_t)2 << 20)

static int heap_for_btf(void)
{
#ifdef __GLIBC__
    if (!mallopt(M_MMAP_THRESHOLD, 2 * BTF_HEAP) || !mallopt(M_TRIM_THRESHOLD, 4 * BTF_HEAP))
        return 0;
    char *p = malloc(BTF_HEAP);
    if (!p)
        return 0;
    uintptr_t from = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t to = ((uintptr_t)p + BTF_HEAP) & ~(HUGE_PAGE - 1);
    if (to > from)
        (void)madvise((void *)from, to - from, MADV_HUGEPAGE);
    free(p); /* the heap keeps it (below the trim threshold) for libbpf's blocks */
    return 1;
#else
    return 0;
#endif
}

static void heap_after_btf(int prepared)
{
#ifdef __GLIBC__
    if (!prepared)
        return;
    mallopt(M_TRIM_THRESHOLD, 2 * BTF_HEAP);
    malloc_trim(0);
#else
    (void)prepared;
#endif
}

static int on_record(void *ctx, void *data, size_t size);

int bpf_source_open(struct bpf_source **out, char *why, size_t whylen)
{
    /* a user's BTF would steer what the probes read: never with raised privileges */
    const char *btf_path = privs_getenv("IPCSCOPE_BTF_PATH");
    struct bpf_source *s = NULL;
    int err;

    *out = NULL;
    if (!btf_path || !*btf_path)
        btf_path = DEFAULT_BTF_PATH;
    err = check_btf(btf_path, why, whylen);
    if (err)
        goto cleanup;

    libbpf_set_print(privs_getenv("IPCSCOPE_BPF_DEBUG") ? libbpf_verbose : libbpf_quiet);
    mount_tracefs();
    s = calloc(1, sizeof(*s));
    if (!s) {
        err = -ENOMEM;
        set_why(why, whylen, "out of memory");
        goto cleanup;
    }
    err = open_skel(s, btf_path, why, whylen);
    if (err)
        goto cleanup;

    int heap = heap_for_btf();
    err = ipcscope_bpf__load(s->skel);
    heap_after_btf(heap);
    if (err) {
        explain(err, "load", why, whylen);
        goto cleanup;
    }
    err = ipcscope_bpf__attach(s->skel);
    if (err) {
        explain(err, "attach", why, whylen);
        goto cleanup;
    }

    s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record, s, NULL);
    if (!s->rb) {
        err = -errno;
        explain(err, "ring buffer", why, whylen);
        goto cleanup;
    }
    *out = s;
    return 0;

cleanup:
    bpf_source_close(s);
    return err ? err : -1;
}

int bpf_source_track(struct bpf_source *s, int tgid)
{
    if (!s || tgid <= 0 || (unsigned)tgid / 64 >= IPCS_TRACK_WORDS)
        return -EINVAL;
    __atomic_fetch_or(&s->skel->bss->tracked[tgid / 64], 1ull << (tgid % 64), __ATOMIC_SEQ_CST);
    return 0;
}

int bpf_source_watch_port(struct bpf_source *s, uint16_t port)
{
    __u16 key = port;
    __u8 two = 2;
    int err;

    if (!s || !port)
        return -EINVAL;
    err = bpf_map__update_elem(s->skel->maps.ports, &key, sizeof(key), &two, sizeof(two), BPF_ANY);
    return err < 0 ? err : 0;
}

int bpf_source_fd(const struct bpf_source *s)
{
    if (!s || !s->rb)
        return -EINVAL;
    return ring_buffer__epoll_fd(s->rb);
}

/* Wait status (as the kernel keeps it) to "exit status, or 128 + signal". */
static int64_t exit_status(int64_t raw)
{
    if (raw & 0x7f)
        return 128 + (raw & 0x7f);
    return (raw >> 8) & 0xff;
}

/* Fill the kind-specific part of e from r. Returns 0, or -1 for an unknown kind. */
static int convert(const struct ipcs_rec *r, struct ev *e)
{
    switch (r->kind) {
    case IPCS_SCHED_IN:
        e->kind = EV_SCHED_IN;
        e->aux = r->cpu;
        return 0;
    case IPCS_SCHED_OUT:
        e->kind = EV_SCHED_OUT;
        e->val = r->a;
        e->item = r->b;
        e->aux = r->cpu;
        return 0;
    case IPCS_WAKEUP:
    case IPCS_WAKEUP_NEW:
        e->kind = r->kind == IPCS_WAKEUP ? EV_WAKEUP : EV_WAKEUP_NEW;
        e->aux = r->cpu;
        return 0;
    case IPCS_FORK:
        e->kind = EV_PROC_FORK;
        e->aux = r->a;
        e->item = r->b;
        e->extra = r->c;
        return 0;
    case IPCS_EXEC:
        e->kind = EV_PROC_EXEC;
        e->flags |= EVF_TEXT;
        memcpy(e->text, r->comm, IPCS_COMM_LEN);
        e->text[IPCS_COMM_LEN - 1] = '\0';
        return 0;
    case IPCS_EXIT:
        e->kind = EV_PROC_EXIT;
        e->val = exit_status(r->a);
        e->item = r->a;
        e->aux = r->b;
        return 0;
    case IPCS_REAP:
        e->kind = EV_TASK_REAPED;
        e->val = exit_status(r->a);
        e->aux = r->b;
        e->item = r->c;
        return 0;
    case IPCS_SIG_GENERATE:
        e->kind = EV_SIG_GENERATE;
        e->val = r->a;
        e->aux = r->b;
        e->item = r->c;
        e->extra = r->d;
        return 0;
    case IPCS_SIG_DELIVER:
        e->kind = EV_SIG_DELIVER;
        e->val = r->a;
        e->aux = r->b;
        e->item = r->c;
        return 0;
    case IPCS_TCP_STATE:
        e->kind = EV_TCP_STATE;
        e->val = r->a;
        e->item = r->b;
        e->extra = r->c;
        e->aux = r->d;
        return 0;
    }
    return -1;
}

/* A signal whose default action kills reaches the kernel's delivery code as SIGKILL (the
 * whole group is made to exit): report the signal that was sent, with extra = 1 (fatal, by
 * its default action), not a SIGKILL nobody sent. */
static void fatal_signal(struct bpf_source *s, struct ev *e)
{
    size_t k = (uint32_t)e->pid % LAST_SIGNALS;
    if (e->kind == EV_SIG_GENERATE) {
        s->last_sig[k].tgid = e->pid;
        s->last_sig[k].sig = (int32_t)e->val;
        return;
    }
    if (e->kind != EV_SIG_DELIVER || e->val != SIGKILL || s->last_sig[k].tgid != e->pid)
        return;
    if (s->last_sig[k].sig != SIGKILL && s->last_sig[k].sig > 0) {
        e->val = s->last_sig[k].sig;
        e->extra = 1;
    }
    s->last_sig[k].tgid = 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
    const struct ipcs_rec *r = data;
    struct bpf_source *s = ctx;
    struct ev e;

    if (size < sizeof(*r) || !s->cb)
        return 0;
    memset(&e, 0, sizeof(e));
    e.t = r->t;
    e.src = EV_SRC_BPF;
    e.task = EV_NO_TASK;
    e.obj = EV_NO_OBJ;
    e.pid = r->pid;
    e.tid = r->tid;
    if (convert(r, &e) != 0)
        return 0;
    fatal_signal(s, &e);
    s->cb(&e, s->arg);
    return 0;
}

int bpf_source_drain(struct bpf_source *s, void (*cb)(const struct ev *e, void *arg), void *arg)
{
    int n;

    if (!s || !s->rb)
        return -EINVAL;
    s->cb = cb;
    s->arg = arg;
    n = ring_buffer__consume(s->rb);
    s->cb = NULL;
    s->arg = NULL;
    return n;
}

uint64_t bpf_source_lost(const struct bpf_source *s)
{
    if (!s || !s->skel || !s->skel->bss)
        return 0;
    return __atomic_load_n(&s->skel->bss->lost, __ATOMIC_RELAXED);
}

uint64_t bpf_source_missed(const struct bpf_source *s)
{
    struct bpf_program *prog;
    uint64_t missed = 0;

    if (!s || !s->skel)
        return 0;
    bpf_object__for_each_program(prog, s->skel->obj)
    {
        struct bpf_prog_info info;
        __u32 len = sizeof(info);
        int fd = bpf_program__fd(prog);

        memset(&info, 0, sizeof(info));
        if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
            missed += info.recursion_misses;
    }
    return missed;
}

int bpf_source_prog_stats(const struct bpf_source *s, const char *prog_name, uint64_t *run_ns,
                          uint64_t *run_cnt)
{
    struct bpf_program *prog;
    uint64_t ns = 0, cnt = 0;
    int found = 0;

    if (!s || !s->skel)
        return -EINVAL;
    bpf_object__for_each_program(prog, s->skel->obj)
    {
        struct bpf_prog_info info;
        __u32 len = sizeof(info);
        int fd = bpf_program__fd(prog);

        if (fd < 0 || (prog_name && strcmp(bpf_program__name(prog), prog_name) != 0))
            continue;
        memset(&info, 0, sizeof(info));
        if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
            return -errno;
        ns += info.run_time_ns;
        cnt += info.run_cnt;
        found = 1;
    }
    if (prog_name && !found)
        return -ENOENT; /* no such program, or left off (this kernel lacks its tracepoint) */
    if (run_ns)
        *run_ns = ns;
    if (run_cnt)
        *run_cnt = cnt;
    return 0;
}

int bpf_source_stats(const struct bpf_source *s, uint64_t *run_ns, uint64_t *run_cnt)
{
    return bpf_source_prog_stats(s, NULL, run_ns, run_cnt);
}

void bpf_source_close(struct bpf_source *s)
{
    if (!s)
        return;
    ring_buffer__free(s->rb);
    ipcscope_bpf__destroy(s->skel);
    free(s);
}
