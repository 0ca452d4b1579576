/*
 * amwebhook_test.c - Alertmanager's webhook payload: a real one (firing and
 * resolved alerts, the target label or the instance, missing labels), then
 * inputs that are not a payload, each refused with its one-line message
 * and *out left empty, then every allocation of the JSON reader failing in
 * turn.  The ASan build proves there is no leak and no overrun.
 */
#include "core/amwebhook.h"
#include "unit.h"

#include <jansson.h>

/* As Alertmanager 0.27 sends it (webhook_config, send_resolved: true). */
static const char payload[] =
    "{\n"
    "  \"receiver\": \"pgmedic\",\n"
    "  \"status\": \"firing\",\n"
    "  \"alerts\": [\n"
    "    {\n"
    "      \"status\": \"firing\",\n"
    "      \"labels\": {\"alertname\": \"PostgresDown\", \"instance\": \"db1:9187\",\n"
    "                 \"job\": \"postgres\", \"severity\": \"critical\", \"target\": \"db1\"},\n"
    "      \"annotations\": {\"summary\": \"PostgreSQL is down on db1\",\n"
    "                      \"description\": \"pg_up has been 0 for 1 minute.\"},\n"
    "      \"startsAt\": \"2026-11-29T15:00:00.123Z\",\n"
    "      \"endsAt\": \"0001-01-01T00:00:00Z\",\n"
    "      \"generatorURL\": \"http://prometheus:9090/graph?g0.expr=pg_up+%3D%3D+0&g0.tab=1\",\n"
    "      \"fingerprint\": \"a1b2c3d4e5f60718\"\n"
    "    },\n"
    "    {\n"
    "      \"status\": \"resolved\",\n"
    "      \"labels\": {\"alertname\": \"PostgresReplicationLag\", \"instance\": \"db2:9187\",\n"
    "                 \"severity\": \"warning\"},\n"
    "      \"annotations\": {},\n"
    "      \"startsAt\": \"2026-11-29T14:00:00Z\",\n"
    "      \"endsAt\": \"2026-11-29T14:30:00Z\",\n"
    "      \"generatorURL\": \"http://prometheus:9090/graph\",\n"
    "      \"fingerprint\": \"0f1e2d3c4b5a6978\"\n"
    "    },\n"
    "    {\n"
    "      \"status\": \"firing\",\n"
    "      \"labels\": {\"job\": \"node\"},\n"
    "      \"startsAt\": \"2026-11-29T15:01:00Z\"\n"
    "    }\n"
    "  ],\n"
    "  \"groupLabels\": {\"job\": \"postgres\"},\n"
    "  \"commonLabels\": {\"job\": \"postgres\"},\n"
    "  \"commonAnnotations\": {},\n"
    "  \"externalURL\": \"http://alertmanager:9093\",\n"
    "  \"version\": \"4\",\n"
    "  \"groupKey\": \"{}:{job=\\\"postgres\\\"}\",\n"
    "  \"truncatedAlerts\": 0\n"
    "}\n";

static void
parse_ok(const char *text, size_t len, const char *target_label, Arena *arena, AmPayload *out)
{
    PmError err;

    if (amwebhook_parse(text, len, target_label, arena, out, &err) != 0)
        fail_msg("amwebhook_parse: %s", err.message);
}

static void
test_amwebhook_parse_real_payload(void **state)
{
    Arena *arena = arena_new();
    AmPayload p;
    const AmAlert *a;

    (void) state;
    assert_non_null(arena);
    parse_ok(payload, strlen(payload), "target", arena, &p);
    assert_string_equal(p.receiver, "pgmedic");
    assert_string_equal(p.status, "firing");
    assert_string_equal(p.group_key, "{}:{job=\"postgres\"}");
    assert_int_equal(p.n_alerts, 3);

    a = &p.alerts[0];
    assert_string_equal(a->status, "firing");
    assert_string_equal(a->alertname, "PostgresDown");
    assert_string_equal(a->target, "db1"); /* the target label wins over instance */
    assert_string_equal(a->severity, "critical");
    assert_string_equal(a->summary, "PostgreSQL is down on db1");
    assert_string_equal(a->starts_at, "2026-11-29T15:00:00.123Z");
    assert_string_equal(a->fingerprint, "a1b2c3d4e5f60718");

    a = &p.alerts[1];
    assert_string_equal(a->status, "resolved");
    assert_string_equal(a->alertname, "PostgresReplicationLag");
    assert_string_equal(a->target, "db2:9187"); /* no target label: instance */
    assert_string_equal(a->severity, "warning");
    assert_null(a->summary);

    a = &p.alerts[2];
    assert_string_equal(a->status, "firing");
    assert_null(a->alertname);
    assert_null(a->target);
    assert_null(a->severity);
    assert_null(a->summary);
    assert_null(a->fingerprint);
    assert_string_equal(a->starts_at, "2026-11-29T15:01:00Z");
    arena_free(arena);
}

static void
test_amwebhook_parse_target_label(void **state)
{
    Arena *arena = arena_new();
    AmPayload p;

    (void) state;
    assert_non_null(arena);
    /* Another label names the target: absent here, so instance. */
    parse_ok(payload, strlen(payload), "cluster", arena, &p);
    assert_string_equal(p.alerts[0].target, "db1:9187");
    /* None configured: instance only. */
    parse_ok(payload, strlen(payload), NULL, arena, &p);
    assert_string_equal(p.alerts[0].target, "db1:9187");
    parse_ok(payload, strlen(payload), "", arena, &p);
    assert_string_equal(p.alerts[0].target, "db1:9187");
    /* A label that is there. */
    parse_ok(payload, strlen(payload), "job", arena, &p);
    assert_string_equal(p.alerts[0].target, "postgres");
    arena_free(arena);
}

static void
test_amwebhook_parse_minimal_and_resolved(void **state)
{
    static const char resolved[] =
        "{\"status\":\"resolved\",\"alerts\":[{\"status\":\"resolved\","
        "\"labels\":{\"alertname\":\"X\",\"target\":\"db9\"},\"annotations\":{\"summary\":\"s\"},"
        "\"endsAt\":\"2026-11-29T16:00:00Z\",\"generatorURL\":null}],\"unknown\":{\"a\":[1,2]}}";
    static const char empty[] = "{\"alerts\":[]}trailing bytes past len";
    Arena *arena = arena_new();
    AmPayload p;

    (void) state;
    assert_non_null(arena);
    parse_ok(resolved, strlen(resolved), "target", arena, &p);
    assert_string_equal(p.status, "resolved");
    assert_null(p.receiver);
    assert_null(p.group_key);
    assert_int_equal(p.n_alerts, 1);
    assert_string_equal(p.alerts[0].status, "resolved");
    assert_string_equal(p.alerts[0].target, "db9");
    assert_string_equal(p.alerts[0].summary, "s");
    assert_null(p.alerts[0].starts_at);
    /* The buffer need not be NUL-terminated: only len bytes are read. */
    parse_ok(empty, strlen("{\"alerts\":[]}"), "target", arena, &p);
    assert_int_equal(p.n_alerts, 0);
    assert_null(p.alerts);
    arena_free(arena);
}

typedef struct
{
    const char *name;
    const char *body;
    const char *message;
    bool prefix; /* message is only the start */
} BadCase;

static const BadCase bad_cases[] = {
    {"not JSON", "not json", "invalid JSON at line 1, column 3: '[' or '{' expected near 'not'",
     false},
    {"empty", "", "invalid JSON at line 1, column 0: '[' or '{' expected near end of file", false},
    {"truncated", "{\"receiver\": \"pgmedic\", \"alerts\": [{\"status\": \"fir",
     "invalid JSON at line 1, column 50: premature end of input near '\"fir'", false},
    {"an array", "[]", "the webhook payload is not a JSON object", false},
    {"a string", "\"alerts\"",
     "invalid JSON at line 1, column 8: '[' or '{' expected near '\"alerts\"'", false},
    {"empty object", "{}", "\"alerts\" is missing", false},
    {"alerts an object", "{\"alerts\": {}}", "\"alerts\" is not an array", false},
    {"alerts null", "{\"alerts\": null}", "\"alerts\" is not an array", false},
    {"alert a number", "{\"alerts\": [{\"status\": \"firing\"}, 1]}",
     "\"alerts[1]\" is not an object", false},
    {"no status", "{\"alerts\": [{\"labels\": {}}]}", "\"alerts[0].status\" is missing", false},
    {"odd status", "{\"alerts\": [{\"status\": \"pending\"}]}",
     "\"alerts[0].status\" is neither \"firing\" nor \"resolved\"", false},
    {"status a number", "{\"alerts\": [{\"status\": 1}]}", "\"alerts[0].status\" is not a string",
     false},
    {"group status", "{\"status\": \"ok\", \"alerts\": []}",
     "\"status\" is neither \"firing\" nor \"resolved\"", false},
    {"labels an array", "{\"alerts\": [{\"status\": \"firing\", \"labels\": [\"a\"]}]}",
     "\"alerts[0].labels\" is not an object", false},
    {"label a number",
     "{\"alerts\": [{\"status\": \"firing\", \"labels\": {\"alertname\": \"A\", \"severity\": "
     "3}}]}",
     "\"alerts[0].labels.severity\" is not a string", false},
    {"label null", "{\"alerts\": [{\"status\": \"firing\", \"labels\": {\"target\": null}}]}",
     "\"alerts[0].labels.target\" is not a string", false},
    {"label an object", "{\"alerts\": [{\"status\": \"firing\", \"labels\": {\"x\": {}}}]}",
     "\"alerts[0].labels.x\" is not a string", false},
    {"odd label name", "{\"alerts\": [{\"status\": \"firing\", \"labels\": {\"a\\\"b\\n\": 1}}]}",
     "\"alerts[0].labels.a?b?\" is not a string", false},
    {"annotation a number",
     "{\"alerts\": [{\"status\": \"firing\", \"annotations\": {\"summary\": 1.5}}]}",
     "\"alerts[0].annotations.summary\" is not a string", false},
    {"startsAt a number", "{\"alerts\": [{\"status\": \"firing\", \"startsAt\": 0}]}",
     "\"alerts[0].startsAt\" is not a string", false},
    {"endsAt a bool", "{\"alerts\": [{\"status\": \"firing\", \"endsAt\": true}]}",
     "\"alerts[0].endsAt\" is not a string", false},
    {"receiver a number", "{\"receiver\": 7, \"alerts\": []}", "\"receiver\" is not a string",
     false},
    {"version 5", "{\"version\": \"5\", \"alerts\": []}",
     "unsupported webhook payload version \"5\"", false},
    {"version a number", "{\"version\": 4, \"alerts\": []}", "\"version\" is not a string", false},
    {"huge integer", "{\"alerts\": [], \"truncatedAlerts\": 123456789012345678901234567890}",
     "invalid JSON at line 1, column 64: too big integer", false},
    {"huge real", "{\"alerts\": [], \"truncatedAlerts\": 1e999999}",
     "invalid JSON at line 1, column 42: real number overflow near '1e999999'", false},
    {"duplicate key", "{\"alerts\": [], \"alerts\": {}}",
     "invalid JSON at line 1, column 23: duplicate object key near '\"alerts\"'", false},
    {"NUL in a string", "{\"receiver\": \"a\\u0000b\", \"alerts\": []}",
     "invalid JSON at line 1, column 23: \\u0000 is not allowed without JSON_ALLOW_NUL", true},
    {"control character",
     "{\"alerts\": [], \"x\": \"a\x01"
     "b\"}",
     "invalid JSON at line 1, column 22: control character 0x1 near '\"a'", false},
    {"invalid UTF-8", "{\"alerts\": [], \"x\": \"\xff\"}",
     "invalid JSON at line 1, column 21: unable to decode byte 0xff near '\"'", false},
};

static void
test_amwebhook_parse_bad_inputs(void **state)
{
    Arena *arena = arena_new();

    (void) state;
    assert_non_null(arena);
    for (size_t i = 0; i < PM_LENGTHOF(bad_cases); i++)
    {
        const BadCase *c = &bad_cases[i];
        AmPayload p;
        PmError err;
        int rc;

        memset(&p, 0x5a, sizeof(p));
        rc = amwebhook_parse(c->body, strlen(c->body), "target", arena, &p, &err);
        if (rc != -1)
            fail_msg("%s: accepted", c->name);
        if (c->prefix ? strncmp(err.message, c->message, strlen(c->message)) != 0
                      : strcmp(err.message, c->message) != 0)
            fail_msg("%s: \"%s\", expected \"%s\"", c->name, err.message, c->message);
        /* One line, and *out left empty. */
        assert_null(strchr(err.message, '\n'));
        assert_int_equal(p.n_alerts, 0);
        assert_null(p.alerts);
        assert_null(p.status);
    }
    arena_free(arena);
}

/* Deep nesting, a long payload cut anywhere: an error each time, never a crash. */
static void
test_amwebhook_parse_hostile(void **state)
{
    enum
    {
        DEPTH = 100000
    };

    char *deep = malloc(DEPTH + 32);
    Arena *arena = arena_new();
    AmPayload p;
    PmError err;

    (void) state;
    assert_non_null(deep);
    assert_non_null(arena);
    memcpy(deep, "{\"alerts\":", 10);
    memset(deep + 10, '[', DEPTH);
    deep[10 + DEPTH] = '\0';
    assert_int_equal(amwebhook_parse(deep, strlen(deep), "target", arena, &p, &err), -1);
    assert_int_equal(strncmp(err.message, "invalid JSON at line 1", 22), 0);
    free(deep);

    for (size_t len = 0; len < sizeof(payload) - 1; len++)
    {
        int rc = amwebhook_parse(payload, len, "target", arena, &p, &err);

        /* Only the whole payload (or it without its final newline) parses. */
        if (len < sizeof(payload) - 2)
            assert_int_equal(rc, -1);
    }
    arena_free(arena);
}

/*
 * jansson's allocations, failing from the Nth on (the arena's own are not
 * reachable from here).
 */
static long fail_after = -1;
static long n_allocs;

static void *
failing_malloc(size_t size)
{
    if (fail_after >= 0 && n_allocs++ >= fail_after)
        return NULL;
    return malloc(size);
}

static void
test_amwebhook_parse_out_of_memory(void **state)
{
    Arena *arena = arena_new();
    bool succeeded = false;

    (void) state;
    assert_non_null(arena);
    json_set_alloc_funcs(failing_malloc, free);
    for (long n = 0; n < 100000 && !succeeded; n++)
    {
        AmPayload p;
        PmError err;

        fail_after = n;
        n_allocs = 0;
        if (amwebhook_parse(payload, strlen(payload), "target", arena, &p, &err) == 0)
        {
            succeeded = true;
            assert_int_equal(p.n_alerts, 3);
        }
        else if (strcmp(err.message, "out of memory") != 0 &&
                 strncmp(err.message, "invalid JSON at line", 20) != 0)
            /* (jansson's lexer reports some failed allocations as a syntax error) */
            fail_msg("allocation %ld failing: \"%s\"", n, err.message);
    }
    fail_after = -1;
    json_set_alloc_funcs(malloc, free);
    assert_true(succeeded);
    arena_free(arena);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amwebhook_parse_real_payload),
        cmocka_unit_test(test_amwebhook_parse_target_label),
        cmocka_unit_test(test_amwebhook_parse_minimal_and_resolved),
        cmocka_unit_test(test_amwebhook_parse_bad_inputs),
        cmocka_unit_test(test_amwebhook_parse_hostile),
        cmocka_unit_test(test_amwebhook_parse_out_of_memory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
