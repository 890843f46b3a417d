#!/usr/bin/env bash
# test_counter.sh — black-box tests of `pluto counter`.
#
#   tests/blackbox/test_counter.sh BUILD_DIR        (e.g. build)
#
# Runs `pluto counter --interval-ms 50` for about a second, stops it with
# SIGINT and checks that its lines are `counter is at 1`, `2`, ... with no gap,
# then `counter stopping on signal 2`, exit code 0; that SIGTERM stops it too;
# and that bad flags exit 2 with a usage message. Every run is bounded by
# `timeout`. Prints `ok - ...` / `not ok - ...` per check and
# `N passed, N failed`. About 3 s.
set -u

BUILD=${1:-build}
PLUTO=$BUILD/pluto

. "$(dirname "$0")/../lib/report.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-counter.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

need_pluto

# counts_up FILE: the `counter is at N` lines of FILE are 1, 2, ..., N in order.
counts_up() {
    awk '/^counter is at / { if ($4 != ++n) bad = 1 } END { exit bad || n == 0 }' "$1"
}

# run SIG SECS: pluto counter --interval-ms 50, sent SIG after SECS (exit status
# kept); output in $TMP/out, $TMP/err, exit code in rc.
run() {
    timeout --preserve-status -k 5 -s "$1" "$2" "$PLUTO" counter --interval-ms 50 \
        >"$TMP/out" 2>"$TMP/err"
    rc=$?
}

run INT 1.1
lines=$(grep -c '^counter is at ' "$TMP/out")
echo "# $lines lines in 1.1 s, last: $(grep '^counter is at ' "$TMP/out" | tail -1)"
check "SIGINT: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "the lines count up by one from 1" counts_up "$TMP/out"
in_range() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
check "about one line per 50 ms (got $lines in 1.1 s, want 5..22)" in_range "$lines" 5 22
check "the last line is 'counter stopping on signal 2'" \
    [ "$(tail -n 1 "$TMP/out")" = "counter stopping on signal 2" ]
check "every line is a count or the stop line" \
    bash -c "! grep -Ev '^counter (is at [0-9]+|stopping on signal 2)$' '$TMP/out'"
check "nothing on stderr" [ ! -s "$TMP/err" ]

run TERM 0.4
check "SIGTERM: exit 0 (got $rc)" [ "$rc" -eq 0 ]
check "SIGTERM: 'counter stopping on signal 15'" \
    [ "$(tail -n 1 "$TMP/out")" = "counter stopping on signal 15" ]

# expect_usage WHAT ARGS...: pluto counter ARGS exits 2 with a usage message.
expect_usage() {
    local what=$1 rc; shift
    timeout -k 2 5 "$PLUTO" counter "$@" >"$TMP/x.out" 2>"$TMP/x.err"; rc=$?
    check "$what: exits 2 (got $rc)" [ "$rc" -eq 2 ]
    check "$what: usage on stderr" grep -q "usage: pluto counter" "$TMP/x.err"
    check "$what: nothing on stdout" [ ! -s "$TMP/x.out" ]
}
expect_usage "--interval-ms 0" --interval-ms 0
expect_usage "--interval-ms 86400001" --interval-ms 86400001
expect_usage "--interval-ms abc" --interval-ms abc
expect_usage "--interval-ms without a value" --interval-ms
expect_usage "an unknown flag" --every 5

timeout 5 "$PLUTO" counter --help >"$TMP/x.out" 2>&1; rc=$?
check "--help: exit 0 with the usage (got $rc)" \
    bash -c "[ $rc -eq 0 ] && grep -q 'interval-ms' '$TMP/x.out'"

finish
