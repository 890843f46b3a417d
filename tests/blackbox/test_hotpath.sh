#!/usr/bin/env bash
# test_hotpath.sh — what the static server's hot path costs, counted, not timed.
#
#   tests/blackbox/test_hotpath.sh BUILD_DIR        (e.g. build)
#
# A keep-alive request for a small cached file must cost one receive, one send and no
# allocation; an idle keep-alive connection at most 512 bytes. Builds two helpers into
# BUILD_DIR/tests when missing or older than their sources:
#   keepalive_client   one connection, one request at a time (so counts are exact)
#   malloc_count.so    an LD_PRELOAD counter of malloc/calloc/realloc, read on SIGUSR1
# Then, for each live backend (epoll; io_uring where the kernel allows it), against
# `pluto serve SITE -w 1` on 127.0.0.1 (port 0), after 300 requests of warm-up on the
# same connection:
#   (a) 2,000 more requests allocate nothing: at most 20 allocations in all (the
#       once-a-second clock may allocate while they run);
#   (b) under `strace -c`, 2,000 requests make, on epoll, 2,000 receives, 2,000 sends
#       and 2,000 epoll_waits; on io_uring at most 4,000 system calls in all (1% slack:
#       the clock's ticks, what strace's attaching overlaps);
#   (c) 10,000 idle keep-alive connections grow the server's RSS by at most 512
#       bytes each (skipped when `ulimit -n` is too low);
#   (d) a 64 KiB file, kept open by the server: 500 requests make no open, stat or
#       close, and on epoll one receive, two sends (head, sendfile), one epoll_wait
#       each; the file changed on disk is served new within 3 s, and once deleted it
#       is a 404 and the server no longer holds it open;
#   (e) precompressed sidecars come from the cache too: with `Accept-Encoding: br, gzip`,
#       500 requests for a small file with a .br sidecar (answered with it) and 500
#       for one without any make no open (at most 25 each: the caches check files
#       again every second or two) and allocate nothing (at most 20), and on epoll
#       take one receive and one send each.
# In (d) and (e), the head a kept head gives is the general path's but for the Date.
#   (f) on epoll, 300 requests with Connection: close, a connection each: the request
#       has arrived when the connection is handed over (TCP_DEFER_ACCEPT), so each
#       costs one receive and one send, and no epoll_ctl (5% slack); so do 10 whose
#       client waits 0.2 s after connecting (the kernel holds them until then).
#   (g) on each backend, a response with Connection: close is sent with MSG_MORE (its
#       close's FIN joins its last segment), and a keep-alive response is not.
# (a) and (c) are skipped for sanitizer builds (their allocator cannot be interposed,
# their redzones are not the server's memory), (b) when strace is missing or cannot
# attach. Prints `ok - ...` / `not ok - ...` per check and `N passed, N failed`;
# exits 1 when any check failed. Every step is bounded by `timeout`; servers are
# stopped on exit. About 25 s.
set -u

BUILD=${1:-build}
PLUTO=$BUILD/pluto
HERE=$(cd "$(dirname "$0")" && pwd)
CLIENT=$BUILD/tests/keepalive_client
COUNTER=$BUILD/tests/malloc_count.so
N=2000
IDLE=10000

. "$(dirname "$0")/../lib/report.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-hotpath.XXXXXX")
SRV_PID="" CLIENT_PID=""
cleanup() {      # the server, the client, strace: whatever of ours still runs
    stop_pids $SRV_PID $CLIENT_PID
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_pluto
mkdir -p "$BUILD/tests"
if [ ! -x "$CLIENT" ] || [ "$HERE/keepalive_client.c" -nt "$CLIENT" ]; then
    cc -O2 -Wall -Wextra -o "$CLIENT" "$HERE/keepalive_client.c" ||
        { not_ok "keepalive_client.c compiles"; finish; }
fi
if [ ! -e "$COUNTER" ] || [ "$HERE/malloc_count.c" -nt "$COUNTER" ]; then
    cc -O2 -Wall -Wextra -shared -fPIC -o "$COUNTER" "$HERE/malloc_count.c" ||
        { not_ok "malloc_count.c compiles"; finish; }
fi

# A sanitizer build brings its own allocator: LD_PRELOAD cannot count it.
SANITIZED=0
nm "$PLUTO" 2>/dev/null | grep -q '__asan_init\|__ubsan_handle' && SANITIZED=1

SITE=$TMP/site
mkdir -p "$SITE"
head -c 849 /dev/zero | tr '\0' 'x' >"$SITE/small.html"
head -c 65536 /dev/zero | tr '\0' 'y' >"$SITE/big.bin"
head -c 3000 /dev/zero | tr '\0' 's' >"$SITE/side.js"
head -c 300 /dev/zero | tr '\0' 'b' >"$SITE/side.js.br"     # not brotli: never decoded
head -c 3000 /dev/zero | tr '\0' 'p' >"$SITE/bare.js"       # no sidecar at all
AE='Accept-Encoding: br, gzip'

# start_server BACKEND: counting allocations unless sanitized; sets SRV_PID and PORT
# (empty when the server did not start: its stderr is in TMP/server.err).
start_server() {
    local preload=""
    [ "$SANITIZED" = 0 ] && preload=$COUNTER
    rm -f "$TMP/mallocs"
    # --no-sandbox: the counter writes its file, outside the site, from inside the server.
    PLUTO_BACKEND=$1 MALLOC_COUNT_FILE=$TMP/mallocs LD_PRELOAD=$preload \
        "$PLUTO" serve "$SITE" -b 127.0.0.1 -p 0 -w 1 --no-sandbox >"$TMP/server.out" \
        2>"$TMP/server.err" &
    SRV_PID=$!
    PORT=""
    for _ in $(seq 50); do
        PORT=$(sed -n 's|^serving http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$TMP/server.out")
        [ -n "$PORT" ] && break
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
}

stop_server() {  # stop_server NAME: SIGTERM, exit 0 within 5 s
    kill -TERM "$SRV_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SRV_PID" 2>/dev/null; then
        not_ok "$1: server stops on SIGTERM within 5 s"
        kill -KILL "$SRV_PID"
    else
        wait "$SRV_PID"
        check "$1: server stops on SIGTERM with exit 0 (got $?)" [ $? -eq 0 ]
    fi
    SRV_PID=""
}

ask() {      # ask LINE: send LINE to the client, REPLY gets its answer (10 s at most)
    REPLY=""
    echo "$1" >&"${CLI[1]}" && read -r -t 10 REPLY <&"${CLI[0]}"
}

lines() { cat "$1" 2>/dev/null | wc -l; }
mallocs() {  # the allocations the server reports on SIGUSR1 (its last line)
    local before
    before=$(lines "$TMP/mallocs")
    kill -USR1 "$SRV_PID"
    for _ in $(seq 50); do
        [ "$(lines "$TMP/mallocs")" -gt "$before" ] && break
        sleep 0.05
    done
    tail -n 1 "$TMP/mallocs" 2>/dev/null | awk '{ print $2 }'
}

calls() {    # calls FILE NAME...: calls of those system calls in strace -c output
    local f=$1; shift
    awk -v names=" $* " '$1 ~ /^[0-9.]+$/ && index(names, " " $NF " ") { n += $4 }
                         END { print n + 0 }' "$f"
}

within() {   # within WHAT COUNT LOW HIGH [REQUESTS]
    local n=${5:-$N}
    if [ "$2" -ge "$3" ] && [ "$2" -le "$4" ]; then ok "$1: $2 for $n requests"
    else not_ok "$1: $2 for $n requests (want $3..$4)"; fi
}

check_allocations() {   # (a)
    local b=$1 m0 m1
    if [ "$SANITIZED" = 1 ]; then
        skip "$b (a): allocations per request (a sanitizer's allocator cannot be counted)"
        return
    fi
    m0=$(mallocs)
    ask "$N"
    m1=$(mallocs)
    if [ "$REPLY" != "done $N $N" ] || [ -z "$m0" ] || [ -z "$m1" ]; then
        not_ok "$b (a): $N requests counted (reply '$REPLY', mallocs '$m0' -> '$m1')"
    else
        check "$b (a): $N cached keep-alive requests allocate $((m1 - m0)) times (at most 20)" \
            [ $((m1 - m0)) -le 20 ]
    fi
}

# strace_requests B N: run N requests under `strace -c` into TMP/strace; false (after
# a skip) when strace cannot count.
strace_requests() {     # B N: the client's next N requests under strace -c
    strace_run "$1" "$2" ask "$2"
}

# strace_start WHAT OUT STRACE_ARGS...: strace on the server into OUT, in the background
# (ST_PID), once attached; else a skip of WHAT, and 1.
strace_start() {
    local what=$1 out=$2
    shift 2
    if ! command -v strace >/dev/null; then
        skip "$what (strace is not installed)"
        return 1
    fi
    timeout 60 strace "$@" -f -p "$SRV_PID" -o "$out" 2>"$TMP/strace.err" &
    ST_PID=$!
    for _ in $(seq 50); do
        grep -q 'attached' "$TMP/strace.err" 2>/dev/null && break
        sleep 0.05
    done
    if ! grep -q 'attached' "$TMP/strace.err"; then
        kill "$ST_PID" 2>/dev/null; wait "$ST_PID" 2>/dev/null
        skip "$what (strace cannot attach)"
        return 1
    fi
}

strace_run() {          # B N CMD...: CMD (N requests) under strace -c, REPLY set by it
    local b=$1 n=$2
    shift 2
    strace_start "$b: system calls per request" "$TMP/strace" -c || return 1
    "$@"
    kill -INT "$ST_PID"; wait "$ST_PID" 2>/dev/null
    sed 's/^/#   /' "$TMP/strace"
    if [ "$REPLY" != "done $n $n" ]; then
        not_ok "$b: $n requests under strace (reply '$REPLY')"
        return 1
    fi
}

# N requests with Connection: close, one connection each, from one curl.
close_requests() {
    local i urls=()
    for i in $(seq "$1"); do urls+=(-o /dev/null "http://127.0.0.1:$PORT/small.html"); done
    REPLY=$(timeout 60 curl -s -H 'Connection: close' -w '%{http_code}\n' "${urls[@]}" |
        awk -v n="$1" '$1 == 200 { k++ } END { printf "done %d %d", n, k }')
}

# N connections that wait 0.2 s before sending their request.
late_requests() {
    local i k=0
    for i in $(seq "$1"); do
        exec {c}<>"/dev/tcp/127.0.0.1/$PORT" || continue
        sleep 0.2
        # /usr/bin/printf: one write (bash's builtin writes a line at a time)
        env printf 'GET /small.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&"$c"
        timeout 5 head -c 12 <&"$c" | grep -q '^HTTP/1.1 200' && k=$((k + 1))
        exec {c}>&-
    done
    REPLY="done $1 $k"
}

check_close() {         # (f)
    local b=$1 n=300 slack=15
    strace_run "$b" "$n" close_requests "$n" || return
    within "$b (f): an accept per connection, and one finding none (one client at a time)" \
        "$(calls "$TMP/strace" accept4 accept)" "$n" $((2 * n + slack)) "$n"
    within "$b (f): one receive per connection" \
        "$(calls "$TMP/strace" recvfrom recvmsg read)" "$n" $((n + slack)) "$n"
    within "$b (f): one send per connection" \
        "$(calls "$TMP/strace" sendto sendmsg write writev)" "$n" $((n + slack)) "$n"
    within "$b (f): the descriptor never joins the epoll set" \
        "$(calls "$TMP/strace" epoll_ctl)" 0 "$slack" "$n"
    strace_run "$b" 10 late_requests 10 || return
    within "$b (f): a client silent for 0.2 s is handed over with its request: no epoll_ctl" \
        "$(calls "$TMP/strace" epoll_ctl)" 0 0 10
}

# (g) A response with Connection: close is sent with MSG_MORE, so the FIN of the close
# queued behind it leaves in the same segment as its last bytes; a keep-alive response
# never is (it would wait for more). strace shows the flags of the sends made with
# system calls: every send on epoll, and on io_uring those with something queued
# behind them (a keep-alive response goes through the ring, unseen).
check_fin_joins() {
    local b=$1 n=20
    strace_start "$b (g): MSG_MORE before a close" "$TMP/strace.g" \
        -e trace=sendto,sendmsg -s 16 || return
    close_requests "$n"
    local closed=$REPLY
    # two keep-alive requests on one connection
    local kept
    kept=$(timeout 20 curl -s -w '%{http_code}\n' -o /dev/null -o /dev/null \
        "http://127.0.0.1:$PORT/small.html" "http://127.0.0.1:$PORT/small.html" | grep -c '^200$')
    sleep 0.2
    kill -INT "$ST_PID"; wait "$ST_PID" 2>/dev/null
    check "$b (g): $n requests with Connection: close answered 200 ($closed)" \
        [ "$closed" = "done $n $n" ]
    check "$b (g): 2 keep-alive requests on one connection answered 200 ($kept)" [ "$kept" = 2 ]
    local more plain want_plain=0
    more=$(grep -c '"HTTP/1.1 200 OK.*MSG_MORE' "$TMP/strace.g")
    plain=$(grep '"HTTP/1.1 200 OK' "$TMP/strace.g" | grep -vc 'MSG_MORE')
    [ "$b" = epoll ] && want_plain=2
    check "$b (g): each of the $n responses before a close sent with MSG_MORE ($more)" \
        [ "$more" -eq "$n" ]
    check "$b (g): the keep-alive responses sent without it ($plain seen, want $want_plain)" \
        [ "$plain" -eq "$want_plain" ]
}

check_syscalls() {      # (b)
    local b=$1 slack=$((N / 100))
    strace_requests "$b" "$N" || return
    if [ "$b" = epoll ]; then
        within "$b (b): one receive per request" \
            "$(calls "$TMP/strace" recvfrom recvmsg recvmmsg read readv)" "$N" $((N + slack))
        within "$b (b): one send per request" \
            "$(calls "$TMP/strace" sendto sendmsg sendmmsg write writev sendfile)" \
            "$N" $((N + slack))
        within "$b (b): one epoll_wait per request" \
            "$(calls "$TMP/strace" epoll_wait epoll_pwait)" 0 $((N + slack))
    else
        within "$b (b): at most two system calls per request" \
            "$(awk '$NF == "total" { print $4 }' "$TMP/strace")" 0 $((2 * N + slack))
    fi
}

check_idle() {          # (c)
    local b=$1 before after per
    if [ "$SANITIZED" = 1 ]; then
        skip "$b (c): RSS per idle connection (a sanitizer's redzones are not ours)"
        return
    fi
    if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((IDLE + 100)) ]; then
        skip "$b (c): RSS per idle connection (ulimit -n is below $((IDLE + 100)))"
        return
    fi
    before=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SRV_PID/status")
    ask "idle $IDLE"
    sleep 0.5
    after=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SRV_PID/status")
    if [ "$REPLY" != "idle $IDLE $IDLE" ]; then
        not_ok "$b (c): $IDLE idle connections opened and answered (got '$REPLY')"
        return
    fi
    per=$(( (after - before) * 1024 / IDLE ))
    check "$b (c): $IDLE idle keep-alive connections take $per bytes of RSS each (at most 512)" \
        [ "$per" -le 512 ]
}

held() {     # descriptors of the server open on big.bin (deleted or not)
    local f n=0
    for f in /proc/"$SRV_PID"/fd/*; do
        case "$(readlink "$f" 2>/dev/null)" in */big.bin*) n=$((n + 1)) ;; esac
    done
    echo "$n"
}

check_open_files() {    # (d), with the client on /big.bin
    local b=$1 n=500 slack=5 held_before held_after code
    ask 20
    if [ "$REPLY" != "done 20 20" ]; then
        not_ok "$b (d): 20 requests for a 64 KiB file (got '$REPLY')"
        return
    fi
    held_before=$(held)
    same_head "$b (d): a kept file's head" /big.bin
    if strace_requests "$b" "$n"; then
        within "$b (d): no open, stat or close for a kept file" \
            "$(calls "$TMP/strace" openat openat2 open newfstatat fstat statx close)" \
            0 "$slack" "$n"
        if [ "$b" = epoll ]; then
            within "$b (d): one receive per request" \
                "$(calls "$TMP/strace" recvfrom recvmsg read)" "$n" $((n + slack)) "$n"
            within "$b (d): two sends per request, the head and the file" \
                "$(calls "$TMP/strace" sendto sendmsg write writev sendfile)" \
                $((2 * n)) $((2 * n + slack)) "$n"
            within "$b (d): one epoll_wait per request" \
                "$(calls "$TMP/strace" epoll_wait epoll_pwait)" 0 $((n + slack)) "$n"
        fi
    fi
    head -c 40000 /dev/zero | tr '\0' 'z' >"$TMP/big.new"
    mv "$TMP/big.new" "$SITE/big.bin"
    sleep 2.2
    code=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$PORT/big.bin")
    check "$b (d): the file changed on disk is served new within 3 s (got $code)" \
        [ "$code" = "200 40000" ]
    rm -f "$SITE/big.bin"
    sleep 2.2
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/big.bin")
    for _ in $(seq 70); do       # requests pass by the cache's slots: expired ones go
        curl -s -o /dev/null "http://127.0.0.1:$PORT/nothing-$RANDOM"
    done
    held_after=$(held)
    check "$b (d): the file is held open between requests ($held_before descriptors)" \
        [ "$held_before" -ge 1 ]
    check "$b (d): deleted, it is a 404 (got $code)" [ "$code" = 404 ]
    check "$b (d): and no longer held open ($held_after descriptors)" [ "$held_after" -eq 0 ]
    head -c 65536 /dev/zero | tr '\0' 'y' >"$SITE/big.bin"
head -c 3000 /dev/zero | tr '\0' 's' >"$SITE/side.js"
head -c 300 /dev/zero | tr '\0' 'b' >"$SITE/side.js.br"     # not brotli: never decoded
head -c 3000 /dev/zero | tr '\0' 'p' >"$SITE/bare.js"       # no sidecar at all
AE='Accept-Encoding: br, gzip'
}

# The head a plain request gets from a cache entry's kept head is the one the
# general path builds (forced by a precondition that does not hold), but for
# the Date: for GET, HEAD, HTTP/1.0 and Connection: close.
same_head() {           # WHAT PATH
    local what=$1 url="http://127.0.0.1:$PORT$2" v bad=""
    for v in "-X GET" "-I" "-0 -X GET" "-H Connection:close -X GET"; do
        curl -s $v -D "$TMP/h.kept" -o /dev/null "$url"
        curl -s $v -H 'If-None-Match: "other"' -D "$TMP/h.general" -o /dev/null "$url"
        grep -q '^HTTP/1.1 200' "$TMP/h.kept" &&
            diff <(grep -v '^Date:' "$TMP/h.kept") <(grep -v '^Date:' "$TMP/h.general") >/dev/null ||
            bad="$bad [$v]"
    done
    check "$what is the general path's but for the Date (differs:${bad:- none})" [ -z "$bad" ]
}

check_sidecar() {       # (e) B PATH WHAT, with the client on PATH sending Accept-Encoding
    local b=$1 path=$2 what=$3 n=500 m0 m1 got
    got=$(curl -s -H "$AE" -o "$TMP/side.body" -w '%{http_code} %header{content-encoding}' \
        "http://127.0.0.1:$PORT$path")
    if [ "$path" = /side.js ]; then
        check "$b (e): $what gets it with Content-Encoding: br (got '$got')" \
            eval '[ "$got" = "200 br" ] && cmp -s "$TMP/side.body" "$SITE/side.js.br"'
    else
        check "$b (e): $what gets the file itself (got '$got')" \
            eval '[ "$got" = "200 " ] && cmp -s "$TMP/side.body" "$SITE/bare.js"'
    fi
    ask 20
    if [ "$REPLY" != "done 20 20" ]; then
        not_ok "$b (e): 20 requests for $what (got '$REPLY')"
        return
    fi
    same_head "$b (e): $what, its kept head" "$path"
    if [ "$SANITIZED" = 1 ]; then
        skip "$b (e): allocations for $what (a sanitizer's allocator cannot be counted)"
    else
        m0=$(mallocs)
        ask "$n"
        m1=$(mallocs)
        if [ "$REPLY" != "done $n $n" ] || [ -z "$m0" ] || [ -z "$m1" ]; then
            not_ok "$b (e): $n requests for $what counted (reply '$REPLY', mallocs '$m0' -> '$m1')"
        else
            check "$b (e): $n requests for $what allocate $((m1 - m0)) times (at most 20)" \
                [ $((m1 - m0)) -le 20 ]
        fi
    fi
    strace_requests "$b" "$n" || return
    within "$b (e): no open per request for $what" \
        "$(calls "$TMP/strace" open openat openat2)" 0 $((n / 20)) "$n"
    if [ "$b" = epoll ]; then
        within "$b (e): one receive per request for $what" \
            "$(calls "$TMP/strace" recvfrom recvmsg read)" "$n" $((n + 5)) "$n"
        within "$b (e): one send per request for $what" \
            "$(calls "$TMP/strace" sendto sendmsg write writev sendfile)" "$n" $((n + 5)) "$n"
    fi
}

for backend in epoll uring; do
    start_server "$backend"
    if [ -z "$PORT" ]; then
        if [ "$backend" = uring ] && grep -q 'io_uring' "$TMP/server.err"; then
            skip "uring: $(head -n 1 "$TMP/server.err")"
        else
            not_ok "$backend: server starts (stderr: $(head -c 300 "$TMP/server.err"))"
        fi
        wait "$SRV_PID" 2>/dev/null
        SRV_PID=""
        continue
    fi
    # The client runs as a coprocess: a line in, a line out, one connection throughout.
    coproc CLI { timeout 60 "$CLIENT" 127.0.0.1 "$PORT" /small.html 2>&1; }
    CLIENT_PID=$CLI_PID
    ask 300
    if [ "$REPLY" = "done 300 300" ]; then
        ok "$backend: warm-up, 300 keep-alive requests answered 200 on one connection"
        check_allocations "$backend"
        check_syscalls "$backend"
        check_idle "$backend"
    else
        not_ok "$backend: warm-up, 300 keep-alive requests answered 200 (got '$REPLY')"
    fi
    exec {CLI[1]}>&-
    wait "$CLIENT_PID" 2>/dev/null
    coproc CLI { timeout 60 "$CLIENT" 127.0.0.1 "$PORT" /big.bin 2>&1; }
    CLIENT_PID=$CLI_PID
    check_open_files "$backend"
    exec {CLI[1]}>&-
    wait "$CLIENT_PID" 2>/dev/null
    for side in "/side.js:a file with a .br sidecar" "/bare.js:a file without sidecars"; do
        coproc CLI { timeout 60 "$CLIENT" 127.0.0.1 "$PORT" "${side%%:*}" "$AE" 2>&1; }
        CLIENT_PID=$CLI_PID
        check_sidecar "$backend" "${side%%:*}" "${side#*:}"
        exec {CLI[1]}>&-
        wait "$CLIENT_PID" 2>/dev/null
    done
    CLIENT_PID=""
    [ "$backend" = epoll ] && check_close "$backend"
    check_fin_joins "$backend"
    stop_server "$backend"
done
finish
