/*
 * incident_test.c - incidents in the store: open (with its "open" entry),
 * ids, ack, note, resolve, their refusals with exact messages, listing
 * newest first and open only, the open incident of a target, timelines in
 * time order, and the samples of a window.
 */
#include <unistd.h>

#include "store/incident.h"
#include "unit.h"

static char dir[64];
static char path[128];

static int
setup(void **state)
{
    (void) state;
    snprintf(dir, sizeof(dir), "/tmp/pgmedic-incident-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/pgmedic.db", dir);
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

static Store *
open_store(void)
{
    PmError err;
    Store *store = store_open(path, &err);

    if (store == NULL)
        fail_msg("%s", err.message);
    return store;
}

static int64_t
open_incident(Store *store, const char *target, const char *alert, double at)
{
    Incident inc;
    PmError err;
    int64_t id = 0;

    memset(&inc, 0, sizeof(inc));
    inc.target = target;
    inc.alert = alert;
    inc.title = "connections near the limit";
    inc.severity = "warning";
    inc.opened_at = at;
    if (store_incident_open(store, &inc, "{\"via\":\"test\"}", &id, &err) != 0)
        fail_msg("%s", err.message);
    return id;
}

typedef struct
{
    int n;
    int64_t ids[16];
    char kinds[16][16];
    char summaries[16][128];
    double at[16];
} Seen;

static int
seen_incident(const Incident *inc, void *arg)
{
    Seen *s = arg;

    if (s->n < 16)
        s->ids[s->n++] = inc->id;
    return 0;
}

static int
seen_entry(const TimelineEntry *e, void *arg)
{
    Seen *s = arg;

    if (s->n < 16)
    {
        s->ids[s->n] = e->id;
        snprintf(s->kinds[s->n], sizeof(s->kinds[0]), "%s", e->kind);
        snprintf(s->summaries[s->n], sizeof(s->summaries[0]), "%s", e->summary);
        s->at[s->n] = e->at;
        s->n++;
    }
    return 0;
}

static void
test_store_incident_lifecycle(void **state)
{
    Store *store = open_store();
    Arena *arena = arena_new();
    Incident inc;
    PmError err;
    Seen seen;
    int64_t id, id2;

    (void) state;
    assert_non_null(arena);
    id = open_incident(store, "db@h:5432", "DatabaseHighConnections", 1000.0);
    id2 = open_incident(store, "other@h:5432", NULL, 1001.0);
    assert_true(id > 0);
    assert_int_equal(id2, id + 1);

    assert_int_equal(store_incident_get(store, id, arena, &inc, &err), 0);
    assert_int_equal(inc.id, id);
    assert_string_equal(inc.target, "db@h:5432");
    assert_string_equal(inc.alert, "DatabaseHighConnections");
    assert_string_equal(inc.title, "connections near the limit");
    assert_string_equal(inc.severity, "warning");
    assert_true(inc.opened_at == 1000.0);
    assert_true(inc.acked_at == 0 && inc.resolved_at == 0);
    assert_null(inc.acked_by);
    assert_null(inc.root_cause);
    assert_int_equal(store_incident_get(store, id2, arena, &inc, &err), 0);
    assert_null(inc.alert);

    assert_int_equal(store_incident_ack(store, id, "alice", 1012.5, &err), 0);
    assert_int_equal(
        store_timeline_add(store, id, 1020.0, "note", "deploy at 15:40", NULL, NULL, &err), 0);
    assert_int_equal(store_incident_resolve(store, id, "leak in billing-worker", 1100.0, &err), 0);
    assert_int_equal(store_incident_get(store, id, arena, &inc, &err), 0);
    assert_true(inc.acked_at == 1012.5);
    assert_string_equal(inc.acked_by, "alice");
    assert_true(inc.resolved_at == 1100.0);
    assert_string_equal(inc.root_cause, "leak in billing-worker");

    /* Every state change is on the timeline, in time order. */
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_timeline_list(store, id, seen_entry, &seen, &err), 0);
    assert_int_equal(seen.n, 4);
    assert_string_equal(seen.kinds[0], "open");
    assert_string_equal(seen.summaries[0], "connections near the limit");
    assert_string_equal(seen.kinds[1], "ack");
    assert_string_equal(seen.summaries[1], "acknowledged by alice");
    assert_string_equal(seen.kinds[2], "note");
    assert_string_equal(seen.summaries[2], "deploy at 15:40");
    assert_string_equal(seen.kinds[3], "resolve");
    assert_string_equal(seen.summaries[3], "leak in billing-worker");
    assert_true(seen.at[3] == 1100.0);

    /* A resolve without a root cause keeps it NULL. */
    assert_int_equal(store_incident_resolve(store, id2, NULL, 1200.0, &err), 0);
    assert_int_equal(store_incident_get(store, id2, arena, &inc, &err), 0);
    assert_null(inc.root_cause);
    assert_null(inc.acked_by);
    arena_free(arena);
    store_close(store);
}

static void
test_store_incident_refusals(void **state)
{
    Store *store = open_store();
    Arena *arena = arena_new();
    Incident inc;
    PmError err;
    char want[256];
    int64_t id = open_incident(store, "db@h:5432", NULL, 1000.0);

    (void) state;
    assert_non_null(arena);
    snprintf(want, sizeof(want), "incident 999 does not exist in store \"%s\"", path);
    assert_int_equal(store_incident_get(store, 999, arena, &inc, &err), -1);
    assert_string_equal(err.message, want);
    assert_string_equal(err.hint, "List the incidents with \"pgmedic incident list\".");
    assert_int_equal(store_incident_ack(store, 999, "bob", 1.0, &err), -1);
    assert_string_equal(err.message, want);
    assert_int_equal(store_incident_resolve(store, 999, NULL, 1.0, &err), -1);
    assert_string_equal(err.message, want);
    assert_int_equal(store_timeline_add(store, 999, 1.0, "note", "x", NULL, NULL, &err), -1);
    assert_string_equal(err.message, want);

    assert_int_equal(store_incident_ack(store, id, "alice", 1000.0, &err), 0);
    assert_int_equal(store_incident_ack(store, id, "bob", 1001.0, &err), -1);
    snprintf(want, sizeof(want),
             "incident %lld was already acknowledged by alice at 1970-01-01T00:16:40.000Z",
             (long long) id);
    assert_string_equal(err.message, want);
    assert_int_equal(store_incident_resolve(store, id, NULL, 1002.0, &err), 0);
    assert_int_equal(store_incident_resolve(store, id, NULL, 1003.0, &err), -1);
    snprintf(want, sizeof(want), "incident %lld was already resolved at 1970-01-01T00:16:42.000Z",
             (long long) id);
    assert_string_equal(err.message, want);

    /* A resolved incident cannot be acknowledged; notes still go on its timeline. */
    id = open_incident(store, "db@h:5432", NULL, 2000.0);
    assert_int_equal(store_incident_resolve(store, id, "x", 2001.0, &err), 0);
    assert_int_equal(store_incident_ack(store, id, "bob", 2002.0, &err), -1);
    snprintf(want, sizeof(want),
             "cannot acknowledge incident %lld: it was resolved at 1970-01-01T00:33:21.000Z",
             (long long) id);
    assert_string_equal(err.message, want);
    assert_int_equal(
        store_timeline_add(store, id, 2003.0, "note", "post-mortem on Monday", NULL, NULL, &err),
        0);
    arena_free(arena);
    store_close(store);
}

static void
test_store_incident_list_and_find_open(void **state)
{
    Store *store = open_store();
    Arena *arena = arena_new();
    Incident inc;
    PmError err;
    Seen seen;
    bool found;
    int64_t a, b, c;

    (void) state;
    assert_non_null(arena);
    a = open_incident(store, "db@h:5432", NULL, 1000.0);
    b = open_incident(store, "db@h:5432", NULL, 1100.0);
    c = open_incident(store, "other@h:5432", NULL, 1200.0);
    assert_int_equal(store_incident_resolve(store, b, NULL, 1300.0, &err), 0);

    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_incident_list(store, 0, false, seen_incident, &seen, &err), 0);
    assert_int_equal(seen.n, 3);
    assert_int_equal(seen.ids[0], c);
    assert_int_equal(seen.ids[1], b);
    assert_int_equal(seen.ids[2], a);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_incident_list(store, 0, true, seen_incident, &seen, &err), 0);
    assert_int_equal(seen.n, 2);
    assert_int_equal(seen.ids[0], c);
    assert_int_equal(seen.ids[1], a);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_incident_list(store, 1, false, seen_incident, &seen, &err), 0);
    assert_int_equal(seen.n, 1);

    /* b is resolved: the open one of db@h is a. */
    assert_int_equal(store_incident_find_open(store, "db@h:5432", arena, &inc, &found, &err), 0);
    assert_true(found);
    assert_int_equal(inc.id, a);
    assert_int_equal(store_incident_find_open(store, "nowhere@h:1", arena, &inc, &found, &err), 0);
    assert_false(found);
    /* Names are compared exactly: a password-free label, nothing else. */
    assert_int_equal(store_incident_find_open(store, "DB@h:5432", arena, &inc, &found, &err), 0);
    assert_false(found);
    arena_free(arena);
    store_close(store);
}

static void
test_store_timeline_order_and_data(void **state)
{
    Store *store = open_store();
    PmError err;
    Seen seen;
    int64_t id = open_incident(store, "db@h:5432", NULL, 1000.0), e1, e2;

    (void) state;
    assert_int_equal(
        store_timeline_add(store, id, 1005.0, "check", "late", "{\"clients\":3}", &e1, &err), 0);
    assert_int_equal(store_timeline_add(store, id, 1002.0, "triage", "early", NULL, &e2, &err), 0);
    assert_true(e2 > e1);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_timeline_list(store, id, seen_entry, &seen, &err), 0);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.kinds[0], "open");
    assert_string_equal(seen.summaries[1], "early"); /* by time, not by insertion */
    assert_string_equal(seen.summaries[2], "late");
    store_close(store);
}

typedef struct
{
    int n;
    double at[8];
    int64_t clients[8];
} SampleSeen;

static int
seen_sample(const Sample *s, void *arg)
{
    SampleSeen *ss = arg;

    if (ss->n < 8)
    {
        ss->at[ss->n] = s->taken_at;
        ss->clients[ss->n++] = s->clients;
    }
    return 0;
}

static void
test_store_sample_list_window(void **state)
{
    Store *store = open_store();
    PmError err;
    SampleSeen ss;
    int i;

    (void) state;
    for (i = 0; i < 6; i++)
    {
        Sample s;

        memset(&s, 0, sizeof(s));
        s.target = i == 5 ? "other@h:1" : "db@h:5432";
        s.taken_at = 100.0 * (5 - i); /* inserted newest first */
        s.clients = i;
        s.usable = 20;
        assert_int_equal(store_sample_add(store, &s, &err), 0);
    }
    memset(&ss, 0, sizeof(ss));
    assert_int_equal(store_sample_list(store, "db@h:5432", 100.0, 400.0, seen_sample, &ss, &err),
                     0);
    assert_int_equal(ss.n, 4);
    assert_true(ss.at[0] == 100.0 && ss.at[3] == 400.0); /* oldest first, ends included */
    assert_int_equal(ss.clients[0], 4);
    memset(&ss, 0, sizeof(ss));
    assert_int_equal(store_sample_list(store, "nowhere", 0, 1e12, seen_sample, &ss, &err), 0);
    assert_int_equal(ss.n, 0);
    store_close(store);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_incident_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_incident_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_incident_list_and_find_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_timeline_order_and_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sample_list_window, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
