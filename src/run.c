/*
 * run.c - the conductor's side of one scenario run.
 *
 * Lifecycle: run_open makes the shared region and the model; run_start opens the sources,
 * runs the scenario's setup (which forks the workers) and hooks timers into the loop;
 * run_poll drains, reaps and serves the step gate; run_stop kills what is left, drains the
 * last events, checks the lesson's invariants and counts leaks. Workers die with the
 * conductor even on SIGKILL (death signal, one process group), and the conductor is a
 * child subreaper so orphans come back to it.
 */
#define _GNU_SOURCE
#include "run.h"

#include "replay.h"

#include "snapshot.h"
#include "sources/bpf.h"
#include "sources/procfs.h"
#include "sources/sockdiag.h"
#include "trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define POLL_NS (2 * 1000 * 1000ull)         /* while events flow */
#define REPLAY_TICK_NS (10 * 1000 * 1000ull) /* a replay's playback clock, while playing */
#define POLL_MAX_NS (20 * 1000 * 1000ull)    /* ... at most, however many tasks there are */
#define POLL_IDLE_NS (100 * 1000 * 1000ull)  /* when nothing happened for a while */
#define IDLE_AFTER 25                        /* quiet polls before slowing down */
#define PROC_NS (100 * 1000 * 1000ull)       /* /proc sampling while events flow */
#define PROC_IDLE_NS (500 * 1000 * 1000ull)  /* and when the run is quiet */
#define SETTLE_TIMEOUT_NS (60 * 1000 * 1000ull)
#define STEP_GIVE_UP_NS (1500 * 1000 * 1000ull)
#define BATCH_MAX 65536     /* initial size of the drain buffers */
#define PEND_MAX (8u << 20) /* records held between draining and applying (512 MiB) */

static volatile sig_atomic_t g_worker_pgid;
static struct run *g_track_run; /* the run whose bpf source follows new workers */

static size_t pump(struct run *r);

/* Called in the conductor after each fork of a worker. Workers started first already run
 * while the scenario's setup forks the rest (slow under a sanitizer), so their rings are
 * emptied here too. */
static void track_new_worker(pid_t pid)
{
    struct run *r = g_track_run;
    if (!r || getpid() != r->ctx.conductor)
        return;
    if (r->bpf)
        bpf_source_track(r->bpf, pid);
    pump(r);
}
static struct procfs_cache g_proc_cache;

/* ---- open / start ---- */

static void drop_to_sudo_user(struct instr_shared *sh)
{
    const char *uid = getenv("SUDO_UID"), *gid = getenv("SUDO_GID");
    if (geteuid() != 0 || !uid || !gid)
        return;
    sh->drop_uid = (uint32_t)strtoul(uid, NULL, 10);
    sh->drop_gid = (uint32_t)strtoul(gid, NULL, 10);
}

/* Records per ring: enough for the longest time the conductor may look away (a fork under a
 * sanitizer has taken 30 ms while a busy worker wrote half a million records a second),
 * within RING_BUDGET bytes over all rings. Pages of a ring are only used once written. */
#define RING_BUDGET (512ull << 20)

static uint32_t ring_cap_for(uint32_t tasks)
{
    uint64_t per = RING_BUDGET / sizeof(struct ev) / (tasks ? tasks : 1);
    uint32_t cap = 1024;
    while ((uint64_t)cap * 2 <= per && cap < 65536)
        cap *= 2;
    return cap;
}

/* The conductor drains every worker's ring. With dozens of busy workers on two cores a
 * fair share of the CPU is not enough to keep up, and a ring that fills drops records, so
 * the conductor runs CONDUCTOR_BOOST nice levels above the workers when it may (root or
 * CAP_SYS_NICE); workers go back to the nice value ipcscope was started with. */
enum { CONDUCTOR_BOOST = 10 };

static void boost_conductor(struct instr_shared *sh)
{
    errno = 0;
    int nice0 = getpriority(PRIO_PROCESS, 0);
    if (nice0 == -1 && errno)
        nice0 = 0;
    sh->worker_nice = nice0;
    int want = nice0 - CONDUCTOR_BOOST < -20 ? -20 : nice0 - CONDUCTOR_BOOST;
    (void)setpriority(PRIO_PROCESS, 0, want); /* without the privilege: a fair share */
}

/* Remove ipcscope-PID-* names whose conductor is gone (a crash between open and unlink). */
static void sweep_stale_names(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        int pid;
        if (sscanf(de->d_name, "ipcscope-%d-", &pid) != 1 || pid <= 0)
            continue;
        if (kill(pid, 0) == 0 || errno == EPERM)
            continue;
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
}

int run_open(struct run **out, const struct scenario *sc, const long *params,
             const struct run_opts *opts, char *err, size_t n)
{
    struct run *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    sweep_stale_names("/dev/mqueue");
    sweep_stale_names("/dev/shm");
    r->sc = sc;
    r->opts = *opts;
    r->ctx.sc = sc;
    r->ctx.lang = opts->lang;
    r->ctx.conductor = getpid();
    r->step_pick = -1;
    r->poll_timer = r->proc_timer = r->pace_timer = -1;
    r->delay_ms = opts->delay_ms;
    scenario_defaults(sc, r->ctx.param);
    if (params)
        memcpy(r->ctx.param, params, sizeof(long) * sc->nparams);

    uint32_t tasks = (sc->max_tasks ? sc->max_tasks(&r->ctx) : 64) + 1;
    int rc = instr_region_create(&r->sh, tasks, ring_cap_for(tasks), sc->shared_size + (16u << 20));
    if (rc < 0) {
        snprintf(err, n, "cannot make the shared region: %s", strerror(-rc));
        goto fail;
    }
    r->ctx.shared = instr_shared_alloc(sc->shared_size ? sc->shared_size : 1);
    r->batch_cap = r->pend_cap = BATCH_MAX;
    r->batch = calloc(r->batch_cap, sizeof(*r->batch));
    r->pend = calloc(r->pend_cap, sizeof(*r->pend));
    if (!r->batch || !r->pend || model_init(&r->model, 8192, 1u << 18) < 0) {
        snprintf(err, n, "out of memory");
        goto fail;
    }
    drop_to_sudo_user(r->sh);
    boost_conductor(r->sh);
    instr_task_begin("ipcscope", TK_PROCESS);
    *out = r;
    return 0;
fail:
    run_close(r);
    return -1;
}

/* ---- the guard ----
 * PR_SET_PDEATHSIG kills the conductor's direct children when it dies, but not what they
 * started (the children of a program under `ipcscope exec`, say). The guard is a tiny child
 * in a session of its own, holding the read end of a pipe whose only writer is the
 * conductor: when the conductor dies, however it dies, the pipe reads end-of-file and the
 * guard kills the whole worker process group. A clean stop tells it there is nothing to do
 * and reaps it like any child. */
static void guard_loop(struct instr_shared *sh, int rfd)
{
    prctl(PR_SET_NAME, "ipcscope-guard");
    if (dup2(rfd, 3) == 3)
        rfd = 3;
    syscall(SYS_close_range, 4, ~0u, 0);
    char c;
    while (read(rfd, &c, 1) < 0 && errno == EINTR)
        ;
    pid_t pgid = atomic_load(&sh->worker_pgid);
    if (!atomic_load(&sh->guard_off) && pgid > 0)
        kill(-pgid, SIGKILL);
    _exit(0);
}

static void start_guard(struct run *r)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return; /* no guard: the death signals still cover the direct workers */
    pid_t pid = fork();
    if (pid == 0) {
        setsid(); /* away from the terminal's Ctrl-C */
        close(p[1]);
        guard_loop(r->sh, p[0]);
    }
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        return;
    }
    r->guard_pid = pid;
    r->sh->guard_fd = p[1];
}

static void stop_guard(struct run *r)
{
    if (r->sh->guard_fd < 0)
        return;
    atomic_store(&r->sh->guard_off, 1);
    close(r->sh->guard_fd);
    r->sh->guard_fd = -1;
}

/* 1 when the conductor has no child left but the guard (from /proc: the guard is alive for
 * the whole run, so waitpid alone would never say "no child"). */
static int only_guard_left(const struct run *r)
{
    char path[64], buf[4096];
    snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)gettid());
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *save = NULL;
    for (char *tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
        if (atoi(tok) != r->guard_pid)
            return 0;
    return 1;
}

static json_t *params_json(const struct run *r)
{
    json_t *p = json_object();
    for (size_t i = 0; i < r->sc->nparams; i++)
        json_object_set_new(p, r->sc->params[i].key, json_integer(r->ctx.param[i]));
    return p;
}

static void poll_timer_cb(struct loop *lp, int id, void *arg)
{
    (void)lp;
    (void)id;
    run_poll(arg);
}

static void proc_timer_cb(struct loop *lp, int id, void *arg);
static void arm_pace(struct run *r);
static void adapt_poll_rate(struct run *r, size_t got);
static void pace_timer_cb(struct loop *lp, int id, void *arg);
static void bpf_ready_cb(struct loop *lp, int fd, uint32_t events, void *arg);

static void open_sources(struct run *r)
{
    r->procfs_on = 1;
    if (r->opts.no_bpf) {
        snprintf(r->bpf_reason, sizeof(r->bpf_reason), "turned off (--no-bpf)");
        return;
    }
    if (bpf_source_open(&r->bpf, r->bpf_reason, sizeof(r->bpf_reason)) < 0)
        r->bpf = NULL;
}

static int add_timers(struct run *r, struct loop *lp)
{
    r->loop = lp;
    r->poll_fast_ns = POLL_NS;
    r->poll_timer = loop_add_timer(lp, POLL_NS, poll_timer_cb, r);
    r->proc_timer = loop_add_timer(lp, PROC_NS, proc_timer_cb, r);
    r->pace_timer = loop_add_timer(lp, 0, pace_timer_cb, r);
    if (r->poll_timer < 0 || r->proc_timer < 0 || r->pace_timer < 0)
        return -1;
    if (r->bpf)
        loop_add_fd(lp, bpf_source_fd(r->bpf), EPOLLIN, bpf_ready_cb, r);
    return 0;
}

static int replay_start(struct run *r, struct loop *lp, char *err, size_t n);

int run_start(struct run *r, struct loop *lp, char *err, size_t n)
{
    if (r->replay)
        return replay_start(r, lp, err, n);
    if (r->opts.record) {
        json_t *p = params_json(r);
        r->trace = trace_create(r->opts.record, r->sc->id, p, err, n);
        json_decref(p);
        if (!r->trace)
            return -1;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    start_guard(r);
    open_sources(r);
    r->t_start_ns = loop_now_ns();
    r->sh->t0 = r->t_start_ns;
    run_set_mode(r, r->opts.step ? RUN_STEP : RUN_RUN);

    g_track_run = r;
    instr_spawn_hook = track_new_worker;
    int rc = r->sc->setup(&r->ctx, err, n);
    r->started = 1;
    g_worker_pgid = atomic_load(&r->sh->worker_pgid);
    if (rc < 0) {
        run_stop(r);
        return -1;
    }
    if (add_timers(r, lp) < 0) {
        snprintf(err, n, "cannot create timers");
        run_stop(r);
        return -1;
    }
    arm_pace(r);
    return 0;
}

/* ---- draining ---- */

static const char *task_name_of(const struct run *r, const struct ev *e)
{
    if (e->task != EV_NO_TASK && e->task < r->sh->max_tasks)
        return r->sh->tasks[e->task].name;
    uint32_t idx = model_task_by_tid(&r->model, e->tid);
    return idx != MODEL_NO_TASK ? r->model.tasks[idx].name : NULL;
}

static const char *obj_name_of(const struct run *r, const struct ev *e)
{
    if (e->obj < INSTR_MAX_OBJS)
        return r->sh->objs[e->obj].name;
    if (e->obj < r->model.nobjs)
        return r->model.objs[e->obj].name;
    return NULL;
}

/* A kernel TCP state change names a socket by cookie and ports; find the scenario's socket
 * object it belongs to (first by cookie, then by ports, binding the cookie). */
static int resolve_socket(struct run *r, struct ev *e)
{
    uint16_t sport = (uint16_t)((uint64_t)e->aux >> 48), dport = (uint16_t)((uint64_t)e->aux >> 32);
    uint32_t nobjs = atomic_load(&r->sh->nobjs);
    struct instr_obj *match = NULL;
    for (uint32_t i = 0; i < nobjs && i < INSTR_MAX_OBJS && !match; i++) {
        struct instr_obj *o = &r->sh->objs[i];
        if (o->kind == OK_SOCKET && o->u.sock.cookie && o->u.sock.cookie == (uint64_t)e->extra)
            match = o;
    }
    for (uint32_t i = 0; i < nobjs && i < INSTR_MAX_OBJS && !match; i++) {
        struct instr_obj *o = &r->sh->objs[i];
        if (o->kind != OK_SOCKET || o->u.sock.cookie || !o->u.sock.lport)
            continue;
        if (o->u.sock.lport == sport && (!o->u.sock.rport || o->u.sock.rport == dport)) {
            o->u.sock.cookie = (uint64_t)e->extra;
            match = o;
        }
    }
    if (!match)
        return 0;
    e->obj = match->id;
    e->seq = atomic_fetch_add(&match->seq, 1);
    match->u.sock.state = (int32_t)e->val;
    return 1;
}

static void apply(struct run *r, struct ev *e)
{
    if (e->kind == EV_TCP_STATE && e->obj == EV_NO_OBJ)
        resolve_socket(r, e);
    const char *tn = task_name_of(r, e);
    const char *on = e->obj != EV_NO_OBJ ? obj_name_of(r, e) : NULL;
    model_apply(&r->model, e, tn, on);
    if (r->trace)
        trace_write_event(r->trace, e, r->t_start_ns, task_name_of(r, e), on);
    /* follow new worker processes in the kernel probes */
    if (r->bpf && e->kind == EV_TASK_START && e->item == TK_PROCESS && e->task != 0)
        bpf_source_track(r->bpf, e->pid);
}

static int cmp_ev(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* Make room for want more pending records (the buffer grows up to PEND_MAX). Returns the
 * room there is, possibly less than want, 0 when full. */
static size_t pend_room(struct run *r, size_t want)
{
    if (r->npend + want > r->pend_cap && r->pend_cap < PEND_MAX) {
        size_t ncap = r->pend_cap * 2;
        while (ncap < r->npend + want && ncap < PEND_MAX)
            ncap *= 2;
        if (ncap > PEND_MAX)
            ncap = PEND_MAX;
        struct ev *p = realloc(r->pend, ncap * sizeof(*p));
        if (p) {
            r->pend = p;
            r->pend_cap = ncap;
        }
    }
    return r->pend_cap - r->npend;
}

static void pend_bpf(const struct ev *e, void *arg)
{
    struct run *r = arg;
    if (pend_room(r, 1))
        r->pend[r->npend++] = *e;
    else
        r->pend_lost++;
}

/* Copy whatever the rings (and the bpf ring) hold into the pending buffer. Copying is cheap,
 * so calling this often keeps the rings from filling while the model and the trace catch up.
 * Returns the records taken. */
static size_t pump(struct run *r)
{
    size_t total = 0;
    uint64_t dropped = r->pend_lost;
    uint32_t ntasks = atomic_load(&r->sh->ntasks);
    if (ntasks > r->sh->max_tasks)
        ntasks = r->sh->max_tasks;
    for (uint32_t s = 0; s < ntasks; s++) {
        struct ring *ring = instr_ring(r->sh, s);
        if (s + 1 < ntasks) /* rings are a page apart or more: start the next miss early */
            __builtin_prefetch(&instr_ring(r->sh, s + 1)->head);
        size_t room, got;
        do {
            room = pend_room(r, 4096);
            got = ring_pop(ring, r->pend + r->npend, room);
            for (size_t i = r->npend; i < r->npend + got; i++)
                instr_clock_convert(r->sh, &r->pend[i]);
            r->npend += got;
            total += got;
        } while (room && got == room);
        dropped += ring_dropped(ring);
    }
    if (r->bpf) {
        size_t before = r->npend;
        bpf_source_drain(r->bpf, pend_bpf, r);
        total += r->npend - before;
        dropped += bpf_source_lost(r->bpf);
    }
    r->model.dropped = dropped;
    return total;
}

/* Move every pending record into the model and the trace, in time order within each batch
 * (per-object order is kept by seq, see model.c). Returns the records applied. */
static size_t drain(struct run *r)
{
    instr_clock_refine(r->sh);
    size_t total = pump(r);
    while (r->npend) {
        struct ev *work = r->pend;
        size_t n = r->npend, cap = r->pend_cap;
        r->pend = r->batch;
        r->pend_cap = r->batch_cap;
        r->npend = 0;
        r->batch = work;
        r->batch_cap = cap;

        qsort(r->batch, n, sizeof(*r->batch), cmp_ev);
        for (size_t i = 0; i < n; i++) {
            apply(r, &r->batch[i]);
            if ((i & 1023) == 1023) /* keep the rings from filling meanwhile */
                total += pump(r);
        }
    }
    return total;
}

static void bpf_ready_cb(struct loop *lp, int fd, uint32_t events, void *arg)
{
    (void)lp;
    (void)fd;
    (void)events;
    drain(arg);
}

/* ---- reaping ---- */

static void emit_reaped(struct run *r, pid_t pid, int status)
{
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    uint32_t ntasks = atomic_load(&r->sh->ntasks);
    for (uint32_t s = 1; s < ntasks && s < r->sh->max_tasks; s++) {
        struct instr_task *t = &r->sh->tasks[s];
        if (t->pid != pid)
            continue;
        struct ev e = {.t = loop_now_ns(),
                       .kind = EV_TASK_REAPED,
                       .src = EV_SRC_INSTR,
                       .task = s,
                       .pid = t->pid,
                       .tid = t->tid,
                       .obj = EV_NO_OBJ,
                       .val = code,
                       .aux = getpid()};
        apply(r, &e); /* straight into the model: a thousand reaped threads must not
                         overflow the conductor's own ring */
    }
}

/* Collect every child that has ended. Returns 1 when no child is left at all. */
static int reap(struct run *r, int block)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, (block ? 0 : WNOHANG) | __WALL);
        if (pid > 0) {
            drain(r); /* its last records (task_exit) come before its reap */
            emit_reaped(r, pid, status);
            continue;
        }
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid == 0 && r->guard_pid > 0)
            return only_guard_left(r);
        return pid < 0 && errno == ECHILD;
    }
}

/* ---- the gate ---- */

static void wake_slot(struct instr_task *t)
{
    syscall(SYS_futex, (uint32_t *)&t->gate, FUTEX_WAKE, 1, NULL, NULL, 0);
}

size_t run_gate_waiters(const struct run *r, int *slots, size_t n)
{
    size_t count = 0;
    if (!r->sh)
        return 0; /* a replay: nobody waits */
    uint32_t ntasks = atomic_load(&r->sh->ntasks);
    int tmp[1024];
    for (uint32_t s = 1; s < ntasks && s < r->sh->max_tasks && count < 1024; s++)
        if (atomic_load(&r->sh->tasks[s].gate) == GS_WAITING)
            tmp[count++] = (int)s;
    /* oldest first: by the grant count at arrival, then by slot */
    for (size_t i = 1; i < count; i++) {
        int v = tmp[i];
        uint64_t tv = atomic_load(&r->sh->tasks[v].gate_ticket);
        size_t j = i;
        while (j > 0 && atomic_load(&r->sh->tasks[tmp[j - 1]].gate_ticket) > tv)
            tmp[j] = tmp[j - 1], j--;
        tmp[j] = v;
    }
    for (size_t i = 0; i < count && i < n; i++)
        slots[i] = tmp[i];
    return count;
}

/* Every live task is either waiting at the gate or asleep in the kernel. */
static int settled(const struct run *r)
{
    uint32_t ntasks = atomic_load(&r->sh->ntasks);
    for (uint32_t s = 1; s < ntasks && s < r->sh->max_tasks; s++) {
        struct instr_task *t = &r->sh->tasks[s];
        if (atomic_load(&t->exited) || atomic_load(&t->gate) == GS_WAITING)
            continue;
        struct procfs_stat st;
        if (procfs_read_stat(t->pid, t->tid, &st) < 0)
            continue;
        if (st.state == 'R')
            return 0;
    }
    return 1;
}

static void grant(struct run *r, int slot)
{
    struct instr_task *t = &r->sh->tasks[slot];
    uint32_t expect = GS_WAITING;
    if (!atomic_compare_exchange_strong(&t->gate, &expect, GS_GRANTED))
        return;
    atomic_fetch_add(&r->sh->gate_grants, 1);
    r->steps++;
    wake_slot(t);
}

static void serve_gate(struct run *r)
{
    if (!r->step_pending)
        return;
    uint64_t waited = loop_now_ns() - r->step_asked_ns;
    if (waited < SETTLE_TIMEOUT_NS && !settled(r))
        return;

    int slots[256];
    size_t n = run_gate_waiters(r, slots, 256);
    if (n == 0) {
        if (waited > STEP_GIVE_UP_NS) {
            r->step_pending = 0;
            snprintf(r->status, sizeof(r->status),
                     "nothing can move: no task is waiting at the gate (all blocked or ended)");
        }
        return;
    }
    int pick = slots[0];
    for (size_t i = 0; i < n && i < 256; i++)
        if (slots[i] == r->step_pick)
            pick = slots[i];
    if (r->step_pick >= 0 && pick != r->step_pick)
        snprintf(r->status, sizeof(r->status), "%s is not at the gate; moved %s instead",
                 r->sh->tasks[r->step_pick].name, r->sh->tasks[pick].name);
    grant(r, pick);
    r->step_pending = 0;
    r->step_pick = -1;
}

static void replay_to(struct run *r, size_t pos);
static long replay_advance(struct run *r, long steps);

void run_step(struct run *r, int slot)
{
    if (r->replay) {
        run_replay_jump(r, 1);
        return;
    }
    if (r->mode == RUN_RUN && r->delay_ms == 0)
        run_set_mode(r, RUN_STEP);
    r->step_pending = 1;
    r->step_pick = slot;
    r->step_asked_ns = loop_now_ns();
    r->status[0] = '\0';
    adapt_poll_rate(r, 1);
}

static void release_all(struct run *r)
{
    atomic_store(&r->sh->gate_hold, 0);
    uint32_t ntasks = atomic_load(&r->sh->ntasks);
    for (uint32_t s = 1; s < ntasks && s < r->sh->max_tasks; s++) {
        /* change the futex word itself, so a worker between its check and its futex_wait
         * cannot miss this release */
        uint32_t expect = GS_WAITING;
        if (atomic_compare_exchange_strong(&r->sh->tasks[s].gate, &expect, GS_GRANTED))
            wake_slot(&r->sh->tasks[s]);
    }
}

static void arm_pace(struct run *r)
{
    if (!r->loop || r->pace_timer < 0)
        return;
    uint64_t period = r->mode == RUN_RUN ? (uint64_t)r->delay_ms * 1000000ull : 0;
    loop_set_timer(r->loop, r->pace_timer, period);
}

void run_set_mode(struct run *r, enum run_mode mode)
{
    r->mode = mode;
    if (r->replay) { /* playing resumes from where the view stands */
        r->play_wall0 = loop_now_ns();
        r->play_trace0 = r->replay_now;
        r->step_pending = 0;
        if (r->loop && r->poll_timer >= 0) /* stepping needs no timer: idle costs nothing */
            loop_set_timer(r->loop, r->poll_timer,
                           mode == RUN_RUN && r->replay->cursor < r->replay->n ? REPLAY_TICK_NS
                                                                               : 0);
        return;
    }
    if (mode == RUN_RUN && r->delay_ms == 0) {
        r->step_pending = 0;
        release_all(r);
    } else {
        atomic_store(&r->sh->gate_hold, 1);
    }
    if (mode == RUN_PAUSED)
        r->step_pending = 0;
    arm_pace(r);
}

void run_set_delay(struct run *r, unsigned delay_ms)
{
    r->delay_ms = delay_ms;
    run_set_mode(r, r->mode);
}

static void pace_timer_cb(struct loop *lp, int id, void *arg)
{
    (void)lp;
    (void)id;
    struct run *r = arg;
    if (r->mode == RUN_RUN && r->delay_ms && !r->step_pending) {
        r->step_pending = 1;
        r->step_pick = -1;
        r->step_asked_ns = loop_now_ns();
        adapt_poll_rate(r, 1); /* serve it at the fast rate */
        serve_gate(r);
    }
}

/* ---- polling ---- */

static void procfs_emit(const struct ev *e, void *arg)
{
    struct ev copy = *e;
    apply(arg, &copy);
}

/* ---- sock_diag: TCP states without privileges (and TIME_WAIT, which bpf never reports) ---- */

#define SOCKDIAG_MAX 512
#define TCP_CLOSE_STATE 7

struct sock_table {
    struct sockdiag_entry e[SOCKDIAG_MAX];
    size_t n;
};

static void collect_socket(const struct sockdiag_entry *e, void *arg)
{
    struct sock_table *t = arg;
    if (t->n < SOCKDIAG_MAX)
        t->e[t->n++] = *e;
}

static const struct sockdiag_entry *find_socket(const struct sock_table *t, uint16_t lport,
                                                uint16_t rport)
{
    const struct sockdiag_entry *found = NULL;
    for (size_t i = 0; i < t->n; i++) {
        const struct sockdiag_entry *e = &t->e[i];
        if (e->sport != lport || e->dport != rport)
            continue;
        if (!found || found->state == 6 /* TIME_WAIT: a live one wins */)
            found = e;
    }
    return found;
}

static void emit_tcp_state(struct run *r, struct instr_obj *o, int state)
{
    struct ev e = {.t = loop_now_ns(),
                   .kind = EV_TCP_STATE,
                   .src = EV_SRC_PROCFS,
                   .task = EV_NO_TASK,
                   .obj = o->id,
                   .seq = atomic_fetch_add(&o->seq, 1),
                   .val = state,
                   .item = o->u.sock.state};
    o->u.sock.state = state;
    apply(r, &e);
}

static void sample_sockets(struct run *r)
{
    uint32_t nobjs = atomic_load(&r->sh->nobjs);
    int any = 0;
    for (uint32_t i = 0; i < nobjs && i < INSTR_MAX_OBJS && !any; i++)
        any = r->sh->objs[i].kind == OK_SOCKET && r->sh->objs[i].u.sock.lport;
    if (!any)
        return;
    static struct sock_table table;
    table.n = 0;
    if (sockdiag_dump(collect_socket, &table) < 0)
        return;
    for (uint32_t i = 0; i < nobjs && i < INSTR_MAX_OBJS; i++) {
        struct instr_obj *o = &r->sh->objs[i];
        if (o->kind != OK_SOCKET || !o->u.sock.lport)
            continue;
        const struct sockdiag_entry *e = find_socket(&table, o->u.sock.lport, o->u.sock.rport);
        int state = e ? e->state : (o->u.sock.seen ? TCP_CLOSE_STATE : -1);
        if (e)
            o->u.sock.seen = 1;
        if (state >= 0 && state != o->u.sock.state)
            emit_tcp_state(r, o, state);
    }
}

static void proc_timer_cb(struct loop *lp, int id, void *arg)
{
    (void)lp;
    (void)id;
    struct run *r = arg;
    if (r->stopped || !r->procfs_on)
        return;
    procfs_sample(&r->model, &g_proc_cache, loop_now_ns(), procfs_emit, r);
    sample_sockets(r);
}

/* The poll period while events flow: 2 ms, plus 20 us per task beyond the first hundred
 * (at most 20 ms), since each poll looks at every task's ring and a thousand rings a page
 * apart cost a thousand cache and TLB misses. A thousand tasks get rings of 8192 records:
 * 20 ms of a worker writing 400k records a second. */
static uint64_t fast_poll_ns(const struct run *r)
{
    uint32_t n = atomic_load(&r->sh->ntasks);
    uint64_t ns = POLL_NS + (n > 100 ? (uint64_t)(n - 100) * 20000 : 0);
    return ns < POLL_MAX_NS ? ns : POLL_MAX_NS;
}

/* Poll fast while events flow and slowly when the run is quiet (step mode, paused, all
 * blocked), so an idle dashboard costs almost nothing. */
static void adapt_poll_rate(struct run *r, size_t got)
{
    if (!r->loop || r->poll_timer < 0)
        return;
    if (got || r->step_pending) {
        uint64_t fast = fast_poll_ns(r);
        if (r->quiet_polls < IDLE_AFTER && fast != r->poll_fast_ns)
            loop_set_timer(r->loop, r->poll_timer, fast);
        r->poll_fast_ns = fast;
        if (r->quiet_polls >= IDLE_AFTER) {
            loop_set_timer(r->loop, r->poll_timer, fast);
            loop_set_timer(r->loop, r->proc_timer, PROC_NS);
        }
        r->quiet_polls = 0;
    } else if (++r->quiet_polls == IDLE_AFTER) {
        loop_set_timer(r->loop, r->poll_timer, POLL_IDLE_NS);
        loop_set_timer(r->loop, r->proc_timer, PROC_IDLE_NS);
    }
}

static void replay_poll(struct run *r);

void run_poll(struct run *r)
{
    if (!r->started || r->stopped)
        return;
    if (r->replay) {
        replay_poll(r);
        return;
    }
    adapt_poll_rate(r, drain(r));
    int gone = reap(r, 0); /* drains before each reap it records */
    serve_gate(r);

    if (r->finished)
        return;
    uint64_t now = loop_now_ns();
    if (gone && atomic_load(&r->sh->ntasks) > 1)
        r->finished = 1;
    else if (r->sc->finished && r->sc->finished(&r->ctx, &r->model))
        r->finished = 1;
    else if (r->opts.duration_s > 0 && now - r->t_start_ns >= r->opts.duration_s * 1e9)
        r->finished = 2; /* cut short */
}

int run_done(const struct run *r)
{
    return r->finished != 0;
}

int run_action(struct run *r, int key)
{
    if (r->replay) {
        snprintf(r->status, sizeof(r->status),
                 r->ctx.lang ? "回放不能执行动作：录制时按下的动作已在轨迹里。"
                             : "A replay cannot act: actions taken while recording are in the "
                               "trace.");
        return -EPERM;
    }
    for (size_t i = 0; i < r->sc->nactions; i++) {
        const struct scenario_action *a = &r->sc->actions[i];
        if (a->key != key)
            continue;
        r->status[0] = '\0';
        int rc = a->fn(&r->ctx, r->status, sizeof(r->status));
        instr_emit(EV_ACTION, EV_NO_OBJ, rc, key, 0);
        return rc;
    }
    return -ENOENT;
}

/* ---- stopping ---- */

static void kill_workers(struct run *r)
{
    atomic_store(&r->sh->stop, 1);
    pid_t pgid = atomic_load(&r->sh->worker_pgid);
    if (pgid > 0)
        kill(-pgid, SIGKILL);
    uint32_t ntasks = atomic_load(&r->sh->ntasks);
    for (uint32_t s = 1; s < ntasks && s < r->sh->max_tasks; s++) {
        struct instr_task *t = &r->sh->tasks[s];
        if (t->kind == TK_PROCESS && t->pid > 0 && t->pid != getpid())
            kill(t->pid, SIGKILL);
    }
    release_all(r);
}

/* Living processes that belong to this run: in the worker group or children of ours. */
static int count_leaked_processes(const struct run *r)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t me = getpid(), pgid = atomic_load(&r->sh->worker_pgid);
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        pid_t pid = atoi(de->d_name);
        struct procfs_stat st;
        if (pid <= 0 || pid == me || procfs_read_stat(pid, 0, &st) < 0)
            continue;
        if ((pgid > 0 && st.pgid == pgid) || st.ppid == me)
            count++;
    }
    closedir(d);
    return count;
}

static int count_in_dir(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            count++;
    closedir(d);
    return count;
}

static int count_leaked_ipc(void)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "ipcscope-%d-", (int)getpid());
    return count_in_dir("/dev/shm", prefix) + count_in_dir("/dev/mqueue", prefix);
}

static void finish_checks(struct run *r)
{
    r->check_rc = 0;
    r->check_why[0] = '\0';
    if (r->finished != 1) {
        snprintf(r->check_why, sizeof(r->check_why), "not checked: the run was cut short");
        return;
    }
    if (r->sc->check)
        r->check_rc = r->sc->check(&r->ctx, &r->model, r->check_why, sizeof(r->check_why));
}

static json_t *sources_json(const struct run *r)
{
    json_t *s =
        json_pack("{s:b, s:b, s:b}", "instr", 1, "procfs", r->procfs_on, "bpf", r->bpf != NULL);
    if (!r->bpf)
        json_object_set_new(s, "bpf_reason", json_string(r->bpf_reason));
    return s;
}

static json_t *leaks_json(const struct run *r)
{
    return json_pack("{s:i, s:i}", "processes", r->leaked_procs, "ipc_objects", r->leaked_ipc);
}

void run_stop(struct run *r)
{
    if (r && r->replay && !r->stopped) {
        if (!r->finished)
            r->finished = 2;
        r->stopped = 1;
        r->t_end_ns = r->replay_now;
        return;
    }
    if (!r || r->stopped || !r->sh)
        return;
    if (!r->finished)
        r->finished = 2;
    if (r->started) {
        drain(r);
        kill_workers(r);
        stop_guard(r); /* it exits, and is reaped below with the workers */
        reap(r, 1);
        drain(r);
    }
    stop_guard(r);
    r->stopped = 1;
    r->t_end_ns = loop_now_ns();
    model_settle_times(&r->model, r->t_end_ns);
    finish_checks(r);
    if (r->sc->teardown)
        r->sc->teardown(&r->ctx);
    r->leaked_procs = count_leaked_processes(r);
    r->leaked_ipc = count_leaked_ipc();
    g_worker_pgid = 0;
    if (r->trace) {
        json_t *trl = json_pack(
            "{s:I, s:I, s:o, s:o, s:{s:b, s:s}}", "duration_ms", (json_int_t)run_elapsed_ms(r),
            "dropped", (json_int_t)r->model.dropped, "sources", sources_json(r), "leaks",
            leaks_json(r), "check", "ok", r->check_rc == 0, "why", r->check_why);
        trace_finish(r->trace, trl);
        r->trace = NULL;
    }
}

uint64_t run_elapsed_ms(const struct run *r)
{
    if (r->replay)
        return run_now_ns(r) / 1000000ull;
    if (!r->t_start_ns)
        return 0;
    uint64_t end = r->stopped ? r->t_end_ns : loop_now_ns();
    return (end - r->t_start_ns) / 1000000ull;
}

json_t *run_snapshot(struct run *r)
{
    if (r->replay)
        return replay_snapshot(r->replay->header, r->replay->trailer, &r->model);
    uint64_t now = r->stopped ? r->t_end_ns : loop_now_ns();
    json_t *s = json_pack("{s:s, s:o, s:I, s:o}", "scenario", r->sc->id, "params", params_json(r),
                          "duration_ms", (json_int_t)run_elapsed_ms(r), "sources", sources_json(r));
    snapshot_fill(s, &r->model, now);
    json_object_set_new(s, "leaks", leaks_json(r));
    json_object_set_new(s, "steps", json_integer((json_int_t)r->steps));
    json_object_set_new(s, "completed", json_boolean(r->finished == 1));
    json_object_set_new(s, "check",
                        json_pack("{s:b, s:s}", "ok", r->check_rc == 0, "why", r->check_why));
    if (r->sc->snapshot) {
        json_t *extra = json_object();
        r->sc->snapshot(&r->ctx, &r->model, extra);
        json_object_update_missing(s, extra); /* the contract's keys win */
        json_decref(extra);
    }
    return s;
}

int run_restart(struct run **rp, char *err, size_t n)
{
    struct run *old = *rp;
    if (old->replay) { /* back to the start of the trace */
        replay_to(old, 0);
        old->steps = 0;
        run_set_mode(old, old->mode);
        return 0;
    }
    struct loop *lp = old->loop;
    const struct scenario *sc = old->sc;
    long params[SCN_MAX_PARAMS];
    memcpy(params, old->ctx.param, sizeof(params));
    struct run_opts opts = old->opts;
    opts.step = old->mode != RUN_RUN;
    opts.delay_ms = old->delay_ms;
    run_close(old);
    *rp = NULL;
    struct run *r;
    if (run_open(&r, sc, params, &opts, err, n) < 0)
        return -1;
    if (run_start(r, lp, err, n) < 0) {
        run_close(r);
        return -1;
    }
    *rp = r;
    return 0;
}

void run_close(struct run *r)
{
    if (!r)
        return;
    run_stop(r);
    if (r->loop) {
        if (r->poll_timer >= 0)
            loop_del_timer(r->loop, r->poll_timer);
        if (r->proc_timer >= 0)
            loop_del_timer(r->loop, r->proc_timer);
        if (r->pace_timer >= 0)
            loop_del_timer(r->loop, r->pace_timer);
        if (r->bpf)
            loop_del_fd(r->loop, bpf_source_fd(r->bpf));
    }
    if (g_track_run == r)
        g_track_run = NULL;
    bpf_source_close(r->bpf);
    procfs_cache_free(&g_proc_cache);
    if (r->trace)
        fclose(r->trace);
    model_free(&r->model);
    free(r->batch);
    free(r->pend);
    instr_region_destroy(r->sh);
    free(r);
}

/* ---- replay ---- */

/* The header's parameters over the scenario's defaults (unknown or bad ones are ignored:
 * they only label the run). */
static void replay_params(struct run *r, json_t *params)
{
    scenario_defaults(r->sc, r->ctx.param);
    for (size_t i = 0; i < r->sc->nparams && i < SCN_MAX_PARAMS; i++) {
        json_t *v = json_object_get(params, r->sc->params[i].key);
        if (json_is_integer(v))
            r->ctx.param[i] = (long)json_integer_value(v);
    }
}

int run_open_replay(struct run **out, const struct run_opts *opts, char *err, size_t n)
{
    struct run *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    r->opts = *opts;
    r->opts.record = NULL;
    r->poll_timer = r->proc_timer = r->pace_timer = -1;
    r->step_pick = -1;
    struct replay *rp = r->replay = opts->replay;
    const char *id = json_string_value(json_object_get(rp->header, "scenario"));
    r->sc = scenario_find_recorded(id);
    if (!r->sc) {
        snprintf(err, n,
                 "the trace was recorded from scenario '%s', which this ipcscope does "
                 "not have",
                 id);
        goto fail;
    }
    r->ctx.sc = r->sc;
    r->ctx.lang = opts->lang;
    replay_params(r, json_object_get(rp->header, "params"));
    for (size_t i = 0; i < rp->n; i++) /* the recorded conductor: slot 0's task */
        if (rp->recs[i].e.kind == EV_TASK_START && rp->recs[i].e.task == 0) {
            r->ctx.conductor = rp->recs[i].e.pid;
            break;
        }
    json_t *trl = rp->trailer, *src = json_object_get(trl, "sources");
    r->procfs_on = json_is_true(json_object_get(src, "procfs"));
    r->recorded_bpf = json_is_true(json_object_get(src, "bpf"));
    snprintf(r->bpf_reason, sizeof(r->bpf_reason), "%s",
             r->recorded_bpf ? "" : "off when recorded");
    json_t *leaks = json_object_get(trl, "leaks"), *check = json_object_get(trl, "check");
    r->leaked_procs = (int)json_integer_value(json_object_get(leaks, "processes"));
    r->leaked_ipc = (int)json_integer_value(json_object_get(leaks, "ipc_objects"));
    r->check_rc = check && !json_is_true(json_object_get(check, "ok")) ? -1 : 0;
    const char *why = json_string_value(json_object_get(check, "why"));
    snprintf(r->check_why, sizeof(r->check_why), "%s", why ? why : "");
    r->delay_ms = opts->delay_ms;
    r->mode = opts->step ? RUN_STEP : RUN_RUN;
    if (model_init(&r->model, rp->hist_cap, rp->span_cap) < 0) {
        snprintf(err, n, "out of memory");
        goto fail;
    }
    rp->cursor = 0; /* the model is empty: nothing of the trace shown yet */
    r->model.dropped = (uint64_t)json_integer_value(json_object_get(trl, "dropped"));
    if (!trl)
        snprintf(r->status, sizeof(r->status), "%s",
                 r->ctx.lang ? "这个轨迹没有结束行（录制被中断）：回放到它结束的地方。"
                             : "This trace has no end line (the recording was cut short): it "
                               "plays up to where it stops.");
    else
        snprintf(r->status, sizeof(r->status), "%s",
                 r->ctx.lang ? "回放：空格前进一步，b 后退一步，r 播放/暂停，R 回到开头。"
                             : "Replay: Space steps, b steps back, r plays / pauses, R goes "
                               "back to the start.");
    *out = r;
    return 0;
fail:
    run_close(r);
    return -1;
}

static int replay_start(struct run *r, struct loop *lp, char *err, size_t n)
{
    r->loop = lp;
    r->poll_timer = loop_add_timer(lp, REPLAY_TICK_NS, poll_timer_cb, r);
    if (r->poll_timer < 0) {
        snprintf(err, n, "cannot create timers");
        return -1;
    }
    r->started = 1;
    run_set_mode(r, r->mode);
    return 0;
}

/* Show the first pos records. Going back also undoes the end of the run. */
static void replay_to(struct run *r, size_t pos)
{
    struct replay *rp = r->replay;
    replay_seek(rp, &r->model, pos);
    r->replay_now = replay_time_at(rp, rp->cursor);
    if (rp->cursor < rp->n) {
        r->finished = r->stopped = 0;
        r->t_end_ns = 0;
    }
}

static void replay_poll(struct run *r)
{
    struct replay *rp = r->replay;
    uint64_t now = loop_now_ns();
    if (r->mode == RUN_RUN && r->delay_ms == 0) {
        /* at the recorded pace */
        uint64_t t = r->play_trace0 + (now - r->play_wall0);
        replay_to(r, replay_upto(rp, rp->cursor, t));
        uint64_t last = replay_time_at(rp, rp->n);
        r->replay_now = t < last ? t : last;
    } else if (r->mode == RUN_RUN && now - r->play_wall0 >= (uint64_t)r->delay_ms * 1000000ull) {
        /* one action per delay, as a paced live run */
        r->play_wall0 = now;
        replay_advance(r, 1);
    }
    if (rp->cursor >= rp->n && !r->finished) {
        r->finished = 1;
        loop_set_timer(r->loop, r->poll_timer, 0); /* R or b starts it again */
    }
}

/* Move the view steps forward (< 0: back), stopping at either end. Returns the steps moved. */
static long replay_advance(struct run *r, long steps)
{
    struct replay *rp = r->replay;
    size_t pos = rp->cursor;
    long moved = 0;
    while (steps > 0 && moved < steps && pos < rp->n) {
        pos = replay_next_step(rp, pos);
        moved++;
    }
    while (steps < 0 && moved > steps && pos > 0) {
        pos = replay_prev_step(rp, pos);
        moved--;
    }
    if (moved) {
        replay_to(r, pos);
        r->steps = moved < 0 && (uint64_t)-moved > r->steps ? 0 : r->steps + (uint64_t)moved;
    }
    return moved;
}

int run_replay_jump(struct run *r, long steps)
{
    if (!r->replay)
        return -1;
    if (r->mode == RUN_RUN)
        run_set_mode(r, RUN_STEP);
    return replay_advance(r, steps) ? 0 : -1;
}

int run_back(struct run *r)
{
    return run_replay_jump(r, -1);
}

uint64_t run_now_ns(const struct run *r)
{
    if (r->replay)
        return r->replay_now;
    return r->stopped ? r->t_end_ns : loop_now_ns();
}

void run_replay_position(const struct run *r, size_t *shown, size_t *total)
{
    *shown = r->replay ? r->replay->cursor : 0;
    *total = r->replay ? r->replay->n : 0;
}

void run_emergency_kill(void)
{
    pid_t pgid = g_worker_pgid;
    if (pgid > 0)
        kill(-pgid, SIGKILL);
}
