#!/usr/bin/env bash
# test_sandbox.sh — `pluto serve`'s least privilege (README "Sandbox"):
# Landlock, no_new_privs, the seccomp allowlist, --user and --no-sandbox.
#
#   tests/blackbox/test_sandbox.sh BUILD_DIR        (e.g. build)
#
# Builds BUILD_DIR/tests/unsafe/pluto: the same objects, but path.c, osfile.c
# and ossandbox.c compiled with -DPLUTO_UNSAFE_NO_PATH_CHECK (".." is a name
# in a request path, openat2 without RESOLVE_BENEATH, and PLUTO_TEST_TRY_EXEC
# honoured). Then checks:
#   (a) the default: one "sandbox:" line on stdout, the third (after the
#       start-up lines), naming Landlock, no_new_privs and the seccomp
#       allowlist; nothing on stderr; every thread has NoNewPrivs 1 and
#       Seccomp 2; pages are served; /../secret is refused by the path
#       check (400);
#   (b) --no-sandbox: the line says off; Seccomp 0; served;
#   (c) the unsafe build: with --no-sandbox, /../secret returns the secret
#       (the bypass works); with the sandbox, it does not (the kernel refuses
#       the open: Landlock), and pages are still served;
#   (d) the unsafe build with PLUTO_TEST_TRY_EXEC=1: once the sandbox is on,
#       opening /etc/passwd, an AF_INET socket and execve fail, and the server
#       serves on;
#   (e) the access log under the sandbox: written, and after mv + SIGHUP a new
#       file is created and written in its directory;
#   (f) run as root: --user nobody with two workers: every thread's real,
#       effective, saved and file-system uid and gid are nobody's, it serves;
#       --user of an unknown name exits 1; as nobody, --user root is refused
#       (skipped, saying so, when not root or setpriv is missing);
#   (g) a durable kv machine (`pluto boot`, `pluto start`): sandboxed by
#       default, the line on stderr naming the machine's directory (and on
#       io_uring the restricted ring), every thread with NoNewPrivs 1 and
#       Seccomp 2; PUTs across snapshots answered 204; stopped, started
#       again: the values are there, sandboxed again;
#   (h) --no-sandbox at boot: off, and still off at the next start (it was
#       recorded); `start --sandbox` turns it on for that run;
#   (i) the unsafe build as a machine, PLUTO_TEST_TRY_EXEC=1 and
#       PLUTO_TEST_TRY_WRITE=PATH outside the machine's directory: creating
#       PATH is refused (Landlock), so are /etc/passwd, an AF_INET socket and
#       execve; PATH does not exist; the machine still journals (PUT 204);
#   (j) as root, boot --user nobody: the machine's directory and files are
#       nobody's, every thread runs as nobody, PUTs are journaled; start
#       keeps the recorded user.
# Every check that needs Landlock is skipped, saying so, where the kernel has
# none. That a restricted ring refuses an operation outside its list
# (OPENAT, CONNECT, ...) is checked by tests/unit/test_uring_restrict.c.
# The backend is the caller's (the test runner runs this once per backend).
# Loopback only; every server is stopped by the script; bounded by timeouts.
# Prints `ok - ...` / `not ok - ...` per check and `N passed, N failed`.
set -u

BUILD=${1:-build}
PLUTO=$BUILD/pluto
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
UNSAFE=$BUILD/tests/unsafe/pluto
export LC_ALL=C

. "$(dirname "$0")/../lib/report.sh"
note()   { sed 's/^/#   /'; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-sandbox.XXXXXX")
SERVERS=()
cleanup() {
    for p in "${SERVERS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${SERVERS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_pluto
need_tools curl

# The unsafe build: the objects of BUILD, three of them recompiled. The same
# compiler and flags as the build (make passes CC, OPT and LDFLAGS on).
build_unsafe() {
    local dir=$BUILD/tests/unsafe src obj objs=()
    mkdir -p "$dir"
    for src in src/runtime/*.c src/backend/*.c src/machine/*.c src/cli/lib_*.c \
               src/apps/*.c src/http/*.c src/cli/pluto.c; do
        [ -e "$ROOT/$src" ] || continue
        case $src in
        src/http/path.c|src/backend/osfile.c|src/backend/ossandbox.c)
            obj=$dir/$(basename "$src" .c).o
            # shellcheck disable=SC2086
            ${CC:-cc} -std=c11 -D_GNU_SOURCE ${OPT:--O2 -g} -Iinclude -Isrc \
                -DPLUTO_UNSAFE_NO_PATH_CHECK -c "$ROOT/$src" -o "$obj" || return 1 ;;
        *)
            obj=$BUILD/${src%.c}.o ;;
        esac
        objs+=("$obj")
    done
    # shellcheck disable=SC2086
    ${CC:-cc} ${OPT:--O2 -g} ${LDFLAGS:-} "${objs[@]}" -o "$UNSAFE" -lxxhash -luring -lpthread
}
(cd "$ROOT" && build_unsafe) 2>"$TMP/unsafe.err" || { note <"$TMP/unsafe.err"; }
check "the unsafe test build links" test -x "$UNSAFE"

mkdir -p "$TMP/site/sub" "$TMP/logs"
echo '<!doctype html><title>sandbox</title><p>inside' >"$TMP/site/index.html"
echo 'inside too' >"$TMP/site/sub/a.txt"
echo 'SECRET-OUTSIDE-THE-ROOT' >"$TMP/secret"
chmod 755 "$TMP" "$TMP/site" "$TMP/site/sub"
chmod 644 "$TMP/site/index.html" "$TMP/site/sub/a.txt"

# start NAME BIN ARGS...: BIN serve SITE ARGS in the background; PID, PORT.
start() {
    local name=$1 bin=$2 i line
    shift 2
    "$bin" serve "$TMP/site" -b 127.0.0.1 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PID=$!
    SERVERS+=("$PID")
    PORT=""
    for i in $(seq 50); do
        line=$(grep -m1 '^serving ' "$TMP/$name.out" 2>/dev/null)
        if [[ $line =~ ^serving\ http://127\.0\.0\.1:([0-9]+)/$ ]] &&
           grep -q '^sandbox:' "$TMP/$name.out"; then
            PORT=${BASH_REMATCH[1]}
            return 0
        fi
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    note <"$TMP/$name.err"
    return 1
}
stop() {
    local i
    kill -TERM "$PID" 2>/dev/null
    for i in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
}
get()    { curl -s --max-time 5 --path-as-is "http://127.0.0.1:$PORT$1"; }
status() { curl -s --max-time 5 --path-as-is -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$1"; }
# every thread of PID has FIELD (a /proc status line) equal to VALUE (fields
# separated by one space)
threads_have() {
    local f
    for f in /proc/"$PID"/task/*/status; do
        [ "$(awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$f")" = "$2" ] ||
            return 1
    done
}
line_of() { grep '^sandbox:' "$TMP/$1.out"; }
# ring_ok LINE: on io_uring the line says the ring is restricted; on epoll
# it names no ring.
ring_ok() {
    case ${PLUTO_BACKEND:-} in
    uring) [[ $1 == *"; io_uring restricted to "*" operations"* ]] ;;
    epoll) [[ $1 != *"io_uring"* ]] ;;
    *)     true ;;
    esac
}

# ---- (a) the default -----------------------------------------------------------
LANDLOCK=0
if start default "$PLUTO" -p 0; then
    line=$(line_of default)
    echo "# $line"
    [[ $line == *"landlock (ABI"* ]] && LANDLOCK=1
    check "(a) the sandbox line is the third on stdout" \
        eval '[ "$(sed -n 3p "$TMP/default.out")" = "$line" ]'
    check "(a) the sandbox line names no_new_privs and the seccomp allowlist" \
        eval '[[ $line == *"no_new_privs; seccomp allowlist ("*" calls)"* ]]'
    [ "$LANDLOCK" = 1 ] || echo "# Landlock is not available here: its checks are skipped"
    check "(a) nothing on stderr" eval '[ ! -s "$TMP/default.err" ]'
    check "(a) on ${PLUTO_BACKEND:-auto}: the ring is restricted (io_uring), or none (epoll)" \
        ring_ok "$line"
    check "(a) every thread: NoNewPrivs 1, Seccomp 2" \
        eval 'threads_have NoNewPrivs 1 && threads_have Seccomp 2'
    check "(a) a page is served" eval '[ "$(get /)" = "$(cat "$TMP/site/index.html")" ]'
    check "(a) a page in a subdirectory is served" eval '[ "$(get /sub/a.txt)" = "inside too" ]'
    check "(a) /../secret is refused by the path check (400)" eval '[ "$(status /../secret)" = 400 ]'
    stop
else
    not_ok "(a) pluto serve starts with the sandbox"
fi

# ---- (b) --no-sandbox ----------------------------------------------------------
if start off "$PLUTO" -p 0 --no-sandbox; then
    check "(b) the line says the sandbox is off" eval 'line_of off | grep -q "sandbox: off (--no-sandbox)"'
    check "(b) no seccomp filter" threads_have Seccomp 0
    check "(b) a page is served" eval '[ "$(get /sub/a.txt)" = "inside too" ]'
    stop
else
    not_ok "(b) pluto serve --no-sandbox starts"
fi

# ---- (c) and (d): the unsafe build --------------------------------------------
if [ -x "$UNSAFE" ]; then
    if start unsafe_off "$UNSAFE" -p 0 --no-sandbox --dotfiles allow; then
        check "(c) unsafe build, --no-sandbox: /../secret gives the secret (the bypass works)" \
            eval 'get /../secret | grep -q SECRET-OUTSIDE-THE-ROOT'
        stop
    else
        not_ok "(c) the unsafe build starts with --no-sandbox"
    fi
    if start unsafe_on "$UNSAFE" -p 0 --dotfiles allow; then
        code=$(status /../secret)
        echo "# unsafe build, sandbox on: /../secret -> $code"
        if [ "$LANDLOCK" = 1 ]; then
            check "(c) unsafe build, sandbox on: /../secret is refused by the kernel" \
                eval '[ "$code" != 200 ] && ! get /../secret | grep -q SECRET'
        fi
        check "(c) unsafe build, sandbox on: pages are served" \
            eval '[ "$(get /sub/a.txt)" = "inside too" ]'
        stop
    else
        not_ok "(c) the unsafe build starts with the sandbox"
    fi
    if PLUTO_TEST_TRY_EXEC=1 start try "$UNSAFE" -p 0; then
        for i in $(seq 20); do grep -q 'execve' "$TMP/try.err" && break; sleep 0.1; done
        note <"$TMP/try.err"
        if [ "$LANDLOCK" = 1 ]; then
            check "(d) opening /etc/passwd is refused (Landlock)" \
                grep -q 'open /etc/passwd: Permission denied' "$TMP/try.err"
        fi
        check "(d) an AF_INET socket is refused (seccomp)" \
            grep -q 'socket AF_INET: Operation not permitted' "$TMP/try.err"
        check "(d) execve is refused (seccomp)" \
            grep -q 'execve /bin/true: Operation not permitted' "$TMP/try.err"
        check "(d) the server serves on" eval '[ "$(get /sub/a.txt)" = "inside too" ]'
        stop
    else
        not_ok "(d) the unsafe build starts with PLUTO_TEST_TRY_EXEC"
    fi
fi

# ---- (e) the access log --------------------------------------------------------
if start log "$PLUTO" -p 0 --access-log "$TMP/logs/access.log"; then
    get /sub/a.txt >/dev/null
    for i in $(seq 30); do grep -q 'a.txt' "$TMP/logs/access.log" 2>/dev/null && break; sleep 0.1; done
    check "(e) the access log is written" grep -q 'GET /sub/a.txt' "$TMP/logs/access.log"
    mv "$TMP/logs/access.log" "$TMP/logs/access.log.1"
    kill -HUP "$PID"
    sleep 0.3
    get /index.html >/dev/null
    for i in $(seq 30); do grep -q 'index' "$TMP/logs/access.log" 2>/dev/null && break; sleep 0.1; done
    check "(e) after mv and SIGHUP, a new log is created and written" \
        grep -q 'GET /index.html' "$TMP/logs/access.log"
    check "(e) the rotated log kept its line" grep -q 'GET /sub/a.txt' "$TMP/logs/access.log.1"
    stop
else
    not_ok "(e) pluto serve starts with an access log"
fi

# ---- (f) --user ----------------------------------------------------------------
if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
    echo "# not root (or no user nobody): the --user checks are skipped"
else
    uid=$(id -u nobody) gid=$(id -g nobody)
    started=0
    for try in 1 2 3 4 5; do    # two workers need a fixed port: try a few
        port=$((20000 + RANDOM % 30000))
        if start user "$PLUTO" -p "$port" -w 2 --user nobody; then started=1; break; fi
    done
    if [ "$started" = 1 ]; then
        echo "# $(line_of user)"
        check "(f) the line names the user" eval 'line_of user | grep -q "user nobody (uid $uid"'
        check "(f) every thread runs as nobody (uid and gid: real, effective, saved, fs)" \
            eval 'threads_have Uid "$uid $uid $uid $uid" && threads_have Gid "$gid $gid $gid $gid"'
        check "(f) the process has more than one thread" \
            eval '[ "$(ls /proc/$PID/task | wc -l)" -ge 3 ]'
        check "(f) served as nobody" eval '[ "$(get /sub/a.txt)" = "inside too" ]'
        stop
    else
        not_ok "(f) pluto serve --user nobody -w 2 starts"
    fi
    "$PLUTO" serve "$TMP/site" -b 127.0.0.1 -p 0 --user no-such-user-here >/dev/null 2>"$TMP/nouser.err"
    rc=$?
    check "(f) an unknown --user exits 1, saying so" \
        eval '[ $rc = 1 ] && grep -q "no such user" "$TMP/nouser.err"'
    if command -v setpriv >/dev/null; then
        setpriv --reuid="$uid" --regid="$gid" --clear-groups \
            "$PLUTO" serve "$TMP/site" -b 127.0.0.1 -p 0 --user root >/dev/null 2>"$TMP/notroot.err"
        rc=$?
        check "(f) --user when not root is refused" \
            eval '[ $rc = 1 ] && grep -q "needs the server started as root" "$TMP/notroot.err"'
    else
        echo "# setpriv is missing: --user when not root is not checked"
    fi
fi

# ---- (g) a durable machine ----------------------------------------------------------
# mstart NAME BIN ARGS...: BIN ARGS (boot or start of a kv machine) in the
# background; PID, and PORT once kv listens and the sandbox's line is out.
mstart() {
    local name=$1 bin=$2 i line
    shift 2
    "$bin" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PID=$!
    SERVERS+=("$PID")
    PORT=""
    for i in $(seq 50); do
        line=$(grep -m1 '^kv listening on ' "$TMP/$name.out" 2>/dev/null)
        if [[ $line =~ ^kv\ listening\ on\ http://127\.0\.0\.1:([0-9]+)/$ ]] &&
           grep -q ': sandbox: ' "$TMP/$name.err"; then
            PORT=${BASH_REMATCH[1]}
            return 0
        fi
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    note <"$TMP/$name.err"
    return 1
}
mline() { grep -o 'sandbox: .*' "$TMP/$1.err"; }
put()   { curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X PUT --data-binary "$2" \
              "http://127.0.0.1:$PORT/kv/$1"; }
kvget() { curl -s --max-time 5 "http://127.0.0.1:$PORT/kv/$1"; }
puts()  {   # puts N: PUT k1..kN (value vI), every answer 204
    local i
    for i in $(seq "$1"); do [ "$(put "k$i" "v$i")" = 204 ] || return 1; done
}

M=$TMP/machine
if mstart m1 "$PLUTO" boot "$M" kv --port 0 --snapshot-every 5; then
    line=$(mline m1)
    echo "# $line"
    check "(g) boot: the machine's line is on stderr, after its own words" \
        grep -q "^pluto: machine $M: sandbox: " "$TMP/m1.err"
    check "(g) boot: the line names no_new_privs and the seccomp allowlist" \
        eval '[[ $line == *"no_new_privs; seccomp allowlist ("*" calls)"* ]]'
    if [ "$LANDLOCK" = 1 ]; then
        check "(g) boot: Landlock: read and write beneath the machine's directory" \
            eval '[[ $line == *"read and write beneath $M (the machine)"* ]]'
    fi
    check "(g) on ${PLUTO_BACKEND:-auto}: the ring is restricted (io_uring), or none (epoll)" \
        ring_ok "$line"
    check "(g) boot: every thread: NoNewPrivs 1, Seccomp 2" \
        eval 'threads_have NoNewPrivs 1 && threads_have Seccomp 2'
    check "(g) boot: 12 PUTs across snapshots, each 204" puts 12
    check "(g) boot: a value reads back" eval '[ "$(kvget k12)" = v12 ]'
    check "(g) snapshots were written (renamed into place) under the sandbox" \
        eval 'ls "$M" | grep -q "^snap\."'
    stop
    check "(g) no sandbox refusal on stderr" eval '! grep -qi "not permitted\|denied" "$TMP/m1.err"'
    if mstart m2 "$PLUTO" start "$M"; then
        check "(g) start: sandboxed again" \
            eval 'threads_have NoNewPrivs 1 && threads_have Seccomp 2 && mline m2 | grep -q "seccomp allowlist"'
        check "(g) start: the values are there" eval '[ "$(kvget k7)" = v7 ] && [ "$(kvget k12)" = v12 ]'
        check "(g) start: a PUT is answered 204" eval '[ "$(put after yes)" = 204 ]'
        stop
    else
        not_ok "(g) pluto start resumes the sandboxed machine"
    fi
else
    not_ok "(g) pluto boot runs a kv machine with the sandbox"
fi

# ---- (h) --no-sandbox, recorded at boot -------------------------------------------------
M2=$TMP/machine-off
if mstart m3 "$PLUTO" boot "$M2" kv --port 0 --no-sandbox; then
    check "(h) boot --no-sandbox: the line says off" eval 'mline m3 | grep -q "^sandbox: off (--no-sandbox)"'
    check "(h) boot --no-sandbox: no seccomp filter" threads_have Seccomp 0
    check "(h) boot --no-sandbox: PUT 204" eval '[ "$(put a 1)" = 204 ]'
    stop
    if mstart m4 "$PLUTO" start "$M2"; then
        check "(h) start: still off (recorded at boot)" \
            eval 'mline m4 | grep -q "^sandbox: off" && threads_have Seccomp 0'
        stop
        check "(h) inspect shows --no-sandbox and the arguments" \
            eval '"$PLUTO" inspect "$M2" | grep -q "^options .* --no-sandbox\$" &&
                  "$PLUTO" inspect "$M2" | grep -qx "args       --port 0"'
    else
        not_ok "(h) start of a machine booted with --no-sandbox"
    fi
    if mstart m5 "$PLUTO" start "$M2" --sandbox; then
        check "(h) start --sandbox: on for that run" \
            eval 'mline m5 | grep -q "seccomp allowlist" && threads_have Seccomp 2'
        check "(h) start --sandbox: the value is there" eval '[ "$(kvget a)" = 1 ]'
        stop
    else
        not_ok "(h) start --sandbox"
    fi
else
    not_ok "(h) pluto boot --no-sandbox runs a kv machine"
fi

# ---- (i) the unsafe build as a machine: writes outside, exec ------------------------
if [ -x "$UNSAFE" ]; then
    OUTSIDE=$TMP/outside-the-machine
    if PLUTO_TEST_TRY_EXEC=1 PLUTO_TEST_TRY_WRITE=$OUTSIDE \
       mstart m6 "$UNSAFE" boot "$TMP/machine-try" kv --port 0; then
        for i in $(seq 20); do grep -q 'execve' "$TMP/m6.err" && break; sleep 0.1; done
        grep 'sandbox test' "$TMP/m6.err" | note
        if [ "$LANDLOCK" = 1 ]; then
            check "(i) creating a file outside the machine's directory is refused (Landlock)" \
                grep -q "create $OUTSIDE: Permission denied" "$TMP/m6.err"
            check "(i) and the file does not exist" test ! -e "$OUTSIDE"
            check "(i) opening /etc/passwd is refused (Landlock)" \
                grep -q 'open /etc/passwd: Permission denied' "$TMP/m6.err"
        fi
        check "(i) an AF_INET socket is refused (seccomp)" \
            grep -q 'socket AF_INET: Operation not permitted' "$TMP/m6.err"
        check "(i) execve is refused (seccomp)" \
            grep -q 'execve /bin/true: Operation not permitted' "$TMP/m6.err"
        check "(i) the machine still journals its writes (PUT 204, read back)" \
            eval '[ "$(put t ok)" = 204 ] && [ "$(kvget t)" = ok ]'
        stop
    else
        not_ok "(i) the unsafe build boots a kv machine with PLUTO_TEST_TRY_EXEC"
    fi
fi

# ---- (j) --user, recorded at boot ----------------------------------------------------
if [ "$(id -u)" != 0 ] || ! id nobody >/dev/null 2>&1; then
    echo "# not root (or no user nobody): the machine's --user checks are skipped"
else
    uid=$(id -u nobody) gid=$(id -g nobody)
    M4=$TMP/machine-user
    if mstart m7 "$PLUTO" boot "$M4" kv --port 0 --user nobody --snapshot-every 3; then
        check "(j) boot --user nobody: the line names the user" \
            eval 'mline m7 | grep -q "user nobody (uid $uid"'
        check "(j) every thread runs as nobody" \
            eval 'threads_have Uid "$uid $uid $uid $uid" && threads_have Gid "$gid $gid $gid $gid"'
        check "(j) 8 PUTs journaled as nobody, across snapshots" puts 8
        check "(j) the machine's directory and files are nobody's" \
            eval '[ -z "$(find "$M4" ! -user nobody)" ]'
        stop
        if mstart m8 "$PLUTO" start "$M4"; then
            check "(j) start keeps the recorded user" \
                eval 'mline m8 | grep -q "user nobody" && threads_have Uid "$uid $uid $uid $uid"'
            check "(j) the values are there" eval '[ "$(kvget k8)" = v8 ]'
            stop
        else
            not_ok "(j) start of a machine booted with --user nobody"
        fi
    else
        not_ok "(j) pluto boot --user nobody runs a kv machine"
    fi
    "$PLUTO" boot "$TMP/machine-nouser" kv --port 0 --user no-such-user-here \
        >/dev/null 2>"$TMP/mnouser.err"
    rc=$?
    check "(j) boot --user of an unknown name exits 1, saying so, and makes no machine" \
        eval '[ $rc = 1 ] && grep -q "no such user" "$TMP/mnouser.err" &&
              [ ! -e "$TMP/machine-nouser/meta" ]'
fi

finish
