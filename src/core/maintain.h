/*
 * maintain.h - `pgmedic maintain`: which VACUUM, ANALYZE and REINDEX work a
 * database needs, decided from its statistics rather than from the
 * calendar (runbook §10), and the maintenance window it may run in.
 *
 * Pure: the planner takes the candidate rows that src/pg/maint.c read
 * (sql/maintain_*.sql) and the thresholds, and returns ordered work items
 * with the reason and an estimate of their size and time.  No server, no
 * clock, no files; strings live in the caller's arena.  The window functions
 * take the time as an argument.
 */
#ifndef PGMEDIC_CORE_MAINTAIN_H
#define PGMEDIC_CORE_MAINTAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/compiler.h"
#include "util/error.h"

/* Smallest numbers worth acting on (like autovacuum's base thresholds). */
enum
{
    MAINT_MIN_DEAD_TUPLES = 1000,       /* as diagnose's table_bloat */
    MAINT_MIN_MODIFIED = 50,            /* as autovacuum_analyze_threshold */
    MAINT_INDEX_MIN_BYTES = 1024 * 1024 /* smaller indexes are never rebuilt for bloat */
};

/* Defaults of the settings that [thresholds] does not hold. */
#define MAINT_DEFAULT_FREEZE_AGE_RATIO  0.5
#define MAINT_DEFAULT_INDEX_BLOAT_RATIO 0.4
/* Bytes read and written per second when no measured run says better: a cautious disk. */
#define MAINT_DEFAULT_RATE_BYTES_PER_S (50.0 * 1024 * 1024)

/* One table of the connected database (sql/maintain_tables.sql). */
typedef struct
{
    uint32_t oid;
    const char *schema;
    const char *name;
    int64_t n_live_tup;
    int64_t n_dead_tup;
    int64_t n_mod_since_analyze;
    double last_analyze_age_s;   /* manual or auto, the latest; -1 when never */
    int64_t heap_bytes;          /* pg_table_size: heap, TOAST, maps */
    int64_t index_bytes;         /* pg_indexes_size */
    int64_t xid_age;             /* age(relfrozenxid), the older of the table and its TOAST */
    int64_t mxid_age;            /* mxid_age(relminmxid), likewise */
    int64_t freeze_max_age;      /* autovacuum_freeze_max_age for this table */
    int64_t mxid_freeze_max_age; /* autovacuum_multixact_freeze_max_age for this table */
    bool is_catalog;             /* pg_catalog, information_schema: judged on its age only */
    bool may_maintain;           /* this role may VACUUM/ANALYZE it (else the server skips it) */
} MaintTable;

/* One index (sql/maintain_indexes.sql): INVALID ones, and B-trees big enough to matter. */
typedef struct
{
    uint32_t oid;
    const char *schema;
    const char *name;
    uint32_t table_oid;
    const char *table_schema;
    const char *table_name;
    const char *method; /* "btree", "gin", ... */
    bool is_valid;
    bool is_unique;
    bool building; /* a CREATE INDEX / REINDEX is running on its table now */
    int64_t size_bytes;
    int64_t table_bytes; /* pg_table_size of its table */
    double reltuples;    /* the index's pg_class.reltuples; -1 when never counted */
    double key_width;    /* bytes of data per entry from pg_stats; -1 when unknown */
    int32_t fillfactor;  /* percent (90 for a B-tree by default) */
    /* pgstatindex() when pgstattuple measured it (measured == false otherwise). */
    bool measured;
    double leaf_density; /* avg_leaf_density, percent */
    int64_t leaf_pages;
    int64_t internal_pages;
    bool may_maintain; /* this role may REINDEX / DROP it */
} MaintIndex;

typedef struct
{
    MaintTable *tables;
    size_t n_tables;
    MaintIndex *indexes;
    size_t n_indexes;
    int64_t block_size; /* 8192 */
} MaintInput;

typedef struct
{
    double dead_tuple_ratio;       /* [thresholds]: of live + dead tuples */
    double stale_statistics_ratio; /* [thresholds]: modified since analyze, of live tuples */
    double freeze_age_ratio;       /* of autovacuum_freeze_max_age (and the multixact one) */
    double index_bloat_ratio;      /* of the index's size, wasted */
    double rate_bytes_per_s;       /* for the time estimates */
    unsigned kinds;                /* bit (1 << MaintKind) per kind planned; 0: all */
} MaintSettings;

/*
 * The kinds of work, in the order a window runs them: what protects the
 * database first, then what is cheap and helps plans, then what reclaims
 * space.
 */
typedef enum
{
    MAINT_VACUUM_FREEZE = 0, /* VACUUM (FREEZE): relfrozenxid near wraparound */
    MAINT_DROP_INVALID,      /* DROP INDEX CONCURRENTLY: a _ccnew/_ccold a REINDEX left */
    MAINT_REBUILD_INVALID,   /* REINDEX INDEX CONCURRENTLY of an INVALID index */
    MAINT_ANALYZE,           /* ANALYZE: stale statistics */
    MAINT_VACUUM,            /* VACUUM (ANALYZE): dead tuples */
    MAINT_REINDEX,           /* REINDEX INDEX CONCURRENTLY: a bloated B-tree */
    MAINT_N_KINDS
} MaintKind;

typedef struct
{
    MaintKind kind;
    uint32_t oid; /* the relation acted on: a table, or an index */
    const char *schema;
    const char *name;
    uint32_t table_oid; /* its table (the same for table work) */
    const char *table_schema;
    const char *table_name;
    bool freeze;  /* VACUUM option FREEZE */
    bool analyze; /* VACUUM option ANALYZE */
    const char *why;
    int64_t size_bytes;    /* the relation: table with its indexes, or the index */
    int64_t work_bytes;    /* expected bytes read and written by the statement */
    int64_t reclaim_bytes; /* space a rebuild gives back; -1 when not estimated */
    double estimate_s;
    bool measured; /* reindex: bloat measured by pgstattuple, not estimated */
} MaintItem;

typedef struct
{
    MaintItem *items; /* in the order to run them */
    size_t n_items;
    int64_t work_bytes; /* sums over the items */
    double estimate_s;
    const char **notes; /* what was left alone and why */
    size_t n_notes;
} MaintPlan;

/*
 * Plans the work for in under s.  A table needing several kinds of VACUUM
 * work gets one item (VACUUM (FREEZE, ANALYZE) rather than three statements).
 * -1 when out of memory.
 */
int maintain_plan(const MaintInput *in, const MaintSettings *s, Arena *arena,
                  MaintPlan *out) PM_MUST_CHECK;

/* "vacuum", "vacuum_freeze", ...; "?" when out of range. */
const char *maintain_kind_name(MaintKind kind);

/* The inverse; -1 when name is not a kind. */
int maintain_kind_from_name(const char *name);

/*
 * Parses a comma list of kind names ("vacuum,analyze") into a bit set of
 * (1 << MaintKind); -1 with *err naming the bad one.
 */
int maintain_kinds_parse(const char *list, unsigned *out, PmError *err) PM_MUST_CHECK;

/* The seconds an item of work_bytes should take at rate (with a fixed start-up cost). */
double maintain_estimate_s(int64_t work_bytes, double rate_bytes_per_s);

/*
 * The B-tree index's expected size when freshly built, from its statistics
 * or its pgstatindex() measure; -1 when it cannot be estimated (not a
 * B-tree, no statistics).
 */
int64_t maintain_index_expected_bytes(const MaintIndex *ix, int64_t block_size);

/* "1,234,567" */
void maintain_format_count(int64_t v, char *buf, size_t size);

/* "2.2 MiB", "812 kiB", "0 bytes"; "?" when negative (unknown). */
void maintain_format_bytes(int64_t bytes, char *buf, size_t size);

/* --- the maintenance window --- */

/*
 * A weekly window: the days it may start on (bit 0 Sunday .. bit 6
 * Saturday) and its start and end in minutes after local midnight.  An end
 * at or before the start crosses midnight ("Sat 23:00-01:00" ends Sunday).
 */
typedef struct
{
    unsigned days; /* 0x7f: every day */
    int start_min; /* 0..1439 */
    int end_min;   /* 1..1440 */
} MaintWindow;

/*
 * Parses "Sun 02:00-04:00", "daily 01:00-03:00", "Mon-Fri 22:00-23:30",
 * "Sat,Sun 23:00-01:00" or "02:00-04:00" (every day).  Day names take their
 * first three letters, in any case.  -1 with *err on bad syntax.
 */
int maintain_window_parse(const char *spec, MaintWindow *out, PmError *err) PM_MUST_CHECK;

/*
 * Seconds left in the window at unix_now (local time = UTC + tz_offset_s),
 * 0 when outside it.
 */
double maintain_window_remaining(const MaintWindow *w, double unix_now, int tz_offset_s);

/* Seconds until the window next opens (0 when it is open now). */
double maintain_window_next_start(const MaintWindow *w, double unix_now, int tz_offset_s);

/* The window as text, the way maintain_window_parse reads it ("Sun 02:00-04:00"). */
void maintain_window_format(const MaintWindow *w, char *buf, size_t size);

#endif
