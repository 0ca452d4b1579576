/*
 * statuspage_test.c - serve's status page on constructed targets: a healthy
 * one whose strings (target name, server label, application, alert summary,
 * finding, incident title) are hostile HTML, a down one, one not probed yet.
 * Every hostile string is escaped and no markup of its own reaches the page;
 * the firing alert, the finding and the incidents are shown; the page and
 * each chart are well-formed XML (a checker here, and xmllint when
 * installed); the sample and incident collectors keep memory bounded and
 * copy what they keep.
 */
#include <unistd.h>

#include "core/alertstate.h"
#include "render/statuspage.h"
#include "unit.h"
#include "xmlcheck.h"

#define NOW 1900000000.0

/* Markup, an attribute break-out, entities, a control character and bytes that are not UTF-8. */
#define HOSTILE "<script>alert(1)</script>\"'&amp;<img src=x onerror=alert(2)>\x01\xff"

typedef struct
{
    Snapshot up, down;
    AlertTracker up_alerts, down_alerts;
    Finding finding;
    const char *actions[1];
    const char *advice[1];
    FindingList findings;
    Sample samples[10];
    Incident incidents[2];
    StatusTarget targets[3];
    StatusPage page;
} Fixture;

static void
build(Fixture *f)
{
    size_t i;

    memset(f, 0, sizeof(*f));

    /* "prod": reachable, a slow query firing, high connections pending, one finding. */
    f->up.target = "postgres@db" HOSTILE ":5432";
    f->up.taken_at = NOW - 2;
    f->up.failure = CONN_OK;
    f->up.version = "15.18";
    f->up.uptime_s = 86400 * 3;
    f->up.max_connections = 30;
    f->up.superuser_reserved = 3;
    f->up.n_clients = 12;
    f->up.n_active = 3;
    f->up.n_idle = 6;
    f->up.n_idle_in_transaction = 1;
    f->up.n_waiting_lock = 2;
    f->up.longest_query_s = 42.5;
    f->up.longest_query_pid = 4242;
    f->up.longest_query_application = "app" HOSTILE;
    f->up.longest_query_waiting = true;
    f->up.longest_xact_s = 60;
    alerttrack_init(&f->up_alerts);
    f->up_alerts.alerts[2].phase = PHASE_FIRING;
    f->up_alerts.alerts[2].severity = SEV_WARNING;
    f->up_alerts.alerts[2].active_since = NOW - 30;
    f->up_alerts.alerts[2].fired_at = NOW - 30;
    snprintf(f->up_alerts.alerts[2].summary, sizeof(f->up_alerts.alerts[2].summary),
             "query of %s running for 42s", "app" HOSTILE);
    f->up_alerts.alerts[1].phase = PHASE_PENDING;
    f->up_alerts.alerts[1].severity = SEV_WARNING;
    f->up_alerts.alerts[1].active_since = NOW - 5;
    snprintf(f->up_alerts.alerts[1].summary, sizeof(f->up_alerts.alerts[1].summary),
             "12 of 27 usable slots");
    f->up_alerts.alerts[0].resolved_at = NOW - 3600;

    f->actions[0] = "pgmedic fix terminate-blockers --application 'app" HOSTILE "'";
    f->advice[0] = "Keep transactions short in app" HOSTILE ".";
    f->finding.kind = "lock_contention";
    f->finding.alert = "DatabaseSlowQueries";
    f->finding.severity = SEV_WARNING;
    f->finding.summary = "pid 4241 of app" HOSTILE " blocks 2 sessions";
    f->finding.actions = f->actions;
    f->finding.n_actions = 1;
    f->finding.advice = f->advice;
    f->finding.n_advice = 1;
    f->findings.findings = &f->finding;
    f->findings.n_findings = 1;

    for (i = 0; i < 10; i++)
    {
        Sample *s = &f->samples[i];

        s->target = f->up.target;
        s->taken_at = NOW - 600 + 60.0 * (double) i;
        s->clients = 4 + (int64_t) i;
        s->active = 2;
        s->idle = 1 + (int64_t) i;
        s->idle_in_transaction = 1;
        s->waiting_lock = i > 6 ? 2 : 0;
        s->usable = 27;
        s->longest_query_s = i > 6 ? 10.0 * (double) (i - 6) : 0.2;
    }

    /* "replica": down, its failure alert firing. */
    f->down.target = "postgres@replica:5432";
    f->down.taken_at = NOW - 1;
    f->down.failure = CONN_SERVER_DOWN;
    f->down.failure_message = "connection refused: " HOSTILE;
    alerttrack_init(&f->down_alerts);
    f->down_alerts.alerts[0].phase = PHASE_FIRING;
    f->down_alerts.alerts[0].severity = SEV_CRITICAL;
    f->down_alerts.alerts[0].active_since = NOW - 90;
    f->down_alerts.alerts[0].fired_at = NOW - 30;
    snprintf(f->down_alerts.alerts[0].summary, sizeof(f->down_alerts.alerts[0].summary),
             "server_down");

    /* Incidents: one of prod (acknowledged), one of a server no target watches. */
    f->incidents[0].id = 3;
    f->incidents[0].target = f->up.target;
    f->incidents[0].alert = "DatabaseSlowQueries";
    f->incidents[0].title = "Slow " HOSTILE;
    f->incidents[0].severity = "warning";
    f->incidents[0].opened_at = NOW - 300;
    f->incidents[0].acked_at = NOW - 200;
    f->incidents[0].acked_by = "alice" HOSTILE;
    f->incidents[1].id = 2;
    f->incidents[1].target = "postgres@elsewhere:5432";
    f->incidents[1].title = "Elsewhere";
    f->incidents[1].severity = "critical";
    f->incidents[1].opened_at = NOW - 7200;

    f->targets[0].name = "prod" HOSTILE;
    f->targets[0].snap = &f->up;
    f->targets[0].alerts = &f->up_alerts;
    f->targets[0].findings = &f->findings;
    f->targets[0].samples = f->samples;
    f->targets[0].n_samples = 10;
    f->targets[0].probes_total = 120;
    f->targets[1].name = "replica";
    f->targets[1].snap = &f->down;
    f->targets[1].alerts = &f->down_alerts;
    f->targets[1].probes_total = 120;
    f->targets[1].probe_errors_total = 4;
    f->targets[2].name = "new";

    f->page.targets = f->targets;
    f->page.n_targets = 3;
    f->page.incidents = f->incidents;
    f->page.n_incidents = 2;
    f->page.now = NOW;
    f->page.refresh_s = 15;
}

/* The elements the page and its charts are made of: any other came from a string. */
static bool
known_element(const char *name, size_t n)
{
    static const char *const known[] = {
        "html",   "head", "meta",   "title", "style",   "body",     "header", "h1",
        "h2",     "h3",   "p",      "a",     "section", "table",    "tr",     "th",
        "td",     "span", "strong", "code",  "ol",      "ul",       "li",     "div",
        "figure", "svg",  "rect",   "line",  "text",    "polyline", "circle", NULL};
    size_t i;

    for (i = 0; known[i] != NULL; i++)
        if (strlen(known[i]) == n && strncmp(known[i], name, n) == 0)
            return true;
    return false;
}

static const XmlRules page_rules = {known_element, true};

/* Every <svg>...</svg> of the page, each checked on its own; how many there were. */
static size_t
assert_charts_ok(const char *html)
{
    const char *p = html;
    size_t n = 0;

    while ((p = strstr(p, "<svg ")) != NULL)
    {
        const char *end = strstr(p, "</svg>");
        char *svg;

        assert_non_null(end);
        end += strlen("</svg>");
        svg = strndup(p, (size_t) (end - p));
        assert_non_null(svg);
        assert_xml_ok(svg, &page_rules);
        assert_contains(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"");
        assert_contains(svg, "longest query (right axis)");
        free(svg);
        n++;
        p = end;
    }
    return n;
}

static char *
render(const StatusPage *page)
{
    StrBuf out = STRBUF_INIT;
    char *html;

    statuspage_render(&out, page);
    assert_true(strbuf_ok(&out));
    html = strdup(strbuf_str(&out));
    assert_non_null(html);
    strbuf_free(&out);
    return html;
}

/* --- the tests --- */

static void
test_checker_rejects_broken_xml(void **state)
{
    const char *why;

    (void) state;
    assert_true(xml_well_formed("<!DOCTYPE html><p x=\"1\"><a/>t &amp; u</p>", &page_rules, &why));
    assert_false(xml_well_formed("<p><a></p></a>", &page_rules, &why));
    assert_false(xml_well_formed("<p><script>x</script></p>", &page_rules, &why));
    assert_false(xml_well_formed("<p><a onclick=\"x\"/></p>", &page_rules, &why));
    assert_false(xml_well_formed("<a>x & y</a>", &page_rules, &why));
    assert_false(xml_well_formed("<a t=\"<\"/>", &page_rules, &why));
    assert_false(xml_well_formed("<a>\x01</a>", &page_rules, &why));
    assert_false(xml_well_formed("<a>\xff</a>", &page_rules, &why));
    assert_false(xml_well_formed("<p><meta charset=\"utf-8\"></p>", &page_rules, &why));
}

static void
test_hostile_strings_are_escaped(void **state)
{
    Fixture f;
    char *html;

    (void) state;
    build(&f);
    html = render(&f.page);
    assert_xml_ok(html, &page_rules);
    /* Not one tag or attribute of the hostile strings survives. */
    assert_not_contains(html, "<script");
    assert_not_contains(html, "<img");
    assert_not_contains(html, " onerror=\"");
    assert_not_contains(html, "\x01");
    assert_not_contains(html, "\xff");
    /* They are there, as text. */
    assert_contains(html, "prod&lt;script&gt;alert(1)&lt;/script&gt;&quot;&apos;&amp;amp;"
                          "&lt;img src=x onerror=alert(2)&gt; \xEF\xBF\xBD");
    assert_contains(html, "postgres@db&lt;script&gt;");
    assert_contains(html, "pid 4242, app&lt;script&gt;");
    assert_contains(html, "alice&lt;script&gt;");
    assert_contains(html, "Slow &lt;script&gt;");
    assert_contains(html, "connection refused: &lt;script&gt;");
    /* Nothing fetched, nothing run; the page reloads itself. */
    assert_contains(html, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                          "'none'; style-src 'unsafe-inline'");
    assert_contains(html, "<meta http-equiv=\"refresh\" content=\"15\"/>");
    assert_not_contains(html, " src=\"");
    assert_not_contains(html, "<link");
    free(html);
}

static void
test_alert_finding_and_states(void **state)
{
    Fixture f;
    char *html;
    const char *firing, *pending, *inactive;

    (void) state;
    build(&f);
    html = render(&f.page);
    assert_contains(html, "<title>pgmedic: 1 down, 1 warning, 1 pending</title>");
    assert_contains(html, "3 targets, 1 down, 2 alerts firing, 2 open incidents.");
    /* Each target's state. */
    assert_contains(html, "id=\"target-1\" data-state=\"warning\"");
    assert_contains(html, "id=\"target-2\" data-state=\"down\"");
    assert_contains(html, "id=\"target-3\" data-state=\"pending\"");
    assert_contains(html, "Waiting for the first probe.");
    /* The firing alert, first, with its summary; then the pending one, then the inactive one. */
    firing = strstr(html, "<tr class=\"p-firing\" data-alert=\"DatabaseSlowQueries\" "
                          "data-state=\"firing\">");
    pending = strstr(html, "<tr class=\"p-pending\" data-alert=\"DatabaseHighConnections\"");
    inactive = strstr(html, "<tr class=\"p-inactive\" data-alert=\"DatabaseConnectionFailure\"");
    assert_non_null(firing);
    assert_non_null(pending);
    assert_non_null(inactive);
    assert_true(firing < pending && pending < inactive);
    assert_contains(firing, "query of app&lt;script&gt;");
    assert_contains(inactive, "resolved at 2030-03-17T16:46:40Z (1h 00min ago)");
    /* The down target: its failure and its critical alert. */
    assert_contains(html,
                    "<p class=\"failure\"><strong>server_down</strong>: connection refused: ");
    assert_contains(html, "<tr class=\"p-firing\" data-alert=\"DatabaseConnectionFailure\"");
    /* The finding, with its command and advice. */
    assert_contains(html, "<li class=\"finding\" data-kind=\"lock_contention\">");
    assert_contains(html, "<span class=\"kind\">lock_contention</span>");
    assert_contains(html, "explains DatabaseSlowQueries");
    assert_contains(html, "pid 4241 of app&lt;script&gt;");
    assert_contains(html, "<code>pgmedic fix terminate-blockers --application &apos;app&lt;");
    assert_contains(html, "<li>Keep transactions short in app&lt;");
    /* The connections of the reachable one. */
    assert_contains(html, "<td class=\"num\">12 / 27</td>");
    free(html);
}

static void
test_incidents(void **state)
{
    Fixture f;
    char *html;

    (void) state;
    build(&f);
    html = render(&f.page);
    /* Both in the page's table, prod's also in its section. */
    assert_int_equal(count_substr(html, "data-incident=\"3\""), 2);
    assert_int_equal(count_substr(html, "data-incident=\"2\""), 1);
    assert_contains(html, "acknowledged by alice&lt;");
    assert_contains(html, "2030-03-17T17:41:40Z (5min 00s ago)");
    /* And marked on prod's chart, which reaches back to it. */
    assert_contains(html, ">incident 3 opened</text>");
    free(html);

    f.page.n_incidents = 0;
    f.page.store_error = "could not open store \"/x\": <denied>";
    html = render(&f.page);
    assert_xml_ok(html, &page_rules);
    assert_contains(html, "Incidents and samples could not be read: could not open store "
                          "&quot;/x&quot;: &lt;denied&gt;");
    assert_contains(html, "Unknown: the store could not be read.");
    free(html);
}

static void
test_charts(void **state)
{
    Fixture f;
    char *html;

    (void) state;
    build(&f);
    html = render(&f.page);
    /* Prod's with its ten samples, the down one's empty; none for the target not probed yet. */
    assert_int_equal(assert_charts_ok(html), 2);
    assert_int_equal(count_substr(html, "<circle "), 10);
    assert_contains(html, "<title>prod&lt;script&gt;");
    assert_contains(html, ": connections by state and longest query</title>");
    assert_contains(html, "<h3>Connections by state and longest query, last 6h 00min</h3>");
    assert_contains(html, ">no samples in the last 6h 00min</text>");
    /* Inline: no XML declaration inside the HTML. */
    assert_not_contains(html, "<?xml");
    free(html);

    /* A window of one hour. */
    f.page.window_s = 3600;
    html = render(&f.page);
    assert_contains(html, "last 1h 00min");
    free(html);
}

static void
test_no_targets(void **state)
{
    StatusPage page;
    char *html;

    (void) state;
    memset(&page, 0, sizeof(page));
    page.now = NOW;
    html = render(&page);
    assert_xml_ok(html, &page_rules);
    assert_contains(html, "<title>pgmedic: no targets</title>");
    assert_contains(html, "No target is configured.");
    assert_not_contains(html, "http-equiv=\"refresh\"");
    free(html);
}

static void
test_collect_samples_thins_and_copies(void **state)
{
    StatusSamples s;
    char label[32];
    size_t i, spike = 5000 + 1234;
    double last = 0;
    bool seen = false;

    (void) state;
    memset(&s, 0, sizeof(s));
    for (i = 0; i < 10000; i++)
    {
        Sample in;

        memset(&in, 0, sizeof(in));
        snprintf(label, sizeof(label), "t%zu", i);
        in.target = label;
        in.taken_at = NOW - 10000 + (double) i;
        in.clients = i == spike ? 99 : 5;
        in.usable = 20;
        assert_int_equal(statuspage_collect_sample(&in, &s), 0);
    }
    assert_false(s.failed);
    assert_true(s.n <= STATUSPAGE_MAX_SAMPLES);
    assert_true(s.n >= STATUSPAGE_MAX_SAMPLES / 2);
    assert_int_equal(s.stride, 8); /* 10000 read: 1440 then halved three times */
    for (i = 0; i < s.n; i++)
    {
        assert_null(s.samples[i].target);
        assert_true(s.samples[i].taken_at > last);
        last = s.samples[i].taken_at;
        seen = seen || s.samples[i].clients == 99;
    }
    /* The spike survives the thinning. */
    assert_true(seen);
    statuspage_samples_free(&s);
    assert_null(s.samples);

    /* Few samples: all kept as they came. */
    for (i = 0; i < 3; i++)
    {
        Sample in;

        memset(&in, 0, sizeof(in));
        in.taken_at = (double) i;
        assert_int_equal(statuspage_collect_sample(&in, &s), 0);
    }
    assert_int_equal(s.n, 3);
    statuspage_samples_free(&s);
}

static void
test_collect_incidents_copies(void **state)
{
    StatusIncidents set;
    char target[32], title[32];
    Incident inc;
    int i;

    (void) state;
    memset(&set, 0, sizeof(set));
    for (i = 0; i < 40; i++)
    {
        memset(&inc, 0, sizeof(inc));
        snprintf(target, sizeof(target), "db%d@h:5432", i);
        snprintf(title, sizeof(title), "title %d", i);
        inc.id = i + 1;
        inc.target = target;
        inc.title = title;
        inc.severity = "warning";
        inc.opened_at = NOW - i;
        assert_int_equal(statuspage_collect_incident(&inc, &set), 0);
    }
    /* The buffers were reused for every row: the copies must not follow them. */
    snprintf(target, sizeof(target), "overwritten");
    assert_false(set.failed);
    assert_int_equal(set.n, 40);
    assert_string_equal(set.incidents[0].target, "db0@h:5432");
    assert_string_equal(set.incidents[39].title, "title 39");
    assert_null(set.incidents[7].alert);
    assert_null(set.incidents[7].acked_by);
    statuspage_incidents_free(&set);
    assert_int_equal(set.n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checker_rejects_broken_xml),
        cmocka_unit_test(test_hostile_strings_are_escaped),
        cmocka_unit_test(test_alert_finding_and_states),
        cmocka_unit_test(test_incidents),
        cmocka_unit_test(test_charts),
        cmocka_unit_test(test_no_targets),
        cmocka_unit_test(test_collect_samples_thins_and_copies),
        cmocka_unit_test(test_collect_incidents_copies),
    };

    return cmocka_run_group_tests_name("render/statuspage", tests, NULL, NULL);
}
