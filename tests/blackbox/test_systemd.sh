#!/usr/bin/env bash
# test_systemd.sh — `pluto serve` under socket activation and sd_notify, with
# systemd's side played by tests/blackbox/sd_harness.c (no systemd needed).
#
#   tests/blackbox/test_systemd.sh BUILD_DIR        (e.g. build)
#
# Builds sd_harness into BUILD_DIR/tests/ when missing or older, then checks:
#   (a) with -w 1 and -w 2: the passed socket (127.0.0.1, fd 3) is adopted:
#       READY=1 arrives with a STATUS saying so, requests are served, the port
#       has one listening socket, the harness's (its inode), held by pluto as
#       fd 3 plus one duplicate per worker; SIGTERM gives STOPPING=1 and exit 0;
#   (b) a wildcard LISTEN (-b ::) takes the socket passed on 127.0.0.1, and a
#       LISTEN on port 0 takes it whatever its port;
#   (c) a passed socket the LISTEN does not match (::1 against -b 127.0.0.1)
#       is reported once on stderr and left alone; pluto binds its own;
#   (d) LISTEN_PID naming another process: descriptor 3 is ignored, pluto
#       binds a port of its own, and still says READY=1;
#   (e) NOTIFY_SOCKET unset: no error, served, exit 0 on SIGTERM; an abstract
#       NOTIFY_SOCKET ("@name") gets READY=1;
#   (f) dist/pluto.service and dist/pluto.socket pass `systemd-analyze
#       verify` (skipped, saying so, where systemd-analyze is missing).
# The backend is the caller's (the test runner runs this once per backend).
# Loopback only; every server is stopped by the script; bounded by timeouts.
# Prints `ok - ...` / `not ok - ...` per check and `N passed, N failed`.
set -u

BUILD=${1:-build}
PLUTO=$BUILD/pluto
HARNESS=$BUILD/tests/sd_harness
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

. "$(dirname "$0")/../lib/report.sh"
check()  { if eval "$2"; then ok "$1"; else not_ok "$1"; fi; }   # check WHAT EXPR

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-systemd.XXXXXX")
hpids=()
cleanup() {
    for p in "${hpids[@]}"; do pkill -KILL -P "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
    for p in "${hpids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

need_pluto
mkdir -p "$(dirname "$HARNESS")"
if [ ! -x "$HARNESS" ] || [ "$HERE/sd_harness.c" -nt "$HARNESS" ]; then
    ${CC:-cc} -O2 -Wall -Wextra -o "$HARNESS" "$HERE/sd_harness.c" ||
        { not_ok "build sd_harness"; finish; }
fi

mkdir -p "$TMP/site"
page='<!doctype html><title>sd</title><p>activated'
echo "$page" >"$TMP/site/index.html"

# start NAME HARNESS-OPTIONS... -- PLUTO-ARGS...: pluto serve under the
# harness; output in $TMP/NAME.out (harness and pluto) and NAME.err; sets
# $hpid (the harness), $pid (pluto), $sport and $inode (the passed socket).
start() {
    local name=$1
    shift
    out=$TMP/$name.out err=$TMP/$name.err
    "$HARNESS" --dir "$TMP" --timeout 60 "$@" >"$out" 2>"$err" &
    hpid=$!
    hpids+=("$hpid")
    pid= sport= inode=
    for _ in $(seq 100); do
        read -r _ _ sport _ inode _ pid < <(grep '^sd: port' "$out") 2>/dev/null
        [ -n "$pid" ] && return 0
        sleep 0.05
    done
    return 1
}

wait_line() {   # wait_line FILE PATTERN SECONDS
    for _ in $(seq $(($3 * 10))); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# stop_all: SIGTERM to pluto, then the harness's verdict ("sd: exit N").
stop_all() {
    kill -TERM "$pid" 2>/dev/null
    wait "$hpid" 2>/dev/null
}

# quiet_err: nothing on stderr (but the line saying io_uring is unavailable).
quiet_err() { ! grep -qv '^pluto: io_uring' "$err"; }

served_port() { sed -n 's|^serving http://.*:\([0-9]*\)/$|\1|p' "$out" | head -1; }
get() { curl -s --max-time 5 "http://$1/" 2>/dev/null; }

# listeners PORT: inodes of the listening TCP sockets on PORT (any address).
listeners() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
        /proc/net/tcp /proc/net/tcp6
}

# links PID INODE: how many of PID's descriptors are that socket.
links() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c "socket:\[$2\]"; }

# (a) adoption, one and two workers ------------------------------------------
for w in 1 2; do
    if ! start "a$w" -- "$PLUTO" serve "$TMP/site" -p '{PORT}' -b 127.0.0.1 -w "$w"; then
        not_ok "-w $w: the harness starts"; continue
    fi
    if wait_line "$out" '^sd: notify READY=1' 15; then
        ok "-w $w: READY=1 once listening"
    else
        not_ok "-w $w: READY=1 once listening"; cat "$out" "$err"
    fi
    check "-w $w: STATUS says the socket came from systemd" \
        'grep -qF "sd: notify STATUS=listening on 127.0.0.1:$sport (socket from systemd)" "$out"'
    good=0
    for _ in $(seq 20); do
        [ "$(get "127.0.0.1:$sport")" = "$page" ] && good=$((good + 1))
    done
    check "-w $w: 20 requests served through the passed socket ($good)" '[ "$good" -eq 20 ]'
    ls=$(listeners "$sport" | tr '\n' ' ')
    check "-w $w: one listening socket on the port, the passed one ($ls/ $inode)" \
        '[ "$ls" = "$inode " ]'
    n=$(links "$pid" "$inode")
    check "-w $w: pluto holds it as fd 3 and one duplicate per worker ($n)" \
        '[ "$n" -eq $((w + 1)) ]'
    check "-w $w: nothing on stderr" 'quiet_err'
    stop_all
    check "-w $w: SIGTERM: STOPPING=1" 'grep -q "^sd: notify STOPPING=1" "$out"'
    check "-w $w: SIGTERM: exit 0" 'grep -q "^sd: exit 0$" "$out"'
    check "-w $w: one READY=1" '[ "$(grep -c "^sd: notify READY=1" "$out")" -eq 1 ]'
done

# (b) wildcard and port 0 ----------------------------------------------------
if start b1 -- "$PLUTO" serve "$TMP/site" -p '{PORT}' -b :: -w 1 &&
   wait_line "$out" '^sd: notify READY=1' 15; then
    check "-b :: takes the socket passed on 127.0.0.1" '[ "$(get "127.0.0.1:$sport")" = "$page" ]'
    ls=$(listeners "$sport" | tr '\n' ' ')
    check "-b ::: no socket of its own ($ls)" '[ "$ls" = "$inode " ]'
else
    not_ok "-b :: with a passed socket: READY=1"; cat "$out" "$err"
fi
stop_all
if start b2 -- "$PLUTO" serve "$TMP/site" -p 0 -b 127.0.0.1 &&
   wait_line "$out" '^serving' 15; then
    check "-p 0 takes the passed socket, whatever its port" '[ "$(served_port)" = "$sport" ]'
else
    not_ok "-p 0 with a passed socket: starts"; cat "$out" "$err"
fi
stop_all
check "-p 0: exit 0" 'grep -q "^sd: exit 0$" "$out"'

# (c) a passed socket no LISTEN matches --------------------------------------
if start c --bind ::1 -- "$PLUTO" serve "$TMP/site" -p 0 -b 127.0.0.1 &&
   wait_line "$out" '^serving' 15; then
    p=$(served_port)
    check "a socket on ::1 is not taken by -b 127.0.0.1: pluto binds its own ($p)" \
        '[ -n "$p" ] && [ "$p" != "$sport" ] && [ "$(get "127.0.0.1:$p")" = "$page" ]'
    check "the unmatched socket is reported on stderr, once" \
        '[ "$(grep -cF "systemd passed fd 3 ([::1]:$sport, http), which LISTEN" "$err")" -eq 1 ]'
    check "and left open, unused (still listening)" '[ -n "$(listeners "$sport")" ]'
    check "READY=1 for pluto's own socket" \
        'grep -qx "sd: notify STATUS=listening on 127.0.0.1:$p" "$out"'
else
    not_ok "an unmatched passed socket: pluto starts"; cat "$out" "$err"
fi
stop_all

# (d) LISTEN_PID is another process's ----------------------------------------
if start d --pid-mismatch -- "$PLUTO" serve "$TMP/site" -p 0 -b 127.0.0.1 &&
   wait_line "$out" '^serving' 15; then
    p=$(served_port)
    check "LISTEN_PID not ours: fd 3 ignored, a port of its own ($p, passed $sport)" \
        '[ -n "$p" ] && [ "$p" != "$sport" ] && [ "$(get "127.0.0.1:$p")" = "$page" ]'
    check "LISTEN_PID not ours: not reported either" 'quiet_err'
    check "LISTEN_PID not ours: READY=1 all the same" 'wait_line "$out" "^sd: notify READY=1" 5'
else
    not_ok "LISTEN_PID not ours: pluto starts"; cat "$out" "$err"
fi
stop_all
check "LISTEN_PID not ours: exit 0" 'grep -q "^sd: exit 0$" "$out"'

# (e) no NOTIFY_SOCKET; an abstract one --------------------------------------
if start e1 --no-notify -- "$PLUTO" serve "$TMP/site" -p '{PORT}' -b 127.0.0.1 -w 1 &&
   wait_line "$out" '^serving' 15; then
    check "no NOTIFY_SOCKET: served through the passed socket" \
        '[ "$(get "127.0.0.1:$sport")" = "$page" ]'
else
    not_ok "no NOTIFY_SOCKET: pluto starts"; cat "$out" "$err"
fi
stop_all
check "no NOTIFY_SOCKET: exit 0, nothing on stderr" \
    'grep -q "^sd: exit 0$" "$out" && quiet_err'
if start e2 --abstract -- "$PLUTO" serve "$TMP/site" -p '{PORT}' -b 127.0.0.1 -w 1 &&
   wait_line "$out" '^sd: notify READY=1' 15; then
    ok "abstract NOTIFY_SOCKET: READY=1"
else
    not_ok "abstract NOTIFY_SOCKET: READY=1"; cat "$out" "$err"
fi
stop_all
check "abstract NOTIFY_SOCKET: STOPPING=1, exit 0" \
    'grep -q "^sd: notify STOPPING=1" "$out" && grep -q "^sd: exit 0$" "$out"'

# (f) the unit files ---------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
    # verify wants the ExecStart binary where the unit says; point it at ours.
    mkdir -p "$TMP/units"
    sed "s|/usr/local/bin/pluto|$(cd "$BUILD" && pwd)/pluto|" "$ROOT/dist/pluto.service" \
        >"$TMP/units/pluto.service"
    cp "$ROOT/dist/pluto.socket" "$TMP/units/pluto.socket"
    if v=$(cd "$TMP/units" && SYSTEMD_LOG_LEVEL=warning timeout 30 \
            systemd-analyze verify --man=no ./pluto.socket ./pluto.service 2>&1) &&
       [ -z "$v" ]; then
        ok "dist/pluto.service and pluto.socket pass systemd-analyze verify"
    else
        not_ok "systemd-analyze verify dist units"; echo "$v"
    fi
else
    echo "skip - systemd-analyze is not installed: the unit files are not verified"
fi

finish
