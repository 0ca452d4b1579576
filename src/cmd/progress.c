/*
 * progress.c - a line of progress on the terminal (see progress.h).
 */
#include "cmd/progress.h"

#include <stdio.h>

void
progress_line_tick(void *arg)
{
    ProgressLine *p = arg;
    char line[160];
    PmError err;

    if (p->read(p->watcher, p->pid, line, sizeof(line), &err) != 0)
        return;
    if (p->max_bytes > 0)
        fprintf(stderr, "\r  %s: %-*.*s", p->label, p->width, p->max_bytes, line);
    else
        fprintf(stderr, "\r  %s: %-*s", p->label, p->width, line);
    fflush(stderr);
    p->shown = true;
}

void
progress_line_end(const ProgressLine *p)
{
    if (p->shown)
        fprintf(stderr, "\r%-90s\r", "");
}
