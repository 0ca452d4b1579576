/*
 * conn_test.c - the pure parts of src/pg/conn.c: failure classification
 * from libpq 15's texts, connection specs and password scrubbing.
 */
#include "pg/conn.h"
#include "unit.h"

static void
test_pgconn_classify_texts(void **state)
{
    static const struct
    {
        const char *text;
        ConnFailure failure;
    } cases[] = {
        {"connection to server on socket \"/tmp/.s.PGSQL.5432\" failed: No such file or "
         "directory",
         CONN_SERVER_DOWN},
        {"connection to server at \"127.0.0.1\", port 1 failed: Connection refused",
         CONN_SERVER_DOWN},
        {"FATAL:  sorry, too many clients already", CONN_TOO_MANY_CLIENTS},
        {"FATAL:  remaining connection slots are reserved for non-replication superuser "
         "connections",
         CONN_TOO_MANY_CLIENTS},
        {"FATAL:  too many connections for role \"app\"", CONN_CONNECTION_LIMIT},
        {"FATAL:  too many connections for database \"app\"", CONN_CONNECTION_LIMIT},
        {"FATAL:  password authentication failed for user \"app\"", CONN_AUTH_FAILURE},
        {"FATAL:  no pg_hba.conf entry for host \"10.0.0.1\"", CONN_AUTH_FAILURE},
        {"fe_sendauth: no password supplied", CONN_AUTH_FAILURE},
        {"FATAL:  role \"ghost\" does not exist", CONN_AUTH_FAILURE},
        {"FATAL:  database \"nosuchdb\" does not exist", CONN_DATABASE_MISSING},
        {"FATAL:  the database system is starting up", CONN_STARTING_UP},
        {"FATAL:  the database system is shutting down", CONN_SHUTTING_DOWN},
        {"FATAL:  the database system is in recovery mode", CONN_IN_RECOVERY},
        {"timeout expired", CONN_TIMEOUT},
        {"FATAL:  permission denied for database \"x\"", CONN_ERROR},
        {"something else entirely", CONN_ERROR},
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (pgconn_classify(cases[i].text) != cases[i].failure)
            fail_msg("\"%s\": got %s", cases[i].text,
                     snapshot_failure_name(pgconn_classify(cases[i].text)));
}

static void
test_connspec_scrub_hides_password(void **state)
{
    PmError err;
    ConnSpec *spec = connspec_new("host=db password=s3cr3t-pw", NULL, NULL, NULL, NULL, &err);
    char text[128] = "login as app with s3cr3t-pw failed (s3cr3t-pw)";

    (void) state;
    assert_non_null(spec);
    connspec_scrub(spec, text);
    assert_null(strstr(text, "s3cr3t"));
    assert_string_equal(text, "login as app with ******** failed (********)");
    connspec_free(spec);
}

static void
test_connspec_new_rejects_malformed(void **state)
{
    PmError err;

    (void) state;
    assert_null(connspec_new(NULL, "nonsense = = ", NULL, NULL, NULL, &err));
    assert_string_equal(err.message,
                        "invalid connection string in -d: invalid connection option \"nonsense\"");
    assert_null(connspec_new("postgresql://db/app?no_such_param=1", NULL, NULL, NULL, NULL, &err));
    assert_non_null(strstr(err.message, "the target's conninfo"));
    connspec_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pgconn_classify_texts),
        cmocka_unit_test(test_connspec_scrub_hides_password),
        cmocka_unit_test(test_connspec_new_rejects_malformed),
    };

    return cmocka_run_group_tests_name("pg/conn", tests, NULL, NULL);
}
