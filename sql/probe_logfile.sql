-- probe_logfile: where the server writes its log.  Needs a grant for
-- non-superusers: sent only when probe_server says it may be called.
SELECT pg_catalog.pg_current_logfile()
