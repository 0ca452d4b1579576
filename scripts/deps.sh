#!/usr/bin/env bash
# deps.sh - installs the Debian packages pgmedic needs to build and test that
# are missing, and nothing else.  Does nothing when all are present.
# (bench/deps.sh does the same for the benchmark's tools.)
#
# Never installs postgresql-15 over an existing one: a newer candidate would
# upgrade the server under running clusters (see shared/FACTS.md).
set -euo pipefail

packages=(gcc make pkg-config libpq-dev libsqlite3-dev libcmocka-dev libmicrohttpd-dev
    libjansson-dev libinih-dev postgresql-15 postgresql-client-15 util-linux)

missing=()
for p in "${packages[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" != "ii " ]; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps.sh: installing missing packages: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "deps.sh: error: missing packages and not root: ${missing[*]}" >&2
    echo "deps.sh: hint: Run as root: apt-get install ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt_get=("${sudo[@]}" apt-get -q -y -o DPkg::Lock::Timeout=300)
# A fresh machine may have empty package lists.
if ! "${apt_get[@]}" install --no-install-recommends "${missing[@]}" >/dev/null; then
    "${sudo[@]}" apt-get -q -o DPkg::Lock::Timeout=300 update >/dev/null
    "${apt_get[@]}" install --no-install-recommends "${missing[@]}" >/dev/null
fi
