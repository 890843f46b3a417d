#!/bin/bash
# fuzz.sh SECONDS BIN... — run each libFuzzer driver for SECONDS over its corpus
# (tests/fuzz/corpus/NAME, grown into build/fuzz/corpus/NAME) with its dictionary
# (tests/fuzz/NAME.dict). Prints one line per driver and "N passed, N failed".
set -u
secs=$1
shift
passed=0 failed=0
for bin in "$@"; do
    name=$(basename "$bin")
    seed=tests/fuzz/corpus/${name#fuzz_}
    work=build/fuzz/corpus/${name#fuzz_}
    mkdir -p "$work"
    dict=()
    [ -f "tests/fuzz/${name#fuzz_}.dict" ] && dict=(-dict="tests/fuzz/${name#fuzz_}.dict")
    log=build/fuzz/$name.log
    if "$bin" "$work" "$seed" "${dict[@]}" -max_total_time="$secs" -timeout=10 \
            -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "ok - $name: ${runs:-?} runs in ${secs}s, no finding"
        passed=$((passed + 1))
    else
        echo "not ok - $name: finding, see $log"
        grep -m5 -E "ERROR|SUMMARY|==[0-9]+==" "$log"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
