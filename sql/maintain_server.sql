-- maintain_server: what the maintenance plan needs to know about the server
-- and the connected database, in one row: the block size; the schema of the
-- pgstattuple extension when it is installed *and* this role may call
-- pgstatindex() (NULL otherwise, so the plan never calls what would raise an
-- error); the oldest relfrozenxid age of the database; who we are.
SELECT pg_catalog.current_setting('block_size')::int8 AS block_size,
       (SELECT n.nspname::text
        FROM pg_catalog.pg_extension e
        JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname OPERATOR(pg_catalog.=) 'pgstattuple'
          AND pg_catalog.has_function_privilege(
                pg_catalog.to_regprocedure(pg_catalog.quote_ident(n.nspname)
                                           OPERATOR(pg_catalog.||) '.pgstatindex(regclass)'),
                'EXECUTE')) AS pgstattuple_schema,
       pg_catalog.age(d.datfrozenxid)::int8 AS database_xid_age,
       pg_catalog.current_setting('autovacuum_freeze_max_age')::int8 AS freeze_max_age,
       current_user::text AS role,
       r.rolsuper AS is_superuser
FROM pg_catalog.pg_database d, pg_catalog.pg_roles r
WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
  AND r.rolname OPERATOR(pg_catalog.=) current_user
