#!/usr/bin/env bash
# tests/bench/bench_examples.sh BUILD_DIR [REPS] - what `ipcscope exec` costs a student's
# homework as a whole: each program in examples/ run plainly, under `ipcscope exec --no-bpf`
# and under `ipcscope exec` (with the eBPF probes when allowed), the three taking turns round
# by round so the machine's load reaches them alike. Prints the median wall time of the whole
# command (start and end included) of each and its ratio to the plain run. Run by
# scripts/bench; numbers, no verdicts. Left out: deadlock and stuck (they never end by design)
# and leftovers (it leaves IPC objects behind on purpose).
set -u
BUILD=${1:?usage: bench_examples.sh BUILD_DIR [REPS]}
REPS=${2:-5}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
IPCSCOPE=$BUILD/ipcscope
WORK=$(mktemp -d /tmp/ipcscope-bench-examples.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "?"}'; }

# wall_ms CMD...: runs it (stdin /dev/null, output discarded), prints its wall time in ms
wall_ms() {
    local t0 t1
    t0=${EPOCHREALTIME/./}
    timeout 120 "$@" </dev/null >/dev/null 2>&1
    t1=${EPOCHREALTIME/./}
    awk -v d=$((t1 - t0)) 'BEGIN {printf "%.1f\n", d / 1000}'
}

# does `ipcscope exec` load the probes here? The snapshot's sources say.
probes="probes off"
"$IPCSCOPE" exec --headless --json "$WORK/j.json" -- /bin/true 2>/dev/null
grep -q '"bpf": *true' "$WORK/j.json" 2>/dev/null && probes="with probes"
echo "examples: clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs; median of $REPS rounds, wall time of the whole command"
printf '  %-14s %10s %12s %7s %12s %7s\n' program plain "--no-bpf" ratio "$probes" ratio
for src in "$ROOT"/examples/*.c; do
    name=$(basename "$src" .c)
    case $name in deadlock | stuck | leftovers) continue ;; esac
    cc -O2 -pthread -o "$WORK/$name" "$src" -lrt 2>/dev/null || { echo "  $name: cc failed"; continue; }
    : >"$WORK/p" && : >"$WORK/n" && : >"$WORK/b"
    for ((i = 0; i < REPS; i++)); do
        (cd "$WORK" && wall_ms "./$name") >>"$WORK/p"
        (cd "$WORK" && wall_ms "$IPCSCOPE" exec --headless --no-bpf -- "./$name") >>"$WORK/n"
        (cd "$WORK" && wall_ms "$IPCSCOPE" exec --headless -- "./$name") >>"$WORK/b"
    done
    p=$(median <"$WORK/p") n=$(median <"$WORK/n") b=$(median <"$WORK/b")
    awk -v l="$name" -v p="$p" -v n="$n" -v b="$b" 'BEGIN {
        printf "  %-14s %7.1f ms %9.1f ms %6.2fx %9.1f ms %6.2fx\n", l, p, n, n / p, b, b / p }'
done
