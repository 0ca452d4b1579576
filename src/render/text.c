/*
 * text.c - output for a person at 3 a.m.: short, scannable, coloured only
 * on a terminal.
 */
#include <math.h>
#include <string.h>

#include "render/render.h"
#include "util/parse.h"

#define RED "\033[1;31m"
#define YELLOW "\033[1;33m"
#define GREEN "\033[1;32m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

static const char *
paint(const TextStyle *style, const char *code)
{
    return style->color ? code : "";
}

Readiness
render_readiness(const Snapshot *snap)
{
    switch (snap->failure)
    {
    case CONN_OK:
    case CONN_AUTH_FAILURE:
    case CONN_CONNECTION_LIMIT:
    case CONN_DATABASE_MISSING:
    case CONN_ERROR:
        return READY_ACCEPTING; /* the server answered; the login is another matter */
    case CONN_TOO_MANY_CLIENTS:
    case CONN_STARTING_UP:
    case CONN_SHUTTING_DOWN:
    case CONN_IN_RECOVERY:
        return READY_REJECTING;
    case CONN_SERVER_DOWN:
    case CONN_TIMEOUT:
        return READY_NO_RESPONSE;
    case CONN_NO_ATTEMPT:
        return READY_NO_ATTEMPT;
    }
    return READY_NO_RESPONSE;
}

const char *
render_readiness_name(Readiness readiness)
{
    switch (readiness)
    {
    case READY_ACCEPTING:
        return "accepting";
    case READY_REJECTING:
        return "rejecting";
    case READY_NO_RESPONSE:
        return "no_response";
    case READY_NO_ATTEMPT:
        return "no_attempt";
    }
    return "no_response";
}

void
render_status_text(StrBuf *out, const Snapshot *snap, const TextStyle *style)
{
    if (snap->failure == CONN_OK)
    {
        char uptime[32];

        format_age(snap->uptime_s, uptime, sizeof(uptime));
        strbuf_printf(out, "%s - %saccepting connections%s\n", snap->target,
                      paint(style, GREEN), paint(style, RESET));
        strbuf_printf(out, "  version      %s\n", snap->version ? snap->version : "?");
        strbuf_printf(out, "  uptime       %s\n", uptime);
        strbuf_printf(out, "  in recovery  %s\n", snap->in_recovery ? "yes (standby)" : "no");
        strbuf_printf(out, "  connect      %.1f ms\n", snap->connect_s * 1000.0);
        strbuf_printf(out, "  round trip   %.1f ms\n", (snap->probe_s - snap->connect_s) * 1000.0);
        return;
    }
    switch (render_readiness(snap))
    {
    case READY_ACCEPTING:
        strbuf_printf(out, "%s - %saccepting connections, but the login failed%s\n", snap->target,
                      paint(style, RED), paint(style, RESET));
        break;
    case READY_REJECTING:
        strbuf_printf(out, "%s - %srejecting connections%s\n", snap->target, paint(style, RED),
                      paint(style, RESET));
        break;
    case READY_NO_RESPONSE:
        strbuf_printf(out, "%s - %sno response%s\n", snap->target, paint(style, RED),
                      paint(style, RESET));
        break;
    case READY_NO_ATTEMPT:
        strbuf_printf(out, "%s - no attempt\n", snap->target);
        break;
    }
    strbuf_printf(out, "  cause        %s\n", snapshot_failure_name(snap->failure));
    strbuf_printf(out, "  message      %s\n", snap->failure_message ? snap->failure_message : "");
}

static void
severity_tag(StrBuf *out, Severity severity, const TextStyle *style)
{
    switch (severity)
    {
    case SEV_CRITICAL:
        strbuf_printf(out, "%sCRITICAL%s", paint(style, RED), paint(style, RESET));
        break;
    case SEV_WARNING:
        strbuf_printf(out, "%sWARNING %s", paint(style, YELLOW), paint(style, RESET));
        break;
    case SEV_OK:
        strbuf_printf(out, "%sOK      %s", paint(style, GREEN), paint(style, RESET));
        break;
    }
}

void
render_check_text(StrBuf *out, const Snapshot *snap, const AlertList *alerts,
                  const Thresholds *th, const TextStyle *style)
{
    size_t i;

    strbuf_printf(out, "%s%s%s", paint(style, BOLD), snap->target ? snap->target : "?",
                  paint(style, RESET));
    if (snap->failure == CONN_OK)
    {
        char uptime[32], longest[32];
        int64_t usable = snapshot_usable_slots(snap);

        format_age(snap->uptime_s, uptime, sizeof(uptime));
        format_age(snap->longest_query_s, longest, sizeof(longest));
        strbuf_printf(out, "  PostgreSQL %s, up %s%s, snapshot in %.1f ms\n", snap->version,
                      uptime, snap->in_recovery ? ", standby" : "", snap->probe_s * 1000.0);
        strbuf_printf(out,
                      "  connections %lld/%lld usable (%.0f%%; warning %.0f%%, critical %.0f%%): "
                      "%lld active, %lld idle, %lld idle in transaction, %lld waiting on a lock\n",
                      (long long) snap->n_clients, (long long) usable,
                      usable > 0 ? 100.0 * (double) snap->n_clients / (double) usable : 0.0,
                      th->connections_warning * 100, th->connections_critical * 100,
                      (long long) snap->n_active, (long long) snap->n_idle,
                      (long long) snap->n_idle_in_transaction, (long long) snap->n_waiting_lock);
        strbuf_printf(out, "  longest active query %s\n",
                      snap->longest_query_s > 0 ? longest : "none");
    }
    else
        strbuf_append(out, "\n");
    strbuf_append(out, "\n");
    if (alerts->n_alerts == 0)
    {
        severity_tag(out, SEV_OK, style);
        strbuf_append(out, "  no alert firing\n");
    }
    for (i = 0; i < alerts->n_alerts; i++)
    {
        const Alert *a = &alerts->alerts[i];

        severity_tag(out, a->severity, style);
        strbuf_printf(out, "  %s%s%s: %s\n", paint(style, BOLD), a->name, paint(style, RESET),
                      a->summary);
    }
    for (i = 0; i < snap->n_notes; i++)
        strbuf_printf(out, "\nnote: %s\n", snap->notes[i]);
}
