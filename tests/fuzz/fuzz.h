/*
 * fuzz.h - what the fuzz targets share.
 *
 * Each tests/fuzz/NAME_fuzz.c defines LLVMFuzzerTestOneInput() and is built
 * two ways:
 *   - `make fuzz`: clang -fsanitize=fuzzer,address,undefined, libFuzzer's
 *     main(), into build-fuzz/fuzz/NAME_fuzz (tests/fuzz/run.sh runs them);
 *   - `make check`: tests/unit/fuzz/NAME_regress_test.c #includes the target
 *     and feeds it every file of tests/fuzz/corpus/NAME/ and
 *     tests/fuzz/regress/NAME/ (gcc, plain and ASan+UBSan).
 * So a target compiles under the project's warnings (-Werror), keeps no
 * state between inputs but what it sets up once, frees everything it
 * allocates, and reports a broken property with FUZZ_CHECK (abort()).
 */
#ifndef PGMEDIC_TESTS_FUZZ_H
#define PGMEDIC_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property every input must keep: abort() names it (libFuzzer keeps the input). */
#define FUZZ_CHECK(cond)                                                                           \
    do                                                                                             \
    {                                                                                              \
        if (!(cond))                                                                               \
        {                                                                                          \
            fprintf(stderr, "%s:%d: property does not hold: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A property that does not hold, said in words. */
#define FUZZ_FAIL(what)                                                                            \
    do                                                                                             \
    {                                                                                              \
        fprintf(stderr, "%s:%d: property does not hold: %s\n", __FILE__, __LINE__, what);          \
        abort();                                                                                   \
    } while (0)

/* The input as a NUL-terminated string (it ends at its first NUL byte); never NULL. */
static inline char *
fuzz_string(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    FUZZ_CHECK(s != NULL);
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* True when s holds no control character (an error message is one clean line). */
static inline int
fuzz_one_clean_line(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char) *s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

#endif
