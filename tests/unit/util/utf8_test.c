/*
 * utf8_test.c - UTF-8 validation, and text written as a policy says (a
 * terminal's, or a renderer's).
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

/*
 * s as pm_utf8_append_escaped() writes it with policy, or as
 * pm_utf8_append_printable() does when policy is NULL (static buffer).
 */
static const char *
escaped(const char *s, size_t max, const Utf8Policy *policy)
{
    static char out[256];
    StrBuf buf = STRBUF_INIT;

    if (policy != NULL)
        pm_utf8_append_escaped(&buf, s, max, policy);
    else
        pm_utf8_append_printable(&buf, s, max);
    assert_true(strbuf_ok(&buf));
    snprintf(out, sizeof(out), "%s", strbuf_str(&buf));
    strbuf_free(&buf);
    return out;
}

static const char *
printable(const char *s, size_t max)
{
    return escaped(s, max, NULL);
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

/* A policy's escape: '<' becomes "&lt;", and every character it sees is counted. */
static int n_escape_calls;

static bool
escape_lt(StrBuf *out, unsigned char c)
{
    n_escape_calls++;
    if (c != '<')
        return false;
    strbuf_append(out, "&lt;");
    return true;
}

static void
test_pm_utf8_append_escaped_invalid_and_nonchars(void **state)
{
    const Utf8Policy plain = {.invalid = "\xEF\xBF\xBD"};
    const Utf8Policy strict = {.invalid = "?", .refuse_nonchars = true};

    (void) state;
    /* Each invalid byte becomes the policy's text. */
    assert_string_equal(escaped("a\xff\xfe", 0, &plain), "a\xEF\xBF\xBD\xEF\xBF\xBD");
    /* U+FFFE and U+FFFF are valid UTF-8, kept unless the policy refuses them (byte by byte). */
    assert_string_equal(escaped("\xef\xbf\xbe\xef\xbf\xbf", 0, &plain),
                        "\xef\xbf\xbe\xef\xbf\xbf");
    assert_string_equal(escaped("\xef\xbf\xbe.\xef\xbf\xbf", 0, &strict), "???.???");
    /* U+FFFD itself is a character like any other. */
    assert_string_equal(escaped("\xef\xbf\xbd", 0, &strict), "\xef\xbf\xbd");
    /* Controls become spaces whatever the policy. */
    assert_string_equal(escaped("a\x1b\x7f\xc2\x9b", 0, &strict), "a   ");
}

static void
test_pm_utf8_append_escaped_cut_mark(void **state)
{
    const Utf8Policy marked = {.invalid = "?", .cut_mark = "..."};

    (void) state;
    assert_string_equal(escaped("abcdef", 3, &marked), "abc...");
    assert_string_equal(escaped("abc", 3, &marked), "abc"); /* nothing cut, no mark */
    /* "é" does not fit in 4 bytes after "abc": cut before it, whole. */
    assert_string_equal(escaped("abc\xc3\xa9", 4, &marked), "abc...");
    assert_string_equal(escaped(NULL, 3, &marked), "");
}

static void
test_pm_utf8_append_escaped_calls_escape_for_printable_ascii(void **state)
{
    const Utf8Policy xmlish = {.invalid = "?", .cut_mark = "...", .escape = escape_lt};

    (void) state;
    n_escape_calls = 0;
    /* Only 'a', '<' and 'b' reach the escape: not the control, not "é", not the bad byte. */
    assert_string_equal(escaped("a<\x01\xc3\xa9\xff"
                                "b",
                                0, &xmlish),
                        "a&lt; \xc3\xa9?b");
    assert_int_equal(n_escape_calls, 3);
    /* The cut counts s's bytes, not what the escape wrote. */
    assert_string_equal(escaped("<<<<", 2, &xmlish), "&lt;&lt;...");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pm_utf8_len_valid_and_invalid),
        cmocka_unit_test(test_pm_utf8_append_printable_cleans_controls),
        cmocka_unit_test(test_pm_utf8_append_printable_cuts_whole_characters),
        cmocka_unit_test(test_pm_utf8_append_escaped_invalid_and_nonchars),
        cmocka_unit_test(test_pm_utf8_append_escaped_cut_mark),
        cmocka_unit_test(test_pm_utf8_append_escaped_calls_escape_for_printable_ascii),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
