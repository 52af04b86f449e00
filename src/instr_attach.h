/*
 * instr_attach.h - attaching a program started by `ipcscope exec` to the run's shared region.
 *
 * The conductor hands the region's memfd to the program as an inherited descriptor (env
 * IPCSCOPE_SHM_FD, IPCSCOPE_SHM_SIZE); the preload library maps it, at an address of its own,
 * and finds the exec bookkeeping (struct instr_attach_map, at IPCSCOPE_MAP_OFF bytes into the
 * region). Nothing in shared memory holds a pointer: objects are ids, addresses are keys.
 */
#ifndef IPCSCOPE_INSTR_ATTACH_H
#define IPCSCOPE_INSTR_ATTACH_H

#include "instr.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define INSTR_ATTACH_ENV_FD "IPCSCOPE_SHM_FD"
#define INSTR_ATTACH_ENV_SIZE "IPCSCOPE_SHM_SIZE"
#define INSTR_ATTACH_ENV_MAP "IPCSCOPE_MAP_OFF"
#define INSTR_ATTACH_MAGIC 0x65786563u /* "exec" */
#define INSTR_ATTACH_HASH (1u << 17)   /* address -> object entries, a power of two */
#define INSTR_ATTACH_FIFOS 64          /* FIFO names remembered */
#define INSTR_ATTACH_SLOTS 4096        /* task slots at most (recycled ones in free_slots) */

/* One primitive seen by the program: its address in the process that uses it (pid 0 when
 * it is process-shared, so every process agrees on it) and the object it stands for. The
 * table is open-addressed and read without a lock: an entry, once taken, keeps its key
 * (addr, pid) for the whole run; only id1 changes (0 once the primitive is destroyed). */
struct instr_attach_ent {
    _Atomic uint64_t addr; /* 0: a free entry */
    _Atomic int32_t pid;
    _Atomic uint32_t id1; /* object id + 1; 0: none now */
};

/* Where the entry for (addr, pid) is looked for first; the next ones follow it. */
static inline uint32_t instr_attach_hash(uint64_t addr, int32_t pid)
{
    uint64_t h = (addr ^ ((uint64_t)(uint32_t)pid << 32)) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 40) & (INSTR_ATTACH_HASH - 1);
}

/* What the preload library keeps per object besides struct instr_obj. */
struct instr_attach_objx {
    int32_t holder;               /* mutex: tid of the holder, 0 when free */
    int32_t depth;                /* mutex: lock depth of the holder (recursive mutexes) */
    _Atomic uint64_t last_t;      /* stamp of the object's last operation (see preload/core.c) */
    uint64_t ino, dev;            /* pipe: the pipe's inode, to know its ends in any process */
    uint32_t flags;               /* INSTR_OBJX_* */
    int32_t ipc_id;               /* System V: the id (semid, shmid, msqid) */
    int32_t ipc_index;            /* System V semaphore: its index in the set */
    int32_t users;                /* shm: mappings now */
    uint32_t partner1;            /* an interest set: its ready set's id + 1 (mux) */
    _Atomic uint32_t fold_slot1;  /* semaphore: the task (slot + 1) whose fold is open on it */
    _Atomic uint32_t fold_shared; /* semaphore: a task closed another's fold on it: its folds
                                     take its lock (preload/sync.c, "lock-free folds") */
    _Atomic int64_t pipe_in;      /* pipe: bytes the run's followed calls wrote into it */
    _Atomic int64_t pipe_out;     /* and read out of it (preload/pipe.c, "the fill") */
    _Atomic int64_t pipe_writing; /* pipe: bytes asked of writes under way */
    _Atomic int64_t pipe_reading; /* and of reads under way */
    _Atomic uint32_t pipe_kernel; /* pipe: 1 when those counts cannot give its fill (a FIFO,
                                     or calls the run does not see): FIONREAD at every call */
};

#define INSTR_OBJX_UNLINKED 0x01 /* its name was removed (unlink, IPC_RMID) */
#define INSTR_OBJX_PATH                                                                            \
    0x02                         /* a POSIX name under /dev/shm (sem.NAME for a named semaphore)   \
                                    or /dev/mqueue (leftover check) */
#define INSTR_OBJX_SYSV 0x04     /* System V (ipc_id is valid) */
#define INSTR_OBJX_LOOPBACK 0x08 /* a socket bound to a loopback address */

/* Why something the program did could not be followed (each also counts in the ring's
 * dropped count of the task that did it, so events.dropped includes it). */
struct instr_attach_lost {
    _Atomic uint64_t tasks;   /* processes and threads without a task slot */
    _Atomic uint64_t objects; /* primitives without an object (table full) */
    _Atomic uint64_t ops;     /* operations on those, and by tasks without a slot */
};

struct instr_attach_map {
    uint32_t magic;
    _Atomic uint32_t lock;      /* guards inserting entries, named[] and the counters */
    _Atomic uint32_t nent;      /* entries taken */
    _Atomic uint32_t remaps;    /* an entry changed object or was forgotten: caches are stale */
    uint32_t named[OK__COUNT];  /* objects of each kind so far (for "sem@2") */
    uint32_t children, threads; /* for task names */
    _Atomic uint32_t npipes;
    _Atomic uint32_t nfifos; /* FIFOs known by name (mkfifo, or opened once) */
    char fifos[INSTR_ATTACH_FIFOS][INSTR_NAME_MAX];
    struct instr_attach_lost lost;
    /* task slots the conductor has recycled (their task ended, its records all applied) */
    uint32_t nfree;
    uint32_t free_slots[INSTR_ATTACH_SLOTS];
    struct instr_attach_ent ent[INSTR_ATTACH_HASH];
    struct instr_attach_objx x[INSTR_MAX_OBJS];
};

/* Map an existing region from fd (size bytes, as the creator made it) and check it is one.
 * The mapping is independent of the creator's address. 0 with *out set, or -errno
 * (-EINVAL when it is not an ipcscope region of that size). */
int instr_region_attach(int fd, size_t size, struct instr_shared **out);

/* Unmap a region mapped by instr_region_attach. Accepts NULL. */
void instr_region_detach(struct instr_shared *sh);

/* The exec bookkeeping at byte offset off of sh, or NULL when off is out of range or the map
 * is not initialised. */
struct instr_attach_map *instr_attach_map_at(struct instr_shared *sh, size_t off);

/* The ring of slot, computed from offsets only (valid at any mapping address). */
struct ring *instr_attach_ring(struct instr_shared *sh, uint32_t slot);

#endif
