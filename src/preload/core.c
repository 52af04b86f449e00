/*
 * core.c - the heart of libipcscope_preload.so: the attached region, events, the step gate,
 * task slots and the address -> object map.
 *
 * The library records into the run's shared region with the same semantics as src/instr.c:
 * each task (process or thread) gets its own slot and ring, every action passes the step
 * gate, and objects are registered the first time their address is seen. The hot path takes
 * no lock and makes no system call: the object is found in a lock-free hash table, the pid
 * is cached, and records are stamped as preload.h explains. Without IPCSCOPE_SHM_FD in the
 * environment every wrapper is a plain pass-through.
 */
#include "preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SHM_FD_FLOOR 900 /* the memfd is moved up here, out of the program's way */
#define COND_VERSION "GLIBC_2.3.2"
#define HASH_FULL (INSTR_ATTACH_HASH / 4 * 3) /* entries taken before the table says full */

#define REAL_DEF(ret, name, args) ret(*real_##name) args;
REAL_FNS(REAL_DEF)
#undef REAL_DEF

struct instr_shared *g_sh;
struct instr_attach_map *g_map;
char g_prog[16];
int g_proc_slot = -1;
int g_exit_done;
pid_t g_pid;
TLS int tl_slot = -1;
TLS struct ring *tl_ring;
TLS int tl_busy;
TLS int tl_ended;
TLS int tl_adopt_tried;
TLS int32_t tl_pid, tl_tid;
TLS uint64_t tl_last_t;
TLS uint64_t tl_ready;
TLS struct instr_fold *tl_fold;
TLS uint32_t tl_fold_every = 1, tl_fold_since;
TLS struct obj_caches tl_cache;
static TLS uint32_t tl_chunk; /* records mapped at the next prefault */

/* fork_prepare -> child: the slot and name chosen for the child (slot -2: not our fork) */
static TLS int tl_fork_slot = -2;
static TLS char tl_fork_name[INSTR_NAME_MAX];
static TLS pid_t tl_fork_parent;

void *preload_resolve(const char *name)
{
    void *p = NULL;
    if (strncmp(name, "pthread_cond_", 13) == 0)
        p = dlvsym(RTLD_NEXT, name, COND_VERSION);
    return p ? p : dlsym(RTLD_NEXT, name);
}

/* ---- events ---- */

void emit(uint16_t kind, uint32_t obj, int64_t val, int64_t item, int64_t aux)
{
    if (tl_slot < 0)
        return;
    fold_flush();
    busy_enter();
    put_rec(stamp(0, T_PRECISE), kind, (uint32_t)tl_slot, tl_pid, tl_tid, obj, 0, val, item, aux,
            0);
    busy_leave();
}

void emit_for(uint32_t slot, uint16_t kind, int64_t val, int64_t aux)
{
    if (tl_slot < 0)
        return;
    struct instr_task *t = &g_sh->tasks[slot];
    fold_flush();
    busy_enter();
    put_rec(stamp(0, T_PRECISE), kind, slot, t->pid, t->tid, EV_NO_OBJ, 0, val, 0, aux, 0);
    busy_leave();
}

void mark_blocked(struct instr_obj *o)
{
    atomic_store(&g_sh->tasks[tl_slot].blocked_obj, o ? o->id + 1 : 0);
}

void block_on(struct instr_obj *o, int64_t val, int64_t reason)
{
    op(o, EV_BLOCK, val, 0, reason);
    mark_blocked(o);
}

void unblock(struct instr_obj *o, int64_t val, int64_t err)
{
    mark_blocked(NULL);
    op(o, EV_UNBLOCK, val, 0, err);
}

/* Arriving at (1) / leaving (0) the gate, as instr's gate says it: the time between is the
 * task's gate state, never drawn as blocked in a futex. Its value (a sleep's ms) goes with it,
 * so the screen says "→ sleep(3 ms)", not "→ sleep()". */
static void emit_gate(int arrived, uint16_t kind, uint32_t obj)
{
    if (tl_slot < 0)
        return;
    int64_t val = atomic_load(&g_sh->tasks[tl_slot].gate_val);
    fold_flush();
    busy_enter();
    put_rec(stamp(0, T_PRECISE), EV_GATE, (uint32_t)tl_slot, tl_pid, tl_tid, EV_NO_OBJ, 0, arrived,
            kind, obj == EV_NO_OBJ ? -1 : (int64_t)obj, val);
    busy_leave();
}

/* Wait at the gate; with intr, a signal handler that runs meanwhile ends the wait (-1) unless
 * the grant came first. */
static int gate_wait_how(uint16_t kind, uint32_t obj, int intr)
{
    struct instr_task *t = &g_sh->tasks[tl_slot];
    atomic_store(&t->gate_kind, kind);
    atomic_store(&t->gate_obj, obj);
    atomic_store(&t->gate_ticket, atomic_load(&g_sh->gate_grants));
    atomic_store(&t->gate, GS_WAITING);
    emit_gate(1, kind, obj);
    int rc = 0;
    while (atomic_load(&t->gate) != GS_GRANTED && atomic_load(&g_sh->gate_hold)) {
        /* a safety net only (as instr.c's gate): asleep while the class looks, not woken
         * every second */
        struct timespec ts = {.tv_sec = 600, .tv_nsec = 0};
        long w = syscall(SYS_futex, (uint32_t *)&t->gate, FUTEX_WAIT, GS_WAITING, &ts, NULL, 0);
        uint32_t waiting = GS_WAITING; /* withdrawn, unless the conductor granted it first */
        if (intr && w < 0 && errno == EINTR &&
            atomic_compare_exchange_strong(&t->gate, &waiting, GS_FREE)) {
            rc = -1;
            break;
        }
    }
    atomic_store(&t->gate, GS_FREE);
    emit_gate(0, kind, obj);
    return rc;
}

void gate_wait(uint16_t kind, uint32_t obj)
{
    gate_wait_how(kind, obj, 0);
}

int gate_wait_intr(uint16_t kind, uint32_t obj)
{
    int err = errno;
    int rc = gate_wait_how(kind, obj, 1);
    errno = rc < 0 ? EINTR : err;
    return rc;
}

/* Count one record that will never be written into the calling task's ring's drops: the
 * ring's producer is the calling thread, so a plain increment is safe. */
static void count_drop(void)
{
    if (!tl_ring)
        return;
    uint64_t d = atomic_load_explicit(&tl_ring->dropped, memory_order_relaxed);
    atomic_store_explicit(&tl_ring->dropped, d + 1, memory_order_release);
}

void lost_op(void)
{
    atomic_fetch_add_explicit(&g_map->lost.ops, 1, memory_order_relaxed);
    count_drop();
}

/* A page fault on shared memory costs ~20 us in a VM, a third of a record's budget for each
 * of the 64 records on the page: the ring's pages are mapped ahead in one madvise per chunk
 * (256 records, doubling up to 8192), so a short-lived task maps little and a busy one
 * pays ~30 ns a record once, until the ring has wrapped. */
#define PREFAULT_FIRST 256
#define PREFAULT_MAX 8192

void ring_prefault(uint64_t head)
{
    uint32_t cap = tl_ring->cap;
    if (head >= cap) {
        tl_ready = UINT64_MAX; /* wrapped: every page is mapped */
        return;
    }
    uint64_t end = head + tl_chunk;
    if (end > cap)
        end = cap;
    long page = 4096;
    uintptr_t from = (uintptr_t)&tl_ring->recs[head] & ~(uintptr_t)(page - 1);
    uintptr_t to = ((uintptr_t)&tl_ring->recs[end - 1] + sizeof(struct ev) + page - 1) &
                   ~(uintptr_t)(page - 1);
    (void)madvise((void *)from, to - from, MADV_POPULATE_WRITE); /* Linux 5.14: else faults */
    tl_ready = end;
    if (tl_chunk < PREFAULT_MAX)
        tl_chunk *= 2;
}

/* ---- tasks ---- */

static void bind_slot(int slot)
{
    tl_slot = slot;
    tl_ring = instr_attach_ring(g_sh, (uint32_t)slot);
    tl_fold = &g_sh->tasks[slot].fold;
    ring_prepare(tl_ring, g_sh->ring_cap);
    tl_ready = 0;
    tl_chunk = PREFAULT_FIRST;
    tl_pid = g_sh->tasks[slot].pid;
    tl_tid = g_sh->tasks[slot].tid;
    tl_ended = 0;
}

/* A slot the conductor recycled, or -1. */
static int recycled_slot(void)
{
    int slot = -1;
    map_lock();
    if (g_map->nfree > 0 && g_map->nfree <= INSTR_ATTACH_SLOTS)
        slot = (int)g_map->free_slots[--g_map->nfree];
    map_unlock();
    return slot > 0 && (uint32_t)slot < g_sh->max_tasks ? slot : -1;
}

int reserve_slot(void)
{
    uint32_t slot = atomic_fetch_add(&g_sh->ntasks, 1);
    if (slot < g_sh->max_tasks)
        return (int)slot;
    atomic_fetch_sub(&g_sh->ntasks, 1);
    int again = recycled_slot();
    if (again > 0)
        return again;
    atomic_fetch_add(&g_map->lost.tasks, 1);
    count_drop(); /* the creator's ring: its task_start will never be written */
    return -1;
}

int task_begin_in(int slot, const char *name, int kind, int32_t ppid)
{
    if (slot < 0)
        return -1;
    struct instr_task *t = &g_sh->tasks[slot];
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->pid = g_pid;
    t->tid = (int32_t)gettid();
    t->ppid = ppid;
    t->kind = (uint32_t)kind;
    atomic_store(&t->exited, 0); /* a recycled slot starts afresh */
    atomic_store(&t->blocked_obj, 0);
    atomic_store(&t->gate, GS_FREE);
    atomic_store(&t->fold.obj1, 0); /* nothing folded yet (a recycled slot's was recorded) */
    atomic_store(&t->fold.held, 0);
    atomic_store(&t->fold.pairs, 0);
    atomic_store(&t->used, 1);
    bind_slot(slot);
    emit(EV_TASK_START, EV_NO_OBJ, 0, kind, ppid);
    return slot;
}

/* The slot the conductor (or our image before an exec) already gave this process, or -1. */
static int find_own_slot(void)
{
    uint32_t n = atomic_load(&g_sh->ntasks);
    for (uint32_t s = n < g_sh->max_tasks ? n : g_sh->max_tasks; s-- > 1;) {
        struct instr_task *t = &g_sh->tasks[s];
        if (atomic_load(&t->used) && t->pid == g_pid && t->tid == g_pid && !atomic_load(&t->exited))
            return (int)s;
    }
    return -1;
}

void map_lock(void)
{
    busy_enter();
    while (atomic_exchange_explicit(&g_map->lock, 1, memory_order_acquire))
        sched_yield();
}

void map_unlock(void)
{
    atomic_store_explicit(&g_map->lock, 0, memory_order_release);
    busy_leave();
}

void next_task_name(char *buf, size_t n, int thread)
{
    map_lock();
    unsigned k = thread ? ++g_map->threads : ++g_map->children;
    map_unlock();
    snprintf(buf, n, "%s-%s%u", g_prog, thread ? "t" : "child", k);
}

void thread_end(void *ret)
{
    if (!g_sh || tl_slot < 0 || tl_ended)
        return;
    tl_ended = 1;
    emit(EV_TASK_EXIT, EV_NO_OBJ, ret == PTHREAD_CANCELED ? -1 : (int)(intptr_t)ret, 0, 0);
    atomic_store(&g_sh->tasks[tl_slot].exited, 1);
    if (tl_slot != g_proc_slot) { /* its slot may go to a new task: write no more */
        tl_slot = -1;
        tl_ring = NULL;
        tl_fold = NULL;
    }
}

/* Adopted threads: the key's destructor records their end (glibc runs it as any of its
 * threads ends). */
static pthread_key_t g_adopted_key;
static int g_adopted_key_ok;

static void adopted_thread_gone(void *unused)
{
    (void)unused;
    thread_end(NULL);
}

int adopt_thread(void)
{
    tl_adopt_tried = 1;
    /* never the main thread (its slot comes from the constructor or the fork), nor a thread
     * of a process that is exiting or was never given a task */
    if (g_proc_slot < 0 || g_exit_done || !g_adopted_key_ok || gettid() == g_pid)
        return 0;
    char name[INSTR_NAME_MAX];
    next_task_name(name, sizeof(name), 1);
    if (task_begin_in(reserve_slot(), name, TK_THREAD, g_pid) < 0)
        return 0;
    pthread_setspecific(g_adopted_key, (void *)1);
    return 1;
}

void proc_exit(int status)
{
    if (!g_sh || tl_slot < 0 || g_proc_slot < 0 || g_exit_done || tl_busy)
        return;
    g_exit_done = 1;
    shm_at_exit(); /* its mappings go with it */
    emit_for((uint32_t)g_proc_slot, EV_TASK_EXIT, status & 0xff, 0);
    atomic_store(&g_sh->tasks[g_proc_slot].exited, 1);
    if (tl_slot != g_proc_slot)
        thread_end(NULL);
    tl_ended = 1;
}

void reaped(pid_t pid, int status)
{
    if (!(WIFEXITED(status) || WIFSIGNALED(status)))
        return;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    uint32_t n = atomic_load(&g_sh->ntasks);
    for (uint32_t s = 1; s < n && s < g_sh->max_tasks; s++)
        if (atomic_load(&g_sh->tasks[s].used) && g_sh->tasks[s].pid == pid)
            emit_for(s, EV_TASK_REAPED, code, g_pid);
}

void fork_prepare(void)
{
    if (!active()) {
        tl_fork_slot = -2;
        return;
    }
    fold_flush(); /* the child must find no fold open in the parent's slot */
    next_task_name(tl_fork_name, sizeof(tl_fork_name), 0);
    tl_fork_parent = g_pid;
    tl_fork_slot = reserve_slot();
}

void fork_done(void)
{
    tl_fork_slot = -2;
}

/* fold_in_tick's reading of the clock (preload.h), out of line: the short paths that call it
 * then keep to the registers they need. */
__attribute__((noinline)) int fold_read_tick(const struct instr_fold *f)
{
    tl_fold_since = 0;
    if (clock_read(CLOCK_MONOTONIC_COARSE) != atomic_load_explicit(&f->tick, FOLD_RELAXED)) {
        tl_fold_every = 1; /* a caller asking again reads the clock again */
        return 0;
    }
    if (tl_fold_every < FOLD_READ_EVERY_MAX)
        tl_fold_every *= 2;
    return 1;
}

/* In every fork child (pthread_atfork), ours or glibc's own: refresh the cached pid and
 * become the child's task, so the parent's ring never gets a second writer. */
static void atfork_child(void)
{
    g_pid = getpid();
    tl_cache = (struct obj_caches){0};
    if (!g_sh)
        return;
    int slot = tl_fork_slot;
    tl_slot = -1;
    tl_ring = NULL;
    tl_fold = NULL; /* the parent's: recorded in fork_prepare, not the child's to touch */
    g_exit_done = 0;
    if (slot == -2) { /* a fork we did not see coming (inside glibc): name it now */
        tl_fork_parent = getppid();
        next_task_name(tl_fork_name, sizeof(tl_fork_name), 0);
        slot = reserve_slot();
    }
    g_proc_slot = task_begin_in(slot, tl_fork_name, TK_PROCESS, tl_fork_parent);
    tl_fork_slot = -2;
    shm_after_fork(); /* the child holds the parent's mappings too */
}

/* ---- objects: address -> object, shared by every process of the program ---- */

static const char *kind_prefix(int kind)
{
    switch (kind) {
    case OK_SEMAPHORE:
        return "sem";
    case OK_MUTEX:
        return "mutex";
    case OK_CONDVAR:
        return "cond";
    default:
        return obj_kind_prefix((unsigned)kind);
    }
}

/* Register an object and announce it (obj_create, flags in extra). Under the map lock. */
static struct instr_obj *obj_create(const char *name, int kind, int64_t init, int64_t cap,
                                    int flags)
{
    uint32_t id = atomic_fetch_add(&g_sh->nobjs, 1);
    if (id >= INSTR_MAX_OBJS) {
        atomic_fetch_sub(&g_sh->nobjs, 1);
        return NULL;
    }
    struct instr_obj *o = &g_sh->objs[id];
    snprintf(o->name, sizeof(o->name), "%s", name);
    o->id = id;
    o->kind = (uint32_t)kind;
    o->value = init;
    o->capacity = cap;
    memset(&g_map->x[id], 0, sizeof(g_map->x[id]));
    fold_flush();
    busy_enter();
    uint32_t seq = atomic_fetch_add_explicit(&o->seq, 1, memory_order_relaxed);
    uint64_t t = stamp(0, T_PRECISE);
    atomic_store_explicit(&g_map->x[id].last_t, t, memory_order_relaxed);
    if (tl_slot >= 0) {
        struct ev *e = ring_reserve(tl_ring);
        if (e) {
            *e = (struct ev){.t = t,
                             .kind = EV_OBJ_CREATE,
                             .src = EV_SRC_INSTR,
                             .task = (uint32_t)tl_slot,
                             .pid = tl_pid,
                             .tid = tl_tid,
                             .obj = id,
                             .seq = seq,
                             .val = init,
                             .item = cap,
                             .aux = kind,
                             .extra = flags};
            ring_commit(tl_ring);
        }
    }
    busy_leave();
    return o;
}

/* The entry for (addr, pid): taken with that key, or the free one to take; NULL when the
 * table is full. Under the map lock. */
static struct instr_attach_ent *ent_for(uint64_t addr, int32_t pid)
{
    for (uint32_t i = instr_attach_hash(addr, pid), n = 0; n < INSTR_ATTACH_HASH;
         i = (i + 1) & (INSTR_ATTACH_HASH - 1), n++) {
        struct instr_attach_ent *e = &g_map->ent[i];
        uint64_t k = atomic_load_explicit(&e->addr, memory_order_relaxed);
        if (k == addr && atomic_load_explicit(&e->pid, memory_order_relaxed) == pid)
            return e;
        if (!k)
            return atomic_load(&g_map->nent) < HASH_FULL ? e : NULL;
    }
    return NULL;
}

/* Point the entry at o (publishing the key of a new entry last: readers take no lock). */
static void ent_set(struct instr_attach_ent *e, uint64_t addr, int32_t pid, uint32_t id1)
{
    if (atomic_load_explicit(&e->addr, memory_order_relaxed)) {
        atomic_store_explicit(&e->id1, id1, memory_order_release);
        atomic_fetch_add(&g_map->remaps, 1);
        return;
    }
    atomic_store_explicit(&e->pid, pid, memory_order_relaxed);
    atomic_store_explicit(&e->id1, id1, memory_order_relaxed);
    atomic_store_explicit(&e->addr, addr, memory_order_release);
    atomic_fetch_add(&g_map->nent, 1);
}

/* A new object for the primitive at addr, named as sp says. Under the map lock. */
static struct instr_obj *obj_new_at(const void *addr, const struct obj_spec *sp)
{
    char name[INSTR_NAME_MAX];
    if (sp->name)
        snprintf(name, sizeof(name), "%s", sp->name);
    else if (!elf_name(addr, sp->psize, name, sizeof(name)))
        snprintf(name, sizeof(name), "%s@%u", kind_prefix(sp->kind), ++g_map->named[sp->kind]);
    return obj_create(name, sp->kind, sp->init, sp->cap, sp->flags);
}

struct instr_obj *obj_at(const void *addr, const struct obj_spec *sp)
{
    struct instr_obj *o = sp->fresh ? NULL : obj_find(addr, sp->kind, sp->shared);
    if (o)
        return o;
    uint64_t a = (uint64_t)(uintptr_t)addr;
    int32_t pid = sp->shared ? 0 : g_pid;
    map_lock();
    o = sp->fresh ? NULL : obj_find(addr, sp->kind, sp->shared); /* raced with another */
    struct instr_attach_ent *e = o ? NULL : ent_for(a, pid);
    if (e)
        o = obj_new_at(addr, sp);
    if (e && o)
        ent_set(e, a, pid, o->id + 1);
    if (!o)
        atomic_fetch_add(&g_map->lost.objects, 1);
    map_unlock();
    if (!o)
        lost_op();
    return o;
}

void obj_alias(const void *addr, int shared, struct instr_obj *o)
{
    uint64_t a = (uint64_t)(uintptr_t)addr;
    int32_t pid = shared ? 0 : g_pid;
    map_lock();
    struct instr_attach_ent *e = ent_for(a, pid);
    if (e)
        ent_set(e, a, pid, o->id + 1);
    map_unlock();
}

void obj_forget(const void *addr, int kind, int shared)
{
    uint64_t a = (uint64_t)(uintptr_t)addr;
    int32_t pid = shared ? 0 : g_pid;
    map_lock();
    struct instr_attach_ent *e = obj_find(addr, kind, shared) ? ent_for(a, pid) : NULL;
    if (e) {
        atomic_store_explicit(&e->id1, 0, memory_order_release);
        atomic_fetch_add(&g_map->remaps, 1);
    }
    map_unlock();
}

void obj_unlinked(struct instr_obj *o)
{
    int err = errno;
    g_map->x[o->id].flags |= INSTR_OBJX_UNLINKED;
    op(o, EV_OBJ_UNLINK, o->value, 0, 0);
    errno = err;
}

int unlink_named(int (*real)(const char *), const char *dir, const char *name, int kind)
{
    struct instr_obj *o = NULL;
    struct stat st;
    char path[INSTR_NAME_MAX + 16];
    if (active()) {
        snprintf(path, sizeof(path), "%s%s", dir, name + (name[0] == '/'));
        if (stat(path, &st) == 0)
            o = obj_find(inode_key(st.st_dev, st.st_ino), kind, 1);
    }
    int rc = real(name);
    if (rc == 0 && o)
        obj_unlinked(o);
    return rc;
}

/* The lock is held for a few tens of nanoseconds (a real operation and a record or two), so
 * wait for it spinning, reading it without writing (the holder's cache line stays put),
 * and yield the CPU only when its holder seems to have lost its own (preempted). */
void obj_lock_slow(struct instr_obj *o)
{
    for (unsigned spins = 0;; spins++) {
        while (atomic_load_explicit(&o->lock, memory_order_relaxed)) {
            if (++spins < OBJ_LOCK_SPINS)
                cpu_pause();
            else
                sched_yield();
        }
        if (!atomic_exchange_explicit(&o->lock, 1, memory_order_acquire))
            return;
    }
}

/* ---- attaching ---- */

/* Move the inherited memfd far above the program's own descriptors (so its first pipe
 * still gets 3 and 4) and keep it inheritable for the program's own exec calls. */
static void move_shm_fd(int fd)
{
    int high = fcntl(fd, F_DUPFD, SHM_FD_FLOOR);
    if (high < 0)
        return;
    REAL(close)(fd);
    char buf[16];
    snprintf(buf, sizeof(buf), "%d", high);
    setenv(INSTR_ATTACH_ENV_FD, buf, 1);
}

static int attach(void)
{
    const char *fd_s = getenv(INSTR_ATTACH_ENV_FD), *size_s = getenv(INSTR_ATTACH_ENV_SIZE),
               *map_s = getenv(INSTR_ATTACH_ENV_MAP);
    if (!fd_s || !size_s || !map_s)
        return -1;
    int fd = atoi(fd_s);
    struct instr_shared *sh;
    if (instr_region_attach(fd, strtoull(size_s, NULL, 10), &sh) < 0)
        return -1;
    struct instr_attach_map *map = instr_attach_map_at(sh, strtoull(map_s, NULL, 10));
    if (!map) {
        instr_region_detach(sh);
        return -1;
    }
    move_shm_fd(fd);
    g_map = map;
    g_sh = sh;
    return 0;
}

/* Resolve every real function now: no dlsym on a hot path or in a signal handler. */
static void resolve_all(void)
{
#define REAL_RESOLVE(ret, name, args) (void)REAL(name);
    REAL_FNS(REAL_RESOLVE)
#undef REAL_RESOLVE
}

/* This image replaced another in the same process (exec): the task takes the new
 * program's name, and the threads of the old image are gone. */
static void after_exec(void)
{
    struct ev e = {.kind = EV_PROC_EXEC,
                   .src = EV_SRC_INSTR,
                   .flags = EVF_TEXT,
                   .task = (uint32_t)tl_slot,
                   .pid = tl_pid,
                   .tid = tl_tid,
                   .obj = EV_NO_OBJ};
    snprintf(e.text, sizeof(e.text), "%s", g_prog);
    snprintf(g_sh->tasks[tl_slot].name, INSTR_NAME_MAX, "%s", g_prog);
    fold_flush(); /* what the old image folded is in the slot still: its pairs happened */
    busy_enter();
    e.t = stamp(0, T_PRECISE);
    struct ev *r = ring_reserve(tl_ring);
    if (r) {
        *r = e;
        ring_commit(tl_ring);
    }
    busy_leave();
    uint32_t n = atomic_load(&g_sh->ntasks);
    for (uint32_t s = 1; s < n && s < g_sh->max_tasks; s++) {
        struct instr_task *t = &g_sh->tasks[s];
        if (atomic_load(&t->used) && t->pid == g_pid && t->tid != g_pid &&
            !atomic_load(&t->exited)) {
            emit_for(s, EV_TASK_EXIT, 0, 0);
            atomic_store(&t->exited, 1);
        }
    }
}

__attribute__((constructor)) static void preload_init(void)
{
    resolve_all();
    g_pid = getpid();
    if (attach() < 0)
        return;
    pthread_atfork(NULL, NULL, atfork_child);
    g_adopted_key_ok = pthread_key_create(&g_adopted_key, adopted_thread_gone) == 0;
    snprintf(g_prog, sizeof(g_prog), "%s", program_invocation_short_name);
    elf_load();
    int slot = find_own_slot();
    if (slot >= 0) {
        bind_slot(slot); /* started by the conductor, or our own exec: keep the task */
        tl_pid = g_pid;
        tl_tid = g_pid;
        if (strcmp(g_sh->tasks[slot].name, g_prog) != 0)
            after_exec();
    } else {
        slot = task_begin_in(reserve_slot(), g_prog, TK_PROCESS, getppid());
    }
    g_proc_slot = slot;
    fd_rescan(); /* descriptors inherited across exec: pipes, FIFOs, sockets */
}
