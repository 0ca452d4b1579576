/*
 * audit.c - pgmedic audit: the log of every action fix applied, newest first.
 * A row that was started and never completed says so: pgmedic was stopped
 * while it acted, and what it did must be checked by hand.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/utf8.h"

enum
{
    AUDIT_OPT_LIMIT = 300
};

static const struct option audit_options[] = {
    {"limit", required_argument, NULL, AUDIT_OPT_LIMIT},
    {NULL, 0, NULL, 0},
};

static int
audit_on_option(int c, const char *arg, void *state)
{
    int64_t *limit = state;
    PmError err;

    (void) c;
    if (parse_int_range(arg, "--limit", 0, 1000000, limit, &err) != 0)
    {
        pm_log_pm_error(&err);
        return -1;
    }
    return 0;
}

static const CmdHelp help = {
    .name = "audit",
    .summary = "list what pgmedic fix did (the audit log), newest first",
    .usage = "pgmedic audit [OPTION]...",
    .options = "      --limit=N            show at most N entries (default 20; 0 for all)\n",
    .examples = "  pgmedic audit\n"
                "  pgmedic audit --format json --limit 0 > audit.json\n"
                "\nThe log lives in the store ([pgmedic] store, default\n"
                "~/.local/state/pgmedic/pgmedic.db).  An entry marked UNFINISHED was started\n"
                "and never completed: pgmedic was killed while acting; check the server.\n",
    .accepts = OPT_FORMAT,
    .extra_options = audit_options,
    .extra_short = "",
    .on_option = audit_on_option,
    .max_args = 0,
};

typedef struct
{
    StrBuf *out;
    JsonW *w; /* NULL for text */
    int n;
} AuditPrint;

/* Embeds a JSON text stored by fix as a value (a string when not valid JSON). */
static void
embed_json(JsonW *w, const char *key, const char *text)
{
    json_t *v = text && text[0] ? json_loads(text, 0, NULL) : NULL;
    char *compact;

    jsonw_key(w, key);
    if (v == NULL)
    {
        if (text && text[0])
            jsonw_string(w, text);
        else
            jsonw_null(w);
        return;
    }
    compact = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (compact == NULL)
    {
        jsonw_null(w);
        return;
    }
    /* Valid JSON, re-encoded by jansson: written as it is. */
    jsonw_raw(w, compact);
    free(compact);
}

/* "12 signalled, 1 skipped", then each item that was not done, from the result JSON. */
static void
summarize(StrBuf *out, const char *result)
{
    json_t *v = json_loads(result, 0, NULL);
    int done = 0, skipped = 0, failed = 0;
    size_t i;

    if (!json_is_array(v))
    {
        strbuf_printf(out, "%s\n", result);
        json_decref(v);
        return;
    }
    for (i = 0; i < json_array_size(v); i++)
    {
        const char *o = json_string_value(json_object_get(json_array_get(v, i), "outcome"));

        if (o == NULL)
            continue;
        if (strncmp(o, "signalled", 9) == 0 || strncmp(o, "done", 4) == 0)
            done++;
        else if (strncmp(o, "failed", 6) == 0)
            failed++;
        else
            skipped++;
    }
    strbuf_printf(out, "%d done, %d skipped, %d failed\n", done, skipped, failed);
    for (i = 0; i < json_array_size(v); i++)
    {
        json_t *e = json_array_get(v, i);
        const char *o = json_string_value(json_object_get(e, "outcome"));
        const char *item = json_string_value(json_object_get(e, "item"));

        if (o && strncmp(o, "signalled", 9) != 0 && strncmp(o, "done", 4) != 0)
        {
            strbuf_append(out, "        ");
            pm_utf8_append_printable(out, item ? item : "?", 0);
            strbuf_append(out, ": ");
            pm_utf8_append_printable(out, o, 0);
            strbuf_append_char(out, '\n');
        }
    }
    json_decref(v);
}

static int
print_row(const AuditRow *row, void *arg)
{
    AuditPrint *p = arg;
    char started[40], finished[40];
    bool unfinished = row->finished_at == 0.0;

    pm_format_iso8601(row->started_at, started, sizeof(started));
    if (!unfinished)
        pm_format_iso8601(row->finished_at, finished, sizeof(finished));
    p->n++;
    if (p->w != NULL)
    {
        JsonW *w = p->w;

        jsonw_object_begin(w);
        jsonw_kv_int(w, "id", row->id);
        jsonw_kv_string(w, "started_at", started);
        jsonw_kv_string(w, "finished_at", unfinished ? NULL : finished);
        jsonw_kv_bool(w, "unfinished", unfinished);
        jsonw_kv_string(w, "target", row->target);
        jsonw_kv_string(w, "action", row->action);
        jsonw_kv_string(w, "options", row->options);
        jsonw_kv_string(w, "os_user", row->os_user);
        jsonw_kv_string(w, "db_role", row->db_role);
        jsonw_kv_string(w, "status", unfinished ? "unfinished" : row->status);
        embed_json(w, "plan", row->plan);
        embed_json(w, "result", row->result);
        jsonw_kv_string(w, "error", row->error[0] ? row->error : NULL);
        jsonw_object_end(w);
        return 0;
    }
    /*
     * Security fix (issue 8): the options hold table names (as triage printed
     * them, from the server) and the role and errors come from the server:
     * written for the terminal, without control characters (an escape
     * sequence in a table name reached it).  The JSON keeps them exact.
     */
    strbuf_printf(p->out, "#%-4lld %s  %-10s ", (long long) row->id, started,
                  unfinished ? "UNFINISHED" : row->status);
    pm_utf8_append_printable(p->out, row->action, 0);
    strbuf_append_char(p->out, ' ');
    pm_utf8_append_printable(p->out, row->options, 0);
    strbuf_append(p->out, "\n      on ");
    pm_utf8_append_printable(p->out, row->target, 0);
    strbuf_append(p->out, ", by ");
    pm_utf8_append_printable(p->out, row->os_user, 0);
    strbuf_append(p->out, " as database role ");
    pm_utf8_append_printable(p->out, row->db_role[0] ? row->db_role : "?", 0);
    strbuf_append_char(p->out, '\n');
    if (unfinished)
        strbuf_append(p->out, "      started and never completed: pgmedic stopped while "
                              "acting; check the server by hand\n");
    else
    {
        strbuf_printf(p->out, "      finished %s: ", finished);
        summarize(p->out, row->result);
        if (row->error[0])
        {
            strbuf_append(p->out, "      error: ");
            pm_utf8_append_printable(p->out, row->error, 0);
            strbuf_append_char(p->out, '\n');
        }
    }
    return 0;
}

int
cmd_audit(int argc, char **argv)
{
    CmdContext ctx;
    int64_t limit = 20;
    Store *store = NULL;
    StrBuf out = STRBUF_INIT;
    JsonW w;
    AuditPrint p = {&out, NULL, 0};
    PmError err;
    int exit_code;

    if (cmd_setup_with(argc, argv, &help, &limit, &ctx, &exit_code) != 0)
        goto done;
    exit_code = EXIT_UNKNOWN;
    store = store_open(ctx.conf.store, &err);
    if (store == NULL)
    {
        pm_log_pm_error(&err);
        goto done;
    }
    if (ctx.opts.format == FORMAT_JSON)
    {
        jsonw_init(&w, &out, true);
        jsonw_array_begin(&w);
        p.w = &w;
    }
    if (store_audit_list(store, (size_t) limit, print_row, &p, &err) != 0)
    {
        pm_log_pm_error(&err);
        goto done;
    }
    if (p.w != NULL)
        jsonw_array_end(&w);
    else if (p.n == 0)
        strbuf_printf(&out, "the audit log in %s is empty: pgmedic fix --apply was never run\n",
                      store_path(store));
    if (cmd_emit(&out) == 0)
        exit_code = EXIT_OK;

done:
    strbuf_free(&out);
    store_close(store);
    cmd_teardown(&ctx);
    return exit_code;
}
