/*
 * conf_compare.h - whether two Configs say the same, field by field (the
 * conf fuzz target and tests/unit/conf/alloc_conf_test.c).
 */
#ifndef PGMEDIC_TESTS_FUZZ_CONF_COMPARE_H
#define PGMEDIC_TESTS_FUZZ_CONF_COMPARE_H

#include <stdbool.h>
#include <string.h>

#include "conf/conf.h"

static inline bool
same_string(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

/* Every field of two loaded configurations is equal. */
static inline bool
same_config(const Config *a, const Config *b)
{
    size_t i;

    if (memcmp(&a->thresholds, &b->thresholds, sizeof(a->thresholds)) != 0 ||
        a->interval_ms != b->interval_ms || a->connect_timeout_ms != b->connect_timeout_ms ||
        a->query_timeout_ms != b->query_timeout_ms ||
        a->safety.max_terminations != b->safety.max_terminations ||
        a->escalation.escalate_after_ms != b->escalation.escalate_after_ms ||
        a->escalation.restart_wait_ms != b->escalation.restart_wait_ms ||
        a->escalation.verify_window_ms != b->escalation.verify_window_ms ||
        a->serve.top_applications != b->serve.top_applications ||
        a->serve.max_body != b->serve.max_body ||
        a->serve.probe_wait_ms != b->serve.probe_wait_ms ||
        memcmp(a->serve.for_ms, b->serve.for_ms, sizeof(a->serve.for_ms)) != 0 ||
        a->n_targets != b->n_targets)
        return false;
    if (!same_string(a->store, b->store) || !same_string(a->listen, b->listen) ||
        !same_string(a->safety.protect_applications, b->safety.protect_applications) ||
        !same_string(a->safety.protect_roles, b->safety.protect_roles) ||
        !same_string(a->escalation.contacts, b->escalation.contacts) ||
        !same_string(a->escalation.command, b->escalation.command) ||
        !same_string(a->serve.token_file, b->serve.token_file) ||
        !same_string(a->serve.auth, b->serve.auth) ||
        !same_string(a->serve.tls_cert, b->serve.tls_cert) ||
        !same_string(a->serve.tls_key, b->serve.tls_key) ||
        !same_string(a->serve.alertmanager_url, b->serve.alertmanager_url) ||
        !same_string(a->serve.target_label, b->serve.target_label) ||
        !same_string(a->serve.auto_fix, b->serve.auto_fix))
        return false;
    for (i = 0; i < a->n_targets; i++)
    {
        const Target *x = &a->targets[i], *y = &b->targets[i];

        if (!same_string(x->name, y->name) || !same_string(x->conninfo, y->conninfo) ||
            !same_string(x->restart_command, y->restart_command) ||
            !same_string(x->reset_pool_command, y->reset_pool_command) ||
            x->restart_timeout_ms != y->restart_timeout_ms ||
            !same_string(x->reserved_conninfo, y->reserved_conninfo) ||
            !same_string(x->data_directory, y->data_directory) ||
            !same_string(x->log_file, y->log_file))
            return false;
    }
    return true;
}

#endif
