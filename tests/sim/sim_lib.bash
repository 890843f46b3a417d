# sim_lib.bash — one simulator run judged the same way everywhere; sourced by
# scripts/sim-long.sh and tests/sim/sim_regressions.sh (not a suite itself:
# run-tests.sh runs tests/sim/*.sh only).
#
#   sim_cmd BUILD APP SEED [ARGS...]   the command that runs one seed (an array
#                                      in SIM_CMD), APP one of sim_apps below
#   sim_judge APP RC OUTPUT_FILE       0 when the run passed, else 1 with the
#                                      reason in SIM_WHY
#
# Apps: serve, echo, walk and counter are `pluto sim APP` (serve and walk get
# the simulated tree /site after the arguments); kv-machine is the kv app as a
# durable machine under disk faults and crashes (build/tests/sim_kv).
# A run passes when it exits 0, its summary says `violations 0` and its last
# line is `trace <16 hex digits>`; walk also exits 1 when an injected EIO hid
# a file from it (and only then).

sim_apps="serve echo walk counter kv-machine"

sim_cmd() {
    local build=$1 app=$2 seed=$3
    shift 3
    case $app in
        kv-machine) SIM_CMD=("$build/tests/sim_kv" --seed "$seed" "$@") ;;
        serve|walk) SIM_CMD=("$build/pluto" sim "$app" --seed "$seed" "$@" /site) ;;
        *)          SIM_CMD=("$build/pluto" sim "$app" --seed "$seed" "$@") ;;
    esac
}

sim_judge() {
    local app=$1 rc=$2 out=$3 v eio
    SIM_WHY=
    if ! tail -1 "$out" | grep -Eq '^trace [0-9a-f]{16}$'; then
        SIM_WHY="exit $rc, no trace line"
        return 1
    fi
    v=$(sed -n 's/.*violations \([0-9]*\)$/\1/p' "$out" | tail -1)
    if [ "${v:-x}" != 0 ]; then
        SIM_WHY="exit $rc, violations ${v:-?}: $(grep -m1 'violation' "$out" | cut -c1-200)"
        return 1
    fi
    if [ "$app" = walk ]; then
        eio=$(sed -n 's/.* eio=\([0-9]*\).*/\1/p' "$out" | tail -1)
        if { [ "${eio:-0}" -gt 0 ] && [ "$rc" -eq 1 ]; } ||
           { [ "${eio:-0}" -eq 0 ] && [ "$rc" -eq 0 ]; }; then
            return 0
        fi
        SIM_WHY="exit $rc with eio=${eio:-?}"
        return 1
    fi
    if [ "$rc" -ne 0 ]; then
        SIM_WHY="exit $rc"
        return 1
    fi
    return 0
}
