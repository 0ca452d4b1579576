/*
 * action.c - planning top's cancel and terminate keys with fix's planner.
 */
#include "tui/action.h"

#include <stdio.h>
#include <string.h>

#include "tui/layout.h"
#include "util/parse.h"

static int
refuse(TuiSignalPlan *out, Arena *arena, const char *why)
{
    out->refused = arena_strdup(arena, why);
    return out->refused == NULL ? -1 : 0;
}

int
tui_plan_signal(const Snapshot *snap, int32_t pid, TuiSignal what, const SafetyRules *rules,
                Arena *arena, TuiSignalPlan *out)
{
    const Session *s;
    SignalRequest req;
    SignalPlan all;
    const PlannedSignal *found = NULL;
    PlannedSignal *one;
    size_t i, behind;
    char text[512], age[32];
    bool root;

    memset(out, 0, sizeof(*out));
    if (snap->failure != CONN_OK)
        return refuse(out, arena, "the server cannot be reached");
    s = pid != 0 ? snapshot_session(snap, pid) : NULL;
    if (s == NULL)
        return refuse(out, arena, "no session selected");
    if (what == TUI_SIGNAL_TERMINATE_ROOT)
    {
        int32_t top = tui_lock_root(snap, pid);

        if (top == 0)
        {
            snprintf(text, sizeof(text), "pid %d is in no lock tree whose root is listed",
                     (int) pid);
            return refuse(out, arena, text);
        }
        s = snapshot_session(snap, top);
        pid = top;
    }
    behind = tui_lock_waiters(snap, pid);
    root = !tui_session_waits_on_lock(s) && behind > 0;

    memset(&req, 0, sizeof(req));
    req.age_ms = 0; /* a person chose the session: no threshold, the re-check still holds */
    if (what != TUI_SIGNAL_CANCEL && root)
        req.action = FIX_TERMINATE_BLOCKERS;
    else if (s->state != NULL && strcmp(s->state, "active") == 0)
        req.action = FIX_CANCEL_LONG;
    else if (what == TUI_SIGNAL_CANCEL)
    {
        snprintf(text, sizeof(text),
                 "pid %d is %s: it runs no query to cancel (K terminates the session)", (int) pid,
                 s->state ? s->state : "in an unknown state");
        return refuse(out, arena, text);
    }
    else if (s->state != NULL && strcmp(s->state, "idle") == 0)
        req.action = FIX_TERMINATE_IDLE;
    else if (snapshot_state_is_idle_in_xact(s->state))
        req.action = FIX_TERMINATE_IDLE_IN_XACT;
    else
    {
        snprintf(text, sizeof(text),
                 "pid %d is in state \"%s\", which the re-check before signalling cannot verify",
                 (int) pid, s->state ? s->state : "?");
        return refuse(out, arena, text);
    }
    if (plan_signals(snap, &req, rules, arena, &all) != 0)
        return -1;
    for (i = 0; i < all.n_items; i++)
        if (all.items[i].session == s)
            found = &all.items[i];
    if (found == NULL)
    {
        snprintf(text, sizeof(text),
                 "pid %d cannot be re-checked before signalling: its %s is not in the snapshot",
                 (int) pid,
                 req.action == FIX_TERMINATE_BLOCKERS ? "xact_start"
                 : req.action == FIX_CANCEL_LONG      ? "query_start"
                                                      : "state_change");
        return refuse(out, arena, text);
    }
    if (found->skip != NULL)
    {
        snprintf(text, sizeof(text), "pid %d is left alone: %s", (int) pid, found->skip);
        return refuse(out, arena, text);
    }
    if (rules->max_terminations < 1)
        return refuse(out, arena, "[safety] max_terminations is 0: nothing may be signalled");

    one = arena_alloc(arena, sizeof(PlannedSignal));
    if (one == NULL)
        return -1;
    *one = *found;
    out->plan.items = one;
    out->plan.n_items = 1;
    out->plan.n_act = 1;
    out->terminate = what != TUI_SIGNAL_CANCEL;
    out->pid = pid;
    out->audit_action = req.action == FIX_TERMINATE_BLOCKERS ? "terminate-blockers"
                        : out->terminate                     ? "terminate-session"
                                                             : "cancel-session";
    format_age(tui_session_duration(s), age, sizeof(age));
    snprintf(text, sizeof(text), "%s pid %d (%s%s %s, application \"%s\", user \"%s\"",
             out->terminate ? "terminate" : "cancel the query of", (int) pid,
             root ? "root blocker, " : "", s->state ? s->state : "?", age,
             s->application ? s->application : "", s->user ? s->user : "");
    if (behind > 0)
        snprintf(text + strlen(text), sizeof(text) - strlen(text), ", blocks %zu", behind);
    snprintf(text + strlen(text), sizeof(text) - strlen(text), ")");
    /* Names come from the server: made safe for the terminal like every other line. */
    out->description = tui_clean(arena, text, -1);
    return out->description == NULL ? -1 : 0;
}
