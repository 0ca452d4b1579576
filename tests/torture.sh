#!/usr/bin/env bash
# torture.sh - the long tests, run before a release (`make torture`;
# docs/TORTURE.md says what each one checks and how to read it).
#
#   tests/torture.sh VALGRIND_BUILD LOAD_BUILD [valgrind|load|soak]...
#
# In turn, never at the same time (each measures the machine):
#   valgrind  tests/valgrind.sh VALGRIND_BUILD: the unit and integration
#             suites with every test binary and pgmedic process under
#             valgrind (about 18 min)
#   load      tests/load/load.sh with LOAD_BUILD/pgmedic: serve, 10 targets,
#             50 concurrent scrapers for 60 s (about 2 min)
#   soak      tests/load/soak.sh with LOAD_BUILD/pgmedic: 10,000 probe cycles
#             of a live serve after a warm-up (about 4 min)
# (all three when none is named).  Each one's whole output goes to
# LOAD_BUILD/torture/NAME.log and is shown as it runs; then a summary, one
# line each, and "torture: PASS" or "torture: FAIL".  Exits 1 when any failed.
set -uo pipefail

die() { printf 'torture.sh: error: %s\n' "$*" >&2; exit 2; }

[ $# -ge 2 ] || die "usage: tests/torture.sh VALGRIND_BUILD LOAD_BUILD [valgrind|load|soak]..."
srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
vg_build=$1 load_build=$2
shift 2
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(valgrind load soak)
case $load_build in /*) ;; *) load_build=$srcdir/$load_build ;; esac
out=$load_build/torture
mkdir -p "$out"

declare -A result took detail
for part in "${parts[@]}"; do
    case $part in
        valgrind) cmd=("$srcdir/tests/valgrind.sh" "$vg_build") ;;
        load) cmd=(env PGMEDIC="$load_build/pgmedic" SCRAPE="$load_build/tests/load/scrape"
            "$srcdir/tests/load/load.sh") ;;
        soak) cmd=(env PGMEDIC="$load_build/pgmedic" "$srcdir/tests/load/soak.sh") ;;
        *) die "unknown part \"$part\" (valgrind, load or soak)" ;;
    esac
    printf '\n######## torture: %s\n' "$part"
    start=$SECONDS
    (cd "$srcdir" && "${cmd[@]}") 2>&1 | tee "$out/$part.log"
    rc=${PIPESTATUS[0]}
    took[$part]=$((SECONDS - start))
    if [ "$rc" -eq 0 ]; then result[$part]=PASS; else result[$part]="FAIL (exit $rc)"; fi
    log=$out/$part.log
    case $part in
        valgrind)
            detail[$part]="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1); $(grep '^valgrind: ' "$log" | tail -1 | sed 's/^valgrind: //; s/ (reports.*//')" ;;
        load)
            detail[$part]="$(awk '/^requests: / { r = $2 } /^errors: / { e = $2 }
                /^latency ms, all:/ { l = "p50 " $5 " ms, p99 " $9 " ms" }
                /RSS growth after/ { g = $0; sub(/.*\(/, "", g); sub(/\).*/, "", g) }
                /^server open fds:/ { f = $0; sub(/.*before /, "", f); sub(/,.*after /, " -> ", f) }
                END { printf "%s requests, %s errors, %s; RSS %s; fds %s", r, e, l, g, f }' "$log")" ;;
        soak)
            detail[$part]="$(awk '/^cycles: / { c = $2 " cycles in " $4 " s" }
                /RSS growth over/ { g = $0; sub(/.*\(/, "", g); sub(/\).*/, "", g) }
                /open fds constant:/ { f = $0; sub(/.*open fds constant: /, "", f); sub(/;.*/, "", f) }
                /probe errors: / { e = $0; sub(/.*probe errors: /, "", e); sub(/;.*/, "", e) }
                END { printf "%s, %s probe errors; RSS %s; fds %s", c, e, g, f }' "$log")" ;;
    esac
done

printf '\n######## torture summary (logs in %s)\n' "${out#"$srcdir"/}"
pass=1
for part in "${parts[@]}"; do
    printf '%-9s %-16s %4d s  %s\n' "$part" "${result[$part]}" "${took[$part]}" "${detail[$part]}"
    [ "${result[$part]}" = PASS ] || pass=0
done
if [ $pass = 1 ]; then echo "torture: PASS"; else echo "torture: FAIL"; exit 1; fi
