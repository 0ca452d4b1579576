-- maintain_invalid_on_table: the INVALID indexes of table $1, as OIDs and
-- names.  Read before and after a REINDEX CONCURRENTLY: one that fails or is
-- cancelled leaves an INVALID _ccnew copy, which is dropped right away.
SELECT i.indexrelid::int8, n.nspname::text, c.relname::text
FROM pg_catalog.pg_index i
JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE i.indrelid = $1::oid AND NOT i.indisvalid
ORDER BY 1
