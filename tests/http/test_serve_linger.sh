#!/usr/bin/env bash
# test_serve_linger.sh — black-box tests of the static server's lingering close
# (RFC 9112 section 9.6): when it answers an error and hangs up on a client that
# is still sending, the client gets the whole answer and the end of the stream,
# not a connection reset. Against the real binary over 127.0.0.1.
#
#   tests/http/test_serve_linger.sh BUILD_DIR        (e.g. build)
#
# Checks (tests/http/linger_client.c plays the clients):
#   1 MB sent in one go without reading — a head of header lines (431), a request
#   line (414), a body (413), a body after a framing error (400) — then read: the
#   whole answer, the end of the stream, no reset on the send or the read; a head
#   trickled a byte every 100 ms past --header-timeout 1s, and 5 bytes more once
#   the 408 came: the whole 408 and the end of the stream, every send accepted; a
#   client over --max-conns that sends 1 MB gets its whole 503; a client that sent
#   its end of stream after a too-large head gets the 431 and the end, no reset;
#   a Connection: close request still ends at once. Bounds: 20 clients that never
#   stop sending after their 431 (one byte every 100 ms) and 4 that send as fast
#   as they can are cut (their sends fail) and the server's descriptor count
#   (/proc/PID/fd) comes back to what it was before them while they still run;
#   SIGTERM while 10 such clients linger: exit 0, within the drain's bound; a
#   second SIGTERM then: exit 0 at once (the run closes what still lingers).
# Prints `ok - ...` / `not ok - ...` per check and `N passed, N failed`; exits 1
# when any check failed. About 20 s. KEEP=1 keeps the temporary directory.
set -u

BUILD=${1:-build}
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/lib.bash"        # PLUTO, RAW, HERE; TMP, servers
CLIENT=$BUILD/tests/linger_client

http_tmp linger
need_pluto
build_tool linger_client
build_tool raw

printf '<!doctype html><p>home</p>\n' >"$SITE/index.html"

# ---- helpers (start_server, wait_exit: lib.bash) ------------------------------------

start_failed() { note <"$TMP/$1.err"; }     # only the server's complaint
# One worker: one descriptor table to count, one --max-conns.
serve() { local name=$1; shift; start_server "$name" serve "$SITE" -b 127.0.0.1 -p 0 -w 1 "$@"; }
# stop_server PID: SIGTERM, then wait_exit up to 5 s; EXIT_RC, EXIT_MS.
stop_server() { kill -TERM "$1" 2>/dev/null; wait_exit "$1" 5; }

nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# client NAME ARGS...: linger_client against the server, its line in R/NAME.
client() { local name=$1; shift; timeout 30 "$CLIENT" "$SRV_PORT" "$@" >"$R/$name" 2>&1; }

# whole NAME STATUS: the client got the whole STATUS answer and the end of the
# stream, and neither its sends nor its reads met a reset.
whole() {
    grep -qE "^sent [0-9]+ send ok status $2 complete yes end eof " "$R/$1"
}

# ---- a client still sending when the error is answered ---------------------------
if serve big; then
    client head big 1048576 head
    check "1 MiB head sent in one go: the whole 431, then the end, no reset ($(cat "$R/head"))" \
        whole head 431
    client line big 1048576 line
    check "1 MiB request line: the whole 414, then the end, no reset ($(cat "$R/line"))" \
        whole line 414
    client body big 1000000 body
    check "1 MB body: the whole 413, then the end, no reset ($(cat "$R/body"))" whole body 413
    client bad big 1000000 bad
    what="Content-Length with chunked, then 1 MB: the whole 400, then the end, no reset"
    check "$what ($(cat "$R/bad"))" whole bad 400
    { printf 'GET / HTTP/1.1\r\nHost: x\r\n'
      head -c 40000 /dev/zero | tr '\0' 'a'; } |
        timeout 10 "$RAW" 127.0.0.1 "$SRV_PORT" --half-close --timeout 5 >"$R/eof.out" \
            2>"$R/eof.err"
    what="a too-large head, then the client's end: 431 and the end of the stream"
    check "$what ($(tail -n 1 "$R/eof.err"))" grep -q '^CLOSED after' "$R/eof.err"
    check "... the 431 came whole" grep -q '^HTTP/1.1 431 ' "$R/eof.out"
    printf 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
        timeout 10 "$RAW" 127.0.0.1 "$SRV_PORT" --timeout 5 >"$R/cc.out" 2>"$R/cc.err"
    what="Connection: close after a complete request: 200, then the end"
    check "$what ($(tail -n 1 "$R/cc.err"))" grep -q '^CLOSED after' "$R/cc.err"
    check "... the 200 came" grep -q '^HTTP/1.1 200 ' "$R/cc.out"
    stop_server "$SRV_PID"
    check "exit 0 (got $EXIT_RC)" [ "$EXIT_RC" -eq 0 ]
else
    not_ok "server starts"
fi

if serve slow --header-timeout 1s; then
    client trickle trickle 100 5
    what="a head trickled past --header-timeout 1s, 5 bytes more after the 408: the whole 408,"
    check "$what the end, every send accepted ($(cat "$R/trickle"))" whole trickle 408
    stop_server "$SRV_PID"
    check "exit 0 (got $EXIT_RC)" [ "$EXIT_RC" -eq 0 ]
else
    not_ok "server with --header-timeout 1s starts"
fi

# ---- over --max-conns ----------------------------------------------------------------
if serve maxc --max-conns 1; then
    base=$(nfds "$SRV_PID")
    printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' |
        timeout 10 "$RAW" 127.0.0.1 "$SRV_PORT" --timeout 3 >/dev/null 2>&1 &
    held=$!
    for i in $(seq 50); do                      # until it holds the one connection
        [ "$(nfds "$SRV_PID")" -gt "$base" ] && break
        sleep 0.1
    done
    client maxc big 1048576 head
    what="over --max-conns 1, 1 MiB sent: the whole 503, then the end, no reset"
    check "$what ($(cat "$R/maxc"))" whole maxc 503
    wait "$held"
    stop_server "$SRV_PID"
    check "exit 0 (got $EXIT_RC)" [ "$EXIT_RC" -eq 0 ]
else
    not_ok "server with --max-conns 1 starts"
fi

# ---- bounds: clients that never stop sending ----------------------------------------
if serve bound; then
    base=$(nfds "$SRV_PID")
    pids=()
    for i in $(seq 20); do
        client "drip$i" drip 100 10 40000 &     # 431 at once, then a byte every 100 ms
        pids+=($!)
    done
    for i in $(seq 4); do
        client "flood$i" flood 10 &             # as fast as the server reads, for 10 s
        pids+=($!)
    done
    peak=0 back=""
    for i in $(seq 50); do                      # until the 20 that drip linger
        n=$(nfds "$SRV_PID")
        [ "$n" -gt "$peak" ] && peak=$n
        [ "$peak" -ge $((base + 20)) ] && break
        sleep 0.1
    done
    for i in $(seq 90); do                      # up to 9 s more, while the clients go on
        [ "$(nfds "$SRV_PID")" -le "$base" ] && { back=$((i * 100)); break; }
        sleep 0.1
    done
    running=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && running=$((running + 1)); done
    what="24 clients that never stop sending: the server's descriptors back to $base (peak $peak)"
    back_early() { [ "$peak" -ge $((base + 20)) ] && [ -n "$back" ] && [ "$running" -gt 0 ]; }
    check "$what after ${back:-more than 9000} ms, while $running of them still sent" back_early
    wait "${pids[@]}"
    cut=$(cat "$R"/drip* "$R"/flood* | grep -cE ' send (EPIPE|ECONNRESET) ')
    check "... each was cut: its send failed once the lingering ended ($cut of 24)" \
        [ "$cut" -eq 24 ]
    kill -0 "$SRV_PID" 2>/dev/null
    check "... the server still runs" [ $? -eq 0 ]
    stop_server "$SRV_PID"
    check "exit 0 (got $EXIT_RC)" [ "$EXIT_RC" -eq 0 ]
else
    not_ok "server for the bounds starts"
fi

# lingering NAME: 10 clients whose 431 came at once and who go on sending; returns
# once the server holds their 10 descriptors. PIDS.
lingering() {
    local base i
    base=$(nfds "$SRV_PID")
    PIDS=()
    for i in $(seq 10); do
        client "$1$i" drip 100 10 40000 &       # 431 at once, then lingering
        PIDS+=($!)
    done
    for i in $(seq 50); do
        [ "$(nfds "$SRV_PID")" -ge $((base + 10)) ] && break
        sleep 0.1
    done
}

if serve term; then
    lingering term
    kill -TERM "$SRV_PID"
    wait_exit "$SRV_PID" 8
    what="SIGTERM while 10 clients linger: exit 0 (got $EXIT_RC after $EXIT_MS ms;"
    check "$what a drain waits at most 2 s for them)" [ "$EXIT_RC" -eq 0 ]
    check "... 'pluto stopping on signal 15'" grep -qx 'pluto stopping on signal 15' "$TMP/term.out"
    kill "${PIDS[@]}" 2>/dev/null
    wait "${PIDS[@]}" 2>/dev/null
else
    not_ok "server for SIGTERM starts"
fi

if serve term2; then
    lingering term2
    kill -TERM "$SRV_PID"
    sleep 0.2
    kill -TERM "$SRV_PID" 2>/dev/null
    wait_exit "$SRV_PID" 8
    what="a second SIGTERM while 10 clients linger: exit 0 (got $EXIT_RC after $EXIT_MS ms),"
    check "$what their sockets closed with the run" [ "$EXIT_RC" -eq 0 ]
    check "... 'pluto stopping now on signal 15'" \
        grep -qx 'pluto stopping now on signal 15' "$TMP/term2.out"
    kill "${PIDS[@]}" 2>/dev/null
    wait "${PIDS[@]}" 2>/dev/null
else
    not_ok "server for a second SIGTERM starts"
fi

finish
