/* SPDX-License-Identifier: MIT */
/* livechatctl: administration on the server itself, talking straight to MongoDB.
 *   livechatctl [-c FILE] create-admin USERNAME [DISPLAY NAME]
 *   livechatctl [-c FILE] reset-password USERNAME
 *   livechatctl [-c FILE] list-users
 * Passwords are read from the terminal without echo (twice), or as one line from stdin when it
 * is not a terminal; never from argv, where `ps` would show them. reset-password also publishes
 * the revocation event that closes the user's open websockets (revoke.h; a warning when
 * RabbitMQ is down). */
#include "config.h"
#include "account.h"
#include "cli.h"
#include "revoke.h"
#include "lc_alloc.h"
#include "lc_json.h"
#include "lc_store.h"
#include "lc_validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define LIST_PAGE 200

/* The same rules as the API's POST /api/users and PUT /api/users/{id}/password. */
static const lc_vrule_t admin_rules[] = {
	FCGI_RULE_USERNAME, FCGI_RULE_DISPLAY_NAME, LC_VRULE_END
};
static const lc_vrule_t password_rules[] = { FCGI_RULE_PASSWORD, LC_VRULE_END };

static void usage(FILE *f)
{
	fprintf(f,
		"usage: livechatctl [-c FILE] [--help] [--version] COMMAND\n"
		"  create-admin USERNAME [DISPLAY NAME]  create a user of group admin\n"
		"  reset-password USERNAME               set a new password, revoke all sessions\n"
		"  list-users                            print every user\n"
		"The password is read from the terminal (no echo) or, when stdin is not a terminal,\n"
		"as one line from stdin.\n");
}

/* One line from f without its newline; NULL at EOF. */
static char *read_line(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static char *prompt_hidden(const char *prompt)
{
	struct termios old, quiet;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &old) != 0)
		return read_line(stdin);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	char *line = read_line(stdin);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	return line;
}

/* Check obj against rules, printing every failing field. */
static bool valid(json_object *obj, const lc_vrule_t *rules)
{
	json_object *failures = NULL;
	bool ok = lc_validate(obj, rules, false, &failures);
	for (size_t i = 0; i < json_object_array_length(failures); i++) {
		json_object *f = json_object_array_get_idx(failures, i);
		fprintf(stderr, "livechatctl: %s: %s\n", lc_json_get_str(f, "field", ""),
			lc_json_get_str(f, "reason", ""));
	}
	json_object_put(failures);
	return ok;
}

/* Wipe and free a password read from the user. */
static void forget_password(char **pw)
{
	if (*pw != NULL)
		memset(*pw, 0, strlen(*pw));
	free(*pw);
	*pw = NULL;
}

/* A new password that passes the account rules (caller frees with forget_password), or NULL
 * after telling why. */
static char *read_password(void)
{
	char *pw = NULL, *again = NULL;
	if (isatty(STDIN_FILENO)) {
		pw = prompt_hidden("New password: ");
		again = pw ? prompt_hidden("Repeat password: ") : NULL;
		if (pw == NULL || again == NULL || strcmp(pw, again) != 0) {
			fprintf(stderr, "livechatctl: the passwords do not match\n");
			goto fail;
		}
	} else if ((pw = read_line(stdin)) == NULL) {
		fprintf(stderr, "livechatctl: no password on stdin\n");
		goto fail;
	}
	json_object *obj = json_object_new_object();
	json_object_object_add(obj, "password", json_object_new_string(pw));
	bool ok = valid(obj, password_rules);
	json_object_put(obj);
	if (!ok)
		goto fail;
	forget_password(&again);
	return pw;
fail:
	forget_password(&pw);
	forget_password(&again);
	return NULL;
}

static int create_admin(lc_store_t *store, const lc_config_t *cfg, const char *username,
			const char *display)
{
	char *pw = NULL;
	json_object *user = NULL, *args = json_object_new_object();
	lc_err_t err;
	int status = 1;

	lc_err_clear(&err);
	json_object_object_add(args, "username", json_object_new_string(username));
	if (display != NULL)
		json_object_object_add(args, "display_name", json_object_new_string(display));
	if (!valid(args, admin_rules) || (pw = read_password()) == NULL)
		goto fail;
	if (fcgi_account_create(store, cfg, username, display ? display : username,
				FCGI_ADMIN_GROUP, true, pw, &user, &err) != LC_OK) {
		fprintf(stderr, "livechatctl: %s\n", err.reason);
		goto fail;
	}
	printf("created admin %s (id %s)\n", username, lc_json_get_str(user, "id", "?"));
	status = 0;
fail:
	forget_password(&pw);
	json_object_put(user);
	json_object_put(args);
	return status;
}

static int reset_password(lc_store_t *store, const lc_config_t *cfg, const char *username)
{
	fcgi_revoke_t *revoke = NULL;
	char *pw = NULL;
	json_object *user = NULL;
	lc_err_t err;
	int status = 1;

	lc_err_clear(&err);
	lc_rc rc = lc_store_user_get_by_username(store, username, &user, &err);
	if (rc == LC_ERR_NOT_FOUND) {
		fprintf(stderr, "livechatctl: no user '%s'\n", username);
		goto fail;
	}
	if (rc != LC_OK) {
		fprintf(stderr, "livechatctl: %s\n", err.reason);
		goto fail;
	}
	if ((pw = read_password()) == NULL)
		goto fail;
	/* Also closes the user's open websockets at once (a broker that is down only warns). */
	revoke = fcgi_revoke_new(cfg);
	if (fcgi_account_set_password(store, cfg, revoke, user, pw, NULL, &err) != LC_OK) {
		fprintf(stderr, "livechatctl: %s\n", err.reason);
		goto fail;
	}
	printf("password of %s reset; their sessions are revoked\n", username);
	status = 0;
fail:
	fcgi_revoke_free(&revoke);
	forget_password(&pw);
	json_object_put(user);
	return status;
}

static int list_users(lc_store_t *store)
{
	lc_err_t err;
	int64_t skip = 0, total = 0;
	lc_err_clear(&err);
	printf("%-26s %-24s %-12s %-6s %s\n", "ID", "USERNAME", "GROUP", "ACTIVE", "DISPLAY NAME");
	do {
		json_object *items = NULL;
		if (lc_store_user_list(store, NULL, -1, skip, LIST_PAGE, &items, &total, &err) != LC_OK) {
			fprintf(stderr, "livechatctl: %s\n", err.reason);
			return 1;
		}
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

int main(int argc, char **argv)
{
	const char *cfg_path = NULL;
	lc_config_t *cfg = NULL;
	lc_store_t *store = NULL;
	char *display = NULL;
	lc_err_t err;
	int status = fcgi_cli_options("livechatctl", argc, argv, usage, &cfg_path);

	if (status >= 0)
		return status;
	argc -= optind;
	argv += optind;
	const char *cmd = argc > 0 ? argv[0] : "";
	bool ok_args = (strcmp(cmd, "create-admin") == 0 && argc >= 2) ||
		       (strcmp(cmd, "reset-password") == 0 && argc == 2) ||
		       (strcmp(cmd, "list-users") == 0 && argc == 1);
	if (!ok_args) {
		usage(stderr);
		return 2;
	}
	status = 1;
	lc_err_clear(&err);
	if (!fcgi_cli_start("livechatctl", cfg_path, &cfg, &store))
		goto fail;
	/* Indexes and the built-in groups first, so a fresh database works. */
	if (lc_store_init(store, &err) != LC_OK) {
		fprintf(stderr, "livechatctl: cannot use MongoDB: %s\n", err.reason);
		goto fail;
	}
	if (strcmp(cmd, "create-admin") == 0) {
		/* The display name may come as several words without quotes. */
		for (int i = 2; i < argc; i++) {
			char *d = lc_asprintf("%s%s%s", display ? display : "", display ? " " : "", argv[i]);
			free(display);
			display = d;
		}
		status = create_admin(store, cfg, argv[1], display);
	} else if (strcmp(cmd, "reset-password") == 0) {
		status = reset_password(store, cfg, argv[1]);
	} else {
		status = list_users(store);
	}
fail:
	free(display);
	lc_store_free(&store);
	lc_config_free(&cfg);
	return status;
}
