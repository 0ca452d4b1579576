/*
 * log.c - stderr logging with levels.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

static LogLevel current_level = LOG_LEVEL_WARNING;
/* Level of the last message, so its detail and hint lines follow it. */
static LogLevel last_level = LOG_LEVEL_ERROR;

void
pm_log_set_level(LogLevel level)
{
    current_level = level;
}

LogLevel
pm_log_get_level(void)
{
    return current_level;
}

static void
vlog(LogLevel level, const char *tag, const char *fmt, va_list ap)
{
    if (level > current_level)
        return;
    fprintf(stderr, "pgmedic: %s: ", tag);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

#define DEFINE_LOG(fn, level, tag)                                                                 \
    void fn(const char *fmt, ...)                                                                  \
    {                                                                                              \
        va_list ap;                                                                                \
        last_level = level;                                                                        \
        va_start(ap, fmt);                                                                         \
        vlog(level, tag, fmt, ap);                                                                 \
        va_end(ap);                                                                                \
    }

DEFINE_LOG(pm_log_error, LOG_LEVEL_ERROR, "error")
DEFINE_LOG(pm_log_warning, LOG_LEVEL_WARNING, "warning")
DEFINE_LOG(pm_log_info, LOG_LEVEL_INFO, "info")
DEFINE_LOG(pm_log_debug, LOG_LEVEL_DEBUG, "debug")

void
pm_log_detail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(last_level, "detail", fmt, ap);
    va_end(ap);
}

void
pm_log_hint(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(last_level, "hint", fmt, ap);
    va_end(ap);
}

void
pm_log_pm_error(const PmError *err)
{
    pm_log_error("%s", err->message[0] ? err->message : "internal error");
    if (err->detail[0])
        pm_log_detail("%s", err->detail);
    if (err->hint[0])
        pm_log_hint("%s", err->hint);
}
