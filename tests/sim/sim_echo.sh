#!/usr/bin/env bash
# sim_echo.sh — the simulator over many seeds: determinism, invariants, faults.
#
#   tests/sim/sim_echo.sh BUILD_DIR        (or the path of the pluto binary)
#
# Checks:
#   (a) the same seed twice gives byte-identical output, `trace <16 hex>` last;
#   (b) `pluto sim echo` over seeds 1..500: exit 0, `violations 0`, and every
#       seed a different trace;
#   (c) across those seeds the injected faults reset, emfile and short fire;
#   (d) large sends (--bytes 1 MiB) with slow readers: flow control pauses
#       receivers in some seed, and nothing is lost;
#   (e) --no-faults: no reset, emfile or eio, and still no violation;
#   (f) `pluto sim walk` over seeds 1..100: its totals match the tree (no
#       violation), EIO fires in some seed, and the exit code is 0 exactly
#       when no EIO fired (1 otherwise: walk reports unreadable entries);
#   (g) `pluto sim hello` exits 0 with a trace;
#   (h) a violated invariant makes the run exit 3 (a server that cannot accept).
# Prints `ok - ...` / `not ok - ...` per check and `N passed, N failed`; exits 1
# when any check failed. A few seconds (about 20 s under ASan).
set -u

ARG=${1:-build}
if [ -d "$ARG" ]; then PLUTO=$ARG/pluto; else PLUTO=$ARG; fi
SEEDS=${SEEDS:-500}

. "$(dirname "$0")/../lib/report.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-sim.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

need_pluto

# fault NAME FILE: how many times fault NAME fired, from the summary line in FILE.
fault() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$2" | tail -1; }
violations() { sed -n 's/.*violations \([0-9]*\)$/\1/p' "$1" | tail -1; }

# (a) determinism
"$PLUTO" sim echo --seed 42 >"$TMP/a1" 2>&1
"$PLUTO" sim echo --seed 42 >"$TMP/a2" 2>&1
if cmp -s "$TMP/a1" "$TMP/a2" && tail -1 "$TMP/a1" | grep -Eq '^trace [0-9a-f]{16}$'; then
    ok "same seed, same output and trace ($(tail -1 "$TMP/a1"))"
else
    not_ok "same seed, same output and trace"; diff "$TMP/a1" "$TMP/a2" | head -5
fi

# (b) the echo invariant over many seeds
bad=0 resets=0 emfiles=0 shorts=0
for s in $(seq 1 "$SEEDS"); do
    out=$TMP/echo.$s
    "$PLUTO" sim echo --seed "$s" >"$out" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] || [ "$(violations "$out")" != 0 ]; then
        [ "$bad" -lt 5 ] && { echo "# seed $s: exit $rc"; grep -v '^trace' "$out" | head -5; }
        bad=$((bad + 1))
    fi
    [ "$(fault reset "$out")" -gt 0 ] 2>/dev/null && resets=$((resets + 1))
    [ "$(fault emfile "$out")" -gt 0 ] 2>/dev/null && emfiles=$((emfiles + 1))
    [ "$(fault short "$out")" -gt 0 ] 2>/dev/null && shorts=$((shorts + 1))
    tail -1 "$out" >>"$TMP/traces"
done
if [ "$bad" -eq 0 ]; then
    ok "sim echo seeds 1..$SEEDS: exit 0, violations 0"
else
    not_ok "sim echo seeds 1..$SEEDS: $bad seeds failed (rerun one: $PLUTO sim echo --seed N)"
fi
distinct=$(sort -u "$TMP/traces" | grep -c '^trace ')
if [ "$distinct" -eq "$SEEDS" ]; then
    ok "different seeds, different traces ($distinct distinct)"
else
    not_ok "different seeds, different traces (only $distinct distinct of $SEEDS)"
fi

# (c) every network fault kind fires somewhere
for k in "reset $resets" "emfile $emfiles" "short $shorts"; do
    set -- $k
    if [ "$2" -gt 0 ]; then ok "fault $1 fired in $2 seeds"; else not_ok "fault $1 never fired"; fi
done

# (d) flow control under large sends and slow readers
bad=0 paused=0
for s in $(seq 1 20); do
    out=$TMP/big.$s
    "$PLUTO" sim echo --seed "$s" --bytes 1048576 >"$out" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ] || [ "$(violations "$out")" != 0 ]; then
        bad=$((bad + 1)); echo "# seed $s --bytes 1048576: exit $rc"
    fi
    p=$(sed -n 's/.* \([0-9]*\) pauses.*/\1/p' "$out")
    [ "${p:-0}" -gt 0 ] && paused=$((paused + 1))
done
if [ "$bad" -eq 0 ] && [ "$paused" -gt 0 ]; then
    ok "1 MiB per client: no violation, receivers paused in $paused of 20 seeds"
else
    not_ok "1 MiB per client: $bad seeds failed, receivers paused in $paused seeds"
fi

# (e) no faults
bad=0
for s in $(seq 1 50); do
    out=$TMP/nf.$s
    "$PLUTO" sim echo --seed "$s" --no-faults >"$out" 2>&1 || bad=$((bad + 1))
    for k in reset emfile eio; do [ "$(fault $k "$out")" = 0 ] || bad=$((bad + 1)); done
    [ "$(violations "$out")" = 0 ] || bad=$((bad + 1))
done
if [ "$bad" -eq 0 ]; then ok "--no-faults: no fault injected, no violation (50 seeds)"
else not_ok "--no-faults: $bad problems over 50 seeds"; fi

# (f) walk: the totals match the tree; EIO fires and is reported
bad=0 eios=0
for s in $(seq 1 100); do
    out=$TMP/walk.$s
    "$PLUTO" sim walk --seed "$s" /site >"$out" 2>&1
    rc=$?
    e=$(fault eio "$out")
    [ "${e:-0}" -gt 0 ] && eios=$((eios + 1))
    want=0; [ "${e:-0}" -gt 0 ] && want=1
    if [ "$rc" -ne "$want" ] || [ "$(violations "$out")" != 0 ]; then
        [ "$bad" -lt 5 ] && { echo "# walk seed $s: exit $rc, eio ${e:-?}"; head -3 "$out"; }
        bad=$((bad + 1))
    fi
done
if [ "$bad" -eq 0 ]; then
    ok "sim walk seeds 1..100: totals match the tree, exit 1 only on EIO"
else
    not_ok "sim walk: $bad seeds failed"
fi
if [ "$eios" -gt 0 ]; then
    ok "fault eio fired in $eios walk seeds"
else
    not_ok "fault eio never fired"
fi

# (g) hello
out=$TMP/hello
if "$PLUTO" sim hello >"$out" 2>&1 && tail -1 "$out" | grep -Eq '^trace [0-9a-f]{16}$'; then
    ok "sim hello exits 0 with a trace"
else
    not_ok "sim hello"; cat "$out"
fi

# (h) a violated invariant is exit code 3: with one descriptor, held by the
# listener, the echo server can accept nobody, so no client gets its bytes back.
out=$TMP/viol
"$PLUTO" sim echo --seed 1 --max-open 1 >"$out" 2>&1
rc=$?
if [ "$rc" -eq 3 ] && [ "$(violations "$out")" -gt 0 ] &&
   grep -q '^sim seed 1: violation' "$out"; then
    ok "an echo server that cannot accept: violations reported, exit 3"
else
    not_ok "an echo server that cannot accept: exit $rc"; head -5 "$out"
fi

finish
