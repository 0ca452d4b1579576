/*
 * arena_test.c - the arena: zeroed allocations, strings, growing arrays.
 */
#include "unit.h"
#include "util/arena.h"

static void
test_arena_grow_keeps_items_and_doubles(void **state)
{
    Arena *arena = arena_new();
    int *items = NULL, *again;
    size_t cap = 0, n;

    (void) state;
    assert_non_null(arena);
    for (n = 0; n < 100; n++)
    {
        int *grown = arena_grow(arena, items, n, &cap, sizeof(int), 4);

        assert_non_null(grown);
        items = grown;
        items[n] = (int) n * 3;
    }
    assert_int_equal(cap, 128); /* 4, 8, ..., 128 */
    for (n = 0; n < 100; n++)
        assert_int_equal(items[n], (int) n * 3);
    /* With room left, the same array comes back untouched. */
    again = arena_grow(arena, items, 100, &cap, sizeof(int), 4);
    assert_ptr_equal(again, items);
    assert_int_equal(cap, 128);
    arena_free(arena);
}

static void
test_arena_strings_and_zeroing(void **state)
{
    Arena *arena = arena_new();
    unsigned char *block;
    size_t i;

    (void) state;
    assert_non_null(arena);
    assert_string_equal(arena_strndup(arena, "abcdef", 3), "abc");
    assert_null(arena_strdup(arena, NULL));
    block = arena_alloc(arena, 100000); /* larger than a block: its own */
    assert_non_null(block);
    for (i = 0; i < 100000; i++)
        assert_int_equal(block[i], 0);
    assert_null(arena_array(arena, SIZE_MAX / 2, 4)); /* overflow is refused */
    assert_true(arena_used(arena) >= 100000);
    arena_free(arena);
    arena_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_grow_keeps_items_and_doubles),
        cmocka_unit_test(test_arena_strings_and_zeroing),
    };

    return cmocka_run_group_tests_name("util/arena", tests, NULL, NULL);
}
