#!/bin/bash
# test_install.sh BUILD — `make install` into a staging root, then build the
# README's "Writing your own server" example against it with pkg-config and
# check that the server it makes echoes, live, over a real socket.
set -u
BUILD=${1:-build}
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
no() { echo "not ok - $1"; fail=$((fail + 1)); }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

if make --no-print-directory -s install BUILD="$BUILD" PREFIX=/usr DESTDIR="$tmp/root" \
        >"$tmp/install.log" 2>&1; then
    ok "make install into DESTDIR"
else
    no "make install into DESTDIR"; cat "$tmp/install.log"
fi
for f in usr/bin/pluto usr/lib/libpluto.a usr/include/pluto/pluto.h \
         usr/lib/pkgconfig/pluto.pc usr/share/man/man1/pluto.1; do
    [ -e "$tmp/root/$f" ] && ok "installed $f" || no "installed $f"
done

# The README's example, verbatim.
sed -n '/^## Writing your own server/,/^## Tests/p' README.md |
    awk '/^```c$/ {on=1; next} /^```$/ {on=0} on' > "$tmp/myserver.c"
export PKG_CONFIG_PATH="$tmp/root/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
cc=${CC:-cc} san=""
if nm "$tmp/root/usr/lib/libpluto.a" 2>/dev/null | grep -q __asan_; then
    cc=clang san="-fsanitize=address,undefined"     # the library of `make asan`
fi
if $cc $san "$tmp/myserver.c" $(pkg-config --cflags --libs pluto) -o "$tmp/myserver" \
        2>"$tmp/cc.log"; then
    ok "README example builds with pkg-config"
else
    no "README example builds with pkg-config"; cat "$tmp/cc.log"
fi

if [ -x "$tmp/myserver" ]; then
    "$tmp/myserver" >"$tmp/out.log" 2>&1 &
    pid=$!
    got=""
    for _ in $(seq 50); do
        if { exec 3<>/dev/tcp/127.0.0.1/9000; } 2>/dev/null; then
            printf 'ping' >&3
            read -r -t 2 -n 4 got <&3
            exec 3>&-
            break
        fi
        sleep 0.1
    done
    if [ "$got" = "ping" ]; then ok "the example server echoes"
    else no "the example server echoes (got '$got')"; fi
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
    "$tmp/myserver" --version | grep -q "myserver 1.0" && ok "the example gets --version" \
        || no "the example gets --version"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
