/*
 * conf.c - the key table, the INI reader (inih) and --set.
 */
#include "conf/conf.h"

#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"

typedef enum
{
    KEY_STRING,
    KEY_DURATION,
    KEY_RATIO,
    KEY_INT
} KeyType;

typedef struct
{
    const char *section;
    const char *key;
    KeyType type;
    size_t offset; /* in Config, or in Target for section "target" */
    const char *default_value;
    int64_t min; /* ms for durations, per cent for ratios */
    int64_t max;
} ConfKey;

#define DAY_MS (24LL * 3600 * 1000)
#define C(field) offsetof(Config, field)
#define T(field) offsetof(Target, field)

static const ConfKey keys[] = {
    {"pgmedic", "store", KEY_STRING, C(store), "~/.local/state/pgmedic/pgmedic.db", 0, 0},
    {"pgmedic", "listen", KEY_STRING, C(listen), "127.0.0.1:9188", 0, 0},
    {"pgmedic", "interval", KEY_DURATION, C(interval_ms), "15s", 100, DAY_MS},
    {"pgmedic", "connect_timeout", KEY_DURATION, C(connect_timeout_ms), "5s", 100, 3600 * 1000},
    {"pgmedic", "query_timeout", KEY_DURATION, C(query_timeout_ms), "10s", 100, 3600 * 1000},

    {"thresholds", "connections_warning", KEY_RATIO, C(thresholds.connections_warning), "80%", 1,
     100},
    {"thresholds", "connections_critical", KEY_RATIO, C(thresholds.connections_critical), "90%", 1,
     100},
    {"thresholds", "slow_query_warning", KEY_DURATION, C(thresholds.slow_query_warning_ms), "5s",
     1, 30 * DAY_MS},
    {"thresholds", "slow_query_critical", KEY_DURATION, C(thresholds.slow_query_critical_ms),
     "5min", 1, 30 * DAY_MS},
    {"thresholds", "idle_connection", KEY_DURATION, C(thresholds.idle_connection_ms), "1h", 1,
     30 * DAY_MS},
    {"thresholds", "idle_in_transaction", KEY_DURATION, C(thresholds.idle_in_transaction_ms),
     "5min", 1, 30 * DAY_MS},
    {"thresholds", "lock_wait", KEY_DURATION, C(thresholds.lock_wait_ms), "5s", 1, 30 * DAY_MS},
    {"thresholds", "dead_tuple_ratio", KEY_RATIO, C(thresholds.dead_tuple_ratio), "20%", 0, 100},
    {"thresholds", "stale_statistics_ratio", KEY_RATIO, C(thresholds.stale_statistics_ratio),
     "10%", 0, 100},

    {"safety", "protect_applications", KEY_STRING, C(safety.protect_applications), "", 0, 0},
    {"safety", "protect_roles", KEY_STRING, C(safety.protect_roles), "", 0, 0},
    {"safety", "max_terminations", KEY_INT, C(safety.max_terminations), "50", 1, 100000},

    {"escalation", "contacts", KEY_STRING, C(escalation.contacts), "", 0, 0},
    {"escalation", "command", KEY_STRING, C(escalation.command), "", 0, 0},
    {"escalation", "escalate_after", KEY_DURATION, C(escalation.escalate_after_ms), "1h", 0,
     30 * DAY_MS},
    {"escalation", "restart_wait", KEY_DURATION, C(escalation.restart_wait_ms), "2min", 0, DAY_MS},
    {"escalation", "verify_window", KEY_DURATION, C(escalation.verify_window_ms), "5min", 0,
     DAY_MS},

    {"serve", "token_file", KEY_STRING, C(serve.token_file), "", 0, 0},
    {"serve", "auth", KEY_STRING, C(serve.auth), "actions", 0, 0},
    {"serve", "tls_cert", KEY_STRING, C(serve.tls_cert), "", 0, 0},
    {"serve", "tls_key", KEY_STRING, C(serve.tls_key), "", 0, 0},
    {"serve", "alertmanager_url", KEY_STRING, C(serve.alertmanager_url), "", 0, 0},
    {"serve", "target_label", KEY_STRING, C(serve.target_label), "target", 0, 0},
    {"serve", "top_applications", KEY_INT, C(serve.top_applications), "10", 1, 1000},
    {"serve", "max_body", KEY_INT, C(serve.max_body), "1048576", 1024, 64 * 1048576LL},
    {"serve", "probe_wait", KEY_DURATION, C(serve.probe_wait_ms), "15s", 100, 3600 * 1000},

    {"maintenance", "window", KEY_STRING, C(maintenance.window), "", 0, 0},
    {"maintenance", "freeze_age_ratio", KEY_RATIO, C(maintenance.freeze_age_ratio), "50%", 1, 100},
    {"maintenance", "index_bloat_ratio", KEY_RATIO, C(maintenance.index_bloat_ratio), "40%", 1,
     100},

    {"policy", "auto_fix", KEY_STRING, C(serve.auto_fix), "", 0, 0},

    {"alerts", "connection_failure_for", KEY_DURATION, C(serve.for_ms[0]), "1min", 0, DAY_MS},
    {"alerts", "high_connections_for", KEY_DURATION, C(serve.for_ms[1]), "5min", 0, DAY_MS},
    {"alerts", "slow_queries_for", KEY_DURATION, C(serve.for_ms[2]), "2min", 0, DAY_MS},

    {"target", "conninfo", KEY_STRING, T(conninfo), "", 0, 0},
    {"target", "restart_command", KEY_STRING, T(restart_command), "", 0, 0},
    {"target", "reset_pool_command", KEY_STRING, T(reset_pool_command), "", 0, 0},
    {"target", "restart_timeout", KEY_DURATION, T(restart_timeout_ms), "60s", 1000, DAY_MS},
    {"target", "reserved_conninfo", KEY_STRING, T(reserved_conninfo), "", 0, 0},
    {"target", "data_directory", KEY_STRING, T(data_directory), "", 0, 0},
    {"target", "log_file", KEY_STRING, T(log_file), "", 0, 0},
};

/* Sets one key in base (a Config, or a Target for section "target"). */
static int
key_assign(const ConfKey *key, void *base, const char *value, PmError *err)
{
    char *field = (char *) base + key->offset;

    switch (key->type)
    {
    case KEY_STRING:
    {
        char **slot = (char **) (void *) field;
        /* Not pm_xstrdup(): a file or --set that cannot be stored is an error, not an exit. */
        char *copy = strdup(value);

        if (copy == NULL)
        {
            pm_error_set(err, "out of memory");
            return -1;
        }
        free(*slot);
        *slot = copy;
        return 0;
    }
    case KEY_DURATION:
    {
        int64_t ms;

        if (parse_duration_ms(value, key->key, key->max, &ms, err) != 0)
            return -1;
        if (ms < key->min)
        {
            char limit[32];

            format_duration_ms(key->min, limit, sizeof(limit));
            pm_error_set(err, "duration \"%s\" for \"%s\" is out of range", value, key->key);
            pm_error_detail(err, "The smallest allowed value is %s.", limit);
            return -1;
        }
        memcpy(field, &ms, sizeof(ms));
        return 0;
    }
    case KEY_RATIO:
    {
        double ratio;

        if (parse_ratio(value, key->key, (double) key->min / 100.0, (double) key->max / 100.0,
                        &ratio, err) != 0)
            return -1;
        memcpy(field, &ratio, sizeof(ratio));
        return 0;
    }
    case KEY_INT:
    {
        int64_t n;

        if (parse_int_range(value, key->key, key->min, key->max, &n, err) != 0)
            return -1;
        memcpy(field, &n, sizeof(n));
        return 0;
    }
    }
    return -1;
}

static const ConfKey *
key_find(const char *section, const char *name)
{
    size_t i;

    for (i = 0; i < PM_LENGTHOF(keys); i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, name) == 0)
            return &keys[i];
    return NULL;
}

static void free_strings(void *base, bool target);

/* -1 when out of memory (strings already set stay set: free_strings() frees them). */
static int
apply_defaults(void *base, bool target)
{
    size_t i;

    for (i = 0; i < PM_LENGTHOF(keys); i++)
    {
        PmError err;

        if ((strcmp(keys[i].section, "target") == 0) != target)
            continue;
        if (key_assign(&keys[i], base, keys[i].default_value, &err) != 0)
        {
            if (keys[i].type == KEY_STRING)
                return -1; /* only a copy can fail: out of memory */
            /* A bad default is a programming error, caught by the unit tests. */
            fprintf(stderr, "pgmedic: error: invalid default for \"%s\": %s\n", keys[i].key,
                    err.message);
            abort();
        }
    }
    return 0;
}

void
conf_init(Config *conf)
{
    memset(conf, 0, sizeof(*conf));
    if (apply_defaults(conf, false) != 0)
    {
        /* Start-up only, as pm_x*() do. */
        fputs("pgmedic: error: out of memory\n", stderr);
        exit(3);
    }
}

/* A new target with the defaults; NULL when out of memory (conf unchanged but for capacity). */
static Target *
target_add(Config *conf, const char *name)
{
    Target *targets = realloc(conf->targets, (conf->n_targets + 1) * sizeof(Target));
    Target *target;

    if (targets == NULL)
        return NULL;
    conf->targets = targets;
    target = &targets[conf->n_targets];
    memset(target, 0, sizeof(*target));
    target->name = strdup(name);
    if (target->name == NULL || apply_defaults(target, true) != 0)
    {
        free_strings(target, true);
        free(target->name);
        return NULL;
    }
    conf->n_targets++;
    return target;
}

const Target *
conf_target(const Config *conf, const char *name)
{
    size_t i;

    for (i = 0; i < conf->n_targets; i++)
        if (strcmp(conf->targets[i].name, name) == 0)
            return &conf->targets[i];
    return NULL;
}

typedef struct
{
    Config *conf;
    PmError error; /* the first one; inih reports its line */
    bool failed;
    FILE *file;
    int line;             /* lines read so far */
    const char *bad_line; /* why line cannot be read (read_line()), NULL when all could */
    size_t max_len;       /* the longest line inih takes */
} LoadState;

/* "target NAME" → NAME; NULL for other sections. */
static const char *
target_section_name(const char *section)
{
    if (strncmp(section, "target", 6) != 0 || (section[6] != ' ' && section[6] != '\t'))
        return NULL;
    section += 6;
    while (*section == ' ' || *section == '\t')
        section++;
    return *section ? section : NULL;
}

static int
conf_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    LoadState *state = user;
    const char *target_name = target_section_name(section);
    const ConfKey *key;
    PmError err;
    void *base;

    if (state->failed)
        return 1; /* inih goes on; only the first error is reported */
    if (target_name != NULL)
    {
        Target *target = NULL;
        size_t i;

        for (i = 0; i < state->conf->n_targets; i++)
            if (strcmp(state->conf->targets[i].name, target_name) == 0)
                target = &state->conf->targets[i];

        key = key_find("target", name);
        if (key == NULL)
        {
            pm_error_set(&state->error, "unrecognized key \"%s\" in section \"%s\"", name,
                         section);
            goto fail;
        }
        if (target == NULL)
            target = target_add(state->conf, target_name);
        if (target == NULL)
        {
            pm_error_set(&state->error, "out of memory");
            goto fail;
        }
        base = target;
    }
    else
    {
        if (strcmp(section, "target") == 0 ||
            (strcmp(section, "pgmedic") != 0 && strcmp(section, "thresholds") != 0 &&
             strcmp(section, "safety") != 0 && strcmp(section, "escalation") != 0 &&
             strcmp(section, "serve") != 0 && strcmp(section, "policy") != 0 &&
             strcmp(section, "alerts") != 0 && strcmp(section, "maintenance") != 0))
        {
            pm_error_set(&state->error, "unrecognized section \"%s\"", section);
            if (strcmp(section, "target") == 0)
                pm_error_hint(&state->error, "Name the target: [target NAME].");
            else if (section[0] == '\0')
                pm_error_set(&state->error, "key \"%s\" is outside any section", name);
            goto fail;
        }
        key = key_find(section, name);
        if (key == NULL)
        {
            pm_error_set(&state->error, "unrecognized key \"%s\" in section \"%s\"", name,
                         section);
            goto fail;
        }
        base = state->conf;
    }
    if (key_assign(key, base, value, &err) != 0)
    {
        state->error = err;
        goto fail;
    }
    return 1;

fail:
    state->failed = true;
    return 0;
}

/*
 * inih's line reader: one physical line per call (so inih's line numbers
 * stay right), such that what inih would silently misread becomes an error
 * or reads as written:
 *   - a line longer than inih's buffer (num - 1 bytes, 200 as Debian builds
 *     it) would be cut, and its rest read as a line of its own: an error;
 *   - a NUL byte would end the line early, dropping the rest: an error;
 *   - leading blanks are dropped: inih reads an indented line as the
 *     continuation of the previous key, whose value it then replaces
 *     (key_assign()), so an indented "restart_command = ..." under
 *     "conninfo = ..." became the conninfo.  Indented lines now read as if
 *     they were not indented.
 * Returns NULL at the end of the file or at the first bad line.
 */
static char *
read_line(char *str, int num, void *stream)
{
    LoadState *state = stream;
    size_t len = 0, max = num > 1 ? (size_t) num - 1 : 0;
    int c = EOF;

    if (state->bad_line != NULL)
        return NULL;
    state->max_len = max;
    while (len < max && (c = getc(state->file)) != EOF)
    {
        if (c == '\0')
        {
            state->line++;
            state->bad_line = "holds a NUL byte";
            return NULL;
        }
        if (len == 0 && (c == ' ' || c == '\t'))
            continue;
        str[len++] = (char) c;
        if (c == '\n')
            break;
    }
    if (len == 0 && c == EOF)
        return NULL;
    state->line++;
    if (len == max && str[len - 1] != '\n')
    {
        /* Full: fine only when the line ends right here ("\r\n" included). */
        c = getc(state->file);
        if (c == '\r')
            c = getc(state->file);
        if (c != '\n' && c != EOF)
        {
            state->bad_line = "is too long";
            return NULL;
        }
    }
    str[len] = '\0';
    return str;
}

int
conf_load(Config *conf, const char *path, PmError *err)
{
    LoadState state;
    int line;

    memset(&state, 0, sizeof(state));
    state.conf = conf;
    state.file = fopen(path, "r");
    if (state.file == NULL)
    {
        pm_error_set(err, "could not open configuration file \"%s\": %s", path, strerror(errno));
        return -1;
    }
    line = ini_parse_stream(read_line, &state, conf_ini_handler, &state);
    if (line == 0 && ferror(state.file))
        line = -1;
    fclose(state.file);
    if (line == 0 && state.bad_line != NULL)
    {
        /* Lines before it were fine: this is the first error. */
        pm_error_set(err, "%s:%d: line %s", path, state.line, state.bad_line);
        if (strcmp(state.bad_line, "is too long") == 0)
            pm_error_hint(err, "Lines may be at most %zu bytes long (leading blanks aside).",
                          state.max_len);
        return -1;
    }
    if (line == 0)
        return 0;
    if (line == -2)
    {
        pm_error_set(err, "out of memory");
        return -1;
    }
    if (line < 0)
    {
        pm_error_set(err, "could not read configuration file \"%s\"", path);
        return -1;
    }
    if (!state.failed)
    {
        pm_error_set(err, "%s:%d: syntax error", path, line);
        pm_error_hint(err, "Lines are \"key = value\" or \"[section]\".");
        return -1;
    }
    pm_error_set(err, "%s:%d: %s", path, line, state.error.message);
    memcpy(err->detail, state.error.detail, sizeof(err->detail));
    memcpy(err->hint, state.error.hint, sizeof(err->hint));
    return -1;
}

int
conf_set(Config *conf, const char *assignment, PmError *err)
{
    const char *eq = strchr(assignment, '=');
    const ConfKey *key = NULL;
    char name[128];
    const char *dot;
    size_t len;

    if (eq == NULL || eq == assignment)
    {
        pm_error_set(err, "invalid setting \"%s\"", assignment);
        pm_error_hint(err, "Use --set KEY=VALUE, for example --set slow_query_warning=10s.");
        return -1;
    }
    len = (size_t) (eq - assignment);
    if (len >= sizeof(name))
        len = sizeof(name) - 1;
    memcpy(name, assignment, len);
    name[len] = '\0';

    dot = strchr(name, '.');
    if (dot != NULL)
    {
        char section[64];
        size_t slen = (size_t) (dot - name);

        if (slen >= sizeof(section))
            slen = sizeof(section) - 1;
        memcpy(section, name, slen);
        section[slen] = '\0';
        if (strcmp(section, "target") != 0)
            key = key_find(section, dot + 1);
    }
    else
    {
        for (size_t i = 0; i < PM_LENGTHOF(keys); i++)
            if (strcmp(keys[i].section, "target") != 0 && strcmp(keys[i].key, name) == 0)
                key = &keys[i];
    }
    if (key == NULL)
    {
        pm_error_set(err, "unrecognized configuration key \"%s\"", name);
        pm_error_hint(err, "Keys are listed in \"pgmedic --help-config\".");
        return -1;
    }
    return key_assign(key, conf, eq + 1, err);
}

static void
free_strings(void *base, bool target)
{
    size_t i;

    for (i = 0; i < PM_LENGTHOF(keys); i++)
    {
        if ((strcmp(keys[i].section, "target") == 0) != target || keys[i].type != KEY_STRING)
            continue;
        free(*(char **) (void *) ((char *) base + keys[i].offset));
    }
}

void
conf_free(Config *conf)
{
    size_t i;

    for (i = 0; i < conf->n_targets; i++)
    {
        free_strings(&conf->targets[i], true);
        free(conf->targets[i].name);
    }
    free(conf->targets);
    free_strings(conf, false);
    memset(conf, 0, sizeof(*conf));
}

void
conf_print_keys(FILE *out)
{
    size_t i;
    const char *section = "";

    for (i = 0; i < PM_LENGTHOF(keys); i++)
    {
        if (strcmp(section, keys[i].section) != 0)
        {
            section = keys[i].section;
            fprintf(out, "%s[%s%s]\n", i ? "\n" : "", section,
                    strcmp(section, "target") == 0 ? " NAME" : "");
        }
        fprintf(out, "%s = %s\n", keys[i].key, keys[i].default_value);
    }
}
