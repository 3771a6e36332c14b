/* SPDX-License-Identifier: MIT */
/* lc_auth_session: who a session token stands for. The one check both programs make
 * (livechat-fcgi for every authenticated request, livechat-wsd for agent websockets): one _id
 * read of the session document, which carries the user and its group's permissions (lc_store
 * keeps those copies right on every user and group change). Thread-safe as the store is. */
#ifndef LC_AUTH_SESSION_H
#define LC_AUTH_SESSION_H

#include <stdint.h>
#include <json-c/json.h>
#include "lc_err.h"
#include "lc_store.h"

typedef struct lc_principal {
	json_object *user;          /* {id, username, display_name, group, active, created_at,
				     * updated_at}: no password_hash */
	json_object *permissions;   /* array of permission strings; [] when the group is gone */
	int64_t expires_at;         /* of the session, ms since the epoch */
} lc_principal_t;

/* Check the session whose token hashes to token_hash (lc_auth_token_hash). LC_OK: *p holds
 * new objects (lc_auth_principal_clear). LC_ERR_UNAUTHORIZED ("invalid or expired token") when
 * no session has that hash, it expired, or its user is inactive; store failures
 * (LC_ERR_UNAVAILABLE ...) as they come, *p untouched. */
lc_rc lc_auth_session_check(lc_store_t *s, const char *token_hash, lc_principal_t *p,
			    lc_err_t *err);
/* Release what p holds and zero it. */
void lc_auth_principal_clear(lc_principal_t *p);

#endif
