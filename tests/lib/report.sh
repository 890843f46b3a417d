# report.sh — how the shell suites report, sourced by each one:
#
#   . "$(dirname "$0")/../lib/report.sh"
#
# A line per check, `ok - WHAT`, `not ok - WHAT` or `ok - WHAT # skip`, and at the end
# the summary line scripts/run-tests.sh adds up, `N passed, N failed`. finish() prints
# it and exits 1 when a check failed. A suite may redefine check() for its own form.
#
# And what every suite needs before and after its checks:
#   need_pluto            a failure and the end unless $PLUTO is executable
#   need_tools TOOL...    a failure and the end unless each TOOL is on PATH
#   stop_pids [PID...]    SIGTERM to the PIDs and this shell's running jobs, SIGKILL
#                         0.2 s later: what a suite's cleanup calls on exit
passed=0 failed=0
ok()     { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }
skip()   { echo "ok - $* # skip"; passed=$((passed + 1)); }
check()  { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

need_pluto() {
    [ -x "$PLUTO" ] && return 0
    not_ok "pluto binary exists at $PLUTO (run make)"
    finish
}
need_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { not_ok "$tool is installed"; finish; }
    done
}
stop_pids() {
    local pids
    pids="$* $(jobs -pr)"
    [ -n "${pids// /}" ] || return 0
    kill -TERM $pids 2>/dev/null
    sleep 0.2
    kill -KILL $pids 2>/dev/null
}
