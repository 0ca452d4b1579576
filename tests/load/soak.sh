#!/usr/bin/env bash
# soak.sh - 10,000 probe cycles of a live pgmedic serve, sampled (part of
# `make torture`).
#
#   tests/load/soak.sh
#
# One throwaway cluster with SOAK_TARGETS databases (10) and one `pgmedic
# serve` probing each as a target every SOAK_INTERVAL (100ms, serve's
# minimum): about 100 probe cycles a second, each through the daemon's whole
# path (the non-blocking probe on the target's one kept connection, rules,
# the alert state machine, a sample written to the SQLite store, the
# metrics that /metrics serves).  Once a second the script reads serve's
# RSS, open fds and threads from /proc (before its own request, so its
# connection is not counted), then GET /metrics for the probe counters; every
# 5 s it counts serve's backends on the cluster.
#
# The first SOAK_WARMUP (12,000) cycles are a warm-up: every probe adds a
# sample to serve's SQLite store, and SQLite's page cache (2000 KiB by
# default) grows with the new pages until it is full, after some 11,000
# samples -- bounded, but it would pass for growth.  The soak proper is the
# SOAK_CYCLES (10,000) cycles after it; the script stops there, or fails
# after SOAK_MAX_SECONDS (900) in all.
#
# Verdict: the cycles done; no probe error, every target up at the end; RSS
# at most 10 % above its value at the end of the warm-up in every later
# sample; the fd and thread counts identical in every sample after the first
# cycle (warm-up included); never more than one backend per target; serve's
# log without warnings or errors; serve exits 0 on SIGTERM.  Prints a sample
# every 1,000 cycles of the soak; ends with "soak: PASS" or "soak: FAIL";
# exit 0 or 1 (2: could not set up).
#
# Environment: PGMEDIC (build/pgmedic), SOAK_TARGETS, SOAK_INTERVAL,
# SOAK_WARMUP, SOAK_CYCLES, SOAK_MAX_SECONDS, LOAD_KEEP=1 (keep the work
# directory).
set -euo pipefail

NAME=soak
# shellcheck source=tests/load/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGETS=${SOAK_TARGETS:-10}
INTERVAL=${SOAK_INTERVAL:-100ms}
CYCLES=${SOAK_CYCLES:-10000}
WARM=${SOAK_WARMUP:-12000}
MAX_SECONDS=${SOAK_MAX_SECONDS:-900}
STEP=1000
END=$((WARM + CYCLES))

say "starting a cluster with $TARGETS databases"
start_cluster "$TARGETS"
write_conf "$WORK/serve.ini" "$TARGETS" "$INTERVAL"
start_serve "$WORK/serve.ini" "$TARGETS"
say "serve (pid $SERVE_PID) on $SERVE_URL, every target up; $WARM cycles of warm-up, then $CYCLES"

printf '# pgmedic serve soak: %d targets (one cluster, %d databases), interval %s, %d probe cycles after %d of warm-up\n' \
    "$TARGETS" "$TARGETS" "$INTERVAL" "$CYCLES" "$WARM"
samples=$WORK/samples.tsv
printf 't_s\tcycles\trss_kb\tfds\tthreads\tbackends\n' >"$samples"
t0=$EPOCHREALTIME
k=0 probes=0 errs=0 up=0 nb_max=0 nb=0 gone=0
while :; do
    now=$EPOCHREALTIME
    t=$(awk -v a="$t0" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
    if ! s=$(proc_sample "$SERVE_PID"); then gone=1; break; fi
    if [ $((k % 5)) = 0 ]; then
        nb=$(backends)
        [ "$nb" -le "$nb_max" ] || nb_max=$nb
    fi
    curl -sf --max-time 10 -o "$WORK/metrics" "$SERVE_URL/metrics" || { gone=1; break; }
    read -r up probes errs _ <<<"$(metrics_sums "$WORK/metrics")"
    printf '%s\t%s\t%s\t%s\n' "$t" "$probes" "${s// /$'\t'}" "$nb" >>"$samples"
    k=$((k + 1))
    [ "$probes" -lt "$END" ] || break
    if [ $((${now%.*} - ${t0%.*})) -ge "$MAX_SECONDS" ]; then break; fi
    # On the second: sleep what is left of it.
    sleep "$(awk -v a="$t0" -v k="$k" -v n="$EPOCHREALTIME" 'BEGIN { w = a + k - n; printf "%.3f", (w > 0 ? w : 0) }')"
done
elapsed=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')

# Samples: the first, one row per STEP cycles (the first sample at or past
# each step) and the last.
printf 'cycles: %d in %s s (%.0f/s), %d samples (one a second)\n' "$probes" "$elapsed" \
    "$(awk -v p="$probes" -v e="$elapsed" 'BEGIN { print (e > 0 ? p / e : 0) }')" "$k"
printf '%8s %8s %10s %6s %8s %9s\n' cycles t_s rss_kB fds threads backends
awk -F'\t' -v step="$STEP" -v warm="$WARM" '
    NR == 1 { next }
    NR == 2 { printf "%8d %8s %10d %6d %8d %9s   (first)\n", $2, $1, $3, $4, $5, $6; pnr = NR; next_at = step; next }
    { last = $0; lastnr = NR }
    $2 >= next_at { printf "%8d %8s %10d %6d %8d %9s%s\n", $2, $1, $3, $4, $5, $6, ($2 < warm ? "   (warm-up)" : ""); pnr = NR
                    while (next_at <= $2) next_at += step }
    END { if (lastnr != pnr) { split(last, f, "\t")
          printf "%8d %8s %10d %6d %8d %9s   (last)\n", f[2], f[1], f[3], f[4], f[5], f[6] } }' "$samples"

# The numbers the verdict needs, from the samples past the first cycle/warm-up.
read -r rss_warm rss_max_after rss_min rss_max fd_min fd_max thr_min thr_max <<<"$(awk -F'\t' -v warm="$WARM" '
    NR == 1 { next }
    { if (rmin == "" || $3 < rmin) rmin = $3; if ($3 > rmax) rmax = $3 }
    $2 >= 1 { if (fmin == "" || $4 < fmin) fmin = $4; if ($4 > fmax) fmax = $4
              if (tmin == "" || $5 < tmin) tmin = $5; if ($5 > tmax) tmax = $5 }
    $2 >= warm { if (rw == "") rw = $3; else if ($3 > rma) rma = $3 }
    END { if (rma < rw) rma = rw; print rw + 0, rma + 0, rmin + 0, rmax + 0, fmin + 0, fmax + 0, tmin + 0, tmax + 0 }' "$samples")"
printf 'serve RSS kB: first %s, min %s, max %s; end of the warm-up (%d cycles) %s, max after %s\n' \
    "$(awk -F'\t' 'NR == 2 { print $3 }' "$samples")" "$rss_min" "$rss_max" "$WARM" "$rss_warm" "$rss_max_after"
printf 'serve open fds: min %s, max %s; threads: min %s, max %s; backends: max %s\n' \
    "$fd_min" "$fd_max" "$thr_min" "$thr_max" "$nb_max"

printf 'verdict:\n'
problems=$(serve_problems)
check "$([ "$gone" = 0 ] && echo 1)" "serve ran to the end"
check "$([ "$probes" -ge "$END" ] && echo 1)" \
    "probe cycles: $probes of $WARM warm-up + $CYCLES (in at most $MAX_SECONDS s)"
check "$([ "$errs" = 0 ] && [ "$up" = "$TARGETS" ] && echo 1)" \
    "probe errors: $errs; targets up at the end: $up of $TARGETS"
check "$(awk -v w="$rss_warm" -v m="$rss_max_after" 'BEGIN { if (w > 0 && m < 1.10 * w) print 1 }')" \
    "RSS growth over the $CYCLES cycles after the warm-up below 10 %: $rss_warm kB then at most $rss_max_after kB ($(awk -v w="$rss_warm" -v m="$rss_max_after" -v c="$((probes - WARM))" 'BEGIN { printf "%+.1f %%, %+.0f bytes a cycle", (w > 0 ? 100 * (m - w) / w : 0), (c > 0 ? 1024 * (m - w) / c : 0) }'))"
check "$([ "$fd_min" = "$fd_max" ] && [ "$thr_min" = "$thr_max" ] && echo 1)" \
    "open fds constant: $fd_min..$fd_max; threads constant: $thr_min..$thr_max"
check "$([ "$nb_max" -le "$TARGETS" ] && echo 1)" "serve's backends: at most $nb_max (one per target: $TARGETS)"
check "$([ -z "$problems" ] && echo 1)" \
    "serve's log: $(grep -c . "$SERVE_LOG") lines, $(printf '%s' "$problems" | grep -c .) warnings or errors"
[ -z "$problems" ] || printf '%s\n' "$problems" | head -10 | sed 's/^/    /'
stop_serve
check "$([ "$SERVE_EXIT" = 0 ] && echo 1)" "serve exits 0 on SIGTERM: $SERVE_EXIT"
if [ "$PASS" = 1 ]; then echo "soak: PASS"; else echo "soak: FAIL"; exit 1; fi
