#!/bin/bash
# run-tests.sh BUILD UNIT_BIN... — run every test suite and print one summary.
#
# Suites: the Criterion unit and scenario tests, the purity check's own test,
# the simulator tests and the black-box tests against the real binary, those
# once on each live backend (epoll, io_uring: "[epoll]", "[uring]" in their
# names), except a suite that says "# backend: none" (it starts no server).
# Each suite prints one line ("ok", or "FAIL" followed by its failed checks and
# the end of its output); its whole output is kept in
# BUILD/test-logs/. The failures are repeated at the end, above the last line:
# "N passed, N failed". VERBOSE=1 prints every suite's whole output as it runs.
# A suite still running after SUITE_TIMEOUT seconds (default 900) is stopped and
# fails with exit 124, so that one hang cannot take the whole run's time.
set -u
BUILD=$1
shift
passed=0
failed=0
failures=()
LOGS=$BUILD/test-logs
rm -rf "$LOGS" && mkdir -p "$LOGS"
report=$LOGS/failures.txt
limit=(timeout -k 10 "${SUITE_TIMEOUT:-900}")
: >"$report"
# The servers the suites start must not talk to a service manager this run may be
# under (sd_notify, socket activation); test_systemd.sh sets its own.
unset NOTIFY_SOCKET LISTEN_PID LISTEN_FDS LISTEN_FDNAMES
# Under ASan, leaks in Criterion's own library are not pluto's (tests/lsan.supp).
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

# show NAME OUT OK COUNTS: the suite's line, with the time since the last `t0=`;
# a failed suite's details go to the report too. A failed check is a "not ok" line
# with its "#" lines after it.
t0=$EPOCHREALTIME
show() {
    local name=$1 out=$2 good=$3 counts=$4 log us
    us=$((${EPOCHREALTIME//[!0-9]/} - ${t0//[!0-9]/}))
    printf -v counts '%s, %d.%d s' "$counts" $((us / 1000000)) $((us / 100000 % 10))
    log=$LOGS/$(tr -c 'A-Za-z0-9_.[]-' _ <<<"$name" | sed 's/_*$//').log
    printf '%s\n' "$out" >"$log"
    [ "${VERBOSE:-}" = 1 ] && printf '%s\n' "$out"
    if [ "$good" = 1 ]; then
        echo "ok   $name: $counts"
        return
    fi
    {
        echo "FAIL $name: $counts (whole output: $log)"
        awk '/^not ok|^\[(FAIL|----)\]/ { on = 1; print; next }
             on && /^#/ { print; next } { on = 0 }' \
            <<<"$out" | head -n 60 | sed 's/^/    /'
        echo "    -- the end of its output:"
        tail -n 25 <<<"$out" | sed 's/^/    /'
    } | tee -a "$report"
}

count_criterion() {    # "Synthesis: Tested: 12 | Passing: 12 | Failing: 0 | Crashing: 0"
    local out=$1 rc=$2 name=$3
    local line t p
    line=$(grep 'Synthesis' <<<"$out" | tail -1)
    t=$(sed -n 's/.*Tested: \([0-9]*\).*/\1/p' <<<"$line")
    p=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$line")
    passed=$((passed + ${p:-0}))
    if [ -z "$t" ] || [ "${t:-0}" != "${p:-x}" ] || [ "$rc" -ne 0 ]; then
        failed=$((failed + ${t:-1} - ${p:-0}))
        [ "${t:-0}" = "${p:-x}" ] && failed=$((failed + 1))   # all passed, yet it failed
        failures+=("$name")
        show "$name" "$out" 0 "${p:-0} of ${t:-?} passed, exit $rc"
    else
        show "$name" "$out" 1 "$p passed"
    fi
}

count_script() {       # "N passed, N failed"
    local out=$1 rc=$2 name=$3
    local line p f
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -1)
    p=$(sed -n 's/^\([0-9]*\) passed.*/\1/p' <<<"$line")
    f=$(sed -n 's/.*passed, \([0-9]*\) failed.*/\1/p' <<<"$line")
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ "$rc" -ne 0 ] || [ -z "$line" ] || [ "${f:-1}" -ne 0 ]; then
        [ -z "$line" ] && failed=$((failed + 1))
        failures+=("$name")
        show "$name" "$out" 0 "${line:-no summary line}, exit $rc"
    else
        show "$name" "$out" 1 "$p passed"
    fi
}

for bin in "$@"; do
    t0=$EPOCHREALTIME
    out=$("${limit[@]}" "$bin" --jobs=2 2>&1)
    count_criterion "$out" $? "$(basename "$bin")"
done

mkdir -p "$BUILD/tests"
purity=(tests/purity/*.c)
t0=$EPOCHREALTIME
out=$(
    n=0
    for src in "${purity[@]}"; do
        obj="$BUILD/tests/$(basename "$src" .c).o"
        # shellcheck disable=SC2086 # LTO: the apps' link-time flags (Makefile), or none
        ${CC:-cc} ${LTO:-} -c "$src" -o "$obj" || { echo "not ok - $src does not compile"; continue; }
        if ! scripts/check-purity.sh "$obj" >/dev/null 2>&1; then
            n=$((n + 1)); echo "ok - $src rejected"
        else
            echo "not ok - $src accepted"
        fi
    done 2>&1
    echo "$n passed, $((${#purity[@]} - n)) failed"
)
count_script "$out" 0 "purity check rejects impure modules"

if [ "${FUZZ_SMOKE:-}" = 1 ] && compgen -G "build/fuzz/fuzz_*" >/dev/null; then
    t0=$EPOCHREALTIME
    out=$("${limit[@]}" scripts/fuzz.sh 5 $(ls build/fuzz/fuzz_* | grep -v '\.log$') 2>&1)
    count_script "$out" $? "fuzz drivers, 5 s each over their corpora"
fi

run_script() {         # run_script SUITE [BACKEND]: a script's checks, on one backend
    local t=$1 b=${2:-} name=$1 out rc
    [ -n "$b" ] && name="$t [$b]"
    t0=$EPOCHREALTIME
    out=$(PLUTO_BACKEND=${b:-${PLUTO_BACKEND:-}} "${limit[@]}" bash "$t" "$BUILD" 2>&1)
    rc=$?
    count_script "$out" "$rc" "$name"
}

for t in tests/sim/*.sh; do
    [ -e "$t" ] && run_script "$t"
done

# The live suites run once per live backend (PLUTO_BACKEND chooses it for every
# pluto they start); a suite that sets PLUTO_BACKEND itself covers both in one run,
# and one that says "# backend: none" starts no pluto at all.
# io_uring is skipped, saying why, where the kernel or a container does not allow it.
backends="epoll uring"
if ! why=$(PLUTO_BACKEND=uring "$BUILD/pluto" hello 2>&1 >/dev/null); then
    backends="epoll"
    echo "note io_uring unavailable, its pass is skipped: $why"
fi
for t in tests/blackbox/*.sh tests/http/*.sh; do
    [ -e "$t" ] || continue
    if grep -q -e 'PLUTO_BACKEND=' -e '^# backend: none' "$t"; then
        run_script "$t"
        continue
    fi
    for b in $backends; do
        run_script "$t" "$b"
    done
done

echo
if [ ${#failures[@]} -gt 0 ]; then
    echo "== the failed suites again"
    cat "$report"
    echo "failed suites: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failures[@]} -eq 0 ]
