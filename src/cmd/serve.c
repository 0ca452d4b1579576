/*
 * serve.c - pgmedic serve: the daemon (src/serve/serve.c) behind its options.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "serve/serve.h"
#include "util/log.h"

enum
{
    LONG_LISTEN = 1000,
    LONG_FOREGROUND
};

static const struct option serve_options[] = {
    {"listen", required_argument, NULL, LONG_LISTEN},
    {"foreground", no_argument, NULL, LONG_FOREGROUND},
    {NULL, 0, NULL, 0},
};

typedef struct
{
    const char *listen;
} ServeState;

static int
serve_on_option(int c, const char *arg, void *state)
{
    ServeState *s = state;

    if (c == LONG_LISTEN)
        s->listen = arg;
    /* --foreground is the only mode: systemd (docs/pgmedic.service) supervises it. */
    return 0;
}

static const CmdHelp help = {
    .name = "serve",
    .summary = "watch every [target] of the configuration; serve /metrics and the webhook",
    .usage = "pgmedic serve -c FILE [OPTION]...",
    .options =
        "      --listen=ADDR        HOST:PORT to listen on (listen; default 127.0.0.1:9188)\n"
        "      --foreground         stay in the foreground (the default and only mode)\n",
    .examples =
        "  pgmedic serve -c /etc/pgmedic.ini\n"
        "  pgmedic serve -c /etc/pgmedic.ini --listen 0.0.0.0:9188 --set interval=30s\n"
        "  curl -s localhost:9188/metrics | grep pgmedic_up\n"
        "  curl -s 'localhost:9188/probe?target=pivotal_flow'\n"
        "  kill -HUP $(pidof pgmedic)    # reload the configuration: targets added and removed\n"
        "\nHTTP (see README.md, \"serve\"):\n"
        "  GET  /metrics                 Prometheus metrics of every target (pgmedic_*)\n"
        "  GET  /probe?target=NAME       one target, probed now (waits up to probe_wait)\n"
        "  GET  /healthz                 200 while the daemon runs\n"
        "  GET  /api/v1/status           every target's alerts and findings (JSON)\n"
        "  GET  /api/v1/incidents        the newest incidents (JSON)\n"
        "  POST /api/v1/alertmanager     Alertmanager webhook: triage, incident, [policy]\n"
        "                                auto_fix, verify (needs the bearer token)\n"
        "\nConfiguration: [pgmedic] listen, interval; [serve] token_file, auth, tls_cert,\n"
        "tls_key, alertmanager_url, target_label, top_applications, max_body, probe_wait;\n"
        "[policy] auto_fix (fix actions the webhook may apply, e.g. terminate-idle);\n"
        "[alerts] connection_failure_for, high_connections_for, slow_queries_for.\n",
    .accepts = 0,
    .extra_options = serve_options,
    .extra_short = "",
    .on_option = serve_on_option,
    .max_args = 0,
};

int
cmd_serve(int argc, char **argv)
{
    CmdContext ctx;
    ServeState state = {NULL};
    ServeOptions so;
    char exe[PATH_MAX];
    ssize_t len;
    int exit_code;

    if (cmd_setup_with(argc, argv, &help, &state, &ctx, &exit_code) != 0)
    {
        cmd_teardown(&ctx);
        return exit_code;
    }
    if (ctx.opts.config_path == NULL)
    {
        cmd_teardown(&ctx);
        return cmd_usage_error("serve", "serve needs a configuration file: -c FILE");
    }
    /* The children (triage, fix, verify for the webhook) are this very binary. */
    len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len <= 0)
    {
        pm_log_error("could not find this program's path: /proc/self/exe is unreadable");
        cmd_teardown(&ctx);
        return EXIT_UNKNOWN;
    }
    exe[len] = '\0';
    memset(&so, 0, sizeof(so));
    so.config_path = ctx.opts.config_path;
    so.sets = ctx.opts.sets;
    so.n_sets = ctx.opts.n_sets;
    so.listen = state.listen;
    so.exe = exe;
    exit_code = serve_run(&so);
    cmd_teardown(&ctx);
    return exit_code;
}
