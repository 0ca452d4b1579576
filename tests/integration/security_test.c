/*
 * security_test.c - issue 8's security review, end to end on a real server.
 *
 *   Passwords: a role that logs in with scram-sha-256, its password given
 *   through each channel libpq and pgmedic know (a -d conninfo, PGPASSWORD,
 *   a password file, a configuration file's target conninfo), every command
 *   run with it, then the failure paths where passwords usually leak (a
 *   wrong password, an unreachable server, a conninfo libpq cannot parse),
 *   and serve (its log, /metrics, /probe, /api/v1/..., the webhook's jobs, a
 *   reload).  Every stdout, stderr, report file, HTTP body and log, the
 *   store's bytes (database, -wal, -shm) and the statements pgmedic sent
 *   (the server log) are searched for the passwords: none may appear.
 *
 *   Hostile names: application names, a role, tables and query texts that
 *   hold ' " \ $$ ; . newlines, escape sequences and (in a SQL_ASCII
 *   database, the only place a server keeps them) bytes that are not UTF-8.
 *   JSON must parse, text must reach a terminal without control characters,
 *   /metrics must pass `promtool check metrics`, and fix must act on exactly
 *   the named tables and sessions.
 *
 *   Files and HTTP: the store is created 0600 (and its -wal and -shm); serve
 *   refuses a token file others may read or write; it listens on loopback by
 *   default; it serves no files; TLS through the configuration works.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/*
 * The passwords.  Each holds a marker that nothing else prints; the leak
 * check looks for the marker, so a password shown in part, or escaped (the
 * quote as \' or \"), is still found.
 */
#define PW_GOOD    "Leak-7f3a9c2e it's"
#define PW_GOOD_CI "'Leak-7f3a9c2e it\\'s'" /* as a conninfo value */
#define PW_WRONG   "Wrong-5b1d77e0"
#define PW_GONE    "Gone-3c9e41aa"
/* The hostile role's: only the harness logs in with it, and the server logs its CREATE ROLE. */
#define PW_HOSTILE "Hostile-2d8e6f10"

static const char *const markers[] = {"7f3a9c2e", "5b1d77e0", "3c9e41aa", NULL};

/*
 * Hostile names.  The application name as sent; PostgreSQL 15 keeps only
 * printable ASCII in application_name and stores every other byte as '?'.
 */
#define HOSTILE_APP                                                                                \
    "app'\"\\$$;\n\xff\xfe"                                                                        \
    "end"
#define HOSTILE_APP_PG "app'\"\\$$;???end"
/* A role created from the SQL_ASCII database: bytes that are not UTF-8 stay. */
#define HOSTILE_ROLE     "ro'le\"$$;\\\n\xff\x1b[7mx"
#define HOSTILE_ROLE_SQL "\"ro'le\"\"$$;\\\n\xff\x1b[7mx\""
/* A table in the UTF-8 database "postgres" (valid UTF-8, so JSON keeps it exactly). */
#define T1_SQL "public.\"we'ird.;\"\"tab$$le\\\n\x1b]0;pwn\x07\xc3\xa9\""
/* A table in the SQL_ASCII database "hostile", with a byte that is not UTF-8. */
#define T2_NAME "T2we'ird;\"$$\\\n\xfe\x1b]0;pwn\x07"
#define T2_SQL  "public.\"T2we'ird;\"\"$$\\\n\xfe\x1b]0;pwn\x07\""
/* A query text with all of it (sent in "hostile"). */
#define HOSTILE_QUERY                                                                              \
    "SELECT pg_catalog.pg_sleep(120) /* it's \"q\" \\ $$ ; \n \xff\xfe \x1b[2J\x1b]0;pwn\x07 */"

static HCluster c;
static char home[H_PATH_MAX];         /* a private HOME: the default store lives under it */
static char home_env[H_PATH_MAX + 8]; /* "HOME=..." */
static char store_path[H_PATH_MAX + 64];
static char pgpass_path[H_PATH_MAX];
static char pgpass_env[H_PATH_MAX + 16];
static char token_path[H_PATH_MAX];
static const char *const token = "security-test-token-0123456789abcdef";
static int dead_port; /* 127.0.0.1: nothing listens there */
static int leaks;     /* passwords found, over the whole binary */

/* --------------------------------------------------------------- helpers */

/* The first occurrence of needle in data[0..len), or NULL (memmem without _GNU_SOURCE). */
static const char *
find_bytes(const char *data, size_t len, const char *needle)
{
    size_t n = strlen(needle), i;

    if (data == NULL || n == 0 || len < n)
        return NULL;
    for (i = 0; i + n <= len; i++)
        if (data[i] == needle[0] && memcmp(data + i, needle, n) == 0)
            return data + i;
    return NULL;
}

/* Counts (and shows) every password marker in data; what names where it came from. */
static void
no_password_in(const char *what, const char *data, size_t len)
{
    size_t i;

    if (data == NULL)
        return;
    for (i = 0; markers[i] != NULL; i++)
    {
        const char *hit = find_bytes(data, len, markers[i]);

        if (hit != NULL)
        {
            size_t from = (size_t) (hit - data) > 120 ? (size_t) (hit - data) - 120 : 0;
            size_t to = (size_t) (hit - data) + 120 < len ? (size_t) (hit - data) + 120 : len;

            fprintf(stderr, "LEAK: %s holds the password marked \"%s\":\n...%.*s...\n", what,
                    markers[i], (int) (to - from), data + from);
            leaks++;
        }
    }
}

static void
no_password_in_run(const char *what, const HRun *r)
{
    char label[512];

    snprintf(label, sizeof(label), "stdout of %s", what);
    no_password_in(label, r->out, r->out_len);
    snprintf(label, sizeof(label), "stderr of %s", what);
    no_password_in(label, r->err, r->err_len);
}

/* A file's bytes (a missing file is fine: nothing leaked there). */
static void
no_password_in_file(const char *path)
{
    size_t len = 0;
    char *data = h_read_file(path, &len);

    no_password_in(path, data, len);
    free(data);
}

/* The store: the database and its -wal and -shm, byte for byte. */
static void
no_password_in_store(void)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal", NULL};
    char path[H_PATH_MAX + 80];
    size_t i;

    for (i = 0; suffixes[i] != NULL; i++)
    {
        snprintf(path, sizeof(path), "%s%s", store_path, suffixes[i]);
        no_password_in_file(path);
    }
}

/* An argument vector built piece by piece. */
typedef struct
{
    const char *v[96];
    size_t n;
} Args;

static void
args_add(Args *a, const char *s)
{
    assert_true(a->n + 1 < sizeof(a->v) / sizeof(a->v[0]));
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void
args_add_list(Args *a, const char *const *list)
{
    for (; list != NULL && *list != NULL; list++)
        args_add(a, *list);
}

/*
 * Runs pgmedic with cmd then conn (both NULL-terminated), the private HOME
 * and env; against cluster cl's PG* environment when cl is not NULL.
 * Asserts that it ran to an exit (no signal, no deadline) with a code up
 * to max_exit, and that no password is in what it printed.
 */
static void
run_pm(HRun *r, const char *what, const HCluster *cl, const char *const *cmd,
       const char *const *conn, const char *const *env, int max_exit)
{
    Args args = {{NULL}, 0};
    Args envs = {{NULL}, 0};

    args_add_list(&args, cmd);
    args_add_list(&args, conn);
    args_add(&envs, home_env);
    args_add_list(&envs, env);
    assert_int_equal(h_run(r, cl, args.v, envs.v, 60.0), 0);
    if (r->timed_out || r->term_signal != 0 || r->exit_code < 0 || r->exit_code > max_exit)
    {
        h_run_dump(r, what);
        fail_msg("%s: exit %d (signal %d%s), expected at most %d", what, r->exit_code,
                 r->term_signal, r->timed_out ? ", timed out" : "", max_exit);
    }
    no_password_in_run(what, r);
}

/* True when s is valid UTF-8 (what a terminal, a Markdown file and JSON need). */
static bool
valid_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s, *end = p + len;

    while (p < end)
    {
        size_t n, i;
        unsigned int cp;

        if (*p < 0x80)
        {
            p++;
            continue;
        }
        if ((*p & 0xE0) == 0xC0)
            n = 2, cp = *p & 0x1Fu;
        else if ((*p & 0xF0) == 0xE0)
            n = 3, cp = *p & 0x0Fu;
        else if ((*p & 0xF8) == 0xF0)
            n = 4, cp = *p & 0x07u;
        else
            return false;
        if ((size_t) (end - p) < n)
            return false;
        for (i = 1; i < n; i++)
        {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3Fu);
        }
        if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        p += n;
    }
    return true;
}

/*
 * Text meant for a terminal: valid UTF-8 and no control character but
 * newline (no ESC: a server-supplied escape sequence could drive the
 * operator's terminal; no BEL, no CR).
 */
static void
assert_terminal_safe(const char *what, const char *s, size_t len)
{
    size_t i;

    if (!valid_utf8(s, len))
    {
        fprintf(stderr, "%s: not valid UTF-8:\n%.*s\n", what, (int) len, s);
        fail_msg("%s is not valid UTF-8", what);
    }
    for (i = 0; i < len; i++)
    {
        unsigned char ch = (unsigned char) s[i];

        if ((ch < 0x20 && ch != '\n') || ch == 0x7F)
        {
            fprintf(stderr, "%s: control byte 0x%02x at %zu:\n%.*s\n", what, ch, i, (int) len, s);
            fail_msg("%s holds control byte 0x%02x", what, ch);
        }
    }
}

/* Writes text to path (replacing it) with mode; path for convenience. */
static const char *
write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

/*
 * SQL against database db as the cluster's superuser, on a connection of
 * our own (not tracked): closed, and its backend gone, before returning.
 * Returns the first value (caller frees; "" when no row), or NULL on error.
 */
static char *
db_value(const char *db, const char *sql)
{
    const char *keys[] = {"host", "port", "user", "dbname", "application_name", NULL};
    const char *vals[] = {c.host, c.port, c.user, db, "security-admin", NULL};
    PGconn *conn = PQconnectdbParams(keys, vals, 0);
    PGresult *res;
    char *out = NULL;
    int pid;

    if (PQstatus(conn) != CONNECTION_OK)
    {
        fprintf(stderr, "db_value: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    pid = PQbackendPID(conn);
    res = PQexec(conn, sql);
    if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK)
        out = strdup(PQntuples(res) > 0 && PQnfields(res) > 0 ? PQgetvalue(res, 0, 0) : "");
    else
        fprintf(stderr, "db_value: %s", PQerrorMessage(conn));
    PQclear(res);
    PQfinish(conn);
    {
        char wait[128];

        snprintf(wait, sizeof(wait), "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = %d",
                 pid);
        (void) h_wait_sql(&c, wait, 10.0);
    }
    return out;
}

static void
db_exec(const char *db, const char *sql)
{
    char *v = db_value(db, sql);

    if (v == NULL)
        fail_msg("statement failed in database %s", db);
    free(v);
}

/* Polls sql (one boolean) in database db until true; false after timeout_s. */
static bool
db_wait(const char *db, const char *sql, double timeout_s)
{
    double deadline = h_now() + timeout_s * h_slowdown();

    for (;;)
    {
        char *v = db_value(db, sql);
        bool yes = v != NULL && strcmp(v, "t") == 0;

        free(v);
        if (yes)
            return true;
        if (h_now() > deadline)
            return false;
        usleep(50 * 1000);
    }
}

/* analyze_count + autoanalyze_count (or the vacuum counts) of a table, -1 when absent. */
static long
maintenance_count(const char *db, const char *sql_name, bool vacuum)
{
    char sql[512];
    char *v;
    long n;

    snprintf(sql, sizeof(sql),
             "SELECT %s FROM pg_catalog.pg_stat_user_tables WHERE relid = "
             "pg_catalog.to_regclass($n$%s$n$)",
             vacuum ? "vacuum_count" : "analyze_count", sql_name);
    v = db_value(db, sql);
    n = v != NULL && v[0] != '\0' ? strtol(v, NULL, 10) : -1;
    free(v);
    return n;
}

/*
 * Splits a command line as finding_shell_quote() writes it (plain words,
 * '...' quoting, '\'' for a quote) into out; the number of words.
 */
static size_t
split_command(const char *s, char *buf, size_t size, const char **out, size_t max)
{
    size_t n = 0, o = 0;

    while (*s != '\0' && n + 1 < max)
    {
        while (*s == ' ')
            s++;
        if (*s == '\0')
            break;
        out[n++] = buf + o;
        while (*s != '\0' && *s != ' ')
        {
            if (*s == '\'')
            {
                for (s++; *s != '\0' && *s != '\'' && o + 1 < size; s++)
                    buf[o++] = *s;
                if (*s == '\'')
                    s++;
            }
            else if (*s == '\\' && s[1] != '\0' && o + 1 < size)
            {
                buf[o++] = s[1];
                s += 2;
            }
            else if (o + 1 < size)
                buf[o++] = *s++;
            else
                s++;
        }
        buf[o++] = '\0';
    }
    out[n] = NULL;
    return n;
}

/* The pgmedic serve of a test: config file, port, daemon. */
typedef struct
{
    HDaemon d;
    int port;
    char conf[H_PATH_MAX];
    char base[64]; /* "http://127.0.0.1:PORT" */
} Serve;

static void
serve_start(Serve *s, const char *const *env, bool https)
{
    char listen[64], url[128];
    Args argv = {{NULL}, 0};
    Args envs = {{NULL}, 0};

    s->port = h_free_port();
    assert_true(s->port > 0);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", s->port);
    snprintf(s->base, sizeof(s->base), "%s://127.0.0.1:%d", https ? "https" : "http", s->port);
    args_add(&argv, h_bin());
    args_add(&argv, "serve");
    args_add(&argv, "-c");
    args_add(&argv, s->conf);
    args_add(&argv, "--listen");
    args_add(&argv, listen);
    args_add(&envs, home_env);
    args_add_list(&envs, env);
    assert_int_equal(h_daemon_start(&s->d, NULL, argv.v, envs.v), 0);
    snprintf(url, sizeof(url), "%s/healthz", s->base);
    if (!h_wait_http(url, "ok", 20.0))
    {
        char *log = h_daemon_log(&s->d);

        fprintf(stderr, "serve did not come up:\n%s\n", log);
        free(log);
        fail();
    }
}

/* GET base+path; the status, *body the body (caller frees). */
static long
serve_get(const Serve *s, const char *path, char **body)
{
    char url[512];

    snprintf(url, sizeof(url), "%s%s", s->base, path);
    *body = NULL;
    return h_http("GET", url, NULL, NULL, body);
}

/* Waits until the daemon's log holds needle. */
static bool
wait_log(const HDaemon *d, const char *needle, double timeout_s)
{
    double deadline = h_now() + timeout_s * h_slowdown();

    for (;;)
    {
        char *log = h_daemon_log(d);
        bool found = strstr(log, needle) != NULL;

        free(log);
        if (found)
            return true;
        if (h_now() > deadline)
            return false;
        usleep(50 * 1000);
    }
}

/* -------------------------------------------------------------- fixture */

static int
setup(void **state)
{
    char hba[H_PATH_MAX + 16], sql[1024], *tok;
    const char *const reload[] = {"reload", "-s", NULL};
    FILE *f;

    (void) state;
    if (h_cluster_start(&c, NULL) != 0)
        return -1;
    snprintf(home, sizeof(home), "%s/security-home", h_tmproot());
    if (mkdir(home, 0700) != 0 && errno != EEXIST)
        return -1;
    snprintf(home_env, sizeof(home_env), "HOME=%s", home);
    snprintf(store_path, sizeof(store_path), "%s/.local/state/pgmedic/pgmedic.db", home);

    /* The superuser keeps trust (the harness logs in as it); every other role needs scram. */
    snprintf(hba, sizeof(hba), "%s/pg_hba.conf", c.data);
    f = fopen(hba, "w");
    if (f == NULL)
        return -1;
    fputs("local all postgres trust\n"
          "host  all postgres 127.0.0.1/32 trust\n"
          "local all all scram-sha-256\n"
          "host  all all 127.0.0.1/32 scram-sha-256\n",
          f);
    if (fclose(f) != 0 || h_cluster_ctl(&c, reload) != 0)
        return -1;
    snprintf(sql, sizeof(sql),
             "CREATE ROLE leaky LOGIN PASSWORD 'Leak-7f3a9c2e it''s';"
             "GRANT pg_monitor, pg_signal_backend TO leaky;"
             "CREATE TABLE leaky_t (id int) WITH (autovacuum_enabled = false);"
             "CREATE TABLE leaky_stale (id int) WITH (autovacuum_enabled = false);"
             "INSERT INTO leaky_stale SELECT generate_series(1, 1000);"
             "ALTER TABLE leaky_t OWNER TO leaky; ALTER TABLE leaky_stale OWNER TO leaky");
    if (h_sql(&c, sql) != 0)
        return -1;
    if (!h_wait_sql(&c,
                    "SELECT n_mod_since_analyze > 0 FROM pg_stat_user_tables "
                    "WHERE relname = 'leaky_stale'",
                    10.0))
        return -1;

    /* A password file: any host, port and database for role leaky (no ':' or '\' to escape). */
    snprintf(pgpass_path, sizeof(pgpass_path), "%s/pgpass", h_tmproot());
    f = fopen(pgpass_path, "w");
    if (f == NULL)
        return -1;
    fputs("*:*:*:leaky:" PW_GOOD "\n", f);
    if (fclose(f) != 0 || chmod(pgpass_path, 0600) != 0)
        return -1;
    snprintf(pgpass_env, sizeof(pgpass_env), "PGPASSFILE=%s", pgpass_path);

    tok = h_write_tmpfile("token", token);
    if (tok == NULL || chmod(tok, 0600) != 0)
        return -1;
    snprintf(token_path, sizeof(token_path), "%s", tok);
    free(tok);
    dead_port = h_free_port();
    return dead_port > 0 ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    h_cluster_stop(&c);
    if (leaks > 0)
        fprintf(stderr, "%d password leak(s) found in this run\n", leaks);
    return 0;
}

static int
close_sessions(void **state)
{
    (void) state;
    h_sessions_close(&c);
    return 0;
}

/* ------------------------------------------------------------ passwords */

/* One way of giving pgmedic the password (or a wrong one). */
typedef struct
{
    const char *name;
    const char *conn[12]; /* connection options */
    const char *env[4];   /* extra environment */
} Channel;

/* A configuration file with one [target sec] of this conninfo; the path (static). */
static const char *
config_with(const char *name, const char *conninfo)
{
    static char path[8][H_PATH_MAX];
    static int slot;
    char text[2048];
    char *p = path[slot];

    slot = (slot + 1) % 8;
    snprintf(p, H_PATH_MAX, "%s/%s.ini", h_tmproot(), name);
    snprintf(text, sizeof(text),
             "[pgmedic]\nconnect_timeout = 3s\nquery_timeout = 5s\n[target sec]\nconninfo = %s\n",
             conninfo);
    write_file(p, text, 0600);
    return p;
}

/* Resolves every open incident of the store (runs join an open incident of their target). */
static void
resolve_open_incidents(void)
{
    const char *const list[] = {"incident", "list", "--open-only", "--format", "json", NULL};
    json_t *root, *item;
    size_t i;
    HRun r;

    run_pm(&r, "incident list --open-only", NULL, list, NULL, NULL, 0);
    root = json_loadb(r.out, r.out_len, 0, NULL);
    assert_non_null(root);
    assert_true(json_is_array(root));
    json_array_foreach(root, i, item)
    {
        char id[32];
        const char *const resolve[] = {"incident", "resolve", id, NULL};
        HRun rr;

        snprintf(id, sizeof(id), "%lld",
                 (long long) json_integer_value(json_object_get(item, "id")));
        run_pm(&rr, "incident resolve", NULL, resolve, NULL, NULL, 0);
        h_run_free(&rr);
    }
    json_decref(root);
    h_run_free(&r);
}

/*
 * The incident cycle on one channel: open, a triage that joins it, a note,
 * resolve, show (text and JSON), the report on stdout and into files.
 * Every output and file is searched.
 */
static void
incident_cycle(const Channel *ch, bool reachable)
{
    char what[256], id[32], dir[H_PATH_MAX], path[H_PATH_MAX + 64];
    const char *const open_cmd[] = {"incident", "open", "--title", "password test", NULL};
    HRun r;

    snprintf(what, sizeof(what), "incident open (%s)", ch->name);
    run_pm(&r, what, NULL, open_cmd, ch->conn, ch->env, 3);
    if (r.exit_code != 0)
    {
        /* Only a reachable target must be able to open one. */
        if (reachable)
        {
            h_run_dump(&r, what);
            fail_msg("%s failed", what);
        }
        h_run_free(&r);
        return;
    }
    snprintf(id, sizeof(id), "%ld", strtol(r.out, NULL, 10));
    h_run_free(&r);
    {
        const char *const cmd[] = {"triage", NULL};

        snprintf(what, sizeof(what), "triage in incident %s (%s)", id, ch->name);
        run_pm(&r, what, NULL, cmd, ch->conn, ch->env, 2);
        h_run_free(&r);
    }
    {
        const char *const cmd[] = {"verify", NULL};

        snprintf(what, sizeof(what), "verify in incident %s (%s)", id, ch->name);
        run_pm(&r, what, NULL, cmd, ch->conn, ch->env, 2);
        h_run_free(&r);
    }
    snprintf(dir, sizeof(dir), "%s/reports-%s", h_tmproot(), ch->name);
    {
        const char *const cmds[][10] = {
            {"incident", "note", id, "checked the password channel", NULL},
            {"incident", "resolve", id, "--root-cause", "a test", NULL},
            {"incident", "show", id, NULL},
            {"incident", "show", id, "--format", "json", NULL},
            {"incident", "report", id, NULL},
            {"incident", "report", id, "--format", "json", NULL},
            {"incident", "report", id, "--output", dir, NULL},
            {"incident", "list", "--format", "json", NULL},
        };
        size_t i;

        for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        {
            snprintf(what, sizeof(what), "%s %s %s (%s)", cmds[i][0], cmds[i][1], id, ch->name);
            run_pm(&r, what, NULL, cmds[i], NULL, NULL, 0);
            h_run_free(&r);
        }
    }
    snprintf(path, sizeof(path), "%s/incident-%s.md", dir, id);
    assert_int_equal(access(path, R_OK), 0);
    no_password_in_file(path);
    snprintf(path, sizeof(path), "%s/incident-%s.svg", dir, id);
    assert_int_equal(access(path, R_OK), 0);
    no_password_in_file(path);
}

/* Every command with a password that works, through every channel. */
static void
test_password_every_channel(void **state)
{
    char ci_socket[2048], ci_tcp[2048], uri[512];
    const char *conf;
    size_t log_from = h_log_size(&c);
    size_t i, j;

    (void) state;
    snprintf(ci_socket, sizeof(ci_socket),
             "host=%s port=%s user=leaky dbname=postgres password=" PW_GOOD_CI, c.host, c.port);
    snprintf(ci_tcp, sizeof(ci_tcp),
             "host=127.0.0.1 port=%s user=leaky dbname=postgres password=" PW_GOOD_CI, c.port);
    snprintf(uri, sizeof(uri), "postgresql://leaky:Leak-7f3a9c2e%%20it's@127.0.0.1:%s/postgres",
             c.port);
    conf = config_with("password-config", ci_socket);
    {
        const Channel channels[] = {
            {"conninfo", {"-d", ci_socket, NULL}, {NULL}},
            {"conninfo-tcp", {"-d", ci_tcp, NULL}, {NULL}},
            {"uri", {"-d", uri, NULL}, {NULL}},
            {"PGPASSWORD",
             {"-h", c.host, "-p", c.port, "-U", "leaky", "-d", "postgres", NULL},
             {"PGPASSWORD=" PW_GOOD, NULL}},
            {"pgpass",
             {"-h", "127.0.0.1", "-p", c.port, "-U", "leaky", "-d", "postgres", NULL},
             {pgpass_env, NULL}},
            {"config", {"-c", conf, "-t", "sec", NULL}, {NULL}},
        };

        /* Commands and the highest exit each may have with a working login. */
        const struct
        {
            const char *cmd[12];
            int max_exit;
        } cmds[] = {
            {{"status", NULL}, 0},
            {{"status", "--format", "json", NULL}, 0},
            {{"check", NULL}, 2},
            {{"check", "--format", "json", NULL}, 2},
            {{"check", "--format", "nagios", NULL}, 2},
            {{"snapshot", NULL}, 2},
            {{"triage", NULL}, 2},
            {{"triage", "-v", "--format", "json", NULL}, 2},
            {{"triage", "--format", "markdown", NULL}, 2},
            {{"fix", "terminate-idle", "--application", "leaky-idle", "--idle-for", "0s", NULL}, 0},
            {{"fix", "terminate-idle", "--application", "leaky-idle", "--idle-for", "0s", "--apply",
              "--yes", "-v", NULL},
             0},
            {{"fix", "analyze", NULL}, 0},
            {{"fix", "analyze", "public.leaky_t", "--apply", "--yes", "-v", NULL}, 0},
            {{"verify", NULL}, 2},
        };

        for (i = 0; i < sizeof(channels) / sizeof(channels[0]); i++)
        {
            const Channel *ch = &channels[i];
            HConnOpts idle = {
                .application_name = "leaky-idle", .user = "leaky", .password = PW_GOOD};

            /* A session of leaky's own for terminate-idle --apply to end. */
            assert_non_null(h_session_open(&c, &idle));
            for (j = 0; j < sizeof(cmds) / sizeof(cmds[0]); j++)
            {
                char what[256];
                HRun r;

                snprintf(what, sizeof(what), "%s (%s)", cmds[j].cmd[0], ch->name);
                run_pm(&r, what, NULL, cmds[j].cmd, ch->conn, ch->env, cmds[j].max_exit);
                /* Proof that the password was used, and the runs saw the server. */
                if (j == 0)
                    H_ASSERT_CONTAINS(r.out, "accepting connections");
                if (strcmp(cmds[j].cmd[0], "triage") == 0 && j == 6)
                {
                    /* The printed commands carry this run's connection options, never the password.
                     */
                    H_ASSERT_CONTAINS(r.out, "pgmedic fix analyze public.leaky_stale");
                    if (strncmp(ch->name, "conninfo", 8) == 0)
                        H_ASSERT_CONTAINS(r.out, "user=leaky dbname=postgres");
                }
                if (j == 10)
                    H_ASSERT_CONTAINS(r.out, "1 signalled, 0 skipped, 0 failed");
                if (j == 12)
                    H_ASSERT_CONTAINS(r.out, "1 done, 0 failed");
                h_run_free(&r);
            }
            incident_cycle(ch, true);
            h_sessions_close(&c);
        }
    }
    {
        const char *const cmds[][4] = {{"audit", NULL},
                                       {"audit", "--format", "json", NULL},
                                       {"audit", "--limit", "100", NULL}};

        for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        {
            HRun r;

            run_pm(&r, "audit", NULL, cmds[i], NULL, NULL, 0);
            H_ASSERT_CONTAINS(r.out, "leaky");
            h_run_free(&r);
        }
    }
    no_password_in_store();
    /* pgmedic never sent the password in a statement (or an application name). */
    {
        char *log = h_log_since(&c, log_from);

        H_ASSERT_CONTAINS(log, "pgmedic");
        no_password_in("the server log", log, strlen(log));
        free(log);
    }
    assert_int_equal(leaks, 0);
}

/* Where passwords usually leak: a wrong one, an unreachable server, a conninfo that does not parse.
 */
static void
test_password_failure_paths(void **state)
{
    char wrong[2048], gone[1024], gone_uri[512], junk[2048], bad_uri[512], bad_query[512];
    const char *wrong_conf, *gone_conf, *junk_conf;
    size_t i, j;

    (void) state;
    snprintf(wrong, sizeof(wrong), "host=%s port=%s user=leaky dbname=postgres password=" PW_WRONG,
             c.host, c.port);
    snprintf(gone, sizeof(gone),
             "host=127.0.0.1 port=%d user=leaky dbname=postgres password=" PW_GONE, dead_port);
    snprintf(gone_uri, sizeof(gone_uri), "postgresql://leaky:" PW_GONE "@127.0.0.1:%d/postgres",
             dead_port);
    /* libpq cannot parse these, and its messages quote the text: the password unknown to scrub. */
    snprintf(junk, sizeof(junk), "host=%s password=" PW_GONE " it's", c.host);
    snprintf(bad_uri, sizeof(bad_uri), "postgresql://leaky:" PW_GONE "@[::1/postgres");
    snprintf(bad_query, sizeof(bad_query),
             "postgresql://leaky:" PW_GONE "@127.0.0.1:%d/postgres?bad param", dead_port);
    wrong_conf = config_with("wrong-config", wrong);
    gone_conf = config_with("gone-config", gone);
    junk_conf = config_with("junk-config", junk);
    {
        const struct
        {
            Channel ch;
            const char *cause; /* what status must say; NULL: a usage error (exit 3) */
        } channels[] = {
            {{"wrong conninfo", {"-d", wrong, NULL}, {NULL}}, "auth_failure"},
            {{"wrong PGPASSWORD",
              {"-h", c.host, "-p", c.port, "-U", "leaky", "-d", "postgres", NULL},
              {"PGPASSWORD=" PW_WRONG, NULL}},
             "auth_failure"},
            {{"wrong config", {"-c", wrong_conf, "-t", "sec", NULL}, {NULL}}, "auth_failure"},
            {{"unreachable conninfo", {"-d", gone, NULL}, {NULL}}, "server_down"},
            {{"unreachable uri", {"-d", gone_uri, NULL}, {NULL}}, "server_down"},
            {{"unreachable config", {"-c", gone_conf, "-t", "sec", NULL}, {NULL}}, "server_down"},
            {{"unparsable conninfo", {"-d", junk, NULL}, {NULL}}, NULL},
            {{"unparsable uri", {"-d", bad_uri, NULL}, {NULL}}, NULL},
            {{"unparsable uri query", {"-d", bad_query, NULL}, {NULL}}, NULL},
            {{"unparsable config", {"-c", junk_conf, "-t", "sec", NULL}, {NULL}}, NULL},
        };

        const char *const cmds[][12] = {
            {"status", NULL},
            {"status", "--format", "json", NULL},
            {"check", "--format", "json", NULL},
            {"check", "--format", "nagios", NULL},
            {"snapshot", NULL},
            {"triage", NULL},
            {"triage", "--format", "json", NULL},
            {"triage", "-v", "--format", "markdown", NULL},
            {"fix", "terminate-idle", "--idle-for", "0s", "--apply", "--yes", "-v", NULL},
            {"fix", "analyze", "public.leaky_t", "--apply", "--yes", NULL},
            {"verify", NULL},
        };

        for (i = 0; i < sizeof(channels) / sizeof(channels[0]); i++)
        {
            const Channel *ch = &channels[i].ch;

            for (j = 0; j < sizeof(cmds) / sizeof(cmds[0]); j++)
            {
                char what[256];
                HRun r;

                snprintf(what, sizeof(what), "%s (%s)", cmds[j][0], ch->name);
                run_pm(&r, what, NULL, cmds[j], ch->conn, ch->env, 3);
                if (j == 0 && channels[i].cause != NULL)
                {
                    H_ASSERT_EXIT(&r, 2);
                    H_ASSERT_CONTAINS(r.out, channels[i].cause);
                }
                else if (j == 0)
                {
                    H_ASSERT_EXIT(&r, 3);
                    H_ASSERT_CONTAINS(r.err, "invalid connection string");
                }
                h_run_free(&r);
            }
            incident_cycle(ch, false);
        }
    }
    no_password_in_store();
    assert_int_equal(leaks, 0);
}

/*
 * serve with passwords in its targets' conninfo and a password file: the
 * log, every HTTP body, the webhook's jobs (child processes that log to
 * the daemon's stderr) and a reload that fails on a conninfo libpq cannot
 * parse.
 */
static void
test_password_serve(void **state)
{
    Serve s;
    char text[8 * H_PATH_MAX], auth[128], url[256], *body = NULL, *log;
    const char *const env[] = {pgpass_env, NULL};
    const char *const paths[] = {"/metrics",
                                 "/api/v1/status",
                                 "/api/v1/incidents",
                                 "/probe?target=good",
                                 "/probe?target=pgpass",
                                 "/probe?target=wrong",
                                 "/probe?target=gone",
                                 "/healthz",
                                 NULL};
    size_t i;

    (void) state;
    snprintf(s.conf, sizeof(s.conf), "%s/serve-passwords.ini", h_tmproot());
    snprintf(text, sizeof(text),
             "[pgmedic]\ninterval = 300ms\nconnect_timeout = 2s\nquery_timeout = 2s\n"
             "[serve]\ntoken_file = %s\nprobe_wait = 5s\n"
             "[target good]\nconninfo = host=%s port=%s user=leaky dbname=postgres "
             "password=" PW_GOOD_CI "\n"
             "[target pgpass]\nconninfo = host=127.0.0.1 port=%s user=leaky dbname=postgres\n"
             "[target wrong]\nconninfo = host=127.0.0.1 port=%s user=leaky dbname=postgres "
             "password=" PW_WRONG "\n"
             "[target gone]\nconninfo = host=127.0.0.1 port=%d user=leaky dbname=postgres "
             "password=" PW_GONE "\n",
             token_path, c.host, c.port, c.port, c.port, dead_port);
    write_file(s.conf, text, 0600);
    serve_start(&s, env, false);

    snprintf(url, sizeof(url), "%s/metrics", s.base);
    assert_true(h_wait_http(url, "pgmedic_up{target=\"good\"} 1", 20.0));
    assert_true(h_wait_http(url, "pgmedic_up{target=\"pgpass\"} 1", 20.0));
    assert_true(h_wait_http(url, "pgmedic_up{target=\"wrong\"} 0", 20.0));
    assert_true(h_wait_http(url, "pgmedic_up{target=\"gone\"} 0", 20.0));

    /* The webhook: jobs for the target that refuses the password and one that works. */
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    {
        const char *const headers[] = {auth, "Content-Type: application/json", NULL};

        snprintf(url, sizeof(url), "%s/api/v1/alertmanager", s.base);
        assert_int_equal(h_http("POST", url, headers,
                                "{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"pgmedic\","
                                "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":"
                                "\"DatabaseConnectionFailure\",\"target\":\"wrong\",\"severity\":"
                                "\"critical\"}},{\"status\":\"firing\",\"labels\":{\"alertname\":"
                                "\"DatabaseConnectionFailure\",\"target\":\"gone\",\"severity\":"
                                "\"critical\"}},{\"status\":\"firing\",\"labels\":{\"alertname\":"
                                "\"DatabaseHighConnections\",\"target\":\"good\",\"severity\":"
                                "\"warning\"}}]}",
                                &body),
                         202);
        no_password_in("the webhook's answer", body, strlen(body));
        free(body);
    }
    /* Each job runs triage (a child process), then opens an incident. */
    {
        const char *const targets[] = {"good", "wrong", "gone", NULL};

        for (i = 0; targets[i] != NULL; i++)
        {
            char needle[64];

            snprintf(needle, sizeof(needle), "target=\"%s\" event=incident", targets[i]);
            if (!wait_log(&s.d, needle, 60.0))
            {
                log = h_daemon_log(&s.d);
                fprintf(stderr, "no \"%s\" in serve's log:\n%s\n", needle, log);
                free(log);
                fail();
            }
        }
    }
    for (i = 0; paths[i] != NULL; i++)
    {
        char what[128];
        long status = serve_get(&s, paths[i], &body);

        snprintf(what, sizeof(what), "GET %s", paths[i]);
        assert_true(status == 200 || status == 503 || status == 504);
        no_password_in(what, body, body != NULL ? strlen(body) : 0);
        free(body);
        body = NULL;
    }
    assert_int_equal(serve_get(&s, "/api/v1/status", &body), 200);
    H_ASSERT_CONTAINS(body, "auth_failure");
    H_ASSERT_CONTAINS(body, "server_down");
    free(body);

    /* A reload that fails on a conninfo libpq cannot parse keeps the password out of the log. */
    {
        size_t len = strlen(text);

        snprintf(text + len, sizeof(text) - len,
                 "[target junk]\nconninfo = host=%s password=" PW_GONE " it's\n", c.host);
        write_file(s.conf, text, 0600);
        kill(s.d.pid, SIGHUP);
        assert_true(wait_log(&s.d, "event=reload_failed", 15.0));
    }
    h_daemon_stop(&s.d);
    log = h_daemon_log(&s.d);
    H_ASSERT_CONTAINS(log, "target=\"wrong\" event=probe_failed");
    H_ASSERT_CONTAINS(log, "password authentication failed");
    H_ASSERT_NOT_CONTAINS(log, token);
    no_password_in("serve's log", log, strlen(log));
    free(log);
    no_password_in_store();
    assert_int_equal(leaks, 0);
    resolve_open_incidents(); /* the webhook's, so that later tests open their own */
}

/* --------------------------------------------------------- hostile names */

/* The hostile database, role and tables, once per binary. */
static void
hostile_objects(void)
{
    static bool done;

    if (done)
        return;
    /* "postgres" (UTF-8): T1, and a mixed-case table next to its lower-case namesake. */
    assert_int_equal(
        h_sql(&c, "CREATE TABLE " T1_SQL " (id int, v text) WITH (autovacuum_enabled = false);"
                  "INSERT INTO " T1_SQL " SELECT g, 'x' FROM generate_series(1, 3000) g;"
                  "DELETE FROM " T1_SQL " WHERE id <= 2000;"
                  "CREATE TABLE \"Stale\" (id int) WITH (autovacuum_enabled = false);"
                  "INSERT INTO \"Stale\" SELECT generate_series(1, 100);"
                  "CREATE TABLE stale (id int) WITH (autovacuum_enabled = false);"
                  "INSERT INTO stale SELECT generate_series(1, 100)"),
        0);
    assert_int_equal(h_sql(&c, "ANALYZE stale"), 0);
    /* SQL_ASCII: the server stores bytes as given, UTF-8 or not. */
    assert_int_equal(h_sql(&c, "CREATE DATABASE hostile ENCODING 'SQL_ASCII' LC_COLLATE 'C' "
                               "LC_CTYPE 'C' TEMPLATE template0"),
                     0);
    db_exec("hostile", "CREATE ROLE " HOSTILE_ROLE_SQL " LOGIN PASSWORD '" PW_HOSTILE "'");
    db_exec("hostile", "CREATE TABLE " T2_SQL " (id int, v text) WITH (autovacuum_enabled = false);"
                       "INSERT INTO " T2_SQL " SELECT g, 'x' FROM generate_series(1, 3000) g;"
                       "DELETE FROM " T2_SQL " WHERE id <= 2000;"
                       "GRANT ALL ON TABLE " T2_SQL " TO " HOSTILE_ROLE_SQL);
    /* The statistics the probe reads (flushed when those backends ended). */
    assert_true(h_wait_sql(&c,
                           "SELECT count(*) = 2 FROM pg_stat_user_tables "
                           "WHERE (relname = 'Stale' AND n_mod_since_analyze > 0) "
                           "OR (relname LIKE 'we''ird.%' AND n_dead_tup >= 2000)",
                           15.0));
    assert_true(db_wait("hostile",
                        "SELECT count(*) = 1 FROM pg_stat_user_tables "
                        "WHERE relname LIKE 'T2we%' AND n_dead_tup >= 2000",
                        15.0));
    done = true;
}

/*
 * Sessions with hostile strings: five idle ones of HOSTILE_APP (what a
 * connection_leak finding needs) and two
 * decoys (a name that differs only in case, and a prefix of it) in
 * "postgres"; as HOSTILE_ROLE in "hostile", an idle transaction holding
 * T2, a session waiting for it and a long query with HOSTILE_QUERY.
 */
static void
hostile_sessions(void)
{
    HConnOpts ro = {.application_name = "hostile-role",
                    .user = HOSTILE_ROLE,
                    .password = PW_HOSTILE,
                    .dbname = "hostile"};
    PGconn *holder, *waiter, *sleeper;
    PGresult *res;

    hostile_objects();
    assert_int_equal(h_sessions_open_idle(&c, 5, HOSTILE_APP, false, NULL), 5);
    assert_int_equal(h_sessions_open_idle(&c, 1, "app'\"\\$$;???enD", false, NULL), 1);
    assert_int_equal(h_sessions_open_idle(&c, 1, "app'", false, NULL), 1);
    holder = h_session_open(&c, &ro);
    assert_non_null(holder);
    res = PQexec(holder, "BEGIN; LOCK TABLE " T2_SQL " IN ACCESS EXCLUSIVE MODE /* \xff */");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    waiter = h_session_open(&c, &ro);
    assert_non_null(waiter);
    assert_int_equal(PQsendQuery(waiter, "SELECT count(*) FROM " T2_SQL " /* \xfe; $$ */"), 1);
    sleeper = h_session_open(&c, &ro);
    assert_non_null(sleeper);
    assert_int_equal(PQsendQuery(sleeper, HOSTILE_QUERY), 1);
    assert_true(h_wait_sql(&c,
                           "SELECT count(*) = 1 FROM pg_stat_activity "
                           "WHERE datname = 'hostile' AND wait_event_type = 'Lock'",
                           10.0));
    assert_true(h_wait_sql(&c,
                           "SELECT count(*) = 1 FROM pg_stat_activity "
                           "WHERE datname = 'hostile' AND state = 'active' "
                           "AND query LIKE '%pg_sleep(120)%'",
                           10.0));
    /* What the server kept of the application name: '?' for each byte not printable ASCII. */
    assert_true(h_wait_sql(&c,
                           "SELECT count(*) = 5 FROM pg_stat_activity "
                           "WHERE application_name = 'app''\"\\$$;???end'",
                           10.0));
    /* Let every session age past the thresholds the runs set (100ms). */
    usleep(300 * 1000);
}

/*
 * KNOWN ISSUE (found by this test, reported with issue 8, not fixed here):
 * pgmedic's sessions use client_encoding UTF8, and a SQL_ASCII server
 * checks every byte it converts to UTF-8, so one table name, query text or
 * role name that is not UTF-8 makes the probe of that database fail
 * ("invalid byte sequence for encoding "UTF8""): triage, snapshot and serve
 * report DatabaseConnectionFailure, and fix cannot act there.  Any role that
 * may create a table in such a database can do it.  The checks that need
 * pgmedic to read "hostile" (SQL_ASCII) are skipped when, and only when,
 * that is how the run failed: once fixed, they run and must pass.
 */
static bool
sql_ascii_issue(const HRun *r, const char *what)
{
    const char *needle = "invalid byte sequence for encoding"; /* then "UTF8" (\"UTF8\" in JSON) */

    /* Fixed: the probe and fix take a SQL_ASCII database's bytes as they are. */
    if ((r->out != NULL && strstr(r->out, needle) != NULL) ||
        (r->err != NULL && strstr(r->err, needle) != NULL))
        fprintf(stderr, "%s: a name that is not UTF-8 in a SQL_ASCII database failed the probe\n",
                what);
    assert_false((r->out != NULL && strstr(r->out, needle) != NULL) ||
                 (r->err != NULL && strstr(r->err, needle) != NULL));
    return false;
}

/* Thresholds low enough that every hostile session is worth a finding. */
#define LOW_THRESHOLDS                                                                             \
    "--set", "slow_query_warning=100ms", "--set", "lock_wait=100ms", "--set",                      \
        "idle_in_transaction=100ms", "--set", "idle_connection=100ms"

/* stdout parsed as JSON (jansson refuses invalid UTF-8, so this is the validity check too). */
static json_t *
parsed(HRun *r, const char *what)
{
    json_error_t jerr;
    json_t *v = json_loadb(r->out, r->out_len, 0, &jerr);

    if (v == NULL)
    {
        h_run_dump(r, what);
        fail_msg("%s: invalid JSON: %s (line %d, column %d)", what, jerr.text, jerr.line,
                 jerr.column);
    }
    return v;
}

/* The finding of this kind in a triage's JSON, or NULL. */
static json_t *
finding_of(json_t *root, const char *kind)
{
    return h_json_find_str(root, "findings", "kind", kind);
}

/* True when some string anywhere in v contains needle (exact bytes). */
static bool
json_has_string(json_t *v, const char *needle)
{
    const char *key;
    json_t *item;
    size_t i;

    switch (json_typeof(v))
    {
        case JSON_STRING:
            return strstr(json_string_value(v), needle) != NULL;
        case JSON_ARRAY:
            json_array_foreach(v, i, item)
            {
                if (json_has_string(item, needle))
                    return true;
            }
            return false;
        case JSON_OBJECT:
            json_object_foreach(v, key, item)
            {
                if (strstr(key, needle) != NULL || json_has_string(item, needle))
                    return true;
            }
            return false;
        default:
            return false;
    }
}

/* Triage, snapshot, check and the fix dry runs with hostile strings everywhere. */
static void
test_hostile_triage_and_dry_runs(void **state)
{
    HRun r;
    json_t *root, *f;

    (void) state;
    hostile_sessions();

    /* JSON from "postgres": T1 exactly (valid UTF-8 stays as it is), the role with U+FFFD. */
    {
        const char *const cmd[] = {"triage", "-d",           "postgres", "--format",
                                   "json",   LOW_THRESHOLDS, NULL};

        run_pm(&r, "triage json (postgres)", &c, cmd, NULL, NULL, 2);
    }
    root = parsed(&r, "triage json (postgres)");
    f = finding_of(root, "long_running_query");
    assert_non_null(f);
    assert_true(
        json_has_string(f, "pg_sleep(120) /* it's \"q\" \\ $$ ; \n \xEF\xBF\xBD\xEF\xBF\xBD"));
    assert_non_null(finding_of(root, "lock_contention"));
    assert_non_null(finding_of(root, "connection_leak"));
    assert_true(json_has_string(root, HOSTILE_APP_PG));
    assert_true(json_has_string(root, "ro'le\"$$;\\\n\xEF\xBF\xBD\x1b[7mx"));
    f = finding_of(root, "table_bloat");
    assert_non_null(f);
    /* As regclass input (the quote doubled), newline, ESC and BEL kept exactly. */
    assert_true(json_has_string(f, T1_SQL));
    json_decref(root);
    h_run_free(&r);

    /* JSON from "hostile": T2's byte that is not UTF-8 becomes U+FFFD. */
    {
        const char *const cmd[] = {"triage", "-d",           "hostile", "--format",
                                   "json",   LOW_THRESHOLDS, NULL};

        run_pm(&r, "triage json (hostile)", &c, cmd, NULL, NULL, 2);
    }
    root = parsed(&r, "triage json (hostile)"); /* valid JSON either way */
    if (!sql_ascii_issue(&r, "triage json (hostile)"))
    {
        /*
         * T2 is held ACCESS EXCLUSIVE by the hostile role's transaction: its
         * size cannot be read without waiting, so the tables are left out with
         * a note (test_hostile_fix_tables reads T2 once the lock is gone).
         * The role's name that is not UTF-8 arrives as U+FFFD.
         */
        assert_true(json_has_string(root, "ro'le\"$$;\\\n\xEF\xBF\xBD\x1b[7mx"));
        H_ASSERT_CONTAINS(r.out, "tables not collected");
    }
    json_decref(root);
    h_run_free(&r);

    /* The same for a terminal and for a ticket: no control characters, valid UTF-8. */
    {
        const char *const dbs[] = {"postgres", "hostile", NULL};
        const char *const formats[] = {"text", "markdown", NULL};
        size_t i, j;

        for (i = 0; dbs[i] != NULL; i++)
            for (j = 0; formats[j] != NULL; j++)
            {
                const char *const cmd[] = {"triage",   "-d",           dbs[i], "--format",
                                           formats[j], LOW_THRESHOLDS, NULL};
                char what[128];

                snprintf(what, sizeof(what), "triage %s (%s)", formats[j], dbs[i]);
                run_pm(&r, what, &c, cmd, NULL, NULL, 2);
                if (i == 0 || !sql_ascii_issue(&r, what))
                {
                    /* Markdown escapes "_"; in "hostile" the tables are locked (see above). */
                    if (i == 0)
                        H_ASSERT_CONTAINS(r.out, j == 0 ? "table_bloat" : "table\\_bloat");
                    H_ASSERT_CONTAINS(r.out, j == 0 ? "pg_sleep(120)" : "pg\\_sleep(120)");
                }
                assert_terminal_safe(what, r.out, r.out_len);
                assert_terminal_safe(what, r.err, r.err_len);
                h_run_free(&r);
            }
    }

    /* snapshot and check in every format. */
    {
        const char *const cmd[] = {"snapshot", "-d", "hostile", LOW_THRESHOLDS, NULL};

        run_pm(&r, "snapshot (hostile)", &c, cmd, NULL, NULL, 2);
        root = parsed(&r, "snapshot (hostile)");
        if (!sql_ascii_issue(&r, "snapshot (hostile)"))
            assert_true(json_has_string(root, "pg_sleep(120)"));
        json_decref(root);
        h_run_free(&r);
    }
    {
        const char *const json_cmd[] = {"check", "-d",           "hostile", "--format",
                                        "json",  LOW_THRESHOLDS, NULL};
        const char *const text_cmd[] = {"check", "-d", "hostile", LOW_THRESHOLDS, NULL};
        const char *const nagios_cmd[] = {"check",  "-d",           "hostile", "--format",
                                          "nagios", LOW_THRESHOLDS, NULL};

        run_pm(&r, "check json", &c, json_cmd, NULL, NULL, 2);
        json_decref(parsed(&r, "check json"));
        h_run_free(&r);
        run_pm(&r, "check text", &c, text_cmd, NULL, NULL, 2);
        assert_terminal_safe("check text", r.out, r.out_len);
        h_run_free(&r);
        run_pm(&r, "check nagios", &c, nagios_cmd, NULL, NULL, 2);
        assert_int_equal(h_count_lines(r.out), 1);
        assert_terminal_safe("check nagios", r.out, r.out_len);
        h_run_free(&r);
    }

    /* The fix dry runs list the hostile role and query: safe for the terminal. */
    {
        const char *const cmds[][8] = {
            {"fix", "cancel-long", "--running-for", "100ms", "-d", "postgres", NULL},
            {"fix", "terminate-blockers", "--lock-wait", "100ms", "-d", "postgres", NULL},
            {"fix", "terminate-idle-in-transaction", "--idle-for", "100ms", "-d", "postgres", NULL},
            {"fix", "terminate-idle", "--idle-for", "100ms", "-d", "postgres", NULL},
        };
        size_t i;

        for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        {
            char what[128];

            snprintf(what, sizeof(what), "fix %s (dry run)", cmds[i][1]);
            run_pm(&r, what, &c, cmds[i], NULL, NULL, 0);
            H_ASSERT_CONTAINS(r.out, "dry run: nothing was done");
            assert_terminal_safe(what, r.out, r.out_len);
            if (i < 3)
                H_ASSERT_CONTAINS(r.out, "ro'le\"$$;\\ ?");
            h_run_free(&r);
        }
    }
}

/* fix analyze and fix vacuum act on exactly the hostile tables named (or found). */
static void
test_hostile_fix_tables(void **state)
{
    HRun r;
    json_t *root, *f, *actions;
    char buf[1024];
    const char *words[32];
    size_t n, i;
    long t1_analyzed, stale_analyzed, lower_analyzed, t1_vacuumed, t2_vacuumed, t2_analyzed;

    (void) state;
    hostile_objects();
    t1_analyzed = maintenance_count("postgres", T1_SQL, false);
    stale_analyzed = maintenance_count("postgres", "public.\"Stale\"", false);
    lower_analyzed = maintenance_count("postgres", "public.stale", false);
    t1_vacuumed = maintenance_count("postgres", T1_SQL, true);
    assert_int_equal(t1_analyzed, 0);
    assert_int_equal(lower_analyzed, 1);

    /* The command triage prints for T1, run as printed (split like a shell would). */
    {
        const char *const cmd[] = {"triage", "-d", "postgres", "--format", "json", NULL};

        run_pm(&r, "triage json", &c, cmd, NULL, NULL, 2);
    }
    root = parsed(&r, "triage json");
    f = finding_of(root, "table_bloat");
    assert_non_null(f);
    actions = json_object_get(f, "actions");
    assert_true(json_array_size(actions) >= 1);
    for (i = 0; i < json_array_size(actions); i++)
        if (strstr(json_string_value(json_array_get(actions, i)), "tab$$le") != NULL)
            break;
    assert_true(i < json_array_size(actions));
    n = split_command(json_string_value(json_array_get(actions, i)), buf, sizeof(buf), words,
                      sizeof(words) / sizeof(words[0]) - 3);
    json_decref(root);
    h_run_free(&r);
    assert_true(n >= 4);
    assert_string_equal(words[0], "pgmedic");
    assert_string_equal(words[1], "fix");
    assert_string_equal(words[2], "vacuum");
    assert_string_equal(words[3], T1_SQL);
    words[n] = "--apply";
    words[n + 1] = "--yes";
    words[n + 2] = NULL;
    run_pm(&r, "fix vacuum (T1, as triage printed it)", &c, words + 1, NULL, NULL, 0);
    H_ASSERT_CONTAINS(r.out, "1 done, 0 failed");
    /* The statement shown with the name's control characters as spaces. */
    H_ASSERT_CONTAINS(r.out,
                      "VACUUM (ANALYZE) \"public\".\"we'ird.;\"\"tab$$le\\  ]0;pwn \xc3\xa9\"");
    assert_terminal_safe("fix vacuum (T1)", r.out, r.out_len);
    h_run_free(&r);
    assert_true(h_wait_sql(&c,
                           "SELECT vacuum_count = 1 FROM pg_stat_user_tables "
                           "WHERE relname LIKE 'we''ird.%'",
                           10.0));
    assert_int_equal(maintenance_count("postgres", T1_SQL, true), t1_vacuumed + 1);

    /* analyze without a table: those with stale statistics, "Stale" and not its namesake. */
    {
        const char *const cmd[] = {"fix", "analyze", "-d", "postgres", "--apply", "--yes", NULL};

        run_pm(&r, "fix analyze (no table)", &c, cmd, NULL, NULL, 0);
        H_ASSERT_CONTAINS(r.out, "ANALYZE \"public\".\"Stale\"");
        H_ASSERT_NOT_CONTAINS(r.out, "\"public\".\"stale\"");
        assert_terminal_safe("fix analyze (no table)", r.out, r.out_len);
        h_run_free(&r);
    }
    assert_true(h_wait_sql(&c,
                           "SELECT analyze_count = 1 FROM pg_stat_user_tables "
                           "WHERE relname = 'Stale'",
                           10.0));
    assert_int_equal(maintenance_count("postgres", "public.\"Stale\"", false), stale_analyzed + 1);
    assert_int_equal(maintenance_count("postgres", "public.stale", false), lower_analyzed);

    /* T2 (not UTF-8) named on the command line: vacuum, then analyze finds it. */
    t2_vacuumed = maintenance_count("hostile", T2_SQL, true);
    assert_int_equal(t2_vacuumed, 0);
    {
        const char *const cmd[] = {"fix",     "vacuum",  T2_SQL,  "-d",
                                   "hostile", "--apply", "--yes", NULL};

        run_pm(&r, "fix vacuum (T2)", &c, cmd, NULL, NULL, 2);
        assert_terminal_safe("fix vacuum (T2)", r.out, r.out_len);
        assert_terminal_safe("fix vacuum (T2)", r.err, r.err_len);
        if (sql_ascii_issue(&r, "fix vacuum (T2)"))
        {
            /* It did nothing: the failure comes before any statement. */
            h_run_free(&r);
            assert_int_equal(maintenance_count("hostile", T2_SQL, true), 0);
            goto audit;
        }
        H_ASSERT_EXIT(&r, 0);
        H_ASSERT_CONTAINS(r.out, "1 done, 0 failed");
        h_run_free(&r);
    }
    assert_true(db_wait("hostile",
                        "SELECT vacuum_count = 1 FROM pg_stat_user_tables "
                        "WHERE relname LIKE 'T2we%'",
                        10.0));
    /* VACUUM (ANALYZE) analyzed it too; a new change makes it stale again for analyze to find. */
    db_exec("hostile", "INSERT INTO " T2_SQL " SELECT g, 'y' FROM generate_series(1, 500) g");
    assert_true(db_wait("hostile",
                        "SELECT n_mod_since_analyze >= 500 FROM pg_stat_user_tables "
                        "WHERE relname LIKE 'T2we%'",
                        10.0));
    t2_analyzed = maintenance_count("hostile", T2_SQL, false);
    {
        const char *const cmd[] = {"fix", "analyze", "-d", "hostile", "--apply", "--yes", NULL};

        run_pm(&r, "fix analyze (hostile, no table)", &c, cmd, NULL, NULL, 0);
        H_ASSERT_CONTAINS(r.out, "1 done, 0 failed");
        assert_terminal_safe("fix analyze (hostile)", r.out, r.out_len);
        h_run_free(&r);
    }
    assert_true(db_wait("hostile",
                        "SELECT analyze_count >= 2 FROM pg_stat_user_tables "
                        "WHERE relname LIKE 'T2we%'",
                        10.0));
    assert_int_equal(maintenance_count("hostile", T2_SQL, false), t2_analyzed + 1);

audit:
    /* The audit log keeps the statements: JSON valid, text safe for the terminal. */
    {
        const char *const json_cmd[] = {"audit", "--format", "json", NULL};
        const char *const text_cmd[] = {"audit", NULL};

        run_pm(&r, "audit json", NULL, json_cmd, NULL, NULL, 0);
        root = parsed(&r, "audit json");
        assert_true(json_has_string(root, "VACUUM (ANALYZE) \"public\".\"we'ird.;\"\"tab$$le"));
        json_decref(root);
        h_run_free(&r);
        run_pm(&r, "audit", NULL, text_cmd, NULL, NULL, 0);
        assert_terminal_safe("audit", r.out, r.out_len);
        h_run_free(&r);
    }
}

/* terminate-idle --application with a hostile name ends exactly its sessions. */
static void
test_hostile_terminate_idle(void **state)
{
    HRun r;

    (void) state;
    hostile_sessions();
    {
        const char *const cmd[] = {
            "fix", "terminate-idle", "--application", HOSTILE_APP_PG, "--idle-for", "100ms",
            "-d",  "postgres",       "--apply",       "--yes",        NULL};

        run_pm(&r, "fix terminate-idle --application (hostile)", &c, cmd, NULL, NULL, 0);
        H_ASSERT_CONTAINS(r.out, "5 signalled, 0 skipped, 0 failed");
        assert_terminal_safe("fix terminate-idle", r.out, r.out_len);
        h_run_free(&r);
    }
    assert_true(h_wait_sql(&c,
                           "SELECT count(*) = 0 FROM pg_stat_activity "
                           "WHERE application_name = 'app''\"\\$$;???end'",
                           10.0));
    /* The decoys, a name that differs only in case and a prefix, are still there. */
    assert_true(h_wait_sql(&c,
                           "SELECT count(*) = 2 FROM pg_stat_activity "
                           "WHERE application_name IN ('app''\"\\$$;???enD', 'app''')",
                           1.0));
    /* And the hostile role's sessions (another application) too. */
    assert_true(h_wait_sql(&c,
                           "SELECT count(*) = 3 FROM pg_stat_activity "
                           "WHERE application_name = 'hostile-role'",
                           1.0));
}

/* True when python3's XML parser accepts the file (skipped when there is no python3). */
static bool
xml_well_formed(const char *path)
{
    const char *const argv[] = {"/usr/bin/python3", "-c",
                                "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])",
                                path, NULL};
    HRun r;
    bool ok;

    if (access(argv[0], X_OK) != 0)
        return true;
    assert_int_equal(h_exec(&r, NULL, argv, NULL, 30.0), 0);
    ok = r.exit_code == 0;
    if (!ok)
        h_run_dump(&r, "XML check");
    h_run_free(&r);
    return ok;
}

/* An incident whose title, notes, findings and actions hold hostile strings; its report. */
static void
test_hostile_incident_report(void **state)
{
    HRun r;
    json_t *root;
    char id[32], dir[H_PATH_MAX], path[H_PATH_MAX + 64], victim[H_PATH_MAX + 16];
    char *text;
    size_t len;

    (void) state;
    hostile_sessions();
    resolve_open_incidents();
    {
        const char *const cmd[] = {"incident", "open",
                                   "-d",       "postgres",
                                   "--title",  "title " HOSTILE_APP " <b>&amp;</b> *x* `y` |z|",
                                   NULL};

        run_pm(&r, "incident open (hostile title)", &c, cmd, NULL, NULL, 0);
        snprintf(id, sizeof(id), "%ld", strtol(r.out, NULL, 10));
        h_run_free(&r);
    }
    {
        const char *const cmds[][16] = {
            {"triage", "-d", "postgres", LOW_THRESHOLDS, NULL},
            {"fix", "terminate-idle", "--application", HOSTILE_APP_PG, "--idle-for", "100ms", "-d",
             "postgres", "--apply", "--yes", NULL},
            {"verify", "-d", "postgres", NULL},
            {"incident", "note", id, "note " HOSTILE_QUERY, NULL},
            {"incident", "resolve", id, "--root-cause", "cause " T2_NAME, NULL},
        };
        size_t i;

        for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        {
            run_pm(&r, cmds[i][0], &c, cmds[i], NULL, NULL, 2);
            h_run_free(&r);
        }
    }
    {
        const char *const cmd[] = {"incident", "show", id, "--format", "json", NULL};

        run_pm(&r, "incident show json", NULL, cmd, NULL, NULL, 0);
        root = parsed(&r, "incident show json");
        assert_true(json_has_string(root, "cause T2we'ird;\"$$\\\n\xEF\xBF\xBD"));
        json_decref(root);
        h_run_free(&r);
    }
    {
        const char *const cmd[] = {"incident", "show", id, NULL};

        run_pm(&r, "incident show", NULL, cmd, NULL, NULL, 0);
        assert_terminal_safe("incident show", r.out, r.out_len);
        h_run_free(&r);
    }
    {
        const char *const cmd[] = {"incident", "report", id, "--format", "json", NULL};

        run_pm(&r, "incident report json", NULL, cmd, NULL, NULL, 0);
        json_decref(parsed(&r, "incident report json"));
        h_run_free(&r);
    }
    /*
     * --output in a directory others may write, where someone planted
     * symlinks at the names the report's temporary files get: the files
     * they point to are left alone.
     */
    snprintf(dir, sizeof(dir), "%s/reports-hostile", h_tmproot());
    assert_int_equal(mkdir(dir, 01777), 0);
    assert_int_equal(chmod(dir, 01777), 0);
    snprintf(victim, sizeof(victim), "%s/victim", h_tmproot());
    write_file(victim, "victim\n", 0644);
    snprintf(path, sizeof(path), "%s/incident-%s.md.tmp", dir, id);
    assert_int_equal(symlink(victim, path), 0);
    snprintf(path, sizeof(path), "%s/incident-%s.svg.tmp", dir, id);
    assert_int_equal(symlink(victim, path), 0);
    {
        const char *const cmd[] = {"incident", "report", id, "--output", dir, NULL};

        run_pm(&r, "incident report --output", NULL, cmd, NULL, NULL, 0);
        h_run_free(&r);
    }
    text = h_read_file(victim, NULL);
    assert_non_null(text);
    assert_string_equal(text, "victim\n");
    free(text);
    snprintf(path, sizeof(path), "%s/incident-%s.md", dir, id);
    {
        struct stat st;

        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
    }
    text = h_read_file(path, &len);
    assert_non_null(text);
    assert_terminal_safe("the Markdown report", text, len);
    /* Markdown syntax from the title is escaped, not interpreted. */
    H_ASSERT_NOT_CONTAINS(text, "<b>");
    H_ASSERT_CONTAINS(text, "pg\\_sleep(120)");
    free(text);
    snprintf(path, sizeof(path), "%s/incident-%s.svg", dir, id);
    assert_true(xml_well_formed(path));
}

/* serve's /metrics with hostile application names: promtool accepts it; /api/v1/status parses. */
static void
test_hostile_metrics(void **state)
{
    Serve s;
    char text[4 * H_PATH_MAX], url[256], file[H_PATH_MAX + 32], cmdline[2 * H_PATH_MAX];
    char *body = NULL;
    HRun r;

    (void) state;
    hostile_sessions();
    snprintf(s.conf, sizeof(s.conf), "%s/serve-hostile.ini", h_tmproot());
    snprintf(text, sizeof(text),
             "[pgmedic]\ninterval = 300ms\n"
             "[serve]\ntop_applications = 50\n"
             "[thresholds]\nslow_query_warning = 100ms\nlock_wait = 100ms\n"
             "idle_in_transaction = 100ms\nidle_connection = 100ms\n"
             "[target postgres]\nconninfo = host=%s port=%s user=postgres dbname=postgres\n"
             "[target hostile]\nconninfo = host=%s port=%s user=postgres dbname=hostile\n",
             c.host, c.port, c.host, c.port);
    write_file(s.conf, text, 0600);
    serve_start(&s, NULL, false);
    snprintf(url, sizeof(url), "%s/metrics", s.base);
    /* The label value escaped per the text format: \" and \\ (the '?' are the server's). */
    assert_true(h_wait_http(url, "application=\"app'\\\"\\\\$$;???end\"", 20.0));
    assert_int_equal(serve_get(&s, "/metrics", &body), 200);
    snprintf(file, sizeof(file), "%s/hostile-metrics.txt", h_tmproot());
    write_file(file, body, 0600);
    free(body);
    if (access("/usr/bin/promtool", X_OK) == 0)
    {
        const char *const argv[] = {"/bin/sh", "-c", cmdline, NULL};

        snprintf(cmdline, sizeof(cmdline), "/usr/bin/promtool check metrics < '%s'", file);
        assert_int_equal(h_exec(&r, NULL, argv, NULL, 30.0), 0);
        if (r.exit_code != 0)
            h_run_dump(&r, "promtool check metrics");
        assert_int_equal(r.exit_code, 0);
        h_run_free(&r);
    }
    else
        fprintf(stderr, "note: /usr/bin/promtool is missing: the exposition is not checked\n");
    assert_int_equal(serve_get(&s, "/api/v1/status", &body), 200);
    {
        json_error_t jerr;
        json_t *v = json_loads(body, 0, &jerr);

        if (v == NULL)
            fail_msg("/api/v1/status: invalid JSON: %s", jerr.text);
        assert_true(json_has_string(v, "pg_sleep(120)"));
        json_decref(v);
    }
    free(body);
    h_daemon_stop(&s.d);
    assert_int_equal(s.d.status, 0);
}

/* -------------------------------------------------------- files and HTTP */

/* The store and its directory are private from the first byte, whatever the umask. */
static void
test_store_private(void **state)
{
    char dir[H_PATH_MAX], env[H_PATH_MAX + 8], path[H_PATH_MAX + 96];
    const char *const suffixes[] = {"", "-wal", "-shm", NULL};
    const char *const cmd[] = {"check", "-d", "postgres", NULL};
    const char *const envs[] = {env, NULL};
    struct stat st;
    mode_t old;
    HRun r;
    size_t i;

    (void) state;
    snprintf(dir, sizeof(dir), "%s/store-home", h_tmproot());
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(env, sizeof(env), "HOME=%s", dir);
    old = umask(0); /* the child inherits it: only pgmedic's own modes protect the files */
    assert_int_equal(h_run(&r, &c, cmd, envs, 30.0), 0);
    umask(old);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    snprintf(path, sizeof(path), "%s/.local/state/pgmedic", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    for (i = 0; suffixes[i] != NULL; i++)
    {
        snprintf(path, sizeof(path), "%s/.local/state/pgmedic/pgmedic.db%s", dir, suffixes[i]);
        if (stat(path, &st) != 0)
        {
            assert_true(i > 0); /* -wal and -shm may be gone once the store is closed */
            continue;
        }
        if ((st.st_mode & 0777) != 0600)
            fail_msg("%s has mode %04o, not 0600", path, (unsigned int) (st.st_mode & 0777));
    }
    /* The main store too (created by the other tests under the umask of the test runner). */
    assert_int_equal(stat(store_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

/* serve refuses a token file others may read or change; a group only gets a warning. */
static void
test_token_file_modes(void **state)
{
    char conf[H_PATH_MAX], tok[H_PATH_MAX], text[4 * H_PATH_MAX];
    const mode_t refused[] = {0604, 0644, 0602, 0666, 0601};
    /* An address no interface has (TEST-NET-1): serve stops at bind, after reading the token. */
    const char *const cmd[] = {"serve", "-c", conf, "--listen", "192.0.2.1:9", NULL};
    HRun r;
    size_t i;

    (void) state;
    snprintf(tok, sizeof(tok), "%s/token-modes", h_tmproot());
    snprintf(conf, sizeof(conf), "%s/token-modes.ini", h_tmproot());
    snprintf(text, sizeof(text),
             "[serve]\ntoken_file = %s\n[target a]\nconninfo = host=%s port=%s user=postgres\n",
             tok, c.host, c.port);
    write_file(conf, text, 0600);
    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
    {
        char want[H_PATH_MAX + 128], mode[16];

        write_file(tok, token, refused[i]);
        H_RUN_ENV(&r, NULL, NULL, 30.0, "serve", "-c", conf);
        H_ASSERT_EXIT(&r, 3);
        /* One line, in the project's shape, naming the file, the mode and the fix. */
        assert_int_equal(h_count_lines(r.err), 1);
        snprintf(want, sizeof(want),
                 "pgmedic: error: cannot use token_file \"%s\": other users may %s it", tok,
                 (refused[i] & 0004) != 0 ? "read" : "change");
        H_ASSERT_CONTAINS(r.err, want);
        snprintf(mode, sizeof(mode), "(mode %04o)", (unsigned int) refused[i]);
        H_ASSERT_CONTAINS(r.err, mode);
        H_ASSERT_CONTAINS(r.err, "chmod 600 it");
        H_ASSERT_NOT_CONTAINS(r.err, token);
        assert_int_equal(r.out_len, 0);
        h_run_free(&r);
    }
    /* Readable by its group: a warning, and serve goes on (here: to an address it cannot bind). */
    write_file(tok, token, 0640);
    assert_int_equal(h_run(&r, NULL, cmd, NULL, 30.0), 0);
    H_ASSERT_CONTAINS(r.err, "level=warning event=token_file");
    H_ASSERT_CONTAINS(r.err, "is accessible to its group (mode 0640)");
    H_ASSERT_CONTAINS(r.err, "could not listen on 192.0.2.1:9");
    H_ASSERT_NOT_CONTAINS(r.err, token);
    h_run_free(&r);
    /* 0600: no word about it. */
    write_file(tok, token, 0600);
    assert_int_equal(h_run(&r, NULL, cmd, NULL, 30.0), 0);
    H_ASSERT_NOT_CONTAINS(r.err, "token_file");
    H_ASSERT_CONTAINS(r.err, "could not listen on 192.0.2.1:9");
    h_run_free(&r);
}

/* A LISTEN socket on port in /proc/net/tcp*: how many, and how many not on loopback. */
static void
listeners(int port, int *total, int *not_loopback)
{
    const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6", NULL};
    size_t i;

    *total = *not_loopback = 0;
    for (i = 0; files[i] != NULL; i++)
    {
        FILE *f = fopen(files[i], "r");
        char line[512];

        if (f == NULL)
            continue;
        while (fgets(line, sizeof(line), f) != NULL)
        {
            char local[64], remote[64], st[8];
            char *colon;

            if (sscanf(line, " %*d: %63s %63s %7s", local, remote, st) != 3 ||
                strcmp(st, "0A") != 0 || (colon = strrchr(local, ':')) == NULL ||
                strtol(colon + 1, NULL, 16) != port)
                continue;
            *colon = '\0';
            (*total)++;
            /* 127.0.0.1 as /proc writes it (little-endian hex); IPv6 ::1 likewise. */
            if (strcmp(local, "0100007F") != 0 &&
                strcmp(local, "00000000000000000000000001000000") != 0)
                (*not_loopback)++;
        }
        fclose(f);
    }
}

/* With no listen anywhere, serve listens on 127.0.0.1:9188 and nowhere else. */
static void
test_default_listen_is_loopback(void **state)
{
    HDaemon d;
    char conf[H_PATH_MAX], text[4 * H_PATH_MAX];
    const char *const argv[] = {h_bin(), "serve", "-c", conf, NULL};
    const char *const env[] = {home_env, NULL};
    struct ifaddrs *ifs = NULL, *ifa;
    int total, outside;

    (void) state;
    listeners(9188, &total, &outside);
    if (total > 0)
    {
        fprintf(stderr, "note: something already listens on port 9188: the default listen "
                        "address is not checked\n");
        skip();
    }
    snprintf(conf, sizeof(conf), "%s/default-listen.ini", h_tmproot());
    snprintf(text, sizeof(text), "[target a]\nconninfo = host=%s port=%s user=postgres\n", c.host,
             c.port);
    write_file(conf, text, 0600);
    assert_int_equal(h_daemon_start(&d, NULL, argv, env), 0);
    if (!h_wait_http("http://127.0.0.1:9188/healthz", "ok", 20.0))
    {
        char *log = h_daemon_log(&d);

        h_daemon_stop(&d);
        fprintf(stderr, "serve on its default address did not answer:\n%s\n", log);
        free(log);
        fail();
    }
    listeners(9188, &total, &outside);
    assert_int_equal(total, 1);
    assert_int_equal(outside, 0);
    {
        char *log = h_daemon_log(&d);

        H_ASSERT_CONTAINS(log, "listening on http://127.0.0.1:9188");
        free(log);
    }
    /* Every address of this machine that is not loopback: nothing answers there. */
    assert_int_equal(getifaddrs(&ifs), 0);
    for (ifa = ifs; ifa != NULL; ifa = ifa->ifa_next)
    {
        struct sockaddr_in sin;
        int fd;

        if (ifa->ifa_addr == NULL || ifa->ifa_addr->sa_family != AF_INET)
            continue;
        memcpy(&sin, ifa->ifa_addr, sizeof(sin));
        if ((ntohl(sin.sin_addr.s_addr) >> 24) == 127)
            continue;
        sin.sin_port = htons(9188);
        fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) == 0)
            fail_msg("serve answers on %s:9188", inet_ntoa(sin.sin_addr));
        close(fd);
    }
    freeifaddrs(ifs);
    h_daemon_stop(&d);
}

/* One raw HTTP/1.1 request (the path sent exactly as given); the response, or NULL. */
static char *
raw_get(int port, const char *path)
{
    struct sockaddr_in sin;
    char req[1024], *out = NULL;
    size_t len = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return NULL;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) != 0)
    {
        close(fd);
        return NULL;
    }
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
             path);
    if (write(fd, req, strlen(req)) != (ssize_t) strlen(req))
    {
        close(fd);
        return NULL;
    }
    for (;;)
    {
        char buf[4096];
        ssize_t got = read(fd, buf, sizeof(buf));
        char *grown;

        if (got <= 0)
            break;
        grown = realloc(out, len + (size_t) got + 1);
        assert_non_null(grown);
        out = grown;
        memcpy(out + len, buf, (size_t) got);
        len += (size_t) got;
        out[len] = '\0';
    }
    close(fd);
    return out;
}

/* No path reaches a file or a directory listing: only the routes exist. */
static void
test_no_file_serving(void **state)
{
    Serve s;
    char text[4 * H_PATH_MAX];
    /* "/" is a route (the status page); everything else here is no route. */
    const char *const paths[] = {"/etc/passwd",
                                 "/../../../../etc/passwd",
                                 "/metrics/../../../../etc/passwd",
                                 "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                                 "/..%2f..%2f..%2fetc%2fpasswd",
                                 "//etc/passwd",
                                 "/metrics/",
                                 "/api/",
                                 "/api/v1/",
                                 "/proc/self/environ",
                                 "/index.html",
                                 ".",
                                 "*",
                                 NULL};
    size_t i;

    (void) state;
    snprintf(s.conf, sizeof(s.conf), "%s/serve-files.ini", h_tmproot());
    snprintf(text, sizeof(text),
             "[serve]\ntoken_file = %s\n[target a]\nconninfo = host=%s port=%s user=postgres\n",
             token_path, c.host, c.port);
    write_file(s.conf, text, 0600);
    serve_start(&s, NULL, false);
    for (i = 0; paths[i] != NULL; i++)
    {
        char *resp = raw_get(s.port, paths[i]);

        if (resp == NULL)
            continue; /* a request MHD refuses to read at all: nothing served either */
        if (strncmp(resp, "HTTP/1.1 404", 12) != 0 && strncmp(resp, "HTTP/1.1 400", 12) != 0)
            fail_msg("GET %s: %.60s", paths[i], resp);
        H_ASSERT_NOT_CONTAINS(resp, "root:");
        H_ASSERT_NOT_CONTAINS(resp, "PATH=");
        H_ASSERT_NOT_CONTAINS(resp, "text/html");
        free(resp);
    }
    /* The server still serves. */
    {
        char *resp = raw_get(s.port, "/healthz");

        assert_non_null(resp);
        assert_int_equal(strncmp(resp, "HTTP/1.1 200", 12), 0);
        free(resp);
    }
    h_daemon_stop(&s.d);
}

/* TLS from the configuration: the webhook over HTTPS with the token; plain HTTP gets nothing. */
/*
 * A new directory under the test root with a self-signed certificate for
 * localhost: key (unencrypted) and cert, each H_PATH_MAX + 16 bytes.  Skips
 * the test when openssl(1) is missing.
 */
static void
make_certificate(char *dir, size_t dir_size, char *key, char *cert)
{
    HRun r;

    if (access("/usr/bin/openssl", X_OK) != 0)
    {
        fprintf(stderr, "note: openssl(1) is not installed: TLS is not checked\n");
        skip();
    }
    snprintf(dir, dir_size, "%s/tls.XXXXXX", h_tmproot());
    assert_non_null(mkdtemp(dir));
    snprintf(key, H_PATH_MAX + 16, "%s/key.pem", dir);
    snprintf(cert, H_PATH_MAX + 16, "%s/cert.pem", dir);
    {
        const char *const argv[] = {"/usr/bin/openssl",
                                    "req",
                                    "-x509",
                                    "-newkey",
                                    "rsa:2048",
                                    "-nodes",
                                    "-subj",
                                    "/CN=localhost",
                                    "-days",
                                    "1",
                                    "-addext",
                                    "subjectAltName=DNS:localhost",
                                    "-keyout",
                                    key,
                                    "-out",
                                    cert,
                                    NULL};

        assert_int_equal(h_exec(&r, NULL, argv, NULL, 60.0), 0);
        H_ASSERT_EXIT(&r, 0);
        h_run_free(&r);
    }
}

static void
test_tls_from_config(void **state)
{
    Serve s;
    char dir[H_PATH_MAX], key[H_PATH_MAX + 16], cert[H_PATH_MAX + 16], text[8 * H_PATH_MAX];
    char url[160], resolve[64], auth[128];
    HRun r;

    (void) state;
    make_certificate(dir, sizeof(dir), key, cert);
    snprintf(s.conf, sizeof(s.conf), "%s/serve-tls.ini", h_tmproot());
    snprintf(text, sizeof(text),
             "[serve]\ntoken_file = %s\ntls_cert = %s\ntls_key = %s\n"
             "[target a]\nconninfo = host=%s port=%s user=postgres\n",
             token_path, cert, key, c.host, c.port);
    write_file(s.conf, text, 0600);
    serve_start(&s, NULL, true);
    /* Verified against the certificate, not -k. */
    snprintf(url, sizeof(url), "https://localhost:%d/api/v1/alertmanager", s.port);
    snprintf(resolve, sizeof(resolve), "localhost:%d:127.0.0.1", s.port);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    {
        const char *const argv[] = {"/usr/bin/curl",
                                    "-s",
                                    "-o",
                                    "/dev/null",
                                    "-w",
                                    "%{http_code}",
                                    "--cacert",
                                    cert,
                                    "--resolve",
                                    resolve,
                                    "-H",
                                    auth,
                                    "-H",
                                    "Content-Type: application/json",
                                    "--data-binary",
                                    "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[]}",
                                    url,
                                    NULL};

        assert_int_equal(h_exec(&r, NULL, argv, NULL, 30.0), 0);
        assert_string_equal(r.out, "202");
        h_run_free(&r);
    }
    /* GnuTLS is there now, loaded for the TLS setup (see test_tls_libraries_on_demand). */
    assert_true(h_maps_contain(s.d.pid, "/libgnutls.so"));
    {
        char *log;

        /* Plain HTTP on the TLS port: no answer. */
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", s.port);
        assert_int_equal(h_http("GET", url, NULL, NULL, NULL), 0);
        h_daemon_stop(&s.d);
        log = h_daemon_log(&s.d);
        H_ASSERT_CONTAINS(log, "listening on https://");
        H_ASSERT_NOT_CONTAINS(log, token);
        H_ASSERT_NOT_CONTAINS(log, "PRIVATE KEY");
        free(log);
    }
}

/*
 * Without TLS anywhere, serve never maps OpenSSL or GnuTLS: on x86-64 both
 * are loaded on the first call into them (src/util/lazylib.h), which a unix
 * socket with trust authentication and plain HTTP never make.  This is 1.7 +
 * 2.3 MB of the daemon's RSS (bench/serve.sh).
 */
static void
test_tls_libraries_on_demand(void **state)
{
    Serve s;
    char text[4 * H_PATH_MAX], url[160];

    (void) state;
    snprintf(s.conf, sizeof(s.conf), "%s/serve-notls.ini", h_tmproot());
    snprintf(text, sizeof(text),
             "[pgmedic]\ninterval = 300ms\n"
             "[target a]\nconninfo = host=%s port=%s user=postgres dbname=postgres\n",
             c.host, c.port);
    write_file(s.conf, text, 0600);
    serve_start(&s, NULL, false);
    snprintf(url, sizeof(url), "%s/metrics", s.base);
    assert_true(h_wait_http(url, "pgmedic_up{target=\"a\"} 1", 20.0));
#if defined(PGMEDIC_LAZY_OPENSSL)
    assert_false(h_maps_contain(s.d.pid, "/libssl.so"));
    assert_false(h_maps_contain(s.d.pid, "/libcrypto.so"));
#else
    fprintf(stderr, "note: this build links OpenSSL the ordinary way (LAZY_STUBS=no)\n");
#endif
#if defined(PGMEDIC_STATIC_MHD)
    assert_false(h_maps_contain(s.d.pid, "/libgnutls.so"));
#else
    fprintf(stderr, "note: this build dlopen()s libmicrohttpd, which maps GnuTLS\n");
#endif
    h_daemon_stop(&s.d);
    assert_int_equal(s.d.status, 0);
}

/*
 * TLS to PostgreSQL through the lazily loaded OpenSSL: the server gets a
 * certificate and ssl = on; `check` with sslmode=require and serve with
 * sslmode=verify-full (the certificate as root, host name checked) connect,
 * the server sees their sessions encrypted, and a wrong root certificate is
 * refused the way libpq says it.
 */
static void
test_tls_to_postgres(void **state)
{
    Serve s;
    char dir[H_PATH_MAX], key[H_PATH_MAX + 16], cert[H_PATH_MAX + 16];
    char text[8 * H_PATH_MAX], url[160], conninfo[4 * H_PATH_MAX];
    const char *files[][2] = {{key, "server.key"}, {cert, "server.crt"}};
    char *value;
    HRun r;
    size_t i, log_at;
    bool ssl_up;
    double deadline;

    (void) state;
    make_certificate(dir, sizeof(dir), key, cert);
    /* Written by the server itself, so they are its own (a key must be 0600 and the server's). */
    for (i = 0; i < 2; i++)
    {
        char *pem = h_read_file(files[i][0], NULL), *sql, *oid;
        size_t len;

        assert_non_null(pem);
        assert_null(strstr(pem, "$pem$"));
        len = strlen(pem) + 2 * H_PATH_MAX + 256;
        sql = malloc(len);
        assert_non_null(sql);
        snprintf(sql, len, "SELECT lo_from_bytea(0, convert_to($pem$%s$pem$, 'UTF8'))", pem);
        oid = db_value("postgres", sql);
        assert_non_null(oid);
        snprintf(sql, len, "SELECT lo_export(%s, '%s/%s') + lo_unlink(%s)", oid, c.data,
                 files[i][1], oid);
        value = db_value("postgres", sql);
        assert_non_null(value);
        assert_string_equal(value, "2");
        /* The server's own file, and we are root or the server's user: the key must be 0600. */
        snprintf(sql, len, "%s/%s", c.data, files[i][1]);
        assert_int_equal(chmod(sql, 0600), 0);
        free(value);
        free(oid);
        free(sql);
        free(pem);
    }
    log_at = h_log_size(&c);
    assert_int_equal(h_sql(&c, "ALTER SYSTEM SET ssl = on"), 0);
    assert_int_equal(h_sql(&c, "SELECT pg_reload_conf()"), 0);
    /* Up once the server takes an SSL connection (its setting says on even when the key is refused). */
    snprintf(conninfo, sizeof(conninfo),
             "host=127.0.0.1 port=%s user=postgres dbname=postgres sslmode=require "
             "connect_timeout=5 application_name=security-admin",
             c.port);
    for (ssl_up = false, deadline = h_now() + 10.0 * h_slowdown(); !ssl_up && h_now() < deadline;)
    {
        PGconn *conn = PQconnectdb(conninfo);

        ssl_up = PQstatus(conn) == CONNECTION_OK && PQsslInUse(conn);
        PQfinish(conn);
        if (!ssl_up)
            usleep(50000);
    }
    if (!ssl_up)
    {
        value = h_log_since(&c, log_at);
        fprintf(stderr, "the server did not take SSL; its log:\n%s\n", value);
        free(value);
    }
    assert_true(ssl_up);

    /* The CLI: sslmode=require over TCP. */
    snprintf(conninfo, sizeof(conninfo),
             "host=127.0.0.1 port=%s user=postgres dbname=postgres sslmode=require", c.port);
    H_RUN(&r, NULL, "check", "-d", conninfo);
    /* Reached: OK or WARNING, not CRITICAL (unreachable). */
    if (r.exit_code > 1)
        h_run_dump(&r, "check over TLS");
    assert_true(r.exit_code == 0 || r.exit_code == 1);
    h_run_free(&r);

    /* A root certificate that did not sign the server's: refused, not ignored. */
    snprintf(conninfo, sizeof(conninfo),
             "host=localhost hostaddr=127.0.0.1 port=%s user=postgres dbname=postgres "
             "sslmode=verify-full sslrootcert=/etc/ssl/certs/ca-certificates.crt",
             c.port);
    H_RUN(&r, NULL, "check", "-d", conninfo);
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "certificate verify failed");
    h_run_free(&r);

    /* serve, verifying the certificate and the host name. */
    snprintf(s.conf, sizeof(s.conf), "%s/serve-pgtls.ini", h_tmproot());
    snprintf(text, sizeof(text),
             "[pgmedic]\ninterval = 300ms\n"
             "[target tls]\nconninfo = host=localhost hostaddr=127.0.0.1 port=%s user=postgres "
             "dbname=postgres sslmode=verify-full sslrootcert=%s\n",
             c.port, cert);
    write_file(s.conf, text, 0600);
    serve_start(&s, NULL, false);
    snprintf(url, sizeof(url), "%s/metrics", s.base);
    assert_true(h_wait_http(url, "pgmedic_up{target=\"tls\"} 1", 20.0));
    value = db_value("postgres", "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a "
                                 "USING (pid) WHERE a.application_name = 'pgmedic' AND s.ssl");
    assert_non_null(value);
    assert_string_equal(value, "1");
    free(value);
#if defined(PGMEDIC_LAZY_OPENSSL)
    assert_true(h_maps_contain(s.d.pid, "/libssl.so"));
#endif
    h_daemon_stop(&s.d);
    assert_int_equal(s.d.status, 0);

    assert_int_equal(h_sql(&c, "ALTER SYSTEM RESET ssl"), 0);
    assert_int_equal(h_sql(&c, "SELECT pg_reload_conf()"), 0);
    assert_true(h_wait_sql(&c, "SELECT current_setting('ssl') = 'off'", 10.0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_password_every_channel, close_sessions),
        cmocka_unit_test_teardown(test_password_failure_paths, close_sessions),
        cmocka_unit_test_teardown(test_password_serve, close_sessions),
        cmocka_unit_test_teardown(test_hostile_triage_and_dry_runs, close_sessions),
        cmocka_unit_test_teardown(test_hostile_fix_tables, close_sessions),
        cmocka_unit_test_teardown(test_hostile_terminate_idle, close_sessions),
        cmocka_unit_test_teardown(test_hostile_incident_report, close_sessions),
        cmocka_unit_test_teardown(test_hostile_metrics, close_sessions),
        cmocka_unit_test(test_store_private),
        cmocka_unit_test(test_token_file_modes),
        cmocka_unit_test(test_default_listen_is_loopback),
        cmocka_unit_test(test_no_file_serving),
        cmocka_unit_test(test_tls_from_config),
        cmocka_unit_test(test_tls_libraries_on_demand),
        cmocka_unit_test(test_tls_to_postgres),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
