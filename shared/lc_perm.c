/* SPDX-License-Identifier: MIT */
/* lc_perm: the fixed permission vocabulary and the built-in groups (admin, supervisor, agent)
 * seeded at first start. The lists here are the team contract; change them only together. */
#include "config.h"
#include "lc_perm.h"

#include <string.h>

const char *const lc_perm_all[] = {
	"users.read", "users.write",
	"groups.read", "groups.write",
	"canned.own", "canned.all",
	"settings.read", "settings.write",
	"chats.accept", "chats.monitor", "chats.history", "chats.end_any",
	NULL
};

static const char *const supervisor_perms[] = {
	"users.read", "groups.read", "canned.own", "canned.all", "settings.read",
	"chats.accept", "chats.monitor", "chats.history", "chats.end_any",
	NULL
};

static const char *const agent_perms[] = {
	"canned.own", "chats.accept", "chats.history",
	NULL
};

const lc_perm_group_seed_t lc_perm_builtin_groups[] = {
	{ "admin", lc_perm_all },
	{ "supervisor", supervisor_perms },
	{ "agent", agent_perms },
	{ NULL, NULL }
};

bool lc_perm_is_known(const char *perm)
{
	if (perm == NULL)
		return false;
	for (size_t i = 0; lc_perm_all[i] != NULL; i++)
		if (strcmp(lc_perm_all[i], perm) == 0)
			return true;
	return false;
}

bool lc_perm_has(json_object *perms, const char *perm)
{
	if (perm == NULL || !json_object_is_type(perms, json_type_array))
		return false;
	size_t n = json_object_array_length(perms);
	for (size_t i = 0; i < n; i++) {
		json_object *it = json_object_array_get_idx(perms, i);
		if (json_object_is_type(it, json_type_string) &&
		    strcmp(json_object_get_string(it), perm) == 0)
			return true;
	}
	return false;
}
