/*
 * json.c - the JSON outputs (DESIGN.md §4 shape).
 */
#include "core/snapshot_json.h"
#include "render/render.h"
#include "util/jsonw.h"

static void
write_alerts(JsonW *w, const AlertList *alerts)
{
    size_t i;

    jsonw_key(w, "alerts");
    jsonw_array_begin(w);
    for (i = 0; i < alerts->n_alerts; i++)
    {
        const Alert *a = &alerts->alerts[i];

        jsonw_object_begin(w);
        jsonw_kv_string(w, "name", a->name);
        jsonw_kv_string(w, "severity", rules_severity_name(a->severity));
        jsonw_kv_double(w, "value", a->value);
        jsonw_kv_double(w, "threshold", a->threshold);
        jsonw_kv_string(w, "summary", a->summary);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

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
    write_alerts(&w, alerts);
    jsonw_object_end(&w);
}

void
render_snapshot_json(StrBuf *out, const Snapshot *snap)
{
    JsonW w;

    jsonw_init(&w, out, true);
    snapshot_json_write(&w, snap);
}
