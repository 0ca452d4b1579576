/*
 * plan.h - what `pgmedic fix` would do to sessions, decided from a snapshot
 * and the safety rules alone (pure: no server, no clock).
 *
 * The plan lists every session the action selects: those it will signal and
 * those it leaves alone, with the reason.  The statement that signals
 * (sql/act_signal.sql) re-checks the same conditions on the live server, so a
 * plan can never make pgmedic signal a session that changed in between.
 */
#ifndef PGMEDIC_CORE_PLAN_H
#define PGMEDIC_CORE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/snapshot.h"
#include "util/arena.h"
#include "util/compiler.h"

typedef enum
{
    FIX_TERMINATE_IDLE,
    FIX_TERMINATE_IDLE_IN_XACT,
    FIX_CANCEL_LONG,
    FIX_TERMINATE_BLOCKERS
} SignalAction;

typedef struct
{
    SignalAction action;
    int64_t age_ms;          /* idle-for / running-for / lock-wait */
    const char *application; /* filters; NULL matches any */
    const char *user;
    const char *client;
    bool terminate; /* cancel-long: terminate (after the grace period) instead of cancel */
} SignalRequest;

typedef struct
{
    const char *protect_applications; /* comma lists, from [safety] */
    const char *protect_roles;
    int64_t max_terminations;
    bool may_signal_superuser; /* pgmedic's role is a superuser */
} SafetyRules;

typedef struct
{
    const Session *session;
    const char *skip;  /* NULL: it will be signalled; otherwise why not */
    const char *mode;  /* what act_signal re-checks: idle, idle_in_transaction, active, blocker */
    const char *since; /* query_start (active) or xact_start (blocker); NULL otherwise */
    double age_s;      /* the age the selection was made on */
    int64_t blocked;   /* blocker: sessions waiting behind it (transitively) */
} PlannedSignal;

typedef struct
{
    PlannedSignal *items; /* the ones to signal first (roots before others) */
    size_t n_items;
    size_t n_act;     /* items with skip == NULL */
    bool over_budget; /* n_act > max_terminations: refuse */
} SignalPlan;

/* Plans the action; -1 when out of memory. */
int plan_signals(const Snapshot *snap, const SignalRequest *req, const SafetyRules *rules,
                 Arena *arena, SignalPlan *out) PM_MUST_CHECK;

/* True when name is one of the comma-separated items of list (spaces trimmed). */
bool plan_list_contains(const char *list, const char *name);

/* "terminate-idle", ... */
const char *plan_action_name(SignalAction action);

#endif
