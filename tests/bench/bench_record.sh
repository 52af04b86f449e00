#!/usr/bin/env bash
# bench_record.sh - what recording costs a busy run, and traces at scale.
#
# 1. Recording cost: `run prodcons` with 16 producers and 16 consumers and ITEMS items, RUNS
#    times each without a recording and with --record FILE.zst, alternating (so a change in
#    the machine's load hits both alike): the median wall times, their ratio (target
#    <= 1.05x), the same for the CPU time of the whole run (conductor, writer thread and
#    workers: less sensitive to other work on the machine), and bytes per event on disk
#    (target <= 30 B), for .zst and for plain JSONL.
# 2. Scale: one run with BIG_ITEMS items (10^6: the issue's ~3 GiB, ~21 M events) recorded as
#    plain JSON Lines; then `export --perfetto` (time, peak memory, events exported; target
#    <= 64 MiB), `replay --headless --json` (time, peak memory) and bench_trace replay
#    (load, jumps anywhere, steps, memory; targets <= 256 MiB and <= 1 s a jump).
# Prints numbers, asserts nothing. Usage: bench_record.sh BUILD_DIR [ITEMS] [RUNS] [BIG_ITEMS]
set -uo pipefail
BUILD=$(realpath "${1:-build}")
BIN=$BUILD/ipcscope
ITEMS=${2:-200000}
RUNS=${3:-3}
BIG=${4:-1000000}
OUT=$(mktemp -d /tmp/ipcscope-bench-record.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
PARAMS="--param producers=16 --param consumers=16 --param items"

echo "ipcscope recording benchmark: $(nproc) CPUs, clocksource" \
    "$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource), load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"

# "WALL CPU" seconds of one headless run (extra arguments appended)
wall() {
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e %U %S" -o "$OUT/time" "$BIN" run prodcons --headless $PARAMS="$1" \
        "${@:2}" >/dev/null 2>"$OUT/err" || echo "run failed: $(cat "$OUT/err")" >&2
    awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$OUT/time"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
col() { awk -v c="$1" '{ print $c }' "$2"; }
events_of() { # the end line's event count (plain or zstd)
    if [[ $1 == *.zst ]]; then zstd -q -d -c "$1"; else cat "$1"; fi | tail -1 |
        sed -n 's/.*"events":\([0-9]*\).*/\1/p'
}

# 1. recording cost
: >"$OUT/none"
: >"$OUT/zst"
for _ in $(seq "$RUNS"); do
    wall "$ITEMS" >>"$OUT/none"
    wall "$ITEMS" --record "$OUT/t.jsonl.zst" >>"$OUT/zst"
done
wall "$ITEMS" --record "$OUT/t.jsonl" >/dev/null
n_zst=$(events_of "$OUT/t.jsonl.zst")
n_plain=$(events_of "$OUT/t.jsonl")
none=$(col 1 "$OUT/none" | median)
zst=$(col 1 "$OUT/zst" | median)
none_cpu=$(col 2 "$OUT/none" | median)
zst_cpu=$(col 2 "$OUT/zst" | median)
printf '%-52s %s s wall, %s s CPU (runs: %s)\n' "prodcons 16x16, $ITEMS items, no recording" \
    "$none" "$none_cpu" "$(col 1 "$OUT/none" | tr '\n' ' ')"
printf '%-52s %s s wall, %s s CPU (runs: %s)\n' "  the same, --record FILE.zst" "$zst" "$zst_cpu" \
    "$(col 1 "$OUT/zst" | tr '\n' ' ')"
awk -v a="$zst" -v b="$none" 'BEGIN { printf "%-52s %.3fx (target <= 1.05x)\n", "  wall time with / without", a / b }'
awk -v a="$zst_cpu" -v b="$none_cpu" 'BEGIN { printf "%-52s %.3fx\n", "  CPU time with / without", a / b }'
awk -v s="$(stat -c %s "$OUT/t.jsonl.zst")" -v n="$n_zst" \
    'BEGIN { printf "%-52s %.1f B/event (%d events, %.1f MiB; target <= 30 B)\n", "  on disk, .zst", s / n, n, s / 1048576 }'
awk -v s="$(stat -c %s "$OUT/t.jsonl")" -v n="$n_plain" \
    'BEGIN { printf "%-52s %.1f B/event (%d events, %.1f MiB)\n", "  on disk, plain JSON Lines", s / n, n, s / 1048576 }'
echo "RESULT record_ratio $(awk -v a="$zst" -v b="$none" 'BEGIN { printf "%.3f", a / b }')"
echo "RESULT record_cpu_ratio $(awk -v a="$zst_cpu" -v b="$none_cpu" 'BEGIN { printf "%.3f", a / b }')"
echo "RESULT record_zst_bytes $(awk -v s="$(stat -c %s "$OUT/t.jsonl.zst")" -v n="$n_zst" 'BEGIN { printf "%.1f", s / n }')"
"$BUILD/tests/bench_trace" replay "$OUT/t.jsonl.zst" | sed -n 's/^  /  .zst replay: /p' | head -4
rm -f "$OUT"/t.jsonl*

# 2. scale
echo
big=$OUT/big.jsonl
t=$(wall "$BIG" --record "$big" | col 1 /dev/stdin)
n_big=$(events_of "$big")
printf '%-52s %s s, %.2f GiB, %s events\n' "prodcons 16x16, $BIG items, --record plain" "$t" \
    "$(awk -v s="$(stat -c %s "$big")" 'BEGIN { print s / 1073741824 }')" "$n_big"
/usr/bin/time -f "%e %M" -o "$OUT/time" "$BIN" export "$big" --perfetto /dev/null 2>"$OUT/err"
read -r secs kib <"$OUT/time"
printf '%-52s %s s, peak %d MiB (target <= 64 MiB); %s\n' "export --perfetto" "$secs" \
    "$((kib / 1024))" "$(grep -o 'all [0-9]* events' "$OUT/err" || head -1 "$OUT/err")"
echo "RESULT export_peak_mib $((kib / 1024))"
/usr/bin/time -f "%e %M" -o "$OUT/time" "$BIN" replay "$big" --headless --json >/dev/null 2>"$OUT/err"
read -r secs kib <"$OUT/time"
printf '%-52s %s s, peak %d MiB (target <= 256 MiB)\n' "replay --headless --json" "$secs" \
    "$((kib / 1024))"
echo "RESULT replay_headless_peak_mib $((kib / 1024))"
"$BUILD/tests/bench_trace" replay "$big"
