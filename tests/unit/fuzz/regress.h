/*
 * regress.h - replays a fuzz target's inputs under `make check`.
 *
 * A tests/unit/fuzz/NAME_regress_test.c #includes tests/fuzz/NAME_fuzz.c
 * (its LLVMFuzzerTestOneInput) and this file, and says REGRESS_MAIN("NAME").
 * Its tests feed every file of tests/fuzz/corpus/NAME/ (the seeds) and of
 * tests/fuzz/regress/NAME/ (inputs that once crashed or broke a property)
 * to the target, in name order, one call each.  A target reports a broken
 * property with abort(), and a crash is a failing test binary either way;
 * under the ASan build a leak fails it at exit.
 */
#ifndef PGMEDIC_TESTS_UNIT_FUZZ_REGRESS_H
#define PGMEDIC_TESTS_UNIT_FUZZ_REGRESS_H

#include <dirent.h>
#include <sys/stat.h>

#include "unit.h"

static int
regress_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Replays every file of tests/fuzz/KIND/TARGET; returns how many (0 when no directory). */
static size_t
regress_replay(const char *kind, const char *target)
{
    const char *root = getenv("PGMEDIC_SRCDIR");
    char dir[1024];
    char **names = NULL;
    size_t n = 0, cap = 0, i, replayed = 0;
    struct dirent *e;
    DIR *d;

    snprintf(dir, sizeof(dir), "%s/tests/fuzz/%s/%s", root ? root : ".", kind, target);
    d = opendir(dir);
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL)
    {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap)
        {
            cap = cap ? cap * 2 : 64;
            names = realloc(names, cap * sizeof(char *));
            assert_non_null(names);
        }
        names[n] = strdup(e->d_name);
        assert_non_null(names[n]);
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(char *), regress_name_cmp);
    for (i = 0; i < n; i++)
    {
        char path[2048];
        struct stat st;
        uint8_t *data;
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        f = fopen(path, "rb");
        if (f == NULL)
            fail_msg("cannot open %s", path);
        /* Exactly the file's bytes, at the start of an allocation of that size (ASan). */
        data = malloc(st.st_size > 0 ? (size_t) st.st_size : 1);
        assert_non_null(data);
        assert_int_equal(fread(data, 1, (size_t) st.st_size, f), (size_t) st.st_size);
        fclose(f);
        (void) LLVMFuzzerTestOneInput(data, (size_t) st.st_size);
        free(data);
        replayed++;
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return replayed;
}

static const char *regress_target;

static void
test_regress_corpus(void **state)
{
    size_t n;

    (void) state;
    n = regress_replay("corpus", regress_target);
    if (n == 0)
        fail_msg("no seed inputs in tests/fuzz/corpus/%s", regress_target);
    print_message("replayed %zu seed inputs of %s\n", n, regress_target);
}

static void
test_regress_crashes(void **state)
{
    size_t n;

    (void) state;
    n = regress_replay("regress", regress_target);
    print_message("replayed %zu regression inputs of %s\n", n, regress_target);
}

#define REGRESS_MAIN(target)                                                                       \
    int main(void)                                                                                 \
    {                                                                                              \
        const struct CMUnitTest tests[] = {                                                        \
            cmocka_unit_test(test_regress_corpus),                                                 \
            cmocka_unit_test(test_regress_crashes),                                                \
        };                                                                                         \
                                                                                                   \
        regress_target = target;                                                                   \
        return cmocka_run_group_tests(tests, NULL, NULL);                                          \
    }

#endif
