/*
 * ipcscope_preload.c - the LD_PRELOAD library behind `ipcscope exec -- PROGRAM`.
 *
 * It interposes the POSIX primitives an unmodified program uses (semaphores, pthread
 * mutexes and condition variables, pipes, fork/wait/kill/exit, thread creation) and records
 * them into the run's shared region with the same semantics as src/instr.c: each task
 * (process or thread) gets its own slot and ring, every action passes the step gate, and
 * semaphore values are recorded under a per-object lock so that seq order gives exact values.
 * Objects are registered the first time their address is seen. Without IPCSCOPE_SHM_FD in
 * the environment every wrapper is a plain pass-through.
 */
#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_attach.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))
#define SHM_FD_FLOOR 900 /* the memfd is moved up here, out of the program's way */
#define COND_VERSION "GLIBC_2.3.2"

int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),
                      void (*fini)(void), void (*rtld_fini)(void), void *stack_end);

/* ---- the real functions ---- */

static int (*real_sem_init)(sem_t *, int, unsigned);
static int (*real_sem_destroy)(sem_t *);
static sem_t *(*real_sem_open)(const char *, int, ...);
static int (*real_sem_wait)(sem_t *);
static int (*real_sem_trywait)(sem_t *);
static int (*real_sem_timedwait)(sem_t *, const struct timespec *);
static int (*real_sem_clockwait)(sem_t *, clockid_t, const struct timespec *);
static int (*real_sem_post)(sem_t *);
static int (*real_pthread_mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
static int (*real_pthread_mutex_destroy)(pthread_mutex_t *);
static int (*real_pthread_mutex_lock)(pthread_mutex_t *);
static int (*real_pthread_mutex_trylock)(pthread_mutex_t *);
static int (*real_pthread_mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
static int (*real_pthread_mutex_clocklock)(pthread_mutex_t *, clockid_t, const struct timespec *);
static int (*real_pthread_mutex_unlock)(pthread_mutex_t *);
static int (*real_pthread_cond_wait)(pthread_cond_t *, pthread_mutex_t *);
static int (*real_pthread_cond_timedwait)(pthread_cond_t *, pthread_mutex_t *,
                                          const struct timespec *);
static int (*real_pthread_cond_signal)(pthread_cond_t *);
static int (*real_pthread_cond_broadcast)(pthread_cond_t *);
static int (*real_pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
static void (*real_pthread_exit)(void *);
static pid_t (*real_fork)(void);
static pid_t (*real_waitpid)(pid_t, int *, int);
static pid_t (*real_wait4)(pid_t, int *, int, struct rusage *);
static int (*real_waitid)(idtype_t, id_t, siginfo_t *, int);
static int (*real_kill)(pid_t, int);
static int (*real_system)(const char *);
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static FILE *(*real_popen)(const char *, const char *);
static int (*real_pclose)(FILE *);
static void (*real_exit)(int);
static void (*real__exit)(int);
static void (*real__Exit)(int);
static int (*real_pipe)(int[2]);
static int (*real_pipe2)(int[2], int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_close)(int);
static int (*real___libc_start_main)(int (*)(int, char **, char **), int, char **, void (*)(void),
                                     void (*)(void), void (*)(void), void *);

/* The next definition of name after this library; condition variables by their current
 * version (a plain dlsym may hand out the pre-2.3.2 compatibility one). */
static void *resolve(const char *name)
{
    void *p = NULL;
    if (strncmp(name, "pthread_cond_", 13) == 0)
        p = dlvsym(RTLD_NEXT, name, COND_VERSION);
    return p ? p : dlsym(RTLD_NEXT, name);
}

#define REAL(fn)                                                                                   \
    (__extension__({                                                                               \
        if (!real_##fn)                                                                            \
            real_##fn = (__typeof__(real_##fn))resolve(#fn);                                       \
        real_##fn;                                                                                 \
    }))

/* ---- state ---- */

static struct instr_shared *g_sh; /* NULL: not under ipcscope, pass everything through */
static struct instr_attach_map *g_map;
static char g_prog[16];      /* the program's short name */
static int g_proc_slot = -1; /* this process's own task (its main thread) */
static int g_exit_done;      /* task_exit already recorded for this process */
static int (*g_main)(int, char **, char **);

static TLS int tl_slot = -1;
static TLS int tl_busy; /* inside our own bookkeeping: a signal handler passes through */

/* Enter / leave our bookkeeping. The fences keep the compiler from moving ring writes out of
 * the busy window, so a handler that interrupts them sees tl_busy set and stays out. */
static inline void busy_enter(void)
{
    tl_busy++;
    atomic_signal_fence(memory_order_seq_cst);
}

static inline void busy_leave(void)
{
    atomic_signal_fence(memory_order_seq_cst);
    tl_busy--;
}
static TLS int tl_ended;
static TLS int32_t tl_pid, tl_tid;

static struct {
    const Elf64_Sym *sym;
    size_t nsym;
    const char *str;
    size_t strsz;
    uintptr_t bias;
} g_elf;

static inline int active(void)
{
    return g_sh && tl_slot >= 0 && !tl_busy;
}

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- events ---- */

/* Append a prepared record to the calling thread's ring (t and src filled in). */
static void push(struct ev *e)
{
    if (tl_slot < 0)
        return;
    busy_enter();
    e->t = now_ns();
    e->src = EV_SRC_INSTR;
    ring_push(instr_attach_ring(g_sh, (uint32_t)tl_slot), e);
    busy_leave();
}

static void emit(uint16_t kind, uint32_t obj, int64_t val, int64_t item, int64_t aux)
{
    struct ev e = {.kind = kind,
                   .task = (uint32_t)tl_slot,
                   .pid = tl_pid,
                   .tid = tl_tid,
                   .obj = obj,
                   .val = val,
                   .item = item,
                   .aux = aux};
    push(&e);
}

/* An operation on o, numbered by the object's own seq. */
static void op(struct instr_obj *o, uint16_t kind, int64_t val, int64_t item, int64_t aux)
{
    struct ev e = {.kind = kind,
                   .task = (uint32_t)tl_slot,
                   .pid = tl_pid,
                   .tid = tl_tid,
                   .obj = o->id,
                   .val = val,
                   .item = item,
                   .aux = aux};
    busy_enter();
    e.seq = atomic_fetch_add_explicit(&o->seq, 1, memory_order_relaxed);
    push(&e);
    busy_leave();
}

/* A record about another task (its slot), written into our own ring. */
static void emit_for(uint32_t slot, uint16_t kind, int64_t val, int64_t aux)
{
    struct instr_task *t = &g_sh->tasks[slot];
    struct ev e = {.kind = kind,
                   .task = slot,
                   .pid = t->pid,
                   .tid = t->tid,
                   .obj = EV_NO_OBJ,
                   .val = val,
                   .aux = aux};
    push(&e);
}

static void mark_blocked(struct instr_obj *o)
{
    atomic_store(&g_sh->tasks[tl_slot].blocked_obj, o ? o->id + 1 : 0);
}

static void block_on(struct instr_obj *o, int64_t val, int64_t reason)
{
    op(o, EV_BLOCK, val, 0, reason);
    mark_blocked(o);
}

static void unblock(struct instr_obj *o, int64_t val, int64_t err)
{
    mark_blocked(NULL);
    op(o, EV_UNBLOCK, val, 0, err);
}

/* The step gate, as instr_gate: wait for the conductor's grant while the gate is held. */
static void gate(uint16_t kind, uint32_t obj)
{
    if (__builtin_expect(!atomic_load_explicit(&g_sh->gate_hold, memory_order_relaxed), 1))
        return;
    struct instr_task *t = &g_sh->tasks[tl_slot];
    atomic_store(&t->gate_kind, kind);
    atomic_store(&t->gate_obj, obj);
    atomic_store(&t->gate_ticket, atomic_load(&g_sh->gate_grants));
    atomic_store(&t->gate, GS_WAITING);
    while (atomic_load(&t->gate) != GS_GRANTED && atomic_load(&g_sh->gate_hold)) {
        struct timespec ts = {.tv_sec = 1, .tv_nsec = 0}; /* a safety net only */
        syscall(SYS_futex, (uint32_t *)&t->gate, FUTEX_WAIT, GS_WAITING, &ts, NULL, 0);
    }
    atomic_store(&t->gate, GS_FREE);
}

/* ---- tasks ---- */

static void bind_slot(int slot)
{
    tl_slot = slot;
    tl_pid = g_sh->tasks[slot].pid;
    tl_tid = g_sh->tasks[slot].tid;
    tl_ended = 0;
}

/* Take the next free slot, or -1. As in instr.c, the creator reserves it (before fork or
 * pthread_create), so slots are in creation order whatever the scheduling. */
static int reserve_slot(void)
{
    uint32_t slot = atomic_fetch_add(&g_sh->ntasks, 1);
    if (slot >= g_sh->max_tasks) {
        atomic_fetch_sub(&g_sh->ntasks, 1);
        return -1;
    }
    return (int)slot;
}

/* Make the calling thread the task in slot (reserved) and announce it. Returns slot. */
static int task_begin_in(int slot, const char *name, int kind, int32_t ppid)
{
    if (slot < 0)
        return -1;
    struct instr_task *t = &g_sh->tasks[slot];
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->pid = getpid();
    t->tid = (int32_t)gettid();
    t->ppid = ppid;
    t->kind = (uint32_t)kind;
    atomic_store(&t->used, 1);
    bind_slot(slot);
    emit(EV_TASK_START, EV_NO_OBJ, 0, kind, ppid);
    return slot;
}

/* The slot the conductor (or our image before an exec) already gave this process, or -1. */
static int find_own_slot(void)
{
    uint32_t n = atomic_load(&g_sh->ntasks);
    pid_t me = getpid();
    for (uint32_t s = n < g_sh->max_tasks ? n : g_sh->max_tasks; s-- > 1;) {
        struct instr_task *t = &g_sh->tasks[s];
        if (atomic_load(&t->used) && t->pid == me && t->tid == me && !atomic_load(&t->exited))
            return (int)s;
    }
    return -1;
}

static void map_lock(void)
{
    busy_enter();
    while (atomic_exchange_explicit(&g_map->lock, 1, memory_order_acquire))
        sched_yield();
}

static void map_unlock(void)
{
    atomic_store_explicit(&g_map->lock, 0, memory_order_release);
    busy_leave();
}

/* "prog-child2" / "prog-t3": names in order of creation across the whole run. */
static void next_task_name(char *buf, size_t n, int thread)
{
    map_lock();
    unsigned k = thread ? ++g_map->threads : ++g_map->children;
    map_unlock();
    snprintf(buf, n, "%s-%s%u", g_prog, thread ? "t" : "child", k);
}

static void thread_end(void *ret)
{
    if (!g_sh || tl_slot < 0 || tl_ended)
        return;
    tl_ended = 1;
    emit(EV_TASK_EXIT, EV_NO_OBJ, ret == PTHREAD_CANCELED ? -1 : (int)(intptr_t)ret, 0, 0);
    atomic_store(&g_sh->tasks[tl_slot].exited, 1);
}

/* The process ends with status: task_exit for the process (and the calling thread). */
static void proc_exit(int status)
{
    if (!g_sh || tl_slot < 0 || g_proc_slot < 0 || g_exit_done || tl_busy)
        return;
    g_exit_done = 1;
    emit_for((uint32_t)g_proc_slot, EV_TASK_EXIT, status & 0xff, 0);
    atomic_store(&g_sh->tasks[g_proc_slot].exited, 1);
    if (tl_slot != g_proc_slot)
        thread_end(NULL);
    tl_ended = 1;
}

/* Record the reaping of pid (every task of that process) by us. */
static void reaped(pid_t pid, int status)
{
    if (!(WIFEXITED(status) || WIFSIGNALED(status)))
        return;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    uint32_t n = atomic_load(&g_sh->ntasks);
    for (uint32_t s = 1; s < n && s < g_sh->max_tasks; s++)
        if (atomic_load(&g_sh->tasks[s].used) && g_sh->tasks[s].pid == pid)
            emit_for(s, EV_TASK_REAPED, code, getpid());
}

/* ---- names from the program's symbol table ---- */

static int find_bias(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(uintptr_t *)arg = info->dlpi_addr; /* the first object is the program */
    return 1;
}

/* Keep the program's .symtab (if not stripped) to name objects after their variables. */
static void elf_load(void)
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

/* The variable at addr ("empty", "forks[2]", "shared+40") into buf; 0 when unknown. */
static int elf_name(const void *addr, size_t psize, char *buf, size_t n)
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
        return "pipe";
    }
}

/* Register an object and announce it (obj_create). Under the map lock. */
static struct instr_obj *obj_create(const char *name, int kind, int64_t init, int64_t cap)
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
    op(o, EV_OBJ_CREATE, init, cap, kind);
    return o;
}

static struct instr_attach_ent *map_find(const void *addr, int kind)
{
    pid_t me = getpid();
    for (uint32_t i = 0; i < g_map->nent; i++) {
        struct instr_attach_ent *e = &g_map->ent[i];
        if (e->id1 && e->addr == (uint64_t)(uintptr_t)addr && (e->pid == 0 || e->pid == me) &&
            g_sh->objs[e->id1 - 1].kind == (uint32_t)kind)
            return e;
    }
    return NULL;
}

static struct instr_attach_ent *map_slot(void)
{
    for (uint32_t i = 0; i < g_map->nent; i++)
        if (!g_map->ent[i].id1)
            return &g_map->ent[i];
    return g_map->nent < INSTR_ATTACH_MAX ? &g_map->ent[g_map->nent++] : NULL;
}

struct obj_spec {
    int kind;
    int shared;   /* usable from several processes at the same address */
    size_t psize; /* sizeof the primitive, for array names */
    int64_t init, cap;
    const char *name; /* NULL: from the symbol table, else "sem@N" */
    int fresh;        /* an init call: forget what was at this address before */
    int by_name;      /* sem_open: the same name is the same object, wherever mapped */
};

/* The named (sem_open) object called name, or NULL. Under the map lock. */
static struct instr_obj *named_obj(int kind, const char *name)
{
    uint32_t n = atomic_load(&g_sh->nobjs);
    for (uint32_t i = 0; i < n && i < INSTR_MAX_OBJS; i++)
        if (g_sh->objs[i].kind == (uint32_t)kind && g_map->x[i].by_name &&
            strncmp(g_sh->objs[i].name, name, INSTR_NAME_MAX - 1) == 0)
            return &g_sh->objs[i];
    return NULL;
}

/* A new object for the primitive at addr, named as sp says. Under the map lock. */
static struct instr_obj *obj_new_at(const void *addr, const struct obj_spec *sp)
{
    char name[INSTR_NAME_MAX];
    if (sp->name)
        snprintf(name, sizeof(name), "%s", sp->name);
    else if (!elf_name(addr, sp->psize, name, sizeof(name)))
        snprintf(name, sizeof(name), "%s@%u", kind_prefix(sp->kind), ++g_map->named[sp->kind]);
    struct instr_obj *o = obj_create(name, sp->kind, sp->init, sp->cap);
    if (o)
        g_map->x[o->id].by_name = (uint32_t)sp->by_name;
    return o;
}

/* The object for the primitive at addr, registered on first sight. NULL when a table is
 * full (the primitive then runs unobserved). */
static struct instr_obj *obj_at(const void *addr, const struct obj_spec *sp)
{
    map_lock();
    struct instr_attach_ent *e = map_find(addr, sp->kind);
    if (e && sp->fresh) {
        e->id1 = 0;
        e = NULL;
    }
    struct instr_obj *o = e ? &g_sh->objs[e->id1 - 1] : NULL;
    struct instr_attach_ent *slot = o ? NULL : map_slot();
    if (slot && sp->by_name)
        o = named_obj(sp->kind, sp->name);
    if (slot && !o)
        o = obj_new_at(addr, sp);
    if (slot && o)
        *slot = (struct instr_attach_ent){(uint64_t)(uintptr_t)addr, sp->shared ? 0 : getpid(),
                                          o->id + 1};
    map_unlock();
    return o;
}

static void obj_forget(const void *addr, int kind)
{
    map_lock();
    struct instr_attach_ent *e = map_find(addr, kind);
    if (e)
        e->id1 = 0;
    map_unlock();
}

static void obj_lock(struct instr_obj *o)
{
    busy_enter();
    while (atomic_exchange_explicit(&o->lock, 1, memory_order_acquire))
        sched_yield();
}

static void obj_unlock(struct instr_obj *o)
{
    atomic_store_explicit(&o->lock, 0, memory_order_release);
    busy_leave();
}

/* ---- semaphores ---- */

/* glibc's sem_t: {uint64 data; int private;} with private 0 when process-shared. */
static int sem_shared(sem_t *s)
{
    return ((const int *)(const void *)s)[2] == 0;
}

static struct instr_obj *sem_obj(sem_t *s)
{
    int v = 0;
    sem_getvalue(s, &v);
    struct obj_spec sp = {
        .kind = OK_SEMAPHORE, .shared = sem_shared(s), .psize = sizeof(sem_t), .init = v};
    return obj_at(s, &sp);
}

EXPORT int sem_init(sem_t *s, int pshared, unsigned value)
{
    int rc = REAL(sem_init)(s, pshared, value);
    if (rc == 0 && active()) {
        struct obj_spec sp = {.kind = OK_SEMAPHORE,
                              .shared = pshared != 0,
                              .psize = sizeof(sem_t),
                              .init = value,
                              .fresh = 1};
        obj_at(s, &sp);
    }
    return rc;
}

EXPORT int sem_destroy(sem_t *s)
{
    if (active())
        obj_forget(s, OK_SEMAPHORE);
    return REAL(sem_destroy)(s);
}

EXPORT sem_t *sem_open(const char *name, int oflag, ...)
{
    va_list ap;
    va_start(ap, oflag);
    mode_t mode = (oflag & O_CREAT) ? va_arg(ap, mode_t) : 0;
    unsigned value = (oflag & O_CREAT) ? va_arg(ap, unsigned) : 0;
    va_end(ap);
    sem_t *s = REAL(sem_open)(name, oflag, mode, value);
    if (s != SEM_FAILED && active()) {
        int v = 0;
        sem_getvalue(s, &v);
        struct obj_spec sp = {.kind = OK_SEMAPHORE,
                              .psize = sizeof(sem_t),
                              .init = v,
                              .name = name + (name[0] == '/'),
                              .by_name = 1};
        obj_at(s, &sp);
    }
    return s;
}

/* Under the object lock: take a token if there is one, recording sem_wait (with "will
 * block" when there is none) and sem_acquired. 1 when taken. */
static int sem_take_locked(struct instr_obj *o, sem_t *s)
{
    obj_lock(o);
    int ok = REAL(sem_trywait)(s) == 0;
    if (ok) {
        o->value--;
        op(o, EV_SEM_WAIT, o->value + 1, 0, 0);
        op(o, EV_SEM_ACQUIRED, o->value, 0, 0);
    } else {
        op(o, EV_SEM_WAIT, o->value, 0, 1);
    }
    obj_unlock(o);
    return ok;
}

/* After a blocking wait returned rc: record the token taken, or the give-up (unblock). */
static int sem_after_block(struct instr_obj *o, int rc)
{
    int err = errno;
    mark_blocked(NULL);
    obj_lock(o);
    if (rc == 0) {
        o->value--;
        op(o, EV_SEM_ACQUIRED, o->value, 0, 0);
    } else {
        op(o, EV_UNBLOCK, o->value, 0, err);
    }
    obj_unlock(o);
    errno = err;
    return rc;
}

EXPORT int sem_wait(sem_t *s)
{
    struct instr_obj *o = active() ? sem_obj(s) : NULL;
    if (!o)
        return REAL(sem_wait)(s);
    gate(EV_SEM_WAIT, o->id);
    if (sem_take_locked(o, s))
        return 0;
    mark_blocked(o);
    return sem_after_block(o, REAL(sem_wait)(s));
}

EXPORT int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
    struct instr_obj *o = active() ? sem_obj(s) : NULL;
    if (!o)
        return REAL(sem_timedwait)(s, abstime);
    gate(EV_SEM_WAIT, o->id);
    if (sem_take_locked(o, s))
        return 0;
    mark_blocked(o);
    return sem_after_block(o, REAL(sem_timedwait)(s, abstime));
}

EXPORT int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abstime)
{
    struct instr_obj *o = active() ? sem_obj(s) : NULL;
    if (!o)
        return REAL(sem_clockwait)(s, clock, abstime);
    gate(EV_SEM_WAIT, o->id);
    if (sem_take_locked(o, s))
        return 0;
    mark_blocked(o);
    return sem_after_block(o, REAL(sem_clockwait)(s, clock, abstime));
}

EXPORT int sem_trywait(sem_t *s)
{
    struct instr_obj *o = active() ? sem_obj(s) : NULL;
    if (!o)
        return REAL(sem_trywait)(s);
    gate(EV_SEM_WAIT, o->id);
    obj_lock(o);
    int rc = REAL(sem_trywait)(s);
    int err = errno;
    if (rc == 0)
        o->value--;
    op(o, EV_SEM_WAIT, rc == 0 ? o->value + 1 : o->value, 0, 0);
    if (rc == 0)
        op(o, EV_SEM_ACQUIRED, o->value, 0, 0);
    obj_unlock(o);
    errno = err;
    return rc;
}

EXPORT int sem_post(sem_t *s)
{
    struct instr_obj *o = active() ? sem_obj(s) : NULL;
    if (!o)
        return REAL(sem_post)(s);
    gate(EV_SEM_POST, o->id);
    obj_lock(o);
    int rc = REAL(sem_post)(s);
    int err = errno;
    if (rc == 0) {
        o->value++;
        op(o, EV_SEM_POST, o->value, 0, 0);
    }
    obj_unlock(o);
    errno = err;
    return rc;
}

/* ---- mutexes ---- */

static struct instr_obj *mutex_obj(pthread_mutex_t *m, int fresh)
{
    int shared = (m->__data.__kind & 128) != 0; /* glibc PTHREAD_MUTEX_PSHARED_BIT */
    struct obj_spec sp = {.kind = OK_MUTEX, .shared = shared, .psize = sizeof(*m), .fresh = fresh};
    return obj_at(m, &sp);
}

/* The caller now holds o (rc 0 or EOWNERDEAD): acquired, once per outermost lock. */
static void mutex_acquired(struct instr_obj *o, int rc)
{
    struct instr_attach_objx *x = &g_map->x[o->id];
    if (rc == EOWNERDEAD)
        x->depth = 0;
    if (x->depth++ == 0) {
        x->holder = tl_tid;
        op(o, EV_MUTEX_ACQUIRED, 1, 0, 0);
    }
}

EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
    int rc = REAL(pthread_mutex_init)(m, a);
    if (rc == 0 && active())
        mutex_obj(m, 1);
    return rc;
}

EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
    if (active())
        obj_forget(m, OK_MUTEX);
    return REAL(pthread_mutex_destroy)(m);
}

/* A lock that may block: try first, so a free mutex is taken without a blocked state; else
 * block in lock_fn (lock, timedlock or clocklock), which may give up (ETIMEDOUT). */
static int mutex_lock_common(pthread_mutex_t *m, struct instr_obj *o, clockid_t clock,
                             const struct timespec *abstime, int timed)
{
    gate(EV_MUTEX_WAIT, o->id);
    int rc = REAL(pthread_mutex_trylock)(m);
    if (rc == EBUSY) {
        op(o, EV_MUTEX_WAIT, 1, 0, 1);
        mark_blocked(o);
        if (timed == 2)
            rc = REAL(pthread_mutex_clocklock)(m, clock, abstime);
        else if (timed)
            rc = REAL(pthread_mutex_timedlock)(m, abstime);
        else
            rc = REAL(pthread_mutex_lock)(m);
        mark_blocked(NULL);
        if (rc && rc != EOWNERDEAD)
            op(o, EV_UNBLOCK, 1, 0, rc); /* ETIMEDOUT, EDEADLK and friends: not taken */
    } else if (rc == 0 || rc == EOWNERDEAD) {
        op(o, EV_MUTEX_WAIT, 0, 0, 0);
    }
    if (rc == 0 || rc == EOWNERDEAD)
        mutex_acquired(o, rc);
    return rc;
}

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    struct instr_obj *o = active() ? mutex_obj(m, 0) : NULL;
    if (!o)
        return REAL(pthread_mutex_lock)(m);
    return mutex_lock_common(m, o, CLOCK_REALTIME, NULL, 0);
}

EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
    struct instr_obj *o = active() ? mutex_obj(m, 0) : NULL;
    if (!o)
        return REAL(pthread_mutex_timedlock)(m, abstime);
    return mutex_lock_common(m, o, CLOCK_REALTIME, abstime, 1);
}

EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
                                   const struct timespec *abstime)
{
    struct instr_obj *o = active() ? mutex_obj(m, 0) : NULL;
    if (!o)
        return REAL(pthread_mutex_clocklock)(m, clock, abstime);
    return mutex_lock_common(m, o, clock, abstime, 2);
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    struct instr_obj *o = active() ? mutex_obj(m, 0) : NULL;
    if (!o)
        return REAL(pthread_mutex_trylock)(m);
    gate(EV_MUTEX_WAIT, o->id);
    int rc = REAL(pthread_mutex_trylock)(m);
    op(o, EV_MUTEX_WAIT, rc == EBUSY, 0, 0);
    if (rc == 0 || rc == EOWNERDEAD)
        mutex_acquired(o, rc);
    return rc;
}

/* Before unlocking o: 1 when this unlock really releases it (recorded before the real
 * unlock, so the next holder's acquired comes after it in seq order). */
static int mutex_releasing(struct instr_obj *o)
{
    struct instr_attach_objx *x = &g_map->x[o->id];
    if (x->holder != tl_tid || x->depth <= 0)
        return 0;
    if (--x->depth == 0) {
        x->holder = 0;
        op(o, EV_MUTEX_RELEASE, 0, 0, 0);
    }
    return 1;
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    struct instr_obj *o = active() ? mutex_obj(m, 0) : NULL;
    if (!o)
        return REAL(pthread_mutex_unlock)(m);
    gate(EV_MUTEX_RELEASE, o->id);
    int mine = mutex_releasing(o);
    int rc = REAL(pthread_mutex_unlock)(m);
    if (!mine && rc == 0) /* unlocked by a thread that does not hold it */
        op(o, EV_MUTEX_RELEASE, 0, 0, 1);
    return rc;
}

/* ---- condition variables ---- */

static struct instr_obj *cond_obj(pthread_cond_t *c)
{
    int shared = c->__data.__wrefs & 1; /* glibc: bit 0 = process-shared */
    struct obj_spec sp = {.kind = OK_CONDVAR, .shared = shared, .psize = sizeof(*c)};
    return obj_at(c, &sp);
}

/* Around the real wait: release m, wait on c; then woken, m held again. */
static int cond_wait_common(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime)
{
    struct instr_obj *oc = cond_obj(c), *om = oc ? mutex_obj(m, 0) : NULL;
    if (!om)
        return abstime ? REAL(pthread_cond_timedwait)(c, m, abstime)
                       : REAL(pthread_cond_wait)(c, m);
    gate(EV_COND_WAIT, oc->id);
    struct instr_attach_objx *x = &g_map->x[om->id];
    int depth = x->holder == tl_tid ? x->depth : 1;
    x->holder = 0;
    x->depth = 0;
    op(om, EV_MUTEX_RELEASE, 0, 0, 0);
    op(oc, EV_COND_WAIT, 0, om->id, 1);
    mark_blocked(oc);
    int rc = abstime ? REAL(pthread_cond_timedwait)(c, m, abstime) : REAL(pthread_cond_wait)(c, m);
    mark_blocked(NULL);
    x->holder = tl_tid;
    x->depth = depth > 0 ? depth : 1;
    op(oc, EV_COND_WAKE, 0, om->id, rc);
    op(om, EV_MUTEX_ACQUIRED, 1, 0, 0);
    return rc;
}

EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    if (!active())
        return REAL(pthread_cond_wait)(c, m);
    return cond_wait_common(c, m, NULL);
}

EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                  const struct timespec *abstime)
{
    if (!active())
        return REAL(pthread_cond_timedwait)(c, m, abstime);
    return cond_wait_common(c, m, abstime);
}

EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
    struct instr_obj *o = active() ? cond_obj(c) : NULL;
    if (o) {
        gate(EV_COND_SIGNAL, o->id);
        op(o, EV_COND_SIGNAL, 0, 0, 0);
    }
    return REAL(pthread_cond_signal)(c);
}

EXPORT int pthread_cond_broadcast(pthread_cond_t *c)
{
    struct instr_obj *o = active() ? cond_obj(c) : NULL;
    if (o) {
        gate(EV_COND_BROADCAST, o->id);
        op(o, EV_COND_BROADCAST, 0, 0, 0);
    }
    return REAL(pthread_cond_broadcast)(c);
}

/* ---- pipes ---- */

static int pipe_fill(int fd)
{
    int bytes = 0;
    return ioctl(fd, FIONREAD, &bytes) < 0 ? -1 : bytes;
}

static void pipe_register(const int fds[2])
{
    struct stat st;
    int cap = fcntl(fds[0], F_GETPIPE_SZ);
    if (cap < 0 || fstat(fds[0], &st) < 0)
        return;
    struct obj_spec sp = {.kind = OK_PIPE, .shared = 1, .psize = 1, .cap = cap, .fresh = 1};
    char name[INSTR_NAME_MAX];
    map_lock();
    snprintf(name, sizeof(name), "pipe@%u", ++g_map->named[OK_PIPE]);
    map_unlock();
    sp.name = name;
    /* keyed by inode: the ends are known in every process, after fork, dup2 and exec */
    struct instr_obj *o = obj_at((const void *)(uintptr_t)st.st_ino, &sp);
    if (!o)
        return;
    g_map->x[o->id].ino = st.st_ino;
    g_map->x[o->id].dev = st.st_dev;
    atomic_fetch_add(&g_map->npipes, 1);
}

/* The pipe object fd is an end of, or NULL (not a pipe this program made). */
static struct instr_obj *pipe_obj(int fd)
{
    struct stat st;
    if (!atomic_load(&g_map->npipes) || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode))
        return NULL;
    uint32_t n = atomic_load(&g_sh->nobjs);
    for (uint32_t i = n < INSTR_MAX_OBJS ? n : INSTR_MAX_OBJS; i-- > 0;) /* newest first */
        if (g_sh->objs[i].kind == OK_PIPE && g_map->x[i].ino == st.st_ino &&
            g_map->x[i].dev == st.st_dev)
            return &g_sh->objs[i];
    return NULL;
}

EXPORT int pipe(int fds[2])
{
    int rc = REAL(pipe)(fds);
    if (rc == 0 && active())
        pipe_register(fds);
    return rc;
}

EXPORT int pipe2(int fds[2], int flags)
{
    int rc = REAL(pipe2)(fds, flags);
    if (rc == 0 && active())
        pipe_register(fds);
    return rc;
}

static int blocking_fd(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && !(fl & O_NONBLOCK);
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    struct instr_obj *o = active() ? pipe_obj(fd) : NULL;
    if (!o)
        return REAL(read)(fd, buf, n);
    gate(EV_PIPE_READ, o->id);
    int blocks = n > 0 && pipe_fill(fd) == 0 && blocking_fd(fd);
    if (blocks)
        block_on(o, 0, 0);
    ssize_t r = REAL(read)(fd, buf, n);
    int err = errno;
    int after = pipe_fill(fd);
    if (blocks)
        unblock(o, after, r < 0 ? err : 0);
    if (r >= 0)
        op(o, EV_PIPE_READ, after < 0 ? 0 : after, r, 0);
    errno = err;
    return r;
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen)
        abort();
    return read(fd, buf, n);
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    struct instr_obj *o = active() ? pipe_obj(fd) : NULL;
    if (!o)
        return REAL(write)(fd, buf, n);
    gate(EV_PIPE_WRITE, o->id);
    int fill = pipe_fill(fd);
    int blocks = fill >= 0 && (int64_t)fill + (int64_t)n > o->capacity && blocking_fd(fd);
    if (blocks)
        block_on(o, fill, fill);
    ssize_t w = REAL(write)(fd, buf, n);
    int err = errno;
    int after = pipe_fill(fd);
    if (blocks)
        unblock(o, after, w < 0 ? err : 0);
    if (w >= 0)
        op(o, EV_PIPE_WRITE, after < 0 ? 0 : after, w, 0);
    errno = err;
    return w;
}

EXPORT int close(int fd)
{
    struct instr_obj *o = active() ? pipe_obj(fd) : NULL;
    if (o) {
        int fl = fcntl(fd, F_GETFL);
        int fill = pipe_fill(fd);
        op(o, EV_PIPE_CLOSE, fill < 0 ? 0 : fill, 0, fl >= 0 && (fl & O_ACCMODE) == O_WRONLY);
    }
    return REAL(close)(fd);
}

/* ---- processes and threads ---- */

EXPORT pid_t fork(void)
{
    if (!active())
        return REAL(fork)();
    gate(EV_FORK_RET, EV_NO_OBJ);
    char name[INSTR_NAME_MAX];
    next_task_name(name, sizeof(name), 0);
    pid_t parent = getpid();
    int slot = reserve_slot();
    pid_t pid = REAL(fork)();
    if (pid == 0) {
        tl_slot = -1;
        g_exit_done = 0;
        g_proc_slot = task_begin_in(slot, name, TK_PROCESS, parent);
    }
    if (pid >= 0 && tl_slot >= 0)
        emit(EV_FORK_RET, EV_NO_OBJ, pid, 0, 0);
    return pid;
}

EXPORT pid_t waitpid(pid_t pid, int *wstatus, int options)
{
    int st = 0;
    pid_t r = REAL(waitpid)(pid, &st, options);
    if (r > 0 && active())
        reaped(r, st);
    if (r > 0 && wstatus)
        *wstatus = st;
    return r;
}

EXPORT pid_t wait(int *wstatus)
{
    return waitpid(-1, wstatus, 0);
}

EXPORT pid_t wait4(pid_t pid, int *wstatus, int options, struct rusage *ru)
{
    int st = 0;
    pid_t r = REAL(wait4)(pid, &st, options, ru);
    if (r > 0 && active())
        reaped(r, st);
    if (r > 0 && wstatus)
        *wstatus = st;
    return r;
}

EXPORT pid_t wait3(int *wstatus, int options, struct rusage *ru)
{
    return wait4(-1, wstatus, options, ru);
}

/* waitid reaps unless WNOWAIT; its answer is a siginfo, turned back into a wait status. */
EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    int rc = REAL(waitid)(idtype, id, &si, options);
    if (rc == 0 && si.si_pid > 0 && active() && !(options & WNOWAIT)) {
        if (si.si_code == CLD_EXITED)
            reaped(si.si_pid, W_EXITCODE(si.si_status, 0));
        else if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)
            reaped(si.si_pid, W_EXITCODE(0, si.si_status));
    }
    if (info)
        *info = si;
    return rc;
}

EXPORT int kill(pid_t pid, int sig)
{
    if (active() && sig != 0) {
        gate(EV_SIG_SEND, EV_NO_OBJ);
        emit(EV_SIG_SEND, EV_NO_OBJ, sig, 0, pid);
    }
    return REAL(kill)(pid, sig);
}

/* ---- signal handlers ----
 * A handler the program installs is wrapped: the kernel calls the trampoline, which records
 * that the handler ran (sig_handle, in the task that runs it) and calls the program's
 * handler. The program always sees its own handlers: an old action handed back is the one
 * it installed. glibc's own sigaction calls (inside system(), say) pass through. */
struct user_handler {
    int siginfo; /* SA_SIGINFO: three arguments */
    union {
        void (*fn)(int);
        void (*act)(int, siginfo_t *, void *);
    } h;
};
static struct user_handler g_handler[NSIG];

static void trampoline(int sig, siginfo_t *si, void *uc)
{
    int err = errno;
    if (active())
        emit(EV_SIG_HANDLE, EV_NO_OBJ, sig, 0, si ? si->si_pid : 0);
    errno = err;
    struct user_handler h = g_handler[sig];
    if (h.siginfo && h.h.act)
        h.h.act(sig, si, uc);
    else if (!h.siginfo && h.h.fn)
        h.h.fn(sig);
}

static int is_handler(const struct sigaction *a)
{
    return (a->sa_flags & SA_SIGINFO) || (a->sa_handler != SIG_DFL && a->sa_handler != SIG_IGN);
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (!g_sh || sig <= 0 || sig >= NSIG)
        return REAL(sigaction)(sig, act, old);
    struct user_handler before = g_handler[sig];
    struct sigaction mine, prev;
    const struct sigaction *use = act;
    if (act && is_handler(act)) {
        mine = *act;
        mine.sa_flags |= SA_SIGINFO;
        mine.sa_sigaction = trampoline;
        use = &mine;
    }
    int rc = REAL(sigaction)(sig, use, &prev);
    if (rc < 0)
        return rc;
    if (act) {
        struct user_handler now = {0};
        if (is_handler(act)) {
            now.siginfo = (act->sa_flags & SA_SIGINFO) != 0;
            if (now.siginfo)
                now.h.act = act->sa_sigaction;
            else
                now.h.fn = act->sa_handler;
        }
        g_handler[sig] = now;
    }
    if (old) {
        *old = prev;
        if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction == trampoline) {
            old->sa_flags &= before.siginfo ? ~0 : ~SA_SIGINFO;
            if (before.siginfo)
                old->sa_sigaction = before.h.act;
            else
                old->sa_handler = before.h.fn;
        }
    }
    return rc;
}

/* glibc's signal(): BSD semantics (the handler stays, interrupted calls restart). */
EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
    struct sigaction act, old;
    memset(&act, 0, sizeof(act));
    act.sa_handler = handler;
    act.sa_flags = SA_RESTART;
    sigemptyset(&act.sa_mask);
    if (sig > 0 && sig < NSIG)
        sigaddset(&act.sa_mask, sig);
    if (sigaction(sig, &act, &old) < 0)
        return SIG_ERR;
    return old.sa_handler; /* shares its storage with sa_sigaction */
}

/* ---- system() and popen(): glibc waits for their children internally ----
 * The shell they start is a task of ours (it runs this library too), but its reaping happens
 * inside glibc, past the wait wrappers. Once system() or pclose() returns, a child it started
 * (a task registered since the call began, whose parent is this process) that no longer
 * exists has been reaped, with the status the call returns. kill(pid, 0) tells: a zombie
 * still exists. */
static void reaped_since(uint32_t first, int status)
{
    pid_t me = getpid();
    uint32_t n = atomic_load(&g_sh->ntasks);
    for (uint32_t s = first; s < n && s < g_sh->max_tasks; s++) {
        struct instr_task *t = &g_sh->tasks[s];
        if (!atomic_load(&t->used) || t->ppid != me || t->kind != TK_PROCESS || t->pid <= 0 ||
            t->pid != t->tid)
            continue;
        if (REAL(kill)(t->pid, 0) == 0 || errno != ESRCH)
            continue; /* running, or a zombie nobody has reaped yet */
        reaped(t->pid, status);
    }
}

EXPORT int system(const char *cmd)
{
    if (!active() || !cmd)
        return REAL(system)(cmd);
    uint32_t first = atomic_load(&g_sh->ntasks);
    int err, rc = REAL(system)(cmd);
    err = errno;
    if (rc != -1)
        reaped_since(first, rc);
    errno = err;
    return rc;
}

#define POPEN_MAX 16
static struct {
    FILE *f;
    uint32_t first; /* task slots in use when it started */
} g_popen[POPEN_MAX];
static pthread_mutex_t g_popen_lock = PTHREAD_MUTEX_INITIALIZER;

EXPORT FILE *popen(const char *cmd, const char *mode)
{
    if (!active())
        return REAL(popen)(cmd, mode);
    uint32_t first = atomic_load(&g_sh->ntasks);
    FILE *f = REAL(popen)(cmd, mode);
    if (f) {
        REAL(pthread_mutex_lock)(&g_popen_lock);
        for (int i = 0; i < POPEN_MAX; i++)
            if (!g_popen[i].f) {
                g_popen[i].f = f;
                g_popen[i].first = first;
                break;
            }
        REAL(pthread_mutex_unlock)(&g_popen_lock);
    }
    return f;
}

EXPORT int pclose(FILE *f)
{
    int64_t first = -1;
    if (active()) {
        REAL(pthread_mutex_lock)(&g_popen_lock);
        for (int i = 0; i < POPEN_MAX; i++)
            if (g_popen[i].f == f) {
                first = g_popen[i].first;
                g_popen[i].f = NULL;
            }
        REAL(pthread_mutex_unlock)(&g_popen_lock);
    }
    int rc = REAL(pclose)(f);
    int err = errno;
    if (rc != -1 && first >= 0)
        reaped_since((uint32_t)first, rc);
    errno = err;
    return rc;
}

EXPORT void exit(int status)
{
    proc_exit(status);
    REAL(exit)(status);
    __builtin_unreachable();
}

EXPORT void _exit(int status)
{
    proc_exit(status);
    REAL(_exit)(status);
    __builtin_unreachable();
}

EXPORT void _Exit(int status)
{
    proc_exit(status);
    REAL(_Exit)(status);
    __builtin_unreachable();
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
    if (g_sh)
        task_begin_in(ts.slot, ts.name, TK_THREAD, getpid());
    void *ret = ts.fn(ts.arg);
    thread_end(ret);
    return ret;
}

EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    struct thread_start *ts = active() ? malloc(sizeof(*ts)) : NULL;
    if (!ts)
        return REAL(pthread_create)(th, attr, fn, arg);
    next_task_name(ts->name, sizeof(ts->name), 1);
    ts->slot = reserve_slot();
    ts->fn = fn;
    ts->arg = arg;
    int rc = REAL(pthread_create)(th, attr, thread_trampoline, ts);
    if (rc)
        free(ts);
    return rc;
}

EXPORT void pthread_exit(void *ret)
{
    thread_end(ret);
    REAL(pthread_exit)(ret);
    __builtin_unreachable();
}

/* main's return value is the process's exit status: record it as task_exit. */
static int main_trampoline(int argc, char **argv, char **envp)
{
    int rc = g_main(argc, argv, envp);
    proc_exit(rc);
    return rc;
}

EXPORT int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv,
                             void (*init)(void), void (*fini)(void), void (*rtld_fini)(void),
                             void *stack_end)
{
    g_main = main;
    return REAL(__libc_start_main)(main_trampoline, argc, argv, init, fini, rtld_fini, stack_end);
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

__attribute__((constructor)) static void preload_init(void)
{
    REAL(read), REAL(write), REAL(close), REAL(fork), REAL(exit), REAL(pthread_create);
    REAL(pthread_mutex_lock), REAL(pthread_mutex_trylock), REAL(pthread_mutex_unlock);
    REAL(sem_wait), REAL(sem_trywait), REAL(sem_post), REAL(waitpid);
    REAL(pthread_cond_wait), REAL(pthread_cond_timedwait);
    if (attach() < 0)
        return;
    snprintf(g_prog, sizeof(g_prog), "%s", program_invocation_short_name);
    elf_load();
    int slot = find_own_slot();
    if (slot >= 0)
        bind_slot(slot); /* started by the conductor, or our own exec: keep the task */
    else
        slot = task_begin_in(reserve_slot(), g_prog, TK_PROCESS, getppid());
    g_proc_slot = slot;
}
