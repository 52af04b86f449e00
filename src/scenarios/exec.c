/*
 * exec.c - "your program": run an unmodified program under ipcscope (`ipcscope exec`).
 *
 * Setup forks one worker that execs PROGRAM with libipcscope_preload.so in LD_PRELOAD and
 * the run's shared region passed as an inherited memfd (IPCSCOPE_SHM_FD); the library then
 * reports the program's processes, threads and IPC objects like any scenario's workers.
 * The program behaves as it would without ipcscope: headless it keeps the user's descriptors
 * and gets the terminal's foreground, in the TUI it runs on a pseudo-terminal of ours; the
 * conductor is not its subreaper (orphans go where they would), and exec_track.c keeps count
 * of everything it starts and cleans up at the end.
 */
#define _GNU_SOURCE
#include "exec.h"
#include "exec_crowd.h"
#include "exec_pty.h"
#include "exec_stall.h"
#include "exec_track.h"

#include "../instr.h"
#include "../instr_attach.h"
#include "../loop.h"
#include "../model.h"
#include "../privs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define EXEC_MAX_TASKS 255 /* at once (rings of 32768 records); ended tasks' slots are recycled */
#define SHM_FD_FLOOR 900   /* where the region's descriptor goes in the program */
#define LOOK_EVERY_NS (50 * 1000 * 1000ull)           /* /proc and the cgroup, at most this often */
#define OUTSIDE_REAP_GRACE_NS (3000 * 1000 * 1000ull) /* an outside parent's time to reap */
#define LOCK_TRIES 1000 /* tries at the map's lock (the program's to hold) before the next poll */

static struct exec_program g_prog;
static struct exec_track g_track;
static pid_t g_pid;          /* the program, 0 before it starts */
static pid_t g_spawned;      /* the conductor's child: the program, or in the TUI the
                                session leader whose child it is (exec_pty.h) */
static int g_tty = -1;       /* the controlling terminal, when ipcscope had its foreground */
static int g_status_fd = -1; /* TUI: the pty leader writes the program's wait status here */
static uint64_t g_looked;    /* when the poll last looked at /proc and the cgroup */
static int g_main_reaped;    /* the program itself has been reaped */
static int g_prog_code = -1; /* its status as the conductor reaped it (128+N: signal N) */
static int g_prog_sig;       /* the signal that killed it, 0 when it exited */
static int g_alive = 1;      /* the run's processes still running at the last look */
static int g_waiting = 1;    /* processes still to be seen reaped at the last look */
static uint64_t g_outside_zombie_at; /* first seen a zombie of a parent outside the run */
static int g_join_err;               /* the program could not join the cgroup (-errno) */
static const struct model *g_model;  /* the run's model, for the cleanup's /proc scan */
static uint8_t *g_freed;             /* per model task: its slot was handed back */
static const struct instr_attach_map *g_map_seen; /* the run's map (lost counts, addresses) */
#define EXEC_MAP_PROBES 4096 /* entries exec_scenario_obj_at looks at, at most */
static size_t g_freed_cap;
static size_t *g_ring_mapped; /* per slot: bytes of its ring the conductor has mapped in */

/* The region's geometry as the conductor made it, copied at setup before the program runs:
 * the program maps the region read-write and may rewrite the header's copy at any time. */
static struct {
    uint32_t max_tasks;
    size_t rings_off, ring_stride;
} g_geo;

/* What the program's process tells the conductor before it execs. */
struct child_report {
    int join_err; /* exec_track_join's result */
    pid_t pid;    /* the program's process */
    pid_t pgid;   /* its process group */
};

struct exec_child {
    int shm_fd, report_fd;
    size_t map_off;
};

void exec_scenario_set(const struct exec_program *p)
{
    g_prog = *p;
}

const char *exec_scenario_program(void)
{
    return g_prog.argv && g_prog.argv[0] ? g_prog.argv[0] : NULL;
}

static uint32_t max_tasks(const struct scn_ctx *ctx)
{
    (void)ctx;
    return EXEC_MAX_TASKS;
}

/* The model task of the program itself, or NULL. */
static const struct model_task *main_task(const struct model *m)
{
    for (size_t i = 0; g_pid > 0 && i < m->ntasks; i++)
        if (m->tasks[i].pid == g_pid && m->tasks[i].tid == g_pid)
            return &m->tasks[i];
    return NULL;
}

int exec_scenario_status(const struct model *m)
{
    if (g_prog_code >= 0)
        return g_prog_code; /* the conductor's own waitpid */
    const struct model_task *t = main_task(m);
    return t && t->has_exit && (t->state == TS_REAPED || t->state == TS_ZOMBIE) ? t->exit_status
                                                                                : -1;
}

int exec_scenario_killed_by(void)
{
    return g_prog_code >= 0 ? g_prog_sig : 0;
}

void exec_scenario_stopping(const struct model *m)
{
    if (g_pid > 0)
        g_track.killed = exec_track_alive(&g_track, m);
}

void exec_scenario_dropped(json_t *events, uint64_t dropped)
{
    struct instr_shared *sh = instr_region();
    const struct instr_attach_map *map = g_map_seen;
    if (!dropped || !sh || !map)
        return;
    uint64_t tasks = atomic_load(&map->lost.tasks), ops = atomic_load(&map->lost.ops);
    uint64_t ring = dropped > tasks + ops ? dropped - tasks - ops : 0;
    json_object_set_new(events, "dropped_reasons",
                        json_pack("{s:I, s:I, s:I}", "ring_full", (json_int_t)ring,
                                  "tasks_without_slot", (json_int_t)tasks, "ops_without_object",
                                  (json_int_t)ops));
    char why[256];
    snprintf(why, sizeof(why), "%s%s%s",
             ring ? "the conductor could not drain the rings fast enough (ring full); " : "",
             tasks ? "more tasks at once than the slots (255); " : "",
             ops ? "more objects than the table holds (65536)" : "");
    json_object_set_new(events, "dropped_why", json_string(why));
}

const char *exec_scenario_notice(void)
{
    return exec_stall_notice();
}

json_t *exec_scenario_cleanup_json(void)
{
    return exec_track_json(&g_track);
}

int exec_scenario_signal(int sig)
{
    if (g_track.pgid > 0)
        return kill(-g_track.pgid, sig) == 0 || errno != ESRCH;
    if (g_pid > 0)
        return kill(g_pid, sig) == 0 || errno != ESRCH;
    return 0;
}

/* ---- the program's process, between fork and exec ---- */

static void set_env_num(const char *key, unsigned long long v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%llu", v);
    setenv(key, buf, 1);
}

/* LD_PRELOAD=<existing>:<ours> (ours last, so sanitizer runtimes stay first). */
static void set_preload(const char *lib)
{
    const char *old = getenv("LD_PRELOAD");
    char buf[2 * PATH_MAX];
    if (old && *old)
        snprintf(buf, sizeof(buf), "%s:%s", old, lib);
    else
        snprintf(buf, sizeof(buf), "%s", lib);
    setenv("LD_PRELOAD", buf, 1);
}

static int int_cmp(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return x < y ? -1 : x > y;
}

/* Close every descriptor above 2 but the user's own (g_prog.keep), the region's and the
 * report pipe (close-on-exec: gone at exec). */
static void close_ours(int shm, int report)
{
    int keep[EXEC_KEEP_MAX + 3], n = 0;
    for (int i = 0; i < g_prog.nkeep; i++)
        keep[n++] = g_prog.keep[i];
    keep[n++] = shm;
    keep[n++] = report;
    qsort(keep, (size_t)n, sizeof(int), int_cmp);
    int from = 3;
    for (int i = 0; i < n; i++) {
        if (keep[i] < from)
            continue;
        if (keep[i] > from)
            syscall(SYS_close_range, (unsigned)from, (unsigned)keep[i] - 1, 0);
        from = keep[i] + 1;
    }
    syscall(SYS_close_range, (unsigned)from, ~0u, 0);
}

/* Headless: a process group of its own, in the terminal's foreground when ipcscope had it
 * (SIGTTOU blocked: a background group may not otherwise take the terminal). */
static pid_t own_group(void)
{
    setpgid(0, 0);
    if (g_tty >= 0) {
        sigset_t tt, old;
        sigemptyset(&tt);
        sigaddset(&tt, SIGTTOU);
        sigprocmask(SIG_BLOCK, &tt, &old);
        tcsetpgrp(g_tty, getpid());
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
    return getpgrp();
}

/* sh PROGRAM ARGS... for a script the kernel cannot exec itself. */
static void exec_with_shell(void)
{
    size_t n = 0;
    while (g_prog.argv[n])
        n++;
    char **argv = calloc(n + 2, sizeof(*argv));
    if (!argv)
        return;
    argv[0] = "sh";
    argv[1] = g_prog.path;
    for (size_t i = 1; i < n; i++)
        argv[i + 1] = g_prog.argv[i];
    execv("/bin/sh", argv);
    free(argv);
}

/* In the worker: its group (in the TUI made by the pty's session leader), the cgroup, the
 * environment, then exec. */
static int exec_child(void *arg)
{
    const struct exec_child *a = arg;
    struct child_report rep = {0};
    rep.pid = getpid();
    rep.pgid = g_prog.tui ? getpgrp() : own_group();
    atomic_store(&instr_region()->worker_pgid, rep.pgid);
    rep.join_err = exec_track_join(&g_track);

    int shm = -1;
    if (g_prog.preload[0]) {
        shm = fcntl(a->shm_fd, F_DUPFD, SHM_FD_FLOOR); /* no FD_CLOEXEC: it must survive */
        set_env_num(INSTR_ATTACH_ENV_FD, (unsigned long long)shm);
        set_env_num(INSTR_ATTACH_ENV_SIZE, instr_region()->size);
        set_env_num(INSTR_ATTACH_ENV_MAP, a->map_off);
        set_preload(g_prog.preload);
    }
    close_ours(shm, a->report_fd);
    if (write(a->report_fd, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
        return 126;

    execv(g_prog.path, g_prog.argv);
    if (errno == ENOEXEC) /* a script without "#!": the shell runs it, as execvp does */
        exec_with_shell();
    fprintf(stderr, "ipcscope exec: cannot run %s: %s\n", g_prog.path, strerror(errno));
    return 127;
}

/* ---- setup ---- */

/* A descriptor for the region's memory, close-on-exec; -errno on failure. */
static int region_fd(void)
{
    int fd = instr_region_fd();
    return fd < 0 ? -EBADF : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/* The controlling terminal, when ipcscope is in its foreground (the program takes it). */
static int foreground_tty(void)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0 && tcgetpgrp(fd) == getpgrp())
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static void reset_state(void)
{
    memset(&g_track, 0, sizeof(g_track));
    g_track.watch_fd = -1;
    g_pid = 0;
    g_spawned = 0;
    g_looked = 0;
    g_main_reaped = 0;
    g_prog_code = -1;
    g_prog_sig = 0;
    g_alive = 1;
    g_waiting = 1;
    g_outside_zombie_at = 0;
    g_join_err = 0;
    free(g_freed);
    g_freed = NULL;
    g_freed_cap = 0;
    free(g_ring_mapped);
    g_ring_mapped = NULL;
    memset(&g_geo, 0, sizeof(g_geo));
    exec_stall_reset(loop_now_ns());
    exec_crowd_reset(instr_region());
}

/* Start the program and wait for its report (sent just before it execs). */
static int start_program(struct exec_child *a, char *err, size_t n)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(err, n, "cannot make a pipe: %s", strerror(errno));
        return -errno;
    }
    a->report_fd = p[1];
    int sp[2] = {-1, -1};
    if (g_prog.tui && pipe2(sp, O_CLOEXEC | O_NONBLOCK) == 0)
        exec_pty_status_to(sp[1]);
    char base[PATH_MAX];
    snprintf(base, sizeof(base), "%s", g_prog.path);
    g_spawned = g_prog.tui
                    ? instr_spawn_led(basename(base), EXEC_PTY_LEADER, exec_pty_lead, exec_child, a)
                    : instr_spawn(basename(base), exec_child, a, INSTR_SPAWN_OWN_GROUP);
    close(p[1]);
    if (sp[1] >= 0)
        close(sp[1]);
    exec_pty_status_to(-1);
    g_status_fd = sp[0];
    int rc = 0;
    struct child_report rep;
    if (g_spawned < 0) {
        rc = g_spawned;
        g_spawned = 0;
        snprintf(err, n, "cannot start %s: %s", g_prog.path, strerror(-rc));
        close(p[0]);
        return rc;
    }
    g_pid = g_spawned;
    if (read(p[0], &rep, sizeof(rep)) == (ssize_t)sizeof(rep)) {
        if (rep.pid > 0) /* the leader's child in the TUI (written before the exec) */
            g_pid = rep.pid;
        g_track.pgid = rep.pgid;
        exec_track_main(&g_track, g_pid);
        g_join_err = rep.join_err;
    }
    close(p[0]);
    if (g_join_err && g_track.method == TRACK_CGROUP) { /* fall back, saying why */
        rmdir(g_track.cgroup);
        g_track.method = TRACK_GROUP;
        snprintf(g_track.why, sizeof(g_track.why), "cannot join the cgroup: %s",
                 strerror(-g_join_err));
    }
    return rc;
}

/* The object id of the entry keyed (addr, pid) in map, or EV_NO_OBJ. The program can write
 * the map: the probes are bounded and the id is checked, so the worst it gets is a wrong
 * name for one of its own tasks' waits. */
static uint32_t map_lookup(const struct instr_attach_map *map, uint64_t addr, int32_t pid)
{
    for (uint32_t i = instr_attach_hash(addr, pid), n = 0; n < EXEC_MAP_PROBES;
         i = (i + 1) & (INSTR_ATTACH_HASH - 1), n++) {
        const struct instr_attach_ent *e = &map->ent[i];
        uint64_t k = atomic_load_explicit(&e->addr, memory_order_acquire);
        if (!k)
            break;
        if (k != addr || atomic_load_explicit(&e->pid, memory_order_relaxed) != pid)
            continue;
        uint32_t id1 = atomic_load_explicit(&e->id1, memory_order_acquire);
        return id1 && id1 <= INSTR_MAX_OBJS ? id1 - 1 : EV_NO_OBJ;
    }
    return EV_NO_OBJ;
}

uint32_t exec_scenario_obj_at(int32_t pid, uint64_t addr)
{
    const struct instr_attach_map *map = g_map_seen;
    if (!map || !addr || pid <= 0)
        return EV_NO_OBJ;
    uint32_t id = map_lookup(map, addr, pid);
    return id != EV_NO_OBJ ? id : map_lookup(map, addr, 0); /* or process-shared */
}

static int setup(struct scn_ctx *ctx, char *err, size_t n)
{
    struct instr_shared *sh = instr_region();
    struct instr_attach_map *map = ctx->shared;
    map->magic = INSTR_ATTACH_MAGIC;
    reset_state();
    g_geo.max_tasks = sh->max_tasks; /* nothing of the program's has run yet */
    g_geo.rings_off = sh->rings_off;
    g_geo.ring_stride = sh->ring_stride;
    g_ring_mapped = calloc(g_geo.max_tasks ? g_geo.max_tasks : 1, sizeof(*g_ring_mapped));
    g_map_seen = map;
    prctl(PR_SET_CHILD_SUBREAPER, 0); /* orphans go where they would without ipcscope */
    exec_track_prepare(&g_track, ctx->cgroup);
    exec_track_watch(&g_track);

    struct exec_child a = {
        .shm_fd = -1, .report_fd = -1, .map_off = (size_t)((char *)map - (char *)sh)};
    int rc = 0;
    if (g_prog.preload[0] && (a.shm_fd = region_fd()) < 0) {
        rc = a.shm_fd;
        snprintf(err, n, "cannot hand the shared region to the program: %s", strerror(-rc));
        goto cleanup;
    }
    if (g_prog.tui && (rc = exec_pty_open(err, n)) < 0)
        goto cleanup;
    g_tty = g_prog.tui ? -1 : foreground_tty();
    rc = start_program(&a, err, n);
cleanup:
    if (a.shm_fd >= 0)
        close(a.shm_fd);
    return rc;
}

/* ---- while it runs ---- */

static void emit_reaped(const struct model_task *t, int64_t code, int64_t by)
{
    struct ev e = {.kind = EV_TASK_REAPED,
                   .src = EV_SRC_PROCFS,
                   .task = t->slot,
                   .pid = t->pid,
                   .tid = t->tid,
                   .obj = EV_NO_OBJ,
                   .val = code,
                   .aux = by};
    instr_emit_ev(&e);
}

/* Processes the conductor does not reap (orphans adopted by init, say) are reaped when /proc
 * no longer has them; a thread is reaped with its process. */
static void reap_the_gone(const struct model *m)
{
    pid_t me = getpid();
    for (size_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        if (t->state == TS_REAPED || t->pid <= 0 || t->pid == me)
            continue;
        if (t->pid != t->tid) { /* a thread: reaped with its process */
            uint32_t p = model_task_by_tid(m, t->pid);
            if (p != MODEL_NO_TASK && m->tasks[p].state == TS_REAPED)
                emit_reaped(t, m->tasks[p].exit_status, m->tasks[p].ppid);
            continue;
        }
        if (t->ppid == me || kill(t->pid, 0) == 0 || errno != ESRCH)
            continue; /* ours to reap (run.c does), or still there */
        emit_reaped(t, t->has_exit ? t->exit_status : -1, t->ppid);
    }
}

/* The state letter and parent of pid from /proc, or 0 when it is gone. */
static char proc_state(pid_t pid, pid_t *ppid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (got <= 0)
        return 0;
    buf[got] = '\0';
    const char *p = strrchr(buf, ')');
    char st = 0;
    if (!p || sscanf(p + 2, "%c %d", &st, ppid) != 2)
        return 0;
    return st;
}

/* Processes of the run still to be seen reaped: the conductor's own child is reaped by
 * run.c, an orphan by its adopter; an orphan that is a zombie of a parent outside the run is
 * waited for OUTSIDE_REAP_GRACE_NS (init may reap it only after the conductor has
 * looked: reap_the_gone then shows it reaped, as ps does); one still there after that (its
 * parent has not waited) is not waited for: it has exited and is shown a zombie. */
static int still_to_reap(const struct model *m, uint64_t now)
{
    int n = 0;
    pid_t me = getpid(), ppid = 0;
    for (size_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        if (t->pid <= 0 || t->pid != t->tid || t->pid == me || t->state == TS_REAPED)
            continue;
        char st = proc_state(t->pid, &ppid);
        if (st == 'Z' && ppid != me && model_task_by_tid(m, ppid) == MODEL_NO_TASK) {
            if (!g_outside_zombie_at)
                g_outside_zombie_at = now;
            if (now - g_outside_zombie_at < OUTSIDE_REAP_GRACE_NS)
                n++; /* its parent may be about to reap it */
            continue;
        }
        if (st && st != 'Z' && !exec_track_could_be_ours(&g_track, t->pid))
            continue; /* a live process the program named, not one it started */
        n++;
    }
    return n;
}

/* An orphan adopted since the last look (its parent has exited): the kernel's word for its
 * new parent, faster than the /proc sampler's round (which may miss a short life). */
static void see_adoptions(const struct model *m)
{
    pid_t ppid = 0;
    for (size_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        if (t->pid <= 0 || t->pid != t->tid || t->state == TS_REAPED || t->ppid <= 0)
            continue;
        uint32_t p = model_task_by_tid(m, t->ppid);
        if (p == MODEL_NO_TASK || !m->tasks[p].has_exit)
            continue; /* its parent is alive (or not ours to know about) */
        char st = proc_state(t->pid, &ppid);
        if (!st || ppid == t->ppid)
            continue;
        struct ev e = {.kind = EV_REPARENT,
                       .src = EV_SRC_PROCFS,
                       .task = t->slot,
                       .pid = t->pid,
                       .tid = t->tid,
                       .obj = EV_NO_OBJ,
                       .val = ppid,
                       .aux = t->ppid};
        instr_emit_ev(&e);
    }
}

/* Job control, headless in the foreground: when the program stops (Ctrl-Z), ipcscope takes
 * the terminal back and stops too, so the shell sees the job stopped; continued in the
 * foreground, it hands the terminal back and continues the program. */
static void follow_stop(void)
{
    pid_t ppid;
    if (proc_state(g_pid, &ppid) != 'T')
        return;
    sigset_t tt, old;
    sigemptyset(&tt);
    sigaddset(&tt, SIGTTOU);
    sigprocmask(SIG_BLOCK, &tt, &old);
    tcsetpgrp(g_tty, getpgrp());
    raise(SIGTSTP);                    /* returns on SIGCONT (fg or bg) */
    if (tcgetpgrp(g_tty) == getpgrp()) /* fg: the program gets the terminal again */
        tcsetpgrp(g_tty, g_track.pgid);
    sigprocmask(SIG_SETMASK, &old, NULL);
    kill(-g_track.pgid, SIGCONT);
}

/* The ring of slot (below g_geo.max_tasks), where the conductor put it. */
static struct ring *ring_of(uint32_t slot)
{
    return (struct ring *)((char *)instr_region() + g_geo.rings_off +
                           (size_t)slot * g_geo.ring_stride);
}

/* Take the map's lock, which the program's processes also take (and a hostile one may
 * never let go of): 0, or -1 after LOCK_TRIES tries (the caller tries again next poll). */
static int map_lock(struct instr_attach_map *map)
{
    for (int i = 0; i < LOCK_TRIES; i++)
        if (!atomic_exchange(&map->lock, 1))
            return 0;
    return -1;
}

/* Hand slot s back to the program through the map's free list. 0, or -1 when it is full or
 * its lock is not to be had (nfree is the program's to write: read once, bounded). */
static int give_back(struct instr_attach_map *map, uint32_t s)
{
    if (map_lock(map) < 0)
        return -1;
    uint32_t nfree = *(volatile uint32_t *)&map->nfree;
    int rc = -1;
    if (nfree < INSTR_ATTACH_SLOTS) {
        map->free_slots[nfree] = s;
        *(volatile uint32_t *)&map->nfree = nfree + 1;
        rc = 0;
    }
    atomic_store(&map->lock, 0);
    return rc;
}

/* Hand the slots of ended tasks back to the program for new ones: a thread that has
 * exited, a process that has been reaped, once every record of theirs has been applied
 * (the poll runs after the drain: an empty ring is an applied one). */
static void recycle_slots(struct scn_ctx *ctx, const struct model *m)
{
    struct instr_shared *sh = instr_region();
    struct instr_attach_map *map = ctx->shared;
    uint32_t n = atomic_load(&sh->ntasks);
    if (n < g_geo.max_tasks * 3 / 4)
        return; /* plenty of fresh ones: keep every task's slot (and name) as it is */
    if (g_freed_cap < m->ntasks) {
        size_t cap = m->ntasks * 2;
        uint8_t *p = realloc(g_freed, cap);
        if (!p)
            return;
        memset(p + g_freed_cap, 0, cap - g_freed_cap);
        g_freed = p;
        g_freed_cap = cap;
    }
    for (size_t i = 0; i < m->ntasks; i++) {
        const struct model_task *t = &m->tasks[i];
        uint32_t s = t->slot;
        if (s == EV_NO_TASK || s == 0 || s >= g_geo.max_tasks || g_freed[i])
            continue;
        int ended = t->kind == TK_THREAD ? t->state == TS_EXITED || t->state == TS_REAPED
                                         : t->state == TS_REAPED;
        if (!ended || ring_pending(ring_of(s)) != 0)
            continue;
        if (give_back(map, s) < 0)
            return; /* full, or the lock is held: the next poll tries again */
        g_freed[i] = 1;
    }
}

/* The conductor reads every ring it drains: map the pages of a task's ring into the conductor
 * ahead of its reads (one madvise a poll), not a page fault at a time (20 us each in a VM)
 * while a busy task fills it. Only what the task has written and RING_MAP_AHEAD records more:
 * a read maps in (allocates) memory the task may never use. The ring's header is the
 * program's to write: its head only says how far to go, never beyond the slot's own ring,
 * and the count of rings stops at g_geo.max_tasks. */
#define RING_MAP_AHEAD 1024

static void map_new_rings(void)
{
    uint32_t n = atomic_load(&instr_region()->ntasks);
    if (n > g_geo.max_tasks)
        n = g_geo.max_tasks;
    if (!g_ring_mapped)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    size_t recs = (g_geo.ring_stride - offsetof(struct ring, recs)) / sizeof(struct ev);
    for (uint32_t s = 0; s < n; s++) {
        struct ring *r = ring_of(s);
        size_t done = g_ring_mapped[s];
        if (done >= g_geo.ring_stride)
            continue;
        uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
        size_t want = g_geo.ring_stride;
        if (head < recs && head + RING_MAP_AHEAD < recs)
            want =
                offsetof(struct ring, recs) + (size_t)(head + RING_MAP_AHEAD) * sizeof(struct ev);
        if (want <= done)
            continue;
        /* rings need not start on a page: madvise wants whole pages (else EINVAL) */
        uintptr_t from = ((uintptr_t)r + done) & ~(page - 1);
        uintptr_t to = ((uintptr_t)r + want + page - 1) & ~(page - 1);
        madvise((void *)from, to - from, MADV_POPULATE_READ);
        g_ring_mapped[s] = want;
    }
}

static void poll_program(struct scn_ctx *ctx, const struct model *m)
{
    (void)ctx;
    g_model = m;
    map_new_rings();
    if (g_prog.tui)
        exec_pty_pump();
    uint64_t now = loop_now_ns();
    if (g_pid && !g_main_reaped)
        exec_crowd_look(instr_region(), g_geo.max_tasks, now);
    if (!g_pid || now - g_looked < LOOK_EVERY_NS)
        return;
    g_looked = now;
    exec_stall_look(m, now, !g_prog.tui);
    const struct model_task *t = main_task(m);
    /* the conductor's waitpid decides, not only the model: the program writes the task slots
     * a reap is matched with, and may have written nonsense there */
    g_main_reaped = (t && t->state == TS_REAPED) || g_prog_code >= 0;
    see_adoptions(m);
    reap_the_gone(m);
    recycle_slots(ctx, m);
    if (g_tty >= 0 && !g_main_reaped)
        follow_stop();
    if (g_main_reaped) {
        g_alive = exec_track_alive(&g_track, m);
        g_waiting = g_alive ? 1 : still_to_reap(m, now);
    }
}

/* The conductor collected its child: the program's status when it is the program, or the
 * pty's session leader (which exits with the program's status once it has reaped it). */
static void reaped(struct scn_ctx *ctx, pid_t pid, int status)
{
    (void)ctx;
    if (pid == g_spawned && g_spawned > 0) {
        int st; /* the program's own, from the pty leader that reaped it */
        if (g_status_fd >= 0 && g_pid != g_spawned &&
            read(g_status_fd, &st, sizeof(st)) == (ssize_t)sizeof(st))
            status = st;
        g_prog_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        g_prog_sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        g_looked = 0; /* whether the run is over: at the next poll, not up to 50 ms later */
    }
}

/* Over when the program has been reaped, nothing it started still runs, and every process
 * it had is seen reaped (or is a zombie of someone outside the run). */
static int finished(struct scn_ctx *ctx, const struct model *m)
{
    (void)ctx;
    (void)m;
    return g_pid > 0 && g_main_reaped && g_alive == 0 && g_waiting == 0;
}

static void teardown(struct scn_ctx *ctx)
{
    (void)ctx;
    exec_track_cleanup(&g_track, g_model);
    g_model = NULL;
    if (g_tty >= 0) { /* the terminal back to ipcscope's group */
        sigset_t tt, old;
        sigemptyset(&tt);
        sigaddset(&tt, SIGTTOU);
        sigprocmask(SIG_BLOCK, &tt, &old);
        tcsetpgrp(g_tty, getpgrp());
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(g_tty);
        g_tty = -1;
    }
    if (g_prog.tui)
        exec_pty_close();
    if (g_status_fd >= 0)
        close(g_status_fd);
    g_status_fd = -1;
}

static int narrate(const struct scn_ctx *ctx, const struct model *m, const struct ev *e, int lang,
                   char *buf, size_t n)
{
    (void)ctx;
    return exec_pty_narrate(m, e, lang, buf, n);
}

/* ---- the snapshot: the program, how it ended, how its processes were followed ---- */

static json_t *exit_json(const struct model *m)
{
    json_t *o = json_pack("{s:i}", "pid", (int)g_pid);
    const struct model_task *t = main_task(m);
    json_object_set_new(o, "state", json_string(t ? task_state_name(t->state) : "never started"));
    int st = exec_scenario_status(m);
    json_object_set_new(o, "status", st >= 0 ? json_integer(st) : json_null());
    return o;
}

/* A System V object that still exists (its id answers IPC_STAT). */
static int sysv_exists(const struct instr_obj *o, const struct instr_attach_objx *x)
{
    if (o->kind == OK_SEMAPHORE) {
        struct semid_ds ds;
        union {
            int val;
            struct semid_ds *buf;
        } arg = {.buf = &ds};
        return x->ipc_index == 0 && semctl(x->ipc_id, 0, IPC_STAT, arg) == 0;
    }
    if (o->kind == OK_SHM) {
        struct shmid_ds ds;
        return shmctl(x->ipc_id, IPC_STAT, &ds) == 0;
    }
    struct msqid_ds ds;
    return msgctl(x->ipc_id, IPC_STAT, &ds) == 0;
}

/* The program's own IPC objects that outlive it (not ipcscope's leaks): POSIX names still
 * under /dev/shm (a named semaphore as sem.NAME) or /dev/mqueue, System V ids still answering.
 * Every field is the program's to write: each is read once, the name copied and NUL-terminated, and
 * a name that would lead out of /dev/shm or /dev/mqueue is never looked up. */
static json_t *leftovers_json(struct scn_ctx *ctx)
{
    json_t *left = json_array();
    struct instr_shared *sh = instr_region();
    const struct instr_attach_map *map = ctx->shared;
    uint32_t n = sh ? atomic_load(&sh->nobjs) : 0;
    for (uint32_t i = 0; i < n && i < INSTR_MAX_OBJS; i++) {
        struct instr_obj o = sh->objs[i];
        struct instr_attach_objx x = map->x[i];
        o.name[INSTR_NAME_MAX - 1] = '\0';
        const char *kind = obj_kind_name(o.kind);
        if (!kind || (x.flags & INSTR_OBJX_UNLINKED))
            continue;
        char path[INSTR_NAME_MAX + 16];
        snprintf(path, sizeof(path), "/dev/%s/%s%s", o.kind == OK_MQ ? "mqueue" : "shm",
                 o.kind == OK_SEMAPHORE ? "sem." : "", o.name);
        if ((x.flags & INSTR_OBJX_PATH) && o.name[0] && !strchr(o.name, '/') &&
            strcmp(o.name, "..") != 0 && access(path, F_OK) == 0)
            json_array_append_new(
                left, json_pack("{s:s, s:s, s:s}", "kind", kind, "name", o.name, "path", path));
        else if ((x.flags & INSTR_OBJX_SYSV) && sysv_exists(&o, &x))
            json_array_append_new(left, json_pack("{s:s, s:s, s:i}", "kind", kind, "name", o.name,
                                                  "id", (int)x.ipc_id));
    }
    return left;
}

static void snapshot(struct scn_ctx *ctx, const struct model *m, json_t *out)
{
    (void)ctx;
    json_t *argv = json_array();
    for (char *const *a = g_prog.argv; a && *a; a++)
        json_array_append_new(argv, exec_pty_json_string(*a, strlen(*a)));
    json_object_set_new(out, "program",
                        json_pack("{s:s, s:o, s:b, s:s}", "path", g_prog.path, "argv", argv,
                                  "instrumented", g_prog.preload[0] != 0, "terminal",
                                  g_prog.tui ? "pty" : "inherited"));
    json_object_set_new(out, "program_exit", exit_json(m));
    json_object_set_new(out, "cleanup", exec_track_json(&g_track));
    json_object_set_new(out, "program_leftovers", leftovers_json(ctx));
    json_object_set_new(out, "stalls", exec_stall_json());
    json_object_set_new(out, "waiting", exec_crowd_json(instr_region()));
    if (g_prog.tui)
        json_object_set_new(out, "program_output", exec_pty_output_json());
}

const struct scenario scenario_exec = {
    .id = "exec",
    .chapter = 0,
    .title_en = "Your program",
    .title_zh = "你的程序",
    .summary_en = "Your own program, unmodified, under ipcscope: its processes and threads, and "
                  "the semaphores, locks, condition variables, pipes, queues, shared memory and "
                  "sockets it uses, appear as it runs. Objects are named after your variables "
                  "when the program has symbols, else in order of first use (sem@1, mutex@1...). "
                  "Its output is in the Output panel; type there to answer it.",
    .summary_zh = "在 ipcscope 下运行你自己的、未经修改的程序:它的进程和线程,以及它使用的信号量、"
                  "锁、条件变量、管道、队列、共享内存和套接字,都会在运行时显示出来。程序带符号时"
                  "对象以你的变量命名,否则按首次使用的顺序命名(sem@1、mutex@1……)。程序的输出在"
                  "“输出”面板里;在那里输入即可回答它。",
    .shared_size = sizeof(struct instr_attach_map),
    .max_tasks = max_tasks,
    .setup = setup,
    .finished = finished,
    .teardown = teardown,
    .snapshot = snapshot,
    .poll = poll_program,
    .reaped = reaped,
    .narrate = narrate,
    .wait_descendants = 1,
};
