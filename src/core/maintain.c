/*
 * maintain.c - the maintenance planner and the window (pure).
 *
 * Each table and index is judged on its own numbers: dead tuples and
 * modifications since the last analyze against [thresholds], the age of
 * relfrozenxid/relminmxid against autovacuum's forced-vacuum ages, and a
 * B-tree's size against what a fresh build of it would take.  The estimates
 * are deliberately simple (bytes to read and write over a throughput): they
 * decide what fits in a window, and a measured throughput makes them good.
 */
#include "core/maintain.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Per-statement cost that does not depend on size: connection round trips, catalog work. */
#define STATEMENT_OVERHEAD_S 0.1
/* ANALYZE reads at most 300 x default_statistics_target (100) pages. */
#define ANALYZE_SAMPLE_PAGES 30000
/* B-tree page layout: page header 24 bytes, special space 16, line pointer 4, tuple header 8. */
#define BTREE_PAGE_OVERHEAD 40
#define BTREE_ITEM_OVERHEAD 4
#define BTREE_TUPLE_HEADER  8
#define MAXALIGN_BYTES      8

static const char *const kind_names[MAINT_N_KINDS] = {
    "vacuum_freeze", "drop_invalid", "rebuild_invalid", "analyze", "vacuum", "reindex",
};

const char *
maintain_kind_name(MaintKind kind)
{
    return (unsigned) kind < MAINT_N_KINDS ? kind_names[kind] : "?";
}

int
maintain_kind_from_name(const char *name)
{
    int i;

    for (i = 0; i < MAINT_N_KINDS; i++)
        if (name != NULL && strcmp(name, kind_names[i]) == 0)
            return i;
    return -1;
}

int
maintain_kinds_parse(const char *list, unsigned *out, PmError *err)
{
    const char *p = list;

    *out = 0;
    while (*p)
    {
        char word[32];
        size_t len;
        int kind;

        while (*p == ' ' || *p == ',')
            p++;
        len = strcspn(p, ", ");
        if (len == 0)
            break;
        if (len >= sizeof(word))
            len = sizeof(word) - 1;
        memcpy(word, p, len);
        word[len] = '\0';
        p += strcspn(p, ", ");
        kind = maintain_kind_from_name(word);
        if (kind < 0)
        {
            pm_error_set(err, "unrecognized kind of work \"%s\"", word);
            pm_error_hint(err, "Use vacuum_freeze, drop_invalid, rebuild_invalid, analyze, "
                               "vacuum or reindex.");
            return -1;
        }
        *out |= 1u << kind;
    }
    if (*out == 0)
    {
        pm_error_set(err, "no kind of work named");
        return -1;
    }
    return 0;
}

double
maintain_estimate_s(int64_t work_bytes, double rate_bytes_per_s)
{
    double rate = rate_bytes_per_s > 0 ? rate_bytes_per_s : MAINT_DEFAULT_RATE_BYTES_PER_S;

    return STATEMENT_OVERHEAD_S + (double) (work_bytes > 0 ? work_bytes : 0) / rate;
}

static int64_t
maxalign(int64_t n)
{
    return (n + MAXALIGN_BYTES - 1) / MAXALIGN_BYTES * MAXALIGN_BYTES;
}

int64_t
maintain_index_expected_bytes(const MaintIndex *ix, int64_t block_size)
{
    double ff_pct = ix->fillfactor > 0 && ix->fillfactor <= 100 ? ix->fillfactor : 90;
    double usable, per_page, leaf, internal;

    if (ix->method == NULL || strcmp(ix->method, "btree") != 0 || block_size <= 0)
        return -1;
    usable = (double) (block_size - BTREE_PAGE_OVERHEAD);
    if (ix->measured)
    {
        /*
         * What the leaf pages hold, packed to the fill factor, plus the
         * upper levels and the metapage as they are.
         */
        if (!(ix->leaf_density >= 0) || ix->leaf_pages < 0)
            return -1;
        leaf = ceil((double) ix->leaf_pages * ix->leaf_density / ff_pct);
        return (int64_t) (1 + (double) ix->internal_pages + leaf) * block_size;
    }
    if (ix->reltuples < 0 || ix->key_width < 0)
        return -1;
    /* A leaf entry: header and data, MAXALIGNed, and its line pointer. */
    per_page = floor(usable * ff_pct / 100.0 /
                     (double) (maxalign(BTREE_TUPLE_HEADER + (int64_t) ceil(ix->key_width)) +
                               BTREE_ITEM_OVERHEAD));
    if (per_page < 1)
        per_page = 1;
    leaf = ceil(ix->reltuples / per_page);
    /* One downlink per leaf page in the level above, and so on: a small fraction. */
    internal = leaf > 1 ? ceil(leaf / per_page) + 1 : 0;
    return (int64_t) (1 + leaf + internal) * block_size;
}

/* --- formatting for the reasons --- */

void
maintain_format_count(int64_t v, char *buf, size_t size)
{
    char digits[32];
    size_t n, i, o = 0;

    snprintf(digits, sizeof(digits), "%lld", (long long) (v < 0 ? -v : v));
    n = strlen(digits);
    if (v < 0 && o + 1 < size)
        buf[o++] = '-';
    for (i = 0; i < n && o + 1 < size; i++)
    {
        if (i > 0 && (n - i) % 3 == 0 && o + 2 < size)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

void
maintain_format_bytes(int64_t v, char *buf, size_t size)
{
    double d = (double) v;

    if (v < 0)
        snprintf(buf, size, "?");
    else if (d >= 1024.0 * 1024 * 1024)
        snprintf(buf, size, "%.1f GiB", d / (1024.0 * 1024 * 1024));
    else if (d >= 1024.0 * 1024)
        snprintf(buf, size, "%.1f MiB", d / (1024.0 * 1024));
    else if (d >= 1024.0)
        snprintf(buf, size, "%.0f kiB", d / 1024.0);
    else
        snprintf(buf, size, "%lld bytes", (long long) v);
}

static const char *
pct(double ratio, char *buf, size_t size)
{
    snprintf(buf, size, "%.0f%%", ratio * 100.0);
    return buf;
}

/* --- the plan --- */

typedef struct
{
    MaintItem item;
    double urgency; /* larger first within a kind */
} Ranked;

typedef struct
{
    Arena *arena;
    Ranked *ranked;
    size_t n, cap;
    const char **notes;
    size_t n_notes, notes_cap;
    size_t n_not_allowed; /* relations that need work this role may not do */
    bool oom;
} Planner;

static bool
wanted(const MaintSettings *s, MaintKind kind)
{
    return s->kinds == 0 || (s->kinds & (1u << kind)) != 0;
}

static Ranked *
add_item(Planner *p)
{
    Ranked *r = arena_grow(p->arena, p->ranked, p->n, &p->cap, sizeof(Ranked), 16);

    if (r == NULL)
    {
        p->oom = true;
        return NULL;
    }
    p->ranked = r;
    r = &p->ranked[p->n++];
    memset(r, 0, sizeof(*r));
    return r;
}

static void add_note(Planner *p, const char *fmt, ...) PM_PRINTF(2, 3);

static void
add_note(Planner *p, const char *fmt, ...)
{
    char text[512];
    const char **notes;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    notes = arena_grow(p->arena, p->notes, p->n_notes, &p->notes_cap, sizeof(char *), 8);
    if (notes == NULL)
    {
        p->oom = true;
        return;
    }
    p->notes = notes;
    p->notes[p->n_notes] = arena_strdup(p->arena, text);
    if (p->notes[p->n_notes] == NULL)
        p->oom = true;
    else
        p->n_notes++;
}

static double
ratio_of(int64_t part, int64_t whole)
{
    return whole > 0 ? (double) part / (double) whole : 0.0;
}

static void
plan_table(Planner *p, const MaintTable *t, const MaintSettings *s)
{
    int64_t rows = t->n_live_tup + t->n_dead_tup;
    double dead_ratio = ratio_of(t->n_dead_tup, rows);
    double mod_ratio = ratio_of(t->n_mod_since_analyze, t->n_live_tup);
    double xid_ratio = ratio_of(t->xid_age, t->freeze_max_age);
    double mxid_ratio = ratio_of(t->mxid_age, t->mxid_freeze_max_age);
    /* Autovacuum keeps the catalogs' dead tuples and statistics: only their age counts. */
    bool need_vacuum = !t->is_catalog && t->n_dead_tup >= MAINT_MIN_DEAD_TUPLES &&
                       dead_ratio > s->dead_tuple_ratio;
    bool need_analyze = !t->is_catalog && t->n_mod_since_analyze >= MAINT_MIN_MODIFIED &&
                        (t->last_analyze_age_s < 0 || mod_ratio > s->stale_statistics_ratio);
    bool need_freeze = (t->freeze_max_age > 0 && xid_ratio >= s->freeze_age_ratio) ||
                       (t->mxid_freeze_max_age > 0 && mxid_ratio >= s->freeze_age_ratio);
    bool freeze = need_freeze && wanted(s, MAINT_VACUUM_FREEZE);
    bool vacuum = need_vacuum && wanted(s, MAINT_VACUUM);
    bool analyze = need_analyze && wanted(s, MAINT_ANALYZE);
    char why[1024], a[32], b[32], c[16], d[16];
    size_t len = 0;
    Ranked *r;
    MaintItem *it;

    if (!freeze && !vacuum && !analyze)
        return;
    if (!t->may_maintain)
    {
        /* The server would only warn and skip it: say so instead of pretending. */
        p->n_not_allowed++;
        if (p->n_not_allowed <= 3)
            add_note(p,
                     "left alone: table \"%s.%s\" needs %s, but pgmedic's role may not "
                     "maintain it (run as its owner, the database owner or a superuser)",
                     t->schema, t->name,
                     freeze   ? "VACUUM (FREEZE)"
                     : vacuum ? "VACUUM"
                              : "ANALYZE");
        return;
    }
    why[0] = '\0';
    if (freeze)
    {
        bool by_mxid = mxid_ratio > xid_ratio;

        maintain_format_count(by_mxid ? t->mxid_age : t->xid_age, a, sizeof(a));
        maintain_format_count(by_mxid ? t->mxid_freeze_max_age : t->freeze_max_age, b, sizeof(b));
        len += (size_t) snprintf(
            why + len, sizeof(why) - len,
            "%s age %s is %.0f%% of %s %s (threshold %.0f%%): at 100%% "
            "autovacuum forces an anti-wraparound vacuum, whenever that is",
            by_mxid ? "relminmxid" : "relfrozenxid", a, 100.0 * (by_mxid ? mxid_ratio : xid_ratio),
            by_mxid ? "autovacuum_multixact_freeze_max_age" : "autovacuum_freeze_max_age", b,
            100.0 * s->freeze_age_ratio);
    }
    if (vacuum && len < sizeof(why))
    {
        maintain_format_count(t->n_dead_tup, a, sizeof(a));
        maintain_format_count(rows, b, sizeof(b));
        len += (size_t) snprintf(why + len, sizeof(why) - len,
                                 "%s%s dead tuples, %s of %s rows (threshold %s)", len ? "; " : "",
                                 a, pct(dead_ratio, c, sizeof(c)), b,
                                 pct(s->dead_tuple_ratio, d, sizeof(d)));
    }
    if (analyze && len < sizeof(why))
    {
        maintain_format_count(t->n_mod_since_analyze, a, sizeof(a));
        if (t->last_analyze_age_s < 0)
            snprintf(why + len, sizeof(why) - len, "%snever analyzed, %s rows modified",
                     len ? "; " : "", a);
        else
        {
            maintain_format_count(t->n_live_tup, b, sizeof(b));
            snprintf(why + len, sizeof(why) - len,
                     "%s%s rows modified since the last analyze, %s of %s "
                     "live rows (threshold %s)",
                     len ? "; " : "", a, pct(mod_ratio, c, sizeof(c)), b,
                     pct(s->stale_statistics_ratio, d, sizeof(d)));
        }
    }
    r = add_item(p);
    if (r == NULL)
        return;
    it = &r->item;
    it->kind = freeze ? MAINT_VACUUM_FREEZE : vacuum ? MAINT_VACUUM : MAINT_ANALYZE;
    it->oid = it->table_oid = t->oid;
    it->schema = it->table_schema = t->schema;
    it->name = it->table_name = t->name;
    it->freeze = freeze;
    it->analyze = analyze || vacuum;
    it->why = arena_strdup(p->arena, why);
    it->size_bytes = t->heap_bytes + t->index_bytes;
    it->reclaim_bytes = -1;
    if (freeze)
        /* An aggressive vacuum reads every page not yet all-frozen and dirties most. */
        it->work_bytes = 2 * t->heap_bytes + (vacuum ? t->index_bytes : 0);
    else if (vacuum)
        it->work_bytes = t->heap_bytes + t->index_bytes;
    else
        it->work_bytes = 0;
    if (it->analyze)
    {
        /* A sample of random pages: count them twice for the seeks. */
        int64_t sample = (int64_t) ANALYZE_SAMPLE_PAGES * 8192;

        it->work_bytes += 2 * (t->heap_bytes < sample ? t->heap_bytes : sample);
    }
    it->estimate_s = maintain_estimate_s(it->work_bytes, s->rate_bytes_per_s);
    r->urgency = freeze   ? (xid_ratio > mxid_ratio ? xid_ratio : mxid_ratio)
                 : vacuum ? (double) t->n_dead_tup
                          : mod_ratio + (t->last_analyze_age_s < 0 ? 1e6 : 0);
    if (it->why == NULL)
        p->oom = true;
}

/* _ccnew, _ccold, _ccnew1, ...: what REINDEX CONCURRENTLY names its temporary copies. */
static bool
is_reindex_leftover(const char *name)
{
    const char *u = name ? strrchr(name, '_') : NULL;

    if (u == NULL || (strncmp(u, "_ccnew", 6) != 0 && strncmp(u, "_ccold", 6) != 0))
        return false;
    for (u += 6; *u; u++)
        if (!isdigit((unsigned char) *u))
            return false;
    return true;
}

static void
fill_index_item(MaintItem *it, const MaintIndex *ix)
{
    it->oid = ix->oid;
    it->schema = ix->schema;
    it->name = ix->name;
    it->table_oid = ix->table_oid;
    it->table_schema = ix->table_schema;
    it->table_name = ix->table_name;
    it->size_bytes = ix->size_bytes;
}

static void
plan_index(Planner *p, const MaintIndex *ix, const MaintSettings *s, int64_t block_size,
           size_t *n_unknown)
{
    int64_t expected = maintain_index_expected_bytes(ix, block_size);
    char why[512], a[32], b[32], c[16], d[16];
    Ranked *r;
    MaintItem *it;

    if (!ix->is_valid)
    {
        bool leftover = is_reindex_leftover(ix->name);
        MaintKind kind = leftover ? MAINT_DROP_INVALID : MAINT_REBUILD_INVALID;

        if (!wanted(s, kind))
            return;
        if (!ix->may_maintain)
        {
            p->n_not_allowed++;
            if (p->n_not_allowed <= 3)
                add_note(p,
                         "left alone: index \"%s.%s\" is INVALID, but pgmedic's role may not "
                         "rebuild or drop it (run as its table's owner or a superuser)",
                         ix->schema, ix->name);
            return;
        }
        if (ix->building)
        {
            add_note(p,
                     "left alone: index \"%s.%s\" is INVALID, but an index build is running on "
                     "its table now (it may be that build's own index)",
                     ix->schema, ix->name);
            return;
        }
        r = add_item(p);
        if (r == NULL)
            return;
        it = &r->item;
        it->kind = kind;
        fill_index_item(it, ix);
        if (leftover)
        {
            snprintf(why, sizeof(why),
                     "INVALID copy left by an interrupted REINDEX CONCURRENTLY: it serves no "
                     "query%s",
                     ix->size_bytes > 0 ? " and may still slow every write" : "");
            it->work_bytes = 0;
            it->reclaim_bytes = ix->size_bytes;
        }
        else
        {
            snprintf(why, sizeof(why),
                     "INVALID (a CREATE INDEX CONCURRENTLY that failed leaves one): it serves no "
                     "query%s; rebuilt in place, as it was defined",
                     ix->is_unique ? " and enforces no uniqueness" : "");
            it->work_bytes = 2 * ix->table_bytes + 2 * (expected > 0 ? expected : ix->size_bytes);
            it->reclaim_bytes = -1;
        }
        it->why = arena_strdup(p->arena, why);
        it->estimate_s = maintain_estimate_s(it->work_bytes, s->rate_bytes_per_s);
        r->urgency = (double) ix->size_bytes;
        if (it->why == NULL)
            p->oom = true;
        return;
    }
    if (!wanted(s, MAINT_REINDEX) || ix->size_bytes < MAINT_INDEX_MIN_BYTES)
        return;
    if (expected < 0)
    {
        if (ix->method != NULL && strcmp(ix->method, "btree") == 0 && ix->may_maintain)
            (*n_unknown)++;
        return;
    }
    /* size_bytes >= MAINT_INDEX_MIN_BYTES > 0 here. */
    if (1.0 - (double) expected / (double) ix->size_bytes < s->index_bloat_ratio)
        return;
    if (!ix->may_maintain)
    {
        p->n_not_allowed++;
        if (p->n_not_allowed <= 3)
            add_note(p,
                     "left alone: index \"%s.%s\" is bloated, but pgmedic's role may not "
                     "rebuild it (run as its table's owner or a superuser)",
                     ix->schema, ix->name);
        return;
    }
    r = add_item(p);
    if (r == NULL)
        return;
    it = &r->item;
    it->kind = MAINT_REINDEX;
    fill_index_item(it, ix);
    it->reclaim_bytes = ix->size_bytes - expected;
    it->measured = ix->measured;
    maintain_format_bytes(it->reclaim_bytes, a, sizeof(a));
    maintain_format_bytes(ix->size_bytes, b, sizeof(b));
    snprintf(why, sizeof(why), "about %s of its %s is wasted (%s, threshold %s; %s)", a, b,
             pct(ratio_of(it->reclaim_bytes, ix->size_bytes), c, sizeof(c)),
             pct(s->index_bloat_ratio, d, sizeof(d)),
             ix->measured ? "measured by pgstattuple" : "estimated from the table's statistics");
    it->why = arena_strdup(p->arena, why);
    /* CONCURRENTLY scans the table twice (build, then validate), sorts and writes the index. */
    it->work_bytes = 2 * ix->table_bytes + 2 * expected;
    it->estimate_s = maintain_estimate_s(it->work_bytes, s->rate_bytes_per_s);
    r->urgency = (double) it->reclaim_bytes;
    if (it->why == NULL)
        p->oom = true;
}

static int
compare_ranked(const void *pa, const void *pb)
{
    const Ranked *a = pa, *b = pb;

    if (a->item.kind != b->item.kind)
        return a->item.kind < b->item.kind ? -1 : 1;
    if (a->urgency != b->urgency)
        return a->urgency > b->urgency ? -1 : 1;
    /* Stable across runs: by OID. */
    if (a->item.oid != b->item.oid)
        return a->item.oid < b->item.oid ? -1 : 1;
    return 0;
}

int
maintain_plan(const MaintInput *in, const MaintSettings *s, Arena *arena, MaintPlan *out)
{
    Planner p;
    size_t i, n_unknown = 0;

    memset(out, 0, sizeof(*out));
    memset(&p, 0, sizeof(p));
    p.arena = arena;
    for (i = 0; i < in->n_tables && !p.oom; i++)
        plan_table(&p, &in->tables[i], s);
    for (i = 0; i < in->n_indexes && !p.oom; i++)
        plan_index(&p, &in->indexes[i], s, in->block_size > 0 ? in->block_size : 8192, &n_unknown);
    if (p.n_not_allowed > 3 && !p.oom)
        add_note(&p, "%zu relations in all need work that pgmedic's role may not do",
                 p.n_not_allowed);
    if (n_unknown > 0 && !p.oom)
        add_note(&p,
                 "%zu B-tree index%s of 1 MiB or more could not be judged for bloat: no "
                 "statistics of %s table%s yet (ANALYZE), or none this role may read; the "
                 "pgstattuple extension would measure %s",
                 n_unknown, n_unknown == 1 ? "" : "es", n_unknown == 1 ? "its" : "their",
                 n_unknown == 1 ? "" : "s", n_unknown == 1 ? "it" : "them");
    if (p.oom)
        return -1;
    if (p.n > 1)
        qsort(p.ranked, p.n, sizeof(Ranked), compare_ranked);
    if (p.n > 0)
    {
        out->items = arena_array(arena, p.n, sizeof(MaintItem));
        if (out->items == NULL)
            return -1;
    }
    for (i = 0; i < p.n; i++)
    {
        out->items[i] = p.ranked[i].item;
        out->work_bytes += out->items[i].work_bytes;
        out->estimate_s += out->items[i].estimate_s;
    }
    out->n_items = p.n;
    out->notes = p.notes;
    out->n_notes = p.n_notes;
    return 0;
}

/* --- the window --- */

static const char *const day_names[7] = {"sunday",   "monday", "tuesday", "wednesday",
                                         "thursday", "friday", "saturday"};

/* The day a word names (its first three letters, or the whole name); -1 when none. */
static int
day_of(const char *word, size_t len)
{
    int d;

    for (d = 0; d < 7; d++)
        if ((len == 3 || len == strlen(day_names[d])) && strncasecmp(word, day_names[d], len) == 0)
            return d;
    return -1;
}

/* "H:MM" or "HH:MM" at *p; minutes after midnight (24:00 allowed when end); -1 on error. */
static int
parse_clock(const char **p, bool end)
{
    const char *s = *p;
    int h = 0, m, digits = 0;

    while (isdigit((unsigned char) *s) && digits < 2)
        h = h * 10 + (*s++ - '0'), digits++;
    if (digits == 0 || *s != ':' || !isdigit((unsigned char) s[1]) ||
        !isdigit((unsigned char) s[2]))
        return -1;
    m = (s[1] - '0') * 10 + (s[2] - '0');
    *p = s + 3;
    if (m > 59 || h > 24 || (h == 24 && (m != 0 || !end)))
        return -1;
    return h * 60 + m;
}

int
maintain_window_parse(const char *spec, MaintWindow *out, PmError *err)
{
    const char *p = spec;
    unsigned days = 0;

    memset(out, 0, sizeof(*out));
    while (*p == ' ')
        p++;
    if (!isdigit((unsigned char) *p))
    {
        /* The days: "daily", or a comma list of days and ranges of days. */
        size_t len = strcspn(p, " ");

        if (len == 5 && strncasecmp(p, "daily", 5) == 0)
            days = 0x7f;
        else
        {
            const char *q = p, *stop = p + len;

            while (q < stop)
            {
                size_t wl = strcspn(q, ",-");
                int d1, d2;

                if (q + wl > stop)
                    wl = (size_t) (stop - q);
                d1 = day_of(q, wl);
                if (d1 < 0)
                    goto bad;
                q += wl;
                d2 = d1;
                if (q < stop && *q == '-')
                {
                    q++;
                    wl = strcspn(q, ",");
                    if (q + wl > stop)
                        wl = (size_t) (stop - q);
                    d2 = day_of(q, wl);
                    if (d2 < 0)
                        goto bad;
                    q += wl;
                }
                /* A range may wrap the week: Fri-Mon. */
                for (;;)
                {
                    days |= 1u << d1;
                    if (d1 == d2)
                        break;
                    d1 = (d1 + 1) % 7;
                }
                if (q < stop && *q == ',')
                    q++;
            }
        }
        p += len;
        while (*p == ' ')
            p++;
    }
    else
        days = 0x7f;
    out->start_min = parse_clock(&p, false);
    if (out->start_min < 0 || *p != '-')
        goto bad;
    p++;
    out->end_min = parse_clock(&p, true);
    if (out->end_min < 0)
        goto bad;
    while (*p == ' ')
        p++;
    if (*p != '\0' || days == 0)
        goto bad;
    if (out->start_min == out->end_min)
    {
        pm_error_set(err, "maintenance window \"%s\" is empty: it ends when it starts", spec);
        pm_error_hint(err, "Write 00:00-24:00 for a whole day.");
        return -1;
    }
    out->days = days;
    return 0;

bad:
    pm_error_set(err, "invalid maintenance window \"%s\"", spec);
    pm_error_hint(err, "Write DAYS HH:MM-HH:MM in local time, such as \"Sun 02:00-04:00\", "
                       "\"daily 01:00-03:00\" or \"Mon-Fri 22:00-23:30\".");
    return -1;
}

/* The window's length in seconds (crossing midnight when its end is not after its start). */
static double
window_length_s(const MaintWindow *w)
{
    int len =
        w->end_min > w->start_min ? w->end_min - w->start_min : w->end_min + 1440 - w->start_min;

    return (double) len * 60.0;
}

double
maintain_window_remaining(const MaintWindow *w, double unix_now, int tz_offset_s)
{
    double local = unix_now + tz_offset_s;
    double day = floor(local / 86400.0);
    int back;

    /* The window that contains now started today or, crossing midnight, yesterday. */
    for (back = 0; back <= 1; back++)
    {
        double d = day - back;
        int weekday = (int) fmod(fmod(d + 4.0, 7.0) + 7.0, 7.0); /* 1970-01-01 was a Thursday */
        double start = d * 86400.0 + w->start_min * 60.0;
        double end = start + window_length_s(w);

        if ((w->days & (1u << weekday)) && local >= start && local < end)
            return end - local;
    }
    return 0.0;
}

double
maintain_window_next_start(const MaintWindow *w, double unix_now, int tz_offset_s)
{
    double local = unix_now + tz_offset_s;
    double day = floor(local / 86400.0);
    int ahead;

    if (maintain_window_remaining(w, unix_now, tz_offset_s) > 0)
        return 0.0;
    for (ahead = 0; ahead <= 7; ahead++)
    {
        double d = day + ahead;
        int weekday = (int) fmod(fmod(d + 4.0, 7.0) + 7.0, 7.0);
        double start = d * 86400.0 + w->start_min * 60.0;

        if ((w->days & (1u << weekday)) && start > local)
            return start - local;
    }
    return -1.0; /* no day at all: cannot happen for a parsed window */
}

void
maintain_window_format(const MaintWindow *w, char *buf, size_t size)
{
    static const char *const abbrev[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    char days[64];

    days[0] = '\0';
    if ((w->days & 0x7f) == 0x7f)
        snprintf(days, sizeof(days), "daily");
    else
    {
        size_t o = 0;
        int d;

        for (d = 0; d < 7; d++)
            if (w->days & (1u << d))
                o += (size_t) snprintf(days + o, sizeof(days) - o, "%s%s", o ? "," : "", abbrev[d]);
    }
    snprintf(buf, size, "%s %02d:%02d-%02d:%02d", days, w->start_min / 60, w->start_min % 60,
             w->end_min / 60, w->end_min % 60);
}
