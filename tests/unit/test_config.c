/* SPDX-License-Identifier: MIT */
/* Tests of lc_config: a good file, every kind of bad line (the error names file, line and key),
 * environment overrides and bad environment values, and the shipped conf/livechat.conf. Temporary
 * files go to $TMPDIR. Every LIVECHAT_* variable is cleared first so the test environment's
 * LIVECHAT_MONGO_URI and friends do not leak into the expectations. */
#include "config.h"
#include "unit_tests.h"
#include "lc_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/CUnit.h>

extern char **environ;

static char path[4096];

static int config_suite_init(void)
{
	/* Collect names first: unsetenv while walking environ would skip entries. */
	char *names[256];
	size_t n = 0;
	for (char **e = environ; *e != NULL && n < 256; e++)
		if (strncmp(*e, "LIVECHAT_", 9) == 0)
			names[n++] = strndup(*e, strcspn(*e, "="));
	for (size_t i = 0; i < n; i++) {
		unsetenv(names[i]);
		free(names[i]);
	}
	return 0;
}

/* Write text to a fresh temporary file; its name is left in path. */
static void write_conf(const char *text)
{
	const char *dir = getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/lc-unit-conf-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	FILE *f = fdopen(fd, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

/* Load text that must fail; the reason must equal "<path>:<suffix>". */
static void expect_error(const char *text, const char *suffix)
{
	lc_err_t err = { 0 };
	char want[LC_ERR_REASON_MAX + 4096];
	write_conf(text);
	lc_config_t *cfg = lc_config_load(path, &err);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_EQUAL(err.code, LC_ERR_INVALID);
	snprintf(want, sizeof want, "%s:%s", path, suffix);
	CU_ASSERT_STRING_EQUAL(err.reason, want);
	if (strcmp(err.reason, want) != 0)
		fprintf(stderr, "\n  got: %s\n  want: %s\n", err.reason, want);
	lc_config_free(&cfg);
	unlink(path);
}

static void test_defaults_match_the_documented_table(void)
{
	lc_err_t err = { 0 };
	lc_config_t *cfg = lc_config_new_defaults(&err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "mongo_uri"), "mongodb://127.0.0.1:27017/");
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "mongo_db"), "livechat");
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "amqp_prefix"), "livechat");
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "log_level"), "info");
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "cookie_secure"), "auto");
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "wsd_node_id"), "");
	CU_ASSERT_EQUAL(lc_config_int(cfg, "pbkdf2_iterations"), 210000);
	CU_ASSERT_EQUAL(lc_config_int(cfg, "token_ttl"), 43200);
	CU_ASSERT_EQUAL(lc_config_int(cfg, "http_max_body"), 65536);
	CU_ASSERT_EQUAL(lc_config_int(cfg, "wsd_port"), 8090);
	CU_ASSERT_EQUAL(lc_config_int(cfg, "wsd_workers"), 2);
	lc_config_free(&cfg);
	CU_ASSERT_PTR_NULL(cfg);
	lc_config_free(&cfg);   /* freeing NULL is allowed */
}

static void test_good_file_sets_values_and_ignores_comments(void)
{
	lc_err_t err = { 0 };
	write_conf("# a comment\n"
		   "\n"
		   "   mongo_db   =   lc_test_db   \n"
		   "amqp_prefix=lc.t-1_x # trailing comment\n"
		   "wsd_port = 9001\n"
		   "log_level = debug\n"
		   "wsd_node_id =\n"
		   "cookie_secure = never\n");
	lc_config_t *cfg = lc_config_load(path, &err);
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "mongo_db"), "lc_test_db");
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "amqp_prefix"), "lc.t-1_x");
	CU_ASSERT_EQUAL(lc_config_int(cfg, "wsd_port"), 9001);
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "log_level"), "debug");
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "wsd_node_id"), "");
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "cookie_secure"), "never");
	/* untouched keys keep their defaults */
	CU_ASSERT_EQUAL(lc_config_int(cfg, "token_ttl"), 43200);
	lc_config_free(&cfg);
}

static void test_unknown_key_names_file_line_and_key(void)
{
	expect_error("mongo_db = x\n# comment\nmongo_url = mongodb://h/\n", "3: unknown key 'mongo_url'");
}

static void test_bad_int_is_refused(void)
{
	expect_error("wsd_port = 80a\n", "1: key 'wsd_port': must be an integer between 1 and 65535");
	expect_error("wsd_port =\n", "1: key 'wsd_port': must be an integer between 1 and 65535");
	expect_error("token_ttl = 99999999999999999999999\n",
		     "1: key 'token_ttl': must be an integer between 60 and 31536000");
}

static void test_out_of_bounds_int_names_the_bounds(void)
{
	expect_error("\n\nwsd_port = 0\n", "3: key 'wsd_port': must be between 1 and 65535");
	expect_error("wsd_port = 65536\n", "1: key 'wsd_port': must be between 1 and 65535");
	expect_error("pbkdf2_iterations = 1000\n",
		     "1: key 'pbkdf2_iterations': must be between 210000 and 10000000");
}

static void test_idle_timeout_not_above_ping_is_refused(void)
{
	expect_error("wsd_ping_after = 30\nwsd_idle_timeout = 30\n",
		     " wsd_idle_timeout (30) must be larger than wsd_ping_after (30)");
	expect_error("wsd_ping_after = 100\n",
		     " wsd_idle_timeout (75) must be larger than wsd_ping_after (100)");
}

static void test_bad_enum_lists_allowed_values(void)
{
	expect_error("log_level = verbose\n", "1: key 'log_level': must be one of: error, warn, info, debug");
	expect_error("cookie_secure = yes\n", "1: key 'cookie_secure': must be one of: auto, always, never");
}

static void test_bad_strings_and_syntax_are_refused(void)
{
	expect_error("amqp_prefix = Live Chat\n",
		     "1: key 'amqp_prefix': may contain only the characters [a-z0-9_.-]");
	expect_error("mongo_uri =\n", "1: key 'mongo_uri': must not be empty");
	expect_error("mongo_db livechat\n", "1: expected 'key = value'");
	expect_error("wsd_port = 1\nwsd_port = 2\n", "2: key 'wsd_port' already set on line 1");
	expect_error("trusted_proxies = 10.0.0.1, 10.0.0.0/33\n",
		     "1: key 'trusted_proxies': '10.0.0.0/33' is not an IP address or address/bits range");
}

static void test_hash_inside_a_value_is_kept(void)
{
	lc_err_t err = { 0 };
	write_conf("amqp_url = amqp://lc:pa#ss@mq/  # the broker\n"
		   "mongo_uri = mongodb://u:p#w@db/\n"
		   "wsd_node_id = \"web #1 \"   # quoted: blanks and '#' kept\n"
		   "\t# an indented comment line\n"
		   "wsd_listen = 0.0.0.0\t# tab before the comment\n");
	lc_config_t *cfg = lc_config_load(path, &err);
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "amqp_url"), "amqp://lc:pa#ss@mq/");
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "mongo_uri"), "mongodb://u:p#w@db/");
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "wsd_node_id"), "web #1 ");
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "wsd_listen"), "0.0.0.0");
	lc_config_free(&cfg);
}

static void test_bad_quoted_values_are_refused(void)
{
	expect_error("wsd_node_id = \"web\n", "1: key 'wsd_node_id': missing closing '\"'");
	expect_error("wsd_node_id = \"web\" x\n",
		     "1: key 'wsd_node_id': only a comment may follow a quoted value");
	/* a comment after a blank leaves an empty value, which mongo_uri refuses */
	expect_error("mongo_uri = #mongodb://h/\n", "1: key 'mongo_uri': must not be empty");
}

/* Write text to a fresh temporary secret file; its name goes to out. */
static void write_secret(char *out, size_t size, const char *text)
{
	const char *dir = getenv("TMPDIR");
	snprintf(out, size, "%s/lc-unit-secret-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(out);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void test_uri_files_hold_the_secrets(void)
{
	lc_err_t err = { 0 };
	char mongo[4096], amqp[4096], conf[8300];
	write_secret(mongo, sizeof mongo, "mongodb://lc:s#cret@db/\n");
	write_secret(amqp, sizeof amqp, "  amqps://lc:x@mq:5671/lc  \nsecond line ignored\n");
	snprintf(conf, sizeof conf, "mongo_uri_file = %s\namqp_url_file = %s\n", mongo, amqp);
	write_conf(conf);
	lc_config_t *cfg = lc_config_load(path, &err);
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "mongo_uri"), "mongodb://lc:s#cret@db/");
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "amqp_url"), "amqps://lc:x@mq:5671/lc");
	lc_config_free(&cfg);

	/* a relative name is a systemd credential */
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", mongo);
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	setenv("LIVECHAT_MONGO_URI_FILE", slash + 1, 1);
	cfg = lc_config_new_defaults(&err);
	unsetenv("LIVECHAT_MONGO_URI_FILE");
	unsetenv("CREDENTIALS_DIRECTORY");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "mongo_uri"), "mongodb://lc:s#cret@db/");
	lc_config_free(&cfg);
	unlink(mongo);
	unlink(amqp);
}

static void test_a_key_and_its_file_key_are_exclusive(void)
{
	lc_err_t err = { 0 };
	char secret[4096], conf[4200], want[LC_ERR_REASON_MAX + 4096];
	write_secret(secret, sizeof secret, "mongodb://db/\n");
	snprintf(conf, sizeof conf, "mongo_uri = mongodb://inline/\nmongo_uri_file = %s\n", secret);
	expect_error(conf, " keys 'mongo_uri' and 'mongo_uri_file' are both set: keep one");

	/* the environment counts as set too */
	write_conf("amqp_url_file = /nonexistent\n");
	setenv("LIVECHAT_AMQP_URL", "amqp://env/", 1);
	lc_config_t *cfg = lc_config_load(path, &err);
	unsetenv("LIVECHAT_AMQP_URL");
	CU_ASSERT_PTR_NULL(cfg);
	snprintf(want, sizeof want, "%s: keys 'amqp_url' and 'amqp_url_file' are both set: keep one", path);
	CU_ASSERT_STRING_EQUAL(err.reason, want);
	CU_ASSERT_STRING_EQUAL(err.field, "amqp_url_file");
	unlink(path);
	unlink(secret);
}

static void test_missing_or_empty_uri_file_is_an_error(void)
{
	char secret[4096], conf[4200], want[8400];
	expect_error("amqp_url_file = /nonexistent/amqp\n",
		     " key 'amqp_url_file': cannot open /nonexistent/amqp: No such file or directory");
	write_secret(secret, sizeof secret, "");
	snprintf(conf, sizeof conf, "mongo_uri_file = %s\n", secret);
	snprintf(want, sizeof want, " key 'mongo_uri_file': %s is empty", secret);
	expect_error(conf, want);
	unlink(secret);
	/* a file without end is not read forever */
	expect_error("mongo_uri_file = /dev/zero\n",
		     " key 'mongo_uri_file': the first line of /dev/zero is longer than 4096 bytes");
}

static void test_missing_file_is_an_error(void)
{
	lc_err_t err = { 0 };
	lc_config_t *cfg = lc_config_load("/nonexistent/livechat.conf", &err);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.reason, "/nonexistent/livechat.conf"));
}

static void test_env_overrides_file(void)
{
	lc_err_t err = { 0 };
	write_conf("wsd_port = 9001\nmongo_uri = mongodb://file/\n");
	setenv("LIVECHAT_WSD_PORT", "9555", 1);
	setenv("LIVECHAT_MONGO_URI", "mongodb://env/", 1);
	lc_config_t *cfg = lc_config_load(path, &err);
	unsetenv("LIVECHAT_WSD_PORT");
	unsetenv("LIVECHAT_MONGO_URI");
	unlink(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(lc_config_int(cfg, "wsd_port"), 9555);
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "mongo_uri"), "mongodb://env/");
	lc_config_free(&cfg);

	setenv("LIVECHAT_AMQP_PREFIX", "lc_env", 1);
	cfg = lc_config_new_defaults(&err);
	unsetenv("LIVECHAT_AMQP_PREFIX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_STRING_EQUAL(lc_config_str(cfg, "amqp_prefix"), "lc_env");
	lc_config_free(&cfg);
}

static void test_bad_env_value_names_the_variable(void)
{
	lc_err_t err = { 0 };
	setenv("LIVECHAT_TOKEN_TTL", "5", 1);
	lc_config_t *cfg = lc_config_new_defaults(&err);
	unsetenv("LIVECHAT_TOKEN_TTL");
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_STRING_EQUAL(err.reason, "environment variable LIVECHAT_TOKEN_TTL: must be between 60 and 31536000");
	lc_config_free(&cfg);

	setenv("LIVECHAT_LOG_TARGET", "file", 1);
	cfg = lc_config_new_defaults(&err);
	unsetenv("LIVECHAT_LOG_TARGET");
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_STRING_EQUAL(err.reason,
			       "environment variable LIVECHAT_LOG_TARGET: must be stderr, syslog or an absolute file path");
	lc_config_free(&cfg);
}

static void test_shipped_conf_file_loads(void)
{
	const char *top = getenv("LC_TOP_SRCDIR");
	char p[4096];
	lc_err_t err = { 0 };
	/* Set by tests/test-env.sh under `make check`; missing means a broken harness: fail loudly. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(top);
	snprintf(p, sizeof p, "%s/conf/livechat.conf", top);
	lc_config_t *cfg = lc_config_load(p, &err);
	if (cfg == NULL)
		fprintf(stderr, "\n  %s\n", err.reason);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
	CU_ASSERT_EQUAL(lc_config_int(cfg, "wsd_port"), 8090);
	lc_config_free(&cfg);
}

static void test_default_path_prefers_env(void)
{
	setenv("LIVECHAT_CONFIG", "/somewhere/lc.conf", 1);
	CU_ASSERT_STRING_EQUAL(lc_config_default_path(), "/somewhere/lc.conf");
	unsetenv("LIVECHAT_CONFIG");
	const char *p = lc_config_default_path();
	size_t n = strlen(p), suffix = strlen("/livechat/livechat.conf");
	CU_ASSERT_EQUAL(p[0], '/');
	CU_ASSERT_TRUE(n > suffix && strcmp(p + n - suffix, "/livechat/livechat.conf") == 0);
}

static void test_dump_table_lists_every_key(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	lc_config_dump_table(f);
	fclose(f);
	static const char *const keys[] = {
		"mongo_uri", "mongo_db", "amqp_url", "amqp_prefix", "log_level", "log_target",
		"pbkdf2_iterations", "token_ttl", "login_max_failures", "login_window", "cookie_secure",
		"http_max_body", "wsd_listen", "wsd_port", "wsd_node_id", "wsd_max_frame", "wsd_workers",
	};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, keys[i]));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "1..65535"));
	free(buf);
}

int init_config_tests(void)
{
	CU_pSuite s = CU_add_suite("config", config_suite_init, NULL);
	if (s == NULL)
		return 1;
	CU_add_test(s, "defaults_match_the_documented_table", test_defaults_match_the_documented_table);
	CU_add_test(s, "good_file_sets_values_and_ignores_comments", test_good_file_sets_values_and_ignores_comments);
	CU_add_test(s, "unknown_key_names_file_line_and_key", test_unknown_key_names_file_line_and_key);
	CU_add_test(s, "bad_int_is_refused", test_bad_int_is_refused);
	CU_add_test(s, "out_of_bounds_int_names_the_bounds", test_out_of_bounds_int_names_the_bounds);
	CU_add_test(s, "idle_timeout_not_above_ping_is_refused", test_idle_timeout_not_above_ping_is_refused);
	CU_add_test(s, "bad_enum_lists_allowed_values", test_bad_enum_lists_allowed_values);
	CU_add_test(s, "bad_strings_and_syntax_are_refused", test_bad_strings_and_syntax_are_refused);
	CU_add_test(s, "hash_inside_a_value_is_kept", test_hash_inside_a_value_is_kept);
	CU_add_test(s, "bad_quoted_values_are_refused", test_bad_quoted_values_are_refused);
	CU_add_test(s, "uri_files_hold_the_secrets", test_uri_files_hold_the_secrets);
	CU_add_test(s, "a_key_and_its_file_key_are_exclusive", test_a_key_and_its_file_key_are_exclusive);
	CU_add_test(s, "missing_or_empty_uri_file_is_an_error", test_missing_or_empty_uri_file_is_an_error);
	CU_add_test(s, "missing_file_is_an_error", test_missing_file_is_an_error);
	CU_add_test(s, "env_overrides_file", test_env_overrides_file);
	CU_add_test(s, "bad_env_value_names_the_variable", test_bad_env_value_names_the_variable);
	CU_add_test(s, "shipped_conf_file_loads", test_shipped_conf_file_loads);
	CU_add_test(s, "default_path_prefers_env", test_default_path_prefers_env);
	CU_add_test(s, "dump_table_lists_every_key", test_dump_table_lists_every_key);
	return CU_get_error() == CUE_SUCCESS ? 0 : 1;
}
