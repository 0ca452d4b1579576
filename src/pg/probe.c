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

#include <errno.h>
#include <poll.h>
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
    STEP_ENCODING,
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
    [STEP_ENCODING] = {"client_encoding", read_nothing, 1},
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
static void one_line(char *dst, size_t size, const char *text);

static void
fail_snapshot(Arena *arena, Snapshot *snap, ConnFailure failure, const char *message)
{
    char line[1024];

    /* Issue 8: libpq's texts span lines; the snapshot's message is one (JSON, Nagios, logs). */
    one_line(line, sizeof(line), message);
    snap->failure = failure;
    snap->failure_message = arena_strdup(arena, line);
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

/*
 * The probe as a state machine: every entry point (probe_job_*, probe_run,
 * probe_snapshot) goes through it, so there is one way of probing.  Each
 * phase does what it can without waiting and either moves on or says what
 * to wait for.  Batches are those described above: each is sent whole (its
 * statements, then one sync), flushed, then read answer by answer, and each
 * statement's results end with a NULL from PQgetResult().
 */
typedef enum
{
    JOB_CONNECT, /* a new connection is being made */
    JOB_REUSE,   /* the connection came from the slot: is it still alive? */
    JOB_SEND,    /* the next batch is to be queued */
    JOB_FLUSH,   /* queued, not all of it sent yet */
    JOB_READ,    /* reading the answers */
    JOB_DONE
} JobPhase;

struct ProbeJob
{
    PgConn **slot; /* where a healthy connection goes back; NULL when borrowed */
    PgConn *pc;    /* the job's while it runs; NULL once back in *slot or closed */
    bool borrowed; /* probe_run: the caller's connection, never closed here */
    bool reused;   /* taken from *slot rather than opened */
    const ConnSpec *spec;
    ProbeOptions opts;
    Arena *arena;
    Snapshot *snap;
    ConnAttempt attempt;
    JobPhase phase;
    bool nomem;
    bool queries_begun; /* batch 1 was (being) sent: the server's parameters are known */
    int batch;          /* 1, then 2 */
    Outgoing out[N_STEPS];
    size_t n_out;
    size_t next;   /* the answer expected: out[next]'s, or the sync's when next == n_out */
    bool want_end; /* out[next - 1]'s result was read: the NULL that ends it comes next */
    Extras extras;
    double started_s;
    int64_t deadline_ms;       /* connect_timeout + query_timeout + 1 s from the start */
    int64_t phase_deadline_ms; /* the connect's, then the queries' (never past deadline_ms) */
    /* The statements' parameters, formatted once: out[] points into these. */
    char p_slow[32], p_idle[32], p_len[16], p_max_sessions[16], p_max_groups[16], p_max_tables[16],
        p_max_statements[16];
    char settings_array[1024];
};

/* 1 when fd is ready for events now (or in error), 0 when not, -1 when poll() failed. */
static int
ready_now(int fd, short events)
{
    struct pollfd pfd;
    int rc;

    pfd.fd = fd;
    pfd.events = events;
    pfd.revents = 0;
    do
        rc = poll(&pfd, 1, 0);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -1;
    return rc > 0 && pfd.revents != 0;
}

/* libpq's text made one line, without its "FATAL:" tag. */
static void
one_line(char *dst, size_t size, const char *text)
{
    size_t n = 0;
    const char *p;

    if (strncmp(text, "FATAL:", 6) == 0 || strncmp(text, "ERROR:", 6) == 0)
        text += 6;
    while (*text == ' ')
        text++;
    for (p = text; *p && n + 1 < size; p++)
    {
        bool space = *p == '\n' || *p == '\t' || *p == '\r' || *p == ' ';

        if (!space)
            dst[n++] = *p;
        else if (n > 0 && dst[n - 1] != ' ')
            dst[n++] = ' ';
    }
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

static void
note_superuser(ProbeJob *job)
{
    /* Reported by the server at connection time: no catalog lookup. */
    const char *su = PQparameterStatus(job->pc->conn, "is_superuser");

    job->snap->is_superuser = su != NULL && strcmp(su, "on") == 0;
}

/*
 * Ends the job.  A healthy connection goes back to the slot; any other is
 * closed (a borrowed one is left to its owner), so that the next probe of
 * the target starts from a clean connection.
 */
static void
job_end(ProbeJob *job)
{
    PgConn *pc = job->pc;
    bool keep = !job->nomem && job->snap->failure == CONN_OK;

    if (pc != NULL && job->queries_begun)
    {
        note_superuser(job);
        /*
         * Out of pipeline mode, the connection takes ordinary queries again:
         * the owner's next statement, or the next probe.
         */
        if ((keep || (job->borrowed && !job->nomem)) &&
            PQpipelineStatus(pc->conn) != PQ_PIPELINE_OFF && !PQexitPipelineMode(pc->conn))
        {
            pm_log_debug("probe: could not leave pipeline mode: %s", PQerrorMessage(pc->conn));
            keep = false;
        }
    }
    if (!job->borrowed)
    {
        if (keep && pc != NULL)
        {
            /* What the server says between probes is kept, for the next one to report. */
            pc->notice[0] = '\0';
            pgconn_capture_notices(pc);
            *job->slot = pc;
        }
        else
            pgconn_close(pc);
    }
    job->pc = NULL;
    job->snap->probe_s = pm_clock_s() - job->started_s;
    job->phase = JOB_DONE;
}

/*
 * The snapshot failed after the connection was made: record why and end.  A
 * reused connection the server has closed (a restart, a terminated backend)
 * is the server going away under us, whatever step noticed it; the FATAL it
 * sent before closing, when it came, says why.
 */
static void
job_fail(ProbeJob *job, ConnFailure failure, const char *message)
{
    char lost[600];

    if (job->reused && job->pc != NULL && PQstatus(job->pc->conn) == CONNECTION_BAD)
    {
        char why[512];

        one_line(why, sizeof(why), job->pc->notice[0] ? job->pc->notice : message);
        if (strncmp(why, "connection to server lost", 25) == 0)
            snprintf(lost, sizeof(lost), "%s", why);
        else
            snprintf(lost, sizeof(lost), "connection to server lost: %s", why);
        failure = CONN_SERVER_DOWN;
        message = lost;
    }
    fail_snapshot(job->arena, job->snap, failure, message);
    if (job->snap->failure_message == NULL)
        job->nomem = true;
    job_end(job);
}

/* The connection could not be made: the snapshot says why, as pgconn_open() would. */
static void
connect_failed(ProbeJob *job)
{
    Snapshot *snap = job->snap;

    pgconn_close(job->pc);
    job->pc = NULL;
    snap->failure = job->attempt.failure;
    snap->failure_message = arena_strdup(job->arena, job->attempt.message);
    snap->target = arena_strdup(job->arena, job->attempt.label);
    snap->connect_s = job->attempt.connect_s;
    if (snap->failure_message == NULL || snap->target == NULL)
        job->nomem = true;
    job_end(job);
}

/* Batch 1: who the server is and what it is doing. */
static void
plan_batch1(ProbeJob *job)
{
    Outgoing *out = job->out;
    size_t n = 0;

    memset(job->out, 0, sizeof(job->out));
    {
        /*
         * A SQL_ASCII database stores any bytes; converting them to the UTF8
         * pgmedic asks for fails the whole statement ("invalid byte sequence"),
         * so one table or application name could make the server look
         * unreachable.  Take the bytes as they are: the renderers replace
         * what is not UTF-8.
         */
        const char *enc = PQparameterStatus(job->pc->conn, "server_encoding");

        if (enc != NULL && strcmp(enc, "SQL_ASCII") == 0)
            out[n++] = (Outgoing){STEP_ENCODING, "SET client_encoding = 'SQL_ASCII'", 0, {NULL}};
    }
    out[n++] = (Outgoing){STEP_SERVER, SQL_probe_server, 0, {NULL}};
    if (!job->opts.ping_only)
    {
        out[n++] = (Outgoing){STEP_SETTINGS, SQL_probe_settings, 1, {job->settings_array}};
        out[n++] = (Outgoing){STEP_GROUPS, SQL_probe_groups, 1, {job->p_max_groups}};
        out[n++] = (Outgoing){STEP_SESSIONS, SQL_probe_sessions, 4,
                              {job->p_slow, job->p_len, job->p_max_sessions, job->p_idle}};
        /*
         * PostgreSQL 15 caches every table's statistics entry on the first
         * pg_stat_get_* call of a transaction; the probe reads each once, so
         * reading them straight from shared memory is cheaper (10,000
         * tables: -1.2 ms).  The setting does not exist before 15.  Sent
         * again on a reused connection: harmless.
         */
        if (job->opts.extras)
            out[n++] = (Outgoing){STEP_EXTRAS, SQL_probe_extras, 0, {NULL}};
        if (PQserverVersion(job->pc->conn) >= 150000)
            out[n++] = (Outgoing){STEP_STATS_MODE, "SET stats_fetch_consistency = none", 0, {NULL}};
        /*
         * Last in the batch (issue 8): pg_table_size() takes a lock on each
         * picked table, so a table someone holds ACCESS EXCLUSIVE (a
         * migration, VACUUM FULL, TRUNCATE in a transaction) makes this step
         * fail at lock_timeout.  Nothing stands behind it to be aborted, and
         * take_result() turns that failure into a note.
         */
        out[n++] = (Outgoing){STEP_TABLES, SQL_probe_tables, 1, {job->p_max_tables}};
    }
    job->n_out = n;
    job->batch = 1;
}

/* Batch 2: the extras, only what batch 1 said can run without an error.  -1 out of memory. */
static int
plan_batch2(ProbeJob *job)
{
    Outgoing *out = job->out;
    size_t n = 0;

    if (job->extras.can_ls_waldir)
        out[n++] = (Outgoing){STEP_WAL, SQL_probe_wal, 0, {NULL}};
    else if (add_note(job->arena, job->snap,
                      "WAL size not collected: permission denied for function "
                      "pg_ls_waldir; grant pg_monitor to this role") != 0)
        return -1;
    if (job->extras.statements_schema != NULL)
    {
        const char *sql = statements_sql(job->pc, job->arena, job->extras.statements_schema);

        if (sql == NULL)
            return -1;
        out[n++] = (Outgoing){STEP_STATEMENTS, sql, 2, {job->p_len, job->p_max_statements}};
    }
    else if (add_note(job->arena, job->snap,
                      "statements not collected: pg_stat_statements is not installed in this "
                      "database or not in shared_preload_libraries; install it to name the "
                      "queries behind slow tables") != 0)
        return -1;
    if (job->extras.can_current_logfile)
        out[n++] = (Outgoing){STEP_LOGFILE, SQL_probe_logfile, 0, {NULL}};
    job->n_out = n;
    job->batch = 2;
    return 0;
}

/* A connection to query: the connection-level facts, then batch 1. */
static void
begin_queries(ProbeJob *job)
{
    PgConn *pc = job->pc;
    Snapshot *snap = job->snap;
    int64_t query_deadline = pm_clock_ms() + pc->query_timeout_ms + 1000;

    if (!job->borrowed && snap->target == NULL)
    {
        snap->target = arena_strdup(job->arena, pc->label);
        snap->connect_s = job->attempt.connect_s;
        if (snap->target == NULL)
        {
            job->nomem = true;
            job_end(job);
            return;
        }
    }
    /*
     * The answers get query_timeout + 1 s from the end of the connect, as
     * they always had: statement_timeout fires first on a server that is
     * only slow.
     */
    job->phase_deadline_ms = query_deadline < job->deadline_ms ? query_deadline : job->deadline_ms;
    snap->wal_bytes = -1;
    snap->wal_files = -1;
    if (!PQenterPipelineMode(pc->conn))
    {
        job_fail(job, CONN_ERROR, PQerrorMessage(pc->conn));
        return;
    }
    job->queries_begun = true;
    plan_batch1(job);
    job->phase = JOB_SEND;
}

/* Each phase: > 0 the PROBE_WANT_* to wait for, 0 when it moved on (or ended). */
static int
step_connect(ProbeJob *job)
{
    PgConn *pc = job->pc;
    bool for_write = pc->poll_status == PGRES_POLLING_WRITING;
    int ready = ready_now(PQsocket(pc->conn), for_write ? POLLOUT : POLLIN);

    if (ready < 0)
    {
        snprintf(job->attempt.message, sizeof(job->attempt.message),
                 "could not wait for the server: %s", strerror(errno));
        job->attempt.failure = CONN_SERVER_DOWN;
        job->attempt.connect_s = pm_clock_s() - pc->connect_started_s;
        connect_failed(job);
        return 0;
    }
    if (ready == 0)
        return for_write ? PROBE_WANT_WRITE : PROBE_WANT_READ;
    switch (pgconn_connect_poll(pc, job->spec, &job->attempt))
    {
        case PGRES_POLLING_OK:
            begin_queries(job);
            break;
        case PGRES_POLLING_FAILED:
            connect_failed(job);
            break;
        default:
            break;
    }
    return 0;
}

/*
 * A connection from the slot may have died since the last probe: the server
 * restarted, or someone terminated the backend.  An idle connection has
 * nothing to read, so anything there is read now: the server's FATAL (a
 * notice, kept by pgconn_capture_notices) and the end of the stream, which
 * marks the connection bad.  Reading stops at a bound: a server that keeps
 * talking to an idle connection is dealt with by the queries' deadline.  The
 * job does not reconnect: the caller retries at the next interval.
 */
static int
step_reuse(ProbeJob *job)
{
    PGconn *conn = job->pc->conn;
    int i;

    /* Connection-level facts: the target as when it connected; no connect time. */
    job->snap->target = arena_strdup(job->arena, job->pc->label);
    job->snap->connect_s = 0.0;
    if (job->snap->target == NULL)
    {
        job->nomem = true;
        job_end(job);
        return 0;
    }
    for (i = 0; i < 8 && PQstatus(conn) == CONNECTION_OK; i++)
    {
        int ready = ready_now(PQsocket(conn), POLLIN);

        if (ready == 0)
            break;
        if (ready < 0 || !PQconsumeInput(conn))
            break;
        (void) PQisBusy(conn); /* parses what came: notices, parameter changes */
    }
    if (PQstatus(conn) != CONNECTION_OK || PQtransactionStatus(conn) != PQTRANS_IDLE)
    {
        job_fail(job, CONN_SERVER_DOWN,
                 PQstatus(conn) != CONNECTION_OK ? PQerrorMessage(conn)
                                                 : "connection to server lost: not idle");
        return 0;
    }
    begin_queries(job);
    return 0;
}

static int
step_send(ProbeJob *job)
{
    PGconn *conn = job->pc->conn;
    size_t i;

    for (i = 0; i < job->n_out; i++)
    {
        const Outgoing *o = &job->out[i];

        pm_log_debug("probe: sending %s", steps[o->step].name);
        if (!PQsendQueryParams(conn, o->sql, o->n_params, NULL, o->n_params ? o->params : NULL,
                               NULL, NULL, 0))
        {
            job_fail(job, CONN_ERROR, PQerrorMessage(conn));
            return 0;
        }
    }
    if (!PQpipelineSync(conn))
    {
        job_fail(job, CONN_TIMEOUT, PQerrorMessage(conn));
        return 0;
    }
    job->next = 0;
    job->want_end = false;
    job->phase = JOB_FLUSH;
    return 0;
}

static int
step_flush(ProbeJob *job)
{
    PGconn *conn = job->pc->conn;
    int rc = PQflush(conn);

    if (rc == 0)
    {
        job->phase = JOB_READ;
        return 0;
    }
    if (rc < 0)
    {
        PmError qerr;

        pm_error_set(&qerr, "could not send to the server: %s", PQerrorMessage(conn));
        job_fail(job, CONN_TIMEOUT, qerr.message);
        return 0;
    }
    /* The server may be waiting for us to read before it reads more. */
    if (!PQconsumeInput(conn))
    {
        job_fail(job, CONN_TIMEOUT, PQerrorMessage(conn));
        return 0;
    }
    return PROBE_WANT_READ | PROBE_WANT_WRITE;
}

/* The sync that ends a batch arrived: batch 2 next, or the end. */
static void
batch_done(ProbeJob *job)
{
    Snapshot *snap = job->snap;

    if (job->batch == 1 && job->opts.extras && !job->opts.ping_only)
    {
        if (plan_batch2(job) != 0)
        {
            job->nomem = true;
            job_end(job);
            return;
        }
        if (job->n_out > 0)
        {
            job->phase = JOB_SEND;
            return;
        }
    }
    if (snap->failure == CONN_OK)
    {
        note_superuser(job);
        if (!snap->has_pg_monitor && !snap->is_superuser)
        {
            char note[512];

            /*
             * Issue 8: without pg_monitor, pg_stat_activity hides the state
             * and the backend type of other roles' sessions, so probe_server
             * counts none of them: "connections 0/97" and no alert on a full
             * server.  The note said only that their queries were hidden.
             */
            snprintf(note, sizeof(note),
                     "role \"%s\" is not a member of pg_monitor: other roles' sessions are hidden "
                     "from it and not counted (connections, slow queries and locks cover its own "
                     "sessions only); grant it with: GRANT pg_monitor TO %s",
                     snap->role ? snap->role : "?", snap->role ? snap->role : "?");
            if (add_note(job->arena, snap, note) != 0)
                job->nomem = true;
        }
    }
    job_end(job);
}

static bool
sqlstate_is(const PGresult *res, const char *sqlstate)
{
    const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return s != NULL && strcmp(s, sqlstate) == 0;
}

/* One statement's answer: into the snapshot, a note (batch 2) or the failure. */
static int
take_result(ProbeJob *job, const Outgoing *o, PGresult *res)
{
    const Step *step = &steps[o->step];
    ExecStatusType status = PQresultStatus(res);
    PmError qerr;

    if (status == PGRES_TUPLES_OK)
    {
        int rc = step->reader(res, job->arena, job->snap);

        if (rc == 0 && o->step == STEP_EXTRAS && PQntuples(res) == 1)
        {
            job->extras.can_ls_waldir = col_bool(res, 0, 0);
            job->extras.can_current_logfile = col_bool(res, 0, 1);
            job->extras.statements_schema = col_str(job->arena, res, 0, 2);
        }
        return rc;
    }
    if (status == PGRES_FATAL_ERROR && step->batch == 2)
    {
        char note[600];

        pgconn_error_from_result(&qerr, res, step->name);
        snprintf(note, sizeof(note), "%s not collected: %s", step->name, qerr.message);
        return add_note(job->arena, job->snap, note);
    }
    if (status == PGRES_FATAL_ERROR && o->step == STEP_TABLES && sqlstate_is(res, "55P03"))
    {
        const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        char note[600];

        /*
         * Issue 8: a lock on one user table (lock_timeout, 55P03) used to fail
         * the whole snapshot as "error": snapshot, triage, fix and serve
         * called a healthy server unreachable for as long as a migration held
         * its lock.  The rest of the snapshot is complete (this step is the
         * batch's last); only the table statistics are missing.
         */
        snprintf(note, sizeof(note),
                 "tables not collected: %s (a session holds a lock on one of them that blocks "
                 "reading its size)",
                 primary ? primary : "lock timeout");
        return add_note(job->arena, job->snap, note);
    }
    if (status == PGRES_FATAL_ERROR)
    {
        const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        char msg[600];

        pgconn_error_from_result(&qerr, res, step->name);
        snprintf(msg, sizeof(msg), "snapshot query failed: %s", qerr.message);
        /* 57014: statement_timeout; the server is alive but too slow. */
        fail_snapshot(job->arena, job->snap,
                      sqlstate && strcmp(sqlstate, "57014") == 0 ? CONN_TIMEOUT : CONN_ERROR, msg);
    }
    /* PGRES_PIPELINE_ABORTED: behind a failed statement, already recorded. */
    return 0;
}

static int
step_read(ProbeJob *job)
{
    PGconn *conn = job->pc->conn;

    for (;;)
    {
        PGresult *res;

        if (PQisBusy(conn))
        {
            if (!PQconsumeInput(conn))
            {
                PmError qerr;
                char why[256];

                pgconn_first_line(why, sizeof(why), PQerrorMessage(conn));
                pm_error_set(&qerr, "connection to server lost: %s", why);
                job_fail(job, CONN_SERVER_DOWN, qerr.message);
                return 0;
            }
            if (PQisBusy(conn))
                return PROBE_WANT_READ;
        }
        res = PQgetResult(conn);
        if (job->want_end)
        {
            /* Each statement's results end with a NULL. */
            job->want_end = false;
            if (res != NULL)
            {
                PQclear(res);
                job_fail(job, CONN_ERROR, "unexpected extra result in pipeline");
                return 0;
            }
            continue;
        }
        if (res == NULL)
        {
            job_fail(job, CONN_SERVER_DOWN, "connection to server lost mid-snapshot");
            return 0;
        }
        if (job->next == job->n_out)
        {
            bool synced = PQresultStatus(res) == PGRES_PIPELINE_SYNC;

            PQclear(res);
            if (!synced)
                job_fail(job, CONN_ERROR, "unexpected result in pipeline");
            else
                batch_done(job);
            return 0;
        }
        if (take_result(job, &job->out[job->next], res) != 0)
        {
            PQclear(res);
            job->nomem = true;
            job_end(job);
            return 0;
        }
        PQclear(res);
        job->next++;
        job->want_end = true;
    }
}

/* The phase ran out of time: the same failures the blocking probe always reported. */
static void
time_out(ProbeJob *job)
{
    char msg[128];

    switch (job->phase)
    {
        case JOB_CONNECT:
            pgconn_connect_timeout(job->pc, &job->attempt);
            connect_failed(job);
            return;
        case JOB_FLUSH:
            job_fail(job, CONN_TIMEOUT, "server did not accept the query in time");
            return;
        default:
            snprintf(msg, sizeof(msg), "server did not answer within %.1fs",
                     (double) job->pc->query_timeout_ms / 1000.0);
            job_fail(job, CONN_TIMEOUT, msg);
            return;
    }
}

/* Everything but the connection: the job's memory and the statements' parameters. */
static ProbeJob *
job_new(const ProbeOptions *opts, Arena *arena, Snapshot *snap)
{
    ProbeJob *job = calloc(1, sizeof(ProbeJob));
    size_t len = 0, i;

    if (job == NULL)
        return NULL;
    job->opts = *opts;
    job->arena = arena;
    job->snap = snap;
    job->started_s = pm_clock_s();
    snprintf(job->p_slow, sizeof(job->p_slow), "%.3f", opts->slow_threshold_s);
    snprintf(job->p_idle, sizeof(job->p_idle), "%.3f", opts->idle_threshold_s);
    snprintf(job->p_max_statements, sizeof(job->p_max_statements), "%d", opts->max_statements);
    snprintf(job->p_len, sizeof(job->p_len), "%d", opts->query_len);
    snprintf(job->p_max_sessions, sizeof(job->p_max_sessions), "%d", opts->max_sessions);
    snprintf(job->p_max_groups, sizeof(job->p_max_groups), "%d", opts->max_groups);
    snprintf(job->p_max_tables, sizeof(job->p_max_tables), "%d", opts->max_tables);
    job->settings_array[len++] = '{';
    for (i = 0; i < PM_LENGTHOF(probe_settings); i++)
        len += (size_t) snprintf(job->settings_array + len, sizeof(job->settings_array) - len,
                                 "%s%s", i ? "," : "", probe_settings[i]);
    snprintf(job->settings_array + len, sizeof(job->settings_array) - len, "}");
    return job;
}

ProbeJob *
probe_job_start(PgConn **slot, const ConnSpec *spec, const ConnOptions *conn_opts,
                const ProbeOptions *opts, Arena *arena, Snapshot *snap)
{
    ProbeJob *job = job_new(opts, arena, snap);

    if (job == NULL)
        return NULL;
    job->slot = slot;
    job->spec = spec;
    job->deadline_ms =
        pm_clock_ms() + conn_opts->connect_timeout_ms + conn_opts->query_timeout_ms + 1000;
    memset(snap, 0, sizeof(*snap));
    snap->taken_at = pm_wall_time();
    snap->wal_bytes = -1;
    snap->wal_files = -1;
    if (*slot != NULL)
    {
        /* The job owns the connection until it ends: one probe per target at a time. */
        job->pc = *slot;
        *slot = NULL;
        job->reused = true;
        job->phase = JOB_REUSE;
        job->phase_deadline_ms = job->deadline_ms;
        return job;
    }
    job->pc = pgconn_start(spec, conn_opts, &job->attempt);
    job->phase = JOB_CONNECT;
    job->phase_deadline_ms = job->pc ? job->pc->connect_deadline_ms : job->deadline_ms;
    return job;
}

int
probe_job_step(ProbeJob *job)
{
    while (!job->nomem)
    {
        int want = 0;

        if (job->phase == JOB_CONNECT && job->pc == NULL)
        {
            /* pgconn_start() failed at once. */
            connect_failed(job);
            continue;
        }
        if (job->phase != JOB_DONE && pm_clock_ms() >= job->phase_deadline_ms)
        {
            time_out(job);
            continue;
        }
        switch (job->phase)
        {
            case JOB_CONNECT:
                want = step_connect(job);
                break;
            case JOB_REUSE:
                want = step_reuse(job);
                break;
            case JOB_SEND:
                want = step_send(job);
                break;
            case JOB_FLUSH:
                want = step_flush(job);
                break;
            case JOB_READ:
                want = step_read(job);
                break;
            case JOB_DONE:
                return PROBE_DONE;
        }
        if (want > 0)
            return want;
    }
    if (job->phase != JOB_DONE)
        job_end(job);
    return PROBE_NOMEM;
}

int
probe_job_fd(const ProbeJob *job)
{
    if (job->phase == JOB_DONE || job->pc == NULL)
        return -1;
    return PQsocket(job->pc->conn);
}

int64_t
probe_job_deadline_ms(const ProbeJob *job)
{
    return job->phase_deadline_ms;
}

void
probe_job_free(ProbeJob *job)
{
    if (job == NULL)
        return;
    /* Freed mid-probe: its connection is in an unknown state, so it goes. */
    if (!job->borrowed)
        pgconn_close(job->pc);
    free(job);
}

/* Drives a job to its end, waiting in poll(); PROBE_DONE or PROBE_NOMEM. */
static int
job_run(ProbeJob *job)
{
    int st;

    while ((st = probe_job_step(job)) > 0)
    {
        struct pollfd pfd;
        int64_t left = probe_job_deadline_ms(job) - pm_clock_ms();

        pfd.fd = probe_job_fd(job);
        pfd.events = (short) (((st & PROBE_WANT_READ) ? POLLIN : 0) |
                              ((st & PROBE_WANT_WRITE) ? POLLOUT : 0));
        pfd.revents = 0;
        if (left < 0)
            left = 0;
        /* Whatever poll() says (ready, timed out, interrupted), the job looks again. */
        (void) poll(&pfd, pfd.fd >= 0 ? 1 : 0, left > 1000000 ? 1000000 : (int) left);
    }
    return st;
}

int
probe_run(PgConn *pc, const ProbeOptions *opts, Arena *arena, Snapshot *snap, PmError *err)
{
    ProbeJob *job = job_new(opts, arena, snap);
    int st;

    if (job == NULL)
    {
        pm_error_set(err, "out of memory");
        return -1;
    }
    job->pc = pc;
    job->borrowed = true;
    job->deadline_ms = pm_clock_ms() + pc->query_timeout_ms + 1000;
    begin_queries(job);
    st = job_run(job);
    probe_job_free(job);
    if (st < 0)
    {
        pm_error_set(err, "out of memory");
        return -1;
    }
    return 0;
}

int
probe_snapshot(const ConnSpec *spec, const ConnOptions *conn_opts, const ProbeOptions *opts,
               Arena *arena, Snapshot *snap, PmError *err)
{
    PgConn *slot = NULL;
    ProbeJob *job = probe_job_start(&slot, spec, conn_opts, opts, arena, snap);
    int st;

    if (job == NULL)
    {
        pm_error_set(err, "out of memory");
        return -1;
    }
    st = job_run(job);
    probe_job_free(job);
    pgconn_close(slot);
    if (st < 0)
    {
        pm_error_set(err, "out of memory");
        return -1;
    }
    return 0;
}
