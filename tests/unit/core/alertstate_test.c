/*
 * alertstate_test.c - inactive -> pending -> firing -> resolved, with `for`.
 */
#include <string.h>

#include "core/alertstate.h"
#include "unit.h"

static AlertList
firing(Alert *a, const char *name, Severity sev, double value)
{
    AlertList list;

    memset(a, 0, sizeof(*a));
    a->name = name;
    a->severity = sev;
    a->value = value;
    a->summary = "the summary";
    list.alerts = a;
    list.n_alerts = 1;
    return list;
}

static void
test_pending_then_firing_after_for(void **state)
{
    const double for_s[ALERT_RULES] = {0, 60, 120};
    AlertTracker t;
    AlertChange ch[ALERT_RULES];
    AlertList none = {NULL, 0}, one;
    Alert a;
    size_t n;
    int i = alertstate_index("DatabaseHighConnections");

    (void) state;
    assert_int_equal(i, 1);
    alerttrack_init(&t);
    one = firing(&a, "DatabaseHighConnections", SEV_WARNING, 0.85);
    n = alerttrack_update(&t, &one, for_s, 1000, ch);
    assert_int_equal(n, 1);
    assert_string_equal(ch[0].name, "DatabaseHighConnections");
    assert_int_equal(ch[0].from, PHASE_INACTIVE);
    assert_int_equal(ch[0].to, PHASE_PENDING);
    assert_int_equal(t.alerts[i].phase, PHASE_PENDING);
    assert_true(t.alerts[i].active_since == 1000);

    /* Still pending 59 s later: no change. */
    n = alerttrack_update(&t, &one, for_s, 1059, ch);
    assert_int_equal(n, 0);
    assert_int_equal(t.alerts[i].phase, PHASE_PENDING);

    /* Held for 60 s: firing. */
    a.severity = SEV_CRITICAL;
    n = alerttrack_update(&t, &one, for_s, 1060, ch);
    assert_int_equal(n, 1);
    assert_int_equal(ch[0].to, PHASE_FIRING);
    assert_int_equal(ch[0].severity, SEV_CRITICAL);
    assert_true(t.alerts[i].fired_at == 1060);
    assert_string_equal(t.alerts[i].summary, "the summary");

    /* Gone: resolved, with its time. */
    n = alerttrack_update(&t, &none, for_s, 1100, ch);
    assert_int_equal(n, 1);
    assert_int_equal(ch[0].from, PHASE_FIRING);
    assert_int_equal(ch[0].to, PHASE_INACTIVE);
    assert_true(t.alerts[i].resolved_at == 1100);
    assert_true(t.alerts[i].fired_at == 0);
    assert_string_equal(alertstate_phase_name(t.alerts[i].phase), "inactive");
}

static void
test_pending_that_clears_never_fires(void **state)
{
    const double for_s[ALERT_RULES] = {0, 60, 120};
    AlertTracker t;
    AlertChange ch[ALERT_RULES];
    AlertList none = {NULL, 0}, one;
    Alert a;
    size_t n;

    (void) state;
    alerttrack_init(&t);
    one = firing(&a, "DatabaseSlowQueries", SEV_WARNING, 7);
    assert_int_equal(alerttrack_update(&t, &one, for_s, 10, ch), 1);
    n = alerttrack_update(&t, &none, for_s, 20, ch);
    assert_int_equal(n, 1);
    assert_int_equal(ch[0].from, PHASE_PENDING);
    assert_int_equal(ch[0].to, PHASE_INACTIVE);
    assert_true(t.alerts[2].resolved_at == 0); /* it never fired */
    /* And it starts over: pending again, its clock reset. */
    assert_int_equal(alerttrack_update(&t, &one, for_s, 30, ch), 1);
    assert_int_equal(alerttrack_update(&t, &one, for_s, 140, ch), 0);
    assert_int_equal(alerttrack_update(&t, &one, for_s, 150, ch), 1);
    assert_int_equal(ch[0].to, PHASE_FIRING);
}

static void
test_zero_for_fires_at_once(void **state)
{
    const double for_s[ALERT_RULES] = {0, 0, 0};
    AlertTracker t;
    AlertChange ch[ALERT_RULES];
    AlertList one;
    Alert a;

    (void) state;
    alerttrack_init(&t);
    one = firing(&a, "DatabaseConnectionFailure", SEV_CRITICAL, 1);
    assert_int_equal(alerttrack_update(&t, &one, for_s, 5, ch), 1);
    assert_int_equal(ch[0].from, PHASE_INACTIVE);
    assert_int_equal(ch[0].to, PHASE_FIRING);
    assert_int_equal(alertstate_index("NoSuchAlert"), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pending_then_firing_after_for),
        cmocka_unit_test(test_pending_that_clears_never_fires),
        cmocka_unit_test(test_zero_for_fires_at_once),
    };

    return cmocka_run_group_tests_name("core/alertstate", tests, NULL, NULL);
}
