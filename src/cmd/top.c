/*
 * top.c - pgmedic top: a live, full-screen view for the runbook's
 * investigation steps (§2-5), like pg_activity and pgcenter, with fix's
 * guards on its kill keys.
 *
 * One loop, one thread: the probe runs as a ProbeJob (non-blocking libpq)
 * polled together with the keyboard, so a hung or dead server never
 * freezes the screen; while it is unreachable the header says why
 * (snapshot_failure_name and libpq's message) and the probe is retried
 * every interval on a fresh connection.  Between probes top keeps its one
 * read-only connection, like serve.
 *
 * The cancel and terminate keys plan the selected session with fix's
 * planner and safety rules (tui/action.h), ask y/N on the screen, and
 * signal through the same audited path as fix (cmd/signal_audited.h): the
 * audit row first, then sql/act_signal.sql, which re-checks the session in
 * the statement that signals it.  With --dry-run they only say what they
 * would do.  Acting waits on the server (bounded by connect_timeout and
 * query_timeout) after saying so on the screen.
 *
 * Messages pgmedic logs while the screen is up (warnings, -v) would tear
 * it: they are kept in a temporary file and written to stderr on exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/signal_audited.h"
#include "core/diagnose.h"
#include "core/rules.h"
#include "host/hostinfo.h"
#include "tui/action.h"
#include "tui/layout.h"
#include "tui/screen.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/parse.h"

enum
{
    TOP_OPT_INTERVAL = 300,
    TOP_OPT_DRY_RUN,
    TOP_OPT_APPLICATION,
    TOP_OPT_DATABASE,
    TOP_OPT_SORT,
    TOP_OPT_VIEW
};

static const struct option top_options[] = {
    {"interval", required_argument, NULL, TOP_OPT_INTERVAL},
    {"dry-run", no_argument, NULL, TOP_OPT_DRY_RUN},
    {"application", required_argument, NULL, TOP_OPT_APPLICATION},
    {"database", required_argument, NULL, TOP_OPT_DATABASE},
    {"sort", required_argument, NULL, TOP_OPT_SORT},
    {"view", required_argument, NULL, TOP_OPT_VIEW},
    {NULL, 0, NULL, 0},
};

/* Refresh intervals the + and - keys step through. */
static const int64_t interval_steps_ms[] = {250, 500, 1000, 2000, 5000, 10000, 30000, 60000};

enum
{
    TOP_MIN_INTERVAL_MS = 100,
    TOP_MAX_INTERVAL_MS = 3600 * 1000,
    TOP_DEFAULT_INTERVAL_MS = 2000,
    TOP_TICK_MS = 200, /* the longest the loop sleeps: keys and resizes stay prompt */
    TOP_FILTER_MAX = 128
};

typedef struct
{
    int64_t interval_ms;
    bool dry_run;
    const char *application, *database;
    TuiSort sort;
    TuiView view;
} TopOptions;

static int
top_on_option(int c, const char *arg, void *state)
{
    TopOptions *o = state;
    PmError err;
    int v;

    switch (c)
    {
        case TOP_OPT_INTERVAL:
            if (parse_duration_ms(arg, "--interval", TOP_MAX_INTERVAL_MS, &o->interval_ms, &err) !=
                0)
            {
                pm_log_pm_error(&err);
                return -1;
            }
            if (o->interval_ms < TOP_MIN_INTERVAL_MS)
                return cmd_usage_error("top", "--interval must be at least %dms",
                                       TOP_MIN_INTERVAL_MS),
                       -1;
            return 0;
        case TOP_OPT_DRY_RUN:
            o->dry_run = true;
            return 0;
        case TOP_OPT_APPLICATION:
            o->application = arg;
            return 0;
        case TOP_OPT_DATABASE:
            o->database = arg;
            return 0;
        case TOP_OPT_SORT:
            v = tui_sort_from_name(arg);
            if (v < 0)
                return cmd_usage_error("top", "unrecognized sort order \"%s\"", arg), -1;
            o->sort = (TuiSort) v;
            return 0;
        case TOP_OPT_VIEW:
            if (strcmp(arg, "sessions") == 0)
                o->view = TUI_VIEW_SESSIONS;
            else if (strcmp(arg, "locks") == 0)
                o->view = TUI_VIEW_LOCKS;
            else if (strcmp(arg, "findings") == 0)
                o->view = TUI_VIEW_FINDINGS;
            else
                return cmd_usage_error("top", "unrecognized view \"%s\"", arg), -1;
            return 0;
        default:
            return cmd_usage_error("top", "unrecognized option"), -1;
    }
}

/* The keys, for --help and the ? screen alike. */
static const char *const key_help[] = {
    "Keys:",
    "  1 or s      sessions: every client session, sortable, with its query",
    "  2 or l      locks: lock trees, each root blocker with its waiters indented",
    "  3 or f      findings: triage's causes, evidence and fix commands",
    "  Tab         next view",
    "  Up, Down, PgUp, PgDn, Home, End   select a session (scroll the findings)",
    "  o           sort by duration, state, application (in turn)",
    "  a           filter by application (empty: all)",
    "  d           filter by database (empty: all)",
    "  K           terminate the selected session (a root blocker: as terminate-blockers)",
    "  T           terminate the root blocker of the selected session's lock tree",
    "  C           cancel the query of the selected (active) session",
    "              each asks y/N first, and goes through fix's guards, re-check and",
    "              audit log; with --dry-run only says what it would do",
    "  p or Space  pause / resume refreshing",
    "  r           refresh now",
    "  + or -      refresh less or more often",
    "  ? or h      this help (any key closes it)",
    "  q           quit",
    NULL,
};

static const CmdHelp help = {
    .name = "top",
    .summary = "a live full-screen view: sessions, lock trees, findings; guarded kill keys",
    .usage = "pgmedic top [OPTION]...",
    .options = "      --interval=DURATION  refresh every DURATION (default 2s, at least 100ms)\n"
               "      --dry-run            the cancel/terminate keys only say what they would do\n"
               "      --application=NAME   show only sessions of this application_name\n"
               "      --database=NAME      show only sessions of this database\n"
               "      --sort=ORDER         duration (default), state or application\n"
               "      --view=VIEW          start in sessions (default), locks or findings\n",
    .examples =
        "  pgmedic top -d pivotal_flow\n"
        "  pgmedic top -c /etc/pgmedic.ini -t pivotal_flow --interval 1s --dry-run\n"
        "\nKeys: 1/s sessions, 2/l locks, 3/f findings, Tab next view; arrows, PgUp/PgDn,\n"
        "Home/End select; o sort (duration, state, application); a filter by application,\n"
        "d by database; K terminate the selected session, T terminate the root blocker of\n"
        "its lock tree, C cancel its query (each asks y/N; --dry-run: nothing is done);\n"
        "p or Space pause, r refresh now, + and - slower and faster; ? help; q quit.\n"
        "\nThe kill keys go through fix's guards: never pgmedic's own session, non-client\n"
        "backends, [safety] protect_roles and protect_applications, or superusers'\n"
        "sessions unless pgmedic is one; the session is re-checked in the statement that\n"
        "signals it (same pid, backend_start and state; the same query, or the same\n"
        "transaction still blocking); every action is in the audit log (\"pgmedic audit\").\n"
        "While the server is unreachable top shows why and retries every interval.\n"
        "Needs a terminal and libncursesw6.\n",
    .accepts = OPT_CONNECT,
    .extra_options = top_options,
    .extra_short = "",
    .on_option = top_on_option,
    .max_args = 0,
};

typedef enum
{
    MODE_NORMAL,
    MODE_CONFIRM,
    MODE_FILTER_APPLICATION,
    MODE_FILTER_DATABASE,
    MODE_HELP
} Mode;

typedef struct
{
    CmdContext *ctx;
    TopOptions *opts;
    ProbeOptions probe_opts;

    /* What the screen shows: a snapshot and what came of it, in one arena. */
    Arena *arena;
    Snapshot snap;
    AlertList alerts;
    FindingList findings;
    bool have_snap;

    /* The probe in flight. */
    PgConn *slot;
    ProbeJob *job;
    Arena *job_arena;
    Snapshot job_snap;
    int job_state;     /* PROBE_* of the last step */
    bool job_finished; /* done, waiting to be shown (not while a y/N is asked) */
    int64_t job_started_ms;
    /*
     * Normal logins refused for lack of slots: the job looks again through
     * the target's reserved_conninfo, on a connection of its own closed
     * right after (as serve does).  refused is the first job's snapshot.
     */
    bool in_reserved;
    Snapshot refused;
    PgConn *reserved_slot;
    int64_t next_probe_ms;
    double last_ok_at, down_since;
    char data_directory[1024]; /* from the last snapshot that reached the server: */
    char log_file[1024];       /* host facts (the log's FATAL lines) while it is down */

    /* The view. */
    TuiView view;
    TuiSort sort;
    char application[TOP_FILTER_MAX], database[TOP_FILTER_MAX];
    int32_t selected_pid[3];
    size_t selected_line[3];
    size_t scroll[3];
    bool paused;
    Mode mode;
    char input[TOP_FILTER_MAX];
    TuiSignalPlan pending; /* the action a y/N is asked for; lives in arena */
    char message[768];
    TuiAttr message_attr;
    char detail[768]; /* above the y/N question: what it is about, in full */
    bool quit;
} Top;

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
    got_signal = sig;
}

static void say(Top *t, TuiAttr attr, const char *fmt, ...) PM_PRINTF(3, 4);

static void
say(Top *t, TuiAttr attr, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(t->message, sizeof(t->message), fmt, ap);
    va_end(ap);
    t->message_attr = attr;
}

/* --- probing --------------------------------------------------------------- */

static void
start_probe(Top *t)
{
    t->job_arena = arena_new();
    if (t->job_arena == NULL)
    {
        say(t, TUI_ATTR_CRITICAL, "out of memory: could not take a snapshot");
        t->next_probe_ms = pm_clock_ms() + t->opts->interval_ms;
        return;
    }
    t->job = probe_job_start(&t->slot, t->ctx->spec, &t->ctx->conn_opts, &t->probe_opts,
                             t->job_arena, &t->job_snap);
    if (t->job == NULL)
    {
        arena_free(t->job_arena);
        t->job_arena = NULL;
        say(t, TUI_ATTR_CRITICAL, "out of memory: could not take a snapshot");
        t->next_probe_ms = pm_clock_ms() + t->opts->interval_ms;
        return;
    }
    t->job_started_ms = pm_clock_ms();
    t->job_finished = false;
    t->job_state = PROBE_WANT_READ;
}

/*
 * The job is done.  When normal logins were refused for lack of slots and
 * the target has a reserved_conninfo, look again through it: the screen then
 * shows who fills the server, and the kill keys act through the same login
 * (cmd_act_spec).  Returns true when a job is running again.
 */
static bool
look_through_reserved(Top *t)
{
    if (!t->in_reserved)
    {
        if (t->job_state != PROBE_DONE || t->job_snap.failure != CONN_TOO_MANY_CLIENTS ||
            t->ctx->reserved_spec == NULL)
            return false;
        t->refused = t->job_snap;
        probe_job_free(t->job);
        memset(&t->job_snap, 0, sizeof(t->job_snap));
        t->job = probe_job_start(&t->reserved_slot, t->ctx->reserved_spec, &t->ctx->conn_opts,
                                 &t->probe_opts, t->job_arena, &t->job_snap);
        if (t->job != NULL)
        {
            t->in_reserved = true;
            t->job_state = PROBE_WANT_READ;
            return true;
        }
        t->job_snap = t->refused;
        return false;
    }
    pgconn_close(t->reserved_slot);
    t->reserved_slot = NULL;
    t->in_reserved = false;
    if (t->job_state == PROBE_DONE && !snapshot_take_inside(&t->job_snap, &t->refused))
        t->job_snap = t->refused;
    return false;
}

/* While the server is down: the host's facts (disk, the log's last FATAL lines). */
static void
collect_host(Top *t, Snapshot *snap, Arena *arena)
{
    const Target *target = t->ctx->target;
    HostInfoOptions opts = {NULL, NULL, 5};

    if (target != NULL && target->data_directory[0] != '\0')
        opts.data_directory = target->data_directory;
    else if (t->data_directory[0] != '\0')
        opts.data_directory = t->data_directory;
    if (target != NULL && target->log_file[0] != '\0')
        opts.log_file = target->log_file;
    else if (t->log_file[0] != '\0')
        opts.log_file = t->log_file;
    if (opts.data_directory != NULL && hostinfo_collect(&opts, arena, &snap->host) != 0)
        memset(&snap->host, 0, sizeof(snap->host));
}

/* The finished probe becomes what the screen shows. */
static void
show_probe(Top *t)
{
    const Thresholds *th = &t->ctx->conf.thresholds;
    Snapshot *snap = &t->job_snap;
    AlertList alerts = {NULL, 0};
    FindingList findings = {NULL, 0};
    int64_t now = pm_clock_ms();

    probe_job_free(t->job);
    t->job = NULL;
    t->job_finished = false;
    if (t->job_state == PROBE_NOMEM)
    {
        arena_free(t->job_arena);
        t->job_arena = NULL;
        say(t, TUI_ATTR_CRITICAL, "out of memory while taking a snapshot");
    }
    else
    {
        if (snap->failure == CONN_OK)
        {
            const Setting *dir = snapshot_setting(snap, "data_directory");

            t->last_ok_at = snap->taken_at;
            t->down_since = 0;
            snprintf(t->data_directory, sizeof(t->data_directory), "%s",
                     dir && dir->value ? dir->value : "");
            snprintf(t->log_file, sizeof(t->log_file), "%s",
                     snap->server_log_file ? snap->server_log_file : "");
        }
        else
        {
            if (t->down_since == 0)
                t->down_since = snap->taken_at;
            collect_host(t, snap, t->job_arena);
        }
        if (rules_eval(snap, th, t->job_arena, &alerts) != 0 ||
            diagnose_run(snap, th, &alerts, t->job_arena, &findings) != 0)
        {
            arena_free(t->job_arena);
            t->job_arena = NULL;
            say(t, TUI_ATTR_CRITICAL, "out of memory while evaluating a snapshot");
        }
        else
        {
            arena_free(t->arena);
            t->arena = t->job_arena;
            t->job_arena = NULL;
            t->snap = *snap;
            t->alerts = alerts;
            t->findings = findings;
            t->have_snap = true;
        }
    }
    /* Every interval from the start of the last probe; at once when it took longer. */
    t->next_probe_ms = t->job_started_ms + t->opts->interval_ms;
    if (t->next_probe_ms < now)
        t->next_probe_ms = now;
}

/* --- acting ------------------------------------------------------------------ */

static void
ask(Top *t, TuiSignal what)
{
    SafetyRules rules;
    int32_t pid = t->selected_pid[t->view];
    TuiSignalPlan plan;

    if (!t->have_snap)
    {
        say(t, TUI_ATTR_WARNING, "no snapshot yet");
        return;
    }
    if (t->view == TUI_VIEW_FINDINGS)
    {
        say(t, TUI_ATTR_WARNING, "select a session in the sessions (1) or locks (2) view first");
        return;
    }
    rules.protect_applications = t->ctx->conf.safety.protect_applications;
    rules.protect_roles = t->ctx->conf.safety.protect_roles;
    rules.max_terminations = t->ctx->conf.safety.max_terminations;
    rules.may_signal_superuser = snapshot_may_signal_superuser(&t->snap);
    if (tui_plan_signal(&t->snap, pid, what, &rules, t->arena, &plan) != 0)
    {
        say(t, TUI_ATTR_CRITICAL, "out of memory");
        return;
    }
    if (plan.refused != NULL)
    {
        say(t, TUI_ATTR_CRITICAL, "refused: %s", plan.refused);
        return;
    }
    t->pending = plan;
    t->mode = MODE_CONFIRM;
    /* What, in full, on the line above; the question short enough to always fit. */
    snprintf(t->detail, sizeof(t->detail), "%s%s on %s", t->opts->dry_run ? "would " : "",
             plan.description, t->snap.target ? t->snap.target : "?");
    if (t->opts->dry_run)
        say(t, TUI_ATTR_WARNING, "DRY RUN: nothing will be done. %s pid %d? [y/N]",
            plan.terminate ? "Terminate" : "Cancel the query of", (int) plan.pid);
    else
        say(t, TUI_ATTR_WARNING, "%s pid %d? [y/N]",
            plan.terminate ? "Terminate" : "Cancel the query of", (int) plan.pid);
}

static void draw(Top *t);

static void
act(Top *t)
{
    TuiSignalPlan *p = &t->pending;
    const PlannedSignal *planned = &p->plan.items[0];
    SignalAudited run;
    StrBuf plan_json = STRBUF_INIT;
    char options[96], item[32], outcome[768];
    PmError err;

    t->mode = MODE_NORMAL;
    if (t->opts->dry_run)
    {
        say(t, TUI_ATTR_WARNING,
            "dry run: nothing was done (would %s; the statement would re-check pid, "
            "backend_start and state first)",
            p->description);
        return;
    }
    snprintf(item, sizeof(item), "pid %d", (int) p->pid);
    snprintf(options, sizeof(options), "--pid %d (pgmedic top)", (int) p->pid);
    say(t, TUI_ATTR_BOLD, "%s %s...", p->terminate ? "terminating" : "cancelling", item);
    draw(t);

    signal_plan_json(&plan_json, &p->plan, p->terminate ? "terminate" : "cancel", 0.0);
    if (!strbuf_ok(&plan_json))
    {
        strbuf_free(&plan_json);
        say(t, TUI_ATTR_CRITICAL, "out of memory: nothing was done");
        return;
    }
    if (signal_audited_begin(&run, t->ctx, &t->snap, p->audit_action, options,
                             strbuf_str(&plan_json), &err) != 0)
    {
        PmError ignored;

        strbuf_free(&plan_json);
        if (run.audit_id != 0)
            say(t, TUI_ATTR_CRITICAL, "%s: %s (audit #%lld: failed)", item, err.message,
                (long long) run.audit_id);
        else
            say(t, TUI_ATTR_CRITICAL, "nothing was done: %s%s%s", err.message,
                err.hint[0] ? ". " : "", err.hint);
        /* Closes what begin opened; the row, if any, was completed as failed. */
        if (signal_audited_finish(&run, NULL, &ignored) != 0)
            pm_log_pm_error(&ignored);
        return;
    }
    strbuf_free(&plan_json);
    signal_audited_one(&run, planned, p->terminate, item, outcome, sizeof(outcome));
    if (signal_audited_finish(&run, NULL, &err) != 0)
        say(t, TUI_ATTR_CRITICAL, "%s: %s (audit #%lld could not be completed: %s)", item, outcome,
            (long long) run.audit_id, err.message);
    else
        say(t, strcmp(outcome, "signalled") == 0 ? TUI_ATTR_OK : TUI_ATTR_WARNING,
            "%s: %s (%s, audit #%lld: %s)%s", item, outcome, p->audit_action,
            (long long) run.audit_id, run.status,
            run.needs_grant ? "; signalling other roles' sessions needs GRANT "
                              "pg_signal_backend"
                            : "");
    /* Show what it changed at once. */
    t->next_probe_ms = pm_clock_ms();
}

/* --- drawing ----------------------------------------------------------------- */

typedef struct
{
    TuiLines lines;
    size_t sticky; /* lines at the top that do not scroll (headings) */
} Body;

static int
layout_body(Top *t, Arena *arena, int cols, Body *body)
{
    TuiListOptions lo;

    memset(body, 0, sizeof(*body));
    lo.sort = t->sort;
    lo.application = t->application[0] ? t->application : NULL;
    lo.database = t->database[0] ? t->database : NULL;
    lo.width = cols;
    switch (t->view)
    {
        case TUI_VIEW_SESSIONS:
            if (tui_layout_sessions(&t->snap, &lo, arena, &body->lines) != 0)
                return -1;
            body->sticky = t->snap.failure == CONN_OK ? 1 : 0;
            break;
        case TUI_VIEW_LOCKS:
            if (tui_layout_locks(&t->snap, &lo, arena, &body->lines) != 0)
                return -1;
            body->sticky = body->lines.n_lines > 1 && body->lines.lines[1].pid == 0 ? 2 : 1;
            break;
        case TUI_VIEW_FINDINGS:
            if (tui_layout_findings(&t->snap, &t->alerts, &t->findings, &t->ctx->conf.thresholds,
                                    cols, arena, &body->lines) != 0)
                return -1;
            break;
    }
    if (body->sticky > body->lines.n_lines)
        body->sticky = body->lines.n_lines;
    return 0;
}

/* Keeps the selection on the same session across refreshes, else near where it was. */
static size_t
find_selection(Top *t, const Body *body)
{
    const TuiLines *l = &body->lines;
    size_t i, want = t->selected_line[t->view];

    for (i = body->sticky; i < l->n_lines; i++)
        if (l->lines[i].pid != 0 && l->lines[i].pid == t->selected_pid[t->view])
            return i;
    if (want >= l->n_lines)
        want = l->n_lines ? l->n_lines - 1 : 0;
    for (i = want; i < l->n_lines; i++)
        if (l->lines[i].pid != 0)
            return i;
    for (i = want; i-- > body->sticky;)
        if (l->lines[i].pid != 0)
            return i;
    return (size_t) -1;
}

static void
tabs_line(Top *t, char *buf, size_t size)
{
    size_t n_sessions = t->snap.failure == CONN_OK ? t->snap.n_sessions : 0;
    char every[32];
    int len;

    format_duration_ms(t->opts->interval_ms, every, sizeof(every));
    len = snprintf(buf, size,
                   " %s1 sessions %zu%s  %s2 locks %lld waiting%s  %s3 findings %zu%s   "
                   "sort: %s",
                   t->view == TUI_VIEW_SESSIONS ? "[" : " ", n_sessions,
                   t->view == TUI_VIEW_SESSIONS ? "]" : " ", t->view == TUI_VIEW_LOCKS ? "[" : " ",
                   (long long) (t->snap.failure == CONN_OK ? t->snap.n_waiting_lock : 0),
                   t->view == TUI_VIEW_LOCKS ? "]" : " ", t->view == TUI_VIEW_FINDINGS ? "[" : " ",
                   t->findings.n_findings, t->view == TUI_VIEW_FINDINGS ? "]" : " ",
                   tui_sort_name(t->sort));
    if (len > 0 && (size_t) len < size && (t->application[0] || t->database[0]))
        snprintf(buf + len, size - (size_t) len, "   filter:%s%s%s%s",
                 t->application[0] ? " application=" : "", t->application,
                 t->database[0] ? " database=" : "", t->database);
}

static void
draw(Top *t)
{
    Arena *frame = arena_new();
    TuiHeader h;
    TuiLines header;
    Body body;
    int rows, cols, row = 0, body_rows, r;
    size_t i, sel, first;
    char line[1024];
    const char *text;

    tui_screen_size(&rows, &cols);
    tui_screen_erase();
    if (frame == NULL)
    {
        tui_screen_put(0, "pgmedic top: out of memory", TUI_ATTR_CRITICAL, false);
        tui_screen_show();
        return;
    }
    if (!t->have_snap)
    {
        snprintf(line, sizeof(line), "pgmedic top: connecting to %s...",
                 t->job_snap.target ? t->job_snap.target : "the server");
        tui_screen_put(0, line, TUI_ATTR_BOLD, false);
        tui_screen_put(rows - 1, "q quit", TUI_ATTR_HEADING, false);
        tui_screen_show();
        arena_free(frame);
        return;
    }

    /* Header: at most a third of the screen. */
    memset(&h, 0, sizeof(h));
    h.interval_ms = t->opts->interval_ms;
    h.paused = t->paused;
    h.dry_run = t->opts->dry_run;
    h.last_ok_at = t->last_ok_at;
    h.down_since = t->down_since;
    h.width = cols;
    if (tui_layout_header(&t->snap, &t->alerts, &h, frame, &header) == 0)
        for (i = 0; i < header.n_lines && row < rows / 3 + 1; i++)
            tui_screen_put(row++, header.lines[i].text, header.lines[i].attr, false);
    tabs_line(t, line, sizeof(line));
    text = tui_clean(frame, line, cols);
    tui_screen_put(row++, text ? text : "", TUI_ATTR_BOLD, false);

    body_rows = rows - row - (t->mode == MODE_CONFIRM ? 3 : 2);
    if (t->mode == MODE_HELP)
    {
        for (i = 0; key_help[i] != NULL && row < rows - 2; i++)
            tui_screen_put(row++, key_help[i], i == 0 ? TUI_ATTR_BOLD : TUI_ATTR_NORMAL, false);
    }
    else if (body_rows > 0 && layout_body(t, frame, cols, &body) == 0)
    {
        const TuiLines *l = &body.lines;
        size_t visible;

        for (i = 0; i < body.sticky && (int) i < body_rows; i++)
            tui_screen_put(row++, l->lines[i].text, l->lines[i].attr, false);
        visible = (size_t) (body_rows - (int) body.sticky > 0 ? body_rows - (int) body.sticky : 0);
        if (t->view == TUI_VIEW_FINDINGS)
        {
            /* Text: the arrows scroll it. */
            sel = (size_t) -1;
            if (t->scroll[t->view] + visible > l->n_lines)
                t->scroll[t->view] = l->n_lines > visible ? l->n_lines - visible : 0;
        }
        else
        {
            sel = find_selection(t, &body);
            if (sel != (size_t) -1)
            {
                t->selected_pid[t->view] = l->lines[sel].pid;
                t->selected_line[t->view] = sel;
                /* Scroll so that the selection is visible. */
                if (sel - body.sticky < t->scroll[t->view])
                    t->scroll[t->view] = sel - body.sticky;
                else if (visible > 0 && sel - body.sticky >= t->scroll[t->view] + visible)
                    t->scroll[t->view] = sel - body.sticky - visible + 1;
            }
            else
                t->selected_pid[t->view] = 0;
            if (body.sticky + t->scroll[t->view] > l->n_lines)
                t->scroll[t->view] = 0;
        }
        first = body.sticky + t->scroll[t->view];
        for (i = first, r = 0; i < l->n_lines && (size_t) r < visible; i++, r++)
        {
            if (i == sel)
            {
                /* The mark makes the selection visible without colours (and to tests). */
                snprintf(line, sizeof(line), ">%s",
                         l->lines[i].text[0] ? l->lines[i].text + 1 : "");
                tui_screen_put(row++, line, l->lines[i].attr, true);
            }
            else
                tui_screen_put(row++, l->lines[i].text, l->lines[i].attr, false);
        }
    }

    /* Footer: the message (or the prompt), then the keys. */
    if (t->mode == MODE_FILTER_APPLICATION || t->mode == MODE_FILTER_DATABASE)
    {
        snprintf(line, sizeof(line), "filter by %s (Enter applies, empty: all, Esc cancels): %s_",
                 t->mode == MODE_FILTER_APPLICATION ? "application" : "database", t->input);
        text = tui_clean(frame, line, cols);
        tui_screen_put(rows - 2, text ? text : "", TUI_ATTR_BOLD, false);
    }
    else if (t->message[0] != '\0')
    {
        text = tui_clean(frame, t->message, cols);
        tui_screen_put(rows - 2, text ? text : "", t->message_attr, false);
        if (t->mode == MODE_CONFIRM && rows > 3)
        {
            text = tui_clean(frame, t->detail, cols);
            tui_screen_put(rows - 3, text ? text : "", TUI_ATTR_BOLD, false);
        }
    }
    snprintf(line, sizeof(line),
             "q quit  1/2/3 views  arrows select  o sort  a/d filter  K terminate  T terminate "
             "root  C cancel  p pause  r refresh  +/- interval  ? help%s",
             t->opts->dry_run ? "   [DRY RUN]" : "");
    text = tui_clean(frame, line, cols);
    tui_screen_put(rows - 1, text ? text : "", TUI_ATTR_HEADING, false);
    tui_screen_show();
    arena_free(frame);
}

/* --- keys -------------------------------------------------------------------- */

static void
step_interval(Top *t, int direction)
{
    size_t i, n = PM_LENGTHOF(interval_steps_ms);
    int64_t now = t->opts->interval_ms;

    if (direction > 0)
    {
        for (i = 0; i < n && interval_steps_ms[i] <= now; i++)
            ;
        t->opts->interval_ms = i < n ? interval_steps_ms[i] : interval_steps_ms[n - 1];
    }
    else
    {
        for (i = n; i > 0 && interval_steps_ms[i - 1] >= now; i--)
            ;
        t->opts->interval_ms = i > 0 ? interval_steps_ms[i - 1] : interval_steps_ms[0];
    }
    /* The next probe follows the new interval from the last one. */
    t->next_probe_ms = t->job_started_ms + t->opts->interval_ms;
    {
        char every[32];

        format_duration_ms(t->opts->interval_ms, every, sizeof(every));
        say(t, TUI_ATTR_NORMAL, "refreshing every %s", every);
    }
}

static void
move_selection(Top *t, int key)
{
    Arena *frame = arena_new();
    Body body;
    int rows, cols;
    size_t page, i, sel;
    const TuiLines *l;

    if (frame == NULL || !t->have_snap)
    {
        arena_free(frame);
        return;
    }
    tui_screen_size(&rows, &cols);
    page = rows > 12 ? (size_t) rows - 12 : 1;
    if (layout_body(t, frame, cols, &body) != 0)
    {
        arena_free(frame);
        return;
    }
    l = &body.lines;
    if (t->view == TUI_VIEW_FINDINGS)
    {
        size_t *s = &t->scroll[t->view];

        if (key == TUI_KEY_UP)
            *s = *s > 0 ? *s - 1 : 0;
        else if (key == TUI_KEY_DOWN)
            (*s)++;
        else if (key == TUI_KEY_PAGE_UP)
            *s = *s > page ? *s - page : 0;
        else if (key == TUI_KEY_PAGE_DOWN)
            *s += page;
        else if (key == TUI_KEY_HOME)
            *s = 0;
        else if (key == TUI_KEY_END)
            *s = l->n_lines;
        arena_free(frame);
        return;
    }
    sel = find_selection(t, &body);
    if (sel == (size_t) -1)
    {
        arena_free(frame);
        return;
    }
    if (key == TUI_KEY_UP || key == TUI_KEY_PAGE_UP || key == TUI_KEY_HOME)
    {
        size_t steps = key == TUI_KEY_UP ? 1 : key == TUI_KEY_PAGE_UP ? page : l->n_lines;

        for (i = sel; i-- > body.sticky && steps > 0;)
            if (l->lines[i].pid != 0)
            {
                sel = i;
                steps--;
            }
    }
    else
    {
        size_t steps = key == TUI_KEY_DOWN ? 1 : key == TUI_KEY_PAGE_DOWN ? page : l->n_lines;

        for (i = sel + 1; i < l->n_lines && steps > 0; i++)
            if (l->lines[i].pid != 0)
            {
                sel = i;
                steps--;
            }
    }
    t->selected_pid[t->view] = l->lines[sel].pid;
    t->selected_line[t->view] = sel;
    arena_free(frame);
}

static void
filter_key(Top *t, int key)
{
    size_t len = strlen(t->input);

    if (key == TUI_KEY_ESCAPE)
    {
        t->mode = MODE_NORMAL;
        say(t, TUI_ATTR_NORMAL, "filter unchanged");
    }
    else if (key == TUI_KEY_ENTER)
    {
        char *dst = t->mode == MODE_FILTER_APPLICATION ? t->application : t->database;

        snprintf(dst, TOP_FILTER_MAX, "%s", t->input);
        say(t, TUI_ATTR_NORMAL, "%s filter %s%s%s",
            t->mode == MODE_FILTER_APPLICATION ? "application" : "database",
            dst[0] ? "\"" : "cleared", dst, dst[0] ? "\"" : "");
        t->mode = MODE_NORMAL;
    }
    else if (key == TUI_KEY_BACKSPACE)
    {
        /* Back one character, not one byte. */
        while (len > 0 && ((unsigned char) t->input[len - 1] & 0xC0) == 0x80)
            len--;
        if (len > 0)
            len--;
        t->input[len] = '\0';
    }
    else if (key >= 0x20 && key < 256 && key != 0x7F && len + 1 < sizeof(t->input))
    {
        t->input[len] = (char) key;
        t->input[len + 1] = '\0';
    }
}

static void
handle_key(Top *t, int key)
{
    if (key == TUI_KEY_RESIZE || key == TUI_KEY_OTHER)
        return;
    switch (t->mode)
    {
        case MODE_CONFIRM:
            if (key == 'y' || key == 'Y')
                act(t);
            else
            {
                t->mode = MODE_NORMAL;
                say(t, TUI_ATTR_NORMAL, "not confirmed: nothing was done");
            }
            return;
        case MODE_FILTER_APPLICATION:
        case MODE_FILTER_DATABASE:
            filter_key(t, key);
            return;
        case MODE_HELP:
            t->mode = MODE_NORMAL;
            return;
        case MODE_NORMAL:
            break;
    }
    switch (key)
    {
        case 'q':
        case 'Q':
            t->quit = true;
            break;
        case '1':
        case 's':
            t->view = TUI_VIEW_SESSIONS;
            break;
        case '2':
        case 'l':
            t->view = TUI_VIEW_LOCKS;
            break;
        case '3':
        case 'f':
            t->view = TUI_VIEW_FINDINGS;
            break;
        case '\t':
            t->view = (TuiView) (((int) t->view + 1) % 3);
            break;
        case TUI_KEY_UP:
        case TUI_KEY_DOWN:
        case TUI_KEY_PAGE_UP:
        case TUI_KEY_PAGE_DOWN:
        case TUI_KEY_HOME:
        case TUI_KEY_END:
            move_selection(t, key);
            break;
        case 'o':
            t->sort = (TuiSort) (((int) t->sort + 1) % 3);
            say(t, TUI_ATTR_NORMAL, "sorted by %s", tui_sort_name(t->sort));
            break;
        case 'a':
        case 'd':
            t->mode = key == 'a' ? MODE_FILTER_APPLICATION : MODE_FILTER_DATABASE;
            snprintf(t->input, sizeof(t->input), "%s", key == 'a' ? t->application : t->database);
            break;
        case 'p':
        case ' ':
            t->paused = !t->paused;
            say(t, TUI_ATTR_NORMAL, "%s",
                t->paused ? "paused: r takes one snapshot, p resumes" : "refreshing again");
            if (!t->paused)
                t->next_probe_ms = pm_clock_ms();
            break;
        case 'r':
            t->next_probe_ms = pm_clock_ms();
            if (t->paused && t->job == NULL)
                start_probe(t);
            break;
        case '+':
            step_interval(t, 1);
            break;
        case '-':
            step_interval(t, -1);
            break;
        case 'K':
            ask(t, TUI_SIGNAL_TERMINATE);
            break;
        case 'T':
            ask(t, TUI_SIGNAL_TERMINATE_ROOT);
            break;
        case 'C':
            ask(t, TUI_SIGNAL_CANCEL);
            break;
        case '?':
        case 'h':
            t->mode = MODE_HELP;
            break;
        default:
            break;
    }
}

/* --- the loop ---------------------------------------------------------------- */

static void
top_loop(Top *t)
{
    bool dirty = true;

    t->next_probe_ms = pm_clock_ms();
    while (!t->quit && !got_signal)
    {
        struct pollfd fds[2];
        nfds_t nfds = 1;
        int64_t now = pm_clock_ms(), wait = TOP_TICK_MS;
        int key;

        if (t->job == NULL && !t->paused && now >= t->next_probe_ms)
            start_probe(t);
        if (t->job != NULL && !t->job_finished)
        {
            t->job_state = probe_job_step(t->job);
            if (t->job_state <= 0 && !look_through_reserved(t))
                t->job_finished = true;
        }
        /* A y/N question is about the snapshot on the screen: a new one waits for the answer. */
        if (t->job_finished && t->mode != MODE_CONFIRM)
        {
            show_probe(t);
            dirty = true;
        }
        while ((key = tui_screen_key()) != TUI_KEY_NONE)
        {
            handle_key(t, key);
            dirty = true;
            if (t->quit)
                break;
        }
        if (t->quit)
            break;
        if (dirty)
        {
            draw(t);
            dirty = false;
        }

        fds[0].fd = STDIN_FILENO;
        fds[0].events = POLLIN;
        fds[0].revents = 0;
        now = pm_clock_ms();
        if (t->job != NULL && !t->job_finished)
        {
            int fd = probe_job_fd(t->job);
            int64_t until = probe_job_deadline_ms(t->job) - now;

            if (fd >= 0)
            {
                fds[1].fd = fd;
                fds[1].events = (short) (((t->job_state & PROBE_WANT_READ) ? POLLIN : 0) |
                                         ((t->job_state & PROBE_WANT_WRITE) ? POLLOUT : 0));
                fds[1].revents = 0;
                nfds = 2;
            }
            if (until < wait)
                wait = until > 0 ? until : 0;
        }
        else if (t->job == NULL && !t->paused && t->next_probe_ms - now < wait)
            wait = t->next_probe_ms > now ? t->next_probe_ms - now : 0;
        if (poll(fds, nfds, (int) wait) < 0 && errno != EINTR)
            break;
    }
}

/*
 * Logged messages go to a temporary file while the screen is up; returns
 * the saved stderr (or -1 when nothing was redirected).
 */
static int
hold_stderr(FILE **held)
{
    int saved;

    *held = tmpfile();
    if (*held == NULL)
        return -1;
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    if (saved < 0 || dup2(fileno(*held), STDERR_FILENO) < 0)
    {
        if (saved >= 0)
            close(saved);
        fclose(*held);
        *held = NULL;
        return -1;
    }
    return saved;
}

static void
release_stderr(FILE *held, int saved)
{
    char buf[4096];
    size_t n;

    if (held == NULL)
        return;
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(held);
    while ((n = fread(buf, 1, sizeof(buf), held)) > 0)
        fwrite(buf, 1, n, stderr);
    fclose(held);
}

int
cmd_top(int argc, char **argv)
{
    TopOptions opts = {.interval_ms = TOP_DEFAULT_INTERVAL_MS, .sort = TUI_SORT_DURATION};
    CmdContext ctx;
    Top t;
    PmError err;
    struct sigaction sa;
    FILE *held = NULL;
    int exit_code, saved_stderr = -1;

    memset(&t, 0, sizeof(t));
    if (cmd_setup_with(argc, argv, &help, &opts, &ctx, &exit_code) != 0)
        goto done;
    exit_code = EXIT_UNKNOWN;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
    {
        pm_log_error("pgmedic top needs a terminal");
        pm_log_hint("For a one-shot look without one, run \"pgmedic triage\".");
        goto done;
    }
    if (ctx.target != NULL && ctx.target->reserved_conninfo[0] != '\0' &&
        (ctx.reserved_spec = connspec_new(ctx.target->reserved_conninfo, NULL, NULL, NULL, NULL,
                                          &err)) == NULL)
    {
        pm_log_pm_error(&err);
        goto done;
    }
    t.ctx = &ctx;
    t.opts = &opts;
    t.view = opts.view;
    t.sort = opts.sort;
    snprintf(t.application, sizeof(t.application), "%s", opts.application ? opts.application : "");
    snprintf(t.database, sizeof(t.database), "%s", opts.database ? opts.database : "");
    /* The session list is every client session, not only those worth a look. */
    t.probe_opts = ctx.probe_opts;
    t.probe_opts.slow_threshold_s = 0;
    t.probe_opts.idle_threshold_s = 0;
    t.probe_opts.ping_only = false;
    t.probe_opts.extras = false;

    /* Ours before ncurses installs its own: a signal ends the loop and the screen is restored. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* UTF-8 names and queries print as characters when the terminal's locale says so. */
    setlocale(LC_CTYPE, "");

    saved_stderr = hold_stderr(&held);
    if (tui_screen_open(&err) != 0)
    {
        release_stderr(held, saved_stderr);
        held = NULL;
        pm_log_pm_error(&err);
        goto done;
    }
    top_loop(&t);
    tui_screen_close();
    release_stderr(held, saved_stderr);
    held = NULL;
    exit_code = EXIT_OK;

done:
    release_stderr(held, saved_stderr);
    probe_job_free(t.job);
    pgconn_close(t.slot);
    pgconn_close(t.reserved_slot);
    arena_free(t.job_arena);
    arena_free(t.arena);
    cmd_teardown(&ctx);
    return exit_code;
}
