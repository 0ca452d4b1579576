/*
 * finding.h - a diagnosed cause: what it is, which alert it explains, the
 * evidence a human can check, and the exact `pgmedic fix` commands that
 * treat it (DESIGN.md §4).  Plain data in the cycle's arena.
 */
#ifndef PGMEDIC_CORE_FINDING_H
#define PGMEDIC_CORE_FINDING_H

#include <stddef.h>
#include <stdint.h>

#include "core/rules.h"
#include "util/arena.h"
#include "util/compiler.h"

typedef enum
{
    EV_STRING,
    EV_INT,
    EV_DOUBLE,
    EV_BOOL,
    EV_PIDS,   /* ints: pids */
    EV_STRINGS /* strs: a list of strings */
} EvidenceType;

/* One key of a finding's "evidence" object. */
typedef struct
{
    const char *key;
    EvidenceType type;
    const char *str;
    int64_t num;
    double real;
    const int32_t *ints;
    const char *const *strs;
    size_t n; /* items of ints / strs */
} Evidence;

typedef struct
{
    const char *kind;   /* snake_case cause: "connection_leak", ... */
    const char *alert;  /* the alert it explains, NULL for a latent cause */
    Severity severity;  /* SEV_WARNING or SEV_CRITICAL */
    double impact;      /* ranking score: higher is treated first */
    const char *summary; /* one line */
    Evidence *evidence;
    size_t n_evidence;
    const char **actions; /* exact commands: "pgmedic fix terminate-idle --application 'api' ..." */
    size_t n_actions;
    const char **advice; /* what a human should change (sentences), not commands */
    size_t n_advice;
} Finding;

typedef struct
{
    Finding *findings; /* ranked: explaining firing alerts first, then by impact */
    size_t n_findings;
} FindingList;

/*
 * Building findings: a FindingBuilder collects evidence/actions/advice for
 * one finding and finding_finish() copies them into the arena.  Every
 * function returns -1 when out of memory (the builder then stays failed).
 */
enum
{
    FINDING_MAX_EVIDENCE = 24,
    FINDING_MAX_ACTIONS = 8,
    FINDING_MAX_ADVICE = 8
};

typedef struct
{
    Arena *arena;
    Finding finding;
    Evidence evidence[FINDING_MAX_EVIDENCE];
    const char *actions[FINDING_MAX_ACTIONS];
    const char *advice[FINDING_MAX_ADVICE];
    bool failed;
} FindingBuilder;

void finding_begin(FindingBuilder *b, Arena *arena, const char *kind, const char *alert,
                   Severity severity, double impact);
void finding_summary(FindingBuilder *b, const char *fmt, ...) PM_PRINTF(2, 3);
void finding_str(FindingBuilder *b, const char *key, const char *value);
void finding_int(FindingBuilder *b, const char *key, int64_t value);
void finding_real(FindingBuilder *b, const char *key, double value);
void finding_bool(FindingBuilder *b, const char *key, bool value);
void finding_pids(FindingBuilder *b, const char *key, const int32_t *pids, size_t n);
void finding_strs(FindingBuilder *b, const char *key, const char *const *strs, size_t n);
void finding_action(FindingBuilder *b, const char *fmt, ...) PM_PRINTF(2, 3);
void finding_advice(FindingBuilder *b, const char *fmt, ...) PM_PRINTF(2, 3);
/* Appends the finished finding to list (growing it in the arena); -1 on failure. */
int finding_finish(FindingBuilder *b, FindingList *list) PM_MUST_CHECK;

/*
 * Quotes s for a POSIX shell when it needs it ('it'\''s'), so a printed
 * command can be pasted safely whatever an application name contains.
 */
const char *finding_shell_quote(Arena *arena, const char *s);

/*
 * The words of an action, undoing finding_shell_quote (single quotes, and
 * backslash outside them), for running it without a shell.  Anything a
 * shell would interpret otherwise ($, `, ;, globs, ...) is refused.  argv
 * is NULL-terminated, in arena.  -1 on refusal or out of memory.
 */
int finding_split_action(const char *action, Arena *arena, const char ***argv, size_t *argc)
    PM_MUST_CHECK;

#endif
