/* SPDX-License-Identifier: MIT */
/* fcgi revoke: tells every livechat-wsd node at once that a user's sessions or permissions
 * changed (logout, deactivation, deletion, password set, group or permissions changed), so the
 * node re-checks that user's open agent websockets now instead of at its periodic check
 * (docs/topology.md, Revocation). Best effort by design: MongoDB already holds the truth and the
 * periodic check is the fallback, so a broker that is down only costs a logged warning, never a
 * failed request. One publisher per process, connected on first use, shared by its threads. */
#ifndef FCGI_REVOKE_H
#define FCGI_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include "lc_config.h"

typedef struct fcgi_revoke fcgi_revoke_t;

/* A publisher for cfg's amqp_url and amqp_prefix (cfg is borrowed and must outlive it). Does
 * not connect. NULL (with an error logged) only when amqp_url is malformed. */
fcgi_revoke_t *fcgi_revoke_new(const lc_config_t *cfg);
void fcgi_revoke_free(fcgi_revoke_t **r);

/* Publish {"type":"revoke","user_id":ID} for each of the n ids to <prefix>.nodes with key
 * broadcast.revoke, declaring that exchange first (topic, durable: as wsd declares it), and
 * wait for the broker's confirms. True when every event was confirmed. On failure logs a
 * warning and returns false; it never waits for a broker that does not accept TCP connections
 * (a 500 ms probe precedes every connect). r NULL or n 0: nothing to do, true. */
bool fcgi_revoke_users(fcgi_revoke_t *r, const char *const *ids, size_t n);
/* Publish {"type":"settings"} with key broadcast.settings the same way: the settings changed,
 * every node reads them now (docs/topology.md). */
bool fcgi_revoke_settings(fcgi_revoke_t *r);
/* fcgi_revoke_users for one id. */
bool fcgi_revoke_user(fcgi_revoke_t *r, const char *user_id);

#endif
