-- probe_groups: client backends by state, application, client and role, with
-- the longest time in that state (from state_change, not backend_start).
-- $1: the most groups to return (the largest first).
SELECT COALESCE(a.state, 'unknown') AS state,
       COALESCE(a.application_name, '') AS application,
       COALESCE(pg_catalog.host(a.client_addr), 'local') AS client,
       COALESCE(a.usename::text, '') AS usename,
       pg_catalog.count(*)::int8 AS count,
       COALESCE(EXTRACT(epoch FROM pg_catalog.max(pg_catalog.now() - a.state_change)), 0)::float8
           AS oldest_state_age_s
FROM pg_catalog.pg_stat_activity a
WHERE a.backend_type = 'client backend' AND a.pid <> pg_catalog.pg_backend_pid()
GROUP BY 1, 2, 3, 4
ORDER BY 5 DESC, 6 DESC
LIMIT $1::int4
