#!/bin/bash
# test_browser.sh BUILD — a real browser loads the example site through pluto.
#
# Headless Chromium (Debian's package) opens examples/site: the page's own
# script reports into the DOM that it ran, that the stylesheet applied, that
# every image decoded, and that a Range request returned 206 with the right
# bytes; and that the video (media/clock.webm, VP9) was seeked to 3 s with its
# frame there ready. Chromium's network log must show pluto answering the
# video's Range requests with 206 and a Content-Range of the file's size. A
# screenshot must be written too. The server listens on 127.0.0.1.
#
# Chromium decodes the video on its own threads in real time while the page's
# virtual time runs ahead, so on a loaded machine the seek can still be under
# way when the DOM is dumped: the page is loaded again (up to 3 times, each a
# new browser with an empty cache) until the seek is reported, and the tries
# are shown.
set -u
BUILD=${1:-build}
PLUTO=$BUILD/pluto
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
no() { echo "not ok - $1"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

if ! command -v chromium >/dev/null; then
    no "chromium is installed (make test installs Debian's chromium)"
    echo "$pass passed, $fail failed"
    exit 1
fi
"$PLUTO" serve examples/site -b 127.0.0.1 -p 0 >"$tmp/out" 2>&1 &
pid=$!
port=
for _ in $(seq 50); do
    port=$(sed -n 's|^serving http://127.0.0.1:\([0-9]*\)/$|\1|p' "$tmp/out")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] && ok "pluto serves examples/site" || no "pluto serves examples/site"

browse() {      # browse ARGS...: headless Chromium, isolated, no outside traffic
    timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --disable-dev-shm-usage --user-data-dir="$tmp/profile$try" \
        --virtual-time-budget=5000 "$@" 2>>"$tmp/chromium.log"
}

video_ok="video seeked to 3.0 s, frame ready"
try=0
for try in 1 2 3; do        # a new profile each time: nothing comes from its cache
    dom=$(browse --log-net-log="$tmp/net.json" --dump-dom "http://127.0.0.1:$port/")
    grep -qF "$video_ok" <<<"$dom" && break
done
want="JavaScript ran; css yes; images 2/2; range yes."
if grep -qF "$want" <<<"$dom"; then
    ok "the page's script ran, CSS applied, 2/2 images decoded, Range gave 206"
else
    no "page report: '$(grep -o 'id="status"[^<]*' <<<"$dom")' (wanted '$want')"
fi
video=$(grep -o 'id="video-status"[^<]*' <<<"$dom")
if grep -qF "$video_ok" <<<"$video"; then
    ok "the video was seeked to 3 s and its frame is ready (${video#*>}; load $try of 3)"
else
    no "video report: '${video#*>}' (wanted '$video_ok', 3 loads)"
    tail -5 "$tmp/chromium.log" | sed 's/^/# chromium: /'
fi
# Each response head is one event in the net log; the video's 206 carries
# Content-Range: bytes A-B/<its size>.
vsize=$(stat -c %s examples/site/media/clock.webm)
n206=$(grep -oE "Content-Range: bytes [0-9]+-[0-9]+/$vsize\"" "$tmp/net.json" 2>/dev/null | wc -l)
if [ "$n206" -gt 0 ] && grep -q '"HTTP/1.1 206 Partial Content"' "$tmp/net.json"; then
    ok "pluto answered the video's Range requests with 206 ($n206 responses)"
else
    no "no 206 with Content-Range .../$vsize for the video in Chromium's network log"
fi
docs=$(browse --dump-dom "http://127.0.0.1:$port/docs")
grep -q "<h1>Documentation</h1>" <<<"$docs" && ok "/docs redirects to /docs/ and its index loads" \
    || no "/docs redirects to /docs/ and its index loads"
browse --screenshot="$tmp/shot.png" --window-size=800,600 "http://127.0.0.1:$port/" >/dev/null
size=$(stat -c %s "$tmp/shot.png" 2>/dev/null || echo 0)
[ "$size" -gt 5000 ] && ok "a screenshot of the page ($size bytes)" \
    || no "a screenshot of the page (got $size bytes)"
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
