/*
 * layout.h - what `pgmedic top` shows, as lines of text: the header, the
 * session list, the lock trees and triage's findings, built from one
 * snapshot.
 *
 * Pure: no terminal, no I/O, no clock (times come from the snapshot and the
 * caller), so every screen is unit-tested on snapshot fixtures.  The screen
 * (tui/screen.h) only paints these lines.  Text from the server (queries,
 * application and role names) is made safe for a terminal here: control
 * characters become spaces, invalid UTF-8 '?'.  Widths count code points,
 * one column each.  Lines and their text live in the caller's arena.
 */
#ifndef PGMEDIC_TUI_LAYOUT_H
#define PGMEDIC_TUI_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/finding.h"
#include "core/rules.h"
#include "core/snapshot.h"
#include "core/thresholds.h"
#include "util/arena.h"
#include "util/compiler.h"

typedef enum
{
    TUI_VIEW_SESSIONS = 0,
    TUI_VIEW_LOCKS,
    TUI_VIEW_FINDINGS
} TuiView;

typedef enum
{
    TUI_SORT_DURATION = 0, /* longest first */
    TUI_SORT_STATE,        /* active, idle in transaction (aborted), idle in transaction, idle */
    TUI_SORT_APPLICATION   /* by application name, then longest first */
} TuiSort;

/* How a line is painted. */
typedef enum
{
    TUI_ATTR_NORMAL = 0,
    TUI_ATTR_BOLD,     /* titles */
    TUI_ATTR_HEADING,  /* column headings (reverse video) */
    TUI_ATTR_OK,       /* green */
    TUI_ATTR_WARNING,  /* yellow */
    TUI_ATTR_CRITICAL, /* red */
    TUI_ATTR_DIM
} TuiAttr;

typedef struct
{
    const char *text; /* terminal-safe, at most the width asked for */
    TuiAttr attr;
    int32_t pid;      /* the session on this line; 0 when the line is not a session */
    int32_t root_pid; /* the root of the lock tree it belongs to; 0 when none */
} TuiLine;

typedef struct
{
    TuiLine *lines;
    size_t n_lines;
    size_t cap;
} TuiLines;

/* What the list views show, and how. */
typedef struct
{
    TuiSort sort;
    const char *application; /* only this application_name; NULL: all */
    const char *database;    /* only this database; NULL: all */
    int width;               /* columns */
} TuiListOptions;

/* What the header says besides the snapshot. */
typedef struct
{
    int64_t interval_ms;
    bool paused;
    bool dry_run;
    double last_ok_at; /* Unix time of the last snapshot that reached the server; 0: none */
    double down_since; /* Unix time of the first failed snapshot in a row; 0 when up */
    int width;
} TuiHeader;

/*
 * The header: the target, version, uptime and time of the snapshot with the
 * refresh interval, "paused" and "DRY RUN" marks; then connections against
 * usable slots with the count by state; then every firing alert (or "no
 * alert firing").  A snapshot that failed says so instead: DOWN, its cause
 * (snapshot_failure_name) and message, since when, the last good snapshot,
 * and that it retries every interval.  -1 when out of memory.
 */
int tui_layout_header(const Snapshot *snap, const AlertList *alerts, const TuiHeader *h,
                      Arena *arena, TuiLines *out) PM_MUST_CHECK;

/*
 * The session list: a heading line, then one line per client session of
 * the snapshot that passes the filters, sorted as asked: pid, user,
 * application, database and client (only from 140 columns on), state, time
 * (tui_session_duration), what it waits on, its part in a lock tree
 * ("waits 123" or "blocks 2") and the query on one line.  Session lines carry their pid.  A
 * snapshot without sessions gets one line saying why.  -1 when out of memory.
 */
int tui_layout_sessions(const Snapshot *snap, const TuiListOptions *o, Arena *arena,
                        TuiLines *out) PM_MUST_CHECK;

/*
 * The lock trees from pg_blocking_pids(): a summary line, a heading, then
 * each root blocker (a session that blocks a lock waiter and waits on no
 * lock) with its waiters indented under it ("\_ "), each waiter under the
 * first session that blocks it, the longest wait first.  Roots with the
 * most waiters come first.  A tree is shown when any of its sessions passes
 * the filters.  A blocker missing from the snapshot is shown as a root line
 * without details (pid 0: not selectable); waiters that block each other in
 * a cycle (a deadlock the server is about to break) are listed as such.
 * -1 when out of memory.
 */
int tui_layout_locks(const Snapshot *snap, const TuiListOptions *o, Arena *arena,
                     TuiLines *out) PM_MUST_CHECK;

/*
 * Triage's findings, as `pgmedic triage` prints them (render_triage_text,
 * without colour), lines longer than width wrapped with an indent.  -1 when
 * out of memory.
 */
int tui_layout_findings(const Snapshot *snap, const AlertList *alerts, const FindingList *findings,
                        const Thresholds *th, int width, Arena *arena, TuiLines *out) PM_MUST_CHECK;

/*
 * How long a session has been doing what it does: an active one since its
 * query started, any other since its state last changed; -1 when unknown.
 */
double tui_session_duration(const Session *s);

/* True when s waits on a lock held by sessions pg_blocking_pids() named. */
bool tui_session_waits_on_lock(const Session *s);

/*
 * The root of the lock tree pid belongs to: following each waiter's first
 * blocker up to a session that waits on no lock.  pid itself when it is a
 * root with waiters; 0 when it is in no tree, is in a cycle, or the root is
 * not in the snapshot.
 */
int32_t tui_lock_root(const Snapshot *snap, int32_t pid);

/* How many sessions wait behind pid, directly or through other waiters. */
size_t tui_lock_waiters(const Snapshot *snap, int32_t pid);

/* True when s passes the filters of o. */
bool tui_session_matches(const Session *s, const TuiListOptions *o);

/* "duration", "state", "application"; and the inverse (-1 when unknown). */
const char *tui_sort_name(TuiSort sort);
int tui_sort_from_name(const char *name);

/*
 * s made safe for a terminal into a new arena string of at most max_cols
 * code points (NULL gives ""): control characters become spaces, invalid
 * UTF-8 '?'.  NULL when out of memory.
 */
const char *tui_clean(Arena *arena, const char *s, int max_cols);

#endif
