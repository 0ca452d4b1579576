/*
 * conninfo_fuzz.c - connection options (src/pg/conn.c): the input's lines
 * are a target's conninfo, then -d, -h, -p and -U (a missing line is an
 * option not given); connspec_new() builds the spec through libpq's
 * PQconninfoParse(), then the spec is printed without its password and
 * the password is scrubbed from a text.
 *
 * Properties: no crash, no leak, no hang; a failure has a message; the
 * printed conninfo parses, and libpq reads from it exactly the pairs it
 * reads from the options given (later ones winning), but the password (a
 * printed -d goes into the commands triage suggests); after
 * connspec_scrub() the password is gone from the text (unless it is made
 * of the mask's own '*').
 */
#include <stdbool.h>

#include <libpq-fe.h>

#include "fuzz.h"
#include "pg/conn.h"

enum
{
    N_FIELDS = 5
};

static bool
only_stars(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s != '*')
            return false;
    return true;
}

/* The password of a conninfo string, as libpq reads it; NULL when it has none. */
static char *
password_of(const char *conninfo)
{
    PQconninfoOption *opts, *opt;
    char *errmsg = NULL;
    char *password = NULL;

    opts = PQconninfoParse(conninfo, &errmsg);
    if (opts == NULL)
    {
        PQfreemem(errmsg);
        return NULL;
    }
    for (opt = opts; opt->keyword != NULL; opt++)
        if (strcmp(opt->keyword, "password") == 0 && opt->val != NULL)
            password = strdup(opt->val);
    PQconninfoFree(opts);
    return password;
}

/* As conn.c decides whether -d is a conninfo string. */
static bool
is_conninfo(const char *text)
{
    return strchr(text, '=') != NULL || strncmp(text, "postgresql://", 13) == 0 ||
           strncmp(text, "postgres://", 11) == 0;
}

/* keyword = value pairs, as libpq would hold them (last one wins). */
typedef struct
{
    char *keywords[128];
    char *values[128];
    size_t n;
} Pairs;

static void
pairs_set(Pairs *p, const char *keyword, const char *value)
{
    size_t i;

    for (i = 0; i < p->n; i++)
    {
        if (strcmp(p->keywords[i], keyword) == 0)
        {
            free(p->values[i]);
            p->values[i] = strdup(value);
            FUZZ_CHECK(p->values[i] != NULL);
            return;
        }
    }
    FUZZ_CHECK(p->n < sizeof(p->keywords) / sizeof(p->keywords[0]));
    p->keywords[p->n] = strdup(keyword);
    p->values[p->n] = strdup(value);
    FUZZ_CHECK(p->keywords[p->n] != NULL && p->values[p->n] != NULL);
    p->n++;
}

/* Adds the pairs of a conninfo string that parses. */
static void
pairs_add_conninfo(Pairs *p, const char *conninfo)
{
    PQconninfoOption *opts, *opt;
    char *errmsg = NULL;

    opts = PQconninfoParse(conninfo, &errmsg);
    FUZZ_CHECK(opts != NULL);
    for (opt = opts; opt->keyword != NULL; opt++)
        if (opt->val != NULL)
            pairs_set(p, opt->keyword, opt->val);
    PQconninfoFree(opts);
}

static const char *
pairs_get(const Pairs *p, const char *keyword)
{
    size_t i;

    for (i = 0; i < p->n; i++)
        if (strcmp(p->keywords[i], keyword) == 0)
            return p->values[i];
    return NULL;
}

static void
pairs_free(Pairs *p)
{
    size_t i;

    for (i = 0; i < p->n; i++)
    {
        free(p->keywords[i]);
        free(p->values[i]);
    }
    p->n = 0;
}

/* Every pair of want but its password is in got with the same value, and nothing else. */
static bool
pairs_same_but_password(const Pairs *want, const Pairs *got)
{
    size_t i, n_want = 0;

    for (i = 0; i < want->n; i++)
    {
        const char *v;

        if (strcmp(want->keywords[i], "password") == 0)
            continue;
        n_want++;
        v = pairs_get(got, want->keywords[i]);
        if (v == NULL || strcmp(v, want->values[i]) != 0)
            return false;
    }
    return n_want == got->n;
}

static void
check_spec(const ConnSpec *spec, const char *const fields[N_FIELDS])
{
    const char *target_conninfo = fields[0], *dbname = fields[1];
    char *printed = connspec_conninfo_without_password(spec);
    Pairs want, got;

    FUZZ_CHECK(printed != NULL);
    /* What connspec_new() was given, as libpq reads it... */
    memset(&want, 0, sizeof(want));
    if (target_conninfo != NULL && target_conninfo[0] != '\0')
        pairs_add_conninfo(&want, target_conninfo);
    if (dbname != NULL && is_conninfo(dbname))
        pairs_add_conninfo(&want, dbname);
    else if (dbname != NULL)
        pairs_set(&want, "dbname", dbname);
    if (fields[2] != NULL)
        pairs_set(&want, "host", fields[2]);
    if (fields[3] != NULL)
        pairs_set(&want, "port", fields[3]);
    if (fields[4] != NULL)
        pairs_set(&want, "user", fields[4]);
    /*
     * ...is what the printed conninfo says, but the password (needs_quotes()
     * quotes every separator libpq knows, \v \f \r included: fixed).
     */
    memset(&got, 0, sizeof(got));
    {
        PQconninfoOption *opts;
        char *errmsg = NULL;

        opts = PQconninfoParse(printed, &errmsg);
        if (opts == NULL)
        {
            fprintf(stderr, "printed: %s\nerror: %s\n", printed, errmsg ? errmsg : "?");
            FUZZ_FAIL("the printed conninfo parses");
        }
        PQconninfoFree(opts);
        pairs_add_conninfo(&got, printed);
        if (!pairs_same_but_password(&want, &got))
        {
            fprintf(stderr, "printed: %s\n", printed);
            FUZZ_FAIL("the printed conninfo says what was given, without the password");
        }
    }
    pairs_free(&want);
    pairs_free(&got);
    free(printed);

    /* A libpq message may quote the password: scrubbed, it is gone. */
    if (connspec_has_password(spec))
    {
        /* -d's password wins over the target's, as in connspec_new(). */
        char *password = dbname != NULL && is_conninfo(dbname) ? password_of(dbname) : NULL;
        size_t size = strlen(target_conninfo != NULL ? target_conninfo : "") +
                      strlen(dbname != NULL ? dbname : "") + 64;
        char *text = malloc(size);

        if (password == NULL && target_conninfo != NULL)
            password = password_of(target_conninfo);
        FUZZ_CHECK(password != NULL && text != NULL);
        snprintf(text, size, "FATAL: %s rejected for \"%s\"",
                 target_conninfo != NULL ? target_conninfo : "", dbname != NULL ? dbname : "");
        /* A password made only of '*' once made it loop on its own mask: fixed. */
        connspec_scrub(spec, text);
        /* (A password of stars cannot be told from the mask, by design.) */
        if (!only_stars(password))
            FUZZ_CHECK(strstr(text, password) == NULL);
        free(password);
        free(text);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    const char *fields[N_FIELDS] = {NULL, NULL, NULL, NULL, NULL};
    char *line = text;
    ConnSpec *spec;
    PmError err;
    int i;

    for (i = 0; i < N_FIELDS && line != NULL; i++)
    {
        char *next = strchr(line, '\n');

        if (next != NULL)
            *next++ = '\0';
        fields[i] = line;
        line = next;
    }
    memset(&err, 0, sizeof(err));
    spec = connspec_new(fields[0], fields[1], fields[2], fields[3], fields[4], &err);
    if (spec == NULL)
        FUZZ_CHECK(err.message[0] != '\0');
    else
    {
        check_spec(spec, fields);
        connspec_free(spec);
    }
    free(text);
    return 0;
}
