#!/usr/bin/env bash
# sim_kv.sh — the kv app as a durable machine in the simulator (sim_kv).
#
#   tests/sim/sim_kv.sh BUILD_DIR
#
# BUILD_DIR/tests/sim_kv boots the real kv handlers as a machine on the
# simulated disk, with simulated HTTP clients, disk faults, power losses,
# kills and restarts (tests/sim/kvsim*.c). Checks:
#   (a) the same seed twice gives byte-identical output, `trace <16 hex>` last;
#   (b) seeds 1..SEEDS (default 200): exit 0, violations 0, writes acknowledged
#       and reads checked in each, and every seed a different trace;
#   (c) across those seeds every fault kind fired: a power loss at a disk call
#       and at an instant, kill -9, SIGTERM, EIO on a write (the journal
#       stalls, then goes on) and on an fsync (the machine stops), a disk
#       offline, a full disk with kv answering 503, short writes, client
#       resets; and snapshots were written, starts retried under a fault;
#   (d) --no-faults: no violation;
#   (e) the checker can fail: --break-check makes it expect wrong bytes and
#       effects two records later than they are, so both the read check and
#       the output-commit check report violations (exit 3); --lying-disk cuts
#       the log at each start (a disk that lied about fsync), and the reads
#       after the restart must see acknowledged writes gone (exit 3).
# Prints `ok - ...` / `not ok - ...` per check and `N passed, N failed`; exits 1
# when any check failed. A few seconds (JOBS runs in parallel, default 2).
set -u

BUILD=${1:-build}
SIM=$BUILD/tests/sim_kv
SEEDS=${SEEDS:-200}
JOBS=${JOBS:-2}

. "$(dirname "$0")/../lib/report.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-simkv.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

if [ ! -x "$SIM" ]; then
    not_ok "$SIM exists (make BUILD=$BUILD $SIM)"
    finish
fi

violations() { sed -n 's/.*violations \([0-9]*\)$/\1/p' "$1" | tail -1; }

# (a) determinism
"$SIM" --seed 42 >"$TMP/a1" 2>&1
"$SIM" --seed 42 >"$TMP/a2" 2>&1
if cmp -s "$TMP/a1" "$TMP/a2" && tail -1 "$TMP/a1" | grep -Eq '^trace [0-9a-f]{16}$' &&
   grep -q '^sim kv-machine seed 42: .* violations 0$' "$TMP/a1"; then
    ok "same seed, same output and trace ($(tail -1 "$TMP/a1"))"
else
    not_ok "same seed, same output and trace"; diff "$TMP/a1" "$TMP/a2" | head -5
fi

# (b) many seeds, JOBS at a time: "SEED RC" lines, each seed's output kept
seq 1 "$SEEDS" | xargs -P "$JOBS" -I{} sh -c \
    "timeout 300 '$SIM' --seed {} >'$TMP/s.{}' 2>&1; echo \"{} \$?\"" >"$TMP/rcs"
bad=0
for s in $(seq 1 "$SEEDS"); do
    out=$TMP/s.$s
    rc=$(awk -v s="$s" '$1 == s { print $2 }' "$TMP/rcs")
    if [ "${rc:-x}" != 0 ] || [ "$(violations "$out")" != 0 ] ||
       ! grep -Eq 'writes acked [1-9][0-9]*, .* checked [1-9]' "$out"; then
        [ "$bad" -lt 5 ] && { echo "# seed $s: exit ${rc:-?}"; grep -m3 violation "$out"; }
        bad=$((bad + 1))
    fi
    grep '^sim kv-machine seed' "$out" | grep -v ': violation' >>"$TMP/sums"
    tail -1 "$out" >>"$TMP/traces"
done
if [ "$bad" -eq 0 ]; then
    ok "sim_kv seeds 1..$SEEDS: exit 0, violations 0, writes acknowledged and read back"
else
    not_ok "sim_kv seeds 1..$SEEDS: $bad seeds failed (rerun one: $SIM --seed N --verbose)"
fi
distinct=$(sort -u "$TMP/traces" | grep -c '^trace ')
if [ "$distinct" -eq "$SEEDS" ]; then
    ok "different seeds, different traces ($distinct distinct)"
else
    not_ok "different seeds, different traces (only $distinct distinct of $SEEDS)"
fi

# (c) every fault kind fired somewhere: seeds whose summary counts it
seeds_with() { grep -cE "$1" "$TMP/sums"; }
for k in powercall power kill stop eio_write eio_sync fatal offline enospc full503 short reset; do
    n=$(seeds_with " $k=[1-9]")
    if [ "$n" -gt 0 ]; then ok "fault $k in $n seeds"; else not_ok "fault $k never happened"; fi
done
for k in snapshots retries; do
    n=$(seeds_with " $k [1-9]")
    if [ "$n" -gt 0 ]; then ok "$k in $n seeds"; else not_ok "no seed had $k"; fi
done

# (d) no faults
bad=0
for s in $(seq 1 10); do
    "$SIM" --seed "$s" --no-faults >"$TMP/nf" 2>&1 || bad=$((bad + 1))
    [ "$(violations "$TMP/nf")" = 0 ] || bad=$((bad + 1))
done
if [ "$bad" -eq 0 ]; then ok "--no-faults: no violation (10 seeds)"
else not_ok "--no-faults: $bad problems over 10 seeds"; fi

# (e) the checker can fail
"$SIM" --seed 1 --break-check >"$TMP/broken" 2>&1
rc=$?
if [ "$rc" -eq 3 ] && [ "$(violations "$TMP/broken")" -gt 0 ] &&
   grep -q 'violation .*which no write it may see holds' "$TMP/broken" &&
   grep -q 'violation .*left before its cause was durable' "$TMP/broken"; then
    ok "--break-check: the read and output-commit checks report violations, exit 3"
else
    not_ok "--break-check: exit $rc"; grep -m3 violation "$TMP/broken"
fi
bad=0
for s in 1 2 3 4 5; do
    "$SIM" --seed "$s" --lying-disk >"$TMP/lie" 2>&1
    rc=$?
    if [ "$rc" -ne 3 ] || ! grep -q 'which no write it may see holds' "$TMP/lie"; then
        bad=$((bad + 1)); echo "# --lying-disk seed $s: exit $rc"
    fi
done
if [ "$bad" -eq 0 ]; then
    ok "--lying-disk: acknowledged writes lost at a restart are reported (5 seeds, exit 3)"
else
    not_ok "--lying-disk: $bad of 5 seeds lost acknowledged writes unnoticed"
fi

finish
