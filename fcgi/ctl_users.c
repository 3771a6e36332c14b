/* SPDX-License-Identifier: MIT */
/* livechatctl users: list, deactivate, activate, set-group. The same guards as the REST API
 * (fcgi_account_update): the last active admin is never deactivated or moved out of admin, and
 * a deactivation revokes the user's sessions and closes their websockets. */
#include "config.h"
#include "account.h"
#include "ctl.h"
#include "revoke.h"
#include "lc_json.h"

#include <stdio.h>
#include <string.h>

#define LIST_PAGE 200

static int list(lc_store_t *store)
{
	lc_err_t err;
	int64_t skip = 0, total = 0;
	lc_err_clear(&err);
	printf("%-26s %-24s %-12s %-6s %s\n", "ID", "USERNAME", "GROUP", "ACTIVE", "DISPLAY NAME");
	do {
		json_object *items = NULL;
		if (lc_store_user_list(store, NULL, -1, skip, LIST_PAGE, &items, &total, &err) != LC_OK)
			return ctl_fail(&err);
		size_t n = json_object_array_length(items);
		for (size_t i = 0; i < n; i++) {
			json_object *u = json_object_array_get_idx(items, i);
			printf("%-26s %-24s %-12s %-6s %s\n", lc_json_get_str(u, "id", ""),
			       lc_json_get_str(u, "username", ""), lc_json_get_str(u, "group", ""),
			       lc_json_get_bool(u, "active", false) ? "yes" : "no",
			       lc_json_get_str(u, "display_name", ""));
		}
		json_object_put(items);
		if (n == 0)
			break;
		skip += (int64_t)n;
	} while (skip < total);
	return 0;
}

/* Change group and/or active of the user called username. */
static int change(ctl_env_t *env, const char *username, const char *group, int active)
{
	fcgi_revoke_t *revoke = NULL;
	json_object *user = NULL, *g = NULL, *out = NULL;
	lc_err_t err;
	int status = 1;

	lc_err_clear(&err);
	lc_rc rc = lc_store_user_get_by_username(env->store, username, &user, &err);
	if (rc == LC_ERR_NOT_FOUND) {
		fprintf(stderr, "livechatctl: no user '%s'\n", username);
		goto fail;
	}
	if (rc == LC_OK && group != NULL &&
	    (rc = lc_store_group_get(env->store, group, &g, &err)) == LC_ERR_NOT_FOUND) {
		fprintf(stderr, "livechatctl: no group '%s'\n", group);
		goto fail;
	}
	if (rc != LC_OK) {
		ctl_fail(&err);
		goto fail;
	}
	revoke = fcgi_revoke_new(env->cfg);
	if (fcgi_account_update(env->store, revoke, &user, NULL, group, active, &out, &err) != LC_OK) {
		ctl_fail(&err);
		goto fail;
	}
	printf("%s: group %s, %s\n", username, lc_json_get_str(out, "group", "?"),
	       lc_json_get_bool(out, "active", false) ? "active" : "inactive (sessions revoked)");
	status = 0;
fail:
	fcgi_revoke_free(&revoke);
	json_object_put(out);
	json_object_put(g);
	json_object_put(user);
	return status;
}

int ctl_users(ctl_env_t *env, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	if (strcmp(sub, "list") == 0 && argc == 2)
		return list(env->store);
	if (strcmp(sub, "deactivate") == 0 && argc == 3)
		return change(env, argv[2], NULL, 0);
	if (strcmp(sub, "activate") == 0 && argc == 3)
		return change(env, argv[2], NULL, 1);
	if (strcmp(sub, "set-group") == 0 && argc == 4)
		return change(env, argv[2], argv[3], -1);
	return 2;
}
