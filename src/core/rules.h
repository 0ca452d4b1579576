/*
 * rules.h - the runbook's three alerts, evaluated on one snapshot.
 *
 *   DatabaseConnectionFailure  the server could not be reached (critical)
 *   DatabaseHighConnections    client backends / usable slots past a ratio
 *   DatabaseSlowQueries        the oldest active query past a duration
 *
 * Pure: no I/O, no clock.  Alerts and their strings live in the arena.
 */
#ifndef PGMEDIC_CORE_RULES_H
#define PGMEDIC_CORE_RULES_H

#include <stddef.h>

#include "core/snapshot.h"
#include "core/thresholds.h"
#include "util/arena.h"
#include "util/compiler.h"

typedef enum
{
    SEV_OK = 0,
    SEV_WARNING = 1,
    SEV_CRITICAL = 2
} Severity;

typedef struct
{
    const char *name; /* "DatabaseHighConnections" */
    Severity severity;
    double value;     /* ratio for connections, seconds for queries, 1 for failure */
    double threshold; /* the one crossed */
    const char *summary;
} Alert;

typedef struct
{
    Alert *alerts; /* only firing ones, most severe first */
    size_t n_alerts;
} AlertList;

/* Evaluates every rule; -1 when out of memory. */
int rules_eval(const Snapshot *snap, const Thresholds *th, Arena *arena,
               AlertList *out) PM_MUST_CHECK;

/* The highest severity in the list; SEV_OK when empty. */
Severity rules_worst(const AlertList *list);

/* "ok", "warning", "critical". */
const char *rules_severity_name(Severity severity);

/* The names of every alert rule, NULL-terminated. */
extern const char *const rules_alert_names[];

#endif
