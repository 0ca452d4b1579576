/*
 * file.h - whole-file reads with a size cap, and writing results to stdout.
 */
#ifndef PGMEDIC_UTIL_FILE_H
#define PGMEDIC_UTIL_FILE_H

#include <stddef.h>

#include "util/compiler.h"
#include "util/error.h"
#include "util/strbuf.h"

/* Reads path ("-" is stdin) into buf, at most max_bytes; -1 with *err. */
int pm_read_file(const char *path, size_t max_bytes, StrBuf *buf, PmError *err) PM_MUST_CHECK;

/* Writes the buffer to stdout and flushes; -1 with *err (e.g. a closed pipe). */
int pm_write_stdout(const StrBuf *buf, PmError *err) PM_MUST_CHECK;

#endif
