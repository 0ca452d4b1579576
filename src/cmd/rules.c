/*
 * rules.c - pgmedic rules: the Prometheus alerting rules written over the
 * metrics of pgmedic serve.  The rules are rules/pgmedic.rules.yml, embedded
 * at build time (scripts/text2c.sh), so what promtool checks and tests in the
 * repository is exactly what this prints.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "rules_yml.h"
#include "util/log.h"
#include "util/strbuf.h"

enum
{
    RULES_OPT_RUNBOOK_URL = 300
};

/*
 * Every alert's annotation reads `runbook_url: "docs/alerts.md#<anchor>"`;
 * --runbook-url replaces DEFAULT_RUNBOOK_URL there and keeps the anchor.
 */
#define RUNBOOK_KEY         "runbook_url: \""
#define DEFAULT_RUNBOOK_URL "docs/alerts.md"

static const struct option rules_options[] = {
    {"runbook-url", required_argument, NULL, RULES_OPT_RUNBOOK_URL},
    {NULL, 0, NULL, 0},
};

/*
 * What cannot go in the URL: it lands inside a double-quoted YAML string
 * that Prometheus expands as a Go template, and gets "#anchor" appended.
 * NULL when url is fine.
 */
static const char *
url_problem(const char *url)
{
    const unsigned char *p;

    if (url[0] == '\0')
        return "it is empty";
    for (p = (const unsigned char *) url; *p != '\0'; p++)
    {
        if (*p < 0x20 || *p == 0x7f)
            return "it contains a control character";
        if (*p == ' ')
            return "it contains a space";
        if (*p == '"' || *p == '\\')
            return "it contains a double quote or a backslash";
        if (*p == '{' || *p == '}')
            return "it contains a brace";
        if (*p == '#')
            return "it has a #fragment";
    }
    return NULL;
}

static int
rules_on_option(int c, const char *arg, void *state)
{
    const char **url = state;
    const char *problem = url_problem(arg);

    (void) c;
    if (problem != NULL)
    {
        if (strcmp(problem, "it contains a control character") == 0)
            pm_log_error("invalid value for \"--runbook-url\": %s", problem);
        else
            pm_log_error("invalid value \"%s\" for \"--runbook-url\": %s", arg, problem);
        pm_log_detail("Each alert links to URL#<alert name in lower case>, the sections of "
                      "docs/alerts.md.");
        pm_log_hint("Try \"pgmedic --help\" for more information.");
        return -1;
    }
    *url = arg;
    return 0;
}

static const CmdHelp help = {
    .name = "rules",
    .summary = "print Prometheus alerting rules over the metrics of pgmedic serve",
    .usage = "pgmedic rules [OPTION]...",
    .options =
        "      --runbook-url=URL    where each alert's runbook_url points: URL#<alert name in\n"
        "                           lower case>, the sections of docs/alerts.md; default\n"
        "                           \"" DEFAULT_RUNBOOK_URL
        "\" (relative: point it at your copy)\n",
    .examples =
        "  pgmedic rules > /etc/prometheus/rules/pgmedic.rules.yml\n"
        "  pgmedic rules --runbook-url https://wiki.example.com/pgmedic/alerts > "
        "pgmedic.rules.yml\n"
        "  promtool check rules pgmedic.rules.yml\n"
        "\nThen in prometheus.yml: rule_files: [pgmedic.rules.yml], and a scrape job for\n"
        "pgmedic serve (GET /metrics, default 127.0.0.1:9188).  The rules (YAML on stdout):\n"
        "  DatabaseConnectionFailure  critical  for 1m   pgmedic_up == 0, or logins refused\n"
        "  DatabaseHighConnections    warning   for 5m   connections / usable slots >= 80%\n"
        "                             critical  for 5m   ... >= 90%\n"
        "  DatabaseSlowQueries        warning   for 2m   oldest active query >= 5s\n"
        "                             critical  for 2m   ... >= 5min\n"
        "  DatabaseLockContention     warning   for 2m   a lock wait >= 5s\n"
        "  DatabaseIdleInTransaction  warning   for 1m   idle in transaction >= 5min\n"
        "  DatabaseConnectionLeak     warning   for 15m  idle sessions >= 50% of usable slots,\n"
        "                                                one idle >= 1h\n"
        "  DatabaseWALGrowth          warning   for 15m  pg_wal > 2 x max_wal_size\n"
        "  PgmedicProbesStalled       warning   for 5m   no probe finished in 10 minutes\n"
        "Thresholds and durations are pgmedic's defaults (pgmedic check and serve use the\n"
        "same ones); if you change them in the configuration, edit the rules to match.\n"
        "Each alert's annotations say what to run next (pgmedic triage --target NAME);\n"
        "docs/alerts.md explains each one and lists the metrics.\n",
    .accepts = 0,
    .extra_options = rules_options,
    .extra_short = "",
    .on_option = rules_on_option,
    .max_args = 0,
};

/* The rules with DEFAULT_RUNBOOK_URL replaced by url in every runbook_url. */
static void
render_rules(StrBuf *out, const char *url)
{
    const char *p = RULES_YML, *hit;
    const size_t key_len = strlen(RUNBOOK_KEY), default_len = strlen(DEFAULT_RUNBOOK_URL);

    while ((hit = strstr(p, RUNBOOK_KEY DEFAULT_RUNBOOK_URL "#")) != NULL)
    {
        strbuf_append_len(out, p, (size_t) (hit - p) + key_len);
        strbuf_append(out, url);
        p = hit + key_len + default_len;
    }
    strbuf_append(out, p);
}

int
cmd_rules(int argc, char **argv)
{
    CmdContext ctx;
    const char *url = DEFAULT_RUNBOOK_URL;
    StrBuf out = STRBUF_INIT;
    int exit_code;

    if (cmd_setup_with(argc, argv, &help, &url, &ctx, &exit_code) != 0)
        goto done;
    /* The rules are the same for every server: a connection option is a mistake. */
    if (ctx.opts.host || ctx.opts.port || ctx.opts.user || ctx.opts.dbname || ctx.opts.target)
    {
        exit_code = cmd_usage_error(help.name, "command \"rules\" takes no connection options");
        goto done;
    }
    render_rules(&out, url);
    exit_code = cmd_emit(&out) == 0 ? EXIT_OK : EXIT_UNKNOWN;

done:
    strbuf_free(&out);
    cmd_teardown(&ctx);
    return exit_code;
}
