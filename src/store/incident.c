/*
 * incident.c - incidents, timelines and the samples of an incident window,
 * in the SQLite store (tables from migration 1 -> 2 in store.c).
 */
#include "store/incident.h"

#include <stdio.h>
#include <string.h>

#include "store/store_int.h"
#include "util/clock.h"

static const char incident_columns[] = "id, target, alert, title, severity, opened_at, "
                                       "COALESCE(acked_at, 0), acked_by, "
                                       "COALESCE(resolved_at, 0), root_cause";

static int
db_error(Store *store, PmError *err, const char *what)
{
    pm_error_set(err, "could not %s in store \"%s\": %s", what, store->path,
                 sqlite3_errmsg(store->db));
    return -1;
}

static int
prepare(Store *store, const char *sql, sqlite3_stmt **stmt, const char *what, PmError *err)
{
    *stmt = NULL;
    if (sqlite3_prepare_v2(store->db, sql, -1, stmt, NULL) != SQLITE_OK)
        return db_error(store, err, what);
    return 0;
}

/* Runs a statement without parameters or rows (BEGIN, COMMIT). */
static int
exec_plain(Store *store, const char *sql, const char *what, PmError *err)
{
    char *msg = NULL;

    if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
        pm_error_set(err, "could not %s in store \"%s\": %s", what, store->path,
                     msg ? msg : sqlite3_errmsg(store->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int
not_found(Store *store, int64_t id, PmError *err)
{
    pm_error_set(err, "incident %lld does not exist in store \"%s\"", (long long) id, store->path);
    pm_error_hint(err, "List the incidents with \"pgmedic incident list\".");
    return -1;
}

/* A row of incident_columns; strings point into the statement. */
static void
read_incident(sqlite3_stmt *stmt, Incident *inc)
{
    inc->id = sqlite3_column_int64(stmt, 0);
    inc->target = store_col_text_or_null(stmt, 1);
    inc->alert = store_col_text_or_null(stmt, 2);
    inc->title = store_col_text_or_null(stmt, 3);
    inc->severity = store_col_text_or_null(stmt, 4);
    inc->opened_at = sqlite3_column_double(stmt, 5);
    inc->acked_at = sqlite3_column_double(stmt, 6);
    inc->acked_by = store_col_text_or_null(stmt, 7);
    inc->resolved_at = sqlite3_column_double(stmt, 8);
    inc->root_cause = store_col_text_or_null(stmt, 9);
}

/* Copies the strings of *inc into arena; -1 when out of memory. */
static int
copy_incident(Arena *arena, Incident *inc)
{
    const char **fields[] = {&inc->target,   &inc->alert,    &inc->title,
                             &inc->severity, &inc->acked_by, &inc->root_cause};
    size_t i;

    for (i = 0; i < PM_LENGTHOF(fields); i++)
    {
        if (*fields[i] == NULL)
            continue;
        *fields[i] = arena_strdup(arena, *fields[i]);
        if (*fields[i] == NULL)
            return -1;
    }
    return 0;
}

/* Inserts a timeline row; inside or outside a transaction. */
static int
insert_entry(Store *store, int64_t incident_id, double at, const char *kind, const char *summary,
             const char *data_json, int64_t *entry_id, PmError *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if (prepare(store,
                "INSERT INTO timeline (incident_id, at, kind, summary, data) "
                "VALUES (?1, ?2, ?3, ?4, ?5)",
                &stmt, "add to the timeline", err) != 0)
        return -1;
    sqlite3_bind_int64(stmt, 1, incident_id);
    sqlite3_bind_double(stmt, 2, at);
    store_bind_text(stmt, 3, kind);
    store_bind_text(stmt, 4, summary ? summary : "");
    store_bind_text(stmt, 5, data_json);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(store, err, "add to the timeline");
    if (entry_id != NULL)
        *entry_id = sqlite3_last_insert_rowid(store->db);
    return 0;
}

int
store_incident_open(Store *store, const Incident *inc, const char *data_json, int64_t *id,
                    PmError *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if (exec_plain(store, "BEGIN IMMEDIATE", "open an incident", err) != 0)
        return -1;
    if (prepare(store,
                "INSERT INTO incident (target, alert, title, severity, opened_at) "
                "VALUES (?1, ?2, ?3, ?4, ?5)",
                &stmt, "open an incident", err) != 0)
        goto fail;
    store_bind_text(stmt, 1, inc->target ? inc->target : "?");
    store_bind_text(stmt, 2, inc->alert);
    store_bind_text(stmt, 3, inc->title ? inc->title : "");
    store_bind_text(stmt, 4, inc->severity ? inc->severity : "warning");
    sqlite3_bind_double(stmt, 5, inc->opened_at);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
    {
        db_error(store, err, "open an incident");
        goto fail;
    }
    *id = sqlite3_last_insert_rowid(store->db);
    if (insert_entry(store, *id, inc->opened_at, "open", inc->title ? inc->title : "", data_json,
                     NULL, err) != 0 ||
        exec_plain(store, "COMMIT", "open an incident", err) != 0)
        goto fail;
    return 0;

fail:
    store_rollback(store);
    return -1;
}

/*
 * Reads incident id with the statement that selects it by ?1; 1 found, 0
 * not found, -1 on failure.  The row stays in *stmt (caller finalizes).
 */
static int
select_incident(Store *store, int64_t id, sqlite3_stmt **stmt, Incident *inc, PmError *err)
{
    char sql[256];
    int rc;

    snprintf(sql, sizeof(sql), "SELECT %s FROM incident WHERE id = ?1", incident_columns);
    if (prepare(store, sql, stmt, "read incidents", err) != 0)
        return -1;
    sqlite3_bind_int64(*stmt, 1, id);
    rc = sqlite3_step(*stmt);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return db_error(store, err, "read incidents");
    read_incident(*stmt, inc);
    return 1;
}

int
store_incident_get(Store *store, int64_t id, Arena *arena, Incident *out, PmError *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = select_incident(store, id, &stmt, out, err);
    if (rc == 1 && copy_incident(arena, out) != 0)
    {
        pm_error_set(err, "out of memory");
        rc = -1;
    }
    sqlite3_finalize(stmt);
    if (rc == 0)
        return not_found(store, id, err);
    return rc < 0 ? -1 : 0;
}

int
store_incident_find_open(Store *store, const char *target, Arena *arena, Incident *out, bool *found,
                         PmError *err)
{
    sqlite3_stmt *stmt;
    char sql[256];
    int rc;

    memset(out, 0, sizeof(*out));
    *found = false;
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM incident WHERE target = ?1 AND resolved_at IS NULL "
             "ORDER BY id DESC LIMIT 1",
             incident_columns);
    if (prepare(store, sql, &stmt, "read incidents", err) != 0)
        return -1;
    store_bind_text(stmt, 1, target);
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
    {
        read_incident(stmt, out);
        if (copy_incident(arena, out) != 0)
        {
            sqlite3_finalize(stmt);
            pm_error_set(err, "out of memory");
            return -1;
        }
        *found = true;
    }
    else if (rc != SQLITE_DONE)
    {
        db_error(store, err, "read incidents");
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
    return 0;
}

int
store_incident_list(Store *store, size_t limit, bool open_only,
                    int (*fn)(const Incident *inc, void *arg), void *arg, PmError *err)
{
    sqlite3_stmt *stmt;
    char sql[320];
    int rc;

    snprintf(sql, sizeof(sql), "SELECT %s FROM incident %s ORDER BY id DESC LIMIT ?1",
             incident_columns, open_only ? "WHERE resolved_at IS NULL" : "");
    if (prepare(store, sql, &stmt, "read incidents", err) != 0)
        return -1;
    sqlite3_bind_int64(stmt, 1, limit ? (sqlite3_int64) limit : -1);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
    {
        Incident inc;

        read_incident(stmt, &inc);
        if (fn(&inc, arg) != 0)
        {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
    {
        db_error(store, err, "read incidents");
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
    return 0;
}

/* Runs an UPDATE of incident ?1 with one text ?2 and one time ?3. */
static int
update_incident(Store *store, const char *sql, int64_t id, const char *text, double at,
                PmError *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if (prepare(store, sql, &stmt, "update the incident", err) != 0)
        return -1;
    sqlite3_bind_int64(stmt, 1, id);
    store_bind_text(stmt, 2, text);
    sqlite3_bind_double(stmt, 3, at);
    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return db_error(store, err, "update the incident");
    return 0;
}

int
store_incident_ack(Store *store, int64_t id, const char *who, double at, PmError *err)
{
    sqlite3_stmt *stmt = NULL;
    Incident inc;
    char when[40], summary[320];
    int rc;

    if (exec_plain(store, "BEGIN IMMEDIATE", "acknowledge the incident", err) != 0)
        return -1;
    rc = select_incident(store, id, &stmt, &inc, err);
    if (rc == 0)
        not_found(store, id, err);
    else if (rc == 1 && inc.resolved_at > 0)
    {
        pm_format_iso8601(inc.resolved_at, when, sizeof(when));
        pm_error_set(err, "cannot acknowledge incident %lld: it was resolved at %s", (long long) id,
                     when);
        rc = -1;
    }
    else if (rc == 1 && inc.acked_at > 0)
    {
        pm_format_iso8601(inc.acked_at, when, sizeof(when));
        pm_error_set(err, "incident %lld was already acknowledged by %s at %s", (long long) id,
                     inc.acked_by ? inc.acked_by : "?", when);
        rc = -1;
    }
    sqlite3_finalize(stmt);
    if (rc != 1)
    {
        store_rollback(store);
        return -1;
    }
    snprintf(summary, sizeof(summary), "acknowledged by %s", who);
    if (update_incident(store, "UPDATE incident SET acked_by = ?2, acked_at = ?3 WHERE id = ?1", id,
                        who, at, err) != 0 ||
        insert_entry(store, id, at, "ack", summary, NULL, NULL, err) != 0 ||
        exec_plain(store, "COMMIT", "acknowledge the incident", err) != 0)
    {
        store_rollback(store);
        return -1;
    }
    return 0;
}

int
store_incident_resolve(Store *store, int64_t id, const char *root_cause, double at, PmError *err)
{
    sqlite3_stmt *stmt = NULL;
    Incident inc;
    char when[40];
    int rc;

    if (exec_plain(store, "BEGIN IMMEDIATE", "resolve the incident", err) != 0)
        return -1;
    rc = select_incident(store, id, &stmt, &inc, err);
    if (rc == 0)
        not_found(store, id, err);
    else if (rc == 1 && inc.resolved_at > 0)
    {
        pm_format_iso8601(inc.resolved_at, when, sizeof(when));
        pm_error_set(err, "incident %lld was already resolved at %s", (long long) id, when);
        rc = -1;
    }
    sqlite3_finalize(stmt);
    if (rc != 1)
    {
        store_rollback(store);
        return -1;
    }
    if (update_incident(store,
                        "UPDATE incident SET root_cause = ?2, resolved_at = ?3 WHERE id = ?1", id,
                        root_cause && root_cause[0] ? root_cause : NULL, at, err) != 0 ||
        insert_entry(store, id, at, "resolve",
                     root_cause && root_cause[0] ? root_cause : "resolved", NULL, NULL, err) != 0 ||
        exec_plain(store, "COMMIT", "resolve the incident", err) != 0)
    {
        store_rollback(store);
        return -1;
    }
    return 0;
}

int
store_timeline_add(Store *store, int64_t incident_id, double at, const char *kind,
                   const char *summary, const char *data_json, int64_t *entry_id, PmError *err)
{
    sqlite3_stmt *stmt = NULL;
    Incident inc;
    int rc = select_incident(store, incident_id, &stmt, &inc, err);

    sqlite3_finalize(stmt);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return not_found(store, incident_id, err);
    return insert_entry(store, incident_id, at, kind, summary, data_json, entry_id, err);
}

int
store_timeline_list(Store *store, int64_t incident_id,
                    int (*fn)(const TimelineEntry *entry, void *arg), void *arg, PmError *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if (prepare(store,
                "SELECT id, incident_id, at, kind, summary, COALESCE(data, '') FROM timeline "
                "WHERE incident_id = ?1 ORDER BY at, id",
                &stmt, "read the timeline", err) != 0)
        return -1;
    sqlite3_bind_int64(stmt, 1, incident_id);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
    {
        TimelineEntry e;

        e.id = sqlite3_column_int64(stmt, 0);
        e.incident_id = sqlite3_column_int64(stmt, 1);
        e.at = sqlite3_column_double(stmt, 2);
        e.kind = store_col_text_or_null(stmt, 3);
        e.summary = store_col_text_or_null(stmt, 4);
        e.data = store_col_text_or_null(stmt, 5);
        if (e.kind == NULL)
            e.kind = "";
        if (e.summary == NULL)
            e.summary = "";
        if (e.data == NULL)
            e.data = "";
        if (fn(&e, arg) != 0)
        {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
    {
        db_error(store, err, "read the timeline");
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
    return 0;
}

int
store_sample_list(Store *store, const char *target, double since, double until,
                  int (*fn)(const Sample *sample, void *arg), void *arg, PmError *err)
{
    sqlite3_stmt *stmt;
    int rc;

    if (prepare(store,
                "SELECT taken_at, clients, active, idle, idle_in_transaction, waiting_lock, "
                "usable, longest_query_s FROM sample WHERE target = ?1 AND taken_at >= ?2 "
                "AND taken_at <= ?3 ORDER BY taken_at, id",
                &stmt, "read samples", err) != 0)
        return -1;
    store_bind_text(stmt, 1, target);
    sqlite3_bind_double(stmt, 2, since);
    sqlite3_bind_double(stmt, 3, until);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
    {
        Sample s;

        s.target = target;
        s.taken_at = sqlite3_column_double(stmt, 0);
        s.clients = sqlite3_column_int64(stmt, 1);
        s.active = sqlite3_column_int64(stmt, 2);
        s.idle = sqlite3_column_int64(stmt, 3);
        s.idle_in_transaction = sqlite3_column_int64(stmt, 4);
        s.waiting_lock = sqlite3_column_int64(stmt, 5);
        s.usable = sqlite3_column_int64(stmt, 6);
        s.longest_query_s = sqlite3_column_double(stmt, 7);
        if (fn(&s, arg) != 0)
        {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
    {
        db_error(store, err, "read samples");
        sqlite3_finalize(stmt);
        return -1;
    }
    sqlite3_finalize(stmt);
    return 0;
}

int
store_timeline_entry_copy(Arena *arena, const TimelineEntry *e, TimelineEntry *out)
{
    *out = *e;
    out->kind = arena_strdup(arena, e->kind);
    out->summary = arena_strdup(arena, e->summary);
    out->data = arena_strdup(arena, e->data);
    return out->kind == NULL || out->summary == NULL || out->data == NULL ? -1 : 0;
}
