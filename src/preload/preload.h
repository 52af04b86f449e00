/*
 * preload.h - what the files of libipcscope_preload.so share. Private to src/preload/.
 *
 * core.c owns the state (the attached region, the calling thread's slot), the events, the
 * step gate, task slots and the address -> object map; names.c names objects after the
 * program's variables; sync.c, proc.c and pipe.c interpose the program's calls. The real
 * functions are one table (REAL_FNS) resolved once, in the constructor.
 */
#ifndef IPCSCOPE_PRELOAD_H
#define IPCSCOPE_PRELOAD_H

#define _GNU_SOURCE
#include "../instr.h"
#include "../instr_attach.h"

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))

/* X(return type, name, (parameter types)): every function the library interposes or calls
 * past itself. */
#define REAL_FNS(X)                                                                                \
    X(int, sem_init, (sem_t *, int, unsigned))                                                     \
    X(int, sem_destroy, (sem_t *))                                                                 \
    X(sem_t *, sem_open, (const char *, int, ...))                                                 \
    X(int, sem_wait, (sem_t *))                                                                    \
    X(int, sem_trywait, (sem_t *))                                                                 \
    X(int, sem_timedwait, (sem_t *, const struct timespec *))                                      \
    X(int, sem_clockwait, (sem_t *, clockid_t, const struct timespec *))                           \
    X(int, sem_post, (sem_t *))                                                                    \
    X(int, pthread_mutex_init, (pthread_mutex_t *, const pthread_mutexattr_t *))                   \
    X(int, pthread_mutex_destroy, (pthread_mutex_t *))                                             \
    X(int, pthread_mutex_lock, (pthread_mutex_t *))                                                \
    X(int, pthread_mutex_trylock, (pthread_mutex_t *))                                             \
    X(int, pthread_mutex_timedlock, (pthread_mutex_t *, const struct timespec *))                  \
    X(int, pthread_mutex_clocklock, (pthread_mutex_t *, clockid_t, const struct timespec *))       \
    X(int, pthread_mutex_unlock, (pthread_mutex_t *))                                              \
    X(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *))                               \
    X(int, pthread_cond_timedwait, (pthread_cond_t *, pthread_mutex_t *, const struct timespec *)) \
    X(int, pthread_cond_signal, (pthread_cond_t *))                                                \
    X(int, pthread_cond_broadcast, (pthread_cond_t *))                                             \
    X(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))       \
    X(void, pthread_exit, (void *))                                                                \
    X(pid_t, fork, (void))                                                                         \
    X(pid_t, waitpid, (pid_t, int *, int))                                                         \
    X(pid_t, wait4, (pid_t, int *, int, struct rusage *))                                          \
    X(int, waitid, (idtype_t, id_t, siginfo_t *, int))                                             \
    X(int, kill, (pid_t, int))                                                                     \
    X(int, system, (const char *))                                                                 \
    X(int, sigaction, (int, const struct sigaction *, struct sigaction *))                         \
    X(FILE *, popen, (const char *, const char *))                                                 \
    X(int, pclose, (FILE *))                                                                       \
    X(void, exit, (int))                                                                           \
    X(void, _exit, (int))                                                                          \
    X(void, _Exit, (int))                                                                          \
    X(int, pipe, (int[2]))                                                                         \
    X(int, pipe2, (int[2], int))                                                                   \
    X(ssize_t, read, (int, void *, size_t))                                                        \
    X(ssize_t, write, (int, const void *, size_t))                                                 \
    X(int, close, (int))                                                                           \
    X(int, __libc_start_main,                                                                      \
      (int (*)(int, char **, char **), int, char **, void (*)(void), void (*)(void),               \
       void (*)(void), void *))

#define REAL_DECL(ret, name, args) extern ret(*real_##name) args;
REAL_FNS(REAL_DECL)
#undef REAL_DECL

/* The next definition of name after this library (condition variables by their current
 * version: a plain dlsym may hand out the pre-2.3.2 compatibility one). */
void *preload_resolve(const char *name);

/* The real fn: resolved in the constructor, or here when a call comes before it. */
#define REAL(fn)                                                                                   \
    (__extension__({                                                                               \
        if (!real_##fn)                                                                            \
            real_##fn = (__typeof__(real_##fn))preload_resolve(#fn);                               \
        real_##fn;                                                                                 \
    }))

/* ---- state (core.c) ---- */

extern struct instr_shared *g_sh; /* NULL: not under ipcscope, pass everything through */
extern struct instr_attach_map *g_map;
extern char g_prog[16];  /* the program's short name */
extern int g_proc_slot;  /* this process's own task (its main thread) */
extern int g_exit_done;  /* task_exit already recorded for this process */
extern TLS int tl_slot;  /* the calling thread's task slot, -1: none */
extern TLS int tl_busy;  /* inside our own bookkeeping: a signal handler passes through */
extern TLS int tl_ended; /* task_exit recorded for the calling thread */
extern TLS int32_t tl_pid, tl_tid;

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

/* 1 when the calling thread is followed and not inside our own bookkeeping. */
static inline int active(void)
{
    return g_sh && tl_slot >= 0 && !tl_busy;
}

/* ---- events (core.c) ---- */

/* A record of the calling task (no object). */
void emit(uint16_t kind, uint32_t obj, int64_t val, int64_t item, int64_t aux);
/* An operation on o, numbered by the object's own seq. */
void op(struct instr_obj *o, uint16_t kind, int64_t val, int64_t item, int64_t aux);
/* A record about another task (its slot), written into our own ring. */
void emit_for(uint32_t slot, uint16_t kind, int64_t val, int64_t aux);
/* The calling task is (o) / is no longer (NULL) inside a blocking call on o. */
void mark_blocked(struct instr_obj *o);
/* block + mark, and unblock + mark, as events on o. */
void block_on(struct instr_obj *o, int64_t val, int64_t reason);
void unblock(struct instr_obj *o, int64_t val, int64_t err);
/* The step gate, as instr_gate: wait for the conductor's grant while the gate is held. */
void gate(uint16_t kind, uint32_t obj);

/* ---- tasks (core.c) ---- */

/* The next free slot, reserved by the creator (before fork or pthread_create), or -1. */
int reserve_slot(void);
/* Make the calling thread the task in slot (reserved) and announce it. Returns slot. */
int task_begin_in(int slot, const char *name, int kind, int32_t ppid);
/* "prog-child2" / "prog-t3": names in order of creation across the whole run. */
void next_task_name(char *buf, size_t n, int thread);
/* task_exit for the calling thread (ret: its return value). */
void thread_end(void *ret);
/* The process ends with status: task_exit for the process (and the calling thread). */
void proc_exit(int status);
/* Record the reaping of pid (every task of that process) by us. */
void reaped(pid_t pid, int status);

/* ---- objects (core.c) ---- */

struct obj_spec {
    int kind;
    int shared;   /* usable from several processes at the same address */
    size_t psize; /* sizeof the primitive, for array names */
    int64_t init, cap;
    const char *name; /* NULL: from the symbol table, else "sem@N" */
    int fresh;        /* an init call: forget what was at this address before */
    int by_name;      /* sem_open: the same name is the same object, wherever mapped */
};

/* The object for the primitive at addr, registered on first sight. NULL when a table is
 * full (the primitive then runs unobserved). */
struct instr_obj *obj_at(const void *addr, const struct obj_spec *sp);
/* Forget the primitive at addr (destroyed). */
void obj_forget(const void *addr, int kind);
/* The per-object spin lock that orders (operation, value, seq). */
void obj_lock(struct instr_obj *o);
void obj_unlock(struct instr_obj *o);
/* Lock / unlock the map (counters and tables shared by every process of the program). */
void map_lock(void);
void map_unlock(void);

/* ---- names (names.c) ---- */

/* Keep the program's .symtab (if not stripped) to name objects after their variables. */
void elf_load(void);
/* The variable at addr ("empty", "forks[2]", "shared+40") into buf; 0 when unknown. */
int elf_name(const void *addr, size_t psize, char *buf, size_t n);

#endif
