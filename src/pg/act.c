/*
 * act.c - the statements of `pgmedic fix`.
 */
#include "pg/act.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pgconn_int.h"
#include "sql.h"
#include "util/clock.h"
#include "util/log.h"

const char *
act_signal_sql(void)
{
    return SQL_act_signal;
}

int
act_signal(PgConn *conn, const PlannedSignal *planned, bool terminate, bool may_signal_superuser,
           char *outcome, size_t size, PmError *err)
{
    char pid[16], age[32];
    const char *params[7];
    PGresult *res;
    int rc = -1;

    snprintf(pid, sizeof(pid), "%d", (int) planned->session->pid);
    /* The age must still hold; a tiny margin absorbs rounding of the plan's age. */
    snprintf(age, sizeof(age), "%.3f", planned->age_s > 0.01 ? planned->age_s - 0.01 : 0.0);
    params[0] = pid;
    params[1] = planned->session->backend_start;
    params[2] = terminate ? "terminate" : "cancel";
    params[3] = planned->mode;
    params[4] = age;
    params[5] = planned->since;
    params[6] = may_signal_superuser ? "true" : "false";
    pm_log_debug("signal: %s pid %s (%s)", params[2], pid, planned->mode);
    res = pgconn_exec(conn, SQL_act_signal, 7, params, err);
    if (res == NULL)
        return -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
    {
        pgconn_error_from_result(err, res, "could not signal the session");
        goto done;
    }
    snprintf(outcome, size, "%s", PQgetvalue(res, 0, 0));
    rc = 0;
done:
    PQclear(res);
    return rc;
}

const char *
act_quote_ident(PgConn *conn, Arena *arena, const char *ident)
{
    char *quoted = PQescapeIdentifier(conn->conn, ident, strlen(ident));
    const char *copy;

    if (quoted == NULL)
        return NULL;
    copy = arena_strdup(arena, quoted);
    PQfreemem(quoted);
    return copy;
}

int
act_resolve_table(PgConn *conn, const char *name, Arena *arena, TableRef *out, PmError *err)
{
    const char *params[1] = {name};
    PGresult *res = pgconn_exec(conn, SQL_act_resolve_table, 1, params, err);
    const char *schema_q, *name_q;
    char *qualified;
    int rc = -1;

    if (res == NULL)
        return -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        /* to_regclass() raises on syntactically invalid names */
        pgconn_error_from_result(err, res, "invalid table name");
        goto done;
    }
    if (PQntuples(res) == 0)
    {
        pm_error_set(err, "table \"%s\" does not exist", name);
        pm_error_hint(err, "Name it as schema.table; names are resolved like in SQL (unquoted "
                           "names fold to lower case, search_path is empty so qualify them).");
        rc = 1;
        goto done;
    }
    if (strchr("rmp", PQgetvalue(res, 0, 3)[0]) == NULL)
    {
        pm_error_set(err, "\"%s\" is not a table", name);
        rc = 1;
        goto done;
    }
    out->oid = (unsigned int) strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    out->schema = arena_strdup(arena, PQgetvalue(res, 0, 1));
    out->name = arena_strdup(arena, PQgetvalue(res, 0, 2));
    schema_q = act_quote_ident(conn, arena, out->schema);
    name_q = act_quote_ident(conn, arena, out->name);
    if (out->schema == NULL || out->name == NULL || schema_q == NULL || name_q == NULL)
    {
        pm_error_set(err, "out of memory");
        goto done;
    }
    qualified = arena_alloc(arena, strlen(schema_q) + strlen(name_q) + 2);
    if (qualified == NULL)
    {
        pm_error_set(err, "out of memory");
        goto done;
    }
    snprintf(qualified, strlen(schema_q) + strlen(name_q) + 2, "%s.%s", schema_q, name_q);
    out->qualified = qualified;
    rc = 0;
done:
    PQclear(res);
    return rc;
}

int
act_column_exists(PgConn *conn, unsigned int table_oid, const char *column, PmError *err)
{
    char oid[16];
    const char *params[2];
    PGresult *res;
    int rc = -1;

    snprintf(oid, sizeof(oid), "%u", table_oid);
    params[0] = oid;
    params[1] = column;
    res = pgconn_exec(conn,
                      "SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = $1::oid AND "
                      "attname OPERATOR(pg_catalog.=) $2::text AND attnum > 0 AND NOT attisdropped",
                      2, params, err);
    if (res == NULL)
        return -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        pgconn_error_from_result(err, res, "could not look up the column");
    else
        rc = PQntuples(res) > 0 ? 1 : 0;
    PQclear(res);
    return rc;
}

int
act_match_encoding(PgConn *conn, PmError *err)
{
    const char *enc = PQparameterStatus(conn->conn, "server_encoding");

    /* As the probe does: a SQL_ASCII database's names may not convert to UTF8. */
    if (enc == NULL || strcmp(enc, "SQL_ASCII") != 0)
        return 0;
    return act_run(conn, "SET client_encoding = 'SQL_ASCII'", err);
}

int
act_run(PgConn *conn, const char *sql, PmError *err)
{
    return act_run_ticking(conn, sql, 0, NULL, NULL, err);
}

int
act_run_ticking(PgConn *conn, const char *sql, int64_t interval_ms, void (*tick)(void *arg),
                void *arg, PmError *err)
{
    int64_t deadline;
    PGresult *res, *last = NULL;
    bool failed;
    int rc = 0;

    pm_log_debug("run: %s", sql);
    if (!PQsendQuery(conn->conn, sql))
    {
        pm_error_set(err, "could not send statement: %s", PQerrorMessage(conn->conn));
        return -1;
    }
    deadline = pgconn_deadline(conn);
    if (pgconn_flush(conn, deadline, err) != 0)
        return -1;
    /* While it runs: wake every interval to tick, until the answer is there. */
    while (tick != NULL && interval_ms > 0 && PQisBusy(conn->conn))
    {
        int64_t now = pm_clock_ms();
        int64_t until = now + interval_ms < deadline ? now + interval_ms : deadline;
        int ready = pgconn_wait(conn, false, until, err);

        if (ready < 0)
            return -1;
        if (ready == 0)
        {
            if (until >= deadline)
                break; /* pgconn_next_result reports the timeout */
            tick(arg);
            continue;
        }
        if (PQconsumeInput(conn->conn) == 0)
        {
            pm_error_set(err, "connection to server lost: %s", PQerrorMessage(conn->conn));
            return -1;
        }
    }
    while ((res = pgconn_next_result(conn, deadline, &failed, err)) != NULL)
    {
        ExecStatusType st = PQresultStatus(res);

        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && rc == 0)
        {
            pgconn_error_from_result(err, res, "statement failed");
            rc = -1;
        }
        PQclear(last);
        last = res;
    }
    PQclear(last);
    if (failed)
        return -1;
    return rc;
}

int
act_index_progress(PgConn *conn, int pid, char *buf, size_t size, PmError *err)
{
    char p[16];
    const char *params[1] = {p};
    PGresult *res;
    int rc = -1;

    snprintf(p, sizeof(p), "%d", pid);
    res = pgconn_exec(conn,
                      "SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total "
                      "FROM pg_catalog.pg_stat_progress_create_index WHERE pid = $1::int4",
                      1, params, err);
    if (res == NULL)
        return -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        pgconn_error_from_result(err, res, "could not read index build progress");
    else if (PQntuples(res) == 0)
        rc = 1;
    else
    {
        double bd = strtod(PQgetvalue(res, 0, 1), NULL), bt = strtod(PQgetvalue(res, 0, 2), NULL);
        double td = strtod(PQgetvalue(res, 0, 3), NULL), tt = strtod(PQgetvalue(res, 0, 4), NULL);
        double pct = bt > 0 ? 100.0 * bd / bt : tt > 0 ? 100.0 * td / tt : -1;

        if (pct >= 0)
            snprintf(buf, size, "%s %.0f%%", PQgetvalue(res, 0, 0), pct);
        else
            snprintf(buf, size, "%s", PQgetvalue(res, 0, 0));
        rc = 0;
    }
    PQclear(res);
    return rc;
}

int
act_index_state(PgConn *conn, const char *schema, const char *index, PmError *err)
{
    const char *params[2] = {schema, index};
    PGresult *res = pgconn_exec(conn, SQL_act_index_valid, 2, params, err);
    int rc = -1;

    if (res == NULL)
        return -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        pgconn_error_from_result(err, res, "could not look up the index");
    else if (PQntuples(res) == 0)
        rc = -2;
    else
        rc = PQgetvalue(res, 0, 0)[0] == 't' ? 1 : 0;
    PQclear(res);
    return rc;
}

int
act_show(PgConn *conn, const char *name, char *buf, size_t size, PmError *err)
{
    const char *params[1] = {name};
    PGresult *res = pgconn_exec(conn, "SELECT pg_catalog.current_setting($1::text)", 1, params, err);
    int rc = -1;

    if (res == NULL)
        return -1;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        pgconn_error_from_result(err, res, "could not read the setting");
    else
    {
        snprintf(buf, size, "%s", PQgetvalue(res, 0, 0));
        rc = 0;
    }
    PQclear(res);
    return rc;
}

int
act_backend_pid(PgConn *conn)
{
    return PQbackendPID(conn->conn);
}
