#!/usr/bin/env bash
# bench_ui.sh - the dashboard's own costs, measured on the real binary in tmux.
#
# 1. idle: prodcons held in step mode (nothing changes) for SECS seconds: CPU % of a core.
# 2. 1000 threads: `run threads --param threads=1000`, free running (the TUI starts paced at
#    150 ms per action; `+` takes it to free running), while `htop -d 1` (10 refreshes a
#    second) watches the same threads at the same time, for SECS seconds: CPU of each and the
#    ratio (issue 3's target: at most 0.25x htop). Measured at the dashboard's default frame
#    rate (30 fps) and, beside it, at IPCSCOPE_FPS=10.
# 3. event -> frame latency: states in run mode with IPCSCOPE_BENCH_LATENCY=FILE; the TUI
#    writes the median and p90 of (frame drawn - event written by its worker) at exit.
# 4. time to first frame on a pty (bench_ttff): ipcscope with the eBPF probes, without them
#    (--no-bpf), and htop, 5 runs each (median, min, max).
# CPU comes from /proc/PID/stat (utime + stime of the ipcscope conductor or htop). Prints
# numbers, asserts nothing; says the clock source and the load average first.
# Usage: tests/bench/bench_ui.sh [path/to/ipcscope] [SECS]
set -euo pipefail
BIN=$(realpath "${1:-build/ipcscope}")
SECS=${2:-20}
SOCK=ipcscope-bench-$$
HZ=$(getconf CLK_TCK)
OUT=$(mktemp -d /tmp/ipcscope-bench-ui.XXXXXX)
trap 'tmux -L $SOCK kill-server >/dev/null 2>&1 || true; rm -rf "$OUT"' EXIT

tm() { tmux -L "$SOCK" "$@"; }

# cpu_ticks PID: utime + stime
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# pid_in WINDOW COMM: the pid of the pane's child named COMM (the pane itself when none)
pid_in() {
    local pane pid
    pane=$(tm display -p -t "$1" '#{pane_pid}')
    pid=$(ps -o pid=,comm= --ppid "$pane" | awk -v c="$2" '$2 == c { print $1; exit }')
    echo "${pid:-$pane}"
}

# measure WINDOW COMM: CPU seconds of COMM in WINDOW over SECS, into $OUT/WINDOW
measure() {
    local pid t0 t1
    pid=$(pid_in "$1" "$2")
    t0=$(cpu_ticks "$pid")
    sleep "$SECS"
    t1=$(cpu_ticks "$pid")
    awk -v d="$((t1 - t0))" -v hz="$HZ" 'BEGIN { printf "%.3f\n", d / hz }' >"$OUT/$1"
}

report() { # report LABEL CPU_SECONDS
    awk -v n="$1" -v c="$2" -v s="$SECS" \
        'BEGIN { printf "%-36s %7.2f s CPU  %6.2f%% of a core\n", n, c, 100 * c / s }'
}

# session NAME ARGS...: ipcscope ARGS in a 160x48 window NAME
session() {
    local name=$1
    shift
    tm -f /dev/null new-session -d -s "$name" -x 160 -y 48 \
        "env LANG=C.UTF-8 TERM=tmux-256color $* ; sleep 600"
}

# a session that outlives the measured ones: killing the last session stops the server, and
# a new session started at that moment fails ("server exited unexpectedly")
tm -f /dev/null new-session -d -s keep -x 80 -y 24 "sleep 3600"

echo "ipcscope UI benchmark: $SECS s per measurement, $(nproc) CPUs, $(uname -r)," \
    "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. idle
session idle "$BIN" run prodcons --step
sleep 3
measure idle ipcscope
report "ipcscope idle (prodcons, step mode)" "$(cat "$OUT/idle")"
tm kill-session -t idle

# 2. 1000 threads: ipcscope at FPS frames a second and htop -d 1 watching the same threads
busy_vs_htop() {
    local fps=$1 label
    label=$([ "$fps" = 30 ] && echo "30 fps (default)" || echo "$fps fps")
    session busy "IPCSCOPE_FPS=$fps $BIN" run threads --param threads=1000 --param daemon=0 \
        --param seconds="$LONG"
    sleep 1
    for _ in 1 2 3 4 5; do tm send-keys -t busy +; done
    tm new-session -d -s htop -x 160 -y 48 "htop -d 1; sleep 600"
    sleep 5
    NTH=$(ps -eLo comm= | grep -c '^Thread-' || true)
    measure busy ipcscope &
    measure htop htop &
    wait
    report "ipcscope watching $NTH threads, $label" "$(cat "$OUT/busy")"
    report "htop -d 1 watching the same threads" "$(cat "$OUT/htop")"
    awk -v a="$(cat "$OUT/busy")" -v b="$(cat "$OUT/htop")" -v l="$fps fps" \
        'BEGIN { printf "%-36s %7.2fx (target <= 0.25x)\n", "ratio ipcscope / htop, " l, (b > 0 ? a / b : 0) }'
    tm kill-session -t busy
    tm kill-session -t htop
    sleep 2 # the threads scenario winds down
}
LONG=$((SECS + 15))
busy_vs_htop 30
busy_vs_htop 10

# 3. event -> frame latency
session lat "IPCSCOPE_BENCH_LATENCY=$OUT/lat" "$BIN" run states --duration 10
for _ in $(seq 300); do [ -s "$OUT/lat" ] && break; sleep 0.1; done
if [ -s "$OUT/lat" ]; then
    awk '{ printf "%-36s median %.2f ms, p90 %.2f ms over %d events (a frame: %.1f ms)\n",
           "event -> frame latency (states)", $8, $10, $2, $6 }' "$OUT/lat"
else
    echo "event -> frame latency: no report"
fi

# 4. time to first frame, on a pty
TTFF=$(dirname "$BIN")/tests/bench_ttff
if [ -x "$TTFF" ]; then
    first() {
        printf '%-36s ' "$1"
        shift
        "$TTFF" 5 "$@" | sed 's/^RESULT ttff_ms /first frame /; s/ (/ ms (/'
    }
    first "ipcscope run prodcons --step" Timeline -- "$BIN" run prodcons --step
    first "  the same, --no-bpf" Timeline -- "$BIN" run prodcons --step --no-bpf
    first "htop" "Load average" -- htop
else
    echo "time to first frame: $TTFF not built"
fi
