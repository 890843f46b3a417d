#!/usr/bin/env bash
# test_machine.sh — durable machines from the command line.
#
#   tests/blackbox/test_machine.sh BUILD_DIR        (e.g. build)
#
# `pluto boot`, `start` and `inspect`: usage errors (exit 2), an existing
# machine on boot and a directory that is not one on start (exit 1); a
# counter that goes on where it stopped, after SIGTERM (no line twice) and
# after SIGKILL; options given after the app's own arguments recorded in the
# machine and overridable for one start; snapshots; kv whose data survives
# SIGKILL; a machine directory copied elsewhere that starts there and goes
# on; a corrupt journal refused naming the file and the offset, a torn tail
# recovered; a program of its own on libpluto (tests/blackbox/machine_prog.c)
# with `prog boot` and `prog start`, which refuses another program's machine;
# and, where a small tmpfs can be mounted, a full disk: kv answers 503, loses
# nothing, and takes writes again once there is room. Every wait is bounded.
# Prints `ok - ...` / `not ok - ...` and `N passed, N failed`.
set -u

BUILD=${1:-build}
PLUTO=$BUILD/pluto
HERE=$(cd "$(dirname "$0")" && pwd)
TALLY=$BUILD/tests/tally

. "$(dirname "$0")/../lib/report.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-machine.XXXXXX")
MNT=""
cleanup() {
    local pids
    pids=$(jobs -pr)
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    wait 2>/dev/null
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_pluto

# run_rc EXPECTED WHAT ARGS...: pluto ARGS (bounded), its exit code must be
# EXPECTED; stderr kept in $TMP/rc.err.
run_rc() {
    local want=$1 what=$2; shift 2
    timeout 10 "$PLUTO" "$@" >"$TMP/rc.out" 2>"$TMP/rc.err"
    local rc=$?
    check "$what: exit $want (got $rc)" [ "$rc" -eq "$want" ]
}
said() { grep -q -- "$1" "$TMP/rc.err"; }

# wait_for FILE REGEX: until a line of FILE matches (10 s at most).
wait_for() {
    local i
    for i in $(seq 1000); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.01
    done
    return 1
}

# bg OUT ARGS...: pluto ARGS in the background (PID), stdout to OUT, stderr to OUT.err.
bg() {
    local out=$1; shift
    : >"$out"
    "$PLUTO" "$@" >>"$out" 2>>"$out.err" &
    PID=$!
}
stop() { kill -"${2:-TERM}" "$1" 2>/dev/null; { wait "$1"; } 2>/dev/null; }
last_count() { grep '^counter is at ' "$1" | tail -n 1 | awk '{print $4}'; }

# ---- usage and refusals -------------------------------------------------------
D=$TMP/m
run_rc 2 "boot without DIR" boot
check "boot without DIR: a usage message" said "usage: pluto boot DIR APP"
run_rc 2 "boot without APP" boot "$D"
run_rc 2 "boot with an unknown APP" boot "$D" nosuch
check "unknown APP: said" said "unknown APP 'nosuch'"
run_rc 2 "boot --fsync sometimes" boot "$D" counter --fsync sometimes
check "--fsync: its values said" said "always, interval or never"
run_rc 2 "boot --snapshot-every many" boot "$D" counter --snapshot-every many
run_rc 2 "boot with the app's bad argument" boot "$D" counter --interval-ms 0
check "the app's own message" said "interval-ms"
check "a refused boot leaves no machine" [ ! -e "$D/meta" ]
run_rc 2 "start without DIR" start
run_rc 2 "start with an extra argument" start "$D" more
run_rc 1 "start on a missing directory" start "$TMP/none"
mkdir -p "$TMP/empty"
run_rc 1 "start on a directory that is not a machine" start "$TMP/empty"
check "not a machine: said" said "not a machine"
run_rc 0 "boot --help" boot --help
run_rc 1 "inspect on a directory that is not a machine" inspect "$TMP/empty"

# ---- counter: options after the app's arguments, stop, start, kill ----------------
bg "$TMP/c1" boot "$D" counter --interval-ms 20 --fsync interval --snapshot-every 7
check "counter boots and counts" wait_for "$TMP/c1" '^counter is at 4$'
run_rc 1 "boot on a running machine" boot "$D" counter
check "boot on a machine: said" said "in use by another process\|already holds a machine"
stop "$PID"
rc=$?
check "SIGTERM stops the machine: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "it says where it stopped" grep -q "stopped at seq " "$TMP/c1.err"
run_rc 1 "boot on a stopped machine" boot "$D" counter
check "already a machine: said" said "already holds a machine"
timeout 10 "$PLUTO" inspect "$D" >"$TMP/inspect" 2>&1
check "inspect: the program" grep -q '^machine    counter ' "$TMP/inspect"
check "inspect: the options given after the app's arguments were recorded" \
    grep -q -- '--fsync interval --snapshot-every 7' "$TMP/inspect"
check "inspect: snapshots were written" grep -Eq '^snapshots  [1-9]' "$TMP/inspect"
check "inspect: the program's arguments recorded at boot" \
    grep -qx 'args       --interval-ms 20' "$TMP/inspect"
n1=$(last_count "$TMP/c1")
bg "$TMP/c2" start "$D" --fsync always
check "start goes on: $((n1 + 1)) after $n1" wait_for "$TMP/c2" "^counter is at $((n1 + 2))$"
check "after a clean stop no line comes twice" \
    [ "$(head -n 1 "$TMP/c2")" = "counter is at $((n1 + 1))" ]
check "start resumed from a snapshot" grep -q "from a snapshot" "$TMP/c2.err"
stop "$PID" KILL
n2=$(last_count "$TMP/c2")
timeout 10 "$PLUTO" inspect "$D" >"$TMP/inspect" 2>&1
check "an override at start is for that run only" \
    grep -q -- '--fsync interval --snapshot-every 7' "$TMP/inspect"
bg "$TMP/c3" start "$D"
check "after SIGKILL it goes on" wait_for "$TMP/c3" "^counter is at $((n2 + 1))$"
first=$(head -n 1 "$TMP/c3" | awk '{print $4}')
check "after SIGKILL it never goes back ($first after $n2)" \
    [ "$first" -le $((n2 + 1)) ] && [ "$first" -ge $((n2 - 8)) ]
stop "$PID"

# ---- corruption and torn tails ---------------------------------------------------
cp -a "$D" "$TMP/bad"
LOG=$(ls "$TMP/bad"/log.* | head -n 1)
printf '\xff' | dd of="$LOG" bs=1 seek=100 conv=notrunc 2>/dev/null
run_rc 1 "start on a corrupt journal" start "$TMP/bad"
check "the message names the file and the offset" \
    said "corruption in log.0000000000000001 at offset"
timeout 10 "$PLUTO" inspect "$TMP/bad" >"$TMP/inspect" 2>&1
check "inspect says start refuses it" grep -q "start refuses this machine" "$TMP/inspect"
cp -a "$D" "$TMP/torn"
LOG=$(ls "$TMP/torn"/log.* | tail -n 1)
truncate -s -5 "$LOG"
bg "$TMP/t1" start "$TMP/torn"
check "a torn tail is recovered and said" wait_for "$TMP/t1.err" "recovered to seq .*torn tail"
check "and the machine goes on" wait_for "$TMP/t1" '^counter is at'
stop "$PID"

# ---- kv, SIGKILL, and a copy elsewhere ---------------------------------------------
K=$TMP/kv
bg "$TMP/k1" boot "$K" kv --port 0
port() { sed -n 's|^kv listening on http://127.0.0.1:\([0-9]*\)/$|\1|p' "$1" | tail -n 1; }
check "kv boots" wait_for "$TMP/k1" '^kv listening on'
P=$(port "$TMP/k1")
c() { curl -s --max-time 10 "$@"; }
code() { c -o /dev/null -w '%{http_code}' "$@"; }       # code [ARGS] URL: the status
url() { echo "http://127.0.0.1:$P/kv/${1:-}"; }
s1=$(code -X PUT --data-binary 'first value' "$(url a)")
s2=$(code -X PUT --data-binary 'second' "$(url b)")
check "PUT answers 204 ($s1 $s2)" [ "$s1" = 204 ] && [ "$s2" = 204 ]
stop "$PID" KILL
bg "$TMP/k2" start "$K"
check "kv starts after SIGKILL" wait_for "$TMP/k2" '^kv listening on'
P=$(port "$TMP/k2")
check "a PUT answered before SIGKILL reads back" [ "$(c "$(url a)")" = "first value" ]
check "and the other" [ "$(c "$(url b)")" = "second" ]
s3=$(code -X DELETE "$(url b)")
check "DELETE answers 204 ($s3)" [ "$s3" = 204 ]
stop "$PID"
cp -a "$K" "$TMP/kv-copy"
bg "$TMP/k3" start "$TMP/kv-copy"
check "a copied directory starts there" wait_for "$TMP/k3" '^kv listening on'
P=$(port "$TMP/k3")
check "with the data" [ "$(c "$(url a)")" = "first value" ]
check "and the DELETE" [ "$(code "$(url b)")" = 404 ]
s4=$(code -X PUT --data-binary 'only in the copy' "$(url c)")
check "and goes on ($s4)" [ "$s4" = 204 ]
stop "$PID"
bg "$TMP/k4" start "$K"
check "the original starts too" wait_for "$TMP/k4" '^kv listening on'
P=$(port "$TMP/k4")
check "the two are separate machines now" [ "$(code "$(url c)")" = 404 ]
stop "$PID"

# ---- a program of its own --------------------------------------------------------
mkdir -p "$BUILD/tests"
cc=${CC:-cc} san=""
if nm "$BUILD/libpluto.a" 2>/dev/null | grep -q __asan_; then
    cc=clang san="-fsanitize=address,undefined"     # the library of `make asan`
fi
if $cc $san -std=c11 -O2 -Wall -Iinclude -o "$TALLY" "$HERE/machine_prog.c" "$BUILD/libpluto.a" \
      -lxxhash -luring -lpthread 2>"$TMP/cc.err"; then
    ok "a program on libpluto builds"
    T=$TMP/tally
    timeout 10 "$TALLY" boot "$T" --every 15 --snapshot-every 3 >"$TMP/y1" 2>"$TMP/y1.err" &
    PID=$!
    check "prog boot DIR ARGS runs it as a machine" wait_for "$TMP/y1" '^tally 3$'
    stop "$PID"
    n=$(grep '^tally ' "$TMP/y1" | tail -n 1 | awk '{print $2}')
    timeout 10 "$TALLY" start "$T" >"$TMP/y2" 2>"$TMP/y2.err" &
    PID=$!
    check "prog start DIR goes on at $((n + 1))" wait_for "$TMP/y2" "^tally $((n + 1))$"
    stop "$PID"
    timeout 10 "$TALLY" start "$K" >/dev/null 2>"$TMP/rc.err"
    rc=$?
    check "another program's machine is refused: exit 1 (got $rc)" [ "$rc" -eq 1 ]
    check "naming its program" said "belongs to program 'kv'"
    timeout 10 "$PLUTO" start "$T" >/dev/null 2>"$TMP/rc.err"
    rc=$?
    check "pluto start on a machine of a program it lacks: exit 1 (got $rc)" [ "$rc" -eq 1 ]
else
    not_ok "a program on libpluto builds: $(head -n 3 "$TMP/cc.err")"
fi

# ---- a full disk -------------------------------------------------------------------
MNT=$TMP/small
mkdir -p "$MNT"
if mount -t tmpfs -o size=6m tmpfs "$MNT" 2>/dev/null; then
    F=$MNT/kv
    bg "$TMP/f1" boot "$F" kv --port 0
    check "full disk: kv boots on a 6 MiB file system" wait_for "$TMP/f1" '^kv listening on'
    P=$(port "$TMP/f1")
    head -c 3000 /dev/zero | tr '\0' 'x' >"$TMP/body"
    dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
    codes=""
    for i in $(seq 12); do
        codes="$codes $(code -X PUT --data-binary @"$TMP/body" "$(url "k$i")")"
    done
    check "full disk: PUTs get 503 once the journal meets ENOSPC ($codes)" \
        bash -c "grep -q 503 <<<'$codes' && ! grep -Eqv '^( (204|503))+$' <<<'$codes'"
    check "full disk: said" wait_for "$TMP/f1.err" "the disk is full"
    check "full disk: GET still works" [ "$(code "$(url)")" = 200 ]
    rm -f "$MNT/filler"
    check "full disk: room again is noticed" wait_for "$TMP/f1.err" "the disk has room again"
    s=$(code -X PUT --data-binary 'after' "$(url after)")
    check "full disk: PUT answers 204 again ($s)" [ "$s" = 204 ]
    ok204=$(for i in $(seq 12); do [ "$(echo $codes | cut -d' ' -f$i)" = 204 ] && echo k$i; done)
    stop "$PID" KILL
    bg "$TMP/f2" start "$F"
    check "full disk: starts after SIGKILL" wait_for "$TMP/f2" '^kv listening on'
    P=$(port "$TMP/f2")
    lost=""
    for k in $ok204 after; do
        [ "$(code "$(url "$k")")" = 200 ] || lost="$lost $k"
    done
    check "full disk: every PUT answered 204 is there${lost:+ (lost:$lost)}" [ -z "$lost" ]
    stop "$PID"
    umount "$MNT" 2>/dev/null && MNT=""
else
    echo "# no tmpfs mount here (not root?): the full-disk checks are skipped"
fi
finish
