/* fcgi cli: config and logging start-up for livechat-fcgi and livechatctl. */
#include "config.h"
#include "cli.h"
#include "lc_log.h"

#include <stdio.h>
#include <unistd.h>

lc_config_t *fcgi_cli_config(const char *ident, const char *path)
{
	lc_err_t err;
	lc_err_clear(&err);
	if (path == NULL) {
		const char *def = lc_config_default_path();
		/* No installed file is fine: defaults plus environment overrides. */
		path = def != NULL && access(def, F_OK) == 0 ? def : NULL;
	}
	lc_config_t *cfg = lc_config_load(path, &err);
	if (cfg == NULL) {
		fprintf(stderr, "%s: %s\n", ident, err.reason);
		return NULL;
	}
	int level = lc_log_level_parse(lc_config_str(cfg, "log_level"));
	lc_log_init(ident, lc_config_str(cfg, "log_target"),
		    level < 0 ? LC_LOG_INFO : (lc_log_level)level);
	return cfg;
}
