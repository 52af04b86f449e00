/*
 * test_scenarios_ch56.c - the chapter 5 and 6 scenarios end to end, on the real binary.
 *
 * Each test runs `ipcscope run ID --headless --json --record FILE` while sampling /proc for
 * every descendant of the binary (state, parent, wchan, CPU time, nice, signal masks, a
 * pipe's fill). The lesson is asserted from that kernel evidence and from the trace, never
 * from the scenario's own counters; every run must also leave no process and no IPC object.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- /proc sampling ---- */

struct sample {
    long t_ms;
    pid_t pid, ppid;
    char state;
    char comm[16];
    char wchan[48];
    long cpu_ticks; /* utime + stime */
    int nice;
    uint64_t shdpnd, blk, ign, cgt;
    long pipe_fill; /* pipe-writer only: bytes in its pipe, -1 unknown */
};

struct run {
    struct ts_scenario sc; /* the binary's pid and wait status, snapshot and trace */
    struct sample *s;
    size_t ns, cap;
};

static uint64_t status_mask(const char *status, const char *key)
{
    const char *p = strstr(status, key);
    return p ? strtoull(p + strlen(key) + 1, NULL, 16) : 0;
}

static long pipe_fill_of(pid_t pid)
{
    char dir[64], link[384], target[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    long fill = -1;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, "pipe:", 5) != 0)
            continue;
        int fd = open(link, O_RDONLY | O_NONBLOCK); /* the same pipe, opened anew */
        int bytes = 0;
        if (fd >= 0 && ioctl(fd, FIONREAD, &bytes) == 0)
            fill = bytes;
        if (fd >= 0)
            close(fd);
    }
    if (d)
        closedir(d);
    return fill;
}

static void sample_one(struct run *r, pid_t pid, long t)
{
    struct sample s = {.t_ms = t, .pid = pid, .pipe_fill = -1};
    char path[64], status[4096];
    struct ts_stat st;
    if (ts_stat(pid, &st) < 0)
        return;
    memcpy(s.comm, st.comm, sizeof(s.comm));
    s.state = st.state;
    s.ppid = st.ppid;
    s.cpu_ticks = st.utime + st.stime;
    s.nice = st.nice;
    snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
    ts_read_file(path, s.wchan, sizeof(s.wchan));
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (ts_read_file(path, status, sizeof(status)) == 0) {
        s.shdpnd = status_mask(status, "ShdPnd:");
        s.blk = status_mask(status, "SigBlk:");
        s.ign = status_mask(status, "SigIgn:");
        s.cgt = status_mask(status, "SigCgt:");
    }
    if (strcmp(s.comm, "pipe-writer") == 0 && s.state == 'S')
        s.pipe_fill = pipe_fill_of(pid);
    if (r->ns == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->s = realloc(r->s, r->cap * sizeof(*r->s));
    }
    r->s[r->ns++] = s;
}

/* Sample every process whose chain of parents reaches root. */
static void sample_tree(void *arg, pid_t root, long t)
{
    static pid_t pids[4096];
    size_t n = ts_descendants(root, pids, NULL, 4096);
    for (size_t i = 0; i < n; i++)
        sample_one(arg, pids[i], t);
}

/* ---- running the binary ---- */

static void assert_nothing_left(const struct run *r)
{
    int status;
    pid_t left = waitpid(-1, &status, WNOHANG); /* we are a subreaper: strays come to us */
    cr_assert(left < 0 && errno == ECHILD, "a process outlived the run (pid %d)", (int)left);
    json_t *leaks = json_object_get(r->sc.snap, "leaks");
    cr_assert_eq(json_integer_value(json_object_get(leaks, "processes")), 0);
    cr_assert_eq(json_integer_value(json_object_get(leaks, "ipc_objects")), 0);

    char prefix[64], path[128];
    snprintf(prefix, sizeof(prefix), "ipcscope-%d-", (int)r->sc.pid);
    ts_assert_no_entry_with_prefix("/dev/shm", prefix);
    snprintf(path, sizeof(path), "/ipcscope-%d-queue", (int)r->sc.pid);
    mqd_t q = mq_open(path, O_RDONLY);
    cr_assert(q == (mqd_t)-1 && errno == ENOENT, "message queue %s left behind", path);
}

/* Run `ipcscope run id --headless --json --record F [--param p]...` sampling /proc. */
static struct run run_scenario(const char *id, const char *const *params)
{
    struct run r = {0};
    ts_run_scenario(id, params, sample_tree, &r, 4000, &r.sc);
    assert_nothing_left(&r);
    return r;
}

/* ---- trace and snapshot helpers ---- */

/* Whether some sample of pid carries comm. */
static int seen_as(const struct run *r, pid_t pid, const char *comm)
{
    for (size_t i = 0; i < r->ns; i++)
        if (r->s[i].pid == pid && strcmp(r->s[i].comm, comm) == 0)
            return 1;
    return 0;
}

/*
 * The pid of the first sample whose comm is comm and whose parent never carried it, or 0.
 * A child forked a moment before a sample still has its parent's comm, and after pids wrap
 * (pid_max is 32768 here) it may be listed before its parent: without the parent check
 * such a child was taken for the parent.
 */
static pid_t pid_by_comm(const struct run *r, const char *comm)
{
    for (size_t i = 0; i < r->ns; i++)
        if (strcmp(r->s[i].comm, comm) == 0 && !seen_as(r, r->s[i].ppid, comm))
            return r->s[i].pid;
    return 0;
}

static json_t *snap_task(const struct run *r, const char *name)
{
    return ts_find_named(json_object_get(r->sc.snap, "tasks"), name);
}

static void assert_check_ok(const struct run *r)
{
    ts_assert_check_ok(r->sc.snap);
}

/* ---- chapter 5 ---- */

Test(scenario_fork, each_copy_sees_its_own_return_and_variable, .timeout = 60)
{
    const char *p[] = {"children=3", "linger_ms=300", NULL};
    struct run r = run_scenario("fork", p);
    pid_t parent = pid_by_comm(&r, "fork-parent");
    cr_assert_gt(parent, 0);

    int children = 0;
    for (size_t i = 0; i < r.ns; i++)
        if (strncmp(r.s[i].comm, "fork-child-", 11) == 0 && r.s[i].state != 'Z') {
            cr_assert_eq(r.s[i].ppid, parent, "a child's parent in /proc is not the parent");
            children++;
        }
    cr_assert_gt(children, 0, "no child seen in /proc");

    long long parent_rets[8];
    int nret = 0, zero_rets = 0;
    long long last_x[64][2];
    int nx = 0;
    for (size_t i = 0; i < r.sc.ntrace; i++) {
        json_t *e = r.sc.trace[i];
        if (ts_is_ev(e, "fork_ret") && ts_int(e, "pid") == parent && nret < 8)
            parent_rets[nret++] = ts_int(e, "val");
        else if (ts_is_ev(e, "fork_ret"))
            zero_rets += ts_int(e, "val") == 0;
        if (ts_is_ev(e, "var")) {
            int k = 0;
            while (k < nx && last_x[k][0] != ts_int(e, "pid"))
                k++;
            if (k == nx && nx < 64)
                last_x[nx++][0] = ts_int(e, "pid");
            last_x[k][1] = ts_int(e, "val");
        }
    }
    cr_assert_eq(nret, 3);
    cr_assert_eq(zero_rets, 3, "fork must return 0 in each child");
    for (int i = 0; i < nret; i++) { /* the parent's returns are the children's pids */
        int found = 0;
        for (size_t j = 0; j < r.sc.ntrace; j++)
            found |= ts_is_ev(r.sc.trace[j], "task_start") &&
                     ts_int(r.sc.trace[j], "pid") == parent_rets[i] &&
                     ts_int(r.sc.trace[j], "aux") == parent;
        cr_assert(found, "fork returned %lld, which is no child of the parent", parent_rets[i]);
    }
    cr_assert_eq(nx, 4);
    for (int a = 0; a < nx; a++)
        for (int b = a + 1; b < nx; b++)
            cr_assert_neq(last_x[a][1], last_x[b][1], "two copies ended with the same x");
}

Test(scenario_orphan, the_orphans_ppid_changes_to_the_subreaper, .timeout = 60)
{
    struct run r = run_scenario("orphan", NULL);
    pid_t parent = pid_by_comm(&r, "orphan-parent"), child = pid_by_comm(&r, "orphan-child");
    cr_assert(parent > 0 && child > 0);
    int before = 0, after = 0;
    for (size_t i = 0; i < r.ns; i++) {
        if (r.s[i].pid != child)
            continue;
        before |= r.s[i].ppid == parent;
        after |= r.s[i].ppid == r.sc.pid;
    }
    cr_assert(before, "never saw the child under its first parent in /proc");
    cr_assert(after, "never saw the child adopted by ipcscope (%d) in /proc", (int)r.sc.pid);
    json_t *c = snap_task(&r, "child");
    cr_assert_str_eq(ts_str(c, "state"), "reaped");
    cr_assert_eq(ts_int(c, "ppid"), r.sc.pid);
    assert_check_ok(&r);
}

/* Zombies of the parent (state Z, ppid = the parent) over the run, from /proc. */
static void assert_zombies_then_none(const char *remedy)
{
    char rp[32];
    snprintf(rp, sizeof(rp), "remedy=%s", remedy);
    const char *p[] = {"hold_ms=700", "after_ms=700", rp, NULL};
    struct run r = run_scenario("zombie", p);
    pid_t parent = pid_by_comm(&r, "zombie-parent");
    cr_assert_gt(parent, 0);

    long last_t = -1;
    for (size_t i = 0; i < r.ns; i++)
        if (r.s[i].pid == parent && r.s[i].state != 'Z')
            last_t = r.s[i].t_ms; /* the parent's last sample alive */
    int before = 0, late = 0;
    for (size_t i = 0; i < r.ns; i++) {
        if (r.s[i].state != 'Z' || r.s[i].ppid != parent)
            continue;
        before++;
        late += r.s[i].t_ms > last_t - 300;
    }
    cr_assert_gt(before, 0, "no zombie child was ever seen in /proc");
    cr_assert_eq(late, 0, "zombies remained after remedy %s", remedy);
    json_t *tasks = json_object_get(r.sc.snap, "tasks"), *t;
    size_t i;
    json_array_foreach(tasks, i, t) cr_assert_str_neq(ts_str(t, "state"), "zombie");
    assert_check_ok(&r);
}

Test(scenario_zombie, wait_one_at_a_time_clears_them, .timeout = 60)
{
    assert_zombies_then_none("1");
}

Test(scenario_zombie, waitpid_wnohang_loop_clears_them, .timeout = 60)
{
    assert_zombies_then_none("2");
}

Test(scenario_zombie, sigchld_handler_clears_them, .timeout = 60)
{
    assert_zombies_then_none("3");
}

Test(scenario_zombie, sig_ign_leaves_no_new_zombies, .timeout = 60)
{
    assert_zombies_then_none("4");
}

Test(scenario_zombie, double_fork_leaves_no_zombies, .timeout = 60)
{
    assert_zombies_then_none("5");
}

Test(scenario_zombie, without_a_remedy_the_subreaper_reaps_them, .timeout = 60)
{
    const char *p[] = {"hold_ms=500", NULL};
    struct run r = run_scenario("zombie", p);
    pid_t parent = pid_by_comm(&r, "zombie-parent");
    int zombies = 0;
    for (size_t i = 0; i < r.ns; i++)
        zombies += r.s[i].state == 'Z' && r.s[i].ppid == parent;
    cr_assert_gt(zombies, 0);
    json_t *tasks = json_object_get(r.sc.snap, "tasks"), *t;
    size_t i;
    json_array_foreach(tasks, i, t) if (i > 0) cr_assert_str_eq(ts_str(t, "state"), "reaped");
}

Test(scenario_nice, lower_nice_gets_more_cpu, .timeout = 60)
{
    const char *p[] = {"workers=2", "step=5", "duration_ms=1500", NULL};
    struct run r = run_scenario("nice", p);
    long cpu[2] = {0, 0};
    int nice[2] = {99, 99};
    for (size_t i = 0; i < r.ns; i++) {
        /* each worker's name in ps is its task's: its nice value ("nice-1" read as nice -1) */
        int k = strcmp(r.s[i].comm, "nice+0") == 0   ? 0
                : strcmp(r.s[i].comm, "nice+5") == 0 ? 1
                                                     : -1;
        if (k < 0 || r.s[i].state == 'Z')
            continue;
        cpu[k] = r.s[i].cpu_ticks; /* the last sample wins */
        nice[k] = r.s[i].nice;
    }
    cr_assert_eq(nice[0], 0,
                 "no process named nice+0 at nice 0 (ps names them by their nice value)");
    cr_assert_eq(nice[1], 5, "no process named nice+5 at nice 5");
    cr_assert_gt(cpu[0] + cpu[1], 0);
    double share = (double)cpu[0] / (double)(cpu[0] + cpu[1]);
    cr_assert_gt(share, 0.6, "nice 0 got only %.2f of the CPU", share);
    assert_check_ok(&r);
}

Test(scenario_process_pool, every_task_done_once_and_workers_joined, .timeout = 60)
{
    const char *p[] = {"workers=3", "tasks=8", "singles=2", "capacity=4", "work_ms=40", NULL};
    struct run r = run_scenario("process-pool", p);
    pid_t owner = pid_by_comm(&r, "pool-main");
    cr_assert_gt(owner, 0);
    for (size_t i = 0; i < r.ns; i++)
        if (strcmp(r.s[i].comm, "pool-worker") == 0 && r.s[i].state != 'Z')
            cr_assert_eq(r.s[i].ppid, owner);

    int seen[10] = {0}, reaped_by_owner = 0;
    for (size_t i = 0; i < r.sc.ntrace; i++) {
        json_t *e = r.sc.trace[i];
        if (ts_is_ev(e, "shm_write") && strcmp(ts_str(e, "obj"), "results") == 0) {
            long long x = ts_int(e, "item");
            cr_assert(x >= 0 && x < 10);
            cr_assert_eq(ts_int(e, "val"), x * x);
            seen[x]++;
        }
        if (ts_is_ev(e, "queue_put") || ts_is_ev(e, "queue_get"))
            cr_assert_leq(ts_int(e, "val"), 4, "the task queue went past its capacity");
        if (ts_is_ev(e, "task_reaped") && /* one reap, one event: whichever source saw it */
            strncmp(ts_str(e, "task"), "pool-worker", 11) == 0)
            reaped_by_owner += ts_int(e, "aux") == owner;
    }
    for (int x = 0; x < 10; x++)
        cr_assert_eq(seen[x], 1, "task %d done %d times", x, seen[x]);
    cr_assert_eq(reaped_by_owner, 3, "join must reap every worker");
    assert_check_ok(&r);
}

/* ---- chapter 6 ---- */

Test(scenario_pipe, writer_blocks_while_the_pipe_is_full, .timeout = 60)
{
    const char *p[] = {"capacity=16384", "chunk=1024", "total=32768", NULL};
    struct run r = run_scenario("pipe", p);
    int blocked_full = 0;
    for (size_t i = 0; i < r.ns; i++)
        blocked_full |= strcmp(r.s[i].comm, "pipe-writer") == 0 && r.s[i].state == 'S' &&
                        strstr(r.s[i].wchan, "pipe_write") && r.s[i].pipe_fill == 16384;
    cr_assert(blocked_full, "never saw the writer asleep in pipe_write with 16384 bytes queued");

    int block_ev = 0, eof = 0;
    for (size_t i = 0; i < r.sc.ntrace; i++) {
        json_t *e = r.sc.trace[i];
        block_ev |= ts_is_ev(e, "block") && strcmp(ts_str(e, "task"), "writer") == 0 &&
                    ts_int(e, "val") == 16384;
        eof |= ts_is_ev(e, "pipe_read") && ts_int(e, "item") == 0;
        if (ts_is_ev(e, "pipe_write"))
            cr_assert_leq(ts_int(e, "val"), 16384);
    }
    cr_assert(block_ev, "the trace shows no block of the writer at full capacity");
    cr_assert(eof, "the reader never read EOF");
    cr_assert(json_is_true(json_object_get(r.sc.snap, "writer_blocked_full")));
    assert_check_ok(&r);
}

Test(scenario_pipe, duplex_socketpair_talks_both_ways, .timeout = 60)
{
    const char *p[] = {"duplex=1", "rounds=4", NULL};
    struct run r = run_scenario("pipe", p);
    int a_to_b = 0, b_to_a = 0;
    for (size_t i = 0; i < r.sc.ntrace; i++) {
        json_t *e = r.sc.trace[i];
        if (!ts_is_ev(e, "pipe_write"))
            continue;
        a_to_b += strcmp(ts_str(e, "obj"), "a->b") == 0;
        b_to_a += strcmp(ts_str(e, "obj"), "b->a") == 0;
    }
    cr_assert_eq(a_to_b, 4);
    cr_assert_eq(b_to_a, 4);
    assert_check_ok(&r);
}

Test(scenario_message_queue, senders_block_full_receivers_block_empty, .timeout = 60)
{
    const char *p[] = {"maxmsg=3", "senders=2", "msgs=6", NULL};
    struct run r = run_scenario("message-queue", p);
    int full = 0, empty = 0, recv = 0;
    for (size_t i = 0; i < r.sc.ntrace; i++) {
        json_t *e = r.sc.trace[i];
        if (ts_is_ev(e, "mq_send") || ts_is_ev(e, "mq_recv")) {
            cr_assert_leq(ts_int(e, "val"), 3, "depth past maxmsg");
            cr_assert_geq(ts_int(e, "val"), 0);
        }
        recv += ts_is_ev(e, "mq_recv") && ts_int(e, "item") > 0;
        if (ts_is_ev(e, "block") && strcmp(ts_str(e, "obj"), "queue") == 0) {
            full += ts_int(e, "val") == 3;
            empty += ts_int(e, "val") == 0;
        }
    }
    cr_assert_gt(full, 0, "no sender blocked on a full queue");
    cr_assert_gt(empty, 0, "no receiver blocked on an empty queue");
    cr_assert_eq(recv, 12);
    int asleep_sender = 0;
    for (size_t i = 0; i < r.ns; i++)
        asleep_sender |= strcmp(r.s[i].comm, "mq-sender") == 0 && r.s[i].state == 'S';
    cr_assert(asleep_sender);
    cr_assert(json_is_true(json_object_get(r.sc.snap, "unlinked")));
    assert_check_ok(&r);
}

/* The counter's final value: the shm_write with the highest seq on "counter". */
static long long final_counter(const struct run *r)
{
    long long seq = -1, val = 0;
    for (size_t i = 0; i < r->sc.ntrace; i++) {
        json_t *e = r->sc.trace[i];
        if (ts_is_ev(e, "shm_write") && strcmp(ts_str(e, "obj"), "counter") == 0 &&
            ts_int(e, "seq") > seq) {
            seq = ts_int(e, "seq");
            val = ts_int(e, "val");
        }
    }
    return val;
}

Test(scenario_shared_memory, updates_are_lost_without_the_lock, .timeout = 60)
{
    const char *p[] = {"procs=4", "increments=2000", "lock=0", NULL};
    struct run r = run_scenario("shared-memory", p);
    json_t *events = json_object_get(r.sc.snap, "events");
    cr_assert_eq(json_integer_value(json_object_get(events, "dropped")), 0);
    long long lost = 4 * 2000 - final_counter(&r);
    cr_assert_gt(lost, 0, "no update was lost without the lock");
    cr_assert_eq(json_integer_value(json_object_get(r.sc.snap, "lost_updates")), lost);
}

Test(scenario_shared_memory, no_update_is_lost_with_the_lock, .timeout = 60)
{
    const char *p[] = {"procs=4", "increments=2000", "lock=1", NULL};
    struct run r = run_scenario("shared-memory", p);
    cr_assert_eq(final_counter(&r), 4 * 2000);
    cr_assert_eq(json_integer_value(json_object_get(r.sc.snap, "lost_updates")), 0);
    assert_check_ok(&r);
}

Test(scenario_signals, masks_handlers_and_default_action, .timeout = 60)
{
    struct run r = run_scenario("signals", NULL);
    const uint64_t HUP = 1ull << 0, USR1 = 1ull << 9, USR2 = 1ull << 11, ALRM = 1ull << 13;
    int ignored = 0, caught = 0, blocked = 0, pending = 0;
    for (size_t i = 0; i < r.ns; i++) {
        const struct sample *s = &r.s[i];
        if (strcmp(s->comm, "sig-receiver") != 0 || s->state == 'Z')
            continue;
        ignored |= (s->ign & USR2) != 0;
        caught |= (s->cgt & (USR1 | HUP | ALRM)) == (USR1 | HUP | ALRM);
        blocked |= (s->blk & HUP) != 0;
        pending |= (s->shdpnd & HUP) != 0;
    }
    cr_assert(ignored && caught && blocked, "masks in /proc: ign %d caught %d blocked %d", ignored,
              caught, blocked);
    cr_assert(pending, "SIGHUP was never seen pending while blocked");
    json_t *rcv = snap_task(&r, "receiver");
    cr_assert_eq(ts_int(rcv, "exit_status"), 128 + 15, "SIGTERM's default action must end it");
    int usr2_handled = 0, hup_handled = 0;
    for (size_t i = 0; i < r.sc.ntrace; i++)
        if (ts_is_ev(r.sc.trace[i], "sig_handle")) {
            usr2_handled += ts_int(r.sc.trace[i], "val") == 12;
            hup_handled += ts_int(r.sc.trace[i], "val") == 1;
        }
    cr_assert_eq(usr2_handled, 0);
    cr_assert_eq(hup_handled, 1);
}

Test(scenario_semaphore, never_more_than_k_inside, .timeout = 60)
{
    const char *p[] = {"workers=5", "permits=2", "rounds=3", "work_ms=60", NULL};
    struct run r = run_scenario("semaphore", p);

    /* the trace: replay the semaphore's operations in seq order */
    size_t nops = 0;
    json_t *ops[4096];
    for (size_t i = 0; i < r.sc.ntrace && nops < 4096; i++)
        if (strcmp(ts_str(r.sc.trace[i], "obj"), "permits") == 0 &&
            (ts_is_ev(r.sc.trace[i], "sem_acquired") || ts_is_ev(r.sc.trace[i], "sem_post")))
            ops[nops++] = r.sc.trace[i];
    int inside = 0, max_inside = 0;
    for (long long seq = 0, done = 0; done < (long long)nops; seq++) {
        for (size_t i = 0; i < nops; i++) {
            if (ts_int(ops[i], "seq") != seq)
                continue;
            inside += ts_is_ev(ops[i], "sem_acquired") ? 1 : -1;
            cr_assert_geq(ts_int(ops[i], "val"), 0);
            done++;
        }
        cr_assert_leq(inside, 2, "more than k inside at seq %lld", seq);
        max_inside = inside > max_inside ? inside : max_inside;
        cr_assert_lt(seq, 100000);
    }
    cr_assert_eq(max_inside, 2);

    /* /proc: workers inside sleep in nanosleep; the others wait in a futex */
    for (size_t i = 0; i < r.ns;) {
        size_t j = i;
        int in = 0;
        while (j < r.ns && r.s[j].t_ms == r.s[i].t_ms) {
            in += strcmp(r.s[j].comm, "sem-worker") == 0 && strstr(r.s[j].wchan, "nanosleep");
            j++;
        }
        cr_assert_leq(in, 2, "/proc shows %d workers inside at t=%ld", in, r.s[i].t_ms);
        i = j;
    }
    assert_check_ok(&r);
}

Test(scenario_list, chapters_5_and_6_are_listed, .timeout = 30)
{
    char out[] = "/tmp/ipcscope-ch56-listXXXXXX";
    int fd = mkstemp(out);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        execl(IPCSCOPE_BIN, IPCSCOPE_BIN, "list", "--json", (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    json_t *list = json_load_file(out, 0, NULL);
    unlink(out);
    cr_assert(json_is_array(list));
    const char *ids[] = {"fork", "orphan",        "zombie",        "nice",    "process-pool",
                         "pipe", "message-queue", "shared-memory", "signals", "semaphore"};
    const int ch[] = {5, 5, 5, 5, 5, 6, 6, 6, 6, 6};
    for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
        json_t *s;
        size_t i;
        int found = 0;
        json_array_foreach(list, i, s) if (strcmp(ts_str(s, "id"), ids[k]) == 0)
        {
            found = 1;
            cr_assert_eq(ts_int(s, "chapter"), ch[k], "%s is not under chapter %d", ids[k], ch[k]);
        }
        cr_assert(found, "%s is not listed", ids[k]);
    }
}
