# lib.bash — what the static server's suites share; sourced by tests/http/test_serve.sh,
# test_serve_features.sh, test_serve_ops.sh and test_serve_linger.sh after
# tests/lib/report.sh (need_pluto, need_tools), once BUILD is set (not a suite itself: run-tests.sh runs
# tests/http/*.sh only). Sourcing it sets PLUTO, RAW (the raw client), HERE (this
# directory) and LC_ALL=C, and defines:
#
#   note                      stdin as `#   ` comment lines
#   http_tmp NAME             TMP (a new pluto-NAME.XXXXXX), SITE=$TMP/site and R=$TMP/r
#                             made, SERVERS empty; on exit cleanup() runs, on INT/TERM
#                             exit 130
#   cleanup                   kill_servers, then drop_tmp; a suite with more to undo
#                             defines its own
#   kill_servers [term]       SIGKILL to SERVERS and this shell's running jobs (raw,
#                             curl, clients); with `term`, SIGTERM first and SIGKILL 0.2 s on
#   drop_tmp                  removes TMP, or with KEEP=1 keeps it and says where
#   build_tool NAME           tests/http/NAME.c into BUILD/tests/NAME when that is
#                             missing or older than its source; a failure and the end
#                             when it does not compile
#   start_server NAME ARGS... `pluto ARGS` in the background (into SERVERS); SRV_PID,
#                             SRV_PORT; start_failed NAME shows why it did not start
#   wait_exit PID SECONDS     wait for a server to end by itself; EXIT_RC, EXIT_MS
#   fetch, rawq, hval, status_of, body_len   requests and what came back (below)

PLUTO=$BUILD/pluto
RAW=$BUILD/tests/raw
HERE=$(cd "$(dirname "$0")" && pwd)
export LC_ALL=C

note() { sed 's/^/#   /'; }

http_tmp() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-$1.XXXXXX")
    SITE=$TMP/site R=$TMP/r
    mkdir -p "$SITE" "$R"
    SERVERS=()
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}
cleanup() { kill_servers; drop_tmp; }

kill_servers() {
    local pids
    [ "${1:-}" = term ] && { stop_pids "${SERVERS[@]}"; return; }
    pids="${SERVERS[*]} $(jobs -pr)"
    [ -n "${pids// /}" ] && kill -KILL $pids 2>/dev/null
    return 0
}
drop_tmp() { if [ -n "${KEEP:-}" ]; then echo "# kept $TMP"; else rm -rf "$TMP"; fi; }

build_tool() {
    local bin=$BUILD/tests/$1
    [ -x "$bin" ] && [ ! "$HERE/$1.c" -nt "$bin" ] && return 0
    mkdir -p "$BUILD/tests"
    cc -O2 -Wall -Wextra -o "$bin" "$HERE/$1.c" || { not_ok "tests/http/$1.c compiles"; finish; }
}

# start_server NAME ARGS...: `pluto ARGS` in the background (ARGS must make it listen
# on 127.0.0.1), its output in TMP/NAME.out and .err; sets SRV_PID and SRV_PORT (empty,
# and start_failed NAME called, when no `serving http://127.0.0.1:P/` line came within
# 5 s or the server ended first).
start_server() {
    local name=$1 i line
    shift
    "$PLUTO" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    SRV_PID=$!
    SERVERS+=("$SRV_PID")
    SRV_PORT=""
    for i in $(seq 50); do
        line=$(grep -m1 '^serving ' "$TMP/$name.out" 2>/dev/null)
        if [[ $line =~ ^serving\ http://127\.0\.0\.1:([0-9]+)/$ ]]; then
            SRV_PORT=${BASH_REMATCH[1]}
            return 0
        fi
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    start_failed "$name"
    return 1
}
# start_failed NAME: both of the server's outputs as comments (a suite may redefine it).
start_failed() { sed 's/^/# /' "$TMP/$1.out" "$TMP/$1.err"; }

# wait_exit PID SECONDS: wait for the server to end by itself; EXIT_RC (or 999 when
# it was still running and had to be killed), EXIT_MS how long it took.
wait_exit() {
    local pid=$1 limit=$2 t0 i
    t0=$(date +%s%N)
    for i in $(seq $((limit * 20))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    EXIT_MS=$((($(date +%s%N) - t0) / 1000000))
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        EXIT_RC=999
        return
    fi
    wait "$pid" 2>/dev/null
    EXIT_RC=$?
}

# fetch NAME PORT PATH [CURL ARGS...]: a GET (or what the args say) with curl;
# head in R/NAME.h, body in R/NAME.b, status in CODE (000 when curl failed). FETCH_W,
# when set, is curl's -w instead of the status.
fetch() {
    local name=$1 port=$2 path=$3
    local w='%{http_code}'
    shift 3
    [ -n "${FETCH_W:-}" ] && w=$FETCH_W
    CODE=$(timeout -k 2 10 curl -s -g --max-time 8 -o "$R/$name.b" -D "$R/$name.h" \
        -w "$w" "$@" "http://127.0.0.1:$port$path") || CODE=${CODE:-000}
    [ -n "$CODE" ] || CODE=000
}

# rawq NAME PORT [RAW OPTIONS...] <BYTES: raw output in R/NAME.out, its report
# (CLOSED/RESET/TIMEOUT after MS ms) in R/NAME.err.
rawq() {
    local name=$1 port=$2
    shift 2
    timeout -k 2 20 "$RAW" 127.0.0.1 "$port" "$@" >"$R/$name.out" 2>"$R/$name.err"
}

# hval FILE NAME: the value of the first header NAME in the first head of FILE.
hval() {
    awk -v n="$2" 'BEGIN { n = tolower(n) } { sub(/\r$/, "") } NR > 1 && /^$/ { exit }
        { i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == n) {
              v = substr($0, i + 1); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v)
              print v; exit } }' "$1"
}
status_of() { head -n 1 "$1" | tr -d '\r' | awk '{ print $2 }'; }
# body_len FILE: bytes after the first empty line of a single raw response.
body_len() {
    local ln
    ln=$(grep -a -n -m1 $'^\r$' "$1" | cut -d: -f1)
    [ -n "$ln" ] || { echo -1; return; }
    echo $(($(wc -c <"$1") - $(head -n "$ln" "$1" | wc -c)))
}
