#!/usr/bin/env bash
# bench/run.sh — `make bench`: pluto against nginx, lighttpd and h2o (Debian's packages)
# serving the same files on loopback, with bench/ceiling.c (a fixed-response epoll loop)
# as the reference point. Every server runs one worker pinned to core 0, the client
# (wrk -t1, or bench/load.c in the `-lean` workloads) runs pinned to core 1. Rounds are
# interleaved (round 1: each workload on each server, then round 2, ...) and the
# medians are reported. Two more figures for pluto alone: its
# throughput at --workers 2 over --workers 1 under a CPU quota (workload `workers`), and
# the instructions it runs per cached request, counted by callgrind (`instr`,
# bench/instr.sh); and its durable writes per second against Redis with
# `appendfsync always` (`kv`, bench/kv.sh).
#
# Environment:
#   ROUNDS=3 DURATION=4        rounds per (server, workload) and seconds per run
#   LEAN_ROUNDS=9              rounds of the `-lean` workloads: they decide the
#                              ratios to the ceiling, a few percent apart, and one
#                              run differs from the next by up to 10% on a VM; the
#                              rounds past ROUNDS run them alone
#   SERVERS="pluto pluto-epoll nginx lighttpd h2o ceiling"
#                              pluto: its default backend (io_uring); pluto-epoll:
#                              --backend epoll; ceiling: bench/ceiling.c
#   WORKLOADS="small small-lean pipeline 64k 10m close close-cap idle workers instr kv"
#                              small-lean: small driven by bench/load.c, a client
#                              light enough that the server, not the client, sets
#                              the req/s (bench/README.md); close-lean (not run by
#                              default): close driven by it, client-bound even so;
#                              close-cap: close with every server's CPU capped at
#                              CLOSE_QUOTA cores, so that wrk has room to spare
#   IDLE_CONNS=10000           connections held for the RSS-per-connection figure
#   SCALE_QUOTA=0.3            CPU (in cores) per pluto worker in the `workers` runs
#   CLOSE_QUOTA=0.3            CPU (in cores) of each server in the `close-cap` runs
#   QUICK=1                    smoke test: 1 round of 1 s, 1,000 idle connections,
#                              2,000 requests under callgrind
#   PLUTO=build/pluto          the pluto binary, started as
#                              `pluto serve SITE --bind 127.0.0.1 -p PORT $PLUTO_FLAGS`
#   PLUTO_FLAGS="-w 1"
#   BASE_PORT=18080            ports BASE_PORT, +1, ... on 127.0.0.1
#   OUT=bench/results          where latest.md, latest.png and latest-raw.tsv go
# See bench/README.md for how each figure is measured.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
T_START=$(date +%s)

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    ROUNDS=${ROUNDS:-1}
    LEAN_ROUNDS=${LEAN_ROUNDS:-1}
    DURATION=${DURATION:-1}
    IDLE_CONNS=${IDLE_CONNS:-1000}
    INSTR_N=${INSTR_N:-2000}
fi
ROUNDS=${ROUNDS:-3}
LEAN_ROUNDS=${LEAN_ROUNDS:-9}
DURATION=${DURATION:-4}
IDLE_CONNS=${IDLE_CONNS:-10000}
INSTR_N=${INSTR_N:-20000}
SCALE_QUOTA=${SCALE_QUOTA:-0.3}
CLOSE_QUOTA=${CLOSE_QUOTA:-0.3}
SERVERS=${SERVERS:-pluto pluto-epoll nginx lighttpd h2o ceiling}
WORKLOADS=${WORKLOADS:-small small-lean pipeline 64k 10m close close-cap idle workers instr kv}
BASE_PORT=${BASE_PORT:-18080}
OUT=${OUT:-$HERE/results}
PLUTO=${PLUTO:-$ROOT/build/pluto}
PLUTO_FLAGS=${PLUTO_FLAGS--w 1}
case "$PLUTO" in /*) ;; *) PLUTO="$PWD/$PLUTO" ;; esac

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }

for s in $SERVERS; do
    case "$s" in
    pluto | pluto-epoll | nginx | lighttpd | h2o | ceiling) ;;
    *) die "unknown server '$s'" ;;
    esac
done
for w in $WORKLOADS; do
    case "$w" in
    small | small-lean | pipeline | 64k | 10m | close | close-lean | close-cap | idle | workers | instr | kv) ;;
    *) die "unknown workload '$w'" ;;
    esac
done
for v in ROUNDS LEAN_ROUNDS DURATION; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a whole number above 0 (got '${!v}')"
done
has() { case " $1 " in *" $2 "*) return 0 ;; esac; return 1; } # has LIST WORD
[[ $SCALE_QUOTA =~ ^(0?\.[0-9]+|1(\.0*)?)$ ]] || die "SCALE_QUOTA must be a number of cores in (0, 1]"
[[ $CLOSE_QUOTA =~ ^(0?\.[0-9]+|1(\.0*)?)$ ]] || die "CLOSE_QUOTA must be a number of cores in (0, 1]"
[ "$(nproc)" -ge 2 ] || die "needs 2 cores (server on core 0, wrk on core 1)"

# ---------------------------------------------------------------- what it needs
# Debian packages, installed when missing. A policy-rc.d (only if none exists) keeps
# the packages' own services from starting during the install; it is removed after.
ensure_packages() {
    local want="" p
    command -v wrk > /dev/null || want="$want wrk"
    command -v gnuplot > /dev/null || want="$want gnuplot-nox"
    command -v cc > /dev/null || want="$want gcc libc6-dev"
    command -v taskset > /dev/null || want="$want util-linux"
    if has "$WORKLOADS" small-lean || has "$WORKLOADS" close-lean; then
        [ -e /usr/include/liburing.h ] || want="$want liburing-dev"
    fi
    if has "$WORKLOADS" instr; then command -v valgrind > /dev/null || want="$want valgrind"; fi
    if has "$WORKLOADS" kv; then
        command -v redis-server > /dev/null || want="$want redis-server"
        command -v redis-benchmark > /dev/null || want="$want redis-tools"
    fi
    for p in $SERVERS; do
        case "$p" in
        nginx) [ -x /usr/sbin/nginx ] || want="$want nginx-light" ;;
        lighttpd) [ -x /usr/sbin/lighttpd ] || want="$want lighttpd" ;;
        h2o) [ -x /usr/bin/h2o ] || want="$want h2o" ;;
        esac
    done
    [ -z "$want" ] && return 0
    log "bench: installing:$want"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo > /dev/null || die "missing:$want (run as root to install them)"
        sudo="sudo"
    fi
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# bench/run.sh: no services started during its install\nexit 101\n' |
            $sudo tee "$policy" > /dev/null
        $sudo chmod 755 "$policy"
        made_policy=1
    fi
    local rc=0
    { $sudo apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            $want > /dev/null; } || rc=$?
    [ "$made_policy" = 1 ] && $sudo rm -f "$policy"
    [ "$rc" = 0 ] || die "apt-get install failed"
}
ensure_packages

# ---------------------------------------------------------------- state and cleanup
TMP=$(mktemp -d /tmp/pluto-bench.XXXXXX)
chmod 755 "$TMP"
declare -A PID=() PORT=() AVAIL=() NOTE=()
CLIENT_PID=""
CGROUPS=()

cleanup() {
    local rc=$? name p
    trap - EXIT INT TERM
    [ -n "$CLIENT_PID" ] && kill -TERM "$CLIENT_PID" 2> /dev/null || true
    for name in "${!PID[@]}"; do
        for p in $(tree_pids "${PID[$name]}"); do kill -TERM "$p" 2> /dev/null || true; done
    done
    local i
    for i in $(seq 50); do
        local alive=0
        for name in "${!PID[@]}"; do
            kill -0 "${PID[$name]}" 2> /dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for name in "${!PID[@]}"; do
        for p in $(tree_pids "${PID[$name]}"); do kill -KILL "$p" 2> /dev/null || true; done
    done
    wait 2> /dev/null || true
    local cg
    for cg in "${CGROUPS[@]}"; do rmdir "$cg" 2> /dev/null || true; done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# PID and all its descendants (nginx: master and worker), from /proc, without forking.
tree_pids() {
    local root=$1 f s pid rest ppid
    [ -d "/proc/$root" ] || return 0
    local -A parent=()
    for f in /proc/[0-9]*/stat; do
        IFS= read -r s 2> /dev/null < "$f" || continue
        pid=${f#/proc/}
        pid=${pid%/stat}
        rest=${s##*) }
        rest=${rest#* }
        ppid=${rest%% *}
        parent[$pid]=$ppid
    done
    local -A seen=([$root]=1)
    local out=$root changed=1
    while [ "$changed" = 1 ]; do
        changed=0
        for pid in "${!parent[@]}"; do
            if [ -z "${seen[$pid]:-}" ] && [ -n "${seen[${parent[$pid]}]:-}" ]; then
                seen[$pid]=1
                out="$out $pid"
                changed=1
            fi
        done
    done
    echo "$out"
}

# utime + stime, in clock ticks, summed over the server's processes.
cpu_ticks() {
    local p sum=0 s
    for p in $(tree_pids "$1"); do
        s=$(cat "/proc/$p/stat" 2> /dev/null) || continue
        s=${s##*) }
        set -- $s
        sum=$((sum + ${12} + ${13}))
    done
    echo "$sum"
}

# VmRSS in kB, summed over the server's processes.
rss_kb() {
    local p sum=0 v
    for p in $(tree_pids "$1"); do
        v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2> /dev/null) || continue
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# ---------------------------------------------------------------- site, tools
SITE="$TMP/site"
sh "$HERE/mksite.sh" "$SITE"
cc -O2 -Wall -o "$TMP/idle_conns" "$HERE/idle_conns.c" || die "cannot build idle_conns"
if has "$SERVERS" ceiling; then
    cc -O2 -Wall -o "$TMP/ceiling.bin" "$HERE/ceiling.c" || die "cannot build ceiling"
fi
if has "$WORKLOADS" small-lean || has "$WORKLOADS" close-lean; then
    cc -O2 -Wall -o "$TMP/load" "$HERE/load.c" -luring || die "cannot build bench/load.c"
fi
CLK_TCK=$(getconf CLK_TCK)

# The fd limit servers start with: 65536, or the hard limit when that is lower.
HARD=$(ulimit -Hn)
if [ "$HARD" = unlimited ] || [ "$HARD" -ge 65536 ]; then FDS=65536; else FDS=$HARD; fi

# ---------------------------------------------------------------- servers
fill() { # template -> stdout
    local user_nginx="" user_h2o=""
    if [ "$(id -u)" -eq 0 ]; then user_nginx="user root;"; user_h2o="user: root"; fi
    local user=$user_nginx
    case "$1" in *h2o*) user=$user_h2o ;; esac
    sed -e "s|@TMP@|$TMP|g" -e "s|@SITE@|$SITE|g" -e "s|@PORT@|$2|g" -e "s|@FDS@|$FDS|g" \
        -e "s|@USER_LINE@|$user|g" "$1"
}

# Where each server runs: core 0, except the `workers` runs' pluto (every core, under a
# CPU quota: see quota_cgroup).
declare -A CPUS=() CGROUP=()

launch() { # name command... : background, fd limit raised, pinned to CPUS[name]
    local name=$1
    shift
    (
        [ -z "${CGROUP[$name]:-}" ] || echo "$BASHPID" > "${CGROUP[$name]}/cgroup.procs"
        unset PLUTO_BACKEND # pluto's default backend is the default, whatever the caller set
        ulimit -n "$FDS" 2> /dev/null || true
        exec taskset -c "${CPUS[$name]:-0}" "$@"
    ) > "$TMP/$name/stdout.log" 2>&1 < /dev/null &
    PID[$name]=$!
}

# A cgroup whose processes share CORES of CPU time (cfs quota over a 10 ms period; `max`:
# no limit), or none when this cannot be done (not root, no cpu controller). Removed at
# exit.
quota_cgroup() { # name cores: sets CGROUP[name] (empty when there is none)
    local dir=""
    CGROUP[$1]=""
    if [ -w /sys/fs/cgroup/cpu ] && [ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
        dir=/sys/fs/cgroup/cpu/pluto-bench-$$-$1 # cgroup v1
    elif [ -w /sys/fs/cgroup ] && grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2> /dev/null; then
        dir=/sys/fs/cgroup/pluto-bench-$$-$1 # cgroup v2, cpu controller already enabled
    else
        return 0
    fi
    mkdir "$dir" 2> /dev/null || return 0
    CGROUPS+=("$dir")
    CGROUP[$1]=$dir
    set_quota "$1" "$2" || CGROUP[$1]=""
}

set_quota() { # name cores|max: the quota of the cgroup CGROUP[name]
    local dir=${CGROUP[$1]} us
    if [ "$2" = max ]; then us=-1; else us=$(awk -v c="$2" 'BEGIN { printf "%d", c * 10000 }'); fi
    if [ -e "$dir/cpu.cfs_quota_us" ]; then
        { echo 10000 > "$dir/cpu.cfs_period_us" && echo "$us" > "$dir/cpu.cfs_quota_us"; } 2> /dev/null
    else
        [ "$us" = -1 ] && us=max
        echo "$us 10000" > "$dir/cpu.max" 2> /dev/null
    fi
}

# A server that cannot start: pluto's columns, the ceiling (or any server on a restart)
# are marked not available and the run goes on; a peer failing at the first start stops
# the run.
not_started() { # name message
    AVAIL[$1]=0
    NOTE[$1]=$2
    case "$1" in pluto* | ceiling) log "$1: not available ($2)"; return 0 ;; esac
    if [ "${RESTART:-0}" = 1 ]; then
        log "$1: not available ($2)"
        return 0
    fi
    die "$1: $2"
}

start_server() { # name port; sets PID[name], PORT[name], AVAIL[name]
    local name=$1 port=$2
    mkdir -p "$TMP/$name"
    PORT[$name]=$port
    if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null; then
        die "port $port is taken (set BASE_PORT)"
    fi
    local pluto=("$PLUTO" serve "$SITE" --bind 127.0.0.1 -p "$port")
    case "$name" in
    pluto*)
        if ! [ -x "$PLUTO" ] || ! "$PLUTO" serve --help > /dev/null 2>&1; then
            not_started "$name" "\`$PLUTO serve --help\` failed"
            return 0
        fi
        # shellcheck disable=SC2086 # PLUTO_FLAGS is a list of words; the last -w wins
        case "$name" in
        pluto) launch "$name" "${pluto[@]}" $PLUTO_FLAGS ;;
        pluto-epoll) launch "$name" "${pluto[@]}" $PLUTO_FLAGS --backend epoll ;;
        pluto-w1) launch "$name" "${pluto[@]}" $PLUTO_FLAGS -w 1 ;;
        pluto-w2) launch "$name" "${pluto[@]}" $PLUTO_FLAGS -w 2 ;;
        esac
        ;;
    ceiling)
        launch ceiling "$TMP/ceiling.bin" "$port"
        ;;
    nginx)
        fill "$HERE/configs/nginx.conf" "$port" > "$TMP/nginx/nginx.conf"
        launch nginx /usr/sbin/nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" \
            -c "$TMP/nginx/nginx.conf"
        ;;
    lighttpd)
        fill "$HERE/configs/lighttpd.conf" "$port" > "$TMP/lighttpd/lighttpd.conf"
        launch lighttpd /usr/sbin/lighttpd -D -f "$TMP/lighttpd/lighttpd.conf"
        ;;
    h2o)
        fill "$HERE/configs/h2o.conf" "$port" > "$TMP/h2o/h2o.conf"
        launch h2o /usr/bin/h2o -c "$TMP/h2o/h2o.conf"
        ;;
    esac
    local i
    for i in $(seq 100); do
        if ! kill -0 "${PID[$name]}" 2> /dev/null; then
            log "bench: $name exited at start:"
            tail -20 "$TMP/$name"/*.log >&2 2> /dev/null || true
            unset "PID[$name]"
            not_started "$name" "exited at start: $(head -1 "$TMP/$name/stdout.log" 2> /dev/null)"
            return 0
        fi
        (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break
        sleep 0.1
    done
    # Every file must come back 200 with its exact length (the ceiling answers every
    # request with the small one).
    local f want got files="small.html:849 64k.bin:65536 10m.bin:10485760"
    [ "$name" = ceiling ] && files="small.html:849"
    for f in $files; do
        want=${f#*:}
        got=$(http_check "$port" "/${f%%:*}") || true
        if [ "$got" != "200 $want" ]; then
            not_started "$name" "GET /${f%%:*} gave '$got', want '200 $want'"
            return 0
        fi
    done
    # pluto's default backend may fall back to epoll (a container that blocks io_uring):
    # then its column is not io_uring, and the table says so.
    if [ "$name" = pluto ] && grep -q 'using epoll' "$TMP/pluto/stdout.log"; then
        PLUTO_FALLBACK=$(grep -m1 'using epoll' "$TMP/pluto/stdout.log")
    fi
    AVAIL[$name]=1
    [ "${RESTART:-0}" = 1 ] || log "bench: $name on 127.0.0.1:$port, pid ${PID[$name]}"
}

stop_server() {
    local name=$1 p i
    [ -n "${PID[$name]:-}" ] || return 0
    for p in $(tree_pids "${PID[$name]}"); do kill -TERM "$p" 2> /dev/null || true; done
    for i in $(seq 50); do
        kill -0 "${PID[$name]}" 2> /dev/null || break
        sleep 0.1
    done
    for p in $(tree_pids "${PID[$name]}"); do kill -KILL "$p" 2> /dev/null || true; done
    wait "${PID[$name]}" 2> /dev/null || true
    unset "PID[$name]"
}

# Prints "STATUS CONTENT-LENGTH" of a GET.
http_check() {
    local fd line status="" len=""
    exec {fd}<> "/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&"$fd"
    IFS= read -r -t 5 line <&"$fd" || { exec {fd}>&-; return 1; }
    status=${line%$'\r'}
    status=${status#* }
    status=${status%% *}
    while IFS= read -r -t 5 line <&"$fd"; do
        line=${line%$'\r'}
        [ -z "$line" ] && break
        case "${line,,}" in content-length:*) len=${line#*:} && len=${len// /} ;; esac
    done
    exec {fd}>&-
    echo "$status $len"
}

# ---------------------------------------------------------------- one run
RAW="$TMP/raw.tsv"
IDLE_RAW="$TMP/idle.tsv"
BUSY_RAW="$TMP/busiest.tsv"
INSTR_RAW="$TMP/instr.tsv"
KV_RAW="$TMP/kv.tsv"
: > "$KV_RAW"
: > "$RAW"
: > "$IDLE_RAW"
: > "$BUSY_RAW"
: > "$INSTR_RAW"

wrk_args() { # workload -> connections, path, extra wrk args
    case "$1" in
    small) echo "100 /small.html -s $HERE/report.lua" ;;
    pipeline) echo "100 /small.html -s $HERE/pipeline.lua" ;;
    64k) echo "50 /64k.bin -s $HERE/report.lua" ;;
    10m) echo "10 /10m.bin -s $HERE/report.lua" ;;
    close | close-cap) echo "50 /small.html -s $HERE/report.lua" ;;
    small-lean) echo "100 /small.html" ;;
    close-lean) echo "50 /small.html" ;;
    workers) echo "100 /small.html -s $HERE/report.lua" ;;
    esac
}

# utime + stime, in clock ticks, of each thread of PID: "TID:TICKS ..."
thread_ticks() {
    local f s tid
    for f in /proc/"$1"/task/*/stat; do
        s=$(cat "$f" 2> /dev/null) || continue
        tid=${f%/stat}
        tid=${tid##*/}
        s=${s##*) }
        set -- $s
        printf '%s:%s ' "$tid" $((${12} + ${13}))
    done
}

# The busiest thread's share (%) of the CPU the threads used between two thread_ticks.
busiest_share() { # before after
    awk -v a="$1" -v b="$2" 'BEGIN {
        n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], kv, ":"); t0[kv[1]] = kv[2] }
        n = split(b, x, " "); for (i = 1; i <= n; i++) {
            split(x[i], kv, ":"); d = kv[2] - t0[kv[1]]; sum += d; if (d > max) max = d
        }
        printf "%.0f", (sum > 0 ? max * 100 / sum : 0) }'
}

# CPU time (ms) of this shell's finished children, into CHILD_MS (no subshell: `times`
# in a subshell would report the subshell's children).
child_cpu_ms() {
    local u s m
    times > "$TMP/times"
    { read -r _ _ && read -r u s; } < "$TMP/times"
    CHILD_MS=0
    for m in "$u" "$s"; do
        local min=${m%%m*} sec=${m#*m}
        sec=${sec%s}
        CHILD_MS=$((CHILD_MS + 10#$min * 60000 + 10#${sec%.*} * 1000 + 10#${sec#*.}))
    done
}

run_wrk() { # round server workload
    local round=$1 name=$2 w=$3 pid=${PID[$2]} port=${PORT[$2]}
    local conns path script
    read -r conns path script <<< "$(wrk_args "$w")"
    local extra=()
    case "$w" in close | close-cap) extra=(-H 'Connection: close') ;; esac
    local after=()
    [ "$w" = pipeline ] && after=(-- 16)
    # The `workers` runs: pluto may use every core (within its quota), and so may wrk,
    # with two threads so that the client is never the limit.
    local wrk_cpus=1 threads=1
    [ "$w" = workers ] && wrk_cpus=$ALL_CPUS threads=2
    local c0 c1 out t0 t1
    c0=$(cpu_ticks "$pid")
    t0=$(thread_ticks "$pid")
    child_cpu_ms
    local w0=$CHILD_MS
    # In the background with `wait`, so that a signal is handled at once.
    case "$w" in
    *-lean)
        local mode=()
        [ "$w" = close-lean ] && mode=(close)
        taskset -c 1 "$TMP/load" 127.0.0.1 "$port" "$path" "$conns" "$DURATION" "${mode[@]}" \
            > "$TMP/wrk.out" 2>&1 &
        ;;
    *)
        taskset -c "$wrk_cpus" wrk -t"$threads" -c"$conns" -d"${DURATION}s" --timeout 5s \
            "${extra[@]}" $script "http://127.0.0.1:$port$path" "${after[@]}" > "$TMP/wrk.out" 2>&1 &
        ;;
    esac
    CLIENT_PID=$!
    wait "$CLIENT_PID" || true
    CLIENT_PID=""
    child_cpu_ms
    local wrk_ms=$((CHILD_MS - w0))
    c1=$(cpu_ticks "$pid")
    t1=$(thread_ticks "$pid")
    [ "$w" = workers ] && printf 'busiest\t%s\t%s\t%s\n' "$round" "$name" \
        "$(busiest_share "$t0" "$t1")" >> "$BUSY_RAW"
    out=$(cat "$TMP/wrk.out")
    local line
    line=$(grep '^WRKRESULT' <<< "$out" | tail -1) || true
    if [ -z "$line" ]; then
        log "bench: the client failed on $name/$w:"
        log "$out"
        return 0
    fi
    set -- $line
    # round server workload requests bytes duration_us connect read write status timeout
    # server_ticks wrk_ms
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$w" \
        "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9" "$((c1 - c0))" "$wrk_ms" >> "$RAW"
    awk -v r="$2" -v b="$3" -v d="$4" -v t="$((c1 - c0))" -v hz="$CLK_TCK" -v wm="$wrk_ms" \
        -v e="$5 $6 $7 $8 $9" -v n="$name" -v w="$w" -v rd="$round" 'BEGIN {
        printf "  round %d %-11s %-8s %9.0f req/s %7.3f GB/s %7.2f us/req  server %3.0f%%  wrk %3.0f%%",
            rd, n, w, r / (d / 1e6), b / (d / 1e6) / 1073741824, r ? t * 1e6 / hz / r : 0,
            t * 100 / hz / (d / 1e6), wm / 10 / (d / 1e6)
        if (e != "0 0 0 0 0") printf "  errors(connect read write status timeout): %s", e
        printf "\n" }' >&2
}

run_idle() { # round server
    # A fresh server for each measurement: one that already held connections keeps their
    # memory in its allocator and would show nothing the second time.
    local round=$1 name=$2 port=${PORT[$2]}
    stop_server "$name"
    sleep 0.5
    RESTART=1 start_server "$name" "$port"
    if [ "${AVAIL[$name]}" != 1 ] || [ -z "${PID[$name]:-}" ]; then
        log "bench: $name did not restart for the idle test"
        AVAIL[$name]=0
        NOTE[$name]="did not restart for the idle test, round $round"
        return 0
    fi
    local pid=${PID[$name]}
    local before after out="$TMP/idle.out" timeout=30
    [ "$IDLE_CONNS" -le 2000 ] && timeout=10
    sleep 0.5
    before=$(rss_kb "$pid")
    taskset -c 1 "$TMP/idle_conns" 127.0.0.1 "$port" "$IDLE_CONNS" /small.html "$timeout" 120 \
        > "$out" 2> "$TMP/idle.err" &
    CLIENT_PID=$!
    local i ready=""
    for i in $(seq $(((timeout + 10) * 10))); do
        ready=$(grep '^ready' "$out" 2> /dev/null) && break
        kill -0 "$CLIENT_PID" 2> /dev/null || break
        sleep 0.1
    done
    sleep 1
    after=$(rss_kb "$pid")
    kill -TERM "$CLIENT_PID" 2> /dev/null || true
    wait "$CLIENT_PID" 2> /dev/null || true
    CLIENT_PID=""
    local held
    held=$(awk '/^held/ { print $2 }' "$out")
    [ -n "$ready" ] || { log "bench: idle_conns failed on $name: $(cat "$TMP/idle.err")"; return 0; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$name" "$IDLE_CONNS" "${held:-0}" \
        "$before" "$after" >> "$IDLE_RAW"
    log "  round $round $name idle: ${held:-0} of $IDLE_CONNS held, RSS $before -> $after kB"
    sleep 1 # let the server reap the closed connections
}

# ---------------------------------------------------------------- the rounds
# How busy the machine is without us: other load makes every figure noisy.
cpu_busy_pct() { # over 1 s, all cores
    local a1 a2 a3 a4 a5 a6 a7 a8 b1 b2 b3 b4 b5 b6 b7 b8
    read -r _ a1 a2 a3 a4 a5 a6 a7 a8 _ < /proc/stat
    sleep 1
    read -r _ b1 b2 b3 b4 b5 b6 b7 b8 _ < /proc/stat
    local total=$(((b1 + b2 + b3 + b4 + b5 + b6 + b7 + b8) - (a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8)))
    local idle=$(((b4 + b5) - (a4 + a5)))
    echo $(((total - idle) * 100 / (total > 0 ? total : 1)))
}
BUSY_START=$(cpu_busy_pct)
BUSY_NOTE=""
if [ "$BUSY_START" -ge 10 ]; then
    BUSY_NOTE="Warning: the machine was ${BUSY_START}% busy before the run started (other processes); figures are noisy."
    log "bench: $BUSY_NOTE"
fi
log "bench: ROUNDS=$ROUNDS LEAN_ROUNDS=$LEAN_ROUNDS DURATION=${DURATION}s IDLE_CONNS=$IDLE_CONNS fd limit $FDS"
log "bench: servers: $SERVERS; workloads: $WORKLOADS"
PLUTO_FALLBACK=""
port=$BASE_PORT
for s in $SERVERS; do
    start_server "$s" "$port"
    port=$((port + 1))
done
RUN=()
for s in $SERVERS; do [ "${AVAIL[$s]}" = 1 ] && RUN+=("$s"); done
[ ${#RUN[@]} -gt 0 ] || die "no server available"

# `workers`: pluto -w 1 and -w 2 may run on every core, but within a CPU quota of
# SCALE_QUOTA cores per worker, so that the client has cores to spare and the ratio
# measures the server's scaling, not the 2-core machine (bench/README.md).
ALL_CPUS=0-$(($(nproc) - 1))
SCALE=()
QUOTA_NOTE=""
if has "$WORKLOADS" workers && has "$SERVERS" pluto; then
    for n in 1 2; do
        CPUS[pluto-w$n]=$ALL_CPUS
        quota_cgroup "pluto-w$n" "$(awk -v q="$SCALE_QUOTA" -v n=$n 'BEGIN { print q * n }')"
        [ -n "${CGROUP[pluto-w$n]}" ] || QUOTA_NOTE="no CPU quota could be set (it needs root and the cgroup cpu controller)"
        start_server "pluto-w$n" "$port"
        port=$((port + 1))
        [ "${AVAIL[pluto-w$n]}" = 1 ] && SCALE+=("pluto-w$n")
    done
    [ -z "$QUOTA_NOTE" ] || log "bench: $QUOTA_NOTE: the workers runs share the machine with wrk"
fi

# `close-cap`: for those runs, each server's processes move into a cgroup of their own
# with a quota of CLOSE_QUOTA cores (still pinned to core 0), and back into this
# script's own cgroup after them. Where wrk's core is the limit of the `close` runs
# (every server spends less CPU per connection than wrk does), this makes the server
# the limit again, as the `workers` runs do.
CAP_NOTE=""
HOME_CG=""
if has "$WORKLOADS" close-cap; then
    for s in "${RUN[@]}"; do
        [ "$s" = ceiling ] && continue
        quota_cgroup "cap-$s" "$CLOSE_QUOTA"
        [ -n "${CGROUP[cap-$s]}" ] ||
            CAP_NOTE="no CPU quota could be set (it needs root and the cgroup cpu controller)"
    done
    if [ -e /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]; then
        HOME_CG=/sys/fs/cgroup/cpu$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ { print $3; exit }' /proc/$$/cgroup)
    else
        HOME_CG=/sys/fs/cgroup$(awk -F: '$1 == "0" { print $3; exit }' /proc/$$/cgroup)
    fi
    [ -z "$CAP_NOTE" ] || log "bench: $CAP_NOTE: the close-cap runs are skipped"
fi

move_to() { # cgroup_dir name: every process of the server into that cgroup
    local p
    for p in $(tree_pids "${PID[$2]}"); do
        echo "$p" > "$1/cgroup.procs" 2> /dev/null || return 1
    done
}

run_capped() { # round server: a close-cap run
    local round=$1 s=$2
    [ -z "$CAP_NOTE" ] || return 0
    if move_to "${CGROUP[cap-$s]}" "$s"; then
        run_wrk "$round" "$s" close-cap
    else
        log "bench: $s could not be moved into its cgroup: no close-cap run"
    fi
    move_to "$HOME_CG" "$s" || log "bench: $s could not be moved back out of its cgroup"
}

# The servers a workload runs on: the ceiling only answers the small file, kept alive.
servers_for() { # workload
    local s
    case "$1" in
    workers) echo "${SCALE[*]}" ;;
    small | small-lean | pipeline) echo "${RUN[*]}" ;;
    *) for s in "${RUN[@]}"; do [ "$s" = ceiling ] || printf '%s ' "$s"; done ;;
    esac
}

# Warm-up (not recorded): caches, lazy allocations.
for s in "${RUN[@]}" "${SCALE[@]}"; do
    taskset -c 1 wrk -t1 -c100 -d1s "http://127.0.0.1:${PORT[$s]}/small.html" > /dev/null 2>&1 || true
done

# The -lean workloads run in every round up to LEAN_ROUNDS, the others up to ROUNDS.
LAST_ROUND=$ROUNDS
for w in $WORKLOADS; do
    case "$w" in *-lean) [ "$LEAN_ROUNDS" -gt "$LAST_ROUND" ] && LAST_ROUND=$LEAN_ROUNDS ;; esac
done
for round in $(seq "$LAST_ROUND"); do
    log "bench: round $round of $LAST_ROUND"
    for w in $WORKLOADS; do
        case "$w" in instr | kv) continue ;; esac
        case "$w" in
        *-lean) [ "$round" -le "$LEAN_ROUNDS" ] || continue ;;
        *) [ "$round" -le "$ROUNDS" ] || continue ;;
        esac
        for s in $(servers_for "$w"); do
            [ "${AVAIL[$s]}" = 1 ] || continue
            if ! kill -0 "${PID[$s]}" 2> /dev/null; then
                log "bench: $s died during $w, round $round:"
                tail -20 "$TMP/$s"/*.log >&2 2> /dev/null || true
                AVAIL[$s]=0
                NOTE[$s]="died during $w, round $round"
                unset "PID[$s]"
                continue
            fi
            case "$w" in
            idle) run_idle "$round" "$s" ;;
            close-cap) run_capped "$round" "$s" ;;
            *) run_wrk "$round" "$s" "$w" ;;
            esac
            sleep 0.3
        done
    done
done

# Instructions per request, under callgrind: deterministic, so run once, after the
# timed runs (valgrind would disturb them).
if has "$WORKLOADS" instr; then
    isrv=""
    [ "${AVAIL[pluto]:-0}" = 1 ] && [ -z "$PLUTO_FALLBACK" ] && isrv="uring"
    [ "${AVAIL[pluto-epoll]:-0}" = 1 ] && isrv="$isrv epoll"
    [ "${AVAIL[ceiling]:-0}" = 1 ] && isrv="$isrv ceiling"
    if [ -n "$isrv" ]; then
        log "bench: instructions per request (callgrind, $INSTR_N requests):$isrv"
        INSTR_N=$INSTR_N INSTR_OUT=$INSTR_RAW INSTR_PORT=$port INSTR_SERVERS=$isrv \
            bash "$HERE/instr.sh" "$PLUTO" >&2 || log "bench: bench/instr.sh failed"
        # A 64 KiB file, kept open by pluto (the ceiling serves no files): rows `NAME-64k`.
        isrv=$(echo "$isrv" | sed 's/ *ceiling//')
        if [ -n "${isrv// /}" ]; then
            INSTR_N=$INSTR_N INSTR_OUT=$INSTR_RAW.64k INSTR_PORT=$port INSTR_SERVERS=$isrv \
                INSTR_FILE=/64k.bin bash "$HERE/instr.sh" "$PLUTO" >&2 ||
                log "bench: bench/instr.sh (64 KiB) failed"
            [ -f "$INSTR_RAW.64k" ] &&
                awk -F'\t' -v OFS='\t' '{ $2 = $2 "-64k"; print }' "$INSTR_RAW.64k" >> "$INSTR_RAW"
        fi
    fi
fi

# Durable writes, pluto's kv machine against Redis (bench/kv.sh): its own servers and
# interleaved rounds, after the others (its fsyncs would disturb them).
if has "$WORKLOADS" kv; then
    log "bench: durable writes (bench/kv.sh): pluto kv against redis, $ROUNDS x ${DURATION} s"
    ROUNDS=$ROUNDS DURATION=$DURATION KV_PORT=$((port + 4)) KV_OUT=$KV_RAW KV_MD=$TMP/kv.md \
        bash "$HERE/kv.sh" "$PLUTO" >&2 &
    CLIENT_PID=$!
    wait "$CLIENT_PID" || log "bench: bench/kv.sh failed"
    CLIENT_PID=""
fi

# ---------------------------------------------------------------- report
mkdir -p "$OUT"
avail_list="" notes=""
for s in $SERVERS; do
    avail_list="$avail_list $s:${AVAIL[$s]}"
    [ -n "${NOTE[$s]:-}" ] && notes="$notes$s=${NOTE[$s]}|"
done
versions="nginx $(/usr/sbin/nginx -v 2>&1 | sed 's|.*/||'), lighttpd $(/usr/sbin/lighttpd -v 2>/dev/null | sed 's|lighttpd/\([^ ]*\).*|\1|'), h2o $(/usr/bin/h2o --version 2>/dev/null | awk 'NR==1 { print $3 }')"
{
    printf 'round\tserver\tworkload\trequests\tbytes\tduration_us\terr_connect\terr_read\terr_write\terr_status\terr_timeout\tserver_cpu_ticks\twrk_cpu_ms\n'
    cat "$RAW"
    printf '\nround\tserver\tidle_conns\theld\trss_before_kb\trss_after_kb\n'
    cat "$IDLE_RAW"
    if [ -s "$BUSY_RAW" ]; then
        printf '\nbusiest\tround\tserver\tbusiest_thread_pct_of_server_cpu\n'
        cat "$BUSY_RAW"
    fi
    if [ -s "$INSTR_RAW" ]; then
        printf '\ninstr\tserver\trequests\tinstructions_warmup_only\tinstructions_with_requests\tper_request\n'
        cat "$INSTR_RAW"
    fi
    if [ -s "$KV_RAW" ]; then
        printf '\nkv\tround\tserver\twrites\tduration_us\terrors\tserver_cpu_ticks\tclient_cpu_ms\n'
        cat "$KV_RAW"
    fi
} > "$OUT/latest-raw.tsv"

awk -F'\t' -v servers="$SERVERS" -v avail="$avail_list" -v notes="$notes" -v hz="$CLK_TCK" \
    -v workloads="$WORKLOADS" -v rounds="$ROUNDS" -v lean_rounds="$LEAN_ROUNDS" -v dur="$DURATION" \
    -v idle_target="$IDLE_CONNS" -v datadir="$TMP" -v busy="$BUSY_NOTE" \
    -v busy_end="$(cpu_busy_pct)" -v fallback="$PLUTO_FALLBACK" -v quota="$SCALE_QUOTA" \
    -v quota_note="$QUOTA_NOTE" -v instr_n="$INSTR_N" -v close_quota="$CLOSE_QUOTA" \
    -v cap_note="$CAP_NOTE" \
    -v header="$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) cores, $versions" \
    -f "$HERE/report.awk" "$RAW" "$IDLE_RAW" "$BUSY_RAW" "$INSTR_RAW" > "$OUT/latest.md"
if [ -s "$TMP/kv.md" ]; then
    printf '\n' >> "$OUT/latest.md"
    cat "$TMP/kv.md" >> "$OUT/latest.md"
fi

# Chart: grouped bars, one panel per unit (req/s, GB/s), one bar per server.
LEAN_TITLE=""
[ "$LEAN_ROUNDS" = "$ROUNDS" ] || ! [[ $WORKLOADS =~ -lean ]] || LEAN_TITLE=" (the lean row: $LEAN_ROUNDS)"
color() {
    case "$1" in
    pluto) echo '#e66101' ;; pluto-epoll) echo '#fdb863' ;; nginx) echo '#4dac26' ;;
    lighttpd) echo '#5e3c99' ;; ceiling) echo '#999999' ;; *) echo '#3b8bc2' ;;
    esac
}
label() {
    case "$1" in
    pluto) [ -n "$PLUTO_FALLBACK" ] && echo 'pluto (auto: epoll)' || echo 'pluto (io_uring)' ;;
    pluto-epoll) echo 'pluto (epoll)' ;; ceiling) echo 'ceiling (fixed response)' ;; *) echo "$1" ;;
    esac
}
chart_ok=0
panels=()
[ -s "$TMP/rps.dat" ] && panels+=("rps.dat|thousand requests per second, 849-byte file|%.0f|1000")
[ -s "$TMP/gbps.dat" ] && panels+=("gbps.dat|GB/s (as wrk: 1 GB = 1024^3 bytes), large files|%.2f|1")
if [ ${#panels[@]} -gt 0 ]; then
    term="pngcairo size $((700 * ${#panels[@]})),560 font 'DejaVu Sans,10'"
    gnuplot -e "set terminal pngcairo" > /dev/null 2>&1 ||
        term="png size $((700 * ${#panels[@]})),560"
    {
        echo "set terminal $term"
        echo "set output '$TMP/latest.png'"
        echo 'set datafile separator "\t"'
        echo 'set style data histograms'
        echo 'set style histogram clustered gap 1'
        echo 'set style fill solid 0.85 border -1'
        echo 'set key below horizontal'
        echo 'set grid ytics'
        echo 'set yrange [0:*]'
        echo "set multiplot layout 1,${#panels[@]} title \"pluto and peers: one worker on core 0, the client (wrk -t1, or bench/load for the lean row) on core 1, medians of $ROUNDS x ${DURATION} s$LEAN_TITLE\""
        for p in "${panels[@]}"; do
            IFS='|' read -r file title yfmt scale <<< "$p"
            IFS=$'\t' read -r -a cols < "$TMP/$file"
            n=$((${#cols[@]} - 1))
            echo "set title \"$title\""
            echo "set format y \"$yfmt\""
            echo "set offsets 0, 0, graph 0.08, 0"
            plot="plot"
            for i in $(seq 2 $((n + 1))); do
                name=${cols[$((i - 1))]}
                plot="$plot '$TMP/$file' skip 1 using (column($i)/$scale):xtic(1) title '$(label "$name")' noenhanced lc rgb '$(color "$name")',"
            done
            for i in $(seq 2 $((n + 1))); do
                plot="$plot '$TMP/$file' skip 1 using (\$0 + ($i - 2 - ($n - 1) / 2.0) / ($n + 1)):(column($i)/$scale):(column($i) > 0 ? sprintf('$yfmt', column($i)/$scale) : '') with labels offset 0,0.6 font ',8' notitle,"
            done
            echo "${plot%,}"
        done
        echo 'unset multiplot'
    } > "$TMP/chart.gp"
    if gnuplot "$TMP/chart.gp" 2> "$TMP/gnuplot.err"; then
        mv "$TMP/latest.png" "$OUT/latest.png"
        chart_ok=1
    else
        log "bench: gnuplot failed:"
        cat "$TMP/gnuplot.err" >&2
    fi
fi

cat "$OUT/latest.md"
echo
[ "$chart_ok" = 1 ] && echo "chart: $OUT/latest.png"
echo "table: $OUT/latest.md (raw runs: $OUT/latest-raw.tsv)"
echo "total time: $(($(date +%s) - T_START)) s"
