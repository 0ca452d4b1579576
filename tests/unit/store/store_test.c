/*
 * store_test.c - the SQLite store on a temporary file: private creation,
 * audit rows before/after (and unfinished ones), samples and their median,
 * schema versions and files that are not a store.
 */
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "unit.h"

static char dir[64];
static char path[128];

static int
setup(void **state)
{
    (void) state;
    snprintf(dir, sizeof(dir), "/tmp/pgmedic-store-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/a/b/pgmedic.db", dir);
    return 0;
}

static int
teardown(void **state)
{
    char cmd[128];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void
test_store_open_creates_private_file(void **state)
{
    PmError err;
    Store *store;
    struct stat st;
    char parent[128];

    (void) state;
    store = store_open(path, &err);
    if (store == NULL)
        fail_msg("%s", err.message);
    assert_string_equal(store_path(store), path);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(parent, sizeof(parent), "%s/a/b", dir);
    assert_int_equal(stat(parent, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    store_close(store);
    /* Opening again migrates nothing and works. */
    store = store_open(path, &err);
    assert_non_null(store);
    store_close(store);
    store_close(NULL);
}

typedef struct
{
    int n;
    int64_t ids[8];
    char status[8][16];
    double finished[8];
} Collected;

static int
collect(const AuditRow *row, void *arg)
{
    Collected *c = arg;

    if (c->n < 8)
    {
        c->ids[c->n] = row->id;
        snprintf(c->status[c->n], sizeof(c->status[0]), "%s", row->status);
        c->finished[c->n] = row->finished_at;
        c->n++;
    }
    return 0;
}

static void
test_store_audit_before_after_and_unfinished(void **state)
{
    PmError err;
    Store *store = store_open(path, &err);
    AuditBegin row = {"db@/tmp:5432", "terminate-idle", "--application api",
                      "{\"pids\":[1,2]}", "root", "pgmedic", 1000.0};
    Collected c;
    int64_t first, second;

    (void) state;
    assert_non_null(store);
    assert_int_equal(store_audit_begin(store, &row, &first, &err), 0);
    assert_int_equal(store_audit_finish(store, first, "done", "{\"signalled\":[1]}", NULL, 1001.0,
                                        &err),
                     0);
    row.action = "cancel-long";
    assert_int_equal(store_audit_begin(store, &row, &second, &err), 0);
    /* second is never finished: as if pgmedic had been killed. */
    memset(&c, 0, sizeof(c));
    assert_int_equal(store_audit_list(store, 0, collect, &c, &err), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.ids[0], second);
    assert_string_equal(c.status[0], "started");
    assert_true(c.finished[0] == 0.0);
    assert_int_equal(c.ids[1], first);
    assert_string_equal(c.status[1], "done");
    assert_true(c.finished[1] == 1001.0);
    assert_int_equal(store_audit_finish(store, 9999, "done", NULL, NULL, 1.0, &err), -1);
    assert_non_null(strstr(err.message, "audit row 9999 not found"));
    store_close(store);
}

static void
test_store_sample_baseline_median(void **state)
{
    PmError err;
    Store *store = store_open(path, &err);
    static const int64_t clients[] = {10, 4, 7, 100, 5};
    double median;
    int64_t n;
    size_t i;

    (void) state;
    assert_non_null(store);
    for (i = 0; i < 5; i++)
    {
        Sample s = {"t1", 100.0 + (double) i, clients[i], 1, 1, 0, 0, 20, 0.5};

        assert_int_equal(store_sample_add(store, &s, &err), 0);
    }
    assert_int_equal(store_sample_baseline(store, "t1", 0, 1000, &median, &n, &err), 0);
    assert_int_equal(n, 5);
    assert_true(median == 7.0);
    assert_int_equal(store_sample_baseline(store, "t1", 101, 103, &median, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_true(median == 5.5);
    assert_int_equal(store_sample_baseline(store, "other", 0, 1000, &median, &n, &err), 0);
    assert_int_equal(n, 0);
    store_close(store);
}

static void
test_store_open_refuses_newer_schema_and_garbage(void **state)
{
    PmError err;
    sqlite3 *db;
    char garbage[160];
    FILE *f;

    (void) state;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_null(store_open(path, &err));
    assert_non_null(strstr(err.message, "has schema version 99, newer than this pgmedic"));

    snprintf(garbage, sizeof(garbage), "%s/garbage.db", dir);
    f = fopen(garbage, "w");
    assert_non_null(f);
    fputs("this is not a database, just text that is long enough to have a header........\n", f);
    fclose(f);
    assert_null(store_open(garbage, &err));
    assert_non_null(strstr(err.message, garbage));

    assert_null(store_open("/proc/no/such/dir/x.db", &err));
    assert_non_null(strstr(err.message, "could not create directory"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_open_creates_private_file),
        cmocka_unit_test(test_store_audit_before_after_and_unfinished),
        cmocka_unit_test(test_store_sample_baseline_median),
        cmocka_unit_test(test_store_open_refuses_newer_schema_and_garbage),
    };

    return cmocka_run_group_tests_name("store/store", tests, setup, teardown);
}
