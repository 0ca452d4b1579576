-- act_signal: cancel or terminate one session, re-checking in the same
-- statement that it is still the one the plan selected (no time-of-check /
-- time-of-use gap).  Returns 'signalled', or why it was left alone.
-- pg_*_backend() sits in the last CASE branch: it runs only when every check
-- passed.
-- $1 pid; $2 backend_start (its identity with the pid); $3 'cancel' or
-- 'terminate'; $4 what it must still be: 'idle', 'idle_in_transaction',
-- 'active' (the same query: query_start = $6) or 'blocker' (the same
-- transaction: xact_start = $6, still blocking a lock waiter); $5 seconds it
-- must still be past (in that state, or running); $6 query_start or
-- xact_start as the plan saw it (NULL for idle states); $7 may pgmedic signal
-- a superuser's session.
SELECT CASE
    WHEN a.pid IS NULL THEN 'gone: the session has ended'
    WHEN a.backend_start IS DISTINCT FROM $2::timestamptz
        THEN 'skipped: the pid now belongs to another session'
    WHEN a.backend_type IS DISTINCT FROM 'client backend'
        THEN 'skipped: not a client backend'
    WHEN a.pid = pg_catalog.pg_backend_pid() THEN 'skipped: pgmedic''s own session'
    WHEN $4 = 'idle' AND a.state IS DISTINCT FROM 'idle'
        THEN 'skipped: no longer idle (now ' || COALESCE(a.state, 'unknown') || ')'
    WHEN $4 = 'idle_in_transaction' AND a.state NOT LIKE 'idle in transaction%'
        THEN 'skipped: no longer idle in transaction (now ' || COALESCE(a.state, 'unknown') || ')'
    WHEN $4 IN ('idle', 'idle_in_transaction')
         AND a.state_change > pg_catalog.now() - pg_catalog.make_interval(secs => $5::float8)
        THEN 'skipped: in this state for less than the threshold'
    WHEN $4 = 'active' AND (a.state IS DISTINCT FROM 'active'
                            OR a.query_start IS DISTINCT FROM $6::timestamptz)
        THEN 'skipped: that query is no longer running'
    WHEN $4 = 'active'
         AND a.query_start > pg_catalog.now() - pg_catalog.make_interval(secs => $5::float8)
        THEN 'skipped: running for less than the threshold'
    WHEN $4 = 'blocker' AND a.xact_start IS DISTINCT FROM $6::timestamptz
        THEN 'skipped: that transaction has ended'
    WHEN $4 = 'blocker' AND NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_stat_activity w
            WHERE w.wait_event_type = 'Lock'
              AND a.pid OPERATOR(pg_catalog.=) ANY (pg_catalog.pg_blocking_pids(w.pid)))
        THEN 'skipped: no longer blocks anyone'
    WHEN r.rolsuper AND NOT $7::bool
        THEN 'skipped: a superuser''s session (pgmedic is not a superuser)'
    WHEN $3 = 'terminate' THEN
        CASE WHEN pg_catalog.pg_terminate_backend(a.pid) THEN 'signalled'
             ELSE 'failed: the server did not signal it' END
    ELSE
        CASE WHEN pg_catalog.pg_cancel_backend(a.pid) THEN 'signalled'
             ELSE 'failed: the server did not signal it' END
END AS outcome
FROM (SELECT $1::int4 AS pid) p
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = p.pid
LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid
