#!/usr/bin/env bash
# bench/soak.sh — `make soak`: the static server and the kv machine under a mixed load for
# SOAK_SECONDS (default 30 minutes), sampled every 10 s, to show that memory, descriptors
# and latency stay flat over time (no leak). Everything listens on 127.0.0.1, on free ports.
#
#   static  `pluto serve SITE` over a generated site (41 small pages, directory indexes,
#           64 KiB to 10 MiB files), driven by
#           - wrk, 32 keep-alive connections, a mix of small files, indexes, a 301, single
#             and multi-range requests on the big files and 304s (bench/soak_static.lua),
#             each connection pausing 5 ms between requests;
#           - bench/soak_clients.c: 1,000 idle keep-alive connections, each asking again
#             or reconnecting every 5-40 s; 4 clients churning connections (one GET,
#             `Connection: close`); 8 slow clients (a head trickled byte by byte, a 1 MiB
#             file read at 80 KB/s, half a head then silence until the server's 408, a
#             download cut with a reset).
#   kv      `pluto boot DIR kv` (fsync always), driven by
#           - wrk, 8 connections, 40% PUT / 60% GET over 5,000 keys written before the
#             load (bench/soak_kv.lua), 10 ms pauses;
#           - soak_clients: 200 idle keep-alive connections and 2 churning clients;
#           - bench/soak_kvcheck.py: distinct keys written one by one; every key answered
#             204 must read back after each restart (lost or wrong values must be 0);
#           - a restart every 2-5 minutes (shorter runs: every fifth to third of the run),
#             alternately SIGTERM and kill -9, each followed by `pluto start DIR`.
#
# Each 10 s window gives one CSV row per server: elapsed_s, server, pid, RSS (VmRSS, kB),
# open descriptors (/proc/PID/fd), wrk's p50 and p99 (ms) for that window, requests and
# errors (wrk's plus the clients'), idle connections held, and the event (term/kill: kv
# restarted in the window; a `baseline` row before the load, a `quiet` row after it).
# wrk runs in back-to-back 10 s windows, so each row's p99 is that window's own.
# bench/soak_report.py judges each series (flat or LEAK?) and draws the SVG chart. The kv
# machine's directory is under TMPDIR (keep it on a disk: on tmpfs an fsync is free).
# Latency is the noisy series: on a machine busy with other work, or on a disk whose
# fdatasync stalls now and then (kv waits for one per loop turn of writes), a short run can
# read LEAK? on p99 from noise alone; 30 minutes puts 36 windows in each median.
#
# Exits 0 only when every series is flat, neither server died, no acknowledged kv value was
# lost, no request failed outside kv's restart windows, and each server's descriptors came
# back within 10 of their count before the load once the load stopped.
#
# Environment:
#   SOAK_SECONDS=1800      length of the load (at least 60)
#   SOAK_BACKEND=          both servers' --backend (default: pluto's own, io_uring); epoll
#   SOAK_PUBLISH=0         1: also copy the CSV and SVG to docs/soak/soak.{csv,svg}
#   SOAK_IDLE=1000 SOAK_KV_IDLE=200   idle connections held on each server
#   SOAK_DELAY_MS=5 SOAK_KV_DELAY_MS=10   wrk's pause between requests, per connection
#   SOAK_RESTART_MIN=120 SOAK_RESTART_MAX=300   seconds between kv restarts
#   PLUTO=build/pluto      OUT=bench/results (soak-DATE.csv, .svg, .log)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
SECONDS_TOTAL=${SOAK_SECONDS:-1800}
BACKEND=${SOAK_BACKEND:-}
PUBLISH=${SOAK_PUBLISH:-0}
IDLE=${SOAK_IDLE:-1000}
KV_IDLE=${SOAK_KV_IDLE:-200}
export SOAK_DELAY_MS=${SOAK_DELAY_MS:-5} SOAK_KV_DELAY_MS=${SOAK_KV_DELAY_MS:-10}
PLUTO=${PLUTO:-$ROOT/build/pluto}
OUT=${OUT:-$HERE/results}
WINDOW=10
case "$PLUTO" in /*) ;; *) PLUTO="$PWD/$PLUTO" ;; esac

log() { printf 'soak: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
if ! [[ $SECONDS_TOTAL =~ ^[0-9]+$ ]] || [ "$SECONDS_TOTAL" -lt 60 ]; then
    die "SOAK_SECONDS must be 60 or more"
fi
case "$BACKEND" in
"" | epoll | uring | auto) ;;
*) die "SOAK_BACKEND must be epoll, uring or auto" ;;
esac
if [ "$SECONDS_TOTAL" -ge 900 ]; then
    RMIN=${SOAK_RESTART_MIN:-120} RMAX=${SOAK_RESTART_MAX:-300}
else # a short run still restarts the machine a few times
    RMIN=${SOAK_RESTART_MIN:-$((SECONDS_TOTAL / 5))}
    RMAX=${SOAK_RESTART_MAX:-$((SECONDS_TOTAL / 3))}
fi
[ "$RMAX" -ge "$RMIN" ] || RMAX=$RMIN
[ -x "$PLUTO" ] || die "no pluto binary at $PLUTO (make first)"

# ---------------------------------------------------------------- what it needs
# Debian packages, installed when missing (as bench/run.sh does).
ensure_packages() {
    local want=""
    command -v wrk > /dev/null || want="$want wrk"
    command -v curl > /dev/null || want="$want curl"
    command -v cc > /dev/null || want="$want gcc libc6-dev"
    [ -x /usr/bin/python3 ] || want="$want python3"
    [ -z "$want" ] && return 0
    log "installing:$want"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo > /dev/null || die "missing:$want (run as root to install them)"
        sudo="sudo"
    fi
    { $sudo apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            $want > /dev/null; } || die "apt-get install failed"
}
ensure_packages
PY=/usr/bin/python3

# ---------------------------------------------------------------- state and cleanup
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-soak.XXXXXX")
SERVE_PID="" KV_PID="" WRK_PIDS="" HELPER_PIDS="" CHECK_PID=""
cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in $WRK_PIDS $HELPER_PIDS $CHECK_PID $SERVE_PID $KV_PID; do
        kill -TERM "$p" 2> /dev/null || true
    done
    sleep 0.5
    for p in $WRK_PIDS $HELPER_PIDS $CHECK_PID $SERVE_PID $KV_PID; do
        kill -KILL "$p" 2> /dev/null || true
    done
    wait 2> /dev/null || true
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

alive() { # PID: running (not gone, not a zombie)
    local s
    s=$(cat "/proc/$1/stat" 2> /dev/null) || return 1
    s=${s##*) }
    [ "${s%% *}" != Z ]
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2> /dev/null || true; }
fds() { ls "/proc/$1/fd" 2> /dev/null | wc -l; }
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}
accepts() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
wait_port() { # PID PORT: 0 once PORT accepts, 1 if PID exits or 30 s pass
    local i
    for i in $(seq 300); do
        alive "$1" || return 1
        accepts "$2" && return 0
        sleep 0.1
    done
    return 1
}
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" -v f="${2:-%.1f}" 'BEGIN { printf f, b - a }'; }
BOPT=()
[ -n "$BACKEND" ] && BOPT=(--backend "$BACKEND")

# ---------------------------------------------------------------- site, tools, servers
SITE=$TMP/site
sh "$HERE/mksite.sh" "$SITE"
mkdir -p "$SITE/s" "$SITE/dir/sub"
for i in $(seq 0 39); do # 41 small pages: 849 bytes (small.html) and 300 B to 8 KiB
    n=$(printf '%02d' "$i")
    head -c $((200 + i * 150)) /dev/urandom | base64 > "$SITE/s/$n.html"
done
cp "$SITE/small.html" "$SITE/dir/index.html"
cp "$SITE/small.html" "$SITE/dir/sub/index.html"
head -c 262144 /dev/urandom > "$SITE/256k.bin"
head -c 1048576 /dev/urandom > "$SITE/1m.bin"
chmod -R a+rX "$SITE"
cc -O2 -Wall -o "$TMP/soak_clients" "$HERE/soak_clients.c" || die "cannot build soak_clients"
# Servers and clients get the hard descriptor limit (1,000+ connections held at once).
ulimit -n "$(ulimit -Hn)" 2> /dev/null || true

SPORT=$(free_port)
"$PLUTO" serve "$SITE" --bind 127.0.0.1 -p "$SPORT" "${BOPT[@]}" \
    > "$TMP/serve.log" 2>&1 < /dev/null &
SERVE_PID=$!
wait_port "$SERVE_PID" "$SPORT" || { cat "$TMP/serve.log" >&2; die "pluto serve did not start"; }
KDIR=$TMP/kv
KPORT=$(free_port)
"$PLUTO" boot "$KDIR" kv --port "$KPORT" "${BOPT[@]}" > "$TMP/kv.log" 2>&1 < /dev/null &
KV_PID=$!
wait_port "$KV_PID" "$KPORT" || { cat "$TMP/kv.log" >&2; die "pluto boot kv did not start"; }
BACKEND_SEEN=${BACKEND:-io_uring}
if grep -q 'using epoll' "$TMP/serve.log"; then BACKEND_SEEN="epoll (io_uring unavailable here)"; fi
log "static server on 127.0.0.1:$SPORT (pid $SERVE_PID), kv machine on 127.0.0.1:$KPORT" \
    "(pid $KV_PID), backend $BACKEND_SEEN"

# Every file once (the server's cache warm, the baseline after it), a range, kv's keys.
for f in small.html s/00.html s/39.html dir/ 64k.bin 256k.bin 1m.bin 10m.bin; do
    code=$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$SPORT/$f")
    want=$(stat -c %s "$SITE/${f/%\//\/index.html}")
    [ "$code" = "200 $want" ] || die "GET /$f gave '$code', want '200 $want'"
done
for i in $(seq 0 39); do
    curl -sS -o /dev/null "http://127.0.0.1:$SPORT/s/$(printf '%02d' "$i").html"
done
code=$(curl -sS -o /dev/null -w '%{http_code}' -r 0-99,200-299 "http://127.0.0.1:$SPORT/10m.bin")
[ "$code" = 206 ] || die "a multi-range GET gave $code, want 206"
"$PY" "$HERE/soak_kvcheck.py" populate "$KPORT" 5000 || die "cannot write kv's keys"

# ---------------------------------------------------------------- the run
STAMP=$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
CSV=$OUT/soak-$STAMP.csv SVG=$OUT/soak-$STAMP.svg LOG=$OUT/soak-$STAMP.log
echo "elapsed_s,server,pid,rss_kb,fds,p50_ms,p99_ms,requests,errors,idle_open,event" > "$CSV"
: > "$LOG"
row() { echo "$1,$2,$3,$4,$5,$6,$7,$8,$9,${10},${11}" >> "$CSV"; }
sleep 1
BASE_FDS_S=$(fds "$SERVE_PID") BASE_FDS_K=$(fds "$KV_PID")
row 0 static "$SERVE_PID" "$(rss_kb "$SERVE_PID")" "$BASE_FDS_S" "" "" "" "" 0 baseline
row 0 kv "$KV_PID" "$(rss_kb "$KV_PID")" "$BASE_FDS_K" "" "" "" "" 0 baseline

"$TMP/soak_clients" "$SPORT" "$TMP/cl_static" "$IDLE" 4 8 /small.html /1m.bin \
    2> "$TMP/cl_static.err" &
HELPER_PIDS="$!"
"$TMP/soak_clients" "$KPORT" "$TMP/cl_kv" "$KV_IDLE" 2 0 /kv/probe /kv/probe 2> "$TMP/cl_kv.err" &
HELPER_PIDS="$HELPER_PIDS $!"
"$PY" "$HERE/soak_kvcheck.py" run "$KPORT" "$TMP/check" 2> "$TMP/check.err" &
CHECK_PID=$!

# wrk's SOAKRESULT line -> "requests errors p50_ms p99_ms" (empty when wrk printed none).
parse_wrk() {
    awk '$1 == "SOAKRESULT" {
        printf "%d %d %.3f %.3f", $2, $4 + $5 + $6 + $7 + $8, $9 / 1000, $10 / 1000 }' "$1"
}
# soak_clients' counters -> "done err idle" (done: exchanges finished, ok or not).
client_stats() { awk '{ print $6 + $8 + $10 + $12, $8, $4 }' "$1" 2> /dev/null || echo "0 0 0"; }
mib() { awk -v k="${1:-0}" 'BEGIN { printf "%.1f", k / 1024 }'; }

RESTARTS=0 KILLS=0 ANOMALIES="" DIED=""
anomaly() { log "$*"; ANOMALIES="$ANOMALIES; $*"; }
restart_kv() { # term|kill: stop the machine that way, start it again; sets RESTART_NOTE
    local mode=$1 t0 i rc=0
    t0=$(now)
    { # stderr off: bash would report the job killed ("Killed") when it reaps it
        if [ "$mode" = kill ]; then kill -KILL "$KV_PID"; else kill -TERM "$KV_PID"; fi
        for i in $(seq 300); do alive "$KV_PID" || break; sleep 0.05; done
        alive "$KV_PID" && kill -KILL "$KV_PID" && rc=timeout
        local ws=0
        wait "$KV_PID" || ws=$?
        [ "$rc" = timeout ] || rc=$ws
    } 2> /dev/null
    [ "$rc" != timeout ] || anomaly "kv still running 15 s after SIGTERM: killed"
    [ "$mode" = kill ] || [ "$rc" = 0 ] || anomaly "kv exited with code $rc on SIGTERM"
    local stopped
    stopped=$(since "$t0" %.2f)
    "$PLUTO" start "$KDIR" "${BOPT[@]}" >> "$TMP/kv.log" 2>&1 < /dev/null &
    KV_PID=$!
    if ! wait_port "$KV_PID" "$KPORT"; then
        DIED="kv did not come back after $mode"
        return 0
    fi
    kill -USR1 "$CHECK_PID" 2> /dev/null || true
    RESTARTS=$((RESTARTS + 1))
    [ "$mode" = kill ] && KILLS=$((KILLS + 1))
    RESTART_NOTE="kv $mode: stopped in ${stopped}s, answering again after"
    RESTART_NOTE+=" $(since "$t0" %.2f)s (pid $KV_PID)"
}
next_restart() { echo $(($1 + RMIN + RANDOM % (RMAX - RMIN + 1))); }

NW=$(((SECONDS_TOTAL + WINDOW - 1) / WINDOW))
T0=$(now)
NEXT_RESTART=$(next_restart 0)
read -r PREV_S_DONE PREV_S_ERR _ <<< "0 0 0"
read -r PREV_K_DONE PREV_K_ERR _ <<< "0 0 0"
log "$NW windows of ${WINDOW}s; kv restarts every ${RMIN}-${RMAX}s; results in $CSV"
for w in $(seq "$NW"); do
    wrk -t1 -c32 -d"${WINDOW}s" --timeout 5s -s "$HERE/soak_static.lua" \
        "http://127.0.0.1:$SPORT/" > "$TMP/wrk_s.out" 2>&1 &
    WS=$!
    wrk -t1 -c8 -d"${WINDOW}s" --timeout 5s -s "$HERE/soak_kv.lua" \
        "http://127.0.0.1:$KPORT/" > "$TMP/wrk_k.out" 2>&1 &
    WK=$!
    WRK_PIDS="$WS $WK"
    event="" RESTART_NOTE=""
    start_s=$(((w - 1) * WINDOW))
    if [ "$start_s" -ge "$NEXT_RESTART" ] && [ "$w" -lt "$NW" ]; then
        sleep 2
        event=term
        [ $((RESTARTS % 2)) = 1 ] && event="kill"
        restart_kv "$event"
        NEXT_RESTART=$(next_restart "$start_s")
    fi
    wait "$WS" || true
    wait "$WK" || true
    WRK_PIDS=""
    el=$(since "$T0")
    read -r s_req s_err s_p50 s_p99 <<< "$(parse_wrk "$TMP/wrk_s.out")" || true
    read -r k_req k_err k_p50 k_p99 <<< "$(parse_wrk "$TMP/wrk_k.out")" || true
    [ -n "${s_req:-}" ] || { anomaly "window $w: static wrk printed no result"; s_req=0 s_err=1; }
    [ -n "${k_req:-}" ] || { anomaly "window $w: kv wrk printed no result"; k_req=0 k_err=1; }
    s_p50=${s_p50:-} s_p99=${s_p99:-} k_p50=${k_p50:-} k_p99=${k_p99:-}
    read -r cs_done cs_err cs_idle <<< "$(client_stats "$TMP/cl_static")"
    read -r ck_done ck_err ck_idle <<< "$(client_stats "$TMP/cl_kv")"
    sr=$(rss_kb "$SERVE_PID") sf=$(fds "$SERVE_PID") kr=$(rss_kb "$KV_PID") kf=$(fds "$KV_PID")
    s_n=$((s_req + cs_done - PREV_S_DONE)) s_e=$((s_err + cs_err - PREV_S_ERR))
    k_n=$((k_req + ck_done - PREV_K_DONE)) k_e=$((k_err + ck_err - PREV_K_ERR))
    row "$el" static "$SERVE_PID" "$sr" "$sf" "$s_p50" "$s_p99" "$s_n" "$s_e" "$cs_idle" ""
    row "$el" kv "$KV_PID" "$kr" "$kf" "$k_p50" "$k_p99" "$k_n" "$k_e" "$ck_idle" "$event"
    line=$(printf '%3d/%d %6ss  static: %5s MiB %5d fds p99 %7s ms %7d req %3d err' \
        "$w" "$NW" "$el" "$(mib "$sr")" "$sf" "${s_p99:-?}" "$s_n" "$s_e")
    line+=$(printf '  kv: %5s MiB %4d fds p99 %7s ms %6d req %3d err' \
        "$(mib "$kr")" "$kf" "${k_p99:-?}" "$k_n" "$k_e")
    log "$line${RESTART_NOTE:+  [$RESTART_NOTE]}"
    echo "$line${RESTART_NOTE:+  [$RESTART_NOTE]}" >> "$LOG"
    PREV_S_DONE=$cs_done PREV_S_ERR=$cs_err PREV_K_DONE=$ck_done PREV_K_ERR=$ck_err
    alive "$SERVE_PID" || DIED="${DIED:+$DIED; }the static server died: $(tail -1 "$TMP/serve.log")"
    alive "$KV_PID" || [ -n "$DIED" ] || DIED="the kv machine died: $(tail -1 "$TMP/kv.log")"
    [ -z "$DIED" ] || { anomaly "$DIED"; break; }
done

# ---------------------------------------------------------------- after the load
kill -TERM $HELPER_PIDS 2> /dev/null || true
wait $HELPER_PIDS 2> /dev/null || true
HELPER_PIDS=""
kill -TERM "$CHECK_PID" 2> /dev/null || true
wait "$CHECK_PID" 2> /dev/null || anomaly "the kv checker failed: $(tail -3 "$TMP/check.err")"
CHECK_PID=""
# Descriptors at rest: every connection closed, within 10 of the count before the load.
for i in $(seq 100); do
    [ -z "$DIED" ] || break
    if [ "$(fds "$SERVE_PID")" -le $((BASE_FDS_S + 10)) ] &&
        [ "$(fds "$KV_PID")" -le $((BASE_FDS_K + 10)) ]; then break; fi
    sleep 0.1
done
el=$(since "$T0")
QUIET_FDS_S=$(fds "$SERVE_PID") QUIET_FDS_K=$(fds "$KV_PID")
row "$el" static "$SERVE_PID" "$(rss_kb "$SERVE_PID")" "$QUIET_FDS_S" "" "" "" "" 0 quiet
row "$el" kv "$KV_PID" "$(rss_kb "$KV_PID")" "$QUIET_FDS_K" "" "" "" "" 0 quiet
for p in $SERVE_PID $KV_PID; do kill -TERM "$p" 2> /dev/null || true; done
for p in $SERVE_PID $KV_PID; do
    rc=0
    wait "$p" || rc=$?
    [ "$rc" = 0 ] || anomaly "pid $p exited with code $rc on SIGTERM at the end"
done
SERVE_PID="" KV_PID=""

# ---------------------------------------------------------------- verdict
{
    TITLE="pluto soak: $((SECONDS_TOTAL / 60)) min, backend $BACKEND_SEEN, $(date -u +%Y-%m-%d)"
    rc=0
    "$PY" "$HERE/soak_report.py" "$CSV" "$SVG" "$TITLE" || rc=1
    read -r -a ck < "$TMP/check" || ck=()
    declare -A CK=()
    for ((i = 0; i + 1 < ${#ck[@]}; i += 2)); do CK[${ck[i]}]=${ck[i + 1]}; done
    echo "soak: kv restarted $RESTARTS times ($((RESTARTS - KILLS)) SIGTERM, $KILLS kill -9);" \
        "${CK[acked]:-0} values acknowledged, ${CK[checks]:-0} read-backs of the last 2,000" \
        "(${CK[checked]:-0} reads): ${CK[lost]:-?} lost, ${CK[wrong]:-?} wrong," \
        "${CK[back]:-?} deleted keys back, ${CK[errors]:-?} unexpected statuses"
    [ "${CK[lost]:-1}${CK[wrong]:-1}${CK[back]:-1}${CK[errors]:-1}" = 0000 ] || rc=1
    [ "${CK[checks]:-0}" -gt "$RESTARTS" ] || { echo "soak: fewer read-backs than restarts"; rc=1; }
    awk -F, '$11 == "" && $1 > 0 { r[$2] += $8; e[$2] += $9 } $11 ~ /term|kill/ { re += $9 }
        END { printf "soak: requests: static %d, kv %d;", r["static"], r["kv"]
              printf " errors outside restart windows:"
              printf " static %d, kv %d (in them: %d)\n", e["static"], e["kv"], re
              exit (e["static"] + e["kv"] > 0) }' "$CSV" || rc=1
    awk '{ printf "soak: 408s: %d to stalled heads (expected), %d to trickled heads ", $10, $12
           printf "(late: the machine stalled them past the header timeout)\n" }' "$TMP/cl_static"
    fd_ok=flat
    if [ $((QUIET_FDS_S - BASE_FDS_S)) -gt 10 ] || [ $((QUIET_FDS_K - BASE_FDS_K)) -gt 10 ]; then
        fd_ok="LEAK?" rc=1
    fi
    echo "soak: descriptors at rest, before and after the load:" \
        "static $BASE_FDS_S -> $QUIET_FDS_S, kv $BASE_FDS_K -> $QUIET_FDS_K: $fd_ok"
    [ -z "$ANOMALIES" ] || { echo "soak: anomalies:${ANOMALIES#;}"; rc=1; }
    [ -z "$DIED" ] || rc=1
    for f in cl_static.err cl_kv.err check.err; do # the clients' own error logs
        [ -s "$TMP/$f" ] || continue
        echo "soak: ${f%.err}: $(wc -l < "$TMP/$f") lines on stderr, the first:" \
            "$(head -1 "$TMP/$f")"
    done
    if [ "$rc" = 0 ]; then echo "soak: flat"; else echo "soak: NOT FLAT (see above)"; fi
    echo "$rc" > "$TMP/rc"
} 2>&1 | tee -a "$LOG"
rc=$(cat "$TMP/rc")
{
    echo "--- static server log"
    tail -20 "$TMP/serve.log"
    echo "--- kv log"
    tail -40 "$TMP/kv.log"
} >> "$LOG"
if [ "$PUBLISH" = 1 ]; then
    mkdir -p "$ROOT/docs/soak"
    cp "$CSV" "$ROOT/docs/soak/soak.csv"
    cp "$SVG" "$ROOT/docs/soak/soak.svg"
    log "published docs/soak/soak.csv and docs/soak/soak.svg"
fi
log "results: $CSV, $SVG, $LOG"
exit "$rc"
