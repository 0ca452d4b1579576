/*
 * cmd.h - the commands, and what they share: options like psql's, the
 * configuration, and the connection they lead to.
 *
 * Only main() and src/cmd/ print errors or choose exit codes.  Exit codes
 * are Nagios's everywhere: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (usage
 * errors and internal failures).
 */
#ifndef PGMEDIC_CMD_CMD_H
#define PGMEDIC_CMD_CMD_H

#include <getopt.h>
#include <stdbool.h>

#include "conf/conf.h"
#include "pg/conn.h"
#include "pg/probe.h"
#include "core/finding.h"
#include "core/rules.h"
#include "render/render.h"
#include "util/arena.h"

enum
{
    EXIT_OK = 0,
    EXIT_WARNING = 1,
    EXIT_CRITICAL = 2,
    EXIT_UNKNOWN = 3
};

/* Which shared options a command takes. */
enum
{
    OPT_CONNECT = 1 << 0, /* -h -p -U -d -t */
    OPT_FORMAT = 1 << 1,  /* --format */
    OPT_FROM = 1 << 2,    /* --from FILE */
    OPT_NAGIOS = 1 << 3,  /* --format nagios allowed */
    OPT_MARKDOWN = 1 << 4, /* --format markdown allowed */
    OPT_INCIDENT = 1 << 5  /* --incident ID, --open-incident (runs that join an incident) */
};

typedef struct
{
    const char *command;
    const char *host, *port, *user, *dbname;
    const char *config_path;
    const char *target;
    const char *from;
    Format format;
    const char **sets;
    int n_sets;
    char **args; /* positional arguments, in argv */
    int n_args;
    int64_t incident_id; /* --incident ID; 0 when not given */
    bool open_incident;  /* --open-incident */
} CmdOptions;

/* Everything a command needs once its options are parsed. */
typedef struct
{
    CmdOptions opts;
    Config conf;
    ConnSpec *spec; /* NULL with --from */
    /*
     * The target's reserved_conninfo, once a snapshot had to be taken
     * through it (normal logins refused for lack of slots); NULL otherwise.
     * What acts on that snapshot acts through it too (cmd_act_spec).
     */
    ConnSpec *reserved_spec;
    const Target *target; /* the configuration's target, NULL when none */
    bool collect_host;    /* also read host facts (disk, WAL, log) when local */
    struct Store *store;  /* opened on first use by cmd_store(); closed by cmd_teardown() */
    bool store_failed;    /* it could not be opened: not tried again this run */
    char store_error[512];
    ConnOptions conn_opts;
    ProbeOptions probe_opts;
    TextStyle style;
} CmdContext;

/*
 * A command's help: what it does (one line), its usage line, its own
 * options (may be NULL), and examples.
 */
typedef struct
{
    const char *name;
    const char *summary;
    const char *usage;
    const char *options;
    const char *examples;
    unsigned accepts; /* OPT_* */
    /* A command's own options, parsed by on_option (NULL when none). */
    const struct option *extra_options; /* terminated by an all-zero entry */
    const char *extra_short;            /* their short letters for getopt, "" when none */
    int (*on_option)(int c, const char *arg, void *state); /* 0, or -1 after a usage error */
    int max_args;                        /* positional arguments allowed */
} CmdHelp;

/*
 * Parses argv (argv[0] is the command name) and sets up the context: config
 * file, --set overrides, the target and connection options.  Handles --help.
 * Returns -1 when the command should exit with *exit_code (usage error, or
 * help printed).
 */
int cmd_setup(int argc, char **argv, const CmdHelp *help, CmdContext *ctx, int *exit_code);

/* The same, handing state to help->on_option for the command's own options. */
int cmd_setup_with(int argc, char **argv, const CmdHelp *help, void *state, CmdContext *ctx,
                   int *exit_code);

/*
 * cmd_setup_with(), then a fresh arena for the cycle: how every command that
 * looks at a server starts.  -1 when the command should exit with *exit_code;
 * otherwise *exit_code is EXIT_UNKNOWN until the command decides.
 */
/*
 * The connection to act with on snap: the reserved_conninfo it was taken
 * through when normal logins were refused for lack of slots (a full server
 * refuses the normal login to act as well), the command's own otherwise.
 */
const ConnSpec *cmd_act_spec(const CmdContext *ctx, const Snapshot *snap);

int cmd_start(int argc, char **argv, const CmdHelp *help, void *state, CmdContext *ctx,
              Arena **arena, int *exit_code);

/* Evaluates the alert rules; -1 (printed) when out of memory. */
int cmd_eval_alerts(const CmdContext *ctx, const Snapshot *snap, Arena *arena,
                    AlertList *alerts);

/* Releases what cmd_setup() built. */
void cmd_teardown(CmdContext *ctx);

/*
 * Takes the snapshot the command works on: from --from FILE, or a probe of
 * the target.  -1 on failure (printed), in which case exit 3.
 */
int cmd_take_snapshot(CmdContext *ctx, Arena *arena, Snapshot *snap);

/*
 * The store for this run's samples and timeline entries, opened once, with
 * relaxed durability (no fsync per commit); NULL when it cannot be opened
 * (ctx->store_error says why).  Audit rows use a store of their own that
 * fix opens with full durability.
 */
struct Store *cmd_store(CmdContext *ctx);

/*
 * Adds the snapshot's numbers to the store as a sample (the baseline verify
 * compares with).  Best effort: a store that cannot be opened is reported at
 * -v and never fails the command.
 */
void cmd_record_sample(CmdContext *ctx, const Snapshot *snap);

/*
 * The incident hook (incident_hook.c), called once at the end of check,
 * triage, fix and verify.  Finds the incident this run belongs to (--incident
 * ID, else the open incident of the snapshot's target; with --open-incident
 * it opens one when an alert fires and none is open), adds a timeline entry
 * of kind `what` ("check", "triage", "fix", "verify") with what was seen
 * (the snapshot's numbers, the alerts, the findings) and data_json (a JSON
 * object of what the command did, may be NULL), then evaluates escalation
 * (core/escalate.h) and records, prints and pages each rule that fires for
 * the first time.  alerts may be NULL (they are then evaluated here);
 * findings may be NULL.  Best effort: a store that cannot be opened is
 * reported and never fails the command.
 */
void cmd_incident_record(CmdContext *ctx, const Snapshot *snap, const AlertList *alerts,
                         const FindingList *findings, const char *what, const char *data_json);

/*
 * For fix: the action, its audit id (0 for a dry run or when nothing was
 * done) and its counts, recorded through cmd_incident_record().
 */
void cmd_incident_record_fix(CmdContext *ctx, const Snapshot *snap, const char *action,
                             int64_t audit_id, int n_done, int n_skipped, int n_failed);

/* Writes buf to stdout; prints the error and returns -1 on failure. */
int cmd_emit(StrBuf *buf);

/* Prints a usage error with the hint to run --help; returns EXIT_UNKNOWN. */
int cmd_usage_error(const char *command, const char *fmt, ...) PM_PRINTF(2, 3);

/* The commands. */
int cmd_status(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_triage(int argc, char **argv);
int cmd_fix(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_incident(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_maintain(int argc, char **argv);
int cmd_top(int argc, char **argv);

/* Prints the top-level help. */
void cmd_print_main_help(void);

#endif
