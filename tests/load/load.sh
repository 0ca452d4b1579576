#!/usr/bin/env bash
# load.sh - pgmedic serve under concurrent scrapers (part of `make torture`).
#
#   tests/load/load.sh
#
# One throwaway cluster with LOAD_TARGETS databases (10), one `pgmedic serve`
# probing each as a target every second, then LOAD_CLIENTS (50) concurrent
# HTTP clients (tests/load/scrape.c) for LOAD_SECONDS (60) on 127.0.0.1,
# requests back to back, a new connection every 10 requests; each client
# walks the list  /metrics, /metrics, /probe?target=tNN, /healthz,
# /api/v1/status  for every target NN (so 40 % /metrics, 20 % on-demand
# probes, 20 % health, 20 % status), checking status 200 and a piece of the
# body.  serve's RSS, open fds and threads are sampled every second.
#
# Before that, a warm-up: on-demand probes until serve's store holds
# LOAD_WARM_PROBES (12,000) samples, past the point where SQLite's page cache
# (2000 KiB, bounded) is full: its filling is not growth of serve.
#
# Verdict (scrape's, then this script's): no request errors; RSS growth
# after the first 10 s below 10 %; fds and threads back to where they were
# before the load and fds never above that + clients + 8; p99 latency at most
# LOAD_P99_MAX_MS (1000); and afterwards every target still up, no probe
# error, serve's log without warnings or errors, at most one backend per
# target, each target probed at least once a second on average during the
# load, and serve exiting 0 on SIGTERM.  Ends with "load: PASS" or
# "load: FAIL"; exit 0 or 1 (2: could not set up).
#
# Environment: PGMEDIC (build/pgmedic), SCRAPE (build/tests/load/scrape),
# LOAD_TARGETS, LOAD_CLIENTS, LOAD_SECONDS, LOAD_P99_MAX_MS, LOAD_WARM_PROBES, LOAD_KEEP=1
# (keep the work directory: serve's log, the samples).
set -euo pipefail

NAME=load
# shellcheck source=tests/load/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGETS=${LOAD_TARGETS:-10}
CLIENTS=${LOAD_CLIENTS:-50}
DURATION=${LOAD_SECONDS:-60}
P99_MAX_MS=${LOAD_P99_MAX_MS:-1000}
WARM_PROBES=${LOAD_WARM_PROBES:-12000}
SCRAPE=${SCRAPE:-$ROOT/build/tests/load/scrape}
[ -x "$SCRAPE" ] || die "no load client at $SCRAPE (make build/tests/load/scrape, or set SCRAPE)"

say "starting a cluster with $TARGETS databases"
start_cluster "$TARGETS"
write_conf "$WORK/serve.ini" "$TARGETS" 1s
start_serve "$WORK/serve.ini" "$TARGETS"
say "serve (pid $SERVE_PID) on $SERVE_URL, every target up"

args=()
for i in $(ids "$TARGETS"); do
    args+=(--path /metrics --expect "pgmedic_up{target=\"t$i\"} 1"
        --path /metrics --expect "pgmedic_probes_total{target=\"t$i\"}"
        --path "/probe?target=t$i" --expect "pgmedic_up{target=\"t$i\"} 1"
        --path /healthz --expect ok
        --path /api/v1/status --expect "\"t$i\"")
done
# Warm-up: serve writes a sample to its SQLite store after every probe, and
# SQLite's page cache (2000 KiB by default) grows with the new pages until it
# is full, after some 11,000 samples: bounded, but it would pass for growth
# in a 60 s run.  On-demand probes (20 clients on /probe only, 10 s at a
# time) fill it first; their requests must not fail either.
warm=()
for i in $(ids "$TARGETS"); do warm+=(--path "/probe?target=t$i" --expect "pgmedic_up{target=\"t$i\"} 1"); done
say "warm-up: on-demand probes until the store holds $WARM_PROBES samples"
warm_start=$SECONDS warm_errors=0 probes=0
while :; do
    curl -sf -o "$WORK/metrics.warm" "$SERVE_URL/metrics" || die "serve does not answer"
    read -r _ probes _ _ <<<"$(metrics_sums "$WORK/metrics.warm")"
    [ "$probes" -lt "$WARM_PROBES" ] || break
    [ $((SECONDS - warm_start)) -lt 600 ] || die "fewer than $WARM_PROBES probes after 600 s"
    "$SCRAPE" --port "$SERVE_PORT" --pid "$SERVE_PID" --clients 20 --seconds 10 --warmup 0 \
        --reconnect 0 "${warm[@]}" >"$WORK/warm.log" 2>&1 || true
    e=$(awk '/^errors: / { print $2 }' "$WORK/warm.log")
    [ -n "$e" ] || { cat "$WORK/warm.log" >&2; die "the load client failed during the warm-up"; }
    warm_errors=$((warm_errors + e))
done
warm_s=$((SECONDS - warm_start))
curl -sf -o "$WORK/metrics.before" "$SERVE_URL/metrics"
read -r _ probes0 _ _ <<<"$(metrics_sums "$WORK/metrics.before")"

say "$CLIENTS clients for $DURATION s"
printf '# pgmedic serve under load: %d targets (one cluster, %d databases), interval 1s\n' \
    "$TARGETS" "$TARGETS"
printf 'warm-up: %d s of on-demand probes, %d probes in all before the load, %d request errors\n' \
    "$warm_s" "$probes0" "$warm_errors"
set +e
"$SCRAPE" --port "$SERVE_PORT" --pid "$SERVE_PID" --clients "$CLIENTS" --seconds "$DURATION" \
    --warmup 10 --reconnect 10 --p99-max-ms "$P99_MAX_MS" --samples "$WORK/samples.tsv" "${args[@]}"
scrape_rc=$?
set -e
[ "$scrape_rc" -le 1 ] || die "the load client failed (exit $scrape_rc)"
[ "$scrape_rc" = 0 ] || PASS=0

# After the load: the daemon's own view, its connections and its log.
printf 'after the load:\n'
curl -sf -o "$WORK/metrics.after" "$SERVE_URL/metrics" || : >"$WORK/metrics.after"
read -r up probes errs minp <<<"$(metrics_sums "$WORK/metrics.after")"
nb=$(backends)
problems=$(serve_problems)
check "$([ "$warm_errors" = 0 ] && echo 1)" "no request errors during the warm-up: $warm_errors"
check "$([ "$up" = "$TARGETS" ] && echo 1)" "every target up: $up of $TARGETS"
check "$([ "$errs" = 0 ] && echo 1)" "probe errors (sum of pgmedic_probe_errors_total): $errs"
check "$([ "$nb" -le "$TARGETS" ] && echo 1)" \
    "serve's backends on the cluster: $nb (at most one per target)"
# Interval 1 s plus the on-demand probes: at least one probe a second each.
check "$([ $((probes - probes0)) -ge $((TARGETS * DURATION)) ] && echo 1)" \
    "probes during the load: $((probes - probes0)) (the least-probed target: $minp in all)"
check "$([ -z "$problems" ] && echo 1)" \
    "serve's log: $(grep -c . "$SERVE_LOG") lines, $(printf '%s' "$problems" | grep -c .) warnings or errors"
[ -z "$problems" ] || printf '%s\n' "$problems" | head -10 | sed 's/^/    /'
stop_serve
check "$([ "$SERVE_EXIT" = 0 ] && echo 1)" "serve exits 0 on SIGTERM: $SERVE_EXIT"
if [ "$PASS" = 1 ]; then echo "load: PASS"; else echo "load: FAIL"; exit 1; fi
