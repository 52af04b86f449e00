/*
 * sysv.c - System V IPC: semaphore sets (semget, semop, semtimedop, semctl), shared memory
 * segments (shmget, shmat, shmdt, shmctl) and message queues (msgget, msgsnd, msgrcv,
 * msgctl). Their objects carry "sysv": true.
 *
 * Each semaphore of a set is an object ("sem:0x1234[0]", or "sem#ID[0]" for IPC_PRIVATE)
 * whose value follows the completed operations under its spin lock, as for POSIX
 * semaphores; an operation that cannot complete at once (tried first with IPC_NOWAIT) is a
 * wait that blocks. A queue's value is its depth (msg_qnum), a segment's its size and its
 * mappings its attaches. IPC_RMID removes the name; the snapshot lists what is left.
 */
#include "preload.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SEMOPS_MAX 32

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

enum { TAG_SEM = 0xA, TAG_SHM = 0xB, TAG_MSG = 0xC };

/* The map key of a System V object: never a user address, never an inode key. */
static const void *sysv_key(int tag, int id, int index)
{
    return (const void *)(uintptr_t)((uint64_t)tag << 59 | (uint64_t)(uint32_t)id << 16 |
                                     (uint16_t)index);
}

/* "sem:0x1234[0]" or "sem#65536[0]" (IPC_PRIVATE) */
static void sysv_name(char *buf, size_t n, const char *what, key_t key, int id, int index)
{
    char idx[16] = "";
    if (index >= 0)
        snprintf(idx, sizeof(idx), "[%d]", index);
    if (key != IPC_PRIVATE)
        snprintf(buf, n, "%s:0x%x%s", what, (unsigned)key, idx);
    else
        snprintf(buf, n, "%s#%d%s", what, id, idx);
}

/* The object for (tag, id, index), registered with what describe gives on first sight. */
static struct instr_obj *sysv_obj(int tag, int id, int index, int kind, const char *what, key_t key,
                                  int64_t init, int64_t cap)
{
    const void *k = sysv_key(tag, id, index);
    struct instr_obj *o = obj_find(k, kind, 1);
    if (o)
        return o;
    char name[INSTR_NAME_MAX];
    sysv_name(name, sizeof(name), what, key, id, tag == TAG_SEM ? index : -1);
    struct obj_spec sp = {.kind = kind,
                          .shared = 1,
                          .psize = 1,
                          .init = init,
                          .cap = cap,
                          .name = name,
                          .flags = OBJF_SYSV};
    o = obj_at(k, &sp);
    if (o && !(g_map->x[o->id].flags & INSTR_OBJX_SYSV)) {
        g_map->x[o->id].flags |= INSTR_OBJX_SYSV;
        g_map->x[o->id].ipc_id = id;
        g_map->x[o->id].ipc_index = index;
    }
    return o;
}

/* ---- semaphore sets ---- */

static struct instr_obj *sem_of(int id, int num)
{
    struct instr_obj *o = obj_find(sysv_key(TAG_SEM, id, num), OK_SEMAPHORE, 1);
    if (o)
        return o;
    struct semid_ds ds;
    union semun arg = {.buf = &ds};
    if (REAL(semctl)(id, 0, IPC_STAT, arg) < 0 || num < 0 || (unsigned long)num >= ds.sem_nsems)
        return NULL;
    int v = REAL(semctl)(id, num, GETVAL);
    return sysv_obj(TAG_SEM, id, num, OK_SEMAPHORE, "sem", ds.sem_perm.__key, v < 0 ? 0 : v, 0);
}

EXPORT int semget(key_t key, int nsems, int flags)
{
    int id = REAL(semget)(key, nsems, flags);
    if (id >= 0 && active()) {
        int err = errno;
        for (int i = 0; i < nsems && i < SEMOPS_MAX; i++)
            sem_of(id, i); /* the set's semaphores appear at once, with their values */
        errno = err;
    }
    return id;
}

/* The distinct objects of sops, in id order (locking order), into objs. Their count, or
 * -1 when one is unknown. */
static int sem_objects(int id, const struct sembuf *sops, size_t n, struct instr_obj **per_op,
                       struct instr_obj **objs)
{
    int k = 0;
    for (size_t i = 0; i < n; i++) {
        per_op[i] = sem_of(id, sops[i].sem_num);
        if (!per_op[i])
            return -1;
        int seen = 0;
        for (int j = 0; j < k && !seen; j++)
            seen = objs[j] == per_op[i];
        if (!seen)
            objs[k++] = per_op[i];
    }
    for (int a = 1; a < k; a++) /* insertion sort by id */
        for (int b = a; b > 0 && objs[b - 1]->id > objs[b]->id; b--) {
            struct instr_obj *t = objs[b];
            objs[b] = objs[b - 1];
            objs[b - 1] = t;
        }
    return k;
}

/* Record the completed operations (values by arithmetic, under the locks). */
static void sem_completed(const struct sembuf *sops, size_t n, struct instr_obj **per_op,
                          int precise)
{
    for (size_t i = 0; i < n; i++) {
        struct instr_obj *o = per_op[i];
        o->value += sops[i].sem_op;
        if (sops[i].sem_op < 0)
            op_t(o, EV_SEM_ACQUIRED, o->value, -sops[i].sem_op, 0, precise);
        else if (sops[i].sem_op > 0)
            op_t(o, EV_SEM_POST, o->value, sops[i].sem_op, 0, precise);
        else
            op_t(o, EV_SEM_WAIT, o->value, 0, 0, precise); /* waited for zero */
    }
}

/* The operation that cannot complete now: the first wanting more than there is (or zero). */
static struct instr_obj *sem_blocker(const struct sembuf *sops, size_t n, struct instr_obj **per_op)
{
    for (size_t i = 0; i < n; i++)
        if ((sops[i].sem_op < 0 && per_op[i]->value < -sops[i].sem_op) ||
            (sops[i].sem_op == 0 && per_op[i]->value != 0))
            return per_op[i];
    return per_op[0];
}

static void lock_all(struct instr_obj **objs, int k)
{
    for (int i = 0; i < k; i++)
        obj_lock(objs[i]);
}

static void unlock_all(struct instr_obj **objs, int k)
{
    for (int i = k; i-- > 0;)
        obj_unlock(objs[i]);
}

static int semop_common(int id, struct sembuf *sops, size_t n, const struct timespec *timeout)
{
    struct instr_obj *per_op[SEMOPS_MAX], *objs[SEMOPS_MAX];
    int k = n > 0 && n <= SEMOPS_MAX ? sem_objects(id, sops, n, per_op, objs) : -1;
    if (k <= 0)
        return REAL(semtimedop)(id, sops, n, timeout);
    struct deadline d;
    struct timespec at;
    deadline_begin_rel(&d, &at,
                       timeout && timeout->tv_sec >= 0
                           ? (int64_t)timeout->tv_sec * 1000000000 + timeout->tv_nsec
                           : -1,
                       EV_SEM_WAIT, objs[0]->id);
    gate(EV_SEM_WAIT, objs[0]->id);
    struct sembuf now[SEMOPS_MAX];
    int nowait = 1;
    for (size_t i = 0; i < n; i++) {
        now[i] = sops[i];
        nowait &= (sops[i].sem_flg & IPC_NOWAIT) != 0;
        now[i].sem_flg |= IPC_NOWAIT;
    }
    lock_all(objs, k);
    int rc = REAL(semtimedop)(id, now, n, NULL);
    int err = errno;
    if (rc == 0)
        sem_completed(sops, n, per_op, T_COARSE);
    struct instr_obj *b = rc < 0 && err == EAGAIN ? sem_blocker(sops, n, per_op) : NULL;
    if (b)
        op(b, EV_SEM_WAIT, b->value, 0, !nowait);
    unlock_all(objs, k);
    if (!b || nowait) {
        deadline_end(&d);
        errno = err;
        return rc;
    }
    mark_blocked(b);
    if (!d.held)
        rc = REAL(semtimedop)(id, sops, n, timeout);
    else /* in slices, until the gate lets the timeout expire (EAGAIN, as the kernel says) */
        for (int64_t ns = deadline_slice_ns(&d, &at, 1);; ns = deadline_slice_ns(&d, &at, 1)) {
            struct timespec rel = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
            rc = ns > 0 ? REAL(semtimedop)(id, sops, n, &rel) : (errno = EAGAIN, -1);
            if (ns < 0 || rc == 0 || errno != EAGAIN)
                break;
        }
    deadline_end(&d);
    err = errno;
    mark_blocked(NULL);
    lock_all(objs, k);
    if (rc == 0)
        sem_completed(sops, n, per_op, T_PRECISE);
    else
        op(b, EV_UNBLOCK, b->value, 0, err); /* EAGAIN (timeout), EINTR, EIDRM */
    unlock_all(objs, k);
    errno = err;
    return rc;
}

EXPORT int semop(int id, struct sembuf *sops, size_t n)
{
    if (!active())
        return REAL(semop)(id, sops, n);
    return semop_common(id, sops, n, NULL);
}

EXPORT int semtimedop(int id, struct sembuf *sops, size_t n, const struct timespec *timeout)
{
    if (!active())
        return REAL(semtimedop)(id, sops, n, timeout);
    return semop_common(id, sops, n, timeout);
}

/* SETVAL, SETALL: the values set; IPC_RMID: the set is gone. */
static void semctl_done(int id, int num, int cmd, union semun arg, int nsems)
{
    if (cmd == SETVAL) {
        struct instr_obj *o = sem_of(id, num);
        if (o) {
            obj_lock(o);
            o->value = arg.val;
            op(o, EV_OBJ_SET, o->value, 0, 0);
            obj_unlock(o);
        }
        return;
    }
    for (int i = 0; i < nsems && i < SEMOPS_MAX; i++) {
        struct instr_obj *o = obj_find(sysv_key(TAG_SEM, id, i), OK_SEMAPHORE, 1);
        if (!o || (cmd == SETALL && !arg.array))
            continue;
        obj_lock(o);
        if (cmd == SETALL) {
            o->value = arg.array[i];
            op(o, EV_OBJ_SET, o->value, 0, 0);
        } else {
            obj_unlinked(o);
        }
        obj_unlock(o);
    }
}

EXPORT int semctl(int id, int num, int cmd, ...)
{
    union semun arg = {0};
    va_list ap;
    va_start(ap, cmd);
    if (cmd != IPC_RMID && cmd != GETVAL && cmd != GETPID && cmd != GETNCNT && cmd != GETZCNT)
        arg = va_arg(ap, union semun);
    va_end(ap);
    int nsems = 0;
    if (active() && (cmd == SETALL || cmd == IPC_RMID)) {
        struct semid_ds ds;
        union semun st = {.buf = &ds};
        if (REAL(semctl)(id, 0, IPC_STAT, st) == 0)
            nsems = (int)ds.sem_nsems;
    }
    int rc = REAL(semctl)(id, num, cmd, arg);
    if (rc >= 0 && active() && (cmd == SETVAL || cmd == SETALL || cmd == IPC_RMID)) {
        int err = errno;
        semctl_done(id, num, cmd, arg, nsems);
        errno = err;
    }
    return rc;
}

/* ---- shared memory segments ---- */

static struct instr_obj *seg_of(int id)
{
    struct instr_obj *o = obj_find(sysv_key(TAG_SHM, id, 0), OK_SHM, 1);
    if (o)
        return o;
    struct shmid_ds ds;
    if (REAL(shmctl)(id, IPC_STAT, &ds) < 0)
        return NULL;
    return sysv_obj(TAG_SHM, id, 0, OK_SHM, "shm", ds.shm_perm.__key, (int64_t)ds.shm_segsz, 0);
}

EXPORT int shmget(key_t key, size_t size, int flags)
{
    int id = REAL(shmget)(key, size, flags);
    if (id >= 0 && active()) {
        int err = errno;
        seg_of(id);
        errno = err;
    }
    return id;
}

EXPORT void *shmat(int id, const void *addr, int flags)
{
    void *p = REAL(shmat)(id, addr, flags);
    if (p != (void *)-1 && active()) {
        int err = errno;
        struct instr_obj *o = seg_of(id);
        struct shmid_ds ds;
        if (o && REAL(shmctl)(id, IPC_STAT, &ds) == 0)
            shm_track(p, ds.shm_segsz, o, 1);
        errno = err;
    }
    return p;
}

EXPORT int shmdt(const void *addr)
{
    int rc = REAL(shmdt)(addr);
    if (rc == 0 && active()) {
        int err = errno, sysv = 0;
        size_t len = 0;
        shm_untrack(addr, &len, &sysv);
        errno = err;
    }
    return rc;
}

EXPORT int shmctl(int id, int cmd, struct shmid_ds *buf)
{
    int rc = REAL(shmctl)(id, cmd, buf);
    if (rc == 0 && cmd == IPC_RMID && active()) {
        int err = errno;
        struct instr_obj *o = obj_find(sysv_key(TAG_SHM, id, 0), OK_SHM, 1);
        if (o)
            obj_unlinked(o);
        errno = err;
    }
    return rc;
}

/* ---- message queues ---- */

static struct instr_obj *queue_of(int id, struct msqid_ds *ds)
{
    struct msqid_ds tmp;
    if (!ds)
        ds = &tmp;
    if (REAL(msgctl)(id, IPC_STAT, ds) < 0)
        return NULL;
    struct instr_obj *o = obj_find(sysv_key(TAG_MSG, id, 0), OK_MQ, 1);
    if (o)
        return o;
    return sysv_obj(TAG_MSG, id, 0, OK_MQ, "msg", ds->msg_perm.__key, (int64_t)ds->msg_qnum, 0);
}

EXPORT int msgget(key_t key, int flags)
{
    int id = REAL(msgget)(key, flags);
    if (id >= 0 && active()) {
        int err = errno;
        queue_of(id, NULL);
        errno = err;
    }
    return id;
}

/* The depth now (msg_qnum), or -1. */
static long queue_depth(int id)
{
    struct msqid_ds ds;
    return REAL(msgctl)(id, IPC_STAT, &ds) == 0 ? (long)ds.msg_qnum : -1;
}

EXPORT int msgsnd(int id, const void *msg, size_t size, int flags)
{
    struct msqid_ds ds;
    struct instr_obj *o = active() ? queue_of(id, &ds) : NULL;
    if (!o)
        return REAL(msgsnd)(id, msg, size, flags);
    gate(EV_MQ_SEND, o->id);
    /* full when the bytes would exceed msg_qbytes */
    int blocks = !(flags & IPC_NOWAIT) && ds.__msg_cbytes + size > ds.msg_qbytes;
    if (blocks)
        block_on(o, (int64_t)ds.msg_qnum, (int64_t)ds.msg_qnum);
    int rc = REAL(msgsnd)(id, msg, size, flags);
    int err = errno;
    long depth = queue_depth(id);
    if (blocks)
        unblock(o, depth, rc < 0 ? err : 0);
    if (rc == 0)
        op_tx(o, EV_MQ_SEND, depth, (int64_t)size, *(const long *)msg, MQ_ITEM_BYTES, T_PRECISE);
    errno = err;
    return rc;
}

EXPORT ssize_t msgrcv(int id, void *msg, size_t size, long type, int flags)
{
    struct instr_obj *o = active() ? queue_of(id, NULL) : NULL;
    if (!o)
        return REAL(msgrcv)(id, msg, size, type, flags);
    gate(EV_MQ_RECV, o->id);
    ssize_t r = REAL(msgrcv)(id, msg, size, type, flags | IPC_NOWAIT);
    int err = errno, blocked = 0;
    if (r < 0 && err == ENOMSG && !(flags & IPC_NOWAIT)) { /* nothing matching: wait */
        blocked = 1;
        block_on(o, queue_depth(id), 0);
        r = REAL(msgrcv)(id, msg, size, type, flags);
        err = errno;
    }
    long depth = queue_depth(id);
    if (blocked)
        unblock(o, depth < 0 ? 0 : depth, r < 0 ? err : 0);
    if (r >= 0)
        op_tx(o, EV_MQ_RECV, depth, r, *(const long *)msg, MQ_ITEM_BYTES, T_PRECISE);
    errno = err;
    return r;
}

EXPORT int msgctl(int id, int cmd, struct msqid_ds *buf)
{
    int rc = REAL(msgctl)(id, cmd, buf);
    if (rc == 0 && cmd == IPC_RMID && active()) {
        int err = errno;
        struct instr_obj *o = obj_find(sysv_key(TAG_MSG, id, 0), OK_MQ, 1);
        if (o)
            obj_unlinked(o);
        errno = err;
    }
    return rc;
}
