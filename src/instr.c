/*
 * instr.c - the worker side: shared region, task registration, event emission, spawning
 * and the step gate (the instrumented primitives are in instr_obj.c).
 *
 * The hot path (instr_emit with the gate open) is a vDSO clock read, a 64-byte store and a
 * release store: no system call and no wakeup. Semaphore operations take a tiny spin lock
 * around (real operation, value, seq) so that the values recorded in the trace, ordered by
 * seq, are exactly the sequence of values the operations produced.
 */
#define _GNU_SOURCE
#include "instr.h"
#include "sclock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct instr_shared *g_sh;
static int g_fd = -1;                            /* the memfd behind g_sh (close-on-exec) */
static size_t g_size, g_arena_off, g_arena_size; /* g_sh's geometry, as made here */
static uint32_t g_ring_cap;                      /* records per ring (a power of two), too */
void (*instr_spawn_hook)(pid_t pid);
void (*instr_child_hook)(void);
static __thread int tl_slot = -1;
static __thread struct ring *tl_ring;
static __thread int32_t tl_pid, tl_tid;

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- timestamps ----
 * Workers stamp records with the TSC when it is invariant (constant_tsc and nonstop_tsc:
 * it ticks at one rate through frequency changes and idle states) and agrees across the
 * CPUs; the conductor converts the stamps to CLOCK_MONOTONIC with a rate calibrated against
 * it (refined on every drain, and the largest error a refinement finds is kept as the
 * run's drift). That holds whether or not the kernel keeps time with the TSC itself: a
 * kvm-clock guest reads its clock through the vDSO at ~27 ns, the TSC at a few. Otherwise
 * records carry CLOCK_MONOTONIC, and g_clock says why. */

#if defined(__x86_64__)
#include <x86intrin.h>
static inline uint64_t read_tsc(void)
{
    return __rdtsc();
}
#define HAVE_TSC 1
#else
static inline uint64_t read_tsc(void)
{
    return 0;
}
#define HAVE_TSC 0
#endif

#define TSC_SYNC_NS 2000 /* CPUs whose TSCs disagree by more are not stamped with it */

static int g_use_tsc; /* copied from the region: one load less on the hot path */

/* The conductor's view of the clock (it is the process that converts). */
static struct {
    char kernel[32]; /* the kernel's clocksource */
    char why[192];   /* how records are stamped, or why not with the TSC */
    int64_t drift_ns;
    uint64_t calib_ns; /* CLOCK_MONOTONIC time the rate was last refined over */
} g_clock;

/* The record's stamp, and the flag saying which clock it is on. */
static inline uint64_t stamp(uint8_t *flags)
{
    if (g_use_tsc) {
        *flags |= EVF_TSC;
        return read_tsc();
    }
    return now_ns();
}

static int file_has(const char *path, const char *needle)
{
    char buf[8192];
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static void read_clocksource(char *buf, size_t n)
{
    snprintf(buf, n, "unknown");
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (f && fgets(buf, (int)n, f))
        buf[strcspn(buf, "\n")] = '\0';
    if (f)
        fclose(f);
}

/* A TSC reading and the CLOCK_MONOTONIC time it stands for: the tightest of a few brackets,
 * so the pair is within tens of ns. Returns the bracket's width in ticks. */
static uint64_t clock_pair(uint64_t *tsc, uint64_t *mono)
{
    uint64_t best = UINT64_MAX;
    *tsc = *mono = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t a = read_tsc(), m = now_ns(), b = read_tsc();
        if (b - a < best) {
            best = b - a;
            *tsc = a + (b - a) / 2;
            *mono = m;
        }
    }
    return best;
}

/* The rate from two clock pairs; 0 when the ticks did not advance (tsc0 and mono0 may be
 * read from a region a program can rewrite between the caller's check and this call). */
static uint64_t rate_q32(uint64_t tsc0, uint64_t mono0, uint64_t t1, uint64_t m1)
{
    uint64_t ticks = t1 - tsc0;
    return ticks ? (uint64_t)(((unsigned __int128)(m1 - mono0) << 32) / ticks) : 0;
}

/* CLOCK_MONOTONIC minus the TSC scaled by q: the same on every CPU when the TSCs agree. */
static int64_t tsc_offset(uint64_t q)
{
    uint64_t t, m;
    clock_pair(&t, &m);
    return (int64_t)m - (int64_t)(((unsigned __int128)t * q) >> 32);
}

/* Whether the TSC agrees across the CPUs this process may run on (workers inherit them):
 * the conductor moves onto each in turn and compares its offset to CLOCK_MONOTONIC. */
static int tsc_agrees(uint64_t q)
{
    cpu_set_t orig, one;
    if (sched_getaffinity(0, sizeof(orig), &orig) < 0)
        return 0;
    int64_t first = 0, worst = 0;
    int seen = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &orig))
            continue;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (sched_setaffinity(0, sizeof(one), &one) < 0)
            continue;
        int64_t off = tsc_offset(q);
        if (!seen++)
            first = off;
        else if (llabs(off - first) > worst)
            worst = llabs(off - first);
    }
    sched_setaffinity(0, sizeof(orig), &orig);
    if (worst > TSC_SYNC_NS)
        snprintf(g_clock.why, sizeof(g_clock.why),
                 "CLOCK_MONOTONIC (the TSC differs by %lld ns between CPUs)", (long long)worst);
    return worst <= TSC_SYNC_NS;
}

/* Which clock records carry: sh->use_tsc, and g_clock.why saying it in words. */
static int tsc_usable(uint64_t q)
{
    int kernel_tsc = strcmp(g_clock.kernel, "tsc") == 0;
    if (!HAVE_TSC || getenv("IPCSCOPE_NO_TSC")) {
        snprintf(g_clock.why, sizeof(g_clock.why), "CLOCK_MONOTONIC (%s)",
                 HAVE_TSC ? "IPCSCOPE_NO_TSC is set" : "no TSC on this CPU");
        return 0;
    }
    if (!q) {
        snprintf(g_clock.why, sizeof(g_clock.why), "CLOCK_MONOTONIC (the TSC does not advance)");
        return 0;
    }
    if (!file_has("/proc/cpuinfo", " constant_tsc") || !file_has("/proc/cpuinfo", " nonstop_tsc")) {
        snprintf(g_clock.why, sizeof(g_clock.why),
                 "CLOCK_MONOTONIC (the TSC is not invariant: no constant_tsc/nonstop_tsc)");
        return 0;
    }
    if (!kernel_tsc && !tsc_agrees(q))
        return 0;
    snprintf(g_clock.why, sizeof(g_clock.why), "%s",
             kernel_tsc ? "TSC (the kernel's clocksource)"
                        : "TSC, calibrated against CLOCK_MONOTONIC (the kernel keeps time with "
                          "another clocksource)");
    return 1;
}

/* The first clock pair, when the region is made; the rate is measured from it once at least
 * CALIB_MIN_NS have passed (instr_clock_settle, by the first spawn: the run's start, the
 * guard's fork and the cgroup have taken longer by then), then again on every drain once the
 * baseline is REFINE_MIN_NS long. Records are converted at a drain with the rate of that
 * drain, measured over a baseline at least as long as they are old, so its error (the two
 * pairs' widths over the baseline) stays within tens of ns of their time since the first
 * pair. Until the first spawn records carry CLOCK_MONOTONIC. */
#define CALIB_MIN_NS 200000ull      /* 0.2 ms: the rate's first estimate, from a tight pair */
#define CALIB_MAX_NS 2000000ull     /* 2 ms: or from the best a preempted conductor gets */
#define REFINE_MIN_NS 1000000ull    /* 1 ms: refined from then on with tight pairs, */
#define REFINE_LOOSE_NS 10000000ull /* and from 10 ms on with any pair not interrupted */
#define TIGHT_TICKS 2000            /* a pair within ~1 us */
/* wider: every bracket was interrupted (preempted, the vCPU stolen), not a pair */
#define LOOSE_TICKS 100000
static int g_clock_pending;

static void clock_init(struct instr_shared *sh)
{
    memset(&g_clock, 0, sizeof(g_clock));
    read_clocksource(g_clock.kernel, sizeof(g_clock.kernel));
    sh->use_tsc = 0;
    g_use_tsc = 0;
    if (HAVE_TSC)
        clock_pair(&sh->tsc0, &sh->mono0);
    g_clock_pending = 1;
}

void instr_clock_settle(struct instr_shared *sh)
{
    if (!g_clock_pending || !sh || sh != g_sh)
        return;
    g_clock_pending = 0;
    uint64_t t1 = 0, m1 = 0, q = 0;
    if (HAVE_TSC) {
        uint64_t width;
        do /* a first estimate; refined on every drain */
            width = clock_pair(&t1, &m1);
        while (m1 - sh->mono0 < CALIB_MIN_NS ||
               (width > TIGHT_TICKS && m1 - sh->mono0 < CALIB_MAX_NS));
        q = t1 > sh->tsc0 ? rate_q32(sh->tsc0, sh->mono0, t1, m1) : 0;
    }
    sh->use_tsc = (uint32_t)tsc_usable(q);
    atomic_store(&sh->ns_per_tick_q32, q);
    g_clock.calib_ns = m1 - sh->mono0;
    g_use_tsc = (int)sh->use_tsc;
}

void instr_clock_refine(struct instr_shared *sh)
{
    instr_clock_settle(sh);
    if (!sh->use_tsc)
        return;
    uint64_t t1, m1;
    uint64_t width = clock_pair(&t1, &m1);
    if (m1 - sh->mono0 < REFINE_MIN_NS || t1 <= sh->tsc0)
        return; /* wait for a long enough baseline */
    if (width > (m1 - sh->mono0 < REFINE_LOOSE_NS ? TIGHT_TICKS : LOOSE_TICKS))
        return; /* too wide for this baseline: the next drain's pair, then */
    /* what a record stamped now would have been off by with the rate in use: the drift */
    uint64_t q = atomic_load(&sh->ns_per_tick_q32);
    int64_t err =
        (int64_t)(sh->mono0 + (uint64_t)(((unsigned __int128)(t1 - sh->tsc0) * q) >> 32)) -
        (int64_t)m1;
    if (llabs(err) > llabs(g_clock.drift_ns))
        g_clock.drift_ns = err;
    g_clock.calib_ns = m1 - sh->mono0;
    atomic_store(&sh->ns_per_tick_q32, rate_q32(sh->tsc0, sh->mono0, t1, m1));
}

void instr_clock_convert(const struct instr_shared *sh, struct ev *e)
{
    if (!(e->flags & EVF_TSC))
        return;
    uint64_t q = atomic_load((_Atomic uint64_t *)&sh->ns_per_tick_q32);
    int64_t ticks = (int64_t)(e->t - sh->tsc0);
    __int128 ns = ((__int128)ticks * (__int128)q) >> 32;
    e->t = (uint64_t)((__int128)sh->mono0 + ns);
    e->flags &= (uint8_t)~EVF_TSC;
}

void instr_clock_info(struct instr_shared *sh, struct instr_clock_info *out)
{
    instr_clock_refine(sh); /* the drift up to now */
    memset(out, 0, sizeof(*out));
    out->tsc = sh->use_tsc != 0;
    snprintf(out->kernel, sizeof(out->kernel), "%s", g_clock.kernel);
    snprintf(out->stamps, sizeof(out->stamps), "%s", g_clock.why);
    out->drift_ns = g_clock.drift_ns;
    out->calib_ms = (double)g_clock.calib_ns / 1e6;
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

/* ---- region ---- */

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

int instr_region_create(struct instr_shared **out, uint32_t max_tasks, uint32_t ring_cap,
                        size_t arena)
{
    size_t hdr = align64(sizeof(struct instr_shared) + max_tasks * sizeof(struct instr_task));
    size_t stride = align64(ring_bytes(ring_cap));
    size_t size = hdr + stride * max_tasks + align64(arena);
    int rc = 0;

    int fd = memfd_create("ipcscope", MFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)size) < 0) {
        rc = -errno;
        goto cleanup;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        rc = -errno;
        goto cleanup;
    }

    struct instr_shared *sh = p;
    sh->magic = INSTR_MAGIC;
    sh->max_tasks = max_tasks;
    sh->size = size;
    sh->ring_stride = stride;
    sh->rings_off = hdr;
    sh->arena_off = hdr + stride * max_tasks;
    sh->arena_size = align64(arena);
    sh->conductor_pid = getpid();
    sh->t0 = now_ns();
    clock_init(sh);
    /* slot 0's ring now (the region's ring_cap is read from it); every other, a page or more
     * apart, when a task takes its slot (ring_prepare): the first write to a shared page is a
     * fault, and on a VM 64 rings set up here cost `exec -- true` 13 of its 48 ms of CPU */
    ring_init(instr_ring(sh, 0), ring_cap);
    sh->ring_cap = instr_ring(sh, 0)->cap;
    g_ring_cap = sh->ring_cap;
    g_sh = sh;
    g_size = size;
    g_arena_off = sh->arena_off;
    g_arena_size = sh->arena_size;
    *out = sh;
    if (g_fd >= 0)
        close(g_fd);
    g_fd = fd; /* kept for `ipcscope exec`, which hands it to the program */
    fd = -1;
cleanup:
    if (fd >= 0)
        close(fd);
    return rc;
}

int instr_region_fd(void)
{
    return g_sh ? g_fd : -1;
}

void instr_region_destroy(struct instr_shared *sh)
{
    if (!sh)
        return;
    size_t size = sh == g_sh ? g_size : sh->size; /* not what a worker may have written */
    if (g_sh == sh) {
        g_sh = NULL;
        if (g_fd >= 0)
            close(g_fd);
        g_fd = -1;
    }
    tl_slot = -1;
    tl_ring = NULL;
    munmap(sh, size);
}

void instr_region_use(struct instr_shared *sh)
{
    g_sh = sh;
    if (sh) {
        g_size = sh->size;
        g_ring_cap = sh->ring_cap;
        g_arena_off = sh->arena_off;
        g_arena_size = sh->arena_size;
    }
    g_use_tsc = sh ? (int)sh->use_tsc : 0;
}

struct instr_shared *instr_region(void)
{
    return g_sh;
}

struct ring *instr_ring(struct instr_shared *sh, uint32_t slot)
{
    return (struct ring *)((char *)sh + sh->rings_off + (size_t)slot * sh->ring_stride);
}

/* The descriptors this process was started with: the user's (a program under exec inherits
 * them as it would without ipcscope), never the conductor's own. */
static uint64_t g_inherited_fds[16];

__attribute__((constructor)) static void note_inherited_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int dfd = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name);
        if (fd >= 3 && fd < 1024 && fd != dfd)
            g_inherited_fds[fd / 64] |= 1ull << (fd % 64);
    }
    closedir(d);
}

int instr_mark_private_fds(struct instr_shared *sh, int keep)
{
    if (!keep)
        memset(sh->private_fds, 0, sizeof(sh->private_fds));
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    int n = 0, dfd = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name);
        if (fd < 3 || fd >= 1024 || fd == dfd || fd == g_fd || de->d_name[0] == '.' ||
            (g_inherited_fds[fd / 64] & (1ull << (fd % 64))))
            continue;
        sh->private_fds[fd / 64] |= 1ull << (fd % 64);
        n++;
    }
    closedir(d);
    return n;
}

/* In a worker the conductor started: close the conductor's own descriptors. */
static void close_private_fds(void)
{
    for (int w = 0; w < 16; w++)
        for (uint64_t bits = g_sh->private_fds[w]; bits; bits &= bits - 1)
            close(w * 64 + __builtin_ctzll(bits));
}

void *instr_shared_alloc(size_t n)
{
    if (!g_sh)
        return NULL;
    size_t want = align64(n);
    size_t at = atomic_fetch_add(&g_sh->arena_used, want);
    if (at > g_arena_size || want > g_arena_size - at) {
        atomic_fetch_sub(&g_sh->arena_used, want);
        return NULL;
    }
    /* zero already: the arena is only ever handed out once, from a region made afresh
     * (memfd pages read as zero); writing zeros would fault in every page of a big block
     * (exec's attach map, mostly empty) before the run could start */
    return (char *)g_sh + g_arena_off + at;
}

/* ---- events ---- */

/* ring_reserve with the ring's size as this process made (or first saw) it, not as the
 * ring's header says: under `ipcscope exec` the program may rewrite the header of any ring,
 * the conductor's own included, and the record must still land inside the ring. */
static inline struct ev *reserve(struct ring *r)
{
    uint32_t cap = g_ring_cap;
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    if (!cap)
        return NULL;
    if (head - r->tail_seen >= cap) {
        r->tail_seen = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head - r->tail_seen >= cap) {
            uint64_t d = atomic_load_explicit(&r->dropped, memory_order_relaxed);
            atomic_store_explicit(&r->dropped, d + 1, memory_order_release);
            return NULL;
        }
    }
    return &r->recs[head & (cap - 1)];
}

void instr_emit_ev(struct ev *e)
{
    if (!tl_ring)
        return;
    if (!e->t)
        e->t = now_ns();
    else if (e->flags & EVF_TSC)
        e->flags &= (uint8_t)~EVF_TSC; /* callers give ns */
    struct ev *slot = reserve(tl_ring);
    if (!slot)
        return;
    *slot = *e;
    ring_commit(tl_ring);
}

/* Fill the next slot of the calling task's ring in place: no intermediate copy. */
static inline void emit_in_place(uint16_t kind, uint32_t obj, uint32_t seq, int64_t val,
                                 int64_t item, int64_t aux, int64_t extra)
{
    struct ev *e = reserve(tl_ring);
    if (!e)
        return;
    e->flags = 0;
    e->t = stamp(&e->flags);
    e->kind = kind;
    e->src = EV_SRC_INSTR;
    e->task = (uint32_t)tl_slot;
    e->pid = tl_pid;
    e->tid = tl_tid;
    e->obj = obj;
    e->seq = seq;
    e->val = val;
    e->item = item;
    e->aux = aux;
    e->extra = extra;
    ring_commit(tl_ring);
}

void instr_emit(uint16_t kind, uint32_t obj, int64_t val, int64_t item, int64_t aux)
{
    if (tl_ring)
        emit_in_place(kind, obj, 0, val, item, aux, 0);
}

void instr_op(struct instr_obj *o, uint16_t kind, int64_t val, int64_t item, int64_t aux)
{
    instr_op_x(o, kind, val, item, aux, 0);
}

void instr_op_x(struct instr_obj *o, uint16_t kind, int64_t val, int64_t item, int64_t aux,
                int64_t extra)
{
    if (tl_ring)
        emit_in_place(kind, o->id, atomic_fetch_add_explicit(&o->seq, 1, memory_order_relaxed), val,
                      item, aux, extra);
}

void instr_note(const char *fmt, ...)
{
    struct ev e = {.kind = EV_NOTE,
                   .src = EV_SRC_INSTR,
                   .flags = EVF_TEXT,
                   .task = (uint32_t)tl_slot,
                   .pid = tl_pid,
                   .tid = tl_tid,
                   .obj = EV_NO_OBJ};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.text, sizeof(e.text), fmt, ap);
    va_end(ap);
    instr_emit_ev(&e);
}

/* ---- tasks ---- */

int instr_self(void)
{
    return tl_slot;
}

/* Take the next free slot. Slots are handed out by the creator (before fork or
 * pthread_create), so their order is the order of creation, not of scheduling: the gate's
 * "oldest waiter" tie-break by slot is then the same in every run. */
static int reserve_slot(void)
{
    if (!g_sh)
        return -1;
    uint32_t slot = atomic_fetch_add(&g_sh->ntasks, 1);
    if (slot >= g_sh->max_tasks) {
        atomic_fetch_sub(&g_sh->ntasks, 1);
        return -1;
    }
    return (int)slot;
}

static int task_begin_in(int slot, const char *name, int kind)
{
    if (slot < 0)
        return -1;
    struct instr_task *t = &g_sh->tasks[slot];
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->pid = getpid();
    t->tid = (int32_t)gettid();
    t->ppid = kind == TK_THREAD ? t->pid : getppid();
    t->kind = (uint32_t)kind;
    atomic_store(&t->used, 1);

    tl_slot = slot;
    tl_ring = instr_ring(g_sh, (uint32_t)slot);
    ring_prepare(tl_ring, g_ring_cap);
    tl_pid = t->pid;
    tl_tid = t->tid;
    instr_emit(EV_TASK_START, EV_NO_OBJ, 0, kind, t->ppid);
    return slot;
}

int instr_task_begin(const char *name, int kind)
{
    return task_begin_in(reserve_slot(), name, kind);
}

/* The kernel's totals for this thread as it ends (schedstat: ns on a CPU, ns waiting on a run
 * queue, time slices): without the probes, the last word on how long it ran and was ready,
 * which the /proc sampler (a look every 100 ms) would leave short. */
static void emit_sched_times(void)
{
    char buf[128];
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t got = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    unsigned long long run, wait, slices;
    if (got <= 0)
        return;
    buf[got] = '\0';
    if (sscanf(buf, "%llu %llu %llu", &run, &wait, &slices) == 3)
        instr_emit(EV_SCHED_TIMES, EV_NO_OBJ, (int64_t)run, (int64_t)wait, (int64_t)slices);
}

void instr_task_end(int status)
{
    if (tl_slot < 0 || !g_sh)
        return;
    emit_sched_times();
    instr_emit(EV_TASK_EXIT, EV_NO_OBJ, status, 0, 0);
    atomic_store(&g_sh->tasks[tl_slot].exited, 1);
}

static void drop_privileges(void)
{
    if (!g_sh || !g_sh->drop_uid)
        return;
    if (setgroups(0, NULL) < 0 || setresgid(g_sh->drop_gid, g_sh->drop_gid, g_sh->drop_gid) < 0 ||
        setresuid(g_sh->drop_uid, g_sh->drop_uid, g_sh->drop_uid) < 0)
        _exit(126);
}

static void arm_deathsig(pid_t expected_parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != expected_parent)
        _exit(125); /* the parent died before we armed it */
}

void instr_rearm_deathsig(void)
{
    if (g_sh)
        arm_deathsig(g_sh->conductor_pid);
}

static void join_worker_group(void)
{
    int32_t expect = 0;
    pid_t me = getpid();
    if (atomic_compare_exchange_strong(&g_sh->worker_pgid, &expect, me))
        setpgid(0, 0);
    else
        setpgid(0, atomic_load(&g_sh->worker_pgid));
}

/* The child waits until its creator has run the spawn hook (the conductor tells the kernel
 * probes to follow it), so not even its first instructions go unseen. Bounded: 200 ms. */
static void wait_followed(int slot)
{
    if (slot < 0)
        return;
    _Atomic uint32_t *f = &g_sh->tasks[slot].followed;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 200 * 1000 * 1000};
    if (!atomic_load(f))
        futex(f, FUTEX_WAIT, 0, &ts);
}

/* The name ps and /proc show for this process: the task's, as on screen ("server",
 * "client-1"), so that a class comparing ps with the screen finds each worker, not three
 * processes called ipcscope. The system call itself, as ipc_set_comm. */
static void set_comm(const char *name)
{
    char comm[16];
    snprintf(comm, sizeof(comm), "%.15s", name); /* the kernel keeps 15 characters */
    syscall(SYS_prctl, PR_SET_NAME, comm, 0, 0, 0);
}

static pid_t spawn(const char *name, const char *leader_name, void (*leader)(void),
                   int (*fn)(void *arg), void *arg, unsigned flags)
{
    pid_t parent = getpid();
    int slot = reserve_slot();
    int lslot = leader ? reserve_slot() : -1;
    pid_t pid = fork();
    if (pid < 0)
        return -errno; /* the reserved slot stays unused */
    if (pid > 0) {
        if (instr_spawn_hook)
            instr_spawn_hook(pid);
        /* which clock records carry, before the child reads it (it waits for followed) */
        instr_clock_settle(g_sh);
        if (slot >= 0) {
            atomic_store(&g_sh->tasks[slot].followed, 1);
            futex(&g_sh->tasks[slot].followed, FUTEX_WAKE, 1, NULL);
        }
        return pid;
    }

    /* the child */
    tl_slot = -1;
    tl_ring = NULL;
    if (g_sh && parent == g_sh->conductor_pid)
        arm_deathsig(parent); /* at once: the conductor may die before the hook has run */
    if (instr_child_hook)
        instr_child_hook(); /* the conductor's: its group, its cgroup, no capabilities */
    wait_followed(slot);
    g_use_tsc = g_sh ? (int)g_sh->use_tsc : 0; /* settled by now, unless followed timed out */
    if (g_sh && parent == g_sh->conductor_pid)
        close_private_fds(); /* a select() student sees only the lesson's descriptors */
    if (g_sh) {
        if (!(flags & INSTR_SPAWN_OWN_GROUP) && !instr_child_hook)
            join_worker_group();
        setpriority(PRIO_PROCESS, 0, g_sh->worker_nice); /* not the conductor's boost */
    }
    drop_privileges(); /* before the death signal: a credential change clears it */
    /* Only the conductor's own children die with their parent: a worker's child outlives a
     * parent that exits (orphans and zombies are lessons); the guard and the process group
     * end it if the conductor itself dies. */
    if (g_sh && parent == g_sh->conductor_pid)
        arm_deathsig(parent); /* again: a change of credentials has cleared it */
    sigset_t none;            /* the conductor blocks signals it reads through signalfd */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (leader) {
        set_comm(leader_name);
        task_begin_in(lslot, leader_name, TK_PROCESS);
        leader(); /* returns only in the process that carries the task */
    }
    set_comm(name); /* the scenario may name it more precisely ("pipe-writer") */
    task_begin_in(slot, name, TK_PROCESS);
    int rc = fn(arg);
    instr_task_end(rc);
    _exit(rc & 0xff);
}

pid_t instr_spawn(const char *name, int (*fn)(void *arg), void *arg, unsigned flags)
{
    return spawn(name, NULL, NULL, fn, arg, flags);
}

pid_t instr_spawn_led(const char *name, const char *leader_name, void (*leader)(void),
                      int (*fn)(void *arg), void *arg)
{
    return spawn(name, leader_name, leader, fn, arg, INSTR_SPAWN_OWN_GROUP);
}

struct thread_start {
    char name[INSTR_NAME_MAX];
    int slot;
    void *(*fn)(void *);
    void *arg;
};

static void *thread_trampoline(void *p)
{
    struct thread_start ts = *(struct thread_start *)p;
    free(p);
    if (g_sh && getpid() == g_sh->conductor_pid) /* nice is per thread: drop the boost */
        setpriority(PRIO_PROCESS, (id_t)gettid(), g_sh->worker_nice);
    set_comm(ts.name); /* this thread's own name, as ps -L shows it */
    task_begin_in(ts.slot, ts.name, TK_THREAD);
    void *ret = ts.fn(ts.arg);
    instr_task_end((int)(intptr_t)ret);
    return ret;
}

int instr_thread_spawn(pthread_t *th, const char *name, void *(*fn)(void *arg), void *arg)
{
    struct thread_start *ts = malloc(sizeof(*ts));
    if (!ts)
        return ENOMEM;
    snprintf(ts->name, sizeof(ts->name), "%s", name);
    ts->fn = fn;
    ts->arg = arg;
    ts->slot = reserve_slot();
    int rc = pthread_create(th, NULL, thread_trampoline, ts);
    if (rc)
        free(ts);
    return rc;
}

/* ---- the gate ---- */

/* The gate is held and this task may not pass on its own. */
static inline int gate_holds(void)
{
    if (!g_sh || tl_slot <= 0)
        return 0; /* slot 0 is the conductor: its actions (keypresses) never wait */
    if (__builtin_expect(!atomic_load_explicit(&g_sh->gate_hold, memory_order_relaxed), 1))
        return 0;
    return !atomic_load_explicit(&g_sh->tasks[tl_slot].unpaced, memory_order_relaxed);
}

static uint64_t scenario_now(void)
{
    return sclock_now();
}

/* Arriving at (1) or leaving (0) the gate, with the action waiting there. */
static void emit_gate(int arrived, uint16_t kind, uint32_t obj, int64_t val)
{
    if (!tl_ring)
        return;
    struct ev e = {.kind = EV_GATE,
                   .src = EV_SRC_INSTR,
                   .task = (uint32_t)tl_slot,
                   .pid = tl_pid,
                   .tid = tl_tid,
                   .obj = EV_NO_OBJ,
                   .val = arrived,
                   .item = kind,
                   .aux = obj == EV_NO_OBJ ? -1 : (int64_t)obj,
                   .extra = val};
    instr_emit_ev(&e);
}

/* Wait at the gate until granted one action, or released by free run. */
static void gate_wait(struct instr_task *t, uint16_t kind, uint32_t obj)
{
    atomic_store(&t->gate_ticket, atomic_load(&g_sh->gate_grants));
    atomic_store(&t->gate, GS_WAITING);
    emit_gate(1, kind, obj, atomic_load(&t->gate_val));
    for (;;) {
        if (atomic_load(&t->gate) != GS_WAITING || !atomic_load(&g_sh->gate_hold))
            break; /* granted one action, or released by run mode */
        /* a safety net only: every grant and release changes the word and wakes it. Long,
         * so a task a teacher leaves at the gate stays asleep (ps: S) while she explains; a
         * wake every 10 s showed it R to a ps that sampled it then, under load for 0.5 s */
        struct timespec ts = {.tv_sec = 600, .tv_nsec = 0};
        futex(&t->gate, FUTEX_WAIT, GS_WAITING, &ts);
    }
    atomic_store(&t->gate, GS_FREE);
    emit_gate(0, kind, obj, atomic_load(&t->gate_val));
}

int instr_gate_timed(uint16_t kind, uint32_t obj, uint64_t due, int64_t val, const char *what)
{
    if (!gate_holds())
        return 0;
    struct instr_task *t = &g_sh->tasks[tl_slot];
    atomic_store(&t->gate_kind, kind);
    atomic_store(&t->gate_obj, obj);
    atomic_store(&t->gate_due, due);
    atomic_store(&t->gate_val, val);
    snprintf(t->gate_what, sizeof(t->gate_what), "%s", what ? what : "");
    gate_wait(t, kind, obj);
    return 1;
}

void instr_gate(uint16_t kind, uint32_t obj)
{
    if (__builtin_expect(!gate_holds(), 1))
        return;
    instr_gate_timed(kind, obj, scenario_now(), 0, NULL);
}

void instr_gate_mark(int on, const char *what)
{
    if (!g_sh || tl_slot < 0)
        return;
    struct instr_task *t = &g_sh->tasks[tl_slot];
    if (on) {
        atomic_store(&t->gate_kind, EV_NOTE);
        snprintf(t->gate_what, sizeof(t->gate_what), "%s", what ? what : "");
    }
    instr_emit(EV_GATE, EV_NO_OBJ, on, EV_NOTE, -1);
}

void instr_gate_label(uint16_t kind, uint32_t obj, const char *fmt, ...)
{
    if (__builtin_expect(!gate_holds(), 1))
        return;
    char what[INSTR_NAME_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    instr_gate_timed(kind, obj, scenario_now(), 0, what);
}
