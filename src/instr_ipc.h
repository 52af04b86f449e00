/*
 * instr_ipc.h - instrumented pipes, POSIX message queues, signals and process helpers for the
 * chapter 5 and 6 scenarios.
 *
 * Built only on instr.h's public API: each wrapper passes the step gate, marks the caller
 * blocked on the object when the real call is about to block (a full pipe, a full or empty
 * queue), performs the real call and records the object's real fill level (FIONREAD,
 * mq_getattr). The /proc readers let scenarios report kernel truth rather than their own
 * bookkeeping.
 */
#ifndef IPCSCOPE_INSTR_IPC_H
#define IPCSCOPE_INSTR_IPC_H

#include "instr.h"
#include "model.h"

#include <mqueue.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- process helpers ---- */

/* Set the calling process's comm (what ps and /proc/PID/stat show) to name (15 bytes). */
void ipc_set_comm(const char *name);

/* 1 once the runtime asked scenario bodies to wind down. */
int ipc_stopping(void);

/* Sleep ms milliseconds of scenario time (sclock_sleep: a step of its own while the gate is
 * held); returns early (-1) when the run is stopping, else 0. Signals do not cut it short. */
int ipc_sleep_ms(long ms);

/* One piece of a timed wait that keys may cut short (a parent that lingers until 'e' or
 * until ms have passed): in a free run it sleeps a 20 ms slice, so the caller looks at its
 * flags again soon; while the gate is held it sleeps all ms as one step labelled what, so a
 * held wait costs the teacher one key, not one per slice. Returns the ms that passed, or -1
 * when the run is stopping. */
long ipc_pass_ms(long ms, const char *what);

/* One slice (at most slice_ms, wall clock, never a step) of a wait for a condition another
 * task makes true, signalled by a change of *word (in shared memory) from seen: a futex, woken
 * at once by ipc_wake_word, so the waiter is runnable the moment the word changes and the step
 * gate never takes it for settled while it is about to act (a polling sleep would look
 * asleep). 1 when the word has changed, 0 when the slice ended first, -1 when the run stops. */
int ipc_wait_word(_Atomic int *word, int seen, long slice_ms);

/* Wake every task waiting in ipc_wait_word on word (after changing it). */
void ipc_wake_word(_Atomic int *word);

/* The state letter of pid from /proc/PID/stat ('R', 'S', 'Z' ...), or 0 when it is gone. */
char ipc_proc_state(pid_t pid);

/* The parent of pid from /proc/PID/stat, or -1 when it is gone. */
pid_t ipc_proc_ppid(pid_t pid);

/* The kernel function pid sleeps in (/proc/PID/wchan) into buf; "" when unknown. */
void ipc_proc_wchan(pid_t pid, char *buf, size_t n);

/* A "SigPnd"-style hex mask line of /proc/PID/status (key without the colon); 0 if absent. */
uint64_t ipc_proc_sigmask(pid_t pid, const char *key);

/* The instr slot of the task whose process id is pid, or -1. */
int ipc_slot_of(pid_t pid);

/* Record that child pid was reaped with wait status status by reaper (0: the kernel, for a
 * child whose parent ignores SIGCHLD): emits task_reaped on the child's own task (val=exit
 * code or 128+signal, aux=reaper). */
void ipc_emit_reaped(pid_t pid, int status, pid_t reaper);

/* The exit code a wait status stands for: the code, or 128+signal. */
int ipc_wait_code(int status);

/* Spawn a task named name running fn(arg) (instr_spawn). 0, or -errno with "cannot start
 * <name>: <reason>" in err. */
int ipc_start(const char *name, int (*fn)(void *arg), void *arg, char *err, size_t n);

/* Spawn count tasks named "<prefix>-1", "<prefix>-2" ..., task k (from 0) running
 * fn((void *)k), stopping at the first failure. ipc_start_n reports it as "cannot start
 * <name>: <reason>" in err, ipc_fork_n as "cannot fork <name>: <reason>". 0 or -errno. */
int ipc_start_n(const char *prefix, long count, int (*fn)(void *arg), char *err, size_t n);
int ipc_fork_n(const char *prefix, long count, int (*fn)(void *arg), char *err, size_t n);

/* ---- pipes ---- */

/* Register a pipe object for fd pair p (capacity from F_GETPIPE_SZ). NULL on failure. */
struct instr_obj *ipc_pipe_obj(const char *name, int fd);

/* Bytes now in the pipe (FIONREAD on either end), or -1. */
int ipc_pipe_fill(int fd);

/* Write all n bytes of buf to the write end fd of pipe o, blocking like write(2): gate,
 * block mark when the pipe cannot take them, pipe_write with the fill after. Returns n or
 * -errno. *was_full (may be NULL) is set to the fill seen just before blocking, else -1. */
ssize_t ipc_pipe_write(struct instr_obj *o, int fd, const void *buf, size_t n, int *was_full);

/* Read up to n bytes from the read end fd of pipe o (blocks when empty). Returns the count,
 * 0 at EOF, or -errno. Emits pipe_read with the fill after (item 0 = EOF). */
ssize_t ipc_pipe_read(struct instr_obj *o, int fd, void *buf, size_t n);

/* Close end fd of pipe o (write_end 1/0), emitting pipe_close. */
void ipc_pipe_close(struct instr_obj *o, int fd, int write_end);

/* strerror(e), with the resource limit behind it when there is one (ulimit -u for EAGAIN
 * from fork, ulimit -n for EMFILE). Returns buf. */
const char *ipc_errno_why(int e, char *buf, size_t n);

/* ---- POSIX message queues ---- */

/* Create an exclusive queue named /ipcscope-<conductor pid>-<name>-<random> with maxmsg x
 * msgsize, open O_RDWR. The random part makes the name unguessable, so another user cannot
 * take it first; a name that exists is retried with another. The name is written into path
 * (for the later unlink). (mqd_t)-1 with errno on error. */
mqd_t ipc_mq_create(const char *name, long maxmsg, long msgsize, char *path, size_t n);

/* The start of every queue name a run's conductor (pid) makes, without the leading '/':
 * what its guard removes from /dev/mqueue if the conductor dies before it could. */
#define IPC_MQ_PREFIX "ipcscope-%d-"

/* Why ipc_mq_create failed with errno err, for a queue of maxmsg x msgsize: the error and the
 * limit behind it (ulimit -q for EMFILE, /proc/sys/fs/mqueue/... for EINVAL and ENOSPC).
 * Returns buf. */
const char *ipc_mq_why(int err, long maxmsg, long msgsize, char *buf, size_t n);

/* Queues this process created with ipc_mq_create that still exist (for counting leaks
 * where /dev/mqueue is not mounted). */
int ipc_mq_left(void);

/* Messages now in q, or -1. */
long ipc_mq_depth(mqd_t q);

/* Register the object for a queue of maxmsg messages, created empty (before forking). NULL
 * when out of slots or shared memory. */
struct instr_obj *ipc_mq_obj(const char *name, long maxmsg);

/* Send (blocking when full) / receive (blocking when empty) one message; gate, block mark,
 * mq_send/mq_recv with item = id and val = the depth the completed operations leave, in seq
 * order (send +1, receive -1; a blocked task's operation the kernel completed inside another's
 * gets the seq right after it). 0 / the length, or -errno. *was_full (may be NULL) gets the
 * depth seen just before blocking, else -1. */
int ipc_mq_send(struct instr_obj *o, mqd_t q, const char *msg, size_t len, int64_t id,
                long *was_full);
ssize_t ipc_mq_recv(struct instr_obj *o, mqd_t q, char *buf, size_t n, int64_t *id);

/* ---- signals ---- */

/* Gate, then kill(pid, sig), emitting sig_send (val=sig, aux=pid). 0 or -errno. */
int ipc_kill(pid_t pid, int sig);

/* ---- conductor side (narration, snapshots) ---- */

/* The model task event e was emitted by (its instr slot), or NULL. */
const struct model_task *ipc_ev_task(const struct model *m, const struct ev *e);

/* The name of that task, or "?". */
const char *ipc_ev_task_name(const struct model *m, const struct ev *e);

#endif
