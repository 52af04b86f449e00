/*
 * ipcscope.h - the records the eBPF probes (ipcscope.bpf.c) send to user space.
 *
 * Shared by the BPF side and the loader (src/sources/bpf.c), so it uses only plain
 * fixed-width types and no vmlinux.h. The loader turns each record into a `struct ev`.
 */
#ifndef IPCSCOPE_PROBES_H
#define IPCSCOPE_PROBES_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Record kinds (the probe's own numbering; the loader maps them onto enum ev_kind). */
enum ipcs_kind {
    IPCS_SCHED_IN = 1, /* on a CPU: cpu */
    IPCS_SCHED_OUT,    /* off a CPU: a = 1 preempted (still runnable), 0 blocked; b = prev_state */
    IPCS_WAKEUP,       /* made runnable: cpu = target cpu */
    IPCS_WAKEUP_NEW,   /* a new task made runnable: cpu = target cpu */
    IPCS_FORK,         /* pid/tid = child; a = parent tgid; b = 1 thread; c = parent tid */
    IPCS_EXEC,         /* comm (over a, b) = new comm; c = old tid */
    IPCS_EXIT,         /* a = exit_code (wait-status form); b = 1 last thread of the group */
    IPCS_REAP, /* pid = reaped tgid; a = exit_code; b = reaper tgid (0: kernel, at exit); c = its
                  tid */
    IPCS_SIG_GENERATE, /* pid/tid = target; a = signal; b = sender tgid (0: the kernel itself;
                          SIGCHLD: the child); c = result; d = group */
    IPCS_SIG_DELIVER,  /* pid/tid = receiver; a = signal; b = si_pid (sender) */
    IPCS_TCP_STATE,    /* a = new state; b = old state; c = socket cookie; d = ports, family */
};

/* IPCS_TCP_STATE d: sport << 48 | dport << 32 | family */
#define IPCS_TCP_SPORT(d) ((__u16)((d) >> 48))
#define IPCS_TCP_DPORT(d) ((__u16)((d) >> 32))
#define IPCS_TCP_FAMILY(d) ((__u16)(d))

#define IPCS_COMM_LEN 16

/* One ring-buffer record: 56 bytes (64 with the ring's own header). */
struct ipcs_rec {
    __u64 t;    /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
    __u16 kind; /* enum ipcs_kind */
    __u16 cpu;  /* CPU the probe ran on, or the target CPU (wakeups) */
    __s32 pid;  /* tgid of the subject task */
    __s32 tid;  /* its thread id */
    __u32 pad;
    union {
        struct {
            __s64 a, b, c, d;
        };
        char comm[IPCS_COMM_LEN];
    };
};

/* Map sizes, shared so the loader can check what it fills. */
#define IPCS_MAX_TRACKED 8192              /* zombies awaiting their reap */
#define IPCS_TRACK_WORDS ((1u << 22) / 64) /* tracked-tgid bitmap: PID_MAX_LIMIT bits */
#define IPCS_MAX_PORTS 256
#define IPCS_MAX_SOCKS 4096
#define IPCS_RINGBUF_BYTES (8u << 20)

#endif
