#!/usr/bin/env bash
# test_serve_limits.sh — the live static server out of descriptors, and under many
# idle connections.
#
#   tests/blackbox/test_serve_limits.sh BUILD_DIR        (e.g. build)
#
# Builds bench/idle_conns.c (COUNT keep-alive connections, one GET each, then
# held idle) into BUILD_DIR/tests/idle_conns when missing or older, then checks:
#   (a) under `ulimit -n 64`, started with 20 descriptors already open (so its
#       budget, the limit less a reserve, overestimates and accept() does fail
#       with EMFILE), 200 connections, far more than descriptors allow: the
#       server fills its descriptor table, and while it is out of descriptors it
#       does not spin — its CPU time over 3 s (utime + stime from
#       /proc/PID/stat) stays under 30% of the interval; once those
#       connections close, new requests are served again;
#   (b) 10,000 idle keep-alive connections held (the script raises ulimit -n),
#       while another client's requests keep succeeding; when they close, the
#       server closes every one of them (its descriptor count comes back down),
#       still serves, and exits 0 on SIGTERM;
#   (c) the header timeout does not count the server's own back-pressure: a
#       client pipelines a 64 MiB download and the start of a second request,
#       reads nothing for 2.5 s (the header timeout is 1 s), then finishes the
#       second head: both requests get 200, no 408;
#   (d) a client that never reads is still cut, by the send timeout (4 s): the
#       server closes the connection long before the download could finish;
#   (e) under `ulimit -n 40`, 80 clients at once each ask for a different
#       200 kB file (each one a descriptor to open): all 80 get it, in full.
#       Clients once filled every descriptor slot, each then waiting for a slot
#       to open its file, and the server never answered again.
# Loopback only; every step bounded by `timeout`; the servers are stopped by the
# script. Prints `ok - ...` / `not ok - ...` per check and `N passed, N failed`;
# exits 1 when any check failed. About 35 s.
set -u

BUILD=${1:-build}
PLUTO=$BUILD/pluto
IDLE=$BUILD/tests/idle_conns
HERE=$(cd "$(dirname "$0")" && pwd)

. "$(dirname "$0")/../lib/report.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-limits.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

need_pluto
mkdir -p "$(dirname "$IDLE")"
if [ ! -x "$IDLE" ] || [ "$HERE/../../bench/idle_conns.c" -nt "$IDLE" ]; then
    cc -O2 -Wall -o "$IDLE" "$HERE/../../bench/idle_conns.c" ||
        { not_ok "build idle_conns"; finish; }
fi

mkdir -p "$TMP/site"
head -c 849 /dev/zero | tr '\0' 'x' >"$TMP/site/small.html"
echo '<!doctype html><title>limits</title><p>ok' >"$TMP/site/index.html"

# serve LIMIT EXTRA OUT [FLAGS...]: start pluto (one worker) under `ulimit -n
# LIMIT`, with EXTRA more descriptors open from the start (10, 11, ...), and
# FLAGS; sets $server, $port.
serve() {
    (ulimit -n "$1" && for ((fd = 10; fd < 10 + $2; fd++)); do eval "exec $fd</dev/null"; done &&
        exec "$PLUTO" serve "$TMP/site" -b 127.0.0.1 -p 0 -w 1 "${@:4}") >"$3" 2>&1 &
    server=$!
    pids+=("$server")
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's|^serving http://127.0.0.1:\([0-9]*\)/$|\1|p' "$3")
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    return 1
}

# get PATH: one request; prints the status code (000 when it failed).
get() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port$1"; }

# cpu_ticks PID: user + system time of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# nfds PID [BELOW]: descriptors a process holds (numbered below BELOW: the ones
# the limit counts, not one inherited from above it).
nfds() { ls "/proc/$1/fd" 2>/dev/null | awk -v n="${2:-2147483647}" '$1 < n' | wc -l; }

# wait_line FILE PATTERN SECONDS: wait for a line matching PATTERN in FILE.
wait_line() {
    for _ in $(seq $(($3 * 10))); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

stop() {    # stop PID: SIGTERM, then its exit code
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# (a) out of descriptors ----------------------------------------------------
if ! serve 64 20 "$TMP/a.out"; then
    not_ok "pluto starts under ulimit -n 64"; cat "$TMP/a.out"; finish
fi
[ "$(get /small.html)" = 200 ] && ok "under ulimit -n 64: serves" ||
    not_ok "under ulimit -n 64: serves"
timeout 30 "$IDLE" 127.0.0.1 "$port" 200 /small.html 4 20 >"$TMP/a.idle" 2>&1 &
idle=$!
pids+=("$idle")
if wait_line "$TMP/a.idle" '^ready' 15; then
    read -r _ held refused < <(grep '^ready' "$TMP/a.idle")
    fds=$(nfds "$server" 64)
    if [ "$held" -gt 0 ] && [ "$refused" -gt 0 ] && [ "$fds" -eq 64 ]; then
        ok "200 connections: $held held, $refused not served; the server's table is full (64)"
    else
        not_ok "200 connections: held $held, not served $refused, server descriptors $fds"
    fi
    # A new client waits in the backlog meanwhile; the server must idle, not spin.
    curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port/small.html" &
    waiter=$!
    t0=$(cpu_ticks "$server")
    sleep 3
    t1=$(cpu_ticks "$server")
    hz=$(getconf CLK_TCK)
    pct=$(( (t1 - t0) * 100 / (3 * hz) ))
    if [ "$pct" -lt 30 ]; then
        ok "out of descriptors, the server does not spin: ${pct}% CPU over 3 s"
    else
        not_ok "out of descriptors, the server spins: ${pct}% CPU over 3 s"
    fi
    wait "$waiter" 2>/dev/null
else
    not_ok "idle_conns under ulimit -n 64: no ready line"; cat "$TMP/a.idle"
fi
stop "$idle"
code=000
for _ in $(seq 20); do
    code=$(get /small.html)
    [ "$code" = 200 ] && break
    sleep 0.25
done
[ "$code" = 200 ] && ok "once they close, new requests are served again" \
    || not_ok "once they close, new requests are served again (got $code)"
stop "$server"; rc=$?
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || not_ok "SIGTERM: exit $rc"

# (b) 10,000 idle keep-alive connections -------------------------------------
N=${IDLE_CONNS:-10000}
if ! serve $((N + 1000)) 0 "$TMP/b.out"; then
    not_ok "pluto starts under ulimit -n $((N + 1000))"; cat "$TMP/b.out"; finish
fi
base=$(nfds "$server")
timeout 120 "$IDLE" 127.0.0.1 "$port" "$N" /small.html 60 60 >"$TMP/b.idle" 2>&1 &
idle=$!
pids+=("$idle")
if wait_line "$TMP/b.idle" '^ready' 70; then
    read -r _ held refused < <(grep '^ready' "$TMP/b.idle")
    [ "$held" -eq "$N" ] && ok "$N idle keep-alive connections held" \
        || not_ok "$N idle connections: $held held, $refused failed"
    good=0
    for i in $(seq 20); do
        out=$(curl -s --max-time 5 "http://127.0.0.1:$port/small.html" \
                   "http://127.0.0.1:$port/" -o /dev/null -o /dev/null -w '%{http_code} ')
        [ "$out" = "200 200 " ] && good=$((good + 1))
        sleep 0.1
    done
    [ "$good" -eq 20 ] && ok "meanwhile another client's requests succeed (20 of 20 rounds)" \
        || not_ok "meanwhile another client's requests: $good of 20 rounds succeeded"
    fds=$(nfds "$server")
    [ "$fds" -ge $((base + N)) ] && ok "the server holds all of them ($fds descriptors)" \
        || not_ok "the server holds $fds descriptors, wanted at least $((base + N))"
else
    not_ok "idle_conns $N: no ready line"; tail -3 "$TMP/b.idle"
fi
stop "$idle"
left=
for _ in $(seq 100); do
    left=$(nfds "$server")
    [ "$left" -le $((base + 2)) ] && break
    sleep 0.1
done
if [ "$left" -le $((base + 2)) ]; then
    ok "when they close, the server closes every one ($left descriptors)"
else
    not_ok "the server still holds $left descriptors (started with $base)"
fi
[ "$(get /small.html)" = 200 ] && ok "and still serves" || not_ok "and still serves"
stop "$server"; rc=$?
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || not_ok "SIGTERM: exit $rc"

# (c) and (d): the header timeout against the server's own back-pressure -------
truncate -s 64M "$TMP/site/big.bin"
BIG=$((64 * 1024 * 1024))
if ! serve 1024 0 "$TMP/c.out" --header-timeout 1 --send-timeout 4; then
    not_ok "pluto starts with --header-timeout 1 --send-timeout 4"; cat "$TMP/c.out"; finish
fi
# A connection through bash's /dev/tcp: nothing is read until `cat` runs.
(
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /small.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n' >&3
    sleep 2.5
    printf '\r\n' >&3
    timeout 20 cat <&3 >"$TMP/c.body"
) 2>/dev/null
got=$(wc -c <"$TMP/c.body")
# The body is zeros with no newline: status lines are found anywhere.
n200=$(grep -ao 'HTTP/1.1 200' "$TMP/c.body" | wc -l)
if [ "$n200" -eq 2 ] && ! grep -aq 'HTTP/1.1 408' "$TMP/c.body" && [ "$got" -gt "$BIG" ]; then
    ok "a head finished while the server's send queue was full: 200 and 200, no 408 ($got bytes)"
else
    not_ok "a head finished while the server's send queue was full: $n200 x 200, $got bytes," \
        "$(grep -ao 'HTTP/1.1 [0-9]*' "$TMP/c.body" | tr '\n' ';')"
fi
(
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf 'GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /small.html HTTP/1.1\r\n' >&3
    sleep 7
    timeout 20 cat <&3 >"$TMP/d.body"
    echo "rc $?" >"$TMP/d.rc"
) 2>/dev/null
got=$(wc -c <"$TMP/d.body")
if grep -q '^rc 0' "$TMP/d.rc" && [ "$got" -lt "$BIG" ]; then
    ok "a client that never reads is cut by the send timeout ($got of $BIG bytes)"
else
    not_ok "a client that never reads: $(cat "$TMP/d.rc"), $got of $BIG bytes"
fi
stop "$server"; rc=$?
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || not_ok "SIGTERM: exit $rc"

# (e) connections that each open a file, more of them than descriptors ----------
for i in $(seq 80); do head -c 200000 /dev/zero | tr '\0' "$((i % 10))" >"$TMP/site/f$i.bin"; done
if ! serve 40 0 "$TMP/e.out"; then
    not_ok "pluto starts under ulimit -n 40"; cat "$TMP/e.out"; finish
fi
mkdir -p "$TMP/e"
for i in $(seq 80); do
    curl -s --max-time 15 -o "$TMP/e/$i.body" -w '%{http_code}\n' \
        "http://127.0.0.1:$port/f$i.bin" >"$TMP/e/$i.code" 2>/dev/null &
    pids+=($!)
done
wait "${pids[@]: -80}" 2>/dev/null
full=0
for i in $(seq 80); do
    [ "$(cat "$TMP/e/$i.code")" = 200 ] && cmp -s "$TMP/e/$i.body" "$TMP/site/f$i.bin" &&
        full=$((full + 1))
done
if [ "$full" -eq 80 ]; then
    ok "80 clients at once under ulimit -n 40, each a file to open: all 80 served in full"
else
    not_ok "80 clients at once under ulimit -n 40: $full served in full," \
        "codes $(cat "$TMP"/e/*.code | sort | uniq -c | tr -s ' \n' ' ')"
fi
stop "$server"; rc=$?
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || not_ok "SIGTERM: exit $rc"
finish
