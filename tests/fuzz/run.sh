#!/usr/bin/env bash
# run.sh - runs the libFuzzer builds of the fuzz targets (make fuzz).
#
#   tests/fuzz/run.sh BUILD SECONDS [TARGET...]
#
# Runs BUILD/fuzz/TARGET_fuzz for SECONDS each, one after the other (default:
# every target built), starting from its seeds (tests/fuzz/corpus/TARGET, read
# only), its regression inputs (tests/fuzz/regress/TARGET) and what earlier
# runs found (BUILD/fuzz-corpus/TARGET, where new inputs are written), with
# tests/fuzz/dict/TARGET.dict when there is one.  SECONDS 0 only replays those
# inputs once.  A crash, leak, timeout or broken property is written to
# BUILD/fuzz-crashes/TARGET/ (libFuzzer's crash-*, leak-*, timeout-* files).
# Logs: BUILD/fuzz-logs/TARGET.log.  Ends with one line per target:
#   TARGET  N executions in S s  corpus C  ok|FOUND (FILE)
# and exits 1 when any target found something.
set -uo pipefail

die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 2; }

[ $# -ge 2 ] || die "usage: tests/fuzz/run.sh BUILD SECONDS [TARGET...]"
build=$1
seconds=$2
shift 2
case $seconds in '' | *[!0-9]*) die "SECONDS must be a whole number, not \"$seconds\"" ;; esac
srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$srcdir" || exit 2

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for bin in "$build"/fuzz/*_fuzz; do
        [ -x "$bin" ] || continue
        name=${bin##*/}
        targets+=("${name%_fuzz}")
    done
fi
[ ${#targets[@]} -gt 0 ] || die "no fuzz targets in $build/fuzz"

summary=()
found=0
for t in "${targets[@]}"; do
    bin=$build/fuzz/${t}_fuzz
    [ -x "$bin" ] || die "no fuzz target $bin"
    corpus=$build/fuzz-corpus/$t
    crashes=$build/fuzz-crashes/$t
    log=$build/fuzz-logs/$t.log
    mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
    dirs=("$corpus" "tests/fuzz/corpus/$t")
    [ -d "tests/fuzz/regress/$t" ] && dirs+=("tests/fuzz/regress/$t")
    args=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$crashes/"
        -close_fd_mask=3)
    [ -f "tests/fuzz/dict/$t.dict" ] && args+=(-dict="tests/fuzz/dict/$t.dict")
    if [ "$seconds" -eq 0 ]; then
        args+=(-runs=0)
    else
        args+=(-max_total_time="$seconds")
    fi
    printf '==== %s (%s s)\n' "$t" "$seconds"
    before=$(find "$crashes" -type f | wc -l)
    # Errors that pgmedic prints (usage errors, HTTP warnings) would drown
    # libFuzzer's progress lines: they go to the log only.
    "$bin" "${args[@]}" "${dirs[@]}" >"$log" 2>&1
    rc=$?
    grep -E '^#[0-9]+.*(INITED|DONE)|^Done |^(==[0-9]+==)?(ERROR|SUMMARY)|property does not hold' \
        "$log" | tail -6
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    size=$(find "$corpus" -type f | wc -l)
    after=$(find "$crashes" -type f | wc -l)
    if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
        found=1
        newest=$(ls -t "$crashes" 2>/dev/null | head -1)
        result="FOUND (exit $rc${newest:+, $crashes/$newest}; see $log)"
    else
        result=ok
    fi
    summary+=("$(printf '%-14s %10s executions in %4s s  corpus %5s  %s' "$t" "${execs:-?}" \
        "${took:-?}" "$size" "$result")")
done

printf '\n'
printf '%s\n' "${summary[@]}"
exit $found
