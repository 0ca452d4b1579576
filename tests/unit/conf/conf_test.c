/*
 * conf_test.c - defaults, the INI file with file:line errors, and --set.
 */
#include <unistd.h>

#include "conf/conf.h"
#include "unit.h"

static char *
write_temp(const char *text)
{
    char *path = strdup("/tmp/pgmedic-conf-XXXXXX");
    int fd = mkstemp(path);
    size_t len = strlen(text);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t) len);
    close(fd);
    return path;
}

static void
test_conf_init_defaults_are_the_runbooks(void **state)
{
    Config conf;

    (void) state;
    conf_init(&conf);
    assert_true(conf.thresholds.connections_warning > 0.799 &&
                conf.thresholds.connections_warning < 0.801);
    assert_true(conf.thresholds.connections_critical > 0.899);
    assert_int_equal(conf.thresholds.slow_query_warning_ms, 5000);
    assert_int_equal(conf.thresholds.slow_query_critical_ms, 300000);
    assert_int_equal(conf.thresholds.idle_connection_ms, 3600000);
    assert_int_equal(conf.connect_timeout_ms, 5000);
    assert_int_equal(conf.safety.max_terminations, 50);
    assert_string_equal(conf.listen, "127.0.0.1:9188");
    conf_free(&conf);
}

static void
test_conf_load_targets_and_sections(void **state)
{
    Config conf;
    PmError err;
    const Target *t;
    char *path = write_temp("[pgmedic]\nconnect_timeout = 2s ; inline comment\n"
                            "[thresholds]\nslow_query_warning = 1s\nconnections_warning = 50%\n"
                            "[target pivotal_flow]\nconninfo = host=db dbname=pf user=pgmedic\n"
                            "restart_timeout = 90s\n[target other]\nconninfo = dbname=x\n");

    (void) state;
    conf_init(&conf);
    assert_int_equal(conf_load(&conf, path, &err), 0);
    assert_int_equal(conf.connect_timeout_ms, 2000);
    assert_int_equal(conf.thresholds.slow_query_warning_ms, 1000);
    assert_int_equal(conf.n_targets, 2);
    t = conf_target(&conf, "pivotal_flow");
    assert_non_null(t);
    assert_string_equal(t->conninfo, "host=db dbname=pf user=pgmedic");
    assert_int_equal(t->restart_timeout_ms, 90000);
    assert_int_equal(conf_target(&conf, "other")->restart_timeout_ms, 60000);
    assert_null(conf_target(&conf, "missing"));
    conf_free(&conf);
    unlink(path);
    free(path);
}

static void
test_conf_load_errors_name_file_and_line(void **state)
{
    static const struct
    {
        const char *text;
        const char *suffix; /* after "PATH:" */
    } cases[] = {
        {"[thresholds]\nbogus = 1\n", "2: unrecognized key \"bogus\" in section \"thresholds\""},
        {"[thresholds]\nslow_query_warning = 5parsecs\n",
         "2: invalid duration \"5parsecs\" for \"slow_query_warning\""},
        {"[pgmedic]\nthis line has no equals sign\n", "2: syntax error"},
        {"[nowhere]\nx = 1\n", "2: unrecognized section \"nowhere\""},
        {"[target]\nconninfo = x\n", "2: unrecognized section \"target\""},
        {"\n\n[safety]\nmax_terminations = 0\n",
         "4: value \"0\" for \"max_terminations\" is out of range"},
        {"[pgmedic]\nconnect_timeout = 10ms\n",
         "2: duration \"10ms\" for \"connect_timeout\" is out of range"},
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        Config conf;
        PmError err;
        char *path = write_temp(cases[i].text);
        char expected[512];

        snprintf(expected, sizeof(expected), "%s:%s", path, cases[i].suffix);
        conf_init(&conf);
        assert_int_equal(conf_load(&conf, path, &err), -1);
        if (strcmp(err.message, expected) != 0)
            fail_msg("case %zu: got \"%s\", expected \"%s\"", i, err.message, expected);
        conf_free(&conf);
        unlink(path);
        free(path);
    }
}

static void
test_conf_load_missing_file(void **state)
{
    Config conf;
    PmError err;

    char dir[] = "/tmp/pgmedic-conf-dir-XXXXXX", path[64], expected[160];

    (void) state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/missing/pgmedic.ini", dir);
    snprintf(expected, sizeof(expected),
             "could not open configuration file \"%s\": No such file or directory", path);
    conf_init(&conf);
    assert_int_equal(conf_load(&conf, path, &err), -1);
    assert_string_equal(err.message, expected);
    conf_free(&conf);
    rmdir(dir);
}

static void
test_conf_set(void **state)
{
    Config conf;
    PmError err;

    (void) state;
    conf_init(&conf);
    assert_int_equal(conf_set(&conf, "slow_query_warning=1s", &err), 0);
    assert_int_equal(conf.thresholds.slow_query_warning_ms, 1000);
    assert_int_equal(conf_set(&conf, "thresholds.connections_critical=95%", &err), 0);
    assert_true(conf.thresholds.connections_critical > 0.949);
    assert_int_equal(conf_set(&conf, "protect_roles=admin,replicator", &err), 0);
    assert_string_equal(conf.safety.protect_roles, "admin,replicator");
    assert_int_equal(conf_set(&conf, "bogus=1", &err), -1);
    assert_string_equal(err.message, "unrecognized configuration key \"bogus\"");
    assert_int_equal(conf_set(&conf, "safety.slow_query_warning=1s", &err), -1);
    assert_int_equal(conf_set(&conf, "novalue", &err), -1);
    assert_string_equal(err.message, "invalid setting \"novalue\"");
    assert_int_equal(conf_set(&conf, "=1", &err), -1);
    conf_free(&conf);
}

/* [escalation] (runbook §11-12): defaults, the file, --set, and a bad value. */
static void
test_conf_escalation_section(void **state)
{
    Config conf;
    PmError err;
    char *path = write_temp("[escalation]\ncontacts = DBA: dba@example.com; DevOps: #ops\n"
                            "command = /usr/local/bin/page-oncall --team db\n"
                            "escalate_after = 30min\nrestart_wait = 0\nverify_window = 90s\n");
    char *bad = write_temp("[escalation]\n\nescalate_after = soon\n");
    char expected[512];

    (void) state;
    conf_init(&conf);
    assert_string_equal(conf.escalation.contacts, "");
    assert_string_equal(conf.escalation.command, "");
    assert_int_equal(conf.escalation.escalate_after_ms, 3600000);
    assert_int_equal(conf.escalation.restart_wait_ms, 120000);
    assert_int_equal(conf.escalation.verify_window_ms, 300000);
    assert_int_equal(conf_load(&conf, path, &err), 0);
    assert_string_equal(conf.escalation.contacts, "DBA: dba@example.com; DevOps: #ops");
    assert_string_equal(conf.escalation.command, "/usr/local/bin/page-oncall --team db");
    assert_int_equal(conf.escalation.escalate_after_ms, 1800000);
    assert_int_equal(conf.escalation.restart_wait_ms, 0);
    assert_int_equal(conf.escalation.verify_window_ms, 90000);
    assert_int_equal(conf_set(&conf, "escalate_after=1s", &err), 0);
    assert_int_equal(conf.escalation.escalate_after_ms, 1000);
    assert_int_equal(conf_set(&conf, "escalation.command=true", &err), 0);
    assert_string_equal(conf.escalation.command, "true");
    conf_free(&conf);

    conf_init(&conf);
    snprintf(expected, sizeof(expected), "%s:3: invalid duration \"soon\" for \"escalate_after\"",
             bad);
    assert_int_equal(conf_load(&conf, bad, &err), -1);
    assert_string_equal(err.message, expected);
    conf_free(&conf);
    unlink(path);
    unlink(bad);
    free(path);
    free(bad);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_init_defaults_are_the_runbooks),
        cmocka_unit_test(test_conf_load_targets_and_sections),
        cmocka_unit_test(test_conf_load_errors_name_file_and_line),
        cmocka_unit_test(test_conf_load_missing_file),
        cmocka_unit_test(test_conf_set),
        cmocka_unit_test(test_conf_escalation_section),
    };

    return cmocka_run_group_tests_name("conf/conf", tests, NULL, NULL);
}
