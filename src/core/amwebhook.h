/*
 * amwebhook.h - Alertmanager's webhook payload (version 4), as serve's
 * POST /api/v1/alertmanager receives it.
 *
 * Pure: parses a buffer into the arena; the strings point into the arena.
 */
#ifndef PGMEDIC_CORE_AMWEBHOOK_H
#define PGMEDIC_CORE_AMWEBHOOK_H

#include <stddef.h>

#include "util/arena.h"
#include "util/compiler.h"
#include "util/error.h"

typedef struct
{
    const char *status;      /* "firing" or "resolved" (required in each alert) */
    const char *alertname;   /* labels.alertname, NULL when absent */
    const char *target;      /* labels[target_label], else labels.instance; NULL when neither */
    const char *severity;    /* labels.severity, NULL when absent */
    const char *summary;     /* annotations.summary, NULL when absent */
    const char *starts_at;   /* as sent (RFC 3339), NULL when absent */
    const char *fingerprint; /* NULL when absent */
} AmAlert;

typedef struct
{
    const char *receiver;  /* NULL when absent */
    const char *status;    /* of the group: "firing" or "resolved"; NULL when absent */
    const char *group_key; /* NULL when absent */
    AmAlert *alerts;       /* in the arena; NULL when n_alerts is 0 */
    size_t n_alerts;
} AmPayload;

/*
 * Parses body (len bytes, not necessarily NUL-terminated).  -1 with *err
 * set to one line ("invalid JSON at line 1, column 7: ...", "\"alerts\" is
 * not an array", "\"alerts[0].labels.severity\" is not a string") when the
 * payload is not a webhook payload, and *out zeroed; never crashes on any
 * input.  Required: a JSON object with "alerts", an array of objects each
 * with a "status"; "version", when present, must be "4".  Labels and
 * annotations, when present, must be objects of strings; other fields are
 * optional and unknown ones ignored.  target_label may be NULL or "" (then
 * only labels.instance names the target).
 */
int amwebhook_parse(const char *body, size_t len, const char *target_label, Arena *arena,
                    AmPayload *out, PmError *err) PM_MUST_CHECK;

#endif
