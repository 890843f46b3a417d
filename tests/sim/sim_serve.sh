#!/usr/bin/env bash
# sim_serve.sh — the static server in the simulator, against simulated HTTP clients.
#
#   tests/sim/sim_serve.sh BUILD_DIR        (or the path of the pluto binary)
#
# `pluto sim serve` runs the real server's handlers against clients that send
# GET and HEAD requests for the simulated tree — pipelined, keep-alive, with
# Connection: close, byte ranges, an ETag — cut at random byte boundaries;
# slow clients that trickle a byte at a time; resets part-way through a
# request or a response; EMFILE on accept and on open; EIO. The checker parses
# every response and compares every body with the file (sim_http_resp.c).
#
# Checks:
#   (a) the same seed twice gives byte-identical output, `trace <16 hex>` last;
#   (b) seeds 1..SEEDS (default 300): exit 0 (no crash, no assertion), violations
#       0, responses checked, and every seed a different trace;
#   (c) across those seeds every fault kind fired (reset in a request, reset in
#       a response, EMFILE on accept, EMFILE on open, EIO, short writes), the
#       header timeout cut slow clients with 408, idle connections were closed;
#   (d) more clients than descriptor slots (--clients 60 --max-open 24) and
#       --no-faults: still no violation;
#   (e) the checker can fail: --break-check makes it expect wrong bytes, and
#       the run must report violations and exit 3.
# Prints `ok - ...` / `not ok - ...` per check and `N passed, N failed`; exits 1
# when any check failed. About 5 s (about 30 s under ASan).
set -u

ARG=${1:-build}
if [ -d "$ARG" ]; then PLUTO=$ARG/pluto; else PLUTO=$ARG; fi
SEEDS=${SEEDS:-300}

. "$(dirname "$0")/../lib/report.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-simserve.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

need_pluto

# field NAME FILE: the number after " NAME=" in the summary line of FILE.
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$2" | tail -1; }
violations() { sed -n 's/.*violations \([0-9]*\)$/\1/p' "$1" | tail -1; }

# (a) determinism
"$PLUTO" sim serve --seed 42 /site >"$TMP/a1" 2>&1
"$PLUTO" sim serve --seed 42 /site >"$TMP/a2" 2>&1
if cmp -s "$TMP/a1" "$TMP/a2" && tail -1 "$TMP/a1" | grep -Eq '^trace [0-9a-f]{16}$' &&
   grep -q '^sim seed 42: .* http clients' "$TMP/a1"; then
    ok "same seed, same output and trace ($(tail -1 "$TMP/a1"))"
else
    not_ok "same seed, same output and trace"; diff "$TMP/a1" "$TMP/a2" | head -5
fi

# (b) the invariants over many seeds: one summary line per seed into $TMP/sums
bad=0
for s in $(seq 1 "$SEEDS"); do
    out=$TMP/serve.$s
    "$PLUTO" sim serve --seed "$s" /site >"$out" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] || [ "$(violations "$out")" != 0 ]; then
        [ "$bad" -lt 5 ] && { echo "# seed $s: exit $rc"; grep -v '^trace' "$out" | tail -4; }
        bad=$((bad + 1))
    fi
    grep '^sim seed' "$out" >>"$TMP/sums"
    tail -1 "$out" >>"$TMP/traces"
    rm -f "$out"
done
silent=$(grep -c ' 0 responses' "$TMP/sums")
if [ "$bad" -eq 0 ] && [ "$silent" -eq 0 ]; then
    ok "sim serve seeds 1..$SEEDS: exit 0, violations 0, responses checked in each"
else
    not_ok "sim serve seeds 1..$SEEDS: $bad seeds failed, $silent checked no response" \
        "(rerun one: $PLUTO sim serve --seed N /site)"
fi
distinct=$(sort -u "$TMP/traces" | grep -c '^trace ')
if [ "$distinct" -eq "$SEEDS" ]; then
    ok "different seeds, different traces ($distinct distinct)"
else
    not_ok "different seeds, different traces (only $distinct distinct of $SEEDS)"
fi

# (c) every fault kind, the header timeout and the idle timeout happened somewhere:
# seeds whose summary has a non-zero count for each.
seeds_with() { grep -cE "$1" "$TMP/sums"; }
for k in reset_request reset_response emfile emfile_open eio short; do
    n=$(seeds_with " $k=[1-9]")
    if [ "$n" -gt 0 ]; then ok "fault $k fired in $n seeds"; else not_ok "fault $k never fired"; fi
done
n=$(seeds_with ' [1-9][0-9]* timeouts 408,')
if [ "$n" -gt 0 ]; then ok "slow clients cut with 408 in $n seeds"
else not_ok "no slow client was cut with 408"; fi
n=$(seeds_with ' [1-9][0-9]* idle closes,')
if [ "$n" -gt 0 ]; then ok "idle connections closed by the server in $n seeds"
else not_ok "no idle connection was closed by the server"; fi

# (d) descriptor pressure, and no faults
bad=0
for s in $(seq 1 30); do
    for args in "--clients 60 --max-open 24" "--clients 60 --max-open 8" "--no-faults"; do
        out=$TMP/more.$s
        "$PLUTO" sim serve --seed "$s" $args /site >"$out" 2>&1
        rc=$?
        if [ "$rc" -ne 0 ] || [ "$(violations "$out")" != 0 ]; then
            bad=$((bad + 1)); echo "# seed $s $args: exit $rc"; grep -m3 violation "$out"
        fi
        if [ "$args" = --no-faults ]; then
            for k in reset emfile emfile_open eio; do
                [ "$(field "$k" "$out")" = 0 ] || bad=$((bad + 1))
            done
        fi
    done
done
if [ "$bad" -eq 0 ]; then
    ok "60 clients on 24 and on 8 descriptor slots, and --no-faults: no violation (30 seeds each)"
else
    not_ok "descriptor pressure / --no-faults: $bad problems"
fi

# (e) the checker can fail
out=$TMP/broken
"$PLUTO" sim serve --seed 1 --break-check /site >"$out" 2>&1
rc=$?
if [ "$rc" -eq 3 ] && [ "$(violations "$out")" -gt 0 ] &&
   grep -q '^sim seed 1: violation: .*differs from the file' "$out"; then
    ok "a checker expecting wrong bytes reports violations, exit 3"
else
    not_ok "a checker expecting wrong bytes: exit $rc"; tail -3 "$out"
fi

finish
