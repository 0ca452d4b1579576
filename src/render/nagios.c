/*
 * nagios.c - a Nagios/Icinga plugin line: status, summary, perfdata.
 *   PGMEDIC WARNING - DatabaseHighConnections: ... | connections=17;16;18;0;20 ...
 */
#include <math.h>
#include <string.h>

#include "render/render.h"

static const char *const status_words[] = {"OK", "WARNING", "CRITICAL"};

void
render_check_nagios(StrBuf *out, const Snapshot *snap, const AlertList *alerts,
                    const Thresholds *th)
{
    Severity worst = rules_worst(alerts);
    size_t i;

    strbuf_printf(out, "PGMEDIC %s - ", status_words[worst]);
    if (alerts->n_alerts == 0)
        strbuf_printf(out, "%lld of %lld usable connection slots in use, longest query %.1fs",
                      (long long) snap->n_clients, (long long) snapshot_usable_slots(snap),
                      snap->longest_query_s);
    for (i = 0; i < alerts->n_alerts; i++)
    {
        /* The plugin line is one line: the summary must not break it. */
        const char *s;

        strbuf_printf(out, "%s%s: ", i ? "; " : "", alerts->alerts[i].name);
        for (s = alerts->alerts[i].summary; *s; s++)
            strbuf_append_char(out, *s == '\n' || *s == '|' ? ' ' : *s);
    }
    if (snap->failure != CONN_OK)
    {
        strbuf_printf(out, " | up=0 probe_time=%.6fs\n", snap->probe_s);
        return;
    }
    {
        int64_t usable = snapshot_usable_slots(snap);

        strbuf_printf(out,
                      " | up=1 connections=%lld;%.0f;%.0f;0;%lld connection_ratio=%.4f;%.2f;%.2f;0;1"
                      " longest_query=%.3fs;%.3f;%.3f;0 idle_in_transaction=%lld;;;0"
                      " waiting_lock=%lld;;;0 probe_time=%.6fs\n",
                      (long long) snap->n_clients, ceil(th->connections_warning * (double) usable),
                      ceil(th->connections_critical * (double) usable), (long long) usable,
                      usable > 0 ? (double) snap->n_clients / (double) usable : 0.0,
                      th->connections_warning, th->connections_critical, snap->longest_query_s,
                      (double) th->slow_query_warning_ms / 1000.0,
                      (double) th->slow_query_critical_ms / 1000.0,
                      (long long) snap->n_idle_in_transaction, (long long) snap->n_waiting_lock,
                      snap->probe_s);
    }
}
