-- bench/triage.sql - what a human on call runs by hand for the runbook's three
-- alerts (connections, slow queries, connection failure follow-up), written as
-- well as psql allows: one statement per question, bounded with LIMITs,
-- pg_blocking_pids() only for sessions waiting on a Lock.
--   psql -X -q -f bench/triage.sql
\set ON_ERROR_STOP on
\pset pager off
SET statement_timeout = '10s';
SET lock_timeout = '1s';

\echo '== server'
SELECT version() AS version, pg_is_in_recovery() AS in_recovery,
       now() - pg_postmaster_start_time() AS uptime;

\echo '== connection headroom'
SELECT count(*) AS used,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS reserved,
       round(100.0 * count(*) / (current_setting('max_connections')::int
             - current_setting('superuser_reserved_connections')::int), 1) AS pct_of_usable
FROM pg_stat_activity
WHERE backend_type = 'client backend';

\echo '== connections by state, application, client'
SELECT coalesce(state, '?') AS state, application_name,
       coalesce(host(client_addr), 'local') AS client, count(*) AS sessions,
       max(now() - state_change) AS longest_in_state
FROM pg_stat_activity
WHERE backend_type = 'client backend'
GROUP BY 1, 2, 3
ORDER BY sessions DESC
LIMIT 50;

\echo '== queries running longer than 5 s (not waiting on a lock)'
SELECT pid, usename, application_name, now() - query_start AS running_for,
       wait_event_type, wait_event, left(query, 120) AS query
FROM pg_stat_activity
WHERE state = 'active' AND backend_type = 'client backend'
  AND query_start < now() - interval '5 seconds'
  AND wait_event_type IS DISTINCT FROM 'Lock'
ORDER BY query_start
LIMIT 20;

\echo '== blocked sessions and their blockers'
WITH waiters AS (
    SELECT pid, pg_blocking_pids(pid) AS blocked_by, application_name, query
    FROM pg_stat_activity
    WHERE wait_event_type = 'Lock'
), waitstart AS (
    SELECT pid, min(waitstart) AS waitstart
    FROM pg_locks
    WHERE NOT granted AND pid IN (SELECT pid FROM waiters)
    GROUP BY pid
)
SELECT w.pid AS waiter, w.application_name AS waiter_app,
       now() - ws.waitstart AS waiting_for, left(w.query, 80) AS waiter_query,
       b.pid AS blocker, b.application_name AS blocker_app, b.state AS blocker_state,
       now() - b.xact_start AS blocker_xact_age, left(b.query, 80) AS blocker_query
FROM waiters w
LEFT JOIN waitstart ws ON ws.pid = w.pid
CROSS JOIN LATERAL unnest(w.blocked_by) AS bp(pid)
JOIN pg_stat_activity b ON b.pid = bp.pid
ORDER BY ws.waitstart
LIMIT 100;

\echo '== idle in transaction'
SELECT pid, usename, application_name, coalesce(host(client_addr), 'local') AS client,
       state, now() - state_change AS idle_for, now() - xact_start AS xact_age,
       left(query, 80) AS last_query
FROM pg_stat_activity
WHERE state LIKE 'idle in transaction%'
ORDER BY state_change
LIMIT 20;

\echo '== idle sessions by application'
SELECT application_name, usename, count(*) AS idle,
       max(now() - state_change) AS longest_idle,
       count(*) FILTER (WHERE state_change < now() - interval '1 hour') AS idle_over_1h
FROM pg_stat_activity
WHERE state = 'idle' AND backend_type = 'client backend'
GROUP BY 1, 2
ORDER BY idle DESC
LIMIT 20;

\echo '== tables with the most dead tuples'
SELECT schemaname, relname, n_live_tup, n_dead_tup,
       round(n_dead_tup::numeric / greatest(n_live_tup + n_dead_tup, 1), 2) AS dead_ratio,
       last_vacuum, last_autovacuum
FROM pg_stat_user_tables
WHERE n_dead_tup > 0
ORDER BY n_dead_tup DESC
LIMIT 20;

\echo '== tables with stale statistics'
SELECT schemaname, relname, n_live_tup, n_mod_since_analyze,
       greatest(last_analyze, last_autoanalyze) AS last_analyzed
FROM pg_stat_user_tables
WHERE n_mod_since_analyze > 0.10 * greatest(n_live_tup, 1)
ORDER BY n_mod_since_analyze DESC
LIMIT 20;

\echo '== key settings'
SELECT name, setting, unit
FROM pg_settings
WHERE name IN ('max_connections', 'superuser_reserved_connections', 'shared_buffers',
               'work_mem', 'statement_timeout', 'idle_in_transaction_session_timeout',
               'lock_timeout', 'log_min_duration_statement', 'autovacuum',
               'max_wal_size', 'wal_keep_size', 'max_slot_wal_keep_size')
ORDER BY name;

\echo '== WAL'
SELECT count(*) AS wal_files, pg_size_pretty(sum(size)) AS wal_size
FROM pg_ls_waldir();
