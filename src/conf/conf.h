/*
 * conf.h - configuration: defaults, the INI file, and --set overrides.
 *
 * Precedence: defaults < file < PG* environment (libpq's own) < command line.
 * Every key is described once, in the table in conf.c (section, key, type,
 * default, range); the file parser and --set both go through it.  A Config is
 * built at start-up and owns its strings; conf_free() releases them.
 */
#ifndef PGMEDIC_CONF_CONF_H
#define PGMEDIC_CONF_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/thresholds.h"
#include "util/compiler.h"
#include "util/error.h"

typedef struct
{
    char *name;
    char *conninfo; /* may hold a password: never print it */
    char *restart_command;
    char *reset_pool_command;
    int64_t restart_timeout_ms;
    char *reserved_conninfo; /* a role that may use reserved slots, tried on "too many clients" */
    char *data_directory;    /* for host checks when the server cannot tell (it is down) */
    char *log_file;          /* the server log, when pg_current_logfile() cannot say */
} Target;


typedef struct
{
    char *protect_applications; /* comma list */
    char *protect_roles;
    int64_t max_terminations;
} Safety;

/* Runbook §11-12: when to escalate, and to whom. */
typedef struct
{
    char *contacts;             /* free text for the runbook's contacts section */
    char *command;              /* sh -c, the incident JSON on stdin; "" for none */
    int64_t escalate_after_ms;  /* root cause unclear for this long (1h) */
    int64_t restart_wait_ms;    /* still unresponsive this long after a restart (2min) */
    int64_t verify_window_ms;   /* an alert still firing this long after a fix (5min) */
} Escalation;

/* serve: HTTP, the webhook and what it may do on its own. */
typedef struct
{
    char *token_file;         /* the bearer token for routes that act ("" for none) */
    char *auth;               /* "actions" (the default) or "all" */
    char *tls_cert;           /* PEM files: both or neither */
    char *tls_key;
    char *alertmanager_url;   /* push pgmedic's own alerts there ("" for none) */
    char *target_label;       /* the webhook alert label naming a target */
    char *auto_fix;           /* [policy] fix actions the webhook may apply: comma list */
    int64_t top_applications; /* application label values kept in /metrics */
    int64_t max_body;         /* bytes */
    int64_t probe_wait_ms;    /* how long GET /probe waits for a fresh probe */
    int64_t for_ms[3];        /* [alerts]: per rules_alert_names entry, how long before firing */
} Serve;

/* maintain: runbook §10 from the statistics. */
typedef struct
{
    char *window;             /* "Sun 02:00-04:00": serve runs maintain --apply in it ("" for never) */
    double freeze_age_ratio;  /* of autovacuum_freeze_max_age */
    double index_bloat_ratio; /* of an index's size wasted */
} Maintenance;

typedef struct
{
    char *store;
    char *listen;
    int64_t interval_ms;
    int64_t connect_timeout_ms;
    int64_t query_timeout_ms;
    Thresholds thresholds;
    Safety safety;
    Escalation escalation;
    Serve serve;
    Maintenance maintenance;
    Target *targets;
    size_t n_targets;
} Config;

/* Fills *conf with the defaults.  Exits on out of memory (start-up only). */
void conf_init(Config *conf);

/* Reads an INI file over the current values; -1 with *err ("FILE:LINE: ..."). */
int conf_load(Config *conf, const char *path, PmError *err) PM_MUST_CHECK;

/*
 * Applies "KEY=VALUE" (from --set).  KEY is "section.key", or a bare key that
 * names exactly one key of [pgmedic], [thresholds], [safety] or [escalation].
 */
int conf_set(Config *conf, const char *assignment, PmError *err) PM_MUST_CHECK;

/* The target called name, or NULL. */
const Target *conf_target(const Config *conf, const char *name);

/* Prints every key with its default, by section, as an INI file. */
void conf_print_keys(FILE *out);

/* Releases every string; the struct may then be conf_init()ed again. */
void conf_free(Config *conf);

#endif
