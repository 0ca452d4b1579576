/*
 * alloc_snapshot_json_test.c - the JSON readers when memory runs out:
 * snapshot_json_read() and amwebhook_parse() with their Nth allocation
 * failing (jansson's and the arena's alike, see tests/unit/fuzz/failalloc.h),
 * for N = 0, 1, ... until the call succeeds without a failed allocation.
 * Each failure is a clean error: -1 with "out of memory", or (jansson's
 * lexer turns some failed allocations into a syntax error) a parse error;
 * nothing is left allocated outside the arena; a success reads exactly what
 * it reads with all the memory in the world (written back, the same JSON).
 * Twice: only the Nth of pgmedic's own allocations failing (the arena, a
 * copy), and the Nth of all allocations, jansson's included, with every
 * later one.
 *
 * Not tested, known (jansson, not pgmedic; tests/fuzz/README.md): a lone
 * failure of one of jansson's own allocations.  Its lexer ignores a failed
 * append to its token buffer (lex_save() drops strbuffer_append_byte()'s
 * result, akheron/jansson#362): the parse then succeeds with a byte missing
 * from a string ("app@/tmp/sock:5432" read as "app@/tmp/sock:432", failing
 * jansson's 8th allocation for snapshots/healthy.json), or abort()s in an
 * assert (the webhook payload below).
 */
#include "core/amwebhook.h"
#include "core/snapshot_json.h"
#include "fuzz/failalloc.h"
#include "unit.h"
#include "util/jsonw.h"
#include "util/strbuf.h"

/* Snapshots of every shape the fixtures have, and one with every field. */
static const char *const fixtures[] = {
    "snapshots/healthy.json",
    "snapshots/server_down.json",
    "snapshots/slow_lock_waiter.json",
    "diagnose/leak_by_client.json",
    "diagnose/missing_index.json",
    "diagnose/disk_full.json",
    "../fuzz/corpus/snapshot_json/full.json",
};

static char *
written(const Snapshot *snap)
{
    StrBuf out = STRBUF_INIT;
    JsonW w;

    jsonw_init(&w, &out, false);
    snapshot_json_write(&w, snap);
    assert_true(strbuf_ok(&out));
    return out.data;
}

static bool
is_clean_error(const char *message, const char *parse_prefix)
{
    return strcmp(message, "out of memory") == 0 ||
           strncmp(message, parse_prefix, strlen(parse_prefix)) == 0;
}

static long
snapshot_failing(const char *name, const char *text, size_t len, FailMode mode)
{
    Arena *arena = arena_new();
    Snapshot snap;
    PmError err;
    char *want;
    long n;

    assert_non_null(arena);
    if (snapshot_json_read(text, len, name, arena, &snap, &err) != 0)
        fail_msg("%s: %s", name, err.message);
    want = written(&snap);
    arena_free(arena);
    for (n = 0; n < 1000000; n++)
    {
        long live = failalloc_live(), refused;
        int rc;

        arena = arena_new();
        assert_non_null(arena);
        memset(&err, 0, sizeof(err));
        memset(&snap, 0, sizeof(snap));
        failalloc_arm(n, mode);
        rc = snapshot_json_read(text, len, name, arena, &snap, &err);
        refused = failalloc_refusals();
        failalloc_disarm();
        if (rc == 0)
        {
            char *got = written(&snap);

            if (strcmp(got, want) != 0)
                fail_msg("%s, allocation %ld failing: read as\n%s\ninstead of\n%s", name, n, got,
                         want);
            free(got);
        }
        else if (refused == 0 || !is_clean_error(err.message, "could not parse snapshot"))
            fail_msg("%s, allocation %ld failing: \"%s\"", name, n, err.message);
        arena_free(arena);
        assert_int_equal(failalloc_live(), live);
        if (refused == 0)
            break;
    }
    free(want);
    return n;
}

static void
test_snapshot_json_read_out_of_memory(void **state)
{
    (void) state;
    for (size_t i = 0; i < PM_LENGTHOF(fixtures); i++)
    {
        size_t len;
        char *text = unit_read_fixture(fixtures[i], &len);
        long only = snapshot_failing(fixtures[i], text, len, FAIL_ONLY_N);
        long from = snapshot_failing(fixtures[i], text, len, FAIL_FROM_N);

        print_message("%s: %ld allocations failed in turn, %ld from then on\n", fixtures[i], only,
                      from);
        assert_true(only > 0 && from > 10);
        free(text);
    }
}

/*
 * A snapshot that needs many arena blocks: 400 sessions, every 25th with a
 * query of 40000 bytes (more than a block: a block of its own), and notes
 * and an indexed column list; arena allocations fail all along the read.
 */
static char *
big_snapshot(size_t *len)
{
    StrBuf buf = STRBUF_INIT;
    char query[40001];

    memset(query, 'x', sizeof(query) - 1);
    query[sizeof(query) - 1] = '\0';
    strbuf_append(&buf, "{\"pgmedic\":1,\"target\":\"big@db:5432\",\"taken_at\":"
                        "\"2026-11-29T15:00:00.000Z\",\"status\":{\"reachable\":true},"
                        "\"connections\":{\"max_connections\":500,\"clients\":400},\"sessions\":[");
    for (int i = 0; i < 400; i++)
        strbuf_printf(&buf,
                      "%s{\"pid\":%d,\"user\":\"app\",\"application\":\"worker %d\",\"state\":"
                      "\"active\",\"query\":\"select %s\",\"blocked_by\":[%d,%d]}",
                      i ? "," : "", 1000 + i, i, i % 25 == 0 ? query : "1", 1000 + i / 2,
                      1000 + i / 3);
    strbuf_append(&buf, "],\"tables\":[{\"oid\":1,\"schema\":\"public\",\"name\":\"t\","
                        "\"indexed_columns\":[\"a\",\"b\"]}],\"notes\":[\"one\",\"two\"]}");
    assert_true(strbuf_ok(&buf));
    *len = buf.len;
    return buf.data;
}

static void
test_snapshot_json_read_big_out_of_memory(void **state)
{
    size_t len;
    char *text = big_snapshot(&len);
    long only = snapshot_failing("big.json", text, len, FAIL_ONLY_N);

    (void) state;
    print_message("big.json (%zu bytes): %ld arena allocations failed in turn\n", len, only);
    assert_true(only > 10);
    free(text);
}

/* What a parsed payload says, as text, to compare two parses. */
static void
payload_text(const AmPayload *p, char *buf, size_t size)
{
    size_t used = 0;

#define SHOW(s) ((s) != NULL ? (s) : "(null)")
    used += (size_t) snprintf(buf + used, size - used, "%s|%s|%s|%zu", SHOW(p->receiver),
                              SHOW(p->status), SHOW(p->group_key), p->n_alerts);
    for (size_t i = 0; i < p->n_alerts && used < size; i++)
    {
        const AmAlert *a = &p->alerts[i];

        used += (size_t) snprintf(buf + used, size - used, "|%s,%s,%s,%s,%s,%s,%s", SHOW(a->status),
                                  SHOW(a->alertname), SHOW(a->target), SHOW(a->severity),
                                  SHOW(a->summary), SHOW(a->starts_at), SHOW(a->fingerprint));
    }
#undef SHOW
}

static void
test_amwebhook_parse_arena_out_of_memory(void **state)
{
    char *text = unit_read_fixture("../fuzz/corpus/amwebhook/alertmanager_0.27.json", NULL);
    char want[4096], got[4096];
    int mode;

    (void) state;
    {
        Arena *arena = arena_new();
        AmPayload p;
        PmError err;

        assert_non_null(arena);
        if (amwebhook_parse(text, strlen(text), "target", arena, &p, &err) != 0)
            fail_msg("amwebhook_parse: %s", err.message);
        payload_text(&p, want, sizeof(want));
        arena_free(arena);
    }
    for (mode = FAIL_ONLY_N; mode <= FAIL_FROM_N; mode++)
    {
        long n;

        for (n = 0; n < 100000; n++)
        {
            Arena *arena;
            AmPayload p;
            PmError err;
            long live = failalloc_live(), refused;
            int rc;

            arena = arena_new();
            assert_non_null(arena);
            failalloc_arm(n, (FailMode) mode);
            rc = amwebhook_parse(text, strlen(text), "target", arena, &p, &err);
            refused = failalloc_refusals();
            failalloc_disarm();
            if (rc == 0)
            {
                payload_text(&p, got, sizeof(got));
                assert_string_equal(got, want);
            }
            else
            {
                if (refused == 0 || !is_clean_error(err.message, "invalid JSON at line"))
                    fail_msg("allocation %ld failing: \"%s\"", n, err.message);
                assert_int_equal(p.n_alerts, 0);
                assert_null(p.alerts);
            }
            arena_free(arena);
            assert_int_equal(failalloc_live(), live);
            if (refused == 0)
                break;
        }
        print_message("amwebhook_parse: %ld allocations failed (%s)\n", n,
                      mode == FAIL_ONLY_N ? "in turn" : "from then on");
    }
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_json_read_out_of_memory),
        cmocka_unit_test(test_snapshot_json_read_big_out_of_memory),
        cmocka_unit_test(test_amwebhook_parse_arena_out_of_memory),
    };

    failalloc_jansson();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
