/*
 * svgchart.h - the samples chart: connections by state (active, idle in
 * transaction, idle, other; stacked, each sample held until the next) and
 * usable slots on the left axis, the longest active query on the right axis,
 * with vertical markers at given moments.  The incident report draws it for
 * an incident's window, serve's status page for the last hours of a target.
 *
 * Pure: the samples are already loaded; the output is appended to a StrBuf
 * (the caller checks strbuf_ok() once).  Every text goes through
 * render_xml_escape(), so the chart is well-formed XML whatever a title or a
 * target label contains.
 */
#ifndef PGMEDIC_RENDER_SVGCHART_H
#define PGMEDIC_RENDER_SVGCHART_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"
#include "util/strbuf.h"

/* A vertical line at a moment, labelled above the plot (labels staggered over four rows). */
typedef struct
{
    double at;
    char label[64];
    const char *color; /* "#rrggbb" */
    bool dashed;
} ChartMarker;

typedef struct
{
    const char *title;     /* the bold first line, and the document's <title> */
    const char *subtitle;  /* the second line (the target); NULL: "?" */
    const Sample *samples; /* oldest first; thinned to at most 720 */
    size_t n_samples;
    double t0, t1;              /* the time axis, widened to every sample */
    const ChartMarker *markers; /* drawn when inside the axis, in this order */
    size_t n_markers;
    const char *empty_text; /* said in the plot when there are no samples */
    bool inline_svg;        /* inside an HTML document: no XML declaration */
} SvgChart;

/* The chart as an SVG 1.1 document (760 x 380, scalable through its viewBox). */
void svgchart_render(StrBuf *out, const SvgChart *chart);

/*
 * Appends s as XML (or HTML) text or attribute value: entities for & < > "
 * ', control characters as spaces, invalid UTF-8 and the non-characters
 * U+FFFE/U+FFFF as U+FFFD.  At most max bytes of s (0: all), then "...".
 * NULL is "".
 */
void render_xml_escape(StrBuf *out, const char *s, size_t max);

#endif
