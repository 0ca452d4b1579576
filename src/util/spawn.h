/*
 * spawn.h - run a child process under a deadline and keep what it printed.
 *
 * The child gets its own process group (a timeout kills the whole group),
 * stdin from `input` (or /dev/null; an unlinked file in $TMPDIR), and
 * stdout+stderr (or stdout only, or neither) through a pipe.  Output past `max_output` bytes is drained and dropped, so
 * a chatty child never blocks and never grows our memory.
 */
#ifndef PGMEDIC_UTIL_SPAWN_H
#define PGMEDIC_UTIL_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

typedef struct
{
    const char *input;     /* written to the child's stdin; NULL: /dev/null */
    size_t input_len;
    bool merge_stderr;     /* capture stderr with stdout (else stderr is inherited) */
    bool inherit_output;   /* leave stdout and stderr alone: nothing is captured */
    size_t max_output;     /* bytes kept (default 64 KiB when 0) */
    int64_t timeout_ms;    /* the whole run; the group gets SIGKILL after it */
} SpawnOptions;

typedef struct
{
    int status;     /* exit status, 128+signal when killed by one; -1 when it could not run */
    bool timed_out; /* the deadline passed and the group was killed */
    bool truncated; /* output past max_output was dropped */
    char error[160]; /* why it could not run ("could not fork: ...") */
} SpawnResult;

/*
 * Runs argv[0] (a path, no PATH search) with argv, or "/bin/sh -c command"
 * when argv is NULL.  out (may be NULL) receives the output.  Returns 0 when
 * the child ran (whatever its status), -1 when it could not be started.
 */
int spawn_run(const char *const *argv, const char *command, const SpawnOptions *opts,
              StrBuf *out, SpawnResult *res);

#endif
