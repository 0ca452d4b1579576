/*
 * pgconn_int.h - what src/pg/ modules share about a live connection.
 * Only the .c files of src/pg include this (and so <libpq-fe.h>).
 */
#ifndef PGMEDIC_PG_PGCONN_INT_H
#define PGMEDIC_PG_PGCONN_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "pg/conn.h"
#include "util/error.h"

struct PgConn
{
    PGconn *conn;
    int64_t query_timeout_ms;
    int server_version;
    char label[256]; /* "dbname@host:port" once connected: a reused connection's target */

    /* While connecting (pgconn_start to PGRES_POLLING_OK or _FAILED). */
    PostgresPollingStatusType poll_status; /* what to wait for before the next poll */
    double connect_started_s;
    int64_t connect_timeout_ms;
    int64_t connect_deadline_ms;

    /* The server's last notice, once pgconn_capture_notices() was called. */
    char notice[256];
};

/*
 * A connection made in steps, so that nothing waits: pgconn_open() and the
 * probe job (probe.c) both go through these three.
 *
 * pgconn_start() begins the attempt (the whole of pgconn_open()'s session
 * setup: application_name, read-only, timeouts); NULL when it failed at
 * once, with *attempt saying why.  Otherwise wait until PQsocket() is ready
 * for conn->poll_status (PGRES_POLLING_WRITING first, then READING or
 * WRITING) and call pgconn_connect_poll(), which returns the new status:
 * PGRES_POLLING_OK (connected, non-blocking, *attempt filled with the label
 * and connect_s), PGRES_POLLING_FAILED (*attempt says why; the caller closes
 * the connection), or READING/WRITING again.  Never poll before the socket
 * is ready: libpq would take a TCP connect still in progress for done.
 * Give up at conn->connect_deadline_ms with pgconn_connect_timeout().
 */
PgConn *pgconn_start(const ConnSpec *spec, const ConnOptions *opts,
                     ConnAttempt *attempt) PM_MUST_CHECK;
PostgresPollingStatusType pgconn_connect_poll(PgConn *conn, const ConnSpec *spec,
                                              ConnAttempt *attempt);

/* Fills *attempt for a connect that ran out of time (CONN_TIMEOUT). */
void pgconn_connect_timeout(const PgConn *conn, ConnAttempt *attempt);

/*
 * From now on the server's notices do not go to stderr: each is logged at
 * debug level and the last one kept in conn->notice.  For connections kept
 * between probes, where the notice that matters is the FATAL telling why the
 * server closed an idle connection (a restart, pg_terminate_backend).
 */
void pgconn_capture_notices(PgConn *conn);

/*
 * Waits until the socket is readable (and writable when for_write) or the
 * monotonic deadline passes.  1 ready, 0 timed out, -1 error (*err filled).
 */
int pgconn_wait(PgConn *conn, bool for_write, int64_t deadline_ms, PmError *err);

/* Flushes the output queue of a non-blocking connection; -1 with *err on failure. */
int pgconn_flush(PgConn *conn, int64_t deadline_ms, PmError *err);

/*
 * The next result, waiting up to the deadline.  Returns NULL both at the end
 * of a query's results and on failure: *failed tells them apart.
 */
PGresult *pgconn_next_result(PgConn *conn, int64_t deadline_ms, bool *failed, PmError *err);

/* Fills *err from a failed result: message, detail, hint and SQLSTATE. */
void pgconn_error_from_result(PmError *err, const PGresult *res, const char *context);

/* The deadline for one statement: now + the session's query timeout + 1 s. */
int64_t pgconn_deadline(const PgConn *conn);

/* Runs one parameterised statement to completion (not in pipeline mode). */
PGresult *pgconn_exec(PgConn *conn, const char *sql, int n_params, const char *const *values,
                      PmError *err);

/* The first line of libpq's error text, without its "FATAL:"/"ERROR:" tag, into dst. */
void pgconn_first_line(char *dst, size_t size, const char *text);

#endif
