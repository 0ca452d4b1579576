/*
 * fix.c - pgmedic fix ACTION: the runbook's remediations, guarded and
 * audited (runbook "Solutions", §6-7; DESIGN.md §4-5).
 *
 * A dry run unless --apply.  Sessions are chosen from a fresh snapshot by the
 * pure planner (core/plan.c) and each is signalled by a statement that
 * re-checks, on the live server, that it is still the same backend in the
 * same state past the same age (sql/act_signal.sql).  Every --apply writes an
 * audit row before acting and completes it after.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/progress.h"
#include "cmd/signal_audited.h"
#include "core/plan.h"
#include "pg/act.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/parse.h"
#include "util/utf8.h"

enum
{
    FIX_OPT_APPLY = 300,
    FIX_OPT_YES,
    FIX_OPT_APPLICATION,
    FIX_OPT_USER,
    FIX_OPT_CLIENT,
    FIX_OPT_IDLE_FOR,
    FIX_OPT_RUNNING_FOR,
    FIX_OPT_LOCK_WAIT,
    FIX_OPT_TERMINATE,
    FIX_OPT_GRACE,
    FIX_OPT_MIN_DURATION,
    FIX_OPT_TIMEOUT,
    FIX_OPT_LOCK_TIMEOUT
};

static const struct option fix_options[] = {
    {"apply", no_argument, NULL, FIX_OPT_APPLY},
    {"yes", no_argument, NULL, FIX_OPT_YES},
    {"application", required_argument, NULL, FIX_OPT_APPLICATION},
    {"user", required_argument, NULL, FIX_OPT_USER},
    {"client", required_argument, NULL, FIX_OPT_CLIENT},
    {"idle-for", required_argument, NULL, FIX_OPT_IDLE_FOR},
    {"running-for", required_argument, NULL, FIX_OPT_RUNNING_FOR},
    {"lock-wait", required_argument, NULL, FIX_OPT_LOCK_WAIT},
    {"terminate", no_argument, NULL, FIX_OPT_TERMINATE},
    {"grace", required_argument, NULL, FIX_OPT_GRACE},
    {"min-duration", required_argument, NULL, FIX_OPT_MIN_DURATION},
    {"timeout", required_argument, NULL, FIX_OPT_TIMEOUT},
    {"lock-timeout", required_argument, NULL, FIX_OPT_LOCK_TIMEOUT},
    {NULL, 0, NULL, 0},
};

typedef struct
{
    bool apply, yes, terminate;
    const char *application, *user, *client;
    int64_t idle_for_ms, running_for_ms, lock_wait_ms; /* -1: the threshold's default */
    int64_t grace_ms, min_duration_ms, timeout_ms, lock_timeout_ms;
} FixOptions;

static int
fix_on_option(int c, const char *arg, void *state)
{
    FixOptions *o = state;
    PmError err;
    int64_t *duration = NULL;
    const char *name = NULL;

    switch (c)
    {
    case FIX_OPT_APPLY:
        o->apply = true;
        return 0;
    case FIX_OPT_YES:
        o->yes = true;
        return 0;
    case FIX_OPT_TERMINATE:
        o->terminate = true;
        return 0;
    case FIX_OPT_APPLICATION:
        o->application = arg;
        return 0;
    case FIX_OPT_USER:
        o->user = arg;
        return 0;
    case FIX_OPT_CLIENT:
        o->client = arg;
        return 0;
    case FIX_OPT_IDLE_FOR:
        duration = &o->idle_for_ms, name = "--idle-for";
        break;
    case FIX_OPT_RUNNING_FOR:
        duration = &o->running_for_ms, name = "--running-for";
        break;
    case FIX_OPT_LOCK_WAIT:
        duration = &o->lock_wait_ms, name = "--lock-wait";
        break;
    case FIX_OPT_GRACE:
        duration = &o->grace_ms, name = "--grace";
        break;
    case FIX_OPT_MIN_DURATION:
        duration = &o->min_duration_ms, name = "--min-duration";
        break;
    case FIX_OPT_TIMEOUT:
        duration = &o->timeout_ms, name = "--timeout";
        break;
    case FIX_OPT_LOCK_TIMEOUT:
        duration = &o->lock_timeout_ms, name = "--lock-timeout";
        break;
    default:
        return cmd_usage_error("fix", "unrecognized option"), -1;
    }
    if (parse_duration_ms(arg, name, 30LL * 24 * 3600 * 1000, duration, &err) != 0)
    {
        pm_log_pm_error(&err);
        return -1;
    }
    return 0;
}

static const CmdHelp help = {
    .name = "fix",
    .summary = "treat a cause: guarded, audited remediations (dry run unless --apply)",
    .usage = "pgmedic fix ACTION [ARGUMENT]... [OPTION]...",
    .options =
        "      --apply              do it (without it, only show what would be done)\n"
        "      --yes                do not ask for confirmation on a terminal\n"
        "      --application=NAME   only sessions of this application_name\n"
        "      --user=ROLE          only sessions of this role\n"
        "      --client=ADDR        only sessions from this client address (\"local\": socket)\n"
        "      --idle-for=DURATION  terminate-idle[-in-transaction]: idle at least this long\n"
        "                           (default: idle_connection / idle_in_transaction)\n"
        "      --running-for=DUR    cancel-long: running at least this long (slow_query_critical)\n"
        "      --terminate          cancel-long: terminate what a cancel did not end\n"
        "      --grace=DURATION     cancel-long --terminate: wait this long first (10s)\n"
        "      --lock-wait=DURATION terminate-blockers: waiters waited this long (lock_wait)\n"
        "      --min-duration=DUR   slow-log on: log_min_duration_statement (1s)\n"
        "      --timeout=DURATION   analyze, vacuum, create-index: statement_timeout (1h)\n"
        "      --lock-timeout=DUR   analyze, vacuum, create-index: lock_timeout (5s)\n",
    .examples =
        "  pgmedic fix terminate-idle --application billing-worker --idle-for 1h\n"
        "  pgmedic fix terminate-idle --application billing-worker --idle-for 1h --apply\n"
        "  pgmedic fix terminate-idle-in-transaction --idle-for 5min --apply\n"
        "  pgmedic fix cancel-long --running-for 5min --terminate --apply\n"
        "  pgmedic fix terminate-blockers --apply\n"
        "  pgmedic fix analyze public.orders --apply;  pgmedic fix vacuum --apply\n"
        "  pgmedic fix create-index 'public.orders(customer_id)' --apply\n"
        "  pgmedic fix slow-log on --min-duration 500ms --apply;  pgmedic fix slow-log off --apply\n"
        "  pgmedic fix restart -t pivotal_flow --apply\n"
        "\nActions: terminate-idle, terminate-idle-in-transaction, cancel-long,\n"
        "terminate-blockers, analyze [TABLE]..., vacuum [TABLE]..., create-index\n"
        "'SCHEMA.TABLE(COLUMN[,COLUMN])'..., slow-log on|off, restart, reset-pool.\n"
        "\nNever signalled, whatever the options: pgmedic's own session, non-client\n"
        "backends (autovacuum, walsender, ...), sessions of [safety] protect_roles and\n"
        "protect_applications, and superusers' sessions unless pgmedic is a superuser.\n"
        "More matching sessions than max_terminations: refused, nothing is done.\n"
        "Each session is re-checked in the statement that signals it.  Every --apply is\n"
        "written to the audit log before and after (\"pgmedic audit\").\n"
        "\nExit status: 0 done (or nothing to do, or a dry run), 2 when an action failed,\n"
        "3 when refused or a usage error.\n",
    .accepts = OPT_CONNECT | OPT_INCIDENT,
    .extra_options = fix_options,
    .extra_short = "",
    .on_option = fix_on_option,
    .max_args = 64,
};

/* Everything one fix run shares. */
typedef struct
{
    CmdContext *ctx;
    FixOptions *opts;
    Arena *arena;
    Snapshot snap;
    SignalAudited audit; /* the audit row, its per-item results and their counts */
} FixRun;

/* Asks on the terminal; true when the answer is yes (or --yes, or no terminal). */
static bool
confirm(const FixOptions *o, const char *question)
{
    char answer[16];

    if (o->yes || !isatty(STDIN_FILENO))
        return true;
    fprintf(stderr, "%s [y/N] ", question);
    fflush(stderr);
    if (fgets(answer, sizeof(answer), stdin) == NULL)
        return false;
    return answer[0] == 'y' || answer[0] == 'Y';
}

/* Opens the store and writes the "before" audit row. */
static int
audit_begin(FixRun *run, const char *action, const char *plan_json)
{
    PmError err;
    StrBuf options = STRBUF_INIT;
    int i, rc;

    /* The arguments after the action (tables, on/off), then the filters. */
    for (i = 1; i < run->ctx->opts.n_args; i++)
        strbuf_printf(&options, "%s%s", i > 1 ? " " : "", run->ctx->opts.args[i]);
    if (run->opts->application)
        strbuf_printf(&options, "%s--application %s", options.len ? " " : "",
                      run->opts->application);
    if (run->opts->user)
        strbuf_printf(&options, "%s--user %s", options.len ? " " : "", run->opts->user);
    if (run->opts->client)
        strbuf_printf(&options, "%s--client %s", options.len ? " " : "", run->opts->client);
    if (run->opts->terminate)
        strbuf_printf(&options, "%s--terminate", options.len ? " " : "");
    rc = signal_audited_open_log(&run->audit, run->ctx, &run->snap, action, strbuf_str(&options),
                                 plan_json, &err);
    strbuf_free(&options);
    if (rc != 0)
    {
        pm_log_pm_error(&err);
        pm_log_hint("Nothing was done: pgmedic does not act without its audit log.");
        return -1;
    }
    return 0;
}

/* Completes the audit row with the results and says so ("audit #12: done"). */
static void
audit_finish(FixRun *run, const char *error)
{
    PmError err;

    if (run->audit.audit_id == 0)
        return;
    if (signal_audited_finish(&run->audit, error, &err) != 0)
        pm_log_pm_error(&err);
    else
        printf("audit #%lld: %s\n", (long long) run->audit.audit_id, run->audit.status);
}

/* The first lines of every fix: what, where, and through which login. */
static void
print_header(const FixRun *run, const char *action)
{
    printf("pgmedic fix %s on %s%s\n", action, run->snap.target, run->opts->apply ? "" : " (dry run)");
    if (run->snap.via_reserved_slot)
        printf("every ordinary slot is taken: looking and acting through reserved_conninfo\n");
}

/* A read-write connection for acting, bounded like every other. */
static PgConn *
connect_to_act(FixRun *run, int64_t query_timeout_ms, int64_t lock_timeout_ms)
{
    ConnOptions opts = run->ctx->conn_opts;
    ConnAttempt attempt;
    PgConn *conn;

    opts.read_only = false;
    opts.query_timeout_ms = query_timeout_ms;
    opts.lock_timeout_ms = lock_timeout_ms;
    conn = pgconn_open(cmd_act_spec(run->ctx, &run->snap), &opts, &attempt);
    if (conn == NULL)
        pm_log_error("could not connect to %s: %s", attempt.label, attempt.message);
    else
    {
        PmError err;

        if (act_match_encoding(conn, &err) != 0)
        {
            pm_log_pm_error(&err);
            pgconn_close(conn);
            conn = NULL;
        }
    }
    return conn;
}

/*
 * Security fix (issue 8): server text on the terminal.  Role names, query
 * texts and table names come from the server as any database user wrote
 * them, and fix printed them raw: an escape sequence in a query text or a
 * table name reached the operator's terminal.  Control characters become
 * spaces and invalid UTF-8 '?' (pm_utf8_append_printable; render/findings.c
 * cleans triage's output the same way).  What runs, and what the audit log
 * keeps, is unchanged.
 */
static const char *
clean(StrBuf *buf, const char *s, size_t max)
{
    strbuf_reset(buf);
    pm_utf8_append_printable(buf, s, max);
    return strbuf_ok(buf) ? strbuf_str(buf) : "?";
}

/* "  STATEMENT: OUTCOME" (or "  STATEMENT;" without one), cleaned for the terminal. */
static void
print_statement(const char *statement, const char *outcome)
{
    StrBuf a = STRBUF_INIT, b = STRBUF_INIT;

    if (outcome != NULL)
        printf("  %s: %s\n", clean(&a, statement, 0), clean(&b, outcome, 0));
    else
        printf("  %s;\n", clean(&a, statement, 0));
    strbuf_free(&a);
    strbuf_free(&b);
}

static void
print_session(const PlannedSignal *p)
{
    const Session *s = p->session;
    StrBuf user = STRBUF_INIT, app = STRBUF_INIT, client = STRBUF_INIT, query = STRBUF_INIT;
    char age[32];

    format_age(p->age_s, age, sizeof(age));
    printf("  pid %-7d %-12s %-18s %-15s %-24s %-10s", (int) s->pid, clean(&user, s->user, 0),
           s->application && s->application[0] ? clean(&app, s->application, 0) : "-",
           clean(&client, s->client, 0), s->state ? s->state : "", age);
    if (p->blocked > 0)
        printf(" blocks %lld", (long long) p->blocked);
    /* One line: the query's first 60 bytes, newlines flattened (to spaces, by clean). */
    if (s->query)
        printf("  %s", clean(&query, s->query, 60));
    printf("\n");
    strbuf_free(&user);
    strbuf_free(&app);
    strbuf_free(&client);
    strbuf_free(&query);
}

/* --- session actions --- */

static int
fix_signals(FixRun *run, SignalAction action)
{
    CmdContext *ctx = run->ctx;
    FixOptions *o = run->opts;
    const Thresholds *th = &ctx->conf.thresholds;
    SignalRequest req;
    SafetyRules rules;
    SignalPlan plan;
    PgConn *conn = NULL;
    char age[32];
    const char *verb;
    bool *cancelled, hinted = false;
    size_t i, n_cancelled = 0;
    int rc = EXIT_OK;

    memset(&req, 0, sizeof(req));
    req.action = action;
    req.application = o->application;
    req.user = o->user;
    req.client = o->client;
    req.terminate = o->terminate;
    switch (action)
    {
    case FIX_TERMINATE_IDLE:
        req.age_ms = o->idle_for_ms >= 0 ? o->idle_for_ms : th->idle_connection_ms;
        break;
    case FIX_TERMINATE_IDLE_IN_XACT:
        req.age_ms = o->idle_for_ms >= 0 ? o->idle_for_ms : th->idle_in_transaction_ms;
        break;
    case FIX_CANCEL_LONG:
        req.age_ms = o->running_for_ms >= 0 ? o->running_for_ms : th->slow_query_critical_ms;
        break;
    case FIX_TERMINATE_BLOCKERS:
        req.age_ms = o->lock_wait_ms >= 0 ? o->lock_wait_ms : th->lock_wait_ms;
        break;
    }
    rules.protect_applications = ctx->conf.safety.protect_applications;
    rules.protect_roles = ctx->conf.safety.protect_roles;
    rules.max_terminations = ctx->conf.safety.max_terminations;
    rules.may_signal_superuser = snapshot_may_signal_superuser(&run->snap);
    if (plan_signals(&run->snap, &req, &rules, run->arena, &plan) != 0)
    {
        pm_log_error("out of memory");
        return EXIT_UNKNOWN;
    }

    verb = action == FIX_CANCEL_LONG ? "cancel" : "terminate";
    format_duration_ms(req.age_ms, age, sizeof(age));
    print_header(run, plan_action_name(action));
    if (plan.n_items == 0)
    {
        printf("nothing to do: no session matches (threshold %s", age);
        if (o->application)
            printf(", application \"%s\"", o->application);
        if (o->user)
            printf(", user \"%s\"", o->user);
        if (o->client)
            printf(", client \"%s\"", o->client);
        printf(")\n");
        return EXIT_OK;
    }
    printf("%s %s %zu session%s (threshold %s):\n", o->apply ? "will" : "would", verb, plan.n_act,
           plan.n_act == 1 ? "" : "s", age);
    printf("  %-11s %-12s %-18s %-15s %-24s %-10s\n", "pid", "user", "application", "client",
           "state", "age");
    for (i = 0; i < plan.n_items; i++)
        if (plan.items[i].skip == NULL)
            print_session(&plan.items[i]);
    if (plan.n_act < plan.n_items)
    {
        printf("left alone:\n");
        for (i = 0; i < plan.n_items; i++)
            if (plan.items[i].skip != NULL)
            {
                print_session(&plan.items[i]);
                printf("      because: %s\n", plan.items[i].skip);
            }
    }
    printf("each is %s by one statement that re-checks it first (sql/act_signal.sql):\n"
           "  pid and backend_start unchanged, still %s past the threshold%s\n",
           action == FIX_CANCEL_LONG ? (o->terminate ? "cancelled (then terminated after the grace "
                                                       "period if still running)"
                                                     : "cancelled")
                                     : "terminated",
           action == FIX_TERMINATE_IDLE           ? "idle"
           : action == FIX_TERMINATE_IDLE_IN_XACT ? "idle in transaction"
           : action == FIX_CANCEL_LONG            ? "running the same query"
                                                  : "in the same transaction and blocking",
           run->snap.is_superuser ? "" : ", not a superuser's session");
    if (plan.over_budget)
    {
        pm_log_error("%zu sessions match, more than max_terminations (%lld): refusing",
                     plan.n_act, (long long) ctx->conf.safety.max_terminations);
        pm_log_hint("Narrow the selection with --application, --user, --client or a longer "
                    "threshold, or raise [safety] max_terminations.");
        return EXIT_UNKNOWN;
    }
    if (!o->apply)
    {
        printf("dry run: nothing was done; add --apply to %s them\n", verb);
        return EXIT_OK;
    }
    if (plan.n_act == 0)
        return EXIT_OK;
    {
        char question[160];

        snprintf(question, sizeof(question), "%s %zu session%s on %s?", verb, plan.n_act,
                 plan.n_act == 1 ? "" : "s", run->snap.target);
        question[0] = (char) (question[0] - 'a' + 'A');
        if (!confirm(o, question))
        {
            printf("not confirmed: nothing was done\n");
            return EXIT_OK;
        }
    }
    {
        StrBuf planbuf = STRBUF_INIT;

        signal_plan_json(&planbuf, &plan, verb, (double) req.age_ms / 1000.0);
        rc = audit_begin(run, plan_action_name(action), strbuf_str(&planbuf));
        strbuf_free(&planbuf);
        if (rc != 0)
            return EXIT_UNKNOWN;
    }
    conn = connect_to_act(run, ctx->conf.query_timeout_ms, 1000);
    if (conn == NULL)
    {
        run->audit.n_failed++;
        audit_finish(run, "could not connect to act");
        return EXIT_CRITICAL;
    }
    signal_audited_attach(&run->audit, conn);
    cancelled = arena_array(run->arena, plan.n_items, sizeof(bool));
    if (cancelled == NULL)
    {
        audit_finish(run, "out of memory");
        return EXIT_UNKNOWN;
    }
    for (i = 0; i < plan.n_items; i++)
    {
        const PlannedSignal *p = &plan.items[i];
        char outcome[768], item[32];
        bool terminate = action != FIX_CANCEL_LONG;

        if (p->skip != NULL)
            continue;
        snprintf(item, sizeof(item), "pid %d", (int) p->session->pid);
        signal_audited_one(&run->audit, p, terminate, item, outcome, sizeof(outcome));
        if (run->audit.needs_grant && !hinted)
        {
            pm_log_hint("Signalling other roles' sessions needs pg_signal_backend: GRANT "
                        "pg_signal_backend TO %s;",
                        run->snap.role ? run->snap.role : "this_role");
            hinted = true;
        }
        cancelled[i] = strcmp(outcome, "signalled") == 0;
        n_cancelled += cancelled[i] ? 1 : 0;
        printf("  %-11s %s\n", item, outcome);
    }
    /* cancel-long --terminate: a grace period, then terminate what is still running. */
    if (action == FIX_CANCEL_LONG && o->terminate && n_cancelled > 0)
    {
        int64_t grace = o->grace_ms >= 0 ? o->grace_ms : 10000;
        struct timespec ts = {(time_t) (grace / 1000), (long) (grace % 1000) * 1000000L};

        printf("waiting %.1fs before terminating queries the cancel did not end\n",
               (double) grace / 1000.0);
        nanosleep(&ts, NULL);
        for (i = 0; i < plan.n_items; i++)
        {
            const PlannedSignal *p = &plan.items[i];
            char outcome[768], item[40];

            if (p->skip != NULL || !cancelled[i])
                continue;
            snprintf(item, sizeof(item), "pid %d (terminate)", (int) p->session->pid);
            signal_audited_send(&run->audit, p, true, outcome, sizeof(outcome));
            if (strncmp(outcome, "skipped: that query is no longer running", 40) == 0 ||
                strncmp(outcome, "gone", 4) == 0)
                snprintf(outcome, sizeof(outcome), "not needed: the cancel ended the query");
            printf("  %-19s %s\n", item, outcome);
            if (strncmp(outcome, "not needed", 10) != 0)
                signal_audited_record(&run->audit, item, outcome);
        }
    }
    printf("%d signalled, %d skipped, %d failed\n", run->audit.n_done, run->audit.n_skipped,
           run->audit.n_failed);
    audit_finish(run, NULL);
    return run->audit.n_failed > 0 ? EXIT_CRITICAL : EXIT_OK;
}

/* --- table actions: analyze, vacuum, create-index --- */

/*
 * An identifier as SQL writes it: "Quoted ""name""" → Quoted "name"; plain
 * names are taken as they are (triage prints them folded already).
 */
static const char *
unquote_ident(Arena *arena, const char *start, size_t len)
{
    char *out, *o;
    size_t i;

    if (len < 2 || start[0] != '"' || start[len - 1] != '"')
        return arena_strndup(arena, start, len);
    out = arena_alloc(arena, len);
    if (out == NULL)
        return NULL;
    o = out;
    for (i = 1; i + 1 < len; i++)
    {
        *o++ = start[i];
        if (start[i] == '"' && start[i + 1] == '"')
            i++;
    }
    *o = '\0';
    return out;
}

/*
 * "schema.table(col, "Col 2")" → the relation text (as regclass input) and
 * the unquoted columns; -1 on bad syntax.  Parentheses and commas inside
 * double quotes belong to the names.
 */
static int
parse_index_spec(Arena *arena, const char *spec, const char **table, const char ***columns,
                 size_t *n_columns)
{
    size_t len = strlen(spec), i, open = 0, n = 0, start;
    const char **cols;
    bool quoted = false;

    for (i = 0; i < len; i++)
    {
        if (spec[i] == '"')
            quoted = !quoted;
        else if (spec[i] == '(' && !quoted)
        {
            open = i;
            break;
        }
    }
    if (open == 0 || len < open + 3 || spec[len - 1] != ')')
        return -1;
    *table = arena_strndup(arena, spec, open);
    cols = arena_array(arena, len, sizeof(char *));
    if (*table == NULL || cols == NULL)
        return -1;
    quoted = false;
    start = open + 1;
    for (i = open + 1; i < len; i++)
    {
        if (spec[i] == '"')
            quoted = !quoted;
        else if ((spec[i] == ',' || i == len - 1) && !quoted)
        {
            size_t s0 = start, e = i;

            while (s0 < e && spec[s0] == ' ')
                s0++;
            while (e > s0 && spec[e - 1] == ' ')
                e--;
            if (e == s0)
                return -1;
            cols[n] = unquote_ident(arena, spec + s0, e - s0);
            if (cols[n] == NULL)
                return -1;
            n++;
            start = i + 1;
        }
    }
    if (quoted)
        return -1;
    *columns = cols;
    *n_columns = n;
    return n > 0 ? 0 : -1;
}

/* idx_<table>_<col>..., cut to 63 bytes (NAMEDATALEN - 1) without splitting a character. */
static const char *
index_name_for(Arena *arena, const char *table, const char *const *cols, size_t n_cols)
{
    StrBuf buf = STRBUF_INIT;
    char name[64];
    size_t i, len;
    const char *out;

    strbuf_printf(&buf, "idx_%s", table);
    for (i = 0; i < n_cols; i++)
        strbuf_printf(&buf, "_%s", cols[i]);
    len = buf.len < 63 ? buf.len : 63;
    memcpy(name, strbuf_str(&buf), len);
    while (len > 0 && len < buf.len && ((unsigned char) name[len] & 0xC0) == 0x80)
        len--;
    name[len] = '\0';
    strbuf_free(&buf);
    out = arena_strdup(arena, name);
    return out;
}

/* s as a double-quoted SQL identifier, for to_regclass(). */
static void
append_quoted_ident(StrBuf *buf, const char *s)
{
    strbuf_append_char(buf, '"');
    for (; *s; s++)
    {
        if (*s == '"')
            strbuf_append_char(buf, '"');
        strbuf_append_char(buf, *s);
    }
    strbuf_append_char(buf, '"');
}

/* The tables an analyze/vacuum without arguments treats: from the snapshot. */
static size_t
tables_needing(const Snapshot *snap, const Thresholds *th, bool vacuum, const char **names,
               size_t max, Arena *arena)
{
    size_t i, n = 0;

    for (i = 0; i < snap->n_tables && n < max; i++)
    {
        const TableStat *t = &snap->tables[i];
        bool needs;

        if (vacuum)
            needs = t->n_dead_tup >= 1000 &&
                    (double) t->n_dead_tup >
                        th->dead_tuple_ratio * (double) (t->n_live_tup + t->n_dead_tup);
        else
            needs = t->n_mod_since_analyze > 0 &&
                    ((double) t->n_mod_since_analyze >
                         th->stale_statistics_ratio * (double) t->n_live_tup ||
                     t->last_analyze_age_s < 0);
        if (needs)
        {
            StrBuf buf = STRBUF_INIT;

            /*
             * Security fix (issue 8): the name goes to to_regclass(), which
             * reads SQL identifier syntax, so each part is double-quoted
             * ("" for a quote).  Unquoted, a table "Orders" resolved to
             * orders (another table, or none), and a name holding a dot or
             * a quote failed or named something else.
             */
            append_quoted_ident(&buf, t->schema ? t->schema : "public");
            strbuf_append_char(&buf, '.');
            append_quoted_ident(&buf, t->name ? t->name : "");
            names[n] = strbuf_ok(&buf) ? arena_strdup(arena, strbuf_str(&buf)) : NULL;
            strbuf_free(&buf);
            if (names[n] != NULL)
                n++;
        }
    }
    return n;
}

static int
fix_tables(FixRun *run, const char *action)
{
    CmdContext *ctx = run->ctx;
    FixOptions *o = run->opts;
    bool is_index = strcmp(action, "create-index") == 0;
    bool is_vacuum = strcmp(action, "vacuum") == 0;
    const char *names[64];
    const char *statements[64];
    const char *index_names[64];
    const char *index_schemas[64];
    size_t n_names = 0, n_statements = 0, i;
    int64_t timeout = o->timeout_ms >= 0 ? o->timeout_ms : 3600 * 1000;
    int64_t lock_timeout = o->lock_timeout_ms >= 0 ? o->lock_timeout_ms : 5000;
    PgConn *conn;
    int rc = EXIT_OK;

    for (i = 1; i < (size_t) ctx->opts.n_args && n_names < PM_LENGTHOF(names); i++)
        names[n_names++] = ctx->opts.args[i];
    if (is_index && n_names == 0)
        return cmd_usage_error("fix", "create-index needs an index to build, such as "
                                      "'public.orders(customer_id)'");
    if (n_names == 0)
        n_names = tables_needing(&run->snap, &ctx->conf.thresholds, is_vacuum, names,
                                 PM_LENGTHOF(names), run->arena);
    print_header(run, action);
    if (n_names == 0)
    {
        printf("nothing to do: no table %s (and none named)\n",
               is_vacuum ? "has dead tuples past dead_tuple_ratio"
                         : "has statistics older than stale_statistics_ratio");
        return EXIT_OK;
    }

    /* Resolve every name through the catalog before doing anything. */
    conn = connect_to_act(run, timeout, lock_timeout);
    if (conn == NULL)
        return EXIT_CRITICAL;
    for (i = 0; i < n_names; i++)
    {
        TableRef ref;
        PmError err;
        const char *table = names[i], **cols = NULL;
        size_t n_cols = 0;
        StrBuf sql = STRBUF_INIT;

        if (is_index && parse_index_spec(run->arena, names[i], &table, &cols, &n_cols) != 0)
        {
            pgconn_close(conn);
            return cmd_usage_error("fix", "invalid index \"%s\": expected SCHEMA.TABLE(COLUMN[,...])",
                                   names[i]);
        }
        if (act_resolve_table(conn, table, run->arena, &ref, &err) != 0)
        {
            pm_log_pm_error(&err);
            pgconn_close(conn);
            return EXIT_UNKNOWN;
        }
        if (is_index)
        {
            const char *index_name;

            for (size_t c = 0; c < n_cols; c++)
            {
                int exists = act_column_exists(conn, ref.oid, cols[c], &err);

                if (exists != 1)
                {
                    if (exists == 0)
                        pm_log_error("column \"%s\" of table \"%s.%s\" does not exist", cols[c],
                                     ref.schema, ref.name);
                    else
                        pm_log_pm_error(&err);
                    pgconn_close(conn);
                    strbuf_free(&sql);
                    return EXIT_UNKNOWN;
                }
            }
            index_name = index_name_for(run->arena, ref.name, cols, n_cols);
            index_names[n_statements] = index_name;
            index_schemas[n_statements] = ref.schema;
            strbuf_printf(&sql, "CREATE INDEX CONCURRENTLY %s ON %s (",
                          act_quote_ident(conn, run->arena, index_name), ref.qualified);
            for (size_t c = 0; c < n_cols; c++)
                strbuf_printf(&sql, "%s%s", c ? ", " : "", act_quote_ident(conn, run->arena, cols[c]));
            strbuf_append(&sql, ")");
        }
        else if (is_vacuum)
            strbuf_printf(&sql, "VACUUM (ANALYZE) %s", ref.qualified);
        else
            strbuf_printf(&sql, "ANALYZE %s", ref.qualified);
        statements[n_statements++] = arena_strdup(run->arena, strbuf_str(&sql));
        strbuf_free(&sql);
    }
    printf("%s (lock_timeout %.1fs, statement_timeout %.0fs):\n", o->apply ? "will run" : "would run",
           (double) lock_timeout / 1000.0, (double) timeout / 1000.0);
    for (i = 0; i < n_statements; i++)
        print_statement(statements[i], NULL);
    if (!o->apply)
    {
        printf("dry run: nothing was done; add --apply to run %s\n",
               n_statements == 1 ? "it" : "them");
        pgconn_close(conn);
        return EXIT_OK;
    }
    if (!confirm(o, "Run these statements?"))
    {
        printf("not confirmed: nothing was done\n");
        pgconn_close(conn);
        return EXIT_OK;
    }
    {
        StrBuf planbuf = STRBUF_INIT;
        JsonW w;

        jsonw_init(&w, &planbuf, false);
        jsonw_array_begin(&w);
        for (i = 0; i < n_statements; i++)
            jsonw_string(&w, statements[i]);
        jsonw_array_end(&w);
        rc = audit_begin(run, action, strbuf_str(&planbuf));
        strbuf_free(&planbuf);
        if (rc != 0)
        {
            pgconn_close(conn);
            return EXIT_UNKNOWN;
        }
    }
    for (i = 0; i < n_statements; i++)
    {
        PmError err;
        char outcome[600];
        double started = pm_clock_s();

        ProgressLine progress = {.read = act_index_progress, .width = 60};
        char label[80]; /* "building " and an index name (at most 63 bytes) */
        int ran;

        /*
         * Issue 8 (a restart during fix --apply): an index of this name from
         * an earlier run.  Valid: it was built, and is not built twice.
         * INVALID: an interrupted build (or one still running) left it; the
         * CREATE would fail on the name and the failure path below would then
         * drop an index this run did not create, so nothing is done and the
         * way out is named.
         */
        if (is_index)
        {
            int state = act_index_state(conn, index_schemas[i], index_names[i], &err);
            const char *qs = act_quote_ident(conn, run->arena, index_schemas[i]);
            const char *qn = act_quote_ident(conn, run->arena, index_names[i]);

            if (state == 1 || state == 0)
            {
                if (state == 1)
                    snprintf(outcome, sizeof(outcome),
                             "skipped: an index named %s.%s already exists and is valid", qs,
                             qn);
                else
                    snprintf(outcome, sizeof(outcome),
                             "failed: an INVALID index %s.%s exists, left by an interrupted "
                             "build (or one still running); drop it with DROP INDEX "
                             "CONCURRENTLY %s.%s and run this again",
                             qs, qn, qs, qn);
                print_statement(statements[i], outcome);
                signal_audited_record(&run->audit, statements[i], outcome);
                continue;
            }
        }

        /* On a terminal, an index build shows pg_stat_progress_create_index. */
        if (is_index && isatty(STDERR_FILENO))
        {
            ConnOptions wopts = ctx->conn_opts;
            ConnAttempt attempt;

            wopts.read_only = true;
            progress.watcher = pgconn_open(cmd_act_spec(ctx, &run->snap), &wopts, &attempt);
            progress.pid = act_backend_pid(conn);
            snprintf(label, sizeof(label), "building %s", index_names[i]);
            progress.label = label;
        }
        ran = progress.watcher != NULL
                  ? act_run_ticking(conn, statements[i], 1000, progress_line_tick, &progress,
                                    &err)
                  : act_run(conn, statements[i], &err);
        progress_line_end(&progress);
        pgconn_close(progress.watcher);
        if (ran == 0)
            snprintf(outcome, sizeof(outcome), "done in %.1fs", pm_clock_s() - started);
        else
        {
            int state;

            snprintf(outcome, sizeof(outcome), "failed: %s", err.message);
            state = is_index ? act_index_state(conn, index_schemas[i], index_names[i], &err) : -2;
            if (state == -1)
            {
                /*
                 * Issue 8: the connection was lost mid-build (a restart): the
                 * INVALID index the build may have left cannot be looked for.
                 */
                snprintf(outcome + strlen(outcome), sizeof(outcome) - strlen(outcome),
                         "; an INVALID index %s.%s may be left: if it exists, drop it with "
                         "DROP INDEX CONCURRENTLY",
                         act_quote_ident(conn, run->arena, index_schemas[i]),
                         act_quote_ident(conn, run->arena, index_names[i]));
            }
            /* A failed concurrent build leaves an INVALID index: remove it. */
            if (state == 0)
            {
                StrBuf drop = STRBUF_INIT;
                PmError derr;

                strbuf_printf(&drop, "DROP INDEX CONCURRENTLY IF EXISTS %s.%s",
                              act_quote_ident(conn, run->arena, index_schemas[i]),
                              act_quote_ident(conn, run->arena, index_names[i]));
                /*
                 * The drop waits for the same transactions the build waited
                 * for: give it longer than the build's lock_timeout, bounded.
                 */
                if (act_run(conn, "SET lock_timeout = '10s'", &derr) != 0)
                    pm_log_warning("%s", derr.message);
                if (act_run(conn, strbuf_str(&drop), &derr) != 0)
                    pm_log_warning("%s", derr.message); /* the state is checked just below */
                snprintf(outcome + strlen(outcome), sizeof(outcome) - strlen(outcome),
                         "; the INVALID index it left was %s",
                         act_index_state(conn, index_schemas[i], index_names[i], &derr) == -2
                             ? "dropped"
                             : "NOT dropped: drop it by hand");
                strbuf_free(&drop);
            }
        }
        print_statement(statements[i], outcome);
        signal_audited_record(&run->audit, statements[i], outcome);
    }
    pgconn_close(conn);
    printf("%d done, %d failed\n", run->audit.n_done, run->audit.n_failed);
    audit_finish(run, NULL);
    return run->audit.n_failed > 0 ? EXIT_CRITICAL : EXIT_OK;
}

/* --- slow-log on|off --- */

typedef struct
{
    const char *target;
    char previous[64];
    bool found;
} PreviousValue;

/*
 * The value log_min_duration_statement had before pgmedic first turned the
 * slow log on: walking the audit log newest first, the oldest "slow-log on"
 * since the last "slow-log off" of this target found the original value.
 */
static int
find_previous(const AuditRow *row, void *arg)
{
    PreviousValue *pv = arg;
    const char *key = "\"previous\":\"", *p;

    if (strcmp(row->target, pv->target) != 0 || strcmp(row->status, "done") != 0)
        return 0;
    if (strcmp(row->action, "slow-log off") == 0)
        return 1; /* everything older was already restored (found stays false if so) */
    if (strcmp(row->action, "slow-log on") != 0)
        return 0;
    p = strstr(row->plan, key);
    if (p == NULL)
        return 0;
    p += strlen(key);
    snprintf(pv->previous, sizeof(pv->previous), "%.*s", (int) strcspn(p, "\""), p);
    pv->found = true;
    return 0; /* keep going: an older "on" holds the original */
}

static int
fix_slow_log(FixRun *run)
{
    CmdContext *ctx = run->ctx;
    FixOptions *o = run->opts;
    const char *mode = ctx->opts.n_args > 1 ? ctx->opts.args[1] : NULL;
    char current[64], value[64], sql[160], planjson[256], action[32];
    PgConn *conn;
    PmError err;
    bool on;

    if (mode == NULL || (strcmp(mode, "on") != 0 && strcmp(mode, "off") != 0))
        return cmd_usage_error("fix", "slow-log takes \"on\" or \"off\"");
    on = strcmp(mode, "on") == 0;
    snprintf(action, sizeof(action), "slow-log %s", mode);
    conn = connect_to_act(run, ctx->conf.query_timeout_ms, 1000);
    if (conn == NULL)
        return EXIT_CRITICAL;
    if (act_show(conn, "log_min_duration_statement", current, sizeof(current), &err) != 0)
    {
        pm_log_pm_error(&err);
        pgconn_close(conn);
        return EXIT_CRITICAL;
    }
    if (on)
    {
        /* Whole milliseconds formatted by us: safe to place in ALTER SYSTEM. */
        snprintf(value, sizeof(value), "%lldms",
                 (long long) (o->min_duration_ms >= 0 ? o->min_duration_ms : 1000));
    }
    else
    {
        PreviousValue pv = {run->snap.target, "", false};
        Store *store = store_open(ctx->conf.store, &err);

        if (store == NULL || store_audit_list(store, 0, find_previous, &pv, &err) != 0)
        {
            pm_log_pm_error(&err);
            store_close(store);
            pgconn_close(conn);
            return EXIT_UNKNOWN;
        }
        store_close(store);
        if (!pv.found)
        {
            /* Nothing of ours to undo: leave the server's setting as it is. */
            printf("pgmedic fix slow-log off on %s\nnothing to do: pgmedic has not turned the "
                   "slow log on here since its last \"slow-log off\" (log_min_duration_statement "
                   "is %s)\n",
                   run->snap.target, current);
            pgconn_close(conn);
            return EXIT_OK;
        }
        snprintf(value, sizeof(value), "%s", pv.previous);
        /* The remembered value is a setting text we stored: allow only its characters. */
        if (strspn(value, "-0123456789msinhd") != strlen(value))
        {
            pm_log_error("remembered value \"%s\" is not a duration", value);
            pgconn_close(conn);
            return EXIT_UNKNOWN;
        }
    }
    snprintf(sql, sizeof(sql), "ALTER SYSTEM SET log_min_duration_statement = '%s'", value);
    print_header(run, action);
    printf("log_min_duration_statement is %s now; %s:\n  %s;\n  SELECT pg_reload_conf();\n",
           current, o->apply ? "will run" : "would run", sql);
    if (!o->apply)
    {
        printf("dry run: nothing was done; add --apply to run it\n");
        pgconn_close(conn);
        return EXIT_OK;
    }
    snprintf(planjson, sizeof(planjson), "{\"previous\":\"%s\",\"new\":\"%s\"}", current, value);
    if (audit_begin(run, action, planjson) != 0)
    {
        pgconn_close(conn);
        return EXIT_UNKNOWN;
    }
    if (act_run(conn, sql, &err) != 0 || act_run(conn, "SELECT pg_catalog.pg_reload_conf()", &err) != 0)
    {
        char outcome[600];

        snprintf(outcome, sizeof(outcome), "failed: %s", err.message);
        printf("  %s\n", outcome);
        if (err.sqlstate[0] && strcmp(err.sqlstate, "42501") == 0)
            pm_log_hint("ALTER SYSTEM needs a superuser, or on 15+: GRANT ALTER SYSTEM ON "
                        "PARAMETER log_min_duration_statement TO %s; and to apply it: GRANT "
                        "EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO %s.",
                        run->snap.role ? run->snap.role : "this role",
                        run->snap.role ? run->snap.role : "this role");
        signal_audited_record(&run->audit, "log_min_duration_statement", outcome);
        pgconn_close(conn);
        audit_finish(run, NULL);
        return EXIT_CRITICAL;
    }
    signal_audited_record(&run->audit, "log_min_duration_statement", "done");
    printf("  done: log_min_duration_statement = %s (was %s)\n", value, current);
    pgconn_close(conn);
    audit_finish(run, NULL);
    return EXIT_OK;
}

/* --- restart, reset-pool --- */

/* Runs command through /bin/sh with a deadline, its output on ours; its exit status, -2 on timeout. */
static int
run_command(const char *command, int64_t timeout_ms)
{
    SpawnOptions so;
    SpawnResult res;

    memset(&so, 0, sizeof(so));
    so.inherit_output = true;
    so.timeout_ms = timeout_ms;
    if (spawn_run(NULL, command, &so, NULL, &res) != 0)
        return -1;
    return res.timed_out ? -2 : res.status;
}

static int
fix_command(FixRun *run, const char *action)
{
    CmdContext *ctx = run->ctx;
    const Target *t = ctx->target;
    bool restart = strcmp(action, "restart") == 0;
    const char *command = t ? (restart ? t->restart_command : t->reset_pool_command) : NULL;
    int64_t wait_ms = t ? t->restart_timeout_ms : 60000;
    char outcome[1024];
    int status;
    double started;

    if (command == NULL || command[0] == '\0')
    {
        pm_log_error("no %s configured for this target", restart ? "restart_command" : "reset_pool_command");
        pm_log_hint("Set it in the [target NAME] section of the configuration and use -t NAME.");
        return EXIT_UNKNOWN;
    }
    print_header(run, action);
    printf("will run: %s\nthen wait up to %.0fs until the server accepts connections\n", command,
           (double) wait_ms / 1000.0);
    if (!run->opts->apply)
    {
        printf("dry run: nothing was done; add --apply to run it\n");
        return EXIT_OK;
    }
    if (!confirm(run->opts, "Run this command?"))
    {
        printf("not confirmed: nothing was done\n");
        return EXIT_OK;
    }
    {
        StrBuf planbuf = STRBUF_INIT;
        JsonW w;
        int rc;

        jsonw_init(&w, &planbuf, false);
        jsonw_object_begin(&w);
        jsonw_kv_string(&w, "command", command);
        jsonw_kv_double(&w, "wait_s", (double) wait_ms / 1000.0);
        jsonw_object_end(&w);
        rc = audit_begin(run, action, strbuf_str(&planbuf));
        strbuf_free(&planbuf);
        if (rc != 0)
            return EXIT_UNKNOWN;
    }
    started = pm_clock_s();
    fflush(stdout);
    status = run_command(command, wait_ms);
    if (status == -2)
        snprintf(outcome, sizeof(outcome), "failed: the command did not finish in %.0fs",
                 (double) wait_ms / 1000.0);
    else if (status != 0)
        snprintf(outcome, sizeof(outcome), "failed: the command exited with status %d", status);
    else
    {
        /* Wait until the server accepts connections again. */
        ConnOptions opts = ctx->conn_opts;
        ConnAttempt attempt = {CONN_TIMEOUT, "no attempt finished in time", "", 0};
        int64_t deadline = pm_clock_ms() + wait_ms;
        bool up = false;

        opts.connect_timeout_ms = opts.connect_timeout_ms < 2000 ? opts.connect_timeout_ms : 2000;
        while (pm_clock_ms() < deadline)
        {
            PgConn *c = pgconn_open(ctx->spec, &opts, &attempt);
            struct timespec ts = {0, 250 * 1000000L};

            if (c != NULL)
            {
                pgconn_close(c);
                up = true;
                break;
            }
            nanosleep(&ts, NULL);
        }
        if (up)
            snprintf(outcome, sizeof(outcome), "done: accepting connections after %.1fs",
                     pm_clock_s() - started);
        else
            snprintf(outcome, sizeof(outcome),
                     "failed: still not accepting connections after %.0fs (%s: %s)",
                     (double) wait_ms / 1000.0, snapshot_failure_name(attempt.failure),
                     attempt.message);
    }
    printf("  %s\n", outcome);
    signal_audited_record(&run->audit, command, outcome);
    audit_finish(run, NULL);
    return run->audit.n_failed > 0 ? EXIT_CRITICAL : EXIT_OK;
}

int
cmd_fix(int argc, char **argv)
{
    FixOptions opts = {.idle_for_ms = -1,
                       .running_for_ms = -1,
                       .lock_wait_ms = -1,
                       .grace_ms = -1,
                       .min_duration_ms = -1,
                       .timeout_ms = -1,
                       .lock_timeout_ms = -1};
    CmdContext ctx;
    FixRun run;
    PmError err;
    const char *action;
    int exit_code;

    memset(&run, 0, sizeof(run));
    if (cmd_setup_with(argc, argv, &help, &opts, &ctx, &exit_code) != 0)
        goto done;
    exit_code = EXIT_UNKNOWN;
    if (ctx.opts.n_args == 0)
    {
        exit_code = cmd_usage_error("fix", "missing action");
        goto done;
    }
    action = ctx.opts.args[0];
    run.ctx = &ctx;
    run.opts = &opts;
    run.arena = arena_new();
    if (run.arena == NULL)
    {
        pm_log_error("out of memory");
        goto done;
    }
    {
        static const char *const known[] = {"terminate-idle", "terminate-idle-in-transaction",
                                            "cancel-long", "terminate-blockers", "analyze",
                                            "vacuum", "create-index", "slow-log", "restart",
                                            "reset-pool"};
        size_t i;
        bool ok = false;

        for (i = 0; i < PM_LENGTHOF(known); i++)
            ok = ok || strcmp(action, known[i]) == 0;
        if (!ok)
        {
            exit_code = cmd_usage_error("fix", "unrecognized action \"%s\"", action);
            goto done;
        }
        if (ctx.opts.n_args > 1 && strcmp(action, "analyze") != 0 && strcmp(action, "vacuum") != 0 &&
            strcmp(action, "create-index") != 0 && strcmp(action, "slow-log") != 0)
        {
            exit_code = cmd_usage_error("fix", "action \"%s\" takes no arguments", action);
            goto done;
        }
    }

    /*
     * The snapshot that chooses: sessions past the action's own threshold must
     * be in it, so the probe's thresholds follow the options.
     */
    if (opts.idle_for_ms >= 0)
        ctx.probe_opts.idle_threshold_s = (double) opts.idle_for_ms / 1000.0;
    if (strcmp(action, "terminate-idle-in-transaction") != 0 && opts.idle_for_ms < 0)
        ctx.probe_opts.idle_threshold_s = (double) ctx.conf.thresholds.idle_connection_ms / 1000.0;
    if (strcmp(action, "cancel-long") == 0)
        ctx.probe_opts.slow_threshold_s =
            (double) (opts.running_for_ms >= 0 ? opts.running_for_ms
                                               : ctx.conf.thresholds.slow_query_critical_ms) /
            1000.0;
    /* The budget must see every matching session: collect more than it allows. */
    if (ctx.probe_opts.max_sessions <= ctx.conf.safety.max_terminations)
        ctx.probe_opts.max_sessions = (int) ctx.conf.safety.max_terminations + 1;
    if (cmd_take_snapshot(&ctx, run.arena, &run.snap) != 0)
        goto done;
    if (run.snap.failure != CONN_OK && strcmp(action, "restart") != 0 &&
        strcmp(action, "reset-pool") != 0)
    {
        pm_log_error("cannot act on %s: %s (%s)", run.snap.target,
                     snapshot_failure_name(run.snap.failure),
                     run.snap.failure_message ? run.snap.failure_message : "");
        exit_code = EXIT_CRITICAL;
        goto done;
    }
    if (run.snap.failure != CONN_OK && run.snap.target == NULL)
        run.snap.target = "?";

    if (strcmp(action, "terminate-idle") == 0)
        exit_code = fix_signals(&run, FIX_TERMINATE_IDLE);
    else if (strcmp(action, "terminate-idle-in-transaction") == 0)
        exit_code = fix_signals(&run, FIX_TERMINATE_IDLE_IN_XACT);
    else if (strcmp(action, "cancel-long") == 0)
        exit_code = fix_signals(&run, FIX_CANCEL_LONG);
    else if (strcmp(action, "terminate-blockers") == 0)
        exit_code = fix_signals(&run, FIX_TERMINATE_BLOCKERS);
    else if (strcmp(action, "slow-log") == 0)
        exit_code = fix_slow_log(&run);
    else if (strcmp(action, "restart") == 0 || strcmp(action, "reset-pool") == 0)
        exit_code = fix_command(&run, action);
    else
        exit_code = fix_tables(&run, action);
    cmd_incident_record_fix(&ctx, &run.snap, action, run.audit.audit_id, run.audit.n_done,
                            run.audit.n_skipped, run.audit.n_failed);

done:
    /* Closes what an action left open (nothing, once audit_finish() has run). */
    if (signal_audited_finish(&run.audit, NULL, &err) != 0)
        pm_log_pm_error(&err);
    arena_free(run.arena);
    cmd_teardown(&ctx);
    return exit_code;
}
