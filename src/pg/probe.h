/*
 * probe.h - one round trip that turns a live server into a Snapshot.
 *
 * Every query goes out in one libpq pipeline and the answers are read back
 * under one deadline.  A server that cannot be reached is not an error: the
 * snapshot says why (snap->failure).  Never prints, never exits; strings
 * live in the caller's arena.
 */
#ifndef PGMEDIC_PG_PROBE_H
#define PGMEDIC_PG_PROBE_H

#include <stdbool.h>

#include "core/snapshot.h"
#include "pg/conn.h"
#include "util/arena.h"
#include "util/compiler.h"
#include "util/error.h"

typedef struct
{
    double slow_threshold_s; /* sessions active longer than this are collected */
    double idle_threshold_s; /* and idle sessions idle longer than this */
    int max_sessions;        /* caps keep the cost bounded on huge servers */
    int max_groups;
    int max_tables; /* per ranking: dead tuples, modifications, sequential reads */
    int max_statements; /* from pg_stat_statements */
    int query_len;  /* characters of query text kept */
    bool ping_only; /* only the server statement: identity, slots, counts and the
                     * oldest active query (status, check) */
    bool extras;    /* also WAL size, pg_stat_statements, log file: a second round
                     * trip, sent only with what can run without an error */
} ProbeOptions;

/* The defaults: 5 s, 1 h idle, 1000 sessions, 200 groups, 20 tables, 20 statements,
 * 512 characters. */
ProbeOptions probe_options_default(void);

/* Runs the probe on an open connection; -1 only when out of memory. */
int probe_run(PgConn *conn, const ProbeOptions *opts, Arena *arena, Snapshot *snap,
              PmError *err) PM_MUST_CHECK;

/* Connects, probes and disconnects; -1 only when out of memory. */
int probe_snapshot(const ConnSpec *spec, const ConnOptions *conn_opts, const ProbeOptions *opts,
                   Arena *arena, Snapshot *snap, PmError *err) PM_MUST_CHECK;

/*
 * The same probe without blocking, so that one thread can drive many
 * targets with poll() (serve).  A job connects (or reuses *slot), sends the
 * batches in pipeline mode and reads the answers as they come, under one
 * deadline (connect_timeout + query_timeout + 1 s, from the start).
 *
 *   ProbeJob *job = probe_job_start(&slot, spec, conn_opts, opts, arena, snap);
 *   while ((st = probe_job_step(job)) > 0)
 *       poll() probe_job_fd(job) for POLLIN (st & PROBE_WANT_READ) and/or
 *       POLLOUT (st & PROBE_WANT_WRITE), until probe_job_deadline_ms(job);
 *   probe_job_free(job);
 *
 * slot holds the target's connection between probes: a job reuses a live
 * one, leaves it in *slot when the probe succeeded, and closes it (*slot =
 * NULL) on any failure, so a target never has more than one.  Pass a slot
 * holding NULL for a connection of its own; close it with pgconn_close().
 * The snapshot is filled as probe_snapshot() fills it.
 *
 * Clarifications:
 * - While the job runs it owns the connection and *slot is NULL: one job per
 *   slot at a time.  A connection from the slot that turns out dead (the
 *   server restarted, the backend was terminated) fails the probe with
 *   CONN_SERVER_DOWN, "connection to server lost: <why>"; the job does not
 *   reconnect, the next job does.  A reused connection keeps the session
 *   settings it was opened with; snap->connect_s is then 0.
 * - spec must stay valid until the job has finished or been freed.
 * - The deadline is that of the current phase: connect_timeout from the
 *   start while connecting (CONN_TIMEOUT "server did not respond within
 *   ..."), then query_timeout + 1 s for the answers ("server did not answer
 *   within ..."), never later than connect_timeout + query_timeout + 1 s from
 *   the start.  Read it, and probe_job_fd() (libpq may open a new socket
 *   while connecting), again after each step.  Steps past it end the job.
 * - The job checks readiness itself (poll() with no timeout), so a step
 *   called early or spuriously is harmless.
 * - After PROBE_DONE, probe_job_step() returns PROBE_DONE again; after
 *   PROBE_NOMEM, PROBE_NOMEM (the connection was closed, the snapshot is
 *   incomplete).
 * - libpq resolves a host name inside probe_job_start() and may block on
 *   DNS there; a socket directory or an IP address (hostaddr) never blocks.
 * - Notices the server sends on a kept connection (such as the FATAL before
 *   it closes it) are logged at debug level, not printed on stderr.
 */
typedef struct ProbeJob ProbeJob;

enum
{
    PROBE_DONE = 0,       /* finished: the snapshot is complete (or says why it failed) */
    PROBE_WANT_READ = 1,  /* call again when the fd is readable or at the deadline */
    PROBE_WANT_WRITE = 2, /* ... writable ... (may be combined with READ) */
    PROBE_NOMEM = -1
};

/* NULL when out of memory.  Never blocks. */
ProbeJob *probe_job_start(PgConn **slot, const ConnSpec *spec, const ConnOptions *conn_opts,
                          const ProbeOptions *opts, Arena *arena, Snapshot *snap);

/* Advances the job as far as it can without blocking: PROBE_* above.  Past
 * the deadline it finishes with a timeout failure. */
int probe_job_step(ProbeJob *job);

/* The socket to poll, -1 when there is none (then only the deadline matters). */
int probe_job_fd(const ProbeJob *job);

/* When the job gives up (pm_clock_ms() time). */
int64_t probe_job_deadline_ms(const ProbeJob *job);

/* Releases the job; a job freed before PROBE_DONE closes its connection. */
void probe_job_free(ProbeJob *job); /* NULL is a no-op */

#endif
