/*
 * diagnose.c - the causes behind the runbook's alerts, from one snapshot.
 *
 * Each diagnose_* function below looks for one kind of cause and appends a
 * finding to Diag.found; diagnose_run() then adds an "unexplained" finding
 * for every firing alert nothing explains and ranks the lot.  Counts a human
 * would want when nothing is found are kept in Diag for that finding.
 */
#include "core/diagnose.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"

#define ALERT_FAILURE     "DatabaseConnectionFailure"
#define ALERT_CONNECTIONS "DatabaseHighConnections"
#define ALERT_SLOW        "DatabaseSlowQueries"

static const double IMPACT_OUTAGE = 1e9;
static const double IMPACT_DISK_FULL = 2e9;
static const double MICROSECOND = 1e-6;
static const int64_t MIB = 1024 * 1024;
static const int64_t GIB = 1024 * 1024 * 1024;

enum
{
    MAX_INDEX_COLUMNS = 3, /* columns of a proposed index */
    MAX_INDEX_ACTIONS = 3, /* distinct create-index proposals per table */
    MAX_LISTED = 8,        /* applications, clients, users listed */
    MAX_ROOTS_LISTED = 5,  /* root blockers described, busiest applications */
    MAX_REFS = 64,         /* table references looked at in one statement */
    NAME_MAX_BYTES = 63    /* NAMEDATALEN - 1 */
};

typedef struct
{
    const Snapshot *snap;
    const Thresholds *th;
    const AlertList *alerts;
    Arena *arena;
    FindingList found;

    /* What was looked at, for "unexplained" and for the slow-query fallback. */
    bool slow_explained;     /* lock_contention or long_running_query found */
    size_t n_idle_past;      /* idle sessions past idle_connection */
    size_t n_iit_past;       /* idle in transaction past its threshold */
    size_t n_lock_waiters;   /* sessions waiting on a lock */
    size_t n_orphan_waiters; /* of those, with no blocker recorded */
} Diag;

/* --- small helpers --- */

static const char *
str_or(const char *s, const char *dflt)
{
    return s != NULL && s[0] != '\0' ? s : dflt;
}

static bool
str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static const Alert *
firing(const AlertList *alerts, const char *name)
{
    size_t i;

    if (alerts == NULL)
        return NULL;
    for (i = 0; i < alerts->n_alerts; i++)
        if (str_eq(alerts->alerts[i].name, name))
            return &alerts->alerts[i];
    return NULL;
}

/*
 * Starts a finding that explains alert_name when that alert fires (and
 * explain is true), taking its severity; otherwise a latent one of severity
 * latent.
 */
static void
begin(Diag *d, FindingBuilder *b, const char *kind, const char *alert_name, bool explain,
      Severity latent, double impact)
{
    const Alert *a = explain ? firing(d->alerts, alert_name) : NULL;

    finding_begin(b, d->arena, kind, a ? a->name : NULL, a ? a->severity : latent, impact);
}

static int
finish(Diag *d, FindingBuilder *b)
{
    return finding_finish(b, &d->found);
}

/* "1,234,567" (counts are never negative). */
static void
fmt_count(int64_t v, char *buf, size_t size)
{
    char digits[32];
    size_t n, i, o = 0;

    snprintf(digits, sizeof(digits), "%lld", (long long) v);
    n = strlen(digits);
    for (i = 0; i < n && o + 1 < size; i++)
    {
        if (i > 0 && (n - i) % 3 == 0 && o + 2 < size)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

static void
fmt_bytes(int64_t v, char *buf, size_t size)
{
    if (v >= GIB)
        snprintf(buf, size, "%.1f GiB", (double) v / (double) GIB);
    else if (v >= MIB)
        snprintf(buf, size, "%.1f MiB", (double) v / (double) MIB);
    else
        snprintf(buf, size, "%lld bytes", (long long) v);
}

static bool
is_lock_waiter(const Session *s)
{
    return str_eq(s->wait_event_type, "Lock") || s->n_blocked_by > 0 || s->lock_wait_s >= 0;
}

static bool
past_ms(double seconds, int64_t threshold_ms)
{
    return seconds >= 0 && seconds * 1000.0 >= (double) threshold_ms;
}

/* Adds s to a small set of distinct strings; the first MAX_LISTED are kept. */
static void
set_add(const char **set, size_t *n, const char *s)
{
    size_t i;

    for (i = 0; i < *n; i++)
        if (strcmp(set[i], s) == 0)
            return;
    if (*n < MAX_LISTED)
        set[(*n)++] = s;
}

static void
buf_append(char *buf, size_t size, const char *s)
{
    size_t o = strlen(buf);

    if (o < size)
        snprintf(buf + o, size - o, "%s", s);
}

/* An identifier as regclass input takes it: quoted unless plain lower case. */
static bool
plain_ident(const char *s)
{
    const char *p;

    if (s == NULL || !((*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    for (p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '$'))
            return false;
    return true;
}

static void
append_ident(char *buf, size_t size, const char *s)
{
    size_t o = strlen(buf);
    const char *p;

    if (plain_ident(s))
    {
        snprintf(buf + o, size - o, "%s", s);
        return;
    }
    if (o + 1 < size)
        buf[o++] = '"';
    for (p = s ? s : ""; *p && o + 2 < size; p++)
    {
        if (*p == '"')
            buf[o++] = '"';
        buf[o++] = *p;
    }
    if (o + 1 < size)
        buf[o++] = '"';
    buf[o] = '\0';
}

/* "schema.table", each part quoted when needed. */
static void
rel_name(const TableStat *t, char *buf, size_t size)
{
    buf[0] = '\0';
    append_ident(buf, size, str_or(t->schema, "public"));
    buf_append(buf, size, ".");
    append_ident(buf, size, t->name);
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static void
cut_utf8(char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return;
    n = max;
    while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
        n--;
    s[n] = '\0';
}

/* Drops a UTF-8 sequence that snprintf() cut short at the end of s. */
static void
trim_partial_utf8(char *s)
{
    size_t n = strlen(s), lead = n, need;
    unsigned char c;

    while (lead > 0 && n - lead < 4 && ((unsigned char) s[lead - 1] & 0xC0) == 0x80)
        lead--;
    if (lead == 0)
        return;
    c = (unsigned char) s[lead - 1];
    need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (n - (lead - 1) < need)
        s[lead - 1] = '\0';
}

/* --- connection failures and host facts --- */

/* The last few FATAL / PANIC lines of the server log (or those containing needle). */
static void
add_log_lines(FindingBuilder *b, const HostInfo *host, const char *needle)
{
    const char *picked[DIAGNOSE_MAX_LOG_LINES];
    const char *ordered[DIAGNOSE_MAX_LOG_LINES];
    size_t n = 0, i;

    if (!host->available || host->n_log_lines == 0)
        return;
    for (i = host->n_log_lines; i > 0 && n < DIAGNOSE_MAX_LOG_LINES; i--)
    {
        const char *line = host->log_lines[i - 1];

        if (line != NULL &&
            (needle != NULL ? strstr(line, needle) != NULL
                            : (strstr(line, "FATAL") != NULL || strstr(line, "PANIC") != NULL)))
            picked[n++] = line;
    }
    if (n == 0)
        return;
    for (i = 0; i < n; i++)
        ordered[i] = picked[n - 1 - i];
    finding_str(b, "log_file", host->log_file);
    finding_strs(b, "log_lines", ordered, n);
}

static bool fs_short(int64_t free_bytes, int64_t total_bytes);

/* A restart cannot cure a server that stopped on a full disk: it would stop again. */
static bool
disk_is_full(const HostInfo *h)
{
    return h->available && (fs_short(h->data_fs_free_bytes, h->data_fs_total_bytes) ||
                            fs_short(h->wal_fs_free_bytes, h->wal_fs_total_bytes));
}

static void
restart_action(FindingBuilder *b, const Snapshot *snap)
{
    if (disk_is_full(&snap->host))
        finding_advice(b, "The disk is full (see disk_full): free space first, then restart "
                          "(pgmedic fix restart); on a full disk the server stops again.");
    else
        finding_action(b, "pgmedic fix restart");
}

static int
diagnose_failure(Diag *d)
{
    const Snapshot *snap = d->snap;
    const char *target = str_or(snap->target, "?");
    const char *msg = str_or(snap->failure_message, "no detail");
    FindingBuilder b;

    begin(d, &b, snapshot_failure_name(snap->failure), ALERT_FAILURE, true, SEV_CRITICAL,
          IMPACT_OUTAGE);
    switch (snap->failure)
    {
        case CONN_SERVER_DOWN:
            finding_summary(&b, "nothing answers at %s: the server is down (%s)", target, msg);
            restart_action(&b, snap);
            finding_advice(&b, "Restart PostgreSQL, then re-probe. If it is still down after the "
                               "restart, escalate (runbook §11).");
            finding_advice(&b,
                           "Read the server log for why it stopped before restarting it again.");
            break;
        case CONN_TIMEOUT:
            finding_summary(&b,
                            "%s did not answer within %.1fs: the server or its host is hung (%s)",
                            target, snap->connect_s, msg);
            restart_action(&b, snap);
            finding_advice(
                &b, "Check the host before restarting: load, memory (free -h), disk (df -h), "
                    "and whether the postmaster is stopped or swapping.");
            finding_advice(
                &b, "If it is still unresponsive after the restart, escalate (runbook §11).");
            break;
        case CONN_TOO_MANY_CLIENTS:
            finding_summary(&b, "%s refuses logins: every connection slot is taken (%s)", target,
                            msg);
            finding_advice(&b,
                           "Configure reserved_conninfo for this target (a superuser, or on "
                           "PostgreSQL 16+ a role granted pg_use_reserved_connections) so pgmedic "
                           "can log in through a reserved slot and name the sessions holding "
                           "the slots.");
            finding_advice(&b,
                           "Then follow the DatabaseHighConnections path: triage through the "
                           "reserved slot names leaked, idle-in-transaction and active sessions "
                           "and the command that frees each.");
            finding_advice(
                &b, "Without a way in, resetting the application's pool (pgmedic fix "
                    "reset-pool, the target's reset_pool_command) frees the slots it holds.");
            break;
        case CONN_CONNECTION_LIMIT:
        {
            /* "too many connections for role "app"" (or database): 53300 with free slots. */
            bool role = strstr(msg, "for role") != NULL;

            finding_summary(&b,
                            "the server at %s is up, but the %s pgmedic logs in with is at its "
                            "own CONNECTION LIMIT (%s)",
                            target, role ? "role" : "database", msg);
            finding_str(&b, "limit_of", role ? "role" : "database");
            finding_advice(&b, role ? "The server still has free slots: only this role is full. "
                                      "SELECT rolname, rolconnlimit FROM pg_roles shows the limits."
                                    : "The server still has free slots: only this database is "
                                      "full. SELECT datname, datconnlimit FROM pg_database shows "
                                      "the limits.");
            finding_advice(&b, "Look in as another role (a superuser or monitoring role with -U, "
                               "or the target's conninfo): pgmedic triage then names the "
                               "leaked and idle-in-transaction sessions holding the limit and "
                               "the command that frees each.");
            finding_advice(&b, role ? "Raise the limit only when the load is real: ALTER ROLE "
                                      "name CONNECTION LIMIT n."
                                    : "Raise the limit only when the load is real: ALTER "
                                      "DATABASE name CONNECTION LIMIT n.");
            finding_advice(&b, "The server itself is fine: do not restart it.");
            break;
        }
        case CONN_AUTH_FAILURE:
            finding_summary(&b, "the server at %s is up but refused pgmedic's login (%s)", target,
                            msg);
            if (strstr(msg, "pg_hba.conf") != NULL)
                finding_advice(&b, "Add a pg_hba.conf entry for this host, user and database, then "
                                   "reload the server (SELECT pg_reload_conf()).");
            finding_advice(&b,
                           "Check the password pgmedic uses (.pgpass, PGPASSWORD or the target's "
                           "conninfo) and that the role exists and may log in.");
            if (strstr(msg, "pg_hba.conf") == NULL)
                finding_advice(&b, "If the password is right, check pg_hba.conf: the entry that "
                                   "matches this host, user and database and its method.");
            finding_advice(&b, "The server itself is fine: do not restart it.");
            break;
        case CONN_DATABASE_MISSING:
            finding_summary(&b, "the server at %s is up but the database does not exist (%s)",
                            target, msg);
            finding_advice(&b,
                           "Check the database name in the target's conninfo (-d, PGDATABASE or "
                           "dbname=); psql -l lists the databases.");
            finding_advice(&b, "The server itself is fine: do not restart it.");
            break;
        case CONN_STARTING_UP:
            finding_summary(&b, "%s is starting up (%s)", target, msg);
            finding_advice(&b,
                           "Wait and re-probe (pgmedic status): after a crash, recovery replays "
                           "WAL and may take minutes.");
            finding_advice(&b, "If it stays in start-up, read the server log and escalate.");
            break;
        case CONN_SHUTTING_DOWN:
            finding_summary(&b, "%s is shutting down (%s)", target, msg);
            finding_advice(&b,
                           "Wait and re-probe: it refuses logins until it has stopped. If nobody "
                           "meant to stop it, escalate.");
            break;
        case CONN_IN_RECOVERY:
            finding_summary(&b, "%s is in recovery and refuses this login (%s)", target, msg);
            finding_advice(&b,
                           "Wait and re-probe. If this server should be the primary, a failover "
                           "or a restore may be under way: escalate.");
            break;
        case CONN_NO_ATTEMPT:
            finding_summary(&b,
                            "no connection to %s was attempted: the connection options are "
                            "invalid (%s)",
                            target, msg);
            finding_advice(&b, "Fix the target's connection options (conninfo, -h -p -U -d); the "
                               "message says which.");
            break;
        case CONN_OK:
        case CONN_ERROR:
        default:
            finding_summary(&b, "%s could not be reached (%s)", target, msg);
            finding_advice(&b, "Read the message and the server log; re-run with -v for details. "
                               "Escalate if the cause stays unclear (runbook §11).");
            break;
    }
    finding_str(&b, "target", target);
    finding_str(&b, "message", snap->failure_message);
    if (snap->failure == CONN_TIMEOUT)
        finding_real(&b, "connect_s", snap->connect_s);
    if (snap->host.available && snap->host.mem_available_bytes >= 0 &&
        snap->host.mem_total_bytes > 0)
    {
        finding_int(&b, "mem_available_bytes", snap->host.mem_available_bytes);
        finding_int(&b, "mem_total_bytes", snap->host.mem_total_bytes);
    }
    add_log_lines(&b, &snap->host, NULL);
    return finish(d, &b);
}

/* The normal login was refused for slots; pgmedic got in through a reserved one. */
static int
diagnose_reserved_slot(Diag *d)
{
    const Snapshot *snap = d->snap;
    int64_t usable = snapshot_usable_slots(snap);
    FindingBuilder b;

    /* Critical and tied to the failure alert even if no rule fired it. */
    finding_begin(&b, d->arena, "too_many_clients", ALERT_FAILURE, SEV_CRITICAL, IMPACT_OUTAGE);
    finding_summary(&b,
                    "%s refuses ordinary logins: %lld of %lld usable slots are taken; "
                    "pgmedic got in through a reserved slot",
                    str_or(snap->target, "?"), (long long) snap->n_clients, (long long) usable);
    finding_str(&b, "target", str_or(snap->target, "?"));
    finding_str(&b, "refused_message", snap->refused_message);
    finding_int(&b, "connections", snap->n_clients);
    finding_int(&b, "usable_slots", usable);
    finding_int(&b, "headroom", usable - snap->n_clients);
    finding_advice(&b, "Treat the connection findings (leaked or idle-in-transaction sessions) to "
                       "free slots; clients get in again as soon as slots are free.");
    finding_advice(&b, "If nothing names the sessions, reset the application's pool (pgmedic fix "
                       "reset-pool).");
    return finish(d, &b);
}

static bool
fs_short(int64_t free_bytes, int64_t total_bytes)
{
    if (total_bytes <= 0 || free_bytes < 0)
        return false;
    return (double) free_bytes < 0.05 * (double) total_bytes || free_bytes < GIB;
}

static int
diagnose_disk(Diag *d)
{
    const HostInfo *h = &d->snap->host;
    bool data_short = fs_short(h->data_fs_free_bytes, h->data_fs_total_bytes);
    bool wal_short = fs_short(h->wal_fs_free_bytes, h->wal_fs_total_bytes);
    bool same = h->wal_fs_total_bytes == h->data_fs_total_bytes &&
                h->wal_fs_free_bytes == h->data_fs_free_bytes;
    char free_b[32], total_b[32];
    int64_t free_v, total_v;
    const char *which;
    FindingBuilder b;

    if (!h->available || !(data_short || wal_short))
        return 0;
    if (data_short && wal_short)
        which = same ? "the data and WAL filesystem" : "the data filesystem (and the WAL one)";
    else if (data_short)
        which = "the data filesystem";
    else
        which = "the WAL filesystem";
    free_v = data_short ? h->data_fs_free_bytes : h->wal_fs_free_bytes;
    total_v = data_short ? h->data_fs_total_bytes : h->wal_fs_total_bytes;
    fmt_bytes(free_v, free_b, sizeof(free_b));
    fmt_bytes(total_v, total_b, sizeof(total_b));

    /* Explains the failure alert only when the server is unreachable, not merely full. */
    begin(d, &b, "disk_full", ALERT_FAILURE, d->snap->failure != CONN_OK, SEV_CRITICAL,
          IMPACT_DISK_FULL);
    b.finding.severity = SEV_CRITICAL; /* a full disk is critical, alert or not */
    finding_summary(&b, "%s has %s free of %s (%.1f%%)", which, free_b, total_b,
                    100.0 * (double) free_v / (double) total_v);
    finding_str(&b, "data_directory", h->data_directory);
    finding_int(&b, "data_fs_free_bytes", h->data_fs_free_bytes);
    finding_int(&b, "data_fs_total_bytes", h->data_fs_total_bytes);
    if (h->wal_fs_total_bytes > 0)
    {
        finding_int(&b, "wal_fs_free_bytes", h->wal_fs_free_bytes);
        finding_int(&b, "wal_fs_total_bytes", h->wal_fs_total_bytes);
    }
    if (h->wal_dir_bytes >= 0)
        finding_int(&b, "wal_dir_bytes", h->wal_dir_bytes);
    add_log_lines(&b, h, "No space left on device");
    finding_advice(&b, "Free space now: delete server logs older than 7 days (find "
                       "/var/log/postgresql -name '*.log' -mtime +7 -delete) and whatever else "
                       "on that filesystem is not PostgreSQL's.");
    finding_advice(&b, "Never delete files under pg_wal by hand: the cluster would not start "
                       "again. If WAL is what grows, see wal_growth.");
    finding_advice(&b, "Escalate to the infrastructure team to grow the volume (runbook §11).");
    return finish(d, &b);
}

static int
diagnose_wal(Diag *d)
{
    const Snapshot *snap = d->snap;
    int64_t wal, max_wal = snapshot_setting_bytes(snap, "max_wal_size");
    bool max_known = max_wal > 0;
    const char *source;
    char wal_b[32], max_b[32];
    FindingBuilder b;

    if (snap->host.available && snap->host.wal_dir_bytes >= 0)
    {
        wal = snap->host.wal_dir_bytes;
        source = "pg_wal on the host";
    }
    else if (snap->failure == CONN_OK && snap->wal_bytes >= 0)
    {
        wal = snap->wal_bytes;
        source = "pg_ls_waldir()";
    }
    else
        return 0;
    if (!max_known)
        max_wal = GIB; /* the default; the setting was not collected */
    if (wal <= 2 * max_wal)
        return 0;
    fmt_bytes(wal, wal_b, sizeof(wal_b));
    fmt_bytes(max_wal, max_b, sizeof(max_b));
    begin(d, &b, "wal_growth", ALERT_FAILURE, snap->failure != CONN_OK, SEV_WARNING,
          (double) (wal - 2 * max_wal) / (double) MIB);
    finding_summary(&b, "pg_wal holds %s, more than twice max_wal_size (%s%s)", wal_b, max_b,
                    max_known ? "" : ", the default");
    finding_int(&b, "wal_bytes", wal);
    finding_str(&b, "wal_source", source);
    finding_int(&b, "max_wal_size_bytes", max_wal);
    finding_bool(&b, "max_wal_size_known", max_known);
    if (snap->host.available && snap->host.wal_fs_total_bytes > 0)
        finding_int(&b, "wal_fs_free_bytes", snap->host.wal_fs_free_bytes);
    finding_advice(&b, "WAL is kept past max_wal_size by a replication slot nobody consumes "
                       "(pg_replication_slots: inactive slots), a failing archive_command "
                       "(pg_stat_archiver.failed_count) or a large wal_keep_size. Fix that; the "
                       "next checkpoint then recycles the files.");
    finding_advice(&b, "Never delete files under pg_wal by hand.");
    finding_advice(&b, "If the disk is about to fill, escalate (runbook §11).");
    return finish(d, &b);
}

/* --- connections --- */

static void
add_headroom(FindingBuilder *b, const Snapshot *snap)
{
    int64_t usable = snapshot_usable_slots(snap);

    finding_int(b, "connections", snap->n_clients);
    finding_int(b, "usable_slots", usable);
    finding_int(b, "headroom", usable - snap->n_clients);
}

/* An idle session past idle_connection, and what it is grouped by. */
typedef struct
{
    const Session *s;
    const char *key; /* the application, or the client when it has none */
    bool by_app;
} IdleRef;

static int
idle_cmp(const void *pa, const void *pb)
{
    const IdleRef *a = pa, *b = pb;
    int c;

    if (a->by_app != b->by_app)
        return a->by_app ? -1 : 1;
    c = strcmp(a->key, b->key);
    if (c != 0)
        return c;
    return a->s->pid < b->s->pid ? -1 : a->s->pid > b->s->pid;
}

static int
leak_finding(Diag *d, const IdleRef *g, size_t n)
{
    const Snapshot *snap = d->snap;
    const char *clients[MAX_LISTED], *users[MAX_LISTED];
    size_t n_clients = 0, n_users = 0, i;
    int32_t *pids = arena_array(d->arena, n, sizeof(int32_t));
    double oldest = 0, sum = 0;
    int64_t total = 0;
    char idle_for[32], age[32];
    const char *quoted = finding_shell_quote(d->arena, g->key);
    FindingBuilder b;

    if (pids == NULL || quoted == NULL)
        return -1;
    for (i = 0; i < n; i++)
    {
        const Session *s = g[i].s;

        pids[i] = s->pid;
        sum += s->state_age_s;
        if (s->state_age_s > oldest)
            oldest = s->state_age_s;
        set_add(clients, &n_clients, str_or(s->client, "local"));
        set_add(users, &n_users, str_or(s->user, "?"));
    }
    for (i = 0; i < snap->n_groups; i++)
    {
        const BackendGroup *grp = &snap->groups[i];

        if (str_eq(grp->state, "idle") &&
            str_eq(g->by_app ? str_or(grp->application, "") : str_or(grp->client, "local"),
                   g->key) &&
            (g->by_app || str_or(grp->application, "")[0] == '\0'))
            total += grp->count;
    }
    format_duration_ms(d->th->idle_connection_ms, idle_for, sizeof(idle_for));
    format_age(oldest, age, sizeof(age));

    begin(d, &b, "connection_leak", ALERT_CONNECTIONS, true, SEV_WARNING, sum);
    if (g->by_app)
        finding_summary(&b,
                        "%zu sessions of application \"%s\" idle for more than %s (oldest %s): "
                        "a connection leak",
                        n, g->key, idle_for, age);
    else
        finding_summary(&b,
                        "%zu sessions without an application name from %s idle for more "
                        "than %s (oldest %s): a connection leak",
                        n, g->key, idle_for, age);
    if (g->by_app)
    {
        finding_str(&b, "application", g->key);
        finding_strs(&b, "client_addresses", clients, n_clients);
    }
    else
        finding_str(&b, "client", g->key);
    finding_strs(&b, "users", users, n_users);
    finding_int(&b, "idle_sessions", (int64_t) n);
    if (total > 0)
        finding_int(&b, "idle_total", total);
    finding_real(&b, "oldest_idle_s", oldest);
    finding_str(&b, "idle_connection", idle_for);
    finding_pids(&b, "pids", pids, n);
    add_headroom(&b, snap);
    finding_action(&b, "pgmedic fix terminate-idle --%s %s --idle-for %s",
                   g->by_app ? "application" : "client", quoted, idle_for);
    finding_advice(&b, "Pool connections: with Prisma, set connection_limit in the database URL "
                       "(postgresql://...?connection_limit=5); otherwise put PgBouncer in front of "
                       "the database.");
    finding_advice(&b,
                   "Find where %s opens connections and never closes them (an error path that "
                   "skips the release is the usual leak): terminating frees the slots only "
                   "until it leaks again.",
                   g->by_app ? g->key : "the client");
    return finish(d, &b);
}

static int
diagnose_leaks(Diag *d)
{
    const Snapshot *snap = d->snap;
    IdleRef *refs = arena_array(d->arena, snap->n_sessions ? snap->n_sessions : 1, sizeof(IdleRef));
    size_t n = 0, i, start;

    if (refs == NULL)
        return -1;
    for (i = 0; i < snap->n_sessions; i++)
    {
        const Session *s = &snap->sessions[i];

        if (!str_eq(s->state, "idle") || s->pid == snap->own_pid ||
            !past_ms(s->state_age_s, d->th->idle_connection_ms))
            continue;
        refs[n].s = s;
        refs[n].by_app = str_or(s->application, "")[0] != '\0';
        refs[n].key = refs[n].by_app ? s->application : str_or(s->client, "local");
        n++;
    }
    d->n_idle_past = n;
    qsort(refs, n, sizeof(IdleRef), idle_cmp);
    for (start = 0; start < n; start = i)
    {
        for (i = start + 1; i < n; i++)
            if (refs[i].by_app != refs[start].by_app || strcmp(refs[i].key, refs[start].key) != 0)
                break;
        if (i - start >= DIAGNOSE_LEAK_MIN_SESSIONS &&
            leak_finding(d, &refs[start], i - start) != 0)
            return -1;
    }
    return 0;
}

/*
 * idle_in_transaction_session_timeout as people write it: "0 (disabled)",
 * "5min" (pg_settings gives milliseconds).
 */
static void
iit_timeout_text(const Snapshot *snap, char *buf, size_t size)
{
    const Setting *s = snapshot_setting(snap, "idle_in_transaction_session_timeout");
    char *end = NULL;
    long long v = s != NULL && s->value != NULL ? strtoll(s->value, &end, 10) : -1;

    if (v < 0 || end == s->value || *end != '\0')
        snprintf(buf, size, "not collected");
    else if (v == 0)
        snprintf(buf, size, "0 (disabled)");
    else
        format_duration_ms(v, buf, size);
}

static int
diagnose_idle_in_transaction(Diag *d)
{
    const Snapshot *snap = d->snap;
    int32_t *pids = arena_array(d->arena, snap->n_sessions ? snap->n_sessions : 1, sizeof(int32_t));
    const char *apps[MAX_LISTED];
    size_t n = 0, n_apps = 0, i;
    int64_t aborted = 0;
    double sum = 0, longest_xact = 0;
    const Session *oldest = NULL;
    char idle_for[32], age[32], timeout[48];
    bool explains;
    FindingBuilder b;

    if (pids == NULL)
        return -1;
    for (i = 0; i < snap->n_sessions; i++)
    {
        const Session *s = &snap->sessions[i];

        if (!snapshot_state_is_idle_in_xact(s->state) || s->pid == snap->own_pid ||
            !past_ms(s->state_age_s, d->th->idle_in_transaction_ms))
            continue;
        pids[n++] = s->pid;
        sum += s->state_age_s;
        if (oldest == NULL || s->state_age_s > oldest->state_age_s)
            oldest = s;
        if (s->xact_age_s > longest_xact)
            longest_xact = s->xact_age_s;
        if (strstr(s->state, "aborted") != NULL)
            aborted++;
        set_add(apps, &n_apps, str_or(s->application, "(none)"));
    }
    d->n_iit_past = n;
    if (n == 0)
        return 0;
    format_duration_ms(d->th->idle_in_transaction_ms, idle_for, sizeof(idle_for));
    format_age(oldest->state_age_s, age, sizeof(age));
    iit_timeout_text(snap, timeout, sizeof(timeout));
    /* A handful among many clients is not why the slots are full. */
    explains = (int64_t) n * 10 >= snap->n_clients;

    begin(d, &b, "idle_in_transaction", ALERT_CONNECTIONS, explains, SEV_WARNING, sum);
    finding_summary(&b,
                    "%zu session%s idle in transaction for more than %s (oldest %s, pid %d, "
                    "application \"%s\")",
                    n, n == 1 ? "" : "s", idle_for, age, (int) oldest->pid,
                    str_or(oldest->application, ""));
    finding_int(&b, "sessions", (int64_t) n);
    finding_pids(&b, "pids", pids, n);
    finding_strs(&b, "applications", apps, n_apps);
    finding_real(&b, "oldest_idle_in_transaction_s", oldest->state_age_s);
    finding_int(&b, "oldest_pid", oldest->pid);
    finding_real(&b, "longest_xact_s", longest_xact);
    if (aborted > 0)
        finding_int(&b, "aborted", aborted);
    finding_str(&b, "idle_in_transaction_session_timeout", timeout);
    add_headroom(&b, snap);
    finding_action(&b, "pgmedic fix terminate-idle-in-transaction --idle-for %s", idle_for);
    finding_advice(&b,
                   "Set idle_in_transaction_session_timeout%s%s%s so the server ends such "
                   "sessions itself, e.g. ALTER DATABASE ... SET "
                   "idle_in_transaction_session_timeout = '%s'.",
                   str_eq(timeout, "not collected") ? "" : " (now ",
                   str_eq(timeout, "not collected") ? "" : timeout,
                   str_eq(timeout, "not collected") ? "" : ")", idle_for);
    finding_advice(&b, "An open transaction holds its locks and keeps VACUUM from removing dead "
                       "rows: find the code path that neither commits nor rolls back.");
    return finish(d, &b);
}

/* Active sessions of one application, summed over its groups. */
typedef struct
{
    const char *app;
    int64_t count;
} AppCount;

static int
app_count_cmp(const void *pa, const void *pb)
{
    const AppCount *a = pa, *b = pb;

    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->app, b->app);
}

static int
diagnose_surge(Diag *d)
{
    const Snapshot *snap = d->snap;
    AppCount *apps;
    size_t n_apps = 0, i, j;
    FindingBuilder b;

    if (firing(d->alerts, ALERT_CONNECTIONS) == NULL || snap->n_active * 2 <= snap->n_clients)
        return 0;
    /* The applications with the most active sessions, from the groups (few: no index needed). */
    apps = arena_array(d->arena, snap->n_groups + 1, sizeof(AppCount));
    if (apps == NULL)
        return -1;
    for (i = 0; i < snap->n_groups; i++)
    {
        const BackendGroup *g = &snap->groups[i];
        const char *app = str_or(g->application, "(none)");

        if (!str_eq(g->state, "active"))
            continue;
        for (j = 0; j < n_apps && strcmp(apps[j].app, app) != 0; j++)
            ;
        if (j == n_apps)
            apps[n_apps++].app = app;
        apps[j].count += g->count;
    }
    qsort(apps, n_apps, sizeof(AppCount), app_count_cmp);
    if (n_apps > MAX_ROOTS_LISTED)
        n_apps = MAX_ROOTS_LISTED;

    begin(d, &b, "connection_surge", ALERT_CONNECTIONS, true, SEV_WARNING, (double) snap->n_active);
    finding_summary(&b, "%lld of %lld clients are active: real load, not a leak",
                    (long long) snap->n_active, (long long) snap->n_clients);
    finding_int(&b, "active", snap->n_active);
    finding_int(&b, "idle", snap->n_idle);
    finding_int(&b, "idle_in_transaction", snap->n_idle_in_transaction);
    add_headroom(&b, snap);
    if (n_apps > 0)
    {
        const char *lines[MAX_ROOTS_LISTED];

        for (i = 0; i < n_apps; i++)
        {
            char line[160];

            snprintf(line, sizeof(line), "%s: %lld active", apps[i].app, (long long) apps[i].count);
            lines[i] = arena_strdup(d->arena, line);
            if (lines[i] == NULL)
                return -1;
        }
        finding_strs(&b, "active_by_application", lines, n_apps);
    }
    finding_advice(&b, "Do not terminate sessions: they are doing work.");
    finding_advice(&b, "Pool connections so that many clients share fewer server slots: PgBouncer "
                       "in transaction mode, or Prisma's connection_limit in the database URL.");
    finding_advice(&b, "Raise max_connections (a restart, and memory per connection) only after "
                       "pooling, if the load is expected to stay.");
    return finish(d, &b);
}

/* --- lock trees --- */

typedef struct
{
    int32_t pid;
    const Session *s; /* NULL: a blocker not in the snapshot */
} PidRef;

static int
pidref_cmp(const void *pa, const void *pb)
{
    const PidRef *a = pa, *b = pb;

    if (a->pid != b->pid)
        return a->pid < b->pid ? -1 : 1;
    /* Entries with a session first, so the unique pass keeps them. */
    return (a->s == NULL) - (b->s == NULL);
}

typedef struct
{
    size_t n;      /* nodes */
    PidRef *node;  /* sorted by pid */
    size_t *first; /* waiters of node v: wait[first[v] .. first[v + 1]) */
    size_t *wait;
    int *depth; /* longest chain of waiters below v, in edges */
    unsigned char *color;
    size_t *stamp; /* per-root visit marks */
    bool *reached; /* blocked by some root */
    size_t *stack; /* scratch for the walks, n each */
    size_t *next;
} LockGraph;

static size_t
node_of(const LockGraph *g, int32_t pid)
{
    size_t lo = 0, hi = g->n;

    while (lo < hi)
    {
        size_t mid = lo + (hi - lo) / 2;

        if (g->node[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->n && g->node[lo].pid == pid ? lo : g->n;
}

static bool
node_waits(const LockGraph *g, size_t v)
{
    return g->node[v].s != NULL && g->node[v].s->n_blocked_by > 0;
}

/* Builds the "who waits for whom" graph from blocked_by; -1 when out of memory. */
static int
lock_graph_build(Arena *arena, const Snapshot *snap, LockGraph *g)
{
    size_t n_edges = 0, n = 0, i, j, v;
    size_t *fill;

    for (i = 0; i < snap->n_sessions; i++)
        n_edges += snap->sessions[i].n_blocked_by;
    g->node = arena_array(arena, snap->n_sessions + n_edges + 1, sizeof(PidRef));
    if (g->node == NULL)
        return -1;
    for (i = 0; i < snap->n_sessions; i++)
    {
        const Session *s = &snap->sessions[i];

        g->node[n].pid = s->pid;
        g->node[n++].s = s;
        for (j = 0; j < s->n_blocked_by; j++)
        {
            g->node[n].pid = s->blocked_by[j];
            g->node[n++].s = NULL;
        }
    }
    qsort(g->node, n, sizeof(PidRef), pidref_cmp);
    g->n = 0;
    for (i = 0; i < n; i++)
        if (g->n == 0 || g->node[g->n - 1].pid != g->node[i].pid)
            g->node[g->n++] = g->node[i];

    g->first = arena_array(arena, g->n + 1, sizeof(size_t));
    g->wait = arena_array(arena, n_edges + 1, sizeof(size_t));
    fill = arena_array(arena, g->n + 1, sizeof(size_t));
    g->depth = arena_array(arena, g->n + 1, sizeof(int));
    g->color = arena_array(arena, g->n + 1, 1);
    g->stamp = arena_array(arena, g->n + 1, sizeof(size_t));
    g->reached = arena_array(arena, g->n + 1, sizeof(bool));
    g->stack = arena_array(arena, g->n + 1, sizeof(size_t));
    g->next = arena_array(arena, g->n + 1, sizeof(size_t));
    if (g->first == NULL || g->wait == NULL || fill == NULL || g->depth == NULL ||
        g->color == NULL || g->stamp == NULL || g->reached == NULL || g->stack == NULL ||
        g->next == NULL)
        return -1;
    /* Edges blocker -> waiter, in compressed rows; self-edges dropped. */
    for (v = 0; v < g->n; v++)
    {
        const Session *s = g->node[v].s;

        if (s == NULL)
            continue;
        for (j = 0; j < s->n_blocked_by; j++)
            if (s->blocked_by[j] != s->pid)
                g->first[node_of(g, s->blocked_by[j]) + 1]++;
    }
    for (v = 0; v < g->n; v++)
        g->first[v + 1] += g->first[v];
    for (v = 0; v < g->n; v++)
    {
        const Session *s = g->node[v].s;

        if (s == NULL)
            continue;
        for (j = 0; j < s->n_blocked_by; j++)
        {
            size_t blocker = node_of(g, s->blocked_by[j]);

            if (s->blocked_by[j] != s->pid)
                g->wait[g->first[blocker] + fill[blocker]++] = v;
        }
    }
    return 0;
}

/*
 * Longest chain of waiters below every node reachable from root, without
 * recursion (the input may be a long chain) and without following an edge
 * back into the current path (a cycle).  Linear over all roots: a node is
 * finished once.
 */
static void
lock_graph_depth(LockGraph *g, size_t root)
{
    enum
    {
        WHITE = 0,
        ON_PATH = 1,
        DONE = 2
    };

    size_t *stack = g->stack, *next = g->next, top = 0;

    /* A root waits for no one, so no earlier walk has reached it. */
    stack[top++] = root;
    g->color[root] = ON_PATH;
    next[root] = g->first[root];
    while (top > 0)
    {
        size_t v = stack[top - 1];

        if (next[v] < g->first[v + 1])
        {
            size_t w = g->wait[next[v]++];

            if (g->color[w] == WHITE)
            {
                g->color[w] = ON_PATH;
                next[w] = g->first[w];
                stack[top++] = w;
            }
            else if (g->color[w] == DONE && g->depth[w] + 1 > g->depth[v])
                g->depth[v] = g->depth[w] + 1;
            /* ON_PATH: a cycle; the edge adds nothing. */
        }
        else
        {
            g->color[v] = DONE;
            top--;
            if (top > 0 && g->depth[v] + 1 > g->depth[stack[top - 1]])
                g->depth[stack[top - 1]] = g->depth[v] + 1;
        }
    }
}

/* One root blocker and the sessions it blocks, directly or not. */
typedef struct
{
    size_t node;
    size_t n_blocked;
    double longest_wait_s;
    int32_t longest_waiter;
    double wait_sum_s;
    bool qualifies; /* a wait past lock_wait, or a blocked query past slow_query_warning */
} LockTree;

static int
tree_cmp(const void *pa, const void *pb)
{
    const LockTree *a = pa, *b = pb;

    if (a->wait_sum_s != b->wait_sum_s)
        return a->wait_sum_s > b->wait_sum_s ? -1 : 1;
    return a->node < b->node ? -1 : a->node > b->node;
}

static double
wait_of(const Session *s)
{
    return s->lock_wait_s > 0 ? s->lock_wait_s : 0;
}

static bool
wait_qualifies(const Diag *d, const Session *s)
{
    return past_ms(s->lock_wait_s, d->th->lock_wait_ms) ||
           (str_eq(s->state, "active") && past_ms(s->query_age_s, d->th->slow_query_warning_ms));
}

/*
 * Walks the sessions t->node blocks, directly or not, each once (stamp marks
 * them), filling the tree's counts and adding each to blocked[] unless
 * in_blocked says it is there.
 */
static void
lock_tree_walk(const Diag *d, LockGraph *g, LockTree *t, size_t stamp, int32_t *blocked,
               size_t *n_blocked_all, bool *in_blocked)
{
    size_t *queue = g->stack, head = 0, tail = 0;

    queue[tail++] = t->node;
    g->stamp[t->node] = stamp;
    while (head < tail)
    {
        size_t v = queue[head++], k;

        for (k = g->first[v]; k < g->first[v + 1]; k++)
        {
            size_t w = g->wait[k];
            const Session *s = g->node[w].s;

            if (g->stamp[w] == stamp)
                continue;
            g->stamp[w] = stamp;
            queue[tail++] = w;
            g->reached[w] = true;
            t->n_blocked++;
            t->wait_sum_s += wait_of(s);
            if (wait_of(s) > t->longest_wait_s || t->longest_waiter == 0)
            {
                t->longest_wait_s = wait_of(s);
                t->longest_waiter = s->pid;
            }
            if (wait_qualifies(d, s))
                t->qualifies = true;
            if (!in_blocked[w])
            {
                in_blocked[w] = true;
                blocked[(*n_blocked_all)++] = s->pid;
            }
        }
    }
}

static const char *
root_text(Diag *d, const LockGraph *g, const LockTree *t)
{
    const Session *s = g->node[t->node].s;
    char buf[512], age[32];

    if (s == NULL)
    {
        snprintf(buf, sizeof(buf),
                 "pid %d: not in the snapshot (it ended, or is not a client backend); blocks %zu",
                 (int) g->node[t->node].pid, t->n_blocked);
        return arena_strdup(d->arena, buf);
    }
    format_age(s->state_age_s, age, sizeof(age));
    snprintf(buf, sizeof(buf),
             "pid %d: %s for %s, application \"%s\", user %s; blocks %zu "
             "(chain depth %d): %s",
             (int) s->pid, str_or(s->state, "unknown"), age, str_or(s->application, ""),
             str_or(s->user, "?"), t->n_blocked, g->depth[t->node], str_or(s->query, ""));
    trim_partial_utf8(buf); /* a long query is cut at the buffer's end */
    return arena_strdup(d->arena, buf);
}

static int
diagnose_locks(Diag *d)
{
    const Snapshot *snap = d->snap;
    LockGraph g;
    LockTree *trees;
    int32_t *blocked, *cycle, *root_pids;
    bool *in_blocked;
    const char **roots;
    size_t n_trees = 0, n_blocked = 0, n_cycle = 0, n_roots = 0, v, i;
    double impact = 0, longest = 0, cycle_wait = 0, cycle_longest = 0;
    int32_t longest_pid = 0, cycle_longest_pid = 0;
    int depth = 0;
    bool cycle_qualifies = false;
    const Session *first_root = NULL;
    char lock_wait[32], age[32];
    FindingBuilder b;

    memset(&g, 0, sizeof(g));
    for (i = 0; i < snap->n_sessions; i++)
        if (is_lock_waiter(&snap->sessions[i]))
        {
            d->n_lock_waiters++;
            if (snap->sessions[i].n_blocked_by == 0)
                d->n_orphan_waiters++;
        }
    if (d->n_lock_waiters == d->n_orphan_waiters)
        return 0; /* no edge at all */
    if (lock_graph_build(d->arena, snap, &g) != 0)
        return -1;
    trees = arena_array(d->arena, g.n + 1, sizeof(LockTree));
    blocked = arena_array(d->arena, g.n + 1, sizeof(int32_t));
    cycle = arena_array(d->arena, g.n + 1, sizeof(int32_t));
    in_blocked = arena_array(d->arena, g.n + 1, sizeof(bool));
    if (trees == NULL || blocked == NULL || cycle == NULL || in_blocked == NULL)
        return -1;

    /* Roots: block someone, wait for no one. */
    for (v = 0; v < g.n; v++)
    {
        LockTree *t;

        if (g.first[v + 1] == g.first[v] || node_waits(&g, v))
            continue;
        t = &trees[n_trees++];
        memset(t, 0, sizeof(*t));
        t->node = v;
        lock_graph_depth(&g, v);
        lock_tree_walk(d, &g, t, n_trees, blocked, &n_blocked, in_blocked);
    }
    /* Waiters no root reaches wait in (or behind) a cycle. */
    for (v = 0; v < g.n; v++)
        if (node_waits(&g, v) && !g.reached[v])
        {
            cycle[n_cycle++] = g.node[v].pid;
            cycle_wait += wait_of(g.node[v].s);
            if (wait_qualifies(d, g.node[v].s))
                cycle_qualifies = true;
            if (wait_of(g.node[v].s) > cycle_longest || cycle_longest_pid == 0)
            {
                cycle_longest = wait_of(g.node[v].s);
                cycle_longest_pid = g.node[v].pid;
            }
        }
    if (cycle_qualifies)
    {
        impact = cycle_wait;
        longest = cycle_longest;
        longest_pid = cycle_longest_pid;
    }
    else
        n_cycle = 0;

    /* Keep the trees worth a look, the most time lost first. */
    qsort(trees, n_trees, sizeof(LockTree), tree_cmp);
    root_pids = arena_array(d->arena, n_trees + 1, sizeof(int32_t));
    roots = arena_array(d->arena, n_trees + 1, sizeof(char *));
    if (root_pids == NULL || roots == NULL)
        return -1;
    n_blocked = 0;
    memset(in_blocked, 0, (g.n + 1) * sizeof(bool));
    for (i = 0; i < n_trees; i++)
    {
        const LockTree *t = &trees[i];
        LockTree again = *t;

        if (!t->qualifies)
            continue;
        root_pids[n_roots] = g.node[t->node].pid;
        if (n_roots < MAX_ROOTS_LISTED && (roots[n_roots] = root_text(d, &g, t)) == NULL)
            return -1;
        if (n_roots == 0)
            first_root = g.node[t->node].s;
        n_roots++;
        impact += t->wait_sum_s;
        if (g.depth[t->node] > depth)
            depth = g.depth[t->node];
        if (t->longest_wait_s > longest || longest_pid == 0)
        {
            longest = t->longest_wait_s;
            longest_pid = t->longest_waiter;
        }
        /* The union of the kept trees' waiters, each once. */
        lock_tree_walk(d, &g, &again, n_trees + 1 + i, blocked, &n_blocked, in_blocked);
    }
    if (n_roots == 0 && n_cycle == 0)
        return 0;

    format_duration_ms(d->th->lock_wait_ms, lock_wait, sizeof(lock_wait));
    format_age(longest, age, sizeof(age));
    begin(d, &b, "lock_contention", ALERT_SLOW, true, SEV_WARNING, impact);
    if (n_roots == 1)
        finding_summary(&b, "pid %d (%s) blocks %zu session%s, chain depth %d, longest wait %s%s",
                        (int) root_pids[0],
                        first_root ? str_or(first_root->state, "unknown") : "not in the snapshot",
                        n_blocked, n_blocked == 1 ? "" : "s", depth, age,
                        first_root && snapshot_state_is_idle_in_xact(first_root->state)
                            ? ": the root blocker is idle in transaction, holding its locks while "
                              "the application does nothing"
                            : "");
    else if (n_roots > 1)
        finding_summary(&b,
                        "%zu root blockers block %zu sessions, deepest chain %d, longest "
                        "wait %s",
                        n_roots, n_blocked, depth, age);
    else
        finding_summary(&b, "%zu sessions wait on each other in a lock cycle (longest wait %s)",
                        n_cycle, age);
    if (n_roots > 0)
    {
        finding_pids(&b, "root_pids", root_pids, n_roots);
        finding_strs(&b, "roots", roots, n_roots < MAX_ROOTS_LISTED ? n_roots : MAX_ROOTS_LISTED);
        finding_pids(&b, "blocked_pids", blocked, n_blocked);
        finding_int(&b, "blocked_sessions", (int64_t) n_blocked);
        finding_int(&b, "depth", depth);
    }
    finding_real(&b, "longest_lock_wait_s", longest);
    finding_int(&b, "longest_waiter_pid", longest_pid);
    if (n_cycle > 0)
        finding_pids(&b, "cycle_pids", cycle, n_cycle);
    finding_str(&b, "lock_wait", lock_wait);
    if (n_roots > 0)
        finding_action(&b, "pgmedic fix terminate-blockers --lock-wait %s", lock_wait);
    if (first_root != NULL && snapshot_state_is_idle_in_xact(first_root->state))
        finding_advice(&b,
                       "pid %d is idle in transaction: application \"%s\" opened a "
                       "transaction and stopped talking. Ending it releases the locks and "
                       "rolls its work back; fix the code path that does not commit, and set "
                       "idle_in_transaction_session_timeout.",
                       (int) first_root->pid, str_or(first_root->application, ""));
    else if (first_root != NULL && str_eq(first_root->state, "active"))
        finding_advice(&b,
                       "pid %d is running a statement that holds the locks; ending it rolls "
                       "it back. If it is a migration or a batch job, ask its owner first.",
                       (int) first_root->pid);
    if (n_roots > 0)
        finding_advice(&b,
                       "terminate-blockers ends only the root blockers whose waiters have "
                       "waited longer than %s; the waiters then go on by themselves.",
                       lock_wait);
    if (n_cycle > 0)
        finding_advice(&b, "A lock cycle is a deadlock: PostgreSQL ends one of its sessions after "
                           "deadlock_timeout (1s by default). Re-probe; if it stays, escalate.");
    return finish(d, &b);
}

/* --- long queries --- */

static int
age_desc(const void *pa, const void *pb)
{
    const Session *a = *(const Session *const *) pa, *b = *(const Session *const *) pb;

    if (a->query_age_s != b->query_age_s)
        return a->query_age_s > b->query_age_s ? -1 : 1;
    return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static int
diagnose_long_queries(Diag *d)
{
    const Snapshot *snap = d->snap;
    const Session **long_ones =
        arena_array(d->arena, snap->n_sessions ? snap->n_sessions : 1, sizeof(Session *));
    int32_t *pids;
    const char *apps[MAX_LISTED];
    size_t n = 0, n_apps = 0, i;
    int64_t past_critical = 0;
    double sum = 0;
    char warn[32], crit[32], age[32];
    const Session *top;
    FindingBuilder b;

    if (long_ones == NULL)
        return -1;
    for (i = 0; i < snap->n_sessions; i++)
    {
        const Session *s = &snap->sessions[i];

        if (!str_eq(s->state, "active") || s->pid == snap->own_pid || is_lock_waiter(s) ||
            !past_ms(s->query_age_s, d->th->slow_query_warning_ms))
            continue;
        long_ones[n++] = s;
    }
    if (n == 0)
        return 0;
    qsort(long_ones, n, sizeof(Session *), age_desc);
    pids = arena_array(d->arena, n, sizeof(int32_t));
    if (pids == NULL)
        return -1;
    for (i = 0; i < n; i++)
    {
        pids[i] = long_ones[i]->pid;
        sum += long_ones[i]->query_age_s;
        if (past_ms(long_ones[i]->query_age_s, d->th->slow_query_critical_ms))
            past_critical++;
        set_add(apps, &n_apps, str_or(long_ones[i]->application, "(none)"));
    }
    top = long_ones[0];
    format_duration_ms(d->th->slow_query_warning_ms, warn, sizeof(warn));
    format_duration_ms(d->th->slow_query_critical_ms, crit, sizeof(crit));
    format_age(top->query_age_s, age, sizeof(age));

    begin(d, &b, "long_running_query", ALERT_SLOW, true, SEV_WARNING, sum);
    if (n == 1)
        finding_summary(&b,
                        "the query of pid %d (application \"%s\") has run for %s, not waiting "
                        "on a lock",
                        (int) top->pid, str_or(top->application, ""), age);
    else
        finding_summary(&b,
                        "%zu queries have run for more than %s, the longest %s (pid %d, "
                        "application \"%s\")",
                        n, warn, age, (int) top->pid, str_or(top->application, ""));
    finding_int(&b, "queries", (int64_t) n);
    finding_pids(&b, "pids", pids, n);
    finding_strs(&b, "applications", apps, n_apps);
    finding_int(&b, "longest_pid", top->pid);
    finding_real(&b, "longest_s", top->query_age_s);
    finding_str(&b, "user", top->user);
    finding_str(&b, "query", top->query);
    if (top->wait_event_type != NULL)
        finding_str(&b, "wait_event", top->wait_event_type);
    finding_int(&b, "past_critical", past_critical);
    finding_str(&b, "slow_query_critical", crit);
    if (past_critical > 0)
    {
        finding_action(&b, "pgmedic fix cancel-long --running-for %s", crit);
        finding_advice(&b,
                       "cancel-long cancels the queries running longer than %s: the statement "
                       "ends, the session stays. Look at the query's plan (EXPLAIN) before it "
                       "runs again.",
                       crit);
    }
    else
        finding_advice(&b,
                       "Below slow_query_critical (%s): watch it, or look at its plan with "
                       "EXPLAIN; cancel-long acts only past %s.",
                       crit, crit);
    return finish(d, &b);
}

/* --- statements: which tables they read, which columns they filter --- */

typedef enum
{
    T_IDENT,
    T_QIDENT,
    T_PARAM,
    T_NUMBER,
    T_STRING,
    T_OP,
    T_PUNCT
} TokType;

typedef struct
{
    const char *s;
    size_t len;
    TokType type;
    int depth; /* parentheses around the token; '(' and ')' count as outside */
} Tok;

typedef struct
{
    Tok *tok;
    size_t n;
} TokList;

static bool
ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool
ident_char(unsigned char c)
{
    return ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool
op_char(char c)
{
    return c != '\0' && strchr("+-*/<>=~!@#%^&|`?", c) != NULL;
}

/* Skips a quoted run opened by q at p[0]; doubled q is an escaped q. */
static const char *
skip_quoted(const char *p, char q)
{
    for (p++; *p; p++)
        if (*p == q)
        {
            if (p[1] != q)
                return p + 1;
            p++;
        }
    return p;
}

/* The next token from *pp; false at the end.  Comments are skipped. */
static bool
lex(const char **pp, int *depth, Tok *t)
{
    const char *p = *pp;
    unsigned char c;

    for (;;)
    {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
            p++;
        if (p[0] == '-' && p[1] == '-')
        {
            while (*p && *p != '\n')
                p++;
        }
        else if (p[0] == '/' && p[1] == '*')
        {
            int nest = 1;

            for (p += 2; *p && nest > 0; p++)
                if (p[0] == '/' && p[1] == '*')
                    nest++, p++;
                else if (p[0] == '*' && p[1] == '/')
                    nest--, p++;
        }
        else
            break;
    }
    if (*p == '\0')
        return false;
    t->s = p;
    t->depth = *depth;
    c = (unsigned char) *p;
    if (ident_start(c))
    {
        while (ident_char((unsigned char) *p))
            p++;
        t->type = T_IDENT;
    }
    else if (c == '"')
    {
        p = skip_quoted(p, '"');
        t->type = T_QIDENT;
    }
    else if (c == '\'')
    {
        p = skip_quoted(p, '\'');
        t->type = T_STRING;
    }
    else if (c == '$' && p[1] >= '0' && p[1] <= '9')
    {
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
        t->type = T_PARAM;
    }
    else if (c == '$')
    {
        /* $tag$ ... $tag$ */
        const char *tag_end = p + 1, *close;

        while (ident_char((unsigned char) *tag_end) && *tag_end != '$')
            tag_end++;
        if (*tag_end == '$')
        {
            size_t tag_len = (size_t) (tag_end - p) + 1;

            close = strstr(tag_end + 1, "$");
            while (close != NULL && strncmp(close, p, tag_len) != 0)
                close = strstr(close + 1, "$");
            p = close ? close + tag_len : p + strlen(p);
            t->type = T_STRING;
        }
        else
        {
            p++;
            t->type = T_OP;
        }
    }
    else if ((c >= '0' && c <= '9') || (c == '.' && p[1] >= '0' && p[1] <= '9'))
    {
        while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
               ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E')))
            p++;
        t->type = T_NUMBER;
    }
    else if (op_char((char) c))
    {
        /* The first character is no comment start: those were skipped above. */
        for (p++; op_char(*p) && !(p[0] == '-' && p[1] == '-') && !(p[0] == '/' && p[1] == '*');
             p++)
            ;
        t->type = T_OP;
    }
    else
    {
        p++;
        t->type = T_PUNCT;
        if (c == '(')
            (*depth)++;
        else if (c == ')' && *depth > 0)
            t->depth = --(*depth);
    }
    t->len = (size_t) (p - t->s);
    *pp = p;
    return true;
}

static int
tokenize(Arena *arena, const char *query, TokList *out)
{
    const char *p = query;
    size_t n = 0;
    int depth = 0;
    Tok t;

    while (lex(&p, &depth, &t))
        n++;
    out->n = 0;
    out->tok = arena_array(arena, n + 1, sizeof(Tok));
    if (out->tok == NULL)
        return -1;
    p = query;
    depth = 0;
    while (out->n < n && lex(&p, &depth, &out->tok[out->n]))
        out->n++;
    return 0;
}

static bool
tok_word(const Tok *t, const char *word)
{
    size_t n = strlen(word), i;

    if (t->type != T_IDENT || t->len != n)
        return false;
    for (i = 0; i < n; i++)
    {
        char c = t->s[i];

        if (c >= 'A' && c <= 'Z')
            c = (char) (c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

static bool
tok_in(const Tok *t, const char *const *words)
{
    for (; *words; words++)
        if (tok_word(t, *words))
            return true;
    return false;
}

static bool
tok_punct(const Tok *t, char c)
{
    return t->type == T_PUNCT && t->s[0] == c;
}

static bool
tok_op(const Tok *t, const char *op)
{
    return t->type == T_OP && t->len == strlen(op) && memcmp(t->s, op, t->len) == 0;
}

/* An identifier's name: unquoted folded to lower case, quoted unescaped. */
static void
tok_name(const Tok *t, char *buf, size_t size)
{
    size_t o = 0, i;

    if (t->type == T_QIDENT)
    {
        for (i = 1; i + 1 < t->len && o + 1 < size; i++)
        {
            buf[o++] = t->s[i];
            if (t->s[i] == '"')
                i++;
        }
    }
    else
        for (i = 0; i < t->len && o + 1 < size; i++)
        {
            char c = t->s[i];

            buf[o++] = c >= 'A' && c <= 'Z' ? (char) (c - 'A' + 'a') : c;
        }
    buf[o] = '\0';
}

static bool
tok_names(const Tok *t, const char *name)
{
    char buf[256];

    tok_name(t, buf, sizeof(buf));
    return name != NULL && strcmp(buf, name) == 0;
}

static bool
tok_same(const Tok *a, const Tok *b)
{
    char buf[256];

    tok_name(b, buf, sizeof(buf));
    return tok_names(a, buf);
}

static const char *const not_alias[] = {
    "where",  "join",    "inner",     "left",        "right",     "full",   "outer",
    "cross",  "natural", "on",        "using",       "group",     "order",  "limit",
    "offset", "having",  "set",       "union",       "intersect", "except", "window",
    "for",    "fetch",   "returning", "tablesample", "select",    "values", NULL,
};

static const char *const not_column[] = {
    "and",
    "or",
    "not",
    "null",
    "true",
    "false",
    "is",
    "in",
    "like",
    "ilike",
    "between",
    "exists",
    "any",
    "all",
    "some",
    "case",
    "when",
    "then",
    "else",
    "end",
    "select",
    "distinct",
    "array",
    "row",
    "current_date",
    "current_timestamp",
    "localtimestamp",
    "interval",
    "similar",
    NULL,
};

/* Words that end a WHERE clause at its own level. */
static const char *const where_end[] = {
    "group",     "order",  "limit",  "offset", "having", "returning", "union",
    "intersect", "except", "window", "for",    "fetch",  NULL,
};

typedef struct
{
    const Tok *schema, *name, *alias;
    int depth;
    size_t pos; /* index of the name */
    size_t end; /* index of the first token after the reference */
} Ref;

static bool
is_name(const Tok *t)
{
    return t->type == T_IDENT || t->type == T_QIDENT;
}

/* Index just past the parenthesis that closes the '(' at i. */
static size_t
skip_parens(const TokList *tl, size_t i)
{
    int depth = tl->tok[i].depth;

    for (i++; i < tl->n; i++)
        if (tok_punct(&tl->tok[i], ')') && tl->tok[i].depth == depth)
            return i + 1;
    return tl->n;
}

/* The table references after FROM, JOIN and UPDATE (at most max). */
static size_t
find_refs(const TokList *tl, Ref *refs, size_t max)
{
    size_t n = 0, i;

    for (i = 0; i < tl->n; i++)
    {
        const Tok *t = &tl->tok[i];
        bool list = tok_word(t, "from");
        size_t j = i + 1;

        if (!list && !tok_word(t, "join") && !tok_word(t, "update"))
            continue;
        /* IS DISTINCT FROM x, FOR [NO KEY] UPDATE: not table references. */
        if (i > 0 && (tok_word(&tl->tok[i - 1], "distinct") || tok_word(&tl->tok[i - 1], "for") ||
                      tok_word(&tl->tok[i - 1], "key")))
            continue;
        for (;;)
        {
            Ref r;

            memset(&r, 0, sizeof(r));
            while (j < tl->n && (tok_word(&tl->tok[j], "only") || tok_word(&tl->tok[j], "lateral")))
                j++;
            if (j < tl->n && tok_punct(&tl->tok[j], '('))
                j = skip_parens(tl, j); /* a subquery: not a table */
            else if (j < tl->n && is_name(&tl->tok[j]) && !tok_in(&tl->tok[j], not_alias))
            {
                r.pos = j;
                r.name = &tl->tok[j++];
                while (j + 1 < tl->n && tok_punct(&tl->tok[j], '.') && is_name(&tl->tok[j + 1]))
                {
                    r.schema = r.name;
                    r.name = &tl->tok[j + 1];
                    j += 2;
                }
                r.depth = t->depth;
            }
            else
                break;
            /* The alias, with or without AS. */
            if (j + 1 < tl->n && tok_word(&tl->tok[j], "as") && is_name(&tl->tok[j + 1]))
                j++;
            if (j < tl->n && is_name(&tl->tok[j]) && !tok_in(&tl->tok[j], not_alias))
            {
                if (r.name != NULL)
                    r.alias = &tl->tok[j];
                j++;
            }
            if (r.name != NULL)
            {
                r.end = j;
                if (n < max)
                    refs[n++] = r;
            }
            if (!list || j >= tl->n || !tok_punct(&tl->tok[j], ','))
                break;
            j++;
        }
    }
    return n;
}

typedef enum
{
    CMP_NONE,
    CMP_EQ,
    CMP_RANGE
} CmpKind;

/* The comparison starting at token i (after a column), if any. */
static CmpKind
comparison_at(const TokList *tl, size_t i)
{
    const Tok *t;

    if (i >= tl->n)
        return CMP_NONE;
    t = &tl->tok[i];
    if (tok_op(t, "=") || tok_word(t, "in") || tok_word(t, "is"))
        return CMP_EQ;
    if (tok_op(t, "<") || tok_op(t, ">") || tok_op(t, "<=") || tok_op(t, ">=") ||
        tok_word(t, "like") || tok_word(t, "ilike") || tok_word(t, "between"))
        return CMP_RANGE;
    if (tok_word(t, "not") && i + 1 < tl->n &&
        (tok_word(&tl->tok[i + 1], "in") || tok_word(&tl->tok[i + 1], "like") ||
         tok_word(&tl->tok[i + 1], "ilike") || tok_word(&tl->tok[i + 1], "between")))
        return CMP_RANGE;
    return CMP_NONE;
}

/* The comparison ending just before token i (a value then an operator), if any. */
static CmpKind
comparison_before(const TokList *tl, size_t i)
{
    const Tok *op, *value;
    size_t v;

    /* i follows WHERE and the table reference: never below 3. */
    op = &tl->tok[i - 1];
    /* The value may carry casts: $1::text = col. */
    for (v = i - 2; v >= 3 && is_name(&tl->tok[v]) && tok_punct(&tl->tok[v - 1], ':') &&
                    tok_punct(&tl->tok[v - 2], ':');
         v -= 3)
        ;
    value = &tl->tok[v];
    if (value->type != T_PARAM && value->type != T_NUMBER && value->type != T_STRING)
        return CMP_NONE;
    if (tok_op(op, "="))
        return CMP_EQ;
    if (tok_op(op, "<") || tok_op(op, ">") || tok_op(op, "<=") || tok_op(op, ">="))
        return CMP_RANGE;
    return CMP_NONE;
}

/* True when tokens a and b belong to the same query level (same SELECT). */
static bool
same_level(const TokList *tl, size_t a, size_t b)
{
    int depth = tl->tok[a].depth;
    size_t i, lo = a < b ? a : b, hi = a < b ? b : a;

    if (tl->tok[b].depth != depth)
        return false;
    for (i = lo; i <= hi; i++)
    {
        const Tok *t = &tl->tok[i];

        if (t->depth < depth ||
            (t->depth == depth && (tok_punct(t, ';') || tok_word(t, "union") ||
                                   tok_word(t, "intersect") || tok_word(t, "except"))))
            return false;
    }
    return true;
}

static int
filter_columns(const TokList *tl, const char *schema, const char *table, Arena *arena, bool *reads,
               const char **cols, size_t max)
{
    Ref refs[MAX_REFS];
    size_t n_refs = find_refs(tl, refs, MAX_REFS), i, k, w, end, n_same = 0;
    const Ref *m = NULL;
    char names[2 * MAX_INDEX_COLUMNS + 2][128];
    CmpKind kinds[2 * MAX_INDEX_COLUMNS + 2];
    size_t n_names = 0, n = 0;
    bool has_or = false;

    *reads = false;
    for (i = 0; i < n_refs && m == NULL; i++)
        if (tok_names(refs[i].name, table) &&
            (refs[i].schema == NULL || tok_names(refs[i].schema, schema)))
            m = &refs[i];
    if (m == NULL)
        return 0;
    *reads = true;
    for (i = 0; i < n_refs; i++)
        if (same_level(tl, m->pos, refs[i].pos))
            n_same++;

    /* The WHERE of the same level, then where it ends. */
    for (w = m->end; w < tl->n; w++)
    {
        const Tok *t = &tl->tok[w];

        if (t->depth < m->depth ||
            (t->depth == m->depth && (tok_punct(t, ';') || tok_in(t, where_end))))
            return 0;
        if (t->depth == m->depth && tok_word(t, "where"))
            break;
    }
    if (w >= tl->n)
        return 0;
    for (end = w + 1; end < tl->n; end++)
    {
        const Tok *t = &tl->tok[end];

        if (t->depth < m->depth ||
            (t->depth == m->depth && (tok_punct(t, ';') || tok_in(t, where_end))))
            break;
    }

    for (k = w + 1; k < end; k++)
    {
        const Tok *t = &tl->tok[k];
        const Tok *qual = NULL;
        size_t base = k, j;
        CmpKind kind;

        if (tok_punct(t, '(') && k + 1 < end &&
            (tok_word(&tl->tok[k + 1], "select") || tok_word(&tl->tok[k + 1], "with") ||
             tok_word(&tl->tok[k + 1], "values")))
        {
            k = skip_parens(tl, k) - 1; /* a subquery reads other tables */
            continue;
        }
        if (tok_word(t, "or"))
            has_or = true;
        if (!is_name(t) || tok_in(t, not_column))
            continue;
        if (k + 1 < end && (tok_punct(&tl->tok[k + 1], '(') || tok_punct(&tl->tok[k + 1], '.')))
            continue; /* a function call, or a qualifier */
        if (k > 0 && tok_punct(&tl->tok[k - 1], ':'))
            continue; /* a type in a cast */
        if (k >= 2 && tok_punct(&tl->tok[k - 1], '.') && is_name(&tl->tok[k - 2]))
        {
            qual = &tl->tok[k - 2];
            base = k - 2;
        }
        kind = comparison_at(tl, k + 1);
        if (kind == CMP_NONE)
            kind = comparison_before(tl, base);
        if (kind == CMP_NONE)
            continue;
        if (qual != NULL ? !(tok_names(qual, table) || (m->alias && tok_same(qual, m->alias)))
                         : n_same != 1)
            continue;
        if (n_names >= PM_LENGTHOF(names))
            continue;
        tok_name(t, names[n_names], sizeof(names[0]));
        for (j = 0; j < n_names && strcmp(names[j], names[n_names]) != 0; j++)
            ;
        if (j < n_names)
        {
            if (kind == CMP_EQ)
                kinds[j] = CMP_EQ;
            continue;
        }
        kinds[n_names++] = kind;
    }

    /* Equality columns first, then one range column; with an OR, the first column only. */
    for (i = 0; i < n_names && n < max; i++)
        if (has_or ? i == 0 : kinds[i] == CMP_EQ)
            if ((cols[n++] = arena_strdup(arena, names[i])) == NULL)
                return -1;
    for (i = 0; i < n_names && n < max && !has_or; i++)
        if (kinds[i] == CMP_RANGE)
        {
            if ((cols[n++] = arena_strdup(arena, names[i])) == NULL)
                return -1;
            break;
        }
    return (int) n;
}

int
diagnose_filter_columns(const char *query, const char *schema, const char *table, Arena *arena,
                        bool *reads, const char **cols, size_t max)
{
    TokList tl;

    *reads = false;
    if (query == NULL || table == NULL)
        return 0;
    if (tokenize(arena, query, &tl) != 0)
        return -1;
    return filter_columns(&tl, schema, table, arena, reads, cols, max);
}

/* --- tables --- */

typedef struct
{
    const char *cols[MAX_INDEX_COLUMNS];
    size_t n;
} IndexCols;

static bool
already_indexed(const TableStat *t, const char *col)
{
    size_t i;

    for (i = 0; i < t->n_indexed_columns; i++)
        if (str_eq(t->indexed_columns[i], col))
            return true;
    return false;
}

static bool
same_cols(const IndexCols *a, const IndexCols *b)
{
    size_t i;

    if (a->n != b->n)
        return false;
    for (i = 0; i < a->n; i++)
        if (strcmp(a->cols[i], b->cols[i]) != 0)
            return false;
    return true;
}

static bool
heavy_seq_scans(const TableStat *t)
{
    return t->n_live_tup >= DIAGNOSE_INDEX_MIN_ROWS &&
           t->seq_scan >= DIAGNOSE_INDEX_MIN_SEQ_SCANS && t->seq_tup_read / 10 >= t->n_live_tup &&
           (t->idx_scan < 0 || t->idx_scan < 19 * t->seq_scan);
}

/* Slow sessions named in a missing_index finding's evidence. */
#define MAX_SLOW_PIDS 32

static int
missing_index_finding(Diag *d, const TableStat *t, TokList *toks)
{
    const Snapshot *snap = d->snap;
    IndexCols proposals[MAX_INDEX_ACTIONS];
    size_t n_proposals = 0, n_matched = 0, i, j;
    const Statement *shown = NULL, *first_matched = NULL;
    double impact = 0;
    char rel[300], rows[32], read[32], index_name[4 * NAME_MAX_BYTES];
    int32_t slow_pids[MAX_SLOW_PIDS];
    size_t n_slow = 0;
    FindingBuilder b;

    rel_name(t, rel, sizeof(rel));
    for (i = 0; snap->has_statements && i < snap->n_statements; i++)
    {
        const Statement *st = &snap->statements[i];
        IndexCols c;
        const char *found[MAX_INDEX_COLUMNS];
        bool reads;
        int n;

        if (st->query == NULL)
            continue;
        if (toks[i].tok == NULL && tokenize(d->arena, st->query, &toks[i]) != 0)
            return -1;
        n = filter_columns(&toks[i], t->schema, t->name, d->arena, &reads, found,
                           MAX_INDEX_COLUMNS);
        if (n < 0)
            return -1;
        if (!reads)
            continue;
        n_matched++;
        impact += st->total_exec_ms / 1000.0;
        if (first_matched == NULL)
            first_matched = st;
        c.n = 0;
        for (j = 0; j < (size_t) n; j++)
            if (!already_indexed(t, found[j]))
                c.cols[c.n++] = found[j];
        if (c.n == 0)
            continue;
        for (j = 0; j < n_proposals && !same_cols(&proposals[j], &c); j++)
            ;
        if (j == n_proposals && n_proposals < MAX_INDEX_ACTIONS)
        {
            proposals[n_proposals++] = c;
            if (shown == NULL)
                shown = st;
        }
    }
    /*
     * The queries running slow right now are the best evidence: when one of
     * them reads this table, the missing index explains DatabaseSlowQueries
     * too, and its WHERE columns name the index even without
     * pg_stat_statements.
     */
    for (i = 0; i < snap->n_sessions && n_slow < MAX_SLOW_PIDS; i++)
    {
        const Session *s = &snap->sessions[i];
        TokList tl;
        IndexCols c;
        const char *found[MAX_INDEX_COLUMNS];
        bool reads;
        int n;

        if (s->query == NULL || !str_eq(s->state, "active") || is_lock_waiter(s) ||
            s->query_age_s * 1000.0 < (double) d->th->slow_query_warning_ms)
            continue;
        memset(&tl, 0, sizeof(tl));
        if (tokenize(d->arena, s->query, &tl) != 0)
            return -1;
        n = filter_columns(&tl, t->schema, t->name, d->arena, &reads, found, MAX_INDEX_COLUMNS);
        if (n < 0)
            return -1;
        if (!reads)
            continue;
        slow_pids[n_slow++] = s->pid;
        impact += s->query_age_s;
        c.n = 0;
        for (j = 0; j < (size_t) n; j++)
            if (!already_indexed(t, found[j]))
                c.cols[c.n++] = found[j];
        if (c.n == 0)
            continue;
        for (j = 0; j < n_proposals && !same_cols(&proposals[j], &c); j++)
            ;
        if (j == n_proposals && n_proposals < MAX_INDEX_ACTIONS)
            proposals[n_proposals++] = c;
    }
    if (shown == NULL)
        shown = first_matched;
    if (n_matched == 0 && n_slow == 0)
        impact = (double) t->seq_tup_read * MICROSECOND;
    fmt_count(t->n_live_tup, rows, sizeof(rows));
    fmt_count(t->seq_tup_read, read, sizeof(read));

    begin(d, &b, "missing_index", ALERT_SLOW, !d->slow_explained || n_slow > 0, SEV_WARNING,
          impact);
    if (n_proposals > 0)
    {
        snprintf(index_name, sizeof(index_name), "idx_%s", t->name);
        for (j = 0; j < proposals[0].n; j++)
        {
            buf_append(index_name, sizeof(index_name), "_");
            buf_append(index_name, sizeof(index_name), proposals[0].cols[j]);
        }
        cut_utf8(index_name, NAME_MAX_BYTES);
        if (shown == NULL && n_slow > 0)
            finding_summary(&b,
                            "%s (%s rows) is read by sequential scans; the query running slow "
                            "now (pid %d) filters on %s%s with no index: create %s",
                            rel, rows, (int) slow_pids[0], proposals[0].cols[0],
                            proposals[0].n > 1 ? ", ..." : "", index_name);
        else
            finding_summary(&b,
                            "%s (%s rows) is read by sequential scans; its most expensive "
                            "statement filters on %s%s with no index: create %s",
                            rel, rows, proposals[0].cols[0], proposals[0].n > 1 ? ", ..." : "",
                            index_name);
    }
    else if (!snap->has_statements)
        finding_summary(&b,
                        "%s (%s rows) is read by sequential scans: %lld scans read %s rows; "
                        "install pg_stat_statements to name the query",
                        rel, rows, (long long) t->seq_scan, read);
    else if (n_matched == 0)
        finding_summary(&b,
                        "%s (%s rows) is read by sequential scans: %lld scans read %s rows; "
                        "no statement in pg_stat_statements reads it",
                        rel, rows, (long long) t->seq_scan, read);
    else
        finding_summary(&b,
                        "%s (%s rows) is read by sequential scans, but the statements that "
                        "read it filter on indexed columns or on none",
                        rel, rows);
    finding_str(&b, "table", rel);
    finding_int(&b, "size_bytes", t->size_bytes);
    finding_int(&b, "n_live_tup", t->n_live_tup);
    finding_int(&b, "seq_scan", t->seq_scan);
    finding_int(&b, "seq_tup_read", t->seq_tup_read);
    finding_int(&b, "idx_scan", t->idx_scan);
    if (t->n_indexed_columns > 0)
        finding_strs(&b, "indexed_columns", t->indexed_columns, t->n_indexed_columns);
    if (n_proposals > 0)
    {
        finding_strs(&b, "columns", proposals[0].cols, proposals[0].n);
        finding_str(&b, "index_name", index_name);
    }
    if (n_slow > 0)
        finding_pids(&b, "slow_pids", slow_pids, n_slow);
    if (shown != NULL)
    {
        finding_str(&b, "statement", shown->query);
        finding_int(&b, "calls", shown->calls);
        finding_real(&b, "mean_exec_ms", shown->mean_exec_ms);
        finding_real(&b, "total_exec_ms", shown->total_exec_ms);
        finding_int(&b, "matching_statements", (int64_t) n_matched);
    }
    for (i = 0; i < n_proposals; i++)
    {
        char arg[600];
        const char *quoted;

        snprintf(arg, sizeof(arg), "%s(", rel);
        for (j = 0; j < proposals[i].n; j++)
        {
            if (j > 0)
                buf_append(arg, sizeof(arg), ",");
            append_ident(arg, sizeof(arg), proposals[i].cols[j]);
        }
        buf_append(arg, sizeof(arg), ")");
        quoted = finding_shell_quote(d->arena, arg);
        if (quoted == NULL)
            return -1;
        finding_action(&b, "pgmedic fix create-index %s", quoted);
    }
    if (n_proposals > 0)
        finding_advice(&b,
                       "create-index builds it with CREATE INDEX CONCURRENTLY (no write lock; "
                       "an index left invalid by a failed build is dropped), then analyzes %s.",
                       rel);
    else if (!snap->has_statements)
        finding_advice(&b, "Install pg_stat_statements (shared_preload_libraries, a restart, "
                           "CREATE EXTENSION pg_stat_statements) so pgmedic can name the query and "
                           "the column to index.");
    else if (n_matched == 0)
        finding_advice(&b,
                       "No statement among pg_stat_statements' top ones reads %s: find the "
                       "application's queries on it (log_min_duration_statement, runbook §9).",
                       rel);
    else
        finding_advice(&b,
                       "Check that the planner has fresh statistics (ANALYZE %s) and whether "
                       "those queries read most of the table anyway.",
                       rel);
    return finish(d, &b);
}

static int
diagnose_missing_indexes(Diag *d)
{
    const Snapshot *snap = d->snap;
    TokList *toks = NULL;
    size_t i;

    for (i = 0; i < snap->n_tables; i++)
    {
        if (!heavy_seq_scans(&snap->tables[i]))
            continue;
        /* Each statement is tokenized once, for every table. */
        if (toks == NULL && snap->has_statements)
        {
            toks = arena_array(d->arena, snap->n_statements + 1, sizeof(TokList));
            if (toks == NULL)
                return -1;
        }
        if (missing_index_finding(d, &snap->tables[i], toks) != 0)
            return -1;
    }
    return 0;
}

static bool
is_stale(const Diag *d, const TableStat *t)
{
    if (t->n_mod_since_analyze < DIAGNOSE_STALE_MIN_MODIFIED)
        return false;
    return t->last_analyze_age_s < 0 ||
           (double) t->n_mod_since_analyze > d->th->stale_statistics_ratio * (double) t->n_live_tup;
}

static bool
is_bloated(const Diag *d, const TableStat *t)
{
    return t->n_dead_tup >= DIAGNOSE_BLOAT_MIN_DEAD &&
           (double) t->n_dead_tup >
               d->th->dead_tuple_ratio * (double) (t->n_live_tup + t->n_dead_tup);
}

static size_t
at_most(size_t n, size_t max)
{
    return n < max ? n : max;
}

/* The tables pred picks, into *picked (in the arena, NULL when out of memory); how many. */
static size_t
pick_tables(Diag *d, bool (*pred)(const Diag *, const TableStat *), const TableStat ***picked)
{
    const Snapshot *snap = d->snap;
    size_t n = 0, i;

    *picked = arena_array(d->arena, snap->n_tables + 1, sizeof(TableStat *));
    if (*picked == NULL)
        return 0;
    for (i = 0; i < snap->n_tables; i++)
        if (pred(d, &snap->tables[i]))
            (*picked)[n++] = &snap->tables[i];
    return n;
}

static int
by_modified(const void *pa, const void *pb)
{
    const TableStat *a = *(const TableStat *const *) pa, *b = *(const TableStat *const *) pb;

    if (a->n_mod_since_analyze != b->n_mod_since_analyze)
        return a->n_mod_since_analyze > b->n_mod_since_analyze ? -1 : 1;
    return a->oid < b->oid ? -1 : a->oid > b->oid;
}

static int
by_dead(const void *pa, const void *pb)
{
    const TableStat *a = *(const TableStat *const *) pa, *b = *(const TableStat *const *) pb;

    if (a->n_dead_tup != b->n_dead_tup)
        return a->n_dead_tup > b->n_dead_tup ? -1 : 1;
    return a->oid < b->oid ? -1 : a->oid > b->oid;
}

/* One "pgmedic fix VERB REL" per listed table. */
static int
table_actions(Diag *d, FindingBuilder *b, const char *verb, const TableStat *const *tables,
              size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
    {
        char rel[300];
        const char *quoted;

        rel_name(tables[i], rel, sizeof(rel));
        quoted = finding_shell_quote(d->arena, rel);
        if (quoted == NULL)
            return -1;
        finding_action(b, "pgmedic fix %s %s", verb, quoted);
    }
    return 0;
}

static int
diagnose_stale(Diag *d)
{
    size_t n, listed, i;
    const TableStat **tables;
    const char *lines[DIAGNOSE_MAX_TABLES_LISTED];
    double impact = 0;
    char rel[300];
    FindingBuilder b;

    n = pick_tables(d, is_stale, &tables);
    if (tables == NULL)
        return -1;
    if (n == 0)
        return 0;
    qsort(tables, n, sizeof(TableStat *), by_modified);
    listed = at_most(n, DIAGNOSE_MAX_TABLES_LISTED);
    for (i = 0; i < n; i++)
        impact += (double) tables[i]->n_mod_since_analyze * MICROSECOND;
    for (i = 0; i < listed; i++)
    {
        const TableStat *t = tables[i];
        char line[512], mod[32], live[32], age[32];

        rel_name(t, rel, sizeof(rel));
        fmt_count(t->n_mod_since_analyze, mod, sizeof(mod));
        fmt_count(t->n_live_tup, live, sizeof(live));
        format_age(t->last_analyze_age_s, age, sizeof(age));
        if (t->last_analyze_age_s < 0)
            snprintf(line, sizeof(line), "%s: %s rows modified, never analyzed", rel, mod);
        else
            snprintf(line, sizeof(line),
                     "%s: %s rows modified since the last analyze %s ago "
                     "(%s live rows)",
                     rel, mod, age, live);
        if ((lines[i] = arena_strdup(d->arena, line)) == NULL)
            return -1;
    }
    rel_name(tables[0], rel, sizeof(rel));
    begin(d, &b, "stale_statistics", ALERT_SLOW, !d->slow_explained, SEV_WARNING, impact);
    finding_summary(&b, "the planner's statistics are stale on %zu table%s (most changed: %s)", n,
                    n == 1 ? "" : "s", rel);
    finding_strs(&b, "tables", lines, listed);
    finding_int(&b, "n_tables", (int64_t) n);
    if (n > listed)
        finding_int(&b, "more_tables", (int64_t) (n - listed));
    if (table_actions(d, &b, "analyze", tables, listed) != 0)
        return -1;
    finding_advice(&b, "The planner estimates rows from these statistics; stale ones give bad "
                       "plans. ANALYZE is cheap and blocks neither reads nor writes.");
    if (n > listed)
        finding_advice(&b, "pgmedic fix analyze with no table treats all %zu.", n);
    return finish(d, &b);
}

static int
diagnose_bloat(Diag *d)
{
    const Snapshot *snap = d->snap;
    size_t n, listed, i, n_off = 0;
    const TableStat **tables;
    const char *lines[DIAGNOSE_MAX_TABLES_LISTED], *off[DIAGNOSE_MAX_TABLES_LISTED];
    double impact = 0;
    char rel[300];
    FindingBuilder b;

    n = pick_tables(d, is_bloated, &tables);
    if (tables == NULL)
        return -1;
    if (n == 0)
        return 0;
    qsort(tables, n, sizeof(TableStat *), by_dead);
    listed = at_most(n, DIAGNOSE_MAX_TABLES_LISTED);
    for (i = 0; i < n; i++)
        impact += (double) tables[i]->n_dead_tup * MICROSECOND;
    for (i = 0; i < listed; i++)
    {
        const TableStat *t = tables[i];
        char line[512], dead[32], all[32], age[32];

        rel_name(t, rel, sizeof(rel));
        fmt_count(t->n_dead_tup, dead, sizeof(dead));
        fmt_count(t->n_live_tup + t->n_dead_tup, all, sizeof(all));
        format_age(t->last_vacuum_age_s, age, sizeof(age));
        snprintf(line, sizeof(line), "%s: %s dead rows of %s (%.0f%%), %s%s%s", rel, dead, all,
                 100.0 * (double) t->n_dead_tup / (double) (t->n_live_tup + t->n_dead_tup),
                 t->last_vacuum_age_s < 0 ? "never vacuumed" : "last vacuum ",
                 t->last_vacuum_age_s < 0 ? "" : age,
                 t->autovacuum_disabled ? ", autovacuum disabled" : "");
        if ((lines[i] = arena_strdup(d->arena, line)) == NULL)
            return -1;
        if (t->autovacuum_disabled && (off[n_off++] = arena_strdup(d->arena, rel)) == NULL)
            return -1;
    }
    rel_name(tables[0], rel, sizeof(rel));
    begin(d, &b, "table_bloat", ALERT_SLOW, !d->slow_explained, SEV_WARNING, impact);
    finding_summary(&b, "dead rows pass %.0f%% of %zu table%s (most: %s)",
                    d->th->dead_tuple_ratio * 100.0, n, n == 1 ? "" : "s", rel);
    finding_strs(&b, "tables", lines, listed);
    finding_int(&b, "n_tables", (int64_t) n);
    if (n > listed)
        finding_int(&b, "more_tables", (int64_t) (n - listed));
    if (n_off > 0)
        finding_strs(&b, "autovacuum_disabled", off, n_off);
    if (snap->failure == CONN_OK && past_ms(snap->longest_xact_s, d->th->idle_in_transaction_ms))
        finding_real(&b, "longest_xact_s", snap->longest_xact_s);
    if (table_actions(d, &b, "vacuum", tables, listed) != 0)
        return -1;
    finding_advice(&b, "VACUUM makes dead rows reusable without blocking reads or writes; it does "
                       "not shrink the file (VACUUM FULL does, under an exclusive lock).");
    if (n_off > 0)
        finding_advice(&b,
                       "autovacuum is disabled on %s%s: re-enable it (ALTER TABLE %s RESET "
                       "(autovacuum_enabled)).",
                       off[0], n_off > 1 ? " and others" : "", off[0]);
    else
        finding_advice(&b, "autovacuum is not keeping up with these tables: lower "
                           "autovacuum_vacuum_scale_factor on them.");
    if (snap->failure == CONN_OK && past_ms(snap->longest_xact_s, d->th->idle_in_transaction_ms))
    {
        char age[32];

        format_age(snap->longest_xact_s, age, sizeof(age));
        finding_advice(&b,
                       "A transaction has been open for %s: VACUUM cannot remove rows it may "
                       "still see until it ends.",
                       age);
    }
    if (n > listed)
        finding_advice(&b, "pgmedic fix vacuum with no table treats all %zu.", n);
    return finish(d, &b);
}

/* --- what nobody explains --- */

static bool
explained(const Diag *d, const char *alert)
{
    size_t i;

    for (i = 0; i < d->found.n_findings; i++)
        if (str_eq(d->found.findings[i].alert, alert))
            return true;
    return false;
}

static int checked_line(Diag *d, const char **lines, size_t *n, size_t cap, const char *fmt, ...)
    PM_PRINTF(5, 6);

static int
checked_line(Diag *d, const char **lines, size_t *n, size_t cap, const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    assert(*n < cap);
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    lines[*n] = arena_strdup(d->arena, buf);
    if (lines[*n] == NULL)
        return -1;
    (*n)++;
    return 0;
}

static int
unexplained_finding(Diag *d, const Alert *a)
{
    const Snapshot *snap = d->snap;
    const char *lines[8];
    size_t n = 0;
    char t1[32], t2[32];
    int rc = 0;
    FindingBuilder b;

    if (str_eq(a->name, ALERT_CONNECTIONS))
    {
        const BackendGroup *big = NULL;
        size_t i;

        format_duration_ms(d->th->idle_connection_ms, t1, sizeof(t1));
        format_duration_ms(d->th->idle_in_transaction_ms, t2, sizeof(t2));
        for (i = 0; i < snap->n_groups; i++)
            if (str_eq(snap->groups[i].state, "idle") &&
                (big == NULL || snap->groups[i].count > big->count))
                big = &snap->groups[i];
        rc |= checked_line(d, lines, &n, 8,
                           "connection_leak: %zu idle sessions past idle_connection (%s); a leak "
                           "needs %d from one application or client",
                           d->n_idle_past, t1, DIAGNOSE_LEAK_MIN_SESSIONS);
        if (big != NULL)
        {
            char age[32];

            format_age(big->oldest_state_age_s, age, sizeof(age));
            rc |= checked_line(d, lines, &n, 8,
                               "largest idle group: application \"%s\" from %s, %lld sessions, "
                               "oldest idle %s",
                               str_or(big->application, ""), str_or(big->client, "local"),
                               (long long) big->count, age);
        }
        rc |= checked_line(d, lines, &n, 8,
                           "idle_in_transaction: %zu sessions past %s, of %lld idle in transaction",
                           d->n_iit_past, t2, (long long) snap->n_idle_in_transaction);
        rc |= checked_line(d, lines, &n, 8,
                           "connection_surge: %lld of %lld clients active; a surge needs more "
                           "than half",
                           (long long) snap->n_active, (long long) snap->n_clients);
    }
    else if (str_eq(a->name, ALERT_SLOW))
    {
        format_duration_ms(d->th->lock_wait_ms, t1, sizeof(t1));
        format_duration_ms(d->th->slow_query_warning_ms, t2, sizeof(t2));
        rc |= checked_line(d, lines, &n, 8,
                           "lock_contention: %zu lock waiters, %zu without a recorded blocker, "
                           "none waiting past %s",
                           d->n_lock_waiters, d->n_orphan_waiters, t1);
        rc |= checked_line(d, lines, &n, 8,
                           "long_running_query: no active query past %s among the %zu sessions "
                           "collected, lock waiters aside",
                           t2, snap->n_sessions);
        rc |= checked_line(d, lines, &n, 8,
                           "missing_index, stale_statistics, table_bloat: %zu tables checked, "
                           "none past the thresholds",
                           snap->n_tables);
        rc |= checked_line(d, lines, &n, 8, "pg_stat_statements: %s",
                           snap->has_statements ? "read" : "not installed or not readable");
    }
    else if (str_eq(a->name, ALERT_FAILURE))
        rc |= checked_line(d, lines, &n, 8,
                           "the server was reachable (%s) and no login was "
                           "refused",
                           snapshot_failure_name(snap->failure));
    else
        rc |= checked_line(d, lines, &n, 8, "pgmedic has no diagnosis for this alert");
    if (rc != 0)
        return -1;

    finding_begin(&b, d->arena, "unexplained", a->name, a->severity, 0);
    finding_summary(&b, "no cause found for %s: %s", a->name, str_or(a->summary, "no summary"));
    finding_str(&b, "alert_summary", a->summary);
    finding_strs(&b, "checked", lines, n);
    finding_advice(&b, "Root cause unclear: follow the runbook's investigation steps (§3-5) by "
                       "hand, and escalate if it is still unclear after 1 hour (§11).");
    finding_advice(&b, "Keep this triage and a snapshot (pgmedic snapshot > incident.json) for "
                       "whoever takes over.");
    return finish(d, &b);
}

/* --- ranking --- */

typedef struct
{
    const Finding *f;
    size_t pos;
} Ranked;

static int
rank_cmp(const void *pa, const void *pb)
{
    const Ranked *a = pa, *b = pb;
    int ca = a->f->alert != NULL ? 0 : 1, cb = b->f->alert != NULL ? 0 : 1;

    if (ca != cb)
        return ca - cb;
    if (ca == 0 && a->f->severity != b->f->severity)
        return a->f->severity > b->f->severity ? -1 : 1;
    if (a->f->impact != b->f->impact)
        return a->f->impact > b->f->impact ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static int
rank(Diag *d, FindingList *out)
{
    size_t n = d->found.n_findings, i;
    Ranked *r = arena_array(d->arena, n + 1, sizeof(Ranked));

    out->findings = arena_array(d->arena, n + 1, sizeof(Finding));
    if (r == NULL || out->findings == NULL)
        return -1;
    for (i = 0; i < n; i++)
    {
        r[i].f = &d->found.findings[i];
        r[i].pos = i;
    }
    qsort(r, n, sizeof(Ranked), rank_cmp);
    for (i = 0; i < n; i++)
        out->findings[i] = *r[i].f;
    out->n_findings = n;
    return 0;
}

int
diagnose_run(const Snapshot *snap, const Thresholds *th, const AlertList *alerts, Arena *arena,
             FindingList *out)
{
    Diag d;
    size_t i;

    out->findings = NULL;
    out->n_findings = 0;
    memset(&d, 0, sizeof(d));
    d.snap = snap;
    d.th = th;
    d.alerts = alerts;
    d.arena = arena;

    if (snap->failure != CONN_OK)
    {
        if (diagnose_failure(&d) != 0)
            return -1;
    }
    else
    {
        if (snap->via_reserved_slot && diagnose_reserved_slot(&d) != 0)
            return -1;
        if (diagnose_leaks(&d) != 0 || diagnose_idle_in_transaction(&d) != 0 ||
            diagnose_surge(&d) != 0 || diagnose_locks(&d) != 0 || diagnose_long_queries(&d) != 0)
            return -1;
        /* Table causes explain slow queries only when nothing more direct does. */
        for (i = 0; i < d.found.n_findings; i++)
            if (str_eq(d.found.findings[i].kind, "lock_contention") ||
                str_eq(d.found.findings[i].kind, "long_running_query"))
                d.slow_explained = true;
        if (diagnose_missing_indexes(&d) != 0 || diagnose_stale(&d) != 0 || diagnose_bloat(&d) != 0)
            return -1;
    }
    if (diagnose_disk(&d) != 0 || diagnose_wal(&d) != 0)
        return -1;
    for (i = 0; alerts != NULL && i < alerts->n_alerts; i++)
        if (!explained(&d, alerts->alerts[i].name) &&
            unexplained_finding(&d, &alerts->alerts[i]) != 0)
            return -1;
    return rank(&d, out);
}
