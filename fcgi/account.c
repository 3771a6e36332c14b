/* SPDX-License-Identifier: MIT */
/* fcgi account: creating accounts and setting passwords, for the REST API and livechatctl
 * alike, so both hash at the same cost and revoke the same sessions. */
#include "config.h"
#include "account.h"
#include "middleware.h"
#include "lc_auth.h"
#include "lc_json.h"

#include <stdlib.h>

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
