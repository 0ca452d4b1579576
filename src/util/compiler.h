/*
 * compiler.h - attributes that let the compiler check what the code promises.
 */
#ifndef PGMEDIC_UTIL_COMPILER_H
#define PGMEDIC_UTIL_COMPILER_H

#if defined(__GNUC__) || defined(__clang__)
#define PM_MUST_CHECK __attribute__((warn_unused_result))
#define PM_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#define PM_NORETURN __attribute__((noreturn))
#else
#define PM_MUST_CHECK
#define PM_PRINTF(fmt, first)
#define PM_NORETURN
#endif

#define PM_LENGTHOF(array) (sizeof(array) / sizeof((array)[0]))

#endif
