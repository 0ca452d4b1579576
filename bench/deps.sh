#!/usr/bin/env bash
# bench/deps.sh - install what the benchmark needs that is missing (Debian).
#
# Only packages that are not installed ("ii ") are passed to apt-get; nothing
# already present is upgraded (never touch postgresql-15 under running
# clusters).  As root apt-get runs directly, otherwise through sudo when it is
# available; without either it prints the command to run and fails.
set -euo pipefail

PKGS=(hyperfine check-postgres prometheus-postgres-exporter time curl jq strace)

missing=()
for p in "${PKGS[@]}"; do
    [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)" = "ii " ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd=(apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}")
echo "bench/deps.sh: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive "${cmd[@]}"
elif command -v sudo >/dev/null 2>&1; then
    sudo DEBIAN_FRONTEND=noninteractive "${cmd[@]}"
else
    echo "bench/deps.sh: not root and no sudo; as root run: ${cmd[*]}" >&2
    exit 1
fi
