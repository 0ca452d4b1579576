/*
 * alertstate.c - inactive -> pending -> firing -> resolved, per alert.
 */
#include "core/alertstate.h"

#include <stdio.h>
#include <string.h>

void
alerttrack_init(AlertTracker *t)
{
    size_t i;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < ALERT_RULES; i++)
        t->alerts[i].name = rules_alert_names[i];
}

int
alertstate_index(const char *name)
{
    int i;

    for (i = 0; i < ALERT_RULES && rules_alert_names[i] != NULL; i++)
        if (strcmp(rules_alert_names[i], name) == 0)
            return i;
    return -1;
}

const char *
alertstate_phase_name(AlertPhase phase)
{
    switch (phase)
    {
        case PHASE_PENDING:
            return "pending";
        case PHASE_FIRING:
            return "firing";
        case PHASE_INACTIVE:
            break;
    }
    return "inactive";
}

/* Records a change of s to phase `to` at `now`. */
static void
change(AlertState *s, AlertPhase to, double now, AlertChange *out)
{
    out->name = s->name;
    out->from = s->phase;
    out->to = to;
    out->severity = s->severity;
    out->at = now;
    out->summary = s->summary;
    if (to == PHASE_INACTIVE && s->phase == PHASE_FIRING)
        s->resolved_at = now;
    if (to == PHASE_FIRING)
        s->fired_at = now;
    else if (to == PHASE_INACTIVE)
    {
        s->fired_at = 0;
        s->active_since = 0;
    }
    s->phase = to;
    s->changed_at = now;
}

size_t
alerttrack_update(AlertTracker *t, const AlertList *firing, const double for_s[ALERT_RULES],
                  double now, AlertChange changes[ALERT_RULES])
{
    size_t n = 0, i, j;

    for (i = 0; i < ALERT_RULES; i++)
    {
        AlertState *s = &t->alerts[i];
        const Alert *hit = NULL;

        for (j = 0; firing != NULL && j < firing->n_alerts; j++)
            if (strcmp(firing->alerts[j].name, s->name) == 0)
                hit = &firing->alerts[j];

        if (hit == NULL)
        {
            if (s->phase != PHASE_INACTIVE)
                change(s, PHASE_INACTIVE, now, &changes[n++]);
            continue;
        }
        s->severity = hit->severity;
        s->value = hit->value;
        snprintf(s->summary, sizeof(s->summary), "%s", hit->summary ? hit->summary : "");
        if (s->phase == PHASE_INACTIVE)
        {
            s->active_since = now;
            change(s, for_s[i] > 0 ? PHASE_PENDING : PHASE_FIRING, now, &changes[n++]);
        }
        else if (s->phase == PHASE_PENDING && now - s->active_since >= for_s[i])
            change(s, PHASE_FIRING, now, &changes[n++]);
    }
    return n;
}
