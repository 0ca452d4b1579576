/*
 * action_test.c - what top's K, T and C keys plan for the selected session:
 * the fix action whose re-check applies (a root blocker as
 * terminate-blockers, others by their state), and every refusal of fix's
 * guards (own session, protected applications and roles, superusers,
 * max_terminations), before anything reaches a server.
 */
#include "tui/action.h"
#include "unit.h"

#include "forest.h"

static SafetyRules
rules_default(void)
{
    SafetyRules r;

    memset(&r, 0, sizeof(r));
    r.max_terminations = 50;
    return r;
}

/* Plans and asserts it is allowed; returns the plan. */
static TuiSignalPlan
planned(const Snapshot *snap, int32_t pid, TuiSignal what, const SafetyRules *rules, Arena *arena)
{
    TuiSignalPlan p;

    assert_int_equal(tui_plan_signal(snap, pid, what, rules, arena, &p), 0);
    if (p.refused != NULL)
        fail_msg("pid %d: refused: %s", (int) pid, p.refused);
    assert_int_equal(p.plan.n_items, 1);
    assert_int_equal(p.plan.n_act, 1);
    assert_null(p.plan.items[0].skip);
    return p;
}

static void
assert_refused(const Snapshot *snap, int32_t pid, TuiSignal what, const SafetyRules *rules,
               Arena *arena, const char *why)
{
    TuiSignalPlan p;

    assert_int_equal(tui_plan_signal(snap, pid, what, rules, arena, &p), 0);
    if (p.refused == NULL)
        fail_msg("pid %d: expected a refusal (%s), got: %s", (int) pid, why, p.description);
    assert_string_equal(p.refused, why);
    assert_int_equal(p.plan.n_items, 0);
}

static void
test_tui_plan_signal_root_blocker(void **state)
{
    Arena *arena = arena_new();
    SafetyRules rules = rules_default();
    Snapshot snap;
    TuiSignalPlan p;

    (void) state;
    forest(&snap);
    /* K on the root: terminate-blockers, re-checked as the same transaction, still blocking. */
    p = planned(&snap, 100, TUI_SIGNAL_TERMINATE, &rules, arena);
    assert_int_equal(p.pid, 100);
    assert_true(p.terminate);
    assert_string_equal(p.audit_action, "terminate-blockers");
    assert_ptr_equal(p.plan.items[0].session, snapshot_session(&snap, 100));
    assert_string_equal(p.plan.items[0].mode, "blocker");
    assert_string_equal(p.plan.items[0].since, "2026-11-29 14:59:00+00");
    assert_int_equal(p.plan.items[0].blocked, 4);
    assert_string_equal(p.description,
                        "terminate pid 100 (root blocker, idle in transaction 1min 00s, "
                        "application \"billing\", user \"app\", blocks 4)");

    /* T on any waiter of the tree plans the same root. */
    p = planned(&snap, 102, TUI_SIGNAL_TERMINATE_ROOT, &rules, arena);
    assert_int_equal(p.pid, 100);
    assert_string_equal(p.audit_action, "terminate-blockers");
    p = planned(&snap, 100, TUI_SIGNAL_TERMINATE_ROOT, &rules, arena);
    assert_int_equal(p.pid, 100);
    p = planned(&snap, 201, TUI_SIGNAL_TERMINATE_ROOT, &rules, arena);
    assert_int_equal(p.pid, 200);
    assert_string_equal(p.plan.items[0].mode, "blocker");

    /* No listed root: nothing to do. */
    assert_refused(&snap, 500, TUI_SIGNAL_TERMINATE_ROOT, &rules, arena,
                   "pid 500 is in no lock tree whose root is listed");
    assert_refused(&snap, 301, TUI_SIGNAL_TERMINATE_ROOT, &rules, arena,
                   "pid 301 is in no lock tree whose root is listed");
    assert_refused(&snap, 401, TUI_SIGNAL_TERMINATE_ROOT, &rules, arena,
                   "pid 401 is in no lock tree whose root is listed");

    /* C on an active root cancels its query (re-checked as the same query). */
    p = planned(&snap, 200, TUI_SIGNAL_CANCEL, &rules, arena);
    assert_false(p.terminate);
    assert_string_equal(p.audit_action, "cancel-session");
    assert_string_equal(p.plan.items[0].mode, "active");
    arena_free(arena);
}

static void
test_tui_plan_signal_by_state(void **state)
{
    Arena *arena = arena_new();
    SafetyRules rules = rules_default();
    Snapshot snap;
    TuiSignalPlan p;

    (void) state;
    forest(&snap);
    p = planned(&snap, 101, TUI_SIGNAL_CANCEL, &rules, arena);
    assert_string_equal(p.audit_action, "cancel-session");
    assert_string_equal(p.plan.items[0].mode, "active");
    assert_string_equal(p.plan.items[0].since, "2026-11-29 14:59:00+00");
    assert_true(p.plan.items[0].age_s == 50.0); /* still running the query it ran then */
    assert_string_equal(p.description, "cancel the query of pid 101 (active 50.0s, application "
                                       "\"api\", user \"app\", blocks 2)");

    p = planned(&snap, 101, TUI_SIGNAL_TERMINATE, &rules, arena);
    assert_true(p.terminate);
    assert_string_equal(p.audit_action, "terminate-session"); /* a waiter, not a root */
    assert_string_equal(p.plan.items[0].mode, "active");

    p = planned(&snap, 500, TUI_SIGNAL_TERMINATE, &rules, arena);
    assert_string_equal(p.plan.items[0].mode, "idle");
    assert_true(p.plan.items[0].age_s == 3600.0); /* idle since, unchanged */
    p = planned(&snap, 501, TUI_SIGNAL_TERMINATE, &rules, arena);
    assert_string_equal(p.plan.items[0].mode, "idle_in_transaction");

    assert_refused(&snap, 500, TUI_SIGNAL_CANCEL, &rules, arena,
                   "pid 500 is idle: it runs no query to cancel (K terminates the session)");
    assert_refused(&snap, 100, TUI_SIGNAL_CANCEL, &rules, arena,
                   "pid 100 is idle in transaction: it runs no query to cancel (K terminates "
                   "the session)");
    forest_sessions[10].state = "fastpath function call";
    assert_refused(&snap, 500, TUI_SIGNAL_TERMINATE, &rules, arena,
                   "pid 500 is in state \"fastpath function call\", which the re-check before "
                   "signalling cannot verify");
    assert_refused(&snap, 0, TUI_SIGNAL_TERMINATE, &rules, arena, "no session selected");
    assert_refused(&snap, 12345, TUI_SIGNAL_TERMINATE, &rules, arena, "no session selected");
    arena_free(arena);
}

static void
test_tui_plan_signal_guards(void **state)
{
    Arena *arena = arena_new();
    SafetyRules rules = rules_default();
    Snapshot snap;

    (void) state;
    forest(&snap);
    rules.protect_applications = "etl, idle-app";
    assert_refused(&snap, 500, TUI_SIGNAL_TERMINATE, &rules, arena,
                   "pid 500 is left alone: protected application \"idle-app\" "
                   "(safety.protect_applications)");
    /* A protected root is refused from any waiter of its tree too. */
    assert_refused(&snap, 201, TUI_SIGNAL_TERMINATE_ROOT, &rules, arena,
                   "pid 200 is left alone: protected application \"etl\" "
                   "(safety.protect_applications)");
    rules = rules_default();
    rules.protect_roles = "app";
    assert_refused(&snap, 100, TUI_SIGNAL_TERMINATE, &rules, arena,
                   "pid 100 is left alone: protected role \"app\" (safety.protect_roles)");

    rules = rules_default();
    forest_sessions[0].is_superuser = true;
    assert_refused(&snap, 102, TUI_SIGNAL_TERMINATE_ROOT, &rules, arena,
                   "pid 100 is left alone: a superuser's session, and pgmedic is not a superuser");
    rules.may_signal_superuser = true;
    (void) planned(&snap, 102, TUI_SIGNAL_TERMINATE_ROOT, &rules, arena);

    snap.own_pid = 500;
    assert_refused(&snap, 500, TUI_SIGNAL_TERMINATE, &rules, arena,
                   "pid 500 is left alone: pgmedic's own session");
    rules.max_terminations = 0;
    assert_refused(&snap, 501, TUI_SIGNAL_TERMINATE, &rules, arena,
                   "[safety] max_terminations is 0: nothing may be signalled");
    arena_free(arena);
}

static void
test_tui_plan_signal_fixtures(void **state)
{
    Arena *arena = arena_new();
    SafetyRules rules = rules_default();
    Snapshot snap;

    (void) state;
    /* Without xact_start the root cannot be re-checked as the same transaction. */
    unit_load_snapshot("snapshots/slow_lock_waiter.json", arena, &snap);
    assert_refused(&snap, 4244, TUI_SIGNAL_TERMINATE_ROOT, &rules, arena,
                   "pid 4245 cannot be re-checked before signalling: its xact_start is not in "
                   "the snapshot");
    assert_refused(&snap, 4244, TUI_SIGNAL_CANCEL, &rules, arena,
                   "pid 4244 cannot be re-checked before signalling: its query_start is not in "
                   "the snapshot");
    unit_load_snapshot("snapshots/server_down.json", arena, &snap);
    assert_refused(&snap, 4244, TUI_SIGNAL_TERMINATE, &rules, arena,
                   "the server cannot be reached");
    arena_free(arena);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tui_plan_signal_root_blocker),
        cmocka_unit_test(test_tui_plan_signal_by_state),
        cmocka_unit_test(test_tui_plan_signal_guards),
        cmocka_unit_test(test_tui_plan_signal_fixtures),
    };

    return cmocka_run_group_tests_name("tui/action", tests, NULL, NULL);
}
