/*
 * snapshot_json_test.c - write → read → write gives the same text; bad
 * input gives a precise message; strings stay valid JSON whatever bytes.
 */
#include <jansson.h>

#include "core/snapshot_json.h"
#include "unit.h"
#include "util/jsonw.h"

static char *
write_snapshot(const Snapshot *snap)
{
    StrBuf buf = STRBUF_INIT;
    JsonW w;

    jsonw_init(&w, &buf, true);
    snapshot_json_write(&w, snap);
    assert_true(strbuf_ok(&buf));
    return buf.data;
}

static void
test_snapshot_json_round_trip(void **state)
{
    static const char *const fixtures[] = {"snapshots/healthy.json",
                                           "snapshots/slow_lock_waiter.json",
                                           "snapshots/server_down.json"};
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
    {
        Arena *arena = arena_new();
        Snapshot a, b;
        PmError err;
        size_t len;
        char *text = unit_read_fixture(fixtures[i], &len);
        char *first, *second;

        assert_int_equal(snapshot_json_read(text, len, fixtures[i], arena, &a, &err), 0);
        first = write_snapshot(&a);
        assert_int_equal(snapshot_json_read(first, strlen(first), "first", arena, &b, &err), 0);
        second = write_snapshot(&b);
        assert_string_equal(first, second);
        free(first);
        free(second);
        free(text);
        arena_free(arena);
    }
}

static void
test_snapshot_json_read_values(void **state)
{
    Arena *arena = arena_new();
    Snapshot snap;
    PmError err;
    size_t len;
    char *text = unit_read_fixture("snapshots/slow_lock_waiter.json", &len);

    (void) state;
    assert_int_equal(snapshot_json_read(text, len, "f", arena, &snap, &err), 0);
    assert_int_equal(snap.failure, CONN_OK);
    assert_int_equal(snap.n_sessions, 2);
    assert_int_equal(snap.sessions[0].pid, 4244);
    assert_int_equal(snap.sessions[0].n_blocked_by, 1);
    assert_int_equal(snap.sessions[0].blocked_by[0], 4245);
    assert_string_equal(snap.sessions[1].state, "idle in transaction");
    assert_null(snap.sessions[1].wait_event_type);
    assert_int_equal(snapshot_usable_slots(&snap), 20);
    assert_int_equal(snap.wal_bytes, 16777216);
    assert_true(snap.taken_at > 1795000000.0);
    free(text);
    arena_free(arena);
}

static void
test_snapshot_json_read_errors(void **state)
{
    static const struct
    {
        const char *text;
        const char *message;
    } cases[] = {
        {"{\"pgmedic\": 1,", "could not parse snapshot \"in\": line 1, column 14: "},
        {"[]", "invalid snapshot in \"in\": not a JSON object"},
        {"{\"pgmedic\": 7}", "\"in\" is not a pgmedic snapshot"},
        {"{\"pgmedic\": 1, \"taken_at\": \"yesterday\"}",
         "invalid snapshot in \"in\": \"taken_at\" must be a time"},
        {"{\"pgmedic\": 1, \"taken_at\": \"2026-11-29T15:00:00.000Z\", \"status\": "
         "{\"failure\": \"exploded\"}}",
         "invalid snapshot in \"in\": status.\"failure\" must be a failure kind"},
        {"{\"pgmedic\": 1, \"taken_at\": \"2026-11-29T15:00:00Z\", \"status\": {}, "
         "\"sessions\": [{\"pid\": \"x\"}]}",
         "invalid snapshot in \"in\": sessions.\"pid\" must be an integer"},
        {"{\"pgmedic\": 1, \"pgmedic\": 1}", "could not parse snapshot \"in\""},
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        Arena *arena = arena_new();
        Snapshot snap;
        PmError err;

        assert_int_equal(
            snapshot_json_read(cases[i].text, strlen(cases[i].text), "in", arena, &snap, &err), -1);
        if (strncmp(err.message, cases[i].message, strlen(cases[i].message)) != 0)
            fail_msg("case %zu: got \"%s\"", i, err.message);
        arena_free(arena);
    }
}

static void
test_jsonw_escapes_anything(void **state)
{
    /* Quotes, backslash, control bytes, $$, newline and invalid UTF-8. */
    static const char nasty[] = "a\"b\\c\n\t\x01$$;\xff\xc3\x28 caf\xc3\xa9";
    StrBuf buf = STRBUF_INIT;
    JsonW w;
    json_error_t jerr;
    json_t *v;

    (void) state;
    jsonw_init(&w, &buf, false);
    jsonw_object_begin(&w);
    jsonw_kv_string(&w, "q", nasty);
    jsonw_kv_double(&w, "nan", 0.0 / 0.0);
    jsonw_kv_double(&w, "r", 0.85);
    jsonw_kv_int(&w, "n", -5);
    jsonw_key(&w, "a");
    jsonw_array_begin(&w);
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    assert_true(strbuf_ok(&buf));
    v = json_loads(strbuf_str(&buf), 0, &jerr);
    if (v == NULL)
        fail_msg("invalid JSON %s: %s", strbuf_str(&buf), jerr.text);
    assert_string_equal(json_string_value(json_object_get(v, "q")),
                        "a\"b\\c\n\t\x01$$;\xef\xbf\xbd\xef\xbf\xbd( caf\xc3\xa9");
    assert_true(json_is_null(json_object_get(v, "nan")));
    assert_true(json_real_value(json_object_get(v, "r")) == 0.85);
    json_decref(v);
    assert_non_null(strstr(strbuf_str(&buf), "\"r\":0.85,"));
    strbuf_free(&buf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_json_round_trip),
        cmocka_unit_test(test_snapshot_json_read_values),
        cmocka_unit_test(test_snapshot_json_read_errors),
        cmocka_unit_test(test_jsonw_escapes_anything),
    };

    return cmocka_run_group_tests_name("core/snapshot_json", tests, NULL, NULL);
}
