/* SPDX-License-Identifier: MIT */
/* livechatctl: administration on the server itself, talking straight to MongoDB (and to
 * RabbitMQ for status and revocations). The commands are dispatched from commands[]; this file
 * holds the account ones (create-admin, reset-password), ctl_*.c the others (ctl.h).
 * Passwords are read from the terminal without echo (twice), or as one line from stdin when it
 * is not a terminal; never from argv, where `ps` would show them. reset-password also publishes
 * the revocation event that closes the user's open websockets (revoke.h; a warning when
 * RabbitMQ is down). */
#include "config.h"
#include "account.h"
#include "cli.h"
#include "ctl.h"
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
		"  users list                            print every user (also: list-users)\n"
		"  users deactivate|activate USERNAME    deactivating revokes all sessions\n"
		"  users set-group USERNAME GROUP        move a user to another group\n"
		"  settings get [KEY]                    print the runtime settings as JSON\n"
		"  settings set KEY VALUE                change one (VALUE: JSON or a plain string)\n"
		"  status                                MongoDB, RabbitMQ, wsd nodes, queue depth\n"
		"  config check                          load the config file, name the key at fault\n"
		"  purge --before DATE                   delete closed rooms (and their messages)\n"
		"                                        closed before DATE (YYYY-MM-DD[THH:MM:SSZ])\n"
		"  export --channel C --customer ID      one customer's rooms and messages as JSON\n"
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

bool ctl_valid(json_object *obj, const lc_vrule_t *rules, bool reject_unknown)
{
	json_object *failures = NULL;
	bool ok = lc_validate(obj, rules, reject_unknown, &failures);
	for (size_t i = 0; i < json_object_array_length(failures); i++) {
		json_object *f = json_object_array_get_idx(failures, i);
		fprintf(stderr, "livechatctl: %s: %s\n", lc_json_get_str(f, "field", ""),
			lc_json_get_str(f, "reason", ""));
	}
	json_object_put(failures);
	return ok;
}

int ctl_fail(const lc_err_t *err)
{
	fprintf(stderr, "livechatctl: %s\n", err->reason);
	return 1;
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
	bool ok = ctl_valid(obj, password_rules, false);
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

static int create_admin_as(lc_store_t *store, const lc_config_t *cfg, const char *username,
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
	if (!ctl_valid(args, admin_rules, false) || (pw = read_password()) == NULL)
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

/* The display name may come as several words without quotes. */
static int create_admin(ctl_env_t *env, int argc, char **argv)
{
	char *display = NULL;
	for (int i = 2; i < argc; i++) {
		char *d = lc_asprintf("%s%s%s", display ? display : "", display ? " " : "", argv[i]);
		free(display);
		display = d;
	}
	int status = create_admin_as(env->store, env->cfg, argv[1], display);
	free(display);
	return status;
}

static int reset_password_cmd(ctl_env_t *env, int argc, char **argv)
{
	(void)argc;
	return reset_password(env->store, env->cfg, argv[1]);
}

/* The old spelling of `users list`. */
static int list_users(ctl_env_t *env, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	char *args[] = { "users", "list" };
	return ctl_users(env, 2, args);
}

enum { CTL_STORE = 1 };   /* the command needs MongoDB (indexes and groups created first) */

/* One row per command: name, operand count (the name included) and what it needs. A handler
 * returning 2 had operands of the right count but not the right shape. */
static const struct ctl_command {
	const char *name;
	int min_args, max_args;
	unsigned flags;
	int (*run)(ctl_env_t *env, int argc, char **argv);
} commands[] = {
	{ .name = "create-admin", .min_args = 2, .max_args = 64, .flags = CTL_STORE, .run = create_admin },
	{ .name = "reset-password", .min_args = 2, .max_args = 2, .flags = CTL_STORE, .run = reset_password_cmd },
	{ .name = "list-users", .min_args = 1, .max_args = 1, .flags = CTL_STORE, .run = list_users },
	{ .name = "users", .min_args = 2, .max_args = 4, .flags = CTL_STORE, .run = ctl_users },
	{ .name = "settings", .min_args = 2, .max_args = 4, .flags = CTL_STORE, .run = ctl_settings },
	{ .name = "purge", .min_args = 3, .max_args = 3, .flags = CTL_STORE, .run = ctl_purge },
	{ .name = "export", .min_args = 5, .max_args = 5, .flags = CTL_STORE, .run = ctl_export },
	/* status reports MongoDB down instead of failing on it: no store set-up first. */
	{ .name = "status", .min_args = 1, .max_args = 1, .flags = 0, .run = ctl_status },
	{ .name = "config", .min_args = 2, .max_args = 2, .flags = 0, .run = ctl_config },
};

static const struct ctl_command *find_command(const char *name, int argc)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, name) == 0 && argc >= commands[i].min_args &&
		    argc <= commands[i].max_args)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	ctl_env_t env = { 0 };
	lc_err_t err;
	int status = fcgi_cli_options("livechatctl", argc, argv, usage, &env.cfg_path);

	if (status >= 0)
		return status;
	argc -= optind;
	argv += optind;
	const struct ctl_command *cmd = find_command(argc > 0 ? argv[0] : "", argc);
	if (cmd == NULL) {
		usage(stderr);
		return 2;
	}
	env.cfg_path = fcgi_cli_config_path(env.cfg_path);
	/* config check loads the file itself, to report the key at fault. */
	if (strcmp(cmd->name, "config") == 0) {
		status = cmd->run(&env, argc, argv);
		goto done;
	}
	status = 1;
	lc_err_clear(&err);
	if (!fcgi_cli_start("livechatctl", env.cfg_path, &env.cfg, &env.store))
		goto done;
	if ((cmd->flags & CTL_STORE) && lc_store_init(env.store, &err) != LC_OK) {
		fprintf(stderr, "livechatctl: cannot use MongoDB: %s\n", err.reason);
		goto done;
	}
	status = cmd->run(&env, argc, argv);
done:
	if (status == 2)
		usage(stderr);
	lc_store_free(&env.store);
	lc_config_free(&env.cfg);
	return status;
}
