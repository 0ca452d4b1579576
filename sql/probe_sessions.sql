-- probe_sessions: the client sessions worth a look: active past $1 seconds,
-- idle in transaction (plain and aborted), idle past $4 seconds (a leak's
-- evidence), waiting on a lock, or blocking a lock waiter.  pg_blocking_pids() runs only for lock waiters (it costs lock
-- manager time); pg_locks is read once for the waiters' wait start.
-- $1: seconds (float8); $2: query text length; $3: the most sessions;
-- $4: idle seconds (float8).
WITH a AS MATERIALIZED (
    SELECT pid, usesysid, usename, application_name, client_addr, datname, state, backend_start,
           xact_start, query_start, state_change, wait_event_type, wait_event, query
    FROM pg_catalog.pg_stat_activity
    WHERE backend_type = 'client backend' AND pid <> pg_catalog.pg_backend_pid()
),
w AS MATERIALIZED (
    SELECT a.pid, pg_catalog.pg_blocking_pids(a.pid) AS blockers
    FROM a
    WHERE a.wait_event_type = 'Lock'
),
l AS (
    SELECT k.pid, pg_catalog.min(k.waitstart) AS waitstart
    FROM pg_catalog.pg_locks k
    WHERE NOT k.granted AND EXISTS (SELECT 1 FROM w)
    GROUP BY k.pid
)
SELECT a.pid::int4,
       COALESCE(a.usename::text, '') AS usename,
       COALESCE(a.application_name, '') AS application,
       COALESCE(pg_catalog.host(a.client_addr), 'local') AS client,
       COALESCE(a.datname::text, '') AS database,
       COALESCE(a.state, 'unknown') AS state,
       a.backend_start::text,
       EXTRACT(epoch FROM pg_catalog.now() - a.backend_start)::float8 AS backend_age_s,
       COALESCE(EXTRACT(epoch FROM pg_catalog.now() - a.xact_start), -1)::float8 AS xact_age_s,
       COALESCE(EXTRACT(epoch FROM pg_catalog.now() - a.query_start), -1)::float8 AS query_age_s,
       COALESCE(EXTRACT(epoch FROM pg_catalog.now() - a.state_change), -1)::float8 AS state_age_s,
       a.wait_event_type,
       a.wait_event,
       COALESCE(EXTRACT(epoch FROM pg_catalog.now() - l.waitstart), -1)::float8 AS lock_wait_s,
       w.blockers::text AS blocked_by,
       pg_catalog.left(a.query, $2::int4) AS query,
       a.query_start::text,
       a.xact_start::text,
       COALESCE(r.rolsuper, false) AS is_superuser
FROM a
LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid
LEFT JOIN w ON w.pid = a.pid
LEFT JOIN l ON l.pid = a.pid
WHERE (a.state = 'active'
       AND a.query_start < pg_catalog.now() - pg_catalog.make_interval(secs => $1::float8))
   OR a.state LIKE 'idle in transaction%'
   OR (a.state = 'idle'
       AND a.state_change < pg_catalog.now() - pg_catalog.make_interval(secs => $4::float8))
   OR w.pid IS NOT NULL
   OR a.pid IN (SELECT pg_catalog.unnest(w2.blockers) FROM w w2)
-- Sessions in a transaction first (the ones that hurt), then the oldest idle.
ORDER BY a.xact_start NULLS LAST, a.state_change, a.pid
LIMIT $3::int4
