/*
 * harness.h - helpers for cmocka integration tests against real PostgreSQL.
 *
 * Clusters come from scripts/tmp-pg (port range 55400-55999) under the root
 * $PGMEDIC_TEST_TMP (a private mkdtemp, cleaned at exit, when unset).  The
 * repository is $PGMEDIC_SRCDIR (default: cwd), the binary under test
 * $PGMEDIC_BIN (default: $PGMEDIC_SRCDIR/build/pgmedic).
 *
 * Sessions opened through the harness are tracked by their cluster, so a
 * test teardown (h_sessions_close) or h_cluster_stop ends every one of them
 * and waits until their backends are gone: the next test sees a clean
 * pg_stat_activity.  Nothing here sleeps for a fixed time: waits poll a
 * condition against a deadline.
 *
 * Failures of the harness itself are printed on stderr with a "harness:"
 * prefix and returned as -1 / NULL / false; tests assert on them.
 */
#ifndef PGMEDIC_TESTS_HARNESS_H
#define PGMEDIC_TESTS_HARNESS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define H_PATH_MAX 1024

/* The port range reserved for these tests. */
#define H_PORT_RANGE "55400-55999"

/* ---------------------------------------------------------------- paths */

/* $PGMEDIC_SRCDIR or the current directory; never NULL. */
const char *h_srcdir(void);

/* $PGMEDIC_BIN or $PGMEDIC_SRCDIR/build/pgmedic; never NULL. */
const char *h_bin(void);

/* Root for clusters and scratch files (created on first use); never NULL. */
const char *h_tmproot(void);

/*
 * Writes text to a new file under h_tmproot() whose name starts with tag;
 * returns its path (caller frees), or NULL.
 */
char *h_write_tmpfile(const char *tag, const char *text);

/* Reads a whole file; caller frees; NULL when unreadable. *len may be NULL. */
char *h_read_file(const char *path, size_t *len);

/* ------------------------------------------------------------- clusters */

typedef struct HSession HSession;

typedef struct
{
    char dir[H_PATH_MAX];  /* PGT_DIR: the cluster's directory and socket dir */
    char data[H_PATH_MAX]; /* PGT_DATA */
    char log[H_PATH_MAX];  /* PGT_LOG: the server log */
    char host[H_PATH_MAX]; /* PGHOST (the socket directory) */
    char port[16];         /* PGPORT */
    char user[64];         /* PGUSER */
    bool running;
    HSession *sessions; /* tracked client sessions (linked list) */
} HCluster;

/*
 * Starts a cluster: scripts/tmp-pg start --root ROOT --port-range H_PORT_RANGE
 * plus one "--set NAME=VALUE" per entry of sets (NULL-terminated; may be
 * NULL).  0 on success, -1 (message on stderr) otherwise.
 */
int h_cluster_start(HCluster *c, const char *const *sets);

/* Closes the tracked sessions, SIGCONTs the postmaster, stops and removes
 * the cluster.  Safe on a stopped or never-started cluster. */
void h_cluster_stop(HCluster *c);

/* scripts/tmp-pg ctl DIR ARGS... (args NULL-terminated); pg_ctl's exit code,
 * or -1 when it could not be run. */
int h_cluster_ctl(HCluster *c, const char *const *args);

/* The postmaster pid, or -1. */
pid_t h_cluster_pid(const HCluster *c);

/*
 * Every process of the cluster into out (at most max, max >= 1): the
 * postmaster first, then its children as /proc lists them.  Returns how
 * many; 0 when the postmaster is not running.
 */
size_t h_cluster_pids(const HCluster *c, pid_t *out, size_t max);

/* Byte size of the server log right now (an offset for h_log_since). */
size_t h_log_size(const HCluster *c);

/* The server log from offset on; caller frees; never NULL (may be ""). */
char *h_log_since(const HCluster *c, size_t offset);

/* --------------------------------------------------------- running pgmedic */

typedef struct
{
    int exit_code;   /* the exit status; -1 when killed by a signal */
    int term_signal; /* the signal that ended it, 0 if it exited */
    bool timed_out;  /* killed (SIGKILL) by the harness at the deadline */
    char *out;       /* stdout, NUL-terminated */
    size_t out_len;
    char *err; /* stderr, NUL-terminated */
    size_t err_len;
    double wall_s; /* fork to reap, monotonic */
    json_t *json;  /* stdout parsed lazily by h_run_json */
} HRun;

/*
 * Runs argv (argv[0] the program; NULL-terminated) without a shell; stdin is
 * /dev/null, stdout and stderr are captured in full.  The child environment
 * is ours minus every PG* variable, with LC_ALL=C, then PGHOST, PGPORT,
 * PGUSER and PGDATABASE=postgres of c (when c is not NULL), then env
 * ("NAME=VALUE" entries, NULL-terminated, may be NULL; "NAME" alone unsets).
 * After timeout_s seconds the child's process group is killed with SIGKILL.
 * 0 when the child ran (whatever its exit), -1 when it could not be started.
 */
int h_exec(HRun *r, const HCluster *c, const char *const *argv, const char *const *env,
           double timeout_s);

/* h_exec of h_bin() with args (NULL-terminated, without argv[0]). */
int h_run(HRun *r, const HCluster *c, const char *const *args, const char *const *env,
          double timeout_s);

/* Frees what h_exec allocated; the HRun may be reused. */
void h_run_free(HRun *r);

/* Prints the run (argv-less: exit, signal, timing, stdout, stderr) on stderr. */
void h_run_dump(const HRun *r, const char *what);

/* stdout parsed as JSON (cached in r->json, freed by h_run_free), or NULL
 * with the parse error on stderr. */
json_t *h_run_json(HRun *r);

/* Number of lines in text (a last line without '\n' counts). */
size_t h_count_lines(const char *text);

/* Number of occurrences of needle in text. */
size_t h_count_substr(const char *text, const char *needle);

/* ------------------------------------------------------------- sessions */

typedef struct
{
    const char *application_name; /* NULL: "harness" */
    const char *user;             /* NULL: the cluster's user */
    const char *password;         /* NULL: none */
    const char *dbname;           /* NULL: "postgres" */
    bool tcp;                     /* 127.0.0.1 instead of the socket */
} HConnOpts;

/* Opens a session (tracked by c); NULL on failure, message on stderr. */
PGconn *h_session_open(HCluster *c, const HConnOpts *opts);

/* Opens n idle sessions; returns how many were opened. */
int h_sessions_open_idle(HCluster *c, int n, const char *application_name, bool tcp,
                         const char *user);

/* A session left "idle in transaction" (aborted: "idle in transaction
 * (aborted)" after a failing statement). */
PGconn *h_session_idle_in_transaction(HCluster *c, const char *application_name, bool aborted);

/* A session with sql sent (PQsendQuery) and not waited for. */
PGconn *h_session_send(HCluster *c, const char *application_name, const char *sql);

/*
 * A lock chain of depth 3 on two harness tables:
 *   pids[0] holds a row lock on pgmedic_chain_a and sits idle in transaction;
 *   pids[1] holds ACCESS EXCLUSIVE on pgmedic_chain_b and waits for that row;
 *   pids[2] waits to read pgmedic_chain_b, i.e. behind pids[1].
 * Returns once both waiters wait on a Lock; 0 or -1.
 */
int h_lock_chain(HCluster *c, const char *application_name, int pids[3]);

/* Closes every tracked session of c, terminates their backends and waits
 * until they are gone; 0, or -1 when some backend outlived the deadline. */
int h_sessions_close(HCluster *c);

/* ------------------------------------------------------------ admin SQL */

/* Runs sql in a fresh superuser connection that is closed (and its backend
 * waited for) before returning; 0 or -1. */
int h_sql(HCluster *c, const char *sql);

/* First column of the first row as text (caller frees), or NULL. */
char *h_sql_value(HCluster *c, const char *sql);

/* pgmedic's client backends on c right now (application_name 'pgmedic'), or -1. */
long h_pgmedic_backends(HCluster *c);

/*
 * Polls sql (one boolean column, one row) every 20 ms until it returns true
 * or timeout_s passes; true when it held.  One admin connection is used and
 * closed (backend waited for) before returning.
 */
bool h_wait_sql(HCluster *c, const char *sql, double timeout_s);

/* Waits until the number of client backends (other than the poller) equals n. */
bool h_wait_clients(HCluster *c, long n, double timeout_s);

/* Tries to connect (opts may be NULL) every 20 ms until the attempt fails
 * with an error containing needle; true when it did before the deadline. */
bool h_wait_conn_error(const HCluster *c, const HConnOpts *opts, const char *needle,
                       double timeout_s);

/* Waits until the process pid no longer exists. */
bool h_wait_pid_gone(pid_t pid, double timeout_s);

/* ---------------------------------------------------------------- JSON */

/* Value at a dotted path ("status.reachable", "alerts.0.name"), or NULL. */
json_t *h_json_get(json_t *root, const char *path);

/* String at path, or NULL when missing or not a string. */
const char *h_json_str(json_t *root, const char *path);

/* Number (integer or real) at path, or NaN when missing or not a number. */
double h_json_num(json_t *root, const char *path);

/* Integer at path, or LLONG_MIN when missing or not a JSON integer. */
long long h_json_int(json_t *root, const char *path);

/* 1 true, 0 false, -1 missing or not a boolean. */
int h_json_bool(json_t *root, const char *path);

/* true when path exists and is JSON null. */
bool h_json_is_null(json_t *root, const char *path);

/* Size of the array at path, or -1 when it is not an array. */
long h_json_len(json_t *root, const char *path);

/* The element of the array at path whose key is the string value, or NULL. */
json_t *h_json_find_str(json_t *root, const char *path, const char *key, const char *value);

/* The element of the array at path whose key is the integer value, or NULL. */
json_t *h_json_find_int(json_t *root, const char *path, const char *key, long long value);

/* The alert named name in root's "alerts", or NULL. */
json_t *h_alert(json_t *root, const char *name);

/* The array at path as integers into out (up to max); count, or -1. */
long h_json_ints(json_t *root, const char *path, long long *out, size_t max);

/* ------------------------------------------------- pgmedic-specific checks */
/* These assert (cmocka) and dump the run on the first failed expectation. */

/* Exit 3, nothing on stdout, and one error in the project's shape
 * ("pgmedic: error: <lower-case primary without final period>") that contains
 * needle (when not NULL). */
void h_assert_usage_error(HRun *r, const char *needle);

/* The usage hint line of STYLE.md section 7 is on stderr. */
void h_assert_usage_hint(HRun *r);

/* Exit 2 and JSON: not reachable, this failure kind, a message, exactly one
 * alert DatabaseConnectionFailure (critical); no error line on stderr.
 * Returns the JSON. */
json_t *h_assert_unreachable(HRun *r, const char *failure);

/* The alert called name with this severity (the run is dumped if absent). */
json_t *h_assert_alert(HRun *r, const char *name, const char *severity);

/* "pgmedic": 1, "target": "<dbname>@<host>:<port>", an ISO-8601 UTC taken_at. */
void h_assert_header(HRun *r, const char *dbname, const char *host, const char *port);

/* The first line of stdout starts with prefix (e.g. "PGMEDIC OK"). */
void h_assert_first_line(HRun *r, const char *prefix);

/* --------------------------------------------------------------- daemons */
/*
 * Long-running children (pgmedic serve, prometheus, alertmanager): their own
 * process group, stdout and stderr into a log file, environment as h_exec.
 * Every daemon still running at exit is killed (SIGKILL to its group).
 */
typedef struct
{
    pid_t pid;             /* 0 when not running */
    char log[H_PATH_MAX];  /* where its output goes */
    int status;            /* the exit status once reaped (h_daemon_wait) */
} HDaemon;

/* Starts argv; 0 or -1. */
int h_daemon_start(HDaemon *d, const HCluster *c, const char *const *argv,
                   const char *const *env);

/* Waits up to timeout_s for it to exit; true (and d->status set) when it did. */
bool h_daemon_wait(HDaemon *d, double timeout_s);

/* SIGTERM, up to 10 s, then SIGKILL to the group; reaps it.  Safe when not running. */
void h_daemon_stop(HDaemon *d);

/* The daemon's log so far; caller frees; never NULL. */
char *h_daemon_log(const HDaemon *d);

/*
 * Whether process pid (0: this one) has a file mapped whose path contains
 * needle (/proc/PID/maps): which shared libraries it has loaded.
 */
bool h_maps_contain(pid_t pid, const char *needle);

/* text with every `from` replaced by `to` (from not empty); caller frees. */
char *h_replace_all(const char *text, const char *from, const char *to);

/* A TCP port on 127.0.0.1 nothing listens on now, from H_DAEMON_PORTS. */
#define H_DAEMON_PORTS "57500-57999"
int h_free_port(void);

/*
 * One HTTP request with curl(1) (10 s deadline).  headers: NULL-terminated
 * "Name: value" entries (may be NULL); body: sent as is (NULL: none).
 * Returns the HTTP status (0 when no answer); *out (may be NULL) gets the
 * body (caller frees).
 */
long h_http(const char *method, const char *url, const char *const *headers, const char *body,
            char **out);

/* Polls GET url every 50 ms until its body contains needle; true when it did in time. */
bool h_wait_http(const char *url, const char *needle, double timeout_s);

/* ------------------------------------------------------------ wall clock */

double h_now(void); /* CLOCK_MONOTONIC seconds */

/*
 * $PGMEDIC_SLOW, a factor from 1 to 1000 (1 when unset or not a number):
 * how much slower pgmedic runs here, e.g. 10 under valgrind (tests/valgrind.sh
 * sets it).  h_run's and h_http's deadlines, h_daemon_wait, h_wait_http and
 * h_wait_sql multiply their time by it; tests multiply the slack of their
 * upper bounds on a run's wall time by it.
 */
double h_slowdown(void);

/* ----------------------------------------------------- cmocka shorthands */
/*
 * For test files (include <cmocka.h> first).  Each builds a NULL-terminated
 * argument list from its variadic arguments.
 */

/* Runs pgmedic with args against cluster c (may be NULL), 30 s deadline. */
#define H_RUN(r, c, ...)                                                                           \
    do                                                                                             \
    {                                                                                              \
        const char *const h_args_[] = {__VA_ARGS__, NULL};                                         \
        assert_int_equal(h_run((r), (c), h_args_, NULL, 30.0), 0);                                 \
    } while (0)

/* Same with extra environment entries (a NULL-terminated array) and deadline. */
#define H_RUN_ENV(r, c, env, timeout_s, ...)                                                       \
    do                                                                                             \
    {                                                                                              \
        const char *const h_args_[] = {__VA_ARGS__, NULL};                                         \
        assert_int_equal(h_run((r), (c), h_args_, (env), (timeout_s)), 0);                         \
    } while (0)

/* Asserts the exit code, dumping the run first when it differs. */
#define H_ASSERT_EXIT(r, code)                                                                     \
    do                                                                                             \
    {                                                                                              \
        if ((r)->exit_code != (code) || (r)->timed_out)                                            \
            h_run_dump((r), "unexpected exit");                                                    \
        assert_false((r)->timed_out);                                                              \
        assert_int_equal((r)->term_signal, 0);                                                     \
        assert_int_equal((r)->exit_code, (code));                                                  \
    } while (0)

/* Asserts that text contains needle, printing both when it does not. */
#define H_ASSERT_CONTAINS(text, needle)                                                            \
    do                                                                                             \
    {                                                                                              \
        const char *h_t_ = (text);                                                                 \
        const char *h_n_ = (needle);                                                               \
        if (h_t_ == NULL || strstr(h_t_, h_n_) == NULL)                                            \
            fprintf(stderr, "harness: expected \"%s\" in:\n%s\n", h_n_, h_t_ ? h_t_ : "(null)");   \
        assert_non_null(h_t_);                                                                     \
        assert_non_null(strstr(h_t_, h_n_));                                                       \
    } while (0)

#define H_ASSERT_NOT_CONTAINS(text, needle)                                                        \
    do                                                                                             \
    {                                                                                              \
        const char *h_t_ = (text);                                                                 \
        const char *h_n_ = (needle);                                                               \
        if (h_t_ != NULL && strstr(h_t_, h_n_) != NULL)                                            \
            fprintf(stderr, "harness: did not expect \"%s\" in:\n%s\n", h_n_, h_t_);               \
        assert_true(h_t_ == NULL || strstr(h_t_, h_n_) == NULL);                                   \
    } while (0)

/* Asserts |a - b| <= eps. */
#define H_ASSERT_NEAR(a, b, eps)                                                                   \
    do                                                                                             \
    {                                                                                              \
        double h_a_ = (a), h_b_ = (b);                                                             \
        if (!(h_a_ - h_b_ <= (eps) && h_b_ - h_a_ <= (eps)))                                       \
            fprintf(stderr, "harness: %.9g is not within %g of %.9g\n", h_a_, (double)(eps),       \
                    h_b_);                                                                         \
        assert_true(h_a_ - h_b_ <= (eps) && h_b_ - h_a_ <= (eps));                                 \
    } while (0)

/* stdout as JSON, asserted to parse (the run is dumped when it does not). */
#define H_JSON(r) h_assert_json(r)

json_t *h_assert_json(HRun *r);

#endif
