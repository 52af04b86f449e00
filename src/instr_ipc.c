/*
 * instr_ipc.c - instrumented pipes, POSIX message queues and signals, and small /proc
 * readers, for the process and IPC scenarios.
 *
 * Every wrapper follows the instr pattern: step gate first, then a block mark when the real
 * call is about to wait (so the dashboard shows the task blocked on the object while the
 * kernel holds it), the real call, and an operation event carrying the object's fill level:
 * a pipe's as the kernel reports it (FIONREAD); a message queue's as the count its completed
 * operations leave, kept in seq order under the object's lock (see the queue section).
 */
#define _GNU_SOURCE
#include "instr_ipc.h"
#include "sclock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- process helpers ---- */

void ipc_set_comm(const char *name)
{
    char comm[16];
    snprintf(comm, sizeof(comm), "%s", name);
    /* the system call itself: a sanitizer's prctl wrapper takes a lock of its own that
     * another thread of the conductor (the trace writer) may have held when this child was
     * forked, and the child would wait for it forever */
    syscall(SYS_prctl, PR_SET_NAME, comm, 0, 0, 0);
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

int ipc_wait_word(_Atomic int *word, int seen, long slice_ms)
{
    if (ipc_stopping())
        return -1;
    if (atomic_load(word) != seen)
        return 1;
    struct timespec slice = {.tv_sec = slice_ms / 1000, .tv_nsec = slice_ms % 1000 * 1000000L};
    syscall(SYS_futex, (int *)word, FUTEX_WAIT, seen, &slice, NULL, 0);
    return ipc_stopping() ? -1 : atomic_load(word) != seen;
}

void ipc_wake_word(_Atomic int *word)
{
    syscall(SYS_futex, (int *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
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
    if (n > sh->max_tasks)
        n = sh->max_tasks;
    for (uint32_t i = n; i-- > 0;)
        if (atomic_load(&sh->tasks[i].used) && sh->tasks[i].pid == pid && sh->tasks[i].tid == pid)
            return (int)i;
    return -1;
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
                   .item = WIFSIGNALED(status) ? WTERMSIG(status) : 0, /* the killing signal */
                   .aux = reaper};
    instr_emit_ev(&e);
}

/* ---- pipes ---- */

/* The object's tiny lock (instr.h: it orders operations, values and seq). Held only around
 * calls that cannot wait and around recording, never while the kernel needs another task's
 * recording to make progress, so it cannot deadlock. */
static void obj_lock(struct instr_obj *o)
{
    while (atomic_exchange_explicit(&o->lock, 1, memory_order_acquire))
        sched_yield();
}

static void obj_unlock(struct instr_obj *o)
{
    atomic_store_explicit(&o->lock, 0, memory_order_release);
}

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

/* A pipe operation records the fill right after itself. When it wakes a task asleep on the
 * pipe (a writer on a full pipe, a reader on an empty one), that task's own operation follows
 * at once in the kernel, so this one computes its fill from before (FIONREAD would already
 * count the other's bytes), makes its call under the object's lock (it cannot wait then) and
 * records before the woken task may: their seq order is the kernel's. */
ssize_t ipc_pipe_write(struct instr_obj *o, int fd, const void *buf, size_t n, int *was_full)
{
    instr_gate(EV_PIPE_WRITE, o->id);
    int fill = ipc_pipe_fill(fd);
    int blocks = fill >= 0 && (int64_t)fill + (int64_t)n > o->capacity;
    /* a reader asleep on the empty pipe: this write (n fits in an empty pipe) cannot wait */
    int hold = !blocks && fill == 0 && __atomic_load_n(&o->head, __ATOMIC_SEQ_CST) > 0;
    if (was_full)
        *was_full = blocks ? fill : -1;
    if (hold)
        obj_lock(o);
    if (blocks) {
        o->value = fill;
        __atomic_add_fetch(&o->tail, 1, __ATOMIC_SEQ_CST); /* tail: writers asleep on it */
        instr_block(o, fill);
    }
    size_t done = 0;
    int err = 0;
    while (done < n && !err) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0 && errno != EINTR)
            err = errno;
        done += w > 0 ? (size_t)w : 0;
    }
    if (blocks) {
        __atomic_sub_fetch(&o->tail, 1, __ATOMIC_SEQ_CST);
        instr_unblock(o);
    }
    if (!hold)
        obj_lock(o); /* a woken writer records after the read that woke it */
    if (!err) {
        int after = ipc_pipe_fill(fd);
        o->value = hold ? fill + (int64_t)n : after;
        instr_op(o, EV_PIPE_WRITE, o->value, (int64_t)n, 0);
    }
    obj_unlock(o);
    return err ? -err : (ssize_t)n;
}

ssize_t ipc_pipe_read(struct instr_obj *o, int fd, void *buf, size_t n)
{
    instr_gate(EV_PIPE_READ, o->id);
    int fill = ipc_pipe_fill(fd);
    int blocks = fill == 0;
    /* a writer asleep on the full pipe: this read (there is data) cannot wait */
    int hold = !blocks && __atomic_load_n(&o->tail, __ATOMIC_SEQ_CST) > 0;
    if (hold)
        obj_lock(o);
    if (blocks) {
        __atomic_add_fetch(&o->head, 1, __ATOMIC_SEQ_CST); /* head: readers asleep on it */
        instr_block(o, 0);
    }
    ssize_t r;
    while ((r = read(fd, buf, n)) < 0 && errno == EINTR)
        ;
    int err = errno;
    if (blocks) {
        __atomic_sub_fetch(&o->head, 1, __ATOMIC_SEQ_CST);
        instr_unblock(o);
    }
    if (!hold)
        obj_lock(o); /* a woken reader records after the write that woke it */
    if (r >= 0) {
        int after = ipc_pipe_fill(fd);
        if (hold && fill >= r)
            after = fill - (int)r;
        o->value = after < 0 ? 0 : after;
        instr_op(o, EV_PIPE_READ, o->value, r, 0);
    }
    obj_unlock(o);
    return r < 0 ? -err : r;
}

void ipc_pipe_close(struct instr_obj *o, int fd, int write_end)
{
    instr_gate(EV_PIPE_CLOSE, o->id);
    int fill = ipc_pipe_fill(fd);
    close(fd);
    instr_op(o, EV_PIPE_CLOSE, fill < 0 ? o->value : fill, 0, write_end);
}

/* ---- POSIX message queues ---- */

#define MQ_KEPT 16
static char g_mq_names[MQ_KEPT][64]; /* the queues this process made, for ipc_mq_left */

static void remember_mq(const char *path)
{
    for (int i = 0; i < MQ_KEPT; i++)
        if (!g_mq_names[i][0]) {
            snprintf(g_mq_names[i], sizeof(g_mq_names[i]), "%s", path);
            return;
        }
}

mqd_t ipc_mq_create(const char *name, long maxmsg, long msgsize, char *path, size_t n)
{
    struct instr_shared *sh = instr_region();
    int cpid = sh ? sh->conductor_pid : (int)getpid();
    struct mq_attr attr = {.mq_maxmsg = maxmsg, .mq_msgsize = msgsize};
    mqd_t q = (mqd_t)-1;
    for (int tries = 0; tries < 16 && q == (mqd_t)-1; tries++) {
        uint64_t rnd;
        if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts); /* sclock-ok: randomness, not time */
            rnd = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)tries << 40;
        }
        snprintf(path, n, "/" IPC_MQ_PREFIX "%s-%016llx", cpid, name, (unsigned long long)rnd);
        q = mq_open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
        if (q == (mqd_t)-1 && errno != EEXIST)
            break;
    }
    if (q != (mqd_t)-1)
        remember_mq(path);
    return q;
}

static long read_long(const char *path)
{
    char buf[32];
    FILE *f = fopen(path, "re");
    long v = -1;
    if (f && fgets(buf, sizeof(buf), f))
        v = strtol(buf, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

const char *ipc_mq_why(int err, long maxmsg, long msgsize, char *buf, size_t n)
{
    struct rlimit rl;
    long bytes = maxmsg * (msgsize + 64); /* about what the kernel charges per queue */
    if (err == EMFILE && getrlimit(RLIMIT_MSGQUEUE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (rlim_t)bytes > rl.rlim_cur)
        snprintf(buf, n,
                 "the message-queue byte limit (ulimit -q) is %llu bytes and this queue of %ld "
                 "messages of %ld bytes needs about %ld; raise it with ulimit -q",
                 (unsigned long long)rl.rlim_cur, maxmsg, msgsize, bytes);
    else if (err == EINVAL && maxmsg > read_long("/proc/sys/fs/mqueue/msg_max"))
        snprintf(buf, n, "%s: maxmsg %ld is above the system's %ld (/proc/sys/fs/mqueue/msg_max)",
                 strerror(err), maxmsg, read_long("/proc/sys/fs/mqueue/msg_max"));
    else if (err == ENOSPC)
        snprintf(buf, n,
                 "%s: the system's queue count (/proc/sys/fs/mqueue/queues_max, %ld) is "
                 "used up",
                 strerror(err), read_long("/proc/sys/fs/mqueue/queues_max"));
    else
        snprintf(buf, n, "%s", strerror(err));
    return buf;
}

int ipc_mq_left(void)
{
    int left = 0;
    for (int i = 0; i < MQ_KEPT; i++) {
        if (!g_mq_names[i][0])
            continue;
        mqd_t q = mq_open(g_mq_names[i], O_RDONLY | O_CLOEXEC);
        if (q != (mqd_t)-1) {
            left++;
            mq_close(q);
        } else if (errno == ENOENT) {
            g_mq_names[i][0] = '\0'; /* unlinked: forget it */
        }
    }
    return left;
}

long ipc_mq_depth(mqd_t q)
{
    struct mq_attr a;
    return mq_getattr(q, &a) < 0 ? -1 : a.mq_curmsgs;
}

/* The depth an operation records is the count the completed operations leave, kept under
 * the object's tiny lock together with its seq (as for semaphores), so the values can be
 * recomputed from the trace: mq_send +1, mq_recv -1, in seq order. An operation that cannot
 * block makes its call under that lock. One that blocks sleeps in the kernel outside it; when
 * another task's operation completes it there (the kernel hands a blocked sender's message in
 * inside mq_receive, or a message straight to a blocked receiver), that task sees the depth
 * not move, records its own operation and reserves the next seq, with the value after, for
 * the woken one, which records it when it returns. So receiving from a full queue records 2
 * of 3, and the woken sender's refill to 3 is its own event, right after. */

#define MQ_RESV_MAX 64
enum { MQ_SIDE_SEND = 0, MQ_SIDE_RECV = 1 };

struct mq_resv {
    uint32_t head[2], tail[2]; /* per side: reservations taken / made */
    uint32_t seq[2][MQ_RESV_MAX];
    int64_t val[2][MQ_RESV_MAX];
    uint64_t t[2][MQ_RESV_MAX];
};

static const struct timespec MQ_NO_WAIT = {0, 0}; /* long past: the call never waits */

struct instr_obj *ipc_mq_obj(const char *name, long maxmsg)
{
    struct mq_resv *r = instr_shared_alloc(sizeof(*r));
    struct instr_obj *o = r ? instr_obj_new(name, OK_MQ, 0, maxmsg) : NULL;
    if (o)
        o->items = (int64_t *)(void *)r;
    return o;
}

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* sclock-ok: an event's timestamp, not a wait */
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Under the lock: the kernel completed a blocked task's operation on side inside ours; it
 * counts now (delta), and its event gets the next seq. */
static void mq_reserve(struct instr_obj *o, int side, int delta)
{
    struct mq_resv *r = (struct mq_resv *)(void *)o->items;
    o->value += delta;
    if (!r || r->tail[side] - r->head[side] >= MQ_RESV_MAX) {
        o->value -= delta; /* no room: the woken one counts itself when it returns */
        return;
    }
    uint32_t i = r->tail[side]++ % MQ_RESV_MAX;
    r->seq[side][i] = atomic_fetch_add(&o->seq, 1);
    r->val[side][i] = o->value;
    r->t[side][i] = wall_ns();
}

/* Under the lock: record the operation of a task that slept in the kernel: with the seq and
 * value reserved for it, or as a new operation (delta) when none was. */
static void mq_record_woken(struct instr_obj *o, int side, uint16_t kind, int delta, int64_t item)
{
    struct mq_resv *r = (struct mq_resv *)(void *)o->items;
    if (!r || r->head[side] == r->tail[side]) {
        o->value += delta;
        instr_op(o, kind, o->value, item, 0);
        return;
    }
    uint32_t i = r->head[side]++ % MQ_RESV_MAX;
    struct ev e = {.t = r->t[side][i],
                   .kind = kind,
                   .src = EV_SRC_INSTR,
                   .task = (uint32_t)instr_self(),
                   .pid = getpid(),
                   .tid = gettid(),
                   .obj = o->id,
                   .seq = r->seq[side][i],
                   .val = r->val[side][i],
                   .item = item};
    instr_emit_ev(&e);
}

int ipc_mq_send(struct instr_obj *o, mqd_t q, const char *msg, size_t len, int64_t id,
                long *was_full)
{
    instr_gate(EV_MQ_SEND, o->id);
    obj_lock(o);
    long depth = ipc_mq_depth(q);
    if (depth >= 0 && depth < o->capacity) { /* room: the send cannot wait */
        if (mq_timedsend(q, msg, len, 0, &MQ_NO_WAIT) == 0) {
            long after = ipc_mq_depth(q);
            o->value++;
            instr_op(o, EV_MQ_SEND, o->value, id, 0);
            if (after == depth) /* handed straight to a blocked receiver */
                mq_reserve(o, MQ_SIDE_RECV, -1);
            obj_unlock(o);
            if (was_full)
                *was_full = -1;
            return 0;
        }
        if (errno != ETIMEDOUT && errno != EAGAIN) {
            int err = errno;
            obj_unlock(o);
            return -err;
        }
    }
    obj_unlock(o);

    if (was_full) /* full: sleep in the kernel until a receiver makes room */
        *was_full = depth;
    instr_block(o, depth);
    int rc;
    while ((rc = mq_send(q, msg, len, 0)) < 0 && errno == EINTR)
        ;
    int err = errno;
    instr_unblock(o);
    if (rc < 0)
        return -err;
    obj_lock(o);
    mq_record_woken(o, MQ_SIDE_SEND, EV_MQ_SEND, +1, id);
    obj_unlock(o);
    return 0;
}

static int64_t msg_id_of(char *buf, size_t n, ssize_t r, int64_t *id)
{
    if ((size_t)r < n)
        buf[r] = '\0';
    int64_t msg_id = strtoll(buf, NULL, 10);
    if (id)
        *id = msg_id;
    return msg_id;
}

ssize_t ipc_mq_recv(struct instr_obj *o, mqd_t q, char *buf, size_t n, int64_t *id)
{
    instr_gate(EV_MQ_RECV, o->id);
    obj_lock(o);
    long depth = ipc_mq_depth(q);
    if (depth > 0) { /* a message is there: the receive cannot wait */
        ssize_t r = mq_timedreceive(q, buf, n, NULL, &MQ_NO_WAIT);
        if (r >= 0) {
            long after = ipc_mq_depth(q);
            o->value--;
            instr_op(o, EV_MQ_RECV, o->value, msg_id_of(buf, n, r, id), 0);
            if (after == depth) /* a blocked sender's message came in at once */
                mq_reserve(o, MQ_SIDE_SEND, +1);
            obj_unlock(o);
            return r;
        }
        if (errno != ETIMEDOUT && errno != EAGAIN) {
            int err = errno;
            obj_unlock(o);
            return -err;
        }
    }
    obj_unlock(o);

    instr_block(o, 0); /* empty: sleep in the kernel until a sender sends */
    ssize_t r;
    while ((r = mq_receive(q, buf, n, NULL)) < 0 && errno == EINTR)
        ;
    int err = errno;
    instr_unblock(o);
    if (r < 0)
        return -err;
    int64_t msg_id = msg_id_of(buf, n, r, id);
    obj_lock(o);
    mq_record_woken(o, MQ_SIDE_RECV, EV_MQ_RECV, -1, msg_id);
    obj_unlock(o);
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

const char *ipc_errno_why(int e, char *buf, size_t n)
{
    struct rlimit rl;
    if (e == EAGAIN && getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        snprintf(buf, n,
                 "%s (this user may have %llu processes, ulimit -u; a run needs one per "
                 "worker and one for the guard)",
                 strerror(e), (unsigned long long)rl.rlim_cur);
    else if (e == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        snprintf(buf, n, "%s (ulimit -n allows %llu; ipcscope needs about 20)", strerror(e),
                 (unsigned long long)rl.rlim_cur);
    else
        snprintf(buf, n, "%s", strerror(e));
    return buf;
}

static int spawn_reported(const char *verb, const char *name, int (*fn)(void *), void *arg,
                          char *err, size_t n)
{
    pid_t pid = instr_spawn(name, fn, arg, 0);
    if (pid < 0) {
        char why[200];
        snprintf(err, n, "%s %s: %s", verb, name, ipc_errno_why((int)-pid, why, sizeof(why)));
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
