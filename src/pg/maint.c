/*
 * maint.c - reading the maintenance candidates and running the work of
 * `pgmedic maintain`, one statement at a time.
 */
#include "pg/maint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pgconn_int.h"
#include "sql.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strbuf.h"

/* How long the server gets, after the window's end, to stop a statement on its own. */
#define MAINT_GRACE_MS 10000
/* A cleanup DROP INDEX CONCURRENTLY waits for the transactions the build waited for. */
#define MAINT_DROP_LOCK_TIMEOUT_MS 10000
#define MAINT_DROP_TIMEOUT_MS      30000

/* --- reading rows --- */

static int64_t
col_int(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? -1 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static double
col_double(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? -1.0 : strtod(PQgetvalue(res, row, col), NULL);
}

static bool
col_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

static const char *
col_str(const PGresult *res, int row, int col, Arena *arena, bool *oom)
{
    const char *s;

    if (PQgetisnull(res, row, col))
        return NULL;
    s = arena_strdup(arena, PQgetvalue(res, row, col));
    if (s == NULL)
        *oom = true;
    return s;
}

/* Runs a parameterised query that returns rows; NULL with *err. */
static PGresult *
query(PgConn *conn, const char *sql, int n, const char *const *params, const char *what,
      PmError *err)
{
    PGresult *res = pgconn_exec(conn, sql, n, params, err);

    if (res != NULL && PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        pgconn_error_from_result(err, res, what);
        PQclear(res);
        return NULL;
    }
    return res;
}

/* Sets a setting of the session (a value, never pasted into SQL). */
static int
set_setting(PgConn *conn, const char *name, int64_t value, PmError *err)
{
    char v[32];
    const char *params[2] = {name, v};
    PGresult *res;

    snprintf(v, sizeof(v), "%lld", (long long) value);
    res = query(conn, "SELECT pg_catalog.set_config($1::text, $2::text, false)", 2, params,
                "could not set the session's timeouts", err);
    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

/*
 * One statement over the simple protocol (DROP INDEX CONCURRENTLY refuses
 * transaction blocks), waiting up to deadline_ms; 0, or -1 with *err.
 */
static int
simple_exec(PgConn *conn, const char *sql, int64_t deadline_ms, PmError *err)
{
    PGresult *res, *last = NULL;
    bool failed;
    int rc = 0;

    pm_log_debug("maintain: %s", sql);
    if (!PQsendQuery(conn->conn, sql))
    {
        pm_error_set(err, "could not send statement: %s", PQerrorMessage(conn->conn));
        return -1;
    }
    if (pgconn_flush(conn, deadline_ms, err) != 0)
        return -1;
    while ((res = pgconn_next_result(conn, deadline_ms, &failed, err)) != NULL)
    {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK &&
            rc == 0)
        {
            pgconn_error_from_result(err, res, "statement failed");
            rc = -1;
        }
        PQclear(last);
        last = res;
    }
    PQclear(last);
    return failed ? -1 : rc;
}

static void
fill_table(const PGresult *res, int r, Arena *arena, MaintTable *t, bool *oom)
{
    t->oid = (uint32_t) col_int(res, r, 0);
    t->schema = col_str(res, r, 1, arena, oom);
    t->name = col_str(res, r, 2, arena, oom);
    t->n_live_tup = col_int(res, r, 3);
    t->n_dead_tup = col_int(res, r, 4);
    t->n_mod_since_analyze = col_int(res, r, 5);
    t->last_analyze_age_s = col_double(res, r, 6);
    t->heap_bytes = col_int(res, r, 7);
    t->index_bytes = col_int(res, r, 8);
    t->xid_age = col_int(res, r, 9);
    t->mxid_age = col_int(res, r, 10);
    t->freeze_max_age = col_int(res, r, 11);
    t->mxid_freeze_max_age = col_int(res, r, 12);
    t->is_catalog = col_bool(res, r, 13);
    t->may_maintain = col_bool(res, r, 14);
}

static void
fill_index(const PGresult *res, int r, Arena *arena, MaintIndex *ix, bool *oom)
{
    ix->oid = (uint32_t) col_int(res, r, 0);
    ix->schema = col_str(res, r, 1, arena, oom);
    ix->name = col_str(res, r, 2, arena, oom);
    ix->table_oid = (uint32_t) col_int(res, r, 3);
    ix->table_schema = col_str(res, r, 4, arena, oom);
    ix->table_name = col_str(res, r, 5, arena, oom);
    ix->method = col_str(res, r, 6, arena, oom);
    ix->is_valid = col_bool(res, r, 7);
    ix->is_unique = col_bool(res, r, 8);
    ix->building = col_bool(res, r, 9);
    ix->size_bytes = col_int(res, r, 10);
    ix->table_bytes = col_int(res, r, 11);
    ix->reltuples = col_double(res, r, 12);
    ix->key_width = col_double(res, r, 13);
    ix->fillfactor = (int32_t) col_int(res, r, 14);
    ix->may_maintain = col_bool(res, r, 15);
}

/* The tables query, for every table (table_oid 0) or one. */
static PGresult *
tables_query(PgConn *conn, const MaintSettings *s, int limit, uint32_t table_oid, PmError *err)
{
    char dead[32], stale[32], freeze[32], min_dead[16], min_mod[16], lim[16], oid[16];
    const char *params[7] = {dead, stale, freeze, min_dead, min_mod, lim, NULL};

    snprintf(dead, sizeof(dead), "%.17g", s->dead_tuple_ratio);
    snprintf(stale, sizeof(stale), "%.17g", s->stale_statistics_ratio);
    snprintf(freeze, sizeof(freeze), "%.17g", s->freeze_age_ratio);
    snprintf(min_dead, sizeof(min_dead), "%d", MAINT_MIN_DEAD_TUPLES);
    snprintf(min_mod, sizeof(min_mod), "%d", MAINT_MIN_MODIFIED);
    snprintf(lim, sizeof(lim), "%d", limit);
    if (table_oid != 0)
    {
        snprintf(oid, sizeof(oid), "%u", table_oid);
        params[6] = oid;
    }
    return query(conn, SQL_maintain_tables, 7, params, "could not read the tables' statistics",
                 err);
}

/* The indexes query, for every index (index_oid 0, at least min_bytes) or one. */
static PGresult *
indexes_query(PgConn *conn, int64_t min_bytes, int limit, uint32_t index_oid, PmError *err)
{
    char min[32], lim[16], oid[16];
    const char *params[3] = {min, lim, NULL};

    snprintf(min, sizeof(min), "%lld", (long long) min_bytes);
    snprintf(lim, sizeof(lim), "%d", limit);
    if (index_oid != 0)
    {
        snprintf(oid, sizeof(oid), "%u", index_oid);
        params[2] = oid;
    }
    return query(conn, SQL_maintain_indexes, 3, params, "could not read the indexes", err);
}

/*
 * pgstatindex() on one index: its leaf density and page counts.  The
 * function's schema is the extension's, quoted; the index goes as a value.
 * 0, or -1 with *err.
 */
static int
measure_index(PgConn *conn, const char *schema_q, MaintIndex *ix, PmError *err)
{
    char sql[256], oid[16];
    const char *params[1] = {oid};
    PGresult *res;
    double density;

    snprintf(oid, sizeof(oid), "%u", ix->oid);
    snprintf(sql, sizeof(sql),
             "SELECT internal_pages::int8, leaf_pages::int8, avg_leaf_density::float8 "
             "FROM %s.pgstatindex($1::pg_catalog.oid::pg_catalog.regclass)",
             schema_q);
    res = query(conn, sql, 1, params, "could not measure the index", err);
    if (res == NULL)
        return -1;
    density = PQntuples(res) == 1 ? col_double(res, 0, 2) : -1;
    /* An empty index has no leaf density (NaN): leave it to the estimate. */
    if (PQntuples(res) == 1 && isfinite(density) && density >= 0)
    {
        ix->internal_pages = col_int(res, 0, 0);
        ix->leaf_pages = col_int(res, 0, 1);
        ix->leaf_density = density;
        ix->measured = true;
    }
    PQclear(res);
    return 0;
}

static void
measure_indexes(PgConn *conn, const MaintSettings *s, const MaintCollectOptions *o,
                const MaintServer *server, MaintInput *in)
{
    char *schema_q;
    int64_t started = pm_clock_ms();
    int n = 0;
    size_t i;

    schema_q = PQescapeIdentifier(conn->conn, server->pgstattuple_schema,
                                  strlen(server->pgstattuple_schema));
    if (schema_q == NULL)
        return;
    /* The list is largest first: the indexes where bloat costs most are measured first. */
    for (i = 0; i < in->n_indexes && n < o->max_measured; i++)
    {
        MaintIndex *ix = &in->indexes[i];
        int64_t expected;
        PmError err;

        if (!ix->is_valid || ix->method == NULL || strcmp(ix->method, "btree") != 0)
            continue;
        expected = maintain_index_expected_bytes(ix, in->block_size);
        /* Measure what the estimate cannot judge, or suspects. */
        if (expected >= 0 && ix->size_bytes > 0 &&
            1.0 - (double) expected / (double) ix->size_bytes < s->index_bloat_ratio / 2)
            continue;
        if (pm_clock_ms() - started > o->measure_budget_ms)
        {
            pm_log_info("pgstattuple: measuring stopped after %lld ms; the other indexes are "
                        "estimated from statistics",
                        (long long) (pm_clock_ms() - started));
            break;
        }
        if (measure_index(conn, schema_q, ix, &err) != 0)
        {
            pm_log_info("pgstattuple: %s", err.message);
            break;
        }
        n++;
    }
    PQfreemem(schema_q);
}

int
maint_collect(PgConn *conn, const MaintSettings *s, const MaintCollectOptions *o, Arena *arena,
              MaintServer *server, MaintInput *in, int *n_truncated, PmError *err)
{
    PGresult *res;
    bool oom = false;
    int r, n;

    memset(server, 0, sizeof(*server));
    memset(in, 0, sizeof(*in));
    *n_truncated = 0;
    server->server_version = conn->server_version;
    res = query(conn, SQL_maintain_server, 0, NULL, "could not read the server's settings", err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) != 1)
    {
        PQclear(res);
        pm_error_set(err, "could not read the server's settings: no row");
        return -1;
    }
    server->block_size = col_int(res, 0, 0);
    server->pgstattuple_schema = col_str(res, 0, 1, arena, &oom);
    server->database_xid_age = col_int(res, 0, 2);
    server->freeze_max_age = col_int(res, 0, 3);
    server->role = col_str(res, 0, 4, arena, &oom);
    server->is_superuser = col_bool(res, 0, 5);
    PQclear(res);
    in->block_size = server->block_size;

    res = tables_query(conn, s, o->max_tables, 0, err);
    if (res == NULL)
        return -1;
    n = PQntuples(res);
    if (n > 0)
    {
        in->tables = arena_array(arena, (size_t) n, sizeof(MaintTable));
        oom = oom || in->tables == NULL;
    }
    for (r = 0; r < n && !oom; r++)
        fill_table(res, r, arena, &in->tables[in->n_tables++], &oom);
    if (n >= o->max_tables)
        (*n_truncated)++;
    PQclear(res);

    res = indexes_query(conn, MAINT_INDEX_MIN_BYTES, o->max_indexes, 0, err);
    if (res == NULL)
        return -1;
    n = PQntuples(res);
    if (n > 0 && !oom)
    {
        in->indexes = arena_array(arena, (size_t) n, sizeof(MaintIndex));
        oom = oom || in->indexes == NULL;
    }
    for (r = 0; r < n && !oom; r++)
        fill_index(res, r, arena, &in->indexes[in->n_indexes++], &oom);
    if (n >= o->max_indexes)
        (*n_truncated)++;
    PQclear(res);
    if (oom)
    {
        pm_error_set(err, "out of memory");
        return -1;
    }
    if (server->pgstattuple_schema != NULL && o->max_measured > 0)
        measure_indexes(conn, s, o, server, in);
    return 0;
}

static bool
is_index_kind(MaintKind kind)
{
    return kind == MAINT_DROP_INVALID || kind == MAINT_REBUILD_INVALID || kind == MAINT_REINDEX;
}

int
maint_recheck(PgConn *conn, const MaintItem *item, const MaintSettings *s, Arena *arena,
              MaintItem *current, char *reason, size_t reason_size, PmError *err)
{
    PGresult *res;
    bool oom = false;
    int rc = -1;

    reason[0] = '\0';
    *current = *item;
    if (is_index_kind(item->kind))
    {
        MaintIndex ix;

        res = indexes_query(conn, 0, 1, item->oid, err);
        if (res == NULL)
            return -1;
        if (PQntuples(res) == 0)
        {
            snprintf(reason, reason_size, "no longer needed: the index is gone");
            rc = 0;
            goto done;
        }
        memset(&ix, 0, sizeof(ix));
        fill_index(res, 0, arena, &ix, &oom);
        if (oom)
        {
            pm_error_set(err, "out of memory");
            goto done;
        }
        if (item->kind == MAINT_REINDEX && !ix.is_valid)
        {
            snprintf(reason, reason_size, "left alone: the index is INVALID now");
            rc = 0;
        }
        else if (item->kind != MAINT_REINDEX && ix.is_valid)
        {
            snprintf(reason, reason_size, "no longer needed: the index is valid now");
            rc = 0;
        }
        else if (ix.building)
        {
            snprintf(reason, reason_size, "left alone: an index build is running on its table now");
            rc = 0;
        }
        else
        {
            current->schema = ix.schema;
            current->name = ix.name;
            current->table_schema = ix.table_schema;
            current->table_name = ix.table_name;
            rc = 1;
        }
        goto done;
    }
    res = tables_query(conn, s, 1, item->table_oid, err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) == 0)
    {
        snprintf(reason, reason_size,
                 "no longer needed: the table is under the thresholds now (autovacuum may have "
                 "done it), or gone");
        rc = 0;
        goto done;
    }
    {
        MaintTable t;
        MaintInput in;
        MaintPlan plan;

        memset(&t, 0, sizeof(t));
        fill_table(res, 0, arena, &t, &oom);
        memset(&in, 0, sizeof(in));
        in.tables = &t;
        in.n_tables = 1;
        if (oom || maintain_plan(&in, s, arena, &plan) != 0)
        {
            pm_error_set(err, "out of memory");
            goto done;
        }
        if (plan.n_items == 0)
        {
            snprintf(reason, reason_size,
                     "no longer needed: the table is under the thresholds now (autovacuum may "
                     "have done it)");
            rc = 0;
        }
        else
        {
            *current = plan.items[0];
            rc = 1;
        }
    }
done:
    PQclear(res);
    return rc;
}

const char *
maint_statement(PgConn *conn, const MaintItem *item, Arena *arena)
{
    char *schema = PQescapeIdentifier(conn->conn, item->schema, strlen(item->schema));
    char *name = PQescapeIdentifier(conn->conn, item->name, strlen(item->name));
    StrBuf sql = STRBUF_INIT;
    const char *out = NULL;

    if (schema == NULL || name == NULL)
        goto done;
    switch (item->kind)
    {
        case MAINT_VACUUM_FREEZE:
            strbuf_printf(&sql, "VACUUM (FREEZE%s) %s.%s", item->analyze ? ", ANALYZE" : "", schema,
                          name);
            break;
        case MAINT_VACUUM:
            strbuf_printf(&sql, "VACUUM (ANALYZE) %s.%s", schema, name);
            break;
        case MAINT_ANALYZE:
            strbuf_printf(&sql, "ANALYZE %s.%s", schema, name);
            break;
        case MAINT_DROP_INVALID:
            strbuf_printf(&sql, "DROP INDEX CONCURRENTLY IF EXISTS %s.%s", schema, name);
            break;
        case MAINT_REBUILD_INVALID:
        case MAINT_REINDEX:
            strbuf_printf(&sql, "REINDEX INDEX CONCURRENTLY %s.%s", schema, name);
            break;
        case MAINT_N_KINDS:
            break;
    }
    if (strbuf_ok(&sql) && sql.len > 0)
        out = arena_strdup(arena, strbuf_str(&sql));
done:
    PQfreemem(schema);
    PQfreemem(name);
    strbuf_free(&sql);
    return out;
}

void
maint_session_setup(PgConn *conn)
{
    PmError err;

    /* Kept, not printed: VACUUM of a table the role may not maintain only warns. */
    pgconn_capture_notices(conn);
    /* A closed client is noticed during a long statement only when asked (14+). */
    if (conn->server_version >= 140000 &&
        set_setting(conn, "client_connection_check_interval", 1000, &err) != 0)
        pm_log_debug("client_connection_check_interval: %s", err.message);
}

MaintRunStatus
maint_run(PgConn *conn, const char *sql, const MaintExec *x, PmError *err)
{
    int64_t now = pm_clock_ms(), timeout, hard;
    PGresult *res, *last = NULL;
    MaintRunStatus status = MAINT_RUN_DONE;
    bool failed;

    pm_error_clear(err);
    if (x->deadline_ms > 0)
    {
        timeout = x->deadline_ms - now;
        if (timeout <= 0)
        {
            pm_error_set(err, "the window had ended");
            return MAINT_RUN_NOT_STARTED;
        }
    }
    else
        timeout = x->timeout_ms > 0 ? x->timeout_ms : 3600 * 1000;
    if (set_setting(conn, "lock_timeout", x->lock_timeout_ms > 0 ? x->lock_timeout_ms : 5000,
                    err) != 0 ||
        set_setting(conn, "statement_timeout", timeout, err) != 0)
        return MAINT_RUN_FAILED;
    /* The window may have moved on during those two round trips. */
    hard = pm_clock_ms() + timeout + MAINT_GRACE_MS;

    pm_log_debug("maintain: %s (statement_timeout %lld ms)", sql, (long long) timeout);
    conn->notice[0] = '\0';
    if (!PQsendQuery(conn->conn, sql))
    {
        pm_error_set(err, "could not send statement: %s", PQerrorMessage(conn->conn));
        return MAINT_RUN_FAILED;
    }
    if (pgconn_flush(conn, hard, err) != 0)
        return MAINT_RUN_FAILED;
    while (PQisBusy(conn->conn))
    {
        int64_t until = hard;
        int ready;

        now = pm_clock_ms();
        if (x->tick != NULL && x->tick_ms > 0 && now + x->tick_ms < hard)
            until = now + x->tick_ms;
        ready = pgconn_wait(conn, false, until, err);
        if (ready < 0)
            return MAINT_RUN_FAILED;
        if (ready == 0)
        {
            if (pm_clock_ms() >= hard)
            {
                /*
                 * The server did not stop at statement_timeout.  PQcancel
                 * could block on a hung server (libpq 15): close instead; the
                 * backend notices within client_connection_check_interval.
                 */
                PQfinish(conn->conn);
                conn->conn = NULL;
                pm_error_set(err,
                             "the server did not stop the statement %d s after the window "
                             "ended: pgmedic closed its connection",
                             MAINT_GRACE_MS / 1000);
                return MAINT_RUN_CLOSED;
            }
            x->tick(x->tick_arg);
            continue;
        }
        if (PQconsumeInput(conn->conn) == 0)
        {
            pm_error_set(err, "connection to server lost: %s", PQerrorMessage(conn->conn));
            return MAINT_RUN_FAILED;
        }
    }
    while ((res = pgconn_next_result(conn, hard, &failed, err)) != NULL)
    {
        ExecStatusType st = PQresultStatus(res);

        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && status == MAINT_RUN_DONE)
        {
            const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

            pgconn_error_from_result(err, res, "statement failed");
            status = MAINT_RUN_FAILED;
            if (state != NULL && strcmp(state, "55P03") == 0)
                status = MAINT_RUN_LOCK;
            /* A cancel at the end of the window, not someone else's pg_cancel_backend(). */
            else if (state != NULL && strcmp(state, "57014") == 0 && x->deadline_ms > 0 &&
                     pm_clock_ms() >= x->deadline_ms - 250)
                status = MAINT_RUN_WINDOW;
        }
        PQclear(last);
        last = res;
    }
    PQclear(last);
    if (failed)
        return MAINT_RUN_FAILED;
    if (status == MAINT_RUN_DONE && strstr(conn->notice, "skipping") != NULL)
    {
        /* "skipping "t" --- only table or database owner can vacuum it": nothing was done. */
        pm_error_set(err, "the server skipped it: %s", conn->notice);
        status = MAINT_RUN_FAILED;
    }
    /* Back to the session's own bound for what follows on this connection. */
    {
        PmError ignored;

        if (set_setting(conn, "statement_timeout", conn->query_timeout_ms, &ignored) != 0)
            pm_log_debug("could not reset statement_timeout: %s", ignored.message);
    }
    return status;
}

const char *
maint_invalid_indexes(PgConn *conn, uint32_t table_oid, Arena *arena, PmError *err)
{
    char oid[16];
    const char *params[1] = {oid};
    StrBuf list = STRBUF_INIT;
    PGresult *res;
    const char *out;
    int r;

    snprintf(oid, sizeof(oid), "%u", table_oid);
    res = query(conn, SQL_maintain_invalid_on_table, 1, params, "could not list invalid indexes",
                err);
    if (res == NULL)
        return NULL;
    /* ",1,2,": membership is a search for ",OID,". */
    strbuf_append_char(&list, ',');
    for (r = 0; r < PQntuples(res); r++)
        strbuf_printf(&list, "%s,", PQgetvalue(res, r, 0));
    PQclear(res);
    out = strbuf_ok(&list) ? arena_strdup(arena, strbuf_str(&list)) : NULL;
    strbuf_free(&list);
    if (out == NULL)
        pm_error_set(err, "out of memory");
    return out;
}

static void
append_name(char *buf, size_t size, const char *schema, const char *name)
{
    size_t len = strlen(buf);

    snprintf(buf + len, size - len, "%s%s.%s", len ? ", " : "", schema, name);
}

int
maint_drop_new_invalid(PgConn *conn, uint32_t table_oid, const char *before, char *dropped,
                       size_t dropped_size, char *left, size_t left_size, PmError *err)
{
    char oid[16];
    const char *params[1] = {oid};
    PGresult *res;
    int r, rc = 0;

    dropped[0] = left[0] = '\0';
    snprintf(oid, sizeof(oid), "%u", table_oid);
    res = query(conn, SQL_maintain_invalid_on_table, 1, params, "could not list invalid indexes",
                err);
    if (res == NULL)
        return -1;
    if (set_setting(conn, "lock_timeout", MAINT_DROP_LOCK_TIMEOUT_MS, err) != 0 ||
        set_setting(conn, "statement_timeout", MAINT_DROP_TIMEOUT_MS, err) != 0)
    {
        PQclear(res);
        return -1;
    }
    for (r = 0; r < PQntuples(res); r++)
    {
        char key[24], *schema, *name;
        const char *s = PQgetvalue(res, r, 1), *n = PQgetvalue(res, r, 2);
        bool ok = false;

        snprintf(key, sizeof(key), ",%s,", PQgetvalue(res, r, 0));
        if (before != NULL && strstr(before, key) != NULL)
            continue; /* INVALID before the statement: not its leftover */
        schema = PQescapeIdentifier(conn->conn, s, strlen(s));
        name = PQescapeIdentifier(conn->conn, n, strlen(n));
        if (schema != NULL && name != NULL)
        {
            char sql[512];

            snprintf(sql, sizeof(sql), "DROP INDEX CONCURRENTLY IF EXISTS %s.%s", schema, name);
            ok = simple_exec(conn, sql, pm_clock_ms() + MAINT_DROP_TIMEOUT_MS + 1000, err) == 0;
        }
        PQfreemem(schema);
        PQfreemem(name);
        if (ok)
            append_name(dropped, dropped_size, s, n);
        else
        {
            append_name(left, left_size, s, n);
            rc = -1;
        }
    }
    PQclear(res);
    {
        PmError ignored;

        if (set_setting(conn, "statement_timeout", conn->query_timeout_ms, &ignored) != 0)
            pm_log_debug("could not reset statement_timeout: %s", ignored.message);
    }
    return rc;
}

int
maint_progress(PgConn *conn, int pid, char *buf, size_t size, PmError *err)
{
    char p[16];
    const char *params[1] = {p};
    PGresult *res;
    int rc = 1;

    snprintf(p, sizeof(p), "%d", pid);
    res = query(conn, SQL_maintain_progress, 1, params, "could not read progress", err);
    if (res == NULL)
        return -1;
    if (PQntuples(res) > 0)
    {
        double done = col_double(res, 0, 2), total = col_double(res, 0, 3);

        if (total > 0 && done >= 0)
            snprintf(buf, size, "%s %.0f%%", PQgetvalue(res, 0, 1), 100.0 * done / total);
        else
            snprintf(buf, size, "%s", PQgetvalue(res, 0, 1));
        rc = 0;
    }
    PQclear(res);
    return rc;
}

int
maint_backend_pid(PgConn *conn)
{
    return conn->conn != NULL ? PQbackendPID(conn->conn) : 0;
}
