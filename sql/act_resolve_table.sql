-- act_resolve_table: a table named by a user, resolved to its OID, schema and
-- name by the catalog (the name is a value here, never SQL).  No row when
-- there is no such table.  $1 the name, optionally schema-qualified.
SELECT c.oid::int8, n.nspname::text, c.relname::text, c.relkind::text
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = pg_catalog.to_regclass($1::text)
