-- act_index_valid: whether the index named $2 in schema $1 exists and is
-- valid (a failed CREATE INDEX CONCURRENTLY leaves an INVALID one behind).
SELECT i.indisvalid
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname OPERATOR(pg_catalog.=) $1::text AND c.relname OPERATOR(pg_catalog.=) $2::text
