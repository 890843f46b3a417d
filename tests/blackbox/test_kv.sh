#!/usr/bin/env bash
# test_kv.sh — black-box tests of `pluto kv` with curl over 127.0.0.1.
#
#   tests/blackbox/test_kv.sh BUILD_DIR        (e.g. build)
#
# Starts `pluto kv --port 0` (a free port, on 127.0.0.1) and checks the HTTP API
# end to end: PUT, GET, HEAD, DELETE, 404s, the JSON listing and its escaping,
# bad keys (400), other methods (405), a 1 MiB body by Content-Length and
# chunked, 1 MiB + 1 (413, with and without Expect: 100-continue), keep-alive and
# pipelining on one socket, 50 concurrent clients PUTting distinct keys and then
# reading them all back, the page at /, then SIGTERM (exit 0) and argument
# errors (exit 2 with a usage message; a port in use: exit 1). Every request is
# bounded by curl's --max-time or `timeout`; the server is killed on exit. Prints
# `ok - ...` / `not ok - ...` per check and `N passed, N failed`. About 3 s.
set -u

BUILD=${1:-build}
PLUTO=$BUILD/pluto

. "$(dirname "$0")/../lib/report.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-kv.XXXXXX")
cleanup() {
    stop_pids
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_pluto

# start_server NAME [ARGS...]: `pluto kv --port 0 ARGS` in the background; sets
# SRV_PID and SRV_PORT (empty when no listening line came within 5 s).
start_server() {
    local name=$1 i line; shift
    "$PLUTO" kv --port 0 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    SRV_PID=$!
    SRV_PORT=""
    for i in $(seq 50); do
        line=$(head -n 1 "$TMP/$name.out")
        if [[ $line =~ ^kv\ listening\ on\ http://127\.0\.0\.1:([0-9]+)/$ ]]; then
            SRV_PORT=${BASH_REMATCH[1]}
            return 0
        fi
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    return 1
}

# c ARGS...: curl, bounded, quiet.
c() { curl -s --max-time 10 "$@"; }

# status METHOD PATH [CURL ARGS...]: the status code of one request.
status() {
    local m=$1 p=$2; shift 2
    c -o /dev/null -w '%{http_code}' -X "$m" "$@" "$URL$p"
}

if ! start_server kv; then
    not_ok "server prints 'kv listening on http://127.0.0.1:PORT/'"
    sed 's/^/# /' "$TMP/kv.out" "$TMP/kv.err"
    finish
fi
ok "server prints 'kv listening on http://127.0.0.1:PORT/' (port $SRV_PORT)"
URL=http://127.0.0.1:$SRV_PORT

# ---- the basic API -----------------------------------------------------------
check "GET /kv/ on an empty store is []" [ "$(c "$URL/kv/")" = "[]" ]
check "GET /kv/__probe is 404" [ "$(status GET /kv/__probe)" = 404 ]
check "HEAD /kv/__probe is 404" [ "$(c -o /dev/null -w '%{http_code}' -I "$URL/kv/__probe")" = 404 ]
check "PUT /kv/hello is 204" [ "$(status PUT /kv/hello --data-binary 'world')" = 204 ]
check "GET /kv/hello returns the body" [ "$(c "$URL/kv/hello")" = world ]
c -D "$TMP/h" -o /dev/null "$URL/kv/hello"
check "GET has Content-Type application/octet-stream" \
    grep -qi '^Content-Type: application/octet-stream' "$TMP/h"
check "GET has Server: pluto and a Date" \
    bash -c "grep -qi '^Server: pluto' '$TMP/h' && grep -qi '^Date: .* GMT' '$TMP/h'"
c -I "$URL/kv/hello" >"$TMP/h"
check "HEAD /kv/hello: 200 with Content-Length 5" \
    bash -c "grep -q '^HTTP/1.1 200' '$TMP/h' && grep -qi '^Content-Length: 5' '$TMP/h'"
check "PUT replaces a value" [ "$(status PUT /kv/hello --data-binary 'again')" = 204 ]
check "GET sees the new value" [ "$(c "$URL/kv/hello")" = again ]
check "DELETE /kv/hello is 204" [ "$(status DELETE /kv/hello)" = 204 ]
check "GET after DELETE is 404" [ "$(status GET /kv/hello)" = 404 ]
check "DELETE of an absent key is 404" [ "$(status DELETE /kv/hello)" = 404 ]
check "POST /kv/x is 405" [ "$(status POST /kv/x --data-binary x)" = 405 ]
c -D "$TMP/h" -o /dev/null -X PATCH "$URL/kv/x"
check "405 says Allow: GET, HEAD, PUT, DELETE" grep -qi '^Allow: GET, HEAD, PUT, DELETE' "$TMP/h"
check "PUT / is 405" [ "$(status PUT / --data-binary x)" = 405 ]
check "a key with an encoded '/' is 400" [ "$(status PUT /kv/a%2Fb --data-binary x)" = 400 ]
check "a key of 257 bytes is 400" [ "$(status GET "/kv/$(printf 'k%.0s' $(seq 257))")" = 400 ]
check "invalid UTF-8 in a key is 400" [ "$(status GET /kv/%FF)" = 400 ]
check "another path is 404" [ "$(status GET /nothing)" = 404 ]

# ---- the listing: keys as escaped JSON strings -----------------------------------
for k in 'q%22uote' 'back%5Cslash' 'tab%09' 'caf%C3%A9'; do
    status PUT "/kv/$k" --data-binary v >/dev/null
done
list=$(c "$URL/kv/")
echo "# listing: $list"
check 'listing escapes a quote: "q\"uote"' grep -qF '"q\"uote"' <<<"$list"
check 'listing escapes a backslash: "back\\slash"' grep -qF '"back\\slash"' <<<"$list"
check 'listing escapes a tab: "tab\t"' grep -qF '"tab\t"' <<<"$list"
check 'listing keeps UTF-8: "café"' grep -qF '"café"' <<<"$list"
check "the decoded key names the value" [ "$(c "$URL/kv/q%22uote")" = v ]
c -D "$TMP/h" -o /dev/null "$URL/kv/"
check "listing is application/json" grep -qi '^Content-Type: application/json' "$TMP/h"
for k in 'q%22uote' 'back%5Cslash' 'tab%09' 'caf%C3%A9'; do
    status DELETE "/kv/$k" >/dev/null
done

# ---- large bodies -------------------------------------------------------------
head -c 1048576 /dev/urandom >"$TMP/mib"
head -c 1048577 /dev/urandom >"$TMP/mib1"
check "PUT of 1 MiB is 204" [ "$(status PUT /kv/mib --data-binary @"$TMP/mib")" = 204 ]
c -o "$TMP/got" "$URL/kv/mib"
check "GET returns the 1 MiB exactly" cmp -s "$TMP/mib" "$TMP/got"
check "PUT of 1 MiB chunked is 204" \
    [ "$(status PUT /kv/mibc -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/mib")" = 204 ]
c -o "$TMP/got" "$URL/kv/mibc"
check "GET returns the chunked 1 MiB exactly" cmp -s "$TMP/mib" "$TMP/got"
check "PUT of 1 MiB + 1 is 413 (Expect: 100-continue)" \
    [ "$(status PUT /kv/big --data-binary @"$TMP/mib1" -H 'Expect: 100-continue')" = 413 ]
check "PUT of 1 MiB + 1 is 413 (body sent at once)" \
    [ "$(status PUT /kv/big --data-binary @"$TMP/mib1" -H 'Expect:')" = 413 ]
check "PUT of 1 MiB + 1 chunked is 413" \
    [ "$(status PUT /kv/big -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/mib1")" = 413 ]
check "nothing was stored for the 413s" [ "$(status GET /kv/big)" = 404 ]

# ---- keep-alive and pipelining ----------------------------------------------------
n=$(c -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}\n' \
    "$URL/kv/mib" "$URL/kv/" "$URL/kv/__probe" | paste -sd ' ')
check "keep-alive: three requests on one connection (connects: $n)" [ "$n" = "1 0 0" ]
req='PUT /kv/pipe HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none'
req+='GET /kv/pipe HTTP/1.1\r\nHost: x\r\n\r\n'
req+='DELETE /kv/pipe HTTP/1.1\r\nHost: x\r\n\r\n'
req+='GET /kv/pipe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$SRV_PORT; printf '$req' >&3; cat <&3" \
    >"$TMP/pipe" 2>/dev/null
got=$(grep -ao 'HTTP/1.1 [0-9]*' "$TMP/pipe" | cut -d' ' -f2 | paste -sd ' ')
check "pipelined PUT GET DELETE GET answered in order ($got)" [ "$got" = "204 200 204 404" ]
check "the pipelined GET got the body" grep -aq '^oneHTTP/1.1 204' "$TMP/pipe"

# ---- 50 concurrent clients --------------------------------------------------------
for i in $(seq 50); do
    head -c $((1000 + i * 997)) /dev/urandom >"$TMP/body$i"
done
clients=()
for i in $(seq 50); do
    c -o /dev/null -w '%{http_code}\n' -X PUT --data-binary @"$TMP/body$i" \
        "$URL/kv/client-$i" >"$TMP/put$i" &
    clients+=($!)
done
wait "${clients[@]}"
puts=$(cat "$TMP"/put* | grep -c '^204$')
check "50 concurrent PUTs of distinct keys: all 204 (got $puts)" [ "$puts" -eq 50 ]
same=0
for i in $(seq 50); do
    c -o "$TMP/read$i" "$URL/kv/client-$i" && cmp -s "$TMP/body$i" "$TMP/read$i" &&
        same=$((same + 1))
done
check "all 50 read back exactly (got $same)" [ "$same" -eq 50 ]
keys=$(c "$URL/kv/" | grep -o '"client-[0-9]*"' | wc -l)
check "the listing has the 50 keys (got $keys)" [ "$keys" -eq 50 ]

# ---- the page ---------------------------------------------------------------------
c -D "$TMP/h" -o "$TMP/page" "$URL/"
check "GET / is 200 text/html" \
    bash -c "grep -q '^HTTP/1.1 200' '$TMP/h' && grep -qi '^Content-Type: text/html' '$TMP/h'"
check "the page has its script and uses fetch()" \
    bash -c "grep -q '<script>' '$TMP/page' && grep -q 'fetch(' '$TMP/page'"
check "the page loads nothing from elsewhere (no src= or href=)" \
    bash -c "! grep -Eqi '(src|href)=' '$TMP/page'"
check "the page's Content-Security-Policy allows no other origin" \
    grep -qi "^Content-Security-Policy: default-src 'none'" "$TMP/h"

# ---- stopping ---------------------------------------------------------------------
check "nothing on the server's stderr" [ ! -s "$TMP/kv.err" ]
kill -TERM "$SRV_PID"
for i in $(seq 50); do
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$SRV_PID" 2>/dev/null; then
    kill -KILL "$SRV_PID"
    not_ok "SIGTERM stops the server within 5 s"
fi
wait "$SRV_PID"; rc=$?
check "SIGTERM: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "SIGTERM: prints 'kv stopping on signal 15'" grep -qx "kv stopping on signal 15" "$TMP/kv.out"

# ---- arguments ----------------------------------------------------------------------
# expect_exit WHAT CODE STDERR_PATTERN ARGS...
expect_exit() {
    local what=$1 code=$2 pat=$3 rc; shift 3
    timeout -k 2 5 "$PLUTO" kv "$@" >"$TMP/x.out" 2>"$TMP/x.err"; rc=$?
    check "$what: exits $code (got $rc)" [ "$rc" -eq "$code" ]
    check "$what: says why on stderr" grep -qiE "$pat" "$TMP/x.err"
}
expect_exit "pluto kv --port x" 2 "usage: pluto kv" --port x
expect_exit "pluto kv --port 70000" 2 "usage: pluto kv" --port 70000
expect_exit "pluto kv --bind (no address)" 2 "usage: pluto kv" --bind
expect_exit "pluto kv --frob" 2 "usage: pluto kv" --frob
if start_server busy; then
    expect_exit "pluto kv on a port in use" 1 "cannot listen.*in use" --port "$SRV_PORT"
    kill -TERM "$SRV_PID"
    wait "$SRV_PID"
else
    not_ok "busy: server starts"
fi

finish
