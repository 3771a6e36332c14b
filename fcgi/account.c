/* SPDX-License-Identifier: MIT */
/* fcgi account: creating accounts and setting passwords, for the REST API and livechatctl
 * alike, so both hash at the same cost and revoke the same sessions. */
#include "config.h"
#include "account.h"
#include "middleware.h"
#include "lc_auth.h"
#include "lc_alloc.h"
#include "lc_json.h"

#include <stdlib.h>
#include <string.h>

const lc_vpattern_t fcgi_username_pattern = {
	"[A-Za-z0-9][A-Za-z0-9_.@-]*",
	"letters, digits, '.', '_', '@' and '-', starting with a letter or digit"
};

static lc_rc hash_password(const lc_config_t *cfg, const char *password, char **hash,
			   lc_err_t *err)
{
	return lc_auth_hash_password(password, (unsigned)lc_config_int(cfg, "pbkdf2_iterations"),
				     hash, err);
}

lc_rc fcgi_account_create(lc_store_t *store, const lc_config_t *cfg, const char *username,
			  const char *display_name, const char *group, bool active,
			  const char *password, json_object **out, lc_err_t *err)
{
	char *hash = NULL;
	lc_rc rc = hash_password(cfg, password, &hash, err);
	if (rc != LC_OK)
		goto fail;
	rc = lc_store_user_create(store, username, display_name, group, active, hash, out, err);
	if (rc == LC_ERR_CONFLICT)
		rc = lc_err_set_field(err, LC_ERR_CONFLICT, "username", "username '%s' already exists",
				      username);
	if (rc == LC_OK)
		fcgi_user_public(*out);
fail:
	free(hash);
	return rc;
}

lc_rc fcgi_account_set_password(lc_store_t *store, const lc_config_t *cfg, fcgi_revoke_t *revoke,
				json_object *user, const char *password, const char *keep_hash,
				lc_err_t *err)
{
	const char *id = lc_json_get_str(user, "id", "");
	char *hash = NULL;
	lc_rc rc = hash_password(cfg, password, &hash, err);
	if (rc != LC_OK)
		goto fail;
	if ((rc = lc_store_user_set_password(store, id, hash, err)) != LC_OK)
		goto fail;
	if ((rc = lc_store_session_delete_user(store, id, keep_hash, err)) != LC_OK)
		goto fail;
	/* Before the throttle is cleared, so a failure there does not skip the event. */
	fcgi_revoke_user(revoke, id);
	rc = lc_store_login_failure_clear(store, lc_json_get_str(user, "username", ""), NULL, err);
fail:
	free(hash);
	return rc;
}

static bool is_active_admin(json_object *user)
{
	return strcmp(lc_json_get_str(user, "group", ""), FCGI_ADMIN_GROUP) == 0 &&
	       lc_json_get_bool(user, "active", false);
}

/* CONFLICT when user is the only active admin left (it is about to stop being one). */
static lc_rc check_not_last_admin(lc_store_t *store, json_object *user, lc_err_t *err)
{
	int64_t n = 0;
	if (!is_active_admin(user))
		return LC_OK;
	lc_rc rc = lc_store_user_count(store, FCGI_ADMIN_GROUP, true, &n, err);
	if (rc != LC_OK)
		return rc;
	if (n <= 1)
		return lc_err_set(err, LC_ERR_CONFLICT,
				  "the last active admin cannot be deleted, deactivated or moved to another group");
	return LC_OK;
}

lc_rc fcgi_account_guard_last_admin(lc_store_t *store, json_object **user, bool *gated,
				    lc_err_t *err)
{
	*gated = false;
	if (!is_active_admin(*user))
		return LC_OK;
	lc_rc rc = lc_store_admin_gate_take(store, err);
	if (rc != LC_OK)
		return rc;
	*gated = true;
	char *id = lc_strdup(lc_json_get_str(*user, "id", ""));
	json_object_put(*user);
	*user = NULL;
	rc = fcgi_not_found(lc_store_user_get(store, id, user, err), err, "user");
	free(id);
	if (rc != LC_OK)
		return rc;
	return check_not_last_admin(store, *user, err);
}

lc_rc fcgi_account_update(lc_store_t *store, fcgi_revoke_t *revoke, json_object **user,
			  const char *display, const char *group, int active, json_object **out,
			  lc_err_t *err)
{
	bool gated = false, demoted = group != NULL && strcmp(group, FCGI_ADMIN_GROUP) != 0;
	lc_rc rc = LC_OK;

	*out = NULL;
	if ((demoted || active == 0) &&
	    (rc = fcgi_account_guard_last_admin(store, user, &gated, err)) != LC_OK)
		goto fail;
	const char *id = lc_json_get_str(*user, "id", "");
	if ((rc = lc_store_user_update(store, id, display, group, active, out, err)) != LC_OK)
		goto fail;
	if (active == 0 && (rc = lc_store_session_delete_user(store, id, NULL, err)) != LC_OK)
		goto fail;
	/* Deactivated: their websockets close. Moved to another group: the permissions their open
	 * websockets act with are re-read (and the connection closes if it may no longer accept
	 * nor monitor chats). */
	if (active == 0 || (group != NULL && strcmp(group, lc_json_get_str(*user, "group", "")) != 0))
		fcgi_revoke_user(revoke, id);
fail:
	if (gated)
		lc_store_admin_gate_release(store);
	if (rc != LC_OK) {
		json_object_put(*out);
		*out = NULL;
	}
	return rc;
}
