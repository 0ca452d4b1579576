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
};

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

#endif
