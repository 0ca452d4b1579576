#!/usr/bin/env bash
# bench/run.sh - pgmedic side by side with psql, check_postgres and
# postgres_exporter on a throwaway PostgreSQL 15 under load.
#
#   bench/run.sh [small|large|all]        (default: all)
#
# Environment:
#   PGMEDIC=path      the pgmedic binary (default build/pgmedic; skipped if absent)
#   BENCH_RUNS=N      hyperfine runs of the fast commands (default 30)
#   BENCH_SLOW_RUNS=N hyperfine runs of each check_postgres action (default 5)
#   BENCH_OUT=DIR     where the results go (default bench/results)
#   BENCH_KEEP=1      keep the work directory (server logs, hyperfine JSON, straces)
#
# Everything started here (cluster, load generator, exporter) is stopped by
# PID and the work directory removed on exit, also on error or ^C.
# Needs: hyperfine, check_postgres, prometheus-postgres-exporter, curl, jq,
# strace, /usr/bin/time (bench/deps.sh installs them).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
# The real psql, not Debian's pg_wrapper (a Perl script that costs ~20 ms per
# start): for the floor, the SQL file and the psql that check_postgres runs.
export PATH=$PGBIN:$PATH
PSQL=$PGBIN/psql
TMPPG=$ROOT/scripts/tmp-pg
PGMEDIC=${PGMEDIC:-$ROOT/build/pgmedic}
RUNS=${BENCH_RUNS:-30}
SLOW_RUNS=${BENCH_SLOW_RUNS:-5}
OUT=${BENCH_OUT:-$BENCH/results}
PORTS=56000-56999
ACCT_RUNS=5     # runs per tool for statements/connections/RSS (medians)
PHASE_RUNS=15   # strace-timed runs for the time breakdown

say() { printf '%s\n' "bench: $*" >&2; }
die() { printf '%s\n' "bench: error: $*" >&2; exit 1; }

scenario=${1:-all}
case $scenario in
    small) sizes=(small) ;;
    large) sizes=(large) ;;
    all) sizes=(small large) ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown scenario \"$scenario\" (small, large or all)" ;;
esac

for tool in hyperfine check_postgres prometheus-postgres-exporter curl jq strace /usr/bin/time "$PSQL"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing: run bench/deps.sh"
done

WORK=$(mktemp -d /tmp/pgmedic-bench.XXXXXX)
chmod 755 "$WORK"
PGT_DIR="" LOAD_PID="" LOAD_PIDS="" EXP_PID="" STRACE_PID=""

stop_scenario() {
    local pid
    for pid in "$STRACE_PID" "$EXP_PID"; do
        [ -n "$pid" ] || continue
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    STRACE_PID="" EXP_PID=""
    if [ -n "$LOAD_PID" ]; then
        kill -TERM "$LOAD_PID" 2>/dev/null || true
        # It cancels its queries and closes its sessions; a wedged one is killed.
        for _ in $(seq 1 50); do kill -0 "$LOAD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$LOAD_PID" 2>/dev/null || true
        wait "$LOAD_PID" 2>/dev/null || true
        LOAD_PID=""
    fi
    if [ -n "$PGT_DIR" ]; then
        "$TMPPG" stop "$PGT_DIR" || true
        PGT_DIR=""
    fi
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +eu
    stop_scenario
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        say "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- build
mkdir -p "$ROOT/build/bench"
LOADGEN=$ROOT/build/bench/loadgen
if [ ! -x "$LOADGEN" ] || [ "$BENCH/loadgen.c" -nt "$LOADGEN" ]; then
    # libs after the source: Debian links with --as-needed.
    # shellcheck disable=SC2046
    cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
        $(pkg-config --cflags libpq) -o "$LOADGEN" "$BENCH/loadgen.c" $(pkg-config --libs libpq)
fi
# Run private copies: a `make clean` or rebuild during the run changes nothing.
cp "$LOADGEN" "$WORK/loadgen"
LOADGEN=$WORK/loadgen

have_pgmedic=0 have_triage=0
if [ -x "$PGMEDIC" ]; then
    have_pgmedic=1
    PGMEDIC_SRC=$PGMEDIC
    cp "$PGMEDIC" "$WORK/pgmedic"
    PGMEDIC=$WORK/pgmedic
    "$PGMEDIC" triage --help >/dev/null 2>&1 && have_triage=1
    # pgmedic check records a sample in its store on every run: a store of
    # the bench's own, so the runs write to it (and are timed doing so) but
    # the user's ~/.local/state/pgmedic/pgmedic.db is left alone.
    mkdir -p "$WORK/store"
    printf '[pgmedic]\nstore = %s\n' "$WORK/store/pgmedic.db" >"$WORK/pgmedic.conf"
    export PGMEDIC_CONFIG=$WORK/pgmedic.conf
else
    say "no pgmedic binary at $PGMEDIC (run make): measuring the other tools only"
fi

# ---------------------------------------------------------------- helpers
free_port() {
    local lo=${PORTS%-*} hi=${PORTS#*-} p
    for _ in $(seq 1 100); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    die "no free port in $PORTS"
}

# One statement, so it shows up once in pg_stat_statements; the marker keeps
# it out of its own sums.
stat_snap() {
    "$PSQL" -X -At -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -c \
        "SELECT coalesce(sum(calls), 0) || ' ' || round(coalesce(sum(total_exec_time), 0)::numeric, 3)
           AS bench_probe_marker
         FROM pg_stat_statements WHERE query NOT LIKE '%bench_probe_marker%'"
}
log_conns() { grep -c 'connection authorized' "$PGT_LOG" || true; }

# account NAME CMD... : run CMD ACCT_RUNS times, each between two snapshots;
# append the medians of the per-run statements, new connections and server
# execution ms, and the peak RSS (KB) to acct.tsv.  The exporter's RSS is
# its daemon's VmHWM (CMD is only curl).
account() {
    local name=$1; shift
    local s0 s1 c0 c1 rss=0 m i
    : >"$WORK/acct.runs"
    for i in $(seq 1 "$ACCT_RUNS"); do
        s0=$(stat_snap); c0=$(log_conns)
        /usr/bin/time -f %M -o "$WORK/rss" "$@" >/dev/null 2>&1 || true
        c1=$(log_conns); s1=$(stat_snap)
        m=$(tail -1 "$WORK/rss")
        [ "$m" -gt "$rss" ] && rss=$m
        echo "$s0 $s1 $c0 $c1" >>"$WORK/acct.runs"
    done
    [ "$name" = exporter ] && rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$EXP_PID/status")
    awk -v n="$name" -v rss="$rss" '
        function med(x, k,    i, j, t) {
            for (i = 2; i <= k; i++) { t = x[i]; j = i - 1
                while (j >= 1 && x[j] > t) { x[j + 1] = x[j]; j-- } x[j + 1] = t }
            return (k % 2) ? x[(k + 1) / 2] : (x[k / 2] + x[k / 2 + 1]) / 2
        }
        { st[NR] = $3 - $1; ex[NR] = $4 - $2; cn[NR] = $6 - $5 }
        END { printf "%s\t%g\t%g\t%.2f\t%d\n", n, med(st, NR), med(cn, NR), med(ex, NR), rss }
    ' "$WORK/acct.runs" >>"$WORK/acct.tsv"
}

STRACE_SET=connect,read,write,sendto,recvfrom,sendmsg,recvmsg
# roundtrips NAME CMD... : connections and query round trips of one run.
roundtrips() {
    local name=$1; shift
    strace -f -yy -s 0 -qq -e trace=$STRACE_SET -o "$WORK/strace.$name" "$@" >/dev/null 2>&1 || true
    awk -f "$BENCH/roundtrips.awk" "$WORK/strace.$name" |
        awk -v n="$name" '{ printf "%s\t%d\t%d\n", n, $2, $6 }' >>"$WORK/rt.tsv"
}

# phases NAME CMD... : median time breakdown of PHASE_RUNS straced runs.
phases() {
    local name=$1; shift
    local i
    : >"$WORK/phases.$name"
    for i in $(seq 1 "$PHASE_RUNS"); do
        strace -f -ttt -T -yy -s 0 -qq --seccomp-bpf \
            -e trace=execve,connect,write,sendto,recvfrom,exit_group \
            -o "$WORK/pstrace" "$@" >/dev/null 2>&1 || true
        awk -f "$BENCH/phases.awk" "$WORK/pstrace" >>"$WORK/phases.$name"
    done
    # columns: start connect prep server client output total (ms); medians
    awk -v n="$name" '
        { for (i = 1; i <= NF; i++) v[i, NR] = $i; nf = NF }
        END {
            printf "%s", n
            for (i = 1; i <= nf; i++) {
                m = 0
                for (r = 1; r <= NR; r++) a[r] = v[i, r]
                # insertion sort; NR is small
                for (r = 2; r <= NR; r++) { x = a[r]; j = r - 1
                    while (j >= 1 && a[j] > x) { a[j + 1] = a[j]; j-- } a[j + 1] = x }
                m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
                printf "\t%.2f", m
            }
            printf "\n"
        }' "$WORK/phases.$name" >>"$WORK/phases.tsv"
}

# ---------------------------------------------------------------- gate
# wait_clients N: polls until the server holds exactly N client backends
# besides the poller, then waits for the poller's own backend to exit, so a
# session that was just closed cannot skew the gate.  30 s at most; after
# that the gate reports whatever pgmedic sees.
wait_clients() {
    local want=$1 deadline=$((SECONDS + 30)) n pid
    while :; do
        read -r n pid < <("$PSQL" -X -At -F ' ' -c "
            SELECT count(*) FILTER (WHERE pid <> pg_backend_pid()), pg_backend_pid()
            FROM pg_stat_activity WHERE backend_type = 'client backend'") || n=-1 pid=0
        for _ in $(seq 1 200); do [ -d "/proc/$pid" ] || break; sleep 0.01; done
        [ "$n" = "$want" ] && return 0
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

# gate SIZE WHEN: the correctness gate.  pgmedic snapshot against the load
# that loadgen reported in $LOAD_PIDS (bench/gate.jq lists the checks); on
# any difference it prints them and exits non-zero: the benchmark measures a
# correct probe or nothing.
gate() {
    local size=$1 when=$2 rc=0 diffs snap=$WORK/gate.$1.${2// /-}.json
    wait_clients "$(jq '.sessions | length' "$LOAD_PIDS")" ||
        say "[$size] the server does not hold exactly the load's sessions after 30 s; checking anyway"
    "$PGMEDIC" snapshot -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres >"$snap" 2>"$WORK/gate.err" || rc=$?
    if [ $rc -ne 0 ]; then
        cat "$WORK/gate.err" >&2
        die "[$size] correctness gate $when: pgmedic snapshot exited $rc"
    fi
    diffs=$(jq -r --slurpfile load "$LOAD_PIDS" -f "$BENCH/gate.jq" "$snap" 2>&1) ||
        diffs="pgmedic snapshot's output is not the JSON gate.jq expects: $diffs"
    if [ -n "$diffs" ]; then
        printf 'bench:   %s\n' "${diffs//$'\n'/$'\n'bench:   }" >&2
        die "[$size] correctness gate $when: FAIL, the snapshot is not the load (differences above); the benchmark measures a correct probe or nothing"
    fi
    say "[$size] correctness gate $when: pass ($(jq -r --slurpfile load "$LOAD_PIDS" '
        .connections as $c | "\($c.clients) clients: \($c.idle) idle, \($c.idle_in_transaction) idle in transaction, "
        + "\($c.active) active, \($c.waiting_lock) waiting on a lock; \($load[0].chains | length) chain(s) of 4 as built, "
        + "\([.groups[].count] | add) sessions in \(.groups | length) groups"' "$snap"))"
    echo "$when" >>"$WORK/gate.$size"
}

# pgss SIZE NAME CMD... : CMD's statements as the server sees them:
# pg_stat_statements_reset(), 10 runs, then every statement by mean
# execution time, into pgss.SIZE.NAME.tsv.
pgss() {
    local size=$1 name=$2 i; shift 2
    "$PSQL" -X -q -c 'SELECT pg_stat_statements_reset()' >/dev/null
    for i in $(seq 1 10); do "$@" >/dev/null 2>&1 || true; done
    "$PSQL" -X -At -F $'\t' -c "
        SELECT calls, round(mean_exec_time::numeric, 3), round(max_exec_time::numeric, 3),
               rows / greatest(calls, 1),
               left(regexp_replace(query, '\s+', ' ', 'g'), 110)
        FROM pg_stat_statements
        WHERE query NOT LIKE '%pg_stat_statements_reset%'
        ORDER BY mean_exec_time DESC" >"$WORK/pgss.$size.$name.tsv"
}

fmt_ms() { awk -v s="$1" 'BEGIN { ms = s * 1000; if (ms >= 100) printf "%.0f", ms; else if (ms >= 10) printf "%.1f", ms; else printf "%.2f", ms }'; }

# ---------------------------------------------------------------- scenario
run_size() {
    local size=$1 idle idle_tx chains active tables
    case $size in
        small) idle=50 idle_tx=5 chains=1 active=3 tables=200 ;;
        large) idle=800 idle_tx=80 chains=16 active=48 tables=10000 ;;
    esac
    : >"$WORK/acct.tsv"; : >"$WORK/rt.tsv"; : >"$WORK/phases.tsv"

    say "[$size] starting PostgreSQL 15"
    local env
    env=$("$TMPPG" start --root "$WORK/pg" --port-range "$PORTS" \
        --set max_connections=1200 \
        --set "shared_preload_libraries='pg_stat_statements'" \
        --set pg_stat_statements.max=10000 \
        --set shared_buffers=128MB \
        --set log_statement=none \
        --set log_connections=on \
        --set log_min_messages=warning)
    eval "$env"
    export PGHOST PGPORT PGUSER=postgres PGDATABASE=postgres
    "$PSQL" -X -q -c 'CREATE EXTENSION pg_stat_statements'

    say "[$size] creating $tables tables with dead tuples"
    local half=$((tables / 2))
    "$PSQL" -X -q -v first=1 -v last=$half -f "$BENCH/tables.sql" &
    local t1=$!
    "$PSQL" -X -q -v first=$((half + 1)) -v last=$tables -f "$BENCH/tables.sql" &
    local t2=$!
    wait "$t1" || die "table creation failed"
    wait "$t2" || die "table creation failed"

    say "[$size] opening $((idle + idle_tx + chains * 4 + active)) sessions"
    local t0=$SECONDS line
    LOAD_PIDS=$WORK/load.$size.json
    rm -f "$LOAD_PIDS"
    coproc LG { exec "$LOADGEN" --idle "$idle" --idle-in-tx "$idle_tx" --chains "$chains" --active "$active" \
        --pids "$LOAD_PIDS"; }
    LOAD_PID=$LG_PID
    read -r -t 300 line <&"${LG[0]}" || die "load generator did not get ready"
    case $line in ready*) ;; *) die "load generator: $line" ;; esac
    # Queries and lock waits past the runbook's 5 s when measuring.
    local left=$((7 - (SECONDS - t0)))
    [ $left -gt 0 ] && sleep $left

    # Before anything is timed: is the probe right about this load?
    : >"$WORK/gate.$size"
    if [ $have_pgmedic = 1 ]; then gate "$size" "before timing"; fi

    local exp_port
    exp_port=$(free_port)
    DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=postgres dbname=postgres sslmode=disable" \
        prometheus-postgres-exporter --web.listen-address="127.0.0.1:$exp_port" \
        >"$WORK/exporter.log" 2>&1 &
    EXP_PID=$!
    local url=http://127.0.0.1:$exp_port/metrics deadline=$((SECONDS + 30))
    until curl -sf "$url" 2>/dev/null | grep -q '^pg_up 1'; do
        [ $SECONDS -lt $deadline ] || { cat "$WORK/exporter.log" >&2; die "postgres_exporter not up after 30 s"; }
        kill -0 "$EXP_PID" 2>/dev/null || { cat "$WORK/exporter.log" >&2; die "postgres_exporter exited"; }
        sleep 0.2
    done

    local conn=(-h "$PGHOST" -p "$PGPORT" -U postgres -d postgres)
    local cpconn=(--host="$PGHOST" --port="$PGPORT" --dbuser=postgres --dbname=postgres)
    local -a names=() cmds=()
    names+=(floor);  cmds+=("$PSQL -X -c 'select 1' ${conn[*]}")
    names+=(psql-sql); cmds+=("$PSQL -X -q -f $BENCH/triage.sql ${conn[*]}")
    names+=(exporter); cmds+=("curl -s -o /dev/null $url")
    if [ $have_pgmedic = 1 ]; then
        names+=(pgmedic-check); cmds+=("$PGMEDIC check ${conn[*]} --format json")
        names+=(pgmedic-snapshot); cmds+=("$PGMEDIC snapshot ${conn[*]}")
        if [ $have_triage = 1 ]; then
            names+=(pgmedic-triage); cmds+=("$PGMEDIC triage ${conn[*]} --format json")
        fi
    fi
    local -a cp_names=(backends locks query_time txn_idle txn_time last_vacuum last_analyze bloat wal_files)
    local -a cp_args=("" "" "--warning=5s --critical=5m" "--warning=5s --critical=5m"
        "--warning=5s --critical=5m" "" "" "" "--warning=100 --critical=200")

    local -a hf=()
    local i
    for i in "${!names[@]}"; do hf+=(-n "${names[$i]}" "${cmds[$i]}"); done
    say "[$size] timing ${names[*]} ($RUNS runs each)"
    hyperfine -N -i --warmup 3 --runs "$RUNS" --style none \
        --export-json "$WORK/fast.$size.json" "${hf[@]}" >/dev/null 2>"$WORK/hyperfine.log" ||
        { cat "$WORK/hyperfine.log" >&2; die "hyperfine failed"; }
    hf=()
    for i in "${!cp_names[@]}"; do
        hf+=(-n "cp-${cp_names[$i]}" "check_postgres --action=${cp_names[$i]} ${cpconn[*]} ${cp_args[$i]}")
    done
    say "[$size] timing check_postgres, 9 actions ($SLOW_RUNS runs each)"
    hyperfine -N -i --warmup 1 --runs "$SLOW_RUNS" --style none \
        --export-json "$WORK/cp.$size.json" "${hf[@]}" >/dev/null 2>"$WORK/hyperfine.log" ||
        { cat "$WORK/hyperfine.log" >&2; die "hyperfine failed"; }

    say "[$size] counting statements, connections, round trips, memory"
    for i in "${!names[@]}"; do
        # shellcheck disable=SC2086
        if [ "${names[$i]}" = exporter ]; then
            account exporter curl -s -o /dev/null "$url"
            strace -f -p "$EXP_PID" -yy -s 0 -qq -e trace=$STRACE_SET -o "$WORK/strace.exporter" 2>/dev/null &
            STRACE_PID=$!
            sleep 1
            curl -s -o /dev/null "$url"
            sleep 0.3
            kill "$STRACE_PID" 2>/dev/null || true
            wait "$STRACE_PID" 2>/dev/null || true
            STRACE_PID=""
            awk -v attach=1 -f "$BENCH/roundtrips.awk" "$WORK/strace.exporter" |
                awk '{ printf "exporter\t%d\t%d\n", $2, $6 }' >>"$WORK/rt.tsv"
        else
            eval "account ${names[$i]} ${cmds[$i]}"
            eval "roundtrips ${names[$i]} ${cmds[$i]}"
        fi
    done
    if [ $have_pgmedic = 1 ]; then
        # The memory of loading pgmedic and libpq's libraries, doing nothing.
        /usr/bin/time -f %M -o "$WORK/rss" "$PGMEDIC" --help >/dev/null 2>&1 || true
        tail -1 "$WORK/rss" >"$WORK/rss.libs"
    fi
    for i in "${!cp_names[@]}"; do
        eval "account cp-${cp_names[$i]} check_postgres --action=${cp_names[$i]} ${cpconn[*]} ${cp_args[$i]}"
        eval "roundtrips cp-${cp_names[$i]} check_postgres --action=${cp_names[$i]} ${cpconn[*]} ${cp_args[$i]}"
    done

    if [ $have_pgmedic = 1 ]; then
        say "[$size] where the time goes ($PHASE_RUNS straced runs each)"
        phases floor "$PSQL" -X -c 'select 1' "${conn[@]}"
        phases psql-sql "$PSQL" -X -q -f "$BENCH/triage.sql" "${conn[@]}"
        phases pgmedic-check "$PGMEDIC" check "${conn[@]}" --format json
        phases pgmedic-snapshot "$PGMEDIC" snapshot "${conn[@]}"
        if [ $have_triage = 1 ]; then phases pgmedic-triage "$PGMEDIC" triage "${conn[@]}" --format json; fi
        # pgmedic's statements as the server sees them.
        pgss "$size" check "$PGMEDIC" check "${conn[@]}" --format json
        pgss "$size" snapshot "$PGMEDIC" snapshot "${conn[@]}"
        if [ $have_triage = 1 ]; then pgss "$size" triage "$PGMEDIC" triage "${conn[@]}" --format json; fi

        # And after: the load is still in place and the probe still right.
        # The exporter's connection is not the load's: it goes first.
        kill "$EXP_PID" 2>/dev/null || true
        wait "$EXP_PID" 2>/dev/null || true
        EXP_PID=""
        gate "$size" "after timing"
    fi

    report_size "$size" "$(( idle + idle_tx + chains * 4 + active ))" "$tables" "$chains"
    stop_scenario
}

# ---------------------------------------------------------------- report
# Joins hyperfine medians, accounting and round trips into the size's table.
report_size() {
    local size=$1 sessions=$2 tables=$3 chains=$4
    local f=$WORK/report.$size.md
    jq -r '.results[] | [.command, .median, .min, .max] | @tsv' "$WORK/fast.$size.json" >"$WORK/times.tsv"
    jq -r '.results[] | [.command, .median, .min, .max] | @tsv' "$WORK/cp.$size.json" >>"$WORK/times.tsv"
    # check_postgres: the 9 actions summed (medians, mins and maxes summed).
    local sum
    sum=$(awk -F'\t' '$1 ~ /^cp-/ { m += $2; lo += $3; hi += $4 } END { printf "check_postgres\t%f\t%f\t%f", m, lo, hi }' \
        "$WORK/times.tsv")
    echo "$sum" >>"$WORK/times.tsv"
    sum=$(awk -F'\t' 'BEGIN { OFS = "\t" } $1 ~ /^cp-/ { s += $2; c += $3; e += $4; if ($5 > r) r = $5 }
        END { print "check_postgres", s, c, e, r }' "$WORK/acct.tsv")
    echo "$sum" >>"$WORK/acct.tsv"
    sum=$(awk -F'\t' 'BEGIN { OFS = "\t" } $1 ~ /^cp-/ { c += $2; q += $3 } END { print "check_postgres", c, q }' \
        "$WORK/rt.tsv")
    echo "$sum" >>"$WORK/rt.tsv"

    {
        printf '## %s: %d client sessions, %d lock chain(s), %d tables\n\n' "$size" "$sessions" "$chains" "$tables"
        if [ -s "$WORK/gate.$size" ]; then
            # shellcheck disable=SC2016 # markdown backquotes
            printf 'Correctness gate (`bench/gate.jq`: `pgmedic snapshot` against the sessions, states, groups and lock chains loadgen built), %s: **passed**.\n\n' \
                "$(paste -sd, "$WORK/gate.$size" | sed 's/,/ and /g')"
        fi
        printf '| tool | median ms | min–max ms | peak RSS MB | statements/run | connections/run | query round trips/run | server exec ms/run |\n'
        printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
        local n label
        for n in floor psql-sql check_postgres exporter pgmedic-check pgmedic-snapshot pgmedic-triage; do
            grep -q "^$n"$'\t' "$WORK/times.tsv" || continue
            case $n in
                floor) label="psql -c 'select 1' (floor)" ;;
                psql-sql) label="psql -f triage.sql" ;;
                check_postgres) label="check_postgres, 9 actions summed" ;;
                exporter) label="postgres_exporter, one scrape" ;;
                *) label="pgmedic ${n#pgmedic-}" ;;
            esac
            row "$n" "$label"
        done
        printf '\n'
        if [ $have_pgmedic = 1 ]; then
            local fl sq cp ex ck
            fl=$(med floor) sq=$(med psql-sql) cp=$(med check_postgres) ex=$(med exporter) ck=$(med pgmedic-check)
            printf '| ratio (medians) | value |\n|---|---:|\n'
            awk -v fl="$fl" -v sq="$sq" -v cp="$cp" -v ex="$ex" -v ck="$ck" 'BEGIN {
                printf "| pgmedic check / floor | %.2f× |\n", ck / fl
                printf "| pgmedic check / psql triage SQL | %.2f× |\n", ck / sq
                printf "| check_postgres / pgmedic check | %.1f× |\n", cp / ck
                printf "| exporter scrape / pgmedic check | %.2f× |\n", ex / ck
            }'
            if grep -q '^pgmedic-triage' "$WORK/times.tsv"; then
                awk -v fl="$fl" -v sq="$sq" -v cp="$cp" -v tr="$(med pgmedic-triage)" 'BEGIN {
                    printf "| pgmedic triage / floor | %.2f× |\n", tr / fl
                    printf "| pgmedic triage / psql triage SQL | %.2f× |\n", tr / sq
                    printf "| check_postgres / pgmedic triage | %.1f× |\n", cp / tr
                }'
            fi
            printf '\n'
            targets "$size" "$fl" "$sq" "$cp" "$ck"
            printf '\nWhere the time goes (median of %d runs under strace, ms; strace adds a little to each traced syscall):\n\n' "$PHASE_RUNS"
            printf '| command | process start | connect | before pipeline | server + transfer | client work | output + exit | total |\n'
            printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
            awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$WORK/phases.tsv"
            local cmd
            for cmd in check snapshot triage; do
                [ -f "$WORK/pgss.$size.$cmd.tsv" ] || continue
                printf '\npgmedic %s'"'"'s statements on the server (pg_stat_statements over 10 runs, slowest first):\n\n' "$cmd"
                printf '| calls | mean ms | max ms | rows | statement |\n|---:|---:|---:|---:|---|\n'
                awk -F'\t' '{ q = $5; gsub(/\|/, "\\|", q); printf "| %s | %s | %s | %s | `%s` |\n", $1, $2, $3, $4, q }' \
                    "$WORK/pgss.$size.$cmd.tsv"
            done
            printf '\n'
        fi
        printf 'check_postgres by action:\n\n| action | median ms | min–max ms | peak RSS MB | statements | connections | query round trips |\n|---|---:|---:|---:|---:|---:|---:|\n'
        local a
        for a in backends locks query_time txn_idle txn_time last_vacuum last_analyze bloat wal_files; do
            row_cp "cp-$a" "$a"
        done
        printf '\n'
    } >"$f"
}

med() { awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$WORK/times.tsv"; }

row() {
    local n=$1 label=$2 t a r
    t=$(awk -F'\t' -v n="$n" '$1 == n { print $2, $3, $4 }' "$WORK/times.tsv")
    a=$(awk -F'\t' -v n="$n" '$1 == n { print $2, $3, $4, $5 }' "$WORK/acct.tsv")
    r=$(awk -F'\t' -v n="$n" '$1 == n { print $3 }' "$WORK/rt.tsv")
    set -- $t
    local md=$1 lo=$2 hi=$3
    set -- $a
    printf '| %s | %s | %s–%s | %s | %s | %s | %s | %s |\n' "$label" "$(fmt_ms "$md")" "$(fmt_ms "$lo")" "$(fmt_ms "$hi")" \
        "$(awk -v k="${4:-0}" 'BEGIN { printf "%.1f", k / 1024 }')" "${1:-?}" "${2:-?}" "${r:-?}" "${3:-?}"
}

row_cp() {
    local n=$1 label=$2 t a r
    t=$(awk -F'\t' -v n="$n" '$1 == n { print $2, $3, $4 }' "$WORK/times.tsv")
    a=$(awk -F'\t' -v n="$n" '$1 == n { print $2, $3, $5 }' "$WORK/acct.tsv")
    r=$(awk -F'\t' -v n="$n" '$1 == n { print $3 }' "$WORK/rt.tsv")
    set -- $t
    local md=$1 lo=$2 hi=$3
    set -- $a
    printf '| %s | %s | %s–%s | %s | %s | %s | %s |\n' "$label" "$(fmt_ms "$md")" "$(fmt_ms "$lo")" "$(fmt_ms "$hi")" \
        "$(awk -v k="${3:-0}" 'BEGIN { printf "%.1f", k / 1024 }')" "${1:-?}" "${2:-?}" "${r:-?}"
}

targets() {
    local size=$1 fl=$2 sq=$3 cp=$4 ck=$5 rss conns rts ckrts
    rss=$(awk -F'\t' '$1 == "pgmedic-check" { print $5 }' "$WORK/acct.tsv")
    conns=$(awk -F'\t' '$1 == "pgmedic-snapshot" { print $2 }' "$WORK/rt.tsv")
    rts=$(awk -F'\t' '$1 == "pgmedic-snapshot" { print $3 }' "$WORK/rt.tsv")
    ckrts=$(awk -F'\t' '$1 == "pgmedic-check" { print $3 }' "$WORK/rt.tsv")
    printf '| target | measured | met? |\n|---|---:|---|\n'
    awk -v size="$size" -v fl="$fl" -v sq="$sq" -v cp="$cp" -v ck="$ck" -v rss="$rss" \
        -v conns="$conns" -v rts="$rts" -v ckrts="$ckrts" 'function yn(b) { return b ? "yes" : "**no**" }
    BEGIN {
        if (size == "small")
            printf "| small: check ≤ 1.5× floor | %.2f× | %s |\n", ck / fl, yn(ck / fl <= 1.5)
        if (size == "large")
            printf "| large: check ≤ 0.5× psql triage SQL | %.2f× | %s |\n", ck / sq, yn(ck / sq <= 0.5)
        printf "| check ≥ 100× faster than check_postgres | %.1f× | %s |\n", cp / ck, yn(cp / ck >= 100)
        printf "| peak RSS ≤ 6 MB | %.1f MB | %s |\n", rss / 1024, yn(rss <= 6144)
        printf "| one connection per snapshot | %d | %s |\n", conns, yn(conns == 1)
        printf "| one round trip (pipeline) per snapshot | %d | %s |\n", rts, yn(rts == 1)
        printf "| (for reference: round trips per `check`) | %d | %s |\n", ckrts, yn(ckrts == 1)
    }'
    printf '\nFor scale: `pgmedic --help` (no connection, only loading the binary and its %s shared libraries, most of them pulled in by libpq) peaks at %s MB; `psql -c '"'"'select 1'"'"'` at %s MB.\n' \
        "$(ldd "$PGMEDIC" | grep -c '=>')" "$(awk '{ printf "%.1f", $1 / 1024 }' "$WORK/rss.libs")" \
        "$(awk -F'\t' '$1 == "floor" { printf "%.1f", $5 / 1024 }' "$WORK/acct.tsv")"
}

# ---------------------------------------------------------------- main
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for size in "${sizes[@]}"; do
    run_size "$size"
done

pgver=$("$PGBIN/postgres" --version | awk '{ print $3 }')
date_iso=$(date -u +%Y-%m-%dT%H:%MZ)
day=$(date -u +%Y-%m-%d)
mkdir -p "$OUT"
{
    printf '# pgmedic benchmark, %s\n\n' "$date_iso"
    printf -- '- machine: %s CPUs, %s, %s GiB RAM, %s\n' "$(nproc)" \
        "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
        "$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" "$(uname -sr)"
    printf -- '- load average (1, 5, 15 min) at start: %s, at end: %s; anything else running on the machine shows up in the times\n' \
        "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf -- '- PostgreSQL %s (throwaway cluster, fsync off, pg_stat_statements), unix socket\n' "$pgver"
    printf -- '- tools: %s, check_postgres %s, postgres_exporter %s, psql %s\n' \
        "$(hyperfine --version)" "$(check_postgres --version | awk '{ print $NF }')" \
        "$(prometheus-postgres-exporter --version 2>&1 | awk 'NR == 1 { print $3 }' | tr -d ,)" "$pgver"
    if [ $have_pgmedic = 1 ]; then
        printf -- '- pgmedic: %s (%s)\n' "${PGMEDIC_SRC#"$ROOT"/}" "$(cd "$ROOT" && { git rev-parse --short HEAD 2>/dev/null || echo 'no commit'; } | tr -d '\n'
            git diff --quiet HEAD -- src sql Makefile 2>/dev/null || printf ' + uncommitted changes')"
    else
        printf -- '- pgmedic: not built, not measured\n'
    fi
    printf -- '- hyperfine: %d runs after 3 warm-ups (check_postgres: %d runs per action after 1); medians, min–max\n' "$RUNS" "$SLOW_RUNS"
    printf -- '- statements, connections, server time: pg_stat_statements and log_connections deltas around each run, median of %d runs; RSS: /usr/bin/time %%M (exporter: the daemon'"'"'s VmHWM)\n\n' "$ACCT_RUNS"
    for size in "${sizes[@]}"; do cat "$WORK/report.$size.md"; done
} >"$WORK/latest.md"
cp "$WORK/latest.md" "$OUT/latest.md"
cp "$WORK/latest.md" "$OUT/$day.md"
cat "$OUT/latest.md"
say "written to $OUT/latest.md and $OUT/$day.md"
