#!/bin/bash
# fuzz-long.sh TARGET BIN... — a long fuzzing campaign, kept in a ledger.
#
# Runs each libFuzzer driver (built with ASan+UBSan by `make fuzz`'s rules)
# in rounds of FUZZ_ROUND seconds (default 600) over its growing corpus
# (build/fuzz/corpus/NAME) until the ledger holds TARGET executions of it
# with its current source, or FUZZ_BUDGET seconds (default: none) have been
# spent in this call. Each round appends one line to the ledger
# (docs/fuzz-ledger.tsv, FUZZ_LEDGER to change; FUZZ_TIMEOUT: seconds an
# input may take, default 120):
#
#   date  driver  driver-hash  commit  executions  seconds  findings
#
# Executions count toward TARGET while the driver's own source (and so its
# oracles) is unchanged; the commit says which code they ran over. A
# finding stops the campaign: its input is kept as build/fuzz/crash-* and
# the log names it. Prints one line per driver and "N passed, N failed".
set -u
target=$1
shift
round=${FUZZ_ROUND:-600}
budget=${FUZZ_BUDGET:-0}
# libFuzzer's timeout is wall-clock time: a campaign run at a low priority
# (nice) on a busy machine needs room, or a starved input reads as a hang.
timeout=${FUZZ_TIMEOUT:-120}
ledger=${FUZZ_LEDGER:-docs/fuzz-ledger.tsv}
start=$(date +%s)
[ -f "$ledger" ] ||
    printf 'date\tdriver\tdriver-hash\tcommit\texecutions\tseconds\tfindings\n' >"$ledger"
commit=${FUZZ_COMMIT:-$(git describe --always --dirty 2>/dev/null || echo unknown)}

source_hash() { sha256sum "tests/fuzz/$1.c" | cut -c1-12; }

done_so_far() {     # executions in the ledger for driver $1 with source hash $2
    awk -F'\t' -v d="$1" -v s="$2" '$2 == d && $3 == s && $7 == 0 { n += $5 } END { print n + 0 }' "$ledger"
}

passed=0 failed=0
for bin in "$@"; do
    name=$(basename "$bin")
    short=${name#fuzz_}
    src=$(source_hash "$name")
    work=build/fuzz/corpus/$short
    mkdir -p "$work"
    dict=()
    [ -f "tests/fuzz/$short.dict" ] && dict=(-dict="tests/fuzz/$short.dict")
    found=0
    while :; do
        have=$(done_so_far "$name" "$src")
        [ "$have" -ge "$target" ] && break
        if [ "$budget" -gt 0 ] && [ $(($(date +%s) - start)) -ge "$budget" ]; then
            break
        fi
        log=build/fuzz/$name.long.log
        t0=$(date +%s)
        "$bin" "$work" "tests/fuzz/corpus/$short" "${dict[@]}" -max_total_time="$round" \
            -runs=$((target - have)) -timeout="$timeout" -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix=build/fuzz/ >"$log" 2>&1
        rc=$?
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        secs=$(($(date +%s) - t0))
        [ $rc -ne 0 ] && found=1
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$name" "$src" "$commit" \
            "${runs:-0}" "$secs" "$found" >>"$ledger"
        if [ $found -ne 0 ]; then
            echo "not ok - $name: finding, see $log"
            grep -m5 -E "ERROR|SUMMARY|Test unit written" "$log"
            break
        fi
    done
    if [ $found -eq 0 ]; then
        echo "ok - $name: $(done_so_far "$name" "$src") of $target executions, no finding"
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
