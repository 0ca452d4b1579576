/*
 * docs_test.c - the documentation and packaging agree with the binary (issue 9).
 *
 *   - docs/pgmedic.ini.example loads (pgmedic triage --from FIXTURE -c FILE),
 *     holds every configuration key of src/conf/conf.c, and the value of
 *     every key outside [target] is its default;
 *   - docs/pgmedic.1: the sections of a man page; a subsection per command of
 *     `pgmedic --help`; every long option of every `pgmedic COMMAND --help`;
 *     every key with its default under its [section]; the finding kinds; the
 *     least-privilege GRANTs; `mandoc -Tlint` is clean (skipped without mandoc);
 *   - docs/pgmedic.bash-completion, sourced in bash and called as bash does
 *     (COMP_WORDS, COMP_CWORD): commands, options, fix actions, incident
 *     subcommands, --format values, --set keys, -t target names;
 *   - docs/alerts.md has a section per finding kind of src/core/diagnose.c;
 *   - docs/grafana-dashboard.json parses, has the target variable, and every
 *     expr uses only metric names src/render/metrics.c writes (and is valid
 *     PromQL, by `promtool check rules`, when promtool is there);
 *   - `make install DESTDIR=... PREFIX=...` installs exactly the listed files,
 *     `make uninstall` removes them.
 * No server is needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include <ctype.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* No server anywhere: anything that tries to connect fails fast. */
static const char *const no_server_env[] = {"PGHOST=/nonexistent/pgmedic-no-server", NULL};

#define RUN(r, ...) H_RUN_ENV((r), NULL, no_server_env, 30.0, __VA_ARGS__)

/* ------------------------------------------------------------ string lists */

typedef struct
{
    char **items;
    size_t n, cap;
} List;

static void
list_add(List *l, const char *s, size_t len)
{
    if (l->n == l->cap)
    {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = realloc(l->items, l->cap * sizeof(char *));
        assert_non_null(l->items);
    }
    l->items[l->n] = strndup(s, len);
    assert_non_null(l->items[l->n]);
    l->n++;
}

static bool
list_has(const List *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i], s) == 0)
            return true;
    return false;
}

static void
list_add_unique(List *l, const char *s, size_t len)
{
    char *tmp = strndup(s, len);

    assert_non_null(tmp);
    if (!list_has(l, tmp))
        list_add(l, s, len);
    free(tmp);
}

static void
list_free(List *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

static char *
list_join(const List *l)
{
    size_t len = 1;
    char *out;

    for (size_t i = 0; i < l->n; i++)
        len += strlen(l->items[i]) + 1;
    out = calloc(1, len);
    assert_non_null(out);
    for (size_t i = 0; i < l->n; i++)
    {
        strcat(out, l->items[i]);
        strcat(out, " ");
    }
    return out;
}

/* Fails, naming what, when want (a set) is not exactly got. */
static void
assert_same_set(const List *got, const List *want, const char *what)
{
    bool same = got->n == want->n;

    for (size_t i = 0; same && i < want->n; i++)
        same = list_has(got, want->items[i]);
    if (!same)
    {
        char *g = list_join(got), *w = list_join(want);

        fprintf(stderr, "docs_test: %s: got [%s], want [%s]\n", what, g, w);
        free(g);
        free(w);
    }
    assert_true(same);
}

/* Fails when an item of want is not in got. */
static void
assert_subset(const List *want, const List *got, const char *what)
{
    for (size_t i = 0; i < want->n; i++)
        if (!list_has(got, want->items[i]))
        {
            char *g = list_join(got);

            fprintf(stderr, "docs_test: %s: \"%s\" missing from [%s]\n", what, want->items[i], g);
            free(g);
            fail();
        }
}

/* Adds each line of text (without its newline; empty lines skipped). */
static void
list_add_lines(List *l, const char *text)
{
    while (text != NULL && *text != '\0')
    {
        size_t len = strcspn(text, "\n");

        if (len > 0)
            list_add(l, text, len);
        text += len;
        if (*text == '\n')
            text++;
    }
}

/* -------------------------------------------------------------- the sources */

static char *
read_src(const char *name)
{
    char path[H_PATH_MAX];
    char *text;

    snprintf(path, sizeof(path), "%s/%s", h_srcdir(), name);
    text = h_read_file(path, NULL);
    if (text == NULL)
        fail_msg("cannot read %s", path);
    return text;
}

static char *
src_path(const char *name)
{
    static char path[H_PATH_MAX];

    snprintf(path, sizeof(path), "%s/%s", h_srcdir(), name);
    return path;
}

/* A program on the PATH (h_exec does not search it), or NULL; kept for the run. */
static const char *
which(const char *prog)
{
    static struct
    {
        char name[32];
        char path[H_PATH_MAX];
    } cache[8];

    static size_t n_cache;
    const char *path = getenv("PATH"), *p;
    size_t i;

    for (i = 0; i < n_cache; i++)
        if (strcmp(cache[i].name, prog) == 0)
            return cache[i].path[0] ? cache[i].path : NULL;
    assert_true(n_cache < 8);
    i = n_cache++;
    snprintf(cache[i].name, sizeof(cache[i].name), "%s", prog);
    for (p = path ? path : "/usr/bin:/bin"; *p != '\0';)
    {
        size_t len = strcspn(p, ":");

        snprintf(cache[i].path, sizeof(cache[i].path), "%.*s/%s", (int) len, p, prog);
        if (len > 0 && access(cache[i].path, X_OK) == 0)
            return cache[i].path;
        p += len + (p[len] == ':');
    }
    cache[i].path[0] = '\0';
    return NULL;
}

typedef struct
{
    char section[64];
    char key[64];
    char dflt[256];
} Key;

typedef struct
{
    Key keys[256];
    size_t n;
} KeyTable;

/*
 * The key table of src/conf/conf.c: every {"section", "key", KEY_TYPE,
 * OFFSET, "default", ...} entry of `keys[]`.
 */
static void
conf_keys(KeyTable *t)
{
    char *src = read_src("src/conf/conf.c");
    char *p = strstr(src, "static const ConfKey keys[] = {"), *end;

    memset(t, 0, sizeof(*t));
    assert_non_null(p);
    end = strstr(p, "\n};");
    assert_non_null(end);
    *end = '\0';
    while ((p = strstr(p, "{\"")) != NULL && t->n < 256)
    {
        Key *k = &t->keys[t->n];
        char *q;
        size_t len;

        p += 2;
        len = strcspn(p, "\"");
        snprintf(k->section, sizeof(k->section), "%.*s", (int) len, p);
        p = strchr(p + len + 1, '"'); /* the key */
        assert_non_null(p);
        p++;
        len = strcspn(p, "\"");
        snprintf(k->key, sizeof(k->key), "%.*s", (int) len, p);
        p += len + 1;
        q = strstr(p, "KEY_");
        assert_non_null(q);
        p = strchr(q, '"'); /* the default: the next literal after the offset */
        assert_non_null(p);
        p++;
        len = strcspn(p, "\"");
        snprintf(k->dflt, sizeof(k->dflt), "%.*s", (int) len, p);
        p += len + 1;
        t->n++;
    }
    free(src);
    assert_true(t->n >= 40); /* 44 when this test was written */
}

/* ------------------------------------------------------------- the binary */

/* The commands listed by `pgmedic --help` (the "Commands:" block). */
static void
help_commands(List *out)
{
    HRun r;
    const char *p;

    RUN(&r, "--help");
    H_ASSERT_EXIT(&r, 0);
    p = strstr(r.out, "\nCommands:\n");
    assert_non_null(p);
    p += strlen("\nCommands:\n");
    while (*p == ' ')
    {
        size_t len;

        p += strspn(p, " ");
        len = strcspn(p, " \n");
        list_add(out, p, len);
        p += strcspn(p, "\n");
        if (*p == '\n')
            p++;
    }
    h_run_free(&r);
    assert_true(out->n >= 10);
}

/* The long options ("--name") of the option lines of `pgmedic COMMAND --help`. */
static void
help_options(const char *command, List *out)
{
    HRun r;
    const char *p;

    RUN(&r, command, "--help");
    H_ASSERT_EXIT(&r, 0);
    for (p = r.out; *p != '\0';)
    {
        const char *line = p + strspn(p, " ");

        if (line[0] == '-' && line[1] != '-' && line[1] != '\0' && line[2] == ',')
            line += 3 + strspn(line + 3, " "); /* "-h, --host=HOST" */
        if (strncmp(line, "--", 2) == 0 && islower((unsigned char) line[2]))
            list_add_unique(out, line, strcspn(line, "= ,\n"));
        p += strcspn(p, "\n");
        if (*p == '\n')
            p++;
    }
    h_run_free(&r);
    assert_true(out->n >= 4); /* --set, --verbose, --quiet, --help, --version at least */
}

/* The --format values `pgmedic COMMAND --help` lists; none when it has no --format. */
static void
help_formats(const char *command, List *out)
{
    HRun r;
    const char *p, *end;

    RUN(&r, command, "--help");
    H_ASSERT_EXIT(&r, 0);
    p = strstr(r.out, "--format=FORMAT      output format: ");
    if (p != NULL)
    {
        p += strlen("--format=FORMAT      output format: ");
        end = p + strcspn(p, "\n");
        while (p < end)
        {
            size_t len = strcspn(p, " ,\n");

            if (len > 0 && strncmp(p, "(default)", len) != 0)
                list_add(out, p, len);
            p += len;
            p += strspn(p, " ,");
        }
    }
    h_run_free(&r);
}

/* ------------------------------------------------- the example configuration */

/* The active "key = value" lines of an INI file, by section ("target" for [target X]). */
typedef struct
{
    Key keys[512];
    size_t n;
    size_t n_targets;
    List sections;
} IniFile;

static void
trim(char *s)
{
    size_t len = strlen(s);

    while (len > 0 && isspace((unsigned char) s[len - 1]))
        s[--len] = '\0';
    memmove(s, s + strspn(s, " \t"), strlen(s + strspn(s, " \t")) + 1);
}

static void
ini_parse(const char *text, IniFile *f)
{
    char section[64] = "";
    const char *p = text;

    memset(f, 0, sizeof(*f));
    while (*p != '\0')
    {
        char line[1024];
        size_t len = strcspn(p, "\n");
        char *eq, *comment;

        snprintf(line, sizeof(line), "%.*s", (int) len, p);
        p += len + (p[len] == '\n');
        trim(line);
        if (line[0] == '\0' || line[0] == ';' || line[0] == '#')
            continue;
        if (line[0] == '[')
        {
            char *close = strchr(line, ']');

            assert_non_null(close);
            *close = '\0';
            trim(line + 1);
            list_add(&f->sections, line + 1, strlen(line + 1));
            if (strncmp(line + 1, "target ", 7) == 0)
            {
                snprintf(section, sizeof(section), "target");
                f->n_targets++;
            }
            else
                snprintf(section, sizeof(section), "%.*s", (int) sizeof(section) - 1, line + 1);
            continue;
        }
        eq = strchr(line, '=');
        assert_non_null(eq);
        *eq = '\0';
        comment = strstr(eq + 1, " ;"); /* inih: ";" after a space starts a comment */
        if (comment != NULL)
            *comment = '\0';
        assert_true(f->n < 512);
        snprintf(f->keys[f->n].section, sizeof(f->keys[f->n].section), "%s", section);
        trim(line);
        snprintf(f->keys[f->n].key, sizeof(f->keys[f->n].key), "%.*s",
                 (int) sizeof(f->keys[f->n].key) - 1, line);
        trim(eq + 1);
        snprintf(f->keys[f->n].dflt, sizeof(f->keys[f->n].dflt), "%.*s",
                 (int) sizeof(f->keys[f->n].dflt) - 1, eq + 1);
        f->n++;
    }
}

static const Key *
ini_find(const IniFile *f, const char *section, const char *key)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->keys[i].section, section) == 0 && strcmp(f->keys[i].key, key) == 0)
            return &f->keys[i];
    return NULL;
}

/* triage --from a fixture with -c path: exit code; *err_out gets stderr (caller frees). */
static int
triage_with_config(const char *path, char **err_out)
{
    char home[H_PATH_MAX], env_home[H_PATH_MAX + 8], fixture[H_PATH_MAX];
    const char *env[] = {"PGHOST=/nonexistent/pgmedic-no-server", env_home, "PGMEDIC_CONFIG", NULL};
    HRun r;
    int code;

    snprintf(home, sizeof(home), "%s/docs-home", h_tmproot());
    mkdir(home, 0700);
    snprintf(env_home, sizeof(env_home), "HOME=%s", home);
    snprintf(fixture, sizeof(fixture), "%s/tests/fixtures/snapshots/full_and_slow.json",
             h_srcdir());
    H_RUN_ENV(&r, NULL, env, 30.0, "triage", "--from", fixture, "-c", path);
    assert_false(r.timed_out);
    code = r.exit_code;
    *err_out = strdup(r.err);
    h_run_free(&r);
    return code;
}

static void
test_example_config_loads(void **state)
{
    char *example = read_src("docs/pgmedic.ini.example"), *broken, *err, *path;
    size_t len = strlen(example);
    int code;

    (void) state;
    code = triage_with_config(src_path("docs/pgmedic.ini.example"), &err);
    if (code == 3 || strstr(err, "error") != NULL)
        fprintf(stderr, "docs_test: pgmedic refused docs/pgmedic.ini.example:\n%s\n", err);
    assert_int_not_equal(code, 3);
    assert_null(strstr(err, "error"));
    /* full_and_slow.json fires alerts: the file was read and triage ran. */
    assert_true(code == 1 || code == 2);
    free(err);

    /* The same check catches a key pgmedic does not know. */
    broken = malloc(len + 64);
    assert_non_null(broken);
    memcpy(broken, example, len + 1);
    strcat(broken, "\n[pgmedic]\nno_such_key = 1\n");
    path = h_write_tmpfile("broken-example", broken);
    assert_non_null(path);
    code = triage_with_config(path, &err);
    assert_int_equal(code, 3);
    H_ASSERT_CONTAINS(err, "no_such_key");
    free(err);
    free(path);
    free(broken);
    free(example);
}

static void
test_example_config_has_every_key(void **state)
{
    char *example = read_src("docs/pgmedic.ini.example");
    KeyTable table;
    IniFile ini;
    const char *const want_sections[] = {"pgmedic", "thresholds", "safety", "escalation",
                                         "serve",   "policy",     "alerts", NULL};

    (void) state;
    conf_keys(&table);
    ini_parse(example, &ini);
    for (size_t i = 0; i < table.n; i++)
    {
        const Key *k = &table.keys[i];
        const Key *got = ini_find(&ini, k->section, k->key);

        if (got == NULL)
            fail_msg("docs/pgmedic.ini.example lacks [%s] %s", k->section, k->key);
        if (strcmp(k->section, "target") != 0 && strcmp(got->dflt, k->dflt) != 0)
            fail_msg("docs/pgmedic.ini.example: [%s] %s = \"%s\", but the default is \"%s\"",
                     k->section, k->key, got->dflt, k->dflt);
    }
    /* Nothing that is not a key (ini_find both ways). */
    for (size_t i = 0; i < ini.n; i++)
    {
        bool known = false;

        for (size_t j = 0; j < table.n && !known; j++)
            known = strcmp(table.keys[j].section, ini.keys[i].section) == 0 &&
                    strcmp(table.keys[j].key, ini.keys[i].key) == 0;
        if (!known)
            fail_msg("docs/pgmedic.ini.example: [%s] %s is no key of src/conf/conf.c",
                     ini.keys[i].section, ini.keys[i].key);
    }
    assert_true(ini.n_targets >= 2);
    for (size_t i = 0; want_sections[i] != NULL; i++)
        if (!list_has(&ini.sections, want_sections[i]))
            fail_msg("docs/pgmedic.ini.example lacks [%s]", want_sections[i]);
    list_free(&ini.sections);
    free(example);
}

/* ---------------------------------------------------------------- man page */

/*
 * The text of the man page from the line ".Sh title" (or ".Ss title") to the
 * next heading of the same level or above; NULL when there is none.
 */
static char *
man_part(const char *man, const char *macro, const char *title)
{
    char head[128];
    const char *p = man, *end;

    snprintf(head, sizeof(head), "\n%s %s\n", macro, title);
    if (strncmp(man, head + 1, strlen(head + 1)) == 0)
        p = man + strlen(head + 1); /* at the very start (man is itself a part) */
    else if ((p = strstr(man, head)) != NULL)
        p += strlen(head);
    else
        return NULL;
    for (end = p; *end != '\0'; end++)
        if (end[0] == '\n' && end[1] == '.' &&
            (strncmp(end + 1, ".Sh ", 4) == 0 ||
             (strcmp(macro, ".Ss") == 0 && strncmp(end + 1, ".Ss ", 4) == 0)))
            break;
    return strndup(p, (size_t) (end - p));
}

static void
test_man_page_sections_and_commands(void **state)
{
    char *man = read_src("docs/pgmedic.1"), *commands, *env;
    const char *const sections[] = {"NAME",     "SYNOPSIS",      "DESCRIPTION",     "COMMANDS",
                                    "FINDINGS", "CONFIGURATION", "LEAST PRIVILEGE", "ENVIRONMENT",
                                    "FILES",    "EXIT STATUS",   "EXAMPLES",        "SEE ALSO",
                                    NULL};
    const char *const env_vars[] = {"PGHOST",         "PGPORT",   "PGUSER", "PGDATABASE",
                                    "PGMEDIC_CONFIG", "NO_COLOR", "HOME",   NULL};
    List cmds = {0};

    (void) state;
    assert_non_null(strstr(man, "\n.Dt PGMEDIC 1\n"));
    for (size_t i = 0; sections[i] != NULL; i++)
    {
        char *part = man_part(man, ".Sh", sections[i]);

        if (part == NULL)
            fail_msg("docs/pgmedic.1 has no section %s", sections[i]);
        free(part);
    }
    commands = man_part(man, ".Sh", "COMMANDS");
    help_commands(&cmds);
    for (size_t i = 0; i < cmds.n; i++)
    {
        char *part = man_part(commands, ".Ss", cmds.items[i]);
        List opts = {0};

        if (part == NULL)
            fail_msg("docs/pgmedic.1: no \".Ss %s\" under COMMANDS", cmds.items[i]);
        /* Every long option of the command, somewhere in the page. */
        help_options(cmds.items[i], &opts);
        for (size_t j = 0; j < opts.n; j++)
        {
            char fl[128];

            snprintf(fl, sizeof(fl), "Fl -%s", opts.items[j] + 2);
            if (strstr(man, fl) == NULL)
                fail_msg("docs/pgmedic.1 does not document \"pgmedic %s %s\"", cmds.items[i],
                         opts.items[j]);
        }
        list_free(&opts);
        free(part);
    }
    env = man_part(man, ".Sh", "ENVIRONMENT");
    for (size_t i = 0; env_vars[i] != NULL; i++)
        H_ASSERT_CONTAINS(env, env_vars[i]);
    free(env);
    list_free(&cmds);
    free(commands);
    free(man);
}

static void
test_man_page_configuration(void **state)
{
    char *man = read_src("docs/pgmedic.1");
    char *conf = man_part(man, ".Sh", "CONFIGURATION");
    KeyTable table;

    (void) state;
    assert_non_null(conf);
    conf_keys(&table);
    for (size_t i = 0; i < table.n; i++)
    {
        const Key *k = &table.keys[i];
        char title[96], item[128];
        char *part, *line;

        snprintf(title, sizeof(title), "\\&[%s]\\&",
                 strcmp(k->section, "target") == 0 ? "target NAME" : k->section);
        part = man_part(conf, ".Ss", title);
        if (part == NULL)
            fail_msg("docs/pgmedic.1: no \".Ss %s\" under CONFIGURATION", title);
        snprintf(item, sizeof(item), "\n.It Cm %s No = ", k->key);
        line = strstr(part, item);
        if (line == NULL)
            fail_msg("docs/pgmedic.1: [%s] %s is not documented (\"%s\")", k->section, k->key,
                     item + 1);
        line = strndup(line + 1, strcspn(line + 1, "\n"));
        if (k->dflt[0] != '\0'
                ? strstr(line, k->dflt) == NULL
                : strstr(line, "(empty)") == NULL && strstr(line, "Pq empty") == NULL)
            fail_msg("docs/pgmedic.1: \"%s\" does not give the default \"%s\"", line, k->dflt);
        free(line);
        free(part);
    }
    free(conf);
    free(man);
}

static void
test_man_page_least_privilege(void **state)
{
    char *man = read_src("docs/pgmedic.1");
    char *part = man_part(man, ".Sh", "LEAST PRIVILEGE");
    const char *const grants[] = {
        "GRANT pg_monitor TO pgmedic;",
        "GRANT pg_signal_backend TO pgmedic;",
        "GRANT pg_use_reserved_connections TO",
        "GRANT EXECUTE ON FUNCTION pg_catalog.pg_current_logfile() TO pgmedic;",
        "GRANT ALTER SYSTEM ON PARAMETER log_min_duration_statement TO pgmedic;",
        "GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO pgmedic;",
        NULL};

    (void) state;
    assert_non_null(part);
    for (size_t i = 0; grants[i] != NULL; i++)
        H_ASSERT_CONTAINS(part, grants[i]);
    free(part);
    free(man);
}

static void
test_man_page_lint(void **state)
{
    const char *mandoc = which("mandoc");
    HRun r;

    (void) state;
    if (mandoc == NULL)
    {
        print_message("mandoc not installed (Debian package \"mandoc\"): lint skipped\n");
        skip();
    }
    {
        const char *const argv[] = {mandoc, "-Tlint", "-W", "warning", src_path("docs/pgmedic.1"),
                                    NULL};

        assert_int_equal(h_exec(&r, NULL, argv, NULL, 60.0), 0);
    }
    /* Only notes about the system's mandoc.db may appear (Xr to pages not indexed). */
    for (const char *p = r.err; *p != '\0';)
    {
        size_t len = strcspn(p, "\n");

        if (len > 0 && strstr(p, "mandoc.db") == NULL)
        {
            h_run_dump(&r, "mandoc -Tlint");
            fail_msg("mandoc -Tlint: %.*s", (int) len, p);
        }
        p += len + (p[len] == '\n');
    }
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);

    /* It renders: the page's sections come out as text (markdown: no overstrike). */
    {
        const char *const argv[] = {mandoc, "-Tmarkdown", src_path("docs/pgmedic.1"), NULL};

        assert_int_equal(h_exec(&r, NULL, argv, NULL, 60.0), 0);
    }
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "LEAST PRIVILEGE");
    H_ASSERT_CONTAINS(r.out, "EXIT STATUS");
    h_run_free(&r);
}

/* ------------------------------------------------------------- findings */

/* The finding kinds: literals in begin()/finding_begin() calls, and the failure names. */
static void
finding_kinds(List *out)
{
    char *diag = read_src("src/core/diagnose.c"), *snap = read_src("src/core/snapshot.c");
    const char *p, *names;

    for (p = diag; (p = strstr(p, "begin(")) != NULL; p += 6)
    {
        const char *semi = strchr(p, ';'), *quote = strchr(p, '"');

        if (quote != NULL && semi != NULL && quote < semi)
            list_add_unique(out, quote + 1, strcspn(quote + 1, "\""));
    }
    names = strstr(snap, "failure_names[] = {");
    assert_non_null(names);
    for (p = names; (p = strstr(p, "] = \"")) != NULL && p < strstr(names, "};"); p += 5)
        if (strncmp(p + 5, "ok\"", 3) != 0)
            list_add_unique(out, p + 5, strcspn(p + 5, "\""));
    free(diag);
    free(snap);
    assert_true(out->n >= 20); /* 22 when this test was written */
    assert_true(list_has(out, "connection_leak"));
    assert_true(list_has(out, "unexplained"));
    assert_true(list_has(out, "server_down"));
}

/* True when a ".It Cm a , b , ..." line of text names word. */
static bool
has_item(const char *text, const char *word)
{
    for (const char *p = text; (p = strstr(p, "\n.It Cm ")) != NULL;)
    {
        char line[512], *tok, *save = NULL;

        p += strlen("\n.It Cm ");
        snprintf(line, sizeof(line), "%.*s", (int) strcspn(p, "\n"), p);
        for (tok = strtok_r(line, " ,", &save); tok != NULL; tok = strtok_r(NULL, " ,", &save))
            if (strcmp(tok, word) == 0)
                return true;
    }
    return false;
}

static void
test_findings_documented(void **state)
{
    char *alerts = read_src("docs/alerts.md"), *man = read_src("docs/pgmedic.1");
    char *findings = man_part(man, ".Sh", "FINDINGS");
    List kinds = {0};

    (void) state;
    assert_non_null(findings);
    finding_kinds(&kinds);
    for (size_t i = 0; i < kinds.n; i++)
    {
        char heading[128];

        snprintf(heading, sizeof(heading), "\n### `%s`\n", kinds.items[i]);
        if (strstr(alerts, heading) == NULL)
            fail_msg("docs/alerts.md has no section \"### `%s`\"", kinds.items[i]);
        if (!has_item(findings, kinds.items[i]))
            fail_msg("docs/pgmedic.1 FINDINGS does not list %s", kinds.items[i]);
    }
    list_free(&kinds);
    free(findings);
    free(man);
    free(alerts);
}

/* -------------------------------------------------------- bash completion */

/*
 * Sources the completion in bash and calls it on words (the last one is
 * being completed); COMPREPLY into out.  env: extra entries (may be NULL).
 */
static void
complete_words(List *out, const char *const *env, const char *const *words)
{
    static const char script[] = "source \"$PGMEDIC_COMPLETION\" || exit 9\n"
                                 "COMP_WORDS=(\"$@\"); COMP_CWORD=$(($# - 1)); COMPREPLY=()\n"
                                 "_pgmedic || exit 8\n"
                                 "for w in \"${COMPREPLY[@]}\"; do printf '%s\\n' \"$w\"; done\n";
    char completion[H_PATH_MAX + 32];
    const char *argv[32], *allenv[8];
    size_t n = 0, e = 0;
    HRun r;

    snprintf(completion, sizeof(completion), "PGMEDIC_COMPLETION=%s",
             src_path("docs/pgmedic.bash-completion"));
    allenv[e++] = completion;
    for (size_t i = 0; env != NULL && env[i] != NULL && e < 7; i++)
        allenv[e++] = env[i];
    allenv[e] = NULL;
    argv[n++] = which("bash");
    argv[n++] = "--norc";
    argv[n++] = "-c";
    argv[n++] = script;
    argv[n++] = "bash";
    for (size_t i = 0; words[i] != NULL && n < 31; i++)
        argv[n++] = words[i];
    argv[n] = NULL;
    assert_int_equal(h_exec(&r, NULL, argv, allenv, 30.0), 0);
    if (r.exit_code != 0 || r.err_len != 0)
        h_run_dump(&r, "bash completion");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(r.err_len, 0);
    list_add_lines(out, r.out);
    h_run_free(&r);
}

#define COMPLETE(out, ...)                                                                         \
    do                                                                                             \
    {                                                                                              \
        const char *const words_[] = {__VA_ARGS__, NULL};                                          \
        complete_words((out), NULL, words_);                                                       \
    } while (0)

/* Asserts COMPREPLY for words is exactly the items of want (a space-separated list). */
static void
assert_completes(const char *want_text, const char *const *words)
{
    List got = {0}, want = {0};
    char what[256] = "";

    for (const char *p = want_text; *p != '\0';)
    {
        size_t len = strcspn(p, " ");

        if (len > 0)
            list_add(&want, p, len);
        p += len + (p[len] == ' ');
    }
    complete_words(&got, NULL, words);
    for (size_t i = 0; words[i] != NULL; i++)
    {
        strncat(what, words[i][0] ? words[i] : "<TAB>", sizeof(what) - strlen(what) - 2);
        strcat(what, " ");
    }
    assert_same_set(&got, &want, what);
    list_free(&got);
    list_free(&want);
}

#define ASSERT_COMPLETES(want, ...)                                                                \
    do                                                                                             \
    {                                                                                              \
        const char *const words_[] = {__VA_ARGS__, NULL};                                          \
        assert_completes((want), words_);                                                          \
    } while (0)

static void
test_completion_commands_and_options(void **state)
{
    List cmds = {0}, got = {0};

    (void) state;
    if (which("bash") == NULL)
        skip();
    ASSERT_COMPLETES("fix", "pgmedic", "fi");
    ASSERT_COMPLETES("serve status snapshot", "pgmedic", "s");

    help_commands(&cmds);
    COMPLETE(&got, "pgmedic", "");
    assert_subset(&cmds, &got, "pgmedic <TAB>");
    list_free(&got);

    /* Every long option of every command's --help, and its --format values. */
    for (size_t i = 0; i < cmds.n; i++)
    {
        List opts = {0}, formats = {0};

        help_options(cmds.items[i], &opts);
        COMPLETE(&got, "pgmedic", cmds.items[i], "--");
        assert_subset(&opts, &got, cmds.items[i]);
        list_free(&got);

        help_formats(cmds.items[i], &formats);
        if (formats.n > 0)
        {
            char what[64];

            snprintf(what, sizeof(what), "pgmedic %s --format <TAB>", cmds.items[i]);
            COMPLETE(&got, "pgmedic", cmds.items[i], "--format", "");
            assert_same_set(&got, &formats, what);
            list_free(&got);
            /* bash splits "--format=j" at "=" */
            COMPLETE(&got, "pgmedic", cmds.items[i], "--format", "=", "j");
            assert_int_equal(got.n, 1);
            assert_string_equal(got.items[0], "json");
            list_free(&got);
        }
        list_free(&formats);
        list_free(&opts);
    }
    /* Before a command: triage's options (the default command). */
    ASSERT_COMPLETES("--format --from", "pgmedic", "--f");
    list_free(&cmds);
}

/* The actions listed after "Actions:" in `pgmedic fix --help`. */
static void
fix_actions(List *out)
{
    HRun r;
    const char *p;

    RUN(&r, "fix", "--help");
    H_ASSERT_EXIT(&r, 0);
    p = strstr(r.out, "\nActions: ");
    assert_non_null(p);
    p += strlen("\nActions: ");
    while (*p != '\0' && !(p[0] == '\n' && p[1] == '\n'))
    {
        size_t len = strcspn(p, " ,.\n[");

        if (len > 0 && islower((unsigned char) p[0]))
            list_add_unique(out, p, len);
        p += len;
        p += strcspn(p, ",\n"); /* the arguments: "[TABLE]...", "'SCHEMA...'", "on|off" */
        p += strspn(p, ", ");
        if (p[0] == '\n' && p[1] != '\n')
            p++;
    }
    h_run_free(&r);
    assert_true(out->n >= 10);
}

/* The subcommands of the "Usage:" lines of `pgmedic incident --help`. */
static void
incident_subcommands(List *out)
{
    HRun r;
    const char *p;

    RUN(&r, "incident", "--help");
    H_ASSERT_EXIT(&r, 0);
    for (p = r.out; (p = strstr(p, "\n  pgmedic incident ")) != NULL;)
    {
        p += strlen("\n  pgmedic incident ");
        if (islower((unsigned char) p[0]))
            list_add_unique(out, p, strcspn(p, " \n"));
    }
    h_run_free(&r);
    assert_true(out->n >= 7);
}

static void
test_completion_arguments(void **state)
{
    List want = {0}, got = {0};
    KeyTable table;

    (void) state;
    if (which("bash") == NULL)
        skip();
    fix_actions(&want);
    COMPLETE(&got, "pgmedic", "fix", "");
    assert_same_set(&got, &want, "pgmedic fix <TAB>");
    list_free(&got);
    list_free(&want);
    ASSERT_COMPLETES("terminate-idle terminate-idle-in-transaction terminate-blockers", "pgmedic",
                     "fix", "--apply", "te");
    ASSERT_COMPLETES("on off", "pgmedic", "fix", "slow-log", "");
    ASSERT_COMPLETES("", "pgmedic", "fix", "terminate-idle", "");

    incident_subcommands(&want);
    COMPLETE(&got, "pgmedic", "incident", "");
    assert_same_set(&got, &want, "pgmedic incident <TAB>");
    list_free(&got);
    list_free(&want);

    ASSERT_COMPLETES("DatabaseConnectionFailure DatabaseHighConnections DatabaseSlowQueries",
                     "pgmedic", "incident", "open", "--alert", "");

    /* --set: every key outside [target], followed by "=". */
    conf_keys(&table);
    for (size_t i = 0; i < table.n; i++)
        if (strcmp(table.keys[i].section, "target") != 0)
        {
            char key[80];

            snprintf(key, sizeof(key), "%s=", table.keys[i].key);
            list_add(&want, key, strlen(key));
        }
    COMPLETE(&got, "pgmedic", "check", "--set", "");
    assert_same_set(&got, &want, "pgmedic check --set <TAB>");
    list_free(&got);
    list_free(&want);
    ASSERT_COMPLETES("lock_wait=", "pgmedic", "--set", "lock_w");

    ASSERT_COMPLETES("analyze,vacuum analyze,vacuum_freeze", "pgmedic", "maintain", "--only",
                     "analyze,va");
    ASSERT_COMPLETES("sessions locks findings", "pgmedic", "top", "--view", "");

    /* After an option, the default command: no command names. */
    ASSERT_COMPLETES("", "pgmedic", "-d", "db", "");
}

static void
test_completion_targets(void **state)
{
    char *conf = h_write_tmpfile("targets.ini", "[pgmedic]\ninterval = 15s\n"
                                                "[target alpha]\nconninfo = dbname=a\n"
                                                "[ target beta ]\nconninfo = dbname=b\n"
                                                "; [target commented]\n");
    char config_eq[H_PATH_MAX + 16], env_conf[H_PATH_MAX + 32];

    (void) state;
    if (which("bash") == NULL)
        skip();
    assert_non_null(conf);
    snprintf(config_eq, sizeof(config_eq), "--config=%s", conf);
    snprintf(env_conf, sizeof(env_conf), "PGMEDIC_CONFIG=%s", conf);

    ASSERT_COMPLETES("alpha beta", "pgmedic", "check", "-c", conf, "-t", "");
    ASSERT_COMPLETES("beta", "pgmedic", "-c", conf, "--target", "b");
    ASSERT_COMPLETES("alpha beta", "pgmedic", "fix", "restart", config_eq, "-t", "");
    /* bash splits "--config=FILE" and "--target=" at "=" */
    ASSERT_COMPLETES("alpha", "pgmedic", "status", "--config", "=", conf, "--target", "=", "a");
    ASSERT_COMPLETES("", "pgmedic", "check", "-t", ""); /* no configuration: nothing */
    {
        const char *const env[] = {env_conf, NULL};
        const char *const words[] = {"pgmedic", "verify", "-t", "", NULL};
        List got = {0}, want = {0};

        list_add(&want, "alpha", 5);
        list_add(&want, "beta", 4);
        complete_words(&got, env, words);
        assert_same_set(&got, &want, "PGMEDIC_CONFIG=FILE pgmedic verify -t <TAB>");
        list_free(&got);
        list_free(&want);
    }
    free(conf);
}

/* -------------------------------------------------------- Grafana dashboard */

/* Every string value of key "expr", anywhere in v. */
static void
collect_exprs(json_t *v, List *out)
{
    if (json_is_object(v))
    {
        const char *key;
        json_t *value;

        json_object_foreach(v, key, value)
        {
            if (strcmp(key, "expr") == 0 && json_is_string(value))
                list_add(out, json_string_value(value), strlen(json_string_value(value)));
            else
                collect_exprs(value, out);
        }
    }
    else if (json_is_array(v))
    {
        size_t i;
        json_t *value;

        json_array_foreach(v, i, value) collect_exprs(value, out);
    }
}

static bool
metric_char(char c)
{
    return isalnum((unsigned char) c) || c == '_' || c == ':';
}

/* The pgmedic_* names in text (metric names, not parts of longer words). */
static void
pgmedic_names(const char *text, List *out)
{
    for (const char *p = text; (p = strstr(p, "pgmedic_")) != NULL;)
    {
        size_t len = 0;

        if (p > text && metric_char(p[-1]))
        {
            p++;
            continue;
        }
        while (metric_char(p[len]))
            len++;
        list_add_unique(out, p, len);
        p += len;
    }
}

/* The metric families src/render/metrics.c writes: its "pgmedic_..." literals before a comma. */
static void
exported_metrics(List *out)
{
    char *src = read_src("src/render/metrics.c");

    for (const char *p = src; (p = strstr(p, "\"pgmedic_")) != NULL; p++)
    {
        size_t len = strcspn(p + 1, "\"");

        if (p[1 + len] == '"' && p[2 + len] == ',')
            list_add_unique(out, p + 1, len);
    }
    free(src);
    assert_true(out->n >= 20); /* 24 when this test was written */
}

static void
test_grafana_dashboard(void **state)
{
    json_error_t jerr;
    json_t *dash = json_load_file(src_path("docs/grafana-dashboard.json"), 0, &jerr), *vars, *var;
    List exprs = {0}, exported = {0}, used = {0};
    const char *const wanted[] = {"pgmedic_up",
                                  "pgmedic_connections",
                                  "pgmedic_connection_slots_usable",
                                  "pgmedic_longest_query_seconds",
                                  "pgmedic_longest_transaction_seconds",
                                  "pgmedic_longest_idle_in_transaction_seconds",
                                  "pgmedic_lock_waiting_sessions",
                                  "pgmedic_lock_chain_max_depth",
                                  "pgmedic_dead_tuples",
                                  "pgmedic_stale_statistics_tables",
                                  "pgmedic_wal_bytes",
                                  "pgmedic_max_wal_size_bytes",
                                  "pgmedic_alert_firing",
                                  "pgmedic_probe_duration_seconds",
                                  "pgmedic_probe_errors_total",
                                  NULL};
    bool has_target = false;
    size_t i;

    (void) state;
    if (dash == NULL)
        fail_msg("docs/grafana-dashboard.json:%d: %s", jerr.line, jerr.text);
    assert_true(json_integer_value(json_object_get(dash, "schemaVersion")) >= 36);
    assert_string_equal(json_string_value(json_object_get(dash, "uid")), "pgmedic");
    vars = json_object_get(json_object_get(dash, "templating"), "list");
    json_array_foreach(vars, i, var)
    {
        json_t *query = json_object_get(var, "query");
        const char *q = json_is_object(query) ? json_string_value(json_object_get(query, "query"))
                                              : json_string_value(query);

        if (strcmp(json_string_value(json_object_get(var, "name")), "target") == 0)
        {
            assert_non_null(q);
            assert_string_equal(q, "label_values(pgmedic_up, target)");
            has_target = true;
        }
    }
    assert_true(has_target);

    collect_exprs(dash, &exprs);
    assert_true(exprs.n >= 15);
    exported_metrics(&exported);
    for (i = 0; i < exprs.n; i++)
    {
        List names = {0};

        pgmedic_names(exprs.items[i], &names);
        if (names.n == 0)
            fail_msg("docs/grafana-dashboard.json: expr without a pgmedic metric: %s",
                     exprs.items[i]);
        for (size_t j = 0; j < names.n; j++)
        {
            if (!list_has(&exported, names.items[j]))
                fail_msg("docs/grafana-dashboard.json: %s is not written by "
                         "src/render/metrics.c (in: %s)",
                         names.items[j], exprs.items[i]);
            list_add_unique(&used, names.items[j], strlen(names.items[j]));
        }
        if (strstr(exprs.items[i], "$target") == NULL)
            fail_msg("docs/grafana-dashboard.json: expr ignores $target: %s", exprs.items[i]);
        list_free(&names);
    }
    for (i = 0; wanted[i] != NULL; i++)
        if (!list_has(&used, wanted[i]))
            fail_msg("docs/grafana-dashboard.json: no panel shows %s", wanted[i]);

    /* PromQL syntax: promtool parses each expr as a recording rule. */
    if (which("promtool") != NULL)
    {
        size_t cap = 64;
        char *yml = malloc(cap), *path;
        const char *const *argv;
        HRun r;

        assert_non_null(yml);
        strcpy(yml, "groups:\n  - name: dashboard\n    rules:\n");
        for (i = 0; i < exprs.n; i++)
        {
            char *a = h_replace_all(exprs.items[i], "$__rate_interval", "5m");
            char *b = h_replace_all(a, "$target", ".*");
            char *c = h_replace_all(b, "'", "''");
            size_t need = strlen(yml) + strlen(c) + 128;

            if (need > cap)
            {
                cap = 2 * need;
                yml = realloc(yml, cap);
                assert_non_null(yml);
            }
            snprintf(yml + strlen(yml), cap - strlen(yml),
                     "      - record: dashboard:expr_%zu\n        expr: '%s'\n", i, c);
            free(a);
            free(b);
            free(c);
        }
        path = h_write_tmpfile("dashboard-rules.yml", yml);
        assert_non_null(path);
        {
            const char *const args[] = {which("promtool"), "check", "rules", path, NULL};

            argv = args;
            assert_int_equal(h_exec(&r, NULL, argv, NULL, 60.0), 0);
        }
        if (r.exit_code != 0)
            h_run_dump(&r, "promtool check rules (the dashboard's exprs)");
        H_ASSERT_EXIT(&r, 0);
        h_run_free(&r);
        free(path);
        free(yml);
    }
    else
        print_message("promtool not installed: PromQL syntax of the dashboard not checked\n");
    list_free(&used);
    list_free(&exported);
    list_free(&exprs);
    json_decref(dash);
}

/* --------------------------------------------------------- make install */

/* Every regular file under dir (paths relative to it, "MODE path"), sorted by find order. */
static void
files_under(const char *dir, List *out)
{
    const char *const argv[] = {which("find"), dir, "-type", "f", "-printf", "%P %m\\n", NULL};
    HRun r;

    assert_int_equal(h_exec(&r, NULL, argv, NULL, 30.0), 0);
    H_ASSERT_EXIT(&r, 0);
    list_add_lines(out, r.out);
    h_run_free(&r);
}

/* make -C SRCDIR BUILD=<the binary's directory> -o <the binary> TARGET VARS... */
static void
run_make(HRun *r, const char *build, const char *const *vars)
{
    char build_var[H_PATH_MAX + 8], bin[H_PATH_MAX + 16];
    const char *argv[16];
    /* An outer make (make check) must not pass its jobserver or flags down. */
    const char *const env[] = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", NULL};
    size_t n = 0;

    snprintf(build_var, sizeof(build_var), "BUILD=%s", build);
    snprintf(bin, sizeof(bin), "%s/pgmedic", build);
    argv[n++] = which("make");
    argv[n++] = "--no-print-directory";
    argv[n++] = "-C";
    argv[n++] = h_srcdir();
    argv[n++] = build_var;
    argv[n++] = "-o"; /* install what is built: never rebuild here */
    argv[n++] = bin;
    for (size_t i = 0; vars[i] != NULL && n < 15; i++)
        argv[n++] = vars[i];
    argv[n] = NULL;
    assert_int_equal(h_exec(r, NULL, argv, env, 120.0), 0);
    if (r->exit_code != 0)
        h_run_dump(r, "make");
    H_ASSERT_EXIT(r, 0);
}

static void
test_make_install_uninstall(void **state)
{
    char bin[PATH_MAX], build[PATH_MAX], destdir[H_PATH_MAX], dest_var[H_PATH_MAX + 16];
    char path[H_PATH_MAX * 2];
    const char *security = NULL;
    List got = {0}, want = {0};
    char *text;
    HRun r;

    (void) state;
    if (which("make") == NULL)
        skip();
    if (realpath(h_bin(), bin) == NULL || strcmp(strrchr(bin, '/'), "/pgmedic") != 0)
    {
        /* A wrapper (tests/valgrind-exec): there is no build directory to install from. */
        print_message("PGMEDIC_BIN is not BUILD/pgmedic: make install not tested\n");
        skip();
    }
    snprintf(build, sizeof(build), "%.*s", (int) (strrchr(bin, '/') - bin), bin);
    snprintf(destdir, sizeof(destdir), "%s/destdir", h_tmproot());
    snprintf(dest_var, sizeof(dest_var), "DESTDIR=%s", destdir);

    {
        const char *const vars[] = {"install", dest_var, "PREFIX=/usr", NULL};

        run_make(&r, build, vars);
        h_run_free(&r);
    }
    list_add_lines(&want, "usr/bin/pgmedic 755\n"
                          "usr/share/man/man1/pgmedic.1 644\n"
                          "usr/share/bash-completion/completions/pgmedic 644\n"
                          "usr/lib/systemd/system/pgmedic.service 644\n"
                          "usr/share/doc/pgmedic/README.md 644\n"
                          "usr/share/doc/pgmedic/pgmedic.ini.example 644\n"
                          "usr/share/doc/pgmedic/alerts.md 644\n"
                          "usr/share/doc/pgmedic/grafana-dashboard.json 644\n");
    snprintf(path, sizeof(path), "%s/SECURITY.md", h_srcdir());
    if (access(path, R_OK) == 0)
        security = "usr/share/doc/pgmedic/SECURITY.md 644";
    snprintf(path, sizeof(path), "%s/docs/SECURITY.md", h_srcdir());
    if (access(path, R_OK) == 0)
        security = "usr/share/doc/pgmedic/SECURITY.md 644";
    if (security != NULL)
        list_add(&want, security, strlen(security));
    files_under(destdir, &got);
    print_message("make install DESTDIR=%s PREFIX=/usr installed:\n", destdir);
    for (size_t i = 0; i < got.n; i++)
        print_message("  %s\n", got.items[i]);
    assert_same_set(&got, &want, "make install");
    list_free(&got);

    /* What was installed works, and points at PREFIX. */
    snprintf(path, sizeof(path), "%s/usr/bin/pgmedic", destdir);
    {
        const char *const argv[] = {path, "--version", NULL};

        assert_int_equal(h_exec(&r, NULL, argv, NULL, 30.0), 0);
    }
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "pgmedic ");
    h_run_free(&r);
    snprintf(path, sizeof(path), "%s/usr/lib/systemd/system/pgmedic.service", destdir);
    text = h_read_file(path, NULL);
    H_ASSERT_CONTAINS(text, "\nExecStart=/usr/bin/pgmedic serve -c /etc/pgmedic/pgmedic.ini\n");
    free(text);
    snprintf(path, sizeof(path), "%s/usr/share/man/man1/pgmedic.1", destdir);
    text = h_read_file(path, NULL);
    H_ASSERT_CONTAINS(text, "/usr/share/doc/pgmedic/pgmedic.ini.example");
    H_ASSERT_NOT_CONTAINS(text, "PREFIX/");
    free(text);

    {
        const char *const vars[] = {"uninstall", dest_var, "PREFIX=/usr", NULL};

        run_make(&r, build, vars);
        h_run_free(&r);
    }
    files_under(destdir, &got);
    assert_same_set(&got, &(List){0}, "after make uninstall");
    list_free(&got);

    /* PREFIX defaults to /usr/local. */
    snprintf(destdir, sizeof(destdir), "%s/destdir-default", h_tmproot());
    snprintf(dest_var, sizeof(dest_var), "DESTDIR=%s", destdir);
    {
        const char *const vars[] = {"install", dest_var, NULL};

        run_make(&r, build, vars);
        h_run_free(&r);
    }
    snprintf(path, sizeof(path), "%s/usr/local/bin/pgmedic", destdir);
    assert_int_equal(access(path, X_OK), 0);
    snprintf(path, sizeof(path), "%s/usr/local/lib/systemd/system/pgmedic.service", destdir);
    text = h_read_file(path, NULL);
    H_ASSERT_CONTAINS(text, "\nExecStart=/usr/local/bin/pgmedic serve ");
    free(text);
    {
        const char *const vars[] = {"uninstall", dest_var, NULL};

        run_make(&r, build, vars);
        h_run_free(&r);
    }
    files_under(destdir, &got);
    assert_int_equal(got.n, 0);
    list_free(&got);
    list_free(&want);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_config_loads),
        cmocka_unit_test(test_example_config_has_every_key),
        cmocka_unit_test(test_man_page_sections_and_commands),
        cmocka_unit_test(test_man_page_configuration),
        cmocka_unit_test(test_man_page_least_privilege),
        cmocka_unit_test(test_man_page_lint),
        cmocka_unit_test(test_findings_documented),
        cmocka_unit_test(test_completion_commands_and_options),
        cmocka_unit_test(test_completion_arguments),
        cmocka_unit_test(test_completion_targets),
        cmocka_unit_test(test_grafana_dashboard),
        cmocka_unit_test(test_make_install_uninstall),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
