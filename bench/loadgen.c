/*
 * loadgen - open and hold the bench scenario's sessions on a PostgreSQL server.
 *
 *   loadgen [--idle N] [--tcp-every K] [--idle-in-tx N] [--chains N]
 *           [--active N] [--pids FILE] [CONNINFO]
 *
 * CONNINFO (default "") is completed by the PG* environment, like psql.
 * Sessions, by kind (application_name in brackets):
 *   idle        N sessions that ran one query and went idle, spread over
 *               three applications 6:3:1 [billing-api, orders-worker,
 *               reporting-etl]; every K-th one connects over TCP 127.0.0.1.
 *   idle-in-tx  N sessions idle in an open transaction [orders-worker].
 *   chains      N lock chains.  Chain c: a blocker [billing-api] that updated
 *               row 4c of bench_lock and sits idle in transaction; waiter 1
 *               holds row 4c+1 and waits for row 4c; waiter 2 holds 4c+2 and
 *               waits for 4c+1; waiter 3 waits for 4c+2 [orders-worker]:
 *               one behind the other, pg_blocking_pids() depth 3.
 *   active      N sessions running pg_sleep(86400) [reporting-etl].
 * Prints "ready N" on stdout once every session is in place (all waiters seen
 * waiting on a Lock) and holds them until stdin reaches EOF or SIGTERM/SIGINT
 * arrives; then cancels the running queries and closes every session.
 * With --pids FILE it first writes what it built there, as JSON, for the
 * bench's correctness gate (bench/gate.jq):
 *   {"sessions": [{"pid": P, "kind": K, "application": A, "client": C}, ...],
 *    "chains": [[blocker, waiter 1, waiter 2, waiter 3], ...]}
 * K is idle, idle_in_transaction, blocker, waiter or active; C is "local"
 * (unix socket) or "127.0.0.1", as pgmedic reports them.
 * Exit status: 0 after a clean hold, 1 on any error (message on stderr).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

static const char *const apps[3] = {"billing-api", "orders-worker", "reporting-etl"};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static PGconn **conns;
static int nconns;
static int cap_conns;

/* What each session is, for --pids (indexed like conns). */
typedef struct
{
    const char *kind;
    const char *app;
    int tcp;
} SessionInfo;
static SessionInfo *infos;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    for (int i = 0; i < nconns; i++)
        PQfinish(conns[i]);
    exit(1);
}

static PGconn *open_session(const char *base, const char *kind, const char *app, int tcp)
{
    const char *keys[] = {"dbname", "application_name", "hostaddr", "host", NULL};
    const char *vals[] = {base, app, "127.0.0.1", "127.0.0.1", NULL};
    if (!tcp)
        keys[2] = NULL; /* ends the list: unix socket or whatever PG* say */
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c == NULL || PQstatus(c) != CONNECTION_OK)
        die("connect #%d (%s%s): %s", nconns + 1, app, tcp ? ", tcp" : "",
            c ? PQerrorMessage(c) : "out of memory");
    if (nconns == cap_conns) {
        cap_conns = cap_conns ? cap_conns * 2 : 256;
        PGconn **n = realloc(conns, (size_t)cap_conns * sizeof *n);
        if (n == NULL)
            die("out of memory");
        conns = n;
        SessionInfo *in = realloc(infos, (size_t)cap_conns * sizeof *in);
        if (in == NULL)
            die("out of memory");
        infos = in;
    }
    infos[nconns] = (SessionInfo){kind, app, tcp};
    conns[nconns++] = c;
    return c;
}

static void exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        die("\"%s\": %s", sql, PQerrorMessage(c));
    PQclear(r);
}

static void send_ok(PGconn *c, const char *sql)
{
    if (!PQsendQuery(c, sql))
        die("send \"%s\": %s", sql, PQerrorMessage(c));
}

/* Number of the given backends now waiting on a heavyweight lock. */
static int count_lock_waiters(PGconn *ctl, const int *pids, int n)
{
    char *arr = malloc((size_t)n * 12 + 3), *p = arr;
    if (arr == NULL)
        die("out of memory");
    *p++ = '{';
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s%d", i ? "," : "", pids[i]);
    *p++ = '}';
    *p = '\0';
    const char *params[1] = {arr};
    PGresult *r = PQexecParams(ctl,
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE pid = ANY($1::int[]) AND wait_event_type = 'Lock'",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        die("waiter count: %s", PQerrorMessage(ctl));
    int got = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    free(arr);
    return got;
}

static void wait_for_waiters(PGconn *ctl, const int *pids, int n)
{
    struct timespec t0, now, nap = {0, 10 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (count_lock_waiters(ctl, pids, n) == n)
            return;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 30)
            die("lock waiters not all waiting after 30 s");
        nanosleep(&nap, NULL);
    }
}

static int parse_count(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > 100000)
        die("%s: invalid count \"%s\"", opt, s);
    return (int)v;
}

static void raise_fd_limit(int need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= (rlim_t)need)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)need ? (rlim_t)need : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < (rlim_t)need)
        die("need %d file descriptors, the hard limit is %ld", need, (long)rl.rlim_max);
}

/* The sessions and chains as JSON (see the top); written to a temporary
 * name and renamed, so a reader never sees half a file. */
static void write_pids(const char *path, const int *chain_pids, int chains)
{
    size_t len = strlen(path) + 8;
    char *tmp = malloc(len);
    if (tmp == NULL)
        die("out of memory");
    snprintf(tmp, len, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        die("%s: %s", tmp, strerror(errno));
    fputs("{\"sessions\": [", f);
    int first = 1;
    for (int i = 0; i < nconns; i++) {
        if (conns[i] == NULL)
            continue; /* the control session, closed */
        fprintf(f, "%s\n  {\"pid\": %d, \"kind\": \"%s\", \"application\": \"%s\", \"client\": \"%s\"}",
                first ? "" : ",", PQbackendPID(conns[i]), infos[i].kind, infos[i].app,
                infos[i].tcp ? "127.0.0.1" : "local");
        first = 0;
    }
    fputs("],\n\"chains\": [", f);
    for (int c = 0; c < chains; c++)
        fprintf(f, "%s\n  [%d, %d, %d, %d]", c ? "," : "", chain_pids[4 * c], chain_pids[4 * c + 1],
                chain_pids[4 * c + 2], chain_pids[4 * c + 3]);
    fputs("]}\n", f);
    if (ferror(f) | fclose(f))
        die("%s: write failed", tmp);
    if (rename(tmp, path) != 0)
        die("rename %s: %s", path, strerror(errno));
    free(tmp);
}

int main(int argc, char **argv)
{
    int idle = 50, tcp_every = 3, idle_tx = 5, chains = 1, active = 3;
    const char *base = "";
    const char *pids_file = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 < argc && strcmp(a, "--idle") == 0)
            idle = parse_count(a, argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--tcp-every") == 0)
            tcp_every = parse_count(a, argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--idle-in-tx") == 0)
            idle_tx = parse_count(a, argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--chains") == 0)
            chains = parse_count(a, argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--active") == 0)
            active = parse_count(a, argv[++i]);
        else if (i + 1 < argc && strcmp(a, "--pids") == 0)
            pids_file = argv[++i];
        else if (a[0] != '-')
            base = a;
        else {
            fprintf(stderr, "usage: loadgen [--idle N] [--tcp-every K] [--idle-in-tx N]"
                            " [--chains N] [--active N] [--pids FILE] [CONNINFO]\n");
            return 1;
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    raise_fd_limit(idle + idle_tx + chains * 4 + active + 64);

    PGconn *ctl = open_session(base, "control", "loadgen", 0);
    exec_ok(ctl, "SET client_min_messages = warning");
    exec_ok(ctl, "DROP TABLE IF EXISTS bench_lock");
    exec_ok(ctl, "CREATE TABLE bench_lock (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)"
                 " WITH (autovacuum_enabled = false)");
    {
        char sql[128];
        snprintf(sql, sizeof sql,
                 "INSERT INTO bench_lock (id) SELECT generate_series(0, %d)", chains * 4);
        exec_ok(ctl, sql);
    }

    /* The long runners first: by "ready" they have run longest. */
    for (int i = 0; i < active; i++)
        send_ok(open_session(base, "active", apps[2], 0), "SELECT pg_sleep(86400)");

    for (int i = 0; i < idle; i++) {
        int k = i % 10;
        const char *app = k < 6 ? apps[0] : k < 9 ? apps[1] : apps[2];
        int tcp = tcp_every > 0 && i % tcp_every == tcp_every - 1;
        exec_ok(open_session(base, "idle", app, tcp), "SELECT 1");
    }

    for (int i = 0; i < idle_tx; i++)
        exec_ok(open_session(base, "idle_in_transaction", apps[1], 0),
                "BEGIN; SELECT count(*) FROM bench_lock");

    /* chain_pids[4c + level]: level 0 the blocker, 1-3 the waiters. */
    int *chain_pids = calloc((size_t)chains * 4 + 1, sizeof *chain_pids);
    if (chain_pids == NULL)
        die("out of memory");
    if (chains > 0) {
        int *pids = malloc((size_t)chains * sizeof *pids);
        if (pids == NULL)
            die("out of memory");
        for (int c = 0; c < chains; c++) {
            char sql[128];
            PGconn *b = open_session(base, "blocker", apps[0], 0);
            snprintf(sql, sizeof sql, "BEGIN; UPDATE bench_lock SET v = v + 1 WHERE id = %d", 4 * c);
            exec_ok(b, sql);
            chain_pids[4 * c] = PQbackendPID(b);
        }
        /* Level by level, so each waiter queues behind the previous one. */
        for (int level = 1; level <= 3; level++) {
            for (int c = 0; c < chains; c++) {
                char sql[160];
                int row = 4 * c + level;
                PGconn *w = open_session(base, "waiter", apps[1], 0);
                if (level < 3) {
                    snprintf(sql, sizeof sql,
                             "BEGIN; UPDATE bench_lock SET v = v + 1 WHERE id = %d", row);
                    exec_ok(w, sql);
                } else
                    exec_ok(w, "BEGIN");
                snprintf(sql, sizeof sql, "UPDATE bench_lock SET v = v + 1 WHERE id = %d", row - 1);
                send_ok(w, sql);
                pids[c] = PQbackendPID(w);
                chain_pids[4 * c + level] = pids[c];
            }
            wait_for_waiters(ctl, pids, chains);
        }
        free(pids);
    }

    PQfinish(ctl);
    conns[0] = NULL;

    if (pids_file != NULL)
        write_pids(pids_file, chain_pids, chains);
    free(chain_pids);

    printf("ready %d\n", nconns - 1);
    fflush(stdout);

    struct pollfd in = {.fd = 0, .events = POLLIN};
    while (!stop_requested) {
        int n = poll(&in, 1, 1000);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0) {
            char buf[256];
            ssize_t got = read(0, buf, sizeof buf);
            if (got <= 0 && !(got < 0 && errno == EINTR))
                break;
        }
    }

    for (int i = 1; i < nconns; i++) {
        if (PQtransactionStatus(conns[i]) == PQTRANS_ACTIVE) {
            PGcancel *cn = PQgetCancel(conns[i]);
            char err[256];
            if (cn) {
                PQcancel(cn, err, sizeof err);
                PQfreeCancel(cn);
            }
        }
        PQfinish(conns[i]);
    }
    free(conns);
    free(infos);
    return 0;
}
