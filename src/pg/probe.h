/*
 * probe.h - one round trip that turns a live server into a Snapshot.
 *
 * Every query goes out in one libpq pipeline and the answers are read back
 * under one deadline.  A server that cannot be reached is not an error: the
 * snapshot says why (snap->failure).  Never prints, never exits; strings
 * live in the caller's arena.
 */
#ifndef PGMEDIC_PG_PROBE_H
#define PGMEDIC_PG_PROBE_H

#include <stdbool.h>

#include "core/snapshot.h"
#include "pg/conn.h"
#include "util/arena.h"
#include "util/compiler.h"
#include "util/error.h"

typedef struct
{
    double slow_threshold_s; /* sessions active longer than this are collected */
    double idle_threshold_s; /* and idle sessions idle longer than this */
    int max_sessions;        /* caps keep the cost bounded on huge servers */
    int max_groups;
    int max_tables; /* per ranking: dead tuples, modifications, sequential reads */
    int max_statements; /* from pg_stat_statements */
    int query_len;  /* characters of query text kept */
    bool ping_only; /* only the server statement: identity, slots, counts and the
                     * oldest active query (status, check) */
    bool extras;    /* also WAL size, pg_stat_statements, log file: a second round
                     * trip, sent only with what can run without an error */
} ProbeOptions;

/* The defaults: 5 s, 1 h idle, 1000 sessions, 200 groups, 20 tables, 20 statements,
 * 512 characters. */
ProbeOptions probe_options_default(void);

/* Runs the probe on an open connection; -1 only when out of memory. */
int probe_run(PgConn *conn, const ProbeOptions *opts, Arena *arena, Snapshot *snap,
              PmError *err) PM_MUST_CHECK;

/* Connects, probes and disconnects; -1 only when out of memory. */
int probe_snapshot(const ConnSpec *spec, const ConnOptions *conn_opts, const ProbeOptions *opts,
                   Arena *arena, Snapshot *snap, PmError *err) PM_MUST_CHECK;

#endif
