#!/usr/bin/env bash
# test_machine_crash.sh — durable machines killed with SIGKILL at random points.
#
#   tests/blackbox/test_machine_crash.sh BUILD_DIR        (e.g. build)
#
# kv: `pluto boot DIR kv --port 0`, then KV_ROUNDS times (default 50): 8
# clients PUT distinct keys one after the other on keep-alive connections
# (tests/blackbox/kv_crash.c), the machine is killed with SIGKILL after a
# random 0-200 ms and restarted with `pluto start DIR`; then every PUT that
# had been answered 204 in that round and in the round before must read back
# its value, the PUT in flight may be there or not, and nothing after it. The
# keys of the round before that are deleted (keeping the store small), and
# those deleted a round earlier, before this kill, must read 404.
# counter: `pluto boot DIR counter --interval-ms 5`, killed COUNTER_ROUNDS
# times (default 30) after a random 0-150 ms and restarted: across all the
# runs its lines count up by one and never go back, except that a restart may
# log again the last lines whose LOG answers were not durable yet (log lines
# are at least once across a crash, never before their cause is durable).
# KV_ROUNDS=1000 is the issue's thousand kill points; the time of each part
# is printed. Prints `ok - ...` / `not ok - ...` and `N passed, N failed`.
set -u

BUILD=${1:-build}
PLUTO=$BUILD/pluto
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENT=$BUILD/tests/kv_crash
KV_ROUNDS=${KV_ROUNDS:-50}
COUNTER_ROUNDS=${COUNTER_ROUNDS:-30}

. "$(dirname "$0")/../lib/report.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-mcrash.XXXXXX")
MPID=""
cleanup() {
    [ -n "$MPID" ] && kill -KILL "$MPID" 2>/dev/null
    local pids
    pids=$(jobs -pr)
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_pluto
mkdir -p "$BUILD/tests"
if [ ! -x "$CLIENT" ] || [ "$HERE/kv_crash.c" -nt "$CLIENT" ]; then
    if ! cc -O2 -Wall -Wextra -pthread -o "$CLIENT" "$HERE/kv_crash.c"; then
        not_ok "kv_crash.c compiles"
        finish
    fi
fi

# launch OUT ARGS...: pluto ARGS in the background (MPID), output to OUT
# (emptied here first: the shell would truncate it only in the child, after
# this one may have read the previous run's port from it).
launch() {
    local out=$1; shift
    : >"$out"
    "$PLUTO" "$@" >>"$out" 2>>"$TMP/err" &
    MPID=$!
}

# kv_port OUT: wait (up to 10 s) for the listening line in OUT; sets PORT.
kv_port() {
    local i line
    PORT=""
    for i in $(seq 1000); do
        line=$(grep -m1 '^kv listening on' "$1" 2>/dev/null)
        if [[ $line =~ :([0-9]+)/$ ]]; then
            PORT=${BASH_REMATCH[1]}
            return 0
        fi
        kill -0 "$MPID" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}

kill9() { kill -KILL "$MPID" 2>/dev/null; wait "$MPID" 2>/dev/null; MPID=""; }

# rand_sleep MS: sleep a random time from 0 to MS milliseconds.
rand_sleep() {
    sleep "$(awk -v r=$RANDOM -v max="$1" 'BEGIN { printf "%.3f", r / 32768 * max / 1000 }')"
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---- kv --------------------------------------------------------------------
M=$TMP/kv
ACKS=$TMP/acks
t0=$(date +%s.%N)
launch "$TMP/kv.out" boot "$M" kv --port 0
bad=""
for r in $(seq 1 "$KV_ROUNDS"); do
    if ! kv_port "$TMP/kv.out"; then
        bad="round $r: the machine did not listen: $(tail -n 3 "$TMP/err")"
        break
    fi
    "$CLIENT" put "$PORT" "$r" 8 "$ACKS" &
    load=$!
    rand_sleep 200
    kill9
    wait "$load"
    launch "$TMP/kv.out" start "$M"
    if ! kv_port "$TMP/kv.out"; then
        bad="round $r: start failed: $(tail -n 3 "$TMP/err")"
        break
    fi
    prev=$((r > 1 ? r - 1 : r))
    if ! out=$("$CLIENT" check "$PORT" "$ACKS" "$r" "$prev" 2>&1); then
        bad="round $r: $out"
        break
    fi
    if [ "$r" -ge 4 ] && ! out=$("$CLIENT" gone "$PORT" "$ACKS" $((r - 3)) 2>&1); then
        bad="round $r: $out"
        break
    fi
    if [ "$r" -ge 3 ] && ! out=$("$CLIENT" drop "$PORT" "$ACKS" $((r - 2)) 2>&1); then
        bad="round $r: $out"
        break
    fi
done
t1=$(date +%s.%N)
acked=$(cat "$ACKS".* 2>/dev/null | wc -l)
echo "# kv: $KV_ROUNDS kills in $(secs "$t0" "$t1") s, $acked PUTs answered 204"
check "kv: after each of $KV_ROUNDS SIGKILLs every PUT answered 204 reads back, nothing\
 after the one in flight, every DELETE answered stays done${bad:+: $bad}" [ -z "$bad" ]
if [ -z "$bad" ] && [ "$KV_ROUNDS" -ge 3 ]; then
    all=$("$CLIENT" gone "$PORT" "$ACKS" $(seq 1 $((KV_ROUNDS - 2))) 2>&1)
    check "kv: at the end every deleted round reads 404 ($all)" [ $? -eq 0 ]
fi
kill -TERM "$MPID" 2>/dev/null
wait "$MPID"
rc=$?
MPID=""
check "kv: SIGTERM stops the machine with exit code 0 (got $rc)" [ "$rc" -eq 0 ]
check "kv: inspect finds no damage" bash -c "'$PLUTO' inspect '$M' | grep -q '^damage     none'"

# ---- counter ---------------------------------------------------------------
C=$TMP/counter
OUT=$TMP/counter.out
: >"$OUT"
t0=$(date +%s.%N)
"$PLUTO" boot "$C" counter --interval-ms 5 >>"$OUT" 2>>"$TMP/err" &
MPID=$!
for r in $(seq 1 "$COUNTER_ROUNDS"); do
    rand_sleep 150
    kill9
    echo "-- restart" >>"$OUT"
    "$PLUTO" start "$C" >>"$OUT" 2>>"$TMP/err" &
    MPID=$!
done
sleep 0.2
kill -TERM "$MPID" 2>/dev/null
wait "$MPID"
MPID=""
t1=$(date +%s.%N)
lines=$(grep -c '^counter is at' "$OUT")
echo "# counter: $COUNTER_ROUNDS kills in $(secs "$t0" "$t1") s, $lines lines," \
     "last: $(grep '^counter is at' "$OUT" | tail -1)"
# Up by one within a run. A restart may log again the last few lines whose
# answers were not durable yet (at most 8 back), then goes on by one: never a
# gap, never further back.
verdict=$(awk '
    /^-- restart/ { restarted = 1; next }
    /^counter is at / {
        n = $4
        if (!seen) { if (n != 1) { print "the first line says " n; exit } seen = 1; last = 1; next }
        if (n == last + 1 || (restarted && n <= last && n >= last - 8)) {
            last = n; restarted = 0; next
        }
        print "after " last " came " n (restarted ? " (after a restart)" : ""); exit
    }' "$OUT")
check "counter: across $COUNTER_ROUNDS SIGKILLs it counts up by one, never back\
${verdict:+: $verdict}" \
    [ -z "$verdict" ] && [ "$lines" -gt 0 ]
check "counter: nothing but counts and restarts on stdout" \
    bash -c "! grep -Ev '^(counter is at [0-9]+|-- restart)$' '$OUT'"
finish
