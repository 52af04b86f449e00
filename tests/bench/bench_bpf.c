/*
 * bench_bpf.c - what the eBPF probes cost: a same-CPU pipe ping-pong between two processes
 * with the probes detached and attached (tracking both), and the probes' own run time per
 * event from the kernel's BPF stats.
 *
 * Standalone; prints one line per measurement. Needs root (prints a skip line otherwise).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sources/bpf.h"

#define ROUNDS 100000
#define REPEATS 3
#define STATS_PATH "/proc/sys/kernel/bpf_stats_enabled"

struct pingpong {
    pid_t ping, pong;
    int gate[2];   /* released by writing to gate[1] */
    int result[2]; /* ping writes its ns per round trip here */
};

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pin_to(int cpu)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

/* One side of the ping-pong: wait for the gate, then bounce a byte ROUNDS times. */
static void player(int gate, int in, int out, int result)
{
    uint64_t t0;
    double ns;
    char c = 'x';

    pin_to(0);
    if (read(gate, &c, 1) != 1)
        _exit(1);
    t0 = now_ns();
    for (int i = 0; i < ROUNDS; i++) {
        if (result >= 0 && write(out, &c, 1) != 1)
            _exit(2);
        if (read(in, &c, 1) != 1)
            _exit(3);
        if (result < 0 && write(out, &c, 1) != 1)
            _exit(4);
    }
    ns = (double)(now_ns() - t0) / ROUNDS;
    if (result >= 0 && write(result, &ns, sizeof(ns)) != sizeof(ns))
        _exit(5);
    _exit(0);
}

static int pingpong_start(struct pingpong *pp)
{
    int a[2], b[2];

    if (pipe(pp->gate) || pipe(pp->result) || pipe(a) || pipe(b))
        return -errno;
    pp->ping = fork();
    if (pp->ping == 0)
        player(pp->gate[0], b[0], a[1], pp->result[1]);
    pp->pong = fork();
    if (pp->pong == 0)
        player(pp->gate[0], a[0], b[1], -1);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    close(pp->gate[0]);
    close(pp->result[1]);
    return pp->ping > 0 && pp->pong > 0 ? 0 : -1;
}

static void count_ev(const struct ev *e, void *arg)
{
    (void)e;
    ++*(uint64_t *)arg;
}

/* Release the players, drain on a ~60 Hz frame timer until ping reports. ns per round trip. */
static double pingpong_finish(struct pingpong *pp, struct bpf_source *s, uint64_t *records)
{
    int ep = epoll_create1(0), fd = s ? bpf_source_fd(s) : -1;
    struct epoll_event ev = {.events = EPOLLIN};
    double ns = -1;

    if (fd >= 0)
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    if (write(pp->gate[1], "gg", 2) != 2)
        return -1;
    close(pp->gate[1]);
    while (waitpid(pp->ping, NULL, WNOHANG) == 0) {
        epoll_wait(ep, &ev, 1, 16);
        if (s)
            bpf_source_drain(s, count_ev, records);
    }
    waitpid(pp->pong, NULL, 0);
    if (s)
        bpf_source_drain(s, count_ev, records);
    if (read(pp->result[0], &ns, sizeof(ns)) != sizeof(ns))
        ns = -1;
    close(pp->result[0]);
    close(ep);
    return ns;
}

/* One ping-pong run; with s, both players are tracked. */
static double run_once(struct bpf_source *s, uint64_t *records)
{
    struct pingpong pp;

    if (pingpong_start(&pp))
        return -1;
    if (s) {
        bpf_source_track(s, pp.ping);
        bpf_source_track(s, pp.pong);
    }
    return pingpong_finish(&pp, s, records);
}

static int stats_get(void)
{
    FILE *f = fopen(STATS_PATH, "r");
    int v = -1;

    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static void stats_set(int v)
{
    FILE *f = fopen(STATS_PATH, "w");

    if (f) {
        fprintf(f, "%d\n", v);
        fclose(f);
    }
}

static void print_prog(struct bpf_source *s, const char *name, const char *label)
{
    uint64_t ns = 0, cnt = 0;

    if (bpf_source_prog_stats(s, name, &ns, &cnt) == 0 && cnt)
        printf("bpf  %-22s %10llu runs  %7.1f ns/run\n", label, (unsigned long long)cnt,
               (double)ns / (double)cnt);
}

static double best(double a, double b)
{
    return a > 0 && (b <= 0 || a < b) ? a : b;
}

int main(void)
{
    double off = -1, on = -1, t;
    uint64_t records = 0, lost;
    struct bpf_source *s = NULL;
    int stats_was;
    char why[160];

    if (geteuid() != 0) {
        printf("bench_bpf: skip (needs root/CAP_BPF)\n");
        return 0;
    }
    pin_to(sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0);
    if (bpf_source_open(&s, why, sizeof(why)) != 0) {
        printf("bench_bpf: skip (bpf: off: %s)\n", why);
        return 0;
    }
    stats_was = stats_get();
    stats_set(1);

    for (int i = 0; i < REPEATS; i++) {
        off = best(off, run_once(NULL, NULL));
        t = run_once(s, &records);
        on = best(on, t);
    }
    lost = bpf_source_lost(s);
    printf("pingpong same-CPU round trip: detached %.0f ns, attached %.0f ns, ratio %.3f "
           "(+%.1f%%)\n",
           off, on, on / off, (on / off - 1) * 100);
    printf("records: %.2f per round trip, %llu lost\n", (double)records / (REPEATS * ROUNDS),
           (unsigned long long)lost);
    print_prog(s, NULL, "all programs");
    print_prog(s, "on_sched_switch", "sched_switch");
    print_prog(s, "on_sched_wakeup", "sched_wakeup");
    print_prog(s, "on_sys_exit", "sys_exit (reap)");

    stats_set(stats_was < 0 ? 0 : stats_was);
    bpf_source_close(s);
    return 0;
}
