/*
 * serve.c - the daemon (see serve.h for the threads and what each owns).
 */
#include "serve/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "conf/conf.h"
#include "core/alertstate.h"
#include "core/amwebhook.h"
#include "core/diagnose.h"
#include "core/maintain.h"
#include "core/finding.h"
#include "core/plan.h"
#include "core/rules.h"
#include "pg/conn.h"
#include "pg/probe.h"
#include "render/findings.h"
#include "render/metrics.h"
#include "render/report.h"
#include "render/statuspage.h"
#include "serve/amclient.h"
#include "serve/http.h"
#include "store/incident.h"
#include "store/store.h"
#include "util/alloc.h"
#include "util/arena.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/spawn.h"
#include "util/strbuf.h"

/* How long children of the responder may run. */
#define TRIAGE_TIMEOUT_MS (60 * 1000)
#define FIX_TIMEOUT_MS (15 * 60 * 1000)
/* Largest triage output read back from a child. */
#define TRIAGE_MAX_OUTPUT (4 * 1024 * 1024)
/* Webhook jobs waiting at most; more are refused. */
#define MAX_QUEUED_JOBS 64
/* Firing alerts are pushed to Alertmanager again this often (its resolve_timeout is 5 min). */
#define PUSH_REPEAT_S 60.0
/* Alert pushes waiting at most; older ones are dropped when Alertmanager is unreachable. */
#define MAX_QUEUED_PUSHES 1024
/* SQLite's page cache for the store, KiB (store_limit_cache). */
#define SERVE_STORE_CACHE_KIB 256

/* What one finished probe left: immutable once published, freed with its last reference. */
typedef struct
{
    int refs; /* under Server.lock */
    Arena *arena;
    Snapshot snap;
    AlertList alerts;
    FindingList findings;
    AlertTracker tracker; /* the states after this probe */
    uint64_t probes_total, probe_errors_total;
    double probe_seconds;
} Result;

/* One target. */
typedef struct
{
    char *name;
    char *conninfo; /* to notice a changed target on reload (with reserved_conninfo) */
    char *reserved_conninfo;
    ConnSpec *spec;
    ConnSpec *reserved_spec; /* NULL without reserved_conninfo */
    bool in_reserved;        /* the job looks inside through a reserved slot */
    Snapshot refused;        /* the probe that was refused for lack of slots */
    PgConn *conn; /* the one connection, kept between probes */
    PgConn *reserved_conn; /* only while looking through a reserved slot */
    ProbeJob *job;
    Arena *job_arena;
    Snapshot job_snap;
    int64_t job_started_ms;
    int64_t due_ms;
    bool want_write; /* the last step returned PROBE_WANT_WRITE */
    ConnFailure last_failure; /* of the previous probe: failures are logged when they change */
    double maint_window_end;  /* the [maintenance] window maintain was started in (its end) */
    uint64_t failed_in_row;
    AlertTracker tracker;
    double pushed_at[ALERT_RULES]; /* when each firing alert last went to Alertmanager (0: never) */
    double push_since[ALERT_RULES]; /* and the startsAt it was sent with */
    uint64_t probes_total, probe_errors_total;
    /* Under Server.lock: */
    Result *latest;
    uint64_t started_seq, finished_seq; /* probes started and finished */
    bool want_now;                      /* GET /probe asked for one */
} Watch;

/* One of pgmedic's own alerts on its way to Alertmanager. */
typedef struct Push
{
    struct Push *next;
    AmOutAlert alert; /* its strings are owned by the Push */
} Push;

/* Work for the responder: one alert from Alertmanager. */
typedef struct Job
{
    struct Job *next;
    char *target;    /* a configured target's name */
    char *alertname;
    bool firing;     /* else resolved */
    bool maintain;   /* not a webhook alert: run maintain --apply in the [maintenance] window */
    double window_end; /* maintain: when the window closes (wall time) */
    char *summary;
} Job;

typedef struct
{
    ServeOptions opts;
    Config conf; /* the loop's; the responder reads its own copy under lock */
    char *token;
    Store *store; /* the loop's: samples and alert changes */
    HttpServer *http;

    pthread_mutex_t lock;
    pthread_cond_t probed; /* broadcast after every publish */
    Watch **watches;
    size_t n_watches;
    bool stopping;

    /* The responder's queue (under lock). */
    pthread_cond_t job_ready;
    Job *jobs_head, *jobs_tail;
    size_t n_jobs;
    char *running_job; /* "target\nalertname" of the job being run, NULL when idle */
    pthread_t responder;
    bool responder_started;

    /* The notifier's queue (under lock). */
    pthread_cond_t push_ready;
    Push *push_head, *push_tail;
    size_t n_pushes;
    pthread_t notifier;
    bool notifier_started;

    int wake[2]; /* self-pipe: signals and /probe wake the loop */

    /* Probes finished since the loop last gave freed memory back (trim_idle). */
    bool probed_since_trim;
    /* cppcheck-suppress unusedStructMember ; read under __GLIBC__ */
    int64_t trimmed_ms;
} Server;

static volatile sig_atomic_t got_reload, got_stop;
static int signal_pipe = -1;

/* --- logging: one key=value line per event ----------------------------- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void slog(const char *level, const char *target, const char *event, const char *fmt, ...)
    PM_PRINTF(4, 5);

static void
slog(const char *level, const char *target, const char *event, const char *fmt, ...)
{
    char ts[40], msg[1024];
    StrBuf line = STRBUF_INIT;
    const char *p;
    va_list ap;

    pm_format_iso8601(pm_wall_time(), ts, sizeof(ts));
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    strbuf_printf(&line, "ts=%s level=%s", ts, level);
    if (target != NULL)
    {
        strbuf_append(&line, " target=\"");
        for (p = target; *p; p++)
            if (*p == '"' || *p == '\\')
                strbuf_printf(&line, "\\%c", *p);
            else if ((unsigned char) *p >= 0x20)
                strbuf_append_char(&line, *p);
        strbuf_append_char(&line, '"');
    }
    strbuf_printf(&line, " event=%s msg=\"", event);
    for (p = msg; *p; p++)
        if (*p == '"' || *p == '\\')
            strbuf_printf(&line, "\\%c", *p);
        else if (*p == '\n')
            strbuf_append(&line, "\\n");
        else if ((unsigned char) *p >= 0x20)
            strbuf_append_char(&line, *p);
    strbuf_append(&line, "\"\n");
    pthread_mutex_lock(&log_lock);
    if (strbuf_ok(&line))
        fputs(strbuf_str(&line), stderr);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
    strbuf_free(&line);
}

/* --- configuration --------------------------------------------------------- */

static const char *const fix_actions[] = {
    "terminate-idle", "terminate-idle-in-transaction", "cancel-long", "terminate-blockers",
    "analyze",        "vacuum",                        "create-index", "slow-log",
    "restart",        "reset-pool",                    NULL,
};

static bool
is_fix_action(const char *name, size_t len)
{
    size_t i;

    for (i = 0; fix_actions[i] != NULL; i++)
        if (strlen(fix_actions[i]) == len && strncmp(fix_actions[i], name, len) == 0)
            return true;
    return false;
}

/*
 * The first line of a file, trimmed; NULL with *err.  The token lets its
 * holder make serve act (the webhook runs fix --apply under [policy]
 * auto_fix), so a file that any local user may read (or replace) is
 * refused, not merely warned about; a group may be trusted, so a file its
 * group can read only gets a warning.  The mode is taken from the open
 * file (fstat), so it is the file actually read.
 */
static char *
read_token(const char *path, PmError *err)
{
    char buf[512];
    struct stat st;
    FILE *f = fopen(path, "r");
    size_t len;

    if (f == NULL)
    {
        pm_error_set(err, "could not open token_file \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0)
    {
        pm_error_set(err, "could not read token_file \"%s\": %s", path, strerror(errno));
        fclose(f);
        return NULL;
    }
    if ((st.st_mode & 0007) != 0)
    {
        pm_error_set(err,
                     "cannot use token_file \"%s\": other users may %s it (mode %04o); "
                     "chmod 600 it",
                     path, (st.st_mode & 0004) != 0 ? "read" : "change",
                     (unsigned int) (st.st_mode & 07777));
        fclose(f);
        return NULL;
    }
    if ((st.st_mode & 0070) != 0)
        slog("warning", NULL, "token_file",
             "token_file \"%s\" is accessible to its group (mode %04o); chmod 600 it unless "
             "every member may make serve act",
             path, (unsigned int) (st.st_mode & 07777));
    if (fgets(buf, sizeof(buf), f) == NULL)
        buf[0] = '\0';
    fclose(f);
    len = strcspn(buf, "\r\n");
    while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\t'))
        len--;
    buf[len] = '\0';
    if (len < 16)
    {
        pm_error_set(err, "token_file \"%s\" holds no token of at least 16 characters", path);
        return NULL;
    }
    return pm_xstrdup(buf);
}

/* Loads and checks the configuration; -1 with *err (and *conf freed). */
static int
load_config(const ServeOptions *opts, Config *conf, char **token, PmError *err)
{
    const char *p;
    int i;

    *token = NULL;
    conf_init(conf);
    if (conf_load(conf, opts->config_path, err) != 0)
        goto fail;
    for (i = 0; i < opts->n_sets; i++)
        if (conf_set(conf, opts->sets[i], err) != 0)
            goto fail;
    if (opts->listen != NULL)
    {
        free(conf->listen);
        conf->listen = pm_xstrdup(opts->listen);
    }
    if (conf->n_targets == 0)
    {
        pm_error_set(err, "%s: no [target NAME] section: serve has nothing to watch",
                     opts->config_path);
        goto fail;
    }
    if (strcmp(conf->serve.auth, "actions") != 0 && strcmp(conf->serve.auth, "all") != 0)
    {
        pm_error_set(err, "invalid value for \"auth\": \"%s\" (actions or all)", conf->serve.auth);
        goto fail;
    }
    if ((conf->serve.tls_cert[0] == '\0') != (conf->serve.tls_key[0] == '\0'))
    {
        pm_error_set(err, "tls_cert and tls_key go together: set both or neither");
        goto fail;
    }
    /* Every auto_fix item must be a fix action. */
    for (p = conf->serve.auto_fix; *p;)
    {
        size_t len;

        p += strspn(p, " ,");
        len = strcspn(p, " ,");
        if (len > 0 && !is_fix_action(p, len))
        {
            pm_error_set(err, "invalid auto_fix action \"%.*s\": see \"pgmedic fix --help\"",
                         (int) len, p);
            goto fail;
        }
        p += len;
    }
    if (conf->maintenance.window[0] != '\0')
    {
        MaintWindow mw;

        if (maintain_window_parse(conf->maintenance.window, &mw, err) != 0)
            goto fail;
    }
    if (conf->serve.token_file[0] != '\0')
    {
        *token = read_token(conf->serve.token_file, err);
        if (*token == NULL)
            goto fail;
    }
    else if (strcmp(conf->serve.auth, "all") == 0)
    {
        pm_error_set(err, "auth = all needs a token_file");
        goto fail;
    }
    return 0;

fail:
    conf_free(conf);
    return -1;
}

static double
for_seconds(const Config *conf, int i)
{
    return (double) conf->serve.for_ms[i] / 1000.0;
}

/* --- results ---------------------------------------------------------------- */

static void
result_release(Server *srv, Result *r)
{
    bool last;

    if (r == NULL)
        return;
    pthread_mutex_lock(&srv->lock);
    last = --r->refs == 0;
    pthread_mutex_unlock(&srv->lock);
    if (last)
    {
        arena_free(r->arena);
        free(r);
    }
}

/* --- targets ------------------------------------------------------------------ */

static void
watch_stop_job(Watch *w)
{
    probe_job_free(w->job);
    w->job = NULL;
    arena_free(w->job_arena);
    w->job_arena = NULL;
}

/* Frees a watch no handler can see any more. */
static void
watch_free(Server *srv, Watch *w)
{
    watch_stop_job(w);
    pgconn_close(w->conn);
    pgconn_close(w->reserved_conn);
    connspec_free(w->spec);
    connspec_free(w->reserved_spec);
    free(w->reserved_conninfo);
    result_release(srv, w->latest);
    free(w->name);
    free(w->conninfo);
    free(w);
}

static Watch *
watch_new(const Target *t, int64_t now, PmError *err)
{
    Watch *w = pm_xcalloc(1, sizeof(Watch));

    w->spec = connspec_new(t->conninfo, NULL, NULL, NULL, NULL, err);
    if (w->spec == NULL)
    {
        char msg[sizeof(err->message)];

        snprintf(msg, sizeof(msg), "%s", err->message);
        pm_error_set(err, "target \"%s\": %s", t->name, msg);
        free(w);
        return NULL;
    }
    if (t->reserved_conninfo[0] != '\0' &&
        (w->reserved_spec = connspec_new(t->reserved_conninfo, NULL, NULL, NULL, NULL, err)) == NULL)
    {
        char msg[sizeof(err->message)];

        snprintf(msg, sizeof(msg), "%s", err->message);
        pm_error_set(err, "target \"%s\": reserved_conninfo: %s", t->name, msg);
        connspec_free(w->spec);
        free(w);
        return NULL;
    }
    w->name = pm_xstrdup(t->name);
    w->conninfo = pm_xstrdup(t->conninfo);
    w->reserved_conninfo = pm_xstrdup(t->reserved_conninfo);
    w->due_ms = now;
    alerttrack_init(&w->tracker);
    return w;
}

static Watch *
find_watch(Server *srv, const char *name)
{
    size_t i;

    for (i = 0; i < srv->n_watches; i++)
        if (strcmp(srv->watches[i]->name, name) == 0)
            return srv->watches[i];
    return NULL;
}

/*
 * Makes the watch list match conf: keeps targets whose conninfo is
 * unchanged (with their connection and alert states), adds new ones,
 * drops the others.  -1 with *err when a new target is invalid (nothing
 * changed then).
 */
static int
sync_watches(Server *srv, const Config *conf, PmError *err)
{
    Watch **next = pm_xcalloc(conf->n_targets, sizeof(Watch *));
    Watch **old;
    size_t i, n_old;
    int64_t now = pm_clock_ms();

    for (i = 0; i < conf->n_targets; i++)
    {
        const Target *t = &conf->targets[i];
        Watch *w = find_watch(srv, t->name);
        /*
         * New targets start spread over one interval: 200 targets due at the
         * same moment would queue on the servers' CPUs every round.
         */
        int64_t start = now + (int64_t) ((double) conf->interval_ms * (double) i /
                                         (double) conf->n_targets);

        if (w != NULL && strcmp(w->conninfo, t->conninfo) == 0 &&
            strcmp(w->reserved_conninfo, t->reserved_conninfo) == 0)
            next[i] = w;
        else if ((next[i] = watch_new(t, start, err)) == NULL)
        {
            size_t j;

            for (j = 0; j < i; j++)
                if (find_watch(srv, next[j]->name) != next[j])
                    watch_free(srv, next[j]);
            free(next);
            return -1;
        }
    }
    pthread_mutex_lock(&srv->lock);
    old = srv->watches;
    n_old = srv->n_watches;
    srv->watches = next;
    srv->n_watches = conf->n_targets;
    pthread_mutex_unlock(&srv->lock);
    for (i = 0; i < n_old; i++)
    {
        size_t j;
        bool kept = false;

        for (j = 0; j < conf->n_targets; j++)
            kept = kept || next[j] == old[i];
        if (!kept)
        {
            slog("info", old[i]->name, "target_removed", "no longer watched");
            watch_free(srv, old[i]);
        }
    }
    for (i = 0; i < conf->n_targets; i++)
    {
        bool was = false;
        size_t j;

        for (j = 0; j < n_old; j++)
            was = was || old[j] == next[i];
        if (!was)
            slog("info", next[i]->name, "target_added", "watching every %lld ms",
                 (long long) conf->interval_ms);
    }
    free(old);
    return 0;
}

/* --- the probe loop ------------------------------------------------------------ */

static ProbeOptions
probe_options(const Config *conf)
{
    ProbeOptions po = probe_options_default();
    int64_t slow = conf->thresholds.slow_query_warning_ms < conf->thresholds.lock_wait_ms
                       ? conf->thresholds.slow_query_warning_ms
                       : conf->thresholds.lock_wait_ms;

    po.slow_threshold_s = (double) slow / 1000.0;
    po.idle_threshold_s = (double) conf->thresholds.idle_connection_ms / 1000.0;
    po.extras = true;
    return po;
}

static ConnOptions
conn_options(const Config *conf)
{
    ConnOptions co;

    memset(&co, 0, sizeof(co));
    co.connect_timeout_ms = conf->connect_timeout_ms;
    co.query_timeout_ms = conf->query_timeout_ms;
    co.read_only = true;
    return co;
}

static void
start_probe(Server *srv, Watch *w, int64_t now)
{
    ConnOptions co = conn_options(&srv->conf);
    ProbeOptions po = probe_options(&srv->conf);

    w->in_reserved = false;
    w->job_arena = arena_new();
    if (w->job_arena != NULL)
        w->job = probe_job_start(&w->conn, w->spec, &co, &po, w->job_arena, &w->job_snap);
    if (w->job == NULL)
    {
        slog("error", w->name, "probe_failed", "out of memory");
        watch_stop_job(w);
        w->due_ms = now + srv->conf.interval_ms;
        return;
    }
    w->job_started_ms = now;
    pthread_mutex_lock(&srv->lock);
    w->started_seq++;
    w->want_now = false;
    pthread_mutex_unlock(&srv->lock);
}

/* Records a phase change: the log, the store. */
static void
record_change(Server *srv, const Watch *w, const AlertChange *c)
{
    AlertChangeRow row;
    PmError err;
    const char *to = c->to == PHASE_INACTIVE && c->from == PHASE_FIRING
                         ? "resolved"
                         : alertstate_phase_name(c->to);

    slog(c->to == PHASE_FIRING ? "warning" : "info", w->name, "alert_state",
         "%s %s -> %s (%s): %s", c->name, alertstate_phase_name(c->from), to,
         rules_severity_name(c->severity), c->summary ? c->summary : "");
    if (srv->store == NULL)
        return;
    row.target = w->name;
    row.alert = c->name;
    row.from_state = alertstate_phase_name(c->from);
    row.to_state = to;
    row.severity = rules_severity_name(c->severity);
    row.at = c->at;
    row.summary = c->summary;
    if (store_alert_change_add(srv->store, &row, &err) != 0)
        slog("warning", w->name, "store_failed", "alert change not recorded: %s", err.message);
}

static void
push_free(Push *p)
{
    free((char *) (uintptr_t) p->alert.alertname);
    free((char *) (uintptr_t) p->alert.target);
    free((char *) (uintptr_t) p->alert.severity);
    free((char *) (uintptr_t) p->alert.summary);
    free((char *) (uintptr_t) p->alert.runbook);
    free(p);
}

static void
queue_push(Server *srv, const Watch *w, const AlertState *s, double starts_at, double ends_at)
{
    Push *p = pm_xcalloc(1, sizeof(Push));
    char runbook[160];

    snprintf(runbook, sizeof(runbook), "docs/alerts.md#%s", s->name);
    for (char *c = runbook; *c; c++)
        if (*c >= 'A' && *c <= 'Z')
            *c = (char) (*c - 'A' + 'a');
    p->alert.alertname = pm_xstrdup(s->name);
    p->alert.target = pm_xstrdup(w->name);
    p->alert.severity = pm_xstrdup(rules_severity_name(s->severity));
    p->alert.summary = pm_xstrdup(s->summary);
    p->alert.runbook = pm_xstrdup(runbook);
    p->alert.starts_at = starts_at;
    p->alert.ends_at = ends_at;
    pthread_mutex_lock(&srv->lock);
    if (srv->n_pushes >= MAX_QUEUED_PUSHES)
    {
        Push *old = srv->push_head;

        srv->push_head = old->next;
        srv->n_pushes--;
        push_free(old);
        if (srv->push_head == NULL)
            srv->push_tail = NULL;
    }
    if (srv->push_tail != NULL)
        srv->push_tail->next = p;
    else
        srv->push_head = p;
    srv->push_tail = p;
    srv->n_pushes++;
    pthread_cond_signal(&srv->push_ready);
    pthread_mutex_unlock(&srv->lock);
}

/*
 * With alertmanager_url: every alert that starts firing or resolves goes to
 * Alertmanager at once; firing ones again every PUSH_REPEAT_S, or
 * Alertmanager would resolve them by itself.
 */
static void
queue_pushes(Server *srv, Watch *w, const AlertChange *changes, size_t n)
{
    double now = pm_wall_time();
    size_t i;

    if (srv->conf.serve.alertmanager_url[0] == '\0')
        return;
    for (i = 0; i < ALERT_RULES; i++)
    {
        const AlertState *s = &w->tracker.alerts[i];
        bool ended = false;
        size_t k;

        for (k = 0; k < n; k++)
            if (strcmp(changes[k].name, s->name) == 0 && changes[k].from == PHASE_FIRING &&
                changes[k].to == PHASE_INACTIVE)
                ended = true;
        if (ended && w->pushed_at[i] > 0)
        {
            queue_push(srv, w, s, w->push_since[i], now);
            w->pushed_at[i] = 0;
        }
        else if (s->phase == PHASE_FIRING && now - w->pushed_at[i] >= PUSH_REPEAT_S)
        {
            w->push_since[i] = s->fired_at;
            queue_push(srv, w, s, s->fired_at, 0);
            w->pushed_at[i] = now;
        }
    }
}

/* The job is done: evaluate, record, publish. */
static void
finish_probe(Server *srv, Watch *w)
{
    Result *r = pm_xcalloc(1, sizeof(Result));
    AlertChange changes[ALERT_RULES];
    double for_s[ALERT_RULES];
    size_t n, i;
    Result *old;

    for (i = 0; i < ALERT_RULES; i++)
        for_s[i] = for_seconds(&srv->conf, (int) i);
    r->refs = 1;
    r->arena = w->job_arena;
    r->snap = w->job_snap;
    /* The probe's own measure (µs); the job's start covers a reserved-slot retry too. */
    r->probe_seconds = w->in_reserved || r->snap.probe_s <= 0
                           ? (double) (pm_clock_ms() - w->job_started_ms) / 1000.0
                           : r->snap.probe_s;
    probe_job_free(w->job);
    w->job = NULL;
    w->job_arena = NULL;
    srv->probed_since_trim = true;
    /* The name the configuration gave, in every output. */
    w->probes_total++;
    if (r->snap.failure != CONN_OK)
        w->probe_errors_total++;
    /* A target down for a day logs one line, not one per interval. */
    if (r->snap.failure != CONN_OK && r->snap.failure != w->last_failure)
        slog("warning", w->name, "probe_failed", "%s: %s", snapshot_failure_name(r->snap.failure),
             r->snap.failure_message ? r->snap.failure_message : "?");
    else if (r->snap.failure == CONN_OK && w->last_failure != CONN_OK)
        slog("info", w->name, "probe_recovered", "the server answers again after %llu failed probes",
             (unsigned long long) w->failed_in_row);
    w->failed_in_row = r->snap.failure == CONN_OK ? 0 : w->failed_in_row + 1;
    w->last_failure = r->snap.failure;
    if (rules_eval(&r->snap, &srv->conf.thresholds, r->arena, &r->alerts) != 0 ||
        diagnose_run(&r->snap, &srv->conf.thresholds, &r->alerts, r->arena, &r->findings) != 0)
    {
        slog("error", w->name, "probe_failed", "out of memory evaluating the snapshot");
        memset(&r->alerts, 0, sizeof(r->alerts));
        memset(&r->findings, 0, sizeof(r->findings));
    }
    n = alerttrack_update(&w->tracker, &r->alerts, for_s, pm_wall_time(), changes);
    for (i = 0; i < n; i++)
        record_change(srv, w, &changes[i]);
    queue_pushes(srv, w, changes, n);
    if (r->snap.failure == CONN_OK && srv->store != NULL)
    {
        Sample sample;
        PmError err;

        /* Under the server's label, as the CLI records them: verify's baseline reads both. */
        store_sample_of(&r->snap, &sample);
        if (store_sample_add(srv->store, &sample, &err) != 0)
            slog("warning", w->name, "store_failed", "sample not recorded: %s", err.message);
    }
    r->tracker = w->tracker;
    r->probes_total = w->probes_total;
    r->probe_errors_total = w->probe_errors_total;

    pthread_mutex_lock(&srv->lock);
    old = w->latest;
    w->latest = r;
    w->finished_seq = w->started_seq;
    pthread_cond_broadcast(&srv->probed);
    pthread_mutex_unlock(&srv->lock);
    result_release(srv, old);
    w->due_ms = w->job_started_ms + srv->conf.interval_ms;
}

static void
step_probe(Server *srv, Watch *w)
{
    int st = probe_job_step(w->job);

    w->want_write = st > 0 && (st & PROBE_WANT_WRITE) != 0;
    if (st == PROBE_NOMEM)
    {
        slog("error", w->name, "probe_failed", "out of memory");
        watch_stop_job(w);
        w->due_ms = pm_clock_ms() + srv->conf.interval_ms;
        pthread_mutex_lock(&srv->lock);
        w->finished_seq = w->started_seq;
        pthread_cond_broadcast(&srv->probed);
        pthread_mutex_unlock(&srv->lock);
    }
    else if (st == PROBE_DONE && !w->in_reserved && w->reserved_spec != NULL &&
             w->job_snap.failure == CONN_TOO_MANY_CLIENTS)
    {
        /*
         * Ordinary logins are refused for lack of slots: look inside through
         * reserved_conninfo, on a connection of its own closed right after,
         * as the CLI does.  The snapshot then describes the full server.
         */
        ConnOptions co = conn_options(&srv->conf);
        ProbeOptions po = probe_options(&srv->conf);

        w->refused = w->job_snap;
        probe_job_free(w->job);
        w->in_reserved = true;
        memset(&w->job_snap, 0, sizeof(w->job_snap));
        w->job = probe_job_start(&w->reserved_conn, w->reserved_spec, &co, &po, w->job_arena,
                                 &w->job_snap);
        if (w->job == NULL)
        {
            w->job_snap = w->refused;
            finish_probe(srv, w);
        }
        else
            step_probe(srv, w); /* its first step says what to wait for */
    }
    else if (st == PROBE_DONE)
    {
        if (w->in_reserved)
        {
            pgconn_close(w->reserved_conn);
            w->reserved_conn = NULL;
            if (!snapshot_take_inside(&w->job_snap, &w->refused))
            {
                slog("warning", w->name, "probe_failed",
                     "could not look inside through reserved_conninfo either: %s",
                     w->job_snap.failure_message ? w->job_snap.failure_message : "?");
                w->job_snap = w->refused;
            }
            w->in_reserved = false;
        }
        finish_probe(srv, w);
    }
}

static void
reload(Server *srv)
{
    Config conf;
    char *token;
    PmError err;

    if (load_config(&srv->opts, &conf, &token, &err) != 0)
    {
        slog("error", NULL, "reload_failed", "%s; keeping the running configuration",
             err.message);
        return;
    }
    if (sync_watches(srv, &conf, &err) != 0)
    {
        slog("error", NULL, "reload_failed", "%s; keeping the running configuration",
             err.message);
        conf_free(&conf);
        free(token);
        return;
    }
    if (strcmp(conf.listen, srv->conf.listen) != 0 || strcmp(conf.serve.auth, srv->conf.serve.auth) != 0 ||
        strcmp(conf.serve.tls_cert, srv->conf.serve.tls_cert) != 0 ||
        strcmp(conf.serve.tls_key, srv->conf.serve.tls_key) != 0 ||
        (token == NULL) != (srv->token == NULL) ||
        (token != NULL && strcmp(token, srv->token) != 0))
        slog("warning", NULL, "reload",
             "listen, auth, TLS and token changes take effect at the next start");
    pthread_mutex_lock(&srv->lock);
    conf_free(&srv->conf);
    srv->conf = conf;
    pthread_mutex_unlock(&srv->lock);
    free(token);
    slog("info", NULL, "reload", "configuration reloaded: %zu targets", srv->n_watches);
}

/*
 * [maintenance] window: when it opens, each target gets one job that runs
 * `pgmedic maintain --apply` for what is left of it (the responder runs
 * jobs one at a time, so targets are maintained one after the other).
 */
static void
queue_maintenance(Server *srv)
{
    MaintWindow mw;
    PmError err;
    struct tm tm;
    time_t t = time(NULL);
    double now = pm_wall_time(), left;
    size_t i;

    if (srv->conf.maintenance.window[0] == '\0' ||
        maintain_window_parse(srv->conf.maintenance.window, &mw, &err) != 0 ||
        localtime_r(&t, &tm) == NULL)
        return;
    left = maintain_window_remaining(&mw, now, (int) tm.tm_gmtoff);
    if (left < 60)
        return;
    pthread_mutex_lock(&srv->lock);
    for (i = 0; i < srv->n_watches; i++)
    {
        Watch *w = srv->watches[i];
        double end = now + left;
        Job *j;

        /* Once per opening of the window (its end identifies it, to the minute). */
        if (w->maint_window_end > end - 90 && w->maint_window_end < end + 90)
            continue;
        w->maint_window_end = end;
        j = pm_xcalloc(1, sizeof(Job));
        j->target = pm_xstrdup(w->name);
        j->alertname = pm_xstrdup("maintenance");
        j->maintain = true;
        j->window_end = end;
        j->summary = pm_xstrdup("");
        if (srv->jobs_tail)
            srv->jobs_tail->next = j;
        else
            srv->jobs_head = j;
        srv->jobs_tail = j;
        srv->n_jobs++;
        slog("info", w->name, "maintenance", "window %s open: maintain --apply queued",
             srv->conf.maintenance.window);
    }
    pthread_cond_signal(&srv->job_ready);
    pthread_mutex_unlock(&srv->lock);
}

/*
 * Before the loop sleeps with no probe in flight: the memory the probes
 * since the last time freed goes back to the system, at most once a second.
 * A probe of a big server holds libpq's results and the snapshot being built
 * for a moment (megabytes with thousands of sessions), and glibc keeps what
 * is freed below its top chunk: without this, serve's RSS would stay at
 * that peak.
 */
static void
trim_idle(Server *srv, int64_t now, int64_t *wake_at)
{
#ifdef __GLIBC__
    if (!srv->probed_since_trim)
        return;
    if (now - srv->trimmed_ms < 1000)
    {
        /* Too soon: wake up for it rather than wait for the next probe. */
        if (srv->trimmed_ms + 1000 < *wake_at)
            *wake_at = srv->trimmed_ms + 1000;
        return;
    }
    malloc_trim(0);
    srv->probed_since_trim = false;
    srv->trimmed_ms = now;
#else
    (void) srv;
    (void) now;
    (void) wake_at;
#endif
}

/* The loop: start probes when due, drive them, sleep in poll() until something happens. */
static void
probe_loop(Server *srv)
{
    struct pollfd *fds = NULL;
    Watch **polled = NULL;
    size_t cap = 0;
    bool stopping = false;

    for (;;)
    {
        int64_t now = pm_clock_ms(), wake_at = now + 60 * 1000;
        size_t i, nfds = 1;
        bool busy = false;
        int rc;

        if (got_reload && !stopping)
        {
            got_reload = 0;
            reload(srv);
        }
        if (got_stop && !stopping)
        {
            stopping = true;
            slog("info", NULL, "stopping", "finishing the probes in flight");
        }
        if (!stopping)
            queue_maintenance(srv);
        if (cap < srv->n_watches + 1)
        {
            cap = srv->n_watches + 1;
            fds = pm_xrealloc(fds, cap * sizeof(*fds));
            polled = pm_xrealloc(polled, cap * sizeof(*polled));
        }
        fds[0] = (struct pollfd){srv->wake[0], POLLIN, 0};
        for (i = 0; i < srv->n_watches; i++)
        {
            Watch *w = srv->watches[i];
            bool want_now;

            pthread_mutex_lock(&srv->lock);
            want_now = w->want_now;
            pthread_mutex_unlock(&srv->lock);
            if (w->job == NULL && !stopping && (now >= w->due_ms || want_now))
            {
                start_probe(srv, w, now);
                if (w->job != NULL)
                    step_probe(srv, w);
            }
            if (w->job != NULL)
            {
                int fd = probe_job_fd(w->job);
                int64_t deadline = probe_job_deadline_ms(w->job);

                busy = true;
                if (fd >= 0)
                {
                    /* A step that waits to write says so; reading is always wanted. */
                    fds[nfds] = (struct pollfd){fd, (short) (POLLIN | (w->want_write ? POLLOUT : 0)), 0};
                    polled[nfds++] = w;
                }
                if (deadline < wake_at)
                    wake_at = deadline;
            }
            else if (!stopping && w->due_ms < wake_at)
                wake_at = w->due_ms;
        }
        if (stopping && !busy)
            break;
        if (!busy)
            trim_idle(srv, now, &wake_at);
        rc = poll(fds, nfds, wake_at > now ? (int) (wake_at - now) : 0);
        if (rc < 0 && errno != EINTR)
        {
            slog("error", NULL, "poll_failed", "%s", strerror(errno));
            break;
        }
        if (fds[0].revents & POLLIN)
        {
            char drain[64];

            while (read(srv->wake[0], drain, sizeof(drain)) > 0)
                ;
        }
        /* Every job whose socket is ready or whose deadline passed takes a step. */
        now = pm_clock_ms();
        for (i = 0; i < srv->n_watches; i++)
        {
            Watch *w = srv->watches[i];
            size_t k;
            bool ready = false;

            if (w->job == NULL)
                continue;
            for (k = 1; k < nfds; k++)
                if (polled[k] == w && fds[k].revents != 0)
                    ready = true;
            if (ready || probe_job_fd(w->job) < 0 || now >= probe_job_deadline_ms(w->job))
                step_probe(srv, w);
        }
    }
    free(fds);
    free(polled);
}

/* --- HTTP handlers ------------------------------------------------------------ */

static void
reply(HttpResponse *resp, int status, const char *type, StrBuf *body)
{
    if (!strbuf_ok(body))
    {
        strbuf_free(body);
        http_error(resp, 500, "out of memory");
        return;
    }
    resp->status = status;
    resp->content_type = type;
    resp->body_len = body->len;
    resp->body = pm_xstrdup(strbuf_str(body));
    strbuf_free(body);
}

/* References to every target's latest result, in configuration order. */
typedef struct
{
    char **names;
    Result **results;
    size_t n;
} Grab;

static void
grab(Server *srv, const char *only, Grab *g)
{
    size_t i;

    memset(g, 0, sizeof(*g));
    pthread_mutex_lock(&srv->lock);
    g->names = pm_xcalloc(srv->n_watches + 1, sizeof(char *));
    g->results = pm_xcalloc(srv->n_watches + 1, sizeof(Result *));
    for (i = 0; i < srv->n_watches; i++)
    {
        Watch *w = srv->watches[i];

        if (only != NULL && strcmp(w->name, only) != 0)
            continue;
        g->names[g->n] = pm_xstrdup(w->name);
        g->results[g->n] = w->latest;
        if (w->latest != NULL)
            w->latest->refs++;
        g->n++;
    }
    pthread_mutex_unlock(&srv->lock);
}

static void
ungrab(Server *srv, Grab *g)
{
    size_t i;

    for (i = 0; i < g->n; i++)
    {
        result_release(srv, g->results[i]);
        free(g->names[i]);
    }
    free(g->names);
    free(g->results);
}

static void
render_metrics_of(Server *srv, Grab *g, HttpResponse *resp)
{
    MetricsTarget *mt = pm_xcalloc(g->n + 1, sizeof(MetricsTarget));
    StrBuf body = STRBUF_INIT;
    Thresholds th;
    int top;
    size_t i;

    pthread_mutex_lock(&srv->lock);
    th = srv->conf.thresholds;
    top = (int) srv->conf.serve.top_applications;
    pthread_mutex_unlock(&srv->lock);
    for (i = 0; i < g->n; i++)
    {
        Result *r = g->results[i];

        mt[i].target = g->names[i];
        if (r != NULL)
        {
            mt[i].snap = &r->snap;
            mt[i].alerts = &r->tracker;
            mt[i].probes_total = r->probes_total;
            mt[i].probe_errors_total = r->probe_errors_total;
            mt[i].last_probe_seconds = r->probe_seconds;
        }
    }
    if (metrics_render(&body, mt, g->n, &th, top) != 0)
    {
        strbuf_free(&body);
        free(mt);
        http_error(resp, 500, "out of memory");
        return;
    }
    free(mt);
    reply(resp, 200, "text/plain; version=0.0.4; charset=utf-8", &body);
}

static void
handle_metrics(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    Server *srv = arg;
    Grab g;

    (void) req;
    grab(srv, NULL, &g);
    render_metrics_of(srv, &g, resp);
    ungrab(srv, &g);
}

/* GET /probe?target=NAME: asks the loop for a probe started now, waits for it. */
static void
handle_probe(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    Server *srv = arg;
    struct timespec until;
    uint64_t want;
    Watch *w;
    Grab g;
    bool done = false, timed_out = false;
    char byte = 'p';
    int64_t wait_ms;

    if (req->target == NULL || req->target[0] == '\0')
    {
        http_error(resp, 400, "missing ?target=NAME");
        return;
    }
    pthread_mutex_lock(&srv->lock);
    w = find_watch(srv, req->target);
    if (w == NULL)
    {
        pthread_mutex_unlock(&srv->lock);
        http_error(resp, 404, "unknown target");
        return;
    }
    /* The probe after any in flight: it starts after this request. */
    want = w->started_seq + 1;
    w->want_now = true;
    wait_ms = srv->conf.serve.probe_wait_ms;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t) (wait_ms / 1000);
    until.tv_nsec += (long) (wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L)
    {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_unlock(&srv->lock);
    if (write(srv->wake[1], &byte, 1) < 0)
    {
        /* The pipe is full: the loop is awake anyway. */
    }
    pthread_mutex_lock(&srv->lock);
    while (!done && !timed_out && !srv->stopping)
    {
        w = find_watch(srv, req->target);
        if (w == NULL || w->finished_seq >= want)
            done = true;
        else if (pthread_cond_timedwait(&srv->probed, &srv->lock, &until) == ETIMEDOUT)
            timed_out = true;
    }
    pthread_mutex_unlock(&srv->lock);
    if (!done)
    {
        http_error(resp, 504, "the probe did not finish within probe_wait");
        return;
    }
    grab(srv, req->target, &g);
    if (g.n == 0)
        http_error(resp, 404, "unknown target");
    else
        render_metrics_of(srv, &g, resp);
    ungrab(srv, &g);
}

static void
handle_healthz(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    StrBuf body = STRBUF_INIT;

    (void) arg;
    (void) req;
    strbuf_append(&body, "ok\n");
    reply(resp, 200, "text/plain; charset=utf-8", &body);
}

static void
write_alert_states(JsonW *w, const AlertTracker *t)
{
    size_t i;

    jsonw_key(w, "alert_states");
    jsonw_array_begin(w);
    for (i = 0; i < ALERT_RULES; i++)
    {
        const AlertState *s = &t->alerts[i];

        jsonw_object_begin(w);
        jsonw_kv_string(w, "name", s->name);
        jsonw_kv_string(w, "state", alertstate_phase_name(s->phase));
        if (s->phase != PHASE_INACTIVE)
        {
            jsonw_kv_string(w, "severity", rules_severity_name(s->severity));
            jsonw_kv_double(w, "active_since", s->active_since);
            jsonw_kv_string(w, "summary", s->summary);
        }
        if (s->fired_at > 0)
            jsonw_kv_double(w, "fired_at", s->fired_at);
        if (s->resolved_at > 0)
            jsonw_kv_double(w, "resolved_at", s->resolved_at);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

/* GET /api/v1/status: { targets: [ { name, probes, probe_errors, alert_states, triage } ] } */
static void
handle_status(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    Server *srv = arg;
    StrBuf body = STRBUF_INIT;
    JsonW w;
    Grab g;
    size_t i;

    (void) req;
    grab(srv, NULL, &g);
    jsonw_init(&w, &body, false);
    jsonw_object_begin(&w);
    jsonw_key(&w, "targets");
    jsonw_array_begin(&w);
    for (i = 0; i < g.n; i++)
    {
        Result *r = g.results[i];

        jsonw_object_begin(&w);
        jsonw_kv_string(&w, "name", g.names[i]);
        if (r == NULL)
        {
            jsonw_kv_string(&w, "status", "pending");
            jsonw_object_end(&w);
            continue;
        }
        jsonw_kv_int(&w, "probes", (int64_t) r->probes_total);
        jsonw_kv_int(&w, "probe_errors", (int64_t) r->probe_errors_total);
        jsonw_kv_double(&w, "probe_seconds", r->probe_seconds);
        write_alert_states(&w, &r->tracker);
        {
            StrBuf triage = STRBUF_INIT;

            render_triage_json(&triage, &r->snap, &r->alerts, &r->findings);
            jsonw_key(&w, "triage");
            jsonw_raw(&w, strbuf_ok(&triage) ? strbuf_str(&triage) : "null");
            strbuf_free(&triage);
        }
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    strbuf_append_char(&body, '\n');
    ungrab(srv, &g);
    reply(resp, 200, "application/json", &body);
}

static int
write_incident(const Incident *inc, void *arg)
{
    render_incident_object(arg, inc, pm_wall_time());
    return 0;
}

/* GET /api/v1/incidents: the 100 newest, from a store connection of this request's own. */
static void
handle_incidents(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    Server *srv = arg;
    StrBuf body = STRBUF_INIT;
    char path[1024];
    Store *store;
    PmError err;
    JsonW w;

    (void) req;
    pthread_mutex_lock(&srv->lock);
    snprintf(path, sizeof(path), "%s", srv->conf.store);
    pthread_mutex_unlock(&srv->lock);
    store = store_open(path, &err);
    if (store == NULL)
    {
        http_error(resp, 503, err.message);
        return;
    }
    jsonw_init(&w, &body, false);
    jsonw_object_begin(&w);
    jsonw_key(&w, "incidents");
    jsonw_array_begin(&w);
    if (store_incident_list(store, 100, false, write_incident, &w, &err) != 0)
    {
        store_close(store);
        strbuf_free(&body);
        http_error(resp, 500, err.message);
        return;
    }
    store_close(store);
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    strbuf_append_char(&body, '\n');
    reply(resp, 200, "application/json", &body);
}

/*
 * GET /: the status page, from the latest results, and the open incidents
 * and each target's samples of the last hours read from a store connection
 * of this request's own.  When the store cannot be read the page is still
 * served, and says so.
 */
static void
handle_page(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    Server *srv = arg;
    StrBuf body = STRBUF_INIT;
    StatusIncidents incidents;
    StatusSamples *samples;
    StatusTarget *targets;
    StatusPage page;
    char path[1024];
    Store *store;
    PmError err;
    Grab g;
    size_t i;

    (void) req;
    memset(&incidents, 0, sizeof(incidents));
    memset(&page, 0, sizeof(page));
    pthread_mutex_lock(&srv->lock);
    snprintf(path, sizeof(path), "%s", srv->conf.store);
    pthread_mutex_unlock(&srv->lock);
    grab(srv, NULL, &g);
    targets = pm_xcalloc(g.n + 1, sizeof(StatusTarget));
    samples = pm_xcalloc(g.n + 1, sizeof(StatusSamples));
    page.now = pm_wall_time();
    page.window_s = STATUSPAGE_WINDOW_S;
    page.refresh_s = 15;
    store = store_open(path, &err);
    if (store == NULL ||
        store_incident_list(store, 100, true, statuspage_collect_incident, &incidents, &err) != 0)
        page.store_error = err.message;
    for (i = 0; i < g.n; i++)
    {
        Result *r = g.results[i];

        targets[i].name = g.names[i];
        if (r == NULL)
            continue;
        targets[i].snap = &r->snap;
        targets[i].alerts = &r->tracker;
        targets[i].findings = &r->findings;
        targets[i].probes_total = r->probes_total;
        targets[i].probe_errors_total = r->probe_errors_total;
        /* Samples are recorded under the server's label, not the configuration's name. */
        if (page.store_error == NULL && r->snap.target != NULL &&
            store_sample_list(store, r->snap.target, page.now - page.window_s, page.now,
                              statuspage_collect_sample, &samples[i], &err) != 0)
            page.store_error = err.message;
        targets[i].samples = samples[i].samples;
        targets[i].n_samples = samples[i].n;
    }
    store_close(store);
    page.targets = targets;
    page.n_targets = g.n;
    page.incidents = incidents.incidents;
    page.n_incidents = incidents.n;
    statuspage_render(&body, &page);
    for (i = 0; i < g.n; i++)
        statuspage_samples_free(&samples[i]);
    free(samples);
    free(targets);
    statuspage_incidents_free(&incidents);
    ungrab(srv, &g);
    reply(resp, 200, "text/html; charset=utf-8", &body);
}

/* --- the webhook and the responder --------------------------------------------- */

static void
job_free(Job *j)
{
    if (j == NULL)
        return;
    free(j->target);
    free(j->alertname);
    free(j->summary);
    free(j);
}

/* True when a job for the same target and alert is queued or running (under lock). */
static bool
job_pending(Server *srv, const char *target, const char *alertname, bool firing)
{
    const Job *j;
    size_t tlen = strlen(target);

    for (j = srv->jobs_head; j != NULL; j = j->next)
        if (j->firing == firing && strcmp(j->target, target) == 0 &&
            strcmp(j->alertname, alertname) == 0)
            return true;
    return firing && srv->running_job != NULL && strncmp(srv->running_job, target, tlen) == 0 &&
           srv->running_job[tlen] == '\n' && strcmp(srv->running_job + tlen + 1, alertname) == 0;
}

static void
handle_alertmanager(void *arg, const HttpRequest *req, HttpResponse *resp)
{
    Server *srv = arg;
    StrBuf body = STRBUF_INIT;
    Arena *arena = arena_new();
    AmPayload payload;
    PmError err;
    JsonW w;
    size_t i;

    pm_error_clear(&err);
    if (arena == NULL)
    {
        http_error(resp, 500, "out of memory");
        return;
    }
    pthread_mutex_lock(&srv->lock);
    {
        char label[128];

        snprintf(label, sizeof(label), "%s", srv->conf.serve.target_label);
        pthread_mutex_unlock(&srv->lock);
        if (amwebhook_parse(req->body, req->body_len, label, arena, &payload, &err) != 0)
        {
            arena_free(arena);
            http_error(resp, 400, err.message);
            return;
        }
    }
    jsonw_init(&w, &body, false);
    jsonw_object_begin(&w);
    jsonw_key(&w, "alerts");
    jsonw_array_begin(&w);
    pthread_mutex_lock(&srv->lock);
    for (i = 0; i < payload.n_alerts; i++)
    {
        const AmAlert *a = &payload.alerts[i];
        bool firing = a->status != NULL && strcmp(a->status, "firing") == 0;
        const char *outcome;

        if (a->target == NULL || a->alertname == NULL)
            outcome = "ignored: no alertname or target label";
        else if (find_watch(srv, a->target) == NULL)
            outcome = "ignored: not a configured target";
        else if (job_pending(srv, a->target, a->alertname, firing))
            outcome = "already queued";
        else if (srv->n_jobs >= MAX_QUEUED_JOBS)
            outcome = "refused: the queue is full";
        else
        {
            Job *j = pm_xcalloc(1, sizeof(Job));

            j->target = pm_xstrdup(a->target);
            j->alertname = pm_xstrdup(a->alertname);
            j->firing = firing;
            j->summary = pm_xstrdup(a->summary ? a->summary : "");
            if (srv->jobs_tail)
                srv->jobs_tail->next = j;
            else
                srv->jobs_head = j;
            srv->jobs_tail = j;
            srv->n_jobs++;
            outcome = "queued";
        }
        jsonw_object_begin(&w);
        jsonw_kv_string(&w, "alertname", a->alertname);
        jsonw_kv_string(&w, "target", a->target);
        jsonw_kv_string(&w, "status", a->status);
        jsonw_kv_string(&w, "outcome", outcome);
        jsonw_object_end(&w);
        slog("info", a->target, "webhook", "%s %s from Alertmanager: %s",
             a->alertname ? a->alertname : "?", a->status ? a->status : "?", outcome);
    }
    pthread_cond_signal(&srv->job_ready);
    pthread_mutex_unlock(&srv->lock);
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    strbuf_append_char(&body, '\n');
    arena_free(arena);
    reply(resp, 202, "application/json", &body);
}

/* Runs this binary with args; output into out (may be NULL). */
static int
run_self(Server *srv, const char *const *args, int64_t timeout_ms, StrBuf *out, SpawnResult *res)
{
    const char *argv[64];
    SpawnOptions so;
    size_t n = 0, i;

    argv[n++] = srv->opts.exe;
    for (i = 0; args[i] != NULL && n < 40; i++)
        argv[n++] = args[i];
    argv[n++] = "-c";
    argv[n++] = srv->opts.config_path;
    for (i = 0; i < (size_t) srv->opts.n_sets && n < 62; i++)
    {
        argv[n++] = "--set";
        argv[n++] = srv->opts.sets[i];
    }
    argv[n] = NULL;
    memset(&so, 0, sizeof(so));
    so.timeout_ms = timeout_ms;
    so.merge_stderr = out == NULL;
    so.max_output = TRIAGE_MAX_OUTPUT;
    return spawn_run(argv, NULL, &so, out, res);
}

static void
note(Store *store, int64_t incident, const char *kind, const char *summary)
{
    PmError err;

    if (store_timeline_add(store, incident, pm_wall_time(), kind, summary, NULL, NULL, &err) != 0)
        slog("warning", NULL, "store_failed", "timeline entry not added: %s", err.message);
}

/* Finds (or opens) the target's open incident; 0 when none could be had. */
static int64_t
incident_for(Store *store, const char *snap_target, const Job *j)
{
    Arena *arena = arena_new();
    Incident inc;
    bool found = false;
    PmError err;
    int64_t id = 0;

    if (arena == NULL)
        return 0;
    if (store_incident_find_open(store, snap_target, arena, &inc, &found, &err) != 0)
        slog("warning", j->target, "store_failed", "%s", err.message);
    else if (found)
        id = inc.id;
    else if (j->firing)
    {
        char title[320];

        /* Alertmanager saw it fire though this triage did not: open it anyway. */
        snprintf(title, sizeof(title), "%s (from Alertmanager): %s", j->alertname, j->summary);
        memset(&inc, 0, sizeof(inc));
        inc.target = snap_target;
        inc.alert = j->alertname;
        inc.title = title;
        inc.severity = "warning";
        inc.opened_at = pm_wall_time();
        if (store_incident_open(store, &inc, NULL, &id, &err) != 0)
        {
            slog("warning", j->target, "store_failed", "%s", err.message);
            id = 0;
        }
    }
    arena_free(arena);
    return id;
}

/* One firing alert: triage (opening or joining the incident), auto-fix what policy allows, verify. */
static void
respond(Server *srv, const Job *j, const char *auto_fix, int64_t verify_window_ms, Store *store)
{
    const char *triage_args[] = {"triage", "--target", j->target, "--open-incident",
                                 "--format", "json", NULL};
    StrBuf out = STRBUF_INIT;
    SpawnResult res;
    json_t *root = NULL, *findings;
    json_error_t jerr;
    const char *snap_target;
    char idbuf[32], line[512];
    int64_t incident;
    size_t i, n_fixed = 0;

    if (run_self(srv, triage_args, TRIAGE_TIMEOUT_MS, &out, &res) != 0 || res.timed_out ||
        !strbuf_ok(&out) ||
        (root = json_loadb(strbuf_str(&out), out.len, 0, &jerr)) == NULL)
    {
        slog("error", j->target, "triage_failed", "%s",
             res.error[0] ? res.error : res.timed_out ? "timed out" : "no JSON from triage");
        strbuf_free(&out);
        return;
    }
    strbuf_free(&out);
    snap_target = json_string_value(json_object_get(root, "target"));
    incident = snap_target ? incident_for(store, snap_target, j) : 0;
    if (incident == 0)
    {
        slog("warning", j->target, "webhook", "no incident could be opened; nothing applied");
        json_decref(root);
        return;
    }
    snprintf(idbuf, sizeof(idbuf), "%lld", (long long) incident);
    snprintf(line, sizeof(line), "Alertmanager: %s firing for target %s%s%s", j->alertname,
             j->target, j->summary[0] ? ": " : "", j->summary);
    note(store, incident, "alertmanager", line);
    slog("info", j->target, "incident", "incident %s: triage done (exit %d)", idbuf, res.status);

    findings = json_object_get(root, "findings");
    for (i = 0; i < json_array_size(findings); i++)
    {
        json_t *f = json_array_get(findings, i);
        json_t *actions = json_object_get(f, "actions");
        const char *kind = json_string_value(json_object_get(f, "kind"));
        size_t k;

        for (k = 0; k < json_array_size(actions); k++)
        {
            const char *action = json_string_value(json_array_get(actions, k));
            const char **words, *args[48];
            size_t n_words, n = 0, m;
            Arena *arena;

            if (action == NULL || strncmp(action, "pgmedic fix ", 12) != 0)
                continue;
            arena = arena_new();
            if (arena == NULL || finding_split_action(action, arena, &words, &n_words) != 0 ||
                n_words < 3 || n_words > 36)
            {
                slog("warning", j->target, "auto_fix", "action not understood: %s", action);
                arena_free(arena);
                continue;
            }
            if (!plan_list_contains(auto_fix, words[2]))
            {
                snprintf(line, sizeof(line), "auto-fix: %s not allowed by [policy] auto_fix (%s)",
                         words[2], kind ? kind : "?");
                note(store, incident, "auto-fix", line);
                arena_free(arena);
                continue;
            }
            for (m = 1; m < n_words; m++)
                args[n++] = words[m];
            args[n++] = "--apply";
            args[n++] = "--target";
            args[n++] = j->target;
            args[n++] = "--incident";
            args[n++] = idbuf;
            args[n] = NULL;
            slog("warning", j->target, "auto_fix", "incident %s: running %s --apply", idbuf,
                 action);
            if (run_self(srv, args, FIX_TIMEOUT_MS, NULL, &res) != 0)
                snprintf(line, sizeof(line), "auto-fix: %s could not run: %s", action, res.error);
            else
                snprintf(line, sizeof(line), "auto-fix: %s --apply %s", action,
                         res.timed_out ? "timed out" : res.status == 0 ? "done" : "failed");
            note(store, incident, "auto-fix", line);
            slog(res.status == 0 ? "info" : "warning", j->target, "auto_fix", "%s", line);
            n_fixed++;
            arena_free(arena);
        }
    }
    json_decref(root);
    if (n_fixed > 0)
    {
        char wait[48];
        const char *verify_args[] = {"verify", wait, "--target", j->target, "--incident", idbuf,
                                     NULL};

        /* As long as the escalation rules give a fix to work (verify_window). */
        snprintf(wait, sizeof(wait), "--wait=%llds", (long long) (verify_window_ms / 1000));
        if (run_self(srv, verify_args, verify_window_ms + 60 * 1000, NULL, &res) != 0)
            snprintf(line, sizeof(line), "verify could not run: %s", res.error);
        else
            snprintf(line, sizeof(line), "verify after auto-fix: %s",
                     res.status == 0 ? "recovered" : res.timed_out ? "timed out" : "not recovered");
        slog(res.status == 0 ? "info" : "warning", j->target, "verify", "incident %s: %s", idbuf,
             line);
    }
}

/* maintain --apply for what is left of the window, on one target. */
static void
run_maintenance(Server *srv, const Job *j)
{
    char window[64];
    const char *args[] = {"maintain", "--apply", "--yes", "--target", j->target, "--window",
                          window, NULL};
    SpawnResult res;
    double left = j->window_end - pm_wall_time();

    /* A duration from now: the job may start late, behind other targets'. */
    if (left < 30)
    {
        slog("warning", j->target, "maintenance", "the window closed before its turn came");
        return;
    }
    snprintf(window, sizeof(window), "%llds", (long long) left);
    if (run_self(srv, args, (int64_t) (left * 1000) + 60 * 1000, NULL, &res) != 0)
        slog("error", j->target, "maintenance", "maintain could not run: %s", res.error);
    else
        slog(res.status == 0 ? "info" : "warning", j->target, "maintenance",
             "maintain --apply %s (exit %d; pgmedic audit lists each item)",
             res.timed_out ? "timed out" : res.status == 0 ? "done" : "left work or failed",
             res.status);
}

/* A resolved alert: a line on the target's open incident, if it has one. */
static void
resolved(Server *srv, const Job *j, Store *store)
{
    char label[256] = "", line[512];
    Arena *arena;
    Incident inc;
    bool found = false;
    PmError err;
    Watch *w;

    pthread_mutex_lock(&srv->lock);
    w = find_watch(srv, j->target);
    if (w != NULL && w->latest != NULL && w->latest->snap.target != NULL)
        snprintf(label, sizeof(label), "%s", w->latest->snap.target);
    pthread_mutex_unlock(&srv->lock);
    slog("info", j->target, "webhook", "%s resolved in Alertmanager", j->alertname);
    if (label[0] == '\0' || (arena = arena_new()) == NULL)
        return;
    if (store_incident_find_open(store, label, arena, &inc, &found, &err) != 0)
        slog("warning", j->target, "store_failed", "%s", err.message);
    else if (found)
    {
        snprintf(line, sizeof(line), "Alertmanager: %s resolved for target %s", j->alertname,
                 j->target);
        note(store, inc.id, "alertmanager", line);
    }
    arena_free(arena);
}

static void *
responder_main(void *arg)
{
    Server *srv = arg;
    Store *store = NULL;

    for (;;)
    {
        Job *j;
        char *auto_fix, path[1024], running[512];
        int64_t verify_window_ms;
        PmError err;

        pthread_mutex_lock(&srv->lock);
        while (srv->jobs_head == NULL && !srv->stopping)
            pthread_cond_wait(&srv->job_ready, &srv->lock);
        if (srv->stopping)
        {
            pthread_mutex_unlock(&srv->lock);
            break;
        }
        j = srv->jobs_head;
        srv->jobs_head = j->next;
        if (srv->jobs_head == NULL)
            srv->jobs_tail = NULL;
        srv->n_jobs--;
        snprintf(running, sizeof(running), "%s\n%s", j->target, j->alertname);
        srv->running_job = running;
        auto_fix = pm_xstrdup(srv->conf.serve.auto_fix);
        verify_window_ms = srv->conf.escalation.verify_window_ms;
        snprintf(path, sizeof(path), "%s", srv->conf.store);
        pthread_mutex_unlock(&srv->lock);

        if (store == NULL && (store = store_open(path, &err)) == NULL)
            slog("error", j->target, "store_failed", "webhook alert not handled: %s",
                 err.message);
        else if (j->maintain)
            run_maintenance(srv, j);
        else if (j->firing)
            respond(srv, j, auto_fix, verify_window_ms, store);
        else
            resolved(srv, j, store);
        free(auto_fix);
        job_free(j);
        pthread_mutex_lock(&srv->lock);
        srv->running_job = NULL;
        pthread_mutex_unlock(&srv->lock);
    }
    store_close(store);
    return NULL;
}

static void *
notifier_main(void *arg)
{
    Server *srv = arg;

    for (;;)
    {
        AmOutAlert batch[64];
        Push *taken[64];
        char url[1024];
        size_t n = 0, i;
        PmError err;

        pthread_mutex_lock(&srv->lock);
        while (srv->push_head == NULL && !srv->stopping)
            pthread_cond_wait(&srv->push_ready, &srv->lock);
        if (srv->push_head == NULL)
        {
            pthread_mutex_unlock(&srv->lock);
            break;
        }
        while (srv->push_head != NULL && n < 64)
        {
            taken[n] = srv->push_head;
            batch[n] = taken[n]->alert;
            srv->push_head = taken[n]->next;
            srv->n_pushes--;
            n++;
        }
        if (srv->push_head == NULL)
            srv->push_tail = NULL;
        snprintf(url, sizeof(url), "%s", srv->conf.serve.alertmanager_url);
        pthread_mutex_unlock(&srv->lock);
        if (url[0] != '\0' && amclient_post(url, batch, n, 10 * 1000, &err) != 0)
            slog("warning", NULL, "push_failed", "%zu alerts not sent to Alertmanager: %s", n,
                 err.message);
        else if (url[0] != '\0')
            slog("info", NULL, "push", "%zu alerts sent to Alertmanager", n);
        for (i = 0; i < n; i++)
            push_free(taken[i]);
    }
    return NULL;
}

/* --- signals and start-up ----------------------------------------------------- */

static void
on_signal(int sig)
{
    int saved = errno;
    char byte = 's';

    if (sig == SIGHUP)
        got_reload = 1;
    else
        got_stop = 1;
    if (signal_pipe >= 0 && write(signal_pipe, &byte, 1) < 0)
    {
        /* full: the loop wakes anyway */
    }
    errno = saved;
}

static int
start_http(Server *srv, PmError *err)
{
    static const HttpRoute routes[] = {
        {"GET", "/metrics", false, handle_metrics},
        {"GET", "/probe", false, handle_probe},
        {"GET", "/healthz", false, handle_healthz},
        {"GET", "/api/v1/status", false, handle_status},
        {"GET", "/api/v1/incidents", false, handle_incidents},
        {"GET", "/", false, handle_page},
        {"POST", "/api/v1/alertmanager", true, handle_alertmanager},
    };
    HttpOptions ho;

    memset(&ho, 0, sizeof(ho));
    ho.listen = srv->conf.listen;
    ho.token = srv->token;
    ho.auth_all = strcmp(srv->conf.serve.auth, "all") == 0;
    ho.tls_cert_file = srv->conf.serve.tls_cert[0] ? srv->conf.serve.tls_cert : NULL;
    ho.tls_key_file = srv->conf.serve.tls_key[0] ? srv->conf.serve.tls_key : NULL;
    ho.max_body = (size_t) srv->conf.serve.max_body;
    srv->http = http_start(&ho, routes, PM_LENGTHOF(routes), srv, err);
    return srv->http == NULL ? -1 : 0;
}

int
serve_run(const ServeOptions *opts)
{
    Server srv;
    PmError err;
    sigset_t block, old;
    struct sigaction sa;
    size_t i;
    int rc = 3;

#ifdef __GLIBC__
    /*
     * glibc gives every thread that allocates an arena of its own (64 MiB
     * reserved, tens of KiB touched for good).  serve's threads allocate
     * little and seldom at the same time: one arena serves them all.
     */
    mallopt(M_ARENA_MAX, 1);
#endif
    memset(&srv, 0, sizeof(srv));
    srv.opts = *opts;
    srv.wake[0] = srv.wake[1] = -1;
    if (load_config(opts, &srv.conf, &srv.token, &err) != 0)
    {
        pm_log_pm_error(&err);
        return 3;
    }
    pthread_mutex_init(&srv.lock, NULL);
    pthread_cond_init(&srv.probed, NULL);
    pthread_cond_init(&srv.job_ready, NULL);
    pthread_cond_init(&srv.push_ready, NULL);
    if (pipe(srv.wake) != 0)
    {
        pm_log_error("could not create a pipe: %s", strerror(errno));
        goto out;
    }
    fcntl(srv.wake[0], F_SETFL, O_NONBLOCK);
    fcntl(srv.wake[1], F_SETFL, O_NONBLOCK);
    fcntl(srv.wake[0], F_SETFD, FD_CLOEXEC);
    fcntl(srv.wake[1], F_SETFD, FD_CLOEXEC);
    if (sync_watches(&srv, &srv.conf, &err) != 0)
    {
        pm_log_pm_error(&err);
        goto out;
    }
    srv.store = store_open(srv.conf.store, &err);
    if (srv.store == NULL || store_relax_durability(srv.store, &err) != 0 ||
        store_limit_cache(srv.store, SERVE_STORE_CACHE_KIB, &err) != 0)
    {
        slog("warning", NULL, "store_failed", "samples and alert changes not recorded: %s",
             err.message);
        store_close(srv.store);
        srv.store = NULL;
    }

    /* Only this thread takes the signals: the others start with them blocked. */
    sigemptyset(&block);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    if (start_http(&srv, &err) != 0)
    {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pm_log_pm_error(&err);
        goto out;
    }
    if (pthread_create(&srv.responder, NULL, responder_main, &srv) == 0)
        srv.responder_started = true;
    else
        slog("error", NULL, "start", "the webhook responder could not start");
    if (pthread_create(&srv.notifier, NULL, notifier_main, &srv) == 0)
        srv.notifier_started = true;
    else
        slog("error", NULL, "start", "the Alertmanager notifier could not start");
    signal_pipe = srv.wake[1];
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    slog("info", NULL, "start", "listening on %s%s, %zu targets, interval %lld ms",
         srv.conf.serve.tls_cert[0] ? "https://" : "http://", srv.conf.listen, srv.n_watches,
         (long long) srv.conf.interval_ms);
    probe_loop(&srv);

    pthread_mutex_lock(&srv.lock);
    srv.stopping = true;
    pthread_cond_broadcast(&srv.job_ready);
    pthread_cond_broadcast(&srv.push_ready);
    pthread_cond_broadcast(&srv.probed);
    pthread_mutex_unlock(&srv.lock);
    http_stop(srv.http);
    srv.http = NULL;
    if (srv.responder_started)
        pthread_join(srv.responder, NULL);
    if (srv.notifier_started)
        pthread_join(srv.notifier, NULL); /* after sending what was queued */
    slog("info", NULL, "stopped", "bye");
    rc = 0;

out:
    signal_pipe = -1;
    for (i = 0; i < srv.n_watches; i++)
        watch_free(&srv, srv.watches[i]);
    free(srv.watches);
    while (srv.jobs_head != NULL)
    {
        Job *next = srv.jobs_head->next;

        job_free(srv.jobs_head);
        srv.jobs_head = next;
    }
    while (srv.push_head != NULL)
    {
        Push *next = srv.push_head->next;

        push_free(srv.push_head);
        srv.push_head = next;
    }
    store_close(srv.store);
    if (srv.wake[0] >= 0)
        close(srv.wake[0]);
    if (srv.wake[1] >= 0)
        close(srv.wake[1]);
    conf_free(&srv.conf);
    free(srv.token);
    pthread_cond_destroy(&srv.job_ready);
    pthread_cond_destroy(&srv.push_ready);
    pthread_cond_destroy(&srv.probed);
    pthread_mutex_destroy(&srv.lock);
    return rc;
}
