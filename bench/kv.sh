#!/usr/bin/env bash
# bench/kv.sh — durable writes per second: pluto's kv app as a durable machine
# (`pluto boot DIR kv --fsync always`) taking 100-byte PUTs over HTTP, against Redis with
# `appendonly yes, appendfsync always` taking 100-byte SETs. Called by bench/run.sh
# (workload `kv`); runs alone too:
#
#   bash bench/kv.sh [PLUTO]          (default build/pluto)
#
# Both servers keep their data under one temporary directory (one filesystem, so each
# fsync costs both the same), run pinned to core 0 and are driven from core 1 with 50
# connections:
#   pluto: wrk -t1 -c50 -s bench/kv_put.lua (PUT /kv/key:N, N a counter mod 100,000)
#   redis: redis-benchmark -c 50 -d 100 -t set -r 100000 -n N, N sized from the previous
#          run so that each lasts about DURATION seconds (it counts requests, not time)
# Rounds are interleaved (pluto, redis, pluto, redis, ...) and the medians reported.
#
# Environment: ROUNDS=3 DURATION=4 (QUICK=1: 1 round of 1 s) KV_PORT=18097 (127.0.0.1,
#   KV_PORT for pluto, KV_PORT+1 for redis)
#   KV_DIR=DIR    where the temporary data directory goes (default TMPDIR or /tmp); it
#                 must be on a disk: on tmpfs an fsync is free (the section warns)
#   KV_OUT=FILE   append one row per run:
#                 kv ROUND SERVER WRITES DURATION_US ERRORS SERVER_TICKS CLIENT_MS
#   KV_MD=FILE    write the markdown section there (default: stdout)
# Exits 1 when neither server could be measured.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
PLUTO=${1:-$ROOT/build/pluto}
case "$PLUTO" in /*) ;; *) PLUTO="$PWD/$PLUTO" ;; esac
if [ "${QUICK:-0}" = 1 ]; then
    ROUNDS=${ROUNDS:-1}
    DURATION=${DURATION:-1}
fi
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-4}
PORT=${KV_PORT:-18097}
RPORT=$((PORT + 1))
OUTF=${KV_OUT:-}
MD=${KV_MD:-/dev/stdout}

log() { printf 'kv: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
for t in wrk taskset redis-server redis-benchmark; do
    command -v "$t" > /dev/null || die "$t is not installed (apt-get install wrk redis-server redis-tools)"
done

# On tmpfs an fsync costs nothing and the figures mean nothing: KV_DIR is where the data
# goes (default TMPDIR or /tmp), and the section says when it is not on a disk.
KV_DIR=${KV_DIR:-${TMPDIR:-/tmp}}
TMP=$(mktemp -d "$KV_DIR/pluto-kv.XXXXXX")
FSTYPE=$(findmnt -n -o FSTYPE -T "$TMP" 2> /dev/null || stat -f -c %T "$TMP")
declare -A PID=()
CLIENT=""
stop() { # name
    local p=${PID[$1]:-} i
    [ -n "$p" ] || return 0
    kill -TERM "$p" 2> /dev/null || true
    for i in $(seq 50); do kill -0 "$p" 2> /dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2> /dev/null || true
    wait "$p" 2> /dev/null || true
    unset "PID[$1]"
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "$CLIENT" ] && kill -TERM "$CLIENT" 2> /dev/null || true
    stop pluto
    stop redis
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- the servers
free_port() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
up() { # name port: waits for the port to accept; 0 when it does
    local i
    for i in $(seq 100); do
        kill -0 "${PID[$1]}" 2> /dev/null || return 1
        (exec 3<> "/dev/tcp/127.0.0.1/$2") 2> /dev/null && return 0
        sleep 0.1
    done
    return 1
}
declare -A OK=() WHY=()
free_port "$PORT" || die "port $PORT is taken (set KV_PORT)"
free_port "$RPORT" || die "port $RPORT is taken (set KV_PORT)"
mkdir -p "$TMP/redis"
# pluto boot creates the machine directory itself (and refuses one that exists).
taskset -c 0 "$PLUTO" boot "$TMP/pluto" kv --port "$PORT" --fsync always \
    > "$TMP/pluto.log" 2>&1 < /dev/null &
PID[pluto]=$!
taskset -c 0 redis-server --port "$RPORT" --bind 127.0.0.1 --appendonly yes \
    --appendfsync always --save '' --dir "$TMP/redis" > "$TMP/redis.log" 2>&1 < /dev/null &
PID[redis]=$!
for s in pluto redis; do
    p=$PORT
    [ "$s" = redis ] && p=$RPORT
    if up "$s" "$p"; then
        OK[$s]=1
        log "$s on 127.0.0.1:$p, pid ${PID[$s]}"
    else
        OK[$s]=0
        WHY[$s]="did not start: $(head -1 "$TMP/$s.log" 2> /dev/null)"
        log "$s ${WHY[$s]}"
        tail -5 "$TMP/$s.log" >&2 || true
    fi
done
# A PUT must answer 204 and the value come back: a server that failed every write
# would otherwise post wrk's rate of errors.
http() { # method path body -> "STATUS BODY"
    local fd line status body=""
    exec {fd}<> "/dev/tcp/127.0.0.1/$PORT" || return 1
    printf '%s %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
        "$1" "$2" ${#3} "$3" >&"$fd"
    IFS= read -r -t 5 line <&"$fd" || { exec {fd}>&-; return 1; }
    status=${line#* }
    status=${status%% *}
    while IFS= read -r -t 5 line <&"$fd"; do [ -z "${line%$'\r'}" ] && break; done
    IFS= read -r -t 5 body <&"$fd" || true
    exec {fd}>&-
    echo "$status $body"
}
if [ "${OK[pluto]}" = 1 ]; then
    v=$(printf 'x%.0s' $(seq 100))
    # The key goes again: with it, wrk's 100,000 keys would be one more than kv
    # stores by default, and the last new one would get 507 in every round.
    got="$(http PUT /kv/check "$v" || true) / $(http GET /kv/check "" || true)"
    got="$got / $(http DELETE /kv/check "" || true)"
    if [ "$got" != "204  / 200 $v / 204 " ]; then
        OK[pluto]=0
        WHY[pluto]="PUT, GET, DELETE /kv/check gave '${got:0:40}...', want 204, 200 with the value, 204"
        log "pluto: ${WHY[pluto]}"
    fi
fi
[ "${OK[pluto]}" = 1 ] || [ "${OK[redis]}" = 1 ] || die "no server started"
[ "${OK[redis]}" = 0 ] || [ -n "$(ls -A "$TMP/redis")" ] || log "redis: no AOF file in its directory?"

cpu_ticks() { # utime + stime of PID, in clock ticks
    local s
    s=$(cat "/proc/$1/stat" 2> /dev/null) || { echo 0; return; }
    s=${s##*) }
    set -- $s
    echo $((${12} + ${13}))
}
# CPU time (ms) of this shell's finished children, into CHILD_MS (as in bench/run.sh).
child_cpu_ms() {
    local u s m
    times > "$TMP/times"
    { read -r _ _ && read -r u s; } < "$TMP/times"
    CHILD_MS=0
    for m in "$u" "$s"; do
        local min=${m%%m*} sec=${m#*m}
        sec=${sec%s}
        CHILD_MS=$((CHILD_MS + 10#$min * 60000 + 10#${sec%.*} * 1000 + 10#${sec#*.}))
    done
}
HZ=$(getconf CLK_TCK)

# ---------------------------------------------------------------- one run
# Sets W (writes), US (duration in µs), ERR (errors) from the client's output.
client() { # name duration_s -> $TMP/client.out, CPU into CLIENT_CPU_MS
    local n
    child_cpu_ms
    local c0=$CHILD_MS
    if [ "$1" = pluto ]; then
        taskset -c 1 wrk -t1 -c50 -d"${2}s" --timeout 5s -s "$HERE/kv_put.lua" \
            "http://127.0.0.1:$PORT/" > "$TMP/client.out" 2>&1 &
    else
        n=$(awk -v r="$REDIS_RATE" -v d="$2" 'BEGIN { n = int(r * d); print (n < 1000 ? 1000 : n) }')
        taskset -c 1 redis-benchmark -p "$RPORT" -c 50 -n "$n" -d 100 -t set -r 100000 --csv \
            > "$TMP/client.out" 2>&1 &
    fi
    CLIENT=$!
    wait "$CLIENT" || true
    CLIENT=""
    child_cpu_ms
    CLIENT_CPU_MS=$((CHILD_MS - c0))
    if [ "$1" = pluto ]; then
        local line
        line=$(grep '^WRKRESULT' "$TMP/client.out" | tail -1) || return 1
        set -- $line
        W=$2 US=$4 ERR=$(($5 + $6 + $7 + $8 + $9))
    else
        # "SET","rps",...: the writes are the -n asked for, the time is redis-benchmark's
        # own (from its first connection's start to the last reply; the wall clock would
        # add its start-up), n / rps.
        local rps
        rps=$(awk -F'"' '$2 == "SET" { print $4 }' "$TMP/client.out")
        [ -n "$rps" ] || return 1
        W=$n ERR=0
        US=$(awk -v w="$W" -v r="$rps" 'BEGIN { printf "%.0f", w / r * 1e6 }')
        REDIS_RATE=$rps
    fi
}

RAW=$TMP/raw.tsv
: > "$RAW"
measure() { # round name
    local c0 c1
    c0=$(cpu_ticks "${PID[$2]}")
    if ! client "$2" "$DURATION"; then
        log "$2: the client failed, round $1:"
        cat "$TMP/client.out" >&2
        return 0
    fi
    c1=$(cpu_ticks "${PID[$2]}")
    printf 'kv\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$W" "$US" "$ERR" $((c1 - c0)) \
        "$CLIENT_CPU_MS" >> "$RAW"
    awk -v w="$W" -v us="$US" -v t=$((c1 - c0)) -v hz="$HZ" -v cm="$CLIENT_CPU_MS" -v e="$ERR" \
        -v n="$2" -v r="$1" 'BEGIN {
        printf "  round %d %-6s %9.0f writes/s %7.1f us/write  server %3.0f%%  client %3.0f%%", r, n,
            w / (us / 1e6), w ? t * 1e6 / hz / w : 0, t * 100 / hz / (us / 1e6), cm / 10 / (us / 1e6)
        if (e > 0) printf "  errors: %d", e
        printf "\n" }' >&2
}

# Warm-up (not recorded), which also sizes redis-benchmark's first -n.
REDIS_RATE=5000
[ "${OK[pluto]}" = 1 ] && { client pluto 1 || true; }
[ "${OK[redis]}" = 1 ] && { client redis 1 || true; }
for round in $(seq "$ROUNDS"); do
    for s in pluto redis; do
        [ "${OK[$s]}" = 1 ] || continue
        if ! kill -0 "${PID[$s]}" 2> /dev/null; then
            OK[$s]=0
            WHY[$s]="died, round $round: $(tail -1 "$TMP/$s.log" 2> /dev/null)"
            log "$s ${WHY[$s]}"
            continue
        fi
        measure "$round" "$s"
        sleep 0.3
    done
done
stop pluto
stop redis
[ -z "$OUTF" ] || cat "$RAW" >> "$OUTF"

# ---------------------------------------------------------------- the section
rv=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
awk -F'\t' -v hz="$HZ" -v rounds="$ROUNDS" -v dur="$DURATION" -v rv="$rv" \
    -v fstype="$FSTYPE" -v why_p="${WHY[pluto]:-}" -v why_r="${WHY[redis]:-}" '
function median(k,    n, i, j, t, a) {
    n = cnt[k]; if (n == 0) return ""
    for (i = 1; i <= n; i++) a[i] = v[k, i] + 0
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function add(k, x) { v[k, ++cnt[k]] = x }
function commas(x,    s, out) {
    s = sprintf("%.0f", x); out = ""
    while (length(s) > 3) { out = "," substr(s, length(s) - 2) out; s = substr(s, 1, length(s) - 3) }
    return s out
}
function cell(m, x) { return x == "" ? "—" : (m == "w" ? commas(x) : sprintf(m == "c" ? "%.0f%%" : "%.1f", x)) }
$1 == "kv" {
    s = $3; sec = $5 / 1e6
    add(s SUBSEP "w", $4 / sec)
    add(s SUBSEP "u", $4 ? $7 * 1e6 / hz / $4 : 0)
    add(s SUBSEP "c", $8 / 10 / sec)
    err[s] += $6
}
END {
    print "## Durable writes"
    print ""
    printf "100-byte writes from 50 connections, each acknowledged only once on disk (medians of %d x %d s):\n", rounds, dur
    print "pluto `boot DIR kv --fsync always`, `PUT /kv/KEY` over HTTP/1.1 driven by wrk (`bench/kv_put.lua`),"
    printf "against Redis %s `appendonly yes`, `appendfsync always`, `SET` driven by redis-benchmark\n", rv
    print "(`-c 50 -d 100 -t set -r 100000`). Both keep their files in one directory tree (one"
    printf "filesystem, %s), run on core 0, their clients on core 1.\n", fstype
    if (fstype ~ /tmpfs|ramfs/)
        print "\nWarning: the data was on " fstype ", where fsync costs nothing: set KV_DIR to a directory on a disk."
    print ""
    print "| | pluto (HTTP PUT) | redis (SET) | pluto / redis |"
    print "|---|---:|---:|---:|"
    pw = median("pluto" SUBSEP "w"); rw = median("redis" SUBSEP "w")
    printf "| writes/s | %s | %s | %s |\n", cell("w", pw), cell("w", rw), (pw != "" && rw > 0) ? sprintf("%.2f", pw / rw) : "—"
    pu = median("pluto" SUBSEP "u"); ru = median("redis" SUBSEP "u")
    printf "| server CPU µs/write | %s | %s | %s |\n", cell("u", pu), cell("u", ru), (pu != "" && ru > 0) ? sprintf("%.2f", pu / ru) : "—"
    printf "| client core busy | %s | %s | |\n", cell("c", median("pluto" SUBSEP "c")), cell("c", median("redis" SUBSEP "c"))
    print ""
    print "The two protocols weigh differently: an HTTP/1.1 PUT with its headers and response is"
    print "several times the bytes of a RESP `SET` and its `+OK`, and costs the client (and the"
    print "server) more to build and parse, which counts against pluto. Either server acknowledges"
    print "a write only after the fdatasync that covers it; both group the writes of one loop turn"
    print "under one fsync."
    if (why_p != "") printf "\npluto: not available (%s).\n", why_p
    if (why_r != "") printf "\nredis: not available (%s).\n", why_r
    for (s in err) if (err[s] > 0) printf "\n%s: %d client errors (connect, read, write, status, timeout).\n", s, err[s]
}' "$RAW" > "$MD"
[ -s "$RAW" ] || exit 1
