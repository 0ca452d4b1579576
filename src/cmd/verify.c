/*
 * verify.c - pgmedic verify: the runbook's §8 "Verify Recovery" checklist,
 * measured.  Exit 0 only when every check passes.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "core/rules.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/parse.h"

enum
{
    VERIFY_OPT_WAIT = 300,
    VERIFY_OPT_INTERVAL,
    VERIFY_OPT_LATENCY
};

static const struct option verify_options[] = {
    {"wait", required_argument, NULL, VERIFY_OPT_WAIT},
    {"interval", required_argument, NULL, VERIFY_OPT_INTERVAL},
    {"latency", required_argument, NULL, VERIFY_OPT_LATENCY},
    {NULL, 0, NULL, 0},
};

typedef struct
{
    int64_t wait_ms, interval_ms, latency_ms;
} VerifyOptions;

static int
verify_on_option(int c, const char *arg, void *state)
{
    VerifyOptions *o = state;
    PmError err;
    int64_t *field = c == VERIFY_OPT_WAIT       ? &o->wait_ms
                     : c == VERIFY_OPT_INTERVAL ? &o->interval_ms
                                                : &o->latency_ms;
    const char *name = c == VERIFY_OPT_WAIT       ? "--wait"
                       : c == VERIFY_OPT_INTERVAL ? "--interval"
                                                  : "--latency";

    if (parse_duration_ms(arg, name, 24LL * 3600 * 1000, field, &err) != 0)
    {
        pm_log_pm_error(&err);
        return -1;
    }
    return 0;
}

static const CmdHelp help = {
    .name = "verify",
    .summary = "tick the runbook's recovery checklist (§8); exit 0 only when all pass",
    .usage = "pgmedic verify [OPTION]...",
    .options = "      --wait=DURATION      re-probe until every check passes or this time is up\n"
               "      --interval=DURATION  between probes with --wait (default 2s)\n"
               "      --latency=DURATION   bound on a trivial query's round trip (default 1s)\n",
    .examples = "  pgmedic verify -d pivotal_flow\n"
                "  pgmedic fix terminate-idle --apply && pgmedic verify --wait 2min\n"
                "\nChecks: connections back under connections_warning (and near the recent\n"
                "baseline, the median of the last 24 h of samples, when the store has at\n"
                "least 5); no query running past slow_query_warning; no session blocked on a\n"
                "lock; no alert firing; the server answers a trivial query within --latency.\n",
    .accepts = OPT_CONNECT | OPT_FORMAT | OPT_INCIDENT,
    .extra_options = verify_options,
    .extra_short = "",
    .on_option = verify_on_option,
    .max_args = 0,
};

typedef struct
{
    const char *name;
    bool passed;
    char detail[256];
} Check;

enum
{
    N_CHECKS = 5
};

/* Evaluates the checklist on one snapshot; true when all pass. */
static bool
evaluate(const CmdContext *ctx, const Snapshot *snap, const AlertList *alerts, double baseline,
         int64_t n_baseline, int64_t latency_ms, Check *checks)
{
    const Thresholds *th = &ctx->conf.thresholds;
    int64_t usable = snapshot_usable_slots(snap);
    double limit = th->connections_warning * (double) usable;
    double rtt_ms = (snap->probe_s - snap->connect_s) * 1000.0;
    char age[32];
    bool all = true;
    int i;

    checks[0].name = "connections";
    checks[1].name = "slow queries";
    checks[2].name = "blocked sessions";
    checks[3].name = "alerts";
    checks[4].name = "latency";
    if (snap->failure != CONN_OK)
    {
        for (i = 0; i < N_CHECKS; i++)
        {
            checks[i].passed = false;
            snprintf(checks[i].detail, sizeof(checks[i].detail), "server unreachable: %s",
                     snapshot_failure_name(snap->failure));
        }
        return false;
    }
    checks[0].passed = (double) snap->n_clients < limit;
    snprintf(checks[0].detail, sizeof(checks[0].detail), "%lld of %lld usable (warning at %.0f%%)",
             (long long) snap->n_clients, (long long) usable, th->connections_warning * 100);
    if (n_baseline >= 5)
    {
        /* Near normal: not more than 1.5x the usual, with room for a few. */
        double near = baseline * 1.5 + 5;
        size_t len = strlen(checks[0].detail);

        if ((double) snap->n_clients > near)
            checks[0].passed = false;
        snprintf(checks[0].detail + len, sizeof(checks[0].detail) - len,
                 "; baseline %.0f (median of %lld samples), allowed up to %.0f", baseline,
                 (long long) n_baseline, near);
    }
    format_age(snap->longest_query_s, age, sizeof(age));
    checks[1].passed = snap->longest_query_s * 1000.0 < (double) th->slow_query_warning_ms;
    snprintf(checks[1].detail, sizeof(checks[1].detail), "longest active query %s (warning at %.1fs)",
             snap->longest_query_s > 0 ? age : "none", (double) th->slow_query_warning_ms / 1000.0);
    checks[2].passed = snap->n_waiting_lock == 0;
    snprintf(checks[2].detail, sizeof(checks[2].detail), "%lld waiting on a lock",
             (long long) snap->n_waiting_lock);
    checks[3].passed = alerts->n_alerts == 0;
    if (alerts->n_alerts == 0)
        snprintf(checks[3].detail, sizeof(checks[3].detail), "none firing");
    else
        snprintf(checks[3].detail, sizeof(checks[3].detail), "%s%s firing", alerts->alerts[0].name,
                 alerts->n_alerts > 1 ? " and others" : "");
    checks[4].passed = rtt_ms < (double) latency_ms;
    snprintf(checks[4].detail, sizeof(checks[4].detail), "%.1f ms round trip (bound %lld ms)",
             rtt_ms, (long long) latency_ms);
    for (i = 0; i < N_CHECKS; i++)
        all = all && checks[i].passed;
    return all;
}

/*
 * The usual number of clients: the median of the samples of the day before
 * the last hour (so that the incident itself is not "normal").
 */
static void
load_baseline(const CmdContext *ctx, const char *target, double *baseline, int64_t *n)
{
    PmError err;
    Store *store = store_open(ctx->conf.store, &err);
    double now = pm_wall_time();

    *n = 0;
    if (store == NULL || store_sample_baseline(store, target, now - 25 * 3600, now - 3600,
                                               baseline, n, &err) != 0)
    {
        pm_log_info("no baseline: %s", err.message);
        *n = 0;
    }
    store_close(store);
}

int
cmd_verify(int argc, char **argv)
{
    VerifyOptions vo = {0, 2000, 1000};
    CmdContext ctx;
    Arena *arena = NULL;
    StrBuf out = STRBUF_INIT;
    Check checks[N_CHECKS];
    Snapshot snap;
    AlertList alerts;
    double baseline = 0;
    int64_t n_baseline = 0, deadline;
    int exit_code, attempts = 0, i;
    bool passed = false;

    if (cmd_setup_with(argc, argv, &help, &vo, &ctx, &exit_code) != 0)
        goto done;
    exit_code = EXIT_UNKNOWN;
    ctx.probe_opts.ping_only = true; /* counts, oldest query: all the checklist needs */
    deadline = pm_clock_ms() + vo.wait_ms;
    for (;;)
    {
        struct timespec ts;

        arena_free(arena);
        arena = arena_new();
        if (arena == NULL)
        {
            pm_log_error("out of memory");
            goto done;
        }
        attempts++;
        if (cmd_take_snapshot(&ctx, arena, &snap) != 0)
            goto done;
        if (attempts == 1 && snap.failure == CONN_OK)
            load_baseline(&ctx, snap.target, &baseline, &n_baseline);
        if (cmd_eval_alerts(&ctx, &snap, arena, &alerts) != 0)
            goto done;
        passed = evaluate(&ctx, &snap, &alerts, baseline, n_baseline, vo.latency_ms, checks);
        if (passed || pm_clock_ms() + vo.interval_ms > deadline)
            break;
        pm_log_info("not recovered yet (attempt %d); probing again in %.1fs", attempts,
                    (double) vo.interval_ms / 1000.0);
        ts.tv_sec = (time_t) (vo.interval_ms / 1000);
        ts.tv_nsec = (long) (vo.interval_ms % 1000) * 1000000L;
        nanosleep(&ts, NULL);
    }
    cmd_record_sample(&ctx, &snap);
    if (ctx.opts.format == FORMAT_JSON)
    {
        JsonW w;

        jsonw_init(&w, &out, true);
        jsonw_object_begin(&w);
        jsonw_kv_string(&w, "target", snap.target);
        jsonw_kv_bool(&w, "recovered", passed);
        jsonw_kv_int(&w, "attempts", attempts);
        jsonw_key(&w, "checks");
        jsonw_array_begin(&w);
        for (i = 0; i < N_CHECKS; i++)
        {
            jsonw_object_begin(&w);
            jsonw_kv_string(&w, "name", checks[i].name);
            jsonw_kv_bool(&w, "passed", checks[i].passed);
            jsonw_kv_string(&w, "detail", checks[i].detail);
            jsonw_object_end(&w);
        }
        jsonw_array_end(&w);
        jsonw_object_end(&w);
    }
    else
    {
        strbuf_printf(&out, "%s: %s (%d probe%s)\n", snap.target ? snap.target : "?",
                      passed ? "recovered" : "NOT recovered", attempts, attempts == 1 ? "" : "s");
        for (i = 0; i < N_CHECKS; i++)
            strbuf_printf(&out, "  [%s] %-17s %s\n", checks[i].passed ? "pass" : "FAIL",
                          checks[i].name, checks[i].detail);
    }
    if (cmd_emit(&out) != 0)
        goto done;
    {
        /* The checklist's result on the incident's timeline (incident_hook.c). */
        StrBuf run = STRBUF_INIT;
        JsonW rw;

        jsonw_init(&rw, &run, false);
        jsonw_object_begin(&rw);
        jsonw_kv_bool(&rw, "recovered", passed);
        jsonw_kv_int(&rw, "attempts", attempts);
        jsonw_key(&rw, "checks");
        jsonw_array_begin(&rw);
        for (i = 0; i < N_CHECKS; i++)
        {
            jsonw_object_begin(&rw);
            jsonw_kv_string(&rw, "name", checks[i].name);
            jsonw_kv_bool(&rw, "passed", checks[i].passed);
            jsonw_kv_string(&rw, "detail", checks[i].detail);
            jsonw_object_end(&rw);
        }
        jsonw_array_end(&rw);
        jsonw_object_end(&rw);
        if (strbuf_ok(&run))
            cmd_incident_record(&ctx, &snap, &alerts, NULL, "verify", strbuf_str(&run));
        strbuf_free(&run);
    }
    exit_code = passed ? EXIT_OK : EXIT_CRITICAL;

done:
    strbuf_free(&out);
    arena_free(arena);
    cmd_teardown(&ctx);
    return exit_code;
}
