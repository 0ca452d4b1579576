/*
 * snapshot_json_fuzz.c - a snapshot file, as `--from FILE` reads it:
 * snapshot_json_read(), then what the commands do with the snapshot (the
 * alert rules, the diagnosis, every renderer).
 *
 * Properties: no crash, no leak; a failure is one clean line (the message
 * may quote the input, and it goes to a terminal); a snapshot that was read
 * is written back by snapshot_json_write(), that text reads again, and
 * writing it once more gives the same text (the writer and the reader agree
 * on every field).
 */
#include <stdbool.h>

#include "conf/conf.h"
#include "core/diagnose.h"
#include "core/rules.h"
#include "core/snapshot_json.h"
#include "fuzz.h"
#include "render/findings.h"
#include "render/render.h"
#include "util/jsonw.h"
#include "util/strbuf.h"

static void
write_snapshot(const Snapshot *snap, StrBuf *out)
{
    JsonW w;

    jsonw_init(&w, out, false);
    snapshot_json_write(&w, snap);
    FUZZ_CHECK(strbuf_ok(out));
}

/* The snapshot goes through the writer and back: the same text twice. */
static void
check_round_trip(const Snapshot *snap)
{
    StrBuf first = STRBUF_INIT, second = STRBUF_INIT;
    Arena *arena = arena_new();
    Snapshot again;
    PmError err;

    FUZZ_CHECK(arena != NULL);
    write_snapshot(snap, &first);
    if (snapshot_json_read(strbuf_str(&first), first.len, "round trip", arena, &again, &err) != 0)
    {
        fprintf(stderr, "written snapshot does not read: %s\n%s\n", err.message,
                strbuf_str(&first));
        FUZZ_FAIL("the writer's output reads again");
    }
    write_snapshot(&again, &second);
    if (first.len != second.len || memcmp(first.data, second.data, first.len) != 0)
    {
        fprintf(stderr, "first:  %s\nsecond: %s\n", strbuf_str(&first), strbuf_str(&second));
        FUZZ_FAIL("writing a snapshot read back gives the same text");
    }
    strbuf_free(&first);
    strbuf_free(&second);
    arena_free(arena);
}

/* What check, triage and status do with it. */
static void
use_snapshot(const Snapshot *snap, const Thresholds *th, Arena *arena)
{
    AlertList alerts;
    FindingList findings;
    StrBuf out = STRBUF_INIT;
    TextStyle plain = {false}, color = {true};

    FUZZ_CHECK(rules_eval(snap, th, arena, &alerts) == 0);
    FUZZ_CHECK(diagnose_run(snap, th, &alerts, arena, &findings) == 0);
    render_status_text(&out, snap, &color);
    render_status_json(&out, snap);
    render_check_text(&out, snap, &alerts, th, &plain);
    render_check_json(&out, snap, &alerts);
    render_check_nagios(&out, snap, &alerts, th);
    render_snapshot_json(&out, snap);
    render_triage_text(&out, snap, &alerts, &findings, th, &color);
    render_triage_json(&out, snap, &alerts, &findings);
    render_triage_markdown(&out, snap, &alerts, &findings);
    FUZZ_CHECK(strbuf_ok(&out));
    strbuf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static Thresholds th;
    static bool have_th;
    Arena *arena;
    Snapshot snap;
    PmError err;

    if (!have_th)
    {
        Config conf;

        conf_init(&conf);
        th = conf.thresholds;
        conf_free(&conf);
        have_th = true;
    }
    arena = arena_new();
    FUZZ_CHECK(arena != NULL);
    memset(&err, 0, sizeof(err));
    if (snapshot_json_read((const char *) data, size, "fuzz.json", arena, &snap, &err) != 0)
    {
        FUZZ_CHECK(err.message[0] != '\0');
        if (!fuzz_one_clean_line(err.message))
        {
            fprintf(stderr, "message: %s\n", err.message);
            FUZZ_FAIL("an error is one clean line");
        }
    }
    else
    {
        /* Times before 1970 round-trip too (pm_format_iso8601 was fixed). */
        check_round_trip(&snap);
        use_snapshot(&snap, &th, arena);
    }
    arena_free(arena);
    return 0;
}
