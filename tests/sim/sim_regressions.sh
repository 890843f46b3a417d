#!/usr/bin/env bash
# sim_regressions.sh — the seeds in tests/sim/regressions.txt, each once.
#
#   tests/sim/sim_regressions.sh BUILD_DIR
#
# Every line `APP SEED [ARGS]` is a seed that failed once (scripts/sim-long.sh
# prints the line for each failing seed); it must now pass as
# tests/sim/sim_lib.bash judges runs: exit 0 (walk: 1 only after EIO),
# `violations 0`, `trace <16 hex>` last. Prints `ok - ...` / `not ok - ...` per
# seed with the command that reruns it, and `N passed, N failed`.
set -u

BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/sim_lib.bash"

. "$(dirname "$0")/../lib/report.sh"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-simreg.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

while read -r app seed rest; do
    case $app in ''|'#'*) continue ;; esac
    # shellcheck disable=SC2086
    sim_cmd "$BUILD" "$app" "$seed" ${rest%%#*}
    timeout 300 "${SIM_CMD[@]}" >"$TMP/out" 2>&1
    rc=$?
    if sim_judge "$app" "$rc" "$TMP/out"; then
        echo "ok - $app seed $seed${rest:+ $rest}"
        passed=$((passed + 1))
    else
        echo "not ok - $app seed $seed: $SIM_WHY (rerun: ${SIM_CMD[*]})"
        failed=$((failed + 1))
    fi
done <"$HERE/regressions.txt"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
