// SPDX-License-Identifier: GPL-2.0
/*
 * ipcscope.bpf.c - kernel probes: what the scheduler, fork/exit/reap, signals and TCP did to
 * the scenario's own tasks.
 *
 * Every program first checks the `tracked` bitmap of tgids (which the fork probe extends to
 * descendants) and only then reserves, fills and submits a `struct ipcs_rec` on the ring
 * buffer, without waking the reader: the conductor drains on its frame timer.
 */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "ipcscope.h"

#define TASK_RUNNING 0
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define TCP_SYN_SENT 2
#define TCP_CLOSE 7
#define TCP_LISTEN 10

char LICENSE[] SEC("license") = "GPL";

/* Settings, written by the loader between open and load. */
const volatile __u32 self_tgid = 0;      /* the conductor: never reported */
const volatile __u64 wakeup_bytes = 0;   /* wake the reader only past this fill level */
const volatile bool wake_always = false; /* bench only: the default adaptive wakeups */

/* Records the kernel side could not reserve (read through the skeleton's bss). */
__u64 lost = 0;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, IPCS_RINGBUF_BYTES);
} events SEC(".maps");

/* The task tree we follow: one bit per tgid, in .bss so user space sets bits through the
 * skeleton's mmap and the hot path is a plain load (a hash lookup costs ~40 ns per switch). */
__u64 tracked[IPCS_TRACK_WORDS] = {};

/* Loopback TCP port (host order) -> 1 added by a LISTEN of a tracked task, 2 by the loader. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, IPCS_MAX_PORTS);
    __type(key, __u16);
    __type(value, __u8);
} ports SEC(".maps");

/* Socket cookie -> 1: sockets already being followed. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, IPCS_MAX_SOCKS);
    __type(key, __u64);
    __type(value, __u8);
} socks SEC(".maps");

/* tgid -> exit code: processes that died and are waiting to be reaped. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, IPCS_MAX_TRACKED);
    __type(key, __u32);
    __type(value, __u32);
} zombies SEC(".maps");

/* Kernels before 5.16 kept the CPU in task_struct, not in thread_info. */
struct task_struct___old {
    unsigned int cpu;
} __attribute__((preserve_access_index));

static __always_inline bool is_tracked(__u32 tgid)
{
    if (tgid == self_tgid)
        return false;
    return tracked[(tgid / 64) & (IPCS_TRACK_WORDS - 1)] & (1ull << (tgid % 64));
}

static __always_inline struct ipcs_rec *rec_reserve(__u16 kind, __s32 tgid, __s32 tid)
{
    struct ipcs_rec *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);

    if (!r) {
        __sync_fetch_and_add(&lost, 1);
        return NULL;
    }
    r->t = bpf_ktime_get_ns();
    r->kind = kind;
    r->cpu = bpf_get_smp_processor_id();
    r->pid = tgid;
    r->tid = tid;
    r->pad = 0;
    r->a = r->b = r->c = r->d = 0;
    return r;
}

static __always_inline struct ipcs_rec *task_reserve(__u16 kind, struct task_struct *t)
{
    return rec_reserve(kind, t->tgid, t->pid);
}

static __always_inline void rec_submit(struct ipcs_rec *r)
{
    __u64 flags = BPF_RB_NO_WAKEUP;

    if (wake_always)
        flags = 0;
    else if (wakeup_bytes && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > wakeup_bytes)
        flags = BPF_RB_FORCE_WAKEUP;
    bpf_ringbuf_submit(r, flags);
}

static __always_inline __u16 task_cpu(struct task_struct *p)
{
    if (bpf_core_field_exists(p->thread_info.cpu))
        return BPF_CORE_READ(p, thread_info.cpu);
    return BPF_CORE_READ((struct task_struct___old *)p, cpu);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
             unsigned int prev_state)
{
    struct ipcs_rec *r;

    if (is_tracked(prev->tgid)) {
        r = task_reserve(IPCS_SCHED_OUT, prev);
        if (r) {
            r->a = preempt || prev_state == TASK_RUNNING;
            r->b = prev_state;
            rec_submit(r);
        }
    }
    if (is_tracked(next->tgid)) {
        r = task_reserve(IPCS_SCHED_IN, next);
        if (r)
            rec_submit(r);
    }
    return 0;
}

static __always_inline int wakeup(__u16 kind, struct task_struct *p)
{
    struct ipcs_rec *r;

    if (!is_tracked(p->tgid))
        return 0;
    r = task_reserve(kind, p);
    if (!r)
        return 0;
    r->cpu = task_cpu(p);
    rec_submit(r);
    return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_sched_wakeup, struct task_struct *p)
{
    return wakeup(IPCS_WAKEUP, p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(on_sched_wakeup_new, struct task_struct *p)
{
    return wakeup(IPCS_WAKEUP_NEW, p);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
    __u32 ptgid = parent->tgid, ctgid = child->tgid;
    struct ipcs_rec *r;

    if (!is_tracked(ptgid))
        return 0;
    if (ctgid != ptgid)
        __sync_fetch_and_or(&tracked[(ctgid / 64) & (IPCS_TRACK_WORDS - 1)], 1ull << (ctgid % 64));

    r = task_reserve(IPCS_FORK, child);
    if (!r)
        return 0;
    r->a = ptgid;
    r->b = ctgid == ptgid;
    r->c = parent->pid;
    rec_submit(r);
    return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_sched_process_exec, struct task_struct *p, pid_t old_pid)
{
    struct ipcs_rec *r;

    if (!is_tracked(p->tgid))
        return 0;
    r = task_reserve(IPCS_EXEC, p);
    if (!r)
        return 0;
    bpf_get_current_comm(r->comm, sizeof(r->comm));
    r->c = old_pid;
    rec_submit(r);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_sched_process_exit, struct task_struct *p)
{
    __u32 tgid = p->tgid, code = p->exit_code;
    bool group_dead = BPF_CORE_READ(p, signal, live.counter) == 0;
    struct ipcs_rec *r;

    if (!is_tracked(tgid))
        return 0;
    if (group_dead)
        bpf_map_update_elem(&zombies, &tgid, &code, BPF_ANY);
    r = task_reserve(IPCS_EXIT, p);
    if (!r)
        return 0;
    r->a = code;
    r->b = group_dead;
    rec_submit(r);
    return 0;
}

/* Syscall numbers of wait4 and waitid, and where their arguments are in pt_regs. */
#if defined(__TARGET_ARCH_x86)
#define NR_WAIT4 61
#define NR_WAITID 247
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#elif defined(__TARGET_ARCH_arm64)
#define NR_WAIT4 260
#define NR_WAITID 95
#define SYSCALL_NR(regs) ((regs)->syscallno)
#endif
#define WNOWAIT 0x01000000
#define SIGINFO_PID_OFF 16

static __always_inline void reaped(__u32 tgid, __u32 reaper_tgid, __u32 reaper_tid)
{
    __u32 *code = bpf_map_lookup_elem(&zombies, &tgid);
    struct ipcs_rec *r;

    if (!code)
        return;
    r = rec_reserve(IPCS_REAP, tgid, tgid);
    if (r) {
        r->a = *code;
        r->b = reaper_tgid;
        r->c = reaper_tid;
        rec_submit(r);
    }
    bpf_map_delete_elem(&zombies, &tgid);
}

#ifdef NR_WAIT4
/* The reap, exactly when the parent collects it: wait4()/waitid() returning a zombie we saw
 * die. Any reaper counts (an orphan is collected by init or a subreaper, not tracked). */
SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
    long nr = SYSCALL_NR(regs);
    __u64 cur;
    __s32 pid = ret;

    if (nr != NR_WAIT4 && nr != NR_WAITID)
        return 0;
    if (ret < 0)
        return 0;
    if (nr == NR_WAITID) {
        char *infop = (char *)PT_REGS_PARM3_CORE_SYSCALL(regs);

        if (ret != 0 || !infop || (PT_REGS_PARM4_CORE_SYSCALL(regs) & WNOWAIT))
            return 0;
        if (bpf_probe_read_user(&pid, sizeof(pid), infop + SIGINFO_PID_OFF))
            return 0;
    }
    if (pid <= 0)
        return 0;
    cur = bpf_get_current_pid_tgid();
    reaped(pid, cur >> 32, (__u32)cur);
    return 0;
}
#endif

/* The task struct is freed (an RCU grace period after release_task). A zombie nobody waited
 * for (SIGCHLD ignored: the kernel reaped it at exit) is reported here, reaper 0. */
SEC("tp_btf/sched_process_free")
int BPF_PROG(on_sched_process_free, struct task_struct *p)
{
    __u32 tgid = p->tgid;

    if (p->pid != p->tgid || tgid == self_tgid)
        return 0;
    reaped(tgid, 0, 0);
    __sync_fetch_and_and(&tracked[(tgid / 64) & (IPCS_TRACK_WORDS - 1)], ~(1ull << (tgid % 64)));
    return 0;
}

/* Who sent a signal: a task (kill, tkill, sigqueue: si_pid), the kernel itself (0: a timer
 * such as alarm's, a fault, SEND_SIG_PRIV), or, for SIGCHLD, the child that ended. Not the
 * task the probe happens to run in: a timer interrupt runs in whatever task it interrupts. */
static __always_inline __s64 sender_of(struct kernel_siginfo *info, __s64 current_tgid)
{
    const int SI_USER_ = 0, SI_QUEUE_ = -1, SI_TKILL_ = -6;

    if ((unsigned long)info == 0) /* SEND_SIG_NOINFO: from user space, the current task */
        return current_tgid;
    if ((unsigned long)info == 1) /* SEND_SIG_PRIV: the kernel */
        return 0;
    int code = BPF_CORE_READ(info, si_code);
    int signo = BPF_CORE_READ(info, si_signo);
    if (code == SI_USER_ || code == SI_QUEUE_ || code == SI_TKILL_ || signo == 17 /* SIGCHLD */)
        return BPF_CORE_READ(info, _sifields._kill._pid);
    return 0; /* SI_KERNEL, SI_TIMER and the other kernel codes */
}

SEC("tp_btf/signal_generate")
int BPF_PROG(on_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
             int group, int result)
{
    __u64 cur = bpf_get_current_pid_tgid();
    struct ipcs_rec *r;

    if (!is_tracked(task->tgid) && !is_tracked(cur >> 32))
        return 0;
    r = task_reserve(IPCS_SIG_GENERATE, task);
    if (!r)
        return 0;
    r->a = sig;
    r->b = sender_of(info, cur >> 32);
    r->c = result;
    r->d = group;
    rec_submit(r);
    return 0;
}

SEC("tp_btf/signal_deliver")
int BPF_PROG(on_signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
    __u64 cur = bpf_get_current_pid_tgid();
    struct ipcs_rec *r;

    if (!is_tracked(cur >> 32))
        return 0;
    r = rec_reserve(IPCS_SIG_DELIVER, cur >> 32, (__u32)cur);
    if (!r)
        return 0;
    r->a = sig;
    r->b = BPF_CORE_READ(info, _sifields._kill._pid);
    r->c = (long)BPF_CORE_READ(ka, sa.sa_handler);
    rec_submit(r);
    return 0;
}

static __always_inline bool on_loopback(const struct sock *sk, __u16 family)
{
    if (family == AF_INET)
        return (BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr) & 0xff) == 127;
    if (family == AF_INET6) {
        struct in6_addr a = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);

        return !a.in6_u.u6_addr32[0] && !a.in6_u.u6_addr32[1] && !a.in6_u.u6_addr32[2] &&
               a.in6_u.u6_addr32[3] == bpf_htonl(1);
    }
    return false;
}

/* Decide whether a state change is ours: a socket we already follow, one a tracked task
 * is connecting or listening with (process context), or a loopback one on a watched port. */
static __always_inline bool sock_wanted(const struct sock *sk, __u64 cookie, int newstate,
                                        __u16 sport, __u16 dport, __u16 family)
{
    __u8 one = 1, two = 2;

    if (bpf_map_lookup_elem(&socks, &cookie))
        return true;
    if ((newstate == TCP_SYN_SENT || newstate == TCP_LISTEN) &&
        is_tracked(bpf_get_current_pid_tgid() >> 32)) {
        if (newstate == TCP_LISTEN && on_loopback(sk, family))
            bpf_map_update_elem(&ports, &sport, &one, BPF_NOEXIST);
        bpf_map_update_elem(&socks, &cookie, &two, BPF_ANY);
        return true;
    }
    if (!on_loopback(sk, family))
        return false;
    if (!bpf_map_lookup_elem(&ports, &sport) && !bpf_map_lookup_elem(&ports, &dport))
        return false;
    bpf_map_update_elem(&socks, &cookie, &one, BPF_ANY);
    return true;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_inet_sock_set_state, const struct sock *sk, const int oldstate, const int newstate)
{
    __u16 family, sport, dport;
    struct ipcs_rec *r;
    __u8 *owner;
    __u64 cookie;

    if (sk->sk_protocol != IPPROTO_TCP)
        return 0;
    family = sk->__sk_common.skc_family;
    sport = sk->__sk_common.skc_num;
    dport = bpf_ntohs(sk->__sk_common.skc_dport);
    cookie = bpf_get_socket_cookie((void *)sk);
    if (!sock_wanted(sk, cookie, newstate, sport, dport, family))
        return 0;

    if (newstate == TCP_CLOSE) {
        owner = bpf_map_lookup_elem(&ports, &sport);
        if (oldstate == TCP_LISTEN && owner && *owner == 1)
            bpf_map_delete_elem(&ports, &sport);
        bpf_map_delete_elem(&socks, &cookie);
    }
    r = rec_reserve(IPCS_TCP_STATE, bpf_get_current_pid_tgid() >> 32,
                    (__u32)bpf_get_current_pid_tgid());
    if (!r)
        return 0;
    r->a = newstate;
    r->b = oldstate;
    r->c = cookie;
    r->d = (__u64)sport << 48 | (__u64)dport << 32 | family;
    rec_submit(r);
    return 0;
}
