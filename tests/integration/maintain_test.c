/*
 * maintain_test.c - pgmedic maintain on a real server: each kind of work
 * planned from the statistics and then applied (dead tuples -> VACUUM, stale
 * statistics -> ANALYZE, a bloated B-tree -> REINDEX CONCURRENTLY, an
 * INVALID index left by a failed CREATE INDEX CONCURRENTLY -> rebuilt, the
 * _ccnew copy of a failed REINDEX CONCURRENTLY -> dropped, relfrozenxid near
 * wraparound -> VACUUM (FREEZE)), the plan as text and JSON and that it
 * changes nothing, the window (work that does not fit is not started, a
 * statement still running at its end is cancelled, a weekly window outside
 * of its hours does nothing), the audit log of every item, and a role that
 * may not maintain the tables.
 *
 * One cluster for the file, autovacuum off (it would race the statistics the
 * tests set up) and autovacuum_freeze_max_age at its minimum, 100,000, so
 * that the wraparound test reaches the threshold (50%) by consuming 55,000
 * transaction ids; that test runs last, stays under 100,000 (where the
 * server would start an anti-wraparound autovacuum of its own) and freezes
 * the whole database.  Every test drops its tables in the teardown and has
 * an audit log of its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include "harness.h"

static HCluster cl;

/* "store=PATH" of the running test, for --set. */
static char store_set[H_PATH_MAX + 16];

static int
group_setup(void **state)
{
    const char *const sets[] = {"autovacuum=off", "autovacuum_freeze_max_age=100000", NULL};

    (void) state;
    if (h_cluster_start(&cl, sets) != 0)
        return -1;
    return h_sql(&cl, "CREATE ROLE medic LOGIN; GRANT pg_monitor TO medic");
}

static int
group_teardown(void **state)
{
    (void) state;
    h_cluster_stop(&cl);
    return 0;
}

static int
cleanup(void **state)
{
    int rc;

    (void) state;
    rc = h_sessions_close(&cl);
    if (h_sql(&cl, "SET client_min_messages = warning; DROP TABLE IF EXISTS mt_dead, mt_stale, "
                   "mt_bloat, mt_uniq, mt_big, mt_small, mt_locked, mt_rx, mt_frozen;"
                   "DROP EXTENSION IF EXISTS pgstattuple") != 0)
        rc = -1;
    return rc;
}

static void
new_store(const char *tag)
{
    static int n;

    snprintf(store_set, sizeof(store_set), "store=%s/maintain-%s-%d.db", h_tmproot(), tag, ++n);
}

static void
assert_value(const char *sql, const char *want)
{
    char *v = h_sql_value(&cl, sql);

    if (v == NULL || strcmp(v, want) != 0)
        fprintf(stderr, "harness: %s\n  gave \"%s\", want \"%s\"\n", sql, v ? v : "(null)", want);
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static long long
value_ll(const char *sql)
{
    char *v = h_sql_value(&cl, sql);
    long long n;

    assert_non_null(v);
    n = strtoll(v, NULL, 10);
    free(v);
    return n;
}

static void
wait_true(const char *sql)
{
    if (!h_wait_sql(&cl, sql, 15.0))
        fail_msg("did not hold within 15 s: %s", sql);
}

/* The audit log of store_set as JSON, newest first; the HRun is the caller's to free. */
static json_t *
audit_json(HRun *r)
{
    H_RUN(r, NULL, "audit", "--format", "json", "--limit", "0", "--set", store_set);
    H_ASSERT_EXIT(r, 0);
    assert_true(json_is_array(H_JSON(r)));
    return H_JSON(r);
}

/* The audit row of this action and relation (newest), asserted to exist with this status. */
static json_t *
audit_find(HRun *r, const char *action, const char *relation, const char *status)
{
    json_t *rows = audit_json(r), *row;
    size_t i;

    json_array_foreach(rows, i, row)
    {
        if (strcmp(h_json_str(row, "action"), action) != 0 ||
            strcmp(h_json_str(row, "options"), relation) != 0)
            continue;
        if (strcmp(h_json_str(row, "status"), status) != 0)
            h_run_dump(r, "unexpected audit status");
        assert_string_equal(h_json_str(row, "status"), status);
        assert_int_equal(h_json_bool(row, "unfinished"), 0);
        /* Before: what it was about to run and why; after: the outcome. */
        assert_non_null(h_json_str(row, "plan.statement"));
        assert_non_null(h_json_str(row, "plan.why"));
        assert_non_null(h_json_str(row, "result.0.outcome"));
        return row;
    }
    h_run_dump(r, "audit row missing");
    fail_msg("no audit row \"%s %s\"", action, relation);
    return NULL;
}

/* A table with dead tuples past 20% (and analyzed, so only VACUUM is due). */
static void
make_dead(void)
{
    assert_int_equal(h_sql(&cl,
                           "CREATE TABLE mt_dead (id int, v text);"
                           "INSERT INTO mt_dead SELECT g, 'x' FROM generate_series(1, 10000) g"),
                     0);
    assert_int_equal(h_sql(&cl, "ANALYZE mt_dead"), 0);
    assert_int_equal(h_sql(&cl, "DELETE FROM mt_dead WHERE id % 2 = 0"), 0);
    wait_true("SELECT n_dead_tup = 5000 FROM pg_stat_user_tables WHERE relname = 'mt_dead'");
}

/* A table whose statistics are stale: analyzed, then 30% of it modified. */
static void
make_stale(void)
{
    assert_int_equal(h_sql(&cl,
                           "CREATE TABLE mt_stale (id int, v text);"
                           "INSERT INTO mt_stale SELECT g, 'x' FROM generate_series(1, 10000) g"),
                     0);
    assert_int_equal(h_sql(&cl, "VACUUM ANALYZE mt_stale"), 0);
    assert_int_equal(
        h_sql(&cl, "INSERT INTO mt_stale SELECT g, 'y' FROM generate_series(1, 3000) g"), 0);
    wait_true("SELECT n_mod_since_analyze = 3000 AND n_dead_tup = 0 FROM pg_stat_user_tables "
              "WHERE relname = 'mt_stale'");
}

/* A 2 MiB B-tree of which 90% is empty after a delete and a VACUUM. */
static void
make_bloated(const char *table)
{
    char sql[512];

    snprintf(sql, sizeof(sql),
             "CREATE TABLE %s (id int);"
             "INSERT INTO %s SELECT g FROM generate_series(1, 100000) g;"
             "CREATE INDEX %s_idx ON %s (id)",
             table, table, table, table);
    assert_int_equal(h_sql(&cl, sql), 0);
    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id %% 10 <> 0", table);
    assert_int_equal(h_sql(&cl, sql), 0);
    snprintf(sql, sizeof(sql), "VACUUM ANALYZE %s", table);
    assert_int_equal(h_sql(&cl, sql), 0);
    snprintf(sql, sizeof(sql),
             "SELECT pg_relation_size('%s_idx') > 2000000 FROM pg_stat_user_tables "
             "WHERE relname = '%s' AND n_dead_tup = 0 AND n_mod_since_analyze = 0",
             table, table);
    wait_true(sql);
}

/* ------------------------------------------------------------------ tests */

static void
test_help_and_usage(void **state)
{
    HRun r;

    (void) state;
    H_RUN(&r, NULL, "maintain", "--help");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "Usage:\n  pgmedic maintain [--plan | --apply");
    H_ASSERT_CONTAINS(r.out, "vacuum_freeze    VACUUM (FREEZE)");
    H_ASSERT_CONTAINS(r.out, "--window=DURATION");
    H_ASSERT_CONTAINS(r.out, "audit log");
    h_run_free(&r);

    H_RUN(&r, &cl, "maintain", "--plan", "--apply");
    h_assert_usage_error(&r, "--plan and --apply cannot be used together");
    h_assert_usage_hint(&r);
    h_run_free(&r);

    H_RUN(&r, &cl, "maintain", "--window", "Sunday");
    H_ASSERT_EXIT(&r, 3);
    H_ASSERT_CONTAINS(r.err, "pgmedic: error: invalid --window \"Sunday\"");
    H_ASSERT_CONTAINS(r.err, "pgmedic: hint: Give a duration such as 2h");
    h_run_free(&r);

    H_RUN(&r, &cl, "maintain", "--only", "vacuum,vacuum_full");
    H_ASSERT_EXIT(&r, 3);
    H_ASSERT_CONTAINS(r.err, "unrecognized kind of work \"vacuum_full\"");
    h_run_free(&r);

    H_RUN(&r, &cl, "maintain", "--window", "0");
    h_assert_usage_error(&r, "--window must be longer than 0");
    h_run_free(&r);

    H_RUN(&r, &cl, "maintain", "extra");
    h_assert_usage_error(&r, "too many command-line arguments");
    h_run_free(&r);

    H_RUN(&r, NULL, "--help");
    H_ASSERT_CONTAINS(r.out, "  maintain ");
    h_run_free(&r);
}

/* The default is a plan: it says what, why and how long, and changes nothing. */
static void
test_plan_text_is_dry_run(void **state)
{
    HRun r;

    (void) state;
    new_store("plan");
    make_dead();
    make_stale();

    H_RUN(&r, &cl, "maintain", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "(plan: nothing runs without --apply)");
    H_ASSERT_CONTAINS(r.out, "analyze          public.mt_stale");
    H_ASSERT_CONTAINS(r.out, "why: 3,000 rows modified since the last analyze, 23% of 13,000 "
                             "live rows (threshold 10%)");
    H_ASSERT_CONTAINS(r.out, "ANALYZE \"public\".\"mt_stale\";");
    H_ASSERT_CONTAINS(r.out, "vacuum           public.mt_dead");
    H_ASSERT_CONTAINS(r.out, "why: 5,000 dead tuples, 50% of 10,000 rows (threshold 20%)");
    H_ASSERT_CONTAINS(r.out, "VACUUM (ANALYZE) \"public\".\"mt_dead\";");
    H_ASSERT_CONTAINS(r.out, "at 50.0 MiB/s (a cautious default");
    H_ASSERT_CONTAINS(r.out, "dry run: nothing was done; add --apply");
    /* analyze comes before vacuum: cheap, and it helps plans first. */
    assert_true(strstr(r.out, "public.mt_stale") < strstr(r.out, "public.mt_dead"));
    h_run_free(&r);

    /* A higher threshold: the dead tuples no longer count, its stale statistics still do. */
    H_RUN(&r, &cl, "maintain", "--set", "dead_tuple_ratio=60%", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_NOT_CONTAINS(r.out, "vacuum           public.mt_dead");
    H_ASSERT_CONTAINS(r.out, "analyze          public.mt_dead");
    H_ASSERT_CONTAINS(r.out, "why: 5,000 rows modified since the last analyze, 100% of 5,000");
    h_run_free(&r);

    /* Nothing ran: the statistics and the audit log are as they were. */
    assert_value("SELECT n_dead_tup || ' ' || (last_vacuum IS NULL) FROM pg_stat_user_tables "
                 "WHERE relname = 'mt_dead'",
                 "5000 true");
    assert_value("SELECT n_mod_since_analyze::text FROM pg_stat_user_tables "
                 "WHERE relname = 'mt_stale'",
                 "3000");
    {
        json_t *rows = audit_json(&r);

        assert_int_equal(json_array_size(rows), 0);
        h_run_free(&r);
    }
}

static void
test_plan_json(void **state)
{
    HRun r;
    json_t *j, *item;

    (void) state;
    new_store("json");
    make_dead();

    H_RUN(&r, &cl, "maintain", "--format", "json", "--window", "1h", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    assert_int_equal(h_json_int(j, "pgmedic"), 1);
    assert_string_equal(h_json_str(j, "mode"), "plan");
    assert_string_equal(h_json_str(j, "window.spec"), "1h");
    H_ASSERT_NEAR(h_json_num(j, "window.seconds"), 3600, 1e-6);
    H_ASSERT_NEAR(h_json_num(j, "thresholds.dead_tuple_ratio"), 0.2, 1e-9);
    H_ASSERT_NEAR(h_json_num(j, "thresholds.freeze_age_ratio"), 0.5, 1e-9);
    assert_int_equal(h_json_int(j, "freeze_max_age"), 100000);
    assert_int_equal(h_json_int(j, "rate_samples"), 0);
    item = h_json_find_str(j, "items", "name", "mt_dead");
    assert_non_null(item);
    assert_string_equal(h_json_str(item, "kind"), "vacuum");
    assert_string_equal(h_json_str(item, "schema"), "public");
    assert_string_equal(h_json_str(item, "statement"), "VACUUM (ANALYZE) \"public\".\"mt_dead\"");
    H_ASSERT_CONTAINS(h_json_str(item, "why"), "5,000 dead tuples");
    assert_true(h_json_int(item, "size_bytes") > 0);
    /* It reads the heap and the sample of ANALYZE: the table's size, three times. */
    assert_int_equal(h_json_int(item, "work_bytes"), 3 * h_json_int(item, "size_bytes"));
    assert_true(h_json_num(item, "estimate_s") >= 0.1);
    assert_true(h_json_is_null(item, "reclaim_bytes"));
    assert_int_equal(h_json_bool(item, "fits_window"), 1);
    assert_true(h_json_len(j, "notes") >= 0);
    h_run_free(&r);
    assert_value("SELECT n_dead_tup::text FROM pg_stat_user_tables WHERE relname = 'mt_dead'",
                 "5000");
}

/* --apply: VACUUM for dead tuples, ANALYZE for stale statistics, each audited. */
static void
test_apply_vacuum_and_analyze(void **state)
{
    HRun r;
    json_t *row;

    (void) state;
    new_store("apply");
    make_dead();
    make_stale();

    H_RUN(&r, &cl, "maintain", "--apply", "--only", "vacuum,analyze", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "(apply, window 1h, the default)");
    H_ASSERT_CONTAINS(r.out, "analyze public.mt_stale: done in");
    H_ASSERT_CONTAINS(r.out, "vacuum public.mt_dead: done in");
    H_ASSERT_CONTAINS(r.out, "0 not started, 0 cancelled, 0 skipped, 0 failed");
    /* No terminal: no progress lines. */
    H_ASSERT_NOT_CONTAINS(r.err, "\r");
    h_run_free(&r);
    wait_true("SELECT n_dead_tup = 0 AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL "
              "FROM pg_stat_user_tables WHERE relname = 'mt_dead'");
    wait_true("SELECT n_mod_since_analyze = 0 AND last_analyze IS NOT NULL "
              "FROM pg_stat_user_tables WHERE relname = 'mt_stale'");

    row = audit_find(&r, "maintain vacuum", "public.mt_dead", "done");
    assert_string_equal(h_json_str(row, "plan.statement"),
                        "VACUUM (ANALYZE) \"public\".\"mt_dead\"");
    assert_string_equal(h_json_str(row, "plan.kind"), "vacuum");
    H_ASSERT_NEAR(h_json_num(row, "plan.lock_timeout_s"), 5.0, 1e-9);
    H_ASSERT_CONTAINS(h_json_str(row, "result.0.outcome"), "done in");
    assert_string_equal(h_json_str(row, "db_role"), "postgres");
    h_run_free(&r);
    audit_find(&r, "maintain analyze", "public.mt_stale", "done");
    h_run_free(&r);

    /* Done is done: the next plan has nothing for them. */
    H_RUN(&r, &cl, "maintain", "--only", "vacuum,analyze", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_NOT_CONTAINS(r.out, "mt_dead");
    H_ASSERT_NOT_CONTAINS(r.out, "mt_stale");
    h_run_free(&r);
}

/* A bloated B-tree: estimated from pg_stats, rebuilt concurrently, smaller after. */
static void
test_reindex_bloated(void **state)
{
    HRun r;
    json_t *item;
    long long before, after;

    (void) state;
    new_store("reindex");
    make_bloated("mt_bloat");
    before = value_ll("SELECT pg_relation_size('mt_bloat_idx')");

    H_RUN(&r, &cl, "maintain", "--only", "reindex", "--format", "json", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    item = h_json_find_str(H_JSON(&r), "items", "name", "mt_bloat_idx");
    assert_non_null(item);
    assert_string_equal(h_json_str(item, "kind"), "reindex");
    assert_string_equal(h_json_str(item, "table_name"), "mt_bloat");
    assert_string_equal(h_json_str(item, "bloat_source"), "statistics");
    assert_string_equal(h_json_str(item, "statement"),
                        "REINDEX INDEX CONCURRENTLY \"public\".\"mt_bloat_idx\"");
    H_ASSERT_CONTAINS(h_json_str(item, "why"), "estimated from the table's statistics");
    /* 90% of the entries are gone: most of it comes back. */
    assert_true(h_json_int(item, "reclaim_bytes") > before * 8 / 10);
    assert_int_equal(h_json_bool(H_JSON(&r), "pgstattuple"), 0);
    h_run_free(&r);

    /* With pgstattuple, the suspect is measured rather than estimated, with the same verdict. */
    assert_int_equal(h_sql(&cl, "CREATE EXTENSION pgstattuple"), 0);
    H_RUN(&r, &cl, "maintain", "--only", "reindex", "--format", "json", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_json_bool(H_JSON(&r), "pgstattuple"), 1);
    item = h_json_find_str(H_JSON(&r), "items", "name", "mt_bloat_idx");
    assert_non_null(item);
    assert_string_equal(h_json_str(item, "bloat_source"), "pgstattuple");
    H_ASSERT_CONTAINS(h_json_str(item, "why"), "measured by pgstattuple");
    assert_true(h_json_int(item, "reclaim_bytes") > before * 8 / 10);
    h_run_free(&r);

    H_RUN(&r, &cl, "maintain", "--apply", "--only", "reindex", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "reindex public.mt_bloat_idx: done in");
    h_run_free(&r);
    after = value_ll("SELECT pg_relation_size('mt_bloat_idx')");
    if (after * 4 > before)
        fail_msg("index of %lld bytes is %lld after REINDEX", before, after);
    assert_value(
        "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'mt_bloat_idx'::regclass",
        "true");
    assert_value("SELECT count(*)::text FROM pg_class WHERE relname LIKE 'mt_bloat_idx_cc%'", "0");
    audit_find(&r, "maintain reindex", "public.mt_bloat_idx", "done");
    h_run_free(&r);
}

/*
 * A failed CREATE UNIQUE INDEX CONCURRENTLY over duplicates leaves an INVALID
 * index; a REINDEX CONCURRENTLY of it that fails too leaves an INVALID
 * _ccnew copy.  maintain drops the copy, says why the rebuild fails while the
 * duplicates are there (and drops the copy its own try left), and rebuilds
 * the index once they are gone.
 */
static void
test_invalid_index_rebuilt(void **state)
{
    HRun r;
    json_t *j, *item;

    (void) state;
    new_store("invalid");
    assert_int_equal(h_sql(&cl, "CREATE TABLE mt_uniq (k int, v text);"
                                "INSERT INTO mt_uniq SELECT g % 500, 'x' "
                                "FROM generate_series(1, 1000) g"),
                     0);
    assert_int_equal(h_sql(&cl, "ANALYZE mt_uniq"), 0);
    assert_int_equal(h_sql(&cl, "CREATE UNIQUE INDEX CONCURRENTLY mt_uniq_k ON mt_uniq (k)"), -1);
    assert_int_equal(h_sql(&cl, "REINDEX INDEX CONCURRENTLY mt_uniq_k"), -1);
    assert_value("SELECT string_agg(c.relname || '=' || i.indisvalid, ',' ORDER BY c.relname) "
                 "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                 "WHERE i.indrelid = 'mt_uniq'::regclass",
                 "mt_uniq_k=false,mt_uniq_k_ccnew=false");

    H_RUN(&r, &cl, "maintain", "--format", "json", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    item = h_json_find_str(j, "items", "name", "mt_uniq_k_ccnew");
    assert_non_null(item);
    assert_string_equal(h_json_str(item, "kind"), "drop_invalid");
    assert_string_equal(h_json_str(item, "statement"),
                        "DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"mt_uniq_k_ccnew\"");
    item = h_json_find_str(j, "items", "name", "mt_uniq_k");
    assert_non_null(item);
    assert_string_equal(h_json_str(item, "kind"), "rebuild_invalid");
    H_ASSERT_CONTAINS(h_json_str(item, "why"), "enforces no uniqueness");
    assert_string_equal(h_json_str(item, "statement"),
                        "REINDEX INDEX CONCURRENTLY \"public\".\"mt_uniq_k\"");
    h_run_free(&r);

    /* With the duplicates still there: the leftover goes, the rebuild fails and cleans up. */
    H_RUN(&r, &cl, "maintain", "--apply", "--only", "drop_invalid,rebuild_invalid", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "drop_invalid public.mt_uniq_k_ccnew: done in");
    H_ASSERT_CONTAINS(r.out, "rebuild_invalid public.mt_uniq_k: failed: statement failed: could "
                             "not create unique index \"mt_uniq_k_ccnew\" (Key (k)=(");
    H_ASSERT_CONTAINS(r.out, "the INVALID copy it left (public.mt_uniq_k_ccnew) was dropped");
    H_ASSERT_CONTAINS(r.out, "1 done, 0 not started, 0 cancelled, 0 skipped, 1 failed");
    h_run_free(&r);
    assert_value("SELECT string_agg(c.relname || '=' || i.indisvalid, ',' ORDER BY c.relname) "
                 "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                 "WHERE i.indrelid = 'mt_uniq'::regclass",
                 "mt_uniq_k=false");
    audit_find(&r, "maintain rebuild_invalid", "public.mt_uniq_k", "failed");
    h_run_free(&r);
    audit_find(&r, "maintain drop_invalid", "public.mt_uniq_k_ccnew", "done");
    h_run_free(&r);

    /* The duplicates gone, it is rebuilt in place and enforces uniqueness again. */
    assert_int_equal(h_sql(&cl, "DELETE FROM mt_uniq WHERE v = 'x' AND ctid NOT IN "
                                "(SELECT min(ctid) FROM mt_uniq GROUP BY k)"),
                     0);
    H_RUN(&r, &cl, "maintain", "--apply", "--only", "rebuild_invalid", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "rebuild_invalid public.mt_uniq_k: done in");
    h_run_free(&r);
    assert_value("SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'mt_uniq_k'::regclass",
                 "true");
    assert_int_equal(h_sql(&cl, "INSERT INTO mt_uniq VALUES (1, 'dup')"), -1);
    audit_find(&r, "maintain rebuild_invalid", "public.mt_uniq_k", "done");
    h_run_free(&r);
}

/* --window: what does not fit is not started; smaller work after it still runs. */
static void
test_window_not_started(void **state)
{
    HRun r;
    json_t *row;

    (void) state;
    new_store("window");
    /* About 20 MiB with half of it dead: VACUUM (ANALYZE) reads ~60 MiB, over 1 s at 50 MiB/s. */
    assert_int_equal(h_sql(&cl, "CREATE TABLE mt_big (id int, v text);"
                                "INSERT INTO mt_big SELECT g, repeat('x', 80) "
                                "FROM generate_series(1, 200000) g"),
                     0);
    assert_int_equal(h_sql(&cl, "ANALYZE mt_big"), 0);
    assert_int_equal(h_sql(&cl, "DELETE FROM mt_big WHERE id % 2 = 0"), 0);
    assert_int_equal(h_sql(&cl, "CREATE TABLE mt_small (id int);"
                                "INSERT INTO mt_small SELECT generate_series(1, 100)"),
                     0);
    wait_true("SELECT count(*) = 2 FROM pg_stat_user_tables WHERE (relname = 'mt_big' AND "
              "n_dead_tup = 100000) OR (relname = 'mt_small' AND n_mod_since_analyze = 100)");

    /* The plan says so first. */
    H_RUN(&r, &cl, "maintain", "--window", "1s", "--only", "vacuum,analyze", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "public.mt_big");
    H_ASSERT_CONTAINS(r.out, "(does not fit in the window)");
    H_ASSERT_CONTAINS(r.out, "window 1s: 1 of 2 items would start");
    h_run_free(&r);

    H_RUN(&r, &cl, "maintain", "--apply", "--window", "1s", "--only", "vacuum,analyze", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_CONTAINS(r.out, "(apply, window 1s)");
    H_ASSERT_CONTAINS(r.out, "analyze public.mt_small: done in");
    H_ASSERT_CONTAINS(r.out, "vacuum public.mt_big: not started: it needs about");
    H_ASSERT_CONTAINS(r.out, "1 done, 1 not started, 0 cancelled, 0 skipped, 0 failed");
    h_run_free(&r);
    assert_value("SELECT n_dead_tup || ' ' || (last_vacuum IS NULL) FROM pg_stat_user_tables "
                 "WHERE relname = 'mt_big'",
                 "100000 true");
    row = audit_find(&r, "maintain vacuum", "public.mt_big", "skipped");
    H_ASSERT_CONTAINS(h_json_str(row, "result.0.outcome"), "not started: it needs about");
    assert_true(h_json_num(row, "plan.estimate_s") > 1.0);
    assert_true(h_json_num(row, "plan.window_left_s") < 1.0);
    h_run_free(&r);
    audit_find(&r, "maintain analyze", "public.mt_small", "done");
    h_run_free(&r);

    /* Given the time, it runs; and what it measured replaces the default throughput. */
    H_RUN(&r, &cl, "maintain", "--apply", "--only", "vacuum", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "vacuum public.mt_big: done in");
    h_run_free(&r);
    assert_int_equal(h_sql(&cl, "DELETE FROM mt_big WHERE id % 4 = 1"), 0);
    wait_true("SELECT n_dead_tup = 50000 FROM pg_stat_user_tables WHERE relname = 'mt_big'");
    H_RUN(&r, &cl, "maintain", "--only", "vacuum", "--format", "json", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_json_int(H_JSON(&r), "rate_samples"), 1);
    assert_true(h_json_num(H_JSON(&r), "rate_bytes_per_s") != 50.0 * 1024 * 1024);
    h_run_free(&r);
}

/*
 * A statement still running when the window ends is cancelled by its
 * statement_timeout: a VACUUM waiting on another session's lock (lock_timeout
 * longer than the window), and a REINDEX CONCURRENTLY waiting on an old
 * snapshot, whose INVALID _ccnew copy is then dropped.
 */
static void
test_window_cancels(void **state)
{
    HRun r;
    PGconn *holder, *old;
    PGresult *res;
    HConnOpts o = {.application_name = "mt-holder"};
    json_t *row;

    (void) state;
    new_store("cancel");
    make_dead();
    assert_int_equal(h_sql(&cl, "ALTER TABLE mt_dead RENAME TO mt_locked"), 0);
    holder = h_session_open(&cl, &o);
    assert_non_null(holder);
    res = PQexec(holder, "BEGIN; LOCK TABLE mt_locked IN SHARE UPDATE EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);

    H_RUN(&r, &cl, "maintain", "--apply", "--window", "2s", "--lock-timeout", "30s", "--only",
          "vacuum", "--set", store_set);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_CONTAINS(r.out, "vacuum public.mt_locked: cancelled: the window ended after");
    H_ASSERT_CONTAINS(r.out, "canceling statement due to statement timeout");
    H_ASSERT_CONTAINS(r.out, "0 done, 0 not started, 1 cancelled");
    /* Cut at the window's end, not at lock_timeout. */
    if (r.wall_s > 10.0 * h_slowdown())
        fail_msg("took %.1fs for a 2s window", r.wall_s);
    assert_true(r.wall_s >= 1.9);
    h_run_free(&r);
    row = audit_find(&r, "maintain vacuum", "public.mt_locked", "cancelled");
    H_ASSERT_CONTAINS(h_json_str(row, "result.0.outcome"), "cancelled: the window ended");
    h_run_free(&r);
    res = PQexec(holder, "ROLLBACK");
    PQclear(res);

    /* REINDEX CONCURRENTLY waits for transactions older than its build: cancelled too. */
    make_bloated("mt_rx");
    old = h_session_open(&cl, &o);
    assert_non_null(old);
    res = PQexec(old, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    H_RUN(&r, &cl, "maintain", "--apply", "--window", "2s", "--lock-timeout", "30s", "--only",
          "reindex", "--set", store_set);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_CONTAINS(r.out, "reindex public.mt_rx_idx: cancelled: the window ended after");
    H_ASSERT_CONTAINS(r.out, "the INVALID copy it left (public.mt_rx_idx_ccnew) was dropped");
    h_run_free(&r);
    assert_value("SELECT string_agg(c.relname || '=' || i.indisvalid, ',' ORDER BY c.relname) "
                 "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                 "WHERE i.indrelid = 'mt_rx'::regclass",
                 "mt_rx_idx=true");
    audit_find(&r, "maintain reindex", "public.mt_rx_idx", "cancelled");
    h_run_free(&r);
    res = PQexec(old, "ROLLBACK");
    PQclear(res);
}

/* A weekly window: outside its hours --apply does nothing; inside, it runs until its end. */
static void
test_weekly_window(void **state)
{
    HRun r;
    char outside[64], inside[64];
    time_t now = time(NULL);
    struct tm tm;
    int m;

    (void) state;
    new_store("weekly");
    make_dead();
    assert_non_null(localtime_r(&now, &tm));
    m = tm.tm_hour * 60 + tm.tm_min;
    snprintf(outside, sizeof(outside), "daily %02d:%02d-%02d:%02d", (m + 120) % 1440 / 60,
             (m + 120) % 60, (m + 180) % 1440 / 60, (m + 180) % 60);
    snprintf(inside, sizeof(inside), "daily %02d:%02d-%02d:%02d", (m + 1439) % 1440 / 60,
             (m + 1439) % 60, (m + 60) % 1440 / 60, (m + 60) % 60);

    H_RUN(&r, &cl, "maintain", "--apply", "--window", outside, "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "outside the window daily ");
    H_ASSERT_CONTAINS(r.out, "(it opens in ");
    H_ASSERT_CONTAINS(r.out, "nothing was done");
    h_run_free(&r);
    assert_value("SELECT n_dead_tup::text FROM pg_stat_user_tables WHERE relname = 'mt_dead'",
                 "5000");
    {
        json_t *rows = audit_json(&r);

        assert_int_equal(json_array_size(rows), 0);
        h_run_free(&r);
    }

    H_RUN(&r, &cl, "maintain", "--apply", "--window", inside, "--only", "vacuum", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "(apply, window daily ");
    H_ASSERT_CONTAINS(r.out, " left)");
    H_ASSERT_CONTAINS(r.out, "vacuum public.mt_dead: done in");
    h_run_free(&r);
    wait_true("SELECT n_dead_tup = 0 FROM pg_stat_user_tables WHERE relname = 'mt_dead'");
}

/* A role that may not maintain a table: told, never pretended. */
static void
test_not_allowed(void **state)
{
    HRun r;

    (void) state;
    new_store("medic");
    make_dead();
    H_RUN(&r, &cl, "maintain", "-U", "medic", "--only", "vacuum", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_NOT_CONTAINS(r.out, "vacuum           public.mt_dead");
    H_ASSERT_CONTAINS(r.out, "note: left alone: table \"public.mt_dead\" needs VACUUM, but "
                             "pgmedic's role may not maintain it");
    h_run_free(&r);

    H_RUN(&r, &cl, "maintain", "-U", "medic", "--only", "vacuum", "--apply", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "nothing to do");
    h_run_free(&r);
    assert_value("SELECT n_dead_tup::text FROM pg_stat_user_tables WHERE relname = 'mt_dead'",
                 "5000");
}

/*
 * relfrozenxid near wraparound: 55,000 transactions later a table's age is
 * past 50% of autovacuum_freeze_max_age (100,000 here); VACUUM (FREEZE)
 * brings it, and the database, back.  Last: it ages every table.
 */
static void
test_freeze_near_wraparound(void **state)
{
    HRun r;
    json_t *item;

    (void) state;
    new_store("freeze");
    assert_int_equal(h_sql(&cl, "CREATE TABLE mt_frozen (id int);"
                                "INSERT INTO mt_frozen SELECT generate_series(1, 1000)"),
                     0);
    assert_int_equal(h_sql(&cl, "ANALYZE mt_frozen"), 0);
    assert_int_equal(h_sql(&cl, "DO $$ BEGIN FOR i IN 1..55000 LOOP "
                                "PERFORM pg_catalog.txid_current(); COMMIT; END LOOP; END $$"),
                     0);
    assert_true(value_ll("SELECT age(relfrozenxid) FROM pg_class WHERE relname = 'mt_frozen'") >=
                55000);

    H_RUN(&r, &cl, "maintain", "--only", "vacuum_freeze", "--format", "json", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    item = h_json_find_str(H_JSON(&r), "items", "name", "mt_frozen");
    assert_non_null(item);
    assert_string_equal(h_json_str(item, "kind"), "vacuum_freeze");
    assert_string_equal(h_json_str(item, "statement"), "VACUUM (FREEZE) \"public\".\"mt_frozen\"");
    H_ASSERT_CONTAINS(h_json_str(item, "why"),
                      "of autovacuum_freeze_max_age 100,000 (threshold 50%)");
    /* The catalogs age too, and count for the database's datfrozenxid. */
    item = h_json_find_str(H_JSON(&r), "items", "name", "pg_class");
    assert_non_null(item);
    assert_string_equal(h_json_str(item, "schema"), "pg_catalog");
    assert_true(h_json_int(H_JSON(&r), "database_xid_age") >= 55000);
    h_run_free(&r);

    H_RUN(&r, &cl, "maintain", "--apply", "--only", "vacuum_freeze", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "vacuum_freeze public.mt_frozen: done in");
    H_ASSERT_CONTAINS(r.out, " 0 not started, 0 cancelled, 0 skipped, 0 failed");
    h_run_free(&r);
    assert_true(value_ll("SELECT age(relfrozenxid) FROM pg_class WHERE relname = 'mt_frozen'") <
                1000);
    assert_true(value_ll("SELECT age(datfrozenxid) FROM pg_database "
                         "WHERE datname = current_database()") < 50000);
    audit_find(&r, "maintain vacuum_freeze", "public.mt_frozen", "done");
    h_run_free(&r);

    H_RUN(&r, &cl, "maintain", "--only", "vacuum_freeze", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "nothing to do");
    h_run_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_help_and_usage, cleanup),
        cmocka_unit_test_teardown(test_plan_text_is_dry_run, cleanup),
        cmocka_unit_test_teardown(test_plan_json, cleanup),
        cmocka_unit_test_teardown(test_apply_vacuum_and_analyze, cleanup),
        cmocka_unit_test_teardown(test_reindex_bloated, cleanup),
        cmocka_unit_test_teardown(test_invalid_index_rebuilt, cleanup),
        cmocka_unit_test_teardown(test_window_not_started, cleanup),
        cmocka_unit_test_teardown(test_window_cancels, cleanup),
        cmocka_unit_test_teardown(test_weekly_window, cleanup),
        cmocka_unit_test_teardown(test_not_allowed, cleanup),
        cmocka_unit_test_teardown(test_freeze_near_wraparound, cleanup),
    };

    return cmocka_run_group_tests_name("maintain", tests, group_setup, group_teardown);
}
