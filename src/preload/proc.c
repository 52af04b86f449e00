/*
 * proc.c - processes and threads: fork, the wait family (the reap), kill, signal handlers,
 * system/popen, exit, thread creation and main's return.
 *
 * A child's slot is reserved by its creator before fork or pthread_create, so slots come in
 * creation order. Handlers the program installs are wrapped so that each run of one is a
 * sig_handle event of the task that ran it.
 */
#include "preload.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- processes and threads ---- */

EXPORT pid_t fork(void)
{
    if (!active())
        return REAL(fork)();
    gate(EV_FORK_RET, EV_NO_OBJ);
    fork_prepare(); /* the child becomes its task in the atfork handler (core.c) */
    pid_t pid = REAL(fork)();
    fork_done();
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

EXPORT int sigqueue(pid_t pid, int sig, const union sigval value)
{
    if (active() && sig != 0) {
        gate(EV_SIG_SEND, EV_NO_OBJ);
        emit(EV_SIG_SEND, EV_NO_OBJ, sig, value.sival_int, pid);
    }
    return REAL(sigqueue)(pid, sig, value);
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
    pid_t me = g_pid;
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

/* ---- threads: creation, and pthread_join blocked on the thread it joins ----
 * Each thread this process creates has an entry in a small table: its pthread_t, slot, tid
 * and name, so that a join finds the task it waits for even after the thread has ended and
 * its slot gone to another. The thread a join waits for is an object of kind thread, made
 * the first time someone joins it. */

#define THREADS_MAX 4096

struct thread_ent {
    pthread_t th;
    int used;
    int slot;
    _Atomic int32_t tid; /* filled in by the thread itself */
    uint32_t serial;     /* threads this process created before it + 1 */
    char name[INSTR_NAME_MAX];
    void *(*fn)(void *); /* what the thread runs, read by it as it starts */
    void *arg;
};

static uint32_t g_thread_serial;

static struct thread_ent g_threads[THREADS_MAX];
static pthread_mutex_t g_threads_lock = PTHREAD_MUTEX_INITIALIZER;

/* A free entry for a thread about to start (slot, name), or -1. */
static int thread_entry(int slot, const char *name)
{
    int k = -1;
    REAL(pthread_mutex_lock)(&g_threads_lock);
    for (int i = 0; i < THREADS_MAX && k < 0; i++)
        if (!g_threads[i].used) {
            k = i;
            g_threads[i].used = 1;
            g_threads[i].slot = slot;
            atomic_store(&g_threads[i].tid, 0);
            g_threads[i].serial = ++g_thread_serial;
            snprintf(g_threads[i].name, sizeof(g_threads[i].name), "%s", name);
        }
    REAL(pthread_mutex_unlock)(&g_threads_lock);
    return k;
}

/* The entry of th, or -1 (release: free it). */
static int thread_find(pthread_t th, int release)
{
    int k = -1;
    REAL(pthread_mutex_lock)(&g_threads_lock);
    for (int i = 0; i < THREADS_MAX && k < 0; i++)
        if (g_threads[i].used == 2 && pthread_equal(g_threads[i].th, th)) {
            k = i;
            if (release)
                g_threads[i].used = 0;
        }
    REAL(pthread_mutex_unlock)(&g_threads_lock);
    return k;
}

/* The start of a thread without a table entry (the table full). */
struct thread_start {
    char name[INSTR_NAME_MAX];
    int slot;
    void *(*fn)(void *);
    void *arg;
};

/* The new thread: announce it in slot, run fn, record its end. */
static void *thread_run(int slot, const char *name, int entry, void *(*fn)(void *), void *arg)
{
    tl_adopt_tried = 1; /* ours: no second try when the table was full */
    if (g_sh)
        task_begin_in(slot, name, TK_THREAD, g_pid);
    if (entry >= 0)
        atomic_store(&g_threads[entry].tid, (int32_t)gettid());
    void *ret = fn(arg);
    thread_end(ret);
    return ret;
}

/* A thread with a table entry finds its start there: nothing is freed by the new thread (a
 * free there makes glibc give it a malloc arena of its own, tens of microseconds a thread). */
static void *thread_start_entry(void *p)
{
    struct thread_ent *e = p;
    return thread_run(e->slot, e->name, (int)(e - g_threads), e->fn, e->arg);
}

static void *thread_start_alloc(void *p)
{
    struct thread_start ts = *(struct thread_start *)p;
    free(p);
    return thread_run(ts.slot, ts.name, -1, ts.fn, ts.arg);
}

EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    if (!active())
        return REAL(pthread_create)(th, attr, fn, arg);
    char name[INSTR_NAME_MAX];
    next_task_name(name, sizeof(name), 1);
    int slot = reserve_slot();
    int entry = slot >= 0 ? thread_entry(slot, name) : -1;
    if (entry < 0) {
        struct thread_start *ts = malloc(sizeof(*ts));
        if (!ts)
            return REAL(pthread_create)(th, attr, fn, arg);
        *ts = (struct thread_start){.slot = slot, .fn = fn, .arg = arg};
        snprintf(ts->name, sizeof(ts->name), "%s", name);
        int rc = REAL(pthread_create)(th, attr, thread_start_alloc, ts);
        if (rc)
            free(ts);
        return rc;
    }
    g_threads[entry].fn = fn;
    g_threads[entry].arg = arg;
    int rc = REAL(pthread_create)(th, attr, thread_start_entry, &g_threads[entry]);
    REAL(pthread_mutex_lock)(&g_threads_lock);
    g_threads[entry].th = *th;
    g_threads[entry].used = rc ? 0 : 2;
    REAL(pthread_mutex_unlock)(&g_threads_lock);
    return rc;
}

/* The thread object for entry k (keyed by process and creation number: unique). */
static struct instr_obj *thread_obj(int k)
{
    const void *key = (const void *)(uintptr_t)(0x7ull << 60 | (uint64_t)(uint32_t)g_pid << 24 |
                                                (g_threads[k].serial & 0xffffff));
    struct obj_spec sp = {.kind = OK_THREAD, .shared = 1, .psize = 1, .name = g_threads[k].name};
    return obj_at(key, &sp);
}

enum { JOIN_PLAIN, JOIN_TRY, JOIN_TIMED };

static int join_real(pthread_t th, void **ret, int how, const struct timespec *abstime)
{
    if (how == JOIN_TRY)
        return REAL(pthread_tryjoin_np)(th, ret);
    if (how == JOIN_TIMED)
        return REAL(pthread_timedjoin_np)(th, ret, abstime);
    return REAL(pthread_join)(th, ret);
}

static int join_common(pthread_t th, void **ret, int how, const struct timespec *abstime)
{
    int k = thread_find(th, 0);
    int32_t tid = k >= 0 ? atomic_load(&g_threads[k].tid) : 0;
    struct instr_obj *o = k >= 0 ? thread_obj(k) : NULL;
    if (!o)
        return join_real(th, ret, how, abstime);
    int slot = g_threads[k].slot;
    struct deadline d;
    deadline_begin(&d, CLOCK_REALTIME, how == JOIN_TIMED ? abstime : NULL, EV_JOIN, o->id);
    gate(EV_JOIN, o->id);
    struct instr_task *t = &g_sh->tasks[slot];
    int running = !tid || (t->tid == tid && !atomic_load(&t->exited)); /* 0: not started yet */
    int waits = running && how != JOIN_TRY;
    op(o, EV_JOIN, 0, slot, waits);
    if (waits)
        mark_blocked(o);
    void *r = NULL;
    int rc;
    struct timespec slice;
    if (!d.held)
        rc = join_real(th, &r, how, abstime);
    else /* in slices, until the gate lets the deadline expire */
        for (int more = 1; more;) {
            more = deadline_slice(&d, abstime, &slice);
            rc = more ? join_real(th, &r, how, &slice) : ETIMEDOUT;
            more = more && rc == ETIMEDOUT;
        }
    deadline_end(&d);
    if (waits)
        mark_blocked(NULL);
    if (rc == 0) {
        thread_find(th, 1);
        op(o, EV_JOINED, r == PTHREAD_CANCELED ? -1 : (int64_t)(intptr_t)r, slot, 0);
    } else {
        op(o, EV_UNBLOCK, 0, 0, rc); /* EBUSY (still running), ETIMEDOUT, EDEADLK */
    }
    if (ret && rc == 0)
        *ret = r;
    return rc;
}

EXPORT int pthread_join(pthread_t th, void **ret)
{
    if (!active())
        return REAL(pthread_join)(th, ret);
    return join_common(th, ret, JOIN_PLAIN, NULL);
}

EXPORT int pthread_tryjoin_np(pthread_t th, void **ret)
{
    if (!active())
        return REAL(pthread_tryjoin_np)(th, ret);
    return join_common(th, ret, JOIN_TRY, NULL);
}

EXPORT int pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *abstime)
{
    if (!active())
        return REAL(pthread_timedjoin_np)(th, ret, abstime);
    return join_common(th, ret, JOIN_TIMED, abstime);
}

EXPORT void pthread_exit(void *ret)
{
    thread_end(ret);
    REAL(pthread_exit)(ret);
    __builtin_unreachable();
}

static int (*g_main)(int, char **, char **);

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
