#!/usr/bin/env bash
# run.sh - run every unit and integration test binary and sum the results.
#
#   tests/run.sh BUILD_DIR [unit|integration|all]
#
# Runs every executable BUILD_DIR/tests/unit/**/*_test, then every
# BUILD_DIR/tests/integration/*_test (or only one kind), showing their output,
# each with a deadline of $PGMEDIC_TEST_TIMEOUT seconds (default 900).
# Integration tests get a private cluster root (PGMEDIC_TEST_TMP), stopped and
# removed on exit, the source directory (PGMEDIC_SRCDIR) and the binary under
# test (PGMEDIC_BIN: BUILD_DIR/pgmedic, or $PGMEDIC_TEST_BIN when set).
# For tests/valgrind.sh: $PGMEDIC_TEST_WRAPPER (when set) is put before each
# test binary, and $PGMEDIC_TEST_ONLY (an extended regex, when set) runs only
# the binaries whose name (integration/serve_test) matches.
# Sums cmocka's "[  PASSED  ] N test(s)." and "[  FAILED  ] N test(s)" lines;
# a binary that crashes or prints no summary counts as one failure.  Ends
# with exactly one line "N passed, N failed"; exits 1 when anything failed.
set -uo pipefail

die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 2; }

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    die "usage: tests/run.sh BUILD_DIR [unit|integration|all]"
fi
what=${2:-all}
case $what in unit | integration | all) ;; *) die "unrecognized suite \"$what\"" ;; esac

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$1
case $build in /*) ;; *) build=$srcdir/$build ;; esac
[ -d "$build" ] || die "no build directory \"$1\""

# Not under /root and traversable by "postgres": the server runs as that user
# when we are root (see scripts/tmp-pg), so root ignores TMPDIR.
tmpbase=${TMPDIR:-/tmp}
[ "$(id -u)" -eq 0 ] && tmpbase=/tmp
tmp=$(mktemp -d "$tmpbase/pgmedic-test.XXXXXX") ||
    die "could not create a temporary directory"
chmod 755 "$tmp"
cleanup() {
    "$srcdir/scripts/tmp-pg" stop-all "$tmp" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export PGMEDIC_TEST_TMP=$tmp
# pgmedic keeps samples and its audit log under $HOME: tests get their own.
export HOME=$tmp/home
mkdir -p "$HOME"
export PGMEDIC_SRCDIR=$srcdir
export PGMEDIC_BIN=${PGMEDIC_TEST_BIN:-$build/pgmedic}

passed=0
failed=0
failures=()
start=$(date +%s.%N)

# Parses one binary's output (file $1, exit code $2, name $3).
tally() {
    local log=$1 rc=$2 name=$3 summary
    # awk prints: passed failed, then one failing test name per line.
    summary=$(awk -v bin="$name" -v rc="$rc" '
        /^\[==========\] Running [0-9]+ test\(s\)\./ { running = $3; open = 1; last = ""; next }
        /^\[ RUN      \] / { last = $4; next }
        /^\[==========\] [0-9]+ test\(s\) run\./ {
            if (open && running > $2) {
                f += running - $2
                names[bin ": " running - $2 " test(s) not run (group setup failed)"] = 1
            }
            open = 0; next }
        /^\[  PASSED  \] [0-9]+ test\(s\)\./ { p += $4; next }
        /^\[  FAILED  \] [0-9]+ test\(s\)/ { f += $4; next }
        /^\[  FAILED  \] / { n = $0; sub(/^\[  FAILED  \] /, "", n); names[bin ": " n] = 1; next }
        END {
            if (open) {
                f += 1
                why = rc == 124 ? "timed out" : "crashed"
                names[bin ": " why (last != "" ? " in " last : "")] = 1
            }
            printf "%d %d\n", p, f
            for (k in names) print k
        }' "$log")
    local p f
    local -a names
    read -r p f <<<"$(head -1 <<<"$summary")"
    mapfile -t names < <(tail -n +2 <<<"$summary" | sed '/^$/d' | sort)
    if ! grep -q '^\[==========\] [0-9]* test(s) run\.' "$log"; then
        if [ "$f" -eq 0 ]; then f=1; names+=("$name: no test summary (exit $rc)"); fi
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        names+=("$name: exit $rc after all tests passed")
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    failures+=("${names[@]+"${names[@]}"}")
}

run_dir() {
    local kind=$1 bin log rc any=0 name
    local -a bins=()
    # Unit tests mirror the source tree (tests/unit/core/rules_test), so look
    # below the directory too.
    [ -d "$build/tests/$kind" ] &&
        mapfile -t bins < <(find "$build/tests/$kind" -type f -name '*_test' -perm -u+x |
            LC_ALL=C sort)
    for bin in "${bins[@]+"${bins[@]}"}"; do
        any=1
        name=$kind/${bin#"$build/tests/$kind/"}
        [ -z "${PGMEDIC_TEST_ONLY:-}" ] || [[ $name =~ $PGMEDIC_TEST_ONLY ]] || continue
        printf '\n==== %s\n' "$name"
        log=$tmp/${name//\//_}.log
        (cd "$srcdir" && timeout -k 10 "${PGMEDIC_TEST_TIMEOUT:-900}" \
            ${PGMEDIC_TEST_WRAPPER:+"$PGMEDIC_TEST_WRAPPER"} "$bin") 2>&1 | tee "$log"
        rc=${PIPESTATUS[0]}
        [ "$rc" -eq 124 ] && printf '[  ERROR   ] %s timed out\n' "$name" | tee -a "$log"
        tally "$log" "$rc" "$name"
    done
    [ $any -eq 1 ] || printf '\n==== no %s test binaries in %s\n' "$kind" "$build/tests/$kind"
}

[ "$what" = integration ] || run_dir unit
[ "$what" = unit ] || run_dir integration

end=$(date +%s.%N)
printf '\n'
if [ ${#failures[@]} -gt 0 ]; then
    printf 'failing tests:\n'
    printf '  %s\n' "${failures[@]}"
fi
awk -v s="$start" -v e="$end" 'BEGIN { printf "time: %.1f s\n", e - s }'
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
