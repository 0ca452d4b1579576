/*
 * conf_fuzz.c - the configuration: conf_load() on the input as an INI file
 * (through a temporary file, rewritten for each input: conf_load() takes a
 * path), then conf_set() on each of its lines as a --set KEY=VALUE.
 *
 * Properties: no crash, no leak; a failure has a message, and a load that
 * fails names the file; a success leaves a Config whose strings are all set,
 * whose ratios are within 0..1 and durations non-negative, and whose targets
 * have distinct non-empty names; indentation means nothing: the file with
 * every line's leading blanks removed loads the same (inih used to read an
 * indented line as the continuation of the previous key, replacing its value).
 */
#include <stdbool.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf_compare.h"
#include "fuzz.h"

enum
{
    MAX_SET_LINES = 64
};

static char conf_path[64];
static int conf_fd = -1;

static void
conf_fuzz_cleanup(void)
{
    if (conf_fd >= 0)
    {
        close(conf_fd);
        unlink(conf_path);
    }
}

static void
check_target(const Config *conf, size_t i)
{
    const Target *t = &conf->targets[i];

    FUZZ_CHECK(t->name != NULL && t->name[0] != '\0');
    FUZZ_CHECK(t->conninfo != NULL && t->restart_command != NULL && t->reset_pool_command != NULL &&
               t->reserved_conninfo != NULL && t->data_directory != NULL && t->log_file != NULL);
    FUZZ_CHECK(t->restart_timeout_ms >= 1000);
    FUZZ_CHECK(conf_target(conf, t->name) == t); /* names are unique */
}

static void
check_config(const Config *conf)
{
    const Thresholds *th = &conf->thresholds;
    size_t i;

    FUZZ_CHECK(conf->store != NULL && conf->listen != NULL);
    FUZZ_CHECK(conf->safety.protect_applications != NULL && conf->safety.protect_roles != NULL);
    FUZZ_CHECK(conf->escalation.contacts != NULL && conf->escalation.command != NULL);
    FUZZ_CHECK(conf->serve.token_file != NULL && conf->serve.auth != NULL &&
               conf->serve.tls_cert != NULL && conf->serve.tls_key != NULL &&
               conf->serve.alertmanager_url != NULL && conf->serve.target_label != NULL &&
               conf->serve.auto_fix != NULL);
    FUZZ_CHECK(th->connections_warning >= 0.01 && th->connections_warning <= 1.0);
    FUZZ_CHECK(th->connections_critical >= 0.01 && th->connections_critical <= 1.0);
    FUZZ_CHECK(th->dead_tuple_ratio >= 0 && th->dead_tuple_ratio <= 1.0);
    FUZZ_CHECK(th->stale_statistics_ratio >= 0 && th->stale_statistics_ratio <= 1.0);
    FUZZ_CHECK(th->slow_query_warning_ms >= 1 && th->slow_query_critical_ms >= 1 &&
               th->idle_connection_ms >= 1 && th->idle_in_transaction_ms >= 1 &&
               th->lock_wait_ms >= 1);
    FUZZ_CHECK(conf->interval_ms >= 100 && conf->connect_timeout_ms >= 100 &&
               conf->query_timeout_ms >= 100);
    FUZZ_CHECK(conf->escalation.escalate_after_ms >= 0 && conf->escalation.restart_wait_ms >= 0 &&
               conf->escalation.verify_window_ms >= 0);
    FUZZ_CHECK(conf->safety.max_terminations >= 1 && conf->serve.max_body >= 1024 &&
               conf->serve.top_applications >= 1);
    FUZZ_CHECK((conf->n_targets == 0) == (conf->targets == NULL));
    for (i = 0; i < conf->n_targets; i++)
        check_target(conf, i);
}

/* Replaces the file's content; conf_load() takes a path. */
static void
write_conf(const void *data, size_t size)
{
    FUZZ_CHECK(ftruncate(conf_fd, 0) == 0);
    FUZZ_CHECK(pwrite(conf_fd, data, size, 0) == (ssize_t) size);
}

/* The input with the blanks that start each line removed; *len its length. */
static char *
unindented(const uint8_t *data, size_t size, size_t *len)
{
    char *out = malloc(size + 1);
    bool line_start = true;
    size_t i, n = 0;

    FUZZ_CHECK(out != NULL);
    for (i = 0; i < size; i++)
    {
        if (line_start && (data[i] == ' ' || data[i] == '\t'))
            continue;
        out[n++] = (char) data[i];
        line_start = data[i] == '\n';
    }
    *len = n;
    return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Config conf, flat;
    PmError err;
    char *text, *line, *next;
    size_t flat_len;
    int n_lines = 0, rc;

    if (conf_fd < 0)
    {
        const char *tmp = getenv("TMPDIR");

        /* A file in memory when there is /dev/shm: three times the executions. */
        if (access("/dev/shm", W_OK) == 0)
            tmp = "/dev/shm";
        snprintf(conf_path, sizeof(conf_path), "%s/pgmedic-fuzz-XXXXXX",
                 tmp != NULL && strlen(tmp) < 32 ? tmp : "/tmp");
        conf_fd = mkstemp(conf_path);
        FUZZ_CHECK(conf_fd >= 0);
        atexit(conf_fuzz_cleanup);
    }
    write_conf(data, size);
    conf_init(&conf);
    memset(&err, 0, sizeof(err));
    rc = conf_load(&conf, conf_path, &err);
    if (rc == 0)
        check_config(&conf);
    else
        FUZZ_CHECK(strstr(err.message, conf_path) != NULL);

    /* The same file without indentation. */
    text = unindented(data, size, &flat_len);
    if (flat_len != size)
    {
        write_conf(text, flat_len);
        conf_init(&flat);
        if (conf_load(&flat, conf_path, &err) != rc || (rc == 0 && !same_config(&conf, &flat)))
            FUZZ_FAIL("the file without indentation loads the same");
        conf_free(&flat);
    }
    free(text);
    conf_free(&conf);

    /* Every line as a --set argument, on one Config. */
    text = fuzz_string(data, size);
    conf_init(&conf);
    for (line = text; line != NULL && n_lines < MAX_SET_LINES; line = next, n_lines++)
    {
        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        memset(&err, 0, sizeof(err));
        if (conf_set(&conf, line, &err) != 0)
            FUZZ_CHECK(err.message[0] != '\0');
    }
    check_config(&conf);
    conf_free(&conf);
    free(text);
    return 0;
}
