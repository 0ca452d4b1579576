/*
 * utf8_test.c - UTF-8 validation and text made safe for a terminal.
 */
#include "unit.h"
#include "util/strbuf.h"
#include "util/utf8.h"

static void
test_pm_utf8_len_valid_and_invalid(void **state)
{
    (void) state;
    assert_int_equal(pm_utf8_len((const unsigned char *) "a"), 1);
    assert_int_equal(pm_utf8_len((const unsigned char *) "\xc3\xa9"), 2);
    assert_int_equal(pm_utf8_len((const unsigned char *) "\xe2\x82\xac"), 3);
    assert_int_equal(pm_utf8_len((const unsigned char *) "\xf0\x9f\x98\x80"), 4);
    assert_int_equal(pm_utf8_len((const unsigned char *) "\xff"), 0);
    assert_int_equal(pm_utf8_len((const unsigned char *) "\x80"), 0);         /* continuation */
    assert_int_equal(pm_utf8_len((const unsigned char *) "\xc0\xaf"), 0);     /* overlong */
    assert_int_equal(pm_utf8_len((const unsigned char *) "\xed\xa0\x80"), 0); /* surrogate */
    assert_int_equal(pm_utf8_len((const unsigned char *) "\xe2\x82"), 0);     /* truncated */
}

/* pm_utf8_append_printable(s, max) as a string (static buffer). */
static const char *
printable(const char *s, size_t max)
{
    static char out[256];
    StrBuf buf = STRBUF_INIT;

    pm_utf8_append_printable(&buf, s, max);
    assert_true(strbuf_ok(&buf));
    snprintf(out, sizeof(out), "%s", strbuf_str(&buf));
    strbuf_free(&buf);
    return out;
}

static void
test_pm_utf8_append_printable_cleans_controls(void **state)
{
    (void) state;
    /* ESC, BEL, newline, tab, CR, DEL and a C1 control (U+009B, CSI) become spaces. */
    assert_string_equal(printable("a\x1b]0;x\x07 b\nc\td\re\x7f"
                                  "f\xc2\x9bg",
                                  0),
                        "a ]0;x  b c d e f g");
    /* Invalid UTF-8 becomes '?', one per byte; valid characters stay. */
    assert_string_equal(printable("caf\xc3\xa9 \xff\xfe ok", 0), "caf\xc3\xa9 ?? ok");
    /* Quotes, backslashes and the rest of printable ASCII are left alone. */
    assert_string_equal(printable("we'ird;\"$$\\", 0), "we'ird;\"$$\\");
    assert_string_equal(printable(NULL, 0), "");
}

static void
test_pm_utf8_append_printable_cuts_whole_characters(void **state)
{
    (void) state;
    assert_string_equal(printable("abcdef", 3), "abc");
    /* "é" is two bytes: at 4 bytes it does not fit after "abc". */
    assert_string_equal(printable("abc\xc3\xa9", 4), "abc");
    assert_string_equal(printable("abc\xc3\xa9", 5), "abc\xc3\xa9");
    /* An invalid byte counts as one. */
    assert_string_equal(printable("\xff\xff\xff", 2), "??");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pm_utf8_len_valid_and_invalid),
        cmocka_unit_test(test_pm_utf8_append_printable_cleans_controls),
        cmocka_unit_test(test_pm_utf8_append_printable_cuts_whole_characters),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
