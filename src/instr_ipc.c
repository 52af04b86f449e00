/*
 * instr_ipc.c - instrumented pipes, POSIX message queues and signals, and small /proc
 * readers, for the process and IPC scenarios.
 *
 * Every wrapper follows the instr pattern: step gate first, then a block mark when the real
 * call is about to wait (so the dashboard shows the task blocked on the object while the
 * kernel holds it), the real call, and an operation event carrying the object's real fill
 * level as the kernel reports it (FIONREAD, mq_getattr) rather than a count of our own.
 */
#define _GNU_SOURCE
#include "instr_ipc.h"
#include "sclock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- process helpers ---- */

void ipc_set_comm(const char *name)
{
    char comm[16];
    snprintf(comm, sizeof(comm), "%s", name);
    prctl(PR_SET_NAME, comm);
}

int ipc_stopping(void)
{
    struct instr_shared *sh = instr_region();
    return sh && atomic_load(&sh->stop);
}

int ipc_sleep_ms(long ms)
{
    return sclock_sleep(ms, 0, NULL);
}

long ipc_pass_ms(long ms, const char *what)
{
    long slice = sclock_held() || ms < 20 ? ms : 20;
    return sclock_sleep(slice, 0, what) < 0 ? -1 : slice;
}

/* Read /proc/PID/stat into buf; returns a pointer just past the ") " or NULL. */
static char *read_stat(pid_t pid, char *buf, size_t n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t got = fread(buf, 1, n - 1, f);
    fclose(f);
    buf[got] = '\0';
    char *p = strrchr(buf, ')');
    return p && p[1] == ' ' ? p + 2 : NULL;
}

char ipc_proc_state(pid_t pid)
{
    char buf[512];
    char *p = read_stat(pid, buf, sizeof(buf));
    return p ? p[0] : 0;
}

pid_t ipc_proc_ppid(pid_t pid)
{
    char buf[512];
    char *p = read_stat(pid, buf, sizeof(buf));
    return p ? (pid_t)strtol(p + 2, NULL, 10) : -1;
}

void ipc_proc_wchan(pid_t pid, char *buf, size_t n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t got = fread(buf, 1, n - 1, f);
    fclose(f);
    buf[got] = '\0';
}

uint64_t ipc_proc_sigmask(pid_t pid, const char *key)
{
    char path[64], line[256];
    size_t klen = strlen(key);
    uint64_t mask = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            mask = strtoull(line + klen + 1, NULL, 16);
            break;
        }
    }
    fclose(f);
    return mask;
}

int ipc_slot_of(pid_t pid)
{
    struct instr_shared *sh = instr_region();
    if (!sh)
        return -1;
    uint32_t n = atomic_load(&sh->ntasks);
    for (uint32_t i = n; i-- > 0;)
        if (atomic_load(&sh->tasks[i].used) && sh->tasks[i].pid == pid && sh->tasks[i].tid == pid)
            return (int)i;
    return -1;
}

void ipc_await_arrival(pid_t pid)
{
    struct instr_shared *sh = instr_region();
    for (int i = 0; i < 2000 && sh && pid > 0 && sclock_held(); i++) {
        char st = ipc_proc_state(pid);
        int slot = ipc_slot_of(pid);
        if (st == 0 || st == 'Z' || st == 'X')
            return; /* gone already */
        if (slot >= 0 && (atomic_load(&sh->tasks[slot].gate) == GS_WAITING || st != 'R'))
            return; /* begun, and at the gate or asleep */
        if (sclock_poll(1) < 0)
            return;
    }
}

int ipc_wait_code(int status)
{
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

void ipc_emit_reaped(pid_t pid, int status, pid_t reaper)
{
    int slot = ipc_slot_of(pid);
    if (slot < 0)
        return;
    struct ev e = {.kind = EV_TASK_REAPED,
                   .src = EV_SRC_INSTR,
                   .task = (uint32_t)slot,
                   .pid = pid,
                   .tid = pid,
                   .obj = EV_NO_OBJ,
                   .val = ipc_wait_code(status),
                   .aux = reaper};
    instr_emit_ev(&e);
}

/* ---- pipes ---- */

int ipc_pipe_fill(int fd)
{
    int bytes = 0;
    return ioctl(fd, FIONREAD, &bytes) < 0 ? -1 : bytes;
}

struct instr_obj *ipc_pipe_obj(const char *name, int fd)
{
    int cap = fcntl(fd, F_GETPIPE_SZ);
    if (cap < 0)
        return NULL;
    int fill = ipc_pipe_fill(fd);
    return instr_obj_new(name, OK_PIPE, fill < 0 ? 0 : fill, cap);
}

ssize_t ipc_pipe_write(struct instr_obj *o, int fd, const void *buf, size_t n, int *was_full)
{
    instr_gate(EV_PIPE_WRITE, o->id);
    int fill = ipc_pipe_fill(fd);
    int blocks = fill >= 0 && (int64_t)fill + (int64_t)n > o->capacity;
    if (was_full)
        *was_full = blocks ? fill : -1;
    if (blocks) {
        o->value = fill;
        instr_block(o, fill);
    }

    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int err = errno;
            if (blocks)
                instr_unblock(o);
            return -err;
        }
        done += (size_t)w;
    }
    if (blocks)
        instr_unblock(o);
    o->value = ipc_pipe_fill(fd);
    instr_op(o, EV_PIPE_WRITE, o->value, (int64_t)n, 0);
    return (ssize_t)n;
}

ssize_t ipc_pipe_read(struct instr_obj *o, int fd, void *buf, size_t n)
{
    instr_gate(EV_PIPE_READ, o->id);
    int fill = ipc_pipe_fill(fd);
    int blocks = fill == 0;
    if (blocks)
        instr_block(o, 0);
    ssize_t r;
    while ((r = read(fd, buf, n)) < 0 && errno == EINTR)
        ;
    int err = errno;
    if (blocks)
        instr_unblock(o);
    if (r < 0)
        return -err;
    int after = ipc_pipe_fill(fd);
    o->value = after < 0 ? 0 : after;
    instr_op(o, EV_PIPE_READ, o->value, r, 0);
    return r;
}

void ipc_pipe_close(struct instr_obj *o, int fd, int write_end)
{
    instr_gate(EV_PIPE_CLOSE, o->id);
    int fill = ipc_pipe_fill(fd);
    close(fd);
    instr_op(o, EV_PIPE_CLOSE, fill < 0 ? o->value : fill, 0, write_end);
}

/* ---- POSIX message queues ---- */

mqd_t ipc_mq_create(const char *name, long maxmsg, long msgsize, char *path, size_t n)
{
    struct instr_shared *sh = instr_region();
    int cpid = sh ? sh->conductor_pid : (int)getpid();
    struct mq_attr attr = {.mq_maxmsg = maxmsg, .mq_msgsize = msgsize};
    snprintf(path, n, "/ipcscope-%d-%s", cpid, name);
    return mq_open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
}

long ipc_mq_depth(mqd_t q)
{
    struct mq_attr a;
    return mq_getattr(q, &a) < 0 ? -1 : a.mq_curmsgs;
}

int ipc_mq_send(struct instr_obj *o, mqd_t q, const char *msg, size_t len, int64_t id,
                long *was_full)
{
    instr_gate(EV_MQ_SEND, o->id);
    long depth = ipc_mq_depth(q);
    int blocks = depth >= o->capacity;
    if (was_full)
        *was_full = blocks ? depth : -1;
    if (blocks) {
        o->value = depth;
        instr_block(o, depth);
    }
    int rc;
    while ((rc = mq_send(q, msg, len, 0)) < 0 && errno == EINTR)
        ;
    int err = errno;
    if (blocks)
        instr_unblock(o);
    if (rc < 0)
        return -err;
    o->value = ipc_mq_depth(q);
    instr_op(o, EV_MQ_SEND, o->value, id, 0);
    return 0;
}

ssize_t ipc_mq_recv(struct instr_obj *o, mqd_t q, char *buf, size_t n, int64_t *id)
{
    instr_gate(EV_MQ_RECV, o->id);
    int blocks = ipc_mq_depth(q) == 0;
    if (blocks)
        instr_block(o, 0);
    ssize_t r;
    while ((r = mq_receive(q, buf, n, NULL)) < 0 && errno == EINTR)
        ;
    int err = errno;
    if (blocks)
        instr_unblock(o);
    if (r < 0)
        return -err;
    if ((size_t)r < n)
        buf[r] = '\0';
    int64_t msg_id = strtoll(buf, NULL, 10);
    if (id)
        *id = msg_id;
    o->value = ipc_mq_depth(q);
    instr_op(o, EV_MQ_RECV, o->value, msg_id, 0);
    return r;
}

/* ---- signals ---- */

int ipc_kill(pid_t pid, int sig)
{
    instr_gate(EV_SIG_SEND, EV_NO_OBJ);
    int rc = kill(pid, sig);
    int err = errno;
    instr_emit(EV_SIG_SEND, EV_NO_OBJ, sig, 0, pid);
    return rc < 0 ? -err : 0;
}

/* ---- conductor side ---- */

const struct model_task *ipc_ev_task(const struct model *m, const struct ev *e)
{
    if (e->task == EV_NO_TASK)
        return NULL;
    uint32_t idx = model_task_by_slot(m, e->task);
    return idx < m->ntasks ? &m->tasks[idx] : NULL;
}

const char *ipc_ev_task_name(const struct model *m, const struct ev *e)
{
    const struct model_task *t = ipc_ev_task(m, e);
    return t ? t->name : "?";
}

/* ---- spawning ---- */

static int spawn_reported(const char *verb, const char *name, int (*fn)(void *), void *arg,
                          char *err, size_t n)
{
    pid_t pid = instr_spawn(name, fn, arg, 0);
    if (pid < 0) {
        snprintf(err, n, "%s %s: %s", verb, name, strerror((int)-pid));
        return (int)pid;
    }
    return 0;
}

int ipc_start(const char *name, int (*fn)(void *), void *arg, char *err, size_t n)
{
    return spawn_reported("cannot start", name, fn, arg, err, n);
}

static int spawn_n(const char *verb, const char *prefix, long count, int (*fn)(void *), char *err,
                   size_t n)
{
    for (long k = 0; k < count; k++) {
        char name[32];
        snprintf(name, sizeof(name), "%s-%ld", prefix, k + 1);
        int rc = spawn_reported(verb, name, fn, (void *)(intptr_t)k, err, n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int ipc_start_n(const char *prefix, long count, int (*fn)(void *), char *err, size_t n)
{
    return spawn_n("cannot start", prefix, count, fn, err, n);
}

int ipc_fork_n(const char *prefix, long count, int (*fn)(void *), char *err, size_t n)
{
    return spawn_n("cannot fork", prefix, count, fn, err, n);
}
