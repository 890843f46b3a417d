#!/bin/bash
# run-tests.sh BUILD UNIT_BIN... — run every test suite and print one summary.
#
# Suites: the Criterion unit and scenario tests, the purity check's own test,
# the simulator tests and the black-box tests against the real binary, those
# once on each live backend (epoll, io_uring: "[epoll]", "[uring]" in their
# names). Each suite's result is folded into the last line: "N passed, N failed".
set -u
BUILD=$1
shift
passed=0
failed=0
failures=()

count_criterion() {    # "Synthesis: Tested: 12 | Passing: 12 | Failing: 0 | Crashing: 0"
    local line=$1 name=$2
    local t p
    t=$(sed -n 's/.*Tested: \([0-9]*\).*/\1/p' <<<"$line")
    p=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$line")
    passed=$((passed + ${p:-0}))
    if [ -z "$t" ] || [ "${t:-0}" != "${p:-x}" ]; then
        failed=$((failed + ${t:-1} - ${p:-0}))
        failures+=("$name")
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
    fi
}

for bin in "$@"; do
    echo "== $(basename "$bin")"
    out=$("$bin" --jobs=2 2>&1)
    echo "$out" | tail -n 30
    count_criterion "$(grep 'Synthesis' <<<"$out" | tail -1)" "$(basename "$bin")"
done

echo "== purity check rejects impure modules"
mkdir -p "$BUILD/tests"
for src in tests/purity/*.c; do
    obj="$BUILD/tests/$(basename "$src" .c).o"
    ${CC:-cc} -c "$src" -o "$obj"
    if ! scripts/check-purity.sh "$obj" >/dev/null 2>&1; then
        passed=$((passed + 1)); echo "ok - $src rejected"
    else
        failed=$((failed + 1)); failures+=("purity"); echo "not ok - $src accepted"
    fi
done

if [ "${FUZZ_SMOKE:-}" = 1 ] && compgen -G "build/fuzz/fuzz_*" >/dev/null; then
    echo "== fuzz drivers, 5 s each over their corpora (make fuzz runs longer)"
    out=$(scripts/fuzz.sh 5 $(ls build/fuzz/fuzz_* | grep -v '\.log$') 2>&1)
    rc=$?
    echo "$out" | tail -n 20
    count_script "$out" "$rc" "fuzz"
fi

run_script() {         # run_script SUITE [BACKEND]: a script's checks, on one backend
    local t=$1 b=${2:-} name=$1 out rc
    [ -n "$b" ] && name="$t [$b]"
    echo "== $name"
    out=$(PLUTO_BACKEND=${b:-${PLUTO_BACKEND:-}} bash "$t" "$BUILD" 2>&1)
    rc=$?
    echo "$out" | tail -n 40
    count_script "$out" "$rc" "$name"
}

for t in tests/sim/*.sh; do
    [ -e "$t" ] && run_script "$t"
done

# The live suites run once per live backend (PLUTO_BACKEND chooses it for every
# pluto they start); a suite that sets PLUTO_BACKEND itself covers both in one run.
# io_uring is skipped, saying why, where the kernel or a container does not allow it.
backends="epoll uring"
if ! why=$(PLUTO_BACKEND=uring "$BUILD/pluto" hello 2>&1 >/dev/null); then
    backends="epoll"
    echo "== io_uring unavailable, its pass is skipped: $why"
fi
for t in tests/blackbox/*.sh tests/http/*.sh; do
    [ -e "$t" ] || continue
    if grep -q 'PLUTO_BACKEND=' "$t"; then
        run_script "$t"
        continue
    fi
    for b in $backends; do
        run_script "$t" "$b"
    done
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failures[@]} -eq 0 ]
