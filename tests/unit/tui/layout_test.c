/*
 * layout_test.c - what `pgmedic top` paints, without a terminal: the header
 * (up, down, paused, dry run), the session list (sorting, filters, lock
 * parts), the lock trees (indentation, order, a root missing from the
 * snapshot, a deadlock cycle), triage's findings wrapped to the width, and
 * terminal safety of text from the server.  On the snapshot fixtures, and on
 * a snapshot built here with a deep lock forest.
 */
#include <time.h>

#include "core/diagnose.h"
#include "core/rules.h"
#include "tui/layout.h"
#include "unit.h"
#include "util/utf8.h"

#include "forest.h"

static void
load(const char *fixture, Arena *arena, Snapshot *snap)
{
    char path[64];

    snprintf(path, sizeof(path), "snapshots/%s", fixture);
    unit_load_snapshot(path, arena, snap);
}

static int
utc(void **state)
{
    (void) state;
    /* The header's clock is local time: make it the fixtures' UTC. */
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

/* Code points in s. */
static int
cols(const char *s)
{
    const unsigned char *p = (const unsigned char *) s;
    int n = 0;

    while (*p)
    {
        size_t len = pm_utf8_len(p);

        p += len ? len : 1;
        n++;
    }
    return n;
}

/* Every line fits width and holds no control character. */
static void
assert_clean_lines(const TuiLines *l, int width)
{
    size_t i;

    for (i = 0; i < l->n_lines; i++)
    {
        const unsigned char *p = (const unsigned char *) l->lines[i].text;

        if (cols(l->lines[i].text) > width)
            fail_msg("line %zu is %d columns, more than %d: %s", i, cols(l->lines[i].text), width,
                     l->lines[i].text);
        for (; *p; p++)
            if (*p < 0x20 || *p == 0x7F)
                fail_msg("line %zu has control character 0x%02x: %s", i, *p, l->lines[i].text);
    }
}

/* The line showing pid, or NULL. */
static const TuiLine *
line_of(const TuiLines *l, int32_t pid)
{
    size_t i;

    for (i = 0; i < l->n_lines; i++)
        if (l->lines[i].pid == pid)
            return &l->lines[i];
    return NULL;
}

static void
assert_prefix(const char *text, const char *prefix)
{
    if (text == NULL || strncmp(text, prefix, strlen(prefix)) != 0)
        fail_msg("expected \"%s\" to start with \"%s\"", text ? text : "(null)", prefix);
}

static void
assert_contains(const char *text, const char *needle)
{
    if (text == NULL || strstr(text, needle) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", needle, text ? text : "(null)");
}

static TuiListOptions
list_options(int width)
{
    TuiListOptions o;

    memset(&o, 0, sizeof(o));
    o.width = width;
    return o;
}

/* --- header ------------------------------------------------------------------ */

static void
test_tui_layout_header_up(void **state)
{
    Arena *arena = arena_new();
    Thresholds th = unit_default_thresholds();
    Snapshot snap;
    AlertList alerts;
    TuiHeader h = {.interval_ms = 2000, .width = 160};
    TuiLines l;

    (void) state;
    load("connections_85.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    assert_int_equal(tui_layout_header(&snap, &alerts, &h, arena, &l), 0);
    assert_int_equal(l.n_lines, 3);
    assert_string_equal(l.lines[0].text, "pgmedic top  app@/tmp/sock:5432  PostgreSQL 15.18, up "
                                         "13min 32s  at 15:00:00, every 2s");
    assert_int_equal(l.lines[0].attr, TUI_ATTR_BOLD);
    assert_string_equal(l.lines[1].text,
                        "connections 17/20 usable (85%): 2 active, 15 idle, 0 idle "
                        "in transaction, 0 waiting on a lock");
    assert_int_equal(l.lines[1].attr, TUI_ATTR_WARNING); /* DatabaseHighConnections fires */
    assert_contains(l.lines[2].text, "WARNING   DatabaseHighConnections: 17 of 20 usable");
    assert_int_equal(l.lines[2].attr, TUI_ATTR_WARNING);
    assert_int_equal(l.lines[0].pid, 0);
    assert_clean_lines(&l, 160);

    /* Healthy, paused and a dry run: the marks, and no alert. */
    load("healthy.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    h.paused = true;
    h.dry_run = true;
    h.interval_ms = 500;
    assert_int_equal(tui_layout_header(&snap, &alerts, &h, arena, &l), 0);
    assert_int_equal(l.n_lines, 3);
    assert_contains(l.lines[0].text,
                    "every 500ms  PAUSED (p resumes)  DRY RUN: nothing is signalled");
    assert_string_equal(l.lines[2].text, "OK        no alert firing");
    assert_int_equal(l.lines[2].attr, TUI_ATTR_OK);
    assert_int_equal(l.lines[1].attr, TUI_ATTR_NORMAL);

    /* Narrow: every line is cut to the width. */
    h.width = 30;
    assert_int_equal(tui_layout_header(&snap, &alerts, &h, arena, &l), 0);
    assert_clean_lines(&l, 30);
    assert_string_equal(l.lines[0].text, "pgmedic top  app@/tmp/sock:543");
    arena_free(arena);
}

static void
test_tui_layout_header_down(void **state)
{
    Arena *arena = arena_new();
    Thresholds th = unit_default_thresholds();
    Snapshot snap;
    AlertList alerts;
    TuiHeader h = {.interval_ms = 1000, .width = 200};
    TuiLines l;

    (void) state;
    load("server_down.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    h.down_since = snap.taken_at - 65; /* 14:58:55 */
    h.last_ok_at = snap.taken_at - 66;
    assert_int_equal(tui_layout_header(&snap, &alerts, &h, arena, &l), 0);
    assert_int_equal(l.n_lines, 3);
    assert_string_equal(l.lines[0].text, "pgmedic top  app@/tmp/sock:5432  DOWN since 14:58:55 "
                                         "(last reached 14:58:54), retrying every 1s");
    assert_int_equal(l.lines[0].attr, TUI_ATTR_CRITICAL);
    assert_string_equal(l.lines[1].text,
                        "cause: server_down (nothing listens: the server is down): "
                        "Connection refused");
    assert_contains(l.lines[2].text, "CRITICAL  DatabaseConnectionFailure: cannot reach "
                                     "app@/tmp/sock:5432: server_down (Connection refused)");
    assert_int_equal(l.lines[2].attr, TUI_ATTR_CRITICAL);

    /* Never reached, and a refusal for lack of slots. */
    load("too_many_clients.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    memset(&h, 0, sizeof(h));
    h.interval_ms = 2000;
    h.width = 200;
    assert_int_equal(tui_layout_header(&snap, &alerts, &h, arena, &l), 0);
    assert_contains(l.lines[0].text, "DOWN since 15:00:00 (last reached never)");
    assert_contains(l.lines[1].text, "cause: too_many_clients (logins refused: every connection "
                                     "slot is taken): ");

    /* The list views say why they are empty. */
    load("server_down.json", arena, &snap);
    {
        TuiListOptions o = list_options(120);

        assert_int_equal(tui_layout_sessions(&snap, &o, arena, &l), 0);
        assert_int_equal(l.n_lines, 1);
        assert_string_equal(l.lines[0].text,
                            "  no sessions: the server could not be reached (server_down)");
        assert_int_equal(tui_layout_locks(&snap, &o, arena, &l), 0);
        assert_int_equal(l.n_lines, 1);
        assert_string_equal(l.lines[0].text,
                            "  no lock trees: the server could not be reached (server_down)");
    }
    arena_free(arena);
}

/* --- sessions ------------------------------------------------------------------ */

static void
test_tui_layout_sessions_fixture(void **state)
{
    Arena *arena = arena_new();
    Snapshot snap;
    TuiListOptions o = list_options(200);
    TuiLines l;

    (void) state;
    load("slow_lock_waiter.json", arena, &snap);
    assert_int_equal(tui_layout_sessions(&snap, &o, arena, &l), 0);
    assert_int_equal(l.n_lines, 3);
    assert_int_equal(l.lines[0].attr, TUI_ATTR_HEADING);
    assert_string_equal(l.lines[0].text,
                        "  PID     USER       APPLICATION      DATABASE   CLIENT          STATE    "
                        "              TIME      WAITING ON         LOCK         QUERY");
    /* Longest first: the blocker idle in transaction for 30 s, then its waiter (12 s). */
    assert_int_equal(l.lines[1].pid, 4245);
    assert_string_equal(
        l.lines[1].text,
        "  4245    app        api              app        local           idle in "
        "transaction    30.0s                        blocks 1     select pg_sleep(600)");
    assert_int_equal(l.lines[1].attr, TUI_ATTR_CRITICAL);
    assert_int_equal(l.lines[1].root_pid, 4245);
    assert_int_equal(l.lines[2].pid, 4244);
    assert_contains(l.lines[2].text,
                    "active                 12.0s     Lock:relation      waits 4245");
    assert_int_equal(l.lines[2].attr, TUI_ATTR_WARNING);
    assert_int_equal(l.lines[2].root_pid, 4245);
    assert_clean_lines(&l, 200);

    /* Narrower than 140 columns: no database and client, more of the query. */
    o.width = 120;
    assert_int_equal(tui_layout_sessions(&snap, &o, arena, &l), 0);
    assert_string_equal(l.lines[0].text,
                        "  PID     USER       APPLICATION      STATE                  "
                        "TIME      WAITING ON         LOCK         QUERY");
    assert_string_equal(l.lines[1].text,
                        "  4245    app        api              idle in transaction    "
                        "30.0s                        blocks 1     select pg_sleep(6");
    assert_clean_lines(&l, 120);
    o.width = 200;

    /* No session: one line that says so. */
    load("healthy.json", arena, &snap);
    assert_int_equal(tui_layout_sessions(&snap, &o, arena, &l), 0);
    assert_int_equal(l.n_lines, 2);
    assert_string_equal(l.lines[1].text, "  no client session");
    assert_int_equal(l.lines[1].pid, 0);
    arena_free(arena);
}

/* The pids of the session lines, in order, into out (0-terminated). */
static void
pids_of(const TuiLines *l, int32_t *out, size_t max)
{
    size_t i, n = 0;

    for (i = 0; i < l->n_lines && n + 1 < max; i++)
        if (l->lines[i].pid != 0)
            out[n++] = l->lines[i].pid;
    out[n] = 0;
}

static void
assert_pids(const TuiLines *l, const int32_t *expected)
{
    int32_t got[32];
    size_t i;

    pids_of(l, got, PM_LENGTHOF(got));
    for (i = 0; expected[i] != 0 || got[i] != 0; i++)
        if (expected[i] != got[i])
            fail_msg("session line %zu: pid %d, expected %d", i, (int) got[i], (int) expected[i]);
}

static void
test_tui_layout_sessions_sort_and_filter(void **state)
{
    Arena *arena = arena_new();
    Snapshot snap;
    TuiListOptions o = list_options(160);
    TuiLines l;

    (void) state;
    forest(&snap);
    /* Waiting for its client is what an idle session does: not shown.  Other waits are. */
    forest_sessions[10].wait_event_type = "Client";
    forest_sessions[10].wait_event = "ClientRead";
    forest_sessions[5].wait_event_type = "IO";
    forest_sessions[5].wait_event = "DataFileRead";

    o.sort = TUI_SORT_DURATION;
    assert_int_equal(tui_layout_sessions(&snap, &o, arena, &l), 0);
    assert_true(strstr(line_of(&l, 500)->text, "Client") == NULL);
    assert_contains(line_of(&l, 200)->text, "5min 00s  IO:DataFileRead    blocks 1 ");
    assert_pids(&l,
                (const int32_t[]){500, 200, 100, 101, 103, 102, 301, 104, 201, 501, 401, 402, 0});
    assert_int_equal(line_of(&l, 100)->attr, TUI_ATTR_CRITICAL);
    assert_int_equal(line_of(&l, 500)->attr, TUI_ATTR_NORMAL);
    assert_contains(line_of(&l, 100)->text, "blocks 4");
    assert_contains(line_of(&l, 104)->text, "waits 100+1");
    assert_contains(line_of(&l, 501)->text, "idle in xact (aborted)");
    assert_int_equal(line_of(&l, 103)->root_pid, 100);
    assert_int_equal(line_of(&l, 301)->root_pid, 0); /* its root is not in the snapshot */
    assert_int_equal(line_of(&l, 401)->root_pid, 0); /* a cycle has none */
    assert_int_equal(line_of(&l, 500)->root_pid, 0);
    assert_clean_lines(&l, 160);

    o.sort = TUI_SORT_STATE;
    assert_int_equal(tui_layout_sessions(&snap, &o, arena, &l), 0);
    assert_pids(&l,
                (const int32_t[]){200, 101, 103, 102, 301, 104, 201, 401, 402, 501, 100, 500, 0});

    o.sort = TUI_SORT_APPLICATION;
    assert_int_equal(tui_layout_sessions(&snap, &o, arena, &l), 0);
    assert_pids(&l,
                (const int32_t[]){101, 102, 104, 100, 401, 402, 200, 201, 500, 301, 103, 501, 0});

    /* Filters: application, then database, then both. */
    o.sort = TUI_SORT_DURATION;
    o.application = "api";
    assert_int_equal(tui_layout_sessions(&snap, &o, arena, &l), 0);
    assert_pids(&l, (const int32_t[]){101, 102, 104, 0});
    o.application = NULL;
    o.database = "dw";
    assert_int_equal(tui_layout_sessions(&snap, &o, arena, &l), 0);
    assert_pids(&l, (const int32_t[]){200, 103, 201, 0});
    o.application = "api";
    assert_int_equal(tui_layout_sessions(&snap, &o, arena, &l), 0);
    assert_int_equal(l.n_lines, 2);
    assert_string_equal(l.lines[1].text, "  no session matches the filter");
    /* An empty filter is no filter. */
    o.application = "";
    o.database = "";
    assert_int_equal(tui_layout_sessions(&snap, &o, arena, &l), 0);
    assert_int_equal(l.n_lines, 13);
    arena_free(arena);
}

/* --- lock trees ------------------------------------------------------------------ */

static void
test_tui_layout_locks_forest(void **state)
{
    Arena *arena = arena_new();
    Snapshot snap;
    TuiListOptions o = list_options(160);
    TuiLines l;

    (void) state;
    forest(&snap);
    assert_int_equal(tui_layout_locks(&snap, &o, arena, &l), 0);
    assert_clean_lines(&l, 160);
    assert_int_equal(l.n_lines, 14);
    assert_string_equal(l.lines[0].text,
                        "  3 lock trees, 8 sessions waiting; first root pid 100 blocks 4 (depth 2, "
                        "longest wait 50.0s); and a deadlock cycle");
    assert_int_equal(l.lines[1].attr, TUI_ATTR_HEADING);
    assert_contains(l.lines[1].text, "PID (TREE)             BLOCKS STATE");
    /* The biggest tree first; each waiter under its first blocker, the longest wait first. */
    assert_prefix(l.lines[2].text, "  100                    4      idle in transaction");
    assert_int_equal(l.lines[2].attr, TUI_ATTR_CRITICAL);
    assert_prefix(l.lines[3].text, "  \\_ 101                 2      active");
    assert_prefix(l.lines[4].text, "     \\_ 103");
    assert_prefix(l.lines[5].text, "     \\_ 102");
    assert_prefix(l.lines[6].text, "  \\_ 104");
    assert_contains(l.lines[6].text, "Lock:transactionid +200");
    assert_int_equal(l.lines[3].attr, TUI_ATTR_WARNING);
    for (size_t i = 2; i <= 6; i++)
        assert_int_equal(l.lines[i].root_pid, 100);
    assert_int_equal(l.lines[3].pid, 101);
    assert_int_equal(l.lines[6].pid, 104);
    /* Then the missing root (a longer wait than 200's tree), not selectable. */
    assert_string_equal(l.lines[7].text, "  777 (not a listed client session)");
    assert_int_equal(l.lines[7].pid, 0);
    assert_prefix(l.lines[8].text, "  \\_ 301");
    assert_int_equal(l.lines[8].root_pid, 0);
    assert_prefix(l.lines[9].text, "  200 ");
    assert_prefix(l.lines[10].text, "  \\_ 201");
    assert_int_equal(l.lines[10].root_pid, 200);
    assert_string_equal(l.lines[11].text,
                        "  waiting on each other (a deadlock the server is about to break):");
    assert_int_equal(l.lines[12].pid, 401);
    assert_int_equal(l.lines[13].pid, 402);

    /* A filter keeps whole trees that have a matching session. */
    o.application = "report";
    assert_int_equal(tui_layout_locks(&snap, &o, arena, &l), 0);
    assert_pids(&l, (const int32_t[]){100, 101, 103, 102, 104, 0});
    o.application = "nobody";
    assert_int_equal(tui_layout_locks(&snap, &o, arena, &l), 0);
    assert_string_equal(l.lines[l.n_lines - 1].text, "  no lock tree matches the filter");
    arena_free(arena);
}

static void
test_tui_layout_locks_fixtures(void **state)
{
    Arena *arena = arena_new();
    Snapshot snap;
    TuiListOptions o = list_options(160);
    TuiLines l;

    (void) state;
    load("slow_lock_waiter.json", arena, &snap);
    assert_int_equal(tui_layout_locks(&snap, &o, arena, &l), 0);
    assert_int_equal(l.n_lines, 4);
    assert_string_equal(l.lines[0].text, "  1 lock tree, 1 session waiting; first root pid 4245 "
                                         "blocks 1 (depth 1, longest wait 12.0s)");
    assert_int_equal(l.lines[2].pid, 4245);
    assert_int_equal(l.lines[3].pid, 4244);
    assert_prefix(l.lines[3].text, "  \\_ 4244 ");
    assert_contains(l.lines[3].text, "Lock:relation              12.0s     12.0s     api");

    load("healthy.json", arena, &snap);
    assert_int_equal(tui_layout_locks(&snap, &o, arena, &l), 0);
    assert_int_equal(l.n_lines, 1);
    assert_string_equal(l.lines[0].text, "  no session waits on a lock: no lock tree");
    assert_int_equal(l.lines[0].attr, TUI_ATTR_OK);
    arena_free(arena);
}

static void
test_tui_lock_root_and_waiters(void **state)
{
    Snapshot snap;

    (void) state;
    forest(&snap);
    assert_int_equal(tui_lock_root(&snap, 100), 100);
    assert_int_equal(tui_lock_root(&snap, 102), 100);
    assert_int_equal(tui_lock_root(&snap, 104), 100); /* its first blocker's tree */
    assert_int_equal(tui_lock_root(&snap, 201), 200);
    assert_int_equal(tui_lock_root(&snap, 301), 0);   /* the root is not listed */
    assert_int_equal(tui_lock_root(&snap, 401), 0);   /* a cycle */
    assert_int_equal(tui_lock_root(&snap, 500), 0);   /* in no tree */
    assert_int_equal(tui_lock_root(&snap, 12345), 0); /* not in the snapshot */
    assert_int_equal(tui_lock_waiters(&snap, 100), 4);
    assert_int_equal(tui_lock_waiters(&snap, 101), 2);
    assert_int_equal(tui_lock_waiters(&snap, 102), 0);
    assert_int_equal(tui_lock_waiters(&snap, 777), 1);
    assert_true(tui_session_waits_on_lock(snapshot_session(&snap, 101)));
    assert_false(tui_session_waits_on_lock(snapshot_session(&snap, 100)));
    assert_true(tui_session_duration(snapshot_session(&snap, 200)) == 300.0);
}

/* --- findings --------------------------------------------------------------------- */

static void
test_tui_layout_findings_wrapped(void **state)
{
    Arena *arena = arena_new();
    Thresholds th = unit_default_thresholds();
    Snapshot snap;
    AlertList alerts;
    FindingList findings;
    TuiLines l;
    size_t i;
    bool seen_kind = false, seen_action = false;
    StrBuf joined = STRBUF_INIT;

    (void) state;
    load("slow_lock_waiter.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    assert_int_equal(diagnose_run(&snap, &th, &alerts, arena, &findings), 0);
    assert_int_equal(tui_layout_findings(&snap, &alerts, &findings, &th, 40, arena, &l), 0);
    assert_clean_lines(&l, 40);
    for (i = 0; i < l.n_lines; i++)
    {
        assert_int_equal(l.lines[i].pid, 0); /* text, nothing to select */
        if (strncmp(l.lines[i].text, "1. WARNING   lock_contention", 28) == 0)
        {
            seen_kind = true;
            assert_int_equal(l.lines[i].attr, TUI_ATTR_BOLD);
        }
        if (strncmp(l.lines[i].text, "   $ pgmedic fix terminate-blockers", 35) == 0)
        {
            seen_action = true;
            assert_int_equal(l.lines[i].attr, TUI_ATTR_BOLD);
            /* The command is longer than 50: its continuation is indented two more. */
            assert_true(i + 1 < l.n_lines);
            assert_prefix(l.lines[i + 1].text, "     ");
        }
        strbuf_append(&joined, l.lines[i].text);
    }
    assert_true(seen_kind);
    assert_true(seen_action);
    strbuf_free(&joined);

    /* A server that is down: its cause is a finding too. */
    load("server_down.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    assert_int_equal(diagnose_run(&snap, &th, &alerts, arena, &findings), 0);
    assert_int_equal(tui_layout_findings(&snap, &alerts, &findings, &th, 120, arena, &l), 0);
    {
        bool found = false;

        for (i = 0; i < l.n_lines; i++)
            found = found || strstr(l.lines[i].text, "server_down") != NULL;
        assert_true(found);
    }
    arena_free(arena);
}

/* --- text from the server ------------------------------------------------------------ */

static void
test_tui_layout_terminal_safety(void **state)
{
    Arena *arena = arena_new();
    Snapshot snap;
    TuiListOptions o = list_options(400);
    TuiLines l;
    const TuiLine *line;

    (void) state;
    forest(&snap);
    /* Escape sequences, C1 controls and invalid UTF-8 as a hostile role could name them. */
    forest_sessions[10].application = "evil\x1b]0;pwned\x07";
    forest_sessions[10].query = "SELECT 1;\n\x1b[2J\xc2\x9b"
                                "31m\xff done \xc3\xa9t\xc3\xa9";
    assert_int_equal(tui_layout_sessions(&snap, &o, arena, &l), 0);
    assert_clean_lines(&l, 400);
    line = line_of(&l, 500);
    assert_non_null(line);
    assert_contains(line->text, "evil ]0;pwned ");
    assert_contains(line->text, "SELECT 1;  [2J 31m? done \xc3\xa9t\xc3\xa9");
    assert_int_equal(tui_layout_locks(&snap, &o, arena, &l), 0);
    assert_clean_lines(&l, 400);
    /* A UTF-8 character is never cut in half. */
    assert_string_equal(tui_clean(arena, "\xc3\xa9t\xc3\xa9", 1), "\xc3\xa9");
    assert_string_equal(tui_clean(arena, NULL, 5), "");
    /* Sort names both ways. */
    assert_int_equal(tui_sort_from_name("state"), TUI_SORT_STATE);
    assert_int_equal(tui_sort_from_name("size"), -1);
    assert_string_equal(tui_sort_name(TUI_SORT_APPLICATION), "application");
    arena_free(arena);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tui_layout_header_up),
        cmocka_unit_test(test_tui_layout_header_down),
        cmocka_unit_test(test_tui_layout_sessions_fixture),
        cmocka_unit_test(test_tui_layout_sessions_sort_and_filter),
        cmocka_unit_test(test_tui_layout_locks_forest),
        cmocka_unit_test(test_tui_layout_locks_fixtures),
        cmocka_unit_test(test_tui_lock_root_and_waiters),
        cmocka_unit_test(test_tui_layout_findings_wrapped),
        cmocka_unit_test(test_tui_layout_terminal_safety),
    };

    return cmocka_run_group_tests_name("tui/layout", tests, utc, NULL);
}
