-- probe_tables: the user tables of this database most in need of a look: top $1 by dead
-- tuples, by modifications since analyze, and by rows read by sequential
-- scans.  Sizes only for those.
-- The ranking reads pg_class with only the three pg_stat_get_* functions it
-- needs, instead of materializing pg_stat_user_tables (about 20 functions per
-- table plus a GROUP BY join with pg_index for idx_scan); the other columns
-- are computed for the picked tables only.  10,000 tables: ~65 ms -> ~25 ms.
-- The picks carry their counters, so t is not scanned a fourth time to join
-- them back (10,000 tables: -2 ms).
-- Ties are broken by relid so the picks are the same on every run.
WITH t AS MATERIALIZED (
    SELECT c.oid AS relid,
           pg_catalog.pg_stat_get_dead_tuples(c.oid) AS n_dead_tup,
           pg_catalog.pg_stat_get_mod_since_analyze(c.oid) AS n_mod_since_analyze,
           pg_catalog.pg_stat_get_tuples_returned(c.oid) AS seq_tup_read
    FROM pg_catalog.pg_class c
    -- pg_stat_user_tables' filter, with the schemas resolved once rather than
    -- joined for every table (TOAST tables live only in pg_toast*).
    WHERE c.relkind IN ('r', 'm', 'p')
      AND c.relnamespace NOT IN (SELECT n.oid FROM pg_catalog.pg_namespace n
                                 WHERE n.nspname IN ('pg_catalog', 'information_schema')
                                    OR n.nspname OPERATOR(pg_catalog.~) '^pg_toast')
),
pick AS (
    (SELECT * FROM t WHERE n_dead_tup > 0 ORDER BY n_dead_tup DESC, relid LIMIT $1::int4)
    UNION
    (SELECT * FROM t WHERE n_mod_since_analyze > 0 ORDER BY n_mod_since_analyze DESC, relid
     LIMIT $1::int4)
    UNION
    (SELECT * FROM t WHERE seq_tup_read > 0 ORDER BY seq_tup_read DESC, relid LIMIT $1::int4)
)
SELECT t.relid::int8 AS oid,
       n.nspname::text AS schemaname,
       c.relname::text AS relname,
       pg_catalog.pg_stat_get_live_tuples(t.relid)::int8 AS n_live_tup,
       t.n_dead_tup::int8,
       t.n_mod_since_analyze::int8,
       pg_catalog.pg_stat_get_numscans(t.relid)::int8 AS seq_scan,
       t.seq_tup_read::int8,
       COALESCE((SELECT pg_catalog.sum(pg_catalog.pg_stat_get_numscans(i.indexrelid))
                 FROM pg_catalog.pg_index i WHERE i.indrelid = t.relid), -1)::int8 AS idx_scan,
       COALESCE(pg_catalog.pg_table_size(t.relid), 0)::int8 AS size_bytes,
       COALESCE(EXTRACT(epoch FROM pg_catalog.now() - GREATEST(
           pg_catalog.pg_stat_get_last_analyze_time(t.relid),
           pg_catalog.pg_stat_get_last_autoanalyze_time(t.relid))), -1)::float8,
       COALESCE(EXTRACT(epoch FROM pg_catalog.now() - GREATEST(
           pg_catalog.pg_stat_get_last_vacuum_time(t.relid),
           pg_catalog.pg_stat_get_last_autovacuum_time(t.relid))), -1)::float8,
       ARRAY(SELECT a.attname::text
             FROM pg_catalog.pg_index i
             JOIN pg_catalog.pg_attribute a
               ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
             WHERE i.indrelid = t.relid AND i.indisvalid
             ORDER BY 1)::text AS indexed_columns,
       -- reloptions keep the spelling used (off, false, 0, no): let the server read it.
       COALESCE((SELECT NOT o.option_value::bool
                 FROM pg_catalog.pg_options_to_table(c.reloptions) o
                 WHERE o.option_name = 'autovacuum_enabled'), false) AS autovacuum_disabled
FROM pick t
JOIN pg_catalog.pg_class c ON c.oid = t.relid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
ORDER BY t.n_dead_tup DESC, t.relid
