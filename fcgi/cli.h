/* SPDX-License-Identifier: MIT */
/* fcgi cli: start-up shared by livechat-fcgi and livechatctl: options -c FILE and -h, config
 * loading (the file named, else $LIVECHAT_CONFIG or the installed one when it exists, else
 * defaults; then environment overrides), logging set up from the config, and the store. */
#ifndef FCGI_CLI_H
#define FCGI_CLI_H

#include "lc_config.h"
#include "lc_store.h"

/* Parse the options [-c FILE] [-h] that stand before the first operand. *cfg_path receives
 * FILE (NULL when absent). Returns -1 to go on (optind is then the first operand), otherwise
 * the exit status after printing usage(): 0 for -h, 2 for an unknown option. */
int fcgi_cli_options(int argc, char **argv, void (*usage)(void), const char **cfg_path);

/* Load the config for program ident from path (NULL: the default path when that file exists).
 * Prints the problem to stderr and returns NULL on failure. */
lc_config_t *fcgi_cli_config(const char *ident, const char *path);

/* fcgi_cli_config, then a store on the configured MongoDB (lc_store_new: no connection yet).
 * On failure prints the problem to stderr, frees what it made and returns false. */
bool fcgi_cli_start(const char *ident, const char *path, lc_config_t **cfg, lc_store_t **store);

#endif
