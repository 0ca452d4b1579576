#!/usr/bin/env bash
# valgrind.sh - the unit and integration suites with every test binary and
# every pgmedic process under valgrind (`make valgrind`).
#
#   tests/valgrind.sh BUILD_DIR [unit|integration|all]
#
# BUILD_DIR is a plain (not sanitized) build, e.g. build-valgrind (-O1 -g).
# Runs tests/run.sh with
#   PGMEDIC_TEST_WRAPPER=tests/valgrind-exec   each test binary under valgrind
#   PGMEDIC_TEST_BIN=<a two-line script>        what the integration tests run
#                                               as pgmedic: valgrind-exec on
#                                               BUILD_DIR/pgmedic
#   PGMEDIC_SLOW (default 10)                   the harness scales its waits
#                                               and the tests their upper time
#                                               bounds by it
#   PGMEDIC_TEST_TIMEOUT (default 3600)         per test binary
# and then reads every valgrind report (one file per process, under
# BUILD_DIR/valgrind/): a process with an error (invalid read or write, use of
# an uninitialised value, a bad free, a definite leak) is printed in full.
# PGMEDIC_VG_ONLY=REGEX runs only the test binaries whose name matches
# (tests/run.sh's PGMEDIC_TEST_ONLY; names are unit/core/rules_test,
# integration/serve_test...), e.g. "^unit/|serve|probe_job".
# Ends with run.sh's "N passed, N failed" line followed by
#   valgrind: N processes checked, N with errors
# and exits 1 when a test failed or a process had an error.
set -uo pipefail

die() { printf 'valgrind.sh: error: %s\n' "$*" >&2; exit 2; }

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: tests/valgrind.sh BUILD_DIR [unit|integration|all]"
command -v valgrind >/dev/null 2>&1 || die "valgrind is not installed (apt-get install valgrind)"
srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$1
case $build in /*) ;; *) build=$srcdir/$build ;; esac
[ -x "$build/pgmedic" ] || die "no pgmedic in \"$1\" (make BUILD=$1 tests first)"

logs=$build/valgrind
rm -rf "$logs"
mkdir -p "$logs/reports"
# The server runs as "postgres" when we are root, and pgmedic may be run by
# tests as another user: the report directory is writable by everyone.
chmod 1777 "$logs/reports"

# What the integration tests exec as pgmedic: a program path, no arguments.
# The harness drops every PG* variable from a child's environment, so the
# script names the report directory itself.
cat >"$logs/pgmedic" <<EOF
#!/bin/sh
PGMEDIC_VG_LOGS='$logs/reports' PGMEDIC_VG_OPTS='${PGMEDIC_VG_OPTS:-}' \\
    exec "$srcdir/tests/valgrind-exec" "$build/pgmedic" "\$@"
EOF
chmod 755 "$logs/pgmedic"

export PGMEDIC_VG_LOGS=$logs/reports
export PGMEDIC_TEST_WRAPPER=$srcdir/tests/valgrind-exec
export PGMEDIC_TEST_BIN=$logs/pgmedic
export PGMEDIC_SLOW=${PGMEDIC_SLOW:-10}
export PGMEDIC_TEST_TIMEOUT=${PGMEDIC_TEST_TIMEOUT:-3600}
[ -n "${PGMEDIC_VG_ONLY:-}" ] && export PGMEDIC_TEST_ONLY=$PGMEDIC_VG_ONLY

"$srcdir/tests/run.sh" "$build" "${2:-all}"
rc=$?

# Every report: a process with an error says "ERROR SUMMARY: N" with N > 0.
# A report without that line is of a process that was killed (a daemon
# stopped with SIGKILL, a test's timeout): it is counted, not judged.
checked=0 bad=0 killed=0
shopt -s nullglob
for f in "$logs"/reports/*.log; do
    checked=$((checked + 1))
    grep -q 'ERROR SUMMARY:' "$f" || killed=$((killed + 1))
    if grep -q 'ERROR SUMMARY: [1-9]' "$f"; then
        bad=$((bad + 1))
        printf '\n==== valgrind: %s\n' "${f#"$logs"/}"
        # The command line, then the errors (valgrind's "==PID== " prefix dropped).
        sed -n 's/^==[0-9]*== //p' "$f" | sed -n '/^Command:/p; /^Parent PID/,$p' | head -200
    fi
done
printf 'valgrind: %d processes checked, %d with errors, %d killed before their summary (reports in %s)\n' \
    "$checked" "$bad" "$killed" "${logs#"$srcdir"/}/reports"
[ "$rc" -eq 0 ] && [ "$bad" -eq 0 ]
