/*
 * incident.c - pgmedic incident: the runbook's §1 ("acknowledge the alert,
 * create an incident ticket") and §13 ("document root cause") kept by
 * pgmedic itself, in the same store as the audit log.
 *
 *   open [--alert NAME] [--title TEXT]   prints the new id alone on line 1
 *   list [--open-only] [--limit N]
 *   show ID
 *   ack ID [--by NAME]
 *   note ID TEXT...
 *   resolve ID [--root-cause TEXT]
 *   report ID [--format markdown|json] [--output DIR]
 *
 * While an incident is open, check, triage, fix and verify on its target add
 * to its timeline by themselves (incident_hook.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "render/report.h"
#include "store/incident.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/parse.h"

enum
{
    INC_OPT_ALERT = 300,
    INC_OPT_TITLE,
    INC_OPT_BY,
    INC_OPT_ROOT_CAUSE,
    INC_OPT_OUTPUT,
    INC_OPT_LIMIT,
    INC_OPT_OPEN_ONLY
};

static const struct option incident_options[] = {
    {"alert", required_argument, NULL, INC_OPT_ALERT},
    {"title", required_argument, NULL, INC_OPT_TITLE},
    {"by", required_argument, NULL, INC_OPT_BY},
    {"root-cause", required_argument, NULL, INC_OPT_ROOT_CAUSE},
    {"output", required_argument, NULL, INC_OPT_OUTPUT},
    {"limit", required_argument, NULL, INC_OPT_LIMIT},
    {"open-only", no_argument, NULL, INC_OPT_OPEN_ONLY},
    {NULL, 0, NULL, 0},
};

typedef struct
{
    const char *alert, *title, *by, *root_cause, *output;
    int64_t limit;
    bool open_only;
    unsigned given; /* bit (c - INC_OPT_ALERT) per option seen */
} IncidentOptions;

static int
incident_on_option(int c, const char *arg, void *state)
{
    IncidentOptions *o = state;
    PmError err;

    o->given |= 1u << (c - INC_OPT_ALERT);
    switch (c)
    {
        case INC_OPT_ALERT:
            o->alert = arg;
            return 0;
        case INC_OPT_TITLE:
            o->title = arg;
            return 0;
        case INC_OPT_BY:
            o->by = arg;
            return 0;
        case INC_OPT_ROOT_CAUSE:
            o->root_cause = arg;
            return 0;
        case INC_OPT_OUTPUT:
            o->output = arg;
            return 0;
        case INC_OPT_OPEN_ONLY:
            o->open_only = true;
            return 0;
        case INC_OPT_LIMIT:
            if (parse_int_range(arg, "--limit", 0, 1000000, &o->limit, &err) != 0)
            {
                pm_log_pm_error(&err);
                return -1;
            }
            return 0;
        default:
            return cmd_usage_error("incident", "unrecognized option"), -1;
    }
}

#define INCIDENT_USAGE                                                                             \
    "pgmedic incident open [--alert NAME] [--title TEXT] [OPTION]...\n"                            \
    "  pgmedic incident list [--open-only] [--limit N]\n"                                          \
    "  pgmedic incident show ID\n"                                                                 \
    "  pgmedic incident ack ID [--by NAME]\n"                                                      \
    "  pgmedic incident note ID TEXT...\n"                                                         \
    "  pgmedic incident resolve ID [--root-cause TEXT]\n"                                          \
    "  pgmedic incident report ID [--format markdown|json] [--output DIR]"

#define INCIDENT_OPTIONS                                                                           \
    "      --alert=NAME         open: the alert it is about (DatabaseConnectionFailure,\n"         \
    "                           DatabaseHighConnections, DatabaseSlowQueries)\n"                   \
    "      --title=TEXT         open: its title (default: the alert's summary)\n"                  \
    "      --by=NAME            ack: who acknowledges (default: the OS user)\n"                    \
    "      --root-cause=TEXT    resolve: the root cause, for the report\n"                         \
    "      --output=DIR         report: write incident-ID.md (or .json) and incident-ID.svg\n"     \
    "                           into DIR and print their paths\n"                                  \
    "      --limit=N            list: at most N incidents (default 20; 0 for all)\n"               \
    "      --open-only          list: only incidents not resolved\n"

#define INCIDENT_EXAMPLES                                                                          \
    "  id=$(pgmedic incident open --alert DatabaseHighConnections -d pivotal_flow | head -n1)\n"   \
    "  pgmedic incident ack \"$id\"\n"                                                             \
    "  pgmedic triage -d pivotal_flow          # joins the open incident by itself\n"              \
    "  pgmedic incident note \"$id\" billing-worker deploy at 15:40 leaks connections\n"           \
    "  pgmedic incident resolve \"$id\" --root-cause \"connection leak in billing-worker\"\n"      \
    "  pgmedic incident report \"$id\" --output ./reports\n"                                       \
    "  pgmedic check --open-incident --format nagios   # opens one when an alert fires\n"          \
    "\nWhile an incident is open for a target, every check, triage, fix and verify on it\n"        \
    "adds to its timeline (--incident ID names one explicitly).  Each run evaluates the\n"         \
    "runbook's escalation rules (§11): unresponsive after restart, corruption suspected,\n"       \
    "an alert persisting after a fix, root cause unclear past escalate_after.  See the\n"          \
    "[escalation] section of the configuration.\n"

static const CmdHelp help = {
    .name = "incident",
    .summary = "open, acknowledge, annotate, resolve incidents and write their report",
    .usage = INCIDENT_USAGE,
    .options = INCIDENT_OPTIONS,
    .examples = INCIDENT_EXAMPLES,
    .accepts = OPT_FORMAT | OPT_MARKDOWN,
    .extra_options = incident_options,
    .extra_short = "",
    .on_option = incident_on_option,
    .max_args = 64,
};

/* `incident open` reaches the server: it takes connection options. */
static const CmdHelp help_open = {
    .name = "incident",
    .summary = "open, acknowledge, annotate, resolve incidents and write their report",
    .usage = INCIDENT_USAGE,
    .options = INCIDENT_OPTIONS,
    .examples = INCIDENT_EXAMPLES,
    .accepts = OPT_CONNECT | OPT_FORMAT,
    .extra_options = incident_options,
    .extra_short = "",
    .on_option = incident_on_option,
    .max_args = 1,
};

/* Which options each subcommand takes (bits of IncidentOptions.given). */
static const struct
{
    const char *name;
    unsigned options;
    int min_args, max_args; /* after the subcommand */
} subcommands[] = {
    {"open", 1u << 0 | 1u << 1, 0, 0},
    {"list", 1u << 5 | 1u << 6, 0, 0},
    {"show", 0, 1, 1},
    {"ack", 1u << 2, 1, 1},
    {"note", 0, 2, 63},
    {"resolve", 1u << 3, 1, 1},
    {"report", 1u << 4, 1, 1},
};

/*
 * True when the subcommand (the first argument that is neither an option nor
 * an option's value) is "open".
 */
static bool
is_open(int argc, char **argv)
{
    static const char *const with_value[] = {
        "-h",     "-p",           "-U",         "-d",         "-c",       "-t",
        "--host", "--port",       "--username", "--dbname",   "--config", "--target",
        "--set",  "--format",     "--from",     "--incident", "--alert",  "--title",
        "--by",   "--root-cause", "--output",   "--limit"};
    int i;
    size_t j;

    for (i = 1; i < argc; i++)
    {
        bool takes = false;

        if (strcmp(argv[i], "--") == 0)
            return i + 1 < argc && strcmp(argv[i + 1], "open") == 0;
        if (argv[i][0] != '-')
            return strcmp(argv[i], "open") == 0;
        for (j = 0; j < PM_LENGTHOF(with_value); j++)
            takes = takes || strcmp(argv[i], with_value[j]) == 0;
        if (takes)
            i++;
    }
    return false;
}

static const char *
os_user(void)
{
    struct passwd *pw = getpwuid(geteuid());
    const char *user = getenv("USER");

    if (user != NULL && user[0] != '\0')
        return user;
    return pw ? pw->pw_name : "?";
}

static int
parse_id(const char *text, int64_t *id)
{
    PmError err;

    if (parse_int_range(text, "incident ID", 1, INT64_MAX, id, &err) != 0)
    {
        pm_log_pm_error(&err);
        return -1;
    }
    return 0;
}

/* --- open --- */

static int
incident_open(CmdContext *ctx, const IncidentOptions *o, Store *store)
{
    Arena *arena = arena_new();
    Snapshot snap;
    AlertList alerts;
    Incident inc, existing;
    const Alert *named = NULL;
    StrBuf title = STRBUF_INIT, data = STRBUF_INIT, out = STRBUF_INIT;
    PmError err;
    JsonW w;
    bool found;
    size_t i;
    int exit_code = EXIT_UNKNOWN;

    if (arena == NULL)
    {
        pm_log_error("out of memory");
        return EXIT_UNKNOWN;
    }
    if (o->alert != NULL)
    {
        bool known = false;

        for (i = 0; rules_alert_names[i] != NULL; i++)
            known = known || strcmp(rules_alert_names[i], o->alert) == 0;
        if (!known)
        {
            exit_code = cmd_usage_error("incident", "unrecognized alert \"%s\"", o->alert);
            goto done;
        }
    }
    ctx->probe_opts.ping_only = true;
    if (cmd_take_snapshot(ctx, arena, &snap) != 0)
        goto done;
    if (rules_eval(&snap, &ctx->conf.thresholds, arena, &alerts) != 0)
    {
        pm_log_error("out of memory");
        goto done;
    }
    if (store_incident_find_open(store, snap.target, arena, &existing, &found, &err) != 0)
    {
        pm_log_pm_error(&err);
        goto done;
    }
    if (found)
    {
        pm_log_error("incident %lld is already open for %s", (long long) existing.id, snap.target);
        pm_log_hint("Runs join it by themselves; resolve it first to open another "
                    "(pgmedic incident resolve %lld).",
                    (long long) existing.id);
        goto done;
    }
    for (i = 0; i < alerts.n_alerts; i++)
        if (o->alert != NULL && strcmp(alerts.alerts[i].name, o->alert) == 0)
            named = &alerts.alerts[i];
    if (o->title != NULL)
        strbuf_append(&title, o->title);
    else if (named != NULL || alerts.n_alerts > 0)
    {
        const Alert *a = named ? named : &alerts.alerts[0];

        strbuf_printf(&title, "%s: %s", a->name, a->summary ? a->summary : "");
    }
    else
        strbuf_printf(&title, "%s on %s", o->alert ? o->alert : "incident", snap.target);
    memset(&inc, 0, sizeof(inc));
    inc.target = snap.target;
    inc.alert = o->alert ? o->alert : (alerts.n_alerts > 0 ? alerts.alerts[0].name : NULL);
    inc.title = strbuf_str(&title);
    inc.severity = rules_severity_name(
        named ? named->severity : (alerts.n_alerts ? rules_worst(&alerts) : SEV_WARNING));
    inc.opened_at = pm_wall_time();
    jsonw_init(&w, &data, false);
    jsonw_object_begin(&w);
    jsonw_kv_string(&w, "opened_by", os_user());
    jsonw_kv_string(&w, "via", "pgmedic incident open");
    jsonw_object_end(&w);
    if (!strbuf_ok(&title) || !strbuf_ok(&data))
    {
        pm_log_error("out of memory");
        goto done;
    }
    if (store_incident_open(store, &inc, strbuf_str(&data), &inc.id, &err) != 0)
    {
        pm_log_pm_error(&err);
        goto done;
    }
    /* The id alone on the first line, for scripts; then what it is about. */
    strbuf_printf(&out, "%lld\nopened incident %lld (%s) on %s: %s\n", (long long) inc.id,
                  (long long) inc.id, inc.severity, snap.target, inc.title);
    exit_code = cmd_emit(&out) == 0 ? EXIT_OK : EXIT_UNKNOWN;
    /* What was seen at opening is the first entry of its timeline. */
    ctx->opts.incident_id = inc.id;
    cmd_incident_record(ctx, &snap, &alerts, NULL, "check", NULL);

done:
    strbuf_free(&title);
    strbuf_free(&data);
    strbuf_free(&out);
    arena_free(arena);
    return exit_code;
}

/* --- list --- */

typedef struct
{
    StrBuf *out;
    JsonW *w;
    double now;
    int n;
} ListState;

static int
list_one(const Incident *inc, void *arg)
{
    ListState *s = arg;

    s->n++;
    if (s->w != NULL)
        render_incident_object(s->w, inc, s->now);
    else
        render_incident_list_line(s->out, inc, s->now);
    return 0;
}

static int
incident_list(CmdContext *ctx, const IncidentOptions *o, Store *store)
{
    StrBuf out = STRBUF_INIT;
    JsonW w;
    ListState s = {&out, NULL, pm_wall_time(), 0};
    PmError err;
    int rc;

    if (ctx->opts.format == FORMAT_JSON)
    {
        jsonw_init(&w, &out, true);
        jsonw_array_begin(&w);
        s.w = &w;
    }
    if (store_incident_list(store, (size_t) o->limit, o->open_only, list_one, &s, &err) != 0)
    {
        pm_log_pm_error(&err);
        strbuf_free(&out);
        return EXIT_UNKNOWN;
    }
    if (s.w != NULL)
    {
        jsonw_array_end(&w);
        strbuf_append_char(&out, '\n');
    }
    else if (s.n == 0)
        strbuf_printf(&out, "no %sincidents in %s\n", o->open_only ? "open " : "",
                      store_path(store));
    rc = cmd_emit(&out) == 0 ? EXIT_OK : EXIT_UNKNOWN;
    strbuf_free(&out);
    return rc;
}

/* --- loading an incident with everything the report needs --- */

typedef struct
{
    Arena *arena;
    TimelineEntry *entries;
    size_t n, cap;
    bool failed;
} EntryList;

static int
keep_entry(const TimelineEntry *e, void *arg)
{
    EntryList *l = arg;
    TimelineEntry *grown = arena_grow(l->arena, l->entries, l->n, &l->cap, sizeof(*grown), 64);

    if (grown != NULL)
        l->entries = grown; /* now, so that entries and cap always agree */
    if (grown == NULL || store_timeline_entry_copy(l->arena, e, &grown[l->n]) != 0)
    {
        l->failed = true;
        return 1;
    }
    l->n++;
    return 0;
}

typedef struct
{
    Arena *arena;
    const Incident *inc;
    double end;
    AuditRow *rows;
    size_t n, cap;
    bool failed;
} AuditList;

static int
keep_audit(const AuditRow *row, void *arg)
{
    AuditList *l = arg;
    AuditRow *r;

    if (strcmp(row->target, l->inc->target) != 0 || row->started_at < l->inc->opened_at - 1 ||
        row->started_at > l->end)
        return 0;
    r = arena_grow(l->arena, l->rows, l->n, &l->cap, sizeof(AuditRow), 16);
    if (r == NULL)
        goto oom;
    l->rows = r;
    r = &l->rows[l->n];
    *r = *row;
    r->target = arena_strdup(l->arena, row->target);
    r->action = arena_strdup(l->arena, row->action);
    r->options = arena_strdup(l->arena, row->options);
    r->plan = "";
    r->os_user = arena_strdup(l->arena, row->os_user);
    r->db_role = arena_strdup(l->arena, row->db_role);
    r->status = arena_strdup(l->arena, row->status);
    r->result = arena_strdup(l->arena, row->result);
    r->error = arena_strdup(l->arena, row->error);
    if (!r->target || !r->action || !r->options || !r->os_user || !r->db_role || !r->status ||
        !r->result || !r->error)
        goto oom;
    l->n++;
    return 0;
oom:
    l->failed = true;
    return 1;
}

typedef struct
{
    Arena *arena;
    Sample *samples;
    size_t n, cap;
    bool failed;
} SampleList;

static int
keep_sample(const Sample *s, void *arg)
{
    SampleList *l = arg;
    Sample *grown = arena_grow(l->arena, l->samples, l->n, &l->cap, sizeof(Sample), 256);

    if (grown == NULL)
    {
        l->failed = true;
        return 1;
    }
    l->samples = grown;
    l->samples[l->n] = *s;
    l->samples[l->n].target = NULL;
    l->n++;
    return 0;
}

/* The chart shows a little of what came before the incident. */
#define CHART_LEAD_IN_S (15 * 60)

static int
load_incident(Store *store, Arena *arena, int64_t id, bool with_report, Incident *inc,
              ReportInput *in)
{
    EntryList entries = {arena, NULL, 0, 0, false};
    AuditList audits = {arena, NULL, 0, NULL, 0, 0, false};
    SampleList samples = {arena, NULL, 0, 0, false};
    PmError err;
    size_t i;

    memset(in, 0, sizeof(*in));
    if (store_incident_get(store, id, arena, inc, &err) != 0 ||
        store_timeline_list(store, id, keep_entry, &entries, &err) != 0)
    {
        pm_log_pm_error(&err);
        return -1;
    }
    in->incident = inc;
    in->now = pm_wall_time();
    audits.inc = inc;
    audits.end = render_incident_window_end(inc, in->now);
    if (with_report && (store_audit_list(store, 0, keep_audit, &audits, &err) != 0 ||
                        store_sample_list(store, inc->target, inc->opened_at - CHART_LEAD_IN_S,
                                          audits.end + 1, keep_sample, &samples, &err) != 0))
    {
        pm_log_pm_error(&err);
        return -1;
    }
    if (entries.failed || audits.failed || samples.failed)
    {
        pm_log_error("out of memory");
        return -1;
    }
    /* The audit log comes newest first: the report reads oldest first. */
    for (i = 0; i < audits.n / 2; i++)
    {
        AuditRow t = audits.rows[i];

        audits.rows[i] = audits.rows[audits.n - 1 - i];
        audits.rows[audits.n - 1 - i] = t;
    }
    in->entries = entries.entries;
    in->n_entries = entries.n;
    in->audits = audits.rows;
    in->n_audits = audits.n;
    in->samples = samples.samples;
    in->n_samples = samples.n;
    return 0;
}

/* --- show, ack, note, resolve --- */

static int
incident_show(CmdContext *ctx, Store *store, int64_t id)
{
    Arena *arena = arena_new();
    StrBuf out = STRBUF_INIT;
    Incident inc;
    ReportInput in;
    int rc = EXIT_UNKNOWN;

    if (arena == NULL || load_incident(store, arena, id, false, &inc, &in) != 0)
        goto done;
    if (ctx->opts.format == FORMAT_JSON)
        render_incident_json(&out, &inc, in.entries, in.n_entries, NULL, NULL, true);
    else
        render_incident_text(&out, &inc, in.entries, in.n_entries, in.now);
    rc = cmd_emit(&out) == 0 ? EXIT_OK : EXIT_UNKNOWN;
done:
    strbuf_free(&out);
    arena_free(arena);
    return rc;
}

static int
incident_ack(const IncidentOptions *o, Store *store, int64_t id)
{
    Arena *arena = arena_new();
    const char *who = o->by ? o->by : os_user();
    double now = pm_wall_time();
    Incident inc;
    PmError err;
    int rc = EXIT_UNKNOWN;

    if (arena == NULL)
        return EXIT_UNKNOWN;
    if (store_incident_ack(store, id, who, now, &err) != 0 ||
        store_incident_get(store, id, arena, &inc, &err) != 0)
        pm_log_pm_error(&err);
    else
    {
        char age[32];

        format_age(now - inc.opened_at, age, sizeof(age));
        printf("incident %lld acknowledged by %s, %s after it opened\n", (long long) id, who, age);
        rc = EXIT_OK;
    }
    arena_free(arena);
    return rc;
}

static int
incident_note(CmdContext *ctx, Store *store, int64_t id)
{
    StrBuf text = STRBUF_INIT;
    PmError err;
    int i, rc = EXIT_UNKNOWN;

    for (i = 2; i < ctx->opts.n_args; i++)
        strbuf_printf(&text, "%s%s", i > 2 ? " " : "", ctx->opts.args[i]);
    if (text.len == 0)
        rc = cmd_usage_error("incident", "the note is empty");
    else if (!strbuf_ok(&text))
        pm_log_error("out of memory");
    else if (store_timeline_add(store, id, pm_wall_time(), "note", strbuf_str(&text), NULL, NULL,
                                &err) != 0)
        pm_log_pm_error(&err);
    else
    {
        printf("note added to incident %lld\n", (long long) id);
        rc = EXIT_OK;
    }
    strbuf_free(&text);
    return rc;
}

static int
incident_resolve(const IncidentOptions *o, Store *store, int64_t id)
{
    Arena *arena = arena_new();
    double now = pm_wall_time();
    Incident inc;
    PmError err;
    int rc = EXIT_UNKNOWN;

    if (arena == NULL)
        return EXIT_UNKNOWN;
    if (store_incident_resolve(store, id, o->root_cause, now, &err) != 0 ||
        store_incident_get(store, id, arena, &inc, &err) != 0)
        pm_log_pm_error(&err);
    else
    {
        char age[32];

        format_age(now - inc.opened_at, age, sizeof(age));
        printf("incident %lld resolved, %s after it opened%s\n", (long long) id, age,
               o->root_cause ? "" : " (no root cause recorded: add --root-cause TEXT next time)");
        rc = EXIT_OK;
    }
    arena_free(arena);
    return rc;
}

/* --- report --- */

/* Writes buf to dir/name through a temporary file and rename; -1 after printing. */
static int
write_file(const char *dir, const char *name, const StrBuf *buf, char *path, size_t size)
{
    char tmp[4200];
    FILE *f;
    bool ok;
    int fd;

    snprintf(path, size, "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    /*
     * Security fix (issue 8): the temporary name is predictable, and
     * fopen(tmp, "w") followed a symlink planted there, so with --output in
     * a directory others may write (/tmp, where fs.protected_symlinks is
     * off) pgmedic, often root, overwrote any file it pointed to.  A stale
     * tmp is removed, and the new one must be created here (O_EXCL, which
     * follows no symlink); rename() then replaces path itself, never what a
     * symlink at path points to.  The mode is still the umask's.
     */
    if (unlink(tmp) != 0 && errno != ENOENT)
    {
        pm_log_error("could not remove file \"%s\": %s", tmp, strerror(errno));
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL)
    {
        pm_log_error("could not write file \"%s\": %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    ok = fwrite(strbuf_str(buf), 1, buf->len, f) == buf->len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0)
    {
        pm_log_error("could not write file \"%s\": %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int
incident_report(CmdContext *ctx, const IncidentOptions *o, Store *store, int64_t id)
{
    Arena *arena = arena_new();
    StrBuf report = STRBUF_INIT, chart = STRBUF_INIT, out = STRBUF_INIT;
    bool json = ctx->opts.format == FORMAT_JSON;
    char chart_name[64], report_name[64], path[4200];
    Incident inc;
    ReportInput in;
    int rc = EXIT_UNKNOWN;

    if (arena == NULL || load_incident(store, arena, id, true, &inc, &in) != 0)
        goto done;
    in.thresholds = &ctx->conf.thresholds;
    in.contacts = ctx->conf.escalation.contacts;
    snprintf(chart_name, sizeof(chart_name), "incident-%lld.svg", (long long) id);
    snprintf(report_name, sizeof(report_name), "incident-%lld.%s", (long long) id,
             json ? "json" : "md");
    if (o->output != NULL)
    {
        in.chart_href = chart_name;
        if (mkdir(o->output, 0777) != 0 && errno != EEXIST)
        {
            pm_log_error("could not create directory \"%s\": %s", o->output, strerror(errno));
            goto done;
        }
    }
    if (json)
        render_incident_report_json(&report, &in);
    else
        render_incident_markdown(&report, &in);
    if (!strbuf_ok(&report))
    {
        pm_log_error("out of memory");
        goto done;
    }
    if (o->output == NULL)
    {
        rc = cmd_emit(&report) == 0 ? EXIT_OK : EXIT_UNKNOWN;
        goto done;
    }
    render_incident_svg(&chart, &in);
    if (!strbuf_ok(&chart))
    {
        pm_log_error("out of memory");
        goto done;
    }
    if (write_file(o->output, chart_name, &chart, path, sizeof(path)) != 0)
        goto done;
    if (write_file(o->output, report_name, &report, path, sizeof(path)) != 0)
        goto done;
    /* The report first: what scripts and the demo read. */
    strbuf_printf(&out, "%s\n", path);
    snprintf(path, sizeof(path), "%s/%s", o->output, chart_name);
    strbuf_printf(&out, "%s\n", path);
    rc = cmd_emit(&out) == 0 ? EXIT_OK : EXIT_UNKNOWN;

done:
    strbuf_free(&report);
    strbuf_free(&chart);
    strbuf_free(&out);
    arena_free(arena);
    return rc;
}

int
cmd_incident(int argc, char **argv)
{
    IncidentOptions opts = {NULL, NULL, NULL, NULL, NULL, 20, false, 0};
    const CmdHelp *h = &help;
    CmdContext ctx;
    Store *store = NULL;
    const char *sub;
    PmError err;
    int64_t id = 0;
    size_t i, which = PM_LENGTHOF(subcommands);
    int exit_code, n_after;

    /* Only "open" reaches a server: it alone takes connection options. */
    if (is_open(argc, argv))
        h = &help_open;
    if (cmd_setup_with(argc, argv, h, &opts, &ctx, &exit_code) != 0)
        goto done;
    exit_code = EXIT_UNKNOWN;
    if (ctx.opts.n_args == 0)
    {
        exit_code = cmd_usage_error("incident", "missing subcommand");
        goto done;
    }
    sub = ctx.opts.args[0];
    for (i = 0; i < PM_LENGTHOF(subcommands); i++)
        if (strcmp(subcommands[i].name, sub) == 0)
            which = i;
    if (which == PM_LENGTHOF(subcommands))
    {
        exit_code = cmd_usage_error("incident", "unrecognized subcommand \"%s\"", sub);
        goto done;
    }
    if (opts.given & ~subcommands[which].options)
    {
        for (i = 0; incident_options[i].name != NULL; i++)
            if (opts.given & ~subcommands[which].options &
                (1u << (incident_options[i].val - INC_OPT_ALERT)))
                break;
        exit_code = cmd_usage_error("incident", "option \"--%s\" does not apply to \"%s\"",
                                    incident_options[i].name, sub);
        goto done;
    }
    n_after = ctx.opts.n_args - 1;
    if (n_after < subcommands[which].min_args)
    {
        exit_code = cmd_usage_error("incident", subcommands[which].min_args > 1 && n_after == 1
                                                    ? "missing note text"
                                                    : "missing incident ID");
        goto done;
    }
    if (n_after > subcommands[which].max_args)
    {
        exit_code = cmd_usage_error("incident", "too many command-line arguments (first is \"%s\")",
                                    ctx.opts.args[subcommands[which].max_args + 1]);
        goto done;
    }
    if (ctx.opts.format == FORMAT_MARKDOWN && strcmp(sub, "report") != 0)
    {
        exit_code = cmd_usage_error("incident", "only \"report\" has --format markdown");
        goto done;
    }
    if (subcommands[which].min_args > 0 && parse_id(ctx.opts.args[1], &id) != 0)
        goto done;
    store = store_open(ctx.conf.store, &err);
    if (store == NULL)
    {
        pm_log_pm_error(&err);
        goto done;
    }
    if (strcmp(sub, "open") == 0)
        exit_code = incident_open(&ctx, &opts, store);
    else if (strcmp(sub, "list") == 0)
        exit_code = incident_list(&ctx, &opts, store);
    else if (strcmp(sub, "show") == 0)
        exit_code = incident_show(&ctx, store, id);
    else if (strcmp(sub, "ack") == 0)
        exit_code = incident_ack(&opts, store, id);
    else if (strcmp(sub, "note") == 0)
        exit_code = incident_note(&ctx, store, id);
    else if (strcmp(sub, "resolve") == 0)
        exit_code = incident_resolve(&opts, store, id);
    else
        exit_code = incident_report(&ctx, &opts, store, id);

done:
    store_close(store);
    cmd_teardown(&ctx);
    return exit_code;
}
