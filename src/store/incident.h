/*
 * incident.h - incidents and their timelines in the store (runbook §1 "create
 * an incident ticket", §13 "document root cause"), and the samples read back
 * for the incident chart.
 *
 * An incident belongs to one target (its label, never with a password).  It
 * is open until resolved; acknowledging it does not close it.  Its timeline is
 * a list of entries: what pgmedic saw, did and decided (kind "open", "ack",
 * "note", "check", "triage", "fix", "verify", "escalate", "page", "resolve"),
 * each with a one-line summary and a JSON data text.
 *
 * State changes (open, ack, resolve) and their timeline entry are written in
 * one transaction.  Errors carry the store path; a missing incident is
 * "incident N does not exist in store PATH".
 */
#ifndef PGMEDIC_STORE_INCIDENT_H
#define PGMEDIC_STORE_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/arena.h"
#include "util/compiler.h"
#include "util/error.h"

typedef struct
{
    int64_t id;
    const char *target;
    const char *alert; /* the alert it is about; NULL when none was named */
    const char *title;
    const char *severity;   /* "warning" or "critical" */
    double opened_at;       /* Unix time */
    double acked_at;        /* 0 while not acknowledged */
    const char *acked_by;   /* NULL while not acknowledged */
    double resolved_at;     /* 0 while open */
    const char *root_cause; /* NULL when none was given */
} Incident;

typedef struct
{
    int64_t id;
    int64_t incident_id;
    double at;
    const char *kind;
    const char *summary;
    const char *data; /* JSON text; "" when none */
} TimelineEntry;

/* Copies e into *out with its strings in arena (a callback's entry dies with the row). */
int store_timeline_entry_copy(Arena *arena, const TimelineEntry *e,
                              TimelineEntry *out) PM_MUST_CHECK;

/*
 * Opens an incident (inc->id, acked and resolved fields are ignored) and adds
 * its "open" timeline entry (summary: the title; data: data_json, may be
 * NULL); *id is the new id.  -1 with *err.
 */
int store_incident_open(Store *store, const Incident *inc, const char *data_json, int64_t *id,
                        PmError *err) PM_MUST_CHECK;

/*
 * Reads incident id into *out, its strings in arena.  -1 with *err when it
 * does not exist ("incident 7 does not exist in store ...") or on failure.
 */
int store_incident_get(Store *store, int64_t id, Arena *arena, Incident *out,
                       PmError *err) PM_MUST_CHECK;

/*
 * The newest incident of target that is not resolved, into *out (strings in
 * arena); *found false when there is none.  -1 with *err.
 */
int store_incident_find_open(Store *store, const char *target, Arena *arena, Incident *out,
                             bool *found, PmError *err) PM_MUST_CHECK;

/*
 * Calls fn for incidents, newest first: at most limit (0 = all), only those
 * not resolved when open_only.  The row is valid during the call; fn returns
 * non-zero to stop.  -1 with *err.
 */
int store_incident_list(Store *store, size_t limit, bool open_only,
                        int (*fn)(const Incident *inc, void *arg), void *arg,
                        PmError *err) PM_MUST_CHECK;

/*
 * Acknowledges incident id by who at time at, with an "ack" timeline entry.
 * Refused (-1, *err says why) when it does not exist, is resolved, or was
 * already acknowledged.
 */
int store_incident_ack(Store *store, int64_t id, const char *who, double at,
                       PmError *err) PM_MUST_CHECK;

/*
 * Resolves incident id at time at, with root_cause (may be NULL) and a
 * "resolve" timeline entry.  Refused when it does not exist or is already
 * resolved.
 */
int store_incident_resolve(Store *store, int64_t id, const char *root_cause, double at,
                           PmError *err) PM_MUST_CHECK;

/*
 * Adds a timeline entry to incident id (which must exist); data_json may be
 * NULL.  *entry_id (may be NULL) is the new entry's id.  -1 with *err.
 */
int store_timeline_add(Store *store, int64_t incident_id, double at, const char *kind,
                       const char *summary, const char *data_json, int64_t *entry_id,
                       PmError *err) PM_MUST_CHECK;

/*
 * Calls fn for the timeline of incident id, oldest first (by time, then by
 * insertion).  The entry is valid during the call; fn returns non-zero to
 * stop.  -1 with *err.
 */
int store_timeline_list(Store *store, int64_t incident_id,
                        int (*fn)(const TimelineEntry *entry, void *arg), void *arg,
                        PmError *err) PM_MUST_CHECK;

/*
 * Calls fn for the samples of target taken in [since, until], oldest first.
 * The sample is valid during the call; fn returns non-zero to stop.  -1 with
 * *err.
 */
int store_sample_list(Store *store, const char *target, double since, double until,
                      int (*fn)(const Sample *sample, void *arg), void *arg,
                      PmError *err) PM_MUST_CHECK;

#endif
