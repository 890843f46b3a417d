#!/usr/bin/env bash
# bench/instr.sh — user-space instructions per cached keep-alive request, counted by
# callgrind: a figure that does not move with the machine's load, so that a change to the
# hot path shows as a number. Called by bench/run.sh (workload `instr`); runs alone too:
#
#   bash bench/instr.sh [PLUTO]          (default build/pluto)
#
# For each of INSTR_SERVERS (`uring` and `epoll`: pluto -w 1 on that backend; `ceiling`:
# bench/ceiling.c), two runs under `valgrind --tool=callgrind`, each serving one
# connection of tests/blackbox/keepalive_client.c (one request at a time, the next sent
# when the whole response is in) asking for an 849-byte file:
#   A: INSTR_WARM requests (start, the first miss that caches the file, stop)
#   B: INSTR_WARM + INSTR_N requests
# and reports (B - A) / INSTR_N: start-up, the miss and shutdown cancel out. Kernel work
# (the system calls themselves) is not counted: this is pluto's own code per request.
# Valgrind 3.19 lacks openat2, so pluto runs with bench/openat2_shim.c preloaded (see
# there); a cached request opens nothing, so the count is the same.
#
# Environment: INSTR_N=20000 INSTR_WARM=300 INSTR_PORT=18099 (127.0.0.1)
#   INSTR_FILE=/64k.bin   another file of bench/mksite.sh's site (default /small.html)
#   INSTR_SERVERS="uring epoll ceiling"
#   INSTR_OUT=FILE   append one row per server: instr NAME N A B PER_REQUEST
# Prints one line per server; exits 1 when a server could not be measured (the others
# are). About 10 s.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PLUTO=${1:-$ROOT/build/pluto}
N=${INSTR_N:-20000}
WARM=${INSTR_WARM:-300}
FILE=${INSTR_FILE:-/small.html}
PORT=${INSTR_PORT:-18099}
SERVERS=${INSTR_SERVERS:-uring epoll ceiling}
OUTF=${INSTR_OUT:-}

die() { printf 'instr: %s\n' "$*" >&2; exit 1; }
command -v valgrind > /dev/null || die "valgrind is not installed (apt-get install valgrind)"

TMP=$(mktemp -d /tmp/pluto-instr.XXXXXX)
SRV=""
cleanup() {
    [ -n "$SRV" ] && kill -KILL "$SRV" 2> /dev/null
    wait 2> /dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cc -O2 -Wall -o "$TMP/client" "$ROOT/tests/blackbox/keepalive_client.c" || die "client"
cc -O2 -Wall -shared -fPIC -o "$TMP/shim.so" "$HERE/openat2_shim.c" -ldl || die "shim"
cc -O2 -Wall -o "$TMP/ceiling" "$HERE/ceiling.c" || die "ceiling"
sh "$HERE/mksite.sh" "$TMP/site"

# run NAME REQUESTS: callgrind's instruction total, into TOTAL, for a run that serves
# WARM requests, then REQUESTS more; 1 (and a message) when that fails.
run() {
    local name=$1 more=$2 cmd=()
    case "$name" in
    uring | epoll) cmd=("$PLUTO" serve "$TMP/site" -b 127.0.0.1 -p "$PORT" -w 1 --backend "$name") ;;
    ceiling) cmd=("$TMP/ceiling" "$PORT") ;;
    *) die "unknown server '$name'" ;;
    esac
    local cg="$TMP/cg.out"
    rm -f "$cg"
    TOTAL=""
    LD_PRELOAD="$TMP/shim.so" valgrind --tool=callgrind --callgrind-out-file="$cg" \
        "${cmd[@]}" > "$TMP/server.log" 2>&1 < /dev/null &
    SRV=$!
    for _ in $(seq 300); do
        (exec 3<> "/dev/tcp/127.0.0.1/$PORT") 2> /dev/null && break
        if ! kill -0 "$SRV" 2> /dev/null; then
            SRV=""
            printf 'instr: %s exited at start: %s\n' "$name" "$(grep -v '^==' "$TMP/server.log" | tail -2)" >&2
            return 1
        fi
        sleep 0.1
    done
    local got want
    want=$(printf 'done %d %d\ndone %d %d' "$WARM" "$WARM" "$more" "$more")
    got=$(printf '%d\n%d\n' "$WARM" "$more" | timeout 120 "$TMP/client" 127.0.0.1 "$PORT" "$FILE") || true
    kill -TERM "$SRV" 2> /dev/null || true
    wait "$SRV" 2> /dev/null || true
    SRV=""
    if [ "$got" != "$want" ]; then
        printf "instr: %s: the client got '%s', want '%s' (all 200)\n" "$name" "$got" "$want" >&2
        return 1
    fi
    TOTAL=$(awk '/^summary:/ { print $2 }' "$cg")
    [ -n "$TOTAL" ] || { printf 'instr: %s: no callgrind total\n' "$name" >&2; return 1; }
}

failed=0
for s in $SERVERS; do
    run "$s" 0 || { failed=1; continue; }
    a=$TOTAL
    run "$s" "$N" || { failed=1; continue; }
    b=$TOTAL
    per=$(((b - a + N / 2) / N))
    printf 'instr %-8s %d instructions per request (%d requests: %d - %d)\n' "$s" "$per" "$N" "$b" "$a"
    [ -z "$OUTF" ] || printf 'instr\t%s\t%d\t%d\t%d\t%d\n' "$s" "$N" "$a" "$b" "$per" >> "$OUTF"
done
exit "$failed"
