/*
 * serve.h - the daemon: every [target NAME] of the configuration probed each
 * `interval` by one thread (non-blocking libpq and poll()), alert states
 * kept as Prometheus keeps them, and HTTP for Prometheus, Alertmanager and
 * people (GET /metrics, /probe, /healthz, /api/v1/status, /api/v1/incidents;
 * POST /api/v1/alertmanager).
 *
 * Threads:
 *   - the probe loop (the caller's thread): owns the targets, their
 *     connections and jobs, and is the only writer of samples and alert
 *     changes to the store;
 *   - libmicrohttpd's threads: read the published results (immutable,
 *     reference-counted, swapped under one mutex) and never touch a
 *     connection; GET /probe asks the loop for a fresh probe and waits;
 *   - the responder: runs the webhook's work (triage, auto-fix, verify) one
 *     alert at a time, through this very binary as child processes, so every
 *     guard, audit row and incident entry of the CLI applies unchanged;
 *   - the notifier: pushes pgmedic's own alert changes to Alertmanager.
 *
 * SIGHUP reloads the configuration (targets added and removed by name; a
 * bad file is reported and the old one kept); SIGTERM and SIGINT finish the
 * probes in flight and exit 0.  Logs go to stderr, one key=value line each.
 */
#ifndef PGMEDIC_SERVE_SERVE_H
#define PGMEDIC_SERVE_SERVE_H

typedef struct
{
    const char *config_path;   /* -c FILE (required) */
    const char *const *sets;   /* --set KEY=VALUE, applied after every (re)load */
    int n_sets;
    const char *listen;        /* --listen, over the configuration's; NULL when not given */
    const char *exe;           /* this binary, for the children (/proc/self/exe) */
} ServeOptions;

/* Runs until SIGTERM/SIGINT; the process exit code (0, or 3 when it cannot start). */
int serve_run(const ServeOptions *opts);

#endif
