#!/usr/bin/env bash
# bench_ui.sh - the dashboard's own costs, measured on the real binary in tmux.
#
# 1. idle: prodcons held in step mode (nothing changes) for SECS seconds: CPU % of a core.
# 2. 1000 threads: `run threads --param threads=1000` at IPCSCOPE_FPS=10, free running (the
#    TUI starts paced at 150 ms per action; `+` takes it to free running), while `htop -d 1`
#    (10 refreshes a second) watches the same threads at the same time, for SECS seconds:
#    CPU of each and the ratio (issue 3's target: at most 0.25x htop).
# 3. event -> frame latency: states in run mode with IPCSCOPE_BENCH_LATENCY=FILE; the TUI
#    writes the median and p90 of (frame drawn - event written by its worker) at exit.
# CPU comes from /proc/PID/stat (utime + stime of the ipcscope conductor or htop). Prints
# numbers, asserts nothing. Usage: tests/bench/bench_ui.sh [path/to/ipcscope] [SECS]
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

echo "ipcscope UI benchmark: $SECS s per measurement, $(nproc) CPUs, $(uname -r)"

# 1. idle
session idle "$BIN" run prodcons --step
sleep 3
measure idle ipcscope
report "ipcscope idle (prodcons, step mode)" "$(cat "$OUT/idle")"
tm kill-session -t idle

# 2. 1000 threads: ipcscope at 10 fps and htop -d 1 watching the same threads at once
LONG=$((SECS + 15))
session busy "IPCSCOPE_FPS=10 $BIN" run threads --param threads=1000 --param daemon=0 \
    --param seconds="$LONG"
sleep 1
for _ in 1 2 3 4 5; do tm send-keys -t busy +; done
tm new-session -d -s htop -x 160 -y 48 "htop -d 1; sleep 600"
sleep 5
NTH=$(ps -eLo comm= | grep -c '^Thread-' || true)
measure busy ipcscope &
measure htop htop &
wait
report "ipcscope watching $NTH threads, 10 fps" "$(cat "$OUT/busy")"
report "htop -d 1 watching the same threads" "$(cat "$OUT/htop")"
awk -v a="$(cat "$OUT/busy")" -v b="$(cat "$OUT/htop")" \
    'BEGIN { printf "%-36s %7.2fx (target <= 0.25x)\n", "ratio ipcscope / htop", (b > 0 ? a / b : 0) }'
tm kill-session -t busy
tm kill-session -t htop

# 3. event -> frame latency
session lat "IPCSCOPE_BENCH_LATENCY=$OUT/lat" "$BIN" run states --duration 10
for _ in $(seq 300); do [ -s "$OUT/lat" ] && break; sleep 0.1; done
if [ -s "$OUT/lat" ]; then
    awk '{ printf "%-36s median %.2f ms, p90 %.2f ms over %d events (a frame: %.1f ms)\n",
           "event -> frame latency (states)", $8, $10, $2, $6 }' "$OUT/lat"
else
    echo "event -> frame latency: no report"
fi
