/*
 * layout.c - the lines `pgmedic top` paints: header, sessions, lock trees,
 * findings (see layout.h).
 */
#include "tui/layout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render/findings.h"
#include "util/parse.h"
#include "util/strbuf.h"
#include "util/utf8.h"

/* Column widths of the list views, in code points. */
enum
{
    W_MARK = 2, /* room for the selection mark the screen paints */
    W_PID = 7,
    W_USER = 10,
    W_APP = 16,
    W_DB = 10,
    W_CLIENT = 15,
    W_STATE = 22,
    W_TIME = 9,
    W_WAIT = 18,
    W_WAIT_TREE = 26, /* lock view: room for the other blockers ("+123,456") */
    W_LOCK = 12,
    W_TREE = 22,  /* lock view: the indented pid */
    W_WIDE = 140, /* narrower screens leave out the database and client columns */
    W_BLOCKS = 6,
    MAX_TREE_DEPTH = 6 /* deeper waiters are drawn at this depth, their depth written */
};

/* --- text ---------------------------------------------------------------- */

/*
 * Appends s made safe for a terminal, at most max_cols code points (negative:
 * no limit); returns the code points appended.  C0, DEL and C1 controls
 * (which a terminal takes for escape sequences) become spaces, invalid UTF-8
 * '?', and a cut never splits a character.
 */
static int
append_clean(StrBuf *buf, const char *s, int max_cols)
{
    const unsigned char *p = (const unsigned char *) (s ? s : "");
    int cols = 0;

    while (*p && (max_cols < 0 || cols < max_cols))
    {
        size_t n = pm_utf8_len(p);

        if (n == 0)
            strbuf_append_char(buf, '?');
        else if (*p < 0x20 || *p == 0x7F || (n == 2 && p[0] == 0xC2 && p[1] < 0xA0))
            strbuf_append_char(buf, ' ');
        else
            strbuf_append_len(buf, (const char *) p, n);
        p += n ? n : 1;
        cols++;
    }
    return cols;
}

/* A column: s cut to width and padded to it, then one space. */
static void
column(StrBuf *buf, const char *s, int width)
{
    int cols = append_clean(buf, s, width);

    for (; cols < width + 1; cols++)
        strbuf_append_char(buf, ' ');
}

/* The first max_cols code points of s (already clean), in the arena. */
static const char *
cut(Arena *arena, const char *s, int max_cols)
{
    const unsigned char *p = (const unsigned char *) s;
    int cols = 0;

    while (*p && cols < max_cols)
    {
        size_t n = pm_utf8_len(p);

        p += n ? n : 1;
        cols++;
    }
    /* Trailing padding is the screen's business, not the text's. */
    while ((const char *) p > s && p[-1] == ' ')
        p--;
    return arena_strndup(arena, s, (size_t) ((const char *) p - s));
}

const char *
tui_clean(Arena *arena, const char *s, int max_cols)
{
    StrBuf buf = STRBUF_INIT;
    const char *out;

    append_clean(&buf, s, max_cols);
    out = strbuf_ok(&buf) ? arena_strdup(arena, strbuf_str(&buf)) : NULL;
    strbuf_free(&buf);
    return out;
}

/* Appends a line (buf's text cut to width) to out; -1 when out of memory. */
static int
push_line(TuiLines *out, Arena *arena, StrBuf *buf, int width, TuiAttr attr, int32_t pid,
          int32_t root_pid)
{
    TuiLine *line;
    const char *text;

    if (!strbuf_ok(buf))
        return -1;
    text = cut(arena, strbuf_str(buf), width > 0 ? width : 1);
    strbuf_reset(buf);
    if (text == NULL)
        return -1;
    out->lines = arena_grow(arena, out->lines, out->n_lines, &out->cap, sizeof(TuiLine), 64);
    if (out->lines == NULL)
        return -1;
    line = &out->lines[out->n_lines++];
    line->text = text;
    line->attr = attr;
    line->pid = pid;
    line->root_pid = root_pid;
    return 0;
}

/* Pushes the printf-formatted line; -1 when out of memory. */
static int push_text(TuiLines *out, Arena *arena, int width, TuiAttr attr, const char *fmt, ...)
    PM_PRINTF(5, 6);

static int
push_text(TuiLines *out, Arena *arena, int width, TuiAttr attr, const char *fmt, ...)
{
    char text[1024];
    StrBuf buf = STRBUF_INIT;
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    append_clean(&buf, text, -1);
    rc = push_line(out, arena, &buf, width, attr, 0, 0);
    strbuf_free(&buf);
    return rc;
}

/* --- sessions and lock trees ---------------------------------------------- */

double
tui_session_duration(const Session *s)
{
    if (s->state != NULL && strcmp(s->state, "active") == 0 && s->query_age_s >= 0)
        return s->query_age_s;
    return s->state_age_s;
}

bool
tui_session_waits_on_lock(const Session *s)
{
    return s->wait_event_type != NULL && strcmp(s->wait_event_type, "Lock") == 0 &&
           s->n_blocked_by > 0;
}

/*
 * The pid at the top of s's chain of first blockers: a session that waits on
 * no lock, or a blocker missing from the snapshot.  0 for a cycle.
 */
static int32_t
top_of(const Snapshot *snap, const Session *s)
{
    size_t steps = 0;

    while (tui_session_waits_on_lock(s))
    {
        const Session *up = snapshot_session(snap, s->blocked_by[0]);

        if (up == NULL)
            return s->blocked_by[0];
        if (++steps > snap->n_sessions)
            return 0;
        s = up;
    }
    return s->pid;
}

int32_t
tui_lock_root(const Snapshot *snap, int32_t pid)
{
    const Session *s = snapshot_session(snap, pid);
    int32_t top;

    if (s == NULL)
        return 0;
    if (!tui_session_waits_on_lock(s))
        return tui_lock_waiters(snap, pid) > 0 ? pid : 0;
    top = top_of(snap, s);
    return top != 0 && snapshot_session(snap, top) != NULL ? top : 0;
}

size_t
tui_lock_waiters(const Snapshot *snap, int32_t pid)
{
    size_t i, n = 0;

    /* Every waiter whose chain of first blockers passes through pid. */
    for (i = 0; i < snap->n_sessions; i++)
    {
        const Session *s = &snap->sessions[i];
        size_t steps = 0;

        if (!tui_session_waits_on_lock(s) || s->pid == pid)
            continue;
        while (s != NULL && tui_session_waits_on_lock(s) && steps++ <= snap->n_sessions)
        {
            if (s->blocked_by[0] == pid)
            {
                n++;
                break;
            }
            s = snapshot_session(snap, s->blocked_by[0]);
        }
    }
    return n;
}

/*
 * What the list views need of the lock trees, computed once per layout: a
 * server may list a thousand sessions and hundreds of waiters, and a lookup
 * by pid is otherwise a scan.
 */
typedef struct
{
    int32_t pid;
    size_t index;
} PidIndex;

typedef struct
{
    const Snapshot *snap;
    PidIndex *by_pid; /* sorted by pid */
    int32_t *top;     /* per session: top_of(), 0 in a cycle; its own pid when not waiting */
    size_t *behind;   /* per session: waiters behind it, directly or not */
} LockIndex;

static int
compare_pid_index(const void *pa, const void *pb)
{
    const PidIndex *a = pa, *b = pb;

    return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static const Session *
lookup(const LockIndex *li, int32_t pid)
{
    PidIndex key = {pid, 0};
    const PidIndex *hit;

    if (li->snap->n_sessions == 0)
        return NULL;
    hit = bsearch(&key, li->by_pid, li->snap->n_sessions, sizeof(PidIndex), compare_pid_index);
    return hit ? &li->snap->sessions[hit->index] : NULL;
}

static int
lock_index(const Snapshot *snap, Arena *arena, LockIndex *li)
{
    size_t n = snap->n_sessions ? snap->n_sessions : 1, i;

    li->snap = snap;
    li->by_pid = arena_array(arena, n, sizeof(PidIndex));
    li->top = arena_array(arena, n, sizeof(int32_t));
    li->behind = arena_array(arena, n, sizeof(size_t));
    if (li->by_pid == NULL || li->top == NULL || li->behind == NULL)
        return -1;
    for (i = 0; i < snap->n_sessions; i++)
    {
        li->by_pid[i].pid = snap->sessions[i].pid;
        li->by_pid[i].index = i;
    }
    if (snap->n_sessions > 1)
        qsort(li->by_pid, snap->n_sessions, sizeof(PidIndex), compare_pid_index);
    for (i = 0; i < snap->n_sessions; i++)
    {
        const Session *w = &snap->sessions[i], *s = w;
        size_t steps = 0;

        li->top[i] = w->pid;
        /* Up the chain of first blockers, counting w behind each of them. */
        while (tui_session_waits_on_lock(s))
        {
            const Session *up = lookup(li, s->blocked_by[0]);

            if (up == NULL)
            {
                li->top[i] = s->blocked_by[0];
                break;
            }
            if (up == w || ++steps > snap->n_sessions)
            {
                li->top[i] = 0; /* a cycle */
                break;
            }
            li->behind[up - snap->sessions]++;
            li->top[i] = up->pid;
            s = up;
        }
    }
    return 0;
}

/* The root pid of the tree of session i for a line; 0 when none. */
static int32_t
line_root(const LockIndex *li, size_t i)
{
    const Session *s = &li->snap->sessions[i];

    if (!tui_session_waits_on_lock(s))
        return li->behind[i] > 0 ? s->pid : 0;
    return li->top[i] != 0 && lookup(li, li->top[i]) != NULL ? li->top[i] : 0;
}

bool
tui_session_matches(const Session *s, const TuiListOptions *o)
{
    if (o->application != NULL && o->application[0] != '\0' &&
        (s->application == NULL || strcmp(s->application, o->application) != 0))
        return false;
    if (o->database != NULL && o->database[0] != '\0' &&
        (s->database == NULL || strcmp(s->database, o->database) != 0))
        return false;
    return true;
}

const char *
tui_sort_name(TuiSort sort)
{
    switch (sort)
    {
        case TUI_SORT_DURATION:
            return "duration";
        case TUI_SORT_STATE:
            return "state";
        case TUI_SORT_APPLICATION:
            return "application";
    }
    return "?";
}

int
tui_sort_from_name(const char *name)
{
    if (strcmp(name, "duration") == 0)
        return TUI_SORT_DURATION;
    if (strcmp(name, "state") == 0)
        return TUI_SORT_STATE;
    if (strcmp(name, "application") == 0)
        return TUI_SORT_APPLICATION;
    return -1;
}

/* A short state for the list: the aborted variant must stay visible in the column. */
static const char *
state_label(const char *state)
{
    if (state == NULL)
        return "?";
    if (strcmp(state, "idle in transaction (aborted)") == 0)
        return "idle in xact (aborted)";
    return state;
}

static int
state_rank(const char *state)
{
    if (state == NULL)
        return 9;
    if (strcmp(state, "active") == 0)
        return 0;
    if (strcmp(state, "idle in transaction (aborted)") == 0)
        return 1;
    if (strcmp(state, "idle in transaction") == 0)
        return 2;
    if (strcmp(state, "idle") == 0)
        return 3;
    return 4;
}

/* qsort() has no argument: the sort order of the running comparison. */
typedef struct
{
    const Session *s;
    TuiSort sort;
} SortItem;

static int
compare_sessions(const void *pa, const void *pb)
{
    const SortItem *a = pa, *b = pb;
    double da = tui_session_duration(a->s), db = tui_session_duration(b->s);
    int c = 0;

    if (a->sort == TUI_SORT_STATE)
        c = state_rank(a->s->state) - state_rank(b->s->state);
    else if (a->sort == TUI_SORT_APPLICATION)
        c = strcmp(a->s->application ? a->s->application : "",
                   b->s->application ? b->s->application : "");
    if (c != 0)
        return c;
    if (da != db)
        return da > db ? -1 : 1;
    return a->s->pid < b->s->pid ? -1 : a->s->pid > b->s->pid;
}

/* "Lock:relation", "" when not waiting (an idle session waiting for its client is not news). */
static void
wait_text(const Session *s, char *buf, size_t size)
{
    if (s->wait_event_type == NULL || (strcmp(s->wait_event_type, "Client") == 0 &&
                                       s->state != NULL && strcmp(s->state, "active") != 0))
        buf[0] = '\0';
    else
        snprintf(buf, size, "%s:%s", s->wait_event_type, s->wait_event ? s->wait_event : "?");
}

/* "waits 123" (first blocker, "+N" more), "blocks 2", or "". */
static void
lock_text(const Session *s, size_t behind, char *buf, size_t size)
{
    if (tui_session_waits_on_lock(s))
    {
        if (s->n_blocked_by > 1)
            snprintf(buf, size, "waits %d+%zu", (int) s->blocked_by[0], s->n_blocked_by - 1);
        else
            snprintf(buf, size, "waits %d", (int) s->blocked_by[0]);
    }
    else if (behind > 0)
        snprintf(buf, size, "blocks %zu", behind);
    else
        buf[0] = '\0';
}

static const char *
alert_severity_tag(Severity severity)
{
    return severity == SEV_CRITICAL ? "CRITICAL" : severity == SEV_WARNING ? "WARNING" : "OK";
}

static TuiAttr
severity_attr(Severity severity)
{
    return severity == SEV_CRITICAL  ? TUI_ATTR_CRITICAL
           : severity == SEV_WARNING ? TUI_ATTR_WARNING
                                     : TUI_ATTR_OK;
}

int
tui_layout_sessions(const Snapshot *snap, const TuiListOptions *o, Arena *arena, TuiLines *out)
{
    StrBuf buf = STRBUF_INIT;
    LockIndex li;
    SortItem *items;
    size_t i, n = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (snap->failure != CONN_OK)
        return push_text(out, arena, o->width, TUI_ATTR_DIM,
                         "  no sessions: the server could not be reached (%s)",
                         snapshot_failure_name(snap->failure));
    if (lock_index(snap, arena, &li) != 0)
        return -1;
    column(&buf, "", W_MARK - 1);
    column(&buf, "PID", W_PID);
    column(&buf, "USER", W_USER);
    column(&buf, "APPLICATION", W_APP);
    if (o->width >= W_WIDE)
    {
        column(&buf, "DATABASE", W_DB);
        column(&buf, "CLIENT", W_CLIENT);
    }
    column(&buf, "STATE", W_STATE);
    column(&buf, "TIME", W_TIME);
    column(&buf, "WAITING ON", W_WAIT);
    column(&buf, "LOCK", W_LOCK);
    strbuf_append(&buf, "QUERY");
    if (push_line(out, arena, &buf, o->width, TUI_ATTR_HEADING, 0, 0) != 0)
        goto done;

    items = arena_array(arena, snap->n_sessions ? snap->n_sessions : 1, sizeof(SortItem));
    if (items == NULL)
        goto done;
    for (i = 0; i < snap->n_sessions; i++)
        if (tui_session_matches(&snap->sessions[i], o))
        {
            items[n].s = &snap->sessions[i];
            items[n].sort = o->sort;
            n++;
        }
    if (n > 1)
        qsort(items, n, sizeof(SortItem), compare_sessions);
    for (i = 0; i < n; i++)
    {
        const Session *s = items[i].s;
        size_t k = (size_t) (s - snap->sessions);
        char pid[16], age[32], wait[160], lock[48];
        TuiAttr attr = TUI_ATTR_NORMAL;

        snprintf(pid, sizeof(pid), "%d", (int) s->pid);
        format_age(tui_session_duration(s), age, sizeof(age));
        wait_text(s, wait, sizeof(wait));
        lock_text(s, li.behind[k], lock, sizeof(lock));
        column(&buf, "", W_MARK - 1);
        column(&buf, pid, W_PID);
        column(&buf, s->user, W_USER);
        column(&buf, s->application && s->application[0] ? s->application : "-", W_APP);
        if (o->width >= W_WIDE)
        {
            column(&buf, s->database, W_DB);
            column(&buf, s->client, W_CLIENT);
        }
        column(&buf, state_label(s->state), W_STATE);
        column(&buf, age, W_TIME);
        column(&buf, wait, W_WAIT);
        column(&buf, lock, W_LOCK);
        append_clean(&buf, s->query, -1);
        if (tui_session_waits_on_lock(s))
            attr = TUI_ATTR_WARNING;
        else if (lock[0] != '\0')
            attr = TUI_ATTR_CRITICAL; /* a root blocker: what to look at first */
        if (push_line(out, arena, &buf, o->width, attr, s->pid, line_root(&li, k)) != 0)
            goto done;
    }
    if (n == 0)
    {
        strbuf_append(&buf, snap->n_sessions == 0 ? "  no client session"
                                                  : "  no session matches the filter");
        if (push_line(out, arena, &buf, o->width, TUI_ATTR_DIM, 0, 0) != 0)
            goto done;
    }
    rc = 0;
done:
    strbuf_free(&buf);
    return rc;
}

/* --- lock trees ------------------------------------------------------------- */

typedef struct
{
    const Snapshot *snap;
    const TuiListOptions *o;
    Arena *arena;
    TuiLines *out;
    StrBuf buf;
    LockIndex li;
    bool *shown; /* per session index: already drawn (a cycle cannot loop) */
} Trees;

static size_t
session_index(const Snapshot *snap, const Session *s)
{
    return (size_t) (s - snap->sessions);
}

/* One row of the lock view for s at depth (0: the root). */
static int
tree_row(Trees *t, const Session *s, int32_t root, int depth)
{
    char tree[64], age[32], waited[32], xact[32], wait[160], blocks[16];
    size_t behind = t->li.behind[session_index(t->snap, s)];
    int indent = depth < MAX_TREE_DEPTH ? depth : MAX_TREE_DEPTH;

    if (depth == 0)
        snprintf(tree, sizeof(tree), "%d", (int) s->pid);
    else if (depth <= MAX_TREE_DEPTH)
        snprintf(tree, sizeof(tree), "%*s\\_ %d", 3 * (indent - 1), "", (int) s->pid);
    else
        snprintf(tree, sizeof(tree), "%*s\\_(%d) %d", 3 * (indent - 1), "", depth, (int) s->pid);
    format_age(tui_session_duration(s), age, sizeof(age));
    format_age(s->lock_wait_s, waited, sizeof(waited));
    format_age(s->xact_age_s, xact, sizeof(xact));
    wait_text(s, wait, sizeof(wait));
    if (s->n_blocked_by > 1)
    {
        /* The tree shows one blocker per waiter; say who else holds it back. */
        size_t len = strlen(wait), k;

        for (k = 1; k < s->n_blocked_by && len + 16 < sizeof(wait); k++)
            len += (size_t) snprintf(wait + len, sizeof(wait) - len, "%s%d", k == 1 ? " +" : ",",
                                     (int) s->blocked_by[k]);
    }
    snprintf(blocks, sizeof(blocks), "%zu", behind);
    column(&t->buf, "", W_MARK - 1);
    column(&t->buf, tree, W_TREE);
    column(&t->buf, behind > 0 ? blocks : "", W_BLOCKS);
    column(&t->buf, state_label(s->state), W_STATE);
    column(&t->buf, age, W_TIME);
    column(&t->buf, wait, W_WAIT_TREE);
    column(&t->buf, depth > 0 ? waited : "", W_TIME);
    column(&t->buf, xact, W_TIME);
    column(&t->buf, s->application && s->application[0] ? s->application : "-", W_APP);
    append_clean(&t->buf, s->query, -1);
    return push_line(t->out, t->arena, &t->buf, t->o->width,
                     depth == 0 ? TUI_ATTR_CRITICAL : TUI_ATTR_WARNING, s->pid, root);
}

/* Sorting waiters under one parent: the longest wait first. */
static int
compare_waits(const void *pa, const void *pb)
{
    const Session *a = *(const Session *const *) pa, *b = *(const Session *const *) pb;

    if (a->lock_wait_s != b->lock_wait_s)
        return a->lock_wait_s > b->lock_wait_s ? -1 : 1;
    return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* The waiters directly under pid, drawn depth-first. */
static int
tree_children(Trees *t, int32_t pid, int32_t root, int depth)
{
    const Snapshot *snap = t->snap;
    const Session **kids;
    size_t i, n = 0;

    kids = arena_array(t->arena, snap->n_sessions ? snap->n_sessions : 1, sizeof(Session *));
    if (kids == NULL)
        return -1;
    for (i = 0; i < snap->n_sessions; i++)
    {
        const Session *w = &snap->sessions[i];

        if (!t->shown[i] && tui_session_waits_on_lock(w) && w->blocked_by[0] == pid)
            kids[n++] = w;
    }
    if (n > 1)
        qsort(kids, n, sizeof(Session *), compare_waits);
    for (i = 0; i < n; i++)
    {
        if (t->shown[session_index(snap, kids[i])])
            continue;
        t->shown[session_index(snap, kids[i])] = true;
        if (tree_row(t, kids[i], root, depth) != 0 ||
            tree_children(t, kids[i]->pid, root, depth + 1) != 0)
            return -1;
    }
    return 0;
}

/* True when a session of the tree under root passes the filters. */
static bool
tree_matches(const Trees *t, int32_t root)
{
    const Snapshot *snap = t->snap;
    const Session *r = lookup(&t->li, root);
    size_t i;

    if (r != NULL && tui_session_matches(r, t->o))
        return true;
    for (i = 0; i < snap->n_sessions; i++)
    {
        const Session *s = &snap->sessions[i];

        if (tui_session_waits_on_lock(s) && t->li.top[i] == root && tui_session_matches(s, t->o))
            return true;
    }
    return false;
}

typedef struct
{
    int32_t pid;
    size_t waiters;
    double longest_wait_s;
    int depth;
} Root;

static int
compare_roots(const void *pa, const void *pb)
{
    const Root *a = pa, *b = pb;

    if (a->waiters != b->waiters)
        return a->waiters > b->waiters ? -1 : 1;
    if (a->longest_wait_s != b->longest_wait_s)
        return a->longest_wait_s > b->longest_wait_s ? -1 : 1;
    return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* Depth of s below its root (1 for a direct waiter). */
static int
depth_of(const LockIndex *li, const Session *s)
{
    int depth = 0;

    while (s != NULL && tui_session_waits_on_lock(s) && depth <= (int) li->snap->n_sessions)
    {
        depth++;
        s = lookup(li, s->blocked_by[0]);
    }
    return depth;
}

int
tui_layout_locks(const Snapshot *snap, const TuiListOptions *o, Arena *arena, TuiLines *out)
{
    Trees t;
    Root *roots;
    size_t i, j, n_roots = 0, n_waiters = 0, n_cycle = 0, n_shown = 0, n_roots_shown;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (snap->failure != CONN_OK)
        return push_text(out, arena, o->width, TUI_ATTR_DIM,
                         "  no lock trees: the server could not be reached (%s)",
                         snapshot_failure_name(snap->failure));
    memset(&t, 0, sizeof(t));
    t.snap = snap;
    t.o = o;
    t.arena = arena;
    t.out = out;
    t.shown = arena_array(arena, snap->n_sessions ? snap->n_sessions : 1, sizeof(bool));
    roots = arena_array(arena, snap->n_sessions ? snap->n_sessions : 1, sizeof(Root));
    if (t.shown == NULL || roots == NULL || lock_index(snap, arena, &t.li) != 0)
        goto done;

    /* Every waiter's root, each root once with its count, longest wait and depth. */
    for (i = 0; i < snap->n_sessions; i++)
    {
        const Session *w = &snap->sessions[i];
        int32_t top;
        int depth;

        if (!tui_session_waits_on_lock(w))
            continue;
        n_waiters++;
        top = t.li.top[i];
        if (top == 0)
        {
            n_cycle++;
            continue;
        }
        depth = depth_of(&t.li, w);
        for (j = 0; j < n_roots && roots[j].pid != top; j++)
            ;
        if (j == n_roots)
        {
            memset(&roots[j], 0, sizeof(Root));
            roots[j].pid = top;
            n_roots++;
        }
        roots[j].waiters++;
        if (w->lock_wait_s > roots[j].longest_wait_s)
            roots[j].longest_wait_s = w->lock_wait_s;
        if (depth > roots[j].depth)
            roots[j].depth = depth;
    }
    if (n_roots > 1)
        qsort(roots, n_roots, sizeof(Root), compare_roots);

    if (n_waiters == 0)
        rc = push_text(out, arena, o->width, TUI_ATTR_OK,
                       "  no session waits on a lock: no lock tree");
    else
    {
        char longest[32];

        format_age(n_roots > 0 ? roots[0].longest_wait_s : -1, longest, sizeof(longest));
        if (n_roots > 0)
            rc = push_text(out, arena, o->width, TUI_ATTR_BOLD,
                           "  %zu lock tree%s, %zu session%s waiting; first root pid %d blocks "
                           "%zu (depth %d, longest wait %s)%s",
                           n_roots, n_roots == 1 ? "" : "s", n_waiters, n_waiters == 1 ? "" : "s",
                           (int) roots[0].pid, roots[0].waiters, roots[0].depth, longest,
                           n_cycle > 0 ? "; and a deadlock cycle" : "");
        else
            rc = push_text(out, arena, o->width, TUI_ATTR_BOLD,
                           "  %zu session%s waiting on a lock, in a cycle", n_waiters,
                           n_waiters == 1 ? "" : "s");
    }
    if (rc != 0 || n_waiters == 0)
        goto done;
    rc = -1;
    column(&t.buf, "", W_MARK - 1);
    column(&t.buf, "PID (TREE)", W_TREE);
    column(&t.buf, "BLOCKS", W_BLOCKS);
    column(&t.buf, "STATE", W_STATE);
    column(&t.buf, "TIME", W_TIME);
    column(&t.buf, "WAITING ON", W_WAIT_TREE);
    column(&t.buf, "WAITED", W_TIME);
    column(&t.buf, "XACT", W_TIME);
    column(&t.buf, "APPLICATION", W_APP);
    strbuf_append(&t.buf, "QUERY");
    if (push_line(out, arena, &t.buf, o->width, TUI_ATTR_HEADING, 0, 0) != 0)
        goto done;

    for (i = 0; i < n_roots; i++)
    {
        const Session *r = lookup(&t.li, roots[i].pid);

        if (!tree_matches(&t, roots[i].pid))
            continue;
        n_shown++;
        if (r != NULL)
        {
            t.shown[session_index(snap, r)] = true;
            if (tree_row(&t, r, r->pid, 0) != 0)
                goto done;
        }
        else
        {
            char text[96];

            /* pg_blocking_pids() named it, but it is not a client session we listed. */
            snprintf(text, sizeof(text), "%d (not a listed client session)", (int) roots[i].pid);
            column(&t.buf, "", W_MARK - 1);
            strbuf_append(&t.buf, text);
            if (push_line(out, arena, &t.buf, o->width, TUI_ATTR_CRITICAL, 0, 0) != 0)
                goto done;
        }
        if (tree_children(&t, roots[i].pid, r != NULL ? r->pid : 0, 1) != 0)
            goto done;
    }
    /* The cycle's title comes before its first member shown. */
    n_roots_shown = n_shown;
    for (i = 0; n_cycle > 0 && i < snap->n_sessions; i++)
    {
        const Session *w = &snap->sessions[i];

        if (!tui_session_waits_on_lock(w) || t.li.top[i] != 0 || t.shown[i] ||
            !tui_session_matches(w, o))
            continue;
        if (n_shown++ == n_roots_shown &&
            push_text(out, arena, o->width, TUI_ATTR_BOLD,
                      "  waiting on each other (a deadlock the server is about to break):") != 0)
            goto done;
        t.shown[i] = true;
        if (tree_row(&t, w, 0, 1) != 0)
            goto done;
    }
    if (n_shown == 0 && n_waiters > 0 &&
        push_text(out, arena, o->width, TUI_ATTR_DIM, "  no lock tree matches the filter") != 0)
        goto done;
    rc = 0;
done:
    strbuf_free(&t.buf);
    return rc;
}

/* --- header ------------------------------------------------------------------ */

/* "15:00:01", local time. */
static void
clock_text(double unix_time, char *buf, size_t size)
{
    time_t t = (time_t) unix_time;
    struct tm tm;

    if (unix_time <= 0 || localtime_r(&t, &tm) == NULL)
        snprintf(buf, size, "?");
    else
        strftime(buf, size, "%H:%M:%S", &tm);
}

/* What each failure means for a person, in a few words. */
static const char *
failure_meaning(ConnFailure failure)
{
    switch (failure)
    {
        case CONN_OK:
            return "reachable";
        case CONN_SERVER_DOWN:
            return "nothing listens: the server is down";
        case CONN_TIMEOUT:
            return "no answer in time: the server or the network hangs";
        case CONN_TOO_MANY_CLIENTS:
            return "logins refused: every connection slot is taken";
        case CONN_CONNECTION_LIMIT:
            return "login refused: the role's or database's connection limit";
        case CONN_AUTH_FAILURE:
            return "login refused: password or pg_hba.conf";
        case CONN_DATABASE_MISSING:
            return "the database does not exist";
        case CONN_STARTING_UP:
            return "the server is starting up";
        case CONN_SHUTTING_DOWN:
            return "the server is shutting down";
        case CONN_IN_RECOVERY:
            return "refused: the server is in recovery";
        case CONN_NO_ATTEMPT:
            return "invalid connection options";
        case CONN_ERROR:
            return "reached, but the probe failed";
    }
    return "?";
}

static const Alert *
find_alert(const AlertList *alerts, const char *name)
{
    size_t i;

    for (i = 0; alerts != NULL && i < alerts->n_alerts; i++)
        if (strcmp(alerts->alerts[i].name, name) == 0)
            return &alerts->alerts[i];
    return NULL;
}

int
tui_layout_header(const Snapshot *snap, const AlertList *alerts, const TuiHeader *h, Arena *arena,
                  TuiLines *out)
{
    StrBuf buf = STRBUF_INIT;
    char every[32], when[32], marks[96];
    size_t i;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    format_duration_ms(h->interval_ms, every, sizeof(every));
    snprintf(marks, sizeof(marks), "%s%s", h->paused ? "  PAUSED (p resumes)" : "",
             h->dry_run ? "  DRY RUN: nothing is signalled" : "");
    strbuf_append(&buf, "pgmedic top  ");
    append_clean(&buf, snap->target ? snap->target : "?", -1);
    if (snap->failure == CONN_OK)
    {
        const Alert *conn = find_alert(alerts, "DatabaseHighConnections");
        int64_t usable = snapshot_usable_slots(snap);
        char uptime[32], longest[32];

        format_age(snap->uptime_s, uptime, sizeof(uptime));
        clock_text(snap->taken_at, when, sizeof(when));
        strbuf_append(&buf, "  PostgreSQL ");
        append_clean(&buf, snap->version ? snap->version : "?", 16);
        strbuf_printf(&buf, ", up %s%s  at %s, every %s%s", uptime,
                      snap->in_recovery ? ", in recovery" : "", when, every, marks);
        if (push_line(out, arena, &buf, h->width, TUI_ATTR_BOLD, 0, 0) != 0)
            goto done;

        strbuf_printf(&buf, "connections %lld/%lld usable", (long long) snap->n_clients,
                      (long long) usable);
        if (usable > 0)
            strbuf_printf(&buf, " (%.0f%%)", 100.0 * (double) snap->n_clients / (double) usable);
        strbuf_printf(&buf,
                      ": %lld active, %lld idle, %lld idle in transaction, %lld waiting on "
                      "a lock",
                      (long long) snap->n_active, (long long) snap->n_idle,
                      (long long) snap->n_idle_in_transaction, (long long) snap->n_waiting_lock);
        if (snap->longest_query_pid != 0)
        {
            format_age(snap->longest_query_s, longest, sizeof(longest));
            strbuf_printf(&buf, "; longest query %s (pid %d)", longest,
                          (int) snap->longest_query_pid);
        }
        if (snap->via_reserved_slot)
            strbuf_append(&buf, "; seen through a reserved slot: normal logins are refused");
        if (push_line(out, arena, &buf, h->width,
                      conn != NULL ? severity_attr(conn->severity) : TUI_ATTR_NORMAL, 0, 0) != 0)
            goto done;
    }
    else
    {
        char last[32];

        clock_text(h->down_since > 0 ? h->down_since : snap->taken_at, when, sizeof(when));
        clock_text(h->last_ok_at, last, sizeof(last));
        strbuf_printf(&buf, "  DOWN since %s (last reached %s), retrying every %s%s", when,
                      h->last_ok_at > 0 ? last : "never", every, marks);
        if (push_line(out, arena, &buf, h->width, TUI_ATTR_CRITICAL, 0, 0) != 0)
            goto done;
        strbuf_printf(&buf, "cause: %s (%s): ", snapshot_failure_name(snap->failure),
                      failure_meaning(snap->failure));
        append_clean(&buf, snap->failure_message ? snap->failure_message : "no detail", -1);
        if (push_line(out, arena, &buf, h->width, TUI_ATTR_CRITICAL, 0, 0) != 0)
            goto done;
    }
    if (alerts == NULL || alerts->n_alerts == 0)
        strbuf_append(&buf, "OK        no alert firing");
    if (buf.len > 0 && push_line(out, arena, &buf, h->width, TUI_ATTR_OK, 0, 0) != 0)
        goto done;
    for (i = 0; alerts != NULL && i < alerts->n_alerts; i++)
    {
        const Alert *a = &alerts->alerts[i];

        strbuf_printf(&buf, "%-9s %s: ", alert_severity_tag(a->severity), a->name);
        append_clean(&buf, a->summary, -1);
        if (push_line(out, arena, &buf, h->width, severity_attr(a->severity), 0, 0) != 0)
            goto done;
    }
    rc = 0;
done:
    strbuf_free(&buf);
    return rc;
}

/* --- findings ---------------------------------------------------------------- */

int
tui_layout_findings(const Snapshot *snap, const AlertList *alerts, const FindingList *findings,
                    const Thresholds *th, int width, Arena *arena, TuiLines *out)
{
    static const AlertList no_alerts = {NULL, 0};
    static const FindingList no_findings = {NULL, 0};
    TextStyle style = {false};
    StrBuf text = STRBUF_INIT, line = STRBUF_INIT;
    const char *p;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (width < 16)
        width = 16;
    render_triage_text(&text, snap, alerts ? alerts : &no_alerts,
                       findings ? findings : &no_findings, th, &style);
    if (!strbuf_ok(&text))
        goto done;
    p = strbuf_str(&text);
    while (*p)
    {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t) (end - p) : strlen(p);
        char *one = arena_strndup(arena, p, len);
        const char *q = one;
        int indent = 0;
        bool first = true;
        TuiAttr attr = TUI_ATTR_NORMAL;

        if (one == NULL)
            goto done;
        /* Each finding's title line in bold; commands stand out too. */
        if ((one[0] >= '1' && one[0] <= '9') || strncmp(one, "treat first:", 12) == 0)
            attr = TUI_ATTR_BOLD;
        while (one[indent] == ' ')
            indent++;
        if (strncmp(one + indent, "$ ", 2) == 0)
            attr = TUI_ATTR_BOLD;
        if (indent > width / 2)
            indent = width / 2;
        /* Wrapped at width, continuation lines indented two more than the first. */
        do
        {
            int room = first ? width : width - indent - 2;
            const unsigned char *u = (const unsigned char *) q, *space = NULL;
            int cols = 0;

            while (*u && cols < room)
            {
                size_t n = pm_utf8_len(u);

                if (*u == ' ' && cols > (first ? indent : 0))
                    space = u;
                u += n ? n : 1;
                cols++;
            }
            /* Break at the last space that fits, when the line goes on. */
            if (*u && *u != ' ' && space != NULL)
                u = space;
            if (!first)
                strbuf_printf(&line, "%*s", indent + 2, "");
            strbuf_append_len(&line, q, (size_t) ((const char *) u - q));
            if (push_line(out, arena, &line, width, attr, 0, 0) != 0)
                goto done;
            while (*u == ' ')
                u++;
            q = (const char *) u;
            first = false;
        } while (*q);
        p = end ? end + 1 : p + len;
    }
    rc = 0;
done:
    strbuf_free(&text);
    strbuf_free(&line);
    return rc;
}
