#!/usr/bin/env bash
# tests/bench/bench_exec.sh BUILD_DIR [REPS] - what following a program costs: the same two
# programs run plainly, under `ipcscope exec` (without and with the eBPF probes), under
# `strace -f` and under `ltrace -f`. Run by scripts/bench; numbers, no verdicts.
#
# exec_mutex (exec_sync_loop.c run as `exec_sync_loop mutex`): 4 threads x 200,000 uncontended
# lock/unlock pairs (a mutex each), and 1 thread x 2,000,000. exec_sem (`exec_sync_loop sem`):
# 1 thread x 1,000,000 sem_wait/sem_post pairs on a semaphore of value 1. exec_spin (`exec_sync_loop
# spin`): 1 thread x 2,000,000 pthread_spin_lock/unlock pairs. `shared`: 2 threads x 500,000
# pairs on one mutex (semaphore) and one counter, so they do wait for each other.
# exec_prodcons: 2 producers, 2 consumers, 8 slots, a mutex and two condition variables.
# exec_sem_buffer: the same with three semaphores (empty, full, and one as the mutex).
# exec_pingpong: 2 threads x 20,000 rounds taking turns through two semaphores (every call
# hands a token to the other thread: the cost of a hand-off, not of a call). Then the hand-off
# programs again while one busy loop per CPU runs, plain and followed under the same hog.
# exec_pipe: a parent writes 200,000 messages of 64 bytes into a pipe, its child reads them
# (every call a pipe read or write, each recorded with the bytes left in the pipe).
# `start` is /bin/true: the wall time of a program that does nothing is what starting costs.
# `start, alternating` (tests/bench/bench_start.c, START_RUNS rounds, default 40) measures the
# same with the three variants taking turns round by round, so the machine's load reaches
# them alike: medians, the difference and ratio to plain /bin/true, and the probes' column
# only when they load.
# Each configuration runs REPS times (default 5); the medians of the whole command's wall
# time and of the program's own work time (it prints work_ms) are shown, with the ratio to
# the plain run, and for ipcscope the records its last run kept and dropped. ltrace -f is
# two to three orders of magnitude slower, so it runs 1/100 of the work and its time is shown
# scaled up by 100 (marked "x100").
set -u
BUILD=${1:?usage: bench_exec.sh BUILD_DIR [REPS]}
REPS=${2:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IPCSCOPE=$BUILD/ipcscope
WORK=$(mktemp -d /tmp/ipcscope-bench-exec.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

for p in exec_sync_loop exec_prodcons exec_sem_buffer exec_pingpong exec_pipe; do
    cc -O2 -pthread -o "$WORK/$p" "$ROOT/tests/bench/$p.c" || { echo "bench_exec: cc $p failed"; exit 1; }
done

# the command a configuration's NAME runs: exec_mutex, exec_sem and exec_spin are modes of exec_sync_loop
prog_of() { # NAME; sets PROG
    case $1 in
    exec_mutex) PROG=("$WORK/exec_sync_loop" mutex) ;;
    exec_sem) PROG=("$WORK/exec_sync_loop" sem) ;;
    exec_spin) PROG=("$WORK/exec_sync_loop" spin) ;;
    start) PROG=(/bin/true) ;; # nothing to follow: what starting and ending costs (not the
        # shell builtin: the plain run must start a process too)
    *) PROG=("$WORK/$1") ;;
    esac
}

# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "?"}'; }

# run_cfg LABEL PROGRAM_ARGS... -- COMMAND_PREFIX...: REPS runs; prints "wall_ms work_ms"
run_cfg() {
    local walls=() works=() out t0 t1
    local prog=("${@:2}") i
    for ((i = 0; i < REPS; i++)); do
        t0=${EPOCHREALTIME/./} # microseconds, read without starting a process (date would
        out=$("${PREFIX[@]}" "${prog[@]}" 2>&1 </dev/null)
        t1=${EPOCHREALTIME/./} # add its own start, ~5 ms here, to every run)
        walls+=($((t1 - t0)))
        works+=("$(printf '%s\n' "$out" | grep -o 'work_ms [0-9.]*' | tail -1 | awk '{print $2}')")
        # ipcscope's summary: "... N events (M DROPPED ...)" - the last run's is kept
        LAST_EVENTS=$(printf '%s\n' "$out" | grep -o '[0-9]* events\( ([0-9]* DROPPED\)\?' | tail -1 |
            sed 's/ events/ records/; s/ (\([0-9]*\) DROPPED/, \1 dropped/')
    done
    printf '%s %s\n' "$(printf '%s\n' "${walls[@]}" | median | awk '{printf "%.1f", $1/1000}')" \
        "$(printf '%s\n' "${works[@]}" | grep . | median)"
}

row() { # LABEL WALL WORK PLAIN_WALL PLAIN_WORK [NOTE]
    awk -v l="$1" -v w="$2" -v k="$3" -v pw="$4" -v pk="$5" -v note="${6:-}" 'BEGIN {
        rw = (pw > 0 && w != "?") ? sprintf("%.2fx", w / pw) : "-";
        rk = (pk > 0 && k != "?" && k != "") ? sprintf("%.2fx", k / pk) : "-";
        printf "  %-34s %10s ms %7s %12s ms %7s %s\n", l, w, rw, k, rk, note }'
}

bench_one() { # NAME ARGS...
    local name=$1 plain p_wall p_work r
    shift
    prog_of "$name"
    echo
    echo "$name $*  (median of $REPS; wall = the whole command, work = the program's own loop)"
    printf '  %-34s %13s %7s %15s %7s\n' "" "wall" "ratio" "work" "ratio"
    PREFIX=()
    plain=$(run_cfg plain "${PROG[@]}" "$@")
    p_wall=${plain% *}
    p_work=${plain#* }
    row "plain" "$p_wall" "$p_work" "$p_wall" "$p_work"
    PREFIX=("$IPCSCOPE" exec --headless --no-bpf --)
    run_cfg x "${PROG[@]}" "$@" >"$WORK/r"
    r=$(cat "$WORK/r")
    row "ipcscope exec --no-bpf" "${r% *}" "${r#* }" "$p_wall" "$p_work" "(${LAST_EVENTS:-?})"
    if [ "$p_work" = "?" ]; then # no work of its own: what ipcscope adds is the difference
        echo "  ipcscope exec --no-bpf adds $(awk -v a="${r% *}" -v b="$p_wall" 'BEGIN{printf "%.1f", a-b}') ms to the command"
        echo "RESULT ${name}_nobpf_added_ms $(awk -v a="${r% *}" -v b="$p_wall" 'BEGIN{printf "%.1f", a-b}')"
    else
        echo "RESULT ${name}_$(echo "$*" | tr ' ' _)_nobpf_work_ratio $(awk -v a="${r#* }" -v b="$p_work" 'BEGIN{printf "%.2f", a/b}')"
    fi
    if [ "$name" != exec_prodcons ] && [ "${1:-}" = 1 ]; then # one thread: work time is CPU time
        awk -v a="${r#* }" -v b="$p_work" -v n="$2" 'BEGIN {
            printf "  one thread: each followed call (lock, unlock, wait, post) costs %.1f ns more than plainly\n",
                (a - b) * 1e6 / (2 * n) }'
    fi
    PREFIX=("$IPCSCOPE" exec --headless --)
    run_cfg x "${PROG[@]}" "$@" >"$WORK/r"
    r=$(cat "$WORK/r")
    row "ipcscope exec (probes if allowed)" "${r% *}" "${r#* }" "$p_wall" "$p_work" "(${LAST_EVENTS:-?})"
    if [ "$p_work" = "?" ]; then
        echo "  ipcscope exec (probes if allowed) adds $(awk -v a="${r% *}" -v b="$p_wall" 'BEGIN{printf "%.1f", a-b}') ms to the command"
        echo "RESULT ${name}_probes_added_ms $(awk -v a="${r% *}" -v b="$p_wall" 'BEGIN{printf "%.1f", a-b}')"
    fi
    if command -v strace >/dev/null; then
        PREFIX=(strace -f -o /dev/null)
        r=$(run_cfg x "${PROG[@]}" "$@")
        row "strace -f" "${r% *}" "${r#* }" "$p_wall" "$p_work"
    else
        echo "  strace -f: not installed"
    fi
}

# ltrace -f on 1/100 of the work, once (it takes minutes even so).
ltrace_one() { # NAME SCALED_ARGS...
    local name=$1 t0 t1 out work
    shift
    prog_of "$name"
    if ! command -v ltrace >/dev/null; then
        echo "  ltrace -f: not installed"
        return
    fi
    t0=${EPOCHREALTIME/./}
    out=$(timeout 600 ltrace -f -o /dev/null "${PROG[@]}" "$@" 2>&1 </dev/null)
    t1=${EPOCHREALTIME/./}
    work=$(printf '%s\n' "$out" | grep -o 'work_ms [0-9.]*' | awk '{print $2 * 100}')
    echo "  ltrace -f, 1/100 of the work ($name $*): wall $(((t1 - t0) / 1000)) ms;" \
        "work x100 = ${work:-?} ms"
}

echo "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
bench_one start # `true`: ipcscope's own start and end (with the probes: loading them)
echo
if [ -x "$BUILD/tests/bench_start" ]; then
    IPCSCOPE=$IPCSCOPE "$BUILD/tests/bench_start" "${START_RUNS:-40}"
else
    echo "start, alternating: $BUILD/tests/bench_start is not built"
fi
bench_one exec_mutex 4 200000
bench_one exec_mutex 1 2000000 # one thread, long enough (~30 ms plain) to time a pair's cost
bench_one exec_sem 1 1000000   # a semaphore as a lock: take and post back, nobody waiting
bench_one exec_spin 1 2000000  # a spin lock nobody else wants
# the homework: two threads count to a million under one mutex (semaphore), waiting for each other
bench_one exec_mutex 2 500000 shared
bench_one exec_sem 2 500000 shared
bench_one exec_sem 4 250000 shared # more threads than CPUs (on 2 CPUs)
bench_one exec_pingpong 20000 # ... and two threads taking turns, a hand-off each call
ltrace_one exec_mutex 4 2000
bench_one exec_prodcons 50000
bench_one exec_sem_buffer 50000
bench_one exec_pipe 200000 # a pipe of small messages between two processes
ltrace_one exec_prodcons 500

# A machine with no CPU to spare: the hand-off programs again while one busy loop per CPU runs
# (plain and ipcscope under the same hog). A waiter that watches before it sleeps takes time
# from the thread it waits for there; ipcscope sees the crowd and has its waiters sleep at once.
HOGS=()
for _ in $(seq "$(nproc)"); do
    (while :; do :; done) &
    HOGS+=($!)
done
trap 'kill "${HOGS[@]}" 2>/dev/null; rm -rf "$WORK"' EXIT
sleep 1
echo
echo "under a CPU hog of $(nproc) busy loops (load average $(cut -d' ' -f1-3 /proc/loadavg))"
bench_one exec_pingpong 20000
bench_one exec_sem_buffer 50000
bench_one exec_prodcons 50000
bench_one exec_sem 2 500000 shared
kill "${HOGS[@]}" 2>/dev/null
wait "${HOGS[@]}" 2>/dev/null
