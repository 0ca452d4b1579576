-- maintain_progress: what backend $1 is doing now, from the progress view of
-- its command: VACUUM, ANALYZE, or CREATE INDEX / REINDEX.  One row (none
-- when it is between phases): the command, the phase, work done and total
-- (blocks, or tuples when the phase counts those; 0 total when unknown).
-- VACUUM counts blocks only while it scans or vacuums the heap; its other
-- phases (indexes, truncating) show no percentage.
SELECT 'vacuum'::text AS command, p.phase::text,
       CASE p.phase WHEN 'scanning heap' THEN p.heap_blks_scanned
                    WHEN 'vacuuming heap' THEN p.heap_blks_vacuumed END::float8 AS done,
       CASE WHEN p.phase IN ('scanning heap', 'vacuuming heap') THEN p.heap_blks_total
            ELSE 0 END::float8 AS total
FROM pg_catalog.pg_stat_progress_vacuum p WHERE p.pid = $1::int4
UNION ALL
SELECT 'analyze', p.phase::text, p.sample_blks_scanned::float8, p.sample_blks_total::float8
FROM pg_catalog.pg_stat_progress_analyze p WHERE p.pid = $1::int4
UNION ALL
SELECT 'index', p.phase::text,
       CASE WHEN p.blocks_total > 0 THEN p.blocks_done ELSE p.tuples_done END::float8,
       CASE WHEN p.blocks_total > 0 THEN p.blocks_total ELSE p.tuples_total END::float8
FROM pg_catalog.pg_stat_progress_create_index p WHERE p.pid = $1::int4
LIMIT 1
