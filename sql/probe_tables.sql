-- probe_tables: the user tables of this database most in need of a look:
-- top $1 by dead tuples, by modifications since analyze, and by rows read
-- by sequential scans.  Sizes only for those.
WITH t AS MATERIALIZED (
    SELECT relid, schemaname, relname, n_live_tup, n_dead_tup, n_mod_since_analyze, seq_scan,
           seq_tup_read, idx_scan,
           GREATEST(last_analyze, last_autoanalyze) AS analyzed,
           GREATEST(last_vacuum, last_autovacuum) AS vacuumed
    FROM pg_catalog.pg_stat_user_tables
),
pick AS (
    (SELECT relid FROM t WHERE n_dead_tup > 0 ORDER BY n_dead_tup DESC LIMIT $1::int4)
    UNION
    (SELECT relid FROM t WHERE n_mod_since_analyze > 0 ORDER BY n_mod_since_analyze DESC
     LIMIT $1::int4)
    UNION
    (SELECT relid FROM t WHERE seq_tup_read > 0 ORDER BY seq_tup_read DESC LIMIT $1::int4)
)
SELECT t.relid::int8 AS oid,
       t.schemaname::text,
       t.relname::text,
       t.n_live_tup::int8,
       t.n_dead_tup::int8,
       t.n_mod_since_analyze::int8,
       COALESCE(t.seq_scan, 0)::int8,
       COALESCE(t.seq_tup_read, 0)::int8,
       COALESCE(t.idx_scan, -1)::int8,
       COALESCE(pg_catalog.pg_table_size(t.relid), 0)::int8 AS size_bytes,
       COALESCE(EXTRACT(epoch FROM pg_catalog.now() - t.analyzed), -1)::float8,
       COALESCE(EXTRACT(epoch FROM pg_catalog.now() - t.vacuumed), -1)::float8
FROM t
JOIN pick ON pick.relid = t.relid
ORDER BY t.n_dead_tup DESC, t.relid
