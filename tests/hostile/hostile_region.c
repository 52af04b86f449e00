/*
 * hostile_region.c - a program that attacks ipcscope from inside `ipcscope exec`.
 *
 * It maps the run's shared region from the descriptor the preload library also uses and,
 * for SECONDS, keeps rewriting everything the conductor could trust: the worker group (to
 * the group of SENTINEL, a process outside the run), counts, sizes and offsets, every task
 * slot (names without their NUL, pids pointing at SENTINEL), every ring header and its
 * records, every object. The security test then checks that the conductor survived and that
 * SENTINEL is alive. Usage: hostile_region SENTINEL SECONDS [forge]
 *
 * With `forge` it writes nothing at random: it puts one well-formed record in its own ring, a
 * task_start saying SENTINEL is a new process of the run, lives SECONDS, and exits. The
 * conductor, which kills whatever of the run is left at the end, must not take its word.
 */
#define _GNU_SOURCE
#include "instr.h"
#include "ring.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t g_rand = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    g_rand ^= g_rand << 13;
    g_rand ^= g_rand >> 7;
    g_rand ^= g_rand << 17;
    return g_rand;
}

static uint32_t pick32(uint32_t real)
{
    static const uint32_t bad[] = {0xffffffffu, 0x80000000u, 0, 1, 4096};
    return rnd() % 4 ? bad[rnd() % 5] : real + (uint32_t)(rnd() % 64);
}

static void scribble(void *p, size_t n)
{
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        c[i] = (unsigned char)rnd();
}

/* One round: the header, the slots, the rings, the objects. */
static void attack(struct instr_shared *sh, size_t size, uint32_t max_tasks, size_t rings_off,
                   size_t stride, uint32_t cap, pid_t sentinel)
{
    atomic_store(&sh->worker_pgid, getpgid(sentinel));
    atomic_store(&sh->guard_off, 1);
    sh->drop_uid = sh->drop_gid = 0;
    sh->max_tasks = pick32(max_tasks);
    atomic_store(&sh->ntasks, pick32(max_tasks));
    atomic_store(&sh->nobjs, pick32(INSTR_MAX_OBJS));
    sh->ring_cap = pick32(cap);
    sh->rings_off = rnd() % 2 ? (size_t)rnd() : size * 2;
    sh->ring_stride = (size_t)rnd();
    sh->size = rnd() % 2 ? 1 : (size_t)rnd();
    sh->arena_off = (size_t)rnd();
    sh->arena_size = (size_t)rnd();
    sh->tsc0 = rnd();
    sh->mono0 = rnd();
    atomic_store(&sh->ns_per_tick_q32, rnd());
    for (uint32_t s = 0; s < max_tasks; s++) {
        struct instr_task *t = &sh->tasks[s];
        memset(t->name, 'A', sizeof(t->name));
        t->pid = t->tid = t->ppid = sentinel;
        t->kind = TK_PROCESS;
        atomic_store(&t->gate, (uint32_t)(rnd() % 4));
        atomic_store(&t->gate_kind, (uint32_t)rnd());
        atomic_store(&t->gate_obj, (uint32_t)rnd());
        atomic_store(&t->exited, (uint32_t)(rnd() % 2));
        struct ring *r = (struct ring *)((char *)sh + rings_off + (size_t)s * stride);
        scribble(r->recs, sizeof(struct ev) * (cap < 64 ? cap : 64));
        atomic_store(&r->head, rnd());
        atomic_store(&r->tail, rnd());
        r->cap = (uint32_t)rnd();
        r->mask = 0xffffffffu;
    }
    for (uint32_t i = 0; i < INSTR_MAX_OBJS; i++) {
        struct instr_obj *o = &sh->objs[i];
        memset(o->name, 'B', sizeof(o->name));
        o->id = (uint32_t)rnd();
        o->kind = (uint32_t)(rnd() % 2 ? OK_SOCKET : rnd());
        o->u.sock.lport = (uint16_t)rnd();
        o->u.sock.rport = 0;
        o->items = (int64_t *)(uintptr_t)rnd();
        o->capacity = (int64_t)rnd();
    }
}

/* One task_start record in the caller's own ring: SENTINEL is a process of the run, in a
 * slot nobody uses. */
static int forge(struct instr_shared *sh, uint32_t max_tasks, size_t rings_off, size_t stride,
                 pid_t sentinel)
{
    uint32_t mine = max_tasks;
    for (uint32_t s = 0; s < max_tasks; s++)
        if (sh->tasks[s].pid == getpid() && sh->tasks[s].tid == getpid())
            mine = s;
    if (mine == max_tasks)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct ev e = {.t = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec,
                   .kind = EV_TASK_START,
                   .task = max_tasks - 1,
                   .pid = sentinel,
                   .tid = sentinel,
                   .obj = EV_NO_OBJ,
                   .item = TK_PROCESS,
                   .aux = getpid()};
    return ring_push((struct ring *)((char *)sh + rings_off + (size_t)mine * stride), &e);
}

int main(int argc, char **argv)
{
    const char *fd_s = getenv("IPCSCOPE_SHM_FD"), *size_s = getenv("IPCSCOPE_SHM_SIZE");
    if (argc < 3 || !fd_s || !size_s) {
        fprintf(stderr, "usage: hostile_region SENTINEL SECONDS (under ipcscope exec)\n");
        return 2;
    }
    size_t size = strtoull(size_s, NULL, 10);
    struct instr_shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, atoi(fd_s), 0);
    if (sh == MAP_FAILED)
        return 3;
    pid_t sentinel = atoi(argv[1]);
    uint32_t max_tasks = sh->max_tasks, cap = sh->ring_cap;
    size_t rings_off = sh->rings_off, stride = sh->ring_stride;
    struct timespec t0, now, nap = {0, 500000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    g_rand ^= (uint64_t)t0.tv_nsec;
    if (argc > 3 && strcmp(argv[3], "forge") == 0) {
        if (forge(sh, max_tasks, rings_off, stride, sentinel) < 0) {
            fprintf(stderr, "hostile_region: cannot find my slot or my ring is full\n");
            syscall(SYS_exit_group, 4);
        }
        sleep((unsigned)atoi(argv[2]));
        fprintf(stderr, "forged a task_start for %d\n", (int)sentinel);
        syscall(SYS_exit_group, 0);
    }
    do {
        attack(sh, size, max_tasks, rings_off, stride, cap, sentinel);
        nanosleep(&nap, NULL);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec - t0.tv_sec < atoi(argv[2]));
    /* stderr: stdout is the user's, where `--json -` writes the snapshot */
    fprintf(stderr, "attacked for %s s\n", argv[2]);
    /* not exit, nor _exit: the preload hooks both and would write into the ring we broke
     * (and crash); the raw system call leaves it out, so the exit status is ours */
    syscall(SYS_exit_group, 0);
    return 0;
}
