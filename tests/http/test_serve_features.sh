#!/usr/bin/env bash
# test_serve_features.sh — black-box tests of the static server's optional features:
# --list-dirs, --spa FILE, a custom 404.html, the /etc/mime.types overlay and
# precompressed .br/.zst/.gz sidecars (with the small-file cache in between).
#
#   tests/http/test_serve_features.sh BUILD_DIR        (e.g. build)
#
# Builds tests/http/raw.c into BUILD_DIR/tests/raw when missing or older than its
# source, generates sites in a temporary directory and runs servers on 127.0.0.1 with
# `-p 0` (the port read from `serving http://...`), stopped on exit; every step is
# bounded by `timeout`. Sidecars are real gzip output, and real brotli/zstd output
# when those tools are installed, else distinct bytes (the server never decodes
# them). Prints `ok - ...` / `not ok - ...` per check and `N passed, N failed`;
# exits 1 when any check failed. About 10 s. KEEP=1 keeps the temporary directory.
set -u
shopt -s lastpipe

BUILD=${1:-build}
. "$(dirname "$0")/../lib/report.sh"
. "$(dirname "$0")/lib.bash"        # PLUTO, RAW, HERE; TMP, servers, requests

http_tmp features
OUTSIDE=$(mktemp -d "${TMPDIR:-/tmp}/pluto-outside.XXXXXX")
SITE2=$TMP/site2
mkdir -p "$SITE2"
cleanup() { kill_servers term; drop_tmp; rm -rf "$OUTSIDE"; }

need_pluto
build_tool raw
need_tools curl cmp gzip seq xargs

# ---- the sites -------------------------------------------------------------------------
echo outside-marker >"$OUTSIDE/marker.txt"
cd "$SITE" || exit 1
printf '<!doctype html>\n<title>app</title>\n<p>the single-page app shell</p>\n' >index.html
printf '<!doctype html>\n<title>lost</title>\n<p>custom not found page</p>\n' >404.html
printf 'plain notes\n' >notes.txt
printf 'SECRET=dotfile\n' >.secret
for i in $(seq 60); do printf 'console.log("line %d of the app");\n' "$i"; done >app.js
# sidecar NAME EXT TOOL...: FILE.EXT from TOOL when it is installed, else distinct bytes
sidecar() {
    local f=$1 ext=$2
    shift 2
    if command -v "$1" >/dev/null; then "$@" <"$f" >"$f.$ext"; else printf 'fake-%s-of-%s' "$ext" "$f" >"$f.$ext"; fi
}
sidecar app.js gz gzip -9 -n
sidecar app.js br brotli -c
sidecar app.js zst zstd -q -c
printf 'h1 { color: #456; }\n%.0s' $(seq 40) >only-gz.css
gzip -k -9 -n only-gz.css
printf 'only a brotli sidecar\n' >only-br.txt
sidecar only-br.txt br brotli -c
printf 'var stale = "new";\n' >stale.js
printf 'stale sidecar bytes' >stale.js.gz
touch -d '2020-01-01 00:00:00 UTC' stale.js.gz          # older than stale.js: ignored
printf 'no sidecars here\n' >plain.txt
for f in swap gone newer; do                                 # changed while the server runs
    printf 'var %s = "the file";\n' "$f" >"$f.js"
    printf 'first %s sidecar' "$f" >"$f.js.$([ "$f" = gone ] && echo gz || echo br)"
done
head -c 30000 /dev/zero | tr '\0' 'w' >bigswap.js                # over 16 KiB, and so is
head -c 20000 /dev/zero | tr '\0' 'g' >bigswap.js.gz             # its sidecar: kept open
head -c 100000 /dev/urandom | od -An -tx1 >big.js             # over the cache's 16 KiB
gzip -k -1 -n big.js
printf 'not really gzip' >data.tar.gz
printf 'an opendocument text' >doc.odt
printf 'int main(void) { return 0; }\n' >prog.c
printf 'icon' >fav.ico
printf '?' >thing.zzqq
mkdir -p nodex/sub withidx bigdir hugedir
printf 'in a directory without index\n' >nodex/a.txt
printf 'hello\n' >nodex/b.txt
printf 'odd\n' >"nodex/<b>&'\".txt"
printf 'spaces\n' >"nodex/sp ace $(printf '\xc3\xbc').txt"
printf 'hidden\n' >nodex/.hidden
printf 'sub\n' >nodex/sub/s.txt
ln -s a.txt nodex/link.txt                                   # inside: listed
ln -s missing-target nodex/broken.txt                        # broken: left out
ln -s "$OUTSIDE" nodex/escape                                # out of the root: left out
mkfifo nodex/fifo                                            # not a file: left out
touch -d '2021-03-04 05:06:07 UTC' nodex/a.txt
printf 'has an index\n' >withidx/index.html
printf 'x\n' >withidx/other.txt
(cd bigdir && seq -f 'entry-%05g-with-a-longer-name-to-fill-pages.txt' 3000 | xargs touch)
(cd hugedir && seq -f 'h%05g' 4500 | xargs touch)
cd - >/dev/null || exit 1
printf 'other site\n' >"$SITE2/notes.txt"

# ---- helpers (start_server, fetch, rawq, hval, status_of, body_len: lib.bash) ------------

serve() { local name=$1 dir=$2; shift 2; start_server "$name" serve "$dir" -b 127.0.0.1 -p 0 "$@"; }

stop_server() {     # PID: SIGTERM, then SIGKILL after 3 s; sets STOP_RC
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

# enc NAME PORT PATH ACCEPT-ENCODING [CURL ARGS...]: fetch with that Accept-Encoding.
enc() { local n=$1 p=$2 u=$3 ae=$4; shift 4; fetch "$n" "$p" "$u" -H "Accept-Encoding: $ae" "$@"; }
same_head() {       # A B: the same headers, Date aside
    diff <(grep -vi '^date:' "$1") <(grep -vi '^date:' "$2") >/dev/null
}
rows() { grep -c '^<tr><td><a href="[^.]' "$1"; }      # entry rows (not "../")
size_of() { wc -c <"$1" | tr -d ' '; }

# ---- the main server: --list-dirs, with 404.html ------------------------------------------
if ! serve main "$SITE" --list-dirs; then
    not_ok "pluto serve DIR --list-dirs starts"
    finish
fi
P=$SRV_PORT MAIN=$SRV_PID
ok "pluto serve DIR --list-dirs starts (port $P)"

# ---- directory listings ------------------------------------------------------------------
fetch l-nodex "$P" /nodex/
L=$R/l-nodex.b
check "--list-dirs: a directory without index.html gets 200 text/html (got $CODE, '$(hval "$R/l-nodex.h" Content-Type)')" \
    eval '[ "$CODE" = 200 ] && [ "$(hval "$R/l-nodex.h" Content-Type)" = "text/html; charset=utf-8" ]'
check "listing: Content-Length is the body's length" \
    [ "$(hval "$R/l-nodex.h" Content-Length)" = "$(size_of "$L")" ]
check "listing: titled with the path" grep -q '<title>Index of /nodex/</title>' "$L"
check "listing: a link to the parent" grep -q '<a href="../">../</a>' "$L"
check "listing: a file with its size and modification time (UTC)" \
    grep -qF '<a href="a.txt">a.txt</a></td><td>29</td><td>2021-03-04 05:06</td>' "$L"
check "listing: a subdirectory links with a slash and has no size" \
    grep -qF '<a href="sub/">sub/</a></td><td>-</td>' "$L"
check "listing: a name with < > & ' \" is HTML-escaped and URL-encoded in its link" \
    grep -qF '<a href="%3Cb%3E%26%27%22.txt">&lt;b&gt;&amp;&#39;&quot;.txt</a>' "$L"
check "listing: no raw markup from a name" eval '! grep -q "<b>" "$L"'
check "listing: a name with a space and UTF-8 is percent-encoded" \
    grep -qF 'href="sp%20ace%20%C3%BC.txt"' "$L"
check "listing: a link inside the root is listed" grep -qF 'href="link.txt"' "$L"
check "listing: dotfiles are hidden by default" eval '! grep -q hidden "$L"'
check "listing: broken links, links out of the root and FIFOs are left out" \
    eval '! grep -qE "broken|escape|fifo" "$L"'
fetch l-escape "$P" /nodex/escape/marker.txt
check "listing: the link out of the root leads nowhere (got $CODE)" \
    eval '[ "$CODE" = 404 ] && ! grep -q outside-marker "$R/l-escape.b"'
order=$(grep -o 'href="[^"]*"' "$L" | sed 's/href="//; s/"$//' | tr '\n' ' ')
check "listing: sorted by name ($order)" \
    [ "$order" = '../ %3Cb%3E%26%27%22.txt a.txt b.txt link.txt sp%20ace%20%C3%BC.txt sub/ ' ]
bad=""
for href in $(grep -o 'href="[^"]*"' "$L" | sed 's/href="//; s/"$//'); do
    fetch l-follow "$P" "/nodex/$href"
    [ "$CODE" = 200 ] || bad="$bad $href:$CODE"
done
check "listing: every link in it leads to a 200 (failures:${bad:- none})" [ -z "$bad" ]
fetch l-utf8 "$P" '/nodex/sp%20ace%20%C3%BC.txt'
check "listing: the encoded link names the file" cmp -s "$R/l-utf8.b" "$SITE/nodex/sp ace $(printf '\xc3\xbc').txt"
fetch l-head "$P" /nodex/ -I
check "listing: HEAD has the same headers as GET (Date aside)" same_head "$R/l-nodex.h" "$R/l-head.h"
printf 'HEAD /nodex/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | rawq l-head-raw "$P"
check "listing: HEAD sends no body ($(body_len "$R/l-head-raw.out") bytes)" \
    [ "$(body_len "$R/l-head-raw.out")" = 0 ]
fetch l-301 "$P" /nodex
check "listing: the directory without its slash is still a 301 to it (got $CODE, '$(hval "$R/l-301.h" Location)')" \
    eval '[ "$CODE" = 301 ] && [ "$(hval "$R/l-301.h" Location)" = /nodex/ ]'
fetch l-idx "$P" /withidx/
check "listing: a directory with index.html serves it, not a listing (got $CODE)" \
    eval '[ "$CODE" = 200 ] && cmp -s "$R/l-idx.b" "$SITE/withidx/index.html"'
fetch l-root "$P" /
check "listing: the root's index.html still wins (got $CODE)" cmp -s "$R/l-root.b" "$SITE/index.html"
fetch l-big "$P" /bigdir/
n=$(rows "$R/l-big.b")
check "listing: 3000 entries over several READDIR pages are all listed (got $n)" [ "$n" = 3000 ]
grep -o 'href="entry-[^"]*"' "$R/l-big.b" >"$R/l-big.names"
check "listing: the 3000 are in order" sort -c "$R/l-big.names"
check "listing: a complete listing does not say it was cut" eval '! grep -q "more entries" "$R/l-big.b"'
fetch l-huge "$P" /hugedir/
n=$(rows "$R/l-huge.b")
check "listing: 4500 entries are bounded to 4096 (got $n) with a note that there are more" \
    eval '[ "$n" = 4096 ] && grep -q "more entries" "$R/l-huge.b"'
printf 'GET /nodex/ HTTP/1.1\r\nHost: x\r\n\r\nGET /notes.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    rawq l-pipe "$P" --split "$R/l-pipe"
check "listing: keep-alive goes on after it, framed by Content-Length ($(awk '{ printf "%s:%s ", $2, $3 }' "$R/l-pipe.list"))" \
    eval 'cmp -s "$R/l-pipe.1" "$L" && cmp -s "$R/l-pipe.2" "$SITE/notes.txt"'
conc=()
for i in $(seq 8); do
    timeout -k 2 10 curl -s -o "$R/l-conc.$i" -w '%{http_code}\n' "http://127.0.0.1:$P/bigdir/" >"$R/l-conc.$i.code" &
    conc+=($!)
done
wait "${conc[@]}"
good=0
for i in $(seq 8); do
    [ "$(cat "$R/l-conc.$i.code")" = 200 ] && [ "$(rows "$R/l-conc.$i")" = 3000 ] && good=$((good + 1))
done
check "listing: 8 at once, more than the slots: all complete ($good of 8)" [ "$good" = 8 ]

# ---- custom 404 --------------------------------------------------------------------------
fetch n-get "$P" /missing.txt
check "404.html: a missing path gets 404 with its bytes (got $CODE)" \
    eval '[ "$CODE" = 404 ] && cmp -s "$R/n-get.b" "$SITE/404.html"'
check "404.html: Content-Type text/html ('$(hval "$R/n-get.h" Content-Type)')" \
    [ "$(hval "$R/n-get.h" Content-Type)" = "text/html; charset=utf-8" ]
check "404.html: the 404 carries no validators" \
    eval '[ -z "$(hval "$R/n-get.h" ETag)" ] && [ -z "$(hval "$R/n-get.h" Last-Modified)" ]'
fetch n-head "$P" /missing.txt -I
check "404.html: HEAD gets the same head (Date aside)" same_head "$R/n-get.h" "$R/n-head.h"
printf 'HEAD /missing.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | rawq n-head-raw "$P"
check "404.html: HEAD gets no body ($(body_len "$R/n-head-raw.out") bytes)" \
    eval '[ "$(status_of "$R/n-head-raw.out")" = 404 ] && [ "$(body_len "$R/n-head-raw.out")" = 0 ]'
fetch n-dot "$P" /.secret
check "404.html: a denied dotfile gets it too (got $CODE)" \
    eval '[ "$CODE" = 404 ] && cmp -s "$R/n-dot.b" "$SITE/404.html"'
fetch n-dir "$P" /notes.txt/
check "404.html: a file asked for as a directory gets it (got $CODE)" \
    eval '[ "$CODE" = 404 ] && cmp -s "$R/n-dir.b" "$SITE/404.html"'
fetch n-self "$P" /404.html
check "404.html asked for by name: 200 (got $CODE)" [ "$CODE" = 200 ]
printf 'GET /missing HTTP/1.1\r\nHost: x\r\n\r\nGET /.secret HTTP/1.1\r\nHost: x\r\n\r\nGET /notes.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
    rawq n-pipe "$P" --split "$R/n-pipe"
check "404.html: pipelined 404, 404, 200 in order ($(awk '{ printf "%s:%s ", $2, $3 }' "$R/n-pipe.list"))" \
    eval '[ "$(awk "{ printf \"%s \", \$2 }" "$R/n-pipe.list")" = "404 404 200 " ] &&
          cmp -s "$R/n-pipe.1" "$SITE/404.html" && cmp -s "$R/n-pipe.3" "$SITE/notes.txt"'
printf 'GET /missing HTTP/1.0\r\n\r\n' | rawq n-10 "$P" --timeout 3
check "404.html: HTTP/1.0 gets it and a close ($(tail -n 1 "$R/n-10.err"))" \
    eval '[ "$(status_of "$R/n-10.out")" = 404 ] && grep -q "^CLOSED" "$R/n-10.err"'

# ---- /etc/mime.types overlay ----------------------------------------------------------
fetch m-js "$P" /app.js
check "mime: the built-in type wins over mime.types (app.js: '$(hval "$R/m-js.h" Content-Type)')" \
    [ "$(hval "$R/m-js.h" Content-Type)" = "text/javascript; charset=utf-8" ]
fetch m-ico "$P" /fav.ico
check "mime: fav.ico keeps the built-in image/x-icon ('$(hval "$R/m-ico.h" Content-Type)')" \
    [ "$(hval "$R/m-ico.h" Content-Type)" = image/x-icon ]
fetch m-unk "$P" /thing.zzqq
check "mime: an extension nobody knows is application/octet-stream" \
    [ "$(hval "$R/m-unk.h" Content-Type)" = application/octet-stream ]
mt() {      # EXT: its type in /etc/mime.types (first line wins), or nothing
    awk -v e="$1" '!/^#/ { for (i = 2; i <= NF; i++) if (tolower($i) == e) { print $1; exit } }' \
        /etc/mime.types
}
if [ -r /etc/mime.types ] && [ -n "$(mt odt)" ]; then
    fetch m-odt "$P" /doc.odt
    check "mime: /etc/mime.types fills a gap (doc.odt: '$(hval "$R/m-odt.h" Content-Type)')" \
        [ "$(hval "$R/m-odt.h" Content-Type)" = "$(mt odt)" ]
else
    ok "mime: # skip, /etc/mime.types has no odt"
fi
if [ -r /etc/mime.types ] && [[ $(mt c) == text/* ]]; then
    fetch m-c "$P" /prog.c
    check "mime: a text/ type from mime.types gets charset=utf-8 ('$(hval "$R/m-c.h" Content-Type)')" \
        [ "$(hval "$R/m-c.h" Content-Type)" = "$(mt c); charset=utf-8" ]
else
    ok "mime: # skip, /etc/mime.types has no text/ type for .c"
fi

# ---- precompressed sidecars ------------------------------------------------------------
A=$SITE/app.js
enc s-br "$P" /app.js 'gzip, deflate, br, zstd'
check "sidecar: 'gzip, deflate, br, zstd' gets app.js.br with Content-Encoding: br (got $CODE, '$(hval "$R/s-br.h" Content-Encoding)')" \
    eval '[ "$CODE" = 200 ] && [ "$(hval "$R/s-br.h" Content-Encoding)" = br ] && cmp -s "$R/s-br.b" "$A.br"'
check "sidecar: the original's Content-Type" \
    [ "$(hval "$R/s-br.h" Content-Type)" = "text/javascript; charset=utf-8" ]
check "sidecar: Vary: Accept-Encoding" [ "$(hval "$R/s-br.h" Vary)" = Accept-Encoding ]
check "sidecar: Content-Length of the sidecar" [ "$(hval "$R/s-br.h" Content-Length)" = "$(size_of "$A.br")" ]
enc s-zst "$P" /app.js 'zstd, gzip'
check "sidecar: 'zstd, gzip' gets .zst (zstd before gzip on equal q)" \
    eval '[ "$(hval "$R/s-zst.h" Content-Encoding)" = zstd ] && cmp -s "$R/s-zst.b" "$A.zst"'
enc s-gz "$P" /app.js 'gzip'
check "sidecar: 'gzip' gets .gz" \
    eval '[ "$(hval "$R/s-gz.h" Content-Encoding)" = gzip ] && cmp -s "$R/s-gz.b" "$A.gz"'
enc s-q "$P" /app.js 'gzip;q=1.0, br;q=0.5'
check "sidecar: q-values decide ('gzip;q=1.0, br;q=0.5' -> '$(hval "$R/s-q.h" Content-Encoding)')" \
    [ "$(hval "$R/s-q.h" Content-Encoding)" = gzip ]
enc s-q0 "$P" /app.js 'br;q=0, zstd;q=0, gzip'
check "sidecar: q=0 refuses ('br;q=0, zstd;q=0, gzip' -> '$(hval "$R/s-q0.h" Content-Encoding)')" \
    [ "$(hval "$R/s-q0.h" Content-Encoding)" = gzip ]
enc s-star "$P" /app.js '*'
check "sidecar: '*' takes the first preference (br)" [ "$(hval "$R/s-star.h" Content-Encoding)" = br ]
enc s-none "$P" /app.js 'br;q=0, zstd;q=0, gzip;q=0'
check "sidecar: all refused: the identity bytes, with Vary (the file has sidecars)" \
    eval '[ -z "$(hval "$R/s-none.h" Content-Encoding)" ] && cmp -s "$R/s-none.b" "$A" &&
          [ "$(hval "$R/s-none.h" Vary)" = Accept-Encoding ]'
enc s-ident "$P" /app.js 'identity'
check "sidecar: 'identity' gets the identity bytes, with Vary" \
    eval '[ -z "$(hval "$R/s-ident.h" Content-Encoding)" ] && cmp -s "$R/s-ident.b" "$A" &&
          [ "$(hval "$R/s-ident.h" Vary)" = Accept-Encoding ]'
fetch s-plain "$P" /app.js
check "sidecar: no Accept-Encoding: the identity bytes, no Content-Encoding" \
    eval '[ -z "$(hval "$R/s-plain.h" Content-Encoding)" ] && cmp -s "$R/s-plain.b" "$A"'
e_id=$(hval "$R/s-plain.h" ETag) e_br=$(hval "$R/s-br.h" ETag) e_gz=$(hval "$R/s-gz.h" ETag) e_zst=$(hval "$R/s-zst.h" ETag)
check "sidecar: an ETag per encoding ($e_id $e_br $e_zst $e_gz)" \
    eval '[ "$(printf "%s\n" "$e_id" "$e_br" "$e_zst" "$e_gz" | sort -u | wc -l)" = 4 ] &&
          [[ $e_br == *-br\" ]] && [[ $e_gz == *-gz\" ]]'
enc s-304 "$P" /app.js gzip -H "If-None-Match: $e_gz"
check "sidecar: If-None-Match with the gzip ETag: 304, Vary kept (got $CODE)" \
    eval '[ "$CODE" = 304 ] && [ "$(hval "$R/s-304.h" Vary)" = Accept-Encoding ]'
enc s-304x "$P" /app.js br -H "If-None-Match: $e_gz"
check "sidecar: the gzip ETag does not match the br representation: 200 (got $CODE)" \
    eval '[ "$CODE" = 200 ] && cmp -s "$R/s-304x.b" "$A.br"'
enc s-range "$P" /app.js gzip -H 'Range: bytes=0-9'
head -c 10 "$A.gz" >"$R/s-range.want"
check "sidecar: a range applies to the encoded bytes (got $CODE, '$(hval "$R/s-range.h" Content-Range)')" \
    eval '[ "$CODE" = 206 ] && cmp -s "$R/s-range.b" "$R/s-range.want" &&
          [ "$(hval "$R/s-range.h" Content-Range)" = "bytes 0-9/$(size_of "$A.gz")" ] &&
          [ "$(hval "$R/s-range.h" Content-Encoding)" = gzip ]'
enc s-head "$P" /app.js gzip -I
check "sidecar: HEAD has GET's head (Date aside)" same_head "$R/s-gz.h" "$R/s-head.h"
enc s-big "$P" /big.js 'gzip, br'
check "sidecar: a large file's sidecar is sent whole (got $CODE, $(size_of "$R/s-big.b") bytes)" \
    eval '[ "$(hval "$R/s-big.h" Content-Encoding)" = gzip ] && cmp -s "$R/s-big.b" "$SITE/big.js.gz"'
enc s-big-r "$P" /big.js gzip -H 'Range: bytes=-100'
tail -c 100 "$SITE/big.js.gz" >"$R/s-big-r.want"
check "sidecar: a suffix range of a large sidecar (got $CODE)" \
    eval '[ "$CODE" = 206 ] && cmp -s "$R/s-big-r.b" "$R/s-big-r.want"'
enc s-stale "$P" /stale.js 'gzip, br, zstd'
check "sidecar: one older than its file is ignored (got '$(hval "$R/s-stale.h" Content-Encoding)')" \
    eval '[ -z "$(hval "$R/s-stale.h" Content-Encoding)" ] && cmp -s "$R/s-stale.b" "$SITE/stale.js"'
enc s-tgz "$P" /data.tar.gz 'gzip, br'
check "sidecar: a .gz asked for by name has no Content-Encoding ('$(hval "$R/s-tgz.h" Content-Type)')" \
    eval '[ -z "$(hval "$R/s-tgz.h" Content-Encoding)" ] && [ "$(hval "$R/s-tgz.h" Content-Type)" = application/gzip ]'
enc s-obr "$P" /only-br.txt gzip
check "sidecar: only .br there, client takes gzip: identity with Vary" \
    eval '[ -z "$(hval "$R/s-obr.h" Content-Encoding)" ] && cmp -s "$R/s-obr.b" "$SITE/only-br.txt" &&
          [ "$(hval "$R/s-obr.h" Vary)" = Accept-Encoding ]'
fetch s-curl "$P" /only-gz.css --compressed
check "sidecar: curl --compressed decodes the gzip sidecar to the original (got '$(hval "$R/s-curl.h" Content-Encoding)')" \
    eval '[ "$(hval "$R/s-curl.h" Content-Encoding)" = gzip ] && cmp -s "$R/s-curl.b" "$SITE/only-gz.css"'
enc s-nosc "$P" /plain.txt 'gzip, br, zstd'
check "sidecar: a file without sidecars: identity, no Vary" \
    eval '[ -z "$(hval "$R/s-nosc.h" Content-Encoding)" ] && [ -z "$(hval "$R/s-nosc.h" Vary)" ] &&
          cmp -s "$R/s-nosc.b" "$SITE/plain.txt"'

# The small-file cache holds identity bytes: clients that accept encodings and
# clients that do not, alternating on one path, must each get their own bytes.
bad=""
for i in $(seq 6); do
    for f in app.js only-gz.css plain.txt; do
        fetch c-id "$P" "/$f"
        [ -z "$(hval "$R/c-id.h" Content-Encoding)" ] && cmp -s "$R/c-id.b" "$SITE/$f" || bad="$bad id:$f"
        enc c-gz "$P" "/$f" gzip
        if [ -e "$SITE/$f.gz" ]; then
            [ "$(hval "$R/c-gz.h" Content-Encoding)" = gzip ] && cmp -s "$R/c-gz.b" "$SITE/$f.gz" || bad="$bad gz:$f"
        else
            [ -z "$(hval "$R/c-gz.h" Content-Encoding)" ] && cmp -s "$R/c-gz.b" "$SITE/$f" || bad="$bad gz:$f"
        fi
    done
done
check "cache: identity and gzip clients alternating on the same paths each get their bytes (wrong:${bad:- none})" \
    [ -z "$bad" ]
{
    for i in 1 2 3; do
        printf 'GET /app.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n'
        printf 'GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n'
    done
    printf 'GET /plain.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n'
} | rawq c-pipe "$P" --split "$R/c-pipe"
ok_pipe=true
for i in 1 3 5; do cmp -s "$R/c-pipe.$i" "$A.gz" || ok_pipe=false; done
for i in 2 4 6; do cmp -s "$R/c-pipe.$i" "$A" || ok_pipe=false; done
cmp -s "$R/c-pipe.7" "$SITE/plain.txt" || ok_pipe=false
check "cache: alternating on one keep-alive connection, pipelined ($(awk '{ printf "%s:%s ", $2, $3 }' "$R/c-pipe.list"))" \
    $ok_pipe

# The caches keep sidecars too (and what is known of a file's sidecars); a check
# every second or two sees them replaced, deleted, or made stale by a newer file.
for w in swap:/swap.js gone:/gone.js newer:/newer.js big:/bigswap.js; do
    enc "w-${w%%:*}" "$P" "${w#*:}" 'br, gzip'
    cp "$R/w-${w%%:*}.b" "$R/w-${w%%:*}.first"
    enc "w-${w%%:*}" "$P" "${w#*:}" 'br, gzip'          # again: from the caches now
done
check "sidecars, cached: the first bytes, twice" \
    eval 'cmp -s "$R/w-swap.b" "$SITE/swap.js.br" && cmp -s "$R/w-swap.first" "$SITE/swap.js.br" &&
          cmp -s "$R/w-gone.b" "$SITE/gone.js.gz" && cmp -s "$R/w-newer.b" "$SITE/newer.js.br" &&
          cmp -s "$R/w-big.b" "$SITE/bigswap.js.gz" && cmp -s "$R/w-big.first" "$SITE/bigswap.js.gz"'
e_swap=$(hval "$R/w-swap.h" ETag)
printf 'second swap sidecar, longer' >"$TMP/swap.new" && mv "$TMP/swap.new" "$SITE/swap.js.br"
rm -f "$SITE/gone.js.gz"
printf 'var newer = "changed after its sidecar";\n' >"$SITE/newer.js"
head -c 25000 /dev/zero | tr '\0' 'h' >"$SITE/bigswap.js.gz"
sleep 2.2
enc w-swap2 "$P" /swap.js 'br, gzip'
check "sidecar replaced (newer, other bytes): the new bytes within 3 s, a new ETag ('$(hval "$R/w-swap2.h" Content-Encoding)')" \
    eval '[ "$(hval "$R/w-swap2.h" Content-Encoding)" = br ] && cmp -s "$R/w-swap2.b" "$SITE/swap.js.br" &&
          [ "$(hval "$R/w-swap2.h" ETag)" != "$e_swap" ]'
enc w-gone2 "$P" /gone.js 'gzip, br'
check "sidecar deleted: the file itself within 3 s, no Vary ('$(hval "$R/w-gone2.h" Content-Encoding)')" \
    eval '[ -z "$(hval "$R/w-gone2.h" Content-Encoding)" ] && [ -z "$(hval "$R/w-gone2.h" Vary)" ] &&
          cmp -s "$R/w-gone2.b" "$SITE/gone.js"'
enc w-newer2 "$P" /newer.js 'br, gzip'
check "file changed after its sidecar was cached: the sidecar, now older, is ignored ('$(hval "$R/w-newer2.h" Content-Encoding)')" \
    eval '[ -z "$(hval "$R/w-newer2.h" Content-Encoding)" ] && cmp -s "$R/w-newer2.b" "$SITE/newer.js"'
enc w-big2 "$P" /bigswap.js gzip
check "a large sidecar kept open, replaced: the new bytes within 3 s ($(size_of "$R/w-big2.b") bytes)" \
    eval '[ "$(hval "$R/w-big2.h" Content-Encoding)" = gzip ] && cmp -s "$R/w-big2.b" "$SITE/bigswap.js.gz"'
enc w-big3 "$P" /bigswap.js 'identity'
check "and the large file itself, for a client that takes no encoding, with Vary" \
    eval '[ -z "$(hval "$R/w-big3.h" Content-Encoding)" ] && cmp -s "$R/w-big3.b" "$SITE/bigswap.js" &&
          [ "$(hval "$R/w-big3.h" Vary)" = Accept-Encoding ]'

check "main server: nothing on stderr" [ ! -s "$TMP/main.err" ]
stop_server "$MAIN"
check "main server: SIGTERM, exit 0 (got $STOP_RC)" [ "$STOP_RC" -eq 0 ]

# ---- without --list-dirs -------------------------------------------------------------------
if serve nolist "$SITE"; then
    fetch nl "$SRV_PORT" /nodex/
    check "without --list-dirs: a directory without index.html is 404 (got $CODE)" [ "$CODE" = 404 ]
    fetch nl-route "$SRV_PORT" /some/route
    check "without --spa: a missing route is 404 (got $CODE)" [ "$CODE" = 404 ]
    stop_server "$SRV_PID"
else
    not_ok "pluto serve DIR starts"
fi

# ---- error responses to HEAD ---------------------------------------------------------------
# RFC 9110 section 9.3.2: a response to HEAD has no content, errors included. The
# method is known once "HEAD " is in, even when the head (or its request line) never
# ends; before that (the 408 for "HEA"), the error page is sent.
if serve ht "$SITE" --header-timeout 500ms; then
    H=$SRV_PORT
    # errhead NAME STATUS BODY(yes|no) WHAT <BYTES: one raw exchange, checked
    errhead() {
        local name=$1 want=$2 body=$3 what=$4 got len cl
        rawq "$name" "$H" --timeout 4
        got=$(status_of "$R/$name.out") len=$(body_len "$R/$name.out")
        cl=$(hval "$R/$name.out" Content-Length)
        if [ "$body" = no ]; then
            check "$what: $want, Content-Length ${cl:-none}, no body (got $got, $len bytes; $(tail -n 1 "$R/$name.err"))" \
                eval '[ "$got" = "$want" ] && [ "$len" = 0 ] && [ -n "$cl" ] && grep -q "^CLOSED" "$R/$name.err"'
        else
            check "$what: $want with its page (got $got, $len bytes of ${cl:-?})" \
                eval '[ "$got" = "$want" ] && [ "$len" -gt 0 ] && [ "$len" = "$cl" ]'
        fi
    }
    printf 'HEAD /notes.txt HTTP/1.1\r\nHost: x\r\n' |
        errhead e-408h 408 no "HEAD, request line complete, head not, --header-timeout 500ms"
    printf 'GET /notes.txt HTTP/1.1\r\nHost: x\r\n' |
        errhead e-408g 408 yes "GET, the same"
    printf '\r\nHEAD /notes.t' | errhead e-408p 408 no "HEAD, request line not complete (after an empty line)"
    printf 'HEA' | errhead e-408u 408 yes "'HEA', the method not known yet"
    printf 'HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n' |
        errhead e-400h 400 no "HEAD with two Content-Lengths"
    printf 'HEAD / HTTP/2.0\r\nHost: x\r\n\r\n' | errhead e-505h 505 no "HEAD with HTTP/2.0"
    { printf 'HEAD /'; head -c 40000 /dev/zero | tr '\0' a; } | errhead e-414h 414 no "HEAD, request line too long"
    { printf 'HEAD / HTTP/1.1\r\nX: '; head -c 40000 /dev/zero | tr '\0' a; } |
        errhead e-431h 431 no "HEAD, head too large"
    printf 'HEAD /%%2e%%2e/x HTTP/1.1\r\nHost: x\r\n\r\n' | errhead e-400p 400 no "HEAD with a bad path"
    check "--header-timeout server: nothing on stderr" [ ! -s "$TMP/ht.err" ]
    stop_server "$SRV_PID"
else
    not_ok "pluto serve DIR --header-timeout 500ms starts"
fi

# ---- --spa -------------------------------------------------------------------------------
if serve spa "$SITE" --spa index.html --list-dirs --dotfiles allow; then
    S=$SRV_PORT
    fetch p-route "$S" /some/client/route
    check "--spa: a missing route gets index.html with 200 (got $CODE)" \
        eval '[ "$CODE" = 200 ] && cmp -s "$R/p-route.b" "$SITE/index.html"'
    check "--spa: as text/html" [ "$(hval "$R/p-route.h" Content-Type)" = "text/html; charset=utf-8" ]
    fetch p-slash "$S" /some/route/
    check "--spa: a route with a trailing slash too (got $CODE)" \
        eval '[ "$CODE" = 200 ] && cmp -s "$R/p-slash.b" "$SITE/index.html"'
    fetch p-query "$S" '/route?x=1'
    check "--spa: with a query (got $CODE)" [ "$CODE" = 200 ]
    fetch p-head "$S" /some/client/route -I
    check "--spa: HEAD gets GET's head (got $CODE)" \
        eval '[ "$CODE" = 200 ] && same_head "$R/p-route.h" "$R/p-head.h"'
    fetch p-304 "$S" /other/route -H "If-None-Match: $(hval "$R/p-route.h" ETag)"
    check "--spa: conditional on the fallback's ETag: 304 (got $CODE)" [ "$CODE" = 304 ]
    fetch p-js "$S" /app2.js
    check "--spa: a missing /app2.js (an extension) stays 404 (got $CODE)" [ "$CODE" = 404 ]
    fetch p-css "$S" /a/b/style.css
    check "--spa: a missing /a/b/style.css stays 404 (got $CODE)" [ "$CODE" = 404 ]
    fetch p-dot "$S" /.env
    check "--spa: never for a dotfile, even with --dotfiles allow (got $CODE)" [ "$CODE" = 404 ]
    fetch p-dot2 "$S" /x/.git/config
    check "--spa: never below a dot segment (got $CODE)" [ "$CODE" = 404 ]
    fetch p-bad "$S" '/%2e%2e/route'
    check "--spa: never for a bad path (got $CODE)" [ "$CODE" = 400 ]
    fetch p-real "$S" /notes.txt
    check "--spa: existing files are served as usual" cmp -s "$R/p-real.b" "$SITE/notes.txt"
    fetch p-list "$S" /nodex/
    check "--spa with --list-dirs: a directory without index.html is listed, not the app (got $CODE)" \
        eval '[ "$CODE" = 200 ] && grep -q "Index of /nodex/" "$R/p-list.b"'
    fetch p-hidden "$S" /nodex/
    check "--dotfiles allow: the listing shows dotfiles" grep -qF 'href=".hidden"' "$R/p-hidden.b"
    enc p-gz "$S" /deep/route gzip
    check "--spa: a client that accepts gzip still gets the app (got $CODE)" \
        eval '[ "$CODE" = 200 ] && cmp -s "$R/p-gz.b" "$SITE/index.html"'
    printf 'GET /r1 HTTP/1.1\r\nHost: x\r\n\r\nGET /r2.png HTTP/1.1\r\nHost: x\r\n\r\nGET /r3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' |
        rawq p-pipe "$S" --split "$R/p-pipe"
    check "--spa: pipelined route, missing image, route ($(awk '{ printf "%s:%s ", $2, $3 }' "$R/p-pipe.list"))" \
        eval '[ "$(awk "{ printf \"%s \", \$2 }" "$R/p-pipe.list")" = "200 404 200 " ] &&
              cmp -s "$R/p-pipe.3" "$SITE/index.html"'
    stop_server "$SRV_PID"
else
    not_ok "pluto serve DIR --spa index.html starts"
fi
if serve spa-missing "$SITE2" --spa app.html; then
    fetch pm "$SRV_PORT" /route
    check "--spa naming a missing file: 404 (got $CODE)" [ "$CODE" = 404 ]
    # site2 has no 404.html: the built-in page
    check "no 404.html: the built-in 404 page" grep -q '404 Not Found' "$R/pm.b"
    head -c 20000 /dev/urandom | od -An -tx1 | sed '1s/^/<!doctype html>/' >"$SITE2/404.html"
    fetch pm-big "$SRV_PORT" /route
    check "404.html added while running, over 16 KiB: 404 with all its bytes (got $CODE, $(size_of "$R/pm-big.b") bytes)" \
        eval '[ "$CODE" = 404 ] && cmp -s "$R/pm-big.b" "$SITE2/404.html"'
    printf 'HEAD /route HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' | rawq pm-head "$SRV_PORT"
    check "a large 404.html: HEAD gets its length and no body" \
        eval '[ "$(hval "$R/pm-head.out" Content-Length)" = "$(size_of "$SITE2/404.html")" ] &&
              [ "$(body_len "$R/pm-head.out")" = 0 ]'
    stop_server "$SRV_PID"
else
    not_ok "pluto serve DIR --spa app.html starts"
fi

# ---- the access log sees these responses too ----------------------------------------------
if serve logged "$SITE" --list-dirs --access-log "$TMP/access.log"; then
    fetch g-list "$SRV_PORT" /nodex/
    fetch g-404 "$SRV_PORT" /missing.js
    stop_server "$SRV_PID"
    check "--access-log: the listing and the 404 page are logged with their status and bytes" \
        eval 'grep -q "\"GET /nodex/ HTTP/1.1\" 200 $(size_of "$R/g-list.b") " "$TMP/access.log" &&
              grep -q "\"GET /missing.js HTTP/1.1\" 404 $(size_of "$SITE/404.html") " "$TMP/access.log"'
else
    not_ok "pluto serve DIR --list-dirs --access-log FILE starts"
fi

# ---- --cache-files: a small cache evicts, and every body stays right ------------------------
CF=$TMP/cachefiles
mkdir -p "$CF"
for i in $(seq 40); do head -c $((i * 97)) /dev/urandom >"$CF/f$i.bin"; done
if serve cachefiles "$CF" --cache-files 8; then
    bad=0
    for round in 1 2; do
        for i in $(seq 40); do
            curl -s --max-time 5 -o "$R/cf.b" "http://127.0.0.1:$SRV_PORT/f$i.bin" &&
                cmp -s "$R/cf.b" "$CF/f$i.bin" || bad=$((bad + 1))
        done
    done
    stop_server "$SRV_PID"
    check "--cache-files 8: 40 files fetched twice through 8 slots, every body right ($bad wrong)" \
        [ "$bad" -eq 0 ]
else
    not_ok "pluto serve DIR --cache-files 8 starts"
fi
for bad_arg in 7 65537 x; do
    timeout -k 2 5 "$PLUTO" serve "$SITE" -b 127.0.0.1 -p 0 --cache-files "$bad_arg" \
        >"$R/a.out" 2>"$R/a.err"
    rc=$?
    check "--cache-files $bad_arg: exit 2 with a message (got $rc)" \
        eval '[ "$rc" -eq 2 ] && grep -q -- "--cache-files" "$R/a.err"'
done
"$PLUTO" serve --help >"$R/help.out" 2>&1
check "serve --help lists the server's options" \
    eval 'grep -q -- "--cache-files N" "$R/help.out" && grep -q -- "--max-header-bytes N" "$R/help.out"'

# ---- arguments -----------------------------------------------------------------------------
for bad_arg in '../x.html' 'a/../../x' '' 'dir/'; do
    timeout -k 2 5 "$PLUTO" serve "$SITE" -b 127.0.0.1 -p 0 --spa "$bad_arg" >"$R/a.out" 2>"$R/a.err"
    rc=$?
    check "--spa '$bad_arg': exit 2 with a message (got $rc)" \
        eval '[ "$rc" -eq 2 ] && grep -q -- --spa "$R/a.err"'
done
timeout -k 2 5 "$PLUTO" serve "$SITE" -b 127.0.0.1 -p 0 --spa >"$R/a.out" 2>"$R/a.err"
rc=$?
check "--spa without a value: exit 2 (got $rc)" [ "$rc" -eq 2 ]

check "no server reported a sanitizer error (for ASan/UBSan builds)" \
    eval '! grep -lE "Sanitizer|runtime error:" "$TMP"/*.err'
finish
