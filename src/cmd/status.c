/*
 * status.c - pgmedic status: is the server up, like pg_isready, but honest
 * about a server that refuses logins (runbook §3).
 */
#include "cmd/cmd.h"
#include "util/log.h"

static const CmdHelp help = {
    .name = "status",
    .summary = "is the server up? (runbook step 3, like pg_isready but honest)",
    .usage = "pgmedic status [OPTION]...",
    .options = NULL,
    .examples = "  pgmedic status -h /var/run/postgresql -d pivotal_flow\n"
                "  pgmedic status -d 'postgresql://pgmedic@db1/app' --format json\n"
                "\nUnlike pg_isready, a server that refuses logins with \"too many clients\"\n"
                "is reported as rejecting connections (exit 2), not as up.\n",
    .accepts = OPT_CONNECT | OPT_FORMAT,
};

int
cmd_status(int argc, char **argv)
{
    CmdContext ctx;
    Arena *arena = NULL;
    Snapshot snap;
    StrBuf out = STRBUF_INIT;
    int exit_code;

    if (cmd_start(argc, argv, &help, NULL, &ctx, &arena, &exit_code) != 0)
        goto done;
    ctx.probe_opts.ping_only = true;
    if (cmd_take_snapshot(&ctx, arena, &snap) != 0)
        goto done;
    if (ctx.opts.format == FORMAT_JSON)
        render_status_json(&out, &snap);
    else
        render_status_text(&out, &snap, &ctx.style);
    if (cmd_emit(&out) != 0)
        goto done;
    exit_code = snap.failure == CONN_OK ? EXIT_OK : EXIT_CRITICAL;

done:
    strbuf_free(&out);
    arena_free(arena);
    cmd_teardown(&ctx);
    return exit_code;
}
