/* SPDX-License-Identifier: MIT */
/* fcgi cli: options, config, logging and store start-up for livechat-fcgi and livechatctl. */
#include "config.h"
#include "cli.h"
#include "lc_log.h"

#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

int fcgi_cli_options(const char *ident, int argc, char **argv, void (*usage)(FILE *),
		     const char **cfg_path)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int opt;
	*cfg_path = NULL;
	/* '+': stop at the first operand, so a command's own arguments are left alone. */
	while ((opt = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': *cfg_path = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("%s %s\n", ident, PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	return -1;
}

const char *fcgi_cli_config_path(const char *path)
{
	if (path != NULL)
		return path;
	const char *def = lc_config_default_path();
	/* No installed file is fine: defaults plus environment overrides. */
	return def != NULL && access(def, F_OK) == 0 ? def : NULL;
}

lc_config_t *fcgi_cli_config(const char *ident, const char *path)
{
	lc_err_t err;
	lc_err_clear(&err);
	lc_config_t *cfg = lc_config_load(fcgi_cli_config_path(path), &err);
	if (cfg == NULL) {
		fprintf(stderr, "%s: %s\n", ident, err.reason);
		return NULL;
	}
	int level = lc_log_level_parse(lc_config_str(cfg, "log_level"));
	lc_log_init(ident, lc_config_str(cfg, "log_target"),
		    level < 0 ? LC_LOG_INFO : (lc_log_level)level);
	return cfg;
}

bool fcgi_cli_start(const char *ident, const char *path, lc_config_t **cfg, lc_store_t **store)
{
	lc_err_t err;
	lc_err_clear(&err);
	*store = NULL;
	if ((*cfg = fcgi_cli_config(ident, path)) == NULL)
		return false;
	*store = lc_store_new(lc_config_str(*cfg, "mongo_uri"), lc_config_str(*cfg, "mongo_db"), &err);
	if (*store == NULL) {
		fprintf(stderr, "%s: cannot set up the MongoDB client: %s\n", ident, err.reason);
		lc_config_free(cfg);
		return false;
	}
	return true;
}
