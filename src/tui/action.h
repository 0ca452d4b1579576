/*
 * action.h - what a key of `pgmedic top` may do to the selected session:
 * cancel it, terminate it, or terminate the root of its lock tree, decided
 * by fix's own planner (core/plan.h) and safety rules.
 *
 * Pure: the plan comes from the snapshot on the screen.  The session is
 * then signalled by sql/act_signal.sql, which re-checks on the live server
 * that it is still the session the screen showed, in the same state (the
 * same query for an active one, the same transaction and still blocking for
 * a root blocker), so a refresh between the key and the confirmation can
 * never make top signal another session.
 */
#ifndef PGMEDIC_TUI_ACTION_H
#define PGMEDIC_TUI_ACTION_H

#include <stdbool.h>
#include <stdint.h>

#include "core/plan.h"
#include "core/snapshot.h"
#include "util/arena.h"
#include "util/compiler.h"

typedef enum
{
    TUI_SIGNAL_CANCEL = 0,    /* pg_cancel_backend: active sessions only */
    TUI_SIGNAL_TERMINATE,     /* pg_terminate_backend of the session itself */
    TUI_SIGNAL_TERMINATE_ROOT /* pg_terminate_backend of the root of its lock tree */
} TuiSignal;

typedef struct
{
    const char *refused;      /* why nothing may be done; NULL when it may */
    SignalPlan plan;          /* one item to act on (when not refused) */
    bool terminate;           /* terminate, else cancel */
    const char *audit_action; /* "terminate-blockers", "terminate-session", "cancel-session" */
    const char *description;  /* "terminate pid 123 (idle in transaction 2.0s, ...)" */
    int32_t pid;              /* the session to signal (the root for TERMINATE_ROOT) */
} TuiSignalPlan;

/*
 * Plans what on the session pid of snap, through plan_signals() with a
 * threshold of 0 and the rules given: pgmedic's own session, non-client
 * backends, protected roles and applications and superusers' sessions
 * (unless rules allow) are refused with the planner's reason, as is a
 * budget (max_terminations) below one.  A session that blocks others and
 * waits on no lock is terminated as a root blocker (terminate-blockers:
 * re-checked as the same transaction, still blocking); any other by its
 * state (idle, idle in transaction, or active: the same query).  Cancel
 * applies to active sessions only.  Strings live in arena; -1 when out of
 * memory.
 */
int tui_plan_signal(const Snapshot *snap, int32_t pid, TuiSignal what, const SafetyRules *rules,
                    Arena *arena, TuiSignalPlan *out) PM_MUST_CHECK;

#endif
