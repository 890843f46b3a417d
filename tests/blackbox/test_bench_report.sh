#!/usr/bin/env bash
# test_bench_report.sh — bench/report.awk and bench/run.sh's settings, on made-up runs.
#
#   tests/blackbox/test_bench_report.sh BUILD_DIR        (BUILD_DIR unused)
#
# backend: none (it starts no server; scripts/run-tests.sh runs it once)
#
# The benchmark's tables are what the performance targets are judged on, so the
# arithmetic is checked on raw runs whose figures are known:
#   (a) the medians: over its rounds, each server's CPU µs per request is the
#       middle value, and pluto / ceiling is the ratio of those medians;
#   (b) "By round": each pluto run over the ceiling's in the same round, lowest,
#       highest and median; a round where the ceiling has no run is left out;
#   (c) the header says how many rounds the lean rows had when that differs;
#   (d) bench/run.sh refuses a ROUNDS, LEAN_ROUNDS or DURATION that is not a whole
#       number above 0, naming it, before it installs or starts anything.
# Prints `ok - ...` / `not ok - ...` and `N passed, N failed`. Under a second.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$HERE/../lib/report.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-report.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# round server workload requests bytes duration_us 5 errors server_ticks wrk_ms.
# At 100 ticks a second, T ticks over 100,000 requests are T/10 µs per request.
raw() { printf '%s\t%s\tsmall-lean\t100000\t100000000\t4000000\t0\t0\t0\t0\t0\t%s\t3000\n' "$@"; }
{
    raw 1 pluto 60;  raw 1 pluto-epoll 80; raw 1 ceiling 70
    raw 2 pluto 60;  raw 2 pluto-epoll 80; raw 2 ceiling 80
    raw 3 pluto 60;  raw 3 pluto-epoll 66; raw 3 ceiling 60
    raw 4 pluto 90;  raw 4 pluto-epoll 90             # no ceiling in round 4
} > "$TMP/raw.tsv"

report() { # lean_rounds
    awk -F'\t' -v servers="pluto pluto-epoll ceiling" \
        -v avail="pluto:1 pluto-epoll:1 ceiling:1" -v hz=100 -v workloads="small-lean" \
        -v rounds=3 -v lean_rounds="$1" -v dur=4 -v datadir="$TMP" \
        -v header="a made-up run" -f "$ROOT/bench/report.awk" "$TMP/raw.tsv"
}
report 4 > "$TMP/out.md" 2> "$TMP/err" || not_ok "report.awk exits 0: $(cat "$TMP/err")"

# expect WHAT GOT CMD...: check, and on a failure show what was there
expect() {
    local what=$1 got=$2
    shift 2
    if "$@"; then ok "$what"; else not_ok "$what"; echo "#   got: $got"; fi
}

# (a) pluto 6.0 6.0 6.0 9.0 -> 6.0; epoll 8.0 8.0 6.6 9.0 -> 8.0; ceiling 7.0 8.0 6.0 -> 7.0
row=$(grep '^| same: server CPU µs per request' "$TMP/out.md")
expect "(a) the CPU medians: pluto 6.0, epoll 8.0, ceiling 7.0" "$row" \
    test "$(echo "$row" | awk -F' [|] ' '{ print $2, $3, $4 }')" = "6.0 8.0 7.0"
expect "(a) pluto / ceiling on CPU: 0.86, epoll 1.14" "$row" \
    grep -q '| 0.86 (epoll 1.14) |$' <<< "$row"

# (b) pluto 6/7, 6/8, 6/6 = 0.857 0.75 1.0; epoll 8/7, 8/8, 6.6/6 = 1.143 1.0 1.1
line=$(grep '^By round' "$TMP/out.md")
expect "(b) By round, io_uring: 0.75–1.00, median 0.86" "$line" \
    grep -q 'pluto (io_uring) 0.75–1.00 (median 0.86)' <<< "$line"
expect "(b) By round, epoll: 1.00–1.14, median 1.10 (round 4, without a ceiling run, left out)" "$line" \
    grep -q 'pluto (epoll) 1.00–1.14 (median 1.10)' <<< "$line"

# (c)
expect "(c) the header gives the lean rows' 4 rounds" "$(sed -n 3p "$TMP/out.md")" \
    grep -q 'Medians of 3 interleaved round(s) of 4 s; the lean-client rows, of 4\.' "$TMP/out.md"
report 3 > "$TMP/same.md" 2> /dev/null
check "(c) and says nothing more when they had ROUNDS" \
    grep -q 'Medians of 3 interleaved round(s) of 4 s\.' "$TMP/same.md"

# (d)
for bad in "ROUNDS=0" "LEAN_ROUNDS=x" "DURATION=1.5"; do
    out=$(env "$bad" OUT="$TMP/none" bash "$ROOT/bench/run.sh" 2>&1)
    rc=$?
    expect "(d) bench/run.sh with $bad: exit 1 and a message naming it" "rc $rc: $out" \
        eval '[ $rc -eq 1 ] && grep -q "${bad%%=*} must be a whole number above 0" <<< "$out"'
done
check "(d) and it wrote nothing" test ! -e "$TMP/none"

finish
