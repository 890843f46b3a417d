#!/usr/bin/env bash
# test_walk.sh — black-box tests of `pluto walk` on a real directory tree.
#
#   tests/blackbox/test_walk.sh BUILD_DIR        (e.g. build)
#
# Builds, in a mktemp -d removed on exit, a tree of 20,000 regular files: 200
# directories of 99 files (sizes: empty, small, and 64..256 KiB), a chain of 100
# nested directories, empty directories, names with spaces, a leading dot and a
# newline, and 255 bytes, and things that must not be counted: symlinks to a file, to a directory
# above (a loop if followed) and to nowhere, and a FIFO (opening it would block).
# The expected totals come from `find -type f` and `stat`. Then checks the exact
# `files N bytes M` line under `ulimit -n 256` with the default, 1 and 500 jobs,
# and the exit codes for errors. Every run is bounded by `timeout`. Prints
# `ok - ...` / `not ok - ...` per check and `N passed, N failed`; exits 1 when any
# check failed. About 5-20 s, most of it creating the files. A directory whose
# names exceed 2 MiB must be walked too (it is read one page at a time).
set -u

BUILD=${1:-build}
PLUTO=$(cd "$(dirname "$BUILD/pluto")" 2>/dev/null && pwd)/pluto

. "$(dirname "$0")/../lib/report.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pluto-walk.XXXXXX")
cleanup() { chmod -R u+rwx "$TMP" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

need_pluto

# ---- the tree ---------------------------------------------------------------------
# Sizes come from bash's $RANDOM with a fixed seed; files are written with builtins
# only (printf, :), no process per file.
T=$TMP/tree
RANDOM=1234
mkfile() {      # mkfile PATH: a file of a pseudo-random size
    local r=$((RANDOM % 100))
    if [ "$r" -lt 10 ]; then
        : >"$1"                                                     # empty
    elif [ "$r" -lt 12 ]; then
        printf '%*s' $((65536 + RANDOM * 6)) x >"$1"                # 64..256 KiB
    else
        printf '%*s' $((RANDOM % 5000 + 1)) y >"$1"                 # 1..5000 bytes
    fi
}
mkdir -p "$T"
for d in $(seq -w 0 19); do
    for s in $(seq 0 9); do
        dir=$T/d$d/s$s
        mkdir -p "$dir"
        for f in $(seq 0 98); do mkfile "$dir/f$f"; done
    done
done
mkdir -p "$T/empty/also empty" "$T/deep"
deep=$T/deep
for i in $(seq 100); do
    deep=$deep/n$i
    mkdir "$deep"
    [ "$i" -le 98 ] && mkfile "$deep/a" && mkfile "$deep/b"      # 200 x 99 + 196
done
printf '%*s' 70000 z >"$deep/bottom"                              # + the bottom
printf 'spaces\n' >"$T/d00/a file with spaces"                     # + spaces
printf 'newline\n' >"$T/d01/.hidden new"$'\n'"line"                # + a dot, a newline
printf 'long\n' >"$T/d02/$(printf 'L%.0s' $(seq 255))"             # = 20,000 files
ln -s ../d00/s0/f1 "$T/d03/link to file"
ln -s ../.. "$T/d04/s4/loop"
ln -s nowhere "$T/d05/dangling"
mkfifo "$T/d06/fifo"

files=$(find "$T" -type f -printf . | wc -c)
bytes=$(find "$T" -type f -exec stat -c %s {} + | awk '{ s += $1 } END { print s + 0 }')
want="files $files bytes $bytes"
echo "# tree: $want"
check "the generated tree has 20000 regular files" [ "$files" -eq 20000 ]

# walk LIMIT ARGS...: `pluto walk ARGS` under `ulimit -n LIMIT`, at most 60 s;
# sets RC, OUT and ERR.
walk() {
    local limit=$1; shift
    { (ulimit -n "$limit" && exec timeout -k 5 60 "$PLUTO" walk "$@") \
        >"$TMP/out" 2>"$TMP/err"; } 2>/dev/null      # no "Aborted" from bash itself
    RC=$?
    OUT=$(cat "$TMP/out")
    ERR=$(cat "$TMP/err")
}

# expect_totals WHAT LIMIT ARGS...: exit 0, exactly "$want" on stdout, no stderr.
expect_totals() {
    local what=$1 start ms; shift
    start=$(date +%s%N)
    walk "$@"
    ms=$((($(date +%s%N) - start) / 1000000))
    echo "# $what: exit $RC, '$OUT' in $ms ms"
    [ -n "$ERR" ] && echo "$ERR" | sed 's/^/# stderr: /'
    check "$what: exits 0 (got $RC)" [ "$RC" -eq 0 ]
    check "$what: prints '$want'" [ "$OUT" = "$want" ]
    check "$what: nothing on stderr" [ -z "$ERR" ]
}

expect_totals "walk DIR (ulimit -n 256)" 256 "$T"
expect_totals "walk DIR --jobs 1 (ulimit -n 256)" 256 "$T" --jobs 1
expect_totals "walk DIR --jobs 500 (ulimit -n 256)" 256 "$T" --jobs 500
expect_totals "walk --jobs 8 DIR/ (ulimit -n 32)" 32 --jobs 8 "$T/"
expect_totals "walk DIR --jobs 100000 (ulimit -n 64)" 64 "$T" --jobs 100000

# ---- one directory with more than 2 MiB of names ---------------------------------
# 9,000 empty files with 250-byte names: 9,000 x 252 bytes = 2.2 MB of entries,
# more than a task's private memory may hold (PL_MEM_MAX): walk must page.
must() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
B=$TMP/bigdir
mkdir -p "$B/names"
long=$(printf 'n%.0s' $(seq 244))
for i in $(seq 10000 18999); do : >"$B/names/${long}_$i"; done
walk 256 "$B"
echo "# walk BIGDIR: exit $RC, '$OUT'${ERR:+, stderr: $ERR}"
must "walk of a directory with 2.2 MB of names: exits 0 (got $RC)" [ "$RC" -eq 0 ]
must "walk of a directory with 2.2 MB of names: prints 'files 9000 bytes 0'" \
    [ "$OUT" = "files 9000 bytes 0" ]

# ---- errors -----------------------------------------------------------------------
# expect_error WHAT CODE STDERR_PATTERN ARGS...
expect_error() {
    local what=$1 code=$2 pat=$3; shift 3
    walk 256 "$@"
    check "$what: exits $code (got $RC)" [ "$RC" -eq "$code" ]
    check "$what: says why on stderr" grep -qiE -- "$pat" "$TMP/err"
}

expect_error "walk MISSING" 1 "nonexistent.*no such file" "$TMP/nonexistent"
check "walk MISSING: prints nothing on stdout" [ -z "$OUT" ]
expect_error "walk FILE (not a directory)" 1 "not a directory" "$T/d00/s0/f0"
expect_error "walk (no DIR)" 2 "usage"
check "walk (no DIR): prints nothing on stdout" [ -z "$OUT" ]
expect_error "walk --jobs 0 DIR" 2 "jobs" --jobs 0 "$T"
expect_error "walk DIR --jobs (no number)" 2 "jobs" "$T" --jobs
expect_error "walk DIR --jobs many" 2 "jobs" "$T" --jobs many
expect_error "walk DIR --bogus" 2 "bogus" "$T" --bogus
expect_error "walk DIR OTHER" 2 "unexpected" "$T" "$T"

# Unreadable entries: a file and a directory nobody may read. root reads them
# anyway, so as root the walk runs as nobody (setpriv), or the check is skipped.
U=$TMP/unreadable
mkdir -p "$U/sub" "$U/closed"
printf 'secret\n' >"$U/sub/secret"
printf 'fine\n' >"$U/fine"
chmod -R a+rX "$U"
as=()
why=
if [ "$(id -u)" -eq 0 ]; then
    chmod 755 "$TMP"
    for g in nogroup nobody; do
        if setpriv --reuid=nobody --regid="$g" --clear-groups true 2>/dev/null; then
            as=(setpriv --reuid=nobody --regid="$g" --clear-groups)
            break
        fi
    done
    if [ "${#as[@]}" -eq 0 ]; then
        why="running as root, and setpriv cannot switch to nobody"
    elif ! "${as[@]}" test -x "$PLUTO" -a -r "$U/fine"; then
        why="running as root, and nobody cannot reach $PLUTO or $U"
    fi
fi
# run_u ARGS...: pluto walk ARGS as the unprivileged user; sets RC.
run_u() {
    { (ulimit -n 256 && exec timeout -k 5 60 "${as[@]}" "$PLUTO" walk "$@") \
        >"$TMP/out" 2>"$TMP/err"; } 2>/dev/null
    RC=$?
}
if [ -z "$why" ]; then
    chmod 000 "$U/sub/secret"
    run_u "$U"
    check "walk with a chmod 000 file: exits 1 (got $RC)" [ "$RC" -eq 1 ]
    check "walk with a chmod 000 file: says so on stderr" \
        grep -q "could not be read" "$TMP/err"
    chmod 644 "$U/sub/secret" && chmod 000 "$U/closed"
    run_u "$U"
    check "walk with a chmod 000 directory: exits 1 (got $RC)" [ "$RC" -eq 1 ]
    chmod 755 "$U/closed"
    run_u "$U"
    check "walk of the same tree made readable: exits 0 (got $RC)" [ "$RC" -eq 0 ]
    check "walk of the same tree made readable: prints 'files 2 bytes 12'" \
        grep -qx "files 2 bytes 12" "$TMP/out"
else
    skip "walk with a chmod 000 file: exits 1 ($why)"
fi

finish
