/*
 * statuspage.h - serve's status page (GET /): one self-contained HTML5
 * document for a person with a browser.  No script and nothing fetched: the
 * style sheet and the charts (svgchart.h) are inline, and the page reloads
 * itself every refresh_s seconds with a <meta http-equiv="refresh">.  A
 * Content-Security-Policy <meta> forbids scripts and every other load, so
 * even a string that slipped through escaping could not run or fetch.
 *
 * In order: a header (when, how many targets, how many alerts fire); a
 * summary table with one row per target; the open incidents; then one
 * section per target: its state (pending, down, critical, warning, ok), the
 * server's label and version, the connections, every alert rule's state
 * (firing ones first), the latest probe's findings with their commands and
 * advice, its open incidents, and the chart of connections by state and
 * longest query over the samples of the window (incidents opened in it are
 * marked).
 *
 * Pure: the caller gathers the results, the open incidents and the samples
 * (the collectors below are store callbacks that only copy); the output is
 * appended to a StrBuf (the caller checks strbuf_ok() once).  Every string
 * that comes from a server, the configuration or the store is escaped
 * (render_xml_escape): application names, queries, target names and titles
 * may be hostile.  The document is also well-formed XML after its doctype
 * (every element closed, void ones as <x/>), so tools can check it.
 */
#ifndef PGMEDIC_RENDER_STATUSPAGE_H
#define PGMEDIC_RENDER_STATUSPAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/alertstate.h"
#include "core/finding.h"
#include "core/snapshot.h"
#include "store/incident.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/strbuf.h"

/* How far back serve's status page charts go. */
#define STATUSPAGE_WINDOW_S (6 * 3600.0)

/* The samples a chart keeps at most while they are read (the chart draws at most 720). */
#define STATUSPAGE_MAX_SAMPLES 1440

typedef struct
{
    const char *name;            /* the [target NAME] */
    const Snapshot *snap;        /* the latest probe; NULL before the first one */
    const AlertTracker *alerts;  /* the alert states after it; NULL with snap */
    const FindingList *findings; /* its findings; NULL: none */
    const Sample *samples;       /* of snap->target in the window, oldest first */
    size_t n_samples;
    uint64_t probes_total, probe_errors_total;
} StatusTarget;

typedef struct
{
    const StatusTarget *targets; /* in configuration order */
    size_t n_targets;
    const Incident *incidents; /* the open ones, newest first */
    size_t n_incidents;
    double now;              /* wall time: ages and the end of the charts */
    double window_s;         /* the charts' span at most; 0: STATUSPAGE_WINDOW_S */
    int refresh_s;           /* the page reloads itself this often; 0: never */
    const char *store_error; /* why incidents and samples are missing; NULL when read */
} StatusPage;

void statuspage_render(StrBuf *out, const StatusPage *page);

/*
 * The samples of one chart as store_sample_list() hands them over, thinned
 * on the way so that memory stays bounded whatever the interval: when
 * STATUSPAGE_MAX_SAMPLES are held, each pair becomes its busier sample (more
 * clients, or a longest query more than twice as long) and every later pair
 * is read as one.  Zero-initialise; the copies' target is NULL.
 */
typedef struct
{
    Sample *samples; /* malloc()ed */
    size_t n;
    size_t stride;   /* samples read per sample kept (0 before the first) */
    size_t in_group; /* read into the last one kept */
    bool failed;     /* out of memory: what was kept is still valid */
} StatusSamples;

/* store_sample_list()'s callback (arg: a StatusSamples); non-zero only when out of memory. */
int statuspage_collect_sample(const Sample *sample, void *arg);
void statuspage_samples_free(StatusSamples *s);

/* The incidents as store_incident_list() hands them over, copied (strings in arena). */
typedef struct
{
    Arena *arena; /* created on the first incident */
    Incident *incidents;
    size_t n, cap;
    bool failed; /* out of memory: what was copied is still valid */
} StatusIncidents;

/* store_incident_list()'s callback (arg: a StatusIncidents); non-zero only when out of memory. */
int statuspage_collect_incident(const Incident *inc, void *arg);
void statuspage_incidents_free(StatusIncidents *s);

#endif
