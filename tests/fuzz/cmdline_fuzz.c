/*
 * cmdline_fuzz.c - the command line (src/cmd/common.c): the input's lines
 * are the arguments after the command name, given to cmd_setup_with() with
 * a command that takes every shared option (connection, --format, --from,
 * --incident) and options of its own (as fix and verify have), then
 * cmd_teardown().
 *
 * cmd_setup_with() runs in-process: it exits only when out of memory.  What
 * it must not be given here: a configuration file that is not a regular file
 * (-c /dev/zero reads forever, -c /dev/stdin waits).  A first getopt pass
 * with the same options finds -c and skips inputs whose file is not a small
 * regular one; PGMEDIC_CONFIG is unset.  glibc's getopt keeps a pointer into
 * the previous argv between calls: it is reset before each pass (optind = 0
 * and one empty scan), as a process that parses one command line never needs.
 *
 * Properties: no crash, no leak; a success has a connection spec (unless
 * --from), no more positional arguments than the command takes, and a
 * valid format; a failure sets an exit code.
 */
#include <getopt.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "fuzz.h"
#include "util/log.h"
#include "util/parse.h"

enum
{
    MAX_ARGS = 32,
    OPT_OLDER_THAN = 1000,
    OPT_PID
};

typedef struct
{
    int64_t older_than_ms;
    int64_t pid;
    bool dry_run;
} ExtraState;

static const struct option extra_options[] = {
    {"older-than", required_argument, NULL, OPT_OLDER_THAN},
    {"pid", required_argument, NULL, OPT_PID},
    {"dry-run", no_argument, NULL, 'n'},
    {"yes", no_argument, NULL, 'y'},
    {NULL, 0, NULL, 0},
};

/* common.c's long options, then extra_options: for the first pass only. */
static const struct option all_options[] = {
    {"host", required_argument, NULL, 'h'},
    {"port", required_argument, NULL, 'p'},
    {"username", required_argument, NULL, 'U'},
    {"dbname", required_argument, NULL, 'd'},
    {"config", required_argument, NULL, 'c'},
    {"target", required_argument, NULL, 't'},
    {"set", required_argument, NULL, 256},
    {"format", required_argument, NULL, 257},
    {"from", required_argument, NULL, 258},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 259},
    {"version", no_argument, NULL, 260},
    {"incident", required_argument, NULL, 261},
    {"open-incident", no_argument, NULL, 262},
    {"older-than", required_argument, NULL, OPT_OLDER_THAN},
    {"pid", required_argument, NULL, OPT_PID},
    {"dry-run", no_argument, NULL, 'n'},
    {"yes", no_argument, NULL, 'y'},
    {NULL, 0, NULL, 0},
};

#define SHORT_OPTIONS ":h:p:U:d:c:t:vqny"

static int
on_option(int c, const char *arg, void *state)
{
    ExtraState *s = state;
    PmError err;

    switch (c)
    {
        case OPT_OLDER_THAN:
            if (parse_duration_ms(arg, "--older-than", 30LL * 24 * 3600 * 1000, &s->older_than_ms,
                                  &err) != 0)
            {
                pm_log_pm_error(&err);
                return -1;
            }
            return 0;
        case OPT_PID:
            if (parse_int_range(arg, "--pid", 1, INT32_MAX, &s->pid, &err) != 0)
            {
                pm_log_pm_error(&err);
                return -1;
            }
            return 0;
        case 'n':
            s->dry_run = true;
            return 0;
        case 'y':
            return 0;
        default:
            cmd_usage_error("fuzz", "unrecognized option");
            return -1;
    }
}

static const CmdHelp help = {
    "fuzz",
    "a command that takes every shared option",
    "pgmedic fuzz [OPTION]... [ARG]...",
    "  -n, --dry-run            (fuzz)\n",
    NULL,
    OPT_CONNECT | OPT_FORMAT | OPT_FROM | OPT_NAGIOS | OPT_MARKDOWN | OPT_INCIDENT,
    extra_options,
    "ny",
    on_option,
    2,
};

/* Forgets glibc getopt's position in the previous argv. */
static void
reset_getopt(void)
{
    char arg0[] = "fuzz";
    char *argv[] = {arg0, NULL};

    optind = 0;
    opterr = 0;
    while (getopt(1, argv, "") != -1)
    {
    }
}

/* The first pass: false when -c names anything but a small regular file. */
static bool
config_is_safe(int argc, char **argv)
{
    bool safe = true;
    int c;

    reset_getopt();
    optind = 1;
    while ((c = getopt_long(argc, argv, SHORT_OPTIONS, all_options, NULL)) != -1)
    {
        struct stat st;

        if (c == 'c' && optarg != NULL &&
            (stat(optarg, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 1024 * 1024))
            safe = false;
    }
    reset_getopt();
    return safe;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool initialised;
    char *text = fuzz_string(data, size);
    char arg0[] = "fuzz";
    char *argv[MAX_ARGS + 1];
    char *line = text;
    int argc = 1, exit_code = -1;
    ExtraState state;
    CmdContext ctx;

    if (!initialised)
    {
        unsetenv("PGMEDIC_CONFIG");
        initialised = true;
    }
    argv[0] = arg0;
    while (line != NULL && argc < MAX_ARGS)
    {
        char *next = strchr(line, '\n');

        if (next != NULL)
            *next++ = '\0';
        argv[argc++] = line;
        line = next;
    }
    argv[argc] = NULL;
    if (!config_is_safe(argc, argv))
    {
        free(text);
        return 0;
    }

    memset(&state, 0, sizeof(state));
    if (cmd_setup_with(argc, argv, &help, &state, &ctx, &exit_code) == 0)
    {
        FUZZ_CHECK(exit_code == EXIT_OK);
        FUZZ_CHECK(ctx.opts.n_args <= help.max_args);
        FUZZ_CHECK(ctx.opts.from != NULL || ctx.spec != NULL);
        FUZZ_CHECK(ctx.opts.format == FORMAT_TEXT || ctx.opts.format == FORMAT_JSON ||
                   ctx.opts.format == FORMAT_NAGIOS || ctx.opts.format == FORMAT_MARKDOWN);
        FUZZ_CHECK(ctx.conf.thresholds.connections_warning <=
                   ctx.conf.thresholds.connections_critical);
    }
    else
        FUZZ_CHECK(exit_code == EXIT_OK || exit_code == EXIT_UNKNOWN);
    fflush(stdout);
    cmd_teardown(&ctx);
    reset_getopt();
    pm_log_set_level(LOG_LEVEL_WARNING);
    free(text);
    return 0;
}
