/*
 * sync.c - the program's semaphores (unnamed and named), pthread mutexes (plain, recursive,
 * robust, timed) and condition variables.
 *
 * Semaphore values are recorded under the object's spin lock so that, in seq order, the
 * trace gives exactly the values the operations produced; a mutex's holder is recorded once
 * per outermost lock; a wait that gives up (ETIMEDOUT) is an unblock with the error. An
 * operation that neither waits nor wakes anyone is one record stamped with the cheap clock;
 * contention gets the full story (wait, block, acquired) with precise stamps.
 */
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The uncontended paths: inlined into the exported wrappers (a call costs as much as the rest
 * of them there). */
#define HOT inline __attribute__((always_inline))
/* The general path of a call whose short path (a folded pair) is inlined in the exported
 * function: kept out of line so the short path saves no registers it does not use. */
#define SLOW __attribute__((noinline))

/* ---- waiting a moment before blocking ----
 * Following a call lengthens the program's critical sections by a record or two, so a
 * thread that would have found a semaphore or mutex free finds it taken far more often than
 * without ipcscope (two threads counting under one semaphore blocked 56,000 times in a
 * million pairs and ran 20 to 100 times slower). A thread about to block therefore first
 * watches the lock word for a few microseconds, as glibc's adaptive mutexes do, and takes it
 * if it comes free; only then does it sleep in the kernel. The wait is recorded either way:
 * it found the object taken. On one CPU the holder cannot run meanwhile: no watching.
 *
 * A semaphore's waiter looks at its word only every SEM_LOOK_NS: looking after every pause,
 * it took a token whenever the holder's post left it a few nanoseconds' chance before its
 * next wait, so two threads counting under one semaphore changed hands every few pairs, each
 * change a round of records and of cache lines between the CPUs (4.5x plain; looking every
 * 5 us: 1.0x, scripts/bench). Plainly the waiter sleeps in the kernel and takes a token
 * when it wakes, microseconds later: the holder runs long stretches, as it now does here. A
 * mutex's waiter still looks after every pause: a condition variable's hand-offs need it.
 *
 * Watching pays only when a CPU is free for it. While the machine's other work alone keeps
 * every CPU busy (the conductor looks every 10 ms and sets g_sh->crowded: exec_crowd.c), a
 * watcher takes time the thread it waits for needs: then the waiter sleeps at once, as it
 * does without ipcscope (under two busy loops on 2 CPUs a semaphore ping-pong ran 13x plain
 * when it watched, 1.2x when it slept). The program's own threads do not count: 4 threads on
 * one semaphore on 2 CPUs ran 2.5x plain when they slept at once, 1.1x when they watched.
 * A thread marks itself `watching` in its slot meanwhile: it is on a CPU, though blocked. */
#define WAIT_SPINS 256
#define SEM_LOOK_NS 5000u /* between two looks at a semaphore's word */
#define SEM_LOOKS 8       /* then sleep: at most ~40 us of watching */

static int g_spin_cpus = -1; /* CPUs this process may run on, counted once */

static int wait_spin_ok(void)
{
    int n = __atomic_load_n(&g_spin_cpus, __ATOMIC_RELAXED);
    if (n < 0) {
        cpu_set_t set;
        n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
        __atomic_store_n(&g_spin_cpus, n, __ATOMIC_RELAXED);
    }
    if (n <= 1)
        return 0;
    if (atomic_load_explicit(&g_sh->crowded, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&g_sh->waits_crowded, 1, memory_order_relaxed);
        return 0;
    }
    atomic_fetch_add_explicit(&g_sh->waits_watched, 1, memory_order_relaxed);
    return 1;
}

static void watching(int on)
{
    atomic_store_explicit(&g_sh->tasks[tl_slot].watching, (uint32_t)on, memory_order_relaxed);
}

/* How long a wait may watch before it blocks, in ns, at most max: max for a wait without a
 * deadline, else the time left to abstime on clock (0 when it has passed, or is not a time:
 * the real call then says ETIMEDOUT or EINVAL as it would without ipcscope). */
static uint64_t spin_budget(clockid_t clock, const struct timespec *abstime, uint64_t max)
{
    if (!abstime)
        return max;
    if (abstime->tv_sec < 0 || abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000L)
        return 0;
    uint64_t end = (uint64_t)abstime->tv_sec * 1000000000ull + (uint64_t)abstime->tv_nsec;
    uint64_t now = clock_read(clock);
    return end <= now ? 0 : end - now < max ? end - now : max;
}

/* ---- semaphores ---- */

/* glibc's sem_t on 64-bit: {uint64 data (value | waiters << 32); int private;}. `private`
 * is the flag glibc adds to the semaphore's futex calls: 0 for a process-private semaphore
 * (pshared 0), FUTEX_PRIVATE_FLAG's bit for a process-shared or named one (its futex must not
 * be private: glibc's LLL_SHARED). */
struct glibc_sem {
    uint64_t data;
    int private;
};

static int sem_shared(sem_t *s)
{
    return ((const struct glibc_sem *)(const void *)s)->private != 0;
}

/* 1 when a sem_post may wake a waiter. */
static int sem_has_waiters(sem_t *s)
{
    uint64_t d = __atomic_load_n(&((struct glibc_sem *)(void *)s)->data, __ATOMIC_RELAXED);
    return (d >> 32) != 0;
}

/* ---- named semaphores ----
 * A named semaphore is the file /dev/shm/sem.NAME, mapped by every process that opens it
 * wherever it likes, and by a fork child where its parent had it. So its object is keyed by
 * the file's inode (as a POSIX shared memory object or message queue is: one object in every
 * process, a new one when the name is unlinked and made again), and each process's address
 * of it is an alias of its own. A process that uses an address it never saw opened (a fork
 * child of the opener) finds the file behind it in /proc/self/maps. */

#define SEM_PREFIX "/dev/shm/sem."

/* The named semaphore's file mapped at s in this process: its name (after "sem.", without
 * " (deleted)") into name, its device and inode. 1 when s is in such a mapping, else 0.
 * Leaves errno as it was. */
static int sem_file_at(const sem_t *s, char *name, size_t n, uint64_t *dev, uint64_t *ino)
{
    int err = errno;
    int fd = REAL(open)("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        errno = err;
        return 0;
    }
    char buf[4096];
    size_t have = 0;
    int found = 0;
    uintptr_t a = (uintptr_t)s;
    for (;;) {
        char *nl = memchr(buf, '\n', have);
        if (!nl) {
            if (have == sizeof(buf))
                have = 0; /* a line longer than any of ours: skip it */
            ssize_t got = REAL(read)(fd, buf + have, sizeof(buf) - have);
            if (got <= 0)
                break;
            have += (size_t)got;
            continue;
        }
        *nl = '\0';
        unsigned long lo, hi, off, ino_l;
        unsigned maj, mnr;
        int path = 0;
        if (sscanf(buf, "%lx-%lx %*s %lx %x:%x %lu %n", &lo, &hi, &off, &maj, &mnr, &ino_l,
                   &path) >= 6 &&
            path > 0 && a >= lo && a < hi) {
            const char *p = buf + path;
            if (strncmp(p, SEM_PREFIX, strlen(SEM_PREFIX)) == 0) {
                snprintf(name, n, "%s", p + strlen(SEM_PREFIX));
                char *del = strstr(name, " (deleted)");
                if (del)
                    *del = '\0';
                *dev = makedev(maj, mnr);
                *ino = ino_l;
                found = 1;
            }
            break;
        }
        have -= (size_t)(nl + 1 - buf);
        memmove(buf, nl + 1, have);
    }
    REAL(close)(fd);
    errno = err;
    return found;
}

/* The object of the named semaphore s (called name, device and inode as given), made the
 * object of s in this process too. */
static struct instr_obj *sem_named(sem_t *s, const char *name, uint64_t dev, uint64_t ino)
{
    int v = 0;
    sem_getvalue(s, &v);
    struct obj_spec sp = {
        .kind = OK_SEMAPHORE, .shared = 1, .psize = sizeof(sem_t), .init = v, .name = name};
    struct instr_obj *o = obj_at(inode_key(dev, ino), &sp);
    if (o) {
        g_map->x[o->id].flags |= INSTR_OBJX_PATH;
        obj_alias(s, 0, o);
    }
    return o;
}

static struct instr_obj *sem_lookup(sem_t *s, uint32_t remaps)
{
    int shared = sem_shared(s);
    /* this process's first: a named one (shared, but keyed by its process) is there too */
    struct instr_obj *o = obj_find(s, OK_SEMAPHORE, 0);
    if (!o && shared)
        o = obj_find(s, OK_SEMAPHORE, 1);
    char name[INSTR_NAME_MAX];
    uint64_t dev, ino;
    if (!o && shared && sem_file_at(s, name, sizeof(name), &dev, &ino))
        o = sem_named(s, name, dev, ino); /* opened before a fork: the parent's object */
    if (!o) {
        int v = 0;
        sem_getvalue(s, &v);
        struct obj_spec sp = {
            .kind = OK_SEMAPHORE, .shared = shared, .psize = sizeof(sem_t), .init = v};
        o = obj_at(s, &sp);
    }
    obj_cache_put(&tl_cache.sem, s, o, remaps);
    return o;
}

/* The object for s: the one the calling thread used last, found at once, else registered (a
 * named semaphore under its own address in each process, for the one object of its file). */
static HOT struct instr_obj *sem_obj(sem_t *s)
{
    uint32_t remaps;
    struct instr_obj *o = obj_cache_get(&tl_cache.sem, s, &remaps);
    return o ? o : sem_lookup(s, remaps);
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
        obj_forget(s, OK_SEMAPHORE, sem_shared(s));
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
    if (s == SEM_FAILED || !active())
        return s;
    int err = errno;
    char file[INSTR_NAME_MAX];
    uint64_t dev, ino;
    if (sem_file_at(s, file, sizeof(file), &dev, &ino))
        sem_named(s, name + (name[0] == '/'), dev, ino);
    errno = err;
    return s;
}

/* The address no longer stands for the semaphore (glibc unmaps it at the last close). */
EXPORT int sem_close(sem_t *s)
{
    if (active())
        obj_forget(s, OK_SEMAPHORE, 0);
    return REAL(sem_close)(s);
}

/* The semaphore of that name (by its file's inode) has no name any more; processes that
 * have it open keep using it. */
EXPORT int sem_unlink(const char *name)
{
    return unlink_named(REAL(sem_unlink), SEM_PREFIX, name, OK_SEMAPHORE);
}

/* ---- semaphore folds ----
 * As a mutex's (preload.h, "folding"): after a post nobody waited for, the task's further
 * take/post pairs on that semaphore within the tick are counted, one sem_pairs record for
 * them. Unlike a mutex, another task may take or post the semaphore while a fold keeps one
 * of its tokens. So every operation on a semaphore, and every change to a fold on it, runs
 * under the object's lock (x->fold_slot1 names the task whose fold is open on it), and a
 * task that finds another's fold open records it on that task's behalf before its own
 * record: values stay exact in seq order. */

/* A record about task slot on o at clock reading t, into the calling task's ring. Under o's
 * lock. */
static void sem_rec_for(struct instr_obj *o, uint32_t slot, uint16_t kind, int64_t val,
                        int64_t item, uint64_t t)
{
    struct instr_attach_objx *x = &g_map->x[o->id];
    struct instr_task *task = &g_sh->tasks[slot];
    uint32_t seq = atomic_fetch_add_explicit(&o->seq, 1, FOLD_RELAXED);
    uint64_t floor = atomic_load_explicit(&x->last_t, FOLD_RELAXED);
    if (slot == (uint32_t)tl_slot && t <= tl_last_t)
        t = tl_last_t + 1;
    if (t <= floor)
        t = floor + 1;
    if (slot == (uint32_t)tl_slot)
        tl_last_t = t;
    atomic_store_explicit(&x->last_t, t, FOLD_RELAXED);
    put_rec(t, kind, slot, task->pid, task->tid, o->id, seq, val, item, 0, 0);
}

/* ---- lock-free folds ----
 * Taking and giving back o's lock is an atomic exchange a call: in a folded loop on a
 * semaphore it cost more than everything else the short path does (A/B, 1,000,000 pairs:
 * plain 14.6 ms, with the lock 32.7, without 21.2). A semaphore nobody else has touched while
 * someone folded on it is the common case (a thread's own loop), so its folds run their short
 * path without the lock, by an asymmetric handshake: the owner sets its fold's in_op, then
 * (no fence) checks the fold is still its own and does the take or post; a task closing
 * that fold from outside (under o's lock, as always) clears fold_slot1, makes every thread of
 * the owner's process pass a full barrier (membarrier(2): ~20 us in a VM) and waits for
 * in_op to drop. Either the owner saw the fold closed and takes the general path, or the
 * closer sees it inside and waits for its writes. The owner pays nothing; the closer a system
 * call, once: it marks o fold_shared, and o's later folds take the lock as before. */

static _Atomic pid_t mb_pid; /* the process registered for membarrier (-pid: refused) */

static long mb_call(int cmd)
{
    return syscall(SYS_membarrier, cmd, 0, 0);
}

/* 1 when this process may run folds without the lock (it registers once, as each fork child
 * must again: a barrier can then reach its threads from its own or another process). */
static int fold_fence_ready(void)
{
    pid_t p = atomic_load_explicit(&mb_pid, memory_order_relaxed);
    if (p == g_pid || p == -g_pid)
        return p == g_pid;
    int err = errno;
    int ok = mb_call(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 &&
             mb_call(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0;
    errno = err;
    atomic_store_explicit(&mb_pid, ok ? g_pid : -g_pid, memory_order_relaxed);
    return ok;
}

/* 1 while the task in slot (not the caller) may still be running. */
static int task_alive(const struct instr_task *task)
{
    int err = errno;
    long rc =
        task->pid == g_pid ? syscall(SYS_tgkill, task->pid, task->tid, 0) : kill(task->pid, 0);
    int gone = rc != 0 && errno == ESRCH;
    errno = err;
    return !gone;
}

/* Closing another task's lock-free fold f (under o's lock, fold_slot1 already cleared):
 * return once its owner is outside its short path, and o folds with the lock from now on. */
static void fold_fence_wait(struct instr_attach_objx *x, const struct instr_task *task,
                            struct instr_fold *f)
{
    atomic_store_explicit(&x->fold_shared, 1, FOLD_RELAXED);
    int err = errno;
    if (mb_call(task->pid == g_pid ? MEMBARRIER_CMD_PRIVATE_EXPEDITED
                                   : MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0)
        mb_call(MEMBARRIER_CMD_GLOBAL);
    errno = err;
    for (unsigned i = 1; atomic_load_explicit(&f->in_op, memory_order_acquire); i++) {
        if (i < OBJ_LOCK_SPINS) {
            cpu_pause();
            continue;
        }
        if (i % 256 == 0 && !task_alive(task))
            return; /* died inside it: nothing more will come */
        sched_yield();
    }
}

/* The owner's short path on o begins / ends: with o's lock or, lock-free, marked in_op. */
static HOT void fold_enter(struct instr_obj *o, struct instr_fold *f, int lockfree)
{
    if (!lockfree) {
        obj_lock(o);
        return;
    }
    busy_enter();
    atomic_store_explicit(&f->in_op, 1, FOLD_RELAXED);
    atomic_signal_fence(memory_order_seq_cst); /* the CPU's order: the closer's membarrier */
}

static HOT void fold_leave(struct instr_obj *o, struct instr_fold *f, int lockfree)
{
    if (!lockfree) {
        obj_unlock(o);
        return;
    }
    atomic_store_explicit(&f->in_op, 0, memory_order_release);
    busy_leave();
}

/* Record the fold open on semaphore o, whoever's it is (only the caller's when mine_only),
 * and close it. Under o's lock. */
static void sem_fold_close(struct instr_obj *o, int mine_only)
{
    struct instr_attach_objx *x = &g_map->x[o->id];
    uint32_t slot1 = atomic_load_explicit(&x->fold_slot1, FOLD_RELAXED);
    if (!slot1 || slot1 > g_sh->max_tasks || (mine_only && slot1 != (uint32_t)tl_slot + 1))
        return;
    atomic_store_explicit(&x->fold_slot1, 0, FOLD_RELAXED);
    struct instr_fold *f = &g_sh->tasks[slot1 - 1].fold;
    if (slot1 != (uint32_t)tl_slot + 1 && atomic_load_explicit(&f->lockfree, FOLD_RELAXED))
        fold_fence_wait(x, &g_sh->tasks[slot1 - 1], f);
    uint32_t want = o->id + 1;
    uint64_t pairs = atomic_load_explicit(&f->pairs, FOLD_RELAXED);
    uint64_t tick = atomic_load_explicit(&f->tick, FOLD_RELAXED);
    uint32_t held = atomic_load_explicit(&f->held, FOLD_RELAXED);
    if (!atomic_compare_exchange_strong(&f->obj1, &want, 0))
        return; /* closed already (the conductor, at the task's reap) */
    atomic_store_explicit(&f->pairs, 0, FOLD_RELAXED);
    atomic_store_explicit(&f->held, FOLD_FREE, FOLD_RELAXED);
    busy_enter();
    int64_t kept = held != FOLD_FREE; /* a token taken in the fold and not posted back */
    if (pairs)
        sem_rec_for(o, slot1 - 1, EV_SEM_PAIRS, o->value + kept, (int64_t)pairs, tick);
    if (kept)
        sem_rec_for(o, slot1 - 1, EV_SEM_ACQUIRED, o->value, 0, tick);
    busy_leave();
}

/* Before taking o's lock: record the caller's fold if it is on another object (its lock, if
 * a semaphore's, must not be taken while o's is held). */
static HOT void sem_fold_elsewhere(struct instr_obj *o)
{
    if (tl_fold && atomic_load_explicit(&tl_fold->obj1, FOLD_RELAXED) != o->id + 1)
        fold_flush();
}

/* 1 when the caller's fold on o is open and in its tick (under o's lock). */
static HOT int sem_fold_mine(struct instr_obj *o)
{
    struct instr_fold *f = tl_fold;
    return f &&
           atomic_load_explicit(&g_map->x[o->id].fold_slot1, FOLD_RELAXED) ==
               (uint32_t)tl_slot + 1 &&
           atomic_load_explicit(&f->obj1, FOLD_RELAXED) == o->id + 1;
}

/* Before trying to take a token of o: 1 when a token taken now would join the caller's
 * fold; else the fold is recorded and closed first (o->value is still the value before). */
static HOT int sem_fold_can_take(struct instr_obj *o)
{
    if (sem_fold_mine(o) && atomic_load_explicit(&tl_fold->held, FOLD_RELAXED) == FOLD_FREE &&
        fold_in_tick(tl_fold))
        return 1;
    sem_fold_close(o, 1);
    return 0;
}

/* Before posting o (waiters: it will wake one): 1 when the post would complete a folded
 * pair; else the fold is recorded and closed first. */
static HOT int sem_fold_can_give(struct instr_obj *o, int waiters)
{
    if (!waiters && sem_fold_mine(o) &&
        atomic_load_explicit(&tl_fold->held, FOLD_RELAXED) == FOLD_HELD)
        return 1;
    sem_fold_close(o, 1);
    return 0;
}

static HOT void sem_fold_took(void)
{
    atomic_store_explicit(&tl_fold->held, FOLD_HELD, FOLD_RELAXED);
}

static HOT void sem_fold_gave(void)
{
    atomic_store_explicit(&tl_fold->pairs, atomic_load_explicit(&tl_fold->pairs, FOLD_RELAXED) + 1,
                          FOLD_RELAXED);
    atomic_store_explicit(&tl_fold->held, FOLD_FREE, FOLD_RELAXED);
}

/* After a post nobody waited for (recorded): fold what follows on o in this tick. */
static void sem_fold_open(struct instr_obj *o)
{
    struct instr_fold *f = tl_fold;
    if (!f)
        return;
    atomic_store_explicit(&f->tick, clock_read(CLOCK_MONOTONIC_COARSE), FOLD_RELAXED);
    atomic_store_explicit(&f->pairs, 0, FOLD_RELAXED);
    atomic_store_explicit(&f->held, FOLD_FREE, FOLD_RELAXED);
    fold_began();
    struct instr_attach_objx *x = &g_map->x[o->id];
    atomic_store_explicit(
        &f->lockfree, !atomic_load_explicit(&x->fold_shared, FOLD_RELAXED) && fold_fence_ready(),
        FOLD_RELAXED);
    atomic_store_explicit(&f->obj1, o->id + 1, FOLD_RELAXED);
    atomic_store_explicit(&x->fold_slot1, (uint32_t)tl_slot + 1, FOLD_RELAXED);
}

/* The caller's fold on semaphore o, from fold_flush_now (not under o's lock). */
static void sem_fold_flush(struct instr_obj *o)
{
    obj_lock(o);
    sem_fold_close(o, 1);
    struct instr_fold *f = tl_fold;
    uint32_t want = o->id + 1; /* closed by another task: nothing of it is left here */
    atomic_compare_exchange_strong(&f->obj1, &want, 0);
    obj_unlock(o);
}

/* Under the object lock: take a token if there is one (sem_acquired, or into the caller's
 * fold), else record the wait that will block. 1 when taken. */
static HOT int sem_take_locked(struct instr_obj *o, sem_t *s)
{
    obj_lock(o);
    if (!sem_fold_mine(o))
        sem_fold_close(o, 0); /* another task's, before anything of ours */
    int fold = sem_fold_can_take(o);
    int ok = REAL(sem_trywait)(s) == 0;
    if (ok) {
        o->value--;
        if (fold)
            sem_fold_took();
        else
            op_fast(o, EV_SEM_ACQUIRED, o->value, 0, 0);
    } else {
        sem_fold_close(o, 1);
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
    sem_fold_close(o, 0); /* anyone's (none is ours: we waited) */
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

/* Before blocking on s (see "waiting a moment"), for at most budget ns: 1 when a token came
 * free and was taken. */
static int sem_spin_take(sem_t *s, uint64_t budget)
{
    if (budget < SEM_LOOK_NS || !wait_spin_ok())
        return 0;
    const uint64_t *data = &((const struct glibc_sem *)(const void *)s)->data;
    uint64_t next = clock_read(CLOCK_MONOTONIC);
    int took = 0;
    watching(1);
    for (uint64_t look = 0; look < budget / SEM_LOOK_NS && !took; look++) {
        next += SEM_LOOK_NS;
        do {
            for (int i = 0; i < 16; i++)
                cpu_pause();
        } while (clock_read(CLOCK_MONOTONIC) < next);
        took = (uint32_t)__atomic_load_n(data, __ATOMIC_RELAXED) != 0 && REAL(sem_trywait)(s) == 0;
    }
    watching(0);
    return took;
}

enum { SEM_PLAIN, SEM_TIMED, SEM_CLOCK };

/* sem_wait, sem_timedwait and sem_clockwait: take at once, or block in the real call. */
static int sem_wait_common(sem_t *s, int how, clockid_t clock, const struct timespec *abstime)
{
    struct instr_obj *o = sem_obj(s);
    struct deadline d = {0};
    if (o) {
        sem_fold_elsewhere(o);
        deadline_begin(&d, how == SEM_CLOCK ? clock : CLOCK_REALTIME,
                       how == SEM_PLAIN ? NULL : abstime, EV_SEM_WAIT, o->id);
        gate(EV_SEM_WAIT, o->id);
        if (sem_take_locked(o, s)) {
            deadline_end(&d);
            return 0;
        }
        mark_blocked(o);
    }
    int rc;
    struct timespec slice;
    if (o && sem_spin_take(s, spin_budget(clock, abstime, SEM_LOOKS * SEM_LOOK_NS)))
        rc = 0;
    else if (how == SEM_PLAIN)
        rc = REAL(sem_wait)(s);
    else
        for (int more = 1; more;) { /* held: in slices, until the gate lets it expire */
            more = deadline_slice(&d, abstime, &slice);
            rc = !more              ? (errno = ETIMEDOUT, -1)
                 : how == SEM_TIMED ? REAL(sem_timedwait)(s, &slice)
                                    : REAL(sem_clockwait)(s, clock, &slice);
            more = more && d.held && rc < 0 && errno == ETIMEDOUT;
        }
    deadline_end(&d);
    return o ? sem_after_block(o, rc) : rc;
}

/* A loop's take/post pairs inside the thread's fold, the short way (as mutexes: see "a
 * loop's folded pairs"): the same checks under the object's lock as the general path, with
 * nothing looked up. Each returns 0 before changing anything when a check fails. */

/* A take joining the fold: 1 when taken. */
static HOT int sem_wait_folded(sem_t *s)
{
    struct instr_obj *o = folded_obj(&tl_cache.sem, s);
    if (!o)
        return 0;
    struct instr_fold *f = tl_fold;
    int lockfree = atomic_load_explicit(&f->lockfree, FOLD_RELAXED);
    fold_enter(o, f, lockfree);
    int ok = sem_fold_mine(o) && atomic_load_explicit(&tl_fold->held, FOLD_RELAXED) == FOLD_FREE &&
             fold_in_tick(tl_fold) && REAL(sem_trywait)(s) == 0;
    if (ok) {
        o->value--;
        sem_fold_took();
    }
    fold_leave(o, f, lockfree);
    return ok;
}

/* The post completing a folded pair, nobody waiting: 1 when done (*rc its result). */
static HOT int sem_post_folded(sem_t *s, int *rc)
{
    struct instr_obj *o = folded_obj(&tl_cache.sem, s);
    if (!o)
        return 0;
    struct instr_fold *f = tl_fold;
    int lockfree = atomic_load_explicit(&f->lockfree, FOLD_RELAXED);
    fold_enter(o, f, lockfree);
    int in = sem_fold_mine(o) && atomic_load_explicit(&tl_fold->held, FOLD_RELAXED) == FOLD_HELD &&
             !sem_has_waiters(s);
    if (in) {
        *rc = REAL(sem_post)(s);
        if (*rc == 0) {
            o->value++;
            sem_fold_gave();
        }
    }
    fold_leave(o, f, lockfree);
    if (in && *rc != 0) { /* the token stays taken: recorded as such (under the lock) */
        int err = errno;
        obj_lock(o);
        sem_fold_close(o, 1);
        obj_unlock(o);
        errno = err;
    }
    return in;
}

EXPORT int sem_wait(sem_t *s)
{
    if (sem_wait_folded(s))
        return 0;
    if (!active())
        return REAL(sem_wait)(s);
    return sem_wait_common(s, SEM_PLAIN, CLOCK_REALTIME, NULL);
}

EXPORT int sem_timedwait(sem_t *s, const struct timespec *abstime)
{
    if (!active())
        return REAL(sem_timedwait)(s, abstime);
    return sem_wait_common(s, SEM_TIMED, CLOCK_REALTIME, abstime);
}

EXPORT int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *abstime)
{
    if (!active())
        return REAL(sem_clockwait)(s, clock, abstime);
    return sem_wait_common(s, SEM_CLOCK, clock, abstime);
}

EXPORT int sem_trywait(sem_t *s)
{
    struct instr_obj *o = active() ? sem_obj(s) : NULL;
    if (!o)
        return REAL(sem_trywait)(s);
    sem_fold_elsewhere(o);
    gate(EV_SEM_WAIT, o->id);
    obj_lock(o);
    if (!sem_fold_mine(o))
        sem_fold_close(o, 0);
    int fold = sem_fold_can_take(o);
    int rc = REAL(sem_trywait)(s);
    int err = errno;
    if (rc == 0) {
        o->value--;
        if (fold)
            sem_fold_took();
        else
            op_fast(o, EV_SEM_ACQUIRED, o->value, 0, 0);
    } else {
        sem_fold_close(o, 1);
        op_fast(o, EV_SEM_WAIT, o->value, 0, 0); /* tried, none left, did not wait */
    }
    obj_unlock(o);
    errno = err;
    return rc;
}

/* A post that wakes a waiter, o locked: recorded, o let go of, then posted. Posting under the
 * object's lock, the waker was often preempted by the thread it woke, which then spun on the
 * lock the waker held: under a CPU hog two threads counting under one semaphore spent 60% of
 * their time in obj_lock_slow (24x plain). Recorded first, the post cannot show after the
 * take it allows; a taker that comes between finds no token yet and waits, as it would have
 * a moment earlier. */
static SLOW int sem_post_waking(struct instr_obj *o, sem_t *s)
{
    o->value++;
    op_t(o, EV_SEM_POST, o->value, 0, 0, T_PRECISE);
    obj_unlock(o);
    int rc = REAL(sem_post)(s);
    if (rc != 0) { /* EOVERFLOW or EINVAL: the token was not given after all */
        int err = errno;
        obj_lock(o);
        o->value--;
        op(o, EV_SEM_POST, o->value, 0, err);
        obj_unlock(o);
        errno = err;
    }
    return rc;
}

EXPORT int sem_post(sem_t *s)
{
    int rc;
    if (sem_post_folded(s, &rc))
        return rc;
    struct instr_obj *o = active() ? sem_obj(s) : NULL;
    if (!o)
        return REAL(sem_post)(s);
    sem_fold_elsewhere(o);
    gate(EV_SEM_POST, o->id);
    obj_lock(o);
    if (!sem_fold_mine(o))
        sem_fold_close(o, 0);
    int wakes = sem_has_waiters(s);
    int fold = sem_fold_can_give(o, wakes);
    if (wakes && !fold)
        return sem_post_waking(o, s);
    rc = REAL(sem_post)(s);
    int err = errno;
    if (rc == 0 && fold) {
        o->value++;
        sem_fold_gave();
    } else if (rc == 0) {
        o->value++;
        op_t(o, EV_SEM_POST, o->value, 0, 0, wakes ? T_PRECISE : T_COARSE);
        if (!wakes)
            sem_fold_open(o);
    } else {
        sem_fold_close(o, 1); /* the token stays taken: recorded as such */
    }
    obj_unlock(o);
    errno = err;
    return rc;
}

/* ---- mutexes ---- */

static int mutex_shared(const pthread_mutex_t *m)
{
    return (m->__data.__kind & 128) != 0; /* glibc PTHREAD_MUTEX_PSHARED_BIT */
}

/* 1 when unlocking m may wake a waiter (glibc: 2 = locked with waiters; robust and PI
 * mutexes hold the owner's tid with FUTEX_WAITERS). */
static int mutex_has_waiters(const pthread_mutex_t *m)
{
    int lk = __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED);
    return lk == 2 || (lk & (int)FUTEX_WAITERS);
}

static struct instr_obj *mutex_obj_lookup(pthread_mutex_t *m, int fresh, uint32_t remaps)
{
    int shared = mutex_shared(m);
    struct instr_obj *o = fresh ? NULL : obj_find(m, OK_MUTEX, shared);
    if (!o) {
        struct obj_spec sp = {
            .kind = OK_MUTEX, .shared = shared, .psize = sizeof(*m), .fresh = fresh};
        o = obj_at(m, &sp);
    }
    obj_cache_put(&tl_cache.mutex, m, o, remaps);
    return o;
}

static HOT struct instr_obj *mutex_obj(pthread_mutex_t *m, int fresh)
{
    uint32_t remaps;
    struct instr_obj *o = obj_cache_get(&tl_cache.mutex, m, &remaps);
    return o && !fresh ? o : mutex_obj_lookup(m, fresh, remaps);
}

/* ---- folding (preload.h) ---- */

void fold_flush_now(void)
{
    struct instr_fold *f = tl_fold;
    busy_enter();
    uint32_t id1 = atomic_load_explicit(&f->obj1, FOLD_RELAXED);
    if (id1 && id1 <= INSTR_MAX_OBJS && g_sh->objs[id1 - 1].kind == OK_SEMAPHORE) {
        sem_fold_flush(&g_sh->objs[id1 - 1]); /* under its lock: others may close it too */
    } else if (id1 && id1 <= INSTR_MAX_OBJS) {
        struct instr_obj *o = &g_sh->objs[id1 - 1];
        uint64_t tick = atomic_load_explicit(&f->tick, FOLD_RELAXED);
        uint64_t pairs = atomic_load_explicit(&f->pairs, FOLD_RELAXED);
        uint32_t held = atomic_load_explicit(&f->held, FOLD_RELAXED);
        atomic_store_explicit(&f->obj1, 0, FOLD_RELAXED); /* recorded once: closed before */
        atomic_store_explicit(&f->pairs, 0, FOLD_RELAXED);
        atomic_store_explicit(&f->held, 0, FOLD_RELAXED);
        if (pairs)
            op_at(o, EV_MUTEX_PAIRS, 0, (int64_t)pairs, 0, 0, tick);
        if (held)
            op_at(o, EV_MUTEX_ACQUIRED, 1, 0, 0, 0, tick);
    }
    busy_leave();
}

void fold_open(struct instr_obj *o)
{
    struct instr_fold *f = tl_fold;
    if (!f)
        return;
    busy_enter();
    atomic_store_explicit(&f->tick, clock_read(CLOCK_MONOTONIC_COARSE), FOLD_RELAXED);
    atomic_store_explicit(&f->pairs, 0, FOLD_RELAXED);
    atomic_store_explicit(&f->held, 0, FOLD_RELAXED);
    fold_began();
    atomic_store_explicit(&f->obj1, o->id + 1, FOLD_RELAXED);
    busy_leave();
}

/* The caller now holds o (rc 0 or EOWNERDEAD): acquired, once per outermost lock. An
 * uncontended one (rc 0, not precise) may join a fold. */
static HOT void mutex_acquired(struct instr_obj *o, int rc, int precise)
{
    struct instr_attach_objx *x = &g_map->x[o->id];
    if (rc == EOWNERDEAD)
        x->depth = 0;
    if (x->depth++ == 0) {
        x->holder = tl_tid;
        if (rc == 0 && precise == T_COARSE && fold_lock(o))
            return;
        op_t(o, EV_MUTEX_ACQUIRED, 1, 0, 0, precise);
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
        obj_forget(m, OK_MUTEX, mutex_shared(m));
    return REAL(pthread_mutex_destroy)(m);
}

enum { LOCK_PLAIN, LOCK_TIMED, LOCK_CLOCK };

/* The lock that blocks: lock, timedlock or clocklock. */
static int mutex_block(pthread_mutex_t *m, int how, clockid_t clock, const struct timespec *abstime)
{
    if (how == LOCK_CLOCK)
        return REAL(pthread_mutex_clocklock)(m, clock, abstime);
    if (how == LOCK_TIMED)
        return REAL(pthread_mutex_timedlock)(m, abstime);
    return REAL(pthread_mutex_lock)(m);
}

/* Before blocking on m (see "waiting a moment"), for at most budget ns (UINT64_MAX: no
 * deadline): trylock's result once the lock word showed it free, or EBUSY. */
static int mutex_spin_take(pthread_mutex_t *m, uint64_t budget)
{
    if (budget == 0 || !wait_spin_ok())
        return EBUSY;
    uint64_t end = budget == UINT64_MAX ? UINT64_MAX : clock_read(CLOCK_MONOTONIC) + budget;
    int rc = EBUSY;
    watching(1);
    for (int i = 0; i < WAIT_SPINS && rc == EBUSY; i++) {
        cpu_pause();
        if (end != UINT64_MAX && i % 16 == 15 && clock_read(CLOCK_MONOTONIC) >= end)
            break;
        if (__atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) == 0)
            rc = REAL(pthread_mutex_trylock)(m);
    }
    watching(0);
    return rc;
}

/* A lock that may block: try first, so a free mutex is taken without a blocked state (one
 * cheap record); else record the wait, block, and record how it ended. */
static HOT int mutex_lock_common(pthread_mutex_t *m, int how, clockid_t clock,
                                 const struct timespec *abstime)
{
    struct instr_obj *o = mutex_obj(m, 0);
    if (!o)
        return mutex_block(m, how, clock, abstime);
    struct deadline d;
    d.held = 0; /* a plain lock (the common case) has no deadline to look at */
    if (how != LOCK_PLAIN)
        deadline_begin(&d, how == LOCK_CLOCK ? clock : CLOCK_REALTIME, abstime, EV_MUTEX_WAIT,
                       o->id);
    gate(EV_MUTEX_WAIT, o->id);
    int rc = REAL(pthread_mutex_trylock)(m);
    if (rc == 0 || rc == EOWNERDEAD) {
        deadline_end(&d);
        mutex_acquired(o, rc, T_COARSE);
        return rc;
    }
    if (rc != EBUSY) {
        deadline_end(&d);
        return rc;
    }
    op(o, EV_MUTEX_WAIT, 1, 0, 1);
    mark_blocked(o);
    rc = mutex_spin_take(m, d.held ? 0 : spin_budget(clock, abstime, UINT64_MAX));
    struct timespec slice;
    if (rc == EBUSY && !d.held)
        rc = mutex_block(m, how, clock, abstime);
    else if (rc == EBUSY) /* held: in slices, until the gate lets the deadline expire */
        for (int more = 1; more;) {
            more = deadline_slice(&d, abstime, &slice);
            rc = more ? mutex_block(m, how, clock, &slice) : ETIMEDOUT;
            more = more && d.held && rc == ETIMEDOUT;
        }
    deadline_end(&d);
    mark_blocked(NULL);
    if (rc == 0 || rc == EOWNERDEAD)
        mutex_acquired(o, rc, T_PRECISE);
    else
        op(o, EV_UNBLOCK, 1, 0, rc); /* ETIMEDOUT, EDEADLK and friends: not taken */
    return rc;
}

/* ---- a loop's folded pairs, the short way ----
 * A loop that locks and unlocks a plain mutex nobody else wants makes a pair every 8 ns here;
 * the general path (lookup, gate, trylock, holder and depth, fold) took as long again per
 * call. Inside the thread's fold, with the mutex the one its cache holds, a pair needs only
 * the checks below: each returns 0 before changing anything when one fails, and the general
 * path then does it all. Plain (default-kind) process-private mutexes only, so trylock
 * can only answer 0 or EBUSY. */

/* An uncontended outermost lock that joins the fold: 1 when taken. */
static HOT int mutex_lock_folded(pthread_mutex_t *m)
{
    if (m->__data.__kind != 0 || !folded_obj(&tl_cache.mutex, m))
        return 0;
    struct instr_attach_objx *x = tl_cache.mutex.x;
    struct instr_fold *f = tl_fold;
    busy_enter();
    int ok = x->depth == 0 && atomic_load_explicit(&f->held, FOLD_RELAXED) == FOLD_FREE &&
             fold_in_tick(f) && REAL(pthread_mutex_trylock)(m) == 0;
    if (ok) {
        x->depth = 1;
        x->holder = tl_tid;
        atomic_store_explicit(&f->held, FOLD_HELD, FOLD_RELAXED);
    }
    busy_leave();
    return ok;
}

/* The unlock completing a folded pair, nobody waiting: 1 when done (*rc its result). */
static HOT int mutex_unlock_folded(pthread_mutex_t *m, int *rc)
{
    if (m->__data.__kind != 0 || !folded_obj(&tl_cache.mutex, m))
        return 0;
    struct instr_attach_objx *x = tl_cache.mutex.x;
    struct instr_fold *f = tl_fold;
    if (x->holder != tl_tid || x->depth != 1 ||
        atomic_load_explicit(&f->held, FOLD_RELAXED) != FOLD_HELD || mutex_has_waiters(m))
        return 0;
    busy_enter();
    x->depth = 0;
    x->holder = 0;
    atomic_store_explicit(&f->pairs, atomic_load_explicit(&f->pairs, FOLD_RELAXED) + 1,
                          FOLD_RELAXED);
    atomic_store_explicit(&f->held, FOLD_FREE, FOLD_RELAXED);
    busy_leave();
    *rc = REAL(pthread_mutex_unlock)(m);
    return 1;
}

static SLOW int mutex_lock_slow(pthread_mutex_t *m)
{
    if (!active())
        return REAL(pthread_mutex_lock)(m);
    return mutex_lock_common(m, LOCK_PLAIN, CLOCK_REALTIME, NULL);
}

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    if (mutex_lock_folded(m))
        return 0;
    return mutex_lock_slow(m);
}

EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
    if (!active())
        return REAL(pthread_mutex_timedlock)(m, abstime);
    return mutex_lock_common(m, LOCK_TIMED, CLOCK_REALTIME, abstime);
}

EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
                                   const struct timespec *abstime)
{
    if (!active())
        return REAL(pthread_mutex_clocklock)(m, clock, abstime);
    return mutex_lock_common(m, LOCK_CLOCK, clock, abstime);
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
    struct instr_obj *o = active() ? mutex_obj(m, 0) : NULL;
    if (!o)
        return REAL(pthread_mutex_trylock)(m);
    gate(EV_MUTEX_WAIT, o->id);
    int rc = REAL(pthread_mutex_trylock)(m);
    if (rc == 0 || rc == EOWNERDEAD)
        mutex_acquired(o, rc, T_COARSE);
    else if (rc == EBUSY)
        op_fast(o, EV_MUTEX_WAIT, 1, 0, 0); /* tried, held, did not wait */
    return rc;
}

/* Before unlocking o: 1 when this unlock really releases it (recorded before the real
 * unlock, so the next holder's acquired comes after it in seq order). */
static HOT int mutex_releasing(struct instr_obj *o, const pthread_mutex_t *m)
{
    struct instr_attach_objx *x = &g_map->x[o->id];
    if (x->holder != tl_tid || x->depth <= 0)
        return 0;
    if (--x->depth == 0) {
        x->holder = 0;
        int waiters = mutex_has_waiters(m);
        if (fold_unlock(o, waiters))
            return 1;
        op_t(o, EV_MUTEX_RELEASE, 0, 0, 0, waiters ? T_PRECISE : T_COARSE);
        if (!waiters)
            fold_open(o);
    }
    return 1;
}

static SLOW int mutex_unlock_slow(pthread_mutex_t *m)
{
    int rc;
    struct instr_obj *o = active() ? mutex_obj(m, 0) : NULL;
    if (!o)
        return REAL(pthread_mutex_unlock)(m);
    gate(EV_MUTEX_RELEASE, o->id);
    int mine = mutex_releasing(o, m);
    rc = REAL(pthread_mutex_unlock)(m);
    if (!mine && rc == 0) /* unlocked by a thread that does not hold it */
        op(o, EV_MUTEX_RELEASE, 0, 0, 1);
    return rc;
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    int rc;
    if (mutex_unlock_folded(m, &rc))
        return rc;
    return mutex_unlock_slow(m);
}

/* ---- condition variables ---- */

static struct instr_obj *cond_obj(pthread_cond_t *c)
{
    int shared = c->__data.__wrefs & 1; /* glibc: bit 0 = process-shared */
    struct instr_obj *o = obj_find(c, OK_CONDVAR, shared);
    if (o)
        return o;
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
    struct deadline d;
    deadline_begin(&d, abstime ? deadline_clock_of(abstime) : CLOCK_REALTIME, abstime, EV_COND_WAIT,
                   oc->id);
    gate(EV_COND_WAIT, oc->id);
    struct instr_attach_objx *x = &g_map->x[om->id];
    int depth = x->holder == tl_tid ? x->depth : 1;
    x->holder = 0;
    x->depth = 0;
    op(om, EV_MUTEX_RELEASE, 0, 0, 0);
    op(oc, EV_COND_WAIT, 0, om->id, 1);
    mark_blocked(oc);
    int rc = 0;
    struct timespec slice;
    if (!abstime)
        rc = REAL(pthread_cond_wait)(c, m);
    else /* held: in slices (each returns with m held, as a spurious wakeup would) */
        for (int more = 1; more;) {
            more = deadline_slice(&d, abstime, &slice);
            rc = more ? REAL(pthread_cond_timedwait)(c, m, &slice) : ETIMEDOUT;
            more = more && d.held && rc == ETIMEDOUT;
        }
    deadline_end(&d);
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
