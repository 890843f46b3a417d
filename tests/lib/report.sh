# report.sh — how the shell suites report, sourced by each one:
#
#   . "$(dirname "$0")/../lib/report.sh"
#
# A line per check, `ok - WHAT`, `not ok - WHAT` or `ok - WHAT # skip`, and at the end
# the summary line scripts/run-tests.sh adds up, `N passed, N failed`. finish() prints
# it and exits 1 when a check failed. A suite may redefine check() for its own form.
passed=0 failed=0
ok()     { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
skip()   { echo "ok - $* # skip"; passed=$((passed + 1)); }
check()  { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
