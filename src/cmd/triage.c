/*
 * triage.c - pgmedic triage (the default command): one snapshot → alerts →
 * findings with evidence → the exact `pgmedic fix` commands, ranked.  What an
 * experienced DBA concludes after the runbook's investigation steps (§2-5
 * and "Common Issues"), in well under a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/diagnose.h"
#include "core/finding.h"
#include "core/rules.h"
#include "render/findings.h"
#include "util/log.h"

static const CmdHelp help = {
    .name = "triage",
    .summary = "name the cause of each alert, with evidence and the command that treats it",
    .usage = "pgmedic [triage] [OPTION]...",
    .options = NULL,
    .examples =
        "  pgmedic -d pivotal_flow\n"
        "  pgmedic triage -c /etc/pgmedic.ini -t pivotal_flow --format markdown > ticket.md\n"
        "  pgmedic triage --set idle_connection=10min --format json\n"
        "  pgmedic triage --from incident.json\n"
        "\nCauses recognised (see docs in README.md): server_down, timeout,\n"
        "too_many_clients, auth_failure, database_missing, starting_up, shutting_down,\n"
        "in_recovery, disk_full, wal_growth, connection_leak, idle_in_transaction,\n"
        "connection_surge, lock_contention, long_running_query, missing_index,\n"
        "stale_statistics, table_bloat, and unexplained when nothing explains an alert.\n"
        "Findings that explain a firing alert come first; latent causes follow.\n"
        "Every command printed is a dry run until you add --apply to it.\n",
    .accepts = OPT_CONNECT | OPT_FORMAT | OPT_FROM | OPT_MARKDOWN | OPT_INCIDENT,
};

/*
 * The connection options of this run, to append to each printed command so
 * that it acts on the same server: -c/-t as given, -h/-p/-U as given, and -d
 * as given unless it holds a password (then the conninfo without it).
 */
static char *
connection_suffix(const CmdContext *ctx, Arena *arena)
{
    const CmdOptions *o = &ctx->opts;
    StrBuf buf = STRBUF_INIT;
    char *out;

    if (o->config_path != NULL)
        strbuf_printf(&buf, " -c %s", finding_shell_quote(arena, o->config_path));
    if (ctx->target != NULL && o->target != NULL)
        strbuf_printf(&buf, " -t %s", finding_shell_quote(arena, o->target));
    if (o->host != NULL)
        strbuf_printf(&buf, " -h %s", finding_shell_quote(arena, o->host));
    if (o->port != NULL)
        strbuf_printf(&buf, " -p %s", finding_shell_quote(arena, o->port));
    if (o->user != NULL)
        strbuf_printf(&buf, " -U %s", finding_shell_quote(arena, o->user));
    if (o->dbname != NULL)
    {
        if (ctx->spec != NULL && connspec_has_password(ctx->spec))
        {
            char *safe = connspec_conninfo_without_password(ctx->spec);

            if (safe != NULL)
                strbuf_printf(&buf, " -d %s", finding_shell_quote(arena, safe));
            free(safe);
        }
        else
            strbuf_printf(&buf, " -d %s", finding_shell_quote(arena, o->dbname));
    }
    out = strbuf_ok(&buf) ? arena_strdup(arena, strbuf_str(&buf)) : NULL;
    strbuf_free(&buf);
    return out;
}

/*
 * restart and reset-pool run the target's configured command: without one
 * the printed command could not work, so it becomes advice on configuring it.
 */
static int
drop_unrunnable_actions(const CmdContext *ctx, Arena *arena, FindingList *findings)
{
    size_t i, j;

    for (i = 0; i < findings->n_findings; i++)
    {
        Finding *f = &findings->findings[i];

        for (j = 0; j < f->n_actions; j++)
        {
            bool restart = strncmp(f->actions[j], "pgmedic fix restart", 19) == 0;
            bool pool = strncmp(f->actions[j], "pgmedic fix reset-pool", 22) == 0;
            const char *key = restart ? "restart_command" : "reset_pool_command";
            const char *configured = ctx->target == NULL ? NULL
                                     : restart           ? ctx->target->restart_command
                                                         : ctx->target->reset_pool_command;
            const char **advice;
            char text[400];

            if ((!restart && !pool) || (configured != NULL && configured[0] != '\0'))
                continue;
            snprintf(text, sizeof(text),
                     "%s the server by hand, or set %s in a [target NAME] section of the "
                     "configuration (for example \"systemctl restart postgresql@15-main\") so "
                     "that \"pgmedic fix %s -t NAME --apply\" does it and waits until it "
                     "accepts connections.",
                     restart ? "Restart" : "Reset the application's pool of", key,
                     restart ? "restart" : "reset-pool");
            advice = arena_array(arena, f->n_advice + 1, sizeof(char *));
            if (advice == NULL)
                return -1;
            memcpy(advice, f->advice, f->n_advice * sizeof(char *));
            advice[f->n_advice] = arena_strdup(arena, text);
            if (advice[f->n_advice] == NULL)
                return -1;
            f->advice = advice;
            f->n_advice++;
            memmove(&f->actions[j], &f->actions[j + 1], (f->n_actions - j - 1) * sizeof(char *));
            f->n_actions--;
            j--;
        }
    }
    return 0;
}

/* Appends this run's connection options to every "pgmedic fix" action. */
static int
add_connection_options(const CmdContext *ctx, Arena *arena, FindingList *findings)
{
    const char *suffix;
    size_t i, j;

    if (ctx->opts.from != NULL)
        return 0; /* a saved snapshot: the user knows where it came from */
    suffix = connection_suffix(ctx, arena);
    if (suffix == NULL)
        return -1;
    if (suffix[0] == '\0')
        return 0;
    for (i = 0; i < findings->n_findings; i++)
    {
        Finding *f = &findings->findings[i];

        for (j = 0; j < f->n_actions; j++)
        {
            size_t a = strlen(f->actions[j]), b = strlen(suffix);
            char *joined;

            if (strncmp(f->actions[j], "pgmedic ", 8) != 0)
                continue;
            joined = arena_alloc(arena, a + b + 1);
            if (joined == NULL)
                return -1;
            memcpy(joined, f->actions[j], a);
            memcpy(joined + a, suffix, b + 1);
            f->actions[j] = joined;
        }
    }
    return 0;
}

int
cmd_triage(int argc, char **argv)
{
    CmdContext ctx;
    Arena *arena = NULL;
    Snapshot snap;
    AlertList alerts;
    FindingList findings = {NULL, 0};
    StrBuf out = STRBUF_INIT;
    int exit_code;

    if (cmd_start(argc, argv, &help, NULL, &ctx, &arena, &exit_code) != 0)
        goto done;
    ctx.collect_host = true;
    ctx.probe_opts.extras = true;
    if (cmd_take_snapshot(&ctx, arena, &snap) != 0)
        goto done;
    if (cmd_eval_alerts(&ctx, &snap, arena, &alerts) != 0)
        goto done;
    if (diagnose_run(&snap, &ctx.conf.thresholds, &alerts, arena, &findings) != 0 ||
        (ctx.opts.from == NULL && drop_unrunnable_actions(&ctx, arena, &findings) != 0) ||
        add_connection_options(&ctx, arena, &findings) != 0)
    {
        pm_log_error("out of memory");
        goto done;
    }
    switch (ctx.opts.format)
    {
    case FORMAT_JSON:
        render_triage_json(&out, &snap, &alerts, &findings);
        break;
    case FORMAT_MARKDOWN:
        render_triage_markdown(&out, &snap, &alerts, &findings);
        break;
    case FORMAT_TEXT:
    case FORMAT_NAGIOS:
        render_triage_text(&out, &snap, &alerts, &findings, &ctx.conf.thresholds, &ctx.style);
        break;
    }
    if (cmd_emit(&out) != 0)
        goto done;
    cmd_record_sample(&ctx, &snap);
    cmd_incident_record(&ctx, &snap, &alerts, &findings, "triage", NULL);
    exit_code = (int) rules_worst(&alerts);

done:
    strbuf_free(&out);
    arena_free(arena);
    cmd_teardown(&ctx);
    return exit_code;
}
