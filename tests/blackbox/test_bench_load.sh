#!/usr/bin/env bash
# test_bench_load.sh — bench/load.c, the lean client of `make bench`, counts right.
#
#   tests/blackbox/test_bench_load.sh BUILD_DIR        (e.g. build)
#
# The benchmark's lean rows are only as good as the client's framing: a response it
# miscounts would inflate a server's req/s. Builds bench/load.c into BUILD_DIR/tests,
# then against `pluto serve SITE -w 1` on 127.0.0.1:
#   (a) keep-alive, 10 connections, 1 s: responses came back, no error of any kind, and
#       the bytes received are the responses' (each as long as curl's `-i` shows it)
#       plus at most one partial response per connection;
#   (b) a 404: no response is counted, every one is a status error;
#   (c) `close`: one response per connection, no error;
#   (d) a server (perl) that sends each response in 5-byte pieces: heads split across
#       receives are framed too, with the same byte count as (a);
#   (e) bad arguments: a usage message and exit 2.
# Skipped where io_uring is unavailable (the client needs it). Prints `ok - ...` /
# `not ok - ...` and `N passed, N failed`; exits 1 when a check failed. About 6 s.
set -u

BUILD=${1:-build}
PLUTO=$BUILD/pluto
HERE=$(cd "$(dirname "$0")" && pwd)
LOAD=$BUILD/tests/load

. "$(dirname "$0")/../lib/report.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-load.XXXXXX")
SRV_PID=""
cleanup() {
    stop_pids $SRV_PID
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_pluto
mkdir -p "$BUILD/tests"
if [ ! -x "$LOAD" ] || [ "$HERE/../../bench/load.c" -nt "$LOAD" ]; then
    cc -O2 -Wall -Wextra -o "$LOAD" "$HERE/../../bench/load.c" -luring ||
        { not_ok "bench/load.c compiles"; finish; }
fi
ok "bench/load.c compiles"

"$LOAD" > /dev/null 2> "$TMP/usage.err"
rc=$?
check "(e) no arguments: exit 2 (got $rc) and a usage line" \
    eval "[ $rc -eq 2 ] && grep -q '^usage: load' '$TMP/usage.err'"
"$LOAD" 127.0.0.1 1 /x 0 1 > /dev/null 2>&1
check "(e) zero connections: exit 2 (got $?)" [ $? -eq 2 ]
"$LOAD" 127.0.0.1 1 x 1 1 > /dev/null 2>&1
check "(e) a path without a leading /: exit 2 (got $?)" [ $? -eq 2 ]

SITE=$TMP/site
mkdir -p "$SITE"
head -c 849 /dev/zero | tr '\0' 'x' > "$SITE/small.html"
"$PLUTO" serve "$SITE" -b 127.0.0.1 -p 0 -w 1 > "$TMP/server.out" 2> "$TMP/server.err" &
SRV_PID=$!
PORT=""
for _ in $(seq 50); do
    PORT=$(sed -n 's|^serving http://127\.0\.0\.1:\([0-9]*\)/$|\1|p' "$TMP/server.out")
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { not_ok "pluto starts: $(head -3 "$TMP/server.err")"; finish; }

# run NAME ARGS...: the client's WRKRESULT fields into R_REQ R_BYTES R_ERR ("" on failure)
run() {
    local name=$1 line
    shift
    R_REQ="" R_BYTES="" R_ERR=""
    if ! timeout 20 "$LOAD" "$@" > "$TMP/$name.out" 2> "$TMP/$name.err"; then
        # only a ring that cannot be set up is a skip; a failure once running is not
        if grep -q '^load: io_uring_\(queue_init\|register_buf_ring\):' "$TMP/$name.err"; then
            echo "ok - bench/load needs io_uring: $(head -1 "$TMP/$name.err") # skip"
            passed=$((passed + 1))
            finish
        fi
        not_ok "$name: load exits 0 ($(head -1 "$TMP/$name.err"))"
        return 1
    fi
    line=$(grep '^WRKRESULT ' "$TMP/$name.out") || { not_ok "$name: a WRKRESULT line"; return 1; }
    set -- $line
    R_REQ=$2 R_BYTES=$3 R_ERR="$5 $6 $7 $8 $9"
}

RESP=$(curl -s -i "http://127.0.0.1:$PORT/small.html" | wc -c)
check "a response is longer than its body ($RESP bytes)" [ "$RESP" -gt 849 ]

# With `close`, every response says so: a longer head.
RESP_CLOSE=$(curl -s -i -H 'Connection: close' "http://127.0.0.1:$PORT/small.html" | wc -c)

# bytes_fit NAME CONNS [SIZE]: received bytes = responses x SIZE (RESP), plus less than
# one response per connection
bytes_fit() {
    local size=${3:-$RESP}
    local extra=$((R_BYTES - R_REQ * size))
    check "$1: $R_BYTES bytes = $R_REQ x $size + $extra (0 <= extra < $2 x $size)" \
        eval "[ $extra -ge 0 ] && [ $extra -lt $(($2 * size)) ]"
}

if run keepalive 127.0.0.1 "$PORT" /small.html 10 1; then
    check "(a) keep-alive: responses counted ($R_REQ)" [ "$R_REQ" -gt 100 ]
    check "(a) keep-alive: no errors ($R_ERR)" [ "$R_ERR" = "0 0 0 0 0" ]
    bytes_fit "(a) keep-alive" 10
fi

if run missing 127.0.0.1 "$PORT" /missing.html 2 0.5; then
    set -- $R_ERR
    check "(b) a 404: no response counted ($R_REQ)" [ "$R_REQ" -eq 0 ]
    check "(b) a 404: status errors counted ($4)" [ "$4" -gt 0 ]
fi

if run close 127.0.0.1 "$PORT" /small.html 5 1 close; then
    check "(c) close: responses counted ($R_REQ)" [ "$R_REQ" -gt 20 ]
    check "(c) close: no errors ($R_ERR)" [ "$R_ERR" = "0 0 0 0 0" ]
    bytes_fit "(c) close" 5 "$RESP_CLOSE"
fi

# (d) the same response, trickled: a perl server answers every request on a connection
# with it in 5-byte pieces, each sent on its own (TCP_NODELAY).
curl -s -i "http://127.0.0.1:$PORT/small.html" > "$TMP/resp.bin"
if command -v perl > /dev/null; then
    perl -MIO::Socket::INET -MSocket=IPPROTO_TCP,TCP_NODELAY -e '
        open my $f, "<:raw", $ARGV[0] or die; local $/; my $r = <$f>;
        my $l = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
            Listen => 16, ReuseAddr => 1) or die "listen: $!";
        print $l->sockport, "\n"; STDOUT->flush;
        alarm 15;
        while (my $c = $l->accept) {
            next if fork;
            $c->setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
            my $in = "";
            while (sysread($c, $in, 4096, length $in)) {
                while ($in =~ s/^.*?\r\n\r\n//s) {
                    for (my $i = 0; $i < length $r; $i += 5) {
                        syswrite($c, substr($r, $i, 5)) or exit 0;
                        select(undef, undef, undef, 0.0002) if $i % 200 == 0;
                    }
                }
            }
            exit 0;
        }' "$TMP/resp.bin" > "$TMP/trickle.port" 2> "$TMP/trickle.err" &
    TRICKLE=$!
    TPORT=""
    for _ in $(seq 50); do
        TPORT=$(head -1 "$TMP/trickle.port")
        [ -n "$TPORT" ] && break
        sleep 0.1
    done
    if [ -z "$TPORT" ]; then
        not_ok "(d) the trickling server starts: $(head -2 "$TMP/trickle.err")"
    elif run trickle 127.0.0.1 "$TPORT" /small.html 2 1; then
        check "(d) 5-byte pieces: responses counted ($R_REQ)" [ "$R_REQ" -gt 5 ]
        check "(d) 5-byte pieces: no errors ($R_ERR)" [ "$R_ERR" = "0 0 0 0 0" ]
        bytes_fit "(d) 5-byte pieces" 2
    fi
    pkill -KILL -P "$TRICKLE" 2>/dev/null # its connections' children (alarm 15 bounds them too)
    kill -KILL "$TRICKLE" 2>/dev/null
    wait "$TRICKLE" 2>/dev/null
else
    echo "ok - (d) perl is missing # skip"
    passed=$((passed + 1))
fi

kill -TERM "$SRV_PID"
wait "$SRV_PID"
check "pluto stops on SIGTERM with exit 0 (got $?)" [ $? -eq 0 ]
SRV_PID=""
finish
