#!/bin/sh
# deps.sh — install the Debian packages the build and the tests need, when missing.
set -e
PKGS="build-essential clang libclang-rt-14-dev libxxhash-dev libcriterion-dev liburing-dev chromium
      pkg-config curl strace jq"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
