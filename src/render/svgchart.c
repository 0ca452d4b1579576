/*
 * svgchart.c - the samples chart of the incident report and the status page.
 * See svgchart.h.
 */
#include "render/svgchart.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/compiler.h"
#include "util/parse.h"
#include "util/utf8.h"

static bool
xml_escape(StrBuf *out, unsigned char c)
{
    switch (c)
    {
        case '&':
            strbuf_append(out, "&amp;");
            return true;
        case '<':
            strbuf_append(out, "&lt;");
            return true;
        case '>':
            strbuf_append(out, "&gt;");
            return true;
        case '"':
            strbuf_append(out, "&quot;");
            return true;
        case '\'':
            strbuf_append(out, "&apos;");
            return true;
        default:
            return false;
    }
}

void
render_xml_escape(StrBuf *out, const char *s, size_t max)
{
    /* XML refuses U+FFFE and U+FFFF as well as invalid UTF-8: both become U+FFFD. */
    static const Utf8Policy xml = {.invalid = "\xEF\xBF\xBD",
                                   .refuse_nonchars = true,
                                   .cut_mark = "...",
                                   .escape = xml_escape};

    pm_utf8_append_escaped(out, s, max, &xml);
}

enum
{
    SVG_W = 760,
    SVG_H = 380,
    SVG_ML = 56,
    SVG_MR = 64,
    SVG_MT = 92,
    SVG_MB = 74,
    SVG_MAX_SAMPLES = 720
};

/*
 * An axis from 0 to at least max in at most 5 steps of 1, 2 or 5 × 10^k
 * (at least min_step): *top is the axis' end; returns the number of steps.
 */
static int
axis_steps(double max, double min_step, double *step, double *top)
{
    static const double mult[] = {1, 2, 5};
    double base = min_step;
    size_t i;

    for (;;)
    {
        for (i = 0; i < PM_LENGTHOF(mult); i++)
        {
            double st = base * mult[i];
            double n = ceil(max / st);

            if (n <= 5)
            {
                *step = st;
                *top = (n < 1 ? 1 : n) * st;
                return n < 1 ? 1 : (int) n;
            }
        }
        base *= 10;
    }
}

typedef struct
{
    double t0, t1, cmax, qmax;
    double cstep, qstep;
    int csteps, qsteps;
} Scale;

static double
sx(const Scale *s, double t)
{
    return SVG_ML + (t - s->t0) / (s->t1 - s->t0) * (SVG_W - SVG_ML - SVG_MR);
}

static double
sy(const Scale *s, double v)
{
    return SVG_MT + (SVG_H - SVG_MT - SVG_MB) * (1.0 - v / s->cmax);
}

static double
sq(const Scale *s, double v)
{
    return SVG_MT + (SVG_H - SVG_MT - SVG_MB) * (1.0 - v / s->qmax);
}

static void
svg_text(StrBuf *out, double x, double y, const char *anchor, const char *extra, const char *text)
{
    strbuf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>", x, y, anchor,
                  extra ? extra : "");
    render_xml_escape(out, text, 200);
    strbuf_append(out, "</text>\n");
}

static void
svg_marker(StrBuf *out, const Scale *s, const ChartMarker *m, int row)
{
    double x = sx(s, m->at);

    if (m->at < s->t0 || m->at > s->t1)
        return;
    strbuf_printf(out,
                  "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
                  "stroke-width=\"1\"%s/>\n",
                  x, SVG_MT - 4, x, SVG_H - SVG_MB, m->color ? m->color : "#000000",
                  m->dashed ? " stroke-dasharray=\"3,3\"" : "");
    svg_text(out, x + 2, SVG_MT - 6 - 11.0 * (row % 4), "start", " font-size=\"10\"", m->label);
}

/* A time axis label, as precise as the span needs. */
static void
time_label(double t, double span, char *buf, size_t size)
{
    char full[40];

    pm_format_iso8601(t, full, sizeof(full));
    if (span < 2)
        snprintf(buf, size, "%.12s", full + 11); /* 16:04:01.834 */
    else if (span < 20)
        snprintf(buf, size, "%.10s", full + 11); /* 16:04:01.8 */
    else if (span < 2 * 86400)
        snprintf(buf, size, "%.8s", full + 11); /* 16:04:01 */
    else
        snprintf(buf, size, "%.5s %.5s", full + 5, full + 11); /* 11-29 16:04 */
}

/* Picks at most SVG_MAX_SAMPLES samples: in each bucket, the one with most clients. */
static size_t
pick_samples(const Sample *all, size_t n, const Sample **picked)
{
    size_t bucket = (n + SVG_MAX_SAMPLES - 1) / SVG_MAX_SAMPLES, i, k = 0;

    if (bucket < 1)
        bucket = 1;
    for (i = 0; i < n; i += bucket)
    {
        size_t j, best = i;

        for (j = i; j < n && j < i + bucket; j++)
            if (all[j].clients > all[best].clients ||
                all[j].longest_query_s > all[best].longest_query_s * 2)
                best = j;
        picked[k++] = &all[best];
    }
    return k;
}

void
svgchart_render(StrBuf *out, const SvgChart *c)
{
    static const struct
    {
        const char *name;
        const char *color;
    } layers[] = {{"active", "#4e79a7"},
                  {"idle in transaction", "#f28e2b"},
                  {"idle", "#bab0ac"},
                  {"other", "#76b7b2"}};

    const Sample **picked = NULL;
    size_t n = 0, i, k;
    Scale s;
    char label[64];
    int tick;

    if (c->n_samples > 0)
    {
        picked = calloc(c->n_samples, sizeof(Sample *));
        if (picked == NULL)
        {
            out->broken = true; /* renderers report memory through the buffer */
            return;
        }
        n = pick_samples(c->samples, c->n_samples, picked);
    }
    s.t0 = c->t0;
    s.t1 = c->t1;
    s.cmax = 1;
    s.qmax = 1;
    for (i = 0; i < n; i++)
    {
        if (picked[i]->taken_at < s.t0)
            s.t0 = picked[i]->taken_at;
        if (picked[i]->taken_at > s.t1)
            s.t1 = picked[i]->taken_at;
        if ((double) picked[i]->clients > s.cmax)
            s.cmax = (double) picked[i]->clients;
        if ((double) picked[i]->usable > s.cmax)
            s.cmax = (double) picked[i]->usable;
        if (picked[i]->longest_query_s > s.qmax)
            s.qmax = picked[i]->longest_query_s;
    }
    if (s.t1 - s.t0 < 0.05)
        s.t1 = s.t0 + 0.05;
    s.t1 += (s.t1 - s.t0) * 0.04; /* room for the last sample's step */
    s.csteps = axis_steps(s.cmax * 1.05, 1, &s.cstep, &s.cmax);
    s.qsteps = axis_steps(s.qmax * 1.05, 0.1, &s.qstep, &s.qmax);

    if (!c->inline_svg)
        strbuf_append(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    strbuf_printf(out,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
                  "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" "
                  "font-size=\"11\">\n<title>",
                  SVG_W, SVG_H, SVG_W, SVG_H);
    render_xml_escape(out, c->title, 0);
    strbuf_append(out, "</title>\n");
    strbuf_printf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
                  SVG_W, SVG_H);
    svg_text(out, SVG_ML, 18, "start", " font-size=\"13\" font-weight=\"bold\"", c->title);
    svg_text(out, SVG_ML, 34, "start", " fill=\"#555555\"", c->subtitle ? c->subtitle : "?");

    /* Grid and axes: connections on the left, the longest query on the right. */
    for (tick = 0; tick <= s.csteps; tick++)
    {
        double v = s.cstep * tick, y = sy(&s, v);

        strbuf_printf(out,
                      "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n",
                      SVG_ML, y, SVG_W - SVG_MR, y);
        snprintf(label, sizeof(label), "%g", v);
        svg_text(out, SVG_ML - 6, y + 4, "end", NULL, label);
    }
    for (tick = 0; tick <= s.qsteps; tick++)
    {
        double q = s.qstep * tick;

        format_age(q, label, sizeof(label));
        svg_text(out, SVG_W - SVG_MR + 6, sq(&s, q) + 4, "start", " fill=\"#e15759\"",
                 tick == 0 ? "0" : label);
    }
    for (tick = 0; tick <= 4; tick++)
    {
        double t = s.t0 + (s.t1 - s.t0) * tick / 4.0;

        time_label(t, s.t1 - s.t0, label, sizeof(label));
        svg_text(out, sx(&s, t), SVG_H - SVG_MB + 16, "middle", NULL, label);
    }
    {
        double cy = SVG_MT + (SVG_H - SVG_MT - SVG_MB) / 2.0;
        char rotate[64];

        snprintf(rotate, sizeof(rotate), " transform=\"rotate(-90 14 %.1f)\"", cy);
        svg_text(out, 14, cy, "middle", rotate, "client connections");
    }
    svg_text(out, (SVG_W + SVG_ML - SVG_MR) / 2.0, SVG_H - SVG_MB + 30, "middle", NULL,
             "time (UTC)");

    if (n == 0)
        svg_text(out, (SVG_W + SVG_ML - SVG_MR) / 2.0, SVG_MT + 80, "middle", " fill=\"#888888\"",
                 c->empty_text ? c->empty_text : "no samples");

    /* Stacked states: each sample holds until the next one. */
    for (i = 0; i < n; i++)
    {
        const Sample *p = picked[i];
        double x0 = sx(&s, p->taken_at), x1 = sx(&s, i + 1 < n ? picked[i + 1]->taken_at : s.t1);
        int64_t other = p->clients - p->active - p->idle - p->idle_in_transaction;
        double values[4], base = 0;

        values[0] = (double) p->active;
        values[1] = (double) p->idle_in_transaction;
        values[2] = (double) p->idle;
        values[3] = other > 0 ? (double) other : 0;
        for (k = 0; k < PM_LENGTHOF(layers); k++)
        {
            if (values[k] <= 0)
                continue;
            strbuf_printf(out,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                          "fill=\"%s\" fill-opacity=\"0.85\"/>\n",
                          x0, sy(&s, base + values[k]), x1 - x0 > 0 ? x1 - x0 : 0.5,
                          sy(&s, base) - sy(&s, base + values[k]), layers[k].color);
            base += values[k];
        }
    }
    /* Usable slots: the ceiling. */
    if (n > 0)
    {
        strbuf_append(out, "<polyline fill=\"none\" stroke=\"#333333\" stroke-width=\"1.5\" "
                           "stroke-dasharray=\"6,3\" points=\"");
        for (i = 0; i < n; i++)
        {
            double y = sy(&s, (double) picked[i]->usable);

            strbuf_printf(out, "%.1f,%.1f %.1f,%.1f ", sx(&s, picked[i]->taken_at), y,
                          sx(&s, i + 1 < n ? picked[i + 1]->taken_at : s.t1), y);
        }
        strbuf_append(out, "\"/>\n");
        /* Longest query: right axis, held like the states until the next sample. */
        strbuf_append(out,
                      "<polyline fill=\"none\" stroke=\"#e15759\" stroke-width=\"2\" points=\"");
        for (i = 0; i < n; i++)
        {
            double y = sq(&s, picked[i]->longest_query_s);

            strbuf_printf(out, "%.1f,%.1f %.1f,%.1f ", sx(&s, picked[i]->taken_at), y,
                          sx(&s, i + 1 < n ? picked[i + 1]->taken_at : s.t1), y);
        }
        strbuf_append(out, "\"/>\n");
        for (i = 0; i < n; i++)
            strbuf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"#e15759\"/>\n",
                          sx(&s, picked[i]->taken_at), sq(&s, picked[i]->longest_query_s));
    }
    /* The moments, their labels staggered over four rows. */
    for (i = 0; i < c->n_markers; i++)
        svg_marker(out, &s, &c->markers[i], (int) (i % 4));
    strbuf_printf(out,
                  "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                  "stroke=\"#999999\"/>\n",
                  SVG_ML, SVG_MT, SVG_W - SVG_ML - SVG_MR, SVG_H - SVG_MT - SVG_MB);

    /* Legend. */
    {
        double x = SVG_ML, y = SVG_H - 18;

        for (k = 0; k < PM_LENGTHOF(layers); k++)
        {
            strbuf_printf(out,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>\n",
                          x, y - 9, layers[k].color);
            svg_text(out, x + 14, y, "start", NULL, layers[k].name);
            x += 14 + 7.0 * (double) strlen(layers[k].name) + 14;
        }
        strbuf_printf(out,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\" "
                      "stroke-dasharray=\"6,3\" stroke-width=\"1.5\"/>\n",
                      x, y - 4, x + 18, y - 4);
        svg_text(out, x + 22, y, "start", NULL, "usable slots");
        x += 22 + 7.0 * 12 + 14;
        strbuf_printf(out,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e15759\" "
                      "stroke-width=\"2\"/>\n",
                      x, y - 4, x + 18, y - 4);
        svg_text(out, x + 22, y, "start", NULL, "longest query (right axis)");
    }
    strbuf_append(out, "</svg>\n");
    free(picked);
}
