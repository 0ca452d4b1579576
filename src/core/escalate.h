/*
 * escalate.h - runbook §11 "When to Escalate", decided from plain inputs.
 *
 * Pure: no store, no clock, no I/O.  The caller summarises the incident's
 * timeline (EscalateHistory), hands over this run's snapshot, alerts and
 * findings, and gets back the rules that fire now, each with a reason a
 * person can act on.  "Now" is the snapshot's taken_at.
 *
 * The four rules, exactly:
 *
 *   unresponsive_after_restart
 *       an applied `pgmedic fix restart` is on the timeline (last_restart_at),
 *       this snapshot was taken at least restart_wait after it, and the server
 *       does not accept connections: failure server_down, timeout,
 *       starting_up, shutting_down or in_recovery.  (A login refused for lack
 *       of slots, a bad password or a missing database is an answer, not an
 *       unresponsive server.)
 *   corruption
 *       pg_stat_database counts data checksum failures (checksum_failures >
 *       0, on a reachable server), or one of the server log lines read from
 *       the host contains "invalid page", "could not read block" or
 *       "checksum verification failed".  Fires at once: no wait.
 *   persists_after_fix
 *       an applied remediation of any action is on the timeline (last_fix_at),
 *       this snapshot was taken at least verify_window after the latest one,
 *       and an alert fires now that was firing before it: the incident's own
 *       alert, or one in alerts_before_fix.
 *   root_cause_unclear
 *       an alert fires now that no finding explains, and the incident has been
 *       open at least escalate_after.  "No finding explains" is a finding of
 *       kind unexplained for that alert in this run's findings; a run without
 *       findings (check, verify, fix) uses the latest diagnosis on the
 *       timeline (history->unexplained).
 *
 * A rule whose bit is set in history->escalated has already been escalated
 * for this incident and is not reported again.
 */
#ifndef PGMEDIC_CORE_ESCALATE_H
#define PGMEDIC_CORE_ESCALATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/finding.h"
#include "core/rules.h"
#include "core/snapshot.h"
#include "util/arena.h"
#include "util/compiler.h"

typedef enum
{
    ESCALATE_UNRESPONSIVE_AFTER_RESTART = 0,
    ESCALATE_CORRUPTION,
    ESCALATE_PERSISTS_AFTER_FIX,
    ESCALATE_ROOT_CAUSE_UNCLEAR,
    ESCALATE_N_RULES
} EscalateRule;

/* What the incident's timeline says, summarised by the caller. */
typedef struct
{
    double opened_at;       /* Unix time */
    const char *alert;      /* the incident's alert; NULL when none */
    double last_restart_at; /* the latest applied `fix restart`; 0 when none */
    double last_fix_at;     /* the latest applied remediation of any action; 0 when none */
    const char *const *alerts_before_fix; /* alert names seen firing up to last_fix_at */
    size_t n_alerts_before_fix;
    const char *const *unexplained; /* alerts the latest diagnosis left unexplained */
    size_t n_unexplained;
    unsigned escalated; /* bit (1u << rule) for each rule escalated already */
} EscalateHistory;

/* The waits, from [escalation] in the configuration. */
typedef struct
{
    int64_t escalate_after_ms;
    int64_t restart_wait_ms;
    int64_t verify_window_ms;
} EscalatePolicy;

typedef struct
{
    EscalateRule rule;
    const char *name;   /* escalate_rule_name(rule) */
    const char *reason; /* one line, in the arena */
} EscalateReason;

typedef struct
{
    EscalateReason *items; /* in rule order */
    size_t n_items;
} EscalateList;

/*
 * Evaluates the four rules for this run.  alerts are this run's firing
 * alerts; findings may be NULL (the run did not diagnose).  *out is reset
 * first; strings live in arena.  Returns 0, or -1 when out of memory.
 */
int escalate_eval(const Snapshot *snap, const AlertList *alerts, const FindingList *findings,
                  const EscalateHistory *history, const EscalatePolicy *policy, Arena *arena,
                  EscalateList *out) PM_MUST_CHECK;

/* "unresponsive_after_restart", "corruption", "persists_after_fix", "root_cause_unclear". */
const char *escalate_rule_name(EscalateRule rule);

/* The inverse; -1 for an unknown name. */
int escalate_rule_from_name(const char *name);

/* The runbook's words for a rule ("Database remains unresponsive after restart", ...). */
const char *escalate_rule_runbook(EscalateRule rule);

/* True when a server log line suggests corruption (the patterns above). */
bool escalate_is_corruption_line(const char *line);

#endif
