/*
 * forest.h - a snapshot with a lock forest, built in code for the tui tests
 * (the fixtures hold one waiter at most):
 *
 *   100 idle in transaction, "billing"      <- 101 <- {103 "report"/dw, 102}, 104 (also 200)
 *   200 active, "etl"/dw                    <- 201
 *   777 not in the snapshot                 <- 301
 *   401 <-> 402 waiting on each other (a deadlock cycle)
 *   500 idle, "idle-app"; 501 idle in transaction (aborted), "zeta"
 *
 * pgmedic's own pid is 42.  forest_sessions may be changed by a test after
 * forest() and is rebuilt by the next call.
 */
#ifndef PGMEDIC_TESTS_UNIT_TUI_FOREST_H
#define PGMEDIC_TESTS_UNIT_TUI_FOREST_H

#include <stdint.h>
#include <string.h>

#include "core/snapshot.h"

static int32_t by_100[] = {100};
static int32_t by_101[] = {101};
static int32_t by_200[] = {200};
static int32_t by_777[] = {777};
static int32_t by_401[] = {401};
static int32_t by_402[] = {402};
static int32_t by_100_200[] = {100, 200};

static Session
mk(int32_t pid, const char *app, const char *db, const char *state, double age,
   const int32_t *blockers, size_t n_blockers, double lock_wait_s, const char *query)
{
    Session s;

    memset(&s, 0, sizeof(s));
    s.pid = pid;
    s.user = "app";
    s.application = app;
    s.client = "10.0.0.7";
    s.database = db;
    s.state = state;
    s.backend_start = "2026-11-29 14:00:00+00";
    s.backend_age_s = 3600;
    s.state_age_s = age;
    s.query_age_s = age;
    s.xact_age_s = strcmp(state, "idle") == 0 ? -1 : age;
    s.xact_start = strcmp(state, "idle") == 0 ? NULL : "2026-11-29 14:59:00+00";
    s.query_start = "2026-11-29 14:59:00+00";
    s.lock_wait_s = -1;
    if (n_blockers > 0)
    {
        s.wait_event_type = "Lock";
        s.wait_event = "transactionid";
        s.blocked_by = (int32_t *) (uintptr_t) blockers;
        s.n_blocked_by = n_blockers;
        s.lock_wait_s = lock_wait_s;
    }
    s.query = query;
    return s;
}

/*
 * Tree of 100 (idle in transaction): 101 -> {103, 102}, 104.  Tree of 200
 * (active): 201.  777 is not in the snapshot: 301 waits on it.  401 and 402
 * wait on each other.  500 and 501 are in no tree.
 */
static Session forest_sessions[14];

static void
forest(Snapshot *snap)
{
    size_t n = 0;

    memset(snap, 0, sizeof(*snap));
    snap->target = "app@db1:5432";
    snap->taken_at = 1795964400.0; /* 2026-11-29T15:00:00Z */
    snap->version = "15.18";
    snap->version_num = 150018;
    snap->uptime_s = 90000;
    snap->role = "pgmedic";
    snap->own_pid = 42;
    snap->max_connections = 100;
    snap->superuser_reserved = 3;
    forest_sessions[n++] = mk(100, "billing", "app", "idle in transaction", 60, NULL, 0, -1,
                              "UPDATE orders SET paid = true WHERE id = $1");
    forest_sessions[n++] = mk(101, "api", "app", "active", 50, by_100, 1, 50, "UPDATE orders a");
    forest_sessions[n++] = mk(102, "api", "app", "active", 40, by_101, 1, 40, "SELECT 102");
    forest_sessions[n++] = mk(103, "report", "dw", "active", 45, by_101, 1, 45, "SELECT 103");
    forest_sessions[n++] = mk(104, "api", "app", "active", 10, by_100_200, 2, 10, "SELECT 104");
    forest_sessions[n++] = mk(200, "etl", "dw", "active", 300, NULL, 0, -1, "COPY big FROM stdin");
    forest_sessions[n++] = mk(201, "etl", "dw", "active", 5, by_200, 1, 5, "SELECT 201");
    forest_sessions[n++] = mk(301, "orphan", "app", "active", 20, by_777, 1, 20, "SELECT 301");
    forest_sessions[n++] = mk(401, "dead", "app", "active", 1, by_402, 1, 1, "SELECT 401");
    forest_sessions[n++] = mk(402, "dead", "app", "active", 1, by_401, 1, 1, "SELECT 402");
    forest_sessions[n++] = mk(500, "idle-app", "app", "idle", 3600, NULL, 0, -1, "SELECT 1");
    forest_sessions[n++] =
        mk(501, "zeta", "app", "idle in transaction (aborted)", 2, NULL, 0, -1, "SELECT 1/0");
    snap->sessions = forest_sessions;
    snap->n_sessions = n;
    snap->n_clients = (int64_t) n;
    snap->n_active = 8;
    snap->n_idle = 1;
    snap->n_idle_in_transaction = 2;
    snap->n_waiting_lock = 8;
}

#endif
