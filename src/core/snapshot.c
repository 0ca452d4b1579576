/*
 * snapshot.c - small questions asked of a snapshot.
 */
#include "core/snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "util/compiler.h"

static const char *const failure_names[] = {
    [CONN_OK] = "ok",
    [CONN_SERVER_DOWN] = "server_down",
    [CONN_TIMEOUT] = "timeout",
    [CONN_TOO_MANY_CLIENTS] = "too_many_clients",
    [CONN_CONNECTION_LIMIT] = "connection_limit",
    [CONN_AUTH_FAILURE] = "auth_failure",
    [CONN_DATABASE_MISSING] = "database_missing",
    [CONN_STARTING_UP] = "starting_up",
    [CONN_SHUTTING_DOWN] = "shutting_down",
    [CONN_IN_RECOVERY] = "in_recovery",
    [CONN_NO_ATTEMPT] = "no_attempt",
    [CONN_ERROR] = "error",
};

const char *
snapshot_failure_name(ConnFailure failure)
{
    if ((size_t) failure >= PM_LENGTHOF(failure_names) || failure_names[failure] == NULL)
        return "error";
    return failure_names[failure];
}

int
snapshot_failure_from_name(const char *name)
{
    size_t i;

    for (i = 0; i < PM_LENGTHOF(failure_names); i++)
        if (strcmp(failure_names[i], name) == 0)
            return (int) i;
    return -1;
}

int64_t
snapshot_usable_slots(const Snapshot *snap)
{
    int64_t usable = snap->max_connections - snap->superuser_reserved - snap->reserved;

    return usable > 0 ? usable : 0;
}

const Setting *
snapshot_setting(const Snapshot *snap, const char *name)
{
    size_t i;

    for (i = 0; i < snap->n_settings; i++)
        if (snap->settings[i].name && strcmp(snap->settings[i].name, name) == 0)
            return &snap->settings[i];
    return NULL;
}

const Session *
snapshot_session(const Snapshot *snap, int32_t pid)
{
    size_t i;

    for (i = 0; i < snap->n_sessions; i++)
        if (snap->sessions[i].pid == pid)
            return &snap->sessions[i];
    return NULL;
}

int64_t
snapshot_setting_bytes(const Snapshot *snap, const char *name)
{
    static const struct
    {
        const char *unit;
        int64_t bytes;
    } units[] = {
        {"B", 1},           {"kB", 1024},           {"8kB", 8192},
        {"16kB", 16384},    {"MB", 1024 * 1024},    {"16MB", 16 * 1024 * 1024},
        {"GB", 1024LL * 1024 * 1024}, {"TB", 1024LL * 1024 * 1024 * 1024},
    };
    const Setting *s = snapshot_setting(snap, name);
    char *end;
    long long value;
    size_t i;

    if (s == NULL || s->value == NULL || s->unit == NULL)
        return -1;
    value = strtoll(s->value, &end, 10);
    if (end == s->value || *end != '\0' || value < 0)
        return -1;
    for (i = 0; i < PM_LENGTHOF(units); i++)
        if (strcmp(s->unit, units[i].unit) == 0)
            return value * units[i].bytes;
    return -1;
}

bool
snapshot_state_is_idle_in_xact(const char *state)
{
    return state != NULL && strncmp(state, "idle in transaction", 19) == 0;
}

bool
snapshot_may_signal_superuser(const Snapshot *snap)
{
    return snap->is_superuser && !snap->via_reserved_slot;
}

bool
snapshot_take_inside(Snapshot *inside, const Snapshot *refused)
{
    if (inside->failure != CONN_OK)
        return false;
    inside->via_reserved_slot = true;
    inside->refused_message = refused->failure_message;
    inside->target = refused->target; /* the target is still the one refused */
    return true;
}
