#!/usr/bin/env bash
# bench_ui.sh - the dashboard's own CPU cost, measured on the real binary in tmux.
#
# 1. idle: prodcons held in step mode (nothing changes) for SECS seconds;
# 2. busy: prodcons free running (--delay 0, many items) at IPCSCOPE_FPS=10, beside
#    `htop -d 1` watching the same machine for the same time.
# Prints CPU seconds and percent of one core from /proc/PID/stat; asserts nothing.
# Usage: tests/bench/bench_ui.sh [path/to/ipcscope] [SECS]
# TODO: the 1000-thread workload of issue 3 needs a thread scenario (none exists yet).
set -euo pipefail
BIN=${1:-build/ipcscope}
SECS=${2:-20}
SOCK=ipcscope-bench-$$
HZ=$(getconf CLK_TCK)
trap 'tmux -L $SOCK kill-server >/dev/null 2>&1 || true' EXIT

# cpu_ticks PID: utime + stime
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# child_of PANE_PID COMM: the pid of the pane's child named COMM
child_of() { ps -o pid=,comm= --ppid "$1" | awk -v c="$2" '$2 == c { print $1; exit }'; }

# measure NAME WINDOW COMM: CPU of COMM in WINDOW over SECS
measure() {
    local pane pid t0 t1
    pane=$(tmux -L "$SOCK" display -p -t "$2" '#{pane_pid}')
    pid=$(child_of "$pane" "$3")
    [ -n "$pid" ] || pid=$pane
    t0=$(cpu_ticks "$pid")
    sleep "$SECS"
    t1=$(cpu_ticks "$pid")
    awk -v n="$1" -v d="$((t1 - t0))" -v hz="$HZ" -v s="$SECS" \
        'BEGIN { printf "%-28s %6.2f s CPU  %6.2f%% of a core\n", n, d / hz, 100 * d / hz / s }'
}

tmux -L "$SOCK" -f /dev/null new-session -d -s idle -x 160 -y 48 \
    "env LANG=C.UTF-8 TERM=tmux-256color $BIN run prodcons --step; sleep 600"
sleep 3
measure "ipcscope idle (step mode)" idle ipcscope &
wait

tmux -L "$SOCK" new-session -d -s busy -x 160 -y 48 \
    "env LANG=C.UTF-8 TERM=tmux-256color IPCSCOPE_FPS=10 $BIN run prodcons --delay 0 \
     --param items=1000000 --param producers=8 --param consumers=8; sleep 600"
tmux -L "$SOCK" new-session -d -s htop -x 160 -y 48 "htop -d 1; sleep 600"
sleep 3
measure "ipcscope busy (10 fps)" busy ipcscope &
measure "htop -d 1" htop htop &
wait
