/* SPDX-License-Identifier: MIT */
/* lc_perm: the fixed vocabulary of permissions and the built-in groups seeded at first start.
 * A permission group is a name and a set of these strings. */
#ifndef LC_PERM_H
#define LC_PERM_H

#include <stdbool.h>
#include <json-c/json.h>

/* NULL-terminated: users.read users.write groups.read groups.write canned.own canned.all
 * settings.read settings.write chats.accept chats.monitor chats.history chats.end_any */
extern const char *const lc_perm_all[];

typedef struct lc_perm_group_seed {
	const char *name;
	const char *const *permissions;   /* NULL-terminated */
} lc_perm_group_seed_t;

/* admin (all), supervisor, agent; terminated by {NULL, NULL}. */
extern const lc_perm_group_seed_t lc_perm_builtin_groups[];

bool lc_perm_is_known(const char *perm);
/* True when the JSON array of strings perms contains perm. */
bool lc_perm_has(json_object *perms, const char *perm);

#endif
