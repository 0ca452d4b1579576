/*
 * escalate.c - the runbook's four reasons to escalate (see escalate.h).
 */
#include "core/escalate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/parse.h"

static const char *const rule_names[ESCALATE_N_RULES] = {
    [ESCALATE_UNRESPONSIVE_AFTER_RESTART] = "unresponsive_after_restart",
    [ESCALATE_CORRUPTION] = "corruption",
    [ESCALATE_PERSISTS_AFTER_FIX] = "persists_after_fix",
    [ESCALATE_ROOT_CAUSE_UNCLEAR] = "root_cause_unclear",
};

static const char *const rule_runbook[ESCALATE_N_RULES] = {
    [ESCALATE_UNRESPONSIVE_AFTER_RESTART] = "Database remains unresponsive after restart",
    [ESCALATE_CORRUPTION] = "Data corruption is suspected",
    [ESCALATE_PERSISTS_AFTER_FIX] = "Performance issues persist after optimization",
    [ESCALATE_ROOT_CAUSE_UNCLEAR] = "Root cause is unclear after 1 hour",
};

/* Log text that means pages or blocks cannot be trusted. */
static const char *const corruption_patterns[] = {
    "invalid page",
    "could not read block",
    "checksum verification failed",
};

const char *
escalate_rule_name(EscalateRule rule)
{
    return (unsigned) rule < ESCALATE_N_RULES ? rule_names[rule] : "?";
}

const char *
escalate_rule_runbook(EscalateRule rule)
{
    return (unsigned) rule < ESCALATE_N_RULES ? rule_runbook[rule] : "?";
}

int
escalate_rule_from_name(const char *name)
{
    int i;

    for (i = 0; name != NULL && i < ESCALATE_N_RULES; i++)
        if (strcmp(rule_names[i], name) == 0)
            return i;
    return -1;
}

bool
escalate_is_corruption_line(const char *line)
{
    size_t i;

    for (i = 0; line != NULL && i < PM_LENGTHOF(corruption_patterns); i++)
        if (strstr(line, corruption_patterns[i]) != NULL)
            return true;
    return false;
}

/* Not accepting connections at all: what a restart should have cured. */
static bool
unresponsive(ConnFailure failure)
{
    switch (failure)
    {
        case CONN_SERVER_DOWN:
        case CONN_TIMEOUT:
        case CONN_STARTING_UP:
        case CONN_SHUTTING_DOWN:
        case CONN_IN_RECOVERY:
            return true;
        case CONN_OK:
        case CONN_TOO_MANY_CLIENTS:
        case CONN_CONNECTION_LIMIT:
        case CONN_AUTH_FAILURE:
        case CONN_DATABASE_MISSING:
        case CONN_NO_ATTEMPT:
        case CONN_ERROR:
            return false;
    }
    return false;
}

static bool
in_list(const char *name, const char *const *list, size_t n)
{
    size_t i;

    for (i = 0; name != NULL && i < n; i++)
        if (list[i] != NULL && strcmp(list[i], name) == 0)
            return true;
    return false;
}

/* The alert's value as people read it: a percentage, seconds, or "down". */
static void
alert_value(const Alert *a, char *buf, size_t size)
{
    if (strcmp(a->name, "DatabaseHighConnections") == 0)
        snprintf(buf, size, "%.0f%%, threshold %.0f%%", a->value * 100.0, a->threshold * 100.0);
    else if (strcmp(a->name, "DatabaseSlowQueries") == 0)
    {
        char v[32], t[32];

        format_age(a->value, v, sizeof(v));
        format_age(a->threshold, t, sizeof(t));
        snprintf(buf, size, "%s, threshold %s", v, t);
    }
    else
        snprintf(buf, size, "%s", rules_severity_name(a->severity));
}

static int add(EscalateList *out, Arena *arena, EscalateRule rule, const char *fmt, ...)
    PM_PRINTF(4, 5);

static int
add(EscalateList *out, Arena *arena, EscalateRule rule, const char *fmt, ...)
{
    EscalateReason *items = arena_array(arena, out->n_items + 1, sizeof(EscalateReason));
    char reason[768];
    va_list ap;

    if (items == NULL)
        return -1;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    if (out->n_items > 0)
        memcpy(items, out->items, out->n_items * sizeof(EscalateReason));
    items[out->n_items].rule = rule;
    items[out->n_items].name = rule_names[rule];
    items[out->n_items].reason = arena_strdup(arena, reason);
    if (items[out->n_items].reason == NULL)
        return -1;
    out->items = items;
    out->n_items++;
    return 0;
}

static bool
pending(const EscalateHistory *h, EscalateRule rule)
{
    return (h->escalated & (1u << rule)) == 0;
}

static int
rule_unresponsive(const Snapshot *snap, const EscalateHistory *h, const EscalatePolicy *p,
                  Arena *arena, EscalateList *out)
{
    double since = snap->taken_at - h->last_restart_at;
    char after[32], wait[32];

    if (h->last_restart_at <= 0 || !unresponsive(snap->failure) ||
        since * 1000.0 < (double) p->restart_wait_ms)
        return 0;
    format_age(since, after, sizeof(after));
    format_duration_ms(p->restart_wait_ms, wait, sizeof(wait));
    return add(out, arena, ESCALATE_UNRESPONSIVE_AFTER_RESTART,
               "the server is still not accepting connections (%s: %s) %s after pgmedic fix "
               "restart (restart_wait %s)",
               snapshot_failure_name(snap->failure),
               snap->failure_message ? snap->failure_message : "no message", after, wait);
}

static int
rule_corruption(const Snapshot *snap, Arena *arena, EscalateList *out)
{
    size_t i;

    if (snap->failure == CONN_OK && snap->checksum_failures > 0)
        return add(out, arena, ESCALATE_CORRUPTION,
                   "pg_stat_database counts %lld data checksum failure%s",
                   (long long) snap->checksum_failures, snap->checksum_failures == 1 ? "" : "s");
    /* The newest matching line is the one to quote. */
    for (i = snap->host.n_log_lines; i > 0; i--)
    {
        const char *line = snap->host.log_lines[i - 1];

        if (escalate_is_corruption_line(line))
            return add(out, arena, ESCALATE_CORRUPTION, "the server log (%s) says: %.300s",
                       snap->host.log_file ? snap->host.log_file : "?", line);
    }
    return 0;
}

static int
rule_persists(const Snapshot *snap, const AlertList *alerts, const EscalateHistory *h,
              const EscalatePolicy *p, Arena *arena, EscalateList *out)
{
    double since = snap->taken_at - h->last_fix_at;
    char after[32], window[32], value[96];
    size_t i;

    if (h->last_fix_at <= 0 || since * 1000.0 < (double) p->verify_window_ms)
        return 0;
    for (i = 0; i < alerts->n_alerts; i++)
    {
        const Alert *a = &alerts->alerts[i];

        if (!(h->alert != NULL && strcmp(h->alert, a->name) == 0) &&
            !in_list(a->name, h->alerts_before_fix, h->n_alerts_before_fix))
            continue;
        format_age(since, after, sizeof(after));
        format_duration_ms(p->verify_window_ms, window, sizeof(window));
        alert_value(a, value, sizeof(value));
        return add(out, arena, ESCALATE_PERSISTS_AFTER_FIX,
                   "%s still fires (%s) %s after the last remediation (verify_window %s)", a->name,
                   value, after, window);
    }
    return 0;
}

static int
rule_unclear(const Snapshot *snap, const AlertList *alerts, const FindingList *findings,
             const EscalateHistory *h, const EscalatePolicy *p, Arena *arena, EscalateList *out)
{
    double open_s = snap->taken_at - h->opened_at;
    char open_for[32], after[32];
    size_t i, j;

    if (open_s * 1000.0 < (double) p->escalate_after_ms)
        return 0;
    for (i = 0; i < alerts->n_alerts; i++)
    {
        const char *name = alerts->alerts[i].name;
        bool unexplained = false;

        if (findings != NULL)
        {
            for (j = 0; j < findings->n_findings; j++)
            {
                const Finding *f = &findings->findings[j];

                if (strcmp(f->kind, "unexplained") == 0 && f->alert != NULL &&
                    strcmp(f->alert, name) == 0)
                    unexplained = true;
            }
        }
        else
            unexplained = in_list(name, h->unexplained, h->n_unexplained);
        if (!unexplained)
            continue;
        format_age(open_s, open_for, sizeof(open_for));
        format_duration_ms(p->escalate_after_ms, after, sizeof(after));
        return add(out, arena, ESCALATE_ROOT_CAUSE_UNCLEAR,
                   "no finding explains %s and the incident has been open for %s "
                   "(escalate_after %s)",
                   name, open_for, after);
    }
    return 0;
}

int
escalate_eval(const Snapshot *snap, const AlertList *alerts, const FindingList *findings,
              const EscalateHistory *history, const EscalatePolicy *policy, Arena *arena,
              EscalateList *out)
{
    out->items = NULL;
    out->n_items = 0;
    if (pending(history, ESCALATE_UNRESPONSIVE_AFTER_RESTART) &&
        rule_unresponsive(snap, history, policy, arena, out) != 0)
        return -1;
    if (pending(history, ESCALATE_CORRUPTION) && rule_corruption(snap, arena, out) != 0)
        return -1;
    if (pending(history, ESCALATE_PERSISTS_AFTER_FIX) &&
        rule_persists(snap, alerts, history, policy, arena, out) != 0)
        return -1;
    if (pending(history, ESCALATE_ROOT_CAUSE_UNCLEAR) &&
        rule_unclear(snap, alerts, findings, history, policy, arena, out) != 0)
        return -1;
    return 0;
}
