/*
 * test_bpf.c - the eBPF source against real worker processes this test forks and tracks.
 *
 * Each test opens the probes, forks gated children (they wait on a pipe until tracked),
 * lets them run a behaviour (spin, die, get a signal, talk TCP) and checks the records.
 * Needs root (or CAP_BPF + CAP_PERFMON); otherwise the tests skip with the reason.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include "support.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sources/bpf.h"

#define MS 1000000ull
#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_FIN_WAIT1 4
#define TCP_CLOSE_WAIT 8
#define TCP_LISTEN 10

struct evbuf {
    struct ev *v;
    size_t n, cap;
};

static void collect(const struct ev *e, void *arg)
{
    struct evbuf *b = arg;

    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4096;
        b->v = realloc(b->v, b->cap * sizeof(*b->v));
        cr_assert_not_null(b->v);
    }
    b->v[b->n++] = *e;
}

/* Drain the ring for ms milliseconds (the conductor's frame timer, in small). */
static void drain_for(struct bpf_source *s, struct evbuf *b, unsigned ms)
{
    uint64_t end = ts_now_ns() + ms * MS;

    do {
        cr_assert_geq(bpf_source_drain(s, collect, b), 0);
        ts_sleep_ms(10);
    } while (ts_now_ns() < end);
    cr_assert_geq(bpf_source_drain(s, collect, b), 0);
}

static void skip_if_built_without_bpf(void)
{
#ifndef HAVE_BPF
    cr_skip_test("built without bpf");
#endif
}

static struct bpf_source *open_or_skip(void)
{
    struct bpf_source *s = NULL;
    char why[160] = "";
    int err;

    if (geteuid() != 0)
        cr_skip_test("needs root/CAP_BPF: not running as root");
    err = bpf_source_open(&s, why, sizeof(why));
    if (err == -EPERM || err == -EACCES)
        cr_skip_test("needs root/CAP_BPF: %s", why);
    if (err == -ENOTSUP)
        cr_skip_test("%s", why);
    cr_assert_eq(err, 0, "bpf_source_open: %d (%s)", err, why);
    return s;
}

/* Fork a child that waits for release() before running body(arg), then _exit(0). */
static pid_t spawn(void (*body)(void *), void *arg, int *gate)
{
    int p[2];
    pid_t pid;
    char c;

    cr_assert_eq(pipe(p), 0);
    pid = fork();
    if (pid < 0)
        cr_assert_fail("fork: %s", strerror(errno));
    if (pid == 0) {
        close(p[1]);
        if (read(p[0], &c, 1) != 1)
            _exit(99);
        close(p[0]);
        body(arg);
        _exit(0);
    }
    close(p[0]);
    *gate = p[1];
    return pid;
}

static void release(int gate)
{
    cr_assert_eq(write(gate, "g", 1), 1);
    close(gate);
}

static void pin_to(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

static int wait_ok(pid_t pid)
{
    int st = 0;

    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int by_time(const void *a, const void *b)
{
    const struct ev *x = a, *y = b;

    return x->t < y->t ? -1 : x->t > y->t;
}

static size_t count(const struct evbuf *b, unsigned kind, pid_t tid, int64_t val)
{
    size_t n = 0;

    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].kind == kind && b->v[i].tid == tid && (val < 0 || b->v[i].val == val))
            n++;
    return n;
}

/* --- two spinners on one CPU ------------------------------------------------------------ */

struct spin_report {
    uint64_t start, end, cpu_ns;
};

static void spin_body(void *arg)
{
    struct spin_report *r = arg;
    struct timespec c0, c1;

    pin_to(0);
    sched_yield();
    r->start = ts_now_ns();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    while (ts_now_ns() < r->start + 400 * MS)
        ;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    r->end = ts_now_ns();
    r->cpu_ns = (uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000000ull + (uint64_t)c1.tv_nsec -
                (uint64_t)c0.tv_nsec;
}

struct acct {
    uint64_t run, ready, blocked, exit_t;
    uint64_t unseen; /* spans that ended in a sched_out of a task not seen switched in */
    unsigned ins, outs_ready, hidden;
};

/* Replay one task's records from t0 (where it was running) to its exit.
 * Some kernels do not report every switch: on the sandboxes this project is developed on, a
 * switch away from a thread of the host agent (pid 1, `process_api`, nice -10) fires no
 * sched_switch at all, neither for ftrace nor for BPF (seen with tracefs: 3 switches into it,
 * none out of it). A task it preempted is then seen to leave the CPU twice with no switch-in
 * between. The span from the last record to such a sched_out was partly ready and partly
 * running, in an unknown proportion: it is kept apart (unseen) and counted (hidden). */
static struct acct account(const struct evbuf *b, pid_t tid, uint64_t t0)
{
    enum { RUN, READY, BLOCKED } st = RUN;
    struct acct a = {0};
    uint64_t last = t0;

    for (size_t i = 0; i < b->n && !a.exit_t; i++) {
        const struct ev *e = &b->v[i];
        uint64_t *bucket = st == RUN ? &a.run : st == READY ? &a.ready : &a.blocked;

        if (e->tid != tid || e->t < t0)
            continue;
        if (e->kind != EV_SCHED_IN && e->kind != EV_SCHED_OUT && e->kind != EV_WAKEUP &&
            e->kind != EV_PROC_EXIT)
            continue;
        if (e->kind == EV_SCHED_OUT && st != RUN) {
            bucket = &a.unseen;
            a.hidden++;
        }
        *bucket += e->t - last;
        last = e->t;
        if (e->kind == EV_SCHED_IN) {
            st = RUN;
            a.ins++;
        } else if (e->kind == EV_SCHED_OUT) {
            st = e->val ? READY : BLOCKED;
            a.outs_ready += e->val == 1;
        } else if (e->kind == EV_WAKEUP && st == BLOCKED) {
            st = READY;
        } else if (e->kind == EV_PROC_EXIT) {
            a.exit_t = e->t;
        }
    }
    return a;
}

/* The load average, for a failure's message (the machine's other work skews times). */
static const char *load_average(void)
{
    static char buf[64];
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f || !fgets(buf, sizeof(buf), f))
        snprintf(buf, sizeof(buf), "?");
    if (f)
        fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

Test(bpf, pinned_spinners_are_ready_and_running_and_times_add_up, .timeout = 20)
{
    struct bpf_source *s = open_or_skip();
    struct spin_report *rep =
        mmap(NULL, 2 * sizeof(*rep), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct evbuf b = {0};
    pid_t pid[2];
    int gate[2];

    cr_assert_neq(rep, MAP_FAILED);
    pin_to(sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0);
    for (int i = 0; i < 2; i++) {
        pid[i] = spawn(spin_body, &rep[i], &gate[i]);
        cr_assert_eq(bpf_source_track(s, pid[i]), 0);
    }
    release(gate[0]);
    release(gate[1]);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(wait_ok(pid[i]), 0);
    drain_for(s, &b, 50);
    qsort(b.v, b.n, sizeof(*b.v), by_time);

    for (int i = 0; i < 2; i++) {
        struct acct a = account(&b, pid[i], rep[i].start);
        uint64_t life = a.exit_t - rep[i].start;
        uint64_t sum = a.run + a.ready + a.blocked + a.unseen;
        double off = (double)sum - (double)life, cpu = (double)rep[i].cpu_ns;

        cr_log_info("task %d: run %.1f ready %.1f blocked %.1f unseen %.1f life %.1f ms, cpu "
                    "%.1f ms, %u in, %u preempted, %u switch-ins not reported",
                    pid[i], a.run / 1e6, a.ready / 1e6, a.blocked / 1e6, a.unseen / 1e6, life / 1e6,
                    cpu / 1e6, a.ins, a.outs_ready, a.hidden);
        cr_assert_neq(a.exit_t, 0, "no proc_exit for %d", pid[i]);
        cr_assert_geq(a.ins, 1, "no sched_in for %d", pid[i]);
        cr_assert_geq(a.outs_ready, 1, "no preempted sched_out for %d", pid[i]);
        cr_assert_gt(a.ready, 50 * MS, "task %d was hardly ever ready", pid[i]);
        cr_assert_leq(off < 0 ? -off : off, 0.05 * (double)life,
                      "run+ready+blocked != life (task %d: run %.1f ready %.1f blocked %.1f "
                      "unseen %.1f life %.1f ms)",
                      pid[i], a.run / 1e6, a.ready / 1e6, a.blocked / 1e6, a.unseen / 1e6,
                      life / 1e6);
        /* the task's own CPU time lies between the running seen and that plus the spans a
         * hidden switch-in fell in (5% either way); with every switch reported, run = cpu */
        cr_assert(a.run <= 1.05 * cpu && cpu <= 1.05 * (double)(a.run + a.unseen),
                  "run time disagrees with the task's own CPU time (task %d: run %.1f ms by the "
                  "probes, +%.1f ms in spans with a switch-in not reported (%u), %.1f ms by "
                  "CLOCK_THREAD_CPUTIME_ID; ready %.1f, %u in, %u preempted; records lost %llu, "
                  "probe runs missed %llu; load %s)",
                  pid[i], a.run / 1e6, a.unseen / 1e6, a.hidden, cpu / 1e6, a.ready / 1e6, a.ins,
                  a.outs_ready, (unsigned long long)bpf_source_lost(s),
                  (unsigned long long)bpf_source_missed(s), load_average());
    }
    free(b.v);
    bpf_source_close(s);
}

/* --- zombie lifetime ------------------------------------------------------------------- */

static void lazy_parent_body(void *arg)
{
    pid_t *child = arg;
    pid_t c = fork();

    if (c == 0)
        _exit(7);
    *child = c;
    ts_sleep_ms(300);
    waitpid(c, NULL, 0);
}

static const struct ev *find(const struct evbuf *b, unsigned kind, pid_t pid)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].kind == kind && b->v[i].pid == pid)
            return &b->v[i];
    return NULL;
}

Test(bpf, zombie_lives_until_the_parent_reaps_it, .timeout = 10)
{
    struct bpf_source *s = open_or_skip();
    pid_t *child =
        mmap(NULL, sizeof(pid_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    const struct ev *ex, *rp, *fk;
    struct evbuf b = {0};
    int gate;
    pid_t parent;

    cr_assert_neq(child, MAP_FAILED);
    parent = spawn(lazy_parent_body, child, &gate);
    cr_assert_eq(bpf_source_track(s, parent), 0);
    release(gate);
    cr_assert_eq(wait_ok(parent), 0);
    drain_for(s, &b, 50);
    qsort(b.v, b.n, sizeof(*b.v), by_time);

    fk = find(&b, EV_PROC_FORK, *child);
    ex = find(&b, EV_PROC_EXIT, *child);
    rp = find(&b, EV_TASK_REAPED, *child);
    cr_assert_not_null(fk, "no proc_fork for the child %d", *child);
    cr_assert_eq(fk->aux, parent);
    cr_assert_eq(fk->item, 0, "a process, not a thread");
    cr_assert_not_null(ex, "no proc_exit for the child");
    cr_assert_not_null(rp, "no task_reaped for the child");
    cr_assert_eq(ex->val, 7);
    cr_assert_eq(rp->val, 7);
    cr_assert_eq(rp->aux, parent, "reaper %lld, expected %d", (long long)rp->aux, parent);
    cr_log_info("zombie lifetime %.1f ms", (rp->t - ex->t) / 1e6);
    cr_assert_geq(rp->t - ex->t, 250 * MS);
    cr_assert_leq(rp->t - ex->t, 350 * MS);

    rp = find(&b, EV_TASK_REAPED, parent);
    cr_assert_not_null(rp, "the parent's own reap (by this test) is reported too");
    cr_assert_eq(rp->aux, getpid());
    free(b.v);
    bpf_source_close(s);
}

/* --- signals --------------------------------------------------------------------------- */

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
    (void)sig;
    got_usr1 = 1;
}

static void pause_body(void *arg)
{
    (void)arg;
    while (!got_usr1)
        pause();
}

Test(bpf, kill_is_generated_then_delivered_once, .timeout = 10)
{
    struct bpf_source *s = open_or_skip();
    struct sigaction sa = {.sa_handler = on_usr1};
    const struct ev *gen = NULL, *del = NULL;
    struct evbuf b = {0};
    int gate;
    pid_t c;

    sigaction(SIGUSR1, &sa, NULL); /* inherited by the child; harmless here */
    c = spawn(pause_body, NULL, &gate);
    cr_assert_eq(bpf_source_track(s, c), 0);
    release(gate);
    ts_sleep_ms(100);
    cr_assert_eq(kill(c, SIGUSR1), 0);
    cr_assert_eq(wait_ok(c), 0);
    drain_for(s, &b, 50);
    qsort(b.v, b.n, sizeof(*b.v), by_time);

    cr_assert_eq(count(&b, EV_SIG_GENERATE, c, SIGUSR1), 1);
    cr_assert_eq(count(&b, EV_SIG_DELIVER, c, SIGUSR1), 1);
    for (size_t i = 0; i < b.n; i++) {
        if (b.v[i].tid == c && b.v[i].val == SIGUSR1 && b.v[i].kind == EV_SIG_GENERATE)
            gen = &b.v[i];
        if (b.v[i].tid == c && b.v[i].val == SIGUSR1 && b.v[i].kind == EV_SIG_DELIVER)
            del = &b.v[i];
    }
    cr_assert_eq(gen->aux, getpid(), "sender");
    cr_assert_eq(gen->item, 0, "result: delivered");
    cr_assert_lt(gen->t, del->t, "generated before delivered");
    cr_assert_eq(del->aux, getpid(), "si_pid");
    free(b.v);
    bpf_source_close(s);
}

/* --- filtering ------------------------------------------------------------------------- */

static void nap_body(void *arg)
{
    (void)arg;
    for (int i = 0; i < 30; i++)
        ts_sleep_ms(10);
}

static void busy_body(void *arg)
{
    uint64_t end = ts_now_ns() + 300 * MS;

    (void)arg;
    pin_to(0);
    while (ts_now_ns() < end)
        if (fork() == 0) /* children of an untracked process stay untracked */
            _exit(0);
        else
            wait(NULL);
}

Test(bpf, busy_process_outside_the_tree_adds_nothing, .timeout = 10)
{
    struct bpf_source *s = open_or_skip();
    struct evbuf b = {0};
    int gate_a, gate_b;
    pid_t a, busy;
    size_t mine = 0;

    a = spawn(nap_body, NULL, &gate_a);
    busy = spawn(busy_body, NULL, &gate_b);
    cr_assert_eq(bpf_source_track(s, a), 0);
    release(gate_a);
    release(gate_b);
    cr_assert_eq(wait_ok(a), 0);
    cr_assert_eq(wait_ok(busy), 0);
    drain_for(s, &b, 50);

    for (size_t i = 0; i < b.n; i++) {
        cr_assert_neq(b.v[i].pid, busy, "record kind %u from the untracked process", b.v[i].kind);
        if (b.v[i].kind == EV_SIG_GENERATE) /* SIGCHLD from the napper: its own act */
            cr_assert_eq(b.v[i].aux, a, "signal to the conductor from %lld", (long long)b.v[i].aux);
        else
            cr_assert_neq(b.v[i].pid, getpid(), "record kind %u about the conductor", b.v[i].kind);
        mine += b.v[i].pid == a;
    }
    cr_assert_geq(mine, 30, "the tracked napper should have ~60 switch records");
    cr_assert_eq(bpf_source_lost(s), 0);
    free(b.v);
    bpf_source_close(s);
}

/* --- clean failures -------------------------------------------------------------------- */

Test(bpf, open_fails_cleanly_without_btf, .timeout = 10)
{
    struct bpf_source *s = (struct bpf_source *)&s;
    char why[160] = "";
    int err;

    skip_if_built_without_bpf();
    setenv("IPCSCOPE_BTF_PATH", "/nonexistent", 1);
    err = bpf_source_open(&s, why, sizeof(why));
    unsetenv("IPCSCOPE_BTF_PATH");
    cr_assert_lt(err, 0);
    cr_assert_null(s);
    cr_assert_not_null(strstr(why, "BTF"), "reason: %s", why);
    bpf_source_close(NULL);
}

Test(bpf, open_says_when_the_btf_file_is_not_btf, .timeout = 10)
{
    struct bpf_source *s = (struct bpf_source *)&s;
    char why[160] = "";
    char path[] = "/tmp/ipcscope-test-btf-XXXXXX";
    int fd = mkstemp(path);

    skip_if_built_without_bpf();
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "not BTF at all, but long enough for a header\n", 45), 45);
    close(fd);
    setenv("IPCSCOPE_BTF_PATH", path, 1);
    int err = bpf_source_open(&s, why, sizeof(why));
    unsetenv("IPCSCOPE_BTF_PATH");
    unlink(path);
    cr_assert_lt(err, 0);
    cr_assert_null(s);
    cr_assert_not_null(strstr(why, "not a BTF file"), "reason: %s", why);
}

/* A kernel without one of the probes' tracepoints: that program is left off, the rest load.
 * The kernel's own BTF with the tracepoint's typedef renamed stands in for such a kernel
 * (the loader looks the names up in the BTF file it is given). */
Test(bpf, a_tracepoint_the_kernel_lacks_is_left_off, .timeout = 30)
{
    static const char gone[] = "btf_trace_signal_deliver";
    char path[] = "/tmp/ipcscope-test-btf-XXXXXX";
    struct bpf_source *s;
    size_t len = 0, cap = 8u << 20;
    char *btf = malloc(cap);
    FILE *f = fopen("/sys/kernel/btf/vmlinux", "rb");

    skip_if_built_without_bpf();
    if (!f)
        cr_skip_test("no kernel BTF to copy: /sys/kernel/btf/vmlinux: %s", strerror(errno));
    cr_assert_not_null(btf);
    for (size_t got; (got = fread(btf + len, 1, cap - len, f)) > 0;) {
        len += got;
        if (len == cap)
            cr_assert_not_null(btf = realloc(btf, cap *= 2));
    }
    fclose(f);
    char *name = memmem(btf, len, gone, sizeof(gone)); /* with its NUL: the whole name */
    cr_assert_not_null(name, "the kernel's BTF has no %s", gone);
    name[sizeof(gone) - 2] = 'X';
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, btf, len), (ssize_t)len);
    close(fd);
    free(btf);

    setenv("IPCSCOPE_BTF_PATH", path, 1);
    s = open_or_skip();
    unsetenv("IPCSCOPE_BTF_PATH");
    unlink(path);
    cr_assert_eq(bpf_source_prog_stats(s, "on_signal_deliver", NULL, NULL), -ENOENT,
                 "the program of the missing tracepoint was loaded");
    cr_assert_eq(bpf_source_prog_stats(s, "on_signal_generate", NULL, NULL), 0);
    cr_assert_eq(bpf_source_prog_stats(s, "on_sched_switch", NULL, NULL), 0);
    bpf_source_close(s);
}

/* Anonymous memory resident in this process, in KB (RssAnon in /proc/self/status). */
static long rss_anon_kb(void)
{
    char line[128];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");

    cr_assert_not_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* Loading reads the kernel's BTF (~5 MB, twice) into heap memory prepared for it: that memory
 * is given back once the probes are loaded, not kept for the rest of the run. */
Test(bpf, loading_gives_back_the_memory_the_btf_took, .timeout = 30)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    cr_skip_test("a sanitizer's allocator keeps freed memory (quarantine): RSS says nothing");
#endif
    skip_if_built_without_bpf();
    long before = rss_anon_kb();
    struct bpf_source *s = open_or_skip();
    long after = rss_anon_kb();
    cr_assert_geq(before, 0, "no RssAnon in /proc/self/status");
    cr_assert_lt(after - before, 4096, "RssAnon grew by %ld KB loading the probes", after - before);
    bpf_source_close(s);
}

Test(bpf, open_fails_cleanly_as_nobody, .timeout = 10)
{
    pid_t c;

    skip_if_built_without_bpf();
    if (geteuid() != 0)
        cr_skip_test("needs root to drop to nobody");
    c = fork();
    if (c < 0)
        cr_assert_fail("fork: %s", strerror(errno));
    if (c == 0) {
        struct bpf_source *s = NULL;
        char why[160] = "";
        int err;

        if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
            _exit(3);
        err = bpf_source_open(&s, why, sizeof(why));
        fprintf(stderr, "as nobody: %d (%s)\n", err, why);
        if (err == 0)
            _exit(1);
        _exit(strstr(why, "CAP_BPF") || strstr(why, "permission") ? 0 : 2);
    }
    cr_assert_eq(wait_ok(c), 0, "open as nobody must fail with a CAP_BPF/permission reason");
}

/* --- TCP ------------------------------------------------------------------------------- */

struct tcp_pair {
    int port_pipe[2];
};

static void server_body(void *arg)
{
    struct tcp_pair *tp = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int ls = socket(AF_INET, SOCK_STREAM, 0), cs;
    char buf[64];
    uint16_t port;

    if (ls < 0 || bind(ls, (struct sockaddr *)&sa, len) || listen(ls, 4) ||
        getsockname(ls, (struct sockaddr *)&sa, &len))
        _exit(2);
    port = ntohs(sa.sin_port);
    if (write(tp->port_pipe[1], &port, sizeof(port)) != sizeof(port))
        _exit(3);
    cs = accept(ls, NULL, NULL);
    if (cs < 0)
        _exit(4);
    while (read(cs, buf, sizeof(buf)) > 0)
        ;
    close(cs);
    close(ls);
}

static void client_body(void *arg)
{
    struct tcp_pair *tp = arg;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    uint16_t port;
    int fd;

    if (read(tp->port_pipe[0], &port, sizeof(port)) != sizeof(port))
        _exit(2);
    sa.sin_port = htons(port);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
        _exit(3);
    if (write(fd, "hello", 5) != 5)
        _exit(4);
    close(fd);
}

static int seen_state(const struct evbuf *b, int state)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i].kind == EV_TCP_STATE && b->v[i].val == state)
            return 1;
    return 0;
}

/* Per socket (cookie), each change starts from the state the previous one ended in. */
static size_t check_chains(const struct evbuf *b)
{
    uint64_t keys[16];
    int64_t last[16];
    size_t nk = 0;

    for (size_t i = 0; i < b->n; i++) {
        const struct ev *e = &b->v[i];
        size_t k = 0;

        if (e->kind != EV_TCP_STATE)
            continue;
        while (k < nk && keys[k] != (uint64_t)e->extra)
            k++;
        if (k == nk) {
            cr_assert_lt(nk, 16);
            keys[nk++] = (uint64_t)e->extra;
        } else {
            cr_assert_eq(e->item, last[k], "socket %llx: %lld -> %lld after %lld",
                         (unsigned long long)keys[k], (long long)e->item, (long long)e->val,
                         (long long)last[k]);
        }
        last[k] = e->val;
    }
    return nk;
}

Test(bpf, loopback_tcp_states_are_reported_per_socket, .timeout = 10)
{
    struct bpf_source *s = open_or_skip();
    struct tcp_pair tp;
    struct evbuf b = {0};
    int gate_s, gate_c;
    pid_t srv, cli;

    cr_assert_eq(pipe(tp.port_pipe), 0);
    srv = spawn(server_body, &tp, &gate_s);
    cli = spawn(client_body, &tp, &gate_c);
    cr_assert_eq(bpf_source_track(s, srv), 0);
    cr_assert_eq(bpf_source_track(s, cli), 0);
    release(gate_s);
    release(gate_c);
    cr_assert_eq(wait_ok(cli), 0);
    cr_assert_eq(wait_ok(srv), 0);
    drain_for(s, &b, 100);
    qsort(b.v, b.n, sizeof(*b.v), by_time);

    cr_assert(seen_state(&b, TCP_LISTEN), "LISTEN");
    cr_assert(seen_state(&b, TCP_SYN_SENT), "SYN_SENT");
    cr_assert(seen_state(&b, TCP_ESTABLISHED), "ESTABLISHED");
    cr_assert(seen_state(&b, TCP_FIN_WAIT1), "FIN_WAIT1");
    cr_assert(seen_state(&b, TCP_CLOSE_WAIT), "CLOSE_WAIT");
    cr_assert_geq(check_chains(&b), 3, "listener, client and accepted socket");
    free(b.v);
    bpf_source_close(s);
}
