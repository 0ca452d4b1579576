/*
 * store.h - pgmedic's own memory: the audit log of every action (and, in
 * later modules, samples, incidents and their timelines) in one SQLite file.
 *
 * Crash-safe by construction: WAL journal, synchronous=FULL, every write is
 * its own transaction.  The file and its directory are created private
 * (0600 / 0700).  The schema is versioned (PRAGMA user_version) and migrated
 * forward on open.  Only this module includes <sqlite3.h>.
 */
#ifndef PGMEDIC_STORE_STORE_H
#define PGMEDIC_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/snapshot.h"
#include "util/compiler.h"
#include "util/error.h"
#include "util/strbuf.h"

typedef struct Store Store; /* opaque: owns the sqlite3 handle */

/* The schema version this build writes. */
enum
{
    STORE_SCHEMA_VERSION = 3
};

/*
 * Opens (creating when missing) the store at path; "~/" is expanded from
 * $HOME.  NULL with *err filled on failure (unwritable directory, a file that
 * is not a store, a schema newer than this build).
 */
Store *store_open(const char *path, PmError *err) PM_MUST_CHECK;
void store_close(Store *store); /* NULL is a no-op */

/*
 * For runs that only add samples (check, triage, verify): synchronous=NORMAL,
 * so a monitoring check does not wait for an fsync.  In WAL mode the store
 * stays consistent; at worst the last samples are lost on power failure.
 * Audit rows are always written by a store opened without this.
 */
int store_relax_durability(Store *store, PmError *err) PM_MUST_CHECK;

/*
 * Caps SQLite's page cache at kib KiB (its default is 2 MiB).  For serve,
 * which keeps the store open for days: a cache that size would be its
 * largest allocation, for samples it appends and rarely reads back.
 */
int store_limit_cache(Store *store, int kib, PmError *err) PM_MUST_CHECK;

/* The path actually opened (after ~ expansion). */
const char *store_path(const Store *store);

/* --- audit --- */

typedef struct
{
    const char *target;  /* label, never with a password */
    const char *action;  /* "terminate-idle", ... */
    const char *options; /* the command line of the action, without connection secrets */
    const char *plan;    /* JSON: what it is about to do (sessions/tables and SQL) */
    const char *os_user;
    const char *db_role;
    double started_at; /* Unix time */
} AuditBegin;

/* Writes the "before" row, committed; *id is its id.  -1 with *err. */
int store_audit_begin(Store *store, const AuditBegin *row, int64_t *id,
                      PmError *err) PM_MUST_CHECK;

/*
 * Completes row id: status "done", "partial" or "failed", the result JSON
 * (per session/table) and an error text (may be NULL).  -1 with *err.
 */
int store_audit_finish(Store *store, int64_t id, const char *status, const char *result,
                       const char *error, double finished_at, PmError *err) PM_MUST_CHECK;

typedef struct
{
    int64_t id;
    double started_at;
    double finished_at; /* 0 while unfinished */
    const char *target, *action, *options, *plan, *os_user, *db_role, *status, *result, *error;
} AuditRow;

/*
 * Calls fn for the newest rows first (at most limit; 0 = all).  Rows whose
 * finished_at is 0 were started and never completed: pgmedic was killed in
 * between, or is still running.  -1 with *err.
 */
int store_audit_list(Store *store, size_t limit, int (*fn)(const AuditRow *row, void *arg),
                     void *arg, PmError *err) PM_MUST_CHECK;

/* --- samples (the baseline of "normal" for verify) --- */

typedef struct
{
    const char *target;
    double taken_at;
    int64_t clients, active, idle, idle_in_transaction, waiting_lock, usable;
    double longest_query_s;
} Sample;

int store_sample_add(Store *store, const Sample *sample, PmError *err) PM_MUST_CHECK;

/* The sample of a snapshot (strings point into it). */
void store_sample_of(const Snapshot *snap, Sample *out);

/* --- serve's alert states: one row per change (inactive, pending, firing) --- */

typedef struct
{
    const char *target; /* the [target NAME] */
    const char *alert;
    const char *from_state, *to_state;
    const char *severity;
    double at;
    const char *summary;
} AlertChangeRow;

int store_alert_change_add(Store *store, const AlertChangeRow *change, PmError *err) PM_MUST_CHECK;

/*
 * The median of clients over the samples of target taken in [since, until),
 * and how many there were; *n = 0 when none.  -1 with *err.
 */
int store_sample_baseline(Store *store, const char *target, double since, double until,
                          double *median_clients, int64_t *n, PmError *err) PM_MUST_CHECK;

#endif
