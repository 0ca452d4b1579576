-- probe_wal: size of the WAL directory.  Needs pg_monitor (or superuser):
-- sent only when probe_server says pg_ls_waldir() may be called.
SELECT pg_catalog.count(*)::int8 AS files, COALESCE(pg_catalog.sum(w.size), 0)::int8 AS bytes
FROM pg_catalog.pg_ls_waldir() w
