#!/usr/bin/env bash
# bench/serve.sh - pgmedic serve against postgres_exporter: scrape time,
# daemon memory, and one serve watching a fleet of 200 databases.
#
#   bench/serve.sh [small|large|all|none]   (scrape scenarios; default all)
#
# Environment:
#   PGMEDIC=path          the pgmedic binary (default build/pgmedic)
#   BENCH_RUNS=N          hyperfine runs per scrape kind (default 30)
#   BENCH_OUT=DIR         where the results go (default bench/results)
#   BENCH_KEEP=1          keep the work directory (logs, scrapes, hyperfine JSON)
#   BENCH_FLEET=0         skip the fleet run
#   BENCH_FLEET_CLUSTERS=N, BENCH_FLEET_DBS=N   fleet: N clusters x N databases (2 x 100)
#   BENCH_FLEET_SECONDS=N how long the fleet is watched once every target is up (90)
#   BENCH_FLEET_INTERVAL=D serve's interval in the fleet run (10s)
#
# The scenarios are run.sh's (same cluster settings, bench/tables.sql,
# bench/loadgen.c).  Everything started here (clusters, load generator,
# exporter, serve) is stopped by PID and the work directory removed on
# exit, also on error or ^C.  Writes bench/results/serve-latest.md and
# bench/results/serve-YYYY-MM-DD.md (UTC).
# Markdown backquotes in single quotes; `set -- $(stats ...)` splits on purpose.
# shellcheck disable=SC2016,SC2046,SC2086
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PATH=$PGBIN:$PATH
PSQL=$PGBIN/psql
TMPPG=$ROOT/scripts/tmp-pg
PGMEDIC=${PGMEDIC:-$ROOT/build/pgmedic}
RUNS=${BENCH_RUNS:-30}
OUT=${BENCH_OUT:-$BENCH/results}
PORTS=56000-56999
ACCT_RUNS=5
FLEET=${BENCH_FLEET:-1}
FLEET_CLUSTERS=${BENCH_FLEET_CLUSTERS:-2}
FLEET_DBS=${BENCH_FLEET_DBS:-100}
FLEET_SECONDS=${BENCH_FLEET_SECONDS:-90}
FLEET_INTERVAL=${BENCH_FLEET_INTERVAL:-10s}
SCRAPE_INTERVAL=15s # serve's interval during the scrape comparison (the default)

say() { printf '%s\n' "bench-serve: $*" >&2; }
die() { printf '%s\n' "bench-serve: error: $*" >&2; exit 1; }

scenario=${1:-all}
case $scenario in
    small) sizes=(small) ;;
    large) sizes=(large) ;;
    all) sizes=(small large) ;;
    none) sizes=() ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown scenario \"$scenario\" (small, large, all or none)" ;;
esac

for tool in hyperfine prometheus-postgres-exporter curl jq "$PSQL"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing: run bench/deps.sh"
done
[ -x "$PGMEDIC" ] || die "no pgmedic binary at $PGMEDIC (run make, or set PGMEDIC)"
"$PGMEDIC" serve --help >/dev/null 2>&1 || die "$PGMEDIC has no serve command"

WORK=$(mktemp -d /tmp/pgmedic-bench-serve.XXXXXX)
chmod 755 "$WORK"
PGT_DIRS=() LOAD_PID="" EXP_PID="" SERVE_PID=""

stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

stop_all() {
    stop_pid "$SERVE_PID"; SERVE_PID=""
    stop_pid "$EXP_PID"; EXP_PID=""
    # loadgen cancels its queries and closes its sessions on SIGTERM.
    stop_pid "$LOAD_PID"; LOAD_PID=""
    local d
    for d in "${PGT_DIRS[@]+"${PGT_DIRS[@]}"}"; do "$TMPPG" stop "$d" || true; done
    PGT_DIRS=()
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    set +eu
    stop_all
    if [ "${BENCH_KEEP:-0}" = 1 ]; then say "work directory kept: $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Private copies: a rebuild during the run changes nothing.  The load
# generator is run.sh's; built here (into the work dir) only when run.sh
# has not built a current one.
cp "$PGMEDIC" "$WORK/pgmedic"
PGMEDIC_SRC=$PGMEDIC
PGMEDIC=$WORK/pgmedic
LOADGEN=$ROOT/build/bench/loadgen
if [ ${#sizes[@]} -gt 0 ]; then
    if [ -x "$LOADGEN" ] && [ ! "$BENCH/loadgen.c" -nt "$LOADGEN" ]; then
        cp "$LOADGEN" "$WORK/loadgen"
    else
        # shellcheck disable=SC2046
        cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror \
            $(pkg-config --cflags libpq) -o "$WORK/loadgen" "$BENCH/loadgen.c" $(pkg-config --libs libpq)
    fi
fi
LOADGEN=$WORK/loadgen
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- helpers
free_port() {
    local lo=${PORTS%-*} hi=${PORTS#*-} p
    for _ in $(seq 1 100); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    die "no free port in $PORTS"
}

# start_pg ARGS...: a tmp-pg cluster; sets PGHOST PGPORT PGT_DIR PGT_LOG.
start_pg() {
    local env
    env=$("$TMPPG" start --root "$WORK/pg" --port-range "$PORTS" "$@")
    eval "$env"
    PGT_DIRS+=("$PGT_DIR")
}

# start_serve CONF: pgmedic serve on a free port; sets SERVE_PID SERVE_URL.
start_serve() {
    local conf=$1 port deadline=$((SECONDS + 20))
    port=$(free_port)
    "$PGMEDIC" serve -c "$conf" --listen "127.0.0.1:$port" >"$WORK/serve.log" 2>&1 &
    SERVE_PID=$!
    SERVE_URL=http://127.0.0.1:$port
    until curl -sf "$SERVE_URL/healthz" >/dev/null 2>&1; do
        kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; die "pgmedic serve exited"; }
        [ $SECONDS -lt $deadline ] || { cat "$WORK/serve.log" >&2; die "pgmedic serve not up after 20 s"; }
        sleep 0.05
    done
}

# ups: how many targets /metrics reports up.
ups() { curl -sf "$SERVE_URL/metrics" | awk '/^pgmedic_up\{/ && $NF == 1 { n++ } END { print n + 0 }'; }

# cpu_ticks PID: utime + stime of every thread of PID (clock ticks).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }


# stats FILE: "median p90 max min n" of one number per line (nearest rank).
stats() {
    sort -g "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "- - - - 0"; exit }
        p = int(0.9 * NR); if (p < 0.9 * NR) p++
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        print m, v[p], v[NR], v[1], NR }'
}

fmt_ms() { awk -v s="$1" 'BEGIN { ms = s * 1000; if (ms >= 100) printf "%.0f", ms; else if (ms >= 10) printf "%.1f", ms; else printf "%.2f", ms }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

stat_snap() {
    "$PSQL" -X -At -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres -c \
        "SELECT coalesce(sum(calls), 0) || ' ' || round(coalesce(sum(total_exec_time), 0)::numeric, 3)
           AS bench_probe_marker
         FROM pg_stat_statements WHERE query NOT LIKE '%bench_probe_marker%'"
}
log_conns() { grep -c 'connection authorized' "$PGT_LOG" || true; }

# account NAME URL: ACCT_RUNS GETs, each between two pg_stat_statements
# snapshots (their own statement excluded by its marker); medians of
# statements, new connections and server execution ms per GET.
account() {
    local name=$1 url=$2 s0 s1 c0 c1
    : >"$WORK/acct.runs"
    for _ in $(seq 1 "$ACCT_RUNS"); do
        s0=$(stat_snap); c0=$(log_conns)
        curl -sf -o /dev/null "$url"
        c1=$(log_conns); s1=$(stat_snap)
        echo "$s0 $s1 $c0 $c1" >>"$WORK/acct.runs"
    done
    awk -v n="$name" '
        function med(x, k,    i, j, t) {
            for (i = 2; i <= k; i++) { t = x[i]; j = i - 1
                while (j >= 1 && x[j] > t) { x[j + 1] = x[j]; j-- } x[j + 1] = t }
            return (k % 2) ? x[(k + 1) / 2] : (x[k / 2] + x[k / 2 + 1]) / 2
        }
        { st[NR] = $3 - $1; ex[NR] = $4 - $2; cn[NR] = $6 - $5 }
        END { printf "%s\t%g\t%g\t%.2f\n", n, med(st, NR), med(cn, NR), med(ex, NR) }
    ' "$WORK/acct.runs" >>"$WORK/acct.tsv"
}

# curl_loop NAME URL: RUNS GETs timed by curl itself (time_total: the
# request, without curl's process start); the body size and samples; for
# /probe also serve's own pgmedic_probe_duration_seconds of each (median).
curl_loop() {
    local name=$1 url=$2 i
    : >"$WORK/tt.$name"; : >"$WORK/pd.$name"
    for i in $(seq 1 "$RUNS"); do
        curl -sf -o "$WORK/body.$name" -w '%{time_total}\n' "$url" >>"$WORK/tt.$name"
        [ "$name" != serve-probe ] ||
            awk '/^pgmedic_probe_duration_seconds\{/ { print $NF }' "$WORK/body.$name" >>"$WORK/pd.$name"
    done
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$(stats "$WORK/tt.$name" | awk '{ print $1 }')" \
        "$(wc -c <"$WORK/body.$name")" "$(grep -vc '^#' "$WORK/body.$name")" \
        "$(stats "$WORK/pd.$name" | awk '{ print $1 }')" >>"$WORK/tt.tsv"
}

# metric FILE NAME{LABELS}: the sample's value, or "absent" (label values may hold spaces).
metric() { awk -v m="$2 " 'index($0, m) == 1 { print $NF; f = 1 } END { if (!f) print "absent" }' "$1"; }

# memory NAME PID: VmHWM VmRSS RssAnon RssFile (status) and Pss (smaps_rollup), kB.
memory() {
    printf '%s\t%s\t%s\n' "$1" "$(awk '/^(VmHWM|VmRSS|RssAnon|RssFile):/ { printf "%s%s", (n++ ? "\t" : ""), $2 }' "/proc/$2/status")" \
        "$(awk '/^Pss:/ { print $2 }' "/proc/$2/smaps_rollup")"
}

# libs_rss PID: the largest file-backed mappings by resident size, "name MB, ...".
libs_rss() {
    awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 } /^Rss:/ && name ~ /^\// { r[name] += $2 }
        END { for (n in r) print r[n], n }' "/proc/$1/smaps" | sort -rn | head -"${2:-8}" |
        awk '{ n = $2; sub(/.*\//, "", n); sub(/\.so.*/, "", n); printf "%s%s %.1f", (NR > 1 ? ", " : ""), n, $1 / 1024 }'
}

# ---------------------------------------------------------------- scrape
scrape_size() {
    local size=$1 idle idle_tx chains active tables
    case $size in
        small) idle=50 idle_tx=5 chains=1 active=3 tables=200 ;;
        large) idle=800 idle_tx=80 chains=16 active=48 tables=10000 ;;
    esac
    : >"$WORK/acct.tsv"; : >"$WORK/tt.tsv"; : >"$WORK/mem.tsv"; : >"$WORK/mem-rest.tsv"

    # run.sh's scenario: the same server settings, tables and load.
    say "[$size] starting PostgreSQL 15"
    start_pg --set max_connections=1200 \
        --set "shared_preload_libraries='pg_stat_statements'" \
        --set pg_stat_statements.max=10000 \
        --set shared_buffers=128MB \
        --set log_statement=none \
        --set log_connections=on \
        --set log_min_messages=warning
    export PGHOST PGPORT PGUSER=postgres PGDATABASE=postgres
    "$PSQL" -X -q -c 'CREATE EXTENSION pg_stat_statements'
    say "[$size] creating $tables tables with dead tuples"
    local half=$((tables / 2)) t1 t2
    "$PSQL" -X -q -v first=1 -v last=$half -f "$BENCH/tables.sql" & t1=$!
    "$PSQL" -X -q -v first=$((half + 1)) -v last=$tables -f "$BENCH/tables.sql" & t2=$!
    wait "$t1" || die "table creation failed"
    wait "$t2" || die "table creation failed"
    say "[$size] opening $((idle + idle_tx + chains * 4 + active)) sessions"
    local t0=$SECONDS line
    coproc LG { exec "$LOADGEN" --idle "$idle" --idle-in-tx "$idle_tx" --chains "$chains" --active "$active"; }
    LOAD_PID=$LG_PID
    read -r -t 300 line <&"${LG[0]}" || die "load generator did not get ready"
    case $line in ready*) ;; *) die "load generator: $line" ;; esac
    local left=$((7 - (SECONDS - t0)))
    [ $left -gt 0 ] && sleep $left

    # The exporter as run.sh starts it; serve with one target, the same server.
    local exp_port deadline=$((SECONDS + 30))
    exp_port=$(free_port)
    DATA_SOURCE_NAME="host=$PGHOST port=$PGPORT user=postgres dbname=postgres sslmode=disable" \
        prometheus-postgres-exporter --web.listen-address="127.0.0.1:$exp_port" \
        >"$WORK/exporter.log" 2>&1 &
    EXP_PID=$!
    local exp_url=http://127.0.0.1:$exp_port/metrics
    until curl -sf "$exp_url" 2>/dev/null | grep -q '^pg_up 1'; do
        [ $SECONDS -lt $deadline ] || { cat "$WORK/exporter.log" >&2; die "postgres_exporter not up after 30 s"; }
        kill -0 "$EXP_PID" 2>/dev/null || { cat "$WORK/exporter.log" >&2; die "postgres_exporter exited"; }
        sleep 0.2
    done
    mkdir -p "$WORK/store"
    printf '[pgmedic]\nstore = %s\ninterval = %s\n\n[target bench]\nconninfo = host=%s port=%s user=postgres dbname=postgres\n' \
        "$WORK/store/serve.$size.db" "$SCRAPE_INTERVAL" "$PGHOST" "$PGPORT" >"$WORK/serve.$size.ini"
    start_serve "$WORK/serve.$size.ini"
    deadline=$((SECONDS + 60))
    until [ "$(ups)" = 1 ]; do
        [ $SECONDS -lt $deadline ] || { cat "$WORK/serve.log" >&2; die "[$size] serve's target not up after 60 s"; }
        sleep 0.1
    done
    local sm="$SERVE_URL/metrics" sp="$SERVE_URL/probe?target=bench"

    # A correct probe or nothing: serve's lock and session numbers must be
    # the load's (idle is not checked: the exporter's pool adds idle sessions).
    curl -sf -o "$WORK/check.$size" "$sp"
    local want got bad=""
    for want in "pgmedic_lock_trees{target=\"bench\"} $chains" \
        "pgmedic_lock_chain_max_depth{target=\"bench\"} 3" \
        "pgmedic_lock_waiting_sessions{target=\"bench\"} $((chains * 3))" \
        "pgmedic_connections{target=\"bench\",state=\"idle in transaction\"} $((idle_tx + chains))" \
        "pgmedic_connections{target=\"bench\",state=\"active\"} $((active + chains * 3))"; do
        got=$(metric "$WORK/check.$size" "${want% *}")
        [ "$got" = "${want##* }" ] || bad+=" ${want% *} is $got, the load is ${want##* };"
    done
    [ -z "$bad" ] || die "[$size] serve's metrics are not the load:$bad"
    say "[$size] serve's lock and session metrics match the load"

    say "[$size] timing: hyperfine, $RUNS runs of each after 3 warm-ups"
    hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-json "$WORK/hf.$size.json" \
        -n serve-metrics "curl -sf -o /dev/null $sm" \
        -n serve-probe "curl -sf -o /dev/null '$sp'" \
        -n exporter "curl -sf -o /dev/null $exp_url" \
        -n curl-floor "curl -sf -o /dev/null file:///dev/null" >"$WORK/hf.$size.log" 2>&1 ||
        { cat "$WORK/hf.$size.log" >&2; die "[$size] hyperfine failed"; }
    curl_loop serve-metrics "$sm"
    curl_loop serve-probe "$sp"
    curl_loop exporter "$exp_url"
    account serve-metrics "$sm"
    account serve-probe "$sp"
    account exporter "$exp_url"

    memory serve "$SERVE_PID" >>"$WORK/mem.tsv"
    memory exporter "$EXP_PID" >>"$WORK/mem.tsv"
    libs_rss "$SERVE_PID" >"$WORK/libs.$size"
    # At rest: 3 s after the last request, both daemons idle (serve gives
    # what a probe freed back when it goes idle; the exporter's Go runtime
    # keeps its heap).
    sleep 3
    memory serve "$SERVE_PID" >>"$WORK/mem-rest.tsv"
    memory exporter "$EXP_PID" >>"$WORK/mem-rest.tsv"
    grep -c 'ERROR:' "$PGT_LOG" >"$WORK/pgerrors.$size" || true
    cp "$WORK/serve.log" "$WORK/serve.$size.log"
    report_size "$size" "$((idle + idle_tx + chains * 4 + active))" "$chains" "$tables"
    stop_all
}

report_size() {
    local size=$1 sessions=$2 chains=$3 tables=$4
    local f=$WORK/report.$size.md
    jq -r '.results[] | [.command, .median, .min, .max] | @tsv' "$WORK/hf.$size.json" >"$WORK/times.tsv"
    {
        printf '## %s: %d client sessions, %d lock chain(s), %d tables\n\n' "$size" "$sessions" "$chains" "$tables"
        printf 'serve (one target, `interval = %s`) and the exporter watch the same server over its unix socket, each on its own persistent connection. ' "$SCRAPE_INTERVAL"
        printf 'serve'"'"'s lock and session metrics were checked against the load before timing: **match**. '
        printf 'Server log `ERROR` lines during the run: %s.\n\n' "$(cat "$WORK/pgerrors.$size")"
        printf '| GET | median ms | min–max ms | request only, median ms | serve'"'"'s probe_duration, median ms | bytes | samples | statements/GET | connections/GET | server exec ms/GET |\n'
        printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
        local n label
        for n in curl-floor serve-metrics serve-probe exporter; do
            case $n in
                curl-floor) label='(floor) curl alone, no request (`file:///dev/null`)' ;;
                serve-metrics) label="(a) serve /metrics (last probe, cached)" ;;
                serve-probe) label="(b) serve /probe?target= (probes now, waits)" ;;
                exporter) label="(c) postgres_exporter /metrics" ;;
            esac
            awk -F'\t' -v n="$n" -v label="$label" '
                function ms(s) { if (s == "" || s == "-") return "—"; s *= 1000; return s >= 100 ? sprintf("%.0f", s) : s >= 10 ? sprintf("%.1f", s) : sprintf("%.2f", s) }
                function v(x) { return x == "" ? "—" : x }
                FNR == 1 { f++ }
                f == 1 && $1 == n { md = $2; lo = $3; hi = $4 }
                f == 2 && $1 == n { tt = $2; by = $3; sm = $4; pd = $5 }
                f == 3 && $1 == n { st = $2; cn = $3; ex = $4 }
                END { printf "| %s | %s | %s–%s | %s | %s | %s | %s | %s | %s | %s |\n", label, ms(md), ms(lo), ms(hi), ms(tt), ms(pd), v(by), v(sm), v(st), v(cn), v(ex) }
            ' "$WORK/times.tsv" "$WORK/tt.tsv" "$WORK/acct.tsv"
        done
        printf '\n'
        local a b c ta tb tc sh sr eh er
        a=$(awk -F'\t' '$1 == "serve-metrics" { print $2 }' "$WORK/times.tsv")
        b=$(awk -F'\t' '$1 == "serve-probe" { print $2 }' "$WORK/times.tsv")
        c=$(awk -F'\t' '$1 == "exporter" { print $2 }' "$WORK/times.tsv")
        ta=$(awk -F'\t' '$1 == "serve-metrics" { print $2 }' "$WORK/tt.tsv")
        tb=$(awk -F'\t' '$1 == "serve-probe" { print $2 }' "$WORK/tt.tsv")
        tc=$(awk -F'\t' '$1 == "exporter" { print $2 }' "$WORK/tt.tsv")
        read -r _ sh sr _ < <(grep '^serve' "$WORK/mem.tsv")
        read -r _ eh er _ < <(grep '^exporter' "$WORK/mem.tsv")
        read -r _ _ srr _ < <(grep '^serve' "$WORK/mem-rest.tsv")
        read -r _ _ err _ < <(grep '^exporter' "$WORK/mem-rest.tsv")
        printf '| target | measured | met? |\n|---|---:|---|\n'
        awk -v a="$a" -v b="$b" -v c="$c" -v ta="$ta" -v tb="$tb" -v tc="$tc" -v sh="$sh" -v eh="$eh" -v sr="$sr" -v er="$er" -v srr="$srr" -v err="$err" '
            function yn(x) { return x ? "yes" : "**no**" }
            BEGIN {
                printf "| (a) serve /metrics ≤ 0.5× exporter scrape (hyperfine, curl start included) | %.2f× | %s |\n", a / c, yn(a / c <= 0.5)
                printf "| (a) the same, request only (curl time_total) | %.2f× | %s |\n", ta / tc, yn(ta / tc <= 0.5)
                printf "| (b) serve /probe ≤ 0.5× exporter scrape (hyperfine, curl start included) | %.2f× | %s |\n", b / c, yn(b / c <= 0.5)
                printf "| (b) the same, request only (curl time_total) | %.2f× | %s |\n", tb / tc, yn(tb / tc <= 0.5)
                printf "| daemon VmHWM ≤ ¼ exporter'"'"'s (%.1f / %.1f MB) | %.2f× | %s |\n", sh / 1024, eh / 1024, sh / eh, yn(sh / eh <= 0.25)
                printf "| daemon VmRSS ≤ ¼ exporter'"'"'s (%.1f / %.1f MB) | %.2f× | %s |\n", sr / 1024, er / 1024, sr / er, yn(sr / er <= 0.25)
                printf "| daemon VmRSS at rest, 3 s later, ≤ ¼ exporter'"'"'s (%.1f / %.1f MB) | %.2f× | %s |\n", srr / 1024, err / 1024, srr / err, yn(srr / err <= 0.25)
            }'
        printf '\n| memory after the scrapes, MB | VmHWM | VmRSS | RssAnon | RssFile | Pss |\n|---|---:|---:|---:|---:|---:|\n'
        awk -F'\t' '{ printf "| %s | %.1f | %.1f | %.1f | %.1f | %.1f |\n", ($1 == "serve" ? "pgmedic serve" : "postgres_exporter"), $2 / 1024, $3 / 1024, $4 / 1024, $5 / 1024, $6 / 1024 }' "$WORK/mem.tsv"
        printf '\nserve'"'"'s largest files mapped (resident MB): %s.\n\n' "$(cat "$WORK/libs.$size")"

        # What each exposes about locks and leaked sessions (last scrape of each).
        local sb=$WORK/body.serve-probe eb=$WORK/body.exporter
        printf 'Lock and leak metrics (serve: the last `/probe`; exporter: its last scrape, database `postgres`):\n\n'
        printf '| question | pgmedic serve | postgres_exporter (default collectors) |\n|---|---|---|\n'
        s_() { printf '`pgmedic_%s` %s' "$1" "$(metric "$sb" "pgmedic_$1{target=\"bench\"}")"; }
        e_() { printf '`%s` %s' "$1" "$(metric "$eb" "$2")"; }
        local lk
        lk=$(awk '/^pg_locks_count\{/ && /datname="postgres"/ { s += $NF } END { print s + 0 }' "$eb")
        local srvl
        srvl=$(awk 'match($0, /server="[^"]*"/) { print substr($0, RSTART, RLENGTH); exit }' "$eb")
        printf '| root blockers (who blocks the others) | %s | — |\n' "$(s_ lock_trees)"
        printf '| depth of the longest lock chain | %s | — |\n' "$(s_ lock_chain_max_depth)"
        printf '| sessions waiting on a lock | %s | — (`pg_locks_count` by mode counts granted and waiting locks alike: %s in all) |\n' "$(s_ lock_waiting_sessions)" "$lk"
        printf '| longest lock wait | %s | — |\n' "$(s_ longest_lock_wait_seconds)"
        printf '| longest idle in transaction | %s | %s (age of the transaction, not of the idle time) |\n' \
            "$(s_ longest_idle_in_transaction_seconds)" \
            "$(e_ 'pg_stat_activity_max_tx_duration{state="idle in transaction"}' "pg_stat_activity_max_tx_duration{datname=\"postgres\",$srvl,state=\"idle in transaction\"}")"
        printf '| longest idle session (connection leak) | %s | — (`pg_stat_activity_count{state="idle"}` %s: a count, no age) |\n' \
            "$(s_ longest_idle_seconds)" "$(metric "$eb" "pg_stat_activity_count{datname=\"postgres\",$srvl,state=\"idle\"}")"
        printf '| oldest transaction | %s | %s |\n' "$(s_ longest_transaction_seconds)" \
            "$(e_ 'pg_stat_activity_max_tx_duration{state="active"}' "pg_stat_activity_max_tx_duration{datname=\"postgres\",$srvl,state=\"active\"}")"
        printf '\n'
    } >"$f"
}

# ---------------------------------------------------------------- fleet
# backend_ticks PID...: utime + stime of those processes (clock ticks).
backend_ticks() {
    local pid t=0
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] && t=$((t + $(cpu_ticks "$pid")))
    done
    echo "$t"
}

fleet() {
    local ntargets=$((FLEET_CLUSTERS * FLEET_DBS)) c i conf=$WORK/fleet.ini
    say "[fleet] $FLEET_CLUSTERS clusters x $FLEET_DBS databases"
    mkdir -p "$WORK/store"
    printf '[pgmedic]\nstore = %s\ninterval = %s\n' "$WORK/store/fleet.db" "$FLEET_INTERVAL" >"$conf"
    local -a makers=()
    for c in $(seq 1 "$FLEET_CLUSTERS"); do
        start_pg --set max_connections=$((FLEET_DBS + 50)) --set log_statement=none \
            --set log_min_messages=warning
        for i in $(seq -f '%03g' 1 "$FLEET_DBS"); do
            printf 'CREATE DATABASE fleet_%s TEMPLATE template0;\n' "$i"
            printf '\n[target c%d_db%s]\nconninfo = host=%s port=%s user=postgres dbname=fleet_%s\n' \
                "$c" "$i" "$PGHOST" "$PGPORT" "$i" >>"$conf"
        done >"$WORK/fleet.$c.sql"
        "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres \
            -f "$WORK/fleet.$c.sql" &
        makers+=($!)
        echo "$PGHOST $PGPORT" >>"$WORK/fleet.clusters"
    done
    local t0=$SECONDS p
    for p in "${makers[@]}"; do wait "$p" || die "[fleet] CREATE DATABASE failed"; done
    local create_s=$((SECONDS - t0))

    say "[fleet] serve with $ntargets targets, interval $FLEET_INTERVAL, watched for ${FLEET_SECONDS} s once all are up"
    local tick0 r0 deadline
    start_serve "$conf"
    r0=$EPOCHREALTIME tick0=$(cpu_ticks "$SERVE_PID")
    deadline=$((SECONDS + 60))
    until [ "$(ups)" = "$ntargets" ]; do
        [ $SECONDS -lt $deadline ] || die "[fleet] not every target up after 60 s: $(ups) of $ntargets"
        sleep 0.1
    done
    curl -sf -o "$WORK/fleet.scrape.0" "$SERVE_URL/metrics" # the first probes' durations
    # serve's backends on the clusters, to count what the fleet costs the servers.
    local h bpids=""
    while read -r h p; do
        bpids+="$("$PSQL" -X -At -h "$h" -p "$p" -U postgres -d postgres -c \
            "SELECT pid FROM pg_stat_activity WHERE datname LIKE 'fleet\_%'" | tr '\n' ' ')"
    done <"$WORK/fleet.clusters"
    local rup tickup btick0
    rup=$EPOCHREALTIME tickup=$(cpu_ticks "$SERVE_PID") btick0=$(backend_ticks $bpids)

    # Every second: serve's CPU ticks; every 5 s a scrape, as Prometheus would.
    : >"$WORK/fleet.cpu"; : >"$WORK/fleet.scrape_s"; : >"$WORK/fleet.rss"
    local k=0 now ticks last_r=$rup last_t=$tickup end
    end=$(awk -v a="$rup" -v s="$FLEET_SECONDS" 'BEGIN { printf "%.6f", a + s }')
    while awk -v n="$EPOCHREALTIME" -v e="$end" 'BEGIN { exit !(n < e) }'; do
        sleep 1
        now=$EPOCHREALTIME ticks=$(cpu_ticks "$SERVE_PID")
        awk -v r="$now" -v lr="$last_r" -v t="$ticks" -v lt="$last_t" -v hz="$CLK_TCK" \
            'BEGIN { printf "%.1f\n", 100 * (t - lt) / hz / (r - lr) }' >>"$WORK/fleet.cpu"
        last_r=$now last_t=$ticks
        k=$((k + 1))
        if [ $((k % 5)) = 0 ]; then
            curl -sf -o "$WORK/fleet.scrape.$k" -w '%{time_total}\n' "$SERVE_URL/metrics" >>"$WORK/fleet.scrape_s"
            memory "$k" "$SERVE_PID" >>"$WORK/fleet.rss"
        fi
    done
    local rend tickend
    rend=$EPOCHREALTIME tickend=$(cpu_ticks "$SERVE_PID")
    local btick1
    btick1=$(backend_ticks $bpids)
    curl -sf -o "$WORK/fleet.final" "$SERVE_URL/metrics"
    local fmem
    fmem=$(memory serve "$SERVE_PID")
    local held=""
    while read -r h p; do
        held+="$("$PSQL" -X -At -h "$h" -p "$p" -U postgres -d postgres -c \
            "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'fleet\_%'") "
    done <"$WORK/fleet.clusters"

    # Every probe seen, once: (target, probes_total) -> duration; the first
    # probe of a target (it connects) apart from the later ones.
    cat "$WORK"/fleet.scrape.* "$WORK/fleet.final" | awk '
        function flush(t) { for (t in d) if (!((t, n[t]) in seen)) { seen[t, n[t]] = 1; print n[t], d[t] } }
        /^pgmedic_probes_total\{/ { match($1, /target="[^"]*"/); n[substr($1, RSTART, RLENGTH)] = $2 }
        /^pgmedic_probe_duration_seconds\{/ { match($1, /target="[^"]*"/); d[substr($1, RSTART, RLENGTH)] = $2 }
        /^# HELP pgmedic_up / { flush(); delete d; delete n }
        END { flush() }' >"$WORK/fleet.seen"
    awk '$1 == 1 { print $2 }' "$WORK/fleet.seen" >"$WORK/fleet.first_durations"
    awk '$1 > 1 { print $2 }' "$WORK/fleet.seen" >"$WORK/fleet.all_durations"
    awk '/^pgmedic_probe_duration_seconds\{/ { print $2 }' "$WORK/fleet.final" >"$WORK/fleet.last_durations"
    awk '/^pgmedic_probes_total\{/ { print $2 }' "$WORK/fleet.final" >"$WORK/fleet.probes"
    local up errs
    up=$(awk '/^pgmedic_up\{/ && $NF == 1 { n++ } END { print n + 0 }' "$WORK/fleet.final")
    errs=$(awk '/^pgmedic_probe_errors_total\{/ { s += $2 } END { print s + 0 }' "$WORK/fleet.final")
    cp "$WORK/serve.log" "$WORK/serve.fleet.log"

    {
        printf '## fleet: one serve, %d targets (%d clusters x %d databases), interval %s\n\n' \
            "$ntargets" "$FLEET_CLUSTERS" "$FLEET_DBS" "$FLEET_INTERVAL"
        printf 'Clusters from `scripts/tmp-pg` (fsync off, `max_connections=%d`), databases created with `CREATE DATABASE ... TEMPLATE template0` (%d s, in parallel per cluster); no load on them. ' \
            "$((FLEET_DBS + 50))" "$create_s"
        printf 'serve was watched for %.0f s after every target was first up; `/metrics` scraped every 5 s meanwhile; CPU is utime+stime of every thread from `/proc/PID/stat`, as %% of one core.\n\n' \
            "$(awk -v a="$rup" -v b="$rend" 'BEGIN { print b - a }')"
        printf '| | value |\n|---|---:|\n'
        awk -v r0="$r0" -v rup="$rup" -v rend="$rend" -v t0="$tick0" -v tup="$tickup" -v tend="$tickend" -v hz="$CLK_TCK" -v n="$ntargets" 'BEGIN {
            printf "| start to every target up (first round: %d connections opened) | %.2f s |\n", n, rup - r0
            printf "| CPU during the first round | %.1f %% |\n", 100 * (tup - t0) / hz / (rup - r0)
            printf "| **CPU over the watched run** (%.0f s, %.2f s of CPU) | **%.2f %%** |\n", rend - rup, (tend - tup) / hz, 100 * (tend - tup) / hz / (rend - rup)
        }'
        set -- $(stats "$WORK/fleet.cpu")
        printf '| CPU per 1 s sample: median / p90 / max | %s / %s / %s %% |\n' "$1" "$2" "$3"
        printf '| targets up at the end (`pgmedic_up` = 1) | %d of %d |\n' "$up" "$ntargets"
        printf '| probe errors (sum of `pgmedic_probe_errors_total`) | %d |\n' "$errs"
        set -- $(stats "$WORK/fleet.probes")
        printf '| probes per target at the end (`pgmedic_probes_total`): min / max | %s / %s |\n' "$4" "$3"
        printf '| connections serve holds on the clusters (`pg_stat_activity`) | %s|\n' "$(echo "$held" | sed 's/ $//; s/ / + /g') "
        set -- $(stats "$WORK/fleet.last_durations")
        printf '| probe duration, last probe of each target: median / p90 / max | %s / %s / %s ms |\n' \
            "$(fmt_ms "$1")" "$(fmt_ms "$2")" "$(fmt_ms "$3")"
        set -- $(stats "$WORK/fleet.all_durations")
        printf '| probe duration, every later probe seen in the scrapes (%d): median / p90 / max | %s / %s / %s ms |\n' \
            "$5" "$(fmt_ms "$1")" "$(fmt_ms "$2")" "$(fmt_ms "$3")"
        set -- $(stats "$WORK/fleet.first_durations")
        [ "$5" = 0 ] || printf '| probe duration, first probe of a target (connects; %d seen): median / p90 / max | %s / %s / %s ms |\n' \
            "$5" "$(fmt_ms "$1")" "$(fmt_ms "$2")" "$(fmt_ms "$3")"
        awk -v t0="$btick0" -v t1="$btick1" -v a="$rup" -v b="$rend" -v hz="$CLK_TCK" -v n="$ntargets" 'BEGIN {
            printf "| CPU of serve'"'"'s %d backends on the clusters over the watched run (what the probes cost the servers) | %.1f %% (%.2f s) |\n", n, 100 * (t1 - t0) / hz / (b - a), (t1 - t0) / hz }'
        set -- $(stats "$WORK/fleet.scrape_s")
        printf '| GET /metrics of %d targets (%d bytes, %d samples), request only: median / max of %d | %s / %s ms |\n' \
            "$ntargets" "$(wc -c <"$WORK/fleet.final")" "$(grep -vc '^#' "$WORK/fleet.final")" "$5" "$(fmt_ms "$1")" "$(fmt_ms "$3")"
        set -- $fmem
        printf '| serve memory at the end: VmHWM / VmRSS / RssAnon / Pss | %s / %s / %s / %s MB |\n' "$(mb "$2")" "$(mb "$3")" "$(mb "$4")" "$(mb "$6")"
        printf '| serve VmRSS every 5 s of the watched run, MB | %s |\n' \
            "$(awk -F'\t' '{ printf "%s%.1f", (NR > 1 ? " " : ""), $3 / 1024 }' "$WORK/fleet.rss")"
        printf '| serve log: lines (warning or error) | %d (%d) |\n\n' "$(grep -c . "$WORK/serve.log")" \
            "$(grep -cE 'level=(warning|error)' "$WORK/serve.log" || true)"
        printf '| target | measured | met? |\n|---|---:|---|\n'
        awk -v t0="$tickup" -v t1="$tickend" -v a="$rup" -v b="$rend" -v hz="$CLK_TCK" -v up="$up" -v n="$ntargets" '
            function yn(x) { return x ? "yes" : "**no**" }
            BEGIN {
                c = 100 * (t1 - t0) / hz / (b - a)
                printf "| serve CPU < 10 %% of one core, %d targets at %s | %.2f %% | %s |\n", n, "'"$FLEET_INTERVAL"'", c, yn(c < 10)
                printf "| every target up | %d of %d | %s |\n", up, n, yn(up == n)
            }'
        if grep -qE 'level=(warning|error)' "$WORK/serve.log"; then
            printf '\nserve'"'"'s warnings and errors (first 10):\n\n```\n'
            grep -E 'level=(warning|error)' "$WORK/serve.log" | head -10
            printf '```\n'
        fi
        printf '\n'
    } >"$WORK/report.fleet.md"
    stop_all
}

# ---------------------------------------------------------------- main
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for size in "${sizes[@]+"${sizes[@]}"}"; do scrape_size "$size"; done
[ "$FLEET" = 1 ] && fleet

pgver=$("$PGBIN/postgres" --version | awk '{ print $3 }')
day=$(date -u +%Y-%m-%d)
mkdir -p "$OUT"
{
    printf '# pgmedic serve benchmark, %s\n\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
    printf -- '- machine: %s CPUs, %s, %s GiB RAM, %s\n' "$(nproc)" \
        "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
        "$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)" "$(uname -sr)"
    printf -- '- load average (1, 5, 15 min) at start: %s, at end: %s\n' "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf -- '- PostgreSQL %s (throwaway clusters, fsync off), unix socket; %s, postgres_exporter %s (default collectors)\n' \
        "$pgver" "$(hyperfine --version)" \
        "$(prometheus-postgres-exporter --version 2>&1 | awk 'NR == 1 { print $3 }' | tr -d ,)"
    printf -- '- pgmedic: %s (%s)\n' "${PGMEDIC_SRC#"$ROOT"/}" "$(cd "$ROOT" && { git rev-parse --short HEAD 2>/dev/null || echo 'no commit'; } | tr -d '\n'
        git diff --quiet HEAD -- src sql Makefile 2>/dev/null || printf ' + uncommitted changes')"
    printf -- '- scrapes: `hyperfine -N` of `curl -sf -o /dev/null URL`, %d runs after 3 warm-ups (median, min–max; includes curl'"'"'s own start, the same for all three: see the floor row); "request only" is curl'"'"'s `time_total`, median of %d; statements and server time: pg_stat_statements deltas around each GET, median of %d\n\n' \
        "$RUNS" "$RUNS" "$ACCT_RUNS"
    for size in "${sizes[@]+"${sizes[@]}"}"; do cat "$WORK/report.$size.md"; done
    [ "$FLEET" = 1 ] && cat "$WORK/report.fleet.md"
} >"$WORK/serve-latest.md"
cp "$WORK/serve-latest.md" "$OUT/serve-latest.md"
cp "$WORK/serve-latest.md" "$OUT/serve-$day.md"
cat "$OUT/serve-latest.md"
say "written to $OUT/serve-latest.md and $OUT/serve-$day.md"
