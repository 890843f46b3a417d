#!/usr/bin/env bash
# sim-long.sh BUILD — every app's simulation over seeds 1..SEEDS, in parallel.
#
#   make sim-long SEEDS=100000          (or: SEEDS=N JOBS=N scripts/sim-long.sh build)
#
# Runs, one campaign after the other, each over all cores (JOBS, default
# nproc) with xargs -P:
#   serve           the static server against hostile and slow HTTP clients
#   serve-pressure  the same with 60 clients on 24 descriptor slots
#   serve-scarce    ... and on 8
#   echo            the echo server: resets, EMFILE, short writes, slow readers
#   walk            the directory walker over the simulated tree, EIO
#   counter         the counter's timer (no clients: it must run to the time cap)
#   kv-machine      kv as a durable machine: disk faults, power losses, kills,
#                   restarts, snapshots, and the durability checker
# A seed passes when tests/sim/sim_lib.bash says so. Prints, per campaign, the
# seeds run, failures, wall time and seeds per second; then every failing seed
# as the command that reruns it and as a line for tests/sim/regressions.txt;
# then `N passed, N failed`. Exit 1 when a seed failed. The output of each
# failing seed is kept in BUILD/sim-long/ (SIM_TIMEOUT: seconds per seed, 300).
set -u
BUILD=${1:-build}
SEEDS=${SEEDS:-10000}
JOBS=${JOBS:-$(nproc)}
SIM_TIMEOUT=${SIM_TIMEOUT:-300}
HERE=$(cd "$(dirname "$0")/.." && pwd)
. "$HERE/tests/sim/sim_lib.bash"

for bin in "$BUILD/pluto" "$BUILD/tests/sim_kv"; do
    if [ ! -x "$bin" ]; then
        echo "sim-long: $bin is missing (make BUILD=$BUILD all $BUILD/tests/sim_kv)" >&2
        exit 2
    fi
done
LOGS=$BUILD/sim-long
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/fails.*

# One shell runs a batch of seeds (up to 50) one after the other; a failing
# seed leaves its output, and its line for regressions.txt, in LOGS.
batch() {                       # batch NAME APP ARGS... -- SEED...
    local name=$1 app=$2 seed rc out
    shift 2
    local args=()
    while [ "$1" != -- ]; do args+=("$1"); shift; done
    shift
    out=$(mktemp "${TMPDIR:-/tmp}/pluto-simlong.XXXXXX")
    for seed in "$@"; do
        sim_cmd "$BUILD" "$app" "$seed" "${args[@]}"
        timeout "$SIM_TIMEOUT" "${SIM_CMD[@]}" >"$out" 2>&1
        rc=$?
        if ! sim_judge "$app" "$rc" "$out"; then
            [ "$rc" -eq 124 ] && SIM_WHY="timed out after ${SIM_TIMEOUT}s"
            cp "$out" "$LOGS/$name.$seed.log"
            printf '%s\t%s\t%s\t%s\n' "$name" "$seed" "$SIM_WHY" "${SIM_CMD[*]}"
            printf '%s %s%s\n' "$app" "$seed" "${args[*]:+ ${args[*]}}" \
                >>"$LOGS/fails.$name.$seed"
        fi
    done
    rm -f "$out"
}
export -f batch sim_cmd sim_judge
export BUILD SIM_TIMEOUT LOGS

total_pass=0 total_fail=0
summary=()
# campaign NAME APP [ARGS...]: seeds 1..SEEDS over JOBS processes; one summary row.
campaign() {
    local name=$1
    shift
    local t0 t1 fails secs per
    per=$((SEEDS / (JOBS * 8)))
    per=$((per < 1 ? 1 : per > 50 ? 50 : per))
    t0=$(date +%s.%N)
    seq 1 "$SEEDS" | xargs -P "$JOBS" -n "$per" bash -c 'batch "$@"' _ "$name" "$@" -- \
        >"$LOGS/fails.$name.txt"
    t1=$(date +%s.%N)
    fails=$(grep -c . "$LOGS/fails.$name.txt")
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    summary+=("$(awk -v name="$name" -v n="$SEEDS" -v f="$fails" -v s="$secs" 'BEGIN {
        printf "%-15s %8d %7d %9.1f %9.1f %9.1f", name, n, f, s,
               (s > 0 ? n / s : 0), s * 1000 / n }')")
    echo "${summary[-1]}"
    total_pass=$((total_pass + SEEDS - fails))
    total_fail=$((total_fail + fails))
}

HEAD=$(printf '%-15s %8s %7s %9s %9s %9s' campaign seeds failed "wall s" "seeds/s" "s/1000")
echo "sim-long: seeds 1..$SEEDS per campaign, $JOBS jobs"
echo "$HEAD"
campaign serve serve
campaign serve-pressure serve --clients 60 --max-open 24
campaign serve-scarce serve --clients 60 --max-open 8
campaign echo echo
campaign walk walk
campaign counter counter
campaign kv-machine kv-machine

echo
echo "$HEAD"
printf '%s\n' "${summary[@]}"
if [ "$total_fail" -gt 0 ]; then
    echo
    echo "failing seeds: the command that reruns each, why it failed, and its line for"
    echo "tests/sim/regressions.txt (once fixed); their output is in $LOGS/:"
    sort -k1,1 -k2,2n "$LOGS"/fails.*.txt | while IFS=$'\t' read -r name seed why cmd; do
        echo "  $cmd"
        echo "      # $why"
        echo "      $(cat "$LOGS/fails.$name.$seed")"
    done
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
