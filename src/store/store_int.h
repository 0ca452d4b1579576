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

#endif
