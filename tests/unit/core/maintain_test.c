/*
 * maintain_test.c - the maintenance planner on fixtures, table-driven:
 * tests/fixtures/maintain/NAME.json holds candidate tables and indexes as
 * src/pg/maint.c reads them, the expected items in order ("kind:schema.name")
 * and exact checks of each item ("N.FIELD=TEXT", or "N.FIELD~TEXT" for
 * contains) and of the notes.  Then the kinds filter, the estimate, the
 * B-tree size model, and the maintenance window: parsing, what is left of
 * it and when it opens next, across midnight and time zones.
 */
#include <jansson.h>
#include <math.h>

#include "core/maintain.h"
#include "unit.h"

/* --- fixtures --- */

static int64_t
jint(json_t *o, const char *key, int64_t dflt)
{
    json_t *v = json_object_get(o, key);

    return json_is_number(v) ? (int64_t) json_number_value(v) : dflt;
}

static double
jdbl(json_t *o, const char *key, double dflt)
{
    json_t *v = json_object_get(o, key);

    return json_is_number(v) ? json_number_value(v) : dflt;
}

static bool
jbool(json_t *o, const char *key, bool dflt)
{
    json_t *v = json_object_get(o, key);

    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static const char *
jstr(json_t *o, const char *key, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : dflt;
}

/* The runbook's thresholds and the planner's defaults, as cmd/maintain.c sets them. */
static MaintSettings
default_settings(void)
{
    Thresholds th = unit_default_thresholds();
    MaintSettings s;

    memset(&s, 0, sizeof(s));
    s.dead_tuple_ratio = th.dead_tuple_ratio;
    s.stale_statistics_ratio = th.stale_statistics_ratio;
    s.freeze_age_ratio = MAINT_DEFAULT_FREEZE_AGE_RATIO;
    s.index_bloat_ratio = MAINT_DEFAULT_INDEX_BLOAT_RATIO;
    s.rate_bytes_per_s = MAINT_DEFAULT_RATE_BYTES_PER_S;
    return s;
}

/* Reads a fixture's input (the root stays alive: strings point into it). */
static json_t *
load_input(const char *fixture, MaintInput *in, MaintSettings *s, Arena *arena)
{
    char *text = unit_read_fixture(fixture, NULL);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr), *v, *e;
    size_t i;

    free(text);
    if (root == NULL)
        fail_msg("%s:%d: %s", fixture, jerr.line, jerr.text);
    memset(in, 0, sizeof(*in));
    in->block_size = jint(root, "block_size", 8192);
    *s = default_settings();
    v = json_object_get(root, "settings");
    s->dead_tuple_ratio = jdbl(v, "dead_tuple_ratio", s->dead_tuple_ratio);
    s->freeze_age_ratio = jdbl(v, "freeze_age_ratio", s->freeze_age_ratio);
    s->index_bloat_ratio = jdbl(v, "index_bloat_ratio", s->index_bloat_ratio);

    v = json_object_get(root, "tables");
    in->n_tables = json_array_size(v);
    in->tables = arena_array(arena, in->n_tables + 1, sizeof(MaintTable));
    assert_non_null(in->tables);
    json_array_foreach(v, i, e)
    {
        MaintTable *t = &in->tables[i];

        t->oid = (uint32_t) jint(e, "oid", 0);
        t->schema = jstr(e, "schema", "public");
        t->name = jstr(e, "name", "?");
        t->n_live_tup = jint(e, "n_live_tup", 0);
        t->n_dead_tup = jint(e, "n_dead_tup", 0);
        t->n_mod_since_analyze = jint(e, "n_mod_since_analyze", 0);
        t->last_analyze_age_s = jdbl(e, "last_analyze_age_s", -1);
        t->heap_bytes = jint(e, "heap_bytes", 8192);
        t->index_bytes = jint(e, "index_bytes", 0);
        t->xid_age = jint(e, "xid_age", 1000);
        t->mxid_age = jint(e, "mxid_age", 0);
        t->freeze_max_age = jint(e, "freeze_max_age", 200000000);
        t->mxid_freeze_max_age = jint(e, "mxid_freeze_max_age", 400000000);
        t->is_catalog = jbool(e, "is_catalog", false);
        t->may_maintain = jbool(e, "may_maintain", true);
    }
    v = json_object_get(root, "indexes");
    in->n_indexes = json_array_size(v);
    in->indexes = arena_array(arena, in->n_indexes + 1, sizeof(MaintIndex));
    assert_non_null(in->indexes);
    json_array_foreach(v, i, e)
    {
        MaintIndex *ix = &in->indexes[i];

        ix->oid = (uint32_t) jint(e, "oid", 0);
        ix->schema = jstr(e, "schema", "public");
        ix->name = jstr(e, "name", "?");
        ix->table_oid = (uint32_t) jint(e, "table_oid", 0);
        ix->table_schema = jstr(e, "table_schema", "public");
        ix->table_name = jstr(e, "table_name", "?");
        ix->method = jstr(e, "method", "btree");
        ix->is_valid = jbool(e, "is_valid", true);
        ix->is_unique = jbool(e, "is_unique", false);
        ix->building = jbool(e, "building", false);
        ix->size_bytes = jint(e, "size_bytes", 0);
        ix->table_bytes = jint(e, "table_bytes", 0);
        ix->reltuples = jdbl(e, "reltuples", -1);
        ix->key_width = jdbl(e, "key_width", -1);
        ix->fillfactor = (int32_t) jint(e, "fillfactor", 90);
        ix->measured = jbool(e, "measured", false);
        ix->leaf_density = jdbl(e, "leaf_density", -1);
        ix->leaf_pages = jint(e, "leaf_pages", -1);
        ix->internal_pages = jint(e, "internal_pages", 0);
        ix->may_maintain = jbool(e, "may_maintain", true);
    }
    return root;
}

/* One field of an item as text, for the checks. */
static void
field_text(const MaintItem *it, const char *field, char *buf, size_t size)
{
    if (strcmp(field, "why") == 0)
        snprintf(buf, size, "%s", it->why);
    else if (strcmp(field, "work_bytes") == 0)
        snprintf(buf, size, "%lld", (long long) it->work_bytes);
    else if (strcmp(field, "size_bytes") == 0)
        snprintf(buf, size, "%lld", (long long) it->size_bytes);
    else if (strcmp(field, "reclaim_bytes") == 0)
        snprintf(buf, size, "%lld", (long long) it->reclaim_bytes);
    else if (strcmp(field, "freeze") == 0)
        snprintf(buf, size, "%d", it->freeze ? 1 : 0);
    else if (strcmp(field, "analyze") == 0)
        snprintf(buf, size, "%d", it->analyze ? 1 : 0);
    else if (strcmp(field, "measured") == 0)
        snprintf(buf, size, "%d", it->measured ? 1 : 0);
    else if (strcmp(field, "estimate_s") == 0)
        snprintf(buf, size, "%.3f", it->estimate_s);
    else if (strcmp(field, "table") == 0)
        snprintf(buf, size, "%s.%s", it->table_schema, it->table_name);
    else
        fail_msg("unknown check field \"%s\"", field);
}

static void
run_fixture(const char *fixture)
{
    Arena *arena = arena_new();
    MaintInput in;
    MaintSettings s;
    MaintPlan plan;
    json_t *root, *v, *e;
    size_t i;

    assert_non_null(arena);
    root = load_input(fixture, &in, &s, arena);
    assert_int_equal(maintain_plan(&in, &s, arena, &plan), 0);

    v = json_object_get(root, "expect");
    if (plan.n_items != json_array_size(v))
        for (i = 0; i < plan.n_items; i++)
            fprintf(stderr, "  got %zu %s:%s.%s (%s)\n", i, maintain_kind_name(plan.items[i].kind),
                    plan.items[i].schema, plan.items[i].name, plan.items[i].why);
    assert_int_equal(plan.n_items, json_array_size(v));
    json_array_foreach(v, i, e)
    {
        char got[256];

        snprintf(got, sizeof(got), "%s:%s.%s", maintain_kind_name(plan.items[i].kind),
                 plan.items[i].schema, plan.items[i].name);
        assert_string_equal(got, json_string_value(e));
    }

    v = json_object_get(root, "checks");
    json_array_foreach(v, i, e)
    {
        const char *check = json_string_value(e), *dot = strchr(check, '.');
        size_t n = strtoul(check, NULL, 10), flen = strcspn(dot + 1, "=~");
        char field[32], got[1024];
        bool contains = dot[1 + flen] == '~';
        const char *want = dot + 2 + flen;

        assert_true(n < plan.n_items);
        snprintf(field, sizeof(field), "%.*s", (int) flen, dot + 1);
        field_text(&plan.items[n], field, got, sizeof(got));
        if (contains ? strstr(got, want) == NULL : strcmp(got, want) != 0)
            fail_msg("%s: check \"%s\": got \"%s\"", fixture, check, got);
    }

    v = json_object_get(root, "notes");
    if (plan.n_notes != json_array_size(v))
        for (i = 0; i < plan.n_notes; i++)
            fprintf(stderr, "  note %zu: %s\n", i, plan.notes[i]);
    assert_int_equal(plan.n_notes, json_array_size(v));
    json_array_foreach(v, i, e) assert_string_equal(plan.notes[i], json_string_value(e));

    /* The sums are over the items. */
    {
        int64_t work = 0;
        double est = 0;

        for (i = 0; i < plan.n_items; i++)
        {
            work += plan.items[i].work_bytes;
            est += plan.items[i].estimate_s;
            assert_true(plan.items[i].estimate_s >= 0.1);
        }
        assert_int_equal(plan.work_bytes, work);
        assert_true(fabs(plan.estimate_s - est) < 1e-9);
    }
    json_decref(root);
    arena_free(arena);
}

static void
test_maintain_plan_tables(void **state)
{
    (void) state;
    run_fixture("maintain/tables.json");
}

static void
test_maintain_plan_indexes(void **state)
{
    (void) state;
    run_fixture("maintain/indexes.json");
}

static void
test_maintain_plan_mixed_order(void **state)
{
    (void) state;
    run_fixture("maintain/mixed.json");
}

/* --only: a table needing freeze, vacuum and analyze gets what is asked for, and nothing else. */
static void
test_maintain_plan_kinds_filter(void **state)
{
    Arena *arena = arena_new();
    MaintInput in;
    MaintSettings s;
    MaintPlan plan;
    PmError err;
    json_t *root;
    size_t i;

    (void) state;
    root = load_input("maintain/mixed.json", &in, &s, arena);

    assert_int_equal(maintain_kinds_parse("vacuum, analyze", &s.kinds, &err), 0);
    assert_int_equal(maintain_plan(&in, &s, arena, &plan), 0);
    for (i = 0; i < plan.n_items; i++)
    {
        assert_true(plan.items[i].kind == MAINT_VACUUM || plan.items[i].kind == MAINT_ANALYZE);
        assert_false(plan.items[i].freeze);
    }
    /* The table that needed all three is vacuumed (and analyzed), without FREEZE. */
    assert_int_equal(plan.n_items, 3);
    assert_string_equal(plan.items[0].name, "stale");
    assert_int_equal(plan.items[1].kind, MAINT_VACUUM);
    assert_string_equal(plan.items[1].name, "everything");
    assert_true(plan.items[1].analyze);

    assert_int_equal(maintain_kinds_parse("vacuum_freeze", &s.kinds, &err), 0);
    assert_int_equal(maintain_plan(&in, &s, arena, &plan), 0);
    assert_int_equal(plan.n_items, 1);
    assert_int_equal(plan.items[0].kind, MAINT_VACUUM_FREEZE);
    /* FREEZE alone: the vacuum and analyze it also needed were not asked for. */
    assert_false(plan.items[0].analyze);

    assert_int_equal(maintain_kinds_parse("reindex,rebuild_invalid", &s.kinds, &err), 0);
    assert_int_equal(maintain_plan(&in, &s, arena, &plan), 0);
    assert_int_equal(plan.n_items, 2);
    assert_int_equal(plan.items[0].kind, MAINT_REBUILD_INVALID);
    assert_int_equal(plan.items[1].kind, MAINT_REINDEX);
    json_decref(root);
    arena_free(arena);
}

static void
test_maintain_plan_empty(void **state)
{
    Arena *arena = arena_new();
    MaintInput in;
    MaintSettings s = default_settings();
    MaintPlan plan;

    (void) state;
    memset(&in, 0, sizeof(in));
    assert_int_equal(maintain_plan(&in, &s, arena, &plan), 0);
    assert_int_equal(plan.n_items, 0);
    assert_int_equal(plan.n_notes, 0);
    assert_int_equal(plan.work_bytes, 0);
    arena_free(arena);
}

static void
test_maintain_kinds_parse(void **state)
{
    unsigned kinds;
    PmError err;
    int k;

    (void) state;
    for (k = 0; k < MAINT_N_KINDS; k++)
    {
        assert_int_equal(maintain_kind_from_name(maintain_kind_name((MaintKind) k)), k);
        assert_int_equal(maintain_kinds_parse(maintain_kind_name((MaintKind) k), &kinds, &err), 0);
        assert_int_equal(kinds, 1u << k);
    }
    assert_string_equal(maintain_kind_name(MAINT_N_KINDS), "?");
    assert_int_equal(maintain_kind_from_name("vacuum full"), -1);
    assert_int_equal(maintain_kinds_parse("analyze,vacuum_frozen", &kinds, &err), -1);
    assert_string_equal(err.message, "unrecognized kind of work \"vacuum_frozen\"");
    assert_int_equal(maintain_kinds_parse(" , ", &kinds, &err), -1);
    assert_string_equal(err.message, "no kind of work named");
}

static void
test_maintain_estimate_s(void **state)
{
    (void) state;
    /* A fixed 0.1 s, then bytes over the rate; a bad rate falls back to the default. */
    assert_true(fabs(maintain_estimate_s(0, 1e6) - 0.1) < 1e-9);
    assert_true(fabs(maintain_estimate_s(50 * 1024 * 1024, 50.0 * 1024 * 1024) - 1.1) < 1e-9);
    assert_true(fabs(maintain_estimate_s(100 * 1024 * 1024, 0) - 2.1) < 1e-9);
    assert_true(fabs(maintain_estimate_s(-5, 1e6) - 0.1) < 1e-9);
}

/* The B-tree model: leaf entries of header + data, MAXALIGNed, plus a line pointer. */
static void
test_maintain_index_expected_bytes(void **state)
{
    MaintIndex ix;

    (void) state;
    memset(&ix, 0, sizeof(ix));
    ix.method = "btree";
    ix.fillfactor = 90;
    ix.reltuples = 2000000;
    ix.key_width = 4;
    /* int4: 20 bytes an entry, 366 a page: 5465 leaves, 16 above, the metapage. */
    assert_int_equal(maintain_index_expected_bytes(&ix, 8192), (int64_t) 5482 * 8192);
    ix.key_width = 33; /* md5 text: 52 bytes an entry, 141 a page */
    assert_int_equal(maintain_index_expected_bytes(&ix, 8192), (int64_t) (1 + 14185 + 102) * 8192);
    ix.fillfactor = 100;
    ix.key_width = 4;
    assert_int_equal(maintain_index_expected_bytes(&ix, 8192), (int64_t) (1 + 4915 + 14) * 8192);
    ix.reltuples = 0;
    assert_int_equal(maintain_index_expected_bytes(&ix, 8192), 8192);
    /* Unknown: no statistics, not a B-tree, no block size. */
    ix.reltuples = -1;
    assert_int_equal(maintain_index_expected_bytes(&ix, 8192), -1);
    ix.reltuples = 10;
    ix.key_width = -1;
    assert_int_equal(maintain_index_expected_bytes(&ix, 8192), -1);
    ix.key_width = 4;
    ix.method = "gin";
    assert_int_equal(maintain_index_expected_bytes(&ix, 8192), -1);
    ix.method = NULL;
    assert_int_equal(maintain_index_expected_bytes(&ix, 8192), -1);
    ix.method = "btree";
    assert_int_equal(maintain_index_expected_bytes(&ix, 0), -1);
    /* Measured: the leaves' content packed to the fill factor, the upper levels as they are. */
    ix.measured = true;
    ix.fillfactor = 90;
    ix.leaf_pages = 900;
    ix.internal_pages = 3;
    ix.leaf_density = 45.0;
    assert_int_equal(maintain_index_expected_bytes(&ix, 8192), (int64_t) (1 + 3 + 450) * 8192);
    ix.leaf_density = NAN;
    assert_int_equal(maintain_index_expected_bytes(&ix, 8192), -1);
}

static void
test_maintain_format(void **state)
{
    char buf[32];

    (void) state;
    maintain_format_count(0, buf, sizeof(buf));
    assert_string_equal(buf, "0");
    maintain_format_count(1234567, buf, sizeof(buf));
    assert_string_equal(buf, "1,234,567");
    maintain_format_count(-1000, buf, sizeof(buf));
    assert_string_equal(buf, "-1,000");
    maintain_format_bytes(-1, buf, sizeof(buf));
    assert_string_equal(buf, "?");
    maintain_format_bytes(512, buf, sizeof(buf));
    assert_string_equal(buf, "512 bytes");
    maintain_format_bytes(8192, buf, sizeof(buf));
    assert_string_equal(buf, "8 kiB");
    maintain_format_bytes(2306867, buf, sizeof(buf));
    assert_string_equal(buf, "2.2 MiB");
    maintain_format_bytes(3LL * 1024 * 1024 * 1024, buf, sizeof(buf));
    assert_string_equal(buf, "3.0 GiB");
}

/* --- the window --- */

typedef struct
{
    const char *spec;
    unsigned days; /* 0: an error is expected */
    int start_min, end_min;
    const char *text; /* as maintain_window_format writes it, or the error */
} WindowCase;

static const WindowCase window_cases[] = {
    {"Sun 02:00-04:00", 0x01, 120, 240, "Sun 02:00-04:00"},
    {"sunday 2:00-4:00", 0x01, 120, 240, "Sun 02:00-04:00"},
    {"daily 01:00-03:00", 0x7f, 60, 180, "daily 01:00-03:00"},
    {"DAILY 01:00-03:00", 0x7f, 60, 180, "daily 01:00-03:00"},
    {"22:00-23:30", 0x7f, 1320, 1410, "daily 22:00-23:30"},
    {"Mon-Fri 22:00-23:30", 0x3e, 1320, 1410, "Mon,Tue,Wed,Thu,Fri 22:00-23:30"},
    {"Fri-Mon 23:00-01:00", 0x63, 1380, 60, "Sun,Mon,Fri,Sat 23:00-01:00"},
    {"Sat,Sun 23:00-24:00", 0x41, 1380, 1440, "Sun,Sat 23:00-24:00"},
    {"  Wed   00:00-24:00  ", 0x08, 0, 1440, "Wed 00:00-24:00"},
    {"Sun 02:00-02:00", 0, 0, 0,
     "maintenance window \"Sun 02:00-02:00\" is empty: it ends when it starts"},
    {"Sun 24:00-02:00", 0, 0, 0, "invalid maintenance window \"Sun 24:00-02:00\""},
    {"Sun 02:60-04:00", 0, 0, 0, "invalid maintenance window \"Sun 02:60-04:00\""},
    {"Sun 25:00-04:00", 0, 0, 0, "invalid maintenance window \"Sun 25:00-04:00\""},
    {"Sun 2-4", 0, 0, 0, "invalid maintenance window \"Sun 2-4\""},
    {"Sun 02:00", 0, 0, 0, "invalid maintenance window \"Sun 02:00\""},
    {"Sun 02:00-04:00 UTC", 0, 0, 0, "invalid maintenance window \"Sun 02:00-04:00 UTC\""},
    {"Funday 02:00-04:00", 0, 0, 0, "invalid maintenance window \"Funday 02:00-04:00\""},
    {"Su 02:00-04:00", 0, 0, 0, "invalid maintenance window \"Su 02:00-04:00\""},
    {"Mon- 02:00-04:00", 0, 0, 0, "invalid maintenance window \"Mon- 02:00-04:00\""},
    {"", 0, 0, 0, "invalid maintenance window \"\""},
    {"2h", 0, 0, 0, "invalid maintenance window \"2h\""},
};

static void
test_maintain_window_parse(void **state)
{
    size_t i;

    (void) state;
    for (i = 0; i < PM_LENGTHOF(window_cases); i++)
    {
        const WindowCase *c = &window_cases[i];
        MaintWindow w;
        PmError err;
        int rc = maintain_window_parse(c->spec, &w, &err);

        if (c->days == 0)
        {
            if (rc == 0)
                fail_msg("\"%s\" parsed", c->spec);
            assert_string_equal(err.message, c->text);
            continue;
        }
        if (rc != 0)
            fail_msg("\"%s\": %s", c->spec, err.message);
        assert_int_equal(w.days, c->days);
        assert_int_equal(w.start_min, c->start_min);
        assert_int_equal(w.end_min, c->end_min);
        {
            char text[64];
            MaintWindow again;

            maintain_window_format(&w, text, sizeof(text));
            assert_string_equal(text, c->text);
            /* What it prints reads back the same. */
            assert_int_equal(maintain_window_parse(text, &again, &err), 0);
            assert_memory_equal(&again, &w, sizeof(w));
        }
    }
}

/* 2026-11-29 is a Sunday; these are UTC. */
#define SUN_0300 1795921200.0
#define SAT_2330 1795908600.0
#define SUN_0130 1795915800.0

static void
test_maintain_window_remaining(void **state)
{
    MaintWindow w;
    PmError err;

    (void) state;
    assert_int_equal(maintain_window_parse("Sun 02:00-04:00", &w, &err), 0);
    assert_true(fabs(maintain_window_remaining(&w, SUN_0300, 0) - 3600) < 1e-6);
    assert_true(fabs(maintain_window_next_start(&w, SUN_0300, 0)) < 1e-6);
    /* Before it opens, and after it closed: a week later. */
    assert_true(maintain_window_remaining(&w, SUN_0130, 0) == 0);
    assert_true(fabs(maintain_window_next_start(&w, SUN_0130, 0) - 1800) < 1e-6);
    assert_true(maintain_window_remaining(&w, SUN_0300 + 3600, 0) == 0);
    assert_true(fabs(maintain_window_next_start(&w, SUN_0300 + 3600, 0) - (7 * 86400 - 7200)) <
                1e-6);
    /* Local time: at 03:00 UTC it is 04:00 in UTC+1 (closed) and 22:00 in UTC-5 (Saturday). */
    assert_true(maintain_window_remaining(&w, SUN_0300, 3600) == 0);
    assert_true(maintain_window_remaining(&w, SUN_0300, -5 * 3600) == 0);
    assert_true(fabs(maintain_window_next_start(&w, SUN_0300, -5 * 3600) - 4 * 3600) < 1e-6);
    assert_true(fabs(maintain_window_remaining(&w, SUN_0300, -3600) - 7200) < 1e-6);

    /* Across midnight: Saturday 23:00 to Sunday 01:00, seen from both days. */
    assert_int_equal(maintain_window_parse("Sat 23:00-01:00", &w, &err), 0);
    assert_true(fabs(maintain_window_remaining(&w, SAT_2330, 0) - 5400) < 1e-6);
    assert_true(fabs(maintain_window_remaining(&w, SAT_2330 + 3600, 0) - 1800) < 1e-6);
    assert_true(maintain_window_remaining(&w, SUN_0130, 0) == 0);
    /* It starts on Saturday only: Sunday 23:30 is outside. */
    assert_true(maintain_window_remaining(&w, SAT_2330 + 86400, 0) == 0);

    /* Every day; the end of the day is the end of the window. */
    assert_int_equal(maintain_window_parse("daily 00:00-24:00", &w, &err), 0);
    assert_true(fabs(maintain_window_remaining(&w, SUN_0300, 0) - 21 * 3600) < 1e-6);
    assert_int_equal(maintain_window_parse("Mon-Fri 01:00-02:00", &w, &err), 0);
    /* Sunday 03:00: the next opening is Monday 01:00. */
    assert_true(fabs(maintain_window_next_start(&w, SUN_0300, 0) - 22 * 3600) < 1e-6);
    /* Before 1970 (negative times) the weekday still holds: 1969-12-28 was a Sunday. */
    assert_int_equal(maintain_window_parse("Sun 02:00-04:00", &w, &err), 0);
    assert_true(fabs(maintain_window_remaining(&w, -4 * 86400 + 3 * 3600, 0) - 3600) < 1e-6);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_maintain_plan_tables),
        cmocka_unit_test(test_maintain_plan_indexes),
        cmocka_unit_test(test_maintain_plan_mixed_order),
        cmocka_unit_test(test_maintain_plan_kinds_filter),
        cmocka_unit_test(test_maintain_plan_empty),
        cmocka_unit_test(test_maintain_kinds_parse),
        cmocka_unit_test(test_maintain_estimate_s),
        cmocka_unit_test(test_maintain_index_expected_bytes),
        cmocka_unit_test(test_maintain_format),
        cmocka_unit_test(test_maintain_window_parse),
        cmocka_unit_test(test_maintain_window_remaining),
    };

    return cmocka_run_group_tests_name("maintain", tests, NULL, NULL);
}
