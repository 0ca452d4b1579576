/*
 * alloc_conn_test.c - connection options when memory runs out:
 * connspec_new() with its Nth allocation failing (its own, and libpq's
 * PQconninfoParse() when libpq is linked statically; see
 * tests/unit/fuzz/failalloc.h), for N = 0, 1, ... until it succeeds without
 * a failed allocation.  A failure is NULL with an "out of memory" message
 * (libpq may word it "invalid connection string in ...: out of memory") and
 * leaves nothing allocated; a success is the same spec as with all the
 * memory in the world.
 */
#include "fuzz/failalloc.h"
#include "pg/conn.h"
#include "unit.h"

typedef struct
{
    const char *conninfo, *dbname, *host, *port, *user;
} Case;

static const Case cases[] = {
    {"host=db.internal dbname=pivotal_flow user=pgmedic password=s3cret", NULL, NULL, NULL, NULL},
    {"host=a port=5432", "postgresql://u:pw@db2:5433/app?sslmode=require", "h", "6432", "me"},
    {NULL, "app", "/var/run/postgresql", "5433", "postgres"},
    {"", "dbname='my db' options='-c statement_timeout=5s'", NULL, NULL, NULL},
};

static char *
describe(const ConnSpec *spec)
{
    char *text = connspec_conninfo_without_password(spec);
    size_t len;
    char *out;

    assert_non_null(text);
    len = strlen(text) + 16;
    out = malloc(len);
    assert_non_null(out);
    snprintf(out, len, "%s|%d", text, connspec_has_password(spec) ? 1 : 0);
    free(text);
    return out;
}

static long
spec_failing(const Case *c, FailMode mode)
{
    PmError err;
    ConnSpec *spec = connspec_new(c->conninfo, c->dbname, c->host, c->port, c->user, &err);
    char *want;
    long n;

    if (spec == NULL)
        fail_msg("connspec_new: %s", err.message);
    want = describe(spec);
    connspec_free(spec);
    for (n = 0; n < 100000; n++)
    {
        long live = failalloc_live(), refused;

        memset(&err, 0, sizeof(err));
        failalloc_arm(n, mode);
        spec = connspec_new(c->conninfo, c->dbname, c->host, c->port, c->user, &err);
        refused = failalloc_refusals();
        failalloc_disarm();
        if (spec != NULL)
        {
            char *got = describe(spec);

            assert_string_equal(got, want);
            free(got);
            connspec_free(spec);
        }
        else if (refused == 0 || strstr(err.message, "out of memory") == NULL)
            fail_msg("allocation %ld failing: \"%s\"", n, err.message);
        assert_int_equal(failalloc_live(), live);
        if (refused == 0)
            break;
    }
    free(want);
    return n;
}

static void
test_connspec_new_out_of_memory(void **state)
{
    (void) state;
    for (size_t i = 0; i < PM_LENGTHOF(cases); i++)
    {
        long only = spec_failing(&cases[i], FAIL_ONLY_N);
        long from = spec_failing(&cases[i], FAIL_FROM_N);

        print_message("case %zu: %ld allocations failed in turn, %ld from then on\n", i, only,
                      from);
        assert_true(only > 0 && from > 0);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connspec_new_out_of_memory),
    };

    failalloc_jansson();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
