-- maintain_indexes: the indexes the plan judges: every INVALID one (a failed
-- CREATE INDEX CONCURRENTLY, or the _ccnew/_ccold copy of an interrupted
-- REINDEX CONCURRENTLY), and the B-trees of at least $1 bytes, with what a
-- bloat estimate needs: the entries (reltuples), the average bytes of data
-- per entry from pg_stats (NULL when a column has no statistics), the fill
-- factor.  $2 the most rows, $3 one index's OID (NULL: every index).
-- `building`: a CREATE INDEX or REINDEX runs on the table now (its own index
-- is INVALID until it ends: never touch it).  Indexes of TOAST tables are
-- left out (REINDEX cannot rebuild an invalid one concurrently), as are
-- temporary tables' and indexes being dropped (not indislive).
-- may_maintain: this role may REINDEX it (superuser, or a member of the
-- table's owner; 17+ also the MAINTAIN privilege on the table).
-- The key width is a SubPlan, which the planner evaluates after the LIMIT.
SELECT i.indexrelid::int8 AS oid,
       n.nspname::text AS schemaname,
       c.relname::text AS indexname,
       i.indrelid::int8 AS table_oid,
       tn.nspname::text AS table_schema,
       tc.relname::text AS table_name,
       am.amname::text AS method,
       i.indisvalid,
       i.indisunique,
       EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p
               WHERE p.relid = i.indrelid) AS building,
       pg_catalog.pg_relation_size(i.indexrelid)::int8 AS size_bytes,
       COALESCE(pg_catalog.pg_table_size(i.indrelid), 0)::int8 AS table_bytes,
       c.reltuples::float8,
       COALESCE((SELECT CASE WHEN pg_catalog.count(s.avg_width) = i.indnatts
                             THEN pg_catalog.sum(s.avg_width::float8
                                                 * (1 - s.null_frac::float8)) END
                 FROM pg_catalog.generate_series(0, i.indnatts - 1) AS k(pos)
                 LEFT JOIN pg_catalog.pg_attribute a
                   ON a.attrelid = CASE WHEN i.indkey[k.pos] = 0 THEN i.indexrelid
                                        ELSE i.indrelid END
                  AND a.attnum = CASE WHEN i.indkey[k.pos] = 0 THEN (k.pos + 1)::int2
                                      ELSE i.indkey[k.pos] END
                 LEFT JOIN pg_catalog.pg_stats s
                   ON s.schemaname OPERATOR(pg_catalog.=)
                          CASE WHEN i.indkey[k.pos] = 0 THEN n.nspname ELSE tn.nspname END
                  AND s.tablename OPERATOR(pg_catalog.=)
                          CASE WHEN i.indkey[k.pos] = 0 THEN c.relname ELSE tc.relname END
                  AND s.attname OPERATOR(pg_catalog.=) a.attname
                  AND NOT s.inherited), -1)::float8 AS key_width,
       COALESCE((SELECT o.option_value::int4
                 FROM pg_catalog.pg_options_to_table(c.reloptions) o
                 WHERE o.option_name OPERATOR(pg_catalog.=) 'fillfactor'), 90)::int4 AS fillfactor,
       (g.is_superuser
        OR pg_catalog.pg_has_role(tc.relowner, 'USAGE')
        OR CASE WHEN g.version_num >= 170000
                THEN pg_catalog.has_table_privilege(tc.oid, 'MAINTAIN') END) IS TRUE
           AS may_maintain
FROM pg_catalog.pg_index i
CROSS JOIN (SELECT (SELECT r.rolsuper FROM pg_catalog.pg_roles r
                    WHERE r.rolname OPERATOR(pg_catalog.=) current_user) AS is_superuser,
                   pg_catalog.current_setting('server_version_num')::int4 AS version_num) g
JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
JOIN pg_catalog.pg_class tc ON tc.oid = i.indrelid
JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE tc.relkind IN ('r', 'm')
  AND tc.relpersistence OPERATOR(pg_catalog.<>) 't'
  AND i.indislive
  AND tn.nspname NOT IN ('pg_catalog', 'information_schema')
  AND tn.nspname OPERATOR(pg_catalog.!~) '^pg_toast'
  AND ($3::oid IS NULL OR i.indexrelid = $3::oid)
  AND (NOT i.indisvalid
       OR (am.amname OPERATOR(pg_catalog.=) 'btree'
           AND pg_catalog.pg_relation_size(i.indexrelid) >= $1::int8))
ORDER BY i.indisvalid, pg_catalog.pg_relation_size(i.indexrelid) DESC, i.indexrelid
LIMIT $2::int4
