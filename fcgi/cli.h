/* SPDX-License-Identifier: MIT */
/* fcgi cli: start-up shared by livechat-fcgi and livechatctl: options -c FILE, -h/--help and
 * --version, config
 * loading (the file named, else $LIVECHAT_CONFIG or the installed one when it exists, else
 * defaults; then environment overrides), logging set up from the config, and the store. */
#ifndef FCGI_CLI_H
#define FCGI_CLI_H

#include "lc_config.h"
#include "lc_store.h"

/* Parse the options [-c FILE] [-h|--help] [--version] that stand before the first operand.
 * *cfg_path receives FILE (NULL when absent). Returns -1 to go on (optind is then the first
 * operand), otherwise the exit status: 0 after usage(stdout) for -h/--help or "ident VERSION"
 * for --version, 2 after usage(stderr) for an unknown option. */
int fcgi_cli_options(const char *ident, int argc, char **argv, void (*usage)(FILE *),
		     const char **cfg_path);

/* The file fcgi_cli_config reads for path: path itself, else the default path when that file
 * exists, else NULL (defaults and environment only). */
const char *fcgi_cli_config_path(const char *path);

/* Load the config for program ident from path (NULL: the default path when that file exists).
 * Prints the problem to stderr and returns NULL on failure. */
lc_config_t *fcgi_cli_config(const char *ident, const char *path);

/* fcgi_cli_config, then a store on the configured MongoDB (lc_store_new: no connection yet).
 * On failure prints the problem to stderr, frees what it made and returns false. */
bool fcgi_cli_start(const char *ident, const char *path, lc_config_t **cfg, lc_store_t **store);

#endif
