/*
 * main.c - command dispatch only.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "util/log.h"
#include "version.h"

typedef struct
{
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"triage", cmd_triage, "name the cause of each alert, with evidence and the fix (default)"},
    {"status", cmd_status, "is the server up? like pg_isready, but honest (runbook §3)"},
    {"check", cmd_check, "evaluate the three runbook alerts; --format nagios for Nagios"},
    {"fix", cmd_fix, "treat a cause: guarded, audited remediations (dry run unless --apply)"},
    {"verify", cmd_verify, "tick the recovery checklist (runbook §8); exit 0 only when recovered"},
    {"audit", cmd_audit, "list what fix did, newest first (the audit log)"},
    {"incident", cmd_incident, "open, acknowledge and resolve incidents; write their report"},
    {"maintain", cmd_maintain, "plan VACUUM/ANALYZE/REINDEX from statistics, run it in a window"},
    {"snapshot", cmd_snapshot, "print the raw snapshot as JSON (replay with --from)"},
    {"serve", cmd_serve, "watch a fleet: Prometheus /metrics, Alertmanager webhook, alert push"},
    {"rules", cmd_rules, "print Prometheus alerting rules for pgmedic serve's metrics"},
    {"top", cmd_top, "a live full-screen view: sessions, lock trees, findings; guarded kill keys"},
};

/* The command run when none is named. */
#define DEFAULT_COMMAND "triage"

void
cmd_print_main_help(void)
{
    size_t i;

    printf("pgmedic - the on-call medic for PostgreSQL: detects the runbook's alerts\n"
           "(DatabaseConnectionFailure, DatabaseHighConnections, DatabaseSlowQueries),\n"
           "names their causes with evidence, and prints the command that treats each.\n\n"
           "Usage:\n  pgmedic [COMMAND] [OPTION]...\n\nCommands:\n");
    for (i = 0; i < PM_LENGTHOF(commands); i++)
        printf("  %-10s %s\n", commands[i].name, commands[i].summary);
    printf("\nWithout a command, pgmedic runs \"%s\".\n"
           "\"pgmedic COMMAND --help\" shows a command's options and examples.\n"
           "\nConnection options are psql's: -h HOST -p PORT -U USER -d DBNAME (a conninfo\n"
           "string or URI is allowed), and the PG* environment, service file and .pgpass.\n"
           "-c FILE reads an INI configuration; --set KEY=VALUE overrides one key.\n"
           "\nGeneral options:\n"
           "  -v, --verbose  more messages on stderr (twice for debug)\n"
           "  -q, --quiet    only errors on stderr\n"
           "  --help         show this help (\"pgmedic COMMAND --help\" for a command's)\n"
           "  --help-config  print every configuration key with its default, then exit\n"
           "  --version      output version information, then exit\n"
           "\nExit status (Nagios): 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN or usage error.\n"
           "\nExamples:\n"
           "  pgmedic status -h /var/run/postgresql\n"
           "  pgmedic check -d 'postgresql://pgmedic@db1/pivotal_flow' --format nagios\n"
           "  pgmedic snapshot -d pivotal_flow > incident.json\n",
           DEFAULT_COMMAND);
}

int
main(int argc, char **argv)
{
    const char *name;
    size_t i;

    /* A closed pipe is an error to report, not a reason to die silently. */
    signal(SIGPIPE, SIG_IGN);

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-?") == 0 ||
                      strcmp(argv[1], "help") == 0))
    {
        cmd_print_main_help();
        return EXIT_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "--help-config") == 0)
    {
        /* Every configuration key with its default, as an INI file. */
        conf_print_keys(stdout);
        return EXIT_OK;
    }
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0))
    {
        printf("pgmedic %s\n", PGMEDIC_VERSION);
        return EXIT_OK;
    }
    if (argc < 2 || argv[1][0] == '-')
    {
        /* No command: run the default one with every argument. */
        for (i = 0; i < PM_LENGTHOF(commands); i++)
            if (strcmp(commands[i].name, DEFAULT_COMMAND) == 0)
            {
                char *name_arg = (char *) (uintptr_t) DEFAULT_COMMAND;

                argv[0] = name_arg;
                return commands[i].run(argc, argv);
            }
    }
    name = argv[1];
    for (i = 0; i < PM_LENGTHOF(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    return cmd_usage_error(NULL, "unrecognized command \"%s\"", name);
}
