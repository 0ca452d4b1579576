/*
 * amwebhook.c - Alertmanager's webhook payload (version 4), read with
 * jansson.
 *
 * Strict where pgmedic acts on the content: the payload is an object,
 * "alerts" an array of objects, every label and annotation a string, each
 * alert's status "firing" or "resolved".  Lenient about what it does not
 * use or what may be absent: unknown fields are ignored, absent optional
 * strings are NULL.  Errors name the offending field the way a person
 * would look for it: "alerts[2].labels.severity" is not a string.
 */
#include "core/amwebhook.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
    Arena *arena;
    PmError *err;
} Reader;

/* A key from the payload as it may appear in a message: short and printable. */
static void
shown_key(char *dst, size_t size, const char *key)
{
    size_t i = 0;

    for (; *key != '\0' && i + 1 < size; key++)
    {
        unsigned char c = (unsigned char) *key;

        dst[i++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char) c : '?';
    }
    dst[i] = '\0';
}

/*
 * An optional string member of obj copied into the arena: 0 with *out NULL
 * when absent or null, -1 when it is something else ("where" names obj).
 */
static int
get_string(Reader *r, json_t *obj, const char *where, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
    {
        pm_error_set(r->err, "\"%s%s%s\" is not a string", where, where[0] ? "." : "", key);
        return -1;
    }
    *out = arena_strndup(r->arena, json_string_value(v), json_string_length(v));
    if (*out == NULL)
    {
        pm_error_set(r->err, "out of memory");
        return -1;
    }
    return 0;
}

/* An optional member that, when present, must be an object of strings. */
static int
check_string_map(Reader *r, json_t *obj, const char *where, const char *key, json_t **out)
{
    json_t *map = json_object_get(obj, key);
    const char *k;
    json_t *v;

    *out = NULL;
    if (map == NULL || json_is_null(map))
        return 0;
    if (!json_is_object(map))
    {
        pm_error_set(r->err, "\"%s.%s\" is not an object", where, key);
        return -1;
    }
    json_object_foreach(map, k, v)
    {
        if (!json_is_string(v))
        {
            char shown[64];

            shown_key(shown, sizeof(shown), k);
            pm_error_set(r->err, "\"%s.%s.%s\" is not a string", where, key, shown);
            return -1;
        }
    }
    *out = map;
    return 0;
}

/* A label or annotation from a checked map, copied into the arena; NULL when absent. */
static int
map_string(Reader *r, json_t *map, const char *key, const char **out)
{
    json_t *v = map != NULL && key != NULL ? json_object_get(map, key) : NULL;

    *out = NULL;
    if (v == NULL)
        return 0;
    *out = arena_strndup(r->arena, json_string_value(v), json_string_length(v));
    if (*out == NULL)
    {
        pm_error_set(r->err, "out of memory");
        return -1;
    }
    return 0;
}

static bool
is_status(const char *s)
{
    return strcmp(s, "firing") == 0 || strcmp(s, "resolved") == 0;
}

static int
read_alert(Reader *r, json_t *obj, size_t index, const char *target_label, AmAlert *alert)
{
    char where[32];
    json_t *labels;
    json_t *annotations;
    const char *ignored;

    snprintf(where, sizeof(where), "alerts[%zu]", index);
    if (!json_is_object(obj))
    {
        pm_error_set(r->err, "\"%s\" is not an object", where);
        return -1;
    }
    if (get_string(r, obj, where, "status", &alert->status) != 0)
        return -1;
    if (alert->status == NULL)
    {
        pm_error_set(r->err, "\"%s.status\" is missing", where);
        return -1;
    }
    if (!is_status(alert->status))
    {
        pm_error_set(r->err, "\"%s.status\" is neither \"firing\" nor \"resolved\"", where);
        return -1;
    }
    if (check_string_map(r, obj, where, "labels", &labels) != 0 ||
        check_string_map(r, obj, where, "annotations", &annotations) != 0)
        return -1;
    if (map_string(r, labels, "alertname", &alert->alertname) != 0 ||
        map_string(r, labels, "severity", &alert->severity) != 0 ||
        map_string(r, annotations, "summary", &alert->summary) != 0)
        return -1;
    if (target_label != NULL && target_label[0] != '\0' &&
        map_string(r, labels, target_label, &alert->target) != 0)
        return -1;
    if (alert->target == NULL && map_string(r, labels, "instance", &alert->target) != 0)
        return -1;
    if (get_string(r, obj, where, "startsAt", &alert->starts_at) != 0 ||
        get_string(r, obj, where, "fingerprint", &alert->fingerprint) != 0)
        return -1;
    /* Unused, but a wrong type means the payload is not what we think it is. */
    if (get_string(r, obj, where, "endsAt", &ignored) != 0 ||
        get_string(r, obj, where, "generatorURL", &ignored) != 0)
        return -1;
    return 0;
}

static int
read_payload(Reader *r, json_t *root, const char *target_label, AmPayload *out)
{
    json_t *alerts;
    const char *version;
    size_t i;

    if (!json_is_object(root))
    {
        pm_error_set(r->err, "the webhook payload is not a JSON object");
        return -1;
    }
    if (get_string(r, root, "", "version", &version) != 0)
        return -1;
    if (version != NULL && strcmp(version, "4") != 0)
    {
        char shown[16];

        shown_key(shown, sizeof(shown), version);
        pm_error_set(r->err, "unsupported webhook payload version \"%s\"", shown);
        pm_error_detail(r->err, "Only version \"4\" is understood.");
        return -1;
    }
    if (get_string(r, root, "", "receiver", &out->receiver) != 0 ||
        get_string(r, root, "", "status", &out->status) != 0 ||
        get_string(r, root, "", "groupKey", &out->group_key) != 0)
        return -1;
    if (out->status != NULL && !is_status(out->status))
    {
        pm_error_set(r->err, "\"status\" is neither \"firing\" nor \"resolved\"");
        return -1;
    }
    alerts = json_object_get(root, "alerts");
    if (alerts == NULL)
    {
        pm_error_set(r->err, "\"alerts\" is missing");
        return -1;
    }
    if (!json_is_array(alerts))
    {
        pm_error_set(r->err, "\"alerts\" is not an array");
        return -1;
    }
    out->n_alerts = json_array_size(alerts);
    if (out->n_alerts == 0)
        return 0;
    out->alerts = arena_array(r->arena, out->n_alerts, sizeof(AmAlert));
    if (out->alerts == NULL)
    {
        pm_error_set(r->err, "out of memory");
        return -1;
    }
    for (i = 0; i < out->n_alerts; i++)
    {
        if (read_alert(r, json_array_get(alerts, i), i, target_label, &out->alerts[i]) != 0)
            return -1;
    }
    return 0;
}

int
amwebhook_parse(const char *body, size_t len, const char *target_label, Arena *arena,
                AmPayload *out, PmError *err)
{
    Reader r = {arena, err};
    json_error_t jerr;
    json_t *root;
    int rc;

    memset(out, 0, sizeof(*out));
    /* jansson's error init leaves the code byte (the last of text) unset until
     * an error is set: when lex_init fails, json_error_code() would read it
     * uninitialised (valgrind, make valgrind). */
    memset(&jerr, 0, sizeof(jerr));
    /* Duplicate keys would let one payload say two things about a label. */
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    /* jansson fails without a message when it cannot even set up its lexer. */
    if (root == NULL &&
        (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0'))
    {
        pm_error_set(err, "out of memory");
        return -1;
    }
    if (root == NULL)
    {
        char *c;

        /* jansson quotes the input near the error: keep the message one clean line. */
        for (c = jerr.text; *c != '\0'; c++)
        {
            if ((unsigned char) *c < 0x20 || *c == 0x7f)
                *c = '?';
        }
        pm_error_set(err, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                     jerr.text);
        return -1;
    }
    rc = read_payload(&r, root, target_label, out);
    json_decref(root);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}
