/* SPDX-License-Identifier: MIT */
/* lc_auth_session: the session check of lc_auth_session.h. A session stored before sessions
 * carried their copies (an upgrade) gets them written once, then reads as any other. */
#include "config.h"
#include "lc_auth_session.h"
#include "lc_alloc.h"
#include "lc_json.h"

#include <stdlib.h>
#include <string.h>

static lc_rc refused(lc_err_t *err)
{
	return lc_err_set(err, LC_ERR_UNAUTHORIZED, "invalid or expired token");
}

static lc_rc read_session(lc_store_t *s, const char *token_hash, json_object **sess,
			  lc_err_t *err)
{
	lc_rc rc = lc_store_session_get(s, token_hash, sess, err);
	if (rc != LC_OK || json_object_object_get(*sess, "user") != NULL)
		return rc;
	/* No copies yet: write them (every session of that user), read again. */
	char *uid = lc_strdup(lc_json_get_str(*sess, "user_id", ""));
	json_object_put(*sess);
	*sess = NULL;
	rc = lc_store_session_sync_user(s, uid, err);
	free(uid);
	if (rc == LC_OK)
		rc = lc_store_session_get(s, token_hash, sess, err);
	return rc;
}

lc_rc lc_auth_session_check(lc_store_t *s, const char *token_hash, lc_principal_t *p,
			    lc_err_t *err)
{
	json_object *sess = NULL, *user = NULL, *perms = NULL;
	lc_rc rc = read_session(s, token_hash, &sess, err);

	if (rc == LC_ERR_NOT_FOUND || rc == LC_ERR_INVALID)
		return refused(err);
	if (rc != LC_OK)
		return rc;
	if (!json_object_object_get_ex(sess, "user", &user) ||
	    !json_object_is_type(user, json_type_object) ||
	    !lc_json_get_bool(user, "active", false)) {
		json_object_put(sess);
		return refused(err);
	}
	p->user = json_object_get(user);
	p->permissions = json_object_object_get_ex(sess, "permissions", &perms) &&
			 json_object_is_type(perms, json_type_array) ?
			 json_object_get(perms) : json_object_new_array();
	p->expires_at = lc_json_get_int(sess, "expires_at", 0);
	json_object_put(sess);
	return LC_OK;
}

void lc_auth_principal_clear(lc_principal_t *p)
{
	if (p == NULL)
		return;
	json_object_put(p->user);
	json_object_put(p->permissions);
	memset(p, 0, sizeof *p);
}
