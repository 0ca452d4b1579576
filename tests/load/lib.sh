# lib.sh - shared by tests/load/load.sh and tests/load/soak.sh (sourced).
#
# Throwaway PostgreSQL with N databases (scripts/tmp-pg), one pgmedic serve
# watching them, and cleanup of everything started here by PID on exit.
# Every address is 127.0.0.1; ports come from 58000-58499 only (clusters
# 58000-58199, serve 58400-58499).
# The caller sets NAME (for messages) before sourcing.
# shellcheck shell=bash disable=SC2034,SC2153

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PSQL=$PGBIN/psql
TMPPG=$ROOT/scripts/tmp-pg
PGMEDIC=${PGMEDIC:-$ROOT/build/pgmedic}
PG_PORTS=58000-58199
SERVE_PORTS=58400-58499

say() { printf '%s: %s\n' "$NAME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$NAME" "$*" >&2; exit 2; }

[ -x "$PGMEDIC" ] || die "no pgmedic binary at $PGMEDIC (run make, or set PGMEDIC)"
[ -x "$PSQL" ] || die "no psql at $PSQL (make deps)"
command -v curl >/dev/null 2>&1 || die "curl is missing (make deps)"

# As root the server runs as "postgres", which must traverse the work dir.
WORK=$(mktemp -d /tmp/pgmedic-"$NAME".XXXXXX)
chmod 755 "$WORK"
PGT_DIRS=() SERVE_PID=""

stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +eu
    stop_pid "$SERVE_PID"
    local d
    for d in "${PGT_DIRS[@]+"${PGT_DIRS[@]}"}"; do "$TMPPG" stop "$d" >/dev/null 2>&1; done
    if [ "${LOAD_KEEP:-0}" = 1 ]; then say "work directory kept: $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ids N: 01 02 ... N (two digits at least).
ids() { seq -f '%02g' 1 "$1"; }

# start_cluster NDB: one cluster with databases db01..dbNN; sets PGHOST PGPORT.
start_cluster() {
    local n=$1 env i
    env=$("$TMPPG" start --root "$WORK/pg" --port-range "$PG_PORTS" \
        --set max_connections=200 --set log_min_messages=warning) || die "tmp-pg start failed"
    eval "$env" # PGT_DIR PGT_DATA PGT_LOG PGHOST PGPORT PGUSER
    PGT_DIRS+=("$PGT_DIR")
    # CREATE DATABASE cannot run in a transaction block: one -c each.
    for i in $(ids "$n"); do
        "$PSQL" -X -q -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres \
            -c "CREATE DATABASE db$i" || die "CREATE DATABASE db$i failed"
    done
}

# write_conf FILE NDB INTERVAL: serve's configuration, targets t01..tNN.
write_conf() {
    local f=$1 n=$2 interval=$3 i
    mkdir -p "$WORK/store"
    {
        printf '[pgmedic]\nstore = %s\ninterval = %s\nconnect_timeout = 5s\nquery_timeout = 10s\n' \
            "$WORK/store/pgmedic.db" "$interval"
        for i in $(ids "$n"); do
            printf '\n[target t%s]\nconninfo = host=%s port=%s user=postgres dbname=db%s\n' \
                "$i" "$PGHOST" "$PGPORT" "$i"
        done
    } >"$f"
}

free_port() {
    local lo=${SERVE_PORTS%-*} hi=${SERVE_PORTS#*-} p
    for _ in $(seq 1 100); do
        p=$((lo + RANDOM % (hi - lo + 1)))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    die "no free port in $SERVE_PORTS"
}

# start_serve CONF NTARGETS: serve on a free port, waits until every target
# is up; sets SERVE_PID SERVE_PORT SERVE_URL SERVE_LOG.
# A port free a moment ago may be taken by then (the kernel's ephemeral
# ports include this range: a client socket of an earlier run in TIME_WAIT
# is enough): serve exits at once, and another port is tried, 5 in all.
start_serve() {
    local conf=$1 n=$2 deadline=$((SECONDS + 60)) tries=0
    SERVE_LOG=$WORK/serve.log
    while :; do
        SERVE_PORT=$(free_port)
        SERVE_URL=http://127.0.0.1:$SERVE_PORT
        "$PGMEDIC" serve -c "$conf" --listen "127.0.0.1:$SERVE_PORT" >"$SERVE_LOG" 2>&1 &
        SERVE_PID=$!
        until [ "$(ups)" = "$n" ] || ! kill -0 "$SERVE_PID" 2>/dev/null ||
            [ $SECONDS -ge $deadline ]; do sleep 0.1; done
        kill -0 "$SERVE_PID" 2>/dev/null && break
        wait "$SERVE_PID" || true
        SERVE_PID=""
        tries=$((tries + 1))
        if ! grep -q 'could not listen' "$SERVE_LOG" || [ $tries -ge 5 ]; then
            cat "$SERVE_LOG" >&2
            die "pgmedic serve exited"
        fi
    done
    [ "$(ups)" = "$n" ] || { cat "$SERVE_LOG" >&2; die "not every target up after 60 s"; }
}

# ups: how many targets /metrics reports up.
ups() {
    curl -sf --max-time 10 "$SERVE_URL/metrics" 2>/dev/null |
        awk '/^pgmedic_up\{/ && $NF == 1 { n++ } END { print n + 0 }'
}

# metrics_sums FILE: "up probes errors minprobes" from a /metrics body.
metrics_sums() {
    awk '/^pgmedic_up\{/ && $NF == 1 { up++ }
        /^pgmedic_probes_total\{/ { p += $NF; if (min == "" || $NF < min) min = $NF }
        /^pgmedic_probe_errors_total\{/ { e += $NF }
        END { printf "%d %d %d %d\n", up, p, e, min }' "$1"
}

# proc_sample PID: "rss_kb fds threads".
proc_sample() {
    local rss thr fds
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
    thr=$(awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
    fds=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    [ -n "$rss" ] || return 1
    echo "$rss $fds $thr"
}

# backends: client backends serve holds on the cluster (application_name pgmedic).
backends() {
    "$PSQL" -X -At -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -c \
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgmedic'"
}

# serve_problems: serve's log lines at level warning or error.
serve_problems() { grep -E 'level=(warning|error)' "$SERVE_LOG" || true; }

# stop_serve: SIGTERM; sets SERVE_EXIT (the exit status, or "killed" past 10 s).
stop_serve() {
    local i
    kill "$SERVE_PID" 2>/dev/null || true
    for i in $(seq 1 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVE_PID" 2>/dev/null; then
        kill -KILL "$SERVE_PID" 2>/dev/null
        wait "$SERVE_PID" 2>/dev/null
        SERVE_EXIT=killed
    else
        wait "$SERVE_PID"
        SERVE_EXIT=$?
    fi
    SERVE_PID=""
}

# check OK TEXT...: one verdict line; a failed one clears PASS.
PASS=1
check() {
    local ok=$1
    shift
    if [ "$ok" = 1 ]; then printf '  [ok] %s\n' "$*"; else printf '  [FAIL] %s\n' "$*"; PASS=0; fi
}
