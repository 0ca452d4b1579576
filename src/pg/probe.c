/*
 * probe.c - the snapshot pipeline.
 *
 * Layout of the pipeline (one flush, one round trip):
 *   server, settings, groups, sessions, tables, SYNC, wal, SYNC
 * The first five run in one implicit transaction, so they see one consistent
 * view of pg_stat_activity.  pg_ls_waldir() may be denied to a role without
 * pg_monitor: it stands after its own sync point, so a denial aborts nothing
 * else and becomes a note in the snapshot.
 */
#include "pg/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pgconn_int.h"
#include "sql.h"
#include "util/clock.h"

static const char *const probe_settings[] = {
    "autovacuum",
    "data_directory",
    "effective_cache_size",
    "idle_in_transaction_session_timeout",
    "idle_session_timeout",
    "log_directory",
    "log_min_duration_statement",
    "logging_collector",
    "maintenance_work_mem",
    "max_connections",
    "max_wal_size",
    "reserved_connections",
    "shared_buffers",
    "shared_preload_libraries",
    "statement_timeout",
    "superuser_reserved_connections",
    "track_activity_query_size",
    "work_mem",
};

ProbeOptions
probe_options_default(void)
{
    ProbeOptions opts = {
        .slow_threshold_s = 5.0,
        .max_sessions = 1000,
        .max_groups = 200,
        .max_tables = 20,
        .query_len = 512,
    };

    return opts;
}

/* Result readers: a NULL field gives NULL / the fallback. */
static const char *
col_str(Arena *arena, const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    return arena_strndup(arena, PQgetvalue(res, row, col), (size_t) PQgetlength(res, row, col));
}

static int64_t
col_int(const PGresult *res, int row, int col, int64_t fallback)
{
    return PQgetisnull(res, row, col) ? fallback : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static double
col_double(const PGresult *res, int row, int col, double fallback)
{
    return PQgetisnull(res, row, col) ? fallback : strtod(PQgetvalue(res, row, col), NULL);
}

static bool
col_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

static int
add_note(Arena *arena, Snapshot *snap, const char *text)
{
    const char **notes = arena_array(arena, snap->n_notes + 1, sizeof(char *));

    if (notes == NULL)
        return -1;
    if (snap->n_notes > 0)
        memcpy(notes, snap->notes, snap->n_notes * sizeof(char *));
    notes[snap->n_notes] = arena_strdup(arena, text);
    if (notes[snap->n_notes] == NULL)
        return -1;
    snap->notes = notes;
    snap->n_notes++;
    return 0;
}

static int
read_server(const PGresult *res, Arena *arena, Snapshot *snap)
{
    if (PQntuples(res) != 1)
        return 0;
    snap->version = col_str(arena, res, 0, 0);
    snap->version_num = (int32_t) col_int(res, 0, 1, 0);
    snap->uptime_s = col_double(res, 0, 2, 0);
    snap->in_recovery = col_bool(res, 0, 3);
    snap->database = col_str(arena, res, 0, 4);
    snap->role = col_str(arena, res, 0, 5);
    snap->is_superuser = col_bool(res, 0, 6);
    snap->has_pg_monitor = col_bool(res, 0, 7);
    snap->own_pid = (int32_t) col_int(res, 0, 8, 0);
    snap->max_connections = col_int(res, 0, 9, 0);
    snap->superuser_reserved = col_int(res, 0, 10, 0);
    snap->reserved = col_int(res, 0, 11, 0);
    snap->n_clients = col_int(res, 0, 12, 0);
    snap->n_active = col_int(res, 0, 13, 0);
    snap->n_idle = col_int(res, 0, 14, 0);
    snap->n_idle_in_transaction = col_int(res, 0, 15, 0);
    snap->n_waiting_lock = col_int(res, 0, 16, 0);
    snap->longest_query_s = col_double(res, 0, 17, 0);
    snap->longest_xact_s = col_double(res, 0, 18, 0);
    return snap->version == NULL ? -1 : 0;
}

static int
read_settings(const PGresult *res, Arena *arena, Snapshot *snap)
{
    int n = PQntuples(res), i;

    snap->settings = arena_array(arena, (size_t) n, sizeof(Setting));
    if (snap->settings == NULL)
        return -1;
    for (i = 0; i < n; i++)
    {
        Setting *s = &snap->settings[i];

        s->name = col_str(arena, res, i, 0);
        s->value = col_str(arena, res, i, 1);
        s->unit = col_str(arena, res, i, 2);
    }
    snap->n_settings = (size_t) n;
    return 0;
}

static int
read_groups(const PGresult *res, Arena *arena, Snapshot *snap)
{
    int n = PQntuples(res), i;

    snap->groups = arena_array(arena, (size_t) n, sizeof(BackendGroup));
    if (snap->groups == NULL)
        return -1;
    for (i = 0; i < n; i++)
    {
        BackendGroup *g = &snap->groups[i];

        g->state = col_str(arena, res, i, 0);
        g->application = col_str(arena, res, i, 1);
        g->client = col_str(arena, res, i, 2);
        g->user = col_str(arena, res, i, 3);
        g->count = col_int(res, i, 4, 0);
        g->oldest_state_age_s = col_double(res, i, 5, 0);
    }
    snap->n_groups = (size_t) n;
    return 0;
}

/* "{12,34}" → an array of pids. */
static int
parse_pid_array(Arena *arena, const char *text, int32_t **out, size_t *n_out)
{
    size_t n = 0, cap = 1;
    const char *p;
    int32_t *pids;

    *out = NULL;
    *n_out = 0;
    if (text == NULL)
        return 0;
    for (p = text; *p; p++)
        if (*p == ',')
            cap++;
    pids = arena_array(arena, cap, sizeof(int32_t));
    if (pids == NULL)
        return -1;
    for (p = text; *p;)
    {
        char *end;
        long v;

        if (*p < '0' || *p > '9')
        {
            p++;
            continue;
        }
        v = strtol(p, &end, 10);
        if (n < cap)
            pids[n++] = (int32_t) v;
        p = end;
    }
    *out = pids;
    *n_out = n;
    return 0;
}

static int
read_sessions(const PGresult *res, Arena *arena, Snapshot *snap)
{
    int n = PQntuples(res), i;

    snap->sessions = arena_array(arena, (size_t) n, sizeof(Session));
    if (snap->sessions == NULL)
        return -1;
    for (i = 0; i < n; i++)
    {
        Session *s = &snap->sessions[i];

        s->pid = (int32_t) col_int(res, i, 0, 0);
        s->user = col_str(arena, res, i, 1);
        s->application = col_str(arena, res, i, 2);
        s->client = col_str(arena, res, i, 3);
        s->database = col_str(arena, res, i, 4);
        s->state = col_str(arena, res, i, 5);
        s->backend_start = col_str(arena, res, i, 6);
        s->backend_age_s = col_double(res, i, 7, 0);
        s->xact_age_s = col_double(res, i, 8, -1);
        s->query_age_s = col_double(res, i, 9, -1);
        s->state_age_s = col_double(res, i, 10, -1);
        s->wait_event_type = col_str(arena, res, i, 11);
        s->wait_event = col_str(arena, res, i, 12);
        s->lock_wait_s = col_double(res, i, 13, -1);
        if (parse_pid_array(arena, col_str(arena, res, i, 14), &s->blocked_by, &s->n_blocked_by) !=
            0)
            return -1;
        s->query = col_str(arena, res, i, 15);
    }
    snap->n_sessions = (size_t) n;
    return 0;
}

static int
read_tables(const PGresult *res, Arena *arena, Snapshot *snap)
{
    int n = PQntuples(res), i;

    snap->tables = arena_array(arena, (size_t) n, sizeof(TableStat));
    if (snap->tables == NULL)
        return -1;
    for (i = 0; i < n; i++)
    {
        TableStat *t = &snap->tables[i];

        t->oid = (uint32_t) col_int(res, i, 0, 0);
        t->schema = col_str(arena, res, i, 1);
        t->name = col_str(arena, res, i, 2);
        t->n_live_tup = col_int(res, i, 3, 0);
        t->n_dead_tup = col_int(res, i, 4, 0);
        t->n_mod_since_analyze = col_int(res, i, 5, 0);
        t->seq_scan = col_int(res, i, 6, 0);
        t->seq_tup_read = col_int(res, i, 7, 0);
        t->idx_scan = col_int(res, i, 8, -1);
        t->size_bytes = col_int(res, i, 9, 0);
        t->last_analyze_age_s = col_double(res, i, 10, -1);
        t->last_vacuum_age_s = col_double(res, i, 11, -1);
    }
    snap->n_tables = (size_t) n;
    return 0;
}

static int
read_wal(const PGresult *res, Snapshot *snap)
{
    if (PQntuples(res) == 1)
    {
        snap->wal_files = col_int(res, 0, 0, 0);
        snap->wal_bytes = col_int(res, 0, 1, -1);
    }
    return 0;
}

typedef int (*Reader)(const PGresult *res, Arena *arena, Snapshot *snap);

static int
read_wal_step(const PGresult *res, Arena *arena, Snapshot *snap)
{
    (void) arena;
    return read_wal(res, snap);
}

/* One step of the pipeline: a statement and its reader, or a sync point. */
typedef struct
{
    const char *name; /* for messages; NULL marks a sync point */
    const char *sql;
    Reader reader;
    bool optional; /* a failure becomes a note, not a failed snapshot */
    bool ping;     /* part of the short probe of `pgmedic status` */
} Step;

static const Step steps[] = {
    {"server", SQL_probe_server, read_server, false, true},
    {"settings", SQL_probe_settings, read_settings, false, false},
    {"groups", SQL_probe_groups, read_groups, false, false},
    {"sessions", SQL_probe_sessions, read_sessions, false, false},
    {"tables", SQL_probe_tables, read_tables, false, false},
    {NULL, NULL, NULL, false, true},
    {"wal", SQL_probe_wal, read_wal_step, true, false},
    {NULL, NULL, NULL, false, false},
};

/* The note for an optional step that failed, naming what to grant. */
static int
note_denied(Arena *arena, Snapshot *snap, const char *step, const PGresult *res)
{
    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    char note[512];

    if (sqlstate != NULL && strcmp(sqlstate, "42501") == 0)
        snprintf(note, sizeof(note),
                 "%s not collected: %s; grant it with: GRANT pg_monitor TO %s", step,
                 msg ? msg : "permission denied", snap->role ? snap->role : "this role");
    else
        snprintf(note, sizeof(note), "%s not collected: %s", step, msg ? msg : "error");
    return add_note(arena, snap, note);
}

/* Marks the snapshot as failed after the connection was made. */
static void
fail_snapshot(Arena *arena, Snapshot *snap, ConnFailure failure, const char *message)
{
    snap->failure = failure;
    snap->failure_message = arena_strdup(arena, message);
}

int
probe_run(PgConn *pc, const ProbeOptions *opts, Arena *arena, Snapshot *snap, PmError *err)
{
    PGconn *conn = pc->conn;
    char p_slow[32], p_len[16], p_max_sessions[16], p_max_groups[16], p_max_tables[16];
    char settings_array[1024];
    const char *params[3];
    double started = pm_clock_s();
    int64_t deadline = pm_clock_ms() + pc->query_timeout_ms + 1000;
    PmError qerr;
    size_t i;
    bool failed;

    snprintf(p_slow, sizeof(p_slow), "%.3f", opts->slow_threshold_s);
    snprintf(p_len, sizeof(p_len), "%d", opts->query_len);
    snprintf(p_max_sessions, sizeof(p_max_sessions), "%d", opts->max_sessions);
    snprintf(p_max_groups, sizeof(p_max_groups), "%d", opts->max_groups);
    snprintf(p_max_tables, sizeof(p_max_tables), "%d", opts->max_tables);
    {
        size_t len = 0;

        settings_array[len++] = '{';
        for (i = 0; i < PM_LENGTHOF(probe_settings); i++)
            len += (size_t) snprintf(settings_array + len, sizeof(settings_array) - len, "%s%s",
                                     i ? "," : "", probe_settings[i]);
        snprintf(settings_array + len, sizeof(settings_array) - len, "}");
    }

    snap->wal_bytes = -1;
    snap->wal_files = -1;
    pm_error_clear(&qerr);

    if (!PQenterPipelineMode(conn))
    {
        fail_snapshot(arena, snap, CONN_ERROR, PQerrorMessage(conn));
        return 0;
    }
    for (i = 0; i < PM_LENGTHOF(steps); i++)
    {
        const Step *step = &steps[i];
        int n = 0, ok;

        if (opts->ping_only && !step->ping)
            continue;
        if (step->name == NULL)
        {
            ok = PQpipelineSync(conn);
        }
        else
        {
            if (step->reader == read_settings)
                params[n++] = settings_array;
            else if (step->reader == read_groups)
                params[n++] = p_max_groups;
            else if (step->reader == read_sessions)
            {
                params[n++] = p_slow;
                params[n++] = p_len;
                params[n++] = p_max_sessions;
            }
            else if (step->reader == read_tables)
                params[n++] = p_max_tables;
            ok = PQsendQueryParams(conn, step->sql, n, NULL, n ? params : NULL, NULL, NULL, 0);
        }
        if (!ok)
        {
            fail_snapshot(arena, snap, CONN_ERROR, PQerrorMessage(conn));
            return 0;
        }
    }
    if (pgconn_flush(pc, deadline, &qerr) != 0)
    {
        fail_snapshot(arena, snap, CONN_TIMEOUT, qerr.message);
        return 0;
    }

    for (i = 0; i < PM_LENGTHOF(steps); i++)
    {
        const Step *step = &steps[i];
        PGresult *res;
        ExecStatusType status;
        int rc = 0;

        if (opts->ping_only && !step->ping)
            continue;
        res = pgconn_next_result(pc, deadline, &failed, &qerr);
        status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

        if (res == NULL)
        {
            /* A deadline or a lost connection: the server stopped answering. */
            fail_snapshot(arena, snap,
                          strstr(qerr.message, "did not answer") ? CONN_TIMEOUT : CONN_SERVER_DOWN,
                          failed ? qerr.message : "connection to server lost mid-snapshot");
            return 0;
        }
        if (step->name == NULL)
        {
            PQclear(res);
            if (status != PGRES_PIPELINE_SYNC)
            {
                fail_snapshot(arena, snap, CONN_ERROR, "unexpected result in pipeline");
                return 0;
            }
            continue;
        }
        if (status == PGRES_TUPLES_OK)
            rc = step->reader(res, arena, snap);
        else if (step->optional && status == PGRES_FATAL_ERROR)
            rc = note_denied(arena, snap, step->name, res);
        else if (status == PGRES_FATAL_ERROR)
        {
            const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
            char msg[600];

            pgconn_error_from_result(&qerr, res, step->name);
            snprintf(msg, sizeof(msg), "snapshot query failed: %s", qerr.message);
            /* 57014: statement_timeout; the server is alive but too slow. */
            fail_snapshot(arena, snap,
                          sqlstate && strcmp(sqlstate, "57014") == 0 ? CONN_TIMEOUT : CONN_ERROR,
                          msg);
        }
        PQclear(res);
        if (rc != 0)
        {
            pm_error_set(err, "out of memory");
            return -1;
        }
        /* Each statement's results end with a NULL. */
        res = pgconn_next_result(pc, deadline, &failed, &qerr);
        if (res != NULL)
        {
            PQclear(res);
            fail_snapshot(arena, snap, CONN_ERROR, "unexpected extra result in pipeline");
            return 0;
        }
        if (failed)
        {
            fail_snapshot(arena, snap, CONN_SERVER_DOWN, qerr.message);
            return 0;
        }
    }
    PQexitPipelineMode(conn);

    if (snap->failure == CONN_OK && !opts->ping_only && !snap->has_pg_monitor && !snap->is_superuser)
    {
        char note[256];

        snprintf(note, sizeof(note),
                 "role \"%s\" is not a member of pg_monitor: other roles' queries are hidden; "
                 "grant it with: GRANT pg_monitor TO %s",
                 snap->role ? snap->role : "?", snap->role ? snap->role : "?");
        if (add_note(arena, snap, note) != 0)
        {
            pm_error_set(err, "out of memory");
            return -1;
        }
    }
    snap->probe_s = pm_clock_s() - started;
    return 0;
}

int
probe_snapshot(const ConnSpec *spec, const ConnOptions *conn_opts, const ProbeOptions *opts,
               Arena *arena, Snapshot *snap, PmError *err)
{
    ConnAttempt attempt;
    PgConn *conn;
    double started = pm_clock_s();
    int rc = 0;

    memset(snap, 0, sizeof(*snap));
    snap->taken_at = pm_wall_time();
    snap->wal_bytes = -1;
    snap->wal_files = -1;
    conn = pgconn_open(spec, conn_opts, &attempt);
    snap->target = arena_strdup(arena, attempt.label);
    snap->connect_s = attempt.connect_s;
    if (conn == NULL)
    {
        snap->failure = attempt.failure;
        snap->failure_message = arena_strdup(arena, attempt.message);
        snap->probe_s = pm_clock_s() - started;
        if (snap->target == NULL || snap->failure_message == NULL)
        {
            pm_error_set(err, "out of memory");
            return -1;
        }
        return 0;
    }
    rc = probe_run(conn, opts, arena, snap, err);
    pgconn_close(conn);
    snap->probe_s = pm_clock_s() - started;
    return rc;
}
