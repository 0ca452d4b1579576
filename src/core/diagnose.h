/*
 * diagnose.h - from one snapshot to ranked findings: the cause behind each
 * firing alert, with evidence and the `pgmedic fix` commands that treat it
 * (DESIGN.md §4 "Diagnosis").
 *
 * Pure: no libpq, no I/O, no clock.  Everything lives in the caller's arena.
 *
 * Kinds, and the alert each can explain:
 *
 *   DatabaseConnectionFailure  server_down, timeout, too_many_clients, auth_failure,
 *                              database_missing, starting_up, shutting_down,
 *                              in_recovery, no_attempt, error (the failure's name);
 *                              too_many_clients also when the snapshot came through
 *                              a reserved slot (via_reserved_slot); disk_full and
 *                              wal_growth when the server is unreachable
 *   DatabaseHighConnections    connection_leak, connection_surge; idle_in_transaction
 *                              when those sessions are at least 10 % of the clients
 *   DatabaseSlowQueries        lock_contention, long_running_query; missing_index,
 *                              stale_statistics, table_bloat only when neither of
 *                              the first two was found
 *   any firing alert           unexplained, when no finding explains it
 *
 * A cause found while its alert is not firing is latent (alert NULL).  Host
 * facts (disk_full, wal_growth) are reported whether or not the server
 * answered.  A failed server gets no restart action when its disk is full:
 * it would stop again (the advice says to free space first).
 *
 * Ranking: findings that explain a firing alert first, critical before
 * warning, then by impact; then latent ones by impact; ties keep the order
 * above.  Severity is the explained alert's, else warning (critical for
 * disk_full).
 *
 * Impact is a ranking score in session-seconds ("sessions affected × seconds
 * lost"), computed per kind as:
 *
 *   every connection failure    1e9: every session, for as long as it lasts
 *   too_many_clients (through a reserved slot)   1e9 likewise
 *   disk_full                   2e9: an outage a restart does not cure
 *   wal_growth                  MiB of WAL past 2 × max_wal_size
 *   connection_leak             Σ idle time of the leaked sessions (slot-seconds)
 *   idle_in_transaction         Σ time idle in transaction of those sessions
 *   connection_surge            active sessions × 1 s (real load: after any cause)
 *   lock_contention             Σ lock wait of every blocked session
 *   long_running_query          Σ run time of the long queries
 *   missing_index               Σ total_exec_ms / 1000 of the statements that read
 *                               the table; without them, seq_tup_read × 1 µs
 *   stale_statistics            Σ n_mod_since_analyze × 1 µs
 *   table_bloat                 Σ n_dead_tup × 1 µs
 *   unexplained                 0
 *
 * Actions are bare commands; the caller appends connection options.  Their
 * grammar (what `pgmedic fix` must accept):
 *
 *   pgmedic fix restart
 *   pgmedic fix terminate-idle --application APP --idle-for DUR
 *   pgmedic fix terminate-idle --client ADDR --idle-for DUR     (no application name)
 *   pgmedic fix terminate-idle-in-transaction --idle-for DUR
 *   pgmedic fix terminate-blockers --lock-wait DUR
 *   pgmedic fix cancel-long --running-for DUR
 *   pgmedic fix create-index REL(COL[,COL...])
 *   pgmedic fix analyze REL
 *   pgmedic fix vacuum REL
 *
 * DUR is format_duration_ms() of a threshold ("1h", "5min", "5s").  REL is a
 * relation name as regclass input takes it: schema.table, each part
 * double-quoted when it is not a plain lower-case identifier
 * (public."Order Items").  COL is quoted the same way.  Every argument that is
 * not plain is shell-quoted (finding_shell_quote).  The index create-index
 * would build is named idx_<table>_<col>[_<col>...], cut to 63 bytes on a
 * character boundary; its columns are the equality columns of the statement's
 * filter, then one range column (see diagnose_filter_columns).
 */
#ifndef PGMEDIC_CORE_DIAGNOSE_H
#define PGMEDIC_CORE_DIAGNOSE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/finding.h"
#include "core/rules.h"
#include "core/snapshot.h"
#include "core/thresholds.h"
#include "util/arena.h"
#include "util/compiler.h"

/* Rules of thumb the diagnosis uses, exposed so tests and docs quote them. */
enum
{
    DIAGNOSE_LEAK_MIN_SESSIONS = 5,    /* idle sessions from one application */
    DIAGNOSE_INDEX_MIN_ROWS = 10000,   /* n_live_tup of a missing_index table */
    DIAGNOSE_INDEX_MIN_SEQ_SCANS = 10, /* seq_scan, and seq_tup_read ≥ 10 × rows */
    DIAGNOSE_BLOAT_MIN_DEAD = 1000,    /* n_dead_tup of a table_bloat table */
    DIAGNOSE_STALE_MIN_MODIFIED = 50,  /* like autovacuum_analyze_threshold */
    DIAGNOSE_MAX_TABLES_LISTED = 5,    /* per stale_statistics / table_bloat */
    DIAGNOSE_MAX_LOG_LINES = 5         /* FATAL / PANIC lines quoted */
};

/*
 * Fills *out (reset first) with the ranked findings for snap, given the
 * firing alerts from rules_eval().  alerts may be empty; every string and
 * array lives in arena.  Returns 0, or -1 when out of memory.
 */
int diagnose_run(const Snapshot *snap, const Thresholds *th, const AlertList *alerts, Arena *arena,
                 FindingList *out) PM_MUST_CHECK;

/*
 * The columns of the index that would serve a statement's filter on table.
 * The statement reads the table when a FROM, JOIN or UPDATE names it
 * (schema-qualified or not; unquoted names case-insensitive, quoted ones
 * exact); *reads says so.  The filter is the WHERE clause of that query level:
 * identifiers compared with =, IN or IS (equality), or <, >, <=, >=, LIKE,
 * ILIKE or BETWEEN (range); pg_stat_statements has turned the constants into
 * $n.  A column qualified by another table's name or alias is not counted; an
 * unqualified one only when that query level names one table.  Result: the
 * equality columns, then the first range column (an index serves equality
 * columns first); when the clause has an OR, only its first column.  Each
 * column once, at most max; strings in arena, unquoted names lower-cased.
 * Returns how many, or -1 when out of memory.
 */
int diagnose_filter_columns(const char *query, const char *schema, const char *table, Arena *arena,
                            bool *reads, const char **cols, size_t max) PM_MUST_CHECK;

#endif
