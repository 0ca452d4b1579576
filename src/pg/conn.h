/*
 * conn.h - reaching a server: connection options as psql takes them, a
 * bounded non-blocking connect, and the cause of a failure named.
 *
 * A blocking libpq connect to a hung (SIGSTOPped) server never returns, and
 * libpq ignores connect_timeout in non-blocking mode: the deadline here is
 * enforced with poll() on the client side, so pgconn_open() always returns
 * within connect_timeout_ms.
 */
#ifndef PGMEDIC_PG_CONN_H
#define PGMEDIC_PG_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/snapshot.h"
#include "util/compiler.h"
#include "util/error.h"

/* Where to connect: keyword/value pairs, in libpq's terms.  Owns its strings. */
typedef struct ConnSpec ConnSpec;

/*
 * Builds a spec from, lowest precedence first: a target's conninfo (string or
 * URI), then -d (a plain name, a conninfo string or a URI), then -h, -p, -U.
 * Each may be NULL.  The PG* environment, service file and .pgpass are
 * libpq's, below all of these.  NULL and *err filled when a conninfo string
 * cannot be parsed.
 */
ConnSpec *connspec_new(const char *target_conninfo, const char *dbname, const char *host,
                       const char *port, const char *user, PmError *err) PM_MUST_CHECK;
void connspec_free(ConnSpec *spec); /* NULL is a no-op */

/*
 * The spec as a conninfo string without its password (and without keys that
 * cannot matter to a person), quoted per libpq's rules; NULL on out of memory.
 * Caller frees.
 */
char *connspec_conninfo_without_password(const ConnSpec *spec);

/* True when the spec carries a password. */
bool connspec_has_password(const ConnSpec *spec);

/* Replaces every occurrence of the spec's password in text with ********. */
void connspec_scrub(const ConnSpec *spec, char *text);

typedef struct
{
    int64_t connect_timeout_ms;
    int64_t query_timeout_ms; /* statement_timeout of the session */
    int64_t lock_timeout_ms;  /* 0: the default of 1 s */
    bool read_only;           /* default_transaction_read_only */
} ConnOptions;

/* What a connection attempt found; filled whether it worked or not. */
typedef struct
{
    ConnFailure failure;
    char message[512]; /* libpq's text, trimmed and scrubbed; "" when it worked */
    char label[256];   /* "dbname@host:port", never a password */
    double connect_s;
} ConnAttempt;

typedef struct PgConn PgConn; /* opaque: owns the PGconn */

/* Connects; NULL on failure with attempt->failure and message set. */
PgConn *pgconn_open(const ConnSpec *spec, const ConnOptions *opts,
                    ConnAttempt *attempt) PM_MUST_CHECK;
void pgconn_close(PgConn *conn); /* NULL is a no-op */

/* Classifies a libpq connection error text (libpq 15 gives no SQLSTATE). */
ConnFailure pgconn_classify(const char *message);

#endif
