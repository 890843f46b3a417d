#!/usr/bin/env bash
# test_serve.sh — black-box tests of the static server (`pluto serve DIR`, `pluto PORT DIR`)
# over real sockets on 127.0.0.1, with curl and the raw client tests/http/raw.c.
#
#   tests/http/test_serve.sh BUILD_DIR        (e.g. build)
#
# Builds tests/http/raw.c into BUILD_DIR/tests/raw when missing or older than its
# source, generates a site in a temporary directory (many file types, a 1 MiB binary,
# directories with and without index.html, dotfiles, .well-known, symlinks inside
# and escaping the root, a name with spaces and UTF-8) and checks:
#   startup line; GET/HEAD, types, headers, exact bytes; methods; keep-alive and
#   pipelining; conditional requests; ranges; directories; dotfiles; symlinks;
#   traversal in every encoding (a marker file planted outside the root must never
#   come back); framing and size limits; header and idle timeouts; 200 slowloris
#   clients; --header, --cors, --cache-control; argument errors and SIGTERM.
# Servers listen on 127.0.0.1 with `-p 0` (the port read from `serving http://...`)
# and are killed on exit; every step is bounded by `timeout`. Prints `ok - ...` /
# `not ok - ...` per check and `N passed, N failed`; exits 1 when any check failed.
# About 15 s. KEEP=1 keeps the temporary directory (responses are in TMP/r, server
# output in TMP/NAME.out and .err). Against an ASan/UBSan build (BUILD=build/asan) a
# sanitizer report from any server is a failure; a main server that dies is restarted
# so the rest still runs.
set -u
shopt -s lastpipe   # `printf ... | framing ...`: the checks run in this shell and count

BUILD=${1:-build}
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/lib.bash"        # PLUTO, RAW, HERE; TMP, servers, requests

http_tmp serve
OUTSIDE=$(mktemp -d "${TMPDIR:-/tmp}/pluto-outside.XXXXXX")
cleanup() { kill_servers term; drop_tmp; rm -rf "$OUTSIDE"; }

need_pluto
build_tool raw
need_tools curl cmp dd date

# ---- the site --------------------------------------------------------------------
# A marker planted outside the root: in another temporary directory (the target of
# the escaping symlinks) and in the root's parent (what "/../marker.txt" would name).
MARK="pluto-outside-marker-$$-$RANDOM$RANDOM"
echo "$MARK" >"$OUTSIDE/marker.txt"
echo "$MARK" >"$TMP/marker.txt"

cd "$SITE" || exit 1
printf '<!doctype html>\n<title>home</title>\n<p>index of the test site</p>\n' >index.html
printf 'body { color: #123; }\n' >style.css
printf 'console.log("app");\n' >app.js
printf 'export const x = 1;\n' >mod.mjs
printf '{"a": [1, 2, 3], "b": "\xc3\xa9"}\n' >data.json
printf '\0asm\1\0\0\0' >mod.wasm
printf '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>\n' >pic.svg
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR' >pic.png
printf 'RIFF\x1a\0\0\0WEBPVP8 ' >pic.webp
printf '\0\0\0\x1cftypavif\0\0\0\0' >pic.avif
printf 'wOF2\0\1\0\0' >font.woff2
printf '{"name": "t", "start_url": "/"}\n' >site.webmanifest
printf 'plain notes\nsecond line\n' >notes.txt
printf 'no extension here\n' >README
head -c 1048576 /dev/urandom >big.bin
touch -d '2020-02-02 20:20:20 UTC' big.bin      # a Last-Modified clearly older than Date (strong)
mkdir sub nodex .well-known
printf '<!doctype html><p>sub index</p>\n' >sub/index.html
printf 'hidden in sub\n' >sub/.hidden
printf 'in a directory without index\n' >nodex/file.txt
printf 'SECRET=dotfile\n' >.secret
printf 'well known\n' >.well-known/x
ln -s notes.txt link.txt                        # inside the root, to a file inside
ln -s "$OUTSIDE/marker.txt" escape.txt          # to a file outside the root
ln -s "$OUTSIDE" escape-dir                     # to a directory outside the root
ln -s ../marker.txt escape-rel.txt              # relative, climbing out
UTF8_NAME=$(printf 'hello w\xc3\xb6rld \xc3\xbc.txt')
UTF8_URL='hello%20w%C3%B6rld%20%C3%BC.txt'
printf 'spaces and utf-8\n' >"$UTF8_NAME"
: >empty.txt
truncate -s 32M huge.bin                        # sparse: cheap on disk
truncate -s 5G over4g.bin                       # sparse, past 32-bit offsets
mkfifo fifo                                     # neither file nor directory
ln -s loop loop                                 # a symlink loop
mkdir .git && printf '[core]\n' >.git/config
ODD_DIR=$(printf 'd \xc3\xbc?x')                 # a directory name that needs escaping
mkdir "$ODD_DIR" && printf 'odd index\n' >"$ODD_DIR/index.html"
ODD_URL='/d%20%C3%BC%3Fx'
cd - >/dev/null || exit 1

# ---- helpers (start_server, fetch, rawq, hval, status_of, body_len: lib.bash) ------

serve() { local name=$1; shift; start_server "$name" serve "$SITE" -b 127.0.0.1 -p 0 "$@"; }

# stop_server PID: SIGTERM, then SIGKILL after 3 s; sets STOP_RC.
stop_server() {
    local i
    kill -TERM "$1" 2>/dev/null
    for i in $(seq 30); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    STOP_RC=$?
}

statuses()   { grep -a '^HTTP/1\.[01] ' "$1" | awk '{ printf "%s ", $2 }'; }
closed()     { grep -q '^CLOSED after' "$R/$1.err"; }
ended()      { grep -qE '^(CLOSED|RESET) after' "$R/$1.err"; }
ms_of()      { sed -n 's/^[A-Z]* after \([0-9]*\) ms.*/\1/p' "$R/$1.err"; }
no_marker() { ! grep -rqa "$MARK" "$@" && ! grep -rqa 'root:x:0:0' "$@"; }
imf_ok() {      # an IMF-fixdate that round-trips through date(1)
    [[ $1 =~ ^(Mon|Tue|Wed|Thu|Fri|Sat|Sun),\ [0-9]{2}\ [A-Z][a-z]{2}\ [0-9]{4}\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ GMT$ ]] &&
        [ "$(date -u -d "$1" '+%a, %d %b %Y %H:%M:%S GMT' 2>/dev/null)" = "$1" ]
}
mtime_imf() { date -u -r "$1" '+%a, %d %b %Y %H:%M:%S GMT'; }
slice() { tail -c +$(($1 + 1)) "$SITE/big.bin" | head -c "$2" >"$R/slice"; }  # OFFSET COUNT of big.bin
say() { echo "# $*"; }

# ---- startup: the short form ------------------------------------------------------
if start_server short 0 "$SITE" -b 127.0.0.1; then
    line=$(head -n 1 "$TMP/short.out")
    re="^Pluto starting on ${SITE//./\\.}, port ([0-9]+), on (.*)\.$"
    if [[ $line =~ $re ]]; then
        sp=${BASH_REMATCH[1]} sd=${BASH_REMATCH[2]}
        check "short form 'pluto 0 DIR': prints 'Pluto starting on DIR, port $sp, on <IMF date>.'" \
            imf_ok "$sd"
        check "short form: the port in that line is the listening port ($SRV_PORT)" \
            [ "$sp" = "$SRV_PORT" ]
    else
        not_ok "short form 'pluto 0 DIR': prints 'Pluto starting on DIR, port PORT, on <IMF date>.'"
        echo "$line" | note
    fi
    fetch short "$SRV_PORT" /notes.txt
    check "short form: serves DIR (GET /notes.txt -> $CODE)" \
        eval '[ "$CODE" = 200 ] && cmp -s "$R/short.b" "$SITE/notes.txt"'
    stop_server "$SRV_PID"
else
    not_ok "short form 'pluto 0 DIR -b 127.0.0.1' starts"
fi

# ---- the main server (default options) ------------------------------------------
if ! serve main; then
    not_ok "pluto serve DIR -b 127.0.0.1 -p 0 starts"
    finish
fi
MAIN=$SRV_PID P=$SRV_PORT
# main_alive SECTION: one failure, and a restart, when the main server died, so that
# one crash does not hide the rest of the run (its stderr is kept in main-died.err).
main_alive() {
    kill -0 "$MAIN" 2>/dev/null && return 0
    wait "$MAIN" 2>/dev/null
    not_ok "the main server is still running before '$1' (it exited with $?; stderr below)"
    head -n 8 "$TMP/main.err" | note
    cat "$TMP/main.err" >>"$TMP/main-died.err"
    serve main || finish
    MAIN=$SRV_PID P=$SRV_PORT
}
ok "pluto serve DIR -b 127.0.0.1 -p 0 prints 'serving http://127.0.0.1:$P/'"
listens_on_loopback_only() {     # /proc/net/tcp{,6}: a listener on 127.0.0.1:PORT only
    local hex mine others
    hex=$(printf '%04X' "$1")
    mine=$(awk -v p=":$hex" '$4 == "0A" && $2 == "0100007F" p' /proc/net/tcp | wc -l)
    others=$(cat /proc/net/tcp /proc/net/tcp6 |
        awk -v p=":$hex" '$4 == "0A" && $2 ~ p "$" && $2 != "0100007F" p' | wc -l)
    [ "$mine" -eq 1 ] && [ "$others" -eq 0 ]
}
check "-b 127.0.0.1: listens on 127.0.0.1 only" listens_on_loopback_only "$P"
check "long form also prints the 'Pluto starting on DIR, port $P, on <date>.' line" \
    grep -qE "^Pluto starting on .*, port $P, on .* GMT\.$" "$TMP/main.out"

# ---- GET and HEAD: types, headers, exact bytes ----------------------------------
types=(
    "index.html|text/html; charset=utf-8"
    "style.css|text/css; charset=utf-8"
    "app.js|text/javascript; charset=utf-8"
    "mod.mjs|text/javascript; charset=utf-8"
    "data.json|application/json; charset=utf-8"
    "mod.wasm|application/wasm"
    "pic.svg|image/svg+xml; charset=utf-8"
    "pic.png|image/png"
    "pic.webp|image/webp"
    "pic.avif|image/avif"
    "font.woff2|font/woff2"
    "site.webmanifest|application/manifest+json; charset=utf-8"
    "notes.txt|text/plain; charset=utf-8"
    "README|application/octet-stream"
    "big.bin|application/octet-stream"
)
for t in "${types[@]}"; do
    f=${t%%|*} ty=${t#*|}
    fetch "get-$f" "$P" "/$f"
    size=$(wc -c <"$SITE/$f")
    got_ty=$(hval "$R/get-$f.h" Content-Type) got_len=$(hval "$R/get-$f.h" Content-Length)
    [ "$CODE" = 200 ] && [ "$got_ty" = "$ty" ] && [ "$got_len" = "$size" ] &&
        cmp -s "$R/get-$f.b" "$SITE/$f"
    check "GET /$f: 200, Content-Type '$ty', Content-Length $size, identical bytes (got $CODE, '$got_ty', $got_len)" \
        [ $? -eq 0 ]
done
fetch utf8 "$P" "/$UTF8_URL"
check "GET a name with spaces and UTF-8 (/$UTF8_URL): 200, identical bytes (got $CODE)" \
    eval '[ "$CODE" = 200 ] && cmp -s "$R/utf8.b" "$SITE/$UTF8_NAME"'

h=$R/get-notes.txt.h
check "200 carries X-Content-Type-Options: nosniff" [ "$(hval "$h" X-Content-Type-Options)" = nosniff ]
check "200 carries Server: pluto" [ "$(hval "$h" Server)" = pluto ]
d=$(hval "$h" Date)
now=$(date +%s) dsec=$(date -u -d "$d" +%s 2>/dev/null || echo 0)
check "Date is a valid IMF-fixdate ('$d')" imf_ok "$d"
check "Date is within 5 s of the clock (off by $((dsec - now)) s)" \
    eval '[ $((dsec - now)) -le 5 ] && [ $((now - dsec)) -le 5 ]'
lm=$(hval "$h" Last-Modified)
check "Last-Modified is the file's mtime ('$lm')" [ "$lm" = "$(mtime_imf "$SITE/notes.txt")" ]
check "Accept-Ranges: bytes" [ "$(hval "$h" Accept-Ranges)" = bytes ]

for f in notes.txt big.bin index.html; do
    fetch "head-$f" "$P" "/$f" -I
    diff <(grep -vi '^date:' "$R/get-$f.h") <(grep -vi '^date:' "$R/head-$f.h") >"$R/head-$f.diff"
    check "HEAD /$f: 200 with the same headers as GET (Date aside)" \
        eval '[ "$CODE" = 200 ] && [ ! -s "$R/head-$f.diff" ]'
    note <"$R/head-$f.diff"
done
printf 'HEAD /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | rawq head-raw "$P"
check "HEAD /big.bin sends no body bytes (raw: $(body_len "$R/head-raw.out") after the head)" \
    eval '[ "$(status_of "$R/head-raw.out")" = 200 ] && [ "$(body_len "$R/head-raw.out")" = 0 ]'
printf 'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n' | rawq halfclose "$P" --half-close
check "a client that half-closes after its request still gets the whole 1 MiB ($(body_len "$R/halfclose.out") bytes)" \
    eval '[ "$(status_of "$R/halfclose.out")" = 200 ] && [ "$(body_len "$R/halfclose.out")" = 1048576 ]'

fetch empty "$P" /empty.txt
check "GET an empty file: 200 with Content-Length: 0 (got $CODE, '$(hval "$R/empty.h" Content-Length)')" \
    eval '[ "$CODE" = 200 ] && [ "$(hval "$R/empty.h" Content-Length)" = 0 ] && [ ! -s "$R/empty.b" ]'
printf 'HEAD /sub HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | rawq head-301 "$P"
check "HEAD /sub: 301 without a body (raw: $(body_len "$R/head-301.out") bytes after the head)" \
    eval '[ "$(status_of "$R/head-301.out")" = 301 ] && [ "$(body_len "$R/head-301.out")" = 0 ]'
printf 'HEAD /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | rawq head-404 "$P"
check "HEAD of a missing file: 404 without a body (raw: $(body_len "$R/head-404.out") bytes after the head)" \
    eval '[ "$(status_of "$R/head-404.out")" = 404 ] && [ "$(body_len "$R/head-404.out")" = 0 ]'

# ---- methods ---------------------------------------------------------------------
main_alive methods
for m in POST PUT DELETE; do
    fetch "m-$m" "$P" /notes.txt -X "$m"
    al=$(hval "$R/m-$m.h" Allow)
    check "$m without a body: 405 with Allow: GET, HEAD (got $CODE, Allow '$al')" \
        eval '[ "$CODE" = 405 ] && [ "$al" = "GET, HEAD" ]'
done
fetch m-body "$P" /notes.txt --data 'hello=1'
check "POST with a body: 413 (got $CODE)" [ "$CODE" = 413 ]
printf 'POST /notes.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /notes.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    rawq m-keep "$P"
check "after a 405 the connection serves the next request (got: $(statuses "$R/m-keep.out"))" \
    [ "$(statuses "$R/m-keep.out")" = "405 200 " ]
{
    printf 'POST /notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 262144\r\n\r\n'
    head -c 262144 /dev/zero
} | rawq m-bigbody "$P"
check "POST with a 256 KiB body: the client reads a 413, not a reset (got '$(status_of "$R/m-bigbody.out")', $(tail -n 1 "$R/m-bigbody.err"))" \
    [ "$(status_of "$R/m-bigbody.out")" = 413 ]

# ---- keep-alive and pipelining ------------------------------------------------------
main_alive keep-alive
nc=$(timeout -k 2 10 curl -s -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects}:%{http_code} ' \
    "http://127.0.0.1:$P/notes.txt" "http://127.0.0.1:$P/style.css" "http://127.0.0.1:$P/")
check "keep-alive: curl makes 3 requests over one connection (num_connects:status $nc)" \
    [ "$nc" = "1:200 0:200 0:200 " ]
printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /data.json HTTP/1.1\r\nHost: x\r\n\r\nGET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    rawq pipe "$P"
types_seen=$(grep -ai '^content-type:' "$R/pipe.out" | tr -d '\r' | cut -d' ' -f2 | tr -d ';' | tr '\n' ' ')
check "pipelining: 3 requests in one write get 3 responses (got: $(statuses "$R/pipe.out"))" \
    [ "$(statuses "$R/pipe.out")" = "200 200 200 " ]
check "pipelining: responses in request order (types: $types_seen)" \
    [ "$types_seen" = "text/plain application/json text/css " ]
order=$(grep -an -e '^plain notes' -e '^{"a"' -e '^body {' "$R/pipe.out" | cut -d: -f2- | awk '{ printf "%s ", $1 }')
check "pipelining: bodies in request order ($order)" [ "$order" = 'plain {"a": body ' ]
check "pipelining: Connection: close on the last closes the connection" closed pipe
printf 'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /notes.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=5-9\r\n\r\nDELETE /notes.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /empty.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    rawq pipe-mix "$P" --split "$R/pipe-mix"
list=$(awk '{ printf "%s:%s ", $2, $3 }' "$R/pipe-mix.list" 2>/dev/null)
slice 5 5
check "pipelining 1 MiB, small, range, 405, empty, small in one write: in order, framed exactly ($list)" \
    eval '[[ $list =~ ^200:1048576\ 200:24\ 206:5\ 405:[0-9]+\ 200:0\ 200:22\ $ ]] &&
        cmp -s "$R/pipe-mix.1" "$SITE/big.bin" && cmp -s "$R/pipe-mix.2" "$SITE/notes.txt" &&
        cmp -s "$R/pipe-mix.3" "$R/slice" && cmp -s "$R/pipe-mix.6" "$SITE/style.css"'
{
    for i in $(seq 99); do printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\n\r\n'; done
    printf 'GET /data.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
} | rawq pipe100 "$P" --split "$R/pipe100"
n200=$(awk '$2 == 200 && $3 == 24' "$R/pipe100.list" 2>/dev/null | wc -l)
check "100 pipelined requests in one write: 100 answers in order ($n200 x notes.txt, then $(tail -n 1 "$R/pipe100.list" 2>/dev/null))" \
    eval '[ "$n200" = 99 ] && [ "$(wc -l <"$R/pipe100.list")" = 100 ] && cmp -s "$R/pipe100.100" "$SITE/data.json"'
printf 'GET /notes.txt HTTP/1.0\r\n\r\n' | rawq http10 "$P" --timeout 3
check "HTTP/1.0 without keep-alive: 200, then the server closes ($(tail -n 1 "$R/http10.err"))" \
    eval '[ "$(status_of "$R/http10.out")" = 200 ] && closed http10'
printf 'GET /missing HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' | rawq http10ka "$P" --timeout 1.5
check "HTTP/1.0 keep-alive: a 404 says Connection: keep-alive and the connection stays open" \
    eval '[ "$(status_of "$R/http10ka.out")" = 404 ] &&
        grep -qi "^Connection: keep-alive" "$R/http10ka.out" && grep -q ^TIMEOUT "$R/http10ka.err"'
printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\n\r\n' | rawq http11 "$P" --timeout 1.5
check "HTTP/1.1: the connection stays open after the response ($(tail -n 1 "$R/http11.err"))" \
    eval '[ "$(status_of "$R/http11.out")" = 200 ] && grep -q ^TIMEOUT "$R/http11.err"'

# ---- files over 4 GiB -----------------------------------------------------------------
fetch g-head "$P" /over4g.bin -I
check "a 5 GiB file: HEAD gives Content-Length 5368709120 (got $(hval "$R/g-head.h" Content-Length))" \
    [ "$(hval "$R/g-head.h" Content-Length)" = 5368709120 ]
fetch g-range "$P" /over4g.bin -H 'Range: bytes=4294967296-4294967305'
check "a range past 4 GiB: 206, Content-Range bytes 4294967296-4294967305/5368709120, 10 bytes" \
    eval '[ "$CODE" = 206 ] && [ "$(hval "$R/g-range.h" Content-Range)" = \
        "bytes 4294967296-4294967305/5368709120" ] && [ "$(wc -c <"$R/g-range.b")" = 10 ]'
fetch g-tail "$P" /over4g.bin -H 'Range: bytes=-3'
check "a suffix range of a 5 GiB file: the last 3 bytes (got $CODE, $(hval "$R/g-tail.h" Content-Range))" \
    eval '[ "$CODE" = 206 ] && [ "$(hval "$R/g-tail.h" Content-Range)" = "bytes 5368709117-5368709119/5368709120" ]'

# ---- conditional requests -----------------------------------------------------------
main_alive conditional
U=/style.css
fetch c0 "$P" "$U"
etag=$(hval "$R/c0.h" ETag) lm=$(hval "$R/c0.h" Last-Modified)
fetch c1 "$P" "$U"
check "ETag is strong and quoted ($etag)" eval '[[ $etag =~ ^\"[^\"]+\"$ ]]'
check "ETag is stable across requests" [ "$etag" = "$(hval "$R/c1.h" ETag)" ]
fetch c-inm "$P" "$U" -H "If-None-Match: $etag"
check "If-None-Match exact: 304 (got $CODE)" [ "$CODE" = 304 ]
check "304 keeps the ETag" [ "$(hval "$R/c-inm.h" ETag)" = "$etag" ]
printf 'GET %s HTTP/1.1\r\nHost: x\r\nIf-None-Match: %s\r\nConnection: close\r\n\r\n' "$U" "$etag" |
    rawq c-inm-raw "$P"
check "304 has no body (raw: $(body_len "$R/c-inm-raw.out") bytes after the head)" \
    eval '[ "$(status_of "$R/c-inm-raw.out")" = 304 ] && [ "$(body_len "$R/c-inm-raw.out")" = 0 ]'
fetch c-list "$P" "$U" -H "If-None-Match: \"nope\", $etag, \"other\""
check "If-None-Match list containing the tag: 304 (got $CODE)" [ "$CODE" = 304 ]
fetch c-star "$P" "$U" -H 'If-None-Match: *'
check "If-None-Match: *: 304 (got $CODE)" [ "$CODE" = 304 ]
fetch c-weak "$P" "$U" -H "If-None-Match: W/$etag"
check "If-None-Match W/ form matches for GET (weak compare): 304 (got $CODE)" [ "$CODE" = 304 ]
fetch c-miss "$P" "$U" -H 'If-None-Match: "nope"'
check "If-None-Match other tag: 200 (got $CODE)" [ "$CODE" = 200 ]
fetch c-prec "$P" "$U" -H 'If-None-Match: "nope"' -H "If-Modified-Since: $lm"
check "If-None-Match takes precedence over If-Modified-Since: 200 (got $CODE)" [ "$CODE" = 200 ]
fetch c-ims "$P" "$U" -H "If-Modified-Since: $lm"
check "If-Modified-Since equal to Last-Modified: 304 (got $CODE)" [ "$CODE" = 304 ]
fetch c-ims-old "$P" "$U" -H 'If-Modified-Since: Thu, 01 Jan 2015 00:00:00 GMT'
check "If-Modified-Since older: 200 (got $CODE)" [ "$CODE" = 200 ]
fetch c-im "$P" "$U" -H 'If-Match: "nope"'
check "If-Match mismatch: 412 (got $CODE)" [ "$CODE" = 412 ]
fetch c-im-ok "$P" "$U" -H "If-Match: $etag"
check "If-Match with the current tag: 200 (got $CODE)" [ "$CODE" = 200 ]
fetch c-im-weak "$P" "$U" -H "If-Match: W/$etag"
check "If-Match with the W/ form: 412 (strong compare) (got $CODE)" [ "$CODE" = 412 ]
fetch c-im-star "$P" "$U" -H 'If-Match: *'
check "If-Match: *: 200 (got $CODE)" [ "$CODE" = 200 ]
fetch c-ims-bad "$P" "$U" -H 'If-Modified-Since: yesterday'
check "If-Modified-Since not a date: ignored, 200 (got $CODE)" [ "$CODE" = 200 ]
fetch c-ius "$P" "$U" -H 'If-Unmodified-Since: Thu, 01 Jan 2015 00:00:00 GMT'
check "If-Unmodified-Since older than the file: 412 (got $CODE)" [ "$CODE" = 412 ]
fetch c-html0 "$P" /index.html
fetch c-html "$P" /index.html -H "If-None-Match: $(hval "$R/c-html0.h" ETag)"
check "304 for HTML keeps Cache-Control: no-cache (got $CODE, '$(hval "$R/c-html.h" Cache-Control)')" \
    eval '[ "$CODE" = 304 ] && [ "$(hval "$R/c-html.h" Cache-Control)" = no-cache ]'

# ---- ranges ---------------------------------------------------------------------------
main_alive ranges
# shellcheck disable=SC2034  # B is read inside eval'd conditions
B=$SITE/big.bin BS=1048576
fetch r0 "$P" /big.bin
betag=$(hval "$R/r0.h" ETag)
range_check() {     # range_check NAME RANGE OFFSET COUNT [CURL ARGS]: 206 with that slice
    local name=$1 rg=$2 off=$3 cnt=$4 cr
    shift 4
    fetch "$name" "$P" /big.bin -H "Range: $rg" "$@"
    slice "$off" "$cnt"
    cr=$(hval "$R/$name.h" Content-Range)
    [ "$CODE" = 206 ] && [ "$cr" = "bytes $off-$((off + cnt - 1))/$BS" ] &&
        [ "$(hval "$R/$name.h" Content-Length)" = "$cnt" ] && cmp -s "$R/$name.b" "$R/slice"
    check "Range $rg: 206, Content-Range bytes $off-$((off + cnt - 1))/$BS, the exact slice (got $CODE, '$cr')" \
        [ $? -eq 0 ]
}
range_check r-single 'bytes=100-199' 100 100
range_check r-suffix 'bytes=-500' $((BS - 500)) 500
range_check r-open 'bytes=1048000-' 1048000 $((BS - 1048000))
range_check r-clamp 'bytes=0-99999999' 0 "$BS"
range_check r-ifrange "bytes=10-19" 10 10 -H "If-Range: $betag"
range_check r-one 'bytes=0-0' 0 1
range_check r-ifrange-date "bytes=20-29" 20 10 -H "If-Range: $(hval "$R/r0.h" Last-Modified)"
fetch r-bad "$P" /big.bin -H 'Range: bytes=5-1'
check "Range with bad syntax (bytes=5-1): ignored, 200 with the whole file (got $CODE)" \
    eval '[ "$CODE" = 200 ] && cmp -s "$R/r-bad.b" "$B"'
fetch r-unit "$P" /big.bin -H 'Range: items=0-1'
check "Range in another unit (items=0-1): ignored, 200 (got $CODE)" [ "$CODE" = 200 ]
fetch r-weak "$P" /big.bin -H 'Range: bytes=10-19' -H "If-Range: W/$betag"
check "If-Range with a weak tag: 200 with the whole file (got $CODE)" \
    eval '[ "$CODE" = 200 ] && cmp -s "$R/r-weak.b" "$B"'
printf 'HEAD /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n' | rawq r-head "$P"
check "HEAD with a Range: 206 with Content-Length 10 and no body (got $(status_of "$R/r-head.out"), $(body_len "$R/r-head.out") body bytes)" \
    eval '[ "$(status_of "$R/r-head.out")" = 206 ] && [ "$(hval "$R/r-head.out" Content-Length)" = 10 ] && [ "$(body_len "$R/r-head.out")" = 0 ]'
fetch r-empty "$P" /empty.txt -H 'Range: bytes=0-'
check "Range on an empty file: 416 with Content-Range: bytes */0 (got $CODE, '$(hval "$R/r-empty.h" Content-Range)')" \
    eval '[ "$CODE" = 416 ] && [ "$(hval "$R/r-empty.h" Content-Range)" = "bytes */0" ]'
fetch r-416 "$P" /big.bin -H 'Range: bytes=2000000-'
cr=$(hval "$R/r-416.h" Content-Range)
check "unsatisfiable Range: 416 with Content-Range: bytes */$BS (got $CODE, '$cr')" \
    eval '[ "$CODE" = 416 ] && [ "$cr" = "bytes */$BS" ]'
# Several ranges: multipart/byteranges, built here byte for byte and compared.
multi_check() {     # multi_check NAME FILE TYPE SIZE RANGE a-b...
    local name=$1 file=$2 type=$3 size=$4 rg=$5 ct bnd a b
    shift 5
    fetch "$name" "$P" "/$(basename "$file")" -H "Range: bytes=$rg"
    ct=$(hval "$R/$name.h" Content-Type)
    bnd=${ct#multipart/byteranges; boundary=}
    : >"$R/$name.want"
    for part in "$@"; do
        a=${part%-*} b=${part#*-}
        printf '\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %s-%s/%s\r\n\r\n' \
            "$bnd" "$type" "$a" "$b" "$size" >>"$R/$name.want"
        tail -c +$((a + 1)) "$file" | head -c $((b - a + 1)) >>"$R/$name.want"
    done
    printf '\r\n--%s--\r\n' "$bnd" >>"$R/$name.want"
    check "Range bytes=$rg on $(basename "$file"): 206 multipart/byteranges, exact parts (got $CODE, '$ct')" \
        eval '[ "$CODE" = 206 ] && [ "$ct" != "${ct#multipart/byteranges; boundary=}" ] &&
              [ "$(hval "$R/$name.h" Content-Length)" = "$(wc -c <"$R/$name.b")" ] &&
              cmp -s "$R/$name.b" "$R/$name.want"'
}
multi_check r-multi "$B" application/octet-stream "$BS" '0-9,100-109,-6' \
    0-9 100-109 $((BS - 6))-$((BS - 1))
ns=$(wc -c <"$SITE/notes.txt")
multi_check r-multi-small "$SITE/notes.txt" 'text/plain; charset=utf-8' "$ns" '0-1,4-5' 0-1 4-5
fetch r-adjacent "$P" /big.bin -H 'Range: bytes=0-4,5-9'
check "adjacent ranges merge: one part, bytes 0-9 (got $CODE, '$(hval "$R/r-adjacent.h" Content-Range)')" \
    [ "$(hval "$R/r-adjacent.h" Content-Range)" = "bytes 0-9/$BS" ]
fetch r-ifrange-old "$P" /big.bin -H 'Range: bytes=10-19' -H 'If-Range: "old-etag"'
check "If-Range with an old ETag: 200 with the whole file (got $CODE)" \
    eval '[ "$CODE" = 200 ] && cmp -s "$R/r-ifrange-old.b" "$B"'

# ---- directories ---------------------------------------------------------------------
main_alive directories
fetch d-sub "$P" /sub
check "/sub: 301 Location /sub/ (got $CODE, '$(hval "$R/d-sub.h" Location)')" \
    eval '[ "$CODE" = 301 ] && [ "$(hval "$R/d-sub.h" Location)" = /sub/ ]'
fetch d-subq "$P" '/sub?x=1'
check "/sub?x=1: 301 Location /sub/?x=1 (got $CODE, '$(hval "$R/d-subq.h" Location)')" \
    eval '[ "$CODE" = 301 ] && [ "$(hval "$R/d-subq.h" Location)" = "/sub/?x=1" ]'
fetch d-slash "$P" /sub/
check "/sub/: 200 with sub/index.html (got $CODE)" \
    eval '[ "$CODE" = 200 ] && cmp -s "$R/d-slash.b" "$SITE/sub/index.html"'
fetch d-slashq "$P" '/sub/?x=1'
check "/sub/?x=1: 200 with sub/index.html (got $CODE)" \
    eval '[ "$CODE" = 200 ] && cmp -s "$R/d-slashq.b" "$SITE/sub/index.html"'
# shellcheck disable=SC2034  # read inside an eval'd condition
uri_path_re='^/[A-Za-z0-9._~!$&()*+,;=:@%/-]*/$'     # pchar and '/' only: no space, no '?', no raw UTF-8
fetch d-odd "$P" "$ODD_URL"
loc=$(hval "$R/d-odd.h" Location)
printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$loc" | rawq d-odd-follow "$P" --split "$R/d-odd-follow"
check "a directory named 'd ü?x' ($ODD_URL): 301 whose Location is a valid URI path leading to its index (got $CODE, Location '$loc', following it: $(status_of "$R/d-odd-follow.out"))" \
    eval '[ "$CODE" = 301 ] && [[ $loc =~ $uri_path_re ]] &&
        [ "$(status_of "$R/d-odd-follow.out")" = 200 ] && cmp -s "$R/d-odd-follow.1" "$SITE/$ODD_DIR/index.html"'
fetch d-fileslash "$P" /notes.txt/
check "a file named with a trailing slash (/notes.txt/): 404 (got $CODE)" [ "$CODE" = 404 ]
fetch d-root "$P" /
check "/: 200 with index.html (got $CODE)" \
    eval '[ "$CODE" = 200 ] && cmp -s "$R/d-root.b" "$SITE/index.html"'
fetch d-nodex "$P" /nodex/
check "a directory without index.html: 404 (got $CODE)" [ "$CODE" = 404 ]
check "404 carries Server: pluto and X-Content-Type-Options: nosniff" \
    eval '[ "$(hval "$R/d-nodex.h" Server)" = pluto ] && [ "$(hval "$R/d-nodex.h" X-Content-Type-Options)" = nosniff ]'
fetch d-missing "$P" /no-such-file.txt
check "a missing file: 404 (got $CODE)" [ "$CODE" = 404 ]

# ---- dotfiles ----------------------------------------------------------------------------
main_alive dotfiles
fetch dot-secret "$P" /.secret
check "/.secret: 404 (got $CODE)" [ "$CODE" = 404 ]
fetch dot-enc "$P" /%2esecret
check "/%2esecret (encoded dot): 404 (got $CODE)" [ "$CODE" = 404 ]
fetch dot-wk "$P" /.well-known/x
check "/.well-known/x: 200 (got $CODE)" \
    eval '[ "$CODE" = 200 ] && cmp -s "$R/dot-wk.b" "$SITE/.well-known/x"'
fetch dot-sub "$P" /sub/.hidden
check "/sub/.hidden: 404 (got $CODE)" [ "$CODE" = 404 ]
fetch dot-git "$P" /.git/config
check "/.git/config: 404 (got $CODE)" [ "$CODE" = 404 ]
fetch dot-gitdir "$P" /.git/
check "/.git/: 404 (got $CODE)" [ "$CODE" = 404 ]
check "no dotfile content in those responses" \
    eval '! grep -qa -e SECRET=dotfile -e "hidden in sub" -e "core" "$R"/dot-secret.b "$R"/dot-enc.b "$R"/dot-sub.b "$R"/dot-git.b "$R"/dot-gitdir.b'

# ---- symlinks ------------------------------------------------------------------------------
main_alive symlinks
fetch ln-in "$P" /link.txt
check "symlink to a file inside the root: 200 (got $CODE)" \
    eval '[ "$CODE" = 200 ] && cmp -s "$R/ln-in.b" "$SITE/notes.txt"'
for l in escape.txt escape-dir/marker.txt escape-rel.txt; do
    n=ln-${l//\//_}
    fetch "$n" "$P" "/$l"
    check "symlink escaping the root (/$l): 404, not the outside file (got $CODE)" \
        eval '[ "$CODE" = 404 ] && no_marker "$R/$n.b"'
done

fetch ln-loop "$P" /loop
check "a symlink loop: 404 (got $CODE)" [ "$CODE" = 404 ]
FETCH_W='%{http_code}%{time_total}' fetch fifo "$P" /fifo
tt=${CODE:3} CODE=${CODE:0:3}
check "a FIFO in the root: 404 at once, no hang (got $CODE in ${tt}s)" \
    eval '[ "$CODE" = 404 ] && awk -v t="$tt" "BEGIN { exit !(t < 1.0) }"'

# ---- hostile targets -----------------------------------------------------------------------
main_alive hostile
# Each alone on a connection (Connection: close), sent byte-exact by raw.
# ALLOWED is a regex of acceptable statuses; the marker must never come back.
hostile() {     # hostile NAME ALLOWED TARGET
    local name=$1 allowed=$2 target=$3 st
    printf 'GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' "$target" | rawq "h-$name" "$P"
    st=$(status_of "$R/h-$name.out")
    [[ $st =~ ^($allowed)$ ]] && no_marker "$R/h-$name.out"
    check "hostile GET $target: $allowed, no outside content (got ${st:-nothing})" [ $? -eq 0 ]
}
hostile dotdot 400 '/../marker.txt'
hostile dotdot-deep 400 '/sub/../../marker.txt'
hostile enc-dot 400 '/%2e%2e/marker.txt'
hostile enc-dot-case 400 '/%2E%2e/marker.txt'
hostile enc-dot-mixed 400 '/.%2e/marker.txt'
hostile enc-slash 400 '/sub/..%2f..%2fmarker.txt'
hostile enc-slash-up 400 '/..%2Fmarker.txt'
hostile enc-bslash 400 '/..%5cmarker.txt'
hostile enc-bslash-up 400 '/sub%5C..%5C..%5Cmarker.txt'
hostile bslash 400 '/..\marker.txt'
hostile bslash-sub 400 '/sub\..\..\marker.txt'
hostile double-enc '400|404' '/%252e%252e/marker.txt'
hostile double-enc-slash '400|404' '/..%252fmarker.txt'
hostile overlong 400 '/%c0%ae%c0%ae/marker.txt'
hostile overlong-slash 400 '/..%c0%afmarker.txt'
hostile nul 400 '/notes.txt%00.html'
hostile nul-dotdot 400 '/%00/../marker.txt'
hostile absolute 400 'http://x/../../etc/passwd'
hostile absolute-marker 400 'http://x/../marker.txt'
hostile relative 400 '../x'
hostile relative-marker 400 '../marker.txt'
hostile star 400 '*'
hostile etc-passwd '400|404' '/etc/passwd'

# ---- framing and limits --------------------------------------------------------------------
main_alive framing
framing() {     # framing NAME STATUS WHAT <BYTES: that status, and the server closes
    local name=$1 want=$2 what=$3 st
    rawq "f-$name" "$P" --timeout 3
    st=$(status_of "$R/f-$name.out")
    check "$what: $want and close (got ${st:-nothing}, $(tail -n 1 "$R/f-$name.err"))" \
        eval '[ "$st" = "$want" ] && ended "f-$name"'
}
printf 'POST /notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /notes.txt HTTP/1.1\r\nHost: x\r\n\r\n' |
    framing cl-te 400 "Content-Length with Transfer-Encoding"
check "Content-Length with Transfer-Encoding: the smuggled request gets no answer ($(statuses "$R/f-cl-te.out"))" \
    [ "$(statuses "$R/f-cl-te.out")" = "400 " ]
printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n' |
    framing dup-cl 400 "duplicate Content-Length (same value)"
printf 'POST /notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhello' |
    framing dup-cl2 400 "duplicate Content-Length (different values)"
printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n' |
    framing bad-cl 400 "malformed Content-Length"
printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n' |
    framing obs-fold 400 "obs-fold header"
printf 'GET /notes.txt HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n' |
    framing bare-cr 400 "bare CR in a header"
printf 'GET /notes.txt HTTP/1.1\rHost: x\r\n\r\n' |
    framing bare-cr-line 400 "bare CR after the request line"
printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\nX-A: a\000b\r\n\r\n' |
    framing nul-header 400 "NUL in a header"
printf 'GET /notes.txt HTTP/1.1\nHost: x\n\n' |
    framing bare-lf 400 "bare LF line endings"
printf 'GET  /notes.txt HTTP/1.1\r\nHost: x\r\n\r\n' |
    framing two-spaces 400 "two spaces in the request line"
printf 'GET /notes.txt HTTP/1.1\r\nHost : x\r\n\r\n' |
    framing space-colon 400 "whitespace before a header colon"
printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n' |
    framing plus-cl 400 "Content-Length: +5"
printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\n' |
    framing list-cl 400 "Content-Length: 1, 1"
printf 'POST /notes.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n' |
    framing te-twice 400 "Transfer-Encoding: chunked, chunked"
printf 'POST /notes.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n' |
    framing te-gzip 400 "Transfer-Encoding not ending in chunked"
printf 'POST /notes.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' |
    framing te-10 400 "Transfer-Encoding in HTTP/1.0"
printf '\r\nGET /notes.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | rawq lead-crlf "$P"
check "an empty line before the request line is skipped: 200 (got $(status_of "$R/lead-crlf.out"))" \
    [ "$(status_of "$R/lead-crlf.out")" = 200 ]
printf 'GET /notes.txt HTTP/1.1\r\n\r\n' |
    framing no-host 400 "missing Host in HTTP/1.1"
printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n' |
    framing dup-host 400 "duplicate Host"
printf 'GET /notes.txt HTTP/2.0\r\nHost: x\r\n\r\n' |
    framing h2 505 "HTTP/2.0 request line"
printf 'GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' "$(head -c 20000 /dev/zero | tr '\0' a)" |
    framing long-line 414 "a 20 KB request line"
{
    printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\n'
    for i in $(seq 200); do printf 'X-H%d: v\r\n' "$i"; done
    printf '\r\n'
} | framing many-headers 431 "200 headers"
{
    pad=$(head -c 1000 /dev/zero | tr '\0' b)
    printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\n'
    for i in $(seq 40); do printf 'X-Pad%d: %s\r\n' "$i" "$pad"; done
    printf '\r\n'
} | framing big-head 431 "40 KB of headers with the default 32 KiB limit"
{
    pad=$(head -c 1000 /dev/zero | tr '\0' b)
    printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
    for i in $(seq 20); do printf 'X-Pad%d: %s\r\n' "$i" "$pad"; done
    printf '\r\n'
} | rawq mid-head "$P"
check "20 KB of headers (under the limit): 200 (got $(status_of "$R/mid-head.out"))" \
    [ "$(status_of "$R/mid-head.out")" = 200 ]
check "no response so far contains the outside marker or /etc/passwd" no_marker "$R"
check "the server survived all of it" kill -0 "$MAIN"

# ---- options ---------------------------------------------------------------------------------
main_alive options
fetch cc-html "$P" /index.html
check "HTML gets Cache-Control: no-cache by default ('$(hval "$R/cc-html.h" Cache-Control)')" \
    [ "$(hval "$R/cc-html.h" Cache-Control)" = no-cache ]
if serve opts --header 'X-Test: 1' --cors --cache-control 'max-age=60'; then
    fetch o-txt "$SRV_PORT" /notes.txt
    check "--header 'X-Test: 1' appears (got '$(hval "$R/o-txt.h" X-Test)')" \
        [ "$(hval "$R/o-txt.h" X-Test)" = 1 ]
    check "--cors adds Access-Control-Allow-Origin: * (got '$(hval "$R/o-txt.h" Access-Control-Allow-Origin)')" \
        [ "$(hval "$R/o-txt.h" Access-Control-Allow-Origin)" = '*' ]
    check "--cache-control 'max-age=60' appears (got '$(hval "$R/o-txt.h" Cache-Control)')" \
        [ "$(hval "$R/o-txt.h" Cache-Control)" = max-age=60 ]
    fetch o-html "$SRV_PORT" /index.html
    check "--cache-control also replaces the HTML default (got '$(hval "$R/o-html.h" Cache-Control)')" \
        [ "$(hval "$R/o-html.h" Cache-Control)" = max-age=60 ]
    stop_server "$SRV_PID"
else
    not_ok "server with --header --cors --cache-control starts"
fi
if serve mhb --max-header-bytes 4096; then
    for kb in 3 5; do
        {
            printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
            for i in $(seq "$kb"); do printf 'X-Pad%d: %s\r\n' "$i" "$(head -c 1000 /dev/zero | tr '\0' c)"; done
            printf '\r\n'
        } | rawq "mhb-$kb" "$SRV_PORT"
    done
    check "--max-header-bytes 4096: 3 KB of headers get 200 (got $(status_of "$R/mhb-3.out"))" \
        [ "$(status_of "$R/mhb-3.out")" = 200 ]
    check "--max-header-bytes 4096: 5 KB of headers get 431 (got $(status_of "$R/mhb-5.out"))" \
        [ "$(status_of "$R/mhb-5.out")" = 431 ]
    stop_server "$SRV_PID"
else
    not_ok "server with --max-header-bytes 4096 starts"
fi
if serve maxc --max-conns 5 --header-timeout 1; then
    printf '%s' $'GET /notes.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ....................................\r\n\r\n' |
        rawq maxc "$SRV_PORT" --clients 10 --delay-ms 100 --timeout 5
    held=$(awk '$2 == "closed" && $3 < 1500 && $5 == 408' "$R/maxc.out" | wc -l)
    say "--max-conns 5, 10 slow clients: $(awk '{ printf "%s/%s ", $3, $5 }' "$R/maxc.out")(ms/status)"
    check "--max-conns 5: at most 5 of 10 slow clients are held at once ($held got their 408 in the first header timeout)" \
        [ "$held" -le 5 ]
    FETCH_W='%{http_code}' fetch maxc-after "$SRV_PORT" /notes.txt
    check "--max-conns 5: served normally afterwards (got $CODE)" [ "$CODE" = 200 ]
    stop_server "$SRV_PID"
else
    not_ok "server with --max-conns 5 starts"
fi
if serve allow --dotfiles allow; then
    fetch a-secret "$SRV_PORT" /.secret
    check "--dotfiles allow: /.secret is 200 (got $CODE)" \
        eval '[ "$CODE" = 200 ] && cmp -s "$R/a-secret.b" "$SITE/.secret"'
    fetch a-escape "$SRV_PORT" /escape.txt
    check "--dotfiles allow: an escaping symlink is still 404 (got $CODE)" \
        eval '[ "$CODE" = 404 ] && no_marker "$R/a-escape.b"'
    stop_server "$SRV_PID"
else
    not_ok "server with --dotfiles allow starts"
fi

# ---- timeouts ------------------------------------------------------------------------------------
SLOW_HEAD=$'GET /notes.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: a-very-slow-client-that-never-ends\r\nX-Pad: ........................................\r\n\r\n'
if serve ht --header-timeout 1; then
    printf '%s' "$SLOW_HEAD" | rawq ht-slow "$SRV_PORT" --delay-ms 300 --timeout 5 &
    slow=$!
    sleep 0.5
    FETCH_W='%{http_code}%{time_total}' fetch ht-normal "$SRV_PORT" /notes.txt
    tt=${CODE:3} CODE=${CODE:0:3}
    check "--header-timeout 1: meanwhile a normal client gets 200 fast (${tt}s)" \
        eval '[ "$CODE" = 200 ] && awk -v t="$tt" "BEGIN { exit !(t < 1.0) }"'
    wait "$slow"
    st=$(status_of "$R/ht-slow.out") ms=$(ms_of ht-slow)
    check "--header-timeout 1: a client sending 1 byte / 300 ms gets 408 or a close within ~1.5 s (got '${st:-nothing}', $(tail -n 1 "$R/ht-slow.err"))" \
        eval '{ [ "$st" = 408 ] || [ -z "$st" ]; } && ended ht-slow && [ "${ms:-9999}" -le 1600 ]'
    check "--header-timeout 1: it is cut after the timeout, not before (${ms:-?} ms)" \
        [ "${ms:-0}" -ge 900 ]
    stop_server "$SRV_PID"
else
    not_ok "server with --header-timeout 1 starts"
fi
if serve idle --idle-timeout 1; then
    printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\n\r\n' | rawq idle-ka "$SRV_PORT" --timeout 4 &
    a=$!
    : | rawq idle-silent "$SRV_PORT" --timeout 4 &
    b=$!
    wait "$a" "$b"
    ms=$(ms_of idle-ka)
    check "--idle-timeout 1: an idle keep-alive connection is closed after ~1 s (got $(status_of "$R/idle-ka.out"), $(tail -n 1 "$R/idle-ka.err"))" \
        eval '[ "$(status_of "$R/idle-ka.out")" = 200 ] && ended idle-ka && [ "$ms" -ge 800 ] && [ "$ms" -le 2000 ]'
    FETCH_W='%{http_code} %{size_download}' fetch idle-dl "$SRV_PORT" /huge.bin --limit-rate 12M
    check "--idle-timeout 1 does not cut a slow 32 MiB download that takes ~3 s (got $CODE)" \
        [ "$CODE" = "200 33554432" ]
    ms=$(ms_of idle-silent)
    # The kernel holds a silent client about a second before handing it over
    # (TCP_DEFER_ACCEPT), then the idle timeout runs.
    check "--idle-timeout 1: a connection that never sends is closed after ~1 s, ~2 s from its connect ($(tail -n 1 "$R/idle-silent.err"))" \
        eval 'ended idle-silent && [ "$ms" -ge 1800 ] && [ "$ms" -le 3200 ]'
    stop_server "$SRV_PID"
else
    not_ok "server with --idle-timeout 1 starts"
fi
if serve idle-ms --idle-timeout 500ms; then
    printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\n\r\n' | rawq idle-ms "$SRV_PORT" --timeout 3
    ms=$(ms_of idle-ms)
    check "--idle-timeout 500ms: closed after ~0.5 s ($(tail -n 1 "$R/idle-ms.err"))" \
        eval 'ended idle-ms && [ "$ms" -ge 350 ] && [ "$ms" -le 1500 ]'
    stop_server "$SRV_PID"
else
    not_ok "server with --idle-timeout 500ms starts"
fi

# ---- slowloris at scale ----------------------------------------------------------------------------
if serve loris --header-timeout 2; then
    printf '%s' "$SLOW_HEAD" |
        timeout -k 2 15 "$RAW" 127.0.0.1 "$SRV_PORT" --clients 200 --delay-ms 100 --timeout 8 \
            >"$R/loris.out" 2>"$R/loris.err" &
    lp=$!
    sleep 1
    FETCH_W='%{http_code}%{time_total}' fetch loris-normal "$SRV_PORT" /notes.txt
    tt=${CODE:3} CODE=${CODE:0:3}
    say "a normal request during the slowloris took ${tt}s"
    check "200 slow clients: a normal curl request meanwhile gets 200 in under 2 s (${tt}s)" \
        eval '[ "$CODE" = 200 ] && awk -v t="$tt" "BEGIN { exit !(t < 2.0) }"'
    wait "$lp"
    summary=$(tail -n 1 "$R/loris.err")
    say "$summary; first lines: $(awk '{ $1 = $2 = $3 = ""; print }' "$R/loris.out" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
    max=$(sed -n 's/.* max_ms \([0-9]*\)$/\1/p' "$R/loris.err")
    check "200 clients dribbling bytes with --header-timeout 2: all cut ($summary)" \
        eval '[[ $summary =~ ^clients\ 200\ closed\ 200\ timeout\ 0\  ]]'
    check "200 clients dribbling bytes: all cut within ~3 s (last after ${max:-?} ms)" \
        eval '[[ $summary =~ \ closed\ 200\  ]] && [ "${max:-99999}" -le 3500 ]'
    stop_server "$SRV_PID"
else
    not_ok "server with --header-timeout 2 starts"
fi

# ---- argument errors and signals -------------------------------------------------------------------
main_alive errors
timeout -k 2 5 "$PLUTO" serve "$SITE" -b 127.0.0.1 -p 0 --bogus >"$R/e-flag.out" 2>"$R/e-flag.err"
rc=$?
check "bad flag: exit 2 (got $rc)" [ "$rc" -eq 2 ]
check "bad flag: a usage message on stderr" grep -qi 'usage' "$R/e-flag.err"
check "bad flag: names the flag" grep -q -- '--bogus' "$R/e-flag.err"
timeout -k 2 5 "$PLUTO" serve "$SITE" -b 127.0.0.1 -p 0 --header-timeout soon >"$R/e-dur.out" 2>"$R/e-dur.err"
rc=$?
check "bad --header-timeout value: exit 2 (got $rc)" [ "$rc" -eq 2 ]
timeout -k 2 5 "$PLUTO" serve "$SITE" -b 127.0.0.1 -p 70000 >"$R/e-port.out" 2>"$R/e-port.err"
rc=$?
check "port 70000: exit 2 (got $rc) with a message" eval '[ "$rc" -eq 2 ] && grep -qi port "$R/e-port.err"'
timeout -k 2 5 "$PLUTO" serve "$SITE/notes.txt" -b 127.0.0.1 -p 0 >"$R/e-file.out" 2>"$R/e-file.err"
rc=$?
check "a file instead of a directory: exit 1 (got $rc) with a message" \
    eval '[ "$rc" -eq 1 ] && grep -q notes.txt "$R/e-file.err"'
timeout -k 2 5 "$PLUTO" serve "$TMP/no-such-dir" -b 127.0.0.1 -p 0 >"$R/e-dir.out" 2>"$R/e-dir.err"
rc=$?
check "missing directory: exit 1 (got $rc)" [ "$rc" -eq 1 ]
check "missing directory: a message naming it on stderr" grep -q "no-such-dir" "$R/e-dir.err"
timeout -k 2 5 "$PLUTO" serve "$SITE" -b 127.0.0.1 -p "$P" >"$R/e-busy.out" 2>"$R/e-busy.err"
rc=$?
check "port in use: exit 1 (got $rc)" [ "$rc" -eq 1 ]
check "port in use: a message on stderr" grep -qiE "cannot listen.*$P" "$R/e-busy.err"
sed 's/^/# /' "$R/e-flag.err" "$R/e-dir.err" "$R/e-busy.err"

fetch late "$P" /notes.txt
d=$(hval "$R/late.h" Date)
now=$(date +%s) dsec=$(date -u -d "$d" +%s 2>/dev/null || echo 0)
check "Date still follows the clock $SECONDS s into the run ('$d', off by $((dsec - now)) s)" \
    eval 'imf_ok "$d" && [ $((dsec - now)) -le 2 ] && [ $((now - dsec)) -le 2 ]'
check "the main server wrote nothing on stderr" [ ! -s "$TMP/main.err" ]
stop_server "$MAIN"
check "SIGTERM: exit 0 (got $STOP_RC)" [ "$STOP_RC" -eq 0 ]
check "SIGTERM: prints 'pluto stopping on signal 15'" grep -qx 'pluto stopping on signal 15' "$TMP/main.out"

if serve sigint; then
    kill -INT "$SRV_PID"
    for i in $(seq 30); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
    stop_server "$SRV_PID"      # reaps it (and stops it if SIGINT did not)
    check "SIGINT: exit 0 (got $STOP_RC) with 'pluto stopping on signal 2'" \
        eval '[ "$STOP_RC" -eq 0 ] && grep -qx "pluto stopping on signal 2" "$TMP/sigint.out"'
else
    not_ok "server for SIGINT starts"
fi
check "no response at all contained the outside marker" no_marker "$R"
check "no server reported a sanitizer error (for ASan/UBSan builds)" \
    eval '! grep -lE "Sanitizer|runtime error:" "$TMP"/*.err'

finish
