/*
 * check.c - pgmedic check: the runbook's three alerts on one snapshot; with
 * --format nagios a drop-in Nagios/Icinga plugin.
 */
#include "cmd/cmd.h"
#include "core/rules.h"
#include "util/log.h"

static const CmdHelp help = {
    .name = "check",
    .summary = "evaluate the runbook alerts on one snapshot",
    .usage = "pgmedic check [OPTION]...",
    .options = NULL,
    .examples =
        "  pgmedic check -h /var/run/postgresql -d pivotal_flow\n"
        "  pgmedic check -c /etc/pgmedic.ini -t pivotal_flow --format nagios\n"
        "  pgmedic check --set slow_query_warning=1s --format json\n"
        "  pgmedic snapshot > incident.json; pgmedic check --from incident.json\n"
        "\nAlerts (defaults are the runbook's; change them with --set or [thresholds]):\n"
        "  DatabaseConnectionFailure  the server cannot be reached; the cause is named\n"
        "                             (server_down, timeout, too_many_clients, auth_failure, ...)\n"
        "  DatabaseHighConnections    client connections / usable slots (max_connections minus\n"
        "                             reserved) at connections_warning=80% or _critical=90%\n"
        "  DatabaseSlowQueries        the oldest active query at slow_query_warning=5s or\n"
        "                             slow_query_critical=5min\n",
    .accepts = OPT_CONNECT | OPT_FORMAT | OPT_NAGIOS | OPT_FROM | OPT_INCIDENT,
};

int
cmd_check(int argc, char **argv)
{
    CmdContext ctx;
    Arena *arena = NULL;
    Snapshot snap;
    AlertList alerts;
    StrBuf out = STRBUF_INIT;
    int exit_code;

    if (cmd_start(argc, argv, &help, NULL, &ctx, &arena, &exit_code) != 0)
        goto done;
    /* The rules need only the server statement: the cheapest probe there is. */
    ctx.probe_opts.ping_only = true;
    if (cmd_take_snapshot(&ctx, arena, &snap) != 0)
        goto done;
    if (cmd_eval_alerts(&ctx, &snap, arena, &alerts) != 0)
        goto done;
    switch (ctx.opts.format)
    {
    case FORMAT_JSON:
        render_check_json(&out, &snap, &alerts);
        break;
    case FORMAT_NAGIOS:
        render_check_nagios(&out, &snap, &alerts, &ctx.conf.thresholds);
        break;
    case FORMAT_TEXT:
    case FORMAT_MARKDOWN: /* not accepted by check */
        render_check_text(&out, &snap, &alerts, &ctx.conf.thresholds, &ctx.style);
        break;
    }
    if (cmd_emit(&out) != 0)
        goto done;
    cmd_record_sample(&ctx, &snap);
    cmd_incident_record(&ctx, &snap, &alerts, NULL, "check", NULL);
    exit_code = (int) rules_worst(&alerts);

done:
    strbuf_free(&out);
    arena_free(arena);
    cmd_teardown(&ctx);
    return exit_code;
}
