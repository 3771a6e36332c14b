/* fcgi cli: start-up shared by livechat-fcgi and livechatctl: option -c, config loading (the
 * file named, else $LIVECHAT_CONFIG or the installed one when it exists, else defaults; then
 * environment overrides), logging set up from the config. */
#ifndef FCGI_CLI_H
#define FCGI_CLI_H

#include "lc_config.h"

/* Load the config for program ident from path (NULL: the default path when that file exists).
 * Prints the problem to stderr and returns NULL on failure. */
lc_config_t *fcgi_cli_config(const char *ident, const char *path);

#endif
