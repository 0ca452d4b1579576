/*
 * incident_hook.c - what every check, triage, fix and verify adds to the
 * incident of its target, without the user doing anything: a timeline entry
 * with what was seen (the snapshot's numbers, the alerts, the findings) and
 * done (fix, verify), then the runbook's escalation rules (core/escalate.h),
 * each recorded, printed and paged the first time it fires.
 *
 * Best effort, like cmd_record_sample(): the command's own result never
 * depends on the store.  A store that cannot be opened is reported at -v; a
 * named incident (--incident ID) that cannot be used is a warning.
 *
 * The data of a run entry, which the report reads (render/report.c):
 *   { target, taken_at, reachable, failure, message,
 *     clients, usable, active, idle, idle_in_transaction, waiting_lock,
 *     longest_query_s, longest_query_application, longest_xact_s,
 *     checksum_failures, longest_lock_wait_s, has_statements (triage),
 *     applications: [ {name, sessions} ], alerts: [ {name, severity, value,
 *     threshold, summary} ], findings: [ {kind, alert, severity, impact,
 *     summary, evidence, actions, advice} ], run: { what the command did } }
 * fix's run: { action, audit_id (0 for a dry run), applied, status, done,
 * skipped, failed }; verify's run: { recovered, attempts, checks: [ {name,
 * passed, detail} ] }.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "render/findings.h"
#include "core/escalate.h"
#include "render/report.h"
#include "store/incident.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/parse.h"

/* How long an [escalation] command may run. */
#define PAGE_TIMEOUT_MS 30000

/* --- the data of a run --- */

static void
write_evidence(JsonW *w, const Finding *f)
{
    size_t i;

    jsonw_key(w, "evidence");
    jsonw_object_begin(w);
    for (i = 0; i < f->n_evidence; i++)
        render_json_evidence(w, &f->evidence[i]);
    jsonw_object_end(w);
}

static void
write_findings(JsonW *w, const FindingList *findings)
{
    size_t i, j;

    jsonw_key(w, "findings");
    jsonw_array_begin(w);
    for (i = 0; i < findings->n_findings; i++)
    {
        const Finding *f = &findings->findings[i];

        jsonw_object_begin(w);
        jsonw_kv_string(w, "kind", f->kind);
        jsonw_kv_string(w, "alert", f->alert);
        jsonw_kv_string(w, "severity", rules_severity_name(f->severity));
        jsonw_kv_double(w, "impact", f->impact);
        jsonw_kv_string(w, "summary", f->summary);
        write_evidence(w, f);
        jsonw_key(w, "actions");
        jsonw_array_begin(w);
        for (j = 0; j < f->n_actions; j++)
            jsonw_string(w, f->actions[j]);
        jsonw_array_end(w);
        jsonw_key(w, "advice");
        jsonw_array_begin(w);
        for (j = 0; j < f->n_advice; j++)
            jsonw_string(w, f->advice[j]);
        jsonw_array_end(w);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

/* Sessions by application, from the snapshot's groups (full probes only). */
static void
write_applications(JsonW *w, const Snapshot *snap)
{
    const char *names[64];
    int64_t counts[64];
    size_t n = 0, i, j;

    for (i = 0; i < snap->n_groups; i++)
    {
        const char *app = snap->groups[i].application ? snap->groups[i].application : "";

        for (j = 0; j < n; j++)
            if (strcmp(names[j], app) == 0)
                break;
        if (j == n)
        {
            if (n == PM_LENGTHOF(names))
                continue;
            names[n] = app;
            counts[n++] = 0;
        }
        counts[j] += snap->groups[i].count;
    }
    jsonw_key(w, "applications");
    jsonw_array_begin(w);
    for (i = 0; i < n; i++)
    {
        jsonw_object_begin(w);
        jsonw_kv_string(w, "name", names[i]);
        jsonw_kv_int(w, "sessions", counts[i]);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

/* The JSON of what this run saw (and run_json: what it did) into buf. */
static void
run_data(StrBuf *buf, const Snapshot *snap, const AlertList *alerts, const FindingList *findings,
         const char *what, const char *run_json)
{
    char taken[40];
    JsonW w;
    size_t i;
    json_t *run = run_json ? json_loads(run_json, 0, NULL) : NULL;

    jsonw_init(&w, buf, false);
    jsonw_object_begin(&w);
    jsonw_kv_string(&w, "target", snap->target);
    pm_format_iso8601(snap->taken_at, taken, sizeof(taken));
    jsonw_kv_string(&w, "taken_at", taken);
    jsonw_kv_bool(&w, "reachable", snap->failure == CONN_OK);
    jsonw_kv_string(&w, "failure",
                    snap->failure == CONN_OK ? NULL : snapshot_failure_name(snap->failure));
    jsonw_kv_string(&w, "message", snap->failure_message);
    if (snap->failure == CONN_OK)
    {
        double longest_wait = 0;

        jsonw_kv_int(&w, "clients", snap->n_clients);
        jsonw_kv_int(&w, "usable", snapshot_usable_slots(snap));
        jsonw_kv_int(&w, "active", snap->n_active);
        jsonw_kv_int(&w, "idle", snap->n_idle);
        jsonw_kv_int(&w, "idle_in_transaction", snap->n_idle_in_transaction);
        jsonw_kv_int(&w, "waiting_lock", snap->n_waiting_lock);
        jsonw_kv_double(&w, "longest_query_s", snap->longest_query_s);
        jsonw_kv_string(&w, "longest_query_application", snap->longest_query_application);
        jsonw_kv_double(&w, "longest_xact_s", snap->longest_xact_s);
        jsonw_kv_int(&w, "checksum_failures", snap->checksum_failures);
        for (i = 0; i < snap->n_sessions; i++)
            if (snap->sessions[i].lock_wait_s > longest_wait)
                longest_wait = snap->sessions[i].lock_wait_s;
        if (snap->n_sessions > 0)
            jsonw_kv_double(&w, "longest_lock_wait_s", longest_wait);
        if (strcmp(what, "triage") == 0)
            jsonw_kv_bool(&w, "has_statements", snap->has_statements);
        if (snap->n_groups > 0)
            write_applications(&w, snap);
    }
    jsonw_key(&w, "alerts");
    jsonw_array_begin(&w);
    for (i = 0; i < alerts->n_alerts; i++)
    {
        const Alert *a = &alerts->alerts[i];

        jsonw_object_begin(&w);
        jsonw_kv_string(&w, "name", a->name);
        jsonw_kv_string(&w, "severity", rules_severity_name(a->severity));
        jsonw_kv_double(&w, "value", a->value);
        jsonw_kv_double(&w, "threshold", a->threshold);
        jsonw_kv_string(&w, "summary", a->summary);
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    if (findings != NULL)
        write_findings(&w, findings);
    if (run != NULL)
    {
        char *compact = json_dumps(run, JSON_COMPACT);

        jsonw_key(&w, "run");
        if (compact != NULL)
            jsonw_raw(&w, compact);
        else
            jsonw_null(&w);
        free(compact);
    }
    jsonw_object_end(&w);
    json_decref(run);
}

/* "17 of 20 usable, 2 waiting on a lock, longest query 2.6s" */
static void
numbers_summary(StrBuf *out, const Snapshot *snap)
{
    char age[32];

    if (snap->failure != CONN_OK)
    {
        strbuf_printf(out, "unreachable: %s", snapshot_failure_name(snap->failure));
        return;
    }
    format_age(snap->longest_query_s, age, sizeof(age));
    strbuf_printf(out, "%lld of %lld usable, %lld waiting on a lock, longest query %s",
                  (long long) snap->n_clients, (long long) snapshot_usable_slots(snap),
                  (long long) snap->n_waiting_lock, snap->longest_query_s > 0 ? age : "none");
}

static void
alerts_summary(StrBuf *out, const AlertList *alerts)
{
    size_t i;

    if (alerts->n_alerts == 0)
        strbuf_append(out, "no alert firing");
    for (i = 0; i < alerts->n_alerts; i++)
        strbuf_printf(out, "%s%s %s", i ? ", " : "", alerts->alerts[i].name,
                      rules_severity_name(alerts->alerts[i].severity));
}

/* The one line of the timeline entry. */
static void
run_summary(StrBuf *out, const Snapshot *snap, const AlertList *alerts, const FindingList *findings,
            const char *what, const char *run_json)
{
    json_t *run = run_json ? json_loads(run_json, 0, NULL) : NULL;
    size_t i;

    if (strcmp(what, "fix") == 0 && run != NULL)
    {
        const char *action = json_string_value(json_object_get(run, "action"));
        json_int_t audit_id = json_integer_value(json_object_get(run, "audit_id"));

        if (audit_id > 0)
            strbuf_printf(out,
                          "fix %s applied: audit #%lld %s (%lld done, %lld skipped, %lld "
                          "failed); before it: ",
                          action ? action : "?", (long long) audit_id,
                          json_string_value(json_object_get(run, "status"))
                              ? json_string_value(json_object_get(run, "status"))
                              : "?",
                          (long long) json_integer_value(json_object_get(run, "done")),
                          (long long) json_integer_value(json_object_get(run, "skipped")),
                          (long long) json_integer_value(json_object_get(run, "failed")));
        else
            strbuf_printf(out, "fix %s: dry run, nothing done; ", action ? action : "?");
        numbers_summary(out, snap);
    }
    else if (strcmp(what, "verify") == 0 && run != NULL)
    {
        json_t *checks = json_object_get(run, "checks");

        if (json_is_true(json_object_get(run, "recovered")))
            strbuf_printf(out, "recovered: all %zu checks pass; ", json_array_size(checks));
        else
        {
            const char *sep = " ";

            strbuf_append(out, "NOT recovered:");
            for (i = 0; i < json_array_size(checks); i++)
            {
                json_t *c = json_array_get(checks, i);
                const char *name = json_string_value(json_object_get(c, "name"));

                if (json_is_true(json_object_get(c, "passed")))
                    continue;
                strbuf_printf(out, "%s%s", sep, name ? name : "?");
                sep = ", ";
            }
            strbuf_append(out, " failing; ");
        }
        numbers_summary(out, snap);
    }
    else
    {
        alerts_summary(out, alerts);
        strbuf_append(out, "; ");
        numbers_summary(out, snap);
        if (findings != NULL)
        {
            strbuf_printf(out, "; %zu finding%s", findings->n_findings,
                          findings->n_findings == 1 ? "" : "s");
            for (i = 0; i < findings->n_findings && i < 6; i++)
                strbuf_printf(out, "%s%s", i ? ", " : ": ", findings->findings[i].kind);
            if (findings->n_findings > 6)
                strbuf_append(out, ", ...");
        }
    }
    json_decref(run);
}

/* --- the timeline, summarised for escalation --- */

typedef struct
{
    Arena *arena;
    EscalateHistory h;
    const char **before; /* alert names seen up to now, with their times */
    double *before_at;
    size_t n_before, cap_before;
    const char **unexplained;
    size_t n_unexplained;
    TimelineEntry *entries; /* every entry, copied (for the page's incident JSON) */
    size_t n_entries, cap_entries;
    bool failed;
} History;

static int
keep_entry(History *hist, const TimelineEntry *e)
{
    TimelineEntry *grown = arena_grow(hist->arena, hist->entries, hist->n_entries,
                                      &hist->cap_entries, sizeof(*grown), 32);

    if (grown == NULL)
        return -1;
    hist->entries = grown; /* now, so that entries and cap always agree */
    if (store_timeline_entry_copy(hist->arena, e, &grown[hist->n_entries]) != 0)
        return -1;
    hist->n_entries++;
    return 0;
}

static int
add_before(History *hist, const char *name, double at)
{
    if (hist->n_before == hist->cap_before)
    {
        size_t cap = hist->cap_before ? hist->cap_before * 2 : 16;
        const char **names = arena_array(hist->arena, cap, sizeof(char *));
        double *ats = arena_array(hist->arena, cap, sizeof(double));

        if (names == NULL || ats == NULL)
            return -1;
        if (hist->n_before > 0)
        {
            memcpy(names, hist->before, hist->n_before * sizeof(char *));
            memcpy(ats, hist->before_at, hist->n_before * sizeof(double));
        }
        hist->before = names;
        hist->before_at = ats;
        hist->cap_before = cap;
    }
    hist->before[hist->n_before] = arena_strdup(hist->arena, name);
    hist->before_at[hist->n_before] = at;
    if (hist->before[hist->n_before] == NULL)
        return -1;
    hist->n_before++;
    return 0;
}

static int
collect_entry(const TimelineEntry *e, void *arg)
{
    History *hist = arg;
    json_t *d = e->data[0] ? json_loads(e->data, 0, NULL) : NULL;
    json_t *run = json_object_get(d, "run"), *a;
    size_t i;

    if (keep_entry(hist, e) != 0)
        goto oom;
    if (strcmp(e->kind, "escalate") == 0)
    {
        int rule = escalate_rule_from_name(json_string_value(json_object_get(d, "rule")));

        if (rule >= 0)
            hist->h.escalated |= 1u << rule;
    }
    else if (strcmp(e->kind, "fix") == 0 &&
             json_integer_value(json_object_get(run, "audit_id")) > 0)
    {
        const char *action = json_string_value(json_object_get(run, "action"));

        hist->h.last_fix_at = e->at;
        if (action != NULL && strcmp(action, "restart") == 0)
            hist->h.last_restart_at = e->at;
    }
    if (strcmp(e->kind, "triage") == 0)
    {
        /* The latest diagnosis: which alerts it could not explain. */
        json_t *findings = json_object_get(d, "findings"), *f;

        hist->n_unexplained = 0;
        hist->unexplained = arena_array(hist->arena, json_array_size(findings) + 1, sizeof(char *));
        if (hist->unexplained == NULL)
            goto oom;
        json_array_foreach(findings, i, f)
        {
            const char *kind = json_string_value(json_object_get(f, "kind"));
            const char *alert = json_string_value(json_object_get(f, "alert"));

            if (kind != NULL && alert != NULL && strcmp(kind, "unexplained") == 0)
                hist->unexplained[hist->n_unexplained++] = arena_strdup(hist->arena, alert);
        }
    }
    json_array_foreach(json_object_get(d, "alerts"), i, a)
    {
        const char *name = json_string_value(json_object_get(a, "name"));

        if (name != NULL && add_before(hist, name, e->at) != 0)
            goto oom;
    }
    json_decref(d);
    return 0;

oom:
    json_decref(d);
    hist->failed = true;
    return 1;
}

/* Alert names seen firing at or before the latest applied fix. */
static void
finish_history(History *hist, const Incident *inc)
{
    size_t i, n = 0;

    for (i = 0; i < hist->n_before; i++)
        if (hist->h.last_fix_at > 0 && hist->before_at[i] <= hist->h.last_fix_at)
            hist->before[n++] = hist->before[i];
    hist->h.alerts_before_fix = hist->before;
    hist->h.n_alerts_before_fix = n;
    hist->h.unexplained = hist->unexplained;
    hist->h.n_unexplained = hist->n_unexplained;
    hist->h.opened_at = inc->opened_at;
    hist->h.alert = inc->alert;
}

/* --- paging --- */

typedef struct
{
    int status; /* exit status; -1 when it could not run */
    bool timed_out;
    char first_line[512];
} CommandResult;

/* Runs command with sh -c, input on its stdin, with a deadline; keeps its first line of output. */
static void
run_command(const char *command, const char *input, int64_t timeout_ms, CommandResult *res)
{
    StrBuf out = STRBUF_INIT;
    SpawnOptions so;
    SpawnResult sr;

    memset(res, 0, sizeof(*res));
    memset(&so, 0, sizeof(so));
    so.input = input;
    so.input_len = strlen(input);
    so.merge_stderr = true;
    so.max_output = 4096;
    so.timeout_ms = timeout_ms;
    if (spawn_run(NULL, command, &so, &out, &sr) != 0)
    {
        res->status = -1;
        snprintf(res->first_line, sizeof(res->first_line), "%s", sr.error);
    }
    else
    {
        const char *text = strbuf_ok(&out) ? strbuf_str(&out) : "";

        res->status = sr.status;
        res->timed_out = sr.timed_out;
        snprintf(res->first_line, sizeof(res->first_line), "%.*s", (int) strcspn(text, "\r\n"),
                 text);
    }
    strbuf_free(&out);
}

static void
page(Store *store, const Config *conf, const Incident *inc, History *hist,
     const EscalateReason *esc, const char *escalation_json)
{
    StrBuf input = STRBUF_INIT, summary = STRBUF_INIT, data = STRBUF_INIT;
    CommandResult res;
    PmError err;
    JsonW w;

    render_incident_json(&input, inc, hist->entries, hist->n_entries, "escalation", escalation_json,
                         false);
    if (!strbuf_ok(&input))
        goto done;
    run_command(conf->escalation.command, strbuf_str(&input), PAGE_TIMEOUT_MS, &res);
    if (res.timed_out)
        strbuf_printf(&summary, "escalation command timed out after %ds", PAGE_TIMEOUT_MS / 1000);
    else
        strbuf_printf(&summary, "escalation command exited with status %d", res.status);
    if (res.first_line[0])
        strbuf_printf(&summary, ": %s", res.first_line);
    jsonw_init(&w, &data, false);
    jsonw_object_begin(&w);
    jsonw_kv_string(&w, "rule", esc->name);
    jsonw_kv_string(&w, "command", conf->escalation.command);
    jsonw_kv_int(&w, "exit_status", res.status);
    jsonw_kv_bool(&w, "timed_out", res.timed_out);
    jsonw_kv_string(&w, "output", res.first_line);
    jsonw_object_end(&w);
    if (res.status != 0)
        pm_log_warning("incident %lld: %s", (long long) inc->id, strbuf_str(&summary));
    else
        pm_log_info("incident %lld: %s", (long long) inc->id, strbuf_str(&summary));
    if (store_timeline_add(store, inc->id, pm_wall_time(), "page", strbuf_str(&summary),
                           strbuf_str(&data), NULL, &err) != 0)
        pm_log_warning("%s", err.message);
done:
    strbuf_free(&input);
    strbuf_free(&summary);
    strbuf_free(&data);
}

static void
escalate(Store *store, const Config *conf, const Incident *inc, History *hist,
         const EscalateList *list, const char *what)
{
    const char *contacts = conf->escalation.contacts;
    size_t i;

    for (i = 0; i < list->n_items; i++)
    {
        const EscalateReason *esc = &list->items[i];
        StrBuf data = STRBUF_INIT, summary = STRBUF_INIT;
        TimelineEntry e;
        PmError err;
        JsonW w;

        jsonw_init(&w, &data, false);
        jsonw_object_begin(&w);
        jsonw_kv_string(&w, "rule", esc->name);
        jsonw_kv_string(&w, "runbook", escalate_rule_runbook(esc->rule));
        jsonw_kv_string(&w, "reason", esc->reason);
        jsonw_kv_string(&w, "contacts", contacts[0] ? contacts : NULL);
        jsonw_kv_string(&w, "seen_by", what);
        jsonw_object_end(&w);
        strbuf_printf(&summary, "escalate (%s): %s", escalate_rule_runbook(esc->rule), esc->reason);
        pm_log_warning("escalate incident %lld (runbook §11): %s", (long long) inc->id,
                       esc->reason);
        pm_log_detail("%s.  Contacts (runbook §12): %s.", escalate_rule_runbook(esc->rule),
                      contacts[0] ? contacts : "none configured ([escalation] contacts)");
        memset(&e, 0, sizeof(e));
        e.incident_id = inc->id;
        e.at = pm_wall_time();
        e.kind = "escalate";
        e.summary = strbuf_str(&summary);
        e.data = strbuf_str(&data);
        if (!strbuf_ok(&data) || !strbuf_ok(&summary) ||
            store_timeline_add(store, inc->id, e.at, e.kind, e.summary, e.data, &e.id, &err) != 0)
            pm_log_warning("escalation not recorded: %s",
                           strbuf_ok(&data) ? err.message : "out of memory");
        else if (keep_entry(hist, &e) == 0 && conf->escalation.command[0] != '\0')
            page(store, conf, inc, hist, esc, strbuf_str(&data));
        strbuf_free(&data);
        strbuf_free(&summary);
    }
}

/* --- the hook --- */

/* Opens an incident for the first firing alert; 0 with *inc filled, -1 on failure. */
static int
open_for_alert(Store *store, const Snapshot *snap, const AlertList *alerts, const char *data,
               Arena *arena, Incident *inc)
{
    const Alert *a = &alerts->alerts[0];
    char title[320];
    PmError err;

    snprintf(title, sizeof(title), "%s: %s", a->name, a->summary ? a->summary : "");
    memset(inc, 0, sizeof(*inc));
    inc->target = snap->target;
    inc->alert = a->name;
    inc->title = arena_strdup(arena, title);
    inc->severity = rules_severity_name(rules_worst(alerts));
    inc->opened_at = pm_wall_time();
    if (inc->title == NULL)
        return -1;
    if (store_incident_open(store, inc, data, &inc->id, &err) != 0)
    {
        pm_log_warning("could not open an incident: %s", err.message);
        return -1;
    }
    pm_log_warning("opened incident %lld: %s", (long long) inc->id, title);
    pm_log_hint("Acknowledge it with \"pgmedic incident ack %lld\".", (long long) inc->id);
    return 0;
}

void
cmd_incident_record(CmdContext *ctx, const Snapshot *snap, const AlertList *alerts,
                    const FindingList *findings, const char *what, const char *data_json)
{
    const CmdOptions *o = &ctx->opts;
    bool named = o->incident_id != 0, found = false;
    Arena *arena = NULL;
    Store *store = NULL;
    StrBuf data = STRBUF_INIT, summary = STRBUF_INIT;
    AlertList own;
    Incident inc;
    History hist;
    EscalatePolicy policy;
    EscalateList list;
    PmError err;

    if (o->from != NULL || snap == NULL || snap->target == NULL)
        return;
    arena = arena_new();
    if (arena == NULL)
        return;
    store = cmd_store(ctx);
    if (store == NULL)
    {
        if (named)
            pm_log_warning("run not added to incident %lld: %s", (long long) o->incident_id,
                           ctx->store_error);
        else
            pm_log_info("no incident recorded: %s", ctx->store_error);
        goto done;
    }
    if (alerts == NULL)
    {
        if (rules_eval(snap, &ctx->conf.thresholds, arena, &own) != 0)
            goto done;
        alerts = &own;
    }
    if (named)
    {
        if (store_incident_get(store, o->incident_id, arena, &inc, &err) != 0)
        {
            pm_log_warning("run not added to an incident: %s", err.message);
            goto done;
        }
        if (inc.resolved_at > 0)
        {
            pm_log_warning("run not added to incident %lld: it is resolved", (long long) inc.id);
            goto done;
        }
        found = true;
    }
    else if (store_incident_find_open(store, snap->target, arena, &inc, &found, &err) != 0)
    {
        pm_log_info("no incident recorded: %s", err.message);
        goto done;
    }
    run_data(&data, snap, alerts, findings, what, data_json);
    if (!strbuf_ok(&data))
        goto done;
    if (!found)
    {
        if (!o->open_incident || alerts->n_alerts == 0)
            goto done;
        if (open_for_alert(store, snap, alerts, strbuf_str(&data), arena, &inc) != 0)
            goto done;
    }
    run_summary(&summary, snap, alerts, findings, what, data_json);
    if (!strbuf_ok(&summary) ||
        store_timeline_add(store, inc.id, pm_wall_time(), what, strbuf_str(&summary),
                           strbuf_str(&data), NULL, &err) != 0)
    {
        pm_log_warning("run not added to incident %lld: %s", (long long) inc.id,
                       strbuf_ok(&summary) ? err.message : "out of memory");
        goto done;
    }
    pm_log_info("added to the timeline of incident %lld", (long long) inc.id);
    /* check, triage and verify store their sample themselves; fix's shapes the chart too. */
    if (strcmp(what, "fix") == 0)
        cmd_record_sample(ctx, snap);

    /* Escalation: the whole timeline (this run included), then the rules. */
    memset(&hist, 0, sizeof(hist));
    hist.arena = arena;
    if (store_timeline_list(store, inc.id, collect_entry, &hist, &err) != 0 || hist.failed)
    {
        pm_log_warning("escalation not evaluated: %s", hist.failed ? "out of memory" : err.message);
        goto done;
    }
    finish_history(&hist, &inc);
    policy.escalate_after_ms = ctx->conf.escalation.escalate_after_ms;
    policy.restart_wait_ms = ctx->conf.escalation.restart_wait_ms;
    policy.verify_window_ms = ctx->conf.escalation.verify_window_ms;
    if (escalate_eval(snap, alerts, findings, &hist.h, &policy, arena, &list) != 0)
        goto done;
    escalate(store, &ctx->conf, &inc, &hist, &list, what);

done:
    strbuf_free(&data);
    strbuf_free(&summary);
    arena_free(arena); /* the store is the run's: cmd_teardown() closes it */
}

void
cmd_incident_record_fix(CmdContext *ctx, const Snapshot *snap, const char *action, int64_t audit_id,
                        int n_done, int n_skipped, int n_failed)
{
    StrBuf run = STRBUF_INIT;
    JsonW w;
    const char *status = "dry run";

    if (audit_id > 0)
        status = n_failed > 0 ? (n_done > 0 ? "partial" : "failed") : "done";
    jsonw_init(&w, &run, false);
    jsonw_object_begin(&w);
    jsonw_kv_string(&w, "action", action);
    jsonw_kv_int(&w, "audit_id", audit_id);
    jsonw_kv_bool(&w, "applied", audit_id > 0);
    jsonw_kv_string(&w, "status", status);
    jsonw_kv_int(&w, "done", n_done);
    jsonw_kv_int(&w, "skipped", n_skipped);
    jsonw_kv_int(&w, "failed", n_failed);
    jsonw_object_end(&w);
    if (strbuf_ok(&run))
        cmd_incident_record(ctx, snap, NULL, NULL, "fix", strbuf_str(&run));
    strbuf_free(&run);
}
