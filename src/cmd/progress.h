/*
 * progress.h - one line of progress on a terminal while a long statement
 * runs (fix create-index, maintain): read from the server on a second
 * connection every tick, painted over itself on stderr, erased at the end.
 *
 *   ProgressLine line = {watcher, pid, act_index_progress, "building idx", 60};
 *   ... run the statement with progress_line_tick(&line) as its tick ...
 *   progress_line_end(&line);
 *
 * Only for a terminal: the caller checks isatty(STDERR_FILENO).
 */
#ifndef PGMEDIC_CMD_PROGRESS_H
#define PGMEDIC_CMD_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

#include "pg/conn.h"
#include "util/error.h"

typedef struct
{
    PgConn *watcher; /* reads the progress; not the connection running the statement */
    int pid;         /* the backend running it */
    /* One line of progress for pid into buf: 0, 1 when there is none, -1 with *err. */
    int (*read)(PgConn *conn, int pid, char *buf, size_t size, PmError *err);
    const char *label; /* "  LABEL: LINE" */
    int width;         /* LINE is padded to this many bytes... */
    int max_bytes;     /* ...and cut at this many (0: never) */
    bool shown;        /* a line was painted: progress_line_end() erases it */
} ProgressLine;

/* Reads and paints the line (arg: the ProgressLine); a read that fails paints nothing. */
void progress_line_tick(void *arg);

/* Erases the line, when one was painted. */
void progress_line_end(const ProgressLine *line);

#endif
