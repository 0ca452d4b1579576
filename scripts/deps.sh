#!/usr/bin/env bash
# deps.sh - installs the Debian packages pgmedic needs to build and test that
# are missing, and nothing else.  Does nothing when all are present.
# (bench/deps.sh does the same for the benchmark's tools.)
#
# Never installs postgresql-15 over an existing one: a newer candidate would
# upgrade the server under running clusters (see shared/FACTS.md).
set -euo pipefail

packages=(gcc make pkg-config libpq-dev libsqlite3-dev libcmocka-dev libmicrohttpd-dev libcurl4-openssl-dev
    libjansson-dev libinih-dev postgresql-15 postgresql-client-15 util-linux
    curl openssl prometheus prometheus-alertmanager libncurses-dev tmux chromium mandoc)
# Targets outside make check name theirs: scripts/deps.sh clang libclang-rt-14-dev (make fuzz),
# scripts/deps.sh valgrind (make valgrind, make torture).
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" != "ii " ]; then
        missing+=("$p")
    fi
done

# install PKG...: apt-get install, as root or through sudo.
install() {
    echo "deps.sh: installing missing packages: $*" >&2
    if [ "$(id -u)" -eq 0 ]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "deps.sh: error: missing packages and not root: $*" >&2
        echo "deps.sh: hint: Run as root: apt-get install $*" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt_get=("${sudo[@]}" apt-get -q -y -o DPkg::Lock::Timeout=300)
    # A fresh machine may have empty package lists.
    if ! "${apt_get[@]}" install --no-install-recommends "$@" >/dev/null; then
        "${sudo[@]}" apt-get -q -o DPkg::Lock::Timeout=300 update >/dev/null
        "${apt_get[@]}" install --no-install-recommends "$@" >/dev/null
    fi
}

[ ${#missing[@]} -eq 0 ] || install "${missing[@]}" || exit 1

# Optional: postgresql-server-dev-15 carries libpgcommon/libpgport, which let
# the Makefile link libpq statically (faster start, a third less memory).  It
# is installed only when that upgrades nothing already installed: it must
# match libpq-dev's version, and pulling a newer libpq-dev would also upgrade
# postgresql-15 under any running cluster.
optional=postgresql-server-dev-15
if [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$optional" 2>/dev/null)" != "ii " ] &&
    { [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null 2>&1; }; then
    if apt-get -s install --no-install-recommends "$optional" 2>/dev/null |
        grep -q "^Inst $optional " &&
        ! apt-get -s install --no-install-recommends "$optional" 2>/dev/null |
        grep -qE '^Inst [^ ]+ \['; then
        install "$optional" ||
            echo "deps.sh: note: libpq will be linked shared; installing $optional failed" >&2
    else
        echo "deps.sh: note: libpq will be linked shared; $optional would upgrade installed PostgreSQL packages" >&2
    fi
fi

