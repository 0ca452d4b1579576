/*
 * snapshot.c - pgmedic snapshot: the raw snapshot as JSON, to save, share,
 * replay with --from, or use as a test fixture.
 */
#include "cmd/cmd.h"
#include "util/log.h"

static const CmdHelp help = {
    .name = "snapshot",
    .summary = "print the raw snapshot of a server as JSON",
    .usage = "pgmedic snapshot [OPTION]...",
    .options = NULL,
    .examples = "  pgmedic snapshot -d pivotal_flow > before.json\n"
                "  pgmedic check --from before.json\n"
                "\nThe snapshot is taken on one read-only connection: one round trip, plus a\n"
                "second for WAL size, pg_stat_statements and the log file when the role may\n"
                "read them; pgmedic's own session is never part of it.  When the data\n"
                "directory is on this host, disk, WAL and memory facts and the server log's\n"
                "last FATAL/PANIC lines are added.  Exit status 2 when the server\n"
                "could not be reached (the snapshot then says why).\n",
    .accepts = OPT_CONNECT | OPT_FROM,
};

int
cmd_snapshot(int argc, char **argv)
{
    CmdContext ctx;
    Arena *arena = NULL;
    Snapshot snap;
    StrBuf out = STRBUF_INIT;
    int exit_code;

    if (cmd_start(argc, argv, &help, NULL, &ctx, &arena, &exit_code) != 0)
        goto done;
    ctx.probe_opts.extras = true;
    ctx.collect_host = true;
    if (cmd_take_snapshot(&ctx, arena, &snap) != 0)
        goto done;
    render_snapshot_json(&out, &snap);
    if (cmd_emit(&out) != 0)
        goto done;
    exit_code = snap.failure == CONN_OK ? EXIT_OK : EXIT_CRITICAL;

done:
    strbuf_free(&out);
    arena_free(arena);
    cmd_teardown(&ctx);
    return exit_code;
}
