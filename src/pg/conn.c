/*
 * conn.c - connection options, bounded connects and failure classification.
 */
#include "pg/conn.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pgconn_int.h"
#include "util/clock.h"
#include "util/log.h"

struct ConnSpec
{
    char **keywords; /* NULL-terminated, like values */
    char **values;
    size_t n;
};

static int
spec_put(ConnSpec *spec, const char *keyword, const char *value)
{
    size_t i;
    char *copy;

    for (i = 0; i < spec->n; i++)
    {
        if (strcmp(spec->keywords[i], keyword) == 0)
        {
            copy = strdup(value);
            if (copy == NULL)
                return -1;
            free(spec->values[i]);
            spec->values[i] = copy;
            return 0;
        }
    }
    {
        char **k = realloc(spec->keywords, (spec->n + 2) * sizeof(char *));
        char **v;

        if (k == NULL)
            return -1;
        spec->keywords = k;
        v = realloc(spec->values, (spec->n + 2) * sizeof(char *));
        if (v == NULL)
            return -1;
        spec->values = v;
    }
    spec->keywords[spec->n] = strdup(keyword);
    spec->values[spec->n] = strdup(value);
    if (spec->keywords[spec->n] == NULL || spec->values[spec->n] == NULL)
    {
        free(spec->keywords[spec->n]);
        free(spec->values[spec->n]);
        return -1;
    }
    spec->n++;
    spec->keywords[spec->n] = NULL;
    spec->values[spec->n] = NULL;
    return 0;
}

/* Copies s to dst (which has room) and returns its length. */
static size_t
copy_str(char *dst, const char *s)
{
    size_t len = strlen(s);

    memcpy(dst, s, len);
    return len;
}

static const char *
spec_get(const ConnSpec *spec, const char *keyword)
{
    size_t i;

    for (i = 0; i < spec->n; i++)
        if (strcmp(spec->keywords[i], keyword) == 0)
            return spec->values[i];
    return NULL;
}

/* True when libpq would expand text as a conninfo string or URI. */
static bool
is_conninfo(const char *text)
{
    return strchr(text, '=') != NULL || strncmp(text, "postgresql://", 13) == 0 ||
           strncmp(text, "postgres://", 11) == 0;
}

/*
 * True when a conninfo text that libpq could not parse may hold a password:
 * a "password" keyword (also URI "?password="), or a URI with user info
 * ("postgresql://user:secret@host").
 */
static bool
may_hold_password(const char *conninfo)
{
    const char *scheme = strstr(conninfo, "://");

    return strstr(conninfo, "password") != NULL ||
           (scheme != NULL && strchr(scheme + 3, '@') != NULL);
}

/*
 * Security fix (issue 8): libpq's parse errors quote the input, and when the
 * parse fails the password is not known, so connspec_scrub() cannot mask it:
 * `missing "=" after "it's"` (an unquoted password with a space) or the
 * whole "postgresql://user:secret@..." URI.  libpq's own quotes are one
 * character ("=", "]", ":") and come before the quoted input; everything
 * from the first longer quoted fragment to the last quote becomes "...", so
 * a password that itself holds a quote cannot split the hidden part.
 */
static void
hide_quoted_input(char *message)
{
    char *open = message, *last = strrchr(message, '"');

    while ((open = strchr(open, '"')) != NULL && open < last)
    {
        if (open[1] != '\0' && open[2] == '"')
        {
            open += 3; /* "x": one character, libpq's */
            continue;
        }
        {
            size_t n = (size_t) (last - open - 1); /* the hidden bytes */
            size_t dots = n < 3 ? n : 3;

            memset(open + 1, '.', dots);
            memmove(open + 1 + dots, last, strlen(last) + 1);
        }
        return;
    }
}

/* Adds the pairs of a conninfo string or URI; -1 with *err when malformed. */
static int
spec_put_conninfo(ConnSpec *spec, const char *conninfo, const char *what, PmError *err)
{
    PQconninfoOption *opts, *opt;
    char *errmsg = NULL;

    opts = PQconninfoParse(conninfo, &errmsg);
    if (opts == NULL)
    {
        if (errmsg != NULL)
        {
            bool hide = may_hold_password(conninfo);

            if (hide)
                hide_quoted_input(errmsg);
            pm_error_set(err, "invalid connection string in %s: %s", what, errmsg);
            PQfreemem(errmsg);
            if (hide)
                pm_error_detail(err, "Quoted parts are shown as \"...\": the connection string "
                                     "may hold a password.");
        }
        else
            pm_error_set(err, "out of memory");
        pm_error_hint(err, "Use \"host=... dbname=...\" or a postgresql:// URI.");
        return -1;
    }
    for (opt = opts; opt->keyword != NULL; opt++)
    {
        if (opt->val != NULL && spec_put(spec, opt->keyword, opt->val) != 0)
        {
            PQconninfoFree(opts);
            pm_error_set(err, "out of memory");
            return -1;
        }
    }
    PQconninfoFree(opts);
    return 0;
}

ConnSpec *
connspec_new(const char *target_conninfo, const char *dbname, const char *host, const char *port,
             const char *user, PmError *err)
{
    ConnSpec *spec = calloc(1, sizeof(ConnSpec));

    if (spec == NULL)
        goto oom;
    if (target_conninfo != NULL && target_conninfo[0] != '\0' &&
        spec_put_conninfo(spec, target_conninfo, "the target's conninfo", err) != 0)
        goto fail;
    if (dbname != NULL)
    {
        if (is_conninfo(dbname))
        {
            if (spec_put_conninfo(spec, dbname, "-d", err) != 0)
                goto fail;
        }
        else if (spec_put(spec, "dbname", dbname) != 0)
            goto oom;
    }
    if (host != NULL && spec_put(spec, "host", host) != 0)
        goto oom;
    if (port != NULL && spec_put(spec, "port", port) != 0)
        goto oom;
    if (user != NULL && spec_put(spec, "user", user) != 0)
        goto oom;
    return spec;

oom:
    pm_error_set(err, "out of memory");
fail:
    connspec_free(spec);
    return NULL;
}

void
connspec_free(ConnSpec *spec)
{
    size_t i;

    if (spec == NULL)
        return;
    for (i = 0; i < spec->n; i++)
    {
        free(spec->keywords[i]);
        free(spec->values[i]);
    }
    free(spec->keywords);
    free(spec->values);
    free(spec);
}

bool
connspec_has_password(const ConnSpec *spec)
{
    const char *password = spec ? spec_get(spec, "password") : NULL;

    return password != NULL && password[0] != '\0';
}

/* A conninfo value needs quotes when empty or when it holds a space, quote or backslash. */
static bool
needs_quotes(const char *v)
{
    /* Every byte libpq's conninfo parser takes for a separator (isspace()). */
    return v[0] == '\0' || strpbrk(v, " \t\n\v\f\r'\\") != NULL;
}

char *
connspec_conninfo_without_password(const ConnSpec *spec)
{
    size_t i, len = 1;
    char *out, *o;
    const char *v;

    for (i = 0; i < spec->n; i++)
        len += strlen(spec->keywords[i]) + 2 * strlen(spec->values[i]) + 5;
    out = malloc(len);
    if (out == NULL)
        return NULL;
    o = out;
    for (i = 0; i < spec->n; i++)
    {
        bool quote = needs_quotes(spec->values[i]);

        if (strcmp(spec->keywords[i], "password") == 0)
            continue;
        if (o != out)
            *o++ = ' ';
        o += copy_str(o, spec->keywords[i]);
        *o++ = '=';
        if (quote)
            *o++ = '\'';
        for (v = spec->values[i]; *v; v++)
        {
            if (quote && (*v == '\'' || *v == '\\'))
                *o++ = '\\';
            *o++ = *v;
        }
        if (quote)
            *o++ = '\'';
    }
    *o = '\0';
    return out;
}

void
connspec_scrub(const ConnSpec *spec, char *text)
{
    const char *password = spec ? spec_get(spec, "password") : NULL;
    size_t plen;
    char *hit, *from = text;

    if (password == NULL || (plen = strlen(password)) == 0)
        return;
    /* Search on after each mask: a password of '*' would find its own mask. */
    while ((hit = strstr(from, password)) != NULL)
    {
        /* Replace by a fixed mask, shifting the rest of the text. */
        static const char mask[] = "********";
        size_t mlen = sizeof(mask) - 1;
        size_t rest = strlen(hit + plen);

        if (mlen <= plen)
        {
            memcpy(hit, mask, mlen);
            memmove(hit + mlen, hit + plen, rest + 1);
            from = hit + mlen;
        }
        else
        {
            /* Shorter password than the mask: mask it in place, same length. */
            memset(hit, '*', plen);
            from = hit + plen;
        }
    }
}

ConnFailure
pgconn_classify(const char *message)
{
    /* Both texts must appear (text2 may be NULL); the first match wins. */
    static const struct
    {
        const char *text;
        const char *text2;
        ConnFailure failure;
    } patterns[] = {
        {"too many clients", NULL, CONN_TOO_MANY_CLIENTS},
        {"remaining connection slots are reserved", NULL, CONN_TOO_MANY_CLIENTS},
        {"connection slots are reserved", NULL, CONN_TOO_MANY_CLIENTS},
        /* 53300 as well, but the server has slots: only this role or database is full. */
        {"too many connections for role", NULL, CONN_CONNECTION_LIMIT},
        {"too many connections for database", NULL, CONN_CONNECTION_LIMIT},
        {"the database system is starting up", NULL, CONN_STARTING_UP},
        {"the database system is not yet accepting connections", NULL, CONN_STARTING_UP},
        /*
         * Issue 8 fault matrix: a standby with hot_standby = off (PostgreSQL
         * 14+) says this, with "DETAIL: Hot standby mode is disabled."; it was
         * classified "error" (and status called the server "accepting").  It
         * refuses logins for as long as it stays in recovery.
         */
        {"the database system is not accepting connections", NULL, CONN_IN_RECOVERY},
        {"the database system is shutting down", NULL, CONN_SHUTTING_DOWN},
        {"the database system is in recovery mode", NULL, CONN_IN_RECOVERY},
        {"password authentication failed", NULL, CONN_AUTH_FAILURE},
        {"authentication failed", NULL, CONN_AUTH_FAILURE},
        {"no pg_hba.conf entry", NULL, CONN_AUTH_FAILURE},
        {"no password supplied", NULL, CONN_AUTH_FAILURE},
        {"fe_sendauth", NULL, CONN_AUTH_FAILURE},
        {"pg_hba.conf rejects connection", NULL, CONN_AUTH_FAILURE},
        {"role \"", "does not exist", CONN_AUTH_FAILURE}, /* role "x" does not exist */
        {"database \"", "does not exist", CONN_DATABASE_MISSING},
        {"timeout expired", NULL, CONN_TIMEOUT},
        {"Connection refused", NULL, CONN_SERVER_DOWN},
        {"No such file or directory", NULL, CONN_SERVER_DOWN},
        {"server closed the connection unexpectedly", NULL, CONN_SERVER_DOWN},
        {"could not connect to server", NULL, CONN_SERVER_DOWN},
        {"Connection reset by peer", NULL, CONN_SERVER_DOWN},
        {"could not translate host name", NULL, CONN_SERVER_DOWN},
        {"Network is unreachable", NULL, CONN_SERVER_DOWN},
        {"No route to host", NULL, CONN_SERVER_DOWN},
    };
    size_t i;

    for (i = 0; i < PM_LENGTHOF(patterns); i++)
        if (strstr(message, patterns[i].text) != NULL &&
            (patterns[i].text2 == NULL || strstr(message, patterns[i].text2) != NULL))
            return patterns[i].failure;
    return CONN_ERROR;
}

/*
 * libpq's text for a failed connection, made one line: the last attempt when
 * it tried several hosts or addresses, without the "connection to server ...
 * failed:" prefix (the target label says where) and the "FATAL:" tag.
 */
static void
set_message(ConnAttempt *attempt, const ConnSpec *spec, const char *text)
{
    char buf[1024], one[1024];
    char *start, *line, *p;
    size_t n = 0;

    pm_strlcpy_trim(buf, text, sizeof(buf));
    start = buf;
    for (line = buf; (line = strstr(line, "\nconnection to server")) != NULL; line++)
        start = line + 1;
    if (strncmp(start, "connection to server", 20) == 0 && (p = strstr(start, "failed: ")) != NULL)
        start = p + 8;
    if (strncmp(start, "FATAL:", 6) == 0)
        start += 6;
    while (*start == ' ')
        start++;
    /* Newlines and tabs become single spaces. */
    for (p = start; *p && n + 1 < sizeof(one); p++)
    {
        if (*p == '\n' || *p == '\t' || *p == '\r')
        {
            /* libpq's second line is a hint: keep it as its own sentence. */
            if (n > 0 && one[n - 1] != ' ' && one[n - 1] != '.' && *p == '\n' &&
                n + 2 < sizeof(one))
                one[n++] = '.';
            if (n > 0 && one[n - 1] != ' ')
                one[n++] = ' ';
        }
        else
            one[n++] = *p;
    }
    one[n] = '\0';
    connspec_scrub(spec, one);
    pm_strlcpy_trim(attempt->message, one, sizeof(attempt->message));
}

static void
set_label(ConnAttempt *attempt, PGconn *conn, const ConnSpec *spec)
{
    const char *db = conn ? PQdb(conn) : spec_get(spec, "dbname");
    const char *host = conn ? PQhost(conn) : spec_get(spec, "host");
    const char *port = conn ? PQport(conn) : spec_get(spec, "port");

    snprintf(attempt->label, sizeof(attempt->label), "%s@%s:%s", db && *db ? db : "?",
             host && *host ? host : "/var/run/postgresql", port && *port ? port : "5432");
    connspec_scrub(spec, attempt->label);
}

/*
 * The first line of libpq's error text, without its "FATAL:" tag (issue 8):
 * a lost connection reads "FATAL:  terminating connection due to
 * administrator command\nserver closed the connection unexpectedly\n\tThis
 * probably means ...", and outcomes, audit rows and snapshot messages are
 * one line.  The first line is the reason when the server sent one.
 */
void
pgconn_first_line(char *dst, size_t size, const char *text)
{
    size_t n = 0;

    if (strncmp(text, "FATAL:", 6) == 0 || strncmp(text, "ERROR:", 6) == 0)
        text += 6;
    while (*text == ' ')
        text++;
    while (text[n] != '\0' && text[n] != '\n' && n + 1 < size)
    {
        dst[n] = text[n] == '\t' ? ' ' : text[n];
        n++;
    }
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\r'))
        n--;
    dst[n] = '\0';
}

int
pgconn_wait(PgConn *conn, bool for_write, int64_t deadline_ms, PmError *err)
{
    for (;;)
    {
        struct pollfd pfd;
        int64_t left = deadline_ms - pm_clock_ms();
        int rc;

        if (left <= 0)
            return 0;
        pfd.fd = PQsocket(conn->conn);
        pfd.events = (short) (POLLIN | (for_write ? POLLOUT : 0));
        pfd.revents = 0;
        if (pfd.fd < 0)
        {
            pm_error_set(err, "connection to server lost");
            return -1;
        }
        rc = poll(&pfd, 1, left > 1000000 ? 1000000 : (int) left);
        if (rc > 0)
            return 1;
        if (rc < 0 && errno != EINTR)
        {
            pm_error_set(err, "could not wait for the server: %s", strerror(errno));
            return -1;
        }
    }
}

int
pgconn_flush(PgConn *conn, int64_t deadline_ms, PmError *err)
{
    for (;;)
    {
        int rc = PQflush(conn->conn);

        if (rc == 0)
            return 0;
        if (rc < 0)
        {
            pm_error_set(err, "could not send to the server: %s", PQerrorMessage(conn->conn));
            return -1;
        }
        rc = pgconn_wait(conn, true, deadline_ms, err);
        if (rc <= 0)
        {
            if (rc == 0)
                pm_error_set(err, "server did not accept the query in time");
            return -1;
        }
        if (PQconsumeInput(conn->conn) == 0)
        {
            pm_error_set(err, "%s", PQerrorMessage(conn->conn));
            return -1;
        }
    }
}

PGresult *
pgconn_next_result(PgConn *conn, int64_t deadline_ms, bool *failed, PmError *err)
{
    *failed = false;
    while (PQisBusy(conn->conn))
    {
        int rc = pgconn_wait(conn, false, deadline_ms, err);

        if (rc <= 0)
        {
            if (rc == 0)
                pm_error_set(err, "server did not answer within %.1fs",
                             (double) conn->query_timeout_ms / 1000.0);
            *failed = true;
            return NULL;
        }
        if (PQconsumeInput(conn->conn) == 0)
        {
            char why[256];

            pgconn_first_line(why, sizeof(why), PQerrorMessage(conn->conn));
            pm_error_set(err, "connection to server lost: %s", why);
            pm_error_hint(err, "The server may have crashed or been restarted.");
            *failed = true;
            return NULL;
        }
    }
    return PQgetResult(conn->conn);
}

void
pgconn_error_from_result(PmError *err, const PGresult *res, const char *context)
{
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    if (primary == NULL)
        primary = PQresultErrorMessage(res);
    if (primary == NULL || *primary == '\0')
        primary = PQresStatus(PQresultStatus(res));
    pm_error_set(err, "%s: %s", context, primary);
    if (detail)
        pm_error_detail(err, "%s", detail);
    if (hint)
        pm_error_hint(err, "%s", hint);
    if (sqlstate)
        pm_strlcpy_trim(err->sqlstate, sqlstate, sizeof(err->sqlstate));
}

int64_t
pgconn_deadline(const PgConn *conn)
{
    return pm_clock_ms() + conn->query_timeout_ms + 1000;
}

PGresult *
pgconn_exec(PgConn *conn, const char *sql, int n_params, const char *const *values, PmError *err)
{
    int64_t deadline = pgconn_deadline(conn);
    PGresult *res, *last = NULL;
    bool failed;

    if (!PQsendQueryParams(conn->conn, sql, n_params, NULL, values, NULL, NULL, 0))
    {
        pm_error_set(err, "could not send query: %s", PQerrorMessage(conn->conn));
        return NULL;
    }
    if (pgconn_flush(conn, deadline, err) != 0)
        return NULL;
    while ((res = pgconn_next_result(conn, deadline, &failed, err)) != NULL)
    {
        PQclear(last);
        last = res;
    }
    if (failed)
    {
        PQclear(last);
        return NULL;
    }
    if (last == NULL)
        pm_error_set(err, "no result from server");
    return last;
}

PgConn *
pgconn_start(const ConnSpec *spec, const ConnOptions *opts, ConnAttempt *attempt)
{
    const char **keywords = NULL, **values = NULL;
    char options[512];
    const char *user_options = spec_get(spec, "options");
    double started = pm_clock_s();
    int64_t deadline = pm_clock_ms() + opts->connect_timeout_ms;
    PgConn *pc = NULL;
    PGconn *conn = NULL;
    size_t i, n = 0;
    int64_t lock_ms = opts->lock_timeout_ms > 0 ? opts->lock_timeout_ms : 1000;

    memset(attempt, 0, sizeof(*attempt));
    attempt->failure = CONN_ERROR;
    /*
     * Issue 8: the default lock_timeout stays below statement_timeout, so
     * that a lock the probe cannot get is reported as a lock (55P03: the
     * probe notes it and goes on) rather than as a server too slow to answer
     * (57014 fails the snapshot with "timeout") when query_timeout < 1 s.
     */
    if (opts->lock_timeout_ms <= 0 && opts->query_timeout_ms > 0 &&
        lock_ms > opts->query_timeout_ms / 2)
        lock_ms = opts->query_timeout_ms / 2 > 0 ? opts->query_timeout_ms / 2 : 1;

    /* Our session settings go first so that the user's own options still apply. */
    snprintf(options, sizeof(options),
             "-c statement_timeout=%lld -c lock_timeout=%lld -c search_path= "
             "-c default_transaction_read_only=%s%s%s",
             (long long) opts->query_timeout_ms, (long long) lock_ms,
             opts->read_only ? "on" : "off", user_options ? " " : "",
             user_options ? user_options : "");

    keywords = calloc(spec->n + 4, sizeof(char *));
    values = calloc(spec->n + 4, sizeof(char *));
    pc = calloc(1, sizeof(PgConn));
    if (keywords == NULL || values == NULL || pc == NULL)
    {
        pm_strlcpy_trim(attempt->message, "out of memory", sizeof(attempt->message));
        goto fail;
    }
    for (i = 0; i < spec->n; i++)
    {
        if (strcmp(spec->keywords[i], "options") == 0 ||
            strcmp(spec->keywords[i], "application_name") == 0 ||
            strcmp(spec->keywords[i], "client_encoding") == 0)
            continue;
        keywords[n] = spec->keywords[i];
        values[n++] = spec->values[i];
    }
    keywords[n] = "application_name";
    values[n++] = "pgmedic";
    keywords[n] = "client_encoding";
    values[n++] = "UTF8";
    keywords[n] = "options";
    values[n++] = options;

    /*
     * libpq copies what it keeps.  This may resolve a host name, the one
     * step of a connect that libpq cannot do without blocking.
     */
    conn = PQconnectStartParams(keywords, values, 0);
    if (conn == NULL)
    {
        pm_strlcpy_trim(attempt->message, "out of memory", sizeof(attempt->message));
        goto fail;
    }
    set_label(attempt, conn, spec);
    if (PQstatus(conn) == CONNECTION_BAD)
    {
        /*
         * Failed at once: invalid options (nothing was tried), or a first
         * attempt that failed synchronously, such as a missing socket.
         */
        set_message(attempt, spec, PQerrorMessage(conn));
        attempt->failure = pgconn_classify(PQerrorMessage(conn));
        /* libpq names the server it tried; without that, the options were refused. */
        if (attempt->failure == CONN_ERROR &&
            strstr(PQerrorMessage(conn), "connection to server") == NULL)
            attempt->failure = CONN_NO_ATTEMPT;
        goto fail;
    }
    pc->conn = conn;
    pc->query_timeout_ms = opts->query_timeout_ms;
    pc->poll_status = PGRES_POLLING_WRITING;
    pc->connect_started_s = started;
    pc->connect_timeout_ms = opts->connect_timeout_ms;
    pc->connect_deadline_ms = deadline;
    free(keywords);
    free(values);
    return pc;

fail:
    if (conn != NULL)
        PQfinish(conn);
    free(pc);
    if (attempt->label[0] == '\0')
        set_label(attempt, NULL, spec);
    attempt->connect_s = pm_clock_s() - started;
    free(keywords);
    free(values);
    return NULL;
}

PostgresPollingStatusType
pgconn_connect_poll(PgConn *pc, const ConnSpec *spec, ConnAttempt *attempt)
{
    PGconn *conn = pc->conn;

    pc->poll_status = PQconnectPoll(conn);
    if (pc->poll_status == PGRES_POLLING_FAILED)
    {
        set_message(attempt, spec, PQerrorMessage(conn));
        attempt->failure = pgconn_classify(attempt->message);
    }
    else if (pc->poll_status == PGRES_POLLING_OK)
    {
        if (PQsetnonblocking(conn, 1) != 0)
        {
            set_message(attempt, spec, PQerrorMessage(conn));
            attempt->failure = CONN_ERROR;
            pc->poll_status = PGRES_POLLING_FAILED;
        }
        else
        {
            pc->server_version = PQserverVersion(conn);
            attempt->failure = CONN_OK;
            set_label(attempt, conn, spec);
            memcpy(pc->label, attempt->label, sizeof(pc->label));
        }
    }
    else
        return pc->poll_status;
    attempt->connect_s = pm_clock_s() - pc->connect_started_s;
    return pc->poll_status;
}

void
pgconn_connect_timeout(const PgConn *pc, ConnAttempt *attempt)
{
    snprintf(attempt->message, sizeof(attempt->message), "server did not respond within %.1fs",
             (double) pc->connect_timeout_ms / 1000.0);
    attempt->failure = CONN_TIMEOUT;
    attempt->connect_s = pm_clock_s() - pc->connect_started_s;
}

PgConn *
pgconn_open(const ConnSpec *spec, const ConnOptions *opts, ConnAttempt *attempt)
{
    PgConn *pc = pgconn_start(spec, opts, attempt);

    if (pc == NULL)
        return NULL;
    for (;;)
    {
        PmError err;
        int rc = pgconn_wait(pc, pc->poll_status == PGRES_POLLING_WRITING, pc->connect_deadline_ms,
                             &err);

        if (rc == 0)
        {
            pgconn_connect_timeout(pc, attempt);
            break;
        }
        if (rc < 0)
        {
            pm_strlcpy_trim(attempt->message, err.message, sizeof(attempt->message));
            attempt->failure = CONN_SERVER_DOWN;
            attempt->connect_s = pm_clock_s() - pc->connect_started_s;
            break;
        }
        switch (pgconn_connect_poll(pc, spec, attempt))
        {
            case PGRES_POLLING_OK:
                return pc;
            case PGRES_POLLING_FAILED:
                pgconn_close(pc);
                return NULL;
            default:
                break;
        }
    }
    pgconn_close(pc);
    return NULL;
}

/* Logs a notice and keeps it: see pgconn_capture_notices(). */
static void
keep_notice(void *arg, const char *message)
{
    PgConn *pc = arg;

    pm_strlcpy_trim(pc->notice, message, sizeof(pc->notice));
    pm_log_debug("%s: server said: %s", pc->label, pc->notice);
}

void
pgconn_capture_notices(PgConn *pc)
{
    PQsetNoticeProcessor(pc->conn, keep_notice, pc);
}

void
pgconn_close(PgConn *conn)
{
    if (conn == NULL)
        return;
    if (conn->conn != NULL)
        PQfinish(conn->conn);
    free(conn);
}
