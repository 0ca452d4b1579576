-- maintain_tables: the tables of this database that need VACUUM, VACUUM
-- (FREEZE) or ANALYZE by the plan's thresholds, most urgent first.  The
-- thresholds are applied here only to bound the answer; core/maintain.c
-- decides.  $1 dead_tuple_ratio, $2 stale_statistics_ratio, $3
-- freeze_age_ratio (of autovacuum_freeze_max_age, and of the multixact one),
-- $4 the fewest dead tuples and $5 the fewest modified rows worth acting on,
-- $6 the most rows, $7 one table's OID (NULL: every table).
-- The freeze ages are the table's own reloptions when set (the server only
-- honours values below the global setting), and the age counts its TOAST
-- table, which VACUUM of the table also processes.
-- System catalogs count only for their age (autovacuum keeps their dead
-- tuples and statistics); temporary tables (other sessions' cannot be
-- vacuumed) are left out.  may_maintain: this role may VACUUM and ANALYZE the
-- table (superuser, or a member of the table's or the database's owner; 17+
-- also the MAINTAIN privilege); otherwise the server would only warn and skip it.
WITH g AS (
    SELECT pg_catalog.current_setting('autovacuum_freeze_max_age')::int8 AS freeze_max_age,
           pg_catalog.current_setting('autovacuum_multixact_freeze_max_age')::int8
               AS mxid_freeze_max_age,
           (SELECT r.rolsuper FROM pg_catalog.pg_roles r
            WHERE r.rolname OPERATOR(pg_catalog.=) current_user) AS is_superuser,
           (SELECT d.datdba FROM pg_catalog.pg_database d
            WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()) AS datdba,
           pg_catalog.current_setting('server_version_num')::int4 AS version_num
),
t AS (
    SELECT c.oid AS relid,
           c.relnamespace,
           c.relname,
           c.relnamespace IN (SELECT n.oid FROM pg_catalog.pg_namespace n
                              WHERE n.nspname IN ('pg_catalog', 'information_schema'))
               AS is_catalog,
           (g.is_superuser
            OR (NOT c.relisshared
                AND (pg_catalog.pg_has_role(c.relowner, 'USAGE')
                     OR pg_catalog.pg_has_role(g.datdba, 'USAGE')
                     OR CASE WHEN g.version_num >= 170000
                             THEN pg_catalog.has_table_privilege(c.oid, 'MAINTAIN') END)))
               IS TRUE AS may_maintain,
           pg_catalog.pg_stat_get_live_tuples(c.oid) AS n_live_tup,
           pg_catalog.pg_stat_get_dead_tuples(c.oid) AS n_dead_tup,
           pg_catalog.pg_stat_get_mod_since_analyze(c.oid) AS n_mod_since_analyze,
           GREATEST(pg_catalog.pg_stat_get_last_analyze_time(c.oid),
                    pg_catalog.pg_stat_get_last_autoanalyze_time(c.oid)) AS last_analyze,
           GREATEST(pg_catalog.age(c.relfrozenxid),
                    COALESCE(pg_catalog.age(tc.relfrozenxid), 0)) AS xid_age,
           GREATEST(pg_catalog.mxid_age(c.relminmxid),
                    COALESCE(pg_catalog.mxid_age(tc.relminmxid), 0)) AS mxid_age,
           LEAST(g.freeze_max_age,
                 COALESCE((SELECT o.option_value::int8
                           FROM pg_catalog.pg_options_to_table(c.reloptions) o
                           WHERE o.option_name OPERATOR(pg_catalog.=) 'autovacuum_freeze_max_age'),
                          g.freeze_max_age)) AS freeze_max_age,
           LEAST(g.mxid_freeze_max_age,
                 COALESCE((SELECT o.option_value::int8
                           FROM pg_catalog.pg_options_to_table(c.reloptions) o
                           WHERE o.option_name OPERATOR(pg_catalog.=)
                                 'autovacuum_multixact_freeze_max_age'),
                          g.mxid_freeze_max_age)) AS mxid_freeze_max_age
    FROM pg_catalog.pg_class c
    LEFT JOIN pg_catalog.pg_class tc ON tc.oid = c.reltoastrelid
    CROSS JOIN g
    WHERE c.relkind IN ('r', 'm')
      AND c.relpersistence OPERATOR(pg_catalog.<>) 't'
      AND c.relnamespace NOT IN (SELECT n.oid FROM pg_catalog.pg_namespace n
                                 WHERE n.nspname OPERATOR(pg_catalog.~) '^pg_toast')
      AND ($7::oid IS NULL OR c.oid = $7::oid)
)
SELECT t.relid::int8 AS oid,
       n.nspname::text AS schemaname,
       t.relname::text AS relname,
       t.n_live_tup::int8,
       t.n_dead_tup::int8,
       t.n_mod_since_analyze::int8,
       COALESCE(EXTRACT(epoch FROM pg_catalog.now() - t.last_analyze), -1)::float8
           AS last_analyze_age_s,
       COALESCE(pg_catalog.pg_table_size(t.relid), 0)::int8 AS heap_bytes,
       COALESCE(pg_catalog.pg_indexes_size(t.relid), 0)::int8 AS index_bytes,
       t.xid_age::int8,
       t.mxid_age::int8,
       t.freeze_max_age::int8,
       t.mxid_freeze_max_age::int8,
       t.is_catalog,
       t.may_maintain
FROM t
JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
WHERE (NOT t.is_catalog
       AND t.n_dead_tup >= $4::int8
       AND t.n_dead_tup::float8 > $1::float8 * (t.n_live_tup + t.n_dead_tup)::float8)
   OR (NOT t.is_catalog
       AND t.n_mod_since_analyze >= $5::int8
       AND (t.last_analyze IS NULL
            OR t.n_mod_since_analyze::float8 > $2::float8 * t.n_live_tup::float8))
   OR t.xid_age::float8 >= $3::float8 * t.freeze_max_age::float8
   OR t.mxid_age::float8 >= $3::float8 * t.mxid_freeze_max_age::float8
ORDER BY GREATEST(t.xid_age::float8 / t.freeze_max_age::float8,
                  t.mxid_age::float8 / t.mxid_freeze_max_age::float8) DESC,
         t.n_dead_tup DESC, t.n_mod_since_analyze DESC, t.relid
LIMIT $6::int4
