/*
 * plan.c - selecting sessions for fix, with the guards.
 */
#include "core/plan.h"

#include <stdio.h>
#include <string.h>

bool
plan_list_contains(const char *list, const char *name)
{
    const char *p = list;
    size_t len;

    if (list == NULL || name == NULL)
        return false;
    len = strlen(name);
    while (*p)
    {
        const char *start, *end;

        while (*p == ' ' || *p == ',')
            p++;
        start = p;
        while (*p && *p != ',')
            p++;
        end = p;
        while (end > start && end[-1] == ' ')
            end--;
        if ((size_t) (end - start) == len && len > 0 && strncmp(start, name, len) == 0)
            return true;
    }
    return false;
}

const char *
plan_action_name(SignalAction action)
{
    switch (action)
    {
    case FIX_TERMINATE_IDLE:
        return "terminate-idle";
    case FIX_TERMINATE_IDLE_IN_XACT:
        return "terminate-idle-in-transaction";
    case FIX_CANCEL_LONG:
        return "cancel-long";
    case FIX_TERMINATE_BLOCKERS:
        return "terminate-blockers";
    }
    return "?";
}

static bool
matches_filters(const Session *s, const SignalRequest *req)
{
    if (req->application && (s->application == NULL || strcmp(s->application, req->application)))
        return false;
    if (req->user && (s->user == NULL || strcmp(s->user, req->user) != 0))
        return false;
    if (req->client && (s->client == NULL || strcmp(s->client, req->client) != 0))
        return false;
    return true;
}

static bool
is_lock_waiter(const Session *s)
{
    return s->wait_event_type != NULL && strcmp(s->wait_event_type, "Lock") == 0 &&
           s->n_blocked_by > 0;
}

/*
 * The root of the lock tree above s: follow the first blocker until a session
 * that waits on no lock.  A cycle (a deadlock about to be broken by the
 * server) or a blocker missing from the snapshot gives NULL.
 */
static const Session *
root_of(const Snapshot *snap, const Session *s)
{
    size_t steps = 0;

    while (is_lock_waiter(s))
    {
        const Session *up = snapshot_session(snap, s->blocked_by[0]);

        if (up == NULL || ++steps > snap->n_sessions)
            return NULL;
        s = up;
    }
    return s;
}

/* Why a session is left alone whatever the action; NULL when it may be signalled. */
static const char *
guard(const Snapshot *snap, const Session *s, const SafetyRules *rules, Arena *arena)
{
    char buf[256];

    if (s->pid == snap->own_pid)
        return "pgmedic's own session";
    if (s->application && plan_list_contains(rules->protect_applications, s->application))
    {
        snprintf(buf, sizeof(buf), "protected application \"%s\" (safety.protect_applications)",
                 s->application);
        return arena_strdup(arena, buf);
    }
    if (s->user && plan_list_contains(rules->protect_roles, s->user))
    {
        snprintf(buf, sizeof(buf), "protected role \"%s\" (safety.protect_roles)", s->user);
        return arena_strdup(arena, buf);
    }
    if (s->is_superuser && !rules->may_signal_superuser)
        return "a superuser's session, and pgmedic is not a superuser";
    return NULL;
}

int
plan_signals(const Snapshot *snap, const SignalRequest *req, const SafetyRules *rules,
             Arena *arena, SignalPlan *out)
{
    double age_s = (double) req->age_ms / 1000.0;
    size_t i, j;

    memset(out, 0, sizeof(*out));
    out->items = arena_array(arena, snap->n_sessions ? snap->n_sessions : 1, sizeof(PlannedSignal));
    if (out->items == NULL)
        return -1;

    for (i = 0; i < snap->n_sessions; i++)
    {
        const Session *s = &snap->sessions[i];
        PlannedSignal p;

        memset(&p, 0, sizeof(p));
        p.session = s;
        switch (req->action)
        {
        case FIX_TERMINATE_IDLE:
            if (s->state == NULL || strcmp(s->state, "idle") != 0 || s->state_age_s < age_s)
                continue;
            p.mode = "idle";
            p.age_s = s->state_age_s;
            break;
        case FIX_TERMINATE_IDLE_IN_XACT:
            if (!snapshot_state_is_idle_in_xact(s->state) || s->state_age_s < age_s)
                continue;
            p.mode = "idle_in_transaction";
            p.age_s = s->state_age_s;
            break;
        case FIX_CANCEL_LONG:
            if (s->state == NULL || strcmp(s->state, "active") != 0 || s->query_age_s < age_s ||
                s->query_start == NULL)
                continue;
            p.mode = "active";
            p.since = s->query_start;
            p.age_s = s->query_age_s;
            break;
        case FIX_TERMINATE_BLOCKERS:
        {
            /* A root: blocks someone whose wait passed the threshold, waits on nothing. */
            bool is_root = false;

            if (is_lock_waiter(s) || s->xact_start == NULL)
                continue;
            for (j = 0; j < snap->n_sessions; j++)
            {
                const Session *w = &snap->sessions[j];

                if (is_lock_waiter(w) && root_of(snap, w) == s)
                {
                    double waited = w->lock_wait_s >= 0 ? w->lock_wait_s : w->query_age_s;

                    p.blocked++;
                    if (waited >= age_s)
                        is_root = true;
                }
            }
            if (!is_root)
                continue;
            p.mode = "blocker";
            p.since = s->xact_start;
            p.age_s = s->xact_age_s;
            break;
        }
        }
        if (!matches_filters(s, req))
            continue;
        p.skip = guard(snap, s, rules, arena);
        out->items[out->n_items++] = p;
        if (p.skip == NULL)
            out->n_act++;
    }
    /* Roots with the most sessions behind them first; otherwise the oldest first. */
    for (i = 1; i < out->n_items; i++)
        for (j = i; j > 0; j--)
        {
            PlannedSignal *a = &out->items[j - 1], *b = &out->items[j];
            bool swap = req->action == FIX_TERMINATE_BLOCKERS ? b->blocked > a->blocked
                                                              : b->age_s > a->age_s;

            if (!swap)
                break;
            PlannedSignal tmp = *a;
            *a = *b;
            *b = tmp;
        }
    out->over_budget = (int64_t) out->n_act > rules->max_terminations;
    return 0;
}
