/*
 * metrics.h - the Prometheus text exposition (format 0.0.4) of serve's
 * targets: GET /metrics (every target) and GET /probe?target=NAME (one).
 *
 * Every metric name starts with pgmedic_ and carries the label target="NAME";
 * names follow Prometheus' conventions (base units, _seconds, _bytes, _total
 * for counters), each family has one HELP and one TYPE line, and
 * `promtool check metrics` reports nothing.  The alert rules of
 * `pgmedic rules` (rules/pgmedic.rules.yml, printed by src/cmd/rules.c) are
 * written over exactly these names.
 *
 * The families, in this order (docs/alerts.md says more):
 *
 *   pgmedic_up                                   gauge    1 read, 0 could not
 *   pgmedic_probe_failure_info{reason}           gauge    1 while the last probe failed
 *   pgmedic_probes_total                         counter
 *   pgmedic_probe_errors_total                   counter
 *   pgmedic_probe_duration_seconds               gauge    the last probe
 *   pgmedic_alert_firing{alertname}              gauge    pgmedic's own three alerts
 *   pgmedic_login_refused                        gauge    seen through reserved_conninfo
 *   pgmedic_connections{state}                   gauge    active, idle, idle in transaction,
 *                                                         other: they add up to the clients
 *   pgmedic_application_connections{application} gauge    top_apps names + "other"
 *   pgmedic_connection_slots_usable              gauge
 *   pgmedic_connection_slots_reserved            gauge
 *   pgmedic_longest_query_seconds                gauge
 *   pgmedic_longest_transaction_seconds          gauge
 *   pgmedic_longest_idle_in_transaction_seconds  gauge
 *   pgmedic_longest_idle_seconds                 gauge
 *   pgmedic_lock_waiting_sessions                gauge
 *   pgmedic_longest_lock_wait_seconds            gauge
 *   pgmedic_lock_trees                           gauge    root blockers
 *   pgmedic_lock_chain_max_depth                 gauge    in edges
 *   pgmedic_dead_tuples                          gauge    in the tables the probe read
 *   pgmedic_bloated_tables                       gauge    past th->dead_tuple_ratio
 *   pgmedic_stale_statistics_tables              gauge    past th->stale_statistics_ratio
 *   pgmedic_wal_bytes                            gauge    absent when unreadable
 *   pgmedic_max_wal_size_bytes                   gauge    absent when unknown
 *
 * Before a target's first probe only the two counters are written; after a
 * failed one, only up, failure_info, the probe families and alert_firing (no
 * stale server numbers).  A family with no sample has no HELP/TYPE either.
 *
 * Pure: renders into a buffer, no I/O, no clock.  Thread-safe (no state).
 */
#ifndef PGMEDIC_RENDER_METRICS_H
#define PGMEDIC_RENDER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/alertstate.h"
#include "core/snapshot.h"
#include "core/thresholds.h"
#include "util/compiler.h"
#include "util/strbuf.h"

typedef struct
{
    const char *target;          /* the [target NAME] */
    const Snapshot *snap;        /* the last finished probe; NULL before the first */
    const AlertTracker *alerts;  /* NULL before the first probe */
    uint64_t probes_total;       /* probes finished */
    uint64_t probe_errors_total; /* of those, the ones that could not read the server */
    double last_probe_seconds;   /* how long the last one took */
} MetricsTarget;

/*
 * Appends the exposition of n targets.  top_apps bounds the application
 * label: the top_apps applications with most connections keep their name,
 * the rest are summed under application="other".  -1 when out of memory.
 */
int metrics_render(StrBuf *out, const MetricsTarget *targets, size_t n, const Thresholds *th,
                   int top_apps) PM_MUST_CHECK;

#endif
