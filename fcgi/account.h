/* SPDX-License-Identifier: MIT */
/* fcgi account: the user-account operations both the REST API (users.c) and livechatctl
 * perform, written once: the field rules of an account, creating one with a hashed password,
 * and setting a password (which revokes sessions and clears the login throttle). */
#ifndef FCGI_ACCOUNT_H
#define FCGI_ACCOUNT_H

#include <stdbool.h>
#include <json-c/json.h>
#include "lc_config.h"
#include "lc_err.h"
#include "lc_store.h"
#include "lc_validate.h"
#include "revoke.h"

#define FCGI_ADMIN_GROUP "admin"
/* What a username may hold (the pattern of FCGI_RULE_USERNAME). */
extern const lc_vpattern_t fcgi_username_pattern;

/* Field rules (lc_vrule_t initialisers) shared by the API's bodies and livechatctl. */
#define FCGI_RULE_USERNAME { "username", LC_V_STRING, true, 1, 64, &fcgi_username_pattern, NULL }
#define FCGI_RULE_PASSWORD { "password", LC_V_STRING, true, 8, 1024, NULL, NULL }
#define FCGI_RULE_DISPLAY_NAME { "display_name", LC_V_STRING, false, 1, 128, NULL, NULL }

/* Create a user with password hashed at the configured cost (pbkdf2_iterations). The arguments
 * are already validated; group must exist. *out: the user without password_hash (caller owns
 * it). CONFLICT (field "username") when the username is taken; store errors otherwise. */
lc_rc fcgi_account_create(lc_store_t *store, const lc_config_t *cfg, const char *username,
			  const char *display_name, const char *group, bool active,
			  const char *password, json_object **out, lc_err_t *err);

/* Give user (a store document with "id" and "username") a new, already validated password;
 * revoke every session of that user but keep_hash (NULL: all) and clear the login throttle of
 * the username, so whoever knew the old password is out and the owner can log in at once.
 * Then tell the websocket daemons through revoke (may be NULL), which closes the user's open
 * websockets of the revoked sessions; that step never fails the call (fcgi_revoke_users). */
lc_rc fcgi_account_set_password(lc_store_t *store, const lc_config_t *cfg, fcgi_revoke_t *revoke,
				json_object *user, const char *password, const char *keep_hash,
				lc_err_t *err);

/* Before a change that takes *user (a store document) away from the active admins, when it is
 * one: take the store's admin gate, read the user again under it (*user is replaced) and check
 * that another active admin remains (CONFLICT otherwise). Two such changes, in any processes,
 * then run one after the other and the second sees the first. *gated: the caller must release
 * the gate (lc_store_admin_gate_release) after its change. */
lc_rc fcgi_account_guard_last_admin(lc_store_t *store, json_object **user, bool *gated,
				    lc_err_t *err);

/* Change display name, group (must exist) and/or active (NULL / -1: unchanged) of *user (a
 * store document; may be replaced by a fresh read), guarded as above; deactivating revokes
 * every session. A deactivation or a group change is published through revoke (may be NULL).
 * *out: the user after (with password_hash: callers that answer clients remove it). */
lc_rc fcgi_account_update(lc_store_t *store, fcgi_revoke_t *revoke, json_object **user,
			  const char *display, const char *group, int active, json_object **out,
			  lc_err_t *err);

#endif
