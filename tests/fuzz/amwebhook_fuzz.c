/*
 * amwebhook_fuzz.c - Alertmanager's webhook payload, as POST
 * /api/v1/alertmanager receives it: amwebhook_parse() with the default
 * target label, and with none.
 *
 * Properties (amwebhook.h's contract): no crash, no leak; a failure is one
 * clean line and leaves *out zeroed; a success has an array for its alerts,
 * each with a status "firing" or "resolved", and the group status, when
 * present, is one of those too.
 */
#include <stdbool.h>

#include "core/amwebhook.h"
#include "fuzz.h"

static bool
is_status(const char *s)
{
    return s != NULL && (strcmp(s, "firing") == 0 || strcmp(s, "resolved") == 0);
}

static void
parse_once(const uint8_t *data, size_t size, const char *target_label)
{
    Arena *arena = arena_new();
    AmPayload p;
    PmError err;
    size_t i;

    FUZZ_CHECK(arena != NULL);
    memset(&err, 0, sizeof(err));
    if (amwebhook_parse((const char *) data, size, target_label, arena, &p, &err) != 0)
    {
        FUZZ_CHECK(err.message[0] != '\0');
        if (!fuzz_one_clean_line(err.message))
        {
            fprintf(stderr, "message: %s\n", err.message);
            FUZZ_FAIL("an error is one clean line");
        }
        FUZZ_CHECK(p.n_alerts == 0 && p.alerts == NULL && p.status == NULL && p.receiver == NULL &&
                   p.group_key == NULL);
    }
    else
    {
        FUZZ_CHECK((p.n_alerts == 0) == (p.alerts == NULL));
        FUZZ_CHECK(p.status == NULL || is_status(p.status));
        for (i = 0; i < p.n_alerts; i++)
        {
            const AmAlert *a = &p.alerts[i];

            FUZZ_CHECK(is_status(a->status));
            /* Reading every string: ASan checks each lives in the arena. */
            FUZZ_CHECK(a->alertname == NULL || strlen(a->alertname) < size);
            FUZZ_CHECK(a->target == NULL || strlen(a->target) < size);
            FUZZ_CHECK(a->severity == NULL || strlen(a->severity) < size);
            FUZZ_CHECK(a->summary == NULL || strlen(a->summary) < size);
            FUZZ_CHECK(a->starts_at == NULL || strlen(a->starts_at) < size);
            FUZZ_CHECK(a->fingerprint == NULL || strlen(a->fingerprint) < size);
        }
    }
    arena_free(arena);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parse_once(data, size, "target");
    parse_once(data, size, NULL);
    return 0;
}
