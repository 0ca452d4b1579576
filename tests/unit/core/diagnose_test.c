/*
 * diagnose_test.c - the diagnosis on snapshot fixtures, table-driven:
 * fixture → rules_eval() → diagnose_run() → the expected findings, in order
 * ("kind:alert:severity", "-" for a latent one), then exact checks of
 * summaries, evidence, actions and advice.
 *
 * A check is "N.FIELD=TEXT" (equal) or "N.FIELD~TEXT" (contains), N the
 * finding's rank.  FIELD is summary, n_actions, n_advice, actionK, adviceK, or
 * an evidence key (ints as %lld, doubles as %g, pids joined by ",", string
 * lists by "|"); "N.!KEY" says the evidence has no such key.
 */
#include "core/diagnose.h"
#include "core/rules.h"
#include "core/snapshot_json.h"
#include "unit.h"

typedef struct
{
    const char *fixture; /* under tests/fixtures/ */
    const char *findings[6];
    const char *checks[32];
} DiagCase;

static const DiagCase cases[] = {
    /* --- nothing wrong --- */
    {"snapshots/healthy.json", {NULL}, {NULL}},

    /* --- DatabaseConnectionFailure --- */
    {"diagnose/server_down.json",
     {"server_down:DatabaseConnectionFailure:critical"},
     {"0.summary=nothing answers at app@/tmp/sock:5432: the server is down (connection to server "
      "on socket \"/tmp/sock/.s.PGSQL.5432\" failed: No such file or directory)",
      "0.n_actions=1", "0.action0=pgmedic fix restart",
      "0.advice0~If it is still down after the restart, escalate", "0.target=app@/tmp/sock:5432",
      "0.log_file=/var/log/postgresql/postgresql-15-main.log",
      /* The last five FATAL / PANIC lines, oldest first; ERROR and LOG lines left out. */
      "0.log_lines=2026-11-29 14:59:53 UTC [83] FATAL:  terminating connection due to "
      "administrator command|2026-11-29 14:59:54 UTC [84] FATAL:  terminating connection due to "
      "administrator command|2026-11-29 14:59:55 UTC [85] FATAL:  terminating connection due to "
      "administrator command|2026-11-29 14:59:56 UTC [86] FATAL:  terminating connection due to "
      "administrator command|2026-11-29 14:59:57 UTC [87] FATAL:  terminating connection due to "
      "administrator command",
      "0.mem_available_bytes=3221225472", "0.!connect_s"}},
    {"diagnose/timeout.json",
     {"timeout:DatabaseConnectionFailure:critical"},
     {"0.summary=app@/tmp/sock:5432 did not answer within 5.0s: the server or its host is hung "
      "(timeout expired)",
      "0.action0=pgmedic fix restart", "0.advice0~Check the host before restarting",
      "0.connect_s=5", "0.!log_lines"}},
    {"diagnose/too_many_clients.json",
     {"too_many_clients:DatabaseConnectionFailure:critical"},
     {"0.summary=app@/tmp/sock:5432 refuses logins: every connection slot is taken (FATAL:  "
      "sorry, too many clients already)",
      "0.n_actions=0", "0.advice0~Configure reserved_conninfo for this target",
      "0.advice0~pg_use_reserved_connections", "0.advice1~DatabaseHighConnections path",
      "0.message=FATAL:  sorry, too many clients already"}},
    {"diagnose/auth_failure_hba.json",
     {"auth_failure:DatabaseConnectionFailure:critical"},
     {"0.n_actions=0", "0.advice0~Add a pg_hba.conf entry", "0.advice1~Check the password",
      "0.advice2=The server itself is fine: do not restart it."}},
    {"diagnose/auth_failure_password.json",
     {"auth_failure:DatabaseConnectionFailure:critical"},
     {"0.summary=the server at app@/tmp/sock:5432 is up but refused pgmedic's login (FATAL:  "
      "password authentication failed for user \"pgmedic\")",
      "0.n_actions=0", "0.advice0~Check the password", "0.advice1~If the password is right",
      "0.n_advice=3"}},
    {"diagnose/connection_limit.json",
     {"connection_limit:DatabaseConnectionFailure:critical"},
     {"0.summary=the server at app@/tmp/sock:5432 is up, but the role pgmedic logs in with is "
      "at its own CONNECTION LIMIT (FATAL:  too many connections for role \"pgmedic\")",
      "0.limit_of=role", "0.n_actions=0", "0.advice0~only this role is full",
      "0.advice1~Look in as another role", "0.advice2~ALTER ROLE name CONNECTION LIMIT",
      "0.advice3=The server itself is fine: do not restart it."}},
    {"diagnose/database_missing.json",
     {"database_missing:DatabaseConnectionFailure:critical"},
     {"0.n_actions=0", "0.advice0~Check the database name",
      "0.message=FATAL:  database \"app\" does not exist"}},
    {"diagnose/starting_up.json",
     {"starting_up:DatabaseConnectionFailure:critical"},
     {"0.n_actions=0", "0.advice0~Wait and re-probe"}},
    {"diagnose/shutting_down.json",
     {"shutting_down:DatabaseConnectionFailure:critical"},
     {"0.n_actions=0", "0.advice0~Wait and re-probe"}},
    {"diagnose/in_recovery.json",
     {"in_recovery:DatabaseConnectionFailure:critical"},
     {"0.n_actions=0", "0.advice0~Wait and re-probe"}},
    {"diagnose/no_attempt.json",
     {"no_attempt:DatabaseConnectionFailure:critical"},
     {"0.n_actions=0", "0.advice0~Fix the target's connection options"}},
    {"diagnose/error.json",
     {"error:DatabaseConnectionFailure:critical"},
     {"0.summary=app@/tmp/sock:5432 could not be reached (server closed the connection "
      "unexpectedly)",
      "0.n_actions=0", "0.advice0~Escalate if the cause stays unclear"}},

    /* --- host facts --- */
    {"diagnose/disk_full.json",
     {"disk_full:DatabaseConnectionFailure:critical",
      "server_down:DatabaseConnectionFailure:critical",
      "wal_growth:DatabaseConnectionFailure:critical"},
     {"0.summary=the data and WAL filesystem has 2.0 GiB free of 100.0 GiB (2.0%)",
      "0.data_fs_free_bytes=2147483648", "0.wal_dir_bytes=3221225472", "0.n_actions=0",
      "0.log_lines=2026-11-29 14:59:00 UTC [812] PANIC:  could not write to file "
      "\"pg_wal/xlogtemp.812\": No space left on device",
      "0.advice0~delete server logs older than 7 days", "0.advice2~Escalate",
      "1.log_lines~PANIC:  could not write", "1.n_actions=0",
      "1.advice0=The disk is full (see disk_full): free space first, then restart (pgmedic fix "
      "restart); on a full disk the server stops again.",
      "2.summary=pg_wal holds 3.0 GiB, more than twice max_wal_size (1.0 GiB, the default)",
      "2.wal_source=pg_wal on the host", "2.max_wal_size_known=false", "2.n_actions=0"}},
    {"diagnose/disk_full_wal_fs.json",
     {"disk_full:-:critical"},
     {"0.summary=the WAL filesystem has 300.0 MiB free of 10.0 GiB (2.9%)",
      "0.wal_fs_free_bytes=314572800"}},
    {"diagnose/disk_full_data.json",
     {"disk_full:-:critical"},
     {"0.summary=the data filesystem has 0 bytes free of 10.0 GiB (0.0%)",
      "0.data_directory=/var/lib/postgresql/15/main"}},
    {"diagnose/disk_full_both.json",
     {"disk_full:-:critical"},
     {"0.summary=the data filesystem (and the WAL one) has 500.0 MiB free of 200.0 GiB (0.2%)",
      "0.wal_fs_free_bytes=104857600"}},
    {"diagnose/wal_growth.json",
     {"wal_growth:-:warning"},
     {"0.summary=pg_wal holds 5.0 GiB, more than twice max_wal_size (1.0 GiB)",
      "0.wal_source=pg_ls_waldir()", "0.wal_bytes=5368709120", "0.max_wal_size_bytes=1073741824",
      "0.max_wal_size_known=true", "0.advice0~replication slot"}},

    /* --- DatabaseHighConnections --- */
    {"diagnose/connection_leak.json",
     {"connection_leak:DatabaseHighConnections:warning"},
     {"0.summary=6 sessions of application \"api\" idle for more than 1h (oldest 2h 01min): a "
      "connection leak",
      "0.application=api", "0.client_addresses=10.0.0.5|10.0.0.6", "0.users=app",
      "0.idle_sessions=6", "0.idle_total=12", "0.oldest_idle_s=7300",
      "0.pids=101,102,103,104,105,106", "0.connections=17", "0.usable_slots=20", "0.headroom=3",
      "0.n_actions=1", "0.action0=pgmedic fix terminate-idle --application api --idle-for 1h",
      "0.advice0~connection_limit in the database URL", "0.advice0~PgBouncer"}},
    {"diagnose/leak_quoted_app.json",
     {"connection_leak:-:warning"},
     {"0.application=billing 'v2' worker",
      "0.action0=pgmedic fix terminate-idle --application 'billing '\\''v2'\\'' worker' "
      "--idle-for 1h",
      "0.headroom=12"}},
    {"diagnose/leak_by_client.json",
     {"connection_leak:-:warning"},
     {"0.summary=5 sessions without an application name from 10.0.0.7 idle for more than 1h "
      "(oldest 1h 06min): a connection leak",
      "0.client=10.0.0.7", "0.!application",
      "0.action0=pgmedic fix terminate-idle --client 10.0.0.7 --idle-for 1h"}},
    {"diagnose/idle_in_transaction.json",
     {"idle_in_transaction:DatabaseHighConnections:warning"},
     {"0.summary=2 sessions idle in transaction for more than 5min (oldest 15min 00s, pid 201, "
      "application \"api\")",
      "0.sessions=2", "0.pids=201,202", "0.applications=api|reports", "0.aborted=1",
      "0.oldest_pid=201", "0.longest_xact_s=1000",
      "0.idle_in_transaction_session_timeout=0 (disabled)", "0.headroom=3",
      "0.action0=pgmedic fix terminate-idle-in-transaction --idle-for 5min",
      "0.advice0=Set idle_in_transaction_session_timeout (now 0 (disabled)) so the server ends "
      "such sessions itself, e.g. ALTER DATABASE ... SET idle_in_transaction_session_timeout = "
      "'5min'."}},
    {"diagnose/connection_surge.json",
     {"connection_surge:DatabaseHighConnections:critical"},
     {"0.summary=15 of 19 clients are active: real load, not a leak", "0.n_actions=0",
      "0.active_by_application=api: 10 active|admin: 1 active|cron: 1 active|etl: 1 active|"
      "metrics: 1 active",
      "0.headroom=1", "0.advice0=Do not terminate sessions: they are doing work."}},

    /* --- DatabaseSlowQueries --- */
    {"diagnose/lock_contention.json",
     {"lock_contention:DatabaseSlowQueries:warning"},
     {"0.summary=pid 300 (active) blocks 4 sessions, chain depth 3, longest wait 20.0s",
      "0.root_pids=300", "0.blocked_pids=301,302,306,303", "0.blocked_sessions=4", "0.depth=3",
      "0.longest_lock_wait_s=20", "0.longest_waiter_pid=301", "0.!cycle_pids",
      "0.roots=pid 300: active for 3.0s, application \"migrate\", user app; blocks 4 (chain "
      "depth 3): UPDATE orders SET status = $1 WHERE id = $2",
      "0.action0=pgmedic fix terminate-blockers --lock-wait 5s",
      "0.advice0~pid 300 is running a statement that holds the locks"}},
    {"diagnose/lock_root_idle_in_xact.json",
     {"lock_contention:DatabaseSlowQueries:warning", "idle_in_transaction:-:warning"},
     {"0.summary=pid 400 (idle in transaction) blocks 2 sessions, chain depth 1, longest wait "
      "30.0s: the root blocker is idle in transaction, holding its locks while the application "
      "does nothing",
      "0.advice0~pid 400 is idle in transaction: application \"checkout\" opened a transaction",
      "0.action0=pgmedic fix terminate-blockers --lock-wait 5s", "1.pids=400",
      "1.idle_in_transaction_session_timeout=not collected",
      "1.advice0~Set idle_in_transaction_session_timeout so the server ends such sessions"}},
    /* Waiting on a lock for 400 s is lock contention, not a slow query. */
    {"diagnose/long_query_is_lock_waiter.json",
     {"lock_contention:DatabaseSlowQueries:critical"},
     {"0.root_pids=500", "0.blocked_pids=501", "0.longest_lock_wait_s=3",
      "0.action0=pgmedic fix terminate-blockers --lock-wait 5s", "0.n_actions=1"}},
    {"diagnose/lock_cycle.json",
     {"lock_contention:DatabaseSlowQueries:warning"},
     {"0.summary=2 sessions wait on each other in a lock cycle (longest wait 8.0s)",
      "0.cycle_pids=601,602", "0.n_actions=0", "0.!root_pids",
      "0.advice0~A lock cycle is a deadlock"}},
    {"diagnose/lock_missing_pid.json",
     {"lock_contention:DatabaseSlowQueries:warning"},
     {"0.summary=pid 9999 (not in the snapshot) blocks 3 sessions, chain depth 2, longest wait "
      "9.0s",
      "0.root_pids=9999", "0.blocked_pids=701,702,706", "0.cycle_pids=703,704,705",
      "0.roots=pid 9999: not in the snapshot (it ended, or is not a client backend); blocks 3",
      "0.advice0~terminate-blockers ends only the root blockers",
      "0.advice1~A lock cycle is a deadlock"}},
    {"diagnose/long_running_query.json",
     {"long_running_query:DatabaseSlowQueries:critical"},
     {"0.summary=3 queries have run for more than 5s, the longest 6min 40s (pid 801, "
      "application \"reports\")",
      "0.pids=801,802,804", "0.past_critical=1", "0.longest_pid=801",
      "0.query=SELECT count(*) FROM events WHERE kind = $1", "0.applications=reports|api",
      "0.action0=pgmedic fix cancel-long --running-for 5min"}},
    {"diagnose/long_warning.json",
     {"long_running_query:DatabaseSlowQueries:warning"},
     {"0.summary=the query of pid 811 (application \"api\") has run for 30.0s, not waiting on a "
      "lock",
      "0.n_actions=0", "0.wait_event=IO",
      "0.advice0=Below slow_query_critical (5min): watch it, or look at its plan with EXPLAIN; "
      "cancel-long acts only past 5min."}},
    {"diagnose/missing_index.json",
     {"missing_index:-:warning", "missing_index:-:warning", "missing_index:-:warning",
      "missing_index:-:warning"},
     {"0.summary=public.orders (200,000 rows) is read by sequential scans; its most expensive "
      "statement filters on customer_id, ... with no index: create "
      "idx_orders_customer_id_created_at",
      "0.table=public.orders", "0.columns=customer_id|created_at",
      "0.index_name=idx_orders_customer_id_created_at", "0.size_bytes=52428800", "0.seq_scan=5000",
      "0.seq_tup_read=1000000000", "0.idx_scan=20", "0.calls=50000", "0.mean_exec_ms=45",
      "0.matching_statements=6",
      "0.statement=SELECT o.id, o.total FROM orders o WHERE o.customer_id = $1 AND o.created_at "
      "> $2 ORDER BY o.created_at DESC LIMIT $3",
      "0.n_actions=3", "0.action0=pgmedic fix create-index 'public.orders(customer_id,created_at)'",
      "0.action1=pgmedic fix create-index 'public.orders(status)'",
      "0.action2=pgmedic fix create-index 'public.orders(region)'", "1.table=public.events",
      "1.n_actions=0", "1.indexed_columns=id|user_id",
      "1.summary~filter on indexed columns or on none",
      /* The index name is cut to 63 bytes, not inside the "é". */
      "2.index_name=idx_customer_notification_preferences_canal_de_notification_pr",
      "2.action0=pgmedic fix create-index "
      "'public.customer_notification_preferences(\"canal_de_notification_préféré\")'",
      "3.table=public.audit_log", "3.n_actions=0", "3.!statement",
      "3.summary~no statement in pg_stat_statements reads it"}},
    {"diagnose/missing_index_no_statements.json",
     {"missing_index:-:warning"},
     {"0.summary=public.orders (200,000 rows) is read by sequential scans: 5000 scans read "
      "1,000,000,000 rows; install pg_stat_statements to name the query",
      "0.n_actions=0", "0.advice0~Install pg_stat_statements"}},
    /* The query running slow reads the table: the missing index explains the
     * alert too, and the running query's WHERE names the column without
     * pg_stat_statements. */
    {"diagnose/missing_index_slow_query.json",
     {"long_running_query:DatabaseSlowQueries:warning",
      "missing_index:DatabaseSlowQueries:warning"},
     {"1.table=public.orders", "1.slow_pids=777", "1.columns=customer_id",
      "1.summary~the query running slow now (pid 777) filters on customer_id with no index",
      "1.action0=pgmedic fix create-index 'public.orders(customer_id)'"}},
    /* Nothing more direct explains the slow queries: the table causes do. */
    {"diagnose/slow_tables_only.json",
     {"missing_index:DatabaseSlowQueries:warning", "stale_statistics:DatabaseSlowQueries:warning",
      "table_bloat:DatabaseSlowQueries:warning"},
     {"0.table=public.\"big-table\"", "0.n_actions=0",
      "1.action0=pgmedic fix analyze 'public.\"Order Items\"'",
      "1.tables=public.\"Order Items\": 30,000 rows modified since the last analyze 2h 00min ago "
      "(100,000 live rows)",
      "2.action0=pgmedic fix vacuum public.sessions",
      "2.tables=public.sessions: 5,000 dead rows of 15,000 (33%), never vacuumed, autovacuum "
      "disabled",
      "2.autovacuum_disabled=public.sessions",
      "2.advice1=autovacuum is disabled on public.sessions: re-enable it (ALTER TABLE "
      "public.sessions RESET (autovacuum_enabled))."}},
    {"diagnose/stale_statistics.json",
     {"stale_statistics:-:warning"},
     {"0.summary=the planner's statistics are stale on 8 tables (most changed: public.t1)",
      "0.n_tables=8", "0.more_tables=3", "0.n_actions=5", "0.action0=pgmedic fix analyze public.t1",
      "0.action1=pgmedic fix analyze 'public.\"we\"\"ird\"'",
      "0.action3=pgmedic fix analyze public.t3", "0.action4=pgmedic fix analyze public.t4",
      "0.tables~public.t3: 70,000 rows modified, never analyzed",
      "0.advice1=pgmedic fix analyze with no table treats all 8."}},
    {"diagnose/table_bloat.json",
     {"table_bloat:-:warning"},
     {"0.summary=dead rows pass 20% of 6 tables (most: public.b1)", "0.n_tables=6",
      "0.more_tables=1", "0.n_actions=5", "0.action0=pgmedic fix vacuum public.b1",
      "0.tables~public.b1: 8,000 dead rows of 18,000 (44%), last vacuum 3d 00h",
      "0.longest_xact_s=7200", "0.!autovacuum_disabled", "0.advice1~autovacuum is not keeping up",
      "0.advice2~A transaction has been open for 2h 00min",
      "0.advice3=pgmedic fix vacuum with no table treats all 6."}},

    /* --- nothing explains an alert --- */
    {"diagnose/unexplained_slow.json",
     {"unexplained:DatabaseSlowQueries:warning"},
     {"0.summary=no cause found for DatabaseSlowQueries: the oldest active query has run for "
      "12.0s",
      "0.checked=lock_contention: 0 lock waiters, 0 without a recorded blocker, none waiting "
      "past 5s|long_running_query: no active query past 5s among the 0 sessions collected, lock "
      "waiters aside|missing_index, stale_statistics, table_bloat: 0 tables checked, none past "
      "the thresholds|pg_stat_statements: not installed or not readable",
      "0.n_actions=0", "0.advice0~escalate if it is still unclear after 1 hour"}},
    {"diagnose/unexplained_connections.json",
     {"unexplained:DatabaseHighConnections:warning", "idle_in_transaction:-:warning"},
     {"0.checked=connection_leak: 0 idle sessions past idle_connection (1h); a leak needs 5 "
      "from one application or client|largest idle group: application \"api\" from 10.0.0.5, "
      "14 sessions, oldest idle 30min 00s|idle_in_transaction: 1 sessions past 5min, of 1 idle "
      "in transaction|connection_surge: 2 of 17 clients active; a surge needs more than half",
      "1.pids=901", "1.idle_in_transaction_session_timeout=1min",
      "1.advice0~Set idle_in_transaction_session_timeout (now 1min) so the server"}},

    /* --- mixed --- */
    {"diagnose/full_and_leaking.json",
     {"too_many_clients:DatabaseConnectionFailure:critical",
      "connection_leak:DatabaseHighConnections:critical"},
     {"0.summary=app@/tmp/sock:5432 refuses ordinary logins: 20 of 20 usable slots are taken; "
      "pgmedic got in through a reserved slot",
      "0.refused_message=FATAL:  remaining connection slots are reserved for non-replication "
      "superuser connections",
      "0.headroom=0", "0.n_actions=0", "1.idle_sessions=8",
      "1.action0=pgmedic fix terminate-idle --application api --idle-for 1h"}},
    {"diagnose/leak_and_lock.json",
     {"lock_contention:DatabaseSlowQueries:critical",
      "connection_leak:DatabaseHighConnections:warning"},
     {"0.summary=2 root blockers block 3 sessions, deepest chain 2, longest wait 6min 40s",
      "0.root_pids=1001,1010", "0.blocked_pids=1002,1011,1012", "0.depth=2",
      "0.longest_waiter_pid=1002", "0.advice0~pid 1001 is running a statement",
      "0.roots~pid 1010: idle in transaction for 1min 40s, application \"checkout\"",
      "1.application=web", "1.pids=1201,1202,1203,1204,1205",
      "1.action0=pgmedic fix terminate-idle --application web --idle-for 1h"}},
};

/* --- checking a finding --- */

static void
evidence_text(const Evidence *e, char *buf, size_t size)
{
    size_t i, o = 0;

    buf[0] = '\0';
    switch (e->type)
    {
        case EV_STRING:
            snprintf(buf, size, "%s", e->str ? e->str : "(null)");
            break;
        case EV_INT:
            snprintf(buf, size, "%lld", (long long) e->num);
            break;
        case EV_DOUBLE:
            snprintf(buf, size, "%g", e->real);
            break;
        case EV_BOOL:
            snprintf(buf, size, "%s", e->num ? "true" : "false");
            break;
        case EV_PIDS:
            for (i = 0; i < e->n && o < size; i++)
                o += (size_t) snprintf(buf + o, size - o, "%s%d", i ? "," : "", (int) e->ints[i]);
            break;
        case EV_STRINGS:
            for (i = 0; i < e->n && o < size; i++)
                o += (size_t) snprintf(buf + o, size - o, "%s%s", i ? "|" : "", e->strs[i]);
            break;
    }
}

/* The text of FIELD of f; false when f has no such field. */
static bool
field_text(const Finding *f, const char *field, char *buf, size_t size)
{
    size_t i;
    unsigned k;

    if (strcmp(field, "summary") == 0)
        snprintf(buf, size, "%s", f->summary);
    else if (strcmp(field, "n_actions") == 0)
        snprintf(buf, size, "%zu", f->n_actions);
    else if (strcmp(field, "n_advice") == 0)
        snprintf(buf, size, "%zu", f->n_advice);
    else if (sscanf(field, "action%u", &k) == 1)
    {
        if (k >= f->n_actions)
            return false;
        snprintf(buf, size, "%s", f->actions[k]);
    }
    else if (sscanf(field, "advice%u", &k) == 1)
    {
        if (k >= f->n_advice)
            return false;
        snprintf(buf, size, "%s", f->advice[k]);
    }
    else
    {
        for (i = 0; i < f->n_evidence; i++)
            if (strcmp(f->evidence[i].key, field) == 0)
            {
                evidence_text(&f->evidence[i], buf, size);
                return true;
            }
        return false;
    }
    return true;
}

static void
check(const char *fixture, const FindingList *list, const char *spec)
{
    char field[64], got[4096];
    const char *dot = strchr(spec, '.'), *op;
    size_t index = (size_t) strtoul(spec, NULL, 10);
    const Finding *f;

    assert_non_null(dot);
    if (index >= list->n_findings)
        fail_msg("%s: check \"%s\": no finding %zu", fixture, spec, index);
    f = &list->findings[index];
    if (dot[1] == '!')
    {
        if (field_text(f, dot + 2, got, sizeof(got)))
            fail_msg("%s: finding %zu has \"%s\" (%s), expected none", fixture, index, dot + 2,
                     got);
        return;
    }
    op = dot + 1 + strcspn(dot + 1, "=~");
    assert_true(*op == '=' || *op == '~');
    snprintf(field, sizeof(field), "%.*s", (int) (op - dot - 1), dot + 1);
    if (!field_text(f, field, got, sizeof(got)))
        fail_msg("%s: finding %zu (%s) has no \"%s\"", fixture, index, f->kind, field);
    if (*op == '=' ? strcmp(got, op + 1) != 0 : strstr(got, op + 1) == NULL)
        fail_msg("%s: finding %zu (%s) %s is\n  \"%s\"\nexpected %s\n  \"%s\"", fixture, index,
                 f->kind, field, got, *op == '=' ? "" : "to contain", op + 1);
}

static void
run_case(const DiagCase *c)
{
    Arena *arena = arena_new();
    Thresholds th = unit_default_thresholds();
    Snapshot snap;
    AlertList alerts;
    FindingList list;
    size_t expected = 0, j;

    assert_non_null(arena);
    unit_load_snapshot(c->fixture, arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    assert_int_equal(diagnose_run(&snap, &th, &alerts, arena, &list), 0);
    while (expected < PM_LENGTHOF(c->findings) && c->findings[expected] != NULL)
        expected++;
    for (j = 0; j < list.n_findings || j < expected; j++)
    {
        char got[160] = "(none)";

        if (j < list.n_findings)
        {
            const Finding *f = &list.findings[j];

            snprintf(got, sizeof(got), "%s:%s:%s", f->kind, f->alert ? f->alert : "-",
                     rules_severity_name(f->severity));
            assert_non_null(f->summary);
        }
        if (j >= expected || strcmp(got, c->findings[j]) != 0)
            fail_msg("%s: finding %zu is %s (%s), expected %s", c->fixture, j, got,
                     j < list.n_findings ? list.findings[j].summary : "",
                     j < expected ? c->findings[j] : "(none)");
    }
    for (j = 0; j < PM_LENGTHOF(c->checks) && c->checks[j] != NULL; j++)
        check(c->fixture, &list, c->checks[j]);
    arena_free(arena);
}

static void
test_diagnose_run_table(void **state)
{
    size_t i;

    (void) state;
    for (i = 0; i < PM_LENGTHOF(cases); i++)
        run_case(&cases[i]);
}

/* Ranking: explaining before latent, critical before warning, then impact. */
static void
test_diagnose_run_ranking(void **state)
{
    Arena *arena = arena_new();
    Thresholds th = unit_default_thresholds();
    Snapshot snap;
    AlertList alerts;
    FindingList list;
    size_t i;

    (void) state;
    unit_load_snapshot("diagnose/leak_and_lock.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    assert_int_equal(diagnose_run(&snap, &th, &alerts, arena, &list), 0);
    assert_int_equal(list.n_findings, 2);
    /* lock_contention: Σ lock waits = 400 + 6 + 7 s. */
    assert_true(list.findings[0].impact > 412.9 && list.findings[0].impact < 413.1);
    /* connection_leak: Σ idle ages = 5 × 5400 − (0 + 60 + ... + 240) s. */
    assert_true(list.findings[1].impact > 26399.9 && list.findings[1].impact < 26400.1);

    /* Without the alerts every finding is latent and impact alone ranks them. */
    alerts.n_alerts = 0;
    assert_int_equal(diagnose_run(&snap, &th, &alerts, arena, &list), 0);
    assert_int_equal(list.n_findings, 2);
    assert_string_equal(list.findings[0].kind, "connection_leak");
    assert_string_equal(list.findings[1].kind, "lock_contention");
    for (i = 0; i < list.n_findings; i++)
    {
        assert_null(list.findings[i].alert);
        assert_int_equal(list.findings[i].severity, SEV_WARNING);
    }
    /* A NULL alert list is an empty one. */
    assert_int_equal(diagnose_run(&snap, &th, NULL, arena, &list), 0);
    assert_int_equal(list.n_findings, 2);
    arena_free(arena);
}

/* Alerts the rules did not raise (an Alertmanager webhook, a future rule). */
static void
test_diagnose_run_unexplained_other_alerts(void **state)
{
    Arena *arena = arena_new();
    Thresholds th = unit_default_thresholds();
    Snapshot snap;
    Alert fired[2] = {
        {"DatabaseConnectionFailure", SEV_CRITICAL, 1, 1, "cannot reach the server"},
        {"DatabaseReplicationLag", SEV_CRITICAL, 30, 10, "replica 30s behind"},
    };
    AlertList alerts = {fired, 2};
    FindingList list;

    (void) state;
    unit_load_snapshot("snapshots/healthy.json", arena, &snap);
    assert_int_equal(diagnose_run(&snap, &th, &alerts, arena, &list), 0);
    /* Same severity, same impact: in the alerts' order. */
    assert_int_equal(list.n_findings, 2);
    assert_string_equal(list.findings[0].kind, "unexplained");
    assert_string_equal(list.findings[0].alert, "DatabaseConnectionFailure");
    assert_int_equal(list.findings[0].severity, SEV_CRITICAL);
    assert_string_equal(list.findings[0].evidence[1].strs[0],
                        "the server was reachable (ok) and no login was refused");
    assert_string_equal(list.findings[1].alert, "DatabaseReplicationLag");
    assert_string_equal(list.findings[1].summary,
                        "no cause found for DatabaseReplicationLag: replica 30s behind");
    assert_string_equal(list.findings[1].evidence[1].strs[0],
                        "pgmedic has no diagnosis for this alert");
    arena_free(arena);
}

/* Thresholds come from the configuration: the actions follow them. */
static void
test_diagnose_run_thresholds_in_actions(void **state)
{
    Arena *arena = arena_new();
    Thresholds th = unit_default_thresholds();
    Snapshot snap;
    AlertList alerts;
    FindingList list;

    (void) state;
    th.idle_connection_ms = 90 * 60 * 1000;
    unit_load_snapshot("diagnose/connection_leak.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    assert_int_equal(diagnose_run(&snap, &th, &alerts, arena, &list), 0);
    /* Only 101-104 have been idle 90 min: fewer than five, no leak. */
    assert_int_equal(list.n_findings, 1);
    assert_string_equal(list.findings[0].kind, "unexplained");

    th = unit_default_thresholds();
    th.lock_wait_ms = 1500;
    unit_load_snapshot("diagnose/lock_contention.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    assert_int_equal(diagnose_run(&snap, &th, &alerts, arena, &list), 0);
    assert_string_equal(list.findings[0].actions[0],
                        "pgmedic fix terminate-blockers --lock-wait 1.5s");

    /* A cycle of short waits beside a tree of long ones: only the tree is reported. */
    th = unit_default_thresholds();
    th.lock_wait_ms = 8000;
    th.slow_query_warning_ms = 8000;
    unit_load_snapshot("diagnose/lock_missing_pid.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    assert_int_equal(diagnose_run(&snap, &th, &alerts, arena, &list), 0);
    assert_int_equal(list.n_findings, 1);
    check("lock_missing_pid.json", &list, "0.!cycle_pids");
    check("lock_missing_pid.json", &list, "0.root_pids=9999");
    check("lock_missing_pid.json", &list, "0.longest_lock_wait_s=9");
    assert_true(list.findings[0].impact > 20.9 && list.findings[0].impact < 21.1);

    /* Short waits, below lock_wait and slow_query_warning: no contention worth a look. */
    unit_load_snapshot("diagnose/lock_contention.json", arena, &snap);
    th = unit_default_thresholds();
    th.lock_wait_ms = 60000;
    th.slow_query_warning_ms = 60000;
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    assert_int_equal(diagnose_run(&snap, &th, &alerts, arena, &list), 0);
    assert_int_equal(list.n_findings, 0);
    arena_free(arena);
}

/* A long chain and a wide fan-out finish, and depth counts the chain. */
static void
test_diagnose_run_long_lock_chain(void **state)
{
    enum
    {
        N = 20000
    };

    Arena *arena = arena_new();
    Thresholds th = unit_default_thresholds();
    Snapshot snap;
    FindingList list;
    int32_t *edges;
    char long_query[601] = "";
    const char *root;
    size_t i;

    (void) state;
    assert_non_null(arena);
    memset(&snap, 0, sizeof(snap));
    snap.target = "chain";
    snap.sessions = arena_array(arena, N, sizeof(Session));
    edges = arena_array(arena, N, sizeof(int32_t));
    assert_non_null(snap.sessions);
    assert_non_null(edges);
    snap.n_sessions = N;
    for (i = 0; i < N; i++)
    {
        Session *s = &snap.sessions[i];

        s->pid = (int32_t) (i + 1);
        s->state = "active";
        s->query_age_s = s->state_age_s = i > 0 ? 10 : 1;
        s->xact_age_s = 10;
        s->lock_wait_s = -1;
        if (i > 0)
        {
            /* Session i waits for the one before it. */
            edges[i] = (int32_t) i;
            s->blocked_by = &edges[i];
            s->n_blocked_by = 1;
            s->wait_event_type = "Lock";
            s->lock_wait_s = 6;
        }
    }
    /* The root's description is cut, between characters, when its query is long. */
    snap.sessions[0].query = long_query;
    for (i = 0; i + 2 < sizeof(long_query); i += 2)
        memcpy(long_query + i, "\xC3\xA9", 2);
    assert_int_equal(diagnose_run(&snap, &th, NULL, arena, &list), 0);
    assert_int_equal(list.n_findings, 1);
    assert_string_equal(list.findings[0].kind, "lock_contention");
    assert_string_equal(list.findings[0].evidence[1].key, "roots");
    root = list.findings[0].evidence[1].strs[0];
    assert_int_equal(strlen(root), 510);
    assert_memory_equal(root + 508, "\xC3\xA9", 2);
    assert_string_equal(list.findings[0].summary,
                        "pid 1 (active) blocks 19999 sessions, chain depth 19999, longest wait "
                        "6.0s");

    /* The same sessions as one cycle: 1 waits for N. */
    edges[0] = N;
    snap.sessions[0].blocked_by = &edges[0];
    snap.sessions[0].n_blocked_by = 1;
    snap.sessions[0].lock_wait_s = 6;
    assert_int_equal(diagnose_run(&snap, &th, NULL, arena, &list), 0);
    assert_int_equal(list.n_findings, 1);
    assert_string_equal(list.findings[0].summary,
                        "20000 sessions wait on each other in a lock cycle (longest wait 6.0s)");

    /* Two trees that lost as much time: the lower pid's first. */
    snap.n_sessions = 4;
    snap.sessions[0].blocked_by = NULL;
    snap.sessions[0].n_blocked_by = 0;
    snap.sessions[0].lock_wait_s = -1;
    snap.sessions[2].blocked_by = NULL;
    snap.sessions[2].n_blocked_by = 0;
    snap.sessions[2].lock_wait_s = -1;
    snap.sessions[2].query_age_s = 1;
    edges[3] = 3;
    assert_int_equal(diagnose_run(&snap, &th, NULL, arena, &list), 0);
    assert_int_equal(list.n_findings, 1);
    assert_string_equal(list.findings[0].summary,
                        "2 root blockers block 2 sessions, deepest chain 1, longest wait 6.0s");
    assert_int_equal(list.findings[0].evidence[0].n, 2);
    assert_int_equal(list.findings[0].evidence[0].ints[0], 1);
    assert_int_equal(list.findings[0].evidence[0].ints[1], 3);
    arena_free(arena);
}

/* --- the SQL reading behind missing_index --- */

typedef struct
{
    const char *query;
    const char *schema, *table;
    bool reads;
    const char *cols; /* joined by "," */
} FilterCase;

static const FilterCase filter_cases[] = {
    {"SELECT * FROM orders WHERE customer_id = $1", "public", "orders", true, "customer_id"},
    {"select * from PUBLIC.Orders where Customer_Id = $1", "public", "orders", true, "customer_id"},
    {"SELECT * FROM \"Orders\" WHERE \"CustomerId\" = $1", "public", "Orders", true, "CustomerId"},
    {"SELECT * FROM \"Orders\" WHERE a = $1", "public", "orders", false, ""},
    {"SELECT * FROM other.orders WHERE a = $1", "public", "orders", false, ""},
    {"SELECT * FROM customers WHERE a = $1", "public", "orders", false, ""},
    /* Equality first, then one range column. */
    {"SELECT * FROM orders o WHERE o.created_at > $1 AND o.status = $2 AND o.total < $3", "public",
     "orders", true, "status,created_at"},
    {"SELECT * FROM orders AS o WHERE o.id IN ($1, $2) AND o.note IS NULL", "public", "orders",
     true, "id,note"},
    {"SELECT * FROM orders WHERE created BETWEEN $1 AND $2", "public", "orders", true, "created"},
    {"SELECT * FROM orders WHERE email LIKE $1 OR name ILIKE $2", "public", "orders", true,
     "email"},
    {"SELECT * FROM orders WHERE status NOT IN ($1)", "public", "orders", true, "status"},
    /* Constants on the left. */
    {"SELECT * FROM orders o WHERE $1 = o.customer_id AND 5 < total", "public", "orders", true,
     "customer_id,total"},
    /* Another table's columns, joins, and unqualified columns with two tables. */
    {"SELECT * FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.email = $1 AND "
     "o.state = $2",
     "public", "orders", true, "state"},
    {"SELECT * FROM customers, orders WHERE email = $1", "public", "orders", true, ""},
    {"SELECT * FROM orders o, customers c WHERE orders.kind = $1", "public", "orders", true,
     "kind"},
    /* Subqueries, functions, casts, comments and quoting do not confuse it. */
    {"SELECT * FROM orders WHERE id IN (SELECT order_id FROM items WHERE sku = $1) AND region = "
     "$2",
     "public", "orders", true, "id,region"},
    {"SELECT * FROM orders WHERE lower(email) = $1 AND $2::text = code", "public", "orders", true,
     "code"},
    {"SELECT * FROM orders -- WHERE hidden = $1\nWHERE /* x = $1 */ shown = $2", "public", "orders",
     true, "shown"},
    {"SELECT 'FROM orders WHERE a = 1', $$ WHERE b = 2 $$ FROM orders WHERE c = $1", "public",
     "orders", true, "c"},
    {"SELECT * FROM orders WHERE a IS DISTINCT FROM $1 FOR UPDATE SKIP LOCKED", "public", "orders",
     true, "a"},
    {"UPDATE orders SET status = $1 WHERE shop_id = $2 RETURNING id", "public", "orders", true,
     "shop_id"},
    {"DELETE FROM ONLY orders WHERE expires_at < $1", "public", "orders", true, "expires_at"},
    {"SELECT count(*) FROM (SELECT * FROM orders WHERE flag = $1) s WHERE s.x = $2", "public",
     "orders", true, "flag"},
    {"SELECT * FROM orders GROUP BY a", "public", "orders", true, ""},
    {"SELECT * FROM orders", "public", "orders", true, ""},
    {"SELECT * FROM orders WHERE a = $1 UNION SELECT * FROM orders WHERE b = $1", "public",
     "orders", true, "a"},
    {"SELECT * FROM orders WHERE a.b.c = $1 AND x = 1e-3 AND y = .5 AND z > -$2", "public",
     "orders", true, "x,y,z"},
    {"SELECT * FROM orders WHERE a = 'it''s' AND b = $1", "public", "orders", true, "a,b"},
    {"SELECT * FROM orders WHERE a = 'unterminated", "public", "orders", true, "a"},
    {"SELECT * FROM orders /* a /* nested */ WHERE x = 1 */ WHERE d = $1", "public", "orders", true,
     "d"},
    {"SELECT $fn$ a $1 b $fn$ FROM orders WHERE e = $2 AND f = $ x", "public", "orders", true,
     "e,f"},
    {"SELECT * FROM orders WHERE \"we\"\"ird\" = $1", "public", "orders", true, "we\"ird"},
    {"SELECT * FROM orders WHERE a IN (SELECT b FROM c", "public", "orders", true, "a"},
    {"SELECT * FROM orders WHERE name NOT LIKE $1", "public", "orders", true, "name"},
    {"SELECT * FROM orders WHERE n NOT BETWEEN $1 AND $2", "public", "orders", true, "n"},
    {"SELECT * FROM orders WHERE $1 <> code", "public", "orders", true, ""},
    {"SELECT * FROM orders WHERE a > $1 AND a = $2", "public", "orders", true, "a"},
    {"SELECT * FROM orders WHERE a=$1 AND b=$2 AND c=$3 AND d=$4 AND e=$5 AND f=$6 AND g=$7 AND "
     "h=$8 AND i=$9",
     "public", "orders", true, "a,b,c"},
    {"", "public", "orders", false, ""},
};

static void
test_diagnose_filter_columns(void **state)
{
    size_t i, j;

    (void) state;
    for (i = 0; i < PM_LENGTHOF(filter_cases); i++)
    {
        const FilterCase *c = &filter_cases[i];
        Arena *arena = arena_new();
        const char *cols[3];
        char joined[256] = "";
        bool reads = !c->reads;
        int n;

        assert_non_null(arena);
        n = diagnose_filter_columns(c->query, c->schema, c->table, arena, &reads, cols, 3);
        assert_true(n >= 0);
        for (j = 0; j < (size_t) n; j++)
            snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", j ? "," : "",
                     cols[j]);
        if (reads != c->reads || strcmp(joined, c->cols) != 0)
            fail_msg("\"%s\": reads %d columns \"%s\", expected %d \"%s\"", c->query, reads, joined,
                     c->reads, c->cols);
        arena_free(arena);
    }
}

static void
test_diagnose_filter_columns_null(void **state)
{
    Arena *arena = arena_new();
    const char *cols[3];
    bool reads = true;

    (void) state;
    assert_int_equal(diagnose_filter_columns(NULL, "public", "orders", arena, &reads, cols, 3), 0);
    assert_false(reads);
    arena_free(arena);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diagnose_run_table),
        cmocka_unit_test(test_diagnose_run_ranking),
        cmocka_unit_test(test_diagnose_run_unexplained_other_alerts),
        cmocka_unit_test(test_diagnose_run_thresholds_in_actions),
        cmocka_unit_test(test_diagnose_run_long_lock_chain),
        cmocka_unit_test(test_diagnose_filter_columns),
        cmocka_unit_test(test_diagnose_filter_columns_null),
    };

    return cmocka_run_group_tests_name("core/diagnose", tests, NULL, NULL);
}
