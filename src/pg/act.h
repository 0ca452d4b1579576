/*
 * act.h - the statements that change a server, for `pgmedic fix`.
 *
 * Each returns what happened as values; none prints.  Values always travel
 * as parameters; identifiers are resolved by the catalog and quoted with
 * PQescapeIdentifier.
 */
#ifndef PGMEDIC_PG_ACT_H
#define PGMEDIC_PG_ACT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/plan.h"
#include "pg/conn.h"
#include "util/arena.h"
#include "util/compiler.h"
#include "util/error.h"

/*
 * Signals one planned session (cancel, or terminate when terminate is true),
 * re-checking in the same statement that it is still the session the plan
 * chose.  outcome gets "signalled" or the reason it was left alone.  -1 with
 * *err when the statement itself failed (a lost connection, a privilege).
 */
int act_signal(PgConn *conn, const PlannedSignal *planned, bool terminate,
               bool may_signal_superuser, char *outcome, size_t size, PmError *err) PM_MUST_CHECK;

/* The SQL act_signal runs, for dry runs and the audit log. */
const char *act_signal_sql(void);

typedef struct
{
    unsigned int oid;
    const char *schema;
    const char *name;
    const char *qualified; /* "schema"."name", quoted */
} TableRef;

/*
 * Resolves a user-given table name (optionally schema-qualified) through the
 * catalog.  0 found, 1 no such table (*err says so), -1 error.
 */
int act_resolve_table(PgConn *conn, const char *name, Arena *arena, TableRef *out,
                      PmError *err) PM_MUST_CHECK;

/* A quoted identifier in the arena ("weird ""name"""); NULL when out of memory. */
const char *act_quote_ident(PgConn *conn, Arena *arena, const char *ident);

/* 1 when column exists on the table (and is not dropped), 0 when not, -1 error. */
int act_column_exists(PgConn *conn, unsigned int table_oid, const char *column,
                      PmError *err) PM_MUST_CHECK;

/*
 * Runs one statement over the simple protocol (VACUUM, CREATE INDEX
 * CONCURRENTLY, ALTER SYSTEM refuse transaction blocks).  -1 with *err.
 */
int act_run(PgConn *conn, const char *sql, PmError *err) PM_MUST_CHECK;

/*
 * On a SQL_ASCII database, takes its bytes as they are (SET client_encoding)
 * so that names which are not UTF-8 can be acted on; a no-op elsewhere.
 */
int act_match_encoding(PgConn *conn, PmError *err) PM_MUST_CHECK;

/*
 * As act_run, calling tick(arg) every interval_ms while the statement runs
 * (to show progress from another connection).
 */
int act_run_ticking(PgConn *conn, const char *sql, int64_t interval_ms, void (*tick)(void *arg),
                    void *arg, PmError *err) PM_MUST_CHECK;

/*
 * One line of pg_stat_progress_create_index for backend pid, into buf
 * ("building index: scanning table 42%"); 0, 1 when no row, -1 error.
 */
int act_index_progress(PgConn *conn, int pid, char *buf, size_t size, PmError *err) PM_MUST_CHECK;

/* 1 valid, 0 exists but INVALID, -2 missing, -1 error. */
int act_index_state(PgConn *conn, const char *schema, const char *index,
                    PmError *err) PM_MUST_CHECK;

/* The current value of a setting, as SHOW prints it, into buf.  -1 with *err. */
int act_show(PgConn *conn, const char *name, char *buf, size_t size, PmError *err) PM_MUST_CHECK;

/* The server's backend pid of this connection (to never signal ourselves). */
int act_backend_pid(PgConn *conn);

#endif
