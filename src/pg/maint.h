/*
 * maint.h - the database side of `pgmedic maintain`: reading the candidate
 * tables and indexes (sql/maintain_*.sql), building each statement with
 * escaped identifiers, and running one statement at a time inside a window.
 *
 * Besides act.c, the only code that runs statements that change a server.
 * Nothing here prints; results are values, strings live in the caller's
 * arena.
 */
#ifndef PGMEDIC_PG_MAINT_H
#define PGMEDIC_PG_MAINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/maintain.h"
#include "pg/conn.h"
#include "util/arena.h"
#include "util/compiler.h"
#include "util/error.h"

/* What the plan needs to know about the server besides the candidates. */
typedef struct
{
    int64_t block_size;
    const char *pgstattuple_schema; /* NULL: not installed, or not callable by this role */
    int64_t database_xid_age;       /* age(datfrozenxid) of the connected database */
    int64_t freeze_max_age;         /* autovacuum_freeze_max_age */
    const char *role;
    bool is_superuser;
    int server_version;
} MaintServer;

typedef struct
{
    int max_tables; /* rows asked for, most urgent first */
    int max_indexes;
    int max_measured;          /* indexes measured with pgstatindex() at most (0: never) */
    int64_t measure_budget_ms; /* stop measuring once this much time went into it */
} MaintCollectOptions;

/*
 * Reads the server facts and the candidates for settings s (its thresholds
 * bound what is read) into *in.  When pgstattuple may be called, the valid
 * B-trees whose estimate is unknown or at least half the bloat threshold are
 * measured with pgstatindex(), largest first, within the options' bounds.
 * *n_truncated gets how many lists hit their row limit.  -1 with *err.
 */
int maint_collect(PgConn *conn, const MaintSettings *s, const MaintCollectOptions *o, Arena *arena,
                  MaintServer *server, MaintInput *in, int *n_truncated,
                  PmError *err) PM_MUST_CHECK;

/*
 * Right before an item runs: reads its relation again by OID.  For table
 * work, re-plans it on fresh statistics; for index work, checks it is still
 * valid (reindex) or INVALID (rebuild, drop) and that no index build runs on
 * its table.  1 still needed (*current gets the item with today's names;
 * a reindex keeps its plan's numbers), 0 no longer needed (reason set), -1
 * error.
 */
int maint_recheck(PgConn *conn, const MaintItem *item, const MaintSettings *s, Arena *arena,
                  MaintItem *current, char *reason, size_t reason_size, PmError *err) PM_MUST_CHECK;

/* The statement an item runs, identifiers quoted by PQescapeIdentifier; NULL when out of memory. */
const char *maint_statement(PgConn *conn, const MaintItem *item, Arena *arena);

typedef enum
{
    MAINT_RUN_DONE = 0,
    MAINT_RUN_NOT_STARTED, /* the window had ended before it could start */
    MAINT_RUN_WINDOW,      /* cancelled by the end of the window (statement_timeout) */
    MAINT_RUN_CLOSED,      /* the server did not stop at the window's end: connection closed */
    MAINT_RUN_LOCK,        /* lock_timeout: the relation was busy */
    MAINT_RUN_FAILED       /* any other error (*err) */
} MaintRunStatus;

typedef struct
{
    int64_t deadline_ms; /* monotonic end of the window; 0: none */
    int64_t timeout_ms;  /* statement_timeout when there is no window */
    int64_t lock_timeout_ms;
    int64_t tick_ms; /* call tick every tick_ms while it runs (0: never) */
    void (*tick)(void *arg);
    void *tick_arg;
} MaintExec;

/*
 * Runs one statement alone (simple protocol: VACUUM and REINDEX CONCURRENTLY
 * refuse transaction blocks), with lock_timeout and a statement_timeout of
 * what is left of the window, so the server cancels it when the window
 * ends.  Should the server not answer 10 s after that, the connection is
 * closed (its backend notices through client_connection_check_interval) and
 * MAINT_RUN_CLOSED says the connection is gone.  *err holds the server's
 * error for every status but DONE.
 */
MaintRunStatus maint_run(PgConn *conn, const char *sql, const MaintExec *x, PmError *err);

/* Asks the server to notice a closed client within a second (14+); best effort. */
void maint_session_setup(PgConn *conn);

/*
 * The INVALID indexes of a table, as a list of OIDs for
 * maint_drop_new_invalid() (",1,2,", in the arena); NULL on error (*err).
 */
const char *maint_invalid_indexes(PgConn *conn, uint32_t table_oid, Arena *arena, PmError *err);

/*
 * Drops (CONCURRENTLY, lock_timeout 10 s) the INVALID indexes of the table
 * that are not in before (what maint_invalid_indexes said before a REINDEX
 * CONCURRENTLY that failed): the _ccnew copies it left.  Fills dropped and
 * left (comma lists of names, "" when none).  -1 with *err.
 */
int maint_drop_new_invalid(PgConn *conn, uint32_t table_oid, const char *before, char *dropped,
                           size_t dropped_size, char *left, size_t left_size,
                           PmError *err) PM_MUST_CHECK;

/*
 * One line of progress for backend pid ("scanning heap 42%"); 0, 1 when it
 * shows no progress row, -1 error.
 */
int maint_progress(PgConn *conn, int pid, char *buf, size_t size, PmError *err) PM_MUST_CHECK;

/* The backend pid of the connection. */
int maint_backend_pid(PgConn *conn);

#endif
