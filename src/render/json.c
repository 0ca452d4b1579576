/*
 * json.c - the JSON outputs (DESIGN.md §4 shape).
 */
#include "core/snapshot_json.h"
#include "render/findings.h"
#include "render/render.h"
#include "util/jsonw.h"

void
render_status_json(StrBuf *out, const Snapshot *snap)
{
    JsonW w;

    jsonw_init(&w, out, true);
    jsonw_object_begin(&w);
    snapshot_json_write_header(&w, snap);
    jsonw_kv_string(&w, "readiness", render_readiness_name(render_readiness(snap)));
    jsonw_object_end(&w);
}

void
render_check_json(StrBuf *out, const Snapshot *snap, const AlertList *alerts)
{
    JsonW w;

    jsonw_init(&w, out, true);
    jsonw_object_begin(&w);
    snapshot_json_write_header(&w, snap);
    render_json_alerts(&w, alerts);
    jsonw_object_end(&w);
}

void
render_snapshot_json(StrBuf *out, const Snapshot *snap)
{
    JsonW w;

    jsonw_init(&w, out, true);
    snapshot_json_write(&w, snap);
}
