/*
 * alertstate.h - each alert's life over successive snapshots, as Prometheus
 * tracks it: inactive -> pending -> firing (once it has held for `for`) ->
 * resolved (inactive again, with the time it stopped).
 *
 * serve keeps one AlertTracker per target and feeds it each probe's
 * AlertList.  Pure: the caller passes the time; no I/O.
 */
#ifndef PGMEDIC_CORE_ALERTSTATE_H
#define PGMEDIC_CORE_ALERTSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rules.h"

/* One per name in rules_alert_names, in that order. */
enum
{
    ALERT_RULES = 3
};

typedef enum
{
    PHASE_INACTIVE = 0,
    PHASE_PENDING,
    PHASE_FIRING
} AlertPhase;

typedef struct
{
    const char *name;   /* rules_alert_names[i] */
    AlertPhase phase;
    Severity severity;  /* while pending/firing: the latest evaluation's */
    double value;       /* and its value */
    double active_since; /* wall time it became pending (0 when inactive) */
    double fired_at;     /* wall time it became firing (0 when not firing) */
    double resolved_at;  /* wall time it last went from firing to inactive (0: never) */
    double changed_at;   /* wall time of the last phase change (0: never) */
    char summary[256];   /* the latest evaluation's one-line summary */
} AlertState;

typedef struct
{
    AlertState alerts[ALERT_RULES];
} AlertTracker;

/* A phase change, for the store and the log. */
typedef struct
{
    const char *name;
    AlertPhase from, to;
    Severity severity;
    double at;
    const char *summary; /* points into the tracker */
} AlertChange;

/* All inactive. */
void alerttrack_init(AlertTracker *t);

/*
 * Applies one evaluation taken at `now` (wall time, seconds).  for_s[i] is
 * how long alert i must hold before it fires (0: at once).  Writes the phase
 * changes into changes (room for ALERT_RULES) and returns how many.
 */
size_t alerttrack_update(AlertTracker *t, const AlertList *firing, const double for_s[ALERT_RULES],
                         double now, AlertChange changes[ALERT_RULES]);

/* "inactive", "pending", "firing". */
const char *alertstate_phase_name(AlertPhase phase);

/* The index of name in rules_alert_names, or -1. */
int alertstate_index(const char *name);

#endif
