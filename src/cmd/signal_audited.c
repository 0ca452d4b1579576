/*
 * signal_audited.c - the audit log around fix's actions, and audited
 * signalling of planned sessions for fix and top (see signal_audited.h).
 */
#include "cmd/signal_audited.h"

#include <assert.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pg/act.h"
#include "util/clock.h"

static const char *
os_user(void)
{
    struct passwd *pw = getpwuid(geteuid());

    return pw ? pw->pw_name : "?";
}

void
signal_plan_json(StrBuf *out, const SignalPlan *plan, const char *verb, double threshold_s)
{
    JsonW w;
    size_t i;

    jsonw_init(&w, out, false);
    jsonw_object_begin(&w);
    jsonw_kv_string(&w, "signal", verb);
    jsonw_kv_double(&w, "threshold_s", threshold_s);
    jsonw_key(&w, "sessions");
    jsonw_array_begin(&w);
    for (i = 0; i < plan->n_items; i++)
    {
        const Session *s = plan->items[i].session;

        if (plan->items[i].skip != NULL)
            continue;
        jsonw_object_begin(&w);
        jsonw_kv_int(&w, "pid", s->pid);
        jsonw_kv_string(&w, "backend_start", s->backend_start);
        jsonw_kv_string(&w, "user", s->user);
        jsonw_kv_string(&w, "application", s->application);
        jsonw_kv_string(&w, "state", s->state);
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    jsonw_kv_string(&w, "sql", act_signal_sql());
    jsonw_object_end(&w);
}

int
signal_audited_open_log(SignalAudited *run, const CmdContext *ctx, const Snapshot *snap,
                        const char *action, const char *options, const char *plan_json,
                        PmError *err)
{
    AuditBegin row;

    memset(run, 0, sizeof(*run));
    run->may_signal_superuser = snapshot_may_signal_superuser(snap);
    run->store = store_open(ctx->conf.store, err);
    if (run->store == NULL)
        return -1;
    memset(&row, 0, sizeof(row));
    row.target = snap->target ? snap->target : "?";
    row.action = action;
    row.options = options ? options : "";
    row.plan = plan_json;
    row.os_user = os_user();
    row.db_role = snap->role;
    row.started_at = pm_wall_time();
    if (store_audit_begin(run->store, &row, &run->audit_id, err) != 0)
    {
        run->audit_id = 0;
        return -1;
    }
    jsonw_init(&run->rw, &run->results, false);
    jsonw_array_begin(&run->rw);
    return 0;
}

int
signal_audited_begin(SignalAudited *run, CmdContext *ctx, const Snapshot *snap, const char *action,
                     const char *options, const char *plan_json, PmError *err)
{
    ConnOptions opts = ctx->conn_opts;
    ConnAttempt attempt;

    if (signal_audited_open_log(run, ctx, snap, action, options, plan_json, err) != 0)
    {
        pm_error_hint(err, "Nothing was done: pgmedic does not act without its audit log.");
        return -1;
    }

    /* The snapshot's connection is read-only; acting needs one of its own. */
    opts.read_only = false;
    opts.query_timeout_ms = ctx->conf.query_timeout_ms;
    opts.lock_timeout_ms = 1000;
    run->conn = pgconn_open(cmd_act_spec(ctx, snap), &opts, &attempt);
    if (run->conn == NULL)
    {
        PmError ignored;

        pm_error_set(err, "could not connect to %s: %s", attempt.label, attempt.message);
        run->n_failed++;
        if (signal_audited_finish(run, "could not connect to act", &ignored) != 0)
            pm_error_detail(err, "The audit row could not be completed either: %s.",
                            ignored.message);
        return -1;
    }
    return 0;
}

void
signal_audited_attach(SignalAudited *run, PgConn *conn)
{
    assert(run->conn == NULL);
    run->conn = conn;
}

void
signal_audited_record(SignalAudited *run, const char *item, const char *outcome)
{
    if (strncmp(outcome, "signalled", 9) == 0 || strncmp(outcome, "done", 4) == 0)
        run->n_done++;
    else if (strncmp(outcome, "failed", 6) == 0)
        run->n_failed++;
    else
        run->n_skipped++;
    if (run->store != NULL && run->audit_id != 0)
    {
        jsonw_object_begin(&run->rw);
        jsonw_kv_string(&run->rw, "item", item);
        jsonw_kv_string(&run->rw, "outcome", outcome);
        jsonw_object_end(&run->rw);
    }
}

void
signal_audited_send(SignalAudited *run, const PlannedSignal *planned, bool terminate,
                    char *outcome, size_t size)
{
    PmError err;

    if (run->conn == NULL)
        snprintf(outcome, size, "failed: not connected");
    else if (act_signal(run->conn, planned, terminate, run->may_signal_superuser, outcome, size,
                        &err) != 0)
    {
        snprintf(outcome, size, "failed: %s", err.message);
        if (strcmp(err.sqlstate, "42501") == 0)
            run->needs_grant = true;
    }
}

void
signal_audited_one(SignalAudited *run, const PlannedSignal *planned, bool terminate,
                   const char *item, char *outcome, size_t size)
{
    signal_audited_send(run, planned, terminate, outcome, size);
    signal_audited_record(run, item, outcome);
}

int
signal_audited_finish(SignalAudited *run, const char *error, PmError *err)
{
    int rc = 0;

    pgconn_close(run->conn);
    run->conn = NULL;
    if (run->store != NULL && run->audit_id != 0 && run->status == NULL)
    {
        jsonw_array_end(&run->rw);
        run->status = run->n_failed > 0 ? (run->n_done > 0 ? "partial" : "failed") : "done";
        if (error != NULL)
            run->status = "failed";
        rc = store_audit_finish(run->store, run->audit_id, run->status, strbuf_str(&run->results),
                                error, pm_wall_time(), err);
    }
    store_close(run->store);
    run->store = NULL;
    strbuf_free(&run->results);
    return rc;
}
