-- probe_server: who the server is, its slots, the client counts and the
-- oldest active query: all that `pgmedic check` and `status` need, in one
-- statement, so that a fresh backend loads as few catalogs as possible.
-- pgmedic's own backend is never counted.  checksum_failures (corruption,
-- runbook §11) is summed over every database and the shared catalogs (oid 0).
-- The statistics functions are called directly rather than through the
-- pg_stat_activity / pg_stat_database views: a fresh backend then loads fewer
-- catalog entries (about 0.6 ms of the probe's 1 ms here).  Whether pgmedic's
-- role is a superuser comes from the server's is_superuser parameter at
-- connection time.  Columns are read by name.  No parameters.
WITH a AS MATERIALIZED (
    SELECT pid, state, wait_event_type, query_start, xact_start, application_name
    FROM pg_catalog.pg_stat_get_activity(NULL)
    -- Without pg_monitor, other roles' rows hide backend_type: a row with a
    -- database and a role is still a client, counted though its state is
    -- hidden (else DatabaseHighConnections could never fire for such a role).
    WHERE (backend_type = 'client backend'
           OR (backend_type IS NULL AND datid IS NOT NULL AND usesysid IS NOT NULL))
      AND pid <> pg_catalog.pg_backend_pid()
)
SELECT pg_catalog.split_part(pg_catalog.current_setting('server_version'), ' ', 1) AS version,
       pg_catalog.current_setting('server_version_num')::int4 AS version_num,
       EXTRACT(epoch FROM pg_catalog.now() - pg_catalog.pg_postmaster_start_time())::float8 AS uptime_s,
       pg_catalog.pg_is_in_recovery() AS in_recovery,
       pg_catalog.current_database()::text AS database,
       CURRENT_USER::text AS role,
       pg_catalog.pg_has_role(CURRENT_USER, 'pg_monitor', 'USAGE') AS has_pg_monitor,
       pg_catalog.pg_backend_pid()::int4 AS own_pid,
       pg_catalog.current_setting('max_connections')::int8 AS max_connections,
       pg_catalog.current_setting('superuser_reserved_connections')::int8 AS superuser_reserved,
       COALESCE(pg_catalog.current_setting('reserved_connections', true), '0')::int8 AS reserved,
       (SELECT count(*) FROM a)::int8 AS n_clients,
       (SELECT count(*) FROM a WHERE state = 'active')::int8 AS n_active,
       (SELECT count(*) FROM a WHERE state = 'idle')::int8 AS n_idle,
       (SELECT count(*) FROM a WHERE state LIKE 'idle in transaction%')::int8 AS n_idle_in_transaction,
       (SELECT count(*) FROM a WHERE wait_event_type = 'Lock')::int8 AS n_waiting_lock,
       COALESCE((SELECT EXTRACT(epoch FROM pg_catalog.max(pg_catalog.now() - query_start))
                 FROM a WHERE state = 'active'), 0)::float8 AS longest_query_s,
       COALESCE((SELECT EXTRACT(epoch FROM pg_catalog.max(pg_catalog.now() - xact_start))
                 FROM a), 0)::float8 AS longest_xact_s,
       oldest.pid::int4 AS longest_query_pid,
       oldest.application_name AS longest_query_application,
       COALESCE(oldest.wait_event_type = 'Lock', false) AS longest_query_waiting,
       (COALESCE((SELECT pg_catalog.sum(pg_catalog.pg_stat_get_db_checksum_failures(d.oid))
                  FROM pg_catalog.pg_database d), 0)
        + COALESCE(pg_catalog.pg_stat_get_db_checksum_failures(0), 0))::int8 AS checksum_failures
FROM (SELECT 1) one
LEFT JOIN LATERAL (SELECT a.pid, a.application_name, a.wait_event_type
                   FROM a WHERE a.state = 'active'
                   ORDER BY a.query_start LIMIT 1) oldest ON true
