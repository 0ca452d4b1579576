/*
 * common.c - options, configuration and connection shared by the commands.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/snapshot_json.h"
#include "host/hostinfo.h"
#include "store/store.h"
#include "util/alloc.h"
#include "util/file.h"
#include "util/log.h"
#include "util/parse.h"
#include "version.h"

enum
{
    LONG_SET = 256,
    LONG_FORMAT,
    LONG_FROM,
    LONG_HELP,
    LONG_VERSION,
    LONG_INCIDENT,
    LONG_OPEN_INCIDENT
};

static const struct option long_options[] = {
    {"host", required_argument, NULL, 'h'},
    {"port", required_argument, NULL, 'p'},
    {"username", required_argument, NULL, 'U'},
    {"dbname", required_argument, NULL, 'd'},
    {"config", required_argument, NULL, 'c'},
    {"target", required_argument, NULL, 't'},
    {"set", required_argument, NULL, LONG_SET},
    {"format", required_argument, NULL, LONG_FORMAT},
    {"from", required_argument, NULL, LONG_FROM},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, LONG_HELP},
    {"version", no_argument, NULL, LONG_VERSION},
    {"incident", required_argument, NULL, LONG_INCIDENT},
    {"open-incident", no_argument, NULL, LONG_OPEN_INCIDENT},
    {NULL, 0, NULL, 0},
};

/* Snapshot files are capped: a huge file is a mistake, not a snapshot. */
#define MAX_SNAPSHOT_BYTES (256u * 1024 * 1024)

int
cmd_usage_error(const char *command, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    (void) command; /* the hint is the same everywhere (STYLE.md §7) */
    pm_log_error("%s", msg);
    pm_log_hint("Try \"pgmedic --help\" for more information.");
    return EXIT_UNKNOWN;
}

static const char common_connect_help[] =
    "\nConnection options (as psql; PG* environment, service file and .pgpass apply):\n"
    "  -h, --host=HOST          database server host or socket directory\n"
    "  -p, --port=PORT          database server port\n"
    "  -U, --username=USER      database user name\n"
    "  -d, --dbname=DBNAME      database name, or a conninfo string or URI\n"
    "  -c, --config=FILE        configuration file (INI; see \"Configuration\" below)\n"
    "  -t, --target=NAME        use the [target NAME] section of the configuration\n";

static const char common_general_help[] =
    "\nGeneral options:\n"
    "      --set=KEY=VALUE      override one configuration key for this run,\n"
    "                           e.g. --set slow_query_warning=10s (repeatable)\n"
    "  -v, --verbose            more messages on stderr (repeat for debug)\n"
    "  -q, --quiet              only errors on stderr\n"
    "      --help               show this help, then exit\n"
    "      --version            output version information, then exit\n";

static const char exit_help[] =
    "\nExit status: 0 OK, 1 WARNING, 2 CRITICAL (an alert fired, or the server\n"
    "could not be reached), 3 UNKNOWN (usage error or internal failure).\n";

static void
print_help(const CmdHelp *help)
{
    printf("pgmedic %s - %s\n\nUsage:\n  %s\n", help->name, help->summary, help->usage);
    if (help->options)
        printf("\nOptions:\n%s", help->options);
    if (help->accepts & OPT_FORMAT)
        printf("      --format=FORMAT      output format: text (default), json%s%s\n",
               (help->accepts & OPT_NAGIOS) ? ", nagios" : "",
               (help->accepts & OPT_MARKDOWN) ? ", markdown" : "");
    if (help->accepts & OPT_FROM)
        printf("      --from=FILE          work on a snapshot saved by \"pgmedic snapshot\"\n"
               "                           (\"-\" reads standard input) instead of a server\n");
    if (help->accepts & OPT_INCIDENT)
        printf("      --incident=ID        add this run to the timeline of incident ID (by default\n"
               "                           it joins the open incident of its target, if any)\n"
               "      --open-incident      open an incident when an alert fires and none is open\n");
    if (help->accepts & OPT_CONNECT)
        fputs(common_connect_help, stdout);
    fputs(common_general_help, stdout);
    fputs(exit_help, stdout);
    if (help->examples)
        printf("\nExamples:\n%s", help->examples);
    printf("\nReport bugs and read the runbook mapping in README.md.\n");
}

static int
parse_format(const char *text, const CmdHelp *help, Format *out)
{
    if (strcmp(text, "text") == 0)
        *out = FORMAT_TEXT;
    else if (strcmp(text, "json") == 0)
        *out = FORMAT_JSON;
    else if (strcmp(text, "nagios") == 0 && (help->accepts & OPT_NAGIOS))
        *out = FORMAT_NAGIOS;
    else if (strcmp(text, "markdown") == 0 && (help->accepts & OPT_MARKDOWN))
        *out = FORMAT_MARKDOWN;
    else
        return -1;
    return 0;
}

/* The target a run uses: --target, else the config's only one, else none. */
static int
select_target(CmdContext *ctx, const Target **out)
{
    const CmdOptions *o = &ctx->opts;

    *out = NULL;
    if (o->target != NULL)
    {
        *out = conf_target(&ctx->conf, o->target);
        if (*out == NULL)
        {
            if (o->config_path == NULL)
                pm_log_error("target \"%s\" needs a configuration file", o->target);
            else
                pm_log_error("target \"%s\" is not defined in \"%s\"", o->target,
                             o->config_path);
            pm_log_hint("Define it in a [target %s] section and pass the file with -c.",
                        o->target);
            return -1;
        }
        return 0;
    }
    if (ctx->conf.n_targets == 1)
        *out = &ctx->conf.targets[0];
    else if (ctx->conf.n_targets > 1 && o->host == NULL && o->dbname == NULL && o->port == NULL)
    {
        pm_log_error("configuration file \"%s\" defines %zu targets", o->config_path,
                     ctx->conf.n_targets);
        pm_log_hint("Choose one with --target NAME, for example --target %s.",
                    ctx->conf.targets[0].name);
        return -1;
    }
    return 0;
}

int
cmd_setup(int argc, char **argv, const CmdHelp *help, CmdContext *ctx, int *exit_code)
{
    return cmd_setup_with(argc, argv, help, NULL, ctx, exit_code);
}

/* The shared long options followed by the command's own; caller frees. */
static struct option *
merged_options(const CmdHelp *help)
{
    size_t n_common = PM_LENGTHOF(long_options) - 1, n_extra = 0;
    struct option *all;

    while (help->extra_options && help->extra_options[n_extra].name != NULL)
        n_extra++;
    all = pm_xmalloc((n_common + n_extra + 1) * sizeof(struct option));
    memcpy(all, long_options, n_common * sizeof(struct option));
    if (n_extra > 0)
        memcpy(all + n_common, help->extra_options, n_extra * sizeof(struct option));
    memset(&all[n_common + n_extra], 0, sizeof(struct option));
    return all;
}

int
cmd_setup_with(int argc, char **argv, const CmdHelp *help, void *state, CmdContext *ctx,
               int *exit_code)
{
    CmdOptions *o = &ctx->opts;
    const Target *target;
    struct option *options;
    char shortopts[64];
    PmError err;
    int c, verbosity = 0, i;
    bool bad = false;

    memset(ctx, 0, sizeof(*ctx));
    o->command = help->name;
    o->format = FORMAT_TEXT;
    o->sets = pm_xmalloc(sizeof(char *) * (size_t) (argc > 0 ? argc : 1));
    conf_init(&ctx->conf);
    *exit_code = EXIT_UNKNOWN;

    /* --help and --version win over everything else on the line. */
    for (i = 1; i < argc; i++)
    {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-?") == 0)
        {
            print_help(help);
            *exit_code = EXIT_OK;
            return -1;
        }
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0)
        {
            printf("pgmedic %s\n", PGMEDIC_VERSION);
            *exit_code = EXIT_OK;
            return -1;
        }
    }

    opterr = 0;
    optind = 1;
    options = merged_options(help);
    snprintf(shortopts, sizeof(shortopts), ":h:p:U:d:c:t:vq%s",
             help->extra_short ? help->extra_short : "");
    o->args = pm_xmalloc(sizeof(char *) * (size_t) (argc > 0 ? argc : 1));
    while (!bad && (c = getopt_long(argc, argv, shortopts, options, NULL)) != -1)
    {
        switch (c)
        {
        case 'h':
            o->host = optarg;
            break;
        case 'p':
            o->port = optarg;
            break;
        case 'U':
            o->user = optarg;
            break;
        case 'd':
            o->dbname = optarg;
            break;
        case 'c':
            o->config_path = optarg;
            break;
        case 't':
            o->target = optarg;
            break;
        case LONG_SET:
            o->sets[o->n_sets++] = optarg;
            break;
        case LONG_FORMAT:
            if (!(help->accepts & OPT_FORMAT) || parse_format(optarg, help, &o->format) != 0)
            {
                if (!(help->accepts & OPT_FORMAT))
                    cmd_usage_error(help->name, "command \"%s\" has no --format option",
                                    help->name);
                else
                    cmd_usage_error(help->name, "unrecognized format \"%s\"", optarg);
                bad = true;
            }
            break;
        case LONG_FROM:
            if (!(help->accepts & OPT_FROM))
            {
                cmd_usage_error(help->name, "command \"%s\" has no --from option", help->name);
                bad = true;
                break;
            }
            o->from = optarg;
            break;
        case LONG_INCIDENT:
        case LONG_OPEN_INCIDENT:
            if (!(help->accepts & OPT_INCIDENT))
            {
                cmd_usage_error(help->name, "command \"%s\" has no --%s option", help->name,
                                c == LONG_INCIDENT ? "incident" : "open-incident");
                bad = true;
                break;
            }
            if (c == LONG_OPEN_INCIDENT)
                o->open_incident = true;
            else if (parse_int_range(optarg, "--incident", 1, INT64_MAX, &o->incident_id, &err) !=
                     0)
            {
                pm_log_pm_error(&err);
                pm_log_hint("Try \"pgmedic --help\" for more information.");
                bad = true;
            }
            break;
        case 'v':
            verbosity++;
            break;
        case 'q':
            verbosity = -1;
            break;
        case ':':
            cmd_usage_error(help->name, "option \"%s\" requires a value", argv[optind - 1]);
            bad = true;
            break;
        case '?':
            if (optopt != 0)
                cmd_usage_error(help->name, "unrecognized option \"-%c\"", optopt);
            else
                cmd_usage_error(help->name, "unrecognized option \"%s\"", argv[optind - 1]);
            bad = true;
            break;
        default:
            if (help->on_option == NULL || help->on_option(c, optarg, state) != 0)
            {
                if (help->on_option == NULL)
                    cmd_usage_error(help->name, "unrecognized option \"%s\"", argv[optind - 1]);
                bad = true;
            }
            break;
        }
    }
    free(options);
    if (bad)
        return -1;
    while (optind < argc)
        o->args[o->n_args++] = argv[optind++];
    if (o->n_args > help->max_args)
    {
        cmd_usage_error(help->name, "too many command-line arguments (first is \"%s\")",
                        o->args[help->max_args]);
        return -1;
    }
    if (verbosity < 0)
        pm_log_set_level(LOG_LEVEL_ERROR);
    else if (verbosity == 1)
        pm_log_set_level(LOG_LEVEL_INFO);
    else if (verbosity > 1)
        pm_log_set_level(LOG_LEVEL_DEBUG);

    if (o->from != NULL && (o->host || o->port || o->user || o->dbname || o->target))
    {
        cmd_usage_error(help->name, "--from cannot be combined with connection options");
        return -1;
    }
    if (o->from != NULL && (o->incident_id != 0 || o->open_incident))
    {
        cmd_usage_error(help->name, "--from cannot be combined with --incident or --open-incident");
        return -1;
    }

    if (o->config_path == NULL)
        o->config_path = getenv("PGMEDIC_CONFIG");
    if (o->config_path != NULL && conf_load(&ctx->conf, o->config_path, &err) != 0)
    {
        pm_log_pm_error(&err);
        return -1;
    }
    for (i = 0; i < o->n_sets; i++)
    {
        if (conf_set(&ctx->conf, o->sets[i], &err) != 0)
        {
            pm_log_pm_error(&err);
            return -1;
        }
    }
    if (ctx->conf.thresholds.connections_warning > ctx->conf.thresholds.connections_critical ||
        ctx->conf.thresholds.slow_query_warning_ms > ctx->conf.thresholds.slow_query_critical_ms)
    {
        pm_log_error("a warning threshold is above its critical threshold");
        pm_log_hint("Check connections_warning/critical and slow_query_warning/critical.");
        return -1;
    }

    ctx->conn_opts.connect_timeout_ms = ctx->conf.connect_timeout_ms;
    ctx->conn_opts.query_timeout_ms = ctx->conf.query_timeout_ms;
    ctx->conn_opts.read_only = true;
    ctx->probe_opts = probe_options_default();
    ctx->probe_opts.slow_threshold_s =
        (double) (ctx->conf.thresholds.slow_query_warning_ms < ctx->conf.thresholds.lock_wait_ms
                      ? ctx->conf.thresholds.slow_query_warning_ms
                      : ctx->conf.thresholds.lock_wait_ms) /
        1000.0;
    ctx->probe_opts.idle_threshold_s = (double) ctx->conf.thresholds.idle_connection_ms / 1000.0;
    ctx->style.color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;

    if (o->from == NULL && (help->accepts & OPT_CONNECT))
    {
        if (select_target(ctx, &target) != 0)
            return -1;
        ctx->target = target;
        ctx->spec = connspec_new(target ? target->conninfo : NULL, o->dbname, o->host, o->port,
                                 o->user, &err);
        if (ctx->spec == NULL)
        {
            pm_log_pm_error(&err);
            return -1;
        }
    }
    *exit_code = EXIT_OK;
    return 0;
}

int
cmd_start(int argc, char **argv, const CmdHelp *help, void *state, CmdContext *ctx, Arena **arena,
          int *exit_code)
{
    *arena = NULL;
    if (cmd_setup_with(argc, argv, help, state, ctx, exit_code) != 0)
        return -1;
    *exit_code = EXIT_UNKNOWN;
    *arena = arena_new();
    if (*arena == NULL)
    {
        pm_log_error("out of memory");
        return -1;
    }
    return 0;
}

int
cmd_eval_alerts(const CmdContext *ctx, const Snapshot *snap, Arena *arena, AlertList *alerts)
{
    if (rules_eval(snap, &ctx->conf.thresholds, arena, alerts) != 0)
    {
        pm_log_error("out of memory");
        return -1;
    }
    return 0;
}

void
cmd_teardown(CmdContext *ctx)
{
    store_close(ctx->store);
    connspec_free(ctx->spec);
    connspec_free(ctx->reserved_spec);
    conf_free(&ctx->conf);
    free(ctx->opts.sets);
    free(ctx->opts.args);
    memset(ctx, 0, sizeof(*ctx));
}

/*
 * Normal logins are refused for lack of slots: look inside through the
 * target's reserved_conninfo (a superuser, or pg_use_reserved_connections on
 * 16+).  The snapshot then describes the full server, marked as such.
 */
static int
take_through_reserved(CmdContext *ctx, Arena *arena, Snapshot *snap)
{
    Snapshot inside;
    PmError err;

    if (ctx->reserved_spec == NULL &&
        (ctx->reserved_spec = connspec_new(ctx->target->reserved_conninfo, NULL, NULL, NULL, NULL,
                                           &err)) == NULL)
    {
        pm_log_pm_error(&err);
        return -1;
    }
    if (probe_snapshot(ctx->reserved_spec, &ctx->conn_opts, &ctx->probe_opts, arena, &inside,
                       &err) != 0)
    {
        pm_log_pm_error(&err);
        return -1;
    }
    if (!snapshot_take_inside(&inside, snap))
    {
        pm_log_warning("could not look inside through reserved_conninfo either: %s",
                       inside.failure_message ? inside.failure_message : "?");
        return 0;
    }
    *snap = inside;
    pm_log_info("normal logins refused; snapshot taken through a reserved slot");
    return 0;
}

const ConnSpec *
cmd_act_spec(const CmdContext *ctx, const Snapshot *snap)
{
    if (snap != NULL && snap->via_reserved_slot && ctx->reserved_spec != NULL)
        return ctx->reserved_spec;
    return ctx->spec;
}

/* Host facts when the server's data directory is on this machine. */
static int
collect_host(CmdContext *ctx, Arena *arena, Snapshot *snap)
{
    HostInfoOptions opts = {NULL, NULL, 5};
    const Setting *s = snapshot_setting(snap, "data_directory");

    if (s != NULL && s->value != NULL)
        opts.data_directory = s->value;
    else if (ctx->target != NULL && ctx->target->data_directory[0] != '\0')
        opts.data_directory = ctx->target->data_directory;
    if (ctx->target != NULL && ctx->target->log_file[0] != '\0')
        opts.log_file = ctx->target->log_file;
    else if (snap->server_log_file != NULL)
        opts.log_file = snap->server_log_file;
    if (hostinfo_collect(&opts, arena, &snap->host) != 0)
    {
        pm_log_error("out of memory");
        return -1;
    }
    return 0;
}

int
cmd_take_snapshot(CmdContext *ctx, Arena *arena, Snapshot *snap)
{
    PmError err;

    if (ctx->opts.from != NULL)
    {
        StrBuf text = STRBUF_INIT;
        int rc = pm_read_file(ctx->opts.from, MAX_SNAPSHOT_BYTES, &text, &err);

        if (rc == 0)
            rc = snapshot_json_read(strbuf_str(&text), text.len, ctx->opts.from, arena, snap, &err);
        strbuf_free(&text);
        if (rc != 0)
            pm_log_pm_error(&err);
        return rc;
    }
    if (probe_snapshot(ctx->spec, &ctx->conn_opts, &ctx->probe_opts, arena, snap, &err) != 0)
    {
        pm_log_pm_error(&err);
        return -1;
    }
    if (snap->failure == CONN_NO_ATTEMPT)
    {
        pm_log_error("invalid connection options: %s", snap->failure_message);
        return -1;
    }
    if (snap->failure == CONN_TOO_MANY_CLIENTS && ctx->target != NULL &&
        ctx->target->reserved_conninfo[0] != '\0' && take_through_reserved(ctx, arena, snap) != 0)
        return -1;
    if (ctx->collect_host && collect_host(ctx, arena, snap) != 0)
        return -1;
    pm_log_info("snapshot of %s in %.1f ms (connect %.1f ms)", snap->target,
                snap->probe_s * 1000.0, snap->connect_s * 1000.0);
    return 0;
}

Store *
cmd_store(CmdContext *ctx)
{
    PmError err;

    if (ctx->store != NULL || ctx->store_failed)
        return ctx->store;
    ctx->store = store_open(ctx->conf.store, &err);
    if (ctx->store != NULL && store_relax_durability(ctx->store, &err) != 0)
    {
        store_close(ctx->store);
        ctx->store = NULL;
    }
    if (ctx->store == NULL)
    {
        ctx->store_failed = true;
        snprintf(ctx->store_error, sizeof(ctx->store_error), "%s", err.message);
    }
    return ctx->store;
}

void
cmd_record_sample(CmdContext *ctx, const Snapshot *snap)
{
    PmError err;
    Store *store;
    Sample sample;

    if (snap->failure != CONN_OK || ctx->opts.from != NULL)
        return;
    store = cmd_store(ctx);
    if (store == NULL)
    {
        pm_log_info("sample not recorded: %s", ctx->store_error);
        return;
    }
    store_sample_of(snap, &sample);
    if (store_sample_add(store, &sample, &err) != 0)
        pm_log_info("sample not recorded: %s", err.message);
}

int
cmd_emit(StrBuf *buf)
{
    PmError err;

    if (pm_write_stdout(buf, &err) != 0)
    {
        pm_log_pm_error(&err);
        return -1;
    }
    return 0;
}
