-- probe_settings: the settings the runbook looks at.
-- $1: the names, as a text array.
SELECT s.name, s.setting, s.unit
FROM pg_catalog.pg_settings s
WHERE s.name OPERATOR(pg_catalog.=) ANY ($1::text[])
ORDER BY s.name
