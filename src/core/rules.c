/*
 * rules.c - alert rules over a snapshot.
 */
#include "core/rules.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/parse.h"

const char *const rules_alert_names[] = {
    "DatabaseConnectionFailure",
    "DatabaseHighConnections",
    "DatabaseSlowQueries",
    NULL,
};

static const char *
arena_printf(Arena *arena, const char *fmt, ...) PM_PRINTF(2, 3);

static const char *
arena_printf(Arena *arena, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return arena_strdup(arena, buf);
}

static int
push(Arena *arena, AlertList *list, size_t cap, const char *name, Severity severity,
     double value, double threshold, const char *summary)
{
    Alert *alert;

    if (summary == NULL || list->n_alerts >= cap)
        return -1;
    alert = &list->alerts[list->n_alerts++];
    alert->name = name;
    alert->severity = severity;
    alert->value = value;
    alert->threshold = threshold;
    alert->summary = summary;
    (void) arena;
    return 0;
}

static int
eval_failure(const Snapshot *snap, Arena *arena, AlertList *list, size_t cap)
{
    const char *summary;

    summary = arena_printf(arena, "cannot reach %s: %s (%s)", snap->target ? snap->target : "?",
                           snapshot_failure_name(snap->failure),
                           snap->failure_message ? snap->failure_message : "no detail");
    return push(arena, list, cap, "DatabaseConnectionFailure", SEV_CRITICAL, 1.0, 1.0, summary);
}

static int
eval_connections(const Snapshot *snap, const Thresholds *th, Arena *arena, AlertList *list,
                 size_t cap)
{
    int64_t usable = snapshot_usable_slots(snap);
    double ratio, threshold;
    Severity severity;

    if (usable <= 0)
        return 0;
    ratio = (double) snap->n_clients / (double) usable;
    if (ratio >= th->connections_critical)
    {
        severity = SEV_CRITICAL;
        threshold = th->connections_critical;
    }
    else if (ratio >= th->connections_warning)
    {
        severity = SEV_WARNING;
        threshold = th->connections_warning;
    }
    else
        return 0;
    return push(arena, list, cap, "DatabaseHighConnections", severity, ratio, threshold,
                arena_printf(arena,
                             "%lld of %lld usable connection slots in use (%.0f%%): %lld active, "
                             "%lld idle, %lld idle in transaction",
                             (long long) snap->n_clients, (long long) usable, ratio * 100.0,
                             (long long) snap->n_active, (long long) snap->n_idle,
                             (long long) snap->n_idle_in_transaction));
}

static int
eval_slow(const Snapshot *snap, const Thresholds *th, Arena *arena, AlertList *list, size_t cap)
{
    double longest = snap->longest_query_s;
    double warn = (double) th->slow_query_warning_ms / 1000.0;
    double crit = (double) th->slow_query_critical_ms / 1000.0;
    char age[32];
    const char *who;
    Severity severity;
    double threshold;

    if (longest >= crit)
    {
        severity = SEV_CRITICAL;
        threshold = crit;
    }
    else if (longest >= warn)
    {
        severity = SEV_WARNING;
        threshold = warn;
    }
    else
        return 0;
    format_age(longest, age, sizeof(age));
    if (snap->longest_query_pid != 0)
        who = arena_printf(arena, " (pid %d, application \"%s\"%s)", (int) snap->longest_query_pid,
                           snap->longest_query_application ? snap->longest_query_application : "",
                           snap->longest_query_waiting ? ", waiting on a lock" : "");
    else
        who = "";
    return push(arena, list, cap, "DatabaseSlowQueries", severity, longest, threshold,
                arena_printf(arena, "the oldest active query has run for %s%s", age,
                             who ? who : ""));
}

int
rules_eval(const Snapshot *snap, const Thresholds *th, Arena *arena, AlertList *out)
{
    const size_t cap = 4;
    size_t i, j;

    out->n_alerts = 0;
    out->alerts = arena_array(arena, cap, sizeof(Alert));
    if (out->alerts == NULL)
        return -1;
    if (snap->failure != CONN_OK)
        return eval_failure(snap, arena, out, cap);
    if (snap->via_reserved_slot &&
        push(arena, out, cap, "DatabaseConnectionFailure", SEV_CRITICAL, 1.0, 1.0,
             arena_printf(arena,
                          "%s refuses normal logins: %s (seen through a reserved slot)",
                          snap->target ? snap->target : "?",
                          snap->refused_message ? snap->refused_message : "too many clients")) !=
            0)
        return -1;
    if (eval_connections(snap, th, arena, out, cap) != 0 || eval_slow(snap, th, arena, out, cap) != 0)
        return -1;
    /* Most severe first; stable otherwise (insertion sort on three). */
    for (i = 1; i < out->n_alerts; i++)
        for (j = i; j > 0 && out->alerts[j].severity > out->alerts[j - 1].severity; j--)
        {
            Alert tmp = out->alerts[j];

            out->alerts[j] = out->alerts[j - 1];
            out->alerts[j - 1] = tmp;
        }
    return 0;
}

Severity
rules_worst(const AlertList *list)
{
    Severity worst = SEV_OK;
    size_t i;

    for (i = 0; i < list->n_alerts; i++)
        if (list->alerts[i].severity > worst)
            worst = list->alerts[i].severity;
    return worst;
}

const char *
rules_severity_name(Severity severity)
{
    switch (severity)
    {
    case SEV_OK:
        return "ok";
    case SEV_WARNING:
        return "warning";
    case SEV_CRITICAL:
        return "critical";
    }
    return "unknown";
}
