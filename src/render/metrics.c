/*
 * metrics.c - the Prometheus text exposition of serve's targets.
 *
 * The text format wants each family's samples together, after one HELP and
 * one TYPE line, so the renderer walks the families and, for each, the
 * targets.  What a family needs beyond the snapshot's own numbers (lock
 * trees, table counts, the longest idle times) is derived once per target
 * before the first family.  Everything is appended straight to the caller's
 * StrBuf; the only allocations are scratch arrays for the lock graph and the
 * application ranking, linear in the snapshot (sorting is n log n).
 */
#include "render/metrics.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diagnose.h"
#include "util/utf8.h"

/* The application label value that sums every application not in the top N. */
#define OTHER_APPLICATION "other"

/* Numbers derived from one target's snapshot, valid when up. */
typedef struct
{
    bool probed; /* a probe finished: snap != NULL */
    bool up;     /* ... and it read the server */
    int64_t lock_trees;
    int64_t lock_depth;
    double longest_lock_wait_s;
    double longest_idle_in_xact_s;
    double longest_idle_s;
    int64_t dead_tuples;
    int64_t bloated_tables;
    int64_t stale_tables;
    int64_t wal_bytes;     /* -1 when unknown */
    int64_t max_wal_bytes; /* -1 when unknown */
} Derived;

/* An application and its connections, for the top-N ranking. */
typedef struct
{
    const char *name;
    int64_t count;
} AppCount;

typedef struct
{
    int top_apps;
    AppCount *apps; /* scratch for the ranking, room for the most groups of any target */
} Render;

/* ------------------------------------------------------------ formatting */

/*
 * A label value as the text format wants it: backslash, double quote and
 * line feed escaped.  Application names come from the server (and a replayed
 * snapshot from anywhere): a byte that is not UTF-8 becomes U+FFFD, since
 * Prometheus rejects the whole scrape for one invalid label value.
 */
static void
append_label_value(StrBuf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *) (s ? s : "");
    const unsigned char *run = p;

    while (*p != '\0')
    {
        const char *esc;
        size_t len = 1;

        if (*p == '\\')
            esc = "\\\\";
        else if (*p == '"')
            esc = "\\\"";
        else if (*p == '\n')
            esc = "\\n";
        else if (*p < 0x80)
        {
            p++;
            continue;
        }
        else if ((len = pm_utf8_len(p)) > 0)
        {
            p += len;
            continue;
        }
        else
        {
            esc = "\xEF\xBF\xBD";
            len = 1;
        }
        strbuf_append_len(out, (const char *) run, (size_t) (p - run));
        strbuf_append(out, esc);
        p += len;
        run = p;
    }
    strbuf_append_len(out, (const char *) run, (size_t) (p - run));
}

/* The shortest of %.15g and %.17g that reads back as v; NaN and infinities as Go spells them. */
static void
append_double(StrBuf *out, double v)
{
    char buf[40];

    if (isnan(v))
    {
        strbuf_append(out, "NaN");
        return;
    }
    if (isinf(v))
    {
        strbuf_append(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    snprintf(buf, sizeof(buf), "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, sizeof(buf), "%.17g", v);
    strbuf_append(out, buf);
}

static void
append_int(StrBuf *out, int64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%lld", (long long) v);
    strbuf_append(out, buf);
}

/* ------------------------------------------------------------ families */

typedef struct
{
    StrBuf *out;
    const char *name;
    const char *type;
    const char *help;
    bool started; /* HELP and TYPE written */
} Family;

/*
 * Starts a sample of f for target: the family's HELP and TYPE before its
 * first sample, then `name{target="..."`.  The caller adds labels with
 * sample_label() and ends with sample_int() or sample_double().
 */
static void
sample_begin(Family *f, const MetricsTarget *t)
{
    if (!f->started)
    {
        f->started = true;
        strbuf_append(f->out, "# HELP ");
        strbuf_append(f->out, f->name);
        strbuf_append_char(f->out, ' ');
        strbuf_append(f->out, f->help);
        strbuf_append(f->out, "\n# TYPE ");
        strbuf_append(f->out, f->name);
        strbuf_append_char(f->out, ' ');
        strbuf_append(f->out, f->type);
        strbuf_append_char(f->out, '\n');
    }
    strbuf_append(f->out, f->name);
    strbuf_append(f->out, "{target=\"");
    append_label_value(f->out, t->target);
    strbuf_append_char(f->out, '"');
}

static void
sample_label(Family *f, const char *key, const char *value)
{
    strbuf_append_char(f->out, ',');
    strbuf_append(f->out, key);
    strbuf_append(f->out, "=\"");
    append_label_value(f->out, value);
    strbuf_append_char(f->out, '"');
}

static void
sample_int(Family *f, int64_t v)
{
    strbuf_append(f->out, "} ");
    append_int(f->out, v);
    strbuf_append_char(f->out, '\n');
}

static void
sample_double(Family *f, double v)
{
    strbuf_append(f->out, "} ");
    append_double(f->out, v);
    strbuf_append_char(f->out, '\n');
}

/* ------------------------------------------------------------ lock trees */

typedef struct
{
    int32_t pid;
    const Session *s; /* NULL: a blocker that is not in the snapshot */
} LockNode;

static int
lock_node_cmp(const void *pa, const void *pb)
{
    const LockNode *a = pa, *b = pb;

    if (a->pid != b->pid)
        return a->pid < b->pid ? -1 : 1;
    /* The entry with a session first, so deduplication keeps it. */
    return (a->s == NULL) - (b->s == NULL);
}

static size_t
lock_node_of(const LockNode *node, size_t n, int32_t pid)
{
    size_t lo = 0, hi = n;

    while (lo < hi)
    {
        size_t mid = lo + (hi - lo) / 2;

        if (node[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * Lock trees as triage sees them (core/diagnose.c): a root blocks someone
 * and waits for no one; the depth of a tree is its longest chain of waiters,
 * in edges (a root with one waiter: 1).  Sessions that wait on each other in
 * a cycle have no root and add no tree.  Linear in sessions and edges after
 * one sort: each node's depth is computed once, without recursion, and an
 * edge back into the current path (a cycle) is not followed.  -1 when out of
 * memory.
 */
static int
lock_trees(const Snapshot *snap, int64_t *n_trees, int64_t *max_depth)
{
    enum
    {
        WHITE = 0,
        ON_PATH = 1,
        DONE = 2
    };

    size_t n_edges = 0, n = 0, i, j, v;
    LockNode *node = NULL;
    size_t *first = NULL, *wait = NULL, *fill = NULL, *stack = NULL, *next = NULL;
    int64_t *depth = NULL;
    unsigned char *color = NULL;
    int rc = -1;

    *n_trees = 0;
    *max_depth = 0;
    for (i = 0; i < snap->n_sessions; i++)
        n_edges += snap->sessions[i].n_blocked_by;
    if (n_edges == 0)
        return 0;

    /*
     * Only waiters and their blockers are nodes: a session that waits for no
     * one is a root when it blocks someone, whether the snapshot lists it or
     * not.  Most sessions never wait, so the sort stays small.
     */
    node = malloc((snap->n_sessions + n_edges) * sizeof(LockNode));
    if (node == NULL)
        goto done;
    for (i = 0; i < snap->n_sessions; i++)
    {
        const Session *s = &snap->sessions[i];

        if (s->n_blocked_by == 0)
            continue;
        node[n].pid = s->pid;
        node[n++].s = s;
        for (j = 0; j < s->n_blocked_by; j++)
        {
            node[n].pid = s->blocked_by[j];
            node[n++].s = NULL;
        }
    }
    qsort(node, n, sizeof(LockNode), lock_node_cmp);
    for (i = 0, v = 0; i < n; i++)
        if (v == 0 || node[v - 1].pid != node[i].pid)
            node[v++] = node[i];
    n = v;

    /* Edges blocker -> waiter in compressed rows: waiters of v are wait[first[v] .. first[v+1]). */
    first = calloc(n + 1, sizeof(size_t));
    fill = calloc(n + 1, sizeof(size_t));
    wait = calloc(n_edges, sizeof(size_t));
    stack = calloc(n + 1, sizeof(size_t));
    next = calloc(n + 1, sizeof(size_t));
    depth = calloc(n + 1, sizeof(int64_t));
    color = calloc(n + 1, 1);
    if (first == NULL || fill == NULL || wait == NULL || stack == NULL || next == NULL ||
        depth == NULL || color == NULL)
        goto done;
    for (v = 0; v < n; v++)
        for (j = 0; node[v].s != NULL && j < node[v].s->n_blocked_by; j++)
            if (node[v].s->blocked_by[j] != node[v].pid)
                first[lock_node_of(node, n, node[v].s->blocked_by[j]) + 1]++;
    for (v = 0; v < n; v++)
        first[v + 1] += first[v];
    for (v = 0; v < n; v++)
        for (j = 0; node[v].s != NULL && j < node[v].s->n_blocked_by; j++)
            if (node[v].s->blocked_by[j] != node[v].pid)
            {
                size_t blocker = lock_node_of(node, n, node[v].s->blocked_by[j]);

                wait[first[blocker] + fill[blocker]++] = v;
            }

    for (v = 0; v < n; v++)
    {
        size_t top = 0;

        /* A root: blocks someone, waits for no one (so no earlier walk reached it). */
        if (first[v + 1] == first[v] || (node[v].s != NULL && node[v].s->n_blocked_by > 0))
            continue;
        (*n_trees)++;
        stack[top++] = v;
        color[v] = ON_PATH;
        next[v] = first[v];
        while (top > 0)
        {
            size_t u = stack[top - 1];

            if (next[u] < first[u + 1])
            {
                size_t w = wait[next[u]++];

                if (color[w] == WHITE)
                {
                    color[w] = ON_PATH;
                    next[w] = first[w];
                    stack[top++] = w;
                }
                else if (color[w] == DONE && depth[w] + 1 > depth[u])
                    depth[u] = depth[w] + 1;
            }
            else
            {
                color[u] = DONE;
                top--;
                if (top > 0 && depth[u] + 1 > depth[stack[top - 1]])
                    depth[stack[top - 1]] = depth[u] + 1;
            }
        }
        if (depth[v] > *max_depth)
            *max_depth = depth[v];
    }
    rc = 0;

done:
    free(node);
    free(first);
    free(fill);
    free(wait);
    free(stack);
    free(next);
    free(depth);
    free(color);
    return rc;
}

/* ------------------------------------------------------------ per target */

/* The same tests as triage's stale_statistics and table_bloat (core/diagnose.c). */
static bool
table_is_stale(const TableStat *t, const Thresholds *th)
{
    if (t->n_mod_since_analyze < DIAGNOSE_STALE_MIN_MODIFIED)
        return false;
    return t->last_analyze_age_s < 0 ||
           (double) t->n_mod_since_analyze > th->stale_statistics_ratio * (double) t->n_live_tup;
}

static bool
table_is_bloated(const TableStat *t, const Thresholds *th)
{
    return t->n_dead_tup >= DIAGNOSE_BLOAT_MIN_DEAD &&
           (double) t->n_dead_tup > th->dead_tuple_ratio * (double) (t->n_live_tup + t->n_dead_tup);
}

static double
max_d(double a, double b)
{
    return a > b ? a : b;
}

static int
derive(const MetricsTarget *t, const Thresholds *th, Derived *d)
{
    const Snapshot *snap = t->snap;
    size_t i;

    memset(d, 0, sizeof(*d));
    d->wal_bytes = -1;
    d->max_wal_bytes = -1;
    d->probed = snap != NULL;
    d->up = snap != NULL && snap->failure == CONN_OK;
    if (!d->up)
        return 0;

    /* Groups are the server's top groups; sessions list every idle one past idle_connection. */
    for (i = 0; i < snap->n_groups; i++)
    {
        const BackendGroup *g = &snap->groups[i];

        if (g->state == NULL)
            continue;
        if (strcmp(g->state, "idle") == 0)
            d->longest_idle_s = max_d(d->longest_idle_s, g->oldest_state_age_s);
        else if (snapshot_state_is_idle_in_xact(g->state))
            d->longest_idle_in_xact_s = max_d(d->longest_idle_in_xact_s, g->oldest_state_age_s);
    }
    for (i = 0; i < snap->n_sessions; i++)
    {
        const Session *s = &snap->sessions[i];

        if (s->lock_wait_s > 0)
            d->longest_lock_wait_s = max_d(d->longest_lock_wait_s, s->lock_wait_s);
        if (s->state == NULL)
            continue;
        if (strcmp(s->state, "idle") == 0)
            d->longest_idle_s = max_d(d->longest_idle_s, s->state_age_s);
        else if (snapshot_state_is_idle_in_xact(s->state))
            d->longest_idle_in_xact_s = max_d(d->longest_idle_in_xact_s, s->state_age_s);
    }
    if (lock_trees(snap, &d->lock_trees, &d->lock_depth) != 0)
        return -1;

    for (i = 0; i < snap->n_tables; i++)
    {
        const TableStat *tab = &snap->tables[i];

        if (tab->n_dead_tup > 0)
            d->dead_tuples += tab->n_dead_tup;
        if (table_is_bloated(tab, th))
            d->bloated_tables++;
        if (table_is_stale(tab, th))
            d->stale_tables++;
    }

    if (snap->wal_bytes >= 0)
        d->wal_bytes = snap->wal_bytes;
    else if (snap->host.available && snap->host.wal_dir_bytes >= 0)
        d->wal_bytes = snap->host.wal_dir_bytes;
    d->max_wal_bytes = snapshot_setting_bytes(snap, "max_wal_size");
    if (d->max_wal_bytes <= 0)
        d->max_wal_bytes = -1;
    return 0;
}

/* ------------------------------------------------------------ the families */

typedef enum
{
    WHEN_ALWAYS,
    WHEN_PROBED,
    WHEN_UP
} When;

/* The families with one sample per target and no other label. */
typedef enum
{
    V_UP,
    V_PROBES,
    V_PROBE_ERRORS,
    V_PROBE_DURATION,
    V_LOGIN_REFUSED,
    V_SLOTS_USABLE,
    V_SLOTS_RESERVED,
    V_LONGEST_QUERY,
    V_LONGEST_XACT,
    V_LONGEST_IDLE_IN_XACT,
    V_LONGEST_IDLE,
    V_LOCK_WAITING,
    V_LONGEST_LOCK_WAIT,
    V_LOCK_TREES,
    V_LOCK_DEPTH,
    V_DEAD_TUPLES,
    V_BLOATED_TABLES,
    V_STALE_TABLES,
    V_WAL_BYTES,
    V_MAX_WAL_BYTES
} ValueId;

static void
emit_scalar(Family *f, ValueId id, When when, const MetricsTarget *t, const Derived *d)
{
    const Snapshot *snap = t->snap;

    if ((when == WHEN_PROBED && !d->probed) || (when == WHEN_UP && !d->up))
        return;
    if ((id == V_WAL_BYTES && d->wal_bytes < 0) || (id == V_MAX_WAL_BYTES && d->max_wal_bytes < 0))
        return;
    sample_begin(f, t);
    switch (id)
    {
        case V_UP:
            sample_int(f, d->up ? 1 : 0);
            break;
        case V_PROBES:
            sample_int(f, (int64_t) t->probes_total);
            break;
        case V_PROBE_ERRORS:
            sample_int(f, (int64_t) t->probe_errors_total);
            break;
        case V_PROBE_DURATION:
            sample_double(f, t->last_probe_seconds);
            break;
        case V_LOGIN_REFUSED:
            sample_int(f, snap->via_reserved_slot ? 1 : 0);
            break;
        case V_SLOTS_USABLE:
            sample_int(f, snapshot_usable_slots(snap));
            break;
        case V_SLOTS_RESERVED:
            sample_int(f, snap->superuser_reserved + snap->reserved);
            break;
        case V_LONGEST_QUERY:
            sample_double(f, snap->longest_query_s);
            break;
        case V_LONGEST_XACT:
            sample_double(f, snap->longest_xact_s);
            break;
        case V_LONGEST_IDLE_IN_XACT:
            sample_double(f, d->longest_idle_in_xact_s);
            break;
        case V_LONGEST_IDLE:
            sample_double(f, d->longest_idle_s);
            break;
        case V_LOCK_WAITING:
            sample_int(f, snap->n_waiting_lock);
            break;
        case V_LONGEST_LOCK_WAIT:
            sample_double(f, d->longest_lock_wait_s);
            break;
        case V_LOCK_TREES:
            sample_int(f, d->lock_trees);
            break;
        case V_LOCK_DEPTH:
            sample_int(f, d->lock_depth);
            break;
        case V_DEAD_TUPLES:
            sample_int(f, d->dead_tuples);
            break;
        case V_BLOATED_TABLES:
            sample_int(f, d->bloated_tables);
            break;
        case V_STALE_TABLES:
            sample_int(f, d->stale_tables);
            break;
        case V_WAL_BYTES:
            sample_int(f, d->wal_bytes);
            break;
        case V_MAX_WAL_BYTES:
            sample_int(f, d->max_wal_bytes);
            break;
    }
}

/* pgmedic_probe_failure_info: one sample, while the last probe failed. */
static void
emit_failure(Family *f, const MetricsTarget *t, const Derived *d)
{
    if (!d->probed || d->up)
        return;
    sample_begin(f, t);
    sample_label(f, "reason", snapshot_failure_name(t->snap->failure));
    sample_int(f, 1);
}

/* pgmedic_alert_firing: each alert of the tracker, 1 while firing. */
static void
emit_alerts(Family *f, const MetricsTarget *t)
{
    size_t i;

    if (t->alerts == NULL)
        return;
    for (i = 0; i < ALERT_RULES; i++)
    {
        const AlertState *a = &t->alerts->alerts[i];

        sample_begin(f, t);
        sample_label(f, "alertname", a->name ? a->name : rules_alert_names[i]);
        sample_int(f, a->phase == PHASE_FIRING ? 1 : 0);
    }
}

/* pgmedic_connections: the client backends by state; the four add up to all of them. */
static void
emit_states(Family *f, const MetricsTarget *t)
{
    const Snapshot *snap = t->snap;
    int64_t other = snap->n_clients - snap->n_active - snap->n_idle - snap->n_idle_in_transaction;

    const struct
    {
        const char *state;
        int64_t count;
    } states[] = {
        {"active", snap->n_active},
        {"idle", snap->n_idle},
        {"idle in transaction", snap->n_idle_in_transaction},
        {"other", other > 0 ? other : 0},
    };

    size_t i;

    for (i = 0; i < PM_LENGTHOF(states); i++)
    {
        sample_begin(f, t);
        sample_label(f, "state", states[i].state);
        sample_int(f, states[i].count);
    }
}

static int
app_name_cmp(const void *pa, const void *pb)
{
    const AppCount *a = pa, *b = pb;

    return strcmp(a->name, b->name);
}

/* Most connections first; ties by name, so a scrape is the same as the last one. */
static int
app_count_cmp(const void *pa, const void *pb)
{
    const AppCount *a = pa, *b = pb;

    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return strcmp(a->name, b->name);
}

/*
 * pgmedic_application_connections: the top_apps applications with most
 * connections under their own name, everyone else under "other", which is
 * always there.  "other" is the client count minus the named ones, so the
 * family adds up to the client backends even when the probe capped its
 * groups.  A real application called "other" is counted in that bucket.
 */
static void
emit_applications(Family *f, const MetricsTarget *t, const Render *r)
{
    const Snapshot *snap = t->snap;
    AppCount *apps = r->apps;
    size_t n = 0, m = 0, i;
    int64_t named = 0, other;
    int shown = 0;

    for (i = 0; i < snap->n_groups; i++)
    {
        const char *name = snap->groups[i].application ? snap->groups[i].application : "";

        if (snap->groups[i].count <= 0 || strcmp(name, OTHER_APPLICATION) == 0)
            continue;
        apps[n].name = name;
        apps[n++].count = snap->groups[i].count;
    }
    /* One entry per application (groups split them by state, client and role). */
    qsort(apps, n, sizeof(AppCount), app_name_cmp);
    for (i = 0; i < n; i++)
    {
        if (m > 0 && strcmp(apps[m - 1].name, apps[i].name) == 0)
            apps[m - 1].count += apps[i].count;
        else
            apps[m++] = apps[i];
    }
    qsort(apps, m, sizeof(AppCount), app_count_cmp);
    for (i = 0; i < m && shown < r->top_apps; i++, shown++)
    {
        sample_begin(f, t);
        sample_label(f, "application", apps[i].name);
        sample_int(f, apps[i].count);
        named += apps[i].count;
    }
    other = snap->n_clients - named;
    sample_begin(f, t);
    sample_label(f, "application", OTHER_APPLICATION);
    sample_int(f, other > 0 ? other : 0);
}

typedef enum
{
    F_SCALAR,
    F_FAILURE,
    F_ALERTS,
    F_STATES,
    F_APPLICATIONS
} FamilyKind;

typedef struct
{
    const char *name;
    const char *type;
    const char *help;
    FamilyKind kind;
    ValueId id; /* F_SCALAR */
    When when;  /* F_SCALAR */
} FamilyDef;

/*
 * The families, in the order they are written.  docs/alerts.md has the same
 * table; rules/pgmedic.rules.yml uses these names.
 */
static const FamilyDef families[] = {
    {"pgmedic_up", "gauge",
     "1 when the last probe read the server, 0 when it could not (see "
     "pgmedic_probe_failure_info); absent before the first probe.",
     F_SCALAR, V_UP, WHEN_PROBED},
    {"pgmedic_probe_failure_info", "gauge",
     "1 while the last probe failed; reason says why (server_down, timeout, too_many_clients, "
     "auth_failure, database_missing, starting_up, shutting_down, in_recovery, no_attempt, "
     "error).",
     F_FAILURE, V_UP, WHEN_PROBED},
    {"pgmedic_probes_total", "counter", "Probes of the target that finished, failed or not.",
     F_SCALAR, V_PROBES, WHEN_ALWAYS},
    {"pgmedic_probe_errors_total", "counter",
     "Probes of the target that could not read the server.", F_SCALAR, V_PROBE_ERRORS, WHEN_ALWAYS},
    {"pgmedic_probe_duration_seconds", "gauge", "How long the last probe took.", F_SCALAR,
     V_PROBE_DURATION, WHEN_PROBED},
    {"pgmedic_alert_firing", "gauge",
     "1 while pgmedic's own evaluation of the runbook alert alertname is firing (past its "
     "[alerts] for duration), else 0.",
     F_ALERTS, V_UP, WHEN_PROBED},
    {"pgmedic_login_refused", "gauge",
     "1 when ordinary logins were refused for lack of slots and the probe read the server "
     "through the target's reserved_conninfo.",
     F_SCALAR, V_LOGIN_REFUSED, WHEN_UP},
    {"pgmedic_connections", "gauge",
     "Client backends by state (active, idle, idle in transaction including aborted, other), "
     "pgmedic's own excluded; they add up to every client backend of the server.",
     F_STATES, V_UP, WHEN_UP},
    {"pgmedic_application_connections", "gauge",
     "Client backends by application_name: the applications with most connections, the rest "
     "under application=\"other\".",
     F_APPLICATIONS, V_UP, WHEN_UP},
    {"pgmedic_connection_slots_usable", "gauge",
     "Connection slots ordinary roles may use: max_connections minus "
     "superuser_reserved_connections and reserved_connections.",
     F_SCALAR, V_SLOTS_USABLE, WHEN_UP},
    {"pgmedic_connection_slots_reserved", "gauge",
     "Connection slots kept for superusers and pg_use_reserved_connections: "
     "superuser_reserved_connections plus reserved_connections.",
     F_SCALAR, V_SLOTS_RESERVED, WHEN_UP},
    {"pgmedic_longest_query_seconds", "gauge", "Age of the oldest active query, 0 when none.",
     F_SCALAR, V_LONGEST_QUERY, WHEN_UP},
    {"pgmedic_longest_transaction_seconds", "gauge",
     "Age of the oldest open transaction, 0 when none.", F_SCALAR, V_LONGEST_XACT, WHEN_UP},
    {"pgmedic_longest_idle_in_transaction_seconds", "gauge",
     "Longest time a session has been idle in transaction (since state_change), 0 when none.",
     F_SCALAR, V_LONGEST_IDLE_IN_XACT, WHEN_UP},
    {"pgmedic_longest_idle_seconds", "gauge",
     "Longest time a client session has been idle (since state_change), 0 when none.", F_SCALAR,
     V_LONGEST_IDLE, WHEN_UP},
    {"pgmedic_lock_waiting_sessions", "gauge", "Client sessions waiting on a lock.", F_SCALAR,
     V_LOCK_WAITING, WHEN_UP},
    {"pgmedic_longest_lock_wait_seconds", "gauge",
     "Longest time a session has waited on a lock (pg_locks.waitstart), 0 when none.", F_SCALAR,
     V_LONGEST_LOCK_WAIT, WHEN_UP},
    {"pgmedic_lock_trees", "gauge",
     "Root blockers: sessions that block others and wait for no one (pg_blocking_pids).", F_SCALAR,
     V_LOCK_TREES, WHEN_UP},
    {"pgmedic_lock_chain_max_depth", "gauge",
     "Longest chain of lock waiters below a root blocker (1: the root blocks sessions that "
     "block no one), 0 when none.",
     F_SCALAR, V_LOCK_DEPTH, WHEN_UP},
    {"pgmedic_dead_tuples", "gauge",
     "Dead tuples in the user tables the probe looked at (those with most dead tuples first).",
     F_SCALAR, V_DEAD_TUPLES, WHEN_UP},
    {"pgmedic_bloated_tables", "gauge",
     "Of those tables, the ones past dead_tuple_ratio, as triage's table_bloat counts them.",
     F_SCALAR, V_BLOATED_TABLES, WHEN_UP},
    {"pgmedic_stale_statistics_tables", "gauge",
     "Of those tables, the ones past stale_statistics_ratio, as triage's stale_statistics "
     "counts them.",
     F_SCALAR, V_STALE_TABLES, WHEN_UP},
    {"pgmedic_wal_bytes", "gauge", "Size of pg_wal; absent when it could not be read.", F_SCALAR,
     V_WAL_BYTES, WHEN_UP},
    {"pgmedic_max_wal_size_bytes", "gauge", "The max_wal_size setting.", F_SCALAR, V_MAX_WAL_BYTES,
     WHEN_UP},
};

int
metrics_render(StrBuf *out, const MetricsTarget *targets, size_t n, const Thresholds *th,
               int top_apps)
{
    Render r;
    Derived *derived = NULL;
    size_t most_groups = 0, i, k;
    int rc = -1;

    assert(th != NULL);
    memset(&r, 0, sizeof(r));
    if (n == 0)
        return strbuf_ok(out) ? 0 : -1;
    derived = calloc(n, sizeof(Derived));
    if (derived == NULL)
        goto done;
    for (i = 0; i < n; i++)
    {
        if (derive(&targets[i], th, &derived[i]) != 0)
            goto done;
        if (derived[i].up && targets[i].snap->n_groups > most_groups)
            most_groups = targets[i].snap->n_groups;
    }
    r.apps = malloc((most_groups + 1) * sizeof(AppCount));
    if (r.apps == NULL)
        goto done;
    r.top_apps = top_apps > 0 ? top_apps : 0;

    for (k = 0; k < PM_LENGTHOF(families); k++)
    {
        const FamilyDef *def = &families[k];
        Family f = {out, def->name, def->type, def->help, false};

        for (i = 0; i < n; i++)
        {
            const MetricsTarget *t = &targets[i];
            const Derived *d = &derived[i];

            switch (def->kind)
            {
                case F_SCALAR:
                    emit_scalar(&f, def->id, def->when, t, d);
                    break;
                case F_FAILURE:
                    emit_failure(&f, t, d);
                    break;
                case F_ALERTS:
                    emit_alerts(&f, t);
                    break;
                case F_STATES:
                    if (d->up)
                        emit_states(&f, t);
                    break;
                case F_APPLICATIONS:
                    if (d->up)
                        emit_applications(&f, t, &r);
                    break;
            }
        }
    }
    rc = strbuf_ok(out) ? 0 : -1;

done:
    free(r.apps);
    free(derived);
    return rc;
}
