/*
 * hostinfo.h - facts from the database host itself: free space of the data
 * and WAL filesystems, the WAL directory's size, memory, and the server
 * log's last FATAL/PANIC lines.  Only meaningful when pgmedic runs on the
 * database host; otherwise host->available stays false and nothing fails.
 */
#ifndef PGMEDIC_HOST_HOSTINFO_H
#define PGMEDIC_HOST_HOSTINFO_H

#include "core/snapshot.h"
#include "util/arena.h"
#include "util/compiler.h"

typedef struct
{
    const char *data_directory; /* from the server, or the target's config; may be NULL */
    const char *log_file;       /* the server's log; relative to data_directory; may be NULL */
    int max_log_lines;          /* FATAL/PANIC/ERROR lines kept, newest last */
} HostInfoOptions;

/*
 * Fills snap->host.  Returns -1 only when out of memory; facts that cannot be
 * read are left unknown (-1 / NULL), and available says whether the data
 * directory was found on this host.
 */
int hostinfo_collect(const HostInfoOptions *opts, Arena *arena, HostInfo *host) PM_MUST_CHECK;

#endif
