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
#include "util/log.h"

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
        .idle_threshold_s = 3600.0,
        .max_sessions = 1000,
        .max_groups = 200,
        .max_tables = 20,
        .max_statements = 20,
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
/* Columns by name: the SQL may reorder them. */
#define COL(name) PQfnumber(res, name)
    if (PQntuples(res) != 1 || COL("checksum_failures") < 0)
        return 0;
    snap->version = col_str(arena, res, 0, COL("version"));
    snap->version_num = (int32_t) col_int(res, 0, COL("version_num"), 0);
    snap->uptime_s = col_double(res, 0, COL("uptime_s"), 0);
    snap->in_recovery = col_bool(res, 0, COL("in_recovery"));
    snap->database = col_str(arena, res, 0, COL("database"));
    snap->role = col_str(arena, res, 0, COL("role"));
    snap->has_pg_monitor = col_bool(res, 0, COL("has_pg_monitor"));
    snap->own_pid = (int32_t) col_int(res, 0, COL("own_pid"), 0);
    snap->max_connections = col_int(res, 0, COL("max_connections"), 0);
    snap->superuser_reserved = col_int(res, 0, COL("superuser_reserved"), 0);
    snap->reserved = col_int(res, 0, COL("reserved"), 0);
    snap->n_clients = col_int(res, 0, COL("n_clients"), 0);
    snap->n_active = col_int(res, 0, COL("n_active"), 0);
    snap->n_idle = col_int(res, 0, COL("n_idle"), 0);
    snap->n_idle_in_transaction = col_int(res, 0, COL("n_idle_in_transaction"), 0);
    snap->n_waiting_lock = col_int(res, 0, COL("n_waiting_lock"), 0);
    snap->longest_query_s = col_double(res, 0, COL("longest_query_s"), 0);
    snap->longest_xact_s = col_double(res, 0, COL("longest_xact_s"), 0);
    snap->longest_query_pid = (int32_t) col_int(res, 0, COL("longest_query_pid"), 0);
    snap->longest_query_application = col_str(arena, res, 0, COL("longest_query_application"));
    snap->longest_query_waiting = col_bool(res, 0, COL("longest_query_waiting"));
    snap->checksum_failures = col_int(res, 0, COL("checksum_failures"), 0);
#undef COL
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

/*
 * A text[] in its external form, {a,"b c",NULL}, into strings.  Elements may
 * be double-quoted with backslash escapes; NULL elements are dropped.
 */
static int
parse_text_array(Arena *arena, const char *text, const char ***out, size_t *n_out)
{
    size_t cap = 1, n = 0;
    const char *p;
    const char **items;
    char *buf;

    *out = NULL;
    *n_out = 0;
    if (text == NULL || text[0] != '{')
        return 0;
    for (p = text; *p; p++)
        if (*p == ',')
            cap++;
    items = arena_array(arena, cap, sizeof(char *));
    buf = arena_alloc(arena, strlen(text) + 1);
    if (items == NULL || buf == NULL)
        return -1;
    p = text + 1;
    while (*p && *p != '}' && n < cap)
    {
        char *start = buf;
        bool quoted = *p == '"';

        if (quoted)
        {
            p++;
            while (*p && *p != '"')
            {
                if (*p == '\\' && p[1])
                    p++;
                *buf++ = *p++;
            }
            if (*p == '"')
                p++;
        }
        else
            while (*p && *p != ',' && *p != '}')
                *buf++ = *p++;
        *buf++ = '\0';
        if (quoted || strcmp(start, "NULL") != 0)
            items[n++] = start;
        if (*p == ',')
            p++;
    }
    *out = items;
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
        s->query_start = col_str(arena, res, i, 16);
        s->xact_start = col_str(arena, res, i, 17);
        s->is_superuser = col_bool(res, i, 18);
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
        if (parse_text_array(arena, col_str(arena, res, i, 12), &t->indexed_columns,
                             &t->n_indexed_columns) != 0)
            return -1;
        t->autovacuum_disabled = col_bool(res, i, 13);
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
read_statements(const PGresult *res, Arena *arena, Snapshot *snap)
{
    int n = PQntuples(res), i;

    snap->statements = arena_array(arena, (size_t) n, sizeof(Statement));
    if (snap->statements == NULL)
        return -1;
    for (i = 0; i < n; i++)
    {
        Statement *st = &snap->statements[i];

        st->queryid = col_int(res, i, 0, 0);
        st->query = col_str(arena, res, i, 1);
        st->calls = col_int(res, i, 2, 0);
        st->total_exec_ms = col_double(res, i, 3, 0);
        st->mean_exec_ms = col_double(res, i, 4, 0);
        st->rows = col_int(res, i, 5, 0);
        st->shared_blks_read = col_int(res, i, 6, 0);
        st->shared_blks_hit = col_int(res, i, 7, 0);
    }
    snap->n_statements = (size_t) n;
    snap->has_statements = true;
    return 0;
}

static int
read_logfile(const PGresult *res, Arena *arena, Snapshot *snap)
{
    if (PQntuples(res) == 1)
        snap->server_log_file = col_str(arena, res, 0, 0);
    return 0;
}

static int
read_wal_step(const PGresult *res, Arena *arena, Snapshot *snap)
{
    (void) arena;
    return read_wal(res, snap);
}

/*
 * One statement of the probe.  Batch 1 always goes out (its first step alone
 * for `pgmedic status` and `check`); batch 2 holds the extras of snapshot and triage,
 * each sent only when batch 1 said it can run without an error, so a probe
 * never writes an ERROR into the server's log.
 */
typedef struct
{
    const char *name;
    Reader reader;
    int batch;
} Step;

static int
read_nothing(const PGresult *res, Arena *arena, Snapshot *snap)
{
    (void) res;
    (void) arena;
    (void) snap;
    return 0;
}

enum
{
    STEP_SERVER,
    STEP_STATS_MODE,
    STEP_EXTRAS,
    STEP_SETTINGS,
    STEP_GROUPS,
    STEP_SESSIONS,
    STEP_TABLES,
    STEP_WAL,
    STEP_STATEMENTS,
    STEP_LOGFILE,
    N_STEPS
};

static const Step steps[N_STEPS] = {
    [STEP_SERVER] = {"server", read_server, 1},
    [STEP_STATS_MODE] = {"stats_fetch_consistency", read_nothing, 1},
    [STEP_EXTRAS] = {"extras", read_nothing, 1}, /* read into Extras by run_batch */
    [STEP_SETTINGS] = {"settings", read_settings, 1},
    [STEP_GROUPS] = {"groups", read_groups, 1},
    [STEP_SESSIONS] = {"sessions", read_sessions, 1},
    [STEP_TABLES] = {"tables", read_tables, 1},
    [STEP_WAL] = {"wal", read_wal_step, 2},
    [STEP_STATEMENTS] = {"statements", read_statements, 2},
    [STEP_LOGFILE] = {"log file", read_logfile, 2},
};

/* What batch 1 found out about the extras (probe_extras). */
typedef struct
{
    bool can_ls_waldir;
    bool can_current_logfile;
    const char *statements_schema; /* NULL when pg_stat_statements is absent or not loaded */
} Extras;

/* A step ready to send: its text and parameters. */
typedef struct
{
    int step;
    const char *sql;
    int n_params;
    const char *params[4];
} Outgoing;

/* Marks the snapshot as failed after the connection was made. */
static void
fail_snapshot(Arena *arena, Snapshot *snap, ConnFailure failure, const char *message)
{
    snap->failure = failure;
    snap->failure_message = arena_strdup(arena, message);
}

/*
 * Sends the statements then one sync (one implicit transaction: one view of
 * pg_stat_activity), flushes once and reads every answer under the deadline.
 * 1 when the batch ran, 0 when the snapshot failed (snap says why), -1 when
 * out of memory.
 */
static int
run_batch(PgConn *pc, const Outgoing *out, size_t n, int64_t deadline, Arena *arena,
          Snapshot *snap, Extras *extras)
{
    PGconn *conn = pc->conn;
    PmError qerr;
    size_t i;
    bool failed;

    pm_error_clear(&qerr);
    for (i = 0; i < n; i++)
    {
        pm_log_debug("probe: sending %s", steps[out[i].step].name);
        if (!PQsendQueryParams(conn, out[i].sql, out[i].n_params, NULL,
                               out[i].n_params ? out[i].params : NULL, NULL, NULL, 0))
        {
            fail_snapshot(arena, snap, CONN_ERROR, PQerrorMessage(conn));
            return 0;
        }
    }
    if (!PQpipelineSync(conn) || pgconn_flush(pc, deadline, &qerr) != 0)
    {
        fail_snapshot(arena, snap, CONN_TIMEOUT, qerr.message[0] ? qerr.message : PQerrorMessage(conn));
        return 0;
    }
    for (i = 0; i <= n; i++)
    {
        const Step *step = i < n ? &steps[out[i].step] : NULL;
        PGresult *res = pgconn_next_result(pc, deadline, &failed, &qerr);
        ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        int rc = 0;

        if (res == NULL)
        {
            /* A deadline or a lost connection: the server stopped answering. */
            fail_snapshot(arena, snap,
                          strstr(qerr.message, "did not answer") ? CONN_TIMEOUT : CONN_SERVER_DOWN,
                          failed ? qerr.message : "connection to server lost mid-snapshot");
            return 0;
        }
        if (step == NULL)
        {
            PQclear(res);
            if (status != PGRES_PIPELINE_SYNC)
            {
                fail_snapshot(arena, snap, CONN_ERROR, "unexpected result in pipeline");
                return 0;
            }
            break;
        }
        if (status == PGRES_TUPLES_OK)
        {
            rc = step->reader(res, arena, snap);
            if (rc == 0 && out[i].step == STEP_EXTRAS && extras != NULL && PQntuples(res) == 1)
            {
                extras->can_ls_waldir = col_bool(res, 0, 0);
                extras->can_current_logfile = col_bool(res, 0, 1);
                extras->statements_schema = col_str(arena, res, 0, 2);
            }
        }
        else if (status == PGRES_FATAL_ERROR && step->batch == 2)
        {
            char note[600];

            pgconn_error_from_result(&qerr, res, step->name);
            snprintf(note, sizeof(note), "%s not collected: %s", step->name, qerr.message);
            rc = add_note(arena, snap, note);
        }
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
            return -1;
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
    return 1;
}

/* "FROM @SCHEMA@.pg_stat_statements" with the schema quoted as an identifier. */
static const char *
statements_sql(PgConn *pc, Arena *arena, const char *schema)
{
    const char *at = strstr(SQL_probe_statements, "@SCHEMA@");
    char *quoted, *sql;
    size_t before, qlen, after;

    if (at == NULL)
        return NULL;
    quoted = PQescapeIdentifier(pc->conn, schema, strlen(schema));
    if (quoted == NULL)
        return NULL;
    before = (size_t) (at - SQL_probe_statements);
    qlen = strlen(quoted);
    after = strlen(at + 8);
    sql = arena_alloc(arena, before + qlen + after + 1);
    if (sql != NULL)
    {
        memcpy(sql, SQL_probe_statements, before);
        memcpy(sql + before, quoted, qlen);
        memcpy(sql + before + qlen, at + 8, after + 1);
    }
    PQfreemem(quoted);
    return sql;
}

int
probe_run(PgConn *pc, const ProbeOptions *opts, Arena *arena, Snapshot *snap, PmError *err)
{
    PGconn *conn = pc->conn;
    char p_slow[32], p_idle[32], p_len[16], p_max_sessions[16], p_max_groups[16],
        p_max_tables[16], p_max_statements[16];
    char settings_array[1024];
    double started = pm_clock_s();
    int64_t deadline = pm_clock_ms() + pc->query_timeout_ms + 1000;
    Outgoing out[N_STEPS];
    Extras extras = {false, false, NULL};
    size_t n = 0;
    int rc;

    snprintf(p_slow, sizeof(p_slow), "%.3f", opts->slow_threshold_s);
    snprintf(p_idle, sizeof(p_idle), "%.3f", opts->idle_threshold_s);
    snprintf(p_max_statements, sizeof(p_max_statements), "%d", opts->max_statements);
    snprintf(p_len, sizeof(p_len), "%d", opts->query_len);
    snprintf(p_max_sessions, sizeof(p_max_sessions), "%d", opts->max_sessions);
    snprintf(p_max_groups, sizeof(p_max_groups), "%d", opts->max_groups);
    snprintf(p_max_tables, sizeof(p_max_tables), "%d", opts->max_tables);
    {
        size_t len = 0, i;

        settings_array[len++] = '{';
        for (i = 0; i < PM_LENGTHOF(probe_settings); i++)
            len += (size_t) snprintf(settings_array + len, sizeof(settings_array) - len, "%s%s",
                                     i ? "," : "", probe_settings[i]);
        snprintf(settings_array + len, sizeof(settings_array) - len, "}");
    }

    snap->wal_bytes = -1;
    snap->wal_files = -1;
    if (!PQenterPipelineMode(conn))
    {
        fail_snapshot(arena, snap, CONN_ERROR, PQerrorMessage(conn));
        return 0;
    }

    /* Batch 1: who the server is and what it is doing. */
    memset(out, 0, sizeof(out));
    out[n++] = (Outgoing){STEP_SERVER, SQL_probe_server, 0, {NULL}};
    if (!opts->ping_only)
    {
        out[n++] = (Outgoing){STEP_SETTINGS, SQL_probe_settings, 1, {settings_array}};
        out[n++] = (Outgoing){STEP_GROUPS, SQL_probe_groups, 1, {p_max_groups}};
        out[n++] = (Outgoing){STEP_SESSIONS, SQL_probe_sessions, 4,
                              {p_slow, p_len, p_max_sessions, p_idle}};
        /*
         * PostgreSQL 15 caches every table's statistics entry on the first
         * pg_stat_get_* call of a transaction; the probe reads each once, so
         * reading them straight from shared memory is cheaper (10,000
         * tables: -1.2 ms).  The setting does not exist before 15.
         */
        if (PQserverVersion(conn) >= 150000)
            out[n++] = (Outgoing){STEP_STATS_MODE, "SET stats_fetch_consistency = none", 0, {NULL}};
        out[n++] = (Outgoing){STEP_TABLES, SQL_probe_tables, 1, {p_max_tables}};
        if (opts->extras)
            out[n++] = (Outgoing){STEP_EXTRAS, SQL_probe_extras, 0, {NULL}};
    }
    rc = run_batch(pc, out, n, deadline, arena, snap, &extras);
    {
        /* Reported by the server at connection time: no catalog lookup. */
        const char *su = PQparameterStatus(conn, "is_superuser");

        snap->is_superuser = su != NULL && strcmp(su, "on") == 0;
    }

    /* Batch 2: the extras, only what can run without an error. */
    if (rc == 1 && opts->extras && !opts->ping_only)
    {
        n = 0;
        if (extras.can_ls_waldir)
            out[n++] = (Outgoing){STEP_WAL, SQL_probe_wal, 0, {NULL}};
        else if (add_note(arena, snap, "WAL size not collected: permission denied for function "
                                       "pg_ls_waldir; grant pg_monitor to this role") != 0)
            rc = -1;
        if (extras.statements_schema != NULL)
        {
            const char *sql = statements_sql(pc, arena, extras.statements_schema);

            if (sql == NULL)
                rc = -1;
            else
                out[n++] = (Outgoing){STEP_STATEMENTS, sql, 2, {p_len, p_max_statements}};
        }
        else if (add_note(arena, snap,
                          "statements not collected: pg_stat_statements is not installed in this "
                          "database or not in shared_preload_libraries; install it to name the "
                          "queries behind slow tables") != 0)
            rc = -1;
        if (extras.can_current_logfile)
            out[n++] = (Outgoing){STEP_LOGFILE, SQL_probe_logfile, 0, {NULL}};
        if (rc == 1 && n > 0)
            rc = run_batch(pc, out, n, deadline, arena, snap, NULL);
    }
    if (rc >= 0)
        PQexitPipelineMode(conn);
    if (rc < 0)
    {
        pm_error_set(err, "out of memory");
        return -1;
    }

    if (snap->failure == CONN_OK && !snap->has_pg_monitor && !snap->is_superuser)
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
