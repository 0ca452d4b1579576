/*
 * finding_test.c - shell quoting of action arguments and its inverse.
 */
#include <string.h>

#include "core/finding.h"
#include "unit.h"

static void
test_split_undoes_quote(void **state)
{
    static const char *const names[] = {"billing-worker", "it's", "a b", "$(rm -rf /)", "",
                                        "x'y'z", "naïve", "--evil"};
    Arena *arena = arena_new();
    size_t i;

    (void) state;
    assert_non_null(arena);
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    {
        char action[512];
        const char **argv;
        size_t argc;

        snprintf(action, sizeof(action), "pgmedic fix terminate-idle --application %s --idle-for 1h",
                 finding_shell_quote(arena, names[i]));
        assert_int_equal(finding_split_action(action, arena, &argv, &argc), 0);
        assert_int_equal(argc, 7);
        assert_string_equal(argv[0], "pgmedic");
        assert_string_equal(argv[2], "terminate-idle");
        assert_string_equal(argv[4], names[i]);
        assert_string_equal(argv[6], "1h");
        assert_null(argv[7]);
    }
    arena_free(arena);
}

static void
test_split_refuses_what_a_shell_would_interpret(void **state)
{
    static const char *const bad[] = {"pgmedic fix x; rm -rf /", "pgmedic fix $(id)",
                                      "pgmedic fix 'unterminated", "pgmedic fix a|b",
                                      "pgmedic fix `id`", "pgmedic fix trailing\\"};
    Arena *arena = arena_new();
    const char **argv;
    size_t argc, i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(finding_split_action(bad[i], arena, &argv, &argc), -1);
    assert_int_equal(finding_split_action("   ", arena, &argv, &argc), 0);
    assert_int_equal(argc, 0);
    arena_free(arena);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_undoes_quote),
        cmocka_unit_test(test_split_refuses_what_a_shell_would_interpret),
    };

    return cmocka_run_group_tests_name("core/finding", tests, NULL, NULL);
}
