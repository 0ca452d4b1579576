/*
 * store_int.h - what the modules of src/store share: the handle and small
 * helpers.  Only the .c files of src/store include this (and so <sqlite3.h>).
 */
#ifndef PGMEDIC_STORE_STORE_INT_H
#define PGMEDIC_STORE_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"

struct Store
{
    sqlite3 *db;
    char path[4096];
};

/* Binds s to parameter i, NULL as SQL NULL. */
void store_bind_text(sqlite3_stmt *stmt, int i, const char *s);

/* Column i as text, "" for NULL; valid until the next step of stmt. */
const char *store_col_text(sqlite3_stmt *stmt, int i);

/* Column i as text, NULL for SQL NULL (where NULL means something, like "not acknowledged"). */
static inline const char *
store_col_text_or_null(sqlite3_stmt *stmt, int i)
{
    return (const char *) sqlite3_column_text(stmt, i);
}

/* Rolls back the open transaction, ignoring errors (the caller reports its own). */
void store_rollback(Store *store);

#endif
