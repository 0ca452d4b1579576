/*
 * maintain.c - pgmedic maintain: runbook §10 from the statistics, not from
 * the calendar.
 *
 * Probe (src/pg/maint.c reads the candidate tables and indexes), plan
 * (core/maintain.c, pure), then with --apply act: one statement at a time on
 * a connection of its own, each re-checked just before it runs, bounded by
 * lock_timeout and by a statement_timeout of what is left of the window, and
 * each written to the audit log before and after.  What does not fit in the
 * window is not started; what is still running at its end is cancelled.
 */
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "core/maintain.h"
#include "pg/maint.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/utf8.h"

/* --apply without --window: bounded all the same. */
#define DEFAULT_WINDOW_MS (3600 * 1000)
/* Measured runs worth calibrating on: small ones are mostly fixed cost. */
#define CALIBRATE_MIN_BYTES (8LL * 1024 * 1024)
#define CALIBRATE_MAX_ROWS  200

enum
{
    MNT_OPT_PLAN = 300,
    MNT_OPT_APPLY,
    MNT_OPT_YES,
    MNT_OPT_WINDOW,
    MNT_OPT_ONLY,
    MNT_OPT_LOCK_TIMEOUT
};

static const struct option maintain_options[] = {
    {"plan", no_argument, NULL, MNT_OPT_PLAN},
    {"apply", no_argument, NULL, MNT_OPT_APPLY},
    {"yes", no_argument, NULL, MNT_OPT_YES},
    {"window", required_argument, NULL, MNT_OPT_WINDOW},
    {"only", required_argument, NULL, MNT_OPT_ONLY},
    {"lock-timeout", required_argument, NULL, MNT_OPT_LOCK_TIMEOUT},
    {NULL, 0, NULL, 0},
};

typedef struct
{
    bool plan, apply, yes;
    const char *window_text; /* as given */
    int64_t window_ms;       /* --window DURATION; -1 when not given (or a weekly window) */
    bool has_weekly;         /* --window 'Sun 02:00-04:00' */
    MaintWindow weekly;
    unsigned kinds; /* 0: all */
    int64_t lock_timeout_ms;
} MaintainOptions;

static int
maintain_on_option(int c, const char *arg, void *state)
{
    MaintainOptions *o = state;
    PmError err;

    switch (c)
    {
        case MNT_OPT_PLAN:
            o->plan = true;
            return 0;
        case MNT_OPT_APPLY:
            o->apply = true;
            return 0;
        case MNT_OPT_YES:
            o->yes = true;
            return 0;
        case MNT_OPT_WINDOW:
            o->window_text = arg;
            o->has_weekly = false;
            o->window_ms = -1;
            if (parse_duration_ms(arg, "--window", 30LL * 24 * 3600 * 1000, &o->window_ms, &err) ==
                0)
            {
                if (o->window_ms == 0)
                    return cmd_usage_error("maintain", "--window must be longer than 0"), -1;
                return 0;
            }
            o->window_ms = -1;
            if (maintain_window_parse(arg, &o->weekly, &err) == 0)
            {
                o->has_weekly = true;
                return 0;
            }
            pm_log_error("invalid --window \"%s\"", arg);
            pm_log_hint(
                "Give a duration such as 2h or 30min, or a weekly window in local time such "
                "as \"Sun 02:00-04:00\" or \"daily 01:00-03:00\".");
            return -1;
        case MNT_OPT_ONLY:
            if (maintain_kinds_parse(arg, &o->kinds, &err) != 0)
            {
                pm_log_pm_error(&err);
                return -1;
            }
            return 0;
        case MNT_OPT_LOCK_TIMEOUT:
            if (parse_duration_ms(arg, "--lock-timeout", 3600 * 1000, &o->lock_timeout_ms, &err) !=
                0)
            {
                pm_log_pm_error(&err);
                return -1;
            }
            if (o->lock_timeout_ms == 0)
                return cmd_usage_error("maintain", "--lock-timeout must be longer than 0"), -1;
            return 0;
        default:
            return cmd_usage_error("maintain", "unrecognized option"), -1;
    }
}

static const CmdHelp help = {
    .name = "maintain",
    .summary = "plan VACUUM, ANALYZE and REINDEX from statistics, run them in a window",
    .usage = "pgmedic maintain [--plan | --apply [--window DURATION|WINDOW]] [OPTION]...",
    .options = "      --plan               show what would run, why, and how long it should take\n"
               "                           (the default; nothing changes)\n"
               "      --apply              run it: one statement at a time, each audited\n"
               "      --yes                do not ask for confirmation on a terminal\n"
               "      --window=DURATION    stop at its end: 2h, 30min (default with --apply: 1h);\n"
               "                           or a weekly window in local time, \"Sun 02:00-04:00\":\n"
               "                           act only inside it, until its end\n"
               "      --only=KINDS         only these kinds of work (a comma list, see below)\n"
               "      --lock-timeout=DUR   lock_timeout of each statement (5s)\n",
    .examples =
        "  pgmedic maintain -d pivotal_flow\n"
        "  pgmedic maintain -d pivotal_flow --apply --window 2h\n"
        "  pgmedic maintain -t db1 --apply --yes --window 'Sun 02:00-04:00'   # cron, hourly\n"
        "  pgmedic maintain --only analyze,vacuum --apply --window 30min\n"
        "  pgmedic maintain --format json | jq -r '.items[].statement'\n"
        "\nWhat is planned, from the statistics rather than the calendar (runbook §10),\n"
        "in the order it runs:\n"
        "  vacuum_freeze    VACUUM (FREEZE): the age of relfrozenxid (or relminmxid) is past\n"
        "                   50% of autovacuum_freeze_max_age, before autovacuum forces it\n"
        "  drop_invalid     DROP INDEX CONCURRENTLY: a _ccnew/_ccold copy that an interrupted\n"
        "                   REINDEX CONCURRENTLY left\n"
        "  rebuild_invalid  REINDEX INDEX CONCURRENTLY: an INVALID index (a CREATE INDEX\n"
        "                   CONCURRENTLY that failed)\n"
        "  analyze          ANALYZE: rows modified since the last analyze past\n"
        "                   stale_statistics_ratio of the live rows\n"
        "  vacuum           VACUUM (ANALYZE): dead tuples past dead_tuple_ratio\n"
        "  reindex          REINDEX INDEX CONCURRENTLY: a B-tree of 1 MiB or more with 40% of\n"
        "                   it wasted, estimated from pg_stats (measured by pgstatindex()\n"
        "                   when the pgstattuple extension is installed and may be called)\n"
        "\nThe window: an item whose estimate does not fit in what is left is not started\n"
        "(smaller ones after it still may be), and a statement still running at the end is\n"
        "cancelled by its statement_timeout.  Each item is re-checked just before it runs:\n"
        "work autovacuum has done meanwhile is skipped.  Estimates use the throughput that\n"
        "earlier runs on the same target measured (the audit log), else 50 MiB/s.\n"
        "Every item is written to the audit log before it runs and completed after,\n"
        "including what was not started or was cancelled (\"pgmedic audit\").\n"
        "\nExit status: 0 done (or a plan), 1 when work was left for the next window (not\n"
        "started, cancelled, or its table busy), 2 when a statement failed or the server\n"
        "could not be reached, 3 on a usage error or without a writable audit log.\n",
    .accepts = OPT_CONNECT | OPT_FORMAT,
    .extra_options = maintain_options,
    .extra_short = "",
    .on_option = maintain_on_option,
    .max_args = 0,
};

/* What happened to one item of the plan (--apply). */
typedef struct
{
    const char *statement;
    const char *outcome;
    const char *status; /* done, skipped, cancelled, failed */
    double seconds;
    int64_t audit_id;
} ItemResult;

typedef struct
{
    CmdContext *ctx;
    MaintainOptions *o;
    Arena *arena;
    PgConn *conn; /* read-only: collection, re-checks, progress */
    PgConn *act;  /* read-write: the statements */
    ConnAttempt attempt;
    MaintServer server;
    MaintSettings settings;
    MaintPlan plan;
    const char **statements; /* per item, as the plan shows them */
    ItemResult *results;
    int n_truncated;
    int n_rate_samples; /* measured items the rate comes from; 0: the default */
    double window_s;    /* -1: none */
    const char *window_label;
    Store *store;
    int n_done, n_skipped, n_cancelled, n_failed, n_not_started;
    int n_busy; /* of n_skipped: lock_timeout, left for the next window */
} MaintainRun;

/*
 * s made safe for a terminal: control characters (C0, DEL, C1) become
 * spaces and invalid UTF-8 '?'.  Relation names are whatever their owners
 * wrote, and quoting does not remove escape sequences.
 */
static const char *
term_clean(Arena *arena, const char *s)
{
    StrBuf buf = STRBUF_INIT;
    const char *out;

    pm_utf8_append_printable(&buf, s, 0);
    out = strbuf_ok(&buf) ? arena_strdup(arena, strbuf_str(&buf)) : NULL;
    strbuf_free(&buf);
    return out != NULL ? out : "?";
}

static const char *
qualified(Arena *arena, const char *schema, const char *name)
{
    size_t len = strlen(schema) + strlen(name) + 2;
    char *out = arena_alloc(arena, len);

    if (out == NULL)
        return "?";
    snprintf(out, len, "%s.%s", schema, name);
    return out;
}

static const char *
os_user(void)
{
    struct passwd *pw = getpwuid(geteuid());

    return pw ? pw->pw_name : "?";
}

static int
local_tz_offset(double unix_now)
{
    time_t t = (time_t) unix_now;
    struct tm tm;

    if (localtime_r(&t, &tm) == NULL)
        return 0;
    return (int) tm.tm_gmtoff;
}

/* The thresholds: [thresholds] for tables, the planner's defaults for the rest. */
static void
settings_from_conf(const CmdContext *ctx, const MaintainOptions *o, MaintSettings *s)
{
    memset(s, 0, sizeof(*s));
    s->dead_tuple_ratio = ctx->conf.thresholds.dead_tuple_ratio;
    s->stale_statistics_ratio = ctx->conf.thresholds.stale_statistics_ratio;
    /*
     * [maintenance] freeze_age_ratio and index_bloat_ratio take over here once
     * the configuration's key table has them.
     */
    s->freeze_age_ratio = ctx->conf.maintenance.freeze_age_ratio;
    s->index_bloat_ratio = ctx->conf.maintenance.index_bloat_ratio;
    s->rate_bytes_per_s = MAINT_DEFAULT_RATE_BYTES_PER_S;
    s->kinds = o->kinds;
}

/* --- calibration: the throughput earlier runs measured --- */

typedef struct
{
    const char *target;
    double bytes, seconds;
    int n, rows;
} Calibration;

static int
calibrate_row(const AuditRow *row, void *arg)
{
    Calibration *c = arg;
    json_t *v, *e;
    size_t i;

    if (++c->rows > CALIBRATE_MAX_ROWS)
        return 1;
    if (strncmp(row->action, "maintain ", 9) != 0 || strcmp(row->target, c->target) != 0 ||
        strcmp(row->status, "done") != 0 || row->result == NULL)
        return 0;
    v = json_loads(row->result, 0, NULL);
    json_array_foreach(v, i, e)
    {
        double bytes = json_number_value(json_object_get(e, "work_bytes"));
        double seconds = json_number_value(json_object_get(e, "seconds"));

        /*
         * The whole time, fixed costs included: a slower rate errs on the
         * side of not starting what would not finish.
         */
        if (bytes >= (double) CALIBRATE_MIN_BYTES && seconds > 0)
        {
            c->bytes += bytes;
            c->seconds += seconds;
            c->n++;
        }
    }
    json_decref(v);
    return c->n >= 20 ? 1 : 0;
}

static void
calibrate(MaintainRun *run)
{
    Store *store = cmd_store(run->ctx);
    Calibration c = {run->attempt.label, 0, 0, 0, 0};
    PmError err;
    double rate;

    if (store == NULL)
    {
        pm_log_info("no measured throughput: %s", run->ctx->store_error);
        return;
    }
    if (store_audit_list(store, 0, calibrate_row, &c, &err) != 0)
    {
        pm_log_info("no measured throughput: %s", err.message);
        return;
    }
    if (c.n == 0 || c.seconds <= 0)
        return;
    rate = c.bytes / c.seconds;
    /* Keep a freak measure from promising the impossible or nothing at all. */
    if (rate < 1024.0 * 1024)
        rate = 1024.0 * 1024;
    if (rate > 10.0 * 1024 * 1024 * 1024)
        rate = 10.0 * 1024 * 1024 * 1024;
    run->settings.rate_bytes_per_s = rate;
    run->n_rate_samples = c.n;
}

/* --- the plan, shown --- */

static const char *
rate_source(const MaintainRun *run, char *buf, size_t size)
{
    if (run->n_rate_samples > 0)
        snprintf(buf, size, "measured by %d earlier item%s on this target", run->n_rate_samples,
                 run->n_rate_samples == 1 ? "" : "s");
    else
        snprintf(buf, size, "a cautious default: no earlier run on this target measured it");
    return buf;
}

/*
 * Which items a window of window_s would start, in order, skipping those
 * that do not fit in what is left: fits[i].  Returns the seconds used.
 */
static double
simulate_window(const MaintPlan *plan, double window_s, bool *fits)
{
    double used = 0;
    size_t i;

    for (i = 0; i < plan->n_items; i++)
    {
        fits[i] = window_s < 0 || used + plan->items[i].estimate_s <= window_s;
        if (fits[i])
            used += plan->items[i].estimate_s;
    }
    return used;
}

static void
print_plan_text(MaintainRun *run, StrBuf *out)
{
    const MaintPlan *plan = &run->plan;
    char size[32], est[32], win[32];
    bool *fits = arena_array(run->arena, plan->n_items + 1, sizeof(bool));
    double used;
    size_t i, n_fit = 0;

    if (fits == NULL)
        return;
    used = simulate_window(plan, run->window_s, fits);
    strbuf_printf(out, "pgmedic maintain on %s (plan: nothing runs without --apply)\n",
                  term_clean(run->arena, run->attempt.label));
    if (run->server.freeze_max_age > 0)
    {
        char age[32];

        maintain_format_count(run->server.database_xid_age, age, sizeof(age));
        strbuf_printf(
            out,
            "database age(datfrozenxid) %s, %.0f%% of autovacuum_freeze_max_age; "
            "thresholds: dead tuples %.0f%%, modified %.0f%%, freeze age %.0f%%, "
            "index bloat %.0f%%\n",
            age,
            100.0 * (double) run->server.database_xid_age / (double) run->server.freeze_max_age,
            100.0 * run->settings.dead_tuple_ratio, 100.0 * run->settings.stale_statistics_ratio,
            100.0 * run->settings.freeze_age_ratio, 100.0 * run->settings.index_bloat_ratio);
    }
    if (plan->n_items == 0)
    {
        strbuf_printf(out, "nothing to do: no table or index is past its threshold\n");
    }
    else
    {
        char work[32], rate[32], src[128];

        maintain_format_bytes(plan->work_bytes, work, sizeof(work));
        maintain_format_bytes((int64_t) run->settings.rate_bytes_per_s, rate, sizeof(rate));
        format_age(plan->estimate_s, est, sizeof(est));
        strbuf_printf(out, "%zu item%s, about %s to read and write, about %s at %s/s (%s):\n",
                      plan->n_items, plan->n_items == 1 ? "" : "s", work, est, rate,
                      rate_source(run, src, sizeof(src)));
    }
    for (i = 0; i < plan->n_items; i++)
    {
        const MaintItem *it = &plan->items[i];

        maintain_format_bytes(it->size_bytes, size, sizeof(size));
        format_age(it->estimate_s, est, sizeof(est));
        strbuf_printf(out, "  %zu. %-16s %-40s %10s  ~%s%s\n", i + 1, maintain_kind_name(it->kind),
                      term_clean(run->arena, qualified(run->arena, it->schema, it->name)), size,
                      est, fits[i] ? "" : "  (does not fit in the window)");
        /* Catalogs frozen together share their reason: say it once. */
        if (i > 0 && strcmp(it->why, plan->items[i - 1].why) == 0)
            strbuf_printf(out, "     why: as above\n");
        else
            strbuf_printf(out, "     why: %s\n", term_clean(run->arena, it->why));
        if (it->reclaim_bytes > 0)
        {
            maintain_format_bytes(it->reclaim_bytes, size, sizeof(size));
            strbuf_printf(out, "     gives back about %s\n", size);
        }
        strbuf_printf(out, "     %s;\n", term_clean(run->arena, run->statements[i]));
        n_fit += fits[i] ? 1 : 0;
    }
    if (run->window_s >= 0 && plan->n_items > 0)
    {
        format_age(run->window_s, win, sizeof(win));
        format_age(used, est, sizeof(est));
        strbuf_printf(out, "window %s%s%s%s: %zu of %zu item%s would start, about %s of work\n",
                      run->window_label, run->o->has_weekly ? " (" : "",
                      run->o->has_weekly ? win : "", run->o->has_weekly ? " left)" : "", n_fit,
                      plan->n_items, plan->n_items == 1 ? "" : "s", est);
    }
    for (i = 0; i < plan->n_notes; i++)
        strbuf_printf(out, "note: %s\n", term_clean(run->arena, plan->notes[i]));
    if (run->n_truncated > 0)
        strbuf_printf(out, "note: more candidates than one run reads: the most urgent are "
                           "planned; the rest come up in the next run\n");
    if (plan->n_items > 0)
        strbuf_printf(out,
                      "each would run alone, with lock_timeout %s and a statement_timeout of what "
                      "is left of the window\n"
                      "dry run: nothing was done; add --apply to run %s (--window DURATION bounds "
                      "the run; 1h by default)\n",
                      (format_duration_ms(run->o->lock_timeout_ms, win, sizeof(win)), win),
                      plan->n_items == 1 ? "it" : "them");
}

static void
write_item_json(JsonW *w, const MaintainRun *run, size_t i, const bool *fits)
{
    const MaintItem *it = &run->plan.items[i];

    jsonw_object_begin(w);
    jsonw_kv_string(w, "kind", maintain_kind_name(it->kind));
    jsonw_kv_string(w, "schema", it->schema);
    jsonw_kv_string(w, "name", it->name);
    jsonw_kv_string(w, "table_schema", it->table_schema);
    jsonw_kv_string(w, "table_name", it->table_name);
    jsonw_kv_string(w, "statement", run->statements[i]);
    jsonw_kv_string(w, "why", it->why);
    jsonw_kv_int(w, "size_bytes", it->size_bytes);
    jsonw_kv_int(w, "work_bytes", it->work_bytes);
    jsonw_key(w, "reclaim_bytes");
    if (it->reclaim_bytes >= 0)
        jsonw_int(w, it->reclaim_bytes);
    else
        jsonw_null(w);
    jsonw_kv_double(w, "estimate_s", it->estimate_s);
    if (it->kind == MAINT_REINDEX)
        jsonw_kv_string(w, "bloat_source", it->measured ? "pgstattuple" : "statistics");
    if (fits != NULL)
        jsonw_kv_bool(w, "fits_window", fits[i]);
    if (run->results != NULL)
    {
        const ItemResult *r = &run->results[i];

        jsonw_kv_string(w, "status", r->status ? r->status : "skipped");
        jsonw_kv_string(w, "outcome", r->outcome);
        jsonw_kv_double(w, "seconds", r->seconds);
        jsonw_key(w, "audit_id");
        if (r->audit_id > 0)
            jsonw_int(w, r->audit_id);
        else
            jsonw_null(w);
    }
    jsonw_object_end(w);
}

static void
print_json(MaintainRun *run, StrBuf *out)
{
    const MaintPlan *plan = &run->plan;
    bool *fits = arena_array(run->arena, plan->n_items + 1, sizeof(bool));
    char taken[40];
    JsonW w;
    size_t i;

    if (fits == NULL)
        return;
    simulate_window(plan, run->window_s, fits);
    pm_format_iso8601(pm_wall_time(), taken, sizeof(taken));
    jsonw_init(&w, out, true);
    jsonw_object_begin(&w);
    jsonw_kv_int(&w, "pgmedic", 1);
    jsonw_kv_string(&w, "target", run->attempt.label);
    jsonw_kv_string(&w, "taken_at", taken);
    jsonw_kv_string(&w, "mode", run->o->apply ? "apply" : "plan");
    jsonw_key(&w, "window");
    if (run->window_s >= 0)
    {
        jsonw_object_begin(&w);
        jsonw_kv_string(&w, "spec", run->window_label);
        jsonw_kv_double(&w, "seconds", run->window_s);
        jsonw_object_end(&w);
    }
    else
        jsonw_null(&w);
    jsonw_key(&w, "thresholds");
    jsonw_object_begin(&w);
    jsonw_kv_double(&w, "dead_tuple_ratio", run->settings.dead_tuple_ratio);
    jsonw_kv_double(&w, "stale_statistics_ratio", run->settings.stale_statistics_ratio);
    jsonw_kv_double(&w, "freeze_age_ratio", run->settings.freeze_age_ratio);
    jsonw_kv_double(&w, "index_bloat_ratio", run->settings.index_bloat_ratio);
    jsonw_object_end(&w);
    jsonw_kv_double(&w, "rate_bytes_per_s", run->settings.rate_bytes_per_s);
    jsonw_kv_int(&w, "rate_samples", run->n_rate_samples);
    jsonw_kv_int(&w, "database_xid_age", run->server.database_xid_age);
    jsonw_kv_int(&w, "freeze_max_age", run->server.freeze_max_age);
    jsonw_kv_bool(&w, "pgstattuple", run->server.pgstattuple_schema != NULL);
    jsonw_kv_int(&w, "work_bytes", plan->work_bytes);
    jsonw_kv_double(&w, "estimate_s", plan->estimate_s);
    jsonw_key(&w, "items");
    jsonw_array_begin(&w);
    for (i = 0; i < plan->n_items; i++)
        write_item_json(&w, run, i, run->o->apply ? NULL : fits);
    jsonw_array_end(&w);
    if (run->results != NULL)
    {
        jsonw_key(&w, "summary");
        jsonw_object_begin(&w);
        jsonw_kv_int(&w, "done", run->n_done);
        jsonw_kv_int(&w, "not_started", run->n_not_started);
        jsonw_kv_int(&w, "cancelled", run->n_cancelled);
        jsonw_kv_int(&w, "skipped", run->n_skipped);
        jsonw_kv_int(&w, "failed", run->n_failed);
        jsonw_object_end(&w);
    }
    jsonw_key(&w, "notes");
    jsonw_array_begin(&w);
    for (i = 0; i < plan->n_notes; i++)
        jsonw_string(&w, plan->notes[i]);
    if (run->n_truncated > 0)
        jsonw_string(&w, "more candidates than one run reads: the most urgent are planned");
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    strbuf_append_char(out, '\n');
}

/* --- applying --- */

/* Writes the "before" row of one item; 0, or -1 (printed). */
static int
audit_item_begin(MaintainRun *run, const MaintItem *it, const char *statement, double left_s,
                 int64_t *id)
{
    StrBuf plan = STRBUF_INIT, action = STRBUF_INIT;
    AuditBegin row;
    JsonW w;
    PmError err;
    int rc;

    jsonw_init(&w, &plan, false);
    jsonw_object_begin(&w);
    jsonw_kv_string(&w, "kind", maintain_kind_name(it->kind));
    jsonw_kv_string(&w, "relation", qualified(run->arena, it->schema, it->name));
    jsonw_kv_string(&w, "statement", statement);
    jsonw_kv_string(&w, "why", it->why);
    jsonw_kv_int(&w, "size_bytes", it->size_bytes);
    jsonw_kv_int(&w, "work_bytes", it->work_bytes);
    jsonw_kv_double(&w, "estimate_s", it->estimate_s);
    jsonw_kv_double(&w, "window_left_s", left_s);
    jsonw_kv_double(&w, "lock_timeout_s", (double) run->o->lock_timeout_ms / 1000.0);
    jsonw_object_end(&w);
    strbuf_printf(&action, "maintain %s", maintain_kind_name(it->kind));
    memset(&row, 0, sizeof(row));
    row.target = run->attempt.label;
    row.action = strbuf_str(&action);
    row.options = qualified(run->arena, it->schema, it->name);
    row.plan = strbuf_str(&plan);
    row.os_user = os_user();
    row.db_role = run->server.role;
    row.started_at = pm_wall_time();
    rc = store_audit_begin(run->store, &row, id, &err);
    strbuf_free(&plan);
    strbuf_free(&action);
    if (rc != 0)
    {
        pm_log_pm_error(&err);
        pm_log_hint("pgmedic does not act without its audit log: the run stops here.");
        return -1;
    }
    return 0;
}

static void
audit_item_finish(MaintainRun *run, const MaintItem *it, ItemResult *r)
{
    StrBuf result = STRBUF_INIT;
    JsonW w;
    PmError err;

    jsonw_init(&w, &result, false);
    jsonw_array_begin(&w);
    jsonw_object_begin(&w);
    jsonw_kv_string(&w, "item", r->statement);
    jsonw_kv_string(&w, "outcome", r->outcome);
    jsonw_kv_int(&w, "work_bytes", it->work_bytes);
    jsonw_kv_double(&w, "seconds", r->seconds);
    jsonw_object_end(&w);
    jsonw_array_end(&w);
    if (store_audit_finish(run->store, r->audit_id, r->status, strbuf_str(&result), NULL,
                           pm_wall_time(), &err) != 0)
        pm_log_pm_error(&err);
    strbuf_free(&result);
}

/* Records an item that does not run (begin and finish at once); -1 when the audit log fails. */
static int
record_not_run(MaintainRun *run, size_t i, const MaintItem *it, const char *status,
               const char *outcome, double left_s)
{
    ItemResult *r = &run->results[i];

    r->statement = run->statements[i];
    r->status = status;
    r->outcome = arena_strdup(run->arena, outcome);
    if (audit_item_begin(run, it, r->statement, left_s, &r->audit_id) != 0)
        return -1;
    audit_item_finish(run, it, r);
    if (strcmp(status, "skipped") == 0 && strncmp(outcome, "not started", 11) == 0)
        run->n_not_started++;
    else
        run->n_skipped++;
    return 0;
}

static void
print_result(const MaintainRun *run, size_t i, const MaintItem *it)
{
    const ItemResult *r = &run->results[i];

    if (run->ctx->opts.format != FORMAT_TEXT)
        return;
    printf("  %zu. %s %s: %s (audit #%lld)\n", i + 1, maintain_kind_name(it->kind),
           term_clean(run->arena, qualified(run->arena, it->schema, it->name)),
           term_clean(run->arena, r->outcome), (long long) r->audit_id);
    printf("       %s;\n", term_clean(run->arena, r->statement));
    fflush(stdout);
}

static bool
is_reindex(MaintKind kind)
{
    return kind == MAINT_REINDEX || kind == MAINT_REBUILD_INVALID;
}

/* Runs one item; -1 when the run must stop (audit log failure). */
static int
apply_item(MaintainRun *run, size_t i, int64_t deadline_ms)
{
    const MaintItem *planned = &run->plan.items[i];
    ItemResult *r = &run->results[i];
    MaintItem it;
    char reason[640], outcome[1400], left[32];
    const char *statement, *before = NULL;
    double left_s = (double) (deadline_ms - pm_clock_ms()) / 1000.0;
    MaintExec x;
    MaintRunStatus status;
    /* The running statement's progress, read on the other connection. */
    ProgressLine progress = {.read = maint_progress, .width = 50, .max_bytes = 50};
    PmError err;
    double started;
    int rc;

    if (left_s <= 0 || run->act == NULL)
    {
        rc = record_not_run(run, i, planned, "skipped", "not started: the window has ended",
                            left_s > 0 ? left_s : 0);
        print_result(run, i, planned);
        return rc;
    }
    rc = maint_recheck(run->conn, planned, &run->settings, run->arena, &it, reason, sizeof(reason),
                       &err);
    if (rc <= 0)
    {
        if (rc < 0)
            snprintf(reason, sizeof(reason), "skipped: could not re-check it: %s", err.message);
        rc = record_not_run(run, i, planned, "skipped", reason, left_s);
        print_result(run, i, planned);
        return rc;
    }
    statement = maint_statement(run->act, &it, run->arena);
    if (statement == NULL)
    {
        pm_log_error("out of memory");
        return -1;
    }
    run->statements[i] = statement;
    if (it.estimate_s > left_s)
    {
        char est[32];

        format_age(it.estimate_s, est, sizeof(est));
        format_age(left_s, left, sizeof(left));
        snprintf(outcome, sizeof(outcome),
                 "not started: it needs about %s and %s is left in the window", est, left);
        rc = record_not_run(run, i, &it, "skipped", outcome, left_s);
        print_result(run, i, &it);
        return rc;
    }
    r->statement = statement;
    if (audit_item_begin(run, &it, statement, left_s, &r->audit_id) != 0)
        return -1;
    if (is_reindex(it.kind))
    {
        before = maint_invalid_indexes(run->act, it.table_oid, run->arena, &err);
        if (before == NULL)
            pm_log_warning("%s", err.message);
    }
    memset(&x, 0, sizeof(x));
    x.deadline_ms = deadline_ms;
    x.lock_timeout_ms = run->o->lock_timeout_ms;
    if (isatty(STDERR_FILENO) && run->ctx->opts.format == FORMAT_TEXT)
    {
        progress.watcher = run->conn;
        progress.pid = maint_backend_pid(run->act);
        progress.label = term_clean(run->arena, qualified(run->arena, it.schema, it.name));
        x.tick = progress_line_tick;
        x.tick_arg = &progress;
        x.tick_ms = 1000;
    }
    started = pm_clock_s();
    status = maint_run(run->act, statement, &x, &err);
    r->seconds = pm_clock_s() - started;
    progress_line_end(&progress);
    switch (status)
    {
        case MAINT_RUN_DONE:
            snprintf(outcome, sizeof(outcome), "done in %.1fs", r->seconds);
            r->status = "done";
            run->n_done++;
            break;
        case MAINT_RUN_NOT_STARTED:
            snprintf(outcome, sizeof(outcome), "not started: the window has ended");
            r->status = "skipped";
            run->n_not_started++;
            break;
        case MAINT_RUN_WINDOW:
        case MAINT_RUN_CLOSED:
            snprintf(outcome, sizeof(outcome), "cancelled: the window ended after %.1fs of it (%s)",
                     r->seconds, err.message);
            r->status = "cancelled";
            run->n_cancelled++;
            break;
        case MAINT_RUN_LOCK:
            format_duration_ms(run->o->lock_timeout_ms, left, sizeof(left));
            snprintf(outcome, sizeof(outcome),
                     "skipped: waited lock_timeout (%s) for other sessions; left for the next "
                     "window (%s)",
                     left, err.message);
            r->status = "skipped";
            run->n_skipped++;
            run->n_busy++;
            break;
        case MAINT_RUN_FAILED:
        {
            size_t dl = strlen(err.detail);

            /* The detail is a sentence; the outcome may go on after it. */
            if (dl > 0 && err.detail[dl - 1] == '.')
                err.detail[dl - 1] = '\0';
            snprintf(outcome, sizeof(outcome), "failed: %s%s%s%s", err.message,
                     err.detail[0] ? " (" : "", err.detail, err.detail[0] ? ")" : "");
            r->status = "failed";
            run->n_failed++;
            break;
        }
    }
    if (status == MAINT_RUN_CLOSED)
    {
        /* The connection is gone: nothing more runs in this window. */
        pgconn_close(run->act);
        run->act = NULL;
    }
    else if (status != MAINT_RUN_DONE && status != MAINT_RUN_NOT_STARTED && is_reindex(it.kind) &&
             before != NULL)
    {
        /* A REINDEX CONCURRENTLY that stopped leaves its INVALID _ccnew copy: drop it now. */
        char dropped[512], kept[512];
        PmError derr;
        size_t len = strlen(outcome);
        int drc = maint_drop_new_invalid(run->act, it.table_oid, before, dropped, sizeof(dropped),
                                         kept, sizeof(kept), &derr);

        if (dropped[0])
            snprintf(outcome + len, sizeof(outcome) - len,
                     "; the INVALID copy it left (%s) was dropped", dropped);
        len = strlen(outcome);
        if (drc != 0)
            snprintf(outcome + len, sizeof(outcome) - len,
                     "; the INVALID copy it left (%s) was NOT dropped (%s): the next maintain "
                     "run drops it",
                     kept[0] ? kept : "?", derr.message);
    }
    r->outcome = arena_strdup(run->arena, outcome);
    audit_item_finish(run, &it, r);
    print_result(run, i, &it);
    return 0;
}

static int
apply_plan(MaintainRun *run, int64_t deadline_ms)
{
    CmdContext *ctx = run->ctx;
    ConnOptions opts = ctx->conn_opts;
    PmError err;
    size_t i;

    run->results = arena_array(run->arena, run->plan.n_items + 1, sizeof(ItemResult));
    if (run->results == NULL)
    {
        pm_log_error("out of memory");
        return EXIT_UNKNOWN;
    }
    run->store = store_open(ctx->conf.store, &err);
    if (run->store == NULL)
    {
        pm_log_pm_error(&err);
        pm_log_hint("Nothing was done: pgmedic does not act without its audit log.");
        return EXIT_UNKNOWN;
    }
    opts.read_only = false;
    opts.lock_timeout_ms = run->o->lock_timeout_ms;
    run->act = pgconn_open(ctx->spec, &opts, &run->attempt);
    if (run->act == NULL)
    {
        pm_log_error("could not connect to %s: %s", run->attempt.label, run->attempt.message);
        return EXIT_CRITICAL;
    }
    maint_session_setup(run->act);
    if (ctx->opts.format == FORMAT_TEXT)
    {
        char win[32], lt[32];

        format_age(run->window_s, win, sizeof(win));
        format_duration_ms(run->o->lock_timeout_ms, lt, sizeof(lt));
        printf("pgmedic maintain on %s (apply, window %s%s%s%s)\n"
               "%zu item%s, one statement at a time, each with lock_timeout %s and a "
               "statement_timeout of what is left of the window:\n",
               term_clean(run->arena, run->attempt.label), run->window_label,
               run->o->has_weekly ? ": " : "", run->o->has_weekly ? win : "",
               run->o->has_weekly ? " left" : "", run->plan.n_items,
               run->plan.n_items == 1 ? "" : "s", lt);
        fflush(stdout);
    }
    for (i = 0; i < run->plan.n_items; i++)
        if (apply_item(run, i, deadline_ms) != 0)
            return EXIT_UNKNOWN;
    if (ctx->opts.format == FORMAT_TEXT)
        printf("%d done, %d not started, %d cancelled, %d skipped, %d failed\n", run->n_done,
               run->n_not_started, run->n_cancelled, run->n_skipped, run->n_failed);
    if (run->n_failed > 0)
        return EXIT_CRITICAL;
    if (run->n_not_started > 0 || run->n_cancelled > 0 || run->n_busy > 0)
        return EXIT_WARNING;
    return EXIT_OK;
}

static bool
confirm(const MaintainOptions *o, size_t n_items, const char *target)
{
    char answer[16];

    if (o->yes || !isatty(STDIN_FILENO))
        return true;
    fprintf(stderr, "Run %zu maintenance statement%s on %s? [y/N] ", n_items,
            n_items == 1 ? "" : "s", target);
    fflush(stderr);
    if (fgets(answer, sizeof(answer), stdin) == NULL)
        return false;
    return answer[0] == 'y' || answer[0] == 'Y';
}

int
cmd_maintain(int argc, char **argv)
{
    MaintainOptions o = {.window_ms = -1, .lock_timeout_ms = 5000};
    MaintCollectOptions co = {200, 200, 20, 0};
    MaintainRun run;
    CmdContext ctx;
    Arena *arena = NULL;
    StrBuf out = STRBUF_INIT;
    MaintInput in;
    PmError err;
    int64_t deadline_ms = 0;
    int exit_code;
    size_t i;

    memset(&run, 0, sizeof(run));
    if (cmd_start(argc, argv, &help, &o, &ctx, &arena, &exit_code) != 0)
        goto done;
    if (o.plan && o.apply)
    {
        exit_code = cmd_usage_error("maintain", "--plan and --apply cannot be used together");
        goto done;
    }
    run.ctx = &ctx;
    run.o = &o;
    run.arena = arena;
    run.window_s = -1;
    settings_from_conf(&ctx, &o, &run.settings);

    /* The window: a duration from now, or what is left of the weekly window. */
    if (o.window_ms > 0 || (o.apply && !o.has_weekly))
    {
        int64_t ms = o.window_ms > 0 ? o.window_ms : DEFAULT_WINDOW_MS;
        char text[32];

        run.window_s = (double) ms / 1000.0;
        format_duration_ms(ms, text, sizeof(text));
        run.window_label = arena_strdup(arena, o.window_ms > 0 ? text : "1h, the default");
        deadline_ms = pm_clock_ms() + ms;
    }
    else if (o.has_weekly)
    {
        double now = pm_wall_time();
        int tz = local_tz_offset(now);
        char text[64];

        maintain_window_format(&o.weekly, text, sizeof(text));
        run.window_label = arena_strdup(arena, text);
        run.window_s = maintain_window_remaining(&o.weekly, now, tz);
        if (run.window_s <= 0)
        {
            char next[32];

            format_age(maintain_window_next_start(&o.weekly, now, tz), next, sizeof(next));
            if (o.apply)
            {
                printf("pgmedic maintain: outside the window %s (it opens in %s): nothing was "
                       "done\n",
                       text, next);
                exit_code = EXIT_OK;
                goto done;
            }
            pm_log_info("outside the window %s (it opens in %s)", text, next);
            run.window_s = -1;
        }
        else
            deadline_ms = pm_clock_ms() + (int64_t) (run.window_s * 1000.0);
    }

    run.conn = pgconn_open(ctx.spec, &ctx.conn_opts, &run.attempt);
    if (run.conn == NULL)
    {
        pm_log_error("could not connect to %s: %s", run.attempt.label, run.attempt.message);
        exit_code = EXIT_CRITICAL;
        goto done;
    }
    calibrate(&run);
    co.measure_budget_ms = ctx.conf.query_timeout_ms;
    if (maint_collect(run.conn, &run.settings, &co, arena, &run.server, &in, &run.n_truncated,
                      &err) != 0)
    {
        pm_log_pm_error(&err);
        exit_code = EXIT_CRITICAL;
        goto done;
    }
    if (maintain_plan(&in, &run.settings, arena, &run.plan) != 0)
    {
        pm_log_error("out of memory");
        goto done;
    }
    run.statements = arena_array(arena, run.plan.n_items + 1, sizeof(char *));
    if (run.statements == NULL)
    {
        pm_log_error("out of memory");
        goto done;
    }
    for (i = 0; i < run.plan.n_items; i++)
    {
        run.statements[i] = maint_statement(run.conn, &run.plan.items[i], arena);
        if (run.statements[i] == NULL)
        {
            pm_log_error("out of memory");
            goto done;
        }
    }

    if (!o.apply)
    {
        if (ctx.opts.format == FORMAT_JSON)
            print_json(&run, &out);
        else
            print_plan_text(&run, &out);
        exit_code = cmd_emit(&out) == 0 ? EXIT_OK : EXIT_UNKNOWN;
        goto done;
    }
    if (run.plan.n_items == 0)
    {
        run.results = arena_array(arena, 1, sizeof(ItemResult));
        if (ctx.opts.format == FORMAT_JSON)
            print_json(&run, &out);
        else
        {
            strbuf_printf(&out,
                          "pgmedic maintain on %s: nothing to do: no table or index is "
                          "past its threshold\n",
                          term_clean(arena, run.attempt.label));
            for (i = 0; i < run.plan.n_notes; i++)
                strbuf_printf(&out, "note: %s\n", term_clean(arena, run.plan.notes[i]));
        }
        exit_code = cmd_emit(&out) == 0 ? EXIT_OK : EXIT_UNKNOWN;
        goto done;
    }
    if (!confirm(&o, run.plan.n_items, run.attempt.label))
    {
        printf("not confirmed: nothing was done\n");
        exit_code = EXIT_OK;
        goto done;
    }
    exit_code = apply_plan(&run, deadline_ms);
    if (ctx.opts.format == FORMAT_JSON && run.results != NULL)
    {
        print_json(&run, &out);
        if (cmd_emit(&out) != 0 && exit_code == EXIT_OK)
            exit_code = EXIT_UNKNOWN;
    }

done:
    strbuf_free(&out);
    pgconn_close(run.act);
    pgconn_close(run.conn);
    store_close(run.store);
    arena_free(arena);
    cmd_teardown(&ctx);
    return exit_code;
}
