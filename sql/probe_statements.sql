-- probe_statements: the statements with the most total execution time, from
-- pg_stat_statements.  Sent only when probe_server found the extension
-- installed and preloaded; SCHEMA is replaced by its escaped schema name.
-- $1: query text length; $2: the most statements.
SELECT s.queryid::int8,
       pg_catalog.left(s.query, $1::int4),
       s.calls::int8,
       s.total_exec_time::float8,
       s.mean_exec_time::float8,
       s.rows::int8,
       s.shared_blks_read::int8,
       s.shared_blks_hit::int8
FROM @SCHEMA@.pg_stat_statements s
WHERE s.dbid = (SELECT d.oid FROM pg_catalog.pg_database d
                WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database())
  AND s.query NOT LIKE '%pg_stat_statements%'
ORDER BY s.total_exec_time DESC
LIMIT $2::int4
