/*
 * snapshot_json.h - a Snapshot as JSON and back (`pgmedic snapshot`,
 * `--from FILE`).  The shape is the contract of DESIGN.md §4: additive
 * changes only.  Each record's fields are listed once, in tables that both
 * the writer and the reader walk.
 */
#ifndef PGMEDIC_CORE_SNAPSHOT_JSON_H
#define PGMEDIC_CORE_SNAPSHOT_JSON_H

#include <stddef.h>

#include "core/snapshot.h"
#include "util/arena.h"
#include "util/compiler.h"
#include "util/error.h"
#include "util/jsonw.h"

/* The version of the JSON shape, the value of the "pgmedic" key. */
enum
{
    SNAPSHOT_JSON_VERSION = 1
};

/* Writes the keys every output shares: pgmedic, target, taken_at, status. */
void snapshot_json_write_header(JsonW *w, const Snapshot *snap);

/* Writes the whole snapshot as one JSON object. */
void snapshot_json_write(JsonW *w, const Snapshot *snap);

/*
 * Reads a snapshot written by snapshot_json_write() (or any output that
 * carries the same keys).  Strings live in arena.  -1 with *err on invalid
 * JSON ("line L, column C: ...") or a wrong shape; source names the input.
 */
int snapshot_json_read(const char *text, size_t len, const char *source, Arena *arena,
                       Snapshot *snap, PmError *err) PM_MUST_CHECK;

#endif
