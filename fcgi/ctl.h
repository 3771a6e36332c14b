/* SPDX-License-Identifier: MIT */
/* livechatctl commands: each takes the loaded config and store and its own operands (argv[0]
 * is the command name), prints what it did and returns the exit status (0 done, 1 failed with
 * a message on stderr, 2 bad usage). livechatctl.c dispatches from a table. */
#ifndef FCGI_CTL_H
#define FCGI_CTL_H

#include <stdbool.h>
#include <json-c/json.h>
#include "lc_config.h"
#include "lc_store.h"
#include "lc_validate.h"

typedef struct ctl_env {
	const char *cfg_path;    /* the file loaded, NULL: defaults and environment only */
	lc_config_t *cfg;
	lc_store_t *store;       /* NULL for the commands that do not use MongoDB */
} ctl_env_t;

/* Check obj against rules, printing every failing field to stderr. */
bool ctl_valid(json_object *obj, const lc_vrule_t *rules, bool reject_unknown);
/* Print "livechatctl: <reason>" to stderr and return 1. */
int ctl_fail(const lc_err_t *err);

int ctl_users(ctl_env_t *env, int argc, char **argv);          /* ctl_users.c */
int ctl_settings(ctl_env_t *env, int argc, char **argv);       /* ctl_data.c */
int ctl_purge(ctl_env_t *env, int argc, char **argv);
int ctl_export(ctl_env_t *env, int argc, char **argv);
int ctl_status(ctl_env_t *env, int argc, char **argv);         /* ctl_status.c */
int ctl_config(ctl_env_t *env, int argc, char **argv);

#endif
