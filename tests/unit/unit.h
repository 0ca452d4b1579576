/*
 * unit.h - what the cmocka unit tests share: fixture paths and file loading.
 */
#ifndef PGMEDIC_TESTS_UNIT_H
#define PGMEDIC_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "core/snapshot_json.h"

/* Path of a file under tests/fixtures, from PGMEDIC_SRCDIR (default "."). */
static inline void
unit_fixture_path(const char *name, char *buf, size_t size)
{
    const char *root = getenv("PGMEDIC_SRCDIR");

    snprintf(buf, size, "%s/tests/fixtures/%s", root ? root : ".", name);
}

/* Reads a fixture into a malloc'ed NUL-terminated buffer; fails the test if absent. */
static inline char *
unit_read_fixture(const char *name, size_t *len)
{
    char path[1024];
    FILE *f;
    char *buf;
    long size;

    unit_fixture_path(name, path, sizeof(path));
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open fixture %s", path);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t) size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t) size, f), (size_t) size);
    buf[size] = '\0';
    fclose(f);
    if (len)
        *len = (size_t) size;
    return buf;
}

/* The runbook's thresholds, as the configuration's key table defines them. */
static inline Thresholds
unit_default_thresholds(void)
{
    Config conf;
    Thresholds th;

    conf_init(&conf);
    th = conf.thresholds;
    conf_free(&conf);
    return th;
}

/* Reads a fixture snapshot into arena; fails the test when it does not parse. */
static inline void
unit_load_snapshot(const char *fixture, Arena *arena, Snapshot *snap)
{
    size_t len;
    char *text = unit_read_fixture(fixture, &len);
    PmError err;

    if (snapshot_json_read(text, len, fixture, arena, snap, &err) != 0)
        fail_msg("%s: %s", fixture, err.message);
    free(text);
}

#endif
