/* SPDX-License-Identifier: MIT */
/* Tests of lc_perm: the vocabulary and built-in groups agreed in the team contract. */
#include "config.h"
#include "unit_tests.h"
#include "lc_perm.h"

#include <string.h>
#include <CUnit/CUnit.h>

static const lc_perm_group_seed_t *group(const char *name)
{
	for (const lc_perm_group_seed_t *g = lc_perm_builtin_groups; g->name != NULL; g++)
		if (strcmp(g->name, name) == 0)
			return g;
	return NULL;
}

static size_t count(const char *const *list)
{
	size_t n = 0;
	while (list[n] != NULL)
		n++;
	return n;
}

static bool contains(const char *const *list, const char *perm)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], perm) == 0)
			return true;
	return false;
}

static void test_vocabulary_has_the_twelve_agreed_permissions(void)
{
	static const char *const agreed[] = {
		"users.read", "users.write", "groups.read", "groups.write", "canned.own", "canned.all",
		"settings.read", "settings.write", "chats.accept", "chats.monitor", "chats.history",
		"chats.end_any",
	};
	CU_ASSERT_EQUAL(count(lc_perm_all), 12);
	for (size_t i = 0; i < 12; i++)
		CU_ASSERT_TRUE(lc_perm_is_known(agreed[i]));
	CU_ASSERT_FALSE(lc_perm_is_known("users.delete"));
	CU_ASSERT_FALSE(lc_perm_is_known(""));
	CU_ASSERT_FALSE(lc_perm_is_known(NULL));
}

static void test_builtin_groups_match_the_contract(void)
{
	const lc_perm_group_seed_t *admin = group("admin"), *sup = group("supervisor"), *agent = group("agent");
	CU_ASSERT_PTR_NOT_NULL_FATAL(admin);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sup);
	CU_ASSERT_PTR_NOT_NULL_FATAL(agent);
	CU_ASSERT_EQUAL(count(admin->permissions), 12);
	CU_ASSERT_EQUAL(count(sup->permissions), 9);
	CU_ASSERT_FALSE(contains(sup->permissions, "users.write"));
	CU_ASSERT_FALSE(contains(sup->permissions, "groups.write"));
	CU_ASSERT_FALSE(contains(sup->permissions, "settings.write"));
	CU_ASSERT_EQUAL(count(agent->permissions), 3);
	CU_ASSERT_TRUE(contains(agent->permissions, "canned.own"));
	CU_ASSERT_TRUE(contains(agent->permissions, "chats.accept"));
	CU_ASSERT_TRUE(contains(agent->permissions, "chats.history"));
	for (const lc_perm_group_seed_t *g = lc_perm_builtin_groups; g->name != NULL; g++)
		for (size_t i = 0; g->permissions[i] != NULL; i++)
			CU_ASSERT_TRUE(lc_perm_is_known(g->permissions[i]));
}

static void test_has_looks_in_a_json_array(void)
{
	json_object *perms = json_tokener_parse("[\"chats.accept\", 5, \"canned.own\"]");
	CU_ASSERT_TRUE(lc_perm_has(perms, "canned.own"));
	CU_ASSERT_FALSE(lc_perm_has(perms, "canned.all"));
	CU_ASSERT_FALSE(lc_perm_has(perms, NULL));
	CU_ASSERT_FALSE(lc_perm_has(NULL, "canned.own"));
	json_object *notarr = json_object_new_string("canned.own");
	CU_ASSERT_FALSE(lc_perm_has(notarr, "canned.own"));
	json_object_put(notarr);
	json_object_put(perms);
}

int init_perm_tests(void)
{
	CU_pSuite s = CU_add_suite("perm", NULL, NULL);
	if (s == NULL)
		return 1;
	CU_add_test(s, "vocabulary_has_the_twelve_agreed_permissions", test_vocabulary_has_the_twelve_agreed_permissions);
	CU_add_test(s, "builtin_groups_match_the_contract", test_builtin_groups_match_the_contract);
	CU_add_test(s, "has_looks_in_a_json_array", test_has_looks_in_a_json_array);
	return CU_get_error() == CUE_SUCCESS ? 0 : 1;
}
