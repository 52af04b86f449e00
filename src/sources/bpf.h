/*
 * bpf.h - the eBPF source: kernel truth about the scenario's tasks (scheduling, fork, exit,
 * reap, signals, TCP states), read from the probes in probes/ through a BPF ring buffer.
 *
 * Optional: when the build has no BPF, or the kernel, BTF or privileges are missing,
 * bpf_source_open fails with a short human reason the UI shows as `bpf: off (reason)`.
 */
#ifndef IPCSCOPE_SOURCES_BPF_H
#define IPCSCOPE_SOURCES_BPF_H

#include <stddef.h>
#include <stdint.h>

#include "../event.h"

struct bpf_source;

/* Open, set rodata, load, attach. Mounts tracefs at /sys/kernel/tracing if root and not
 * mounted. The calling process (the conductor) is never the subject of a record, even when
 * tracked (signals tracked tasks send to it, such as SIGCHLD, are reported).
 * Honours IPCSCOPE_BTF_PATH (default /sys/kernel/btf/vmlinux): a missing file fails with
 * "no BTF at PATH" before loading. IPCSCOPE_BPF_DEBUG=1 shows libbpf's messages on stderr;
 * IPCSCOPE_BPF_WAKE_ALWAYS=1 (bench only) wakes the reader on every record instead of only
 * when the ring is half full.
 * On failure returns -errno (or -1), *out = NULL, and writes a short human reason into why
 * (e.g. "needs CAP_BPF", "no BTF at /x", "built without bpf"). 0 on success. */
int bpf_source_open(struct bpf_source **out, char *why, size_t whylen);

/* Follow this tgid and (via the fork probe) every process it forks from now on. Call it
 * right after fork(), before letting the child run its body: earlier events are not seen.
 * A tgid is forgotten by the kernel side when its task struct is freed (after the reap).
 * 0 or -errno. */
int bpf_source_track(struct bpf_source *s, int tgid);

/* Also report TCP sockets on loopback whose local or remote port is port (host order).
 * Listening sockets of tracked tasks are watched automatically; this is for servers the
 * scenario did not start. 0 or -errno. */
int bpf_source_watch_port(struct bpf_source *s, uint16_t port);

/* The ring buffer's epoll fd. Records are submitted without waking readers, so the fd only
 * becomes readable when the ring is half full: drain on a frame timer as well. */
int bpf_source_fd(const struct bpf_source *s);

/* Consume everything available, converting each record to struct ev (src EV_SRC_BPF,
 * task EV_NO_TASK, obj EV_NO_OBJ, t = bpf_ktime_get_ns = CLOCK_MONOTONIC ns) and calling
 * cb for each, in ring order (per-CPU order; merge by t if needed). Fields per kind:
 *   EV_SCHED_IN     aux=cpu
 *   EV_SCHED_OUT    val=1 preempted (ready) / 0 blocked; item=raw prev_state; aux=cpu
 *   EV_WAKEUP(_NEW) aux=target cpu
 *   EV_PROC_FORK    pid/tid=child; aux=parent pid; item=1 thread; extra=parent tid
 *   EV_PROC_EXEC    text=new comm (EVF_TEXT)
 *   EV_PROC_EXIT    val=exit status or 128+signal; item=raw wait status; aux=1 last thread
 *   EV_TASK_REAPED  pid=tid=reaped process; val=status as above; aux=reaper pid (0: the
 *                   kernel reaped it at exit, SIGCHLD ignored); item=reaper tid
 *   EV_SIG_GENERATE pid/tid=target; val=signal; aux=sender pid; item=result
 *                   (0 delivered, 1 ignored, 2 already pending, ...); extra=group
 *   EV_SIG_DELIVER  pid/tid=receiver; val=signal; aux=si_pid; item=handler (0 DFL, 1 IGN)
 *   EV_TCP_STATE    val=new state; item=old state (TCP_* numbering); extra=socket cookie
 *                   (the key: one socket, one cookie); aux=sport<<48|dport<<32|family;
 *                   pid/tid=whoever was current (often wrong in softirq: key by extra)
 * Returns the number of records, or -errno. */
int bpf_source_drain(struct bpf_source *s, void (*cb)(const struct ev *e, void *arg), void *arg);

/* Records the kernel side could not reserve because the ring was full. */
uint64_t bpf_source_lost(const struct bpf_source *s);

/* Probe runs the kernel skipped (a probe already running on that CPU: recursion_misses of
 * every program), each a record that was never written. */
uint64_t bpf_source_missed(const struct bpf_source *s);

/* Total run time (ns) and run count of all our BPF programs since load. Needs
 * kernel.bpf_stats_enabled=1 while they run (zeros otherwise). 0 or -errno. */
int bpf_source_stats(const struct bpf_source *s, uint64_t *run_ns, uint64_t *run_cnt);

/* The same for one program (e.g. "on_sched_switch"; NULL = all of them): -ENOENT when no
 * such program is loaded (one whose tracepoint this kernel lacks is left off). */
int bpf_source_prog_stats(const struct bpf_source *s, const char *prog_name, uint64_t *run_ns,
                          uint64_t *run_cnt);

/* Detach, unload and free. Accepts NULL. */
void bpf_source_close(struct bpf_source *s);

#endif
