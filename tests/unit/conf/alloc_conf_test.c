/*
 * alloc_conf_test.c - the configuration when memory runs out: conf_load()
 * and conf_set() with their Nth allocation failing, for N = 0, 1, ... until
 * the call succeeds without a failed allocation (tests/unit/fuzz/failalloc.h
 * says how).  Each failure is a clean error ("out of memory", or the file's
 * "PATH:LINE: out of memory"), frees everything it took, and never exits (the
 * parsing paths use no exiting pm_x*() allocator); a success is the same
 * configuration as with all the memory in the world.  Twice: with only the
 * Nth allocation failing, and with it and every later one failing.
 *
 * conf_init() is start-up code that exits when out of memory (conf.h), so
 * it runs before the failures are armed.
 */
#include <unistd.h>

#include "fuzz/conf_compare.h"
#include "fuzz/failalloc.h"
#include "unit.h"

static const char readme_config[] =
    "[pgmedic]\n"
    "store = ~/.local/state/pgmedic/pgmedic.db   ; audit log and samples\n"
    "listen = 127.0.0.1:9188\n"
    "interval = 15s\n"
    "[target pivotal_flow]                       ; as many as needed\n"
    "conninfo = host=db.internal dbname=pivotal_flow user=pgmedic\n"
    "restart_command = docker compose restart postgres\n"
    "reset_pool_command = docker compose restart backend\n"
    "restart_timeout = 60s\n"
    "reserved_conninfo = host=db.internal dbname=pivotal_flow user=postgres\n"
    "data_directory = /var/lib/postgresql/15/main\n"
    "[thresholds]\n"
    "connections_warning = 80%\n"
    "slow_query_warning = 5s\n"
    "[safety]\n"
    "protect_applications = billing, pgbouncer\n"
    "[escalation]\n"
    "contacts = DBA: dba@example.com, +1 555 0100\n"
    "command = /usr/local/bin/page-oncall --service postgres\n"
    "[serve]\n"
    "token_file = /etc/pgmedic/token\n"
    "[policy]\n"
    "auto_fix = terminate-idle\n"
    "[target second]\n"
    "conninfo = postgresql://pgmedic@db2.internal/app\n"
    "[target third]\n"
    "log_file = /var/log/postgresql/postgresql-15-main.log\n"
    "[target second]\n"
    "restart_timeout = 2min\n";

static char *
write_temp(const char *text)
{
    char *path = strdup("/tmp/pgmedic-alloc-conf-XXXXXX");
    int fd;
    size_t len = strlen(text);

    assert_non_null(path);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t) len);
    close(fd);
    return path;
}

/* An out-of-memory error: "out of memory", after "PATH:LINE: " for a file. */
static void
assert_oom_error(const PmError *err, long n)
{
    size_t len = strlen(err->message);
    static const char oom[] = "out of memory";

    if (len < sizeof(oom) - 1 || strcmp(err->message + len - (sizeof(oom) - 1), oom) != 0)
        fail_msg("allocation %ld failing: \"%s\", not out of memory", n, err->message);
}

/* conf_load() of path with the Nth allocation failing, for every N; returns the Ns tried. */
static long
load_failing(const char *path, FailMode mode)
{
    Config want, got;
    PmError err;
    long n;

    conf_init(&want);
    if (conf_load(&want, path, &err) != 0)
        fail_msg("conf_load: %s", err.message);
    for (n = 0; n < 100000; n++)
    {
        long live, refused;
        int rc;

        live = failalloc_live();
        conf_init(&got);
        memset(&err, 0, sizeof(err));
        failalloc_arm(n, mode);
        rc = conf_load(&got, path, &err);
        refused = failalloc_refusals();
        failalloc_disarm();
        if (rc == 0)
            assert_true(same_config(&want, &got)); /* a failure it got over changed nothing */
        else
        {
            assert_int_equal(rc, -1);
            assert_true(refused > 0);
            assert_oom_error(&err, n);
            assert_non_null(strstr(err.message, path));
        }
        conf_free(&got);
        /* Whatever the load took is in got (and freed with it) or was freed. */
        assert_int_equal(failalloc_live(), live);
        if (refused == 0)
        {
            assert_int_equal(rc, 0);
            break;
        }
    }
    conf_free(&want);
    assert_true(n > 10); /* it does allocate: the test tested something */
    return n;
}

static void
test_conf_load_out_of_memory(void **state)
{
    char *path = write_temp(readme_config);
    long live = failalloc_live();

    (void) state;
    print_message("conf_load: %ld allocations failed in turn\n", load_failing(path, FAIL_ONLY_N));
    print_message("conf_load: %ld allocations failed from then on\n",
                  load_failing(path, FAIL_FROM_N));
    assert_int_equal(failalloc_live(), live);
    unlink(path);
    free(path);
}

static void
test_conf_set_out_of_memory(void **state)
{
    static const char *const sets[] = {
        "escalation.command=/usr/local/bin/page-oncall --service postgres",
        "contacts=DBA: dba@example.com",
        "slow_query_warning=10s",
        "connections_warning=70%",
        "serve.max_body=2048",
        "bogus=1",
        "target.conninfo=dbname=x",
    };
    size_t i;

    (void) state;
    for (i = 0; i < PM_LENGTHOF(sets); i++)
    {
        Config want, got;
        PmError want_err, err;
        int want_rc;
        long n;

        conf_init(&want);
        want_rc = conf_set(&want, sets[i], &want_err);
        for (n = 0; n < 1000; n++)
        {
            long live, refused;
            int rc;

            live = failalloc_live();
            conf_init(&got);
            failalloc_arm(n, FAIL_ONLY_N);
            rc = conf_set(&got, sets[i], &err);
            refused = failalloc_refusals();
            failalloc_disarm();
            if (rc == 0)
                assert_true(same_config(&want, &got));
            else if (refused > 0 && want_rc == 0)
                assert_string_equal(err.message, "out of memory");
            else
                assert_string_equal(err.message, want_err.message);
            /* A failed set leaves the old value, which conf_free() frees. */
            conf_free(&got);
            assert_int_equal(failalloc_live(), live);
            if (refused == 0)
            {
                assert_int_equal(rc, want_rc);
                break;
            }
        }
        conf_free(&want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_load_out_of_memory),
        cmocka_unit_test(test_conf_set_out_of_memory),
    };

    failalloc_jansson();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
