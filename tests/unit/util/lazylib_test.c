/*
 * lazylib_test.c - loading a library on first use: a real one (libm), and
 * one that is missing, whose functions then all return 0.  The generated
 * stubs in front of lazylib_resolve are exercised by the integration tests
 * (OpenSSL: security_test's SCRAM and TLS tests; GnuTLS: serve over TLS).
 */
#include <string.h>

#include "unit.h"
#include "util/lazylib.h"

static int hook_calls;

static void
count_hook(void *handle)
{
    assert_non_null(handle);
    hook_calls++;
}

static void
test_lazylib_loads_once(void **state)
{
    static const char *const names[] = {"cos", "floor", NULL};
    static void *slots[2];
    static LazyLib lib = LAZYLIB_INIT("libm.so.6", "a test", names, slots, count_hook);
    double (*fn)(double);
    void *sym;

    (void) state;
    hook_calls = 0;
    assert_false(lazylib_is_loaded(&lib));
    assert_null(slots[0]);
    sym = lazylib_resolve(&lib, 1);
    assert_non_null(sym);
    memcpy(&fn, &sym, sizeof(sym));
    assert_true(fn(2.5) == 2.0);
    assert_true(lazylib_is_loaded(&lib));
    /* Every slot is filled at once, and the hook ran once. */
    assert_non_null(slots[0]);
    sym = lazylib_resolve(&lib, 0);
    memcpy(&fn, &sym, sizeof(sym));
    assert_true(fn(0.0) == 1.0);
    assert_int_equal(hook_calls, 1);
}

static void
test_lazylib_missing_returns_zero(void **state)
{
    static const char *const names[] = {"pgmedic_absent_fn", NULL};
    static void *slots[1];
    static LazyLib lib =
        LAZYLIB_INIT("libpgmedic-absent.so.0", "a test", names, slots, count_hook);
    long (*fn)(void);
    void *sym;

    (void) state;
    hook_calls = 0;
    sym = lazylib_resolve(&lib, 0);
    assert_non_null(sym);
    memcpy(&fn, &sym, sizeof(sym));
    assert_int_equal(fn(), 0);
    assert_false(lazylib_is_loaded(&lib));
    assert_int_equal(hook_calls, 0);
    /* Asked again, it does not try again. */
    assert_ptr_equal(lazylib_resolve(&lib, 0), sym);
}

static void
test_lazylib_missing_function_returns_zero(void **state)
{
    static const char *const names[] = {"cos", "pgmedic_absent_fn", NULL};
    static void *slots[2];
    static LazyLib lib = LAZYLIB_INIT("libm.so.6", "a test", names, slots, NULL);
    long (*fn)(void);
    void *sym;

    (void) state;
    sym = lazylib_resolve(&lib, 1);
    memcpy(&fn, &sym, sizeof(sym));
    assert_int_equal(fn(), 0);
    assert_true(lazylib_is_loaded(&lib));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lazylib_loads_once),
        cmocka_unit_test(test_lazylib_missing_returns_zero),
        cmocka_unit_test(test_lazylib_missing_function_returns_zero),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
