#!/usr/bin/env bash
# test_serve_ops.sh — black-box tests of the static server's operational features:
# the access log (--access-log, --log-format), reopening it on SIGHUP (logrotate),
# the graceful drain on SIGTERM/SIGINT (--drain-timeout) and the send timeout
# (--send-timeout), against the real binary over 127.0.0.1.
#
#   tests/http/test_serve_ops.sh BUILD_DIR        (e.g. build)
#
# Checks:
#   combined and json lines field by field (address, time, request line, status,
#   body bytes, referer, user agent); a hostile User-Agent (quotes, backslashes,
#   tabs, bytes that are not UTF-8) escaped in both formats, every json line parsed
#   by jq; a CR/LF injection attempt never makes a second line; "-" logs to stdout;
#   logrotate: 2,000 requests from 8 keep-alive clients on two workers, the file
#   renamed and SIGHUP sent in between under background load: every request in
#   exactly one of the two files, each line whole; drain: a rate-limited 16 MiB
#   download (a slow reader, under a 4 s send timeout) in flight at SIGTERM
#   completes byte for byte, new connections are
#   refused at once, an idle keep-alive connection is closed at once, exit 0 only
#   after the download; the drain deadline cuts a client that never reads; a
#   second signal exits at once; send timeout: a client that stops reading is cut
#   after about S while others are served; bad options.
# Prints `ok - ...` / `not ok - ...` per check and `N passed, N failed`; exits 1
# when any check failed. About 25 s. Uses curl, jq and perl (a client that never
# reads). KEEP=1 keeps the temporary directory.
set -u

BUILD=${1:-build}
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/lib.bash"        # PLUTO, RAW, HERE; TMP, servers

http_tmp ops
need_pluto
need_tools curl jq perl cmp
build_tool raw

printf 'hello, log\n' >"$SITE/a.txt"
printf '<!doctype html><p>home</p>\n' >"$SITE/index.html"
head -c 16777216 /dev/urandom >"$SITE/big.bin"

# ---- helpers (start_server, wait_exit: lib.bash) ------------------------------------

start_failed() { note <"$TMP/$1.err"; }     # only the server's complaint
serve() { local name=$1; shift; start_server "$name" serve "$SITE" -b 127.0.0.1 -p 0 "$@"; }
# stop_server PID: SIGTERM, then wait_exit up to 5 s; EXIT_RC, EXIT_MS.
stop_server() { kill -TERM "$1" 2>/dev/null; wait_exit "$1" 5; }

# lines_settled FILE N: wait (up to 3 s; the log is written at least once a
# second) until FILE has N lines.
lines_settled() {
    local i
    for i in $(seq 30); do
        [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# A client that asks for PATH and then does not read for SECONDS (16 MiB does
# not fit in the socket buffers): it prints its local port, then after the pause
# reads for at most 5 s and prints "got BYTES eof|open".
stall_client() {
    perl -MIO::Socket::INET -e '
        my ($port, $path, $secs) = @ARGV;
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die "connect: $!";
        print $s "GET $path HTTP/1.1\r\nHost: x\r\n\r\n";
        $| = 1; print $s->sockport, "\n";
        sleep $secs;
        my ($got, $n, $buf, $eof, $end) = (0, 0, "", "open", time + 5);
        my $rin = ""; vec($rin, fileno($s), 1) = 1;
        while (time < $end && select(my $r = $rin, undef, undef, 1)) {
            $n = sysread($s, $buf, 65536);
            if (!$n) { $eof = "eof"; last }
            $got += $n;
        }
        print "got $got $eof\n";' "$@"
}

# sent OUT: wait until stall_client has written its request (its port line in
# OUT), then half a second for the server to take it: a signal sent while the
# client is still starting would find no connection to drain.
sent() {
    for _ in $(seq 100); do [ -s "$1" ] && break; sleep 0.05; done
    sleep 0.5
}

# established SERVER_PORT CLIENT_PORT: the server's end of that connection is
# still ESTABLISHED (/proc/net/tcp).
established() {
    local sp cp
    sp=$(printf '%04X' "$1") cp=$(printf '%04X' "$2")
    awk -v a=":$sp" -v b=":$cp" '$4 == "01" && $2 ~ a "$" && $3 ~ b "$" { n++ } END { exit !n }' \
        /proc/net/tcp
}

# serve_on_fixed_port NAME ARGS...: a server with several workers needs a port of
# its own (port 0 means one worker): a few tries below the ephemeral range; PORT.
serve_on_fixed_port() {
    local name=$1 try
    shift
    for try in 1 2 3 4 5; do
        PORT=$((20000 + RANDOM % 12000))
        start_server "$name" serve "$SITE" -b 127.0.0.1 -p "$PORT" "$@" && return 0
        wait_exit "$SRV_PID" 2
    done
    return 1
}

# hostile PORT VERSION: a request whose target holds a quote and a backslash, and
# whose User-Agent holds quotes, backslashes, a tab, a byte that is not UTF-8 and
# an é: evil" "x\"\\y<TAB>z <0xff>é (the server answers 400: a raw backslash).
hostile() {
    printf 'GET /q"\\x.txt HTTP/1.%s\r\nHost: x\r\nUser-Agent: evil" "x\\"\\\\y\tz \xff\xc3\xa9\r\n\r\n' "$2" |
        timeout 10 "$RAW" 127.0.0.1 "$1" --timeout 2 >/dev/null 2>&1
}

# ---- the combined format -----------------------------------------------------------
if serve comb --access-log "$TMP/comb.log"; then
    P=$SRV_PORT
    now=$(date -u +%s)
    curl -s -o /dev/null -A 'agent/1.0 (test)' -e 'http://ref.example/page?q=1' \
        "http://127.0.0.1:$P/a.txt?x=1"
    curl -s -o "$R/404.b" http://127.0.0.1:$P/missing
    curl -s -o /dev/null -I -A agent/head http://127.0.0.1:$P/a.txt
    hostile "$P" 0
    forged='127.0.0.1 - - [forged] "GET /f HTTP/1.1" 200 1 "-" "y"'
    printf 'GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: x\r\n%s\r\n\r\n' "$forged" |
        timeout 10 "$RAW" 127.0.0.1 "$P" --timeout 2 >/dev/null 2>&1
    lines_settled "$TMP/comb.log" 5
    stop_server "$SRV_PID"
    L=$TMP/comb.log
    check "combined: one line per response (5 requests, $(wc -l <"$L") lines)" \
        [ "$(wc -l <"$L")" -eq 5 ]
    re='^127\.0\.0\.1 - - \[([0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2}) \+0000\] '
    re+='"GET /a\.txt\?x=1 HTTP/1\.1" 200 11 "http://ref\.example/page\?q=1" "agent/1\.0 \(test\)"$'
    line=$(sed -n 1p "$L")
    if [[ $line =~ $re ]]; then
        t=${BASH_REMATCH[1]}
        ts=$(date -u -d "$(echo "$t" | sed 's|/| |g; s|:| |')" +%s 2>/dev/null || echo 0)
        check "combined: address, request line, status, bytes, referer, agent" true
        check "combined: the time is UTC and now ([$t], $((ts - now)) s off)" \
            eval '[ $((ts - now)) -ge -2 ] && [ $((ts - now)) -le 3 ]'
    else
        not_ok "combined: address, request line, status, bytes, referer, agent"
        echo "$line" | note
    fi
    size404=$(wc -c <"$R/404.b")
    check "combined: a 404 logs its body bytes ($size404) and '-' for no referer" \
        grep -qE "\"GET /missing HTTP/1\.1\" 404 $size404 \"-\" \"curl/" "$L"
    check "combined: HEAD logs 0 body bytes" grep -qE '"HEAD /a\.txt HTTP/1\.1" 200 0 "-" "agent/head"$' "$L"
    check "combined: quotes, backslashes, a tab and non-ASCII bytes are escaped as \\xHH" \
        grep -qF '"GET /q\x22\x5Cx.txt HTTP/1.0" 400 ' "$L"
    check "combined: ... in the agent too" \
        grep -qF '"evil\x22 \x22x\x5C\x22\x5C\x5Cy\x09z \xFF\xC3\xA9"' "$L"
    check "combined: a forged line in a header stays inside a 400 line, not a line of its own" \
        eval '! grep -q forged "$L" && grep -qE "^127\.0\.0\.1 - - \[.*\] \"-\" 400 [0-9]+ \"-\" \"-\"$" "$L"'
    check "combined: every line is printable ASCII" eval '! LC_ALL=C grep -q "[^ -~]" "$L"'
else
    not_ok "server with --access-log starts"
fi

# ---- json --------------------------------------------------------------------------
if serve json --access-log "$TMP/json.log" --log-format json; then
    P=$SRV_PORT
    curl -s -o /dev/null -A 'agent/1.0' -e 'http://ref.example/' "http://127.0.0.1:$P/a.txt?x=1"
    hostile "$P" 1
    curl -s -o /dev/null http://127.0.0.1:$P/
    lines_settled "$TMP/json.log" 3
    stop_server "$SRV_PID"
    J=$TMP/json.log
    check "json: every line is one JSON object (jq)" \
        eval '[ "$(wc -l <"$J")" -eq 3 ] && jq -e -c . "$J" >/dev/null 2>&1'
    first=$(sed -n 1p "$J" | jq -r '[.addr, .method, .target, .version, .status, .bytes,
        .referer, .user_agent] | map(tostring) | join("|")' 2>/dev/null)
    check "json: addr, method, target, version, status, bytes, referer, user_agent ($first)" \
        [ "$first" = "127.0.0.1|GET|/a.txt?x=1|HTTP/1.1|200|11|http://ref.example/|agent/1.0" ]
    t=$(sed -n 1p "$J" | jq -r .time 2>/dev/null)
    ts=$(date -u -d "$t" +%s 2>/dev/null || echo 0)
    check "json: time is ISO 8601 UTC and now ($t)" \
        eval '[[ $t =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] &&
              [ $(( $(date +%s) - ts )) -le 5 ]'
    ua=$(sed -n 2p "$J" | jq -r .user_agent 2>/dev/null)
    check "json: the hostile agent decodes to itself, its bad byte as U+FFFD" \
        [ "$ua" = $'evil" "x\\"\\\\y\tz \xef\xbf\xbd\xc3\xa9' ]
    check "json: the raw line escapes them (\\\", \\\\, \\t, \\ufffd)" \
        grep -qF '"user_agent":"evil\" \"x\\\"\\\\y\tz \ufffd'$'\xc3\xa9''"}' "$J"
    check "json: the target keeps its quote and backslash, escaped" \
        grep -qF '"target":"/q\"\\x.txt"' "$J"
    check "json: the index is logged with its status" \
        eval '[ "$(sed -n 3p "$J" | jq -r "[.target, .status] | join(\" \")" 2>/dev/null)" = "/ 200" ]'
else
    not_ok "server with --log-format json starts"
fi

# ---- to stdout, and bad options ----------------------------------------------------
if serve stdout --access-log -; then
    curl -s -o /dev/null -A agent/stdout "http://127.0.0.1:$SRV_PORT/a.txt"
    lines_settled "$TMP/stdout.out" 3
    stop_server "$SRV_PID"
    check "--access-log -: the line goes to stdout after the startup lines" \
        eval 'tail -n +3 "$TMP/stdout.out" | grep -q "\"GET /a.txt HTTP/1.1\" 200 11 \"-\" \"agent/stdout\"$"'
else
    not_ok "server with --access-log - starts"
fi
"$PLUTO" serve "$SITE" -b 127.0.0.1 -p 0 --log-format xml >/dev/null 2>"$R/bad1.err"
rc=$?
check "--log-format xml: exit 2 with a message (got $rc)" \
    eval '[ $rc -eq 2 ] && grep -q "combined or json" "$R/bad1.err"'
"$PLUTO" serve "$SITE" -b 127.0.0.1 -p 0 --drain-timeout soon >/dev/null 2>"$R/bad2.err"
rc=$?
check "--drain-timeout soon: exit 2 (got $rc)" [ $rc -eq 2 ]
timeout 5 "$PLUTO" serve "$SITE" -b 127.0.0.1 -p 0 --access-log "$TMP/no/such/dir/x.log" \
    >/dev/null 2>"$R/bad3.err"
rc=$?
check "an access log that cannot be opened: exit 1 with a message naming it (got $rc)" \
    eval '[ $rc -eq 1 ] && grep -q "no/such/dir/x.log" "$R/bad3.err"'

# ---- logrotate: rename, SIGHUP, under load, two workers ---------------------------
# requests IDS...: the a.txt?ID for each id, 8 keep-alive clients at once.
requests() {
    local from=$1 to=$2 per i pids=()
    per=$(((to - from + 1) / 8))
    for i in $(seq 0 7); do
        curl -s -o /dev/null "http://127.0.0.1:$PORT/a.txt?[$((from + i * per))-$((from + (i + 1) * per - 1))]" &
        pids+=($!)
    done
    wait "${pids[@]}"
}
if serve_on_fixed_port rot -w 2 --access-log "$TMP/rot.log"; then
    requests 1 1000
    (for i in $(seq 1 400); do          # load across the rotation: ids 5001..
        curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/a.txt?$((5000 + i))"
     done >"$R/bg.codes") &
    bg=$!
    sleep 0.3
    mv "$TMP/rot.log" "$TMP/rot.log.1"
    kill -HUP "$SRV_PID"
    for i in $(seq 40); do [ -e "$TMP/rot.log" ] && break; sleep 0.05; done
    check "SIGHUP: a new log file appears after the rename" [ -e "$TMP/rot.log" ]
    sleep 0.2                           # both workers have reopened
    requests 1001 2000
    wait "$bg"
    nbg=$(grep -c '^200$' "$R/bg.codes")
    total=$((2000 + nbg))
    lines_settled "$TMP/rot.log" 1000
    sleep 1.2                           # the last batch of each worker
    stop_server "$SRV_PID"
    check "logrotate: exit 0 after the drain (got $EXIT_RC)" [ "$EXIT_RC" -eq 0 ]
    old=$(wc -l <"$TMP/rot.log.1") new=$(wc -l <"$TMP/rot.log")
    ids() { grep -o 'a\.txt?[0-9]*' "$@" | cut -d'?' -f2; }
    check "logrotate: $total requests, $old + $new lines, none lost or twice" \
        eval '[ $((old + new)) -eq $total ] &&
              [ "$(ids "$TMP/rot.log.1" "$TMP/rot.log" | sort -u | wc -l)" -eq $total ]'
    check "logrotate: requests before the rename in the old file, after it in the new one" \
        eval '[ "$(ids "$TMP/rot.log.1" | awk "\$1 <= 1000" | wc -l)" -eq 1000 ] &&
              [ "$(ids "$TMP/rot.log" | awk "\$1 > 1000 && \$1 <= 2000" | wc -l)" -eq 1000 ]'
    re='^127\.0\.0\.1 - - \[[^]]*\] "GET /a\.txt\?[0-9]+ HTTP/1\.1" 200 11 "-" "curl/[^"]*"$'
    check "logrotate: every line of both files is whole" \
        eval '! cat "$TMP/rot.log.1" "$TMP/rot.log" | grep -vqE "$re"'
else
    not_ok "server with two workers on a port of its own starts"
fi

# ---- drain -------------------------------------------------------------------------
if serve drain --access-log "$TMP/drain.log" --send-timeout 4; then   # a slow reader is not cut
    P=$SRV_PORT
    printf 'GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n' |
        timeout 15 "$RAW" 127.0.0.1 "$P" --timeout 8 >"$R/idle.out" 2>"$R/idle.err" &
    idle=$!
    curl -s --limit-rate 3M -o "$R/dl.bin" -w '%{http_code} %{size_download}\n' \
        "http://127.0.0.1:$P/big.bin" >"$R/dl.txt" &
    dl=$!
    sleep 1
    sig_at=$(date +%s%N)
    kill -TERM "$SRV_PID"
    sleep 0.3
    curl -s -m 2 -o /dev/null "http://127.0.0.1:$P/a.txt"
    rc=$?
    check "drain: a new connection after SIGTERM is refused (curl exit $rc)" [ "$rc" -eq 7 ]
    check "drain: the server is still running while the download goes on" kill -0 "$SRV_PID"
    wait "$idle"
    idle_ms=$(sed -n 's/^CLOSED after \([0-9]*\) ms.*/\1/p' "$R/idle.err")
    check "drain: an idle keep-alive connection is closed at once (after ${idle_ms:-?} ms)" \
        eval '[ -n "$idle_ms" ] && [ "$idle_ms" -ge 300 ] && [ "$idle_ms" -lt 2500 ]'
    wait "$dl"
    dl_done=$(date +%s%N)
    wait_exit "$SRV_PID" 10
    exit_at=$(date +%s%N)
    check "drain: the download in flight completes, 16 MiB byte for byte ($(cat "$R/dl.txt"))" \
        cmp -s "$R/dl.bin" "$SITE/big.bin"
    after=$(((dl_done - sig_at) / 1000000)) later=$(((exit_at - dl_done) / 1000000))
    check "drain: exit 0 once it is done (got $EXIT_RC; the download ended $after ms after the signal, the server $later ms after that)" \
        eval '[ "$EXIT_RC" -eq 0 ] && [ $(((dl_done - sig_at) / 1000000)) -ge 1000 ]'
    check "drain: 'pluto stopping on signal 15'" grep -qx 'pluto stopping on signal 15' "$TMP/drain.out"
    check "drain: the download is in the access log, written before the exit" \
        grep -q '"GET /big.bin HTTP/1.1" 200 16777216 ' "$TMP/drain.log"
else
    not_ok "server for the drain starts"
fi

if serve deadline --drain-timeout 2; then
    stall_client "$SRV_PORT" /big.bin 3 >"$R/stall1.out" &
    st=$!
    sent "$R/stall1.out"
    kill -TERM "$SRV_PID"
    wait_exit "$SRV_PID" 8
    check "drain deadline 2 s: a client that never reads is cut, exit 0 (rc $EXIT_RC, $EXIT_MS ms)" \
        eval '[ "$EXIT_RC" -eq 0 ] && [ "$EXIT_MS" -ge 1500 ] && [ "$EXIT_MS" -le 4000 ]'
    wait "$st"
else
    not_ok "server for the drain deadline starts"
fi

if serve second --drain-timeout 30; then
    stall_client "$SRV_PORT" /big.bin 2 >"$R/stall2.out" &
    st=$!
    sent "$R/stall2.out"
    kill -TERM "$SRV_PID"
    sleep 0.5
    kill -INT "$SRV_PID"
    wait_exit "$SRV_PID" 5
    check "a second signal during the drain exits at once (rc $EXIT_RC, $EXIT_MS ms)" \
        eval '[ "$EXIT_RC" -eq 0 ] && [ "$EXIT_MS" -le 1000 ]'
    check "... saying so" grep -qx 'pluto stopping now on signal 2' "$TMP/second.out"
    wait "$st"
else
    not_ok "server for the second signal starts"
fi

# ---- send timeout ------------------------------------------------------------------
if serve stall --send-timeout 2; then
    P=$SRV_PORT
    stall_client "$P" /big.bin 5 >"$R/stall3.out" &
    st=$!
    for i in $(seq 20); do [ -s "$R/stall3.out" ] && break; sleep 0.05; done
    cport=$(head -n 1 "$R/stall3.out")
    t0=$(date +%s%N)
    curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/a.txt" >"$R/other.code"
    check "send timeout: another client is served meanwhile ($(cat "$R/other.code"))" \
        [ "$(cat "$R/other.code")" = 200 ]
    for i in $(seq 120); do established "$P" "$cport" || break; sleep 0.05; done
    cut_ms=$((($(date +%s%N) - t0) / 1000000))
    check "send timeout 2 s: the server cuts a client that stopped reading (after ~$cut_ms ms)" \
        eval '[ "$cut_ms" -ge 1200 ] && [ "$cut_ms" -le 4000 ]'
    wait "$st"
    got=$(tail -n 1 "$R/stall3.out")
    check "send timeout: that client got part of the file, then the end ($got)" \
        eval '[[ $got =~ ^got\ ([0-9]+)\ eof$ ]] && [ "${BASH_REMATCH[1]}" -lt 16777216 ]'
    stop_server "$SRV_PID"
    check "send timeout: the server keeps running, then stops with 0 (got $EXIT_RC)" \
        [ "$EXIT_RC" -eq 0 ]
else
    not_ok "server with --send-timeout starts"
fi

check "no server reported a sanitizer error (for ASan/UBSan builds)" \
    eval '! grep -lE "Sanitizer|runtime error:" "$TMP"/*.err'
finish
