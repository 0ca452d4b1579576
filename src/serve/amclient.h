/*
 * amclient.h - pushes pgmedic's own alerts to Alertmanager's v2 API
 * (POST {alertmanager_url}/api/v2/alerts), through libcurl loaded with
 * dlopen() on first use so the CLI commands never load it.
 *
 * Alertmanager resolves a firing alert by itself once its endsAt passes
 * (resolve_timeout when none was sent), so a firing alert must be sent
 * again periodically while it lasts, and a resolved one with its endsAt.
 */
#ifndef PGMEDIC_SERVE_AMCLIENT_H
#define PGMEDIC_SERVE_AMCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"
#include "util/error.h"
#include "util/strbuf.h"

typedef struct
{
    const char *alertname;     /* labels.alertname (required) */
    const char *target;        /* labels.target; NULL omits it */
    const char *severity;      /* labels.severity ("warning", "critical"); NULL omits it */
    const char *summary;       /* annotations.summary; NULL omits it */
    const char *runbook;       /* annotations.runbook; NULL omits it */
    double starts_at;          /* Unix time (pm_wall_time()); 0 omits startsAt */
    double ends_at;            /* Unix time when resolved; 0 (firing) omits endsAt */
    const char *generator_url; /* generatorURL; NULL omits it */
} AmOutAlert;

/*
 * Appends the request body, a JSON array of postable alerts, to buf; false
 * when buf is broken (out of memory or over its cap) or an alert has no
 * alertname.
 */
bool amclient_body(const AmOutAlert *alerts, size_t n, StrBuf *buf) PM_MUST_CHECK;

/*
 * Sends the n alerts in one request to base_url (http:// or https://, with
 * or without a trailing slash) + "/api/v2/alerts", within timeout_ms (10 s
 * when <= 0); no redirects are followed.  0 on a 2xx answer; -1 with *err
 * otherwise ("could not send alerts to Alertmanager at ...: ...", "...
 * answered HTTP 400", the answer's first line in the detail).  Credentials
 * in the URL are used but never appear in messages.  n == 0 sends nothing.
 * Thread-safe: each call has its own connection.
 */
int amclient_post(const char *base_url, const AmOutAlert *alerts, size_t n, int64_t timeout_ms,
                  PmError *err) PM_MUST_CHECK;

#endif
