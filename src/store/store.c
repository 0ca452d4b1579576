/*
 * store.c - SQLite: schema, migrations, audit and samples.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"
#include "util/clock.h"

/* Each entry brings the schema from version (index) to version (index + 1). */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  started_at REAL NOT NULL,"
    "  finished_at REAL,"
    "  target TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  options TEXT NOT NULL,"
    "  plan TEXT NOT NULL,"
    "  os_user TEXT,"
    "  db_role TEXT,"
    "  status TEXT NOT NULL DEFAULT 'started',"
    "  result TEXT,"
    "  error TEXT);"
    "CREATE TABLE sample ("
    "  id INTEGER PRIMARY KEY,"
    "  target TEXT NOT NULL,"
    "  taken_at REAL NOT NULL,"
    "  clients INTEGER NOT NULL, active INTEGER NOT NULL, idle INTEGER NOT NULL,"
    "  idle_in_transaction INTEGER NOT NULL, waiting_lock INTEGER NOT NULL,"
    "  usable INTEGER NOT NULL, longest_query_s REAL NOT NULL);"
    "CREATE INDEX sample_target_time ON sample (target, taken_at);",
    /* 1 -> 2: incidents and their timelines (runbook §1, §13) */
    "CREATE TABLE incident ("
    "  id INTEGER PRIMARY KEY,"
    "  target TEXT NOT NULL,"
    "  alert TEXT,"
    "  title TEXT NOT NULL,"
    "  severity TEXT NOT NULL DEFAULT 'warning',"
    "  opened_at REAL NOT NULL,"
    "  acked_at REAL, acked_by TEXT,"
    "  resolved_at REAL, root_cause TEXT);"
    "CREATE INDEX incident_target ON incident (target, resolved_at);"
    "CREATE TABLE timeline ("
    "  id INTEGER PRIMARY KEY,"
    "  incident_id INTEGER NOT NULL REFERENCES incident (id),"
    "  at REAL NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  summary TEXT NOT NULL,"
    "  data TEXT);"
    "CREATE INDEX timeline_incident ON timeline (incident_id, at);",
    /* 2 -> 3: serve's alert state machine (pending, firing, resolved) */
    "CREATE TABLE alert_change ("
    "  id INTEGER PRIMARY KEY,"
    "  target TEXT NOT NULL,"
    "  alert TEXT NOT NULL,"
    "  from_state TEXT NOT NULL,"
    "  to_state TEXT NOT NULL,"
    "  severity TEXT NOT NULL,"
    "  at REAL NOT NULL,"
    "  summary TEXT);"
    "CREATE INDEX alert_change_target ON alert_change (target, at);",
};

static void
set_sqlite_error(PmError *err, sqlite3 *db, const char *what)
{
    pm_error_set(err, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

/* "~/x" → "$HOME/x"; -1 when it does not fit or HOME is unset. */
static int
expand_path(const char *path, char *out, size_t size, PmError *err)
{
    int n;

    if (strncmp(path, "~/", 2) == 0)
    {
        const char *home = getenv("HOME");

        if (home == NULL || home[0] == '\0')
        {
            pm_error_set(err, "cannot expand \"%s\": HOME is not set", path);
            pm_error_hint(err, "Set [pgmedic] store to an absolute path.");
            return -1;
        }
        n = snprintf(out, size, "%s/%s", home, path + 2);
    }
    else
        n = snprintf(out, size, "%s", path);
    if (n < 0 || (size_t) n >= size)
    {
        pm_error_set(err, "store path \"%s\" is too long", path);
        return -1;
    }
    return 0;
}

/* mkdir -p for the directory holding file, private (0700) when created. */
static int
make_parent_dirs(const char *file, PmError *err)
{
    char dir[4096];
    char *p;

    snprintf(dir, sizeof(dir), "%s", file);
    p = strrchr(dir, '/');
    if (p == NULL || p == dir)
        return 0;
    *p = '\0';
    for (p = dir + 1; *p; p++)
    {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        {
            pm_error_set(err, "could not create directory \"%s\": %s", dir, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    {
        pm_error_set(err, "could not create directory \"%s\": %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int
exec_sql(Store *store, const char *sql, PmError *err)
{
    char *msg = NULL;

    if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
        pm_error_set(err, "could not update store \"%s\": %s", store->path,
                     msg ? msg : sqlite3_errmsg(store->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int
read_version(Store *store, int *version, PmError *err)
{
    sqlite3_stmt *stmt = NULL;

    if (sqlite3_prepare_v2(store->db, "PRAGMA user_version", -1, &stmt, NULL) != SQLITE_OK ||
        sqlite3_step(stmt) != SQLITE_ROW)
    {
        pm_error_set(err, "could not read store \"%s\": %s", store->path,
                     sqlite3_errmsg(store->db));
        pm_error_hint(err, "Is it a pgmedic store?");
        sqlite3_finalize(stmt);
        return -1;
    }
    *version = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return 0;
}

void
store_rollback(Store *store)
{
    char *ignored = NULL;

    sqlite3_exec(store->db, "ROLLBACK", NULL, NULL, &ignored);
    sqlite3_free(ignored);
}

/*
 * Brings the schema forward one migration per transaction.  The version is
 * read again under the write lock (BEGIN IMMEDIATE), so two pgmedic
 * processes opening a new store at once do not both create it.
 */
static int
migrate(Store *store, PmError *err)
{
    int version;

    if (read_version(store, &version, err) != 0)
        return -1;
    if (version > STORE_SCHEMA_VERSION)
    {
        pm_error_set(err, "store \"%s\" has schema version %d, newer than this pgmedic (%d)",
                     store->path, version, STORE_SCHEMA_VERSION);
        pm_error_hint(err, "Use a newer pgmedic, or another store path.");
        return -1;
    }
    while (version < STORE_SCHEMA_VERSION)
    {
        char bump[64];

        if (exec_sql(store, "BEGIN IMMEDIATE", err) != 0)
            return -1;
        if (read_version(store, &version, err) != 0)
        {
            store_rollback(store);
            return -1;
        }
        if (version >= STORE_SCHEMA_VERSION)
        {
            store_rollback(store); /* another process migrated it meanwhile */
            break;
        }
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d;", version + 1);
        if (exec_sql(store, migrations[version], err) != 0 || exec_sql(store, bump, err) != 0)
        {
            store_rollback(store);
            return -1;
        }
        if (exec_sql(store, "COMMIT", err) != 0)
            return -1;
        version++;
    }
    return 0;
}

Store *
store_open(const char *path, PmError *err)
{
    Store *store = calloc(1, sizeof(Store));
    int fd;

    if (store == NULL)
    {
        pm_error_set(err, "out of memory");
        return NULL;
    }
    if (expand_path(path, store->path, sizeof(store->path), err) != 0 ||
        make_parent_dirs(store->path, err) != 0)
        goto fail;
    /* Create the file ourselves so that it is private from the first byte. */
    fd = open(store->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
    {
        pm_error_set(err, "could not open store \"%s\": %s", store->path, strerror(errno));
        goto fail;
    }
    close(fd);
    if (sqlite3_open_v2(store->path, &store->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK)
    {
        set_sqlite_error(err, store->db, "could not open store");
        goto fail;
    }
    sqlite3_busy_timeout(store->db, 10000);
    /*
     * A pgmedic process is short-lived: checkpointing when it closes the store
     * cost every run an fdatasync of the database and the re-creation (and
     * sync) of the WAL by the next run.  Commits are durable without it;
     * wal_autocheckpoint checkpoints during later writes.
     */
    sqlite3_db_config(store->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *) NULL);
    {
        /*
         * Switching a new file to WAL takes an exclusive lock, and SQLite can
         * answer BUSY at once, without its busy handler, when another process
         * opens the same new store at that moment (make torture saw it once
         * in 24 concurrent first opens).  Retry within the busy timeout.
         */
        int64_t deadline = pm_clock_ms() + 10000;
        int rc;

        while ((rc = sqlite3_exec(store->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL)) ==
                   SQLITE_BUSY &&
               pm_clock_ms() < deadline)
        {
            struct timespec ts = {0, 20 * 1000000L};

            nanosleep(&ts, NULL);
        }
        if (rc != SQLITE_OK)
        {
            pm_error_set(err, "could not open store \"%s\": %s", store->path,
                         sqlite3_errmsg(store->db));
            goto fail;
        }
    }
    if (exec_sql(store, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", err) != 0 ||
        migrate(store, err) != 0)
        goto fail;
    return store;

fail:
    store_close(store);
    return NULL;
}

int
store_relax_durability(Store *store, PmError *err)
{
    /* No fsync per commit: samples and timeline entries, not audit rows. */
    return exec_sql(store, "PRAGMA synchronous = NORMAL", err);
}

int
store_limit_cache(Store *store, int kib, PmError *err)
{
    char sql[64];

    /* A negative cache_size is in KiB. */
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%d", kib > 0 ? kib : 1);
    return exec_sql(store, sql, err);
}

void
store_close(Store *store)
{
    if (store == NULL)
        return;
    if (store->db != NULL)
        sqlite3_close(store->db);
    free(store);
}

const char *
store_path(const Store *store)
{
    return store->path;
}

void
store_bind_text(sqlite3_stmt *stmt, int i, const char *s)
{
    if (s == NULL)
        sqlite3_bind_null(stmt, i);
    else
        sqlite3_bind_text(stmt, i, s, -1, SQLITE_TRANSIENT);
}

/* Prepares, lets bind() fill the parameters, steps to done. */
static int
run_write(Store *store, const char *sql, void (*bind)(sqlite3_stmt *, const void *),
          const void *arg, int64_t *rowid, PmError *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
        set_sqlite_error(err, store->db, "could not write to the store");
        return -1;
    }
    bind(stmt, arg);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
    {
        pm_error_set(err, "could not write to store \"%s\": %s", store->path,
                     sqlite3_errmsg(store->db));
        return -1;
    }
    if (rowid != NULL)
        *rowid = sqlite3_last_insert_rowid(store->db);
    return 0;
}

static void
bind_audit_begin(sqlite3_stmt *stmt, const void *arg)
{
    const AuditBegin *row = arg;

    sqlite3_bind_double(stmt, 1, row->started_at);
    store_bind_text(stmt, 2, row->target);
    store_bind_text(stmt, 3, row->action);
    store_bind_text(stmt, 4, row->options ? row->options : "");
    store_bind_text(stmt, 5, row->plan ? row->plan : "{}");
    store_bind_text(stmt, 6, row->os_user);
    store_bind_text(stmt, 7, row->db_role);
}

int
store_audit_begin(Store *store, const AuditBegin *row, int64_t *id, PmError *err)
{
    return run_write(store,
                     "INSERT INTO audit (started_at, target, action, options, plan, os_user, "
                     "db_role) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                     bind_audit_begin, row, id, err);
}

typedef struct
{
    int64_t id;
    const char *status, *result, *error;
    double finished_at;
} AuditFinish;

static void
bind_audit_finish(sqlite3_stmt *stmt, const void *arg)
{
    const AuditFinish *f = arg;

    store_bind_text(stmt, 1, f->status);
    store_bind_text(stmt, 2, f->result);
    store_bind_text(stmt, 3, f->error);
    sqlite3_bind_double(stmt, 4, f->finished_at);
    sqlite3_bind_int64(stmt, 5, f->id);
}

int
store_audit_finish(Store *store, int64_t id, const char *status, const char *result,
                   const char *error, double finished_at, PmError *err)
{
    AuditFinish f = {id, status, result, error, finished_at};

    if (run_write(store,
                  "UPDATE audit SET status = ?1, result = ?2, error = ?3, finished_at = ?4 "
                  "WHERE id = ?5",
                  bind_audit_finish, &f, NULL, err) != 0)
        return -1;
    if (sqlite3_changes(store->db) != 1)
    {
        pm_error_set(err, "audit row %lld not found in store \"%s\"", (long long) id,
                     store->path);
        return -1;
    }
    return 0;
}

const char *
store_col_text(sqlite3_stmt *stmt, int i)
{
    const char *t = (const char *) sqlite3_column_text(stmt, i);

    return t ? t : "";
}

int
store_audit_list(Store *store, size_t limit, int (*fn)(const AuditRow *row, void *arg), void *arg,
                 PmError *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    if (sqlite3_prepare_v2(store->db,
                           "SELECT id, started_at, COALESCE(finished_at, 0), target, action, "
                           "options, plan, os_user, db_role, status, result, error FROM audit "
                           "ORDER BY id DESC LIMIT ?1",
                           -1, &stmt, NULL) != SQLITE_OK)
    {
        set_sqlite_error(err, store->db, "could not read the audit log");
        return -1;
    }
    sqlite3_bind_int64(stmt, 1, limit ? (sqlite3_int64) limit : -1);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
    {
        AuditRow row;

        row.id = sqlite3_column_int64(stmt, 0);
        row.started_at = sqlite3_column_double(stmt, 1);
        row.finished_at = sqlite3_column_double(stmt, 2);
        row.target = store_col_text(stmt, 3);
        row.action = store_col_text(stmt, 4);
        row.options = store_col_text(stmt, 5);
        row.plan = store_col_text(stmt, 6);
        row.os_user = store_col_text(stmt, 7);
        row.db_role = store_col_text(stmt, 8);
        row.status = store_col_text(stmt, 9);
        row.result = store_col_text(stmt, 10);
        row.error = store_col_text(stmt, 11);
        if (fn(&row, arg) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
        set_sqlite_error(err, store->db, "could not read the audit log");
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
    return 0;
}

static void
bind_sample(sqlite3_stmt *stmt, const void *arg)
{
    const Sample *s = arg;

    store_bind_text(stmt, 1, s->target);
    sqlite3_bind_double(stmt, 2, s->taken_at);
    sqlite3_bind_int64(stmt, 3, s->clients);
    sqlite3_bind_int64(stmt, 4, s->active);
    sqlite3_bind_int64(stmt, 5, s->idle);
    sqlite3_bind_int64(stmt, 6, s->idle_in_transaction);
    sqlite3_bind_int64(stmt, 7, s->waiting_lock);
    sqlite3_bind_int64(stmt, 8, s->usable);
    sqlite3_bind_double(stmt, 9, s->longest_query_s);
}

int
store_sample_add(Store *store, const Sample *sample, PmError *err)
{
    return run_write(store,
                     "INSERT INTO sample (target, taken_at, clients, active, idle, "
                     "idle_in_transaction, waiting_lock, usable, longest_query_s) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                     bind_sample, sample, NULL, err);
}

void
store_sample_of(const Snapshot *snap, Sample *out)
{
    memset(out, 0, sizeof(*out));
    out->target = snap->target;
    out->taken_at = snap->taken_at;
    out->clients = snap->n_clients;
    out->active = snap->n_active;
    out->idle = snap->n_idle;
    out->idle_in_transaction = snap->n_idle_in_transaction;
    out->waiting_lock = snap->n_waiting_lock;
    out->usable = snapshot_usable_slots(snap);
    out->longest_query_s = snap->longest_query_s;
}

static void
bind_alert_change(sqlite3_stmt *stmt, const void *arg)
{
    const AlertChangeRow *c = arg;

    store_bind_text(stmt, 1, c->target);
    store_bind_text(stmt, 2, c->alert);
    store_bind_text(stmt, 3, c->from_state);
    store_bind_text(stmt, 4, c->to_state);
    store_bind_text(stmt, 5, c->severity);
    sqlite3_bind_double(stmt, 6, c->at);
    store_bind_text(stmt, 7, c->summary);
}

int
store_alert_change_add(Store *store, const AlertChangeRow *change, PmError *err)
{
    return run_write(store,
                     "INSERT INTO alert_change (target, alert, from_state, to_state, severity, at, "
                     "summary) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                     bind_alert_change, change, NULL, err);
}

int
store_sample_baseline(Store *store, const char *target, double since, double until,
                      double *median_clients, int64_t *n, PmError *err)
{
    sqlite3_stmt *stmt = NULL;
    int64_t count = 0, i = 0;
    double lo = 0, hi = 0;
    int rc;

    *median_clients = 0;
    *n = 0;
    if (sqlite3_prepare_v2(store->db,
                           "SELECT clients FROM sample WHERE target = ?1 AND taken_at >= ?2 "
                           "AND taken_at < ?3 ORDER BY clients",
                           -1, &stmt, NULL) != SQLITE_OK)
    {
        set_sqlite_error(err, store->db, "could not read samples");
        return -1;
    }
    store_bind_text(stmt, 1, target);
    sqlite3_bind_double(stmt, 2, since);
    sqlite3_bind_double(stmt, 3, until);
    /* Two passes would need the count first; the rows are few, so count then walk. */
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        count++;
    if (rc != SQLITE_DONE)
    {
        set_sqlite_error(err, store->db, "could not read samples");
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_reset(stmt);
    while (count > 0 && sqlite3_step(stmt) == SQLITE_ROW)
    {
        if (i == (count - 1) / 2)
            lo = sqlite3_column_double(stmt, 0);
        if (i == count / 2)
        {
            hi = sqlite3_column_double(stmt, 0);
            break;
        }
        i++;
    }
    sqlite3_finalize(stmt);
    *median_clients = (lo + hi) / 2.0;
    *n = count;
    return 0;
}
