#!/bin/sh
# mksite.sh DIR — the files `make bench` serves:
#   small.html  849 bytes (an HTML page; index.html is the same bytes, for "/")
#   64k.bin     65,536 bytes
#   10m.bin     10,485,760 bytes
# The binaries are pseudo-random (from /dev/urandom) so nothing can compress them.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir"

# An 849-byte page: a fixed head and tail with the body padded to the exact size.
head='<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Pluto bench</title></head>
<body>
<h1>Pluto static file benchmark</h1>
<p>'
tail='</p>
</body>
</html>
'
fixed=$(printf '%s%s' "$head" "$tail" | wc -c)
pad=$((849 - fixed))
{
    printf '%s' "$head"
    # lorem text, cut to the exact length the page needs
    yes 'The quick brown fox jumps over the lazy dog.' | head -c "$pad" | tr '\n' ' '
    printf '%s' "$tail"
} > "$dir/small.html"
cp "$dir/small.html" "$dir/index.html"

head -c 65536 /dev/urandom > "$dir/64k.bin"
head -c 10485760 /dev/urandom > "$dir/10m.bin"

for f in small.html:849 64k.bin:65536 10m.bin:10485760; do
    n=$(wc -c < "$dir/${f%%:*}")
    [ "$n" -eq "${f#*:}" ] || { echo "mksite: ${f%%:*} is $n bytes, want ${f#*:}" >&2; exit 1; }
done
chmod 755 "$dir"
chmod 644 "$dir"/*
