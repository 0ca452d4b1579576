/*
 * snapshot.h - what one probe of a server saw, as plain data.
 *
 * A Snapshot is filled by the probe (src/pg/probe.c) or read back from JSON
 * (snapshot_read.c) and then only read by the pure core.  Every string and
 * array lives in the Arena of the cycle that made it; nothing here is freed
 * on its own.  Times are seconds as doubles; "age" fields are measured on the
 * server's clock at the moment of the snapshot, so a saved snapshot replays
 * exactly as it was seen.
 */
#ifndef PGMEDIC_CORE_SNAPSHOT_H
#define PGMEDIC_CORE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a server could not be reached; CONN_OK when it was. */
typedef enum
{
    CONN_OK = 0,
    CONN_SERVER_DOWN,      /* refused, no socket: nothing listens */
    CONN_TIMEOUT,          /* no answer before the deadline: hung */
    CONN_TOO_MANY_CLIENTS, /* login refused: slots exhausted */
    CONN_CONNECTION_LIMIT, /* login refused: the role's or database's CONNECTION LIMIT */
    CONN_AUTH_FAILURE,     /* password / pg_hba.conf */
    CONN_DATABASE_MISSING, /* database does not exist */
    CONN_STARTING_UP,      /* 57P03 while starting */
    CONN_SHUTTING_DOWN,    /* 57P03 while shutting down */
    CONN_IN_RECOVERY,      /* refused because in recovery */
    CONN_NO_ATTEMPT,       /* invalid connection options: nothing was tried */
    CONN_ERROR             /* reached, but failed otherwise */
} ConnFailure;

/* Clients grouped by state, application, client address and role. */
typedef struct
{
    const char *state; /* "active", "idle", "idle in transaction", ... */
    const char *application;
    const char *client; /* address, or "local" for a unix socket */
    const char *user;
    int64_t count;
    double oldest_state_age_s; /* longest time in this state (state_change) */
} BackendGroup;

/*
 * A client session worth a look: active past the lowest slow threshold, idle
 * in transaction (any variant), waiting on a lock, or blocking someone.
 */
typedef struct
{
    int32_t pid;
    const char *user;
    const char *application;
    const char *client;
    const char *database;
    const char *state;
    const char *backend_start; /* server text; with pid, the backend's identity */
    double backend_age_s;
    double xact_age_s; /* -1 when no transaction is open */
    double query_age_s; /* -1 when no query was ever run */
    double state_age_s;
    const char *wait_event_type; /* NULL when not waiting */
    const char *wait_event;
    double lock_wait_s; /* from pg_locks.waitstart; -1 when not waiting on a lock */
    int32_t *blocked_by; /* pg_blocking_pids(); only for lock waiters */
    size_t n_blocked_by;
    const char *query; /* truncated */
    const char *query_start; /* server text; identifies the query a fix acts on */
    const char *xact_start;  /* server text; identifies the transaction */
    bool is_superuser;       /* the session's role */
} Session;

/* One user table's statistics (pg_stat_user_tables plus size). */
typedef struct
{
    uint32_t oid;
    const char *schema;
    const char *name;
    int64_t n_live_tup;
    int64_t n_dead_tup;
    int64_t n_mod_since_analyze;
    int64_t seq_scan;
    int64_t seq_tup_read;
    int64_t idx_scan; /* -1 when the table has no index */
    int64_t size_bytes;
    double last_analyze_age_s; /* manual or auto, the latest; -1 when never */
    double last_vacuum_age_s;  /* manual or auto, the latest; -1 when never */
    const char **indexed_columns; /* leading column of each index of the table */
    size_t n_indexed_columns;
    bool autovacuum_disabled; /* reloptions autovacuum_enabled=false */
} TableStat;

/* A statement from pg_stat_statements (top by total time); absent without it. */
typedef struct
{
    int64_t queryid;
    const char *query; /* normalised text, truncated */
    int64_t calls;
    double total_exec_ms;
    double mean_exec_ms;
    int64_t rows;
    int64_t shared_blks_read; /* with hit, tells scans from cached reads */
    int64_t shared_blks_hit;
} Statement;

/*
 * Facts from the database host itself, when pgmedic runs on it and can read
 * the data directory (available == false otherwise; nothing else is valid).
 */
typedef struct
{
    bool available;
    const char *data_directory;
    int64_t data_fs_total_bytes; /* statvfs of the data directory */
    int64_t data_fs_free_bytes;  /* available to unprivileged users */
    int64_t wal_fs_total_bytes;  /* statvfs of pg_wal (may be another mount) */
    int64_t wal_fs_free_bytes;
    int64_t wal_dir_bytes;      /* sum of pg_wal file sizes, -1 unknown */
    int64_t mem_total_bytes;    /* /proc/meminfo, -1 unknown */
    int64_t mem_available_bytes;
    const char *log_file;       /* the server log read, NULL when none */
    const char **log_lines;     /* its last FATAL / PANIC / ERROR lines, oldest first */
    size_t n_log_lines;
} HostInfo;

typedef struct
{
    const char *name;
    const char *value; /* as pg_settings.setting */
    const char *unit;  /* NULL when unitless */
} Setting;

typedef struct
{
    /* Who and when. */
    const char *target; /* "dbname@host:port", never with a password */
    double taken_at;    /* Unix time, client clock */

    /* Reaching the server. */
    ConnFailure failure;
    const char *failure_message; /* libpq's text, trimmed; NULL when reachable */
    double connect_s;            /* time to a ready connection */
    /*
     * The normal login was refused for lack of slots and this snapshot was
     * taken through the target's reserved_conninfo (a role that may use the
     * reserved slots).  refused_message is the refusal.
     */
    bool via_reserved_slot;
    const char *refused_message;
    double probe_s;              /* time of the whole snapshot round trip */

    /* Server (valid only when failure == CONN_OK). */
    const char *version; /* "15.18" */
    int32_t version_num; /* 150018 */
    double uptime_s;
    bool in_recovery;
    const char *database;
    const char *role;
    bool is_superuser;
    bool has_pg_monitor;
    int32_t own_pid;

    /* Connection slots. */
    int64_t max_connections;
    int64_t superuser_reserved;
    int64_t reserved; /* reserved_connections, 16+; 0 before */
    int64_t n_clients; /* client backends, pgmedic's own excluded */
    int64_t n_active;
    int64_t n_idle;
    int64_t n_idle_in_transaction; /* both plain and (aborted) */
    int64_t n_waiting_lock;
    double longest_query_s; /* the oldest active query, 0 when none */
    double longest_xact_s;  /* the oldest open transaction, 0 when none */
    int32_t longest_query_pid; /* who runs the oldest active query, 0 when none */
    const char *longest_query_application;
    bool longest_query_waiting; /* that query waits on a lock */
    int64_t checksum_failures;  /* sum of pg_stat_database.checksum_failures; 0 when none */

    BackendGroup *groups;
    size_t n_groups;
    Session *sessions;
    size_t n_sessions;
    TableStat *tables;
    size_t n_tables;
    Setting *settings;
    size_t n_settings;

    /* WAL directory; wal_bytes < 0 when it could not be read (see notes). */
    int64_t wal_bytes;
    int64_t wal_files;

    /* pg_stat_statements; has_statements false when not installed/readable. */
    bool has_statements;
    Statement *statements;
    size_t n_statements;

    HostInfo host;
    const char *server_log_file; /* pg_current_logfile(), NULL when unknown */

    /* What could not be collected, and why (e.g. a missing privilege). */
    const char **notes;
    size_t n_notes;
} Snapshot;

/* "server_down", "timeout", ... ; "ok" for CONN_OK. Never NULL. */
const char *snapshot_failure_name(ConnFailure failure);

/* The inverse; -1 when name is not a failure kind. */
int snapshot_failure_from_name(const char *name);

/*
 * inside was taken through the target's reserved_conninfo after refused
 * (normal logins refused for lack of slots).  When inside reached the
 * server it becomes the snapshot of the target: marked via_reserved_slot,
 * with refused's message and target name; true.  Otherwise false, and the
 * caller keeps refused.
 */
bool snapshot_take_inside(Snapshot *inside, const Snapshot *refused);

/*
 * Whether pgmedic may signal superusers' sessions on this server: its role
 * is a superuser, and it does not look through reserved_conninfo (that role
 * is for getting in when the server is full, and acts only where the
 * ordinary role could).
 */
bool snapshot_may_signal_superuser(const Snapshot *snap);

/* Usable slots for ordinary roles: max_connections minus the reserved ones. */
int64_t snapshot_usable_slots(const Snapshot *snap);

/* The setting named name, or NULL. */
const Setting *snapshot_setting(const Snapshot *snap, const char *name);

/* The session with that pid, or NULL. */
const Session *snapshot_session(const Snapshot *snap, int32_t pid);

/* A setting's value in bytes (8kB pages, kB, MB, ...); -1 when absent or not a size. */
int64_t snapshot_setting_bytes(const Snapshot *snap, const char *name);

/* True for "idle in transaction" and "idle in transaction (aborted)". */
bool snapshot_state_is_idle_in_xact(const char *state);

#endif
