/*
 * render.h - results for people and for programs: text, JSON, Nagios.
 *
 * Renderers only format: they append to a StrBuf and never print, so the
 * caller checks strbuf_ok() once and writes the result to stdout.
 */
#ifndef PGMEDIC_RENDER_RENDER_H
#define PGMEDIC_RENDER_RENDER_H

#include <stdbool.h>

#include "core/rules.h"
#include "core/snapshot.h"
#include "core/thresholds.h"
#include "util/strbuf.h"

typedef enum
{
    FORMAT_TEXT = 0,
    FORMAT_JSON,
    FORMAT_NAGIOS,
    FORMAT_MARKDOWN
} Format;

/* Text styling: colour only on a terminal and without NO_COLOR. */
typedef struct
{
    bool color;
} TextStyle;

/* pg_isready's words for a snapshot's reachability. */
typedef enum
{
    READY_ACCEPTING,
    READY_REJECTING,
    READY_NO_RESPONSE,
    READY_NO_ATTEMPT
} Readiness;

Readiness render_readiness(const Snapshot *snap);
const char *render_readiness_name(Readiness readiness); /* "accepting", ... */

/* pgmedic status */
void render_status_text(StrBuf *out, const Snapshot *snap, const TextStyle *style);
void render_status_json(StrBuf *out, const Snapshot *snap);

/* pgmedic check */
void render_check_text(StrBuf *out, const Snapshot *snap, const AlertList *alerts,
                       const Thresholds *th, const TextStyle *style);
void render_check_json(StrBuf *out, const Snapshot *snap, const AlertList *alerts);
void render_check_nagios(StrBuf *out, const Snapshot *snap, const AlertList *alerts,
                         const Thresholds *th);

/* pgmedic snapshot */
void render_snapshot_json(StrBuf *out, const Snapshot *snap);

#endif
