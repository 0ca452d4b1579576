/*
 * signal_audited.h - acting with the audit log around it: the "before" row,
 * one result per item, the "after" row.  Every `pgmedic fix` action records
 * itself here; signalling planned sessions (fix's session actions, and the
 * cancel and terminate keys of `pgmedic top`) also goes through here.
 *
 *   SignalAudited run;
 *   signal_plan_json(&plan_json, &plan, "terminate", threshold_s);
 *   if (signal_audited_begin(&run, ctx, snap, action, options, plan_json, &err) == 0)
 *   {
 *       for each planned session p:
 *           signal_audited_one(&run, p, terminate, "pid 123", outcome, sizeof(outcome));
 *   }
 *   signal_audited_finish(&run, NULL, &err);
 *
 * The audit row is written (and committed, store opened with full
 * durability) before anything is done; without it nothing is done.  Each
 * session goes through act_signal() (sql/act_signal.sql), which re-checks it
 * in the statement that signals it.  Never prints: outcomes and errors are
 * returned, so fix prints them and top paints them.
 */
#ifndef PGMEDIC_CMD_SIGNAL_AUDITED_H
#define PGMEDIC_CMD_SIGNAL_AUDITED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/cmd.h"
#include "core/plan.h"
#include "pg/conn.h"
#include "store/store.h"
#include "util/compiler.h"
#include "util/error.h"
#include "util/jsonw.h"
#include "util/strbuf.h"

typedef struct
{
    Store *store;
    int64_t audit_id;
    PgConn *conn;              /* signals: opened by begin or attached; finish closes it */
    bool may_signal_superuser; /* pgmedic's role is a superuser (from the snapshot) */
    StrBuf results;            /* JSON array of per-item results */
    JsonW rw;
    int n_done, n_skipped, n_failed;
    bool needs_grant;   /* a signal failed with 42501: pg_signal_backend is missing */
    const char *status; /* after finish: "done", "partial" or "failed" */
} SignalAudited;

/*
 * The plan as the audit row records it: {signal, threshold_s, sessions:
 * [{pid, backend_start, user, application, state}], sql}, the sessions
 * being those the plan acts on.  Appends to out; check strbuf_ok().
 */
void signal_plan_json(StrBuf *out, const SignalPlan *plan, const char *verb, double threshold_s);

/*
 * Opens the audit log (ctx->conf.store) and writes the "before" row (target
 * and role from snap, the OS user, action, options, plan_json).  0, or -1
 * with *err as the store gave it: nothing may be done (run->audit_id is 0).
 * run is reset first; finish it in every case.
 */
int signal_audited_open_log(SignalAudited *run, const CmdContext *ctx, const Snapshot *snap,
                            const char *action, const char *options, const char *plan_json,
                            PmError *err) PM_MUST_CHECK;

/*
 * signal_audited_open_log(), then a read-write connection bounded by
 * connect_timeout, with query_timeout as statement_timeout and a 1 s
 * lock_timeout.  0, or -1 with *err: the audit log could not be written
 * (nothing was done, run->audit_id is 0, the hint says so), or the
 * connection failed (the row is completed as failed, run->audit_id says
 * which).  run is reset first; finish it in every case.
 */
int signal_audited_begin(SignalAudited *run, CmdContext *ctx, const Snapshot *snap,
                         const char *action, const char *options, const char *plan_json,
                         PmError *err) PM_MUST_CHECK;

/*
 * Gives the run a connection its caller opened (fix opens its own, which
 * takes a SQL_ASCII database's bytes as they are); from now on the run owns
 * it and finish closes it.
 */
void signal_audited_attach(SignalAudited *run, PgConn *conn);

/*
 * Signals one planned session (cancel, or terminate when terminate is
 * true) without recording it: outcome gets "signalled", the reason it was
 * left alone ("gone: ...", "skipped: ..."), or "failed: <message>" (a
 * missing pg_signal_backend also sets run->needs_grant).
 */
void signal_audited_send(SignalAudited *run, const PlannedSignal *planned, bool terminate,
                         char *outcome, size_t size);

/* signal_audited_send(), then item and its outcome recorded in the audit results. */
void signal_audited_one(SignalAudited *run, const PlannedSignal *planned, bool terminate,
                        const char *item, char *outcome, size_t size);

/*
 * Counts outcome ("signalled..." and "done..." as done, "failed..." as
 * failed, anything else as skipped) and records item with it in the audit
 * results of the open row.  For what was done without signalling, and for
 * a signal sent with signal_audited_send() that the caller keeps (fix leaves
 * out a terminate that turned out not to be needed).
 */
void signal_audited_record(SignalAudited *run, const char *item, const char *outcome);

/*
 * Completes the audit row (status from the counts, "failed" when error is
 * not NULL), closes the connection and the store.  Safe after a failed
 * begin and twice.  0, or -1 with *err when the row could not be completed.
 */
int signal_audited_finish(SignalAudited *run, const char *error, PmError *err) PM_MUST_CHECK;

#endif
