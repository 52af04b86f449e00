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
#include "run_int.h"

#include "evsort.h"
#include "instr_ipc.h"
#include "lesson_run.h"
#include "privs.h"
#include "replay.h"
#include "snapshot.h"
#include "sources/bpf.h"
#include "sources/procfs.h"
#include "trace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct run *g_track_run; /* the run whose workers are being forked */

/* Called in the conductor after each fork of a worker: into the run's group and cgroup
 * before the scenario goes on (so a stop finds it), followed by the probes. Workers started
 * first already run while the scenario's setup forks the rest (slow under a sanitizer), so
 * their rings are emptied here too. */
static void track_new_worker(pid_t pid)
{
    struct run *r = g_track_run;
    if (!r || getpid() != r->ctx.conductor)
        return;
    run_adopt_worker(r, pid);
    if (r->bpf)
        bpf_source_track(r->bpf, pid);
    run_pump(r);
}

/* Called first thing in every forked worker (see run_worker_joins). */
static void worker_joins(void)
{
    if (g_track_run)
        run_worker_joins(g_track_run);
}
static struct procfs_cache run_proc_cache;

/* ---- open / start ---- */

/* Under sudo the workers run as the invoking user (see run_worker_joins). */
static void drop_to_sudo_user(struct run *r)
{
    r->as_user = privs_sudo_user(&r->user_uid, &r->user_gid) == 0;
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

/* Remove ipcscope-PID-* names whose conductor is gone (a crash between open and unlink).
 * Not from a PID namespace that /proc does not show (a run under `unshare -p`): the pids in
 * the names were written in another namespace, and a live run's names must not go. */
static void sweep_stale_names(const char *dir)
{
    DIR *d = procfs_ours() ? opendir(dir) : NULL;
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
    run_mount_mqueue(); /* so that a leaked queue can be seen */
    sweep_stale_names("/dev/mqueue");
    sweep_stale_names("/dev/shm");
    r->sc = sc;
    r->opts = *opts;
    r->ctx.sc = sc;
    r->ctx.lang = opts->lang;
    r->ctx.conductor = getpid();
    r->ctx.interactive = !opts->headless;
    r->ctx.cgroup = "";
    r->step_pick = -1;
    r->poll_timer = r->proc_timer = r->pace_timer = -1;
    r->guard = (struct guard)GUARD_NONE;
    r->cg = (struct cg)CG_NONE;
    r->proc_ours = procfs_ours();
    r->t_open_ns = loop_now_ns();
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
    r->reg = (struct run_region){.size = r->sh->size,
                                 .rings_off = r->sh->rings_off,
                                 .ring_stride = r->sh->ring_stride,
                                 .max_tasks = r->sh->max_tasks,
                                 .ring_cap = r->sh->ring_cap};
    r->ctx.shared = instr_shared_alloc(sc->shared_size ? sc->shared_size : 1);
    r->batch_cap = r->pend_cap = BATCH_MAX;
    r->batch = calloc(r->batch_cap, sizeof(*r->batch));
    r->pend = calloc(r->pend_cap, sizeof(*r->pend));
    if (!r->batch || !r->pend || model_init(&r->model, 8192, 1u << 18) < 0) {
        snprintf(err, n, "out of memory");
        goto fail;
    }
    drop_to_sudo_user(r);
    boost_conductor(r->sh);
    instr_task_begin("ipcscope", TK_PROCESS);
    r->lesson = lesson_run_new(sc, opts->predict); /* NULL: no lesson for this scenario */
    *out = r;
    return 0;
fail:
    run_close(r);
    return -1;
}

json_t *run_params_json(const struct run *r)
{
    json_t *p = json_object();
    for (size_t i = 0; i < r->sc->nparams; i++)
        json_object_set_new(p, r->sc->params[i].key, json_integer(r->ctx.param[i]));
    return p;
}

void run_poll_timer_cb(struct loop *lp, int id, void *arg)
{
    (void)lp;
    (void)id;
    run_poll(arg);
}

static void bpf_ready_cb(struct loop *lp, int fd, uint32_t events, void *arg);

static void open_sources(struct run *r)
{
    r->procfs_on = r->proc_ours;
    if (!r->proc_ours) {
        static const char why[] = "this /proc shows another PID namespace (mount one: unshare "
                                  "--mount-proc)";
        snprintf(r->procfs_reason, sizeof(r->procfs_reason), "%s", why);
        snprintf(r->bpf_reason, sizeof(r->bpf_reason), "%s", why); /* its pids are not ours */
        return;
    }
    if (r->opts.no_bpf) {
        snprintf(r->bpf_reason, sizeof(r->bpf_reason), "turned off (--no-bpf)");
        return;
    }
    if (r->opts.bpf_later && (r->opts.step || r->opts.delay_ms > 0)) {
        r->bpf_pending = 1; /* workers wait at the gate meanwhile: nothing overruns */
        snprintf(r->bpf_reason, sizeof(r->bpf_reason), "loading");
        return;
    }
    if (bpf_source_open(&r->bpf, r->bpf_reason, sizeof(r->bpf_reason)) < 0)
        r->bpf = NULL;
}

void run_load_bpf(struct run *r)
{
    if (!r->bpf_pending)
        return;
    r->bpf_pending = 0;
    if (r->stopped) {
        snprintf(r->bpf_reason, sizeof(r->bpf_reason), "not loaded: the run ended first");
        return;
    }
    r->bpf_reason[0] = '\0';
    if (bpf_source_open(&r->bpf, r->bpf_reason, sizeof(r->bpf_reason)) < 0) {
        r->bpf = NULL;
        return;
    }
    loop_add_fd(r->loop, bpf_source_fd(r->bpf), EPOLLIN, bpf_ready_cb, r);
    uint32_t ntasks = run_ntasks(r); /* bounded by the conductor's count, not the region's */
    for (uint32_t s = 1; s < ntasks; s++)
        if (r->sh->tasks[s].pid > 0)
            bpf_source_track(r->bpf, r->sh->tasks[s].pid);
}

static int add_timers(struct run *r, struct loop *lp)
{
    r->loop = lp;
    r->poll_fast_ns = POLL_NS;
    r->poll_timer = loop_add_timer(lp, POLL_NS, run_poll_timer_cb, r);
    r->proc_timer = loop_add_timer(lp, PROC_NS, run_proc_timer_cb, r);
    r->pace_timer = loop_add_timer(lp, 0, run_pace_timer_cb, r);
    if (r->poll_timer < 0 || r->proc_timer < 0 || r->pace_timer < 0)
        return -errno;
    if (r->bpf)
        loop_add_fd(lp, bpf_source_fd(r->bpf), EPOLLIN, bpf_ready_cb, r);
    return 0;
}

/* Under sudo, a file the run just created for the user (the trace) becomes theirs: only
 * when path still names that very file, not a link put there meanwhile. */
static void give_new_file(const char *path, int fd)
{
    struct stat now, opened;
    if (lstat(path, &now) == 0 && fstat(fd, &opened) == 0 && S_ISREG(now.st_mode) &&
        now.st_nlink == 1 && now.st_dev == opened.st_dev && now.st_ino == opened.st_ino)
        privs_give_to_user(fd);
}

int run_start(struct run *r, struct loop *lp, char *err, size_t n)
{
    if (r->replay)
        return run_replay_start(r, lp, err, n);
    if (r->opts.record) {
        struct stat before;
        int existed = lstat(r->opts.record, &before) == 0;
        json_t *p = run_params_json(r);
        r->trace = trace_create(r->opts.record, r->sc->id, p, r->opts.record_limit, err, n);
        json_decref(p);
        if (!r->trace)
            return -1;
        if (!existed)
            give_new_file(r->opts.record, trace_writer_fd(r->trace));
        trace_writer_set_nice(r->trace, r->sh->worker_nice); /* compress as a worker would */
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (run_guard_start(r, err, n) < 0)
        return -1;
    r->ctx.cgroup = r->cg.path;
    open_sources(r);
    run_self_mark(r, 0);
    r->t_start_ns = loop_now_ns();
    r->sh->t0 = r->t_start_ns;
    run_set_mode(r, r->opts.step ? RUN_STEP : RUN_RUN);

    g_track_run = r;
    instr_spawn_hook = track_new_worker;
    instr_mark_private_fds(r->sh, 0); /* the workers leave the conductor's own to it */
    instr_child_hook = worker_joins;
    int rc = r->sc->setup(&r->ctx, err, n);
    r->started = 1;
    if (rc < 0) {
        run_stop(r);
        return -1;
    }
    if ((rc = add_timers(r, lp)) < 0) {
        char why[200];
        snprintf(err, n, "cannot create timers: %s",
                 ipc_errno_why(rc == -1 ? EMFILE : -rc, why, sizeof(why)));
        run_stop(r);
        return -1;
    }
    run_arm_pace(r);
    return 0;
}

/* ---- the region, as the conductor may read it ---- */

uint32_t run_ntasks(const struct run *r)
{
    if (!r->sh)
        return 0;
    uint32_t n = atomic_load(&r->sh->ntasks);
    return n < r->reg.max_tasks ? n : r->reg.max_tasks;
}

struct instr_task *run_slot(const struct run *r, uint32_t slot)
{
    return r->sh && slot < r->reg.max_tasks ? &r->sh->tasks[slot] : NULL;
}

/* Copy a name a worker wrote (maybe without its NUL) into buf. */
static const char *copy_name(const char *src, char *buf)
{
    memcpy(buf, src, INSTR_NAME_MAX);
    buf[INSTR_NAME_MAX - 1] = '\0';
    return buf;
}

const char *run_slot_name(const struct run *r, uint32_t slot, char *buf)
{
    struct instr_task *t = run_slot(r, slot);
    buf[0] = '\0';
    return t ? copy_name(t->name, buf) : buf;
}

const char *run_obj_name(const struct run *r, uint32_t id, char *buf)
{
    return copy_name(r->sh->objs[id].name, buf);
}

int run_check_record(struct ev *e, uint32_t slot, uint32_t max_tasks, uint64_t lo, uint64_t hi)
{
    if (e->kind >= EV__COUNT || (e->obj != EV_NO_OBJ && e->obj >= INSTR_MAX_OBJS))
        return -1;
    if (e->kind == EV_OBJ_CREATE && (e->obj == EV_NO_OBJ || e->aux < 0 || e->aux >= OK__COUNT))
        return -1;
    if (e->task != EV_NO_TASK && e->task >= max_tasks)
        e->task = slot;
    e->src = EV_SRC_INSTR;
    e->flags &= EVF_TEXT;
    if (e->t < lo)
        e->t = lo;
    if (e->t > hi)
        e->t = hi;
    return 0;
}

static void bpf_ready_cb(struct loop *lp, int fd, uint32_t events, void *arg)
{
    (void)lp;
    (void)fd;
    (void)events;
    run_drain(arg);
}

/* ---- reaping ---- */

static void emit_reaped(struct run *r, pid_t pid, int status)
{
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    uint32_t ntasks = run_ntasks(r);
    for (uint32_t s = 1; s < ntasks; s++) {
        struct instr_task *t = &r->sh->tasks[s];
        if (t->pid != pid)
            continue;
        int thread = t->tid != t->pid;
        uint32_t idx = model_task_by_slot(&r->model, s);
        if (thread && idx != MODEL_NO_TASK && r->model.tasks[idx].state == TS_REAPED)
            continue; /* joined already */
        struct ev e = {.t = loop_now_ns(),
                       .kind = EV_TASK_REAPED,
                       .src = EV_SRC_INSTR,
                       .task = s,
                       .pid = t->pid,
                       .tid = t->tid,
                       .obj = EV_NO_OBJ,
                       /* a thread gone with its process: its own return value, if any */
                       .val = !thread                   ? code
                              : atomic_load(&t->exited) ? 0
                                                        : -1,
                       .aux = getpid(),
                       .extra = thread ? REAP_WITH_PROCESS : REAP_WAIT};
        run_apply(r, &e); /* straight into the model: a thousand reaped threads must not
                         overflow the conductor's own ring */
    }
}

/* Collect every child that has ended, without waiting. Returns 1 when no child is left
 * but the guard. */
int run_reap(struct run *r)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG | __WALL);
        if (pid > 0 && pid == r->guard.pid) {
            r->guard.pid = 0; /* killed (it ignores every other signal): no guard now */
            continue;
        }
        if (pid > 0) {
            run_drain(r); /* its last records (task_exit) come before its reap */
            emit_reaped(r, pid, status);
            if (r->sc->reaped)
                r->sc->reaped(&r->ctx, pid, status);
            continue;
        }
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid == 0)
            return run_only_guard_left(r);
        return pid < 0 && errno == ECHILD;
    }
}

/* ---- polling ---- */

static void procfs_emit(const struct ev *e, void *arg)
{
    run_queue_reading(arg, e);
}

void run_refresh(struct run *r)
{
    if (r->replay || !r->started || r->stopped)
        return;
    run_drain(r);
    run_reap(r);
    if (r->procfs_on) {
        procfs_sample_all(&r->model, &run_proc_cache, loop_now_ns(), procfs_emit, r);
        run_sample_sockets(r);
    }
    run_drain(r);
}

/* 1 while a TCP socket of the run is between two states the kernel leaves on its own
 * (SYN_SENT, SYN_RECV, FIN_WAIT1, CLOSING, LAST_ACK) or has bytes not yet acknowledged. */
static int sockets_moving(const struct model *m)
{
    for (size_t i = 0; i < m->nobjs; i++) {
        const struct model_obj *o = &m->objs[i];
        if (!o->live || o->kind != OK_SOCKET || o->proto != 6 || !o->in_kernel)
            continue;
        int s = o->tcp_state;
        if (s == 2 || s == 3 || s == 4 || s == 9 || s == 11 || (s != 10 && o->send_q > 0))
            return 1;
    }
    return 0;
}

/* After a grant: once nothing moves (or it has tried for SETTLE_MAX_NS: a task that keeps
 * computing never settles), look at /proc and the sockets afresh, so what the screen shows
 * between two steps is what the kernel says. */
static void settle_after_step(struct run *r)
{
    if (!r->settle_pending || r->step_pending)
        return;
    uint64_t now = loop_now_ns();
    if (!r->settle_since)
        r->settle_since = now;
    if (!run_settled(r) && now - r->settle_since < SETTLE_MAX_NS)
        return;
    run_refresh(r);
    if (sockets_moving(&r->model) && now - r->settle_since < SOCK_SETTLE_NS)
        return; /* an ACK still on its way (a delayed ACK takes 40 ms): look again */
    r->settle_pending = 0;
    r->settle_since = 0;
    lesson_run_settled(r);
}

void run_proc_timer_cb(struct loop *lp, int id, void *arg)
{
    (void)lp;
    (void)id;
    struct run *r = arg;
    if (r->stopped || !r->procfs_on)
        return;
    /* what the rings hold first, so the look is compared with a model that has them (a
     * conductor kept off the CPU for a while wakes with both timers due) */
    run_drain(r);
    procfs_sample(&r->model, &run_proc_cache, loop_now_ns(), procfs_emit, r);
    run_sample_sockets(r);
    run_drain(r); /* the look, in time order with what was written meanwhile */
}

/* The poll period while events flow: 2 ms, plus 20 us per task beyond the first hundred
 * (at most 20 ms), since each poll looks at every task's ring and a thousand rings a page
 * apart cost a thousand cache and TLB misses. A thousand tasks get rings of 8192 records:
 * 20 ms of a worker writing 400k records a second. */
static uint64_t fast_poll_ns(const struct run *r)
{
    uint32_t n = run_ntasks(r);
    uint64_t ns = POLL_NS + (n > 100 ? (uint64_t)(n - 100) * 20000 : 0);
    return ns < POLL_MAX_NS ? ns : POLL_MAX_NS;
}

/* Poll fast while events flow and slowly when the run is quiet (step mode, paused, all
 * blocked), so an idle dashboard costs almost nothing. */
void run_adapt_poll(struct run *r, size_t got)
{
    if (!r->loop || r->poll_timer < 0)
        return;
    /* periods change without postponing the next tick: events every ~60 ms flip the run
     * between quiet and busy faster than /proc's period, and re-arming from now each time
     * kept the /proc sampler from ever running (the concurrency scenario, headless) */
    if (got || r->step_pending) {
        uint64_t fast = fast_poll_ns(r);
        if (r->quiet_polls < IDLE_AFTER && fast != r->poll_fast_ns)
            loop_set_period(r->loop, r->poll_timer, fast);
        r->poll_fast_ns = fast;
        if (r->quiet_polls >= IDLE_AFTER) {
            loop_set_period(r->loop, r->poll_timer, fast);
            loop_set_period(r->loop, r->proc_timer, PROC_NS);
        }
        r->quiet_polls = 0;
    } else if (++r->quiet_polls == IDLE_AFTER) {
        loop_set_period(r->loop, r->poll_timer, POLL_IDLE_NS);
        loop_set_period(r->loop, r->proc_timer, PROC_IDLE_NS);
    }
}

void run_poll(struct run *r)
{
    if (!r->started || r->stopped)
        return;
    if (r->replay) {
        run_replay_poll(r);
        return;
    }
    run_adapt_poll(r, run_drain(r));
    run_fold_look(r);
    run_condvar_look(r);
    if (r->sock_dirty && r->procfs_on) {
        r->sock_dirty = 0;
        run_sample_sockets(r);
        run_drain(r);
    }
    int gone = run_reap(r); /* drains before each reap it records */
    run_serve_gate(r);
    settle_after_step(r);
    if (r->sc->poll)
        r->sc->poll(&r->ctx, &r->model);

    if (r->finished)
        return;
    uint64_t now = loop_now_ns();
    /* the scenario's hook first: it may have a last sentence to pin even when all are gone */
    int scn_done = r->sc->finished && r->sc->finished(&r->ctx, &r->model);
    if ((gone && run_ntasks(r) > 1 && !r->sc->wait_descendants) || scn_done)
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

uint64_t run_elapsed_ms(const struct run *r)
{
    if (r->replay)
        return run_now_ns(r) / 1000000ull;
    if (!r->t_start_ns)
        return 0;
    uint64_t end = r->stopped ? r->t_end_ns : loop_now_ns();
    return (end - r->t_start_ns) / 1000000ull;
}

/* The conductor's own CPU and run-queue time (ns, /proc/self/schedstat) and context
 * switches (/proc/self/status): the probes leave the conductor out, and its row must still
 * say what /proc says. */
static void self_times(uint64_t *run, uint64_t *wait, uint64_t *switches)
{
    char buf[4096];
    *run = *wait = *switches = 0;
    FILE *f = fopen("/proc/self/schedstat", "r");
    if (f) {
        unsigned long long a = 0, b = 0;
        if (fscanf(f, "%llu %llu", &a, &b) == 2) {
            *run = a;
            *wait = b;
        }
        fclose(f);
    }
    f = fopen("/proc/self/status", "r");
    if (!f)
        return;
    while (fgets(buf, sizeof(buf), f)) {
        unsigned long long v;
        if (sscanf(buf, "voluntary_ctxt_switches: %llu", &v) == 1 ||
            sscanf(buf, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
            *switches += v;
    }
    fclose(f);
}

void run_self_mark(struct run *r, int at_end)
{
    uint64_t run, wait, sw;
    self_times(&run, &wait, &sw);
    if (!at_end) {
        r->self0[0] = run, r->self0[1] = wait, r->self0[2] = sw;
        return;
    }
    r->self1[0] = run, r->self1[1] = wait, r->self1[2] = sw;
}

/* The conductor's row: its times since the run started, from /proc. */
static void conductor_row(struct run *r, json_t *snap)
{
    if (!r->sh || !r->t_start_ns)
        return;
    uint64_t now[3];
    if (r->stopped)
        memcpy(now, r->self1, sizeof(now));
    else
        self_times(&now[0], &now[1], &now[2]);
    json_t *t;
    size_t i;
    json_array_foreach(json_object_get(snap, "tasks"), i, t)
    {
        uint32_t idx = model_task_by_slot(&r->model, 0);
        if (idx == MODEL_NO_TASK || (size_t)idx != i)
            continue;
        double life = (double)run_elapsed_ms(r), run = (double)(now[0] - r->self0[0]) / 1e6,
               ready = (double)(now[1] - r->self0[1]) / 1e6;
        double blocked = life - run - ready;
        json_object_set_new(t, "run_ms", json_real(run));
        json_object_set_new(t, "ready_ms", json_real(ready));
        json_object_set_new(t, "blocked_ms", json_real(blocked > 0 ? blocked : 0));
        json_object_set_new(t, "gate_ms", json_real(0));
        json_object_set_new(t, "switches", json_integer((json_int_t)(now[2] - r->self0[2])));
        json_object_set_new(t, "times_from", json_string("/proc/self (the conductor)"));
    }
}

/* A live socket's inode (what `ss -e` prints as ino:), so a reader can match it exactly
 * even when several sockets share an address (SO_REUSEADDR receivers). */
static void socket_inodes(struct run *r, json_t *snap)
{
    json_t *objs = json_object_get(snap, "objects");
    size_t k = 0;
    for (size_t i = 0; i < r->model.nobjs; i++) {
        if (!r->model.objs[i].live)
            continue;
        json_t *o = json_array_get(objs, k++);
        if (i < INSTR_MAX_OBJS && r->model.objs[i].kind == OK_SOCKET && r->sock_ino[i] &&
            r->model.objs[i].in_kernel)
            json_object_set_new(o, "inode", json_integer(r->sock_ino[i]));
    }
}

json_t *run_snapshot(struct run *r)
{
    if (r->replay)
        return replay_snapshot(r->replay->header, r->replay->trailer, &r->model);
    uint64_t now = r->stopped ? r->t_end_ns : loop_now_ns();
    json_t *s =
        json_pack("{s:s, s:o, s:I, s:o}", "scenario", r->sc->id, "params", run_params_json(r),
                  "duration_ms", (json_int_t)run_elapsed_ms(r), "sources", run_sources_json(r));
    snapshot_fill(s, &r->model, now);
    conductor_row(r, s);
    socket_inodes(r, s);
    json_object_set_new(s, "leaks", run_leaks_json(r));
    json_object_set_new(s, "steps", json_integer((json_int_t)r->steps));
    if (r->ctx.pin[0])
        json_object_set_new(s, "pinned", json_string(r->ctx.pin));
    json_object_set_new(s, "scenario_ms", json_integer((json_int_t)(run_scenario_ns(r) / 1000000)));
    json_object_set_new(s, "completed", json_boolean(r->finished == 1));
    json_object_set_new(s, "check",
                        json_pack("{s:b, s:s}", "ok", r->check_rc == 0, "why", r->check_why));
    if (r->sc->snapshot) {
        json_t *extra = json_object();
        r->sc->snapshot(&r->ctx, &r->model, extra);
        json_object_update_missing(s, extra); /* the contract's keys win */
        json_decref(extra);
    }
    lesson_run_snapshot(r, s);
    return s;
}

int run_restart(struct run **rp, char *err, size_t n)
{
    struct run *old = *rp;
    if (old->replay) { /* back to the start of the trace */
        run_replay_to(old, 0);
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
    if (g_track_run == r) {
        g_track_run = NULL;
        instr_child_hook = NULL;
    }
    bpf_source_close(r->bpf);
    procfs_cache_free(&run_proc_cache);
    char ignored[8];
    trace_finish(r->trace, NULL, ignored, sizeof(ignored)); /* a run that never stopped */
    model_free(&r->model);
    free(r->batch);
    free(r->sort_tmp);
    free(r->pend);
    lesson_run_free(r->lesson);
    instr_region_destroy(r->sh);
    free(r);
}

uint64_t run_now_ns(const struct run *r)
{
    if (r->replay)
        return r->replay_now;
    return r->stopped ? r->t_end_ns : loop_now_ns();
}
