-- probe_extras: what the optional queries of the second batch may call
-- without an error.  A denied function raises at plan time, even inside CASE,
-- so the probe asks first and never writes an ERROR into the server's log.
-- pg_settings hides what the role may not read, where current_setting() would
-- raise.  No parameters.
SELECT pg_catalog.has_function_privilege('pg_catalog.pg_ls_waldir()', 'EXECUTE') AS can_ls_waldir,
       pg_catalog.has_function_privilege('pg_catalog.pg_current_logfile()', 'EXECUTE')
           AS can_current_logfile,
       (SELECT n.nspname::text
        FROM pg_catalog.pg_extension e
        JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_stat_statements'
          -- pg_settings hides what the role may not read; current_setting() would raise.
          AND EXISTS (SELECT 1 FROM pg_catalog.pg_settings s
                      WHERE s.name = 'shared_preload_libraries'
                        AND s.setting OPERATOR(pg_catalog.~) 'pg_stat_statements'))
           AS statements_schema
