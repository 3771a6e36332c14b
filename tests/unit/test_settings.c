/* SPDX-License-Identifier: MIT */
/* Tests of lc_settings: template rendering, defaults that satisfy their own rules, and the PATCH
 * rules' bounds. */
#include "config.h"
#include "unit_tests.h"
#include "lc_settings.h"

#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>

static void expect_render(const char *tmpl, const char *agent, const char *customer, const char *want)
{
	char *got = lc_settings_render(tmpl, agent, customer);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
}

static void test_render_replaces_agent_and_customer(void)
{
	expect_render("{agent} has entered the chat", "Alice", "Bob", "Alice has entered the chat");
	expect_render("You ended the chat with {customer}.", "Alice", "Bob", "You ended the chat with Bob.");
	expect_render("{agent}{customer}{agent}", "A", "Bob", "ABobA");
	expect_render("", "A", "B", "");
}

static void test_render_leaves_other_text_untouched(void)
{
	expect_render("{foo} {agent {customer} } {{agent}}", "A", "B", "{foo} {agent B } {A}");
	expect_render("{AGENT} {Agent}", "A", "B", "{AGENT} {Agent}");
	expect_render("caf\xc3\xa9 {agent}", "\xc3\x89mile", "B", "caf\xc3\xa9 \xc3\x89mile");
}

static void test_render_does_not_rescan_substituted_names(void)
{
	/* A customer who calls themselves "{agent}" must not get the agent's name printed. */
	expect_render("Hi {customer}", "Alice", "{agent}", "Hi {agent}");
}

static void test_render_null_names_become_empty(void)
{
	expect_render("[{agent}|{customer}]", NULL, NULL, "[|]");
}

static void test_defaults_hold_every_key_and_pass_the_rules(void)
{
	json_object *d = lc_settings_defaults(), *f = NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(json_object_object_length(d), 10);
	for (const lc_vrule_t *r = lc_settings_rules; r->field != NULL; r++)
		CU_ASSERT_TRUE(json_object_object_get_ex(d, r->field, NULL));
	CU_ASSERT_TRUE(lc_validate(d, lc_settings_rules, true, &f));
	CU_ASSERT_EQUAL(json_object_array_length(f), 0);
	json_object *v;
	CU_ASSERT_TRUE(json_object_object_get_ex(d, "history_limit", &v) && json_object_get_int(v) == 50);
	CU_ASSERT_TRUE(json_object_object_get_ex(d, "request_timeout", &v) && json_object_get_int(v) == 120);
	CU_ASSERT_TRUE(json_object_object_get_ex(d, "reconnect_grace", &v) && json_object_get_int(v) == 30);
	CU_ASSERT_TRUE(json_object_object_get_ex(d, "join_message", &v) &&
		       strcmp(json_object_get_string(v), "{agent} has entered the chat") == 0);
	json_object_put(f);
	json_object_put(d);
}

static bool patch_ok(const char *text, json_object **failures)
{
	json_object *o = json_tokener_parse(text);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	bool ok = lc_validate(o, lc_settings_rules, true, failures);
	json_object_put(o);
	return ok;
}

static void test_rules_accept_a_partial_update_within_bounds(void)
{
	json_object *f = NULL;
	CU_ASSERT_TRUE(patch_ok("{}", &f));
	json_object_put(f);
	CU_ASSERT_TRUE(patch_ok("{\"history_limit\":500,\"reconnect_grace\":0,\"request_timeout\":10}", &f));
	json_object_put(f);
	CU_ASSERT_TRUE(patch_ok("{\"waiting_message\":\"x\"}", &f));
	json_object_put(f);
}

static void test_rules_reject_out_of_bounds_values(void)
{
	json_object *f = NULL;
	char *big = malloc(1000 + 40);
	strcpy(big, "{\"join_message\":\"");
	size_t n = strlen(big);
	memset(big + n, 'x', 1001);
	strcpy(big + n + 1001, "\"}");
	CU_ASSERT_FALSE(patch_ok(big, &f));
	CU_ASSERT_TRUE(unit_has_failure(f, "join_message", "must be at most 1000 characters"));
	json_object_put(f);
	free(big);

	CU_ASSERT_FALSE(patch_ok("{\"history_limit\":0,\"request_timeout\":86401,\"reconnect_grace\":-1,"
				 "\"no_agent_message\":\"\",\"colour\":\"red\"}", &f));
	CU_ASSERT_EQUAL(json_object_array_length(f), 5);
	CU_ASSERT_TRUE(unit_has_failure(f, "history_limit", "must be between 1 and 500"));
	CU_ASSERT_TRUE(unit_has_failure(f, "request_timeout", "must be between 10 and 86400"));
	CU_ASSERT_TRUE(unit_has_failure(f, "reconnect_grace", "must be between 0 and 3600"));
	CU_ASSERT_TRUE(unit_has_failure(f, "no_agent_message", "must not be empty"));
	CU_ASSERT_TRUE(unit_has_failure(f, "colour", "is not a known field"));
	json_object_put(f);
}

int init_settings_tests(void)
{
	CU_pSuite s = CU_add_suite("settings", NULL, NULL);
	if (s == NULL)
		return 1;
	CU_add_test(s, "render_replaces_agent_and_customer", test_render_replaces_agent_and_customer);
	CU_add_test(s, "render_leaves_other_text_untouched", test_render_leaves_other_text_untouched);
	CU_add_test(s, "render_does_not_rescan_substituted_names", test_render_does_not_rescan_substituted_names);
	CU_add_test(s, "render_null_names_become_empty", test_render_null_names_become_empty);
	CU_add_test(s, "defaults_hold_every_key_and_pass_the_rules", test_defaults_hold_every_key_and_pass_the_rules);
	CU_add_test(s, "rules_accept_a_partial_update_within_bounds", test_rules_accept_a_partial_update_within_bounds);
	CU_add_test(s, "rules_reject_out_of_bounds_values", test_rules_reject_out_of_bounds_values);
	return CU_get_error() == CUE_SUCCESS ? 0 : 1;
}
