/* SPDX-License-Identifier: MIT */
/* livechatctl data commands: settings get|set (the runtime settings, with the API's rules),
 * purge --before DATE (retention: closed rooms and their messages) and export --channel C
 * --customer ID (one customer's rooms and messages as JSON, for an access request). */
#include "config.h"
#include "ctl.h"
#include "revoke.h"
#include "lc_time.h"
#include "lc_settings.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static void print_json(json_object *obj)
{
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* VALUE as JSON when it is a number, true/false/null or a "quoted string", else as a string. */
static json_object *parse_value(const char *text)
{
	json_object *v = json_tokener_parse(text);
	if (v != NULL && !json_object_is_type(v, json_type_object) &&
	    !json_object_is_type(v, json_type_array))
		return v;
	json_object_put(v);
	return json_object_new_string(text);
}

static int settings_set(ctl_env_t *env, const char *key, const char *value)
{
	json_object *patch = json_object_new_object(), *out = NULL;
	fcgi_revoke_t *revoke = NULL;
	lc_err_t err;
	int status = 1;

	lc_err_clear(&err);
	json_object_object_add(patch, key, parse_value(value));
	if (!ctl_valid(patch, lc_settings_rules, true))
		goto fail;
	if (lc_store_settings_update(env->store, patch, &out, &err) != LC_OK) {
		ctl_fail(&err);
		goto fail;
	}
	/* Every wsd node reads them again now, as after PATCH /api/settings. */
	revoke = fcgi_revoke_new(env->cfg);
	fcgi_revoke_settings(revoke);
	print_json(json_object_object_get(out, key));
	status = 0;
fail:
	fcgi_revoke_free(&revoke);
	json_object_put(out);
	json_object_put(patch);
	return status;
}

static int settings_get(ctl_env_t *env, const char *key)
{
	json_object *all = NULL, *v = NULL;
	lc_err_t err;
	int status = 1;

	lc_err_clear(&err);
	if (lc_store_settings_get(env->store, &all, &err) != LC_OK) {
		ctl_fail(&err);
		goto fail;
	}
	if (key != NULL && !json_object_object_get_ex(all, key, &v)) {
		fprintf(stderr, "livechatctl: no setting '%s'\n", key);
		goto fail;
	}
	print_json(key != NULL ? v : all);
	status = 0;
fail:
	json_object_put(all);
	return status;
}

int ctl_settings(ctl_env_t *env, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	if (strcmp(sub, "get") == 0 && (argc == 2 || argc == 3))
		return settings_get(env, argc == 3 ? argv[2] : NULL);
	if (strcmp(sub, "set") == 0 && argc == 4)
		return settings_set(env, argv[2], argv[3]);
	return 2;
}

/* The value of --name in argv (NULL when absent). */
static const char *option(int argc, char **argv, const char *name)
{
	for (int i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

/* YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ -> ms since the epoch; -1 when malformed. */
static int64_t parse_date(const char *text)
{
	struct tm tm = { 0 };
	const char *end = strptime(text, "%Y-%m-%d", &tm);
	if (end != NULL && *end == 'T')
		end = strptime(end, "T%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	time_t t = timegm(&tm);
	return t < 0 ? -1 : (int64_t)t * 1000;
}

int ctl_purge(ctl_env_t *env, int argc, char **argv)
{
	const char *date = option(argc, argv, "--before");
	int64_t rooms = 0, messages = 0;
	lc_err_t err;

	if (argc != 3 || date == NULL)
		return 2;
	int64_t before = parse_date(date);
	if (before < 0) {
		fprintf(stderr, "livechatctl: --before: '%s' is not a date (YYYY-MM-DD or "
			"YYYY-MM-DDTHH:MM:SSZ)\n", date);
		return 1;
	}
	if (before > lc_real_ms()) {
		fprintf(stderr, "livechatctl: --before: %s is in the future\n", date);
		return 1;
	}
	lc_err_clear(&err);
	if (lc_store_purge_closed(env->store, before, &rooms, &messages, &err) != LC_OK)
		return ctl_fail(&err);
	printf("purged %lld closed rooms and %lld messages closed before %s\n", (long long)rooms,
	       (long long)messages, date);
	return 0;
}

int ctl_export(ctl_env_t *env, int argc, char **argv)
{
	const char *channel = option(argc, argv, "--channel");
	const char *customer = option(argc, argv, "--customer");
	json_object *out = NULL;
	lc_err_t err;

	if (argc != 5 || channel == NULL || customer == NULL)
		return 2;
	lc_err_clear(&err);
	if (lc_store_customer_export(env->store, channel, customer, &out, &err) != LC_OK)
		return ctl_fail(&err);
	print_json(out);
	json_object_put(out);
	return 0;
}
