/*
 * thresholds.h - the numbers the rules and the diagnosis compare against.
 * Defaults are the runbook's; they live in the configuration key table
 * (src/conf/conf.c).
 */
#ifndef PGMEDIC_CORE_THRESHOLDS_H
#define PGMEDIC_CORE_THRESHOLDS_H

#include <stdint.h>

typedef struct
{
    double connections_warning; /* of usable slots */
    double connections_critical;
    int64_t slow_query_warning_ms;
    int64_t slow_query_critical_ms;
    int64_t idle_connection_ms;
    int64_t idle_in_transaction_ms;
    int64_t lock_wait_ms;
    double dead_tuple_ratio;
    double stale_statistics_ratio;
} Thresholds;

#endif
