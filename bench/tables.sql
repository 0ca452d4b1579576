-- bench/tables.sql - user tables with dead tuples and no statistics.
-- psql -v first=N -v last=M -f bench/tables.sql creates bench_t_N .. bench_t_M
-- (100 rows each, 30 deleted: n_dead_tup = 30, never analyzed or vacuumed:
-- autovacuum is off for them), committing every 250 tables.
\set ON_ERROR_STOP on
SET bench.first = :'first';
SET bench.last = :'last';
DO $$
DECLARE
    i int;
BEGIN
    FOR i IN current_setting('bench.first')::int .. current_setting('bench.last')::int LOOP
        EXECUTE format('CREATE TABLE bench_t_%s (id int PRIMARY KEY, account int NOT NULL,'
                       ' payload text, updated_at timestamptz NOT NULL DEFAULT now())'
                       ' WITH (autovacuum_enabled = false)', i);
        EXECUTE format('INSERT INTO bench_t_%s (id, account, payload)'
                       ' SELECT g, g %% 17, md5(g::text) FROM generate_series(1, 100) g', i);
        EXECUTE format('DELETE FROM bench_t_%s WHERE id %% 10 < 3', i);
        IF i % 250 = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
END
$$;
