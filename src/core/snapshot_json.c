/*
 * snapshot_json.c - Snapshot <-> JSON through field tables.
 */
#include "core/snapshot_json.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util/clock.h"

typedef enum
{
    F_STR,
    F_I32,
    F_I64,
    F_U32,
    F_DBL,
    F_BOOL,
    F_PIDS, /* int32_t * at offset, its size_t count at aux */
    F_STRS  /* const char ** at offset, its size_t count at aux */
} FieldType;

typedef struct
{
    const char *key;
    FieldType type;
    size_t offset;
    size_t aux;
} Field;

#define FIELD(T, key, type, member) {key, type, offsetof(T, member), 0}

static const Field group_fields[] = {
    FIELD(BackendGroup, "state", F_STR, state),
    FIELD(BackendGroup, "application", F_STR, application),
    FIELD(BackendGroup, "client", F_STR, client),
    FIELD(BackendGroup, "user", F_STR, user),
    FIELD(BackendGroup, "count", F_I64, count),
    FIELD(BackendGroup, "oldest_state_age_s", F_DBL, oldest_state_age_s),
};

static const Field session_fields[] = {
    FIELD(Session, "pid", F_I32, pid),
    FIELD(Session, "user", F_STR, user),
    FIELD(Session, "application", F_STR, application),
    FIELD(Session, "client", F_STR, client),
    FIELD(Session, "database", F_STR, database),
    FIELD(Session, "state", F_STR, state),
    FIELD(Session, "backend_start", F_STR, backend_start),
    FIELD(Session, "backend_age_s", F_DBL, backend_age_s),
    FIELD(Session, "xact_age_s", F_DBL, xact_age_s),
    FIELD(Session, "query_age_s", F_DBL, query_age_s),
    FIELD(Session, "state_age_s", F_DBL, state_age_s),
    FIELD(Session, "wait_event_type", F_STR, wait_event_type),
    FIELD(Session, "wait_event", F_STR, wait_event),
    FIELD(Session, "lock_wait_s", F_DBL, lock_wait_s),
    {"blocked_by", F_PIDS, offsetof(Session, blocked_by), offsetof(Session, n_blocked_by)},
    FIELD(Session, "query", F_STR, query),
    FIELD(Session, "query_start", F_STR, query_start),
    FIELD(Session, "xact_start", F_STR, xact_start),
    FIELD(Session, "superuser", F_BOOL, is_superuser),
};

static const Field table_fields[] = {
    FIELD(TableStat, "oid", F_U32, oid),
    FIELD(TableStat, "schema", F_STR, schema),
    FIELD(TableStat, "name", F_STR, name),
    FIELD(TableStat, "n_live_tup", F_I64, n_live_tup),
    FIELD(TableStat, "n_dead_tup", F_I64, n_dead_tup),
    FIELD(TableStat, "n_mod_since_analyze", F_I64, n_mod_since_analyze),
    FIELD(TableStat, "seq_scan", F_I64, seq_scan),
    FIELD(TableStat, "seq_tup_read", F_I64, seq_tup_read),
    FIELD(TableStat, "idx_scan", F_I64, idx_scan),
    FIELD(TableStat, "size_bytes", F_I64, size_bytes),
    FIELD(TableStat, "last_analyze_age_s", F_DBL, last_analyze_age_s),
    FIELD(TableStat, "last_vacuum_age_s", F_DBL, last_vacuum_age_s),
    {"indexed_columns", F_STRS, offsetof(TableStat, indexed_columns),
     offsetof(TableStat, n_indexed_columns)},
    FIELD(TableStat, "autovacuum_disabled", F_BOOL, autovacuum_disabled),
};

static const Field statement_fields[] = {
    FIELD(Statement, "queryid", F_I64, queryid),
    FIELD(Statement, "query", F_STR, query),
    FIELD(Statement, "calls", F_I64, calls),
    FIELD(Statement, "total_exec_ms", F_DBL, total_exec_ms),
    FIELD(Statement, "mean_exec_ms", F_DBL, mean_exec_ms),
    FIELD(Statement, "rows", F_I64, rows),
    FIELD(Statement, "shared_blks_read", F_I64, shared_blks_read),
    FIELD(Statement, "shared_blks_hit", F_I64, shared_blks_hit),
};

/* The host object; offsets are in Snapshot (host is embedded). */
#define HOST(key, type, member) {key, type, offsetof(Snapshot, host.member), 0}
static const Field host_fields[] = {
    HOST("available", F_BOOL, available),
    HOST("data_directory", F_STR, data_directory),
    HOST("data_fs_total_bytes", F_I64, data_fs_total_bytes),
    HOST("data_fs_free_bytes", F_I64, data_fs_free_bytes),
    HOST("wal_fs_total_bytes", F_I64, wal_fs_total_bytes),
    HOST("wal_fs_free_bytes", F_I64, wal_fs_free_bytes),
    HOST("wal_dir_bytes", F_I64, wal_dir_bytes),
    HOST("mem_total_bytes", F_I64, mem_total_bytes),
    HOST("mem_available_bytes", F_I64, mem_available_bytes),
    HOST("log_file", F_STR, log_file),
    {"log_lines", F_STRS, offsetof(Snapshot, host.log_lines), offsetof(Snapshot, host.n_log_lines)},
};

static const Field setting_fields[] = {
    FIELD(Setting, "name", F_STR, name),
    FIELD(Setting, "value", F_STR, value),
    FIELD(Setting, "unit", F_STR, unit),
};

/* Objects inside the snapshot itself; "reachable" and "failure" are special. */
static const Field status_fields[] = {
    FIELD(Snapshot, "message", F_STR, failure_message),
    FIELD(Snapshot, "version", F_STR, version),
    FIELD(Snapshot, "version_num", F_I32, version_num),
    FIELD(Snapshot, "in_recovery", F_BOOL, in_recovery),
    FIELD(Snapshot, "uptime_s", F_DBL, uptime_s),
    FIELD(Snapshot, "connect_s", F_DBL, connect_s),
    FIELD(Snapshot, "probe_s", F_DBL, probe_s),
    FIELD(Snapshot, "via_reserved_slot", F_BOOL, via_reserved_slot),
    FIELD(Snapshot, "refused_message", F_STR, refused_message),
};

static const Field server_fields[] = {
    FIELD(Snapshot, "database", F_STR, database),
    FIELD(Snapshot, "role", F_STR, role),
    FIELD(Snapshot, "superuser", F_BOOL, is_superuser),
    FIELD(Snapshot, "pg_monitor", F_BOOL, has_pg_monitor),
    FIELD(Snapshot, "pid", F_I32, own_pid),
    FIELD(Snapshot, "log_file", F_STR, server_log_file),
};

static const Field connection_fields[] = {
    FIELD(Snapshot, "max_connections", F_I64, max_connections),
    FIELD(Snapshot, "superuser_reserved", F_I64, superuser_reserved),
    FIELD(Snapshot, "reserved", F_I64, reserved),
    FIELD(Snapshot, "clients", F_I64, n_clients),
    FIELD(Snapshot, "active", F_I64, n_active),
    FIELD(Snapshot, "idle", F_I64, n_idle),
    FIELD(Snapshot, "idle_in_transaction", F_I64, n_idle_in_transaction),
    FIELD(Snapshot, "waiting_lock", F_I64, n_waiting_lock),
    FIELD(Snapshot, "longest_query_s", F_DBL, longest_query_s),
    FIELD(Snapshot, "longest_xact_s", F_DBL, longest_xact_s),
    FIELD(Snapshot, "longest_query_pid", F_I32, longest_query_pid),
    FIELD(Snapshot, "longest_query_application", F_STR, longest_query_application),
    FIELD(Snapshot, "longest_query_waiting", F_BOOL, longest_query_waiting),
    FIELD(Snapshot, "checksum_failures", F_I64, checksum_failures),
};

/* Arrays of records in the snapshot. */
typedef struct
{
    const char *key;
    const Field *fields;
    size_t n_fields;
    size_t elem_size;
    size_t array_offset; /* of the pointer in Snapshot */
    size_t count_offset; /* of the size_t count in Snapshot */
} ArrayDesc;

#define ARRAY(key, fields, T, member, count)                                                       \
    {key, fields, PM_LENGTHOF(fields), sizeof(T), offsetof(Snapshot, member),                      \
     offsetof(Snapshot, count)}

static const ArrayDesc arrays[] = {
    ARRAY("groups", group_fields, BackendGroup, groups, n_groups),
    ARRAY("sessions", session_fields, Session, sessions, n_sessions),
    ARRAY("tables", table_fields, TableStat, tables, n_tables),
    ARRAY("settings", setting_fields, Setting, settings, n_settings),
    ARRAY("statements", statement_fields, Statement, statements, n_statements),
};

/* --- writing --- */

static void
write_fields(JsonW *w, const void *base, const Field *fields, size_t n)
{
    const char *p = base;
    size_t i, j;

    for (i = 0; i < n; i++)
    {
        const Field *f = &fields[i];
        const void *at = p + f->offset;

        jsonw_key(w, f->key);
        switch (f->type)
        {
        case F_STR:
            jsonw_string(w, *(const char *const *) at);
            break;
        case F_I32:
            jsonw_int(w, *(const int32_t *) at);
            break;
        case F_I64:
            jsonw_int(w, *(const int64_t *) at);
            break;
        case F_U32:
            jsonw_int(w, *(const uint32_t *) at);
            break;
        case F_DBL:
            jsonw_double(w, *(const double *) at);
            break;
        case F_BOOL:
            jsonw_bool(w, *(const bool *) at);
            break;
        case F_PIDS:
        {
            const int32_t *pids = *(int32_t *const *) at;
            size_t count = *(const size_t *) (const void *) (p + f->aux);

            jsonw_array_begin(w);
            for (j = 0; j < count; j++)
                jsonw_int(w, pids[j]);
            jsonw_array_end(w);
            break;
        }
        case F_STRS:
        {
            const char *const *strs = *(const char *const *const *) at;
            size_t count = *(const size_t *) (const void *) (p + f->aux);

            jsonw_array_begin(w);
            for (j = 0; j < count; j++)
                jsonw_string(w, strs[j]);
            jsonw_array_end(w);
            break;
        }
        }
    }
}

void
snapshot_json_write_header(JsonW *w, const Snapshot *snap)
{
    char when[40];

    pm_format_iso8601(snap->taken_at, when, sizeof(when));
    jsonw_kv_int(w, "pgmedic", SNAPSHOT_JSON_VERSION);
    jsonw_kv_string(w, "target", snap->target);
    jsonw_kv_string(w, "taken_at", when);
    jsonw_key(w, "status");
    jsonw_object_begin(w);
    jsonw_kv_bool(w, "reachable", snap->failure == CONN_OK);
    jsonw_kv_string(w, "failure",
                    snap->failure == CONN_OK ? NULL : snapshot_failure_name(snap->failure));
    write_fields(w, snap, status_fields, PM_LENGTHOF(status_fields));
    jsonw_object_end(w);
}

void
snapshot_json_write(JsonW *w, const Snapshot *snap)
{
    size_t i, j;

    jsonw_object_begin(w);
    snapshot_json_write_header(w, snap);
    /* An unreachable server has no server facts: null, not zeros. */
    jsonw_key(w, "server");
    if (snap->failure == CONN_OK)
    {
        jsonw_object_begin(w);
        write_fields(w, snap, server_fields, PM_LENGTHOF(server_fields));
        jsonw_object_end(w);
    }
    else
        jsonw_null(w);
    jsonw_key(w, "connections");
    if (snap->failure == CONN_OK)
    {
        jsonw_object_begin(w);
        write_fields(w, snap, connection_fields, PM_LENGTHOF(connection_fields));
        jsonw_kv_int(w, "usable", snapshot_usable_slots(snap));
        jsonw_object_end(w);
    }
    else
        jsonw_null(w);
    for (i = 0; i < PM_LENGTHOF(arrays); i++)
    {
        const ArrayDesc *a = &arrays[i];
        const char *items = *(const char *const *) (const void *) ((const char *) snap +
                                                                   a->array_offset);
        size_t count = *(const size_t *) (const void *) ((const char *) snap + a->count_offset);

        jsonw_key(w, a->key);
        jsonw_array_begin(w);
        for (j = 0; j < count; j++)
        {
            jsonw_object_begin(w);
            write_fields(w, items + j * a->elem_size, a->fields, a->n_fields);
            jsonw_object_end(w);
        }
        jsonw_array_end(w);
    }
    jsonw_kv_bool(w, "has_statements", snap->has_statements);
    jsonw_key(w, "host");
    if (snap->host.available)
    {
        jsonw_object_begin(w);
        write_fields(w, snap, host_fields, PM_LENGTHOF(host_fields));
        jsonw_object_end(w);
    }
    else
        jsonw_null(w);
    jsonw_key(w, "wal");
    if (snap->wal_bytes >= 0)
    {
        jsonw_object_begin(w);
        jsonw_kv_int(w, "bytes", snap->wal_bytes);
        jsonw_kv_int(w, "files", snap->wal_files);
        jsonw_object_end(w);
    }
    else
        jsonw_null(w);
    jsonw_key(w, "notes");
    jsonw_array_begin(w);
    for (i = 0; i < snap->n_notes; i++)
        jsonw_string(w, snap->notes[i]);
    jsonw_array_end(w);
    jsonw_object_end(w);
}

/* --- reading --- */

typedef struct
{
    Arena *arena;
    const char *source;
    PmError *err;
} Reader;

static int
shape_error(Reader *r, const char *where, const char *key, const char *expected)
{
    pm_error_set(r->err, "invalid snapshot in \"%s\": %s%s\"%s\" must be %s", r->source, where,
                 where[0] ? "." : "", key, expected);
    return -1;
}

static int
read_fields(Reader *r, const char *where, json_t *obj, void *base, const Field *fields, size_t n)
{
    char *p = base;
    size_t i;

    for (i = 0; i < n; i++)
    {
        const Field *f = &fields[i];
        json_t *v = json_object_get(obj, f->key);
        void *at = p + f->offset;

        if (v == NULL || json_is_null(v))
        {
            /* Absent: strings stay NULL, numbers keep the caller's default. */
            continue;
        }
        switch (f->type)
        {
        case F_STR:
        {
            const char *s;

            if (!json_is_string(v))
                return shape_error(r, where, f->key, "a string");
            s = arena_strndup(r->arena, json_string_value(v), json_string_length(v));
            if (s == NULL)
                goto oom;
            memcpy(at, &s, sizeof(s));
            break;
        }
        case F_I32:
        case F_I64:
        case F_U32:
        {
            json_int_t n_val;

            if (!json_is_integer(v))
                return shape_error(r, where, f->key, "an integer");
            n_val = json_integer_value(v);
            if (f->type == F_I64)
            {
                int64_t x = n_val;
                memcpy(at, &x, sizeof(x));
            }
            else if (f->type == F_I32)
            {
                int32_t x;

                if (n_val < INT32_MIN || n_val > INT32_MAX)
                    return shape_error(r, where, f->key, "a 32-bit integer");
                x = (int32_t) n_val;
                memcpy(at, &x, sizeof(x));
            }
            else
            {
                uint32_t x;

                if (n_val < 0 || n_val > (json_int_t) UINT32_MAX)
                    return shape_error(r, where, f->key, "an unsigned 32-bit integer");
                x = (uint32_t) n_val;
                memcpy(at, &x, sizeof(x));
            }
            break;
        }
        case F_DBL:
        {
            double x;

            if (!json_is_number(v))
                return shape_error(r, where, f->key, "a number");
            x = json_number_value(v);
            memcpy(at, &x, sizeof(x));
            break;
        }
        case F_BOOL:
        {
            bool x;

            if (!json_is_boolean(v))
                return shape_error(r, where, f->key, "true or false");
            x = json_is_true(v);
            memcpy(at, &x, sizeof(x));
            break;
        }
        case F_PIDS:
        {
            size_t count, j;
            int32_t *pids;

            if (!json_is_array(v))
                return shape_error(r, where, f->key, "an array of pids");
            count = json_array_size(v);
            pids = arena_array(r->arena, count ? count : 1, sizeof(int32_t));
            if (pids == NULL)
                goto oom;
            for (j = 0; j < count; j++)
            {
                json_t *e = json_array_get(v, j);

                if (!json_is_integer(e) || json_integer_value(e) < 0 ||
                    json_integer_value(e) > INT32_MAX)
                    return shape_error(r, where, f->key, "an array of pids");
                pids[j] = (int32_t) json_integer_value(e);
            }
            memcpy(at, &pids, sizeof(pids));
            memcpy(p + f->aux, &count, sizeof(count));
            break;
        }
        case F_STRS:
        {
            size_t count, j;
            const char **strs;

            if (!json_is_array(v))
                return shape_error(r, where, f->key, "an array of strings");
            count = json_array_size(v);
            strs = arena_array(r->arena, count ? count : 1, sizeof(char *));
            if (strs == NULL)
                goto oom;
            for (j = 0; j < count; j++)
            {
                json_t *e = json_array_get(v, j);

                if (!json_is_string(e))
                    return shape_error(r, where, f->key, "an array of strings");
                strs[j] = arena_strndup(r->arena, json_string_value(e), json_string_length(e));
                if (strs[j] == NULL)
                    goto oom;
            }
            memcpy(at, &strs, sizeof(strs));
            memcpy(p + f->aux, &count, sizeof(count));
            break;
        }
        }
    }
    return 0;

oom:
    pm_error_set(r->err, "out of memory");
    return -1;
}

/* Defaults for numbers that mean "unknown" when absent. */
static void
session_defaults(Session *s)
{
    s->xact_age_s = s->query_age_s = s->state_age_s = s->lock_wait_s = -1;
}

static void
table_defaults(TableStat *t)
{
    t->idx_scan = -1;
    t->last_analyze_age_s = t->last_vacuum_age_s = -1;
}

static int
read_object(Reader *r, json_t *root, const char *key, void *base, const Field *fields, size_t n)
{
    json_t *obj = json_object_get(root, key);

    if (obj == NULL || json_is_null(obj))
        return 0;
    if (!json_is_object(obj))
        return shape_error(r, "", key, "an object");
    return read_fields(r, key, obj, base, fields, n);
}

static int
read_array(Reader *r, json_t *root, const ArrayDesc *a, Snapshot *snap)
{
    json_t *arr = json_object_get(root, a->key);
    size_t count, j;
    char *items;

    if (arr == NULL || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return shape_error(r, "", a->key, "an array");
    count = json_array_size(arr);
    items = arena_array(r->arena, count ? count : 1, a->elem_size);
    if (items == NULL)
    {
        pm_error_set(r->err, "out of memory");
        return -1;
    }
    for (j = 0; j < count; j++)
    {
        json_t *e = json_array_get(arr, j);
        void *item = items + j * a->elem_size;

        if (!json_is_object(e))
            return shape_error(r, "", a->key, "an array of objects");
        if (a->fields == session_fields)
            session_defaults(item);
        else if (a->fields == table_fields)
            table_defaults(item);
        if (read_fields(r, a->key, e, item, a->fields, a->n_fields) != 0)
            return -1;
    }
    memcpy((char *) snap + a->array_offset, &items, sizeof(items));
    memcpy((char *) snap + a->count_offset, &count, sizeof(count));
    return 0;
}

static int
read_root(Reader *r, json_t *root, Snapshot *snap)
{
    json_t *v, *status;
    size_t i;

    if (!json_is_object(root))
    {
        pm_error_set(r->err, "invalid snapshot in \"%s\": not a JSON object", r->source);
        return -1;
    }
    v = json_object_get(root, "pgmedic");
    if (!json_is_integer(v) || json_integer_value(v) != SNAPSHOT_JSON_VERSION)
    {
        pm_error_set(r->err, "\"%s\" is not a pgmedic snapshot", r->source);
        pm_error_hint(r->err, "Save one with \"pgmedic snapshot > FILE\".");
        return -1;
    }
    v = json_object_get(root, "target");
    if (json_is_string(v))
    {
        snap->target = arena_strdup(r->arena, json_string_value(v));
        if (snap->target == NULL)
            goto oom; /* was unchecked: out of memory read as "no target" */
    }
    v = json_object_get(root, "taken_at");
    if (!json_is_string(v) || pm_parse_iso8601(json_string_value(v), &snap->taken_at) != 0)
        return shape_error(r, "", "taken_at", "a time such as \"2026-11-29T15:00:00.000Z\"");

    status = json_object_get(root, "status");
    if (!json_is_object(status))
        return shape_error(r, "", "status", "an object");
    v = json_object_get(status, "failure");
    if (v == NULL || json_is_null(v))
        snap->failure = CONN_OK;
    else
    {
        int f = json_is_string(v) ? snapshot_failure_from_name(json_string_value(v)) : -1;

        if (f < 0)
            return shape_error(r, "status", "failure", "a failure kind such as \"server_down\"");
        snap->failure = (ConnFailure) f;
    }
    if (read_fields(r, "status", status, snap, status_fields, PM_LENGTHOF(status_fields)) != 0 ||
        read_object(r, root, "server", snap, server_fields, PM_LENGTHOF(server_fields)) != 0 ||
        read_object(r, root, "connections", snap, connection_fields,
                    PM_LENGTHOF(connection_fields)) != 0)
        return -1;
    for (i = 0; i < PM_LENGTHOF(arrays); i++)
        if (read_array(r, root, &arrays[i], snap) != 0)
            return -1;

    snap->has_statements = json_is_true(json_object_get(root, "has_statements"));
    snap->host.wal_dir_bytes = snap->host.mem_total_bytes = snap->host.mem_available_bytes = -1;
    if (read_object(r, root, "host", snap, host_fields, PM_LENGTHOF(host_fields)) != 0)
        return -1;
    v = json_object_get(root, "wal");
    if (json_is_object(v))
    {
        json_t *b = json_object_get(v, "bytes"), *f = json_object_get(v, "files");

        if (!json_is_integer(b) || !json_is_integer(f))
            return shape_error(r, "wal", "bytes", "an integer");
        snap->wal_bytes = json_integer_value(b);
        snap->wal_files = json_integer_value(f);
    }
    v = json_object_get(root, "notes");
    if (json_is_array(v))
    {
        size_t n = json_array_size(v);

        snap->notes = arena_array(r->arena, n ? n : 1, sizeof(char *));
        if (snap->notes == NULL)
            goto oom;
        for (i = 0; i < n; i++)
        {
            json_t *e = json_array_get(v, i);

            if (!json_is_string(e))
                return shape_error(r, "", "notes", "an array of strings");
            snap->notes[i] = arena_strdup(r->arena, json_string_value(e));
            if (snap->notes[i] == NULL)
                goto oom;
        }
        snap->n_notes = n;
    }
    return 0;

oom:
    pm_error_set(r->err, "out of memory");
    return -1;
}

int
snapshot_json_read(const char *text, size_t len, const char *source, Arena *arena, Snapshot *snap,
                   PmError *err)
{
    Reader r = {arena, source, err};
    json_error_t jerr;
    json_t *root;
    int rc;

    memset(snap, 0, sizeof(*snap));
    snap->wal_bytes = snap->wal_files = -1;
    /* jansson leaves jerr unset when it cannot set up its lexer (see below). */
    memset(&jerr, 0, sizeof(jerr));
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    /* jansson fails without a message when it cannot even set up its lexer. */
    if (root == NULL &&
        (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0'))
    {
        pm_error_set(err, "out of memory");
        return -1;
    }
    if (root == NULL)
    {
        char *c;

        /*
         * jansson quotes the input near the error, control bytes included
         * (fuzzing: a newline, an escape sequence): keep the message one
         * clean line for the terminal, as amwebhook.c does.
         */
        for (c = jerr.text; *c != '\0'; c++)
        {
            if ((unsigned char) *c < 0x20 || *c == 0x7f)
                *c = '?';
        }
        pm_error_set(err, "could not parse snapshot \"%s\": line %d, column %d: %s", source,
                     jerr.line, jerr.column, jerr.text);
        return -1;
    }
    rc = read_root(&r, root, snap);
    json_decref(root);
    return rc;
}
